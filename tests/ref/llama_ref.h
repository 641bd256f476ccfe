/*
 * An independent, straightforward scalar forward pass of the Llama
 * architecture, for tests: it reads lc_model_weights directly (with its own
 * dequantisation of f16 / bf16 / q8_0; products with q8_0 weights first
 * round their input to 8-bit blocks, as the runtime and llama.cpp do),
 * accumulates everything in double,
 * computes RoPE angles directly (no tables) and materialises the causal
 * attention matrix. It shares no code with the runtime or its kernels.
 *
 * Supported: RoPE NORM (adjacent pairs) and NEOX (split halves), partial
 * rotary (n_dims < head_dim), scaling NONE or LINEAR; causal softmax attention
 * (full, or a window with sinks) and causal linear attention (elu + 1).
 *
 * Include the .c once in a test (the test CMake rule builds one file per
 * test): #include "ref/llama_ref.c".
 */
#ifndef LC_TEST_LLAMA_REF_H
#define LC_TEST_LLAMA_REF_H

#include <stdint.h>

#include "longctx/model.h"

/* The attention the reference computes. */
typedef enum {
    REF_ATTN_SOFTMAX = 0, /* causal softmax, optionally windowed:        */
    REF_ATTN_LINEAR_ELU   /* causal linear attention, phi = elu + 1      */
} ref_attn_kind;

typedef struct {
    ref_attn_kind kind;
    int64_t window; /* softmax: key j visible to query i iff i - j < window or j < sinks; 0 = no window */
    int64_t sinks;
} ref_attn;

/* logits [n, vocab] (double) of tokens[0..n) as a fresh sequence at positions
 * 0..n-1 (attn NULL: full causal softmax). Returns 0, or -1 if the config uses
 * something unsupported or an allocation fails. */
int ref_llama_forward_ex(const lc_model_config *c, const lc_model_weights *w, const int32_t *tokens, int64_t n,
                         const ref_attn *attn, double *logits);
int ref_llama_forward(const lc_model_config *c, const lc_model_weights *w, const int32_t *tokens, int64_t n,
                      double *logits);

/* Element (r, col) of a weight tensor as a double, dequantised here. */
double ref_tensor_get(const lc_tensor *t, int64_t r, int64_t col);

#endif
