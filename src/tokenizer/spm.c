/*
 * SentencePiece-BPE encoding, as llama.cpp's llm_tokenizer_spm and
 * sentencepiece's bpe_model do it:
 *
 *   1. normalise: "▁" (U+2581) in front when add_space_prefix, every ' '
 *      replaced by "▁" (other whitespace is kept as is);
 *   2. split into UTF-8 characters (an invalid byte is a character of its own);
 *   3. repeatedly merge the adjacent pair whose concatenation is a vocabulary
 *      piece with the highest score, the leftmost pair on ties;
 *   4. every symbol that is a piece becomes its token; any other symbol
 *      falls back to one <0xNN> token per byte (byte fallback), or to the
 *      unknown token where the vocabulary lacks that byte.
 *
 *   text      "Hi you"
 *   norm      "▁Hi▁you"
 *   symbols   ▁ H i ▁ y o u      -> merges by score ... -> ▁Hi ▁you
 *
 * A merge may only produce a normal or user-defined piece: control, byte,
 * unknown and unused pieces are never produced by merging (a literal "<s>"
 * or "<0x0A>" in the text stays text), as in sentencepiece.
 *
 * Cost: O(n log n) in the number of characters (a heap of candidate pairs,
 * each merge pushes at most two new ones). Before merging, the text is cut
 * at every character boundary that no mergeable piece spans (the pair of
 * characters never occurs inside a piece, so no merge can ever join them):
 * the segments between cuts merge independently with exactly the same
 * result, and they are short (a word, or a single CJK character), so the
 * heap stays in cache.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/merge_heap.h"
#include "tokenizer/unicode.h"
#include "tokenizer/word_cache.h"

static const char SPACE_MARK[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 */

/* ---- character pairs inside pieces ---------------------------------------- */

static inline size_t bigram_slot(uint64_t key, size_t mask) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & mask;
}

static void bigram_put(lc_tokenizer *t, uint64_t key) {
    for (size_t i = bigram_slot(key, t->bigram_mask);; i = (i + 1) & t->bigram_mask) {
        if (t->bigrams[i] == key) return;
        if (t->bigrams[i] == 0) {
            t->bigrams[i] = key;
            return;
        }
    }
}

bool lc_tok_bigram_has(const lc_tokenizer *t, uint32_t a, uint32_t b) {
    uint64_t key = ((uint64_t)a << 32 | b) + 1;
    for (size_t i = bigram_slot(key, t->bigram_mask);; i = (i + 1) & t->bigram_mask) {
        if (t->bigrams[i] == key) return true;
        if (t->bigrams[i] == 0) return false;
    }
}

lc_status lc_tok_bigrams_alloc(lc_tokenizer *t, size_t pairs, lc_error *err) {
    size_t slots = 64;
    while (slots < 2 * pairs) slots *= 2; /* pairs < 2^40: no overflow */
    t->bigrams = calloc(slots, sizeof *t->bigrams);
    if (!t->bigrams) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu character pairs", pairs);
    t->bigram_mask = slots - 1;
    return LC_OK;
}

void lc_tok_bigram_add(lc_tokenizer *t, uint32_t a, uint32_t b) { bigram_put(t, ((uint64_t)a << 32 | b) + 1); }

lc_status lc_tok_build_bigrams(lc_tokenizer *t, lc_error *err) {
    size_t pairs = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->mergeable[id]) pairs += t->sym.len[id]; /* >= characters - 1 */
    lc_status st = lc_tok_bigrams_alloc(t, pairs, err);
    if (st != LC_OK) return st;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->mergeable[id]) continue;
        const char *p = lc_tok_strtab_str(&t->sym, id);
        size_t n = t->sym.len[id], i = 0;
        uint32_t prev = 0;
        while (i < n) {
            size_t l = lc_tok_utf8_unit_len((const unsigned char *)p + i, n - i);
            uint32_t k = lc_tok_unit_key(p + i, l);
            if (i > 0) bigram_put(t, ((uint64_t)prev << 32 | k) + 1);
            prev = k;
            i += l;
        }
    }
    return LC_OK;
}

/* ---- encoding ---------------------------------------------------------------- */

typedef struct {
    const lc_tokenizer *t;
    const char *norm;
    lc_tok_sym *sym;  /* one segment's characters */
    size_t sym_cap;
    lc_tok_heap heap;
} spm_state;

static lc_status try_pair(spm_state *s, int32_t left, int32_t right, lc_error *err) {
    if (left < 0 || right < 0) return LC_OK;
    const lc_tok_sym *l = &s->sym[left], *r = &s->sym[right];
    size_t size = (size_t)l->len + (size_t)r->len;
    if (size > s->t->max_piece) return LC_OK;
    int32_t id = lc_tok_strtab_find(&s->t->sym, s->norm + l->start, size);
    if (id < 0 || id >= s->t->n_vocab || !s->t->mergeable[id]) return LC_OK;
    lc_tok_cand c = {-s->t->scores[id], left, (int32_t)size, id};
    return lc_tok_heap_push(&s->heap, &c, err);
}

/* Merge and emit the characters of norm[start, end). */
static lc_status encode_segment(spm_state *s, size_t start, size_t end, lc_tok_out *o, lc_error *err) {
    const lc_tokenizer *t = s->t;
    const char *norm = s->norm;
    size_t n = 0;
    for (size_t p = start; p < end; n++) {
        if (n == s->sym_cap) {
            size_t cap = s->sym_cap ? 2 * s->sym_cap : 256; /* <= 3 x LC_TOK_MAX_TEXT */
            lc_tok_sym *sym = realloc(s->sym, cap * sizeof *sym);
            if (!sym) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu symbols", cap);
            s->sym = sym;
            s->sym_cap = cap;
        }
        size_t ul = lc_tok_utf8_unit_len((const unsigned char *)norm + p, end - p);
        s->sym[n] = (lc_tok_sym){(int64_t)p, (int32_t)ul, (int32_t)n - 1, -1, -1};
        if (n > 0) s->sym[n - 1].next = (int32_t)n;
        p += ul;
    }
    lc_status st;
    s->heap.n = 0;
    for (size_t i = 1; i < n; i++)
        if ((st = try_pair(s, (int32_t)i - 1, (int32_t)i, err)) != LC_OK) return st;
    lc_tok_cand c;
    while (lc_tok_heap_pop(&s->heap, &c)) {
        if (!lc_tok_cand_valid(s->sym, &c)) continue;
        lc_tok_sym_merge(s->sym, &c);
        if ((st = try_pair(s, s->sym[c.left].prev, c.left, err)) != LC_OK) return st;
        if ((st = try_pair(s, c.left, s->sym[c.left].next, err)) != LC_OK) return st;
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = s->sym[i].next) {
        const lc_tok_sym *y = &s->sym[i];
        int32_t id = y->id;
        if (id < 0) {
            id = lc_tok_strtab_find(&t->sym, norm + y->start, (size_t)y->len);
            if (id >= t->n_vocab || (id >= 0 && !t->mergeable[id])) id = -1;
        }
        if (id >= 0) lc_tok_push(o, id);
        else if ((st = lc_tok_emit_bytes(t, (const unsigned char *)norm + y->start, (size_t)y->len, o, err)) != LC_OK)
            return st;
    }
    return LC_OK;
}

/* A segment through the word cache (when there is one and it is short). */
static lc_status cached_segment(spm_state *s, lc_tok_cache *cache, size_t start, size_t end, lc_tok_out *o,
                                lc_error *err) {
    size_t len = end - start;
    if (!cache->slots || len > LC_TOK_CACHE_MAX_WORD) return encode_segment(s, start, end, o, err);
    uint64_t h = lc_tok_hash(s->norm + start, len);
    uint32_t n;
    const int32_t *hit = lc_tok_cache_get(cache, (int64_t)start, (uint32_t)len, h, &n);
    if (hit) {
        for (uint32_t i = 0; i < n; i++) lc_tok_push(o, hit[i]);
        return LC_OK;
    }
    /* at most one id per byte of the segment */
    int32_t tmp[LC_TOK_CACHE_MAX_WORD];
    lc_tok_out local = {tmp, LC_TOK_CACHE_MAX_WORD, 0};
    lc_status st = encode_segment(s, start, end, &local, err);
    if (st != LC_OK) return st;
    if (local.n > local.cap) return lc_fail(err, LC_ERR_INTERNAL, "tokenizer: %lld ids for a %zu-byte word", (long long)local.n, len);
    for (int64_t i = 0; i < local.n; i++) lc_tok_push(o, tmp[i]);
    lc_tok_cache_put(cache, (int64_t)start, (uint32_t)len, h, tmp, (uint32_t)local.n);
    return LC_OK;
}

lc_status lc_tok_spm_encode(const lc_tokenizer *t, const char *text, size_t len, bool use_cache, lc_tok_out *o,
                            lc_error *err) {
    /* 1. normalise */
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    size_t nlen = len + 2 * spaces + (t->add_space_prefix ? 3 : 0); /* < 2^31: len <= LC_TOK_MAX_TEXT */
    char *norm = malloc(nlen);
    if (!norm) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", nlen);
    size_t w = 0;
    if (t->add_space_prefix) memcpy(norm, SPACE_MARK, 3), w = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(norm + w, SPACE_MARK, 3), w += 3;
        else norm[w++] = text[i];
    }
    /* 2-4. cut where no piece spans the boundary, merge each segment */
    spm_state s = {t, norm, NULL, 0, {0}};
    lc_tok_cache cache = {0};
    lc_status st = lc_tok_heap_init(&s.heap, 256, err);
    if (st == LC_OK && use_cache) st = lc_tok_cache_init(&cache, norm, err);
    size_t seg = 0;
    uint32_t prev = 0;
    for (size_t p = 0; st == LC_OK && p < nlen;) {
        size_t ul = lc_tok_utf8_unit_len((const unsigned char *)norm + p, nlen - p);
        uint32_t k = lc_tok_unit_key(norm + p, ul);
        if (p > seg && !lc_tok_bigram_has(t, prev, k)) {
            st = cached_segment(&s, &cache, seg, p, o, err);
            seg = p;
        }
        prev = k;
        p += ul;
    }
    if (st == LC_OK && seg < nlen) st = cached_segment(&s, &cache, seg, nlen, o, err);
    lc_tok_cache_free(&cache);
    lc_tok_heap_free(&s.heap);
    free(s.sym);
    free(norm);
    return st;
}
