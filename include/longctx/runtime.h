/*
 * longctx/runtime.h — the Llama inference runtime: a context built once from
 * a model (activations, KV cache, RoPE tables, kernel and attention
 * workspace), the forward pass over a batch of tokens, and generation.
 *
 *   lc_model (config + weights, read-only, shared)
 *      │
 *   lc_context (one sequence: KV cache + every buffer, allocated at creation)
 *      │  lc_context_eval(tokens)   prefill in chunks of n_batch, or decode
 *      ▼
 *   logits [vocab] of the last token (or [n, vocab] for all of them)
 *
 * Forward pass of a chunk of n tokens at positions p0 .. p0+n-1
 * (dim = model width, q_dim = n_heads*head_dim, kv_dim = n_kv_heads*head_dim):
 *
 *   x [n, dim] = tok_embd[tokens]
 *   per layer:
 *     xb = rmsnorm(x) * attn_norm
 *     q [n, q_dim] = xb Wq^T   k, v [n, kv_dim] = xb Wk^T, xb Wv^T
 *     rope(q), rope(k) at positions p0..          (lc_rope_cache)
 *     K/V cache slots p0.. <- k, v                (keys stored after RoPE)
 *     att [n, q_dim] = attention(q, cache[0 .. p0+n))   (lc_attn_forward, causal,
 *                                                  q_pos0 = p0; LINEAR: a recurrent
 *                                                  state per layer instead)
 *     x += att Wo^T
 *     xb = rmsnorm(x) * ffn_norm
 *     x += (silu(xb Wgate^T) * (xb Wup^T)) Wdown^T
 *   logits = (rmsnorm(x) * output_norm) Wout^T     (last row only unless asked)
 *
 * Memory: everything is sized exactly and allocated by lc_context_create,
 * which refuses (LC_ERR_TOO_LARGE, saying how much it needs) when that would
 * not fit in the memory available. Evaluating tokens allocates nothing.
 *
 * Threads: one context is used by one thread at a time; inside, each kernel
 * runs on opts.n_threads OpenMP threads. Several contexts may share a model.
 */
#ifndef LONGCTX_RUNTIME_H
#define LONGCTX_RUNTIME_H

#include "longctx/attn.h"
#include "longctx/common.h"
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- KV cache policies: what the cache does when it is full ----------------
 *
 * Spec (lc_kv_policy_parse; the CLI's --kv-policy) and what the cache holds:
 *
 *   full        grow to n_ctx tokens, then refuse ("context full; raise -c")
 *   window:W    the last W tokens (a ring buffer): every query sees itself and
 *               the W-1 tokens before it
 *   sinks:S:W   StreamingLLM (Xiao et al. 2023): the first S tokens (attention
 *               sinks) and the last W; positions within the cache, as in the
 *               paper: the sinks sit at 0..S-1 and the query at
 *               min(pos, S+W-1), so RoPE distances never exceed S+W-1
 *   shift:KEEP  llama.cpp's context shift: when n_ctx is full, keep the first
 *               KEEP tokens, discard half of the rest, re-rotate the kept keys
 *               by minus the number discarded (RoPE rotations compose) and go on
 *   h2o:S:R:H   heavy-hitter oracle (Zhang et al. 2023): a budget of S+R+H
 *               tokens, the first S, the R most recent and the H others with
 *               the largest attention mass accumulated so far (summed over
 *               every query row, head and layer); original positions
 *
 *   slots (memory):  full, shift: n_ctx      window: W + B - 1
 *                    sinks: S + W + B - 1    h2o: S + R + H
 *   B: the largest chunk a forward pass takes under a ring policy,
 *      min(n_batch, max(1, W/8)), so a chunk's first row still finds its W-1
 *      predecessors while the chunk overwrites the oldest slots (decode, B = 1
 *      worth, sees exactly W). window, sinks and h2o ignore opts.n_ctx.
 *
 * Under every policy but full, evaluation never refuses for length: a stream
 * of any length goes through constant memory. docs/kv-cache.md has diagrams,
 * the positions each policy gives RoPE and the measured costs. */
typedef enum {
    LC_KV_POLICY_FULL = 0,
    LC_KV_POLICY_WINDOW,
    LC_KV_POLICY_SINKS,
    LC_KV_POLICY_SHIFT,
    LC_KV_POLICY_H2O,
    LC_KV_POLICY_COUNT
} lc_kv_policy;

/* "full", "window", "sinks", "shift", "h2o" ("?" if out of range). */
const char *lc_kv_policy_name(lc_kv_policy p);

typedef struct {
    int64_t n_ctx;        /* tokens the context holds; 0: the model's ctx_train;
                             at most LC_CONTEXT_MAX_TOKENS                       */
    int64_t n_batch;      /* tokens per forward pass during prefill; 0: 512      */
    int n_threads;        /* <= 0: every available CPU                            */
    const char *attn;     /* lc_attn_parse spec, e.g. "flash", "window:4096:4";
                             NULL: the model's cfg.attention, else "flash"        */
    const lc_attn_params *attn_params; /* full parameters (e.g. HYBRID); when set,
                                          overrides attn; copied, n_threads replaced;
                                          head_params must outlive the context */
    lc_dtype k_type;      /* KV cache key type: f32, f16 (default) or q8_0 (head
                             dim % 32 == 0)                                        */
    lc_dtype v_type;      /* value type (default f16)                             */
    const lc_rope_config *rope; /* NULL: the model's; orig_ctx 0 = ctx_train      */
    lc_kv_policy kv_policy;
    bool force_scalar;    /* portable kernels only (testing)                      */
    /* KV policy parameters (lc_kv_policy_parse fills them with kv_policy)        */
    int64_t kv_n_sinks;   /* SINKS, H2O: S (first tokens always kept)             */
    int64_t kv_window;    /* WINDOW, SINKS: W; H2O: R (recent tokens kept)        */
    int64_t kv_n_keep;    /* SHIFT: KEEP (tokens a shift never discards)          */
    int64_t kv_n_heavy;   /* H2O: H (heavy hitters kept)                          */
    /* Window layers (the model family's sliding window, docs/models.md):      */
    int64_t swa;          /* 0: as the file says; W > 0: window W on the model's
                             window layers, or on every layer when the file
                             declares none (Mistral's converter writes none);
                             < 0: no window, every layer global                 */
    int32_t swa_period;   /* 0: the file's pattern; P >= 1: layer l is a window
                             layer unless l mod P = P - 1 (1: every layer; 6:
                             Gemma-3's 5 local : 1 global), with --swa's window */
    bool swa_full;        /* window layers keep the full KV cache (as llama.cpp's
                             --swa-full) instead of a ring of W + B - 1 slots   */
    bool kv_external;     /* the K/V rows are kept by an attention hook (sequence
                             parallelism: each rank its shard): the context
                             allocates none, only positions and tokens (12 bytes
                             a slot, all its kv_bytes count); evaluating without a hook,
                             sessions, KV rows and synthetic depth are refused.
                             Softmax attention, FULL policy, no window layers */
} lc_context_opts;

/* Parse a --kv-policy spec (full | window:W | sinks:S:W | shift:KEEP |
 * h2o:S:R:H; counts accept K/M suffixes) into o->kv_policy and o->kv_*.
 * Refuses W < 1, R + H < 1, and unknown or extra fields. */
lc_status lc_kv_policy_parse(const char *spec, lc_context_opts *o, lc_error *err);

/* The largest context (and batch) a context accepts: 2^40 tokens, far past
 * any memory, small enough that every position and count sum stays exact in
 * int64 and in a double. Larger values are refused before anything is sized. */
#define LC_CONTEXT_MAX_TOKENS ((int64_t)1 << 40)

/* Defaults: n_ctx 0 (model's), n_batch 512, all threads, attention from the
 * model (else flash), f16 K and V, the model's RoPE, FULL policy. */
void lc_context_opts_init(lc_context_opts *o);
/* The context length when none is asked for (o->n_ctx 0): the model's
 * training context capped at LC_DEFAULT_N_CTX (a model claiming 2^24 tokens
 * would otherwise size a 16M-slot cache; llama.cpp caps the same way), or
 * LC_DEFAULT_N_CTX when the model declares none. A policy that bounds the
 * cache itself (window, sinks, h2o) keeps the model's. Returns true when it
 * set fewer tokens than the model's training context (a caller may say so). */
#define LC_DEFAULT_N_CTX 4096
bool lc_context_opts_default_ctx(lc_context_opts *o, const lc_model *m);

/* What a context needs, in bytes, before it is created. */
typedef struct {
    size_t kv_bytes;          /* K and V cache (or the LINEAR states)          */
    size_t activation_bytes;  /* residual stream and per-chunk activations     */
    size_t workspace_bytes;   /* matmul + attention scratch                    */
    size_t rope_bytes;        /* cos/sin tables for n_ctx positions            */
    size_t total_bytes;
    size_t state_bytes;       /* of kv_bytes: Gated DeltaNet recurrent states
                                 (matrix state and convolution tail)          */
    size_t ring_bytes;        /* of kv_bytes: window layers' rings (FULL, and
                                 window/sinks with a policy window >= theirs) */
    int64_t n_ctx;            /* resolved */
    int64_t n_batch;          /* resolved */
} lc_context_memory;

lc_status lc_context_memory_need(const lc_model *m, const lc_context_opts *o, lc_context_memory *mem, lc_error *err);

typedef struct lc_context lc_context;

/* Validates the model's shapes against its config and the options, then
 * allocates every buffer. The model must outlive the context. */
lc_status lc_context_create(const lc_model *m, const lc_context_opts *o, lc_context **out, lc_error *err);
void lc_context_free(lc_context *ctx);

/* Forget the sequence (empty the KV cache); the next token is at position 0. */
void lc_context_reset(lc_context *ctx);

/* Keep the first n_keep tokens of the sequence and forget the rest
 * (0 <= n_keep <= n_past), so that a prompt sharing a prefix with what the
 * context holds need not be evaluated again (the evaluation suite does this
 * between needle depths). The last logits are forgotten: evaluate at least
 * one token before generating. Contexts whose cache is not in plain position
 * order, and LINEAR-attention contexts (whose recurrent state cannot forget)
 * unless n_keep is 0 or n_past, refuse with LC_ERR_UNSUPPORTED. Gated
 * DeltaNet layers cannot forget either, and window layers' rings may have
 * overwritten keys the kept tokens need: then the context is reset and the
 * kept tokens, read from its cache, are evaluated again (exactly what a fresh
 * evaluation of them gives, at the cost of their prefill; the logits are then
 * the last kept token's) — refused when tokens have already left the cache
 * (a shift). */
lc_status lc_context_truncate(lc_context *ctx, int64_t n_keep, lc_error *err);

int64_t lc_context_n_past(const lc_context *ctx); /* tokens in the context (held
                                                     in the cache; FULL: the
                                                     position of the next one) */
int64_t lc_context_n_ctx(const lc_context *ctx);  /* capacity: KV slots        */
int64_t lc_context_n_batch(const lc_context *ctx);
int lc_context_n_threads(const lc_context *ctx);
/* Bytes of the weight matrices one decode step reads (every matrix once; MoE:
 * the experts used on average): what a step streams from memory when they do
 * not stay in cache. */
double lc_context_weight_bytes(const lc_context *ctx);
const lc_model *lc_context_model(const lc_context *ctx);
/* The resolved attention parameters and RoPE configuration in use. */
const lc_attn_params *lc_context_attn(const lc_context *ctx);
const lc_rope_config *lc_context_rope(const lc_context *ctx);
lc_dtype lc_context_k_type(const lc_context *ctx);
lc_dtype lc_context_v_type(const lc_context *ctx);

/* The KV cache as it stands (lc_context_kv_stats). Positions: what the tokens
 * were fed as (0, 1, 2, ... since the last reset, minus what context shifts
 * took away). */
typedef struct {
    lc_kv_policy policy;
    int64_t n_sinks, window, n_keep, n_heavy; /* the policy's parameters         */
    int64_t n_slots;          /* capacity in tokens                             */
    int64_t n_used;           /* tokens held (lc_context_n_past)                */
    int64_t n_visible;        /* tokens the next token would attend to, itself
                                 excluded (a ring holds up to B-1 more)          */
    int64_t n_seen;           /* tokens evaluated since the last reset          */
    int64_t next_pos;         /* position of the next token                     */
    int64_t n_evicted;        /* tokens dropped by the policy since the reset   */
    int64_t n_shifts;         /* SHIFT: context shifts; ring: position rebases  */
    size_t bytes;             /* K + V storage of every slot                    */
    size_t bytes_per_token;   /* K + V of one token, all layers                 */
    lc_dtype k_type, v_type;
} lc_kv_stats;

/* Zeros for a LINEAR-attention context (no cache) except n_seen, next_pos. */
void lc_context_kv_stats(const lc_context *ctx, lc_kv_stats *st);
/* "sinks:4:1020 (1087 slots, f16/f16)" into buf; returns buf. */
const char *lc_context_kv_describe(const lc_context *ctx, char *buf, size_t len);
/* The context in a few words: "ctx 75, batch 8, 2 threads, attn flash, kv f16/f16"
 * (its length, prompt batch, threads, attention method and cache types). */
const char *lc_context_describe(const lc_context *ctx, char *buf, size_t len);
/* Tokens evaluated since the last reset (for a ring or eviction policy this
 * passes n_ctx; FULL: equals n_past). */
int64_t lc_context_n_seen(const lc_context *ctx);
/* The tokens the cache holds, in position order, with their positions: at
 * most cap of them into ids and pos (either may be NULL); returns how many
 * there are. Under WINDOW/SINKS the ring's slots beyond the window count too
 * (see n_visible). */
int64_t lc_context_kv_tokens(const lc_context *ctx, int32_t *ids, int64_t *pos, int64_t cap);

/* KV rows by position, for a prefix cache kept outside the context (the
 * server's token-prefix tree): FULL policy only (others, and LINEAR attention,
 * get LC_ERR_UNSUPPORTED: their slots do not hold positions in order). One
 * token's row is, for every layer in order, its K row then its V row in the
 * cache's element types: lc_context_kv_row_bytes bytes (0 when unsupported).
 * Rows copied out of one context fit any context of the same model and cache
 * types. */
size_t lc_context_kv_row_bytes(const lc_context *ctx);
/* Copy the rows of positions [from, from + n) (all held) into buf (cap bytes,
 * at least n rows). */
lc_status lc_context_kv_read(const lc_context *ctx, int64_t from, int64_t n, void *buf, size_t cap, lc_error *err);
/* Append n tokens with their rows (size bytes = n rows) at positions
 * n_past.., as if they had been evaluated; the context then has no logits
 * until the next eval. LC_ERR_TOO_LARGE past n_ctx, LC_ERR_INVALID_ARG for a
 * token outside the vocabulary or a wrong size. */
lc_status lc_context_kv_append(lc_context *ctx, const int32_t *tokens, int64_t n, const void *rows, size_t size,
                               lc_error *err);

/* Feed n >= 1 tokens at the next positions (n_seen ..), in chunks of at most
 * n_batch (the policy's chunk). logits: NULL, or [vocab] floats for the last
 * token, or (all) [n, vocab] for every token. Token ids are checked against
 * the vocabulary. FULL policy: refuses with LC_ERR_TOO_LARGE ("context full:
 * N tokens; raise -c") when n_past + n > n_ctx, before changing anything; the
 * other policies make room as they do and never refuse for length. Should a
 * kernel fail midway, a FULL cache is rolled back to where the call found it
 * (n_past unchanged); under the other policies (which may have evicted or
 * shifted already) the cache is emptied; a LINEAR-attention context cannot
 * roll back its states and must be reset. In the last layer only the rows
 * whose logits are returned go past their K/V (the last one, unless all). */
lc_status lc_context_eval(lc_context *ctx, const int32_t *tokens, int64_t n, float *logits, bool all, lc_error *err);

/* Synthetic depth, for timing decode at a context length without
 * prefilling it: an empty context of the FULL policy takes n tokens of
 * random ids whose K and V rows (every attention layer; window layers' rings
 * their last rows) are random values in [-1, 1], and every Gated DeltaNet
 * layer's recurrent and convolution state random values in [-0.1, 0.1].
 * Attention and the recurrence then cost what they cost after a real
 * prefill of n tokens (their work depends on the cache's size, not its
 * content), but the model's outputs mean nothing. No logits: evaluate a
 * token next. Refused for LINEAR attention, other policies, an attention
 * hook, a non-empty context and n beyond the capacity. */
lc_status lc_context_fill_synthetic(lc_context *ctx, int64_t n, uint64_t seed, lc_error *err);

/* The last evaluated token's logits [vocab] (owned by ctx; valid until the
 * next eval or reset), or NULL before any. */
const float *lc_context_logits(const lc_context *ctx);

/* Where the time went, accumulated over evals since creation or the last
 * reset of the counters. "other" is everything outside matmuls and attention
 * (norms, RoPE, SwiGLU, residuals, embedding, KV stores). */
typedef struct {
    double t_matmul, t_attn, t_other; /* seconds                                        */
    double flops_matmul;              /* 2 per multiply-add                              */
    double flops_attn;                /* lc_attn_flops of every call                     */
    double bytes_weights;             /* weight bytes the matmuls streamed (each matrix
                                         counted once per forward pass)                 */
    double bytes_kv;                  /* K/V cache bytes attention read                  */
    int64_t n_tokens;                 /* tokens evaluated                                */
    int64_t n_forward;                /* forward passes (chunks)                         */
    /* Per lc_layer_kind (global, window, deltanet), seconds inside the layers
     * of that kind: t_layer the whole block (norms, token mixer, FFN),
     * t_mixer its token mixer alone (q/k/v or DeltaNet projections, attention
     * or the recurrence, output projection). */
    double t_layer[LC_LAYER_KIND_COUNT];
    double t_mixer[LC_LAYER_KIND_COUNT];
} lc_context_timings;

void lc_context_get_timings(const lc_context *ctx, lc_context_timings *t);
void lc_context_reset_timings(lc_context *ctx);

/* ---- Batched decode: one token of each of several sequences in one pass -----
 *
 * A decode step is bound by reading the weights. n sequences (each its own
 * context: cache, position, KV policy, recurrent states) stepped together by
 * lc_decode_batch_eval read every weight matrix once for the n of them: the
 * weight products run over n rows in the batch's workspace, while RoPE, the
 * cache, attention (or the linear / DeltaNet state) and the policy run per
 * sequence in its own context, as a one-token lc_context_eval runs them.
 *
 * Each context is left exactly as lc_context_eval(ctxs[i], &tokens[i], 1, ..)
 * leaves it, with the same logits bit for bit: the quantized types' integer
 * kernels compute every (row, token) dot product the same way whatever the
 * number of tokens, the other types run blocks of weight rows (up to 256 KiB,
 * read from memory once, then from cache for each sequence) through the
 * one-token kernel, MoE blocks run per row; everything else is per row
 * already (tests/test_decode_batch.c checks it on dense, hybrid, MoE and
 * quantized models).
 *
 * Memory: the batch holds a workspace context of the model for max_seqs
 * rows (activations, product scratch, a KV cache of max_seqs f32 rows and the
 * model's RoPE table, unused) and max_seqs rows of logits. One thread uses a
 * batch (and its contexts) at a time. */
#define LC_DECODE_BATCH_MAX 256

typedef struct lc_decode_batch lc_decode_batch;

/* A batch for up to max_seqs (1..LC_DECODE_BATCH_MAX) sequences of model m.
 * o: the options of the sequences' contexts (threads and force_scalar are
 * taken from it; NULL: the defaults). The model must outlive the batch. */
lc_status lc_decode_batch_create(const lc_model *m, int32_t max_seqs, const lc_context_opts *o, lc_decode_batch **out,
                                 lc_error *err);
void lc_decode_batch_free(lc_decode_batch *b);
int32_t lc_decode_batch_max_seqs(const lc_decode_batch *b);

/* Feed tokens[i] to ctxs[i] for i < n (1 <= n <= max_seqs) in one forward
 * pass. ctxs: distinct contexts of the batch's model without an attention
 * hook or kv_external. logits: NULL or [n, vocab] (row i: ctxs[i]'s); each
 * context's lc_context_logits holds its own row either way. Checked before anything
 * changes: the arguments, every token against the vocabulary, and room for
 * one more token in each context (FULL policy: LC_ERR_TOO_LARGE naming the
 * sequence). A kernel failure midway leaves every context as a failed
 * lc_context_eval leaves it. n == 1 is lc_context_eval of that context. */
lc_status lc_decode_batch_eval(lc_decode_batch *b, lc_context *const *ctxs, const int32_t *tokens, int32_t n,
                               float *logits, lc_error *err);

/* The batch's own counters (the shared work: weight products, norms,
 * residuals; t_attn: the sequences' attention and recurrences, which their
 * contexts count too, as they count their tokens). */
void lc_decode_batch_get_timings(const lc_decode_batch *b, lc_context_timings *t);

/* ---- Observing attention (analysis tools) -----------------------------------
 *
 * An observer sees, in every layer of every forward pass, softmax attention
 * over the KV cache as it was computed: the shape of the call (n_q query rows
 * at positions q_pos0.., n_kv keys at k_pos or 0..n_kv-1, heads, types,
 * scale), the parameters (method, window), and io: q [n_q, H_q, d] after
 * RoPE, the layer's cached k and v [n_kv, H_kv, d] (the chunk's own keys
 * included) and the attention output out [n_q, H_q, d]; io->lse is NULL.
 * It runs on the calling thread after the layer's attention and must not use
 * the context. In the last layer only the rows whose logits are computed are
 * given (the last one unless all logits are asked for), so a caller that
 * wants a position's row in every layer makes it the last token of an eval
 * call. LINEAR attention keeps no cache: the observer is not called.
 * Unset (fn NULL, the default) it costs one pointer test per layer. */
typedef void (*lc_attn_observer_fn)(void *user, int32_t layer, const lc_attn_shape *shape,
                                    const lc_attn_params *params, const lc_attn_io *io);
void lc_context_set_attn_observer(lc_context *ctx, lc_attn_observer_fn fn, void *user);

/* A pause point: fn(user) is called on the evaluating thread between the
 * layers of a forward pass of more than one token (a prefill chunk), after
 * each layer but the last. It may evaluate OTHER contexts (a server runs the
 * other requests' decode steps there, so a long prompt does not hold them up
 * for a whole chunk) but must not touch this one; it changes nothing in the
 * computation (the logits are the same bit for bit). NULL: none. */
typedef void (*lc_layer_pause_fn)(void *user);
void lc_context_set_layer_pause(lc_context *ctx, lc_layer_pause_fn fn, void *user);

/* ---- Attention over a cache held elsewhere (sequence parallelism) ----------
 *
 * An attention hook replaces, in every layer, the store of the chunk's keys
 * and values into the context's cache and the attention over it: the hook
 * gets the chunk's new keys/values and queries (after RoPE) and must write
 * the softmax attention output of the queries over every key up to their
 * positions (src/mpi: each rank attends over its shard, the parts merged by
 * log-sum-exp). The context still counts positions (n_past, capacity) as
 * usual. Only contexts whose layers are all global softmax attention under
 * the FULL policy may take one (lc_context_set_attn_hook refuses the others).
 * Unset (fn NULL, the default) it costs one pointer test per layer. */
typedef struct {
    int32_t layer;
    const float *q;               /* [n_q, H_q, d] queries at positions q_pos0.. */
    int64_t n_q, q_pos0;
    const float *k, *v;           /* [n_new, H_kv, d] new keys/values (f32)     */
    int64_t n_new, pos0;          /* at positions pos0 .. pos0+n_new-1          */
    float *out;                   /* [n_q, H_q, d]                              */
    lc_attn_shape shape;          /* heads, dims, cache types, scale, softcap,
                                     causal; n_q/n_kv/q_pos0/k_pos to be set    */
    const lc_attn_params *params; /* the context's attention parameters         */
    void *ws;                     /* attention scratch, sized for n_batch
                                     queries over n_ctx keys                    */
    size_t ws_bytes;
} lc_attn_hook_call;
typedef lc_status (*lc_attn_hook_fn)(void *user, const lc_attn_hook_call *call, lc_error *err);
lc_status lc_context_set_attn_hook(lc_context *ctx, lc_attn_hook_fn fn, void *user, lc_error *err);

/* With an attention hook only (ring prefill, src/mpi): run tokens [n]
 * (1 <= n <= n_batch) at positions pos0.. through the model without counting
 * them in the context (the hook keeps their keys and values); the context's
 * n_past does not change. logits: NULL, [vocab] for the last token, or (all)
 * [n, vocab]. The context's last logits are forgotten. */
lc_status lc_context_eval_at(lc_context *ctx, const int32_t *tokens, int64_t n, int64_t pos0, float *logits, bool all,
                             lc_error *err);
/* With an attention hook only: count tokens [n] as evaluated at the next
 * positions (n_past ..; the hook holds their keys and values, e.g. after
 * lc_context_eval_at), and make last_logits ([vocab]; NULL: none) the
 * context's last logits, so that lc_generate can go on from them.
 * LC_ERR_TOO_LARGE past n_ctx, changing nothing. */
lc_status lc_context_append_evaluated(lc_context *ctx, const int32_t *tokens, int64_t n, const float *last_logits,
                                      lc_error *err);

/* ---- Generation ------------------------------------------------------------ */

/* Pick the next token from logits [n_vocab] (may modify them). Return false
 * (with err filled) to abort generation. */
typedef bool (*lc_sample_fn)(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err);
/* Called with each generated token as soon as it is chosen; return false to
 * stop. */
typedef bool (*lc_token_fn)(void *user, int32_t token);

typedef enum {
    LC_STOP_LENGTH = 0,   /* n_predict tokens generated                    */
    LC_STOP_EOS,          /* the model produced the end-of-sequence token  */
    LC_STOP_CONTEXT_FULL, /* n_ctx reached: nothing more fits (full policy)  */
    LC_STOP_CALLBACK      /* on_token asked to stop                        */
} lc_stop_reason;

const char *lc_stop_reason_name(lc_stop_reason r);

typedef lc_status (*lc_prefill_fn)(void *user, lc_context *ctx, const int32_t *ids, int64_t n, lc_error *err);

typedef struct {
    int64_t n_predict;     /* tokens to generate; < 0: until EOS or context end */
    int32_t eos_id;        /* stop token (not emitted); -1: none                 */
    lc_sample_fn sample;   /* NULL: greedy (argmax, lowest id on ties)           */
    void *sample_user;
    lc_token_fn on_token;  /* may be NULL                                        */
    void *token_user;
    /* The prompt's evaluation by the caller instead of lc_context_eval (e.g.
     * a ring prefill over ranks, lc_sp_prefill_fn in sp.h): it evaluates
     * ids[0..n) after what ctx holds and leaves the last token's logits.
     * Counted and timed as the prompt (n_prompt, t_prompt). NULL: lc_context_eval. */
    lc_prefill_fn prefill;
    void *prefill_user;
} lc_generate_opts;

/* n_predict 128, eos_id -1, greedy, no callback. */
void lc_generate_opts_init(lc_generate_opts *o);

typedef struct {
    int64_t n_prompt;        /* prompt tokens evaluated                        */
    int64_t n_generated;     /* tokens emitted (EOS not counted)               */
    double t_prompt;         /* seconds in prompt evaluation                   */
    double t_generate;       /* seconds from the first sample to the end       */
    lc_stop_reason stop;
    char message[128];       /* e.g. "context full: 512 tokens; raise -c"      */
} lc_generate_result;

/* Evaluate the prompt (appended to whatever the context holds), then sample
 * and evaluate tokens until a stop condition. With n_prompt == 0 it continues
 * from the logits of the context's last token (which must exist). Generated
 * tokens go to out (capacity out_cap; extra ones are only passed to on_token)
 * and on_token. The context keeps the sequence (prompt + generated, except a
 * last token that no longer fits) so generation can continue. */
lc_status lc_generate(lc_context *ctx, const int32_t *prompt, int64_t n_prompt, const lc_generate_opts *o,
                      int32_t *out, int64_t out_cap, lc_generate_result *res, lc_error *err);

/* ---- Sessions: a context's sequence saved to a file and loaded back -----------
 *
 * A session holds the KV cache (every slot, its position and token, the
 * policy's state), the last logits, the caller's token history (e.g. the
 * whole conversation, which may be longer than what the cache holds), an
 * optional opaque blob of the caller's (a chat keeps its turn table there),
 * and optionally a sampler's state, so generation continues exactly where it
 * stopped. Layout (little-endian), version 1:
 *
 *   header   "LCSESSN1", u32 version, u32 flags, u64 model fingerprint,
 *            u64 context fingerprint (shapes, cache types, policy and its
 *            parameters, slots, RoPE), the cache state, section lengths
 *   body     tokens i32[n_tokens] | blob | slot positions i64[n_slots] |
 *            slot tokens i32[n_slots] | H2O masses f64[n_slots] (h2o only) |
 *            K then V of slots 0..hw-1 per layer | the recurrent state of
 *            every Gated DeltaNet layer (version 2) | logits f32[vocab]
 *            (when held) | sampler state (LC_SAMPLER_STATE_BYTES, when saved)
 *   trailer  u64 FNV-1a 64 of every byte before it: a check against
 *            corruption (a flipped bit, a torn write), not authentication:
 *            anyone can recompute it, so every field is validated as
 *            untrusted input whatever the checksum says
 *
 * Saving writes a temporary file and renames it over path. Loading reads and
 * verifies everything into fresh buffers (size against the header, checksum,
 * fingerprints, every count, position and token id) and only then swaps them
 * into the context and the sampler: a truncated, corrupted, foreign (other
 * model, other context settings) or newer file is refused whole with
 * LC_ERR_FORMAT / LC_ERR_UNSUPPORTED and changes nothing. A full or shift
 * cache saved from a context of another size (n_ctx) loads when the tokens
 * it holds fit this context's slots (otherwise refused, naming the n_ctx it
 * needs). docs/kv-cache.md describes every field. LINEAR-attention contexts
 * are refused. Version 1 files (no recurrent states) still load into
 * contexts without DeltaNet layers, version 1 and 2 files (no window-layer
 * rings) into contexts without rings. */
#define LC_SESSION_VERSION 3u
#define LC_SESSION_MAX_TOKENS ((int64_t)1 << 30)
#define LC_SESSION_MAX_BLOB ((int64_t)1 << 26)

/* A 64-bit fingerprint of a model: its shapes, RoPE and norm settings and
 * FNV-1a 64 of samples of its weights (the first and last 4 KiB of the
 * embedding and the classifier, the first 256 bytes of every layer matrix). */
uint64_t lc_model_fingerprint(const lc_model *m);

/* tokens/n_tokens: the caller's history (may be NULL/0); blob: opaque bytes
 * (NULL/0: none); sampler NULL: no sampler state. */
lc_status lc_session_save(const lc_context *ctx, const char *path, const int32_t *tokens, int64_t n_tokens,
                          const void *blob, size_t blob_len, const lc_sampler *sampler, lc_error *err);

/* On success the context holds the saved cache and logits, *tokens (malloc'd,
 * free() it; NULL when there are none) the history, *blob (malloc'd or NULL)
 * the caller's bytes, and the sampler (when given and the file has a state)
 * the saved state. tokens, n_tokens, blob, blob_len may each be NULL to
 * ignore that part. has_sampler (may be NULL): whether the file held a
 * sampler state. */
lc_status lc_session_load(lc_context *ctx, const char *path, lc_sampler *sampler, int32_t **tokens, int64_t *n_tokens,
                          void **blob, size_t *blob_len, bool *has_sampler, lc_error *err);

/* A caller's check of a session's history and blob, run after everything in
 * the file is verified and before anything changes (n_cached: tokens the
 * saved cache holds). Return LC_OK to go on; anything else refuses the load. */
typedef lc_status (*lc_session_check_fn)(void *user, const int32_t *tokens, int64_t n_tokens, const void *blob,
                                         size_t blob_len, int64_t n_cached, lc_error *err);
/* What a loaded session hands back (lc_session_load_checked). */
typedef struct {
    int32_t *tokens;  /* the history, malloc'd (NULL when empty)        */
    int64_t n_tokens;
    void *blob;       /* the caller's bytes, malloc'd (NULL when empty) */
    size_t blob_len;
    bool has_sampler; /* the file held a sampler state                   */
} lc_session_info;
/* Frees tokens and blob and zeroes the struct (NULL is fine). */
void lc_session_info_free(lc_session_info *info);
/* lc_session_load with a check (may be NULL); info (may be NULL) receives
 * the history, the blob and whether a sampler state was saved: all zero
 * unless LC_OK; free it with lc_session_info_free. */
lc_status lc_session_load_checked(lc_context *ctx, const char *path, lc_sampler *sampler, lc_session_check_fn check,
                                  void *check_user, lc_session_info *info, lc_error *err);

/* A prompt continued from a session file (llama.cpp's prompt cache made
 * safe; the CLI's run --session/--prompt-cache). When path exists it is
 * loaded (refused whole when truncated, corrupted or foreign, as above; also
 * refused when it holds a chat's conversation, which a save would drop) and
 * the longest prefix prompt[n_prompt] shares with the file's history is
 * kept, so only the rest needs evaluating: *reused is how many prompt tokens
 * the context holds (at most n_prompt - 1 when that leaves no logits to go on
 * from; 0 when the file does not exist, or when a policy that evicts holds a
 * history that cannot be cut: the context is then reset). *n_history (may be
 * NULL): tokens in the file's history, -1 when there is no file. */
lc_status lc_session_resume(lc_context *ctx, const char *path, const int32_t *prompt, int64_t n_prompt,
                            int64_t *reused, int64_t *n_history, lc_error *err);
/* Saves ctx to path with the history the context evaluated: prompt[n_prompt]
 * and then the generated tokens gen[n_gen] it evaluated (the last one may not
 * have been). *n_saved (may be NULL): the history's length. */
lc_status lc_session_save_generation(const lc_context *ctx, const char *path, const int32_t *prompt, int64_t n_prompt,
                                     const int32_t *gen, int64_t n_gen, int64_t *n_saved, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_RUNTIME_H */
