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
/* The value after the flag at argv[*i]; advances *i. Prints an error and
 * returns NULL when missing. Accepts "--flag=value" too. */
const char *cli_value(int argc, char **argv, int *i, const char *cmd);

/* Numbers: integers accept K/M/G suffixes (x1024); return false on junk. */
bool cli_parse_i64(const char *s, int64_t *out);
bool cli_parse_int(const char *s, int *out);
bool cli_parse_float(const char *s, float *out);
bool cli_parse_double(const char *s, double *out);
/* Comma-separated integer list, e.g. "1K,4K,16384"; at most max entries. */
bool cli_parse_i64_list(const char *s, int64_t *out, int max, int *n);

/* Progress line on stderr (only when stderr is a terminal). */
typedef struct {
    double start;
    double last_draw;
    bool tty;
    bool drawn;
} cli_progress;

void cli_progress_init(cli_progress *p);
/* Redraw "\r<what> done/total (pct) elapsed ETA" at most 10 times a second. */
void cli_progress_update(cli_progress *p, double done, double total, const char *what);
/* Clear the line. */
void cli_progress_done(cli_progress *p);
/* An lc_progress_fn that draws through a cli_progress (user = cli_progress*). */
bool cli_progress_cb(void *user, double done, double total, const char *what);

/* Open a file for writing results ("-" means stdout). NULL + message on failure. */
FILE *cli_open_out(const char *path, const char *cmd);
void cli_close_out(FILE *f);

#endif
