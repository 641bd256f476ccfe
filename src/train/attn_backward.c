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
 * plus O(tile^2) per thread.
 *
 * Each (b, h) task first packs its Q, K, V and dO once into the panel
 * layouts of the 6 x 16 sgemm micro-kernel (as "A" strips of 6 rows and as
 * "B" strips of 16 columns), so the five products of every tile pair are
 * bare micro-kernel calls with nothing re-packed: P^T, dS and dS^T are read
 * in place from the row-major score tiles by the strided micro-kernel. Tiles
 * are 96 x 96 (a multiple of both 6 and 16); the sequence is zero-padded to
 * a whole number of tiles, and padded rows get P = 0.
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
#include "train/attn_rows.h"
#include "train/layers.h"

#define TILE LC_TR_FLASH_TILE /* 96: a multiple of MR = 6 and NR = 16 */
#define MR LC_SGEMM_MR
#define NR LC_SGEMM_NR

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

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }
static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/* Per-thread scratch of the flash backward: offsets in floats. Tp = T padded
 * to whole tiles, hdp = hd padded to 16. */
typedef struct {
    int64_t tp, hdp;
    size_t qa, doa;      /* Q, dO as A panels: [Tp/6][hd][6]               */
    size_t kbt, vbt;     /* K^T, V^T as B panels: [Tp/16][hd][16]          */
    size_t qb, dob, kb;  /* Q, dO, K as B panels: [hdp/16][Tp][16]         */
    size_t dq;           /* dQ accumulator [Tp][hdp]                       */
    size_t d, l;         /* D_i and lse_i [Tp]                             */
    size_t s, dp;        /* score / P tile and dP / dS tile [TILE][TILE]   */
    size_t dk, dv;       /* dK, dV accumulators of a key tile [TILE][hdp]  */
    size_t total;
} flash_scratch;

static flash_scratch flash_layout(const lc_tr_attn_shape *s) {
    flash_scratch f;
    f.tp = round_up(s->t, TILE);
    f.hdp = round_up(s->hd, NR);
    const size_t tp = (size_t)f.tp, hd = (size_t)s->hd, hdp = (size_t)f.hdp, tt = (size_t)TILE * TILE;
    size_t o = 0;
    f.qa = o, o += pad16(tp * hd);
    f.doa = o, o += pad16(tp * hd);
    f.kbt = o, o += pad16(tp * hd);
    f.vbt = o, o += pad16(tp * hd);
    f.qb = o, o += tp * hdp;
    f.dob = o, o += tp * hdp;
    f.kb = o, o += tp * hdp;
    f.dq = o, o += tp * hdp;
    f.d = o, o += tp;
    f.l = o, o += tp;
    f.s = o, o += tt;
    f.dp = o, o += tt;
    f.dk = o, o += (size_t)TILE * hdp;
    f.dv = o, o += (size_t)TILE * hdp;
    f.total = o;
    return f;
}

size_t lc_tr_attn_flash_backward_ws(const lc_tr_attn_shape *s, int n_threads) {
    return lc_tr_attn_partials_bytes(s) + (size_t)n_threads * flash_layout(s).total * sizeof(float);
}

/* Rows [0, T) of x (row stride st, hd columns) as A panels [Tp/6][hd][6]. */
static void pack_a_rows(float *dst, const float *x, int64_t st, int64_t t, int64_t tp, int32_t hd) {
    for (int64_t i0 = 0; i0 < tp; i0 += MR) {
        float *d = dst + i0 * hd;
        for (int r = 0; r < MR; r++) {
            const int64_t i = i0 + r;
            if (i < t)
                for (int32_t c = 0; c < hd; c++) d[c * MR + r] = x[i * st + c];
            else
                for (int32_t c = 0; c < hd; c++) d[c * MR + r] = 0.0f;
        }
    }
}

/* Rows of x as the transposed B operand: [Tp/16][hd][16] (column j = row j). */
static void pack_bt_rows(float *dst, const float *x, int64_t st, int64_t t, int64_t tp, int32_t hd) {
    for (int64_t j0 = 0; j0 < tp; j0 += NR) {
        float *d = dst + j0 * hd;
        for (int r = 0; r < NR; r++) {
            const int64_t j = j0 + r;
            if (j < t)
                for (int32_t c = 0; c < hd; c++) d[c * NR + r] = x[j * st + c];
            else
                for (int32_t c = 0; c < hd; c++) d[c * NR + r] = 0.0f;
        }
    }
}

/* x [T, hd] as the B operand with depth = rows: [hdp/16][Tp][16]. */
static void pack_b_rows(float *dst, const float *x, int64_t st, int64_t t, int64_t tp, int32_t hd, int64_t hdp) {
    for (int64_t c0 = 0; c0 < hdp; c0 += NR) {
        float *d = dst + c0 * tp;
        for (int64_t i = 0; i < tp; i++)
            for (int c = 0; c < NR; c++)
                d[i * NR + c] = (i < t && c0 + c < hd) ? x[i * st + c0 + c] : 0.0f;
    }
}

/* The backward of one (sequence, query head). */
static void flash_head(const lc_tr_attn_shape *s, int64_t b, int32_t h, const float *q, const float *k, const float *v,
                       const float *out, const float *lse, const float *dout, float *dq, const lc_tr_kv_grad *kg,
                       float *w, const flash_scratch *fl, lc_isa isa) {
    const int64_t T = s->t, Tp = fl->tp, hdp = fl->hdp;
    const int32_t hd = s->hd, hk = h / (s->nh / s->kv), hg = lc_tr_kv_grad_head(s, kg, h);
    const int64_t qst = (int64_t)s->nh * hd, kst = (int64_t)s->kv * hd, gst = (int64_t)kg->heads * hd;
    const float scale = s->scale;
    const lc_sgemm_kernel_fn kern = lc_sgemm_kernel_for(isa);
    const lc_sgemm_kernel_strided_fn kern_s = lc_sgemm_kernel_strided_for(isa);
    const float *Q = q + lc_tr_head_off(s, b, 0, h, s->nh), *O = out + lc_tr_head_off(s, b, 0, h, s->nh);
    const float *dO = dout + lc_tr_head_off(s, b, 0, h, s->nh);
    const float *K = k + lc_tr_head_off(s, b, 0, hk, s->kv), *V = v + lc_tr_head_off(s, b, 0, hk, s->kv);
    float *dQ = dq + lc_tr_head_off(s, b, 0, h, s->nh);
    float *dK = kg->dk + lc_tr_head_off(s, b, 0, hg, kg->heads), *dV = kg->dv + lc_tr_head_off(s, b, 0, hg, kg->heads);
    float *qa = w + fl->qa, *doa = w + fl->doa, *kbt = w + fl->kbt, *vbt = w + fl->vbt;
    float *qb = w + fl->qb, *dob = w + fl->dob, *kb = w + fl->kb, *dqa = w + fl->dq;
    float *D = w + fl->d, *L = w + fl->l, *S = w + fl->s, *dP = w + fl->dp;
    float *dKt = w + fl->dk, *dVt = w + fl->dv;

    pack_a_rows(qa, Q, qst, T, Tp, hd);
    pack_a_rows(doa, dO, qst, T, Tp, hd);
    pack_bt_rows(kbt, K, kst, T, Tp, hd);
    pack_bt_rows(vbt, V, kst, T, Tp, hd);
    pack_b_rows(qb, Q, qst, T, Tp, hd, hdp);
    pack_b_rows(dob, dO, qst, T, Tp, hd, hdp);
    pack_b_rows(kb, K, kst, T, Tp, hd, hdp);
    memset(dqa, 0, (size_t)(Tp * hdp) * sizeof(float));
    for (int64_t i = 0; i < Tp; i++) { /* D_i = dO_i . O_i; lse gathered */
        double d = 0.0;
        if (i < T)
            for (int32_t c = 0; c < hd; c++) d += (double)O[i * qst + c] * dO[i * qst + c];
        D[i] = (float)d;
        L[i] = i < T ? lse[((size_t)b * (size_t)T + (size_t)i) * (size_t)s->nh + (size_t)h] : 0.0f;
    }
    for (int64_t j0 = 0; j0 < Tp; j0 += TILE) {
        memset(dKt, 0, (size_t)(TILE * hdp) * sizeof(float));
        memset(dVt, 0, (size_t)(TILE * hdp) * sizeof(float));
        for (int64_t i0 = j0; i0 < Tp; i0 += TILE) { /* causal: query tiles from the diagonal on */
            /* S = Q_i K_j^T and dP = dO_i V_j^T, [TILE x TILE], depth hd */
            for (int64_t r = 0; r < TILE; r += MR)
                for (int64_t c = 0; c < TILE; c += NR) {
                    kern(hd, qa + (i0 + r) * hd, kbt + (j0 + c) * hd, S + r * TILE + c, TILE, 1.0f, 0.0f);
                    kern(hd, doa + (i0 + r) * hd, vbt + (j0 + c) * hd, dP + r * TILE + c, TILE, 1.0f, 0.0f);
                }
            /* P = exp(scale S - lse) (0 past the diagonal and on padded rows), dS = scale P (dP - D) */
            for (int64_t r = 0; r < TILE; r++) {
                const int64_t i = i0 + r, vis = i < T ? LC_MAX(0, LC_MIN((int64_t)TILE, i - j0 + 1)) : 0;
                lc_tr_p_row(S + r * TILE, TILE, vis, scale, L[i], isa);
                lc_tr_ds_row(dP + r * TILE, S + r * TILE, TILE, scale, D[i], isa);
            }
            /* P and dS are read in place: P^T and dS^T as A (rows = keys: stride 1, depth = queries: TILE),
             * dS as A (rows = queries: TILE, depth = keys: 1).
             * dV_j += P^T dO_i, dK_j += dS^T Q_i: [TILE x hdp], depth = the tile's queries;
             * dQ_i += dS K_j: [TILE x hdp], depth = the tile's keys */
            for (int64_t r = 0; r < TILE; r += MR)
                for (int64_t c = 0; c < hdp; c += NR) {
                    kern_s(TILE, S + r, 1, TILE, dob + c * Tp + i0 * NR, dVt + r * hdp + c, hdp, 1.0f, 1.0f);
                    kern_s(TILE, dP + r, 1, TILE, qb + c * Tp + i0 * NR, dKt + r * hdp + c, hdp, 1.0f, 1.0f);
                    kern_s(TILE, dP + r * TILE, TILE, 1, kb + c * Tp + j0 * NR, dqa + (i0 + r) * hdp + c, hdp, 1.0f,
                           1.0f);
                }
        }
        for (int64_t r = 0; r < TILE && j0 + r < T; r++) {
            memcpy(dK + (j0 + r) * gst, dKt + r * hdp, (size_t)hd * sizeof(float));
            memcpy(dV + (j0 + r) * gst, dVt + r * hdp, (size_t)hd * sizeof(float));
        }
    }
    for (int64_t i = 0; i < T; i++) memcpy(dQ + i * qst, dqa + i * hdp, (size_t)hd * sizeof(float));
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
