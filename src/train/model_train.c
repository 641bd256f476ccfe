/*
 * Forward and backward of the whole model over one (B, T) batch, reading
 * top to bottom like the math (see include/longctx/train.h). The batch is
 * already in acts.inputs / targets / weights; N = B*T rows.
 */
#include <string.h>

#include "train/trainer_internal.h"

#define TRY(call)                     \
    do {                              \
        lc_status st_ = (call);       \
        if (st_ != LC_OK) return st_; \
    } while (0)

/* out[N, o] (+)= x[N, in] W^T, timed as matmul. */
static lc_status linear_fwd(lc_trainer *t, float *out, const float *x, const float *w, int64_t in, int64_t o,
                            bool accumulate, lc_error *err) {
    const double t0 = lc_time_now();
    lc_status st = lc_tr_matmul_forward(out, x, w, t->cfg.batch * t->cfg.ctx, in, o, accumulate, &t->ex, err);
    t->t_matmul += lc_time_now() - t0;
    return st;
}

/* dx[N, in] (=, or += with accumulate) = dout W; dw += dout^T x; timed. */
static lc_status linear_bwd(lc_trainer *t, float *dx, float *dw, const float *dout, const float *x, const float *w,
                            int64_t in, int64_t o, bool accumulate, lc_error *err) {
    const double t0 = lc_time_now();
    lc_status st =
        lc_tr_matmul_backward(dx, dw, dout, x, w, t->cfg.batch * t->cfg.ctx, in, o, accumulate, &t->ex, err);
    t->t_matmul += lc_time_now() - t0;
    return st;
}

/* RoPE on q and k (forward) or on dq and dk (backward: the transpose). */
static lc_status rope_qk(lc_trainer *t, float *q, float *k, bool backward, lc_error *err) {
    const lc_model_config *m = &t->mcfg;
    const int64_t B = t->cfg.batch, T = t->cfg.ctx;
    if (backward) {
        TRY(lc_tr_rope_backward(t->rope, q, B, T, m->n_heads, m->head_dim, t->n_threads, err));
        return lc_tr_rope_backward(t->rope, k, B, T, m->n_kv_heads, m->head_dim, t->n_threads, err);
    }
    TRY(lc_tr_rope_forward(t->rope, q, B, T, m->n_heads, m->head_dim, t->n_threads, err));
    return lc_tr_rope_forward(t->rope, k, B, T, m->n_kv_heads, m->head_dim, t->n_threads, err);
}

static lc_status attention_forward(lc_trainer *t, lc_tr_layer_acts *la, lc_error *err) {
    const lc_tr_attn_shape *s = &t->ashape;
    void *ws = t->attn_ws;
    const size_t wb = t->attn_ws_bytes;
    const int nt = t->n_threads;
    const double t0 = lc_time_now();
    lc_status st = rope_qk(t, la->q, la->k, false, err);
    if (st == LC_OK) {
        if (t->linear)
            st = lc_tr_linear_forward(s, t->cfg.linear_chunk, la->q, la->k, la->v, la->att, la->att_aux, ws, wb, nt,
                                      t->ex.isa, err);
        else if (t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE)
            st = lc_tr_attn_naive_forward(s, la->q, la->k, la->v, la->att, la->att_aux, ws, wb, nt, t->ex.isa, err);
        else
            st = lc_tr_attn_flash_forward(s, &t->fwd, la->q, la->k, la->v, la->att, la->att_aux, t->fwd_ws,
                                          t->fwd_ws_bytes, err);
    }
    t->t_attn += lc_time_now() - t0;
    return st;
}

/* datt -> dq, dk, dv (RoPE transposed back onto dq, dk). */
static lc_status attention_backward(lc_trainer *t, const lc_tr_layer_acts *la, lc_error *err) {
    const lc_tr_attn_shape *s = &t->ashape;
    lc_tr_acts *a = &t->acts;
    void *ws = t->attn_ws;
    const size_t wb = t->attn_ws_bytes;
    const int nt = t->n_threads;
    const double t0 = lc_time_now();
    lc_status st;
    if (t->linear)
        st = lc_tr_linear_backward(s, t->cfg.linear_chunk, la->q, la->k, la->v, la->att, la->att_aux, a->datt, a->dq,
                                   a->dk, a->dv, ws, wb, nt, t->ex.isa, err);
    else if (t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE)
        st = lc_tr_attn_naive_backward(s, la->q, la->k, la->v, la->att_aux, a->datt, a->dq, a->dk, a->dv, ws, wb, nt,
                                       t->ex.isa, err);
    else
        st = lc_tr_attn_flash_backward(s, la->q, la->k, la->v, la->att, la->att_aux, a->datt, a->dq, a->dk, a->dv, ws,
                                       wb, nt, t->ex.isa, err);
    if (st == LC_OK) st = rope_qk(t, a->dq, a->dk, true, err);
    t->t_attn += lc_time_now() - t0;
    return st;
}

lc_status lc_tr_forward(lc_trainer *t, bool want_grad, double *loss, double *weight_sum, lc_error *err) {
    const lc_model_config *m = &t->mcfg;
    lc_tr_acts *a = &t->acts;
    const int64_t N = t->cfg.batch * t->cfg.ctx;
    const int32_t C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim, kvd = (int64_t)m->n_kv_heads * m->head_dim;
    const int nt = t->n_threads;
    const float eps = m->norm_eps;
    float *P = t->params;
    const size_t row_bytes = (size_t)N * (size_t)C * sizeof(float);

    lc_tr_embed_forward(a->res[0], a->inputs, lc_tr_p(t, P, t->t_embd), N, C);
    for (int64_t l = 0; l < m->n_layers; l++) {
#define W(which) lc_tr_p(t, P, lc_tr_lt(t, l, which))
        lc_tr_layer_acts *la = &a->layer[l];
        const float *x = a->res[l];
        /* attention block: res_mid = x + W_o attn(rope(W_q n(x)), rope(W_k n(x)), W_v n(x)) */
        lc_tr_rmsnorm_forward(la->ln1, la->rstd1, x, W(LT_ATTN_NORM), N, C, eps, nt);
        TRY(linear_fwd(t, la->q, la->ln1, W(LT_WQ), C, qd, false, err));
        TRY(linear_fwd(t, la->k, la->ln1, W(LT_WK), C, kvd, false, err));
        TRY(linear_fwd(t, la->v, la->ln1, W(LT_WV), C, kvd, false, err));
        TRY(attention_forward(t, la, err));
        memcpy(la->res_mid, x, row_bytes);
        TRY(linear_fwd(t, la->res_mid, la->att, W(LT_WO), qd, C, true, err));
        /* feed-forward block: res[l+1] = res_mid + W_down (silu(W_gate n'(res_mid)) * W_up n'(res_mid)) */
        lc_tr_rmsnorm_forward(la->ln2, la->rstd2, la->res_mid, W(LT_FFN_NORM), N, C, eps, nt);
        TRY(linear_fwd(t, la->gate, la->ln2, W(LT_GATE), C, HD, false, err));
        TRY(linear_fwd(t, la->up, la->ln2, W(LT_UP), C, HD, false, err));
        lc_tr_swiglu_forward(la->hid, la->gate, la->up, N * HD, nt);
        memcpy(a->res[l + 1], la->res_mid, row_bytes);
        TRY(linear_fwd(t, a->res[l + 1], la->hid, W(LT_DOWN), HD, C, true, err));
#undef W
    }
    lc_tr_rmsnorm_forward(a->lnf, a->rstdf, a->res[m->n_layers], lc_tr_p(t, P, t->t_out_norm), N, C, eps, nt);
    TRY(linear_fwd(t, a->logits, a->lnf, lc_tr_p(t, P, t->t_out), C, V, false, err));

    double wsum = 0.0;
    for (int64_t i = 0; i < N; i++) wsum += a->weights[i];
    const float inv = wsum > 0.0 ? (float)(1.0 / wsum) : 0.0f;
    double lsum = 0.0;
    lc_tr_xent_forward_backward(a->logits, a->losses, a->targets, a->weights, N, V, inv, want_grad, &lsum, nt);
    *loss = wsum > 0.0 ? lsum / wsum : 0.0;
    *weight_sum = wsum;
    return LC_OK;
}

lc_status lc_tr_backward(lc_trainer *t, lc_error *err) {
    const lc_model_config *m = &t->mcfg;
    lc_tr_acts *a = &t->acts;
    const int64_t N = t->cfg.batch * t->cfg.ctx;
    const int32_t C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim, kvd = (int64_t)m->n_kv_heads * m->head_dim;
    const int nt = t->n_threads;
    float *P = t->params, *G = t->grads;

    memset(G, 0, t->n_floats * sizeof(float));
    /* classifier and final norm (the logits buffer holds dL/dlogits now) */
    TRY(linear_bwd(t, a->dln, lc_tr_p(t, G, t->t_out), a->logits, a->lnf, lc_tr_p(t, P, t->t_out), C, V, false, err));
    memset(a->dres, 0, (size_t)N * (size_t)C * sizeof(float));
    lc_tr_rmsnorm_backward(a->dres, lc_tr_p(t, G, t->t_out_norm), a->dln, a->res[m->n_layers],
                           lc_tr_p(t, P, t->t_out_norm), a->rstdf, N, C, nt);
    for (int64_t l = m->n_layers - 1; l >= 0; l--) {
#define W(which) lc_tr_p(t, P, lc_tr_lt(t, l, which))
#define DW(which) lc_tr_p(t, G, lc_tr_lt(t, l, which))
        const lc_tr_layer_acts *la = &a->layer[l];
        /* feed-forward block: dres = dL/d(res[l+1]) flows to res_mid unchanged */
        TRY(linear_bwd(t, a->dhid, DW(LT_DOWN), a->dres, la->hid, W(LT_DOWN), HD, C, false, err));
        lc_tr_swiglu_backward(a->dhid, a->dup, a->dhid, la->gate, la->up, N * HD, nt); /* dhid becomes dgate */
        TRY(linear_bwd(t, a->dln, DW(LT_GATE), a->dhid, la->ln2, W(LT_GATE), C, HD, false, err));
        TRY(linear_bwd(t, a->dln, DW(LT_UP), a->dup, la->ln2, W(LT_UP), C, HD, true, err));
        lc_tr_rmsnorm_backward(a->dres, DW(LT_FFN_NORM), a->dln, la->res_mid, W(LT_FFN_NORM), la->rstd2, N, C, nt);
        /* attention block: dres = dL/d(res_mid) flows to the layer input unchanged */
        TRY(linear_bwd(t, a->datt, DW(LT_WO), a->dres, la->att, W(LT_WO), qd, C, false, err));
        TRY(attention_backward(t, la, err));
        TRY(linear_bwd(t, a->dln, DW(LT_WQ), a->dq, la->ln1, W(LT_WQ), C, qd, false, err));
        TRY(linear_bwd(t, a->dln, DW(LT_WK), a->dk, la->ln1, W(LT_WK), C, kvd, true, err));
        TRY(linear_bwd(t, a->dln, DW(LT_WV), a->dv, la->ln1, W(LT_WV), C, kvd, true, err));
        lc_tr_rmsnorm_backward(a->dres, DW(LT_ATTN_NORM), a->dln, a->res[l], W(LT_ATTN_NORM), la->rstd1, N, C, nt);
#undef W
#undef DW
    }
    lc_tr_embed_backward(lc_tr_p(t, G, t->t_embd), a->dres, a->inputs, N, C, nt);
    return LC_OK;
}
