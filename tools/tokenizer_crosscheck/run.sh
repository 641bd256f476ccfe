#!/usr/bin/env bash
# Cross-check longctx's tokenizers against llama.cpp's on random strings (a developer's tool;
# CI does not need llama.cpp). Builds two small programs, one on libllama (vocab_only,
# llama_tokenize without BOS and without special-token parsing), one on liblongctx.a, feeds
# both the same strings (cases.py) and counts equal id sequences per vocabulary.
#   tools/tokenizer_crosscheck/run.sh [LLAMA_CPP_DIR] [LONGCTX_BUILD_DIR] [SHARED_DIR]
# LLAMA_CPP_DIR: a tree built by ../shared/peers/build-llama.cpp.sh (default ~/.cache/longctx-peers/llama.cpp).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
L=${1:-$HOME/.cache/longctx-peers/llama.cpp}
B=${2:-$here/../../build}
S=${3:-$here/../../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -O1 -std=c++17 "$here/llamacpp_tokenize.cpp" -I"$L/include" -I"$L/ggml/include" -L"$L/build/bin" -lllama \
    -Wl,-rpath,"$L/build/bin" -o "$tmp/ref"
gcc -O1 -I"$here/../../include" "$here/longctx_tokenize.c" "$B/liblongctx.a" -lm -fopenmp -o "$tmp/got"
python3 "$here/cases.py" 1 3000 >"$tmp/cases"
files=()
for v in llama-spm phi-3 gpt-2 llama-bpe qwen2 command-r deepseek-llm gemma-4; do files+=("$S/vocab/ggml-vocab-$v.gguf"); done
for f in "$S"/fixtures/*/model.f16.gguf; do [ -f "$f" ] && files+=("$f"); done
for f in "${files[@]}"; do
    v=$(basename "$(dirname "$f")")/$(basename "$f")
    "$tmp/ref" "$f" <"$tmp/cases" >"$tmp/ref.out" 2>/dev/null
    "$tmp/got" "$f" <"$tmp/cases" >"$tmp/got.out"
    same=$(paste -d'|' "$tmp/ref.out" "$tmp/got.out" | awk -F'|' '$1==$2' | wc -l)
    echo "$v: $same/$(wc -l <"$tmp/cases") equal"
done
