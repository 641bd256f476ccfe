#!/usr/bin/env python3
"""Copy a GGUF model with the tokenizer.* keys of another GGUF file (a vocabulary).

Standard library only (tools/gguf_rw.py). `longctx convert --random` writes no
tokenizer; giving such a model a real vocabulary of the same size (e.g.
../shared/vocab/ggml-vocab-llama-spm.gguf, 32000 tokens, for the 15M preset) lets
text servers (longctx serve, llama-server) load it for benchmarks. The model's own
tokenizer.* keys, if any, are replaced; the tensor infos and data are copied, the
data moved to the new aligned offset.

    python3 tools/gguf_add_vocab.py MODEL.gguf VOCAB.gguf OUT.gguf
"""
import sys

import gguf_rw


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    g = gguf_rw.read(sys.argv[1])
    vocab = [p for p in gguf_rw.read(sys.argv[2]).pairs if p[0].startswith(b"tokenizer.")]
    if not vocab:
        sys.exit("%s: no tokenizer.* keys" % sys.argv[2])
    gguf_rw.write(sys.argv[3], g, [p for p in g.pairs if not p[0].startswith(b"tokenizer.")] + vocab)


if __name__ == "__main__":
    main()
