#!/usr/bin/env python3
"""The README's measured tables, from a `longctx report` run's report.json.

Usage (from the repository root, after a full run):

    OMP_WAIT_POLICY=PASSIVE ./build/longctx report -o docs/report-example
    python3 tools/report_readme.py docs/report-example/report.json > /tmp/readme-block.md

and paste the output between the README's <!-- report:begin --> and <!-- report:end --> markers.
Nothing here measures anything: every number is read from report.json.
"""
import json
import math
import sys


def fmt_bytes(b):
    if b is None or not isinstance(b, (int, float)) or math.isnan(b) or b < 0:
        return "-"
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    u = 0
    while b >= 1024 and u < len(units) - 1:
        b /= 1024.0
        u += 1
    if u == 0:
        return "%d B" % b
    s = "%.0f" % b if b >= 99.5 else "%.1f" % b if b >= 9.995 else "%.2f" % b
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "%s %s" % (s, units[u])


def fmt_tokens(n):
    if n >= (1 << 20) and n % (1 << 20) == 0:
        return "%dM" % (n >> 20)
    if n >= 1024 and n % 1024 == 0:
        return "%dK" % (n >> 10)
    return "{:,}".format(n)


def fmt_num(v):
    if v is None:
        return "-"
    if v >= 999.5:
        return "{:,}".format(int(round(v)))
    if v >= 99.95:
        return "%.0f" % v
    if v >= 9.995:
        return "%.1f" % v
    return "%.2f" % v


def pct(v):
    return "-" if v is None else "%.0f%%" % (100 * v)


def method_cell(m, naive):
    need = m["score_matrix_bytes" if naive else "workspace_bytes"]
    if m["measured"]:
        return "%s / %s" % (fmt_bytes(need), fmt_bytes(m["rss_growth_bytes"]))
    if "refused" in m.get("why", ""):
        return "%s / refused" % fmt_bytes(need)
    return "%s / not run" % fmt_bytes(need)


def main():
    d = json.load(open(sys.argv[1]))
    s = d["sections"]
    mach = s["machine"]
    out = []
    p = out.append
    peak = mach.get("peak") or {}
    p("<!-- report:begin -->")
    p("## Measured: the article's tables on this machine")
    p("")
    p("`./build/longctx report` measures the article's claims on the machine it runs on and writes "
      "`report/index.html` (one self-contained page), `report/report.md` with its SVG figures, and "
      "`report/report.json`; `--quick` plans at most 2 minutes, the full run at most 10 "
      "([docs/report.md](docs/report.md) explains every section). The tables below come from the committed "
      "full run in [docs/report-example/](docs/report-example/report.md), which took %.0f s: %s, %d threads, "
      "FMA peak %.0f GFLOP/s, read bandwidth %.1f GB/s, load average %.1f at start, %s, version `%s`. Made by:"
      % (d.get("wall_seconds", 0), mach["cpu"], mach["threads"], peak.get("fma_gflops", 0), peak.get("read_gbs", 0),
         mach["load_average_start"][0], mach["date"], d["version"]))
    p("")
    p("```sh")
    p("OMP_WAIT_POLICY=PASSIVE ./build/longctx report -o docs/report-example")
    p("python3 tools/report_readme.py docs/report-example/report.json   # this section")
    p("```")
    p("")

    mem = s["memory"]
    real = mem["real_models"][0]
    kv = {r["n"]: r["kv_cache_bytes"] for r in real["rows"]}
    p("**Attention memory per context length** for the article's unit, one head of one layer (head dim %d): "
      "what each method allocates (NAIVE: its f32 score matrix; the others: their exact workspace) / the peak "
      "RSS growth measured while it ran (\"not run\": not within the time budget), beside the article's FP16 "
      "figure and the f16 KV cache of a whole Llama-2-7B-shaped model (32 layers x 32 heads), which is what "
      "really grows at inference." % mem["unit"]["head_dim"])
    p("")
    p("| context | article | NAIVE | FLASH | WINDOW %d | LINEAR | CHUNKED %d | KV cache, 7B |"
      % (mem["unit"]["window"], mem["unit"]["chunk"]))
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in mem["rows"]:
        if r["article"] is None and r["n"] not in (4096, 16384, 65536, 262144):
            continue
        m = r["methods"]
        p("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            fmt_tokens(r["n"]), r["article"]["memory_fp16"] if r["article"] else "-",
            method_cell(m["naive"], True), method_cell(m["flash"], False), method_cell(m["window"], False),
            method_cell(m["linear"], False), method_cell(m["chunked"], False), fmt_bytes(kv.get(r["n"]))))
    p("")

    tq = s["techniques"]
    ref = None
    for t in tq["techniques"]:
        if t["name"] == "full":
            for sp in t["speed"]:
                if sp["ran"]:
                    ref = sp["context"]
    p("**The article's technique table, measured.** Longest context: the largest n whose attention memory (KV "
      "cache or LINEAR state + attention scratch, f16) fits in %s, for a random model of llama2.c's 15M shape "
      "and for Llama-2-7B's shape. Speed: prefill and decode through the runtime on the 15M-shape model at %s "
      "tokens. Passkey: accuracy of the shipped models at their training length (default model under each "
      "attention; the LINEAR model)." % (fmt_bytes(tq["memory_budget_bytes"]), fmt_tokens(ref) if ref else "-"))
    p("")
    p("| technique | article: max context, speed, memory, retention | longest context in 1 GiB: 15M / 7B | "
      "prefill tok/s | decode tok/s | passkey |")
    p("|---|---|---:|---:|---:|---:|")
    for t in tq["techniques"]:
        a = t["article"]
        mc = lambda n, u: "unbounded" if u else "{:,}".format(n)
        sp = [x for x in t["speed"] if x["context"] == ref and x["ran"]]
        g = t["retention"]["passkey"]
        ran = [l for l in g["lengths"] if l["ran"]]
        p("| %s | %s, %s, %s, %s | %s / %s | %s | %s | %s |" % (
            t["name"], a["max_context"], a["speed"], a["memory"], a["retention"],
            mc(t["max_context_speed_model"], t["unbounded_speed_model"]),
            mc(t["max_context_llama2_7b"], t["unbounded_llama2_7b"]),
            fmt_num(sp[0]["prefill_tok_s"]) if sp else "not run", fmt_num(sp[0]["decode_tok_s"]) if sp else "not run",
            pct(ran[-1]["accuracy"]) if ran else "not run"))
    p("")

    ex = s["extrapolation"]
    if ex["state"] == "skipped":
        p("**Length extrapolation**: not measured in this run (%s)." % (ex["notes"][0] if ex["notes"] else ""))
    else:
        lens = [l["length"] for l in ex["methods"][0]["passkey"]["lengths"]]
        p("**Length extrapolation**: passkey accuracy of the default model (trained at %d tokens) with each RoPE "
          "scaling applied without training (s = length / %d), and of the model fine-tuned with YaRN x8 "
          "(mean over needle depths)." % (ex["ctx_train"], ex["ctx_train"]))
        p("")
        p("| method | " + " | ".join(fmt_tokens(n) for n in lens) + " |")
        p("|---|" + "---:|" * len(lens))
        for m in ex["methods"]:
            cells = []
            for l in m["passkey"]["lengths"]:
                cells.append(pct(l["accuracy"]) if l["ran"] else "not run")
            if not m["passkey"]["lengths"]:
                cells = ["not run"] * len(lens)
            p("| %s | %s |" % (m["name"], " | ".join(cells)))
    p("")
    p("<!-- report:end -->")
    print("\n".join(out))


if __name__ == "__main__":
    main()
