#!/usr/bin/env bash
# longctx quantize / convert --type with quantized types / info's per-type
# census, end to end on the llama3 fixture (f16 GGUF from llama.cpp's
# converter, llama3 RoPE with rope_freqs).
# Usage (from ctest): quantize.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
SRC="$SHARED/fixtures/llama3/model.f16.gguf"
if [ ! -f "$SRC" ]; then
    echo "SKIP: $SRC is absent"
    exit 77
fi
. "$3/tests/cli/lib.bash"

run 0 "quantize Q4_K_M" "$CLI" quantize "$SRC" "$tmp/q4km.gguf" Q4_K_M -t 2
has "$tmp/out" "tensor types: f32 6 q4_K 13 q6_K 3" "Q4_K_M census (llama-quantize's)"
run 0 "info Q4_K_M" "$CLI" info "$tmp/q4km.gguf"
has "$tmp/out" "f32: 6 (" "info f32 count"
has "$tmp/out" "q4_K: 13 (" "info q4_K count"
has "$tmp/out" "q6_K: 3 (" "info q6_K count"
run 0 "info --json" "$CLI" info --json "$tmp/q4km.gguf"
has "$tmp/out" '"tensor_type_bytes"' "json bytes per type"
run 0 "quantize Q4_0" "$CLI" quantize "$SRC" "$tmp/q40.gguf" q4_0
has "$tmp/out" "q4_0 15 q6_K 1" "Q4_0 census"
run 0 "quantize Q8_0 --pure" "$CLI" quantize "$SRC" "$tmp/q80.gguf" Q8_0 --pure
has "$tmp/out" "q8_0 16" "Q8_0 census"
run 0 "run a quantized model" "$CLI" run -m "$tmp/q4km.gguf" -n 4 --temp 0 -p "hello"
run 2 "unwritable type" "$CLI" quantize "$SRC" "$tmp/x.gguf" Q3_K
has "$tmp/err" "reads q3_K weights but does not write them" "unwritable type message"
check '[ ! -e "$tmp/x.gguf" ]' "nothing written for a refused type"
run 2 "unknown type" "$CLI" quantize "$SRC" "$tmp/x.gguf" Q9_Z
run 2 "missing argument" "$CLI" quantize "$SRC" "$tmp/x.gguf"
run 1 "missing input" "$CLI" quantize "$tmp/none.gguf" "$tmp/x.gguf" Q4_0
run 1 "requantize refused" "$CLI" quantize "$tmp/q4km.gguf" "$tmp/x.gguf" Q8_0
has "$tmp/err" "--allow-requantize" "requantize hint"
run 0 "requantize allowed" "$CLI" quantize "$tmp/q4km.gguf" "$tmp/x.gguf" Q8_0 --allow-requantize
head -c 5000 "$tmp/q4km.gguf" >"$tmp/cut.gguf"
run 1 "truncated input" "$CLI" quantize "$tmp/cut.gguf" "$tmp/y.gguf" Q4_0
check '[ ! -e "$tmp/y.gguf" ]' "nothing written from a truncated input"

# convert --type with the quantized types (llama.cpp's rules, as quantize)
run 0 "convert --type q5_k_m" "$CLI" convert "$SRC" "$tmp/c.gguf" --type q5_k_m
run 0 "info converted" "$CLI" info "$tmp/c.gguf"
has "$tmp/out" "q5_K: 13 (" "convert q5_K_M: q5_K"
has "$tmp/out" "q6_K: 3 (" "convert q5_K_M: q6_K"
run 2 "convert --type iq4_xs" "$CLI" convert "$SRC" "$tmp/c2.gguf" --type iq4_xs
run 0 "random model at q4_0" "$CLI" convert --random "$tmp/r.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 --vocab 320 --type q4_0
run 0 "info random q4_0" "$CLI" info "$tmp/r.gguf"
has "$tmp/out" "q4_0: 15 (" "random q4_0 matrices and embedding"
has "$tmp/out" "q8_0: 1 (" "random q4_0: the classifier (64 columns, not whole Q6_K blocks: Q8_0, as llama.cpp)"
finish quantize
