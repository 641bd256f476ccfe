/*
 * The RoPE cache: current frequencies (double) and a block-chunked table of
 * m*cos / m*sin per position, grown on demand.
 *
 *   blocks[b] : [LC_ROPE_BLOCK][2][n_pairs] f32, row of position
 *               p = b * LC_ROPE_BLOCK + r is cos(p theta_i) * m for i < n_pairs
 *               followed by sin(p theta_i) * m.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "rope/rope_internal.h"

void lc_rope_fill_rows(const double *theta, int32_t n_pairs, double mscale, int64_t p0, int64_t n, float *rows) {
    const size_t stride = 2 * (size_t)n_pairs;
    /* Per pair: (c, s) = cos/sin of the current angle, (cd, sd) = of theta_i. */
    double c[LC_ROPE_MAX_DIMS / 2], s[LC_ROPE_MAX_DIMS / 2], cd[LC_ROPE_MAX_DIMS / 2], sd[LC_ROPE_MAX_DIMS / 2];
    for (int32_t i = 0; i < n_pairs; i++) {
        const double a0 = (double)p0 * theta[i];
        c[i] = cos(a0);
        s[i] = sin(a0);
        if (n > 1) {
            cd[i] = cos(theta[i]);
            sd[i] = sin(theta[i]);
        }
    }
    for (int64_t k = 0; k < n; k++) {
        float *row = rows + (size_t)k * stride;
        for (int32_t i = 0; i < n_pairs; i++) {
            row[i] = (float)(c[i] * mscale);
            row[n_pairs + i] = (float)(s[i] * mscale);
        }
        if (k + 1 == n) break;
        for (int32_t i = 0; i < n_pairs; i++) { /* angle += theta_i */
            const double cn = c[i] * cd[i] - s[i] * sd[i];
            s[i] = s[i] * cd[i] + c[i] * sd[i];
            c[i] = cn;
        }
    }
}

static void fill_block(const lc_rope_cache *rc, int64_t b) {
    lc_rope_fill_rows(rc->theta, rc->n_pairs, rc->mscale, b * LC_ROPE_BLOCK, LC_ROPE_BLOCK, rc->blocks[b]);
}

lc_status lc_rope_cache_create(const lc_rope_config *c, int64_t n_pos, lc_rope_cache **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "rope cache: NULL output pointer");
    *out = NULL;
    lc_status st = lc_rope_validate(c, err);
    if (st != LC_OK) return st;
    if (n_pos < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "rope cache: negative position count %lld", (long long)n_pos);
    lc_rope_cache *rc = calloc(1, sizeof *rc);
    if (!rc) return lc_fail(err, LC_ERR_NOMEM, "rope cache: out of memory");
    rc->cfg = *c;
    rc->n_pairs = c->n_dims / 2;
    rc->isa = lc_isa_best();
    rc->block_bytes = (size_t)LC_ROPE_BLOCK * 2 * (size_t)rc->n_pairs * sizeof(float);
    rc->theta = calloc((size_t)rc->n_pairs, sizeof(double));
    if (!rc->theta) {
        lc_rope_cache_free(rc);
        return lc_fail(err, LC_ERR_NOMEM, "rope cache: out of memory");
    }
    st = lc_rope_freqs_f64(c, 0, rc->theta, &rc->mscale, err);
    if (st == LC_OK) st = lc_rope_cache_reserve(rc, n_pos, err);
    if (st != LC_OK) {
        lc_rope_cache_free(rc);
        return st;
    }
    *out = rc;
    return LC_OK;
}

lc_status lc_rope_cache_reserve(lc_rope_cache *rc, int64_t n_pos, lc_error *err) {
    if (!rc) return lc_fail(err, LC_ERR_INVALID_ARG, "rope cache: NULL cache");
    if (n_pos < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "rope cache: negative position count %lld", (long long)n_pos);
    if (n_pos <= rc->n_pos) return LC_OK;
    const int64_t need = n_pos / LC_ROPE_BLOCK + (n_pos % LC_ROPE_BLOCK != 0);
    if (need > rc->n_blocks) {
        size_t add = 0, total = 0;
        char want[32], avail[32];
        if (!lc_mul_size((size_t)(need - rc->n_blocks), rc->block_bytes, &add) ||
            !lc_mul_size((size_t)need, rc->block_bytes, &total))
            return lc_fail(err, LC_ERR_TOO_LARGE, "rope cache: a table of %lld positions overflows size_t",
                           (long long)n_pos);
        size_t free_mem = lc_mem_available_bytes();
        if (free_mem && add > free_mem)
            return lc_fail(err, LC_ERR_TOO_LARGE,
                           "rope cache: a cos/sin table of %lld positions x %d pairs needs %s, only %s available "
                           "(table fewer positions: the rest are computed on the fly)",
                           (long long)n_pos, rc->n_pairs, lc_format_bytes((double)total, want, sizeof want),
                           lc_format_bytes((double)free_mem, avail, sizeof avail));
        if (need > rc->cap_blocks) {
            int64_t cap = LC_MAX(need, 2 * rc->cap_blocks);
            size_t arr;
            if (!lc_mul_size((size_t)cap, sizeof(float *), &arr))
                return lc_fail(err, LC_ERR_TOO_LARGE, "rope cache: too many blocks");
            float **blocks = realloc(rc->blocks, arr);
            if (!blocks) return lc_fail(err, LC_ERR_NOMEM, "rope cache: out of memory growing the block list");
            rc->blocks = blocks;
            rc->cap_blocks = cap;
        }
        while (rc->n_blocks < need) {
            float *blk = lc_malloc_aligned(rc->block_bytes);
            if (!blk)
                return lc_fail(err, LC_ERR_NOMEM, "rope cache: cannot allocate %s for positions %lld..",
                               lc_format_bytes((double)rc->block_bytes, want, sizeof want),
                               (long long)(rc->n_blocks * LC_ROPE_BLOCK));
            rc->blocks[rc->n_blocks] = blk;
            if (!rc->stale) fill_block(rc, rc->n_blocks);
            rc->n_blocks++;
        }
    }
    rc->n_pos = n_pos;
    return LC_OK;
}

lc_status lc_rope_cache_set_length(lc_rope_cache *rc, int64_t cur_len, lc_error *err) {
    if (!rc) return lc_fail(err, LC_ERR_INVALID_ARG, "rope cache: NULL cache");
    if (rc->cfg.scaling != LC_ROPE_SCALING_DYNAMIC_NTK) return LC_OK;
    double theta[LC_ROPE_MAX_DIMS / 2], mscale = 1.0;
    lc_status st = lc_rope_freqs_f64(&rc->cfg, cur_len, theta, &mscale, err);
    if (st != LC_OK) return st;
    rc->cur_len = cur_len;
    if (memcmp(theta, rc->theta, (size_t)rc->n_pairs * sizeof(double)) == 0 && mscale == rc->mscale) return LC_OK;
    memcpy(rc->theta, theta, (size_t)rc->n_pairs * sizeof(double));
    rc->mscale = mscale;
    if (cur_len > rc->cfg.orig_ctx) {
        rc->stale = true; /* the base moves with every length: compute on the fly */
        return LC_OK;
    }
    for (int64_t b = 0; b < rc->n_blocks; b++) fill_block(rc, b);
    rc->stale = false;
    return LC_OK;
}

void lc_rope_cache_free(lc_rope_cache *rc) {
    if (!rc) return;
    for (int64_t b = 0; b < rc->n_blocks; b++) lc_free_aligned(rc->blocks[b]);
    free(rc->blocks);
    free(rc->theta);
    free(rc);
}

int64_t lc_rope_cache_n_pos(const lc_rope_cache *rc) { return rc && !rc->stale ? rc->n_pos : 0; }

size_t lc_rope_cache_bytes(const lc_rope_cache *rc) {
    if (!rc) return 0;
    return sizeof *rc + (size_t)rc->n_pairs * sizeof(double) + (size_t)rc->cap_blocks * sizeof(float *) +
           (size_t)rc->n_blocks * rc->block_bytes;
}

const lc_rope_config *lc_rope_cache_config(const lc_rope_cache *rc) { return rc ? &rc->cfg : NULL; }

const double *lc_rope_cache_theta(const lc_rope_cache *rc) { return rc ? rc->theta : NULL; }

float lc_rope_cache_mscale(const lc_rope_cache *rc) { return rc ? (float)rc->mscale : 0.0f; }

void lc_rope_cache_force_scalar(lc_rope_cache *rc, bool on) {
    if (rc) rc->isa = on ? LC_ISA_SCALAR : lc_isa_best();
}
