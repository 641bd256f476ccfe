/*
 * Elementwise operations of the forward pass: RMSNorm, SwiGLU, residual add,
 * softmax, argmax. AVX2 versions in ops_avx2.c; the scalar code here is the
 * fallback and the definition.
 */
#include <math.h>

#include <string.h>

#include "common/simd.h"
#include "kernels/kernels_internal.h"
#include "quant/quant.h"

static bool use_avx2(const lc_kernel_opts *o) { return lc_kernel_use_avx2(o); }

static int threads_of(const lc_kernel_opts *o) { return o && o->n_threads > 0 ? o->n_threads : lc_cpu_count(); }

/* Below this many elements a parallel region costs more than it saves. */
#define OPS_PARALLEL_MIN 65536

void lc_rmsnorm(float *out, const float *x, const float *w, int64_t n_rows, int64_t n, float eps,
                const lc_kernel_opts *o) {
    if (n_rows <= 0 || n <= 0) return;
    const bool avx2 = use_avx2(o);
    const int nt = threads_of(o);
#pragma omp parallel for num_threads(nt) schedule(static) if (n_rows * n >= OPS_PARALLEL_MIN)
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + (size_t)r * (size_t)n;
        float *outr = out + (size_t)r * (size_t)n;
        double ss = 0.0;
#if defined(LC_HAVE_X86)
        if (avx2) {
            ss = lc_sumsq_avx2(xr, n);
            float s = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
            lc_scale_mul_avx2(outr, xr, w, s, n);
            continue;
        }
#endif
        (void)avx2;
        for (int64_t i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float s = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
        for (int64_t i = 0; i < n; i++) outr[i] = xr[i] * s * w[i];
    }
}

void lc_swiglu(float *out, const float *gate, const float *up, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
    const bool avx2 = use_avx2(o);
    const int nt = threads_of(o);
    /* Chunks of 4096 elements: each thread takes whole chunks. */
    const int64_t chunk = 4096, n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= OPS_PARALLEL_MIN)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t i0 = c * chunk, i1 = LC_MIN(n, i0 + chunk);
#if defined(LC_HAVE_X86)
        if (avx2) {
            lc_swiglu_avx2(out + i0, gate + i0, up + i0, i1 - i0);
            continue;
        }
#endif
        (void)avx2;
        for (int64_t i = i0; i < i1; i++) {
            float g = gate[i];
            out[i] = g / (1.0f + expf(-g)) * up[i];
        }
    }
}

void lc_geglu_tanh(float *out, const float *gate, const float *up, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
    const int nt = threads_of(o);
    const double k = 0.79788456080286535588; /* sqrt(2 / pi) */
#pragma omp parallel for num_threads(nt) schedule(static) if (n >= OPS_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) {
        const double g = gate[i];
        out[i] = (float)(0.5 * g * (1.0 + tanh(k * (g + 0.044715 * g * g * g)))) * up[i];
    }
}

void lc_add(float *y, const float *x, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
#if defined(LC_HAVE_X86)
    if (use_avx2(o)) {
        lc_add_avx2(y, x, n);
        return;
    }
#else
    (void)o;
#endif
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void lc_softmax(float *x, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
#if defined(LC_HAVE_X86)
    if (use_avx2(o)) {
        float mx = lc_max_avx2(x, n);
        if (mx == -INFINITY) {
            for (int64_t i = 0; i < n; i++) x[i] = 0.0f;
            return;
        }
        float sum = lc_exp_sub_sum_avx2(x, n, mx);
        lc_scale_avx2(x, n, 1.0f / sum);
        return;
    }
#else
    (void)o;
#endif
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) {
        for (int64_t i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void lc_kernel_to_f32(lc_dtype t, const void *src, float *dst, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
    switch (t) {
    case LC_DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return;
    case LC_DTYPE_F16:
#if defined(LC_HAVE_X86)
        if (use_avx2(o)) {
            lc_f16_to_f32_row_avx2((const uint16_t *)src, dst, n);
            return;
        }
#endif
        for (int64_t i = 0; i < n; i++) dst[i] = lc_f16_to_f32(((const uint16_t *)src)[i]);
        return;
    case LC_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = lc_bf16_to_f32(((const uint16_t *)src)[i]);
        return;
    case LC_DTYPE_Q8_0: lc_dequantize_row_q8_0((const lc_block_q8_0 *)src, dst, n); return;
    default: {
        const lc_quant_traits *q = lc_quant_traits_of(t);
        if (q) q->to_f32(src, dst, n);
        return;
    }
    }
}

void lc_kernel_f32_to_f16(const float *src, uint16_t *dst, int64_t n, const lc_kernel_opts *o) {
    if (n <= 0) return;
#if defined(LC_HAVE_X86)
    if (use_avx2(o)) {
        lc_f32_to_f16_row_avx2(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = lc_f32_to_f16(src[i]);
}

int64_t lc_argmax(const float *x, int64_t n) {
    if (n <= 0) return -1;
    int64_t best = -1;
    float bv = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(x[i]) && (best < 0 || x[i] > bv)) best = i, bv = x[i];
    return best < 0 ? 0 : best;
}
