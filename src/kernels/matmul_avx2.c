/*
 * AVX2/FMA/F16C weight-matrix products (compiled with -mavx2 -mfma -mf16c;
 * called only after lc_isa_best() >= LC_ISA_AVX2).
 *
 * Weights: f32, f16, bf16 (the block types, q8_0 included, take
 * src/quant's integer kernels).
 *
 * Matrix-vector (decode): one row at a time, 4 independent accumulators of 8
 * lanes, weights converted to f32 in registers as they stream in (F16C for
 * f16, a 16-bit shift for bf16).
 *
 * GEMM (prefill), Y[n_tok, rows] = X[n_tok, cols] W^T, blocked BLIS-style:
 *
 *   for each block of MC tokens:
 *     for each K block of kc columns:
 *       pack X[tokens, k-block] into panels of 6 tokens, [kc][6]    (shared, L2)
 *       for each panel of 16 weight rows (split between threads):
 *         convert + transpose W[rows, k-block] into [kc][16] f32     (per thread, L1)
 *         for each token panel: 6x16 micro-kernel, C (+)= A_panel B_panel
 *
 * The micro-kernel holds a 6 x 16 tile of Y in 12 ymm registers; each k step
 * loads two vectors of 8 weight rows and broadcasts 6 activations: 12 FMAs
 * per 8 loads. The k-block result is stored on the first block and added on
 * the later ones, so every Y element is summed in the same order regardless
 * of the thread count.
 */
#include <immintrin.h>
#include <string.h>

#include <omp.h>

#include "kernels/kernels_internal.h"

#define LC_INLINE static inline __attribute__((always_inline))

LC_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 8 consecutive elements of a row, from column k, as f32. */
LC_INLINE __m256 load8(lc_dtype t, const char *row, int64_t k) {
    switch (t) {
    case LC_DTYPE_F32: return _mm256_loadu_ps((const float *)row + k);
    case LC_DTYPE_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    default: { /* bf16 */
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    }
}

/* One element of a row as f32 (row tails). */
LC_INLINE float load1(lc_dtype t, const char *row, int64_t k) {
    switch (t) {
    case LC_DTYPE_F32: return ((const float *)row)[k];
    case LC_DTYPE_F16: return _cvtsh_ss(((const uint16_t *)row)[k]);
    default: return lc_bf16_to_f32(((const uint16_t *)row)[k]); /* bf16 */
    }
}

/* ---- Matrix-vector ------------------------------------------------------ */

LC_INLINE float dot_row(lc_dtype t, const char *row, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load8(t, row, i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load8(t, row, i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load8(t, row, i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load8(t, row, i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load8(t, row, i), _mm256_loadu_ps(x + i), a0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += load1(t, row, i) * x[i];
    return s;
}

LC_INLINE void matvec_rows(lc_dtype t, const char *w, size_t rb, int64_t cols, const float *x, float *y, int64_t r0,
                           int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        const char *row = w + (size_t)r * rb;
        /* Pull the next rows toward L2 while this one is summed. */
        _mm_prefetch(row + 4 * rb, _MM_HINT_T1);
        y[r] = dot_row(t, row, x, cols);
    }
}

void lc_matvec_rows_avx2(lc_dtype t, const void *w, size_t row_bytes, int64_t cols, const float *x, float *y,
                         int64_t r0, int64_t r1) {
    const char *wc = (const char *)w;
    switch (t) {
    case LC_DTYPE_F32: matvec_rows(LC_DTYPE_F32, wc, row_bytes, cols, x, y, r0, r1); break;
    case LC_DTYPE_F16: matvec_rows(LC_DTYPE_F16, wc, row_bytes, cols, x, y, r0, r1); break;
    case LC_DTYPE_BF16: matvec_rows(LC_DTYPE_BF16, wc, row_bytes, cols, x, y, r0, r1); break;
    default: break;
    }
}

/* ---- GEMM: packing ------------------------------------------------------ */

LC_INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Weight panel: rows j0..j0+nv-1 (nv <= 16; missing rows are zeros), columns
 * k0..k0+kc-1, converted to f32 and stored transposed: bp[k*16 + c]. */
LC_INLINE void pack_b(lc_dtype t, const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc,
                      float *bp) {
    const int64_t k8 = kc & ~(int64_t)7;
    for (int h = 0; h < 2; h++) {
        int64_t nh = LC_MIN(LC_MAX(nv - 8 * h, 0), 8);
        const char *rows[8];
        for (int i = 0; i < 8; i++) rows[i] = w + (size_t)(j0 + 8 * h + (i < nh ? i : 0)) * rb;
        for (int64_t k = 0; k < k8; k += 8) {
            __m256 r[8];
            if (nh == 8) {
                for (int i = 0; i < 8; i++) r[i] = load8(t, rows[i], k0 + k);
            } else {
                for (int i = 0; i < 8; i++) r[i] = i < nh ? load8(t, rows[i], k0 + k) : _mm256_setzero_ps();
            }
            transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_store_ps(bp + (k + i) * LC_GEMM_NR + 8 * h, r[i]);
        }
        for (int64_t k = k8; k < kc; k++)
            for (int i = 0; i < 8; i++) bp[k * LC_GEMM_NR + 8 * h + i] = i < nh ? load1(t, rows[i], k0 + k) : 0.0f;
    }
}

typedef void (*pack_b_fn)(const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc, float *bp);
static void pack_b_f32(const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc, float *bp) {
    pack_b(LC_DTYPE_F32, w, rb, j0, nv, k0, kc, bp);
}
static void pack_b_f16(const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc, float *bp) {
    pack_b(LC_DTYPE_F16, w, rb, j0, nv, k0, kc, bp);
}
static void pack_b_bf16(const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc, float *bp) {
    pack_b(LC_DTYPE_BF16, w, rb, j0, nv, k0, kc, bp);
}

/* Activation panel: tokens i0..i0+mv-1 (mv <= 6; missing ones are zeros),
 * columns k0..k0+kc-1: ap[k*6 + r]. */
static void pack_a(const float *x, int64_t ldx, int64_t i0, int64_t mv, int64_t k0, int64_t kc, float *ap) {
    for (int r = 0; r < LC_GEMM_MR; r++) {
        if (r < mv) {
            const float *src = x + (size_t)(i0 + r) * (size_t)ldx + k0;
            for (int64_t k = 0; k < kc; k++) ap[k * LC_GEMM_MR + r] = src[k];
        } else {
            for (int64_t k = 0; k < kc; k++) ap[k * LC_GEMM_MR + r] = 0.0f;
        }
    }
}

/* ---- GEMM: the 6 x 16 micro-kernel ------------------------------------- */

/* C[6][16] (row stride ldc) = (accumulate ? C : 0) + A[kc][6]^T B[kc][16]. */
static void kernel_6x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, bool accumulate) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    /* One k step: two vectors of 8 weight rows, six broadcast activations,
     * twelve FMAs. Unrolled by the compiler (explicit unrolling made gcc
     * rename registers and spill). */
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++, a += LC_GEMM_MR, b += LC_GEMM_NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), av;
        av = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

/* ---- GEMM: driver --------------------------------------------------------- */

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

static int64_t gemm_mc(int64_t n_tok) {
    int64_t m = (n_tok + LC_GEMM_MR - 1) / LC_GEMM_MR * LC_GEMM_MR;
    return m < LC_GEMM_MC ? m : LC_GEMM_MC;
}

size_t lc_gemm_workspace_avx2(int64_t cols, int64_t n_tok, int n_threads) {
    const size_t kc = (size_t)lc_gemm_kc(cols), mc = (size_t)gemm_mc(n_tok);
    return 64 + round64(mc * kc * sizeof(float)) + (size_t)n_threads * round64(kc * LC_GEMM_NR * sizeof(float));
}

void lc_gemm_avx2(lc_dtype t, const void *w, int64_t rows, int64_t cols, const float *x, int64_t n_tok, float *y,
                  void *ws, int n_threads) {
    pack_b_fn pack = t == LC_DTYPE_F16 ? pack_b_f16 : t == LC_DTYPE_BF16 ? pack_b_bf16 : pack_b_f32;
    const size_t rb = lc_kernel_row_bytes(t, cols);
    const int64_t kc_max = lc_gemm_kc(cols), mc_max = gemm_mc(n_tok);
    const int64_t n_panels = (rows + LC_GEMM_NR - 1) / LC_GEMM_NR;
    char *base = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    float *apack = (float *)base;
    const size_t a_bytes = round64((size_t)(mc_max * kc_max) * sizeof(float));
    const size_t b_bytes = round64((size_t)kc_max * LC_GEMM_NR * sizeof(float));
    const char *wc = (const char *)w;

#pragma omp parallel num_threads(n_threads)
    {
        float *bpack = (float *)(base + a_bytes + b_bytes * (size_t)omp_get_thread_num());
        for (int64_t i0 = 0; i0 < n_tok; i0 += mc_max) {
            const int64_t mc = LC_MIN(mc_max, n_tok - i0);
            const int64_t n_ap = (mc + LC_GEMM_MR - 1) / LC_GEMM_MR;
            for (int64_t k0 = 0; k0 < cols; k0 += kc_max) {
                const int64_t kc = LC_MIN(kc_max, cols - k0);
#pragma omp for schedule(static)
                for (int64_t p = 0; p < n_ap; p++)
                    pack_a(x, cols, i0 + p * LC_GEMM_MR, LC_MIN(LC_GEMM_MR, mc - p * LC_GEMM_MR), k0, kc,
                           apack + p * LC_GEMM_MR * kc);
                /* implicit barrier: the activation block is packed */
#pragma omp for schedule(static)
                for (int64_t jp = 0; jp < n_panels; jp++) {
                    const int64_t j0 = jp * LC_GEMM_NR, nv = LC_MIN(LC_GEMM_NR, rows - j0);
                    pack(wc, rb, j0, nv, k0, kc, bpack);
                    for (int64_t p = 0; p < n_ap; p++) {
                        const int64_t mv = LC_MIN(LC_GEMM_MR, mc - p * LC_GEMM_MR);
                        float *c = y + (size_t)(i0 + p * LC_GEMM_MR) * (size_t)rows + j0;
                        const float *ap = apack + p * LC_GEMM_MR * kc;
                        if (mv == LC_GEMM_MR && nv == LC_GEMM_NR) {
                            kernel_6x16(kc, ap, bpack, c, rows, k0 > 0);
                        } else { /* edge tile: compute in full, keep the valid part */
                            float tile[LC_GEMM_MR * LC_GEMM_NR];
                            kernel_6x16(kc, ap, bpack, tile, LC_GEMM_NR, false);
                            for (int64_t r = 0; r < mv; r++)
                                for (int64_t j = 0; j < nv; j++)
                                    c[r * rows + j] = (k0 > 0 ? c[r * rows + j] : 0.0f) + tile[r * LC_GEMM_NR + j];
                        }
                    }
                }
                /* implicit barrier: nobody still reads apack */
            }
        }
    }
}
