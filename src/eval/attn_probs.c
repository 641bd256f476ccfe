/*
 * Softmax attention probabilities of one observed query row and head, by the
 * naive formula (the reference the retention analysis needs, O(n_kv * d)):
 *
 *   s_j = scale * q . k_j        for keys j the row may see, in double
 *   p_j = exp(s_j - max_j s_j) / sum_j exp(s_j - max_j s_j)
 *
 * Visibility as the attention methods define it (attn.h): causal pos(j) <=
 * pos(i); WINDOW adds pos(i) - pos(j) < W or pos(j) < sinks.
 */
#include <math.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

static bool visible(const lc_attn_shape *s, const lc_attn_params *p, int64_t qpos, int64_t kpos) {
    if (s->causal && kpos > qpos) return false;
    if (p->method == LC_ATTN_WINDOW) {
        const int64_t dist = qpos >= kpos ? qpos - kpos : kpos - qpos;
        return dist < p->window || kpos < p->n_sinks;
    }
    return true;
}

int64_t lc_eval_attn_probs(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, int64_t row,
                           int32_t head, float *probs, float *kbuf) {
    if (!s || !p || !io || !probs || !kbuf) return -1;
    if (p->method != LC_ATTN_NAIVE && p->method != LC_ATTN_FLASH && p->method != LC_ATTN_WINDOW) return -1;
    if (row < 0 || row >= s->n_q || head < 0 || head >= s->n_head || s->n_head_kv < 1 ||
        s->n_head % s->n_head_kv != 0)
        return -1;
    const int32_t d = s->head_dim;
    size_t rb;
    if (lc_dtype_row_bytes(s->k_type, d, &rb, NULL) != LC_OK) return -1;
    const int32_t kvh = head / (s->n_head / s->n_head_kv);
    const float *q = io->q + ((size_t)row * (size_t)s->n_head + (size_t)head) * (size_t)d;
    const double scale = s->scale > 0.0f ? (double)s->scale : 1.0 / sqrt((double)d);
    const int64_t qpos = s->q_pos0 + row;
    double mx = -INFINITY;
    int64_t n_vis = 0;
    /* scores into probs (NaN marks an invisible key) */
    for (int64_t j = 0; j < s->n_kv; j++) {
        const int64_t kpos = s->k_pos ? s->k_pos[j] : j;
        if (!visible(s, p, qpos, kpos)) {
            probs[j] = NAN;
            continue;
        }
        const char *k = (const char *)io->k + ((size_t)j * (size_t)s->n_head_kv + (size_t)kvh) * rb;
        lc_row_to_f32(s->k_type, k, kbuf, d, NULL);
        double dot = 0.0;
        for (int32_t i = 0; i < d; i++) dot += (double)q[i] * (double)kbuf[i];
        const double sc = scale * dot;
        probs[j] = (float)sc;
        mx = sc > mx ? sc : mx;
        n_vis++;
    }
    if (n_vis == 0) {
        for (int64_t j = 0; j < s->n_kv; j++) probs[j] = 0.0f;
        return 0;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < s->n_kv; j++)
        if (!isnan(probs[j])) sum += exp((double)probs[j] - mx);
    for (int64_t j = 0; j < s->n_kv; j++)
        probs[j] = isnan(probs[j]) ? 0.0f : (float)(exp((double)probs[j] - mx) / sum);
    return n_vis;
}
