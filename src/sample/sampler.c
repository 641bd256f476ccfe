/*
 * The sampler: penalties -> top-k -> top-p -> min-p -> temperature -> draw
 * (see include/longctx/sample.h for the semantics of each stage).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/sample_internal.h"

/* First prefix tried by top-p when top-k did not sort the candidates. */
#define TOP_P_FIRST_PREFIX 64

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
    lc_sampler *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
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

/* Uniform double in [0, 1) from 53 random bits. */
static double uniform53(lc_rng *r) { return (double)(lc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

/* Keep the smallest rank-ordered prefix of cand[0..n) whose softmax mass
 * (at temperature 1, relative to the logit mx) reaches p of total z. */
static int32_t top_p_prefix(const lc_cand *cand, int32_t n, double mx, double z, double p, bool *reached) {
    const double target = p * z;
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)cand[i].logit - mx);
        if (cum >= target) {
            *reached = true;
            return i + 1;
        }
    }
    *reached = false;
    return n;
}

static lc_status sample_chain(lc_sampler *s, float *logits, int32_t *token, lc_error *err) {
    const lc_sampler_params *p = &s->p;
    const int32_t V = s->n_vocab;
    s->n_cand = 0;
    apply_penalties(s, logits);

    /* One pass: refuse NaN / +inf, find the argmax (lowest id on ties). */
    int32_t best = -1, n_finite = 0;
    float mxf = -INFINITY;
    for (int32_t i = 0; i < V; i++) {
        const float v = logits[i];
        if (isnan(v) || v == INFINITY)
            return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: logit of token %d is %s", i, isnan(v) ? "NaN" : "+inf");
        if (v == -INFINITY) continue;
        n_finite++;
        if (v > mxf) mxf = v, best = i;
    }
    if (best < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: every logit is -inf: nothing to sample");

    if (p->temp <= 0.0f) { /* greedy */
        *token = best;
        remember(s, best);
        s->n_sampled++;
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
        bool reached = false;
        if (sorted) {
            double z = 0.0;
            for (int32_t i = 0; i < n; i++) z += exp((double)cand[i].logit - mx);
            n = top_p_prefix(cand, n, mx, z, (double)p->top_p, &reached);
        } else {
            /* Sort only a growing prefix: the nucleus is usually small. */
            double z = 0.0;
            for (int32_t i = 0; i < V; i++)
                if (logits[i] != -INFINITY) z += exp((double)logits[i] - mx);
            for (int32_t k = TOP_P_FIRST_PREFIX;; k = k > n_finite / 4 ? n_finite : 4 * k) {
                int32_t m = lc_sample_top_k(logits, V, LC_MIN(k, n_finite), cand);
                n = top_p_prefix(cand, m, mx, z, (double)p->top_p, &reached);
                if (reached || m >= n_finite) break;
            }
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

    /* Temperature and the draw. */
    const double inv_t = 1.0 / (double)p->temp;
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) total += exp(((double)cand[i].logit - mx) * inv_t);
    const double u = uniform53(&s->rng) * total;
    double cum = 0.0;
    int32_t pick = -1, last_positive = 0;
    for (int32_t i = 0; i < n; i++) {
        const double w = exp(((double)cand[i].logit - mx) * inv_t);
        s->cand_ids[i] = cand[i].id;
        s->cand_probs[i] = (float)(w / total);
        cum += w;
        if (w > 0.0) last_positive = i;
        if (pick < 0 && cum > u) pick = i; /* first index where cum passes u: w > 0 there */
    }
    if (pick < 0) pick = last_positive; /* u rounded up to the total */
    s->n_cand = n;
    *token = cand[pick].id;
    remember(s, *token);
    s->n_sampled++;
    return LC_OK;
}

static lc_status check_call(const lc_sampler *s, const void *logits, const int32_t *token, lc_error *err) {
    if (!s || !logits || !token) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL argument");
    return LC_OK;
}

lc_status lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token, lc_error *err) {
    lc_status st = check_call(s, logits, token, err);
    if (st != LC_OK) return st;
    memcpy(s->scratch, logits, (size_t)s->n_vocab * sizeof(float));
    return sample_chain(s, s->scratch, token, err);
}

lc_status lc_sampler_sample_inplace(lc_sampler *s, float *logits, int32_t *token, lc_error *err) {
    lc_status st = check_call(s, logits, token, err);
    if (st != LC_OK) return st;
    return sample_chain(s, logits, token, err);
}
