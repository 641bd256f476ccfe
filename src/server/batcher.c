/* The scheduler of the slots' forward passes (--parallel > 1): decode steps
 * and prompt chunks take turns, one pass at a time, and the decode steps of
 * the slots that are generating at the same time run as one forward pass
 * (lc_decode_batch_eval) when that pays.
 *
 * Decode. Each request runs on its connection's thread: it samples its
 * token, turns it into text, then hands the token to srv_batcher_decode,
 * which waits. Batched: the thread that hands in the last token of the slots
 * that are generating runs the step for all of them (no scheduler thread: no
 * extra hand-over per step); when some slot is late (a client that reads
 * slowly, a slow sampler) the first waiter runs the step without it after a
 * short wait, half the last step's time within [0.1, 25] ms, and the late
 * slot joins the next step. Per slot (when batching does not pay: the
 * weights fit in half the last-level cache, srv_decode_batch_pays): a token
 * handed in runs at once, as its own one-token pass.
 *
 * Prompts (continuous batching of prefill). A request's prompt is evaluated
 * in chunks of its context's n_batch tokens (--prompt-chunk) and holds the
 * floor until it is done; between two layers of a chunk
 * (lc_context_set_layer_pause) and between chunks, the prompt's thread runs
 * the decode steps handed in meanwhile, at once (no thread to wake), then
 * goes on. So a stream beside a long prompt waits about one layer of a chunk
 * per token instead of the whole prompt, the prompt is slowed only by the
 * steps' own work, and the passes never compete for the cores. Prompts that
 * arrive together go one after the other. The chunks are the ones
 * lc_context_eval makes of the whole prompt (its own split is by n_batch), and
 * a pause changes nothing in the computation, so the cache and logits are the
 * same bit for bit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "longctx/sys.h"
#include "server/server_internal.h"

typedef struct {
    lc_context *ctx;
    int32_t token;
    bool done;
    lc_status st;
    lc_error err;
} srv_decode_req;

struct srv_batcher {
    lc_decode_batch *batch; /* NULL: per-slot steps                          */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* a pass ended, a token came in, a slot left      */
    bool running;          /* a pass (step or chunk) is being evaluated       */
    int max;               /* slots                                          */
    int n_decoding;        /* slots generating now                           */
    int n_pending;
    srv_decode_req **pending; /* [max] handed in, not yet taken by a step     */
    double first_at;       /* when the oldest pending token came in           */
    double step_s;         /* the last step's seconds                        */
    int64_t n_steps, n_rows, n_chunks, chunk_tokens, n_pauses;
};

#define GATHER_MIN_S 1e-4
#define GATHER_MAX_S 25e-3

static struct timespec abs_time(double at) { /* lc_time_now() -> CLOCK_REALTIME */
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    const double dt = at - lc_time_now();
    const long ns = dt > 0 ? (long)(dt * 1e9) : 0;
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec += ns % 1000000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* The largest CPU cache (the last level), from sysfs, else sysconf; 0 when
 * neither says. */
size_t srv_llc_bytes(void) {
    size_t best = 0;
    for (int i = 0; i < 16; i++) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f) break;
        unsigned long long v = 0;
        char unit = 0;
        const int got = fscanf(f, "%llu%c", &v, &unit);
        fclose(f);
        if (got < 1 || v > ((unsigned long long)1 << 40)) continue;
        const unsigned long long mul = got == 2 && (unit == 'K' || unit == 'k') ? 1024ull
                                       : got == 2 && (unit == 'M' || unit == 'm') ? 1024ull * 1024ull
                                                                                  : 1ull;
        if (v * mul > best) best = (size_t)(v * mul);
    }
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (best == 0) {
        const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
        if (l3 > 0) best = (size_t)l3;
    }
#endif
    return best;
}

bool srv_decode_batch_pays(double weight_bytes, size_t llc_bytes) {
    /* a step whose weights stay in cache is bound by arithmetic: several rows
     * cost what the separate steps cost, and gathering them costs the
     * hand-over (docs/server.md, "When batching pays"). The cache also holds
     * the KV rows, the activations and other processes' data: weights above
     * half of it are taken as streamed from memory. Unknown cache: batch. */
    return llc_bytes == 0 || weight_bytes > 0.5 * (double)llc_bytes;
}

/* Under the mutex: evaluate every pending token (the mutex is released
 * meanwhile), mark them done and wake their threads. */
static void run_step(srv_batcher *b) {
    lc_context *ctxs[LC_DECODE_BATCH_MAX];
    int32_t toks[LC_DECODE_BATCH_MAX];
    srv_decode_req *reqs[LC_DECODE_BATCH_MAX];
    int64_t n_past[LC_DECODE_BATCH_MAX];
    const int n = b->n_pending;
    for (int i = 0; i < n; i++) {
        reqs[i] = b->pending[i];
        ctxs[i] = reqs[i]->ctx;
        toks[i] = reqs[i]->token;
        n_past[i] = lc_context_n_past(ctxs[i]);
    }
    b->n_pending = 0;
    b->running = true;
    pthread_mutex_unlock(&b->mu);

    const double t0 = lc_time_now();
    lc_error err;
    lc_status st = LC_OK;
    if (!b->batch) { /* per slot: each its own one-token pass */
        for (int i = 0; i < n; i++) reqs[i]->st = lc_context_eval(ctxs[i], &toks[i], 1, NULL, false, &reqs[i]->err);
    } else if ((st = lc_decode_batch_eval(b->batch, ctxs, toks, n, NULL, &err)) == LC_OK) {
        for (int i = 0; i < n; i++) reqs[i]->st = LC_OK;
    } else if (n == 1) {
        reqs[0]->st = st;
        reqs[0]->err = err;
    } else {
        /* a refusal (a full context, say) changed nothing: each on its own,
         * so one request's failure is its own; a context that a failure
         * midway rolled back past its tokens (a ring policy starts over)
         * fails with the batch's error */
        for (int i = 0; i < n; i++) {
            if (lc_context_n_past(ctxs[i]) == n_past[i]) {
                reqs[i]->st = lc_context_eval(ctxs[i], &toks[i], 1, NULL, false, &reqs[i]->err);
            } else {
                reqs[i]->st = st;
                reqs[i]->err = err;
            }
        }
    }
    const double dt = lc_time_now() - t0;

    pthread_mutex_lock(&b->mu);
    b->running = false;
    b->step_s = dt;
    b->n_steps += b->batch ? 1 : n;
    b->n_rows += n;
    for (int i = 0; i < n; i++) reqs[i]->done = true;
    pthread_cond_broadcast(&b->cv);
}

lc_status srv_batcher_create(const lc_model *m, int n_slots, const lc_context_opts *co, bool batched,
                             srv_batcher **out, lc_error *err) {
    *out = NULL;
    if (n_slots < 1 || n_slots > LC_DECODE_BATCH_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "serve: %d slots cannot be batched (1..%d)", n_slots,
                       LC_DECODE_BATCH_MAX);
    srv_batcher *b = calloc(1, sizeof *b);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
    b->max = n_slots;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->pending = calloc((size_t)n_slots, sizeof *b->pending);
    lc_status st = !b->pending ? lc_fail(err, LC_ERR_NOMEM, "serve: out of memory")
                   : batched   ? lc_decode_batch_create(m, n_slots, co, &b->batch, err)
                               : LC_OK;
    if (st != LC_OK) {
        srv_batcher_free(b);
        return st;
    }
    *out = b;
    return LC_OK;
}

void srv_batcher_free(srv_batcher *b) {
    if (!b) return;
    lc_decode_batch_free(b->batch);
    free(b->pending);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

bool srv_batcher_batched(const srv_batcher *b) { return b && b->batch; }

void srv_batcher_join(srv_batcher *b) {
    pthread_mutex_lock(&b->mu);
    b->n_decoding++;
    pthread_mutex_unlock(&b->mu);
}

void srv_batcher_leave(srv_batcher *b) {
    pthread_mutex_lock(&b->mu);
    b->n_decoding--;
    pthread_cond_broadcast(&b->cv); /* the waiters may have been waiting for this slot */
    pthread_mutex_unlock(&b->mu);
}

lc_status srv_batcher_decode(srv_batcher *b, lc_context *ctx, int32_t token, lc_error *err) {
    srv_decode_req r = {.ctx = ctx, .token = token};
    pthread_mutex_lock(&b->mu);
    if (b->n_pending >= b->max) { /* each slot hands in one token at a time: a bug */
        pthread_mutex_unlock(&b->mu);
        return lc_fail(err, LC_ERR_INTERNAL, "serve: more decode steps handed in than slots");
    }
    if (b->n_pending == 0) b->first_at = lc_time_now();
    b->pending[b->n_pending++] = &r;
    while (!r.done) {
        if (!b->running) {
            double wait = b->step_s * 0.5;
            wait = wait < GATHER_MIN_S ? GATHER_MIN_S : wait > GATHER_MAX_S ? GATHER_MAX_S : wait;
            const double until = b->first_at + wait;
            if (!b->batch || b->n_pending >= b->n_decoding || lc_time_now() >= until) {
                run_step(b); /* this thread runs the step (its own token is in it) */
                continue;
            }
            const struct timespec ts = abs_time(until);
            pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        } else {
            pthread_cond_wait(&b->cv, &b->mu);
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (r.st != LC_OK && err) *err = r.err;
    return r.st;
}

/* Under the mutex, with the floor held by a prompt: run the decode steps
 * handed in meanwhile, now, on the prompt's thread (no wake-up to wait for),
 * and keep the floor. */
static void serve_pending(srv_batcher *b) {
    if (b->n_pending == 0) return;
    b->n_pauses++;
    run_step(b);
    b->running = true;
}

/* Between two layers of a prompt chunk (lc_context_set_layer_pause). */
static void prefill_pause(void *user) {
    srv_batcher *b = user;
    pthread_mutex_lock(&b->mu);
    serve_pending(b);
    pthread_mutex_unlock(&b->mu);
}

lc_status srv_batcher_prefill(srv_batcher *b, lc_context *ctx, const int32_t *tokens, int64_t n, lc_error *err) {
    const int64_t chunk = lc_context_n_batch(ctx) > 0 ? lc_context_n_batch(ctx) : 512;
    lc_status st = LC_OK;
    lc_context_set_layer_pause(ctx, prefill_pause, b);
    pthread_mutex_lock(&b->mu);
    while (b->running) pthread_cond_wait(&b->cv, &b->mu);
    b->running = true; /* the floor, until the prompt is done */
    for (int64_t at = 0; at < n && st == LC_OK; at += chunk) {
        serve_pending(b);
        pthread_mutex_unlock(&b->mu);
        const int64_t m = chunk < n - at ? chunk : n - at;
        st = lc_context_eval(ctx, tokens + at, m, NULL, false, err);
        pthread_mutex_lock(&b->mu);
        b->n_chunks++;
        b->chunk_tokens += m;
    }
    b->running = false;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    lc_context_set_layer_pause(ctx, NULL, NULL);
    return st;
}

void srv_batcher_stats(srv_batcher *b, srv_batcher_counts *c) {
    pthread_mutex_lock(&b->mu);
    c->steps = b->n_steps;
    c->rows = b->n_rows;
    c->chunks = b->n_chunks;
    c->chunk_tokens = b->chunk_tokens;
    c->pauses = b->n_pauses;
    pthread_mutex_unlock(&b->mu);
}
