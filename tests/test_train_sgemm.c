/*
 * lc_sgemm against a double-precision reference: every transpose combination,
 * awkward shapes (1, odd, just past the MR/NR/KC/MC/NC block edges), padded
 * leading dimensions, alpha/beta, NaN in C with beta = 0; the AVX2 and scalar
 * micro-kernels; bitwise-identical results for 1, 2 and 3 threads; refusals.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "test_util.h"

static float *rand_buf(size_t n, lc_rng *r) {
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = lc_rng_uniform(r) * 2.0f - 1.0f;
    return p;
}

/* One case: returns the relative error against the double reference. */
static double run_case(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta, int64_t pad,
                       int threads, bool scalar, lc_rng *r) {
    const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    const int64_t arows = ta ? k : m, brows = tb ? n : k;
    float *a = rand_buf((size_t)(arows * lda), r), *b = rand_buf((size_t)(brows * ldb), r);
    float *c = rand_buf((size_t)(m * ldc), r);
    double *ref = (double *)malloc((size_t)(m * n + 1) * sizeof(double));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
            }
            ref[i * n + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)c[i * ldc + j]);
        }
    if (beta == 0.0f) /* C must not be read: poison it */
        for (int64_t i = 0; i < m * ldc; i++) c[i] = NAN;
    lc_sgemm_args g = {ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, scalar};
    lc_error err;
    CHECK_OK(lc_sgemm(&g, &err), &err);
    double mx = 1e-30, de = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            mx = fmax(mx, fabs(ref[i * n + j]));
            double e = fabs((double)c[i * ldc + j] - ref[i * n + j]);
            if (!(e <= de)) de = e;
        }
    /* padding columns of C stay untouched */
    if (pad > 0 && m > 0 && beta != 0.0f) CHECK(!isnan(c[n]), "padding clobbered");
    free(a);
    free(b);
    free(c);
    free(ref);
    return de / mx;
}

static void test_shapes(void) {
    lc_rng r;
    lc_rng_seed(&r, 1234);
    static const int64_t shapes[][3] = {
        {1, 1, 1},    {1, 17, 5},    {7, 1, 9},      {6, 16, 8},      {5, 15, 7},     {13, 33, 300},
        {145, 40, 3}, {150, 47, 513}, {288, 16, 64},  {61, 3073, 9},   {64, 64, 64},   {200, 200, 260},
        {3, 5, 1025}, {17, 250, 31},  {145, 145, 257}};
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
    for (size_t s = 0; s < LC_ARRAY_LEN(shapes); s++)
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const int ci = (int)((s + (size_t)t) % 3);
            const int64_t pad = (s % 2) ? 3 : 0;
            for (int scalar = 0; scalar < 2; scalar++) {
                double e = run_case(ta, tb, m, n, k, ab[ci][0], ab[ci][1], pad, 2, scalar, &r);
                CHECK(e < 2e-6 * sqrt((double)k + 1), "m %lld n %lld k %lld ta %d tb %d scalar %d: rel err %.3g",
                      (long long)m, (long long)n, (long long)k, ta, tb, scalar, e);
            }
        }
}

/* The same call on 1, 2 and 3 threads gives bitwise identical C. */
static void test_thread_determinism(void) {
    lc_rng r;
    lc_rng_seed(&r, 99);
    const int64_t m = 301, n = 257, k = 700;
    float *a = rand_buf((size_t)(m * k), &r), *b = rand_buf((size_t)(n * k), &r);
    float *c[3];
    lc_error err;
    for (int t = 0; t < 3; t++) {
        c[t] = (float *)calloc((size_t)(m * n), sizeof(float));
        for (int rep = 0; rep < 2; rep++) /* beta = 1 accumulation too */
            CHECK_OK(lc_sgemm_simple(false, true, m, n, k, 0.7f, a, k, b, k, rep ? 1.0f : 0.0f, c[t], n, t + 1, &err),
                     &err);
    }
    CHECK(memcmp(c[0], c[1], (size_t)(m * n) * sizeof(float)) == 0, "1 vs 2 threads differ");
    CHECK(memcmp(c[0], c[2], (size_t)(m * n) * sizeof(float)) == 0, "1 vs 3 threads differ");
    for (int t = 0; t < 3; t++) free(c[t]);
    free(a);
    free(b);
}

static void test_k_zero_and_refusals(void) {
    float c[6] = {1, 2, 3, 4, 5, 6}, a[6] = {0}, b[6] = {0};
    lc_error err;
    CHECK_OK(lc_sgemm_simple(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 2.0f, c, 3, 1, &err), &err);
    CHECK(c[5] == 12.0f, "k = 0 scales C by beta: %g", c[5]);
    CHECK_OK(lc_sgemm_simple(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, c, 3, 1, &err), &err);
    CHECK(c[0] == 0.0f && c[5] == 0.0f, "k = 0, beta = 0 zeroes C");
    CHECK(lc_sgemm_simple(false, false, -1, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3, 1, &err) == LC_ERR_INVALID_ARG,
          "negative m");
    CHECK(lc_sgemm_simple(false, false, 2, 3, 2, 1.0f, a, 1, b, 3, 0.0f, c, 3, 1, &err) == LC_ERR_INVALID_ARG,
          "lda < k: %s", err.msg);
    CHECK(lc_sgemm_simple(false, true, 2, 3, 2, 1.0f, a, 2, b, 1, 0.0f, c, 3, 1, &err) == LC_ERR_INVALID_ARG,
          "ldb < k when transposed");
    CHECK(lc_sgemm_simple(false, false, 2, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 2, 1, &err) == LC_ERR_INVALID_ARG,
          "ldc < n");
    CHECK(lc_sgemm_simple(false, false, 2, 3, 2, 1.0f, NULL, 2, b, 3, 0.0f, c, 3, 1, &err) == LC_ERR_INVALID_ARG,
          "NULL A");
    CHECK(lc_sgemm_simple(false, false, INT64_MAX / 2, 3, 2, 1.0f, a, 4, b, 3, 0.0f, c, 3, 1, &err) ==
              LC_ERR_TOO_LARGE,
          "overflowing operand: %s", err.msg);
    lc_sgemm_args g = {false, false, 2, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3, 2, false};
    CHECK(lc_sgemm_ws(&g, NULL, 0, &err) == LC_ERR_INVALID_ARG, "missing workspace");
}

int main(void) {
    test_shapes();
    test_thread_determinism();
    test_k_zero_and_refusals();
    return lc_test_finish("test_train_sgemm");
}
