/* llama.cpp's flags that mean nothing here, or map to longctx's (llama_flags.h). */
#include <string.h>

#include "llama_flags.h"

/* on|off|auto, or llama-bench's 1|0: "on", "off", "auto"; NULL otherwise. */
static const char *switch_word(const char *v) {
    if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0) return "on";
    if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) return "off";
    return strcmp(v, "auto") == 0 ? "auto" : NULL;
}

/* An optional on|off|auto (or 1|0) after the flag: "--flash-attn=off",
 * "-fa off", "-fa 1", or nothing (on). NULL after a message when the value
 * is something else. */
static const char *switch_value(int argc, char **argv, int *i, const char *cmd) {
    const char *a = argv[*i], *eq = a[0] == '-' && a[1] == '-' ? strchr(a, '=') : NULL;
    if (eq) {
        const char *w = switch_word(eq + 1);
        if (!w) cli_error(cmd, "%.*s: '%s' is not on, off or auto", (int)(eq - a), a, eq + 1);
        return w;
    }
    const char *w = *i + 1 < argc ? switch_word(argv[*i + 1]) : NULL;
    if (!w) return "on";
    ++*i;
    return w;
}

/* -ngl's value: a layer count (llama.cpp: -1 or more), "auto" or "all". */
static bool gpu_layers_ok(const char *v) {
    int64_t n;
    return strcmp(v, "auto") == 0 || strcmp(v, "all") == 0 || cli_parse_i64_in(v, -1, CLI_INT_LIMIT, &n);
}

int cli_llama_flag(int argc, char **argv, int *i, const char *cmd, const char **attn) {
    const char *a = argv[*i];
    if (cli_is(a, "-ngl", "--n-gpu-layers") || cli_is(a, NULL, "--gpu-layers")) {
        const char *v = cli_value(argc, argv, i, cmd);
        if (!v) return -1;
        if (!gpu_layers_ok(v)) {
            cli_error(cmd, "%.*s: '%s' is not a layer count", (int)strcspn(a, "="), a, v);
            return -1;
        }
        cli_error(cmd, "note: %.*s %s: longctx runs on the CPU; ignored", (int)strcspn(a, "="), a, v);
    } else if (cli_is(a, NULL, "--mlock")) {
        cli_error(cmd, "note: --mlock: longctx does not lock the model in memory; ignored");
    } else if (cli_is(a, NULL, "--no-mmap")) {
        cli_error(cmd, "note: --no-mmap: longctx always maps the model read-only (pages load as they are used); "
                       "ignored");
    } else if (cli_is(a, "-co", "--color")) {
        const char *v = switch_value(argc, argv, i, cmd);
        if (!v) return -1;
        cli_error(cmd, "note: --color %s: longctx prints plain text; ignored", v);
    } else if (cli_is(a, "-fa", "--flash-attn")) {
        const char *v = switch_value(argc, argv, i, cmd);
        if (!v) return -1;
        const char *name = a[1] == '-' ? "--flash-attn" : "-fa";
        if (strcmp(v, "off") != 0)
            cli_error(cmd, "note: %s %s: longctx uses flash attention by default (or the attention the model was "
                           "trained with); nothing to change", name, v);
        else if (!attn)
            cli_error(cmd, "note: %s off: longctx %s has no choice of attention method; ignored", name, cmd);
        else if (*attn)
            cli_error(cmd, "note: %s off: --attn %s was given; ignored", name, *attn);
        else {
            *attn = "naive";
            cli_error(cmd, "note: %s off: using --attn naive (attention without the flash kernel)", name);
        }
    } else {
        return 0;
    }
    return 1;
}

const char *cli_llama_flags_help(void) {
    return "  llama.cpp's -ngl, --n-gpu-layers, --gpu-layers N, --mlock, --no-mmap, --color [on|off|auto] and\n"
           "  -fa, --flash-attn [on|off|auto] are taken with a note (-fa off: naive attention where the command\n"
           "  has a choice); README \"Coming from llama.cpp\" has the table\n";
}
