#!/usr/bin/env python3
"""Copy a GGUF model with the tokenizer of a vocabulary-only GGUF.

Standard library only: every `tokenizer.*` key of the model is dropped and the
vocabulary file's `tokenizer.*` keys appended; the tensor infos are copied and
the tensor data moved to the new aligned offset. For benchmarking models
converted without a tokenizer (`longctx serve` needs one), e.g.

    python3 tools/gguf_set_vocab.py q05.q4km.gguf q05-tok.gguf ../shared/vocab/ggml-vocab-qwen2.gguf

The vocabulary must be the model's (same ids); nothing checks that here.
"""
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


def parse(d):
    """(version, n_tensors, [(key, raw pair bytes)], alignment, tensor infos, data offset)."""
    if d[:4] != b"GGUF":
        sys.exit("not a GGUF file")
    pos = 4

    def read(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, d, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def skip_value(t):
        nonlocal pos
        if t == STRING:
            n = read("<Q")
            pos += n
        elif t == ARRAY:
            at, n = read("<I"), read("<Q")
            if at in SIZES:
                pos += SIZES[at] * n
            else:
                for _ in range(n):
                    skip_value(at)
        else:
            pos += SIZES[t]

    version, n_tensors, n_kv = read("<I"), read("<Q"), read("<Q")
    pairs, align = [], 32
    for _ in range(n_kv):
        start = pos
        klen = read("<Q")
        key = d[pos:pos + klen]
        pos += klen
        t = read("<I")
        value_at = pos
        skip_value(t)
        if key == b"general.alignment":
            align = struct.unpack_from("<I", d, value_at)[0]
        pairs.append((key, d[start:pos]))
    infos_start = pos
    for _ in range(n_tensors):
        name_len = read("<Q")
        pos += name_len
        n_dims = read("<I")
        pos += 8 * n_dims + 4 + 8
    return version, n_tensors, pairs, align, d[infos_start:pos], (pos + align - 1) // align * align


def main():
    src, dst, vocab = sys.argv[1:4]
    d = open(src, "rb").read()
    version, n_tensors, pairs, align, infos, data_at = parse(d)
    _, _, vpairs, _, _, _ = parse(open(vocab, "rb").read())
    kept = [raw for key, raw in pairs if not key.startswith(b"tokenizer.")]
    kept += [raw for key, raw in vpairs if key.startswith(b"tokenizer.")]
    out = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(kept)) + b"".join(kept) + infos
    out += b"\0" * (-len(out) % align)
    with open(dst, "wb") as f:
        f.write(out)
        f.write(memoryview(d)[data_at:])


if __name__ == "__main__":
    main()
