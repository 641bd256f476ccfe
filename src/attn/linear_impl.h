/*
 * Internal pieces of LINEAR attention shared by the parallel form (linear.c),
 * the recurrent decode state (linear_state.c) and the tests: feature maps,
 * the FAVOR+ projection, and the chunk-level state operations.
 *
 * Feature maps phi: R^d -> R^F, per head:
 *   elu   phi(x)_t = elu(x_t) + 1                      F = d
 *   relu  phi(x)_t = max(x_t, 0)                       F = d
 *   favor phi(x)_r = exp(w_r . x' - |x'|^2 / 2) / sqrt(m),  x' = x d^(-1/4),
 *         r < m = F; w_r the rows of W [m, d], stacked blocks of d
 *         orthonormal Gaussian directions with chi(d)-distributed lengths
 *         (lc_lin_favor_block), so E[phi(q).phi(k)] = exp(q.k / sqrt(d)).
 *         One W per call / per state, shared by every head.
 *
 * FAVOR+ stabilisation: every factor that is common to all terms of the ratio
 * phi(q).S / phi(q).z cancels, so the code drops 1/sqrt(m) and |q'|^2/2 and
 * keeps, per query, phi(q)_r = exp(b_r - max_r b_r) (b = W q'), and, per key,
 * phi(k)_r = exp(a_r - M) with a = W k' - |k'|^2/2 and M a running maximum
 * of a over the keys absorbed so far. When a chunk raises M, the state
 * accumulated so far is multiplied by exp(M_old - M_new) (like the running
 * max of online softmax). Nothing then exceeds 1 in the features.
 */
#ifndef LC_ATTN_LINEAR_IMPL_H
#define LC_ATTN_LINEAR_IMPL_H

#include <math.h>

#include "attn/attn_internal.h"
#include "attn/linear_kernels.h"

/* Keys per chunk of the parallel form (and of lc_linear_state_absorb). */
#define LC_LIN_CHUNK 32

typedef struct {
    lc_feature_map feature;
    int32_t d;         /* head dim                                   */
    int32_t F;         /* features per head: d, or m for favor        */
    const float *proj; /* favor: [d, F] = W^T d^(-1/4); else NULL     */
    lc_isa isa;
} lc_lin_fmap;

/* F for a feature map: d for elu/relu, n_features (0: d) for favor. */
int32_t lc_lin_feature_count(lc_feature_map f, int32_t d, int32_t n_features);

/* Rows [block * d, min(m, (block + 1) * d)) of the FAVOR+ matrix W [m, d]
 * for this seed, written transposed and scaled: out[t * ldo + r] =
 * W[r][t] * out_scale. Blocks are independent (each has its own random
 * stream), so they can be generated in parallel. scratch: d * d doubles. */
void lc_lin_favor_block(int32_t d, int32_t m, uint64_t seed, int32_t block, double *scratch, float *out, size_t ldo,
                        float out_scale);
/* Number of blocks: ceil(m / d). */
int32_t lc_lin_favor_blocks(int32_t d, int32_t m);

/* Key features of n <= LC_LIN_CHUNK keys given as rows (krows, stride ldr):
 * writes phi(k_j)_r to phikt[r * ldf + j] (features transposed: [F, n]).
 * Returns the stabiliser of these features (favor: the max of a over the
 * keys, the features being exp(a - that max); others 0).
 * Scratch: kt [d * LC_LIN_CHUNK] and hn [LC_LIN_CHUNK] (favor only). */
float lc_lin_key_features(const lc_lin_fmap *fm, const float *krows, size_t ldr, int64_t n, float *phikt, size_t ldf,
                          float *kt, float *hn);

/* Query features of n rows (stride ldq) into phiq [n, F] (favor: each row
 * divided by its largest entry). */
void lc_lin_query_features(const lc_lin_fmap *fm, const float *q, size_t ldq, int64_t n, float *phiq);

/* exp(x - m) for the stabiliser factors; 0 when x is -inf (empty state). */
static inline float lc_lin_factor(float x, float m) {
    return x == -INFINITY ? 0.0f : expf(x - m);
}

#endif /* LC_ATTN_LINEAR_IMPL_H */
