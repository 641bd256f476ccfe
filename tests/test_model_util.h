/*
 * A llama model configuration for tests that build random models
 * (lc_model_create_random): the given shape, the default RoPE of the head
 * dimension, RMSNorm epsilon 1e-5, training context 64.
 */
#ifndef LC_TEST_MODEL_UTIL_H
#define LC_TEST_MODEL_UTIL_H

#include <stdio.h>
#include <string.h>

#include "longctx/model.h"

static inline lc_model_config test_llama_config(int32_t dim, int32_t hidden, int32_t layers, int32_t heads,
                                                int32_t kv_heads, int32_t head_dim, int32_t vocab) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = dim;
    c.hidden_dim = hidden;
    c.n_layers = layers;
    c.n_heads = heads;
    c.n_kv_heads = kv_heads;
    c.head_dim = head_dim;
    c.vocab_size = vocab;
    c.ctx_train = 64;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, head_dim);
    return c;
}

#endif
