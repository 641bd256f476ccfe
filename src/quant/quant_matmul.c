/*
 * Products with weights of the quantized block types (the dispatch point of
 * lc_matmul in src/kernels/matmul.c). The reference path, for every type:
 *
 *   n_tok == 1  matrix-vector: rows split between threads; each row is
 *               dequantized one block at a time (traits->to_f32 into a
 *               stack buffer) and dotted with x in f32.
 *   n_tok >= 2  panels of QM_PANEL weight rows are dequantized to f32 in the
 *               thread's scratch, then one single-threaded lc_sgemm_run per
 *               panel computes Y[:, panel] = X panel^T. Panels are fixed, so
 *               the result does not depend on the thread count.
 *
 * Every type with integer kernels (lc_qk_from_dtype: all of them today)
 * takes them instead (src/quant/qk_matmul.c: activations quantized to
 * traits->act blocks once, integer dot products per block, AVX2 tiles or
 * the scalar reference dots); the workspace then holds the quantized
 * activation rows, for n_tok == 1 too. The dequantizing path above stays
 * for a type without them.
 */
#include <string.h>

#include <omp.h>

#include "kernels/kernels_internal.h"
#include "kernels/sgemm.h"
#include "quant/qk_kernels.h"
#include "quant/quant.h"

/* Weight rows per dequantized panel of the GEMM path. */
#define QM_PANEL 32
/* Multiply-adds below which a product runs on one thread (as matmul.c). */
#define QM_PARALLEL_MIN (1 << 18)

bool lc_quant_matmul_handles(lc_dtype t) {
    /* Q8_0 included: its integer kernels beat matmul.c's f32-activation
     * ones on `bench matmul` (docs/performance.md, "Q8_0"). */
    return lc_quant_is_block_type(t);
}

bool lc_quant_products_round_acts(lc_dtype t) {
    const lc_quant_traits *q = lc_quant_traits_of(t);
    return q && q->vec_dot && lc_quant_matmul_handles(t);
}

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

static int resolve_threads(int n) { return n > 0 ? n : lc_cpu_count(); }

bool lc_quant_matmul_multi1(const lc_matmul_part *parts, int n_parts, const float *x, void *ws, size_t ws_bytes,
                            const lc_kernel_opts *o) {
    if (n_parts < 1 || n_parts > LC_MATMUL_MAX_PARTS) return false;
    const lc_isa isa = lc_kernel_isa(o);
    lc_qmatmul_part qp[LC_MATMUL_MAX_PARTS];
    for (int p = 0; p < n_parts; p++) {
        const lc_tensor *w = parts[p].w;
        lc_qk_type qt;
        if (!lc_quant_matmul_handles(w->type) || !lc_qk_from_dtype(w->type, &qt) || !lc_qk_tile(qt, isa)) return false;
        qp[p] = (lc_qmatmul_part){qt, w->data, lc_kernel_row_bytes(w->type, w->cols), w->rows, parts[p].y};
        if (lc_qk_info_get(qt)->act != lc_qk_info_get(qp[0].t)->act) return false;
    }
    const int64_t cols = parts[0].w->cols;
    if (!ws || ws_bytes < lc_qmatmul_workspace(qp[0].t, cols, 1)) return false;
    lc_qmatmul_multi1(qp, n_parts, cols, x, ws, resolve_threads(o ? o->n_threads : 0), isa);
    return true;
}

/* Scratch of one thread of the GEMM path: a panel of f32 rows, then the
 * packing buffers of its sgemm. */
static size_t thread_bytes(int64_t cols, int64_t n_tok) {
    return round64((size_t)QM_PANEL * (size_t)cols * sizeof(float)) +
           round64(lc_sgemm_workspace_bytes(n_tok, QM_PANEL, cols, 1));
}

size_t lc_quant_matmul_workspace(const lc_tensor *w, int64_t n_tok, int n_threads) {
    lc_qk_type qt;
    if (lc_qk_from_dtype(w->type, &qt)) return lc_qmatmul_workspace(qt, w->cols, n_tok);
    if (n_tok <= 1) return 0;
    return 64 + (size_t)resolve_threads(n_threads) * thread_bytes(w->cols, n_tok);
}

/* One row's dot product with x, a block at a time. */
static float dot_row_ref(const lc_quant_traits *q, const char *row, const float *x, int64_t n) {
    float buf[LC_QK_K];
    float s = 0.0f;
    const int64_t blk = q->block;
    for (int64_t b = 0; b < n / blk; b++, row += q->block_bytes, x += blk) {
        q->to_f32(row, buf, blk);
        float bs = 0.0f;
        for (int64_t i = 0; i < blk; i++) bs += buf[i] * x[i];
        s += bs;
    }
    return s;
}

lc_status lc_quant_matmul(const lc_tensor *w, const float *x, int64_t n_tok, float *y, void *ws, size_t ws_bytes,
                          const lc_kernel_opts *o, lc_error *err) {
    const lc_quant_traits *q = lc_quant_traits_of(w->type);
    if (!q) return lc_fail(err, LC_ERR_INVALID_ARG, "quant matmul: %s is not a block type", lc_dtype_name(w->type));
    const int nt = resolve_threads(o ? o->n_threads : 0);
    lc_qk_type qt;
    if (lc_qk_from_dtype(w->type, &qt)) {
        /* The integer kernels (src/quant/qk_*.c): activations quantised to
         * q->act blocks once, integer dot products per block; AVX-512 VNNI
         * or AVX2 tiles when the CPU has them, the scalar reference dots
         * otherwise. */
        const size_t need = lc_qmatmul_workspace(qt, w->cols, n_tok);
        if (!ws || ws_bytes < need)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "quant matmul: workspace of %zu bytes is smaller than the %zu needed",
                           ws ? ws_bytes : (size_t)0, need);
        lc_qmatmul(qt, w->data, lc_kernel_row_bytes(w->type, w->cols), w->rows, w->cols, x, n_tok, y, ws, nt,
                   lc_kernel_isa(o));
        return LC_OK;
    }
    const size_t rb = lc_kernel_row_bytes(w->type, w->cols);
    const char *base = (const char *)w->data;
    const int64_t rows = w->rows, cols = w->cols;
    const int use = (double)rows * (double)cols * (double)n_tok >= QM_PARALLEL_MIN ? nt : 1;

    if (n_tok == 1) {
#pragma omp parallel for num_threads(use) schedule(static)
        for (int64_t r = 0; r < rows; r++) y[r] = dot_row_ref(q, base + (size_t)r * rb, x, cols);
        return LC_OK;
    }

    const size_t need = lc_quant_matmul_workspace(w, n_tok, nt);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "quant matmul: workspace of %zu bytes is smaller than the %zu needed",
                       ws ? ws_bytes : (size_t)0, need);
    const lc_isa isa = lc_kernel_use_avx2(o) ? LC_ISA_AVX2 : LC_ISA_SCALAR;
    const size_t tb = thread_bytes(cols, n_tok);
    const size_t panel_bytes = round64((size_t)QM_PANEL * (size_t)cols * sizeof(float));
    char *aligned = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const int64_t n_panels = (rows + QM_PANEL - 1) / QM_PANEL;
    lc_status result = LC_OK;
#pragma omp parallel num_threads(use)
    {
        char *mine = aligned + tb * (size_t)omp_get_thread_num();
        float *panel = (float *)mine;
        lc_error e2;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < n_panels; p++) {
            const int64_t r0 = p * QM_PANEL, nr = LC_MIN(QM_PANEL, rows - r0);
            for (int64_t r = 0; r < nr; r++) q->to_f32(base + (size_t)(r0 + r) * rb, panel + r * cols, cols);
            lc_sgemm_args g = {.trans_a = false,
                               .trans_b = true,
                               .m = n_tok,
                               .n = nr,
                               .k = cols,
                               .alpha = 1.0f,
                               .a = x,
                               .lda = cols,
                               .b = panel,
                               .ldb = cols,
                               .beta = 0.0f,
                               .c = y + r0,
                               .ldc = rows,
                               .n_threads = 1,
                               .force_scalar = isa == LC_ISA_SCALAR};
            if (lc_sgemm_run(&g, isa, mine + panel_bytes, tb - panel_bytes, &e2) != LC_OK) {
#pragma omp critical(lc_quant_matmul_err)
                result = LC_ERR_INTERNAL;
            }
        }
    }
    if (result != LC_OK) return lc_fail(err, result, "quant matmul: the f32 product of a dequantized panel failed");
    return LC_OK;
}
