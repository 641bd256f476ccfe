/*
 * Single-precision general matrix multiply, row-major (the trainer's hot path;
 * any subsystem may call it).
 *
 *   C[M, N] = alpha * op(A) op(B) + beta * C
 *
 *   op(A) is [M, K]:  A stored [M, K] (row stride lda >= K)  when !trans_a,
 *                     A stored [K, M] (row stride lda >= M)  when  trans_a.
 *   op(B) is [K, N]:  B stored [K, N] (row stride ldb >= N)  when !trans_b,
 *                     B stored [N, K] (row stride ldb >= K)  when  trans_b.
 *   C stored [M, N] with row stride ldc >= N.
 *
 * beta == 0 overwrites C without reading it (NaN or garbage in C is fine);
 * beta == 1 accumulates (gradients: dW += dY^T X).
 *
 * Blocking (GotoBLAS/BLIS scheme): B is packed into KC x NC panels shared by
 * the threads, A into MC x KC blocks per thread, and an MR x NR register
 * micro-kernel (6 x 16 with AVX2/FMA: 12 accumulators) runs over them.
 *
 * Determinism: every C element is summed over k in the same order (KC blocks
 * in order, k in order inside a block) whatever the thread count or the
 * partition, so the result is bitwise identical for 1, 2 or N threads. The
 * AVX2 and scalar paths differ only by FMA rounding.
 *
 * Threads: n_threads <= 0 uses every CPU; n_threads == 1 runs on the calling
 * thread with no OpenMP construct at all, so it may be called from inside a
 * parallel region (e.g. per attention head).
 */
#ifndef LC_KERNELS_SGEMM_H
#define LC_KERNELS_SGEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "longctx/common.h"
#include "longctx/sys.h"

typedef struct {
    bool trans_a, trans_b;
    int64_t m, n, k;
    float alpha;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float beta;
    float *c;
    int64_t ldc;
    int n_threads;      /* <= 0: all CPUs                              */
    bool force_scalar;  /* use the portable micro-kernel               */
} lc_sgemm_args;

/* Scratch bytes lc_sgemm_ws needs (packing buffers) for a product of at most
 * m x n x k on n_threads threads (<= 0: all CPUs). A workspace sized for
 * larger dimensions serves any smaller product. At most about 3.2 MiB plus
 * 144 KiB per thread; a 64 x 64 x 64 product on one thread needs 33 KiB. */
size_t lc_sgemm_workspace_bytes(int64_t m, int64_t n, int64_t k, int n_threads);

/* Validates shapes and strides, then runs with the caller's scratch (at least
 * lc_sgemm_workspace_bytes(threads), 64-byte aligned). No allocation. */
lc_status lc_sgemm_ws(const lc_sgemm_args *g, void *ws, size_t ws_bytes, lc_error *err);

/* The same with the micro-kernel tier chosen by the caller (no cpuid per
 * call: for hot loops of small products). isa must not exceed
 * lc_isa_best(); g->force_scalar still forces the portable kernel. */
lc_status lc_sgemm_run(const lc_sgemm_args *g, lc_isa isa, void *ws, size_t ws_bytes, lc_error *err);

/* Convenience: allocates the scratch, runs, frees. */
lc_status lc_sgemm(const lc_sgemm_args *g, lc_error *err);

/* Shorthand for the common call. */
lc_status lc_sgemm_simple(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int n_threads,
                          lc_error *err);

/* Micro-kernel geometry (exposed for tests of the edges). */
#define LC_SGEMM_MR 6
#define LC_SGEMM_NR 16

/* The register micro-kernels, for callers that keep operands packed:
 * c[MR, NR] (row stride ldc) = alpha * sum_k a[k][0..MR) b[k][0..NR) + beta * c
 * over packed panels a [kc, MR] and b [kc, NR]. beta == 0 ignores c. */
typedef void (*lc_sgemm_kernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                   float beta);
void lc_sgemm_kernel_6x16_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                 float beta);
/* The kernel for an ISA tier (AVX2 when isa allows it and it was compiled). */
lc_sgemm_kernel_fn lc_sgemm_kernel_for(lc_isa isa);
/* The same tile with A read in place, element (row r, depth k) at
 * a[r * rs + k * ks] (packed: rs 1, ks 6; row-major A: rs lda, ks 1; a
 * transposed A: rs 1, ks lda); B packed. */
typedef void (*lc_sgemm_kernel_strided_fn)(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *b,
                                           float *c, int64_t ldc, float alpha, float beta);
void lc_sgemm_kernel_6x16_strided_scalar(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *b, float *c,
                                         int64_t ldc, float alpha, float beta);
lc_sgemm_kernel_strided_fn lc_sgemm_kernel_strided_for(lc_isa isa);
#if defined(LC_HAVE_X86)
void lc_sgemm_kernel_6x16_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                               float beta);
void lc_sgemm_kernel_6x16_strided_avx2(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *b, float *c,
                                       int64_t ldc, float alpha, float beta);
/* dst[k * n_rows + r] = src[r * ld + k] for r < n_rows (6 or 16), k < kc:
 * n_rows full source rows interleaved into a packed panel. */
void lc_sgemm_pack_rows_avx2(const float *src, int64_t ld, int n_rows, int64_t kc, float *dst);
#endif

#endif
