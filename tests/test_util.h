/*
 * Minimal test harness: CHECK records a failure and goes on; the test's main
 * returns lc_test_finish(), which is non-zero if anything failed, so ctest
 * (and CI) fail. LC_TEST_SKIP exits with 77, which ctest reports as skipped,
 * only when nothing failed before it: a skip never hides a failure (it exits
 * 1 then). A test with parts that need ../shared asks lc_test_have_shared()
 * and skips only those parts, saying so. lc_test_quick(): LONGCTX_TEST_QUICK
 * is set and not "0" (the sanitizer CI pass sets it: fewer, smaller cases).
 */
#ifndef LC_TEST_UTIL_H
#define LC_TEST_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int lc_test_failures = 0;
static int lc_test_checks = 0;

#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        lc_test_checks++;                                                               \
        if (!(cond)) {                                                                  \
            lc_test_failures++;                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
        }                                                                               \
    } while (0)

/* Check an lc_status call returned LC_OK; prints the error message if not. */
#define CHECK_OK(call, errp)                                                            \
    do {                                                                                \
        lc_status st_ = (call);                                                         \
        CHECK(st_ == LC_OK, "%s -> %s: %s", #call, lc_status_str(st_), (errp)->msg);    \
    } while (0)

#define LC_TEST_SKIP(...)                                                               \
    do {                                                                                \
        fprintf(stderr, "SKIP: ");                                                      \
        fprintf(stderr, __VA_ARGS__);                                                   \
        fprintf(stderr, "\n");                                                          \
        if (lc_test_failures) {                                                         \
            fprintf(stderr, "%d of %d checks FAILED before the skip\n", lc_test_failures, \
                    lc_test_checks);                                                    \
            exit(1);                                                                    \
        }                                                                               \
        exit(77);                                                                       \
    } while (0)

static inline bool lc_test_quick(void) {
    const char *q = getenv("LONGCTX_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* Whether ../shared is here; when not, says that `part` is skipped. */
static inline bool lc_test_have_shared(const char *part) {
    struct stat sb;
    if (stat(LC_SHARED_DIR, &sb) == 0) return true;
    fprintf(stderr, "SKIP part: %s (%s is absent)\n", part, LC_SHARED_DIR);
    return false;
}

static inline int lc_test_finish(const char *name) {
    if (lc_test_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, lc_test_failures, lc_test_checks);
        return 1;
    }
    fprintf(stderr, "%s: all %d checks passed\n", name, lc_test_checks);
    return 0;
}

/* Path under ../shared, or skip the test (saying so) when the folder is absent. */
static inline const char *lc_test_shared(const char *rel, char *buf, size_t len) {
    struct stat sb;
    if (stat(LC_SHARED_DIR, &sb) != 0) LC_TEST_SKIP("%s is absent: tests that read shared models are skipped", LC_SHARED_DIR);
    snprintf(buf, len, "%s/%s", LC_SHARED_DIR, rel);
    return buf;
}

/* max |a-b| / max(max|b|, floor): error relative to the reference's scale. */
static inline double lc_test_rel_err(const float *a, const float *b, size_t n, double floor_) {
    double mx = floor_, de = 0.0;
    for (size_t i = 0; i < n; i++) {
        double fb = fabs((double)b[i]);
        if (fb > mx) mx = fb;
    }
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= de)) de = e; /* NaN propagates as a failure */
    }
    return de / mx;
}

#endif
