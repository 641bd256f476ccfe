/*
 * lc_matmul with quantized weights (every block type), against a double
 * precision reference over the same dequantized weights: matrix-vector and
 * GEMM, odd row counts, column counts that are a multiple of 32 but not of
 * 256 where the type allows it, 1 and 2 threads, AVX2 dispatch and
 * force_scalar. Results must not depend on the thread count. Also: the
 * refusals (partial blocks) and the embedding-row conversion
 * (lc_kernel_to_f32).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/kernels.h"
#include "quant/quant.h"
#include "test_quant_util.h"
#include "test_util.h"

static const lc_dtype types[] = {LC_DTYPE_Q4_0, LC_DTYPE_Q4_1, LC_DTYPE_Q5_0, LC_DTYPE_Q5_1, LC_DTYPE_Q2_K,
                                 LC_DTYPE_Q3_K, LC_DTYPE_Q4_K, LC_DTYPE_Q5_K, LC_DTYPE_Q6_K, LC_DTYPE_IQ4_NL,
                                 LC_DTYPE_IQ4_XS, LC_DTYPE_MXFP4, LC_DTYPE_Q8_0};

static float *run(const lc_tensor *w, const float *x, int64_t n_tok, int threads, bool scalar) {
    lc_kernel_opts o;
    lc_kernel_opts_init(&o);
    o.n_threads = threads;
    o.force_scalar = scalar;
    lc_error err;
    size_t wsb = 0;
    CHECK_OK(lc_matmul_workspace(w, n_tok, threads, &wsb, &err), &err);
    void *ws = wsb ? malloc(wsb) : NULL;
    float *y = malloc((size_t)(n_tok * w->rows) * sizeof(float) + 1);
    CHECK_OK(lc_matmul(w, x, n_tok, y, ws, wsb, &o, &err), &err);
    free(ws);
    return y;
}

static void test_shape(lc_dtype t, int64_t rows, int64_t cols, int64_t n_tok, lc_rng *rng) {
    const lc_quant_traits *q = lc_quant_traits_of(t);
    size_t rb;
    lc_error err;
    CHECK_OK(lc_dtype_row_bytes(t, cols, &rb, &err), &err);
    uint8_t *data = malloc(rb * (size_t)rows + 1);
    random_blocks(t, data, rows * cols / q->block, rng);
    lc_tensor w = {t, rows, cols, data};
    float *x = malloc((size_t)(n_tok * cols) * sizeof(float));
    for (int64_t i = 0; i < n_tok * cols; i++) x[i] = lc_rng_normal(rng);
    /* Reference: dequantized rows, double sums; over the activations rounded
     * to the type's 8-bit blocks when the products do that (the integer
     * kernels), with room for their rounding of a tie the other way. */
    const bool acts8 = lc_quant_products_round_acts(t);
    const double tol = acts8 ? 4e-3 : 2e-6;
    float *xr = malloc((size_t)(n_tok * cols) * sizeof(float));
    if (acts8) {
        void *qa = malloc(lc_quant_act_block_bytes(q->act) * (size_t)(cols / lc_quant_act_block(q->act)));
        for (int64_t k = 0; k < n_tok; k++) {
            lc_quant_act_from_f32(q->act, x + k * cols, qa, cols);
            lc_quant_act_to_f32(q->act, qa, xr + k * cols, cols);
        }
        free(qa);
    } else {
        memcpy(xr, x, (size_t)(n_tok * cols) * sizeof(float));
    }
    float *row = malloc((size_t)cols * sizeof(float));
    double *ref = malloc((size_t)(n_tok * rows) * sizeof(double)), scale = 1e-6;
    for (int64_t r = 0; r < rows; r++) {
        CHECK_OK(lc_row_to_f32(t, data + (size_t)r * rb, row, cols, &err), &err);
        for (int64_t k = 0; k < n_tok; k++) {
            double s = 0, a = 0;
            for (int64_t c = 0; c < cols; c++) {
                s += (double)row[c] * xr[k * cols + c];
                a += fabs((double)row[c] * xr[k * cols + c]);
            }
            ref[k * rows + r] = s;
            scale = fmax(scale, a);
        }
    }
    float *y1 = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        for (int scalar = 0; scalar <= 1; scalar++) {
            float *y = run(&w, x, n_tok, threads, scalar);
            double worst = 0;
            for (int64_t i = 0; i < n_tok * rows; i++) worst = fmax(worst, fabs(y[i] - ref[i]) / scale);
            /* f32 sums of up to cols products: a few ulps of the absolute sum */
            CHECK(worst < tol, "%s %lldx%lld, %lld tokens, %d threads%s: error %.3g of sum |w x|", q->name,
                  (long long)rows, (long long)cols, (long long)n_tok, threads, scalar ? ", scalar" : "", worst);
            if (scalar == 0 && threads == 1) y1 = y;
            else {
                if (scalar == 0)
                    CHECK(memcmp(y, y1, (size_t)(n_tok * rows) * sizeof(float)) == 0,
                          "%s %lldx%lld, %lld tokens: 2 threads differ from 1", q->name, (long long)rows,
                          (long long)cols, (long long)n_tok);
                free(y);
            }
        }
    }
    free(y1);
    free(xr);
    free(row);
    free(ref);
    free(x);
    free(data);
}

static void test_products(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 21);
    for (size_t ti = 0; ti < LC_ARRAY_LEN(types); ti++) {
        const lc_quant_traits *q = lc_quant_traits_of(types[ti]);
        const int64_t b = q->block;
        /* rows odd and awkward; cols 1 block, several; for 32-blocks also
         * multiples of 32 that are not of 256. */
        const int64_t shapes[][3] = {
            {1, b, 1}, {7, b, 1}, {33, 2 * b, 1}, {5, 3 * b, 2}, {17, b, 7}, {70, 2 * b, 13}, {3, 4 * b, 40},
            {129, b == 32 ? 96 : 512, 1}, {31, b == 32 ? 416 : 768, 6},
        };
        for (size_t i = 0; i < LC_ARRAY_LEN(shapes); i++) test_shape(types[ti], shapes[i][0], shapes[i][1], shapes[i][2], &rng);
    }
    /* A product large enough to run on two threads (2^18 multiply-adds). */
    test_shape(LC_DTYPE_Q4_K, 301, 1024, 1, &rng);
    test_shape(LC_DTYPE_Q4_K, 301, 1024, 9, &rng);
    test_shape(LC_DTYPE_Q4_0, 97, 2080, 3, &rng);
}

static void test_refusals_and_rows(void) {
    lc_error err;
    uint8_t data[4096] = {0};
    float x[1024] = {0}, y[64];
    size_t b;
    for (size_t ti = 0; ti < LC_ARRAY_LEN(types); ti++) {
        const lc_quant_traits *q = lc_quant_traits_of(types[ti]);
        lc_tensor w = {types[ti], 2, q->block + 32 == 64 ? 48 : q->block + 32, data};
        CHECK(lc_matmul_workspace(&w, 1, 1, &b, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, q->name),
              "%s with %lld columns accepted (%s)", q->name, (long long)w.cols, err.msg);
        CHECK(lc_matmul(&w, x, 1, y, NULL, 0, NULL, &err) != LC_OK, "%s partial block ran", q->name);
        /* the GEMM path needs its workspace */
        w.cols = q->block;
        CHECK_OK(lc_matmul_workspace(&w, 3, 1, &b, &err), &err);
        if (b > 0)
            CHECK(lc_matmul(&w, x, 3, y, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "workspace"),
                  "%s GEMM without workspace: %s", q->name, err.msg);
        /* lc_kernel_to_f32 (embedding rows) equals the reference dequantization */
        lc_rng rng;
        lc_rng_seed(&rng, 4);
        random_blocks(types[ti], data, 2, &rng);
        float a[512], r[512];
        lc_kernel_opts o;
        lc_kernel_opts_init(&o);
        lc_kernel_to_f32(types[ti], data, a, 2 * q->block, &o);
        q->to_f32(data, r, 2 * q->block);
        CHECK(memcmp(a, r, (size_t)(2 * q->block) * sizeof(float)) == 0, "%s lc_kernel_to_f32", q->name);
    }
}

int main(void) {
    test_products();
    test_refusals_and_rows();
    return lc_test_finish("test_quant_matmul");
}
