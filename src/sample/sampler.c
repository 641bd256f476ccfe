/*
 * The sampler: penalties -> top-k -> top-p -> min-p -> temperature -> draw
 * (see include/longctx/sample.h for the semantics of each stage).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/sample_internal.h"

lc_status lc_sampler_create(const lc_sampler_params *p, int32_t n_vocab, lc_sampler **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL output pointer");
    *out = NULL;
    lc_status st = lc_sampler_params_validate(p, err);
    if (st != LC_OK) return st;
    if (n_vocab < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: vocabulary size %d must be >= 1", n_vocab);
    size_t fb, cb, ib;
    if (!lc_mul_size((size_t)n_vocab, sizeof(float), &fb) || !lc_mul_size((size_t)n_vocab, sizeof(lc_cand), &cb) ||
        !lc_mul_size((size_t)n_vocab, sizeof(int32_t), &ib))
        return lc_fail(err, LC_ERR_TOO_LARGE, "sampler: vocabulary of %d overflows", n_vocab);
    const size_t need = 2 * fb + cb + ib, avail = lc_mem_available_bytes();
    if (avail && need > avail) {
        char a[32], b[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "sampler: a vocabulary of %d needs %s of buffers, %s available", n_vocab,
                       lc_format_bytes((double)need, a, sizeof a), lc_format_bytes((double)avail, b, sizeof b));
    }
    lc_sampler *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->isa = lc_isa_best();
    s->scratch = malloc(fb);
    s->cand = malloc(cb);
    s->cand_ids = malloc(ib);
    s->cand_probs = malloc(fb);
    if (!s->scratch || !s->cand || !s->cand_ids || !s->cand_probs) {
        lc_sampler_free(s);
        return lc_fail(err, LC_ERR_NOMEM, "sampler: cannot allocate buffers for a vocabulary of %d", n_vocab);
    }
    lc_sampler_reset(s);
    *out = s;
    return LC_OK;
}

void lc_sampler_free(lc_sampler *s) {
    if (!s) return;
    free(s->scratch);
    free(s->cand);
    free(s->cand_ids);
    free(s->cand_probs);
    free(s);
}

lc_status lc_sampler_set_params(lc_sampler *s, const lc_sampler_params *p, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL sampler");
    lc_status st = lc_sampler_params_validate(p, err);
    if (st != LC_OK) return st;
    s->p = *p;
    return LC_OK;
}

const lc_sampler_params *lc_sampler_get_params(const lc_sampler *s) { return s ? &s->p : NULL; }

int32_t lc_sampler_n_vocab(const lc_sampler *s) { return s ? s->n_vocab : 0; }

void lc_sampler_reset(lc_sampler *s) {
    if (!s) return;
    lc_rng_seed(&s->rng, s->p.seed);
    s->n_sampled = 0;
    s->hist_head = 0;
    s->hist_len = 0;
    s->n_cand = 0;
}

static void remember(lc_sampler *s, int32_t token) {
    if (s->hist_len < LC_SAMPLER_MAX_LAST_N) {
        s->hist[(s->hist_head + s->hist_len) % LC_SAMPLER_MAX_LAST_N] = token;
        s->hist_len++;
    } else {
        s->hist[s->hist_head] = token;
        s->hist_head = (s->hist_head + 1) % LC_SAMPLER_MAX_LAST_N;
    }
}

lc_status lc_sampler_accept(lc_sampler *s, int32_t token, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL sampler");
    if (token < 0 || token >= s->n_vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: token %d outside the vocabulary (0..%d)", token,
                       s->n_vocab - 1);
    remember(s, token);
    return LC_OK;
}

int32_t lc_sampler_candidates(const lc_sampler *s, const int32_t **ids, const float **probs) {
    if (!s) return 0;
    if (ids) *ids = s->cand_ids;
    if (probs) *probs = s->cand_probs;
    return s->n_cand;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Repetition, frequency and presence penalties over the last-n window. */
static void apply_penalties(lc_sampler *s, float *logits) {
    const lc_sampler_params *p = &s->p;
    int32_t window = p->repeat_last_n < 0 ? LC_SAMPLER_MAX_LAST_N : p->repeat_last_n;
    window = LC_MIN(window, s->hist_len);
    if (window == 0 || (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f && p->presence_penalty == 0.0f))
        return;
    const int32_t start = s->hist_head + s->hist_len - window; /* oldest token of the window */
    for (int32_t i = 0; i < window; i++) s->pen_tmp[i] = s->hist[(start + i) % LC_SAMPLER_MAX_LAST_N];
    qsort(s->pen_tmp, (size_t)window, sizeof(int32_t), cmp_i32);
    for (int32_t i = 0; i < window;) {
        int32_t j = i;
        while (j < window && s->pen_tmp[j] == s->pen_tmp[i]) j++;
        const int32_t tok = s->pen_tmp[i], count = j - i;
        float v = logits[tok];
        v = v <= 0.0f ? v * p->repeat_penalty : v / p->repeat_penalty;
        v -= (float)count * p->frequency_penalty + p->presence_penalty;
        logits[tok] = v;
        i = j;
    }
}

void lc_sample_scan(const float *x, int32_t n, float *mx_out, int32_t *masked_out, bool *bad_out) {
    float mx = -INFINITY;
    int32_t masked = 0;
    bool bad = false;
    for (int32_t i = 0; i < n; i++) {
        const float v = x[i];
        bad |= isnan(v) || v == INFINITY;
        masked += v == -INFINITY;
        mx = v > mx ? v : mx;
    }
    *mx_out = mx;
    *masked_out = masked;
    *bad_out = bad;
}

/* Uniform double in [0, 1) from 53 random bits. */
static double uniform53(lc_rng *r) { return (double)(lc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

/* The smallest rank-ordered prefix of cand[0..n) whose softmax mass (at
 * temperature 1, relative to the max logit mx) reaches p of the whole. */
static int32_t top_p_prefix(const lc_cand *cand, int32_t n, double mx, double p) {
    double z = 0.0, cum = 0.0;
    for (int32_t i = 0; i < n; i++) z += exp((double)cand[i].logit - mx);
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)cand[i].logit - mx);
        if (cum >= p * z) return i + 1;
    }
    return n;
}

static lc_status sample_chain(lc_sampler *s, float *logits, int32_t *token, lc_error *err) {
    const lc_sampler_params *p = &s->p;
    const int32_t V = s->n_vocab;
    s->n_cand = 0;
    apply_penalties(s, logits);

    /* One pass: the max, how many are -inf, whether any is NaN or +inf;
     * then the first index of the max (lowest id on ties). */
    float mxf;
    int32_t n_masked;
    bool bad;
#if defined(LC_HAVE_X86)
    if (s->isa >= LC_ISA_AVX2) lc_sample_scan_avx2(logits, V, &mxf, &n_masked, &bad);
    else
#endif
        lc_sample_scan(logits, V, &mxf, &n_masked, &bad);
    if (bad) {
        for (int32_t i = 0; i < V; i++)
            if (isnan(logits[i]) || logits[i] == INFINITY)
                return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: logit of token %d is %s", i,
                               isnan(logits[i]) ? "NaN" : "+inf");
    }
    const int32_t n_finite = V - n_masked;
    if (n_finite == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: every logit is -inf: nothing to sample");
    int32_t best = 0;
    while (logits[best] != mxf) best++;

    if (p->temp <= 0.0f) { /* greedy */
        *token = best;
        return LC_OK;
    }

    const double mx = (double)mxf;
    lc_cand *cand = s->cand;
    int32_t n = 0;
    bool sorted = false;
    if (p->top_k > 0 && p->top_k < n_finite) {
        n = lc_sample_top_k(logits, V, p->top_k, cand);
        sorted = true;
    }
    if (p->top_p < 1.0f) {
        if (sorted) {
            n = top_p_prefix(cand, n, mx, (double)p->top_p);
        } else {
            n = lc_sample_top_p(logits, V, mxf, (double)p->top_p, cand);
            sorted = true;
        }
    }
    if (!sorted) { /* every finite token, in id order */
        for (int32_t i = 0; i < V; i++)
            if (logits[i] != -INFINITY) cand[n++] = (lc_cand){logits[i], i};
    }
    if (p->min_p > 0.0f) { /* p_i >= min_p * p_max  <=>  logit_i - max >= ln(min_p) */
        const double cut = log((double)p->min_p);
        int32_t kept = 0;
        for (int32_t i = 0; i < n; i++)
            if ((double)cand[i].logit - mx >= cut) cand[kept++] = cand[i];
        n = kept; /* the max always survives: n >= 1 */
    }

    /* Temperature and the draw: weights exp((l - max) / T) (the max weighs 1). */
    const double inv_t = 1.0 / (double)p->temp;
    float *w = s->cand_probs;
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) {
        w[i] = (float)exp(((double)cand[i].logit - mx) * inv_t);
        total += w[i];
    }
    const double u = uniform53(&s->rng) * total;
    double cum = 0.0;
    int32_t pick = -1;
    for (int32_t i = 0; i < n && pick < 0; i++) {
        cum += w[i];
        if (cum > u) pick = i; /* cum grew past u here, so w[i] > 0 */
    }
    if (pick < 0) /* u rounded up to the total: the last token with weight */
        for (pick = n - 1; pick > 0 && w[pick] == 0.0f; pick--) {
        }
    for (int32_t i = 0; i < n; i++) {
        s->cand_ids[i] = cand[i].id;
        w[i] = (float)(w[i] / total);
    }
    s->n_cand = n;
    *token = cand[pick].id;
    return LC_OK;
}

static lc_status check_call(const lc_sampler *s, const void *logits, const int32_t *token, lc_error *err) {
    if (!s || !logits || !token) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL argument");
    return LC_OK;
}

static void commit(lc_sampler *s, int32_t token) {
    remember(s, token);
    s->n_sampled++;
}

/* With a constraint: draw as usual; if the constraint refuses the token,
 * mask the logits and draw again (see lc_sampler_set_constraint). */
static lc_status sample_constrained(lc_sampler *s, const float *logits, int32_t *token, lc_error *err) {
    const lc_sampler_constraint *c = &s->con;
    const size_t bytes = (size_t)s->n_vocab * sizeof(float);
    memcpy(s->scratch, logits, bytes);
    int32_t t = -1;
    lc_status st = sample_chain(s, s->scratch, &t, err);
    if (st != LC_OK) return st;
    bool ok = false;
    st = c->allowed(c->user, t, &ok, err);
    if (st != LC_OK) return st;
    if (!ok) {
        memcpy(s->scratch, logits, bytes);
        st = c->mask(c->user, s->scratch, s->n_vocab, err);
        if (st != LC_OK) return st;
        bool any = false;
        for (int32_t i = 0; i < s->n_vocab && !any; i++) any = s->scratch[i] != -INFINITY;
        if (!any) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: the constraint allows no token here");
        st = sample_chain(s, s->scratch, &t, err);
        if (st != LC_OK) return st;
    }
    st = c->accept(c->user, t, err);
    if (st != LC_OK) return st;
    commit(s, t);
    *token = t;
    return LC_OK;
}

lc_status lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token, lc_error *err) {
    lc_status st = check_call(s, logits, token, err);
    if (st != LC_OK) return st;
    if (s->has_con) return sample_constrained(s, logits, token, err);
    memcpy(s->scratch, logits, (size_t)s->n_vocab * sizeof(float));
    st = sample_chain(s, s->scratch, token, err);
    if (st == LC_OK) commit(s, *token);
    return st;
}

lc_status lc_sampler_sample_inplace(lc_sampler *s, float *logits, int32_t *token, lc_error *err) {
    lc_status st = check_call(s, logits, token, err);
    if (st != LC_OK) return st;
    if (s->has_con) return sample_constrained(s, logits, token, err);
    st = sample_chain(s, logits, token, err);
    if (st == LC_OK) commit(s, *token);
    return st;
}

void lc_sampler_set_constraint(lc_sampler *s, const lc_sampler_constraint *c) {
    if (!s) return;
    s->has_con = c && c->allowed && c->mask && c->accept;
    if (s->has_con) s->con = *c;
    else memset(&s->con, 0, sizeof s->con);
}

bool lc_sampler_has_constraint(const lc_sampler *s) { return s && s->has_con; }
