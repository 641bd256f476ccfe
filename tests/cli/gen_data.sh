#!/usr/bin/env bash
# longctx gen-data end to end: samples of every task (length, answer), --json
# parsed by python3 (when present), --tokens, the stream mode, --vocab, a
# user haystack, BPE training with a GGUF written and read back by
# `longctx tokenize`, usage errors (exit 2) and runtime errors (exit 1).
# Usage (from ctest): gen_data.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SRC=${3:-.}
. "$(dirname "$0")/lib.bash"

# --- help and usage errors ----------------------------------------------------
run 0 "--help" "$CLI" gen-data --help
has "$tmp/out" "usage: longctx gen-data" "help text"
run 0 "listed in longctx --help" "$CLI" --help
has "$tmp/out" "gen-data" "command list"
run 2 "unknown option" "$CLI" gen-data --bogus
run 2 "unknown task" "$CLI" gen-data --task nosuch
run 2 "bad depth" "$CLI" gen-data --depth 2
run 2 "queries > keys" "$CLI" gen-data --task multiquery --keys 2 --queries 3
run 2 "bad mixture" "$CLI" gen-data --mix "passkey:-1" -c 128
run 2 "--train-bpe without --vocab-size" "$CLI" gen-data --train-bpe "$SRC/docs/tasks.md"
run 1 "too short for the task" "$CLI" gen-data --task vt -c 30
has "$tmp/err" "tokens" "the refusal says how many tokens it needs"
run 1 "missing haystack" "$CLI" gen-data --haystack "$tmp/none.txt"

# --- samples -------------------------------------------------------------------
for task in passkey multikey multivalue multiquery vt filler; do
    run 0 "$task" "$CLI" gen-data --task "$task" -c 300 --seed 7
    has "$tmp/out" "# $task  seed 7" "$task header"
done
run 0 "passkey at depth 0.5" "$CLI" gen-data --task passkey -c 256 --depth 0.5 --tokens
has "$tmp/out" "The pass key is" "needle text"
has "$tmp/out" "What is the pass key? The pass key is" "question"
has "$tmp/out" "A:▁" "answer tokens with role A"
key=$(sed -n 's/^=> " \([0-9]*\)"$/\1/p' "$tmp/out")
checks=$((checks + 1))
[ ${#key} -eq 5 ] || fail "a 5-digit key after =>, got '$key'"
has "$tmp/out" "The pass key is $key. Remember it. $key is the pass key." "the key is in the needle"
run 0 "same seed, same sample" "$CLI" gen-data --task vt -c 400 --seed 3
cp "$tmp/out" "$tmp/a"
run 0 "same seed again" "$CLI" gen-data --task vt -c 400 --seed 3
checks=$((checks + 1))
cmp -s "$tmp/a" "$tmp/out" || fail "gen-data is not deterministic"
run 0 "exact length" "$CLI" gen-data --task multikey -c 1K --exact
has "$tmp/out" "1024 tokens (target 1024)" "exact 1024 tokens"
run 0 "three samples" "$CLI" gen-data --count 3 -c 128
checks=$((checks + 1))
[ "$(grep -c '^# passkey' "$tmp/out")" -eq 3 ] || fail "--count 3 printed $(grep -c '^# passkey' "$tmp/out") samples"

if command -v python3 >/dev/null 2>&1; then
    run 0 "--json" "$CLI" gen-data --task multivalue -c 500 --json --count 2
    checks=$((checks + 1))
    python3 - "$tmp/out" <<'EOF' || fail "--json output is not what it should be"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for line in lines:
    s = json.loads(line)
    assert s["task"] == "multivalue" and len(s["ids"]) == s["n_tokens"] == len(s["roles"]) <= 500
    assert s["n_tokens"] >= 490 and s["ids"][0] == 1 and s["ids"][-1] == 2
    values = [v.strip() for v in s["answer"].split(",")]
    assert len(values) == 4 and all(v in s["prompt"] for v in values)
    assert [n["pos"] for n in s["needles"]] == sorted(n["pos"] for n in s["needles"])
EOF
fi

# --- user haystack --------------------------------------------------------------
printf 'First line of the essay. Second sentence here!\n\nA new paragraph starts. And ends.\n' >"$tmp/hay.txt"
run 0 "haystack" "$CLI" gen-data --haystack "$tmp/hay.txt" -c 200
has "$tmp/out" "Second sentence here!" "haystack sentences used"

# --- stream ---------------------------------------------------------------------
run 0 "stream" "$CLI" gen-data --mix "passkey:0.5,filler:0.5" -c 128 -b 3 --position 10
has "$tmp/out" "# stream passkey:0.5,filler:0.5  T 128" "stream header"
has "$tmp/out" "# row 12:" "rows from the position"
run 1 "stream task too long for T" "$CLI" gen-data --mix "vt:1:hops=20" -c 64
has "$tmp/err" "does not fit" "stream refusal"

# --- vocabulary -------------------------------------------------------------------
run 0 "--vocab" "$CLI" gen-data --vocab
checks=$((checks + 1))
[ "$(grep -vc '^#' "$tmp/out")" -eq 896 ] || fail "--vocab lists $(grep -vc '^#' "$tmp/out") pieces, want 896"
has "$tmp/out" "<0x0A>" "byte tokens"

# --- BPE training -------------------------------------------------------------------
cat "$SRC"/docs/*.md "$SRC"/src/data/*.c >"$tmp/corpus.txt"
run 0 "train BPE" "$CLI" gen-data --train-bpe "$tmp/corpus.txt" --vocab-size 600 -o "$tmp/bpe.gguf"
has "$tmp/out" "vocabulary 600 tokens" "vocabulary size"
has "$tmp/out" "identical to the trainer's segmentation" "re-encoding check"
run 0 "tokenize with the trained GGUF" "$CLI" tokenize -m "$tmp/bpe.gguf" -p "hello world"
checks=$((checks + 1))
[ -s "$tmp/out" ] || fail "no ids from the trained tokenizer"
run 0 "samples with the trained tokenizer" "$CLI" gen-data -m "$tmp/bpe.gguf" --task passkey -c 300
has "$tmp/out" "The pass key is" "BPE sample"
run 1 "train on a missing file" "$CLI" gen-data --train-bpe "$tmp/none.txt" --vocab-size 300

finish gen_data.sh
