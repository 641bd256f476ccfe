/*
 * llama2.c legacy checkpoints (run.c's format):
 *
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   f32 token_embedding [vocab, dim]
 *   f32 rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
 *       wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim],
 *       w1 [L, hidden, dim], w2 [L, dim, hidden], w3 [L, hidden, dim]
 *   f32 rms_final [dim]
 *   f32 freq_cis_real, freq_cis_imag [seq_len * head_size / 2] each (unused)
 *   f32 wcls [vocab, dim]          only when vocab_size < 0 (untied)
 *
 * head_size = dim / n_heads, kv_dim = head_size * n_kv_heads. w1 is the gate,
 * w3 the up projection, w2 the down projection. Everything is checked
 * against the file size, which must match exactly.
 */
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

#define LLAMA2C_HEADER_BYTES 28

typedef struct {
    int32_t dim, hidden, layers, heads, kv_heads, vocab, seq_len;
} llama2c_header;

/* Running byte offset with overflow checks. */
typedef struct {
    size_t off;
    bool overflow;
} layout;

static size_t take(layout *l, size_t a, size_t b, size_t c) {
    size_t n, bytes, start = l->off;
    if (!lc_mul3_size(a, b, c, &n) || !lc_mul_size(n, sizeof(float), &bytes) || !lc_add_size(l->off, bytes, &l->off))
        l->overflow = true;
    return start;
}

static lc_status check_header(const llama2c_header *h, lc_error *err) {
    const struct {
        const char *name;
        int32_t v;
    } f[] = {{"dim", h->dim},           {"hidden_dim", h->hidden}, {"n_layers", h->layers}, {"n_heads", h->heads},
             {"n_kv_heads", h->kv_heads}, {"seq_len", h->seq_len}};
    for (size_t i = 0; i < LC_ARRAY_LEN(f); i++)
        if (f[i].v < 1)
            return lc_fail(err, LC_ERR_FORMAT, "llama2.c: header field %s = %d (must be >= 1)", f[i].name, (int)f[i].v);
    if (h->vocab == 0 || h->vocab == INT32_MIN)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: header vocab_size = %d", (int)h->vocab);
    if (h->dim % h->heads)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: n_heads = %d does not divide dim = %d", (int)h->heads,
                       (int)h->dim);
    if (h->kv_heads > h->heads || h->heads % h->kv_heads)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: n_kv_heads = %d does not divide n_heads = %d", (int)h->kv_heads,
                       (int)h->heads);
    if ((h->dim / h->heads) % 2)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: head size %d is odd (RoPE rotates pairs)",
                       (int)(h->dim / h->heads));
    return LC_OK;
}

static lc_tensor view(const uint8_t *base, size_t off, int64_t rows, int64_t cols) {
    return (lc_tensor){LC_DTYPE_F32, rows, cols, base + off};
}

lc_status lc_model_load_llama2c_memory(const void *data, size_t size, lc_model **out, lc_error *err) {
    if (!out || (!data && size)) return lc_fail(err, LC_ERR_INVALID_ARG, "llama2.c: NULL buffer or output");
    *out = NULL;
    if (size >= 4 && memcmp(data, "ak42", 4) == 0)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "llama2.c: this is a version-1/2 export (magic \"ak42\"); only the legacy format is supported "
                       "(export.py --version 0)");
    if (size < LLAMA2C_HEADER_BYTES)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: file is %zu bytes, shorter than the 28-byte header", size);
    if ((uintptr_t)data % sizeof(float))
        return lc_fail(err, LC_ERR_INVALID_ARG, "llama2.c: buffer is not 4-byte aligned");
    const uint8_t *b = data;
    int32_t v[7];
    for (int i = 0; i < 7; i++) {
        uint32_t u = (uint32_t)b[4 * i] | ((uint32_t)b[4 * i + 1] << 8) | ((uint32_t)b[4 * i + 2] << 16) |
                     ((uint32_t)b[4 * i + 3] << 24);
        memcpy(&v[i], &u, 4);
    }
    llama2c_header h = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    lc_status st = check_header(&h, err);
    if (st != LC_OK) return st;

    const bool tied = h.vocab > 0;
    const size_t vocab = (size_t)(tied ? h.vocab : -(int64_t)h.vocab);
    const size_t dim = (size_t)h.dim, hidden = (size_t)h.hidden, L = (size_t)h.layers;
    const size_t head = dim / (size_t)h.heads, kv_dim = head * (size_t)h.kv_heads;

    layout l = {LLAMA2C_HEADER_BYTES, false};
    size_t o_embd = take(&l, vocab, dim, 1);
    size_t o_rms_att = take(&l, L, dim, 1);
    size_t o_wq = take(&l, L, dim, dim);
    size_t o_wk = take(&l, L, kv_dim, dim);
    size_t o_wv = take(&l, L, kv_dim, dim);
    size_t o_wo = take(&l, L, dim, dim);
    size_t o_rms_ffn = take(&l, L, dim, 1);
    size_t o_w1 = take(&l, L, hidden, dim);
    size_t o_w2 = take(&l, L, dim, hidden);
    size_t o_w3 = take(&l, L, hidden, dim);
    size_t o_final = take(&l, dim, 1, 1);
    take(&l, (size_t)h.seq_len, head / 2, 2); /* freq_cis_real + freq_cis_imag */
    size_t o_wcls = tied ? o_embd : take(&l, vocab, dim, 1);
    if (l.overflow)
        return lc_fail(err, LC_ERR_FORMAT, "llama2.c: header (dim %d, hidden %d, layers %d, vocab %zu) overflows size_t",
                       (int)h.dim, (int)h.hidden, (int)h.layers, vocab);
    if (size != l.off)
        return lc_fail(err, LC_ERR_FORMAT,
                       "llama2.c: file is %zu bytes but its header (dim %d, hidden %d, layers %d, heads %d, kv heads %d, "
                       "vocab %d, seq_len %d) needs exactly %zu (%s)",
                       size, (int)h.dim, (int)h.hidden, (int)h.layers, (int)h.heads, (int)h.kv_heads, (int)h.vocab,
                       (int)h.seq_len, l.off, size < l.off ? "truncated" : "trailing bytes");
    if (vocab > INT32_MAX) return lc_fail(err, LC_ERR_FORMAT, "llama2.c: vocab too large");

    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = h.dim;
    c.hidden_dim = h.hidden;
    c.n_layers = h.layers;
    c.n_heads = h.heads;
    c.n_kv_heads = h.kv_heads;
    c.head_dim = (int32_t)head;
    c.vocab_size = (int32_t)vocab;
    c.ctx_train = h.seq_len;
    c.norm_eps = 1e-5f;
    c.tied_output = tied;
    lc_model_rope_defaults(&c, (int32_t)head);
    st = lc_model_config_validate(&c, err);
    if (st != LC_OK) return st;

    lc_model *m;
    st = lc_model_alloc(&c, &m, err);
    if (st != LC_OK) return st;
    snprintf(m->format, sizeof m->format, "llama2c");
    m->w.tok_embd = view(b, o_embd, (int64_t)vocab, (int64_t)dim);
    for (size_t i = 0; i < L; i++) {
        lc_layer_weights *lw = &m->w.layers[i];
        const size_t sq = dim * dim * 4, skv = kv_dim * dim * 4, sh = hidden * dim * 4, sv = dim * 4;
        lw->attn_norm = view(b, o_rms_att + i * sv, 1, (int64_t)dim);
        lw->wq = view(b, o_wq + i * sq, (int64_t)dim, (int64_t)dim);
        lw->wk = view(b, o_wk + i * skv, (int64_t)kv_dim, (int64_t)dim);
        lw->wv = view(b, o_wv + i * skv, (int64_t)kv_dim, (int64_t)dim);
        lw->wo = view(b, o_wo + i * sq, (int64_t)dim, (int64_t)dim);
        lw->ffn_norm = view(b, o_rms_ffn + i * sv, 1, (int64_t)dim);
        lw->w_gate = view(b, o_w1 + i * sh, (int64_t)hidden, (int64_t)dim);
        lw->w_down = view(b, o_w2 + i * sh, (int64_t)dim, (int64_t)hidden);
        lw->w_up = view(b, o_w3 + i * sh, (int64_t)hidden, (int64_t)dim);
    }
    m->w.output_norm = view(b, o_final, 1, (int64_t)dim);
    m->w.output = view(b, o_wcls, (int64_t)vocab, (int64_t)dim);
    *out = m;
    return LC_OK;
}
