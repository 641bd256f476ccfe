/*
 * Gated DeltaNet against Hugging Face transformers (tools/deltanet_reference.py
 * wrote the two files in tests/data/deltanet with transformers' own functions):
 *   - the core: lc_deltanet_recurrent and lc_deltanet_chunked (chunk 64 and
 *     16) from a non-zero state against torch_chunk_gated_delta_rule and
 *     torch_recurrent_gated_delta_rule (outputs and final states);
 *   - a whole Qwen3NextGatedDeltaNet layer rebuilt from longctx's operations
 *     (HF's interleaved qkvz / ba layout unpacked here, lc_deltanet_conv1d,
 *     lc_deltanet_gates with A = -exp(A_log), the core, lc_deltanet_gated_norm)
 *     against the layer's output: in one chunked pass, and as a chunked
 *     prefill followed by token-by-token decode through the saved states;
 *   - the same layer through lc_deltanet_layer_forward (one call, prefill +
 *     one call per token, one token per call) and its refusals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/deltanet.h"
#include "longctx/sys.h"
#include "test_util.h"

typedef struct {
    char *buf;
    size_t len, pos;
    bool ok;
} reader;

static bool load(const char *name, reader *r) {
    char path[512];
    snprintf(path, sizeof path, "%s/deltanet/%s", LC_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    memset(r, 0, sizeof *r);
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    r->buf = malloc((size_t)n + 1);
    r->len = fread(r->buf, 1, (size_t)n, f);
    fclose(f);
    r->ok = r->len == (size_t)n;
    return true;
}

static void *take(reader *r, size_t bytes) {
    if (!r->ok || r->len - r->pos < bytes) {
        r->ok = false;
        return NULL;
    }
    void *p = r->buf + r->pos;
    r->pos += bytes;
    return p;
}

/* A copy of the next n floats (aligned). */
static float *floats(reader *r, size_t n) {
    const void *p = take(r, n * 4);
    float *out = calloc(n + 1, sizeof(float));
    if (p) memcpy(out, p, n * 4);
    return out;
}

static void run_chunked(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n, const lc_deltanet_io *io) {
    lc_error err;
    size_t bytes = 0;
    CHECK_OK(lc_deltanet_chunked_workspace(s, p, &bytes, &err), &err);
    void *ws = lc_malloc_aligned(bytes ? bytes : 64);
    CHECK_OK(lc_deltanet_chunked(s, p, n, io, ws, bytes, &err), &err);
    lc_free_aligned(ws);
}

static void check_core(void) {
    reader r;
    if (!load("hf_gated_delta_rule.bin", &r)) {
        CHECK(false, "tests/data/deltanet/hf_gated_delta_rule.bin is missing (it is committed)");
        return;
    }
    int32_t h[5];
    const void *hp = take(&r, sizeof h);
    if (hp) memcpy(h, hp, sizeof h);
    CHECK(r.ok, "short header");
    if (!r.ok) return;
    const int64_t T = h[0];
    lc_deltanet_shape s = {h[1], h[2], h[3], h[4]};
    const size_t nq = (size_t)(T * s.n_k_heads * s.d_k), nv = (size_t)(T * s.n_v_heads * s.d_v);
    const size_t ng = (size_t)(T * s.n_v_heads), ns = (size_t)s.n_v_heads * s.d_k * s.d_v;
    float *q = floats(&r, nq), *k = floats(&r, nq), *v = floats(&r, nv), *g = floats(&r, ng), *beta = floats(&r, ng);
    float *s0 = floats(&r, ns), *oc = floats(&r, nv), *sc = floats(&r, ns), *orr = floats(&r, nv), *sr = floats(&r, ns);
    CHECK(r.ok && r.pos == r.len, "hf_gated_delta_rule.bin: %zu of %zu bytes read", r.pos, r.len);

    float *out = malloc(nv * 4), *st = malloc(ns * 4);
    lc_deltanet_params p;
    lc_deltanet_params_init(&p);
    p.n_threads = 2;
    lc_deltanet_io io = {q, k, v, g, beta, out, st, 0, 0, 0};
    lc_error err;
    memcpy(st, s0, ns * 4);
    CHECK_OK(lc_deltanet_recurrent(&s, &p, T, &io, &err), &err);
    double e1 = lc_test_rel_err(out, orr, nv, 1e-3), e2 = lc_test_rel_err(st, sr, ns, 1e-3);
    double e3 = lc_test_rel_err(out, oc, nv, 1e-3);
    CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5, "recurrent vs HF recurrent: out %.3g state %.3g; vs HF chunk %.3g", e1,
          e2, e3);
    const int32_t chunks[2] = {64, 16};
    for (int i = 0; i < 2; i++) {
        p.chunk = chunks[i];
        memcpy(st, s0, ns * 4);
        run_chunked(&s, &p, T, &io);
        e1 = lc_test_rel_err(out, oc, nv, 1e-3), e2 = lc_test_rel_err(st, sc, ns, 1e-3);
        CHECK(e1 < 1e-5 && e2 < 1e-5, "chunked (%d) vs HF chunk: out %.3g state %.3g", chunks[i], e1, e2);
    }
    free(q), free(k), free(v), free(g), free(beta), free(s0), free(oc), free(sc), free(orr), free(sr);
    free(out), free(st), free(r.buf);
}

/* y[t][r] = sum_c W[r][c] x[t][c] */
static void matmul(const float *W, int64_t rows, int64_t cols, const float *x, int64_t n, float *y) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t rr = 0; rr < rows; rr++) {
            double acc = 0;
            for (int64_t c = 0; c < cols; c++) acc += (double)W[rr * cols + c] * x[t * cols + c];
            y[t * rows + rr] = (float)acc;
        }
}

static void check_layer(void) {
    reader r;
    if (!load("hf_gdn_layer.bin", &r)) {
        CHECK(false, "tests/data/deltanet/hf_gdn_layer.bin is missing (it is committed)");
        return;
    }
    int32_t h[7];
    float eps = 0;
    const void *hp = take(&r, sizeof h);
    if (hp) memcpy(h, hp, sizeof h);
    const void *ep = take(&r, 4);
    if (ep) memcpy(&eps, ep, 4);
    CHECK(r.ok, "short header");
    if (!r.ok) return;
    const int64_t T = h[0], D = h[1];
    const lc_deltanet_shape s = {h[2], h[3], h[4], h[5]};
    const int32_t K = h[6], Hk = s.n_k_heads, Hv = s.n_v_heads, dk = s.d_k, dv = s.d_v, rep = Hv / Hk;
    const int64_t kd = (int64_t)Hk * dk, vd = (int64_t)Hv * dv, C = 2 * kd + vd, P = 2 * kd + 2 * vd;
    float *x = floats(&r, (size_t)(T * D)), *Wqkvz = floats(&r, (size_t)(P * D)), *Wba = floats(&r, (size_t)(2 * Hv * D));
    float *convw = floats(&r, (size_t)(C * K)), *dt = floats(&r, (size_t)Hv), *Alog = floats(&r, (size_t)Hv);
    float *normw = floats(&r, (size_t)dv), *Wout = floats(&r, (size_t)(D * vd)), *yref = floats(&r, (size_t)(T * D));
    CHECK(r.ok && r.pos == r.len, "hf_gdn_layer.bin: %zu of %zu bytes read", r.pos, r.len);

    /* projections, then HF's per-key-head layout unpacked:
     * qkvz row = per key head [q dk | k dk | v rep*dv | z rep*dv]; ba row = per key head [b rep | a rep] */
    float *qkvz = malloc((size_t)(T * P) * 4), *ba = malloc((size_t)(T * 2 * Hv) * 4);
    matmul(Wqkvz, P, D, x, T, qkvz);
    matmul(Wba, 2 * Hv, D, x, T, ba);
    float *mixed = malloc((size_t)(T * C) * 4), *z = malloc((size_t)(T * vd) * 4);
    float *a = malloc((size_t)(T * Hv) * 4), *b = malloc((size_t)(T * Hv) * 4), *A = malloc((size_t)Hv * 4);
    const int64_t grp = 2 * dk + 2 * rep * dv;
    for (int64_t t = 0; t < T; t++)
        for (int32_t kh = 0; kh < Hk; kh++) {
            const float *src = qkvz + t * P + kh * grp;
            memcpy(mixed + t * C + kh * dk, src, (size_t)dk * 4);
            memcpy(mixed + t * C + kd + kh * dk, src + dk, (size_t)dk * 4);
            memcpy(mixed + t * C + 2 * kd + (int64_t)kh * rep * dv, src + 2 * dk, (size_t)(rep * dv) * 4);
            memcpy(z + t * vd + (int64_t)kh * rep * dv, src + 2 * dk + rep * dv, (size_t)(rep * dv) * 4);
            for (int32_t i = 0; i < rep; i++) {
                b[t * Hv + kh * rep + i] = ba[t * 2 * Hv + kh * 2 * rep + i];
                a[t * Hv + kh * rep + i] = ba[t * 2 * Hv + kh * 2 * rep + rep + i];
            }
        }
    for (int32_t i = 0; i < Hv; i++) A[i] = -expf(Alog[i]);

    lc_deltanet_state *state = NULL;
    lc_error err;
    CHECK_OK(lc_deltanet_state_create(&s, K, &state, &err), &err);
    if (!state) return;
    float *conv = malloc((size_t)(T * C) * 4), *g = malloc((size_t)(T * Hv) * 4), *beta = malloc((size_t)(T * Hv) * 4);
    float *o = malloc((size_t)(T * vd) * 4), *y = malloc((size_t)(T * D) * 4);
    lc_deltanet_params p;
    lc_deltanet_params_init(&p);
    p.n_threads = 2;
    for (int mode = 0; mode < 2; mode++) {
        lc_deltanet_state_reset(state);
        /* mode 0: one chunked pass; mode 1: chunked prefill of 45 tokens, then
         * decode one token at a time, the state saved and restored between */
        const int64_t pre = mode == 0 ? T : 45;
        for (int64_t t0 = 0; t0 < T;) {
            const int64_t n = t0 == 0 ? pre : 1;
            CHECK_OK(lc_deltanet_conv1d(n, (int32_t)C, K, mixed + t0 * C, C, convw, lc_deltanet_state_conv(state),
                                        conv + t0 * C, &err),
                     &err);
            lc_deltanet_gates(n, Hv, a + t0 * Hv, b + t0 * Hv, 0, A, dt, g + t0 * Hv, beta + t0 * Hv);
            lc_deltanet_io io = {conv + t0 * C,         conv + t0 * C + kd, conv + t0 * C + 2 * kd,
                                 g + t0 * Hv,           beta + t0 * Hv,     o + t0 * vd,
                                 lc_deltanet_state_ssm(state), C,       C,                  C};
            if (t0 == 0)
                run_chunked(&s, &p, n, &io);
            else
                CHECK_OK(lc_deltanet_recurrent(&s, &p, n, &io, &err), &err);
            if (mode == 1) { /* round trip through the saved form */
                const size_t nb = lc_deltanet_state_bytes(state);
                char *buf = malloc(nb);
                CHECK_OK(lc_deltanet_state_save(state, buf, nb, &err), &err);
                lc_deltanet_state_reset(state);
                CHECK_OK(lc_deltanet_state_load(state, buf, nb, &err), &err);
                free(buf);
            }
            t0 += n;
        }
        lc_deltanet_gated_norm(T * Hv, dv, o, z, normw, eps, o);
        matmul(Wout, D, vd, o, T, y);
        const double e = lc_test_rel_err(y, yref, (size_t)(T * D), 1e-3);
        CHECK(e < 2e-5, "Qwen3Next GatedDeltaNet layer (%s) vs transformers: %.3g",
              mode == 0 ? "chunked" : "chunked prefill + recurrent decode", e);
    }
    /* the same through lc_deltanet_layer_forward: one call; a 45-token
     * prefill then one call per token; and 70 calls of one token */
    lc_deltanet_layer L = {s, K, convw, A, dt, normw, eps};
    const int64_t pres[3] = {T, 45, 1};
    for (int mode = 0; mode < 3; mode++) {
        lc_deltanet_state_reset(state);
        size_t bytes = 0;
        CHECK_OK(lc_deltanet_layer_workspace(&L, &p, pres[mode], &bytes, &err), &err);
        void *ws = lc_malloc_aligned(bytes);
        for (int64_t t0 = 0; t0 < T;) {
            const int64_t n = t0 == 0 ? pres[mode] : 1;
            CHECK_OK(lc_deltanet_layer_forward(&L, &p, state, n, mixed + t0 * C, 0, z + t0 * vd, b + t0 * Hv,
                                               a + t0 * Hv, o + t0 * vd, ws, bytes, &err),
                     &err);
            t0 += n;
        }
        lc_free_aligned(ws);
        matmul(Wout, D, vd, o, T, y);
        const double e = lc_test_rel_err(y, yref, (size_t)(T * D), 1e-3);
        CHECK(e < 2e-5, "lc_deltanet_layer_forward (first call %lld tokens) vs transformers: %.3g",
              (long long)pres[mode], e);
    }
    /* refusals: a state of another kernel; a NaN gate input leaves the state as it was */
    lc_deltanet_state *other = NULL;
    CHECK_OK(lc_deltanet_state_create(&s, K + 1, &other, &err), &err);
    size_t bytes = 0;
    CHECK_OK(lc_deltanet_layer_workspace(&L, &p, 4, &bytes, &err), &err);
    void *ws = lc_malloc_aligned(bytes);
    CHECK(lc_deltanet_layer_forward(&L, &p, other, 4, mixed, 0, z, b, a, o, ws, bytes, &err) == LC_ERR_INVALID_ARG,
          "a state of another kernel accepted");
    const size_t nb = lc_deltanet_state_bytes(state);
    char *before = malloc(nb), *after = malloc(nb);
    CHECK_OK(lc_deltanet_state_save(state, before, nb, &err), &err);
    a[2 * Hv + 1] = NAN;
    CHECK(lc_deltanet_layer_forward(&L, &p, state, 4, mixed, 0, z, b, a, o, ws, bytes, &err) == LC_ERR_INVALID_ARG,
          "a NaN gate input accepted");
    CHECK_OK(lc_deltanet_state_save(state, after, nb, &err), &err);
    CHECK(memcmp(before, after, nb) == 0, "a refused call changed the state");
    free(before), free(after);
    lc_free_aligned(ws);
    lc_deltanet_state_free(other);
    lc_deltanet_state_free(state);
    free(x), free(Wqkvz), free(Wba), free(convw), free(dt), free(Alog), free(normw), free(Wout), free(yref);
    free(qkvz), free(ba), free(mixed), free(z), free(a), free(b), free(A), free(conv), free(g), free(beta), free(o);
    free(y), free(r.buf);
}

int main(void) {
    check_core();
    check_layer();
    return lc_test_finish("test_deltanet_hf");
}
