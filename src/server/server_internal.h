/* The server's private structures: slots, counters, a request's generation
 * state (job). See include/longctx/server.h. */
#ifndef LC_SERVER_INTERNAL_H
#define LC_SERVER_INTERNAL_H

/* Messages of one request (chat/completions, /apply-template): more are
 * refused with 400 before any is read. */
#define SRV_MAX_MESSAGES 16384

#include <pthread.h>
#include <stdatomic.h>

#include "longctx/app.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/server.h"

struct MHD_Daemon;
struct cJSON;
struct lc_jinja_template;
struct srv_specials;
struct lc_grammar;
struct lc_grammar_vocab;
typedef struct srv_tree srv_tree;
typedef struct srv_batcher srv_batcher;

typedef struct {
    lc_context *ctx;
    int32_t *cached;     /* tokens the context holds, in order (n_cached of n_ctx) */
    int64_t n_cached;
    bool busy;
    double last_used;
    int64_t n_requests;
    atomic_llong n_used;  /* tokens in the cache, published for /metrics           */
    size_t kv_per_token;  /* K + V bytes of one token, all layers                  */
    size_t kv_cap;        /* K + V bytes of every slot of the cache                */
} srv_slot;

/* Counters for /metrics (under the pool's mutex). */
typedef struct {
    int64_t requests[4];          /* chat, completions, models, other          */
    int64_t errors;               /* responses with status >= 400              */
    int64_t rejected_busy;        /* 503: no slot in time / queue full          */
    int64_t prompt_tokens;        /* prompt tokens of finished requests         */
    int64_t cached_tokens;        /* of which taken from a slot's cache          */
    int64_t cache_hits;           /* requests that reused >= 1 cached token      */
    int64_t tree_tokens;          /* of the cached tokens, copied from the tree   */
    int64_t completion_tokens;
    double t_prompt, t_decode;    /* seconds                                    */
    int64_t disconnects;          /* streams the client left before the end     */
} srv_counters;

struct lc_server {
    lc_server_opts o;
    char alias[128];
    char *api_key;               /* copy (or NULL)                               */
    char *sessions_dir;          /* copy of --sessions (or NULL)                  */
    lc_model *model;
    lc_chat_template tpl;        /* built-in: used without a Jinja template or when it fails */
    struct lc_grammar_vocab *gvocab; /* the vocabulary for grammars (per model)     */
    struct lc_grammar *g_json;       /* response_format json_object, compiled once  */
    srv_tree *tree;              /* the prefix tree across requests (or NULL)     */
    srv_batcher *batcher;        /* decode steps batched across slots (--parallel > 1), or NULL */
    struct lc_jinja_template *jinja; /* the model's tokenizer.chat_template (or NULL) */
    struct srv_specials *specials;   /* control / user-defined pieces by first byte */
    char *bos_piece, *eos_piece;     /* bos_token / eos_token for the template      */
    atomic_llong jinja_fallbacks;    /* chat requests rendered by the built-in template */
    int32_t stop_ids[32];        /* end-of-generation tokens, the template's end-of-turn tokens */
    int32_t n_stop_ids;
    int32_t eos;
    int64_t n_ctx;
    size_t kv_bytes_per_slot;

    srv_slot *slots;
    int n_slots;
    pthread_mutex_t mu;
    pthread_cond_t freed;
    int n_waiting;
    srv_counters c;
    atomic_int in_flight;        /* requests being answered                      */
    atomic_bool stopping;
    int64_t started;             /* unix time                                    */

    struct MHD_Daemon *daemon;
    int port;
};

/* ---- slots.c ---- */
lc_status srv_slots_create(lc_server *s, const lc_context_opts *co, lc_error *err);
void srv_slots_free(lc_server *s);
/* Take the free slot sharing the longest prefix with tokens (waiting in the
 * bounded queue); *n_reuse: how many of its cached tokens the request keeps.
 * LC_ERR_TOO_LARGE with a message when the queue is full or the wait timed
 * out (the caller answers 503). */
lc_status srv_slot_acquire(lc_server *s, const int32_t *tokens, int64_t n, srv_slot **out, int64_t *n_reuse,
                           lc_error *err);
void srv_slot_release(lc_server *s, srv_slot *slot);
/* Counters and the KV in use, for /metrics. */
void srv_snapshot(lc_server *s, srv_counters *c, int *busy, int *waiting, size_t *kv_used, size_t *kv_cap);

/* ---- batcher.c: the slots' forward passes (decode steps, prompt chunks) ---- */
/* batched: decode steps of the generating slots in one forward pass; false:
 * each slot's own step (both take turns with the prompt chunks). */
lc_status srv_batcher_create(const lc_model *m, int n_slots, const lc_context_opts *co, bool batched,
                             srv_batcher **out, lc_error *err);
void srv_batcher_free(srv_batcher *b);
bool srv_batcher_batched(const srv_batcher *b);
/* A slot starts generating / stops (the scheduler waits for the tokens of
 * the slots that are generating, briefly). */
void srv_batcher_join(srv_batcher *b);
void srv_batcher_leave(srv_batcher *b);
/* Evaluate token in ctx with the other slots' steps; returns when done (as
 * lc_context_eval of that one token would). */
lc_status srv_batcher_decode(srv_batcher *b, lc_context *ctx, int32_t token, lc_error *err);
/* Evaluate a prompt's tokens in chunks of ctx's n_batch, each a pass between
 * the generating slots' steps (as lc_context_eval(ctx, tokens, n) would). */
lc_status srv_batcher_prefill(srv_batcher *b, lc_context *ctx, const int32_t *tokens, int64_t n, lc_error *err);
typedef struct {
    int64_t steps, rows;         /* decode passes and the tokens they took   */
    int64_t chunks, chunk_tokens; /* prompt chunks and their tokens          */
    int64_t pauses;              /* times a prompt let the decode steps go   */
} srv_batcher_counts;
void srv_batcher_stats(srv_batcher *b, srv_batcher_counts *c);
/* The largest CPU cache in bytes (0: unknown). */
size_t srv_llc_bytes(void);
/* Whether batching decode steps pays: the weights a step reads exceed half
 * the last-level cache (or its size is unknown). */
bool srv_decode_batch_pays(double weight_bytes, size_t llc_bytes);

/* ---- job.c: one completion request ---- */
typedef enum { SRV_CHAT = 0, SRV_COMPLETION } srv_kind;

typedef struct srv_job srv_job;

/* Parse and validate a request body (JSON): on failure returns NULL with
 * *status (400, 413 ...) and msg filled (and *param the offending field). */
srv_job *srv_job_parse(lc_server *s, srv_kind kind, const char *body, size_t len, int *status, char *msg,
                       size_t msg_cap, const char **param);
/* Acquire a slot and evaluate the prompt; status 503 / 400 / 500 on failure. */
int srv_job_begin(srv_job *j, char *msg, size_t msg_cap);
bool srv_job_stream(const srv_job *j);
/* Why the request failed while generating (the grammar's per-token budget,
 * say), or NULL. */
const char *srv_job_error(const srv_job *j);
/* Run to the end; the response body (JSON, malloc'd) or NULL. */
char *srv_job_run_to_end(srv_job *j);
/* Streaming: copy up to cap bytes of server-sent events into buf; returns
 * the count, 0 never (it generates until it has bytes), -1 at the end. */
long srv_job_read_sse(srv_job *j, char *buf, size_t cap);
/* Release the slot and free everything; disconnected: the client left. */
void srv_job_free(srv_job *j, bool disconnected);

/* A message's content: a string, null, or an array of {type: "text", text}
 * (malloc'd into *out); false when it is none of those. */
bool srv_content_text(const struct cJSON *c, char **out);

/* ---- prompt_jinja.c: the model's Jinja chat template ---- */
/* Compile the template and index the vocabulary's special pieces. */
lc_status srv_jinja_load(lc_server *s, const char *src, size_t len, lc_error *err);
void srv_jinja_free(lc_server *s);
/* Render messages (add_generation_prompt) into *out (malloc'd); *spans the
 * byte ranges of the contents in it (malloc'd, opaque; NULL: not wanted).
 * *bad_request: the messages themselves are invalid (answer 400); any other
 * failure means the template failed on them (fall back). */
lc_status srv_jinja_render(lc_server *s, const struct cJSON *msgs, char **out, size_t *out_len, void **spans,
                           int *n_spans, bool *bad_request, lc_error *err);
/* Tokens of a render: special pieces parsed outside the contents only, BOS
 * in front when the vocabulary asks and the text did not write it. */
lc_status srv_jinja_tokenize(lc_server *s, const char *text, size_t len, const void *spans, int n_spans,
                             int32_t **ids, int64_t *n, lc_error *err);

/* ---- prefix_tree.c: KV rows of earlier requests by token prefix ---- */
typedef struct {
    size_t bytes, cap;
    int64_t tokens, hits, evictions, evicted_tokens;
} srv_tree_counts;
lc_status srv_tree_create(size_t row_bytes, size_t cap, srv_tree **out, lc_error *err);
void srv_tree_free(srv_tree *t);
/* ctx holds tokens[0, from): append the tree's rows for tokens[from, m) where
 * m <= n is the longest prefix of tokens the tree holds; returns the new
 * count of held tokens (from when the tree has nothing longer). */
int64_t srv_tree_fill(srv_tree *t, lc_context *ctx, const int32_t *tokens, int64_t n, int64_t from);
/* Keep tokens[0, n) (which ctx holds) with their rows; evicts LRU leaves. */
void srv_tree_insert(srv_tree *t, const lc_context *ctx, const int32_t *tokens, int64_t n);
void srv_tree_stats(srv_tree *t, srv_tree_counts *c);

/* ---- sessions.c: --sessions DIR ---- */
lc_status srv_sessions_load(lc_server *s, lc_error *err);
void srv_sessions_save(lc_server *s);

/* ---- metrics.c ---- */
char *srv_metrics_text(lc_server *s);
/* ---- webui.c ---- */
extern const char srv_webui_html[];


#endif
