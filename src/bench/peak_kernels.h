/* Internal: the timed inner loops of lc_bench_peak (scalar, AVX2, AVX-512). */
#ifndef LC_BENCH_PEAK_KERNELS_H
#define LC_BENCH_PEAK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "longctx/sys.h"

/* iters rounds of independent FMAs; returns a value that depends on all of
 * them (so nothing is optimised away). FLOPs = iters * lc_peak_flops_per_iter. */
float lc_peak_fma_scalar(int64_t iters);
double lc_peak_sum_scalar(const float *x, size_t n);
/* The FMA loop of tier isa (or the best below it this build has), scaled to
 * one lane's 12-chain sum: equal to lc_peak_fma_scalar(iters) up to rounding. */
float lc_peak_fma_tier(lc_isa isa, int64_t iters);
#if defined(LC_HAVE_X86)
float lc_peak_fma_avx2(int64_t iters);
double lc_peak_sum_avx2(const float *x, size_t n);
#endif
#if defined(LC_HAVE_AVX512)
float lc_peak_fma_avx512(int64_t iters);
#endif
#define LC_PEAK_FLOPS_PER_ITER_AVX512 (12.0 * 16.0 * 2.0)
#define LC_PEAK_FLOPS_PER_ITER_AVX2 (12.0 * 8.0 * 2.0)
#define LC_PEAK_FLOPS_PER_ITER_SCALAR (12.0 * 2.0)

#endif
