/*
 * The integer kernels of the quantised weight types (src/quant/qk_*.c):
 *
 * 1. activation quantisers: the reference is checked against its definition
 *    (|x - d q| <= d/2 + the f16 rounding of d; Q8_1's s and Q8_K's block
 *    sums), and the AVX2 quantisers must give the same bytes, on random rows,
 *    rows with ties at .5, zero rows and rows with outliers;
 * 2. reference dots against ggml: for every type, rows quantised by ggml
 *    (../shared/fixtures/quants/dequant_oracle/<T>.gguf) dotted with a
 *    quantised activation row must equal, to f32 rounding, the double sum
 *    of ggml's own dequantisation of the row (<T>.dequant.f32.gguf) times
 *    the dequantised activations: this pins every block layout;
 * 3. AVX2 and AVX-512 VNNI dots and tiles (11 rows x 9 tokens and 11 x 1)
 *    against the references on random blocks (random bytes, random scales),
 *    blocks of awkward bytes (0x00, 0xFF, 0x80, ...) and extreme activations
 *    (all +-127), n = 1 block and many (32-element types: every remainder of
 *    the AVX-512 groups of 4 blocks);
 *    MXFP4's e8m0 scales at both ends of their range (e = 0, 1 subnormal
 *    halves, e = 255 = 2^127) against ggml's definition and the reference;
 * 4. lc_qmatmul: AVX2 and AVX-512 (1 and 2 threads) against the scalar path on odd row
 *    counts, token counts on both sides of the tile and token block, k not a
 *    multiple of 256 for the 32-element types; 1 and 2 threads bit for bit
 *    equal; and against the f32 product of ggml's dequantised weights with
 *    the f32 activations, within the bound the activation rounding allows:
 *    |y - y_f32| <= sum_i |w_i| e_i, e_i = 0.57 amax/127 per Q8_0/Q8_1 block
 *    (d/2 plus the f16 rounding of d times |q| <= 127), 0.51 amax/127 per
 *    Q8_K block, plus Q8_1's f16 s times |m| 2^-10 and 1e-5 sum |w x|;
 * 5. the public lc_matmul on every new dtype (1 and 2 threads, the best
 *    tier, isa lowered to AVX2, and force_scalar): the same bytes as lc_qmatmul, and within the bound of 4.
 *    of the f32 product of the weights dequantised by the type's to_f32.
 *
 * Float accumulation order differs between the scalar and AVX2 paths (the
 * integer block sums are exact in both, partial sums may cancel), so they
 * are compared within 1e-5 of an upper bound of sum_i |w_i a_i| (from each
 * block's scales and its largest level).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/kernels.h"
#include "longctx/model.h"
#include "quant/qk_kernels.h"
#include "test_util.h"

static bool have_avx2(void) { return lc_isa_best() >= LC_ISA_AVX2 && lc_qk_tile(LC_QK_Q4_0, LC_ISA_AVX2); }
/* The AVX-512 VNNI tier: CPU, LONGCTX_ISA and this build all allow it. */
static bool have_avx512(void) {
    return lc_isa_best() >= LC_ISA_AVX512 && lc_qk_tier(LC_QK_Q4_K, LC_ISA_AVX512) == LC_ISA_AVX512;
}

/* The fast tiers this run compares with the references: AVX2, and
 * LC_ISA_AVX512 where available (its types; the others are the AVX2
 * kernels). */
static int fast_tiers(lc_isa out[2]) {
    int n = 0;
    if (have_avx2()) out[n++] = LC_ISA_AVX2;
    if (have_avx512()) out[n++] = LC_ISA_AVX512;
    return n;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ggml type ids of the oracle files. */
static const struct {
    lc_qk_type t;
    const char *file;
    uint32_t ggml;
} g_types[] = {
    {LC_QK_Q4_0, "Q4_0", 2},    {LC_QK_Q4_1, "Q4_1", 3},     {LC_QK_Q5_0, "Q5_0", 6},    {LC_QK_Q5_1, "Q5_1", 7},
    {LC_QK_Q8_0, "Q8_0", 8},    {LC_QK_Q2_K, "Q2_K", 10},    {LC_QK_Q3_K, "Q3_K", 11},   {LC_QK_Q4_K, "Q4_K", 12},
    {LC_QK_Q5_K, "Q5_K", 13},   {LC_QK_Q6_K, "Q6_K", 14},    {LC_QK_IQ4_NL, "IQ4_NL", 20},
    {LC_QK_IQ4_XS, "IQ4_XS", 23}, {LC_QK_MXFP4, "MXFP4", 39},
};
#define N_TYPES ((int)LC_ARRAY_LEN(g_types))

/* ---- Dequantised activations -------------------------------------------- */

/* The values an activation row stands for, d * q (Q8_1's s aside). */
static void act_values(lc_act_kind k, const void *a, int64_t n, double *out) {
    for (int64_t i = 0; i < n; i++) {
        if (k == LC_ACT_Q8_0) {
            const lc_block_q8_0 *b = (const lc_block_q8_0 *)a + i / 32;
            out[i] = (double)lc_f16_to_f32(b->d) * b->qs[i % 32];
        } else if (k == LC_ACT_Q8_1) {
            const lc_blk_q8_1 *b = (const lc_blk_q8_1 *)a + i / 32;
            out[i] = (double)lc_f16_to_f32(b->d) * b->qs[i % 32];
        } else {
            const lc_blk_q8_K *b = (const lc_blk_q8_K *)a + i / 256;
            out[i] = (double)b->d * b->qs[i % 256];
        }
    }
}

/* ---- 1. Activation quantisers ------------------------------------------ */

static void fill_row(float *x, int64_t n, int kind, lc_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = lc_rng_normal(rng); break;
        case 1: x[i] = 0.0f; break;
        case 2: /* ties: amax 127 makes the scale 1, values k + 0.5 */
            x[i] = (i % 32 == 0) ? 127.0f : (float)((int64_t)(lc_rng_below(rng, 200)) - 100) + 0.5f;
            if (i % 256 == 0) x[i] = -127.0f;
            break;
        case 3: x[i] = lc_rng_normal(rng) * (i % 97 == 0 ? 1000.0f : 0.01f); break;
        case 5: /* too small for the reciprocal 127 / amax (found by fuzz_quant): subnormals too */
            x[i] = (float)((int)(i % 3) - 1) * (i % 7 == 0 ? 1e-40f : 1e-38f * (float)(1 + i % 5));
            break;
        default: x[i] = (i % 7 == 0) ? -3.0f : 3.0f; break; /* equal magnitudes, both signs */
        }
    }
}

static void test_quantisers(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 11);
    const int64_t n = 1024;
    float *x = xmalloc(n * sizeof(float));
    double *v = xmalloc(n * sizeof(double));
    for (int k = 0; k < 3; k++) {
        lc_act_kind ak = (lc_act_kind)k;
        const size_t bytes = (size_t)(n / lc_act_block(ak)) * lc_act_block_bytes(ak);
        char *r = xmalloc(bytes), *f = xmalloc(bytes);
        for (int kind = 0; kind < 6; kind++) {
            fill_row(x, n, kind, &rng);
            memset(r, 0x5A, bytes);
            lc_quantize_act_ref(ak, x, r, n);
            act_values(ak, r, n, v);
            if (kind == 5) {
                /* such blocks quantise to zeros (their f16 / f32 scale is 0 anyway), not to +-127 / -128 */
                int nz = 0;
                for (int64_t i = 0; i < n; i++) nz += v[i] != 0.0;
                const int8_t *q0 = ak == LC_ACT_Q8_K ? ((const lc_blk_q8_K *)r)->qs
                                   : ak == LC_ACT_Q8_1 ? ((const lc_blk_q8_1 *)r)->qs
                                                       : ((const lc_block_q8_0 *)r)->qs;
                for (int i = 0; i < 32; i++) nz += q0[i] != 0;
                CHECK(nz == 0, "act kind %d: %d nonzero values from a block of magnitude 1e-38", k, nz);
            }
            /* the definition: every value within half a step (+ the f16 rounding of d) */
            int bad = 0;
            for (int64_t b = 0; b < n / lc_act_block(ak); b++) {
                const int bl = lc_act_block(ak);
                float amax = 0;
                for (int i = 0; i < bl; i++) amax = fmaxf(amax, fabsf(x[b * bl + i]));
                double tol = (ak == LC_ACT_Q8_K ? 0.501 : 0.57) * amax / 127.0 + 1e-30;
                for (int i = 0; i < bl; i++)
                    if (fabs(v[b * bl + i] - x[b * bl + i]) > tol) bad++;
                if (ak == LC_ACT_Q8_1) {
                    const lc_blk_q8_1 *q = (const lc_blk_q8_1 *)r + b;
                    int s = 0;
                    for (int i = 0; i < 32; i++) s += q->qs[i];
                    float want = lc_f16_to_f32(lc_f32_to_f16(amax / 127.0f * (float)s));
                    if (lc_f16_to_f32(q->s) != want) bad++;
                }
                if (ak == LC_ACT_Q8_K) {
                    const lc_blk_q8_K *q = (const lc_blk_q8_K *)r + b;
                    for (int j = 0; j < 16; j++) {
                        int s = 0;
                        for (int i = 0; i < 16; i++) s += q->qs[16 * j + i];
                        if (s != q->bsums[j]) bad++;
                    }
                }
            }
            CHECK(bad == 0, "act kind %d row kind %d: %d values off their definition", k, kind, bad);
            if (kind == 2 && ak != LC_ACT_Q8_K) {
                /* ties round half to even: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 */
                int ties = 0;
                for (int64_t i = 0; i < n; i++) {
                    double want = nearbyint((double)x[i]);
                    if (v[i] != want) ties++;
                }
                CHECK(ties == 0, "act kind %d: %d ties not rounded half to even", k, ties);
            }
            if (have_avx2()) {
                memset(f, 0xA5, bytes);
                lc_qk_quantize_act(ak, x, f, n, LC_ISA_AVX2);
                CHECK(memcmp(r, f, bytes) == 0, "act kind %d row kind %d: AVX2 bytes differ from the reference", k,
                      kind);
            }
        }
        free(r);
        free(f);
    }
    free(x);
    free(v);
}

/* ---- Reading the oracle -------------------------------------------------- */

typedef struct {
    char *file;        /* whole file */
    const char *data;  /* the tensor's bytes */
    int64_t rows, cols;
} raw_tensor;

static bool read_tensor(const char *path, uint32_t want_type, size_t row_bytes, raw_tensor *out) {
    memset(out, 0, sizeof *out);
    lc_error err;
    lc_gguf *g = NULL;
    if (lc_gguf_open(path, &g, &err) != LC_OK) {
        CHECK(false, "%s: %s", path, err.msg);
        return false;
    }
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "x");
    bool ok = t && t->n_dims == 2 && t->ggml_type == want_type;
    CHECK(ok, "%s: tensor x of ggml type %u expected", path, want_type);
    size_t off = 0, size = lc_gguf_file_size(g);
    if (ok) {
        out->cols = t->ne[0];
        out->rows = t->ne[1];
        off = lc_gguf_data_offset(g) + (size_t)t->offset;
        ok = off + row_bytes * (size_t)out->rows <= size;
        CHECK(ok, "%s: tensor beyond the file", path);
    }
    lc_gguf_close(g);
    if (!ok) return false;
    FILE *f = fopen(path, "rb");
    out->file = xmalloc(size);
    ok = f && fread(out->file, 1, size, f) == size;
    if (f) fclose(f);
    CHECK(ok, "%s: read failed", path);
    out->data = out->file + off;
    return ok;
}

/* ---- 2. Reference dots against ggml's dequantisation ------------------- */

typedef struct {
    raw_tensor q, f; /* quantised weights, ggml's f32 dequantisation */
    size_t rb;
} oracle;

static bool oracle_load(int ti, oracle *o) {
    char rel[256], path[512];
    const lc_qk_info *in = lc_qk_info_get(g_types[ti].t);
    snprintf(rel, sizeof rel, "fixtures/quants/dequant_oracle/%s.gguf", g_types[ti].file);
    lc_test_shared(rel, path, sizeof path);
    o->rb = 512 / (size_t)in->block * in->block_bytes;
    if (!read_tensor(path, g_types[ti].ggml, o->rb, &o->q)) return false;
    snprintf(rel, sizeof rel, "fixtures/quants/dequant_oracle/%s.dequant.f32.gguf", g_types[ti].file);
    lc_test_shared(rel, path, sizeof path);
    if (!read_tensor(path, 0, 512 * sizeof(float), &o->f)) return false;
    bool ok = o->q.cols == 512 && o->f.cols == 512 && o->q.rows == o->f.rows && o->q.rows >= 64;
    CHECK(ok, "%s: unexpected oracle shape", g_types[ti].file);
    return ok;
}

static void oracle_free(oracle *o) {
    free(o->q.file);
    free(o->f.file);
}

static const float *oracle_row(const oracle *o, int64_t r) { return (const float *)o->f.data + r * 512; }

/* The min of a Q4_1 / Q5_1 block (f16 after d). */
static bool type_has_m(lc_qk_type t) { return t == LC_QK_Q4_1 || t == LC_QK_Q5_1; }

static void test_ref_vs_ggml(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 12);
    float x[512];
    double av[512];
    _Alignas(64) char act[512 / 32 * sizeof(lc_blk_q8_1) + 2 * sizeof(lc_blk_q8_K)];
    for (int ti = 0; ti < N_TYPES; ti++) {
        oracle o;
        if (!oracle_load(ti, &o)) {
            oracle_free(&o);
            continue;
        }
        const lc_qk_type t = g_types[ti].t;
        const lc_qk_info *in = lc_qk_info_get(t);
        double worst = 0;
        for (int64_t r = 0; r < o.q.rows; r += 5) {
            fill_row(x, 512, (r % 3 == 0) ? 3 : 0, &rng);
            lc_quantize_act_ref(in->act, x, act, 512);
            act_values(in->act, act, 512, av);
            const float *wf = oracle_row(&o, r);
            double exact = 0, mag = 0;
            for (int i = 0; i < 512; i++) {
                exact += (double)wf[i] * av[i];
                mag += fabs((double)wf[i] * av[i]);
            }
            if (type_has_m(t)) {
                /* the kernel takes m * s with Q8_1's f16 s for m * sum(d q) */
                for (int b = 0; b < 16; b++) {
                    const char *blk = o.q.data + (size_t)r * o.rb + (size_t)b * in->block_bytes;
                    uint16_t mh;
                    memcpy(&mh, blk + 2, 2);
                    const lc_blk_q8_1 *ab = (const lc_blk_q8_1 *)act + b;
                    double sum_dq = 0;
                    for (int i = 0; i < 32; i++) sum_dq += av[32 * b + i];
                    exact += (double)lc_f16_to_f32(mh) * ((double)lc_f16_to_f32(ab->s) - sum_dq);
                }
            }
            float got = in->dot_ref(o.q.data + (size_t)r * o.rb, act, 512);
            double e = fabs((double)got - exact) / (mag + 1e-30);
            if (!(e <= worst)) worst = e;
            lc_isa tiers[2];
            for (int k = 0; k < fast_tiers(tiers); k++) {
                float fast = lc_qk_dot(t, tiers[k])(o.q.data + (size_t)r * o.rb, act, 512);
                e = fabs((double)fast - exact) / (mag + 1e-30);
                if (!(e <= worst)) worst = e;
            }
        }
        CHECK(worst < 2e-5, "%s: dot vs ggml's dequantisation: relative error %.3g", in->name, worst);
        oracle_free(&o);
    }
}

/* ---- 3. AVX2 dots on random and awkward blocks --------------------------- */

/* Put sane scales into random block bytes (f16 scale fields of magnitude
 * 2^-7 .. 2^-5, random sign; MXFP4 exponents 120 .. 135). */
static void fix_scales(lc_qk_type t, char *blk, lc_rng *rng) {
    uint16_t h[2];
    for (int i = 0; i < 2; i++) {
        float v = ldexpf(1.0f + lc_rng_uniform(rng), -7 - (int)lc_rng_below(rng, 3));
        if (lc_rng_below(rng, 2)) v = -v;
        h[i] = lc_f32_to_f16(v);
    }
    size_t off = 0;
    int n = 1;
    switch (t) {
    case LC_QK_Q4_1:
    case LC_QK_Q5_1:
    case LC_QK_Q4_K:
    case LC_QK_Q5_K: n = 2; break;
    case LC_QK_Q2_K: off = offsetof(lc_blk_q2_K, d), n = 2; break;
    case LC_QK_Q3_K: off = offsetof(lc_blk_q3_K, d); break;
    case LC_QK_Q6_K: off = offsetof(lc_blk_q6_K, d); break;
    case LC_QK_MXFP4: blk[0] = (char)(120 + lc_rng_below(rng, 16)); return;
    default: break;
    }
    memcpy(blk + off, h, 2 * (size_t)n);
}

/* An upper bound of sum_i |w_i a_i| over a row: the scale the float
 * rounding of a dot (whose terms may cancel in any partial sum) is measured
 * against. */
static double dot_bound(const lc_qk_info *in, lc_qk_type t, const char *w, const char *a, int64_t n) {
    double *av = xmalloc((size_t)n * sizeof(double));
    act_values(in->act, a, n, av);
    double s = 0;
    for (int64_t b = 0; b < n / in->block; b++) {
        double sa = 0;
        for (int i = 0; i < in->block; i++) sa += fabs(av[b * in->block + i]);
        s += lc_qk_block_bound(t, w + (size_t)b * in->block_bytes) * sa;
    }
    free(av);
    return s;
}

static void make_act(lc_act_kind k, int mode, float *x, int64_t n, char *act, lc_rng *rng) {
    if (mode < 5) {
        fill_row(x, n, mode, rng);
        lc_quantize_act_ref(k, x, act, n);
        return;
    }
    /* extreme values written directly: all +127 (mode 5), all -127 (6), alternating (7) */
    for (int64_t i = 0; i < n; i++) x[i] = mode == 5 ? 127.0f : mode == 6 ? -127.0f : (i & 1 ? 127.0f : -127.0f);
    lc_quantize_act_ref(k, x, act, n);
}

/* Rows x tokens of the tiles below: more than one whole tile of either tier
 * (AVX2 3 x 4, AVX-512 3 x 8 inside a product, 8 x 1 for one token) plus
 * edges of both. */
#define NR 11
#define NT 9

static void test_fast_dots(lc_isa tier) {
    lc_rng rng;
    lc_rng_seed(&rng, 13 + (uint64_t)tier);
    int n_tested = 0;
    static const uint8_t patterns[] = {0x00, 0xFF, 0x80, 0x7F, 0x55, 0xAA, 0x0F, 0xF0, 0x01, 0xFE};
    const int64_t nmax = 2048;
    float *x = xmalloc(nmax * sizeof(float));
    for (int ti = 0; ti < N_TYPES; ti++) {
        const lc_qk_type t = g_types[ti].t;
        const lc_qk_info *in = lc_qk_info_get(t);
        if (lc_qk_tier(t, tier) != tier) continue; /* no kernel of this tier: the lower one's, tested there */
        n_tested++;
        const lc_qdot_fn fast = lc_qk_dot(t, tier);
        const lc_qtile_fn tile = lc_qk_tile(t, tier);
        const size_t wmax = (size_t)(nmax / in->block) * in->block_bytes * NR;
        const size_t amax = (size_t)(nmax / lc_act_block(in->act)) * lc_act_block_bytes(in->act) * NT;
        char *w = xmalloc(wmax), *a = xmalloc(amax);
        double worst = 0;
        int fails = 0;
        for (int trial = 0; trial < 60; trial++) {
            const int64_t nb = trial < 10 ? 1 : 1 + (int64_t)lc_rng_below(&rng, (uint64_t)(nmax / in->block));
            const int64_t n = nb * in->block;
            const size_t rb = (size_t)nb * in->block_bytes;
            const size_t arb = (size_t)(n / lc_act_block(in->act)) * lc_act_block_bytes(in->act);
            /* NR weight rows: random bytes, or an awkward byte everywhere */
            for (size_t i = 0; i < rb * NR; i++) w[i] = (char)lc_rng_below(&rng, 256);
            if (trial % 2 == 1) memset(w, patterns[(trial / 2) % LC_ARRAY_LEN(patterns)], rb * NR);
            for (int64_t b = 0; b < nb * NR; b++) fix_scales(t, w + (size_t)b * in->block_bytes, &rng);
            for (int j = 0; j < NT; j++) make_act(in->act, (trial + j) % 8, x, n, a + (size_t)j * arb, &rng);
            /* an NR x NT tile (full tiles and both edges) and an NR x 1 one (decode) */
            float out[NT * NR], out1[NR];
            tile(w, rb, NR, a, arb, NT, n, out, NR);
            tile(w, rb, NR, a, arb, 1, n, out1, NR);
            for (int r = 0; r < NR; r++)
                for (int j = 0; j < NT; j++) {
                    const char *wr = w + (size_t)r * rb, *aj = a + (size_t)j * arb;
                    float ref = in->dot_ref(wr, aj, n);
                    double mag = dot_bound(in, t, wr, aj, n) + 1e-30;
                    float f1 = fast(wr, aj, n);
                    double e = fmax(fabs((double)f1 - ref), fabs((double)out[j * NR + r] - ref)) / mag;
                    if (j == 0) e = fmax(e, fabs((double)out1[r] - ref) / mag);
                    if (!(e <= worst)) worst = e;
                    if (!(e <= 1e-5)) fails++;
                }
        }
        CHECK(fails == 0, "%s: %d %s dots off the reference (worst relative %.3g)", in->name, fails,
              lc_isa_name(tier), worst);
        free(w);
        free(a);
    }
    free(x);
    CHECK(n_tested > 0, "no type has %s kernels", lc_isa_name(tier));
    fprintf(stderr, "%s dots and tiles: %d types against the references\n", lc_isa_name(tier), n_tested);
}

/* ---- 3b. MXFP4's e8m0 scales at the ends of their range ------------------- */

/* MXFP4 scales a block by 2^(e - 127) and its E2M1 table is stored doubled,
 * so every kernel takes half the scale, 2^(e - 128), as ggml's
 * ggml_e8m0_to_fp32_half: for every e (0 .. 255) a power of two, the two
 * smallest (e = 0, 1) f32 subnormals (bits 0x00200000, 0x00400000), e = 255
 * 2^127 (finite: the half of e8m0's NaN code is not special-cased there).
 * The helper is checked against that definition for all 256 codes, and the
 * fast dots and tiles of every tier against the scalar reference on blocks
 * whose exponents sit at both ends (0, 1, 2, 3 and 252 .. 255) and in the
 * middle, mixed within a row, n = 1 .. 13 blocks (every remainder of the
 * AVX-512 groups of 4 and the AVX2 groups of 8). Rows with exponents >= 252
 * take activations of magnitude <= 1e-4 so that every product stays finite
 * (|q| 12 x 127 x 32 x 2^127 x da < FLT_MAX). */
static void test_mxfp4_e8m0(void) {
    int bad = 0;
    for (int e = 0; e < 256; e++)
        if (lc_qk_e8m0_half((uint8_t)e) != ldexpf(1.0f, e - 128)) bad++;
    CHECK(bad == 0, "e8m0: %d of 256 codes are not 2^(e - 128)", bad);
    static const struct {
        uint8_t e;
        uint32_t bits;
    } ends[] = {{0, 0x00200000u}, {1, 0x00400000u}, {2, 0x00800000u}, {128, 0x3f800000u}, {254, 0x7e800000u},
                {255, 0x7f000000u}};
    for (size_t i = 0; i < LC_ARRAY_LEN(ends); i++) {
        const float f = lc_qk_e8m0_half(ends[i].e);
        uint32_t b;
        memcpy(&b, &f, 4);
        CHECK(b == ends[i].bits, "e8m0 %u: bits 0x%08x, want 0x%08x", (unsigned)ends[i].e, (unsigned)b,
              (unsigned)ends[i].bits);
    }

    static const uint8_t ex[] = {0, 1, 2, 3, 126, 127, 128, 129, 252, 253, 254, 255};
    const lc_qk_info *in = lc_qk_info_get(LC_QK_MXFP4);
    lc_isa tiers[2];
    const int n_tiers = fast_tiers(tiers);
    lc_rng rng;
    lc_rng_seed(&rng, 1234);
    enum { NBMAX = 13 };
    char w[NR * NBMAX * sizeof(lc_blk_mxfp4)];
    char a[NT * NBMAX * sizeof(lc_block_q8_0)];
    float x[NBMAX * 32];
    int fails = 0, checked = 0;
    double worst = 0;
    for (int trial = 0; trial < 96; trial++) {
        const int64_t nb = 1 + (int64_t)lc_rng_below(&rng, NBMAX), n = nb * 32;
        const size_t rb = (size_t)nb * sizeof(lc_blk_mxfp4), arb = (size_t)nb * sizeof(lc_block_q8_0);
        bool big = false;
        for (size_t i = 0; i < rb * NR; i++) w[i] = (char)lc_rng_below(&rng, 256);
        for (int64_t b = 0; b < nb * NR; b++) {
            /* one exponent for the whole tile (each in turn), or mixed */
            const uint8_t e = trial < 24 ? ex[trial % LC_ARRAY_LEN(ex)] : ex[lc_rng_below(&rng, LC_ARRAY_LEN(ex))];
            w[(size_t)b * sizeof(lc_blk_mxfp4)] = (char)e;
            big = big || e >= 250;
        }
        for (int j = 0; j < NT; j++) {
            for (int64_t i = 0; i < n; i++) x[i] = (2.0f * lc_rng_uniform(&rng) - 1.0f) * (big ? 1e-4f : 1.0f);
            lc_quantize_act_ref(in->act, x, a + (size_t)j * arb, n);
        }
        for (int k = 0; k < n_tiers; k++) {
            const lc_qdot_fn fast = lc_qk_dot(LC_QK_MXFP4, tiers[k]);
            const lc_qtile_fn tile = lc_qk_tile(LC_QK_MXFP4, tiers[k]);
            float out[NT * NR], out1[NR];
            tile(w, rb, NR, a, arb, NT, n, out, NR);
            tile(w, rb, NR, a, arb, 1, n, out1, NR);
            for (int r = 0; r < NR; r++)
                for (int j = 0; j < NT; j++) {
                    const char *wr = w + (size_t)r * rb, *aj = a + (size_t)j * arb;
                    const float ref = in->dot_ref(wr, aj, n);
                    /* the bound, plus the spacing of f32 subnormals per block */
                    const double tol = 1e-5 * dot_bound(in, LC_QK_MXFP4, wr, aj, n) + (double)nb * 8 * 0x1p-149;
                    double e = fmax(fabs((double)fast(wr, aj, n) - ref), fabs((double)out[j * NR + r] - ref));
                    if (j == 0) e = fmax(e, fabs((double)out1[r] - ref));
                    if (!isfinite(ref) || !(e <= tol)) fails++;
                    if (tol > 0 && e / tol > worst) worst = e / tol;
                    checked++;
                }
        }
    }
    CHECK(fails == 0, "MXFP4 e8m0 ends: %d of %d fast dots off the reference (worst %.3g of the tolerance)", fails,
          checked, worst);
    fprintf(stderr, "MXFP4 e8m0 ends: %d fast dots against the reference, worst %.3g of the tolerance\n", checked,
            worst);
}

/* ---- 4. Products --------------------------------------------------------- */

static void run_qmm(lc_qk_type t, const char *w, size_t rb, int64_t rows, int64_t cols, const float *x,
                    int64_t n_tok, float *y, int threads, lc_isa isa) {
    size_t wsb = lc_qmatmul_workspace(t, cols, n_tok);
    void *ws = xmalloc(wsb);
    lc_qmatmul(t, w, rb, rows, cols, x, n_tok, y, ws, threads, isa);
    free(ws);
}

static void test_products_oracle(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 14);
    static const int64_t row_counts[] = {1, 3, 17, 64};
    static const int64_t tok_counts[] = {1, 2, 5, 37};
    for (int ti = 0; ti < N_TYPES; ti++) {
        oracle o;
        if (!oracle_load(ti, &o)) {
            oracle_free(&o);
            continue;
        }
        const lc_qk_type t = g_types[ti].t;
        const lc_qk_info *in = lc_qk_info_get(t);
        const int ab = lc_act_block(in->act);
        int bad_f32 = 0, bad_ref = 0, bad_thr = 0;
        double worst_f32 = 0;
        lc_isa tiers[2];
        const int n_tiers = fast_tiers(tiers);
        for (size_t ri = 0; ri < LC_ARRAY_LEN(row_counts); ri++)
            for (size_t ki = 0; ki < LC_ARRAY_LEN(tok_counts); ki++) {
                const int64_t rows = row_counts[ri], nt = tok_counts[ki];
                /* start at an odd row so the tiles see unaligned row sets */
                const int64_t r0 = o.q.rows - rows - 1 > 0 ? 1 : 0;
                const char *w = o.q.data + (size_t)r0 * o.rb;
                float *x = xmalloc((size_t)nt * 512 * sizeof(float));
                for (int64_t j = 0; j < nt; j++) fill_row(x + j * 512, 512, j % 5 == 4 ? 3 : 0, &rng);
                float *ys = xmalloc((size_t)(nt * rows) * sizeof(float));
                float *y1 = xmalloc((size_t)(nt * rows) * sizeof(float));
                float *y2 = xmalloc((size_t)(nt * rows) * sizeof(float));
                run_qmm(t, w, o.rb, rows, 512, x, nt, ys, 2, LC_ISA_SCALAR);
                if (n_tiers == 0) memcpy(y1, ys, (size_t)(nt * rows) * sizeof(float));
                for (int k = 0; k < n_tiers; k++) {
                    run_qmm(t, w, o.rb, rows, 512, x, nt, y1, 1, tiers[k]);
                    run_qmm(t, w, o.rb, rows, 512, x, nt, y2, 2, tiers[k]);
                    if (memcmp(y1, y2, (size_t)(nt * rows) * sizeof(float)) != 0) bad_thr++;
                    for (int64_t j = 0; j < nt; j++)
                        for (int64_t r = 0; r < rows; r++) {
                            char *aq = xmalloc(lc_qmatmul_act_row_bytes(t, 512));
                            lc_quantize_act_ref(in->act, x + j * 512, aq, 512);
                            double bnd = 1e-5 * dot_bound(in, t, w + (size_t)r * o.rb, aq, 512) + 1e-30;
                            if (!(fabs((double)y1[j * rows + r] - ys[j * rows + r]) <= bnd)) bad_ref++;
                            free(aq);
                        }
                } /* y1: the last (best) tier's products, checked against the f32 bound below */
                for (int64_t j = 0; j < nt; j++)
                    for (int64_t r = 0; r < rows; r++) {
                        const float *wf = oracle_row(&o, r0 + r), *xj = x + j * 512;
                        double exact = 0, bound = 0, mag = 0;
                        for (int b = 0; b < 512 / ab; b++) {
                            float am = 0;
                            double sw = 0;
                            for (int i = 0; i < ab; i++) {
                                am = fmaxf(am, fabsf(xj[b * ab + i]));
                                sw += fabs((double)wf[b * ab + i]);
                            }
                            bound += sw * (in->act == LC_ACT_Q8_K ? 0.51 : 0.57) * am / 127.0;
                        }
                        for (int i = 0; i < 512; i++) {
                            exact += (double)wf[i] * xj[i];
                            mag += fabs((double)wf[i] * xj[i]);
                        }
                        if (type_has_m(t))
                            for (int b = 0; b < 16; b++) {
                                uint16_t mh;
                                memcpy(&mh, o.q.data + (size_t)(r0 + r) * o.rb + (size_t)b * in->block_bytes + 2, 2);
                                float am = 0;
                                for (int i = 0; i < 32; i++) am = fmaxf(am, fabsf(xj[b * 32 + i]));
                                bound += fabs((double)lc_f16_to_f32(mh)) * am * 32.0 * 0x1p-10;
                            }
                        bound += 1e-5 * mag + 1e-30;
                        double e = fabs((double)y1[j * rows + r] - exact);
                        if (!(e <= bound)) bad_f32++;
                        if (!(e / bound <= worst_f32)) worst_f32 = e / bound;
                        e = fabs((double)ys[j * rows + r] - exact);
                        if (!(e <= bound)) bad_f32++;
                    }
                free(x);
                free(ys);
                free(y1);
                free(y2);
            }
        CHECK(bad_f32 == 0, "%s: %d products outside the activation-rounding bound of the f32 product (worst %.2f of it)",
              in->name, bad_f32, worst_f32);
        CHECK(bad_ref == 0, "%s: %d AVX2 / AVX-512 products differ from the scalar path", in->name, bad_ref);
        CHECK(bad_thr == 0, "%s: %d products differ between 1 and 2 threads", in->name, bad_thr);
        oracle_free(&o);
    }
}

/* Random weights, k not a multiple of 256 (32-element types) and longer
 * rows (K types), odd row counts: AVX2 vs scalar paths. */
static void test_products_random(lc_isa tier) {
    lc_rng rng;
    lc_rng_seed(&rng, 15 + (uint64_t)tier);
    for (int ti = 0; ti < N_TYPES; ti++) {
        const lc_qk_type t = g_types[ti].t;
        const lc_qk_info *in = lc_qk_info_get(t);
        if (lc_qk_tier(t, tier) != tier) continue;
        const int64_t colss[] = {in->block, in->block == 32 ? 96 : 768, in->block == 32 ? 224 : 1280};
        int bad = 0, bad_thr = 0;
        for (int ci = 0; ci < 3; ci++) {
            const int64_t cols = colss[ci], rows = 2 * ci + 7, nt = 3 + 11 * ci;
            const size_t rb = (size_t)(cols / in->block) * in->block_bytes;
            char *w = xmalloc(rb * (size_t)rows);
            for (size_t i = 0; i < rb * (size_t)rows; i++) w[i] = (char)lc_rng_below(&rng, 256);
            for (int64_t b = 0; b < (int64_t)(rb * (size_t)rows / in->block_bytes); b++)
                fix_scales(t, w + (size_t)b * in->block_bytes, &rng);
            float *x = xmalloc((size_t)(nt * cols) * sizeof(float));
            for (int64_t j = 0; j < nt; j++) fill_row(x + j * cols, cols, (int)(j % 5), &rng);
            float *ys = xmalloc((size_t)(nt * rows) * sizeof(float)), *y1 = xmalloc((size_t)(nt * rows) * sizeof(float)),
                  *y2 = xmalloc((size_t)(nt * rows) * sizeof(float));
            for (int64_t ntk = 1; ntk <= nt; ntk += nt - 1) {
                run_qmm(t, w, rb, rows, cols, x, ntk, ys, 1, LC_ISA_SCALAR);
                run_qmm(t, w, rb, rows, cols, x, ntk, y1, 1, tier);
                run_qmm(t, w, rb, rows, cols, x, ntk, y2, 2, tier);
                for (int64_t j = 0; j < ntk; j++)
                    for (int64_t r = 0; r < rows; r++) {
                        char *aq = xmalloc(lc_qmatmul_act_row_bytes(t, cols));
                        lc_quantize_act_ref(in->act, x + j * cols, aq, cols);
                        double bnd = 1e-5 * dot_bound(in, t, w + (size_t)r * rb, aq, cols) + 1e-30;
                        if (!(fabs((double)y1[j * rows + r] - ys[j * rows + r]) <= bnd)) bad++;
                        free(aq);
                    }
                if (memcmp(y1, y2, (size_t)(ntk * rows) * sizeof(float)) != 0) bad_thr++;
                if (nt == 1) break;
            }
            free(w);
            free(x);
            free(ys);
            free(y1);
            free(y2);
        }
        CHECK(bad == 0, "%s: %d random products: %s differs from scalar", in->name, bad, lc_isa_name(tier));
        CHECK(bad_thr == 0, "%s: %d random products differ between 1 and 2 threads", in->name, bad_thr);
    }
}

/* Decode (one token) products large enough to run on two threads (rows x
 * cols above qk_matmul.c's one-thread limit of 2^18): the threads split the
 * activation row's blocks unevenly (an odd block count) and hand out
 * 24-row items to the 8-row decode tiles with an odd remainder; the bytes
 * must equal one thread's, each output within the scalar path's bound. */
/* run_qmm with a workspace full of 0x55 bytes (stale blocks from an earlier
 * product would hide a block no thread quantised) */
static void run_qmm_poisoned(lc_qk_type t, const char *w, size_t rb, int64_t rows, int64_t cols, const float *x,
                             float *y, int threads, lc_isa isa) {
    size_t wsb = lc_qmatmul_workspace(t, cols, 1);
    void *ws = xmalloc(wsb);
    memset(ws, 0x55, wsb);
    lc_qmatmul(t, w, rb, rows, cols, x, 1, y, ws, threads, isa);
    free(ws);
}

static void test_products_decode_threads(lc_isa tier) {
    lc_rng rng;
    lc_rng_seed(&rng, 17 + (uint64_t)tier);
    int n_tested = 0;
    for (int ti = 0; ti < N_TYPES; ti++) {
        const lc_qk_type t = g_types[ti].t;
        const lc_qk_info *in = lc_qk_info_get(t);
        if (lc_qk_tier(t, tier) != tier) continue;
        const int64_t cols = in->block == 32 ? 32 * 57 : 256 * 7, rows = 8 * 24 + 13;
        const size_t rb = (size_t)(cols / in->block) * in->block_bytes;
        char *w = xmalloc(rb * (size_t)rows);
        for (size_t i = 0; i < rb * (size_t)rows; i++) w[i] = (char)lc_rng_below(&rng, 256);
        for (int64_t b = 0; b < (int64_t)(rb * (size_t)rows / in->block_bytes); b++)
            fix_scales(t, w + (size_t)b * in->block_bytes, &rng);
        float *x = xmalloc((size_t)cols * sizeof(float));
        float *ys = xmalloc((size_t)rows * sizeof(float)), *y1 = xmalloc((size_t)rows * sizeof(float)),
              *y2 = xmalloc((size_t)rows * sizeof(float));
        char *aq = xmalloc(lc_qmatmul_act_row_bytes(t, cols));
        /* batched decode: 2-4 tokens at once (two threads) give each token
         * the bytes of its own one-token product */
        float *xs = xmalloc((size_t)(4 * cols) * sizeof(float)), *yb = xmalloc((size_t)(4 * rows) * sizeof(float));
        int bad_small = 0;
        for (int64_t nt = 2; nt <= 4; nt++) {
            for (int64_t j = 0; j < nt; j++) fill_row(xs + j * cols, cols, (int)((j + nt) % 5), &rng);
            run_qmm(t, w, rb, rows, cols, xs, nt, yb, 2, tier);
            for (int64_t j = 0; j < nt; j++) {
                run_qmm_poisoned(t, w, rb, rows, cols, xs + j * cols, y1, 2, tier);
                if (memcmp(y1, yb + j * rows, (size_t)rows * sizeof(float)) != 0) bad_small++;
            }
        }
        CHECK(bad_small == 0, "%s: %d tokens of 2-4-token products differ from their one-token product (%s)", in->name,
              bad_small, lc_isa_name(tier));
        free(xs);
        free(yb);
        int bad = 0, bad_thr = 0;
        for (int kind = 0; kind < 5; kind++) {
            fill_row(x, cols, kind, &rng);
            run_qmm_poisoned(t, w, rb, rows, cols, x, ys, 1, LC_ISA_SCALAR);
            run_qmm_poisoned(t, w, rb, rows, cols, x, y1, 1, tier);
            run_qmm_poisoned(t, w, rb, rows, cols, x, y2, 2, tier);
            lc_quantize_act_ref(in->act, x, aq, cols);
            for (int64_t r = 0; r < rows; r++) {
                double bnd = 1e-5 * dot_bound(in, t, w + (size_t)r * rb, aq, cols) + 1e-30;
                if (!(fabs((double)y2[r] - ys[r]) <= bnd)) bad++;
            }
            if (memcmp(y1, y2, (size_t)rows * sizeof(float)) != 0) bad_thr++;
        }
        CHECK(bad == 0, "%s: %d two-thread decode outputs off the scalar path (%s)", in->name, bad, lc_isa_name(tier));
        CHECK(bad_thr == 0, "%s: %d decode products differ between 1 and 2 threads (%s)", in->name, bad_thr,
              lc_isa_name(tier));
        n_tested++;
        free(w);
        free(x);
        free(ys);
        free(y1);
        free(y2);
        free(aq);
    }
    CHECK(n_tested > 0, "no type has %s kernels", lc_isa_name(tier));
}

/* The public lc_matmul on every block type: the same bytes as lc_qmatmul,
 * and within the activation-rounding bound of the f32 product of the
 * weights dequantised by the type's to_f32 (the quant traits). */
static void test_lc_matmul_dispatch(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 16);
    static const lc_dtype dts[] = {LC_DTYPE_Q4_0, LC_DTYPE_Q4_1, LC_DTYPE_Q5_0, LC_DTYPE_Q5_1, LC_DTYPE_Q8_0, LC_DTYPE_Q2_K,
                                   LC_DTYPE_Q3_K, LC_DTYPE_Q4_K, LC_DTYPE_Q5_K, LC_DTYPE_Q6_K, LC_DTYPE_IQ4_NL,
                                   LC_DTYPE_IQ4_XS, LC_DTYPE_MXFP4};
    for (size_t di = 0; di < LC_ARRAY_LEN(dts); di++) {
        const lc_quant_traits *tr = lc_quant_traits_of(dts[di]);
        lc_qk_type qt;
        CHECK(tr && tr->vec_dot && lc_qk_from_dtype(dts[di], &qt), "%s: no integer kernel wired",
              lc_dtype_name(dts[di]));
        if (!tr || !lc_qk_from_dtype(dts[di], &qt)) continue;
        const lc_qk_info *in = lc_qk_info_get(qt);
        const int64_t rows = 13, cols = tr->block == 32 ? 160 : 512;
        const size_t rb = (size_t)(cols / tr->block) * (size_t)tr->block_bytes;
        char *w = xmalloc(rb * rows);
        lc_qk_random_blocks(qt, w, rows * (cols / tr->block), 1000 + di);
        float *wf = xmalloc((size_t)(rows * cols) * sizeof(float));
        for (int64_t r = 0; r < rows; r++) tr->to_f32(w + (size_t)r * rb, wf + r * cols, cols);
        for (int64_t nt = 1; nt <= 9; nt += 8) {
            float *x = xmalloc((size_t)(nt * cols) * sizeof(float));
            for (int64_t i = 0; i < nt * cols; i++) x[i] = lc_rng_normal(&rng);
            float *y = xmalloc((size_t)(nt * rows) * sizeof(float)), *yq = xmalloc((size_t)(nt * rows) * sizeof(float));
            lc_tensor tw = {dts[di], rows, cols, w};
            lc_kernel_opts ko;
            lc_kernel_opts_init(&ko);
            const lc_isa best = ko.isa;
            for (int th = 1; th <= 2; th++)
                for (int sc = 0; sc < 3; sc++) {
                    /* the best tier, AVX2 (lowered isa), scalar (forced) */
                    ko.n_threads = th;
                    ko.isa = sc == 1 && best > LC_ISA_AVX2 ? LC_ISA_AVX2 : best;
                    ko.force_scalar = sc == 2;
                    size_t wsb = 0;
                    lc_error err;
                    CHECK_OK(lc_matmul_workspace(&tw, nt, th, &wsb, &err), &err);
                    void *ws = xmalloc(wsb);
                    CHECK_OK(lc_matmul(&tw, x, nt, y, ws, wsb, &ko, &err), &err);
                    run_qmm(qt, w, rb, rows, cols, x, nt, yq, th, ko.force_scalar ? LC_ISA_SCALAR : ko.isa);
                    CHECK(memcmp(y, yq, (size_t)(nt * rows) * sizeof(float)) == 0,
                          "%s n=%lld t=%d scalar=%d: lc_matmul differs from lc_qmatmul", in->name, (long long)nt, th, sc);
                    int bad = 0;
                    for (int64_t j = 0; j < nt; j++)
                        for (int64_t r = 0; r < rows; r++) {
                            double exact = 0, bound = 0, mag = 0;
                            const int ab = lc_act_block(in->act);
                            for (int64_t b = 0; b < cols / ab; b++) {
                                float am = 0;
                                double sw = 0;
                                for (int i = 0; i < ab; i++) {
                                    am = fmaxf(am, fabsf(x[j * cols + b * ab + i]));
                                    sw += fabs((double)wf[r * cols + b * ab + i]);
                                }
                                bound += sw * (in->act == LC_ACT_Q8_K ? 0.51 : 0.57) * am / 127.0;
                                if (type_has_m(qt)) {
                                    uint16_t mh;
                                    memcpy(&mh, w + (size_t)r * rb + (size_t)b * in->block_bytes + 2, 2);
                                    bound += fabs((double)lc_f16_to_f32(mh)) * am * 32.0 * 0x1p-10;
                                }
                            }
                            for (int64_t i = 0; i < cols; i++) {
                                exact += (double)wf[r * cols + i] * x[j * cols + i];
                                mag += fabs((double)wf[r * cols + i] * x[j * cols + i]);
                            }
                            if (!(fabs((double)y[j * rows + r] - exact) <= bound + 1e-5 * mag)) bad++;
                        }
                    CHECK(bad == 0, "%s n=%lld t=%d scalar=%d: %d outputs outside the bound of the dequantised f32 product",
                          in->name, (long long)nt, th, sc, bad);
                    free(ws);
                }
            free(x);
            free(y);
            free(yq);
        }
        free(w);
        free(wf);
    }
}

int main(void) {
    test_quantisers();
    if (have_avx2()) {
        test_fast_dots(LC_ISA_AVX2);
        test_products_random(LC_ISA_AVX2);
        test_products_decode_threads(LC_ISA_AVX2);
    } else {
        fprintf(stderr, "no AVX2 (CPU, build or LONGCTX_ISA): the AVX2 kernel checks are skipped\n");
    }
    if (have_avx512()) {
        test_fast_dots(LC_ISA_AVX512);
        test_products_random(LC_ISA_AVX512);
        test_products_decode_threads(LC_ISA_AVX512);
    } else {
        fprintf(stderr, "no AVX-512 VNNI (CPU, build or LONGCTX_ISA): the AVX-512 kernel checks are skipped\n");
    }
    test_mxfp4_e8m0();
    test_lc_matmul_dispatch();
    /* the parts below need ../shared's oracle: skipped, saying so, without it */
    struct stat sb;
    if (stat(LC_SHARED_DIR "/fixtures/quants/dequant_oracle", &sb) != 0) {
        fprintf(stderr, "SKIP: %s/fixtures/quants/dequant_oracle is absent: the checks against ggml are skipped\n",
                LC_SHARED_DIR);
        if (lc_test_failures == 0) return 77;
        return lc_test_finish("test_quant_kernels");
    }
    test_ref_vs_ggml();
    test_products_oracle();
    return lc_test_finish("test_quant_kernels");
}
