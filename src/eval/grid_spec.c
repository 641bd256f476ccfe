/*
 * How a retrieval grid is written down (eval.h): needle depths as a count or
 * a list of percentages, and RULER's needle-in-a-haystack variants as task
 * kinds.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

/* A percentage 0..100 ("25", "25%") as 0..1; false if it is not one. */
static bool parse_percent(const char *s, size_t len, double *out) {
    char buf[32];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (len > 1 && buf[len - 1] == '%') buf[len - 1] = '\0';
    char *end;
    errno = 0;
    const double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v) || v < 0.0 || v > 100.0) return false;
    *out = v / 100.0;
    return true;
}

lc_status lc_eval_depths_parse(const char *s, double *depths, int *n, lc_error *err) {
    *n = 0;
    if (!s || !*s) return lc_fail(err, LC_ERR_INVALID_ARG, "--depths: bad list");
    if (!strchr(s, ',') && !strchr(s, '%')) {
        char *end;
        errno = 0;
        const long k = strtol(s, &end, 10);
        if (end == s || *end || errno || k < 1 || k > LC_EVAL_MAX_DEPTHS)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "--depths %s: a count 1..%d or a list of percentages (50%% for one)", s, LC_EVAL_MAX_DEPTHS);
        for (int i = 0; i < (int)k; i++) depths[i] = k == 1 ? 0.5 : (double)i / (double)(k - 1);
        *n = (int)k;
        return LC_OK;
    }
    while (*s) {
        const size_t len = strcspn(s, ",");
        if (len == 0 || *n >= LC_EVAL_MAX_DEPTHS) return lc_fail(err, LC_ERR_INVALID_ARG, "--depths: bad list");
        if (!parse_percent(s, len, &depths[*n]))
            return lc_fail(err, LC_ERR_INVALID_ARG, "--depths: %.*s is not a depth in 0..100%%",
                           (int)LC_MIN(len, 31), s);
        ++*n;
        s += len + (s[len] == ',');
    }
    return *n > 0 ? LC_OK : lc_fail(err, LC_ERR_INVALID_ARG, "--depths: bad list");
}

lc_status lc_eval_niah_variant(lc_task_spec *spec, const char *variant, bool keys_given, lc_error *err) {
    const char *v = variant ? variant : "single";
    if (strcmp(v, "single") == 0) {
        if (keys_given && spec->n_keys != 1)
            return lc_fail(err, LC_ERR_INVALID_ARG, "--variant single has one key; use --variant multikey for --keys");
        spec->kind = LC_TASK_MULTIKEY;
        spec->n_keys = 1;
        spec->n_queries = 1;
    } else if (strcmp(v, "multikey") == 0) {
        spec->kind = LC_TASK_MULTIKEY;
    } else if (strcmp(v, "multivalue") == 0) {
        spec->kind = LC_TASK_MULTIVALUE;
    } else if (strcmp(v, "multiquery") == 0) {
        spec->kind = LC_TASK_MULTIQUERY;
    } else {
        return lc_fail(err, LC_ERR_INVALID_ARG, "unknown --variant %s (single, multikey, multivalue, multiquery)", v);
    }
    return LC_OK;
}
