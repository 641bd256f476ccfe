#!/usr/bin/env bash
# The model families from the command line: info shows the family, window
# pattern and RoPE; run (token ids, no tokenizer needed), eval and bench
# model work on every fixture; --swa / --swa-full; convert refuses to write
# a family it would flatten.
# Usage (from ctest): families.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
FX=$SHARED/fixtures
if [ ! -d "$FX/gemma3" ]; then
    echo "SKIP: $FX is absent"
    exit 77
fi
. "$(dirname "$0")/lib.bash"

run 0 "info gemma3" "$CLI" info "$FX/gemma3/model.f16.gguf"
has "$tmp/out" "architecture  gemma3" "gemma3 arch"
has "$tmp/out" "WWWWWG (window 32 on 5 of 6 layers)" "gemma3 pattern"
has "$tmp/out" "rope window   none base=10000" "gemma3 local rope"
has "$tmp/out" "q/k norm, post norms, gelu-tanh, embd x16" "gemma3 family"
run 0 "info phi3" "$CLI" info "$FX/phi3/model.f16.gguf"
has "$tmp/out" "rope short" "phi3 short factors"
has "$tmp/out" "RoPE original context 64" "phi3 original context"
run 0 "info gemma2 --json" "$CLI" info --json "$FX/gemma2/model.f16.gguf"
has "$tmp/out" '"layer_kinds": [' "gemma2 json kinds"
has "$tmp/out" '"window": 32' "gemma2 json window"

for f in llama3 qwen2 qwen3 mistral phi3 gemma2 gemma3; do
    [ -f "$FX/$f/model.f16.gguf" ] || continue
    run 0 "run $f" "$CLI" run -m "$FX/$f/model.f16.gguf" --prompt-tokens 5,6,7,8,9 -n 40 --temp 0 --tokens -c 128
    check "[ \$(wc -w < $tmp/out) -ge 40 ]" "run $f: fewer than 40 token ids ($(head -c 200 "$tmp/out"))"
done
# greedy runs with rings and with the full cache agree
run 0 "gemma3 rings" "$CLI" run -m "$FX/gemma3/model.f16.gguf" --prompt-tokens 5,6,7,8,9 -n 100 --temp 0 --tokens --ignore-eos -c 200 -b 16
cp "$tmp/out" "$tmp/rings"
run 0 "gemma3 swa-full" "$CLI" run -m "$FX/gemma3/model.f16.gguf" --prompt-tokens 5,6,7,8,9 -n 100 --temp 0 --tokens --ignore-eos -c 200 -b 16 --swa-full
check "cmp -s $tmp/out $tmp/rings" "gemma3: rings and --swa-full generate differently"
run 0 "mistral --swa 32" "$CLI" run -m "$FX/mistral/model.f16.gguf" --prompt-tokens 5,6,7 -n 60 --temp 0 --tokens --ignore-eos --swa 32 -c 128
run 2 "bad --swa" "$CLI" run -m "$FX/mistral/model.f16.gguf" --prompt-tokens 5 --swa -7
# sinks/window re-rotate keys with the global RoPE: Gemma-3's window layers
# (their own RoPE) take them only in their own rings (policy window >= 32)
run 0 "gemma3 sinks policy" "$CLI" run -m "$FX/gemma3/model.f16.gguf" --prompt-tokens 5,6 -n 100 --temp 0 --tokens \
    --ignore-eos --kv-policy sinks:4:64
check "[ \$(wc -w < $tmp/out) -eq 100 ]" "gemma3 sinks:4:64: not 100 token ids"
run 1 "gemma3 small sinks policy" "$CLI" run -m "$FX/gemma3/model.f16.gguf" --prompt-tokens 5,6 -n 4 --kv-policy sinks:4:16
has "$tmp/err" "their own" "gemma3 sinks refusal"
run 0 "eval passkey qwen3" "$CLI" eval passkey -m "$FX/qwen3/model.f16.gguf" -c 256 --lengths 128 --depths 2 --trials 1
run 0 "bench model gemma2" "$CLI" bench model -m "$FX/gemma2/model.f16.gguf" --ctx 64 -n 4 --no-peak
has "$tmp/out" "64 |" "bench model row"
run 1 "convert gemma2" "$CLI" convert "$FX/gemma2/model.f16.gguf" --type f32 "$tmp/g.gguf"
has "$tmp/err" "only plain llama models are written" "convert refusal"
run 0 "analyze --family" "$CLI" analyze --family gemma-3-12b --n 8K
has "$tmp/out" "8 global + 40 window (1024)" "analyze gemma-3-12b layers"
has "$tmp/out" "72.9%" "analyze gemma-3-12b saving at 8K"
run 2 "analyze unknown family" "$CLI" analyze --family nope
finish families
