#!/usr/bin/env bash
# `longctx report --quick --test-tiny` (random tiny stand-in models, tiny
# lengths: seconds) writes index.html, report.md and report.json: the JSON
# parses, has every section with its state and data, and equals what --json
# prints; every SVG parses as XML; the HTML parses, has no script and no
# external resource; report.md refers only to figures that exist. Usage
# errors exit 2. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a shared machine: OpenMP threads that spin while waiting would slow everyone
export OMP_WAIT_POLICY=PASSIVE

"$cli" report --help | grep -q -- "--test-tiny"

"$cli" report --quick --test-tiny -t 2 -o "$tmp/rep" --json > "$tmp/stdout.json" 2> "$tmp/stderr"
grep -q "report written to $tmp/rep/index.html" "$tmp/stderr"

python3 - "$tmp/rep" "$tmp/stdout.json" <<'PY'
import glob, json, os, re, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

rep, stdout_json = sys.argv[1], sys.argv[2]
for f in ("index.html", "report.md", "report.json"):
    assert os.path.getsize(os.path.join(rep, f)) > 0, f

d = json.load(open(os.path.join(rep, "report.json")))
assert d == json.load(open(stdout_json)), "--json prints report.json"
assert d["report"] == "longctx" and d["mode"] == "tiny", d["mode"]
for k in ("version", "date", "command", "wall_seconds", "threads", "models", "sections"):
    assert k in d, k
assert d["threads"] == 2
assert "--test-tiny" in d["command"]
secs = d["sections"]
for name in ("memory", "techniques", "extrapolation", "ppl_retention", "machine"):
    s = secs[name]
    assert s["state"] in ("complete", "partial", "skipped"), (name, s["state"])
    assert isinstance(s["notes"], list) and s["seconds"] >= 0, name
for m in ("default", "yarn8", "linear", "speed"):
    assert d["models"][m]["stand_in"] and d["models"][m]["available"], m

mem = secs["memory"]
fams = {f["name"]: f for f in mem["families"]}
assert {"llama-3.1-8b", "gemma-3-12b", "gpt-oss-20b", "qwen3-next-80b-a3b"} <= set(fams), sorted(fams)
g = fams["gemma-3-12b"]["kv_bytes_f16"][1]
assert g["n"] == 131072 and 0 < g["family"] < g["all_global"] / 4, g   # 5 window : 1 global
assert fams["llama-3.1-8b"]["scaled_model_measured_equals_analytic"] is True
assert "Table 1d" in open(os.path.join(rep, "report.md")).read()
ns = [r["n"] for r in mem["rows"]]
for n in (2048, 8192, 32768, 100000, 1 << 20):  # the article's lengths
    assert n in ns, n
for r in mem["rows"]:
    assert r["article_formula_bytes"] == r["n"] * r["n"] * 2
    for meth in ("naive", "flash", "window", "linear", "chunked"):
        c = r["methods"][meth]
        assert c["measured"] == ("rss_growth_bytes" in c), (r["n"], meth)
        assert c["measured"] or c["why"], (r["n"], meth)
big = [r for r in mem["rows"] if r["n"] == 1 << 20][0]
assert big["methods"]["naive"]["score_matrix_bytes"] == 4 << 40 and not big["methods"]["naive"]["measured"]
assert "refused" in big["methods"]["naive"]["why"]
assert any(r["methods"]["flash"]["measured"] for r in mem["rows"]), "some cell measured"
assert len(mem["real_models"]) == 2 and mem["real_models"][0]["layers"] == 32

tq = secs["techniques"]
names = [t["name"] for t in tq["techniques"]]
assert names == ["full", "window", "linear", "chunked", "hybrid"], names
full = tq["techniques"][0]
assert not full["unbounded_llama2_7b"] and 1000 < full["max_context_llama2_7b"] < 4096, full
assert tq["techniques"][1]["unbounded_llama2_7b"] and tq["techniques"][2]["unbounded_llama2_7b"]
for t in tq["techniques"]:
    assert t["article"]["max_context"] and "passkey" in t["retention"]
assert full["speed"][0]["ran"] and full["speed"][0]["prefill_tok_s"] > 0

ex = secs["extrapolation"]
assert [m["name"] for m in ex["methods"]] == ["none", "linear", "ntk", "dynamic-ntk", "yarn", "yarn8 model"]
assert ex["ctx_train"] == 64
none = ex["methods"][0]["passkey"]
assert none["lengths"][0]["ran"] and 0 <= none["lengths"][0]["accuracy"] <= 1
assert [l["length"] for l in none["lengths"]] == [64, 128, 256, 512, 1024]

pr = secs["ppl_retention"]
assert len(pr["perplexity"]["methods"]) == 3
w0 = pr["perplexity"]["methods"][0]["windows"][0]
assert w0["ran"] and w0["ppl"] > 1, w0
assert "ran" in pr["retention"]

mach = secs["machine"]
for k in ("cpu", "logical_cpus", "peak", "date", "version", "load_average_start"):
    assert k in mach, k
assert mach["peak"]["fma_gflops"] > 0 and mach["peak"]["read_gbs"] > 0

# every SVG is XML with an svg root
svgs = sorted(glob.glob(os.path.join(rep, "*.svg")))
assert len(svgs) >= 5, svgs
for f in svgs:
    root = ET.parse(f).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", (f, root.tag)

# report.md: figures exist
md = open(os.path.join(rep, "report.md"), encoding="utf-8").read()
figs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
assert figs and all(os.path.exists(os.path.join(rep, f)) for f in figs), figs
assert set(os.path.basename(f) for f in svgs) == set(figs), "every figure referenced once"
for h in ("## 1. ", "## 2. ", "## 3. ", "## 4. ", "## 5. "):
    assert h in md, h

# index.html: parses, tags balance, no script, nothing external, figures inline
VOID = {"meta", "br", "hr", "img", "link", "input", "col", "area", "base", "wbr", "source"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svg, self.errors = [], 0, []
    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.errors.append("script")
        for k, v in attrs:
            if k in ("src", "href") and v and re.match(r"(?i)\s*(https?:)?//", v):
                self.errors.append("external %s=%s" % (k, v))
        if tag == "svg":
            self.svg += 1
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()
html = open(os.path.join(rep, "index.html"), encoding="utf-8").read()
p = Check()
p.feed(html)
p.close()
assert not p.errors, p.errors[:5]
assert not p.stack, p.stack
assert p.svg == len(svgs), (p.svg, len(svgs))
assert "<style>" in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
print("report: ok (%d figures, %.1f s)" % (len(svgs), d["wall_seconds"]))
PY

set +e
"$cli" report --bogus > /dev/null 2>&1; [ $? -eq 2 ] || { echo "unknown option must exit 2"; exit 1; }
"$cli" report -t 0 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "-t 0 must exit 2"; exit 1; }
"$cli" report --time-budget abc > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad budget must exit 2"; exit 1; }
"$cli" report -o > /dev/null 2>&1; [ $? -eq 2 ] || { echo "-o without a value must exit 2"; exit 1; }
touch "$tmp/afile"
"$cli" report --test-tiny --time-budget 1 -o "$tmp/afile" > /dev/null 2>&1; [ $? -eq 1 ] || { echo "output into a file must exit 1"; exit 1; }
set -e
echo "report cli: ok"
