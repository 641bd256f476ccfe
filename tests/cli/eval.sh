#!/usr/bin/env bash
# longctx eval end to end on the real tiny aidreams260K.gguf (a story model:
# its accuracy is not asserted): every task's --json parses (python3) and has
# the contract's keys, the same seed gives byte-identical JSON (--no-timings),
# CSV and SVG files are written and the SVGs parse as XML with the promised
# structure (cells, labels, a line per layer), and bad input exits non-zero
# with a message (2 for usage errors).
# Usage (from ctest): eval.sh CLI SHARED_DIR SOURCE_DIR; exit 77 without SHARED_DIR.
set -u
CLI=$1
SHARED=${2:-}
[ -n "$SHARED" ] && [ -d "$SHARED/models" ] || { echo "SKIP: no shared models"; exit 77; }
M=$SHARED/models/aidreams260K.gguf
. "$(dirname "$0")/lib.bash"
py() { # description python-code (reads files in $tmp)
    checks=$((checks + 1))
    if command -v python3 >/dev/null; then
        (cd "$tmp" && python3 -c "$2") >"$tmp/py" 2>&1 || fail "$1: $(tail -c 600 "$tmp/py")"
    fi
}
E="$CLI eval"
T="-t 1"

# --- help and usage errors (exit 2) ------------------------------------------------
run 0 "--help" $E --help
has "$tmp/out" "usage: longctx eval TASK" "help text"
has "$tmp/out" "--rope-scaling" "help lists the RoPE flags"
run 0 "listed in longctx --help" "$CLI" --help
has "$tmp/out" "eval" "command list"
run 2 "no task" $E
run 2 "unknown task" $E nosuch -m "$M"
has "$tmp/err" "unknown task" "names the problem"
run 2 "unknown option" $E passkey -m "$M" --bogus
run 2 "no model" $E passkey --lengths 128
has "$tmp/err" "no model" "says what is missing"
run 2 "depth above 100%" $E passkey -m "$M" --lengths 128 --depths 0,150
has "$tmp/err" "0..100%" "depth range in the message"
run 2 "negative depth" $E passkey -m "$M" --lengths 128 --depths -5%
run 2 "zero depths" $E passkey -m "$M" --lengths 128 --depths 0
run 2 "bad lengths" $E passkey -m "$M" --lengths 1K,x
run 2 "zero trials" $E passkey -m "$M" --lengths 128 --trials 0
run 2 "queries above keys" $E niah -m "$M" --variant multiquery --keys 2 --queries 3 --lengths 256
run 2 "unknown variant" $E niah -m "$M" --variant nope --lengths 256
run 2 "--keys with single" $E niah -m "$M" --keys 3 --lengths 256
run 2 "ppl without a file" $E ppl -m "$M"
run 2 "ppl option on passkey" $E passkey -m "$M" --stride 4
run 2 "--probes on passkey" $E passkey -m "$M" --probes -1
run 2 "attention list outside ppl" $E passkey -m "$M" --attn flash,naive
run 2 "stride not below the window" $E ppl -m "$M" -f "$SHARED/models/README.md" --lengths 64 --stride 64
run 2 "bad RoPE scaling" $E passkey -m "$M" --lengths 128 --rope-scaling sideways
run 2 "vt heat map without depths" $E vt -m "$M" --lengths 256 --svg "$tmp/x.svg"

# --- bad input (exit 1, with a message) ---------------------------------------------
run 1 "missing model" $E passkey -m "$tmp/none.gguf" --lengths 128
has "$tmp/err" "none.gguf" "names the missing model"
run 1 "unreadable text" $E ppl -m "$M" -f "$tmp/none.txt"
has "$tmp/err" "cannot open" "says the text cannot be opened"
: >"$tmp/empty.txt"
run 1 "empty haystack" $E passkey -m "$M" --lengths 128 --haystack "$tmp/empty.txt" $T
has "$tmp/err" "no sentence" "says the haystack is empty"
run 1 "empty text" $E ppl -m "$M" -f "$tmp/empty.txt"
has "$tmp/err" "nothing to score" "says there is nothing to score"
run 1 "too short for the needle" $E passkey -m "$M" --lengths 30 $T
has "$tmp/err" "tokens" "says how many tokens it needs"
run 1 "beyond memory" $E passkey -m "$M" --lengths 128 -c 2G $T
has "$tmp/err" "memory is available" "says it would not fit, before allocating"
run 1 "length beyond -c" $E passkey -m "$M" --lengths 128 -c 100 $T
has "$tmp/err" "raise -c" "says to raise -c"
run 1 "window longer than the text" $E ppl -m "$M" -f "$SHARED/models/README.md" --lengths 100K
run 1 "retention on linear attention" $E retention -m "$M" --lengths 128 --attn linear $T
has "$tmp/err" "softmax" "says retention needs softmax attention"
printf '1 2 3 999999\n' >"$tmp/bad.tok"
run 1 "token outside the vocabulary" $E ppl -m "$M" --tokens-file "$tmp/bad.tok" --lengths 2

# --- passkey: JSON contract, determinism, CSV, heat map ------------------------------
run 0 "passkey --json" $E passkey -m "$M" --lengths 96,128 --depths 3 --trials 2 --json $T \
    --csv "$tmp/pk.csv" --svg "$tmp/pk.svg" --svg-depth "$tmp/pkd.svg"
cp "$tmp/out" "$tmp/pk.json"
has "$tmp/err" "accuracy % (rows: needle depth" "the table goes to stderr with --json"
py "passkey JSON contract" '
import json
d = json.load(open("pk.json"))
for k in ("task", "model", "settings", "cells", "accuracy", "recall", "trials", "seconds"): assert k in d, k
assert d["task"] == "passkey" and d["model"]["name"] == "aidreams260K" and d["model"]["path"].endswith(".gguf")
s = d["settings"]
for k in ("attn", "rope", "seed", "trials", "ctx", "cache_type_k", "cache_type_v", "lengths", "depths", "margin"): assert k in s, k
for k in ("scaling", "factor", "orig_ctx"): assert k in s["rope"], k
assert s["lengths"] == [96, 128] and s["depths"] == [0, 0.5, 1] and s["trials"] == 2 and s["ctx"] == 132
assert len(d["cells"]) == 6 and d["trials"] == 12
for c in d["cells"]:
    for k in ("length", "depth", "trials", "accuracy", "recall", "seconds"): assert k in c, k
    assert c["trials"] == 2 and 0 <= c["accuracy"] <= 1
assert [(c["length"], c["depth"]) for c in d["cells"]] == [(96, 0), (96, 0.5), (96, 1), (128, 0), (128, 0.5), (128, 1)]
mean = sum(c["accuracy"] for c in d["cells"]) / 6
assert abs(mean - d["accuracy"]) < 1e-9
'
py "passkey CSV" '
rows = open("pk.csv").read().split("\n")
assert rows[0] == "length,depth,trials,accuracy,recall,tokens,needle_depth,seconds", rows[0]
assert len([r for r in rows[1:] if r]) == 6
'
py "heat map SVG" '
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse("pk.svg").getroot()
assert root.tag == ns + "svg"
rects = [e for e in root.iter(ns + "rect") if e.get("class") == "cell"]
labels = [e.text for e in root.iter(ns + "text") if e.get("class") == "cell-label"]
cols = [e.text for e in root.iter(ns + "text") if e.get("class") == "col-label"]
rows = [e.text for e in root.iter(ns + "text") if e.get("class") == "row-label"]
assert len(rects) == 6 and len(labels) == 6, (len(rects), len(labels))
assert cols == ["96", "128"] and rows == ["0%", "50%", "100%"], (cols, rows)
assert all(l.isdigit() for l in labels)
ET.parse("pkd.svg")
'
run 0 "passkey again, no timings" $E passkey -m "$M" --lengths 96,128 --depths 3 --trials 2 --json --no-timings $T
cp "$tmp/out" "$tmp/a.json"
run 0 "and once more" $E passkey -m "$M" --lengths 96,128 --depths 3 --trials 2 --json --no-timings $T
checks=$((checks + 1))
cmp -s "$tmp/a.json" "$tmp/out" || fail "the same seed gives different JSON"
has "$tmp/a.json" "\"accuracy\"" "JSON without timings"
checks=$((checks + 1))
! grep -q '"seconds"' "$tmp/a.json" || fail "--no-timings still writes seconds"
run 0 "without prefix reuse" $E passkey -m "$M" --lengths 96,128 --depths 3 --trials 2 --json --no-timings \
    --no-prefix-reuse $T
py "prefix reuse changes no result" '
import json
a, b = json.load(open("a.json")), json.load(open("out"))
assert a["cells"] == b["cells"], "cells differ"
assert a["tokens_reused"] > 0 and b["tokens_reused"] == 0
'
run 0 "verbose prints every trial" $E passkey -m "$M" --lengths 128 --depths 2 -v $T
has "$tmp/err" "expected \"" "the expected answer"
run 0 "the table goes to stdout without --json" $E passkey -m "$M" --lengths 128 --depths 50% $T
has "$tmp/out" "overall: accuracy" "summary line"
run 0 "RoPE scaling beyond the training context" $E passkey -m "$M" --lengths 256 --depths 2 --rope-scaling yarn \
    --rope-scale 2 --json $T
py "RoPE settings in the JSON" '
import json
s = json.load(open("out"))["settings"]["rope"]
assert s["scaling"] == "yarn" and s["factor"] == 2 and s["orig_ctx"] == 128, s
'

# --- niah variants and vt ------------------------------------------------------------
for v in single multikey multivalue multiquery; do
    extra=""
    [ "$v" = multikey ] && extra="--keys 2"
    [ "$v" = multivalue ] && extra="--values 2"
    [ "$v" = multiquery ] && extra="--keys 3 --queries 2"
    run 0 "niah $v" $E niah -m "$M" --variant $v $extra --lengths 256 --depths 2 --json $T
    cp "$tmp/out" "$tmp/niah.json"
    py "niah $v JSON" "
import json
d = json.load(open('niah.json'))
assert d['task'] == 'niah' and d['settings']['variant'] == '$v' and len(d['cells']) == 2
assert all(0 <= c['recall'] <= 1 for c in d['cells'])
"
done
run 0 "vt" $E vt -m "$M" --lengths 256 --chains 2 --hops 2 --trials 2 --json --csv "$tmp/vt.csv" $T
cp "$tmp/out" "$tmp/vt.json"
py "vt JSON" '
import json
d = json.load(open("vt.json"))
s = d["settings"]
assert d["task"] == "vt" and s["chains"] == 2 and s["hops"] == 2 and s["depths"] == "random"
assert len(d["cells"]) == 1 and "depth" not in d["cells"][0] and d["cells"][0]["trials"] == 2
'
has "$tmp/vt.csv" "256,,2," "vt CSV leaves the depth empty"

# --- ppl ------------------------------------------------------------------------------
"$CLI" gen-data -m "$M" --task filler -c 1200 --seed 4 | sed -n 2p >"$tmp/story.txt"
run 0 "ppl curve, two methods" $E ppl -m "$M" -f "$tmp/story.txt" --lengths 32,64,128 --attn flash,window:16 --json \
    --csv "$tmp/ppl.csv" --svg "$tmp/ppl.svg" $T
cp "$tmp/out" "$tmp/ppl.json"
py "ppl JSON contract" '
import json, math
d = json.load(open("ppl.json"))
for k in ("task", "model", "settings", "cells", "ppl", "tokens"): assert k in d, k
assert d["task"] == "ppl" and len(d["cells"]) == 6 and len(d["settings"]["methods"]) == 2
n = 0; nll = 0.0
for c in d["cells"]:
    for k in ("method", "length", "stride", "tokens", "ppl", "loss", "buckets"): assert k in c, k
    assert abs(math.exp(c["loss"]) - c["ppl"]) < 1e-6 * c["ppl"]
    assert c["stride"] == c["length"] - 1
    assert sum(b["tokens"] for b in c["buckets"]) == c["tokens"] == d["settings"]["file_tokens"] - 1
    assert abs(sum(b["tokens"] * b["loss"] for b in c["buckets"]) / c["tokens"] - c["loss"]) < 1e-6
    assert c["buckets"][0]["lo"] == 1 and c["buckets"][-1]["hi"] >= c["length"] - 1
    n += c["tokens"]; nll += c["tokens"] * c["loss"]
assert abs(math.exp(nll / n) - d["ppl"]) < 1e-6 * d["ppl"]
'
py "ppl SVG: a line per method" '
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse("ppl.svg").getroot()
assert len(list(root.iter(ns + "polyline"))) == 2
'
has "$tmp/ppl.csv" "method,length,stride,windows,tokens,ppl,loss,loss_1_1" "ppl CSV header"
"$CLI" tokenize -m "$M" -f "$tmp/story.txt" >"$tmp/story.tok" 2>/dev/null
if [ -s "$tmp/story.tok" ] && grep -qE '^[0-9 ,]+$' "$tmp/story.tok"; then
    run 0 "ppl from a token file" $E ppl -m "$M" --tokens-file "$tmp/story.tok" --lengths 64 --stride 16 --json $T
    has "$tmp/out" "\"stride\":16" "stride echoed"
fi

# --- retention ------------------------------------------------------------------------
run 0 "retention" $E retention -m "$M" --lengths 128 --depths 3 --probes -1,40 --json --svg "$tmp/ret.svg" \
    --svg-depth "$tmp/lim.svg" --csv "$tmp/ret.csv" $T
cp "$tmp/out" "$tmp/ret.json"
py "retention JSON contract" '
import json
d = json.load(open("ret.json"))
for k in ("task", "model", "settings", "cells", "accuracy", "layers", "buckets", "rows"): assert k in d, k
assert d["task"] == "retention" and d["rows"] == 6 and len(d["layers"]) == 4 and len(d["cells"]) == 3
for L in d["layers"]:
    assert len(L["heads"]) == 4
    for h in L["heads"]: assert abs(sum(h) - 1) < 1e-6, sum(h)
    assert 0 <= L["needle_mass"] <= 1
'
py "retention SVGs" '
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse("ret.svg").getroot()
assert len(list(root.iter(ns + "polyline"))) == 4
ET.parse("lim.svg")
'
has "$tmp/ret.csv" "layer,head,bucket,lo,hi,keys,mass,needle_mass" "retention CSV header"

finish eval.sh
