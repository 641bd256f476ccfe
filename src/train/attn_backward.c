/*
 * Causal softmax attention for training, FLASH form: the forward runs through
 * lc_attn_forward (which also returns the log-sum-exp of every row) and the
 * backward is FlashAttention-2's (Dao 2023, Algorithm 2) on the CPU:
 *
 *   for each (sequence b, query head h)                 [threads split these]
 *     D_i = rowsum(dO_i * O_i)                           for all queries i
 *     for each key tile j (64 keys)
 *       for each query tile i >= j (64 queries)          causal: skip i < j
 *         S   = Q_i K_j^T                                [64 x 64]
 *         P   = exp(scale S - lse_i)   (0 where key > query)
 *         dV_j += P^T dO_i
 *         dP  = dO_i V_j^T
 *         dS  = scale * P * (dP - D_i)
 *         dQ_i += dS K_j
 *         dK_j += dS^T Q_i
 *
 * P is recomputed from the saved lse, never stored: memory is O(T) per head
 * plus O(tile^2) per thread. The products run through the single-thread
 * lc_sgemm on strided head views (no copies).
 *
 * Grouped-query attention: dK/dV of a KV head collect the contributions of
 * its `group` query heads. Each (b, h) task writes its own partial rows
 * [B, T, NH, hd], which are then summed over the group in head order, so the
 * result does not depend on which thread ran which head. With group == 1
 * the partials are the result.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "train/attn_common.h"
#include "train/layers.h"

#define TILE LC_TR_FLASH_TILE

lc_status lc_tr_attn_flash_forward_ws(const lc_tr_attn_shape *s, const lc_attn_params *fwd, size_t *bytes,
                                      lc_error *err) {
    lc_attn_shape as = lc_tr_attn_seq_shape(s);
    return lc_attn_workspace(&as, fwd, bytes, err);
}

lc_status lc_tr_attn_flash_forward(const lc_tr_attn_shape *s, const lc_attn_params *fwd, const float *q, const float *k,
                                   const float *v, float *out, float *lse, void *ws, size_t ws_bytes, lc_error *err) {
    lc_attn_shape as = lc_tr_attn_seq_shape(s);
    const size_t qs = (size_t)s->t * (size_t)s->nh * (size_t)s->hd, ks = (size_t)s->t * (size_t)s->kv * (size_t)s->hd;
    for (int64_t b = 0; b < s->b; b++) {
        lc_attn_io io = {q + (size_t)b * qs, k + (size_t)b * ks, v + (size_t)b * ks, out + (size_t)b * qs,
                         lse + (size_t)b * (size_t)s->t * (size_t)s->nh};
        lc_status st = lc_attn_forward(&as, fwd, &io, ws, ws_bytes, err);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}

/* Per-thread scratch of the flash backward, in floats. */
typedef struct {
    size_t s, dp, dk, dv, d, l, gemm; /* offsets */
    size_t total;                     /* floats per thread (64-byte multiple) */
} flash_scratch;

static flash_scratch flash_layout(const lc_tr_attn_shape *s) {
    flash_scratch f;
    size_t o = 0;
    const size_t tt = (size_t)TILE * TILE, th = (size_t)TILE * (size_t)s->hd, t = ((size_t)s->t + 15) / 16 * 16;
    const int64_t big = LC_MAX((int64_t)TILE, (int64_t)s->hd);
    f.s = o, o += tt;
    f.dp = o, o += tt;
    f.dk = o, o += (th + 15) / 16 * 16;
    f.dv = o, o += (th + 15) / 16 * 16;
    f.d = o, o += t;
    f.l = o, o += t;
    f.gemm = o, o += (lc_sgemm_workspace_bytes(big, big, big, 1) / sizeof(float) + 15) / 16 * 16;
    f.total = o;
    return f;
}

size_t lc_tr_attn_flash_backward_ws(const lc_tr_attn_shape *s, int n_threads) {
    return lc_tr_attn_partials_bytes(s) + (size_t)n_threads * flash_layout(s).total * sizeof(float);
}

/* C[m, n] (+)= alpha * op(A) op(B) on the calling thread. */
static void gemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc, float *ws, size_t ws_bytes,
                  lc_isa isa) {
    lc_sgemm_args g = {ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, false};
    (void)lc_sgemm_run(&g, isa, ws, ws_bytes, NULL); /* shapes are valid by construction */
}

/* The backward of one (sequence, query head). */
static void flash_head(const lc_tr_attn_shape *s, int64_t b, int32_t h, const float *q, const float *k, const float *v,
                       const float *out, const float *lse, const float *dout, float *dq, const lc_tr_kv_grad *kg,
                       float *scratch, const flash_scratch *fl, lc_isa isa) {
    const int64_t T = s->t;
    const int32_t hd = s->hd, hk = h / (s->nh / s->kv), hg = lc_tr_kv_grad_head(s, kg, h);
    const int64_t qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd, gst = (int64_t)kg->heads * hd;
    const float scale = s->scale;
    float *S = scratch + fl->s, *dP = scratch + fl->dp, *dKt = scratch + fl->dk, *dVt = scratch + fl->dv;
    float *D = scratch + fl->d, *L = scratch + fl->l, *gws = scratch + fl->gemm;
    const size_t gws_bytes = (fl->total - fl->gemm) * sizeof(float);
    const float *Q = q + lc_tr_head_off(s, b, 0, h, s->nh), *O = out + lc_tr_head_off(s, b, 0, h, s->nh);
    const float *dO = dout + lc_tr_head_off(s, b, 0, h, s->nh);
    const float *K = k + lc_tr_head_off(s, b, 0, hk, s->kv), *V = v + lc_tr_head_off(s, b, 0, hk, s->kv);
    float *dQ = dq + lc_tr_head_off(s, b, 0, h, s->nh);
    float *dK = kg->dk + lc_tr_head_off(s, b, 0, hg, kg->heads), *dV = kg->dv + lc_tr_head_off(s, b, 0, hg, kg->heads);

    for (int64_t i = 0; i < T; i++) { /* D_i = dO_i . O_i, lse gathered, dQ zeroed */
        const float *oi = O + i * qst, *gi = dO + i * qst;
        double d = 0.0;
        for (int32_t c = 0; c < hd; c++) d += (double)oi[c] * gi[c];
        D[i] = (float)d;
        L[i] = lse[((size_t)b * (size_t)T + (size_t)i) * (size_t)s->nh + (size_t)h];
        memset(dQ + i * qst, 0, (size_t)hd * sizeof(float));
    }
    for (int64_t j0 = 0; j0 < T; j0 += TILE) {
        const int64_t bk = LC_MIN((int64_t)TILE, T - j0);
        memset(dKt, 0, (size_t)bk * (size_t)hd * sizeof(float));
        memset(dVt, 0, (size_t)bk * (size_t)hd * sizeof(float));
        for (int64_t i0 = j0; i0 < T; i0 += TILE) { /* tiles aligned: query tiles from the diagonal on */
            const int64_t bq = LC_MIN((int64_t)TILE, T - i0);
            /* S = Q_i K_j^T  [bq, bk] */
            gemm1(false, true, bq, bk, hd, 1.0f, Q + i0 * qst, qst, K + j0 * kst, kst, 0.0f, S, bk, gws, gws_bytes,
                  isa);
            for (int64_t r = 0; r < bq; r++) { /* P = exp(scale S - lse), causal */
                float *sr = S + r * bk;
                const float li = L[i0 + r];
                const int64_t vis = LC_MIN(bk, i0 + r - j0 + 1); /* keys j0 .. i visible */
                for (int64_t c = 0; c < vis; c++) sr[c] = expf(scale * sr[c] - li);
                for (int64_t c = LC_MAX(vis, 0); c < bk; c++) sr[c] = 0.0f;
            }
            /* dV_j += P^T dO_i  [bk, hd] */
            gemm1(true, false, bk, hd, bq, 1.0f, S, bk, dO + i0 * qst, qst, 1.0f, dVt, hd, gws, gws_bytes, isa);
            /* dP = dO_i V_j^T  [bq, bk] */
            gemm1(false, true, bq, bk, hd, 1.0f, dO + i0 * qst, qst, V + j0 * kst, kst, 0.0f, dP, bk, gws, gws_bytes,
                  isa);
            for (int64_t r = 0; r < bq; r++) { /* dS = scale P (dP - D_i), into dP */
                const float *pr = S + r * bk;
                float *dr = dP + r * bk;
                const float di = D[i0 + r];
                for (int64_t c = 0; c < bk; c++) dr[c] = scale * pr[c] * (dr[c] - di);
            }
            /* dQ_i += dS K_j  [bq, hd];  dK_j += dS^T Q_i  [bk, hd] */
            gemm1(false, false, bq, hd, bk, 1.0f, dP, bk, K + j0 * kst, kst, 1.0f, dQ + i0 * qst, qst, gws, gws_bytes,
                  isa);
            gemm1(true, false, bk, hd, bq, 1.0f, dP, bk, Q + i0 * qst, qst, 1.0f, dKt, hd, gws, gws_bytes, isa);
        }
        for (int64_t r = 0; r < bk; r++) {
            memcpy(dK + (j0 + r) * gst, dKt + r * hd, (size_t)hd * sizeof(float));
            memcpy(dV + (j0 + r) * gst, dVt + r * hd, (size_t)hd * sizeof(float));
        }
    }
}

lc_status lc_tr_attn_flash_backward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                    const float *out, const float *lse, const float *dout, float *dq, float *dk,
                                    float *dv, void *ws, size_t ws_bytes, int n_threads, lc_isa isa, lc_error *err) {
    if (n_threads < 1) n_threads = 1;
    const size_t need = lc_tr_attn_flash_backward_ws(s, n_threads);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "flash backward: workspace of %zu bytes given, %zu needed", ws_bytes,
                       need);
    const flash_scratch fl = flash_layout(s);
    const lc_tr_kv_grad kg = lc_tr_kv_grad_target(s, dk, dv, ws);
    float *thread_mem = (float *)((char *)ws + lc_tr_attn_partials_bytes(s));
    const int64_t tasks = s->b * s->nh;
#pragma omp parallel num_threads(n_threads)
    {
        float *mine = thread_mem + (size_t)omp_get_thread_num() * fl.total;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            flash_head(s, t / s->nh, (int32_t)(t % s->nh), q, k, v, out, lse, dout, dq, &kg, mine, &fl, isa);
    }
    lc_tr_kv_grad_reduce(s, &kg, dk, dv, n_threads);
    return LC_OK;
}
