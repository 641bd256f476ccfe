/*
 * longctx bench rope — cost of RoPE per token: building the cos/sin table,
 * rotating q/k heads from the table (AVX2 and scalar kernels, both layouts),
 * and rotating positions computed on the fly (past the table, or dynamic
 * NTK past the original context). Best of several repetitions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
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

/* Best time over reps of rotating n tokens starting at pos0, ns per token. */
static double time_apply(const lc_rope_cache *rc, float *x, int32_t heads, int32_t hd, int64_t n, int64_t pos0,
                         int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = lc_time_now();
        for (int64_t t = 0; t < n; t++) lc_rope_apply(rc, x, heads, hd, pos0 + t);
        best = fmin(best, lc_time_now() - t0);
    }
    return best / (double)n * 1e9;
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

    /* The same x is rotated over and over: fold mscale back to 1 so that it
     * neither overflows nor decays into denormals (the table folds m into
     * cos/sin, so the cost is the same). */
    lc_rope_config timing = cfg;
    double m = 1.0;
    lc_rope_freqs_f64(&cfg, 0, NULL, &m, NULL);
    timing.attn_factor = (float)((double)cfg.attn_factor / m);

    const size_t n_x = (size_t)heads * (size_t)head_dim;
    float *x = malloc(n_x * sizeof(float));
    if (!x) {
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    lc_rng r;
    lc_rng_seed(&r, 1);
    for (size_t i = 0; i < n_x; i++) x[i] = lc_rng_normal(&r);

    /* Table build. */
    lc_rope_cache *rc = NULL;
    double build = INFINITY;
    for (int k = 0; k < reps; k++) {
        lc_rope_cache_free(rc);
        rc = NULL;
        double t0 = lc_time_now();
        if (lc_rope_cache_create(&cfg, n_ctx, &rc, &err) != LC_OK) {
            free(x);
            return cli_fail(CMD, &err);
        }
        build = fmin(build, lc_time_now() - t0);
    }
    n_tok = LC_MIN(n_tok, n_ctx);
    /* Rotation: dispatch (AVX2 where available) and scalar, from the table;
     * then on the fly past the table. */
    const char *names[4] = {"table, layout kernel", "table, scalar kernel", "on the fly, layout kernel",
                            "on the fly, scalar kernel"};
    double ns[2][4];
    for (int layout = 0; layout < 2; layout++) {
        lc_rope_cache_free(rc);
        rc = NULL;
        timing.layout = (lc_rope_layout)layout;
        if (lc_rope_cache_create(&timing, n_ctx, &rc, &err) != LC_OK) {
            free(x);
            return cli_fail(CMD, &err);
        }
        for (int k = 0; k < 4; k++) {
            lc_rope_cache_force_scalar(rc, k % 2 == 1);
            ns[layout][k] = time_apply(rc, x, heads, head_dim, n_tok, k < 2 ? 0 : n_ctx, reps);
        }
    }
    const double pairs = (double)heads * cfg.n_dims / 2.0;
    char desc[256], bytes[32];
    lc_rope_describe(&cfg, desc, sizeof desc);
    lc_format_bytes((double)lc_rope_cache_bytes(rc), bytes, sizeof bytes);
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "rope", desc);
        lc_json_kv_int(&w, "positions", n_ctx);
        lc_json_kv_int(&w, "heads", heads);
        lc_json_kv_int(&w, "head_dim", head_dim);
        lc_json_kv_int(&w, "table_bytes", (int64_t)lc_rope_cache_bytes(rc));
        lc_json_kv_num(&w, "table_build_ns_per_pos", build / (double)n_ctx * 1e9);
        lc_json_kv_str(&w, "isa", lc_isa_name(lc_isa_best()));
        const char *keys[4] = {"table_ns", "table_scalar_ns", "fly_ns", "fly_scalar_ns"};
        for (int layout = 0; layout < 2; layout++) {
            lc_json_key(&w, layout ? "neox" : "norm");
            lc_json_begin_object(&w);
            for (int k = 0; k < 4; k++) lc_json_kv_num(&w, keys[k], ns[layout][k]);
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
            printf("  %-28s norm %8.1f ns (%5.2f ns/pair)   neox %8.1f ns (%5.2f ns/pair)\n", names[k], ns[0][k],
                   ns[0][k] / pairs, ns[1][k], ns[1][k] / pairs);
    }
    lc_rope_cache_free(rc);
    free(x);
    return CLI_OK;
}
