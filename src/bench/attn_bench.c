/* lc_bench_attn_cell: time one attention configuration on random data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "longctx/bench.h"

/* Random N(0,1)-ish values in f32 / f16 / q8_0 rows of `row` elements.
 * Filled in parallel with a per-row seed, so the data does not depend on the
 * thread count. */
static lc_status fill_random(lc_dtype t, int64_t rows, int64_t row, uint64_t seed, int threads, void **out,
                             size_t *bytes, lc_error *err) {
    size_t rb;
    lc_status st = lc_dtype_row_bytes(t, row, &rb, err);
    if (st != LC_OK) return st;
    size_t total;
    if (!lc_mul_size(rb, (size_t)rows, &total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "bench: %lld rows of %zu bytes overflow", (long long)rows, rb);
    char *p = lc_malloc_aligned(total ? total : 1);
    if (!p) return lc_fail(err, LC_ERR_NOMEM, "bench: cannot allocate %zu bytes for inputs", total);
    bool ok = true;
#pragma omp parallel num_threads(threads)
    {
        float *tmp = malloc((size_t)row * sizeof(float));
        if (!tmp) {
#pragma omp atomic write
            ok = false;
        }
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!tmp) continue;
            lc_rng rng;
            lc_rng_seed(&rng, seed * 0x9e3779b97f4a7c15ull + (uint64_t)r);
            for (int64_t i = 0; i < row; i++) tmp[i] = 2.0f * lc_rng_uniform(&rng) - 1.0f;
            char *dst = p + (size_t)r * rb;
            if (t == LC_DTYPE_F32) memcpy(dst, tmp, rb);
            else if (t == LC_DTYPE_F16) lc_f32_to_f16_row(tmp, (uint16_t *)dst, row);
            else lc_quantize_row_q8_0(tmp, (lc_block_q8_0 *)dst, row);
        }
        free(tmp);
    }
    if (!ok) {
        lc_free_aligned(p);
        return lc_fail(err, LC_ERR_NOMEM, "bench: out of memory while filling inputs");
    }
    *out = p;
    *bytes = total;
    return LC_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

lc_status lc_bench_attn_cell(const lc_attn_shape *s, const lc_attn_params *p, int reps, double max_seconds,
                             uint64_t seed, lc_attn_bench *out, lc_error *err) {
    if (!s || !p || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: NULL argument");
    memset(out, 0, sizeof *out);
    if (reps < 1) reps = 1;
    const int64_t qrow = (int64_t)s->n_head * s->head_dim, kvrow = (int64_t)s->n_head_kv * s->head_dim;
    const size_t avail = lc_mem_available_bytes();
    /* Sizes first: the inputs alone must fit before anything is counted. */
    double need = ((double)s->n_q * qrow * 2 + (double)s->n_kv * kvrow * 2) * 4.0;
    if (avail && need > 0.9 * (double)avail) {
        char a[32], b[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "bench attn: the inputs need about %s but only %s is available",
                       lc_format_bytes(need, a, sizeof a), lc_format_bytes((double)avail, b, sizeof b));
    }
    size_t ws_bytes = 0;
    lc_status st = lc_attn_workspace(s, p, &ws_bytes, err);
    out->workspace_bytes = ws_bytes;
    out->flops = lc_attn_flops(s, p);
    if (st != LC_OK) return st;

    int threads = p->n_threads > 0 ? p->n_threads : lc_cpu_count();
    size_t qb = 0, kb = 0, vb = 0, ob = 0;
    void *q = NULL, *k = NULL, *v = NULL, *ws = NULL;
    float *o = NULL, *lse = NULL;
    /* Refuse before allocating when inputs + workspace would not fit. */
    need += (double)ws_bytes;
    if (avail && need > 0.9 * (double)avail) {
        char a[32], b[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "bench attn: needs about %s but only %s is available",
                       lc_format_bytes(need, a, sizeof a), lc_format_bytes((double)avail, b, sizeof b));
    }
    st = fill_random(LC_DTYPE_F32, s->n_q, qrow, seed + 1, threads, &q, &qb, err);
    if (st == LC_OK) st = fill_random(s->k_type, s->n_kv, kvrow, seed + 2, threads, &k, &kb, err);
    if (st == LC_OK) st = fill_random(s->v_type, s->n_kv, kvrow, seed + 3, threads, &v, &vb, err);
    if (st == LC_OK) {
        ob = qb;
        o = lc_calloc_aligned(ob ? ob : 1);
        lse = lc_calloc_aligned(((size_t)s->n_q * (size_t)s->n_head + 1) * sizeof(float));
        ws = ws_bytes ? lc_malloc_aligned(ws_bytes) : NULL;
        if (!o || !lse || (ws_bytes && !ws)) st = lc_fail(err, LC_ERR_NOMEM, "bench attn: out of memory");
    }
    double *times = calloc((size_t)reps, sizeof(double));
    if (st == LC_OK && !times) st = lc_fail(err, LC_ERR_NOMEM, "bench attn: out of memory");
    if (st == LC_OK) {
        out->io_bytes = qb + kb + vb + ob;
        lc_attn_io io = {(const float *)q, k, v, o, lse};
        size_t rss0 = lc_rss_bytes();
        lc_peak_rss_reset();
        int done = 0;
        for (int r = 0; r < reps && st == LC_OK; r++) {
            double t0 = lc_time_now();
            st = lc_attn_forward(s, p, &io, ws, ws_bytes, err);
            times[done++] = lc_time_now() - t0;
            if (times[done - 1] > max_seconds) break;
        }
        size_t peak = lc_peak_rss_bytes();
        out->peak_rss_bytes = peak;
        out->rss_growth_bytes = peak > rss0 ? peak - rss0 : 0;
        if (st == LC_OK) {
            qsort(times, (size_t)done, sizeof(double), cmp_double);
            out->reps = done;
            out->seconds_min = times[0];
            out->seconds = done % 2 ? times[done / 2] : 0.5 * (times[done / 2 - 1] + times[done / 2]);
            out->gflops = out->seconds > 0 ? out->flops / out->seconds / 1e9 : 0;
        }
    }
    free(times);
    lc_free_aligned(q);
    lc_free_aligned(k);
    lc_free_aligned(v);
    lc_free_aligned(o);
    lc_free_aligned(lse);
    lc_free_aligned(ws);
    return st;
}
