/*
 * longctx/server.h — `longctx serve`: an OpenAI-compatible HTTP server over
 * the runtime (built when libmicrohttpd and cJSON are found; the library
 * liblongctx_server then holds it).
 *
 * Endpoints: POST /v1/chat/completions, POST /v1/completions (JSON or, with
 * "stream": true, server-sent events), GET /v1/models, GET /health,
 * GET /metrics (Prometheus text) and GET / (a chat page). docs/server.md
 * documents the fields, limits, errors and the prompt cache.
 *
 * Slots: --parallel N contexts over one model. A request takes the free slot
 * whose cached tokens share the longest prefix with its prompt (ties: the one
 * used longest ago) and evaluates only the part after that prefix; its reply
 * stays cached for the conversation's next turn. Past the slots, a prefix
 * tree (radix tree over token ids) keeps the KV rows of earlier requests and
 * copies them into whichever slot a request gets (LRU-evicted under
 * prefix_cache bytes). A request that finds no free
 * slot waits in a bounded queue, or gets 503 with the reason.
 *
 * Threads: one thread per connection (libmicrohttpd); a slot is used by one
 * request at a time; with n_parallel > 1 the slots' forward passes run one at
 * a time: the generating slots' decode steps (batched when decode_batch says),
 * and prompts in chunks that run the steps handed in meanwhile between their
 * layers (prompt_turns). The library installs no signal handlers.
 */
#ifndef LONGCTX_SERVER_H
#define LONGCTX_SERVER_H

#include "longctx/bench.h"
#include "longctx/common.h"
#include "longctx/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *model_path;   /* GGUF or llama2.c model (required)                      */
    const char *alias;        /* model id in responses; NULL: the file name             */
    const char *host;         /* "127.0.0.1" (default); "0.0.0.0" for every interface   */
    int port;                 /* 8080; 0: any free port (lc_server_port tells which)     */
    int64_t n_ctx;            /* tokens per slot; 0: min(model context, 4096)           */
    int n_parallel;           /* slots (1)                                              */
    int n_threads;            /* kernel threads per request; <= 0: every CPU            */
    const char *kv_policy;    /* --kv-policy spec for every slot (NULL: full)            */
    const char *chat_template;/* built-in template name; NULL: from the model file      */
    size_t kv_budget;         /* bytes all slots' KV and the prefix tree may take; 0: no
                                 limit (refused at start when the slots would need more) */
    size_t prefix_cache;      /* bytes of KV rows the prefix tree across requests keeps
                                 (FULL policy only); SIZE_MAX (default): --kv-budget less
                                 the slots' caches, or with no budget as much as the
                                 slots' caches together; 0: no tree                    */
    const char *api_key;      /* NULL: no authentication                                */
    const char *sessions_dir; /* slot caches saved there on stop, loaded at start (NULL:
                                 none; created when missing)                            */
    size_t max_body;          /* request body limit (1 MiB)                             */
    int64_t max_tokens;       /* cap on a request's max_tokens (default 4096)           */
    double max_seconds;       /* wall-time limit per request (300 s)                    */
    int max_queue;            /* requests waiting for a slot (16); more get 503          */
    double queue_timeout;     /* seconds a request waits for a slot (60) before 503      */
    int64_t grammar_steps;    /* parse steps a grammar-constrained request may spend on
                                 one token (lc_grammar_state_set_budget; 4e6, about
                                 0.1 s; 0: no limit); past it the request fails (400)  */
    int64_t prompt_chunk;     /* prompt tokens per forward pass (the slots' n_batch; 0:
                                 512); with n_parallel > 1 each chunk takes its turn
                                 between the generating slots' decode steps          */
    int decode_batch;         /* n_parallel > 1: -1 (default) batch the generating slots'
                                 decode steps into one pass when the weights a step
                                 reads exceed half the last-level cache; 0 never; 1
                                 always                                                */
    bool prompt_turns;        /* true: the prompt chunks above take turns with the
                                 decode steps (pausing between layers); false (default):
                                 a prompt is evaluated on its request's thread beside
                                 them — on a quiet 2-core machine the other streams'
                                 median inter-token latency was 4x lower that way at
                                 the same time to first token (docs/server.md)         */
} lc_server_opts;

void lc_server_opts_init(lc_server_opts *o);

typedef struct lc_server lc_server;

/* Load the model, create the slots, start listening. */
lc_status lc_server_start(const lc_server_opts *o, lc_server **out, lc_error *err);
/* The port it listens on. */
int lc_server_port(const lc_server *s);
/* Stop accepting connections, let the responses in flight finish (at most
 * grace seconds), then stop and free everything. s may be NULL. */
void lc_server_stop(lc_server *s, double grace);

/* ---- The server's figures over loopback HTTP (bench serve) --------------------
 * Each call starts a server in this process (b->server's model, threads,
 * prompt chunk and decode batching, on a free loopback port, with time and
 * queue limits a long benchmark cannot reach), sends it requests from client
 * threads of this process, and stops it. Prompts are synthetic documents of
 * words (a fresh one per repetition); every request is greedy with
 * ignore_eos. A failed request (no answer, an error, no usage) fails the
 * call: LC_ERR_IO with the start of the response. Figures are the spread
 * over b->reps repetitions. Wall times: the machine may be shared. */
#define LC_SERVER_BENCH_MAX_REPS 100
#define LC_SERVER_BENCH_MAX_CLIENTS 64
typedef struct {
    lc_server_opts server;   /* model_path (required), n_threads, prompt_chunk, decode_batch, ...: port,
                                n_parallel, n_ctx and the limits are set by each call               */
    int reps;                /* 1..LC_SERVER_BENCH_MAX_REPS                                          */
    double chars_per_token;  /* characters of a synthetic document per prompt token; 0: measured by
                                the first call that needs documents (512 tokens' worth) and kept    */
} lc_server_bench;

/* b->server from lc_server_opts_init with model_path; reps 3. */
void lc_server_bench_init(lc_server_bench *b, const char *model_path);

/* Time to first token (seconds to the response of a max_tokens 1 request)
 * at a prefix of about `prefix` tokens, on one slot of prefix + 512 tokens:
 * each repetition a new document, cold; the same document with another
 * question (from the slot's cache); then, after a short prompt took the
 * only slot, the document with a third question (from the prefix tree). */
typedef struct {
    int64_t prefix;                   /* asked                                           */
    int64_t prompt_tokens;            /* the cold prompt's tokens, as the server counted */
    lc_bench_spread cold, slot, tree; /* seconds                                         */
    int64_t slot_cached, tree_cached; /* cached tokens the server reported (last rep)    */
} lc_server_bench_ttft_row;
lc_status lc_server_bench_ttft(lc_server_bench *b, int64_t prefix, lc_server_bench_ttft_row *out, lc_error *err);

/* Inter-token latency of a streaming client while a second client sends a
 * cold prompt of about `prompt` tokens (max_tokens 1), on 2 slots of prompt
 * + 2048 tokens, the prompt taking turns with the decode steps or not
 * (lc_server_opts.prompt_turns). The prompt is sent once the stream has 32
 * events; a stream gap is the time between two of its events. */
typedef struct {
    int64_t prompt;                   /* asked                                           */
    bool prompt_turns;
    lc_bench_spread gap_alone;        /* the stream's median gap before the prompt, s    */
    lc_bench_spread gap_beside;       /* its median gap while the prompt ran, s          */
    lc_bench_spread gap_longest;      /* its longest gap while the prompt ran, s         */
    lc_bench_spread prompt_ttft;      /* the prompt's time to its response, s            */
    lc_bench_spread gaps;             /* gaps counted while the prompt ran               */
} lc_server_bench_itl_row;
lc_status lc_server_bench_itl(lc_server_bench *b, int64_t prompt, bool prompt_turns, lc_server_bench_itl_row *out,
                              lc_error *err);

/* Aggregate decode: `clients` requests at once (1..LC_SERVER_BENCH_MAX_CLIENTS),
 * each generating n_tokens from a short prompt, against n_parallel slots of
 * 1024 tokens. */
typedef struct {
    int clients, n_parallel;
    int64_t n_tokens;                 /* each client's                                   */
    lc_bench_spread tok_s;            /* tokens generated by all clients / wall seconds  */
    lc_bench_spread tok_cpu_s;        /* per CPU-second of this process (user + system):
                                         less dependent on the CPU a shared machine gave */
} lc_server_bench_decode_row;
lc_status lc_server_bench_decode(const lc_server_bench *b, int clients, int n_parallel, int64_t n_tokens,
                                 lc_server_bench_decode_row *out, lc_error *err);

/* The rows as the tables `bench serve` prints (longctx/table.h, text only):
 * made empty, a row added as soon as it is measured. Times in ms as
 * "min/median/max" (two decimals below 10 ms); ttft: the cached tokens after
 * the slot's and the tree's times, and cold / tree of the medians; itl: the
 * gaps counted; decode: tokens/s and per CPU-second. */
lc_status lc_server_bench_ttft_table(lc_table **out, lc_error *err);
void lc_server_bench_ttft_table_add(lc_table *t, const lc_server_bench_ttft_row *r);
lc_status lc_server_bench_itl_table(lc_table **out, lc_error *err);
void lc_server_bench_itl_table_add(lc_table *t, const lc_server_bench_itl_row *r);
lc_status lc_server_bench_decode_table(lc_table **out, lc_error *err);
void lc_server_bench_decode_table_add(lc_table *t, const lc_server_bench_decode_row *r);
/* bench serve's sections on f (src/server/bench_serve_report.c): a heading,
 * the table's titles, then a row printed (and flushed) as soon as each cell
 * is measured. TTFT at each of n prefix lengths; ITL at each of n prompt
 * lengths, prompt turns off then on; aggregate decode of `clients` clients
 * of n_tokens each against --parallel clients, then 1. The first failed
 * cell's status ends the section. */
lc_status lc_server_bench_ttft_print(lc_server_bench *b, const int64_t *prefixes, int n, FILE *f, lc_error *err);
lc_status lc_server_bench_itl_print(lc_server_bench *b, const int64_t *prompts, int n, FILE *f, lc_error *err);
lc_status lc_server_bench_decode_print(const lc_server_bench *b, int clients, int64_t n_tokens, FILE *f,
                                       lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_SERVER_H */
