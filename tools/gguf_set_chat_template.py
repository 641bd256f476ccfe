#!/usr/bin/env python3
"""Copy a GGUF file with tokenizer.chat_template set to the text of a template file.

Standard library only: the header, the key/value pairs and the tensor infos are
copied (the key replaced if present, else appended), the tensor data moved to the
new aligned offset. Used by tests/cli/chat_jinja.sh to give the aidreams260K model
the chat templates of ../shared/templates.

    python3 tools/gguf_set_chat_template.py IN.gguf OUT.gguf TEMPLATE.jinja
"""
import struct
import sys

KEY = b"tokenizer.chat_template"
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9


def main():
    src, dst, tpl_path = sys.argv[1:4]
    d = open(src, "rb").read()
    template = open(tpl_path, "rb").read()
    if d[:4] != b"GGUF":
        sys.exit("%s: not a GGUF file" % src)
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
        if key != KEY:
            pairs.append(d[start:pos])
    infos_start = pos
    for _ in range(n_tensors):
        name_len = read("<Q")
        pos += name_len
        n_dims = read("<I")
        pos += 8 * n_dims + 4 + 8
    infos = d[infos_start:pos]
    data = d[(pos + align - 1) // align * align:]
    pairs.append(struct.pack("<Q", len(KEY)) + KEY + struct.pack("<IQ", STRING, len(template)) + template)
    out = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(pairs)) + b"".join(pairs) + infos
    out += b"\0" * (-len(out) % align)
    open(dst, "wb").write(out + data)


if __name__ == "__main__":
    main()
