/*
 * Applying RoPE: the scalar kernel, the dispatch to AVX2, and rotation by a
 * table row, by a row computed on the fly, or by a position delta.
 *
 * One row cs = [2][n_pairs] (m cos, m sin) rotates every head of a token:
 *   NORM: (x[2i], x[2i+1])        NEOX: (x[i], x[i + n_pairs])
 *   forward    a' = a c - b s,  b' = a s + b c
 *   transpose  a' = a c + b s,  b' = b c - a s
 */
#include <math.h>

#include "common/util.h"
#include "rope/rope_internal.h"

void lc_rope_rotate_row(float *x, int32_t n_heads, int32_t head_dim, int32_t n_pairs, lc_rope_layout layout,
                        const float *cs, bool transpose) {
    const float *restrict cosv = cs, *restrict sinv = cs + n_pairs;
    const float sg = transpose ? -1.0f : 1.0f;
    for (int32_t h = 0; h < n_heads; h++) {
        float *restrict xh = x + (size_t)h * (size_t)head_dim;
        if (layout == LC_ROPE_NEOX) {
            float *restrict xb = xh + n_pairs;
            for (int32_t i = 0; i < n_pairs; i++) {
                const float a = xh[i], b = xb[i], c = cosv[i], s = sg * sinv[i];
                xh[i] = a * c - b * s;
                xb[i] = a * s + b * c;
            }
        } else {
            for (int32_t i = 0; i < n_pairs; i++) {
                const float a = xh[2 * i], b = xh[2 * i + 1], c = cosv[i], s = sg * sinv[i];
                xh[2 * i] = a * c - b * s;
                xh[2 * i + 1] = a * s + b * c;
            }
        }
    }
}

static void rotate(lc_isa isa, float *x, int32_t n_heads, int32_t head_dim, int32_t n_pairs, lc_rope_layout layout,
                   const float *cs, bool transpose) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) {
        lc_rope_rotate_row_avx2(x, n_heads, head_dim, n_pairs, layout, cs, transpose);
        return;
    }
#else
    (void)isa;
#endif
    lc_rope_rotate_row(x, n_heads, head_dim, n_pairs, layout, cs, transpose);
}

static bool shape_ok(const lc_rope_cache *rc, const float *x, int32_t n_heads, int32_t head_dim) {
    return rc && x && n_heads > 0 && head_dim >= rc->cfg.n_dims;
}

/* The row of position pos: from the table, or computed into buf. */
static const float *row_of(const lc_rope_cache *rc, int64_t pos, float *buf) {
    if (!rc->stale && pos >= 0 && pos < rc->n_pos)
        return rc->blocks[pos / LC_ROPE_BLOCK] + (size_t)(pos % LC_ROPE_BLOCK) * 2 * (size_t)rc->n_pairs;
    lc_rope_fill_rows(rc->theta, rc->n_pairs, rc->mscale, pos, 1, buf);
    return buf;
}

static lc_status apply_at(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos,
                          bool transpose) {
    if (!shape_ok(rc, x, n_heads, head_dim)) return LC_ERR_INVALID_ARG;
    float buf[LC_ROPE_MAX_DIMS];
    const float *cs = row_of(rc, pos, buf);
    rotate(rc->isa, x, n_heads, head_dim, rc->n_pairs, rc->cfg.layout, cs, transpose);
    return LC_OK;
}

lc_status lc_rope_apply(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos) {
    return apply_at(rc, x, n_heads, head_dim, pos, false);
}

lc_status lc_rope_apply_inverse(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos) {
    return apply_at(rc, x, n_heads, head_dim, pos, true);
}

lc_status lc_rope_apply_seq(const lc_rope_cache *rc, float *x, int64_t n_tok, int32_t n_heads, int32_t head_dim,
                            int64_t pos0) {
    if (!shape_ok(rc, x, n_heads, head_dim) || n_tok < 0 || pos0 > INT64_MAX - n_tok) return LC_ERR_INVALID_ARG;
    const size_t tok_stride = (size_t)n_heads * (size_t)head_dim;
    float buf[LC_ROPE_MAX_DIMS];
    for (int64_t t = 0; t < n_tok; t++) {
        const float *cs = row_of(rc, pos0 + t, buf);
        rotate(rc->isa, x + (size_t)t * tok_stride, n_heads, head_dim, rc->n_pairs, rc->cfg.layout, cs, false);
    }
    return LC_OK;
}

/* Rotation by delta * theta_i with magnitude 1. */
static void rotate_by_delta(lc_isa isa, const double *theta, int32_t n_pairs, lc_rope_layout layout, float *x,
                            int32_t n_heads, int32_t head_dim, int64_t delta) {
    float cs[LC_ROPE_MAX_DIMS];
    lc_rope_fill_rows(theta, n_pairs, 1.0, delta, 1, cs);
    rotate(isa, x, n_heads, head_dim, n_pairs, layout, cs, false);
}

lc_status lc_rope_cache_rotate_delta(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim,
                                     int64_t delta) {
    if (!shape_ok(rc, x, n_heads, head_dim)) return LC_ERR_INVALID_ARG;
    rotate_by_delta(rc->isa, rc->theta, rc->n_pairs, rc->cfg.layout, x, n_heads, head_dim, delta);
    return LC_OK;
}

lc_status lc_rope_rotate_delta(const lc_rope_config *c, const float *theta, float *x, int32_t n_heads,
                               int32_t head_dim, int64_t delta) {
    if (!c || !x || n_heads <= 0 || lc_rope_validate(c, NULL) != LC_OK || head_dim < c->n_dims)
        return LC_ERR_INVALID_ARG;
    const int32_t n_pairs = c->n_dims / 2;
    double th[LC_ROPE_MAX_DIMS / 2];
    if (theta) {
        for (int32_t i = 0; i < n_pairs; i++) th[i] = (double)theta[i];
    } else if (lc_rope_freqs_f64(c, 0, th, NULL, NULL) != LC_OK) {
        return LC_ERR_INVALID_ARG;
    }
    rotate_by_delta(lc_isa_best(), th, n_pairs, c->layout, x, n_heads, head_dim, delta);
    return LC_OK;
}
