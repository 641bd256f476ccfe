/* Prototypes of every subcommand listed in commands.def. */
#ifndef LC_CLI_COMMANDS_H
#define LC_CLI_COMMANDS_H

#define LONGCTX_VERSION_STRING "0.1.0"

#define LC_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef LC_COMMAND

#endif
