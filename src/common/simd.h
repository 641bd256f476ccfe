/*
 * Internal: prototypes of the AVX2/FMA/F16C helpers in *_avx2.c files.
 * Call them only after lc_isa_best() >= LC_ISA_AVX2.
 */
#ifndef LC_COMMON_SIMD_H
#define LC_COMMON_SIMD_H

#include <stdint.h>

#if defined(LC_HAVE_X86)
void lc_f16_to_f32_row_avx2(const uint16_t *src, float *dst, int64_t n);
void lc_f32_to_f16_row_avx2(const float *src, uint16_t *dst, int64_t n);
#endif

#endif
