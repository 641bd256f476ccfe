/* Human-readable sizes and durations, and sizes read back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

const char *lc_format_bytes(double bytes, char *buf, size_t len) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < (int)LC_ARRAY_LEN(units) - 1) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%.0f %s", bytes, units[u]);
    else snprintf(buf, len, "%.1f %s", bytes, units[u]);
    return buf;
}

bool lc_parse_bytes(const char *s, size_t *out) {
    if (!s || !out) return false;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return false;
    static const char units[] = "KMG";
    for (int u = 0; u < 3; u++)
        if (*end == units[u] || *end == units[u] + ('a' - 'A')) {
            for (int k = 0; k <= u; k++) v *= 1024.0;
            end++;
            break;
        }
    if (*end == 'i') end++;
    if (*end == 'B') end++;
    if (*end || v > (double)((size_t)1 << 50)) return false;
    *out = (size_t)v;
    return true;
}

const char *lc_format_duration(double s, char *buf, size_t len) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "?");
        return buf;
    }
    const long t = s < 1e15 ? (long)(s + 0.5) : (long)1e15;
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
    return buf;
}

const char *lc_join_args(const char *prog, int argc, char *const *argv, char *buf, size_t len) {
    if (!len) return buf;
    size_t used = (size_t)snprintf(buf, len, "%s", prog ? prog : "");
    for (int i = 0; i < argc && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", argv[i]);
    return buf;
}
