/*
 * The vocabulary as the grammar sees it: every text token's bytes, and a
 * byte trie over them (tokens sorted by bytes, so the trie is built in one
 * pass with the path of the previous token) for the masking walk.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"
#include "longctx/tokenizer.h"

#define MAX_TOKEN_BYTES (1 << 16)

typedef struct {
    const uint8_t *s;
    int64_t n;
    int32_t id;
} tok_ref;

static int cmp_tok(const void *a, const void *b) {
    const tok_ref *x = a, *y = b;
    const int64_t n = x->n < y->n ? x->n : y->n;
    const int c = n ? memcmp(x->s, y->s, (size_t)n) : 0;
    if (c) return c;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void lc_grammar_vocab_free(lc_grammar_vocab *v) {
    if (!v) return;
    free(v->trie);
    free(v->ids);
    free(v->bytes);
    free(v->off);
    free(v->is_eog);
    free(v->eog);
    free(v);
}

int32_t lc_grammar_vocab_n_vocab(const lc_grammar_vocab *v) { return v ? v->n_vocab : 0; }

/* Owns bytes/off (filled by the caller) on success and on failure. */
static lc_status build(lc_grammar_vocab *v, const int32_t *eog, int32_t n_eog, lc_error *err) {
    const int32_t V = v->n_vocab;
    v->is_eog = calloc((size_t)V, 1);
    v->eog = malloc((size_t)(n_eog > 0 ? n_eog : 1) * sizeof *v->eog);
    if (!v->is_eog || !v->eog) return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the vocabulary");
    for (int32_t i = 0; i < n_eog; i++) {
        if (eog[i] < 0 || eog[i] >= V)
            return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: end-of-generation token %d outside the vocabulary of %d",
                           eog[i], V);
        if (!v->is_eog[eog[i]]) v->eog[v->n_eog++] = eog[i];
        v->is_eog[eog[i]] = 1;
    }
    int32_t n = 0;
    int64_t total = 0;
    for (int32_t id = 0; id < V; id++) {
        const int64_t len = v->off[id + 1] - v->off[id];
        if (len > 0 && !v->is_eog[id]) n++, total += len;
        if (len > v->max_len) v->max_len = (int32_t)len;
    }
    tok_ref *refs = malloc((size_t)(n ? n : 1) * sizeof *refs);
    v->ids = malloc((size_t)(n ? n : 1) * sizeof *v->ids);
    const int64_t max_trie = total + 1;
    if (max_trie > INT32_MAX) {
        free(refs);
        return lc_fail(err, LC_ERR_TOO_LARGE, "grammar: vocabulary text of %lld bytes is too large", (long long)total);
    }
    v->trie = malloc((size_t)max_trie * sizeof *v->trie);
    int32_t *path = malloc(((size_t)v->max_len + 2) * sizeof *path);
    if (!refs || !v->ids || !v->trie || !path) {
        free(refs);
        free(path);
        return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the vocabulary trie");
    }
    n = 0;
    for (int32_t id = 0; id < V; id++) {
        const int64_t len = v->off[id + 1] - v->off[id];
        if (len > 0 && !v->is_eog[id]) refs[n++] = (tok_ref){v->bytes + v->off[id], len, id};
    }
    qsort(refs, (size_t)n, sizeof *refs, cmp_tok);
    v->trie[0] = (lc_gr_trie_node){-1, -1, 0, 0, 0};
    v->n_trie = 1;
    path[0] = 0;
    int64_t prev_len = 0;
    const uint8_t *prev = NULL;
    for (int32_t i = 0; i < n; i++) {
        const tok_ref t = refs[i];
        v->ids[i] = t.id;
        int64_t l = 0;
        while (prev && l < prev_len && l < t.n && prev[l] == t.s[l]) l++;
        for (int64_t d = l; d < t.n; d++) {
            const int32_t nn = v->n_trie++;
            v->trie[nn] = (lc_gr_trie_node){-1, -1, 0, 0, t.s[d]};
            const int32_t parent = path[d];
            if (d == l && prev_len > l) v->trie[path[l + 1]].next_sibling = nn; /* after the previous child */
            else v->trie[parent].first_child = nn;
            path[d + 1] = nn;
        }
        lc_gr_trie_node *end = &v->trie[path[t.n]];
        if (end->tok_n == 0) end->tok_first = i;
        end->tok_n++;
        prev = t.s;
        prev_len = t.n;
    }
    v->n_ids = n;
    lc_gr_trie_node *shrunk = realloc(v->trie, (size_t)v->n_trie * sizeof *v->trie);
    if (shrunk) v->trie = shrunk;
    free(refs);
    free(path);
    return LC_OK;
}

lc_status lc_grammar_vocab_from_pieces(int32_t n_vocab, const char *const *pieces, const size_t *lens,
                                       const int32_t *eog, int32_t n_eog, lc_grammar_vocab **out, lc_error *err) {
    if (!out || n_vocab < 1 || !pieces || (n_eog > 0 && !eog) || n_eog < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: bad vocabulary arguments");
    *out = NULL;
    lc_grammar_vocab *v = calloc(1, sizeof *v);
    if (!v) return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
    v->n_vocab = n_vocab;
    v->off = malloc(((size_t)n_vocab + 1) * sizeof *v->off);
    int64_t total = 0;
    lc_status st = LC_OK;
    for (int32_t i = 0; i < n_vocab && v->off; i++) {
        const size_t l = pieces[i] ? (lens ? lens[i] : strlen(pieces[i])) : 0;
        if (l > MAX_TOKEN_BYTES) {
            st = lc_fail(err, LC_ERR_TOO_LARGE, "grammar: token %d is %zu bytes long (limit %d)", i, l, MAX_TOKEN_BYTES);
            break;
        }
        v->off[i] = total;
        total += (int64_t)l;
    }
    if (st == LC_OK && v->off) {
        v->off[n_vocab] = total;
        v->bytes = malloc((size_t)(total ? total : 1));
        if (v->bytes)
            for (int32_t i = 0; i < n_vocab; i++)
                if (v->off[i + 1] > v->off[i]) memcpy(v->bytes + v->off[i], pieces[i], (size_t)(v->off[i + 1] - v->off[i]));
    }
    if (st == LC_OK && (!v->off || !v->bytes)) st = lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the vocabulary");
    if (st == LC_OK) st = build(v, eog, n_eog, err);
    if (st != LC_OK) {
        lc_grammar_vocab_free(v);
        return st;
    }
    *out = v;
    return LC_OK;
}

lc_status lc_grammar_vocab_create(const lc_tokenizer *tok, const int32_t *eog, int32_t n_eog, lc_grammar_vocab **out,
                                  lc_error *err) {
    if (!out || !tok || n_eog < 0 || (n_eog > 0 && !eog))
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: bad vocabulary arguments");
    *out = NULL;
    const int32_t V = lc_tokenizer_n_vocab(tok);
    if (V < 2) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: a vocabulary of %d tokens", V);
    /* decode in mid-text: after a token that is not BOS (SPM keeps the space) */
    const int32_t prev = lc_tokenizer_bos(tok) == 0 ? 1 : 0;
    int32_t eos = lc_tokenizer_eos(tok);
    if (n_eog == 0 && eos >= 0) eog = &eos, n_eog = 1;
    lc_grammar_vocab *v = calloc(1, sizeof *v);
    if (!v) return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
    v->n_vocab = V;
    v->off = malloc(((size_t)V + 1) * sizeof *v->off);
    int64_t total = 0;
    for (int32_t id = 0; id < V && v->off; id++) {
        const int32_t ty = lc_tokenizer_type(tok, id);
        const bool text = ty != LC_TOKEN_CONTROL && ty != LC_TOKEN_UNKNOWN && ty != LC_TOKEN_UNUSED;
        v->off[id] = total;
        if (text) total += (int64_t)lc_tokenizer_decode_token(tok, prev, id, NULL, 0);
    }
    if (v->off) {
        v->off[V] = total;
        v->bytes = malloc((size_t)(total ? total : 1));
    }
    if (!v->off || !v->bytes) {
        lc_grammar_vocab_free(v);
        return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory for the vocabulary");
    }
    for (int32_t id = 0; id < V; id++) {
        const int64_t l = v->off[id + 1] - v->off[id];
        if (l > 0) lc_tokenizer_decode_token(tok, prev, id, (char *)v->bytes + v->off[id], (size_t)l);
    }
    lc_status st = build(v, eog, n_eog, err);
    if (st != LC_OK) {
        lc_grammar_vocab_free(v);
        return st;
    }
    *out = v;
    return LC_OK;
}
