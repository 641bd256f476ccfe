/*
 * AVX-512 products with f32 / f16 / bf16 weights: the GEMM of prefill
 * (n_tok >= 2) and the matrix-vector rows of decode. Compiled with
 * -mavx512f -mavx512bw -mavx512vl (+ the AVX2/F16C flags); called only when
 * lc_isa_best() >= LC_ISA_AVX512 (src/kernels/matmul.c).
 *
 * Y[n_tok, rows] = X[n_tok, cols] W^T, blocked BLIS-style, every thread on
 * its own contiguous share of 32-row weight panels (no barrier, no shared
 * buffer):
 *
 *   for each block of MC tokens:
 *     for each K block of kc columns:
 *       pack X[tokens, k-block] into panels of 12 tokens, [kc][12] f32   (per thread, L2)
 *       for each of the thread's panels of 32 weight rows:
 *         convert + transpose W[rows, k-block] into [kc][32] f32         (per thread, L1)
 *         for each token panel: 12x32 micro-kernel, C (+)= A_panel B_panel
 *
 * The weights stay where they are (mmap'd); each 32 x kc panel is converted
 * once per token block into a 32 KiB buffer and then serves every token
 * panel of the block (43 of them for a 512-token chunk).
 *
 * The micro-kernel keeps a 12 x 32 tile of Y in 24 zmm accumulators: each
 * k step loads two vectors of 16 weight rows and multiplies them by 12
 * broadcast activations (24 FMAs per 2 loads + 12 broadcasts). Token panels
 * of fewer than 12 tokens take a kernel specialised for their count; panels
 * of fewer than 32 rows store under a mask.
 *
 * Determinism: every Y element is one FMA chain over k in order (the first
 * K block starts from 0, the later ones from the stored partial sum),
 * whatever the thread count or the token count of its panel, so 1 and N
 * threads give identical bits.
 */
#include <immintrin.h>
#include <string.h>

#include <omp.h>

#include "kernels/kernels_internal.h"

#define LC_INLINE static inline __attribute__((always_inline))

#define MR LC_GEMM512_MR
#define NR LC_GEMM512_NR

/* ---- Conversion of 16 consecutive weights to f32 -------------------------- */

/* 16 elements of a row from column k as f32. */
LC_INLINE __m512 load16(lc_dtype t, const char *row, int64_t k) {
    switch (t) {
    case LC_DTYPE_F32: return _mm512_loadu_ps((const float *)row + k);
    case LC_DTYPE_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k)));
    default: /* bf16: the upper half of an f32 */
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k))), 16));
    }
}

/* The same for the elements under mask m (the others are zeros; a masked
 * load does not touch them). */
LC_INLINE __m512 load16_mask(lc_dtype t, const char *row, int64_t k, __mmask16 m) {
    switch (t) {
    case LC_DTYPE_F32: return _mm512_maskz_loadu_ps(m, (const float *)row + k);
    case LC_DTYPE_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + k));
    default:
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + k)), 16));
    }
}

LC_INLINE __mmask16 mask_first(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (unsigned)n) - 1u);
}

/* In-register transpose of 16 rows of 16 floats: r[j] becomes column j. */
LC_INLINE void transpose16(__m512 r[16]) {
    __m512 a[16], b[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* b[4g + j], 128-bit lane L: column 4L + j of rows 4g .. 4g + 3 */
    for (int g = 0; g < 4; g++) {
        b[4 * g + 0] = _mm512_shuffle_ps(a[4 * g], a[4 * g + 2], 0x44);
        b[4 * g + 1] = _mm512_shuffle_ps(a[4 * g], a[4 * g + 2], 0xEE);
        b[4 * g + 2] = _mm512_shuffle_ps(a[4 * g + 1], a[4 * g + 3], 0x44);
        b[4 * g + 3] = _mm512_shuffle_ps(a[4 * g + 1], a[4 * g + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        const __m512 x = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x88); /* lanes 0, 2 of each */
        const __m512 y = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xDD); /* lanes 1, 3 */
        const __m512 z = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x88);
        const __m512 w = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xDD);
        r[j] = _mm512_shuffle_f32x4(x, z, 0x88);
        r[4 + j] = _mm512_shuffle_f32x4(y, w, 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(x, z, 0xDD);
        r[12 + j] = _mm512_shuffle_f32x4(y, w, 0xDD);
    }
}

/* ---- Packing ------------------------------------------------------------ */

/* Weight panel: rows j0 .. j0 + nv - 1 (nv <= 32; missing rows are zeros),
 * columns k0 .. k0 + kc - 1, as f32, transposed: bp[k * 32 + c]. */
LC_INLINE void pack_b(lc_dtype t, const char *w, size_t rb, int64_t j0, int64_t nv, int64_t k0, int64_t kc,
                      float *bp) {
    for (int h = 0; h < NR / 16; h++) {
        const int64_t nh = LC_MIN(LC_MAX(nv - 16 * h, 0), 16);
        const char *rows[16];
        for (int i = 0; i < 16; i++) rows[i] = w + (size_t)(j0 + 16 * h + (i < nh ? i : 0)) * rb;
        int64_t k = 0;
        if (nh == 16) {
            for (; k + 16 <= kc; k += 16) {
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) r[i] = load16(t, rows[i], k0 + k);
                transpose16(r);
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) _mm512_store_ps(bp + (k + i) * NR + 16 * h, r[i]);
            }
        }
        for (; k < kc; k += 16) { /* missing rows or columns */
            const int n = (int)LC_MIN(16, kc - k);
            const __mmask16 m = mask_first(n);
            __m512 r[16];
            for (int i = 0; i < 16; i++) r[i] = i < nh ? load16_mask(t, rows[i], k0 + k, m) : _mm512_setzero_ps();
            transpose16(r);
            for (int i = 0; i < n; i++) _mm512_store_ps(bp + (k + i) * NR + 16 * h, r[i]);
        }
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

/* Activation panel: tokens i0 .. i0 + mv - 1 (mv <= 12; missing ones are
 * zeros), columns k0 .. k0 + kc - 1: ap[k * 12 + r]. Sixteen columns at a
 * time: 12 rows (+ 4 zero rows) transposed, each column stored as 12 lanes. */
static void pack_a(const float *x, int64_t ldx, int64_t i0, int64_t mv, int64_t k0, int64_t kc, float *ap) {
    const __mmask16 twelve = mask_first(MR);
    const float *src = x + (size_t)i0 * (size_t)ldx + (size_t)k0;
    int64_t k = 0;
    if (mv == MR) {
        for (; k + 16 <= kc; k += 16) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = i < MR ? _mm512_loadu_ps(src + (size_t)i * (size_t)ldx + k)
                                                       : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(ap + (k + i) * MR, twelve, r[i]);
        }
    }
    for (; k < kc; k += 16) { /* missing tokens or columns */
        const int n = (int)LC_MIN(16, kc - k);
        const __mmask16 m = mask_first(n);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < mv ? _mm512_maskz_loadu_ps(m, src + (size_t)i * (size_t)ldx + k) : _mm512_setzero_ps();
        transpose16(r);
        for (int i = 0; i < n; i++) _mm512_mask_storeu_ps(ap + (k + i) * MR, twelve, r[i]);
    }
}

/* ---- The micro-kernel ------------------------------------------------------ */

/* C[mr][32] (row stride ldc; lanes outside m0 / m1 untouched) =
 * (accumulate ? C : 0) + A[kc][12]^T B[kc][32], for the first mr tokens of
 * the panel (mr a constant after inlining). */
LC_INLINE void kernel_body(const int mr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                           bool accumulate, __mmask16 m0, __mmask16 m1) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i < mr && accumulate) {
            acc[i][0] = _mm512_maskz_loadu_ps(m0, c + i * ldc);
            acc[i][1] = _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);
        } else {
            acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        }
    }
    for (int64_t k = 0; k < kc; k++, a += MR, b += NR) {
        const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            if (i < mr) {
                const __m512 av = _mm512_set1_ps(a[i]);
                acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
            }
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            _mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
            _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
        }
    }
}

typedef void (*kernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, bool accumulate,
                          __mmask16 m0, __mmask16 m1);
#define KERNEL(m)                                                                                                   \
    static void kernel_##m(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, bool accumulate,     \
                           __mmask16 m0, __mmask16 m1) {                                                            \
        kernel_body(m, kc, a, b, c, ldc, accumulate, m0, m1);                                                       \
    }
KERNEL(1)
KERNEL(2)
KERNEL(3)
KERNEL(4)
KERNEL(5)
KERNEL(6)
KERNEL(7)
KERNEL(8)
KERNEL(9)
KERNEL(10)
KERNEL(11)
KERNEL(12)
#undef KERNEL
static const kernel_fn kernels[MR + 1] = {NULL,      kernel_1, kernel_2, kernel_3,  kernel_4,  kernel_5, kernel_6,
                                          kernel_7,  kernel_8, kernel_9, kernel_10, kernel_11, kernel_12};

/* ---- Matrix-vector (decode) ------------------------------------------------- */

/* How far ahead of its reads an f16 / bf16 row is prefetched (bytes). With
 * one row at a time (below) a thread has one stream in flight, so the
 * distance is what keeps enough lines coming where the hardware prefetchers
 * stop at every 4 KiB page (a file mapped in small pages): 4096 read the
 * Llama-3.2-1B f16 decode step at 65-68 GB/s there against 63-64 with 2048,
 * 65 with 8192 and 62-65 with 16384, and at 75-76 GB/s from 2 MiB pages
 * against 73 with 2048 (2 threads, Zen 5). f32 rows take none (the
 * prefetchers alone read them faster). */
#define MV_PREFETCH 4096

/* Rows at a time. Where x takes at most MV_ONE_ROW_X_BYTES (half of Zen 5's
 * 48 KiB L1: rows of up to 6144 f32 columns), one row at a time, so that
 * each thread reads one sequential stream (the rows of its item are
 * contiguous), which the prefetchers follow best: in a sequence of the
 * Llama-3.2-1B decode products (2.4 GB of anonymous memory, 2 threads) the
 * 2048-column ones read 79-92 GB/s against 70-77 with 8-row groups (8
 * streams 4 KiB apart), and the whole decode step 75 GB/s against 67 from a
 * file in 2 MiB pages. Longer rows take MV_ROWS at a time: each x vector,
 * which then no longer stays in L1 beside the stream, is loaded once for the
 * group (Llama's 8192-column FFN down: 77 GB/s with 4-row groups, 73 with 8,
 * 69 one by one). Two 16-lane accumulators per row whatever the grouping, so
 * the grouping changes no bits. */
#define MV_ONE_ROW_X_BYTES 24576
#define MV_ROWS 4

/* y[r .. r + nv) = W[r .. r + nv, :] . x, nv <= R: two 16-lane accumulators
 * per row, each x vector loaded once for the R rows; the column tail under a
 * mask. Each row's sum is the same chain whatever R and nv, so the grouping
 * changes no bits. f16 / bf16: each row is prefetched MV_PREFETCH bytes
 * ahead of its reads; past the end of the row, into the same place of the
 * row R on from nxt (the first row of the group read next), so a group
 * never starts on lines nobody prefetched. */
LC_INLINE void matvec_group(const int R, lc_dtype t, const char *w, size_t rb, int64_t cols, const float *x,
                            float *y, int64_t r, int nv, const char *nxt) {
    __m512 acc[MV_ROWS][2];
    const char *row[MV_ROWS];
    for (int i = 0; i < R; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        row[i] = w + (size_t)(r + (i < nv ? i : 0)) * rb;
    }
    const bool pf = t != LC_DTYPE_F32;
    const size_t data = (size_t)cols * 2;
    int64_t k = 0;
    for (; k + 32 <= cols; k += 32) {
        const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
        if (pf) {
            const size_t o = (size_t)k * 2 + MV_PREFETCH; /* the one line these 32 columns move on */
#pragma GCC unroll 8
            for (int i = 0; i < R; i++)
                _mm_prefetch(o < data ? row[i] + o : nxt + (size_t)i * rb + (o - data), _MM_HINT_T0);
        }
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            acc[i][0] = _mm512_fmadd_ps(load16(t, row[i], k), x0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(load16(t, row[i], k + 16), x1, acc[i][1]);
        }
    }
    for (; k < cols; k += 16) {
        const __mmask16 m = mask_first(cols - k);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, x + k);
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) acc[i][0] = _mm512_fmadd_ps(load16_mask(t, row[i], k, m), x0, acc[i][0]);
    }
    for (int i = 0; i < nv; i++) y[r + i] = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]));
}

LC_INLINE void matvec_rows(lc_dtype t, const char *w, size_t rb, int64_t cols, const float *x, float *y, int64_t r0,
                           int64_t r1, const char *next) {
    if ((size_t)cols * sizeof(float) <= MV_ONE_ROW_X_BYTES) {
        for (int64_t r = r0; r < r1; r++)
            matvec_group(1, t, w, rb, cols, x, y, r, 1, r + 1 < r1 ? w + (size_t)(r + 1) * rb : next);
        return;
    }
    for (int64_t r = r0; r < r1; r += MV_ROWS) {
        const int nv = (int)LC_MIN(MV_ROWS, r1 - r);
        const char *nxt = r + MV_ROWS < r1 ? w + (size_t)(r + MV_ROWS) * rb : next;
        matvec_group(MV_ROWS, t, w, rb, cols, x, y, r, nv, nxt);
    }
}

void lc_matvec_rows_avx512(lc_dtype t, const void *w, size_t row_bytes, int64_t cols, const float *x, float *y,
                           int64_t r0, int64_t r1, const void *next) {
    const char *wc = (const char *)w, *nx = next ? (const char *)next : wc + (size_t)r1 * row_bytes;
    switch (t) {
    case LC_DTYPE_F32: matvec_rows(LC_DTYPE_F32, wc, row_bytes, cols, x, y, r0, r1, nx); break;
    case LC_DTYPE_F16: matvec_rows(LC_DTYPE_F16, wc, row_bytes, cols, x, y, r0, r1, nx); break;
    case LC_DTYPE_BF16: matvec_rows(LC_DTYPE_BF16, wc, row_bytes, cols, x, y, r0, r1, nx); break;
    default: break;
    }
}

/* ---- Driver ---------------------------------------------------------------- */

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

static int64_t gemm_mc(int64_t n_tok) {
    int64_t m = (n_tok + MR - 1) / MR * MR;
    return m < LC_GEMM512_MC ? m : LC_GEMM512_MC;
}

/* Per thread: the packed activation block [mc][kc] and one weight panel [kc][32]. */
static size_t thread_bytes(int64_t kc, int64_t mc) {
    return round64((size_t)mc * (size_t)kc * sizeof(float)) + round64((size_t)kc * NR * sizeof(float));
}

size_t lc_gemm_workspace_avx512(int64_t cols, int64_t n_tok, int n_threads) {
    return 64 + (size_t)n_threads * thread_bytes(lc_gemm512_kc(cols), gemm_mc(n_tok));
}

/* The weights of the next panel to pack (rows j0 .. j0 + nv - 1, bytes
 * off .. off + len of each row), pulled toward L2 a slice at a time while
 * the current panel is multiplied: a few cache lines before every
 * micro-kernel call keep the memory requests spread out. */
typedef struct {
    const char *w;
    size_t rb, off, lines_per_row, lines;
    int64_t j0;
} next_panel;

static void next_panel_set(next_panel *np, const char *w, size_t rb, size_t esize, int64_t j0, int64_t nv, int64_t k0,
                           int64_t kc) {
    np->w = w;
    np->rb = rb;
    np->j0 = j0;
    np->off = (size_t)k0 * esize;
    np->lines_per_row = ((size_t)kc * esize + 63) / 64;
    np->lines = nv > 0 ? (size_t)nv * np->lines_per_row : 0;
}

/* Lines [l0, l1) of the next panel. */
static inline void next_panel_fetch(const next_panel *np, size_t l0, size_t l1) {
    for (size_t l = l0; l < l1; l++) {
        const size_t r = l / np->lines_per_row, c = l % np->lines_per_row;
        _mm_prefetch(np->w + (size_t)(np->j0 + (int64_t)r) * np->rb + np->off + c * 64, _MM_HINT_T1);
    }
}

void lc_gemm_avx512(lc_dtype t, const void *w, int64_t rows, int64_t cols, const float *x, int64_t n_tok, float *y,
                    void *ws, int n_threads) {
    const pack_b_fn pack = t == LC_DTYPE_F16 ? pack_b_f16 : t == LC_DTYPE_BF16 ? pack_b_bf16 : pack_b_f32;
    const size_t rb = lc_kernel_row_bytes(t, cols), esize = t == LC_DTYPE_F32 ? 4 : 2;
    const int64_t kc_max = lc_gemm512_kc(cols), mc_max = gemm_mc(n_tok);
    const int64_t n_panels = (rows + NR - 1) / NR;
    char *base = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const size_t tb = thread_bytes(kc_max, mc_max), a_bytes = round64((size_t)(mc_max * kc_max) * sizeof(float));
    const char *wc = (const char *)w;

#pragma omp parallel num_threads(n_threads)
    {
        const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        float *apack = (float *)(base + tb * (size_t)tid);
        float *bpack = (float *)(base + tb * (size_t)tid + a_bytes);
        const int64_t jp0 = n_panels * tid / nt, jp1 = n_panels * (tid + 1) / nt;
        for (int64_t i0 = 0; i0 < n_tok && jp0 < jp1; i0 += mc_max) {
            const int64_t mc = LC_MIN(mc_max, n_tok - i0);
            const int64_t n_ap = (mc + MR - 1) / MR;
            for (int64_t k0 = 0; k0 < cols; k0 += kc_max) {
                const int64_t kc = LC_MIN(kc_max, cols - k0);
                for (int64_t p = 0; p < n_ap; p++)
                    pack_a(x, cols, i0 + p * MR, LC_MIN(MR, mc - p * MR), k0, kc, apack + p * MR * kc);
                for (int64_t jp = jp0; jp < jp1; jp++) {
                    const int64_t j0 = jp * NR, nv = LC_MIN(NR, rows - j0);
                    pack(wc, rb, j0, nv, k0, kc, bpack);
                    next_panel np = {0};
                    if (jp + 1 < jp1)
                        next_panel_set(&np, wc, rb, esize, j0 + NR, LC_MIN(NR, rows - j0 - NR), k0, kc);
                    else if (k0 + kc < cols)
                        next_panel_set(&np, wc, rb, esize, jp0 * NR, LC_MIN(NR, rows - jp0 * NR), k0 + kc,
                                       LC_MIN(kc_max, cols - k0 - kc));
                    const __mmask16 m0 = mask_first(nv), m1 = nv <= 16 ? (__mmask16)0 : mask_first(nv - 16);
                    for (int64_t p = 0; p < n_ap; p++) {
                        const int64_t mv = LC_MIN(MR, mc - p * MR);
                        float *c = y + (size_t)(i0 + p * MR) * (size_t)rows + j0;
                        next_panel_fetch(&np, np.lines * (size_t)p / (size_t)n_ap,
                                         np.lines * (size_t)(p + 1) / (size_t)n_ap);
                        /* the next tile of Y, read or written after this one's kc steps */
                        if (p + 1 < n_ap) {
                            const int64_t mn = LC_MIN(MR, mc - (p + 1) * MR);
                            for (int64_t i = 0; i < mn; i++) {
                                _mm_prefetch((const char *)(c + (MR + i) * rows), _MM_HINT_T0);
                                _mm_prefetch((const char *)(c + (MR + i) * rows + 16), _MM_HINT_T0);
                            }
                        }
                        kernels[mv](kc, apack + p * MR * kc, bpack, c, rows, k0 > 0, m0, m1);
                    }
                }
            }
        }
    }
}
