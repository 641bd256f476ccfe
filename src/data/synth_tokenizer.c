/*
 * The "synthetic" tokenizer: a small SentencePiece-kind (SPM) vocabulary for
 * the filler and task text, built in code, LC_TASKS_VOCAB_SIZE pieces:
 *
 *   0 <unk>  1 <s>  2 </s>  3 <pad>         specials
 *   4 .. 259  <0x00> .. <0xFF>              byte fallback
 *   "▁", a-z, A-Z, 0-9, punctuation         single characters
 *   "▁A" .. "▁Z"                            capitalised word starts
 *   learned "▁"-word pieces                 the rest, in merge order
 *
 * The learned pieces are found by a BPE over the target words ("▁" + each
 * word of the filler word list, of the task phrases and of the multikey
 * keys), each weighted by its count in 4,000 generated filler sentences
 * (task words: 1% of all words each), run through the same merge rule the SPM
 * encoder applies: repeatedly merge the adjacent pair whose concatenation is a
 * piece with the highest score, leftmost first. Each new piece gets a score
 * below every earlier one, so it can only act on words the earlier pieces
 * left in several pieces; the pair chosen is the most frequent adjacent pair
 * over those words (ties: byte order of the left, then the right piece).
 * It stops at LC_TASKS_VOCAB_SIZE pieces; the most frequent words end up as
 * one token, the rarer ones as two or three.
 *
 * Digits and capital letters are never part of a learned piece but as the
 * first letter after "▁" of a capitalised word, so numbers and variable
 * names (capital letters) tokenise one character per token.
 */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define SPACE "\xe2\x96\x81" /* U+2581 "▁", 3 bytes */
#define SPACE_LEN 3
#define N_STAT_SENTENCES 4000
#define MAX_TARGET 64 /* bytes of a target word, "▁" included */

static const char punctuation[] = ".,?!:;'\"-=()";

struct lc_tasks_vocab {
    lc_strtab tab;         /* pieces, id order = token id */
    const char **pieces;   /* [n] into tab */
    size_t *lens;          /* [n] */
    float *scores;         /* [n] */
    int32_t *types;        /* [n] */
};

typedef struct {
    int32_t word;       /* id in the word table        */
    int64_t weight;
    int32_t n_sym;      /* pieces it encodes to now    */
    uint8_t cut[MAX_TARGET + 1]; /* symbol boundaries: cut[0..n_sym] byte offsets */
} target;

/* ---- Building ----------------------------------------------------------- */

typedef struct {
    lc_tasks_vocab *v;
    float *scores;      /* grows with the table */
    size_t scores_cap;
    lc_strtab words;    /* target words (with "▁") */
    int64_t *counts;    /* [words.n] */
    size_t counts_cap;
    target *targets;
    int64_t n_targets;
} builder;

static bool add_piece(builder *b, const char *s, size_t len, float score) {
    bool added;
    int32_t id = lc_strtab_add(&b->v->tab, s, len, &added);
    if (id < 0) return false;
    if (!added) return true;
    if ((size_t)id >= b->scores_cap) {
        size_t cap = b->scores_cap ? b->scores_cap * 2 : 1024;
        float *p = realloc(b->scores, cap * sizeof *p);
        if (!p) return false;
        b->scores = p;
        b->scores_cap = cap;
    }
    b->scores[id] = score;
    return true;
}

/* Count a word (letters only) as a target "▁word". */
static bool count_word(builder *b, const char *w, size_t len, int64_t count) {
    if (len == 0 || len + SPACE_LEN > MAX_TARGET) return true;
    char buf[MAX_TARGET];
    memcpy(buf, SPACE, SPACE_LEN);
    memcpy(buf + SPACE_LEN, w, len);
    int32_t id = lc_strtab_add(&b->words, buf, len + SPACE_LEN, NULL);
    if (id < 0) return false;
    if ((size_t)id >= b->counts_cap) {
        size_t cap = b->counts_cap ? b->counts_cap * 2 : 1024;
        int64_t *p = realloc(b->counts, cap * sizeof *p);
        if (!p) return false;
        memset(p + b->counts_cap, 0, (cap - b->counts_cap) * sizeof *p);
        b->counts = p;
        b->counts_cap = cap;
    }
    b->counts[id] += count;
    return true;
}

static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Every maximal run of letters in s is a word. */
static bool count_words_in(builder *b, const char *s, int64_t count) {
    for (size_t i = 0; s[i];) {
        if (!is_letter(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (is_letter(s[j])) j++;
        if (!count_word(b, s + i, j - i, count)) return false;
        i = j;
    }
    return true;
}

static bool count_list(builder *b, const wl_strings *w, int64_t count) {
    for (size_t i = 0; i < w->n; i++)
        if (!count_words_in(b, w->items[i], count)) return false;
    return true;
}

/* Targets: every word the filler can produce, weighted by its frequency in
 * generated text (+1 so that none is missing), the task words and keys. */
static bool collect_targets(builder *b) {
    lc_filler f;
    lc_filler_init(&f, 0);
    char sent[LC_FILLER_SENTENCE_MAX];
    for (int i = 0; i < N_STAT_SENTENCES; i++) {
        lc_filler_next(&f, sent);
        if (!count_words_in(b, sent, 1)) return false;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < b->words.n; i++) total += b->counts[i];
    for (size_t i = 0; i < lc_wl_n_nouns; i++)
        if (!count_words_in(b, lc_wl_nouns[i].sg, 1) || !count_words_in(b, lc_wl_nouns[i].pl, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_adjs; i++)
        if (!count_words_in(b, lc_wl_adjs[i].word, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_verbs; i++)
        if (!count_words_in(b, lc_wl_verbs[i].word, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_motion_verbs; i++)
        if (!count_words_in(b, lc_wl_motion_verbs[i].word, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_preps; i++)
        if (!count_words_in(b, lc_wl_preps[i].word, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_names; i++)
        if (!count_words_in(b, lc_wl_names[i].name, 1)) return false;
    for (size_t i = 0; i < lc_wl_n_events; i++)
        if (!count_words_in(b, lc_wl_events[i].noun, 1) || !count_words_in(b, lc_wl_events[i].verb, 1)) return false;
    const wl_strings *lists[] = {&lc_wl_adverbs, &lc_wl_time_openers, &lc_wl_time_tails, &lc_wl_det_sg,
                                 &lc_wl_det_pl,  &lc_wl_conj,         &lc_wl_day_words, &lc_wl_day_adjs};
    for (size_t i = 0; i < LC_ARRAY_LEN(lists); i++)
        if (!count_list(b, lists[i], 1)) return false;
    if (!count_list(b, &lc_wl_keys, 1 + total / 1000)) return false;
    if (!count_list(b, &lc_wl_task_words, 1 + total / 100)) return false;
    b->targets = calloc((size_t)b->words.n, sizeof *b->targets);
    if (!b->targets) return false;
    for (int64_t i = 0; i < b->words.n; i++) {
        const char *w = lc_strtab_str(&b->words, (int32_t)i);
        size_t len = b->words.len[i];
        /* only the first letter may be a capital ("VAR" stays three pieces) */
        bool ok = true;
        for (size_t k = SPACE_LEN + 1; k < len; k++)
            if (w[k] >= 'A' && w[k] <= 'Z') ok = false;
        if (!ok) continue;
        target *t = &b->targets[b->n_targets++];
        t->word = (int32_t)i;
        t->weight = b->counts[i];
        t->n_sym = (int32_t)(len - SPACE_LEN + 1); /* "▁" then one piece per letter */
        t->cut[0] = 0;
        for (int32_t k = 1; k <= t->n_sym; k++) t->cut[k] = (uint8_t)(SPACE_LEN + k - 1);
    }
    return true;
}

/* Encode target t with the current pieces by the SPM rule (highest-scoring
 * mergeable pair first, leftmost on ties), starting from its characters. */
static void resegment(const builder *b, target *t) {
    const char *w = lc_strtab_str(&b->words, t->word);
    size_t len = b->words.len[t->word];
    int32_t n = (int32_t)(len - SPACE_LEN + 1);
    uint8_t cut[MAX_TARGET + 1];
    cut[0] = 0;
    for (int32_t k = 1; k <= n; k++) cut[k] = (uint8_t)(SPACE_LEN + k - 1);
    for (;;) {
        int32_t best = -1;
        float best_score = 0;
        for (int32_t k = 0; k + 1 < n; k++) {
            int32_t id = lc_strtab_find(&b->v->tab, w + cut[k], (size_t)(cut[k + 2] - cut[k]));
            if (id >= 0 && (best < 0 || b->scores[id] > best_score)) {
                best = k;
                best_score = b->scores[id];
            }
        }
        if (best < 0) break;
        memmove(cut + best + 1, cut + best + 2, (size_t)(n - best - 1));
        n--;
    }
    t->n_sym = n;
    memcpy(t->cut, cut, (size_t)n + 1);
}

typedef struct {
    const char *l, *r;
    uint32_t ll, rl;
    int64_t count;
} pair_count;

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, LC_MIN(al, bl));
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* Is candidate c better than the best so far: higher count, then byte order. */
static bool pair_better(const pair_count *c, const pair_count *best) {
    if (c->count != best->count) return c->count > best->count;
    int k = cmp_bytes(c->l, c->ll, best->l, best->ll);
    if (k) return k < 0;
    return cmp_bytes(c->r, c->rl, best->r, best->rl) < 0;
}

static lc_status learn_pieces(builder *b, lc_error *err) {
    lc_strtab pairs = {0};
    int64_t *pc = NULL;
    size_t pc_cap = 0;
    lc_status st = LC_OK;
    int32_t learned = 0;
    for (int64_t i = 0; i < b->n_targets; i++) resegment(b, &b->targets[i]);
    while (b->v->tab.n < LC_TASKS_VOCAB_SIZE) {
        /* Count the adjacent pairs of the words still in several pieces; the
         * pair's key is "left\0right" (pieces hold no NUL). */
        lc_strtab_free(&pairs);
        pair_count best = {0};
        for (int64_t i = 0; i < b->n_targets; i++) {
            const target *t = &b->targets[i];
            const char *w = lc_strtab_str(&b->words, t->word);
            for (int32_t k = 0; k + 1 < t->n_sym; k++) {
                char key[2 * MAX_TARGET + 1];
                size_t ll = (size_t)(t->cut[k + 1] - t->cut[k]), rl = (size_t)(t->cut[k + 2] - t->cut[k + 1]);
                memcpy(key, w + t->cut[k], ll);
                key[ll] = '\0';
                memcpy(key + ll + 1, w + t->cut[k + 1], rl);
                bool added;
                int32_t id = lc_strtab_add(&pairs, key, ll + 1 + rl, &added);
                if (id < 0) {
                    st = lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
                    goto done;
                }
                if ((size_t)id >= pc_cap) {
                    size_t cap = pc_cap ? pc_cap * 2 : 1024;
                    int64_t *p = realloc(pc, cap * sizeof *p);
                    if (!p) {
                        st = lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
                        goto done;
                    }
                    pc = p;
                    pc_cap = cap;
                }
                if (added) pc[id] = 0;
                pc[id] += t->weight;
            }
        }
        if (pairs.n == 0) break; /* every target is one piece */
        for (int32_t id = 0; id < (int32_t)pairs.n; id++) {
            const char *key = lc_strtab_str(&pairs, id);
            size_t ll = strlen(key);
            pair_count c = {key, key + ll + 1, (uint32_t)ll, (uint32_t)(pairs.len[id] - ll - 1), pc[id]};
            if (id == 0 || pair_better(&c, &best)) best = c;
        }
        char piece[2 * MAX_TARGET];
        memcpy(piece, best.l, best.ll);
        memcpy(piece + best.ll, best.r, best.rl);
        learned++;
        if (!add_piece(b, piece, best.ll + best.rl, -(float)learned)) {
            st = lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
            goto done;
        }
        /* Only words holding the pair adjacent can change (the new piece
         * scores below all others, so it acts last). */
        for (int64_t i = 0; i < b->n_targets; i++) {
            target *t = &b->targets[i];
            const char *w = lc_strtab_str(&b->words, t->word);
            for (int32_t k = 0; k + 1 < t->n_sym; k++) {
                if ((uint32_t)(t->cut[k + 2] - t->cut[k]) == best.ll + best.rl &&
                    (uint32_t)(t->cut[k + 1] - t->cut[k]) == best.ll &&
                    memcmp(w + t->cut[k], piece, best.ll + best.rl) == 0) {
                    resegment(b, t);
                    break;
                }
            }
        }
        /* drop the words that are one piece now */
        int64_t o = 0;
        for (int64_t i = 0; i < b->n_targets; i++)
            if (b->targets[i].n_sym > 1) b->targets[o++] = b->targets[i];
        b->n_targets = o;
    }
done:
    lc_strtab_free(&pairs);
    free(pc);
    return st;
}

lc_status lc_tasks_vocab_build(lc_tasks_vocab **out, lc_tokenizer_desc *desc, lc_error *err) {
    if (!out || !desc) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tasks_vocab_build: NULL argument");
    *out = NULL;
    builder b;
    memset(&b, 0, sizeof b);
    b.v = calloc(1, sizeof *b.v);
    lc_status st = LC_OK;
    if (!b.v) return lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
    bool ok = add_piece(&b, "<unk>", 5, 0) && add_piece(&b, "<s>", 3, 0) && add_piece(&b, "</s>", 4, 0) &&
              add_piece(&b, "<pad>", 5, 0);
    for (int c = 0; c < 256 && ok; c++) {
        char hex[8];
        static const char digits[] = "0123456789ABCDEF";
        memcpy(hex, "<0x", 3);
        hex[3] = digits[c >> 4];
        hex[4] = digits[c & 15];
        hex[5] = '>';
        ok = add_piece(&b, hex, 6, 0);
    }
    ok = ok && add_piece(&b, SPACE, SPACE_LEN, 0);
    for (char c = 'a'; c <= 'z' && ok; c++) ok = add_piece(&b, &c, 1, 0);
    for (char c = 'A'; c <= 'Z' && ok; c++) ok = add_piece(&b, &c, 1, 0);
    for (char c = '0'; c <= '9' && ok; c++) ok = add_piece(&b, &c, 1, 0);
    for (const char *p = punctuation; *p && ok; p++) ok = add_piece(&b, p, 1, 0);
    for (char c = 'A'; c <= 'Z' && ok; c++) {
        char s[SPACE_LEN + 1];
        memcpy(s, SPACE, SPACE_LEN);
        s[SPACE_LEN] = c;
        ok = add_piece(&b, s, SPACE_LEN + 1, 0);
    }
    if (!ok || !collect_targets(&b)) {
        st = lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
        goto fail;
    }
    if ((st = learn_pieces(&b, err)) != LC_OK) goto fail;
    lc_tasks_vocab *v = b.v;
    int64_t n = v->tab.n;
    if (n != LC_TASKS_VOCAB_SIZE) {
        st = lc_fail(err, LC_ERR_INTERNAL, "synthetic tokenizer: built %lld pieces, expected %d (word lists changed?)",
                     (long long)n, LC_TASKS_VOCAB_SIZE);
        goto fail;
    }
    v->pieces = malloc((size_t)n * sizeof *v->pieces);
    v->lens = malloc((size_t)n * sizeof *v->lens);
    v->types = malloc((size_t)n * sizeof *v->types);
    if (!v->pieces || !v->lens || !v->types) {
        st = lc_fail(err, LC_ERR_NOMEM, "synthetic tokenizer: out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) {
        v->pieces[i] = lc_strtab_str(&v->tab, (int32_t)i);
        v->lens[i] = v->tab.len[i];
        v->types[i] = i == 0 ? LC_TOKEN_UNKNOWN : i < 4 ? LC_TOKEN_CONTROL : i < 260 ? LC_TOKEN_BYTE : LC_TOKEN_NORMAL;
    }
    v->scores = b.scores;
    b.scores = NULL;
    lc_strtab_free(&b.words);
    free(b.counts);
    free(b.targets);
    memset(desc, 0, sizeof *desc);
    desc->kind = LC_TOKENIZER_SPM;
    desc->n_vocab = (int32_t)n;
    desc->pieces = v->pieces;
    desc->piece_lens = v->lens;
    desc->scores = v->scores;
    desc->types = v->types;
    desc->bos_id = 1;
    desc->eos_id = 2;
    desc->unk_id = 0;
    desc->pad_id = 3;
    desc->add_bos = true;
    desc->add_space_prefix = true;
    *out = v;
    return LC_OK;
fail:
    lc_tasks_vocab_free(b.v);
    free(b.scores);
    lc_strtab_free(&b.words);
    free(b.counts);
    free(b.targets);
    return st;
}

void lc_tasks_vocab_free(lc_tasks_vocab *v) {
    if (!v) return;
    lc_strtab_free(&v->tab);
    free(v->pieces);
    free(v->lens);
    free(v->scores);
    free(v->types);
    free(v);
}

lc_status lc_tasks_tokenizer_create(lc_tokenizer **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tasks_tokenizer_create: NULL output");
    *out = NULL;
    lc_tasks_vocab *v;
    lc_tokenizer_desc d;
    lc_status st = lc_tasks_vocab_build(&v, &d, err);
    if (st != LC_OK) return st;
    st = lc_tokenizer_create(&d, out, err);
    lc_tasks_vocab_free(v);
    return st;
}
