/*
 * Internal: the RoPE cache object and the rotation kernels shared by
 * rope_cache.c, rope_apply.c and rope_apply_avx2.c.
 */
#ifndef LC_ROPE_INTERNAL_H
#define LC_ROPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "longctx/rope.h"
#include "longctx/sys.h"

struct lc_rope_cache {
    lc_rope_config cfg;
    int32_t n_pairs;     /* n_dims / 2                                          */
    int64_t cur_len;     /* DYNAMIC_NTK: the length theta was computed for      */
    double *theta;       /* [n_pairs] current angular frequencies               */
    double mscale;       /* magnitude of cos and sin                            */
    bool stale;          /* rows no longer match theta: compute on the fly      */
    int64_t n_pos;       /* positions covered by the table (<= n_blocks*BLOCK)  */
    int64_t n_blocks;    /* blocks allocated                                    */
    int64_t cap_blocks;  /* capacity of blocks[]                                */
    float **blocks;      /* [n_blocks] each [LC_ROPE_BLOCK][2][n_pairs]         */
    size_t block_bytes;  /* bytes of one block                                  */
    lc_isa isa;          /* kernel tier chosen at creation (lc_isa_best)        */
};

/* Fill rows for positions p0 .. p0+n-1 into rows [n][2][n_pairs] (cos then
 * sin, times mscale): exact sin/cos in double at p0, then the angle-addition
 * recurrence in double (error ~n * 1e-16, far below f32 rounding). */
void lc_rope_fill_rows(const double *theta, int32_t n_pairs, double mscale, int64_t p0, int64_t n, float *rows);

/* Rotate x [n_heads, head_dim] by one row: cs = [2][n_pairs] (cos, sin).
 * transpose: rotate by the negative angle (sin negated). */
void lc_rope_rotate_row(float *x, int32_t n_heads, int32_t head_dim, int32_t n_pairs, lc_rope_layout layout,
                        const float *cs, bool transpose);

#if defined(LC_HAVE_X86)
void lc_rope_rotate_row_avx2(float *x, int32_t n_heads, int32_t head_dim, int32_t n_pairs, lc_rope_layout layout,
                             const float *cs, bool transpose);
#endif

#endif
