/*
 * longctx/deltanet.h — Gated DeltaNet, the linear-attention layer of
 * Qwen3-Next / Qwen3.5 (a delta-rule recurrence with a per-token decay gate),
 * and the small operations around it: the short causal depthwise convolution
 * over the mixed q|k|v projection, the gates, the gated RMSNorm.
 *
 * Per value head h (H_v of them; q and k have H_k heads and value head h reads
 * key head h / (H_v / H_k), consecutive value heads sharing one) the state is
 * S [d_k][d_v]. With q and k L2-normalised (x / sqrt(|x|^2 + 1e-6)) and q
 * scaled by 1/sqrt(d_k), for each token t:
 *
 *     S    = exp(g_t) S                                  (decay, g_t <= 0)
 *     S    = S + beta_t k_t (v_t - S^T k_t)^T            (delta rule)
 *     o_t  = S^T q_t
 *
 * Two forms compute it, with the state carried in and out so that a prefill
 * can continue from a saved state and decode can follow either:
 *   - recurrent: O(d_k d_v) per token and head, whatever the context (decode);
 *   - chunked:   chunks of C tokens (default 16); inside a chunk the C updates
 *     are folded into a unit-lower-triangular system (the WY / UT transform)
 *     solved by forward substitution, so the work is matrix products of
 *     C x C, C x d and d x d blocks and the state is touched once per chunk
 *     (prefill). See docs/linear.md.
 *
 * The layer around the core, as Qwen3-Next computes it (GGUF names):
 *   mixed = x W_qkv^T                [n][C], C = 2 H_k d_k + H_v d_v (q | k | v)
 *   z     = x W_gate^T               [n][H_v d_v]
 *   b, a  = from x W_ba^T            [n][H_v] each
 *   mixed = silu(causal_conv1d(mixed))         lc_deltanet_conv1d
 *   g     = A softplus(a + dt_bias), A = -exp(A_log) (GGUF ssm_a holds A)
 *   beta  = sigmoid(b)                         lc_deltanet_gates
 *   o     = core(q, k, v, g, beta)             lc_deltanet_recurrent / _chunked
 *   o     = rmsnorm(o per head) * w * silu(z)  lc_deltanet_gated_norm
 *   y     = o W_out^T
 *
 * lc_deltanet_layer_forward runs all of it between the input and the output
 * projections, with the per-layer state (lc_deltanet_state).
 *
 * Layouts: row-major, f32; token rows may be strided (q, k and v are usually
 * slices of one mixed row). Sizes are validated; buffers are the caller's.
 */
#ifndef LONGCTX_DELTANET_H
#define LONGCTX_DELTANET_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t n_k_heads; /* H_k: query/key heads (>= 1)                    */
    int32_t n_v_heads; /* H_v: value heads and states (multiple of H_k) */
    int32_t d_k;       /* key/query head dim (1..1024)                  */
    int32_t d_v;       /* value head dim (1..1024)                      */
} lc_deltanet_shape;

typedef struct {
    int32_t chunk;  /* chunked form: tokens per chunk, 1..1024 (0: 16)     */
    bool l2norm_qk; /* L2-normalise q and k in the kernel (Qwen3-Next: yes) */
    int n_threads;  /* <= 0: every CPU; work is split over value heads      */
    bool force_scalar; /* skip the AVX2 kernels (testing the fallback)      */
} lc_deltanet_params;

/* chunk 16, l2norm_qk true, n_threads 0, force_scalar false. */
void lc_deltanet_params_init(lc_deltanet_params *p);

/* Inputs and outputs of n tokens. Strides are in floats between consecutive
 * tokens (0: dense, i.e. H * d). */
typedef struct {
    const float *q;    /* [n][H_k][d_k]                       */
    const float *k;    /* [n][H_k][d_k]                       */
    const float *v;    /* [n][H_v][d_v]                       */
    const float *g;    /* [n][H_v] log decay, <= 0            */
    const float *beta; /* [n][H_v]                            */
    float *out;        /* [n][H_v][d_v], dense                */
    float *state;      /* [H_v][d_k][d_v], read and updated   */
    int64_t q_stride, k_stride, v_stride;
} lc_deltanet_io;

lc_status lc_deltanet_validate(const lc_deltanet_shape *s, lc_error *err);

/* Floats of the recurrent state S of one layer: H_v d_k d_v. */
lc_status lc_deltanet_state_floats(const lc_deltanet_shape *s, size_t *floats, lc_error *err);

/* The token-by-token form (n >= 0). */
lc_status lc_deltanet_recurrent(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n,
                                const lc_deltanet_io *io, lc_error *err);

/* Scratch for lc_deltanet_chunked (exact, for p's chunk and thread count). */
lc_status lc_deltanet_chunked_workspace(const lc_deltanet_shape *s, const lc_deltanet_params *p, size_t *bytes,
                                        lc_error *err);
/* The chunked form; the same result as lc_deltanet_recurrent to rounding. */
lc_status lc_deltanet_chunked(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n,
                              const lc_deltanet_io *io, void *ws, size_t ws_bytes, lc_error *err);

/* ---- the operations around the core ---------------------------------------- */

/* Causal depthwise convolution with SiLU over n tokens of C channels:
 *   y[t][c] = silu(sum_{i<K} w[c][i] * x[t - (K-1) + i][c])
 * where positions before the first token read conv_state [K-1][C] (the K-1
 * previous inputs, oldest first; zeros for a fresh sequence), which is then
 * replaced by the last K-1 inputs. w is [C][K] (GGUF ssm_conv1d, ne = {K, C}).
 * x and y must not overlap. x rows x_stride floats apart (0: C). */
lc_status lc_deltanet_conv1d(int64_t n, int32_t channels, int32_t kernel, const float *x, int64_t x_stride,
                             const float *w, float *conv_state, float *y, lc_error *err);

/* g[t][h] = A[h] * softplus(a[t][h] + dt_bias[h]), beta[t][h] = sigmoid(b[t][h])
 * over n tokens of H_v heads (A = -exp(A_log) < 0). a and b rows ab_stride
 * floats apart (0: H_v). */
void lc_deltanet_gates(int64_t n, int32_t n_v_heads, const float *a, const float *b, int64_t ab_stride,
                       const float *A, const float *dt_bias, float *g, float *beta);

/* Gated RMSNorm per head: rows of d (n_rows of them):
 *   out = x / sqrt(mean(x^2) + eps) * w * silu(z)
 * (Qwen3-Next's RMSNormGated: w multiplies as is). out may equal x. */
void lc_deltanet_gated_norm(int64_t n_rows, int32_t d, const float *x, const float *z, const float *w, float eps,
                            float *out);

/* ---- the per-layer decode state, saved and restored like a KV cache ------- */

/* Recurrent state S and convolution state of one Gated DeltaNet layer. Its
 * size does not depend on the sequence length. */
typedef struct lc_deltanet_state lc_deltanet_state;

/* conv_kernel K >= 1; the convolution covers C = 2 H_k d_k + H_v d_v channels. */
lc_status lc_deltanet_state_create(const lc_deltanet_shape *s, int32_t conv_kernel, lc_deltanet_state **out,
                                   lc_error *err);
void lc_deltanet_state_free(lc_deltanet_state *st);
/* Zero both parts (a fresh sequence). */
void lc_deltanet_state_reset(lc_deltanet_state *st);
/* S [H_v][d_k][d_v] and the convolution state [K-1][C], for io.state and
 * lc_deltanet_conv1d. */
float *lc_deltanet_state_ssm(lc_deltanet_state *st);
float *lc_deltanet_state_conv(lc_deltanet_state *st);
/* Bytes that lc_deltanet_state_save writes: a 32-byte header (magic, shape,
 * kernel) and both parts in f32, little-endian as in memory. */
size_t lc_deltanet_state_bytes(const lc_deltanet_state *st);
lc_status lc_deltanet_state_save(const lc_deltanet_state *st, void *dst, size_t cap, lc_error *err);
/* Refuses data of another shape or kernel, truncated or non-finite data
 * (leaving st as it was). */
lc_status lc_deltanet_state_load(lc_deltanet_state *st, const void *src, size_t bytes, lc_error *err);
/* The checks of lc_deltanet_state_load alone (st is only read): a caller
 * that loads several states checks them all before it loads any. */
lc_status lc_deltanet_state_check(const lc_deltanet_state *st, const void *src, size_t bytes, lc_error *err);

/* ---- one layer, between its input projections and its output projection ---
 *
 * The layer's own weights (GGUF names of llama.cpp's converter in brackets). */
typedef struct {
    lc_deltanet_shape shape;
    int32_t conv_kernel;   /* K                                          */
    const float *conv_w;   /* [C][K]  (ssm_conv1d), C = 2 H_k d_k + H_v d_v */
    const float *A;        /* [H_v]   A = -exp(A_log)  (ssm_a)           */
    const float *dt_bias;  /* [H_v]   (ssm_dt.bias)                      */
    const float *norm_w;   /* [d_v]   gated RMSNorm weight (ssm_norm)    */
    float norm_eps;
} lc_deltanet_layer;

/* Scratch for lc_deltanet_layer_forward of n tokens (exact). */
lc_status lc_deltanet_layer_workspace(const lc_deltanet_layer *L, const lc_deltanet_params *p, int64_t n,
                                      size_t *bytes, lc_error *err);

/* n tokens through the layer, continuing from st (created for L's shape and
 * kernel) and updating it:
 *   mixed [n][C]       x W_qkv^T (q | k | v), rows mixed_stride floats apart (0: C)
 *   z     [n][H_v d_v] x W_gate^T
 *   b, a  [n][H_v]     the update and decay gate inputs (dense)
 *   out   [n][H_v d_v] norm(o) * silu(z), to be multiplied by W_out
 * conv1d + SiLU, gates, the core (chunked for n > 1, recurrent for one
 * token; blocks of up to 1024 tokens), gated RMSNorm. */
lc_status lc_deltanet_layer_forward(const lc_deltanet_layer *L, const lc_deltanet_params *p, lc_deltanet_state *st,
                                    int64_t n, const float *mixed, int64_t mixed_stride, const float *z,
                                    const float *b, const float *a, float *out, void *ws, size_t ws_bytes,
                                    lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_DELTANET_H */
