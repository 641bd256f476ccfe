/*
 * Small dense kernels shared by LINEAR (linear*.c) and CHUNKED (chunked.c):
 * a register-tiled f32 matrix product for the chunk-sized blocks these
 * methods work on, a vector exp, and a few row helpers.
 *
 * Every function takes the ISA tier to use (from lc_attn_ctx.isa, which is
 * already lowered to scalar by force_scalar / LONGCTX_ISA=scalar) and runs
 * the AVX2 code in linear_kernels_avx2.c only when it is LC_ISA_AVX2 and the
 * library was built for x86. The result of a call depends only on its
 * arguments and the tier (never on threads): the same call gives the same
 * bits, which LINEAR relies on to be thread-count independent.
 *
 * Strides are in floats. No function allocates.
 */
#ifndef LC_ATTN_LINEAR_KERNELS_H
#define LC_ATTN_LINEAR_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "longctx/sys.h"

/* C[M, N] = A[M, K] B[K, N]           (accumulate false)
 * C[M, N] += A[M, K] B[K, N]          (accumulate true)
 * A element (i, k) is a[i * a_rs + k * a_cs], so A can be read transposed
 * (a_rs = 1, a_cs = lda). B and C are row-major with leading dims ldb, ldc.
 * K == 0 with accumulate false writes zeros. */
void lc_lin_gemm(lc_isa isa, int64_t M, int64_t N, int64_t K, const float *a, size_t a_rs, size_t a_cs,
                 const float *b, size_t ldb, float *c, size_t ldc, bool accumulate);

/* x[i] = exp(x[i]); -inf and anything below about -87.3 give exactly 0. The
 * AVX2 path is a Cephes-style polynomial (about 2 ulp). */
void lc_lin_exp(lc_isa isa, float *x, int64_t n);

/* y[i] = x[i] + 1 if x[i] > 0 else exp(x[i])      (elu(x) + 1) */
void lc_lin_elu1(lc_isa isa, const float *x, float *y, int64_t n);
/* y[i] = max(x[i], 0) */
void lc_lin_relu(lc_isa isa, const float *x, float *y, int64_t n);

/* Reductions over n floats (fixed summation order for a given n). */
float lc_lin_dot(lc_isa isa, const float *a, const float *b, int64_t n);
float lc_lin_sum(lc_isa isa, const float *a, int64_t n);
float lc_lin_max(lc_isa isa, const float *a, int64_t n); /* -inf for n == 0 */

/* x[i] *= alpha */
void lc_lin_scale(lc_isa isa, float *x, int64_t n, float alpha);
/* x[i] += alpha */
void lc_lin_add_scalar(lc_isa isa, float *x, int64_t n, float alpha);
/* y[i] = y[i] * alpha + x[i] * beta. Each element gets the same operations
 * whatever n and its index, so a row updated in slices gets the same bits as
 * the row updated at once. */
void lc_lin_axpby(lc_isa isa, float *y, const float *x, int64_t n, float alpha, float beta);

/* acc[i] += x[i], accumulated in double. */
void lc_lin_acc_f64(lc_isa isa, double *acc, const float *x, int64_t n);

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols. */
void lc_lin_transpose(lc_isa isa, const float *src, size_t lds, int64_t rows, int64_t cols, float *dst, size_t ldd);

#if defined(LC_HAVE_X86)
void lc_lin_gemm_avx2(int64_t M, int64_t N, int64_t K, const float *a, size_t a_rs, size_t a_cs, const float *b,
                      size_t ldb, float *c, size_t ldc, bool accumulate);
void lc_lin_exp_avx2(float *x, int64_t n);
void lc_lin_elu1_avx2(const float *x, float *y, int64_t n);
void lc_lin_relu_avx2(const float *x, float *y, int64_t n);
float lc_lin_dot_avx2(const float *a, const float *b, int64_t n);
float lc_lin_sum_avx2(const float *a, int64_t n);
float lc_lin_max_avx2(const float *a, int64_t n);
void lc_lin_scale_avx2(float *x, int64_t n, float alpha);
void lc_lin_add_scalar_avx2(float *x, int64_t n, float alpha);
void lc_lin_axpby_avx2(float *y, const float *x, int64_t n, float alpha, float beta);
void lc_lin_transpose_avx2(const float *src, size_t lds, int64_t rows, int64_t cols, float *dst, size_t ldd);
void lc_lin_acc_f64_avx2(double *acc, const float *x, int64_t n);
#endif

#endif /* LC_ATTN_LINEAR_KERNELS_H */
