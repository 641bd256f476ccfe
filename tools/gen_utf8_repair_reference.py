#!/usr/bin/env python3
"""Reference for lc_utf8_repair (tests/test_text.c): byte strings and what
CPython's bytes.decode('utf-8', errors='replace') makes of them (U+FFFD per
maximal ill-formed subpart, the Unicode standard's recommended practice).

  python3 tools/gen_utf8_repair_reference.py > tests/data/utf8_repair.txt

Each line: input hex, a space, output hex (the repaired text re-encoded)."""
import random

def cases():
    fixed = [b"a\xe9\xae b", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"\xf4\x90\x80\x80",
             b"\xe2\x82", b"\xf0\x9f\x98x", b"\xff", b"\xe0\x80\xaf", b"\xef\xbf\xbd", b"caf\xc3\xa9",
             b"\xc3", b"\x80\x80", b"\xf5\x80", b"\xe1\x80\xc3\xa9", b"\xf0\x90\x80"]
    yield from fixed
    rng = random.Random(20261207)
    pool = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
            0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff]
    for _ in range(400):
        n = rng.randint(1, 12)
        yield bytes(rng.choice(pool) if rng.random() < 0.8 else rng.randrange(256) for _ in range(n))

for b in cases():
    print(b.hex(), b.decode("utf-8", errors="replace").encode("utf-8").hex())
