/*
 * Grouped (GQA) decode in the FLASH engine: blocks of 1..8 query rows (one
 * position times the G query heads of a KV head, or a few positions of a
 * smaller group) that read each K and V element of a tile once for all rows.
 *
 *  1. The dec_* tile kernels, AVX2 (and AVX-512 where present) against the scalar reference
 *     (lc_flash_kernels_for(LC_ISA_SCALAR)), on random tiles: rows 1..8,
 *     head dims 40 (converted f32 tiles, padded V) 32 48 64 80 96 128 256,
 *     1..32 keys (the AVX-512 scores take 16 keys per vector: full, partial
 *     and two vectors), f32 and f16 K/V read in place at a cache-like row
 *     stride, rows that have seen nothing, masked (-inf) scores and whole
 *     masked rows.
 *  2. Whole calls of FLASH and WINDOW (window + sinks) in decode shapes,
 *     scalar and the best tier (AVX2 or AVX-512), against NAIVE (double accumulation, explicit
 *     mask): G = 1 2 3 4 7 8, d = 64 80 96 128 256, depths 1, 17 and past
 *     1000 (split-KV), 1..3 new tokens, f16 / f32 / q8_0 K/V, soft-capping
 *     (Gemma-2), learned sink logits, 1 and 2 threads (bitwise equal).
 *
 * LONGCTX_TEST_QUICK=1 runs fewer, smaller cases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/attn_internal.h"
#include "attn/flash_engine.h"
#include "common/util.h"
#include "test_util.h"

static bool have_avx2(void) { return lc_isa_best() >= LC_ISA_AVX2; }

/* Largest |a - b| / max(floor, |b|) over n values; infinite when one is
 * -inf and the other not, or on NaN. */
static double rel_err_inf(const float *a, const float *b, size_t n, double floor_) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(a[i]) || isinf(b[i])) {
            if (!(a[i] == b[i])) return INFINITY;
            continue;
        }
        const double e = fabs((double)a[i] - b[i]) / fmax(floor_, fabs((double)b[i]));
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

/* ---- 1. tile kernels ----------------------------------------------------------- */

enum { SS = 32, MAXR = 8 };

typedef struct {
    float s[MAXR * SS], m[MAXR], l[MAXR], alpha[MAXR], *o;
} tile_state;

/* One tile through dec_scores, an optional mask, dec_softmax and dec_pv. */
static void run_tile(const lc_flash_kernels *kn, const float *q, int rows, int d, int dp, lc_dtype kt, const void *k,
                     size_t ks, lc_dtype vt, const void *v, size_t vs, int nk, const uint8_t *masked, tile_state *t) {
    kn->dec_scores(q, rows, d, kt, k, ks, nk, t->s, SS);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < nk; j++)
            if (masked[r * SS + j]) t->s[r * SS + j] = -INFINITY;
    kn->dec_softmax(t->s, SS, rows, nk, t->m, t->l, t->alpha);
    kn->dec_pv(t->s, SS, rows, nk, vt, v, vs, dp, t->alpha, t->o);
}

static void test_tile_kernels_isa(lc_isa isa) {
    const lc_flash_kernels *ref = lc_flash_kernels_for(LC_ISA_SCALAR), *fast = lc_flash_kernels_for(isa);
    CHECK(ref != fast, "distinct scalar and %s kernel tables", lc_isa_name(isa));
    /* 32 and 48: the AVX-512 P V's tails of 32 and 48 output dims; 40: not a
     * multiple of 16 (the AVX2 kernels behind the AVX-512 table) */
    const int dims[] = {40, 64, 80, 96, 128, 256, 32, 48};
    const int nks[] = {1, 3, 7, 8, 9, 17, 31, 32}; /* both sides of the 16-key AVX-512 score vectors */
    lc_rng rng;
    lc_rng_seed(&rng, 1234);
    int cases = 0;
    for (int rows = 1; rows <= MAXR; rows++)
        for (int di = 0; di < 8; di++)
            for (int ni = 0; ni < 8; ni++)
                for (int ty = 0; ty < 2; ty++) {
                    const int d = dims[di], nk = nks[ni];
                    /* d = 40: K and V as converted f32 tiles (V padded to 48 with zeros) */
                    const lc_dtype kt = d % 16 == 0 && ty ? LC_DTYPE_F16 : LC_DTYPE_F32;
                    const lc_dtype vt = kt;
                    const int dp = (d + 15) / 16 * 16;
                    const size_t ks = (size_t)d * 3 + (d % 16 ? 0 : 8), vs = (size_t)dp * 2 + 16; /* cache-like strides */
                    const size_t ke = kt == LC_DTYPE_F16 ? 2 : 4;
                    char *k = calloc((size_t)nk * ks, ke), *v = calloc((size_t)nk * vs, ke);
                    for (int j = 0; j < nk; j++)
                        for (int i = 0; i < dp; i++) {
                            const float x = i < d ? lc_rng_normal(&rng) : 0.0f;
                            const float y = i < d ? lc_rng_normal(&rng) : 0.0f;
                            if (i < d) {
                                if (ke == 2) ((uint16_t *)k)[(size_t)j * ks + i] = lc_f32_to_f16(x);
                                else ((float *)k)[(size_t)j * ks + i] = x;
                            }
                            if (ke == 2) ((uint16_t *)v)[(size_t)j * vs + i] = lc_f32_to_f16(y);
                            else ((float *)v)[(size_t)j * vs + i] = y;
                        }
                    float *q = malloc((size_t)rows * d * sizeof(float));
                    for (int i = 0; i < rows * d; i++) q[i] = 0.3f * lc_rng_normal(&rng);
                    uint8_t masked[MAXR * SS] = {0};
                    const int mode = cases % 4; /* 0 none, 1 some -inf, 2 a whole row masked, 3 as 1 */
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < nk; j++)
                            masked[r * SS + j] = (mode % 2 == 1 && lc_rng_below(&rng, 3) == 0) ||
                                                 (mode == 2 && r == rows - 1);
                    tile_state a, b;
                    a.o = malloc((size_t)rows * dp * sizeof(float));
                    b.o = malloc((size_t)rows * dp * sizeof(float));
                    for (int r = 0; r < rows; r++) {
                        /* a running state: some rows have seen nothing (m = -inf, l = 0, o = 0) */
                        const bool fresh = (r + cases) % 3 == 0;
                        a.m[r] = fresh ? -INFINITY : 2.0f * lc_rng_normal(&rng);
                        a.l[r] = fresh ? 0.0f : 1.0f + lc_rng_uniform(&rng);
                        for (int i = 0; i < dp; i++)
                            a.o[(size_t)r * dp + i] = fresh || i >= d ? 0.0f : lc_rng_normal(&rng);
                    }
                    memcpy(b.m, a.m, sizeof a.m), memcpy(b.l, a.l, sizeof a.l);
                    memcpy(b.o, a.o, (size_t)rows * dp * sizeof(float));
                    run_tile(ref, q, rows, d, dp, kt, k, ks, vt, v, vs, nk, masked, &a);
                    run_tile(fast, q, rows, d, dp, kt, k, ks, vt, v, vs, nk, masked, &b);
                    float ps_a[MAXR * SS], ps_b[MAXR * SS];
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < nk; j++) ps_a[r * nk + j] = a.s[r * SS + j], ps_b[r * nk + j] = b.s[r * SS + j];
                    const double ep = rel_err_inf(ps_b, ps_a, (size_t)rows * nk, 1e-3);
                    const double em = rel_err_inf(b.m, a.m, (size_t)rows, 1.0);
                    const double el = rel_err_inf(b.l, a.l, (size_t)rows, 1.0);
                    const double ea = rel_err_inf(b.alpha, a.alpha, (size_t)rows, 1e-3);
                    const double eo = rel_err_inf(b.o, a.o, (size_t)rows * dp, 1.0);
                    CHECK(ep < 2e-5 && em < 1e-5 && el < 2e-5 && ea < 2e-5 && eo < 2e-5,
                          "%s dec tile rows=%d d=%d nk=%d %s mode %d: P %.3g m %.3g l %.3g alpha %.3g o %.3g",
                          lc_isa_name(isa), rows, d, nk, lc_dtype_name(kt), mode, ep, em, el, ea, eo);
                    /* a row masked in this tile that had seen nothing keeps l = 0 and o = 0 */
                    if (mode == 2 && !isfinite(a.m[rows - 1])) {
                        CHECK(b.l[rows - 1] == 0.0f && b.alpha[rows - 1] == 0.0f, "fully masked fresh row: l %g alpha %g",
                              b.l[rows - 1], b.alpha[rows - 1]);
                        for (int i = 0; i < dp; i++) CHECK(b.o[(size_t)(rows - 1) * dp + i] == 0.0f, "masked row o = 0");
                    }
                    free(a.o), free(b.o), free(q), free(k), free(v);
                    cases++;
                }
    CHECK(cases == 8 * 8 * 8 * 2, "ran %d tile cases", cases);
}

/* The AVX2 tier, and the AVX-512 one (grouped P V) where the CPU has it. */
static void test_tile_kernels(void) {
    if (!have_avx2()) {
        fprintf(stderr, "note: no AVX2 on this CPU; tile-kernel comparison skipped (engine tests run scalar)\n");
        return;
    }
    test_tile_kernels_isa(LC_ISA_AVX2);
    if (lc_isa_best() >= LC_ISA_AVX512) test_tile_kernels_isa(LC_ISA_AVX512);
}

/* ---- 2. whole decode calls against NAIVE --------------------------------------- */

static void *make_kv(lc_rng *rng, lc_dtype t, int64_t n, int hkv, int d) {
    const size_t count = (size_t)n * (size_t)hkv * (size_t)d;
    float *f = malloc((count ? count : 1) * sizeof(float));
    for (size_t i = 0; i < count; i++) f[i] = lc_rng_normal(rng);
    if (t == LC_DTYPE_F32) return f;
    size_t row = 0;
    lc_dtype_row_bytes(t, (int64_t)hkv * d, &row, NULL);
    char *out = malloc(row * (size_t)(n ? n : 1));
    for (int64_t j = 0; j < n; j++) {
        const float *src = f + (size_t)j * (size_t)hkv * (size_t)d;
        if (t == LC_DTYPE_F16) lc_f32_to_f16_row(src, (uint16_t *)(out + (size_t)j * row), (int64_t)hkv * d);
        else lc_quantize_row_q8_0(src, (lc_block_q8_0 *)(out + (size_t)j * row), (int64_t)hkv * d);
    }
    free(f);
    return out;
}

static lc_status run(const lc_attn_shape *s, const lc_attn_params *p, const float *q, const void *k, const void *v,
                     float *out, float *lse, lc_error *err) {
    size_t need = 0;
    lc_status st = lc_attn_workspace(s, p, &need, err);
    if (st != LC_OK) return st;
    void *ws = need ? malloc(need) : NULL; /* exactly the reported size: ASan sees any overrun */
    lc_attn_io io = {q, k, v, out, lse};
    st = lc_attn_forward(s, p, &io, ws, need, err);
    free(ws);
    return st;
}

static bool visible(int64_t qp, int64_t kp, int64_t W, int64_t S) { return kp <= qp && (qp - kp < W || kp < S); }

static void test_decode_calls(void) {
    const bool quick = lc_test_quick();
    const int groups[] = {1, 2, 3, 4, 7, 8};
    const int dims[] = {64, 80, 96, 128, 256};
    const int64_t depths[] = {1, 17, 1000, 1100};
    const lc_dtype types[] = {LC_DTYPE_F16, LC_DTYPE_F32, LC_DTYPE_Q8_0};
    lc_rng rng;
    lc_rng_seed(&rng, 77);
    int n_cases = 0;
    for (int gi = 0; gi < 6; gi++)
        for (int di = 0; di < 5; di++)
            for (int ni = 0; ni < 4; ni++) {
                const int ci = (gi * 5 + di) * 4 + ni;
                if (quick && ci % 3) continue;
                lc_attn_shape s;
                memset(&s, 0, sizeof s);
                s.head_dim = dims[di];
                s.n_head_kv = 1 + ci % 3;
                s.n_head = s.n_head_kv * groups[gi];
                s.n_kv = depths[ni] + (ni >= 2 ? ci % 7 : 0) + (quick && ni == 3 ? 0 : ni == 3 ? 1400 : 0);
                s.n_q = 1 + (groups[gi] <= 2 ? ci % 3 : groups[gi] == 4 ? ci % 2 : 0); /* rows <= 8 */
                if (s.n_q > s.n_kv) s.n_q = s.n_kv;
                s.q_pos0 = s.n_kv - s.n_q;
                s.causal = true;
                s.k_type = types[ci % 3];
                s.v_type = types[(ci / 3) % 3];
                if (s.head_dim % 32 && s.k_type == LC_DTYPE_Q8_0) s.k_type = LC_DTYPE_F16;
                if (s.head_dim % 32 && s.v_type == LC_DTYPE_Q8_0) s.v_type = LC_DTYPE_F32;
                s.softcap = ci % 4 == 1 ? 5.0f : 0.0f;
                const bool window = ci % 5 == 2 && s.n_kv > 40, sinks_logits = ci % 6 == 4;
                const int64_t W = window ? 1 + s.n_kv / 3 : 0, S = window ? 4 : 0;

                float *q = malloc((size_t)s.n_q * s.n_head * s.head_dim * sizeof(float));
                for (int64_t i = 0; i < s.n_q * s.n_head * s.head_dim; i++) q[i] = 1.5f * lc_rng_normal(&rng);
                void *k = make_kv(&rng, s.k_type, s.n_kv, s.n_head_kv, s.head_dim);
                void *v = make_kv(&rng, s.v_type, s.n_kv, s.n_head_kv, s.head_dim);
                float *sl = malloc((size_t)s.n_head * sizeof(float));
                for (int h = 0; h < s.n_head; h++) sl[h] = lc_rng_normal(&rng);
                uint8_t *mask = NULL;
                if (window) {
                    mask = malloc((size_t)(s.n_q * s.n_kv));
                    for (int64_t i = 0; i < s.n_q; i++)
                        for (int64_t j = 0; j < s.n_kv; j++) mask[i * s.n_kv + j] = visible(s.q_pos0 + i, j, W, S);
                }
                const size_t no = (size_t)s.n_q * s.n_head * s.head_dim, nl = (size_t)s.n_q * s.n_head;
                float *ref = malloc(no * 4), *out = malloc(no * 4), *out1 = malloc(no * 4);
                float *rl = malloc(nl * 4), *lse = malloc(nl * 4), *lse1 = malloc(nl * 4);
                lc_attn_params p;
                lc_error err;
                lc_attn_params_init(&p, LC_ATTN_NAIVE);
                p.mask = mask;
                p.sink_logits = sinks_logits ? sl : NULL;
                CHECK_OK(run(&s, &p, q, k, v, ref, rl, &err), &err);
                for (int tier = 0; tier < 2; tier++) {
                    if (tier == 1 && !have_avx2()) continue;
                    lc_attn_params_init(&p, window ? LC_ATTN_WINDOW : LC_ATTN_FLASH);
                    p.window = W, p.n_sinks = S;
                    p.sink_logits = sinks_logits ? sl : NULL;
                    p.force_scalar = tier == 0;
                    p.n_threads = 1;
                    CHECK_OK(run(&s, &p, q, k, v, out1, lse1, &err), &err);
                    p.n_threads = 2;
                    CHECK_OK(run(&s, &p, q, k, v, out, lse, &err), &err);
                    const double eo = lc_test_rel_err(out, ref, no, 1e-3), el = rel_err_inf(lse, rl, nl, 1.0);
                    CHECK(eo <= 1e-5 && el <= 1e-5,
                          "decode %s G=%d H=%d/%d d=%d n_kv=%lld n_q=%lld K=%s V=%s softcap=%g W=%lld sinks=%d: "
                          "out err %.3g lse err %.3g",
                          tier ? lc_isa_name(lc_isa_best()) : "scalar", groups[gi], s.n_head, s.n_head_kv, s.head_dim, (long long)s.n_kv,
                          (long long)s.n_q, lc_dtype_name(s.k_type), lc_dtype_name(s.v_type), (double)s.softcap,
                          (long long)W, sinks_logits, eo, el);
                    CHECK(memcmp(out, out1, no * 4) == 0 && memcmp(lse, lse1, nl * 4) == 0,
                          "decode %s G=%d d=%d n_kv=%lld: 1 and 2 threads differ", tier ? lc_isa_name(lc_isa_best()) : "scalar", groups[gi],
                          s.head_dim, (long long)s.n_kv);
                }
                free(q), free(k), free(v), free(sl), free(mask);
                free(ref), free(out), free(out1), free(rl), free(lse), free(lse1);
                n_cases++;
            }
    CHECK(n_cases >= (quick ? 40 : 120), "ran %d decode cases", n_cases);
}

int main(void) {
    test_tile_kernels();
    test_decode_calls();
    return lc_test_finish("test_flash_decode");
}
