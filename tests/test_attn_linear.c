/*
 * LINEAR attention: the chunked parallel form against a direct O(n^2)
 * double-precision evaluation of the kernelised definition, the recurrent
 * state against the parallel form, FAVOR+ properties (determinism, the
 * softmax limit, stability at 1e4 magnitudes), thread-count independence,
 * exact workspaces and the small kernels underneath.
 *
 * Every call runs with a workspace of exactly lc_attn_workspace bytes from
 * plain malloc (not 64-byte aligned), so ASan catches any overrun.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attn_internal.h"
#include "attn/linear_impl.h"
#include "common/util.h"
#include "test_util.h"


/* ---- inputs ---------------------------------------------------------------- */

typedef struct {
    lc_attn_shape s;
    float *q;   /* [n_q, H, d] */
    void *k;    /* [n_kv, H_kv, d] of k_type */
    void *v;
    float *kf;  /* the keys / values as f32 (dequantised) for the reference */
    float *vf;
} inputs;

static void fill(lc_rng *r, float *x, size_t n, float sd) {
    for (size_t i = 0; i < n; i++) x[i] = sd * lc_rng_normal(r);
}

/* Store f32 rows x [rows, d] as type t into dst; return the dequantised copy in x. */
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
                          int64_t q_pos0, lc_dtype kt, lc_dtype vt, float sd) {
    inputs in;
    memset(&in, 0, sizeof in);
    in.s.n_q = n_q;
    in.s.n_kv = n_kv;
    in.s.n_head = hq;
    in.s.n_head_kv = hkv;
    in.s.head_dim = d;
    in.s.k_type = kt;
    in.s.v_type = vt;
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
    in.v = store_as(vt, in.vf, n_kv * hkv, d);
    return in;
}

static void free_inputs(inputs *in) {
    free(in->q);
    free(in->k);
    free(in->v);
    free(in->kf);
    free(in->vf);
}

/* Run through lc_attn_forward with exactly the reported workspace. */
static lc_status run_exact(const lc_attn_shape *s, const lc_attn_params *p, const inputs *in, float *out, float *lse,
                           lc_error *err) {
    size_t need = 0;
    lc_status st = lc_attn_workspace(s, p, &need, err);
    if (st != LC_OK) return st;
    void *ws = need ? malloc(need) : NULL;
    lc_attn_io io = {in->q, in->k, in->v, out, lse};
    st = lc_attn_forward(s, p, &io, ws, need, err);
    free(ws);
    return st;
}

/* ---- the double-precision reference ---------------------------------------- */

/* FAVOR+ matrix W [m, d] as the library builds it (unscaled). */
static float *favor_matrix(int32_t d, int32_t m, uint64_t seed) {
    float *wt = malloc((size_t)d * m * 4);
    double *g = malloc((size_t)d * d * 8);
    for (int32_t b = 0; b < lc_lin_favor_blocks(d, m); b++) lc_lin_favor_block(d, m, seed, b, g, wt, (size_t)m, 1.0f);
    float *w = malloc((size_t)d * m * 4);
    for (int32_t r = 0; r < m; r++)
        for (int32_t t = 0; t < d; t++) w[(size_t)r * d + t] = wt[(size_t)t * m + r];
    free(wt);
    free(g);
    return w;
}

/* phi(x) in double, straight from the definition (no stabilisation). */
static void ref_phi(lc_feature_map f, const float *x, int32_t d, const float *w, int32_t m, double *phi) {
    if (f == LC_FEATURE_ELU1) {
        for (int32_t t = 0; t < d; t++) phi[t] = x[t] > 0 ? x[t] + 1.0 : exp((double)x[t]);
    } else if (f == LC_FEATURE_RELU) {
        for (int32_t t = 0; t < d; t++) phi[t] = x[t] > 0 ? x[t] : 0.0;
    } else {
        const double sc = pow((double)d, -0.25);
        double nrm = 0.0;
        for (int32_t t = 0; t < d; t++) nrm += (x[t] * sc) * (x[t] * sc);
        for (int32_t r = 0; r < m; r++) {
            double dot = 0.0;
            for (int32_t t = 0; t < d; t++) dot += (double)w[(size_t)r * d + t] * x[t] * sc;
            phi[r] = exp(dot - nrm / 2) / sqrt((double)m);
        }
    }
}

/* out_i = sum_j (phi_i . phi_j) v_j / sum_j phi_i . phi_j over visible j. */
static void reference(const inputs *in, const lc_attn_params *p, float *out) {
    const lc_attn_shape *s = &in->s;
    const int32_t d = s->head_dim, H = s->n_head, Hk = s->n_head_kv, g = H / Hk;
    const int32_t F = lc_lin_feature_count(p->feature, d, p->n_features);
    float *w = p->feature == LC_FEATURE_FAVOR ? favor_matrix(d, F, p->seed) : NULL;
    double *pk = malloc((size_t)(s->n_kv ? s->n_kv : 1) * Hk * F * 8);
    double *pq = malloc((size_t)F * 8), *num = malloc((size_t)d * 8);
    for (int64_t j = 0; j < s->n_kv; j++)
        for (int32_t hk = 0; hk < Hk; hk++)
            ref_phi(p->feature, in->kf + ((size_t)j * Hk + hk) * d, d, w, F, pk + ((size_t)j * Hk + hk) * F);
    for (int64_t i = 0; i < s->n_q; i++) {
        for (int32_t h = 0; h < H; h++) {
            const int32_t hk = h / g;
            ref_phi(p->feature, in->q + ((size_t)i * H + h) * d, d, w, F, pq);
            int64_t jend = s->causal ? LC_MIN(s->n_kv, s->q_pos0 + i + 1) : s->n_kv;
            double den = 0.0;
            for (int32_t t = 0; t < d; t++) num[t] = 0.0;
            for (int64_t j = 0; j < jend; j++) {
                const double *kj = pk + ((size_t)j * Hk + hk) * F;
                double a = 0.0;
                for (int32_t r = 0; r < F; r++) a += pq[r] * kj[r];
                const float *vj = in->vf + ((size_t)j * Hk + hk) * d;
                for (int32_t t = 0; t < d; t++) num[t] += a * vj[t];
                den += a;
            }
            float *o = out + ((size_t)i * H + h) * d;
            for (int32_t t = 0; t < d; t++) o[t] = den > 0 ? (float)(num[t] / den) : 0.0f;
        }
    }
    free(w);
    free(pk);
    free(pq);
    free(num);
}

/* ---- parallel form vs the definition --------------------------------------- */

typedef struct {
    int64_t n_q, n_kv, q_pos0;
    int hq, hkv, d;
    bool causal;
    lc_dtype kt;
} lin_case;

static void check_case(const lin_case *lc, lc_feature_map f, int32_t m, int threads, uint64_t seed) {
    float sd = f == LC_FEATURE_FAVOR ? 0.7f : 1.0f;
    inputs in = make_inputs(seed, lc->n_q, lc->n_kv, lc->hq, lc->hkv, lc->d, lc->causal, lc->q_pos0, lc->kt, lc->kt, sd);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    p.feature = f;
    p.n_features = m;
    p.n_threads = threads;
    size_t no = (size_t)lc->n_q * lc->hq * lc->d;
    float *out = malloc(no * 4 + 4), *ref = malloc(no * 4 + 4), *lse = malloc((size_t)lc->n_q * lc->hq * 4 + 4);
    for (size_t i = 0; i < (size_t)lc->n_q * lc->hq; i++) lse[i] = NAN;
    lc_error err;
    CHECK_OK(run_exact(&in.s, &p, &in, out, lse, &err), &err);
    reference(&in, &p, ref);
    double e = lc_test_rel_err(out, ref, no, 1e-3);
    CHECK(e < 1e-5, "%s n_q=%lld n_kv=%lld pos0=%lld H=%d/%d d=%d %s %s T=%d: rel err %.3g",
          lc_feature_map_name(f), (long long)lc->n_q, (long long)lc->n_kv, (long long)lc->q_pos0, lc->hq, lc->hkv,
          lc->d, lc->causal ? "causal" : "full", lc_dtype_name(lc->kt), threads, e);
    bool lse_zero = true;
    for (size_t i = 0; i < (size_t)lc->n_q * lc->hq; i++) lse_zero = lse_zero && lse[i] == 0.0f;
    CHECK(lse_zero, "lse is filled with 0");
    free(out);
    free(ref);
    free(lse);
    free_inputs(&in);
}

static void test_against_definition(void) {
    const int64_t big = lc_test_quick() ? 300 : 1000;
    const lin_case cases[] = {
        /* lengths, self-attention, MHA */
        {1, 1, 0, 2, 2, 16, true, LC_DTYPE_F32},
        {2, 2, 0, 2, 2, 16, true, LC_DTYPE_F32},
        {7, 7, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {63, 63, 0, 2, 2, 32, true, LC_DTYPE_F32},
        {64, 64, 0, 2, 2, 32, true, LC_DTYPE_F32},
        {65, 65, 0, 2, 2, 32, true, LC_DTYPE_F32},
        /* around the chunk size of the parallel form */
        {LC_LIN_CHUNK - 1, LC_LIN_CHUNK - 1, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {LC_LIN_CHUNK, LC_LIN_CHUNK, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {LC_LIN_CHUNK + 1, LC_LIN_CHUNK + 1, 0, 2, 1, 16, true, LC_DTYPE_F32},
        {3 * LC_LIN_CHUNK + 1, 3 * LC_LIN_CHUNK + 1, LC_LIN_CHUNK - 1, 2, 1, 16, true, LC_DTYPE_F32},
        {big, big, 0, 2, 1, 32, true, LC_DTYPE_F32},
        /* GQA groups 1, 2, 4, 8 */
        {130, 130, 0, 2, 2, 16, true, LC_DTYPE_F32},
        {130, 130, 0, 4, 2, 16, true, LC_DTYPE_F32},
        {130, 130, 0, 8, 2, 16, true, LC_DTYPE_F32},
        {130, 130, 0, 8, 1, 16, true, LC_DTYPE_F32},
        /* offsets: a chunk of queries after a cache, decode, queries beyond the keys */
        {37, 200, 163, 4, 2, 32, true, LC_DTYPE_F32},
        {1, 129, 128, 4, 1, 32, true, LC_DTYPE_F32},
        {20, 70, 100, 2, 1, 16, true, LC_DTYPE_F32},
        {50, 300, 7, 2, 1, 16, true, LC_DTYPE_F32},
        /* K/V types */
        {100, 100, 0, 4, 2, 32, true, LC_DTYPE_F16},
        {100, 100, 0, 2, 1, 64, true, LC_DTYPE_Q8_0},
        /* non-causal */
        {1, 1, 0, 2, 2, 16, false, LC_DTYPE_F32},
        {7, 65, 0, 2, 1, 16, false, LC_DTYPE_F32},
        {64, 64, 0, 4, 2, 32, false, LC_DTYPE_F32},
        {big, big, 0, 2, 1, 32, false, LC_DTYPE_F16},
        {90, 300, 0, 8, 1, 16, false, LC_DTYPE_F32},
    };
    const lc_feature_map maps[3] = {LC_FEATURE_ELU1, LC_FEATURE_RELU, LC_FEATURE_FAVOR};
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++)
        for (int f = 0; f < 3; f++) check_case(&cases[i], maps[f], 0, 0, 100 + i * 3 + (uint64_t)f);
    /* FAVOR+ with more (and an odd number of) features than d */
    const lin_case fc = {70, 70, 0, 2, 1, 16, true, LC_DTYPE_F32};
    check_case(&fc, LC_FEATURE_FAVOR, 37, 0, 7);
    check_case(&fc, LC_FEATURE_FAVOR, 100, 2, 8);
    /* explicit thread counts (BLOCK schedule for one KV head and 2-3 threads) */
    const lin_case tc = {300, 300, 0, 2, 1, 16, true, LC_DTYPE_F32};
    for (int t = 1; t <= 3; t++) check_case(&tc, LC_FEATURE_ELU1, 0, t, 9);
    const lin_case tn = {300, 300, 0, 3, 3, 16, false, LC_DTYPE_F32};
    for (int t = 1; t <= 3; t++) check_case(&tn, LC_FEATURE_FAVOR, 0, t, 10);
}

/* ---- recurrent state vs parallel form --------------------------------------- */

static void test_recurrent(void) {
    const lc_feature_map maps[3] = {LC_FEATURE_ELU1, LC_FEATURE_RELU, LC_FEATURE_FAVOR};
    const int64_t n = lc_test_quick() ? 150 : 333;
    const int hq = 4, hkv = 2, d = 32;
    for (int f = 0; f < 3; f++) {
        inputs in = make_inputs(40 + (uint64_t)f, n, n, hq, hkv, d, true, 0, LC_DTYPE_F32, LC_DTYPE_F32, 0.8f);
        lc_attn_params p;
        lc_attn_params_init(&p, LC_ATTN_LINEAR);
        p.feature = maps[f];
        p.n_features = maps[f] == LC_FEATURE_FAVOR ? 48 : 0;
        size_t row = (size_t)hq * d, krow = (size_t)hkv * d;
        float *par = malloc(n * row * 4), *rec = malloc(n * row * 4);
        lc_error err;
        CHECK_OK(run_exact(&in.s, &p, &in, par, NULL, &err), &err);

        lc_linear_state *st = NULL;
        CHECK_OK(lc_linear_state_create(hq, hkv, d, &p, &st, &err), &err);
        if (!st) continue;
        size_t bytes0 = lc_linear_state_bytes(st);
        for (int64_t i = 0; i < n; i++)
            CHECK_OK(lc_linear_state_step(st, in.q + i * row, in.kf + i * krow, in.vf + i * krow, rec + i * row, &err),
                     &err);
        CHECK(lc_linear_state_bytes(st) == bytes0, "state size constant");
        double e = lc_test_rel_err(rec, par, n * row, 1e-3);
        CHECK(e < 1e-5, "%s: step-by-step vs parallel rel err %.3g", lc_feature_map_name(maps[f]), e);

        /* absorb a prefix (not a chunk multiple), then step through the rest;
         * compare with the parallel form on queries p0..n-1 after a cache */
        const int64_t p0 = n / 2 + 3;
        lc_linear_state_reset(st);
        CHECK_OK(lc_linear_state_absorb(st, p0 - 1, in.kf, in.vf, &err), &err);
        for (int64_t i = p0 - 1; i < n; i++)
            CHECK_OK(lc_linear_state_step(st, in.q + i * row, in.kf + i * krow, in.vf + i * krow, rec + i * row, &err),
                     &err);
        e = lc_test_rel_err(rec + (p0 - 1) * row, par + (p0 - 1) * row, (n - p0 + 1) * row, 1e-3);
        CHECK(e < 1e-5, "%s: absorb+step vs parallel rel err %.3g", lc_feature_map_name(maps[f]), e);

        /* the same tail computed by the parallel form with an offset */
        lc_attn_shape s2 = in.s;
        s2.n_q = n - p0;
        s2.q_pos0 = p0;
        inputs in2 = in;
        in2.q = in.q + p0 * row;
        CHECK_OK(run_exact(&s2, &p, &in2, par, NULL, &err), &err);
        e = lc_test_rel_err(rec + p0 * row, par, (n - p0) * row, 1e-3);
        CHECK(e < 1e-5, "%s: offset parallel vs recurrent rel err %.3g", lc_feature_map_name(maps[f]), e);
        lc_linear_state_free(st);
        free(par);
        free(rec);
        free_inputs(&in);
    }
}

/* ---- FAVOR+ properties ------------------------------------------------------ */

static void test_favor_matrix(void) {
    const int32_t d = 16, m = 40;
    float *w1 = favor_matrix(d, m, 5), *w2 = favor_matrix(d, m, 5), *w3 = favor_matrix(d, m, 6);
    CHECK(memcmp(w1, w2, (size_t)d * m * 4) == 0, "same seed, same features");
    CHECK(memcmp(w1, w3, (size_t)d * m * 4) != 0, "another seed, other features");
    /* rows of a block are orthogonal; lengths look like chi(d) (mean ~ sqrt(d)) */
    double worst = 0.0, mean_len = 0.0;
    for (int32_t a = 0; a < m; a++) {
        double la = 0.0;
        for (int32_t t = 0; t < d; t++) la += (double)w1[a * d + t] * w1[a * d + t];
        mean_len += sqrt(la) / m;
        for (int32_t b = a + 1; b < m && b / d == a / d; b++) {
            double dot = 0.0, lb = 0.0;
            for (int32_t t = 0; t < d; t++) {
                dot += (double)w1[a * d + t] * w1[b * d + t];
                lb += (double)w1[b * d + t] * w1[b * d + t];
            }
            worst = fmax(worst, fabs(dot) / sqrt(la * lb));
        }
    }
    CHECK(worst < 1e-5, "rows within a block orthogonal: worst cosine %.3g", worst);
    CHECK(mean_len > 0.6 * sqrt(d) && mean_len < 1.4 * sqrt(d), "row lengths ~ sqrt(d): %g", mean_len);
    free(w1);
    free(w2);
    free(w3);

    /* the attention output: same seed bit-identical, another seed differs */
    inputs in = make_inputs(77, 50, 50, 2, 1, 16, true, 0, LC_DTYPE_F32, LC_DTYPE_F32, 0.7f);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    p.feature = LC_FEATURE_FAVOR;
    size_t no = 50 * 2 * 16;
    float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *o3 = malloc(no * 4);
    lc_error err;
    CHECK_OK(run_exact(&in.s, &p, &in, o1, NULL, &err), &err);
    CHECK_OK(run_exact(&in.s, &p, &in, o2, NULL, &err), &err);
    p.seed = 43;
    CHECK_OK(run_exact(&in.s, &p, &in, o3, NULL, &err), &err);
    CHECK(memcmp(o1, o2, no * 4) == 0, "favor output deterministic for a seed");
    CHECK(lc_test_rel_err(o1, o3, no, 1e-3) > 1e-4, "another seed gives other features");
    free(o1);
    free(o2);
    free(o3);
    free_inputs(&in);
}

/* FAVOR+ estimates softmax attention exp(q.k / sqrt(d)): its error shrinks as
 * m grows (about 1/sqrt(m)). Averaged over a few seeds. */
static void test_favor_converges(void) {
    const int64_t n = 64;
    const int d = 16;
    const int32_t ms[2] = {64, 4096};
    double errs[2] = {0, 0};
    const int trials = lc_test_quick() ? 2 : 4;
    for (int t = 0; t < trials; t++) {
        inputs in = make_inputs(900 + (uint64_t)t, n, n, 1, 1, d, false, 0, LC_DTYPE_F32, LC_DTYPE_F32, 0.6f);
        float *soft = malloc(n * d * 4), *fav = malloc(n * d * 4);
        lc_attn_params p;
        lc_attn_params_init(&p, LC_ATTN_NAIVE);
        lc_error err;
        CHECK_OK(run_exact(&in.s, &p, &in, soft, NULL, &err), &err);
        for (int k = 0; k < 2; k++) {
            lc_attn_params_init(&p, LC_ATTN_LINEAR);
            p.feature = LC_FEATURE_FAVOR;
            p.n_features = ms[k];
            p.seed = 1000 + (uint64_t)t;
            CHECK_OK(run_exact(&in.s, &p, &in, fav, NULL, &err), &err);
            errs[k] += lc_test_rel_err(fav, soft, n * d, 1e-3) / trials;
        }
        free(soft);
        free(fav);
        free_inputs(&in);
    }
    fprintf(stderr, "favor vs softmax: rel err %.4f at m=64, %.4f at m=4096\n", errs[0], errs[1]);
    CHECK(errs[1] < 0.35 * errs[0], "error at m=4096 (%.4f) well below m=64 (%.4f)", errs[1], errs[0]);
    CHECK(errs[1] < 0.3, "m=4096 close to softmax: %.4f", errs[1]);
}

/* 1e4-magnitude inputs: every output finite, for all maps, both forms. */
static void test_extreme_inputs(void) {
    const lc_feature_map maps[3] = {LC_FEATURE_ELU1, LC_FEATURE_RELU, LC_FEATURE_FAVOR};
    const int64_t n = 200;
    const int hq = 2, hkv = 1, d = 32;
    for (int f = 0; f < 3; f++) {
        for (int causal = 0; causal < 2; causal++) {
            inputs in = make_inputs(60 + (uint64_t)f, n, n, hq, hkv, d, causal, 0, LC_DTYPE_F32, LC_DTYPE_F32, 1e4f);
            for (size_t i = 0; i < (size_t)n * hkv * d; i++) in.vf[i] *= 1e4f;
            memcpy(in.v, in.vf, (size_t)n * hkv * d * 4);
            lc_attn_params p;
            lc_attn_params_init(&p, LC_ATTN_LINEAR);
            p.feature = maps[f];
            size_t no = (size_t)n * hq * d;
            float *out = malloc(no * 4);
            lc_error err;
            CHECK_OK(run_exact(&in.s, &p, &in, out, NULL, &err), &err);
            size_t bad = 0;
            for (size_t i = 0; i < no; i++) bad += !isfinite(out[i]) || fabsf(out[i]) > 1e9f;
            CHECK(bad == 0, "%s %s: %zu non-finite or out-of-range outputs at 1e4 inputs", lc_feature_map_name(maps[f]),
                  causal ? "causal" : "full", bad);
            if (causal) {
                lc_linear_state *st = NULL;
                CHECK_OK(lc_linear_state_create(hq, hkv, d, &p, &st, &err), &err);
                bad = 0;
                for (int64_t i = 0; st && i < n; i++) {
                    lc_linear_state_step(st, in.q + i * hq * d, in.kf + i * hkv * d, in.vf + i * hkv * d,
                                         out + i * hq * d, &err);
                    for (int t = 0; t < hq * d; t++) bad += !isfinite(out[i * hq * d + t]);
                }
                CHECK(bad == 0, "%s state: %zu non-finite outputs at 1e4 inputs", lc_feature_map_name(maps[f]), bad);
                lc_linear_state_free(st);
            }
            free(out);
            free_inputs(&in);
        }
    }
    /* FAVOR+ keys whose log-features grow along the sequence force the state to
     * be rescaled again and again; compare with the definition where it is
     * representable (moderate growth) */
    inputs in = make_inputs(61, 300, 300, 1, 1, 16, true, 0, LC_DTYPE_F32, LC_DTYPE_F32, 0.5f);
    for (int64_t j = 0; j < 300; j++)
        for (int t = 0; t < 16; t++) in.kf[j * 16 + t] *= 1.0f + (float)j / 100.0f;
    memcpy(in.k, in.kf, 300 * 16 * 4);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    p.feature = LC_FEATURE_FAVOR;
    float *out = malloc(300 * 16 * 4), *ref = malloc(300 * 16 * 4);
    lc_error err;
    CHECK_OK(run_exact(&in.s, &p, &in, out, NULL, &err), &err);
    reference(&in, &p, ref);
    double e = lc_test_rel_err(out, ref, 300 * 16, 1e-3);
    CHECK(e < 1e-5, "favor with growing keys: rel err %.3g", e);
    free(out);
    free(ref);
    free_inputs(&in);
}

/* ---- threads, ISA, workspace ------------------------------------------------- */

static void test_threads_bitwise(void) {
    const lc_feature_map maps[3] = {LC_FEATURE_ELU1, LC_FEATURE_RELU, LC_FEATURE_FAVOR};
    const int64_t n = lc_test_quick() ? 700 : 2000;
    for (int f = 0; f < 3; f++) {
        for (int causal = 0; causal < 2; causal++) {
            for (int hkv = 1; hkv <= 3; hkv += 2) {
                inputs in = make_inputs(300 + (uint64_t)f, n, n, 2 * hkv, hkv, 32, causal, 0, LC_DTYPE_F16,
                                        LC_DTYPE_F32, 0.8f);
                size_t no = (size_t)n * 2 * hkv * 32;
                float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *o3 = malloc(no * 4);
                lc_attn_params p;
                lc_attn_params_init(&p, LC_ATTN_LINEAR);
                p.feature = maps[f];
                lc_error err;
                p.n_threads = 1;
                CHECK_OK(run_exact(&in.s, &p, &in, o1, NULL, &err), &err);
                p.n_threads = 2;
                CHECK_OK(run_exact(&in.s, &p, &in, o2, NULL, &err), &err);
                p.n_threads = 5;
                CHECK_OK(run_exact(&in.s, &p, &in, o3, NULL, &err), &err);
                CHECK(memcmp(o1, o2, no * 4) == 0 && memcmp(o1, o3, no * 4) == 0,
                      "%s %s H_kv=%d: 1, 2 and 5 threads give identical bits", lc_feature_map_name(maps[f]),
                      causal ? "causal" : "full", hkv);
                /* the portable path agrees */
                p.force_scalar = true;
                CHECK_OK(run_exact(&in.s, &p, &in, o2, NULL, &err), &err);
                double e = lc_test_rel_err(o2, o1, no, 1e-3);
                CHECK(e < 2e-6, "%s scalar vs AVX2: %.3g", lc_feature_map_name(maps[f]), e);
                free(o1);
                free(o2);
                free(o3);
                free_inputs(&in);
            }
        }
    }
}

static void test_workspace(void) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_head = 1;
    s.n_head_kv = 1;
    s.head_dim = 64;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    lc_error err;
    for (int f = 0; f < 3; f++) {
        p.feature = (lc_feature_map)f;
        for (int t = 1; t <= 2; t++) {
            p.n_threads = t;
            size_t a = 0, b = 0;
            s.n_q = s.n_kv = 64 * 1024;
            CHECK_OK(lc_attn_workspace(&s, &p, &a, &err), &err);
            s.n_q = s.n_kv = 1024 * 1024;
            CHECK_OK(lc_attn_workspace(&s, &p, &b, &err), &err);
            CHECK(a == b && a > 0 && a < ((size_t)16 << 20), "%s T=%d: workspace %zu at 64K == %zu at 1M, small",
                  lc_feature_map_name(p.feature), t, a, b);
        }
    }
    /* 65536 FAVOR+ features at d = 512 on 1000 threads: a 256 MiB state per
     * thread, refused up front with the amount */
    if (lc_mem_available_bytes() > 0) {
        lc_attn_params big = p;
        big.feature = LC_FEATURE_FAVOR;
        big.n_features = 65536;
        big.n_threads = 1000;
        s.head_dim = 512;
        s.n_head = s.n_head_kv = 1000;
        size_t bb;
        CHECK(lc_attn_workspace(&s, &big, &bb, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "available"),
              "huge workspace refused: %s", err.msg);
        s.head_dim = 64;
        s.n_head = s.n_head_kv = 1;
    }
    /* refusals */
    int64_t kpos[4] = {0, 1, 2, 3};
    s.n_q = s.n_kv = 4;
    s.k_pos = kpos;
    size_t bytes;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "k_pos refused: %s", err.msg);
    s.k_pos = NULL;
    lc_linear_state *st = NULL;
    lc_attn_params np;
    lc_attn_params_init(&np, LC_ATTN_FLASH);
    CHECK(lc_linear_state_create(2, 1, 16, &np, &st, &err) == LC_ERR_INVALID_ARG && !st, "state needs LINEAR");
    CHECK(lc_linear_state_create(3, 2, 16, &p, &st, &err) == LC_ERR_INVALID_ARG && !st, "state heads: %s", err.msg);
    CHECK(lc_linear_state_create(2, 1, 0, &p, &st, &err) != LC_OK && !st, "state dim 0");
    CHECK_OK(lc_linear_state_create(2, 1, 16, &p, &st, &err), &err);
    float x[32] = {0};
    CHECK(lc_linear_state_step(st, x, NULL, x, x, &err) == LC_ERR_INVALID_ARG, "step NULL k");
    CHECK(lc_linear_state_absorb(st, -1, x, x, &err) == LC_ERR_INVALID_ARG, "absorb n<0");
    CHECK_OK(lc_linear_state_absorb(st, 0, NULL, NULL, &err), &err);
    /* an empty state reads out zeros (nothing to attend to is not NaN) */
    lc_linear_state_free(st);
    lc_linear_state_free(NULL);

    /* n_kv = 0: zeros; n_q = 0: nothing to do */
    inputs in = make_inputs(5, 3, 0, 2, 1, 16, true, 0, LC_DTYPE_F32, LC_DTYPE_F32, 1.0f);
    float out[3 * 2 * 16];
    for (int i = 0; i < 96; i++) out[i] = NAN;
    CHECK_OK(run_exact(&in.s, &p, &in, out, NULL, &err), &err);
    int nz = 0;
    for (int i = 0; i < 96; i++) nz += out[i] != 0.0f;
    CHECK(nz == 0, "no keys: zeros");
    free_inputs(&in);
    /* queries near INT64_MAX see every key */
    in = make_inputs(6, 3, 70, 2, 1, 16, true, INT64_MAX - 3, LC_DTYPE_F32, LC_DTYPE_F32, 1.0f);
    float ref[3 * 2 * 16];
    CHECK_OK(run_exact(&in.s, &p, &in, out, NULL, &err), &err);
    reference(&in, &p, ref);
    CHECK(lc_test_rel_err(out, ref, 96, 1e-3) < 1e-5 && lc_attn_flops(&in.s, &p) > 0, "positions near INT64_MAX");
    free_inputs(&in);
}

/* relu features that never overlap: the normaliser is 0 and the row is zeros. */
static void test_relu_zero_normaliser(void) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = 2;
    s.n_kv = 2;
    s.n_head = s.n_head_kv = 1;
    s.head_dim = 2;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true;
    /* q0 = (1, 0) sees k0 = (0, 1): phi(q).phi(k) = 0 -> zeros;
     * q1 = (1, 1) sees k0 and k1 = (2, 0): weights 1 and 2 -> (1*v0 + 2*v1)/3 */
    float q[4] = {1, 0, 1, 1}, k[4] = {0, 1, 2, 0}, v[4] = {3, 6, 9, 12}, out[4];
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    p.feature = LC_FEATURE_RELU;
    lc_attn_io io = {q, k, v, out, NULL};
    lc_error err;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    CHECK(out[0] == 0.0f && out[1] == 0.0f, "zero normaliser -> zeros: %g %g", out[0], out[1]);
    CHECK(fabsf(out[2] - 7.0f) < 1e-5f && fabsf(out[3] - 10.0f) < 1e-5f, "weights 1:2: %g %g", out[2], out[3]);
}

/* The per-query count lc_attn_linear_flops used before its closed form
 * (issue 17), kept as the reference: for each causal query, the pairs in the
 * chunk of its last visible key and whether earlier chunks' state is read. */
static double linear_flops_loop(const lc_attn_shape *s, const lc_attn_params *p) {
    const bool favor = p->feature == LC_FEATURE_FAVOR, causal = s->causal;
    const int64_t CB = LC_LIN_CHUNK;
    const double d = s->head_dim, F = lc_lin_feature_count(p->feature, s->head_dim, p->n_features);
    const int64_t n_keys = causal ? LC_MIN(s->n_kv, s->q_pos0 + s->n_q) : s->n_kv;
    if (n_keys <= 0) return 0.0;
    const int64_t n_kc = (n_keys + CB - 1) / CB;
    const double key_feat = favor ? 2.0 * d * F + 2.0 * d + 3.0 * F : d;
    const double state_keys = causal ? (double)(n_kc - 1) * CB : (double)n_keys;
    const double combines = causal ? (double)(n_kc - 1) : (double)n_kc;
    const double per_kv = (double)n_keys * key_feat + state_keys * (2.0 * F * d + F) + combines * 3.0 * F * (d + 1.0);
    const double q_feat = favor ? 2.0 * d * F + 3.0 * F : d;
    double inter_q = causal ? 0.0 : (double)s->n_q, intra_pairs = 0.0;
    for (int64_t i = 0; causal && i < s->n_q; i++) {
        const int64_t e = LC_MIN(n_keys, s->q_pos0 + i + 1), j0 = (e - 1) / CB * CB;
        intra_pairs += (double)(e - j0);
        if (j0 > 0) inter_q += 1.0;
    }
    const double per_q = (double)s->n_q * (q_feat + d) + inter_q * (2.0 * F * d + 2.0 * F) +
                         intra_pairs * (2.0 * F + 2.0 * d + 1.0);
    return per_kv * s->n_head_kv + per_q * s->n_head;
}

static void test_flops_closed_form(void) {
    lc_rng r;
    lc_rng_seed(&r, 31);
    int bad = 0;
    for (int t = 0; t < 2000; t++) {
        lc_attn_shape s;
        memset(&s, 0, sizeof s);
        s.n_head = 2;
        s.n_head_kv = 1;
        s.head_dim = 8;
        s.k_type = s.v_type = LC_DTYPE_F32;
        s.causal = lc_rng_below(&r, 4) != 0;
        s.n_kv = 1 + (int64_t)lc_rng_below(&r, 300);
        s.n_q = 1 + (int64_t)lc_rng_below(&r, 200);
        s.q_pos0 = lc_rng_below(&r, 2) == 0 && s.n_q <= s.n_kv ? s.n_kv - s.n_q : (int64_t)lc_rng_below(&r, 400);
        lc_attn_params p;
        lc_attn_params_init(&p, LC_ATTN_LINEAR);
        p.feature = lc_rng_below(&r, 2) ? LC_FEATURE_ELU1 : LC_FEATURE_FAVOR;
        const double got = lc_attn_flops(&s, &p), want = linear_flops_loop(&s, &p);
        if (!(fabs(got - want) <= 1e-12 * want) && bad++ < 5)
            fprintf(stderr, "n_q %lld n_kv %lld q0 %lld causal %d: %.17g vs %.17g\n", (long long)s.n_q,
                    (long long)s.n_kv, (long long)s.q_pos0, s.causal, got, want);
    }
    CHECK(bad == 0, "%d closed-form linear FLOP counts differ from the per-query loop", bad);
    lc_attn_shape h;
    memset(&h, 0, sizeof h);
    h.n_head = h.n_head_kv = 1;
    h.head_dim = 16;
    h.k_type = h.v_type = LC_DTYPE_F32;
    h.causal = true;
    h.n_q = h.n_kv = (int64_t)1 << 62;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    const double t0 = lc_time_now(), f = lc_attn_flops(&h, &p);
    CHECK(f > 0 && isfinite(f) && lc_time_now() - t0 < 1.0, "2^62-token linear count: %g", f);
}

static void test_flops(void) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_head = 4;
    s.n_head_kv = 2;
    s.head_dim = 64;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_LINEAR);
    for (int f = 0; f < 3; f++) {
        p.feature = (lc_feature_map)f;
        s.n_q = s.n_kv = 64 * 1024;
        double a = lc_attn_flops(&s, &p);
        s.n_q = s.n_kv = 1024 * 1024;
        double b = lc_attn_flops(&s, &p);
        CHECK(a > 0 && fabs(b / a - 16.0) < 0.01, "%s: flops linear in n (%g vs %g)", lc_feature_map_name(p.feature), a,
              b);
        /* several times less than softmax attention's 4 d n^2 / 2 per head at 1M */
        lc_attn_params fp;
        lc_attn_params_init(&fp, LC_ATTN_FLASH);
        CHECK(b < lc_attn_flops(&s, &fp) / 100, "linear << quadratic at 1M");
    }
}

/* ---- the kernels ------------------------------------------------------------ */

static void test_kernels(void) {
    lc_rng r;
    lc_rng_seed(&r, 3);
    const lc_isa isas[2] = {LC_ISA_SCALAR, lc_isa_best()};
    for (int ii = 0; ii < 2; ii++) {
        const lc_isa isa = isas[ii];
        for (int trial = 0; trial < 60; trial++) {
            int64_t M = 1 + (int64_t)lc_rng_below(&r, 21), N = 1 + (int64_t)lc_rng_below(&r, 40),
                    K = (int64_t)lc_rng_below(&r, 19);
            bool trans = trial & 1, acc = trial & 2;
            size_t lda = (size_t)(trans ? M : K) + 3, ldb = (size_t)N + 5, ldc = (size_t)N + 2;
            float *a = malloc(((trans ? K : M) * lda + 1) * 4), *b = malloc((K * ldb + 1) * 4),
                  *c = malloc(M * ldc * 4), *c0 = malloc(M * ldc * 4);
            fill(&r, a, (trans ? K : M) * lda + 1, 1.0f);
            fill(&r, b, K * ldb + 1, 1.0f);
            fill(&r, c, M * ldc, 1.0f);
            memcpy(c0, c, M * ldc * 4);
            lc_lin_gemm(isa, M, N, K, a, trans ? 1 : lda, trans ? lda : 1, b, ldb, c, ldc, acc);
            double worst = 0.0;
            for (int64_t i = 0; i < M; i++) {
                for (int64_t j = 0; j < (int64_t)ldc; j++) {
                    double want = j < N ? (acc ? c0[i * ldc + j] : 0.0) : c0[i * ldc + j];
                    if (j < N)
                        for (int64_t k = 0; k < K; k++)
                            want += (double)(trans ? a[k * lda + i] : a[i * lda + k]) * b[k * ldb + j];
                    worst = fmax(worst, fabs(want - c[i * ldc + j]));
                }
            }
            CHECK(worst < 1e-4, "gemm %s M=%lld N=%lld K=%lld trans=%d acc=%d: err %g", lc_isa_name(isa), (long long)M,
                  (long long)N, (long long)K, trans, acc, worst);
            free(a);
            free(b);
            free(c);
            free(c0);
        }
        /* exp: relative error vs libm over the range, exact 0 below, NaN kept */
        float x[1003];
        for (int i = 0; i < 1000; i++) x[i] = -100.0f + 188.0f * (float)i / 999.0f;
        x[1000] = -INFINITY;
        x[1001] = 0.0f;
        x[1002] = NAN;
        float y[1003];
        memcpy(y, x, sizeof x);
        lc_lin_exp(isa, y, 1003);
        double worst = 0.0;
        for (int i = 0; i < 1000; i++) {
            if (x[i] < -87.3f) {
                CHECK(y[i] == 0.0f || y[i] < 1e-37f, "exp(%g) underflows to ~0: %g", x[i], y[i]);
                continue;
            }
            double want = exp((double)x[i]);
            worst = fmax(worst, fabs(y[i] - want) / want);
        }
        CHECK(worst < 5e-7, "exp %s rel err %g", lc_isa_name(isa), worst);
        CHECK(y[1000] == 0.0f && y[1001] == 1.0f && isnan(y[1002]), "exp(-inf)=0, exp(0)=1, NaN kept: %g %g %g",
              y[1000], y[1001], y[1002]);
        /* transpose of odd shapes */
        float src[19 * 13], dst[13 * 21];
        fill(&r, src, 19 * 13, 1.0f);
        lc_lin_transpose(isa, src, 13, 19, 13, dst, 21);
        int bad = 0;
        for (int i = 0; i < 19; i++)
            for (int j = 0; j < 13; j++) bad += dst[j * 21 + i] != src[i * 13 + j];
        CHECK(bad == 0, "transpose %s", lc_isa_name(isa));
        /* reductions */
        float u[37], w[37];
        fill(&r, u, 37, 1.0f);
        fill(&r, w, 37, 1.0f);
        double dd = 0, ss = 0, mm = -INFINITY;
        for (int i = 0; i < 37; i++) {
            dd += (double)u[i] * w[i];
            ss += u[i];
            mm = fmax(mm, u[i]);
        }
        CHECK(fabs(lc_lin_dot(isa, u, w, 37) - dd) < 1e-5 && fabs(lc_lin_sum(isa, u, 37) - ss) < 1e-5 &&
                  lc_lin_max(isa, u, 37) == (float)mm,
              "dot/sum/max %s", lc_isa_name(isa));
        /* axpby in slices equals axpby at once */
        float y1[37], y2[37];
        memcpy(y1, w, sizeof w);
        memcpy(y2, w, sizeof w);
        lc_lin_axpby(isa, y1, u, 37, 0.3f, 1.7f);
        lc_lin_axpby(isa, y2, u, 11, 0.3f, 1.7f);
        lc_lin_axpby(isa, y2 + 11, u + 11, 26, 0.3f, 1.7f);
        CHECK(memcmp(y1, y2, sizeof y1) == 0, "axpby slice-independent %s", lc_isa_name(isa));
    }
}

int main(void) {
    test_kernels();
    test_against_definition();
    test_recurrent();
    test_favor_matrix();
    test_favor_converges();
    test_extreme_inputs();
    test_threads_bitwise();
    test_workspace();
    test_relu_zero_normaliser();
    test_flops();
    test_flops_closed_form();
    return lc_test_finish("test_attn_linear");
}
