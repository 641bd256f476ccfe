#!/usr/bin/env python3
"""Copy a GGUF model with the tokenizer.* keys of another GGUF file (a vocabulary).

Standard library only. `longctx convert --random` writes no tokenizer; giving such a
model a real vocabulary of the same size (e.g. ../shared/vocab/ggml-vocab-llama-spm.gguf,
32000 tokens, for the 15M preset) lets text servers (longctx serve, llama-server) load
it for benchmarks. The model's own tokenizer.* keys, if any, are replaced; the tensor
infos and data are copied, the data moved to the new aligned offset.

    python3 tools/gguf_add_vocab.py MODEL.gguf VOCAB.gguf OUT.gguf
"""
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


def parse(path):
    """(version, n_tensors, [(key, raw pair bytes)], alignment, tensor infos, data)."""
    d = open(path, "rb").read()
    if d[:4] != b"GGUF":
        sys.exit("%s: not a GGUF file" % path)
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
        elif t in SIZES:
            pos += SIZES[t]
        else:
            sys.exit("%s: unknown GGUF value type %d" % (path, t))

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
    infos = d[infos_start:pos]
    data = d[(pos + align - 1) // align * align:]
    return version, n_tensors, pairs, align, infos, data


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    version, n_tensors, pairs, align, infos, data = parse(sys.argv[1])
    vocab = [p for k, p in parse(sys.argv[2])[2] if k.startswith(b"tokenizer.")]
    if not vocab:
        sys.exit("%s: no tokenizer.* keys" % sys.argv[2])
    kept = [p for k, p in pairs if not k.startswith(b"tokenizer.")] + vocab
    out = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(kept)) + b"".join(kept) + infos
    out += b"\0" * (-len(out) % align)
    with open(sys.argv[3], "wb") as f:
        f.write(out + data)


if __name__ == "__main__":
    main()
