/* What `longctx info` says about a model file (model_info.h): its weights
 * by tensor type and its tokenizer. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "longctx/model_info.h"
#include "longctx/sys.h"

/* tokenizer.ggml.model and token count from metadata (NULL/0 if absent). */
void lc_gguf_tokenizer_meta(const lc_gguf *g, char *model, size_t cap, uint64_t *n_tokens) {
    lc_error err;
    const char *s;
    size_t len;
    model[0] = '\0';
    *n_tokens = 0;
    if (lc_gguf_get_str(g, "tokenizer.ggml.model", &s, &len, &err) == LC_OK)
        snprintf(model, cap, "%.*s", (int)(len < 64 ? len : 64), s);
    lc_gguf_type et;
    if (lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, n_tokens, NULL, &err) != LC_OK) *n_tokens = 0;
}

/* ---- Model summary -------------------------------------------------------------- */

static void count_one(lc_tensor_type_counts *tc, const lc_tensor *t) {
    size_t row = 0;
    if (!t->data) return; /* a family without this tensor */
    tc->count[t->type]++;
    if (lc_dtype_row_bytes(t->type, t->cols, &row, NULL) == LC_OK) {
        tc->bytes += (double)row * (double)t->rows;
        tc->type_bytes[t->type] += (double)row * (double)t->rows;
    }
}

void lc_tensor_type_counts_get(const lc_model *m, const lc_gguf *g, lc_tensor_type_counts *tc) {
    memset(tc, 0, sizeof *tc);
    if (g) {
        for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
            const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
            tc->bytes += (double)t->nbytes;
            if (t->dtype == LC_DTYPE_COUNT) {
                tc->other++;
                tc->other_bytes += (double)t->nbytes;
            } else {
                tc->count[t->dtype]++;
                tc->type_bytes[t->dtype] += (double)t->nbytes;
            }
        }
        return;
    }
    count_one(tc, &m->w.tok_embd);
    count_one(tc, &m->w.output_norm);
    if (!m->cfg.tied_output) count_one(tc, &m->w.output);
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        const lc_layer_weights *w = &m->w.layers[l];
        const lc_tensor *t[18] = {&w->attn_norm, &w->wq,     &w->wk,     &w->wv,     &w->wo,
                                  &w->ffn_norm,  &w->w_gate, &w->w_up,   &w->w_down, &w->wqkv,
                                  &w->bq,        &w->bk,     &w->bv,     &w->q_norm, &w->k_norm,
                                  &w->post_attn_norm, &w->post_ffn_norm, &w->attn_norm};
        for (int i = 0; i < 17; i++) count_one(tc, t[i]);
    }
}

/* Widen [*lo, *hi) to hold t's bytes. */
static void span_add(const lc_tensor *t, uintptr_t *lo, uintptr_t *hi) {
    size_t rb = 0;
    if (!t->data || t->rows <= 0 || lc_dtype_row_bytes(t->type, t->cols, &rb, NULL) != LC_OK) return;
    const uintptr_t a = (uintptr_t)t->data, b = a + rb * (size_t)t->rows;
    if (a < *lo) *lo = a;
    if (b > *hi) *hi = b;
}

double lc_model_huge_page_share(const lc_model *m) {
    if (!m) return -1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    span_add(&m->w.tok_embd, &lo, &hi);
    span_add(&m->w.output, &lo, &hi);
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        const lc_layer_weights *w = &m->w.layers[l];
        const lc_tensor *t[8] = {&w->wq, &w->wk, &w->wv, &w->wo, &w->w_gate, &w->w_up, &w->w_down, &w->wqkv};
        for (int i = 0; i < 8; i++) span_add(t[i], &lo, &hi);
    }
    return hi > lo ? lc_huge_page_share((const void *)lo, (size_t)(hi - lo)) : -1;
}

const char *lc_model_tokenizer_summary(const lc_model *m, const lc_gguf *g, char *buf, size_t cap, int64_t *n) {
    if (m && m->tokenizer) {
        *n = lc_tokenizer_n_vocab(m->tokenizer);
        snprintf(buf, cap, "%s", lc_tokenizer_kind_of(m->tokenizer) == LC_TOKENIZER_SPM ? "spm" : "bpe");
        return buf;
    }
    uint64_t nt = 0;
    char model[80] = "";
    if (g) lc_gguf_tokenizer_meta(g, model, sizeof model, &nt);
    *n = (int64_t)nt;
    if (model[0] && strcmp(model, "none") != 0) snprintf(buf, cap, "%s (metadata only: not built)", model);
    else snprintf(buf, cap, "none");
    return buf;
}

