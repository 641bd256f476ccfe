/*
 * llama.cpp's flags, taken so that its users' scripts keep working (README,
 * "Coming from llama.cpp"). Those that mean nothing on this engine are
 * accepted with a one-line note on stderr saying so:
 *
 *   -ngl, --n-gpu-layers, --gpu-layers N   longctx runs on the CPU
 *   --mlock                                the model is not locked in memory
 *   --no-mmap                              real where the command loads through
 *                                          lc_model_load_opts.no_mmap (a GGUF read
 *                                          into private huge-page memory); a note
 *                                          where it does not (serve)
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
#include "opt.h"

bool cli_opt_gpu_layers(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_ignored(const cli_opt *o, const char *name, const char *v, const char *cmd);
/* --no-mmap: *(bool *)o->dst = true; a note when dst is NULL. */
bool cli_opt_no_mmap(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_color(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_flash_attn(const cli_opt *o, const char *name, const char *v, const char *cmd);

/* The entries; attn: the command's --attn spec (const char **; NULL when the
 * command has no --attn: -fa off is then a note too); no_mmap: the command's
 * lc_model_load_opts.no_mmap (bool *; NULL: --no-mmap is a note). */
#define CLI_LLAMA_OPTS(attn, no_mmap)                                                                                  \
    CLI_SECTION("llama.cpp's flags (README \"Coming from llama.cpp\"):"),                                              \
        CLI_FN("-ngl|--n-gpu-layers|--gpu-layers", "N", cli_opt_gpu_layers, NULL,                                      \
               "taken with a note: longctx runs on the CPU"),                                                          \
        CLI_FN("--mlock", NULL, cli_opt_ignored, NULL, "taken with a note: the model is not locked in memory"),        \
        CLI_FN("--no-mmap", NULL, cli_opt_no_mmap, (no_mmap),                                                          \
               "read a GGUF model into private huge-page memory instead of mapping\n"                                  \
               "it: a slower load, faster decode (a note where a command cannot)"),                                    \
        CLI_SWITCH("-co|--color", cli_opt_color, NULL, "taken with a note: the output is plain text"),                 \
        CLI_SWITCH("-fa|--flash-attn", cli_opt_flash_attn, (attn),                                                     \
                   "on/auto: longctx's default already; off: --attn naive where the\n"                                 \
                   "command has a choice of attention (and no --attn was given)")

#endif
