/* longctx quantize — a GGUF model to a quantized GGUF (library:
 * lc_quantize_gguf, longctx/quant.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/quant.h"
#include "longctx/sys.h"

static void usage(FILE *f) {
    fprintf(f,
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
            "temporary name and renamed, never left half-written.\n\n"
            "options:\n"
            "  --pure                 every matrix TYPE (no output / _M rules)\n"
            "  --allow-requantize     accept input tensors that are already quantized\n"
            "  -t, --threads N        threads (default: all CPUs)\n"
            "  -h, --help             this help\n");
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    lc_quantize_opts o;
    lc_quantize_opts_init(&o);
    bool pure = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        bool ok = true;
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, NULL, "--pure")) pure = true;
        else if (cli_is(a, NULL, "--allow-requantize")) o.allow_requantize = true;
        else if (cli_is(a, "-t", "--threads")) ok = (v = cli_value(argc, argv, &i, "quantize")) && cli_parse_int(v, &o.n_threads) && o.n_threads >= 1;
        else if (a[0] == '-' && a[1]) {
            return cli_unknown_option("quantize", a, usage);
        } else if (n_pos < 3) pos[n_pos++] = a;
        else {
            cli_error("quantize", "too many arguments (%s)", a);
            return CLI_USAGE;
        }
        if (!ok) {
            cli_error("quantize", "bad or missing value for %s%s%s", a, v ? ": " : "", v ? v : "");
            return CLI_USAGE;
        }
    }
    if (n_pos != 3) {
        usage(stderr);
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
    double t0 = lc_time_now();
    lc_status st = lc_quantize_gguf(pos[0], pos[1], &spec, &o, &rep, &err);
    cli_progress_done(&prog);
    if (st != LC_OK) return cli_fail("quantize", &err);
    printf("wrote %s: %s%s, %lld tensors (%lld quantized, %lld fallbacks), %.2f MB -> %.2f MB, %.2f s\n", pos[1],
           spec.name, spec.pure ? " (pure)" : "", (long long)rep.n_tensors, (long long)rep.n_quantized,
           (long long)rep.n_fallback, (double)rep.bytes_in / 1e6, (double)rep.bytes_out / 1e6, lc_time_now() - t0);
    printf("tensor types:");
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (rep.count[t]) printf(" %s %lld", lc_dtype_name((lc_dtype)t), (long long)rep.count[t]);
    printf("\n");
    return CLI_OK;
}
