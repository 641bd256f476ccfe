/* Sampler parameters: defaults, validation, llama.cpp-named options, description. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sample/sample_internal.h"

void lc_sampler_params_init(lc_sampler_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->temp = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->frequency_penalty = 0.0f;
    p->presence_penalty = 0.0f;
    p->seed = 42;
}

lc_status lc_sampler_params_validate(const lc_sampler_params *p, lc_error *err) {
    if (!p) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL params");
    if (!isfinite(p->temp)) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: temperature is not finite");
    if (!isfinite(p->top_p) || p->top_p < 0.0f || p->top_p > 1.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: top-p must be in [0, 1] (1: off), got %g", (double)p->top_p);
    if (!isfinite(p->min_p) || p->min_p < 0.0f || p->min_p > 1.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: min-p must be in [0, 1] (0: off), got %g", (double)p->min_p);
    if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0.0f)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: repeat penalty must be > 0 (1: off), got %g",
                       (double)p->repeat_penalty);
    if (p->repeat_last_n < -1 || p->repeat_last_n > LC_SAMPLER_MAX_LAST_N)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: repeat-last-n must be in -1..%d, got %d",
                       LC_SAMPLER_MAX_LAST_N, p->repeat_last_n);
    if (!isfinite(p->frequency_penalty) || !isfinite(p->presence_penalty))
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: frequency/presence penalties must be finite");
    return LC_OK;
}

/* ---- Options -------------------------------------------------------------- */

typedef enum {
    OPT_TEMP,
    OPT_TOP_K,
    OPT_TOP_P,
    OPT_MIN_P,
    OPT_REPEAT_PENALTY,
    OPT_REPEAT_LAST_N,
    OPT_FREQUENCY_PENALTY,
    OPT_PRESENCE_PENALTY,
    OPT_SEED,
    OPT_COUNT
} sample_option;

static const char *const option_names[OPT_COUNT] = {
    [OPT_TEMP] = "--temp",
    [OPT_TOP_K] = "--top-k",
    [OPT_TOP_P] = "--top-p",
    [OPT_MIN_P] = "--min-p",
    [OPT_REPEAT_PENALTY] = "--repeat-penalty",
    [OPT_REPEAT_LAST_N] = "--repeat-last-n",
    [OPT_FREQUENCY_PENALTY] = "--frequency-penalty",
    [OPT_PRESENCE_PENALTY] = "--presence-penalty",
    [OPT_SEED] = "--seed",
};

static int find_option(const char *flag) {
    if (!flag) return -1;
    size_t len = strcspn(flag, "=");
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(option_names[i]) == len && strncmp(flag, option_names[i], len) == 0) return i;
    return -1;
}

bool lc_sampler_is_option(const char *flag) { return find_option(flag) >= 0; }

static bool parse_float(const char *s, float *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || fabs(v) > 3.0e38) return false;
    *out = (float)v;
    return true;
}

static bool parse_ll(const char *s, long long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

/* Decimal digits only (no sign), fitting 64 bits. */
static bool parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0') return false;
    *out = (uint64_t)v;
    return true;
}

/* A seed from the clock (llama.cpp's --seed -1). */
static uint64_t clock_seed(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

lc_status lc_sampler_apply_option(lc_sampler_params *p, const char *flag, const char *value, lc_error *err) {
    int opt = find_option(flag);
    if (!p || opt < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: '%s' is not a sampling option", flag ? flag : "(null)");
    const char *name = option_names[opt];
    if (!value) return lc_fail(err, LC_ERR_INVALID_ARG, "%s needs a value", name);
    lc_sampler_params q = *p;
    long long n = 0;
    bool ok;
    switch ((sample_option)opt) {
    case OPT_TEMP: ok = parse_float(value, &q.temp); break;
    case OPT_TOP_K:
        ok = parse_ll(value, &n) && n >= INT32_MIN && n <= INT32_MAX;
        if (ok) q.top_k = (int32_t)n;
        break;
    case OPT_TOP_P: ok = parse_float(value, &q.top_p); break;
    case OPT_MIN_P: ok = parse_float(value, &q.min_p); break;
    case OPT_REPEAT_PENALTY: ok = parse_float(value, &q.repeat_penalty); break;
    case OPT_REPEAT_LAST_N:
        ok = parse_ll(value, &n) && n >= -1 && n <= INT32_MAX;
        if (ok) q.repeat_last_n = (int32_t)n;
        break;
    case OPT_FREQUENCY_PENALTY: ok = parse_float(value, &q.frequency_penalty); break;
    case OPT_PRESENCE_PENALTY: ok = parse_float(value, &q.presence_penalty); break;
    case OPT_SEED:
        if (strcmp(value, "-1") == 0) {
            q.seed = clock_seed();
            ok = true;
        } else {
            ok = parse_u64(value, &q.seed);
        }
        break;
    default: ok = false; break;
    }
    if (!ok) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: bad value '%s'", name, value);
    lc_error e2;
    if (lc_sampler_params_validate(&q, &e2) != LC_OK)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s %s: %s", name, value, e2.msg);
    *p = q;
    return LC_OK;
}

const char *lc_sampler_options_help(void) {
    return "  --temp T               temperature (default 0.8; 0 = greedy)\n"
           "  --top-k K              keep the K most likely tokens (default 40; 0 = off)\n"
           "  --top-p P              keep the smallest set reaching probability P (default 0.95; 1 = off)\n"
           "  --min-p P              drop tokens below P x the top probability (default 0.05; 0 = off)\n"
           "  --repeat-penalty R     penalise recent tokens (default 1.0 = off)\n"
           "  --repeat-last-n N      recent tokens penalised (default 64; 0 = off; -1 = 4096)\n"
           "  --frequency-penalty F  subtract F x count of each recent token (default 0)\n"
           "  --presence-penalty P   subtract P from each recent token (default 0)\n"
           "  --seed S               random seed (default 42; -1 = from the clock)\n";
}

const char *lc_sampler_describe(const lc_sampler_params *p, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!p) {
        snprintf(buf, len, "(no sampler params)");
        return buf;
    }
    int used;
    if (p->temp <= 0.0f) used = snprintf(buf, len, "greedy");
    else
        used = snprintf(buf, len, "temp=%g top_k=%d top_p=%g min_p=%g seed=%llu", (double)p->temp, p->top_k,
                        (double)p->top_p, (double)p->min_p, (unsigned long long)p->seed);
    if (used < 0 || (size_t)used >= len) return buf;
    if (p->repeat_last_n != 0 &&
        (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f))
        snprintf(buf + used, len - (size_t)used, " repeat_penalty=%g freq=%g presence=%g last_n=%d",
                 (double)p->repeat_penalty, (double)p->frequency_penalty, (double)p->presence_penalty,
                 p->repeat_last_n);
    return buf;
}
