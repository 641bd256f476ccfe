/* lc_bench_peak: FP32 FMA peak (1 and all threads) of every SIMD tier the CPU
 * has, and memory read bandwidth. */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "bench/peak_kernels.h"
#include "common/util.h"
#include "longctx/bench.h"

float lc_peak_fma_scalar(int64_t iters) {
    float a[12], b = 0.999999f, c = 1e-6f;
    for (int k = 0; k < 12; k++) a[k] = 1.0f + 0.1f * (float)k;
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = fmaf(a[k], b, c);
    float s = 0;
    for (int k = 0; k < 12; k++) s += a[k];
    return s;
}

double lc_peak_sum_scalar(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

static float run_fma(lc_isa isa, int64_t iters) {
#if defined(LC_HAVE_AVX512)
    if (isa >= LC_ISA_AVX512) return lc_peak_fma_avx512(iters);
#endif
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return lc_peak_fma_avx2(iters);
#endif
    (void)isa;
    return lc_peak_fma_scalar(iters);
}

float lc_peak_fma_tier(lc_isa isa, int64_t iters) {
    /* the AVX2 loop returns 2 lanes' sums, the AVX-512 loop all 16 */
#if defined(LC_HAVE_AVX512)
    if (isa >= LC_ISA_AVX512) return run_fma(isa, iters) / 16.0f;
#endif
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return run_fma(LC_ISA_AVX2, iters) / 2.0f;
#endif
    return run_fma(LC_ISA_SCALAR, iters);
}

static double run_sum(lc_isa isa, const float *x, size_t n) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return lc_peak_sum_avx2(x, n);
#endif
    (void)isa;
    return lc_peak_sum_scalar(x, n);
}

/* Best GFLOP/s over a few timed rounds on `threads` threads. */
static double fma_gflops(lc_isa isa, int threads, volatile float *sink) {
    const double per_iter = isa >= LC_ISA_AVX512 ? LC_PEAK_FLOPS_PER_ITER_AVX512
                            : isa >= LC_ISA_AVX2 ? LC_PEAK_FLOPS_PER_ITER_AVX2
                                                 : LC_PEAK_FLOPS_PER_ITER_SCALAR;
    int64_t iters = 1 << 20;
    /* Grow the loop until one round takes >= 50 ms. */
    for (;;) {
        double t0 = lc_time_now();
        *sink += run_fma(isa, iters);
        if (lc_time_now() - t0 > 0.05 || iters > ((int64_t)1 << 34)) break;
        iters *= 2;
    }
    double best = 0;
    for (int round = 0; round < 5; round++) {
        float acc = 0;
        double t0 = lc_time_now();
#pragma omp parallel num_threads(threads) reduction(+ : acc)
        acc += run_fma(isa, iters);
        double dt = lc_time_now() - t0;
        *sink += acc;
        double g = per_iter * (double)iters * threads / dt / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* Best GB/s reading x (n floats) with `threads` threads, static partition. */
static double read_gbs(lc_isa isa, const float *x, size_t n, int threads, volatile double *sink) {
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double acc = 0;
        double t0 = lc_time_now();
#pragma omp parallel num_threads(threads) reduction(+ : acc)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t lo = n * (size_t)t / (size_t)nt, hi = n * (size_t)(t + 1) / (size_t)nt;
            acc += run_sum(isa, x + lo, hi - lo);
        }
        double dt = lc_time_now() - t0;
        *sink += acc;
        double g = (double)n * sizeof(float) / dt / 1e9;
        if (g > best) best = g;
    }
    return best;
}

lc_status lc_bench_peak(int n_threads, size_t buffer_bytes, lc_peak *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench peak: NULL output");
    memset(out, 0, sizeof *out);
    int threads = n_threads > 0 ? n_threads : lc_cpu_count();
    lc_isa isa = lc_isa_best();
#if !defined(LC_HAVE_AVX512)
    if (isa > LC_ISA_AVX2) isa = LC_ISA_AVX2; /* built without the AVX-512 loop: no tier above AVX2 runs */
#endif
    if (buffer_bytes == 0) {
        buffer_bytes = (size_t)1 << 30;
        size_t avail = lc_mem_available_bytes();
        if (avail && buffer_bytes > avail / 4) buffer_bytes = avail / 4;
    }
    size_t n = buffer_bytes / sizeof(float);
    n -= n % ((size_t)threads * 32);
    if (n == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "bench peak: buffer of %zu bytes is too small", buffer_bytes);
    float *x = lc_malloc_aligned(n * sizeof(float));
    if (!x) return lc_fail(err, LC_ERR_NOMEM, "bench peak: cannot allocate %zu bytes", n * sizeof(float));
    /* First touch with the same static partition the readers use. */
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t lo = n * (size_t)t / (size_t)nt, hi = n * (size_t)(t + 1) / (size_t)nt;
        for (size_t i = lo; i < hi; i++) x[i] = (float)(i & 1023) * 1e-3f;
    }
    volatile float fsink = 0;
    volatile double dsink = 0;
    out->isa = isa;
    out->threads = threads;
    out->read_buffer_bytes = n * sizeof(float);
    /* Every tier the kernels may run at: AVX2 always when present, AVX-512
     * too where the CPU has it. The headline figures are the best tier's. */
    if (isa >= LC_ISA_AVX2) {
        out->fma_gflops_1t_avx2 = fma_gflops(LC_ISA_AVX2, 1, &fsink);
        out->fma_gflops_avx2 = fma_gflops(LC_ISA_AVX2, threads, &fsink);
    }
    if (isa >= LC_ISA_AVX512) {
        out->fma_gflops_1t_avx512 = fma_gflops(LC_ISA_AVX512, 1, &fsink);
        out->fma_gflops_avx512 = fma_gflops(LC_ISA_AVX512, threads, &fsink);
    }
    if (isa >= LC_ISA_AVX512) {
        out->fma_gflops_1t = out->fma_gflops_1t_avx512;
        out->fma_gflops = out->fma_gflops_avx512;
    } else if (isa >= LC_ISA_AVX2) {
        out->fma_gflops_1t = out->fma_gflops_1t_avx2;
        out->fma_gflops = out->fma_gflops_avx2;
    } else {
        out->fma_gflops_1t = fma_gflops(isa, 1, &fsink);
        out->fma_gflops = fma_gflops(isa, threads, &fsink);
    }
    /* The read loop is AVX2 (bandwidth-bound: a wider one reads no faster). */
    lc_isa rd = isa > LC_ISA_AVX2 ? LC_ISA_AVX2 : isa;
    out->read_gbs_1t = read_gbs(rd, x, n, 1, &dsink);
    out->read_gbs = read_gbs(rd, x, n, threads, &dsink);
    lc_free_aligned(x);
    return LC_OK;
}
