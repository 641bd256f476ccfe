/* Shared CLI helpers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "longctx/util.h"
#include "longctx/sys.h"

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "longctx %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(const char *cmd, const lc_error *err) {
    fprintf(stderr, "longctx %s: error (%s): %s\n", cmd, lc_status_str(err->status), err->msg);
    return CLI_FAIL;
}

bool cli_is(const char *arg, const char *short_name, const char *long_name) {
    if (short_name && strcmp(arg, short_name) == 0) return true;
    if (!long_name) return false;
    size_t l = strlen(long_name);
    return strncmp(arg, long_name, l) == 0 && (arg[l] == '\0' || arg[l] == '=');
}

/* ---- "did you mean" -------------------------------------------------------- */

#define NAME_MAX_LEN 64

/* Optimal-string-alignment distance (insertions, deletions, substitutions
 * and swaps of neighbours: "--tmep" is one from "--temp"). */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    int d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
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

/* The distance of a candidate when it is close enough to be a typo of w (at
 * most a third of the longer of the two), else -1. */
static int typo_distance(const char *w, size_t lw, const char *c, size_t lc) {
    if (lw == 0 || lc == 0 || lw > NAME_MAX_LEN || lc > NAME_MAX_LEN) return -1;
    const int dist = edit_distance(w, lw, c, lc);
    return dist > 0 && 3 * (size_t)dist <= (lw > lc ? lw : lc) ? dist : -1;
}

const char *cli_nearest(const char *w, const char *const *words, int n) {
    const char *best = NULL;
    int best_d = -1;
    for (int i = 0; w && i < n; i++) {
        const int d = typo_distance(w, strlen(w), words[i], strlen(words[i]));
        if (d >= 0 && (best_d < 0 || d < best_d)) best = words[i], best_d = d;
    }
    return best;
}

static bool flag_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The nearest flag a help text names ("-m", "--model", "-ctk": a '-' after
 * a blank, '(' ',' '|' or '[', then an optional '-' and a letter) into out. */
static bool nearest_flag(const char *help, const char *w, size_t lw, char *out, size_t cap) {
    int best_d = -1;
    for (const char *p = help; *p; p++) {
        const char prev = p == help ? ' ' : p[-1];
        if (*p != '-' || !(prev == ' ' || prev == '\n' || prev == '(' || prev == ',' || prev == '|' || prev == '['))
            continue;
        const char *q = p + 1 + (p[1] == '-');
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))) continue;
        while (flag_char(*q)) q++;
        size_t len = (size_t)(q - p);
        while (len > 0 && p[len - 1] == '-') len--;
        const int d = typo_distance(w, lw, p, len);
        if (d >= 0 && (best_d < 0 || d < best_d) && len < cap) {
            memcpy(out, p, len);
            out[len] = '\0';
            best_d = d;
        }
        p = q - 1;
    }
    return best_d >= 0;
}

int cli_unknown_option_in(const char *cmd, const char *arg, const char *help) {
    if (arg[0] != '-' || arg[1] == '\0') {
        cli_error(cmd, "unexpected argument '%s' (longctx %s --help lists the options)", arg, cmd);
        return CLI_USAGE;
    }
    const size_t lw = strcspn(arg, "="); /* --tmep=0.5: the name */
    char near[NAME_MAX_LEN + 1];
    if (help && nearest_flag(help, arg, lw, near, sizeof near))
        cli_error(cmd, "unknown option '%.*s' (did you mean %s?)", (int)lw, arg, near);
    else cli_error(cmd, "unknown option '%.*s' (longctx %s --help lists the options)", (int)lw, arg, cmd);
    return CLI_USAGE;
}

bool cli_parse_i64_in(const char *s, int64_t lo, int64_t hi, int64_t *out) {
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

bool cli_parse_double_in(const char *s, double lo, double hi, double *out) {
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

bool cli_parse_i64(const char *s, int64_t *out) { return cli_parse_i64_in(s, -CLI_INT_LIMIT, CLI_INT_LIMIT, out); }

bool cli_parse_int(const char *s, int *out) {
    int64_t v;
    if (!cli_parse_i64_in(s, INT32_MIN, INT32_MAX, &v)) return false;
    *out = (int)v;
    return true;
}

bool cli_parse_double(const char *s, double *out) { return cli_parse_double_in(s, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, out); }

bool cli_int_flag(const char *cmd, const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out) {
    if (cli_parse_i64_in(v, lo, hi, out)) return true;
    cli_error(cmd, "%s: '%s' is not an integer in %lld..%lld", flag, v ? v : "", (long long)lo, (long long)hi);
    return false;
}

bool cli_parse_i64_list(const char *s, int64_t *out, int max, int *n) {
    *n = 0;
    if (!s || !*s) return false;
    char buf[32];
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len == 0 || len >= sizeof buf || *n >= max) return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (!cli_parse_i64(buf, &out[*n])) return false;
        (*n)++;
        s += len;
        if (*s == ',') s++;
    }
    return *n > 0;
}

void cli_progress_init(cli_progress *p) {
    memset(p, 0, sizeof *p);
    p->start = lc_time_now();
    p->tty = isatty(STDERR_FILENO) == 1;
}

void cli_fmt_duration(double s, char *buf, size_t len) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

void cli_progress_update(cli_progress *p, double done, double total, const char *what) {
    if (!p->tty) return;
    double now = lc_time_now();
    if (p->drawn && now - p->last_draw < 0.1 && done < total) return;
    p->last_draw = now;
    p->drawn = true;
    double el = now - p->start;
    double eta = done > 0 ? el * (total - done) / done : NAN;
    char e1[48], e2[48];
    cli_fmt_duration(el, e1, sizeof e1);
    cli_fmt_duration(eta, e2, sizeof e2);
    fprintf(stderr, "\r\033[K%s %.0f/%.0f (%.0f%%) elapsed %s ETA %s", what ? what : "", done, total,
            total > 0 ? 100.0 * done / total : 0.0, e1, e2);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p) {
    if (p->tty && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = false;
}

bool cli_progress_cb(void *user, double done, double total, const char *what) {
    cli_progress_update((cli_progress *)user, done, total, what);
    return true;
}

FILE *cli_open_out(const char *path, const char *cmd) {
    if (strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) cli_error(cmd, "cannot write %s: %s", path, strerror(errno));
    return f;
}

void cli_close_out(FILE *f) {
    if (f && f != stdout) fclose(f);
    else if (f) fflush(f);
}
