/*
 * NAIVE attention: the reference. Materialises the whole score matrix
 * P [H_q, n_q, n_kv] (as standard attention does), then softmax, then P V.
 * Dot products and sums are accumulated in double so that every optimised
 * method can be compared against it. A learned sink logit joins the max and
 * the denominator only.
 */
#include <math.h>
#include <stdio.h>

#include <omp.h>

#include "attn/attn_internal.h"

static lc_status matrix_bytes(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    const lc_attn_shape *s = c->s;
    size_t n;
    if (!lc_mul3_size((size_t)s->n_head, (size_t)s->n_q, (size_t)s->n_kv, &n) || !lc_mul_size(n, sizeof(float), bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "naive attention: a %d x %lld x %lld score matrix overflows size_t",
                       s->n_head, (long long)s->n_q, (long long)s->n_kv);
    return LC_OK;
}

lc_status lc_attn_naive_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    size_t mat = 0;
    lc_status st = matrix_bytes(c, &mat, err);
    if (st != LC_OK) {
        /* Still report what it would need, in double precision, for the memory table. */
        *bytes = SIZE_MAX;
        return st;
    }
    size_t cap = c->p->naive_max_bytes ? c->p->naive_max_bytes : ((size_t)1 << 30);
    if (mat > cap) {
        char need[32], lim[32];
        *bytes = mat;
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "naive attention would materialise a %d x %lld x %lld f32 score matrix: %s (cap %s); "
                       "use flash, window, linear or chunked",
                       c->s->n_head, (long long)c->s->n_q, (long long)c->s->n_kv,
                       lc_format_bytes((double)mat, need, sizeof need), lc_format_bytes((double)cap, lim, sizeof lim));
    }
    /* Per thread: one key/value row in f32 and a double accumulator, after
     * the matrix rounded up to 64 bytes (the doubles must stay aligned). */
    size_t per_thread = ((size_t)c->s->head_dim * (sizeof(float) + sizeof(double)) + 63) & ~(size_t)63;
    *bytes = ((mat + 63) & ~(size_t)63) + per_thread * (size_t)c->n_threads;
    return LC_OK;
}

lc_status lc_attn_naive_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    (void)ws_bytes;
    (void)err;
    const lc_attn_shape *s = c->s;
    const int32_t d = s->head_dim, H = s->n_head;
    const int64_t n_q = s->n_q, n_kv = s->n_kv;
    const uint8_t *mask = c->p->mask;
    float *scores = (float *)ws;
    char *thread_mem = (char *)ws + (((size_t)H * (size_t)n_q * (size_t)n_kv * sizeof(float) + 63) & ~(size_t)63);
    const size_t per_thread = ((size_t)d * (sizeof(float) + sizeof(double)) + 63) & ~(size_t)63;
    const int64_t rows = (int64_t)H * n_q;

#pragma omp parallel num_threads(c->n_threads)
    {
        char *mine = thread_mem + per_thread * (size_t)omp_get_thread_num();
        double *acc = (double *)mine;
        float *row = (float *)(mine + (size_t)d * sizeof(double));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const int32_t h = (int32_t)(r / n_q), hk = h / c->group;
            const int64_t i = r % n_q, qp = s->q_pos0 + i;
            const float *q = c->io->q + ((size_t)i * H + h) * d;
            float *p = scores + (size_t)r * (size_t)n_kv;
            double mx = -INFINITY;
            for (int64_t j = 0; j < n_kv; j++) {
                bool vis = (!s->causal || lc_attn_kpos(c, j) <= qp) && (!mask || mask[(size_t)i * n_kv + j]);
                if (!vis) {
                    p[j] = -INFINITY;
                    continue;
                }
                lc_attn_load_row(s->k_type, lc_attn_k_ptr(c, j, hk), row, d);
                double dot = 0.0;
                for (int32_t t = 0; t < d; t++) dot += (double)q[t] * row[t];
                double sc = dot * c->scale;
                if (s->softcap > 0.0f) sc = (double)s->softcap * tanh(sc / (double)s->softcap);
                p[j] = (float)sc;
                if (p[j] > mx) mx = p[j];
            }
            float *o = c->io->out + ((size_t)i * H + h) * d;
            /* A learned sink: a virtual key of logit sink and value zero. */
            const double sink = c->p->sink_logits ? (double)c->p->sink_logits[h] : -INFINITY;
            if (mx == -INFINITY) { /* sees no key */
                for (int32_t t = 0; t < d; t++) o[t] = 0.0f;
                if (c->io->lse) c->io->lse[(size_t)i * H + h] = (float)sink;
                continue;
            }
            if (sink > mx) mx = sink;
            double sum = sink == -INFINITY ? 0.0 : exp(sink - mx);
            for (int64_t j = 0; j < n_kv; j++) sum += p[j] == -INFINITY ? 0.0 : exp((double)p[j] - mx);
            for (int32_t t = 0; t < d; t++) acc[t] = 0.0;
            for (int64_t j = 0; j < n_kv; j++) {
                if (p[j] == -INFINITY) {
                    p[j] = 0.0f;
                    continue;
                }
                double w = exp((double)p[j] - mx) / sum;
                p[j] = (float)w;
                lc_attn_load_row(s->v_type, lc_attn_v_ptr(c, j, hk), row, d);
                for (int32_t t = 0; t < d; t++) acc[t] += w * row[t];
            }
            for (int32_t t = 0; t < d; t++) o[t] = (float)acc[t];
            if (c->io->lse) c->io->lse[(size_t)i * H + h] = (float)(mx + log(sum));
        }
    }
    return LC_OK;
}
