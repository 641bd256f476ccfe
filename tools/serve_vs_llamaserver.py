#!/usr/bin/env python3
"""longctx serve beside llama.cpp's llama-server on the same GGUF file.

Starts both servers on free loopback ports (same -t, -c and --parallel; llama-server
with --cache-reuse 256), waits for /health, and measures over their OpenAI-compatible
/v1/completions (raw prompt, temperature 0, ignore_eos), alternating the engines run
by run (the engine that goes first swaps every round):

  ttft   time to first token = wall time of a request with max_tokens 1, for a fresh
         document of about P tokens plus a question (cold), then the same document
         plus another question (warm: the prefix cache); cached prompt tokens as each
         server reports them (longctx: usage.prompt_tokens_details.cached_tokens,
         llama-server: timings.cache_n);
  decode aggregate decode tokens/s of N concurrent streaming clients, each generating
         --decode tokens from its own short prompt: completion tokens of all clients
         over the wall time from the first request to the last [DONE].

Prints a table of min / median / max per cell and the longctx / llama-server ratio of
the medians (TTFT: < 1 means longctx is faster; decode: > 1 means longctx is faster);
--json FILE also writes every sample. Standard library only.

    python3 tools/serve_vs_llamaserver.py -m /tmp/q05.q4km.gguf -c 10240 -t 2 \\
        --prefix 2K,8K -r 2 --decode 64 --clients 1,4
"""
import argparse
import atexit
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LONGCTX = os.path.join(REPO, "build", "longctx")
DEFAULT_LLAMA = os.path.expanduser("~/.cache/longctx-peers/llama.cpp/build/bin/llama-server")
WORDS = ["river", "stone", "lantern", "orchard", "harbor", "meadow", "copper", "window", "thunder", "garden",
         "silver", "market", "castle", "forest", "candle", "bridge", "winter", "violet", "engine", "letter"]
PROCS = []


def die(msg):
    sys.stderr.write("serve_vs_llamaserver: %s\n" % msg)
    sys.exit(2)


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    PROCS.clear()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_count(s):
    s = s.strip().upper()
    return int(float(s[:-1]) * 1024) if s.endswith("K") else int(s)


class Server:
    def __init__(self, name, argv, port, env, logdir):
        self.name, self.port = name, port
        self.bad_utf8 = 0
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL)
        PROCS.append(self.proc)

    def wait_ready(self, timeout):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                die("%s exited with status %d before it was ready; its log (%s) ends:\n%s"
                    % (self.name, self.proc.returncode, self.log_path, self.tail()))
            try:
                st, _ = self.request("GET", "/health", None, timeout=5)
                if st == 200:
                    return time.time() - t0
            except OSError:
                pass
            time.sleep(0.25)
        die("%s not ready after %d s; its log (%s) ends:\n%s" % (self.name, timeout, self.log_path, self.tail()))

    def tail(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read()[-2000:].decode("utf-8", "replace")

    def request(self, method, path, body, timeout=3600):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def complete(self, prompt, max_tokens):
        """One non-streaming completion: (seconds, prompt tokens, cached tokens)."""
        body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True}
        t0 = time.perf_counter()
        st, data = self.request("POST", "/v1/completions", body)
        dt = time.perf_counter() - t0
        if st != 200:
            die("%s: HTTP %d: %s" % (self.name, st, data[:300].decode("utf-8", "replace")))
        r = json.loads(data)
        u = r.get("usage") or {}
        cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens")
        if "timings" in r and "cache_n" in r["timings"]:  # llama-server's own count
            cached = r["timings"]["cache_n"]
        return dt, u.get("prompt_tokens"), cached

    def stream(self, prompt, max_tokens, out, i):
        """One streaming completion into out[i] = (completion tokens, seconds)."""
        body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True,
                "stream": True, "stream_options": {"include_usage": True}}
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        t0 = time.perf_counter()
        n_chunks, n_usage = 0, None
        try:
            c.request("POST", "/v1/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
            r = c.getresponse()
            if r.status != 200:
                out[i] = ("HTTP %d: %s" % (r.status, r.read()[:300].decode("utf-8", "replace")), 0)
                return
            for line in r:
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    break
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:  # counted and shown: a server should send valid UTF-8
                    self.bad_utf8 += 1
                    if self.bad_utf8 <= 3:
                        sys.stderr.write("%s: a stream event is not valid UTF-8: %r\n" % (self.name, payload[:300]))
                    text = payload.decode("utf-8", "replace")
                ev = json.loads(text)
                if ev.get("usage"):
                    n_usage = ev["usage"].get("completion_tokens")
                if ev.get("choices") and ev["choices"][0].get("text"):
                    n_chunks += 1
        except (OSError, ValueError) as e:
            out[i] = ("%s" % e, 0)
            return
        finally:
            c.close()
        out[i] = (n_usage if n_usage is not None else n_chunks, time.perf_counter() - t0)


def document(tag, n_chars):
    """A deterministic text of about n_chars characters, distinct per tag."""
    x = zlib.crc32(tag.encode()) | 1
    parts, at = ["Document %s." % tag], 0
    while at < n_chars:
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        w = WORDS[(x >> 33) % 20] + ("." if (x >> 40) & 7 == 0 else "")
        parts.append(w)
        at += len(w) + 1
    return " ".join(parts)


def mmm(v):
    return [min(v), statistics.median(v), max(v)] if v else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="the GGUF file both servers load")
    ap.add_argument("--longctx", default=DEFAULT_LONGCTX, help="longctx binary (default %s)" % DEFAULT_LONGCTX)
    ap.add_argument("--llama-server", default=os.environ.get("LLAMA_SERVER", DEFAULT_LLAMA),
                    help="llama-server binary (default $LLAMA_SERVER or %s)" % DEFAULT_LLAMA)
    ap.add_argument("-c", "--ctx-size", type=int, default=10240,
                    help="tokens per slot (default 10240): longctx -c N, llama-server -c N*np")
    ap.add_argument("-t", "--threads", type=int, default=2, help="-t of both servers (default 2)")
    ap.add_argument("-np", "--parallel", type=int, default=4, help="slots of both servers (default 4)")
    ap.add_argument("--prefix", default="2K,8K,32K",
                    help="prefix lengths in tokens (K suffix); those that do not fit in -c are skipped")
    ap.add_argument("-r", "--rounds", type=int, default=2, help="rounds (default 2)")
    ap.add_argument("--decode", type=int, default=64, help="tokens each decode client generates (0: skip)")
    ap.add_argument("--clients", default="1,4", help="concurrent streaming clients (default 1,4)")
    ap.add_argument("--json", metavar="FILE", help="also write every sample as JSON ('-': stdout)")
    ap.add_argument("--ready-timeout", type=int, default=600, help="seconds to wait for /health (default 600)")
    a = ap.parse_args()

    prefixes = [parse_count(p) for p in a.prefix.split(",") if p.strip()]
    clients = [int(c) for c in a.clients.split(",") if c.strip()]
    if not os.path.isfile(a.model):
        die("no model file %s" % a.model)
    if not os.access(a.longctx, os.X_OK):
        die("no longctx binary at %s (build it: cmake --build build)" % a.longctx)
    if not os.access(a.llama_server, os.X_OK):
        die("no llama-server at %s: build llama.cpp (../shared/peers/build-llama.cpp.sh) "
            "or give --llama-server PATH / LLAMA_SERVER" % a.llama_server)
    if max(clients, default=1) > a.parallel:
        die("--clients %d needs --parallel >= %d" % (max(clients), max(clients)))

    atexit.register(stop_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    logdir = tempfile.mkdtemp(prefix="serve_vs_llamaserver.")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # docs/server.md: idle OpenMP teams must not spin
    common = ["-m", a.model, "-t", str(a.threads), "-np", str(a.parallel)]
    # longctx's -c is per slot; llama-server's is the whole KV cache its slots share (each slot
    # gets -c / -np), so llama-server gets -c × -np: the same context per slot.
    p1, p2 = free_port(), free_port()
    servers = {
        "longctx": Server("longctx", [a.longctx, "serve", "--port", str(p1),
                                      "-c", str(a.ctx_size)] + common, p1, env, logdir),
        "llama-server": Server("llama-server", [a.llama_server, "--host", "127.0.0.1", "--port", str(p2),
                                                "--cache-reuse", "256", "--no-webui",
                                                "-c", str(a.ctx_size * a.parallel)] + common, p2, env, logdir),
    }
    for s in servers.values():
        sys.stderr.write("%s ready after %.1f s (port %d, log %s)\n" % (s.name, s.wait_ready(a.ready_timeout),
                                                                       s.port, s.log_path))

    # Characters per token of these words, from longctx's tokenizer (the same vocabulary).
    probe = document("probe", 4000)
    st, data = servers["longctx"].request("POST", "/tokenize", {"content": probe})
    if st != 200:
        die("longctx /tokenize: HTTP %d" % st)
    cpt = len(probe) / max(1, len(json.loads(data)["tokens"]))
    margin = 64 + a.decode
    fit = [p for p in prefixes if p + margin <= a.ctx_size]
    for p in prefixes:
        if p not in fit:
            sys.stderr.write("prefix %d skipped: does not fit in -c %d\n" % (p, a.ctx_size))

    samples = {"ttft": {}, "decode": {}}
    names = list(servers)
    for r in range(a.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for p in fit:
            for name in order:
                doc = document("%s-%d-%d" % (name, p, r), int(p * cpt) - 16)
                cold = servers[name].complete(doc + "\nQuestion: which word comes first?\nAnswer:", 1)
                warm = servers[name].complete(doc + "\nQuestion: which word comes last?\nAnswer:", 1)
                cell = samples["ttft"].setdefault(str(p), {}).setdefault(name, [])
                cell.append({"cold_s": cold[0], "warm_s": warm[0], "prompt_tokens": cold[1],
                             "warm_prompt_tokens": warm[1], "warm_cached": warm[2], "cold_cached": cold[2]})
                sys.stderr.write("round %d prefix %d %s: cold %.3f s (%s tokens), warm %.3f s (%s cached)\n"
                                 % (r + 1, p, name, cold[0], cold[1], warm[0], warm[2]))
        for n in clients if a.decode > 0 else []:
            for name in order:
                out = [None] * n
                th = [threading.Thread(target=servers[name].stream,
                                       args=("Story %d-%d-%d: once upon a time" % (r, n, i), a.decode, out, i))
                      for i in range(n)]
                t0 = time.perf_counter()
                for t in th:
                    t.start()
                for t in th:
                    t.join()
                wall = time.perf_counter() - t0
                bad = [o[0] for o in out if not isinstance(o[0], int)]
                if bad:
                    die("%s: a decode client failed: %s" % (name, bad[0]))
                toks = sum(o[0] for o in out)
                samples["decode"].setdefault(str(n), {}).setdefault(name, []).append(
                    {"tokens": toks, "seconds": wall, "tokens_per_s": toks / wall})
                sys.stderr.write("round %d decode %d clients %s: %d tokens in %.2f s = %.1f tokens/s\n"
                                 % (r + 1, n, name, toks, wall, toks / wall))
    stop_all()
    for s in servers.values():
        if s.bad_utf8:
            sys.stderr.write("%s: %d stream events were not valid UTF-8\n" % (s.name, s.bad_utf8))

    # The table.
    def fmt(v, scale, digits):
        return " / ".join("{:,.{d}f}".format(x * scale, d=digits) for x in v)

    def ratio(lc, ll):
        return "%.2f" % (lc[1] / ll[1]) if lc and ll and ll[1] > 0 else "-"

    print("# %s, -c %d, -t %d, -np %d, %d rounds; min / median / max; ratio = longctx / llama-server (medians)"
          % (os.path.basename(a.model), a.ctx_size, a.threads, a.parallel, a.rounds))
    if samples["ttft"]:
        print()
        print("| prefix (tokens) | what | longctx | llama-server | ratio |")
        print("|---|---|---|---|---|")
    summary = {"ttft": {}, "decode": {}}
    for p, cell in samples["ttft"].items():
        lc, ll = cell.get("longctx", []), cell.get("llama-server", [])
        ntok = lc[0]["prompt_tokens"] if lc else ll[0]["prompt_tokens"]
        rows = []
        for what, key in (("cold TTFT ms", "cold_s"), ("warm TTFT ms", "warm_s")):
            x, y = mmm([s[key] for s in lc]), mmm([s[key] for s in ll])
            rows.append((what, x, y))
            summary["ttft"].setdefault(p, {})[key] = {"longctx": x, "llama-server": y}
        for what, x, y in rows:
            print("| %s | %s | %s | %s | %s |" % ("{:,}".format(ntok) if ntok else p, what,
                                                  fmt(x, 1000, 0) if x else "-", fmt(y, 1000, 0) if y else "-",
                                                  ratio(x, y)))
        def cached(v):
            return ", ".join(sorted({"%s of %s" % (s["warm_cached"], s["warm_prompt_tokens"]) for s in v})) or "-"
        print("| | warm: cached of prompt tokens | %s | %s | |" % (cached(lc), cached(ll)))
    if samples["decode"]:
        print()
        print("| clients × %d tokens | longctx tokens/s | llama-server tokens/s | ratio |" % a.decode)
        print("|---|---|---|---|")
        for n, cell in samples["decode"].items():
            x = mmm([s["tokens_per_s"] for s in cell.get("longctx", [])])
            y = mmm([s["tokens_per_s"] for s in cell.get("llama-server", [])])
            summary["decode"][n] = {"longctx": x, "llama-server": y}
            print("| %s | %s | %s | %s |" % (n, fmt(x, 1, 1) if x else "-", fmt(y, 1, 1) if y else "-", ratio(x, y)))
    if a.json:
        doc = {"model": a.model, "ctx_size": a.ctx_size, "threads": a.threads, "parallel": a.parallel,
               "rounds": a.rounds, "decode_tokens": a.decode,
               "invalid_utf8_events": {s.name: s.bad_utf8 for s in servers.values()}, "samples": samples, "summary": summary,
               "loadavg": os.getloadavg()}
        if a.json == "-":
            json.dump(doc, sys.stdout, indent=1)
            print()
        else:
            with open(a.json, "w") as f:
                json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
