/*
 * longctx/tokenizer.h — tokenizers of the llama family.
 *
 *   SPM   SentencePiece-style BPE over scored pieces ("▁" for spaces, byte
 *         fallback <0xNN>): GGUF tokenizer.ggml.model = "llama", llama2.c's
 *         tokenizer.bin.
 *   BPE   byte-level BPE with ranked merges (GPT-2 byte-to-unicode mapping)
 *         and a regex-equivalent pre-tokenizer: GGUF tokenizer.ggml.model =
 *         "gpt2", pre-tokenizer "gpt2" (default) or "llama-bpe" (llama-3).
 *
 * Encoding and decoding never fail on invalid UTF-8: invalid bytes go through
 * byte fallback (SPM) or byte tokens (BPE) and decode back to the same bytes.
 */
#ifndef LONGCTX_TOKENIZER_H
#define LONGCTX_TOKENIZER_H

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

/* Everything a tokenizer is built from. Arrays are copied. */
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
    const char *pre;            /* BPE pre-tokenizer: "gpt2" or "llama-bpe"      */
    int32_t bos_id, eos_id, unk_id, pad_id; /* -1 when absent                    */
    bool add_bos;               /* default for encode                            */
    bool add_space_prefix;      /* SPM: prepend "▁" (default true)               */
} lc_tokenizer_desc;

lc_status lc_tokenizer_create(const lc_tokenizer_desc *d, lc_tokenizer **out, lc_error *err);
/* llama2.c tokenizer.bin: int32 max_token_length, then per token: f32 score,
 * int32 length, bytes. n_vocab must be given (the file does not store it);
 * BOS = 1, EOS = 2 as in llama2.c. */
lc_status lc_tokenizer_load_llama2c(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err);
/* From GGUF tokenizer.ggml.* metadata (also vocabulary-only files). */
lc_status lc_tokenizer_from_gguf(const struct lc_gguf *g, lc_tokenizer **out, lc_error *err);
void lc_tokenizer_free(lc_tokenizer *t);

lc_tokenizer_kind lc_tokenizer_kind_of(const lc_tokenizer *t);
int32_t lc_tokenizer_n_vocab(const lc_tokenizer *t);
int32_t lc_tokenizer_bos(const lc_tokenizer *t); /* -1 if none */
int32_t lc_tokenizer_eos(const lc_tokenizer *t);
/* Look up a piece by its exact bytes; -1 if absent. */
int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *piece, size_t len);

/* Encode len bytes of text. Writes at most cap ids and sets *n to the number
 * the text needs (call with cap 0 to size); LC_ERR_TOO_LARGE if cap < *n.
 * Special tokens in the text are not parsed (plain text). */
lc_status lc_tokenizer_encode(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t *ids,
                              int64_t cap, int64_t *n, lc_error *err);

/* The raw piece of a token (as stored). */
const char *lc_tokenizer_piece(const lc_tokenizer *t, int32_t id, size_t *len);
/* The bytes token id stands for in decoded text: "▁" -> " ", <0x0A> -> "\n",
 * GPT-2 byte mapping undone; control tokens decode to nothing. prev_id (or -1)
 * lets SPM drop the leading space right after BOS, as sentencepiece does.
 * Writes at most cap bytes into buf; returns the full length. */
size_t lc_tokenizer_decode_token(const lc_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t cap);
/* Decode a whole sequence into buf (NUL-terminated if room); *len = bytes
 * needed (without NUL). LC_ERR_TOO_LARGE if cap is too small. */
lc_status lc_tokenizer_decode(const lc_tokenizer *t, const int32_t *ids, int64_t n, char *buf, size_t cap,
                              size_t *len, lc_error *err);

/* Introspection (for writing the tokenizer into a GGUF, `tokenize --pieces`). */
float lc_tokenizer_score(const lc_tokenizer *t, int32_t id);
int32_t lc_tokenizer_type(const lc_tokenizer *t, int32_t id);
int64_t lc_tokenizer_n_merges(const lc_tokenizer *t);
const char *lc_tokenizer_merge(const lc_tokenizer *t, int64_t i, size_t *len);

/* Write tokenizer.ggml.* keys (model, pre, tokens, scores, token_type,
 * merges, bos/eos/unk ids, add_bos_token) so llama.cpp and longctx can load
 * the tokenizer back from the GGUF. */
struct lc_gguf_writer;
lc_status lc_tokenizer_to_gguf(const lc_tokenizer *t, struct lc_gguf_writer *w, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TOKENIZER_H */
