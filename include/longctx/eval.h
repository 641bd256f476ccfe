/*
 * longctx/eval.h — the long-context evaluation suite: retrieval grids
 * (passkey, RULER-style needle-in-a-haystack variants, variable tracking),
 * perplexity against context length with a sliding window, and attention
 * retention (how much attention each layer and head gives to keys at each
 * distance), with their JSON records and pictures.
 *
 *   lc_eval_model (ops: generate, reset, append_logprobs)
 *     ├── lc_eval_model_from_context: the real one, over an lc_context
 *     └── any caller's fake (tests: always right, right in the first half...)
 *            │
 *   lc_eval_grid_run     lengths x depths x trials of task samples
 *                        (include/longctx/tasks.h), greedy answers scored by
 *                        exact match (lc_task_score) and recall (lc_task_recall)
 *   lc_eval_ppl_run      sliding windows over a token sequence: ppl and the
 *                        mean loss per log2 bucket of position in the window
 *   lc_eval_retention_run  (real contexts only) attention mass per layer, head
 *                        and log2 bucket of key distance at probe positions,
 *                        plus the passkey grid of the same samples
 *
 * Everything is deterministic for a given seed. The library never prints:
 * progress goes through an lc_progress_fn; JSON is written through an
 * lc_json_writer and pictures to a FILE the caller opened. docs/eval.md has
 * the scoring rules, the JSON contract and examples.
 */
#ifndef LONGCTX_EVAL_H
#define LONGCTX_EVAL_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"
#include "longctx/runtime.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The model under evaluation                                               */
/* ------------------------------------------------------------------------ */

typedef struct lc_eval_model lc_eval_model;

typedef struct {
    /* The greedy answer to a prompt, evaluated as a sequence of its own
     * (whatever the model held before does not count; an implementation may
     * reuse a shared prefix when that gives the same result). Writes at most
     * max_new tokens to out, *n_out of them. May stop early: at EOS (not
     * written), or after a token whose text holds a newline or a period
     * (scoring reads no further). */
    lc_status (*generate)(lc_eval_model *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new, int32_t *out,
                          int64_t *n_out, lc_error *err);
    /* Empty the sequence. */
    void (*reset)(lc_eval_model *m);
    /* Append n tokens to the sequence and write out[i] = ln p(tokens[i] |
     * every token before it) for i in [0, n); out[0] is NaN when the
     * sequence was empty (nothing predicts its first token). */
    lc_status (*append_logprobs)(lc_eval_model *m, const int32_t *tokens, int64_t n, float *out, lc_error *err);
    /* Free what the implementation allocated, m itself included if it was
     * allocated (may be NULL: the caller owns m). */
    void (*destroy)(lc_eval_model *m);
} lc_eval_model_ops;

struct lc_eval_model {
    const lc_eval_model_ops *ops;
    void *impl;               /* the implementation's state                  */
    const lc_tokenizer *tok;  /* builds prompts, decodes answers (borrowed)  */
    int64_t n_ctx;            /* tokens one sequence may hold                */
    int32_t eos_id;           /* -1: none                                    */
};

/* The real model: greedy decoding and log-probabilities through ctx (borrowed,
 * like tok; both must outlive the model). eos_id -1: the tokenizer's.
 * reuse_prefix: generate keeps the tokens the context holds that the new
 * prompt starts with (lc_context_truncate) and evaluates only the rest; it is
 * turned off where it would not give the same arithmetic as a fresh
 * evaluation: LINEAR attention, dynamic NTK (its frequencies follow the
 * length of each evaluated chunk); a cache policy that cannot truncate
 * resets instead. Free with lc_eval_model_free. */
lc_status lc_eval_model_from_context(lc_context *ctx, const lc_tokenizer *tok, int32_t eos_id, bool reuse_prefix,
                                     lc_eval_model **out, lc_error *err);
/* Tokens the last generate calls evaluated and skipped thanks to prefix
 * reuse (NULL pointers allowed; zeros for models that are not the real one). */
void lc_eval_model_prefix_stats(const lc_eval_model *m, int64_t *evaluated, int64_t *reused);
/* Calls ops->destroy (for lc_eval_model_from_context's model: frees it). */
void lc_eval_model_free(lc_eval_model *m);

/* The text of generated tokens that follow token prev (-1: none) into buf
 * (NUL-terminated, truncated to cap-1 bytes); returns the full length. */
size_t lc_eval_decode(const lc_tokenizer *tok, int32_t prev, const int32_t *ids, int64_t n, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Log-spaced buckets                                                       */
/* ------------------------------------------------------------------------ */

/* Bucket 0 holds 0, bucket b >= 1 holds [2^(b-1), 2^b): 0 | 1 | 2-3 | 4-7 |
 * 8-15 ... Used for key distances (retention) and for positions inside a
 * window (ppl: a token at window position i >= 1 is predicted from i tokens,
 * so ppl's buckets start at 1). */
#define LC_EVAL_MAX_BUCKETS 48
int lc_eval_bucket(int64_t v);                   /* v >= 0 */
void lc_eval_bucket_range(int b, int64_t *lo, int64_t *hi);

/* ------------------------------------------------------------------------ */
/* Retrieval grids: passkey, needle in a haystack, variable tracking        */
/* ------------------------------------------------------------------------ */

#define LC_EVAL_MAX_LENGTHS 64
#define LC_EVAL_MAX_DEPTHS 101

typedef bool (*lc_eval_trial_fn)(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                                 const char *generated, double score, double recall);

typedef struct {
    lc_task_spec task;        /* kind and options (digits, keys, values,
                                 queries, chains, hops, haystack); n_tokens and
                                 depth are set per cell                      */
    int64_t lengths[LC_EVAL_MAX_LENGTHS]; /* sample lengths in tokens, BOS to
                                 EOS (a sample may be a few tokens shorter:
                                 whole sentences)                            */
    int n_lengths;
    double depths[LC_EVAL_MAX_DEPTHS]; /* 0..1, where the (first asked) needle
                                 sits in the haystack                        */
    int n_depths;             /* 0: a random depth per trial (one cell per length) */
    int32_t trials;           /* samples per cell (>= 1)                    */
    uint64_t seed;            /* trial t's samples use a seed derived from
                                 (seed, t): the same haystack and needle at
                                 every length and depth, as in the public
                                 needle-in-a-haystack charts                */
    int64_t margin;           /* tokens generated beyond the answer's (4)    */
    lc_progress_fn progress;  /* optional: done/total in prompt tokens      */
    void *progress_user;
    lc_eval_trial_fn on_trial;/* optional: every scored trial; false stops  */
    void *trial_user;
} lc_eval_grid_config;

/* kind passkey, lengths {} (set some), depths: 10 evenly spaced 0..1, 1 trial,
 * seed 1, margin 4. */
void lc_eval_grid_config_init(lc_eval_grid_config *c, lc_task_kind kind);
/* n evenly spaced depths 0..1 (n >= 1; n == 1 gives 0.5) into c->depths. */
lc_status lc_eval_grid_even_depths(lc_eval_grid_config *c, int n, lc_error *err);
/* Depths as written on a command line (src/eval/grid_spec.c): "N", N evenly
 * spaced (1..LC_EVAL_MAX_DEPTHS), or a list of percentages "0,25,50%" (one
 * depth: "50%"), each in 0..100, into depths[] as 0..1. */
lc_status lc_eval_depths_parse(const char *s, double *depths, int *n, lc_error *err);
/* RULER's needle-in-a-haystack variants on a task spec: "single" (NULL: the
 * default; one key asked: refused when keys_given set other keys),
 * "multikey", "multivalue", "multiquery". */
lc_status lc_eval_niah_variant(lc_task_spec *spec, const char *variant, bool keys_given, lc_error *err);
/* Check lengths, depths, trials, the margin, that every length fits the
 * model (length + margin <= n_ctx) and that it holds the task's needles and
 * question (one sample per length is made with tok, or refused saying how
 * many tokens it needs). */
lc_status lc_eval_grid_check(const lc_eval_grid_config *c, const lc_tokenizer *tok, int64_t n_ctx, lc_error *err);
/* The lengths of a grid when none are given: powers of two from 1K below
 * the target, then the target: n_ctx - margin (n_ctx > 0), else the
 * model's training context ctx_train (at least 1). lengths has room for
 * LC_EVAL_MAX_LENGTHS; *n is set. */
void lc_eval_default_lengths(int64_t n_ctx, int64_t margin, int64_t ctx_train, int64_t *lengths, int *n);
/* The index of the first length past ctx_train (> 0), or -1: where RoPE
 * unscaled leaves the positions the model was trained on. */
int lc_eval_past_training(const int64_t *lengths, int n, int64_t ctx_train);

typedef struct {
    int64_t length;        /* requested sample length                          */
    double depth;          /* requested depth; NaN when random                 */
    int32_t trials;
    double accuracy;       /* mean exact-match score (lc_task_score)           */
    double recall;         /* mean recall (lc_task_recall)                     */
    double mean_tokens;    /* mean prompt tokens                               */
    double mean_depth;     /* mean depth the asked needle really got           */
    double seconds;        /* wall time of the cell's trials                   */
} lc_eval_cell;

typedef struct {
    lc_task_kind kind;
    int n_lengths, n_depths; /* n_depths >= 1 (1 with random depths)         */
    lc_eval_cell *cells;     /* [n_lengths * n_depths]: cell (l, d) at l * n_depths + d */
    double accuracy, recall; /* means over every trial                      */
    int64_t n_trials;
    int64_t tokens_evaluated, tokens_reused; /* prefix reuse of the real model */
    double seconds;
} lc_eval_grid;

/* Run the grid: for each trial, each length, each depth (deepest first, so a
 * model that reuses shared prefixes evaluates least), generate the sample,
 * ask the model, score. On failure *out is left empty. Free with
 * lc_eval_grid_free. */
lc_status lc_eval_grid_run(lc_eval_model *m, const lc_eval_grid_config *c, lc_eval_grid *out, lc_error *err);
void lc_eval_grid_free(lc_eval_grid *g);
/* The sample of trial t at (length, depth) as the grid makes it (depth < 0:
 * random). Free with lc_task_sample_free. */
lc_status lc_eval_grid_sample(const lc_eval_grid_config *c, const lc_tokenizer *tok, int64_t length, double depth,
                              int32_t trial, lc_task_sample *out, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Perplexity with a sliding window                                         */
/* ------------------------------------------------------------------------ */

/* Window k covers tokens [start, end) = [k*S, min(k*S + W, n)) and scores the
 * tokens no earlier window scored: [score_from, end) with score_from = 1 for
 * the first window and the previous window's end after it. So every token
 * but the first is scored exactly once, with at least W - S tokens of
 * context after the first window; the last window is the one that reaches n.
 * (S = W: disjoint windows, each scoring all of its tokens but its first.) */
typedef struct {
    int64_t start, end, score_from;
} lc_eval_window;

/* Window k of the plan for n tokens, window W, stride S (1 <= S <= W);
 * false when there is no window k. */
bool lc_eval_ppl_window(int64_t n, int64_t W, int64_t S, int64_t k, lc_eval_window *win);

typedef struct {
    int64_t window;          /* W (>= 2)                                       */
    int64_t stride;          /* S: 1..W; 0: W                                  */
    lc_progress_fn progress; /* optional: done/total in tokens scored          */
    void *progress_user;
} lc_eval_ppl_config;

typedef struct {
    int64_t window, stride;
    int64_t n_windows;
    int64_t n_scored;                         /* tokens scored               */
    int64_t n_evaluated;                      /* tokens the model evaluated
                                                 (sum of window lengths)     */
    double nll;                               /* sum of -ln p (nats)         */
    double ppl;                               /* exp(nll / n_scored)         */
    int n_buckets;                            /* buckets 1.. of position in the
                                                 window that hold tokens     */
    double bucket_nll[LC_EVAL_MAX_BUCKETS];   /* sum per bucket (bucket 0
                                                 stays empty)                */
    int64_t bucket_count[LC_EVAL_MAX_BUCKETS];
    double seconds;
} lc_eval_ppl_result;

/* The window plan over tokens [n] with every window evaluated as a fresh
 * sequence (reset, then append_logprobs). Needs n >= 2 and W <= n_ctx;
 * W > n is refused (the file is shorter than the window). */
lc_status lc_eval_ppl_run(lc_eval_model *m, const int32_t *tokens, int64_t n, const lc_eval_ppl_config *c,
                          lc_eval_ppl_result *out, lc_error *err);

/* Streaming perplexity (StreamingLLM's evaluation): the whole token stream
 * goes through ONE context whose KV policy keeps its memory constant
 * (window, sinks, shift, h2o; runtime.h), in chunks of its batch size with
 * every logit row kept, so each token after the first is scored exactly once
 * from everything the cache still holds. The result reads like a ppl cell:
 * window = the cache's slots, stride 1, one "window", n_evaluated = n, and
 * the buckets are by the tokens of context a token was predicted from (what
 * the cache held then). The context is reset first. src/eval/stream_ppl.c. */
typedef struct {
    lc_progress_fn progress; /* optional: done/total in tokens               */
    void *progress_user;
} lc_eval_stream_config;

typedef struct {
    size_t rss_start, rss_end;   /* resident memory before and after (bytes) */
    double tokens_per_s;         /* n / seconds                               */
    double tokens_per_s_first;   /* over the first tenth of the stream        */
    double tokens_per_s_last;    /* over the last tenth (constant cost: equal) */
} lc_eval_stream_stats;

lc_status lc_eval_ppl_stream(lc_context *ctx, const int32_t *tokens, int64_t n, const lc_eval_stream_config *c,
                             lc_eval_ppl_result *out, lc_eval_stream_stats *stats, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Attention retention                                                      */
/* ------------------------------------------------------------------------ */

/* Softmax probabilities of one query row and head over the visible keys of an
 * observed attention call (lc_attn_observer_fn), by the naive formula
 * p_j = exp(scale q.k_j - max) / sum: probs [n_kv], zero for keys the row
 * does not see (causal, window and sinks as the params say). NAIVE, FLASH
 * and WINDOW only. kbuf: scratch of head_dim floats. Returns the number of
 * visible keys (0: a fully masked row, all zeros), or -1 if unsupported. */
int64_t lc_eval_attn_probs(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, int64_t row,
                           int32_t head, float *probs, float *kbuf);

#define LC_EVAL_MAX_PROBES 32

typedef struct {
    lc_eval_grid_config grid; /* passkey samples: lengths, depths, trials, seed */
    int64_t probes[LC_EVAL_MAX_PROBES]; /* query positions in the prompt:
                                 >= 0 from its start, < 0 from its end (-1 =
                                 the last prompt token, where the answer is
                                 retrieved)                                 */
    int n_probes;             /* default 1: {-1}                             */
} lc_eval_retention_config;

void lc_eval_retention_config_init(lc_eval_retention_config *c);

typedef struct {
    int32_t n_layers, n_heads;
    int n_buckets;              /* distance buckets 0 .. n_buckets-1         */
    double *mass;               /* [n_layers][n_heads][n_buckets]: mean mass a
                                   probe row gives to keys in the bucket     */
    double *needle_mass;        /* [n_layers][n_heads]: mean mass on the tokens
                                   of the asked needle                       */
    double bucket_keys[LC_EVAL_MAX_BUCKETS]; /* mean keys per bucket (keys at
                                   or before the probe: causal)           */
    int64_t n_rows;             /* probe rows averaged (per layer and head)   */
    lc_eval_grid grid;          /* the passkey answers: accuracy by length and
                                   depth ("lost in the middle")              */
} lc_eval_retention;

/* For each sample of the grid: evaluate its prompt in ctx with an observer
 * (each probe the last token of an eval call, so every layer computes its
 * row), then generate and score the answer as the grid does. Needs softmax
 * attention over the cache (not LINEAR or CHUNKED). The context is reset
 * before each sample; the observer is removed before returning. Free with
 * lc_eval_retention_free. */
lc_status lc_eval_retention_run(lc_context *ctx, const lc_tokenizer *tok, int32_t eos_id,
                                const lc_eval_retention_config *c, lc_eval_retention *out, lc_error *err);
void lc_eval_retention_free(lc_eval_retention *r);

/* ------------------------------------------------------------------------ */
/* JSON records and pictures                                                */
/* ------------------------------------------------------------------------ */

/* Inside an open JSON object: "cells": [...], "accuracy", "recall",
 * "trials" (and "seconds" unless !timings). docs/eval.md has the contract. */
void lc_eval_grid_write_json(lc_json_writer *w, const lc_eval_grid *g, bool timings);
/* Inside an open JSON object (a ppl cell): "length" (the window), "stride",
 * "windows", "tokens" (scored), "evaluated", "loss" (mean nll), "ppl", "buckets": [{"lo", "hi",
 * "tokens", "loss"}...] (and "seconds" unless !timings). */
void lc_eval_ppl_write_json(lc_json_writer *w, const lc_eval_ppl_result *r, bool timings);
/* Inside an open object: "buckets": [{"lo", "hi", "keys"}...], "rows",
 * "layers": [{"layer", "mass": [per bucket, mean over heads], "heads":
 * [[per bucket]...], "needle_mass": mean, "needle_mass_heads": [per head]}]. */
void lc_eval_retention_write_json(lc_json_writer *w, const lc_eval_retention *r);

/* The needle heat map of a grid: length (x) by depth (y), colour = accuracy
 * (red 0 .. yellow .. green 1), cell labels in percent. Needs depths. */
lc_status lc_eval_grid_svg(FILE *f, const lc_eval_grid *g, const char *title, lc_error *err);
/* Accuracy against needle depth, one line per length plus the mean over
 * lengths ("lost in the middle"). */
lc_status lc_eval_depth_svg(FILE *f, const lc_eval_grid *g, const char *title, lc_error *err);
/* Perplexity against window length, one line per method: results
 * [n_methods][n_lengths] with names [n_methods]; log-x. */
lc_status lc_eval_ppl_svg(FILE *f, const lc_eval_ppl_result *results, int n_methods, int n_lengths,
                          const char *const *names, const char *title, lc_error *err);
/* Attention mass against key distance (log-x: distance + 1), one line per
 * layer (mean over heads). */
lc_status lc_eval_retention_svg(FILE *f, const lc_eval_retention *r, const char *title, lc_error *err);


/* ------------------------------------------------------------------------ */
/* Running the suite on a model (src/eval/eval_setup.c, eval_runner.c)      */
/* ------------------------------------------------------------------------ */

/* What the JSON records and tables say about a context (kept after it is
 * freed). */
typedef struct {
    lc_attn_method attn;
    lc_rope_config rope;
    int64_t n_ctx, n_batch;
    lc_dtype k_type, v_type;
    int n_threads;
} lc_eval_ctx_info;

void lc_eval_ctx_info_get(const lc_context *ctx, lc_eval_ctx_info *info);
/* "attn flash, rope none" / "attn window, rope yarn x4" (picture titles). */
const char *lc_eval_method_label(const lc_eval_ctx_info *info, char *buf, size_t len);
/* A token count as the tables write it: "1K", "512", "1.5K", "2M". */
const char *lc_eval_len_str(int64_t v, char *buf, size_t len);
/* The settings line `longctx eval` prints above its tables once the first
 * context exists: "# TASK on MODEL_NAME (format, N params): ctx, threads,
 * attn, kv types, rope"; and, for a file of file_tokens > 0 tokens, "# N
 * tokens from FILE". */
void lc_eval_print_setup(FILE *f, const char *task, const char *model_name, const lc_model *m,
                         const lc_eval_ctx_info *info, const char *file, int64_t file_tokens);
/* One scored trial as --verbose prints it: length, depth ("random" when
 * depth < 0), trial, prompt tokens, the expected answer and the generated
 * text (newlines as \n), score and recall. */
void lc_eval_trial_print(FILE *f, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                         const char *generated, double score, double recall);
/* The model's file name without directory and extension into name, and for
 * a GGUF its general.name (often just the architecture) into general, else
 * "" (either buffer may be NULL). */
void lc_eval_model_names(const char *path, const lc_model *m, char *name, size_t len, char *general, size_t glen);

/* Whether a context of n_ctx tokens with options o fits in share (0 < share
 * <= 1; 0: 1) of the memory available, before anything is allocated.
 * LC_ERR_TOO_LARGE "WHAT needs a context of N tokens: X (Y of it the KV
 * cache), but only Z of memory is available; lower --lengths or -c ...". */
lc_status lc_eval_context_fits(const lc_model *m, const lc_context_opts *o, int64_t n_ctx, double share,
                               const char *what, lc_error *err);

/* Called once a run's context exists, before the evaluation (e.g. to print
 * the settings above the progress). */
typedef void (*lc_eval_ready_fn)(void *user, const lc_eval_ctx_info *info);

/* How a run makes its lc_eval_model over the context it created; the
 * default is lc_eval_model_from_context. open is called whatever the outcome
 * of creating the context (ctx NULL and st its status on a failure), for
 * callers whose processes must agree (sequence parallelism over MPI); it
 * returns the status to go on with. close is called before the context is
 * freed, with what open made (may be NULL). */
typedef struct {
    lc_status (*open)(void *user, lc_context *ctx, lc_status st, const lc_error *ctx_err, const lc_tokenizer *tok,
                      lc_eval_model **out, lc_error *err);
    void (*close)(void *user, lc_eval_model *m);
    void *user;
} lc_eval_model_maker;

typedef struct {
    lc_context_opts ctx;        /* the context; n_ctx 0: what the run needs (the
                                   longest length + the margin; the longest
                                   window; a stream: the training context) */
    double mem_share;           /* lc_eval_context_fits's share (0: all)     */
    bool reuse_prefix;          /* grids: lc_eval_model_from_context's       */
    lc_progress_fn progress;    /* ppl and stream runs (grids: their config) */
    void *progress_user;
    lc_eval_ready_fn ready;     /* optional                                  */
    void *ready_user;
    const lc_eval_model_maker *maker; /* optional (ppl runs)                 */
} lc_eval_run_opts;

/* Defaults: lc_context_opts_init, everything else zero (reuse_prefix true). */
void lc_eval_run_opts_init(lc_eval_run_opts *o);

/* The grid on model m: the memory check (cheap) first, then the task at
 * every length (lc_eval_grid_check), then the context and the run, freed
 * before returning. info (may be NULL) gets the context's settings. */
lc_status lc_eval_grid_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                 const lc_eval_grid_config *c, lc_eval_grid *out, lc_eval_ctx_info *info,
                                 lc_error *err);
/* lc_eval_retention_run on a context made as lc_eval_grid_run_model makes it. */
lc_status lc_eval_retention_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                      const lc_eval_retention_config *c, lc_eval_retention *out,
                                      lc_eval_ctx_info *info, lc_error *err);
/* Perplexity at each of n_windows windows (each >= 2, stride below each; 0:
 * W - 1) in one context (n_ctx 0: the longest window): out[n_windows]. */
lc_status lc_eval_ppl_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                const int32_t *tokens, int64_t n, const int64_t *windows, int n_windows,
                                int64_t stride, lc_eval_ppl_result *out, lc_eval_ctx_info *info, lc_error *err);
/* The windows of a ppl run before anything is loaded: 1..LC_EVAL_MAX_LENGTHS
 * of them, each >= 2, above the stride (0: W - 1) and within n_ctx (0: any);
 * lc_eval_ppl_run_model checks the same. */
lc_status lc_eval_ppl_windows_check(const int64_t *windows, int n, int64_t stride, int64_t n_ctx, lc_error *err);

/* Methods compared by a ppl run: attention specs x RoPE scalings. */
#define LC_EVAL_MAX_METHODS 16
typedef struct {
    char attn[96];              /* the spec as given ("": the default)       */
    bool rope_override;         /* scaling from the list                      */
    lc_rope_scaling scaling;
} lc_eval_method;

/* attn_list "flash,window:256" (NULL or "": one default method) x scalings
 * "none,yarn" (NULL: the RoPE as configured), attention-major. */
lc_status lc_eval_methods_parse(const char *attn_list, const char *scaling_list, lc_eval_method *out, int *n,
                                lc_error *err);
/* "flash (rope none)", "window:16 (rope yarn x4)": a name without commas
 * (a CSV field), the attention as given or as the context resolved it. */
const char *lc_eval_method_name(const lc_eval_method *m, const lc_eval_ctx_info *info, char *buf, size_t len);

/* A ppl comparison (eval ppl --attn A,B --rope-scaling X,Y): each method in
 * turn on a context of its own, o's options with the method's attention
 * ("": the model's, else flash) and, where it overrides it, its RoPE scaling over rope
 * (NULL: the model's), at every window (lc_eval_ppl_run_model). The caller
 * gives the methods, the windows and the arrays res [n_methods x n_windows],
 * info and names [n_methods]; the run fills them (names by
 * lc_eval_method_name) and seconds, its wall time. */
#define LC_EVAL_NAME_MAX 128
typedef struct {
    const lc_eval_method *methods;
    int n_methods;
    const int64_t *windows;
    int n_windows;
    int64_t stride;                    /* 0: W - 1                                  */
    const lc_rope_config *rope;        /* the base RoPE (NULL: the model's)          */
    lc_eval_ppl_result *res;           /* out: method i, window j at i * n_windows + j */
    lc_eval_ctx_info *info;            /* out: each method's context                 */
    char (*names)[LC_EVAL_NAME_MAX];   /* out                                        */
    double seconds;                    /* out                                        */
} lc_eval_ppl_comparison;
lc_status lc_eval_ppl_compare(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                              const int32_t *tokens, int64_t n, lc_eval_ppl_comparison *c, lc_error *err);

/* The tokens of a ppl run: token_ids false: the text of the file encoded
 * with tok (BOS first; tok NULL refused); true: ids separated by white space
 * or commas, each below vocab. At most 1 GiB of file and half the memory
 * available; fewer than 2 tokens are refused (nothing to score). *out
 * malloc'd. */
lc_status lc_eval_tokens_load(const char *path, bool token_ids, const lc_tokenizer *tok, int32_t vocab,
                              int32_t **out, int64_t *n, lc_error *err);

/* Streaming perplexity compared across KV policies: one cell per entry of a
 * --kv-policy list: a policy (lc_kv_policy_parse: window:W, sinks:S:W,
 * shift:KEEP, h2o:S:R:H, full) streamed through one context, or
 * recompute:W, the sliding window with re-computation of a W-token cache
 * (every token predicted from the W before it, re-encoded: the ppl plan with
 * window W + 1 and stride 1). */
#define LC_EVAL_MAX_STREAMS 16
typedef struct {
    char spec[64];
    bool recompute;
    int64_t window;             /* recompute: W                              */
    lc_eval_ppl_result res;
    lc_eval_stream_stats st;
    int64_t slots;              /* KV slots of its context                   */
    double kv_bytes;
} lc_eval_stream_cell;

lc_status lc_eval_streams_parse(const char *list, lc_eval_stream_cell *out, int *n, lc_error *err);
/* One cell over tokens [n]: a policy in a context of o->ctx's options
 * (n_ctx 0: the training context; a full cache: at least n); recompute
 * with the options' threads, batch, KV types, attention and RoPE only. */
lc_status lc_eval_stream_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                   const int32_t *tokens, int64_t n, lc_eval_stream_cell *cell,
                                   lc_eval_ctx_info *info, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Summaries, tables and CSV (src/eval/eval_tables.c)                       */
/* ------------------------------------------------------------------------ */

/* "0", "2-3": the range of bucket b. */
const char *lc_eval_bucket_label(int b, char *buf, size_t len);
/* Mean of the accuracy (recall) of length l's cells over the depths. */
double lc_eval_grid_length_mean(const lc_eval_grid *g, int l, bool recall);
/* Accuracy at depth d over the lengths, weighted by trials (NaN: none). */
double lc_eval_grid_depth_accuracy(const lc_eval_grid *g, int d);
/* Mean loss of bucket b (NaN when it holds no token). */
double lc_eval_ppl_bucket_loss(const lc_eval_ppl_result *r, int b);
/* Mass layer l gives bucket b, and the needle, as the mean over heads. */
double lc_eval_retention_layer_mass(const lc_eval_retention *r, int32_t l, int b);
double lc_eval_retention_layer_needle(const lc_eval_retention *r, int32_t l);

/* The common JSON header of `longctx eval`: opens the object, writes "task",
 * "model" {path, name, general_name, format, params, layers, heads,
 * kv_heads, dim, ctx_train} and opens "settings" with the runtime's (attn,
 * attn_method, rope {...}, ctx, batch, cache_type_k/v, kv_policy, seed,
 * trials, threads); the caller adds its own settings and closes it. */
typedef struct {
    const char *task;
    const char *model_path;
    const lc_model *model;
    const char *attn_spec;      /* as given; NULL: the model's, else "flash" */
    const char *kv_policy;      /* NULL: "full"                              */
    uint64_t seed;
    int32_t trials;
    lc_eval_ctx_info ctx;
} lc_eval_header;
void lc_eval_write_header(lc_json_writer *w, const lc_eval_header *h);
/* A grid's settings: lengths, depths (or "random"), margin, kind, variant
 * (NULL: none), digits and the kind's counts, haystack (NULL: null),
 * prefix_reuse. Retention's: lengths, depths, probes, margin, digits,
 * haystack. */
void lc_eval_grid_write_settings(lc_json_writer *w, const lc_eval_grid_config *c, const char *variant,
                                 const char *haystack, bool prefix_reuse);
void lc_eval_retention_write_settings(lc_json_writer *w, const lc_eval_retention_config *c, const char *haystack);
/* Results inside an open object: "cells" [...] and the overall "ppl" and
 * "tokens" (scored, over every cell). A ppl comparison's cells: "method",
 * "attn", "rope_scaling" (info [n_methods]: each method's context) and the
 * ppl cell (lc_eval_ppl_write_json), results [n_methods][n_lengths]. A
 * stream comparison's: "method", "slots", "kv_bytes", the ppl cell and
 * (timings) tokens_per_s[_first_tenth, _last_tenth] and rss_start/end. */
void lc_eval_ppl_write_results(lc_json_writer *w, const lc_eval_ppl_result *res, const char *const *names,
                               const lc_eval_ctx_info *info, int n_methods, int n_lengths, bool timings);
void lc_eval_streams_write_json(lc_json_writer *w, const lc_eval_stream_cell *c, int n, bool timings);

/* The whole documents `longctx eval --json` writes to f (src/eval/eval_documents.c):
 * the header h, the task's settings, then its results; LC_ERR_IO when f
 * failed. A grid: lc_eval_grid_write_settings, the cells (lc_eval_grid_write_json),
 * tokens_evaluated and tokens_reused. Retention: its settings, the passkey
 * grid's cells and lc_eval_retention_write_json. */
lc_status lc_eval_grid_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_grid_config *c, const char *variant,
                                 const char *haystack, bool prefix_reuse, const lc_eval_grid *g, bool timings,
                                 lc_error *err);
lc_status lc_eval_retention_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_retention_config *c,
                                      const char *haystack, const lc_eval_retention *r, bool timings, lc_error *err);
/* A ppl comparison: settings lengths, stride (0: "window-1"), methods, file,
 * file_tokens; then lc_eval_ppl_write_results and (timings) the seconds. */
typedef struct {
    const int64_t *lengths;           /* the windows [n_lengths]                  */
    int n_lengths;
    int64_t stride;                   /* 0: W - 1                                 */
    const char *const *names;         /* the methods [n_methods]                  */
    const lc_eval_ctx_info *info;     /* each method's context [n_methods]        */
    int n_methods;
    const lc_eval_ppl_result *res;    /* [n_methods][n_lengths]                   */
    const char *file;                 /* where the tokens came from               */
    int64_t file_tokens;
    bool timings;
    double seconds;                   /* the whole comparison                     */
} lc_eval_ppl_doc;
lc_status lc_eval_ppl_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_ppl_doc *d, lc_error *err);
/* A stream comparison (n >= 1 cells): settings "mode":"stream", file,
 * file_tokens (and ctx: the first cell's slots), then
 * lc_eval_streams_write_json. */
lc_status lc_eval_streams_write_doc(FILE *f, const lc_eval_header *h, const char *file, int64_t file_tokens,
                                    const lc_eval_stream_cell *c, int n, bool timings, lc_error *err);

/* Text tables (as `longctx eval` prints them) and CSV files, each an
 * lc_table (longctx/table.h); LC_OK, or the table's error (no memory). The
 * grid's: accuracy % by depth and length (and recall % for the kinds that
 * score several answers: multivalue, multiquery, vt), the mean over depths,
 * the overall line. CSV: length, depth (empty when random), trials,
 * accuracy, recall, tokens, needle_depth (, seconds). */
lc_status lc_eval_grid_print(FILE *f, const lc_eval_grid *g, bool timings, lc_error *err);
lc_status lc_eval_grid_write_csv(FILE *f, const lc_eval_grid *g, bool timings, lc_error *err);
/* ppl: one row per method and window, the mean loss by position in the
 * window, the overall line; results [n_methods][n_lengths]. CSV: method,
 * length, stride, windows, tokens, ppl, loss, loss_LO_HI per bucket (,
 * seconds). */
lc_status lc_eval_ppl_print(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int n_methods,
                            int n_lengths, double seconds, bool timings, lc_error *err);
lc_status lc_eval_ppl_write_csv(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int n_methods,
                                int n_lengths, bool timings, lc_error *err);
/* Overall perplexity over every scored token of results [n] (NaN: none). */
double lc_eval_ppl_overall(const lc_eval_ppl_result *res, int n, int64_t *n_scored);
/* Retention: mass % by layer and distance, on the needle, keys per bucket,
 * passkey accuracy by depth. CSV: layer, head, bucket, lo, hi, keys, mass,
 * needle_mass. */
lc_status lc_eval_retention_print(FILE *f, const lc_eval_retention *r, bool timings, lc_error *err);
lc_status lc_eval_retention_write_csv(FILE *f, const lc_eval_retention *r, lc_error *err);
/* Streams: a row per policy, then "P is Nx the speed of recompute:W" lines.
 * CSV: method, slots, tokens, ppl, loss, tokens_per_s (0 without timings),
 * rss_start, rss_end. */
lc_status lc_eval_streams_print(FILE *f, const lc_eval_stream_cell *c, int n, bool timings, lc_error *err);
lc_status lc_eval_streams_write_csv(FILE *f, const lc_eval_stream_cell *c, int n, bool timings, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_EVAL_H */
