/*
 * Byte-level BPE trainer (GPT-2 style).
 *
 *   1. Pre-tokenise the text with the tokenizer's own pre-tokenizer
 *      (src/tokenizer/pretokenize.c: GPT-2 or llama-3 split), so training
 *      and lc_tokenizer_encode see the same words; count distinct words.
 *   2. Each word starts as its bytes; symbol ids are final token ids (bytes
 *      0..255 in GPT-2 byte-to-unicode order).
 *   3. Count adjacent symbol pairs over the words (times word count); keep,
 *      per pair, the words it occurs in; a max-heap orders pairs by count,
 *      ties by the byte strings of (left, right) (lexicographic, shorter
 *      first), with lazy deletion of stale entries.
 *   4. Repeatedly merge the best pair in every word that holds it (left to
 *      right, as the encoder does), updating only the counts of the pairs
 *      that change; stop at vocab_size tokens or when the best pair occurs
 *      fewer than min_frequency times.
 *
 * A pair whose concatenation already is a token (e.g. "a"+"bc" after
 * "ab"+"c") is never merged, so every merge makes a new token and no pair is
 * merged twice (the encoder then agrees with training). The vocabulary is the
 * 256 byte tokens, the merge results in order, then "<|endoftext|>".
 *
 * Cost: pre-tokenising and counting is linear in the text; each merge costs
 * the occurrences it touches (words holding the pair), so a few MB of text
 * trains in about a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "tokenizer/tokenizer_internal.h"

#define MAX_TEXT ((size_t)1 << 30)
#define ENDOFTEXT "<|endoftext|>"

/* ---- GPT-2 byte-to-unicode ------------------------------------------------ */

static bool byte_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

/* The code point GPT-2 maps byte b to. */
static unsigned byte_codepoint(unsigned b) {
    if (byte_printable(b)) return b;
    unsigned n = 0; /* non-printable bytes before b */
    for (unsigned c = 0; c < b; c++) n += !byte_printable(c);
    return 256 + n;
}

int32_t lc_bpe_byte_rank(uint8_t b) {
    if (b >= 33 && b <= 126) return b - 33;
    if (b >= 161 && b <= 172) return 94 + (b - 161);
    if (b >= 174) return 106 + (b - 174);
    int32_t n = 0;
    for (unsigned c = 0; c < b; c++) n += !byte_printable(c);
    return 188 + n;
}

size_t lc_bpe_byte_to_utf8(uint8_t b, char out[3]) {
    unsigned cp = byte_codepoint(b);
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* ---- Training state ------------------------------------------------------- */

typedef struct {
    int32_t *w; /* word ids, may repeat */
    int32_t n, cap;
} word_list;

typedef struct {
    int64_t count;
    int32_t a, b;
    word_list words;
    bool dirty;
    bool banned; /* its concatenation is already a token */
} pair_stat;

typedef struct {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct {
    /* tokens: bytes of each, id order */
    lc_buf tok_bytes;
    size_t *tok_off;
    uint32_t *tok_len;
    int32_t n_tok, tok_cap;
    lc_strtab tok_index; /* token bytes -> id (to find repeated results) */
    /* words */
    lc_strtab words;
    int64_t *word_count;
    int32_t *sym;        /* all words' symbols, word w at sym[word_off[w]] */
    size_t *word_off;
    int32_t *word_len;
    int32_t *stamp;      /* last merge that visited the word */
    /* pairs */
    pair_stat *pairs;
    int32_t n_pairs, pair_cap;
    uint64_t *pkeys;     /* open addressing: (a << 32 | b) + 1, 0 = empty */
    int32_t *pvals;
    size_t pmask;
    heap_entry *heap;
    size_t heap_n, heap_cap;
    int32_t *dirty;      /* pairs changed by the current merge */
    int32_t n_dirty, dirty_cap;
    /* merges: pairs of token ids, rank order */
    int32_t *merge_l, *merge_r;
    int64_t n_merges, merge_cap;
    bool oom;
} trainer;

struct lc_bpe_model {
    int32_t n_vocab;
    int64_t n_merges;
    lc_buf strings;        /* pieces and merges, NUL separated */
    const char **pieces;   /* [n_vocab] */
    size_t *piece_lens;
    int32_t *types;
    const char **merges;   /* [n_merges] */
    size_t *merge_lens;
    char pre[16];
    int32_t eot;
    int32_t *corpus;       /* [n_corpus] or NULL */
    int64_t n_corpus;
};

static bool grow(void **p, size_t elem, int64_t *cap, int64_t need) {
    if (need <= *cap) return true;
    int64_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    size_t bytes;
    if (!lc_mul_size((size_t)c, elem, &bytes)) return false;
    void *q = realloc(*p, bytes);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static bool grow32(void **p, size_t elem, int32_t *cap, int64_t need) {
    int64_t c = *cap;
    if (need > INT32_MAX) return false;
    bool ok = grow(p, elem, &c, need);
    *cap = (int32_t)c;
    return ok;
}

static int32_t add_token(trainer *t, const char *bytes, size_t len) {
    if (!grow32((void **)&t->tok_off, sizeof *t->tok_off, &t->tok_cap, t->n_tok + 1)) return -1;
    int32_t cap2 = t->tok_cap;
    uint32_t *tl = realloc(t->tok_len, (size_t)cap2 * sizeof *tl);
    if (!tl) return -1;
    t->tok_len = tl;
    t->tok_off[t->n_tok] = t->tok_bytes.len;
    t->tok_len[t->n_tok] = (uint32_t)len;
    lc_buf_put(&t->tok_bytes, bytes, len);
    if (t->tok_bytes.failed) return -1;
    bool added;
    if (lc_strtab_add(&t->tok_index, bytes, len, &added) < 0) return -1;
    return t->n_tok++;
}

static const char *tok_str(const trainer *t, int32_t id) { return t->tok_bytes.p + t->tok_off[id]; }

/* Byte order of (left, right) token strings: the tie-break. */
static int cmp_pair_bytes(const trainer *t, int32_t p, int32_t q) {
    const pair_stat *x = &t->pairs[p], *y = &t->pairs[q];
    for (int side = 0; side < 2; side++) {
        int32_t a = side ? x->b : x->a, b = side ? y->b : y->a;
        if (a == b) continue;
        size_t la = t->tok_len[a], lb = t->tok_len[b];
        int c = memcmp(tok_str(t, a), tok_str(t, b), LC_MIN(la, lb));
        if (c) return c;
        if (la != lb) return la < lb ? -1 : 1;
    }
    return 0;
}

/* Heap order: larger count first, then smaller byte strings. */
static bool heap_before(const trainer *t, const heap_entry *x, const heap_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    return cmp_pair_bytes(t, x->pair, y->pair) < 0;
}

static void heap_push(trainer *t, int32_t pair) {
    int64_t cap = (int64_t)t->heap_cap;
    if (!grow((void **)&t->heap, sizeof *t->heap, &cap, (int64_t)t->heap_n + 1)) {
        t->oom = true;
        return;
    }
    t->heap_cap = (size_t)cap;
    heap_entry e = {t->pairs[pair].count, pair};
    size_t i = t->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_before(t, &e, &t->heap[parent])) break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
}

static heap_entry heap_pop(trainer *t) {
    heap_entry top = t->heap[0], last = t->heap[--t->heap_n];
    size_t i = 0, n = t->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(t, &t->heap[c + 1], &t->heap[c])) c++;
        if (!heap_before(t, &t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n > 0) t->heap[i] = last;
    return top;
}

static uint64_t pair_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return key;
}

static bool pmap_rehash(trainer *t, size_t n_slots) {
    uint64_t *keys = calloc(n_slots, sizeof *keys);
    int32_t *vals = malloc(n_slots * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (int32_t p = 0; p < t->n_pairs; p++) {
        uint64_t key = ((uint64_t)(uint32_t)t->pairs[p].a << 32 | (uint32_t)t->pairs[p].b) + 1;
        size_t i = (size_t)pair_hash(key) & (n_slots - 1);
        while (keys[i]) i = (i + 1) & (n_slots - 1);
        keys[i] = key;
        vals[i] = p;
    }
    free(t->pkeys);
    free(t->pvals);
    t->pkeys = keys;
    t->pvals = vals;
    t->pmask = n_slots - 1;
    return true;
}

/* The pair (a, b), created with count 0 if new; -1 on allocation failure. */
static int32_t pair_get(trainer *t, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    if (t->pkeys) {
        for (size_t i = (size_t)pair_hash(key) & t->pmask; t->pkeys[i]; i = (i + 1) & t->pmask)
            if (t->pkeys[i] == key) return t->pvals[i];
    }
    if ((size_t)(t->n_pairs + 1) * 2 > t->pmask + 1 || !t->pkeys) {
        if (!pmap_rehash(t, t->pkeys ? (t->pmask + 1) * 2 : 1 << 16)) return -1;
    }
    if (!grow32((void **)&t->pairs, sizeof *t->pairs, &t->pair_cap, (int64_t)t->n_pairs + 1)) return -1;
    int32_t p = t->n_pairs++;
    memset(&t->pairs[p], 0, sizeof t->pairs[p]);
    t->pairs[p].a = a;
    t->pairs[p].b = b;
    size_t i = (size_t)pair_hash(key) & t->pmask;
    while (t->pkeys[i]) i = (i + 1) & t->pmask;
    t->pkeys[i] = key;
    t->pvals[i] = p;
    return p;
}

static void mark_dirty(trainer *t, int32_t p) {
    if (t->pairs[p].dirty) return;
    if (!grow32((void **)&t->dirty, sizeof *t->dirty, &t->dirty_cap, (int64_t)t->n_dirty + 1)) {
        t->oom = true;
        return;
    }
    t->pairs[p].dirty = true;
    t->dirty[t->n_dirty++] = p;
}

/* count(a, b) += delta for word w (recorded in the pair's word list). */
static void pair_add(trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w) {
    int32_t p = pair_get(t, a, b);
    if (p < 0) {
        t->oom = true;
        return;
    }
    pair_stat *s = &t->pairs[p];
    s->count += delta;
    if (delta > 0 && (s->words.n == 0 || s->words.w[s->words.n - 1] != w)) {
        if (!grow32((void **)&s->words.w, sizeof *s->words.w, &s->words.cap, (int64_t)s->words.n + 1)) {
            t->oom = true;
            return;
        }
        s->words.w[s->words.n++] = w;
    }
    mark_dirty(t, p);
}

static void flush_dirty(trainer *t) {
    for (int32_t i = 0; i < t->n_dirty; i++) {
        int32_t p = t->dirty[i];
        t->pairs[p].dirty = false;
        if (t->pairs[p].count > 0 && !t->pairs[p].banned) heap_push(t, p);
    }
    t->n_dirty = 0;
}

/* Merge (a, b) -> c in every word holding it. */
static void apply_merge(trainer *t, int32_t pair, int32_t c, int32_t merge_no) {
    int32_t a = t->pairs[pair].a, b = t->pairs[pair].b;
    word_list wl = t->pairs[pair].words; /* the list may grow while we walk it: walk a snapshot */
    t->pairs[pair].words.w = NULL;
    t->pairs[pair].words.n = t->pairs[pair].words.cap = 0;
    for (int32_t k = 0; k < wl.n; k++) {
        int32_t w = wl.w[k];
        if (t->stamp[w] == merge_no) continue;
        t->stamp[w] = merge_no;
        int32_t *s = t->sym + t->word_off[w];
        int32_t n = t->word_len[w];
        int64_t cnt = t->word_count[w];
        for (int32_t i = 0; i + 1 < n; i++) {
            if (s[i] != a || s[i + 1] != b) continue;
            if (i > 0) pair_add(t, s[i - 1], a, -cnt, w);
            if (i + 2 < n) pair_add(t, b, s[i + 2], -cnt, w);
            pair_add(t, a, b, -cnt, w);
            s[i] = c;
            memmove(s + i + 1, s + i + 2, (size_t)(n - i - 2) * sizeof *s);
            n--;
            if (i > 0) pair_add(t, s[i - 1], c, cnt, w);
            if (i + 1 < n) pair_add(t, c, s[i + 1], cnt, w);
        }
        t->word_len[w] = n;
    }
    free(wl.w);
    flush_dirty(t);
}

static void trainer_free(trainer *t) {
    lc_buf_free(&t->tok_bytes);
    free(t->tok_off);
    free(t->tok_len);
    lc_strtab_free(&t->tok_index);
    lc_strtab_free(&t->words);
    free(t->word_count);
    free(t->sym);
    free(t->word_off);
    free(t->word_len);
    free(t->stamp);
    for (int32_t p = 0; p < t->n_pairs; p++) free(t->pairs[p].words.w);
    free(t->pairs);
    free(t->pkeys);
    free(t->pvals);
    free(t->heap);
    free(t->dirty);
    free(t->merge_l);
    free(t->merge_r);
}

/* ---- The model ------------------------------------------------------------ */

void lc_bpe_train_params_init(lc_bpe_train_params *p, int32_t vocab_size) {
    memset(p, 0, sizeof *p);
    p->vocab_size = vocab_size;
    p->min_frequency = 2;
    p->pre = "gpt2";
    p->keep_corpus_ids = false;
}

void lc_bpe_model_free(lc_bpe_model *m) {
    if (!m) return;
    lc_buf_free(&m->strings);
    free(m->pieces);
    free(m->piece_lens);
    free(m->types);
    free(m->merges);
    free(m->merge_lens);
    free(m->corpus);
    free(m);
}

int32_t lc_bpe_model_n_vocab(const lc_bpe_model *m) { return m ? m->n_vocab : 0; }
int64_t lc_bpe_model_n_merges(const lc_bpe_model *m) { return m ? m->n_merges : 0; }

const int32_t *lc_bpe_model_corpus_ids(const lc_bpe_model *m, int64_t *n) {
    if (n) *n = m && m->corpus ? m->n_corpus : 0;
    return m ? m->corpus : NULL;
}

void lc_bpe_model_desc(const lc_bpe_model *m, lc_tokenizer_desc *d) {
    memset(d, 0, sizeof *d);
    d->kind = LC_TOKENIZER_BPE;
    d->n_vocab = m->n_vocab;
    d->pieces = m->pieces;
    d->piece_lens = m->piece_lens;
    d->scores = NULL;
    d->types = m->types;
    d->merges = m->merges;
    d->merge_lens = m->merge_lens;
    d->n_merges = m->n_merges;
    d->pre = m->pre;
    d->bos_id = m->eot;
    d->eos_id = m->eot;
    d->unk_id = -1;
    d->pad_id = -1;
    d->add_bos = false;
    d->add_space_prefix = false;
}

/* Append the GPT-2 mapped text of bytes s[0..n) to b. */
static void put_mapped(lc_buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char u[3];
        lc_buf_put(b, u, lc_bpe_byte_to_utf8((uint8_t)s[i], u));
    }
}

static lc_status build_model(trainer *t, const char *pre, lc_bpe_model **out, lc_error *err) {
    lc_bpe_model *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(err, LC_ERR_NOMEM, "BPE trainer: out of memory");
    m->n_vocab = t->n_tok + 1;
    m->n_merges = t->n_merges;
    m->eot = t->n_tok;
    snprintf(m->pre, sizeof m->pre, "%s", pre);
    size_t *poff = malloc((size_t)m->n_vocab * sizeof *poff);
    size_t *moff = malloc((size_t)LC_MAX(m->n_merges, 1) * sizeof *moff);
    m->pieces = malloc((size_t)m->n_vocab * sizeof *m->pieces);
    m->piece_lens = malloc((size_t)m->n_vocab * sizeof *m->piece_lens);
    m->types = malloc((size_t)m->n_vocab * sizeof *m->types);
    m->merges = malloc((size_t)LC_MAX(m->n_merges, 1) * sizeof *m->merges);
    m->merge_lens = malloc((size_t)LC_MAX(m->n_merges, 1) * sizeof *m->merge_lens);
    if (!poff || !moff || !m->pieces || !m->piece_lens || !m->types || !m->merges || !m->merge_lens) goto oom;
    for (int32_t i = 0; i < t->n_tok; i++) {
        poff[i] = m->strings.len;
        put_mapped(&m->strings, tok_str(t, i), t->tok_len[i]);
        m->piece_lens[i] = m->strings.len - poff[i];
        lc_buf_put(&m->strings, "", 1);
        m->types[i] = LC_TOKEN_NORMAL;
    }
    poff[t->n_tok] = m->strings.len;
    lc_buf_puts(&m->strings, ENDOFTEXT);
    m->piece_lens[t->n_tok] = strlen(ENDOFTEXT);
    lc_buf_put(&m->strings, "", 1);
    m->types[t->n_tok] = LC_TOKEN_CONTROL;
    for (int64_t i = 0; i < t->n_merges; i++) {
        moff[i] = m->strings.len;
        put_mapped(&m->strings, tok_str(t, t->merge_l[i]), t->tok_len[t->merge_l[i]]);
        lc_buf_put(&m->strings, " ", 1);
        put_mapped(&m->strings, tok_str(t, t->merge_r[i]), t->tok_len[t->merge_r[i]]);
        m->merge_lens[i] = m->strings.len - moff[i];
        lc_buf_put(&m->strings, "", 1);
    }
    if (m->strings.failed) goto oom;
    for (int32_t i = 0; i < m->n_vocab; i++) m->pieces[i] = m->strings.p + poff[i];
    for (int64_t i = 0; i < m->n_merges; i++) m->merges[i] = m->strings.p + moff[i];
    free(poff);
    free(moff);
    *out = m;
    return LC_OK;
oom:
    free(poff);
    free(moff);
    lc_bpe_model_free(m);
    return lc_fail(err, LC_ERR_NOMEM, "BPE trainer: out of memory");
}

lc_status lc_bpe_train(const char *text, size_t len, const lc_bpe_train_params *p, lc_bpe_model **out,
                       lc_error *err) {
    if (!p || !out || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_bpe_train: NULL argument");
    *out = NULL;
    if (p->vocab_size < 257 || p->vocab_size > (1 << 24))
        return lc_fail(err, LC_ERR_INVALID_ARG, "BPE trainer: vocabulary size %d outside 257..%d (256 bytes + "
                                                "<|endoftext|> at least)",
                       (int)p->vocab_size, 1 << 24);
    if (p->min_frequency < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "BPE trainer: min_frequency must be >= 1");
    lc_pre_kind pre;
    const char *pre_name = p->pre ? p->pre : "gpt2";
    if (strcmp(pre_name, "gpt2") == 0) pre = LC_PRE_GPT2;
    else if (strcmp(pre_name, "llama-bpe") == 0) pre = LC_PRE_LLAMA3;
    else return lc_fail(err, LC_ERR_INVALID_ARG, "BPE trainer: unknown pre-tokenizer '%s' (gpt2, llama-bpe)", pre_name);
    if (len > MAX_TEXT) return lc_fail(err, LC_ERR_TOO_LARGE, "BPE trainer: %zu bytes of text (at most 1 GiB)", len);
    /* worst case ~ 48 bytes of state per byte of text (all words distinct) */
    size_t avail = lc_mem_available_bytes();
    if (avail && (uint64_t)len * 48 > avail)
        return lc_fail(err, LC_ERR_TOO_LARGE, "BPE trainer: %zu bytes of text may need %zu MiB, more than the %zu MiB available",
                       len, (len * 48) >> 20, avail >> 20);

    trainer t;
    memset(&t, 0, sizeof t);
    lc_status st = LC_OK;
    int32_t *corpus_words = NULL;
    int64_t n_corpus_words = 0, corpus_cap = 0;
    /* 1. byte tokens in GPT-2 order */
    for (int r = 0; r < 256; r++) {
        for (int b = 0; b < 256; b++)
            if (lc_bpe_byte_rank((uint8_t)b) == r) {
                char c = (char)b;
                if (add_token(&t, &c, 1) < 0) goto oom;
            }
    }
    /* 2. words */
    int64_t wcap = 0;
    for (size_t pos = 0; pos < len;) {
        size_t n = lc_tok_pretok_next(pre, text, len, pos);
        if (n == 0 || n > len - pos) n = 1; /* never stall */
        bool added;
        int32_t w = lc_strtab_add(&t.words, text + pos, n, &added);
        if (w < 0) goto oom;
        if (added) {
            if (!grow((void **)&t.word_count, sizeof *t.word_count, &wcap, (int64_t)w + 1)) goto oom;
            t.word_count[w] = 0;
        }
        t.word_count[w]++;
        if (p->keep_corpus_ids) {
            if (!grow((void **)&corpus_words, sizeof *corpus_words, &corpus_cap, n_corpus_words + 1)) goto oom;
            corpus_words[n_corpus_words++] = w;
        }
        pos += n;
        if (p->progress && (pos & 0xFFFFF) < n && !p->progress(p->progress_user, (double)pos, (double)len, "pre-tokenising")) {
            st = lc_fail(err, LC_ERR_CANCELLED, "BPE trainer: cancelled");
            goto done;
        }
    }
    int32_t n_words = (int32_t)t.words.n;
    t.word_off = malloc(((size_t)n_words + 1) * sizeof *t.word_off);
    t.word_len = malloc(((size_t)n_words + 1) * sizeof *t.word_len);
    t.stamp = malloc(((size_t)n_words + 1) * sizeof *t.stamp);
    size_t total_syms = 0;
    for (int32_t w = 0; w < n_words; w++) total_syms += t.words.len[w];
    t.sym = malloc((total_syms + 1) * sizeof *t.sym);
    if (!t.word_off || !t.word_len || !t.stamp || !t.sym) goto oom;
    size_t o = 0;
    for (int32_t w = 0; w < n_words; w++) {
        const char *s = lc_strtab_str(&t.words, w);
        t.word_off[w] = o;
        t.word_len[w] = (int32_t)t.words.len[w];
        t.stamp[w] = -1;
        for (uint32_t i = 0; i < t.words.len[w]; i++) t.sym[o++] = lc_bpe_byte_rank((uint8_t)s[i]);
    }
    /* 3. pair counts */
    for (int32_t w = 0; w < n_words; w++) {
        const int32_t *s = t.sym + t.word_off[w];
        for (int32_t i = 0; i + 1 < t.word_len[w]; i++) pair_add(&t, s[i], s[i + 1], t.word_count[w], w);
        if (t.oom) goto oom;
    }
    flush_dirty(&t);
    if (t.oom) goto oom;
    /* 4. merges */
    int32_t target_tokens = p->vocab_size - 1; /* <|endoftext|> comes last */
    while (t.n_tok < target_tokens && t.heap_n > 0) {
        heap_entry e = heap_pop(&t);
        pair_stat *ps = &t.pairs[e.pair];
        if (e.count != ps->count || ps->count <= 0 || ps->banned) continue; /* stale */
        if (ps->count < p->min_frequency) break;
        size_t la = t.tok_len[ps->a], lb = t.tok_len[ps->b];
        char small[256];
        char *cat = la + lb <= sizeof small ? small : malloc(la + lb);
        if (!cat) goto oom;
        memcpy(cat, tok_str(&t, ps->a), la);
        memcpy(cat + la, tok_str(&t, ps->b), lb);
        int32_t c = lc_strtab_find(&t.tok_index, cat, la + lb);
        if (c >= 0) { /* already a token: never merge this pair */
            if (cat != small) free(cat);
            ps->banned = true;
            continue;
        }
        c = add_token(&t, cat, la + lb);
        if (cat != small) free(cat);
        if (c < 0) goto oom;
        if (!grow((void **)&t.merge_l, sizeof *t.merge_l, &t.merge_cap, t.n_merges + 1)) goto oom;
        int64_t mcap = t.merge_cap;
        int32_t *mr = realloc(t.merge_r, (size_t)mcap * sizeof *mr);
        if (!mr) goto oom;
        t.merge_r = mr;
        t.merge_l[t.n_merges] = ps->a;
        t.merge_r[t.n_merges] = ps->b;
        t.n_merges++;
        if (t.n_merges >= INT32_MAX) break;
        apply_merge(&t, e.pair, c, (int32_t)t.n_merges);
        if (t.oom) goto oom;
        if (p->progress && (t.n_merges & 63) == 0 &&
            !p->progress(p->progress_user, (double)t.n_tok, (double)target_tokens, "merging")) {
            st = lc_fail(err, LC_ERR_CANCELLED, "BPE trainer: cancelled");
            goto done;
        }
    }
    lc_bpe_model *m = NULL;
    if ((st = build_model(&t, pre_name, &m, err)) != LC_OK) goto done;
    if (p->keep_corpus_ids) {
        /* llama-3 takes a word whole when it is a piece (ignore_merges) */
        int64_t total = 0;
        for (int64_t i = 0; i < n_corpus_words; i++) {
            int32_t w = corpus_words[i];
            bool whole = pre == LC_PRE_LLAMA3 && t.word_len[w] > 1 &&
                         lc_strtab_find(&t.tok_index, lc_strtab_str(&t.words, w), t.words.len[w]) >= 0;
            total += whole ? 1 : t.word_len[w];
        }
        m->corpus = malloc((size_t)LC_MAX(total, 1) * sizeof *m->corpus);
        if (!m->corpus) {
            lc_bpe_model_free(m);
            goto oom;
        }
        int64_t k = 0;
        for (int64_t i = 0; i < n_corpus_words; i++) {
            int32_t w = corpus_words[i];
            int32_t whole = pre == LC_PRE_LLAMA3 && t.word_len[w] > 1
                                ? lc_strtab_find(&t.tok_index, lc_strtab_str(&t.words, w), t.words.len[w])
                                : -1;
            if (whole >= 0) {
                m->corpus[k++] = whole;
            } else {
                memcpy(m->corpus + k, t.sym + t.word_off[w], (size_t)t.word_len[w] * sizeof *m->corpus);
                k += t.word_len[w];
            }
        }
        m->n_corpus = k;
    }
    *out = m;
    goto done;
oom:
    st = lc_fail(err, LC_ERR_NOMEM, "BPE trainer: out of memory");
done:
    free(corpus_words);
    trainer_free(&t);
    return st;
}
