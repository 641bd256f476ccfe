#!/usr/bin/env bash
# `longctx report --quick --test-tiny` (random tiny stand-in models, tiny
# lengths: seconds) writes index.html, report.md and report.json: the JSON
# parses, has every section with its state and data, and equals what --json
# prints; every SVG parses as XML; the HTML parses, has no script and no
# external resource; report.md refers only to figures that exist. The HTML is
# lang="en" with the article's title in a lang="zh" span and a CJK font for
# it; chart titles fit their SVG's width; the memory chart has binary units
# and an x range from the lengths run; "make it again" is the README's quick
# start. A run with a 1 s budget shows "not run" (never 0 B) for what it
# skipped. Usage errors exit 2. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a shared machine: OpenMP threads that spin while waiting would slow everyone
export OMP_WAIT_POLICY=PASSIVE

help=$("$cli" report --help)
grep -q -- "--test-tiny" <<< "$help"

"$cli" report --quick --test-tiny -t 2 -o "$tmp/rep" --json > "$tmp/stdout.json" 2> "$tmp/stderr"
grep -q "report written to $tmp/rep/index.html" "$tmp/stderr"

python3 - "$tmp/rep" "$tmp/stdout.json" "$3" <<'PY'
import glob, json, os, re, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

rep, stdout_json, src_dir = sys.argv[1], sys.argv[2], sys.argv[3]
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
for name in ("memory", "techniques", "extrapolation", "ppl_retention", "machine", "layouts"):
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

ly = secs["layouts"]
lays = {l["name"]: l for l in ly["layouts"]}
assert list(lays) == ["full", "sinks_window", "hybrid_deltanet"], list(lays)
assert lays["full"]["layers_per_kind"] == {"global": 4, "window": 0, "deltanet": 0}
assert lays["sinks_window"]["layers_per_kind"] == {"global": 2, "window": 2, "deltanet": 0}
assert lays["hybrid_deltanet"]["layers_per_kind"] == {"global": 1, "window": 0, "deltanet": 3}
for l in lays.values():
    ns = [c["n"] for c in l["cells"]]
    assert ns[0] == 256 and ns[-1] == 1 << 20, ns
    assert l["cells"][0]["measured"] and l["cells"][0]["ms_per_token"] > 0, l["cells"][0]
    assert all("fit_ms_per_token" in c for c in l["cells"]), "a fit at every length"
    assert all(c["measured"] or c["why"] for c in l["cells"])
    assert l["fit"]["measured_points"] == sum(c["measured"] for c in l["cells"]) >= 2
full_c, win_c, hyb_c = (lays[k]["cells"] for k in ("full", "sinks_window", "hybrid_deltanet"))
# exact memory: full KV grows with n on every layer (4 x n x 2 x 32 f16 = 256 B/token + 12 B/slot)
for a, b in zip(full_c, full_c[1:]):
    assert b["cache_bytes"] - a["cache_bytes"] == (b["n"] - a["n"]) * (4 * 2 * 32 * 2 + 12), (a, b)
assert hyb_c[-1]["cache_bytes"] < win_c[-1]["cache_bytes"] < full_c[-1]["cache_bytes"]
assert len({c["state_bytes"] for c in hyb_c}) == 1 and hyb_c[0]["state_bytes"] > 0, "constant DeltaNet state"
assert len({c["ring_bytes"] for c in win_c[1:]}) == 1 and win_c[1]["ring_bytes"] > 0, "fixed rings"
assert "## 5. Layer layouts" in open(os.path.join(rep, "report.md")).read()

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
for h in ("## 1. ", "## 2. ", "## 3. ", "## 4. ", "## 5. ", "## 6. "):
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

# the page declares its language; the article's Chinese title is marked zh and has a CJK font
assert re.search(r'<html lang="en">', html), "html lang"
assert '<span lang="zh">大模型上下文长度的挑战与突破</span>' in html, "article title in a lang=zh span"
css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
m = re.search(r":lang\(zh\)\{font-family:([^}]*)\}", css)
assert m and re.search(r"CJK|YaHei|PingFang|Hei", m.group(1)), "a CJK font for lang=zh"
assert "*Challenges" not in html, "emphasis rendered, not literal asterisks"

# chart titles fit their SVG: Helvetica's advance widths (per 1000 em), CJK 1 em
HW = [278,278,355,556,556,889,667,191,333,333,389,584,278,333,278,278,556,556,556,556,556,556,556,556,556,556,
      278,278,584,584,584,556,1015,667,667,722,722,667,611,778,722,278,500,667,556,833,722,778,667,778,722,667,
      611,722,667,944,667,667,611,278,278,278,469,556,333,556,556,500,556,556,278,556,556,222,222,500,222,833,
      556,556,556,556,333,500,278,556,500,722,500,500,500,334,260,334,584]
def width(t, px):
    return px * sum(HW[ord(c) - 32] / 1000 if 32 <= ord(c) <= 126 else 1.0 for c in t)
SVGNS = "{http://www.w3.org/2000/svg}"
for f in svgs:
    root = ET.parse(f).getroot()
    W = float(root.get("width"))
    titles = [e for e in root.iter(SVGNS + "text") if e.get("class") == "title" or float(e.get("font-size", 12)) >= 14]
    assert titles, (f, "no title")
    for e in titles:
        w = width(e.text, float(e.get("font-size", 12)))
        assert w <= W, "%s: title %.0f px wide in a %.0f px picture: %s" % (os.path.basename(f), w, W, e.text)

# the memory chart: binary units, x from the shortest to the longest length measured
root = ET.parse(os.path.join(rep, "fig-memory.svg")).getroot()
ticks = [e for g in root.iter(SVGNS + "g") if g.get("fill") == "#333333" for e in g.iter(SVGNS + "text")]
xt = [e.text for e in ticks if e.get("text-anchor") == "middle"]
yt = [e.text for e in ticks if e.get("text-anchor") == "end"]
assert yt and all(re.fullmatch(r"\d+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)", t) for t in yt), yt
def tokens(t):
    m = re.fullmatch(r"(\d+)([KM]?)", t)
    assert m, t
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1 << 20}[m.group(2)]
xs = [tokens(t) for t in xt]
assert xs == sorted(xs) and len(xs) >= 3, xt
assert min(ns) / 2 <= xs[0] and xs[-1] <= 2 * max(ns), (xt, min(ns), max(ns))

# "make it again" is the README's quick start, word for word
readme = open(os.path.join(src_dir, "README.md"), encoding="utf-8").read()
readme_cmds = set()
for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
    readme_cmds |= {l.split("#")[0].strip() for l in block.splitlines()} - {""}
again = md.split("To make it again", 1)[1]
block = re.search(r"```\n(.*?)```", again, re.S).group(1)
cmds = [l.split("#")[0].strip() for l in block.splitlines() if l.split("#")[0].strip()]
assert cmds and all(c in readme_cmds for c in cmds), (cmds, "not in the README's commands")
print("report: ok (%d figures, %.1f s)" % (len(svgs), d["wall_seconds"]))
PY

# a run too short for most cells: every cell it skipped says "not run", none shows 0 B or 0 tok/s
"$cli" report --test-tiny --time-budget 1 -t 2 -o "$tmp/short" > /dev/null 2> "$tmp/short.err"
python3 - "$tmp/short" <<'PY'
import json, os, re, sys
rep = sys.argv[1]
md = open(os.path.join(rep, "report.md"), encoding="utf-8").read()
rows = [l for l in md.splitlines() if l.startswith("| ") and "not run" in l]
assert rows, "a 1 s budget leaves cells not run"
for l in rows:
    for c in [c.strip() for c in l.strip("|").split("|")]:
        assert not re.search(r"(^|[^\d.])0 B\b", c), ("skipped row shows", c, l)
d = json.load(open(os.path.join(rep, "report.json")))
for t in d["sections"]["techniques"]["techniques"]:
    for sp in t["speed"]:
        assert sp["ran"] or "kv_bytes" not in sp, ("a cell not run has no bytes", t["name"], sp)
assert not re.search(r"\+ 0 B\b", md), "a scratch of nothing reads \"no scratch\", not 0 B"
print("report short run: ok (%d rows with cells not run)" % len(rows))
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
