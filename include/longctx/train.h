/*
 * longctx/train.h — training Llama-family models on the CPU (llm.c style).
 *
 * The model is exactly the one inference runs (include/longctx/model.h):
 *
 *   x = tok_embd[tokens]                                      (B, T, C)
 *   per layer:  h = x + W_o attn(rope(W_q n(x)), rope(W_k n(x)), W_v n(x))
 *               x = h + W_down (silu(W_gate n'(h)) * W_up n'(h))
 *   logits = W_out rmsnorm(x)   (W_out = tok_embd when tied)  (B, T, V)
 *
 * with RMSNorm n, RoPE in the NORM layout with the config's scaling, causal
 * softmax attention with GQA (or causal linear attention, elu+1 features,
 * when cfg.model.attention is "linear:elu"), and a softmax cross-entropy loss
 * weighted per token (tasks weight the answer tokens).
 *
 * Memory: parameters, gradients and the two AdamW moments are one slab each,
 * carved by a size table (lc_train_tensor); the activations of one batch
 * (B, T) are one more slab. Nothing is allocated per step. The attention
 * backward is either the FlashAttention-2 form (recompute from the saved
 * log-sum-exp: memory linear in T) or the naive form (keeps P [B, NH, T, T]:
 * quadratic). docs/training.md has the layout and the derivations.
 *
 * Determinism: for a given config, seed, data and thread count every step is
 * bitwise reproducible; the kernels are written so that the thread count does
 * not change the results either (sgemm sums in a fixed order, reductions are
 * split by columns), which the tests check.
 *
 * Ownership: an lc_trainer owns its slabs; views it hands out live until
 * lc_trainer_free. An lc_train_data owns its state; free with
 * lc_train_data_free. The library never prints: progress goes to callbacks.
 */
#ifndef LONGCTX_TRAIN_H
#define LONGCTX_TRAIN_H

#include <signal.h>
#include <stdio.h>

#include "longctx/common.h"
#include "longctx/model.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_TRAIN_BACKWARD_FLASH = 0, /* tiled, recomputes P from lse: O(T) memory  */
    LC_TRAIN_BACKWARD_NAIVE      /* materialised P: O(T^2) memory (reference)  */
} lc_train_attn_backward;

const char *lc_train_attn_backward_name(lc_train_attn_backward b);
bool lc_train_attn_backward_parse(const char *s, lc_train_attn_backward *out);

typedef struct {
    /* Model: dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim,
     * vocab_size, norm_eps, rope, tied_output, attention ("" or "softmax" for
     * softmax attention, "linear:elu" for linear attention). ctx_train is
     * set to ctx (or kept from an init model if larger). */
    lc_model_config model;
    int64_t batch;                 /* B sequences per step                     */
    int64_t ctx;                   /* T tokens per sequence                    */
    lc_train_attn_backward attn_backward;
    int64_t linear_chunk;          /* chunk of the linear-attention form (64)  */

    /* Optimizer: AdamW with decoupled weight decay (none on norms); learning
     * rate: linear warmup from lr/warmup to lr over `warmup` steps, then
     * cosine decay to min_lr at step `steps`. */
    int64_t steps;
    float lr, min_lr;
    int64_t warmup;
    float weight_decay;
    float beta1, beta2, adam_eps;
    float grad_clip;               /* global L2 norm clip; <= 0: off           */

    uint64_t seed;                 /* weight initialisation                    */
    float init_std;                /* N(0, init_std) matrices (0.02); W_o and
                                      W_down scaled by 1/sqrt(2 n_layers)      */
    int n_threads;                 /* <= 0: every CPU                          */
    bool force_scalar;             /* portable kernels only (testing)          */
} lc_train_config;

/* Defaults: a small model (dim 128, 4 layers, 4 heads, 2 KV heads, hidden
 * 384, vocab 256, tied, RoPE base 10000), B 8, T 256, flash backward, chunk
 * 64, 1000 steps, lr 1e-3 -> 1e-4, warmup 50, wd 0.1, betas 0.9/0.95,
 * eps 1e-8, clip 1, seed 1337, std 0.02, all threads. */
void lc_train_config_init(lc_train_config *c);
/* Check everything (positive sizes, heads divide, even head_dim for RoPE,
 * attention spec known, schedule sane). */
lc_status lc_train_config_validate(const lc_train_config *c, lc_error *err);

/* What a configuration needs, in bytes, before anything is allocated. */
typedef struct {
    int64_t n_params;          /* parameters                                   */
    size_t params, grads;      /* slabs                                        */
    size_t moments;            /* AdamW m and v                                */
    size_t activations;        /* the (B, T) activation slab, all of it       */
    size_t attention;          /* ... of which the attention's saved state:
                                  lse (flash), P (naive) or den (linear)      */
    size_t scratch;            /* backward scratch (attention, sgemm packing)  */
    size_t total;
} lc_train_memory;

lc_status lc_train_plan(const lc_train_config *c, lc_train_memory *m, lc_error *err);

/* One entry of the parameter size table. */
typedef struct {
    char name[48];   /* GGUF name, e.g. "blk.3.attn_q.weight"           */
    int64_t rows, cols;
    size_t offset;   /* in floats from the start of each slab (64-B aligned) */
    size_t numel;
    bool decay;      /* weight decay applies (matrices, not norms)     */
} lc_train_tensor;

typedef struct lc_trainer lc_trainer;

/* Statistics of one optimizer step. */
typedef struct {
    int64_t step;        /* steps completed after this one (1-based)        */
    double loss;         /* weighted mean loss of the batch                 */
    double grad_norm;    /* global L2 norm before clipping                  */
    float lr;            /* learning rate used                              */
    double weight_sum;   /* sum of token weights (tokens that counted)      */
    double seconds;      /* wall time of the step                           */
    double t_matmul;     /* ... of which linear layers (sgemm), fwd + bwd   */
    double t_attention;  /* ... of which attention (incl. RoPE), fwd + bwd  */
    int64_t tokens;      /* B * T                                           */
} lc_train_stats;

/* Allocates every slab (refusing configurations that would not fit in
 * available memory, with the amount in the message) and initialises the
 * weights from cfg->seed. */
lc_status lc_trainer_create(const lc_train_config *cfg, lc_trainer **out, lc_error *err);
void lc_trainer_free(lc_trainer *t);

/* Copy the weights of a loaded model (any weight type, converted to f32) for
 * fine-tuning. Shapes must match the trainer's config (see
 * lc_train_config_from_model). Resets the optimizer state and step. */
lc_status lc_trainer_load_weights(lc_trainer *t, const lc_model *m, lc_error *err);
/* Fill c->model from a loaded model (shape, norm eps, rope, tied, attention),
 * keeping the rest of c. */
void lc_train_config_from_model(lc_train_config *c, const lc_model *m);

const lc_train_config *lc_trainer_config(const lc_trainer *t);
const lc_train_memory *lc_trainer_memory(const lc_trainer *t);
/* Steps completed so far. */
int64_t lc_trainer_step_count(const lc_trainer *t);
/* The learning rate of step s (0-based) under the config's schedule. */
float lc_train_lr_at(const lc_train_config *c, int64_t s);
/* The attention forward method in use ("flash", or "naive" as a stand-in
 * where the FLASH kernel is unavailable; "linear:elu" for linear models). */
const char *lc_trainer_attn_forward_name(const lc_trainer *t);

/* One optimizer step on a batch. tokens [B, T+1]: row b trains on predicting
 * tokens[b, t+1] from tokens[b, 0..t]; weights [B, T] (NULL: all 1) weight
 * each of those predictions. Token ids are checked against the vocabulary. */
lc_status lc_trainer_step(lc_trainer *t, const int32_t *tokens, const float *weights, lc_train_stats *stats,
                          lc_error *err);
/* Forward only: the weighted mean loss of a batch (validation). */
lc_status lc_trainer_eval(lc_trainer *t, const int32_t *tokens, const float *weights, double *loss, lc_error *err);
/* Forward only: logits [B, T, V] of every position of tokens [B, T] (the
 * same numbers `longctx run` computes from a saved checkpoint). */
lc_status lc_trainer_logits(lc_trainer *t, const int32_t *tokens, float *logits, lc_error *err);
/* Forward and backward without updating: leaves dLoss/dparams in the
 * gradient slab (gradient checks, analysis). */
lc_status lc_trainer_loss_grad(lc_trainer *t, const int32_t *tokens, const float *weights, double *loss,
                               lc_error *err);

/* The parameter and gradient slabs (n floats each) and the size table. */
float *lc_trainer_params(lc_trainer *t, size_t *n);
const float *lc_trainer_grads(const lc_trainer *t, size_t *n);
int32_t lc_trainer_n_tensors(const lc_trainer *t);
const lc_train_tensor *lc_trainer_tensor(const lc_trainer *t, int32_t i);
/* Views of the current weights (F32) in the model.h layout, for
 * lc_model_write_gguf; valid until the trainer is freed. */
const lc_model_weights *lc_trainer_weights(const lc_trainer *t);
/* The model config the weights belong to (ctx_train = trained context). */
const lc_model_config *lc_trainer_model_config(const lc_trainer *t);

/* ---- Data ----------------------------------------------------------------
 * A stream of batches whose whole state can be saved and restored, so that a
 * resumed run sees exactly the batches the uninterrupted run would have. */
typedef struct lc_train_data lc_train_data;
struct lc_train_data {
    const char *name;
    void *self;
    /* tokens [B, T+1], weights [B, T] (the weight of predicting tokens[b, t+1]) */
    lc_status (*next)(lc_train_data *d, int64_t b, int64_t t, int32_t *tokens, float *weights, lc_error *err);
    size_t (*state_size)(const lc_train_data *d);
    lc_status (*get_state)(const lc_train_data *d, void *buf, size_t len, lc_error *err);
    lc_status (*set_state)(lc_train_data *d, const void *buf, size_t len, lc_error *err);
    void (*destroy)(lc_train_data *d);
};
void lc_train_data_free(lc_train_data *d);

/* Built-in toy tasks over token ids 0..vocab-1 (no tokenizer needed), for
 * tests and smoke runs. Tokens 0 (pad) and 1 (separator) are reserved:
 *   "copy"     x SEP x PAD...      (loss only on the second x)
 *   "reverse"  x SEP reverse(x) PAD...
 * with x random tokens in [2, vocab) of random length 1..(T-1)/2. Row r is a
 * function of (seed, r): the state is the row count. vocab >= 4. */
lc_status lc_train_data_toy(const char *task, int32_t vocab, uint64_t seed, lc_train_data **out, lc_error *err);
/* Random windows of T+1 tokens from a token array (copied), e.g. a tokenized
 * text file; window r starts at a position drawn from (seed, r). All
 * weights 1. n must be at least T+1 (checked at the first batch). */
lc_status lc_train_data_tokens(const int32_t *ids, int64_t n, uint64_t seed, lc_train_data **out, lc_error *err);
/* The synthetic task mixture of longctx/tasks.h (passkey, multikey, vt,
 * filler...), rows of exactly cfg->seq_len + 1 tokens weighted by role
 * (cfg->role_weight). tok is borrowed and must outlive the stream. The saved
 * state is the row position plus a fingerprint of mixture, T, seed, role
 * weights and vocabulary size. */
lc_status lc_train_data_tasks(const lc_task_stream_config *cfg, const lc_tokenizer *tok, lc_train_data **out,
                              lc_error *err);
/* The same with length jitter J (0 <= J < T): row r holds the sample of
 * T+1-j tokens (j drawn in [0, J] from (seed, r); the sample is row r of the
 * task stream for T-j) followed by j padding tokens (the tokenizer's pad, else
 * EOS) whose predictions weigh 0 — so the EOS after the answer is not always
 * the row's last token and a model cannot learn to stop by position alone.
 * J = 0 is lc_train_data_tasks. The fingerprint covers J (when > 0).
 * J <= min(T - 1, LC_TRAIN_MAX_JITTER): one task stream is made per j. */
#define LC_TRAIN_MAX_JITTER 1024
lc_status lc_train_data_tasks_jitter(const lc_task_stream_config *cfg, const lc_tokenizer *tok, int64_t jitter,
                                     lc_train_data **out, lc_error *err);

/* ---- Training data from a spec: what `longctx train --data` means --------------
 * data: "toy:copy" / "toy:reverse" (lc_train_data_toy over toy_vocab ids); the
 * path of a text file (read whole, at most 1 GiB and an eighth of the memory
 * available; tokenized; the last 10% held out for validation when it fills
 * batches of T + 1 tokens, else validation reads the training tokens); else a
 * task mixture in lc_task_mix_parse's syntax ("passkey:0.5,vt:0.5:hops=2").
 * tokenizer: NULL (model_tok when given, else the tasks' synthetic
 * vocabulary), "synthetic", "bpe:N" (a byte-level BPE of N >= 257 tokens
 * trained on the text file: text data only), or a GGUF with a vocabulary.
 * Task rows are weighted by role (answer_weight, filler_weight, eos_weight;
 * NaN: the stream's default) and may end up to len_jitter tokens early
 * (lc_train_data_tasks_jitter). The validation stream (eval) uses seed ^
 * 0x5eed. Nothing is printed; desc says in one line what was built. */
typedef struct {
    const char *data;
    const char *tokenizer;
    const lc_tokenizer *model_tok; /* borrowed: a fine-tuned model's tokenizer, or NULL */
    int32_t toy_vocab;             /* toy data: ids 0..toy_vocab-1                    */
    int64_t ctx;                   /* T: tokens per sequence                          */
    uint64_t seed;
    bool eval;                     /* also a validation stream                        */
    float answer_weight, filler_weight, eos_weight; /* NaN: the default (1)           */
    int64_t len_jitter;
} lc_train_data_spec;

typedef struct {
    lc_tokenizer *tok;    /* owned; NULL when the data uses model_tok (or none: toy) */
    lc_train_data *train; /* owned                                                  */
    lc_train_data *eval;  /* owned; NULL unless spec->eval                          */
    int32_t vocab;        /* the ids the data may produce: 0..vocab-1               */
    char desc[160];
} lc_train_data_set;

void lc_train_data_spec_init(lc_train_data_spec *s);
/* On failure out holds nothing (every part freed). */
lc_status lc_train_data_from_spec(const lc_train_data_spec *s, lc_train_data_set *out, lc_error *err);
void lc_train_data_set_free(lc_train_data_set *d);

/* ---- Checkpoints -----------------------------------------------------------
 * PATH is a GGUF (architecture llama, F32 weights, tokenizer when given,
 * longctx.attention for linear models) that `longctx run` and llama.cpp load.
 * PATH.optim is the sidecar with what resuming needs:
 *
 *   offset  size  field
 *   0       8     magic "LCOPTIM\0"
 *   8       4     u32 version (1)
 *   12      4     u32 header bytes (from offset 0 to the data state)
 *   16      8     u64 steps completed
 *   24      8     u64 parameter count n
 *   32      8     u64 fingerprint of the model shape (dims, heads, vocab,
 *                 tied, attention)
 *   40      8     u64 checksum of the f32 weights written to PATH (so a
 *                 sidecar is never paired with another checkpoint)
 *   48      8     u64 data state bytes s
 *   56      ...   the training config's optimizer fields (see checkpoint.c)
 *   H       s     the data stream's state
 *   H+s     4n    AdamW m   (f32)
 *   ...     4n    AdamW v   (f32)
 *   end-8   8     u64 checksum of every byte before it
 *
 * All integers little-endian. Resuming refuses a wrong magic or version, a
 * truncated or corrupted file (checksum), a different model shape, or a GGUF
 * whose weights are not the ones the sidecar was written with. */
lc_status lc_trainer_save(lc_trainer *t, const char *path, const lc_tokenizer *tok, const lc_train_data *data,
                          lc_error *err);
/* Load PATH's weights and PATH.optim's optimizer state, step and data state
 * (into data when non-NULL). The trainer must have the checkpoint's shape. */
lc_status lc_trainer_resume(lc_trainer *t, const char *path, lc_train_data *data, lc_error *err);
/* Read the optimizer fields stored in PATH.optim into c (steps, lr, min_lr,
 * warmup, weight decay, betas, eps, clip, B, T, seed, attention backward),
 * so a resumed run continues with the same schedule unless overridden. */
lc_status lc_train_sidecar_read_config(const char *path, lc_train_config *c, int64_t *step, lc_error *err);

/* ---- The training loop -------------------------------------------------- */
typedef struct {
    int64_t save_every;          /* save every N steps (0: only at the end)    */
    const char *save_path;       /* NULL: never save                           */
    const lc_tokenizer *tok;     /* written into checkpoints (may be NULL)     */
    lc_train_data *eval_data;    /* NULL: no validation                        */
    int64_t eval_every;          /* evaluate every N steps (0: never)          */
    int64_t eval_batches;        /* batches per evaluation (1)                 */
    /* Callbacks (any may be NULL). on_step returning false stops the run
     * after that step (it is saved if save_path is set). */
    bool (*on_step)(void *user, const lc_train_stats *s);
    void (*on_eval)(void *user, int64_t step, double loss);
    void (*on_save)(void *user, int64_t step, const char *path);
    void *user;
} lc_train_run_opts;

/* Step until cfg.steps steps are completed (from wherever the trainer is),
 * drawing batches from data; evaluates and saves as asked. */
lc_status lc_train_run(lc_trainer *t, lc_train_data *data, const lc_train_run_opts *o, lc_error *err);

/* ---- A run's configuration from what a user asked (longctx train) -----------
 * Each field overrides only when its `set` is true (whatever its value:
 * lc_train_config_validate judges the result). Integer values are stored
 * into the configuration's fields as C conversions do (int32 model sizes). */
typedef struct {
    bool set;
    int64_t v;
} lc_train_opt_i64;
typedef struct {
    bool set;
    float v;
} lc_train_opt_f32;

typedef struct {
    /* a fresh model's shape (a model given to start from has its own) */
    lc_train_opt_i64 dim, layers, heads, kv_heads, hidden, head_dim, vocab;
    bool untied;           /* an output matrix of its own                        */
    const char *attention; /* NULL: softmax                                      */
    bool toy_data;         /* the data is a toy task: vocab defaults to 32       */
    /* batch and schedule */
    lc_train_opt_i64 ctx, batch, steps, warmup, seed, threads;
    lc_train_opt_f32 lr, min_lr, weight_decay, grad_clip, beta1, beta2;
} lc_train_request;

/* Whether r asks for any part of the model's shape (which a model given to
 * start from or resume already fixes). */
bool lc_train_request_shape_given(const lc_train_request *r);
/* A fresh model's shape: dim, layers and heads as asked (else m's), KV heads
 * heads / 2 (heads when odd), hidden 3 x dim, head dim dim / heads, tied
 * unless untied, the attention spec; with toy data the vocabulary (32). */
void lc_train_request_model(const lc_train_request *r, lc_model_config *m);
/* Batch and schedule over cfg (the defaults, or a resumed run's sidecar):
 * what r sets; for a run that is not resumed, min_lr lr / 10 and warmup
 * steps / 20 unless r sets them. */
void lc_train_request_schedule(const lc_train_request *r, bool resumed, lc_train_config *cfg);

/* ---- A run set up from a request (what `longctx train` does) --------------------
 * Two steps, so a caller can adjust the configuration between them (RoPE
 * options, the attention backward):
 * 1. lc_train_config_for_request: the model's shape from the checkpoint to
 *    resume or the model to start from (init: fine-tuning; loaded into *base,
 *    the caller's to free), with a resumed run's schedule from its .optim
 *    sidecar, else r's shape over the defaults; then r's batch and schedule
 *    (lc_train_request_schedule). Refuses (LC_ERR_INVALID_ARG) both init and
 *    resume, and a shape asked for together with either.
 * 2. lc_train_setup: the data (data: the --data spec, whose ctx, seed,
 *    model_tok and toy_vocab it fills in from cfg, r and base), a fresh
 *    model's vocabulary from r or the data, the trainer, and its weights:
 *    base's (init, which also gives a RoPE scaling without an original
 *    context base's training context) or the checkpoint's (resume, with
 *    the optimizer state and the data position). Refuses data whose ids pass
 *    the model's vocabulary. On failure *t and *ds hold nothing. */
lc_status lc_train_config_for_request(const lc_train_request *r, const char *init, const char *resume,
                                      lc_train_config *cfg, lc_model **base, lc_error *err);
lc_status lc_train_setup(lc_train_config *cfg, const lc_train_request *r, lc_train_data_spec *data, const char *init,
                         const char *resume, const lc_model *base, lc_trainer **t, lc_train_data_set *ds,
                         lc_error *err);
/* The folder a checkpoint path names exists and is writable (checked before
 * a long run, so it does not fail at its first save). */
bool lc_train_output_dir_ok(const char *path);

/* What the run will do, four lines: parameters and shape; attention (forward
 * and backward) and RoPE; memory (weights+grads+adam, activations, attention
 * state, scratch); data, batch, steps (from the current one), learning rates,
 * warmup and threads. */
void lc_trainer_plan_print(FILE *f, const lc_trainer *t, const lc_train_data_set *ds);

/* ---- The loss curve as CSV -----------------------------------------------------
 * Columns step,tokens,loss,lr,grad_norm,seconds,val_loss (seconds since the
 * log was opened; val_loss empty unless a validation of that step came). A
 * step's row is written when the next step or the close comes, so an
 * evaluation after a step lands in its row. append: go on with an existing
 * file (a resumed run) without a second header. */
typedef struct lc_train_log lc_train_log;
lc_status lc_train_log_open(const char *path, bool append, int64_t tokens_per_step, lc_train_log **out,
                            lc_error *err);
void lc_train_log_step(lc_train_log *l, const lc_train_stats *s);
void lc_train_log_eval(lc_train_log *l, int64_t step, double val_loss);
/* Writes the pending row and closes the file (NULL: nothing). */
void lc_train_log_close(lc_train_log *l);

/* ---- A progress line -------------------------------------------------------------
 * Throughput and time to the end since the run started (from the steps done
 * since; first_step: the trainer's step count then). */
typedef struct {
    double start;
    int64_t first_step, total_steps, tokens_per_step;
} lc_train_progress;
void lc_train_progress_init(lc_train_progress *p, const lc_trainer *t);
/* "step 12/1000 | loss 3.2100 | lr 1.00e-03 | grad 0.512 | 5120 tok/s | 1m05s
 * elapsed | ETA 1h02m", or with plain set "step 12/1000 loss 3.2100 lr
 * 1.00e-03 grad 0.512 tok/s 5120 elapsed 1m05s ETA 1h02m" (for logs); into
 * buf, returns buf. */
const char *lc_train_progress_format(const lc_train_progress *p, const lc_train_stats *s, bool plain, char *buf,
                                     size_t len);

/* ---- A console for lc_train_run ---------------------------------------------------
 * The callbacks of lc_train_run_opts writing to f: the progress line
 * (lc_train_progress_format; on a terminal redrawn in place at most 10 times
 * a second, else a plain line for the first step, every log_every-th (<= 0:
 * steps / 50, at least 1) and the last), "step S: validation loss V (train
 * L)" and "step S: saved PATH (+ .optim)" lines, and the CSV log (may be
 * NULL). The run stops after a step once *stop (may be NULL) is non-zero (a
 * Ctrl-C handler sets it) or the step reaches stop_at (> 0). */
typedef struct {
    FILE *f;
    bool tty;                           /* f is a terminal (a caller may set it) */
    lc_train_log *log;
    lc_train_progress progress;
    int64_t log_every, stop_at;
    const volatile sig_atomic_t *stop;
    double last_loss, last_draw;
} lc_train_console;
void lc_train_console_init(lc_train_console *c, FILE *f, const lc_trainer *t, lc_train_log *log, int64_t log_every,
                           int64_t stop_at, const volatile sig_atomic_t *stop);
/* Point o's on_step, on_eval, on_save and user at c. */
void lc_train_console_attach(lc_train_console *c, lc_train_run_opts *o);
/* Erase the progress line (on a terminal) so the next line starts clean. */
void lc_train_console_clear(const lc_train_console *c);
/* lc_train_run with a console on f: the CSV log at log_path (NULL: none;
 * append: go on with an existing file), the lines above, and the stops;
 * o's callbacks are replaced by the console's. After a run that went well,
 * "done: N steps, SAVE_PATH (+ .optim)" (without o.save_path: "done: N
 * steps"), after "interrupted|stopped at step S of N: continue with
 * --resume SAVE_PATH" when *stop or stop_at ended it early. */
lc_status lc_train_run_console(lc_trainer *t, lc_train_data *data, lc_train_run_opts o, FILE *f, const char *log_path,
                               bool append, int64_t log_every, int64_t stop_at, const volatile sig_atomic_t *stop,
                               lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TRAIN_H */
