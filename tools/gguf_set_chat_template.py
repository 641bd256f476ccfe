#!/usr/bin/env python3
"""Copy a GGUF file with tokenizer.chat_template set to the text of a template file.

Standard library only (tools/gguf_rw.py): the key is replaced if present, else
appended; the tensor data is moved to the new aligned offset. Used by
tests/cli/chat_jinja.sh to give the aidreams260K model the chat templates of
../shared/templates.

    python3 tools/gguf_set_chat_template.py IN.gguf OUT.gguf TEMPLATE.jinja
"""
import sys

import gguf_rw

KEY = b"tokenizer.chat_template"


def main():
    if len(sys.argv) != 4 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    src, dst, tpl_path = sys.argv[1:4]
    g = gguf_rw.read(src)
    template = open(tpl_path, "rb").read()
    pairs = [p for p in g.pairs if p[0] != KEY] + [gguf_rw.string_pair(KEY, template)]
    gguf_rw.write(dst, g, pairs)


if __name__ == "__main__":
    main()
