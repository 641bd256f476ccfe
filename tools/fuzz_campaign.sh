#!/usr/bin/env bash
# A long fuzz campaign over every reader (docs/testing.md, issue 17).
#
#   tools/fuzz_campaign.sh [--build DIR] [--minutes M] [--parallel P] [--out DIR] [TARGET...]
#
# Runs each fuzz target of DIR (default build-clang, configured with -DLONGCTX_FUZZ=ON) for M
# minutes of wall time (default 30), P at a time (default 2), restarting a target after a crash
# until its time is up (crash / timeout inputs are kept in OUT as NAME-crash-* / NAME-timeout-*).
# Working corpora live in OUT/corpus-NAME (default OUT /tmp/lc-campaign), seeded from
# fuzz/corpus/NAME (Jinja also from ../shared/templates). Prints the table of docs/testing.md:
# inputs tried, new corpus inputs, coverage, CPU and wall time, crashes, timeouts, leaks, OOMs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-clang minutes=30 par=2 out=/tmp/lc-campaign targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --parallel) par=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "fuzz_campaign: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || for f in "$build"/fuzz_*; do targets+=("$(basename "$f")"); done
[ -x "$build/${targets[0]}" ] || { echo "fuzz_campaign: no fuzz targets in $build (cmake -DLONGCTX_FUZZ=ON, clang)" >&2; exit 1; }
mkdir -p "$out"

lane() { # one target for $minutes of wall time
  local t=$1 name=${1#fuzz_} log=$out/${1#fuzz_}.log maxlen=65536 run=0 left end
  [ "$name" = quant ] && maxlen=4096
  [ "$name" = session ] && maxlen=131072
  local seeds=(fuzz/corpus/"$name")
  [ "$name" = jinja ] && [ -d ../shared/templates ] && seeds+=(../shared/templates)
  mkdir -p "$out/corpus-$name"
  end=$(( $(date +%s) + minutes * 60 ))
  echo "start $(date +%T) $name" > "$log"
  while left=$(( end - $(date +%s) )); [ "$left" -gt 5 ]; do
    run=$((run + 1))
    TIMEFORMAT="cpu-run$run user %U sys %S wall %R"
    { time "$build/$t" -max_total_time="$left" -timeout=30 -rss_limit_mb=2048 -max_len=$maxlen \
        -print_final_stats=1 -artifact_prefix="$out/$name-" "$out/corpus-$name" "${seeds[@]}"; } >> "$log" 2>&1 || true
  done
  echo "end $(date +%T)" >> "$log"
}

running=0
for t in "${targets[@]}"; do
  lane "$t" & running=$((running + 1))
  if [ $running -ge "$par" ]; then wait -n; running=$((running - 1)); fi
done
wait

python3 - "$out" "${targets[@]}" <<'PY'
import re, sys
out = sys.argv[1]
print("| reader | inputs tried | new corpus inputs | coverage (edges / features) | CPU time | wall time | crashes | timeouts | leaks | OOM |")
print("|---|---|---|---|---|---|---|---|---|---|")
for t in sys.argv[2:]:
    name = t.removeprefix("fuzz_")
    s = open(f"{out}/{name}.log", errors="replace").read()
    ex = sum(int(x) for x in re.findall(r"stat::number_of_executed_units:\s+(\d+)", s))
    new = sum(int(x) for x in re.findall(r"stat::new_units_added:\s+(\d+)", s))
    cov = (re.findall(r"cov: (\d+) ft: (\d+)", s) or [("?", "?")])[-1]
    runs = re.findall(r"cpu-run\d+ user ([\d.]+) sys ([\d.]+) wall ([\d.]+)", s)
    cpu = sum(float(u) + float(y) for u, y, _ in runs); wall = sum(float(w) for _, _, w in runs)
    n = lambda pat: len(re.findall(pat, s))
    crashes = n(r"ERROR: libFuzzer: deadly signal|ERROR: AddressSanitizer|runtime error:")
    print(f"| {name} | {ex:,} | {new:,} | {cov[0]} / {cov[1]} | {cpu/60:.1f} min | {wall/60:.1f} min | {crashes} | "
          f"{n(r'ERROR: libFuzzer: timeout')} | {n(r'ERROR: LeakSanitizer')} | {n(r'out-of-memory')} |")
PY
