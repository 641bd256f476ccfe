/* Prototypes of the `longctx bench` subjects listed in bench_subjects.def, and
 * the printing they share (cmd_bench.c). */
#ifndef LC_CLI_BENCH_SUBJECTS_H
#define LC_CLI_BENCH_SUBJECTS_H

#include "longctx/table.h"

#define LC_BENCH_SUBJECT(name, summary) int bench_##name(int argc, char **argv);
#include "bench_subjects.def"
#undef LC_BENCH_SUBJECT

/* --reps R of the micro-benchmarks that report the best of R timed passes
 * (an option-table entry, opt.h; dst: int). */
#define BENCH_BEST_OF_OPT(dst_)                                                                                        \
    CLI_INT("--reps", "R", (dst_), 1, CLI_MAX_REPS, "repetitions, best reported (default 5)")

/* The result of a subject: st says how making the tables went (err why,
 * when not LC_OK), then lc_table_report on stdout (JSON when json); info
 * and rows freed either way. CLI_OK, or CLI_FAIL after saying why. */
int bench_report(const char *cmd, bool json, lc_status st, lc_error *err, lc_table *info, const char *key,
                 lc_table *rows);

#endif
