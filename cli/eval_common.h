/*
 * longctx eval — what the task runners share: the parsed arguments, model
 * and context setup (with the memory check before anything is allocated),
 * the JSON header ("task", "model", "settings"), where tables go, and
 * the progress line.
 */
#ifndef LC_CLI_EVAL_COMMON_H
#define LC_CLI_EVAL_COMMON_H

#include <stdio.h>

#include "cli.h"
#include "longctx/eval.h"
#include "longctx/json.h"
#include "runtime_flags.h"
#include "sp_cli.h"

#define EVAL_CMD "eval"

typedef enum { EVAL_PASSKEY = 0, EVAL_NIAH, EVAL_VT, EVAL_PPL, EVAL_RETENTION } eval_task;

typedef struct {
    eval_task task;
    const char *task_name;
    cli_runtime_flags rf;
    uint64_t seed;
    int32_t trials;
    bool json, timings, verbose, prefix_reuse;
    const char *csv_path, *svg_path, *svg_depth_path;
    int64_t lengths[LC_EVAL_MAX_LENGTHS];
    int n_lengths;                 /* 0: default                          */
    double depths[LC_EVAL_MAX_DEPTHS]; /* 0..1                             */
    int n_depths;                  /* -1: default (10 even; vt: random)   */
    lc_task_spec spec;             /* kind and options                    */
    const char *variant;           /* niah                                */
    const char *haystack_path;
    int64_t margin;
    /* ppl */
    const char *text_path, *tokens_path;
    int64_t stride;                /* 0: window - 1                       */
    int64_t max_tokens;            /* 0: all                              */
    /* retention */
    int64_t probes[LC_EVAL_MAX_PROBES];
    int n_probes;                  /* 0: default {-1}                     */
    cli_sp spc;                    /* ppl --sp: the context over MPI ranks */
} eval_args;

/* Everything a run holds; eval_session_close frees it. */
typedef struct {
    eval_args *a;
    lc_model *model;
    lc_rope_config rope;           /* the model's with the RoPE flags      */
    char model_name[128];          /* file name without extension         */
    char general_name[128];        /* GGUF general.name, or ""            */
    const lc_tokenizer *tok;       /* the model's, or -z's for a model
                                      without one (a random GGUF)          */
    lc_tokenizer *own_tok;         /* loaded from -z (owned)               */
    lc_haystack *haystack;
    FILE *table;                   /* stdout, or stderr with --json        */
    cli_progress progress;
} eval_session;

/* Load the model (and haystack), resolve RoPE. CLI_OK / CLI_FAIL / CLI_USAGE. */
int eval_session_open(eval_session *s, eval_args *a);
void eval_session_close(eval_session *s);

/* Default lengths for the retrieval tasks: powers of two from 1K up to the
 * target (-c minus the margin, else the model's training context) and the
 * target itself. */
void eval_default_lengths(eval_session *s);

/* Whether a context for n_ctx tokens with options o fits in the memory
 * available; if not, says how much it needs and what to lower. CLI_OK or
 * CLI_FAIL after a message. Allocates nothing. */
int eval_context_fits(eval_session *s, const lc_context_opts *o, int64_t n_ctx, const char *what);
/* eval_context_fits, then create the context. */
int eval_context_create(eval_session *s, const lc_context_opts *o, int64_t n_ctx, const char *what, lc_context **out);

/* What the JSON settings say about a context (kept after it is freed). */
typedef struct {
    lc_attn_method attn;
    lc_rope_config rope;
    int64_t n_ctx, n_batch;
    lc_dtype k_type, v_type;
    int n_threads;
} eval_ctx_info;

void eval_ctx_info_get(const lc_context *ctx, eval_ctx_info *info);

/* The JSON header: "task", "model": {...}, and the start of "settings" with
 * the runtime settings (attention, RoPE, KV types, ctx, threads, seed,
 * trials). Leaves "settings" open for the task's own options. */
void eval_json_begin(eval_session *s, lc_json_writer *w, const eval_ctx_info *info);

/* Progress through cli_progress (user = eval_session*). */
bool eval_progress(void *user, double done, double total, const char *what);
/* "1K", "512", "1.5K", "2M". */
const char *eval_len_str(int64_t v, char *buf, size_t len);

/* The runners (cli/eval_grid.c, eval_ppl.c, eval_retention.c). */
int eval_run_grid(eval_session *s);
int eval_run_ppl(eval_session *s);
/* --kv-policy given: streaming perplexity (cli/eval_ppl_stream.c). */
int eval_run_ppl_stream(eval_session *s);
/* The ppl token stream (-f text or --tokens-file, --max-tokens); NULL after a
 * message. */
int32_t *eval_ppl_load_tokens(eval_session *s, int64_t *n);
int eval_run_retention(eval_session *s);

/* The grid configuration from the arguments (lengths, depths, task, trials,
 * seed, margin, progress, --verbose printing); shared with retention. */
void eval_grid_config(eval_session *s, lc_eval_grid_config *gc);
/* "attn flash, rope none" / "attn window, rope yarn x4": for titles. */
const char *eval_method_label(const lc_context *ctx, char *buf, size_t len);

/* A one-line summary of the context for the table stream. */
void eval_print_setup(eval_session *s, const lc_context *ctx);

#endif
