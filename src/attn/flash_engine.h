/*
 * The tiled online-softmax engine behind FLASH and WINDOW (flash.c), and the
 * per-ISA tile kernels it calls (flash_scalar.c, flash_avx2.c, flash_avx512.c).
 *
 * The engine splits the work into units (KV head hk, query block, KV
 * partition). A query block holds P consecutive query positions of the G
 * query heads that read KV head hk, so each K/V tile is loaded once for the
 * whole group; its rows are ordered position-major, row r = (position
 * p0 + r / G, query head hk * G + r % G). Per unit it keeps, per row, the
 * running max m, the running sum l and an output accumulator o, and walks the
 * key tiles of its range that are not wholly masked:
 *
 *     S^T = K Q^T              [nk][rp]   (scores, base-2 logits)
 *     mask (partial tiles only, one visible row interval per key)
 *     m' = max(m, max_j S);  alpha = 2^(m - m');  P = 2^(S - m')
 *     l  = alpha l + sum_j P;  o = alpha o + P^T V
 *
 * and finally out = o / l, lse = ln2 * m + ln l. Scores are kept transposed
 * (keys as rows, query rows as columns) so that the softmax statistics are
 * vector operations across query rows and the K cache is read in place.
 */
#ifndef LC_ATTN_FLASH_ENGINE_H
#define LC_ATTN_FLASH_ENGINE_H

#include "attn/attn_internal.h"

/* Visibility beyond causality: window <= 0 means no window (FLASH). */
typedef struct {
    int64_t window;
    int64_t n_sinks;
} lc_flash_vis;

lc_status lc_flash_workspace(const lc_attn_ctx *c, const lc_flash_vis *vis, size_t *bytes, lc_error *err);
lc_status lc_flash_run(const lc_attn_ctx *c, const lc_flash_vis *vis, void *ws, size_t ws_bytes, lc_error *err);

/*
 * Tile kernels (all arrays f32, strides in floats). rp is the row count of
 * the block rounded up to a multiple of 8; columns rows..rp-1 of qt are zero.
 *
 *   qt [d][rp]        the query block transposed, pre-scaled by scale*log2(e)
 *                     (row-major q [rows][d] for the dec_* kernels)
 *   k  nk rows of d   at stride ks (the f32 cache in place, or a converted tile)
 *   st [nk][rp]       scores S^T, then probabilities P^T
 *   m, l, alpha [rp]  running max (base 2), running sum, this tile's rescale
 *   v  nk rows of dp  at stride vs (dp = head dim padded to a multiple of 16;
 *                     columns past d are zero)
 *   o  [rows][dp]     the unnormalised output accumulator
 */
/* Blocks of at most this many rows (decode: one position times the G query
 * heads of a KV head, G <= 8, or a few positions of a smaller group) use the
 * dec_* kernels. */
#define LC_FLASH_DOT_ROWS 8

typedef struct {
    /* st[j][r] = sum_t k[j][t] * qt[t][r], j < nk, r < rp. */
    void (*scores)(const float *qt, int32_t rp, int32_t d, const float *k, size_t ks, int32_t nk, float *st);
    /* Online-softmax update of one tile: m, l updated, alpha = 2^(m_old - m_new)
     * (0 where the row had seen nothing), st replaced by 2^(st - m_new). Rows
     * that have still seen nothing (m_new = -inf) get P = 0, l = 0. */
    void (*softmax)(float *st, int32_t nk, int32_t rp, float *m, float *l, float *alpha);
    /* o[r][:] = alpha[r] * o[r][:] + sum_j st[j][r] * v[j][:], r < rows. */
    void (*pv)(const float *st, int32_t rp, int32_t rows, int32_t nk, const float *v, size_t vs, int32_t dp,
               const float *alpha, float *o);
    /* Decode tiles, rows <= LC_FLASH_DOT_ROWS, scores held row-major: s[r][j]
     * at s[r * ss + j], ss >= nk rounded up to 8. Each K and V element of the
     * tile is read once for all the rows. kt, vt: LC_DTYPE_F32 or LC_DTYPE_F16
     * (read in place; f16 needs d % 8 == 0 for K, dp == d and d % 16 == 0 for
     * V); q is row-major [rows][d], pre-scaled as qt. */
    /* s[r][j] = sum_t k[j][t] * q[r][t], r < rows, j < nk. */
    void (*dec_scores)(const float *q, int32_t rows, int32_t d, lc_dtype kt, const void *k, size_t ks, int32_t nk,
                       float *s, size_t ss);
    /* softmax along each row's nk keys (same contract as softmax); entries
     * nk .. round8(nk) - 1 of each row may be overwritten. */
    void (*dec_softmax)(float *s, size_t ss, int32_t rows, int32_t nk, float *m, float *l, float *alpha);
    /* o[r][:] = alpha[r] * o[r][:] + sum_j s[r][j] * v[j][:], r < rows. */
    void (*dec_pv)(const float *s, size_t ss, int32_t rows, int32_t nk, lc_dtype vt, const void *v, size_t vs,
                   int32_t dp, const float *alpha, float *o);
    /* Convert n head rows of d elements of type t (src rows src_stride bytes
     * apart) into dst rows dst_stride floats apart; columns d..dst_pad-1 are
     * zeroed. */
    void (*load_rows)(lc_dtype t, const void *src, size_t src_stride, int32_t n, int32_t d, float *dst,
                      size_t dst_stride, int32_t dst_pad);
    /* y[i] = 2^x[i] for x <= 127; 0 for x < -126 (and for -inf). */
    void (*exp2_row)(const float *x, float *y, int64_t n);
} lc_flash_kernels;

extern const lc_flash_kernels lc_flash_kernels_scalar;
#if defined(LC_HAVE_X86)
extern const lc_flash_kernels lc_flash_kernels_avx2; /* only when lc_isa_best() >= LC_ISA_AVX2 */
#endif
#if defined(LC_HAVE_AVX512)
/* only when lc_isa_best() >= LC_ISA_AVX512: prefill tiles (scores, softmax,
 * pv, exp2_row) and decode tiles (dec_*, head dims that are multiples of 16)
 * in 512-bit registers; load_rows and the rest are the AVX2 tier's */
extern const lc_flash_kernels lc_flash_kernels_avx512;
#endif

/* The kernels for an ISA tier (scalar unless isa >= AVX2 on x86; AVX-512
 * where isa >= AVX512 and the build has that tier). */
const lc_flash_kernels *lc_flash_kernels_for(lc_isa isa);

#endif
