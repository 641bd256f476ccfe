/* Model configuration: validation, parameter and KV-cache sizes, the table
 * of per-layer weights (names and shapes) shared by loaders and writers. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "longctx/attn.h"
#include "model/model_internal.h"

void lc_model_rope_defaults(lc_model_config *c, int32_t n_dims) {
    lc_rope_config *r = &c->rope;
    lc_rope_config_init(r, n_dims);
    /* Spelled out so the model never depends on what init leaves unset. */
    r->layout = LC_ROPE_NORM;
    r->n_dims = n_dims;
    r->freq_base = 10000.0f;
    r->scaling = LC_ROPE_SCALING_NONE;
    r->factor = 1.0f;
    r->orig_ctx = c->ctx_train;
    r->ext_factor = -1.0f;
    r->attn_factor = 1.0f;
    r->beta_fast = 32.0f;
    r->beta_slow = 1.0f;
}

static const char *const layer_weight_names[LC_W_LAYER_COUNT] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
};

const char *lc_layer_weight_name(lc_layer_weight_id id) {
    return (unsigned)id < LC_W_LAYER_COUNT ? layer_weight_names[id] : "?";
}

void lc_layer_weight_shape(const lc_model_config *c, lc_layer_weight_id id, int64_t *rows, int64_t *cols) {
    const int64_t dim = c->dim, q_dim = (int64_t)c->n_heads * c->head_dim;
    const int64_t kv_dim = (int64_t)c->n_kv_heads * c->head_dim, hidden = c->hidden_dim;
    int64_t r = 1, k = dim;
    switch (id) {
    case LC_W_ATTN_NORM:
    case LC_W_FFN_NORM: r = 1, k = dim; break;
    case LC_W_Q: r = q_dim, k = dim; break;
    case LC_W_K:
    case LC_W_V: r = kv_dim, k = dim; break;
    case LC_W_O: r = dim, k = q_dim; break;
    case LC_W_GATE:
    case LC_W_UP: r = hidden, k = dim; break;
    case LC_W_DOWN: r = dim, k = hidden; break;
    default: break;
    }
    *rows = r;
    *cols = k;
}

lc_tensor *lc_layer_weight(lc_layer_weights *l, lc_layer_weight_id id) {
    switch (id) {
    case LC_W_ATTN_NORM: return &l->attn_norm;
    case LC_W_Q: return &l->wq;
    case LC_W_K: return &l->wk;
    case LC_W_V: return &l->wv;
    case LC_W_O: return &l->wo;
    case LC_W_FFN_NORM: return &l->ffn_norm;
    case LC_W_GATE: return &l->w_gate;
    case LC_W_UP: return &l->w_up;
    case LC_W_DOWN: return &l->w_down;
    default: return NULL;
    }
}

const lc_tensor *lc_layer_weight_const(const lc_layer_weights *l, lc_layer_weight_id id) {
    return lc_layer_weight((lc_layer_weights *)l, id);
}

lc_status lc_tensor_check(const lc_tensor *t, const char *name, int64_t rows, int64_t cols, lc_error *err) {
    if ((unsigned)t->type >= LC_DTYPE_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tensor %s: unknown element type %d", name, (int)t->type);
    if (t->rows != rows || t->cols != cols)
        return lc_fail(err, LC_ERR_FORMAT, "tensor %s is [%lld, %lld], the configuration needs [%lld, %lld]", name,
                       (long long)t->rows, (long long)t->cols, (long long)rows, (long long)cols);
    if (!t->data) return lc_fail(err, LC_ERR_INVALID_ARG, "tensor %s has no data", name);
    const int64_t blk = lc_dtype_block(t->type);
    if (blk > 1 && cols % blk)
        return lc_fail(err, LC_ERR_FORMAT, "tensor %s: %s rows need a multiple of %d columns, got %lld", name,
                       lc_dtype_name(t->type), (int)blk, (long long)cols);
    /* f32 4-byte aligned; f16/bf16 and blocks with f16 fields 2; MXFP4's
     * 17-byte blocks only bytes. */
    size_t align = t->type == LC_DTYPE_F32 ? 4 : t->type == LC_DTYPE_MXFP4 ? 1 : 2;
    if ((uintptr_t)t->data % align)
        return lc_fail(err, LC_ERR_FORMAT, "tensor %s data is not %zu-byte aligned", name, align);
    return LC_OK;
}

int64_t lc_model_n_params(const lc_model_config *c) {
    if (!c || c->dim < 1 || c->hidden_dim < 1 || c->n_layers < 1 || c->n_heads < 1 || c->n_kv_heads < 1 ||
        c->head_dim < 1 || c->vocab_size < 1)
        return -1;
    /* every layer's tensors as the family binds them (experts, shared
     * experts, DeltaNet, biases and norms included) */
    int64_t total = 0, embd;
    for (int32_t l = 0; l < c->n_layers; l++) {
        const int64_t n = lc_model_layer_n_params(c, l);
        if (n < 0 || __builtin_add_overflow(total, n, &total)) return -1;
    }
    if (!lc_mul_i64(c->vocab_size, c->dim, &embd)) return -1;
    if (__builtin_add_overflow(total, embd, &total) || __builtin_add_overflow(total, (int64_t)c->dim, &total))
        return -1;
    if (!c->tied_output && __builtin_add_overflow(total, embd, &total)) return -1;
    return total;
}

size_t lc_model_kv_bytes_per_token(const lc_model_config *c, lc_dtype k_type, lc_dtype v_type) {
    if (!c || c->n_layers < 1 || c->n_kv_heads < 1 || c->head_dim < 1) return 0;
    size_t kb, vb, row, total;
    if (lc_dtype_row_bytes(k_type, c->head_dim, &kb, NULL) != LC_OK ||
        lc_dtype_row_bytes(v_type, c->head_dim, &vb, NULL) != LC_OK)
        return 0;
    int32_t n_attn = 0; /* Gated DeltaNet layers keep no KV */
    for (int32_t l = 0; l < c->n_layers; l++) n_attn += lc_model_layer_kind(c, l) != LC_LAYER_DELTANET;
    if (!lc_add_size(kb, vb, &row) || !lc_mul3_size(row, (size_t)c->n_kv_heads, (size_t)n_attn, &total)) return 0;
    return total;
}

lc_status lc_model_config_validate(const lc_model_config *c, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "model config: NULL");
    if (!memchr(c->arch, '\0', sizeof c->arch) || !lc_model_arch_known(c->arch))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "model config: architecture '%.*s' is not supported (%s)",
                       (int)sizeof c->arch, c->arch, lc_arch_names());
    struct {
        const char *name;
        int64_t v;
    } pos[] = {{"dim", c->dim},           {"hidden_dim", c->hidden_dim}, {"n_layers", c->n_layers},
               {"n_heads", c->n_heads},   {"n_kv_heads", c->n_kv_heads}, {"head_dim", c->head_dim},
               {"vocab_size", c->vocab_size}, {"ctx_train", c->ctx_train}};
    for (size_t i = 0; i < LC_ARRAY_LEN(pos); i++)
        if (pos[i].v < 1)
            return lc_fail(err, LC_ERR_INVALID_ARG, "model config: %s = %lld (must be >= 1)", pos[i].name,
                           (long long)pos[i].v);
    if (c->n_layers > LC_MODEL_MAX_LAYERS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: %d layers (at most %d)", c->n_layers,
                       LC_MODEL_MAX_LAYERS);
    if (c->n_heads % c->n_kv_heads)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: %d KV heads do not divide %d query heads", c->n_kv_heads,
                       c->n_heads);
    if ((int64_t)c->n_heads * c->head_dim > INT32_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: n_heads * head_dim = %lld is too large",
                       (long long)c->n_heads * c->head_dim);
    if (!isfinite(c->norm_eps) || c->norm_eps <= 0.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: RMSNorm epsilon %g must be finite and > 0",
                       (double)c->norm_eps);
    if (c->rope.n_dims > c->head_dim)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: RoPE rotates %d dims of a %d-dim head",
                       c->rope.n_dims, c->head_dim);
    lc_status st = lc_rope_validate(&c->rope, err);
    if (st != LC_OK) return st;
    const lc_family *f = &c->fam;
    if ((unsigned)f->act >= LC_ACT_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: unknown activation %d", (int)f->act);
    if (!isfinite(f->embd_scale) || !isfinite(f->attn_scale) || !isfinite(f->attn_softcap) ||
        !isfinite(f->final_softcap) || f->embd_scale < 0.0f || f->attn_scale < 0.0f || f->attn_softcap < 0.0f ||
        f->final_softcap < 0.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: embedding scale, attention scale and soft-caps must be "
                                                "finite and >= 0");
    if (f->window < 0 || (f->window > 0 && f->window_period < 1))
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: window %lld with period %d", (long long)f->window,
                       f->window_period);
    if (f->rope_window_own) {
        if ((st = lc_rope_validate(&c->rope_window, err)) != LC_OK) return st;
        if (c->rope_window.n_dims != c->rope.n_dims)
            return lc_fail(err, LC_ERR_INVALID_ARG, "model config: window layers rotate %d dims, global ones %d",
                           c->rope_window.n_dims, c->rope.n_dims);
    }
    if (f->longrope) {
        if ((st = lc_rope_validate(&c->rope_short, err)) != LC_OK) return st;
        if (c->rope_short.n_dims != c->rope.n_dims)
            return lc_fail(err, LC_ERR_INVALID_ARG, "model config: LongRoPE short factors rotate %d dims, long %d",
                           c->rope_short.n_dims, c->rope.n_dims);
    }
    if (!memchr(c->attention, '\0', sizeof c->attention))
        return lc_fail(err, LC_ERR_INVALID_ARG, "model config: attention spec is not NUL-terminated");
    if (c->attention[0]) {
        lc_attn_params p;
        lc_attn_params_init(&p, LC_ATTN_FLASH);
        st = lc_attn_parse(c->attention, &p, err);
        if (st != LC_OK) return st;
    }
    if (lc_model_n_params(c) < 0)
        return lc_fail(err, LC_ERR_TOO_LARGE, "model config: the parameter count overflows int64");
    return LC_OK;
}
