/*
 * longctx/moe.h — the mixture-of-experts feed-forward block of gpt-oss and
 * Qwen3-Next (and the Qwen2-MoE / Mixtral shape in general).
 *
 * Per token x [dim]:
 *   logits = R x (+ router bias)                       R [E, dim]
 *   routing (the family's):
 *     TOPK_SOFTMAX  (gpt-oss)    the k largest logits, softmax over those k;
 *     SOFTMAX_TOPK  (Qwen3-Next) softmax over all E, the k largest
 *                                probabilities, divided by their sum when
 *                                norm_topk (norm_topk_prob);
 *   y = sum_{selected e} w_e * (D_e act(G_e x + bg_e, U_e x + bu_e) + bd_e)
 *     + sigmoid(s . x) * D_s (silu(G_s x) * U_s x)     shared expert, optional
 *
 * act (element-wise over the ffn width):
 *   SWIGLU       silu(g) * u
 *   SWIGLU_OAI   (gpt-oss) g' = min(g, limit), u' = clamp(u, -limit, limit),
 *                g' * sigmoid(alpha g') * (u' + 1)   (alpha 1.702, limit 7)
 *
 * Weights are lc_tensor in any type lc_matmul takes, the experts stacked as
 * GGUF stores them (ne = {cols, rows, E}): gate_exps and up_exps are
 * [E * ffn, dim] (expert e is rows e*ffn .. e*ffn+ffn-1), down_exps is
 * [E * dim, ffn]. GGUF keeps gpt-oss's gate and up as separate tensors
 * (ffn_gate_exps, ffn_up_exps: the converter splits HF's interleaved
 * gate_up_proj, gate = even columns, up = odd), biases [E][ffn] / [E][dim].
 *
 * Prefill groups the tokens of a block (up to 1024 tokens) by expert, so each
 * expert's weights are read once per block, as one GEMM per expert matrix.
 */
#ifndef LONGCTX_MOE_H
#define LONGCTX_MOE_H

#include "longctx/common.h"
#include "longctx/kernels.h"
#include "longctx/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_MOE_TOPK_SOFTMAX = 0, /* gpt-oss */
    LC_MOE_SOFTMAX_TOPK      /* Qwen3-Next, Qwen2-MoE, Mixtral (norm_topk) */
} lc_moe_routing;

typedef enum {
    LC_MOE_SWIGLU = 0, /* silu(gate) * up */
    LC_MOE_SWIGLU_OAI  /* gpt-oss clamped variant */
} lc_moe_act;

typedef struct {
    int32_t n_experts; /* E >= 1                                          */
    int32_t n_used;    /* k, 1 <= k <= E                                  */
    int64_t dim;       /* model width                                     */
    int64_t ffn;       /* expert ffn width                                */
    lc_moe_routing routing;
    bool norm_topk;    /* SOFTMAX_TOPK: divide the k weights by their sum */
    lc_moe_act act;
    float swiglu_alpha, swiglu_limit; /* SWIGLU_OAI                       */

    lc_tensor router;           /* [E, dim]   ffn_gate_inp                 */
    const float *router_bias;   /* [E] or NULL                             */
    lc_tensor gate_exps;        /* [E * ffn, dim]                          */
    lc_tensor up_exps;          /* [E * ffn, dim]                          */
    lc_tensor down_exps;        /* [E * dim, ffn]                          */
    const float *gate_bias;     /* [E][ffn] or NULL                        */
    const float *up_bias;       /* [E][ffn] or NULL                        */
    const float *down_bias;     /* [E][dim] or NULL                        */

    /* Shared expert: present when shared_ffn > 0 (SWIGLU, no biases). */
    int64_t shared_ffn;
    lc_tensor shared_gate;      /* [shared_ffn, dim]  ffn_gate_shexp        */
    lc_tensor shared_up;        /* [shared_ffn, dim]  ffn_up_shexp          */
    lc_tensor shared_down;      /* [dim, shared_ffn]  ffn_down_shexp        */
    lc_tensor shared_gate_inp;  /* [1, dim] ffn_gate_inp_shexp, or data NULL:
                                   the shared expert is added ungated     */
} lc_moe_layer;

/* Zero everything; routing SOFTMAX_TOPK with norm_topk, act SWIGLU,
 * alpha 1.702, limit 7. */
void lc_moe_layer_init(lc_moe_layer *m);

/* Shapes, types and counts checked (every tensor against dim, ffn, E). */
lc_status lc_moe_validate(const lc_moe_layer *m, lc_error *err);

/* The routing of n_tok tokens: idx [n_tok][k] expert ids, in decreasing
 * weight order (ties: lower id first), w [n_tok][k] their weights. ws:
 * lc_moe_workspace bytes. */
lc_status lc_moe_route(const lc_moe_layer *m, int64_t n_tok, const float *x, int32_t *idx, float *w, void *ws,
                       size_t ws_bytes, const lc_kernel_opts *o, lc_error *err);

/* Scratch for lc_moe_forward / lc_moe_route of n_tok tokens (exact). */
lc_status lc_moe_workspace(const lc_moe_layer *m, int64_t n_tok, int n_threads, size_t *bytes, lc_error *err);

/* y [n_tok][dim] = the block's output for x [n_tok][dim] (x, y distinct). */
lc_status lc_moe_forward(const lc_moe_layer *m, int64_t n_tok, const float *x, float *y, void *ws, size_t ws_bytes,
                         const lc_kernel_opts *o, lc_error *err);

/* Element-wise activation of n values (out may equal gate or up). */
void lc_moe_activate(const lc_moe_layer *m, const float *gate, const float *up, float *out, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_MOE_H */
