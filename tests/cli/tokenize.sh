#!/usr/bin/env bash
# longctx tokenize end to end: GGUF vocabularies (ids from llama.cpp's test
# vectors), llama2.c tokenizer.bin with --vocab-size or -m MODEL.bin, BOS
# defaults, --pieces with escapes, stdin, --show-count, --stats, exit codes.
# Usage (from ctest): tokenize.sh CLI SHARED_DIR SOURCE_DIR
set -u
CLI=$1
SHARED=$2
if [ ! -d "$SHARED/vocab" ] || [ ! -d "$SHARED/models" ]; then
    echo "SKIP: $SHARED is absent"
    exit 77
fi
. "$(dirname "$0")/lib.bash"
same() { # file expected description
    checks=$((checks + 1))
    local got
    got=$(cat "$1")
    [ "$got" == "$2" ] || fail "$3: got '$(head -c 300 "$1")', want '$2'"
}
SPM=$SHARED/vocab/ggml-vocab-llama-spm.gguf
GPT2=$SHARED/vocab/ggml-vocab-gpt-2.gguf
BIN=$SHARED/models/llama2-tokenizer.bin
ARTICLE=$SHARED/seed/context-length-article.zh.txt

# --- ids (llama.cpp's vectors: "Hello world", " Hello World!") ----------------
run 0 "spm --no-bos" "$CLI" tokenize -m "$SPM" -p "Hello world" --no-bos
same "$tmp/out" "15043 3186" "spm Hello world"
run 0 "spm with BOS (add_bos_token)" "$CLI" tokenize -m "$SPM" -p " Hello World!"
same "$tmp/out" "1 29871 15043 2787 29991" "spm BOS by default"
run 0 "gpt2" "$CLI" tokenize -m "$GPT2" -p "Hello world"
same "$tmp/out" "15496 995" "gpt2 has no BOS by default"
run 0 "phi-3" "$CLI" tokenize -m "$SHARED/vocab/ggml-vocab-phi-3.gguf" --prompt="Hello, world!" --no-bos
same "$tmp/out" "15043 29892 3186 29991" "phi-3, --prompt=TEXT"
run 0 "empty text" "$CLI" tokenize -m "$SPM" -p ""
same "$tmp/out" "1" "empty text is BOS only"
run 0 "empty text, no BOS" "$CLI" tokenize -m "$SPM" -p "" --no-bos
same "$tmp/out" "" "empty text, no BOS: an empty line"

# --- the family vocabularies (ids from their llama.cpp vectors; BOS as each declares)
V=$SHARED/vocab
run 0 "llama-bpe" "$CLI" tokenize -m "$V/ggml-vocab-llama-bpe.gguf" -p " Hello World!"
same "$tmp/out" "128000 22691 4435 0" "llama-bpe: BOS by default (llama.cpp's llama-bpe default)"
run 0 "qwen2 digits" "$CLI" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p "333333"
same "$tmp/out" "18 18 18 18 18 18" "qwen2: one digit per word, no BOS"
run 0 "command-r" "$CLI" tokenize -m "$V/ggml-vocab-command-r.gguf" -p " Hello World!" --no-bos
same "$tmp/out" "46609 3930 8" "command-r"
run 0 "deepseek-llm" "$CLI" tokenize -m "$V/ggml-vocab-deepseek-llm.gguf" -p " Hello World!" --no-bos
same "$tmp/out" "37727 5427 0" "deepseek-llm"
run 0 "gemma-4" "$CLI" tokenize -m "$V/ggml-vocab-gemma-4.gguf" -p " Hello World!"
same "$tmp/out" "2 26352 4109 236888" "gemma-4: BOS 2"
# an unknown tokenizer.ggml.pre ("qwen2" patched to "qwen9" in place) is refused, named
perl -0777 -pe 's/(tokenizer\.ggml\.pre\x08\x00\x00\x00\x05\x00{7})qwen2/${1}qwen9/' \
    "$V/ggml-vocab-qwen2.gguf" >"$tmp/qwen9.gguf"
run 1 "unknown pre-tokenizer" "$CLI" tokenize -m "$tmp/qwen9.gguf" -p "333"
has "$tmp/err" '"qwen9"' "the refusal names the pre-tokenizer"

# --- llama2.c tokenizer.bin agrees with the GGUF of the same vocabulary -------
run 0 "gguf article" "$CLI" tokenize -m "$SPM" -f "$ARTICLE"
cp "$tmp/out" "$tmp/article.gguf"
run 0 "tokenizer.bin article" "$CLI" tokenize -z "$BIN" --vocab-size 32000 -f "$ARTICLE"
checks=$((checks + 1))
cmp -s "$tmp/out" "$tmp/article.gguf" || fail "llama2-tokenizer.bin and ggml-vocab-llama-spm.gguf disagree on the article"
n=$(wc -w <"$tmp/out")
[ "$n" -gt 1000 ] || fail "article: only $n tokens"
run 0 "aidreams .bin + -z" "$CLI" tokenize -m "$SHARED/models/aidreams260K.bin" -z "$SHARED/models/aidreams-tok512.bin" -p "the whispers"
same "$tmp/out" "1 312 325" "aidreams via the model's vocab size"
run 0 "aidreams gguf" "$CLI" tokenize -m "$SHARED/models/aidreams260K.gguf" -p "the whispers"
same "$tmp/out" "1 312 325" "aidreams GGUF agrees"

# --- stdin, --pieces, --show-count, --stats -------------------------------------
checks=$((checks + 1))
printf 'Hello world' | "$CLI" tokenize -m "$GPT2" --stdin >"$tmp/out" 2>"$tmp/err" || fail "--stdin"
same "$tmp/out" "15496 995" "--stdin"
checks=$((checks + 1))
printf 'Hello world' | "$CLI" tokenize -m "$GPT2" -f - >"$tmp/out" 2>"$tmp/err" || fail "-f -"
same "$tmp/out" "15496 995" "-f -"
run 0 "pieces gpt2" "$CLI" tokenize -m "$GPT2" -p $' tokenizer\n' --pieces
same "$tmp/out" $'11241\tĠtoken\n7509\tizer\n198\tĊ' "gpt2 pieces"
run 0 "pieces spm" "$CLI" tokenize -m "$SPM" -p $'a\tb' --pieces --no-bos
same "$tmp/out" $'263\t▁a\n12\t<0x09>\n29890\tb' "spm pieces"
run 0 "show-count" "$CLI" tokenize -m "$SPM" -p "Hello world" --show-count
same "$tmp/out" $'1 15043 3186\nTotal number of tokens: 3' "--show-count"
run 0 "stats" "$CLI" tokenize -m "$SPM" -p "Hello world" --stats
same "$tmp/out" "1 15043 3186" "--stats keeps stdout clean"
grep -q "11 bytes -> 3 tokens" "$tmp/err" || fail "--stats line: $(cat "$tmp/err")"

# A hand-made tokenizer.bin whose pieces hold control bytes and a backslash:
# max_len 4, then 5 x {score, len, bytes}: <unk>, \n<s>\n, \n</s>\n, "\x01", "a\b"
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x00\\x00"; }
{
    le32 6
    for p in '<unk>' $'\n<s>\n' $'\n</s>\n' $'\x01' 'a\'; do
        printf '\x00\x00\x00\x00'
        le32 ${#p}
        printf '%s' "$p"
    done
} >"$tmp/tiny.bin"
run 0 "tiny tokenizer.bin pieces" "$CLI" tokenize -z "$tmp/tiny.bin" --vocab-size 5 -p $'\x01a\\' --pieces --no-bos
# (the "▁" space prefix is no piece here and there are no byte pieces: 3 x <unk>)
same "$tmp/out" $'0\t<unk>\n0\t<unk>\n0\t<unk>\n3\t\\x01\n4\ta\\\\' "escaped pieces"

# --- refusals and exit codes ------------------------------------------------------
run 0 "--help" "$CLI" tokenize --help
grep -q "usage: longctx tokenize" "$tmp/out" || fail "--help prints the usage on stdout"
run 2 "no arguments" "$CLI" tokenize
run 2 "no text" "$CLI" tokenize -m "$SPM"
run 2 "both -p and -f" "$CLI" tokenize -m "$SPM" -p x -f "$ARTICLE"
run 2 "-z without a size" "$CLI" tokenize -z "$BIN" -p x
run 2 "bad size" "$CLI" tokenize -z "$BIN" --vocab-size -3 -p x
run 2 "unknown option" "$CLI" tokenize -m "$SPM" -p x --frobnicate
run 2 "missing value" "$CLI" tokenize -m "$SPM" -p
run 1 "wrong vocab size" "$CLI" tokenize -z "$BIN" --vocab-size 512 -p x
grep -q "vocabulary size" "$tmp/err" || fail "wrong size message: $(cat "$tmp/err")"
head -c 1000 "$BIN" >"$tmp/truncated.bin"
run 1 "truncated tokenizer.bin" "$CLI" tokenize -z "$tmp/truncated.bin" --vocab-size 32000 -p x
grep -q "truncated\|past the end" "$tmp/err" || fail "truncated message: $(cat "$tmp/err")"
run 1 "missing file" "$CLI" tokenize -m "$SPM" -f "$tmp/nope.txt"
run 1 "missing model" "$CLI" tokenize -m "$tmp/nope.gguf" -p x
run 1 "model without vocabulary" "$CLI" tokenize -m "$SHARED/models/stories260K.bin" -p x
grep -q "tokenizer.bin" "$tmp/err" || fail "no-vocabulary message: $(cat "$tmp/err")"
printf 'GGUF\x03\x00\x00\x00' >"$tmp/broken.gguf"
run 1 "broken GGUF" "$CLI" tokenize -m "$tmp/broken.gguf" -p x

finish tokenize.sh
