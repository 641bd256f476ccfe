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

/* The memoised walk (see lc_grammar_allowed_tokens): nodes are kept for the
 * whole walk, so a stack set is identified by its contents; each distinct set
 * is kept once, and what each (set, partial character, byte) leads to is
 * remembered, so the walk computes each transition once. */
typedef struct {
    lc_gr_set s;
    uint64_t h;
} memo_set;

typedef struct {
    uint32_t stamp; /* == walk: valid */
    int32_t set;
    uint32_t uval;
    int8_t uneed, out_need;
    uint8_t byte;
    int32_t out; /* memo set, -1: nothing can take the byte */
    uint32_t out_uval;
} memo_trans;

typedef struct {
    int32_t node, child, set;
    lc_gr_utf8 u;
} memo_frame;

/* Past these the walk falls back to dropping each subtree's nodes. */
#define MEMO_MAX_NODES (1 << 19)
#define MEMO_MAX_SETS (1 << 18)

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
    /* the memoised walk: distinct stack sets met in a walk, and transitions */
    memo_set *msets;
    int32_t n_msets, cap_msets;
    int32_t *mset_tab; /* open addressing -> msets index; stamp-free: cleared per walk */
    uint32_t mset_mask;
    memo_trans *mtrans;
    uint32_t mtrans_mask, n_mtrans;
    memo_frame *mframes; /* [max_len + 1] */
    int32_t memo_max_nodes, memo_max_sets;
};

void lc_gr_state_set_memo_limits(lc_grammar_state *s, int32_t max_nodes, int32_t max_sets) {
    s->memo_max_nodes = max_nodes;
    s->memo_max_sets = max_sets;
}

void lc_gr_state_set_buf_limit(lc_grammar_state *s, int64_t max_buf) { s->e.max_buf = max_buf; }

void lc_grammar_state_set_budget(lc_grammar_state *s, int64_t steps) {
    if (!s) return;
    s->e.max_steps = steps > 0 ? steps : 0;
    s->e.steps = 0;
}

static lc_status engine_error(const lc_grammar_state *s, lc_error *err) {
    switch (s->e.fail) {
    case LC_ERR_TOO_LARGE:
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "grammar: the parse needs more than %d stacks, %d stack nodes or %lld stack-set entries (a very "
                       "ambiguous grammar, or text fed in one piece too long for it: feed it in smaller pieces)",
                       s->e.max_set, s->e.max_nodes, (long long)s->e.max_buf);
    case LC_ERR_CANCELLED:
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "grammar: more than %lld parse steps for one token (the per-token budget): the grammar is too "
                       "ambiguous here to enforce",
                       (long long)s->e.max_steps);
    case LC_ERR_NOMEM: return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the parse stacks");
    default: return lc_fail(err, LC_ERR_INTERNAL, "grammar: the parse engine failed");
    }
}

lc_status lc_grammar_state_reset(lc_grammar_state *s, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL state");
    lc_gr_engine_clear(&s->e);
    s->u = (lc_gr_utf8){0, 0};
    s->ended = false;
    s->e.steps = 0;
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
    s->memo_max_nodes = MEMO_MAX_NODES;
    s->memo_max_sets = MEMO_MAX_SETS;
    lc_status st = lc_gr_engine_init(&s->e, g, err);
    if (st != LC_OK) {
        free(s);
        return st;
    }
    if (v) {
        s->allowed = malloc((size_t)v->n_vocab);
        s->frames = malloc(((size_t)v->max_len + 1) * sizeof *s->frames);
        s->base_cache = calloc(BASE_CACHE, sizeof *s->base_cache);
        s->mframes = malloc(((size_t)v->max_len + 1) * sizeof *s->mframes);
        if (!s->allowed || !s->frames || !s->base_cache || !s->mframes)
            st = lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
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
    free(s->msets);
    free(s->mset_tab);
    free(s->mtrans);
    free(s->mframes);
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
    if (!strcmp(what, "text")) s->e.steps = 0; /* text fed: a budget of its own */
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
    /* in pieces, each compacted: the stack sets of every byte read are kept
     * only until the piece ends (LC_GR_MAX_BUF) */
    st = LC_OK;
    for (size_t at = 0; st == LC_OK && (at < len || at == 0); at += LC_GR_MATCH_PIECE) {
        const size_t n = len - at < LC_GR_MATCH_PIECE ? len - at : LC_GR_MATCH_PIECE;
        st = feed(s, (const uint8_t *)text + at, n, &e2, "text");
        if (len == 0) break;
    }
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
static int32_t walk_rewinding(lc_grammar_state *s, uint8_t *allowed) {
    const lc_grammar_vocab *v = s->v;
    int32_t count = 0;
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
    return e->fail != LC_OK ? -1 : count;
}

static uint64_t hash_set(const int32_t *x, int32_t n) {
    uint64_t h = 0x84222325CBF29CE4ull ^ (uint64_t)n;
    for (int32_t i = 0; i < n; i++) {
        h ^= (uint32_t)x[i];
        h *= 0x100000001B3ull;
        h ^= h >> 29;
    }
    return h;
}

static bool memo_grow_sets(lc_grammar_state *s) {
    if (s->n_msets < s->cap_msets && (uint32_t)(s->n_msets + 1) * 2 <= s->mset_mask + 1) return true;
    if (s->n_msets == s->cap_msets) {
        const int32_t nc = s->cap_msets ? s->cap_msets * 2 : 1024;
        memo_set *nm = realloc(s->msets, (size_t)nc * sizeof *nm);
        if (!nm) return false;
        s->msets = nm;
        s->cap_msets = nc;
    }
    if ((uint32_t)(s->n_msets + 1) * 2 > s->mset_mask + 1) {
        const uint32_t size = s->mset_tab ? (s->mset_mask + 1) * 2 : 2048;
        int32_t *t = malloc((size_t)size * sizeof *t);
        if (!t) return false;
        memset(t, 0xFF, (size_t)size * sizeof *t);
        for (int32_t i = 0; i < s->n_msets; i++) {
            uint32_t h = (uint32_t)s->msets[i].h & (size - 1);
            while (t[h] >= 0) h = (h + 1) & (size - 1);
            t[h] = i;
        }
        free(s->mset_tab);
        s->mset_tab = t;
        s->mset_mask = size - 1;
    }
    return true;
}

/* The memo set holding set's contents (set is at the top of the buffer: a
 * duplicate is dropped from it). -1: out of memory. */
static int32_t memo_intern(lc_grammar_state *s, lc_gr_set set) {
    lc_gr_engine *e = &s->e;
    const uint64_t h = hash_set(e->buf + set.off, set.n);
    uint32_t k = (uint32_t)h & s->mset_mask;
    for (int32_t i; (i = s->mset_tab[k]) >= 0; k = (k + 1) & s->mset_mask) {
        const memo_set *m = &s->msets[i];
        if (m->h == h && m->s.n == set.n &&
            memcmp(e->buf + m->s.off, e->buf + set.off, (size_t)set.n * sizeof *e->buf) == 0) {
            if (set.off + set.n == e->n_buf && set.off != m->s.off) e->n_buf = set.off;
            return i;
        }
    }
    if (!memo_grow_sets(s)) return -1;
    k = (uint32_t)h & s->mset_mask;
    while (s->mset_tab[k] >= 0) k = (k + 1) & s->mset_mask;
    s->mset_tab[k] = s->n_msets;
    s->msets[s->n_msets] = (memo_set){set, h};
    return s->n_msets++;
}

static uint32_t hash_trans(int32_t set, lc_gr_utf8 u, uint8_t b) {
    uint64_t x = (uint64_t)(uint32_t)set * 0x9E3779B97F4A7C15ull ^ ((uint64_t)u.val << 8 | (uint64_t)u.need << 4) * 0xC2B2AE3D27D4EB4Full ^ b;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(x >> 32);
}

static memo_trans *memo_find(lc_grammar_state *s, int32_t set, lc_gr_utf8 u, uint8_t b, bool *found) {
    if (!s->mtrans || (s->n_mtrans + 1) * 2 > s->mtrans_mask + 1) {
        const uint32_t size = s->mtrans ? (s->mtrans_mask + 1) * 2 : 4096;
        memo_trans *t = calloc(size, sizeof *t);
        if (!t) return NULL;
        for (uint32_t i = 0; s->mtrans && i <= s->mtrans_mask; i++) {
            const memo_trans *o = &s->mtrans[i];
            if (o->stamp != s->walk) continue;
            uint32_t h = hash_trans(o->set, (lc_gr_utf8){o->uval, o->uneed}, o->byte) & (size - 1);
            while (t[h].stamp == s->walk) h = (h + 1) & (size - 1);
            t[h] = *o;
        }
        free(s->mtrans);
        s->mtrans = t;
        s->mtrans_mask = size - 1;
    }
    uint32_t h = hash_trans(set, u, b) & s->mtrans_mask;
    for (;; h = (h + 1) & s->mtrans_mask) {
        memo_trans *t = &s->mtrans[h];
        if (t->stamp != s->walk) {
            *t = (memo_trans){s->walk, set, u.val, (int8_t)u.need, 0, b, -1, 0};
            s->n_mtrans++;
            *found = false;
            return t;
        }
        if (t->set == set && t->uval == u.val && t->uneed == u.need && t->byte == b) {
            *found = true;
            return t;
        }
    }
}

/* The memoised walk: the count of allowed tokens, -1 when the engine failed
 * (e->fail), -2 when it grew past its limits (use walk_rewinding). */
static int32_t walk_memo(lc_grammar_state *s, uint8_t *allowed) {
    const lc_grammar_vocab *v = s->v;
    lc_gr_engine *e = &s->e;
    const lc_gr_mark base = lc_gr_engine_mark(e);
    int32_t count = 0, result = 0;
    s->n_msets = 0;
    s->n_mtrans = 0;
    if (s->mset_tab) memset(s->mset_tab, 0xFF, ((size_t)s->mset_mask + 1) * sizeof *s->mset_tab);
    else if (!memo_grow_sets(s)) return -2;
    const int32_t first = memo_intern(s, s->cur);
    if (first < 0) return -2;
    memo_frame *f = s->mframes;
    int32_t depth = 0;
    f[0] = (memo_frame){0, v->trie[0].first_child, first, s->u};
    while (depth >= 0) {
        memo_frame *top = &f[depth];
        const int32_t c = top->child;
        if (c < 0) {
            depth--;
            continue;
        }
        const lc_gr_trie_node *tn = &v->trie[c];
        top->child = tn->next_sibling;
        bool found = false;
        memo_trans *t = memo_find(s, top->set, top->u, tn->byte, &found);
        if (!t) {
            result = -2;
            break;
        }
        if (!found) {
            const memo_set in = s->msets[top->set];
            lc_gr_set ns;
            lc_gr_utf8 nu;
            int32_t out = -1;
            if (lc_gr_engine_byte(e, in.s, top->u, tn->byte, &ns, &nu)) {
                out = ns.off == in.s.off && ns.n == in.s.n ? top->set : memo_intern(s, ns);
                if (out < 0) {
                    result = -2;
                    break;
                }
            } else if (e->fail != LC_OK) {
                /* a limit (the set buffer above all, which the memo fills):
                 * the rewinding walk tries, and meets it again if it is real */
                result = e->fail == LC_ERR_TOO_LARGE ? -2 : -1;
                break;
            }
            t = memo_find(s, top->set, top->u, tn->byte, &found); /* the table may have moved */
            if (!t) {
                result = -2;
                break;
            }
            t->out = out;
            t->out_uval = nu.val;
            t->out_need = (int8_t)nu.need;
            /* the memo keeps every set until the walk ends: past half the
             * engine's set buffer, the rewinding walk takes over */
            if (e->n_nodes - base.n_nodes > s->memo_max_nodes || s->n_msets > s->memo_max_sets ||
                e->n_buf - base.n_buf > e->max_buf / 2) {
                result = -2;
                break;
            }
        }
        if (t->out < 0) continue;
        for (int32_t i = 0; i < tn->tok_n; i++) allowed[v->ids[tn->tok_first + i]] = 1;
        count += tn->tok_n;
        if (tn->first_child >= 0) f[++depth] = (memo_frame){c, tn->first_child, t->out, (lc_gr_utf8){t->out_uval, t->out_need}};
    }
    lc_gr_engine_rewind(e, base);
    if (result == -2) e->fail = LC_OK; /* the limits of this walk, not the engine's */
    return result < 0 ? result : count;
}

lc_status lc_grammar_allowed_tokens(lc_grammar_state *s, uint8_t *allowed, int32_t *n_allowed, lc_error *err) {
    lc_status st = need_vocab(s, -1, err);
    if (st != LC_OK) return st;
    if (!allowed) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    s->stats.n_masks++;
    const lc_grammar_vocab *v = s->v;
    if (n_allowed) *n_allowed = 0;
    memset(allowed, 0, (size_t)v->n_vocab);
    if (s->ended) return LC_OK;
    if (++s->walk == 0) { /* stamps wrapped: forget them all */
        memset(s->base_cache, 0, BASE_CACHE * sizeof *s->base_cache);
        if (s->mtrans) memset(s->mtrans, 0, ((size_t)s->mtrans_mask + 1) * sizeof *s->mtrans);
        s->walk = 1;
    }
    int32_t count = walk_memo(s, allowed);
    if (count == -2) { /* too many distinct sets for one walk: the plain walk */
        memset(allowed, 0, (size_t)v->n_vocab);
        count = walk_rewinding(s, allowed);
    }
    if (count < 0) {
        st = engine_error(s, err);
        s->e.fail = LC_OK;
        return st;
    }
    if (lc_grammar_state_complete(s))
        for (int32_t i = 0; i < v->n_eog; i++) allowed[v->eog[i]] = 1, count++;
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
    s->e.steps = 0; /* the next token's budget */
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
