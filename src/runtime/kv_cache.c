/* The KV cache: slots, positions, typed storage and the per-policy slot maps
 * (see kv_cache.h). Shifts, ring rebases and H2O eviction are in kv_shift.c
 * and kv_h2o.c; policy parsing in kv_policy.c. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kv_cache.h"

static bool kv_type_ok(lc_dtype t) { return t == LC_DTYPE_F32 || t == LC_DTYPE_F16 || t == LC_DTYPE_Q8_0; }

static bool is_ring(lc_kv_policy p) { return p == LC_KV_POLICY_WINDOW || p == LC_KV_POLICY_SINKS; }

/* Largest count a policy parameter may take (positions stay far from int64's end). */
#define KV_MAX_SLOTS ((int64_t)1 << 40)

lc_status lc_kv_policy_plan(const lc_kv_policy_cfg *p, int64_t n_ctx, int64_t n_batch, int64_t *n_slots,
                            int64_t *n_chunk, int64_t *rot_limit, lc_error *err) {
    if (n_batch < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: batch size %lld", (long long)n_batch);
    const int64_t S = p->n_sinks, W = p->window, K = p->n_keep, H = p->n_heavy;
    if (S < 0 || W < 0 || K < 0 || H < 0 || S > KV_MAX_SLOTS || W > KV_MAX_SLOTS || K > KV_MAX_SLOTS ||
        H > KV_MAX_SLOTS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy %s: parameters out of range", lc_kv_policy_name(p->policy));
    *rot_limit = -1;
    switch (p->policy) {
    case LC_KV_POLICY_FULL:
        if (n_ctx < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: %lld slots", (long long)n_ctx);
        *n_slots = n_ctx;
        *n_chunk = LC_MIN(n_batch, n_ctx);
        *rot_limit = n_ctx;
        return LC_OK;
    case LC_KV_POLICY_SHIFT:
        if (n_ctx < 2 || K > n_ctx - 2)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "KV policy shift:%lld needs a context of at least KEEP + 2 tokens (-c %lld)", (long long)K,
                           (long long)n_ctx);
        *n_slots = n_ctx;
        *n_chunk = LC_MIN(n_batch, LC_MAX(1, (n_ctx - K) / 2));
        *rot_limit = n_ctx;
        return LC_OK;
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS: {
        if (W < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy %s: window must be >= 1", lc_kv_policy_name(p->policy));
        if (p->policy == LC_KV_POLICY_WINDOW && S != 0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy window takes no sinks (use sinks:S:W)");
        const int64_t B = LC_MIN(n_batch, LC_MAX(1, W / 8));
        const int64_t C = W + B - 1;
        *n_chunk = B;
        *n_slots = S + C;
        *rot_limit = 2 * C + S + B;
        return LC_OK;
    }
    case LC_KV_POLICY_H2O:
        if (W + H < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy h2o:S:R:H needs R + H >= 1");
        *n_slots = S + W + H;
        *n_chunk = LC_MIN(n_batch, W + H);
        return LC_OK;
    default: break;
    }
    return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: unknown policy %d", (int)p->policy);
}

bool lc_kv_cache_bytes(lc_kv_policy policy, int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t n_slots,
                       lc_dtype k_type, lc_dtype v_type, size_t *bytes) {
    size_t kr, vr, kb, vb, pb, t;
    int64_t row = (int64_t)n_head_kv * head_dim;
    if (n_slots < 0 || lc_dtype_row_bytes(k_type, row, &kr, NULL) != LC_OK ||
        lc_dtype_row_bytes(v_type, row, &vr, NULL) != LC_OK)
        return false;
    /* K, V; then per slot: position, token (H2O: mass and candidate). */
    size_t per_slot = sizeof(int64_t) + sizeof(int32_t);
    if (policy == LC_KV_POLICY_H2O) per_slot += sizeof(double) + sizeof(lc_kv_candidate);
    if (!lc_mul3_size(kr, (size_t)n_slots, (size_t)n_layers, &kb) ||
        !lc_mul3_size(vr, (size_t)n_slots, (size_t)n_layers, &vb) || !lc_mul_size((size_t)n_slots, per_slot, &pb) ||
        !lc_add_size(kb, vb, &t) || !lc_add_size(t, pb, bytes))
        return false;
    return true;
}

lc_status lc_kv_cache_init(lc_kv_cache *c, const lc_kv_policy_cfg *p, int32_t n_layers, int32_t n_head_kv,
                           int32_t head_dim, int64_t n_slots, int64_t n_chunk, lc_dtype k_type, lc_dtype v_type,
                           const lc_rope_cache *rope, const lc_kernel_opts *ko, lc_error *err) {
    memset(c, 0, sizeof *c);
    if ((unsigned)p->policy >= LC_KV_POLICY_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: unknown policy %d", (int)p->policy);
    if (!kv_type_ok(k_type) || !kv_type_ok(v_type))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "KV cache: types %s/%s unsupported (f32, f16 or q8_0)",
                       lc_dtype_name(k_type), lc_dtype_name(v_type));
    if ((k_type == LC_DTYPE_Q8_0 || v_type == LC_DTYPE_Q8_0) && head_dim % LC_Q8_0_BLOCK)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "KV cache: q8_0 needs a head dim that is a multiple of %d (got %d)",
                       LC_Q8_0_BLOCK, head_dim);
    if (n_layers < 0 || n_head_kv < 1 || head_dim < 1 || n_slots < 1 || n_chunk < 1 || n_chunk > n_slots)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "KV cache: bad shape (%d layers, %d heads, dim %d, %lld slots, chunk %lld)", n_layers,
                       n_head_kv, head_dim, (long long)n_slots, (long long)n_chunk);
    if (p->policy != LC_KV_POLICY_FULL && !rope)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV cache: policy %s needs the RoPE cache", lc_kv_policy_name(p->policy));
    size_t total;
    if (!lc_kv_cache_bytes(p->policy, n_layers, n_head_kv, head_dim, n_slots, k_type, v_type, &total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "KV cache of %lld slots overflows size_t", (long long)n_slots);
    c->policy = p->policy;
    c->n_sinks = p->n_sinks;
    c->window = p->window;
    c->n_keep = p->n_keep;
    c->n_heavy = p->n_heavy;
    c->n_layers = n_layers;
    c->n_head_kv = n_head_kv;
    c->head_dim = head_dim;
    c->n_slots = n_slots;
    c->n_chunk = n_chunk;
    c->k_type = k_type;
    c->v_type = v_type;
    c->rope = rope;
    if (ko) c->ko = *ko;
    else lc_kernel_opts_init(&c->ko);
    c->n_threads = c->ko.n_threads > 0 ? c->ko.n_threads : lc_cpu_count();
    if (is_ring(p->policy)) {
        c->ring_cap = n_slots - p->n_sinks;
        c->rot_limit = 2 * c->ring_cap + p->n_sinks + n_chunk;
    }
    const int64_t row = (int64_t)n_head_kv * head_dim;
    lc_dtype_row_bytes(k_type, row, &c->k_row_bytes, NULL);
    lc_dtype_row_bytes(v_type, row, &c->v_row_bytes, NULL);
    if (!p->no_storage) {
        c->k = lc_malloc_aligned(c->k_row_bytes * (size_t)n_slots * (size_t)n_layers);
        c->v = lc_malloc_aligned(c->v_row_bytes * (size_t)n_slots * (size_t)n_layers);
    }
    c->pos = lc_malloc_aligned((size_t)n_slots * sizeof(int64_t));
    c->tok = lc_malloc_aligned((size_t)n_slots * sizeof(int32_t));
    c->pend = lc_malloc_aligned((size_t)n_chunk * sizeof(int64_t));
    c->scratch = lc_malloc_aligned((size_t)c->n_threads * (size_t)row * sizeof(float));
    bool ok = ((c->k && c->v) || p->no_storage) && c->pos && c->tok && c->pend && c->scratch;
    if (ok && p->policy == LC_KV_POLICY_H2O) {
        c->mass = lc_malloc_aligned((size_t)n_slots * sizeof(double));
        c->cand = lc_malloc_aligned((size_t)n_slots * sizeof(lc_kv_candidate));
        ok = c->mass && c->cand;
    }
    if (!ok) {
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
    lc_free_aligned(c->tok);
    lc_free_aligned(c->mass);
    lc_free_aligned(c->cand);
    lc_free_aligned(c->pend);
    lc_free_aligned(c->scratch);
    c->k = c->v = NULL;
    c->pos = c->pend = NULL;
    c->tok = NULL;
    c->mass = NULL;
    c->cand = NULL;
    c->scratch = NULL;
    c->n_used = 0;
}

void lc_kv_cache_clear(lc_kv_cache *c) {
    c->n_used = 0;
    c->n_pending = 0;
    c->hw = 0;
    c->next_pos = 0;
    c->n_seen = 0;
    c->in_order = true;
    c->ring_n = 0;
    c->base = 0;
    c->n_discarded = 0;
    c->n_shifts = 0;
    if (!c->pos) return;
    for (int64_t i = 0; i < c->n_slots; i++) {
        c->pos[i] = -1;
        c->tok[i] = -1;
    }
    if (c->mass) memset(c->mass, 0, (size_t)c->n_slots * sizeof(double));
}

bool lc_kv_cache_has_room(const lc_kv_cache *c, int64_t n) {
    return c->policy != LC_KV_POLICY_FULL || n <= c->n_slots - c->n_used;
}

lc_status lc_kv_cache_reserve(lc_kv_cache *c, const int32_t *tokens, int64_t n, lc_error *err) {
    if (n < 1 || (c->policy != LC_KV_POLICY_FULL && n > c->n_chunk) || c->n_pending)
        return lc_fail(err, LC_ERR_INTERNAL, "KV cache: reservation of %lld tokens (chunk %lld, %lld pending)",
                       (long long)n, (long long)c->n_chunk, (long long)c->n_pending);
    lc_status st = LC_OK;
    switch (c->policy) {
    case LC_KV_POLICY_FULL:
        if (n > c->n_slots - c->n_used)
            return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld more requested)",
                           (long long)c->n_slots, (long long)n);
        if (n > c->n_chunk) return lc_fail(err, LC_ERR_INTERNAL, "KV cache: chunk of %lld tokens", (long long)n);
        for (int64_t i = 0; i < n; i++) c->pend[i] = c->n_used + i;
        break;
    case LC_KV_POLICY_SHIFT:
        while (st == LC_OK && n > c->n_slots - c->n_used) st = lc_kv_shift(c, err);
        if (st != LC_OK) return st;
        for (int64_t i = 0; i < n; i++) c->pend[i] = c->n_used + i;
        break;
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS:
        if (c->next_pos + n - c->base > c->rot_limit) lc_kv_ring_rebase(c);
        for (int64_t i = 0; i < n; i++) {
            const int64_t t = c->next_pos + i;
            c->pend[i] = t < c->n_sinks ? t : c->n_sinks + (t - c->n_sinks) % c->ring_cap;
        }
        break;
    case LC_KV_POLICY_H2O:
        st = lc_kv_h2o_evict(c, n, err); /* fills pend[] */
        if (st != LC_OK) return st;
        break;
    default: return lc_fail(err, LC_ERR_INTERNAL, "KV cache: unknown policy");
    }
    const int64_t p0 = lc_kv_cache_rot_pos0(c);
    for (int64_t i = 0; i < n; i++) {
        const int64_t s = c->pend[i];
        c->pos[s] = p0 + i; /* rings: base is 0 until the sinks are long filled */
        c->tok[s] = tokens ? tokens[i] : -1;
        if (c->mass) c->mass[s] = 0.0;
    }
    c->n_pending = n;
    return LC_OK;
}

int64_t lc_kv_cache_rot_pos0(const lc_kv_cache *c) { return c->next_pos - c->base; }

/* n f32 values into the cache type (q8_0: whole blocks, which never straddle
 * two heads since head_dim % 32 == 0). */
static void store_rows(lc_dtype t, const float *src, char *dst, int64_t n, const lc_kernel_opts *ko) {
    if (t == LC_DTYPE_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else if (t == LC_DTYPE_F16) lc_kernel_f32_to_f16(src, (uint16_t *)dst, n, ko);
    else lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n);
}

void lc_kv_store_row(const lc_kv_cache *c, lc_dtype t, const float *src, char *dst, int64_t n) {
    store_rows(t, src, dst, n, &c->ko);
}

void lc_kv_cache_store(lc_kv_cache *c, int32_t layer, const float *k, const float *v, const lc_kernel_opts *ko) {
    const int64_t row = (int64_t)c->n_head_kv * c->head_dim;
    char *kl = c->k + (size_t)layer * (size_t)c->n_slots * c->k_row_bytes;
    char *vl = c->v + (size_t)layer * (size_t)c->n_slots * c->v_row_bytes;
    /* runs of consecutive slots are converted in one call */
    for (int64_t i = 0; i < c->n_pending;) {
        int64_t j = i + 1;
        while (j < c->n_pending && c->pend[j] == c->pend[j - 1] + 1) j++;
        const size_t s = (size_t)c->pend[i];
        store_rows(c->k_type, k + i * row, kl + s * c->k_row_bytes, (j - i) * row, ko);
        store_rows(c->v_type, v + i * row, vl + s * c->v_row_bytes, (j - i) * row, ko);
        i = j;
    }
}

/* Reserved rows that go to the ring (positions >= n_sinks). */
static int64_t ring_pending(const lc_kv_cache *c) {
    const int64_t first_ring = LC_MAX(c->next_pos, c->n_sinks);
    return LC_MAX(0, c->next_pos + c->n_pending - first_ring);
}

void lc_kv_cache_view(const lc_kv_cache *c, int32_t layer, lc_kv_view *view) {
    const char *kl = c->k + (size_t)layer * (size_t)c->n_slots * c->k_row_bytes;
    const char *vl = c->v + (size_t)layer * (size_t)c->n_slots * c->v_row_bytes;
    switch (c->policy) {
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS:
        view->k = kl + (size_t)c->n_sinks * c->k_row_bytes;
        view->v = vl + (size_t)c->n_sinks * c->v_row_bytes;
        view->n_kv = LC_MIN(c->ring_n + ring_pending(c), c->ring_cap);
        view->k_pos = c->pos + c->n_sinks;
        return;
    case LC_KV_POLICY_H2O:
        view->k = kl;
        view->v = vl;
        view->n_kv = c->hw;
        view->k_pos = c->pos;
        return;
    default:
        view->k = kl;
        view->v = vl;
        view->n_kv = c->n_used + c->n_pending;
        /* Reserved slots hold next_pos.. at slots n_used..: in order iff they coincide. */
        view->k_pos = c->in_order && (c->n_pending == 0 || c->next_pos == c->n_used) ? NULL : c->pos;
        return;
    }
}

void lc_kv_cache_sinks_view(const lc_kv_cache *c, int32_t layer, lc_kv_view *view) {
    view->k = c->k + (size_t)layer * (size_t)c->n_slots * c->k_row_bytes;
    view->v = c->v + (size_t)layer * (size_t)c->n_slots * c->v_row_bytes;
    view->n_kv = is_ring(c->policy) ? LC_MIN(c->n_sinks, c->next_pos + c->n_pending) : 0;
    view->k_pos = NULL;
}

void lc_kv_cache_commit(lc_kv_cache *c) {
    const int64_t n = c->n_pending;
    switch (c->policy) {
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS:
        c->ring_n += ring_pending(c);
        c->n_used = LC_MIN(c->next_pos + n, c->n_sinks) + LC_MIN(c->ring_n, c->ring_cap);
        c->in_order = false;
        break;
    case LC_KV_POLICY_H2O:
        c->n_used += n;
        c->in_order = false;
        break;
    default:
        c->in_order = c->in_order && (n == 0 || c->next_pos == c->n_used);
        c->n_used += n;
        break;
    }
    c->next_pos += n;
    c->n_seen += n;
    c->n_pending = 0;
}

void lc_kv_cache_abort(lc_kv_cache *c) {
    if (c->policy == LC_KV_POLICY_FULL || c->policy == LC_KV_POLICY_SHIFT) {
        for (int64_t i = 0; i < c->n_pending; i++) {
            c->pos[c->pend[i]] = -1;
            c->tok[c->pend[i]] = -1;
        }
        c->n_pending = 0;
    } else {
        lc_kv_cache_clear(c);
    }
}

void lc_kv_cache_truncate(lc_kv_cache *c, int64_t n_keep) {
    if (c->policy != LC_KV_POLICY_FULL && c->policy != LC_KV_POLICY_SHIFT) return;
    if (n_keep < 0 || n_keep >= c->n_used) return;
    for (int64_t i = n_keep; i < c->n_used; i++) {
        c->pos[i] = -1;
        c->tok[i] = -1;
    }
    c->n_seen -= c->n_used - n_keep;
    if (c->n_seen < n_keep) c->n_seen = n_keep;
    c->n_used = n_keep;
    c->next_pos = n_keep;
}

int64_t lc_kv_cache_n_visible(const lc_kv_cache *c) {
    if (!is_ring(c->policy)) return c->n_used;
    const int64_t S = c->n_sinks;
    return LC_MIN(c->next_pos, S) + LC_MIN(LC_MAX(0, c->next_pos - S), c->window - 1);
}

int64_t lc_kv_cache_slot_pos(const lc_kv_cache *c, int64_t slot) {
    if (slot < 0 || slot >= c->n_slots || c->pos[slot] < 0) return -1;
    return is_ring(c->policy) && slot >= c->n_sinks ? c->pos[slot] + c->base : c->pos[slot];
}
