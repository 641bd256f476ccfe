/*
 * Weight-matrix products Y[n_tok, rows] = X[n_tok, cols] W^T: validation,
 * workspace, dispatch. The block types (q8_0 included) go to src/quant
 * (lc_quant_matmul); f32, f16 and bf16 weights stay here, between the AVX-512
 * kernels (matmul_avx512.c), the AVX2 ones (matmul_avx2.c) and the portable
 * scalar fallback below.
 *
 *   n_tok == 1  matrix-vector (decode): rows split between threads.
 *   n_tok >= 2  GEMM (prefill): the AVX-512 or AVX2 blocked GEMM, or scalar:
 *               each thread converts one weight row at a time into its
 *               scratch row and takes its dot product with every token.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "common/work_ranges.h"
#include "kernels/kernels_internal.h"
#include "quant/quant.h"

void lc_kernel_opts_init(lc_kernel_opts *o) {
    o->n_threads = 0;
    o->force_scalar = false;
    o->isa = lc_isa_best();
}

static int resolve_threads(int n) { return n > 0 ? n : lc_cpu_count(); }

/* Multiply-adds below which a product runs on one thread. */
#define GEMM_PARALLEL_MIN (1 << 18)

/* ---- Scalar dot products (the fallback; f32 accumulation, 4 partial sums) -- */

static float dot_f32(const float *w, const float *x, int64_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += w[i] * x[i];
        s1 += w[i + 1] * x[i + 1];
        s2 += w[i + 2] * x[i + 2];
        s3 += w[i + 3] * x[i + 3];
    }
    for (; i < n; i++) s0 += w[i] * x[i];
    return (s0 + s1) + (s2 + s3);
}

static float dot_f16(const uint16_t *w, const float *x, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += lc_f16_to_f32(w[i]) * x[i];
    return s;
}

static float dot_bf16(const uint16_t *w, const float *x, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += lc_bf16_to_f32(w[i]) * x[i];
    return s;
}

static float dot_row(lc_dtype t, const void *row, const float *x, int64_t n) {
    switch (t) {
    case LC_DTYPE_F32: return dot_f32((const float *)row, x, n);
    case LC_DTYPE_F16: return dot_f16((const uint16_t *)row, x, n);
    case LC_DTYPE_BF16: return dot_bf16((const uint16_t *)row, x, n);
    default: return NAN; /* not reached: block types go to src/quant */
    }
}

/* Convert one row into dst (scalar code only). */
static void row_to_f32_scalar(lc_dtype t, const void *row, float *dst, int64_t n) {
    switch (t) {
    case LC_DTYPE_F32: memcpy(dst, row, (size_t)n * sizeof(float)); break;
    case LC_DTYPE_F16:
        for (int64_t i = 0; i < n; i++) dst[i] = lc_f16_to_f32(((const uint16_t *)row)[i]);
        break;
    case LC_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) dst[i] = lc_bf16_to_f32(((const uint16_t *)row)[i]);
        break;
    default: break;
    }
}

/* Scratch of the scalar GEMM: one f32 row per thread, 64-byte aligned. */
static size_t scalar_row_stride(int64_t cols) { return ((size_t)cols * sizeof(float) + 63) & ~(size_t)63; }

/* ---- Validation and workspace ----------------------------------------- */

static lc_status check_weight(const lc_tensor *w, int64_t n_tok, lc_error *err) {
    if (!w) return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: NULL weight");
    if ((unsigned)w->type >= LC_DTYPE_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: unknown weight type %d", (int)w->type);
    if (w->rows < 0 || w->cols < 1 || n_tok < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: bad shape (rows %lld, cols %lld, tokens %lld)",
                       (long long)w->rows, (long long)w->cols, (long long)n_tok);
    size_t rb, total, xb, yb;
    if (lc_dtype_row_bytes(w->type, w->cols, &rb, err) != LC_OK) return err ? err->status : LC_ERR_INVALID_ARG;
    if (!lc_mul_size(rb, (size_t)w->rows, &total) || !lc_mul3_size((size_t)n_tok, (size_t)w->cols, 4, &xb) ||
        !lc_mul3_size((size_t)n_tok, (size_t)w->rows, 4, &yb))
        return lc_fail(err, LC_ERR_TOO_LARGE, "matmul: %lld x %lld weight with %lld tokens overflows size_t",
                       (long long)w->rows, (long long)w->cols, (long long)n_tok);
    if (!w->data && w->rows > 0) return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: weight without data");
    return LC_OK;
}

static size_t workspace_bytes(const lc_tensor *w, int64_t n_tok, int nt) {
    if (lc_quant_matmul_handles(w->type)) return lc_quant_matmul_workspace(w, n_tok, nt);
    if (n_tok <= 1) return 0; /* matrix-vector needs none */
    /* The largest need of the tiers, so that one workspace serves any isa the
     * caller picks later. */
    size_t need = scalar_row_stride(w->cols) * (size_t)nt + 64; /* + 64: room to align the base */
#if defined(LC_HAVE_X86)
    need = LC_MAX(need, lc_gemm_workspace_avx2(w->cols, n_tok, nt));
#endif
#if defined(LC_HAVE_AVX512)
    need = LC_MAX(need, lc_gemm_workspace_avx512(w->cols, n_tok, nt));
#endif
    return need;
}

lc_status lc_matmul_workspace(const lc_tensor *w, int64_t n_tok, int n_threads, size_t *bytes, lc_error *err) {
    if (!bytes) return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: NULL bytes");
    *bytes = 0;
    lc_status st = check_weight(w, n_tok, err);
    if (st != LC_OK) return st;
    *bytes = workspace_bytes(w, n_tok, resolve_threads(n_threads));
    return LC_OK;
}

double lc_matmul_flops(const lc_tensor *w, int64_t n_tok) {
    return w ? 2.0 * (double)w->rows * (double)w->cols * (double)n_tok : 0.0;
}

/* ---- Scalar paths ------------------------------------------------------- */

static void matvec_scalar(const lc_tensor *w, size_t rb, const float *x, float *y, int nt) {
    const char *base = (const char *)w->data;
    const int64_t rows = w->rows, cols = w->cols;
#pragma omp parallel for num_threads(nt) schedule(static) if (rows * cols >= 32768)
    for (int64_t r = 0; r < rows; r++) y[r] = dot_row(w->type, base + (size_t)r * rb, x, cols);
}

static void gemm_scalar(const lc_tensor *w, size_t rb, const float *x, int64_t n_tok, float *y, void *ws, int nt) {
    const char *base = (const char *)w->data;
    const int64_t rows = w->rows, cols = w->cols;
    const size_t stride = scalar_row_stride(cols);
    char *aligned = (char *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    const int use = (double)rows * (double)cols * (double)n_tok >= GEMM_PARALLEL_MIN ? nt : 1;
#pragma omp parallel num_threads(use)
    {
        float *row = (float *)(aligned + stride * (size_t)omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            row_to_f32_scalar(w->type, base + (size_t)r * rb, row, cols);
            for (int64_t t = 0; t < n_tok; t++) y[(size_t)t * rows + r] = dot_f32(row, x + (size_t)t * cols, cols);
        }
    }
}

/* ---- Decode: the rows of one or more weights as one work list ------------ */

#if defined(LC_HAVE_X86)
/* Bytes of weights per work item, about: an item is a whole number of
 * MV_ITEM_QUANTUM rows (the AVX-512 group) of one part, at least one group. */
#define MV_ITEM_BYTES 65536
#define MV_ITEM_QUANTUM 8

/* The parts' items: part p holds items [first[p], first[p + 1]) of rpi[p] rows. */
typedef struct {
    const lc_matmul_part *parts;
    int n;
    int64_t first[LC_MATMUL_MAX_PARTS + 1];
    int64_t rpi[LC_MATMUL_MAX_PARTS];
    size_t rb;
} mv_plan;

/* Item c: its part, first row and row count. */
static int mv_item(const mv_plan *pl, int64_t c, int64_t *r0, int64_t *r1) {
    int p = 0;
    while (c >= pl->first[p + 1]) p++;
    *r0 = (c - pl->first[p]) * pl->rpi[p];
    *r1 = LC_MIN(*r0 + pl->rpi[p], pl->parts[p].w->rows);
    return p;
}

/* y_p = W_p x for every part (n_parts >= 1, one dtype of f32 / f16 / bf16,
 * the same cols; validated by the caller): one parallel region over the
 * rows of all parts. Every row is one matvec_rows dot, so the result does
 * not depend on the grouping or the thread count. */
static void matvec_parts(const lc_matmul_part *parts, int n_parts, const float *x, int nt, lc_isa isa) {
    const lc_dtype t = parts[0].w->type;
    const int64_t cols = parts[0].w->cols;
    mv_plan pl;
    pl.parts = parts;
    pl.n = n_parts;
    pl.rb = lc_kernel_row_bytes(t, cols);
    pl.first[0] = 0;
    double macs = 0;
    for (int p = 0; p < n_parts; p++) {
        int64_t rpi = (int64_t)(MV_ITEM_BYTES / pl.rb) / MV_ITEM_QUANTUM * MV_ITEM_QUANTUM;
        pl.rpi[p] = LC_MAX(rpi, MV_ITEM_QUANTUM);
        pl.first[p + 1] = pl.first[p] + (parts[p].w->rows + pl.rpi[p] - 1) / pl.rpi[p];
        macs += (double)parts[p].w->rows * (double)cols;
    }
    const int64_t items = pl.first[n_parts];
    if (items == 0) return;
    const int use = macs >= 32768 ? nt : 1;
    /* the items as one contiguous range per thread, stolen from the back
     * once a thread's own is done (common/work_ranges.h) */
    lc_work_range ranges[LC_WORK_MAX_RANGES];
    const int nq = LC_MIN(use, LC_WORK_MAX_RANGES);
    lc_work_ranges_init(ranges, items, nq);
#if defined(LC_HAVE_AVX512)
    const bool avx512 = isa >= LC_ISA_AVX512;
#else
    (void)isa;
#endif
#pragma omp parallel num_threads(use)
    {
        /* every thread visits all nq ranges, so that OpenMP giving fewer
         * threads than asked for (nesting, thread limits) leaves no item */
        const int me = omp_get_thread_num();
        lc_work_cursor k = LC_WORK_CURSOR_INIT;
        for (int64_t c; (c = lc_work_next(ranges, nq, me, &k)) >= 0;) {
            int64_t r0, r1;
            const int p = mv_item(&pl, c, &r0, &r1);
            const lc_tensor *w = parts[p].w;
#if defined(LC_HAVE_AVX512)
            if (avx512) {
                /* where this thread reads next: the following item
                 * of its own range, the preceding one when stealing */
                const int64_t cn = k.k == 0 ? c + 1 : c - 1;
                const void *next = NULL;
                if (cn >= 0 && cn < items) {
                    int64_t n0, n1;
                    const int pn = mv_item(&pl, cn, &n0, &n1);
                    next = (const char *)parts[pn].w->data + (size_t)n0 * pl.rb;
                }
                lc_matvec_rows_avx512(t, w->data, pl.rb, cols, x, parts[p].y, r0, r1, next);
            } else
#endif
                lc_matvec_rows_avx2(t, w->data, pl.rb, cols, x, parts[p].y, r0, r1);
        }
    }
}
#endif

lc_status lc_matmul(const lc_tensor *w, const float *x, int64_t n_tok, float *y, void *ws, size_t ws_bytes,
                    const lc_kernel_opts *o, lc_error *err) {
    lc_status st = check_weight(w, n_tok, err);
    if (st != LC_OK) return st;
    if (n_tok == 0 || w->rows == 0) return LC_OK;
    if (!x || !y) return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: NULL activations");
    const int nt = resolve_threads(o ? o->n_threads : 0);
    const size_t need = workspace_bytes(w, n_tok, nt);
    if (need > 0 && (!ws || ws_bytes < need))
        return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: workspace of %zu bytes is smaller than the %zu needed",
                       ws ? ws_bytes : (size_t)0, need);
    /* The quantized block types (q8_0 included): src/quant/quant_matmul.c. */
    if (lc_quant_matmul_handles(w->type)) return lc_quant_matmul(w, x, n_tok, y, ws, ws_bytes, o, err);
    const size_t rb = lc_kernel_row_bytes(w->type, w->cols);
    const bool scalar = !lc_kernel_use_avx2(o);
#if defined(LC_HAVE_X86)
    if (!scalar) {
        if (n_tok == 1) {
            const lc_matmul_part part = {w, y};
            matvec_parts(&part, 1, x, nt, lc_kernel_isa(o));
        } else {
            /* Small products run on one thread: a parallel region and its
             * barriers cost more than they save (and far more when the
             * machine is oversubscribed). */
            int use = (double)w->rows * (double)w->cols * (double)n_tok >= GEMM_PARALLEL_MIN ? nt : 1;
#if defined(LC_HAVE_AVX512)
            if (lc_kernel_isa(o) >= LC_ISA_AVX512) {
                lc_gemm_avx512(w->type, w->data, w->rows, w->cols, x, n_tok, y, ws, use);
                return LC_OK;
            }
#endif
            lc_gemm_avx2(w->type, w->data, w->rows, w->cols, x, n_tok, y, ws, use);
        }
        return LC_OK;
    }
#endif
    (void)scalar;
    if (n_tok == 1) matvec_scalar(w, rb, x, y, nt);
    else gemm_scalar(w, rb, x, n_tok, y, ws, nt);
    return LC_OK;
}

lc_status lc_matmul_multi(const lc_matmul_part *parts, int n_parts, const float *x, int64_t n_tok, void *ws,
                          size_t ws_bytes, const lc_kernel_opts *o, lc_error *err) {
    if (!parts || n_parts < 1 || n_parts > LC_MATMUL_MAX_PARTS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: %d parts (1..%d)", n_parts, LC_MATMUL_MAX_PARTS);
    bool one_pass = n_tok == 1 && lc_kernel_use_avx2(o);
    for (int p = 0; p < n_parts; p++) {
        lc_status st = check_weight(parts[p].w, n_tok, err);
        if (st != LC_OK) return st;
        if (parts[p].w->cols != parts[0].w->cols)
            return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: part %d has %lld columns, part 0 %lld", p,
                           (long long)parts[p].w->cols, (long long)parts[0].w->cols);
        const lc_dtype t = parts[p].w->type;
        if (t != parts[0].w->type || (t != LC_DTYPE_F32 && t != LC_DTYPE_F16 && t != LC_DTYPE_BF16)) one_pass = false;
        if (n_tok > 0 && parts[p].w->rows > 0 && (!x || !parts[p].y))
            return lc_fail(err, LC_ERR_INVALID_ARG, "matmul: NULL activations");
    }
#if defined(LC_HAVE_X86)
    if (one_pass) {
        matvec_parts(parts, n_parts, x, resolve_threads(o ? o->n_threads : 0), lc_kernel_isa(o));
        return LC_OK;
    }
#endif
    /* block types: x quantised once, one region (src/quant) */
    if (n_tok == 1 && lc_quant_matmul_multi1(parts, n_parts, x, ws, ws_bytes, o)) return LC_OK;
    (void)one_pass;
    for (int p = 0; p < n_parts; p++) {
        lc_status st = lc_matmul(parts[p].w, x, n_tok, parts[p].y, ws, ws_bytes, o, err);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}
