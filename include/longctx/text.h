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

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"
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
    bool stop_at_eos;           /* true: the model's EOS (lc_model_eos) ends generation (not
                                   emitted)                                                    */
    lc_text_piece_fn on_piece;  /* may be NULL                                                  */
    void *user;
    /* Stop strings (llama.cpp's -r/--reverse-prompt, OpenAI's `stop`; at most
     * LC_TEXT_MAX_STOPS of 1..LC_TEXT_MAX_STOP_BYTES bytes): generation ends
     * at the first token whose text completes one; the text ends with it (the
     * bytes the token wrote after it are dropped). NULL/0: none. */
    const char *const *stop;
    int n_stop;
    /* Sampling by the caller instead of a sampler built from `sampler` (e.g.
     * lc_sample_with_sampler over a sampler with a grammar attached, or a
     * callback that broadcasts one rank's choice). NULL: the built one. */
    lc_sample_fn sample;
    void *sample_user;
    /* Every generated token id as it is chosen (before its text); return
     * false to stop. May be NULL. */
    lc_token_fn on_token;
    void *token_user;
    /* The prompt's evaluation by the caller (lc_generate_opts.prefill, e.g. a
     * ring prefill); NULL: lc_context_eval. */
    lc_prefill_fn prefill;
    void *prefill_user;
} lc_text_opts;

void lc_text_opts_init(lc_text_opts *o);

#define LC_TEXT_MAX_STOPS 16
#define LC_TEXT_MAX_STOP_BYTES 256

/* What lc_generate_text_tokens hands back; lc_text_result_free releases it. */
typedef struct {
    char *text;           /* the generated text, NUL-terminated (malloc'd); NULL when the
                             model has no tokenizer (only ids then)                        */
    size_t len;
    int32_t *tokens;      /* the generated ids in order (malloc'd; at most
                             LC_SESSION_MAX_TOKENS are kept)                               */
    int64_t n_tokens;
    int stop_index;       /* the o->stop string that ended generation, or -1               */
    lc_generate_result gen; /* counts, times, why it stopped (a stop string: CALLBACK)    */
} lc_text_result;

void lc_text_result_free(lc_text_result *r);

/* lc_generate_text from token ids: prompt[0..n_prompt) of which the first
 * n_held are already in ctx (a session's reused prefix, a ring prefill: not
 * evaluated again; n_held == n_prompt continues from the context's last
 * logits). The text of the first generated token is decoded after
 * prompt[n_prompt - 1]. A built sampler sees every prompt id first; a
 * caller's (o->sample) does not. Works without a tokenizer (no text, no
 * pieces; stop strings refused). *out is filled even on failure (free it). */
lc_status lc_generate_text_tokens(lc_context *ctx, const int32_t *prompt, int64_t n_prompt, int64_t n_held,
                                  const lc_text_opts *o, lc_text_result *out, lc_error *err);

/* A generation as one JSON object (the CLI's run --json): model, the
 * prompt's n_prompt_tokens, n_prompt_evaluated, n_prompt_reused (reused: the
 * prefix a session held) and prompt_tokens, n_generated, tokens, text (null
 * when with_text is false or there is none), stop (lc_stop_reason_name, or
 * "reverse_prompt" with the string in reverse_prompt when stops[] ended it),
 * and timings {prompt_s, prompt_tokens_per_s, generate_s,
 * generate_tokens_per_s, matmul_s, attention_s, other_s} (tm). */
void lc_text_result_write_json(lc_json_writer *w, const char *model, const int32_t *prompt, int64_t n_prompt,
                               int64_t reused, const lc_text_result *r, bool with_text, const char *const *stops,
                               const lc_context_timings *tm);

/* The same generation as lines of text (the CLI's run summary on stderr):
 *   prompt:       5 tokens in    0.010 s  (    500.0 tok/s)
 *   generate:    16 tokens in    0.200 s  (     80.0 tok/s)
 *   time: matmul 70.0%, attention 20.0%, other 10.0% of 0.210 s   (tm; none when NULL or no time)
 *   stopped: length | eos | <the context-full message> | reverse prompt 'S' (stops[stop_index]) */
void lc_text_result_print_summary(FILE *f, const lc_text_result *r, const char *const *stops,
                                  const lc_context_timings *tm);

/* An lc_sample_fn over an lc_sampler (user: the lc_sampler *): samples in
 * place with lc_sampler_sample_inplace. */
bool lc_sample_with_sampler(void *sampler, float *logits, int32_t n_vocab, int32_t *token, lc_error *err);

/* The prompt of a generation as ids (*ids malloc'd, free()): text[0..len)
 * encoded with the model's tokenizer (BOS first when add_bos: -1 as the
 * vocabulary says, 0 no, 1 yes), or BOS alone when len is 0 (lc_model_bos).
 * LC_ERR_INVALID_ARG for text without a tokenizer. */
lc_status lc_text_prompt_tokens(const lc_model *m, const char *text, size_t len, int add_bos, int32_t **ids,
                                int64_t *n, lc_error *err);
/* Comma-separated token ids ("1,403,22"), each in 0..n_vocab-1 (*ids
 * malloc'd, at least one); LC_ERR_INVALID_ARG saying what is wrong. */
lc_status lc_tokens_parse(const char *s, int32_t n_vocab, int32_t **ids, int64_t *n, lc_error *err);
/* The model's BOS: its tokenizer's, else 1 (llama and llama2.c's). */
int32_t lc_model_bos(const lc_model *m);
/* The model's end of sequence: its tokenizer's EOS, else 2 for a llama2.c
 * file (its fixed vocabulary's), else -1 (none). */
int32_t lc_model_eos(const lc_model *m);

/* Stop strings over a text that grows (OpenAI's `stop`, -r): the earliest
 * occurrence of any stops[i] that ends after byte `from` (it may begin
 * before: a string completed by the bytes appended since), the position of
 * its first byte, or -1; *which (may be NULL) the i of the string found (the
 * first given when several begin there). Empty strings never match. */
int64_t lc_stop_find(const char *text, size_t len, size_t from, const char *const *stops, int n_stops, int *which);
/* Bytes at the end of text[0..len) that are a proper prefix of some stop
 * string: what a stream holds back until the next bytes decide. */
size_t lc_stop_holdback(const char *text, size_t len, const char *const *stops, int n_stops);
/* LC_ERR_INVALID_ARG unless stops[n_stops] are at most LC_TEXT_MAX_STOPS
 * strings of 1..LC_TEXT_MAX_STOP_BYTES bytes. */
lc_status lc_stops_validate(const char *const *stops, int n_stops, lc_error *err);

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

/* A line a user typed, made safe to take as a message or a command: control
 * characters and the terminal escape sequences they start (ESC [ parameters
 * final-byte, ESC O x, ESC x: arrow keys, function keys) are taken out in
 * place and tabs become spaces, so no control character can turn a command
 * into a message. s[0..n) is rewritten and NUL-terminated at the new length
 * (returned), so s needs n + 1 bytes. */
size_t lc_text_strip_controls(char *s, size_t n);

/* The model's tokenizer, or NULL when the file carries none longctx can use. */
const lc_tokenizer *lc_model_tokenizer(const lc_model *m);
/* A tokenizer (owned: lc_tokenizer_free) from what a user names: tok_bin, a
 * llama2.c tokenizer.bin, with n_vocab entries, or (n_vocab 0) as many as
 * the llama2.c model at model_path has; else the vocabulary of the GGUF at
 * model_path (a model or a vocabulary-only file). A model without one is
 * refused (LC_ERR_INVALID_ARG: give its tokenizer.bin). */
lc_status lc_tokenizer_open_for_model(const char *model_path, const char *tok_bin, int32_t n_vocab, lc_tokenizer **out,
                                      lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TEXT_H */
