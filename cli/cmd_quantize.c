/* longctx quantize — a GGUF model to a quantized GGUF (library:
 * lc_quantize_gguf, longctx/quant.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "commands.h"
#include "longctx/quant.h"

static const char synopsis[] =
    "usage: longctx quantize IN.gguf OUT.gguf TYPE [--pure] [--allow-requantize] [-t N]\n\n"
    "Write IN's tensors as TYPE with llama.cpp's per-tensor rules (llama-quantize's\n"
    "choices without an importance matrix); every metadata key is kept. TYPE:\n"
    "  Q4_0 Q4_1 Q5_0 Q5_1   matrices that type, output.weight Q6_K\n"
    "  Q8_0 Q6_K             every matrix that type\n"
    "  Q4_K_M Q5_K_M         Q4_K / Q5_K, with output, and attn_v and ffn_down in half\n"
    "                        the layers, Q6_K (Q4_K and Q5_K are aliases)\n"
    "  F16 BF16 F32          every matrix that type\n"
    "Norms and other 1-D tensors are copied. Rows that are not whole blocks fall back\n"
    "(Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, then F16). The file is written to a\n"
    "temporary name and renamed, never left half-written.\n\n";

int cmd_quantize(int argc, char **argv) {
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    lc_quantize_opts o;
    lc_quantize_opts_init(&o);
    bool pure = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_SET("--pure", &pure, "every matrix TYPE (no output / _M rules)"),
        CLI_SET("--allow-requantize", &o.allow_requantize, "accept input tensors that are already quantized"),
        CLI_INT("-t|--threads", "N", &o.n_threads, 1, INT32_MAX, "threads (default: all CPUs)"),
    };
    const cli_opt_spec ospec = CLI_SPEC_POS("quantize", synopsis, NULL, opts, pos, 3, &n_pos);
    const int prc = cli_opt_parse(&ospec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (n_pos != 3) {
        cli_opt_help(&ospec, stderr);
        return CLI_USAGE;
    }
    lc_error err;
    lc_quant_spec spec;
    if (lc_quant_spec_parse(pos[2], &spec, &err) != LC_OK) {
        cli_error("quantize", "%s", err.msg);
        return CLI_USAGE;
    }
    spec.pure = spec.pure || pure;
    cli_progress prog;
    cli_progress_init(&prog);
    o.progress = cli_progress_cb;
    o.progress_user = &prog;
    lc_quantize_report rep;
    const lc_status st = lc_quantize_gguf(pos[0], pos[1], &spec, &o, &rep, &err);
    cli_progress_done(&prog);
    if (st != LC_OK) return cli_fail("quantize", &err);
    lc_quantize_report_print(stdout, pos[1], &spec, &rep);
    return CLI_OK;
}
