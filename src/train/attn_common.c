/* Helpers shared by the trainer's attention forms: see attn_common.h. */
#include <string.h>

#include "common/util.h"
#include "train/attn_common.h"

lc_attn_shape lc_tr_attn_seq_shape(const lc_tr_attn_shape *s) {
    lc_attn_shape a;
    memset(&a, 0, sizeof a);
    a.n_q = s->t;
    a.n_kv = s->t;
    a.n_head = s->nh;
    a.n_head_kv = s->kv;
    a.head_dim = s->hd;
    a.k_type = LC_DTYPE_F32;
    a.v_type = LC_DTYPE_F32;
    a.causal = true;
    a.q_pos0 = 0;
    a.k_pos = NULL;
    a.scale = s->scale;
    return a;
}

size_t lc_tr_attn_partials_bytes(const lc_tr_attn_shape *s) {
    if (s->nh == s->kv) return 0;
    return 2 * (size_t)s->b * (size_t)s->t * (size_t)s->nh * (size_t)s->hd * sizeof(float);
}

lc_tr_kv_grad lc_tr_kv_grad_target(const lc_tr_attn_shape *s, float *dk, float *dv, void *partials) {
    lc_tr_kv_grad g;
    if (s->nh == s->kv) {
        g.dk = dk, g.dv = dv, g.heads = s->kv, g.partial = false;
    } else {
        const size_t n = (size_t)s->b * (size_t)s->t * (size_t)s->nh * (size_t)s->hd;
        g.dk = (float *)partials, g.dv = (float *)partials + n, g.heads = s->nh, g.partial = true;
    }
    return g;
}

void lc_tr_kv_grad_reduce(const lc_tr_attn_shape *s, const lc_tr_kv_grad *g, float *dk, float *dv, int n_threads) {
    if (!g->partial) return;
    const int32_t group = s->nh / s->kv, hd = s->hd;
    const int64_t rows = s->b * s->t;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++) {
        for (int32_t hk = 0; hk < s->kv; hk++) {
            float *ok = dk + ((size_t)r * (size_t)s->kv + (size_t)hk) * (size_t)hd;
            float *ov = dv + ((size_t)r * (size_t)s->kv + (size_t)hk) * (size_t)hd;
            const float *pk = g->dk + ((size_t)r * (size_t)s->nh + (size_t)hk * (size_t)group) * (size_t)hd;
            const float *pv = g->dv + ((size_t)r * (size_t)s->nh + (size_t)hk * (size_t)group) * (size_t)hd;
            memcpy(ok, pk, (size_t)hd * sizeof(float));
            memcpy(ov, pv, (size_t)hd * sizeof(float));
            for (int32_t q = 1; q < group; q++)
                for (int32_t j = 0; j < hd; j++) {
                    ok[j] += pk[(size_t)q * (size_t)hd + (size_t)j];
                    ov[j] += pv[(size_t)q * (size_t)hd + (size_t)j];
                }
        }
    }
}
