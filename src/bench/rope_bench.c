/* The cost of RoPE per token (bench.h, lc_bench_rope): table build, rotation
 * from the table (dispatched and scalar kernels, NORM and NEOX layouts) and
 * from angles computed on the fly past the table. What `longctx bench rope`
 * measures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

/* Best time over reps of rotating n tokens starting at pos0, ns per token. */
static double time_apply(const lc_rope_cache *rc, float *x, int32_t heads, int32_t hd, int64_t n, int64_t pos0,
                         int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = lc_time_now();
        for (int64_t t = 0; t < n; t++) lc_rope_apply(rc, x, heads, hd, pos0 + t);
        best = fmin(best, lc_time_now() - t0);
    }
    return best / (double)n * 1e9;
}

/* The best of reps table builds of n_ctx positions, seconds (the last table into *rc). */
static lc_status time_build(const lc_rope_config *cfg, int64_t n_ctx, int reps, lc_rope_cache **rc, double *best,
                            lc_error *err) {
    *best = INFINITY;
    for (int k = 0; k < reps; k++) {
        lc_rope_cache_free(*rc);
        *rc = NULL;
        const double t0 = lc_time_now();
        lc_status st = lc_rope_cache_create(cfg, n_ctx, rc, err);
        if (st != LC_OK) return st;
        *best = fmin(*best, lc_time_now() - t0);
    }
    return LC_OK;
}

lc_status lc_bench_rope(const lc_rope_config *cfg, int64_t n_ctx, int heads, int head_dim, int64_t n_tok, int reps,
                        lc_bench_rope_result *out, lc_error *err) {
    if (!cfg || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench rope: NULL argument");
    if (n_ctx < 1 || n_ctx > INT32_MAX || heads < 1 || heads > 4096 || head_dim < 2 || head_dim > 4096 ||
        cfg->n_dims > head_dim || n_tok < 1 || reps < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench rope: %lld positions, %d heads x %d (%d rotated)",
                       (long long)n_ctx, heads, head_dim, cfg->n_dims);
    lc_status st = lc_rope_validate(cfg, err);
    if (st != LC_OK) return st;
    memset(out, 0, sizeof *out);
    out->n_ctx = n_ctx, out->heads = heads, out->head_dim = head_dim, out->reps = reps;
    /* The same x is rotated over and over: fold mscale back to 1 so that it
     * neither overflows nor decays into denormals (the table folds m into
     * cos/sin, so the cost is the same). */
    lc_rope_config timing = *cfg;
    double m = 1.0;
    lc_rope_freqs_f64(cfg, 0, NULL, &m, NULL);
    timing.attn_factor = (float)((double)cfg->attn_factor / m);
    const size_t n_x = (size_t)heads * (size_t)head_dim;
    float *x = malloc(n_x * sizeof(float));
    if (!x) return lc_fail(err, LC_ERR_NOMEM, "bench rope: out of memory");
    lc_rng r;
    lc_rng_seed(&r, 1);
    for (size_t i = 0; i < n_x; i++) x[i] = lc_rng_normal(&r);
    lc_rope_cache *rc = NULL;
    st = time_build(cfg, n_ctx, reps, &rc, &out->build_s, err);
    out->n_tok = LC_MIN(n_tok, n_ctx);
    /* Rotation: dispatch (AVX2 where available) and scalar, from the table;
     * then on the fly past the table. */
    for (int layout = 0; layout < 2 && st == LC_OK; layout++) {
        lc_rope_cache_free(rc);
        rc = NULL;
        timing.layout = (lc_rope_layout)layout;
        if ((st = lc_rope_cache_create(&timing, n_ctx, &rc, err)) != LC_OK) break;
        for (int k = 0; k < 4; k++) {
            lc_rope_cache_force_scalar(rc, k % 2 == 1);
            out->ns[layout][k] = time_apply(rc, x, heads, head_dim, out->n_tok, k < 2 ? 0 : n_ctx, reps);
        }
        out->table_bytes = lc_rope_cache_bytes(rc);
    }
    lc_rope_cache_free(rc);
    free(x);
    return st;
}
