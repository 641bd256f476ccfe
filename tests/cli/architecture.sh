#!/usr/bin/env bash
# docs/architecture.md's table stays true: every file it names (header, source, test) exists, every
# doc page it links exists, and every command in it runs as written (exit 0) from the repository
# root, `longctx` being this build's CLI and ../shared the shared folder ($2); a command that needs
# ../shared is skipped, saying so, when that folder is absent. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$(readlink -f "$1") shared=$2 src=$(readlink -f "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_WAIT_POLICY=PASSIVE
mkdir "$tmp/bin"
ln -s "$cli" "$tmp/bin/longctx"

python3 - "$src" "$tmp/cmds" <<'PY'
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
doc = open(os.path.join(src, "docs/architecture.md"), encoding="utf-8").read()
rows = [l for l in doc.splitlines() if l.startswith("| ") and not l.startswith("| article") and "---" not in l]
assert len(rows) >= 15, len(rows)
names = " ".join(rows)
for t in ("FlashAttention", "window", "linear", "chunked", "hybrid", "YaRN", "LongRoPE", "learned", "DeltaNet",
          "KV cache policies", "passkey", "variable tracking", "perplexity", "retention"):
    assert t in names, ("the table lacks", t)
cmds, files = [], 0
for r in rows:
    cells = [c.strip() for c in r.strip("|").split("|")]
    assert len(cells) == 6, r
    for c in cells[1:5]:
        for p in re.findall(r"`([^`]+)`", c):
            assert os.path.exists(os.path.join(src, p)), ("no such file", p)
            files += 1
        for p in re.findall(r"\]\(([^)#]+)", c):
            assert os.path.exists(os.path.join(src, "docs", p)), ("no such page", p)
    assert all(re.search(r"`[^`]+`", cells[i]) for i in (1, 2, 4)), ("header, source and test named", r)
    cmd = re.fullmatch(r"`([^`]+)`", cells[5])
    assert cmd and cmd.group(1).startswith("longctx "), r
    cmds.append(cmd.group(1))
for p in re.findall(r"\]\(([a-z-]+\.md)\)", doc):
    assert os.path.exists(os.path.join(src, "docs", p)), p
open(out, "w").write("\n".join(dict.fromkeys(cmds)) + "\n")
print("architecture.md: %d rows, %d files named, %d distinct commands" % (len(rows), files, len(set(cmds))))
PY

cd "$src"
skipped=0
while IFS= read -r c; do
  if [[ $c == *../shared/* ]] && [ ! -d "$shared" ]; then
    echo "skip (no $shared): $c"; skipped=$((skipped + 1)); continue
  fi
  run=${c//..\/shared\//$shared/}
  run=${run//\/tmp\//$tmp/}
  if ! PATH="$tmp/bin:$PATH" bash -c "$run" > "$tmp/out" 2>&1 < /dev/null; then
    tail -n 20 "$tmp/out"; echo "FAILED as written in docs/architecture.md: $c"; exit 1
  fi
  echo "ok: $c"
done < "$tmp/cmds"
echo "architecture: ok ($skipped commands skipped)"
