/*
 * longctx bench matmul — weight-matrix products Y = X W^T per weight type,
 * shape, token count (1: decode, matrix-vector; many: prefill) and thread
 * count: min / median / max seconds over the repetitions, GB/s of weights
 * read, GFLOP/s, and both as a fraction of what `bench peak` measures.
 *
 * Quantised types run the integer kernels (src/quant: activations
 * quantised to 8 bits once, integer dot products per block); f32 / f16 /
 * bf16 run lc_matmul (quantised types too with --lc-matmul, the path a
 * model takes). Weights are random blocks (finite scales). Each
 * repetition reads a different copy of the weights (enough copies to exceed
 * the last-level cache, --copies) so decode figures are memory reads, not
 * cache hits.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_subjects.h"
#include "cli.h"
#include "common/util.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/kernels.h"
#include "longctx/model.h"
#include "longctx/sys.h"
#include "quant/qk_kernels.h"

#define CMD "bench matmul"
#define MAX_LIST 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx bench matmul [options]\n\n"
            "Times Y[n, rows] = X[n, cols] W^T for each weight type, token count n and thread count:\n"
            "min/median/max seconds, GB/s of weights, GFLOP/s (2 per multiply-add), and their share of\n"
            "this machine's read bandwidth and FP32 FMA peak (measured first, as `bench peak`).\n\n"
            "  --type LIST      weight types (default q4_0,q8_0,q4_K,q6_K,f16); any of q4_0 q4_1 q5_0\n"
            "                   q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs mxfp4 f32 f16 bf16\n"
            "  --rows N         output rows (default 4096)\n"
            "  --cols N         inner dimension (default 14336; Llama-3-8B's FFN down shape)\n"
            "  -n LIST          token counts (default 1,512)\n"
            "  -t LIST          thread counts (default: all CPUs)\n"
            "  --reps R         timed repetitions per cell (default 10 for n = 1, 3 otherwise)\n"
            "  --copies C       weight copies read in turn (default: enough for 128 MiB, at most 8;\n"
            "                   1 reads the same copy every time, as llama.cpp's test-backend-ops does)\n"
            "  --peak-gbs X     use X GB/s as the read bandwidth instead of measuring it\n"
            "  --no-peak        skip the peak measurement (no percentages)\n"
            "  --lc-matmul      quantised types through the public lc_matmul (the path a model takes:\n"
            "                   the same integer kernels behind its dispatch and workspace) instead\n"
            "                   of lc_qmatmul directly\n"
            "  --json           one JSON object on stdout\n");
}

typedef struct {
    char name[16];
    bool quant;
    lc_qk_type qt;
    lc_dtype dt;
} bm_type;

static bool parse_type(const char *s, size_t len, bm_type *out) {
    char buf[16];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    for (int t = 0; t < LC_QK_COUNT; t++) {
        const char *nm = lc_qk_info_get((lc_qk_type)t)->name;
        if (strlen(nm) == len) {
            size_t i = 0;
            while (i < len && tolower((unsigned char)nm[i]) == tolower((unsigned char)buf[i])) i++;
            if (i == len) {
                snprintf(out->name, sizeof out->name, "%s", nm);
                out->quant = true;
                out->qt = (lc_qk_type)t;
                return lc_dtype_parse(nm, &out->dt); /* the tensor type, for --lc-matmul */
            }
        }
    }
    lc_dtype d;
    if (lc_dtype_parse(buf, &d) && d != LC_DTYPE_Q8_0) {
        snprintf(out->name, sizeof out->name, "%s", lc_dtype_name(d));
        out->quant = false;
        out->dt = d;
        return true;
    }
    return false;
}

static bool parse_types(const char *s, bm_type *out, int *n) {
    *n = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (*n >= MAX_LIST || !parse_type(s, len, &out[*n])) return false;
        (*n)++;
        s += len + (e ? 1 : 0);
    }
    return *n > 0;
}

/* 64-byte aligned memory (free() releases it), NULL on failure. */
static void *amalloc(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n ? n : 64) == 0 ? p : NULL;
}

/* CPU seconds used by the whole process so far. */
static double cpu_seconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Bytes of a rows x cols weight of this type (0 if cols is not a whole
 * number of blocks). */
static size_t weight_bytes(const bm_type *t, int64_t rows, int64_t cols) {
    size_t rb = 0;
    if (t->quant) {
        const lc_qk_info *in = lc_qk_info_get(t->qt);
        if (cols % in->block) return 0;
        rb = (size_t)(cols / in->block) * in->block_bytes;
    } else if (lc_dtype_row_bytes(t->dt, cols, &rb, NULL) != LC_OK) {
        return 0;
    }
    return rb * (size_t)rows;
}

static void fill_weights(const bm_type *t, void *w, int64_t rows, int64_t cols, uint64_t seed) {
    if (t->quant) {
        lc_qk_random_blocks(t->qt, w, rows * (cols / lc_qk_info_get(t->qt)->block), seed);
        return;
    }
    lc_rng r;
    lc_rng_seed(&r, seed);
    const size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++) {
        float v = (lc_rng_uniform(&r) - 0.5f) * 0.1f;
        if (t->dt == LC_DTYPE_F32) ((float *)w)[i] = v;
        else if (t->dt == LC_DTYPE_F16) ((uint16_t *)w)[i] = lc_f32_to_f16(v);
        else ((uint16_t *)w)[i] = lc_f32_to_bf16(v);
    }
}

typedef struct {
    const bm_type *type;
    int64_t n_tok;
    int threads, reps, copies;
    double s_min, s_med, s_max, gbs, gflops, pct_bw, pct_fma;
    double cpu_med, cpu_gflops; /* CPU seconds per run (median), GFLOP/s per thread-second x threads */
    size_t weight_bytes;
} bm_cell;

int bench_matmul(int argc, char **argv) {
    bm_type types[MAX_LIST];
    int n_types = 0;
    parse_types("q4_0,q8_0,q4_K,q6_K,f16", types, &n_types);
    int64_t rows = 4096, cols = 14336, toks[MAX_LIST] = {1, 512}, thr64[MAX_LIST];
    int n_toks = 2, n_thr = 0, reps = 0, copies = 0;
    double peak_gbs = 0;
    bool json = false, no_peak = false, via_matmul = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, NULL, "--type")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !parse_types(v, types, &n_types)) goto bad;
        } else if (cli_is(a, NULL, "--rows")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_i64(v, &rows) || rows < 1 || rows > (1 << 24))
                goto bad;
        } else if (cli_is(a, NULL, "--cols")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_i64(v, &cols) || cols < 1 || cols > (1 << 24))
                goto bad;
        } else if (cli_is(a, "-n", NULL)) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_i64_list(v, toks, MAX_LIST, &n_toks)) goto bad;
            for (int k = 0; k < n_toks; k++)
                if (toks[k] < 1 || toks[k] > 65536) goto bad;
        } else if (cli_is(a, "-t", "--threads")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_i64_list(v, thr64, MAX_LIST, &n_thr)) goto bad;
            for (int k = 0; k < n_thr; k++)
                if (thr64[k] < 1 || thr64[k] > 1024) goto bad;
        } else if (cli_is(a, NULL, "--reps")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_int(v, &reps) || reps < 1 || reps > 100000)
                goto bad;
        } else if (cli_is(a, NULL, "--copies")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_int(v, &copies) || copies < 1 || copies > 64)
                goto bad;
        } else if (cli_is(a, NULL, "--peak-gbs")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_double(v, &peak_gbs) || !(peak_gbs > 0)) goto bad;
        } else if (cli_is(a, NULL, "--no-peak")) {
            no_peak = true;
        } else if (cli_is(a, NULL, "--json")) {
            json = true;
        } else if (cli_is(a, NULL, "--lc-matmul")) {
            via_matmul = true;
        } else {
            return cli_unknown_option(CMD, a, usage);
        }
        continue;
    bad:
        cli_error(CMD, "bad value for %s", a);
        return CLI_USAGE;
    }
    if (n_thr == 0) {
        thr64[0] = lc_cpu_count();
        n_thr = 1;
    }
    int max_thr = 1;
    for (int k = 0; k < n_thr; k++) max_thr = LC_MAX(max_thr, (int)thr64[k]);
    for (int k = 0; k < n_types; k++)
        if (weight_bytes(&types[k], rows, cols) == 0) {
            cli_error(CMD, "%lld columns are not a whole number of %s blocks", (long long)cols, types[k].name);
            return CLI_USAGE;
        }

    lc_error err;
    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    if (!no_peak) {
        if (lc_bench_peak(max_thr, 0, &pk, &err) != LC_OK) return cli_fail(CMD, &err);
        if (peak_gbs > 0) pk.read_gbs = pk.read_gbs_1t = peak_gbs;
    } else if (peak_gbs > 0) {
        pk.read_gbs = pk.read_gbs_1t = peak_gbs;
    }

    const int n_cells = n_types * n_toks * n_thr;
    bm_cell *cells = calloc((size_t)n_cells, sizeof *cells);
    if (!cells) {
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    int nc = 0, rc = CLI_OK;
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    for (int ti = 0; ti < n_types && rc == CLI_OK; ti++) {
        const bm_type *ty = &types[ti];
        const size_t wb = weight_bytes(ty, rows, cols);
        int nco = copies ? copies : (int)LC_MIN((size_t)8, ((size_t)128 << 20) / wb + 1);
        void **w = calloc((size_t)nco, sizeof *w);
        for (int c = 0; w && c < nco; c++) {
            w[c] = amalloc(wb);
            if (!w[c]) nco = c;
            else fill_weights(ty, w[c], rows, cols, 100 + (uint64_t)c);
        }
        if (!w || nco == 0) {
            cli_error(CMD, "out of memory for %s weights", ty->name);
            free(w);
            rc = CLI_FAIL;
            break;
        }
        for (int ki = 0; ki < n_toks && rc == CLI_OK; ki++) {
            const int64_t nt = toks[ki];
            float *x = malloc((size_t)nt * (size_t)cols * sizeof(float));
            float *y = malloc((size_t)nt * (size_t)rows * sizeof(float));
            lc_rng r;
            lc_rng_seed(&r, 7);
            for (size_t i = 0; x && i < (size_t)nt * (size_t)cols; i++) x[i] = lc_rng_normal(&r);
            for (int hi = 0; hi < n_thr && x && y; hi++) {
                const int th = (int)thr64[hi];
                size_t wsb = 0;
                const bool qk = ty->quant && !via_matmul; /* lc_qmatmul, else lc_matmul */
                lc_tensor tw = {ty->dt, rows, cols, w[0]};
                if (qk) wsb = lc_qmatmul_workspace(ty->qt, cols, nt);
                else if (lc_matmul_workspace(&tw, nt, th, &wsb, &err) != LC_OK) {
                    rc = cli_fail(CMD, &err);
                    break;
                }
                void *ws = wsb ? amalloc(wsb) : NULL;
                if (wsb && !ws) {
                    cli_error(CMD, "out of memory");
                    rc = CLI_FAIL;
                    break;
                }
                ko.n_threads = th;
                const int nrep = reps ? reps : (nt == 1 ? 10 : 3);
                double *sec = malloc(2 * (size_t)nrep * sizeof(double));
                for (int k = -1; sec && k < nrep; k++) { /* k = -1: warm-up */
                    const void *wd = w[(k + 1) % nco];
                    double t0 = lc_time_now(), c0 = cpu_seconds();
                    if (qk) {
                        const size_t rb = wb / (size_t)rows;
                        lc_qmatmul(ty->qt, wd, rb, rows, cols, x, nt, y, ws, th, ko.isa);
                    } else {
                        tw.data = wd;
                        if (lc_matmul(&tw, x, nt, y, ws, wsb, &ko, &err) != LC_OK) {
                            rc = cli_fail(CMD, &err);
                            break;
                        }
                    }
                    if (k >= 0) {
                        sec[k] = lc_time_now() - t0;
                        sec[nrep + k] = cpu_seconds() - c0;
                    }
                }
                if (sec && rc == CLI_OK) {
                    qsort(sec, (size_t)nrep, sizeof *sec, cmp_double);
                    qsort(sec + nrep, (size_t)nrep, sizeof *sec, cmp_double);
                    bm_cell *cl = &cells[nc++];
                    cl->type = ty, cl->n_tok = nt, cl->threads = th, cl->reps = nrep, cl->copies = nco;
                    cl->weight_bytes = wb;
                    cl->s_min = sec[0], cl->s_max = sec[nrep - 1];
                    cl->s_med = nrep % 2 ? sec[nrep / 2] : 0.5 * (sec[nrep / 2 - 1] + sec[nrep / 2]);
                    cl->gbs = (double)wb / cl->s_med / 1e9;
                    cl->cpu_med = nrep % 2 ? sec[nrep + nrep / 2] : 0.5 * (sec[nrep + nrep / 2 - 1] + sec[nrep + nrep / 2]);
                    cl->cpu_gflops = 2.0 * (double)rows * (double)cols * (double)nt / (cl->cpu_med / th) / 1e9;
                    cl->gflops = 2.0 * (double)rows * (double)cols * (double)nt / cl->s_med / 1e9;
                    double bw = th == 1 ? pk.read_gbs_1t : pk.read_gbs;
                    double fma = th == 1 ? pk.fma_gflops_1t : pk.fma_gflops;
                    cl->pct_bw = bw > 0 ? 100.0 * cl->gbs / bw : 0;
                    cl->pct_fma = fma > 0 ? 100.0 * cl->gflops / fma : 0;
                    if (!json)
                        fprintf(stderr, "  %-7s n=%-5lld t=%d  median %.3f ms\n", ty->name, (long long)nt, th,
                                cl->s_med * 1e3);
                }
                free(sec);
                free(ws);
            }
            free(x);
            free(y);
        }
        for (int c = 0; c < nco; c++) free(w[c]);
        free(w);
    }
    if (rc == CLI_OK && json) {
        char cpu[256];
        lc_cpu_model(cpu, sizeof cpu);
        lc_json_writer jw;
        lc_json_init(&jw, stdout, true);
        lc_json_begin_object(&jw);
        lc_json_kv_str(&jw, "cpu", cpu);
        lc_json_kv_str(&jw, "isa", lc_isa_name(ko.isa));
        lc_json_kv_str(&jw, "api", via_matmul ? "lc_matmul" : "lc_qmatmul");
        lc_json_kv_int(&jw, "rows", rows);
        lc_json_kv_int(&jw, "cols", cols);
        lc_json_kv_num(&jw, "peak_read_gbs", pk.read_gbs);
        lc_json_kv_num(&jw, "peak_read_gbs_1t", pk.read_gbs_1t);
        lc_json_kv_num(&jw, "peak_fma_gflops", pk.fma_gflops);
        lc_json_kv_num(&jw, "peak_fma_gflops_1t", pk.fma_gflops_1t);
        lc_json_key(&jw, "cells");
        lc_json_begin_array(&jw);
        for (int k = 0; k < nc; k++) {
            const bm_cell *c = &cells[k];
            lc_json_begin_object(&jw);
            lc_json_kv_str(&jw, "type", c->type->name);
            lc_json_kv_int(&jw, "n_tok", c->n_tok);
            lc_json_kv_int(&jw, "threads", c->threads);
            lc_json_kv_int(&jw, "reps", c->reps);
            lc_json_kv_int(&jw, "copies", c->copies);
            lc_json_kv_int(&jw, "weight_bytes", (int64_t)c->weight_bytes);
            lc_json_kv_num(&jw, "seconds_min", c->s_min);
            lc_json_kv_num(&jw, "seconds_median", c->s_med);
            lc_json_kv_num(&jw, "seconds_max", c->s_max);
            lc_json_kv_num(&jw, "gbs", c->gbs);
            lc_json_kv_num(&jw, "gflops", c->gflops);
            lc_json_kv_num(&jw, "pct_read_bw", c->pct_bw);
            lc_json_kv_num(&jw, "pct_fma_peak", c->pct_fma);
            lc_json_kv_num(&jw, "cpu_seconds_median", c->cpu_med);
            lc_json_kv_num(&jw, "cpu_gflops", c->cpu_gflops);
            lc_json_end_object(&jw);
        }
        lc_json_end_array(&jw);
        lc_json_end_object(&jw);
        lc_json_finish(&jw);
    } else if (rc == CLI_OK) {
        printf("shape %lld x %lld (rows x cols), isa %s, %s", (long long)rows, (long long)cols, lc_isa_name(ko.isa),
               via_matmul ? "lc_matmul" : "lc_qmatmul (quantised types)");
        if (pk.read_gbs > 0)
            printf(", read bandwidth %.1f GB/s (1 thread %.1f), FMA peak %.1f GFLOP/s (1 thread %.1f)", pk.read_gbs,
                   pk.read_gbs_1t, pk.fma_gflops, pk.fma_gflops_1t);
        printf("\n%-7s %6s %3s %4s %3s %10s %10s %10s %8s %8s %6s %6s %9s %9s\n", "type", "n", "t", "reps", "cp",
               "min ms", "median ms", "max ms", "GB/s", "GFLOP/s", "%bw", "%fma", "cpu ms", "cpuGFLOP");
        for (int k = 0; k < nc; k++) {
            const bm_cell *c = &cells[k];
            printf("%-7s %6lld %3d %4d %3d %10.3f %10.3f %10.3f %8.2f %8.2f %6.1f %6.1f %9.3f %9.2f\n", c->type->name,
                   (long long)c->n_tok, c->threads, c->reps, c->copies, c->s_min * 1e3, c->s_med * 1e3,
                   c->s_max * 1e3, c->gbs, c->gflops, c->pct_bw, c->pct_fma, c->cpu_med * 1e3, c->cpu_gflops);
        }
    }
    if (rc == CLI_OK && !json)
        printf("(cpu ms: CPU time of the process per run, median; cpuGFLOP: the GFLOP/s the run would reach if\n"
               " each of its threads had a core to itself, flops / (cpu s / threads): on a shared machine the\n"
               " wall-clock figures are lower bounds and this one an estimate of the quiet machine's)\n");
    free(cells);
    return rc;
}
