/*
 * The parameter size table: every tensor of the model with its GGUF name,
 * shape and offset in the slabs (parameters, gradients, AdamW m and v all
 * share the table), the seeded initialisation, and the model.h views.
 *
 * Table order: token_embd, then per layer attn_norm, attn_q, attn_k, attn_v,
 * attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down, then output_norm and
 * (when not tied) output. Each tensor starts on a 64-byte boundary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"

float *lc_tr_carve(lc_tr_carver *cv, size_t a, size_t b, size_t c) {
    size_t n, bytes;
    if (!lc_mul3_size(a, b, c, &n) || !lc_mul_size((n + 15) / 16 * 16, sizeof(float), &bytes) ||
        !lc_add_size(cv->off, bytes, &bytes)) {
        cv->overflow = true;
        return NULL;
    }
    float *p = cv->base ? (float *)(cv->base + cv->off) : NULL;
    cv->off = bytes;
    return p;
}

static int32_t add_tensor(lc_trainer *t, size_t *off, const char *name, int64_t rows, int64_t cols, bool decay) {
    lc_train_tensor *e = &t->tensors[t->n_tensors];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->rows = rows;
    e->cols = cols;
    e->numel = (size_t)rows * (size_t)cols;
    e->offset = *off;
    e->decay = decay;
    *off += (e->numel + 15) / 16 * 16;
    return t->n_tensors++;
}

lc_status lc_tr_params_layout(lc_trainer *t, lc_error *err) {
    const lc_model_config *m = &t->mcfg;
    const int64_t C = m->dim, L = m->n_layers, V = m->vocab_size, HD = m->hidden_dim;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim, kvd = (int64_t)m->n_kv_heads * m->head_dim;
    const int32_t n = (int32_t)(1 + L * LT_COUNT + 1 + (m->tied_output ? 0 : 1));
    t->tensors = (lc_train_tensor *)calloc((size_t)n, sizeof *t->tensors);
    t->layer_tensor = (int32_t *)calloc((size_t)(L * LT_COUNT), sizeof(int32_t));
    if (!t->tensors || !t->layer_tensor) return lc_fail(err, LC_ERR_NOMEM, "trainer: cannot allocate the size table");
    size_t off = 0;
    char name[48];
    t->t_embd = add_tensor(t, &off, "token_embd.weight", V, C, true);
    for (int64_t l = 0; l < L; l++) {
        static const char *const names[LT_COUNT] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                                    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
        const int64_t rows[LT_COUNT] = {1, qd, kvd, kvd, C, 1, HD, HD, C};
        const int64_t cols[LT_COUNT] = {C, C, C, C, qd, C, C, C, HD};
        for (int w = 0; w < LT_COUNT; w++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, names[w]);
            t->layer_tensor[l * LT_COUNT + w] =
                add_tensor(t, &off, name, rows[w], cols[w], w != LT_ATTN_NORM && w != LT_FFN_NORM);
        }
    }
    t->t_out_norm = add_tensor(t, &off, "output_norm.weight", 1, C, false);
    t->t_out = m->tied_output ? t->t_embd : add_tensor(t, &off, "output.weight", V, C, true);
    t->n_floats = off;
    return LC_OK;
}

void lc_tr_params_init(lc_trainer *t) {
    lc_rng r;
    lc_rng_seed(&r, t->cfg.seed);
    const float std = t->cfg.init_std, std_res = std / sqrtf(2.0f * (float)t->mcfg.n_layers);
    memset(t->params, 0, t->n_floats * sizeof(float));
    for (int32_t i = 0; i < t->n_tensors; i++) {
        const lc_train_tensor *e = &t->tensors[i];
        float *p = t->params + e->offset;
        if (!e->decay) { /* norms */
            for (size_t j = 0; j < e->numel; j++) p[j] = 1.0f;
            continue;
        }
        const bool residual = strstr(e->name, "attn_output") || strstr(e->name, "ffn_down");
        const float s = residual ? std_res : std;
        for (size_t j = 0; j < e->numel; j++) p[j] = lc_rng_normal(&r) * s;
    }
}

static lc_tensor view(const lc_trainer *t, int32_t i) {
    const lc_train_tensor *e = &t->tensors[i];
    lc_tensor v = {LC_DTYPE_F32, e->rows, e->cols, t->params + e->offset};
    return v;
}

void lc_tr_weights_views(lc_trainer *t) {
    lc_model_weights *w = &t->weights;
    w->tok_embd = view(t, t->t_embd);
    w->output_norm = view(t, t->t_out_norm);
    w->output = view(t, t->t_out);
    w->layers = t->wlayers;
    for (int64_t l = 0; l < t->mcfg.n_layers; l++) {
        lc_layer_weights *lw = &t->wlayers[l];
        lw->attn_norm = view(t, lc_tr_lt(t, l, LT_ATTN_NORM));
        lw->wq = view(t, lc_tr_lt(t, l, LT_WQ));
        lw->wk = view(t, lc_tr_lt(t, l, LT_WK));
        lw->wv = view(t, lc_tr_lt(t, l, LT_WV));
        lw->wo = view(t, lc_tr_lt(t, l, LT_WO));
        lw->ffn_norm = view(t, lc_tr_lt(t, l, LT_FFN_NORM));
        lw->w_gate = view(t, lc_tr_lt(t, l, LT_GATE));
        lw->w_up = view(t, lc_tr_lt(t, l, LT_UP));
        lw->w_down = view(t, lc_tr_lt(t, l, LT_DOWN));
    }
}

uint64_t lc_tr_checksum(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    const uint64_t prime = 0x100000001b3ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * prime;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * prime;
    return h;
}

uint64_t lc_tr_shape_fingerprint(const lc_model_config *c) {
    int64_t f[9] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size,
                    c->tied_output, 0};
    uint64_t h = lc_tr_checksum(LC_TR_CHECKSUM_SEED, f, sizeof f);
    const char *a = c->attention;
    if (strcmp(a, "softmax") == 0) a = ""; /* both spell softmax attention */
    return lc_tr_checksum(h, a, strlen(a));
}
