/*
 * The forward pass of the Llama runtime (see the diagram in
 * include/longctx/runtime.h). One call of forward_chunk runs n <= n_batch
 * tokens through every layer: with n > 1 the weight products are GEMMs
 * (prefill), with n == 1 matrix-vector products (decode).
 *
 * Buffers (all in the context's slab, sized for n_batch rows):
 *   x   [n, dim]     residual stream
 *   xb  [n, dim]     RMSNorm output, then the output of Wo / Wdown
 *   q   [n, q_dim]   k, v [n, kv_dim]   att [n, q_dim]
 *   hb  [n, hidden]  gate, then silu(gate) * up       hb2 [n, hidden] up
 *
 * lc_rt_forward_batch (decode of several sequences, src/runtime/batch.c) runs
 * the same steps over one row per sequence in a workspace context: every
 * weight product once for all rows, RoPE, the cache and attention per
 * sequence in that sequence's own context.
 */
#include <math.h>
#include <string.h>

#include "runtime/runtime_internal.h"

static lc_status mm(lc_context *ctx, const lc_tensor *w, const float *x, int64_t n, float *y, lc_error *err) {
    double t0 = lc_time_now();
    lc_status st = ctx->rows_exact && n > 1 ? lc_rt_matmul_rows(ctx, w, x, n, y, err)
                                            : lc_matmul(w, x, n, y, ctx->mm_ws, ctx->mm_ws_bytes, &ctx->kopts, err);
    ctx->tm.t_matmul += lc_time_now() - t0;
    ctx->tm.flops_matmul += lc_matmul_flops(w, n);
    return st;
}

/* Products of several weights with the same n input rows x (one pass over
 * their rows for a decode step: lc_matmul_multi); rows_exact batches keep
 * one product per weight. */
static lc_status mm_multi(lc_context *ctx, const lc_matmul_part *parts, int n_parts, const float *x, int64_t n,
                          lc_error *err) {
    if (ctx->rows_exact && n > 1) {
        for (int p = 0; p < n_parts; p++) {
            lc_status st = mm(ctx, parts[p].w, x, n, parts[p].y, err);
            if (st != LC_OK) return st;
        }
        return LC_OK;
    }
    double t0 = lc_time_now();
    lc_status st = lc_matmul_multi(parts, n_parts, x, n, ctx->mm_ws, ctx->mm_ws_bytes, &ctx->kopts, err);
    ctx->tm.t_matmul += lc_time_now() - t0;
    for (int p = 0; p < n_parts; p++) ctx->tm.flops_matmul += lc_matmul_flops(parts[p].w, n);
    return st;
}

/* One attention call: m query rows q at positions qpos0.. over a view of the
 * layer's cache, into out (and lse [m, n_heads] when not NULL). */
static lc_status attend_view(lc_context *ctx, int32_t layer, const lc_kv_view *view, const lc_attn_params *p,
                             const float *q, int64_t m, int64_t qpos0, float *out, float *lse, lc_error *err) {
    lc_attn_shape s = lc_rt_attn_shape(ctx, m, view->n_kv);
    s.q_pos0 = qpos0;
    s.k_pos = view->k_pos;
    s.scale = ctx->model->cfg.fam.attn_scale;
    s.softcap = ctx->model->cfg.fam.attn_softcap;
    /* lc_attn_forward checks the workspace against what this shape needs (the
     * context sized it for the largest chunk shapes) and refuses rather than
     * overrun. */
    lc_attn_io io = {q, view->k, view->v, out, lse};
    double t0 = lc_time_now();
    lc_status st = lc_attn_forward(&s, p, &io, ctx->attn_ws, ctx->attn_ws_bytes, err);
    ctx->tm.t_attn += lc_time_now() - t0;
    ctx->tm.flops_attn += lc_attn_flops(&s, p);
    ctx->tm.bytes_kv += (double)view->n_kv * (double)(ctx->kv.k_row_bytes + ctx->kv.v_row_bytes);
    if (ctx->observer && st == LC_OK) {
        lc_attn_io seen = io;
        seen.lse = NULL;
        ctx->observer(ctx->observer_user, layer, &s, p, &seen);
    }
    return st;
}

/* Two softmax parts over disjoint key sets, each normalised with its
 * log-sum-exp, into one: o1 <- (e^l1 o1 + e^l2 o2) / (e^l1 + e^l2). Rows
 * [m, n_head] of head_dim; l1 becomes the joint log-sum-exp. */
static void merge_parts(float *o1, float *l1, const float *o2, const float *l2, int64_t m, int32_t n_head,
                        int32_t d) {
    for (int64_t r = 0; r < m * n_head; r++) {
        const float a = l1[r], b = l2[r], mx = a > b ? a : b;
        float *x = o1 + r * d;
        const float *y = o2 + r * d;
        if (mx == -INFINITY) {
            memset(x, 0, (size_t)d * sizeof(float));
            continue;
        }
        const float wa = expf(a - mx), wb = expf(b - mx), inv = 1.0f / (wa + wb);
        for (int32_t i = 0; i < d; i++) x[i] = (wa * x[i] + wb * y[i]) * inv;
        l1[r] = mx + logf(wa + wb);
    }
}

/* SINKS, second part: the chunk's rows (logical positions t0.., rotated at
 * p0..) attend the sink slots with their queries re-rotated to where the
 * paper puts them, the position within the cache min(t, S+W-1); the sinks
 * sit at 0..S-1. Merged into att (lse: the ring part's, which holds a learned
 * sink logit if the model has one: it enters the denominator once, there).
 * A model's window layer applies its own window to these cache positions
 * (ap: its WINDOW parameters), so before anything is evicted the sinks are
 * visible exactly where a full cache shows them; rows past S+W-1 all sit at
 * that one position, which the kernel's consecutive query positions cannot
 * express, so a window layer takes them one row per call (S keys each). */
static lc_status attend_sinks(lc_context *ctx, int32_t layer, const lc_attn_params *ap, bool window_layer, int64_t m,
                              int64_t t0, int64_t p0, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    lc_kv_view sv;
    lc_kv_cache_sinks_view(&ctx->kv, ctx->kv_index[layer], &sv);
    if (sv.n_kv == 0) return LC_OK;
    const int64_t top = ctx->kv.n_sinks + ctx->kv.window - 1;
    memcpy(ctx->q2, ctx->q, (size_t)(m * sh->q_dim) * sizeof(float));
    for (int64_t i = 0; i < m; i++) {
        const int64_t delta = LC_MIN(t0 + i, top) - (p0 + i);
        if (delta != 0) {
            lc_status st = lc_rope_cache_rotate_delta(ctx->rope, ctx->q2 + i * sh->q_dim, sh->n_heads, sh->head_dim, delta);
            if (st != LC_OK) return lc_fail(err, st, "sinks: cannot re-rotate a query by %lld", (long long)delta);
        }
    }
    /* rows 0..m1-1 sit at consecutive cache positions t0.. (up to top) */
    const int64_t m1 = window_layer ? LC_MAX(0, LC_MIN(m, top - t0 + 1)) : m;
    lc_status st = LC_OK;
    if (m1 > 0) st = attend_view(ctx, layer, &sv, ap, ctx->q2, m1, LC_MIN(t0, top), ctx->att2, ctx->lse2, err);
    for (int64_t i = m1; i < m && st == LC_OK; i++)
        st = attend_view(ctx, layer, &sv, ap, ctx->q2 + i * sh->q_dim, 1, top, ctx->att2 + i * sh->q_dim,
                         ctx->lse2 + i * sh->n_heads, err);
    if (st == LC_OK) merge_parts(ctx->att, ctx->lse, ctx->att2, ctx->lse2, m, sh->n_heads, sh->head_dim);
    return st;
}

/* Softmax attention of the chunk's queries r0 .. n-1 (q rows 0.., att rows
 * 0..; rotated at positions p0+r0 ..) over the layer's cache, the chunk's own
 * keys included, as the policy lays it out. */
static lc_status attend_cache(lc_context *ctx, int32_t layer, int64_t n, int64_t r0, int64_t p0, lc_error *err) {
    const int64_t m = n - r0;
    lc_kv_view view;
    const bool win = ctx->layer_kind[layer] == LC_LAYER_WINDOW;
    if (win && ctx->wring.n_layers) lc_kv_wring_view(&ctx->wring, ctx->kv_index[layer], &view);
    else lc_kv_cache_view(&ctx->kv, ctx->kv_index[layer], &view);
    const lc_attn_params *ap = win ? &ctx->attn_window : &ctx->attn;
    lc_attn_params with_sinks;
    if (ctx->model->cfg.fam.flags & LC_ARCH_ATTN_SINKS) { /* learned sinks */
        with_sinks = *ap;
        with_sinks.sink_logits = (const float *)ctx->model->w.layers[layer].attn_sinks.data;
        ap = &with_sinks;
    }
    lc_status st;
    switch (ctx->kv.policy) {
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS: {
        const bool sinks = ctx->kv.n_sinks > 0;
        lc_attn_params ring = win ? ctx->attn_ring_window : ctx->attn_ring;
        ring.sink_logits = ap->sink_logits; /* a learned sink joins the ring part's denominator */
        st = attend_view(ctx, layer, &view, &ring, ctx->q, m, p0 + r0, ctx->att, sinks ? ctx->lse : NULL, err);
        /* a window layer in its own ring (policy window >= its window) never
         * sees the sinks: they lie beyond its window once evicted, and in its
         * ring while they are not */
        if (st == LC_OK && sinks && !(win && ctx->wring.n_layers))
            st = attend_sinks(ctx, layer, win ? &ctx->attn_window : &ctx->attn, win, m, ctx->kv.next_pos + r0,
                              p0 + r0, err);
        return st;
    }
    case LC_KV_POLICY_H2O:
        st = attend_view(ctx, layer, &view, ap, ctx->q, m, p0 + r0, ctx->att, ctx->lse, err);
        if (st == LC_OK) {
            const double t0 = lc_time_now();
            lc_kv_cache_h2o_accumulate(&ctx->kv, ctx->kv_index[layer], ctx->q, m, p0 + r0, ctx->sh.n_heads, ctx->lse,
                                       ctx->model->cfg.fam.attn_scale > 0.0f ? ctx->model->cfg.fam.attn_scale
                                                                             : 1.0f / sqrtf((float)ctx->sh.head_dim));
            ctx->tm.t_attn += lc_time_now() - t0;
        }
        return st;
    default: return attend_view(ctx, layer, &view, ap, ctx->q, m, p0 + r0, ctx->att, NULL, err);
    }
}

/* LINEAR attention: the layer's recurrent state absorbs keys/values 0..r0-1
 * without queries, then steps through r0..n-1 with theirs (q and att rows 0..)
 * — exactly the causal form, in O(1) memory in the length. */
static lc_status attend_linear(lc_context *ctx, int32_t layer, int64_t n, int64_t r0, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    double t0 = lc_time_now();
    lc_status st = r0 > 0 ? lc_linear_state_absorb(ctx->lin[layer], r0, ctx->k, ctx->v, err) : LC_OK;
    for (int64_t i = r0; i < n && st == LC_OK; i++)
        st = lc_linear_state_step(ctx->lin[layer], ctx->q + (i - r0) * sh->q_dim, ctx->k + i * sh->kv_dim,
                                  ctx->v + i * sh->kv_dim, ctx->att + (i - r0) * sh->q_dim, err);
    ctx->tm.t_attn += lc_time_now() - t0;
    lc_attn_shape s = lc_rt_attn_shape(ctx, 1, 1);
    ctx->tm.flops_attn += (double)n * lc_attn_flops(&s, &ctx->attn);
    return st;
}

/* The attention hook (lc_context_set_attn_hook) stores the chunk's keys and
 * values and attends, wherever it keeps the cache. */
static lc_status attend_hook(lc_context *ctx, int32_t layer, int64_t n, int64_t r0, int64_t p0, lc_error *err) {
    lc_attn_hook_call c = {layer, ctx->q, n - r0, p0 + r0, ctx->k, ctx->v, n, p0, ctx->att,
                           lc_rt_attn_shape(ctx, n - r0, 0), &ctx->attn, ctx->attn_ws, ctx->attn_ws_bytes};
    c.shape.scale = ctx->model->cfg.fam.attn_scale;
    c.shape.softcap = ctx->model->cfg.fam.attn_softcap;
    const double t0 = lc_time_now();
    lc_status st = ctx->attn_hook(ctx->attn_hook_user, &c, err);
    ctx->tm.t_attn += lc_time_now() - t0;
    return st;
}

/* y[r] += b for n rows of len. */
static void add_bias(float *y, const lc_tensor *b, int64_t n, int64_t len, const lc_kernel_opts *ko) {
    for (int64_t r = 0; r < n; r++) lc_add(y + r * len, (const float *)b->data, len, ko);
}

/* x <- cap tanh(x / cap) over n values. */
static void softcap(float *x, int64_t n, float cap) {
    const float inv = 1.0f / cap;
    for (int64_t i = 0; i < n; i++) x[i] = cap * tanhf(x[i] * inv);
}

/* The attention projections of rows 0..n-1 (queries of rows r0.. only) into
 * ctx->q (rows r0.. at 0..), ctx->k, ctx->v: one fused Wqkv product or three,
 * the biases and the per-head q/k norms (RoPE: rope_qk). */
static lc_status project_qkv(lc_context *ctx, const lc_layer_weights *L, int64_t n, int64_t r0, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    const lc_family *f = &ctx->model->cfg.fam;
    const lc_kernel_opts *ko = &ctx->kopts;
    const int64_t m = n - r0, Q = sh->q_dim, KV = sh->kv_dim;
    lc_status st;
    if (f->flags & LC_ARCH_FUSED_QKV) {
        if ((st = mm(ctx, &L->wqkv, ctx->xb, n, ctx->qkv, err)) != LC_OK) return st;
        for (int64_t i = 0; i < n; i++) {
            const float *row = ctx->qkv + i * sh->qkv_dim;
            if (i >= r0) memcpy(ctx->q + (i - r0) * Q, row, (size_t)Q * sizeof(float));
            memcpy(ctx->k + i * KV, row + Q, (size_t)KV * sizeof(float));
            memcpy(ctx->v + i * KV, row + Q + KV, (size_t)KV * sizeof(float));
        }
    } else if (f->flags & LC_ARCH_ATTN_GATE) {
        /* per head: head_dim query values, then head_dim gate values */
        const int64_t hd = sh->head_dim;
        if ((st = mm(ctx, &L->wq, ctx->xb + r0 * sh->dim, m, ctx->qg, err)) != LC_OK ||
            (st = mm(ctx, &L->wk, ctx->xb, n, ctx->k, err)) != LC_OK ||
            (st = mm(ctx, &L->wv, ctx->xb, n, ctx->v, err)) != LC_OK)
            return st;
        for (int64_t i = 0; i < m; i++)
            for (int32_t h = 0; h < sh->n_heads; h++) {
                const float *src = ctx->qg + i * 2 * Q + h * 2 * hd;
                memcpy(ctx->q + i * Q + h * hd, src, (size_t)hd * sizeof(float));
                memcpy(ctx->gate + i * Q + h * hd, src + hd, (size_t)hd * sizeof(float));
            }
    } else if (r0 == 0) { /* every row takes its query: one pass over Wq, Wk, Wv */
        const lc_matmul_part parts[3] = {{&L->wq, ctx->q}, {&L->wk, ctx->k}, {&L->wv, ctx->v}};
        if ((st = mm_multi(ctx, parts, 3, ctx->xb, n, err)) != LC_OK) return st;
    } else {
        if ((st = mm(ctx, &L->wq, ctx->xb + r0 * sh->dim, m, ctx->q, err)) != LC_OK ||
            (st = mm(ctx, &L->wk, ctx->xb, n, ctx->k, err)) != LC_OK ||
            (st = mm(ctx, &L->wv, ctx->xb, n, ctx->v, err)) != LC_OK)
            return st;
    }
    if (f->flags & LC_ARCH_QKV_BIAS) {
        add_bias(ctx->q, &L->bq, m, Q, ko);
        add_bias(ctx->k, &L->bk, n, KV, ko);
        add_bias(ctx->v, &L->bv, n, KV, ko);
    }
    if (f->flags & LC_ARCH_QK_NORM) {
        lc_rmsnorm(ctx->q, ctx->q, (const float *)L->q_norm.data, m * sh->n_heads, sh->head_dim, ctx->norm_eps, ko);
        lc_rmsnorm(ctx->k, ctx->k, (const float *)L->k_norm.data, n * sh->n_kv_heads, sh->head_dim, ctx->norm_eps, ko);
    }
    return LC_OK;
}

/* RoPE of layer l as sequence ctx rotates it: m query rows q at positions
 * qpos.., n key rows k at kpos... */
static lc_status rope_qk(const lc_context *ctx, int32_t l, float *q, int64_t m, int64_t qpos, float *k, int64_t n,
                         int64_t kpos, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    const lc_rope_cache *rope = ctx->rope_window && ctx->layer_kind[l] == LC_LAYER_WINDOW ? ctx->rope_window : ctx->rope;
    lc_status st;
    if ((st = lc_rope_apply_seq(rope, q, m, sh->n_heads, sh->head_dim, qpos)) != LC_OK ||
        (st = lc_rope_apply_seq(rope, k, n, sh->n_kv_heads, sh->head_dim, kpos)) != LC_OK)
        return lc_fail(err, st, "rope: cannot rotate layer %d at position %lld", (int)l, (long long)kpos);
    return LC_OK;
}

/* The chunk's keys and values (ctx->k, ctx->v rows 0..n-1 at positions
 * p0..) into the sequence's cache and the attention of its queries (ctx->q,
 * rows r0..) into ctx->att: the linear state, the attention hook, or the
 * cache as the policy lays it out. */
static lc_status mix_attention(lc_context *ctx, int32_t l, int64_t n, int64_t r0, int64_t p0, lc_error *err) {
    if (ctx->linear) return attend_linear(ctx, l, n, r0, err);
    if (ctx->attn_hook) return attend_hook(ctx, l, n, r0, p0, err);
    if (ctx->wring.n_layers && ctx->layer_kind[l] == LC_LAYER_WINDOW)
        lc_kv_wring_store(&ctx->wring, &ctx->kv, ctx->kv_index[l], ctx->k, ctx->v, n, ctx->kv.n_seen, p0);
    else
        lc_kv_cache_store(&ctx->kv, ctx->kv_index[l], ctx->k, ctx->v, &ctx->kopts);
    return attend_cache(ctx, l, n, r0, p0, err);
}

/* The attention output of m rows (ctx->att, gated when the family gates it)
 * through Wo into ctx->xb. */
static lc_status attn_out(lc_context *ctx, const lc_layer_weights *L, int64_t m, lc_error *err) {
    if (ctx->model->cfg.fam.flags & LC_ARCH_ATTN_GATE) /* att x sigmoid(gate) */
        for (int64_t i = 0; i < m * ctx->sh.q_dim; i++) ctx->att[i] /= 1.0f + expf(-ctx->gate[i]);
    return mm(ctx, &L->wo, ctx->att, m, ctx->xb, err);
}

/* A Gated DeltaNet layer over rows 0..n-1 (ctx->xb, normed): the layer's
 * recurrent state takes every row (chunked form for n > 1, recurrent for
 * one); rows r0.. leave through ssm_out into ctx->xb. deltanet_in: the input
 * projections of the rows into dn_mixed, dn_z, dn_b, dn_a. */
static lc_status deltanet_in(lc_context *ctx, const lc_layer_weights *L, int64_t n, lc_error *err) {
    const lc_family *f = &ctx->model->cfg.fam;
    const int32_t HK = f->ssm_n_k_heads, HV = f->ssm_n_v_heads, R = HV / HK;
    lc_status st;
    if ((st = mm(ctx, &L->wqkv, ctx->xb, n, ctx->dn_mixed, err)) != LC_OK ||
        (st = mm(ctx, &L->ssm_z, ctx->xb, n, ctx->dn_z, err)) != LC_OK ||
        (st = mm(ctx, &L->ssm_ba, ctx->xb, n, ctx->dn_ba, err)) != LC_OK)
        return st;
    /* ssm_ba keeps transformers' grouping: per key head g, the b of its R
     * value heads, then their a */
    for (int64_t t = 0; t < n; t++) {
        const float *ba = ctx->dn_ba + t * 2 * HV;
        for (int32_t g = 0; g < HK; g++)
            for (int32_t j = 0; j < R; j++) {
                ctx->dn_b[t * HV + g * R + j] = ba[g * 2 * R + j];
                ctx->dn_a[t * HV + g * R + j] = ba[g * 2 * R + R + j];
            }
    }
    return LC_OK;
}

static lc_status deltanet_block(lc_context *ctx, const lc_layer_weights *L, int32_t l, int64_t n, int64_t r0,
                                lc_error *err) {
    const lc_family *f = &ctx->model->cfg.fam;
    const int64_t VD = (int64_t)f->ssm_n_v_heads * f->ssm_d_v;
    lc_status st = deltanet_in(ctx, L, n, err);
    if (st != LC_OK) return st;
    const double t0 = lc_time_now();
    st = lc_deltanet_layer_forward(&ctx->dn_layer[l], &ctx->dn_params, ctx->dn[l], n, ctx->dn_mixed, 0, ctx->dn_z,
                                   ctx->dn_b, ctx->dn_a, ctx->dn_out, ctx->dn_ws, ctx->dn_ws_bytes, err);
    ctx->tm.t_attn += lc_time_now() - t0;
    if (st != LC_OK) return st;
    return mm(ctx, &L->ssm_out, ctx->dn_out + r0 * VD, n - r0, ctx->xb, err);
}

/* The feed-forward block of m rows: ctx->xb (normed) -> ctx->xb (Wdown out). */
static lc_status feed_forward(lc_context *ctx, const lc_layer_weights *L, int64_t m, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    const lc_family *f = &ctx->model->cfg.fam;
    const lc_kernel_opts *ko = &ctx->kopts;
    const int64_t F = sh->hidden;
    lc_status st;
    if (f->flags & LC_ARCH_MOE) {
        const int32_t l = (int32_t)(L - ctx->model->w.layers);
        const double t0 = lc_time_now();
        /* a batch of sequences: each row its own block call, so that every
         * row gets what a one-token step computes (its own experts anyway) */
        const int64_t step = ctx->rows_exact ? 1 : m;
        st = LC_OK;
        for (int64_t i = 0; i < m && st == LC_OK; i += step)
            st = lc_moe_forward(&ctx->moe[l], step, ctx->xb + i * sh->dim, ctx->moe_y + i * sh->dim, ctx->moe_ws,
                                ctx->moe_ws_bytes, ko, err);
        ctx->tm.t_matmul += lc_time_now() - t0;
        if (st == LC_OK) memcpy(ctx->xb, ctx->moe_y, (size_t)(m * sh->dim) * sizeof(float));
        return st;
    }
    if (f->flags & LC_ARCH_FUSED_GATE_UP) {
        /* hb2 rows: [gate | up] of 2F; hb rows: act(gate) * up of F */
        if ((st = mm(ctx, &L->w_up, ctx->xb, m, ctx->hb2, err)) != LC_OK) return st;
        for (int64_t i = 0; i < m; i++) {
            const float *g = ctx->hb2 + i * 2 * F;
            if (f->act == LC_ACT_GELU_TANH) lc_geglu_tanh(ctx->hb + i * F, g, g + F, F, ko);
            else lc_swiglu(ctx->hb + i * F, g, g + F, F, ko);
        }
    } else {
        const lc_matmul_part parts[2] = {{&L->w_gate, ctx->hb}, {&L->w_up, ctx->hb2}};
        if ((st = mm_multi(ctx, parts, 2, ctx->xb, m, err)) != LC_OK) return st;
        if (f->act == LC_ACT_GELU_TANH) lc_geglu_tanh(ctx->hb, ctx->hb, ctx->hb2, m * F, ko);
        else lc_swiglu(ctx->hb, ctx->hb, ctx->hb2, m * F, ko);
    }
    return mm(ctx, &L->w_down, ctx->hb, m, ctx->xb, err);
}

/* x rows [n] = tok_embd[tokens] (any stored type), times the family's scale. */
static void embed(lc_context *ctx, const int32_t *tokens, int64_t n) {
    const lc_model_weights *w = &ctx->model->w;
    const lc_family *f = &ctx->model->cfg.fam;
    const int64_t D = ctx->sh.dim;
    size_t erb = 0;
    lc_dtype_row_bytes(w->tok_embd.type, D, &erb, NULL);
    for (int64_t i = 0; i < n; i++)
        lc_kernel_to_f32(w->tok_embd.type, (const char *)w->tok_embd.data + (size_t)tokens[i] * erb, ctx->x + i * D, D,
                         &ctx->kopts);
    if (f->embd_scale != 0.0f && f->embd_scale != 1.0f)
        for (int64_t i = 0; i < n * D; i++) ctx->x[i] *= f->embd_scale;
}

/* The rest of layer l once its token mixer has written m rows into ctx->xb:
 * output bias, post-norm and residual into xr (the rows' residual stream),
 * then the feed-forward block the same way. t_l0: when the layer began. */
static lc_status layer_tail(lc_context *ctx, const lc_layer_weights *L, int32_t l, int64_t m, float *xr, double t_l0,
                            lc_error *err) {
    const lc_family *f = &ctx->model->cfg.fam;
    const lc_kernel_opts *ko = &ctx->kopts;
    const int64_t D = ctx->sh.dim;
    const int kind = ctx->layer_kind[l];
    if (f->flags & LC_ARCH_O_BIAS) add_bias(ctx->xb, &L->bo, m, D, ko);
    if (f->flags & LC_ARCH_POST_NORMS)
        lc_rmsnorm(ctx->xb, ctx->xb, (const float *)L->post_attn_norm.data, m, D, ctx->norm_eps, ko);
    lc_add(xr, ctx->xb, m * D, ko);
    const double t_l1 = lc_time_now();
    ctx->tm.t_mixer[kind] += t_l1 - t_l0;
    lc_rmsnorm(ctx->xb, xr, ctx->norms + (2 * l + 1) * D, m, D, ctx->norm_eps, ko);
    lc_status st = feed_forward(ctx, L, m, err);
    if (st != LC_OK) return st;
    if (f->flags & LC_ARCH_POST_NORMS)
        lc_rmsnorm(ctx->xb, ctx->xb, (const float *)L->post_ffn_norm.data, m, D, ctx->norm_eps, ko);
    lc_add(xr, ctx->xb, m * D, ko);
    ctx->tm.t_layer[kind] += lc_time_now() - t_l0;
    return LC_OK;
}

/* The logits [n, vocab] of residual rows x [n, dim] into out. */
static lc_status out_logits(lc_context *ctx, const float *x, int64_t n, float *out, lc_error *err) {
    const lc_family *f = &ctx->model->cfg.fam;
    lc_rmsnorm(ctx->xb, x, ctx->norms + 2 * ctx->sh.n_layers * ctx->sh.dim, n, ctx->sh.dim, ctx->norm_eps,
               &ctx->kopts);
    lc_status st = mm(ctx, &ctx->model->w.output, ctx->xb, n, out, err);
    if (st == LC_OK && f->final_softcap > 0.0f) softcap(out, n * ctx->sh.vocab, f->final_softcap);
    return st;
}

/* Runs tokens [n] through the model, RoPE rotating them at positions p0..
 * (the cache's reserved slots take their keys and values).
 * logits_all: [n, vocab] output, or NULL for the last token into ctx->logits.
 * The family's switches (lc_model_config.fam) pick the optional steps. */
static lc_status forward_chunk(lc_context *ctx, const int32_t *tokens, int64_t n, int64_t p0, float *logits_all,
                               lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    const lc_model_weights *w = &ctx->model->w;
    const int64_t D = sh->dim;
    lc_status st = LC_OK;
#define TRY(x)                                                                                                        \
    do {                                                                                                              \
        if ((st = (x)) != LC_OK) return st;                                                                           \
    } while (0)

    embed(ctx, tokens, n);
    if (ctx->rope_cfg.scaling == LC_ROPE_SCALING_DYNAMIC_NTK) TRY(lc_rope_cache_set_length(ctx->rope, p0 + n, err));

    /* Rows r0..n-1 go through each layer. Every row's K and V are needed, but
     * past the last layer's K/V only the rows whose logits are asked for: in
     * the last layer, without logits_all, the queries, attention, Wo and FFN
     * run for the last token only (as llama.cpp skips unused outputs). */
    int64_t r0 = 0;
    for (int32_t l = 0; l < sh->n_layers; l++) {
        const lc_layer_weights *L = &w->layers[l];
        if (l == sh->n_layers - 1 && !logits_all) r0 = n - 1;
        const int64_t m = n - r0; /* rows carried on */
        const double t_l0 = lc_time_now();
        /* attention block */
        lc_rmsnorm(ctx->xb, ctx->x, ctx->norms + (2 * l) * D, n, D, ctx->norm_eps, &ctx->kopts);
        if (ctx->layer_kind[l] == LC_LAYER_DELTANET) {
            TRY(deltanet_block(ctx, L, l, n, r0, err));
        } else {
            TRY(project_qkv(ctx, L, n, r0, err));
            TRY(rope_qk(ctx, l, ctx->q, m, p0 + r0, ctx->k, n, p0, err));
            TRY(mix_attention(ctx, l, n, r0, p0, err));
            TRY(attn_out(ctx, L, m, err));
        }
        TRY(layer_tail(ctx, L, l, m, ctx->x + r0 * D, t_l0, err));
        if (ctx->pause && n > 1 && l + 1 < sh->n_layers) ctx->pause(ctx->pause_user);
    }

    if (logits_all) {
        TRY(out_logits(ctx, ctx->x, n, logits_all, err));
        memcpy(ctx->logits, logits_all + (n - 1) * sh->vocab, (size_t)sh->vocab * sizeof(float));
    } else {
        TRY(out_logits(ctx, ctx->x + (n - 1) * D, 1, ctx->logits, err));
    }
    ctx->tm.bytes_weights += ctx->weight_bytes_per_pass;
    return LC_OK;
}

lc_status lc_rt_forward_batch(lc_context *ws, lc_context *const *seqs, const int32_t *tokens, const int64_t *pos,
                              int64_t n, float *logits, lc_error *err) {
    const lc_rt_shape *sh = &ws->sh;
    const lc_model_weights *w = &ws->model->w;
    const lc_family *f = &ws->model->cfg.fam;
    const int64_t D = sh->dim, Q = sh->q_dim, KV = sh->kv_dim;
    lc_status st = LC_OK;

    embed(ws, tokens, n);
    for (int64_t i = 0; i < n; i++)
        if (seqs[i]->rope_cfg.scaling == LC_ROPE_SCALING_DYNAMIC_NTK)
            TRY(lc_rope_cache_set_length(seqs[i]->rope, pos[i] + 1, err));

    for (int32_t l = 0; l < sh->n_layers; l++) {
        const lc_layer_weights *L = &w->layers[l];
        const double t_l0 = lc_time_now();
        lc_rmsnorm(ws->xb, ws->x, ws->norms + (2 * l) * D, n, D, ws->norm_eps, &ws->kopts);
        if (ws->layer_kind[l] == LC_LAYER_DELTANET) {
            /* projections for every row at once; each sequence's recurrent
             * state takes its own row (the one-token form) */
            const int64_t C = L->wqkv.rows, VD = (int64_t)f->ssm_n_v_heads * f->ssm_d_v, HV = f->ssm_n_v_heads;
            TRY(deltanet_in(ws, L, n, err));
            for (int64_t i = 0; i < n; i++) {
                lc_context *c = seqs[i];
                const double t0 = lc_time_now();
                st = lc_deltanet_layer_forward(&c->dn_layer[l], &c->dn_params, c->dn[l], 1, ws->dn_mixed + i * C, 0,
                                               ws->dn_z + i * VD, ws->dn_b + i * HV, ws->dn_a + i * HV,
                                               ws->dn_out + i * VD, c->dn_ws, c->dn_ws_bytes, err);
                c->tm.t_attn += lc_time_now() - t0;
                if (st != LC_OK) return st;
            }
            TRY(mm(ws, &L->ssm_out, ws->dn_out, n, ws->xb, err));
        } else {
            /* projections for every row at once; RoPE at each sequence's
             * position, then its keys/values into its own cache and its
             * query over it, in that sequence's buffers */
            TRY(project_qkv(ws, L, n, 0, err));
            for (int64_t i = 0; i < n; i++) {
                lc_context *c = seqs[i];
                TRY(rope_qk(c, l, ws->q + i * Q, 1, pos[i], ws->k + i * KV, 1, pos[i], err));
                memcpy(c->q, ws->q + i * Q, (size_t)Q * sizeof(float));
                memcpy(c->k, ws->k + i * KV, (size_t)KV * sizeof(float));
                memcpy(c->v, ws->v + i * KV, (size_t)KV * sizeof(float));
                TRY(mix_attention(c, l, 1, 0, pos[i], err));
                memcpy(ws->att + i * Q, c->att, (size_t)Q * sizeof(float));
            }
            TRY(attn_out(ws, L, n, err));
        }
        TRY(layer_tail(ws, L, l, n, ws->x, t_l0, err));
    }
    TRY(out_logits(ws, ws->x, n, logits, err));
#undef TRY
    ws->tm.bytes_weights += ws->weight_bytes_per_pass;
    return LC_OK;
}

void lc_rt_eval_failed(lc_context *ctx, int64_t n_past) {
    /* FULL: roll the cache back to where the call found it. The other
     * policies may have evicted or shifted already: they start over. */
    if (ctx->n_dn_layers) {
        /* the DeltaNet states took part of the call: start over */
        lc_kv_cache_abort(&ctx->kv);
        lc_context_reset(ctx);
    } else if (!ctx->linear) {
        lc_kv_cache_abort(&ctx->kv);
        if (ctx->kv.policy == LC_KV_POLICY_FULL) lc_kv_cache_truncate(&ctx->kv, n_past);
        else lc_kv_cache_clear(&ctx->kv);
        /* the chunk overwrote ring slots older than any query needs */
        if (ctx->wring.n_layers &&
            (ctx->kv.policy != LC_KV_POLICY_FULL || !lc_kv_wring_truncate(&ctx->wring, n_past)))
            lc_kv_wring_clear(&ctx->wring);
    }
    ctx->have_logits = false;
}

lc_status lc_rt_reserve(lc_context *ctx, const int32_t *tokens, int64_t n, lc_error *err) {
    const int64_t base0 = ctx->kv.base, disc0 = ctx->kv.n_discarded;
    lc_status st = lc_kv_cache_reserve(&ctx->kv, tokens, n, err);
    const lc_rope_cache *wrope = ctx->rope_window ? ctx->rope_window : ctx->rope;
    if (st == LC_OK && ctx->kv.base != base0 && ctx->wring.n_layers) /* the main ring rebased */
        lc_kv_wring_rebase(&ctx->wring, &ctx->kv, wrope, base0 - ctx->kv.base);
    if (st == LC_OK && ctx->kv.n_discarded != disc0 && ctx->wring.n_layers) /* the cache shifted */
        lc_kv_wring_shift(&ctx->wring, &ctx->kv, wrope, ctx->kv.n_keep, ctx->kv.n_discarded - disc0);
    return st;
}

lc_status lc_context_eval(lc_context *ctx, const int32_t *tokens, int64_t n, float *logits, bool all, lc_error *err) {
    if (!ctx || !tokens || n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no tokens");
    if (all && !logits) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: all logits asked for without a buffer");
    const lc_rt_shape *sh = &ctx->sh;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= sh->vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval: token %d (at %lld) is outside the vocabulary (0..%d)",
                           tokens[i], (long long)i, sh->vocab - 1);
    if (ctx->kv.n_layers > 0 && !ctx->kv.k && !ctx->linear && !ctx->attn_hook)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "eval: the context keeps no KV cache (kv_external) and has no attention hook");
    const int64_t n_past = lc_context_n_past(ctx);
    if (ctx->linear ? n > sh->n_ctx - n_past : !lc_kv_cache_has_room(&ctx->kv, n))
        return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld held, %lld more requested)",
                       (long long)sh->n_ctx, (long long)n_past, (long long)n);

    const double t_start = lc_time_now(), mm0 = ctx->tm.t_matmul, at0 = ctx->tm.t_attn;
    lc_status st = LC_OK;
    for (int64_t c0 = 0; c0 < n && st == LC_OK; c0 += sh->n_batch) {
        const int64_t nb = LC_MIN(sh->n_batch, n - c0);
        float *lg = all ? logits + c0 * sh->vocab : NULL;
        if (ctx->linear) {
            st = forward_chunk(ctx, tokens + c0, nb, ctx->n_past_linear, lg, err);
            if (st == LC_OK) ctx->n_past_linear += nb;
        } else {
            st = lc_rt_reserve(ctx, tokens + c0, nb, err);
            if (st == LC_OK) st = forward_chunk(ctx, tokens + c0, nb, lc_kv_cache_rot_pos0(&ctx->kv), lg, err);
            if (st == LC_OK) lc_kv_cache_commit(&ctx->kv);
        }
        ctx->tm.n_forward++;
    }
    if (st != LC_OK) {
        lc_rt_eval_failed(ctx, n_past);
    } else {
        ctx->tm.n_tokens += n;
        ctx->have_logits = true;
        if (logits && !all) memcpy(logits, ctx->logits, (size_t)sh->vocab * sizeof(float));
    }
    const double dt = lc_time_now() - t_start;
    ctx->tm.t_other += dt - (ctx->tm.t_matmul - mm0) - (ctx->tm.t_attn - at0);
    return st;
}

lc_status lc_context_eval_at(lc_context *ctx, const int32_t *tokens, int64_t n, int64_t pos0, float *logits, bool all,
                             lc_error *err) {
    if (!ctx || !tokens || n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval at: no tokens");
    if (!ctx->attn_hook) return lc_fail(err, LC_ERR_UNSUPPORTED, "eval at: the context has no attention hook");
    if (all && !logits) return lc_fail(err, LC_ERR_INVALID_ARG, "eval at: all logits asked for without a buffer");
    const lc_rt_shape *sh = &ctx->sh;
    if (n > sh->n_batch)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval at: %lld tokens exceed the batch (%lld)", (long long)n,
                       (long long)sh->n_batch);
    if (pos0 < 0 || pos0 > sh->n_ctx - n)
        return lc_fail(err, LC_ERR_TOO_LARGE, "eval at: positions %lld..%lld outside the context (%lld)",
                       (long long)pos0, (long long)(pos0 + n - 1), (long long)sh->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= sh->vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval at: token %d (at %lld) is outside the vocabulary (0..%d)",
                           tokens[i], (long long)i, sh->vocab - 1);
    const double t_start = lc_time_now(), mm0 = ctx->tm.t_matmul, at0 = ctx->tm.t_attn;
    ctx->have_logits = false; /* ctx->logits now holds this block's */
    lc_status st = forward_chunk(ctx, tokens, n, pos0, all ? logits : NULL, err);
    ctx->tm.n_forward++;
    if (st == LC_OK) {
        ctx->tm.n_tokens += n;
        if (logits && !all) memcpy(logits, ctx->logits, (size_t)sh->vocab * sizeof(float));
    }
    const double dt = lc_time_now() - t_start;
    ctx->tm.t_other += dt - (ctx->tm.t_matmul - mm0) - (ctx->tm.t_attn - at0);
    return st;
}

lc_status lc_context_append_evaluated(lc_context *ctx, const int32_t *tokens, int64_t n, const float *last_logits,
                                      lc_error *err) {
    if (!ctx || (n > 0 && !tokens) || n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "append evaluated: no tokens");
    if (!ctx->attn_hook) return lc_fail(err, LC_ERR_UNSUPPORTED, "append evaluated: the context has no attention hook");
    const lc_rt_shape *sh = &ctx->sh;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= sh->vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "append evaluated: token %d is outside the vocabulary", tokens[i]);
    if (!lc_kv_cache_has_room(&ctx->kv, n))
        return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld held, %lld more requested)",
                       (long long)sh->n_ctx, (long long)lc_context_n_past(ctx), (long long)n);
    for (int64_t c0 = 0; c0 < n; c0 += sh->n_batch) {
        const int64_t nb = LC_MIN(sh->n_batch, n - c0);
        lc_status st = lc_kv_cache_reserve(&ctx->kv, tokens + c0, nb, err);
        if (st != LC_OK) return st;
        lc_kv_cache_commit(&ctx->kv);
    }
    ctx->have_logits = last_logits != NULL;
    if (last_logits) memcpy(ctx->logits, last_logits, (size_t)sh->vocab * sizeof(float));
    return LC_OK;
}
