#!/usr/bin/env python3
"""Seed corpora for the file-reader fuzzers: tiny valid GGUF and llama2.c files.

Written with the standard library only (struct), independently of the C
writer, so the corpus doubles as a cross-check of the format: the C tests
open every file produced here (test_gguf, test_model_load).

Regenerate (deterministic) from the repository root:
    python3 tools/make_fuzz_corpus.py fuzz/corpus
"""
import os
import random
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
              U64: "<Q", I64: "<q", F64: "<d"}
GGML_F32, GGML_F16, GGML_Q8_0, GGML_BF16 = 0, 1, 8, 30


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        return out + b"".join(gvalue(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def tensor_bytes(ggml_type, values, cols):
    if ggml_type == GGML_F32:
        return struct.pack("<%df" % len(values), *values)
    if ggml_type == GGML_F16:
        return struct.pack("<%de" % len(values), *values)
    if ggml_type == GGML_BF16:
        return b"".join(struct.pack("<H", struct.unpack("<I", struct.pack("<f", x))[0] >> 16) for x in values)
    if ggml_type == GGML_Q8_0:
        assert cols % 32 == 0
        out = b""
        for b in range(0, len(values), 32):
            blk = values[b:b + 32]
            amax = max(abs(x) for x in blk)
            d = amax / 127.0
            q = [0 if d == 0 else max(-127, min(127, round(x / d))) for x in blk]
            out += struct.pack("<H", f16_bits(d)) + struct.pack("<32b", *q)
        return out
    raise ValueError(ggml_type)


def gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ne list, ggml_type, bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gvalue(t, v)
    offset, data = 0, b""
    for name, ne, gt, raw in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        out += struct.pack("<IQ", gt, offset)
        pad = (-len(raw)) % alignment
        data += raw + b"\0" * pad
        offset += len(raw) + pad
    if tensors:
        out += b"\0" * ((-len(out)) % alignment)
    return out + data


def normal(rng, n):
    return [rng.gauss(0.0, 0.02) for _ in range(n)]


def llama_model(rng, dim, hidden, layers, heads, kv_heads, vocab, ctx, mat_type, tied, extra_kvs=(), tokenizer=True):
    head = dim // heads
    kvs = [("general.architecture", STR, "llama"), ("general.name", STR, "tiny"),
           ("llama.context_length", U32, ctx), ("llama.embedding_length", U32, dim),
           ("llama.block_count", U32, layers), ("llama.feed_forward_length", U32, hidden),
           ("llama.attention.head_count", U32, heads), ("llama.attention.head_count_kv", U32, kv_heads),
           ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5), ("llama.rope.dimension_count", U32, head),
           ("llama.vocab_size", U32, vocab)]
    kvs += list(extra_kvs)
    if tokenizer:
        toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(4)] + ["\u2581t%d" % i for i in range(vocab - 7)]
        kvs += [("tokenizer.ggml.model", STR, "llama"), ("tokenizer.ggml.tokens", ARR, (STR, toks)),
                ("tokenizer.ggml.scores", ARR, (F32, [-float(i) for i in range(vocab)])),
                ("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3] + [6] * 4 + [1] * (vocab - 7))),
                ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2),
                ("tokenizer.ggml.unknown_token_id", U32, 0)]
    tensors = []

    def mat(name, rows, cols, t=None):
        t = mat_type if t is None else t
        if t == GGML_Q8_0 and cols % 32:
            t = GGML_F16
        tensors.append((name, [cols, rows], t, tensor_bytes(t, normal(rng, rows * cols), cols)))

    def norm(name):
        tensors.append((name, [dim], GGML_F32, tensor_bytes(GGML_F32, [1.0] * dim, dim)))

    mat("token_embd.weight", vocab, dim)
    norm("output_norm.weight")
    if not tied:
        mat("output.weight", vocab, dim)
    for l in range(layers):
        norm("blk.%d.attn_norm.weight" % l)
        mat("blk.%d.attn_q.weight" % l, heads * head, dim)
        mat("blk.%d.attn_k.weight" % l, kv_heads * head, dim)
        mat("blk.%d.attn_v.weight" % l, kv_heads * head, dim)
        mat("blk.%d.attn_output.weight" % l, dim, heads * head)
        norm("blk.%d.ffn_norm.weight" % l)
        mat("blk.%d.ffn_gate.weight" % l, hidden, dim)
        mat("blk.%d.ffn_up.weight" % l, hidden, dim)
        mat("blk.%d.ffn_down.weight" % l, dim, hidden)
    return kvs, tensors


def llama2c(rng, dim, hidden, layers, heads, kv_heads, vocab, seq, tied):
    head = dim // heads
    kv_dim = head * kv_heads
    sizes = [vocab * dim, layers * dim, layers * dim * dim, layers * kv_dim * dim, layers * kv_dim * dim,
             layers * dim * dim, layers * dim, layers * hidden * dim, layers * dim * hidden, layers * hidden * dim,
             dim, seq * head]
    if not tied:
        sizes.append(vocab * dim)
    out = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if tied else -vocab, seq)
    for n in sizes:
        out += struct.pack("<%df" % n, *normal(rng, n))
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
    rng = random.Random(1234)
    files = {}
    kvs, ts = llama_model(rng, 8, 16, 2, 2, 1, 16, 32, GGML_F32, True)
    files["gguf/tiny_llama_f32.gguf"] = gguf(kvs, ts)
    yarn = [("llama.rope.freq_base", F32, 500000.0), ("llama.rope.scaling.type", STR, "yarn"),
            ("llama.rope.scaling.factor", F32, 4.0), ("llama.rope.scaling.original_context_length", U32, 16),
            ("longctx.attention", STR, "linear:elu"), ("general.alignment", U32, 64)]
    kvs, ts = llama_model(rng, 32, 32, 1, 2, 2, 8, 64, GGML_Q8_0, False, yarn, tokenizer=False)
    files["gguf/tiny_llama_q8_0_untied_yarn.gguf"] = gguf(kvs, ts, alignment=64)
    kvs, ts = llama_model(rng, 8, 12, 1, 2, 2, 8, 16, GGML_F16, True)
    files["gguf/tiny_llama_f16_v2.gguf"] = gguf(kvs, ts, version=2)
    files["gguf/vocab_only_bpe.gguf"] = gguf([
        ("general.architecture", STR, "gpt2"), ("tokenizer.ggml.model", STR, "gpt2"),
        ("tokenizer.ggml.pre", STR, "gpt2"),
        ("tokenizer.ggml.tokens", ARR, (STR, ["a", "b", "c", "ab", "abc", "\u0120a"])),
        ("tokenizer.ggml.token_type", ARR, (I32, [1] * 6)),
        ("tokenizer.ggml.merges", ARR, (STR, ["a b", "ab c"])),
        ("tokenizer.ggml.bos_token_id", U32, 0), ("tokenizer.ggml.eos_token_id", U32, 0)], [])
    every = [("u8", U8, 200), ("i8", I8, -5), ("u16", U16, 60000), ("i16", I16, -300), ("u32", U32, 7),
             ("i32", I32, -7), ("f32", F32, 0.5), ("bool", BOOL, True), ("str", STR, "x\ny"),
             ("u64", U64, 2 ** 40), ("i64", I64, -2 ** 40), ("f64", F64, 0.25),
             ("arr.f32", ARR, (F32, [1.0, 2.0])), ("arr.str", ARR, (STR, ["p", "", "q"])),
             ("arr.nested", ARR, (ARR, [(U8, [1, 2]), (STR, ["z"])])), ("general.alignment", U32, 64)]
    vals = normal(rng, 64)
    ts = [("f32", [4, 2], GGML_F32, tensor_bytes(GGML_F32, vals[:8], 4)),
          ("f16", [3], GGML_F16, tensor_bytes(GGML_F16, vals[:3], 3)),
          ("bf16", [2, 2, 2], GGML_BF16, tensor_bytes(GGML_BF16, vals[:8], 2)),
          ("q8_0", [32, 2], GGML_Q8_0, tensor_bytes(GGML_Q8_0, vals, 32))]
    files["gguf/all_types.gguf"] = gguf(every, ts, alignment=64)
    files["llama2c/tiny_tied.bin"] = llama2c(rng, 8, 16, 2, 2, 1, 16, 8, True)
    files["llama2c/tiny_untied_gqa.bin"] = llama2c(rng, 16, 24, 1, 4, 2, 12, 4, False)
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print("%-45s %6d bytes" % (path, len(data)))


if __name__ == "__main__":
    main()
