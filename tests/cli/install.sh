#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build examples/ against the
# installed library twice — with pkg-config and with find_package(longctx) —
# and run them.  Usage: install.sh CLI SHARED_DIR SOURCE_DIR
cli=$1 shared=$2 src=$3
build=$(dirname "$cli")
. "$src/tests/cli/lib.bash"
prefix=$tmp/prefix

run 0 "cmake --install" cmake --install "$build" --prefix "$prefix"
for f in include/longctx/longctx.h include/longctx/text.h bin/longctx; do
    check "[ -e '$prefix/$f' ]" "installed $f"
done
libdir=$(ls -d "$prefix"/lib*/ | head -1)
check "[ -f '$libdir/pkgconfig/longctx.pc' ]" "installed longctx.pc"
check "[ -f '$libdir/cmake/longctx/longctxConfig.cmake' ] && [ -f '$libdir/cmake/longctx/longctxConfigVersion.cmake' ]" "installed the CMake package"
check "ls '$libdir'/liblongctx.* >/dev/null 2>&1" "installed liblongctx"
run 0 "installed CLI runs" "$prefix/bin/longctx" --help

cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -x "$cc" ] || cc=${CC:-cc}
# a sanitizer build's library needs the same runtime in the programs linked to it
san=
grep -q '^LONGCTX_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && san="-fsanitize=address,undefined"
# a shared liblongctx (-DBUILD_SHARED_LIBS=ON): programs built here find it at run time
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if command -v pkg-config >/dev/null; then
    export PKG_CONFIG_PATH=$libdir/pkgconfig
    flags=$(pkg-config --cflags --libs longctx)
    case "$flags" in *"/include"*) : ;; *) fail "pkg-config --cflags names the prefix: $flags" ;; esac
    # shellcheck disable=SC2086
    run 0 "build simple.c with pkg-config" "$cc" -std=c11 -Wall -Wextra -Werror $san "$src/examples/simple.c" -o "$tmp/simple" $flags
    if [ -x "$tmp/simple" ]; then
        run 0 "simple (pkg-config build) generates" "$tmp/simple" "$src/models/longctx-default.gguf" "The pass key is" 8
        has "$tmp/out" "generated, stop:" "simple's summary line"
    fi
else
    echo "pkg-config is absent: the pkg-config build is not checked"
fi

run 0 "configure examples/ with find_package(longctx)" cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san"
run 0 "build examples/ with find_package(longctx)" cmake --build "$tmp/ex" -j2
if [ -x "$tmp/ex/attention" ]; then
    run 0 "attention example (FLASH vs NAIVE)" "$tmp/ex/attention" 256
    has "$tmp/out" "max |diff|" "attention's output"
fi
if [ -x "$tmp/ex/stream" ]; then
    run 0 "stream example under sinks" "$tmp/ex/stream" "$src/models/longctx-default.gguf" "$src/README.md" sinks:4:124
    has "$tmp/out" "perplexity" "stream's output"
fi
finish install
