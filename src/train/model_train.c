/*
 * Forward and backward of the whole model over one (B, T) batch, reading
 * top to bottom like the math (see include/longctx/train.h). The batch is
 * already in acts.inputs / targets / weights; N = B*T rows.
 */
#include <string.h>

#include "train/trainer_internal.h"

#define TRY(call)                              \
    do {                                       \
        lc_status st_ = (call);                \
        if (st_ != LC_OK) return st_;          \
    } while (0)

static lc_status attention_forward(lc_trainer *t, lc_tr_layer_acts *la, lc_error *err) {
    const lc_tr_attn_shape *s = &t->ashape;
    if (t->linear)
        return lc_tr_linear_forward(s, t->cfg.linear_chunk, la->q, la->k, la->v, la->att, la->att_aux, t->attn_ws,
                                    t->attn_ws_bytes, t->n_threads, err);
    if (t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE)
        return lc_tr_attn_naive_forward(s, la->q, la->k, la->v, la->att, la->att_aux, t->attn_ws, t->attn_ws_bytes,
                                        t->n_threads, err);
    return lc_tr_attn_flash_forward(s, &t->fwd, la->q, la->k, la->v, la->att, la->att_aux, t->fwd_ws, t->fwd_ws_bytes,
                                    err);
}

static lc_status attention_backward(lc_trainer *t, const lc_tr_layer_acts *la, lc_error *err) {
    const lc_tr_attn_shape *s = &t->ashape;
    lc_tr_acts *a = &t->acts;
    if (t->linear)
        return lc_tr_linear_backward(s, t->cfg.linear_chunk, la->q, la->k, la->v, la->att, la->att_aux, a->datt, a->dq,
                                     a->dk, a->dv, t->attn_ws, t->attn_ws_bytes, t->n_threads, err);
    if (t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE)
        return lc_tr_attn_naive_backward(s, la->q, la->k, la->v, la->att_aux, a->datt, a->dq, a->dk, a->dv, t->attn_ws,
                                         t->attn_ws_bytes, t->n_threads, err);
    return lc_tr_attn_flash_backward(s, la->q, la->k, la->v, la->att, la->att_aux, a->datt, a->dq, a->dk, a->dv,
                                     t->attn_ws, t->attn_ws_bytes, t->n_threads, err);
}

lc_status lc_tr_forward(lc_trainer *t, bool want_grad, double *loss, double *weight_sum, lc_error *err) {
    const lc_model_config *m = &t->mcfg;
    lc_tr_acts *a = &t->acts;
    const int64_t B = t->cfg.batch, T = t->cfg.ctx, N = B * T;
    const int32_t C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim, kvd = (int64_t)m->n_kv_heads * m->head_dim;
    const int nt = t->n_threads;
    const lc_tr_exec *ex = &t->ex;
    float *P = t->params;

    lc_tr_embed_forward(a->res[0], a->inputs, lc_tr_p(t, P, t->t_embd), N, C);
    for (int64_t l = 0; l < m->n_layers; l++) {
        lc_tr_layer_acts *la = &a->layer[l];
        const float *x = a->res[l];
        /* attention block */
        lc_tr_rmsnorm_forward(la->ln1, la->rstd1, x, lc_tr_p(t, P, lc_tr_lt(t, l, LT_ATTN_NORM)), N, C, m->norm_eps, nt);
        TRY(lc_tr_matmul_forward(la->q, la->ln1, lc_tr_p(t, P, lc_tr_lt(t, l, LT_WQ)), N, C, qd, false, ex, err));
        TRY(lc_tr_matmul_forward(la->k, la->ln1, lc_tr_p(t, P, lc_tr_lt(t, l, LT_WK)), N, C, kvd, false, ex, err));
        TRY(lc_tr_matmul_forward(la->v, la->ln1, lc_tr_p(t, P, lc_tr_lt(t, l, LT_WV)), N, C, kvd, false, ex, err));
        TRY(lc_tr_rope_forward(t->rope, la->q, B, T, m->n_heads, m->head_dim, nt, err));
        TRY(lc_tr_rope_forward(t->rope, la->k, B, T, m->n_kv_heads, m->head_dim, nt, err));
        TRY(attention_forward(t, la, err));
        memcpy(la->res_mid, x, (size_t)N * (size_t)C * sizeof(float));
        TRY(lc_tr_matmul_forward(la->res_mid, la->att, lc_tr_p(t, P, lc_tr_lt(t, l, LT_WO)), N, qd, C, true, ex, err));
        /* feed-forward block */
        lc_tr_rmsnorm_forward(la->ln2, la->rstd2, la->res_mid, lc_tr_p(t, P, lc_tr_lt(t, l, LT_FFN_NORM)), N, C,
                              m->norm_eps, nt);
        TRY(lc_tr_matmul_forward(la->gate, la->ln2, lc_tr_p(t, P, lc_tr_lt(t, l, LT_GATE)), N, C, HD, false, ex, err));
        TRY(lc_tr_matmul_forward(la->up, la->ln2, lc_tr_p(t, P, lc_tr_lt(t, l, LT_UP)), N, C, HD, false, ex, err));
        lc_tr_swiglu_forward(la->hid, la->gate, la->up, N * HD, nt);
        memcpy(a->res[l + 1], la->res_mid, (size_t)N * (size_t)C * sizeof(float));
        TRY(lc_tr_matmul_forward(a->res[l + 1], la->hid, lc_tr_p(t, P, lc_tr_lt(t, l, LT_DOWN)), N, HD, C, true, ex,
                                 err));
    }
    lc_tr_rmsnorm_forward(a->lnf, a->rstdf, a->res[m->n_layers], lc_tr_p(t, P, t->t_out_norm), N, C, m->norm_eps, nt);
    TRY(lc_tr_matmul_forward(a->logits, a->lnf, lc_tr_p(t, P, t->t_out), N, C, V, false, ex, err));

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
    const int64_t B = t->cfg.batch, T = t->cfg.ctx, N = B * T;
    const int32_t C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim, kvd = (int64_t)m->n_kv_heads * m->head_dim;
    const int nt = t->n_threads;
    const lc_tr_exec *ex = &t->ex;
    float *P = t->params, *G = t->grads;

    memset(G, 0, t->n_floats * sizeof(float));
    /* classifier and final norm: logits now hold dlogits */
    TRY(lc_tr_matmul_backward(a->dln, lc_tr_p(t, G, t->t_out), a->logits, a->lnf, lc_tr_p(t, P, t->t_out), N, C, V,
                              false, ex, err));
    memset(a->dres, 0, (size_t)N * (size_t)C * sizeof(float));
    lc_tr_rmsnorm_backward(a->dres, lc_tr_p(t, G, t->t_out_norm), a->dln, a->res[m->n_layers],
                           lc_tr_p(t, P, t->t_out_norm), a->rstdf, N, C, nt);
    for (int64_t l = m->n_layers - 1; l >= 0; l--) {
        const lc_tr_layer_acts *la = &a->layer[l];
#define W(which) lc_tr_p(t, P, lc_tr_lt(t, l, which))
#define DW(which) lc_tr_p(t, G, lc_tr_lt(t, l, which))
        /* feed-forward block: dres is dL/d(res[l+1]) and flows to res_mid as is */
        TRY(lc_tr_matmul_backward(a->dhid, DW(LT_DOWN), a->dres, la->hid, W(LT_DOWN), N, HD, C, false, ex, err));
        lc_tr_swiglu_backward(a->dhid, a->dup, a->dhid, la->gate, la->up, N * HD, nt); /* dhid becomes dgate */
        TRY(lc_tr_matmul_backward(a->dln, DW(LT_GATE), a->dhid, la->ln2, W(LT_GATE), N, C, HD, false, ex, err));
        TRY(lc_tr_matmul_backward(a->dln, DW(LT_UP), a->dup, la->ln2, W(LT_UP), N, C, HD, true, ex, err));
        lc_tr_rmsnorm_backward(a->dres, DW(LT_FFN_NORM), a->dln, la->res_mid, W(LT_FFN_NORM), la->rstd2, N, C, nt);
        /* attention block: dres is now dL/d(res_mid) */
        TRY(lc_tr_matmul_backward(a->datt, DW(LT_WO), a->dres, la->att, W(LT_WO), N, qd, C, false, ex, err));
        TRY(attention_backward(t, la, err));
        TRY(lc_tr_rope_backward(t->rope, a->dq, B, T, m->n_heads, m->head_dim, nt, err));
        TRY(lc_tr_rope_backward(t->rope, a->dk, B, T, m->n_kv_heads, m->head_dim, nt, err));
        TRY(lc_tr_matmul_backward(a->dln, DW(LT_WQ), a->dq, la->ln1, W(LT_WQ), N, C, qd, false, ex, err));
        TRY(lc_tr_matmul_backward(a->dln, DW(LT_WK), a->dk, la->ln1, W(LT_WK), N, C, kvd, true, ex, err));
        TRY(lc_tr_matmul_backward(a->dln, DW(LT_WV), a->dv, la->ln1, W(LT_WV), N, C, kvd, true, ex, err));
        lc_tr_rmsnorm_backward(a->dres, DW(LT_ATTN_NORM), a->dln, a->res[l], W(LT_ATTN_NORM), la->rstd1, N, C, nt);
#undef W
#undef DW
    }
    lc_tr_embed_backward(lc_tr_p(t, G, t->t_embd), a->dres, a->inputs, N, C, nt);
    return LC_OK;
}
