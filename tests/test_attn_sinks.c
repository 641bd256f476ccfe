/*
 * Learned attention sinks (gpt-oss): lc_attn_params.sink_logits, a per-head
 * virtual key with logit s_h and value zero.
 *
 *   - NAIVE (f32 K/V) against a direct double-precision evaluation of
 *     out = sum_j e^(x_j) v_j / (e^(s_h) + sum_j e^(x_j)) written here,
 *     with the causal / window visibility rule spelled out per pair;
 *   - FLASH (split-KV off, auto, forced) and WINDOW against NAIVE on random
 *     and awkward shapes: GQA, odd lengths and head dims, decode (one query
 *     after a long cache), f32/f16/q8_0 K/V, scalar and AVX2, 1 and 3 threads;
 *   - every sink -inf gives exactly (bitwise) the result without sinks;
 *   - very large sinks give outputs ~0 and lse = s_h; rows that see no key
 *     give 0 and lse = s_h;
 *   - methods that do not support sinks, NaN and +inf sinks are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/attn.h"
#include "test_util.h"

#define TOL 2e-5

typedef struct {
    lc_attn_shape s;
    float *q, *kf, *vf; /* f32 data */
    void *k, *v;        /* in s.k_type / s.v_type */
    float *sinks;
} sink_case;

static void *convert_kv(const float *f, lc_dtype t, int64_t n, int64_t width) {
    if (t == LC_DTYPE_F32) {
        float *c = malloc((size_t)(n * width + 1) * sizeof(float));
        memcpy(c, f, (size_t)(n * width) * sizeof(float));
        return c;
    }
    size_t row = 0;
    lc_dtype_row_bytes(t, width, &row, NULL);
    char *out = malloc(row * (size_t)n + 1);
    for (int64_t j = 0; j < n; j++) {
        if (t == LC_DTYPE_F16)
            lc_f32_to_f16_row(f + j * width, (uint16_t *)(out + (size_t)j * row), width);
        else
            lc_quantize_row_q8_0(f + j * width, (lc_block_q8_0 *)(out + (size_t)j * row), width);
    }
    return out;
}

static void case_make(sink_case *c, const lc_attn_shape *s, uint64_t seed, float q_amp, float sink_amp) {
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    c->s = *s;
    const int64_t nq = s->n_q * s->n_head * s->head_dim, nk = s->n_kv * s->n_head_kv * s->head_dim;
    c->q = malloc((size_t)(nq + 1) * sizeof(float));
    c->kf = malloc((size_t)(nk + 1) * sizeof(float));
    c->vf = malloc((size_t)(nk + 1) * sizeof(float));
    for (int64_t i = 0; i < nq; i++) c->q[i] = q_amp * lc_rng_normal(&rng);
    for (int64_t i = 0; i < nk; i++) c->kf[i] = lc_rng_normal(&rng);
    for (int64_t i = 0; i < nk; i++) c->vf[i] = lc_rng_normal(&rng);
    c->k = convert_kv(c->kf, s->k_type, s->n_kv, (int64_t)s->n_head_kv * s->head_dim);
    c->v = convert_kv(c->vf, s->v_type, s->n_kv, (int64_t)s->n_head_kv * s->head_dim);
    c->sinks = malloc((size_t)s->n_head * sizeof(float));
    for (int32_t h = 0; h < s->n_head; h++) c->sinks[h] = sink_amp * lc_rng_normal(&rng);
    if (s->n_head > 2) c->sinks[1] = -INFINITY; /* a head without a sink */
}

static void case_free(sink_case *c) {
    free(c->q);
    free(c->kf);
    free(c->vf);
    free(c->k);
    free(c->v);
    free(c->sinks);
}

static lc_status run(const sink_case *c, const lc_attn_params *p, float *out, float *lse, lc_error *err) {
    lc_attn_io io = {c->q, c->k, c->v, out, lse};
    return lc_attn(&c->s, p, &io, err);
}

/* The direct formula in double, f32 K/V, keys at positions 0..n_kv-1. */
static void direct(const sink_case *c, int64_t window, int64_t n_sinks, const float *sinks, float *out, float *lse) {
    const lc_attn_shape *s = &c->s;
    const int32_t d = s->head_dim, H = s->n_head, G = s->n_head / s->n_head_kv;
    const double scale = s->scale != 0.0f ? s->scale : 1.0 / sqrt((double)d);
    double *x = malloc((size_t)(s->n_kv + 1) * sizeof(double));
    for (int64_t i = 0; i < s->n_q; i++)
        for (int32_t h = 0; h < H; h++) {
            const int64_t qp = s->q_pos0 + i;
            const float *q = c->q + (i * H + h) * d;
            const double sink = sinks ? sinks[h] : -INFINITY;
            double mx = sink;
            for (int64_t j = 0; j < s->n_kv; j++) {
                bool vis = !s->causal || j <= qp;
                if (vis && window > 0) {
                    int64_t dist = qp - j;
                    if (dist < 0) dist = -dist;
                    vis = dist < window || j < n_sinks;
                }
                x[j] = -INFINITY;
                if (!vis) continue;
                const float *k = c->kf + (j * s->n_head_kv + h / G) * d;
                double dot = 0;
                for (int32_t t = 0; t < d; t++) dot += (double)q[t] * k[t];
                x[j] = dot * scale;
                if (x[j] > mx) mx = x[j];
            }
            double den = sink == -INFINITY ? 0.0 : exp(sink - mx), num[512] = {0};
            bool any = false;
            for (int64_t j = 0; j < s->n_kv; j++) {
                if (x[j] == -INFINITY) continue;
                any = true;
                const double e = exp(x[j] - mx);
                den += e;
                const float *v = c->vf + (j * s->n_head_kv + h / G) * d;
                for (int32_t t = 0; t < d; t++) num[t] += e * v[t];
            }
            for (int32_t t = 0; t < d; t++) out[(i * H + h) * d + t] = any ? (float)(num[t] / den) : 0.0f;
            lse[i * H + h] = any ? (float)(mx + log(den)) : (float)sink;
        }
    free(x);
}

/* lse error: absolute, relative to max(1, |ref|); -inf must match exactly. */
static double lse_err(const float *a, const float *b, int64_t n) {
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isinf(b[i]) || isinf(a[i])) {
            if (a[i] != b[i]) return INFINITY;
            continue;
        }
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (!(d <= e)) e = d;
    }
    return e;
}

static size_t out_n(const lc_attn_shape *s) { return (size_t)(s->n_q * s->n_head * s->head_dim) + 1; }
static size_t lse_n(const lc_attn_shape *s) { return (size_t)(s->n_q * s->n_head) + 1; }

/* One shape: NAIVE vs direct (f32 only), FLASH and WINDOW vs NAIVE, -inf sinks
 * bitwise equal to no sinks. */
static void check_shape(const lc_attn_shape *s0, uint64_t seed, int64_t window, int64_t n_sinks, float sink_amp) {
    sink_case c;
    case_make(&c, s0, seed, 1.5f, sink_amp);
    const lc_attn_shape *s = &c.s;
    lc_error err;
    const size_t on = out_n(s), ln = lse_n(s);
    float *ref = malloc(on * 4), *ref_l = malloc(ln * 4), *o = malloc(on * 4), *l = malloc(ln * 4);
    float *o2 = malloc(on * 4), *l2 = malloc(ln * 4);
    char what[200];
    snprintf(what, sizeof what, "n_q=%lld n_kv=%lld H=%d/%d d=%d %s/%s causal=%d q_pos0=%lld W=%lld S=%lld",
             (long long)s->n_q, (long long)s->n_kv, s->n_head, s->n_head_kv, s->head_dim, lc_dtype_name(s->k_type),
             lc_dtype_name(s->v_type), s->causal, (long long)s->q_pos0, (long long)window, (long long)n_sinks);

    lc_attn_params pn;
    lc_attn_params_init(&pn, window > 0 ? LC_ATTN_NAIVE : LC_ATTN_NAIVE);
    pn.n_threads = 2;
    pn.sink_logits = c.sinks;
    uint8_t *mask = NULL;
    if (window > 0) { /* NAIVE has no window: the equivalent explicit mask */
        mask = malloc((size_t)(s->n_q * s->n_kv) + 1);
        for (int64_t i = 0; i < s->n_q; i++)
            for (int64_t j = 0; j < s->n_kv; j++) {
                int64_t dist = s->q_pos0 + i - j;
                if (dist < 0) dist = -dist;
                mask[i * s->n_kv + j] = dist < window || j < n_sinks;
            }
        pn.mask = mask;
    }
    CHECK_OK(run(&c, &pn, ref, ref_l, &err), &err);

    if (s->k_type == LC_DTYPE_F32 && s->v_type == LC_DTYPE_F32) {
        direct(&c, window, n_sinks, c.sinks, o, l);
        double e = lc_test_rel_err(ref, o, on - 1, 1e-3), el = lse_err(ref_l, l, (int64_t)ln - 1);
        CHECK(e < 1e-6 && el < 1e-6, "naive vs direct formula: out %.3g lse %.3g (%s)", e, el, what);
    }

    for (int isa = 0; isa < 2; isa++)
        for (int split = -1; split <= 1; split++)
            for (int threads = 1; threads <= 3; threads += 2) {
                lc_attn_params p;
                lc_attn_params_init(&p, window > 0 ? LC_ATTN_WINDOW : LC_ATTN_FLASH);
                p.window = window;
                p.n_sinks = n_sinks;
                p.force_scalar = isa == 0;
                p.split_kv = split;
                p.n_threads = threads;
                p.sink_logits = c.sinks;
                CHECK_OK(run(&c, &p, o, l, &err), &err);
                double e = lc_test_rel_err(o, ref, on - 1, 1e-3), el = lse_err(l, ref_l, (int64_t)ln - 1);
                CHECK(e < TOL && el < TOL, "%s scalar=%d split=%d threads=%d vs naive: out %.3g lse %.3g (%s)",
                      lc_attn_method_name(p.method), isa == 0, split, threads, e, el, what);

                /* all sinks -inf: bitwise the call without sinks */
                float *minus = malloc((size_t)s->n_head * sizeof(float));
                for (int32_t h = 0; h < s->n_head; h++) minus[h] = -INFINITY;
                p.sink_logits = minus;
                CHECK_OK(run(&c, &p, o, l, &err), &err);
                p.sink_logits = NULL;
                CHECK_OK(run(&c, &p, o2, l2, &err), &err);
                CHECK(memcmp(o, o2, (on - 1) * 4) == 0 && memcmp(l, l2, (ln - 1) * 4) == 0,
                      "%s split=%d: sinks of -inf differ from no sinks (%s)", lc_attn_method_name(p.method), split,
                      what);
                free(minus);
            }
    /* NAIVE too: -inf sinks are bitwise no sinks */
    float *minus = malloc((size_t)s->n_head * sizeof(float));
    for (int32_t h = 0; h < s->n_head; h++) minus[h] = -INFINITY;
    pn.sink_logits = minus;
    CHECK_OK(run(&c, &pn, o, l, &err), &err);
    pn.sink_logits = NULL;
    CHECK_OK(run(&c, &pn, o2, l2, &err), &err);
    CHECK(memcmp(o, o2, (on - 1) * 4) == 0 && memcmp(l, l2, (ln - 1) * 4) == 0,
          "naive: sinks of -inf differ from no sinks (%s)", what);
    free(minus);
    free(mask);
    free(ref), free(ref_l), free(o), free(l), free(o2), free(l2);
    case_free(&c);
}

static lc_attn_shape shape(int64_t n_q, int64_t n_kv, int32_t h, int32_t hkv, int32_t d, lc_dtype kt, bool causal) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_head = h;
    s.n_head_kv = hkv;
    s.head_dim = d;
    s.k_type = s.v_type = kt;
    s.causal = causal;
    s.q_pos0 = causal ? n_kv - n_q : 0;
    return s;
}

/* Sinks of +1e4 / 1e30: the output is ~0, lse the sink; a row that sees no
 * key outputs 0 and lse = sink. */
static void check_extremes(void) {
    lc_error err;
    for (int m = 0; m < 3; m++) {
        const lc_attn_method method = m == 0 ? LC_ATTN_NAIVE : m == 1 ? LC_ATTN_FLASH : LC_ATTN_WINDOW;
        for (int split = -1; split <= 1; split += 2) {
            lc_attn_shape s = shape(3, 1500, 4, 2, 64, LC_DTYPE_F32, true);
            sink_case c;
            case_make(&c, &s, 7, 1.0f, 1.0f);
            const float big[4] = {1e4f, 1e30f, 3e38f, 200.0f};
            float *o = malloc(out_n(&s) * 4), *l = malloc(lse_n(&s) * 4);
            lc_attn_params p;
            lc_attn_params_init(&p, method);
            p.window = 100;
            p.n_sinks = 2;
            p.split_kv = split;
            p.sink_logits = big;
            CHECK_OK(run(&c, &p, o, l, &err), &err);
            double mo = 0;
            bool finite = true;
            for (size_t i = 0; i + 1 < out_n(&s); i++) mo = fmax(mo, fabs(o[i])), finite &= isfinite(o[i]);
            CHECK(finite && mo < 1e-40, "%s split=%d: huge sinks leave max |out| %g", lc_attn_method_name(method),
                  split, mo);
            for (int64_t i = 0; i < s.n_q; i++)
                for (int h = 0; h < 4; h++)
                    CHECK(fabs(l[i * 4 + h] - big[h]) <= 1e-6 * big[h], "%s: lse %g, sink %g",
                          lc_attn_method_name(method), l[i * 4 + h], big[h]);
            free(o), free(l);
            case_free(&c);
        }
        /* rows that see no key: n_kv = 0, and keys all in the future (k_pos) */
        for (int kind = 0; kind < 2; kind++) {
            lc_attn_shape s = shape(2, kind ? 5 : 0, 2, 1, 16, LC_DTYPE_F32, true);
            s.q_pos0 = 0;
            int64_t kp[5] = {10, 11, 12, 13, 14};
            if (kind) s.k_pos = kp;
            sink_case c;
            case_make(&c, &s, 9, 1.0f, 1.0f);
            const float sk[2] = {0.5f, -INFINITY};
            float o[64], l[4];
            for (int i = 0; i < 64; i++) o[i] = 7.0f;
            lc_attn_params p;
            lc_attn_params_init(&p, method);
            p.sink_logits = sk;
            CHECK_OK(run(&c, &p, o, l, &err), &err);
            bool zero = true;
            for (int i = 0; i < 64; i++) zero &= o[i] == 0.0f;
            CHECK(zero && l[0] == 0.5f && l[1] == -INFINITY && l[2] == 0.5f && l[3] == -INFINITY,
                  "%s: a row that sees no key: out zero=%d lse %g %g", lc_attn_method_name(method), zero, l[0], l[1]);
            case_free(&c);
        }
    }
}

static void check_refusals(void) {
    lc_error err;
    lc_attn_shape s = shape(4, 4, 2, 1, 16, LC_DTYPE_F32, true);
    float sk[2] = {0.0f, 1.0f};
    size_t bytes;
    lc_attn_params p;
    const lc_attn_method bad[] = {LC_ATTN_LINEAR, LC_ATTN_CHUNKED};
    for (int i = 0; i < 2; i++) {
        lc_attn_params_init(&p, bad[i]);
        p.sink_logits = sk;
        CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "%s accepted sinks",
              lc_attn_method_name(bad[i]));
    }
    lc_attn_params heads[2];
    lc_attn_params_init(&heads[0], LC_ATTN_FLASH);
    lc_attn_params_init(&heads[1], LC_ATTN_FLASH);
    heads[1].sink_logits = sk;
    lc_attn_params_init(&p, LC_ATTN_HYBRID);
    p.head_params = heads;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) != LC_OK, "hybrid accepted a head with sinks");
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    p.sink_logits = sk;
    sk[1] = NAN;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "NaN sink accepted");
    sk[1] = INFINITY;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "+inf sink accepted");
    sk[1] = -INFINITY;
    CHECK_OK(lc_attn_workspace(&s, &p, &bytes, &err), &err);
}

int main(void) {
    const bool quick = lc_test_quick();
    /* Awkward fixed shapes: decode after a long cache (split-KV), GQA, odd
     * lengths and head dims, non-causal, windows with and without kept tokens. */
    lc_attn_shape s;
    s = shape(1, 2100, 8, 2, 64, LC_DTYPE_F32, true);
    check_shape(&s, 1, 0, 0, 2.0f);
    s = shape(1, 2100, 8, 2, 64, LC_DTYPE_F16, true);
    check_shape(&s, 2, 0, 0, 2.0f);
    s = shape(1, 1300, 4, 4, 32, LC_DTYPE_Q8_0, true);
    check_shape(&s, 3, 128, 0, 2.0f);
    s = shape(37, 37, 6, 3, 17, LC_DTYPE_F32, true);
    check_shape(&s, 4, 0, 0, 1.0f);
    s = shape(29, 61, 4, 1, 33, LC_DTYPE_F32, false);
    check_shape(&s, 5, 0, 0, 1.0f);
    s = shape(130, 130, 8, 2, 32, LC_DTYPE_F32, true);
    check_shape(&s, 6, 32, 0, 3.0f);
    s = shape(100, 300, 2, 2, 32, LC_DTYPE_F16, true);
    check_shape(&s, 7, 40, 3, 1.0f);
    s = shape(3, 900, 8, 1, 64, LC_DTYPE_F32, true);
    check_shape(&s, 8, 128, 0, 5.0f);
    /* random shapes */
    lc_rng rng;
    lc_rng_seed(&rng, 1234);
    const int n_random = quick ? 6 : 16;
    for (int it = 0; it < n_random; it++) {
        const int32_t hkv = 1 + (int32_t)(lc_rng_u64(&rng) % 3), g = 1 + (int32_t)(lc_rng_u64(&rng) % 4);
        const int32_t dims[] = {1, 7, 16, 32, 48, 64, 80};
        const int32_t d = dims[lc_rng_u64(&rng) % 7];
        const int64_t n_kv = 1 + (int64_t)(lc_rng_u64(&rng) % (quick ? 200 : 500));
        const int64_t n_q = 1 + (int64_t)(lc_rng_u64(&rng) % (uint64_t)n_kv);
        const lc_dtype types[] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_Q8_0};
        lc_dtype kt = types[lc_rng_u64(&rng) % 3];
        if (kt == LC_DTYPE_Q8_0 && d % 32) kt = LC_DTYPE_F32;
        s = shape(n_q, n_kv, hkv * g, hkv, d, kt, lc_rng_u64(&rng) % 4 != 0);
        const int64_t w = lc_rng_u64(&rng) % 2 ? 0 : 1 + (int64_t)(lc_rng_u64(&rng) % 64);
        const int64_t ns = w ? (int64_t)(lc_rng_u64(&rng) % 3) : 0;
        check_shape(&s, 100 + (uint64_t)it, w, ns, 0.5f + 3.0f * lc_rng_uniform(&rng));
    }
    check_extremes();
    check_refusals();
    return lc_test_finish("test_attn_sinks");
}
