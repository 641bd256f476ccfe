#!/usr/bin/env bash
# Sequence-parallel attention under mpirun (tests/mpi/sp_logits.c, and the
# CLI's run --sp). Usage: run.sh SP_LOGITS LONGCTX REPO_ROOT
set -euo pipefail
sp=$1 cli=$2 root=$3
model=$root/models/longctx-default.gguf
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (apt-get install openmpi-bin)"; exit 77
fi
if [ ! -e "$model" ]; then echo "SKIP: $model absent"; exit 77; fi
mpi() { mpirun --oversubscribe --allow-run-as-root -np "$@"; }
export OMP_NUM_THREADS=1
# Under LONGCTX_SANITIZE (with or without ASAN_OPTIONS set): Open MPI does not free its own
# allocations at MPI_Finalize, from components it dlopen()s (unnamed frames an
# LSan suppression cannot match), so leak detection is off for the MPI
# processes; addresses and undefined behaviour are still checked.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in 2 3 4; do mpi "$p" "$sp" "$model" logits; done
mpi 1 "$sp" "$model" logits
# the same on a 15M shape (random weights, as docs/distributed.md's benchmarks use): prefill + 64 steps
"$cli" convert --random "$tmp/m15.gguf" --preset 15M --type f16 >/dev/null
for p in 2 3 4; do mpi "$p" "$sp" "$tmp/m15.gguf" logits15; done
# a rank that cannot load the model: every rank stops with its message
timeout 120 mpirun --oversubscribe --allow-run-as-root -np 3 "$sp" "$model" loadfail
# a rank whose block of a ring prefill fails: every rank stops with its message, then recovers
timeout 120 mpirun --oversubscribe --allow-run-as-root -np 3 "$sp" "$model" ringfail

# the CLI: greedy tokens of run --sp at P = 1 (no mpirun), 2 and 3 equal run's
args=(run -m "$model" --prompt-tokens 1,17,230,45,99,3,400,12,7,801 -n 40 --tokens --ignore-eos -c 96 -b 4 -t 1
      -ctk f32 -ctv f32)
want=$("$cli" "${args[@]}" 2>/dev/null)
got=$("$cli" "${args[@]}" --sp 2>/dev/null)
[ "$got" = "$want" ] || { echo "FAIL: --sp without mpirun: '$got' vs '$want'"; exit 1; }
for p in 2 3; do
  got=$(mpi "$p" "$cli" "${args[@]}" --sp 2>/dev/null)
  [ "$got" = "$want" ] || { echo "FAIL: run --sp at P=$p: '$got' vs '$want'"; exit 1; }
done
echo "run --sp at P = 1, 2, 3: the same $(echo "$want" | wc -w) tokens as run"
# --kv-budget 100K: the whole f32 cache of -c 96 (384 KiB) is refused at P = 1 with the numbers,
# and runs at P = 4 (96 KiB a rank) with the same tokens
set +e
out=$("$cli" "${args[@]}" --sp --kv-budget 100K 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "needs 384.0 KiB of KV in all.*more than --kv-budget 100.0 KiB: it takes 4 ranks" <<<"$out" \
  || { echo "FAIL: --kv-budget 100K at P = 1: rc $rc: $out"; exit 1; }
got=$(mpi 4 "$cli" "${args[@]}" --sp --kv-budget 100K 2>/dev/null)
[ "$got" = "$want" ] || { echo "FAIL: run --sp --kv-budget 100K at P=4: '$got' vs '$want'"; exit 1; }
echo "run --sp --kv-budget 100K: refused at P = 1 ($(grep -o 'it takes 4 ranks' <<<"$out")), the same tokens at P = 4"
# a rank without the model: every rank exits non-zero with the message
set +e
out=$(timeout 120 mpirun --oversubscribe --allow-run-as-root -np 2 bash -c \
  'm=$1; shift; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && m=/nonexistent/missing.gguf; exec "$0" run -m "$m" "$@"' \
  "$cli" "$model" --prompt-tokens 1,2,3 -n 4 --tokens --sp 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { echo "FAIL: run --sp with a missing model on rank 1: rc $rc"; echo "$out"; exit 1; }
grep -q "rank 1: .*missing.gguf" <<<"$out" || { echo "FAIL: no rank-1 message in: $out"; exit 1; }
echo "run --sp, model missing on rank 1: every rank exited (rc $rc) with: $(grep -m1 'rank 1' <<<"$out")"

# bench sp: its figures at P = 2 (the bytes per token are exact: layers x heads x (d + 2) x 4)
out=$(mpi 2 "$cli" bench sp -m "$model" -L 64 -n 4 -r 1 -t 1)
echo "$out"
grep -q "P = 2 ranks" <<<"$out" && grep -q "^  rank 1: KV shard" <<<"$out" \
  && grep -q "2176 bytes sent per decoded token per rank" <<<"$out" || { echo "FAIL: bench sp output"; exit 1; }

# eval ppl --sp: the perplexity over a sharded context (ring prefill of every window, each rank
# scoring its own rows) equals one process's: f32 KV within 1e-6 relative (f32 reassociation of the
# shards' softmax parts; measured <= 6e-8), f16 and q8_0 KV within 1e-4 (other kernel shapes round
# differently; measured <= 2e-5)
seq 0 599 | awk '{printf "%d ", ($1 * 7919 + 13) % 896}' >"$tmp/toks.txt"
ppl_of() { grep -o 'overall: ppl [0-9.]*' <<<"$1" | awk '{print $3}'; }
for kv in f32 f16 q8_0; do
  tol=1e-4; [ $kv = f32 ] && tol=1e-6
  pargs=(eval ppl -m "$model" --tokens-file "$tmp/toks.txt" --lengths 64,200 -c 200 -b 16 -t 1 -ctk $kv -ctv $kv
         --no-timings)
  want=$(ppl_of "$("$cli" "${pargs[@]}")")
  [ -n "$want" ] || { echo "FAIL: eval ppl gave no perplexity"; exit 1; }
  for p in 2 3; do
    got=$(ppl_of "$(mpi "$p" "$cli" "${pargs[@]}" --sp)")
    awk -v a="$got" -v b="$want" -v t="$tol" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(a != "" && d <= t) }' \
      || { echo "FAIL: eval ppl --sp at P=$p, kv $kv: ppl '$got' vs $want (tolerance $tol)"; exit 1; }
    echo "eval ppl --sp P=$p kv $kv: ppl $got vs one process $want"
  done
done
set +e
out=$("$cli" eval passkey -m "$model" --sp 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--sp and --kv-budget are for ppl" <<<"$out" || { echo "FAIL: eval passkey --sp: rc $rc: $out"; exit 1; }

# bench model --sp: the cells at P = 2 (the bytes per token exact as for bench sp)
out=$(mpi 2 "$cli" bench model -m "$model" --ctx 100,300 -n 4 -b 32 -t 1 --sp)
echo "$out"
grep -q "sequence parallel (--sp): 2 ranks" <<<"$out" && [ "$(grep -c '2176 bytes sent per decoded token per rank' <<<"$out")" = 2 ] \
  && grep -Eq '^ +300 \| +[0-9.]+ ' <<<"$out" || { echo "FAIL: bench model --sp output"; exit 1; }
out=$(mpi 2 "$cli" bench model -m "$model" --ctx 100 -n 2 -b 32 -t 1 --sp --json)
grep -q '"sp_ranks":2' <<<"$out" && grep -q '"decode_tok_s":' <<<"$out" || { echo "FAIL: bench model --sp --json: $out"; exit 1; }
