/*
 * GGUF llama models: configuration from llama.cpp's keys (plus our own
 * longctx.* keys), weights as views of the file's tensors, and the tokenizer
 * from tokenizer.ggml.*. docs/formats.md lists the keys and the refusals.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

/* An integer key that must be in 1..INT32_MAX. */
static lc_status get_pos_i32(const lc_gguf *g, const char *key, bool required, int32_t dflt, int32_t *out,
                             lc_error *err) {
    if (!lc_gguf_has(g, key)) {
        if (required) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key '%s'", key);
        *out = dflt;
        return LC_OK;
    }
    int64_t v;
    lc_status st = lc_gguf_get_i64(g, key, &v, err);
    if (st != LC_OK) return st;
    if (v < 1 || v > INT32_MAX)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' = %lld is outside 1..%d", key, (long long)v, INT32_MAX);
    *out = (int32_t)v;
    return LC_OK;
}

static lc_status get_float(const lc_gguf *g, const char *key, bool required, float dflt, float *out, lc_error *err) {
    if (!lc_gguf_has(g, key)) {
        if (required) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key '%s'", key);
        *out = dflt;
        return LC_OK;
    }
    double v;
    lc_status st = lc_gguf_get_f64(g, key, &v, err);
    if (st != LC_OK) return st;
    if (!isfinite(v) || fabs(v) > 3e38)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' = %g is not a finite f32", key, v);
    *out = (float)v;
    return LC_OK;
}

/* A short string key into buf (NUL-terminated); *found false when absent. */
static lc_status get_short_str(const lc_gguf *g, const char *key, char *buf, size_t cap, bool *found, lc_error *err) {
    *found = false;
    buf[0] = '\0';
    if (!lc_gguf_has(g, key)) return LC_OK;
    const char *s;
    size_t len;
    lc_status st = lc_gguf_get_str(g, key, &s, &len, err);
    if (st != LC_OK) return st;
    if (len >= cap || memchr(s, '\0', len))
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' is not a string of at most %zu bytes", key, cap - 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    *found = true;
    return LC_OK;
}

static lc_status rope_from_gguf(const lc_gguf *g, lc_model_config *c, lc_error *err) {
    lc_rope_config *r = &c->rope;
    int32_t n_dims;
    lc_status st = get_pos_i32(g, "llama.rope.dimension_count", false, c->head_dim, &n_dims, err);
    if (st != LC_OK) return st;
    lc_model_rope_defaults(c, n_dims);
    if ((st = get_float(g, "llama.rope.freq_base", false, 10000.0f, &r->freq_base, err)) != LC_OK) return st;

    char type[32];
    bool have_type, have_ours;
    if ((st = get_short_str(g, "llama.rope.scaling.type", type, sizeof type, &have_type, err)) != LC_OK) return st;
    float factor = 0.0f;
    const char *factor_key = lc_gguf_has(g, "llama.rope.scaling.factor") ? "llama.rope.scaling.factor"
                                                                          : "llama.rope.scale_linear";
    if ((st = get_float(g, factor_key, false, 0.0f, &factor, err)) != LC_OK) return st;
    const char *orig_key = "llama.rope.scaling.original_context_length";
    if (have_type) {
        if (strcmp(type, "none") == 0) r->scaling = LC_ROPE_SCALING_NONE;
        else if (strcmp(type, "linear") == 0) r->scaling = LC_ROPE_SCALING_LINEAR;
        else if (strcmp(type, "yarn") == 0) r->scaling = LC_ROPE_SCALING_YARN;
        else
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "gguf model: llama.rope.scaling.type '%s' is not supported (none, linear, yarn)", type);
    } else {
        char ours[32];
        if ((st = get_short_str(g, "longctx.rope.scaling.type", ours, sizeof ours, &have_ours, err)) != LC_OK)
            return st;
        if (have_ours) {
            if (!lc_rope_scaling_parse(ours, &r->scaling))
                return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: longctx.rope.scaling.type '%s' is unknown", ours);
            if ((st = get_float(g, "longctx.rope.scaling.factor", false, 0.0f, &factor, err)) != LC_OK) return st;
            orig_key = "longctx.rope.scaling.original_context_length";
        } else if (factor != 0.0f && factor != 1.0f) {
            r->scaling = LC_ROPE_SCALING_LINEAR; /* llama.cpp's default when only a factor is given */
        }
    }
    if (r->scaling != LC_ROPE_SCALING_NONE) {
        if (factor == 0.0f)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s RoPE scaling without a scaling factor",
                           lc_rope_scaling_name(r->scaling));
        r->factor = factor;
        int64_t orig = c->ctx_train;
        if (lc_gguf_has(g, orig_key) && (st = lc_gguf_get_i64(g, orig_key, &orig, err)) != LC_OK) return st;
        if (orig < 1) return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %lld", orig_key, (long long)orig);
        r->orig_ctx = orig;
    }
    if ((st = get_float(g, "llama.rope.scaling.attn_factor", false, 1.0f, &r->attn_factor, err)) != LC_OK) return st;
    if ((st = get_float(g, "llama.rope.scaling.yarn_beta_fast", false, 32.0f, &r->beta_fast, err)) != LC_OK) return st;
    if ((st = get_float(g, "llama.rope.scaling.yarn_beta_slow", false, 1.0f, &r->beta_slow, err)) != LC_OK) return st;
    if ((st = get_float(g, "llama.rope.scaling.yarn_ext_factor", false, -1.0f, &r->ext_factor, err)) != LC_OK)
        return st;
    return LC_OK;
}

/* Frequency factors from an F32 tensor of n_dims/2 values (Llama-3's
 * rope_freqs.weight, Phi-3's rope_factors_long/short.weight) into r. A tensor
 * whose length contradicts the rotated dimensions is refused naming the key. */
static lc_status factors_from_tensor(const lc_gguf *g, const char *name, const char *dims_key, lc_rope_config *r,
                                     lc_error *err) {
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
    if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing tensor '%s'", name);
    const int64_t want = r->n_dims / 2;
    if (t->dtype != LC_DTYPE_F32 || t->n_dims != 1 || t->ne[0] != want || !t->data ||
        t->nbytes != (size_t)want * sizeof(float))
        return lc_fail(err, LC_ERR_FORMAT,
                       "gguf model: tensor '%s' must be %lld f32 values (%s = %d rotated dims), got %lld of %s", name,
                       (long long)want, dims_key, r->n_dims, (long long)t->ne[0], lc_dtype_name(t->dtype));
    memcpy(r->factors, t->data, (size_t)want * sizeof(float));
    r->n_factors = (int32_t)want;
    for (int64_t i = 0; i < want; i++)
        if (!isfinite(r->factors[i]) || r->factors[i] <= 0.0f)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: tensor '%s' value %lld is %g (factors must be > 0)", name,
                           (long long)i, (double)r->factors[i]);
    return LC_OK;
}

lc_status lc_model_config_from_gguf(const lc_gguf *g, lc_model_config *c, lc_error *err) {
    memset(c, 0, sizeof *c);
    bool found;
    char arch[64];
    lc_status st = get_short_str(g, "general.architecture", arch, sizeof arch, &found, err);
    if (st != LC_OK) return st;
    if (!found) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key 'general.architecture'");
    for (char *p = arch; *p; p++)
        if (*p < 32 || *p > 126) *p = '?';
    if (strcmp(arch, "llama") != 0)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: architecture '%s' is not supported (only llama)", arch);
    snprintf(c->arch, sizeof c->arch, "llama");

    int32_t ctx;
    if ((st = get_pos_i32(g, "llama.context_length", true, 0, &ctx, err)) != LC_OK ||
        (st = get_pos_i32(g, "llama.embedding_length", true, 0, &c->dim, err)) != LC_OK ||
        (st = get_pos_i32(g, "llama.block_count", true, 0, &c->n_layers, err)) != LC_OK ||
        (st = get_pos_i32(g, "llama.feed_forward_length", true, 0, &c->hidden_dim, err)) != LC_OK ||
        (st = get_pos_i32(g, "llama.attention.head_count", true, 0, &c->n_heads, err)) != LC_OK)
        return st;
    c->ctx_train = ctx;
    if (lc_gguf_key_type(g, lc_gguf_find_key(g, "llama.attention.head_count_kv")) == LC_GGUF_ARRAY)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: per-layer KV head counts are not supported");
    if ((st = get_pos_i32(g, "llama.attention.head_count_kv", false, c->n_heads, &c->n_kv_heads, err)) != LC_OK ||
        (st = get_float(g, "llama.attention.layer_norm_rms_epsilon", true, 0.0f, &c->norm_eps, err)) != LC_OK)
        return st;
    if (lc_gguf_has(g, "llama.attention.key_length")) {
        if ((st = get_pos_i32(g, "llama.attention.key_length", true, 0, &c->head_dim, err)) != LC_OK) return st;
    } else {
        if (c->dim % c->n_heads)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: head_count %d does not divide embedding_length %d",
                           c->n_heads, c->dim);
        c->head_dim = c->dim / c->n_heads;
    }
    int32_t vlen;
    if ((st = get_pos_i32(g, "llama.attention.value_length", false, c->head_dim, &vlen, err)) != LC_OK) return st;
    if (vlen != c->head_dim)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: value_length %d != key_length %d is not supported", vlen,
                       c->head_dim);
    if (lc_gguf_has(g, "llama.vocab_size")) {
        if ((st = get_pos_i32(g, "llama.vocab_size", true, 0, &c->vocab_size, err)) != LC_OK) return st;
    } else {
        const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "token_embd.weight");
        if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: no llama.vocab_size and no token_embd.weight tensor");
        if (t->ne[1] > INT32_MAX)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: token_embd.weight has %lld rows", (long long)t->ne[1]);
        c->vocab_size = (int32_t)t->ne[1];
    }
    if ((st = rope_from_gguf(g, c, err)) != LC_OK) return st;
    if (lc_gguf_find_tensor(g, "rope_freqs.weight") &&
        (st = factors_from_tensor(g, "rope_freqs.weight", "llama.rope.dimension_count", &c->rope, err)) != LC_OK)
        return st;
    if ((st = get_short_str(g, "longctx.attention", c->attention, sizeof c->attention, &found, err)) != LC_OK)
        return st;
    c->tied_output = !lc_gguf_find_tensor(g, "output.weight");
    return lc_model_config_validate(c, err);
}

/* View of tensor `name` as [rows, cols]; norms (rows == 1) must be f32. */
static lc_status bind(const lc_gguf *g, const char *name, int64_t rows, int64_t cols, lc_tensor *out, lc_error *err) {
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
    if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing tensor '%s'", name);
    if (t->dtype == LC_DTYPE_COUNT) {
        const char *tn = lc_gguf_ggml_type_name(t->ggml_type);
        char num[24];
        snprintf(num, sizeof num, "%u", (unsigned)t->ggml_type);
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "gguf model: tensor '%s' has type %s%s, which longctx cannot use as a weight (supported: f32, "
                       "f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs, mxfp4)",
                       name, tn ? tn : "id ", tn ? "" : num);
    }
    bool vec = rows == 1;
    bool shape_ok = vec ? (t->n_dims <= 2 && t->ne[0] == cols && t->ne[1] == 1)
                        : (t->n_dims == 2 && t->ne[0] == cols && t->ne[1] == rows);
    if (t->ne[2] != 1 || t->ne[3] != 1) shape_ok = false;
    if (!shape_ok)
        return lc_fail(err, LC_ERR_FORMAT,
                       "gguf model: tensor '%s' has shape [%lld, %lld, %lld, %lld] (ne, fastest first), the "
                       "configuration needs [%lld, %lld]",
                       name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       (long long)cols, (long long)rows);
    if (vec && t->dtype != LC_DTYPE_F32)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: norm tensor '%s' is %s; longctx needs f32 norms", name,
                       lc_dtype_name(t->dtype));
    *out = (lc_tensor){t->dtype, rows, cols, t->data};
    return lc_tensor_check(out, name, rows, cols, err);
}

static lc_status bind_all(const lc_gguf *g, lc_model *m, lc_error *err) {
    const lc_model_config *c = &m->cfg;
    lc_status st;
    if ((st = bind(g, "token_embd.weight", c->vocab_size, c->dim, &m->w.tok_embd, err)) != LC_OK) return st;
    if ((st = bind(g, "output_norm.weight", 1, c->dim, &m->w.output_norm, err)) != LC_OK) return st;
    if (c->tied_output) m->w.output = m->w.tok_embd;
    else if ((st = bind(g, "output.weight", c->vocab_size, c->dim, &m->w.output, err)) != LC_OK)
        return st;
    char name[64];
    for (int32_t l = 0; l < c->n_layers; l++) {
        for (int id = 0; id < LC_W_LAYER_COUNT; id++) {
            int64_t rows, cols;
            lc_layer_weight_shape(c, (lc_layer_weight_id)id, &rows, &cols);
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, lc_layer_weight_name((lc_layer_weight_id)id));
            st = bind(g, name, rows, cols, lc_layer_weight(&m->w.layers[l], (lc_layer_weight_id)id), err);
            if (st != LC_OK) return st;
        }
    }
    return LC_OK;
}

/* Every tensor of the file must be one we bound: refuse the first other one. */
static lc_status check_no_extra(const lc_gguf *g, const lc_model_config *c, lc_error *err) {
    int64_t expected = (int64_t)c->n_layers * LC_W_LAYER_COUNT + 2 + (c->tied_output ? 0 : 1) + (c->rope.n_factors ? 1 : 0);
    if (lc_gguf_n_tensors(g) == expected) return LC_OK; /* names are unique and all were found */
    for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
        const char *n = lc_gguf_tensor_at(g, i)->name;
        bool known = strcmp(n, "token_embd.weight") == 0 || strcmp(n, "output_norm.weight") == 0 ||
                     strcmp(n, "output.weight") == 0 || strcmp(n, "rope_freqs.weight") == 0;
        int layer = -1, used = 0;
        char suffix[32] = "";
        if (!known && sscanf(n, "blk.%d.%31[a-z_].weight%n", &layer, suffix, &used) == 2 && n[used] == '\0' &&
            layer >= 0 && layer < c->n_layers) {
            for (int id = 0; id < LC_W_LAYER_COUNT; id++)
                known |= strcmp(suffix, lc_layer_weight_name((lc_layer_weight_id)id)) == 0;
            char canon[64];
            snprintf(canon, sizeof canon, "blk.%d.%s.weight", layer, suffix);
            known = known && strcmp(canon, n) == 0;
        }
        if (!known)
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "gguf model: tensor '%.80s' is not part of a llama model as longctx knows it", n);
    }
    return lc_fail(err, LC_ERR_FORMAT, "gguf model: %lld tensors, expected %lld", (long long)lc_gguf_n_tensors(g),
                   (long long)expected);
}

lc_status lc_model_from_gguf(lc_gguf *g, lc_model **out, lc_error *err) {
    if (!g || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf model: NULL file or output");
    *out = NULL;
    lc_model_config c;
    lc_status st = lc_model_config_from_gguf(g, &c, err);
    if (st != LC_OK) return st;
    /* Each layer needs 9 tensors: refuse before allocating for a lying block_count. */
    if ((int64_t)c.n_layers * LC_W_LAYER_COUNT + 2 > lc_gguf_n_tensors(g))
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %d layers need %lld tensors, the file has %lld", c.n_layers,
                       (long long)c.n_layers * LC_W_LAYER_COUNT + 2, (long long)lc_gguf_n_tensors(g));
    lc_model *m;
    if ((st = lc_model_alloc(&c, &m, err)) != LC_OK) return st;
    snprintf(m->format, sizeof m->format, "gguf");
    if ((st = bind_all(g, m, err)) != LC_OK || (st = check_no_extra(g, &c, err)) != LC_OK) {
        lc_model_free(m);
        return st;
    }
    if (lc_gguf_has(g, "tokenizer.ggml.model")) {
        st = lc_tokenizer_from_gguf(g, &m->tokenizer, err);
        if (st == LC_ERR_UNSUPPORTED) {
            /* A tokenizer kind we do not implement: the model still loads,
             * and runs on token ids; the reason is kept for the CLI. */
            m->tokenizer = NULL;
            snprintf(m->tokenizer_note, sizeof m->tokenizer_note, "%s", err ? err->msg : "unsupported tokenizer");
            lc_error_clear(err);
        } else if (st != LC_OK) {
            m->tokenizer = NULL;
            lc_model_free(m);
            return st;
        } else if (lc_tokenizer_n_vocab(m->tokenizer) > c.vocab_size) {
            int32_t nt = lc_tokenizer_n_vocab(m->tokenizer);
            lc_model_free(m);
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: the tokenizer has %d tokens but the model only %d embeddings",
                           nt, c.vocab_size);
        }
    }
    m->storage->gguf = g;
    *out = m;
    return LC_OK;
}
