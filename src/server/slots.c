/* The slot pool: contexts over one model, chosen by the longest cached prefix
 * a request shares with a free slot, with a bounded waiting queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "longctx/sys.h"
#include "server/server_internal.h"

lc_status srv_slots_create(lc_server *s, const lc_context_opts *co, lc_error *err) {
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    if (!s->slots) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory for %d slots", s->n_slots);
    for (int i = 0; i < s->n_slots; i++) {
        srv_slot *sl = &s->slots[i];
        lc_status st = lc_context_create(s->model, co, &sl->ctx, err);
        if (st != LC_OK) return st;
        sl->cached = malloc((size_t)lc_context_n_ctx(sl->ctx) * sizeof *sl->cached);
        if (!sl->cached) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory for slot %d's token list", i);
        lc_kv_stats ks;
        lc_context_kv_stats(sl->ctx, &ks);
        sl->kv_per_token = ks.bytes_per_token;
        sl->kv_cap = ks.bytes;
        atomic_store(&sl->n_used, 0);
    }
    return LC_OK;
}

void srv_slots_free(lc_server *s) {
    if (!s->slots) return;
    for (int i = 0; i < s->n_slots; i++) {
        lc_context_free(s->slots[i].ctx);
        free(s->slots[i].cached);
    }
    free(s->slots);
    s->slots = NULL;
}

static int64_t common_prefix(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    int64_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* The best free slot for tokens, or NULL (under the mutex). */
static srv_slot *pick(lc_server *s, const int32_t *tokens, int64_t n, int64_t *lcp_out) {
    srv_slot *best = NULL;
    int64_t best_lcp = -1;
    for (int i = 0; i < s->n_slots; i++) {
        srv_slot *sl = &s->slots[i];
        if (sl->busy) continue;
        const int64_t lcp = common_prefix(sl->cached, sl->n_cached, tokens, n);
        if (lcp > best_lcp || (lcp == best_lcp && sl->last_used < best->last_used)) {
            best = sl;
            best_lcp = lcp;
        }
    }
    *lcp_out = best_lcp;
    return best;
}

lc_status srv_slot_acquire(lc_server *s, const int32_t *tokens, int64_t n, srv_slot **out, int64_t *n_reuse,
                           lc_error *err) {
    *out = NULL;
    *n_reuse = 0;
    pthread_mutex_lock(&s->mu);
    int64_t lcp = 0;
    srv_slot *sl = pick(s, tokens, n, &lcp);
    if (!sl) {
        if (s->n_waiting >= s->o.max_queue) {
            s->c.rejected_busy++;
            pthread_mutex_unlock(&s->mu);
            return lc_fail(err, LC_ERR_TOO_LARGE, "all %d slots are busy and %d requests are waiting (--parallel, --queue)",
                           s->n_slots, s->n_waiting);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        const double wait = s->o.queue_timeout;
        until.tv_sec += (time_t)wait;
        until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        s->n_waiting++;
        while (!(sl = pick(s, tokens, n, &lcp)) && !atomic_load(&s->stopping)) {
            if (pthread_cond_timedwait(&s->freed, &s->mu, &until) == ETIMEDOUT) break;
        }
        s->n_waiting--;
        if (!sl) {
            s->c.rejected_busy++;
            pthread_mutex_unlock(&s->mu);
            return lc_fail(err, LC_ERR_TOO_LARGE, atomic_load(&s->stopping) ? "the server is stopping"
                                                                             : "no slot became free within %.0f s",
                           wait);
        }
    }
    sl->busy = true;
    pthread_mutex_unlock(&s->mu);

    /* Keep the shared prefix, but evaluate at least the prompt's last token
     * again: its logits start the reply. */
    int64_t keep = lcp < n ? lcp : n - 1;
    if (keep < 0) keep = 0;
    if (keep < sl->n_cached) {
        lc_error e2;
        if (lc_context_truncate(sl->ctx, keep, &e2) != LC_OK) { /* a ring policy: start over */
            lc_context_reset(sl->ctx);
            keep = 0;
        }
        sl->n_cached = keep;
        atomic_store(&sl->n_used, lc_context_n_past(sl->ctx));
    }
    *n_reuse = keep;
    *out = sl;
    return LC_OK;
}

void srv_slot_release(lc_server *s, srv_slot *slot) {
    pthread_mutex_lock(&s->mu);
    slot->busy = false;
    slot->last_used = lc_time_now();
    slot->n_requests++;
    pthread_cond_broadcast(&s->freed);
    pthread_mutex_unlock(&s->mu);
}

void srv_snapshot(lc_server *s, srv_counters *c, int *busy, int *waiting, size_t *kv_used, size_t *kv_cap) {
    pthread_mutex_lock(&s->mu);
    *c = s->c;
    *busy = 0;
    *waiting = s->n_waiting;
    *kv_used = 0;
    *kv_cap = 0;
    for (int i = 0; i < s->n_slots; i++) {
        const srv_slot *sl = &s->slots[i];
        *busy += sl->busy;
        *kv_used += (size_t)atomic_load(&sl->n_used) * sl->kv_per_token;
        *kv_cap += sl->kv_cap;
    }
    pthread_mutex_unlock(&s->mu);
}
