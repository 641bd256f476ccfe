/*
 * longctx eval — what the task runners share: the parsed arguments, the
 * session (model, tokenizer, haystack, where tables go, progress), the run
 * options and JSON header built from them, and result files. The
 * evaluations themselves are the library's (include/longctx/eval.h).
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
    const char *scaling_list;      /* --rope-scaling X,Y (taken out of rf) */
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
    const lc_tokenizer *tok;       /* the model's, or -z's for a model
                                      without one (a random GGUF)          */
    lc_tokenizer *own_tok;         /* loaded from -z (owned)               */
    lc_haystack *haystack;
    FILE *table;                   /* stdout, or stderr with --json        */
    cli_progress progress;
    bool setup_printed;            /* the settings line above the tables   */
    int64_t n_file_tokens;         /* ppl: the file's tokens (for that line) */
} eval_session;

/* Load the model (and haystack), resolve RoPE. CLI_OK / CLI_FAIL / CLI_USAGE. */
int eval_session_open(eval_session *s, eval_args *a);
void eval_session_close(eval_session *s);

/* The run options from the arguments: the context's, progress, and the
 * settings line printed once the first context exists. */
void eval_run_opts(eval_session *s, lc_eval_run_opts *o);
/* The JSON header of the documents (task, model, the runtime's settings). */
lc_eval_header eval_header(const eval_session *s, const lc_eval_ctx_info *info);
/* Close the output file of path (cli_open_out) that st says how writing
 * went; CLI_FAIL with a message when it or the file failed. */
int eval_out_close(FILE *f, const char *path, lc_status st, const lc_error *err);
/* The runners (cli/eval_grid.c, eval_ppl.c). */
int eval_run_grid(eval_session *s);
int eval_run_retention(eval_session *s);
int eval_run_ppl(eval_session *s);

#endif
