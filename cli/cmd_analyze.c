/*
 * longctx analyze — the analytic cost model of attention for a model shape:
 * FLOPs and memory per method and context length, next to the article's
 * figures, and next to measurements when --measure is given.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/util.h"
#include "longctx/model.h"
#include "longctx/report.h"
#include "longctx/table.h"
#include "opt.h"

#define CMD "analyze"
#define MAX_N 32 /* <= LC_REPORT_MAX_LENGTHS */

static const char synopsis[] =
    "usage: longctx analyze [options]\n\n"
    "The analytic model of attention cost for one model shape: per context length, the\n"
    "score matrix the article's table counts (one head, FP16), what NAIVE really materialises\n"
    "(all heads of a layer at inference, all layers when training keeps it for backward),\n"
    "the exact workspace of FLASH / WINDOW / LINEAR / CHUNKED (from each method's own\n"
    "workspace function), the KV cache, and the attention FLOPs of a full forward pass.\n\n";

/* What the command line asks for. */
typedef struct {
    const char *family;
    int layers, heads, kv_heads, d, threads;
    int64_t window, chunk;
    lc_dtype dt;
    int64_t ns[MAX_N];
    int n_n;
    bool ns_given, measure, json;
    double max_seconds;
} analyze_args;

static bool opt_dtype(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_dtype *dt = o->dst;
    if (lc_dtype_parse(v, dt) && (*dt == LC_DTYPE_F16 || *dt == LC_DTYPE_F32)) return true;
    cli_error(cmd, "%s must be f16 or f32", name);
    return false;
}

static bool opt_family(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (strcmp(v, "all") != 0 && !lc_family_preset_find(v)) {
        cli_error(cmd, "%s: unknown family '%s' (see --help)", name, v);
        return false;
    }
    *(const char **)o->dst = v;
    return true;
}

#define SHAPE(names_, meta_, dst_, help_) CLI_INT(names_, meta_, dst_, 1, 1 << 24, help_)

static int parse_args(analyze_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->layers = 32, a->heads = 32, a->d = 128, a->window = 4096, a->chunk = 512;
    a->dt = LC_DTYPE_F16;
    a->max_seconds = 30;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        SHAPE("--layers", "L", &a->layers, "layers (default 32)"),
        SHAPE("--heads", "H", &a->heads, "query heads (default 32)"),
        SHAPE("--kv-heads", "K", &a->kv_heads, "K/V heads (default H)"),
        SHAPE("--head-dim", "D", &a->d, "head dimension (default 128)"),
        CLI_FN("--dtype", "T", opt_dtype, &a->dt, "element type of scores/cache: f16 or f32 (default f16)"),
        {.kind = CLI_OPT_I64_LIST, .names = "--n", .meta = "LIST", .dst = a->ns, .count = &a->n_n, .hi = MAX_N,
         .list_lo = 1, .given = &a->ns_given, .help = "context lengths (default 2K,8K,32K,100000,1M)"},
        CLI_I64("--window", "W", &a->window, 1, 1 << 24, "WINDOW size (default 4096, 4 sinks)"),
        CLI_I64("--chunk", "C", &a->chunk, 1, 1 << 24, "CHUNKED chunk (default 512, overlap 64)"),
        SHAPE("-t|--threads", "N", &a->threads, "threads assumed for workspaces (default: all CPUs)"),
        CLI_SET("--measure", &a->measure,
                "also run NAIVE and FLASH for one layer (H heads) at each length that fits\n"
                "in --max-seconds (default 30) and print measured time and RSS growth"),
        CLI_DOUBLE("--max-seconds", "S", &a->max_seconds, 1e-6, 1e7, "budget per measured cell"),
        CLI_SET("--json", &a->json, "JSON array on stdout (the table goes to stderr)"),
        CLI_FN("--family", "NAME", opt_family, &a->family,
               "the KV memory of a real family (published config.json shape) with its own\n"
               "machinery (GQA, window layers, linear-attention state) at each --n\n"
               "(default 8K,128K,1M), beside all-global layers, and measured on a scaled-down\n"
               "random model of the same layer layout; NAME: all, or one of\n"
               "llama-3.1-8b qwen2.5-7b phi-3.5-mini gemma-3-12b gpt-oss-20b qwen3-next-80b-a3b"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!a->kv_heads) a->kv_heads = a->heads;
    if (a->heads % a->kv_heads) {
        cli_error(CMD, "--heads must be a multiple of --kv-heads");
        return CLI_USAGE;
    }
    if (!a->threads) a->threads = lc_cpu_count();
    if (!a->ns_given) cli_parse_i64_list(a->family ? "8K,128K,1M" : "2K,8K,32K,100000,1M", a->ns, MAX_N, &a->n_n);
    return -1;
}
#undef SHAPE

int cmd_analyze(int argc, char **argv) {
    analyze_args a;
    const int rc = parse_args(&a, argc, argv);
    if (rc >= 0) return rc;
    lc_error err;
    if (a.family && lc_report_families_print(stdout, a.family, a.ns, a.n_n, a.dt, a.json, &err) != LC_OK)
        return cli_fail(CMD, &err);
    if (a.family) return CLI_OK;
    lc_model_config mc;
    memset(&mc, 0, sizeof mc);
    mc.n_layers = a.layers, mc.n_heads = a.heads, mc.n_kv_heads = a.kv_heads, mc.head_dim = a.d;
    lc_report_measure naive[MAX_N], flash[MAX_N];
    if (a.measure) lc_report_measure_lengths(&mc, a.dt, a.ns, a.n_n, a.threads, a.max_seconds, naive, flash);
    lc_table *t = NULL, *mt = NULL;
    lc_status st = lc_report_cost_table(&mc, a.dt, a.ns, a.n_n, a.window, a.chunk, a.threads, a.measure ? naive : NULL,
                                        a.measure ? flash : NULL, &t, &err);
    if (st == LC_OK && a.measure) st = lc_report_measured_table(a.ns, a.n_n, naive, flash, &mt, &err);
    FILE *out = a.json ? stderr : stdout; /* the text beside the JSON goes to stderr */
    if (st == LC_OK) {
        fprintf(out, "# shape: %d layers, %d heads (%d KV), head dim %d, %s scores/cache, %d threads\n", a.layers,
                a.heads, a.kv_heads, a.d, lc_dtype_name(a.dt), a.threads);
        st = lc_table_print_text(t, out, &err);
    }
    if (st == LC_OK && mt) {
        fprintf(out, "\n# measured, one layer (%d heads): time and RSS growth while it ran\n", a.heads);
        st = lc_table_print_text(mt, out, &err);
    }
    if (st == LC_OK && a.json) st = lc_table_report(stdout, LC_TABLE_JSON, NULL, NULL, t, &err);
    lc_table_free(t);
    lc_table_free(mt);
    return st == LC_OK ? CLI_OK : cli_fail(CMD, &err);
}
