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

#include "longctx/common.h"

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

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_SERVER_H */
