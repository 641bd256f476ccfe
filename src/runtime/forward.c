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
 */
#include <math.h>
#include <string.h>

#include "runtime/runtime_internal.h"

static lc_status mm(lc_context *ctx, const lc_tensor *w, const float *x, int64_t n, float *y, lc_error *err) {
    double t0 = lc_time_now();
    lc_status st = lc_matmul(w, x, n, y, ctx->mm_ws, ctx->mm_ws_bytes, &ctx->kopts, err);
    ctx->tm.t_matmul += lc_time_now() - t0;
    ctx->tm.flops_matmul += lc_matmul_flops(w, n);
    return st;
}

/* Softmax attention over the layer's cache slots 0 .. slot0+n-1 (the chunk's
 * own keys included) for the chunk's queries r0 .. n-1 (q rows 0.., att rows
 * 0..; positions p0+r0 ..). */
static lc_status attend_cache(lc_context *ctx, int32_t layer, int64_t n, int64_t r0, int64_t p0, lc_error *err) {
    lc_kv_view view;
    lc_kv_cache_view(&ctx->kv, layer, n, &view);
    lc_attn_shape s = lc_rt_attn_shape(ctx, n - r0, view.n_kv);
    s.q_pos0 = p0 + r0;
    s.k_pos = view.k_pos;
    /* lc_attn_forward checks the workspace against what this shape needs (the
     * context sized it for the largest chunk shapes) and refuses rather than
     * overrun. */
    lc_attn_io io = {ctx->q, view.k, view.v, ctx->att, NULL};
    double t0 = lc_time_now();
    lc_status st = lc_attn_forward(&s, &ctx->attn, &io, ctx->attn_ws, ctx->attn_ws_bytes, err);
    ctx->tm.t_attn += lc_time_now() - t0;
    ctx->tm.flops_attn += lc_attn_flops(&s, &ctx->attn);
    ctx->tm.bytes_kv += (double)view.n_kv * (double)(ctx->kv.k_row_bytes + ctx->kv.v_row_bytes);
    return st;
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

/* Runs tokens [n] at positions p0.. (cache slots slot0..) through the model.
 * logits_all: [n, vocab] output, or NULL for the last token into ctx->logits. */
static lc_status forward_chunk(lc_context *ctx, const int32_t *tokens, int64_t n, int64_t p0, int64_t slot0,
                               float *logits_all, lc_error *err) {
    const lc_rt_shape *sh = &ctx->sh;
    const lc_model_weights *w = &ctx->model->w;
    const int64_t D = sh->dim, F = sh->hidden;
    const lc_kernel_opts *ko = &ctx->kopts;
    lc_status st = LC_OK;
#define TRY(x)                                                                                                        \
    do {                                                                                                              \
        if ((st = (x)) != LC_OK) return st;                                                                           \
    } while (0)

    /* x = tok_embd[tokens] (any stored type) */
    size_t erb = 0;
    lc_dtype_row_bytes(w->tok_embd.type, D, &erb, NULL);
    for (int64_t i = 0; i < n; i++)
        lc_kernel_to_f32(w->tok_embd.type, (const char *)w->tok_embd.data + (size_t)tokens[i] * erb, ctx->x + i * D, D,
                         ko);
    if (ctx->rope_cfg.scaling == LC_ROPE_SCALING_DYNAMIC_NTK) TRY(lc_rope_cache_set_length(ctx->rope, p0 + n, err));

    /* Rows r0..n-1 go through each layer. Every row's K and V are needed, but
     * past the last layer's K/V only the rows whose logits are asked for: in
     * the last layer, without logits_all, the queries, attention, Wo and FFN
     * run for the last token only (as llama.cpp skips unused outputs). */
    int64_t r0 = 0;
    for (int32_t l = 0; l < sh->n_layers; l++) {
        const lc_layer_weights *L = &w->layers[l];
        if (l == sh->n_layers - 1 && !logits_all) r0 = n - 1;
        const int64_t m = n - r0;         /* rows carried on */
        float *xr = ctx->x + r0 * D;      /* their residual stream */
        float *xbr = ctx->xb + r0 * D;    /* their normed input */
        /* attention block */
        lc_rmsnorm(ctx->xb, ctx->x, ctx->norms + (2 * l) * D, n, D, ctx->norm_eps, ko);
        TRY(mm(ctx, &L->wq, xbr, m, ctx->q, err));
        TRY(mm(ctx, &L->wk, ctx->xb, n, ctx->k, err));
        TRY(mm(ctx, &L->wv, ctx->xb, n, ctx->v, err));
        TRY(lc_rope_apply_seq(ctx->rope, ctx->q, m, sh->n_heads, sh->head_dim, p0 + r0));
        TRY(lc_rope_apply_seq(ctx->rope, ctx->k, n, sh->n_kv_heads, sh->head_dim, p0));
        if (ctx->linear) {
            TRY(attend_linear(ctx, l, n, r0, err));
        } else {
            lc_kv_cache_store(&ctx->kv, l, slot0, n, ctx->k, ctx->v, ko);
            TRY(attend_cache(ctx, l, n, r0, p0, err));
        }
        TRY(mm(ctx, &L->wo, ctx->att, m, ctx->xb, err));
        lc_add(xr, ctx->xb, m * D, ko);
        /* feed-forward block */
        lc_rmsnorm(ctx->xb, xr, ctx->norms + (2 * l + 1) * D, m, D, ctx->norm_eps, ko);
        TRY(mm(ctx, &L->w_gate, ctx->xb, m, ctx->hb, err));
        TRY(mm(ctx, &L->w_up, ctx->xb, m, ctx->hb2, err));
        lc_swiglu(ctx->hb, ctx->hb, ctx->hb2, m * F, ko);
        TRY(mm(ctx, &L->w_down, ctx->hb, m, ctx->xb, err));
        lc_add(xr, ctx->xb, m * D, ko);
    }

    const float *out_norm = ctx->norms + 2 * sh->n_layers * D;
    if (logits_all) {
        lc_rmsnorm(ctx->xb, ctx->x, out_norm, n, D, ctx->norm_eps, ko);
        TRY(mm(ctx, &w->output, ctx->xb, n, logits_all, err));
        memcpy(ctx->logits, logits_all + (n - 1) * sh->vocab, (size_t)sh->vocab * sizeof(float));
    } else {
        lc_rmsnorm(ctx->xb, ctx->x + (n - 1) * D, out_norm, 1, D, ctx->norm_eps, ko);
        TRY(mm(ctx, &w->output, ctx->xb, 1, ctx->logits, err));
    }
#undef TRY
    ctx->tm.bytes_weights += ctx->weight_bytes_per_pass;
    return LC_OK;
}

lc_status lc_context_eval(lc_context *ctx, const int32_t *tokens, int64_t n, float *logits, bool all, lc_error *err) {
    if (!ctx || !tokens || n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no tokens");
    if (all && !logits) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: all logits asked for without a buffer");
    const lc_rt_shape *sh = &ctx->sh;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= sh->vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval: token %d (at %lld) is outside the vocabulary (0..%d)",
                           tokens[i], (long long)i, sh->vocab - 1);
    const int64_t n_past = lc_context_n_past(ctx);
    if (n > sh->n_ctx - n_past)
        return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld held, %lld more requested)",
                       (long long)sh->n_ctx, (long long)n_past, (long long)n);

    const double t_start = lc_time_now(), mm0 = ctx->tm.t_matmul, at0 = ctx->tm.t_attn;
    lc_status st = LC_OK;
    for (int64_t c0 = 0; c0 < n && st == LC_OK; c0 += sh->n_batch) {
        const int64_t nb = LC_MIN(sh->n_batch, n - c0);
        float *lg = all ? logits + c0 * sh->vocab : NULL;
        if (ctx->linear) {
            st = forward_chunk(ctx, tokens + c0, nb, ctx->n_past_linear, 0, lg, err);
            if (st == LC_OK) ctx->n_past_linear += nb;
        } else {
            int64_t slot0 = 0;
            st = lc_kv_cache_reserve(&ctx->kv, nb, &slot0, err);
            if (st == LC_OK) st = forward_chunk(ctx, tokens + c0, nb, ctx->kv.next_pos, slot0, lg, err);
            if (st == LC_OK) lc_kv_cache_commit(&ctx->kv, nb);
        }
        ctx->tm.n_forward++;
    }
    if (st != LC_OK) {
        /* Roll the cache back to where the call found it. */
        if (!ctx->linear) lc_kv_cache_truncate(&ctx->kv, n_past);
        ctx->have_logits = false;
    } else {
        ctx->tm.n_tokens += n;
        ctx->have_logits = true;
        if (logits && !all) memcpy(logits, ctx->logits, (size_t)sh->vocab * sizeof(float));
    }
    const double dt = lc_time_now() - t_start;
    ctx->tm.t_other += dt - (ctx->tm.t_matmul - mm0) - (ctx->tm.t_attn - at0);
    return st;
}
