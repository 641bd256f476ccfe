/*
 * Internal: the compiled grammar (what gbnf_parse.c produces), the parse
 * stack engine (grammar_engine.c) and the vocabulary trie (grammar_vocab.c).
 *
 * A compiled grammar is flat: every rule is a list of alternatives, every
 * alternative a run of elements in elems[] closed by an END element. An
 * element is a reference to a rule or a character set (one code point).
 * Groups, string literals and the repetition operators are lowered to these
 * by the parser (a group or a repetition becomes a generated rule).
 *
 * A parse stack is a linked list of nodes (pos, parent) in a node pool:
 * pos indexes elems[] (the next element to match in that frame), parent is
 * the frame to return to when the alternative ends (-1: the root, whose end
 * means the input is complete). Nodes are hash-consed, so equal stacks are
 * the same node index and a set of stacks is a set of node indices (-1 in a
 * set means "complete"). The top node of every stack in a set points at a
 * character set.
 */
#ifndef LC_GRAMMAR_INTERNAL_H
#define LC_GRAMMAR_INTERNAL_H

#include "common/util.h"
#include "longctx/grammar.h"

enum { LC_GR_END = 0, LC_GR_REF = 1, LC_GR_CHARS = 2 };

typedef struct {
    int32_t kind; /* LC_GR_END / LC_GR_REF / LC_GR_CHARS */
    int32_t arg;  /* rule index (REF) or char set index (CHARS) */
} lc_gr_elem;

typedef struct {
    uint32_t lo, hi; /* inclusive code point range */
} lc_gr_range;

typedef struct {
    int32_t first, n;  /* sorted, merged, disjoint ranges[first .. first + n) */
    bool negated;      /* matches what the ranges do not                      */
    uint64_t ascii[2]; /* code points < 128 that match (negation applied)     */
} lc_gr_charset;

typedef struct {
    char *name;
    int32_t first_alt, n_alts; /* alt_start[first_alt .. first_alt + n_alts) */
} lc_gr_rule;

struct lc_grammar {
    lc_gr_elem *elems;
    int32_t n_elems;
    int32_t *alt_start; /* first element of each alternative */
    int32_t n_alts;
    lc_gr_rule *rules;
    int32_t n_rules;
    lc_gr_charset *sets;
    int32_t n_sets;
    lc_gr_range *ranges;
    int32_t n_ranges;
    int32_t root;
};

/* Whether code point cp is in set s. */
static inline bool lc_gr_set_match(const lc_grammar *g, const lc_gr_charset *s, uint32_t cp) {
    if (cp < 128) return (s->ascii[cp >> 6] >> (cp & 63)) & 1u;
    bool in = false;
    for (int32_t i = 0; i < s->n && !in; i++) {
        const lc_gr_range r = g->ranges[s->first + i];
        if (cp < r.lo) break;
        in = cp <= r.hi;
    }
    return in != s->negated;
}

/* Whether some code point in [lo, hi] is in set s. */
bool lc_gr_set_intersects(const lc_grammar *g, const lc_gr_charset *s, uint32_t lo, uint32_t hi);

/* ---- The stack engine ---------------------------------------------------- */

/* Stack-set entries the engine keeps between compactions (every byte read
 * appends a set of up to LC_GRAMMAR_MAX_STACKS): 2^26 entries, 256 MiB.
 * Without it, 100 KB of text fed at once to a grammar with thousands of
 * live stacks asked for gigabytes. lc_grammar_match feeds in pieces of
 * LC_GR_MATCH_PIECE bytes, each compacted, so it stays far below. */
#define LC_GR_MAX_BUF ((int64_t)1 << 26)
#define LC_GR_MATCH_PIECE 256

typedef struct {
    int32_t pos, parent;
} lc_gr_node;

/* A set of stacks: n entries of the engine's set buffer from off. */
typedef struct {
    int64_t off;
    int32_t n;
} lc_gr_set;

/* A partly decoded UTF-8 character: need continuation bytes still to come,
 * val the bits so far. need == 0: between characters. */
typedef struct {
    uint32_t val;
    int32_t need;
} lc_gr_utf8;

typedef struct {
    const lc_grammar *g;
    lc_gr_node *nodes;
    uint32_t *slot; /* each node's slot in table */
    uint32_t *mark; /* visit marks (== gen: visited in this step) */
    int32_t n_nodes, cap_nodes;
    int32_t *table; /* open addressing, linear probing; -1 empty */
    uint32_t table_mask;
    uint32_t gen;
    int32_t *buf; /* stack sets, one after another */
    int64_t n_buf, cap_buf;
    int32_t *work; /* settle worklist: (pos, parent) pairs */
    int64_t n_work, cap_work;
    int32_t max_nodes, max_set;
    int64_t max_buf; /* entries of buf: LC_GR_MAX_BUF */
    int64_t steps, max_steps; /* parse steps since the budget was renewed, and
                               the budget (0: none); past it: LC_ERR_CANCELLED */
    lc_status fail; /* LC_OK, or why the last operation stopped */
} lc_gr_engine;

lc_status lc_gr_engine_init(lc_gr_engine *e, const lc_grammar *g, lc_error *err);
void lc_gr_engine_free(lc_gr_engine *e);
/* Forget every node and set. */
void lc_gr_engine_clear(lc_gr_engine *e);
/* The initial set (the root's alternatives), appended to the buffer. */
bool lc_gr_engine_start(lc_gr_engine *e, lc_gr_set *out);
/* Feed one byte to (set, utf8): the result appended to the buffer (or the
 * same set while a character is incomplete). False when nothing can take it
 * (or e->fail != LC_OK: a budget ran out). */
bool lc_gr_engine_byte(lc_gr_engine *e, lc_gr_set in, lc_gr_utf8 u, uint8_t byte, lc_gr_set *out, lc_gr_utf8 *uo);
/* Whether the set holds a complete parse. */
bool lc_gr_engine_complete(const lc_gr_engine *e, lc_gr_set s);
/* Keep only the nodes reachable from set s, renumbered; s is moved to the
 * start of the buffer. */
bool lc_gr_engine_compact(lc_gr_engine *e, lc_gr_set *s);

/* Undo marks: nodes and sets made after a mark are dropped by rewinding. */
typedef struct {
    int32_t n_nodes;
    int64_t n_buf;
} lc_gr_mark;

static inline lc_gr_mark lc_gr_engine_mark(const lc_gr_engine *e) { return (lc_gr_mark){e->n_nodes, e->n_buf}; }
void lc_gr_engine_rewind(lc_gr_engine *e, lc_gr_mark m);

/* ---- The vocabulary trie -------------------------------------------------- */

typedef struct {
    int32_t first_child, next_sibling; /* -1: none */
    int32_t tok_first, tok_n;          /* tokens whose bytes end here: ids[tok_first ..] */
    uint8_t byte;
} lc_gr_trie_node;

struct lc_grammar_vocab {
    int32_t n_vocab;
    lc_gr_trie_node *trie; /* node 0: the root (no byte) */
    int32_t n_trie;
    int32_t *ids;       /* text tokens sorted by their bytes */
    int32_t n_ids;
    uint8_t *bytes;     /* every text token's bytes */
    int64_t *off;       /* [n_vocab + 1] offsets into bytes; empty: not a text token */
    uint8_t *is_eog;    /* [n_vocab] */
    int32_t *eog;       /* the end-of-generation ids */
    int32_t n_eog;
    int32_t max_len;    /* longest token, bytes */
};

/* The limits past which a masking walk stops remembering sets and falls
 * back to the plain walk (tests force the fallback with 0, 0). */
void lc_gr_state_set_memo_limits(lc_grammar_state *s, int32_t max_nodes, int32_t max_sets);
/* The stack-set entries the state's engine may hold (LC_GR_MAX_BUF; tests
 * lower it to reach it quickly). */
void lc_gr_state_set_buf_limit(lc_grammar_state *s, int64_t max_buf);

#endif
