/*
 * bench_attn_scaling — how an attention method's time grows with the sequence
 * length: best-of-R wall time per length, ns per token, GFLOP/s of the
 * method's real FLOPs, and the cost per token relative to the first length.
 * Made for the LINEAR target "1M tokens costs <= 1.3x per token of 64K"
 * (docs/linear.md); works for any method spec. Best-of-R (not the median)
 * because the 2-core development machine is shared and slow outliers are
 * other people's work.
 *
 * Build (after building the library in build-B):
 *   gcc -O2 -fopenmp -Iinclude tools/bench_attn_scaling.c build-B/liblongctx.a -lm -o /tmp/bench_attn_scaling
 * Run:
 *   OMP_WAIT_POLICY=PASSIVE /tmp/bench_attn_scaling linear:elu 64K,1M [threads=2] [reps=5] [d=64] [heads=1] [causal=1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "longctx/attn.h"
#include "longctx/sys.h"

/* CPU seconds of the whole process (all threads). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int64_t parse_n(const char *s, char **end) {
    int64_t v = strtoll(s, end, 10);
    if (**end == 'K' || **end == 'k') v *= 1024, (*end)++;
    else if (**end == 'M' || **end == 'm') v *= 1024 * 1024, (*end)++;
    return v;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SPEC N1,N2,... [threads] [reps] [d] [heads] [causal]\n", argv[0]);
        return 2;
    }
    const char *spec = argv[1];
    const int threads = argc > 3 ? atoi(argv[3]) : 0, reps = argc > 4 ? atoi(argv[4]) : 5;
    const int d = argc > 5 ? atoi(argv[5]) : 64, heads = argc > 6 ? atoi(argv[6]) : 1;
    const int causal = argc > 7 ? atoi(argv[7]) : 1;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    lc_error err;
    if (lc_attn_parse(spec, &p, &err) != LC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    p.n_threads = threads;
    char cpu[128];
    lc_cpu_model(cpu, sizeof cpu);
    printf("# %s, %d threads (of %d CPUs), d=%d, heads=%d, %s, best of %d; %s\n", spec, threads ? threads : lc_cpu_count(),
           lc_cpu_count(), d, heads, causal ? "causal" : "non-causal", reps, cpu);
    printf("%10s %12s %12s %10s %12s %10s %14s %10s\n", "n", "best_ms", "ns/token", "GFLOP/s", "workspace", "x/token",
           "cpu_ns/token", "x/token");
    double first = 0.0, first_cpu = 0.0;
    for (char *s = argv[2], *end; *s; s = *end ? end + 1 : end) {
        const int64_t n = parse_n(s, &end);
        if (n <= 0) break;
        lc_attn_shape sh;
        memset(&sh, 0, sizeof sh);
        sh.n_q = sh.n_kv = n;
        sh.n_head = sh.n_head_kv = heads;
        sh.head_dim = d;
        sh.k_type = sh.v_type = LC_DTYPE_F32;
        sh.causal = causal;
        const size_t elems = (size_t)n * heads * d;
        float *q = lc_malloc_aligned(elems * 4), *k = lc_malloc_aligned(elems * 4), *v = lc_malloc_aligned(elems * 4),
              *o = lc_malloc_aligned(elems * 4);
        size_t ws_bytes = 0;
        if (!q || !k || !v || !o || lc_attn_workspace(&sh, &p, &ws_bytes, &err) != LC_OK) {
            fprintf(stderr, "n=%lld: %s\n", (long long)n, (!q || !k || !v || !o) ? "out of memory" : err.msg);
            return 1;
        }
        void *ws = lc_malloc_aligned(ws_bytes);
        uint32_t x = 1;
        for (size_t i = 0; i < elems; i++) {
            x = x * 1664525u + 1013904223u, q[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
            x = x * 1664525u + 1013904223u, k[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
            x = x * 1664525u + 1013904223u, v[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
        }
        lc_attn_io io = {q, k, v, o, NULL};
        double best = 1e30, best_cpu = 1e30;
        for (int r = 0; r < reps + 1; r++) { /* the first run warms up */
            const double t0 = lc_time_now(), c0 = cpu_now();
            if (lc_attn_forward(&sh, &p, &io, ws, ws_bytes, &err) != LC_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            const double dt = lc_time_now() - t0, dc = cpu_now() - c0;
            if (r > 0 && dt < best) best = dt;
            if (r > 0 && dc < best_cpu) best_cpu = dc;
        }
        const double per_tok = best / (double)n, cpu_tok = best_cpu / (double)n;
        if (first == 0.0) first = per_tok, first_cpu = cpu_tok;
        char wsb[32];
        snprintf(wsb, sizeof wsb, "%zu", ws_bytes);
        printf("%10lld %12.1f %12.1f %10.1f %12s %10.3f %14.1f %10.3f\n", (long long)n, best * 1e3, per_tok * 1e9,
               lc_attn_flops(&sh, &p) / best * 1e-9, wsb, per_tok / first, cpu_tok * 1e9, cpu_tok / first_cpu);
        fflush(stdout);
        lc_free_aligned(ws);
        lc_free_aligned(q);
        lc_free_aligned(k);
        lc_free_aligned(v);
        lc_free_aligned(o);
    }
    return 0;
}
