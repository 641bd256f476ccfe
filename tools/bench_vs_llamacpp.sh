#!/usr/bin/env bash
# longctx vs llama.cpp on the same GGUF, run by run alternating the engines (see docs/performance.md).
#
#   tools/bench_vs_llamacpp.sh MODEL.gguf [--longctx PATH] [--llama-bench PATH] [-t THREADS] [-b BATCH]
#       [--prefill P1,P2,...] [--decode N] [--depth D1,D2,...] [--runs R] [--json OUT.json]
#       [--llama-args "ARGS"]   (extra llama-bench arguments, e.g. "--poll 0" on a busy machine)
#
# Cells: "prefill P" = P tokens from an empty context (llama-bench -p P -n 0; longctx bench model
# --ctx P -n 0), "decode N @ D" = N tokens after D (llama-bench -p 0 -n N -d D; longctx bench model
# --ctx D -n N, prefill not counted). llama.cpp runs with -fa 0 and -fa 1 each run and the better
# figure counts. Same threads, batch (-b and -ub) and f16 KV cache for both. Each run starts a fresh
# process of each engine and records its peak RSS (wait4). Prints per cell the ratio longctx / llama.cpp
# as min / median / max over the runs (ratios of the same run), the tok/s of both, peak RSS of both.
# The machine may be shared: the figures are what this machine gave, nothing more.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exec python3 - "$here" "$@" <<'PY'
import json, os, re, statistics, sys, tempfile

root = sys.argv[1]
args = sys.argv[2:]
opt = {"longctx": os.path.join(root, "build", "longctx"),
       "llama-bench": os.path.expanduser("~/.cache/longctx-peers/llama.cpp/build/bin/llama-bench"),
       "t": "2", "b": "512", "llama-args": "", "prefill": "512", "decode": "64", "depth": "512", "runs": "3", "json": None}
model = None
i = 0
while i < len(args):
    a = args[i]
    if a in ("-h", "--help"):
        print(open(os.path.join(root, "tools", "bench_vs_llamacpp.sh")).read().split("set -euo")[0]); sys.exit(0)
    key = {"--longctx": "longctx", "--llama-bench": "llama-bench", "-t": "t", "--threads": "t", "-b": "b",
           "--prefill": "prefill", "--decode": "decode", "--depth": "depth", "--runs": "runs", "--json": "json", "--llama-args": "llama-args"}.get(a)
    if key:
        if i + 1 >= len(args): sys.exit(f"bench_vs_llamacpp: {a} needs a value")
        opt[key] = args[i + 1]; i += 2
    elif model is None and not a.startswith("-"):
        model = a; i += 1
    else:
        sys.exit(f"bench_vs_llamacpp: unknown argument {a}")
if not model: sys.exit("usage: tools/bench_vs_llamacpp.sh MODEL.gguf [options] (--help)")
ints = lambda s: [int(x) for x in s.split(",") if x]
prefills, depths = ints(opt["prefill"]), ints(opt["depth"])
ndec, runs, T, B = int(opt["decode"]), int(opt["runs"]), opt["t"], opt["b"]

def run_rss(cmd):
    """Run cmd (stdout captured, stderr dropped); return (stdout, peak RSS in bytes of that process)."""
    with tempfile.TemporaryFile(mode="w+") as outf:
        pid = os.fork()
        if pid == 0:
            os.dup2(outf.fileno(), 1); os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            try: os.execvp(cmd[0], cmd)
            finally: os._exit(127)
        _, status, ru = os.wait4(pid, 0)
        outf.seek(0); out = outf.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench_vs_llamacpp: failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}")
    return out, ru.ru_maxrss * 1024

def longctx(P, N):
    out, rss = run_rss([opt["longctx"], "bench", "model", "-m", model, "--ctx", str(P), "-n", str(N),
                        "-t", T, "-b", B, "--no-peak", "--json"])
    r = json.loads(out)["rows"][0]
    return (r["decode_tok_s"] if N else r["prefill_tok_s"]), rss

def llama(P, N, D):
    best, rss, info = 0.0, 0, {}
    for fa in ("0", "1"):
        out, r = run_rss([opt["llama-bench"], "-m", model, "-p", str(P), "-n", str(N), "-d", str(D), "-t", T,
                          "-b", B, "-ub", B, "-fa", fa, "-r", "1", "-o", "json"] + opt["llama-args"].split())
        j = json.loads(out)[0]
        if j["avg_ts"] > best: best, info = j["avg_ts"], {"fa": int(fa), "build_commit": j.get("build_commit")}
        rss = max(rss, r)
    return best, rss, info

cells = [("prefill", P, 0, 0) for P in prefills] + [("decode", 0, ndec, D) for D in depths]
res = []
commit = None
for kind, P, N, D in cells:
    lc, ll, ratios, lrss, frss, fas = [], [], [], [], [], []
    for r in range(runs):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for e in order:
            if e == 0:
                v, rss = longctx(P if kind == "prefill" else D, N); lc.append(v); lrss.append(rss)
            else:
                v, rss, info = llama(P, N, D); ll.append(v); frss.append(rss); fas.append(info["fa"])
                commit = info.get("build_commit") or commit
        ratios.append(lc[-1] / ll[-1])
    stat = lambda v: {"min": min(v), "median": statistics.median(v), "max": max(v)}
    name = f"prefill {P}" if kind == "prefill" else f"decode {N} @ {D}"
    c = {"cell": name, "kind": kind, "n_prompt": P, "n_gen": N, "depth": D, "runs": runs,
         "ratio": stat(ratios), "longctx_tok_s": stat(lc), "llamacpp_tok_s": stat(ll),
         "llamacpp_fa_best": fas, "longctx_peak_rss": max(lrss), "llamacpp_peak_rss": max(frss)}
    res.append(c)
    print(f"{name:18s} ratio {c['ratio']['min']:.2f} / {c['ratio']['median']:.2f} / {c['ratio']['max']:.2f}"
          f"  longctx {c['longctx_tok_s']['median']:9.1f} tok/s  llama.cpp {c['llamacpp_tok_s']['median']:9.1f}"
          f" (fa {fas})  RSS {c['longctx_peak_rss']/2**20:.0f} / {c['llamacpp_peak_rss']/2**20:.0f} MiB", flush=True)
if not commit or commit == "unknown":
    # a build from a source tree without git (llama-cpp-python's vendored copy, which
    # ../shared/peers/build-llama.cpp.sh builds) knows no commit: name ggml's version instead
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(opt["llama-bench"]))))
    ver = {}
    try:
        for line in open(os.path.join(src, "ggml", "CMakeLists.txt"), encoding="utf-8"):
            m = re.match(r"\s*set\(GGML_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)\)", line)
            if m: ver[m.group(1)] = m.group(2)
    except OSError:
        pass
    if len(ver) == 3:
        commit = f"(no git commit; ggml {ver['MAJOR']}.{ver['MINOR']}.{ver['PATCH']} from {src})"
load = os.getloadavg()
doc = {"model": model, "threads": int(T), "batch": int(B), "runs": runs, "llamacpp_commit": commit,
       "loadavg": load, "cells": res}
print(f"llama.cpp {commit}, threads {T}, batch {B}, {runs} runs alternating, load average {load[0]:.1f}")
if opt["json"]:
    with open(opt["json"], "w") as f: json.dump(doc, f, indent=1)
PY
