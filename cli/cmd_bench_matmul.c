/*
 * longctx bench matmul — weight-matrix products Y = X W^T per weight type,
 * shape, token count (1: decode, matrix-vector; many: prefill) and thread
 * count: min / median / max seconds over the repetitions, GB/s of weights
 * read, GFLOP/s, and both as a fraction of what `bench peak` measures.
 * The cells are lc_bench_matmul_cell (src/bench/matmul_bench.c); this file
 * parses the options and prints.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/bench.h"
#include "longctx/kernels.h"
#include "longctx/sys.h"
#include "longctx/util.h"
#include "opt.h"

#define CMD "bench matmul"
#define MAX_LIST 16

static const char synopsis[] =
    "usage: longctx bench matmul [options]\n\n"
    "Times Y[n, rows] = X[n, cols] W^T for each weight type, token count n and thread count:\n"
    "min/median/max seconds, GB/s of weights, GFLOP/s (2 per multiply-add), and their share of\n"
    "this machine's read bandwidth and FP32 FMA peak (measured first, as `bench peak`).\n\n";

/* What the command line asks for: the grid (its lists point at the arrays here). */
typedef struct {
    lc_bench_matmul_grid g;
    lc_bench_matmul_type types[MAX_LIST];
    int64_t toks[MAX_LIST], thr[MAX_LIST];
    double peak_gbs;
    bool json, no_peak;
} bm_args;

static bool opt_types(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    bm_args *a = o->dst;
    lc_error err;
    if (lc_bench_matmul_types_parse(v, a->types, MAX_LIST, &a->g.n_types, &err) == LC_OK) return true;
    cli_error(cmd, "%s: '%s': %s (see --help)", name, v, err.msg);
    return false;
}

static int parse_args(bm_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    lc_bench_matmul_grid *g = &a->g;
    *g = (lc_bench_matmul_grid){.types = a->types, .rows = 4096, .cols = 14336, .toks = a->toks, .n_toks = 2,
                                .threads = a->thr};
    lc_bench_matmul_types_parse("q4_0,q8_0,q4_K,q6_K,f16", a->types, MAX_LIST, &g->n_types, NULL);
    a->toks[0] = 1;
    a->toks[1] = 512;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("--type", "LIST", opt_types, a,
               "weight types (default q4_0,q8_0,q4_K,q6_K,f16); any of q4_0 q4_1 q5_0\n"
               "q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs mxfp4 f32 f16 bf16"),
        CLI_I64("--rows", "N", &g->rows, 1, 1 << 24, "output rows (default 4096)"),
        CLI_I64("--cols", "N", &g->cols, 1, 1 << 24, "inner dimension (default 14336; Llama-3-8B's FFN down shape)"),
        CLI_I64_LIST("-n", "LIST", a->toks, &g->n_toks, MAX_LIST, 1, "token counts, 1..65536 each (default 1,512)"),
        CLI_I64_LIST("-t|--threads", "LIST", a->thr, &g->n_threads, MAX_LIST, 1,
                     "thread counts, 1..1024 each (default: all CPUs)"),
        CLI_INT("--reps", "R", &g->reps, 1, 100000, "timed repetitions per cell (default 10 for n = 1, 3 otherwise)"),
        CLI_INT("--copies", "C", &g->copies, 1, 64,
                "weight copies read in turn (default: enough for 128 MiB, at most 8;\n"
                "1 reads the same copy every time, as llama.cpp's test-backend-ops does)"),
        CLI_DOUBLE("--peak-gbs", "X", &a->peak_gbs, 1e-9, CLI_REAL_LIMIT,
                   "use X GB/s as the read bandwidth instead of measuring it"),
        CLI_SET("--no-peak", &a->no_peak, "skip the peak measurement (no percentages)"),
        CLI_SET("--lc-matmul", &g->via_matmul,
                "quantised types through the public lc_matmul (the path a model takes:\n"
                "the same integer kernels behind its dispatch and workspace) instead\n"
                "of lc_qmatmul directly"),
        CLI_JSON_STDOUT(&a->json),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (g->n_threads == 0) {
        a->thr[0] = lc_cpu_count();
        g->n_threads = 1;
    }
    lc_error err;
    if (lc_bench_matmul_grid_check(g, &err) == LC_OK) return -1;
    cli_error(CMD, "%s", err.msg);
    return CLI_USAGE;
}

static void on_cell(void *user, const lc_bench_matmul_row *c) {
    (void)user;
    fprintf(stderr, "  %-7s n=%-5lld t=%d  median %.3f ms\n", c->type, (long long)c->n_tok, c->threads, c->s_med * 1e3);
}

static int report(const bm_args *a, const lc_peak *pk, const lc_bench_matmul_row *cells, int nc) {
    lc_table *info = NULL, *t = NULL;
    lc_error err;
    lc_status st = lc_bench_matmul_info(&a->g, pk, &info, &err);
    if (st == LC_OK) st = lc_bench_matmul_table(cells, nc, &t, &err);
    const int rc = bench_report(CMD, a->json, st, &err, info, "cells", t);
    if (rc == CLI_OK && !a->json)
        printf("(cpu ms: CPU time of the process per run, median; cpuGFLOP: the GFLOP/s the run would reach if\n"
               " each of its threads had a core to itself, flops / (cpu s / threads): on a shared machine the\n"
               " wall-clock figures are lower bounds and this one an estimate of the quiet machine's)\n");
    return rc;
}

int bench_matmul(int argc, char **argv) {
    bm_args a;
    const int prc = parse_args(&a, argc, argv);
    if (prc >= 0) return prc;
    int max_thr = 1;
    for (int k = 0; k < a.g.n_threads; k++) max_thr = LC_MAX(max_thr, (int)a.thr[k]);
    lc_error err;
    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    if (!a.no_peak && lc_bench_peak(max_thr, 0, &pk, &err) != LC_OK) return cli_fail(CMD, &err);
    if (a.peak_gbs > 0) pk.read_gbs = pk.read_gbs_1t = a.peak_gbs;
    const int nc = a.g.n_types * a.g.n_toks * a.g.n_threads;
    lc_bench_matmul_row *cells = calloc((size_t)nc, sizeof *cells);
    if (!cells) {
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    a.g.pk = &pk;
    a.g.on_cell = a.json ? NULL : on_cell;
    const int rc =
        lc_bench_matmul_grid_run(&a.g, cells, &err) == LC_OK ? report(&a, &pk, cells, nc) : cli_fail(CMD, &err);
    free(cells);
    return rc;
}
