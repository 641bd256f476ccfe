/* Tokenizers — placeholder until the real implementation lands: every call fails. */
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/tokenizer.h"
#include "longctx/gguf.h"
#include "longctx/common.h"
#include <math.h>
#include <string.h>

lc_status lc_tokenizer_create(const lc_tokenizer_desc *d, lc_tokenizer **out, lc_error *err) {
    (void)d;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_create: not implemented yet");
}

lc_status lc_tokenizer_load_llama2c(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err) {
    (void)path;
    (void)n_vocab;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_load_llama2c: not implemented yet");
}

lc_status lc_tokenizer_from_gguf(const struct lc_gguf *g, lc_tokenizer **out, lc_error *err) {
    (void)g;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_from_gguf: not implemented yet");
}

void lc_tokenizer_free(lc_tokenizer *t) {
    (void)t;
}

lc_tokenizer_kind lc_tokenizer_kind_of(const lc_tokenizer *t) {
    (void)t;
    return (lc_tokenizer_kind)0;
}

int32_t lc_tokenizer_n_vocab(const lc_tokenizer *t) {
    (void)t;
    return (int32_t)0;
}

int32_t lc_tokenizer_bos(const lc_tokenizer *t) {
    (void)t;
    return (int32_t)0;
}

int32_t lc_tokenizer_eos(const lc_tokenizer *t) {
    (void)t;
    return (int32_t)0;
}

int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *piece, size_t len) {
    (void)t;
    (void)piece;
    (void)len;
    return (int32_t)0;
}

lc_status lc_tokenizer_encode(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t *ids, int64_t cap, int64_t *n, lc_error *err) {
    (void)t;
    (void)text;
    (void)len;
    (void)add_bos;
    (void)ids;
    (void)cap;
    (void)n;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_encode: not implemented yet");
}

const char * lc_tokenizer_piece(const lc_tokenizer *t, int32_t id, size_t *len) {
    (void)t;
    (void)id;
    (void)len;
    return NULL;
}

size_t lc_tokenizer_decode_token(const lc_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t cap) {
    (void)t;
    (void)prev_id;
    (void)id;
    (void)buf;
    (void)cap;
    return (size_t)0;
}

lc_status lc_tokenizer_decode(const lc_tokenizer *t, const int32_t *ids, int64_t n, char *buf, size_t cap, size_t *len, lc_error *err) {
    (void)t;
    (void)ids;
    (void)n;
    (void)buf;
    (void)cap;
    (void)len;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_decode: not implemented yet");
}

float lc_tokenizer_score(const lc_tokenizer *t, int32_t id) {
    (void)t;
    (void)id;
    return 0;
}

int32_t lc_tokenizer_type(const lc_tokenizer *t, int32_t id) {
    (void)t;
    (void)id;
    return (int32_t)0;
}

int64_t lc_tokenizer_n_merges(const lc_tokenizer *t) {
    (void)t;
    return (int64_t)0;
}

const char * lc_tokenizer_merge(const lc_tokenizer *t, int64_t i, size_t *len) {
    (void)t;
    (void)i;
    (void)len;
    return NULL;
}

lc_status lc_tokenizer_to_gguf(const lc_tokenizer *t, struct lc_gguf_writer *w, lc_error *err) {
    (void)t;
    (void)w;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_tokenizer_to_gguf: not implemented yet");
}
