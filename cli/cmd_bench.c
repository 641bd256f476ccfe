/* longctx bench SUBJECT — dispatches to the benchmark subjects (bench_subjects.def). */
#include <string.h>

#include "cli.h"
#include "bench_subjects.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subject;

static const subject subjects[] = {
#define LC_BENCH_SUBJECT(name, summary) {#name, bench_##name, summary},
#include "bench_subjects.def"
#undef LC_BENCH_SUBJECT
};

static void usage(FILE *f) {
    fprintf(f, "usage: longctx bench SUBJECT [options]   (longctx bench SUBJECT --help)\n\nsubjects:\n");
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        fprintf(f, "  %-8s %s\n", subjects[i].name, subjects[i].summary);
    fprintf(f, "\nBenchmarks state every throughput as a fraction of `longctx bench peak`, measured on this machine.\n");
}

int bench_report(const char *cmd, bool json, lc_status st, lc_error *err, lc_table *info, const char *key,
                 lc_table *rows) {
    if (st == LC_OK) st = lc_table_report(stdout, json ? LC_TABLE_JSON : LC_TABLE_TEXT, info, key, rows, err);
    lc_table_free(info);
    lc_table_free(rows);
    return st == LC_OK ? CLI_OK : cli_fail(cmd, err);
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || cli_is(argv[1], "-h", "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        if (strcmp(argv[1], subjects[i].name) == 0) return subjects[i].run(argc - 1, argv + 1);
    enum { N_SUBJECTS = sizeof subjects / sizeof subjects[0] };
    const char *names[N_SUBJECTS];
    for (size_t i = 0; i < N_SUBJECTS; i++) names[i] = subjects[i].name;
    const char *near = cli_nearest(argv[1], names, N_SUBJECTS);
    if (near) cli_error("bench", "unknown subject '%s' (did you mean %s?)", argv[1], near);
    else cli_error("bench", "unknown subject '%s' (longctx bench --help lists them)", argv[1]);
    return CLI_USAGE;
}
