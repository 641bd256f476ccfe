/*
 * The analytic model of attention memory (report.h): the article's unit, what
 * each method really allocates (its own workspace function), the KV cache,
 * and the longest context that fits in a memory budget.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/report.h"

#define DEFAULT_BATCH 512

static lc_attn_shape causal_shape(const lc_model_config *c, lc_dtype kt, lc_dtype vt, int64_t n_q, int64_t n_kv) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_head = c->n_heads;
    s.n_head_kv = c->n_kv_heads;
    s.head_dim = c->head_dim;
    s.k_type = kt;
    s.v_type = vt;
    s.causal = true;
    s.q_pos0 = n_kv - n_q;
    return s;
}

static lc_status check_shape(const lc_model_config *c, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL model configuration");
    if (c->n_layers < 1 || c->n_heads < 1 || c->n_kv_heads < 1 || c->head_dim < 1 || c->n_heads % c->n_kv_heads)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "report: model shape %d layers, %d heads, %d KV heads, head dim %d is not valid", c->n_layers,
                       c->n_heads, c->n_kv_heads, c->head_dim);
    return LC_OK;
}

/* Bytes of every layer's LINEAR state for parameters p. */
static lc_status linear_states(const lc_model_config *c, const lc_attn_params *p, double *bytes, lc_error *err) {
    lc_linear_state *st = NULL;
    lc_status s = lc_linear_state_create(c->n_heads, c->n_kv_heads, c->head_dim, p, &st, err);
    if (s != LC_OK) return s;
    *bytes = (double)lc_linear_state_bytes(st) * (double)c->n_layers;
    lc_linear_state_free(st);
    return LC_OK;
}

static double workspace_or_nan(const lc_attn_shape *s, const lc_attn_params *p) {
    size_t b = 0;
    return lc_attn_workspace(s, p, &b, NULL) == LC_OK ? (double)b : NAN;
}

lc_status lc_report_memory_row(const lc_model_config *cfg, lc_dtype elem, int64_t n, int64_t window, int64_t chunk,
                               int n_threads, lc_report_mem_row *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL output");
    memset(out, 0, sizeof *out);
    lc_status st = check_shape(cfg, err);
    if (st != LC_OK) return st;
    if (elem != LC_DTYPE_F16 && elem != LC_DTYPE_F32)
        return lc_fail(err, LC_ERR_INVALID_ARG, "report: element type must be f16 or f32 (got %s)", lc_dtype_name(elem));
    if (n < 1 || window < 1 || chunk < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "report: context %lld, window %lld, chunk %lld must be >= 1",
                       (long long)n, (long long)window, (long long)chunk);
    const double e = elem == LC_DTYPE_F16 ? 2.0 : 4.0, dn = (double)n;
    const double L = cfg->n_layers, H = cfg->n_heads, Hkv = cfg->n_kv_heads, d = cfg->head_dim;
    out->n = n;
    out->article_bytes = dn * dn * 2.0;
    out->naive_layer_bytes = H * dn * dn * e;
    out->naive_train_bytes = L * out->naive_layer_bytes;
    out->kv_cache_bytes = L * 2.0 * dn * Hkv * d * e;
    const int64_t n_sinks = 4;
    out->window_kv_bytes = L * 2.0 * fmin(dn, (double)(window + n_sinks)) * Hkv * d * e;

    const lc_attn_shape s = causal_shape(cfg, elem, elem, n, n);
    const lc_attn_method ms[4] = {LC_ATTN_FLASH, LC_ATTN_WINDOW, LC_ATTN_LINEAR, LC_ATTN_CHUNKED};
    double *ws[4] = {&out->flash_ws, &out->window_ws, &out->linear_ws, &out->chunked_ws};
    double *flops[4] = {&out->flops_full, &out->flops_window, &out->flops_linear, NULL};
    lc_attn_params lin;
    for (int k = 0; k < 4; k++) {
        lc_attn_params p;
        lc_attn_params_init(&p, ms[k]);
        p.n_threads = n_threads > 0 ? n_threads : lc_cpu_count();
        p.window = window;
        p.n_sinks = n_sinks;
        p.chunk = chunk;
        p.overlap = chunk / 8;
        *ws[k] = workspace_or_nan(&s, &p);
        if (flops[k]) *flops[k] = L * lc_attn_flops(&s, &p);
        if (ms[k] == LC_ATTN_LINEAR) lin = p;
    }
    return linear_states(cfg, &lin, &out->linear_state_bytes, err);
}

/* ---- A runtime configuration ---------------------------------------------------- */

/* The attention parameters a context would resolve for cfg and o. */
static lc_status resolve_attn(const lc_model_config *cfg, const lc_context_opts *o, lc_attn_params *p,
                              lc_error *err) {
    if (o->attn_params) {
        *p = *o->attn_params;
    } else {
        const char *spec = o->attn ? o->attn : (cfg->attention[0] ? cfg->attention : "flash");
        lc_attn_params_init(p, LC_ATTN_FLASH);
        lc_status st = lc_attn_parse(spec, p, err);
        if (st != LC_OK) return st;
    }
    p->n_threads = o->n_threads > 0 ? o->n_threads : lc_cpu_count();
    return LC_OK;
}

static lc_status ws_of(const lc_model_config *cfg, const lc_context_opts *o, const lc_attn_params *p, int64_t n_q,
                       int64_t n_kv, bool with_pos, size_t *bytes, lc_error *err) {
    lc_attn_shape s = causal_shape(cfg, o->k_type, o->v_type, n_q, n_kv);
    static const int64_t dummy_pos[1] = {0};
    if (with_pos) {
        s.k_pos = dummy_pos; /* sizing never reads positions */
        s.q_pos0 = n_kv;
    }
    size_t b = 0;
    lc_status st = lc_attn_workspace(&s, p, &b, err);
    if (st == LC_OK && b > *bytes) *bytes = b;
    return st;
}

lc_status lc_report_attn_memory(const lc_model_config *cfg, const lc_context_opts *o, int64_t n,
                                lc_report_attn_mem *out, lc_error *err) {
    if (!out || !o) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL argument");
    memset(out, 0, sizeof *out);
    lc_status st = check_shape(cfg, err);
    if (st != LC_OK) return st;
    if (n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "report: context length %lld must be >= 1", (long long)n);
    lc_attn_params p;
    st = resolve_attn(cfg, o, &p, err);
    if (st != LC_OK) return st;
    const int64_t B = o->n_batch > 0 ? o->n_batch : DEFAULT_BATCH;

    if (p.method == LC_ATTN_LINEAR) {
        double b = 0;
        st = linear_states(cfg, &p, &b, err);
        if (st != LC_OK) return st;
        out->kv_bytes = (size_t)b;
        out->total_bytes = out->kv_bytes; /* the runtime's LINEAR path asks no attention scratch */
        return LC_OK;
    }

    /* Slots (runtime.h): full/shift n; window W + B' - 1; sinks S + W + B' - 1;
     * B' = min(n_batch, max(1, W/8)) under a ring. */
    const int64_t W = o->kv_window, S = o->kv_n_sinks;
    int64_t slots = n, chunk = LC_MIN(B, n);
    bool ring = false;
    switch (o->kv_policy) {
    case LC_KV_POLICY_FULL:
    case LC_KV_POLICY_SHIFT: break;
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS: {
        if (W < 1 || S < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "report: ring window %lld / sinks %lld", (long long)W, (long long)S);
        const int64_t Bp = LC_MIN(B, LC_MAX(1, W / 8));
        slots = W + Bp - 1 + (o->kv_policy == LC_KV_POLICY_SINKS ? S : 0);
        chunk = LC_MIN(Bp, n);
        ring = true;
        break;
    }
    case LC_KV_POLICY_H2O:
        return lc_fail(err, LC_ERR_UNSUPPORTED, "report: the h2o policy's memory is not modelled");
    default: return lc_fail(err, LC_ERR_INVALID_ARG, "report: unknown KV policy %d", (int)o->kv_policy);
    }
    const int64_t held = LC_MIN(n, slots);
    out->n_slots = held;
    /* K and V of every layer, plus the slot's position (i64) and token (i32) */
    size_t per_tok = lc_model_kv_bytes_per_token(cfg, o->k_type, o->v_type);
    if (per_tok > 0) per_tok += sizeof(int64_t) + sizeof(int32_t);
    if (per_tok == 0)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "report: KV types %s/%s cannot hold rows of %d", lc_dtype_name(o->k_type),
                       lc_dtype_name(o->v_type), cfg->head_dim);
    if (!lc_mul_size(per_tok, (size_t)held, &out->kv_bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "report: a KV cache of %lld tokens overflows size_t", (long long)held);

    size_t ws = 0;
    if (ring) {
        lc_attn_params rp = p;
        rp.method = LC_ATTN_WINDOW;
        rp.window = W;
        rp.n_sinks = 0;
        const int64_t in_ring = LC_MIN(n, slots - (o->kv_policy == LC_KV_POLICY_SINKS ? S : 0));
        st = ws_of(cfg, o, &rp, chunk, LC_MAX(in_ring, 1), true, &ws, err);
        if (st == LC_OK && o->kv_policy == LC_KV_POLICY_SINKS && S > 0)
            st = ws_of(cfg, o, &p, chunk, LC_MIN(S, n), true, &ws, err);
    } else {
        /* a prefill chunk of B queries, and one decode query, over every key held */
        st = ws_of(cfg, o, &p, chunk, held, false, &ws, err);
        if (st == LC_OK) st = ws_of(cfg, o, &p, 1, held, false, &ws, err);
    }
    if (st != LC_OK) return st;
    out->workspace_bytes = ws;
    if (!lc_add_size(out->kv_bytes, ws, &out->total_bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "report: attention memory overflows size_t");
    return LC_OK;
}

lc_status lc_report_max_context(const lc_model_config *cfg, const lc_context_opts *o, size_t budget, int64_t limit,
                                int64_t *n_max, lc_error *err) {
    if (!n_max) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL output");
    *n_max = 0;
    if (limit < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "report: limit %lld must be >= 1", (long long)limit);
    lc_report_attn_mem m;
    /* A size that overflows (LC_ERR_TOO_LARGE) does not fit: treat it as such. */
#define FITS(nn, ok)                                                                                                   \
    do {                                                                                                               \
        lc_status st_ = lc_report_attn_memory(cfg, o, (nn), &m, err);                                                  \
        if (st_ != LC_OK && st_ != LC_ERR_TOO_LARGE) return st_;                                                       \
        (ok) = st_ == LC_OK && m.total_bytes <= budget;                                                                \
    } while (0)
    bool ok;
    FITS(limit, ok);
    if (ok) {
        *n_max = limit;
        lc_error_clear(err);
        return LC_OK;
    }
    FITS(1, ok);
    if (!ok) {
        lc_error_clear(err);
        return LC_OK;
    }
    int64_t lo = 1, hi = limit; /* fits(lo), !fits(hi) */
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        FITS(mid, ok);
        if (ok) lo = mid;
        else hi = mid;
    }
#undef FITS
    *n_max = lo;
    lc_error_clear(err);
    return LC_OK;
}
