/* Portable versions of the kernels in linear_kernels.h and the ISA dispatch. */
#include <math.h>
#include <string.h>

#include "attn/linear_kernels.h"

#if defined(LC_HAVE_X86)
#define LK_AVX2(isa) ((isa) >= LC_ISA_AVX2)
#else
#define LK_AVX2(isa) ((void)(isa), 0)
#endif

void lc_lin_gemm(lc_isa isa, int64_t M, int64_t N, int64_t K, const float *a, size_t a_rs, size_t a_cs,
                 const float *b, size_t ldb, float *c, size_t ldc, bool accumulate) {
    if (M <= 0 || N <= 0) return;
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_gemm_avx2(M, N, K, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    for (int64_t i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        if (!accumulate) memset(ci, 0, (size_t)N * sizeof(float));
        /* i-k-j order: row of C updated by rows of B (vectorisable). */
        for (int64_t k = 0; k < K; k++) {
            const float aik = a[(size_t)i * a_rs + (size_t)k * a_cs];
            const float *bk = b + (size_t)k * ldb;
            for (int64_t j = 0; j < N; j++) ci[j] += aik * bk[j];
        }
    }
}

void lc_lin_exp(lc_isa isa, float *x, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_exp_avx2(x, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) x[i] = expf(x[i]);
}

void lc_lin_elu1(lc_isa isa, const float *x, float *y, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_elu1_avx2(x, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] + 1.0f : expf(x[i]);
}

void lc_lin_relu(lc_isa isa, const float *x, float *y, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_relu_avx2(x, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

float lc_lin_dot(lc_isa isa, const float *a, const float *b, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) return lc_lin_dot_avx2(a, b, n);
#endif
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

float lc_lin_sum(lc_isa isa, const float *a, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) return lc_lin_sum_avx2(a, n);
#endif
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i];
    return s;
}

float lc_lin_max(lc_isa isa, const float *a, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) return lc_lin_max_avx2(a, n);
#endif
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (a[i] > m) m = a[i];
    return m;
}

void lc_lin_scale(lc_isa isa, float *x, int64_t n, float alpha) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_scale_avx2(x, n, alpha);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) x[i] *= alpha;
}

void lc_lin_add_scalar(lc_isa isa, float *x, int64_t n, float alpha) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_add_scalar_avx2(x, n, alpha);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) x[i] += alpha;
}

void lc_lin_axpby(lc_isa isa, float *y, const float *x, int64_t n, float alpha, float beta) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_axpby_avx2(y, x, n, alpha, beta);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float ya = y[i] * alpha, xb = x[i] * beta;
        y[i] = ya + xb;
    }
}

void lc_lin_transpose(lc_isa isa, const float *src, size_t lds, int64_t rows, int64_t cols, float *dst, size_t ldd) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_transpose_avx2(src, lds, rows, cols, dst, ldd);
        return;
    }
#endif
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[(size_t)j * ldd + (size_t)i] = src[(size_t)i * lds + (size_t)j];
}

void lc_lin_acc_f64(lc_isa isa, double *acc, const float *x, int64_t n) {
#if defined(LC_HAVE_X86)
    if (LK_AVX2(isa)) {
        lc_lin_acc_f64_avx2(acc, x, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) acc[i] += x[i];
}
