/*
 * lc_model_write_random_gguf: a GGUF model of the gpt-oss or qwen3next
 * family (mixture of experts, learned sinks, window layers, Gated DeltaNet)
 * with seeded random weights, written straight to disk: each tensor is
 * generated while the writer asks for its bytes, so memory holds one tensor,
 * never the model. The tensor list is the loader's own table
 * (lc_model_layer_tensor_descs), so what is written is what loads.
 *
 * Values: matrices N(0, 0.02) in the spec's type (llama.cpp's rules and
 * fallbacks, as convert); norms 1; biases, sinks and the shared expert's
 * gate vector N(0, 0.02) in f32; DeltaNet's A = -a with a uniform in
 * [1, 16] (transformers' A_log init), dt bias 1, and the short convolution
 * N(0, 1/sqrt(K)) in f32 (the runtime needs it f32). Rows come from
 * random.c's (seed, tensor, row) streams: the file does not depend on the
 * number of threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "longctx/quant.h"
#include "model/model_internal.h"

#define RANDOM_STD 0.02f

typedef enum { FILL_NORMAL, FILL_ONES, FILL_NEG_A, FILL_CONST_ONE, FILL_CONV } fill_kind;

typedef struct {
    char name[96];
    lc_dtype type;
    int64_t rows, cols; /* rows of all experts together */
    fill_kind kind;
    int64_t id; /* stream id: the tensor's index in the file */
    uint64_t seed;
    int32_t conv_kernel;
    const float *cs;
} random_job;

static bool ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static fill_kind kind_of(const char *name, int64_t rows, int64_t exps) {
    if (ends_with(name, "ssm_a")) return FILL_NEG_A;
    if (ends_with(name, "ssm_dt.bias")) return FILL_CONST_ONE;
    if (ends_with(name, "ssm_conv1d.weight")) return FILL_CONV;
    if (rows == 1 && exps == 0 && ends_with(name, "norm.weight")) return FILL_ONES;
    return FILL_NORMAL;
}

static lc_status fill_random(void *user, void *dst, size_t nbytes, lc_error *err) {
    const random_job *j = user;
    size_t row_bytes;
    lc_status st = lc_dtype_row_bytes(j->type, j->cols, &row_bytes, err);
    if (st != LC_OK) return st;
    if (row_bytes * (size_t)j->rows != nbytes)
        return lc_fail(err, LC_ERR_INTERNAL, "random model: %s: size mismatch", j->name);
    int n_threads = omp_get_max_threads();
    if ((int64_t)n_threads > j->rows) n_threads = (int)j->rows;
    float *scratch = lc_malloc_aligned((size_t)n_threads * (size_t)j->cols * sizeof(float));
    if (!scratch) return lc_fail(err, LC_ERR_NOMEM, "random model: out of memory for %s", j->name);
    const int64_t rows = j->rows, cols = j->cols;
    int bad = 0;
#pragma omp parallel for schedule(dynamic, 16) num_threads(n_threads) reduction(| : bad)
    for (int64_t r = 0; r < rows; r++) {
        float *x = scratch + (size_t)omp_get_thread_num() * (size_t)cols;
        switch (j->kind) {
        case FILL_ONES:
        case FILL_CONST_ONE:
            for (int64_t i = 0; i < cols; i++) x[i] = 1.0f;
            break;
        case FILL_NEG_A: /* -a, a = 1 + 15 u with u = |N(0,1)| folded into [0, 1) */
            lc_random_normal_row(j->seed, j->id, r, x, cols, 1.0f, j->cs);
            for (int64_t i = 0; i < cols; i++) {
                float u = fabsf(x[i]) / 6.0f;
                x[i] = -(1.0f + 15.0f * (u < 1.0f ? u : 1.0f));
            }
            break;
        case FILL_CONV:
            lc_random_normal_row(j->seed, j->id, r, x, cols, 1.0f / sqrtf((float)j->conv_kernel), j->cs);
            break;
        default: lc_random_normal_row(j->seed, j->id, r, x, cols, RANDOM_STD, j->cs); break;
        }
        if (lc_quant_row_from_f32(j->type, x, (uint8_t *)dst + (size_t)r * row_bytes, cols, NULL) != LC_OK) bad |= 1;
    }
    lc_free_aligned(scratch);
    if (bad) return lc_fail(err, LC_ERR_INTERNAL, "random model: cannot store %s as %s", j->name, lc_dtype_name(j->type));
    return LC_OK;
}

typedef struct {
    lc_gguf_writer *w;
    random_job *jobs;
    int64_t n_jobs, cap;
    const lc_quant_spec *spec;
    lc_quant_plan plan;
    uint64_t seed;
    int32_t conv_kernel;
    const float *cs;
    bool any_block;
} writer;

/* Add tensor `name` [rows, cols] (a stack of exps experts when exps > 0). */
static lc_status add(writer *x, const char *name, int64_t rows, int64_t cols, int64_t exps, lc_error *err) {
    if (x->n_jobs >= x->cap) return lc_fail(err, LC_ERR_INTERNAL, "random model: tensor count");
    random_job *j = &x->jobs[x->n_jobs];
    snprintf(j->name, sizeof j->name, "%s", name);
    j->kind = kind_of(name, rows, exps);
    const bool vec = rows == 1 && exps == 0;
    const uint32_t n_dims = exps > 0 ? 3 : vec ? 1 : 2;
    /* f32: vectors, biases, the convolution; else the spec's rules */
    lc_dtype t = LC_DTYPE_F32;
    if (!vec && j->kind == FILL_NORMAL && ends_with(name, ".weight"))
        t = lc_quant_choose(x->spec, &x->plan, name, n_dims, cols, LC_DTYPE_F32, NULL);
    x->any_block |= lc_dtype_block(t) > 1;
    j->type = t;
    j->rows = exps > 0 ? rows * exps : rows;
    j->cols = cols;
    j->id = x->n_jobs;
    j->seed = x->seed;
    j->conv_kernel = x->conv_kernel;
    j->cs = x->cs;
    x->n_jobs++;
    const int64_t ne[3] = {cols, rows, exps > 0 ? exps : 1};
    return lc_gguf_add_tensor_fn(x->w, name, t, n_dims, ne, fill_random, j, err);
}

static lc_status family_keys(lc_gguf_writer *w, const lc_model_config *c, lc_error *err) {
    const lc_family *f = &c->fam;
    char key[96];
    lc_status st = LC_OK;
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", c->arch, suffix), key)
#define U32(suffix, v)                                                                                                \
    do {                                                                                                              \
        if (st == LC_OK) st = lc_gguf_set_u32(w, K(suffix), (uint32_t)(v), err);                                      \
    } while (0)
    if ((int64_t)c->head_dim * c->n_heads == c->dim) { /* the base keys leave them out then; the families write them */
        U32("attention.key_length", c->head_dim);
        U32("attention.value_length", c->head_dim);
    }
    if (f->flags & LC_ARCH_MOE) {
        U32("expert_count", f->n_experts);
        U32("expert_used_count", f->n_experts_used);
        U32("expert_feed_forward_length", f->expert_ffn);
        if (f->shared_ffn > 0) U32("expert_shared_feed_forward_length", f->shared_ffn);
    }
    if (f->window > 0) U32("attention.sliding_window", f->window);
    if (f->flags & LC_ARCH_DELTANET) {
        U32("full_attention_interval", f->full_attn_interval);
        U32("ssm.conv_kernel", f->ssm_conv_kernel);
        U32("ssm.state_size", f->ssm_d_k);
        U32("ssm.group_count", f->ssm_n_k_heads);
        U32("ssm.time_step_rank", f->ssm_n_v_heads);
        U32("ssm.inner_size", (int64_t)f->ssm_n_v_heads * f->ssm_d_v);
    }
#undef U32
#undef K
    return st;
}

/* The family parameters the file's keys carry, checked before anything is
 * written (the loader would refuse the same file). */
static lc_status check_family(const lc_model_config *c, lc_error *err) {
    const lc_family *f = &c->fam;
    if (strcmp(c->arch, "gpt-oss") != 0 && strcmp(c->arch, "qwen3next") != 0)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "random model writer: architecture '%s' (gpt-oss and qwen3next are written here; llama and "
                       "qwen2 by lc_model_create_random)", c->arch);
    const lc_arch_desc *d = lc_arch_find(c->arch);
    if (!d || f->flags != d->flags)
        return lc_fail(err, LC_ERR_INVALID_ARG, "random model writer: the %s family flags are not the table's "
                       "(call lc_model_family_defaults)", c->arch);
    if (f->n_experts < 1 || f->n_experts > 65536 || f->n_experts_used < 1 || f->n_experts_used > f->n_experts ||
        f->expert_ffn < 1 || f->shared_ffn < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "random model writer: %d experts, %d used, expert ffn %d, shared ffn %d (need 1 <= used <= "
                       "experts <= 65536, ffn >= 1)", f->n_experts, f->n_experts_used, f->expert_ffn, f->shared_ffn);
    if (f->flags & LC_ARCH_DELTANET) {
        if (f->full_attn_interval < 1 || f->full_attn_interval > c->n_layers || f->ssm_conv_kernel < 1 ||
            f->ssm_conv_kernel > 64 || f->ssm_d_k < 1 || f->ssm_d_k > 1024 || f->ssm_d_v < 1 || f->ssm_d_v > 1024 ||
            f->ssm_n_k_heads < 1 || f->ssm_n_v_heads < 1 || f->ssm_n_v_heads % f->ssm_n_k_heads)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "random model writer: DeltaNet shape: attention every %d of %d layers, conv %d, key heads "
                           "%d x %d, value heads %d x %d (value heads a multiple of key heads, dims <= 1024, conv "
                           "<= 64)", f->full_attn_interval, c->n_layers, f->ssm_conv_kernel, f->ssm_n_k_heads,
                           f->ssm_d_k, f->ssm_n_v_heads, f->ssm_d_v);
    }
    if (f->window < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "random model writer: window %lld", (long long)f->window);
    if (c->n_layers > 65536)
        return lc_fail(err, LC_ERR_TOO_LARGE, "random model writer: %d layers (at most 65536)", c->n_layers);
    if (c->ctx_train > UINT32_MAX || c->rope.orig_ctx > UINT32_MAX)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "random model writer: context length %lld does not fit GGUF's u32 key",
                       (long long)c->ctx_train);
    return LC_OK;
}

lc_status lc_model_write_random_gguf(const char *path, const lc_model_config *c, const lc_quant_spec *spec,
                                     uint64_t seed, lc_error *err) {
    if (!path || !c || !spec) return lc_fail(err, LC_ERR_INVALID_ARG, "random model writer: NULL argument");
    lc_status st = lc_model_config_validate(c, err);
    if (st != LC_OK) return st;
    if ((st = check_family(c, err)) != LC_OK) return st;
    const int64_t n_max = (int64_t)c->n_layers * LC_LAYER_TENSORS_MAX + 3;
    writer x;
    memset(&x, 0, sizeof x);
    x.jobs = calloc((size_t)n_max, sizeof *x.jobs);
    x.cap = n_max;
    x.spec = spec;
    x.seed = seed;
    x.conv_kernel = c->fam.ssm_conv_kernel > 0 ? c->fam.ssm_conv_kernel : 1;
    float *cs = lc_random_angles();
    x.cs = cs;
    if (!x.jobs || !cs) {
        free(x.jobs);
        free(cs);
        return lc_fail(err, LC_ERR_NOMEM, "random model writer: out of memory");
    }
    if ((st = lc_gguf_writer_create(&x.w, err)) != LC_OK) {
        free(x.jobs);
        free(cs);
        return st;
    }
    /* every layer has one attn_v or (DeltaNet) attn_qkv: the rules' count */
    lc_quant_plan_init(&x.plan, c->n_layers, c->n_layers, !c->tied_output);
    st = lc_model_gguf_write_base_keys(x.w, path, c, spec->file_type, err);
    if (st == LC_OK) st = family_keys(x.w, c, err);
    if (st == LC_OK) st = lc_gguf_set_str(x.w, "tokenizer.ggml.model", "none", err);
    if (st == LC_OK) st = add(&x, "token_embd.weight", c->vocab_size, c->dim, 0, err);
    if (st == LC_OK) st = add(&x, "output_norm.weight", 1, c->dim, 0, err);
    if (st == LC_OK && !c->tied_output) st = add(&x, "output.weight", c->vocab_size, c->dim, 0, err);
    lc_layer_tensor_desc lt[LC_LAYER_TENSORS_MAX];
    char name[96];
    for (int32_t l = 0; l < c->n_layers && st == LC_OK; l++) {
        const int n = lc_model_layer_tensor_descs(c, l, lt);
        for (int i = 0; i < n && st == LC_OK; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", (int)l, lt[i].suffix);
            st = add(&x, name, lt[i].rows, lt[i].cols, lt[i].exps, err);
        }
    }
    if (st == LC_OK && x.any_block) st = lc_gguf_set_u32(x.w, "general.quantization_version", 2, err);
    if (st == LC_OK) st = lc_gguf_write(x.w, path, LC_GGUF_DEFAULT_ALIGNMENT, err);
    lc_gguf_writer_free(x.w);
    free(x.jobs);
    free(cs);
    return st;
}
