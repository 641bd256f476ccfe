/*
 * Internal: the layout of lc_deltanet_state, shared by deltanet_state.c
 * (create, save, load) and deltanet_layer.c (the layer forward).
 */
#ifndef LC_ATTN_DELTANET_INTERNAL_H
#define LC_ATTN_DELTANET_INTERNAL_H

#include "longctx/deltanet.h"

#define LC_DN_MAX_KERNEL 64

struct lc_deltanet_state {
    lc_deltanet_shape shape;
    int32_t kernel, channels;
    size_t ssm_n, conv_n; /* floats */
    float *ssm, *conv;
};

#endif
