/*
 * longctx bench rope — cost of RoPE per token: building the cos/sin table,
 * rotating q/k heads from the table (AVX2 and scalar kernels, both layouts),
 * and rotating positions computed on the fly (past the table, or dynamic
 * NTK past the original context). Best of several repetitions. The
 * measurement is lc_bench_rope (src/bench/rope_bench.c).
 */
#include <stdio.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/rope.h"
#include "longctx/sys.h"

#define CMD "bench rope"

static const char synopsis[] =
    "usage: longctx bench rope [options] [rope options]\n\n"
    "Times RoPE per token: table build, rotation of H heads from the table (AVX2 and\n"
    "scalar kernels, NORM and NEOX layouts) and from angles computed on the fly.\n\n";

/* A RoPE flag applied at once to the configuration (no model here). */
static bool opt_rope(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_error err;
    if (lc_rope_apply_option(o->dst, name, v, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

int bench_rope(int argc, char **argv) {
    lc_rope_config cfg;
    lc_rope_config_init(&cfg, 128);
    int64_t n_ctx = 32768, n_tok = 4096;
    int head_dim = 128, heads = 32, reps = 5, rope_dims = 0;
    bool json = false;
    lc_error err;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_I64("-c|--ctx-size", "N", &n_ctx, 1, INT32_MAX, "positions tabled (default 32768)"),
        CLI_INT("--head-dim", "D", &head_dim, 2, 4096, "head dimension (default 128; rotated dims = D unless --rope-dims)"),
        CLI_INT("--rope-dims", "N", &rope_dims, 2, 4096, "rotated dimensions (partial rotary)"),
        CLI_INT("--heads", "H", &heads, 1, 4096, "heads per token (default 32)"),
        CLI_I64("-n", "N", &n_tok, 1, CLI_MAX_ITERS, "tokens per timed pass (default 4096)"),
        BENCH_BEST_OF_OPT(&reps),
        CLI_JSON_STDOUT(&json),
        CLI_SECTION("rope options (llama.cpp names):"),
        CLI_FAMILY(lc_rope_is_option, opt_rope, &cfg, lc_rope_options_help()),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    cfg.n_dims = rope_dims ? rope_dims : head_dim;
    if (cfg.n_dims > head_dim) {
        cli_error(CMD, "--rope-dims %d exceeds --head-dim %d", cfg.n_dims, head_dim);
        return CLI_USAGE;
    }
    if ((cfg.scaling == LC_ROPE_SCALING_YARN || cfg.scaling == LC_ROPE_SCALING_DYNAMIC_NTK) && cfg.orig_ctx == 0)
        cfg.orig_ctx = 4096; /* no model here: assume a 4K original context */
    if (lc_rope_validate(&cfg, &err) != LC_OK) return cli_fail(CMD, &err);

    lc_bench_rope_result res;
    lc_table *info = NULL, *t = NULL;
    lc_status st = lc_bench_rope(&cfg, n_ctx, heads, head_dim, n_tok, reps, &res, &err);
    if (st == LC_OK) st = lc_bench_rope_info(&cfg, &res, &info, &err);
    if (st == LC_OK) st = lc_bench_rope_table(&res, heads, cfg.n_dims, &t, &err);
    return bench_report(CMD, json, st, &err, info, NULL, t);
}
