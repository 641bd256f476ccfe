/*
 * Byte-level BPE encoding (GPT-2, llama-3, qwen2, ...), as llama.cpp's
 * llm_tokenizer_bpe:
 *
 *   1. pre-tokenise the text into words (pretokenize.c);
 *   2. in each word, every byte becomes the symbol of its GPT-2 character
 *      (byte 0x20 -> "Ġ", U+0120);
 *   3. repeatedly merge the adjacent pair with the lowest merge rank
 *      (tokenizer.ggml.merges order), leftmost on ties;
 *   4. every symbol that is a vocabulary piece becomes its token; a symbol
 *      that is not (possible only with inconsistent merges) becomes one token
 *      per byte.
 *
 *   word     " the"  -> symbols Ġ t h e -> merges "Ġ t", "h e", "Ġt he" -> "Ġthe"
 *
 * Symbols are ids: vocabulary ids, or helper ids past n_vocab for merge
 * halves that are not pieces, so merging is hash lookups on id pairs.
 * llama-3 ("llama-bpe") takes a word that is itself a piece whole, without
 * merging (llama.cpp's ignore_merges), as tiktoken does.
 *
 * Gemma 4's vocabulary (tokenizer.ggml.model "gemma4") is BPE over raw UTF-8
 * instead: spaces become "▁" first, the words are lines and runs of newlines,
 * the first symbols are the UTF-8 characters (a character that is no symbol
 * at all cannot merge), and what is left unmerged falls back to <0xNN>
 * tokens; a run of newlines that is a piece is taken whole.
 *
 * User-defined tokens found in the text (user_tokens.c) are emitted as they
 * are; the text between them is encoded as above.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/merge_heap.h"
#include "tokenizer/unicode.h"
#include "tokenizer/word_cache.h"

typedef struct {
    const lc_tokenizer *t;
    lc_tok_sym *sym;
    size_t sym_cap;
    char *mapped; /* [2 * sym_cap] the word in GPT-2 characters (llama-3 only) */
    lc_tok_heap heap;
} bpe_state;

static lc_status try_pair(bpe_state *s, int32_t left, int32_t right, lc_error *err) {
    if (left < 0 || right < 0 || s->sym[left].id < 0 || s->sym[right].id < 0) return LC_OK;
    const lc_tok_pair_slot *m = lc_tok_pairmap_get(&s->t->merge_map, s->sym[left].id, s->sym[right].id);
    if (!m) return LC_OK;
    lc_tok_cand c = {(float)m->rank, left, s->sym[left].len + s->sym[right].len, m->result};
    return lc_tok_heap_push(&s->heap, &c, err);
}

static lc_status reserve(bpe_state *s, size_t n, lc_error *err) {
    if (n <= s->sym_cap) return LC_OK;
    size_t cap = s->sym_cap ? s->sym_cap : 64;
    while (cap < n) cap *= 2; /* n <= LC_TOK_MAX_TEXT */
    lc_tok_sym *sym = realloc(s->sym, cap * sizeof *sym);
    if (!sym) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for a word of %zu bytes", n);
    s->sym = sym;
    if (s->t->ignore_merges) {
        char *m = realloc(s->mapped, 2 * cap);
        if (!m) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for a word of %zu bytes", n);
        s->mapped = m;
    }
    s->sym_cap = cap;
    return LC_OK;
}

/* Emit symbol (vocab id or helper) covering word[0..len). */
static lc_status emit(const lc_tokenizer *t, int32_t id, const unsigned char *word, size_t len, lc_tok_out *o,
                      lc_error *err) {
    if (id >= 0 && id < t->n_vocab) {
        lc_tok_push(o, id);
        return LC_OK;
    }
    return lc_tok_emit_bytes(t, word, len, o, err);
}

/* Gemma 4: the first symbols are the word's UTF-8 characters; returns their count. */
static size_t char_symbols(bpe_state *s, const unsigned char *w, size_t n) {
    const lc_tokenizer *t = s->t;
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        size_t l = lc_tok_utf8_unit_len(w + i, n - i);
        int32_t id = lc_tok_strtab_find(&t->sym, (const char *)w + i, l);
        s->sym[k] = (lc_tok_sym){(int64_t)i, (int32_t)l, (int32_t)k - 1, -1, id};
        if (k > 0) s->sym[k - 1].next = (int32_t)k;
        i += l;
    }
    return k;
}

static bool all_newlines(const unsigned char *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (w[i] != '\n') return false;
    return true;
}

static lc_status encode_word(bpe_state *s, const unsigned char *w, size_t n, lc_tok_out *o, lc_error *err) {
    const lc_tokenizer *t = s->t;
    if (n == 1 && t->byte_encode) return emit(t, t->byte_sym[w[0]], w, 1, o, err);
    lc_status st = reserve(s, n, err);
    if (st != LC_OK) return st;
    if (t->ignore_merges) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp(w[i]), s->mapped + m);
        int32_t id = lc_tok_strtab_find(&t->sym, s->mapped, m);
        if (id >= 0 && id < t->n_vocab) {
            lc_tok_push(o, id);
            return LC_OK;
        }
    }
    size_t ns = n;
    if (t->byte_encode) {
        for (size_t i = 0; i < n; i++)
            s->sym[i] = (lc_tok_sym){(int64_t)i, 1, (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, t->byte_sym[w[i]]};
    } else {
        ns = char_symbols(s, w, n);
    }
    s->heap.n = 0;
    for (size_t i = 1; i < ns; i++)
        if ((st = try_pair(s, (int32_t)i - 1, (int32_t)i, err)) != LC_OK) return st;
    lc_tok_cand c;
    while (lc_tok_heap_pop(&s->heap, &c)) {
        if (!lc_tok_cand_valid(s->sym, &c)) continue;
        lc_tok_sym_merge(s->sym, &c);
        if ((st = try_pair(s, s->sym[c.left].prev, c.left, err)) != LC_OK) return st;
        if ((st = try_pair(s, c.left, s->sym[c.left].next, err)) != LC_OK) return st;
    }
    for (int32_t i = 0; i >= 0; i = s->sym[i].next)
        if ((st = emit(t, s->sym[i].id, w + s->sym[i].start, (size_t)s->sym[i].len, o, err)) != LC_OK) return st;
    return LC_OK;
}

/* A word through the word cache (when there is one and the word is short). */
static lc_status cached_word(bpe_state *s, lc_tok_cache *cache, const char *text, size_t pos, size_t n, lc_tok_out *o,
                             lc_error *err) {
    const unsigned char *w = (const unsigned char *)text + pos;
    if (!cache->slots || n > LC_TOK_CACHE_MAX_WORD || n == 1) return encode_word(s, w, n, o, err);
    uint64_t h = lc_tok_hash(text + pos, n);
    uint32_t k;
    const int32_t *hit = lc_tok_cache_get(cache, (int64_t)pos, (uint32_t)n, h, &k);
    if (hit) {
        for (uint32_t i = 0; i < k; i++) lc_tok_push(o, hit[i]);
        return LC_OK;
    }
    /* at most one id per byte of the word */
    int32_t tmp[LC_TOK_CACHE_MAX_WORD];
    lc_tok_out local = {tmp, LC_TOK_CACHE_MAX_WORD, 0};
    lc_status st = encode_word(s, w, n, &local, err);
    if (st != LC_OK) return st;
    if (local.n > local.cap) return lc_fail(err, LC_ERR_INTERNAL, "tokenizer: %lld ids for a %zu-byte word", (long long)local.n, n);
    for (int64_t i = 0; i < local.n; i++) lc_tok_push(o, tmp[i]);
    lc_tok_cache_put(cache, (int64_t)pos, (uint32_t)n, h, tmp, (uint32_t)local.n);
    return LC_OK;
}

/* Gemma 4: a run of newlines that is a piece is taken whole; other words are
 * cut between two characters that no merge joins (the last character of a
 * merge's left half and the first of its right half never are that pair), and
 * the segments merged on their own: the same result, since merges in
 * different segments never meet, with short heaps and cache hits instead of
 * a heap over a whole line. */
static lc_status raw_word(bpe_state *s, lc_tok_cache *cache, const char *text, size_t pos, size_t n, lc_tok_out *o,
                          lc_error *err) {
    const lc_tokenizer *t = s->t;
    const unsigned char *w = (const unsigned char *)text + pos;
    if (all_newlines(w, n)) {
        int32_t id = lc_tok_strtab_find(&t->sym, (const char *)w, n);
        if (id >= 0 && id < t->n_vocab) {
            lc_tok_push(o, id);
            return LC_OK;
        }
    }
    size_t seg = 0;
    uint32_t prev = 0;
    lc_status st = LC_OK;
    for (size_t p = 0; st == LC_OK && p < n;) {
        size_t ul = lc_tok_utf8_unit_len(w + p, n - p);
        uint32_t k = lc_tok_unit_key((const char *)w + p, ul);
        if (p > seg && !lc_tok_bigram_has(t, prev, k)) {
            st = cached_word(s, cache, text, pos + seg, p - seg, o, err);
            seg = p;
        }
        prev = k;
        p += ul;
    }
    if (st == LC_OK) st = cached_word(s, cache, text, pos + seg, n - seg, o, err);
    return st;
}

/* Encode text[0, len) (no user-defined tokens inside) word by word. */
static lc_status encode_run(bpe_state *s, lc_tok_cache *cache, const char *text, size_t start, size_t end, lc_tok_out *o,
                            lc_error *err) {
    lc_tok_pretok_iter it;
    lc_tok_pretok_begin(&it, s->t->pre, text + start, end - start);
    lc_status st = LC_OK;
    for (size_t pos = start, wl; st == LC_OK && (wl = lc_tok_pretok_iter_next(&it)) != 0; pos += wl)
        st = s->t->byte_encode ? cached_word(s, cache, text, pos, wl, o, err) : raw_word(s, cache, text, pos, wl, o, err);
    return st;
}

/* Gemma 4: the text with every ' ' replaced by "▁" (3 bytes), and the user
 * token spans moved to match. */
static lc_status escape_spaces(const char *text, size_t len, lc_tok_span *spans, size_t n_spans, char **out,
                               size_t *out_len, lc_error *err) {
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++) spaces += text[i] == ' ';
    size_t nlen = len + 2 * spaces; /* len <= LC_TOK_MAX_TEXT: no overflow */
    char *norm = malloc(nlen ? nlen : 1);
    if (!norm) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", nlen);
    for (size_t k = 0; k < n_spans; k++) { /* a piece's own spaces grow too */
        size_t inner = 0;
        for (size_t i = spans[k].start; i < spans[k].start + spans[k].len; i++) inner += text[i] == ' ';
        spans[k].len += 2 * inner;
    }
    size_t w = 0, k = 0;
    for (size_t i = 0; i < len; i++) {
        while (k < n_spans && spans[k].start == i) spans[k++].start = w; /* spans start at distinct offsets */
        if (text[i] == ' ') memcpy(norm + w, "\xE2\x96\x81", 3), w += 3;
        else norm[w++] = text[i];
    }
    *out = norm;
    *out_len = nlen;
    return LC_OK;
}

lc_status lc_tok_bpe_encode(const lc_tokenizer *t, const char *text, size_t len, lc_tok_span *user, size_t n_user,
                            bool use_cache, lc_tok_out *o, lc_error *err) {
    bpe_state s = {t, NULL, 0, NULL, {0}};
    lc_tok_cache cache = {0};
    char *norm = NULL;
    lc_status st = LC_OK;
    if (t->escape_spaces) {
        if ((st = escape_spaces(text, len, user, n_user, &norm, &len, err)) != LC_OK) return st;
        text = norm;
    }
    st = lc_tok_heap_init(&s.heap, 64, err);
    if (st == LC_OK && use_cache) st = lc_tok_cache_init(&cache, text, err);
    size_t pos = 0;
    for (size_t k = 0; st == LC_OK && k <= n_user; k++) {
        size_t end = k < n_user ? user[k].start : len;
        if (end > pos) st = encode_run(&s, &cache, text, pos, end, o, err);
        if (st == LC_OK && k < n_user) {
            lc_tok_push(o, user[k].id);
            pos = end + user[k].len;
        }
    }
    lc_tok_cache_free(&cache);
    lc_tok_heap_free(&s.heap);
    free(s.sym);
    free(s.mapped);
    free(norm);
    return st;
}
