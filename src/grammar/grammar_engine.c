/*
 * The parse stack engine: sets of hash-consed parse stacks advanced one code
 * point (one UTF-8 byte) at a time. See grammar_internal.h for the model.
 *
 * Every node is made by node_get, which hash-conses (pos, parent); the hash
 * table uses linear probing and nodes are only ever dropped newest first
 * (rewind, used by the vocabulary walk), which restores the table exactly.
 * A node's parent is always older than the node, so compaction can renumber
 * in index order.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

#define MAX_NODES (1 << 21)

bool lc_gr_set_intersects(const lc_grammar *g, const lc_gr_charset *s, uint32_t lo, uint32_t hi) {
    if (!s->negated) {
        for (int32_t i = 0; i < s->n; i++) {
            const lc_gr_range r = g->ranges[s->first + i];
            if (r.lo <= hi && r.hi >= lo) return true;
        }
        return false;
    }
    for (int32_t i = 0; i < s->n; i++) { /* ranges are merged: one must cover all of [lo, hi] */
        const lc_gr_range r = g->ranges[s->first + i];
        if (r.lo <= lo && r.hi >= hi) return false;
    }
    return true;
}

static bool fail(lc_gr_engine *e, lc_status st) {
    if (e->fail == LC_OK) e->fail = st;
    return false;
}

static bool table_init(lc_gr_engine *e, uint32_t size) {
    int32_t *t = malloc((size_t)size * sizeof *t);
    if (!t) return fail(e, LC_ERR_NOMEM);
    free(e->table);
    e->table = t;
    e->table_mask = size - 1;
    memset(t, 0xFF, (size_t)size * sizeof *t);
    return true;
}

static uint32_t hash_node(int32_t pos, int32_t parent) {
    uint64_t x = (uint64_t)(uint32_t)pos * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uint32_t)(parent + 1) * 0xC2B2AE3D27D4EB4Full;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(x >> 32);
}

static void table_put(lc_gr_engine *e, int32_t n) {
    uint32_t h = hash_node(e->nodes[n].pos, e->nodes[n].parent) & e->table_mask;
    while (e->table[h] >= 0) h = (h + 1) & e->table_mask;
    e->table[h] = n;
    e->slot[n] = h;
}

lc_status lc_gr_engine_init(lc_gr_engine *e, const lc_grammar *g, lc_error *err) {
    memset(e, 0, sizeof *e);
    e->g = g;
    e->max_nodes = MAX_NODES;
    e->max_set = LC_GRAMMAR_MAX_STACKS;
    e->max_buf = LC_GR_MAX_BUF;
    e->cap_nodes = 1024;
    e->nodes = malloc((size_t)e->cap_nodes * sizeof *e->nodes);
    e->slot = malloc((size_t)e->cap_nodes * sizeof *e->slot);
    e->mark = calloc((size_t)e->cap_nodes, sizeof *e->mark);
    e->cap_buf = 1024;
    e->buf = malloc((size_t)e->cap_buf * sizeof *e->buf);
    e->cap_work = 256;
    e->work = malloc((size_t)e->cap_work * sizeof *e->work);
    if (!e->nodes || !e->slot || !e->mark || !e->buf || !e->work || !table_init(e, 2048)) {
        lc_gr_engine_free(e);
        return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the parse stacks");
    }
    return LC_OK;
}

void lc_gr_engine_free(lc_gr_engine *e) {
    free(e->nodes);
    free(e->slot);
    free(e->mark);
    free(e->table);
    free(e->buf);
    free(e->work);
    memset(e, 0, sizeof *e);
}

void lc_gr_engine_clear(lc_gr_engine *e) {
    lc_gr_engine_rewind(e, (lc_gr_mark){0, 0});
    e->fail = LC_OK;
}

void lc_gr_engine_rewind(lc_gr_engine *e, lc_gr_mark m) {
    for (int32_t i = e->n_nodes - 1; i >= m.n_nodes; i--) e->table[e->slot[i]] = -1;
    if (m.n_nodes < e->n_nodes) e->n_nodes = m.n_nodes;
    if (m.n_buf < e->n_buf) e->n_buf = m.n_buf;
}

static int32_t node_get(lc_gr_engine *e, int32_t pos, int32_t parent) {
    uint32_t h = hash_node(pos, parent) & e->table_mask;
    for (int32_t n; (n = e->table[h]) >= 0; h = (h + 1) & e->table_mask)
        if (e->nodes[n].pos == pos && e->nodes[n].parent == parent) return n;
    if (e->n_nodes >= e->max_nodes) {
        fail(e, LC_ERR_TOO_LARGE);
        return -1;
    }
    if (e->n_nodes == e->cap_nodes) {
        const int32_t nc = e->cap_nodes * 2;
        lc_gr_node *nn = realloc(e->nodes, (size_t)nc * sizeof *nn);
        if (nn) e->nodes = nn;
        uint32_t *ns = realloc(e->slot, (size_t)nc * sizeof *ns);
        if (ns) e->slot = ns;
        uint32_t *nm = realloc(e->mark, (size_t)nc * sizeof *nm);
        if (nm) e->mark = nm;
        if (!nn || !ns || !nm) {
            fail(e, LC_ERR_NOMEM);
            return -1;
        }
        e->cap_nodes = nc;
    }
    const int32_t n = e->n_nodes++;
    e->nodes[n] = (lc_gr_node){pos, parent};
    e->mark[n] = 0;
    if ((uint64_t)e->n_nodes * 2 > (uint64_t)e->table_mask + 1) { /* grow: re-insert in index order */
        if (!table_init(e, (e->table_mask + 1) * 2)) {
            e->n_nodes--;
            return -1;
        }
        for (int32_t i = 0; i < e->n_nodes; i++) table_put(e, i);
    } else {
        e->table[h] = n;
        e->slot[n] = h;
    }
    return n;
}

static bool buf_push(lc_gr_engine *e, int32_t v) {
    if (e->n_buf >= e->max_buf) return fail(e, LC_ERR_TOO_LARGE);
    if (e->n_buf == e->cap_buf) {
        const int64_t nc = e->cap_buf * 2;
        int32_t *nb = realloc(e->buf, (size_t)nc * sizeof *nb);
        if (!nb) return fail(e, LC_ERR_NOMEM);
        e->buf = nb;
        e->cap_buf = nc;
    }
    e->buf[e->n_buf++] = v;
    return true;
}

static bool work_push(lc_gr_engine *e, int32_t pos, int32_t parent) {
    if (e->n_work + 2 > e->cap_work) {
        const int64_t nc = e->cap_work * 2;
        int32_t *nw = realloc(e->work, (size_t)nc * sizeof *nw);
        if (!nw) return fail(e, LC_ERR_NOMEM);
        e->work = nw;
        e->cap_work = nc;
    }
    e->work[e->n_work++] = pos;
    e->work[e->n_work++] = parent;
    return true;
}

/* Expand the frame (pos, parent) until every stack's top is a character set
 * (appended to the buffer) or the parse is complete (-1 appended once per
 * step: *complete). Nodes visited in this step (mark == gen) are skipped, so
 * a node is expanded once per step whatever the number of paths to it. */
static bool settle(lc_gr_engine *e, int32_t pos, int32_t parent, int64_t set_off, bool *complete) {
    const lc_grammar *g = e->g;
    if (!work_push(e, pos, parent)) return false;
    while (e->n_work > 0) {
        if (e->max_steps > 0 && ++e->steps > e->max_steps) return fail(e, LC_ERR_CANCELLED);
        parent = e->work[--e->n_work];
        pos = e->work[--e->n_work];
        int32_t n;
        if (g->elems[pos].kind == LC_GR_END) {
            if (parent < 0) {
                if (!*complete) {
                    *complete = true;
                    if (!buf_push(e, -1)) return false;
                }
                continue;
            }
            n = parent;
        } else {
            n = node_get(e, pos, parent);
            if (n < 0) return false;
        }
        if (e->mark[n] == e->gen) continue;
        e->mark[n] = e->gen;
        const int32_t np = e->nodes[n].pos;
        const lc_gr_elem el = g->elems[np];
        if (el.kind == LC_GR_CHARS) {
            if (e->n_buf - set_off >= e->max_set) return fail(e, LC_ERR_TOO_LARGE);
            if (!buf_push(e, n)) return false;
            continue;
        }
        /* a rule reference: its alternatives, returning to what follows it
         * (the caller's frame itself when the reference ends its alternative) */
        int32_t cont = e->nodes[n].parent;
        if (g->elems[np + 1].kind != LC_GR_END) {
            cont = node_get(e, np + 1, cont);
            if (cont < 0) return false;
        }
        const lc_gr_rule *r = &g->rules[el.arg];
        for (int32_t a = r->n_alts - 1; a >= 0; a--)
            if (!work_push(e, g->alt_start[r->first_alt + a], cont)) return false;
    }
    return true;
}

static void next_gen(lc_gr_engine *e) {
    if (++e->gen == 0) { /* wrapped: forget every mark */
        memset(e->mark, 0, (size_t)e->n_nodes * sizeof *e->mark);
        e->gen = 1;
    }
}

bool lc_gr_engine_start(lc_gr_engine *e, lc_gr_set *out) {
    const lc_grammar *g = e->g;
    next_gen(e);
    e->n_work = 0;
    const int64_t off = e->n_buf;
    bool complete = false;
    const lc_gr_rule *r = &g->rules[g->root];
    for (int32_t a = 0; a < r->n_alts; a++)
        if (!settle(e, g->alt_start[r->first_alt + a], -1, off, &complete)) return false;
    *out = (lc_gr_set){off, (int32_t)(e->n_buf - off)};
    return out->n > 0;
}

static bool advance(lc_gr_engine *e, lc_gr_set in, uint32_t cp, lc_gr_set *out) {
    const lc_grammar *g = e->g;
    next_gen(e);
    e->n_work = 0;
    const int64_t off = e->n_buf;
    bool complete = false;
    e->steps += in.n; /* every stack is looked at */
    if (e->max_steps > 0 && e->steps > e->max_steps) return fail(e, LC_ERR_CANCELLED);
    for (int32_t i = 0; i < in.n; i++) {
        const int32_t n = e->buf[in.off + i];
        if (n < 0) continue;
        const int32_t pos = e->nodes[n].pos;
        if (lc_gr_set_match(g, &g->sets[g->elems[pos].arg], cp) && !settle(e, pos + 1, e->nodes[n].parent, off, &complete))
            return false;
    }
    *out = (lc_gr_set){off, (int32_t)(e->n_buf - off)};
    return out->n > 0;
}

bool lc_gr_engine_byte(lc_gr_engine *e, lc_gr_set in, lc_gr_utf8 u, uint8_t b, lc_gr_set *out, lc_gr_utf8 *uo) {
    uint32_t v;
    int32_t need;
    if (u.need == 0) {
        if (b < 0x80) {
            *uo = (lc_gr_utf8){0, 0};
            return advance(e, in, b, out);
        }
        if (b >= 0xC2 && b <= 0xDF) v = b & 0x1Fu, need = 1;
        else if ((b & 0xF0) == 0xE0) v = b & 0x0Fu, need = 2;
        else if (b >= 0xF0 && b <= 0xF4) v = b & 0x07u, need = 3;
        else return false;
    } else {
        if ((b & 0xC0) != 0x80) return false;
        /* no overlong forms, no surrogates, nothing past U+10FFFF */
        if (u.need == 2 && u.val == 0x0 && b < 0xA0) return false;
        if (u.need == 2 && u.val == 0xD && b > 0x9F) return false;
        if (u.need == 3 && u.val == 0x0 && b < 0x90) return false;
        if (u.need == 3 && u.val == 0x4 && b > 0x8F) return false;
        v = (u.val << 6) | (b & 0x3Fu);
        need = u.need - 1;
        if (need == 0) {
            *uo = (lc_gr_utf8){0, 0};
            return advance(e, in, v, out);
        }
    }
    /* an incomplete character: go on if some stack can take a character
     * that starts with these bits */
    const lc_grammar *g = e->g;
    uint32_t lo = v << (6 * need), hi = lo | ((1u << (6 * need)) - 1u);
    if (u.need == 0) { /* a lead byte: the shortest form of its length */
        if (need == 2 && lo < 0x800) lo = 0x800;
        if (need == 3 && lo < 0x10000) lo = 0x10000;
    }
    if (hi > 0x10FFFF) hi = 0x10FFFF;
    for (int32_t i = 0; i < in.n; i++) {
        const int32_t n = e->buf[in.off + i];
        if (n >= 0 && lc_gr_set_intersects(g, &g->sets[g->elems[e->nodes[n].pos].arg], lo, hi)) {
            *out = in;
            *uo = (lc_gr_utf8){v, need};
            return true;
        }
    }
    return false;
}

bool lc_gr_engine_complete(const lc_gr_engine *e, lc_gr_set s) {
    for (int32_t i = 0; i < s.n; i++)
        if (e->buf[s.off + i] < 0) return true;
    return false;
}

bool lc_gr_engine_compact(lc_gr_engine *e, lc_gr_set *s) {
    next_gen(e);
    const uint32_t keep = e->gen;
    for (int32_t i = 0; i < s->n; i++)
        for (int32_t n = e->buf[s->off + i]; n >= 0 && e->mark[n] != keep; n = e->nodes[n].parent) e->mark[n] = keep;
    int32_t k = 0;
    uint32_t *map = e->slot; /* rebuilt below */
    for (int32_t i = 0; i < e->n_nodes; i++) {
        if (e->mark[i] != keep) continue;
        const int32_t par = e->nodes[i].parent;
        e->nodes[k] = (lc_gr_node){e->nodes[i].pos, par < 0 ? par : (int32_t)map[par]};
        map[i] = (uint32_t)k++;
    }
    for (int32_t i = 0; i < s->n; i++) {
        const int32_t n = e->buf[s->off + i];
        e->buf[i] = n < 0 ? n : (int32_t)map[n];
    }
    e->n_buf = s->n;
    s->off = 0;
    e->n_nodes = k;
    uint32_t size = 2048;
    while ((uint64_t)size < (uint64_t)k * 4) size *= 2;
    if (size != e->table_mask + 1) {
        if (!table_init(e, size)) return false;
    } else {
        memset(e->table, 0xFF, (size_t)size * sizeof *e->table);
    }
    for (int32_t i = 0; i < k; i++) table_put(e, i);
    memset(e->mark, 0, (size_t)k * sizeof *e->mark);
    e->gen = 0;
    return true;
}
