/*
 * longctx/tokenizer.h — tokenizers of the llama family.
 *
 *   SPM   SentencePiece-style BPE over scored pieces ("▁" for spaces, byte
 *         fallback <0xNN>): GGUF tokenizer.ggml.model = "llama", llama2.c's
 *         tokenizer.bin.
 *   BPE   byte-level BPE with ranked merges (GPT-2 byte-to-unicode mapping)
 *         and a regex-equivalent pre-tokenizer: GGUF tokenizer.ggml.model =
 *         "gpt2" with tokenizer.ggml.pre "gpt-2" (also "gpt2"), "llama-bpe"
 *         (also "llama3", "llama-v3"), "qwen2", "gpt-4o", "command-r" or
 *         "deepseek-llm"; and Gemma 4's BPE over raw UTF-8 (model "gemma4").
 *         A pre-tokenizer name longctx does not implement is refused
 *         (LC_ERR_UNSUPPORTED, naming it), never run as another one.
 *
 * Encoding and decoding never fail on invalid UTF-8: invalid bytes go through
 * byte fallback (SPM) or byte tokens (BPE) and decode back to the same bytes.
 * decode(encode(x)) == x for every byte string x, with one exception that is
 * SentencePiece's own: SPM writes spaces as "▁" (U+2581), so a literal "▁" in
 * the text decodes as a space.
 *
 * Ownership: lc_tokenizer_create copies everything it is given; the caller
 * keeps its arrays. Every lc_tokenizer is freed with lc_tokenizer_free.
 * A tokenizer is immutable after creation: any number of threads may encode
 * and decode with it at once.
 *
 * Details, conventions and what was verified against llama.cpp:
 * docs/tokenizers.md.
 */
#ifndef LONGCTX_TOKENIZER_H
#define LONGCTX_TOKENIZER_H

#include <stdio.h>

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_tokenizer lc_tokenizer;
struct lc_gguf;

typedef enum { LC_TOKENIZER_SPM = 0, LC_TOKENIZER_BPE = 1 } lc_tokenizer_kind;

/* Token types as in GGUF tokenizer.ggml.token_type. */
enum {
    LC_TOKEN_UNDEFINED = 0,
    LC_TOKEN_NORMAL = 1,
    LC_TOKEN_UNKNOWN = 2,
    LC_TOKEN_CONTROL = 3,
    LC_TOKEN_USER_DEFINED = 4,
    LC_TOKEN_UNUSED = 5,
    LC_TOKEN_BYTE = 6
};

/* Everything a tokenizer is built from. Arrays are copied.
 *
 * SPM: pieces + scores (+ types); "<0xNN>" pieces give byte fallback. A merge
 *      only ever produces a NORMAL, USER_DEFINED or UNDEFINED piece. merges
 *      are ignored.
 * BPE: pieces + merges (+ types): pieces are in GPT-2 byte-to-unicode
 *      characters ("Ġ" = U+0120 for a space); merge i is "left right" (split
 *      at the first space after the first byte) and has rank i. A byte-level
 *      BPE trainer produces exactly this: the 256 byte characters, then one
 *      piece and one merge per learned merge.
 *
 * types NULL: bos/eos/pad are CONTROL, unk UNKNOWN, SPM "<0xNN>" BYTE, the
 * rest NORMAL. piece_lens / merge_lens NULL: NUL-terminated strings.
 * Duplicate pieces are allowed; lookups find the highest id (as llama.cpp). */
typedef struct {
    lc_tokenizer_kind kind;
    int32_t n_vocab;
    const char *const *pieces;  /* [n_vocab] */
    const size_t *piece_lens;   /* [n_vocab] byte lengths (pieces may hold NUL) */
    const float *scores;        /* [n_vocab] or NULL (SPM merge priorities)      */
    const int32_t *types;       /* [n_vocab] or NULL (LC_TOKEN_*)                */
    const char *const *merges;  /* BPE: [n_merges] "left right", rank = index    */
    const size_t *merge_lens;
    int64_t n_merges;
    const char *pre;            /* BPE pre-tokenizer (NULL: "gpt-2"): "gpt2",
                                   "llama-bpe", "qwen2", "gpt-4o", "command-r",
                                   "deepseek-llm", "gemma4" (Gemma 4: raw UTF-8
                                   pieces with "▁" for spaces, <0xNN> fallback) */
    int32_t bos_id, eos_id, unk_id, pad_id; /* -1 when absent                    */
    bool add_bos;               /* default for encode                            */
    bool add_eos;               /* the vocabulary asks for EOS after a text      */
    bool add_space_prefix;      /* SPM: prepend "▁" (default true)               */
} lc_tokenizer_desc;

lc_status lc_tokenizer_create(const lc_tokenizer_desc *d, lc_tokenizer **out, lc_error *err);
/* llama2.c tokenizer.bin: int32 max_token_length, then per token: f32 score,
 * int32 length, bytes. n_vocab must be given (the file does not store it);
 * BOS = 1, EOS = 2, UNK = 0 as in llama2.c. Spaces in pieces become "▁" and
 * "\n<s>\n" / "\n</s>\n" become "<s>" / "</s>" (llama.cpp's converter does
 * the same); add_space_prefix and add_bos are true (llama2.c's run.c puts a
 * dummy prefix " " before a non-empty prompt). */
lc_status lc_tokenizer_load_llama2c(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err);
/* The same from a tokenizer.bin image in memory (not kept). */
lc_status lc_tokenizer_load_llama2c_memory(const void *data, size_t size, int32_t n_vocab, lc_tokenizer **out,
                                           lc_error *err);
/* From GGUF tokenizer.ggml.* metadata (also vocabulary-only files). */
lc_status lc_tokenizer_from_gguf(const struct lc_gguf *g, lc_tokenizer **out, lc_error *err);
/* From a file: a llama2.c tokenizer.bin when n_vocab > 0 (the file does not
 * store it), else the vocabulary of a GGUF (a model or a vocabulary-only
 * file). The caller frees *out with lc_tokenizer_free. */
lc_status lc_tokenizer_open(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err);
void lc_tokenizer_free(lc_tokenizer *t);

lc_tokenizer_kind lc_tokenizer_kind_of(const lc_tokenizer *t);
int32_t lc_tokenizer_n_vocab(const lc_tokenizer *t);
int32_t lc_tokenizer_bos(const lc_tokenizer *t); /* -1 if none */
int32_t lc_tokenizer_eos(const lc_tokenizer *t);
int32_t lc_tokenizer_unk(const lc_tokenizer *t);
int32_t lc_tokenizer_pad(const lc_tokenizer *t);
/* Whether the vocabulary asks for BOS in front of a text (GGUF add_bos_token). */
bool lc_tokenizer_add_bos(const lc_tokenizer *t);
/* Whether it asks for EOS after a text (GGUF add_eos_token; encode never
 * appends it: a caller that wants llama.cpp's add_special appends it). */
bool lc_tokenizer_add_eos(const lc_tokenizer *t);
bool lc_tokenizer_add_space_prefix(const lc_tokenizer *t);
/* The pre-tokenizer name as stored (GGUF tokenizer.ggml.pre; "default" for
 * SPM, "gemma4" for Gemma 4); *implemented (may be NULL) is always true now
 * (a tokenizer with an unknown name is refused when it is built). */
const char *lc_tokenizer_pre_name(const lc_tokenizer *t, bool *implemented);
/* End-of-generation tokens as llama.cpp finds them: EOS and the tokens whose
 * text is an end-of-turn marker ("<|eot_id|>", "<|im_end|>", "<end_of_turn>",
 * "<|endoftext|>", "</s>", "<|return|>", ... and the FIM pad/repo/file-
 * separator markers), with llama.cpp's gpt-oss and Gemma 4 exceptions
 * (docs/tokenizers.md). lc_tokenizer_eog_ids writes up to cap of them and
 * returns how many there are (at most 16). */
bool lc_tokenizer_is_eog(const lc_tokenizer *t, int32_t id);
int lc_tokenizer_eog_ids(const lc_tokenizer *t, int32_t *ids, int cap);
/* Look up a piece by its exact bytes; -1 if absent. */
int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *piece, size_t len);

/* Encode len bytes of text. Writes at most cap ids and sets *n to the number
 * the text needs (call with cap 0 to size); LC_ERR_TOO_LARGE if cap < *n.
 * Control tokens in the text are not parsed (plain text); user-defined tokens
 * of a BPE vocabulary are (as llama.cpp and Hugging Face do). add_bos is ignored
 * when the vocabulary has no BOS. At most 256 MiB of text per call. */
lc_status lc_tokenizer_encode(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t *ids,
                              int64_t cap, int64_t *n, lc_error *err);
/* The same into a new array of *n ids (the caller frees *ids with free();
 * NULL and 0 on error): one encode when the text needs at most len + 8 ids,
 * else a second into an array of the size the first reported. */
lc_status lc_tokenizer_encode_alloc(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t **ids,
                                    int64_t *n, lc_error *err);

/* The raw piece of a token (as stored). */
const char *lc_tokenizer_piece(const lc_tokenizer *t, int32_t id, size_t *len);
/* A piece made printable on one line (the CLI's tokenize --pieces): "\\"
 * for a backslash, "\n" "\t" "\r", "\xNN" for other control bytes, DEL
 * and bytes that do not start a well-formed UTF-8 character in s[0..n);
 * well-formed characters are kept. Writes at most cap bytes into out
 * (NUL-terminated when cap > 0) and returns the length it needs (at most
 * 4 * n), as snprintf. */
size_t lc_tokenizer_escape_piece(const char *s, size_t n, char *out, size_t cap);
/* Token ids as the CLI's tokenize prints them: on one line, space-separated;
 * with pieces, one token a line: the id, a tab, and its piece escaped as
 * lc_tokenizer_escape_piece does. Write errors are the stream's (ferror). */
void lc_tokenizer_print_ids(FILE *f, const lc_tokenizer *t, const int32_t *ids, int64_t n, bool pieces);
/* The bytes token id stands for in decoded text: "▁" -> " ", <0x0A> -> "\n",
 * GPT-2 byte mapping undone; control tokens decode to nothing, unknown tokens
 * to "▅" (U+2585, as llama.cpp). prev_id (or -1) lets SPM drop the leading
 * space right after BOS or at the start, as sentencepiece does.
 * Writes at most cap bytes into buf; returns the full length (0 for an id
 * outside the vocabulary). The bytes may end inside a UTF-8 character. */
size_t lc_tokenizer_decode_token(const lc_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t cap);
/* Decode a whole sequence into buf (NUL-terminated if room); *len = bytes
 * needed (without NUL). LC_ERR_TOO_LARGE if cap is too small;
 * LC_ERR_INVALID_ARG for an id outside the vocabulary. */
lc_status lc_tokenizer_decode(const lc_tokenizer *t, const int32_t *ids, int64_t n, char *buf, size_t cap,
                              size_t *len, lc_error *err);

/* Introspection (for writing the tokenizer into a GGUF, `tokenize --pieces`). */
float lc_tokenizer_score(const lc_tokenizer *t, int32_t id);
int32_t lc_tokenizer_type(const lc_tokenizer *t, int32_t id);
int64_t lc_tokenizer_n_merges(const lc_tokenizer *t);
const char *lc_tokenizer_merge(const lc_tokenizer *t, int64_t i, size_t *len);

/* Write tokenizer.ggml.* keys (model, pre, tokens, scores, token_type,
 * merges, bos/eos/unk/padding ids, add_bos_token, add_eos_token,
 * add_space_prefix; model "gemma4" for Gemma 4's BPE) so
 * llama.cpp and longctx can load the tokenizer back from the GGUF. An absent
 * special id is written as 0xFFFFFFFF. */
struct lc_gguf_writer;
lc_status lc_tokenizer_to_gguf(const lc_tokenizer *t, struct lc_gguf_writer *w, lc_error *err);
/* A vocabulary-only GGUF at path: general.architecture "llama", general.name
 * name (NULL: "longctx vocabulary") and the tokenizer's keys. */
lc_status lc_tokenizer_write_vocab_gguf(const lc_tokenizer *t, const char *path, const char *name, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TOKENIZER_H */
