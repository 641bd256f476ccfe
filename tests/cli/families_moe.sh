#!/usr/bin/env bash
# gpt-oss and Qwen3-Next from the command line: info shows the family and
# layer pattern, run (token ids) and bench model work, the refusals name why
# (sessions of DeltaNet contexts, KV policies other than full, convert).
# Usage (from ctest): families_moe.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
FX=$SHARED/fixtures
if [ ! -f "$FX/gpt-oss/model.f16.gguf" ] || [ ! -f "$FX/qwen3-next/model.f16.gguf" ]; then
    echo "SKIP: the gpt-oss / qwen3-next fixtures are absent"
    exit 77
fi
. "$(dirname "$0")/lib.bash"

run 0 "info gpt-oss" "$CLI" info "$FX/gpt-oss/model.f16.gguf"
has "$tmp/out" "architecture  gpt-oss" "gpt-oss arch"
has "$tmp/out" "qkv bias, output bias, learned sinks, moe 4 experts, 2 used" "gpt-oss family"
has "$tmp/out" "WG (window 32 on 1 of 2 layers)" "gpt-oss pattern"
run 0 "info qwen3next" "$CLI" info "$FX/qwen3-next/model.f16.gguf"
has "$tmp/out" "DDDG (gated deltanet on 3 of 4 layers)" "qwen3next pattern"
has "$tmp/out" "shared expert ffn 128" "qwen3next shared expert"
for f in gpt-oss/model.f16.gguf gpt-oss/model.MXFP4_MOE.gguf qwen3-next/model.f16.gguf; do
    run 0 "run $f" "$CLI" run -m "$FX/$f" --prompt-tokens 5,6,7,8,9 -n 40 --temp 0 --tokens --ignore-eos -c 128 -b 3
    check "[ \$(wc -w < $tmp/out) -ge 40 ]" "run $f: fewer than 40 token ids ($(head -c 200 "$tmp/out"))"
done
run 0 "bench model qwen3next" "$CLI" bench model -m "$FX/qwen3-next/model.f16.gguf" --ctx 64 -n 4 --no-peak
has "$tmp/out" "64 |" "bench model row"
run 0 "bench model gpt-oss" "$CLI" bench model -m "$FX/gpt-oss/model.f16.gguf" --ctx 64 -n 4 --no-peak
has "$tmp/out" "64 |" "bench model row"
run 1 "qwen3next h2o" "$CLI" run -m "$FX/qwen3-next/model.f16.gguf" --prompt-tokens 5,6 -n 4 --kv-policy sinks:4:64
has "$tmp/err" "recurrent state" "qwen3next policy refusal"
run 1 "gpt-oss sinks policy" "$CLI" run -m "$FX/gpt-oss/model.f16.gguf" --prompt-tokens 5,6 -n 4 --kv-policy sinks:4:64
has "$tmp/err" "learned attention sinks" "gpt-oss policy refusal"
run 1 "qwen3next session" "$CLI" run -m "$FX/qwen3-next/model.f16.gguf" --prompt-tokens 5,6,7 -n 4 --temp 0 -c 128 --session "$tmp/s.sess"
has "$tmp/err" "recurrent states that sessions do not save" "qwen3next session refusal"
run 1 "convert qwen3next" "$CLI" convert "$FX/qwen3-next/model.f16.gguf" --type f32 "$tmp/q.gguf"
has "$tmp/err" "only plain llama models are written" "convert refusal"
finish families_moe
