#!/usr/bin/env python3
"""Random valid-UTF-8 test strings for tokenizer_crosscheck.sh, one per line in hex:
the pre-tokenizer reference's atoms (tools/gen_pretokenize_reference.py) plus
user-defined, end-of-turn and gpt-oss marker texts, "▁", whitespace runs and
long lines.  Usage: cases.py SEED COUNT"""
import importlib.util
import os
import random
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ref", os.path.join(here, "..", "gen_pretokenize_reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
EXTRA = ["ö", "ø", "ú", "ÿ", "À", "Á", "ü", "</s>", "<s>", "<|tool_call>", "<tool_call|>", "<|tool_response>",
         "<|channel|>", "<|im_end|>", "[PAD151646]", "[PAD100015]", "<|START_OF_TURN_TOKEN|>", "<|endoftext|>",
         "<|im_start|>", "\u2581", "    ", "\n\n\n", "\t\t\t", " the quick brown fox jumps over the lazy dog. " * 3,
         "internationalization", "Ελληνικά κείμενα", "Привет, мир!", "こんにちは世界"]
atoms = ref.ATOMS + EXTRA
rng = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    print("".join(rng.choice(atoms) for _ in range(rng.randint(1, 40))).encode("utf-8").hex())
