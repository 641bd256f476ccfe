/* longctx bench SUBJECT — dispatches to the benchmark subjects. */
#include <string.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx bench SUBJECT [options]\n\n"
            "subjects:\n"
            "  (none implemented yet)\n");
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || cli_is(argv[1], "-h", "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    cli_error("bench", "unknown subject '%s'", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
