/* The document pipeline's model over a real context (app.h,
 * lc_doc_model_from_context, or lc_doc_model_for_model with a context and
 * sampler of its own): token counts from the tokenizer; answers as fresh
 * sequences, greedy or sampled, decoded to text. */
#include <stdlib.h>
#include <string.h>

#include "app/doc_internal.h"
#include "longctx/kernels.h"

typedef struct {
    lc_doc_model base;
    lc_context *ctx;
    const lc_tokenizer *tok;
    lc_sampler *sampler;
    int32_t *ids;       /* [n_ctx] prompt scratch */
    int64_t cap;
    bool owns;          /* lc_doc_model_for_model's: ctx and sampler freed with it */
} ctx_doc_model;

static lc_status dm_count(lc_doc_model *m, const char *text, size_t len, int64_t *n, lc_error *err) {
    ctx_doc_model *c = m->impl;
    lc_status st = lc_tokenizer_encode(c->tok, text, len, false, NULL, 0, n, err);
    return st == LC_ERR_TOO_LARGE ? LC_OK : st; /* cap 0: only the count */
}

static lc_status dm_generate(lc_doc_model *m, const char *prompt, size_t len, int64_t max_tokens, char **out,
                             size_t *out_len, lc_error *err) {
    ctx_doc_model *c = m->impl;
    *out = NULL;
    *out_len = 0;
    int64_t n = 0;
    lc_status st = lc_tokenizer_encode(c->tok, prompt, len, lc_tokenizer_add_bos(c->tok), c->ids, c->cap, &n, err);
    if (st == LC_ERR_TOO_LARGE || (st == LC_OK && n + max_tokens > c->cap))
        return lc_fail(err, LC_ERR_TOO_LARGE, "doc: a prompt of %lld tokens and %lld for the answer exceed the context (%lld)",
                       (long long)n, (long long)max_tokens, (long long)c->cap);
    if (st != LC_OK) return st;
    lc_context_reset(c->ctx);
    if (c->sampler) lc_sampler_reset(c->sampler);
    st = lc_context_eval(c->ctx, c->ids, n, NULL, false, err);
    lc_doc_str text = {0};
    if (!lc_doc_str_put(&text, "", 0)) st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    const int32_t eos = lc_tokenizer_eos(c->tok), vocab = lc_context_model(c->ctx)->cfg.vocab_size;
    int32_t prev = n > 0 ? c->ids[n - 1] : -1;
    char piece[256];
    for (int64_t i = 0; st == LC_OK && i < max_tokens; i++) {
        const float *logits = lc_context_logits(c->ctx);
        int32_t t = -1;
        if (c->sampler) st = lc_sampler_sample(c->sampler, logits, &t, err);
        else t = (int32_t)lc_argmax(logits, vocab);
        if (st != LC_OK || t == eos) break;
        size_t pl = lc_tokenizer_decode_token(c->tok, prev, t, piece, sizeof piece);
        if (!lc_doc_str_put(&text, piece, LC_MIN(pl, sizeof piece))) st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
        prev = t;
        if (st == LC_OK && i + 1 < max_tokens) st = lc_context_eval(c->ctx, &t, 1, NULL, false, err);
    }
    if (st != LC_OK) {
        lc_doc_str_free(&text);
        return st;
    }
    *out = text.p;
    *out_len = text.len;
    return LC_OK;
}

static void dm_destroy(lc_doc_model *m) {
    ctx_doc_model *c = m->impl;
    free(c->ids);
    if (!c->owns) return;
    lc_sampler_free(c->sampler);
    lc_context_free(c->ctx);
}

lc_status lc_doc_model_from_context(lc_context *ctx, const lc_tokenizer *tok, lc_sampler *sampler, lc_doc_model **out,
                                    lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: NULL output");
    *out = NULL;
    if (!ctx || !tok) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: a context and a tokenizer are needed");
    if (lc_tokenizer_n_vocab(tok) > lc_context_model(ctx)->cfg.vocab_size)
        return lc_fail(err, LC_ERR_INVALID_ARG, "doc: the tokenizer has more tokens than the model");
    ctx_doc_model *c = calloc(1, sizeof *c);
    if (!c) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    c->ctx = ctx;
    c->tok = tok;
    c->sampler = sampler;
    c->cap = lc_context_n_ctx(ctx);
    c->ids = malloc((size_t)c->cap * sizeof(int32_t));
    if (!c->ids) {
        free(c);
        return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    }
    c->base.count = dm_count;
    c->base.generate = dm_generate;
    c->base.destroy = dm_destroy;
    c->base.n_ctx = c->cap;
    c->base.impl = c;
    *out = &c->base;
    return LC_OK;
}

lc_status lc_doc_model_for_model(const lc_model *m, const lc_context_opts *co, const lc_sampler_params *sp,
                                 lc_doc_model **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: NULL output");
    *out = NULL;
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: no model");
    if (!m->tokenizer && m->tokenizer_note[0])
        return lc_fail(err, LC_ERR_INVALID_ARG, "doc: the model's tokenizer is not used: %s", m->tokenizer_note);
    if (!m->tokenizer)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "doc: the model has no tokenizer (a llama2.c model needs its tokenizer.bin)");
    lc_context *ctx = NULL;
    lc_sampler *sampler = NULL;
    lc_status st = lc_context_create(m, co, &ctx, err);
    if (st == LC_OK && sp) st = lc_sampler_create(sp, m->cfg.vocab_size, &sampler, err);
    if (st == LC_OK) st = lc_doc_model_from_context(ctx, m->tokenizer, sampler, out, err);
    if (st != LC_OK) {
        lc_sampler_free(sampler);
        lc_context_free(ctx);
        return st;
    }
    ((ctx_doc_model *)(*out)->impl)->owns = true;
    return LC_OK;
}

lc_context *lc_doc_model_context(const lc_doc_model *m) {
    return m && m->destroy == dm_destroy ? ((ctx_doc_model *)m->impl)->ctx : NULL;
}

void lc_doc_model_free(lc_doc_model *m) {
    if (!m) return;
    if (m->destroy) m->destroy(m);
    free(m->impl);
}
