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
 * each merge pushes at most two new ones).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/merge_heap.h"
#include "tokenizer/unicode.h"

static const char SPACE_MARK[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 */

typedef struct {
    const lc_tokenizer *t;
    const char *norm;
    lc_tok_sym *sym;
    lc_tok_heap heap;
} spm_state;

static lc_status try_pair(spm_state *s, int32_t left, int32_t right, lc_error *err) {
    if (left < 0 || right < 0) return LC_OK;
    const lc_tok_sym *l = &s->sym[left], *r = &s->sym[right];
    size_t size = (size_t)l->len + (size_t)r->len;
    if (size > s->t->max_piece) return LC_OK;
    int32_t id = lc_tok_strtab_find(&s->t->sym, s->norm + l->start, size);
    if (id < 0 || id >= s->t->n_vocab || !s->t->mergeable[id]) return LC_OK;
    lc_tok_cand c = {-(double)s->t->scores[id], left, right, (int32_t)size, id};
    return lc_tok_heap_push(&s->heap, &c, err);
}

lc_status lc_tok_spm_encode(const lc_tokenizer *t, const char *text, size_t len, lc_tok_out *o, lc_error *err) {
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

    /* 2. characters */
    size_t nchar = 0;
    for (size_t i = 0; i < nlen; i += lc_tok_utf8_unit_len((const unsigned char *)norm + i, nlen - i)) nchar++;
    spm_state s = {t, norm, malloc(nchar * sizeof(lc_tok_sym)), {0}};
    lc_status st = LC_OK;
    if (!s.sym) {
        st = lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu symbols", nchar);
        goto done;
    }
    if ((st = lc_tok_heap_init(&s.heap, nchar, err)) != LC_OK) goto done;
    size_t pos = 0;
    for (size_t i = 0; i < nchar; i++) {
        size_t ul = lc_tok_utf8_unit_len((const unsigned char *)norm + pos, nlen - pos);
        s.sym[i] = (lc_tok_sym){(int64_t)pos, (int32_t)ul, (int32_t)i - 1, i + 1 < nchar ? (int32_t)i + 1 : -1, -1};
        pos += ul;
    }

    /* 3. merge by score */
    for (size_t i = 1; i < nchar; i++)
        if ((st = try_pair(&s, (int32_t)i - 1, (int32_t)i, err)) != LC_OK) goto done;
    lc_tok_cand c;
    while (lc_tok_heap_pop(&s.heap, &c)) {
        if (!lc_tok_cand_valid(s.sym, &c)) continue;
        lc_tok_sym_merge(s.sym, &c);
        if ((st = try_pair(&s, s.sym[c.left].prev, c.left, err)) != LC_OK) goto done;
        if ((st = try_pair(&s, c.left, s.sym[c.left].next, err)) != LC_OK) goto done;
    }

    /* 4. pieces or byte fallback */
    for (int32_t i = nchar ? 0 : -1; i >= 0; i = s.sym[i].next) {
        const lc_tok_sym *y = &s.sym[i];
        int32_t id = y->id;
        if (id < 0) {
            id = lc_tok_strtab_find(&t->sym, norm + y->start, (size_t)y->len);
            if (id >= t->n_vocab || (id >= 0 && !t->mergeable[id])) id = -1;
        }
        if (id >= 0) lc_tok_push(o, id);
        else if ((st = lc_tok_emit_bytes(t, (const unsigned char *)norm + y->start, (size_t)y->len, o, err)) != LC_OK)
            goto done;
    }
done:
    lc_tok_heap_free(&s.heap);
    free(s.sym);
    free(norm);
    return st;
}
