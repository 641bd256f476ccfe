#!/usr/bin/env bash
# convert --random for the mixture-of-experts families: the qwen3next-0.8B and gpt-oss-0.9B presets
# (shrunk with the override flags so the test is fast) and --arch gpt-oss|qwen3next write files that
# load (info names the family and layer pattern), run generates token ids, and bench model reaches
# depth with --fill-kv random, printing the per-layer-kind split and the memory table; q4_K files load;
# the option refusals name why. Args: $1 CLI, $2 shared dir, $3 source dir.
set -u
CLI=$1
. "$(dirname "$0")/lib.bash"

QN=(--preset qwen3next-0.8B --dim 64 --layers 4 --heads 2 --kv-heads 1 --head-dim 32 --vocab 256 --experts 4
    --experts-used 2 --expert-ffn 32 --shared-ffn 32 --ssm-k-heads 2 --ssm-v-heads 4 --ssm-head-dim 16)
run 0 "convert qwen3next preset" "$CLI" convert --random "$tmp/qn.gguf" "${QN[@]}"
has "$tmp/out" "random qwen3next, dim 64, layers 4, heads 2/1 x 32" "qwen3next summary"
has "$tmp/out" "q8_0" "family presets default to q8_0"
run 0 "info qwen3next" "$CLI" info "$tmp/qn.gguf"
has "$tmp/out" "architecture  qwen3next" "qwen3next arch"
has "$tmp/out" "gated deltanet (1 attention layer in 4, conv 4), moe 4 experts, 2 used, shared expert ffn 32" \
    "qwen3next family"
has "$tmp/out" "DDDG (gated deltanet on 3 of 4 layers)" "qwen3next pattern"
has "$tmp/out" "8 of 32 dims" "qwen3next partial RoPE (a quarter, as the preset's 64 of 256)"
run 0 "run qwen3next" "$CLI" run -m "$tmp/qn.gguf" --prompt-tokens 5,6,7,8,9 -n 20 --temp 0 --tokens --ignore-eos -c 64
check "[ \$(wc -w < $tmp/out) -eq 20 ]" "run qwen3next: not 20 token ids ($(head -c 200 "$tmp/out"))"
run 0 "bench qwen3next synthetic" "$CLI" bench model -m "$tmp/qn.gguf" --ctx 32,128 -n 2 --no-peak --fill-kv random \
    --repeat 2
has "$tmp/out" "(median [min, max] over 2 runs)" "repeat summary"
has "$tmp/out" "synthetic depth (--fill-kv random)" "synthetic depth label"
has "$tmp/out" "     128 |  synthetic" "synthetic row"
has "$tmp/out" "deltanet layers, time per token at 128 / at 32: " "deltanet ratio line"
has "$tmp/out" "3 deltanet" "per-kind table"
run 0 "bench qwen3next interleaved" "$CLI" bench model -m "$tmp/qn.gguf" --ctx 32,128 -n 3 --no-peak --fill-kv random \
    --repeat 2 --interleave
check "[ \$(grep -c ' |  synthetic ' $tmp/out) -eq 4 ]" "interleaved: not 4 rows ($(head -c 400 "$tmp/out"))"
has "$tmp/out" "outside layers" "control row"
run 0 "bench qwen3next json" "$CLI" bench model -m "$tmp/qn.gguf" --ctx 64 -n 2 --no-peak --fill-kv random --json
has "$tmp/out" '"depth":"synthetic (--fill-kv random)"' "json depth"
has "$tmp/out" '"decode_deltanet_layers_s":' "json per-kind time"
check "grep -q '\"state_bytes\":[1-9]' $tmp/out" "json: no recurrent state bytes ($(head -c 300 "$tmp/out"))"

GO=(--preset gpt-oss-0.9B --dim 64 --layers 4 --heads 4 --kv-heads 2 --head-dim 16 --vocab 256 --experts 4
    --expert-ffn 32 --window 8)
run 0 "convert gpt-oss preset" "$CLI" convert --random "$tmp/go.gguf" "${GO[@]}"
run 0 "info gpt-oss" "$CLI" info "$tmp/go.gguf"
has "$tmp/out" "architecture  gpt-oss" "gpt-oss arch"
has "$tmp/out" "qkv bias, output bias, learned sinks, moe 4 experts, 4 used" "gpt-oss family"
has "$tmp/out" "WGWG (window 8 on 2 of 4 layers)" "gpt-oss pattern"
has "$tmp/out" "scaling yarn" "gpt-oss YaRN"
run 0 "run gpt-oss" "$CLI" run -m "$tmp/go.gguf" --prompt-tokens 5,6,7,8,9 -n 20 --temp 0 --tokens --ignore-eos -c 64
check "[ \$(wc -w < $tmp/out) -eq 20 ]" "run gpt-oss: not 20 token ids ($(head -c 200 "$tmp/out"))"
run 0 "bench gpt-oss synthetic" "$CLI" bench model -m "$tmp/go.gguf" --ctx 256 -n 2 -b 16 --no-peak --fill-kv random
has "$tmp/out" "2 window" "gpt-oss per-kind table"
# 2 global layers x 258 slots x (2 x 32 f16 + 12 bytes of position and token) = 69144 bytes: 0.07 MiB;
# rings 2 x (8 + 16 - 1) slots x 128 bytes + positions: 0.01; all 4 layers full 4 x 258 x 128 bytes: 0.13
has "$tmp/out" "     256 |       0.07       0.07       0.01       0.00 |         0.13         0.00" \
    "gpt-oss memory row (KV, rings, all layers full)"

run 0 "convert qwen3next q4_K" "$CLI" convert --random "$tmp/q4.gguf" --arch qwen3next --dim 256 --hidden 256 \
    --layers 4 --heads 2 --kv-heads 1 --head-dim 64 --vocab 256 --type q4_K
run 0 "info q4_K" "$CLI" info "$tmp/q4.gguf"
has "$tmp/out" "q4_K:" "q4_K tensors"
run 0 "run q4_K" "$CLI" run -m "$tmp/q4.gguf" --prompt-tokens 5,6,7 -n 4 --temp 0 --tokens --ignore-eos -c 32

run 2 "window on qwen3next" "$CLI" convert --random "$tmp/x.gguf" "${QN[@]}" --window 8
has "$tmp/err" "qwen3next has no window layers" "window refusal"
run 2 "experts on llama" "$CLI" convert --random "$tmp/x.gguf" --preset 15M --experts 4
has "$tmp/err" "are for --arch gpt-oss or qwen3next" "llama expert refusal"
run 2 "ssm on gpt-oss" "$CLI" convert --random "$tmp/x.gguf" "${GO[@]}" --ssm-k-heads 2
has "$tmp/err" "are qwen3next's" "gpt-oss ssm refusal"
run 1 "bad deltanet heads" "$CLI" convert --random "$tmp/x.gguf" "${QN[@]}" --ssm-v-heads 3
has "$tmp/err" "value heads a multiple of key heads" "deltanet shape refusal"
run 2 "fill-kv other" "$CLI" bench model -m "$tmp/qn.gguf" --fill-kv zeros
finish random_families
