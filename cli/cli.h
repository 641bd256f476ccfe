/*
 * Shared helpers of the longctx CLI: argument parsing, progress line, output.
 * Every subcommand is `int cmd_NAME(int argc, char **argv)` in cli/cmd_NAME.c
 * (argv[0] is the subcommand name) and is listed in cli/main.c.
 */
#ifndef LC_CLI_H
#define LC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "longctx/common.h"
#include "longctx/util.h"

/* Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Print "longctx CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print the library error (status and message) and return CLI_FAIL. */
int cli_fail(const char *cmd, const lc_error *err);

/* True if argv[*i] equals one of the given names (short may be NULL). */
bool cli_is(const char *arg, const char *short_name, const char *long_name);

/* The nearest of n words to w by edit distance (close enough to be a typo,
 * as above), or NULL: lc_nearest_word. */
static inline const char *cli_nearest(const char *w, const char *const *words, int n) {
    return lc_nearest_word(w, words, n);
}

/* Numbers. Every numeric flag goes through the library's lc_parse_i64_in or
 * lc_parse_double_in (the whole string, integers with an optional K/M/G
 * suffix, inside an explicit [lo, hi]). Flags without a bound of their own
 * take integers within +-CLI_INT_LIMIT (2^40: past any count of tokens, bytes
 * or steps a machine holds) and reals within +-CLI_REAL_LIMIT (finite, and a
 * float when parsed into one). */
#define CLI_INT_LIMIT ((int64_t)1 << 40)
#define CLI_REAL_LIMIT 1e30
/* Benchmarks: repetitions and timed iterations per pass. */
#define CLI_MAX_REPS 1000
#define CLI_MAX_ITERS ((int64_t)1 << 24)
/* Comma-separated integer list, e.g. "1K,4K,16384"; at most max entries. */
static inline bool cli_parse_i64_list(const char *s, int64_t *out, int max, int *n) {
    return lc_parse_i64_list(s, -CLI_INT_LIMIT, CLI_INT_LIMIT, out, max, n);
}
/* Parse flag's value v into [lo, hi]; on failure print "FLAG: V is not an
 * integer in LO..HI" (cmd-prefixed) and return false. */
bool cli_int_flag(const char *cmd, const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out);

/* The progress line on stderr (only when stderr is a terminal): the
 * library's lc_progress_line, "\r<what> done/total (pct) elapsed ETA" at most
 * 10 times a second; cli_progress_done clears it; cli_progress_cb is an
 * lc_progress_fn (user = cli_progress*). */
typedef lc_progress_line cli_progress;
static inline void cli_progress_init(cli_progress *p) { lc_progress_line_init(p, stderr); }
static inline void cli_progress_update(cli_progress *p, double done, double total, const char *what) {
    lc_progress_line_update(p, done, total, what);
}
static inline void cli_progress_done(cli_progress *p) { lc_progress_line_clear(p); }
static inline bool cli_progress_cb(void *user, double done, double total, const char *what) {
    return lc_progress_line_cb(user, done, total, what);
}

/* Open a file for writing results ("-" means stdout). NULL + message on failure. */
FILE *cli_open_out(const char *path, const char *cmd);
void cli_close_out(FILE *f);

#endif
