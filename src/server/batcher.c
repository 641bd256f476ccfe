/* The decode scheduler (--parallel > 1): the decode steps of the slots that
 * are generating at the same time run as one forward pass
 * (lc_decode_batch_eval), so the weights are read once per step for all of
 * them instead of once per slot.
 *
 * Each request still runs on its connection's thread: it samples its token,
 * turns it into text, then hands the token to srv_batcher_decode and waits.
 * The scheduler's thread takes the waiting tokens and evaluates them
 * together: as soon as every slot that is decoding has handed in its token,
 * or after a short wait for the ones that have not (half the last step's
 * time, within [0.1, 5] ms: a slot whose client reads slowly, or whose
 * sampling is slow, does not hold the others up longer than that; it joins
 * the next step). Prompts are evaluated on the requests' own threads, beside
 * the batched steps, as before. */
#include <errno.h>
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
    lc_decode_batch *batch;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the scheduler: tokens handed in, a slot left, stop */
    pthread_cond_t done; /* the requests: their step is evaluated              */
    bool stop;
    int max;               /* slots                                          */
    int n_decoding;        /* slots generating now                           */
    int n_pending;
    srv_decode_req **pending; /* [max]                                       */
    double step_s;         /* the last step's seconds                        */
    int64_t n_steps, n_rows;
};

#define GATHER_MIN_S 1e-4
#define GATHER_MAX_S 5e-3

static struct timespec deadline_in(double sec) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    const long ns = (long)(sec * 1e9);
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec += ns % 1000000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void *run(void *arg) {
    srv_batcher *b = arg;
    lc_context *ctxs[LC_DECODE_BATCH_MAX];
    int32_t toks[LC_DECODE_BATCH_MAX];
    srv_decode_req *reqs[LC_DECODE_BATCH_MAX];
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && b->n_pending == 0) pthread_cond_wait(&b->work, &b->mu);
        if (b->stop && b->n_pending == 0) break;
        /* wait a little for the other decoding slots' tokens */
        double wait = b->step_s * 0.5;
        wait = wait < GATHER_MIN_S ? GATHER_MIN_S : wait > GATHER_MAX_S ? GATHER_MAX_S : wait;
        const struct timespec until = deadline_in(wait);
        while (!b->stop && b->n_pending < b->n_decoding)
            if (pthread_cond_timedwait(&b->work, &b->mu, &until) == ETIMEDOUT) break;
        const int n = b->n_pending;
        for (int i = 0; i < n; i++) {
            reqs[i] = b->pending[i];
            ctxs[i] = reqs[i]->ctx;
            toks[i] = reqs[i]->token;
        }
        b->n_pending = 0;
        pthread_mutex_unlock(&b->mu);

        const double t0 = lc_time_now();
        lc_error err;
        lc_status st = lc_decode_batch_eval(b->batch, ctxs, toks, n, NULL, &err);
        if (st == LC_OK) {
            for (int i = 0; i < n; i++) reqs[i]->st = LC_OK;
        } else if (n == 1) {
            reqs[0]->st = st;
            reqs[0]->err = err;
        } else {
            /* every context stands where it was: each on its own, so one
             * request's failure is its own */
            for (int i = 0; i < n; i++)
                reqs[i]->st = lc_context_eval(ctxs[i], &toks[i], 1, NULL, false, &reqs[i]->err);
        }
        const double dt = lc_time_now() - t0;

        pthread_mutex_lock(&b->mu);
        b->step_s = dt;
        b->n_steps++;
        b->n_rows += n;
        for (int i = 0; i < n; i++) reqs[i]->done = true;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

lc_status srv_batcher_create(const lc_model *m, int n_slots, const lc_context_opts *co, srv_batcher **out,
                             lc_error *err) {
    *out = NULL;
    if (n_slots < 1 || n_slots > LC_DECODE_BATCH_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "serve: %d slots cannot be batched (1..%d)", n_slots,
                       LC_DECODE_BATCH_MAX);
    srv_batcher *b = calloc(1, sizeof *b);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
    b->max = n_slots;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    b->pending = calloc((size_t)n_slots, sizeof *b->pending);
    lc_status st = b->pending ? lc_decode_batch_create(m, n_slots, co, &b->batch, err)
                              : lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
    if (st == LC_OK && pthread_create(&b->thread, NULL, run, b) != 0)
        st = lc_fail(err, LC_ERR_INTERNAL, "serve: cannot start the decode thread");
    if (st != LC_OK) {
        srv_batcher_free(b);
        return st;
    }
    b->started = true;
    *out = b;
    return LC_OK;
}

void srv_batcher_free(srv_batcher *b) {
    if (!b) return;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_cond_broadcast(&b->work);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
    }
    lc_decode_batch_free(b->batch);
    free(b->pending);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    free(b);
}

void srv_batcher_join(srv_batcher *b) {
    pthread_mutex_lock(&b->mu);
    b->n_decoding++;
    pthread_mutex_unlock(&b->mu);
}

void srv_batcher_leave(srv_batcher *b) {
    pthread_mutex_lock(&b->mu);
    b->n_decoding--;
    pthread_cond_signal(&b->work); /* the scheduler may be waiting for this slot */
    pthread_mutex_unlock(&b->mu);
}

lc_status srv_batcher_decode(srv_batcher *b, lc_context *ctx, int32_t token, lc_error *err) {
    srv_decode_req r = {.ctx = ctx, .token = token};
    pthread_mutex_lock(&b->mu);
    if (b->stop || b->n_pending >= b->max) { /* neither happens while slots decode: a bug */
        pthread_mutex_unlock(&b->mu);
        return lc_fail(err, LC_ERR_INTERNAL, "serve: the decode scheduler is %s", b->stop ? "stopped" : "overfull");
    }
    b->pending[b->n_pending++] = &r;
    pthread_cond_signal(&b->work);
    while (!r.done) pthread_cond_wait(&b->done, &b->mu);
    pthread_mutex_unlock(&b->mu);
    if (r.st != LC_OK && err) *err = r.err;
    return r.st;
}

void srv_batcher_stats(srv_batcher *b, int64_t *steps, int64_t *rows) {
    pthread_mutex_lock(&b->mu);
    *steps = b->n_steps;
    *rows = b->n_rows;
    pthread_mutex_unlock(&b->mu);
}
