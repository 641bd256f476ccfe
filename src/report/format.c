/* Number formatting for the report's tables (report.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "longctx/report.h"

/* Drop trailing zeros of a decimal fraction: "8.00" -> "8", "18.60" -> "18.6". */
static void trim_zeros(char *s) {
    char *dot = strchr(s, '.');
    if (!dot) return;
    char *e = s + strlen(s) - 1;
    while (e > dot && *e == '0') *e-- = '\0';
    if (e == dot) *e = '\0';
}

/* v in [0, 1024): 3 significant digits (at least the integer part). */
static void three_digits(double v, char *buf, size_t len) {
    if (v >= 99.5) snprintf(buf, len, "%.0f", v);
    else if (v >= 9.995) snprintf(buf, len, "%.1f", v);
    else snprintf(buf, len, "%.2f", v);
    trim_zeros(buf);
}

const char *lc_report_fmt_bytes(double bytes, char *buf, size_t len) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    const int n_units = (int)(sizeof units / sizeof units[0]);
    if (!buf || len == 0) return buf;
    if (!isfinite(bytes) || bytes < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    int u = 0;
    while (bytes >= 1024.0 && u < n_units - 1) bytes /= 1024.0, u++;
    if (u == 0) {
        /* whole bytes; 1023.6 rounds up to the next unit */
        if (bytes >= 1023.5) snprintf(buf, len, "1 KiB");
        else snprintf(buf, len, "%.0f B", bytes);
        return buf;
    }
    char num[32];
    three_digits(bytes, num, sizeof num);
    if (strcmp(num, "1024") == 0 && u < n_units - 1) snprintf(num, sizeof num, "1"), u++;
    snprintf(buf, len, "%s %s", num, units[u]);
    return buf;
}

/* Digits of a non-negative integer with ',' every three. */
static void group_thousands(unsigned long long v, char *buf, size_t len) {
    char digits[32], out[48];
    snprintf(digits, sizeof digits, "%llu", v);
    size_t nd = strlen(digits), o = 0;
    for (size_t i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    snprintf(buf, len, "%s", out);
}

const char *lc_report_fmt_tokens(int64_t n, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (n < 0) snprintf(buf, len, "-");
    else if (n >= (1 << 20) && n % (1 << 20) == 0) snprintf(buf, len, "%lldM", (long long)(n >> 20));
    else if (n >= 1024 && n % 1024 == 0) snprintf(buf, len, "%lldK", (long long)(n >> 10));
    else group_thousands((unsigned long long)n, buf, len);
    return buf;
}

const char *lc_report_fmt_num(double v, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return buf;
    }
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);
    char num[48];
    if (a >= 999.5 && a < 9.2e18) group_thousands((unsigned long long)llround(a), num, sizeof num);
    else if (a >= 999.5) snprintf(num, sizeof num, "%.3g", a);
    else if (a >= 99.95) snprintf(num, sizeof num, "%.0f", a);
    else if (a >= 9.995) snprintf(num, sizeof num, "%.1f", a);
    else if (a >= 0.9995) snprintf(num, sizeof num, "%.2f", a);
    else if (a == 0.0) snprintf(num, sizeof num, "0"), sign = "";
    else snprintf(num, sizeof num, "%.3g", a);
    snprintf(buf, len, "%s%s", sign, num);
    return buf;
}

const char *lc_report_fmt_seconds(double s, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    char num[32];
    if (s < 1e-3) {
        snprintf(buf, len, "%.0f us", s * 1e6);
    } else if (s < 0.9995) {
        three_digits(s * 1e3, num, sizeof num);
        snprintf(buf, len, "%s ms", num);
    } else if (s < 59.95) {
        three_digits(s, num, sizeof num);
        snprintf(buf, len, "%s s", num);
    } else if (s < 3600) {
        long t = lround(s);
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    } else {
        long t = lround(s / 60.0);
        snprintf(buf, len, "%ldh%02ldm", t / 60, t % 60);
    }
    return buf;
}

const char *lc_report_fmt_pct(double frac, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    if (!isfinite(frac) || frac < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    double p = frac * 100.0;
    if (fabs(p - round(p)) < 0.05) snprintf(buf, len, "%.0f%%", round(p));
    else snprintf(buf, len, "%.1f%%", p);
    return buf;
}
