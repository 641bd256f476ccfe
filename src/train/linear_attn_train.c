/*
 * Causal linear attention for training (Katharopoulos et al. 2020), feature
 * map phi(x) = elu(x) + 1, in the chunked form. Per (sequence b, head h), with
 * Qf = phi(Q), Kf = phi(K) of one chunk of n <= C tokens and the state
 * (S [F, hd], z [F]; F = hd) of all earlier chunks:
 *
 *   forward   A   = tril(Qf Kf^T)                          [n, n]
 *             num = A V + Qf S                             [n, hd]
 *             den = A 1 + Qf z                             [n]
 *             O   = num / den
 *             S  += Kf^T V,  z += Kf^T 1
 *
 *   backward  dnum = dO / den,  dden = -rowsum(dO * O) / den
 *             dA   = tril(dnum V^T + dden 1^T)
 *     pass 1 (chunks in order, state S, z rebuilt as in the forward):
 *             dQf  = dA Kf + dnum S^T + dden z^T
 *     pass 2 (chunks in reverse, dS, dz = what later chunks sent to the state):
 *             dKf  = dA^T Qf + V dS^T + 1 dz^T
 *             dV   = A^T dnum + Kf dS
 *             dS  += Qf^T dnum,  dz += Qf^T dden
 *             dQ = dQf * phi'(Q),  dK = dKf * phi'(K),  phi'(x) = 1 (x > 0), e^x
 *
 * Only the normaliser den [B, T, NH] is saved besides O: memory is linear in
 * T, and the work O(T (C + hd) hd). The forward is this file's own (the same
 * arithmetic as lc_attn LINEAR elu, which inference runs), so the backward
 * differentiates exactly what was computed.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "train/attn_common.h"
#include "train/attn_rows.h"
#include "train/layers.h"

/* phi'(x) from x and phi(x): 1 for x > 0, else e^x = phi(x). */
static inline float dphi(float x, float fx) { return x > 0.0f ? 1.0f : fx; }

typedef struct {
    size_t qf, kf, a, da, dn, dd, st, z, dst, dz, tmp, gemm; /* float offsets per thread          */
    size_t qf_all, kf_all; /* backward: phi(Q), phi(K) of the whole sequence [T, hd] */
    size_t total;
} lin_scratch;

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }

static lin_scratch lin_layout(const lc_tr_attn_shape *s, int64_t chunk) {
    lin_scratch l;
    const size_t c = (size_t)chunk, d = (size_t)s->hd;
    size_t o = 0;
    l.qf = o, o += pad16(c * d);
    l.kf = o, o += pad16(c * d);
    l.a = o, o += pad16(c * c);
    l.da = o, o += pad16(c * c);
    l.dn = o, o += pad16(c * d);
    l.dd = o, o += pad16(c);
    l.st = o, o += pad16(d * d);
    l.z = o, o += pad16(d);
    l.dst = o, o += pad16(d * d);
    l.dz = o, o += pad16(d);
    l.tmp = o, o += pad16(c * d);
    l.qf_all = o, o += pad16((size_t)s->t * d);
    l.kf_all = o, o += pad16((size_t)s->t * d);
    const int64_t big = LC_MAX(chunk, (int64_t)s->hd);
    l.gemm = o, o += pad16(lc_sgemm_workspace_bytes(big, big, big, 1) / sizeof(float));
    l.total = o;
    return l;
}

size_t lc_tr_linear_ws(const lc_tr_attn_shape *s, int64_t chunk, int n_threads) {
    return lc_tr_attn_partials_bytes(s) + (size_t)n_threads * lin_layout(s, chunk).total * sizeof(float);
}

static void gemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                  int64_t ldb, float beta, float *c, int64_t ldc, float *ws, size_t ws_bytes, lc_isa isa) {
    lc_sgemm_args g = {ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc, 1, false};
    (void)lc_sgemm_run(&g, isa, ws, ws_bytes, NULL); /* shapes are valid by construction */
}

/* Views of one (b, h) and its scratch. */
typedef struct {
    const lc_tr_attn_shape *s;
    const lin_scratch *l;
    float *w;             /* this thread's scratch */
    size_t gws_bytes;
    const float *Q, *K, *V, *O, *dO;
    const float *den;     /* stride nh */
    int64_t qst, kst;
    lc_isa isa;
} lin_head;


/* A = tril(Qf Kf^T) for a chunk of n rows (into buffer a). */
static void chunk_scores(const lin_head *hh, const float *qf, const float *kf, int64_t n, float *a) {
    const int32_t hd = hh->s->hd;
    gemm1(false, true, n, n, hd, qf, hd, kf, hd, 0.0f, a, n, hh->w + hh->l->gemm, hh->gws_bytes, hh->isa);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) a[i * n + j] = 0.0f;
}

/* dnum, dden and dA = tril(dnum V^T + dden 1^T) of the chunk at i0. */
static void chunk_upstream(const lin_head *hh, int64_t i0, int64_t n) {
    const int32_t hd = hh->s->hd;
    float *w = hh->w, *dn = w + hh->l->dn, *dd = w + hh->l->dd, *da = w + hh->l->da;
    for (int64_t i = 0; i < n; i++) {
        const float *go = hh->dO + (i0 + i) * hh->qst, *o = hh->O + (i0 + i) * hh->qst;
        const float inv = 1.0f / hh->den[(i0 + i) * hh->s->nh];
        double dot = 0.0;
        for (int32_t c = 0; c < hd; c++) {
            dn[i * hd + c] = go[c] * inv;
            dot += (double)go[c] * o[c];
        }
        dd[i] = (float)(-dot) * inv;
    }
    gemm1(false, true, n, n, hd, dn, hd, hh->V + i0 * hh->kst, hh->kst, 0.0f, da, n, w + hh->l->gemm, hh->gws_bytes,
          hh->isa);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) da[i * n + j] = j <= i ? da[i * n + j] + dd[i] : 0.0f;
}

static void forward_head(const lc_tr_attn_shape *s, int64_t chunk, int64_t b, int32_t h, const float *q, const float *k,
                         const float *v, float *out, float *den, float *w, const lin_scratch *l, lc_isa isa) {
    const int32_t hd = s->hd, hk = h / (s->nh / s->kv);
    const int64_t T = s->t, qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd;
    const float *Q = q + lc_tr_head_off(s, b, 0, h, s->nh), *K = k + lc_tr_head_off(s, b, 0, hk, s->kv);
    const float *V = v + lc_tr_head_off(s, b, 0, hk, s->kv);
    float *O = out + lc_tr_head_off(s, b, 0, h, s->nh);
    float *qf = w + l->qf, *kf = w + l->kf, *a = w + l->a, *S = w + l->st, *z = w + l->z, *gws = w + l->gemm;
    const size_t gws_bytes = (l->total - l->gemm) * sizeof(float);
    memset(S, 0, (size_t)hd * (size_t)hd * sizeof(float));
    memset(z, 0, (size_t)hd * sizeof(float));
    for (int64_t i0 = 0; i0 < T; i0 += chunk) {
        const int64_t n = LC_MIN(chunk, T - i0);
        lc_tr_elu1_rows(qf, Q + i0 * qst, n, qst, hd, isa);
        lc_tr_elu1_rows(kf, K + i0 * kst, n, kst, hd, isa);
        gemm1(false, true, n, n, hd, qf, hd, kf, hd, 0.0f, a, n, gws, gws_bytes, isa);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) a[i * n + j] = 0.0f;
        /* num = A V + Qf S, written into O's rows */
        gemm1(false, false, n, hd, n, a, n, V + i0 * kst, kst, 0.0f, O + i0 * qst, qst, gws, gws_bytes, isa);
        gemm1(false, false, n, hd, hd, qf, hd, S, hd, 1.0f, O + i0 * qst, qst, gws, gws_bytes, isa);
        for (int64_t i = 0; i < n; i++) {
            double d = 0.0;
            for (int64_t j = 0; j <= i; j++) d += a[i * n + j];
            for (int32_t c = 0; c < hd; c++) d += (double)qf[i * hd + c] * z[c];
            const float df = (float)d, inv = 1.0f / df;
            den[((size_t)b * (size_t)T + (size_t)(i0 + i)) * (size_t)s->nh + (size_t)h] = df;
            float *o = O + (i0 + i) * qst;
            for (int32_t c = 0; c < hd; c++) o[c] *= inv;
        }
        /* S += Kf^T V, z += Kf^T 1 */
        gemm1(true, false, hd, hd, n, kf, hd, V + i0 * kst, kst, 1.0f, S, hd, gws, gws_bytes, isa);
        for (int64_t j = 0; j < n; j++)
            for (int32_t c = 0; c < hd; c++) z[c] += kf[j * hd + c];
    }
}

lc_status lc_tr_linear_forward(const lc_tr_attn_shape *s, int64_t chunk, const float *q, const float *k,
                               const float *v, float *out, float *den, void *ws, size_t ws_bytes, int n_threads,
                               lc_isa isa, lc_error *err) {
    if (n_threads < 1) n_threads = 1;
    if (chunk < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "linear attention: chunk %lld < 1", (long long)chunk);
    const size_t need = lc_tr_linear_ws(s, chunk, n_threads);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "linear attention: workspace of %zu bytes given, %zu needed", ws_bytes,
                       need);
    const lin_scratch l = lin_layout(s, chunk);
    float *thread_mem = (float *)((char *)ws + lc_tr_attn_partials_bytes(s));
    const int64_t tasks = s->b * s->nh;
#pragma omp parallel num_threads(n_threads)
    {
        float *w = thread_mem + (size_t)omp_get_thread_num() * l.total;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            forward_head(s, chunk, t / s->nh, (int32_t)(t % s->nh), q, k, v, out, den, w, &l, isa);
    }
    return LC_OK;
}

static void backward_head(const lc_tr_attn_shape *s, int64_t chunk, int64_t b, int32_t h, const float *q,
                          const float *k, const float *v, const float *out, const float *den, const float *dout,
                          float *dq, const lc_tr_kv_grad *kg, float *w, const lin_scratch *l, lc_isa isa) {
    const int32_t hd = s->hd, hk = h / (s->nh / s->kv), hg = lc_tr_kv_grad_head(s, kg, h);
    const int64_t T = s->t, qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd, gst = (int64_t)kg->heads * hd;
    lin_head hh = {s, l, w, (l->total - l->gemm) * sizeof(float), q + lc_tr_head_off(s, b, 0, h, s->nh),
                   k + lc_tr_head_off(s, b, 0, hk, s->kv), v + lc_tr_head_off(s, b, 0, hk, s->kv),
                   out + lc_tr_head_off(s, b, 0, h, s->nh), dout + lc_tr_head_off(s, b, 0, h, s->nh),
                   den + (size_t)b * (size_t)T * (size_t)s->nh + (size_t)h, qst, kst, isa};
    float *a = w + l->a, *da = w + l->da, *dn = w + l->dn, *dd = w + l->dd;
    float *S = w + l->st, *z = w + l->z, *dS = w + l->dst, *dz = w + l->dz, *tmp = w + l->tmp, *gws = w + l->gemm;
    float *qf_all = w + l->qf_all, *kf_all = w + l->kf_all;
    const size_t gb = hh.gws_bytes;
    /* phi(Q), phi(K) once for both passes; phi'(x) follows from x and phi(x) */
    lc_tr_elu1_rows(qf_all, hh.Q, T, qst, hd, isa);
    lc_tr_elu1_rows(kf_all, hh.K, T, kst, hd, isa);
    float *dQ = dq + lc_tr_head_off(s, b, 0, h, s->nh);
    float *dK = kg->dk + lc_tr_head_off(s, b, 0, hg, kg->heads), *dV = kg->dv + lc_tr_head_off(s, b, 0, hg, kg->heads);

    /* Pass 1: dQ, chunks in order with the state rebuilt. */
    memset(S, 0, (size_t)hd * (size_t)hd * sizeof(float));
    memset(z, 0, (size_t)hd * sizeof(float));
    for (int64_t i0 = 0; i0 < T; i0 += chunk) {
        const int64_t n = LC_MIN(chunk, T - i0);
        const float *qf = qf_all + i0 * hd, *kf = kf_all + i0 * hd;
        chunk_upstream(&hh, i0, n);
        /* dQf = dA Kf + dnum S^T + dden z^T */
        gemm1(false, false, n, hd, n, da, n, kf, hd, 0.0f, tmp, hd, gws, gb, isa);
        gemm1(false, true, n, hd, hd, dn, hd, S, hd, 1.0f, tmp, hd, gws, gb, isa);
        for (int64_t i = 0; i < n; i++) {
            const float *qi = hh.Q + (i0 + i) * qst;
            float *o = dQ + (i0 + i) * qst;
            for (int32_t c = 0; c < hd; c++) o[c] = (tmp[i * hd + c] + dd[i] * z[c]) * dphi(qi[c], qf[i * hd + c]);
        }
        gemm1(true, false, hd, hd, n, kf, hd, hh.V + i0 * kst, kst, 1.0f, S, hd, gws, gb, isa);
        for (int64_t j = 0; j < n; j++)
            for (int32_t c = 0; c < hd; c++) z[c] += kf[j * hd + c];
    }
    /* Pass 2: dK, dV, chunks in reverse with the state gradient carried back. */
    memset(dS, 0, (size_t)hd * (size_t)hd * sizeof(float));
    memset(dz, 0, (size_t)hd * sizeof(float));
    const int64_t n_chunks = (T + chunk - 1) / chunk;
    for (int64_t ci = n_chunks - 1; ci >= 0; ci--) {
        const int64_t i0 = ci * chunk, n = LC_MIN(chunk, T - i0);
        const float *qf = qf_all + i0 * hd, *kf = kf_all + i0 * hd;
        chunk_scores(&hh, qf, kf, n, a);
        chunk_upstream(&hh, i0, n);
        /* dKf = dA^T Qf + V dS^T + 1 dz^T */
        gemm1(true, false, n, hd, n, da, n, qf, hd, 0.0f, tmp, hd, gws, gb, isa);
        gemm1(false, true, n, hd, hd, hh.V + i0 * kst, kst, dS, hd, 1.0f, tmp, hd, gws, gb, isa);
        for (int64_t j = 0; j < n; j++) {
            const float *kj = hh.K + (i0 + j) * kst;
            float *o = dK + (i0 + j) * gst;
            for (int32_t c = 0; c < hd; c++) o[c] = (tmp[j * hd + c] + dz[c]) * dphi(kj[c], kf[j * hd + c]);
        }
        /* dV = A^T dnum + Kf dS */
        gemm1(true, false, n, hd, n, a, n, dn, hd, 0.0f, dV + i0 * gst, gst, gws, gb, isa);
        gemm1(false, false, n, hd, hd, kf, hd, dS, hd, 1.0f, dV + i0 * gst, gst, gws, gb, isa);
        /* dS += Qf^T dnum, dz += Qf^T dden */
        gemm1(true, false, hd, hd, n, qf, hd, dn, hd, 1.0f, dS, hd, gws, gb, isa);
        for (int64_t i = 0; i < n; i++)
            for (int32_t c = 0; c < hd; c++) dz[c] += qf[i * hd + c] * dd[i];
    }
}

lc_status lc_tr_linear_backward(const lc_tr_attn_shape *s, int64_t chunk, const float *q, const float *k,
                                const float *v, const float *out, const float *den, const float *dout, float *dq,
                                float *dk, float *dv, void *ws, size_t ws_bytes, int n_threads, lc_isa isa,
                                lc_error *err) {
    if (n_threads < 1) n_threads = 1;
    if (chunk < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "linear attention: chunk %lld < 1", (long long)chunk);
    const size_t need = lc_tr_linear_ws(s, chunk, n_threads);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "linear attention backward: workspace of %zu bytes given, %zu needed",
                       ws_bytes, need);
    const lin_scratch l = lin_layout(s, chunk);
    const lc_tr_kv_grad kg = lc_tr_kv_grad_target(s, dk, dv, ws);
    float *thread_mem = (float *)((char *)ws + lc_tr_attn_partials_bytes(s));
    const int64_t tasks = s->b * s->nh;
#pragma omp parallel num_threads(n_threads)
    {
        float *w = thread_mem + (size_t)omp_get_thread_num() * l.total;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            backward_head(s, chunk, t / s->nh, (int32_t)(t % s->nh), q, k, v, out, den, dout, dq, &kg, w, &l, isa);
    }
    lc_tr_kv_grad_reduce(s, &kg, dk, dv, n_threads);
    return LC_OK;
}
