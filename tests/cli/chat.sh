#!/usr/bin/env bash
# longctx chat through pipes on the real aidreams260K model: a scripted
# conversation (one delimited block per input line), /stats, context
# management in a tiny -c (whole turns dropped, the system prompt kept,
# --verbose says so), sessions (--session, /save, /load, refusals),
# --transcript, the sinks policy, usage errors and exit codes.
# Usage (from ctest): chat.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
MODEL=$SHARED/models/aidreams260K.gguf
if [ ! -f "$MODEL" ]; then
    echo "SKIP: $MODEL is absent"
    exit 77
fi
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
CHAT=("$CLI" chat -m "$MODEL" -t 1 --seed 7)

# --- a scripted conversation ----------------------------------------------------
printf 'Hello there\nTell me about your dream\n/stats\nWhat happened next?\n' >"$tmp/in1"
run_in 0 "scripted conversation" "$tmp/in1" "${CHAT[@]}" -c 128 -n 16 --system "You are a dreamer."
check '[ "$(grep -c "^<<<END>>>$" "$tmp/out")" -eq 4 ]' "one delimited block per input line: $(cat "$tmp/out")"
check 'grep -q "^turns 4, conversation [0-9]* tokens (system [0-9]*)" "$tmp/out"' "/stats turns line: $(grep turns "$tmp/out")"
check 'grep -q "^context [0-9]* tokens held of 128 slots" "$tmp/out"' "/stats context line"
check 'grep -q "^kv full (128 slots, f16/f16): .* 1024 bytes per token" "$tmp/out"' "/stats kv line: $(grep kv "$tmp/out")"
check 'grep -q "template plain" "$tmp/out"' "/stats template"
cp "$tmp/out" "$tmp/out1"
# the same run again gives the same replies (seeded sampler)
run_in 0 "repeat" "$tmp/in1" "${CHAT[@]}" -c 128 -n 16 --system "You are a dreamer."
check 'cmp -s "$tmp/out" "$tmp/out1"' "a seeded conversation is not reproducible"

# --- a tiny context: whole turns dropped, the system prompt kept -----------------
for i in 1 2 3 4 5 6 7 8; do echo "Message number $i about the sky."; done >"$tmp/in2"
echo "/stats" >>"$tmp/in2"
run_in 0 "tiny context" "$tmp/in2" "${CHAT[@]}" -c 80 -n 12 --system "Be brief." --verbose
check 'grep -q "\[chat\] dropped [0-9]* oldest turns\? ([0-9]* tokens) to fit; re-evaluated" "$tmp/err"' "--verbose does not say what was dropped: $(head -c 300 "$tmp/err")"
dropped=$(sed -n 's/.*dropped turns \([0-9]*\)$/\1/p' "$tmp/out")
check '[ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ $((dropped % 2)) -eq 0 ]' "dropped turns '$dropped' (pairs, more than none)"
held=$(sed -n 's/^context \([0-9]*\) tokens held.*/\1/p' "$tmp/out")
check '[ -n "$held" ] && [ "$held" -le 80 ]' "held $held tokens in an 80-token context"

# --- sessions -----------------------------------------------------------------------
printf 'First message\nSecond message\n' >"$tmp/in3"
run_in 0 "session save" "$tmp/in3" "${CHAT[@]}" -c 128 -n 8 --session "$tmp/s1.session" --transcript "$tmp/t.md"
check '[ -s "$tmp/s1.session" ]' "no session written"
check '[ "$(grep -c "^### user$" "$tmp/t.md")" -eq 2 ] && [ "$(grep -c "^### assistant$" "$tmp/t.md")" -eq 2 ]' "transcript turns"
check 'grep -q "^Second message$" "$tmp/t.md"' "transcript text"
printf '/stats\n' >"$tmp/in4"
run_in 0 "session load" "$tmp/in4" "${CHAT[@]}" -c 128 -n 8 --session "$tmp/s1.session"
check 'grep -q "^turns 4," "$tmp/out"' "the loaded session has 4 turns: $(head -1 "$tmp/out")"
printf '/save %s\n/reset\n/stats\n/load %s\n/stats\n' "$tmp/s2.session" "$tmp/s2.session" >"$tmp/in5"
run_in 0 "/save /reset /load" "$tmp/in5" "${CHAT[@]}" -c 128 -n 8 --session "$tmp/s1.session"
check 'grep -q "^saved to" "$tmp/out" && grep -q "^conversation reset" "$tmp/out" && grep -q "^loaded" "$tmp/out"' "command replies"
check '[ "$(grep -c "^turns 0," "$tmp/out")" -eq 1 ] && [ "$(grep -c "^turns 4," "$tmp/out")" -eq 1 ]' "turns after reset/load: $(grep turns "$tmp/out")"
# another context size: loaded when the conversation fits; refused (naming the -c it needs) when
# it does not, and the chat goes on
printf '/load %s\n/stats\n' "$tmp/s1.session" >"$tmp/in6"
run_in 0 "load into a larger -c" "$tmp/in6" "${CHAT[@]}" -c 256 -n 8
check 'grep -q "^loaded" "$tmp/out" && grep -q "^turns 4," "$tmp/out" && grep -q "of 256 slots" "$tmp/out"' "larger -c: $(head -3 "$tmp/out")"
run_in 0 "load into a too small -c" "$tmp/in6" "${CHAT[@]}" -c 24 -n 8
check 'grep -q "^load refused: .*give -c" "$tmp/out" && grep -q "^turns 0," "$tmp/out"' "refusal: $(head -2 "$tmp/out")"
# a corrupted session given with --session: exit 1, nothing written over it
cp "$tmp/s1.session" "$tmp/bad.session"
printf 'X' | dd of="$tmp/bad.session" bs=1 seek=300 conv=notrunc 2>/dev/null
run_in 1 "corrupted --session" "$tmp/in4" "${CHAT[@]}" -c 128 -n 8 --session "$tmp/bad.session"
check 'grep -q "checksum\|session" "$tmp/err"' "corrupted session message: $(head -c 200 "$tmp/err")"

# run --session on a chat's session: refused, the conversation left as it was
cp "$tmp/s1.session" "$tmp/s1.before"
run 1 "run --session on a chat session" "$CLI" run -m "$MODEL" -t 1 -c 128 -n 4 -p "Hi" --session "$tmp/s1.session"
has "$tmp/err" "holds a conversation" "run refuses a chat session"
check 'cmp -s "$tmp/s1.session" "$tmp/s1.before"' "run left the chat session as it was"
# chat -c too small for a reply: the message says so, not the system prompt alone
run_in 1 "chat -c 16" "$tmp/in4" "${CHAT[@]}" -c 16 -n 8
has "$tmp/err" "room for a reply" "chat -c 16 names the reply room"

# --- sinks: the conversation streams, nothing dropped ------------------------------
for i in $(seq 1 10); do echo "Tell me more about the moon, please."; done >"$tmp/in7"
echo "/stats" >>"$tmp/in7"
run_in 0 "sinks chat" "$tmp/in7" "${CHAT[@]}" --kv-policy sinks:4:40 -n 12 --system "Dream."
check 'grep -q "dropped turns 0$" "$tmp/out" && grep -q "^turns 20," "$tmp/out"' "sinks: $(grep turns "$tmp/out")"
check 'grep -q "^kv sinks:4:40 (48 slots" "$tmp/out"' "sinks kv line: $(grep '^kv' "$tmp/out")"
ev=$(sed -n 's/.* \([0-9]*\) evicted.*/\1/p' "$tmp/out")
check '[ -n "$ev" ] && [ "$ev" -gt 0 ]' "sinks evicted '$ev'"
# shift: KEEP 0 becomes the system prompt
run_in 0 "shift chat" "$tmp/in7" "${CHAT[@]}" --kv-policy shift:0 -c 64 -n 12 --system "Dream."
check 'grep -q "^kv shift:[1-9][0-9]* (64 slots" "$tmp/out"' "shift keeps the system turn: $(grep '^kv' "$tmp/out")"

# --- run --session: the prompt's common prefix comes from the file -------------------------
RUN=("$CLI" run -m "$MODEL" -t 1 --seed 3 -n 10)
run_in 0 "run --session (new)" /dev/null "${RUN[@]}" -p "Once upon a time there was a" --session "$tmp/r.session"
cp "$tmp/out" "$tmp/r1"
check 'grep -q "session saved to" "$tmp/err"' "run did not save its session"
run_in 0 "run --session (reuse)" /dev/null "${RUN[@]}" -p "Once upon a time there was a" --session "$tmp/r.session"
check 'cmp -s "$tmp/out" "$tmp/r1"' "run with a reused prefix prints something else"
check 'grep -q "session .*: [1-9][0-9]* of [0-9]* prompt tokens reused" "$tmp/err"' "no prefix reused: $(grep session "$tmp/err")"
printf 'Z' | dd of="$tmp/r.session" bs=1 seek=250 conv=notrunc 2>/dev/null
run_in 1 "run --session corrupted" /dev/null "${RUN[@]}" -p "Once upon a time" --session "$tmp/r.session"
run_in 1 "run --session of a chat with another -c" /dev/null "${RUN[@]}" -c 96 -p "Hi" --session "$tmp/s1.session"

# --- usage and failures ---------------------------------------------------------------
run_in 0 "--help" /dev/null "$CLI" chat --help
check 'grep -q "/save FILE" "$tmp/out"' "help text"
run_in 2 "no model" /dev/null "$CLI" chat
run_in 2 "bad template" /dev/null "${CHAT[@]}" --chat-template jinja2
run_in 2 "bad policy" /dev/null "${CHAT[@]}" --kv-policy ring:3
run_in 2 "bad -n" /dev/null "${CHAT[@]}" -n 0
run_in 1 "missing model" /dev/null "$CLI" chat -m "$tmp/none.gguf"
printf '%s\n' "$(head -c 3000 /dev/zero | tr '\0' 'a')" >"$tmp/in8"
run_in 0 "a message too long for the context" "$tmp/in8" "${CHAT[@]}" -c 64 -n 8
check 'grep -q "^\[not sent: chat: the message needs" "$tmp/out"' "too long: $(head -c 200 "$tmp/out")"

finish chat.sh
