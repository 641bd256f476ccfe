/* llama.cpp's flags that mean nothing here, or map to longctx's (llama_flags.h). */
#include <string.h>

#include "llama_flags.h"

/* -ngl's value: a layer count (llama.cpp: -1 or more), "auto" or "all". */
bool cli_opt_gpu_layers(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o;
    int64_t n;
    if (strcmp(v, "auto") != 0 && strcmp(v, "all") != 0 && !lc_parse_i64_in(v, -1, CLI_INT_LIMIT, &n)) {
        cli_error(cmd, "%s: '%s' is not a layer count", name, v);
        return false;
    }
    cli_error(cmd, "note: %s %s: longctx runs on the CPU; ignored", name, v);
    return true;
}

bool cli_opt_ignored(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o, (void)v;
    if (strcmp(name, "--mlock") == 0) cli_error(cmd, "note: --mlock: longctx does not lock the model in memory; ignored");
    else
        cli_error(cmd, "note: %s: this command maps the model read-only (pages load as they are used); ignored", name);
    return true;
}

bool cli_opt_no_mmap(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (!o->dst) return cli_opt_ignored(o, name, v, cmd);
    *(bool *)o->dst = true;
    return true;
}

bool cli_opt_color(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o, (void)name;
    cli_error(cmd, "note: --color %s: longctx prints plain text; ignored", v);
    return true;
}

bool cli_opt_flash_attn(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const char **attn = o->dst;
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
    return true;
}
