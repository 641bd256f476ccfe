/*
 * longctx/rope.h — rotary position embeddings and their long-context scaling.
 *
 * Pairing of the n_dims rotated dimensions of a head (the rest, n_dims ..
 * head_dim-1, pass through untouched: partial rotary):
 *
 *   LC_ROPE_NORM (GGUF "llama", llama2.c):  (x0,x1) (x2,x3) (x4,x5) ...
 *   LC_ROPE_NEOX (split halves, GPT-NeoX):  (x0,x[n/2]) (x1,x[n/2+1]) ...
 *
 *            NORM                               NEOX (n = n_dims = 8)
 *   x: [a0 b0 a1 b1 a2 b2 a3 b3 | rest]   x: [a0 a1 a2 a3 b0 b1 b2 b3 | rest]
 *
 * Pair i (0 <= i < n_dims/2) at position p rotates by the angle p * theta_i:
 *
 *   a' = m (a cos(p theta_i) - b sin(p theta_i))
 *   b' = m (a sin(p theta_i) + b cos(p theta_i))
 *
 * with theta_i = base^(-2i/n_dims) modified by the scaling method, and a
 * magnitude m (mscale) that is 1 except for YaRN:
 *
 *   NONE         theta_i
 *   LINEAR       theta_i / s                          (position interpolation)
 *   NTK          base' = base * s^(n_dims/(n_dims-2))  (NTK-aware)
 *   DYNAMIC_NTK  NTK with s' = max(1, s*L/L_orig - (s-1)) for the current
 *                length L (Hugging Face's DynamicNTKScalingRotaryEmbedding)
 *   YARN         per-pair ramp between theta_i/s (interpolation) and theta_i
 *                (extrapolation) by wavelength against the original context,
 *                with (beta_fast, beta_slow) as in the YaRN reference code and
 *                llama.cpp; and an attention temperature applied to q and k
 *                alike: m = attn_factor * (0.1 ln s + 1)  (when ext_factor != 0)
 *
 * Frequency factors f_i (optional, n_dims/2 of them: Llama-3.x's rope_freqs
 * tensor, Phi-3's LongRoPE short/long lists) divide theta_i before the method
 * applies: theta_i = base^(-2i/n_dims) / f_i, as llama.cpp's freq_factors and
 * Hugging Face's llama3 / longrope inv_freq do.
 *
 * attn_factor multiplies m for every method, as llama.cpp's --yarn-attn-factor
 * does (default 1). s is the context extension factor (new length / original
 * length), so llama.cpp's --rope-freq-scale equals 1/s. docs/rope.md has the
 * formulas, the mapping to llama.cpp's flags and a table of theta_i.
 *
 * Angles are computed in double precision (position * theta in double), so
 * positions up to 2^40 and beyond stay accurate; the cos/sin tables are f32.
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

/* Largest n_dims (rotated dimensions per head) supported. */
#define LC_ROPE_MAX_DIMS 1024

typedef struct {
    lc_rope_layout layout;
    int32_t n_dims;          /* rotated dimensions per head (even, 2..1024,
                                <= head_dim)                                     */
    float freq_base;         /* theta base, e.g. 10000 (> 1)                    */
    lc_rope_scaling scaling;
    float factor;            /* s >= 1 (1: no scaling); ignored by NONE          */
    int64_t orig_ctx;        /* training context (YaRN, dynamic NTK need it > 0;
                                0 = unset: the caller fills in the model's
                                training context before creating a cache)       */
    float ext_factor;        /* YaRN ramp mix (llama.cpp's yarn_ext_factor):
                                < 0: auto = 1 for YaRN (0 otherwise);
                                0: pure interpolation, no 0.1 ln s temperature  */
    float attn_factor;       /* magnitude multiplier of cos and sin (1)          */
    float beta_fast;         /* YaRN (32): pairs turning more than beta_fast
                                times over orig_ctx are not interpolated         */
    float beta_slow;         /* YaRN (1): pairs turning fewer than beta_slow
                                times over orig_ctx are fully interpolated      */
    int32_t n_factors;       /* 0, or n_dims/2: per-pair frequency divisors
                                (Llama-3's rope_freqs, Phi-3's LongRoPE lists):
                                theta_i = base^(-2i/n_dims) / factors[i], before
                                the scaling method above                          */
    float factors[LC_ROPE_MAX_DIMS / 2];
} lc_rope_config;

/* Defaults: NORM layout, base 10000, no scaling (factor 1), orig_ctx 0,
 * ext_factor -1 (auto), attn_factor 1, YaRN betas 32/1. */
void lc_rope_config_init(lc_rope_config *c, int32_t n_dims);
/* "none", "linear", "ntk", "dynamic-ntk", "yarn" ("?" if out of range). */
const char *lc_rope_scaling_name(lc_rope_scaling s);
/* Parses the names above (also "dynamic" and "ntk-dynamic"); false if unknown. */
bool lc_rope_scaling_parse(const char *s, lc_rope_scaling *out);
lc_status lc_rope_validate(const lc_rope_config *c, lc_error *err);

/* ---- Command-line options, named as llama.cpp names them -----------------
 *
 *   --rope-scaling {none,linear,ntk,dynamic-ntk,yarn}
 *   --rope-scale S         context extension factor s (sets linear scaling
 *                          when the scaling is still none, as llama.cpp does)
 *   --rope-freq-scale F    frequency scale F = 1/s (same rule)
 *   --rope-freq-base B     theta base
 *   --yarn-orig-ctx N      original (training) context; 0 = the model's
 *   --yarn-ext-factor X    ramp mix; -1 = auto
 *   --yarn-attn-factor X   magnitude multiplier
 *   --yarn-beta-fast X     YaRN low correction dim (32)
 *   --yarn-beta-slow X     YaRN high correction dim (1)
 *
 * Usage in a CLI loop:
 *   if (lc_rope_is_option(argv[i])) {
 *       const char *v = cli_value(argc, argv, &i, cmd);  (handles --flag=value)
 *       if (!v || lc_rope_apply_option(&cfg, argv[i0], v, &err) != LC_OK) ...usage
 *   }
 * flag may carry "=value" (it is ignored: pass the value separately).
 * The config is only checked field by field here; call lc_rope_validate once
 * every option (and the model's defaults) is in. */
bool lc_rope_is_option(const char *flag);
lc_status lc_rope_apply_option(lc_rope_config *c, const char *flag, const char *value, lc_error *err);
/* The lines of --help text for the options above (constant string). */
const char *lc_rope_options_help(void);
/* Options kept in order while the configuration they apply to is not known
 * yet (a model to fine-tune is loaded later): add each (refused past
 * LC_ROPE_MAX_OPTIONS, or a flag name of 32 bytes or more; value is
 * borrowed), then apply them all, in order, with lc_rope_apply_option. */
#define LC_ROPE_MAX_OPTIONS 16
typedef struct {
    char flag[LC_ROPE_MAX_OPTIONS][32];
    const char *value[LC_ROPE_MAX_OPTIONS];
    int n;
} lc_rope_options;
lc_status lc_rope_options_add(lc_rope_options *o, const char *flag, const char *value, lc_error *err);
lc_status lc_rope_options_apply(const lc_rope_options *o, lc_rope_config *c, lc_error *err);
/* One line for `info` and reports, e.g.
 * "yarn s=4 base=10000 dims=64/norm orig_ctx=4096 ext=1 attn=1 beta=32/1 mscale=1.1386";
 * returns buf (always NUL-terminated when len > 0). */
const char *lc_rope_describe(const lc_rope_config *c, char *buf, size_t len);

/* The per-pair angular frequencies theta_i (n_dims/2 values) for a current
 * sequence length (used by DYNAMIC_NTK only; <= 0 means "within the original
 * context"), and the magnitude scale that multiplies both cos and sin (YaRN
 * mscale times attn_factor; 1 otherwise). theta or mscale may be NULL.
 * The f64 variant is the exact computation; the f32 one rounds it. */
lc_status lc_rope_freqs(const lc_rope_config *c, int64_t cur_len, float *theta, float *mscale, lc_error *err);
lc_status lc_rope_freqs_f64(const lc_rope_config *c, int64_t cur_len, double *theta, double *mscale, lc_error *err);

/* ---- The cache: cos/sin tables ------------------------------------------
 *
 * A table of m*cos and m*sin per position and pair, [n_pos][2][n_dims/2]
 * (cos row then sin row), so the hot loop has no transcendental function.
 * It is stored in blocks of LC_ROPE_BLOCK positions: lc_rope_cache_reserve
 * grows it as the context grows without moving what exists, so a runtime can
 * create it for the current context and extend it later.
 *
 * Positions outside the table (pos < 0 or pos >= n_pos) are still rotated
 * correctly: their cos/sin are computed on the fly in double (about 30 ns
 * per pair instead of a table read). The table is a speed-up, never a limit:
 * f32 tables cost 4 * n_dims bytes per position (512 MiB for 1M positions at
 * n_dims = 128), so a caller short of memory may table a prefix only.
 *
 * Threads: apply / apply_inverse / rotate functions only read the cache and
 * may run concurrently; create, reserve and set_length must not overlap them.
 */
typedef struct lc_rope_cache lc_rope_cache;

#define LC_ROPE_BLOCK 256

/* Tables positions 0..n_pos-1 (n_pos >= 0; 0 = everything on the fly).
 * Refuses (LC_ERR_TOO_LARGE) a table larger than the memory available. */
lc_status lc_rope_cache_create(const lc_rope_config *c, int64_t n_pos, lc_rope_cache **out, lc_error *err);
/* Grow the table to cover at least n_pos positions (no-op if it does). */
lc_status lc_rope_cache_reserve(lc_rope_cache *rc, int64_t n_pos, lc_error *err);
/* DYNAMIC_NTK: recompute the frequencies for a new current length (no-op for
 * other methods, and when the base does not change). Within the original
 * context the table is (re)built; past it the base changes with every length,
 * so the table is marked stale and positions are computed on the fly instead
 * of rebuilding O(n_pos * n_dims) entries per token.
 * Known caveat (as in Hugging Face transformers): keys already in a KV cache
 * were rotated with the base of their time; they are not re-rotated. */
lc_status lc_rope_cache_set_length(lc_rope_cache *rc, int64_t cur_len, lc_error *err);
void lc_rope_cache_free(lc_rope_cache *rc);
/* Positions tabled (those with a fresh table row; 0 when stale). */
int64_t lc_rope_cache_n_pos(const lc_rope_cache *rc);
/* Bytes the cache holds (tables and frequencies). */
size_t lc_rope_cache_bytes(const lc_rope_cache *rc);
/* The configuration, current frequencies (n_dims/2 doubles) and mscale. */
const lc_rope_config *lc_rope_cache_config(const lc_rope_cache *rc);
const double *lc_rope_cache_theta(const lc_rope_cache *rc);
float lc_rope_cache_mscale(const lc_rope_cache *rc);
/* Use the portable scalar kernel even where AVX2 is available (testing and
 * benchmarking; the environment variable LONGCTX_ISA=scalar does it too). */
void lc_rope_cache_force_scalar(lc_rope_cache *rc, bool on);

/* ---- Rotation --------------------------------------------------------------
 * x is [n_heads, head_dim] row-major (one token), rotated in place; head_dim
 * must be >= n_dims. Any int64 position works (see the cache notes above).
 * These return LC_ERR_INVALID_ARG (and change nothing) on bad arguments. */

/* Forward: x <- m R(pos) x. */
lc_status lc_rope_apply(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos);
/* The TRANSPOSE of the forward map: x <- m R(-pos) x = (m R(pos))^T x, with
 * the same magnitude m (not 1/m). This is what a backward pass needs
 * (dL/dx = (m R)^T dL/dy); it is the inverse exactly when m = 1 (every
 * method but YaRN, or YaRN with attn_factor * (0.1 ln s + 1) = 1). */
lc_status lc_rope_apply_inverse(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos);
/* n_tok tokens of x [n_tok, n_heads, head_dim] at positions pos0, pos0+1, ... */
lc_status lc_rope_apply_seq(const lc_rope_cache *rc, float *x, int64_t n_tok, int32_t n_heads, int32_t head_dim,
                            int64_t pos0);

/* Rotate by an arbitrary position delta (may be negative) WITHOUT the
 * magnitude m: re-rotating keys that already carry m R(p) gives m R(p+delta).
 * Used after a context shift (rotations compose: R(a) R(b) = R(a+b)).
 * Uses the cache's current frequencies in double precision: prefer this. */
lc_status lc_rope_cache_rotate_delta(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim,
                                     int64_t delta);
/* The same from a config. theta: n_dims/2 frequencies from lc_rope_freqs, or
 * NULL to compute them in double (DYNAMIC_NTK: those within the original
 * context). Angles are delta * theta in double, but f32 theta carries a
 * relative error of 6e-8, so for |delta * theta| beyond ~100 pass NULL or use
 * the cache variant. Returns LC_ERR_INVALID_ARG on bad arguments. */
lc_status lc_rope_rotate_delta(const lc_rope_config *c, const float *theta, float *x, int32_t n_heads,
                               int32_t head_dim, int64_t delta);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_ROPE_H */
