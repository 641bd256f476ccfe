/*
 * A parse in progress: the current set of parse stacks and a partly read
 * UTF-8 character; reading text, checking and masking tokens (the masking
 * walk over the vocabulary trie), and the sampler glue.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"
#include "longctx/sample.h"

typedef struct {
    int32_t node, child; /* trie node; its next child to try */
    lc_gr_set set;
    lc_gr_utf8 u;
    lc_gr_mark mk; /* the engine before this node's set was made */
    bool is_base;  /* set holds what the walk started from          */
} walk_frame;

/* What a code point does to the set the walk started from (the state's
 * own): inside a string of a JSON grammar almost every character leads back
 * to the same set, and outside most lead nowhere; both are remembered for
 * the rest of the walk, so most trie nodes cost a table lookup. */
enum { BASE_UNKNOWN = 0, BASE_SAME = 1, BASE_DEAD = 2, BASE_OTHER = 3 };
#define BASE_CACHE 4096 /* code points >= 128, open addressing */

typedef struct {
    uint32_t stamp; /* == walk: valid */
    uint32_t cp;
    uint8_t what;
} base_entry;

struct lc_grammar_state {
    const lc_grammar *g;
    const lc_grammar_vocab *v;
    lc_gr_engine e;
    lc_gr_set cur;
    lc_gr_utf8 u;
    bool ended;
    lc_grammar_stats stats;
    uint8_t *allowed;   /* [n_vocab] scratch of the mask */
    walk_frame *frames; /* [max_len + 1] */
    uint32_t walk;      /* masking walks so far (cache stamp) */
    uint8_t base_ascii[128];
    base_entry *base_cache; /* [BASE_CACHE] */
};

static lc_status engine_error(const lc_grammar_state *s, lc_error *err) {
    switch (s->e.fail) {
    case LC_ERR_TOO_LARGE:
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "grammar: the parse needs more than %d stacks or %d stack nodes (a very ambiguous grammar)",
                       s->e.max_set, s->e.max_nodes);
    case LC_ERR_NOMEM: return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the parse stacks");
    default: return lc_fail(err, LC_ERR_INTERNAL, "grammar: the parse engine failed");
    }
}

lc_status lc_grammar_state_reset(lc_grammar_state *s, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL state");
    lc_gr_engine_clear(&s->e);
    s->u = (lc_gr_utf8){0, 0};
    s->ended = false;
    if (!lc_gr_engine_start(&s->e, &s->cur)) {
        if (s->e.fail != LC_OK) return engine_error(s, err);
        /* the root can only be empty: nothing but the end is allowed */
    }
    if (!lc_gr_engine_compact(&s->e, &s->cur)) return engine_error(s, err);
    return LC_OK;
}

lc_status lc_grammar_state_create(const lc_grammar *g, const lc_grammar_vocab *v, lc_grammar_state **out,
                                  lc_error *err) {
    if (!g || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    *out = NULL;
    lc_grammar_state *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
    s->g = g;
    s->v = v;
    lc_status st = lc_gr_engine_init(&s->e, g, err);
    if (st != LC_OK) {
        free(s);
        return st;
    }
    if (v) {
        s->allowed = malloc((size_t)v->n_vocab);
        s->frames = malloc(((size_t)v->max_len + 1) * sizeof *s->frames);
        s->base_cache = calloc(BASE_CACHE, sizeof *s->base_cache);
        if (!s->allowed || !s->frames || !s->base_cache) st = lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
    }
    if (st == LC_OK) st = lc_grammar_state_reset(s, err);
    if (st != LC_OK) {
        lc_grammar_state_free(s);
        return st;
    }
    *out = s;
    return LC_OK;
}

void lc_grammar_state_free(lc_grammar_state *s) {
    if (!s) return;
    lc_gr_engine_free(&s->e);
    free(s->allowed);
    free(s->frames);
    free(s->base_cache);
    free(s);
}

bool lc_grammar_state_complete(const lc_grammar_state *s) {
    return s && !s->ended && s->u.need == 0 && lc_gr_engine_complete(&s->e, s->cur);
}

bool lc_grammar_state_ended(const lc_grammar_state *s) { return s && s->ended; }

int32_t lc_grammar_state_n_stacks(const lc_grammar_state *s) { return s ? s->cur.n : 0; }

void lc_grammar_state_stats(const lc_grammar_state *s, lc_grammar_stats *st) {
    if (!st) return;
    if (s) *st = s->stats;
    else memset(st, 0, sizeof *st);
}

/* Read bytes from the current state into a new set above it. 1: read,
 * 0: refused, -1: the engine failed (s->e.fail). */
static int read_bytes(lc_grammar_state *s, const uint8_t *b, size_t n, lc_gr_set *set, lc_gr_utf8 *u) {
    *set = s->cur;
    *u = s->u;
    for (size_t i = 0; i < n; i++) {
        lc_gr_set ns;
        lc_gr_utf8 nu;
        if (!lc_gr_engine_byte(&s->e, *set, *u, b[i], &ns, &nu)) return s->e.fail != LC_OK ? -1 : 0;
        *set = ns;
        *u = nu;
    }
    return 1;
}

/* Read and keep: the state moves on, or stays as it was. */
static lc_status feed(lc_grammar_state *s, const uint8_t *b, size_t n, lc_error *err, const char *what) {
    if (s->ended) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: %s after the end of generation", what);
    const lc_gr_mark mk = lc_gr_engine_mark(&s->e);
    lc_gr_set set;
    lc_gr_utf8 u;
    const int r = read_bytes(s, b, n, &set, &u);
    if (r <= 0) {
        lc_gr_engine_rewind(&s->e, mk);
        if (r < 0) {
            lc_status st = engine_error(s, err);
            s->e.fail = LC_OK;
            return st;
        }
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: the grammar does not allow this %s here", what);
    }
    if (!lc_gr_engine_compact(&s->e, &set)) return engine_error(s, err);
    s->cur = set;
    s->u = u;
    return LC_OK;
}

lc_status lc_grammar_state_feed(lc_grammar_state *s, const char *text, size_t len, lc_error *err) {
    if (!s || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    return feed(s, (const uint8_t *)text, len, err, "text");
}

lc_status lc_grammar_match(const lc_grammar *g, const char *text, size_t len, bool *match, lc_error *err) {
    if (!g || !match || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    *match = false;
    lc_grammar_state *s;
    lc_status st = lc_grammar_state_create(g, NULL, &s, err);
    if (st != LC_OK) return st;
    lc_error e2;
    st = feed(s, (const uint8_t *)text, len, &e2, "text");
    if (st == LC_OK) *match = lc_grammar_state_complete(s);
    else if (st == LC_ERR_INVALID_ARG) st = LC_OK; /* refused: no match */
    else if (err) *err = e2;
    lc_grammar_state_free(s);
    return st;
}

static lc_status need_vocab(const lc_grammar_state *s, int32_t token, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL state");
    if (!s->v) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: the state has no vocabulary");
    if (token < -1 || token >= s->v->n_vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: token %d outside the vocabulary of %d", token, s->v->n_vocab);
    return LC_OK;
}

lc_status lc_grammar_token_allowed(lc_grammar_state *s, int32_t token, bool *allowed, lc_error *err) {
    lc_status st = need_vocab(s, token, err);
    if (st != LC_OK) return st;
    if (!allowed || token < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: bad argument");
    s->stats.n_checks++;
    const lc_grammar_vocab *v = s->v;
    *allowed = false;
    if (s->ended) return LC_OK;
    if (v->is_eog[token]) {
        *allowed = lc_grammar_state_complete(s);
        return LC_OK;
    }
    const int64_t len = v->off[token + 1] - v->off[token];
    if (len == 0) return LC_OK;
    const lc_gr_mark mk = lc_gr_engine_mark(&s->e);
    lc_gr_set set;
    lc_gr_utf8 u;
    const int r = read_bytes(s, v->bytes + v->off[token], (size_t)len, &set, &u);
    lc_gr_engine_rewind(&s->e, mk);
    if (r < 0) {
        st = engine_error(s, err);
        s->e.fail = LC_OK;
        return st;
    }
    *allowed = r > 0;
    return LC_OK;
}

/* The code point byte b completes from a frame in state u, or -1 (b starts
 * or continues a longer character, or is not valid UTF-8 there). */
static int64_t completes(lc_gr_utf8 u, uint8_t b) {
    if (u.need == 0) return b < 0x80 ? b : -1;
    if (u.need == 1 && (b & 0xC0) == 0x80) return (int64_t)((u.val << 6) | (b & 0x3Fu));
    return -1;
}

static uint8_t *base_slot(lc_grammar_state *s, uint32_t cp) {
    if (cp < 128) return &s->base_ascii[cp];
    uint32_t h = (cp * 2654435761u) & (BASE_CACHE - 1);
    for (int probe = 0; probe < 64; probe++, h = (h + 1) & (BASE_CACHE - 1)) {
        base_entry *e = &s->base_cache[h];
        if (e->stamp != s->walk) {
            *e = (base_entry){s->walk, cp, BASE_UNKNOWN};
            return &e->what;
        }
        if (e->cp == cp) return &e->what;
    }
    return NULL; /* full around here: do not remember */
}

static bool same_set(const lc_gr_engine *e, lc_gr_set a, lc_gr_set b) {
    return a.n == b.n && (a.off == b.off || memcmp(e->buf + a.off, e->buf + b.off, (size_t)a.n * sizeof *e->buf) == 0);
}

/* The masking walk: depth first over the trie, each node's set made from its
 * parent's by one byte; a branch no stack can take is cut with everything
 * under it. */
lc_status lc_grammar_allowed_tokens(lc_grammar_state *s, uint8_t *allowed, int32_t *n_allowed, lc_error *err) {
    lc_status st = need_vocab(s, -1, err);
    if (st != LC_OK) return st;
    if (!allowed) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    s->stats.n_masks++;
    const lc_grammar_vocab *v = s->v;
    memset(allowed, 0, (size_t)v->n_vocab);
    int32_t count = 0;
    if (n_allowed) *n_allowed = 0;
    if (s->ended) return LC_OK;
    if (lc_grammar_state_complete(s))
        for (int32_t i = 0; i < v->n_eog; i++) allowed[v->eog[i]] = 1, count++;
    if (++s->walk == 0) { /* stamps wrapped: forget them all */
        memset(s->base_cache, 0, BASE_CACHE * sizeof *s->base_cache);
        s->walk = 1;
    }
    memset(s->base_ascii, BASE_UNKNOWN, sizeof s->base_ascii);
    lc_gr_engine *e = &s->e;
    const lc_gr_mark base = lc_gr_engine_mark(e);
    walk_frame *f = s->frames;
    int32_t depth = 0;
    f[0] = (walk_frame){0, v->trie[0].first_child, s->cur, s->u, base, true};
    while (depth >= 0) {
        walk_frame *top = &f[depth];
        const int32_t c = top->child;
        if (c < 0) { /* every child done: drop this node's set */
            lc_gr_engine_rewind(e, top->mk);
            depth--;
            continue;
        }
        const lc_gr_trie_node *tn = &v->trie[c];
        top->child = tn->next_sibling;
        const lc_gr_mark mk = lc_gr_engine_mark(e);
        lc_gr_set ns;
        lc_gr_utf8 nu;
        bool child_base = false;
        const int64_t cp = top->is_base ? completes(top->u, tn->byte) : -1;
        uint8_t *known = cp >= 0 ? base_slot(s, (uint32_t)cp) : NULL;
        if (known && *known == BASE_DEAD) continue;
        if (known && *known == BASE_SAME) {
            ns = s->cur, nu = (lc_gr_utf8){0, 0}, child_base = true;
        } else if (!lc_gr_engine_byte(e, top->set, top->u, tn->byte, &ns, &nu)) {
            lc_gr_engine_rewind(e, mk);
            if (e->fail != LC_OK) break;
            if (known) *known = BASE_DEAD;
            continue;
        } else if (known) {
            if (same_set(e, ns, s->cur)) { /* back where the walk started: use the state's own set */
                lc_gr_engine_rewind(e, mk);
                ns = s->cur, child_base = true;
                *known = BASE_SAME;
            } else {
                *known = BASE_OTHER;
            }
        } else if (top->is_base && nu.need > 0) {
            child_base = true; /* inside a character the set does not change */
        }
        for (int32_t i = 0; i < tn->tok_n; i++) allowed[v->ids[tn->tok_first + i]] = 1;
        count += tn->tok_n;
        if (tn->first_child >= 0) f[++depth] = (walk_frame){c, tn->first_child, ns, nu, mk, child_base};
        else lc_gr_engine_rewind(e, mk);
    }
    lc_gr_engine_rewind(e, base);
    if (e->fail != LC_OK) {
        st = engine_error(s, err);
        e->fail = LC_OK;
        return st;
    }
    if (n_allowed) *n_allowed = count;
    return LC_OK;
}

lc_status lc_grammar_mask_logits(lc_grammar_state *s, float *logits, int32_t *n_allowed, lc_error *err) {
    if (!logits) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL logits");
    lc_status st = lc_grammar_allowed_tokens(s, s ? s->allowed : NULL, n_allowed, err);
    if (st != LC_OK) return st;
    for (int32_t i = 0; i < s->v->n_vocab; i++)
        if (!s->allowed[i]) logits[i] = -INFINITY;
    return LC_OK;
}

lc_status lc_grammar_accept_token(lc_grammar_state *s, int32_t token, lc_error *err) {
    lc_status st = need_vocab(s, token, err);
    if (st != LC_OK) return st;
    if (token < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: bad token");
    const lc_grammar_vocab *v = s->v;
    if (s->ended) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: token %d after the end of generation", token);
    if (v->is_eog[token]) {
        if (!lc_grammar_state_complete(s))
            return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: end of generation (token %d) before the grammar is complete",
                           token);
        s->ended = true;
        s->stats.n_accepts++;
        return LC_OK;
    }
    const int64_t len = v->off[token + 1] - v->off[token];
    if (len == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: token %d writes no text and is never allowed", token);
    st = feed(s, v->bytes + v->off[token], (size_t)len, err, "token");
    if (st == LC_OK) s->stats.n_accepts++;
    return st;
}

/* ---- the sampler glue ---- */

static lc_status con_allowed(void *user, int32_t token, bool *ok, lc_error *err) {
    return lc_grammar_token_allowed(user, token, ok, err);
}

static lc_status con_mask(void *user, float *logits, int32_t n_vocab, lc_error *err) {
    lc_grammar_state *s = user;
    if (n_vocab != s->v->n_vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: logits of %d tokens, vocabulary of %d", n_vocab, s->v->n_vocab);
    int32_t n = 0;
    lc_status st = lc_grammar_mask_logits(s, logits, &n, err);
    if (st == LC_OK && n == 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: no token of the vocabulary can continue the grammar here%s",
                       s->ended ? " (generation ended)" : "");
    return st;
}

static lc_status con_accept(void *user, int32_t token, lc_error *err) { return lc_grammar_accept_token(user, token, err); }

lc_status lc_grammar_state_attach(lc_grammar_state *s, lc_sampler *sampler, lc_error *err) {
    if (!s || !sampler) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    if (!s->v) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: the state has no vocabulary");
    if (lc_sampler_n_vocab(sampler) != s->v->n_vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: sampler vocabulary of %d, grammar vocabulary of %d",
                       lc_sampler_n_vocab(sampler), s->v->n_vocab);
    const lc_sampler_constraint c = {s, con_allowed, con_mask, con_accept};
    lc_sampler_set_constraint(sampler, &c);
    return LC_OK;
}

void lc_grammar_state_detach(lc_sampler *sampler) { lc_sampler_set_constraint(sampler, NULL); }
