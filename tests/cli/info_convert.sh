#!/usr/bin/env bash
# longctx info / convert end to end: llama2.c -> GGUF conversions, random
# models, vocabulary-only GGUFs, JSON output, exit codes.
# Usage (from ctest): info_convert.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
if [ ! -d "$SHARED/models" ]; then
    echo "SKIP: $SHARED is absent"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_rc() { # expected-rc description command...
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
}
contains() { grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"; }

# info on the llama2.c and GGUF checkpoints
expect_rc 0 "info stories260K.bin" "$CLI" info "$SHARED/models/stories260K.bin"
contains "$tmp/out" "dim 64, hidden 172, layers 5, heads 8, kv heads 4, head dim 8, vocab 512" "stories shape"
contains "$tmp/out" "llama2c" "stories format"
contains "$tmp/out" "512 tokens (training context)" "stories context"
expect_rc 0 "info aidreams260K.gguf" "$CLI" info -m "$SHARED/models/aidreams260K.gguf"
contains "$tmp/out" "gguf v3, 39 tensors" "aidreams gguf format"
contains "$tmp/out" "f32: 39" "aidreams tensor types"
contains "$tmp/out" "rope          norm, base 10000, 16 of 16 dims, scaling none" "aidreams rope"

# vocabulary-only GGUF: metadata
expect_rc 0 "info vocab" "$CLI" info "$SHARED/vocab/ggml-vocab-gpt-2.gguf"
contains "$tmp/out" "vocabulary only" "vocab-only"
contains "$tmp/out" "gpt2, 50257 tokens" "gpt2 tokenizer"
contains "$tmp/out" "tokenizer.ggml.merges" "metadata listing"

# JSON is valid and carries the numbers
expect_rc 0 "info --json" "$CLI" info --json "$SHARED/models/stories260K.bin"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
assert d["n_layers"] == 5 and d["n_kv_heads"] == 4 and d["head_dim"] == 8, d
assert d["kv_bytes_per_1k_tokens"]["f32"] == 5 * 4 * 8 * 2 * 4 * 1024, d["kv_bytes_per_1k_tokens"]
assert d["rope"]["layout"] == "norm" and d["tied_output"] is True' "$tmp/out" || fail "json content"
fi

# llama2.c -> GGUF: f32 keeps the parameter count; q8_0 falls back to f16 for 172-column rows
expect_rc 0 "convert f32" "$CLI" convert "$SHARED/models/stories260K.bin" "$tmp/s.gguf"
expect_rc 0 "info converted" "$CLI" info "$tmp/s.gguf"
contains "$tmp/out" "parameters    260.0K (260032)" "converted parameters"
expect_rc 0 "convert q8_0" "$CLI" convert "$SHARED/models/stories260K.bin" "$tmp/q.gguf" --type q8_0
expect_rc 0 "info q8_0" "$CLI" info "$tmp/q.gguf"
contains "$tmp/out" "f32: 11 (" "q8_0 with f16 fallback: norms"
contains "$tmp/out" "f16: 5 (" "q8_0 with f16 fallback for w_down"
contains "$tmp/out" "q8_0: 31 (" "q8_0 with f16 fallback: q8_0 matrices"
expect_rc 0 "convert with tokenizer" "$CLI" convert "$SHARED/models/aidreams260K.bin" "$tmp/a.gguf" \
    -z "$SHARED/models/aidreams-tok512.bin" --type f16
expect_rc 0 "info with tokenizer" "$CLI" info "$tmp/a.gguf"
contains "$tmp/out" "spm, 512 tokens" "embedded tokenizer"
# GGUF -> GGUF keeps types unless asked (same file name: general.name comes from it)
mkdir -p "$tmp/d1" "$tmp/d2" "$tmp/d3"
expect_rc 0 "re-convert" "$CLI" convert "$tmp/a.gguf" "$tmp/d1/a.gguf"
cmp -s "$tmp/a.gguf" "$tmp/d1/a.gguf" || fail "GGUF -> GGUF with kept types is not byte-identical"

# random models: deterministic per seed
expect_rc 0 "random 1" "$CLI" convert --random "$tmp/d1/r.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 \
    --kv-heads 2 --vocab 100 --ctx 256 --seed 3 --type f16
expect_rc 0 "random 2" "$CLI" convert --random "$tmp/d2/r.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 \
    --kv-heads 2 --vocab 100 --ctx 256 --seed 3 --type f16
expect_rc 0 "random 3" "$CLI" convert --random "$tmp/d3/r.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 \
    --kv-heads 2 --vocab 100 --ctx 256 --seed 4 --type f16
mkdir -p "$tmp/d4"
OMP_NUM_THREADS=1 "$CLI" convert --random "$tmp/d4/r.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 \
    --kv-heads 2 --vocab 100 --ctx 256 --seed 3 --type f16 >/dev/null || fail "random on one thread"
cmp -s "$tmp/d1/r.gguf" "$tmp/d2/r.gguf" || fail "same seed gives different files"
cmp -s "$tmp/d1/r.gguf" "$tmp/d4/r.gguf" || fail "the thread count changes the random weights"
cmp -s "$tmp/d1/r.gguf" "$tmp/d3/r.gguf" && fail "different seeds give the same file"
expect_rc 0 "info random" "$CLI" info "$tmp/d1/r.gguf"
contains "$tmp/out" "heads 4, kv heads 2, head dim 16" "random GQA shape"
expect_rc 0 "preset 15M" "$CLI" convert --random "$tmp/p.gguf" --preset 15M --type q8_0 --rope-scaling yarn \
    --rope-scale 4 --ctx 8192 --yarn-orig-ctx 2048
expect_rc 0 "info preset" "$CLI" info "$tmp/p.gguf"
contains "$tmp/out" "(15191712)" "15M parameter count"
contains "$tmp/out" "scaling yarn x4 from 2048" "yarn scaling round trip"

# errors: usage 2, failures 1, help 0
expect_rc 0 "info --help" "$CLI" info --help
expect_rc 0 "convert --help" "$CLI" convert --help
expect_rc 2 "info no args" "$CLI" info
expect_rc 2 "info bad flag" "$CLI" info --bogus "$tmp/p.gguf"
expect_rc 2 "convert one arg" "$CLI" convert "$tmp/p.gguf"
expect_rc 2 "unknown preset" "$CLI" convert --random "$tmp/x.gguf" --preset 7B
expect_rc 2 "bad type" "$CLI" convert --random "$tmp/x.gguf" --preset 15M --type q3_K
expect_rc 1 "missing file" "$CLI" info "$tmp/none.bin"
head -c 1000 "$SHARED/models/stories260K.bin" >"$tmp/cut.bin"
expect_rc 1 "truncated llama2.c" "$CLI" info "$tmp/cut.bin"
contains "$tmp/err" "truncated" "truncation message"
head -c 5000 "$SHARED/models/aidreams260K.gguf" >"$tmp/cut.gguf"
expect_rc 1 "truncated gguf" "$CLI" info "$tmp/cut.gguf"
expect_rc 1 "bad shape" "$CLI" convert --random "$tmp/x.gguf" --dim 64 --hidden 96 --layers 2 --heads 4 \
    --kv-heads 3 --vocab 100
[ -e "$tmp/x.gguf" ] && fail "a refused conversion left a file"
find "$tmp" -name '*.tmp.*' | grep -q . && fail "temporary files left behind"

if [ "$failures" -ne 0 ]; then
    echo "info_convert: $failures failures"
    exit 1
fi
echo "info_convert: all passed"
