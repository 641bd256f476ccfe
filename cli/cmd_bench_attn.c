/*
 * longctx bench attn — attention methods x lengths x head dims x causal:
 * median time, GFLOP/s of the method's real FLOPs (and the fraction of this
 * machine's FMA peak), speed-up over NAIVE in the same run, workspace and
 * measured RSS growth. NAIVE past its cap prints the memory it would need:
 * the article's memory table, measured.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"
#include "longctx/util.h"
#include "opt.h"

#define MAX_LIST 32
#define CMD "bench attn"

typedef lc_bench_attn_row row;

/* The grid (its lists point at the arrays here) and where the results go. */
typedef struct {
    lc_bench_attn_grid g;
    lc_bench_attn_method methods[MAX_LIST];
    int64_t ns[MAX_LIST], ds[MAX_LIST];
    bool peak;
    const char *json_path, *csv_path;
} options;

static const char synopsis[] =
    "usage: longctx bench attn [options]\n\n"
    "Times attention methods over lengths, head dims and masking on random inputs.\n\n";

static const char epilog[] =
    "Every cell reports: median seconds, GFLOP/s counting the method's real FLOPs, the fraction\n"
    "of FMA peak (decode: of read bandwidth, counting K+V bytes), the speed-up over NAIVE in the\n"
    "same run, the workspace the method asked for and the RSS growth measured while it ran.\n";

static bool opt_causal(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)v, (void)cmd;
    *(int *)o->dst = strcmp(name, "--causal") == 0 ? 1 : strcmp(name, "--no-causal") == 0 ? 0 : 2;
    return true;
}

static bool opt_kv_type(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_dtype *t = o->dst;
    if (lc_dtype_parse(v, t) && *t != LC_DTYPE_BF16) return true;
    cli_error(cmd, "%s must be f32, f16 or q8_0", name);
    return false;
}

static bool opt_methods(const cli_opt *opt, const char *name, const char *v, const char *cmd) {
    options *o = opt->dst;
    lc_error err;
    if (lc_bench_attn_methods_parse(v, o->methods, MAX_LIST, &o->g.n_methods, &err) == LC_OK) return true;
    cli_error(cmd, "%s: %s", name, err.msg);
    return false;
}

#define SMALL(names_, meta_, dst_, help_) CLI_INT(names_, meta_, dst_, 1, 4096, help_)

/* -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    lc_bench_attn_grid *g = &o->g; /* zeros: lc_bench_attn_grid_defaults' */
    *g = (lc_bench_attn_grid){.heads = 1, .causal_mode = 1, .kv_type = LC_DTYPE_F32, .naive_cap = (int64_t)1 << 30,
                              .seed = 1};
    o->peak = true;
    bool quick = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("--method", "LIST", opt_methods, o,
               "comma-separated specs (default naive,flash,window:4096:4,linear:elu,chunked:512:64)\n"
               "naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]\n"
               "| hybrid:SPEC+SPEC[+...] (specs assigned to heads round-robin)"),
        CLI_I64_LIST("--n", "LIST", o->ns, &g->n_ns, MAX_LIST, 1,
                     "sequence lengths (default 1K,4K,16K,64K,256K,1M; K/M suffixes)"),
        CLI_I64_LIST("--d", "LIST", o->ds, &g->n_ds, MAX_LIST, -CLI_INT_LIMIT, "head dims (default 64,128)"),
        SMALL("--heads", "H", &g->heads, "query heads (default 1)"),
        SMALL("--kv-heads", "K", &g->kv_heads, "KV heads (default H)"),
        CLI_FN("--causal|--no-causal|--both", NULL, opt_causal, &g->causal_mode, "masking (default causal)"),
        CLI_SET("--decode", &g->decode, "one query against n cached keys (instead of n queries)"),
        CLI_FN("--kv-type", "T", opt_kv_type, &g->kv_type, "f32 | f16 | q8_0 (default f32)"),
        SMALL("-t|--threads", "N", &g->threads, "threads (default: all CPUs)"),
        SMALL("--reps", "N", &g->reps, "timed runs per cell, median reported (default 3)"),
        CLI_DOUBLE("--max-seconds", "S", &g->max_seconds, 1e-9, 1e7,
                   "skip a cell whose estimated time passes S (default 60; from the same\n"
                   "method's previous length); a single run past S stops the repeats"),
        CLI_I64("--naive-cap", "SZ", &g->naive_cap, 1, CLI_INT_LIMIT, "NAIVE's score-matrix cap (default 1G)"),
        CLI_CLEAR("--no-peak", &o->peak, "do not measure the machine's peak first (no %peak column)"),
        CLI_SET("--quick", &quick, "a run under one minute: --n 1K,4K,16K --d 64 --reps 2 --max-seconds 5"),
        CLI_STR_OPT("--json", "[FILE]", &o->json_path, "-",
                    "JSON array of cells (stdout when no FILE; the table then goes to stderr)"),
        CLI_STR_OPT("--csv", "[FILE]", &o->csv_path, "-", "CSV of cells (stdout when no FILE)"),
        CLI_U64("--seed", "N", &g->seed, 0, CLI_INT_LIMIT, "input data seed (default 1)"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, epilog, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    lc_error err;
    if (lc_bench_attn_grid_defaults(g, quick, o->ns, o->ds, o->methods, MAX_LIST, &err) == LC_OK) return -1;
    cli_error(CMD, "%s", err.msg);
    return CLI_USAGE;
}
#undef SMALL

typedef struct {
    FILE *table;
    cli_progress prog;
    lc_table *t;
    const lc_peak *pk; /* NULL: no peak columns */
} cell_out;

/* Progress before a cell; after it, its row, printed at once. */
static void on_cell(void *user, const row *r, int index, int n_cells, bool done) {
    cell_out *c = user;
    if (!done) {
        char what[160];
        snprintf(what, sizeof what, "%s n=%lld d=%d", r->m->spec, (long long)r->n_kv, r->d);
        cli_progress_update(&c->prog, index, n_cells, what);
        return;
    }
    cli_progress_done(&c->prog);
    lc_bench_attn_table_add(c->t, r, c->pk);
    lc_table_print_row(c->t, c->table, lc_table_n_rows(c->t) - 1, NULL);
    fflush(c->table);
}

/* --json and --csv files (or stdout). */
static int write_outputs(const options *o, const lc_table *t) {
    int status = CLI_OK;
    const char *paths[2] = {o->json_path, o->csv_path};
    for (int k = 0; k < 2; k++) {
        FILE *f = paths[k] ? cli_open_out(paths[k], CMD) : NULL;
        lc_error err;
        if (paths[k] && (!f || lc_table_report(f, k ? LC_TABLE_CSV : LC_TABLE_JSON, NULL, NULL, t, &err) != LC_OK))
            status = f ? cli_fail(CMD, &err) : CLI_FAIL;
        if (f) cli_close_out(f);
    }
    return status;
}

int bench_attn(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    bool json_stdout = o.json_path && strcmp(o.json_path, "-") == 0;
    bool csv_stdout = o.csv_path && strcmp(o.csv_path, "-") == 0;
    FILE *table = (json_stdout || csv_stdout) ? stderr : stdout;

    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    lc_error err;
    if (o.peak) {
        fprintf(stderr, "measuring this machine's peak (longctx bench peak)...\n");
        if (lc_bench_peak(o.g.threads, (size_t)256 << 20, &pk, &err) != LC_OK) return cli_fail(CMD, &err);
        fprintf(table, "# peak: FMA %.1f GFLOP/s (%d threads, %s), read %.1f GB/s\n", pk.fma_gflops, pk.threads,
                lc_isa_name(pk.isa), pk.read_gbs);
    }
    cell_out out = {.table = table, .pk = o.peak ? &pk : NULL};
    if (lc_bench_attn_table(out.pk, &out.t, &err) != LC_OK) return cli_fail(CMD, &err);
    o.g.peak = out.pk;
    o.g.on_cell = on_cell;
    o.g.user = &out;
    const int64_t n_rows = lc_bench_attn_grid_cells(&o.g);
    row *rows = n_rows > 0 ? calloc((size_t)n_rows, sizeof(row)) : NULL;
    int status = rows ? CLI_OK : (cli_error(CMD, "out of memory"), CLI_FAIL);
    if (status == CLI_OK) {
        lc_table_print_header(out.t, table, NULL);
        cli_progress_init(&out.prog);
        if (lc_bench_attn_grid_run(&o.g, rows, &err) != LC_OK) status = cli_fail(CMD, &err);
        else if (lc_table_status(out.t, &err) != LC_OK) status = cli_fail(CMD, &err);
        else status = write_outputs(&o, out.t);
    }
    free(rows);
    lc_table_free(out.t);
    return status;
}
