/* longctx — command-line entry point: dispatches to one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
#define LC_COMMAND(name, summary) {#name, cmd_##name, summary},
#include "commands.def"
#undef LC_COMMAND
};

/* Command names are C identifiers: "gen_data" is typed (and listed) as "gen-data". */
static bool command_is(const char *arg, const char *name) {
    for (; *arg && *name; arg++, name++)
        if (*arg != *name && !(*arg == '-' && *name == '_')) return false;
    return *arg == *name;
}

enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* Command i as typed: gen_data is "gen-data". */
static const char *typed_name(size_t i, char name[32]) {
    snprintf(name, 32, "%s", commands[i].name);
    for (char *c = name; *c; c++)
        if (*c == '_') *c = '-';
    return name;
}

static void usage(FILE *f) {
    fprintf(f,
            "longctx %s — long-context transformer inference, training and evaluation on CPUs\n\n"
            "usage: longctx COMMAND [options]   (longctx COMMAND --help for each)\n\ncommands:\n",
            LONGCTX_VERSION_STRING);
    char name[32];
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", typed_name(i, name), commands[i].summary);
}

/* Speed that survives a shared machine. libgomp's default wait spins ~300,000 iterations in every
 * barrier; when another process takes one of the cores, the threads spin against each other and a
 * decode step can take 100x longer. Sleeping at once (OMP_WAIT_POLICY=PASSIVE, this CLI's default
 * until 2026-12-08) pays a futex wake-up for each of the ~80 parallel regions of a decode step.
 * A bounded spin, GOMP_SPINCOUNT=1000 (some microseconds, then sleep), was faster in every case
 * measured (docs/performance.md: quiet, beside 2 and beside 6 busy processes). libgomp reads the
 * variables when it is loaded, before main, so the CLI sets them and executes itself once more;
 * KMP_BLOCKTIME=0 keeps LLVM's libomp (a clang build) sleeping at once as before. A user's
 * OMP_WAIT_POLICY, GOMP_SPINCOUNT or KMP_BLOCKTIME is kept, and LONGCTX_OMP_DEFAULTS=1 keeps the
 * OpenMP defaults. If the exec fails the run goes on as is. */
static void reexec_with_bounded_spin(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("KMP_BLOCKTIME") ||
        getenv("LONGCTX_OMP_DEFAULTS"))
        return;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0 || setenv("KMP_BLOCKTIME", "0", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed: do not tell children settings this process lacks */
    unsetenv("GOMP_SPINCOUNT");
    unsetenv("KMP_BLOCKTIME");
}

int main(int argc, char **argv) {
    reexec_with_bounded_spin(argv);
    if (argc < 2 || cli_is(argv[1], "-h", "--help") || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (cli_is(argv[1], NULL, "--version") || strcmp(argv[1], "version") == 0) {
        printf("longctx %s\n", LONGCTX_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (command_is(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    char names[N_COMMANDS][32];
    const char *words[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++) words[i] = typed_name(i, names[i]);
    const char *near = lc_nearest_word(argv[1], words, N_COMMANDS);
    if (near) fprintf(stderr, "longctx: unknown command '%s' (did you mean %s?)\n", argv[1], near);
    else fprintf(stderr, "longctx: unknown command '%s' (longctx --help lists them)\n", argv[1]);
    return CLI_USAGE;
}
