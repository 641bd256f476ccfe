#!/usr/bin/env bash
# longctx chat with the model's own Jinja chat template: the aidreams260K
# model given the templates of ../shared/templates (tools/gguf_set_chat_template.py,
# into the scratch directory). Qwen2.5's template drives the turns (banner and
# /stats say jinja; shift:0 keeps its system turn); Gemma-2's refuses a system
# prompt, so the chat says so and uses the built-in gemma template; without a
# system prompt Gemma-2's template is used; --chat-template overrides.
# Usage (from ctest): chat_jinja.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
SRC=$3
MODEL=$SHARED/models/aidreams260K.gguf
QWEN=$SHARED/templates/Qwen-Qwen2.5-7B-Instruct.jinja
GEMMA=$SHARED/templates/google-gemma-2-2b-it.jinja
for f in "$MODEL" "$QWEN" "$GEMMA"; do
    if [ ! -f "$f" ]; then
        echo "SKIP: $f is absent"
        exit 77
    fi
done
command -v python3 >/dev/null || { echo "SKIP: python3 is absent"; exit 77; }
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"

run 0 "gguf with Qwen2.5's template" python3 "$SRC/tools/gguf_set_chat_template.py" "$MODEL" "$tmp/qwen.gguf" "$QWEN"
run 0 "gguf with Gemma-2's template" python3 "$SRC/tools/gguf_set_chat_template.py" "$MODEL" "$tmp/gemma.gguf" "$GEMMA"
printf 'Hello there\n/stats\n' >"$tmp/in"

run_in 0 "qwen: chat" "$tmp/in" "$CLI" chat -m "$tmp/qwen.gguf" -t 1 --seed 7 -c 256 -n 8
has "$tmp/err" "template jinja (the model's)" "qwen: banner"
has "$tmp/out" "template jinja (the model's)" "qwen: /stats"
# Qwen2.5's default system prompt is the system turn: dozens of tokens, not BOS alone
check 'grep -q "(system [1-9][0-9])" "$tmp/out"' "qwen: the template's system turn: $(grep turns "$tmp/out")"

run_in 0 "qwen: shift keeps the system turn" "$tmp/in" "$CLI" chat -m "$tmp/qwen.gguf" -t 1 --seed 7 -c 256 -n 8 \
    --system "Be brief." --kv-policy shift:0
check 'grep -q "kv shift:[1-9][0-9]" "$tmp/err"' "qwen: shift keep from the jinja system turn: $(head -1 "$tmp/err")"

run_in 0 "gemma with a system prompt" "$tmp/in" "$CLI" chat -m "$tmp/gemma.gguf" -t 1 --seed 7 -c 256 -n 8 \
    --system "Be brief." --verbose
has "$tmp/err" "raise_exception: System role not supported" "gemma: the reason (--verbose)"
has "$tmp/err" "using the built-in gemma template" "gemma: the fallback note"
has "$tmp/out" "template gemma" "gemma: /stats says the built-in template"

run_in 0 "gemma without a system prompt" "$tmp/in" "$CLI" chat -m "$tmp/gemma.gguf" -t 1 --seed 7 -c 256 -n 8
has "$tmp/out" "template jinja (the model's)" "gemma without a system prompt: the model's template"

run_in 0 "--chat-template overrides" "$tmp/in" "$CLI" chat -m "$tmp/qwen.gguf" -t 1 --seed 7 -c 256 -n 8 \
    --chat-template chatml
has "$tmp/out" "template chatml" "override"

finish chat_jinja
