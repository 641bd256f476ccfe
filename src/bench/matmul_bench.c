/* Weight-matrix products Y = X W^T per weight type (bench.h,
 * lc_bench_matmul_cell): what `longctx bench matmul` measures. Quantised
 * types run the integer kernels (lc_qmatmul) or, asked, the public lc_matmul;
 * f32 / f16 / bf16 run lc_matmul. Each repetition reads the next copy of the
 * weights, so decode figures are memory reads, not cache hits. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"
#include "longctx/kernels.h"
#include "quant/qk_kernels.h"

typedef struct {
    char name[16];
    bool quant;
    lc_qk_type qt;
    lc_dtype dt;
} mm_type;

struct lc_bench_matmul_weights {
    mm_type type;
    int64_t rows, cols;
    void **w;
    int copies;
    size_t bytes; /* of one copy */
};

static bool parse_type(const char *s, mm_type *out) {
    const size_t len = strlen(s);
    if (len == 0 || len >= sizeof out->name) return false;
    for (int t = 0; t < LC_QK_COUNT; t++) {
        const char *nm = lc_qk_info_get((lc_qk_type)t)->name;
        if (strlen(nm) != len) continue;
        size_t i = 0;
        while (i < len && tolower((unsigned char)nm[i]) == tolower((unsigned char)s[i])) i++;
        if (i == len) {
            snprintf(out->name, sizeof out->name, "%s", nm);
            out->quant = true;
            out->qt = (lc_qk_type)t;
            return lc_dtype_parse(nm, &out->dt); /* the tensor type, for lc_matmul */
        }
    }
    lc_dtype d;
    if (lc_dtype_parse(s, &d) && d != LC_DTYPE_Q8_0) {
        snprintf(out->name, sizeof out->name, "%s", lc_dtype_name(d));
        out->quant = false;
        out->dt = d;
        return true;
    }
    return false;
}

bool lc_bench_matmul_type_name(const char *name, char *canonical, size_t len) {
    mm_type t;
    if (!name || !parse_type(name, &t)) return false;
    if (canonical && len) snprintf(canonical, len, "%s", t.name);
    return true;
}

static size_t type_weight_bytes(const mm_type *t, int64_t rows, int64_t cols) {
    size_t rb = 0, total = 0;
    if (rows < 1 || cols < 1) return 0;
    if (t->quant) {
        const lc_qk_info *in = lc_qk_info_get(t->qt);
        if (cols % in->block) return 0;
        rb = (size_t)(cols / in->block) * in->block_bytes;
    } else if (lc_dtype_row_bytes(t->dt, cols, &rb, NULL) != LC_OK) {
        return 0;
    }
    return lc_mul_size(rb, (size_t)rows, &total) ? total : 0;
}

size_t lc_bench_matmul_weight_bytes(const char *type, int64_t rows, int64_t cols) {
    mm_type t;
    return type && parse_type(type, &t) ? type_weight_bytes(&t, rows, cols) : 0;
}

/* 64-byte aligned memory (free() releases it), NULL on failure. */
static void *amalloc(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n ? n : 64) == 0 ? p : NULL;
}

static void fill_weights(const mm_type *t, void *w, int64_t rows, int64_t cols, uint64_t seed) {
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

void lc_bench_matmul_weights_free(lc_bench_matmul_weights *w) {
    if (!w) return;
    for (int c = 0; w->w && c < w->copies; c++) free(w->w[c]);
    free(w->w);
    free(w);
}

lc_status lc_bench_matmul_weights_create(const char *type, int64_t rows, int64_t cols, int copies,
                                         lc_bench_matmul_weights **out, lc_error *err) {
    if (!type || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: NULL argument");
    *out = NULL;
    mm_type t;
    if (!parse_type(type, &t)) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: '%s' is not a weight type", type);
    const size_t wb = type_weight_bytes(&t, rows, cols);
    if (wb == 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: %lld x %lld is not a whole number of %s blocks",
                       (long long)rows, (long long)cols, t.name);
    if (copies < 0 || copies > 64) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: %d copies", copies);
    lc_bench_matmul_weights *w = calloc(1, sizeof *w);
    const int nco = copies ? copies : (int)LC_MIN((size_t)8, ((size_t)128 << 20) / wb + 1);
    if (w) w->w = calloc((size_t)nco, sizeof *w->w);
    if (!w || !w->w) {
        free(w);
        return lc_fail(err, LC_ERR_NOMEM, "bench matmul: out of memory for %s weights", t.name);
    }
    w->type = t, w->rows = rows, w->cols = cols, w->bytes = wb;
    for (int c = 0; c < nco; c++) { /* fewer copies when memory runs out, at least one */
        w->w[c] = amalloc(wb);
        if (!w->w[c]) break;
        fill_weights(&t, w->w[c], rows, cols, 100 + (uint64_t)c);
        w->copies = c + 1;
    }
    if (w->copies == 0) {
        lc_bench_matmul_weights_free(w);
        return lc_fail(err, LC_ERR_NOMEM, "bench matmul: out of memory for %s weights", t.name);
    }
    *out = w;
    return LC_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_sorted(const double *v, int n) { return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }

/* The figures of one cell from its sorted wall and CPU seconds. */
static void cell_figures(lc_bench_matmul_row *cl, const lc_peak *pk, const double *sec, const double *cpu) {
    const int nrep = cl->reps, th = cl->threads;
    const double flop = 2.0 * (double)cl->rows * (double)cl->cols * (double)cl->n_tok;
    cl->s_min = sec[0], cl->s_max = sec[nrep - 1];
    cl->s_med = median_sorted(sec, nrep);
    cl->gbs = (double)cl->weight_bytes / cl->s_med / 1e9;
    cl->cpu_med = median_sorted(cpu, nrep);
    cl->cpu_gflops = flop / (cl->cpu_med / th) / 1e9;
    cl->gflops = flop / cl->s_med / 1e9;
    const double bw = !pk ? 0 : th == 1 ? pk->read_gbs_1t : pk->read_gbs;
    const double fma = !pk ? 0 : th == 1 ? pk->fma_gflops_1t : pk->fma_gflops;
    cl->pct_bw = bw > 0 ? 100.0 * cl->gbs / bw : 0;
    cl->pct_fma = fma > 0 ? 100.0 * cl->gflops / fma : 0;
}

/* reps timed runs after a warm-up into sec[0..reps) (wall) and sec[reps..2 reps) (CPU). */
static lc_status time_runs(const lc_bench_matmul_weights *W, const float *x, int64_t nt, float *y, void *ws,
                           size_t wsb, bool qk, int th, int nrep, double *sec, lc_error *err) {
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    ko.n_threads = th;
    lc_tensor tw = {W->type.dt, W->rows, W->cols, W->w[0]};
    for (int k = -1; k < nrep; k++) { /* k = -1: warm-up */
        const void *wd = W->w[(k + 1) % W->copies];
        const double t0 = lc_time_now(), c0 = lc_process_cpu_seconds();
        if (qk) {
            lc_qmatmul(W->type.qt, wd, W->bytes / (size_t)W->rows, W->rows, W->cols, x, nt, y, ws, th, ko.isa);
        } else {
            tw.data = wd;
            lc_status st = lc_matmul(&tw, x, nt, y, ws, wsb, &ko, err);
            if (st != LC_OK) return st;
        }
        if (k >= 0) {
            sec[k] = lc_time_now() - t0;
            sec[nrep + k] = lc_process_cpu_seconds() - c0;
        }
    }
    return LC_OK;
}

lc_status lc_bench_matmul_cell(const lc_bench_matmul_weights *W, int64_t n_tok, int threads, int reps,
                               bool via_matmul, const lc_peak *pk, lc_bench_matmul_row *out, lc_error *err) {
    if (!W || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: NULL argument");
    if (n_tok < 1 || n_tok > 65536 || threads < 1 || threads > 1024 || reps < 1 || reps > 100000)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: %lld tokens, %d threads, %d repetitions",
                       (long long)n_tok, threads, reps);
    memset(out, 0, sizeof *out);
    snprintf(out->type, sizeof out->type, "%s", W->type.name);
    out->rows = W->rows, out->cols = W->cols, out->n_tok = n_tok, out->threads = threads, out->reps = reps;
    out->copies = W->copies, out->weight_bytes = W->bytes;
    const bool qk = W->type.quant && !via_matmul; /* lc_qmatmul, else lc_matmul */
    lc_tensor tw = {W->type.dt, W->rows, W->cols, W->w[0]};
    size_t wsb = 0;
    lc_status st = LC_OK;
    if (qk) wsb = lc_qmatmul_workspace(W->type.qt, W->cols, n_tok);
    else if ((st = lc_matmul_workspace(&tw, n_tok, threads, &wsb, err)) != LC_OK) return st;
    void *ws = wsb ? amalloc(wsb) : NULL;
    double *sec = malloc(2 * (size_t)reps * sizeof(double));
    float *x = malloc((size_t)n_tok * (size_t)W->cols * sizeof(float));
    float *y = malloc((size_t)n_tok * (size_t)W->rows * sizeof(float));
    if ((wsb && !ws) || !sec || !x || !y) {
        st = lc_fail(err, LC_ERR_NOMEM, "bench matmul: out of memory");
    } else {
        lc_rng r;
        lc_rng_seed(&r, 7);
        for (size_t i = 0; i < (size_t)n_tok * (size_t)W->cols; i++) x[i] = lc_rng_normal(&r);
        st = time_runs(W, x, n_tok, y, ws, wsb, qk, threads, reps, sec, err);
    }
    if (st == LC_OK) {
        qsort(sec, (size_t)reps, sizeof *sec, cmp_double);
        qsort(sec + reps, (size_t)reps, sizeof *sec, cmp_double);
        cell_figures(out, pk, sec, sec + reps);
    }
    free(x);
    free(y);
    free(sec);
    free(ws);
    return st;
}

lc_status lc_bench_matmul_types_parse(const char *list, lc_bench_matmul_type *out, int max, int *n, lc_error *err) {
    if (!list || !out || !n) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: NULL argument");
    for (*n = 0; *list;) {
        const char *e = strchr(list, ',');
        const size_t len = e ? (size_t)(e - list) : strlen(list);
        char buf[16];
        if (*n >= max || len == 0 || len >= sizeof buf)
            return lc_fail(err, LC_ERR_INVALID_ARG, "not a list of at most %d weight types", max);
        memcpy(buf, list, len);
        buf[len] = 0;
        if (!lc_bench_matmul_type_name(buf, out[*n], sizeof out[*n]))
            return lc_fail(err, LC_ERR_INVALID_ARG, "'%s' is not a weight type", buf);
        ++*n;
        list += len + (e ? 1 : 0);
    }
    return *n > 0 ? LC_OK : lc_fail(err, LC_ERR_INVALID_ARG, "no weight type given");
}

lc_status lc_bench_matmul_grid_run(const lc_bench_matmul_grid *g, lc_bench_matmul_row *rows, lc_error *err) {
    if (!rows) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: no rows");
    lc_status st = lc_bench_matmul_grid_check(g, err);
    int nc = 0;
    for (int ti = 0; ti < g->n_types && st == LC_OK; ti++) {
        lc_bench_matmul_weights *w = NULL;
        st = lc_bench_matmul_weights_create(g->types[ti], g->rows, g->cols, g->copies, &w, err);
        for (int ki = 0; ki < g->n_toks && st == LC_OK; ki++)
            for (int hi = 0; hi < g->n_threads && st == LC_OK; hi++) {
                const int reps = g->reps ? g->reps : g->toks[ki] == 1 ? 10 : 3;
                st = lc_bench_matmul_cell(w, g->toks[ki], (int)g->threads[hi], reps, g->via_matmul, g->pk, &rows[nc],
                                          err);
                if (st == LC_OK && g->on_cell) g->on_cell(g->user, &rows[nc]);
                nc++;
            }
        lc_bench_matmul_weights_free(w);
    }
    return st;
}
