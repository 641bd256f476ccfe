/*
 * Internal: the context object shared by context.c (creation, sizes),
 * forward.c (the forward pass) and generate.c.
 */
#ifndef LC_RUNTIME_INTERNAL_H
#define LC_RUNTIME_INTERNAL_H

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/deltanet.h"
#include "longctx/moe.h"
#include "longctx/runtime.h"
#include "runtime/kv_cache.h"

/* The shapes every buffer derives from. */
typedef struct {
    int32_t dim, hidden, n_layers, n_heads, n_kv_heads, head_dim, vocab;
    int64_t q_dim, kv_dim; /* n_heads*head_dim, n_kv_heads*head_dim */
    int64_t qkv_dim;       /* FUSED_QKV: q_dim + 2 kv_dim (else 0)        */
    int64_t up_dim;        /* rows of ffn_up: hidden, or 2 hidden fused   */
    int64_t n_ctx, n_batch;
    int n_threads;
} lc_rt_shape;

struct lc_context {
    const lc_model *model;
    lc_rt_shape sh;
    float norm_eps;
    lc_kernel_opts kopts;
    lc_attn_params attn;        /* resolved (n_threads set)                      */
    lc_attn_params attn_ring;   /* WINDOW/SINKS policies: the ring's window       */
    bool linear;                /* LINEAR attention: recurrent states, no cache  */
    lc_linear_state **lin;      /* [n_layers] when linear                        */
    lc_kv_cache kv;             /* when not linear                               */
    int64_t n_batch_asked;      /* the batch size asked for, before the policy cut
                                   it to its chunk (a session saved with another
                                   n_ctx is checked as that context would be)    */
    lc_kv_wring wring;          /* window layers' rings (FULL policy), n_layers 0: none */
    int32_t *kv_index;          /* [n_layers] the layer's index in kv, or in wring
                                   when its kind is WINDOW and rings are on      */
    int64_t n_past_linear;      /* tokens absorbed by the linear states          */
    lc_rope_config rope_cfg;
    lc_rope_cache *rope;
    /* The family (model cfg.fam) as this context runs it: */
    uint8_t *layer_kind;        /* [n_layers] lc_layer_kind (swa option applied)  */
    int64_t window;             /* window of window layers (0: none)              */
    lc_attn_params attn_window; /* window layers: WINDOW with that window         */
    lc_attn_params attn_ring_window; /* ring policies: window layers' ring window  */
    lc_rope_config rope_window_cfg;
    lc_rope_cache *rope_window; /* window layers' own RoPE, or NULL: rope         */

    /* One slab holds every buffer below (64-byte aligned pieces). */
    void *slab;
    float *norms;               /* [2*n_layers + 1, dim] f32 copies: attn, ffn per layer, then output */
    float *x;                   /* [n_batch, dim]   residual stream               */
    float *xb;                  /* [n_batch, dim]   normed input / projections    */
    float *q;                   /* [n_batch, q_dim]                                */
    float *k, *v;               /* [n_batch, kv_dim] new keys / values (f32)       */
    float *att;                 /* [n_batch, q_dim] attention output               */
    float *hb, *hb2;            /* [n_batch, hidden] gate, up (hb2: [n_batch, up_dim]) */
    float *qkv;                 /* [n_batch, qkv_dim] FUSED_QKV output             */
    float *logits;              /* [vocab] the last token's                        */
    float *att2;                /* [n_batch, q_dim] SINKS: the sinks' part          */
    float *q2;                  /* [n_batch, q_dim] SINKS: queries at cache positions */
    float *lse;                 /* [n_batch, n_heads] SINKS, H2O: log-sum-exp       */
    float *lse2;                /* [n_batch, n_heads] SINKS: the sinks' part        */
    bool have_logits;
    void *mm_ws;                /* matmul scratch                                  */
    size_t mm_ws_bytes;
    void *attn_ws;              /* attention scratch                               */
    size_t attn_ws_bytes;
    lc_moe_layer *moe;          /* [n_layers] MOE families, else NULL               */
    float *moe_y;               /* [n_batch, dim] MOE output                        */
    void *moe_ws;               /* MOE scratch (part of the slab)                   */
    size_t moe_ws_bytes;
    /* Gated DeltaNet layers (LC_ARCH_DELTANET) and gated attention: */
    lc_deltanet_state **dn;     /* [n_layers] the layer's state, NULL: not DELTANET */
    lc_deltanet_layer *dn_layer;/* [n_layers] its description                      */
    lc_deltanet_params dn_params;
    int32_t n_dn_layers;
    void *dn_mem;               /* one allocation: the buffers below, then scratch */
    float *dn_mixed;            /* [n_batch, C] q|k|v before the convolution        */
    float *dn_z;                /* [n_batch, H_v d_v]                               */
    float *dn_ba;               /* [n_batch, 2 H_v] as projected                    */
    float *dn_b, *dn_a;         /* [n_batch, H_v] unpacked                          */
    float *dn_out;              /* [n_batch, H_v d_v]                               */
    float *qg;                  /* [n_batch, 2 q_dim] ATTN_GATE: query|gate per head */
    float *gate;                /* [n_batch, q_dim] ATTN_GATE: the gates            */
    void *dn_ws;
    size_t dn_ws_bytes;

    double weight_bytes_per_pass; /* every matrix once: for the bytes/s figure    */
    lc_context_timings tm;

    lc_attn_observer_fn observer; /* NULL: none (lc_context_set_attn_observer)     */
    void *observer_user;
    lc_layer_pause_fn pause;      /* NULL: none (lc_context_set_layer_pause)       */
    void *pause_user;
    lc_attn_hook_fn attn_hook;    /* NULL: none (lc_context_set_attn_hook)         */
    void *attn_hook_user;
    bool rows_exact;              /* a batch's workspace (batch.c): every product of
                                     n > 1 rows gives each row what a one-row
                                     product gives (lc_rt_matmul_rows), MoE blocks
                                     run row by row                               */
};

/* The MoE block of layer L of a LC_ARCH_MOE model (views of its weights). */
lc_status lc_rt_moe_layer(const lc_model_config *c, const lc_layer_weights *L, lc_moe_layer *m, lc_error *err);

/* After a failed evaluation that found n_past tokens: FULL rolls the cache
 * back to them, other policies (and DeltaNet states) start over; no logits. */
void lc_rt_eval_failed(lc_context *ctx, int64_t n_past);

/* Reserve cache slots for tokens [n] (lc_kv_cache_reserve), moving the window
 * layers' rings along when the main ring rebased or the cache shifted. */
lc_status lc_rt_reserve(lc_context *ctx, const int32_t *tokens, int64_t n, lc_error *err);

/* Y [n, rows] = X [n, cols] W^T with every row of Y bit for bit what
 * lc_matmul gives for that row alone (batch.c): the integer kernels of the
 * quantized types compute each (row, token) dot product the same way whatever
 * the tile; the other types run row blocks of one-token products, a block's
 * weights read from memory once for all n rows. ctx: threads, workspace. */
lc_status lc_rt_matmul_rows(lc_context *ctx, const lc_tensor *w, const float *x, int64_t n, float *y, lc_error *err);

/* One decode step of n sequences (forward.c): token i at position pos[i] of
 * seqs[i], whose cache slot is reserved (or linear state ready); every
 * weight product runs once over the n rows in ws (a context of n_batch >= n,
 * rows_exact), RoPE / cache / attention / recurrent state per sequence in its
 * own context. logits: [n, vocab]. */
lc_status lc_rt_forward_batch(lc_context *ws, lc_context *const *seqs, const int32_t *tokens, const int64_t *pos,
                              int64_t n, float *logits, lc_error *err);

/* The attention shape of a chunk of n_q queries ending a sequence of n_kv
 * (causal, q_pos0 = n_kv - n_q, plain key order). */
lc_attn_shape lc_rt_attn_shape(const lc_context *ctx, int64_t n_q, int64_t n_kv);

#endif
