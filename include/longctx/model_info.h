/*
 * longctx/model_info.h — facts about a model file for a summary (what
 * `longctx info` prints): its weights by tensor type, and its tokenizer.
 */
#ifndef LONGCTX_MODEL_INFO_H
#define LONGCTX_MODEL_INFO_H

#include "longctx/gguf.h"
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

/* tokenizer.ggml.model (at most 64 bytes; "" when absent) and the count of
 * tokenizer.ggml.tokens (0 when absent) from a GGUF's metadata. */
void lc_gguf_tokenizer_meta(const lc_gguf *g, char *model, size_t cap, uint64_t *n_tokens);

/* The tokenizer: "spm" or "bpe" when the model (m, may be NULL) has one built,
 * else the GGUF's tokenizer.ggml.model with "(metadata only: not built)", or
 * "none"; into buf. *n_tokens: its vocabulary (0 when unknown). */
const char *lc_model_tokenizer_summary(const lc_model *m, const lc_gguf *g, char *buf, size_t cap, int64_t *n_tokens);

#ifdef __cplusplus
}
#endif
#endif
