/* Attention dispatcher: parameters, validation, workspace, method table. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attn_internal.h"

typedef struct {
    const char *name;
    lc_attn_ws_fn workspace;
    lc_attn_run_fn run;
} method_entry;

static const method_entry methods[LC_ATTN_METHOD_COUNT] = {
    [LC_ATTN_NAIVE] = {"naive", lc_attn_naive_workspace, lc_attn_naive_run},
    [LC_ATTN_FLASH] = {"flash", lc_attn_flash_workspace, lc_attn_flash_run},
    [LC_ATTN_WINDOW] = {"window", lc_attn_window_workspace, lc_attn_window_run},
    [LC_ATTN_LINEAR] = {"linear", lc_attn_linear_workspace, lc_attn_linear_run},
    [LC_ATTN_CHUNKED] = {"chunked", lc_attn_chunked_workspace, lc_attn_chunked_run},
    [LC_ATTN_HYBRID] = {"hybrid", lc_attn_hybrid_workspace, lc_attn_hybrid_run},
};

static const char *const feature_names[LC_FEATURE_COUNT] = {"elu", "relu", "favor"};

#define NAIVE_DEFAULT_CAP ((size_t)1 << 30)

void lc_attn_params_init(lc_attn_params *p, lc_attn_method method) {
    memset(p, 0, sizeof *p);
    p->method = method;
    p->n_threads = 0;
    p->naive_max_bytes = NAIVE_DEFAULT_CAP;
    p->window = 4096;
    p->n_sinks = 4;
    p->feature = LC_FEATURE_ELU1;
    p->n_features = 0;
    p->seed = 42;
    p->chunk = 512;
    p->overlap = 64;
}

const char *lc_attn_method_name(lc_attn_method m) {
    return (unsigned)m < LC_ATTN_METHOD_COUNT ? methods[m].name : "?";
}

const char *lc_feature_map_name(lc_feature_map f) {
    return (unsigned)f < LC_FEATURE_COUNT ? feature_names[f] : "?";
}

/* Parse a non-negative integer field of a spec; accepts K/M suffixes (x1024). */
static bool parse_count(const char *s, size_t len, int64_t *out) {
    if (len == 0 || len > 20) return false;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || v < 0) return false;
    int64_t mult = 1;
    if (*end == 'K' || *end == 'k') mult = 1024, end++;
    else if (*end == 'M' || *end == 'm') mult = 1024 * 1024, end++;
    if (*end != '\0') return false;
    return lc_mul_i64(v, mult, out);
}

/* Split spec at ':' into at most 4 fields. */
static int split_fields(const char *spec, const char *f[4], size_t len[4]) {
    int n = 0;
    const char *p = spec;
    while (n < 4) {
        const char *c = strchr(p, ':');
        f[n] = p;
        len[n] = c ? (size_t)(c - p) : strlen(p);
        n++;
        if (!c) return n;
        p = c + 1;
    }
    return 5; /* too many */
}

static bool field_is(const char *f, size_t len, const char *word) {
    return strlen(word) == len && strncmp(f, word, len) == 0;
}

lc_status lc_attn_parse(const char *spec, lc_attn_params *p, lc_error *err) {
    if (!spec || !p) return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec: NULL argument");
    const char *f[4];
    size_t len[4];
    int n = split_fields(spec, f, len);
    if (n > 4) return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec '%s': too many ':' fields", spec);
    int threads = p->n_threads;
    size_t cap = p->naive_max_bytes;
    lc_attn_method m;
    if (field_is(f[0], len[0], "naive")) m = LC_ATTN_NAIVE;
    else if (field_is(f[0], len[0], "flash") || field_is(f[0], len[0], "full")) m = LC_ATTN_FLASH;
    else if (field_is(f[0], len[0], "window")) m = LC_ATTN_WINDOW;
    else if (field_is(f[0], len[0], "linear")) m = LC_ATTN_LINEAR;
    else if (field_is(f[0], len[0], "chunked")) m = LC_ATTN_CHUNKED;
    else
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "unknown attention method '%s' (expected naive, flash, window:W[:S], "
                       "linear[:elu|relu|favor[:M]], chunked:C[:O])",
                       spec);
    lc_attn_params_init(p, m);
    p->n_threads = threads;
    if (cap) p->naive_max_bytes = cap;
    int64_t a = 0, b = 0;
    switch (m) {
    case LC_ATTN_NAIVE:
    case LC_ATTN_FLASH:
        if (n != 1) return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec '%s' takes no parameters", spec);
        break;
    case LC_ATTN_WINDOW:
        if (n < 2 || n > 3 || !parse_count(f[1], len[1], &a) || a < 1 || (n == 3 && !parse_count(f[2], len[2], &b)))
            return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec '%s': expected window:W[:S] with W >= 1, S >= 0",
                           spec);
        p->window = a;
        p->n_sinks = n == 3 ? b : 0;
        break;
    case LC_ATTN_CHUNKED:
        if (n < 2 || n > 3 || !parse_count(f[1], len[1], &a) || a < 1 || (n == 3 && !parse_count(f[2], len[2], &b)) ||
            b >= a)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "attention spec '%s': expected chunked:C[:O] with C >= 1 and 0 <= O < C", spec);
        p->chunk = a;
        p->overlap = n == 3 ? b : 0;
        break;
    case LC_ATTN_LINEAR:
        if (n >= 2) {
            int fm = -1;
            for (int i = 0; i < LC_FEATURE_COUNT; i++)
                if (field_is(f[1], len[1], feature_names[i])) fm = i;
            if (field_is(f[1], len[1], "elu1")) fm = LC_FEATURE_ELU1;
            if (fm < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec '%s': unknown feature map", spec);
            p->feature = (lc_feature_map)fm;
        }
        if (n >= 3) {
            if (p->feature != LC_FEATURE_FAVOR || !parse_count(f[2], len[2], &a) || a < 1 || a > 65536)
                return lc_fail(err, LC_ERR_INVALID_ARG,
                               "attention spec '%s': only favor takes a feature count (1..65536)", spec);
            p->n_features = (int32_t)a;
        }
        if (n > 3) return lc_fail(err, LC_ERR_INVALID_ARG, "attention spec '%s': too many fields", spec);
        break;
    default: break;
    }
    return LC_OK;
}

static bool is_kv_type(lc_dtype t) { return t == LC_DTYPE_F32 || t == LC_DTYPE_F16 || t == LC_DTYPE_Q8_0; }

static lc_status validate_params(const lc_attn_shape *s, const lc_attn_params *p, bool nested, lc_error *err) {
    if ((unsigned)p->method >= LC_ATTN_METHOD_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "unknown attention method %d", (int)p->method);
    if (p->mask && p->method != LC_ATTN_NAIVE)
        return lc_fail(err, LC_ERR_INVALID_ARG, "an explicit mask is only supported by the naive method");
    if (p->sink_logits) {
        if (nested || (p->method != LC_ATTN_NAIVE && p->method != LC_ATTN_FLASH && p->method != LC_ATTN_WINDOW))
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "learned sink logits are supported by the naive, flash and window methods only (not %s%s)",
                           lc_attn_method_name(p->method), nested ? " inside hybrid" : "");
        for (int32_t h = 0; h < s->n_head; h++)
            if (isnan(p->sink_logits[h]) || p->sink_logits[h] == INFINITY)
                return lc_fail(err, LC_ERR_INVALID_ARG, "attention: sink logit of head %d is %g (finite or -inf needed)",
                               h, (double)p->sink_logits[h]);
    }
    switch (p->method) {
    case LC_ATTN_WINDOW:
        if (p->window < 1 || p->n_sinks < 0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "window attention needs window >= 1 and sinks >= 0 (got %lld, %lld)",
                           (long long)p->window, (long long)p->n_sinks);
        break;
    case LC_ATTN_LINEAR:
        if ((unsigned)p->feature >= LC_FEATURE_COUNT)
            return lc_fail(err, LC_ERR_INVALID_ARG, "unknown linear feature map %d", (int)p->feature);
        if (p->n_features < 0 || p->n_features > 65536)
            return lc_fail(err, LC_ERR_INVALID_ARG, "linear attention: n_features %d outside 0..65536", p->n_features);
        if (s->k_pos)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "linear attention needs keys in position order (k_pos must be NULL)");
        break;
    case LC_ATTN_CHUNKED:
        if (p->chunk < 1 || p->overlap < 0 || p->overlap >= p->chunk)
            return lc_fail(err, LC_ERR_INVALID_ARG, "chunked attention needs chunk >= 1 and 0 <= overlap < chunk (got %lld, %lld)",
                           (long long)p->chunk, (long long)p->overlap);
        if (s->k_pos)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "chunked attention needs keys in position order (k_pos must be NULL)");
        break;
    case LC_ATTN_HYBRID:
        if (nested) return lc_fail(err, LC_ERR_INVALID_ARG, "hybrid attention cannot nest another hybrid");
        if (!p->head_params) return lc_fail(err, LC_ERR_INVALID_ARG, "hybrid attention needs head_params (one per query head)");
        for (int32_t h = 0; h < s->n_head; h++) {
            lc_status st = validate_params(s, &p->head_params[h], true, err);
            if (st != LC_OK) return st;
        }
        break;
    default: break;
    }
    return LC_OK;
}

lc_status lc_attn_validate(const lc_attn_shape *s, const lc_attn_params *p, lc_error *err) {
    if (!s || !p) return lc_fail(err, LC_ERR_INVALID_ARG, "attention: NULL shape or params");
    if (s->n_q < 0 || s->n_kv < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: negative length (n_q=%lld, n_kv=%lld)", (long long)s->n_q,
                       (long long)s->n_kv);
    if (s->n_head < 1 || s->n_head_kv < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: head counts must be >= 1 (H_q=%d, H_kv=%d)", s->n_head,
                       s->n_head_kv);
    if (s->n_head % s->n_head_kv)
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: H_q=%d is not a multiple of H_kv=%d", s->n_head, s->n_head_kv);
    if (s->head_dim < 1 || s->head_dim > 512)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "attention: head dim %d unsupported (1..512)", s->head_dim);
    if (!is_kv_type(s->k_type) || !is_kv_type(s->v_type))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "attention: K/V type must be f32, f16 or q8_0 (got %s, %s)",
                       lc_dtype_name(s->k_type), lc_dtype_name(s->v_type));
    if ((s->k_type == LC_DTYPE_Q8_0 || s->v_type == LC_DTYPE_Q8_0) && s->head_dim % LC_Q8_0_BLOCK)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "attention: q8_0 K/V needs head dim a multiple of 32 (got %d)",
                       s->head_dim);
    if (!isfinite(s->scale))
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: scale is not finite");
    if (!isfinite(s->softcap) || s->softcap < 0.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: soft-cap %g must be finite and >= 0", (double)s->softcap);
    if (s->softcap > 0.0f && p && p->method != LC_ATTN_NAIVE && p->method != LC_ATTN_FLASH &&
        p->method != LC_ATTN_WINDOW)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "attention: score soft-capping needs naive, flash or window (got %s)",
                       lc_attn_method_name(p->method));
    if (s->q_pos0 < 0 || s->q_pos0 > INT64_MAX - s->n_q)
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention: query positions out of range (q_pos0=%lld)",
                       (long long)s->q_pos0);
    /* Every tensor's byte size must fit in size_t. */
    size_t qb, kb, vb, kr, vr;
    if (!lc_mul3_size((size_t)s->n_q, (size_t)s->n_head, (size_t)s->head_dim, &qb) || !lc_mul_size(qb, 4, &qb))
        return lc_fail(err, LC_ERR_TOO_LARGE, "attention: Q of %lld x %d x %d overflows", (long long)s->n_q, s->n_head,
                       s->head_dim);
    if (lc_dtype_row_bytes(s->k_type, (int64_t)s->n_head_kv * s->head_dim, &kr, err) != LC_OK ||
        lc_dtype_row_bytes(s->v_type, (int64_t)s->n_head_kv * s->head_dim, &vr, err) != LC_OK)
        return err ? err->status : LC_ERR_INVALID_ARG;
    if (!lc_mul_size((size_t)s->n_kv, kr, &kb) || !lc_mul_size((size_t)s->n_kv, vr, &vb))
        return lc_fail(err, LC_ERR_TOO_LARGE, "attention: K/V of %lld positions overflows", (long long)s->n_kv);
    return validate_params(s, p, false, err);
}

lc_status lc_attn_ctx_init(lc_attn_ctx *c, const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io,
                           lc_error *err) {
    lc_status st = lc_attn_validate(s, p, err);
    if (st != LC_OK) return st;
    memset(c, 0, sizeof *c);
    c->s = s;
    c->p = p;
    c->io = io;
    c->n_threads = p->n_threads > 0 ? p->n_threads : lc_cpu_count();
    c->scale = s->scale != 0.0f ? s->scale : 1.0f / sqrtf((float)s->head_dim);
    c->group = s->n_head / s->n_head_kv;
    c->isa = p->force_scalar ? LC_ISA_SCALAR : lc_isa_best();
    lc_dtype_row_bytes(s->k_type, s->head_dim, &c->k_head_bytes, NULL);
    lc_dtype_row_bytes(s->v_type, s->head_dim, &c->v_head_bytes, NULL);
    c->k_row_bytes = c->k_head_bytes * (size_t)s->n_head_kv;
    c->v_row_bytes = c->v_head_bytes * (size_t)s->n_head_kv;
    return LC_OK;
}

lc_status lc_attn_workspace(const lc_attn_shape *s, const lc_attn_params *p, size_t *bytes, lc_error *err) {
    if (!bytes) return lc_fail(err, LC_ERR_INVALID_ARG, "attention: NULL bytes");
    *bytes = 0;
    lc_attn_ctx c;
    lc_status st = lc_attn_ctx_init(&c, s, p, NULL, err);
    if (st != LC_OK) return st;
    return methods[p->method].workspace(&c, bytes, err);
}

lc_status lc_attn_forward(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, void *workspace,
                          size_t workspace_bytes, lc_error *err) {
    if (!io) return lc_fail(err, LC_ERR_INVALID_ARG, "attention: NULL io");
    lc_attn_ctx c;
    lc_status st = lc_attn_ctx_init(&c, s, p, io, err);
    if (st != LC_OK) return st;
    if (s->n_q > 0 && (!io->q || !io->out)) return lc_fail(err, LC_ERR_INVALID_ARG, "attention: NULL q or out");
    if (s->n_kv > 0 && (!io->k || !io->v)) return lc_fail(err, LC_ERR_INVALID_ARG, "attention: NULL k or v");
    size_t need = 0;
    st = methods[p->method].workspace(&c, &need, err);
    if (st != LC_OK) return st;
    if (workspace_bytes < need || (need > 0 && !workspace))
        return lc_fail(err, LC_ERR_INVALID_ARG, "attention (%s): workspace of %zu bytes given, %zu needed",
                       methods[p->method].name, workspace_bytes, need);
    if (s->n_q == 0) return LC_OK;
    return methods[p->method].run(&c, workspace, workspace_bytes, err);
}

lc_status lc_attn(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, lc_error *err) {
    size_t need = 0;
    lc_status st = lc_attn_workspace(s, p, &need, err);
    if (st != LC_OK) return st;
    void *ws = need ? lc_malloc_aligned(need) : NULL;
    if (need && !ws)
        return lc_fail(err, LC_ERR_NOMEM, "attention (%s): cannot allocate %zu bytes of workspace",
                       lc_attn_method_name(p->method), need);
    st = lc_attn_forward(s, p, io, ws, need, err);
    lc_free_aligned(ws);
    return st;
}

/* Keys visible to a query at position qp among keys 0..n_kv-1 (k_pos NULL). */
static int64_t visible_for_query(int64_t qp, int64_t n_kv, bool causal, int64_t window, int64_t n_sinks) {
    int64_t lo = 0, hi = n_kv - 1; /* inclusive range of the window part */
    if (causal) hi = LC_MIN(hi, qp);
    if (window > 0) {
        lo = qp - window + 1;
        if (!causal) hi = LC_MIN(n_kv - 1, qp + window - 1);
    }
    lo = LC_MAX(lo, 0);
    int64_t cnt = hi >= lo ? hi - lo + 1 : 0;
    if (window > 0 && n_sinks > 0) { /* causal-visible sinks 0..s_hi outside [lo, hi] */
        int64_t s_hi = LC_MIN(n_sinks, n_kv) - 1;
        if (causal) s_hi = LC_MIN(s_hi, qp);
        const int64_t inside = hi >= lo ? LC_MAX((int64_t)0, LC_MIN(s_hi, hi) - lo + 1) : 0;
        if (s_hi >= 0) cnt += s_hi + 1 - inside;
    }
    return cnt;
}

static int cmp_i64(const void *pa, const void *pb) {
    const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

#define PL_MARGIN 3
#define PL_MAX_BP 16

double lc_attn_sum_piecewise(lc_attn_pl_fn f, const void *user, int64_t a, int64_t b, const int64_t *bp, int n_bp) {
    if (a > b) return 0.0;
    int64_t pts[2 + PL_MAX_BP * (2 * PL_MARGIN + 1)];
    int n = 0;
    pts[n++] = a;
    pts[n++] = b;
    for (int i = 0; i < n_bp && i < PL_MAX_BP; i++)
        for (int d = -PL_MARGIN; d <= PL_MARGIN; d++) {
            int64_t x;
            if (__builtin_add_overflow(bp[i], (int64_t)d, &x)) continue;
            if (x > a && x < b) pts[n++] = x;
        }
    qsort(pts, (size_t)n, sizeof pts[0], cmp_i64);
    double total = 0.0, f_prev = 0.0;
    int64_t prev = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && pts[i] == prev) continue;
        const double fx = f(user, pts[i]);
        total += fx;
        if (i > 0 && pts[i] - prev > 1) /* linear in between: an arithmetic series */
            total += (double)(pts[i] - prev - 1) * 0.5 * (f_prev + fx);
        prev = pts[i];
        f_prev = fx;
    }
    return total;
}

typedef struct {
    int64_t n_kv, window, n_sinks;
    bool causal;
} vis_args;

static double vis_fn(const void *user, int64_t qp) {
    const vis_args *v = user;
    return (double)visible_for_query(qp, v->n_kv, v->causal, v->window, v->n_sinks);
}

double lc_attn_visible_pairs(const lc_attn_shape *s, int64_t window, int64_t n_sinks) {
    if (s->n_q <= 0 || s->n_kv <= 0) return 0.0;
    const int64_t q0 = s->q_pos0, q1 = lc_sat_add_i64(q0, s->n_q - 1);
    if (!s->k_pos) {
        /* a window wider than every distance is no window: clamp it so no
         * position arithmetic overflows */
        const int64_t n = s->n_kv, reach = lc_sat_add_i64(LC_MAX(q1, n), 1);
        vis_args v = {n, window > 0 ? LC_MIN(window, reach) : 0, LC_MIN(LC_MAX(n_sinks, 0), n), s->causal};
        const int64_t W = v.window, S = v.n_sinks;
        /* where visible_for_query's clamps switch (see there) */
        const int64_t bp[] = {0, n - 1, W - 1, n - W, lc_sat_add_i64(n, W - 2), lc_sat_add_i64(S, W - 1), lc_sat_add_i64(n, W - 1), S - 1,
                            S - W, lc_sat_add_i64(S, W - 2)};
        return lc_attn_sum_piecewise(vis_fn, &v, q0, q1, bp, (int)LC_ARRAY_LEN(bp));
    }
    double total = 0.0;
    for (int64_t i = 0; i < s->n_q; i++) {
        int64_t qp = s->q_pos0 + i;
        for (int64_t j = 0; j < s->n_kv; j++) {
            int64_t kp = s->k_pos[j];
            bool vis = !s->causal || kp <= qp;
            if (vis && window > 0) {
                int64_t dist = qp - kp;
                if (!s->causal && dist < 0) dist = -dist;
                vis = dist < window || kp < n_sinks;
            }
            total += vis;
        }
    }
    return total;
}

double lc_attn_flops(const lc_attn_shape *s, const lc_attn_params *p) {
    if (!s || !p) return 0.0;
    double per_pair = 4.0 * s->head_dim * s->n_head;
    switch (p->method) {
    case LC_ATTN_NAIVE:
    case LC_ATTN_FLASH: return per_pair * lc_attn_visible_pairs(s, 0, 0);
    case LC_ATTN_WINDOW: return per_pair * lc_attn_visible_pairs(s, p->window, p->n_sinks);
    case LC_ATTN_LINEAR: return lc_attn_linear_flops(s, p);
    case LC_ATTN_CHUNKED: return lc_attn_chunked_flops(s, p);
    case LC_ATTN_HYBRID: {
        if (!p->head_params) return 0.0;
        lc_attn_shape one = *s;
        one.n_head = 1;
        one.n_head_kv = 1;
        double total = 0.0;
        for (int32_t h = 0; h < s->n_head; h++) total += lc_attn_flops(&one, &p->head_params[h]);
        return total;
    }
    default: return 0.0;
    }
}

void lc_attn_load_row(lc_dtype t, const void *src, float *dst, int32_t d) {
    switch (t) {
    case LC_DTYPE_F32: memcpy(dst, src, (size_t)d * sizeof(float)); break;
    case LC_DTYPE_F16: {
        const uint16_t *h = (const uint16_t *)src;
        for (int32_t i = 0; i < d; i++) dst[i] = lc_f16_to_f32(h[i]);
        break;
    }
    case LC_DTYPE_Q8_0: lc_dequantize_row_q8_0((const lc_block_q8_0 *)src, dst, d); break;
    default: memset(dst, 0, (size_t)d * sizeof(float)); break;
    }
}
