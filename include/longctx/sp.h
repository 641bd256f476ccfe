/*
 * Sequence-parallel attention over MPI (built with LONGCTX_MPI; library
 * longctx_mpi). docs/distributed.md describes the design.
 *
 * Every rank of a communicator loads the same model and creates the same
 * context (same options). lc_sp_create attaches an attention hook to the
 * context (lc_context_set_attn_hook): from then on the rank keeps the keys and
 * values of the positions it owns only, in the context's cache types (f32,
 * f16 or q8_0). Positions are dealt in blocks of B = n_batch, zig-zag:
 *
 *     round j = positions [j P B, (j+1) P B) = blocks 0..P-1 of the round;
 *     rank r takes block r of an even round and block P-1-r of an odd one
 *
 * so every rank holds about n_ctx / P positions and, over two rounds, the
 * same causal work.
 *
 * Prompt (lc_sp_prefill): ring attention. In each round every rank runs only
 * its block through the model (lc_context_eval_at); in each layer the
 * ranks' shards travel around the ring (MPI_Isend/MPI_Irecv to the right
 * neighbour / from the left one) while each rank's queries attend the shard
 * in hand, the parts merged by log-sum-exp; keys in the future are skipped.
 *
 * Decode (lc_context_eval, any tokens after the prompt): every rank runs
 * every token; the owner stores its K/V; each rank attends the chunk's
 * queries over its shard (causally, by position) and the parts, packed per
 * query head as [log-sum-exp, sum, weighted values], are combined by one
 * MPI_Allreduce with a log-sum-exp operator (MPI_Op_create): O(n_q * H_q *
 * (d + 2)) floats per layer, independent of the context length. Every rank
 * then holds the same attention output, hence the same logits; lc_sp_sample
 * has rank 0 pick the token and broadcast it.
 *
 * The context counts positions as usual (n_past, capacity, truncate, reset);
 * its own cache is not written (its slots stay untouched). Collective: every
 * rank must make the same lc_context_eval / lc_sp_prefill calls in the same
 * order.
 */
#ifndef LONGCTX_SP_H
#define LONGCTX_SP_H

#include <mpi.h>
#include <stdio.h>

#include "longctx/bench.h"
#include "longctx/eval.h"
#include "longctx/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_sp lc_sp;

typedef struct {
    int rank, n_ranks;
    int64_t block;         /* B: positions per block (the context's n_batch)  */
    int64_t shard_slots;   /* positions it can hold (0 on surplus ranks)     */
    int64_t n_held;        /* positions it holds now                         */
    size_t kv_bytes;       /* K + V storage of the shard, all layers         */
    double comm_bytes;     /* bytes this rank sent: allreduce records, and
                              ring prefill shards                            */
    int64_t n_allreduce;   /* allreduce calls                                 */
    double t_comm;         /* seconds in them                                 */
} lc_sp_stats;

/* Collective over comm. Refuses contexts that cannot take an attention hook
 * (linear attention, window layers, policies other than FULL). On failure on
 * any rank every rank returns an error (the failing rank's message). */
lc_status lc_sp_create(lc_context *ctx, MPI_Comm comm, lc_sp **out, lc_error *err);
/* Options: kv_budget: bytes of K/V one rank may hold (0: no limit); a
 * shard that needs more is refused on every rank with the numbers (the
 * shard, the whole cache and the ranks it would take). */
typedef struct {
    size_t kv_budget;
    /* How a rank waits for its peers (the decode combine, the ring's
     * transfers): it polls MPI for wait_spin_us microseconds, then polls with
     * sleeps in between (10 us, doubling to 200 us), so that on a machine
     * with more runnable threads than cores a waiting rank gives its core to
     * the peer it waits for instead of spinning on it; the decode combine is
     * then a recursive-doubling exchange of point-to-point messages. 0: 1000
     * us; < 0: MPI's own MPI_Allreduce and MPI_Waitall (busy polls). */
    double wait_spin_us;
} lc_sp_opts;
lc_status lc_sp_create_opts(lc_context *ctx, MPI_Comm comm, const lc_sp_opts *o, lc_sp **out, lc_error *err);
/* Detaches the hook (the context's own cache is then empty of this sequence:
 * reset it before using it alone). */
void lc_sp_free(lc_sp *sp);
void lc_sp_get_stats(const lc_sp *sp, lc_sp_stats *st);
/* The stats as one line (the CLI's run --sp on stderr): "sp: rank R of P:
 * S slots (zig-zag blocks of B) hold H, KV 1.50 MiB, 1234 bytes sent, 40
 * allreduces (30 bytes per token), 0.012 s communicating"; per token: over
 * n_tokens (0: 0). */
void lc_sp_stats_print(FILE *f, const lc_sp_stats *st, int64_t n_tokens);
/* The context it shards and its communicator (NULL / MPI_COMM_NULL for NULL). */
lc_context *lc_sp_context(const lc_sp *sp);
MPI_Comm lc_sp_comm(const lc_sp *sp);

/* Collective ring prefill: evaluate tokens [n] at the next positions (after
 * whatever the context holds), each rank running only the blocks it owns,
 * and count them in the context with the last token's logits (so lc_generate
 * can go on with n_prompt = 0). logits: NULL, [vocab] for the last token, or
 * (all) [n, vocab] for every token (gathered on every rank). The results
 * equal lc_context_eval's within f32 reassociation. On failure on any rank
 * every rank returns an error (the failing rank's message) and the context
 * is as the call found it. */
lc_status lc_sp_prefill(lc_sp *sp, const int32_t *tokens, int64_t n, float *logits, bool all, lc_error *err);
/* An lc_prefill_fn (lc_generate_opts.prefill, lc_text_opts.prefill; user:
 * the lc_sp over ctx): the prompt by lc_sp_prefill, so that lc_generate and
 * lc_generate_text_tokens count and time the ring prefill as the prompt. */
lc_status lc_sp_prefill_fn(void *sp, lc_context *ctx, const int32_t *ids, int64_t n, lc_error *err);
/* Collective ring prefill that scores the tokens (perplexity): as
 * lc_sp_prefill, and lp[i] = ln p(tokens[i] | every token before it) for i
 * in [0, n) on every rank (lp[0] from the context's last logits; NaN when
 * the context is empty). Each rank computes the log-probabilities of the
 * rows it owns from its own logits (in double); one MPI_Allreduce of n
 * floats shares them, so no rank gathers [n, vocab] logits. */
lc_status lc_sp_prefill_logprobs(lc_sp *sp, const int32_t *tokens, int64_t n, float *lp, lc_error *err);
void lc_sp_reset_stats(lc_sp *sp);

/* Collective: every rank learns whether any rank's st is not LC_OK. Returns
 * LC_OK when none failed; otherwise the first failing rank's status, with its
 * message (prefixed "rank R: ") in err on every rank. */
lc_status lc_sp_agree(MPI_Comm comm, lc_status st, const lc_error *mine, lc_error *err);

/* ---- A program under mpirun (the CLI's --sp) ------------------------------------
 * lc_sp_world_begin: MPI_Init unless MPI is initialised already (a program
 * started without mpirun is one rank), this rank and the size of
 * MPI_COMM_WORLD; with quiet_others, ranks other than 0 send their stdout to
 * /dev/null, so that the program prints once. lc_sp_world_end flushes stdout
 * and calls MPI_Finalize when lc_sp_world_begin called MPI_Init. */
typedef struct {
    int rank, n_ranks;
    bool started; /* MPI_Init was called by lc_sp_world_begin */
} lc_sp_world;
lc_status lc_sp_world_begin(lc_sp_world *w, bool quiet_others, lc_error *err);
void lc_sp_world_end(lc_sp_world *w);

/* Collective: every rank of comm loads the model at path (NULL: "no model
 * (-m MODEL)"). One agreed outcome: when any rank fails, every rank returns
 * the first failing rank's status and message (lc_sp_agree) with *out NULL,
 * so that no rank waits in a collective for one that stopped. */
lc_status lc_sp_model_load(MPI_Comm comm, const char *path, const lc_model_load_opts *opts, lc_model **out,
                           lc_error *err);

/* An lc_sample_fn (for lc_generate): rank 0 runs inner (NULL: greedy argmax,
 * lowest id on ties) and broadcasts the token, or its failure, to every
 * rank. user: an lc_sp_sampler. */
typedef struct {
    MPI_Comm comm;
    lc_sample_fn inner;
    void *inner_user;
} lc_sp_sampler;
bool lc_sp_sample(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err);

/* An evaluation model (include/longctx/eval.h) over a sharded context, for
 * eval ppl --sp: append_logprobs by lc_sp_prefill_logprobs, generate by a
 * ring prefill of the prompt and greedy decode steps (rank 0's argmax,
 * broadcast), reset by lc_context_reset. Collective: every rank must make
 * the same calls. sp and tok are borrowed (they must outlive the model);
 * eos_id -1: the tokenizer's. Free with lc_eval_model_free. */
lc_status lc_sp_eval_model(lc_sp *sp, const lc_tokenizer *tok, int32_t eos_id, lc_eval_model **out, lc_error *err);

/* One cell of bench model --sp (collective): a context of L + n_decode
 * tokens (opts, with kv_external set here) sharded over comm's ranks (a
 * rank's shard within kv_budget; 0: none), L synthetic tokens from seed by
 * ring prefill, then n_decode tokens one at a time, timed. The row's
 * kv_bytes is this rank's shard; the timings are this rank's. The tokens
 * are lc_bench_model_cells' for the same seed. */
lc_status lc_sp_bench_model_cell(const lc_model *m, const lc_context_opts *opts, MPI_Comm comm, size_t kv_budget,
                                 int64_t L, int64_t n_decode, uint64_t seed, lc_bench_model_row *row,
                                 lc_sp_stats *stats, lc_error *err);

/* bench sp (collective): on ctx, sharded by sp (and empty), L synthetic
 * tokens (a fixed seed) are prefilled — by ring prefill, or with ring false
 * every rank running every token — then `repeat` (1..LC_SP_BENCH_MAX_REPEAT)
 * rounds decode n_decode tokens one at a time, each round truncated back to
 * L first; wall times between barriers. ranks (rank 0: n_ranks entries, or
 * NULL; unused on the other ranks) gets every rank's figures. The status is agreed: a
 * failure on any rank is every rank's. */
#define LC_SP_BENCH_MAX_REPEAT 16
typedef struct {
    double prefill_s;            /* wall seconds of the prefill                      */
    double prefill_bytes;        /* bytes this rank sent during it                   */
    lc_bench_spread decode_tok_s; /* over the rounds                                 */
    double bytes_per_token;      /* bytes this rank sent per decoded token           */
} lc_sp_bench_result;
typedef struct {
    double kv_bytes, rss_bytes, n_held;  /* the rank's shard, memory, positions held */
    double wait_per_token_s;  /* waiting for peers (transfers included) per decoded token */
    double wait_prefill_s;    /* the same during the prefill                            */
    double matmul_s, attn_s, other_s; /* the decode's split per token (attn includes the wait) */
} lc_sp_bench_rank;
lc_status lc_sp_bench_run(lc_sp *sp, lc_context *ctx, MPI_Comm comm, int64_t L, int64_t n_decode, int repeat, bool ring,
                          lc_sp_bench_result *out, lc_sp_bench_rank *ranks, lc_error *err);
/* bench sp's report (rank 0's, not collective): the run (the model path,
 * P ranks x ctx's threads, L, n_ctx, cache types), the prefill (ring or
 * allreduce), the decode spread over the rounds, the bytes sent per decoded
 * token, a line per rank (ranks[n_ranks]), and the analytic model
 * (lc_sp_analytic) for ctx's model at its n_ctx over P ranks and for the
 * Llama-3-8B shape at 1M tokens (P = 1 and 8) on the network given. */
typedef struct {
    const char *model_path;
    int n_ranks;
    int64_t L, n_decode;         /* lc_sp_bench_run's                           */
    int repeat;
    bool ring;
    double bandwidth_gbit;       /* the network of the analytic model           */
    double latency_us;
} lc_sp_bench_setup;
lc_status lc_sp_bench_print(FILE *f, const lc_sp_bench_setup *s, const lc_context *ctx, const lc_sp_bench_result *res,
                            const lc_sp_bench_rank *ranks, lc_error *err);

/* The analytic model of one decoded token (bench sp): the most bytes a
 * rank sends per token (one combine per layer of H_q * (d + 2) floats,
 * recursive doubling: log2 P exchanges for P a power of two; otherwise
 * floor(log2 P) and a message before and after) and the time of the
 * combines on a network of bandwidth_gbit Gbit/s with latency_us per
 * message. */
typedef struct {
    double bytes_per_token;     /* per rank, all layers                      */
    double seconds_per_token;   /* communication time per decoded token      */
    double kv_bytes_per_rank;   /* at n_ctx tokens                           */
} lc_sp_model;
void lc_sp_analytic(int32_t n_layers, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim, double kv_bytes_per_elem,
                    int64_t n_ctx, int n_ranks, double bandwidth_gbit, double latency_us, lc_sp_model *out);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_SP_H */
