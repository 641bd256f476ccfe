/*
 * Attention score soft-capping (lc_attn_shape.softcap, Gemma-2):
 * FLASH and WINDOW (scalar and AVX2 tiles, decode and prefill blocks, split-KV,
 * 1 and 2 threads, f32 and f16 K/V) against NAIVE (with an explicit window
 * mask for WINDOW) on randomised, awkward shapes; a direct double-precision
 * evaluation of one row; refusal for methods without it. Also the GeGLU
 * (tanh GELU) kernel against its formula.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/attn.h"
#include "longctx/kernels.h"
#include "test_util.h"

static void fill(lc_rng *rng, float *x, size_t n, float amp) {
    for (size_t i = 0; i < n; i++) x[i] = amp * lc_rng_normal(rng);
}

/* K/V of type t from f32 data (f16 rows converted). */
static void *as_type(const float *f, size_t n, lc_dtype t) {
    if (t == LC_DTYPE_F32) {
        float *o = malloc(n * sizeof(float) + 4);
        memcpy(o, f, n * sizeof(float));
        return o;
    }
    uint16_t *h = malloc(n * 2 + 4);
    lc_f32_to_f16_row(f, h, (int64_t)n);
    return h;
}

static void one_case(lc_rng *rng, int64_t n_q, int64_t n_kv, int hq, int hkv, int d, float cap, int64_t window,
                     lc_dtype kt, bool scalar, int threads, int split) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_head = hq;
    s.n_head_kv = hkv;
    s.head_dim = d;
    s.k_type = s.v_type = kt;
    s.causal = true;
    s.q_pos0 = n_kv - n_q;
    s.softcap = cap;
    const size_t nqe = (size_t)n_q * hq * d, nke = (size_t)n_kv * hkv * d;
    float *q = malloc(nqe * sizeof(float)), *kf = malloc(nke * sizeof(float)), *vf = malloc(nke * sizeof(float));
    fill(rng, q, nqe, 3.0f); /* large scores: the cap bites */
    fill(rng, kf, nke, 1.0f);
    fill(rng, vf, nke, 1.0f);
    void *k = as_type(kf, nke, kt), *v = as_type(vf, nke, kt);
    float *o_ref = calloc(nqe, sizeof(float)), *o = calloc(nqe, sizeof(float));
    float *l_ref = calloc((size_t)n_q * hq, sizeof(float)), *l = calloc((size_t)n_q * hq, sizeof(float));
    uint8_t *mask = NULL;
    lc_attn_params pn, pf;
    lc_attn_params_init(&pn, LC_ATTN_NAIVE);
    lc_attn_params_init(&pf, window > 0 ? LC_ATTN_WINDOW : LC_ATTN_FLASH);
    if (window > 0) {
        pf.window = window;
        pf.n_sinks = 0;
        mask = malloc((size_t)n_q * (size_t)n_kv);
        for (int64_t i = 0; i < n_q; i++)
            for (int64_t j = 0; j < n_kv; j++) mask[i * n_kv + j] = (s.q_pos0 + i) - j < window;
        pn.mask = mask;
    }
    pn.n_threads = 1;
    pf.n_threads = threads;
    pf.force_scalar = scalar;
    pf.split_kv = split;
    lc_error err = {0};
    lc_attn_io ion = {q, k, v, o_ref, l_ref}, iof = {q, k, v, o, l};
    CHECK_OK(lc_attn(&s, &pn, &ion, &err), &err);
    CHECK_OK(lc_attn(&s, &pf, &iof, &err), &err);
    double e = lc_test_rel_err(o, o_ref, nqe, 1e-3), el = lc_test_rel_err(l, l_ref, (size_t)n_q * hq, 1e-3);
    CHECK(e < 2e-5 && el < 2e-5,
          "softcap %g %s nq %lld nkv %lld hq %d hkv %d d %d %s scalar %d threads %d split %d: out %g lse %g",
          (double)cap, window > 0 ? "window" : "flash", (long long)n_q, (long long)n_kv, hq, hkv, d,
          lc_dtype_name(kt), (int)scalar, threads, split, e, el);
    /* The cap must change the result (scores well past it). */
    s.softcap = 0.0f;
    lc_attn_io io0 = {q, k, v, o, l};
    CHECK_OK(lc_attn(&s, &pf, &io0, &err), &err);
    CHECK(lc_test_rel_err(o, o_ref, nqe, 1e-3) > 1e-3, "softcap %g changed nothing", (double)cap);
    free(q), free(kf), free(vf), free(k), free(v), free(o_ref), free(o), free(l_ref), free(l), free(mask);
}

/* One row by hand in double: softmax(cap tanh(q.k scale / cap)) V. */
static void direct_row(void) {
    enum { N = 5, D = 3 };
    const float q[D] = {2.0f, -1.0f, 3.0f};
    float k[N * D], v[N * D], out[D], lse;
    for (int i = 0; i < N * D; i++) k[i] = (float)((i * 7) % 5) - 2.0f, v[i] = (float)i * 0.25f;
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = 1, s.n_kv = N, s.n_head = 1, s.n_head_kv = 1, s.head_dim = D;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true, s.q_pos0 = N - 1, s.scale = 0.5f, s.softcap = 2.0f;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    p.n_threads = 1;
    lc_attn_io io = {q, k, v, out, &lse};
    lc_error err = {0};
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    double sc[N], mx = -1e30, sum = 0.0, want[D] = {0};
    for (int j = 0; j < N; j++) {
        double dot = 0.0;
        for (int t = 0; t < D; t++) dot += (double)q[t] * k[j * D + t];
        sc[j] = 2.0 * tanh(dot * 0.5 / 2.0);
        mx = fmax(mx, sc[j]);
    }
    for (int j = 0; j < N; j++) sum += exp(sc[j] - mx);
    for (int j = 0; j < N; j++)
        for (int t = 0; t < D; t++) want[t] += exp(sc[j] - mx) / sum * v[j * D + t];
    for (int t = 0; t < D; t++) CHECK(fabs(out[t] - want[t]) < 1e-5, "direct: out[%d] %g want %g", t, out[t], want[t]);
    CHECK(fabs(lse - (mx + log(sum))) < 1e-5, "direct: lse %g want %g", lse, mx + log(sum));

    /* Methods without soft-capping refuse it. */
    lc_attn_params pl;
    lc_attn_params_init(&pl, LC_ATTN_CHUNKED);
    CHECK(lc_attn(&s, &pl, &io, &err) == LC_ERR_UNSUPPORTED && strstr(err.msg, "soft-capping"),
          "chunked with softcap: %s", err.msg);
    s.softcap = -1.0f;
    CHECK(lc_attn(&s, &p, &io, &err) == LC_ERR_INVALID_ARG, "negative softcap accepted");
}

static void geglu(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 7);
    const int64_t n = 70001; /* odd, past the parallel threshold */
    float *g = malloc(n * sizeof(float)), *u = malloc(n * sizeof(float)), *o = malloc(n * sizeof(float));
    fill(&rng, g, (size_t)n, 3.0f);
    fill(&rng, u, (size_t)n, 1.0f);
    g[0] = 0.0f, g[1] = -20.0f, g[2] = 20.0f;
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    lc_geglu_tanh(o, g, u, n, &ko);
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double x = g[i];
        const double want = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))) * u[i];
        worst = fmax(worst, fabs(o[i] - want) / fmax(1.0, fabs(want)));
    }
    CHECK(worst < 1e-6, "geglu: worst relative error %g", worst);
    CHECK(o[0] == 0.0f && fabs(o[1]) < 1e-6 && fabs(o[2] - 20.0f * u[2]) < 1e-4, "geglu ends %g %g %g", o[0], o[1],
          o[2]);
    lc_geglu_tanh(g, g, u, n, &ko); /* in place */
    CHECK(memcmp(g, o, (size_t)n * sizeof(float)) == 0, "geglu in place differs");
    free(g), free(u), free(o);
}

int main(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 2026);
    static const int dims[] = {32, 64, 80, 17};
    static const lc_dtype types[] = {LC_DTYPE_F32, LC_DTYPE_F16};
    for (int it = 0; it < 48; it++) {
        const int d = dims[it % 4];
        const int hkv = 1 + (int)(lc_rng_u64(&rng) % 3), g = 1 + (int)(lc_rng_u64(&rng) % 4);
        const int64_t n_kv = 1 + (int64_t)(lc_rng_u64(&rng) % 300);
        const int64_t n_q = it % 3 == 0 ? 1 : 1 + (int64_t)(lc_rng_u64(&rng) % (uint64_t)n_kv);
        const int64_t window = it % 2 ? 1 + (int64_t)(lc_rng_u64(&rng) % 40) : 0;
        const lc_dtype kt = d % 16 ? LC_DTYPE_F32 : types[(it / 2) % 2];
        one_case(&rng, n_q, n_kv, hkv * g, hkv, d, it % 4 == 3 ? 5.0f : 1.5f, window, kt, (it / 4) % 2 == 1,
                 1 + it % 2, it % 3 - 1);
    }
    direct_row();
    geglu();
    return lc_test_finish("test_attn_softcap");
}
