/*
 * Gated DeltaNet (include/longctx/deltanet.h):
 *   - the recurrent and the chunked forms against a naive double-precision
 *     evaluation written here step by step (normalise, decay, read, delta,
 *     write, query), and against each other, on random shapes: GQA-style
 *     value heads per key head, odd head dims, lengths 1, odd, exactly at
 *     chunk boundaries, several chunk sizes, strided q/k/v (slices of one
 *     mixed row), a non-zero initial state, 1 and 3 threads, AVX2 and scalar;
 *   - continuing: chunked prefill then recurrent decode, and prefill in two
 *     chunked calls, equal the single pass; strong decays stay finite;
 *   - the causal depthwise conv1d against the zero-padded convolution,
 *     also fed in pieces (1 token, fewer than K-1, many) through its state;
 *   - the gates and the gated RMSNorm against their formulas;
 *   - state save / load round trip and refusals (wrong shape, truncated,
 *     non-finite), invalid inputs refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/deltanet.h"
#include "longctx/sys.h"
#include "test_util.h"

typedef struct {
    lc_deltanet_shape s;
    int64_t n, stride; /* mixed row: q | k | v | pad */
    float *mixed, *g, *beta, *state0;
} dn_case;

static void case_make(dn_case *c, lc_deltanet_shape s, int64_t n, uint64_t seed, float state_amp, float decay) {
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    c->s = s;
    c->n = n;
    const int64_t wk = (int64_t)s.n_k_heads * s.d_k, wv = (int64_t)s.n_v_heads * s.d_v;
    c->stride = 2 * wk + wv + 3;
    c->mixed = malloc((size_t)(n * c->stride + 1) * sizeof(float));
    for (int64_t i = 0; i < n * c->stride; i++) c->mixed[i] = lc_rng_normal(&rng);
    c->g = malloc((size_t)(n * s.n_v_heads + 1) * sizeof(float));
    c->beta = malloc((size_t)(n * s.n_v_heads + 1) * sizeof(float));
    for (int64_t i = 0; i < n * s.n_v_heads; i++) {
        c->g[i] = -decay * lc_rng_uniform(&rng);
        c->beta[i] = lc_rng_uniform(&rng);
    }
    const size_t sn = (size_t)s.n_v_heads * s.d_k * s.d_v;
    c->state0 = malloc(sn * sizeof(float));
    for (size_t i = 0; i < sn; i++) c->state0[i] = state_amp * lc_rng_normal(&rng);
}

static void case_free(dn_case *c) {
    free(c->mixed);
    free(c->g);
    free(c->beta);
    free(c->state0);
}

static size_t state_n(const lc_deltanet_shape *s) { return (size_t)s->n_v_heads * s->d_k * s->d_v; }

/* io over tokens [t0, t0 + n) of the case */
static lc_deltanet_io case_io(const dn_case *c, int64_t t0, float *out, float *state) {
    const int64_t wk = (int64_t)c->s.n_k_heads * c->s.d_k;
    lc_deltanet_io io;
    memset(&io, 0, sizeof io);
    const float *row = c->mixed + t0 * c->stride;
    io.q = row;
    io.k = row + wk;
    io.v = row + 2 * wk;
    io.q_stride = io.k_stride = io.v_stride = c->stride;
    io.g = c->g + t0 * c->s.n_v_heads;
    io.beta = c->beta + t0 * c->s.n_v_heads;
    io.out = out;
    io.state = state;
    return io;
}

/* The naive reference, in double, one step at a time as the recurrence reads. */
static void naive(const dn_case *c, bool l2, float *out, float *state) {
    const lc_deltanet_shape *s = &c->s;
    const int32_t dk = s->d_k, dv = s->d_v, H = s->n_v_heads, rep = s->n_v_heads / s->n_k_heads;
    const int64_t wk = (int64_t)s->n_k_heads * dk;
    double *S = malloc((size_t)dk * dv * sizeof(double)), q[1024], k[1024], mem[1024];
    for (int32_t h = 0; h < H; h++) {
        for (int64_t i = 0; i < (int64_t)dk * dv; i++) S[i] = c->state0[(size_t)h * dk * dv + (size_t)i];
        for (int64_t t = 0; t < c->n; t++) {
            const float *row = c->mixed + t * c->stride;
            const float *qs = row + (h / rep) * dk, *ks = row + wk + (h / rep) * dk, *v = row + 2 * wk + h * dv;
            double nq = 0, nk = 0;
            for (int32_t i = 0; i < dk; i++) nq += (double)qs[i] * qs[i], nk += (double)ks[i] * ks[i];
            nq = l2 ? 1.0 / sqrt(nq + 1e-6) : 1.0;
            nk = l2 ? 1.0 / sqrt(nk + 1e-6) : 1.0;
            for (int32_t i = 0; i < dk; i++) q[i] = qs[i] * nq / sqrt((double)dk), k[i] = ks[i] * nk;
            const double decay = exp((double)c->g[t * H + h]), beta = c->beta[t * H + h];
            for (int64_t i = 0; i < (int64_t)dk * dv; i++) S[i] *= decay;
            for (int32_t j = 0; j < dv; j++) {
                mem[j] = 0;
                for (int32_t i = 0; i < dk; i++) mem[j] += S[(size_t)i * dv + j] * k[i];
            }
            for (int32_t i = 0; i < dk; i++)
                for (int32_t j = 0; j < dv; j++) S[(size_t)i * dv + j] += k[i] * beta * (v[j] - mem[j]);
            for (int32_t j = 0; j < dv; j++) {
                double o = 0;
                for (int32_t i = 0; i < dk; i++) o += S[(size_t)i * dv + j] * q[i];
                out[((size_t)t * H + h) * dv + j] = (float)o;
            }
        }
        for (int64_t i = 0; i < (int64_t)dk * dv; i++) state[(size_t)h * dk * dv + (size_t)i] = (float)S[i];
    }
    free(S);
}

static lc_status run_chunked(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n,
                             const lc_deltanet_io *io, lc_error *err) {
    size_t bytes;
    lc_status st = lc_deltanet_chunked_workspace(s, p, &bytes, err);
    if (st != LC_OK) return st;
    void *ws = lc_malloc_aligned(bytes ? bytes : 64);
    st = lc_deltanet_chunked(s, p, n, io, ws, bytes, err);
    lc_free_aligned(ws);
    return st;
}

#define TOL 2e-5

static void check_case1(lc_deltanet_shape s, int64_t n, int32_t chunk, int threads, bool l2, uint64_t seed,
                        float state_amp, float decay, bool scalar) {
    dn_case c;
    case_make(&c, s, n, seed, state_amp, decay);
    const size_t on = (size_t)(n * s.n_v_heads * s.d_v) + 1, sn = state_n(&s);
    float *ref = malloc(on * 4), *ref_s = malloc(sn * 4), *o = malloc(on * 4), *st = malloc(sn * 4);
    float *o2 = malloc(on * 4), *st2 = malloc(sn * 4);
    char what[160];
    snprintf(what, sizeof what,
             "H_k=%d H_v=%d d_k=%d d_v=%d n=%lld chunk=%d threads=%d l2=%d state=%g decay=%g scalar=%d", s.n_k_heads,
             s.n_v_heads, s.d_k, s.d_v, (long long)n, chunk, threads, l2, state_amp, decay, scalar);
    naive(&c, l2, ref, ref_s);
    lc_deltanet_params p;
    lc_deltanet_params_init(&p);
    p.chunk = chunk;
    p.n_threads = threads;
    p.l2norm_qk = l2;
    p.force_scalar = scalar;
    lc_error err;

    memcpy(st, c.state0, sn * 4);
    lc_deltanet_io io = case_io(&c, 0, o, st);
    CHECK_OK(lc_deltanet_recurrent(&s, &p, n, &io, &err), &err);
    double e = lc_test_rel_err(o, ref, on - 1, 1e-3), es = lc_test_rel_err(st, ref_s, sn, 1e-3);
    CHECK(e < TOL && es < TOL, "recurrent vs naive: out %.3g state %.3g (%s)", e, es, what);

    memcpy(st2, c.state0, sn * 4);
    io = case_io(&c, 0, o2, st2);
    CHECK_OK(run_chunked(&s, &p, n, &io, &err), &err);
    e = lc_test_rel_err(o2, ref, on - 1, 1e-3), es = lc_test_rel_err(st2, ref_s, sn, 1e-3);
    CHECK(e < TOL && es < TOL, "chunked vs naive: out %.3g state %.3g (%s)", e, es, what);
    e = lc_test_rel_err(o2, o, on - 1, 1e-3), es = lc_test_rel_err(st2, st, sn, 1e-3);
    CHECK(e < TOL && es < TOL, "chunked vs recurrent: out %.3g state %.3g (%s)", e, es, what);

    /* continuing: chunked over [0, m), then recurrent over [m, n); and two chunked calls */
    if (n >= 2) {
        const int64_t m = 1 + (int64_t)(seed % (uint64_t)(n - 1));
        const size_t row = (size_t)s.n_v_heads * s.d_v;
        memcpy(st2, c.state0, sn * 4);
        io = case_io(&c, 0, o2, st2);
        CHECK_OK(run_chunked(&s, &p, m, &io, &err), &err);
        io = case_io(&c, m, o2 + (size_t)m * row, st2);
        CHECK_OK(lc_deltanet_recurrent(&s, &p, n - m, &io, &err), &err);
        e = lc_test_rel_err(o2, ref, on - 1, 1e-3), es = lc_test_rel_err(st2, ref_s, sn, 1e-3);
        CHECK(e < TOL && es < TOL, "chunked [0,%lld) + recurrent: out %.3g state %.3g (%s)", (long long)m, e, es,
              what);
        memcpy(st2, c.state0, sn * 4);
        io = case_io(&c, 0, o2, st2);
        CHECK_OK(run_chunked(&s, &p, m, &io, &err), &err);
        io = case_io(&c, m, o2 + (size_t)m * row, st2);
        CHECK_OK(run_chunked(&s, &p, n - m, &io, &err), &err);
        e = lc_test_rel_err(o2, ref, on - 1, 1e-3), es = lc_test_rel_err(st2, ref_s, sn, 1e-3);
        CHECK(e < TOL && es < TOL, "chunked [0,%lld) + chunked: out %.3g state %.3g (%s)", (long long)m, e, es, what);
    }
    bool finite = true;
    for (size_t i = 0; i + 1 < on; i++) finite &= isfinite(o[i]) && isfinite(o2[i]);
    CHECK(finite, "non-finite output (%s)", what);
    free(ref), free(ref_s), free(o), free(st), free(o2), free(st2);
    case_free(&c);
}

/* Every case with the AVX2 kernels (where the CPU has them) and the scalar fallback. */
static void check_case(lc_deltanet_shape s, int64_t n, int32_t chunk, int threads, bool l2, uint64_t seed,
                       float state_amp, float decay) {
    check_case1(s, n, chunk, threads, l2, seed, state_amp, decay, false);
    check_case1(s, n, chunk, threads, l2, seed, state_amp, decay, true);
}

static lc_deltanet_shape shape(int32_t hk, int32_t hv, int32_t dk, int32_t dv) {
    lc_deltanet_shape s = {hk, hv, dk, dv};
    return s;
}

/* ---- conv1d, gates, gated norm ------------------------------------------------- */

static void check_conv(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 77);
    lc_error err;
    const int32_t C = 13, kernels[] = {1, 2, 4, 5};
    for (int ki = 0; ki < 4; ki++) {
        const int32_t K = kernels[ki], P = K - 1;
        const int64_t n = 23, xs = C + 2;
        float x[23 * 15], w[13 * 5], ref[23 * 13], y[23 * 13], state[4 * 13 + 1];
        for (int i = 0; i < 23 * 15; i++) x[i] = lc_rng_normal(&rng);
        for (int i = 0; i < C * K; i++) w[i] = lc_rng_normal(&rng);
        for (int64_t t = 0; t < n; t++)
            for (int32_t ch = 0; ch < C; ch++) {
                double acc = 0;
                for (int32_t i = 0; i < K; i++) {
                    const int64_t src = t - P + i;
                    if (src >= 0) acc += (double)w[ch * K + i] * x[src * xs + ch];
                }
                ref[t * C + ch] = (float)(acc / (1.0 + exp(-acc)));
            }
        memset(state, 0, sizeof state);
        CHECK_OK(lc_deltanet_conv1d(n, C, K, x, xs, w, state, y, &err), &err);
        double e = lc_test_rel_err(y, ref, (size_t)(n * C), 1e-3);
        CHECK(e < 1e-6, "conv1d K=%d one call: %.3g", K, e);
        bool last = true; /* the state holds the last K-1 inputs */
        for (int32_t r = 0; r < P; r++)
            for (int32_t ch = 0; ch < C; ch++) last &= state[r * C + ch] == x[(n - P + r) * xs + ch];
        CHECK(last, "conv1d K=%d: state is not the last inputs", K);
        /* in pieces: 1, 2 (< K-1 for K=4,5), 1, 7, then the rest */
        memset(state, 0, sizeof state);
        const int64_t pieces[] = {1, 2, 1, 7, n - 11};
        int64_t t0 = 0;
        for (int pi = 0; pi < 5; pi++) {
            CHECK_OK(lc_deltanet_conv1d(pieces[pi], C, K, x + t0 * xs, xs, w, state, y + t0 * C, &err), &err);
            t0 += pieces[pi];
        }
        e = lc_test_rel_err(y, ref, (size_t)(n * C), 1e-3);
        CHECK(e < 1e-6, "conv1d K=%d in pieces: %.3g", K, e);
    }
    float x[4] = {0}, w[4] = {0}, y[4];
    CHECK(lc_deltanet_conv1d(1, 2, 0, x, 0, w, x, y, &err) == LC_ERR_INVALID_ARG, "kernel 0 accepted");
    CHECK(lc_deltanet_conv1d(1, 2, 2, x, 1, w, x, y, &err) == LC_ERR_INVALID_ARG, "short stride accepted");
}

static void check_gates_norm(void) {
    const float a[6] = {-3.0f, 0.0f, 25.0f, 1.0f, -40.0f, 2.5f}, b[6] = {-2.0f, 0.0f, 3.0f, 1.0f, -30.0f, 0.5f};
    const float A[3] = {-0.5f, -8.0f, -0.01f}, dt[3] = {0.3f, -1.0f, 2.0f};
    float g[6], beta[6];
    lc_deltanet_gates(2, 3, a, b, 0, A, dt, g, beta);
    bool ok = true;
    for (int i = 0; i < 6; i++) {
        const double sp = log1p(exp((double)a[i] + dt[i % 3]));
        ok &= fabs(g[i] - A[i % 3] * sp) <= 1e-6 * fmax(1.0, fabs(A[i % 3] * sp));
        ok &= fabs(beta[i] - 1.0 / (1.0 + exp(-(double)b[i]))) < 1e-7;
        ok &= g[i] <= 0.0f;
    }
    CHECK(ok, "gates differ from A softplus(a + dt_bias), sigmoid(b)");

    lc_rng rng;
    lc_rng_seed(&rng, 5);
    float x[3 * 7], z[3 * 7], w[7], out[3 * 7];
    for (int i = 0; i < 21; i++) x[i] = 2.0f * lc_rng_normal(&rng), z[i] = lc_rng_normal(&rng);
    for (int i = 0; i < 7; i++) w[i] = 1.0f + 0.1f * lc_rng_normal(&rng);
    lc_deltanet_gated_norm(3, 7, x, z, w, 1e-6f, out);
    double worst = 0;
    for (int r = 0; r < 3; r++) {
        double ms = 0;
        for (int i = 0; i < 7; i++) ms += (double)x[r * 7 + i] * x[r * 7 + i];
        ms = 1.0 / sqrt(ms / 7 + 1e-6);
        for (int i = 0; i < 7; i++) {
            const double zz = z[r * 7 + i], want = x[r * 7 + i] * ms * w[i] * zz / (1 + exp(-zz));
            worst = fmax(worst, fabs(out[r * 7 + i] - want));
        }
    }
    CHECK(worst < 1e-6, "gated norm: max error %.3g", worst);
}

/* ---- state ----------------------------------------------------------------------- */

static void check_state(void) {
    lc_error err;
    lc_deltanet_shape s = shape(2, 4, 8, 6);
    lc_deltanet_state *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(lc_deltanet_state_create(&s, 4, &a, &err), &err);
    CHECK_OK(lc_deltanet_state_create(&s, 4, &b, &err), &err);
    lc_deltanet_shape s2 = shape(2, 4, 8, 7);
    CHECK_OK(lc_deltanet_state_create(&s2, 4, &c, &err), &err);
    if (!a || !b || !c) return;
    const size_t ssm = 4 * 8 * 6, conv = 3 * (2 * 2 * 8 + 4 * 6);
    CHECK(lc_deltanet_state_bytes(a) == 32 + 4 * (ssm + conv), "state bytes %zu", lc_deltanet_state_bytes(a));
    for (size_t i = 0; i < ssm; i++) lc_deltanet_state_ssm(a)[i] = (float)i * 0.5f;
    for (size_t i = 0; i < conv; i++) lc_deltanet_state_conv(a)[i] = -(float)i;
    const size_t nb = lc_deltanet_state_bytes(a);
    char *buf = malloc(nb);
    CHECK(lc_deltanet_state_save(a, buf, nb - 1, &err) != LC_OK, "save into too small a buffer");
    CHECK_OK(lc_deltanet_state_save(a, buf, nb, &err), &err);
    CHECK_OK(lc_deltanet_state_load(b, buf, nb, &err), &err);
    CHECK(memcmp(lc_deltanet_state_ssm(a), lc_deltanet_state_ssm(b), ssm * 4) == 0 &&
              memcmp(lc_deltanet_state_conv(a), lc_deltanet_state_conv(b), conv * 4) == 0,
          "state round trip differs");
    CHECK(lc_deltanet_state_load(c, buf, nb, &err) == LC_ERR_FORMAT, "load of another shape accepted");
    CHECK(lc_deltanet_state_load(b, buf, nb - 4, &err) == LC_ERR_FORMAT, "truncated load accepted");
    float nan = NAN;
    memcpy(buf + 32 + 4 * 10, &nan, 4);
    lc_deltanet_state_reset(b);
    CHECK(lc_deltanet_state_load(b, buf, nb, &err) == LC_ERR_FORMAT, "NaN state accepted");
    CHECK(lc_deltanet_state_ssm(b)[11] == 0.0f, "a refused load changed the state");
    buf[0] ^= 1;
    CHECK(lc_deltanet_state_load(b, buf, nb, &err) == LC_ERR_FORMAT, "bad magic accepted");
    free(buf);
    lc_deltanet_state_free(a);
    lc_deltanet_state_free(b);
    lc_deltanet_state_free(c);
    CHECK(lc_deltanet_state_create(&s, 0, &a, &err) == LC_ERR_INVALID_ARG && !a, "kernel 0 accepted");
}

static void check_refusals(void) {
    lc_error err;
    lc_deltanet_shape bad = shape(3, 4, 8, 8);
    lc_deltanet_params p;
    lc_deltanet_params_init(&p);
    size_t bytes;
    CHECK(lc_deltanet_chunked_workspace(&bad, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "H_v %% H_k != 0 accepted");
    lc_deltanet_shape s = shape(1, 1, 4, 4);
    p.chunk = 5000;
    CHECK(lc_deltanet_chunked_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "chunk 5000 accepted");
    p.chunk = 0;
    dn_case c;
    case_make(&c, s, 3, 1, 0.0f, 1.0f);
    float out[12], st[16] = {0};
    c.g[1] = 0.5f;
    lc_deltanet_io io = case_io(&c, 0, out, st);
    CHECK(lc_deltanet_recurrent(&s, &p, 3, &io, &err) == LC_ERR_INVALID_ARG, "positive log decay accepted");
    c.g[1] = NAN;
    CHECK(lc_deltanet_recurrent(&s, &p, 3, &io, &err) == LC_ERR_INVALID_ARG, "NaN log decay accepted");
    c.g[1] = -1.0f;
    io.q_stride = 3;
    CHECK(lc_deltanet_recurrent(&s, &p, 3, &io, &err) == LC_ERR_INVALID_ARG, "short q stride accepted");
    case_free(&c);
}

int main(void) {
    const bool quick = lc_test_quick();
    /* lengths around chunk boundaries, 1 token, odd dims, GQA-style heads */
    check_case(shape(1, 1, 16, 16), 1, 64, 1, true, 1, 0.0f, 1.0f);
    check_case(shape(1, 1, 16, 16), 1, 64, 1, true, 2, 0.5f, 1.0f);
    check_case(shape(2, 4, 32, 32), 64, 64, 2, true, 3, 0.5f, 1.0f);
    check_case(shape(2, 4, 32, 32), 128, 64, 3, true, 4, 0.0f, 0.3f);
    check_case(shape(2, 4, 32, 32), 129, 64, 3, true, 5, 0.2f, 1.0f);
    check_case(shape(2, 4, 32, 32), 63, 64, 1, true, 6, 0.2f, 1.0f);
    check_case(shape(4, 8, 17, 33), 77, 16, 3, true, 7, 0.3f, 2.0f);
    check_case(shape(3, 3, 9, 5), 50, 1, 2, true, 8, 0.3f, 1.0f);
    check_case(shape(1, 2, 8, 12), 31, 5, 1, false, 9, 0.1f, 0.5f);
    check_case(shape(2, 2, 16, 16), 200, 64, 3, true, 10, 1.0f, 60.0f); /* decays that underflow */
    check_case(shape(2, 2, 16, 16), 70, 32, 2, true, 11, 1.0f, 0.0f);   /* no decay: pure delta rule */
    check_case(shape(1, 1, 128, 128), 130, 64, 1, true, 12, 0.1f, 1.0f); /* Qwen3-Next head dims */
    check_case(shape(2, 2, 24, 72), 41, 0, 2, true, 13, 0.3f, 1.0f);     /* AVX2 step: 64 + 8 columns; chunk default */
    lc_rng rng;
    lc_rng_seed(&rng, 99);
    const int n_random = quick ? 4 : 14;
    for (int it = 0; it < n_random; it++) {
        const int32_t hk = 1 + (int32_t)lc_rng_below(&rng, 3), rep = 1 + (int32_t)lc_rng_below(&rng, 3);
        const int32_t dk = 1 + (int32_t)lc_rng_below(&rng, 48), dv = 1 + (int32_t)lc_rng_below(&rng, 48);
        const int64_t n = 1 + (int64_t)lc_rng_below(&rng, 180);
        const int32_t chunks[] = {1, 7, 16, 64, 100};
        check_case(shape(hk, hk * rep, dk, dv), n, chunks[lc_rng_below(&rng, 5)], 1 + (int)lc_rng_below(&rng, 3),
                   lc_rng_below(&rng, 4) != 0, 100 + (uint64_t)it, lc_rng_uniform(&rng), 3.0f * lc_rng_uniform(&rng));
    }
    check_conv();
    check_gates_norm();
    check_state();
    check_refusals();
    return lc_test_finish("test_deltanet");
}
