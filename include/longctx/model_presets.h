/*
 * longctx/model_presets.h — the configuration of a model with random weights
 * from a named shape and flags over it: what `longctx convert --random`
 * writes (with lc_model_create_random + lc_model_write_gguf_spec, or, for the
 * mixture-of-experts families, lc_model_write_random_gguf).
 *
 * Presets: 15M, 110M (llama2.c's), 1B, llama3-1B (Llama-3.2-1B: llama3 RoPE
 * factors), qwen2.5-0.5B (q/k/v biases), and the families scaled to about 1B
 * parameters from their published layouts: qwen3next-0.8B (Gated DeltaNet
 * 3 : 1 full attention, experts + shared) and gpt-oss-0.9B (window 128 with
 * learned sinks alternating with full layers, experts, YaRN x32).
 */
#ifndef LONGCTX_MODEL_PRESETS_H
#define LONGCTX_MODEL_PRESETS_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0, -1 or NULL: not given (the preset's value, else the default). */
typedef struct {
    const char *preset;      /* a name above, or NULL                          */
    const char *arch;        /* llama (default), qwen2, gpt-oss, qwen3next     */
    const char *attention;   /* the attention the model is meant for ("linear:elu") */
    const char *scaling;     /* RoPE scaling: none, linear, yarn, ntk, dynamic-ntk */
    int tied;                /* -1: the preset's; 0 untied; 1 tied             */
    int32_t dim, hidden, layers, heads, kv_heads, vocab, head_dim;
    int64_t ctx, orig_ctx;   /* training context (2048); RoPE original (ctx)   */
    float base, scale;       /* RoPE base (10000); scaling factor (1)          */
    /* the families' (gpt-oss, qwen3next) */
    int32_t experts, experts_used, expert_ffn;
    int32_t shared_ffn;      /* -1: not given                                  */
    int32_t interval, conv, ssm_k, ssm_v, ssm_hd, rope_dims;
    int64_t window;          /* -1: not given                                  */
} lc_random_model_spec;

/* Every field unset. */
void lc_random_model_spec_init(lc_random_model_spec *s);
/* The configuration: the preset's shape, the flags over it, the family's
 * machinery (lc_model_family_defaults). LC_ERR_INVALID_ARG with a message
 * for an unknown preset, arch or scaling, a missing shape, heads that do not
 * divide the width, or family options given to a family without them (the
 * message names a field by its `longctx convert` flag: "--heads 3 does not
 * divide --dim 10"). Check
 * the result with lc_model_config_validate. */
lc_status lc_random_model_config(const lc_random_model_spec *s, lc_model_config *out, lc_error *err);
/* Whether arch is one of the mixture-of-experts families (gpt-oss,
 * qwen3next), whose random models are written streamed. */
bool lc_random_model_is_family(const char *arch);
/* A model of shape c with seeded random weights written to path in spec's
 * types (NULL: q8_0 for the families, f32 otherwise). The families are
 * streamed (lc_model_write_random_gguf); other shapes are made in memory
 * (lc_model_create_random) in the spec's base type when the generator makes
 * it (f32, f16, bf16, q8_0), else in f16 and quantized while written. */
lc_status lc_random_model_write(const char *path, const lc_model_config *c, const lc_quant_spec *spec, uint64_t seed,
                                lc_model_write_report *r, lc_error *err);
/* "wrote PATH: random ARCH, SHAPE, TYPE, N parameters, seed S (TIMES)", one
 * line: the shape (with the experts, window and DeltaNet of the families)
 * and the times of what lc_random_model_write reported. */
void lc_random_model_print(FILE *f, const char *path, const lc_model_config *c, const lc_model_write_report *r,
                           uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
