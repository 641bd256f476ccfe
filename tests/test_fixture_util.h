/*
 * Readers of the reference fixtures in ../shared/fixtures (see its README):
 * tokens.json ({"n_tokens": N, "tokens": [...]}), raw f32 logits files, a
 * model file that may be absent, and the argmax with its margin that the
 * logit comparisons use. For the tests that compare against HF transformers
 * and llama.cpp outputs (test_families*.c, test_hybrid_kv.c,
 * test_quant_models.c).
 */
#ifndef LC_TEST_FIXTURE_UTIL_H
#define LC_TEST_FIXTURE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/model.h"
#include "longctx/util.h"

/* The "tokens" array of a tokens.json into tokens[cap]: how many were read
 * (0 when the file cannot be read). */
static inline int64_t lc_test_read_tokens_json(const char *path, int32_t *tokens, int64_t cap) {
    char *buf = NULL;
    if (lc_read_file(path, (size_t)1 << 24, &buf, NULL, NULL) != LC_OK) return 0;
    const char *p = strstr(buf, "\"tokens\"");
    p = p ? strchr(p, '[') : NULL;
    int64_t n = 0;
    while (p && *p && *p != ']' && n < cap) {
        p++;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        tokens[n++] = (int32_t)v;
        p = end;
        while (*p == ' ') p++;
    }
    free(buf);
    return n;
}

/* A file of exactly n f32 values (malloc'd), or NULL when absent or of another size. */
static inline float *lc_test_read_f32(const char *path, size_t n) {
    char *buf = NULL;
    size_t len = 0;
    if (lc_read_file(path, (size_t)1 << 32, &buf, &len, NULL) != LC_OK) return NULL;
    if (len != n * sizeof(float)) {
        free(buf);
        return NULL;
    }
    return (float *)(void *)buf;
}

/* The largest of x[0..n) (the first on ties) and, when margin is not NULL,
 * how far it is above the second. */
static inline int32_t lc_test_argmax(const float *x, int32_t n, double *margin) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    if (margin) {
        double second = -1e30;
        for (int32_t i = 0; i < n; i++)
            if (i != best && x[i] > second) second = x[i];
        *margin = (double)x[best] - second;
    }
    return best;
}

/* The model at path, or NULL saying "SKIP PATH is absent" when there is no
 * such file; a file that does not load is a failed check. */
static inline lc_model *lc_test_load_if_present(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "SKIP %s is absent\n", path);
        return NULL;
    }
    fclose(f);
    lc_error err = {0};
    lc_model *m = NULL;
    const lc_status st = lc_model_load(path, NULL, &m, &err);
    CHECK(st == LC_OK, "%s: load: %s", path, err.msg);
    return st == LC_OK ? m : NULL;
}

#endif
