#!/usr/bin/env bash
# Where the third-party test files in ../shared come from, and a way to get them.
#
#   tools/fetch-test-assets.sh [--check] [--list] [DIR]
#
# The tests read real checkpoints, vocabularies, chat templates and reference fixtures from a folder
# next to the repository (../shared, or LC_SHARED_DIR at CMake time) and skip, saying so, what needs an
# absent file. tools/test-assets.txt lists every such file with its sha256 and its origin:
#   url    a file published on the web: llama2.c's stories260K (Hugging Face, karpathy/tinyllamas), its
#          Llama 2 tokenizer.bin, the aidreams260K checkpoint and tokenizer of an ESP32 port of llama2.c
#   sdist  llama.cpp's vocabularies, tokenizer test vectors and chat templates, taken from the llama.cpp
#          tree vendored in the llama-cpp-python 0.3.36 source distribution on PyPI (the exact files
#          ../shared holds; fetched with `pip download`)
#   gen    made by a command (the GGUF of aidreams260K, the HF / llama.cpp reference fixtures); printed,
#          not run: the fixtures need torch, transformers and a llama.cpp build
#   local  only with this machine's ../shared (the article's text, the fixture generator's scripts)
#
# Modes:
#   (default)  download what is downloadable and missing or wrong into DIR, check each file's sha256
#              before it is moved into place, print the commands for generated files, then --check
#   --check    download nothing: verify the sha256 of every file present, list the missing ones
#   --list     print each file with its origin
# DIR: the shared folder (default: $LC_SHARED_DIR, else ../shared beside the repository).
# Exit status: 0 every file present and right; 1 a file differs from its sha256 (or a download
# failed); 2 usage; 3 nothing differs but files are missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=$here/test-assets.txt
sdist_name=llama-cpp-python==0.3.36

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

mode=fetch
dir=
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --check) mode=check ;;
    --list) mode=list ;;
    -*) echo "fetch-test-assets: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [ -z "$dir" ] || { echo "fetch-test-assets: one folder only (see --help)" >&2; exit 2; }; dir=$1 ;;
  esac
  shift
done
[ -n "$dir" ] || dir=${LC_SHARED_DIR:-$here/../../shared}
[ -r "$manifest" ] || { echo "fetch-test-assets: $manifest is missing" >&2; exit 2; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# the manifest's lines: sha path how source...
entries() { grep -v '^[[:space:]]*\(#\|$\)' "$manifest"; }

if [ "$mode" = list ]; then
  entries | while read -r sum path how src; do printf '%-6s %s\n       %s\n' "$how" "$path" "$src"; done
  exit 0
fi

# the generated files' commands, each once, with how many files it makes and the first of them
declare -A gen_count=() gen_first=()
print_gen() {
  local cmd
  for cmd in "${!gen_count[@]}"; do
    echo "make     ${gen_count[$cmd]} file(s) (${gen_first[$cmd]} ...), in $dir, with:"
    echo "           $cmd"
  done
}

check() {
  local ok=0 bad=0 missing=0 sum path how src
  gen_count=() gen_first=()
  while read -r sum path how src; do
    if [ ! -f "$dir/$path" ]; then
      case $how in
        url) echo "missing  $path  (download: ${src%% *})" ;;
        sdist) echo "missing  $path  (llama-cpp-python 0.3.36 sdist: ${src#*/})" ;;
        gen) echo "missing  $path  (generated: the command below)"
             gen_count[$src]=$(( ${gen_count[$src]:-0} + 1 )); : "${gen_first[$src]:=$path}" ;;
        *) echo "missing  $path  (not published: $src)" ;;
      esac
      missing=$((missing + 1))
    elif [ "$(sha "$dir/$path")" != "$sum" ]; then
      echo "DIFFERS  $path  (sha256 $(sha "$dir/$path"), expected $sum)"
      bad=$((bad + 1))
    else
      ok=$((ok + 1))
    fi
  done < <(entries)
  print_gen
  echo "fetch-test-assets: $dir: $ok ok, $bad differ, $missing missing (of $((ok + bad + missing)) in tools/test-assets.txt)"
  [ $bad -eq 0 ] || return 1
  [ $missing -eq 0 ] || return 3
  return 0
}

if [ "$mode" = check ]; then
  [ -d "$dir" ] || { echo "fetch-test-assets: $dir is not a folder" >&2; exit 3; }
  rc=0; check || rc=$?; exit $rc
fi

# ---- fetch ----
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
download() { # url dest
  if command -v curl > /dev/null; then curl -fsSL --retry 2 -o "$2" "$1" < /dev/null
  elif command -v wget > /dev/null; then wget -q -O "$2" "$1" < /dev/null
  else echo "fetch-test-assets: needs curl or wget" >&2; return 1; fi
}
sdist_dir=
sdist() { # unpack the llama-cpp-python sdist once; print its folder
  if [ -z "$sdist_dir" ]; then
    command -v pip > /dev/null || command -v pip3 > /dev/null || { echo "fetch-test-assets: needs pip for the llama.cpp files" >&2; return 1; }
    "$(command -v pip || command -v pip3)" download --no-deps --no-binary :all: "$sdist_name" -d "$tmp/sdist" < /dev/null >&2
    tar -xzf "$tmp"/sdist/llama_cpp_python-*.tar.gz -C "$tmp/sdist"
    sdist_dir=$tmp/sdist
  fi
}
failed=0
while read -r sum path how src; do
  if [ -f "$dir/$path" ] && [ "$(sha "$dir/$path")" = "$sum" ]; then continue; fi
  got=$tmp/got
  rm -f "$got"
  case $how in
    url) echo "get      $path  <- ${src%% *}"; download "${src%% *}" "$got" || true ;;
    sdist) echo "get      $path  <- PyPI $sdist_name: ${src#*/}"
           if sdist; then cp "$sdist_dir/$src" "$got" 2> /dev/null || true; fi ;;
    gen) continue ;;  # listed with their command by the check below
    local) continue ;;  # not published: the check below names it
  esac
  if [ ! -s "$got" ]; then
    echo "FAILED   $path: nothing downloaded"; failed=1
  elif [ "$(sha "$got")" != "$sum" ]; then
    echo "FAILED   $path: the download's sha256 $(sha "$got") is not $sum (kept out)"; failed=1
  else
    mkdir -p "$(dirname "$dir/$path")"
    mv "$got" "$dir/$path"
  fi
done < <(entries)
rc=0; check || rc=$?
[ $failed -eq 0 ] || exit 1
exit $rc
