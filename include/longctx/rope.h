/*
 * longctx/rope.h — rotary position embeddings and their long-context scaling.
 *
 * Pairing of the n_dims rotated dimensions of a head (the rest pass through):
 *
 *   LC_ROPE_NORM (GGUF "llama", llama2.c):  (x0,x1) (x2,x3) (x4,x5) ...
 *   LC_ROPE_NEOX (split halves, GPT-NeoX):  (x0,x[n/2]) (x1,x[n/2+1]) ...
 *
 * Pair i (0 <= i < n_dims/2) rotates by angle pos * theta_i,
 * theta_i = base^(-2i/n_dims), modified by the scaling method:
 *
 *   NONE         theta_i
 *   LINEAR       theta_i / s                         (position interpolation)
 *   NTK          base' = base * s^(n_dims/(n_dims-2)) (NTK-aware)
 *   DYNAMIC_NTK  NTK with s' = max(1, s*L/L_orig - (s-1)) for current length L
 *   YARN         per-pair ramp between theta_i/s and theta_i by wavelength,
 *                (beta_fast, beta_slow), and attention temperature:
 *                q and k each scaled by mscale = attn_factor * (0.1 ln s + 1)
 *
 * s is the context extension factor (new length / original length), so
 * llama.cpp's --rope-freq-scale equals 1/s.
 */
#ifndef LONGCTX_ROPE_H
#define LONGCTX_ROPE_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LC_ROPE_NORM = 0, LC_ROPE_NEOX = 1 } lc_rope_layout;

typedef enum {
    LC_ROPE_SCALING_NONE = 0,
    LC_ROPE_SCALING_LINEAR,
    LC_ROPE_SCALING_NTK,
    LC_ROPE_SCALING_DYNAMIC_NTK,
    LC_ROPE_SCALING_YARN,
    LC_ROPE_SCALING_COUNT
} lc_rope_scaling;

typedef struct {
    lc_rope_layout layout;
    int32_t n_dims;          /* rotated dimensions per head (even, <= head_dim) */
    float freq_base;         /* theta base, e.g. 10000                          */
    lc_rope_scaling scaling;
    float factor;            /* s >= 1 (1: no scaling)                           */
    int64_t orig_ctx;        /* training context (YaRN, dynamic NTK)             */
    float ext_factor;        /* YaRN ramp mix (llama.cpp's yarn_ext_factor);
                                < 0: 1 for YaRN, 0 otherwise                     */
    float attn_factor;       /* YaRN magnitude multiplier (1)                    */
    float beta_fast;         /* YaRN (32)                                         */
    float beta_slow;         /* YaRN (1)                                          */
} lc_rope_config;

/* Defaults: NORM layout, base 10000, no scaling, YaRN betas 32/1. */
void lc_rope_config_init(lc_rope_config *c, int32_t n_dims);
const char *lc_rope_scaling_name(lc_rope_scaling s);
/* "none", "linear", "ntk", "dynamic-ntk", "yarn" */
bool lc_rope_scaling_parse(const char *s, lc_rope_scaling *out);
lc_status lc_rope_validate(const lc_rope_config *c, lc_error *err);

/* The per-pair angular frequencies theta_i (n_dims/2 floats) for a current
 * sequence length (used by DYNAMIC_NTK only), and the magnitude scale that
 * multiplies both cos and sin (YaRN mscale; 1 otherwise). */
lc_status lc_rope_freqs(const lc_rope_config *c, int64_t cur_len, float *theta, float *mscale, lc_error *err);

/* A table of cos/sin per position and pair, so the hot loop has no
 * transcendental functions. Positions 0..n_pos-1. */
typedef struct lc_rope_cache lc_rope_cache;

lc_status lc_rope_cache_create(const lc_rope_config *c, int64_t n_pos, lc_rope_cache **out, lc_error *err);
/* DYNAMIC_NTK: rebuild the table for a new current length (no-op otherwise). */
lc_status lc_rope_cache_set_length(lc_rope_cache *rc, int64_t cur_len, lc_error *err);
void lc_rope_cache_free(lc_rope_cache *rc);
int64_t lc_rope_cache_n_pos(const lc_rope_cache *rc);
size_t lc_rope_cache_bytes(const lc_rope_cache *rc);

/* Rotate x [n_heads, head_dim] in place for position pos (0 <= pos < n_pos). */
void lc_rope_apply(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos);
/* The inverse rotation (used by backward passes). */
void lc_rope_apply_inverse(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos);
/* Rotate by an arbitrary position delta (may be negative; used to re-rotate
 * cached keys after a context shift). Computes the angles directly. */
void lc_rope_rotate_delta(const lc_rope_config *c, const float *theta, float *x, int32_t n_heads, int32_t head_dim,
                          int64_t delta);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_ROPE_H */
