/*
 * Forward/backward pairs of the element-wise and row-wise layers: embedding,
 * RMSNorm, linear (via sgemm), RoPE, SwiGLU. See layers.h for shapes.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "train/layers.h"

/* Columns per task in column-split reductions (one cache line of floats). */
#define COL_BLOCK 16

/* ---- Embedding ----------------------------------------------------------- */

void lc_tr_embed_forward(float *out, const int32_t *ids, const float *emb, int64_t n, int32_t c) {
    for (int64_t i = 0; i < n; i++)
        memcpy(out + (size_t)i * (size_t)c, emb + (size_t)ids[i] * (size_t)c, (size_t)c * sizeof(float));
}

void lc_tr_embed_backward(float *demb, const float *dout, const int32_t *ids, int64_t n, int32_t c, int n_threads) {
    /* Threads own column blocks, so each demb element is summed over rows
     * in row order by exactly one thread. */
    const int64_t n_blocks = (c + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t cb = 0; cb < n_blocks; cb++) {
        const int64_t c0 = cb * COL_BLOCK, c1 = LC_MIN(c0 + COL_BLOCK, (int64_t)c);
        for (int64_t i = 0; i < n; i++) {
            float *d = demb + (size_t)ids[i] * (size_t)c;
            const float *g = dout + (size_t)i * (size_t)c;
            for (int64_t j = c0; j < c1; j++) d[j] += g[j];
        }
    }
}

/* ---- RMSNorm ------------------------------------------------------------- */

void lc_tr_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t n, int32_t c, float eps,
                           int n_threads) {
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * (size_t)c;
        float *oi = out + (size_t)i * (size_t)c;
        double ss = 0.0;
        for (int32_t j = 0; j < c; j++) ss += (double)xi[j] * xi[j];
        const float r = (float)(1.0 / sqrt(ss / c + (double)eps));
        rstd[i] = r;
        for (int32_t j = 0; j < c; j++) oi[j] = xi[j] * r * w[j];
    }
}

/*
 * y_j = x_j r w_j with r = (mean(x^2) + eps)^-1/2, dr/dx_j = -r^3 x_j / C:
 *   dx_j = r w_j dy_j - x_j r^3 / C * sum_k dy_k w_k x_k
 *   dw_j = sum_rows dy_j x_j r
 */
void lc_tr_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                            int64_t n, int32_t c, int n_threads) {
#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(static) nowait
        for (int64_t i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * (size_t)c, *gi = dout + (size_t)i * (size_t)c;
            float *di = dx + (size_t)i * (size_t)c;
            const float r = rstd[i];
            double dot = 0.0;
            for (int32_t j = 0; j < c; j++) dot += (double)gi[j] * w[j] * xi[j];
            const float k = (float)(dot * r * r * r / c);
            for (int32_t j = 0; j < c; j++) di[j] += r * w[j] * gi[j] - xi[j] * k;
        }
        const int64_t n_blocks = (c + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp for schedule(static)
        for (int64_t cb = 0; cb < n_blocks; cb++) {
            const int64_t c0 = cb * COL_BLOCK, c1 = LC_MIN(c0 + COL_BLOCK, (int64_t)c);
            double acc[COL_BLOCK] = {0};
            for (int64_t i = 0; i < n; i++) {
                const float *xi = x + (size_t)i * (size_t)c, *gi = dout + (size_t)i * (size_t)c;
                const double r = rstd[i];
                for (int64_t j = c0; j < c1; j++) acc[j - c0] += (double)gi[j] * xi[j] * r;
            }
            for (int64_t j = c0; j < c1; j++) dw[j] += (float)acc[j - c0];
        }
    }
}

/* ---- Linear -------------------------------------------------------------- */

lc_status lc_tr_matmul_forward(float *out, const float *x, const float *w, int64_t n, int64_t in, int64_t out_dim,
                               bool accumulate, const lc_tr_exec *ex, lc_error *err) {
    /* out[N, O] = x[N, I] . W[O, I]^T */
    lc_sgemm_args g = {false, true, n, out_dim, in, 1.0f, x, in, w, in, accumulate ? 1.0f : 0.0f, out, out_dim,
                       ex->n_threads, ex->force_scalar};
    return lc_sgemm_run(&g, ex->isa, ex->gemm_ws, ex->gemm_ws_bytes, err);
}

lc_status lc_tr_matmul_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, int64_t n,
                                int64_t in, int64_t out_dim, bool accumulate_dx, const lc_tr_exec *ex, lc_error *err) {
    lc_status st = LC_OK;
    if (dx) { /* dx[N, I] = dout[N, O] . W[O, I] */
        lc_sgemm_args g = {false, false, n, in, out_dim, 1.0f, dout, out_dim, w, in, accumulate_dx ? 1.0f : 0.0f,
                           dx, in, ex->n_threads, ex->force_scalar};
        st = lc_sgemm_run(&g, ex->isa, ex->gemm_ws, ex->gemm_ws_bytes, err);
        if (st != LC_OK) return st;
    }
    /* dW[O, I] += dout[N, O]^T . x[N, I] */
    lc_sgemm_args g = {true, false, out_dim, in, n, 1.0f, dout, out_dim, x, in, 1.0f, dw, in, ex->n_threads,
                       ex->force_scalar};
    return lc_sgemm_run(&g, ex->isa, ex->gemm_ws, ex->gemm_ws_bytes, err);
}

/* ---- RoPE ---------------------------------------------------------------- */

static lc_status rope_rows(const lc_rope_cache *rc, float *x, int64_t b, int64_t t, int32_t h, int32_t hd,
                           bool inverse, int n_threads, lc_error *err) {
    int bad = 0;
    const int64_t n = b * t;
#pragma omp parallel for schedule(static) num_threads(n_threads) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        float *xi = x + (size_t)i * (size_t)h * (size_t)hd;
        const int64_t pos = i % t;
        lc_status st = inverse ? lc_rope_apply_inverse(rc, xi, h, hd, pos) : lc_rope_apply(rc, xi, h, hd, pos);
        bad |= st != LC_OK;
    }
    if (bad) return lc_fail(err, LC_ERR_INVALID_ARG, "rope: cannot rotate %d heads of %d dimensions", h, hd);
    return LC_OK;
}

lc_status lc_tr_rope_forward(const lc_rope_cache *rc, float *x, int64_t b, int64_t t, int32_t h, int32_t hd,
                             int n_threads, lc_error *err) {
    return rope_rows(rc, x, b, t, h, hd, false, n_threads, err);
}

lc_status lc_tr_rope_backward(const lc_rope_cache *rc, float *dx, int64_t b, int64_t t, int32_t h, int32_t hd,
                              int n_threads, lc_error *err) {
    return rope_rows(rc, dx, b, t, h, hd, true, n_threads, err);
}

/* ---- SwiGLU -------------------------------------------------------------- */

void lc_tr_swiglu_forward(float *h, const float *g, const float *u, int64_t n, int n_threads) {
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-g[i]));
        h[i] = g[i] * s * u[i];
    }
}

void lc_tr_swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, int64_t n,
                           int n_threads) {
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + expf(-g[i]));
        const float silu = g[i] * s;
        const float d = dh[i];
        du[i] = d * silu;
        dg[i] = d * u[i] * (s + silu * (1.0f - s)); /* silu' = s + g s (1 - s) */
    }
}
