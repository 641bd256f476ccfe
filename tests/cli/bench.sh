#!/usr/bin/env bash
# The benchmark commands' machine-readable contract: `bench peak --json`,
# `bench attn --json` and `bench matmul --json` print valid JSON with the documented keys; bad flags
# fail with status 2. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cli" bench peak --json --buffer 64M > "$tmp/peak.json"
python3 - "$tmp/peak.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("fma_gflops_1t", "fma_gflops", "read_gbs", "read_gbs_1t", "threads", "isa",
          "fma_gflops_1t_avx2", "fma_gflops_avx2", "fma_gflops_1t_avx512", "fma_gflops_avx512"):
    assert k in d, k
assert d["fma_gflops"] > 0 and d["read_gbs"] > 0, d
# the headline peak is the best tier's (the one percentages use), the tier named by isa
if d["isa"] == "avx512":
    assert d["fma_gflops"] == d["fma_gflops_avx512"] > 0 and d["fma_gflops_avx2"] > 0, d
elif d["isa"] == "avx2":
    assert d["fma_gflops"] == d["fma_gflops_avx2"] > 0 and d["fma_gflops_avx512"] == 0, d
else:
    assert d["fma_gflops_avx2"] == 0 and d["fma_gflops_avx512"] == 0, d
PY

"$cli" bench attn --method naive,flash,window:16:2 --n 7,65 --d 32 --heads 4 --kv-heads 2 --both \
  --reps 1 --no-peak --json > "$tmp/attn.json" 2> "$tmp/attn.table"
"$cli" bench attn --method naive --n 100 --d 64 --decode --kv-type f16 --reps 1 --no-peak --csv "$tmp/attn.csv" > /dev/null
"$cli" bench attn --method naive --n 1M --d 64 --reps 1 --no-peak --json > "$tmp/refused.json" 2>/dev/null
python3 - "$tmp" <<'PY'
import json, sys, csv
t = sys.argv[1]
cells = json.load(open(t + "/attn.json"))
assert len(cells) == 3 * 2 * 2, len(cells)
keys = ("method", "n_q", "n_kv", "d", "heads", "kv_heads", "causal", "kv_type", "threads", "seconds",
        "gflops", "workspace_bytes", "rss_bytes", "error")
for c in cells:
    for k in keys:
        assert k in c, (k, c)
    if c["method"] == "naive":
        assert c["error"] is None and c["seconds"] > 0 and c["gflops"] > 0, c
    assert c["heads"] == 4 and c["kv_heads"] == 2 and c["d"] == 32
    assert (c["error"] is None) == (c["seconds"] is not None), c
rows = list(csv.DictReader(open(t + "/attn.csv")))
assert len(rows) == 1 and rows[0]["n_q"] == "1" and rows[0]["kv_type"] == "f16", rows
ref = json.load(open(t + "/refused.json"))
assert ref[0]["error"] and "TiB" in ref[0]["error"], ref  # NAIVE says how much it would need
assert ref[0]["workspace_bytes"] == 4 << 40, ref
PY

"$cli" bench matmul --type q4_0,q4_K,iq4_xs,mxfp4,f16 --rows 13 --cols 512 -n 1,5 -t 1,2 --reps 2 --no-peak \
  --json > "$tmp/mm.json"
python3 - "$tmp/mm.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rows"] == 13 and d["cols"] == 512, d
cells = d["cells"]
assert len(cells) == 5 * 2 * 2, len(cells)
for c in cells:
    for k in ("type", "n_tok", "threads", "reps", "seconds_min", "seconds_median", "seconds_max", "gbs", "gflops",
              "cpu_gflops", "weight_bytes"):
        assert k in c, (k, c)
    assert 0 < c["seconds_min"] <= c["seconds_median"] <= c["seconds_max"], c
    assert c["reps"] == 2, c
assert [c["weight_bytes"] for c in cells if c["type"] == "q4_K"][0] == 13 * 2 * 144
PY

set +e
"$cli" bench matmul --type q4_K --cols 100 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "cols not whole q4_K blocks must exit 2"; exit 1; }
"$cli" bench matmul --type q9_9 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "unknown type must exit 2"; exit 1; }
"$cli" bench attn --n abc > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad --n must exit 2"; exit 1; }
"$cli" bench attn --kv-type bf16 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad --kv-type must exit 2"; exit 1; }
"$cli" bench nope > /dev/null 2>&1; [ $? -eq 2 ] || { echo "unknown subject must exit 2"; exit 1; }
"$cli" analyze --heads 3 --kv-heads 2 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad GQA must exit 2"; exit 1; }
set -e
"$cli" analyze --layers 2 --heads 4 --n 1K,4K --json > "$tmp/an.json"
python3 -c "
import json,sys; a=json.load(open('$tmp/an.json'))
assert a[0]['n']==1024 and a[0]['article_matrix_bytes']==1024*1024*2, a[0]
assert a[1]['naive_train_bytes']==2*4*4096*4096*2, a[1]
"
echo "bench cli: ok"
