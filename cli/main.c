/* longctx — command-line entry point: dispatches to one subcommand. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* Command names are C identifiers in commands.def; on the command line an
 * underscore is spelled '-' (gen_data -> gen-data). Both spellings work. */
static bool name_matches(const char *arg, const char *name) {
    for (; *arg && *name; arg++, name++)
        if (*arg != *name && !(*name == '_' && *arg == '-')) return false;
    return *arg == '\0' && *name == '\0';
}

static void print_name(FILE *f, const char *name) {
    char buf[32];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof buf; i++) buf[i] = name[i] == '_' ? '-' : name[i];
    buf[i] = '\0';
    fprintf(f, "  %-10s ", buf);
}

static void usage(FILE *f) {
    fprintf(f,
            "longctx %s — long-context transformer inference, training and evaluation on CPUs\n\n"
            "usage: longctx COMMAND [options]   (longctx COMMAND --help for each)\n\ncommands:\n",
            LONGCTX_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s", commands[i].name);
        for (char *c = name; *c; c++)
            if (*c == '_') *c = '-';
        fprintf(f, "  %-10s %s\n", name, commands[i].summary);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || cli_is(argv[1], "-h", "--help") || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (cli_is(argv[1], NULL, "--version") || strcmp(argv[1], "version") == 0) {
        printf("longctx %s\n", LONGCTX_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (command_is(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "longctx: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
