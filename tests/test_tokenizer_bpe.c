/*
 * Byte-level BPE: the two pre-tokenizers against splits made by Python's
 * `regex` module running the real regular expressions
 * (tools/gen_pretokenize_reference.py -> tests/data/pretokenize_*.txt),
 * hand-derived merges on a tiny vocabulary and on GPT-2's, the heap encoder
 * against a naive string-based reference on random text, llama-3's
 * whole-word rule, helper symbols for merge halves outside the vocabulary,
 * and refusal of malformed merges.
 */
#include <string.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

/* ---- pre-tokenizers vs the regex reference ------------------------------ */
static int hexval(char c) {
    return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static void test_pretokenize_reference(const char *file, lc_pre_kind kind) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", LC_TEST_DATA_DIR, file);
    size_t len;
    char *data = tt_read_file(path, &len);
    CHECK(data != NULL, "read %s", path);
    if (!data) return;
    int cases = 0, bad = 0;
    char *line = data;
    while (line < data + len) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] != '#' && tab) {
            size_t hl = (size_t)(tab - line);
            unsigned char text[4096];
            size_t n = hl / 2;
            bool ok = hl % 2 == 0 && n <= sizeof text;
            for (size_t i = 0; ok && i < n; i++) {
                int h = hexval(line[2 * i]), l = hexval(line[2 * i + 1]);
                ok = h >= 0 && l >= 0;
                text[i] = (unsigned char)(h * 16 + l);
            }
            CHECK(ok, "%s: bad hex on case %d", file, cases);
            /* compare piece by piece */
            lc_tok_pretok_iter it;
            lc_tok_pretok_begin(&it, kind, (const char *)text, n);
            size_t pos = 0;
            char *p = tab + 1;
            bool same = ok;
            while (same && *p) {
                long want = strtol(p, &p, 10);
                if (pos >= n) {
                    same = false;
                    break;
                }
                size_t got = lc_tok_pretok_iter_next(&it);
                if ((long)got != want) same = false;
                pos += got;
                if (*p == ',') p++;
            }
            if (same && (pos != n || lc_tok_pretok_iter_next(&it) != 0)) same = false;
            /* the one-stage kinds also through the stateless scanner */
            bool one_stage = kind != LC_PRE_COMMAND_R && kind != LC_PRE_DEEPSEEK_LLM;
            if (same && one_stage) {
                lc_tok_pretok_begin(&it, kind, (const char *)text, n);
                for (size_t q = 0, g; same && (g = lc_tok_pretok_iter_next(&it)) != 0; q += g)
                    same = lc_tok_pretok_next(kind, (const char *)text, n, q) == g;
            }
            if (!same && bad++ < 5) {
                fprintf(stderr, "%s case %d (%s) differs; got:", file, cases, line);
                lc_tok_pretok_begin(&it, kind, (const char *)text, n);
                for (size_t g; (g = lc_tok_pretok_iter_next(&it)) != 0;) fprintf(stderr, " %zu", g);
                fprintf(stderr, "\n");
            }
            cases++;
        }
        line = nl ? nl + 1 : data + len;
    }
    CHECK(cases >= 400, "%s: only %d cases", file, cases);
    CHECK(bad == 0, "%s: %d of %d splits differ from the regex reference", file, bad, cases);
    fprintf(stderr, "%-32s %d/%d splits equal the regex reference\n", file, cases - bad, cases);
    free(data);
}

/* ---- a tiny BPE vocabulary built by hand --------------------------------
 * ids 0..255: the GPT-2 character of byte b (so id = byte value), then
 *   merge rank 0 "h e"    -> 256 "he"
 *         rank 1 "l l"    -> 257 "ll"
 *         rank 2 "he ll"  -> 258 "hell"
 *         rank 3 "Ġ h"    -> 259 "Ġh"
 *         rank 4 "hell o" -> 260 "hello"
 *         rank 5 "x y"    -> "xy" is NOT a piece (a helper symbol)
 *         rank 6 "xy z"   -> 261 "xyz"
 *   261+1 = 262 "abc": a piece no merge produces (llama-3 takes it whole) */
static lc_tokenizer *tiny_bpe(const char *pre) {
    static char chars[256][4];
    const char *pieces[263];
    for (int b = 0; b < 256; b++) {
        size_t l = lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp((uint8_t)b), chars[b]);
        chars[b][l] = '\0';
        pieces[b] = chars[b];
    }
    pieces[256] = "he", pieces[257] = "ll", pieces[258] = "hell", pieces[259] = "\xC4\xA0h", pieces[260] = "hello";
    pieces[261] = "xyz", pieces[262] = "abc";
    const char *merges[] = {"h e", "l l", "he ll", "\xC4\xA0 h", "hell o", "x y", "xy z"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 263;
    d.pieces = pieces;
    d.merges = merges;
    d.n_merges = 7;
    d.pre = pre;
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    return t;
}

static void expect_ids(const lc_tokenizer *t, const char *text, const int32_t *want, int64_t n_want) {
    int64_t n = 0;
    int32_t *ids = tt_encode(t, text, strlen(text), false, &n);
    CHECK(ids && tt_same_ids(ids, n, want, n_want), "encode \"%s\"", text);
    if (ids && !tt_same_ids(ids, n, want, n_want)) {
        tt_print_ids("want", want, n_want);
        tt_print_ids("got", ids, n);
    }
    free(ids);
}
#define EXPECT(t, text, ...)                                                        \
    do {                                                                            \
        const int32_t want_[] = {__VA_ARGS__};                                      \
        expect_ids(t, text, want_, (int64_t)(sizeof want_ / sizeof want_[0]));      \
    } while (0)

static void test_tiny_hand_derived(void) {
    lc_tokenizer *t = tiny_bpe(NULL);
    if (!t) return;
    /* "hello": he (0), ll (1), he+ll (2), hell+o (4) -> hello. */
    EXPECT(t, "hello", 260);
    /* " hello" is one pre-token "Ġhello": candidates Ġh (3), he (0), ll (1).
     * he (0) pops first, which makes Ġh stale; ll (1), he+ll (2), then
     * hell+o (4); "Ġ hello" has no merge: Ġ (byte 0x20 = id 32) + hello. */
    EXPECT(t, " hello", 32, 260);
    /* " h" -> Ġh (3). */
    EXPECT(t, " h", 259);
    /* "lll": ll (1) at 0 and at 1 tie on rank: leftmost -> ll + l. */
    EXPECT(t, "lll", 257, 'l');
    /* "xyz": x y (5) gives the helper symbol "xy", then xy z (6) -> xyz. */
    EXPECT(t, "xyz", 261);
    /* "xy": the helper "xy" is not a piece: its bytes x, y. */
    EXPECT(t, "xy", 'x', 'y');
    /* "abc" has no merges: a, b, c with GPT-2 pre-tokenizer ... */
    EXPECT(t, "abc", 'a', 'b', 'c');
    /* Bytes outside printable ASCII map through GPT-2's table: 0x0A -> "Ċ"
     * (id 10 here since id = byte), 0xFF -> "ÿ". */
    EXPECT(t, "\n\xFF", 10, 255);
    bool known;
    CHECK(strcmp(lc_tokenizer_pre_name(t, &known), "gpt-2") == 0 && known, "default pre-tokenizer");
    /* decode undoes the byte mapping */
    const int32_t seq[] = {32, 260, 10, 255, 261};
    char buf[32];
    size_t len;
    lc_error err;
    CHECK_OK(lc_tokenizer_decode(t, seq, 5, buf, sizeof buf, &len, &err), &err);
    CHECK(len == 11 && memcmp(buf, " hello\n\xFF" "xyz", 11) == 0, "decode \"%s\"", buf);
    CHECK(lc_tokenizer_n_merges(t) == 7, "n_merges");
    size_t ml;
    const char *m = lc_tokenizer_merge(t, 2, &ml);
    CHECK(m && ml == 5 && memcmp(m, "he ll", 5) == 0, "merge 2");
    CHECK(lc_tokenizer_find(t, "xy", 2) == -1, "a helper symbol is not a piece");
    lc_tokenizer_free(t);

    /* ... and with llama-3's rule a word that is a piece is taken whole. */
    t = tiny_bpe("llama-bpe");
    if (!t) return;
    EXPECT(t, "abc", 262);
    EXPECT(t, "hello", 260);
    /* llama-3 splits digits in threes and keeps "\n\n" together */
    CHECK(strcmp(lc_tokenizer_pre_name(t, &known), "llama-bpe") == 0 && known, "llama-bpe");
    lc_tokenizer_free(t);

    /* qwen2: one digit per word */
    t = tiny_bpe("qwen2");
    if (!t) return;
    CHECK(strcmp(lc_tokenizer_pre_name(t, &known), "qwen2") == 0 && known, "qwen2");
    EXPECT(t, "abc", 'a', 'b', 'c'); /* no whole-word rule: no merge makes "abc" */
    lc_tokenizer_free(t);

    /* A pre-tokenizer longctx does not implement is refused, naming it
     * (never run as GPT-2's). */
    const char *pieces[2] = {"a", "b"};
    const char *merges[1] = {"a b"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 2;
    d.pieces = pieces;
    d.merges = merges;
    d.n_merges = 1;
    d.pre = "jais-2";
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *u = NULL;
    lc_status st = lc_tokenizer_create(&d, &u, &err);
    CHECK(st == LC_ERR_UNSUPPORTED && !u && strstr(err.msg, "\"jais-2\""), "unknown pre refused: %s", err.msg);
    lc_tokenizer_free(u);
}


/* ---- user-defined tokens -------------------------------------------------
 * ids 0..255 the GPT-2 character of byte b, 256 "ab" and 257 "bcd"
 * user-defined, 258 "<x>" control, 259 "he" (merge "h e"), 260 "</s>"
 * user-defined but an end-of-turn text (llama.cpp makes it control), 261
 * "<|channel|>" control but always user-defined in llama.cpp. */
static void test_user_tokens(void) {
    static char chars[256][4];
    const char *pieces[262];
    int32_t types[262];
    for (int b = 0; b < 256; b++) {
        size_t l = lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp((uint8_t)b), chars[b]);
        chars[b][l] = '\0';
        pieces[b] = chars[b];
        types[b] = LC_TOKEN_NORMAL;
    }
    pieces[256] = "ab", pieces[257] = "bcd", pieces[258] = "<x>", pieces[259] = "he";
    types[256] = types[257] = LC_TOKEN_USER_DEFINED, types[258] = LC_TOKEN_CONTROL, types[259] = LC_TOKEN_NORMAL;
    pieces[260] = "</s>", pieces[261] = "<|channel|>";
    types[260] = LC_TOKEN_USER_DEFINED, types[261] = LC_TOKEN_CONTROL;
    const char *merges[] = {"h e"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 262;
    d.pieces = pieces;
    d.types = types;
    d.merges = merges;
    d.n_merges = 1;
    d.pre = "gpt2";
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    if (!t) return;
    EXPECT(t, "abab", 256, 256);
    EXPECT(t, "xaby", 'x', 256, 'y');
    /* llama.cpp's order: the longer piece's pass first, so "bcd" wins over
     * the "ab" that starts earlier */
    EXPECT(t, "abcd", 'a', 257);
    EXPECT(t, "abcdab", 'a', 257, 256);
    /* a control token is text; so is a user-defined end-of-turn marker, and
     * gpt-oss's "<|channel|>" is cut out although the file says control */
    EXPECT(t, "<x>", '<', 'x', '>');
    EXPECT(t, "</s>", '<', '/', 's', '>');
    EXPECT(t, "x<|channel|>", 'x', 261);
    /* the text around them is pre-tokenised on its own: "he" then " " */
    EXPECT(t, "he ab", 259, ' ', 256);
    const int32_t seq[] = {256, ' ', 257};
    char buf[16];
    size_t len;
    CHECK_OK(lc_tokenizer_decode(t, seq, 3, buf, sizeof buf, &len, &err), &err);
    CHECK(len == 6 && memcmp(buf, "ab bcd", 6) == 0, "user tokens decode as they are");
    lc_tokenizer_free(t);
}

/* ---- Gemma 4: BPE over raw UTF-8 -------------------------------------------
 * 0 <pad> 1 <eos> 2 <bos> (control), 3 <unk>, 4..259 <0x00>..<0xFF>,
 * 260 "▁", 261 "h", 262 "i", 263 "▁h", 264 "▁hi", 265 "\n", 266 "\n\n",
 * 267 "<|tool>" (user-defined), 268 "é"; merges "▁ h", "▁h i". */
static void test_gemma4(void) {
    static char bytes[256][8];
    const char *pieces[269];
    int32_t types[269];
    pieces[0] = "<pad>", pieces[1] = "<eos>", pieces[2] = "<bos>", pieces[3] = "<unk>";
    types[0] = types[1] = types[2] = LC_TOKEN_CONTROL, types[3] = LC_TOKEN_UNKNOWN;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        pieces[4 + b] = bytes[b];
        types[4 + b] = LC_TOKEN_BYTE;
    }
    const char *rest[] = {"\xE2\x96\x81", "h", "i", "\xE2\x96\x81h", "\xE2\x96\x81hi", "\n", "\n\n", "<|tool>", "\xC3\xA9"};
    for (int i = 0; i < 9; i++) pieces[260 + i] = rest[i], types[260 + i] = LC_TOKEN_NORMAL;
    types[267] = LC_TOKEN_USER_DEFINED;
    const char *merges[] = {"\xE2\x96\x81 h", "\xE2\x96\x81h i"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 269;
    d.pieces = pieces;
    d.types = types;
    d.merges = merges;
    d.n_merges = 2;
    d.pre = "gemma4";
    d.bos_id = 2, d.eos_id = 1, d.unk_id = 3, d.pad_id = 0;
    d.add_bos = true;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    if (!t) return;
    /* spaces become "▁" first: "hi▁hi" -> h i ▁hi */
    EXPECT(t, "hi hi", 261, 262, 264);
    /* a run of newlines that is a piece is taken whole, else character by character */
    EXPECT(t, "\n\n", 266);
    EXPECT(t, "\n\n\n", 265, 265, 265);
    EXPECT(t, "hi\n\n hi", 261, 262, 266, 264);
    /* characters that are no piece fall back to <0xNN> */
    EXPECT(t, "x", 4 + 'x');
    EXPECT(t, "\xC3\xA9\xC3\xBC", 268, 4 + 0xC3, 4 + 0xBC);
    /* user-defined pieces are cut out first; the space after one is still "▁" */
    EXPECT(t, "<|tool> hi", 267, 264);
    const int32_t seq[] = {2, 267, 264, 4 + 'x', 266, 1};
    char buf[32];
    size_t len;
    CHECK_OK(lc_tokenizer_decode(t, seq, 6, buf, sizeof buf, &len, &err), &err);
    CHECK(len == 13 && memcmp(buf, "<|tool> hix\n\n", 13) == 0, "gemma4 decode \"%.*s\"", (int)len, buf);
    bool known;
    CHECK(strcmp(lc_tokenizer_pre_name(t, &known), "gemma4") == 0 && known, "gemma4 pre name");
    lc_tokenizer_free(t);
}

static void test_bad_merges(void) {
    const char *pieces[3] = {"a", "b", "ab"};
    const char *bad[][1] = {{"ab"}, {" ab"}, {"a "}, {""}};
    for (size_t i = 0; i < LC_ARRAY_LEN(bad); i++) {
        lc_tokenizer_desc d = {0};
        d.kind = LC_TOKENIZER_BPE;
        d.n_vocab = 3;
        d.pieces = pieces;
        d.merges = bad[i];
        d.n_merges = 1;
        d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
        lc_tokenizer *t = NULL;
        lc_error err;
        CHECK(lc_tokenizer_create(&d, &t, &err) == LC_ERR_INVALID_ARG && !t, "merge \"%s\" refused", bad[i][0]);
    }
}

/* ---- naive reference on strings: the lowest-ranked "left right" among all
 * adjacent pairs, leftmost on ties; pre-tokens from lc_tok_pretok_next
 * (checked above against the regex). ------------------------------------- */
typedef struct {
    const char *s;
    size_t len;
    int64_t rank;
} merge_entry;

static int cmp_merge(const void *a, const void *b) {
    const merge_entry *x = a, *y = b;
    size_t l = LC_MIN(x->len, y->len);
    int c = memcmp(x->s, y->s, l);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

static int64_t find_rank(const merge_entry *m, int64_t n, const char *s, size_t len) {
    merge_entry key = {s, len, 0};
    const merge_entry *hit = bsearch(&key, m, (size_t)n, sizeof *m, cmp_merge);
    return hit ? hit->rank : -1;
}

static int64_t naive_bpe(const lc_tokenizer *t, const merge_entry *m, int64_t nm, const char *text, size_t len,
                         int32_t *out) {
    int64_t k = 0;
    char *mapped = malloc(2 * len + 1), *key = malloc(2 * len + 2);
    size_t *st = malloc((len + 1) * sizeof *st), *ln = malloc((len + 1) * sizeof *ln);
    for (size_t pos = 0; pos < len;) {
        size_t wl = lc_tok_pretok_next(LC_PRE_GPT2, text, len, pos), n = 0, ml = 0;
        for (size_t i = 0; i < wl; i++, n++) {
            st[n] = ml;
            ln[n] = lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp((uint8_t)text[pos + i]), mapped + ml);
            ml += ln[n];
        }
        for (;;) {
            int64_t best = -1;
            size_t bi = 0;
            for (size_t i = 0; i + 1 < n; i++) {
                memcpy(key, mapped + st[i], ln[i]);
                key[ln[i]] = ' ';
                memcpy(key + ln[i] + 1, mapped + st[i + 1], ln[i + 1]);
                int64_t r = find_rank(m, nm, key, ln[i] + ln[i + 1] + 1);
                if (r >= 0 && (best < 0 || r < best)) best = r, bi = i;
            }
            if (best < 0) break;
            ln[bi] += ln[bi + 1]; /* symbols are contiguous in mapped */
            memmove(st + bi + 1, st + bi + 2, (n - bi - 2) * sizeof *st);
            memmove(ln + bi + 1, ln + bi + 2, (n - bi - 2) * sizeof *ln);
            n--;
        }
        for (size_t i = 0; i < n; i++) out[k++] = lc_tokenizer_find(t, mapped + st[i], ln[i]);
        pos += wl;
    }
    free(mapped);
    free(key);
    free(st);
    free(ln);
    return k;
}

static const char *const WORDS[] = {
    "the", " the", "Hello", " world", "tokenizer", " longctx", "'s", "'ll", "don't", " ", "  ", "\n", "\n\n", "\t",
    "3", "333", "12345", ".", "...", "!?", "(", "é", "中文", "字", "日本語", "🦙", "😀", "e\xCC\x81", "½", "Ⅻ",
    "\xC2\xA0", "\xE3\x80\x80", "\xFF", "\x80", "\xE4\xB8", "<|endoftext|>", "internationalization", "Ġ",
};

static void test_gpt2_vocab(void) {
    char path[512];
    lc_test_shared("vocab/ggml-vocab-gpt-2.gguf", path, sizeof path);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (!g) return;
    CHECK_OK(lc_tokenizer_from_gguf(g, &t, &err), &err);
    lc_gguf_close(g);
    if (!t) return;
    /* Hand-derived from GGUF's merges (rank: "left right" -> id):
     *   " the"  -> Ġ t (0) -> 256 Ġt;  h e (2) -> 258 he;  Ġt he (6) -> 262 Ġthe
     *   "Hello" -> l l (41); e ll (439); ell o (10853); H ello (15240) -> 15496
     *   " longctx" -> o n (5); Ġ l (44); c t (54); on g (250); Ġl ong (634) -> 890
     *               Ġlong; ct x (49208) -> 49464 ctx; no merge "Ġlong ctx"
     *   " tokenizer " -> pre-tokens " tokenizer", " " (trailing space):
     *               Ġ t (0); e r (7); e n (12); Ġt o (28); i z (272); k en (3208);
     *               iz er (7253); Ġto ken (10985) -> 11241 Ġtoken, 7509 izer; 220 Ġ */
    EXPECT(t, " the", 262);
    EXPECT(t, "Hello", 15496);
    EXPECT(t, " longctx", 890, 49464);
    EXPECT(t, " tokenizer ", 11241, 7509, 220);
    /* Plain text: "<|endoftext|>" is not parsed as the special token 50256. */
    int64_t n = 0;
    int32_t *ids = tt_encode(t, "<|endoftext|>", 13, false, &n);
    CHECK(ids && n > 1, "special token text stays text");
    free(ids);
    CHECK(lc_tokenizer_type(t, 50256) == LC_TOKEN_CONTROL && lc_tokenizer_bos(t) == 50256 && !lc_tokenizer_add_bos(t),
          "GPT-2 specials");

    /* heap vs naive on random text */
    int64_t nm = lc_tokenizer_n_merges(t);
    merge_entry *m = malloc((size_t)nm * sizeof *m);
    for (int64_t i = 0; i < nm; i++) {
        m[i].s = lc_tokenizer_merge(t, i, &m[i].len);
        m[i].rank = i;
    }
    qsort(m, (size_t)nm, sizeof *m, cmp_merge);
    lc_rng r;
    lc_rng_seed(&r, 77);
    /* the last 3 texts are over 1 KiB: encode then uses its word cache */
    int cases = tt_quick() ? 100 : 500, bad = 0;
    static char text[4096];
    static int32_t want[4096];
    for (int c = 0; c < cases; c++) {
        size_t len = 0;
        int nw = c >= cases - 3 ? 400 : 1 + (int)lc_rng_below(&r, 30);
        for (int i = 0; i < nw; i++) {
            const char *w = WORDS[lc_rng_below(&r, LC_ARRAY_LEN(WORDS))];
            size_t l = strlen(w);
            if (len + l > sizeof text - 64) break;
            memcpy(text + len, w, l);
            len += l;
        }
        if (c >= cases - 3) CHECK(len >= 1024, "a long text of %zu bytes", len);
        int64_t nwant = naive_bpe(t, m, nm, text, len, want), ng = 0;
        int32_t *got = tt_encode(t, text, len, false, &ng);
        if (!got || !tt_same_ids(got, ng, want, nwant)) {
            if (bad++ < 3) {
                fprintf(stderr, "gpt2: heap and naive differ on \"%.*s\"\n", (int)len, text);
                tt_print_ids("naive", want, nwant);
                if (got) tt_print_ids("heap", got, ng);
            }
        }
        free(got);
    }
    CHECK(bad == 0, "gpt2: %d of %d random texts differ from the naive reference", bad, cases);
    free(m);
    lc_tokenizer_free(t);
}


/* Gemma 4 naive: spaces -> "▁", lines and newline runs as words (a newline
 * run that is a piece taken whole), the characters of a whole word merged by
 * lowest rank (no cutting), <0xNN> for what is no piece. */
static int64_t naive_gemma4(const lc_tokenizer *t, const merge_entry *m, int64_t nm, const char *raw, size_t raw_len,
                            int32_t *out) {
    size_t len = 0;
    char *text = malloc(3 * raw_len + 1), *key = malloc(3 * raw_len + 2);
    size_t *st = malloc((3 * raw_len + 1) * sizeof *st), *ln = malloc((3 * raw_len + 1) * sizeof *ln);
    for (size_t i = 0; i < raw_len; i++) {
        if (raw[i] == ' ') memcpy(text + len, "\xE2\x96\x81", 3), len += 3;
        else text[len++] = raw[i];
    }
    int64_t k = 0;
    for (size_t pos = 0; pos < len;) {
        size_t wl = lc_tok_pretok_next(LC_PRE_GEMMA4, text, len, pos), n = 0;
        int32_t whole = text[pos] == '\n' ? lc_tokenizer_find(t, text + pos, wl) : -1;
        if (whole >= 0) {
            out[k++] = whole;
            pos += wl;
            continue;
        }
        for (size_t i = 0; i < wl; n++) {
            st[n] = pos + i;
            ln[n] = lc_tok_utf8_unit_len((const unsigned char *)text + pos + i, wl - i);
            i += ln[n];
        }
        for (;;) {
            int64_t best = -1;
            size_t bi = 0;
            for (size_t i = 0; i + 1 < n; i++) {
                memcpy(key, text + st[i], ln[i]);
                key[ln[i]] = ' ';
                memcpy(key + ln[i] + 1, text + st[i + 1], ln[i + 1]);
                int64_t r = find_rank(m, nm, key, ln[i] + ln[i + 1] + 1);
                if (r >= 0 && (best < 0 || r < best)) best = r, bi = i;
            }
            if (best < 0) break;
            ln[bi] += ln[bi + 1];
            memmove(st + bi + 1, st + bi + 2, (n - bi - 2) * sizeof *st);
            memmove(ln + bi + 1, ln + bi + 2, (n - bi - 2) * sizeof *ln);
            n--;
        }
        for (size_t i = 0; i < n; i++) {
            int32_t id = lc_tokenizer_find(t, text + st[i], ln[i]);
            if (id >= 0) {
                out[k++] = id;
                continue;
            }
            for (size_t b = 0; b < ln[i]; b++) {
                char name[8];
                snprintf(name, sizeof name, "<0x%02X>", (unsigned char)text[st[i] + b]);
                out[k++] = lc_tokenizer_find(t, name, 6);
            }
        }
        pos += wl;
    }
    free(text);
    free(key);
    free(st);
    free(ln);
    return k;
}

/* Gemma 4's vocabulary: the encoder (lines cut where no merge can join two
 * characters, word cache) against the naive whole-line merge on random text. */
static void test_gemma4_vocab(void) {
    char path[512];
    lc_test_shared("vocab/ggml-vocab-gemma-4.gguf", path, sizeof path);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (!g) return;
    CHECK_OK(lc_tokenizer_from_gguf(g, &t, &err), &err);
    lc_gguf_close(g);
    if (!t) return;
    int64_t nm = lc_tokenizer_n_merges(t);
    merge_entry *m = malloc((size_t)nm * sizeof *m);
    for (int64_t i = 0; i < nm; i++) {
        m[i].s = lc_tokenizer_merge(t, i, &m[i].len);
        m[i].rank = i;
    }
    qsort(m, (size_t)nm, sizeof *m, cmp_merge);
    lc_rng r;
    lc_rng_seed(&r, 78);
    int cases = tt_quick() ? 60 : 300, bad = 0;
    static char text[4096];
    static int32_t want[3 * 4096];
    for (int c = 0; c < cases; c++) {
        size_t len = 0;
        int nw = c >= cases - 3 ? 400 : 1 + (int)lc_rng_below(&r, 30);
        for (int i = 0; i < nw; i++) {
            const char *w = WORDS[lc_rng_below(&r, LC_ARRAY_LEN(WORDS))];
            size_t l = strlen(w);
            if (len + l > sizeof text - 64) break;
            memcpy(text + len, w, l);
            len += l;
        }
        int64_t nwant = naive_gemma4(t, m, nm, text, len, want), ng = 0;
        int32_t *got = tt_encode(t, text, len, false, &ng);
        if (!got || !tt_same_ids(got, ng, want, nwant)) {
            if (bad++ < 3) {
                fprintf(stderr, "gemma-4: encoder and naive differ on \"%.*s\"\n", (int)len, text);
                tt_print_ids("naive", want, nwant);
                if (got) tt_print_ids("encoder", got, ng);
            }
        }
        free(got);
    }
    CHECK(bad == 0, "gemma-4: %d of %d random texts differ from the naive reference", bad, cases);
    free(m);
    lc_tokenizer_free(t);
}

int main(void) {
    test_pretokenize_reference("pretokenize_gpt2.txt", LC_PRE_GPT2);
    test_pretokenize_reference("pretokenize_llama3.txt", LC_PRE_LLAMA3);
    test_pretokenize_reference("pretokenize_qwen2.txt", LC_PRE_QWEN2);
    test_pretokenize_reference("pretokenize_gpt4o.txt", LC_PRE_GPT4O);
    test_pretokenize_reference("pretokenize_command-r.txt", LC_PRE_COMMAND_R);
    test_pretokenize_reference("pretokenize_deepseek-llm.txt", LC_PRE_DEEPSEEK_LLM);
    test_pretokenize_reference("pretokenize_gemma4.txt", LC_PRE_GEMMA4);
    test_tiny_hand_derived();
    test_user_tokens();
    test_gemma4();
    test_bad_merges();
    test_gpt2_vocab();
    test_gemma4_vocab();
    return lc_test_finish("test_tokenizer_bpe");
}
