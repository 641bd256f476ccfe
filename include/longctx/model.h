/*
 * longctx/model.h — the Llama-family model: configuration (the blueprint),
 * weights (views of tensors), and the loaders that build them from GGUF and
 * llama2.c checkpoints.
 *
 * Weight matrices are row-major [rows = out, cols = in], so y = W x reads one
 * row per output. This is GGUF's layout (ne[0] = cols is the fastest
 * dimension) and llama2.c's.
 *
 * Per layer, with kv_dim = n_kv_heads * head_dim:
 *   attn_norm [dim]           wq [n_heads*head_dim, dim]   wk, wv [kv_dim, dim]
 *   wo [dim, n_heads*head_dim] ffn_norm [dim]
 *   w_gate, w_up [hidden_dim, dim]   w_down [dim, hidden_dim]
 * Globals: tok_embd [vocab, dim], output_norm [dim], output [vocab, dim]
 * (output aliases tok_embd when the classifier is tied).
 *
 * GGUF names: token_embd, blk.N.attn_norm, blk.N.attn_q, blk.N.attn_k,
 * blk.N.attn_v, blk.N.attn_output, blk.N.ffn_norm, blk.N.ffn_gate,
 * blk.N.ffn_up, blk.N.ffn_down, output_norm, output (all ".weight").
 */
#ifndef LONGCTX_MODEL_H
#define LONGCTX_MODEL_H

#include "longctx/common.h"
#include "longctx/quant.h"
#include "longctx/rope.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A 2-D tensor view, row-major [rows, cols]; vectors have rows = 1. */
typedef struct {
    lc_dtype type;
    int64_t rows;
    int64_t cols;
    const void *data;
} lc_tensor;

/* ---- The family: what one architecture's forward pass uses ---------------
 *
 * A family is data (src/model/arch.c holds the table, docs/models.md says how
 * to add one): every block is
 *
 *   h   = x + post_attn_norm( Wo attn( rope( qk_norm( Wq,k,v norm(x) + b ))))
 *   out = h + post_ffn_norm( Wdown act(Wgate norm(h)) * Wup norm(h) )
 *
 * with the optional pieces (biases, q/k norms, post norms, fused Wqkv or
 * Wgate|up) switched on by flags, and per layer a kind (global or window
 * attention, each with its RoPE). Embeddings may be scaled, attention scores
 * and final logits soft-capped: cap * tanh(x / cap). */
typedef enum {
    LC_ACT_SILU = 0,  /* SwiGLU: silu(gate) * up                          */
    LC_ACT_GELU_TANH, /* GeGLU with GELU's tanh form (gelu_pytorch_tanh)   */
    LC_ACT_COUNT
} lc_ffn_act;

typedef enum {
    LC_LAYER_GLOBAL = 0, /* attends to every earlier token (FLASH)            */
    LC_LAYER_WINDOW,     /* attends to the last `window` tokens (WINDOW)      */
    LC_LAYER_DELTANET,   /* Gated DeltaNet (longctx/deltanet.h): a recurrent
                            state per layer, no KV                            */
    LC_LAYER_KIND_COUNT
} lc_layer_kind;

enum {
    LC_ARCH_QKV_BIAS = 1u << 0,      /* attn_q/k/v.bias                            */
    LC_ARCH_QK_NORM = 1u << 1,       /* attn_q_norm, attn_k_norm: RMSNorm per head */
    LC_ARCH_FUSED_QKV = 1u << 2,     /* attn_qkv [q_dim + 2 kv_dim, dim]           */
    LC_ARCH_FUSED_GATE_UP = 1u << 3, /* ffn_up [2 hidden, dim]: gate rows, then up */
    LC_ARCH_POST_NORMS = 1u << 4,    /* post_attention_norm, post_ffw_norm         */
    LC_ARCH_O_BIAS = 1u << 5,        /* attn_output.bias                           */
    LC_ARCH_ATTN_SINKS = 1u << 6,    /* attn_sinks [n_heads]: learned sink logits  */
    LC_ARCH_MOE = 1u << 7,           /* mixture-of-experts FFN (longctx/moe.h):
                                        ffn_gate_inp(.bias), ffn_{gate,up,down}_exps
                                        (.bias), optional *_shexp; the FFN's norm
                                        is named post_attention_norm              */
    LC_ARCH_MOE_BIAS = 1u << 8,      /* ffn_gate_inp.bias, ffn_{gate,up,down}_exps.bias */
    LC_ARCH_ATTN_GATE = 1u << 9,     /* attn_q [n_heads * 2 head_dim, dim]: per head
                                        the query, then an output gate: attention
                                        output x sigmoid(gate) before Wo          */
    LC_ARCH_DELTANET = 1u << 10,     /* Gated DeltaNet layers except every
                                        full_attn_interval-th (ssm_* tensors)     */
};

typedef struct {
    uint32_t flags;        /* LC_ARCH_*                                        */
    lc_ffn_act act;
    float embd_scale;      /* token embeddings times this (0: 1)               */
    float attn_scale;      /* attention score scale (0: 1/sqrt(head_dim))      */
    float attn_softcap;    /* scores <- cap tanh(scores / cap) (0: none)       */
    float final_softcap;   /* logits <- cap tanh(logits / cap) (0: none)       */
    int64_t window;        /* window W of window layers (0: none)              */
    int32_t window_period; /* layers l with l % P != P-1 are window layers;
                              1: every layer (when window > 0)                 */
    bool rope_window_own;  /* window layers use rope_window (else rope)        */
    bool longrope;         /* rope_short holds LongRoPE's short factors: used
                              when the context is at most rope.orig_ctx        */
    /* LC_ARCH_MOE (<arch>.expert_count, expert_used_count,
     * expert_feed_forward_length, expert_shared_feed_forward_length): */
    int32_t n_experts, n_experts_used;
    int32_t expert_ffn, shared_ffn; /* shared_ffn 0: no shared expert          */
    int32_t moe_routing;   /* lc_moe_routing (longctx/moe.h)                   */
    int32_t moe_act;       /* lc_moe_act                                       */
    bool moe_norm_topk;    /* SOFTMAX_TOPK: weights divided by their sum       */
    /* LC_ARCH_DELTANET (<arch>.full_attention_interval, ssm.*): layer l is a
     * full-attention layer when (l + 1) % full_attn_interval == 0. */
    int32_t full_attn_interval;
    int32_t ssm_conv_kernel;  /* ssm.conv_kernel K                             */
    int32_t ssm_d_k;          /* ssm.state_size: key head dim                  */
    int32_t ssm_n_k_heads;    /* ssm.group_count: key heads H_k                */
    int32_t ssm_n_v_heads;    /* ssm.time_step_rank: value heads H_v           */
    int32_t ssm_d_v;          /* ssm.inner_size / H_v                          */
} lc_family;

/* The most layers a configuration may declare (the largest public models have
 * under 200): a file's block_count above it is refused before anything walks
 * the layers. */
#define LC_MODEL_MAX_LAYERS 65536

typedef struct {
    char arch[32];        /* general.architecture: "llama", "qwen2", ... */
    int32_t dim;          /* embedding length                     */
    int32_t hidden_dim;   /* feed-forward length                  */
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;     /* dim / n_heads unless the file says   */
    int32_t vocab_size;
    int64_t ctx_train;    /* context length the model was trained at */
    float norm_eps;       /* RMSNorm epsilon                      */
    lc_rope_config rope;  /* from the file; flags may override    */
    char attention[64];   /* attention the model was trained with:
                             "" = softmax, or an lc_attn_parse spec such as
                             "linear:elu" (GGUF key longctx.attention) */
    bool tied_output;
    lc_family fam;        /* zero: a plain llama                  */
    lc_rope_config rope_window; /* window layers' RoPE (fam.rope_window_own) */
    lc_rope_config rope_short;  /* LongRoPE's short factors (fam.longrope) */
} lc_model_config;

/* The kind of layer l (global unless the family's window pattern says). */
lc_layer_kind lc_model_layer_kind(const lc_model_config *c, int32_t l);
/* "global" / "window". */
const char *lc_layer_kind_name(lc_layer_kind k);
/* The families longctx can run ("llama", "qwen2", "qwen3", "phi3", "gemma2",
 * "gemma3"): true if arch is one. */
bool lc_model_arch_known(const char *arch);
/* Set c->fam (flags, activation, embedding scale, window period, MoE
 * routing) and c->rope.layout from the family row of c->arch, as a file of
 * that architecture without extra keys would; false (c unchanged) for an
 * unknown architecture. For random models. */
bool lc_model_family_defaults(lc_model_config *c);
/* One line for `info`: the family's machinery, e.g. "qkv bias, q/k norm,
 * gelu-tanh, softcap attn 50 final 30, embd x16"; "plain" when none. */
const char *lc_family_describe(const lc_model_config *c, char *buf, size_t len);
/* The per-layer window pattern, e.g. "WWWWWG (window 1024 on 5 of 6)" or
 * "all global"; W = window, G = global (first 64 layers shown). */
const char *lc_model_window_pattern(const lc_model_config *c, char *buf, size_t len);

typedef struct {
    lc_tensor attn_norm, wq, wk, wv, wo;
    lc_tensor ffn_norm, w_gate, w_up, w_down;
    /* Family extras (data NULL when the family has none): */
    lc_tensor wqkv;                   /* FUSED_QKV (then wq/wk/wv are empty)   */
    lc_tensor bq, bk, bv;             /* QKV_BIAS, f32 vectors                 */
    lc_tensor q_norm, k_norm;         /* QK_NORM, f32 [head_dim]               */
    lc_tensor post_attn_norm, post_ffn_norm; /* POST_NORMS, f32 [dim]          */
    lc_tensor bo;                     /* O_BIAS, f32 [dim]                     */
    lc_tensor attn_sinks;             /* ATTN_SINKS, f32 [n_heads]             */
    /* MOE (then w_gate/w_up/w_down are empty; ffn_norm is the FFN's norm):
     * experts stacked [E * rows, cols] as longctx/moe.h says. */
    lc_tensor router, router_b;       /* [E, dim], f32 [E] or empty            */
    lc_tensor gate_exps, up_exps;     /* [E * expert_ffn, dim]                 */
    lc_tensor down_exps;              /* [E * dim, expert_ffn]                 */
    lc_tensor gate_exps_b, up_exps_b; /* f32 [E, expert_ffn] or empty          */
    lc_tensor down_exps_b;            /* f32 [E, dim] or empty                 */
    lc_tensor gate_shexp, up_shexp;   /* [shared_ffn, dim] or empty            */
    lc_tensor down_shexp;             /* [dim, shared_ffn]                     */
    lc_tensor shexp_gate_inp;         /* f32 [1, dim] or empty                 */
    /* DELTANET layers (then wq/wk/wv/wo are empty; wqkv is attn_qkv, the
     * mixed q|k|v projection [2 H_k d_k + H_v d_v, dim]): */
    lc_tensor ssm_a;                  /* f32 [H_v] A = -exp(A_log)             */
    lc_tensor ssm_dt_b;               /* f32 [H_v]                             */
    lc_tensor ssm_conv;               /* f32 [C, K]                            */
    lc_tensor ssm_ba;                 /* [2 H_v, dim]: per key head, its H_v/H_k
                                         b rows then its H_v/H_k a rows        */
    lc_tensor ssm_z;                  /* attn_gate [H_v d_v, dim]              */
    lc_tensor ssm_norm;               /* f32 [d_v]                             */
    lc_tensor ssm_out;                /* [dim, H_v d_v]                        */
    /* FUSED_GATE_UP: w_up is [2 hidden, dim] and w_gate is empty. */
} lc_layer_weights;

typedef struct {
    lc_tensor tok_embd;
    lc_layer_weights *layers; /* [n_layers] */
    lc_tensor output_norm;
    lc_tensor output;
} lc_model_weights;

typedef struct lc_model_storage lc_model_storage; /* private: mapping / heap */

typedef struct {
    lc_model_config cfg;
    lc_model_weights w;
    lc_tokenizer *tokenizer; /* NULL when the file carries none, or one of a
                                kind longctx does not implement    */
    char tokenizer_note[LC_ERROR_MSG_MAX]; /* why tokenizer is NULL although the file
                                 carries one ("" otherwise)          */
    char format[16];         /* "gguf", "llama2c" or "random"   */
    lc_model_storage *storage;
} lc_model;

typedef struct {
    const char *tokenizer_path; /* llama2.c tokenizer.bin for a .bin model (optional) */
    bool no_mmap;               /* GGUF: read the file into private huge-page memory instead of
                                   mapping it (lc_gguf_open_read; llama.cpp's --no-mmap)      */
} lc_model_load_opts;

/* Detects the format (GGUF magic, else llama2.c) and validates everything:
 * shapes against each other, tensor sizes against the file. The weights are
 * views into a read-only mapping of the file, owned by the model. What is
 * read and refused: docs/formats.md. */
lc_status lc_model_load(const char *path, const lc_model_load_opts *opts, lc_model **out, lc_error *err);
void lc_model_free(lc_model *m);

/* Check a configuration (positive sizes, heads divide, even rope dims...). */
lc_status lc_model_config_validate(const lc_model_config *c, lc_error *err);

/* Write a GGUF v3 (architecture llama, llama.cpp key and tensor names) that
 * longctx and llama.cpp can load. Weight matrices are stored as `type`
 * (F32, F16, BF16, or a block type longctx quantizes: Q8_0, Q4_0, Q4_1,
 * Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; LC_DTYPE_COUNT keeps each tensor's type);
 * norms stay F32; a matrix whose rows are not whole blocks falls back as
 * lc_quant_choose says (Q8_0 -> F16, Q4_K -> Q5_0, ...). Unconverted tensors are written byte for byte; converted ones are
 * produced one at a time while writing. general.name is the file name without
 * its extension. tok may be NULL. Written to a temporary file renamed over
 * path, so a failure never leaves a partial model. */
lc_status lc_model_write_gguf(const char *path, const lc_model_config *c, const lc_model_weights *w,
                              const lc_tokenizer *tok, lc_dtype type, lc_error *err);
/* The same with per-tensor types from a quantization spec (llama.cpp's
 * mixes such as Q4_K_M: longctx/quant.h); spec NULL keeps each type. */
lc_status lc_model_write_gguf_spec(const char *path, const lc_model_config *c, const lc_model_weights *w,
                                   const lc_tokenizer *tok, const lc_quant_spec *spec, lc_error *err);

/* A model of the given shape with seeded random weights (N(0, 0.02) matrices,
 * unit norms) of `type` (F32, F16, BF16 or Q8_0, with Q8_0's F16 fallback),
 * owning its memory. The weights depend on the seed only (not on the thread
 * count). Refuses shapes that would not fit in available memory before
 * allocating. */
lc_status lc_model_create_random(const lc_model_config *c, lc_dtype type, uint64_t seed, lc_model **out,
                                 lc_error *err);

/* Write a GGUF model of the gpt-oss or qwen3next family (c->arch; c->fam as
 * lc_model_family_defaults sets it plus the experts, window and DeltaNet
 * shape) with seeded random weights, streamed: each tensor is generated
 * while it is written, so memory holds one tensor, not the model. Matrices
 * N(0, 0.02) stored as the spec says (llama.cpp's rules and fallbacks);
 * norms 1; biases and sinks N(0, 0.02) f32; DeltaNet's A in [-16, -1], dt
 * bias 1, convolution N(0, 1/sqrt(K)) f32. The tensors are the loader's
 * table for the family, so the file loads with lc_model_load. No tokenizer
 * (tokenizer.ggml.model "none": runs on token ids). */
lc_status lc_model_write_random_gguf(const char *path, const lc_model_config *c, const lc_quant_spec *spec,
                                     uint64_t seed, lc_error *err);

/* What writing a model file did (lc_model_convert, lc_random_model_write). */
typedef struct {
    char format[16];        /* the input's: "llama2c", "gguf"; "random"                   */
    char type[32];          /* the types written: the spec's name, or "(types kept)"      */
    int64_t n_params;
    bool has_tokenizer;     /* the output carries a tokenizer                             */
    bool tokenizer_ignored; /* a tokenizer.bin was given for a GGUF input (its own kept)  */
    bool tokenizer_dropped; /* the input's tokenizer is of a kind longctx does not build:
                               not carried over                                          */
    bool streamed;          /* each tensor generated while written (the MoE families)    */
    double generate_s, write_s; /* seconds making the weights in memory; the rest        */
} lc_model_write_report;

/* A llama2.c checkpoint (tokenizer from tok_bin, may be NULL) or a GGUF model
 * rewritten as GGUF v3 with spec's types (NULL: f32 for llama2.c, each
 * tensor's own type for GGUF). The GGUF's tokenizer is carried over when
 * longctx builds it. r says what happened (filled as far as it got). */
lc_status lc_model_convert(const char *in, const char *out, const char *tok_bin, const lc_quant_spec *spec,
                           lc_model_write_report *r, lc_error *err);

/* Parameters of all weights (the classifier counted once when tied); -1 if
 * the shape is invalid or overflows. */
int64_t lc_model_n_params(const lc_model_config *c);
/* KV cache bytes per token (all layers, K and V) for the given cache types,
 * each head's row of head_dim elements stored as one row of that type; 0 when
 * a type cannot hold such a row (Q8_0 needs head_dim % 32 == 0). */
size_t lc_model_kv_bytes_per_token(const lc_model_config *c, lc_dtype k_type, lc_dtype v_type);

/* ---- The real families' published shapes (analyze --family) --------------
 * KV-relevant numbers from each model's config.json. */
typedef struct {
    const char *name;          /* "gemma-3-12b"                                 */
    const char *hf_name;       /* the hub repository the numbers come from      */
    const char *arch;          /* GGUF architecture                             */
    int32_t n_layers, n_heads, n_kv_heads, head_dim;
    int64_t ctx;               /* the context the model claims                  */
    int64_t window;            /* window of its window layers (0: none)         */
    int32_t window_period;     /* as lc_family.window_period                    */
    int32_t n_linear_layers;   /* layers with a constant recurrent state, no KV */
    double linear_state_bytes; /* per such layer                                */
    bool sinks;                /* attention sinks (no KV of their own)          */
    const char *machinery;     /* one line                                      */
} lc_family_preset;

int lc_family_preset_count(void);
const lc_family_preset *lc_family_preset_at(int i);
const lc_family_preset *lc_family_preset_find(const char *name);
/* KV bytes (K and V of every attention layer, plus linear states) holding
 * n_tokens with the family's machinery: window layers hold min(n, W);
 * all_global: as if every layer (linear ones too) were a global attention
 * layer. -1 on bad input. */
double lc_family_preset_kv_bytes(const lc_family_preset *p, int64_t n_tokens, lc_dtype type, bool all_global);
/* "8 global + 40 window (1024)". */
const char *lc_family_preset_layers(const lc_family_preset *p, char *buf, size_t len);
/* What the runtime allocates (lc_context_memory_need) for a scaled-down
 * random model of the same layer layout (head dim 16), beside the figure the
 * layout predicts for it: global layers n slots, window layers a ring of
 * W + n_batch - 1 slots, 12 bytes per main slot and 8 per ring slot of
 * positions and tokens. LC_ERR_UNSUPPORTED for linear-attention layers. */
lc_status lc_family_preset_measure(const lc_family_preset *p, const int64_t *n_tokens, int n, lc_dtype type,
                                   int64_t n_batch, double *measured, double *analytic, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_MODEL_H */
