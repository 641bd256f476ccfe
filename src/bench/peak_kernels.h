/* Internal: the timed inner loops of lc_bench_peak (scalar and AVX2). */
#ifndef LC_BENCH_PEAK_KERNELS_H
#define LC_BENCH_PEAK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* iters rounds of independent FMAs; returns a value that depends on all of
 * them (so nothing is optimised away). FLOPs = iters * lc_peak_flops_per_iter. */
float lc_peak_fma_scalar(int64_t iters);
double lc_peak_sum_scalar(const float *x, size_t n);
#if defined(LC_HAVE_X86)
float lc_peak_fma_avx2(int64_t iters);
double lc_peak_sum_avx2(const float *x, size_t n);
#endif
#define LC_PEAK_FLOPS_PER_ITER_AVX2 (12.0 * 8.0 * 2.0)
#define LC_PEAK_FLOPS_PER_ITER_SCALAR (12.0 * 2.0)

#endif
