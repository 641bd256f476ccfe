/* Numbers from untrusted text (util.h): the whole string, decimal, an
 * optional binary K/M/G suffix on integers, inside explicit bounds. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

bool lc_parse_i64_in(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (errno || end == s) return false;
    int64_t mult = 1, r;
    if (*end == 'K' || *end == 'k') mult = (int64_t)1 << 10, end++;
    else if (*end == 'M' || *end == 'm') mult = (int64_t)1 << 20, end++;
    else if (*end == 'G' || *end == 'g') mult = (int64_t)1 << 30, end++;
    if (*end != '\0' || !lc_mul_ok((int64_t)v, mult, lo, hi, &r)) return false;
    *out = r;
    return true;
}

bool lc_parse_double_in(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    /* ERANGE on underflow (1e-400) is a tiny number, not an error */
    if ((errno && !(errno == ERANGE && fabs(v) <= 1.0)) || end == s || *end != '\0' || !isfinite(v) || v < lo ||
        v > hi)
        return false;
    *out = v;
    return true;
}

bool lc_parse_i64_list(const char *s, int64_t lo, int64_t hi, int64_t *out, int max, int *n) {
    *n = 0;
    if (!s || !*s) return false;
    char buf[32];
    while (*s) {
        const char *c = strchr(s, ',');
        const size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len == 0 || len >= sizeof buf || *n >= max) return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (!lc_parse_i64_in(buf, lo, hi, &out[*n])) return false;
        (*n)++;
        s += len;
        if (*s == ',') s++;
    }
    return *n > 0;
}

/* ---- Typos ------------------------------------------------------------------ */

#define WORD_MAX 64

int lc_edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    if (la > WORD_MAX || lb > WORD_MAX) return -1;
    int d[WORD_MAX + 1][WORD_MAX + 1];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

int lc_typo_distance(const char *w, size_t lw, const char *c, size_t lc) {
    if (lw == 0 || lc == 0) return -1;
    const int dist = lc_edit_distance(w, lw, c, lc);
    return dist > 0 && 3 * (size_t)dist <= (lw > lc ? lw : lc) ? dist : -1;
}

const char *lc_nearest_word(const char *w, const char *const *words, int n) {
    const char *best = NULL;
    int best_d = -1;
    for (int i = 0; w && i < n; i++) {
        const int d = lc_typo_distance(w, strlen(w), words[i], strlen(words[i]));
        if (d >= 0 && (best_d < 0 || d < best_d)) best = words[i], best_d = d;
    }
    return best;
}
