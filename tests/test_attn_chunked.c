/*
 * CHUNKED attention against two independent references:
 *  - the definition, evaluated literally in double precision: for each query
 *    the local window, and for every other chunk (earlier only, when causal)
 *    the mean of its keys that the window does not cover, with log(count)
 *    added to its score, in one softmax;
 *  - the explicit-mask form: K' = [K ; summary keys], V' = [V ; summary
 *    values] with one extra dimension that carries the log(count) bias
 *    (q' = [q, 1], k' = [k, bias / scale]), run through NAIVE with an explicit
 *    mask [n_q, n_kv + 3 n_chunks];
 * plus NAIVE itself where CHUNKED must be exact attention (C = 1, C > n),
 * a causality check by perturbing the future, thread independence, exact
 * workspaces (plain malloc of exactly the reported bytes) and FLOPs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attn_internal.h"
#include "common/util.h"
#include "test_util.h"


typedef struct {
    lc_attn_shape s;
    float *q;
    void *k, *v;
    float *kf, *vf; /* f32 (dequantised) copies for the references */
} inputs;

static void fill(lc_rng *r, float *x, size_t n, float sd) {
    for (size_t i = 0; i < n; i++) x[i] = sd * lc_rng_normal(r);
}

static void *store_as(lc_dtype t, float *x, int64_t rows, int32_t d) {
    size_t rb;
    lc_dtype_row_bytes(t, d, &rb, NULL);
    char *dst = malloc(rb * (size_t)rows + 1);
    for (int64_t i = 0; i < rows; i++) {
        float *xi = x + (size_t)i * d;
        char *di = dst + (size_t)i * rb;
        if (t == LC_DTYPE_F32) {
            memcpy(di, xi, (size_t)d * 4);
        } else if (t == LC_DTYPE_F16) {
            for (int32_t j = 0; j < d; j++) {
                ((uint16_t *)di)[j] = lc_f32_to_f16(xi[j]);
                xi[j] = lc_f16_to_f32(((uint16_t *)di)[j]);
            }
        } else {
            lc_quantize_row_q8_0(xi, (lc_block_q8_0 *)di, d);
            lc_dequantize_row_q8_0((const lc_block_q8_0 *)di, xi, d);
        }
    }
    return dst;
}

static inputs make_inputs(uint64_t seed, int64_t n_q, int64_t n_kv, int hq, int hkv, int d, bool causal,
                          int64_t q_pos0, lc_dtype kt, float sd) {
    inputs in;
    memset(&in, 0, sizeof in);
    in.s.n_q = n_q;
    in.s.n_kv = n_kv;
    in.s.n_head = hq;
    in.s.n_head_kv = hkv;
    in.s.head_dim = d;
    in.s.k_type = in.s.v_type = kt;
    in.s.causal = causal;
    in.s.q_pos0 = q_pos0;
    lc_rng r;
    lc_rng_seed(&r, seed);
    size_t nq = (size_t)n_q * hq * d, nk = (size_t)n_kv * hkv * d;
    in.q = malloc(nq * 4 + 4);
    in.kf = malloc(nk * 4 + 4);
    in.vf = malloc(nk * 4 + 4);
    fill(&r, in.q, nq, sd);
    fill(&r, in.kf, nk, sd);
    fill(&r, in.vf, nk, 1.0f);
    in.k = store_as(kt, in.kf, n_kv * hkv, d);
    in.v = store_as(kt, in.vf, n_kv * hkv, d);
    return in;
}

static void free_inputs(inputs *in) {
    free(in->q);
    free(in->k);
    free(in->v);
    free(in->kf);
    free(in->vf);
}

static lc_status run_exact(const lc_attn_shape *s, const lc_attn_params *p, const float *q, const void *k,
                           const void *v, float *out, float *lse, lc_error *err) {
    size_t need = 0;
    lc_status st = lc_attn_workspace(s, p, &need, err);
    if (st != LC_OK) return st;
    void *ws = need ? malloc(need) : NULL;
    lc_attn_io io = {q, k, v, out, lse};
    st = lc_attn_forward(s, p, &io, ws, need, err);
    free(ws);
    return st;
}

static lc_attn_params chunked(int64_t C, int64_t O, int threads) {
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_CHUNKED);
    p.chunk = C;
    p.overlap = O;
    p.n_threads = threads;
    return p;
}

/* ---- reference 1: the definition in double ------------------------------------ */

/* Is key position j inside the local window of query chunk c (ignoring the
 * causal cut, which only matters inside the query's own chunk)? */
static bool in_window(int64_t j, int64_t c, int64_t C, int64_t O, bool causal) {
    return j >= c * C - O && j < c * C + C + (causal ? 0 : O);
}

static void reference(const inputs *in, int64_t C, int64_t O, float *out, float *lse) {
    const lc_attn_shape *s = &in->s;
    const int32_t d = s->head_dim, H = s->n_head, Hk = s->n_head_kv, g = H / Hk;
    const int64_t n = s->n_kv, n_ch = (n + C - 1) / C;
    const double scale = 1.0 / sqrt((double)d);
    /* entries: at most n keys + n_ch summaries */
    double *score = malloc((size_t)(n + n_ch + 1) * 8), *val = malloc((size_t)(n + n_ch + 1) * d * 8);
    double *km = malloc((size_t)d * 8), *acc = malloc((size_t)d * 8);
    for (int64_t i = 0; i < s->n_q; i++) {
        const int64_t p = s->q_pos0 + i, c = p / C;
        for (int32_t h = 0; h < H; h++) {
            const int32_t hk = h / g;
            const float *q = in->q + ((size_t)i * H + h) * d;
            int64_t ne = 0;
            for (int64_t j = 0; j < n; j++) {
                if (!in_window(j, c, C, O, s->causal) || (s->causal && j > p)) continue;
                const float *k = in->kf + ((size_t)j * Hk + hk) * d, *v = in->vf + ((size_t)j * Hk + hk) * d;
                double dot = 0;
                for (int32_t t = 0; t < d; t++) dot += (double)q[t] * k[t];
                score[ne] = dot * scale;
                for (int32_t t = 0; t < d; t++) val[(size_t)ne * d + t] = v[t];
                ne++;
            }
            for (int64_t cc = 0; cc < n_ch; cc++) {
                if (cc == c || (s->causal && cc > c)) continue;
                int64_t cnt = 0;
                for (int32_t t = 0; t < d; t++) km[t] = acc[t] = 0;
                for (int64_t j = cc * C; j < LC_MIN(n, cc * C + C); j++) {
                    if (in_window(j, c, C, O, s->causal)) continue;
                    const float *k = in->kf + ((size_t)j * Hk + hk) * d, *v = in->vf + ((size_t)j * Hk + hk) * d;
                    for (int32_t t = 0; t < d; t++) {
                        km[t] += k[t];
                        acc[t] += v[t];
                    }
                    cnt++;
                }
                if (!cnt) continue;
                double dot = 0;
                for (int32_t t = 0; t < d; t++) dot += (double)q[t] * (km[t] / cnt);
                score[ne] = dot * scale + log((double)cnt);
                for (int32_t t = 0; t < d; t++) val[(size_t)ne * d + t] = acc[t] / cnt;
                ne++;
            }
            float *o = out + ((size_t)i * H + h) * d;
            if (ne == 0) {
                for (int32_t t = 0; t < d; t++) o[t] = 0;
                lse[(size_t)i * H + h] = -INFINITY;
                continue;
            }
            double mx = -INFINITY, sum = 0;
            for (int64_t e = 0; e < ne; e++) mx = fmax(mx, score[e]);
            for (int32_t t = 0; t < d; t++) acc[t] = 0;
            for (int64_t e = 0; e < ne; e++) {
                const double w = exp(score[e] - mx);
                sum += w;
                for (int32_t t = 0; t < d; t++) acc[t] += w * val[(size_t)e * d + t];
            }
            for (int32_t t = 0; t < d; t++) o[t] = (float)(acc[t] / sum);
            lse[(size_t)i * H + h] = (float)(mx + log(sum));
        }
    }
    free(score);
    free(val);
    free(km);
    free(acc);
}

/* ---- reference 2: NAIVE with an explicit mask over [K ; summaries] ------------- */

enum { KIND_FULL, KIND_HEAD, KIND_TAIL };

/* Which summary of chunk cc a query of chunk c uses (-1: none). */
static int summary_kind(int64_t cc, int64_t c, int64_t O, bool causal) {
    if (cc == c || (causal && cc > c)) return -1;
    if (O > 0 && cc == c - 1) return KIND_HEAD;
    if (O > 0 && cc == c + 1) return KIND_TAIL;
    return KIND_FULL;
}

static double naive_masked_err(const inputs *in, int64_t C, int64_t O, const float *out) {
    const lc_attn_shape *s = &in->s;
    const int32_t d = s->head_dim, H = s->n_head, Hk = s->n_head_kv, D = d + 1;
    const int64_t n = s->n_kv, n_ch = (n + C - 1) / C, nk = n + 3 * n_ch;
    const float scale = 1.0f / sqrtf((float)d);
    float *q2 = calloc((size_t)s->n_q * H * D, 4), *k2 = calloc((size_t)nk * Hk * D, 4),
          *v2 = calloc((size_t)nk * Hk * D, 4), *o2 = malloc((size_t)s->n_q * H * D * 4);
    uint8_t *mask = calloc((size_t)s->n_q * nk, 1);
    for (int64_t i = 0; i < s->n_q; i++)
        for (int32_t h = 0; h < H; h++) {
            memcpy(q2 + ((size_t)i * H + h) * D, in->q + ((size_t)i * H + h) * d, (size_t)d * 4);
            q2[((size_t)i * H + h) * D + d] = 1.0f;
        }
    for (int64_t j = 0; j < n; j++)
        for (int32_t hk = 0; hk < Hk; hk++) {
            memcpy(k2 + ((size_t)j * Hk + hk) * D, in->kf + ((size_t)j * Hk + hk) * d, (size_t)d * 4);
            memcpy(v2 + ((size_t)j * Hk + hk) * D, in->vf + ((size_t)j * Hk + hk) * d, (size_t)d * 4);
        }
    for (int64_t cc = 0; cc < n_ch; cc++) {
        const int64_t s0 = cc * C, e = LC_MIN(n, s0 + C);
        /* kinds: full [s0, e), head [s0, s0 + C - O), tail [s0 + O, e) */
        const int64_t lo[3] = {s0, s0, s0 + O}, hi[3] = {e, LC_MIN(e, s0 + C - O), e};
        for (int kind = 0; kind < 3; kind++)
            for (int32_t hk = 0; hk < Hk; hk++) {
                const int64_t row = n + 3 * cc + kind, cnt = hi[kind] - lo[kind];
                float *kr = k2 + ((size_t)row * Hk + hk) * D, *vr = v2 + ((size_t)row * Hk + hk) * D;
                for (int32_t t = 0; t < d; t++) {
                    double ks = 0, vs = 0;
                    for (int64_t j = lo[kind]; j < hi[kind]; j++) {
                        ks += in->kf[((size_t)j * Hk + hk) * d + t];
                        vs += in->vf[((size_t)j * Hk + hk) * d + t];
                    }
                    kr[t] = cnt > 0 ? (float)(ks / cnt) : 0.0f;
                    vr[t] = cnt > 0 ? (float)(vs / cnt) : 0.0f;
                }
                kr[d] = cnt > 0 ? logf((float)cnt) / scale : 0.0f;
            }
    }
    for (int64_t i = 0; i < s->n_q; i++) {
        const int64_t p = s->q_pos0 + i, c = p / C;
        uint8_t *m = mask + (size_t)i * nk;
        for (int64_t j = 0; j < n; j++) m[j] = in_window(j, c, C, O, s->causal) && (!s->causal || j <= p);
        for (int64_t cc = 0; cc < n_ch; cc++) {
            const int kind = summary_kind(cc, c, O, s->causal);
            const int64_t s0 = cc * C, e = LC_MIN(n, s0 + C);
            const int64_t cnt = kind == KIND_FULL ? e - s0 : kind == KIND_HEAD ? LC_MIN(e, s0 + C - O) - s0 : e - s0 - O;
            if (kind >= 0 && cnt > 0) m[n + 3 * cc + kind] = 1;
        }
    }
    lc_attn_shape s2 = *s;
    s2.n_kv = nk;
    s2.head_dim = D;
    s2.k_type = s2.v_type = LC_DTYPE_F32;
    s2.causal = false; /* the mask says it all */
    s2.scale = scale;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    p.mask = mask;
    lc_error err;
    CHECK_OK(run_exact(&s2, &p, q2, k2, v2, o2, NULL, &err), &err);
    /* compare the first d columns */
    double mx = 1e-3, de = 0;
    for (int64_t r = 0; r < s->n_q * H; r++)
        for (int32_t t = 0; t < d; t++) {
            const double a = out[(size_t)r * d + t], b = o2[(size_t)r * D + t];
            mx = fmax(mx, fabs(b));
            const double e = fabs(a - b);
            if (!(e <= de)) de = e;
        }
    free(q2);
    free(k2);
    free(v2);
    free(o2);
    free(mask);
    return de / mx;
}

/* ---- the cases ---------------------------------------------------------------- */

typedef struct {
    int64_t n_q, n_kv, q_pos0, C, O;
    int hq, hkv, d;
    bool causal;
    lc_dtype kt;
} ch_case;

static void check_case(const ch_case *cs, uint64_t seed, bool with_naive) {
    inputs in = make_inputs(seed, cs->n_q, cs->n_kv, cs->hq, cs->hkv, cs->d, cs->causal, cs->q_pos0, cs->kt, 1.0f);
    lc_attn_params p = chunked(cs->C, cs->O, 0);
    const size_t no = (size_t)cs->n_q * cs->hq * cs->d, nr = (size_t)cs->n_q * cs->hq;
    float *out = malloc(no * 4 + 4), *ref = malloc(no * 4 + 4), *lse = malloc(nr * 4 + 4), *lref = malloc(nr * 4 + 4);
    lc_error err;
    CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, out, lse, &err), &err);
    reference(&in, cs->C, cs->O, ref, lref);
    const double e = lc_test_rel_err(out, ref, no, 1e-3);
    double el = 0;
    for (size_t r = 0; r < nr; r++) {
        if (isinf(lref[r]) || isinf(lse[r])) {
            if (lref[r] != lse[r]) el = INFINITY;
            continue;
        }
        el = fmax(el, fabs(lse[r] - lref[r]) / fmax(1.0, fabs(lref[r])));
    }
    CHECK(e < 1e-5 && el < 1e-5, "C=%lld O=%lld n_q=%lld n_kv=%lld pos0=%lld H=%d/%d d=%d %s %s: rel err %.3g, lse %.3g",
          (long long)cs->C, (long long)cs->O, (long long)cs->n_q, (long long)cs->n_kv, (long long)cs->q_pos0, cs->hq,
          cs->hkv, cs->d, cs->causal ? "causal" : "full", lc_dtype_name(cs->kt), e, el);
    if (with_naive) {
        const double en = naive_masked_err(&in, cs->C, cs->O, out);
        CHECK(en < 1e-5, "C=%lld O=%lld n=%lld %s: vs NAIVE + mask over [K; summaries]: %.3g", (long long)cs->C,
              (long long)cs->O, (long long)cs->n_kv, cs->causal ? "causal" : "full", en);
    }
    free(out);
    free(ref);
    free(lse);
    free(lref);
    free_inputs(&in);
}

static void test_against_references(void) {
    const int64_t big = lc_test_quick() ? 300 : 1000;
    const ch_case cases[] = {
        /* chunk sizes 1, 3, 64, C > n; overlap 0 and > 0; causal and not */
        {1, 1, 0, 1, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {7, 7, 0, 1, 0, 2, 2, 16, true, LC_DTYPE_F32},
        {40, 40, 0, 3, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {40, 40, 0, 3, 2, 2, 1, 16, true, LC_DTYPE_F32},
        {40, 40, 0, 3, 1, 2, 1, 16, false, LC_DTYPE_F32},
        {41, 41, 0, 3, 2, 2, 2, 16, false, LC_DTYPE_F32},
        {300, 300, 0, 64, 0, 2, 1, 32, true, LC_DTYPE_F32},
        {300, 300, 0, 64, 17, 2, 1, 32, true, LC_DTYPE_F32},
        {300, 300, 0, 64, 63, 4, 2, 32, false, LC_DTYPE_F32},
        {100, 100, 0, 128, 10, 2, 1, 32, true, LC_DTYPE_F32},
        {100, 100, 0, 128, 10, 2, 1, 32, false, LC_DTYPE_F32},
        {big, big, 0, 64, 16, 2, 1, 32, true, LC_DTYPE_F32},
        {big, big, 0, 50, 7, 2, 1, 32, false, LC_DTYPE_F32},
        /* offsets: a query chunk after a cache, decode, queries past the keys */
        {37, 300, 263, 64, 8, 4, 2, 32, true, LC_DTYPE_F32},
        {1, 500, 499, 64, 16, 4, 1, 32, true, LC_DTYPE_F32},
        {1, 500, 499, 64, 16, 4, 1, 32, false, LC_DTYPE_F32},
        {20, 70, 100, 16, 4, 2, 1, 16, true, LC_DTYPE_F32},
        {20, 70, 100, 16, 4, 2, 1, 16, false, LC_DTYPE_F32},
        {30, 200, 11, 16, 0, 2, 1, 16, true, LC_DTYPE_F32},
        /* GQA groups 2, 4, 8 and a group past the tile rows (64 / 16 = 4 queries a tile) */
        {90, 90, 0, 16, 4, 4, 2, 16, true, LC_DTYPE_F32},
        {90, 90, 0, 16, 4, 16, 2, 16, true, LC_DTYPE_F32},
        {90, 90, 0, 16, 4, 8, 1, 16, false, LC_DTYPE_F32},
        {20, 20, 0, 8, 2, 80, 1, 16, true, LC_DTYPE_F32},
        /* K/V types */
        {150, 150, 0, 32, 8, 4, 2, 32, true, LC_DTYPE_F16},
        {150, 150, 0, 32, 8, 2, 1, 64, true, LC_DTYPE_Q8_0},
        {150, 150, 0, 32, 8, 2, 1, 64, false, LC_DTYPE_Q8_0},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++)
        check_case(&cases[i], 500 + i, cases[i].n_q * cases[i].n_kv <= 100000);
}

/* Where CHUNKED is exact attention: C = 1 (every earlier key is its own
 * summary with log 1 = 0) and C >= n (one chunk, no summaries). */
static void test_exact_limits(void) {
    const int64_t n = lc_test_quick() ? 120 : 257;
    for (int causal = 0; causal < 2; causal++) {
        inputs in = make_inputs(70 + (uint64_t)causal, n, n, 4, 2, 32, causal, 0, LC_DTYPE_F32, 1.0f);
        const size_t no = (size_t)n * 4 * 32;
        float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *l1 = malloc(n * 4 * 4), *l2 = malloc(n * 4 * 4);
        lc_attn_params naive;
        lc_attn_params_init(&naive, LC_ATTN_NAIVE);
        lc_error err;
        CHECK_OK(run_exact(&in.s, &naive, in.q, in.k, in.v, o1, l1, &err), &err);
        const int64_t Cs[3] = {1, n, n + 100};
        for (int k = 0; k < 3; k++) {
            lc_attn_params p = chunked(Cs[k], 0, 0);
            CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o2, l2, &err), &err);
            double e = lc_test_rel_err(o2, o1, no, 1e-3), el = lc_test_rel_err(l2, l1, (size_t)n * 4, 1.0);
            CHECK(e < 1e-5 && el < 1e-5, "C=%lld %s equals full attention: %.3g, lse %.3g", (long long)Cs[k],
                  causal ? "causal" : "full", e, el);
        }
        /* causal queries of chunk 0 have no summary: they equal NAIVE
         * restricted by a mask to their window (without causal masking the
         * tail of chunk 1 would enter as a summary) */
        if (!causal) {
            free(o1);
            free(o2);
            free(l1);
            free(l2);
            free_inputs(&in);
            continue;
        }
        lc_attn_params p = chunked(n / 2 + 1, 5, 0);
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o2, l2, &err), &err);
        uint8_t *mask = calloc((size_t)n * n, 1);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) mask[i * n + j] = i < n / 2 + 1 && j < n / 2 + 1;
        naive.mask = mask;
        CHECK_OK(run_exact(&in.s, &naive, in.q, in.k, in.v, o1, l1, &err), &err);
        const size_t nrow = (size_t)(n / 2 + 1) * 4 * 32;
        double e = lc_test_rel_err(o2, o1, nrow, 1e-3);
        CHECK(e < 1e-5, "chunk-0 queries = NAIVE + window mask: %.3g", e);
        naive.mask = NULL;
        free(mask);
        free(o1);
        free(o2);
        free(l1);
        free(l2);
        free_inputs(&in);
    }
}

/* Perturbing keys and values after position p changes no output at <= p. */
static void test_causality(void) {
    const int64_t n = lc_test_quick() ? 200 : 400;
    const int64_t configs[4][2] = {{1, 0}, {3, 2}, {64, 0}, {50, 20}};
    for (int k = 0; k < 4; k++) {
        inputs in = make_inputs(80 + (uint64_t)k, n, n, 4, 2, 16, true, 0, LC_DTYPE_F32, 1.0f);
        lc_attn_params p = chunked(configs[k][0], configs[k][1], 0);
        const size_t row = 4 * 16, krow = 2 * 16;
        float *o1 = malloc(n * row * 4), *o2 = malloc(n * row * 4);
        lc_error err;
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o1, NULL, &err), &err);
        lc_rng r;
        lc_rng_seed(&r, 99);
        const int64_t ps[4] = {0, configs[k][0] - 1, n / 3, n - 2};
        for (int t = 0; t < 4; t++) {
            const int64_t pp = ps[t];
            float *k2 = malloc(n * krow * 4), *v2 = malloc(n * krow * 4);
            memcpy(k2, in.kf, n * krow * 4);
            memcpy(v2, in.vf, n * krow * 4);
            fill(&r, k2 + (pp + 1) * krow, (n - pp - 1) * krow, 30.0f);
            fill(&r, v2 + (pp + 1) * krow, (n - pp - 1) * krow, 1000.0f);
            CHECK_OK(run_exact(&in.s, &p, in.q, k2, v2, o2, NULL, &err), &err);
            CHECK(memcmp(o1, o2, (pp + 1) * row * 4) == 0, "C=%lld O=%lld: outputs at <= %lld unchanged",
                  (long long)configs[k][0], (long long)configs[k][1], (long long)pp);
            CHECK(pp + 1 >= n || memcmp(o1 + (pp + 1) * row, o2 + (pp + 1) * row, (n - pp - 1) * row * 4) != 0,
                  "the perturbation does reach later queries");
            free(k2);
            free(v2);
        }
        free(o1);
        free(o2);
        free_inputs(&in);
    }
}

static void test_threads_and_isa(void) {
    const int64_t n = lc_test_quick() ? 400 : 1200;
    for (int causal = 0; causal < 2; causal++) {
        inputs in = make_inputs(90, n, n, 4, 1, 64, causal, 0, LC_DTYPE_F16, 1.0f);
        const size_t no = (size_t)n * 4 * 64;
        float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *o3 = malloc(no * 4);
        lc_error err;
        lc_attn_params p = chunked(128, 32, 1);
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o1, NULL, &err), &err);
        p.n_threads = 2;
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o2, NULL, &err), &err);
        p.n_threads = 3;
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o3, NULL, &err), &err);
        CHECK(memcmp(o1, o2, no * 4) == 0 && memcmp(o1, o3, no * 4) == 0, "1, 2, 3 threads: identical bits");
        p.force_scalar = true;
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, o2, NULL, &err), &err);
        const double e = lc_test_rel_err(o2, o1, no, 1e-3);
        CHECK(e < 2e-6, "scalar vs AVX2 %.3g", e);
        free(o1);
        free(o2);
        free(o3);
        free_inputs(&in);
    }
}

/* 1e4-magnitude inputs: finite outputs that pick the dominant key. */
static void test_extreme(void) {
    inputs in = make_inputs(95, 300, 300, 2, 1, 32, true, 0, LC_DTYPE_F32, 1e4f);
    lc_attn_params p = chunked(32, 8, 0);
    float *out = malloc(300 * 2 * 32 * 4), *lse = malloc(600 * 4);
    lc_error err;
    CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, out, lse, &err), &err);
    size_t bad = 0;
    for (size_t i = 0; i < 300 * 2 * 32; i++) bad += !isfinite(out[i]);
    for (size_t i = 0; i < 600; i++) bad += !isfinite(lse[i]);
    CHECK(bad == 0, "%zu non-finite values at 1e4 inputs", bad);
    free(out);
    free(lse);
    free_inputs(&in);
}

static void test_workspace_and_flops(void) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_head = 8;
    s.n_head_kv = 2;
    s.head_dim = 64;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true;
    s.n_q = s.n_kv = 1 << 20;
    lc_attn_params p = chunked(512, 64, 2);
    size_t ws;
    lc_error err;
    CHECK_OK(lc_attn_workspace(&s, &p, &ws, &err), &err);
    /* summaries: 2 kinds x 2 KV heads x 2047 chunks x (2 d + 1) floats + 2 lanes */
    CHECK(ws > (size_t)2 * 2 * 2047 * 129 * 4 && ws < ((size_t)6 << 20), "1M-token workspace is O(n/C d): %zu", ws);
    /* C >= n: no summaries; FLOPs equal FLASH's over the causal pairs */
    s.n_q = s.n_kv = 1000;
    p = chunked(4096, 0, 0);
    lc_attn_params f;
    lc_attn_params_init(&f, LC_ATTN_FLASH);
    CHECK(lc_attn_flops(&s, &p) == lc_attn_flops(&s, &f), "one chunk: FLASH's flops (%g vs %g)", lc_attn_flops(&s, &p),
          lc_attn_flops(&s, &f));
    /* growth: n (C + O) + n^2 / C: at C = sqrt(n)-ish far below quadratic */
    s.n_q = s.n_kv = 1 << 20;
    p = chunked(1024, 0, 0);
    const double fc = lc_attn_flops(&s, &p), ff = lc_attn_flops(&s, &f);
    CHECK(fc < ff / 200 && fc > 0, "chunked:1024 at 1M is < 1/200 of full attention (%g vs %g)", fc, ff);
    /* a decode step over 2^40 keys with chunks of 1 would need 2^40 summaries:
     * refused up front, saying how much memory it needs */
    if (lc_mem_available_bytes() > 0) {
        s.n_q = 1;
        s.n_kv = (int64_t)1 << 40;
        s.q_pos0 = s.n_kv - 1;
        p = chunked(1, 0, 2);
        CHECK(lc_attn_workspace(&s, &p, &ws, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "available"),
              "huge summary table refused: %s", err.msg);
        s.q_pos0 = 0;
    }
    /* refusals */
    int64_t kpos[4] = {0, 1, 2, 3};
    s.n_q = s.n_kv = 4;
    s.k_pos = kpos;
    CHECK(lc_attn_workspace(&s, &p, &ws, &err) == LC_ERR_UNSUPPORTED, "k_pos refused");
    s.k_pos = NULL;
    p = chunked(4, 4, 0);
    CHECK(lc_attn_workspace(&s, &p, &ws, &err) == LC_ERR_INVALID_ARG, "overlap >= chunk refused");
    /* no keys: zeros and lse -inf; no queries: nothing */
    inputs in = make_inputs(3, 5, 0, 2, 1, 16, true, 0, LC_DTYPE_F32, 1.0f);
    float out[5 * 2 * 16], lse[10];
    p = chunked(4, 1, 0);
    CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, out, lse, &err), &err);
    int bad = 0;
    for (int i = 0; i < 160; i++) bad += out[i] != 0.0f;
    for (int i = 0; i < 10; i++) bad += !(isinf(lse[i]) && lse[i] < 0);
    CHECK(bad == 0, "no keys: zeros, lse -inf");
    free_inputs(&in);
    /* positions near INT64_MAX with a huge chunk: no overflow (UBSan), every
     * query sees all five keys (causal: they are all in the past) */
    for (int causal = 0; causal < 2; causal++) {
        in = make_inputs(4, 3, 5, 2, 1, 16, causal, INT64_MAX - 3, LC_DTYPE_F32, 1.0f);
        p = chunked((int64_t)1 << 62, 3, 0);
        CHECK_OK(run_exact(&in.s, &p, in.q, in.k, in.v, out, lse, &err), &err);
        bad = 0;
        for (int i = 0; i < 3 * 2 * 16; i++) bad += !isfinite(out[i]);
        for (int i = 0; i < 6; i++) bad += !isfinite(lse[i]);
        CHECK(bad == 0 && lc_attn_flops(&in.s, &p) > 0, "positions near INT64_MAX");
        free_inputs(&in);
    }
}

/* Issue 17: lc_attn_chunked_flops is a closed form; here against the count
 * written from the definition (header of src/attn/chunked.c): every query
 * scores its local keys and one summary per other chunk it may see. */
static double chunked_flops_reference(const lc_attn_shape *s, int64_t C, int64_t O) {
    const int64_t n = s->n_kv, n_key_ch = n / C + (n % C != 0);
    const int64_t c_last = (s->q_pos0 + s->n_q - 1) / C;
    const int64_t N = s->causal ? LC_MIN(n_key_ch, c_last) : n_key_ch;
    double pairs = 0.0;
    for (int64_t i = 0; i < s->n_q; i++) {
        const int64_t p = s->q_pos0 + i, c = p / C;
        const int64_t lo = LC_MAX(0, c * C - O), hi = s->causal ? LC_MIN(n, p + 1) : LC_MIN(n, c * C + C + O);
        for (int64_t j = lo; j < hi; j++) pairs += 1.0;
        for (int64_t cc = 0; cc < N; cc++) pairs += s->causal ? cc < c : cc != c;
    }
    const double kinds = O > 0 ? (s->causal ? 1.0 : 2.0) : 0.0;
    const double summed = (double)LC_MIN(n, N * C) + kinds * (double)LC_MIN(n, N * O);
    return 4.0 * s->head_dim * s->n_head * pairs + 2.0 * s->head_dim * s->n_head_kv * summed;
}

static void test_flops_closed_form(void) {
    lc_rng r;
    lc_rng_seed(&r, 1717);
    int bad = 0;
    for (int t = 0; t < 2000; t++) {
        lc_attn_shape s;
        memset(&s, 0, sizeof s);
        s.n_head = 2;
        s.n_head_kv = 1;
        s.head_dim = 8;
        s.k_type = s.v_type = LC_DTYPE_F32;
        s.causal = lc_rng_below(&r, 2) == 0;
        s.n_kv = 1 + (int64_t)lc_rng_below(&r, 200);
        s.n_q = 1 + (int64_t)lc_rng_below(&r, 120);
        /* the runtime's shapes (queries at the end) and arbitrary offsets */
        s.q_pos0 = lc_rng_below(&r, 2) == 0 && s.n_q <= s.n_kv ? s.n_kv - s.n_q : (int64_t)lc_rng_below(&r, 250);
        const int64_t C = 1 + (int64_t)lc_rng_below(&r, 40), O = (int64_t)lc_rng_below(&r, (uint64_t)C);
        lc_attn_params p = chunked(C, O, 1);
        const double got = lc_attn_flops(&s, &p), want = chunked_flops_reference(&s, C, O);
        if (got != want && bad++ < 5)
            fprintf(stderr, "n_q %lld n_kv %lld q0 %lld causal %d C %lld O %lld: %g vs %g\n", (long long)s.n_q,
                    (long long)s.n_kv, (long long)s.q_pos0, s.causal, (long long)C, (long long)O, got, want);
    }
    CHECK(bad == 0, "%d closed-form chunked FLOP counts differ from the definition", bad);
    /* 2^62 keys: at once */
    lc_attn_shape h;
    memset(&h, 0, sizeof h);
    h.n_head = h.n_head_kv = 1;
    h.head_dim = 8;
    h.k_type = h.v_type = LC_DTYPE_F32;
    h.causal = true;
    h.n_q = h.n_kv = (int64_t)1 << 62;
    const double t0 = lc_time_now();
    lc_attn_params p = chunked(512, 64, 1);
    const double f = lc_attn_flops(&h, &p);
    CHECK(f > 0 && isfinite(f) && lc_time_now() - t0 < 1.0, "2^62-token chunked count: %g in %.1f s", f,
          lc_time_now() - t0);
}

int main(void) {
    test_against_references();
    test_exact_limits();
    test_causality();
    test_threads_and_isa();
    test_extreme();
    test_workspace_and_flops();
    test_flops_closed_form();
    return lc_test_finish("test_attn_chunked");
}
