/*
 * lc_model_create_random: a llama model of any shape with seeded weights,
 * for benchmarks and tests. Matrices are N(0, 0.02), norms are 1, the q/k/v
 * biases of a QKV_BIAS family (qwen2) N(0, 0.02) in f32. Every row
 * has its own random stream derived from (seed, tensor, row), so the weights
 * are the same whatever the number of threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "model/model_internal.h"

#define RANDOM_STD 0.02f
#define SLAB_ALIGN 64

/* splitmix64 finaliser: mixes (seed, tensor, row) into a stream seed. */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Box-Muller with the angle drawn from a table of ANGLES (cos, sin) pairs:
 * one 64-bit draw gives two normals (24 bits for the radius, 12 for the
 * angle), about 4x faster than calling cosf/sinf. Moments match N(0, 1)
 * (tests check mean and std); |z| <= 5.8. */
#define ANGLES 4096

static void fill_normal(lc_rng *r, float *x, int64_t n, float std, const float *cs) {
    for (int64_t i = 0; i < n; i += 2) {
        uint64_t b = lc_rng_u64(r);
        float u = ((float)(b >> 40) + 1.0f) * (1.0f / 16777217.0f); /* (0, 1] */
        const float *a = cs + 2 * (b & (ANGLES - 1));
        float rad = std * sqrtf(-2.0f * logf(u));
        x[i] = rad * a[0];
        if (i + 1 < n) x[i + 1] = rad * a[1];
    }
}

void lc_random_normal_row(uint64_t seed, int64_t tensor, int64_t row, float *x, int64_t n, float std, const float *cs) {
    lc_rng rng;
    lc_rng_seed(&rng, mix64(seed ^ mix64(((uint64_t)tensor << 40) ^ (uint64_t)row)));
    fill_normal(&rng, x, n, std, cs);
}

float *lc_random_angles(void) {
    float *cs = malloc(2 * ANGLES * sizeof(float));
    if (!cs) return NULL;
    for (int k = 0; k < ANGLES; k++) {
        double a = 6.283185307179586 * (k + 0.5) / ANGLES;
        cs[2 * k] = (float)cos(a);
        cs[2 * k + 1] = (float)sin(a);
    }
    return cs;
}

/* The type a tensor gets: norms f32; q8_0 falls back to f16 for rows that
 * are not a whole number of blocks (as the GGUF writer does). */
static lc_dtype random_type(int64_t rows, int64_t cols, lc_dtype type) {
    if (rows == 1) return LC_DTYPE_F32;
    if (type == LC_DTYPE_Q8_0 && cols % LC_Q8_0_BLOCK) return LC_DTYPE_F16;
    return type;
}

typedef struct {
    lc_tensor *t;
    size_t off;
} slot;

/* Collect every distinct tensor of the model (output only when untied). */
static int64_t list_tensors(lc_model *m, lc_tensor **out) {
    int64_t n = 0;
    out[n++] = &m->w.tok_embd;
    out[n++] = &m->w.output_norm;
    if (!m->cfg.tied_output) out[n++] = &m->w.output;
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        for (int id = 0; id < LC_W_LAYER_COUNT; id++) out[n++] = lc_layer_weight(&m->w.layers[l], (lc_layer_weight_id)id);
        if (m->cfg.fam.flags & LC_ARCH_QKV_BIAS) {
            out[n++] = &m->w.layers[l].bq;
            out[n++] = &m->w.layers[l].bk;
            out[n++] = &m->w.layers[l].bv;
        }
    }
    return n;
}

static void set_shape(lc_model *m, lc_dtype type) {
    const lc_model_config *c = &m->cfg;
    m->w.tok_embd = (lc_tensor){random_type(c->vocab_size, c->dim, type), c->vocab_size, c->dim, NULL};
    m->w.output_norm = (lc_tensor){LC_DTYPE_F32, 1, c->dim, NULL};
    m->w.output = (lc_tensor){random_type(c->vocab_size, c->dim, type), c->vocab_size, c->dim, NULL};
    for (int32_t l = 0; l < c->n_layers; l++)
        for (int id = 0; id < LC_W_LAYER_COUNT; id++) {
            int64_t rows, cols;
            lc_layer_weight_shape(c, (lc_layer_weight_id)id, &rows, &cols);
            *lc_layer_weight(&m->w.layers[l], (lc_layer_weight_id)id) =
                (lc_tensor){random_type(rows, cols, type), rows, cols, NULL};
        }
    if (c->fam.flags & LC_ARCH_QKV_BIAS) /* f32 vectors, filled N(0, 0.02) (not ones as norms) */
        for (int32_t l = 0; l < c->n_layers; l++) {
            lc_layer_weights *L = &m->w.layers[l];
            L->bq = (lc_tensor){LC_DTYPE_F32, 1, (int64_t)c->n_heads * c->head_dim, NULL};
            L->bk = (lc_tensor){LC_DTYPE_F32, 1, (int64_t)c->n_kv_heads * c->head_dim, NULL};
            L->bv = L->bk;
        }
}

static bool is_bias(const lc_model *m, const lc_tensor *t) {
    if (!(m->cfg.fam.flags & LC_ARCH_QKV_BIAS)) return false;
    for (int32_t l = 0; l < m->cfg.n_layers; l++)
        if (t == &m->w.layers[l].bq || t == &m->w.layers[l].bk || t == &m->w.layers[l].bv) return true;
    return false;
}

/* Fill one tensor; scratch holds n_threads rows of cols floats. */
static void fill_tensor(lc_tensor *t, bool bias, uint64_t seed, int64_t tensor_id, float *scratch, int n_threads,
                        const float *cs) {
    size_t row_bytes = 0;
    lc_dtype_row_bytes(t->type, t->cols, &row_bytes, NULL);
    uint8_t *base = (uint8_t *)(uintptr_t)t->data;
    if (t->rows == 1 && !bias) { /* norm: ones */
        float *x = (float *)(void *)base;
        for (int64_t i = 0; i < t->cols; i++) x[i] = 1.0f;
        return;
    }
    const int64_t rows = t->rows, cols = t->cols;
    const lc_dtype type = t->type;
#pragma omp parallel for schedule(dynamic, 16) num_threads(n_threads)
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *dst = base + (size_t)r * row_bytes;
        float *x = type == LC_DTYPE_F32 ? (float *)(void *)dst : scratch + (size_t)omp_get_thread_num() * (size_t)cols;
        lc_random_normal_row(seed, tensor_id, r, x, cols, RANDOM_STD, cs);
        if (type == LC_DTYPE_F16) lc_f32_to_f16_row(x, (uint16_t *)(void *)dst, cols);
        else if (type == LC_DTYPE_BF16)
            for (int64_t i = 0; i < cols; i++) {
                uint16_t h = lc_f32_to_bf16(x[i]);
                memcpy(dst + 2 * i, &h, 2);
            }
        else if (type == LC_DTYPE_Q8_0) lc_quantize_row_q8_0(x, (lc_block_q8_0 *)(void *)dst, cols);
    }
}

lc_status lc_model_create_random(const lc_model_config *c, lc_dtype type, uint64_t seed, lc_model **out,
                                 lc_error *err) {
    if (!c || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "random model: NULL config or output");
    *out = NULL;
    if (type != LC_DTYPE_F32 && type != LC_DTYPE_F16 && type != LC_DTYPE_BF16 && type != LC_DTYPE_Q8_0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "random model: weight type must be f32, f16, bf16 or q8_0");
    lc_status st = lc_model_config_validate(c, err);
    if (st != LC_OK) return st;
    lc_model *m;
    if ((st = lc_model_alloc(c, &m, err)) != LC_OK) return st;
    snprintf(m->format, sizeof m->format, "random");
    set_shape(m, type);

    int64_t n_max = (int64_t)c->n_layers * (LC_W_LAYER_COUNT + 3) + 3;
    lc_tensor **ts = malloc((size_t)n_max * sizeof *ts);
    if (!ts) {
        lc_model_free(m);
        return lc_fail(err, LC_ERR_NOMEM, "random model: out of memory");
    }
    int64_t n = list_tensors(m, ts);
    /* Sizes first: refuse what would not fit before allocating anything big. */
    size_t total = 0;
    for (int64_t i = 0; i < n && st == LC_OK; i++) {
        size_t row, bytes;
        st = lc_dtype_row_bytes(ts[i]->type, ts[i]->cols, &row, err);
        if (st == LC_OK && (!lc_mul_size(row, (size_t)ts[i]->rows, &bytes) || !lc_add_size(total, bytes, &total) ||
                            !lc_add_size(total, SLAB_ALIGN, &total)))
            st = lc_fail(err, LC_ERR_TOO_LARGE, "random model: weights overflow size_t");
    }
    size_t avail = lc_mem_available_bytes();
    if (st == LC_OK && avail && total > avail) {
        char need[32], have[32];
        st = lc_fail(err, LC_ERR_TOO_LARGE, "random model: %lld parameters as %s need %s, only %s of memory is available",
                     (long long)lc_model_n_params(c), lc_dtype_name(type), lc_format_bytes((double)total, need, sizeof need),
                     lc_format_bytes((double)avail, have, sizeof have));
    }
    if (st == LC_OK && !(m->storage->heap = lc_malloc_aligned(total)))
        st = lc_fail(err, LC_ERR_NOMEM, "random model: cannot allocate %zu bytes", total);
    if (st != LC_OK) {
        free(ts);
        lc_model_free(m);
        return st;
    }
    int n_threads = omp_get_max_threads();
    int64_t max_cols = LC_MAX(LC_MAX(c->dim, c->hidden_dim), (int64_t)c->n_heads * c->head_dim);
    float *scratch = lc_malloc_aligned((size_t)n_threads * (size_t)max_cols * sizeof(float));
    float *cs = lc_random_angles();
    if (!scratch || !cs) {
        lc_free_aligned(scratch);
        free(cs);
        free(ts);
        lc_model_free(m);
        return lc_fail(err, LC_ERR_NOMEM, "random model: out of memory");
    }
    size_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t row = 0;
        lc_dtype_row_bytes(ts[i]->type, ts[i]->cols, &row, NULL);
        ts[i]->data = (uint8_t *)m->storage->heap + off;
        off += (row * (size_t)ts[i]->rows + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
        fill_tensor(ts[i], is_bias(m, ts[i]), seed, i, scratch, n_threads, cs);
    }
    lc_free_aligned(scratch);
    free(cs);
    if (c->tied_output) m->w.output = m->w.tok_embd;
    free(ts);
    *out = m;
    return LC_OK;
}
