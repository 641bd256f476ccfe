/*
 * Byte-level BPE trainer (lc_bpe_train): the same merges as a naive
 * reference that recounts every pair after every merge; vocabulary size;
 * round trips through lc_tokenizer_create/encode/decode of the training
 * text (ids identical to the trainer's segmentation) and of unseen text;
 * determinism; tie-breaking worked out by hand; refusals.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "data/data_internal.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "tokenizer/tokenizer_internal.h"

/* ---- Naive reference ------------------------------------------------------ */

typedef struct {
    char *bytes[1 << 14]; /* token id -> bytes */
    size_t len[1 << 14];
    int32_t n_tok;
    int32_t merge_l[1 << 14], merge_r[1 << 14];
    int32_t n_merges;
} ref_model;

static int32_t ref_find(const ref_model *m, const char *s, size_t n) {
    for (int32_t i = 0; i < m->n_tok; i++)
        if (m->len[i] == n && memcmp(m->bytes[i], s, n) == 0) return i;
    return -1;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* Train by brute force: words from the same pre-tokenizer, all pair counts
 * recomputed every step, the best pair by (count, left bytes, right bytes)
 * whose concatenation is not a token yet. */
static void ref_train(const char *text, size_t len, lc_pre_kind pre, int32_t vocab_size, int64_t min_freq,
                      ref_model *m) {
    memset(m, 0, sizeof *m);
    for (int r = 0; r < 256; r++)
        for (int b = 0; b < 256; b++)
            if (lc_bpe_byte_rank((uint8_t)b) == r) {
                m->bytes[m->n_tok] = malloc(1);
                m->bytes[m->n_tok][0] = (char)b;
                m->len[m->n_tok++] = 1;
            }
    /* words (distinct, with counts) */
    int32_t *sym = malloc((len + 1) * sizeof *sym);
    size_t *woff = malloc((len + 1) * sizeof *woff);
    int32_t *wlen = malloc((len + 1) * sizeof *wlen);
    int64_t *wcount = malloc((len + 1) * sizeof *wcount);
    int32_t n_words = 0;
    size_t o = 0;
    for (size_t pos = 0; pos < len;) {
        size_t n = lc_tok_pretok_next(pre, text, len, pos);
        int32_t w = -1;
        for (int32_t i = 0; i < n_words && w < 0; i++) {
            if ((size_t)wlen[i] != n) continue;
            bool same = true;
            for (size_t k = 0; k < n && same; k++) same = sym[woff[i] + k] == lc_bpe_byte_rank((uint8_t)text[pos + k]);
            if (same) w = i;
        }
        if (w < 0) {
            w = n_words++;
            woff[w] = o;
            wlen[w] = (int32_t)n;
            wcount[w] = 0;
            for (size_t k = 0; k < n; k++) sym[o++] = lc_bpe_byte_rank((uint8_t)text[pos + k]);
        }
        wcount[w]++;
        pos += n;
    }
    int32_t *cnt_l = malloc(sizeof(int32_t) * (len + 1)), *cnt_r = malloc(sizeof(int32_t) * (len + 1));
    int64_t *cnt = malloc(sizeof(int64_t) * (len + 1));
    while (m->n_tok < vocab_size - 1) {
        int32_t n_pairs = 0;
        for (int32_t w = 0; w < n_words; w++)
            for (int32_t i = 0; i + 1 < wlen[w]; i++) {
                int32_t a = sym[woff[w] + i], b = sym[woff[w] + i + 1], k;
                for (k = 0; k < n_pairs; k++)
                    if (cnt_l[k] == a && cnt_r[k] == b) break;
                if (k == n_pairs) cnt_l[k] = a, cnt_r[k] = b, cnt[k] = 0, n_pairs++;
                cnt[k] += wcount[w];
            }
        int32_t best = -1;
        char cat[4096];
        for (int32_t k = 0; k < n_pairs; k++) {
            size_t la = m->len[cnt_l[k]], lb = m->len[cnt_r[k]];
            if (la + lb > sizeof cat) continue;
            memcpy(cat, m->bytes[cnt_l[k]], la);
            memcpy(cat + la, m->bytes[cnt_r[k]], lb);
            if (ref_find(m, cat, la + lb) >= 0) continue;
            if (best >= 0) {
                if (cnt[k] < cnt[best]) continue;
                if (cnt[k] == cnt[best]) {
                    int c = cmp_bytes(m->bytes[cnt_l[k]], la, m->bytes[cnt_l[best]], m->len[cnt_l[best]]);
                    if (c == 0) c = cmp_bytes(m->bytes[cnt_r[k]], lb, m->bytes[cnt_r[best]], m->len[cnt_r[best]]);
                    if (c > 0) continue;
                }
            }
            best = k;
        }
        if (best < 0 || cnt[best] < min_freq) break;
        int32_t a = cnt_l[best], b = cnt_r[best], c = m->n_tok++;
        m->len[c] = m->len[a] + m->len[b];
        m->bytes[c] = malloc(m->len[c]);
        memcpy(m->bytes[c], m->bytes[a], m->len[a]);
        memcpy(m->bytes[c] + m->len[a], m->bytes[b], m->len[b]);
        m->merge_l[m->n_merges] = a;
        m->merge_r[m->n_merges++] = b;
        for (int32_t w = 0; w < n_words; w++) {
            int32_t *s = sym + woff[w];
            for (int32_t i = 0; i + 1 < wlen[w]; i++)
                if (s[i] == a && s[i + 1] == b) {
                    s[i] = c;
                    memmove(s + i + 1, s + i + 2, (size_t)(wlen[w] - i - 2) * sizeof *s);
                    wlen[w]--;
                }
        }
    }
    free(sym);
    free(woff);
    free(wlen);
    free(wcount);
    free(cnt_l);
    free(cnt_r);
    free(cnt);
}

static void ref_free(ref_model *m) {
    for (int32_t i = 0; i < m->n_tok; i++) free(m->bytes[i]);
}

/* The GPT-2 mapped text of bytes. */
static size_t mapped(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += lc_bpe_byte_to_utf8((uint8_t)s[i], out + o);
    return o;
}

/* ---- Corpora ---------------------------------------------------------------- */

/* Words from a small alphabet with skewed frequencies: many equal counts, so
 * tie-breaking matters; some punctuation, digits and non-ASCII. */
static char *make_corpus(uint64_t seed, size_t n_words, size_t *len) {
    static const char *const parts[] = {"a", "b", "ab", "ba", "aab", "c", "ca", "d", "é", "中", "1", "22"};
    lc_rng r;
    lc_rng_seed(&r, seed);
    lc_buf b = {0};
    for (size_t i = 0; i < n_words; i++) {
        size_t k = 1 + (size_t)lc_rng_below(&r, 4);
        if (i) lc_buf_puts(&b, lc_rng_below(&r, 10) == 0 ? "\n" : " ");
        for (size_t j = 0; j < k; j++) {
            size_t p = (size_t)(lc_rng_below(&r, LC_ARRAY_LEN(parts)) * lc_rng_below(&r, LC_ARRAY_LEN(parts)) /
                                LC_ARRAY_LEN(parts));
            lc_buf_puts(&b, parts[p]);
        }
        if (lc_rng_below(&r, 7) == 0) lc_buf_puts(&b, lc_rng_below(&r, 2) ? "." : "'s");
    }
    *len = b.len;
    return b.p;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* ---- Checks ----------------------------------------------------------------- */

/* Train, compare with the reference, build the tokenizer, re-encode. */
static void check_against_reference(const char *text, size_t len, const char *pre, int32_t vocab, const char *what) {
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, vocab);
    p.pre = pre;
    p.keep_corpus_ids = true;
    lc_bpe_model *m;
    lc_error err;
    CHECK_OK(lc_bpe_train(text, len, &p, &m, &err), &err);
    if (!m) return;
    ref_model *ref = malloc(sizeof *ref);
    ref_train(text, len, strcmp(pre, "gpt2") == 0 ? LC_PRE_GPT2 : LC_PRE_LLAMA3, vocab, p.min_frequency, ref);
    lc_tokenizer_desc d;
    lc_bpe_model_desc(m, &d);
    CHECK(d.n_merges == ref->n_merges, "%s: %lld merges, reference %d", what, (long long)d.n_merges, ref->n_merges);
    CHECK(d.n_vocab == ref->n_tok + 1, "%s: %d tokens, reference %d + 1", what, d.n_vocab, ref->n_tok);
    char buf[8192];
    for (int32_t i = 0; i < ref->n_merges && i < d.n_merges; i++) {
        size_t o = mapped(ref->bytes[ref->merge_l[i]], ref->len[ref->merge_l[i]], buf);
        buf[o++] = ' ';
        o += mapped(ref->bytes[ref->merge_r[i]], ref->len[ref->merge_r[i]], buf + o);
        if (!(d.merge_lens[i] == o && memcmp(d.merges[i], buf, o) == 0)) {
            CHECK(0, "%s: merge %d is [%.*s], reference [%.*s]", what, (int)i, (int)d.merge_lens[i], d.merges[i], (int)o, buf);
            break;
        }
    }
    for (int32_t i = 0; i < ref->n_tok && i < d.n_vocab; i++) {
        size_t o = mapped(ref->bytes[i], ref->len[i], buf);
        if (!(d.piece_lens[i] == o && memcmp(d.pieces[i], buf, o) == 0)) {
            CHECK(0, "%s: piece %d differs from the reference", what, (int)i);
            break;
        }
    }
    ref_free(ref);
    free(ref);
    /* merge i makes token 256 + i, whose piece is the merge's halves joined */
    for (int64_t i = 0; i < d.n_merges; i++) {
        const char *sp = memchr(d.merges[i], ' ', d.merge_lens[i]);
        size_t l = d.piece_lens[256 + i];
        CHECK(sp && d.merge_lens[i] == l + 1 && memcmp(d.merges[i], d.pieces[256 + i], (size_t)(sp - d.merges[i])) == 0 &&
                  memcmp(sp + 1, d.pieces[256 + i] + (sp - d.merges[i]), l - (size_t)(sp - d.merges[i])) == 0,
              "%s: merge %lld makes piece %lld", what, (long long)i, (long long)(256 + i));
    }
    CHECK(d.types[d.n_vocab - 1] == LC_TOKEN_CONTROL && d.bos_id == d.n_vocab - 1 && d.eos_id == d.n_vocab - 1,
          "%s: <|endoftext|> last", what);
    lc_tokenizer *tok;
    CHECK_OK(lc_tokenizer_create(&d, &tok, &err), &err);
    if (tok) {
        int64_t nc = 0, ne = 0;
        const int32_t *cids = lc_bpe_model_corpus_ids(m, &nc);
        int32_t *ids = malloc((len + 8) * sizeof *ids);
        CHECK_OK(lc_tokenizer_encode(tok, text, len, false, ids, (int64_t)len + 8, &ne, &err), &err);
        CHECK(ne == nc && memcmp(ids, cids, (size_t)ne * sizeof *ids) == 0,
              "%s: encoding the corpus gives the trainer's segmentation (%lld vs %lld ids)", what, (long long)ne,
              (long long)nc);
        char *back = malloc(len + 1);
        size_t bl = 0;
        CHECK_OK(lc_tokenizer_decode(tok, ids, ne, back, len + 1, &bl, &err), &err);
        CHECK(bl == len && memcmp(back, text, len) == 0, "%s: corpus round trip", what);
        free(back);
        free(ids);
        lc_tokenizer_free(tok);
    }
    lc_bpe_model_free(m);
}

static void test_reference(void) {
    size_t len;
    char *text = make_corpus(1, lc_test_quick() ? 300 : 1200, &len);
    check_against_reference(text, len, "gpt2", 400, "skewed corpus gpt2");
    check_against_reference(text, len, "llama-bpe", 400, "skewed corpus llama-bpe");
    free(text);
    char path[1024];
    snprintf(path, sizeof path, "%s/seed/context-length-article.zh.txt", LC_SHARED_DIR);
    text = read_file(path, &len);
    if (text) {
        if (lc_test_quick()) len = LC_MIN(len, (size_t)4000);
        check_against_reference(text, len, "gpt2", lc_test_quick() ? 320 : 600, "zh article gpt2");
        free(text);
    } else {
        fprintf(stderr, "note: %s absent: the article corpus is not checked\n", path);
    }
    size_t n = 3000;
    text = malloc(n);
    lc_rng r;
    lc_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) text[i] = (char)(lc_rng_below(&r, 4) ? 'a' + lc_rng_below(&r, 3) : lc_rng_below(&r, 256));
    check_against_reference(text, n, "gpt2", 330, "random bytes");
    free(text);
}

/* Hand-derived: "ab ab cd cd" pre-tokenises (GPT-2) into "ab", " ab", " cd",
 * " cd". Pair counts: (a,b) 2, (" ",a) 1, (" ",c) 2, (c,d) 2. Ties at 2 go
 * to the smallest left bytes: " " (0x20) < "a" < "c": merge 0 = " " + "c".
 * Then (" c", d) 2, (a,b) 2, (" ",a) 1: " c" < "a": merge 1 = " c" + "d".
 * Then (a,b) 2: merge 2 = "a" + "b". Then (" ", ab) 1 < min_frequency 2:
 * stop. In GPT-2's mapping " " is "Ġ". */
static void test_tie_break(void) {
    const char *text = "ab ab cd cd";
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, 1000);
    lc_bpe_model *m;
    lc_error err;
    CHECK_OK(lc_bpe_train(text, strlen(text), &p, &m, &err), &err);
    if (!m) return;
    lc_tokenizer_desc d;
    lc_bpe_model_desc(m, &d);
    CHECK(d.n_merges == 3, "3 merges, got %lld", (long long)d.n_merges);
    const char *want[] = {"\xc4\xa0 c", ("\xc4\xa0" "c d"), "a b"};
    for (int i = 0; i < 3 && i < d.n_merges; i++)
        CHECK(d.merge_lens[i] == strlen(want[i]) && memcmp(d.merges[i], want[i], d.merge_lens[i]) == 0,
              "merge %d: [%.*s], want [%s]", i, (int)d.merge_lens[i], d.merges[i], want[i]);
    CHECK(d.n_vocab == 256 + 3 + 1, "vocabulary 260, got %d", d.n_vocab);
    lc_bpe_model_free(m);
    /* min_frequency 1 goes on to (" ", "ab") */
    p.min_frequency = 1;
    CHECK_OK(lc_bpe_train(text, strlen(text), &p, &m, &err), &err);
    if (m) {
        lc_bpe_model_desc(m, &d);
        CHECK(d.n_merges == 4 && memcmp(d.merges[3], "\xc4\xa0 ab", 5) == 0, "min_frequency 1: 4th merge");
        lc_bpe_model_free(m);
    }
}

static void test_vocab_size_and_unseen(void) {
    size_t need = lc_filler_text(9, lc_test_quick() ? 400 : 3000, NULL, 0);
    char *text = malloc(need + 1);
    lc_filler_text(9, lc_test_quick() ? 400 : 3000, text, need + 1);
    lc_error err;
    const int32_t sizes[] = {257, 300, 512, 700};
    for (size_t si = 0; si < LC_ARRAY_LEN(sizes); si++) {
        lc_bpe_train_params p;
        lc_bpe_train_params_init(&p, sizes[si]);
        lc_bpe_model *m;
        CHECK_OK(lc_bpe_train(text, need, &p, &m, &err), &err);
        if (!m) continue;
        CHECK(lc_bpe_model_n_vocab(m) == sizes[si], "vocabulary %d asked, %d made", sizes[si], lc_bpe_model_n_vocab(m));
        CHECK(lc_bpe_model_corpus_ids(m, NULL) == NULL, "no corpus ids unless asked");
        lc_tokenizer_desc d;
        lc_bpe_model_desc(m, &d);
        lc_tokenizer *tok;
        CHECK_OK(lc_tokenizer_create(&d, &tok, &err), &err);
        if (tok) {
            /* unseen text: any bytes round-trip */
            lc_rng r;
            lc_rng_seed(&r, 77 + si);
            for (int c = 0; c < 20; c++) {
                char buf[512], out[600];
                int32_t ids[1100];
                size_t n = (size_t)lc_rng_below(&r, sizeof buf);
                static const char alphabet[] = "The cat \xe4\xb8\xad\xe6\x96\x87 sat. 123\n";
                for (size_t i = 0; i < n; i++)
                    buf[i] = c % 2 ? (char)lc_rng_below(&r, 256) : alphabet[lc_rng_below(&r, sizeof alphabet - 1)];
                int64_t k = 0;
                size_t len = 0;
                CHECK_OK(lc_tokenizer_encode(tok, buf, n, false, ids, 1100, &k, &err), &err);
                CHECK_OK(lc_tokenizer_decode(tok, ids, k, out, sizeof out, &len, &err), &err);
                CHECK(len == n && memcmp(out, buf, n) == 0, "vocab %d: unseen text %d round trip", sizes[si], c);
            }
            /* tasks run with a trained tokenizer */
            lc_task_spec spec;
            lc_task_spec_init(&spec, LC_TASK_PASSKEY, 400);
            lc_task_sample s;
            CHECK_OK(lc_task_generate(&spec, tok, 3, &s, &err), &err);
            CHECK(s.n_tokens <= 400 && s.n_tokens > 300, "passkey with a trained BPE: %lld tokens", (long long)s.n_tokens);
            CHECK(s.ids && s.ids[0] == d.bos_id, "BOS is <|endoftext|>");
            lc_task_sample_free(&s);
            lc_tokenizer_free(tok);
        }
        lc_bpe_model_free(m);
    }
    /* a small corpus runs out of pairs: fewer tokens than asked */
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, 5000);
    lc_bpe_model *m;
    CHECK_OK(lc_bpe_train("hello hello world", 17, &p, &m, &err), &err);
    if (m) {
        CHECK(lc_bpe_model_n_vocab(m) < 5000 && lc_bpe_model_n_vocab(m) > 257, "small corpus: %d tokens", lc_bpe_model_n_vocab(m));
        lc_bpe_model_free(m);
    }
    CHECK_OK(lc_bpe_train("", 0, &p, &m, &err), &err);
    if (m) {
        CHECK(lc_bpe_model_n_vocab(m) == 257, "empty text: bytes + <|endoftext|>");
        lc_bpe_model_free(m);
    }
    free(text);
}

static void test_determinism(void) {
    size_t len;
    char *text = make_corpus(2, lc_test_quick() ? 1000 : 5000, &len);
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, 800);
    lc_bpe_model *a, *b;
    lc_error err;
    CHECK_OK(lc_bpe_train(text, len, &p, &a, &err), &err);
    CHECK_OK(lc_bpe_train(text, len, &p, &b, &err), &err);
    if (a && b) {
        lc_tokenizer_desc da, db;
        lc_bpe_model_desc(a, &da);
        lc_bpe_model_desc(b, &db);
        bool same = da.n_vocab == db.n_vocab && da.n_merges == db.n_merges;
        for (int32_t i = 0; same && i < da.n_vocab; i++)
            same = da.piece_lens[i] == db.piece_lens[i] && memcmp(da.pieces[i], db.pieces[i], da.piece_lens[i]) == 0;
        for (int64_t i = 0; same && i < da.n_merges; i++)
            same = da.merge_lens[i] == db.merge_lens[i] && memcmp(da.merges[i], db.merges[i], da.merge_lens[i]) == 0;
        CHECK(same, "two runs give the same vocabulary and merges");
    }
    lc_bpe_model_free(a);
    lc_bpe_model_free(b);
    free(text);
}

static bool cancel_after_first(void *user, double done, double total, const char *what) {
    (void)done;
    (void)total;
    (void)what;
    int *calls = user;
    return ++*calls < 2;
}

static void test_refusals(void) {
    lc_bpe_train_params p;
    lc_bpe_model *m = (lc_bpe_model *)1;
    lc_error err;
    lc_bpe_train_params_init(&p, 256);
    CHECK(lc_bpe_train("abc", 3, &p, &m, &err) == LC_ERR_INVALID_ARG && m == NULL, "256 tokens: %s", err.msg);
    lc_bpe_train_params_init(&p, 300);
    p.pre = "bert";
    CHECK(lc_bpe_train("abc", 3, &p, &m, &err) == LC_ERR_INVALID_ARG, "unknown pre-tokenizer: %s", err.msg);
    p.pre = "gpt2";
    p.min_frequency = 0;
    CHECK(lc_bpe_train("abc", 3, &p, &m, &err) == LC_ERR_INVALID_ARG, "min_frequency 0");
    CHECK(lc_bpe_train(NULL, 3, &p, &m, &err) == LC_ERR_INVALID_ARG, "NULL text");
    /* cancellation through the progress callback */
    size_t len;
    char *text = make_corpus(3, 4000, &len);
    lc_bpe_train_params_init(&p, 2000);
    int calls = 0;
    p.progress = cancel_after_first;
    p.progress_user = &calls;
    p.min_frequency = 1;
    CHECK(lc_bpe_train(text, len, &p, &m, &err) == LC_ERR_CANCELLED && m == NULL, "cancelled: %s", err.msg);
    free(text);
}

int main(void) {
    test_tie_break();
    test_reference();
    test_vocab_size_and_unseen();
    test_determinism();
    test_refusals();
    return lc_test_finish("test_bpe_train");
}
