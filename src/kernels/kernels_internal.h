/*
 * Internal interface between the kernel dispatchers (matmul.c, ops.c) and
 * their AVX2/FMA/F16C and AVX-512 implementations (matmul_avx2.c, ops_avx2.c,
 * matmul_avx512.c). Call the *_avx2 functions only after lc_isa_best() >=
 * LC_ISA_AVX2, the *_avx512 ones after lc_isa_best() >= LC_ISA_AVX512.
 */
#ifndef LC_KERNELS_INTERNAL_H
#define LC_KERNELS_INTERNAL_H

#include "common/util.h"
#include "longctx/kernels.h"

/* AVX2 GEMM blocking (prefill, n_tok >= 2):
 *   MR x NR  micro-tile: 6 tokens x 16 weight rows (12 ymm accumulators)
 *   KC       the longest K block: a packed weight panel [KC][16] f32 = 24 KiB
 *            stays in L1 while every token panel of the block streams past it
 *   MC       tokens per block: the packed activations [MC][KC] f32 (774 KiB)
 *            stay in L2 */
#define LC_GEMM_MR 6
#define LC_GEMM_NR 16
#define LC_GEMM_KC 384
#define LC_GEMM_MC 516 /* multiple of MR; one block for the default 512-token chunk */

/* AVX-512 GEMM blocking (matmul_avx512.c):
 *   MR x NR  micro-tile: 12 tokens x 32 weight rows (24 zmm accumulators)
 *   KC       a packed weight panel [KC][32] f32 = 32 KiB in L1
 *   MC       each thread's packed activations [MC][KC] f32 (516 KiB) in L2 */
#define LC_GEMM512_MR 12
#define LC_GEMM512_NR 32
#define LC_GEMM512_KC 256
#define LC_GEMM512_MC 516 /* multiple of MR */

/* K blocking of a GEMM over cols columns: nearly equal blocks of at most kc_max
 * columns, each a multiple of q (the last one may be shorter), unless cols
 * itself is shorter. */
static inline int64_t lc_gemm_kc_blocks(int64_t cols, int64_t kc_max, int64_t q) {
    int64_t nkb = (cols + kc_max - 1) / kc_max;
    if (nkb < 1) nkb = 1;
    int64_t kc = (cols + nkb - 1) / nkb;
    kc = (kc + q - 1) / q * q;
    return kc < cols ? kc : cols;
}
static inline int64_t lc_gemm_kc(int64_t cols) { return lc_gemm_kc_blocks(cols, LC_GEMM_KC, 8); }
static inline int64_t lc_gemm512_kc(int64_t cols) { return lc_gemm_kc_blocks(cols, LC_GEMM512_KC, 16); }

/* Whether a kernel may take its AVX2 path. */
static inline bool lc_kernel_use_avx2(const lc_kernel_opts *o) {
#if defined(LC_HAVE_X86)
    if (!o) return lc_isa_best() >= LC_ISA_AVX2;
    return !o->force_scalar && o->isa >= LC_ISA_AVX2;
#else
    (void)o;
    return false;
#endif
}

/* The tier a kernel may use (scalar when forced; lc_isa_best() for NULL). */
static inline lc_isa lc_kernel_isa(const lc_kernel_opts *o) {
    if (!o) return lc_isa_best();
    return o->force_scalar ? LC_ISA_SCALAR : o->isa;
}

/* Bytes between consecutive rows of W (validated by the dispatcher). */
static inline size_t lc_kernel_row_bytes(lc_dtype t, int64_t cols) {
    size_t b = 0;
    lc_dtype_row_bytes(t, cols, &b, NULL);
    return b;
}

#if defined(LC_HAVE_X86)
/* y[r] = W[r, :] . x for r in [r0, r1) (one thread's share of a matvec;
 * t: f32, f16 or bf16). */
void lc_matvec_rows_avx2(lc_dtype t, const void *w, size_t row_bytes, int64_t cols, const float *x, float *y,
                         int64_t r0, int64_t r1);

/* The blocked GEMM Y[n_tok, rows] = X[n_tok, cols] W^T (t: f32, f16 or bf16)
 * with n_threads OpenMP threads. ws holds lc_gemm_workspace_avx2 bytes. */
size_t lc_gemm_workspace_avx2(int64_t cols, int64_t n_tok, int n_threads);
void lc_gemm_avx2(lc_dtype t, const void *w, int64_t rows, int64_t cols, const float *x, int64_t n_tok, float *y,
                  void *ws, int n_threads);
#endif

#if defined(LC_HAVE_AVX512)
/* The same product with the AVX-512 tile (matmul_avx512.c; call only after
 * lc_isa_best() >= LC_ISA_AVX512). ws holds lc_gemm_workspace_avx512 bytes. */
size_t lc_gemm_workspace_avx512(int64_t cols, int64_t n_tok, int n_threads);
/* lc_matvec_rows_avx2's contract with 16-lane registers, eight rows at a
 * time. next: the first row the caller reads after row r1 - 1 (its rows
 * row_bytes apart), where the last group's prefetches go; NULL: row r1. */
void lc_matvec_rows_avx512(lc_dtype t, const void *w, size_t row_bytes, int64_t cols, const float *x, float *y,
                           int64_t r0, int64_t r1, const void *next);
void lc_gemm_avx512(lc_dtype t, const void *w, int64_t rows, int64_t cols, const float *x, int64_t n_tok, float *y,
                    void *ws, int n_threads);
#endif

#if defined(LC_HAVE_X86)

/* Elementwise operations over [i0, i1). */
float lc_sumsq_avx2(const float *x, int64_t n);
void lc_scale_mul_avx2(float *out, const float *x, const float *w, float s, int64_t n);
void lc_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n);
void lc_add_avx2(float *y, const float *x, int64_t n);
/* x[i] = exp(x[i] - mx); returns the sum. */
float lc_exp_sub_sum_avx2(float *x, int64_t n, float mx);
float lc_max_avx2(const float *x, int64_t n);
void lc_scale_avx2(float *x, int64_t n, float s);
#endif

#endif
