/* RoPE configuration: defaults, names, validation, llama.cpp-named options,
 * one-line description. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/rope.h"

/* Longest original context accepted (2^40 positions). */
#define ROPE_MAX_CTX ((int64_t)1 << 40)

static const char *const scaling_names[LC_ROPE_SCALING_COUNT] = {
    [LC_ROPE_SCALING_NONE] = "none",
    [LC_ROPE_SCALING_LINEAR] = "linear",
    [LC_ROPE_SCALING_NTK] = "ntk",
    [LC_ROPE_SCALING_DYNAMIC_NTK] = "dynamic-ntk",
    [LC_ROPE_SCALING_YARN] = "yarn",
};

void lc_rope_config_init(lc_rope_config *c, int32_t n_dims) {
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->layout = LC_ROPE_NORM;
    c->n_dims = n_dims;
    c->freq_base = 10000.0f;
    c->scaling = LC_ROPE_SCALING_NONE;
    c->factor = 1.0f;
    c->orig_ctx = 0;
    c->ext_factor = -1.0f;
    c->attn_factor = 1.0f;
    c->beta_fast = 32.0f;
    c->beta_slow = 1.0f;
}

const char *lc_rope_scaling_name(lc_rope_scaling s) {
    return (unsigned)s < LC_ROPE_SCALING_COUNT ? scaling_names[s] : "?";
}

bool lc_rope_scaling_parse(const char *s, lc_rope_scaling *out) {
    if (!s || !out) return false;
    for (int i = 0; i < LC_ROPE_SCALING_COUNT; i++) {
        if (strcmp(s, scaling_names[i]) == 0) {
            *out = (lc_rope_scaling)i;
            return true;
        }
    }
    if (strcmp(s, "dynamic") == 0 || strcmp(s, "ntk-dynamic") == 0 || strcmp(s, "dynamic_ntk") == 0) {
        *out = LC_ROPE_SCALING_DYNAMIC_NTK;
        return true;
    }
    return false;
}

lc_status lc_rope_validate(const lc_rope_config *c, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "rope: NULL config");
    if (c->layout != LC_ROPE_NORM && c->layout != LC_ROPE_NEOX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: unknown layout %d (0 = norm, 1 = neox)", (int)c->layout);
    if (c->n_dims < 2 || c->n_dims > LC_ROPE_MAX_DIMS || c->n_dims % 2)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: n_dims must be even and in 2..%d (got %d)", LC_ROPE_MAX_DIMS,
                       c->n_dims);
    if (!isfinite(c->freq_base) || c->freq_base <= 1.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: freq_base must be a finite number > 1 (got %g)",
                       (double)c->freq_base);
    if ((unsigned)c->scaling >= LC_ROPE_SCALING_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: unknown scaling method %d", (int)c->scaling);
    if (!isfinite(c->attn_factor) || c->attn_factor <= 0.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: attn_factor must be finite and > 0 (got %g)",
                       (double)c->attn_factor);
    if (c->n_factors != 0 && c->n_factors != c->n_dims / 2)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: %d frequency factors given, %d rotated dims need %d",
                       c->n_factors, c->n_dims, c->n_dims / 2);
    for (int32_t i = 0; i < c->n_factors; i++)
        if (!isfinite(c->factors[i]) || c->factors[i] <= 0.0f || c->factors[i] > 1e9f)
            return lc_fail(err, LC_ERR_INVALID_ARG, "rope: frequency factor %d is %g (must be finite and > 0)", (int)i,
                           (double)c->factors[i]);
    if (c->scaling == LC_ROPE_SCALING_NONE) return LC_OK;
    if (!isfinite(c->factor) || c->factor < 1.0f || c->factor > 1e6f)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "rope: %s scaling needs a context extension factor s in [1, 1e6] (got %g; "
                       "--rope-freq-scale is 1/s)",
                       lc_rope_scaling_name(c->scaling), (double)c->factor);
    if (c->scaling == LC_ROPE_SCALING_NTK && c->n_dims < 4)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: NTK scaling needs n_dims >= 4 (exponent d/(d-2))");
    if (c->scaling == LC_ROPE_SCALING_DYNAMIC_NTK || c->scaling == LC_ROPE_SCALING_YARN) {
        if (c->orig_ctx <= 0)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "rope: %s scaling needs the original training context (orig_ctx = %lld; set "
                           "--yarn-orig-ctx or the model's context length)",
                           lc_rope_scaling_name(c->scaling), (long long)c->orig_ctx);
        if (c->orig_ctx > ROPE_MAX_CTX)
            return lc_fail(err, LC_ERR_INVALID_ARG, "rope: orig_ctx %lld is too large", (long long)c->orig_ctx);
        if (c->scaling == LC_ROPE_SCALING_DYNAMIC_NTK && c->n_dims < 4)
            return lc_fail(err, LC_ERR_INVALID_ARG, "rope: dynamic NTK scaling needs n_dims >= 4");
    }
    if (c->scaling == LC_ROPE_SCALING_YARN) {
        if (!isfinite(c->ext_factor) || c->ext_factor > 1.0f)
            return lc_fail(err, LC_ERR_INVALID_ARG, "rope: yarn ext_factor must be in [0, 1], or < 0 for auto (got %g)",
                           (double)c->ext_factor);
        if (!isfinite(c->beta_fast) || !isfinite(c->beta_slow) || c->beta_slow <= 0.0f ||
            c->beta_fast < c->beta_slow)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "rope: yarn needs beta_fast >= beta_slow > 0 (got beta_fast %g, beta_slow %g)",
                           (double)c->beta_fast, (double)c->beta_slow);
    }
    return LC_OK;
}

/* ---- Options -------------------------------------------------------------- */

typedef enum {
    OPT_SCALING,
    OPT_SCALE,
    OPT_FREQ_SCALE,
    OPT_FREQ_BASE,
    OPT_ORIG_CTX,
    OPT_EXT_FACTOR,
    OPT_ATTN_FACTOR,
    OPT_BETA_FAST,
    OPT_BETA_SLOW,
    OPT_COUNT
} rope_option;

static const char *const option_names[OPT_COUNT] = {
    [OPT_SCALING] = "--rope-scaling",         [OPT_SCALE] = "--rope-scale",
    [OPT_FREQ_SCALE] = "--rope-freq-scale",   [OPT_FREQ_BASE] = "--rope-freq-base",
    [OPT_ORIG_CTX] = "--yarn-orig-ctx",       [OPT_EXT_FACTOR] = "--yarn-ext-factor",
    [OPT_ATTN_FACTOR] = "--yarn-attn-factor", [OPT_BETA_FAST] = "--yarn-beta-fast",
    [OPT_BETA_SLOW] = "--yarn-beta-slow",
};

/* The option a flag names ("--name" or "--name=value"), or -1. */
static int find_option(const char *flag) {
    if (!flag) return -1;
    size_t len = strcspn(flag, "=");
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(option_names[i]) == len && strncmp(flag, option_names[i], len) == 0) return i;
    return -1;
}

bool lc_rope_is_option(const char *flag) { return find_option(flag) >= 0; }

static bool parse_double(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* Integer with an optional K/M suffix (x1024). */
static bool parse_i64(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s) return false;
    int64_t mult = 1;
    if (*end == 'K' || *end == 'k') mult = 1024, end++;
    else if (*end == 'M' || *end == 'm') mult = 1024 * 1024, end++;
    if (*end != '\0') return false;
    return lc_mul_i64(v, mult, out);
}

lc_status lc_rope_apply_option(lc_rope_config *c, const char *flag, const char *value, lc_error *err) {
    int opt = find_option(flag);
    if (!c || opt < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "rope: '%s' is not a RoPE option", flag ? flag : "(null)");
    const char *name = option_names[opt];
    if (!value) return lc_fail(err, LC_ERR_INVALID_ARG, "%s needs a value", name);
    double v = 0.0;
    int64_t n = 0;
    switch ((rope_option)opt) {
    case OPT_SCALING:
        if (!lc_rope_scaling_parse(value, &c->scaling))
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "%s: unknown method '%s' (expected none, linear, ntk, dynamic-ntk or yarn)", name, value);
        return LC_OK;
    case OPT_SCALE:
    case OPT_FREQ_SCALE:
        if (!parse_double(value, &v) || v <= 0.0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a positive number, got '%s'", name, value);
        if (opt == OPT_FREQ_SCALE) v = 1.0 / v;
        if (v < 1.0 || v > 1e6)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "%s %s: the context extension factor s = %g must be in [1, 1e6] "
                           "(--rope-scale is s, --rope-freq-scale is 1/s)",
                           name, value, v);
        c->factor = (float)v;
        /* llama.cpp: a frequency scale with no scaling type is linear scaling. */
        if (c->scaling == LC_ROPE_SCALING_NONE && v != 1.0) c->scaling = LC_ROPE_SCALING_LINEAR;
        return LC_OK;
    case OPT_FREQ_BASE:
        if (!parse_double(value, &v) || v <= 1.0 || v > 1e12)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a base > 1, got '%s'", name, value);
        c->freq_base = (float)v;
        return LC_OK;
    case OPT_ORIG_CTX:
        if (!parse_i64(value, &n) || n < 0 || n > ROPE_MAX_CTX)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a context length >= 0 (0 = the model's), got '%s'",
                           name, value);
        c->orig_ctx = n;
        return LC_OK;
    case OPT_EXT_FACTOR:
        if (!parse_double(value, &v) || v > 1.0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a mix in [0, 1] or -1 (auto), got '%s'", name, value);
        c->ext_factor = v < 0.0 ? -1.0f : (float)v;
        return LC_OK;
    case OPT_ATTN_FACTOR:
        if (!parse_double(value, &v) || v <= 0.0 || v > 1e6)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a positive number, got '%s'", name, value);
        c->attn_factor = (float)v;
        return LC_OK;
    case OPT_BETA_FAST:
    case OPT_BETA_SLOW:
        if (!parse_double(value, &v) || v <= 0.0 || v > 1e6)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: expected a positive number, got '%s'", name, value);
        if (opt == OPT_BETA_FAST) c->beta_fast = (float)v;
        else c->beta_slow = (float)v;
        return LC_OK;
    default: break;
    }
    return lc_fail(err, LC_ERR_INTERNAL, "rope: option %s not handled", name);
}

const char *lc_rope_options_help(void) {
    return "  --rope-scaling {none,linear,ntk,dynamic-ntk,yarn}\n"
           "                         RoPE context extension method (default: the model's)\n"
           "  --rope-scale S         context extension factor s (linear if no method is set)\n"
           "  --rope-freq-scale F    frequency scale, F = 1/s\n"
           "  --rope-freq-base B     RoPE theta base (default: the model's, usually 10000)\n"
           "  --yarn-orig-ctx N      original training context (default 0: the model's)\n"
           "  --yarn-ext-factor X    YaRN extrapolation mix in [0,1] (default -1: 1 for yarn)\n"
           "  --yarn-attn-factor X   magnitude multiplier of q and k rotations (default 1)\n"
           "  --yarn-beta-fast X     YaRN low correction dim (default 32)\n"
           "  --yarn-beta-slow X     YaRN high correction dim (default 1)\n";
}

const char *lc_rope_describe(const lc_rope_config *c, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!c) {
        snprintf(buf, len, "(no rope config)");
        return buf;
    }
    const char *layout = c->layout == LC_ROPE_NEOX ? "neox" : c->layout == LC_ROPE_NORM ? "norm" : "?";
    double mscale = 1.0;
    lc_rope_freqs_f64(c, 0, NULL, &mscale, NULL); /* leaves 1 on an invalid config */
    switch (c->scaling) {
    case LC_ROPE_SCALING_NONE:
        snprintf(buf, len, "none base=%g dims=%d/%s", (double)c->freq_base, c->n_dims, layout);
        break;
    case LC_ROPE_SCALING_LINEAR:
    case LC_ROPE_SCALING_NTK:
        snprintf(buf, len, "%s s=%g base=%g dims=%d/%s", lc_rope_scaling_name(c->scaling), (double)c->factor,
                 (double)c->freq_base, c->n_dims, layout);
        break;
    case LC_ROPE_SCALING_DYNAMIC_NTK:
        snprintf(buf, len, "dynamic-ntk s=%g base=%g dims=%d/%s orig_ctx=%lld", (double)c->factor,
                 (double)c->freq_base, c->n_dims, layout, (long long)c->orig_ctx);
        break;
    case LC_ROPE_SCALING_YARN: {
        double ext = c->ext_factor < 0.0f ? 1.0 : (double)c->ext_factor;
        snprintf(buf, len, "yarn s=%g base=%g dims=%d/%s orig_ctx=%lld ext=%g attn=%g beta=%g/%g mscale=%.4f",
                 (double)c->factor, (double)c->freq_base, c->n_dims, layout, (long long)c->orig_ctx, ext,
                 (double)c->attn_factor, (double)c->beta_fast, (double)c->beta_slow, mscale);
        break;
    }
    default: snprintf(buf, len, "invalid scaling %d", (int)c->scaling); break;
    }
    if (c->scaling != LC_ROPE_SCALING_YARN && c->attn_factor != 1.0f) {
        size_t used = strlen(buf);
        if (used < len) snprintf(buf + used, len - used, " attn=%g", (double)c->attn_factor);
    }
    if (c->n_factors > 0 && c->n_factors <= LC_ROPE_MAX_DIMS / 2) {
        float lo = c->factors[0], hi = c->factors[0];
        for (int32_t i = 1; i < c->n_factors; i++) {
            lo = fminf(lo, c->factors[i]);
            hi = fmaxf(hi, c->factors[i]);
        }
        size_t used = strlen(buf);
        if (used < len)
            snprintf(buf + used, len - used, " freq_factors=%d[%g..%g]", c->n_factors, (double)lo, (double)hi);
    }
    return buf;
}

lc_status lc_rope_options_add(lc_rope_options *o, const char *flag, const char *value, lc_error *err) {
    if (o->n == LC_ROPE_MAX_OPTIONS || strlen(flag) >= sizeof o->flag[0])
        return lc_fail(err, LC_ERR_INVALID_ARG, "too many rope options (at most %d)", LC_ROPE_MAX_OPTIONS);
    snprintf(o->flag[o->n], sizeof o->flag[0], "%s", flag);
    o->value[o->n++] = value;
    return LC_OK;
}

lc_status lc_rope_options_apply(const lc_rope_options *o, lc_rope_config *c, lc_error *err) {
    for (int i = 0; i < o->n; i++) {
        const lc_status st = lc_rope_apply_option(c, o->flag[i], o->value[i], err);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}
