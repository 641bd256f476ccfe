/* KV policy names and the --kv-policy spec parser (runtime.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kv_cache.h"

static const char *const policy_names[LC_KV_POLICY_COUNT] = {"full", "window", "sinks", "shift", "h2o"};

const char *lc_kv_policy_name(lc_kv_policy p) {
    return (unsigned)p < LC_KV_POLICY_COUNT ? policy_names[p] : "?";
}

/* A non-negative count with an optional K/M suffix (x1024); false on junk. */
static bool parse_count(const char *s, size_t len, int64_t *out) {
    if (len == 0 || len > 20) return false;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] < '0' || buf[0] > '9') return false;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || v < 0) return false;
    int64_t mult = 1;
    if (*end == 'K' || *end == 'k') mult = 1024, end++;
    else if (*end == 'M' || *end == 'm') mult = 1024 * 1024, end++;
    if (*end != '\0') return false;
    return lc_mul_i64(v, mult, out) && *out <= ((int64_t)1 << 40);
}

lc_status lc_kv_policy_parse(const char *spec, lc_context_opts *o, lc_error *err) {
    if (!spec || !o) return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy: NULL argument");
    const char *f[5];
    size_t len[5];
    int n = 0;
    const char *p = spec;
    for (;;) {
        if (n == 5) return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy '%s': too many ':' fields", spec);
        const char *c = strchr(p, ':');
        f[n] = p;
        len[n] = c ? (size_t)(c - p) : strlen(p);
        n++;
        if (!c) break;
        p = c + 1;
    }
    int kind = -1;
    for (int i = 0; i < LC_KV_POLICY_COUNT; i++)
        if (strlen(policy_names[i]) == len[0] && strncmp(f[0], policy_names[i], len[0]) == 0) kind = i;
    if (kind < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "unknown KV policy '%s' (expected full, window:W, sinks:S:W, shift:KEEP, h2o:S:R:H)", spec);
    static const int n_fields[LC_KV_POLICY_COUNT] = {1, 2, 3, 2, 4};
    static const char *const forms[LC_KV_POLICY_COUNT] = {"full", "window:W", "sinks:S:W", "shift:KEEP",
                                                          "h2o:S:R:H"};
    int64_t v[4] = {0, 0, 0, 0};
    bool ok = n == n_fields[kind];
    for (int i = 1; ok && i < n; i++) ok = parse_count(f[i], len[i], &v[i - 1]);
    if (!ok)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy '%s': expected %s with non-negative counts", spec,
                       forms[kind]);
    lc_context_opts t = *o;
    t.kv_policy = (lc_kv_policy)kind;
    t.kv_n_sinks = t.kv_window = t.kv_n_keep = t.kv_n_heavy = 0;
    switch ((lc_kv_policy)kind) {
    case LC_KV_POLICY_WINDOW: t.kv_window = v[0]; break;
    case LC_KV_POLICY_SINKS:
        t.kv_n_sinks = v[0];
        t.kv_window = v[1];
        break;
    case LC_KV_POLICY_SHIFT: t.kv_n_keep = v[0]; break;
    case LC_KV_POLICY_H2O:
        t.kv_n_sinks = v[0];
        t.kv_window = v[1];
        t.kv_n_heavy = v[2];
        break;
    default: break;
    }
    if ((kind == LC_KV_POLICY_WINDOW || kind == LC_KV_POLICY_SINKS) && t.kv_window < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy '%s': the window must be at least 1", spec);
    if (kind == LC_KV_POLICY_H2O && t.kv_window + t.kv_n_heavy < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "KV policy '%s': R + H must be at least 1", spec);
    *o = t;
    return LC_OK;
}
