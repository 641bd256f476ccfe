#!/usr/bin/env python3
"""Independent reference for the runtime's golden test: a tiny Llama forward
pass in numpy (float64) that reads a llama2.c legacy checkpoint directly and
generates greedily from a fixed prompt.

It follows llama2.c's run.c semantics (RMSNorm eps 1e-5, RoPE on adjacent
pairs with theta = 10000 per head, SwiGLU with w1 = gate, w3 = up, w2 = down,
tied classifier when vocab_size > 0) and shares no code with longctx.

Produce tests/data/golden/aidreams260K_greedy.txt with:

    python3 tools/llama2c_ref.py ../shared/models/aidreams260K.bin \
        --tokenizer ../shared/models/aidreams-tok512.bin \
        --prompt-pieces "<s>,▁I,▁whisper,▁through,▁the" -n 60 --logit-steps 3 \
        > tests/data/golden/aidreams260K_greedy.txt

(run from the repository root). The prompt is given as vocabulary pieces
looked up exactly in the tokenizer file (no tokenisation algorithm involved;
"\u2581" stands for a space, as llama2.c's tokenizer.bin stores spaces), "<s>"
being BOS = 1.

Output format (text, '#' lines are comments):
    prompt <n> <ids...>
    generated <n> <ids...>
    min_gap <smallest top-1 minus top-2 logit over the greedy steps>
    logits <step> <vocab> <values...>     (step 0 = after the prompt)
"""
import argparse
import struct
import sys

import numpy as np


def load_checkpoint(path):
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    data = np.frombuffer(raw, dtype="<f4", offset=28).astype(np.float64)
    head = dim // n_heads
    kv_dim = head * n_kv_heads
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = data[off:off + n].reshape(shape)
        off += n
        return t

    w = {}
    w["emb"] = take(vocab, dim)
    w["rms_att"] = take(n_layers, dim)
    w["wq"] = take(n_layers, dim, dim)
    w["wk"] = take(n_layers, kv_dim, dim)
    w["wv"] = take(n_layers, kv_dim, dim)
    w["wo"] = take(n_layers, dim, dim)
    w["rms_ffn"] = take(n_layers, dim)
    w["w1"] = take(n_layers, hidden, dim)
    w["w2"] = take(n_layers, dim, hidden)
    w["w3"] = take(n_layers, hidden, dim)
    w["rms_final"] = take(dim)
    off += seq_len * head // 2 * 2  # legacy freq_cis tables
    w["wcls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads, vocab=vocab,
               seq_len=seq_len, head=head, kv_dim=kv_dim)
    return cfg, w


def load_pieces(path, vocab):
    pieces = []
    with open(path, "rb") as f:
        f.read(4)  # max_token_length
        for _ in range(vocab):
            f.read(4)  # score
            (n,) = struct.unpack("<i", f.read(4))
            pieces.append(f.read(n).decode("utf-8", errors="replace"))
    return pieces


def rmsnorm(x, w):
    return x / np.sqrt(np.mean(x * x) + 1e-5) * w


def rope(vec, pos, head):
    out = vec.copy()
    for i in range(0, vec.shape[0], 2):
        freq = 1.0 / (10000.0 ** ((i % head) / head))
        a = pos * freq
        c, s = np.cos(a), np.sin(a)
        out[i] = vec[i] * c - vec[i + 1] * s
        out[i + 1] = vec[i] * s + vec[i + 1] * c
    return out


class Model:
    def __init__(self, cfg, w):
        self.c, self.w = cfg, w
        L, n, kv = cfg["n_layers"], cfg["seq_len"], cfg["kv_dim"]
        self.kc = np.zeros((L, n, kv))
        self.vc = np.zeros((L, n, kv))

    def forward(self, tok, pos):
        c, w = self.c, self.w
        head, nh, nkv = c["head"], c["n_heads"], c["n_kv_heads"]
        x = w["emb"][tok].copy()
        for l in range(c["n_layers"]):
            xb = rmsnorm(x, w["rms_att"][l])
            q = rope(w["wq"][l] @ xb, pos, head)
            k = rope(w["wk"][l] @ xb, pos, head)
            v = w["wv"][l] @ xb
            self.kc[l, pos] = k
            self.vc[l, pos] = v
            att = np.zeros(c["dim"])
            for h in range(nh):
                hk = h // (nh // nkv)
                qh = q[h * head:(h + 1) * head]
                keys = self.kc[l, :pos + 1, hk * head:(hk + 1) * head]
                vals = self.vc[l, :pos + 1, hk * head:(hk + 1) * head]
                s = keys @ qh / np.sqrt(head)
                p = np.exp(s - s.max())
                p /= p.sum()
                att[h * head:(h + 1) * head] = p @ vals
            x = x + w["wo"][l] @ att
            xb = rmsnorm(x, w["rms_ffn"][l])
            g = w["w1"][l] @ xb
            u = w["w3"][l] @ xb
            x = x + w["w2"][l] @ (g / (1.0 + np.exp(-g)) * u)
        return w["wcls"] @ rmsnorm(x, w["rms_final"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--prompt-pieces", required=True, help="comma-separated vocabulary pieces; <s> = BOS (1)")
    ap.add_argument("-n", type=int, default=60, help="tokens to generate")
    ap.add_argument("--logit-steps", type=int, default=3)
    a = ap.parse_args()
    cfg, w = load_checkpoint(a.checkpoint)
    pieces = load_pieces(a.tokenizer, cfg["vocab"])
    prompt = []
    for p in a.prompt_pieces.split(","):
        if p == "<s>":
            prompt.append(1)
        else:
            prompt.append(pieces.index(p.replace("\u2581", " ")))
    m = Model(cfg, w)
    logits = None
    for pos, t in enumerate(prompt):
        logits = m.forward(t, pos)
    out, saved, min_gap = [], [], float("inf")
    pos = len(prompt)
    for step in range(a.n):
        if step < a.logit_steps:
            saved.append(logits.copy())
        order = np.argsort(-logits, kind="stable")
        min_gap = min(min_gap, logits[order[0]] - logits[order[1]])
        tok = int(order[0])
        out.append(tok)
        if step + 1 == a.n or pos >= cfg["seq_len"]:
            break
        logits = m.forward(tok, pos)
        pos += 1
    print("# greedy generation of %s by tools/llama2c_ref.py (numpy float64)" % a.checkpoint.split("/")[-1])
    print("# prompt pieces: %s" % a.prompt_pieces)
    print("# text: %s" % "".join(pieces[t] for t in prompt[1:] + out).replace("\n", "\\n"))
    print("prompt %d %s" % (len(prompt), " ".join(map(str, prompt))))
    print("generated %d %s" % (len(out), " ".join(map(str, out))))
    print("min_gap %.9g" % min_gap)
    for i, lg in enumerate(saved):
        print("logits %d %d %s" % (i, lg.shape[0], " ".join("%.9g" % v for v in lg)))


if __name__ == "__main__":
    sys.exit(main())
