/*
 * Internal interface of the model module: storage ownership, the loaders
 * that take bytes (so tests and fuzzers can feed them buffers), and helpers
 * shared by the loaders, the writer and the random generator.
 */
#ifndef LC_MODEL_INTERNAL_H
#define LC_MODEL_INTERNAL_H

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/model.h"

/* Who owns the bytes the weights point into (at most one is set). */
struct lc_model_storage {
    lc_gguf *gguf;   /* GGUF: views into its mapping (or borrowed buffer) */
    void *map;       /* llama2.c file: our read-only mmap of map_len bytes */
    size_t map_len;
    void *heap;      /* random weights: one lc_malloc_aligned slab        */
};

/* One row of the architecture table (arch.c). */
typedef struct {
    const char *name;          /* general.architecture                        */
    lc_rope_layout layout;     /* llama: NORM (the converter permutes q/k);
                                  the others: NEOX (halves)                    */
    uint32_t flags;            /* LC_ARCH_*                                    */
    lc_ffn_act act;
    int32_t window_period;     /* window-layer pattern when the file declares
                                  a window: 1 every layer, P: l % P != P-1     */
    bool embd_sqrt_dim;        /* embeddings x sqrt(dim) (Gemma)               */
    bool longrope;             /* rope_factors_long/short tensors (Phi-3)      */
    const char *factor_tensor; /* optional frequency-factor tensor (".weight"
                                  appended), NULL: none                        */
    int32_t moe_routing;       /* LC_ARCH_MOE: lc_moe_routing, lc_moe_act and */
    int32_t moe_act;           /* norm_topk of the family                      */
    bool moe_norm_topk;
} lc_arch_desc;

const lc_arch_desc *lc_arch_find(const char *name);
/* True when f uses none of the family machinery (a plain llama). */
bool lc_family_is_plain(const lc_family *f);
/* The names of every row, comma-separated (for messages). */
const char *lc_arch_names(void);

/* A model with cfg copied, storage and layers[n_layers] allocated (zeroed). */
lc_status lc_model_alloc(const lc_model_config *c, lc_model **out, lc_error *err);

/* Fill cfg->rope with the defaults for n_dims (NORM layout, base 10000, no
 * scaling) and orig_ctx = ctx_train. */
void lc_model_rope_defaults(lc_model_config *c, int32_t n_dims);

/* llama2.c legacy checkpoint from bytes (borrowed: they must outlive the
 * model). Validates the header and that the size matches exactly. */
lc_status lc_model_load_llama2c_memory(const void *data, size_t size, lc_model **out, lc_error *err);

/* A llama model from an opened GGUF. On success the model owns g (closed by
 * lc_model_free); on failure g is left open for the caller. The tokenizer is
 * built from tokenizer.ggml.* when present (see docs/formats.md). */
lc_status lc_model_from_gguf(lc_gguf *g, lc_model **out, lc_error *err);
/* Only the configuration (no tensors needed): used by `info` and the loader. */
lc_status lc_model_config_from_gguf(const lc_gguf *g, lc_model_config *c, lc_error *err);

/* Shape of each weight, in model.h order, for loops over all tensors. */
typedef enum {
    LC_W_ATTN_NORM, LC_W_Q, LC_W_K, LC_W_V, LC_W_O,
    LC_W_FFN_NORM, LC_W_GATE, LC_W_UP, LC_W_DOWN,
    LC_W_LAYER_COUNT
} lc_layer_weight_id;

/* GGUF name suffix ("attn_q") of a layer weight, and its [rows, cols]. */
const char *lc_layer_weight_name(lc_layer_weight_id id);
void lc_layer_weight_shape(const lc_model_config *c, lc_layer_weight_id id, int64_t *rows, int64_t *cols);
lc_tensor *lc_layer_weight(lc_layer_weights *l, lc_layer_weight_id id);
const lc_tensor *lc_layer_weight_const(const lc_layer_weights *l, lc_layer_weight_id id);

/* Check a view: type usable, shape [rows, cols], data non-NULL and aligned. */
/* Parameters of layer `layer` as the family binds its tensors (load_gguf.c's
 * table: experts, shared experts, DeltaNet, biases and norms included); -1
 * on overflow. */
int64_t lc_model_layer_n_params(const lc_model_config *c, int32_t layer);
/* The tensors of layer `layer` as the loader binds them for the family
 * (load_gguf.c's table): GGUF name suffix ("attn_q.weight"), [rows, cols]
 * and, for a 3-D stack of experts, exps > 0 (ne = {cols, rows, exps}).
 * out holds LC_LAYER_TENSORS_MAX; returns how many. */
#define LC_LAYER_TENSORS_MAX 40
typedef struct {
    const char *suffix;
    int64_t rows, cols, exps;
} lc_layer_tensor_desc;
int lc_model_layer_tensor_descs(const lc_model_config *c, int32_t layer, lc_layer_tensor_desc *out);

/* The model keys every family writes (general.*, <arch>.context_length ...
 * rope and its scaling, longctx.attention); write_gguf.c. */
lc_status lc_model_gguf_write_base_keys(lc_gguf_writer *w, const char *path, const lc_model_config *c,
                                        uint32_t file_type, lc_error *err);
/* One row of N(0, std) values: the stream of (seed, tensor, row), so a
 * tensor is the same whatever the threads (random.c). cs: lc_random_angles. */
void lc_random_normal_row(uint64_t seed, int64_t tensor, int64_t row, float *x, int64_t n, float std, const float *cs);
/* The (cos, sin) table lc_random_normal_row draws angles from (malloc'd, NULL
 * when out of memory; free()). */
float *lc_random_angles(void);
lc_status lc_tensor_check(const lc_tensor *t, const char *name, int64_t rows, int64_t cols, lc_error *err);

#endif
