/*
 * The activation slab of one (B, T) batch: every tensor the forward saves for
 * the backward, the batch itself (inputs, targets, weights), and the
 * gradient scratch the layers share. Carved in one pass; the same code sizes
 * it (base NULL) and assigns the pointers.
 *
 * What grows with T (per layer): everything is B*T*(something) except the
 * attention's saved state att_aux: lse or the linear normaliser, B*T*NH
 * floats, or (naive backward) P, B*NH*T*T floats.
 */
#include "train/trainer_internal.h"

void lc_tr_acts_carve(const lc_trainer *t, lc_tr_carver *cv, lc_tr_acts *a, size_t *attention_floats) {
    const lc_model_config *m = &t->mcfg;
    const size_t B = (size_t)t->cfg.batch, T = (size_t)t->cfg.ctx, N = B * T;
    const size_t C = (size_t)m->dim, HD = (size_t)m->hidden_dim, V = (size_t)m->vocab_size;
    const size_t NH = (size_t)m->n_heads, KV = (size_t)m->n_kv_heads, hd = (size_t)m->head_dim;
    const size_t L = (size_t)m->n_layers;
    const bool naive = !t->linear && t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE;
    /* attention's saved state per layer, in floats (checked product) */
    size_t aux = 0;
    if (naive) {
        if (!lc_mul3_size(B * NH, T, T, &aux)) cv->overflow = true;
    } else {
        aux = N * NH;
    }
    *attention_floats = 0;
    for (size_t l = 0; l < L; l++)
        if (!lc_add_size(*attention_floats, (aux + 15) / 16 * 16, attention_floats)) cv->overflow = true;

    /* a->res [L+1] and a->layer [L] are small arrays the caller allocated. */
    for (size_t l = 0; l <= L; l++) a->res[l] = lc_tr_carve(cv, N, C, 1);
    for (size_t l = 0; l < L; l++) {
        lc_tr_layer_acts la;
        la.ln1 = lc_tr_carve(cv, N, C, 1);
        la.rstd1 = lc_tr_carve(cv, N, 1, 1);
        la.q = lc_tr_carve(cv, N, NH, hd);
        la.k = lc_tr_carve(cv, N, KV, hd);
        la.v = lc_tr_carve(cv, N, KV, hd);
        la.att = lc_tr_carve(cv, N, NH, hd);
        la.att_aux = lc_tr_carve(cv, aux, 1, 1);
        la.res_mid = lc_tr_carve(cv, N, C, 1);
        la.ln2 = lc_tr_carve(cv, N, C, 1);
        la.rstd2 = lc_tr_carve(cv, N, 1, 1);
        la.gate = lc_tr_carve(cv, N, HD, 1);
        la.up = lc_tr_carve(cv, N, HD, 1);
        la.hid = lc_tr_carve(cv, N, HD, 1);
        a->layer[l] = la;
    }
    a->lnf = lc_tr_carve(cv, N, C, 1);
    a->rstdf = lc_tr_carve(cv, N, 1, 1);
    a->logits = lc_tr_carve(cv, N, V, 1);
    a->losses = lc_tr_carve(cv, N, 1, 1);
    a->inputs = (int32_t *)lc_tr_carve(cv, N, 1, 1); /* int32 in float-sized slots */
    a->targets = (int32_t *)lc_tr_carve(cv, N, 1, 1);
    a->weights = lc_tr_carve(cv, N, 1, 1);
    a->dres = lc_tr_carve(cv, N, C, 1);
    a->dln = lc_tr_carve(cv, N, C, 1);
    a->dq = lc_tr_carve(cv, N, NH, hd);
    a->dk = lc_tr_carve(cv, N, KV, hd);
    a->dv = lc_tr_carve(cv, N, KV, hd);
    a->datt = lc_tr_carve(cv, N, NH, hd);
    a->dhid = lc_tr_carve(cv, N, HD, 1);
    a->dup = lc_tr_carve(cv, N, HD, 1);
}
