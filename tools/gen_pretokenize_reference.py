#!/usr/bin/env python3
"""Reference splits for the BPE pre-tokenizers, made with the `regex` module
running the real regular expressions (an implementation independent of
src/tokenizer/pretokenize.c, which is a hand-written scanner).

Writes tests/data/pretokenize_<name>.txt for gpt2, llama3, qwen2, gpt4o,
command-r, deepseek-llm and gemma4: one case per line, "HEX<TAB>L1,L2,...": the input bytes in hex and the byte
length of each pre-token in order. Inputs are random mixes of ASCII, the
contractions, mixed whitespace (incl. U+00A0, U+3000, NEL, \\r\\n), letters and
numbers of several scripts, combining marks, emoji, digits in runs, and
invalid UTF-8 bytes. Invalid bytes are fed to the regex as lone surrogates
(Python's surrogateescape), which are neither letters, numbers nor
whitespace: the class longctx gives them.

A pre-tokenizer of several expressions is run as Hugging Face's Sequence of
Split(pattern, "isolated") and llama.cpp run it: the first expression cuts the
text into its matches and the gaps between them, the next cuts each of those
pieces on its own, and so on.

Characters are drawn from code points whose categories have been stable for
many Unicode versions, so the reference does not depend on the Unicode
version of `regex` or of src/tokenizer/unicode_tables.c. 'ſ' (U+017F) is left
out: (?i) in `regex` folds it to 's', llama.cpp and longctx fold ASCII only.

    pip install regex
    python3 tools/gen_pretokenize_reference.py tests/data
"""
import os
import random
import sys

import regex

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
          r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
# The expressions below are the ones published in each model's tokenizer.json
# (and quoted in llama.cpp's llama-vocab.cpp).
QWEN2 = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
         r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
GPT4O = (r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
         r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"""
         r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
COMMAND_R = [r"\p{N}", r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"""]
DEEPSEEK_LLM = [  # non-ASCII characters escaped, so that no editor normalises them
    r"[\r\n]",
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
    r"\s+$",
    "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
    r"\p{N}+",
]
GEMMA4 = [r"[^\n]+|[\n]+"]

ATOMS = [
    # ASCII words and contractions
    "Hello", "world", "the", "a", "I", "x", "ABC", "don", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
    "'S", "'RE", "'Ll", "'D", "'", "''", "'x",
    # numbers
    "3", "33", "333", "1234567", "0", "42",
    # punctuation / symbols
    ".", ",", "!", "?", "...", "(", ")", "-", "--", "=", "==", "<|>", "\"", "`", "$", "#", "@", "/", "\\", "_",
    # whitespace, ASCII and not
    " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n", "\t\t", "\x0b", "\x0c",
    "\u00a0", "\u3000", "\u0085", "\u2003", "\u2028",
    # letters of other scripts
    "é", "ß", "Ö", "naïve", "Ελληνικά", "русский", "中文", "字", "日本語", "ひらがな", "カタカナ", "한국어",
    "עברית", "العربية", "हिन्दी", "ไทย", "ẞ", "ǅ", "ʰ",
    # combining marks (Mn / Mc: not letters)
    "e\u0301", "\u0301", "\u0308", "क\u093f", "\u0e31",
    # numbers of other kinds: Nd, Nl, No
    "٣", "߁", "Ⅻ", "½", "²", "①", "〇",
    # symbols, emoji, format characters
    "🦙", "😀", "👍🏽", "❤️", "€", "©", "\u200b", "\ufeff", "\u200d",
    # letter case (o200k): camel case, titlecase, modifier letters, marks after capitals
    "HelloWorld", "XMLHttp", "iPhone", "ǅungla", "ʰa", "ÀÉé", "ΣΑΣ", "McDonald's", "I'M", "E\u0301A",
    # slashes and newlines after punctuation (o200k's [\r\n/]*)
    "/", "//", "a/b\n", ").\r\n",
    # DeepSeek's letter and punctuation lists, full-width forms, CJK ranges
    "café", "µ", "ｆｕｌｌ", "！", "‘quoted’", "。", "、", "ｶﾀｶﾅ", "ǂ", "ƻ",
]
INVALID = [b"\x80", b"\xff", b"\xc3", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\xaf", b"\xfe"]


def random_case(rng):
    parts = []
    for _ in range(rng.randint(1, 14)):
        if rng.random() < 0.08:
            parts.append(rng.choice(INVALID))
        else:
            parts.append(rng.choice(ATOMS).encode("utf-8"))
    return b"".join(parts)


def split_one(pattern, text):
    pieces, pos = [], 0
    for m in pattern.finditer(text):
        if m.start() != pos:  # unmatched characters form a piece of their own
            pieces.append(text[pos:m.start()])
        pieces.append(m.group(0))
        pos = m.end()
    if pos != len(text):
        pieces.append(text[pos:])
    return pieces


def split(patterns, data):
    pieces = [data.decode("utf-8", "surrogateescape")]
    for pattern in patterns:  # each expression cuts every piece of the one before
        pieces = [q for p in pieces for q in split_one(pattern, p)]
    lens = [len(p.encode("utf-8", "surrogateescape")) for p in pieces]
    assert sum(lens) == len(data)
    return lens


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    rng = random.Random(20240617)
    cases = [random_case(rng) for _ in range(400)]
    # fixed cases first: the shapes the docs and tests talk about
    fixed = [b"Hello  world's 12345\n\n", b"   Hello", b"\n =", b"a\r\n\r\n b", b" \t x", b"'sun 'LL 'x",
             b"3.14159 1000000", "中文 字\u3000x".encode(), b"\xff\xfe abc \x80",
             b"HelloWorld's ABCdef I'M", "ÀÉé café ｆｕｌｌ！ 。".encode(), b"a  \t\n  b   \xe2\x80\x83"]
    for name, pats in (("gpt2", [GPT2]), ("llama3", [LLAMA3]), ("qwen2", [QWEN2]), ("gpt4o", [GPT4O]),
                       ("command-r", COMMAND_R), ("deepseek-llm", DEEPSEEK_LLM), ("gemma4", GEMMA4)):
        p = [regex.compile(x) for x in pats]
        path = os.path.join(out_dir, "pretokenize_%s.txt" % name)
        with open(path, "w") as f:
            f.write("# %s pre-tokenizer reference: HEX<TAB>piece byte lengths. "
                    "Generated by tools/gen_pretokenize_reference.py (regex %s)\n" % (name, regex.__version__))
            for data in fixed + cases:
                f.write("%s\t%s\n" % (data.hex(), ",".join(str(x) for x in split(p, data))))


if __name__ == "__main__":
    main()
