#!/usr/bin/env bash
# KV policies from the command line, on the real aidreams260K model:
# eval ppl --kv-policy (streaming perplexity: every token scored once,
# recompute:W beside the policies, --json and --csv), bench kv (checkpoints,
# ratio to the baseline context, constant cache bytes), run with each policy
# past -c, -ctk/-ctv q8_0 refused with the head dim named, usage errors.
# Usage (from ctest): kv.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
MODEL=$SHARED/models/aidreams260K.gguf
if [ ! -f "$MODEL" ]; then
    echo "SKIP: $MODEL is absent"
    exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
# a text of a few thousand tokens
"$CLI" gen-data --task filler -c 3000 -m "$MODEL" 2>/dev/null | tail -n +2 >"$tmp/text.txt"

run 0 "eval ppl --kv-policy list" "$CLI" eval ppl -m "$MODEL" -f "$tmp/text.txt" -t 1 -c 64 --max-tokens 1500 \
    --kv-policy sinks:4:28,window:32,recompute:32,shift:4,h2o:2:14:16 --json --csv "$tmp/s.csv"
check 'python3 - "$tmp/out" <<EOF
import json, sys
d = json.load(open(sys.argv[1]))
assert d["settings"]["mode"] == "stream", d["settings"]
cells = {c["method"]: c for c in d["cells"]}
assert list(cells) == ["sinks:4:28", "window:32", "recompute:32", "shift:4", "h2o:2:14:16"], list(cells)
for m, c in cells.items():
    assert c["tokens"] == 1499, (m, c["tokens"])            # every token after the first, once
    assert sum(b["tokens"] for b in c["buckets"]) == 1499, m
    assert 1 < c["ppl"] < 1000 and c["tokens_per_s"] > 0, (m, c)
assert cells["sinks:4:28"]["slots"] == 4 + 28 + 3 - 1, cells["sinks:4:28"]["slots"]
assert cells["h2o:2:14:16"]["slots"] == 32 and cells["shift:4"]["slots"] == 64
# recompute re-encodes W tokens per token: it evaluates ~33x more
assert cells["recompute:32"]["evaluated"] > 20 * cells["window:32"]["evaluated"]
EOF' "stream JSON"
check '[ "$(wc -l <"$tmp/s.csv")" -eq 6 ] && head -1 "$tmp/s.csv" | grep -q "^method,slots,tokens,ppl"' "stream CSV"
run 0 "eval ppl --kv-policy table" "$CLI" eval ppl -m "$MODEL" -f "$tmp/text.txt" -t 1 -c 64 --max-tokens 800 \
    --kv-policy sinks:4:28,recompute:32
check 'grep -q "sinks:4:28 is [0-9.]*x the speed of recompute:32" "$tmp/out"' "speed-up line: $(tail -2 "$tmp/out")"
# full in the list: a cache for the whole stream (the quality reference)
run 0 "full stream" "$CLI" eval ppl -m "$MODEL" -f "$tmp/text.txt" -t 1 -c 64 --max-tokens 800 --kv-policy full,window:32
check 'grep -q "^full  *800  *799 " "$tmp/out"' "full sized for the stream: $(grep '^full' "$tmp/out")"
run 2 "bad policy in the list" "$CLI" eval ppl -m "$MODEL" -f "$tmp/text.txt" --kv-policy sinks:4:28,ring:3
run 2 "recompute:1" "$CLI" eval ppl -m "$MODEL" -f "$tmp/text.txt" --kv-policy recompute:1

# bench kv: constant cache bytes, a ratio to the baseline
run 0 "bench kv" "$CLI" bench kv -m "$MODEL" --kv-policy window:256 --at 512,8K -n 16 -r 3 -t 1 --json
check 'python3 - "$tmp/out" <<EOF
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["checkpoints"]
assert a["tokens"] == 512 and b["tokens"] >= 8192, (a, b)
assert a["kv_bytes"] == b["kv_bytes"] and a["held"] == b["held"] == 256 + 32 - 1, (a, b)
assert b["rebases"] > a["rebases"] and b["vs_baseline"] > 0, b
EOF' "bench kv JSON"
run 2 "bench kv decreasing checkpoints" "$CLI" bench kv -m "$MODEL" --at 8K,4K

# run under each policy goes past -c; full stops there
for p in window:48 sinks:4:44 shift:8 h2o:4:20:24; do
    run 0 "run --kv-policy $p" "$CLI" run -m "$MODEL" -c 64 -n 200 -t 1 --seed 1 --ignore-eos --kv-policy "$p" -p "Once upon a time"
    check 'grep -q "stopped: length" "$tmp/err"' "$p: $(grep stopped "$tmp/err")"
done
run 0 "run full stops at -c" "$CLI" run -m "$MODEL" -c 64 -n 200 -t 1 --seed 1 --ignore-eos -p "Once upon a time"
check 'grep -q "context full: 64 tokens; raise -c" "$tmp/err"' "full: $(grep stopped "$tmp/err")"
run 1 "q8_0 with head dim 16" "$CLI" run -m "$MODEL" -ctk q8_0 -n 4 -p "Hi"
check 'grep -q "head dim" "$tmp/err"' "q8_0 message: $(head -c 200 "$tmp/err")"
run 1 "sinks with naive attention" "$CLI" run -m "$MODEL" --kv-policy sinks:4:44 --attn naive -n 4 -p "Hi"
run 2 "bad --kv-policy" "$CLI" run -m "$MODEL" --kv-policy sinks:4 -n 4 -p "Hi"
run 2 "a list outside eval" "$CLI" run -m "$MODEL" --kv-policy sinks:4:44,window:8 -n 4 -p "Hi"

finish kv.sh
