/*
 * Internal: the forward/backward pair of every layer of the trainer.
 *
 * Shapes in comments: B batch, T tokens per sequence, N = B*T rows, C model
 * dim, NH query heads, KV key/value heads, hd head dim, HD hidden (FFN) dim,
 * V vocabulary. Every tensor is row-major f32 and contiguous unless a stride
 * is given. Backward functions ACCUMULATE (+=) into parameter gradients and
 * say for each activation gradient whether they overwrite (=) or add (+=).
 *
 * Determinism: every function gives bitwise identical results for a given
 * input whatever the thread count (reductions over rows are split by
 * columns, never by rows), except where a comment says otherwise.
 */
#ifndef LC_TRAIN_LAYERS_H
#define LC_TRAIN_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "longctx/attn.h"
#include "longctx/common.h"
#include "longctx/rope.h"
#include "longctx/sys.h"

/* How a layer runs: threads and the shared sgemm packing scratch. */
typedef struct {
    int n_threads;       /* >= 1                                                 */
    lc_isa isa;          /* resolved once (lc_isa_best, or scalar when forced)    */
    void *gemm_ws;       /* lc_sgemm_workspace_bytes(max dims, n_threads) bytes  */
    size_t gemm_ws_bytes;
    bool force_scalar;   /* portable kernels only (tests)                       */
} lc_tr_exec;

/* ---- Embedding --------------------------------------------------------- */
/* out[N, C] = emb[ids[n], :]. ids must be in [0, V) (checked by the caller). */
void lc_tr_embed_forward(float *out, const int32_t *ids, const float *emb, int64_t n, int32_t c);
/* demb[V, C] += scatter of dout[N, C] rows (rows summed in order n = 0..N-1). */
void lc_tr_embed_backward(float *demb, const float *dout, const int32_t *ids, int64_t n, int32_t c, int n_threads);

/* ---- RMSNorm: y = x / sqrt(mean(x^2) + eps) * w ------------------------- */
/* out[N, C], rstd[N] (saved for backward), x[N, C], w[C]. */
void lc_tr_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t n, int32_t c, float eps,
                           int n_threads);
/* dx[N, C] += ..., dw[C] += ... from dout[N, C]. */
void lc_tr_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                            int64_t n, int32_t c, int n_threads);

/* ---- Linear layer: out = x W^T (W is [O, I] as in GGUF: one row per output) */
/* out[N, O] = x[N, I] W^T, or += when accumulate. */
lc_status lc_tr_matmul_forward(float *out, const float *x, const float *w, int64_t n, int64_t in, int64_t out_dim,
                               bool accumulate, const lc_tr_exec *ex, lc_error *err);
/* dx[N, I] (= or += by accumulate_dx; dx may be NULL to skip) = dout W;
 * dw[O, I] += dout^T x. */
lc_status lc_tr_matmul_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, int64_t n,
                                int64_t in, int64_t out_dim, bool accumulate_dx, const lc_tr_exec *ex, lc_error *err);

/* ---- RoPE on x[B, T, H, hd] (positions 0..T-1 in every sequence) -------- */
lc_status lc_tr_rope_forward(const lc_rope_cache *rc, float *x, int64_t b, int64_t t, int32_t h, int32_t hd,
                             int n_threads, lc_error *err);
/* dx <- (m R)^T dx in place. */
lc_status lc_tr_rope_backward(const lc_rope_cache *rc, float *dx, int64_t b, int64_t t, int32_t h, int32_t hd,
                              int n_threads, lc_error *err);

/* ---- SwiGLU: h = silu(g) * u, silu(g) = g * sigmoid(g) ------------------ */
/* h, g, u: [n] */
void lc_tr_swiglu_forward(float *h, const float *g, const float *u, int64_t n, int n_threads);
/* dg = dh * u * silu'(g), du = dh * silu(g) (both =). dg may alias dh. */
void lc_tr_swiglu_backward(float *dg, float *du, const float *dh, const float *g, const float *u, int64_t n,
                           int n_threads);

/* ---- Softmax cross-entropy over logits[N, V] with per-token weights ------
 * loss_n = logsumexp(logits_n) - logits_n[target_n]; the batch loss is
 * sum_n w_n loss_n * inv_weight_sum. With dlogits requested, logits are
 * replaced IN PLACE by dL/dlogits = w_n * inv_weight_sum * (softmax - onehot).
 * weights may be NULL (all 1). Rows with weight 0 get zero gradient.
 * losses[N] (required) receives the unweighted per-token losses; the weighted
 * sum sum_n w_n loss_n (before the inv_weight_sum scaling) goes to *wsum_loss,
 * summed in row order. targets must be in [0, V) (checked by the caller). */
void lc_tr_xent_forward_backward(float *logits, float *losses, const int32_t *targets, const float *weights,
                                 int64_t n, int32_t v, float inv_weight_sum, bool want_grad, double *wsum_loss,
                                 int n_threads);

/* ---- Softmax attention (causal self-attention over each sequence) -------- */
typedef struct {
    int64_t b, t;         /* batch, tokens per sequence                   */
    int32_t nh, kv, hd;   /* query heads, key/value heads (divides nh), d  */
    float scale;          /* 1/sqrt(hd)                                    */
} lc_tr_attn_shape;

/* Tile edge of the flash backward (queries and keys): a multiple of 6 and 16. */
#define LC_TR_FLASH_TILE 96

/* FLASH form, forward through lc_attn_forward (fwd->method FLASH, or NAIVE
 * as a stand-in where FLASH is unavailable): out[B, T, NH, hd] and
 * lse[B, T, NH]. q [B, T, NH, hd], k, v [B, T, KV, hd]. ws: the attention
 * workspace for one sequence (lc_tr_attn_flash_forward_ws). */
lc_status lc_tr_attn_flash_forward_ws(const lc_tr_attn_shape *s, const lc_attn_params *fwd, size_t *bytes,
                                      lc_error *err);
lc_status lc_tr_attn_flash_forward(const lc_tr_attn_shape *s, const lc_attn_params *fwd, const float *q, const float *k,
                                   const float *v, float *out, float *lse, void *ws, size_t ws_bytes, lc_error *err);

/* The functions below run single-thread sgemm per head or tile with the
 * micro-kernel tier `isa`, resolved once by the caller. */
/* Scratch of the backward passes: per-thread tiles and, with GQA, per-query-
 * head partial dK/dV [B, T, NH, hd] x 2 reduced over each group in order. */
size_t lc_tr_attn_flash_backward_ws(const lc_tr_attn_shape *s, int n_threads);
/* FlashAttention-2 style: recomputes P = exp(scale q.k - lse) tile by tile
 * with D_i = rowsum(dO_i * O_i); memory linear in T. dq, dk, dv (=). */
lc_status lc_tr_attn_flash_backward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                    const float *out, const float *lse, const float *dout, float *dq, float *dk,
                                    float *dv, void *ws, size_t ws_bytes, int n_threads, lc_isa isa, lc_error *err);

/* NAIVE form (the reference): materialises P [B, NH, T, T] in the forward and
 * keeps it for the backward: memory quadratic in T. */
size_t lc_tr_attn_naive_ws(const lc_tr_attn_shape *s, int n_threads);
lc_status lc_tr_attn_naive_forward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                   float *out, float *p, void *ws, size_t ws_bytes, int n_threads, lc_isa isa,
                                   lc_error *err);
lc_status lc_tr_attn_naive_backward(const lc_tr_attn_shape *s, const float *q, const float *k, const float *v,
                                    const float *p, const float *dout, float *dq, float *dk, float *dv, void *ws,
                                    size_t ws_bytes, int n_threads, lc_isa isa, lc_error *err);

/* ---- Linear attention, feature map phi = elu + 1, causal ------------------
 * o_i = phi(q_i)^T S_i / (phi(q_i)^T z_i),  S_i = sum_{j<=i} phi(k_j) v_j^T,
 * z_i = sum_{j<=i} phi(k_j), computed in chunks of `chunk` tokens (masked
 * quadratic form inside a chunk, carried state across). Saves den[B, T, NH]
 * (the normaliser) for the backward. */
size_t lc_tr_linear_ws(const lc_tr_attn_shape *s, int64_t chunk, int n_threads);
lc_status lc_tr_linear_forward(const lc_tr_attn_shape *s, int64_t chunk, const float *q, const float *k,
                               const float *v, float *out, float *den, void *ws, size_t ws_bytes, int n_threads,
                               lc_isa isa, lc_error *err);
lc_status lc_tr_linear_backward(const lc_tr_attn_shape *s, int64_t chunk, const float *q, const float *k,
                                const float *v, const float *out, const float *den, const float *dout, float *dq,
                                float *dk, float *dv, void *ws, size_t ws_bytes, int n_threads, lc_isa isa,
                                lc_error *err);

#endif
