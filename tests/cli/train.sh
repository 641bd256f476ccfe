#!/usr/bin/env bash
# longctx train / plot / bench train end to end: usage errors and exit codes;
# a toy run with CSV log and validation; a run stopped at step 5 and resumed
# equals the uninterrupted run (the CSV loss columns, bit for bit); Ctrl-C
# saves a checkpoint that resumes; checkpoints load in `longctx run` and
# `longctx info`; task-mixture (with --eos-weight and --len-jitter, which a
# resume must repeat) and text (BPE) data; --init with YaRN;
# resume refusals; the SVG plot parses as XML (python3's xml.etree when
# present); bench train --json.
# Usage (from ctest): train.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_rc() { # expected-rc description command...
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, want $want ($(tail -c 400 "$tmp/err"))"
}
contains() { grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"; }
have_python() { command -v python3 >/dev/null 2>&1; }
export OMP_WAIT_POLICY=PASSIVE
TOY="--data toy:reverse --vocab 16 --dim 32 --layers 2 --heads 4 --kv-heads 2 -c 24 -b 4 -t 2 --lr 3e-3"

# ---- usage errors -----------------------------------------------------------
expect_rc 0 "train --help" "$CLI" train --help
contains "$tmp/out" "--attn-backward" "help lists flags"
contains "$tmp/out" "--rope-scaling" "help lists the rope flags"
expect_rc 2 "no --data" "$CLI" train -o "$tmp/x.gguf"
expect_rc 2 "no -o" "$CLI" train --data toy:copy
expect_rc 2 "unknown flag" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --bogus
expect_rc 2 "bad number" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --steps lots
expect_rc 2 "bad backward" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --attn-backward slow
expect_rc 2 "resume and init" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --resume a.gguf --init b.gguf
expect_rc 1 "bad shape" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --heads 3 --kv-heads 2
expect_rc 1 "untrainable attention" "$CLI" train --data toy:copy -o "$tmp/x.gguf" --attn linear:favor
expect_rc 1 "unknown task" "$CLI" train --data "nosuchtask:1" -o "$tmp/x.gguf"
expect_rc 1 "missing text file" "$CLI" train --data "$tmp/nope.txt" -o "$tmp/x.gguf"
contains "$tmp/err" "no such file" "missing file named"
expect_rc 1 "unwritable output folder" "$CLI" train --data toy:copy -o "$tmp/no/such/dir/x.gguf"
contains "$tmp/err" "cannot write" "output folder named"
[ -f "$tmp/x.gguf" ] && fail "a refused run wrote a checkpoint"

# ---- one run: log, validation, checkpoint -----------------------------------
expect_rc 0 "toy run" "$CLI" train $TOY --steps 12 --eval-every 4 --eval-batches 2 --log "$tmp/one.csv" \
    -o "$tmp/one.gguf"
contains "$tmp/err" "validation loss" "validation printed"
contains "$tmp/err" "saved" "save printed"
[ -f "$tmp/one.gguf" ] && [ -f "$tmp/one.gguf.optim" ] || fail "checkpoint and sidecar written"
head -1 "$tmp/one.csv" | grep -qx "step,tokens,loss,lr,grad_norm,seconds,val_loss" || fail "csv header"
[ "$(wc -l <"$tmp/one.csv")" -eq 13 ] || fail "csv rows: $(wc -l <"$tmp/one.csv")"
[ "$(awk -F, 'NR > 1 && $7 != ""' "$tmp/one.csv" | wc -l)" -eq 3 ] || fail "val_loss at steps 4, 8, 12"

# ---- stopped at 5, resumed: the same run ------------------------------------
mkdir -p "$tmp/2" # same file name as one.gguf: general.name is the file stem
expect_rc 0 "stop at 5" "$CLI" train $TOY --steps 12 --eval-every 4 --eval-batches 2 --stop-at 5 \
    --log "$tmp/two.csv" -o "$tmp/2/one.gguf"
contains "$tmp/err" "stopped at step 5 of 12" "stop message"
expect_rc 0 "resume" "$CLI" train --resume "$tmp/2/one.gguf" --data toy:reverse -t 2 --eval-every 4 \
    --eval-batches 2 --log "$tmp/two.csv" -o "$tmp/2/one.gguf"
contains "$tmp/err" "(from 5)" "resumed at step 5"
cut -d, -f1-5,7 "$tmp/one.csv" >"$tmp/a"
cut -d, -f1-5,7 "$tmp/two.csv" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "stopped+resumed log differs from one run: $(diff "$tmp/a" "$tmp/b" | head -5)"
cmp -s "$tmp/one.gguf" "$tmp/2/one.gguf" || fail "stopped+resumed checkpoint differs from one run"
cmp -s "$tmp/one.gguf.optim" "$tmp/2/one.gguf.optim" || fail "stopped+resumed optimizer state differs from one run"

# ---- refusals on resume -----------------------------------------------------
expect_rc 1 "resume on other data" "$CLI" train --resume "$tmp/one.gguf" --data toy:copy -o "$tmp/x.gguf"
contains "$tmp/err" "another stream" "foreign data stream named"
expect_rc 2 "resume with a new shape" "$CLI" train --resume "$tmp/one.gguf" --data toy:reverse --dim 64 -o "$tmp/x.gguf"
cp "$tmp/one.gguf" "$tmp/c.gguf"
cp "$tmp/one.gguf.optim" "$tmp/c.gguf.optim"
printf '\x01' | dd of="$tmp/c.gguf.optim" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_rc 1 "corrupted sidecar" "$CLI" train --resume "$tmp/c.gguf" --data toy:reverse -o "$tmp/x.gguf"
contains "$tmp/err" "checksum" "corruption named"

# ---- Ctrl-C saves, and the checkpoint resumes --------------------------------
"$CLI" train $TOY --steps 1000000 --log "$tmp/int.csv" -o "$tmp/int.gguf" >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 300); do
    [ -f "$tmp/int.csv" ] && [ "$(wc -l <"$tmp/int.csv")" -ge 3 ] && break
    sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "interrupted run exits 0 after saving: $rc ($(tail -c 300 "$tmp/int.err"))"
contains "$tmp/int.err" "interrupted at step" "interrupt message"
n=$(($(wc -l <"$tmp/int.csv") - 1))
expect_rc 0 "resume after Ctrl-C" "$CLI" train --resume "$tmp/int.gguf" --data toy:reverse -t 2 \
    --stop-at $((n + 2)) -o "$tmp/int.gguf"
contains "$tmp/err" "(from $n)" "resumed where Ctrl-C stopped"

# ---- checkpoints in run / info ----------------------------------------------
expect_rc 0 "run the toy model" "$CLI" run -m "$tmp/one.gguf" --prompt-tokens 5,6,7,1 -n 3 --temp 0 --tokens
[ "$(wc -w <"$tmp/out")" -eq 3 ] || fail "run printed 3 token ids: $(cat "$tmp/out")"
expect_rc 0 "info" "$CLI" info "$tmp/one.gguf"
contains "$tmp/out" "dim 32" "info shape"

# ---- task mixture and text data ---------------------------------------------
expect_rc 0 "passkey mixture" "$CLI" train --data "passkey:0.5,filler:0.5" --dim 32 --layers 1 --heads 2 \
    --kv-heads 1 -c 160 -b 2 --steps 2 -t 2 -o "$tmp/pk.gguf"
contains "$tmp/err" "tasks passkey:0.5,filler:0.5" "task data described"
expect_rc 0 "run the passkey model" "$CLI" run -m "$tmp/pk.gguf" -p "The pass key is" -n 2 --temp 0
PJ="--data passkey:1 -c 96 -b 2 -t 2 --eos-weight 4"
PJ_SHAPE="--dim 32 --layers 1 --heads 2 --kv-heads 1"
expect_rc 0 "length jitter" "$CLI" train $PJ $PJ_SHAPE --len-jitter 8 --steps 2 --stop-at 1 -o "$tmp/pj.gguf"
contains "$tmp/err" "rows end 0..8 tokens early" "length jitter described"
expect_rc 1 "resume with another jitter" "$CLI" train --resume "$tmp/pj.gguf" $PJ --len-jitter 4 -o "$tmp/pj.gguf"
contains "$tmp/err" "another stream" "another jitter is another stream"
expect_rc 1 "resume with another EOS weight" "$CLI" train --resume "$tmp/pj.gguf" $PJ --len-jitter 8 --eos-weight 1 \
    -o "$tmp/pj.gguf"
expect_rc 0 "resume with the same data" "$CLI" train --resume "$tmp/pj.gguf" $PJ --len-jitter 8 -o "$tmp/pj.gguf"
expect_rc 1 "jitter past T" "$CLI" train $PJ $PJ_SHAPE --len-jitter 96 --steps 1 -o "$tmp/x.gguf"
contains "$tmp/err" "jitter" "jitter refusal named"
for i in $(seq 1 60); do echo "The quick brown fox $i jumps over the lazy dog. A second sentence, number $i."; done \
    >"$tmp/text.txt"
expect_rc 0 "text with bpe" "$CLI" train --data "$tmp/text.txt" --tokenizer bpe:300 --dim 32 --layers 1 --heads 2 \
    -c 32 -b 2 --steps 2 --eval-every 2 --eval-batches 1 -t 2 -o "$tmp/txt.gguf"
contains "$tmp/err" "held out" "text split described"
expect_rc 0 "run the text model" "$CLI" run -m "$tmp/txt.gguf" -p "The quick" -n 3 --temp 0

# ---- fine-tune with YaRN, linear attention ---------------------------------
expect_rc 0 "init + yarn" "$CLI" train --init "$tmp/one.gguf" --data toy:reverse -c 96 -b 1 --steps 2 -t 2 \
    --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 24 -o "$tmp/yarn.gguf"
contains "$tmp/err" "yarn" "rope described"
expect_rc 0 "info yarn" "$CLI" info "$tmp/yarn.gguf"
contains "$tmp/out" "yarn" "yarn recorded in the checkpoint"
expect_rc 2 "init with a new shape" "$CLI" train --init "$tmp/one.gguf" --data toy:reverse --layers 3 -o "$tmp/x.gguf"
expect_rc 0 "linear attention" "$CLI" train --data toy:copy --vocab 16 --dim 32 --layers 1 --heads 2 -c 70 -b 2 \
    --steps 2 -t 2 --attn linear:elu -o "$tmp/lin.gguf"
expect_rc 0 "naive backward" "$CLI" train --data toy:copy --vocab 16 --dim 32 --layers 1 --heads 2 -c 70 -b 2 \
    --steps 2 -t 2 --attn-backward naive -o "$tmp/naive.gguf"
expect_rc 0 "run linear" "$CLI" run -m "$tmp/lin.gguf" --prompt-tokens 3,4,1 -n 2 --temp 0 --tokens

# ---- plot --------------------------------------------------------------------
expect_rc 0 "plot" "$CLI" plot --csv "$tmp/one.csv" -x step -y loss,val_loss --log-y -o "$tmp/loss.svg"
expect_rc 0 "plot two runs" "$CLI" plot --csv "$tmp/one.csv" --label b --csv "$tmp/two.csv" -y loss --smooth 3 \
    -o "$tmp/two.svg"
expect_rc 1 "plot: missing column" "$CLI" plot --csv "$tmp/one.csv" -y nope -o "$tmp/x.svg"
expect_rc 2 "plot: no output" "$CLI" plot --csv "$tmp/one.csv"
for f in loss two; do
    head -c 5 "$tmp/$f.svg" | grep -q "<?xml" || fail "$f.svg is not XML"
    grep -q "<polyline" "$tmp/$f.svg" || fail "$f.svg has no line"
    if have_python; then
        python3 -c "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); \
assert r.tag == '{http://www.w3.org/2000/svg}svg', r.tag" "$tmp/$f.svg" || fail "$f.svg does not parse as SVG"
    fi
done

# ---- bench train -------------------------------------------------------------
expect_rc 0 "bench train" "$CLI" bench train --ctx 32,64 --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 48 \
    --vocab 32 --steps 1 --no-peak --json -t 2
if have_python; then
    python3 -c "import json, sys; d = json.load(open(sys.argv[1])); rows = d['rows']; \
assert len(rows) == 4 and all(r['ran'] for r in rows), rows; \
n = {(r['ctx'], r['attn']): r['attention_state_bytes'] for r in rows}; \
assert n[(64, 'flash')] == 2 * n[(32, 'flash')] and n[(64, 'naive')] == 4 * n[(32, 'naive')], n" "$tmp/out" ||
        fail "bench train JSON"
else
    contains "$tmp/out" '"tokens_per_s"' "bench json"
fi
expect_rc 0 "bench train --sgemm" "$CLI" bench train --sgemm --ctx 64 --dim 32 --hidden 48 --vocab 32 --no-peak -t 1

if [ "$failures" -ne 0 ]; then
    echo "train.sh: $failures failures"
    exit 1
fi
echo "train.sh: all passed"
