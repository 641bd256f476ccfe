/*
 * RoPE frequencies theta_i (i = 0 .. n_dims/2-1) and the magnitude mscale
 * for every scaling method, in double precision. docs/rope.md derives them.
 */
#include <math.h>

#include "common/util.h"
#include "longctx/rope.h"

#define ROPE_PI 3.14159265358979323846

/* The (fractional) pair index whose wavelength 2 pi / theta_i fits n_rot
 * times into the original context: solve orig_ctx * theta_i / (2 pi) = n_rot
 * with theta_i = base^(-2i/d) for i. */
static double yarn_corr_dim(int32_t n_dims, int64_t orig_ctx, double n_rot, double base) {
    return (double)n_dims * log((double)orig_ctx / (n_rot * 2.0 * ROPE_PI)) / (2.0 * log(base));
}

/* YaRN's extrapolation weight of pair i: 1 for fast-turning pairs (i <= low),
 * 0 for slow ones (i >= high), linear in i between (the reference code's ramp,
 * which llama.cpp and Hugging Face follow). */
static double yarn_extrapolation_weight(int32_t i, double low, double high) {
    double y = ((double)i - low) / fmax(0.001, high - low);
    return 1.0 - fmin(1.0, fmax(0.0, y));
}

lc_status lc_rope_freqs_f64(const lc_rope_config *c, int64_t cur_len, double *theta, double *mscale, lc_error *err) {
    lc_status st = lc_rope_validate(c, err);
    if (st != LC_OK) return st;
    const int32_t d = c->n_dims, n_pairs = d / 2;
    double base = (double)c->freq_base;
    const double s = (double)c->factor;
    double m = (double)c->attn_factor;
    double interp = 1.0; /* theta_i multiplier for LINEAR */
    double low = 0.0, high = 0.0, ext = 0.0;

    switch (c->scaling) {
    case LC_ROPE_SCALING_NONE: break;
    case LC_ROPE_SCALING_LINEAR: interp = 1.0 / s; break;
    case LC_ROPE_SCALING_NTK: base *= pow(s, (double)d / (double)(d - 2)); break;
    case LC_ROPE_SCALING_DYNAMIC_NTK:
        if (cur_len > c->orig_ctx) {
            double s_dyn = s * (double)cur_len / (double)c->orig_ctx - (s - 1.0);
            if (s_dyn > 1.0) base *= pow(s_dyn, (double)d / (double)(d - 2));
        }
        break;
    case LC_ROPE_SCALING_YARN:
        ext = c->ext_factor < 0.0f ? 1.0 : (double)c->ext_factor;
        low = fmax(0.0, floor(yarn_corr_dim(d, c->orig_ctx, (double)c->beta_fast, base)));
        high = fmin((double)(d - 1), ceil(yarn_corr_dim(d, c->orig_ctx, (double)c->beta_slow, base)));
        if (ext != 0.0) m *= 1.0 + 0.1 * log(s);
        break;
    default: return lc_fail(err, LC_ERR_INTERNAL, "rope: scaling %d not handled", (int)c->scaling);
    }

    if (theta) {
        const double log_base = log(base);
        for (int32_t i = 0; i < n_pairs; i++) {
            double t = exp(-2.0 * (double)i / (double)d * log_base);
            if (c->n_factors) t /= (double)c->factors[i];
            if (c->scaling == LC_ROPE_SCALING_YARN) {
                double mix = yarn_extrapolation_weight(i, low, high) * ext;
                t = (t / s) * (1.0 - mix) + t * mix;
            } else {
                t *= interp;
            }
            theta[i] = t;
        }
    }
    if (mscale) *mscale = m;
    return LC_OK;
}

lc_status lc_rope_freqs(const lc_rope_config *c, int64_t cur_len, float *theta, float *mscale, lc_error *err) {
    double th[LC_ROPE_MAX_DIMS / 2], m = 1.0;
    lc_status st = lc_rope_freqs_f64(c, cur_len, theta ? th : NULL, &m, err);
    if (st != LC_OK) return st;
    if (theta)
        for (int32_t i = 0; i < c->n_dims / 2; i++) theta[i] = (float)th[i];
    if (mscale) *mscale = (float)m;
    return LC_OK;
}
