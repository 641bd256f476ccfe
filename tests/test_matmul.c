/*
 * The runtime's dense kernels against double-precision references:
 * lc_matmul for every weight type (f32, f16, bf16, q8_0) on awkward shapes
 * (1 row, odd sizes, sizes that are not multiples of 8/16/32 where the type
 * allows, row counts on both sides of the 16/32-row panels, columns on both
 * sides of the K blocks (384 AVX2, 256 AVX-512) and of 8/16, token counts on
 * both sides of the 6- and 12-token micro-tiles and of the 516-token block),
 * every ISA tier this CPU has (scalar, AVX2, AVX-512), 1 and 2 threads; then
 * RMSNorm, SwiGLU, add, softmax and argmax.
 *
 * The error bound of an f32 dot product of K terms, summed in any order, is
 * |err| <= K u sum|w_i x_i| (u = 2^-24, to first order); every kernel must stay
 * inside it against the reference on the same (dequantised) weights. An
 * indexing or packing bug gives errors of the order of the terms themselves,
 * far outside it. Q8_0 weights take the integer kernels (src/quant), which
 * round the activations to 8-bit blocks first: their bound adds that
 * rounding's, sum |w_i| 0.57 amax_block / 127 (as tests/test_quant_kernels.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/kernels.h"
#include "quant/qk_kernels.h"
#include "test_util.h"


/* A random weight matrix of a type, its exact f32 values (dequantised
 * independently of the library's row converters) and its storage. */
typedef struct {
    lc_tensor t;
    void *data;
    float *deq; /* [rows, cols] */
} test_weight;

static float f16_round(float x) { return lc_f16_to_f32(lc_f32_to_f16(x)); }

static void weight_make(test_weight *w, lc_dtype type, int64_t rows, int64_t cols, lc_rng *rng) {
    memset(w, 0, sizeof *w);
    size_t n = (size_t)rows * (size_t)cols;
    w->deq = malloc(n * sizeof(float) + 1);
    size_t rb = 0;
    lc_dtype_row_bytes(type, cols, &rb, NULL);
    w->data = malloc(rb * (size_t)rows + 1);
    for (int64_t r = 0; r < rows; r++) {
        char *row = (char *)w->data + (size_t)r * rb;
        float *dq = w->deq + (size_t)r * (size_t)cols;
        if (type == LC_DTYPE_Q8_0) {
            lc_block_q8_0 *b = (lc_block_q8_0 *)row;
            for (int64_t k = 0; k < cols / LC_Q8_0_BLOCK; k++) {
                float d = f16_round(0.001f + 0.05f * lc_rng_uniform(rng));
                b[k].d = lc_f32_to_f16(d);
                for (int i = 0; i < LC_Q8_0_BLOCK; i++) {
                    int q = (int)lc_rng_below(rng, 255) - 127;
                    b[k].qs[i] = (int8_t)q;
                    dq[k * LC_Q8_0_BLOCK + i] = lc_f16_to_f32(b[k].d) * (float)q;
                }
            }
            continue;
        }
        for (int64_t c = 0; c < cols; c++) {
            float v = lc_rng_normal(rng);
            if (type == LC_DTYPE_F32) {
                ((float *)row)[c] = v;
                dq[c] = v;
            } else if (type == LC_DTYPE_F16) {
                uint16_t h = lc_f32_to_f16(v);
                ((uint16_t *)row)[c] = h;
                dq[c] = lc_f16_to_f32(h);
            } else {
                uint16_t h = lc_f32_to_bf16(v);
                ((uint16_t *)row)[c] = h;
                uint32_t bits = (uint32_t)h << 16;
                memcpy(&dq[c], &bits, 4);
            }
        }
    }
    w->t.type = type;
    w->t.rows = rows;
    w->t.cols = cols;
    w->t.data = w->data;
}

static void weight_free(test_weight *w) {
    free(w->data);
    free(w->deq);
}

/* Checks y [n_tok, rows] against the double reference; returns the largest
 * error as a fraction of its bound. */
static double check_against_ref(const test_weight *w, const float *x, int64_t n_tok, const float *y) {
    const int64_t rows = w->t.rows, cols = w->t.cols;
    double worst = 0.0;
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t r = 0; r < rows; r++) {
            double s = 0.0, mag = 0.0;
            for (int64_t c = 0; c < cols; c++) {
                double p = (double)w->deq[(size_t)r * cols + c] * x[(size_t)t * cols + c];
                s += p;
                mag += fabs(p);
            }
            double bound = (double)(cols + 2) * ldexp(1.0, -24) * mag + 1e-30;
            if (w->t.type == LC_DTYPE_Q8_0) {
                /* the integer kernels (src/quant) round the activations to
                 * Q8_0 blocks: |x - d q| <= d/2 plus the f16 rounding of d
                 * times |q| <= 127, i.e. 0.57 amax / 127 per block of 32 */
                for (int64_t b = 0; b < cols / 32; b++) {
                    double sw = 0.0, am = 0.0;
                    for (int64_t c = 32 * b; c < 32 * b + 32; c++) {
                        sw += fabs((double)w->deq[(size_t)r * cols + c]);
                        am = fmax(am, fabs((double)x[(size_t)t * cols + c]));
                    }
                    bound += sw * 0.57 * am / 127.0;
                }
            }
            double e = fabs((double)y[(size_t)t * rows + r] - s) / bound;
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e; /* an unwritten (NaN) output fails for good */
        }
    }
    return worst;
}

/* Runs lc_matmul with the tier isa (at most lc_isa_best()). */
static void run_matmul_isa(const test_weight *w, const float *x, int64_t n_tok, float *y, int threads, lc_isa isa) {
    lc_error err;
    lc_kernel_opts o;
    lc_kernel_opts_init(&o);
    o.n_threads = threads;
    o.isa = isa;
    size_t wsb = 0;
    CHECK_OK(lc_matmul_workspace(&w->t, n_tok, threads, &wsb, &err), &err);
    void *ws = wsb ? lc_malloc_aligned(wsb) : NULL;
    for (size_t i = 0; i < (size_t)n_tok * (size_t)w->t.rows; i++) y[i] = NAN; /* every output must be written */
    CHECK_OK(lc_matmul(&w->t, x, n_tok, y, ws, wsb, &o, &err), &err);
    lc_free_aligned(ws);
}

static void run_matmul(const test_weight *w, const float *x, int64_t n_tok, float *y, int threads, bool scalar) {
    run_matmul_isa(w, x, n_tok, y, threads, scalar ? LC_ISA_SCALAR : lc_isa_best());
}

static void test_matmul_shape(lc_dtype type, int64_t rows, int64_t cols, int64_t n_tok, lc_rng *rng) {
    test_weight w;
    weight_make(&w, type, rows, cols, rng);
    size_t nx = (size_t)n_tok * (size_t)cols, ny = (size_t)n_tok * (size_t)rows;
    float *x = malloc(nx * sizeof(float) + 1);
    for (size_t i = 0; i < nx; i++) x[i] = lc_rng_normal(rng);
    /* every tier up to this CPU's, each on 1 and 2 threads */
    const lc_isa best = lc_isa_best();
    float *y[2];
    for (int i = 0; i < 2; i++) y[i] = malloc(ny * sizeof(float) + 1);
    for (int tier = LC_ISA_SCALAR; tier <= (int)best; tier++) {
        for (int p = 0; p < 2; p++) {
            run_matmul_isa(&w, x, n_tok, y[p], 1 + p, (lc_isa)tier);
            double e = check_against_ref(&w, x, n_tok, y[p]);
            CHECK(e <= 1.0, "%s %lldx%lld, %lld tokens, %s %d threads: error %.3g of the f32 bound",
                  lc_dtype_name(type), (long long)rows, (long long)cols, (long long)n_tok, lc_isa_name((lc_isa)tier),
                  1 + p, e);
        }
        /* Each output is summed by one thread in a fixed order: the thread
         * count must not change a single bit. */
        CHECK(memcmp(y[0], y[1], ny * sizeof(float)) == 0, "%s %lldx%lld, %lld tokens: %s 1 vs 2 threads differ",
              lc_dtype_name(type), (long long)rows, (long long)cols, (long long)n_tok, lc_isa_name((lc_isa)tier));
    }
    for (int i = 0; i < 2; i++) free(y[i]);
    free(x);
    weight_free(&w);
}

static void test_matmul_all(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 1234);
    /* rows, cols, tokens: 1 row; odd sizes; K tails of 1..15; row tails of
     * 1..31; token tails of 1..11; two or more K blocks (cols > 256, > 384);
     * two token blocks (tokens > 516). */
    const int64_t shapes[][3] = {
        {1, 1, 1},    {1, 5, 2},     {3, 7, 1},     {3, 7, 7},    {17, 33, 1},   {17, 33, 6},  {16, 8, 12},
        {31, 100, 5}, {33, 385, 13}, {100, 64, 2},  {5, 800, 19}, {48, 257, 11}, {129, 96, 1}, {40, 24, 530},
        {32, 16, 12}, {47, 31, 23},  {63, 17, 25},  {1, 300, 3},  {95, 255, 24},
        /* decode rows in groups of 4 (AVX2) and 8 (AVX-512): group tails of
         * 1..7, column tails of 1..31 */
        {2, 33, 1},   {6, 47, 1},    {7, 100, 1},   {5, 64, 1},    {9, 31, 1},   {13, 65, 1},  {15, 17, 1},
        /* decode work items of 64 KiB of rows (8 rows at least): several
         * items, item tails, long rows (f32: 36 KB) */
        {21, 9000, 1}, {203, 2100, 1},
        /* large enough to run on 2 threads (matvec >= 32768 weights, GEMM >= 2^18 multiply-adds) */
        {301, 203, 1}, {70, 1000, 1}, {100, 300, 50}, {37, 1000, 9}, {65, 520, 29}, {33, 513, 36}, {20, 700, 40},
        {97, 130, 530},
    };
    const int64_t q8_shapes[][3] = {
        {1, 32, 1}, {3, 32, 7}, {17, 64, 1}, {17, 96, 6}, {31, 416, 13}, {5, 800, 2}, {129, 64, 1}, {40, 32, 530},
        {257, 160, 1}, {70, 320, 20},
    };
    const lc_dtype types[] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_BF16};
    for (size_t t = 0; t < LC_ARRAY_LEN(types); t++)
        for (size_t i = 0; i < LC_ARRAY_LEN(shapes); i++) {
            if (lc_test_quick() && shapes[i][2] > 100) continue;
            test_matmul_shape(types[t], shapes[i][0], shapes[i][1], shapes[i][2], &rng);
        }
    for (size_t i = 0; i < LC_ARRAY_LEN(q8_shapes); i++) {
        if (lc_test_quick() && q8_shapes[i][2] > 100) continue;
        test_matmul_shape(LC_DTYPE_Q8_0, q8_shapes[i][0], q8_shapes[i][1], q8_shapes[i][2], &rng);
    }
    /* Random shapes. */
    int n_random = lc_test_quick() ? 6 : 30;
    for (int i = 0; i < n_random; i++) {
        /* f32, f16, bf16, q8_0 (the other block types: test_quant_matmul) */
        lc_dtype type = (lc_dtype)lc_rng_below(&rng, LC_DTYPE_Q8_0 + 1);
        int64_t rows = 1 + (int64_t)lc_rng_below(&rng, 70);
        int64_t cols = 1 + (int64_t)lc_rng_below(&rng, 600);
        if (type == LC_DTYPE_Q8_0) cols = 32 * (1 + cols / 32);
        int64_t n_tok = 1 + (int64_t)lc_rng_below(&rng, 40);
        test_matmul_shape(type, rows, cols, n_tok, &rng);
    }
}

/* A model-sized product: prefill of 64 tokens through a 288 x 768 f16 matrix
 * (a 15M-class FFN), vs decode of the same tokens one at a time. */
static void test_prefill_matches_decode(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 99);
    test_weight w;
    const int64_t rows = 288, cols = 768, n_tok = lc_test_quick() ? 13 : 64;
    weight_make(&w, LC_DTYPE_F16, rows, cols, &rng);
    float *x = malloc((size_t)(n_tok * cols) * sizeof(float));
    float *yb = malloc((size_t)(n_tok * rows) * sizeof(float)), *y1 = malloc((size_t)rows * sizeof(float));
    for (int64_t i = 0; i < n_tok * cols; i++) x[i] = lc_rng_normal(&rng);
    run_matmul(&w, x, n_tok, yb, 2, false);
    double worst = 0.0;
    for (int64_t t = 0; t < n_tok; t++) {
        run_matmul(&w, x + t * cols, 1, y1, 2, false);
        worst = LC_MAX(worst, lc_test_rel_err(y1, yb + t * rows, (size_t)rows, 1e-3));
    }
    CHECK(worst < 1e-5, "decode vs prefill rows differ by %.3g relative", worst);
    CHECK(check_against_ref(&w, x, n_tok, yb) <= 1.0, "prefill vs reference");
    free(x);
    free(yb);
    free(y1);
    weight_free(&w);
}

/* lc_matmul_multi: several weights over the same activations give each
 * part's lc_matmul bits (every tier, 1..3 threads: the one-pass decode over
 * the rows of all parts, with its stealing split, and the part-by-part
 * fallback for block types, mixed types and several tokens), within the
 * reference's bound. */
static void test_matmul_multi_case(const lc_dtype *types, const int64_t *rows, int n_parts, int64_t cols,
                                   int64_t n_tok, lc_rng *rng) {
    test_weight w[LC_MATMUL_MAX_PARTS];
    float *y[LC_MATMUL_MAX_PARTS], *y1 = NULL;
    lc_matmul_part parts[LC_MATMUL_MAX_PARTS];
    size_t ymax = 1, wsb = 0;
    for (int p = 0; p < n_parts; p++) {
        weight_make(&w[p], types[p], rows[p], cols, rng);
        y[p] = malloc((size_t)(n_tok * rows[p]) * sizeof(float) + 4);
        parts[p] = (lc_matmul_part){&w[p].t, y[p]};
        ymax = LC_MAX(ymax, (size_t)(n_tok * rows[p]));
    }
    y1 = malloc(ymax * sizeof(float));
    float *x = malloc((size_t)(n_tok * cols) * sizeof(float));
    for (int64_t i = 0; i < n_tok * cols; i++) x[i] = lc_rng_normal(rng);
    lc_error err;
    for (int p = 0; p < n_parts; p++) {
        size_t b = 0;
        CHECK_OK(lc_matmul_workspace(&w[p].t, n_tok, 3, &b, &err), &err);
        wsb = LC_MAX(wsb, b);
    }
    void *ws = wsb ? lc_malloc_aligned(wsb) : NULL;
    for (int tier = LC_ISA_SCALAR; tier <= (int)lc_isa_best(); tier++) {
        for (int th = 1; th <= 3; th++) {
            lc_kernel_opts o;
            lc_kernel_opts_init(&o);
            o.n_threads = th;
            o.isa = (lc_isa)tier;
            for (int p = 0; p < n_parts; p++)
                for (int64_t i = 0; i < n_tok * rows[p]; i++) y[p][i] = NAN;
            CHECK_OK(lc_matmul_multi(parts, n_parts, x, n_tok, ws, wsb, &o, &err), &err);
            for (int p = 0; p < n_parts; p++) {
                CHECK(check_against_ref(&w[p], x, n_tok, y[p]) <= 1.0,
                      "multi part %d/%d (%s %lldx%lld, %lld tokens), %s %d threads: outside the bound", p, n_parts,
                      lc_dtype_name(types[p]), (long long)rows[p], (long long)cols, (long long)n_tok,
                      lc_isa_name((lc_isa)tier), th);
                run_matmul_isa(&w[p], x, n_tok, y1, th, (lc_isa)tier);
                CHECK(memcmp(y1, y[p], (size_t)(n_tok * rows[p]) * sizeof(float)) == 0,
                      "multi part %d/%d (%s %lldx%lld, %lld tokens), %s %d threads: not lc_matmul's bits", p,
                      n_parts, lc_dtype_name(types[p]), (long long)rows[p], (long long)cols, (long long)n_tok,
                      lc_isa_name((lc_isa)tier), th);
            }
        }
    }
    lc_free_aligned(ws);
    for (int p = 0; p < n_parts; p++) {
        free(y[p]);
        weight_free(&w[p]);
    }
    free(y1);
    free(x);
}

static void test_matmul_multi(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 4242);
    const lc_dtype f32[3] = {LC_DTYPE_F32, LC_DTYPE_F32, LC_DTYPE_F32};
    const lc_dtype f16[4] = {LC_DTYPE_F16, LC_DTYPE_F16, LC_DTYPE_F16, LC_DTYPE_F16};
    const lc_dtype bf16[3] = {LC_DTYPE_BF16, LC_DTYPE_BF16, LC_DTYPE_BF16};
    const lc_dtype mixed[3] = {LC_DTYPE_F16, LC_DTYPE_Q8_0, LC_DTYPE_BF16};
    /* a Wq / Wk / Wv-like triple; parts of 1, 0 and 7 rows; item tails */
    const int64_t qkv[3] = {67, 17, 17}, odd[4] = {1, 0, 7, 130}, big[2] = {203, 75}, tiny[3] = {3, 1, 2};
    test_matmul_multi_case(f16, qkv, 3, 96, 1, &rng);
    test_matmul_multi_case(f16, odd, 4, 257, 1, &rng);
    test_matmul_multi_case(f16, big, 2, 1040, 1, &rng); /* 64 KiB items: 32 rows each */
    test_matmul_multi_case(f32, qkv, 3, 333, 1, &rng);
    test_matmul_multi_case(bf16, qkv, 3, 129, 1, &rng);
    test_matmul_multi_case(bf16, tiny, 3, 31, 1, &rng); /* one thread: below the threshold */
    test_matmul_multi_case(f32, big, 2, 9000, 1, &rng); /* 8-row items */
    test_matmul_multi_case(mixed, qkv, 3, 96, 1, &rng); /* part by part */
    test_matmul_multi_case(f16, qkv, 3, 96, 5, &rng);   /* GEMMs, part by part */
    lc_error err;
    /* inside another parallel region OpenMP gives the product one thread
     * where it asks for 3: every row must still be computed */
    {
        test_weight w1;
        weight_make(&w1, LC_DTYPE_F16, 300, 200, &rng);
        float x1[200], ya1[300], yb1[300];
        for (int i = 0; i < 200; i++) x1[i] = lc_rng_normal(&rng);
        for (int i = 0; i < 300; i++) ya1[i] = yb1[i] = NAN;
        lc_kernel_opts o;
        lc_kernel_opts_init(&o);
        o.n_threads = 3;
        const lc_matmul_part part = {&w1.t, ya1};
        lc_status st1 = LC_OK, st2 = LC_OK;
#pragma omp parallel num_threads(2)
        {
#pragma omp single
            {
                st1 = lc_matmul_multi(&part, 1, x1, 1, NULL, 0, &o, &err);
                st2 = lc_matmul(&w1.t, x1, 1, yb1, NULL, 0, &o, &err);
            }
        }
        CHECK(st1 == LC_OK && st2 == LC_OK, "nested products failed");
        CHECK(check_against_ref(&w1, x1, 1, ya1) <= 1.0 && check_against_ref(&w1, x1, 1, yb1) <= 1.0,
              "nested products: rows missing or wrong");
        weight_free(&w1);
    }
    /* refusals */
    test_weight a, b;
    weight_make(&a, LC_DTYPE_F16, 4, 16, &rng);
    weight_make(&b, LC_DTYPE_F16, 4, 17, &rng);
    float x[17] = {0}, ya[4], yb[4];
    lc_matmul_part parts[LC_MATMUL_MAX_PARTS + 1];
    for (int i = 0; i <= LC_MATMUL_MAX_PARTS; i++) parts[i] = (lc_matmul_part){&a.t, ya};
    CHECK(lc_matmul_multi(parts, 0, x, 1, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "0 parts accepted");
    CHECK(lc_matmul_multi(parts, LC_MATMUL_MAX_PARTS + 1, x, 1, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG,
          "%d parts accepted", LC_MATMUL_MAX_PARTS + 1);
    parts[1] = (lc_matmul_part){&b.t, yb};
    CHECK(lc_matmul_multi(parts, 2, x, 1, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "columns 16 and 17 accepted");
    CHECK(strstr(err.msg, "columns") != NULL, "message: %s", err.msg);
    parts[1] = (lc_matmul_part){&a.t, NULL};
    CHECK(lc_matmul_multi(parts, 2, x, 1, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "NULL output accepted");
    CHECK(lc_matmul_multi(NULL, 1, x, 1, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "NULL parts accepted");
    weight_free(&a);
    weight_free(&b);
}

/* lc_matmul_multi with block types: weights whose types pair with the same
 * activation blocks run in one pass (the activations quantised once), each
 * part with its own lc_matmul's bits, every tier and 1..3 threads; a mix of
 * activation kinds runs part by part. Random blocks (every byte random). */
static void test_matmul_multi_quant(void) {
    typedef struct {
        lc_dtype t[3];
        int64_t rows[3];
        int n;
        int64_t cols;
    } qcase;
    const qcase cases[] = {
        {{LC_DTYPE_Q4_K, LC_DTYPE_Q4_K, LC_DTYPE_Q6_K}, {67, 17, 17}, 3, 512}, /* Q4_K_M's Wq / Wk / Wv */
        {{LC_DTYPE_Q4_K, LC_DTYPE_Q4_K}, {203, 75}, 2, 256},                  /* gate / up, item tails */
        {{LC_DTYPE_Q4_0, LC_DTYPE_Q8_0, LC_DTYPE_IQ4_NL}, {1, 0, 49}, 3, 96},  /* Q8_0 activations; 0 rows */
        {{LC_DTYPE_Q8_0, LC_DTYPE_Q8_0, LC_DTYPE_Q8_0}, {2, 3, 1}, 3, 32},    /* one thread */
        {{LC_DTYPE_Q4_K, LC_DTYPE_Q4_0}, {30, 30}, 2, 256},                   /* Q8_K and Q8_0: part by part */
        {{LC_DTYPE_Q4_1, LC_DTYPE_Q5_1}, {40, 9}, 2, 64},                     /* Q8_1 activations */
    };
    lc_rng rng;
    lc_rng_seed(&rng, 777);
    for (size_t ci = 0; ci < LC_ARRAY_LEN(cases); ci++) {
        const qcase *qc = &cases[ci];
        lc_tensor w[3];
        void *data[3];
        float *y[3], *y1;
        lc_matmul_part parts[3];
        size_t wsb = 0, ymax = 1;
        for (int p = 0; p < qc->n; p++) {
            lc_qk_type qt;
            CHECK(lc_qk_from_dtype(qc->t[p], &qt), "%s is not an integer-kernel type", lc_dtype_name(qc->t[p]));
            size_t rb = 0;
            lc_dtype_row_bytes(qc->t[p], qc->cols, &rb, NULL);
            data[p] = malloc(rb * (size_t)qc->rows[p] + 1);
            const int64_t bpr = qc->cols / lc_qk_info_get(qt)->block;
            if (qc->rows[p] > 0) lc_qk_random_blocks(qt, data[p], bpr * qc->rows[p], lc_rng_u64(&rng));
            w[p] = (lc_tensor){qc->t[p], qc->rows[p], qc->cols, data[p]};
            y[p] = malloc((size_t)qc->rows[p] * sizeof(float) + 4);
            parts[p] = (lc_matmul_part){&w[p], y[p]};
            size_t b = 0;
            lc_error e0;
            CHECK_OK(lc_matmul_workspace(&w[p], 1, 3, &b, &e0), &e0);
            wsb = LC_MAX(wsb, b);
            ymax = LC_MAX(ymax, (size_t)qc->rows[p]);
        }
        y1 = malloc(ymax * sizeof(float));
        float *x = malloc((size_t)qc->cols * sizeof(float));
        for (int64_t i = 0; i < qc->cols; i++) x[i] = lc_rng_normal(&rng);
        void *ws = wsb ? lc_malloc_aligned(wsb) : NULL;
        lc_error err;
        for (int tier = LC_ISA_SCALAR; tier <= (int)lc_isa_best(); tier++)
            for (int th = 1; th <= 3; th++) {
                lc_kernel_opts o;
                lc_kernel_opts_init(&o);
                o.n_threads = th;
                o.isa = (lc_isa)tier;
                for (int p = 0; p < qc->n; p++)
                    for (int64_t i = 0; i < qc->rows[p]; i++) y[p][i] = NAN;
                CHECK_OK(lc_matmul_multi(parts, qc->n, x, 1, ws, wsb, &o, &err), &err);
                for (int p = 0; p < qc->n; p++) {
                    for (int64_t i = 0; i < qc->rows[p]; i++) y1[i] = NAN;
                    CHECK_OK(lc_matmul(&w[p], x, 1, y1, ws, wsb, &o, &err), &err);
                    bool finite = true;
                    for (int64_t i = 0; i < qc->rows[p]; i++) finite = finite && isfinite(y1[i]);
                    CHECK(finite && memcmp(y1, y[p], (size_t)qc->rows[p] * sizeof(float)) == 0,
                          "multi case %zu part %d (%s %lldx%lld), %s %d threads: not lc_matmul's bits", ci, p,
                          lc_dtype_name(qc->t[p]), (long long)qc->rows[p], (long long)qc->cols,
                          lc_isa_name((lc_isa)tier), th);
                }
            }
        lc_free_aligned(ws);
        for (int p = 0; p < qc->n; p++) {
            free(data[p]);
            free(y[p]);
        }
        free(y1);
        free(x);
    }
}

static void test_matmul_refusals(void) {
    lc_error err;
    float x[64] = {0}, y[64];
    uint16_t data[64] = {0};
    lc_tensor w = {LC_DTYPE_Q8_0, 2, 33, data};
    size_t b;
    CHECK(lc_matmul_workspace(&w, 1, 1, &b, &err) == LC_ERR_INVALID_ARG, "q8_0 with 33 columns accepted");
    CHECK(lc_matmul(&w, x, 1, y, NULL, 0, NULL, &err) != LC_OK, "q8_0 with 33 columns ran");
    w = (lc_tensor){LC_DTYPE_F16, 2, 16, data};
    CHECK(lc_matmul(&w, x, 3, y, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "GEMM without workspace ran");
    CHECK(strstr(err.msg, "workspace") != NULL, "message: %s", err.msg);
    w = (lc_tensor){LC_DTYPE_F32, INT64_MAX / 2, 16, data};
    CHECK(lc_matmul_workspace(&w, 1, 1, &b, &err) == LC_ERR_TOO_LARGE, "overflowing shape accepted");
    w = (lc_tensor){LC_DTYPE_COUNT, 2, 16, data};
    CHECK(lc_matmul_workspace(&w, 1, 1, &b, &err) == LC_ERR_INVALID_ARG, "unknown type accepted");
    w = (lc_tensor){LC_DTYPE_F32, 2, 0, data};
    CHECK(lc_matmul_workspace(&w, 1, 1, &b, &err) == LC_ERR_INVALID_ARG, "0 columns accepted");
    w = (lc_tensor){LC_DTYPE_F32, 2, 16, NULL};
    CHECK(lc_matmul(&w, x, 1, y, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "NULL data accepted");
    w = (lc_tensor){LC_DTYPE_F32, 2, 16, data};
    CHECK(lc_matmul(&w, x, -1, y, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "negative tokens accepted");
    CHECK_OK(lc_matmul(&w, x, 0, y, NULL, 0, NULL, &err), &err);
}

/* ---- Elementwise ops ------------------------------------------------------ */

static void ops_opts(lc_kernel_opts *o, int threads, bool scalar) {
    lc_kernel_opts_init(o);
    o->n_threads = threads;
    o->force_scalar = scalar;
}

static void test_rmsnorm(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 5);
    const int64_t sizes[][2] = {{1, 1}, {1, 7}, {3, 64}, {5, 289}, {70, 1000}};
    for (size_t s = 0; s < LC_ARRAY_LEN(sizes); s++) {
        int64_t nr = sizes[s][0], n = sizes[s][1];
        float *x = malloc((size_t)(nr * n) * 4), *w = malloc((size_t)n * 4), *out = malloc((size_t)(nr * n) * 4);
        for (int64_t i = 0; i < nr * n; i++) x[i] = 3.0f * lc_rng_normal(&rng);
        for (int64_t i = 0; i < n; i++) w[i] = 1.0f + 0.5f * lc_rng_normal(&rng);
        for (int p = 0; p < 4; p++) {
            lc_kernel_opts o;
            ops_opts(&o, 1 + (p & 1), p >= 2);
            lc_rmsnorm(out, x, w, nr, n, 1e-5f, &o);
            double worst = 0.0;
            for (int64_t r = 0; r < nr; r++) {
                double ss = 0.0;
                for (int64_t i = 0; i < n; i++) ss += (double)x[r * n + i] * x[r * n + i];
                double inv = 1.0 / sqrt(ss / (double)n + 1e-5);
                for (int64_t i = 0; i < n; i++) {
                    double ref = x[r * n + i] * inv * w[i];
                    worst = LC_MAX(worst, fabs(out[r * n + i] - ref) / (fabs(ref) + 1e-6));
                }
            }
            CHECK(worst < 2e-6, "rmsnorm %lldx%lld path %d: relative error %.3g", (long long)nr, (long long)n, p,
                  worst);
        }
        /* in place */
        lc_kernel_opts o;
        ops_opts(&o, 1, false);
        lc_rmsnorm(out, x, w, nr, n, 1e-5f, &o);
        lc_rmsnorm(x, x, w, nr, n, 1e-5f, &o);
        CHECK(memcmp(out, x, (size_t)(nr * n) * 4) == 0, "rmsnorm in place differs");
        free(x), free(w), free(out);
    }
}

static void test_swiglu(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 6);
    const int64_t n = 70001; /* > the parallel threshold, odd tail */
    float *g = malloc((size_t)n * 4), *u = malloc((size_t)n * 4), *out = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        /* the whole range of exp, including under/overflow of exp(-g) */
        g[i] = i < 1000 ? -100.0f + 0.2f * (float)i : 8.0f * lc_rng_normal(&rng);
        u[i] = lc_rng_normal(&rng);
    }
    for (int p = 0; p < 4; p++) {
        lc_kernel_opts o;
        ops_opts(&o, 1 + (p & 1), p >= 2);
        lc_swiglu(out, g, u, n, &o);
        double worst = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double ref = (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i];
            double e = fabs(out[i] - ref) / (fabs(ref) + 1e-30);
            if (fabs(ref) < 1e-35) e = fabs(out[i]) < 1e-35 ? 0.0 : 1.0; /* underflow region: tiny either way */
            if (!(e <= worst)) worst = e;
        }
        CHECK(worst < 1e-6, "swiglu path %d: relative error %.3g", p, worst);
    }
    /* silu(0) = 0, silu(large) = large, NaN stays NaN */
    float gg[9] = {0.0f, 20.0f, -20.0f, NAN, 1.0f, -1.0f, 100.0f, -100.0f, 3.0f}, uu[9], oo[9];
    for (int i = 0; i < 9; i++) uu[i] = 1.0f;
    for (int p = 0; p < 2; p++) {
        lc_kernel_opts o;
        ops_opts(&o, 1, p == 1);
        lc_swiglu(oo, gg, uu, 9, &o);
        CHECK(oo[0] == 0.0f && fabsf(oo[1] - 20.0f) < 1e-5f && fabsf(oo[2]) < 1e-7f && isnan(oo[3]) &&
                  oo[6] == 100.0f && fabsf(oo[7]) < 1e-30f,
              "silu special values path %d: %g %g %g %g %g %g", p, oo[0], oo[1], oo[2], oo[3], oo[6], oo[7]);
    }
    free(g), free(u), free(out);
}

static void test_add_softmax_argmax(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 7);
    const int64_t n = 32003;
    float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), *c = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) a[i] = lc_rng_normal(&rng), b[i] = lc_rng_normal(&rng);
    for (int p = 0; p < 2; p++) {
        lc_kernel_opts o;
        ops_opts(&o, 2, p == 1);
        for (int64_t i = 0; i < n; i++) b[i] = lc_rng_normal(&rng);
        memcpy(c, a, (size_t)n * 4);
        lc_add(c, b, n, &o);
        bool ok = true;
        for (int64_t i = 0; i < n; i++) ok = ok && c[i] == a[i] + b[i];
        CHECK(ok, "add path %d is not exact", p);
        /* softmax of logits with a large offset (max-subtraction matters) and -inf entries */
        for (int64_t i = 0; i < n; i++) c[i] = 1000.0f + 6.0f * a[i];
        c[5] = -INFINITY;
        c[n - 1] = -INFINITY;
        double mx = -INFINITY, sum = 0.0, total = 0.0, worst = 0.0;
        for (int64_t i = 0; i < n; i++) b[i] = c[i]; /* the f32 inputs, for the reference */
        lc_softmax(c, n, &o);
        for (int64_t i = 0; i < n; i++) mx = fmax(mx, b[i]);
        for (int64_t i = 0; i < n; i++) sum += exp((double)b[i] - mx);
        for (int64_t i = 0; i < n; i++) {
            double ref = exp((double)b[i] - mx) / sum;
            worst = fmax(worst, fabs(c[i] - ref) / (ref + 1e-12));
            total += c[i];
        }
        CHECK(c[5] == 0.0f && c[n - 1] == 0.0f, "softmax of -inf is not 0");
        CHECK(worst < 1e-5, "softmax path %d: relative error %.3g", p, worst);
        CHECK(fabs(total - 1.0) < 1e-5, "softmax path %d sums to %.8f", p, total);
        float all_inf[3] = {-INFINITY, -INFINITY, -INFINITY};
        lc_softmax(all_inf, 3, &o);
        CHECK(all_inf[0] == 0.0f && all_inf[2] == 0.0f, "softmax of all -inf is not zeros");
    }
    float v[6] = {1.0f, NAN, 3.0f, 3.0f, -INFINITY, 2.0f};
    CHECK(lc_argmax(v, 6) == 2, "argmax (first of ties, NaN ignored): %lld", (long long)lc_argmax(v, 6));
    CHECK(lc_argmax(v, 0) == -1, "argmax of nothing");
    float nan1[2] = {NAN, NAN};
    CHECK(lc_argmax(nan1, 2) == 0, "argmax of NaNs is 0");
    free(a), free(b), free(c);
}

/* Row conversions match the scalar definitions in common/dtype.c bit for bit. */
static void test_conversions(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 8);
    const int64_t n = 1000 + 37;
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    uint16_t *h = malloc((size_t)n * 2), *h2 = malloc((size_t)n * 2);
    for (int64_t i = 0; i < n; i++) x[i] = 100.0f * lc_rng_normal(&rng);
    x[3] = 1e-7f, x[4] = -70000.0f, x[5] = 0.0f;
    for (int p = 0; p < 2; p++) {
        lc_kernel_opts o;
        ops_opts(&o, 1, p == 1);
        lc_kernel_f32_to_f16(x, h, n, &o);
        bool ok = true;
        for (int64_t i = 0; i < n; i++) ok = ok && h[i] == lc_f32_to_f16(x[i]);
        CHECK(ok, "f32 -> f16 path %d differs from lc_f32_to_f16", p);
        lc_kernel_to_f32(LC_DTYPE_F16, h, y, n, &o);
        ok = true;
        for (int64_t i = 0; i < n; i++) ok = ok && y[i] == lc_f16_to_f32(h[i]);
        CHECK(ok, "f16 -> f32 path %d differs from lc_f16_to_f32", p);
        for (int64_t i = 0; i < n; i++) h2[i] = lc_f32_to_bf16(x[i]);
        lc_kernel_to_f32(LC_DTYPE_BF16, h2, y, n, &o);
        ok = true;
        for (int64_t i = 0; i < n; i++) ok = ok && y[i] == lc_bf16_to_f32(h2[i]);
        CHECK(ok, "bf16 -> f32 path %d", p);
        lc_kernel_to_f32(LC_DTYPE_F32, x, y, n, &o);
        CHECK(memcmp(x, y, (size_t)n * 4) == 0, "f32 copy");
    }
    lc_block_q8_0 q[32];
    lc_quantize_row_q8_0(x, q, 1024);
    float *z = malloc(1024 * 4);
    lc_dequantize_row_q8_0(q, z, 1024);
    lc_kernel_to_f32(LC_DTYPE_Q8_0, q, y, 1024, NULL);
    CHECK(memcmp(y, z, 1024 * 4) == 0, "q8_0 -> f32");
    free(x), free(y), free(h), free(h2), free(z);
}

int main(void) {
    test_conversions();
    test_matmul_all();
    test_prefill_matches_decode();
    test_matmul_refusals();
    test_matmul_multi();
    test_matmul_multi_quant();
    test_rmsnorm();
    test_swiglu();
    test_add_softmax_argmax();
    return lc_test_finish("test_matmul");
}
