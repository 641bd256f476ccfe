/*
 * The model under evaluation, backed by a real lc_context: greedy answers
 * with the suite's stop rule (EOS, or a token whose text holds a newline or a
 * period: scoring reads no further), optional reuse of the prefix the context
 * already holds, and per-token log-probabilities for perplexity.
 *
 * State: hist [n_hist] mirrors the tokens the context holds (position i holds
 * hist[i]), so generate can keep the longest common prefix of the new prompt
 * and what is there, and evaluate only the rest.
 *
 * Log-probabilities: the context evaluates chunks of at most `chunk` tokens
 * with every row's logits into logits [chunk, vocab] (chunk = n_batch, capped
 * so the buffer stays under 32 MiB); ln p(t | before) = l[t] - max -
 * ln sum exp(l - max), the sum by the kernels' vectorised softmax.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/kernels.h"

#define LOGITS_BUF_MAX ((size_t)32 << 20)

typedef struct {
    lc_eval_model base;   /* first member: the public view */
    lc_context *ctx;
    bool reuse;
    int32_t *hist;        /* [n_ctx] tokens the context holds */
    int64_t n_hist;
    float *logits;        /* [chunk, vocab] */
    int64_t chunk;
    int32_t vocab;
    int64_t evaluated, reused;
    lc_kernel_opts ko;    /* log-softmax: one thread, best ISA */
} ctx_model;

/* ---- Text helpers ------------------------------------------------------------ */

bool lc_eval_is_stop_text(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '.') return true;
    return false;
}

size_t lc_eval_decode(const lc_tokenizer *tok, int32_t prev, const int32_t *ids, int64_t n, char *buf, size_t cap) {
    size_t len = 0;
    char piece[64];
    for (int64_t i = 0; i < n; i++) {
        size_t k = lc_tokenizer_decode_token(tok, prev, ids[i], piece, sizeof piece);
        if (k > sizeof piece) { /* a long piece: decode into place when it fits */
            if (buf && len + k < cap) lc_tokenizer_decode_token(tok, prev, ids[i], buf + len, k);
        } else if (buf && cap > 0 && len < cap - 1) {
            memcpy(buf + len, piece, LC_MIN(k, cap - 1 - len));
        }
        len += k;
        prev = ids[i];
    }
    if (buf && cap > 0) buf[LC_MIN(len, cap - 1)] = '\0';
    return len;
}

/* ---- Greedy generation with the stop rule ------------------------------------ */

bool lc_eval_stop_on_token(void *user, int32_t id) {
    lc_eval_stop_state *s = user;
    if (!s->tok) return true;
    char piece[64];
    size_t k = lc_tokenizer_decode_token(s->tok, s->prev, id, piece, sizeof piece);
    s->prev = id;
    return !lc_eval_is_stop_text(piece, LC_MIN(k, sizeof piece));
}

lc_status lc_eval_ctx_generate(lc_context *ctx, const lc_tokenizer *tok, int32_t eos, const int32_t *rest,
                               int64_t n_rest, int64_t max_new, int32_t *out, int64_t *n_out, lc_error *err) {
    *n_out = 0;
    if (max_new < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: nothing to generate");
    lc_eval_stop_state ss = {tok, n_rest > 0 ? rest[n_rest - 1] : -1};
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = max_new;
    go.eos_id = eos;
    go.on_token = lc_eval_stop_on_token;
    go.token_user = &ss;
    lc_generate_result res;
    lc_status st = lc_generate(ctx, rest, n_rest, &go, out, max_new, &res, err);
    if (st != LC_OK) return st;
    *n_out = LC_MIN(res.n_generated, max_new);
    return LC_OK;
}

/* ---- The context-backed model ------------------------------------------------ */

static lc_status cm_generate(lc_eval_model *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new, int32_t *out,
                             int64_t *n_out, lc_error *err) {
    ctx_model *c = (ctx_model *)m;
    *n_out = 0;
    if (!prompt || n_prompt < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: empty prompt");
    const int64_t n_ctx = lc_context_n_ctx(c->ctx);
    if (n_prompt >= n_ctx)
        return lc_fail(err, LC_ERR_TOO_LARGE, "eval: a prompt of %lld tokens leaves no room to answer in a context of %lld",
                       (long long)n_prompt, (long long)n_ctx);
    max_new = LC_MIN(max_new, n_ctx - n_prompt);

    /* Keep the common prefix, but always evaluate at least the last prompt
     * token (its logits give the first answer token). */
    int64_t keep = 0;
    if (c->reuse) {
        const int64_t lim = LC_MIN(c->n_hist, n_prompt - 1);
        while (keep < lim && c->hist[keep] == prompt[keep]) keep++;
        if (lc_context_truncate(c->ctx, keep, NULL) != LC_OK) keep = 0;
    }
    if (keep == 0) lc_context_reset(c->ctx);
    c->n_hist = keep;
    c->reused += keep;
    c->evaluated += n_prompt - keep;

    lc_status st = lc_eval_ctx_generate(c->ctx, m->tok, m->eos_id, prompt + keep, n_prompt - keep, max_new, out, n_out,
                                        err);
    /* Mirror what the context now holds: the prompt, then the generated
     * tokens it evaluated (all but the last). */
    const int64_t n_past = lc_context_n_past(c->ctx);
    if (st != LC_OK || n_past < n_prompt || n_past > n_prompt + *n_out) {
        lc_context_reset(c->ctx);
        c->n_hist = 0;
        return st;
    }
    memcpy(c->hist + keep, prompt + keep, (size_t)(n_prompt - keep) * sizeof(int32_t));
    memcpy(c->hist + n_prompt, out, (size_t)(n_past - n_prompt) * sizeof(int32_t));
    c->n_hist = n_past;
    return LC_OK;
}

static void cm_reset(lc_eval_model *m) {
    ctx_model *c = (ctx_model *)m;
    lc_context_reset(c->ctx);
    c->n_hist = 0;
}

/* ln softmax(l)[t], destroying l (it becomes the softmax, by the kernel's
 * vectorised exp): the normaliser is recovered from the largest entry, where
 * softmax is exactly 1/sum, so a tiny probability keeps its log-space value
 * instead of underflowing. */
static double log_prob_inplace(float *l, int32_t vocab, int32_t t, const lc_kernel_opts *ko) {
    const int64_t im = lc_argmax(l, vocab);
    if (im < 0) return NAN;
    const double lt = l[t], lmax = l[im];
    lc_softmax(l, vocab, ko);
    return lt - lmax + log((double)l[im]);
}

double lc_eval_log_prob(const float *l, int64_t vocab, int32_t t) {
    float mx = l[0];
    for (int64_t i = 1; i < vocab; i++) mx = l[i] > mx ? l[i] : mx;
    double s = 0.0;
    for (int64_t i = 0; i < vocab; i++) s += exp((double)l[i] - (double)mx);
    return (double)l[t] - (double)mx - log(s);
}

static lc_status cm_append_logprobs(lc_eval_model *m, const int32_t *tokens, int64_t n, float *out, lc_error *err) {
    ctx_model *c = (ctx_model *)m;
    if (!tokens || !out || n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no tokens to score");
    const int64_t n_ctx = lc_context_n_ctx(c->ctx);
    if (n > n_ctx - c->n_hist)
        return lc_fail(err, LC_ERR_TOO_LARGE, "eval: %lld more tokens do not fit a context of %lld holding %lld",
                       (long long)n, (long long)n_ctx, (long long)c->n_hist);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval: token %d is outside the vocabulary (0..%d)", tokens[i],
                           c->vocab - 1);
    /* The prediction of tokens[0] comes from the last logits, if any. */
    out[0] = NAN;
    if (c->n_hist > 0) {
        const float *last = lc_context_logits(c->ctx);
        if (!last) { /* forgotten by a truncation: evaluate the last token again */
            const int32_t t = c->hist[c->n_hist - 1];
            lc_status st = lc_context_truncate(c->ctx, c->n_hist - 1, err);
            if (st == LC_OK) st = lc_context_eval(c->ctx, &t, 1, NULL, false, err);
            if (st != LC_OK) return st;
            last = lc_context_logits(c->ctx);
        }
        out[0] = (float)lc_eval_log_prob(last, c->vocab, tokens[0]);
    }
    for (int64_t c0 = 0; c0 < n; c0 += c->chunk) {
        const int64_t nb = LC_MIN(c->chunk, n - c0);
        lc_status st = lc_context_eval(c->ctx, tokens + c0, nb, c->logits, true, err);
        if (st != LC_OK) {
            lc_context_truncate(c->ctx, LC_MIN(c->n_hist, lc_context_n_past(c->ctx)), NULL);
            return st;
        }
        memcpy(c->hist + c->n_hist, tokens + c0, (size_t)nb * sizeof(int32_t));
        c->n_hist += nb;
        for (int64_t i = 0; i < nb && c0 + i + 1 < n; i++)
            out[c0 + i + 1] = (float)log_prob_inplace(c->logits + i * c->vocab, c->vocab, tokens[c0 + i + 1], &c->ko);
    }
    return LC_OK;
}

static void cm_destroy(lc_eval_model *m) {
    ctx_model *c = (ctx_model *)m;
    free(c->hist);
    free(c->logits);
    free(c);
}

static const lc_eval_model_ops ctx_model_ops = {cm_generate, cm_reset, cm_append_logprobs, cm_destroy};

lc_status lc_eval_model_from_context(lc_context *ctx, const lc_tokenizer *tok, int32_t eos_id, bool reuse_prefix,
                                     lc_eval_model **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL output");
    *out = NULL;
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL context");
    const lc_model *model = lc_context_model(ctx);
    const int32_t vocab = model->cfg.vocab_size;
    const int64_t n_ctx = lc_context_n_ctx(ctx);
    if (tok && lc_tokenizer_n_vocab(tok) > vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: the tokenizer has %d tokens, the model only %d",
                       lc_tokenizer_n_vocab(tok), vocab);
    int64_t chunk = LC_MIN(lc_context_n_batch(ctx), (int64_t)(LOGITS_BUF_MAX / sizeof(float) / (size_t)vocab));
    chunk = LC_MAX(chunk, 1);
    size_t hist_bytes, logit_bytes;
    if (!lc_mul_size((size_t)n_ctx, sizeof(int32_t), &hist_bytes) ||
        !lc_mul3_size((size_t)chunk, (size_t)vocab, sizeof(float), &logit_bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "eval: buffers for a context of %lld overflow", (long long)n_ctx);
    ctx_model *c = calloc(1, sizeof *c);
    if (c) c->hist = malloc(hist_bytes);
    if (c && c->hist) c->logits = malloc(logit_bytes);
    if (!c || !c->hist || !c->logits) {
        if (c) cm_destroy(&c->base);
        return lc_fail(err, LC_ERR_NOMEM, "eval: out of memory");
    }
    const lc_rope_config *rope = lc_context_rope(ctx);
    c->ctx = ctx;
    c->reuse = reuse_prefix && lc_context_attn(ctx)->method != LC_ATTN_LINEAR &&
               rope->scaling != LC_ROPE_SCALING_DYNAMIC_NTK;
    c->chunk = chunk;
    c->vocab = vocab;
    lc_kernel_opts_init(&c->ko);
    c->ko.n_threads = 1;
    c->base.ops = &ctx_model_ops;
    c->base.impl = c;
    c->base.tok = tok;
    c->base.n_ctx = n_ctx;
    c->base.eos_id = eos_id >= 0 ? eos_id : tok ? lc_tokenizer_eos(tok) : -1;
    lc_context_reset(ctx);
    *out = &c->base;
    return LC_OK;
}

void lc_eval_model_prefix_stats(const lc_eval_model *m, int64_t *evaluated, int64_t *reused) {
    const bool real = m && m->ops == &ctx_model_ops;
    if (evaluated) *evaluated = real ? ((const ctx_model *)m)->evaluated : 0;
    if (reused) *reused = real ? ((const ctx_model *)m)->reused : 0;
}

void lc_eval_model_free(lc_eval_model *m) {
    if (m && m->ops && m->ops->destroy) m->ops->destroy(m);
}
