#!/usr/bin/env bash
# longctx doc end to end with the real aidreams260K model on the Chinese
# article in ../shared/seed (15 KB): --json chunks cover every byte and end
# at sentence or paragraph ends (。！？ . ! ? newline), each strategy runs,
# a short document runs once, single refuses a long one, --template and a
# free-text --task, stdin, usage errors and exit codes.
# Usage (from ctest): doc.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
MODEL=$SHARED/models/aidreams260K.gguf
ARTICLE=$SHARED/seed/context-length-article.zh.txt
if [ ! -f "$MODEL" ] || [ ! -f "$ARTICLE" ]; then
    echo "SKIP: $SHARED is absent"
    exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
DOC=("$CLI" doc -m "$MODEL" -c 512 -t 1 -n 16)

# chunks: every byte covered, every end at a sentence or paragraph end
cover() { # json-file document strategy
    python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
t = open(sys.argv[2], 'rb').read()
ch = d["chunks"]
assert d["strategy"] == sys.argv[3], d["strategy"]
assert d["bytes"] == len(t), (d["bytes"], len(t))
assert ch[0]["start"] == 0 and ch[-1]["end"] == len(t), "not covered"
ends = (b"\xe3\x80\x82", b"\xef\xbc\x81", b"\xef\xbc\x9f")
for a, b in zip(ch, ch[1:]):
    assert a["start"] < b["start"] <= a["end"], ("gap or stall", a, b)
for c in ch:
    e = c["end"]
    assert e == len(t) or t[e-1:e] in (b" ", b"\n", b"\t") or t[e-3:e] in ends, ("ends inside a sentence", c, t[e-8:e+4])
    assert c["tokens"] <= d["chunk_budget"], c
    assert isinstance(c["result"], str)
assert isinstance(d["answer"], str)
print(len(ch), "chunks")
EOF
}
run 0 "map-reduce --json" "${DOC[@]}" "$ARTICLE" --task clauses --strategy map-reduce --json
check 'cover "$tmp/out" "$ARTICLE" map-reduce' "map-reduce chunks"
check 'grep -q "map-reduce, [0-9]* chunks (budget [0-9]* tokens), [1-9][0-9]* combining pass" "$tmp/err"' "summary line: $(tail -1 "$tmp/err")"
run 0 "refine" "${DOC[@]}" "$ARTICLE" --strategy refine --json
check 'cover "$tmp/out" "$ARTICLE" refine' "refine chunks"
run 0 "hierarchical" "${DOC[@]}" "$ARTICLE" --task entities --strategy hierarchical --json
check 'cover "$tmp/out" "$ARTICLE" hierarchical' "hierarchical chunks"
run 0 "auto maps a long document" "${DOC[@]}" "$ARTICLE" --json
check 'cover "$tmp/out" "$ARTICLE" map-reduce' "auto"
# the same through stdin
# an empty or all-blank document is refused (issue 17: it was "summarised")
printf '' >"$tmp/empty.txt"
run 1 "empty document" "${DOC[@]}" "$tmp/empty.txt"
has "$tmp/err" "the document is empty" "empty document message"
printf '  \n\n\t\n' >"$tmp/blank.txt"
run 1 "blank document" "${DOC[@]}" "$tmp/blank.txt" --strategy map-reduce
run 0 "stdin" bash -c "\"$CLI\" doc - -m \"$MODEL\" -c 512 -t 1 -n 16 --json < \"$ARTICLE\""
check 'cover "$tmp/out" "$ARTICLE" map-reduce' "stdin"
# a short document: one pass
printf '租户应在每月五日前支付租金。The landlord repairs the roof.\n' >"$tmp/short.txt"
run 0 "short document" "${DOC[@]}" "$tmp/short.txt" --json
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"strategy\"]==\"single\" and len(d[\"chunks\"])==1" "$tmp/out"' "short: not one pass"
run 1 "single refuses a long document" "${DOC[@]}" "$ARTICLE" --strategy single
check 'grep -q "does not fit one prompt" "$tmp/err"' "single message: $(head -c 200 "$tmp/err")"
# templates and a free-text task
printf '## map\nPart {part}: {text}\nKey points:\n## combine\n{answers}\nAll key points:\n' >"$tmp/t.txt"
run 0 "--template" "${DOC[@]}" "$ARTICLE" --template "$tmp/t.txt" --json
check 'cover "$tmp/out" "$ARTICLE" map-reduce' "template"
run 0 "free-text task" "${DOC[@]}" "$tmp/short.txt" --task "提取关键条款"
run 0 "qa" "${DOC[@]}" "$tmp/short.txt" --task qa --question "Who repairs the roof?"

# usage and failures
run 0 "--help" "$CLI" doc --help
check 'grep -q "map-reduce" "$tmp/out"' "help text"
run 2 "no document" "${DOC[@]}"
run 2 "qa without a question" "${DOC[@]}" "$ARTICLE" --task qa
run 2 "bad strategy" "${DOC[@]}" "$ARTICLE" --strategy tree
run 2 "bad -n" "${DOC[@]}" "$ARTICLE" -n 0
run 1 "missing document" "${DOC[@]}" "$tmp/none.txt"
run 1 "missing template" "${DOC[@]}" "$ARTICLE" --template "$tmp/none.t"
run 1 "context too small for the prompt" "$CLI" doc -m "$MODEL" -c 64 -t 1 -n 40 "$ARTICLE"

finish doc.sh
