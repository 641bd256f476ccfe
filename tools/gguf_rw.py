"""Read and write a GGUF file's key/value pairs, keeping its tensors as they are.

Standard library only; shared by tools/gguf_add_vocab.py and
tools/gguf_set_chat_template.py. A file is read into its version, tensor count,
key/value pairs (each kept as its raw bytes, with the key), alignment, tensor
infos and tensor data; written back with other pairs, the data moved to the
new aligned offset (the infos' offsets are relative to the data, so they stay).
"""
import struct
import sys

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


class Gguf:
    def __init__(self, version, n_tensors, pairs, align, infos, data):
        self.version, self.n_tensors, self.pairs = version, n_tensors, pairs  # pairs: [(key, raw bytes)]
        self.align, self.infos, self.data = align, infos, data


def read(path):
    """The Gguf at path (exits with a message when it is not one)."""
    d = open(path, "rb").read()
    if d[:4] != b"GGUF":
        sys.exit("%s: not a GGUF file" % path)
    pos = 4

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, d, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def skip_value(t):
        nonlocal pos
        if t == STRING:
            n = take("<Q")  # read first: take moves pos
            pos += n
        elif t == ARRAY:
            at, n = take("<I"), take("<Q")
            if at in SIZES:
                pos += SIZES[at] * n
            else:
                for _ in range(n):
                    skip_value(at)
        elif t in SIZES:
            pos += SIZES[t]
        else:
            sys.exit("%s: unknown GGUF value type %d" % (path, t))

    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    pairs, align = [], 32
    for _ in range(n_kv):
        start = pos
        klen = take("<Q")
        key = d[pos:pos + klen]
        pos += klen
        t = take("<I")
        value_at = pos
        skip_value(t)
        if key == b"general.alignment":
            align = struct.unpack_from("<I", d, value_at)[0]
        pairs.append((key, d[start:pos]))
    infos_start = pos
    for _ in range(n_tensors):
        name_len = take("<Q")
        pos += name_len
        n_dims = take("<I")
        pos += 8 * n_dims + 4 + 8
    infos = d[infos_start:pos]
    data = d[(pos + align - 1) // align * align:]
    return Gguf(version, n_tensors, pairs, align, infos, data)


def string_pair(key, value):
    """The raw bytes of a string-valued pair (key: bytes, value: bytes)."""
    return (key, struct.pack("<Q", len(key)) + key + struct.pack("<IQ", STRING, len(value)) + value)


def write(path, g, pairs):
    """g's tensors with these pairs ([(key, raw bytes)]) instead of its own."""
    out = b"GGUF" + struct.pack("<IQQ", g.version, g.n_tensors, len(pairs)) + b"".join(p for _, p in pairs) + g.infos
    out += b"\0" * (-len(out) % g.align)
    with open(path, "wb") as f:
        f.write(out + g.data)
