/*
 * llama.cpp's flags, taken so that its users' scripts keep working (README,
 * "Coming from llama.cpp"). Those that mean nothing on this engine are
 * accepted with a one-line note on stderr saying so:
 *
 *   -ngl, --n-gpu-layers, --gpu-layers N   longctx runs on the CPU
 *   --mlock                                the model is not locked in memory
 *   --no-mmap                              the model is always mapped read-only
 *   --color [on|off|auto]                  the output is plain text
 *   -fa, --flash-attn [on|off|auto]        on/auto: longctx's default already
 *                                          (flash, or the model's own attention);
 *                                          off: --attn naive where the command
 *                                          has --attn (and none was given)
 *
 * The flags that map onto longctx's own (-s, --prompt-cache, -sys, -r,
 * --keep) are aliases in the commands that have what they map to.
 */
#ifndef LC_CLI_LLAMA_FLAGS_H
#define LC_CLI_LLAMA_FLAGS_H

#include "cli.h"

/* If argv[*i] is one of the flags above, take it (and its value, advancing
 * *i) and return 1; -1 after a message when its value is bad or missing;
 * 0 when it is not one of them. attn: the command's --attn spec (NULL when
 * the command has no --attn: -fa off is then a note too). */
int cli_llama_flag(int argc, char **argv, int *i, const char *cmd, const char **attn);
/* Help lines for them. */
const char *cli_llama_flags_help(void);

#endif
