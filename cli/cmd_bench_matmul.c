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

typedef char bm_type[16];

static bool parse_types(const char *s, bm_type *out, int *n) {
    *n = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        const size_t len = e ? (size_t)(e - s) : strlen(s);
        char buf[16];
        if (*n >= MAX_LIST || len == 0 || len >= sizeof buf) return false;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (!lc_bench_matmul_type_name(buf, out[*n], sizeof out[*n])) return false;
        (*n)++;
        s += len + (e ? 1 : 0);
    }
    return *n > 0;
}

/* What the command line asks for. */
typedef struct {
    bm_type types[MAX_LIST];
    int n_types;
    int64_t rows, cols, toks[MAX_LIST], thr[MAX_LIST];
    int n_toks, n_thr, reps, copies;
    double peak_gbs;
    bool json, no_peak, via_matmul;
} bm_args;

static bool opt_types(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    bm_args *a = o->dst;
    if (parse_types(v, a->types, &a->n_types)) return true;
    cli_error(cmd, "%s: '%s' is not a list of at most %d weight types (see --help)", name, v, MAX_LIST);
    return false;
}

static int parse_args(bm_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    parse_types("q4_0,q8_0,q4_K,q6_K,f16", a->types, &a->n_types);
    a->rows = 4096, a->cols = 14336, a->toks[0] = 1, a->toks[1] = 512, a->n_toks = 2;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("--type", "LIST", opt_types, a,
               "weight types (default q4_0,q8_0,q4_K,q6_K,f16); any of q4_0 q4_1 q5_0\n"
               "q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs mxfp4 f32 f16 bf16"),
        CLI_I64("--rows", "N", &a->rows, 1, 1 << 24, "output rows (default 4096)"),
        CLI_I64("--cols", "N", &a->cols, 1, 1 << 24, "inner dimension (default 14336; Llama-3-8B's FFN down shape)"),
        CLI_I64_LIST("-n", "LIST", a->toks, &a->n_toks, MAX_LIST, 1, "token counts, 1..65536 each (default 1,512)"),
        CLI_I64_LIST("-t|--threads", "LIST", a->thr, &a->n_thr, MAX_LIST, 1,
                     "thread counts, 1..1024 each (default: all CPUs)"),
        CLI_INT("--reps", "R", &a->reps, 1, 100000, "timed repetitions per cell (default 10 for n = 1, 3 otherwise)"),
        CLI_INT("--copies", "C", &a->copies, 1, 64,
                "weight copies read in turn (default: enough for 128 MiB, at most 8;\n"
                "1 reads the same copy every time, as llama.cpp's test-backend-ops does)"),
        CLI_DOUBLE("--peak-gbs", "X", &a->peak_gbs, 1e-9, CLI_REAL_LIMIT,
                   "use X GB/s as the read bandwidth instead of measuring it"),
        CLI_SET("--no-peak", &a->no_peak, "skip the peak measurement (no percentages)"),
        CLI_SET("--lc-matmul", &a->via_matmul,
                "quantised types through the public lc_matmul (the path a model takes:\n"
                "the same integer kernels behind its dispatch and workspace) instead\n"
                "of lc_qmatmul directly"),
        CLI_SET("--json", &a->json, "one JSON object on stdout"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    for (int k = 0; k < a->n_toks; k++)
        if (a->toks[k] > 65536) return cli_error(CMD, "-n: %lld is more than 65536 tokens", (long long)a->toks[k]), CLI_USAGE;
    for (int k = 0; k < a->n_thr; k++)
        if (a->thr[k] > 1024) return cli_error(CMD, "-t: %lld is more than 1024 threads", (long long)a->thr[k]), CLI_USAGE;
    if (a->n_thr == 0) {
        a->thr[0] = lc_cpu_count();
        a->n_thr = 1;
    }
    for (int k = 0; k < a->n_types; k++)
        if (lc_bench_matmul_weight_bytes(a->types[k], a->rows, a->cols) == 0) {
            cli_error(CMD, "%lld columns are not a whole number of %s blocks", (long long)a->cols, a->types[k]);
            return CLI_USAGE;
        }
    return -1;
}

/* Every (tokens, threads) cell of one type into cells[*nc...]. */
static int time_type(const bm_args *a, const char *ty, const lc_peak *pk, lc_bench_matmul_row *cells, int *nc) {
    lc_error err;
    lc_bench_matmul_weights *w = NULL;
    if (lc_bench_matmul_weights_create(ty, a->rows, a->cols, a->copies, &w, &err) != LC_OK) return cli_fail(CMD, &err);
    int rc = CLI_OK;
    for (int ki = 0; ki < a->n_toks && rc == CLI_OK; ki++) {
        const int64_t nt = a->toks[ki];
        for (int hi = 0; hi < a->n_thr && rc == CLI_OK; hi++) {
            lc_bench_matmul_row *cl = &cells[*nc];
            const int reps = a->reps ? a->reps : (nt == 1 ? 10 : 3);
            if (lc_bench_matmul_cell(w, nt, (int)a->thr[hi], reps, a->via_matmul, pk, cl, &err) != LC_OK) {
                rc = cli_fail(CMD, &err);
                break;
            }
            if (!a->json) fprintf(stderr, "  %-7s n=%-5lld t=%d  median %.3f ms\n", ty, (long long)nt, cl->threads, cl->s_med * 1e3);
            ++*nc;
        }
    }
    lc_bench_matmul_weights_free(w);
    return rc;
}

static const lc_table_col info_cols[] = {
    {.title = "cpu", .key = "cpu", .kind = LC_TABLE_STR},
    {.title = "isa", .key = "isa", .kind = LC_TABLE_STR},
    {.title = "api", .key = "api", .kind = LC_TABLE_STR},
    {.title = "rows (output)", .key = "rows", .kind = LC_TABLE_INT},
    {.title = "cols (inner)", .key = "cols", .kind = LC_TABLE_INT},
    {.title = "read bandwidth (GB/s)", .key = "peak_read_gbs", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    {.title = "read bandwidth, 1 thread (GB/s)", .key = "peak_read_gbs_1t", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    {.title = "FMA peak (GFLOP/s)", .key = "peak_fma_gflops", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    {.title = "FMA peak, 1 thread (GFLOP/s)", .key = "peak_fma_gflops_1t", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
};
static int report(const bm_args *a, const lc_peak *pk, const lc_bench_matmul_row *cells, int nc) {
    lc_table *info = BENCH_TABLE(CMD, info_cols), *t = NULL;
    lc_error err;
    if (info && lc_bench_matmul_table(cells, nc, &t, &err) != LC_OK) cli_fail(CMD, &err);
    if (!bench_both(info, t)) return CLI_FAIL;
    char cpu[256];
    lc_cpu_model(cpu, sizeof cpu);
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    LC_TABLE_ADD(info, lc_tv_str(cpu), lc_tv_str(lc_isa_name(ko.isa)), lc_tv_str(a->via_matmul ? "lc_matmul" : "lc_qmatmul"),
                 lc_tv_int(a->rows), lc_tv_int(a->cols), lc_tv_real(pk->read_gbs), lc_tv_real(pk->read_gbs_1t),
                 lc_tv_real(pk->fma_gflops), lc_tv_real(pk->fma_gflops_1t));
    const int rc = bench_report(CMD, a->json, info, "cells", t);
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
    for (int k = 0; k < a.n_thr; k++) max_thr = LC_MAX(max_thr, (int)a.thr[k]);
    lc_error err;
    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    if (!a.no_peak && lc_bench_peak(max_thr, 0, &pk, &err) != LC_OK) return cli_fail(CMD, &err);
    if (a.peak_gbs > 0) pk.read_gbs = pk.read_gbs_1t = a.peak_gbs;
    lc_bench_matmul_row *cells = calloc((size_t)(a.n_types * a.n_toks * a.n_thr), sizeof *cells);
    if (!cells) {
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    int nc = 0, rc = CLI_OK;
    for (int ti = 0; ti < a.n_types && rc == CLI_OK; ti++) rc = time_type(&a, a.types[ti], &pk, cells, &nc);
    if (rc == CLI_OK) rc = report(&a, &pk, cells, nc);
    free(cells);
    return rc;
}
