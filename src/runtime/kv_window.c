/*
 * Window layers' rings (see kv_cache.h): under the FULL policy a sliding-
 * window layer keeps W + B - 1 slots instead of n_ctx, which is the KV
 * saving of interleaved local/global models (Gemma-2/3, Mistral's window).
 */
#include <stdint.h>
#include <string.h>

#include "runtime/kv_cache.h"

bool lc_kv_wring_bytes(int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t window, int64_t n_chunk,
                       lc_dtype k_type, lc_dtype v_type, size_t *bytes) {
    size_t kr, vr, kb, vb, t;
    const int64_t row = (int64_t)n_head_kv * head_dim;
    if (n_layers < 0 || window < 1 || n_chunk < 1 || window > INT64_MAX - n_chunk ||
        lc_dtype_row_bytes(k_type, row, &kr, NULL) != LC_OK || lc_dtype_row_bytes(v_type, row, &vr, NULL) != LC_OK)
        return false;
    const size_t cap = (size_t)(window + n_chunk - 1);
    return lc_mul3_size(kr, cap, (size_t)n_layers, &kb) && lc_mul3_size(vr, cap, (size_t)n_layers, &vb) &&
           lc_add_size(kb, vb, &t) && lc_add_size(t, cap * sizeof(int64_t), bytes);
}

lc_status lc_kv_wring_init(lc_kv_wring *r, int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t window,
                           int64_t n_chunk, lc_dtype k_type, lc_dtype v_type, lc_error *err) {
    memset(r, 0, sizeof *r);
    size_t total;
    if (n_layers < 1 || !lc_kv_wring_bytes(n_layers, n_head_kv, head_dim, window, n_chunk, k_type, v_type, &total))
        return lc_fail(err, LC_ERR_INVALID_ARG, "window rings: bad shape (%d layers, window %lld, chunk %lld)",
                       n_layers, (long long)window, (long long)n_chunk);
    const int64_t row = (int64_t)n_head_kv * head_dim;
    r->n_layers = n_layers;
    r->window = window;
    r->cap = window + n_chunk - 1;
    r->k_type = k_type;
    r->v_type = v_type;
    lc_dtype_row_bytes(k_type, row, &r->k_row_bytes, NULL);
    lc_dtype_row_bytes(v_type, row, &r->v_row_bytes, NULL);
    r->k = lc_malloc_aligned(r->k_row_bytes * (size_t)r->cap * (size_t)n_layers);
    r->v = lc_malloc_aligned(r->v_row_bytes * (size_t)r->cap * (size_t)n_layers);
    r->pos = lc_malloc_aligned((size_t)r->cap * sizeof(int64_t));
    if (!r->k || !r->v || !r->pos) {
        char need[32];
        lc_kv_wring_free(r);
        return lc_fail(err, LC_ERR_NOMEM, "window rings: cannot allocate %s",
                       lc_format_bytes((double)total, need, sizeof need));
    }
    lc_kv_wring_clear(r);
    return LC_OK;
}

void lc_kv_wring_free(lc_kv_wring *r) {
    lc_free_aligned(r->k);
    lc_free_aligned(r->v);
    lc_free_aligned(r->pos);
    memset(r, 0, sizeof *r);
}

void lc_kv_wring_clear(lc_kv_wring *r) {
    for (int64_t s = 0; s < r->cap; s++) r->pos[s] = INT64_MAX;
    r->hi = 0;
}

void lc_kv_wring_store(lc_kv_wring *r, const lc_kv_cache *main, int32_t i, const float *k, const float *v, int64_t n,
                       int64_t t0, int64_t p0) {
    const int64_t row = (int64_t)main->n_head_kv * main->head_dim;
    char *kl = r->k + (size_t)i * (size_t)r->cap * r->k_row_bytes;
    char *vl = r->v + (size_t)i * (size_t)r->cap * r->v_row_bytes;
    for (int64_t t = 0; t < n;) {
        /* a run of consecutive slots up to the ring's end */
        const int64_t s0 = (t0 + t) % r->cap, run = LC_MIN(n - t, r->cap - s0);
        lc_kv_store_row(main, r->k_type, k + t * row, kl + (size_t)s0 * r->k_row_bytes, run * row);
        lc_kv_store_row(main, r->v_type, v + t * row, vl + (size_t)s0 * r->v_row_bytes, run * row);
        if (i == 0)
            for (int64_t j = 0; j < run; j++) r->pos[s0 + j] = p0 + t + j;
        t += run;
    }
    if (i == 0) r->hi = LC_MAX(r->hi, t0 + n);
}

void lc_kv_wring_rebase(lc_kv_wring *r, const lc_kv_cache *main, const lc_rope_cache *rope, int64_t delta) {
    const int64_t row = (int64_t)main->n_head_kv * main->head_dim;
    float *tmp = main->scratch; /* thread 0's row: this runs between forward passes */
    for (int32_t i = 0; i < r->n_layers; i++) {
        char *kl = r->k + (size_t)i * (size_t)r->cap * r->k_row_bytes;
        for (int64_t s = 0; s < r->cap; s++) {
            if (r->pos[s] == INT64_MAX) continue;
            char *ks = kl + (size_t)s * r->k_row_bytes;
            lc_kernel_to_f32(r->k_type, ks, tmp, row, &main->ko);
            /* cannot fail: the shapes were checked when the context was made */
            lc_rope_cache_rotate_delta(rope, tmp, main->n_head_kv, main->head_dim, delta);
            lc_kv_store_row(main, r->k_type, tmp, ks, row);
        }
    }
    for (int64_t s = 0; s < r->cap; s++)
        if (r->pos[s] != INT64_MAX) r->pos[s] += delta;
}

void lc_kv_wring_shift(lc_kv_wring *r, const lc_kv_cache *main, const lc_rope_cache *rope, int64_t keep, int64_t d) {
    for (int64_t s = 0; s < r->cap; s++) /* the discarded tokens */
        if (r->pos[s] != INT64_MAX && r->pos[s] >= keep && r->pos[s] < keep + d) r->pos[s] = INT64_MAX;
    /* the later ones: rebase the slots at or past keep + d by -d (the prefix
     * below keep stays) */
    const int64_t row = (int64_t)main->n_head_kv * main->head_dim;
    float *tmp = main->scratch;
    for (int32_t i = 0; i < r->n_layers; i++) {
        char *kl = r->k + (size_t)i * (size_t)r->cap * r->k_row_bytes;
        for (int64_t s = 0; s < r->cap; s++) {
            if (r->pos[s] == INT64_MAX || r->pos[s] < keep + d) continue;
            char *ks = kl + (size_t)s * r->k_row_bytes;
            lc_kernel_to_f32(r->k_type, ks, tmp, row, &main->ko);
            lc_rope_cache_rotate_delta(rope, tmp, main->n_head_kv, main->head_dim, -d);
            lc_kv_store_row(main, r->k_type, tmp, ks, row);
        }
    }
    for (int64_t s = 0; s < r->cap; s++)
        if (r->pos[s] != INT64_MAX && r->pos[s] >= keep + d) r->pos[s] -= d;
}

void lc_kv_wring_view(const lc_kv_wring *r, int32_t i, lc_kv_view *view) {
    view->k = r->k + (size_t)i * (size_t)r->cap * r->k_row_bytes;
    view->v = r->v + (size_t)i * (size_t)r->cap * r->v_row_bytes;
    view->n_kv = LC_MIN(r->hi, r->cap);
    view->k_pos = r->pos;
}

bool lc_kv_wring_truncate(lc_kv_wring *r, int64_t n_keep) {
    for (int64_t p = LC_MAX(0, n_keep - r->window + 1); p < n_keep; p++)
        if (r->pos[p % r->cap] != p) return false;
    for (int64_t s = 0; s < r->cap; s++)
        if (r->pos[s] >= n_keep) r->pos[s] = INT64_MAX;
    r->hi = LC_MIN(r->hi, n_keep);
    return true;
}
