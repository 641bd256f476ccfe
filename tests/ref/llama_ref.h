/*
 * An independent, straightforward scalar forward pass of the Llama
 * architecture, for tests: it reads lc_model_weights directly (with its own
 * dequantisation of f16 / bf16 / q8_0), accumulates everything in double,
 * computes RoPE angles directly (no tables) and materialises the causal
 * attention matrix. It shares no code with the runtime or its kernels.
 *
 * Supported: RoPE NORM (adjacent pairs) and NEOX (split halves), partial
 * rotary (n_dims < head_dim), scaling NONE or LINEAR; softmax attention.
 *
 * Include the .c once in a test (the test CMake rule builds one file per
 * test): #include "ref/llama_ref.c".
 */
#ifndef LC_TEST_LLAMA_REF_H
#define LC_TEST_LLAMA_REF_H

#include <stdint.h>

#include "longctx/model.h"

/* logits [n, vocab] (double) of tokens[0..n) as a fresh sequence at positions
 * 0..n-1. Returns 0, or -1 if the config uses something unsupported or an
 * allocation fails. */
int ref_llama_forward(const lc_model_config *c, const lc_model_weights *w, const int32_t *tokens, int64_t n,
                      double *logits);

/* Element (r, col) of a weight tensor as a double, dequantised here. */
double ref_tensor_get(const lc_tensor *t, int64_t r, int64_t col);

#endif
