/*
 * flash_perf — time one attention cell through the public API, best of N runs,
 * with process CPU time alongside wall time (on a shared machine, GFLOP/s per
 * CPU-second shows what the kernel does when it gets a core), and peak RSS
 * against the size of Q, K, V and out. The figures in docs/flash.md come from
 * it; `longctx bench attn` is the project's benchmark (medians, %peak, NAIVE
 * speed-up).
 *
 * Build (after building the library in build-A):
 *   cc -O2 -fopenmp -Iinclude tools/flash_perf.c build-A/liblongctx.a -lm -o flash_perf
 * Use:
 *   flash_perf METHOD N_Q N_KV H_Q H_KV D KV_TYPE THREADS [REPS] [CAUSAL] [SPLIT_KV]
 *   e.g. flash_perf flash 16384 16384 1 1 128 f32 2 3        (causal prefill)
 *        flash_perf flash 1 131072 8 8 128 f16 2 9           (decode: q_pos0 = n_kv - n_q)
 * Environment: LONGCTX_ISA=scalar for the portable path.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "longctx/attn.h"
#include "longctx/sys.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Uniform values in [-1.7, 1.7): fast, and the timing does not depend on them. */
static void fill(float *x, size_t n, uint64_t *state) {
    uint64_t s = *state;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 40) * (1.0 / 16777216.0)) * 3.4f - 1.7f;
    }
    *state = s;
}

int main(int argc, char **argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: flash_perf METHOD N_Q N_KV H_Q H_KV D KV_TYPE THREADS [REPS] [CAUSAL] [SPLIT_KV]\n");
        return 2;
    }
    lc_attn_params p;
    lc_error err;
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    if (lc_attn_parse(argv[1], &p, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 2;
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = atoll(argv[2]), s.n_kv = atoll(argv[3]);
    s.n_head = atoi(argv[4]), s.n_head_kv = atoi(argv[5]), s.head_dim = atoi(argv[6]);
    if (!lc_dtype_parse(argv[7], &s.k_type)) return fprintf(stderr, "unknown KV type %s\n", argv[7]), 2;
    s.v_type = s.k_type;
    p.n_threads = atoi(argv[8]);
    const int reps = argc > 9 ? atoi(argv[9]) : 3;
    s.causal = argc > 10 ? atoi(argv[10]) != 0 : true;
    if (argc > 11) p.split_kv = atoi(argv[11]);
    s.q_pos0 = s.n_kv >= s.n_q ? s.n_kv - s.n_q : 0;

    size_t need = 0, krow = 0;
    if (lc_attn_workspace(&s, &p, &need, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    if (lc_dtype_row_bytes(s.k_type, (int64_t)s.n_head_kv * s.head_dim, &krow, &err) != LC_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    const size_t nq = (size_t)s.n_q * (size_t)s.n_head * (size_t)s.head_dim;
    const size_t nkv = (size_t)s.n_kv * (size_t)s.n_head_kv * (size_t)s.head_dim;
    float *q = malloc(nq * 4 + 64), *o = malloc(nq * 4 + 64), *tmp = malloc(nkv * 4 + 64);
    char *k = malloc(krow * (size_t)s.n_kv + 64), *v = malloc(krow * (size_t)s.n_kv + 64);
    void *ws = lc_malloc_aligned(need ? need : 64);
    if (!q || !o || !tmp || !k || !v || !ws) return fprintf(stderr, "out of memory\n"), 1;
    uint64_t state = 88172645463325252ull;
    fill(q, nq, &state);
    for (int w = 0; w < 2; w++) {
        fill(tmp, nkv, &state);
        char *dst = w ? v : k;
        if (s.k_type == LC_DTYPE_F32) memcpy(dst, tmp, nkv * 4);
        else if (s.k_type == LC_DTYPE_F16) lc_f32_to_f16_row(tmp, (uint16_t *)dst, (int64_t)nkv);
        else lc_quantize_row_q8_0(tmp, (lc_block_q8_0 *)dst, (int64_t)nkv);
    }
    free(tmp);

    lc_attn_io io = {q, k, v, o, NULL};
    double best = 1e30, best_cpu = 1e30;
    for (int it = 0; it < reps; it++) {
        const double t0 = lc_time_now(), c0 = cpu_now();
        if (lc_attn_forward(&s, &p, &io, ws, need, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 1;
        const double t = lc_time_now() - t0, c = cpu_now() - c0;
        if (t < best) best = t;
        if (c < best_cpu) best_cpu = c;
    }
    const double flops = lc_attn_flops(&s, &p), kv_bytes = 2.0 * (double)krow * (double)s.n_kv;
    const size_t io_bytes = nq * 4 * 2 + 2 * krow * (size_t)s.n_kv;
    printf("%s n_q=%lld n_kv=%lld H=%d/%d d=%d %s threads=%d: best %.4f s  %.1f GFLOP/s  K+V %.2f GB/s  "
           "(%.1f GFLOP/s per CPU-second)\n",
           argv[1], (long long)s.n_q, (long long)s.n_kv, s.n_head, s.n_head_kv, s.head_dim, argv[7], p.n_threads, best,
           flops / best / 1e9, kv_bytes / best / 1e9, flops / best_cpu / 1e9);
    printf("  Q+K+V+out %.1f MiB, workspace %.3f MiB, peak RSS %.1f MiB (%.2fx Q+K+V+out)\n", io_bytes / 1048576.0,
           need / 1048576.0, lc_peak_rss_bytes() / 1048576.0, (double)lc_peak_rss_bytes() / (double)io_bytes);
    lc_free_aligned(ws);
    free(q), free(o), free(k), free(v);
    return 0;
}
