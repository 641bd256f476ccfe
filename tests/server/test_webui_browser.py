#!/usr/bin/env python3
"""The chat page (GET /) in a real browser: headless Chromium loads
/?q=TEXT&temperature=0&max=N against a server started here, the page streams
the reply through /v1/chat/completions, and the DOM — polled through the
DevTools protocol over a pipe (--remote-debugging-pipe) until the reply is
marked done, at most 120 s — holds the reply the API gives for the same
greedy request, with the stats line (tokens/s, cached tokens).
(--dump-dom with --virtual-time-budget was tried first: virtual time does not
wait for a streamed body, so the dump sometimes came before the reply.)

    test_webui_browser.py CLI MODEL CHROMIUM [SCREENSHOT.png]

With SCREENSHOT the page is also captured (docs/server-chat.png was made so).
"""
import base64
import html.parser
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

cli, model, chromium = sys.argv[1], sys.argv[2], sys.argv[3]
shot = sys.argv[4] if len(sys.argv) > 4 else None
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    failures += not cond


class Reply(html.parser.HTMLParser):
    """Text of the first div.msg.assistant (without its stats child) and its attributes."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.text = ""
        self.attrs = None
        self.stats = ""
        self.in_stats = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth:
            self.depth += tag == "div"
            self.in_stats = self.in_stats or "stats" in (a.get("class") or "")
        elif tag == "div" and a.get("class") == "msg assistant" and self.attrs is None:
            self.depth = 1
            self.attrs = a

    def handle_endtag(self, tag):
        if self.depth and tag == "div":
            self.depth -= 1
            self.in_stats = False if self.depth == 1 else self.in_stats

    def handle_data(self, data):
        if self.depth:
            if self.in_stats:
                self.stats += data
            else:
                self.text += data


q, max_tokens = "Once upon a time", 24
p = subprocess.Popen([cli, "serve", "-m", model, "--port", "0", "-t", "2"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
try:
    line = p.stdout.readline()
    if not line.startswith("port "):
        raise SystemExit(f"server did not start: {line!r} {p.stderr.read()}")
    port = int(line.split()[1])
    base = f"http://127.0.0.1:{port}"
    req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(
        {"messages": [{"role": "user", "content": q}], "max_tokens": max_tokens, "temperature": 0}).encode(),
        headers={"Content-Type": "application/json"})
    want = json.load(urllib.request.urlopen(req, timeout=120))["choices"][0]["message"]["content"]
    url = f"{base}/?q={urllib.parse.quote(q)}&temperature=0&max={max_tokens}"
    # Chromium reads DevTools commands from fd 3 and writes to fd 4, each a JSON text ending in NUL
    import fcntl
    import tempfile
    to_chr_r, to_chr_w = os.pipe()
    from_chr_r, from_chr_w = os.pipe()
    hi_r = fcntl.fcntl(to_chr_r, fcntl.F_DUPFD, 100)  # out of the way of 3 and 4
    hi_w = fcntl.fcntl(from_chr_w, fcntl.F_DUPFD, 100)
    os.close(to_chr_r)
    os.close(from_chr_w)
    os.set_inheritable(hi_r, True)
    os.set_inheritable(hi_w, True)

    def child_fds():
        os.dup2(hi_r, 3)
        os.dup2(hi_w, 4)

    chr_log = tempfile.TemporaryFile()
    br = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--no-first-run", "--remote-debugging-pipe", "--window-size=760,420", "--hide-scrollbars",
                           "about:blank"], pass_fds=(3, 4, hi_r, hi_w), preexec_fn=child_fds,
                          stdout=subprocess.DEVNULL, stderr=chr_log)
    os.close(hi_r)
    os.close(hi_w)
    buf = b""
    next_id = [0]

    def cdp(method, params=None, session=None):
        global buf
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(to_chr_w, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in buf:
                chunk = os.read(from_chr_r, 1 << 16)
                if not chunk:
                    chr_log.seek(0)
                    raise SystemExit(f"chromium closed the pipe: {chr_log.read()[-400:]!r}")
                buf += chunk
            raw, buf = buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == next_id[0]:
                if "error" in m:
                    raise SystemExit(f"{method}: {m['error']}")
                return m["result"]

    try:
        tid = cdp("Target.createTarget", {"url": url})["targetId"]
        sid = cdp("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        dom = ""
        deadline = time.time() + 120
        while time.time() < deadline:
            v = cdp("Runtime.evaluate", {"expression": "document.querySelector('[data-done]') ? "
                                         "document.documentElement.outerHTML : ''", "returnByValue": True},
                    session=sid)["result"].get("value", "")
            if v:
                dom = v
                break
            time.sleep(0.2)
        check(dom != "", "the page finished its reply within 120 s")
        rp = Reply()
        rp.feed(dom)
        check(rp.attrs is not None and rp.attrs.get("data-done") == "1", f"the reply is marked done: {rp.attrs}")
        check(len(want) > 0 and rp.text == want, f"the page shows the streamed reply {rp.text!r}, the API's is {want!r}")
        check("tok/s" in rp.stats and "cached" in rp.stats, f"the stats line: {rp.stats!r}")
        if shot and dom:
            png = base64.b64decode(cdp("Page.captureScreenshot", {"format": "png"}, session=sid)["data"])
            with open(shot, "wb") as f:
                f.write(png)
            check(png[:8] == b"\x89PNG\r\n\x1a\n", f"screenshot {shot} ({len(png)} bytes)")
        try:
            cdp("Browser.close")
        except SystemExit:
            pass
    finally:
        try:
            br.wait(timeout=30)
        except subprocess.TimeoutExpired:
            br.kill()
            br.wait()
finally:
    p.terminate()
    p.wait(timeout=60)
print(f"test_webui_browser: {failures} failed")
sys.exit(1 if failures else 0)
