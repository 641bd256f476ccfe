/* longctx bench contend — decode speed beside competing CPU load: the same decode
 * timed on a quiet machine and beside N busy processes (same priority, forked by
 * this command and killed after each run), alternating run by run. Reports
 * min / median / max tokens/s of both and the slowdown (quiet median / loaded
 * median); fair share with one busy process per core is 2x. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/runtime.h"

#define MAX_REPS 64
#define MAX_BUSY 64

static const char synopsis[] =
    "usage: longctx bench contend -m MODEL [options]\n\n"
    "Times decode of -n tokens after a prefill of --ctx tokens, alternately on the machine as it\n"
    "is and beside --busy N spinning processes at the same priority (one per CPU by default).\n"
    "Prints min / median / max tokens/s of both and the slowdown (quiet median / loaded median;\n"
    "fair share on P cores with P busy processes is 2x). The OpenMP wait policy in force is\n"
    "printed: the CLI sets OMP_WAIT_POLICY=PASSIVE itself unless OMP_WAIT_POLICY or\n"
    "GOMP_SPINCOUNT is set (see docs/performance.md).\n\n";

/* The decode cell of `bench model` (lc_bench_model_cells): a prefill of L
 * tokens drawn from seed 1, then n_dec tokens one at a time. */
static lc_status decode_once(const lc_model *m, const lc_context_opts *co, int64_t L, int64_t n_dec, double *tok_s,
                             lc_error *err) {
    lc_bench_model_row row;
    const lc_status st = lc_bench_model_cells(m, co, &L, 1, n_dec, 1, false, &row, err);
    *tok_s = st == LC_OK ? row.decode_tok_s : 0.0;
    return st;
}
/* Start n processes that spin until killed; returns how many started. */
static int start_busy(pid_t *pids, int n) {
    int started = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            volatile unsigned long x = 0;
            for (;;) x++;
        }
        if (p < 0) break;
        pids[started++] = p;
    }
    /* let them get scheduled before the timed run */
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return started;
}

static void stop_busy(const pid_t *pids, int n) {
    for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(const double *v, int n, double *mn, double *med, double *mx) {
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *mn = s[0];
    *mx = s[n - 1];
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

int bench_contend(int argc, char **argv) {
    const char *model_path = NULL;
    int64_t L = 128, n_dec = 64;
    int busy = lc_cpu_count(), reps = 5;
    bool json = false;
    lc_context_opts co;
    lc_context_opts_init(&co);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &model_path, "GGUF or llama2.c .bin"),
        CLI_I64("--ctx", "L", &L, 1, 1 << 24, "prompt length before the timed decode (default 128)"),
        CLI_I64("-n|--decode", "N", &n_dec, 1, 1 << 20, "decode tokens timed per run (default 64)"),
        CLI_INT("--busy", "N", &busy, 0, MAX_BUSY, "competing busy processes (default: CPU count)"),
        CLI_INT("--reps", "R", &reps, 1, MAX_REPS, "runs of each kind (default 5, at most 64)"),
        CLI_INT("-t|--threads", "N", &co.n_threads, 1, INT32_MAX, "threads (default: all CPUs)"),
        CLI_SET("--json", &json, "one JSON object on stdout"),
    };
    const cli_opt_spec spec = CLI_SPEC("bench contend", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!model_path) {
        cli_error("bench contend", "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    lc_error err;
    lc_model *m = NULL;
    if (lc_model_load(model_path, NULL, &m, &err) != LC_OK) return cli_fail("bench contend", &err);
    const int threads = co.n_threads > 0 ? co.n_threads : lc_cpu_count();
    const char *wp = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");

    double quiet[MAX_REPS], loaded[MAX_REPS], warm;
    pid_t pids[MAX_BUSY];
    int rc = CLI_OK;
    if (decode_once(m, &co, L, n_dec, &warm, &err) != LC_OK) { /* warm-up: page in the weights */
        rc = cli_fail("bench contend", &err);
        goto done;
    }
    for (int r = 0; r < reps; r++) {
        if (decode_once(m, &co, L, n_dec, &quiet[r], &err) != LC_OK) {
            rc = cli_fail("bench contend", &err);
            goto done;
        }
        int started = start_busy(pids, busy);
        lc_status st = started == busy ? decode_once(m, &co, L, n_dec, &loaded[r], &err)
                                       : lc_fail(&err, LC_ERR_IO, "could not start %d busy processes", busy);
        stop_busy(pids, started);
        if (st != LC_OK) {
            rc = cli_fail("bench contend", &err);
            goto done;
        }
    }
    double qmin, qmed, qmax, lmin, lmed, lmax;
    stats(quiet, reps, &qmin, &qmed, &qmax);
    stats(loaded, reps, &lmin, &lmed, &lmax);
    double slowdown = lmed > 0 ? qmed / lmed : 0.0;
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "model", model_path);
        lc_json_kv_int(&w, "threads", threads);
        lc_json_kv_int(&w, "busy", busy);
        lc_json_kv_int(&w, "ctx", L);
        lc_json_kv_int(&w, "decode_tokens", n_dec);
        lc_json_kv_int(&w, "reps", reps);
        lc_json_kv_str(&w, "omp_wait_policy", wp ? wp : "");
        lc_json_kv_str(&w, "gomp_spincount", sc ? sc : "");
        lc_json_kv_num(&w, "quiet_tok_s_min", qmin);
        lc_json_kv_num(&w, "quiet_tok_s_median", qmed);
        lc_json_kv_num(&w, "quiet_tok_s_max", qmax);
        lc_json_kv_num(&w, "loaded_tok_s_min", lmin);
        lc_json_kv_num(&w, "loaded_tok_s_median", lmed);
        lc_json_kv_num(&w, "loaded_tok_s_max", lmax);
        lc_json_kv_num(&w, "slowdown", slowdown);
        lc_json_end_object(&w);
        lc_json_finish(&w);
    } else {
        printf("model %s, %d threads, decode %lld tokens after %lld, %d runs each, OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s\n",
               model_path, threads, (long long)n_dec, (long long)L, reps, wp ? wp : "(unset)", sc ? sc : "(unset)");
        printf("%-22s %10s %10s %10s  tok/s\n", "", "min", "median", "max");
        printf("%-22s %10.1f %10.1f %10.1f\n", "quiet", qmin, qmed, qmax);
        printf("beside %2d busy procs   %10.1f %10.1f %10.1f\n", busy, lmin, lmed, lmax);
        printf("slowdown (median quiet / median loaded): %.2fx\n", slowdown);
    }
done:
    lc_model_free(m);
    return rc;
}
