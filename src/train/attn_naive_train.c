/*
 * Causal softmax attention for training, NAIVE form (the reference, as llm.c
 * does it): the forward materialises the probabilities P [B, NH, T, T] and
 * keeps them in the activation slab for the backward, so training memory
 * grows with T^2. Per (sequence b, head h):
 *
 *   forward   S = scale Q K^T, P = softmax_causal(S), O = P V
 *   backward  dV = P^T dO
 *             dP = dO V^T
 *             dS = P * (dP - rowsum(P * dP))
 *             dQ = scale dS K,  dK = scale dS^T Q
 *
 * Threads split the (b, h) pairs; each runs single-thread sgemm on strided
 * head views, with a T x T dP scratch per thread in the backward.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "train/attn_common.h"
#include "train/layers.h"

/* Floats of one thread's scratch: dP [T, T] and the sgemm packing space. */
static size_t naive_thread_floats(const lc_tr_attn_shape *s) {
    const int64_t big = LC_MAX(s->t, (int64_t)s->hd);
    const size_t tt = (size_t)s->t * (size_t)s->t;
    return (tt + 15) / 16 * 16 + (lc_sgemm_workspace_bytes(big, big, big, 1) / sizeof(float) + 15) / 16 * 16;
}

size_t lc_tr_attn_naive_ws(const lc_tr_attn_shape *s, int n_threads) {
    return lc_tr_attn_partials_bytes(s) + (size_t)n_threads * naive_thread_floats(s) * sizeof(float);
}

static void gemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc, float *ws, size_t ws_bytes,
                  lc_isa isa) {
    lc_sgemm_args g = {ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, false};
    (void)lc_sgemm_run(&g, isa, ws, ws_bytes, NULL); /* shapes are valid by construction */
}

static size_t p_off(const lc_tr_attn_shape *s, int64_t b, int32_t h) {
    return ((size_t)b * (size_t)s->nh + (size_t)h) * (size_t)s->t * (size_t)s->t;
}

lc_status lc_tr_attn_naive_forward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                   float *out, float *p, void *ws, size_t ws_bytes, int n_threads, lc_isa isa,
                                   lc_error *err) {
    if (n_threads < 1) n_threads = 1;
    const size_t need = lc_tr_attn_naive_ws(s, n_threads);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "naive attention: workspace of %zu bytes given, %zu needed", ws_bytes,
                       need);
    const int64_t T = s->t, tasks = s->b * s->nh;
    const int32_t hd = s->hd, group = s->nh / s->kv;
    const int64_t qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd;
    const size_t per = naive_thread_floats(s), tt = (size_t)T * (size_t)T;
    float *thread_mem = (float *)((char *)ws + lc_tr_attn_partials_bytes(s));
#pragma omp parallel num_threads(n_threads)
    {
        float *gws = thread_mem + (size_t)omp_get_thread_num() * per + (tt + 15) / 16 * 16;
        const size_t gws_bytes = (per - (tt + 15) / 16 * 16) * sizeof(float);
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t b = t / s->nh;
            const int32_t h = (int32_t)(t % s->nh), hk = h / group;
            float *P = p + p_off(s, b, h);
            const float *K = k + lc_tr_head_off(s, b, 0, hk, s->kv), *V = v + lc_tr_head_off(s, b, 0, hk, s->kv);
            gemm1(false, true, T, T, hd, s->scale, q + lc_tr_head_off(s, b, 0, h, s->nh), qst, K, kst, 0.0f, P, T, gws,
                  gws_bytes, isa);
            for (int64_t i = 0; i < T; i++) { /* causal softmax of row i over keys 0..i */
                float *r = P + (size_t)i * (size_t)T;
                float mx = r[0];
                for (int64_t j = 1; j <= i; j++) mx = r[j] > mx ? r[j] : mx;
                double sum = 0.0;
                for (int64_t j = 0; j <= i; j++) sum += r[j] = expf(r[j] - mx);
                const float inv = (float)(1.0 / sum);
                for (int64_t j = 0; j <= i; j++) r[j] *= inv;
                for (int64_t j = i + 1; j < T; j++) r[j] = 0.0f;
            }
            gemm1(false, false, T, hd, T, 1.0f, P, T, V, kst, 0.0f, out + lc_tr_head_off(s, b, 0, h, s->nh), qst, gws,
                  gws_bytes, isa);
        }
    }
    return LC_OK;
}

lc_status lc_tr_attn_naive_backward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                    const float *p, const float *dout, float *dq, float *dk, float *dv, void *ws,
                                    size_t ws_bytes, int n_threads, lc_isa isa, lc_error *err) {
    if (n_threads < 1) n_threads = 1;
    const size_t need = lc_tr_attn_naive_ws(s, n_threads);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "naive attention backward: workspace of %zu bytes given, %zu needed",
                       ws_bytes, need);
    const int64_t T = s->t, tasks = s->b * s->nh;
    const int32_t hd = s->hd, group = s->nh / s->kv;
    const int64_t qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd;
    const size_t per = naive_thread_floats(s), tt = (size_t)T * (size_t)T, tt_pad = (tt + 15) / 16 * 16;
    const lc_tr_kv_grad kg = lc_tr_kv_grad_target(s, dk, dv, ws);
    const int64_t gst = (int64_t)kg.heads * hd;
    float *thread_mem = (float *)((char *)ws + lc_tr_attn_partials_bytes(s));
#pragma omp parallel num_threads(n_threads)
    {
        float *dP = thread_mem + (size_t)omp_get_thread_num() * per, *gws = dP + tt_pad;
        const size_t gws_bytes = (per - tt_pad) * sizeof(float);
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t b = t / s->nh;
            const int32_t h = (int32_t)(t % s->nh), hk = h / group, hg = lc_tr_kv_grad_head(s, &kg, h);
            const float *P = p + p_off(s, b, h);
            const float *Q = q + lc_tr_head_off(s, b, 0, h, s->nh), *dO = dout + lc_tr_head_off(s, b, 0, h, s->nh);
            const float *K = k + lc_tr_head_off(s, b, 0, hk, s->kv), *V = v + lc_tr_head_off(s, b, 0, hk, s->kv);
            float *dK = kg.dk + lc_tr_head_off(s, b, 0, hg, kg.heads),
                  *dV = kg.dv + lc_tr_head_off(s, b, 0, hg, kg.heads);
            gemm1(true, false, T, hd, T, 1.0f, P, T, dO, qst, 0.0f, dV, gst, gws, gws_bytes, isa); /* dV = P^T dO */
            gemm1(false, true, T, T, hd, 1.0f, dO, qst, V, kst, 0.0f, dP, T, gws, gws_bytes, isa); /* dP = dO V^T */
            for (int64_t i = 0; i < T; i++) { /* dS = P (dP - rowsum(P dP)), in place */
                const float *pr = P + (size_t)i * (size_t)T;
                float *dr = dP + (size_t)i * (size_t)T;
                double dot = 0.0;
                for (int64_t j = 0; j <= i; j++) dot += (double)pr[j] * dr[j];
                const float d = (float)dot;
                for (int64_t j = 0; j < T; j++) dr[j] = pr[j] * (dr[j] - d);
            }
            gemm1(false, false, T, hd, T, s->scale, dP, T, K, kst, 0.0f, dq + lc_tr_head_off(s, b, 0, h, s->nh), qst,
                  gws, gws_bytes, isa); /* dQ = scale dS K */
            gemm1(true, false, T, hd, T, s->scale, dP, T, Q, qst, 0.0f, dK, gst, gws, gws_bytes,
                  isa); /* dK = scale dS^T Q */
        }
    }
    lc_tr_kv_grad_reduce(s, &kg, dk, dv, n_threads);
    return LC_OK;
}
