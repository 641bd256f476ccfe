/*
 * Internal: the per-ISA kernels of the Gated DeltaNet recurrent step
 * (deltanet.c dispatches; deltanet_avx2.c is the AVX2 one).
 */
#ifndef LC_ATTN_DELTANET_KERNELS_H
#define LC_ATTN_DELTANET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#if defined(LC_HAVE_X86)
/* One token on one head's state S [dk][dv] (dv % 8 == 0): delta =
 * beta (v - e S^T k), S = e S + k delta^T, o = S^T q. */
void lc_dn_step_avx2(float *S, int32_t dk, int32_t dv, const float *k, const float *q, const float *v, float e,
                     float beta, float *o);
#endif

#endif
