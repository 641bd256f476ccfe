/* longctx info MODEL — what a model file holds: format, shapes, parameters,
 * tensor types, context, RoPE, attention, tokenizer, KV-cache cost. Also
 * lists the metadata of any GGUF, vocabulary-only files included. The summary
 * is the library's (longctx/model_info.h). */
#include "cli.h"
#include "opt.h"
#include "commands.h"
#include "longctx/gguf.h"
#include "longctx/model_info.h"

static const char synopsis[] =
    "usage: longctx info MODEL [options]\n\n"
    "Describe a model (GGUF or llama2.c .bin) or a vocabulary-only GGUF.\n\n";

int cmd_info(int argc, char **argv) {
    const char *path = NULL, *tok = NULL;
    bool json = false, kv = false;
    const char *pos[2] = {NULL, NULL};
    int n_pos = 0;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &path, "the model (or give it as the first argument)"),
        CLI_STR("-z|--tokenizer", "PATH", &tok, "llama2.c tokenizer.bin for a .bin model"),
        CLI_SET("--kv", &kv, "also list every GGUF metadata key"),
        CLI_SET("--json", &json, "one JSON object on stdout"),
    };
    const cli_opt_spec spec = CLI_SPEC_POS("info", synopsis, NULL, opts, pos, 2, &n_pos);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (n_pos + (path != NULL) > 1) {
        cli_error("info", "one model at a time (got %s and %s)", path ? path : pos[0], path ? pos[0] : pos[1]);
        return CLI_USAGE;
    }
    if (n_pos) path = pos[0];
    if (!path) {
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    if (tok && lc_gguf_file_has_magic(path))
        cli_error("info", "note: -z is for llama2.c models; the GGUF's own tokenizer is used");
    lc_error err;
    if (lc_model_info_write_file(stdout, path, tok, json, kv, &err) != LC_OK) return cli_fail("info", &err);
    return CLI_OK;
}
