#!/usr/bin/env bash
# Where longctx and llama.cpp part on the gpt-oss fixture's model.MXFP4_MOE.gguf (docs/models.md,
# "The MXFP4 file"): builds lcpp_dump against llama.cpp (../shared/peers/build-llama.cpp.sh's tree),
# dumps every tensor llama.cpp computes for the fixture's 160 tokens, and runs mxfp4_gap on it.
#   tools/mxfp4_gap/run.sh [BUILD_DIR (default build)] [LLAMA_CPP_DIR (default ~/.cache/longctx-peers/llama.cpp)]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
lcpp=${2:-$HOME/.cache/longctx-peers/llama.cpp}
shared=${LC_SHARED_DIR:-$src/../shared}
fx=$shared/fixtures/gpt-oss
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -O2 -std=c++17 -I"$lcpp/include" -I"$lcpp/ggml/include" "$src/tools/mxfp4_gap/lcpp_dump.cpp" \
    -L"$lcpp/build/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$lcpp/build/bin" -o "$tmp/lcpp_dump"
gcc -O2 -std=c11 -I"$src/include" -I"$src/src" "$src/tools/mxfp4_gap/mxfp4_gap.c" "$build/liblongctx.a" -lm -fopenmp \
    -o "$tmp/mxfp4_gap"
toks=$(python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" "$fx/tokens.json")
"$tmp/lcpp_dump" "$fx/model.MXFP4_MOE.gguf" "$toks" "$tmp/dump.bin" 2>/dev/null
"$tmp/mxfp4_gap" "$fx/model.MXFP4_MOE.gguf" "$tmp/dump.bin" ${toks//,/ }
