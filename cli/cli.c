/* Shared CLI helpers. */
#include <errno.h>
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
        const int d = lc_typo_distance(w, lw, p, len);
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
