#!/usr/bin/env bash
# `bench contend`: JSON contract, the wait the CLI applies by itself (GOMP_SPINCOUNT=1000 when the user
# set no OpenMP wait, the user's own otherwise, none with LONGCTX_OMP_DEFAULTS=1), bad flags fail with status 2,
# and no busy process outlives the command. Args: $1 CLI, $2 shared dir, $3 source dir.
set -euo pipefail
cli=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cli" convert --random "$tmp/m.gguf" --dim 64 --hidden 128 --layers 2 --heads 4 --vocab 256 --ctx 256 \
  --type f16 > /dev/null
run() { "$cli" bench contend -m "$tmp/m.gguf" --ctx 8 -n 4 --reps 2 --busy 1 -t 2 --json; }
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u KMP_BLOCKTIME -u LONGCTX_OMP_DEFAULTS bash -c "$(declare -f run); cli=$cli tmp=$tmp; run" > "$tmp/a.json"
env -u GOMP_SPINCOUNT -u KMP_BLOCKTIME OMP_WAIT_POLICY=ACTIVE bash -c "$(declare -f run); cli=$cli tmp=$tmp; run" > "$tmp/b.json"
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u KMP_BLOCKTIME LONGCTX_OMP_DEFAULTS=1 bash -c "$(declare -f run); cli=$cli tmp=$tmp; run" > "$tmp/c.json"
python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
a, b, c = (json.load(open(f"{t}/{n}.json")) for n in "abc")
for d in (a, b, c):
    for k in ("threads", "busy", "ctx", "decode_tokens", "reps", "quiet_tok_s_min", "quiet_tok_s_median",
              "quiet_tok_s_max", "loaded_tok_s_min", "loaded_tok_s_median", "loaded_tok_s_max", "slowdown"):
        assert k in d, k
    assert d["busy"] == 1 and d["reps"] == 2 and d["decode_tokens"] == 4
    assert 0 < d["quiet_tok_s_min"] <= d["quiet_tok_s_median"] <= d["quiet_tok_s_max"], d
    assert 0 < d["loaded_tok_s_min"] <= d["loaded_tok_s_median"] <= d["loaded_tok_s_max"], d
    assert abs(d["slowdown"] - d["quiet_tok_s_median"] / d["loaded_tok_s_median"]) < 1e-6 * d["slowdown"], d
assert a["omp_wait_policy"] == "" and a["gomp_spincount"] == "1000", a
assert b["omp_wait_policy"] == "ACTIVE" and b["gomp_spincount"] == "", b
assert c["omp_wait_policy"] == "" and c["gomp_spincount"] == "", c
PY
# the busy children (forks carrying the same command line) are gone
left=$(pgrep -f "$tmp/m.gguf" || true)
[ -z "$left" ] || { echo "busy processes left: $left"; exit 1; }
set +e
"$cli" bench contend -m "$tmp/m.gguf" --busy -1 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "--busy -1 accepted"; exit 1; }
"$cli" bench contend -m "$tmp/m.gguf" --reps 0 > /dev/null 2>&1; [ $? -eq 2 ] || { echo "--reps 0 accepted"; exit 1; }
"$cli" bench contend > /dev/null 2>&1; [ $? -eq 2 ] || { echo "no model accepted"; exit 1; }
echo "bench contend cli: ok"
