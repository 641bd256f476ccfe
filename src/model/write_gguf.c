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

typedef struct {
    const lc_tensor *src;
    lc_dtype dst;
    char name[64];
} conv_job;

/* Convert one row of n elements: src (any type) -> f32 scratch -> dst type. */
static void convert_row(lc_dtype st, const uint8_t *s, lc_dtype dt, uint8_t *d, float *x, int64_t n) {
    lc_row_to_f32(st, s, x, n, NULL); /* types and sizes were validated */
    switch (dt) {
    case LC_DTYPE_F32: memcpy(d, x, (size_t)n * sizeof(float)); break;
    case LC_DTYPE_F16: lc_f32_to_f16_row(x, (uint16_t *)(void *)d, n); break;
    case LC_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = lc_f32_to_bf16(x[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        break;
    case LC_DTYPE_Q8_0: lc_quantize_row_q8_0(x, (lc_block_q8_0 *)(void *)d, n); break;
    default: break;
    }
}

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
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++)
        convert_row(t->type, (const uint8_t *)t->data + (size_t)r * src_row, j->dst, (uint8_t *)dst + (size_t)r * dst_row,
                    scratch + (size_t)omp_get_thread_num() * (size_t)cols, cols);
    lc_free_aligned(scratch);
    return LC_OK;
}

/* The type a tensor is stored as: norms f32; matrices `type` (or their own
 * type for LC_DTYPE_COUNT), q8_0 falling back to f16 when a row is not a
 * whole number of blocks. */
static lc_dtype target_type(const lc_tensor *t, lc_dtype type) {
    if (t->rows == 1) return LC_DTYPE_F32;
    lc_dtype d = type == LC_DTYPE_COUNT ? t->type : type;
    if (d == LC_DTYPE_Q8_0 && t->cols % LC_Q8_0_BLOCK) d = LC_DTYPE_F16;
    return d;
}

typedef struct {
    lc_gguf_writer *w;
    conv_job *jobs;
    int64_t n_jobs;
    lc_dtype type;
} write_ctx;

static lc_status add(write_ctx *x, const char *name, const lc_tensor *t, lc_error *err) {
    lc_dtype d = target_type(t, x->type);
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

static lc_status write_config(lc_gguf_writer *w, const char *path, const lc_model_config *c, uint32_t file_type,
                              lc_error *err) {
    char name[256];
    base_name(path, name, sizeof name);
    lc_status st;
#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        if ((st = (call)) != LC_OK) return st;                                                                         \
    } while (0)
    TRY(lc_gguf_set_str(w, "general.architecture", "llama", err));
    TRY(lc_gguf_set_str(w, "general.name", name, err));
    TRY(lc_gguf_set_u32(w, "general.alignment", LC_GGUF_DEFAULT_ALIGNMENT, err));
    TRY(lc_gguf_set_u32(w, "general.file_type", file_type, err));
    TRY(lc_gguf_set_u32(w, "llama.context_length", (uint32_t)c->ctx_train, err));
    TRY(lc_gguf_set_u32(w, "llama.embedding_length", (uint32_t)c->dim, err));
    TRY(lc_gguf_set_u32(w, "llama.block_count", (uint32_t)c->n_layers, err));
    TRY(lc_gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim, err));
    TRY(lc_gguf_set_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads, err));
    TRY(lc_gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads, err));
    TRY(lc_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", c->norm_eps, err));
    if ((int64_t)c->head_dim * c->n_heads != c->dim) {
        TRY(lc_gguf_set_u32(w, "llama.attention.key_length", (uint32_t)c->head_dim, err));
        TRY(lc_gguf_set_u32(w, "llama.attention.value_length", (uint32_t)c->head_dim, err));
    }
    TRY(lc_gguf_set_u32(w, "llama.vocab_size", (uint32_t)c->vocab_size, err));
    const lc_rope_config *r = &c->rope;
    TRY(lc_gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)r->n_dims, err));
    TRY(lc_gguf_set_f32(w, "llama.rope.freq_base", r->freq_base, err));
    switch (r->scaling) {
    case LC_ROPE_SCALING_NONE: break;
    case LC_ROPE_SCALING_LINEAR:
    case LC_ROPE_SCALING_YARN:
        TRY(lc_gguf_set_str(w, "llama.rope.scaling.type", r->scaling == LC_ROPE_SCALING_YARN ? "yarn" : "linear", err));
        TRY(lc_gguf_set_f32(w, "llama.rope.scaling.factor", r->factor, err));
        TRY(lc_gguf_set_u32(w, "llama.rope.scaling.original_context_length", (uint32_t)r->orig_ctx, err));
        if (r->scaling == LC_ROPE_SCALING_YARN) {
            TRY(lc_gguf_set_f32(w, "llama.rope.scaling.yarn_beta_fast", r->beta_fast, err));
            TRY(lc_gguf_set_f32(w, "llama.rope.scaling.yarn_beta_slow", r->beta_slow, err));
            if (r->ext_factor >= 0.0f) TRY(lc_gguf_set_f32(w, "llama.rope.scaling.yarn_ext_factor", r->ext_factor, err));
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
    if (r->attn_factor != 1.0f) TRY(lc_gguf_set_f32(w, "llama.rope.scaling.attn_factor", r->attn_factor, err));
    if (c->attention[0]) TRY(lc_gguf_set_str(w, "longctx.attention", c->attention, err));
#undef TRY
    return LC_OK;
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
    return LC_OK;
}

lc_status lc_model_write_gguf(const char *path, const lc_model_config *c, const lc_model_weights *w,
                              const lc_tokenizer *tok, lc_dtype type, lc_error *err) {
    if (!path || !c || !w) return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: NULL argument");
    if (type != LC_DTYPE_COUNT && type != LC_DTYPE_F32 && type != LC_DTYPE_F16 && type != LC_DTYPE_BF16 &&
        type != LC_DTYPE_Q8_0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: unknown weight type %d", (int)type);
    lc_status st = lc_model_config_validate(c, err);
    if (st != LC_OK) return st;
    if (c->ctx_train > UINT32_MAX || c->rope.orig_ctx > UINT32_MAX)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "model writer: context length %lld does not fit GGUF's u32 key",
                       (long long)c->ctx_train);
    if ((st = check_weights(c, w, err)) != LC_OK) return st;
    if (tok && lc_tokenizer_n_vocab(tok) > c->vocab_size)
        return lc_fail(err, LC_ERR_INVALID_ARG, "model writer: tokenizer has %d tokens, the model %d embeddings",
                       lc_tokenizer_n_vocab(tok), c->vocab_size);

    int64_t n_tensors = (int64_t)c->n_layers * LC_W_LAYER_COUNT + 3;
    write_ctx x = {NULL, calloc((size_t)n_tensors, sizeof(conv_job)), 0, type};
    if (!x.jobs) return lc_fail(err, LC_ERR_NOMEM, "model writer: out of memory");
    if ((st = lc_gguf_writer_create(&x.w, err)) != LC_OK) {
        free(x.jobs);
        return st;
    }
    lc_dtype main_type = target_type(&w->layers[0].wq, type);
    st = write_config(x.w, path, c, file_type_of(main_type), err);
    if (st == LC_OK && tok) st = lc_tokenizer_to_gguf(tok, x.w, err);
    if (st == LC_OK) st = add(&x, "token_embd.weight", &w->tok_embd, err);
    if (st == LC_OK) st = add(&x, "output_norm.weight", &w->output_norm, err);
    if (st == LC_OK && !c->tied_output) st = add(&x, "output.weight", &w->output, err);
    char name[64];
    for (int32_t l = 0; l < c->n_layers && st == LC_OK; l++)
        for (int id = 0; id < LC_W_LAYER_COUNT && st == LC_OK; id++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, lc_layer_weight_name((lc_layer_weight_id)id));
            st = add(&x, name, lc_layer_weight_const(&w->layers[l], (lc_layer_weight_id)id), err);
        }
    if (st == LC_OK) st = lc_gguf_write(x.w, path, LC_GGUF_DEFAULT_ALIGNMENT, err);
    lc_gguf_writer_free(x.w);
    free(x.jobs);
    return st;
}
