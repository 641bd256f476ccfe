#!/usr/bin/env bash
# A llama.cpp user's scripts keep working (issue 18 item 6), on the shipped
# models/longctx-default.gguf (a tokenizer, in the repository) and a tiny
# random model made here (no ../shared needed):
#  - -ngl/--n-gpu-layers/--gpu-layers, --mlock, --no-mmap, --color, -fa/--flash-attn
#    are accepted by run, chat, serve and bench model with a one-line note each; -fa off (0) is
#    --attn naive (an explicit --attn wins); bad values are usage errors (exit 2);
#  - -s is --seed (the same text), --keep N is --kv-policy shift:N (generation
#    goes on past a full context), -r/--reverse-prompt stops at the string,
#    -sys/--system-prompt/-sysf are chat's system prompt (run refuses them);
#  - --prompt-cache is --session and survives another -c (reused with a larger
#    and a smaller one, refused naming the -c it needs when the tokens do not
#    fit); --prompt-cache-ro never writes the file;
#  - run --json prints one JSON object (Python's json reads it) with the
#    prompt's and generated tokens, the text, the stop reason and the timings;
#  - an unknown flag prints ONE line with a "did you mean" suggestion and
#    exits 2 (run, chat, serve, eval, bench, unknown commands and subjects).
# Usage (from ctest): llama_flags.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SRC=$3
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
M=$SRC/models/longctx-default.gguf
[ -f "$M" ] || { echo "FAIL: $M is missing from the repository"; exit 1; }
R=$tmp/r.gguf
"$CLI" convert --random "$R" --dim 32 --hidden 64 --layers 1 --heads 2 --vocab 64 --ctx 64 >/dev/null 2>&1 ||
    { echo "FAIL: cannot make the test model"; exit 1; }
RUN=("$CLI" run -m "$M" -t 1 -n 4 -p "The pass key is")
lines() { wc -l <"$1" | tr -d ' '; }

# ---- no-op flags: accepted, one note each -------------------------------------
note_of() { # flag-args... -> the note expected on stderr is the last argument
    local want=${!#}
    run 0 "run ${*:1:$#-1}" "${RUN[@]}" "${@:1:$#-1}"
    has "$tmp/err" "$want" "run ${*:1:$#-1}: its note"
    check '[ "$(grep -c "note: " "$tmp/err")" -eq 1 ]' "run ${*:1:$#-1}: exactly one note: $(grep note "$tmp/err")"
}
note_of -ngl 99 "note: -ngl 99: longctx runs on the CPU; ignored"
note_of --n-gpu-layers 33 "note: --n-gpu-layers 33: longctx runs on the CPU; ignored"
note_of --gpu-layers=all "note: --gpu-layers all: longctx runs on the CPU; ignored"
note_of --mlock "note: --mlock: longctx does not lock the model in memory; ignored"
note_of --color "note: --color on: longctx prints plain text; ignored"
note_of --color off "note: --color off: longctx prints plain text; ignored"
note_of -fa "note: -fa on: longctx uses flash attention by default"
note_of --flash-attn auto "note: --flash-attn auto: longctx uses flash attention by default"
note_of -fa off "note: -fa off: using --attn naive"
has "$tmp/err" "attn naive" "-fa off runs naive attention"
note_of -fa 0 "note: -fa off: using --attn naive" # llama-bench's 0|1
note_of -fa 1 "note: -fa on: longctx uses flash attention by default"
note_of --attn chunked:16 -fa off "note: -fa off: --attn chunked:16 was given; ignored"
has "$tmp/err" "attn chunked" "an explicit --attn wins over -fa off"
run 2 "--flash-attn=maybe" "${RUN[@]}" --flash-attn=maybe
has "$tmp/err" "--flash-attn: 'maybe' is not on, off or auto" "a bad -fa value names it"
run 2 "-ngl lots" "${RUN[@]}" -ngl lots
has "$tmp/err" "-ngl: 'lots' is not a layer count" "a bad -ngl value names it"
run 2 "-ngl without a value" "${RUN[@]}" -ngl

# ---- -s, --keep, -r, -sys ----------------------------------------------------------
run 0 "-s 11" "${RUN[@]}" -n 24 -s 11
cp "$tmp/out" "$tmp/s_short"
has "$tmp/err" "seed=11" "-s sets the sampler's seed"
run 0 "--seed 11" "${RUN[@]}" -n 24 --seed 11
check 'cmp -s "$tmp/out" "$tmp/s_short"' "-s 11 and --seed 11 write different text"
run 0 "full context stops" "${RUN[@]}" -n 40 -c 16 --temp 0
has "$tmp/err" "stopped: context full" "without --keep a 16-token context fills"
for k in 4 -1; do
    run 0 "--keep $k" "${RUN[@]}" -n 40 -c 16 --temp 0 --keep "$k"
    has "$tmp/err" "stopped: length" "--keep $k shifts the context instead of stopping"
done
run 2 "--keep with sinks" "${RUN[@]}" --kv-policy sinks:2:8 --keep 4
has "$tmp/err" "--keep is the kept prefix of a context shift" "--keep with another policy is refused"
run 0 "greedy reference" "${RUN[@]}" -n 24 --temp 0 --json
ref_text=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$tmp/out")
stop=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["text"]; print(t[6:11])' "$tmp/out")
check '[ ${#stop} -eq 5 ]' "the greedy text is long enough for a reverse prompt: '$ref_text'"
run 0 "-r" "${RUN[@]}" -n 24 --temp 0 --json -r "$stop"
check "python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); r=sys.argv[2]; full=sys.argv[3]
assert d[\"stop\"] == \"reverse_prompt\" and d[\"reverse_prompt\"] == r, d
assert r in d[\"text\"] and full.startswith(d[\"text\"]) and len(d[\"text\"]) < len(full), (d[\"text\"], full)
assert d[\"n_generated\"] == len(d[\"tokens\"]) < 24' '$tmp/out' '$stop' '$ref_text'" \
    "-r '$stop' ends the text there: $(head -c 300 "$tmp/out")"
# ... at the first token that completes it: one token fewer does not hold it
n_r=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["n_generated"])' "$tmp/out" 2>/dev/null || echo 1)
run 0 "one token fewer" "${RUN[@]}" -n $((n_r - 1)) --temp 0 --json
check "python3 -c 'import json,sys; assert sys.argv[2] not in json.load(open(sys.argv[1]))[\"text\"]' '$tmp/out' '$stop'" \
    "-r stopped later than the first token completing '$stop': $(head -c 300 "$tmp/out")"
run 0 "--reverse-prompt streamed" "${RUN[@]}" -n 24 --temp 0 --reverse-prompt "$stop" --reverse-prompt "never-there"
has "$tmp/err" "stopped: reverse prompt '$stop'" "--reverse-prompt says where it stopped"
run 2 "-r with --tokens" "${RUN[@]}" --tokens -r x
run 2 "run -sys" "${RUN[@]}" -sys "Be brief."
has "$tmp/err" "-sys is a chat option" "run -sys points at chat"

# ---- run --json -------------------------------------------------------------------
run 0 "run --json" "${RUN[@]}" -n 6 --json -s 3
check '[ "$(lines "$tmp/out")" -eq 1 ]' "run --json prints one line: $(head -c 300 "$tmp/out")"
check "python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
assert d[\"n_prompt_tokens\"] == len(d[\"prompt_tokens\"]) == d[\"n_prompt_evaluated\"] >= 4, d
assert d[\"n_prompt_reused\"] == 0 and d[\"prompt_tokens\"][0] == 1, d
assert d[\"n_generated\"] == len(d[\"tokens\"]) == 6 and all(isinstance(t, int) for t in d[\"tokens\"]), d
assert isinstance(d[\"text\"], str) and len(d[\"text\"]) > 0 and d[\"stop\"] == \"length\", d
t = d[\"timings\"]
assert all(isinstance(t[k], (int, float)) and t[k] >= 0 for k in (\"prompt_s\", \"prompt_tokens_per_s\", \"generate_s\", \"generate_tokens_per_s\", \"matmul_s\", \"attention_s\", \"other_s\")), t' '$tmp/out'" \
    "run --json fields: $(head -c 400 "$tmp/out")"
run 0 "run --json without a tokenizer" "$CLI" run -m "$R" -t 1 -n 5 --prompt-tokens 1,2,3 --json
check "python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
assert d[\"text\"] is None and d[\"prompt_tokens\"] == [1, 2, 3] and len(d[\"tokens\"]) == d[\"n_generated\"] == 5, d' '$tmp/out'" \
    "run --json of a model without a tokenizer: $(head -c 300 "$tmp/out")"

# ---- --prompt-cache survives another -c ------------------------------------------------
P="The pass key is 4242. Remember it."
run 0 "--prompt-cache save" "${RUN[@]}" -p "$P" -c 128 --prompt-cache "$tmp/pc.bin"
has "$tmp/err" "session saved to $tmp/pc.bin" "--prompt-cache saves the session"
for c in 256 64; do
    run 0 "--prompt-cache -c $c" "${RUN[@]}" -p "$P" -c "$c" --prompt-cache-ro "$tmp/pc.bin" --json
    check "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"n_prompt_reused\"] == d[\"n_prompt_tokens\"] - 1 > 10, d' '$tmp/out'" \
        "-c $c reuses the -c 128 cache: $(head -c 300 "$tmp/out")"
done
sum=$(cksum <"$tmp/pc.bin")
run 1 "--prompt-cache too small" "${RUN[@]}" -p "$P" -c 16 --prompt-cache "$tmp/pc.bin"
has "$tmp/err" "give -c" "a cache that does not fit names the -c it needs"
check '[ "$(cksum <"$tmp/pc.bin")" = "$sum" ]' "--prompt-cache-ro and a refused load leave the file as it was"
check '[ ! -s "$tmp/out" ]' "nothing printed before the refusal: $(head -c 200 "$tmp/out")"

# ---- --no-mmap: the GGUF read into private memory, the same generation ----------------
run 0 "run --no-mmap" "${RUN[@]}" --temp 0 --no-mmap
check '! grep -q "note: " "$tmp/err"' "run --no-mmap: no note: $(grep note "$tmp/err")"
cp "$tmp/out" "$tmp/nommap.out"
run 0 "run mapped" "${RUN[@]}" --temp 0
check 'cmp -s "$tmp/out" "$tmp/nommap.out"' "run --no-mmap generates what the mapped model does: \
$(head -c 100 "$tmp/nommap.out") vs $(head -c 100 "$tmp/out")"
check '[ -s "$tmp/out" ]' "run --temp 0 generated text"

# ---- chat --------------------------------------------------------------------------
printf 'Hello\n' >"$tmp/in"
printf 'Be brief.\n' >"$tmp/sys.txt"
CHAT=("$CLI" chat -m "$M" -t 1 -n 8 -c 256)
run_in 0 "chat with llama.cpp's flags" "$tmp/in" "${CHAT[@]}" -ngl 99 -fa --mlock --no-mmap --color -s 3 \
    -sys "Be brief." --prompt-cache "$tmp/chat.bin" --keep -1
for n in "-ngl 99: longctx runs on the CPU" "-fa on: longctx uses flash" "--mlock:" "--color on:"; do
    has "$tmp/err" "note: $n" "chat note '$n'"
done
check '! grep -q "no-mmap" "$tmp/err"' "chat --no-mmap is taken without a note: $(grep no-mmap "$tmp/err")"
has "$tmp/err" "seed=3" "chat -s"
has "$tmp/err" "kv shift:" "chat --keep -1 is the shift policy (KEEP: the system prompt)"
check '[ -s "$tmp/chat.bin" ]' "chat --prompt-cache saves the conversation"
run_in 0 "chat -sysf" "$tmp/in" "${CHAT[@]}" -sysf "$tmp/sys.txt" --system-prompt-file "$tmp/sys.txt"
run_in 2 "chat -sys and -sysf" "$tmp/in" "${CHAT[@]}" -sys x -sysf "$tmp/sys.txt"
run_in 0 "chat greedy" "$tmp/in" "${CHAT[@]}" -n 24 --temp 0
reply=$(head -n 1 "$tmp/out")
cstop=${reply:4:4}
run_in 0 "chat -r" "$tmp/in" "${CHAT[@]}" -n 24 --temp 0 -r "$cstop" --verbose
has "$tmp/err" "the reply ended at the reverse prompt '$cstop'" "chat -r ends the reply"
got=$(head -n 1 "$tmp/out")
check '[ "${got#*"$cstop"}" != "$got" ] && [ "${reply#"$got"}" != "$reply" ] && [ "${#got}" -lt "${#reply}" ]' \
    "chat -r '$cstop': '$got' of '$reply'"

# ---- serve -------------------------------------------------------------------------
if "$CLI" serve --help >/dev/null 2>&1; then
    run 1 "serve with llama.cpp's flags" "$CLI" serve -m "$tmp/none.gguf" -ngl 99 -fa off --mlock --no-mmap -s 5 --color
    for n in "-ngl 99: longctx runs on the CPU" "-fa off: longctx serve has no choice of attention method" \
        "--mlock:" "--no-mmap:" "-s 5: each request carries its own" "--color on:"; do
        has "$tmp/err" "note: $n" "serve note '$n'"
    done
    has "$tmp/err" "cannot open" "serve went on to load the model"
    run 2 "serve typo" "$CLI" serve -m "$M" --prot 0
    has "$tmp/err" "unknown option '--prot' (did you mean --port?)" "serve suggests"
    check '[ "$(lines "$tmp/err")" -eq 1 ]' "serve: one line for an unknown option"
else
    echo "note: this longctx has no server: its flags are not checked"
fi

# ---- bench model (llama-bench's -ngl, -fa 0|1) --------------------------------------
run 0 "bench model -ngl -fa" "$CLI" bench model -m "$M" --ctx 32 -n 2 -t 1 --no-peak -ngl 99 -fa 0
has "$tmp/err" "note: -ngl 99: longctx runs on the CPU; ignored" "bench model -ngl note"
has "$tmp/out" "attn naive" "bench model -fa 0 runs naive attention"

# ---- unknown flags: one line, a suggestion, exit 2 ----------------------------------
typo() { # want-line command...
    local want=$1
    shift
    run 2 "$*" "$@"
    has "$tmp/err" "$want" "$*: suggestion"
    check '[ "$(lines "$tmp/err")" -eq 1 ]' "$*: one line, not the usage ($(lines "$tmp/err") lines)"
    check '[ ! -s "$tmp/out" ]' "$*: nothing on stdout"
}
typo "longctx run: unknown option '--tmep' (did you mean --temp?)" "$CLI" run -m "$M" --tmep 0.5
typo "longctx run: unknown option '--tmep' (did you mean --temp?)" "$CLI" run -m "$M" --tmep=0.5
typo "longctx run: unknown option '-nn' (did you mean -n?)" "$CLI" run -m "$M" -nn 4
typo "longctx run: unknown option '--n-predcit' (did you mean --n-predict?)" "$CLI" run --n-predcit 4
typo "longctx run: unknown option '--ctx-sise' (did you mean --ctx-size?)" "$CLI" run --ctx-sise 4
typo "longctx run: unknown option '--qqqqzzzz' (longctx run --help lists the options)" "$CLI" run --qqqqzzzz
typo "longctx run: unexpected argument 'prompt' (longctx run --help lists the options)" "$CLI" run -m "$M" prompt
typo "longctx chat: unknown option '--sytem' (did you mean --system?)" "$CLI" chat -m "$M" --sytem x
typo "longctx run: unknown option '--flash-atn' (did you mean --flash-attn?)" "$CLI" run -m "$M" --flash-atn
typo "longctx run: unknown option '--no-mmp' (did you mean --no-mmap?)" "$CLI" run -m "$M" --no-mmp
typo "longctx eval: unknown option '--lenghts' (did you mean --lengths?)" "$CLI" eval passkey -m "$M" --lenghts 64
typo "longctx bench kv: unknown option '--jsn' (did you mean --json?)" "$CLI" bench kv --jsn
typo "longctx tokenize: unknown option '--peices' (did you mean --pieces?)" "$CLI" tokenize --peices
typo "longctx: unknown command 'rnu' (did you mean run?)" "$CLI" rnu
typo "longctx: unknown command 'gen-dat' (did you mean gen-data?)" "$CLI" gen-dat
typo "longctx bench: unknown subject 'attm' (did you mean attn?)" "$CLI" bench attm

finish llama_flags.sh
