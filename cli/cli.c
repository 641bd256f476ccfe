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

bool cli_int_flag(const char *cmd, const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out) {
    if (lc_parse_i64_in(v, lo, hi, out)) return true;
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
