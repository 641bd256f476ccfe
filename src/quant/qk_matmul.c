/*
 * Products with quantised weights, Y[n_tok, rows] = X[n_tok, cols] W^T:
 *
 *   1. every activation row is quantised once to the 8-bit blocks the type
 *      pairs with (Q8_0 / Q8_1 / Q8_K) into the workspace (threads over
 *      tokens; one token: over its blocks);
 *   2. n_tok <= QMM_SMALL_N (decode, batched decode): chunks of QMM_DECODE_ROWS contiguous output
 *      rows handed to the threads dynamically, each row one integer dot
 *      product (the R x 1 tile of qk_dot_avx2.c / qk_dot_avx512.c, which
 *      shares each activation block between R rows);
 *      n_tok >= 2 (prefill): items of QMM_TB tokens (their quantised rows
 *      stay in L2) x QMM_RP rows handed out dynamically; inside an item the
 *      TR x TT integer tiles read each weight block once per TT tokens and
 *      each activation block once per TR rows.
 *
 * lc_qmatmul_multi1 runs step 2a for one token over several weights that
 * share x (one quantisation, one region, the items of all weights in one
 * list).
 *
 * The scalar path runs the reference dot of every (row, token) pair. Every
 * output is computed by one tile (one dot) in the same order whatever the
 * thread count, so results do not depend on it.
 */
#include <omp.h>

#include "common/util.h"
#include "common/work_ranges.h"
#include "quant/qk_kernels.h"

/* Tokens per block of the prefill product, rows per thread work item. */
#define QMM_TB (8 * LC_QK_TILE_TOKENS)
#define QMM_RP (6 * LC_QK_TILE_ROWS)
/* Rows per work item of the matrix-vector product (a multiple of both
 * tiers' decode tiles, 3 and 8 rows): 24 rows of 14336 Q4_0 are ~190 KB,
 * so the thread that takes the last item ends at most ~4 us after the other
 * (48 rows before). */
#define QMM_DECODE_ROWS (8 * LC_QK_TILE_ROWS)
/* Token counts up to which a product walks the decode split and runs the
 * one-token decode tile once per token over each item (the item's rows,
 * ~200-400 KB, stay in L2 for the tokens after the first): the multi-token
 * tiles are slower than that below ~5 tokens (4096 x 14336 q8_0, 2 threads:
 * 2 tokens took 2.2x and 4 tokens 3.4x one token's time). A batched decode
 * step of 2-4 slots gets each token's outputs bit for bit as alone. */
#define QMM_SMALL_N 4
/* Multiply-adds below which a product runs on one thread. */
#define QMM_PARALLEL_MIN (1 << 18)

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Inside a parallel region: this thread's share of one activation row x,
 * quantised into aq, in equal runs of whole blocks per thread (each block
 * is quantised on its own, so the bytes do not depend on the split). */
static void quantize_row_share(const lc_qk_info *in, const float *x, char *aq, int64_t cols, lc_isa isa) {
    const int64_t ab = lc_act_block(in->act), nb = cols / ab;
    const int me = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t b0 = nb * me / nth, b1 = nb * (me + 1) / nth;
    if (b1 > b0)
        lc_qk_quantize_act(in->act, x + (size_t)(b0 * ab), aq + (size_t)b0 * lc_act_block_bytes(in->act),
                           (b1 - b0) * ab, isa);
}

lc_isa lc_qk_tier(lc_qk_type t, lc_isa isa) {
    if (!lc_qk_info_get(t)) return LC_ISA_SCALAR;
#if defined(LC_HAVE_AVX512)
    if (isa >= LC_ISA_AVX512 && lc_qtile_avx512(t)) return LC_ISA_AVX512;
#endif
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return LC_ISA_AVX2;
#endif
    (void)isa;
    return LC_ISA_SCALAR;
}

lc_qdot_fn lc_qk_dot(lc_qk_type t, lc_isa isa) {
    const lc_qk_info *in = lc_qk_info_get(t);
    if (!in) return NULL;
    switch (lc_qk_tier(t, isa)) {
#if defined(LC_HAVE_AVX512)
    case LC_ISA_AVX512: return lc_qdot_avx512(t);
#endif
#if defined(LC_HAVE_X86)
    case LC_ISA_AVX2: return lc_qdot_avx2(t);
#endif
    default: break;
    }
    /* an AVX2 request on a build without x86 kernels: none */
    return isa >= LC_ISA_AVX2 ? NULL : in->dot_ref;
}

lc_qtile_fn lc_qk_tile(lc_qk_type t, lc_isa isa) {
    switch (lc_qk_tier(t, isa)) {
#if defined(LC_HAVE_AVX512)
    case LC_ISA_AVX512: return lc_qtile_avx512(t);
#endif
#if defined(LC_HAVE_X86)
    case LC_ISA_AVX2: return lc_qtile_avx2(t);
#endif
    default: return NULL;
    }
}

void lc_qk_quantize_act(lc_act_kind k, const float *x, void *y, int64_t n, lc_isa isa) {
    /* the AVX-512 tier quantises with the AVX2 code (the same bytes) */
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) {
        lc_quantize_act_avx2(k, x, y, n);
        return;
    }
#endif
    (void)isa;
    lc_quantize_act_ref(k, x, y, n);
}

size_t lc_qmatmul_act_row_bytes(lc_qk_type t, int64_t cols) {
    const lc_qk_info *in = lc_qk_info_get(t);
    if (!in || cols <= 0) return 0;
    return (size_t)(cols / lc_act_block(in->act)) * lc_act_block_bytes(in->act);
}

size_t lc_qmatmul_workspace(lc_qk_type t, int64_t cols, int64_t n_tok) {
    if (n_tok < 1) return 0;
    return align64(lc_qmatmul_act_row_bytes(t, cols)) * (size_t)n_tok + 64;
}

void lc_qmatmul(lc_qk_type t, const void *w, size_t row_bytes, int64_t rows, int64_t cols, const float *x,
                int64_t n_tok, float *y, void *ws, int n_threads, lc_isa isa) {
    const lc_qk_info *in = lc_qk_info_get(t);
    if (!in || rows <= 0 || n_tok <= 0) return;
    const size_t arow = align64(lc_qmatmul_act_row_bytes(t, cols));
    char *aq = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const char *wb = (const char *)w;
    const int nt = (double)rows * (double)cols * (double)n_tok >= QMM_PARALLEL_MIN && n_threads > 1 ? n_threads : 1;
    const lc_qtile_fn tile = lc_qk_tile(t, isa);
    if (!tile) isa = LC_ISA_SCALAR;

    lc_work_range ranges[LC_WORK_MAX_RANGES];
    const bool small = n_tok <= QMM_SMALL_N; /* the decode split (2a) */
    const int64_t items = (rows + QMM_DECODE_ROWS - 1) / QMM_DECODE_ROWS; /* decode work items */
#pragma omp parallel num_threads(nt)
    {
        /* 1. quantise the activations; one row (decode) in equal runs of
         * whole blocks per thread (each block is quantised on its own, so
         * the bytes do not depend on the split) */
        if (n_tok == 1) {
            quantize_row_share(in, x, aq, cols, isa);
            /* the ranges of the decode split (2a) */
            if (omp_get_thread_num() == 0)
                lc_work_ranges_init(ranges, items, LC_MIN(omp_get_num_threads(), LC_WORK_MAX_RANGES));
#pragma omp barrier
        } else {
            if (small && omp_get_thread_num() == 0)
                lc_work_ranges_init(ranges, items, LC_MIN(omp_get_num_threads(), LC_WORK_MAX_RANGES));
#pragma omp for schedule(dynamic, 1)
            for (int64_t j = 0; j < n_tok; j++) {
                const float *xr = x + (size_t)j * (size_t)cols;
                void *dst = aq + (size_t)j * arow;
                lc_qk_quantize_act(in->act, xr, dst, cols, isa);
            }
            /* (the implicit barrier of the loop: every row is ready) */
        }

        if (!tile) {
            /* scalar reference: one dot per (row, token) */
#pragma omp for schedule(static)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t j = 0; j < n_tok; j++)
                    y[(size_t)j * (size_t)rows + (size_t)r] =
                        in->dot_ref(wb + (size_t)r * row_bytes, aq + (size_t)j * arow, cols);
        } else if (small) {
            /* 2a. decode: items of QMM_DECODE_ROWS contiguous rows; each
             * thread walks its own contiguous range of them front to back
             * (the tiles prefetch into the next item's rows), then steals
             * items from the backs of the others' ranges (a thread that
             * loses its core to another process does not hold the others
             * up at the end) */
            const int me = omp_get_thread_num(), nq = LC_MIN(omp_get_num_threads(), LC_WORK_MAX_RANGES);
            lc_work_cursor k = LC_WORK_CURSOR_INIT;
            for (int64_t c; (c = lc_work_next(ranges, nq, me, &k)) >= 0;) {
                const int64_t r = c * QMM_DECODE_ROWS;
                const int nr = (int)LC_MIN(rows - r, (int64_t)QMM_DECODE_ROWS);
                for (int64_t j = 0; j < n_tok; j++)
                    tile(wb + (size_t)r * row_bytes, row_bytes, nr, aq + (size_t)j * arow, arow, 1, cols,
                         y + (size_t)j * (size_t)rows + (size_t)r, 0);
            }
        } else {
            /* 2b. prefill: (token block, row panel) items handed out
             * dynamically, token-block-major so the threads share one
             * block of quantised activations at a time */
            const int64_t panels = (rows + QMM_RP - 1) / QMM_RP, blocks = (n_tok + QMM_TB - 1) / QMM_TB;
#pragma omp for schedule(dynamic, 1)
            for (int64_t it = 0; it < panels * blocks; it++) {
                const int64_t j0 = it / panels * QMM_TB, r = it % panels * QMM_RP;
                const int ntb = (int)LC_MIN(n_tok - j0, (int64_t)QMM_TB);
                const int nr = (int)LC_MIN(rows - r, (int64_t)QMM_RP);
                tile(wb + (size_t)r * row_bytes, row_bytes, nr, aq + (size_t)j0 * arow, arow, ntb, cols,
                     y + (size_t)j0 * (size_t)rows + (size_t)r, (size_t)rows);
            }
        }
    }
}

void lc_qmatmul_multi1(const lc_qmatmul_part *parts, int n_parts, int64_t cols, const float *x, void *ws,
                       int n_threads, lc_isa isa) {
    if (n_parts < 1) return;
    const lc_qk_info *in = lc_qk_info_get(parts[0].t);
    if (!in) return;
    char *aq = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const size_t arow = align64(lc_qmatmul_act_row_bytes(parts[0].t, cols));
    if (n_parts > LC_MATMUL_MAX_PARTS) return;
    /* item c of part p: first[p] <= c < first[p + 1], rows from (c - first[p]) * QMM_DECODE_ROWS, as
     * lc_qmatmul cuts that part alone */
    int64_t first[LC_MATMUL_MAX_PARTS + 1];
    lc_qtile_fn tiles[LC_MATMUL_MAX_PARTS];
    const int np = n_parts;
    double macs = 0;
    first[0] = 0;
    for (int p = 0; p < np; p++) {
        first[p + 1] = first[p] + (LC_MAX(parts[p].rows, 0) + QMM_DECODE_ROWS - 1) / QMM_DECODE_ROWS;
        tiles[p] = lc_qk_tile(parts[p].t, isa);
        macs += (double)parts[p].rows * (double)cols;
    }
    const int64_t items = first[np];
    const int nt = macs >= QMM_PARALLEL_MIN && n_threads > 1 ? n_threads : 1;
    lc_work_range ranges[LC_WORK_MAX_RANGES];
#pragma omp parallel num_threads(nt)
    {
        /* the activation row, then the ranges */
        quantize_row_share(in, x, aq, cols, isa);
        const int me = omp_get_thread_num(), nth = omp_get_num_threads();
        if (me == 0) lc_work_ranges_init(ranges, items, LC_MIN(nth, LC_WORK_MAX_RANGES));
#pragma omp barrier
        const int nq = LC_MIN(nth, LC_WORK_MAX_RANGES);
        lc_work_cursor k = LC_WORK_CURSOR_INIT;
        for (int64_t c; (c = lc_work_next(ranges, nq, me, &k)) >= 0;) {
            int p = 0;
            while (c >= first[p + 1]) p++;
            const int64_t r = (c - first[p]) * QMM_DECODE_ROWS;
            const int nr = (int)LC_MIN(parts[p].rows - r, (int64_t)QMM_DECODE_ROWS);
            tiles[p]((const char *)parts[p].w + (size_t)r * parts[p].row_bytes, parts[p].row_bytes, nr, aq, arow, 1,
                     cols, parts[p].y + r, 0);
        }
    }
}
