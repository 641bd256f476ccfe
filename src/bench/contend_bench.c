/* Decode beside competing load (bench.h, lc_bench_contend), and the spread of
 * repeated measurements (lc_bench_spread_of). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longctx/bench.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

lc_status lc_bench_spread_of(double *v, int n, lc_bench_spread *out, lc_error *err) {
    if (!v || n < 1 || n > (1 << 20)) return lc_fail(err, LC_ERR_INVALID_ARG, "spread of %d values (1..2^20)", n);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    out->min = v[0];
    out->max = v[n - 1];
    out->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return LC_OK;
}

/* Start n processes that spin until killed; returns how many started. */
static int start_busy(pid_t *pids, int n) {
    int started = 0;
    for (int i = 0; i < n; i++) {
        const pid_t p = fork();
        if (p == 0) {
            volatile unsigned long x = 0;
            for (;;) x++;
        }
        if (p < 0) break;
        pids[started++] = p;
    }
    const struct timespec ts = {0, 100 * 1000 * 1000}; /* let them get scheduled before the timed run */
    nanosleep(&ts, NULL);
    return started;
}

static void stop_busy(const pid_t *pids, int n) {
    for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
}

static lc_status decode_once(const lc_model *m, const lc_context_opts *co, int64_t L, int64_t n_dec, double *tok_s,
                             lc_error *err) {
    lc_bench_model_row row;
    const lc_status st = lc_bench_model_cells(m, co, &L, 1, n_dec, 1, false, &row, err);
    *tok_s = st == LC_OK ? row.decode_tok_s : 0.0;
    return st;
}

lc_status lc_bench_contend(const lc_model *m, const lc_context_opts *opts, int64_t ctx, int64_t n_decode, int busy,
                           int reps, lc_bench_contend_result *out, lc_error *err) {
    if (!m || !opts || !out || busy < 0 || busy > LC_BENCH_CONTEND_MAX || reps < 1 || reps > LC_BENCH_CONTEND_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench contend: %d busy processes, %d runs (0..%d, 1..%d)", busy, reps,
                       LC_BENCH_CONTEND_MAX, LC_BENCH_CONTEND_MAX);
    memset(out, 0, sizeof *out);
    out->threads = opts->n_threads > 0 ? opts->n_threads : lc_cpu_count();
    out->busy = busy, out->reps = reps, out->ctx = ctx, out->n_decode = n_decode;
    double quiet[LC_BENCH_CONTEND_MAX], loaded[LC_BENCH_CONTEND_MAX], warm;
    pid_t pids[LC_BENCH_CONTEND_MAX];
    lc_status st = decode_once(m, opts, ctx, n_decode, &warm, err); /* warm-up: page in the weights */
    for (int r = 0; r < reps && st == LC_OK; r++) {
        if ((st = decode_once(m, opts, ctx, n_decode, &quiet[r], err)) != LC_OK) break;
        const int started = start_busy(pids, busy);
        st = started == busy ? decode_once(m, opts, ctx, n_decode, &loaded[r], err)
                             : lc_fail(err, LC_ERR_IO, "could not start %d busy processes", busy);
        stop_busy(pids, started);
    }
    if (st == LC_OK) st = lc_bench_spread_of(quiet, reps, &out->quiet, err);
    if (st == LC_OK) st = lc_bench_spread_of(loaded, reps, &out->loaded, err);
    if (st == LC_OK) out->slowdown = out->loaded.median > 0 ? out->quiet.median / out->loaded.median : 0.0;
    return st;
}
