/* The KV cache: slots, positions, typed storage (see kv_cache.h). */
#include <string.h>

#include "runtime/kv_cache.h"

static bool kv_type_ok(lc_dtype t) { return t == LC_DTYPE_F32 || t == LC_DTYPE_F16 || t == LC_DTYPE_Q8_0; }

bool lc_kv_cache_bytes(int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t n_slots, lc_dtype k_type,
                       lc_dtype v_type, size_t *bytes) {
    size_t kr, vr, kb, vb, pb, t;
    int64_t row = (int64_t)n_head_kv * head_dim;
    if (lc_dtype_row_bytes(k_type, row, &kr, NULL) != LC_OK || lc_dtype_row_bytes(v_type, row, &vr, NULL) != LC_OK)
        return false;
    if (!lc_mul3_size(kr, (size_t)n_slots, (size_t)n_layers, &kb) ||
        !lc_mul3_size(vr, (size_t)n_slots, (size_t)n_layers, &vb) || !lc_mul_size((size_t)n_slots, 8, &pb) ||
        !lc_add_size(kb, vb, &t) || !lc_add_size(t, pb, bytes))
        return false;
    return true;
}

lc_status lc_kv_cache_init(lc_kv_cache *c, lc_kv_policy policy, int32_t n_layers, int32_t n_head_kv,
                           int32_t head_dim, int64_t n_slots, lc_dtype k_type, lc_dtype v_type, lc_error *err) {
    memset(c, 0, sizeof *c);
    if ((unsigned)policy >= LC_KV_POLICY_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: unknown policy %d", (int)policy);
    if (!kv_type_ok(k_type) || !kv_type_ok(v_type))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "KV cache: types %s/%s unsupported (f32, f16 or q8_0)",
                       lc_dtype_name(k_type), lc_dtype_name(v_type));
    if ((k_type == LC_DTYPE_Q8_0 || v_type == LC_DTYPE_Q8_0) && head_dim % LC_Q8_0_BLOCK)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "KV cache: q8_0 needs a head dim that is a multiple of %d (got %d)",
                       LC_Q8_0_BLOCK, head_dim);
    if (n_layers < 1 || n_head_kv < 1 || head_dim < 1 || n_slots < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: bad shape (%d layers, %d heads, dim %d, %lld slots)",
                       n_layers, n_head_kv, head_dim, (long long)n_slots);
    size_t total;
    if (!lc_kv_cache_bytes(n_layers, n_head_kv, head_dim, n_slots, k_type, v_type, &total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "KV cache of %lld slots overflows size_t", (long long)n_slots);
    c->policy = policy;
    c->n_layers = n_layers;
    c->n_head_kv = n_head_kv;
    c->head_dim = head_dim;
    c->n_slots = n_slots;
    c->k_type = k_type;
    c->v_type = v_type;
    lc_dtype_row_bytes(k_type, (int64_t)n_head_kv * head_dim, &c->k_row_bytes, NULL);
    lc_dtype_row_bytes(v_type, (int64_t)n_head_kv * head_dim, &c->v_row_bytes, NULL);
    c->k = lc_malloc_aligned(c->k_row_bytes * (size_t)n_slots * (size_t)n_layers);
    c->v = lc_malloc_aligned(c->v_row_bytes * (size_t)n_slots * (size_t)n_layers);
    c->pos = lc_malloc_aligned((size_t)n_slots * sizeof(int64_t));
    if (!c->k || !c->v || !c->pos) {
        char need[32];
        lc_kv_cache_free(c);
        return lc_fail(err, LC_ERR_NOMEM, "KV cache: cannot allocate %s", lc_format_bytes((double)total, need, sizeof need));
    }
    lc_kv_cache_clear(c);
    return LC_OK;
}

void lc_kv_cache_free(lc_kv_cache *c) {
    if (!c) return;
    lc_free_aligned(c->k);
    lc_free_aligned(c->v);
    lc_free_aligned(c->pos);
    c->k = c->v = NULL;
    c->pos = NULL;
    c->n_used = 0;
}

void lc_kv_cache_clear(lc_kv_cache *c) {
    c->n_used = 0;
    c->next_pos = 0;
    c->in_order = true;
    for (int64_t i = 0; i < c->n_slots; i++) c->pos[i] = -1;
}

lc_status lc_kv_cache_reserve(lc_kv_cache *c, int64_t n, int64_t *slot0, lc_error *err) {
    if (n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: negative token count");
    /* FULL policy: slots fill up in order and never wrap. */
    if (n > c->n_slots - c->n_used)
        return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld more requested)",
                       (long long)c->n_slots, (long long)n);
    *slot0 = c->n_used;
    for (int64_t i = 0; i < n; i++) c->pos[c->n_used + i] = c->next_pos + i;
    return LC_OK;
}

/* n f32 values into the cache type (q8_0: whole blocks, which never straddle
 * two heads since head_dim % 32 == 0). */
static void store_rows(lc_dtype t, const float *src, char *dst, int64_t n, const lc_kernel_opts *ko) {
    if (t == LC_DTYPE_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else if (t == LC_DTYPE_F16) lc_kernel_f32_to_f16(src, (uint16_t *)dst, n, ko);
    else lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n);
}

void lc_kv_cache_store(lc_kv_cache *c, int32_t layer, int64_t slot0, int64_t n, const float *k, const float *v,
                       const lc_kernel_opts *ko) {
    const int64_t row = (int64_t)c->n_head_kv * c->head_dim;
    char *kd = c->k + ((size_t)layer * (size_t)c->n_slots + (size_t)slot0) * c->k_row_bytes;
    char *vd = c->v + ((size_t)layer * (size_t)c->n_slots + (size_t)slot0) * c->v_row_bytes;
    store_rows(c->k_type, k, kd, n * row, ko);
    store_rows(c->v_type, v, vd, n * row, ko);
}

void lc_kv_cache_view(const lc_kv_cache *c, int32_t layer, int64_t n_pending, lc_kv_view *view) {
    view->k = c->k + (size_t)layer * (size_t)c->n_slots * c->k_row_bytes;
    view->v = c->v + (size_t)layer * (size_t)c->n_slots * c->v_row_bytes;
    view->n_kv = c->n_used + n_pending;
    /* Reserved slots hold next_pos.. at slots n_used..: in order iff they coincide. */
    view->k_pos = c->in_order && (n_pending == 0 || c->next_pos == c->n_used) ? NULL : c->pos;
}

void lc_kv_cache_commit(lc_kv_cache *c, int64_t n) {
    c->in_order = c->in_order && (n == 0 || c->next_pos == c->n_used);
    c->n_used += n;
    c->next_pos += n;
}

void lc_kv_cache_truncate(lc_kv_cache *c, int64_t n_keep) {
    if (n_keep < 0 || n_keep >= c->n_used) return;
    for (int64_t i = n_keep; i < c->n_used; i++) c->pos[i] = -1;
    c->n_used = n_keep;
    c->next_pos = n_keep;
}
