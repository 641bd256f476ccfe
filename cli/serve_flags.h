/* Option parsers shared by serve, bench serve and the --sp commands (defined in cmd_serve.c). */
#ifndef LC_CLI_SERVE_FLAGS_H
#define LC_CLI_SERVE_FLAGS_H

#include "opt.h"

/* A size in bytes with an optional K/M/G suffix (lc_parse_bytes) into a size_t, at least o->lo. */
bool cli_opt_bytes(const cli_opt *o, const char *name, const char *v, const char *cmd);
/* A CLI_SWITCH's [on|off|auto] into an int: 1, 0, -1 (lc_server_opts.decode_batch); with o->hi 1,
 * [on|off] into a bool. */
bool cli_opt_on_off(const cli_opt *o, const char *name, const char *v, const char *cmd);

#endif
