/*
 * The trainer object: configuration, memory plan, creation (slabs, RoPE
 * table, attention workspaces), the optimizer step, evaluation and the
 * training loop.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/sgemm.h"
#include "train/attn_common.h"
#include "train/trainer_internal.h"

static const char *const backward_names[] = {"flash", "naive"};

const char *lc_train_attn_backward_name(lc_train_attn_backward b) {
    return (unsigned)b < 2 ? backward_names[b] : "?";
}

bool lc_train_attn_backward_parse(const char *s, lc_train_attn_backward *out) {
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, backward_names[i]) == 0) {
            *out = (lc_train_attn_backward)i;
            return true;
        }
    return false;
}

void lc_train_config_init(lc_train_config *c) {
    memset(c, 0, sizeof *c);
    lc_model_config *m = &c->model;
    snprintf(m->arch, sizeof m->arch, "llama");
    m->dim = 128;
    m->hidden_dim = 384;
    m->n_layers = 4;
    m->n_heads = 4;
    m->n_kv_heads = 2;
    m->head_dim = 32;
    m->vocab_size = 256;
    m->norm_eps = 1e-5f;
    m->tied_output = true;
    lc_rope_config_init(&m->rope, 32);
    m->rope.n_dims = 0; /* 0: head_dim (resolved at creation) */
    c->batch = 8;
    c->ctx = 256;
    c->attn_backward = LC_TRAIN_BACKWARD_FLASH;
    c->linear_chunk = 64;
    c->steps = 1000;
    c->lr = 1e-3f;
    c->min_lr = 1e-4f;
    c->warmup = 50;
    c->weight_decay = 0.1f;
    c->beta1 = 0.9f;
    c->beta2 = 0.95f;
    c->adam_eps = 1e-8f;
    c->grad_clip = 1.0f;
    c->seed = 1337;
    c->init_std = 0.02f;
    c->n_threads = 0;
}

/* "" / "softmax" -> softmax; "linear" / "linear:elu" -> linear (elu+1). */
static lc_status parse_attention(const char *a, bool *linear, lc_error *err) {
    if (a[0] == '\0' || strcmp(a, "softmax") == 0 || strcmp(a, "flash") == 0 || strcmp(a, "naive") == 0) {
        *linear = false;
        return LC_OK;
    }
    if (strcmp(a, "linear") == 0 || strcmp(a, "linear:elu") == 0 || strcmp(a, "linear:elu1") == 0) {
        *linear = true;
        return LC_OK;
    }
    return lc_fail(err, LC_ERR_UNSUPPORTED,
                   "training supports softmax attention and linear:elu, not '%s' (window, chunked and other feature "
                   "maps run at inference only)",
                   a);
}

static bool in_range(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

lc_status lc_train_config_validate(const lc_train_config *c, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "train: NULL config");
    const lc_model_config *m = &c->model;
    if (!in_range(m->dim, 1, 65536) || !in_range(m->hidden_dim, 1, 1 << 20) || !in_range(m->n_layers, 1, 1024) ||
        !in_range(m->n_heads, 1, 4096) || !in_range(m->n_kv_heads, 1, 4096) || !in_range(m->vocab_size, 2, 1 << 24))
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "train: model shape out of range (dim %d, hidden %d, layers %d, heads %d, kv heads %d, "
                       "vocab %d)",
                       m->dim, m->hidden_dim, m->n_layers, m->n_heads, m->n_kv_heads, m->vocab_size);
    if (m->n_heads % m->n_kv_heads)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: %d heads are not a multiple of %d KV heads", m->n_heads,
                       m->n_kv_heads);
    if (!in_range(m->head_dim, 2, 512) || m->head_dim % 2)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: head dim %d must be even, 2..512", m->head_dim);
    if (!(m->norm_eps > 0.0f) || !isfinite(m->norm_eps))
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: RMSNorm epsilon must be positive");
    if (m->rope.n_dims > m->head_dim)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: %d RoPE dims exceed head dim %d", m->rope.n_dims, m->head_dim);
    bool linear;
    lc_status st = parse_attention(m->attention, &linear, err);
    if (st != LC_OK) return st;
    if (!in_range(c->batch, 1, 1 << 20) || !in_range(c->ctx, 1, (int64_t)1 << 24))
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: batch %lld and context %lld must be >= 1",
                       (long long)c->batch, (long long)c->ctx);
    int64_t n;
    if (!lc_mul_i64(c->batch, c->ctx, &n) || n > ((int64_t)1 << 31))
        return lc_fail(err, LC_ERR_TOO_LARGE, "train: batch x context = %lld x %lld tokens per step is too many",
                       (long long)c->batch, (long long)c->ctx);
    if ((unsigned)c->attn_backward > LC_TRAIN_BACKWARD_NAIVE)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: unknown attention backward %d", (int)c->attn_backward);
    if (!in_range(c->linear_chunk, 1, 4096))
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: linear chunk %lld must be 1..4096", (long long)c->linear_chunk);
    if (c->steps < 1 || c->warmup < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: steps must be >= 1 and warmup >= 0");
    if (!(c->lr > 0.0f) || !isfinite(c->lr) || !(c->min_lr >= 0.0f) || c->min_lr > c->lr)
        return lc_fail(err, LC_ERR_INVALID_ARG, "train: need 0 <= min lr (%g) <= lr (%g), lr > 0", (double)c->min_lr,
                       (double)c->lr);
    if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay) || !(c->beta1 >= 0.0f && c->beta1 < 1.0f) ||
        !(c->beta2 >= 0.0f && c->beta2 < 1.0f) || !(c->adam_eps > 0.0f) || !isfinite(c->grad_clip) ||
        !(c->init_std >= 0.0f) || !isfinite(c->init_std))
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "train: optimizer settings out of range (wd >= 0, 0 <= betas < 1, eps > 0, std >= 0)");
    return LC_OK;
}

/* The model config with defaults resolved (rope dims, ctx_train, arch). */
static lc_model_config resolved_model(const lc_train_config *c) {
    lc_model_config m = c->model;
    if (m.rope.n_dims <= 0) m.rope.n_dims = m.head_dim;
    if (m.ctx_train < c->ctx) m.ctx_train = c->ctx;
    if (m.rope.orig_ctx <= 0 && m.rope.scaling != LC_ROPE_SCALING_NONE) m.rope.orig_ctx = c->ctx;
    if (m.arch[0] == '\0') snprintf(m.arch, sizeof m.arch, "llama");
    if (strcmp(m.attention, "softmax") == 0) m.attention[0] = '\0';
    if (strcmp(m.attention, "linear") == 0 || strcmp(m.attention, "linear:elu1") == 0)
        snprintf(m.attention, sizeof m.attention, "linear:elu");
    return m;
}

/* Everything sized from the config; t has cfg, mcfg, linear, n_threads, the
 * size table and the attention shape set. */
static lc_status size_everything(lc_trainer *t, lc_error *err) {
    lc_train_memory *mem = &t->mem;
    const lc_model_config *m = &t->mcfg;
    memset(mem, 0, sizeof *mem);
    mem->n_params = 0;
    for (int32_t i = 0; i < t->n_tensors; i++) mem->n_params += (int64_t)t->tensors[i].numel;
    mem->params = mem->grads = t->n_floats * sizeof(float);
    mem->moments = 2 * mem->params;
    /* activation slab: size with a NULL base */
    lc_tr_carver cv = {NULL, 0, false};
    lc_tr_acts a;
    memset(&a, 0, sizeof a);
    a.res = (float **)calloc((size_t)m->n_layers + 1, sizeof(float *));
    a.layer = (lc_tr_layer_acts *)calloc((size_t)m->n_layers, sizeof(lc_tr_layer_acts));
    size_t att_floats = 0;
    if (a.res && a.layer) lc_tr_acts_carve(t, &cv, &a, &att_floats);
    const bool ok = a.res && a.layer;
    free(a.res);
    free(a.layer);
    if (!ok) return lc_fail(err, LC_ERR_NOMEM, "train: out of memory");
    if (cv.overflow)
        return lc_fail(err, LC_ERR_TOO_LARGE, "train: the activations of B %lld x T %lld overflow size_t",
                       (long long)t->cfg.batch, (long long)t->cfg.ctx);
    mem->activations = cv.off;
    mem->attention = att_floats * sizeof(float);
    /* attention scratch */
    const lc_tr_attn_shape *s = &t->ashape;
    if (t->linear) t->attn_ws_bytes = lc_tr_linear_ws(s, t->cfg.linear_chunk, t->n_threads);
    else if (t->cfg.attn_backward == LC_TRAIN_BACKWARD_NAIVE) t->attn_ws_bytes = lc_tr_attn_naive_ws(s, t->n_threads);
    else t->attn_ws_bytes = lc_tr_attn_flash_backward_ws(s, t->n_threads);
    t->fwd_ws_bytes = 0;
    if (!t->linear && t->cfg.attn_backward == LC_TRAIN_BACKWARD_FLASH) {
        lc_attn_params_init(&t->fwd, LC_ATTN_FLASH);
        t->fwd.n_threads = t->n_threads;
        t->fwd.force_scalar = t->cfg.force_scalar;
        lc_error e2;
        lc_status st = lc_tr_attn_flash_forward_ws(s, &t->fwd, &t->fwd_ws_bytes, &e2);
        if (st == LC_ERR_UNSUPPORTED) { /* FLASH kernel not available: the reference stands in */
            lc_attn_params_init(&t->fwd, LC_ATTN_NAIVE);
            t->fwd.n_threads = t->n_threads;
            t->fwd.naive_max_bytes = SIZE_MAX;
            st = lc_tr_attn_flash_forward_ws(s, &t->fwd, &t->fwd_ws_bytes, err);
        } else if (st != LC_OK && err) {
            *err = e2;
        }
        if (st != LC_OK) return st;
        snprintf(t->fwd_name, sizeof t->fwd_name, "%s", lc_attn_method_name(t->fwd.method));
    } else {
        snprintf(t->fwd_name, sizeof t->fwd_name, "%s", t->linear ? "linear:elu" : "naive");
    }
    const int64_t N = t->cfg.batch * t->cfg.ctx;
    const int64_t qd = (int64_t)m->n_heads * m->head_dim;
    const int64_t wide = LC_MAX(LC_MAX((int64_t)m->vocab_size, (int64_t)m->hidden_dim), LC_MAX((int64_t)m->dim, qd));
    t->gemm_ws_bytes = lc_sgemm_workspace_bytes(LC_MAX(N, wide), wide, LC_MAX(N, wide), t->n_threads);
    t->n_norm_partials = (t->n_floats + 16383) / 16384;
    mem->scratch = t->attn_ws_bytes + t->fwd_ws_bytes + t->gemm_ws_bytes + t->n_norm_partials * sizeof(double);
    size_t total = 0;
    if (!lc_add_size(mem->params, mem->grads, &total) || !lc_add_size(total, mem->moments, &total) ||
        !lc_add_size(total, mem->activations, &total) || !lc_add_size(total, mem->scratch, &total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "train: memory total overflows size_t");
    mem->total = total;
    return LC_OK;
}

/* Build t's config-derived fields (no slabs). */
static lc_status setup(lc_trainer *t, const lc_train_config *cfg, lc_error *err) {
    lc_status st = lc_train_config_validate(cfg, err);
    if (st != LC_OK) return st;
    t->cfg = *cfg;
    t->mcfg = resolved_model(cfg);
    st = parse_attention(t->mcfg.attention, &t->linear, err);
    if (st != LC_OK) return st;
    t->n_threads = cfg->n_threads > 0 ? cfg->n_threads : lc_cpu_count();
    const lc_model_config *m = &t->mcfg;
    t->ashape = (lc_tr_attn_shape){cfg->batch, cfg->ctx, m->n_heads, m->n_kv_heads, m->head_dim,
                                   1.0f / sqrtf((float)m->head_dim)};
    st = lc_tr_params_layout(t, err);
    if (st != LC_OK) return st;
    return size_everything(t, err);
}

lc_status lc_train_plan(const lc_train_config *c, lc_train_memory *mem, lc_error *err) {
    if (!mem) return lc_fail(err, LC_ERR_INVALID_ARG, "train plan: NULL output");
    lc_trainer t;
    memset(&t, 0, sizeof t);
    lc_status st = setup(&t, c, err);
    if (st == LC_OK) *mem = t.mem;
    free(t.tensors);
    free(t.layer_tensor);
    return st;
}

void lc_trainer_free(lc_trainer *t) {
    if (!t) return;
    lc_free_aligned(t->params);
    lc_free_aligned(t->grads);
    lc_free_aligned(t->m);
    lc_free_aligned(t->v);
    lc_free_aligned(t->act_mem);
    lc_free_aligned(t->attn_ws);
    lc_free_aligned(t->fwd_ws);
    lc_free_aligned(t->gemm_ws);
    free(t->norm_partials);
    free(t->acts.res);
    free(t->acts.layer);
    free(t->tensors);
    free(t->layer_tensor);
    free(t->wlayers);
    lc_rope_cache_free(t->rope);
    free(t);
}

lc_status lc_trainer_create(const lc_train_config *cfg, lc_trainer **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL output");
    *out = NULL;
    lc_trainer *t = (lc_trainer *)calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "trainer: out of memory");
    lc_status st = setup(t, cfg, err);
    if (st != LC_OK) goto fail;
    const size_t avail = lc_mem_available_bytes();
    if (avail && t->mem.total > avail) {
        char need[32], have[32], act[32];
        st = lc_fail(err, LC_ERR_TOO_LARGE,
                     "training needs %s (of which activations %s for B %lld x T %lld%s) but only %s is available",
                     lc_format_bytes((double)t->mem.total, need, sizeof need),
                     lc_format_bytes((double)t->mem.activations, act, sizeof act), (long long)cfg->batch,
                     (long long)cfg->ctx,
                     !t->linear && cfg->attn_backward == LC_TRAIN_BACKWARD_NAIVE ? ", naive backward: try flash" : "",
                     lc_format_bytes((double)avail, have, sizeof have));
        goto fail;
    }
    const size_t pbytes = t->n_floats * sizeof(float);
    const int64_t L = t->mcfg.n_layers;
    t->params = (float *)lc_calloc_aligned(pbytes);
    t->grads = (float *)lc_calloc_aligned(pbytes);
    t->m = (float *)lc_calloc_aligned(pbytes);
    t->v = (float *)lc_calloc_aligned(pbytes);
    t->act_mem = lc_malloc_aligned(t->mem.activations);
    t->attn_ws = t->attn_ws_bytes ? lc_malloc_aligned(t->attn_ws_bytes) : NULL;
    t->fwd_ws = t->fwd_ws_bytes ? lc_malloc_aligned(t->fwd_ws_bytes) : NULL;
    t->gemm_ws = lc_malloc_aligned(t->gemm_ws_bytes);
    t->norm_partials = (double *)calloc(t->n_norm_partials, sizeof(double));
    t->acts.res = (float **)calloc((size_t)L + 1, sizeof(float *));
    t->acts.layer = (lc_tr_layer_acts *)calloc((size_t)L, sizeof(lc_tr_layer_acts));
    t->wlayers = (lc_layer_weights *)calloc((size_t)L, sizeof(lc_layer_weights));
    if (!t->params || !t->grads || !t->m || !t->v || !t->act_mem || (t->attn_ws_bytes && !t->attn_ws) ||
        (t->fwd_ws_bytes && !t->fwd_ws) || !t->gemm_ws || !t->norm_partials || !t->acts.res || !t->acts.layer ||
        !t->wlayers) {
        char need[32];
        st = lc_fail(err, LC_ERR_NOMEM, "trainer: cannot allocate %s",
                     lc_format_bytes((double)t->mem.total, need, sizeof need));
        goto fail;
    }
    lc_tr_carver cv = {(char *)t->act_mem, 0, false};
    size_t att_floats;
    lc_tr_acts_carve(t, &cv, &t->acts, &att_floats);
    t->ex = (lc_tr_exec){t->n_threads, cfg->force_scalar ? LC_ISA_SCALAR : lc_isa_best(), t->gemm_ws, t->gemm_ws_bytes,
                         cfg->force_scalar};
    st = lc_rope_cache_create(&t->mcfg.rope, cfg->ctx, &t->rope, err);
    if (st != LC_OK) goto fail;
    if (t->mcfg.rope.scaling == LC_ROPE_SCALING_DYNAMIC_NTK) {
        st = lc_rope_cache_set_length(t->rope, cfg->ctx, err);
        if (st != LC_OK) goto fail;
    }
    lc_tr_params_init(t);
    lc_tr_weights_views(t);
    *out = t;
    return LC_OK;
fail:
    lc_trainer_free(t);
    return st;
}

void lc_train_config_from_model(lc_train_config *c, const lc_model *mod) {
    const lc_model_config *s = &mod->cfg;
    lc_model_config *m = &c->model;
    snprintf(m->arch, sizeof m->arch, "llama");
    m->dim = s->dim;
    m->hidden_dim = s->hidden_dim;
    m->n_layers = s->n_layers;
    m->n_heads = s->n_heads;
    m->n_kv_heads = s->n_kv_heads;
    m->head_dim = s->head_dim;
    m->vocab_size = s->vocab_size;
    m->norm_eps = s->norm_eps;
    m->rope = s->rope;
    if (m->rope.orig_ctx <= 0) m->rope.orig_ctx = s->ctx_train;
    m->ctx_train = s->ctx_train;
    m->tied_output = s->tied_output;
    snprintf(m->attention, sizeof m->attention, "%s", s->attention);
}

static lc_status copy_tensor(float *dst, const lc_tensor *src, const lc_train_tensor *e, lc_error *err) {
    if (src->rows != e->rows || src->cols != e->cols || !src->data)
        return lc_fail(err, LC_ERR_INVALID_ARG, "init model: %s is %lld x %lld, the trainer expects %lld x %lld",
                       e->name, (long long)src->rows, (long long)src->cols, (long long)e->rows, (long long)e->cols);
    size_t row_bytes;
    lc_status st = lc_dtype_row_bytes(src->type, src->cols, &row_bytes, err);
    if (st != LC_OK) return st;
    for (int64_t r = 0; r < src->rows; r++) {
        st = lc_row_to_f32(src->type, (const char *)src->data + (size_t)r * row_bytes,
                           dst + (size_t)r * (size_t)e->cols, e->cols, err);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}

lc_status lc_trainer_load_weights(lc_trainer *t, const lc_model *mod, lc_error *err) {
    if (!t || !mod) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL argument");
    const lc_model_config *s = &mod->cfg;
    const lc_model_config *d = &t->mcfg;
    if (s->dim != d->dim || s->hidden_dim != d->hidden_dim || s->n_layers != d->n_layers || s->n_heads != d->n_heads ||
        s->n_kv_heads != d->n_kv_heads || s->head_dim != d->head_dim || s->vocab_size != d->vocab_size)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "init model: its shape (dim %d, hidden %d, layers %d, heads %d/%d, head dim %d, vocab %d) "
                       "differs from the trainer's (%d, %d, %d, %d/%d, %d, %d)",
                       s->dim, s->hidden_dim, s->n_layers, s->n_heads, s->n_kv_heads, s->head_dim, s->vocab_size,
                       d->dim, d->hidden_dim, d->n_layers, d->n_heads, d->n_kv_heads, d->head_dim, d->vocab_size);
    if (s->tied_output != t->mcfg.tied_output)
        return lc_fail(err, LC_ERR_INVALID_ARG, "init model: its classifier is %s, the trainer's %s",
                       s->tied_output ? "tied" : "separate", t->mcfg.tied_output ? "tied" : "separate");
    const lc_model_weights *w = &mod->w;
    lc_status st = copy_tensor(lc_tr_p(t, t->params, t->t_embd), &w->tok_embd, &t->tensors[t->t_embd], err);
    for (int64_t l = 0; l < t->mcfg.n_layers && st == LC_OK; l++) {
        const lc_layer_weights *lw = &w->layers[l];
        const lc_tensor *src[LT_COUNT] = {&lw->attn_norm, &lw->wq, &lw->wk, &lw->wv, &lw->wo,
                                          &lw->ffn_norm, &lw->w_gate, &lw->w_up, &lw->w_down};
        for (int k = 0; k < LT_COUNT && st == LC_OK; k++) {
            const int32_t ti = lc_tr_lt(t, l, k);
            st = copy_tensor(lc_tr_p(t, t->params, ti), src[k], &t->tensors[ti], err);
        }
    }
    if (st == LC_OK)
        st = copy_tensor(lc_tr_p(t, t->params, t->t_out_norm), &w->output_norm, &t->tensors[t->t_out_norm], err);
    if (st == LC_OK && !t->mcfg.tied_output)
        st = copy_tensor(lc_tr_p(t, t->params, t->t_out), &w->output, &t->tensors[t->t_out], err);
    if (st != LC_OK) return st;
    memset(t->m, 0, t->n_floats * sizeof(float));
    memset(t->v, 0, t->n_floats * sizeof(float));
    t->step = 0;
    return LC_OK;
}

const lc_train_config *lc_trainer_config(const lc_trainer *t) { return &t->cfg; }
const lc_train_memory *lc_trainer_memory(const lc_trainer *t) { return &t->mem; }
int64_t lc_trainer_step_count(const lc_trainer *t) { return t->step; }
const char *lc_trainer_attn_forward_name(const lc_trainer *t) { return t->fwd_name; }
const lc_model_weights *lc_trainer_weights(const lc_trainer *t) { return &t->weights; }
const lc_model_config *lc_trainer_model_config(const lc_trainer *t) { return &t->mcfg; }
int32_t lc_trainer_n_tensors(const lc_trainer *t) { return t->n_tensors; }

const lc_train_tensor *lc_trainer_tensor(const lc_trainer *t, int32_t i) {
    return i >= 0 && i < t->n_tensors ? &t->tensors[i] : NULL;
}

float *lc_trainer_params(lc_trainer *t, size_t *n) {
    if (n) *n = t->n_floats;
    return t->params;
}

const float *lc_trainer_grads(const lc_trainer *t, size_t *n) {
    if (n) *n = t->n_floats;
    return t->grads;
}

/* Copy a [B, T+1] batch into inputs/targets/weights, checking ids. */
static lc_status load_batch(lc_trainer *t, const int32_t *tokens, const float *weights, lc_error *err) {
    if (!tokens) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL tokens");
    const int64_t B = t->cfg.batch, T = t->cfg.ctx;
    const int32_t V = t->mcfg.vocab_size;
    lc_tr_acts *a = &t->acts;
    for (int64_t b = 0; b < B; b++) {
        const int32_t *row = tokens + b * (T + 1);
        for (int64_t i = 0; i <= T; i++)
            if (row[i] < 0 || row[i] >= V)
                return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: token %d at [%lld, %lld] is outside the vocabulary "
                               "(0..%d)", row[i], (long long)b, (long long)i, V - 1);
        memcpy(a->inputs + b * T, row, (size_t)T * sizeof(int32_t));
        memcpy(a->targets + b * T, row + 1, (size_t)T * sizeof(int32_t));
    }
    for (int64_t i = 0; i < B * T; i++) {
        const float w = weights ? weights[i] : 1.0f;
        if (!(w >= 0.0f) || !isfinite(w))
            return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: loss weight %g at %lld must be finite and >= 0",
                           (double)w, (long long)i);
        a->weights[i] = w;
    }
    return LC_OK;
}

lc_status lc_trainer_logits(lc_trainer *t, const int32_t *tokens, float *logits, lc_error *err) {
    if (!t || !tokens || !logits) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL argument");
    const int64_t N = t->cfg.batch * t->cfg.ctx;
    const int32_t V = t->mcfg.vocab_size;
    lc_tr_acts *a = &t->acts;
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: token %d at %lld is outside the vocabulary (0..%d)",
                           tokens[i], (long long)i, V - 1);
        a->inputs[i] = tokens[i];
        a->targets[i] = 0;
        a->weights[i] = 0.0f;
    }
    double loss, wsum;
    lc_status st = lc_tr_forward(t, false, &loss, &wsum, err);
    if (st == LC_OK) memcpy(logits, a->logits, (size_t)N * (size_t)V * sizeof(float));
    return st;
}

lc_status lc_trainer_loss_grad(lc_trainer *t, const int32_t *tokens, const float *weights, double *loss,
                               lc_error *err) {
    if (!t || !loss) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL argument");
    lc_status st = load_batch(t, tokens, weights, err);
    double wsum;
    if (st == LC_OK) st = lc_tr_forward(t, true, loss, &wsum, err);
    if (st == LC_OK) st = lc_tr_backward(t, err);
    return st;
}

lc_status lc_trainer_eval(lc_trainer *t, const int32_t *tokens, const float *weights, double *loss, lc_error *err) {
    if (!t || !loss) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL argument");
    lc_status st = load_batch(t, tokens, weights, err);
    double wsum;
    if (st == LC_OK) st = lc_tr_forward(t, false, loss, &wsum, err);
    return st;
}

lc_status lc_trainer_step(lc_trainer *t, const int32_t *tokens, const float *weights, lc_train_stats *stats,
                          lc_error *err) {
    if (!t) return lc_fail(err, LC_ERR_INVALID_ARG, "trainer: NULL trainer");
    const double t0 = lc_time_now();
    t->t_matmul = t->t_attn = 0.0;
    lc_status st = load_batch(t, tokens, weights, err);
    double loss = 0.0, wsum = 0.0;
    if (st == LC_OK) st = lc_tr_forward(t, true, &loss, &wsum, err);
    if (st == LC_OK) st = lc_tr_backward(t, err);
    if (st != LC_OK) return st;
    const double norm = lc_tr_grad_norm(t);
    if (!isfinite(loss) || !isfinite(norm))
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "training diverged at step %lld: loss %g, gradient norm %g (lower the learning rate or raise "
                       "the warmup)",
                       (long long)t->step + 1, loss, norm);
    const float clip = t->cfg.grad_clip;
    const float scale = clip > 0.0f && norm > clip ? (float)(clip / norm) : 1.0f;
    const float lr = lc_train_lr_at(&t->cfg, t->step);
    lc_tr_adamw_update(t, lr, scale);
    t->step++;
    if (stats) {
        stats->step = t->step;
        stats->loss = loss;
        stats->grad_norm = norm;
        stats->lr = lr;
        stats->weight_sum = wsum;
        stats->tokens = t->cfg.batch * t->cfg.ctx;
        stats->seconds = lc_time_now() - t0;
        stats->t_matmul = t->t_matmul;
        stats->t_attention = t->t_attn;
    }
    return LC_OK;
}

/* ---- The loop ------------------------------------------------------------ */

static lc_status run_eval(lc_trainer *t, lc_train_data *ed, const void *state0, size_t state_len, int64_t batches,
                          int32_t *tok, float *w, double *out, lc_error *err) {
    lc_status st = ed->set_state(ed, state0, state_len, err); /* the same held-out batches every time */
    double sum = 0.0;
    for (int64_t i = 0; i < batches && st == LC_OK; i++) {
        double l = 0.0;
        st = ed->next(ed, t->cfg.batch, t->cfg.ctx, tok, w, err);
        if (st == LC_OK) st = lc_trainer_eval(t, tok, w, &l, err);
        sum += l;
    }
    *out = batches > 0 ? sum / (double)batches : 0.0;
    return st;
}

lc_status lc_train_run(lc_trainer *t, lc_train_data *data, const lc_train_run_opts *o, lc_error *err) {
    if (!t || !data || !o) return lc_fail(err, LC_ERR_INVALID_ARG, "train run: NULL argument");
    const int64_t B = t->cfg.batch, T = t->cfg.ctx;
    int32_t *tok = (int32_t *)malloc((size_t)(B * (T + 1)) * sizeof(int32_t));
    float *w = (float *)malloc((size_t)(B * T) * sizeof(float));
    void *eval_state = NULL;
    size_t eval_len = 0;
    lc_status st = LC_OK;
    if (!tok || !w) st = lc_fail(err, LC_ERR_NOMEM, "train run: cannot allocate the batch");
    const bool evaluating = o->eval_data && o->eval_every > 0;
    if (st == LC_OK && evaluating) {
        eval_len = o->eval_data->state_size(o->eval_data);
        eval_state = malloc(eval_len ? eval_len : 1);
        if (!eval_state) st = lc_fail(err, LC_ERR_NOMEM, "train run: out of memory");
        else st = o->eval_data->get_state(o->eval_data, eval_state, eval_len, err);
    }
    int64_t saved_at = -1;
    bool stop = false;
    while (st == LC_OK && !stop && t->step < t->cfg.steps) {
        lc_train_stats s;
        st = data->next(data, B, T, tok, w, err);
        if (st == LC_OK) st = lc_trainer_step(t, tok, w, &s, err);
        if (st != LC_OK) break;
        if (o->on_step && !o->on_step(o->user, &s)) stop = true;
        if (evaluating && (t->step % o->eval_every == 0 || t->step == t->cfg.steps)) {
            double el;
            st = run_eval(t, o->eval_data, eval_state, eval_len, o->eval_batches > 0 ? o->eval_batches : 1, tok, w,
                          &el, err);
            if (st != LC_OK) break;
            if (o->on_eval) o->on_eval(o->user, t->step, el);
        }
        if (o->save_path && o->save_every > 0 && t->step % o->save_every == 0) {
            st = lc_trainer_save(t, o->save_path, o->tok, data, err);
            if (st != LC_OK) break;
            saved_at = t->step;
            if (o->on_save) o->on_save(o->user, t->step, o->save_path);
        }
    }
    if (st == LC_OK && o->save_path && saved_at != t->step) {
        st = lc_trainer_save(t, o->save_path, o->tok, data, err);
        if (st == LC_OK && o->on_save) o->on_save(o->user, t->step, o->save_path);
    }
    free(tok);
    free(w);
    free(eval_state);
    return st;
}
