/*
 * The registry of fast paths (in the spirit of ggml's test-backend-ops):
 * every fast path (a file src/DIR/NAME_avx2.c or src/DIR/NAME_avx512.c) is listed here with the
 * scalar reference it must agree with and the test that compares the two on randomised and
 * awkward shapes (odd sizes, 1 and several threads).
 *
 *  - CMake globs the _avx2.c and _avx512.c files under src at configure time
 *    (CONFIGURE_DEPENDS: a new file re-runs it; an _avx512.c file is listed
 *    whether or not the compiler builds it) and passes the list as
 *    LC_FAST_PATH_FILES: a fast path without an entry here fails this test,
 *    and so does an entry whose file is gone;
 *  - each entry's reference file and comparing test must exist, and the test
 *    must still hold what switches it between the tiers (force_scalar,
 *    LC_ISA_SCALAR, a direct call of the _avx2 function, the tier the test
 *    runs), so the comparison
 *    cannot silently disappear;
 *  - the one fast path no other test compares (the bench peak loops) is
 *    compared here.
 *
 * To add a fast path: add its file, its scalar reference and a comparison
 * test, then one line to `registry` below.
 */
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LC_HAVE_X86)
#define LC_HAVE_X86 1 /* as the library is built on x86-64 (CMakeLists.txt) */
#endif
#include "bench/peak_kernels.h"
#include "common/util.h"
#include "longctx/sys.h"
#include "test_util.h"

typedef struct {
    const char *fast;      /* the *_avx2.c / *_avx512.c file         */
    const char *reference; /* the scalar reference it must agree with */
    const char *test;      /* the test comparing them                 */
    const char *tiers;     /* what in that test runs both tiers       */
} entry;

static const entry registry[] = {
    {"src/attn/deltanet_avx2.c", "src/attn/deltanet.c", "tests/test_deltanet.c", "force_scalar"},
    {"src/attn/flash_avx2.c", "src/attn/flash_scalar.c", "tests/test_attn_exact.c", "lc_flash_kernels_for("},
    {"src/attn/flash_avx512.c", "src/attn/flash_scalar.c", "tests/test_attn_exact.c", "LC_ISA_AVX512"},
    {"src/attn/linear_kernels_avx2.c", "src/attn/linear_kernels.c", "tests/test_attn_linear.c", "force_scalar"},
    {"src/bench/peak_avx2.c", "src/bench/peak.c", "tests/test_kernel_registry.c", "lc_peak_sum_avx2("},
    {"src/bench/peak_avx512.c", "src/bench/peak.c", "tests/test_kernel_registry.c", "lc_peak_fma_tier(LC_ISA_AVX512"},
    {"src/common/convert_avx2.c", "src/common/dtype.c", "tests/test_matmul.c", "force_scalar"},
    {"src/kernels/matmul_avx2.c", "src/kernels/matmul.c", "tests/test_matmul.c", "run_matmul_isa"},
    {"src/kernels/matmul_avx512.c", "src/kernels/matmul.c", "tests/test_matmul.c", "run_matmul_isa"},
    {"src/kernels/ops_avx2.c", "src/kernels/ops.c", "tests/test_matmul.c", "force_scalar"},
    {"src/kernels/sgemm_avx2.c", "src/kernels/sgemm.c", "tests/test_train_sgemm.c", "scalar < 2"},
    {"src/quant/qk_act_avx2.c", "src/quant/qk_act.c", "tests/test_quant_kernels.c", "have_avx2()"},
    {"src/quant/qk_dot_avx2.c", "src/quant/qk_dot.c", "tests/test_quant_kernels.c", "have_avx2()"},
    {"src/quant/qk_dot_avx512.c", "src/quant/qk_dot.c", "tests/test_quant_kernels.c", "test_fast_dots(LC_ISA_AVX512)"},
    {"src/rope/rope_apply_avx2.c", "src/rope/rope_apply.c", "tests/test_rope.c", "lc_rope_rotate_row_avx2("},
    {"src/sample/sample_avx2.c", "src/sample/sampler.c", "tests/test_sample.c", "lc_sample_scan_avx2("},
    {"src/train/attn_rows_avx2.c", "src/train/attn_rows.c", "tests/test_train_layers.c", "LC_ISA_SCALAR"},
};

static char *slurp(const char *rel, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LC_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)size + 1)) != NULL) {
        if (fread(b, 1, (size_t)size, f) != (size_t)size) {
            free(b);
            b = NULL;
        } else {
            b[size] = '\0';
            *n = (size_t)size;
        }
    }
    fclose(f);
    return b;
}

static const entry *find(const char *fast) {
    for (size_t i = 0; i < LC_ARRAY_LEN(registry); i++)
        if (strcmp(registry[i].fast, fast) == 0) return &registry[i];
    return NULL;
}

static void test_every_fast_path_listed(void) {
    /* LC_FAST_PATH_FILES: "src/a_avx2.c,src/b_avx512.c" (CMake's list, relative) */
    const char *list = LC_FAST_PATH_FILES;
    int n_files = 0;
    bool seen[LC_ARRAY_LEN(registry)] = {false};
    while (*list) {
        const char *semi = strchr(list, ',');
        const size_t len = semi ? (size_t)(semi - list) : strlen(list);
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)LC_MIN(len, sizeof name - 1), list);
        list += len + (semi != NULL);
        if (!name[0]) continue;
        n_files++;
        const entry *e = find(name);
        CHECK(e != NULL, "%s is a fast path with no entry in tests/test_kernel_registry.c (its scalar reference and "
                         "the test comparing them)", name);
        if (e) seen[e - registry] = true;
    }
    CHECK(n_files > 0, "CMake passed no *_avx2.c / *_avx512.c files");
    for (size_t i = 0; i < LC_ARRAY_LEN(registry); i++)
        CHECK(seen[i], "registry entry %s names a file the build does not have", registry[i].fast);
    fprintf(stderr, "%d fast-path files, %zu registry entries\n", n_files, LC_ARRAY_LEN(registry));
}

static void test_entries_are_real(void) {
    for (size_t i = 0; i < LC_ARRAY_LEN(registry); i++) {
        const entry *e = &registry[i];
        size_t n = 0;
        char *ref = slurp(e->reference, &n);
        CHECK(ref != NULL, "%s: reference %s is missing", e->fast, e->reference);
        free(ref);
        char *t = slurp(e->test, &n);
        CHECK(t != NULL, "%s: test %s is missing", e->fast, e->test);
        CHECK(t && strstr(t, e->tiers), "%s: %s no longer has '%s' (where it runs both tiers)", e->fast, e->test,
              e->tiers);
        free(t);
    }
}

/* The bench peak loops: the AVX2 sum equals the scalar sum on odd lengths
 * (up to f32 rounding), and the AVX2 and AVX-512 FMA loops (12 chains in
 * every lane) agree with the scalar one (12 chains). */
static void test_peak_kernels(void) {
#if defined(__x86_64__) || defined(_M_X64)
    if (lc_isa_hardware() < LC_ISA_AVX2) {
        fprintf(stderr, "note: no AVX2 here: the peak comparison is not run\n");
        return;
    }
    lc_rng r;
    lc_rng_seed(&r, 99);
    const size_t sizes[] = {0, 1, 7, 8, 9, 31, 33, 1000, 4099};
    float *x = malloc(4099 * sizeof(float));
    if (!x) return;
    for (size_t i = 0; i < 4099; i++) x[i] = lc_rng_uniform(&r) * 2.0f - 1.0f;
    for (size_t k = 0; k < LC_ARRAY_LEN(sizes); k++) {
        /* both sum |x| <= 1 in a different order, the AVX2 loop in f32 lanes */
        const double a = lc_peak_sum_avx2(x, sizes[k]), s = lc_peak_sum_scalar(x, sizes[k]);
        CHECK(fabs(a - s) <= 1e-6 * (double)sizes[k] + 1e-12, "peak sum n=%zu: avx2 %.17g scalar %.17g", sizes[k], a,
              s);
    }
    free(x);
    const int64_t iters[] = {0, 1, 7, 1000, 4097};
    for (size_t k = 0; k < LC_ARRAY_LEN(iters); k++) {
        const float fs = lc_peak_fma_scalar(iters[k]);
        const float fa = lc_peak_fma_tier(LC_ISA_AVX2, iters[k]);
        CHECK(isfinite(fs) && fs > 10.0f, "peak fma scalar loop, %lld iterations: %g", (long long)iters[k], (double)fs);
        CHECK(fabsf(fa - fs) <= 1e-5f * fabsf(fs), "peak fma %lld iterations: avx2 %.9g scalar %.9g",
              (long long)iters[k], (double)fa, (double)fs);
        if (lc_isa_best() >= LC_ISA_AVX512) {
            const float fz = lc_peak_fma_tier(LC_ISA_AVX512, iters[k]);
            CHECK(fabsf(fz - fs) <= 1e-5f * fabsf(fs), "peak fma %lld iterations: avx512 %.9g scalar %.9g",
                  (long long)iters[k], (double)fz, (double)fs);
        }
    }
#else
    fprintf(stderr, "note: not x86-64: no fast paths are built\n");
#endif
}

int main(void) {
    test_every_fast_path_listed();
    test_entries_are_real();
    test_peak_kernels();
    return lc_test_finish("test_kernel_registry");
}
