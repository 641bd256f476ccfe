/*
 * longctx/quant.h — writing quantized models: what a `quantize` or
 * `convert --type` produces, and the GGUF-to-GGUF quantizer.
 *
 * A quantization spec names the file's main type and llama.cpp's per-tensor
 * rules (llama-quant.cpp, llama_tensor_get_type), so files written by
 * longctx hold the same tensor types as llama-quantize's:
 *
 *   Q4_0, Q4_1, Q5_0, Q5_1  every weight matrix that type, output.weight Q6_K
 *                           (Q8_0 if its rows are not whole 32-blocks)
 *   Q8_0                    every matrix Q8_0, output.weight included
 *   Q6_K                    every matrix Q6_K
 *   Q4_K_M / Q5_K_M         every matrix Q4_K / Q5_K; output.weight Q6_K; attn_v
 *   (alias Q4_K / Q5_K)     and ffn_down Q6_K in the layers where llama.cpp's
 *                           use_more_bits(i, n) holds: i < n/8, i >= 7n/8, or
 *                           (i - n/8) % 3 == 2 (about half of them)
 *   F32, F16, BF16          every matrix that type
 *
 * The classifier rule (output.weight, or token_embd.weight when the model has
 * no output.weight) applies to every spec but the plain ones and `pure`.
 * Rows that are not a whole number of 256-blocks fall back as in llama.cpp:
 * Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, then F16 if not even 32-blocks.
 * Quantized: every tensor whose name ends in "weight" with 2 or more
 * dimensions, except norms ("_norm.weight"), MoE routers (ffn_gate_inp) and
 * positional / token-type embeddings; everything else is copied unchanged.
 */
#ifndef LONGCTX_QUANT_H
#define LONGCTX_QUANT_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char name[16];      /* canonical name: "Q4_K_M", "Q8_0", "F16" ...         */
    lc_dtype base;      /* the type most matrices get                          */
    bool k_m;           /* the _M rules for attn_v / ffn_down                  */
    bool pure;          /* every matrix `base` (no classifier / _M rules)      */
    uint32_t file_type; /* llama.cpp's general.file_type (LLAMA_FTYPE_*)       */
} lc_quant_spec;

/* Parse "Q4_0", "q4_k_m", "Q6_K", "f16", ... (case-insensitive). Refuses the
 * types longctx reads but does not write (Q2_K, Q3_K, IQ4_NL, IQ4_XS, MXFP4)
 * and unknown names, with a message listing the accepted ones. */
lc_status lc_quant_spec_parse(const char *s, lc_quant_spec *out, lc_error *err);
/* The spec that writes every matrix as t (t writable: f32/f16/bf16 or a type
 * with a quantizer); false otherwise. */
bool lc_quant_spec_pure(lc_dtype t, lc_quant_spec *out);

/* Per-tensor choice, called for the tensors of a file in order (llama.cpp
 * counts attn_v and ffn_down tensors as they come). */
typedef struct {
    int64_t n_attn_v;             /* tensors named *attn_v.weight, *attn_qkv.weight */
    int64_t n_ffn_down;           /* layers (llama.cpp uses n_layer)               */
    int64_t i_attn_v, i_ffn_down; /* how many were seen so far                     */
    bool has_output;              /* output.weight exists (untied)                 */
} lc_quant_plan;

/* A plan for a file with n_attn_v value projections, n_layers layers, and
 * output.weight or not. */
void lc_quant_plan_init(lc_quant_plan *p, int64_t n_attn_v, int64_t n_layers, bool has_output);
/* Whether a tensor is one the rules quantize (see above). */
bool lc_quant_tensor_is_weight(const char *name, uint32_t n_dims);
/* The type to store tensor `name` (ne[0] columns) as, advancing the plan;
 * src_type for a tensor that is not quantized. *fallback (may be NULL) is set
 * when the rows forced a fallback type. */
lc_dtype lc_quant_choose(const lc_quant_spec *s, lc_quant_plan *p, const char *name, uint32_t n_dims, int64_t ne0,
                         lc_dtype src_type, bool *fallback);

/* Convert a row of n f32 values to type t (any writable type; n a multiple
 * of its block). Refuses non-finite input. */
lc_status lc_quant_row_from_f32(lc_dtype t, const float *src, void *dst, int64_t n, lc_error *err);

typedef struct {
    bool allow_requantize; /* accept already-quantized input tensors       */
    int n_threads;         /* <= 0: every CPU                              */
    lc_progress_fn progress;
    void *progress_user;
} lc_quantize_opts;

typedef struct {
    int64_t n_tensors, n_quantized, n_fallback;
    int64_t count[LC_DTYPE_COUNT]; /* tensors written per type */
    uint64_t bytes_in, bytes_out;  /* tensor data               */
    double seconds;                /* the whole call            */
} lc_quantize_report;

void lc_quantize_opts_init(lc_quantize_opts *o);

/* Quantize a GGUF file: every key is copied (general.file_type and
 * general.quantization_version set), tensors converted as the spec says one
 * at a time from the input's mapping, and the output written to a temporary
 * file renamed over out_path (never a partial file). rep may be NULL. */
lc_status lc_quantize_gguf(const char *in_path, const char *out_path, const lc_quant_spec *spec,
                           const lc_quantize_opts *o, lc_quantize_report *rep, lc_error *err);
/* "wrote OUT: SPEC[ (pure)], N tensors (Q quantized, F fallbacks), A MB -> B MB,
 * S s" and "tensor types: f32 11 q4_0 30 ..." (two lines). */
void lc_quantize_report_print(FILE *f, const char *out_path, const lc_quant_spec *spec, const lc_quantize_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_QUANT_H */
