/*
 * longctx/model_info.h — facts about a model file for a summary (what
 * `longctx info` prints): its weights by tensor type, its tokenizer, and the
 * whole summary (format, shape, parameters, tensor types, context, RoPE,
 * family, attention, tokenizer, KV-cache cost per 1K tokens) as text lines
 * or as one JSON object; a GGUF's metadata keys the same two ways.
 */
#ifndef LONGCTX_MODEL_INFO_H
#define LONGCTX_MODEL_INFO_H

#include <stdio.h>

#include "longctx/gguf.h"
#include "longctx/json.h"
#include "longctx/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t count[LC_DTYPE_COUNT];     /* tensors of each type                     */
    double type_bytes[LC_DTYPE_COUNT]; /* their bytes                              */
    int64_t other;                     /* GGUF tensors of types longctx does not read */
    double other_bytes;
    double bytes;                      /* all weights                              */
} lc_tensor_type_counts;

/* From the GGUF's tensor list when g is given (every tensor, rope_freqs
 * included), else from the model's weights (m). */
void lc_tensor_type_counts_get(const lc_model *m, const lc_gguf *g, lc_tensor_type_counts *out);

/* The share (0..1) of the memory holding m's weight matrices that is mapped
 * in huge (2 MiB) pages now (lc_huge_page_share over the span from the
 * lowest matrix to the end of the highest); -1 if unknown. A mapped file's
 * pages come as the weights are first read, so ask after a first token. */
double lc_model_huge_page_share(const lc_model *m);

/* tokenizer.ggml.model (at most 64 bytes; "" when absent) and the count of
 * tokenizer.ggml.tokens (0 when absent) from a GGUF's metadata. */
void lc_gguf_tokenizer_meta(const lc_gguf *g, char *model, size_t cap, uint64_t *n_tokens);

/* The tokenizer: "spm" or "bpe" when the model (m, may be NULL) has one built,
 * else the GGUF's tokenizer.ggml.model with "(metadata only: not built)", or
 * "none"; into buf. *n_tokens: its vocabulary (0 when unknown). */
const char *lc_model_tokenizer_summary(const lc_model *m, const lc_gguf *g, char *buf, size_t cap, int64_t *n_tokens);

/* The summary of a loaded model m read from path (g: its GGUF, open, or NULL
 * for a llama2.c checkpoint), one "name          value" line per fact: file,
 * format, architecture, shape, parameters, tensor types, context, rope, rope
 * detail (rope short / rope window when the family has them), claimed ctx,
 * family, layers, attention, tokenizer, kv cache/1K (f32, f16, q8_0). */
void lc_model_info_print(FILE *f, const char *path, const lc_model *m, const lc_gguf *g);
/* The same facts as one JSON object written to w: file, format,
 * gguf_version (GGUF only), architecture, dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, head_dim, vocab_size, n_params, tied_output, tensor_types and
 * tensor_type_bytes (by type name), weight_bytes, ctx_train, norm_eps, rope
 * {layout, freq_base, n_dims, scaling, factor, orig_ctx, n_factors, describe,
 * short?, window_layers?}, family, window, layer_kinds [...], attention,
 * tokenizer {kind, n_tokens}, kv_bytes_per_1k_tokens {f32, f16, q8_0: bytes or
 * null}; with_metadata and g: also "metadata" (lc_gguf_metadata_json). */
void lc_model_info_json(lc_json_writer *w, const char *path, const lc_model *m, const lc_gguf *g, bool with_metadata);

/* A GGUF that is not a model longctx loads (a vocabulary, another family):
 * file, format, architecture, tensor types (types longctx does not read named
 * by ggml's name), tokenizer, then "metadata:" and lc_gguf_metadata_print. */
void lc_gguf_info_print(FILE *f, const char *path, const lc_gguf *g);
/* The same as one JSON object: file, format, gguf_version, n_tensors,
 * architecture (or null), tokenizer {kind, n_tokens}, metadata. */
void lc_gguf_info_json(lc_json_writer *w, const char *path, const lc_gguf *g);

/* What `longctx info` prints: the model's summary when m is given (with
 * with_metadata and g, also "metadata:" and every key), else the GGUF's
 * (lc_gguf_info_print); as text, or (json) as one pretty JSON document. */
void lc_model_info_write(FILE *f, const char *path, const lc_model *m, const lc_gguf *g, bool json,
                         bool with_metadata);
/* The same from the file at path, as `longctx info` does: a GGUF without
 * tensors (a vocabulary) is described as a GGUF; a model file is loaded
 * (tokenizer_path: a llama2.c model's tokenizer.bin, ignored for a GGUF)
 * and described. A GGUF that holds tensors but does not load is described
 * as a GGUF and the load's error returned; a file that cannot be read writes
 * nothing. */
lc_status lc_model_info_write_file(FILE *f, const char *path, const char *tokenizer_path, bool json,
                                   bool with_metadata, lc_error *err);

/* Every metadata key of g, one line each: "  KEY TYPE VALUE", strings quoted,
 * escaped and cut to 60 bytes, arrays as "[TYPE x N]" with the first 4
 * strings of a string array. */
void lc_gguf_metadata_print(FILE *f, const lc_gguf *g);
/* "metadata": {KEY: value, ...} into the open object of w; arrays as
 * {"array_of": TYPE, "count": N}. */
void lc_gguf_metadata_json(lc_json_writer *w, const lc_gguf *g);

#ifdef __cplusplus
}
#endif
#endif
