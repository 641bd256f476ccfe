/* --sp (sequence parallelism over MPI, include/longctx/sp.h) for the CLI
 * commands: MPI set up and torn down, the model loaded on every rank with
 * one agreed outcome, the context's attention sharded, rank 0 sampling and
 * broadcasting. Built without MPI, --sp is refused with a message. */
#ifndef LC_CLI_SP_H
#define LC_CLI_SP_H

#include <stdbool.h>

#include "longctx/bench.h"
#include "longctx/eval.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/text.h"
#include "runtime_flags.h"

typedef struct {
    bool on;          /* --sp given                                   */
    bool mpi_started; /* MPI_Init called here                         */
    int rank, n_ranks;
    void *sp;         /* lc_sp *                                      */
    void *sampler;    /* lc_sp_sampler *                              */
    size_t kv_budget; /* --kv-budget: K/V bytes per rank (0: none)    */
    double wait_spin_us; /* lc_sp_opts.wait_spin_us (bench sp --wait-spin) */
} cli_sp;

/* Starts MPI (P = 1 without mpirun); ranks other than 0 write nothing to
 * stdout. CLI_OK or CLI_FAIL (after a message). */
int cli_sp_begin(cli_sp *s, const char *cmd);
/* Every rank loads the model; when any rank fails every rank returns
 * CLI_FAIL and rank 0 prints the failing rank's message. */
int cli_sp_load_model(cli_sp *s, const cli_runtime_flags *f, lc_model **m, const char *cmd);
/* Collective: st is this rank's lc_context_create outcome (ctx NULL on
 * failure); shards the context's attention over the ranks. */
int cli_sp_attach(cli_sp *s, lc_context *ctx, lc_status st, const lc_error *err, const char *cmd);
/* Collective: every rank learns whether any rank's rc (a CLI_ status) is
 * not CLI_OK; returns CLI_OK, else this rank's rc or CLI_FAIL, rank 0
 * printing "rank R: what" for a failure on another rank (the failing
 * rank printed its own message). Without --sp: rc. */
int cli_sp_agree_rc(cli_sp *s, int rc, const char *cmd, const char *what);
/* The evaluation model over ctx: with --sp (after cli_sp_attach) the
 * sharded one (lc_sp_eval_model), else lc_eval_model_from_context without
 * prefix reuse. */
lc_status cli_sp_eval_model(cli_sp *s, lc_context *ctx, const lc_tokenizer *tok, lc_eval_model **out, lc_error *err);
/* Detaches from the context (call before freeing it); MPI goes on. */
void cli_sp_detach(cli_sp *s);
/* One cell of bench model --sp (lc_sp_bench_model_cell over the world's
 * ranks; collective): row as lc_bench_model_cells fills it (kv_bytes: the
 * largest rank's shard), *bytes_per_token: what a rank sent per decoded
 * token. Without MPI: refused. */
lc_status cli_sp_bench_cell(cli_sp *s, const lc_model *m, const lc_context_opts *co, int64_t L, int64_t n_dec,
                            uint64_t seed, lc_bench_model_row *row, double *bytes_per_token, lc_error *err);
/* With --sp (after cli_sp_attach): the generation's prompt by ring prefill
 * (lc_sp_prefill_fn) and its sampling callback wrapped so that rank 0
 * samples and broadcasts (lc_sp_sample). Without: nothing. */
void cli_sp_wrap_text(cli_sp *s, lc_text_opts *to);
/* One line per rank on stderr: shard, KV bytes, communication. */
void cli_sp_report(const cli_sp *s, int64_t n_tokens);
/* Detaches from the context (call before freeing it) and ends MPI. */
void cli_sp_end(cli_sp *s);

#endif
