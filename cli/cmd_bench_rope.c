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

static const lc_table_col info_cols[] = {
    {.title = "rope", .key = "rope", .kind = LC_TABLE_STR},
    {.title = "positions tabled", .key = "positions", .kind = LC_TABLE_INT},
    {.title = "heads", .key = "heads", .kind = LC_TABLE_INT},
    {.title = "head dim", .key = "head_dim", .kind = LC_TABLE_INT},
    {.title = "dims rotated", .kind = LC_TABLE_INT},
    {.title = "table", .key = "table_bytes", .kind = LC_TABLE_BYTES},
    {.title = "table build, ns per position", .key = "table_build_ns_per_pos", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    {.title = "isa (the layout kernels')", .key = "isa", .kind = LC_TABLE_STR},
    {.title = "repetitions (best kept)", .kind = LC_TABLE_INT},
    {.title = "tokens per repetition", .kind = LC_TABLE_INT},
};
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
    if (lc_bench_rope(&cfg, n_ctx, heads, head_dim, n_tok, reps, &res, &err) != LC_OK) return cli_fail(CMD, &err);
    lc_table *info = BENCH_TABLE(CMD, info_cols), *t = NULL;
    if (info && lc_bench_rope_table(&res, heads, cfg.n_dims, &t, &err) != LC_OK) cli_fail(CMD, &err);
    if (!bench_both(info, t)) return CLI_FAIL;
    char desc[256];
    LC_TABLE_ADD(info, lc_tv_str(lc_rope_describe(&cfg, desc, sizeof desc)), lc_tv_int(n_ctx), lc_tv_int(heads),
                 lc_tv_int(head_dim), lc_tv_int(cfg.n_dims), lc_tv_int((int64_t)res.table_bytes),
                 lc_tv_real(res.build_s / (double)n_ctx * 1e9), lc_tv_str(lc_isa_name(lc_isa_best())), lc_tv_int(reps),
                 lc_tv_int(res.n_tok));
    return bench_report(CMD, json, info, NULL, t);
}
