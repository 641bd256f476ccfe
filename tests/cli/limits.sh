#!/usr/bin/env bash
# Extreme values on the command line (issue 17), on a tiny random model made
# here (no ../shared needed):
#  - the reproduced defects: run --session -n 2^62 (heap overflow), -n 2^40
#    --session (exit 1, no message), run -c 2^62 (endless loop), bench attn
#    --n 1G (12 s per refusal), plot --smooth 2^31-1 (never finished), bench
#    model -n 2^63-1 and bench kv -n 2^62 (L + n overflow, uninitialised ids);
#  - every numeric flag of run, bench model/kv/attn/rope/sample, analyze,
#    plot, convert --random and gen-data fed extreme values: each is refused
#    with a message (exit 2, or 1 for a refusal by the library) or handled
#    (exit 0), within 15 s (30 s for the defects above); never a crash, a sanitizer report or a hang.
# Usage (from ctest): limits.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/lib.bash"
command -v timeout >/dev/null || { echo "SKIP: timeout(1) is needed"; exit 77; }

M=$tmp/m.gguf
"$CLI" convert --random "$M" --dim 32 --hidden 64 --layers 1 --heads 2 --vocab 64 --ctx 64 >/dev/null 2>&1 ||
    { echo "FAIL: cannot make the test model"; exit 1; }

tmo() { timeout 30 "$@"; } # a hang shows as exit 124

# ---- the reproduced defects ------------------------------------------------
run 2 "run --session -n 2^62" tmo "$CLI" run -m "$M" --session "$tmp/s.bin" -n 4611686018427387904 -t 1
has "$tmp/err" "-n: '4611686018427387904' is not an integer in -1..1099511627776" "-n 2^62 message"
run 0 "run --session -n 2^40" tmo "$CLI" run -m "$M" --session "$tmp/s.bin" -n 1099511627776 -t 1 --prompt-tokens 1,2,3
has "$tmp/err" "session saved" "-n 2^40 --session saves"
has "$tmp/err" "context full" "-n 2^40 stops at the full context"
run 0 "run --session again" tmo "$CLI" run -m "$M" --session "$tmp/s.bin" -n 4 -t 1 --prompt-tokens 1,2,3
has "$tmp/err" "2 of 3 prompt tokens reused (" "the session's history came back (the last prompt token is evaluated again for its logits)"
for c in 4611686018427387904 9223372036854775807 1099511627777; do
    run 2 "run -c $c" tmo "$CLI" run -m "$M" -c "$c" -t 1
    has "$tmp/err" "is not an integer in 0..1099511627776" "-c $c message"
done
run 1 "run -c 2^40" tmo "$CLI" run -m "$M" -c 1099511627776 -t 1
has "$tmp/err" "available" "-c 2^40 refused for memory"
run 0 "bench attn --n 1G" tmo "$CLI" bench attn --n 1G,4G --d 64 --method flash,chunked:512 -t 1 --reps 1 --no-peak --json
check 'grep -c "available" "$tmp/out" | grep -q "^[1-9]"' "bench attn --n 1G: cells refused for memory ($(head -c 300 "$tmp/out"))"
run 2 "bench attn --n 2^62" tmo "$CLI" bench attn --n 4611686018427387904 --d 64 -t 1
python3 -c 'print("step,loss"); [print(f"{i},{1.0/(i+1)}") for i in range(100)]' >"$tmp/l.csv" 2>/dev/null ||
    { echo "step,loss"; for i in $(seq 0 99); do echo "$i,1"; done; } >"$tmp/l.csv"
run 0 "plot --smooth 2^31-1" tmo "$CLI" plot --csv "$tmp/l.csv" -x step -y loss --smooth 2147483647 -o "$tmp/p.svg"
run 2 "bench model -n 2^63-1" tmo "$CLI" bench model -m "$M" --ctx 16 -n 9223372036854775807 -t 1 --no-peak
has "$tmp/err" "is not an integer in" "bench model -n message"
run 1 "bench model -n 2^40" tmo "$CLI" bench model -m "$M" --ctx 16 -n 1099511627776 -t 1 --no-peak
run 2 "bench kv -n 2^62" tmo "$CLI" bench kv -m "$M" --kv-policy full -n 4611686018427387904 -r 2 -t 1
run 2 "bench kv -n 2^40 -r 2" tmo "$CLI" bench kv -m "$M" --kv-policy full -n 1099511627776 -r 2 -t 1
has "$tmp/err" "more than 1099511627776 tokens" "bench kv stream bound"

# ---- the smaller findings -------------------------------------------------
run 2 "--attn garbage" "$CLI" run -m "$M" --attn garbage
has "$tmp/err" "--attn" "--attn garbage names the flag"
run 2 "-t 2^31-1" "$CLI" run -m "$M" -t 2147483647
has "$tmp/err" "-t: '2147483647' is not an integer in 1..4096" "-t bound"
run 0 "-t above the CPUs" "$CLI" run -m "$M" -t 4096 -n 1 --prompt-tokens 1
has "$tmp/err" "is more than the" "-t 4096 note"
run 2 "--top-p 5" "$CLI" run -m "$M" --top-p 5
has "$tmp/err" "top-p must be in [0, 1]" "--top-p range"
echo "this is a text file, not a model" >"$tmp/text.txt"
run 1 "a text file as the model" "$CLI" run -m "$tmp/text.txt"
has "$tmp/err" "not a GGUF or llama2.c checkpoint" "text model message"
"$CLI" convert --random "$tmp/big.gguf" --dim 32 --hidden 64 --layers 1 --heads 2 --vocab 64 --ctx 16777216 >/dev/null 2>&1
run 0 "a 2^24-token model without -c" tmo "$CLI" run -m "$tmp/big.gguf" -t 1 -n 2 --prompt-tokens 1
has "$tmp/err" "using -c 4096" "default context note"
has "$tmp/err" "ctx 4096," "the default context is 4096"

# ---- every numeric flag, extreme values -----------------------------------
# 8 values by default; LONGCTX_LIMITS_ALL=1: 20
values=(-1 0 2147483648 9223372036854775807 18446744073709551616 1e308 nan 12junk)
[ "${LONGCTX_LIMITS_ALL:-0}" != 0 ] && values=(-1 0 1 2147483647 2147483648 4611686018427387904 9223372036854775807
    9223372036854775808 -9223372036854775808 18446744073709551616 1e308 -1e308 1e-320 nan inf 12junk "" 0x10 1G
    99999999999G)
# "command words | flag flag ..." (the base command runs fast with sane values)
cases=(
    "run -m $M -t 1 --prompt-tokens 1,2 -n 2|-n -c -b -t --temp --top-k --top-p --min-p --repeat-penalty --repeat-last-n --frequency-penalty --presence-penalty --seed --rope-scale --rope-freq-scale --rope-freq-base --yarn-orig-ctx --yarn-ext-factor --yarn-attn-factor --yarn-beta-fast --yarn-beta-slow"
    "bench model -m $M --ctx 16 -n 2 -t 1 --no-peak|--ctx -n -b -t --seed"
    "bench kv -m $M --at 32 -n 2 -r 1 -t 1|--at -n -r --seed -c -b -t"
    "bench attn --n 64 --d 16 -t 1 --reps 1 --no-peak --max-seconds 2|--n --d --heads --kv-heads -t --reps --max-seconds --naive-cap --seed"
    "bench rope -c 64 -n 16 --reps 1|-c -n --head-dim --rope-dims --heads --reps"
    "bench sample --vocab 64 -n 2 --reps 1|--vocab --scale -n --reps"
    "analyze --n 64|--layers --kv-heads --n --window --chunk -t --max-seconds"
    "plot --csv $tmp/l.csv -x step -y loss -o $tmp/q.svg|--smooth --width --height"
    "convert --random $tmp/r.gguf --dim 16 --hidden 32 --layers 1 --heads 2 --vocab 32 -c 32|--dim --hidden --layers --heads --kv-heads --vocab --head-dim -c --seed --rope-freq-base --rope-scale --yarn-orig-ctx"
    "gen-data --task passkey -c 256 --count 1|-c --count -s --depth --digits --keys --values --queries --chains"
)
# flags whose large values ask for work in proportion (a stream of that many
# tokens, that many samples): running past a 5 s timeout there is an accepted
# request, counted apart, not a hang
long_ok=" bench_kv:--at bench_kv:-n gen-data:--count "
n_flags=0
n_runs=0
n_long=0
for c in "${cases[@]}"; do
    base=${c%%|*}
    for flag in ${c#*|}; do
        n_flags=$((n_flags + 1))
        for v in "${values[@]}"; do
            n_runs=$((n_runs + 1))
            key=$(echo "$base" | awk '{print ($1 == "bench") ? $1 "_" $2 : $1}'):$flag
            t=15
            [[ $long_ok == *" $key "* ]] && t=5
            # shellcheck disable=SC2086
            timeout $t "$CLI" $base "$flag" "$v" >"$tmp/out" 2>"$tmp/err" </dev/null
            rc=$?
            checks=$((checks + 1))
            if [ "$rc" -eq 124 ] && [[ $long_ok == *" $key "* ]]; then
                n_long=$((n_long + 1))
            elif [ "$rc" -gt 2 ]; then
                fail "$base $flag '$v': exit $rc ($(tail -c 300 "$tmp/err"))"
            elif [ "$rc" -ne 0 ] && [ ! -s "$tmp/err" ]; then
                fail "$base $flag '$v': exit $rc without a message"
            elif grep -q "runtime error\|AddressSanitizer\|LeakSanitizer" "$tmp/err"; then
                fail "$base $flag '$v': sanitizer report ($(grep -m1 "runtime error\|Sanitizer" "$tmp/err"))"
            fi
        done
    done
done
echo "limits: $n_flags numeric flags x ${#values[@]} values = $n_runs runs, $n_long accepted and still running at 5 s"
finish limits
