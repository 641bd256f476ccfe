/*
 * Internal: the element-wise row steps of the flash attention backward,
 * portable and AVX2 (attn_rows_avx2.c), picked by the caller's ISA tier.
 */
#ifndef LC_TRAIN_ATTN_ROWS_H
#define LC_TRAIN_ATTN_ROWS_H

#include <stdint.h>

#include "longctx/sys.h"

/* In place over n entries: s[c] = c < vis ? exp(scale * s[c] - lse) : 0. */
void lc_tr_p_row(float *s, int64_t n, int64_t vis, float scale, float lse, lc_isa isa);
/* In place: dp[c] = scale * p[c] * (dp[c] - d). */
void lc_tr_ds_row(float *dp, const float *p, int64_t n, float scale, float d, lc_isa isa);

/* The elu+1 feature map of n rows of x (row stride st, hd columns) into dst
 * [n, hd]: phi(x) = x + 1 for x > 0, e^x otherwise. */
void lc_tr_elu1_rows(float *dst, const float *x, int64_t n, int64_t st, int32_t hd, lc_isa isa);

#if defined(LC_HAVE_X86)
void lc_tr_elu1_rows_avx2(float *dst, const float *x, int64_t n, int64_t st, int32_t hd);
void lc_tr_p_row_avx2(float *s, int64_t n, int64_t vis, float scale, float lse);
void lc_tr_ds_row_avx2(float *dp, const float *p, int64_t n, float scale, float d);
#endif

#endif
