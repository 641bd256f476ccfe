/*
 * longctx/text.h — text in, text out: the one call a library user needs to
 * generate from a prompt, with the CLI's default sampler chain (llama.cpp's:
 * temp 0.8, top-k 40, top-p 0.95, min-p 0.05) and the decoded text streamed
 * piece by piece to a callback.
 *
 *   lc_model *m;  lc_context *ctx;  char *text;
 *   lc_model_load("model.gguf", NULL, &m, &err);
 *   lc_context_opts co; lc_context_opts_init(&co); co.n_ctx = 2048;
 *   lc_context_create(m, &co, &ctx, &err);
 *   lc_text_opts to; lc_text_opts_init(&to); to.n_predict = 64;
 *   lc_generate_text(ctx, "Once upon a time", &to, &text, NULL, &err);
 *   ... free(text); lc_context_free(ctx); lc_model_free(m);
 *
 * Pieces are whole UTF-8 characters: bytes of a character split across
 * tokens are held back until it is complete (and flushed at the end).
 */
#ifndef LONGCTX_TEXT_H
#define LONGCTX_TEXT_H

#include "longctx/common.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called with each piece of decoded text as it is generated (not
 * NUL-terminated); return false to stop generating. */
typedef bool (*lc_text_piece_fn)(void *user, const char *piece, size_t len);

typedef struct {
    int64_t n_predict;          /* tokens to generate (128); < 0: until EOS or the context is full */
    lc_sampler_params sampler;  /* lc_sampler_params_init's chain; temp <= 0: greedy           */
    int add_bos;                /* -1 (default): as the vocabulary says; 0: no; 1: yes          */
    bool stop_at_eos;           /* true: the vocabulary's EOS ends generation (not emitted)     */
    lc_text_piece_fn on_piece;  /* may be NULL                                                  */
    void *user;
} lc_text_opts;

void lc_text_opts_init(lc_text_opts *o);

/* Tokenize prompt with the model's tokenizer, append it to what ctx holds,
 * generate, and return the generated text (NUL-terminated, malloc'd, owned by
 * the caller; may be NULL when not wanted) and the counts and times (res may
 * be NULL). Refuses a model without a tokenizer (LC_ERR_UNSUPPORTED, saying
 * why). The context keeps the sequence, so a second call continues it. */
lc_status lc_generate_text(lc_context *ctx, const char *prompt, const lc_text_opts *o, char **text,
                           lc_generate_result *res, lc_error *err);

/* Bytes at the end of text[0..len) that begin a UTF-8 character not yet
 * complete (0 when the text ends on a character boundary): what a stream of
 * decoded pieces holds back until the next token. */
size_t lc_utf8_incomplete_tail(const char *text, size_t len);

/* Copies in[0..n) to out (room for 3 * n bytes), replacing every ill-formed
 * UTF-8 sequence by U+FFFD, one per maximal ill-formed subpart (the Unicode
 * standard's recommended practice, ch. 3 "U+FFFD Substitution of Maximal
 * Subparts"), so that what it writes is well-formed UTF-8. Unless `final`, a
 * trailing sequence that is still the start of a well-formed character is not
 * copied: *consumed (may be NULL) says how many input bytes were. Returns the
 * bytes written. */
size_t lc_utf8_repair(const char *in, size_t n, bool final, char *out, size_t *consumed);

/* The model's tokenizer, or NULL when the file carries none longctx can use. */
const lc_tokenizer *lc_model_tokenizer(const lc_model *m);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TEXT_H */
