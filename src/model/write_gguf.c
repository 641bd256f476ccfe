/*
 * lc_model_write_gguf: a llama GGUF v3 with llama.cpp's key and tensor
 * names. Tensors whose type does not change are written straight from their
 * views (byte-identical); converted tensors are produced one at a time while
 * writing, so converting a model needs one tensor of extra memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "model/model_internal.h"
#include "longctx/quant.h"

typedef struct {
    const lc_tensor *src;
    lc_dtype dst;
    char name[64];
} conv_job;

/* Convert src into dst's type, rows split across threads (each row is
 * converted on its own, so the result does not depend on the split). */
static lc_status fill_converted(void *user, void *dst, size_t nbytes, lc_error *err) {
    const conv_job *j = user;
    const lc_tensor *t = j->src;
    size_t src_row, dst_row;
    lc_status st;
    if ((st = lc_dtype_row_bytes(t->type, t->cols, &src_row, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(j->dst, t->cols, &dst_row, err)) != LC_OK)
        return st;
    if (dst_row * (size_t)t->rows != nbytes)
        return lc_fail(err, LC_ERR_INTERNAL, "model writer: %s: size mismatch", j->name);
    int n_threads = omp_get_max_threads();
    if ((int64_t)n_threads > t->rows) n_threads = (int)t->rows;
    float *scratch = lc_malloc_aligned((size_t)n_threads * (size_t)t->cols * sizeof(float));
    if (!scratch) return lc_fail(err, LC_ERR_NOMEM, "model writer: out of memory converting %s", j->name);
    const int64_t rows = t->rows, cols = t->cols;
    int64_t bad_row = -1;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++) {
        float *x = scratch + (size_t)omp_get_thread_num() * (size_t)cols;
        lc_row_to_f32(t->type, (const uint8_t *)t->data + (size_t)r * src_row, x, cols, NULL); /* validated */
        if (lc_quant_row_from_f32(j->dst, x, (uint8_t *)dst + (size_t)r * dst_row, cols, NULL) != LC_OK) {
#pragma omp critical(lc_model_writer_bad_row)
            if (bad_row < 0 || r < bad_row) bad_row = r;
        }
    }
    lc_free_aligned(scratch);
    if (bad_row >= 0)
        return lc_fail(err, LC_ERR_FORMAT, "model writer: %s row %lld has a value that is not finite", j->name,
                       (long long)bad_row);
    return LC_OK;
}

typedef struct {
    lc_gguf_writer *w;
    conv_job *jobs;
    int64_t n_jobs;
    const lc_quant_spec *spec; /* NULL: keep each tensor's type */
    lc_quant_plan plan;
    bool any_block;
} write_ctx;

/* The type a tensor is stored as: norms f32; matrices as the spec's rules
 * say (lc_quant_choose: fallbacks for rows that are not whole blocks), or
 * their own type without a spec. */
static lc_dtype target_type(write_ctx *x, const char *name, const lc_tensor *t) {
    if (t->rows == 1) return LC_DTYPE_F32;
    if (!x->spec) return t->type;
    return lc_quant_choose(x->spec, &x->plan, name, 2, t->cols, t->type, NULL);
}

static lc_status add(write_ctx *x, const char *name, const lc_tensor *t, lc_error *err) {
    lc_dtype d = target_type(x, name, t);
    x->any_block |= lc_dtype_block(d) > 1;
    int64_t ne[2] = {t->cols, t->rows};
    uint32_t n_dims = t->rows == 1 ? 1 : 2;
    if (d == t->type) return lc_gguf_add_tensor(x->w, name, d, n_dims, ne, t->data, err);
    conv_job *j = &x->jobs[x->n_jobs++];
    j->src = t;
    j->dst = d;
    snprintf(j->name, sizeof j->name, "%s", name);
    return lc_gguf_add_tensor_fn(x->w, name, d, n_dims, ne, fill_converted, j, err);
}

static uint32_t file_type_of(lc_dtype t) {
    switch (t) {
    case LC_DTYPE_F16: return LC_GGUF_FILE_TYPE_MOSTLY_F16;
    case LC_DTYPE_BF16: return LC_GGUF_FILE_TYPE_MOSTLY_BF16;
    case LC_DTYPE_Q8_0: return LC_GGUF_FILE_TYPE_MOSTLY_Q8_0;
    default: return LC_GGUF_FILE_TYPE_ALL_F32;
    }
}

/* "dir/stories15M.gguf" -> "stories15M" for general.name. */
static void base_name(const char *path, char *buf, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, cap, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
    if (!buf[0]) snprintf(buf, cap, "longctx");
}

lc_status lc_model_gguf_write_base_keys(lc_gguf_writer *w, const char *path, const lc_model_config *c,
                                        uint32_t file_type, lc_error *err) {
    char name[256];
    base_name(path, name, sizeof name);
    lc_status st;
#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        if ((st = (call)) != LC_OK) return st;                                                                         \
    } while (0)
    const char *a = c->arch; /* "llama" or "qwen2": the prefix of every model key */
    char key[96];
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", a, suffix), key)
    TRY(lc_gguf_set_str(w, "general.architecture", a, err));
    TRY(lc_gguf_set_str(w, "general.name", name, err));
    TRY(lc_gguf_set_u32(w, "general.alignment", LC_GGUF_DEFAULT_ALIGNMENT, err));
    TRY(lc_gguf_set_u32(w, "general.file_type", file_type, err));
    TRY(lc_gguf_set_u32(w, K("context_length"), (uint32_t)c->ctx_train, err));
    TRY(lc_gguf_set_u32(w, K("embedding_length"), (uint32_t)c->dim, err));
    TRY(lc_gguf_set_u32(w, K("block_count"), (uint32_t)c->n_layers, err));
    TRY(lc_gguf_set_u32(w, K("feed_forward_length"), (uint32_t)c->hidden_dim, err));
    TRY(lc_gguf_set_u32(w, K("attention.head_count"), (uint32_t)c->n_heads, err));
    TRY(lc_gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)c->n_kv_heads, err));
    TRY(lc_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), c->norm_eps, err));
    if ((int64_t)c->head_dim * c->n_heads != c->dim) {
        TRY(lc_gguf_set_u32(w, K("attention.key_length"), (uint32_t)c->head_dim, err));
        TRY(lc_gguf_set_u32(w, K("attention.value_length"), (uint32_t)c->head_dim, err));
    }
    TRY(lc_gguf_set_u32(w, K("vocab_size"), (uint32_t)c->vocab_size, err));
    const lc_rope_config *r = &c->rope;
    TRY(lc_gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)r->n_dims, err));
    TRY(lc_gguf_set_f32(w, K("rope.freq_base"), r->freq_base, err));
    switch (r->scaling) {
    case LC_ROPE_SCALING_NONE: break;
    case LC_ROPE_SCALING_LINEAR:
    case LC_ROPE_SCALING_YARN:
        TRY(lc_gguf_set_str(w, K("rope.scaling.type"), r->scaling == LC_ROPE_SCALING_YARN ? "yarn" : "linear", err));
        TRY(lc_gguf_set_f32(w, K("rope.scaling.factor"), r->factor, err));
        TRY(lc_gguf_set_u32(w, K("rope.scaling.original_context_length"), (uint32_t)r->orig_ctx, err));
        if (r->scaling == LC_ROPE_SCALING_YARN) {
            TRY(lc_gguf_set_f32(w, K("rope.scaling.yarn_beta_fast"), r->beta_fast, err));
            TRY(lc_gguf_set_f32(w, K("rope.scaling.yarn_beta_slow"), r->beta_slow, err));
            if (r->ext_factor >= 0.0f) TRY(lc_gguf_set_f32(w, K("rope.scaling.yarn_ext_factor"), r->ext_factor, err));
        }
        break;
    default:
        /* ntk / dynamic-ntk: llama.cpp has no such key, and would read
         * llama.rope.scaling.factor as linear scaling, so ours are apart. */
        TRY(lc_gguf_set_str(w, "longctx.rope.scaling.type", lc_rope_scaling_name(r->scaling), err));
        TRY(lc_gguf_set_f32(w, "longctx.rope.scaling.factor", r->factor, err));
        TRY(lc_gguf_set_u32(w, "longctx.rope.scaling.original_context_length", (uint32_t)r->orig_ctx, err));
        break;
    }
    if (r->attn_factor != 1.0f) TRY(lc_gguf_set_f32(w, K("rope.scaling.attn_factor"), r->attn_factor, err));
    if (c->attention[0]) TRY(lc_gguf_set_str(w, "longctx.attention", c->attention, err));
#undef K
#undef TRY
    return LC_OK;
}

/* Plain llama, or qwen2: llama's machinery plus q/k/v biases and NEOX RoPE
 * (which llama.cpp takes from the architecture name). */
static bool writable_family(const lc_model_config *c) {
    if (strcmp(c->arch, "llama") == 0) return lc_family_is_plain(&c->fam);
    if (strcmp(c->arch, "qwen2") != 0 || c->rope.layout != LC_ROPE_NEOX) return false;
    lc_family f = c->fam;
    if (f.flags != LC_ARCH_QKV_BIAS) return false;
    f.flags = 0;
    return lc_family_is_plain(&f);
}

static lc_status check_weights(const lc_model_config *c, const lc_model_weights *w, lc_error *err) {
    lc_status st;
    if ((st = lc_tensor_check(&w->tok_embd, "token_embd", c->vocab_size, c->dim, err)) != LC_OK ||
        (st = lc_tensor_check(&w->output_norm, "output_norm", 1, c->dim, err)) != LC_OK)
        return st;
    if (!c->tied_output && (st = lc_tensor_check(&w->output, "output", c->vocab_size, c->dim, err)) != LC_OK)
        return st;
    if (!w->layers) return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: no layers");
    char name[64];
    for (int32_t l = 0; l < c->n_layers; l++)
        for (int id = 0; id < LC_W_LAYER_COUNT; id++) {
            int64_t rows, cols;
            lc_layer_weight_shape(c, (lc_layer_weight_id)id, &rows, &cols);
            snprintf(name, sizeof name, "blk.%d.%s", (int)l, lc_layer_weight_name((lc_layer_weight_id)id));
            st = lc_tensor_check(lc_layer_weight_const(&w->layers[l], (lc_layer_weight_id)id), name, rows, cols, err);
            if (st != LC_OK) return st;
        }
    if (c->fam.flags & LC_ARCH_QKV_BIAS)
        for (int32_t l = 0; l < c->n_layers; l++) {
            const lc_layer_weights *L = &w->layers[l];
            const int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
            snprintf(name, sizeof name, "blk.%d.attn_qkv.bias", (int)l);
            if ((st = lc_tensor_check(&L->bq, name, 1, q, err)) != LC_OK ||
                (st = lc_tensor_check(&L->bk, name, 1, kv, err)) != LC_OK ||
                (st = lc_tensor_check(&L->bv, name, 1, kv, err)) != LC_OK)
                return st;
            if (L->bq.type != LC_DTYPE_F32 || L->bk.type != LC_DTYPE_F32 || L->bv.type != LC_DTYPE_F32)
                return lc_fail(err, LC_ERR_UNSUPPORTED, "model writer: %s: biases must be f32", name);
        }
    return LC_OK;
}

lc_status lc_model_write_gguf(const char *path, const lc_model_config *c, const lc_model_weights *w,
                              const lc_tokenizer *tok, lc_dtype type, lc_error *err) {
    lc_quant_spec spec;
    if (type != LC_DTYPE_COUNT && !lc_quant_spec_pure(type, &spec))
        return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: longctx cannot write weight type %s (%d)",
                       lc_dtype_name(type), (int)type);
    return lc_model_write_gguf_spec(path, c, w, tok, type == LC_DTYPE_COUNT ? NULL : &spec, err);
}

lc_status lc_model_write_gguf_spec(const char *path, const lc_model_config *c, const lc_model_weights *w,
                                   const lc_tokenizer *tok, const lc_quant_spec *spec, lc_error *err) {
    if (!path || !c || !w) return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: NULL argument");
    lc_status st = lc_model_config_validate(c, err);
    if (st != LC_OK) return st;
    if (!writable_family(c))
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "model writer: only plain llama models are written (and qwen2: llama with q/k/v biases); "
                       "this %s model's family machinery would be lost",
                       c->arch);
    if (c->ctx_train > UINT32_MAX || c->rope.orig_ctx > UINT32_MAX)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "model writer: context length %lld does not fit GGUF's u32 key",
                       (long long)c->ctx_train);
    if ((st = check_weights(c, w, err)) != LC_OK) return st;
    if (tok && lc_tokenizer_n_vocab(tok) > c->vocab_size)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: tokenizer has %d tokens, the model %d embeddings",
                       lc_tokenizer_n_vocab(tok), c->vocab_size);

    int64_t n_tensors = (int64_t)c->n_layers * (LC_W_LAYER_COUNT + 3) + 4;
    /* Llama-3's frequency factors go back as the rope_freqs tensor (f32). */
    const lc_tensor factors = {LC_DTYPE_F32, 1, c->rope.n_factors, c->rope.factors};
    write_ctx x = {NULL, calloc((size_t)n_tensors, sizeof(conv_job)), 0, spec, {0}, false};
    if (!x.jobs) return lc_fail(err, LC_ERR_NOMEM, "model writer: out of memory");
    if ((st = lc_gguf_writer_create(&x.w, err)) != LC_OK) {
        free(x.jobs);
        return st;
    }
    lc_quant_plan_init(&x.plan, c->n_layers, c->n_layers, !c->tied_output);
    st = lc_model_gguf_write_base_keys(x.w, path, c, spec ? spec->file_type : file_type_of(w->layers[0].wq.type), err);
    if (st == LC_OK && tok) st = lc_tokenizer_to_gguf(tok, x.w, err);
    /* No vocabulary: say so as llama.cpp's converters do, so that llama.cpp
     * loads the file (it refuses one without the key) and runs token ids. */
    if (st == LC_OK && !tok) st = lc_gguf_set_str(x.w, "tokenizer.ggml.model", "none", err);
    if (st == LC_OK) st = add(&x, "token_embd.weight", &w->tok_embd, err);
    if (st == LC_OK) st = add(&x, "output_norm.weight", &w->output_norm, err);
    if (st == LC_OK && !c->tied_output) st = add(&x, "output.weight", &w->output, err);
    if (st == LC_OK && c->rope.n_factors) st = add(&x, "rope_freqs.weight", &factors, err);
    char name[64];
    for (int32_t l = 0; l < c->n_layers && st == LC_OK; l++)
        for (int id = 0; id < LC_W_LAYER_COUNT && st == LC_OK; id++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, lc_layer_weight_name((lc_layer_weight_id)id));
            st = add(&x, name, lc_layer_weight_const(&w->layers[l], (lc_layer_weight_id)id), err);
            if (st == LC_OK && id == LC_W_V && (c->fam.flags & LC_ARCH_QKV_BIAS)) {
                const lc_layer_weights *L = &w->layers[l];
                const lc_tensor *b[3] = {&L->bq, &L->bk, &L->bv};
                const char *bn[3] = {"attn_q", "attn_k", "attn_v"};
                for (int k = 0; k < 3 && st == LC_OK; k++) {
                    snprintf(name, sizeof name, "blk.%d.%s.bias", (int)l, bn[k]);
                    st = add(&x, name, b[k], err);
                }
            }
        }
    if (st == LC_OK && x.any_block) st = lc_gguf_set_u32(x.w, "general.quantization_version", 2, err);
    if (st == LC_OK) st = lc_gguf_write(x.w, path, LC_GGUF_DEFAULT_ALIGNMENT, err);
    lc_gguf_writer_free(x.w);
    free(x.jobs);
    return st;
}
