/* The prefix cache across requests: a radix tree over token ids whose edges
 * carry the KV rows of their tokens (lc_context_kv_read's layout), as SGLang's
 * RadixAttention keeps them. A slot that finishes a request inserts what it
 * holds (prompt and reply); a request whose slot shares a shorter prefix with
 * its prompt than the tree does gets the tree's rows appended to the slot
 * (lc_context_kv_append) and evaluates only the rest. The tree holds at most
 * cap bytes of rows; inserting past that evicts the least recently used
 * leaves (a node is used when a request matches or inserts through it).
 * FULL-policy slots only (the rows are by position). One mutex guards the
 * tree; copies into and out of a slot happen under it, so a match is never
 * evicted while it is copied. */
#include <stdlib.h>
#include <string.h>

#include "longctx/sys.h"
#include "server/server_internal.h"

typedef struct srv_node srv_node;
struct srv_node {
    srv_node *parent;
    srv_node **kids;
    int n_kids, cap_kids;
    int32_t *tok;      /* the edge's tokens (n of them) */
    char *rows;        /* their rows: n * row_bytes     */
    int64_t n;
    double last_used;
};

struct srv_tree {
    srv_node root;
    size_t row_bytes, bytes, cap;
    int64_t n_tokens, hits, evictions, evicted_tokens;
    uint64_t clock; /* a logical clock for LRU (ties broken by order) */
    pthread_mutex_t mu;
};

lc_status srv_tree_create(size_t row_bytes, size_t cap, srv_tree **out, lc_error *err) {
    *out = NULL;
    srv_tree *t = calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory for the prefix tree");
    t->row_bytes = row_bytes;
    t->cap = cap;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return LC_OK;
}

static void node_free(srv_node *n) {
    for (int i = 0; i < n->n_kids; i++) {
        node_free(n->kids[i]);
        free(n->kids[i]);
    }
    free(n->kids);
    free(n->tok);
    free(n->rows);
}

void srv_tree_free(srv_tree *t) {
    if (!t) return;
    node_free(&t->root);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static srv_node *child(const srv_node *n, int32_t tok) {
    for (int i = 0; i < n->n_kids; i++)
        if (n->kids[i]->tok[0] == tok) return n->kids[i];
    return NULL;
}

static bool add_kid(srv_node *p, srv_node *k) {
    if (p->n_kids == p->cap_kids) {
        const int cap = p->cap_kids ? p->cap_kids * 2 : 4;
        srv_node **a = realloc(p->kids, (size_t)cap * sizeof *a);
        if (!a) return false;
        p->kids = a;
        p->cap_kids = cap;
    }
    p->kids[p->n_kids++] = k;
    k->parent = p;
    return true;
}

/* Split n after its first at tokens: n keeps them, a new child the rest. */
static bool split(srv_tree *t, srv_node *n, int64_t at) {
    srv_node *tail = calloc(1, sizeof *tail);
    int32_t *htok = malloc((size_t)at * sizeof *htok);
    char *hrows = malloc((size_t)at * t->row_bytes);
    int32_t *ttok = malloc((size_t)(n->n - at) * sizeof *ttok);
    char *trows = malloc((size_t)(n->n - at) * t->row_bytes);
    if (!tail || !htok || !hrows || !ttok || !trows) {
        free(tail), free(htok), free(hrows), free(ttok), free(trows);
        return false;
    }
    memcpy(htok, n->tok, (size_t)at * sizeof *htok);
    memcpy(hrows, n->rows, (size_t)at * t->row_bytes);
    memcpy(ttok, n->tok + at, (size_t)(n->n - at) * sizeof *ttok);
    memcpy(trows, n->rows + (size_t)at * t->row_bytes, (size_t)(n->n - at) * t->row_bytes);
    tail->tok = ttok;
    tail->rows = trows;
    tail->n = n->n - at;
    tail->last_used = n->last_used;
    tail->kids = n->kids; /* the tail takes n's children */
    tail->n_kids = n->n_kids;
    tail->cap_kids = n->cap_kids;
    for (int i = 0; i < tail->n_kids; i++) tail->kids[i]->parent = tail;
    free(n->tok);
    free(n->rows);
    n->tok = htok;
    n->rows = hrows;
    n->n = at;
    n->kids = NULL;
    n->n_kids = n->cap_kids = 0;
    if (!add_kid(n, tail)) { /* undo: cannot happen without memory; keep the tree whole */
        n->kids = tail->kids;
        n->n_kids = tail->n_kids;
        n->cap_kids = tail->cap_kids;
        for (int i = 0; i < n->n_kids; i++) n->kids[i]->parent = n;
        int32_t *jt = realloc(n->tok, (size_t)(at + tail->n) * sizeof *jt);
        char *jr = realloc(n->rows, (size_t)(at + tail->n) * t->row_bytes);
        if (jt) n->tok = jt;
        if (jr) n->rows = jr;
        if (jt && jr) {
            memcpy(n->tok + at, tail->tok, (size_t)tail->n * sizeof *jt);
            memcpy(n->rows + (size_t)at * t->row_bytes, tail->rows, (size_t)tail->n * t->row_bytes);
            n->n = at + tail->n;
        } else { /* drop the tail's children: the tree stays consistent, smaller */
            for (int i = 0; i < n->n_kids; i++) {
                node_free(n->kids[i]);
                free(n->kids[i]);
            }
            n->n_kids = 0;
            t->bytes -= (size_t)tail->n * t->row_bytes;
            t->n_tokens -= tail->n;
        }
        free(tail->tok);
        free(tail->rows);
        free(tail);
        return false;
    }
    return true;
}

/* The least recently used leaf (not the root), or NULL. */
static srv_node *lru_leaf(srv_node *n, srv_node *best) {
    if (n->n_kids == 0) return n->parent && (!best || n->last_used < best->last_used) ? n : best;
    for (int i = 0; i < n->n_kids; i++) best = lru_leaf(n->kids[i], best);
    return best;
}

static void evict_to(srv_tree *t, size_t cap) {
    while (t->bytes > cap) {
        srv_node *v = lru_leaf(&t->root, NULL);
        if (!v) break;
        srv_node *p = v->parent;
        for (int i = 0; i < p->n_kids; i++)
            if (p->kids[i] == v) {
                p->kids[i] = p->kids[--p->n_kids];
                break;
            }
        t->bytes -= (size_t)v->n * t->row_bytes;
        t->n_tokens -= v->n;
        t->evictions++;
        t->evicted_tokens += v->n;
        node_free(v);
        free(v);
    }
}

int64_t srv_tree_fill(srv_tree *t, lc_context *ctx, const int32_t *tokens, int64_t n, int64_t from) {
    if (!t || n <= from) return from;
    pthread_mutex_lock(&t->mu);
    const double now = (double)++t->clock;
    /* the match length first */
    srv_node *nd = &t->root;
    int64_t m = 0;
    while (m < n) {
        srv_node *k = child(nd, tokens[m]);
        if (!k) break;
        int64_t i = 0;
        while (i < k->n && m + i < n && k->tok[i] == tokens[m + i]) i++;
        m += i;
        nd = k;
        if (i < k->n) break;
    }
    int64_t got = from;
    if (m > from) { /* append rows [from, m) walking the path again */
        srv_node *p = &t->root;
        int64_t at = 0;
        lc_error err;
        bool ok = true;
        while (ok && at < m) {
            srv_node *k = child(p, tokens[at]);
            const int64_t take = m - at < k->n ? m - at : k->n;
            k->last_used = now;
            if (at + take > from) {
                const int64_t s0 = from > at ? from - at : 0;
                ok = lc_context_kv_append(ctx, k->tok + s0, take - s0, k->rows + (size_t)s0 * t->row_bytes,
                                          (size_t)(take - s0) * t->row_bytes, &err) == LC_OK;
                if (ok) got = at + take;
            }
            at += take;
            p = k;
        }
        t->hits += got > from;
    }
    pthread_mutex_unlock(&t->mu);
    return got;
}

void srv_tree_insert(srv_tree *t, const lc_context *ctx, const int32_t *tokens, int64_t n) {
    if (!t || n <= 0) return;
    pthread_mutex_lock(&t->mu);
    if ((size_t)n > t->cap / t->row_bytes) n = (int64_t)(t->cap / t->row_bytes); /* what can fit at all */
    const double now = (double)++t->clock;
    srv_node *p = &t->root;
    int64_t at = 0;
    while (at < n) {
        srv_node *k = child(p, tokens[at]);
        if (!k) break;
        int64_t i = 0;
        while (i < k->n && at + i < n && k->tok[i] == tokens[at + i]) i++;
        k->last_used = now;
        if (i < k->n && at + i < n && !split(t, k, i)) goto out; /* diverges inside the edge */
        at += i;
        p = k;
        if (i < k->n) break; /* the sequence ends inside this edge */
    }
    if (at < n) {
        const int64_t m = n - at;
        srv_node *k = calloc(1, sizeof *k);
        int32_t *tok = malloc((size_t)m * sizeof *tok);
        char *rows = malloc((size_t)m * t->row_bytes);
        lc_error err;
        if (!k || !tok || !rows ||
            lc_context_kv_read(ctx, at, m, rows, (size_t)m * t->row_bytes, &err) != LC_OK || !add_kid(p, k)) {
            free(k), free(tok), free(rows);
            goto out;
        }
        memcpy(tok, tokens + at, (size_t)m * sizeof *tok);
        k->tok = tok;
        k->rows = rows;
        k->n = m;
        k->last_used = now;
        t->bytes += (size_t)m * t->row_bytes;
        t->n_tokens += m;
    }
    evict_to(t, t->cap);
out:
    pthread_mutex_unlock(&t->mu);
}

void srv_tree_stats(srv_tree *t, srv_tree_counts *c) {
    memset(c, 0, sizeof *c);
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    c->bytes = t->bytes;
    c->cap = t->cap;
    c->tokens = t->n_tokens;
    c->hits = t->hits;
    c->evictions = t->evictions;
    c->evicted_tokens = t->evicted_tokens;
    pthread_mutex_unlock(&t->mu);
}
