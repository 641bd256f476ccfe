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
#include "longctx/json.h"
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
        CLI_INT("--reps", "R", &reps, 1, CLI_MAX_REPS, "repetitions, best reported (default 5)"),
        CLI_SET("--json", &json, "one JSON object on stdout"),
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
    const double build = res.build_s;
    n_tok = res.n_tok;
    const char *names[4] = {"table, layout kernel", "table, scalar kernel", "on the fly, layout kernel",
                            "on the fly, scalar kernel"};
    const double pairs = (double)heads * cfg.n_dims / 2.0;
    char desc[256], bytes[32];
    lc_rope_describe(&cfg, desc, sizeof desc);
    lc_format_bytes((double)res.table_bytes, bytes, sizeof bytes);
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "rope", desc);
        lc_json_kv_int(&w, "positions", n_ctx);
        lc_json_kv_int(&w, "heads", heads);
        lc_json_kv_int(&w, "head_dim", head_dim);
        lc_json_kv_int(&w, "table_bytes", (int64_t)res.table_bytes);
        lc_json_kv_num(&w, "table_build_ns_per_pos", build / (double)n_ctx * 1e9);
        lc_json_kv_str(&w, "isa", lc_isa_name(lc_isa_best()));
        const char *keys[4] = {"table_ns", "table_scalar_ns", "fly_ns", "fly_scalar_ns"};
        for (int layout = 0; layout < 2; layout++) {
            lc_json_key(&w, layout ? "neox" : "norm");
            lc_json_begin_object(&w);
            for (int k = 0; k < 4; k++) lc_json_kv_num(&w, keys[k], res.ns[layout][k]);
            lc_json_end_object(&w);
        }
        lc_json_end_object(&w);
        lc_json_finish(&w);
    } else {
        printf("rope          %s\n", desc);
        printf("shape         %d heads x %d dims (%d rotated), %lld positions tabled (%s)\n", heads, head_dim,
               cfg.n_dims, (long long)n_ctx, bytes);
        printf("table build   %.1f ns per position (%.2f ms for all)\n", build / (double)n_ctx * 1e9, build * 1e3);
        printf("rotate one token (%s kernel where available; best of %d x %lld tokens):\n",
               lc_isa_name(lc_isa_best()), reps, (long long)n_tok);
        for (int k = 0; k < 4; k++)
            printf("  %-28s norm %8.1f ns (%5.2f ns/pair)   neox %8.1f ns (%5.2f ns/pair)\n", names[k], res.ns[0][k],
                   res.ns[0][k] / pairs, res.ns[1][k], res.ns[1][k] / pairs);
    }
    return CLI_OK;
}
