#!/usr/bin/env bash
# tools/fetch-test-assets.sh: --help; --check passes on the shared folder the tests use (every file
# in tools/test-assets.txt present with its sha256), and the list covers every file the shared
# folder holds (READMEs aside); --check on a folder with one file changed and the others absent
# says which differs and which are missing (exit 1), with only absent files exit 3; usage errors
# exit 2. The download mode needs a network and is not run here. Args: $1 CLI, $2 shared dir,
# $3 source dir.
set -euo pipefail
shared=$2
tool=$3/tools/fetch-test-assets.sh
list=$3/tools/test-assets.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$tool" --help > "$tmp/help"
grep -q -- "--check" "$tmp/help" && grep -q "sha256" "$tmp/help" && grep -q "llama-cpp-python 0.3.36" "$tmp/help"
set +e
"$tool" --bogus > /dev/null 2>&1; [ $? -eq 2 ] || { echo "unknown option must exit 2"; exit 1; }
"$tool" --check a b > /dev/null 2>&1; [ $? -eq 2 ] || { echo "two folders must exit 2"; exit 1; }
set -e
"$tool" --list > "$tmp/list"
grep -q "^gen    fixtures/llama3/hf_logits.f32" "$tmp/list"

# every origin is one of the four, every sha256 is 64 hex digits, no path twice
python3 - "$list" <<'PY'
import re, sys
seen = set()
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    f = line.split(None, 3)
    assert len(f) == 4 and re.fullmatch(r"[0-9a-f]{64}", f[0]) and f[2] in ("url", "sdist", "gen", "local"), line
    assert f[1] not in seen, f[1]
    seen.add(f[1])
    if f[2] == "url":
        assert f[3].startswith("https://"), line
print("test-assets.txt: %d files" % len(seen))
PY

# a folder with one file changed and the rest absent
# one awk, no pipe: under pipefail, a reader that exits early gives its writer SIGPIPE (exit 141)
first=$(awk '!/^#/ && $3 == "sdist" {print $2; exit}' "$list")
mkdir -p "$tmp/part/$(dirname "$first")"
printf 'not the file\n' > "$tmp/part/$first"
set +e
"$tool" --check "$tmp/part" > "$tmp/part.out" 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || { cat "$tmp/part.out"; echo "a changed file must exit 1 (got $rc)"; exit 1; }
grep -q "^DIFFERS  $first" "$tmp/part.out" && grep -q "^missing  models/stories260K.bin  (download: https://" "$tmp/part.out" && grep -Eq "^make     [0-9]+ file\(s\) \(fixtures/" "$tmp/part.out"
rm "$tmp/part/$first"
set +e
"$tool" --check "$tmp/part" > "$tmp/part.out" 2>&1; rc=$?
set -e
[ $rc -eq 3 ] || { echo "only missing files must exit 3 (got $rc)"; exit 1; }

if [ ! -d "$shared/vocab" ]; then
  echo "SKIP: no shared folder at $shared: --check against it not run"
  exit 77
fi
"$tool" --check "$shared"   # every file present and right
# every file the shared folder holds (READMEs aside) is in the list
(cd "$shared" && find models vocab templates fixtures seed -type f ! -name README.md | sort) > "$tmp/have"
grep -v '^#' "$list" | awk 'NF {print $2}' | sort > "$tmp/listed"
comm -23 "$tmp/have" "$tmp/listed" > "$tmp/unlisted"
[ ! -s "$tmp/unlisted" ] || { echo "in $shared but not in tools/test-assets.txt:"; cat "$tmp/unlisted"; exit 1; }
echo "fetch-test-assets: ok"
