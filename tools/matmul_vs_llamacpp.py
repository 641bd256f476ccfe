#!/usr/bin/env python3
"""Weight-matrix products, longctx beside llama.cpp, alternating runs.

For each weight type and token count, runs llama.cpp's
  test-backend-ops perf -b CPU -o MUL_MAT -p 'type_a=T,type_b=f32,m=ROWS,n=N,k=COLS,'
and
  longctx bench matmul --type T --rows ROWS --cols COLS -n N -t THREADS --copies 1 --no-peak --json
one after the other, ROUNDS times, and prints min / median / max GFLOP/s of each and the ratio
of the medians. test-backend-ops gives the CPU backend max(1, hardware threads / 2) threads
(tests/test-backend-ops.cpp: N_THREADS / 2), i.e. ONE thread on a 2-CPU machine: compare with
longctx's -t 1 column (-t takes a list; default 1,2). --copies 1 reads the same weights every repetition, as test-backend-ops does
(a 4096 x 14336 Q4_0 / Q4_K weight is 33 MB, about the size of the L3 cache: both engines get
the same partial cache hits). test-backend-ops uses every hardware thread for the CPU backend.

  tools/matmul_vs_llamacpp.py --longctx build/longctx \\
      --llama ~/.cache/longctx-peers/llama.cpp/build/bin/test-backend-ops [--rounds 3]

(build llama.cpp with ../shared/peers/build-llama.cpp.sh). The machine's load is printed with
every round: on a shared machine both figures are noisy and only the alternation makes them
comparable.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys


def llama_run(exe, t, rows, cols, n):
    pat = f"type_a={t},type_b=f32,m={rows},n={n},k={cols},"
    out = subprocess.run([exe, "perf", "-b", "CPU", "-o", "MUL_MAT", "-p", re.escape(pat)],
                         capture_output=True, text=True, timeout=900).stdout
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for line in out.splitlines():
        if "MUL_MAT(" in line and pat in line:
            m = re.search(r"([0-9.]+)\s*(G|T|M)FLOPS", line)
            if m:
                scale = {"M": 1e-3, "G": 1.0, "T": 1e3}[m.group(2)]
                return float(m.group(1)) * scale
    raise RuntimeError(f"no MUL_MAT line for {pat} in:\n{out[-2000:]}")


def longctx_run(exe, t, rows, cols, n, threads):
    reps = "10" if n == 1 else "3"
    out = subprocess.run([exe, "bench", "matmul", "--type", t, "--rows", str(rows), "--cols", str(cols),
                          "-n", str(n), "-t", str(threads), "--copies", "1", "--reps", reps, "--no-peak",
                          "--json"], capture_output=True, text=True, timeout=900, check=True).stdout
    c = json.loads(out)["cells"][0]
    return c["gflops"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--longctx", required=True)
    ap.add_argument("--llama", required=True, help="path of llama.cpp's test-backend-ops")
    ap.add_argument("--types", default="q4_0,q8_0,q4_K,q6_K,f16")
    ap.add_argument("-n", default="1,512")
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=14336)
    ap.add_argument("-t", "--threads", default="1,2", help="longctx thread counts, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    types = a.types.split(",")
    ns = [int(x) for x in a.n.split(",")]
    ths = [int(x) for x in a.threads.split(",")]
    res = {}
    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}, load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        for t in types:
            for n in ns:
                g_l = llama_run(a.llama, t, a.rows, a.cols, n)
                res.setdefault((t, n), ([[] for _ in ths], []))
                res[(t, n)][1].append(g_l)
                msg = f"  {t:6s} n={n:<4d} llama.cpp {g_l:8.2f}"
                for i, th in enumerate(ths):
                    g_c = longctx_run(a.longctx, t, a.rows, a.cols, n, th)
                    res[(t, n)][0][i].append(g_c)
                    msg += f"  longctx -t {th} {g_c:8.2f}"
                print(msg + " GFLOP/s", file=sys.stderr, flush=True)
    fmt = lambda v: f"{min(v):.1f} / **{statistics.median(v):.1f}** / {max(v):.1f}"
    head = "| type | n | llama.cpp GFLOP/s min / median / max |"
    for th in ths:
        head += f" longctx -t {th}: min / median / max | ratio of medians |"
    print(head)
    print("|---|---|---|" + "---|---|" * len(ths))
    for (t, n), (cs, l) in res.items():
        row = f"| {t} | {n} | {fmt(l)} |"
        for c in cs:
            row += f" {fmt(c)} | {statistics.median(c) / statistics.median(l):.2f}x |"
        print(row)


if __name__ == "__main__":
    main()
