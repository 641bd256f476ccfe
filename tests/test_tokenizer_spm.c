/*
 * SPM (SentencePiece-BPE) tokenizer: hand-derived cases on tiny vocabularies
 * and on aidreams-tok512.bin, the heap encoder against a naive O(n^2)
 * reference (the llama2.c run.c algorithm over strings) on random text,
 * decoding rules, the encode/decode buffer contract, and refusal of bad
 * descriptions and malformed llama2.c tokenizer.bin files.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "test_tokenizer_util.h"

#define U2581 "\xE2\x96\x81"

/* ---- a tiny vocabulary built by hand -----------------------------------
 *   0 <unk> (unknown)  1 <s>  2 </s> (control)  3..258 <0x00>..<0xFF> (byte)
 *   then the pieces below with their scores.                                */
typedef struct {
    const char *piece;
    float score;
} piece_score;

static const piece_score TINY[] = {
    {U2581, -1.0f}, {"a", -2.0f}, {"b", -2.0f}, {"c", -2.0f},   /* 259..262 */
    {"ab", -5.0f},  {"ba", -5.0f},                              /* 263, 264: a tie */
    {"abc", -3.0f}, {U2581 "a", -4.0f}, {"bc", -6.0f},          /* 265, 266, 267 */
    {"<", -2.0f},   {"s", -2.0f},   {">", -2.0f}, {"<s", -1.0f}, /* 268..271: "<s>" must stay text */
    {"0x41>", -1.0f}, {"<0", -1.0f},                            /* 272, 273: so "<0x41>" could form */
    {"\xC3\xA9", -2.0f},                                        /* 274: é */
};
enum { TINY_BASE = 259, TINY_N = TINY_BASE + (int)(sizeof TINY / sizeof TINY[0]) };

static lc_tokenizer *tiny_spm(bool space_prefix, bool with_bytes, int32_t unk) {
    const char *pieces[TINY_N];
    float scores[TINY_N];
    int32_t types[TINY_N];
    static char bytes[256][8];
    pieces[0] = "<unk>", pieces[1] = "<s>", pieces[2] = "</s>";
    types[0] = LC_TOKEN_UNKNOWN, types[1] = types[2] = LC_TOKEN_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], with_bytes ? "<0x%02X>" : "[b%02X]", b);
        pieces[3 + b] = bytes[b];
        types[3 + b] = with_bytes ? LC_TOKEN_BYTE : LC_TOKEN_UNUSED;
    }
    for (int i = 0; i < TINY_N; i++) scores[i] = 0.0f;
    for (int i = 0; i < TINY_N - TINY_BASE; i++) {
        pieces[TINY_BASE + i] = TINY[i].piece;
        scores[TINY_BASE + i] = TINY[i].score;
        types[TINY_BASE + i] = LC_TOKEN_NORMAL;
    }
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_SPM;
    d.n_vocab = TINY_N;
    d.pieces = pieces;
    d.scores = scores;
    d.types = types;
    d.bos_id = 1, d.eos_id = 2, d.unk_id = unk, d.pad_id = -1;
    d.add_bos = true;
    d.add_space_prefix = space_prefix;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    return t;
}

static void expect_ids(const lc_tokenizer *t, const char *text, bool bos, const int32_t *want, int64_t n_want) {
    int64_t n = 0;
    int32_t *ids = tt_encode(t, text, strlen(text), bos, &n);
    CHECK(ids && tt_same_ids(ids, n, want, n_want), "encode \"%s\"", text);
    if (ids && !tt_same_ids(ids, n, want, n_want)) {
        tt_print_ids("want", want, n_want);
        tt_print_ids("got", ids, n);
    }
    free(ids);
}
#define EXPECT(t, text, bos, ...)                                                        \
    do {                                                                                 \
        const int32_t want_[] = {__VA_ARGS__};                                           \
        expect_ids(t, text, bos, want_, (int64_t)(sizeof want_ / sizeof want_[0]));      \
    } while (0)

static void test_tiny_hand_derived(void) {
    lc_tokenizer *t = tiny_spm(false, true, 0);
    if (!t) return;
    /* "aba": pairs "ab" (-5) and "ba" (-5) tie: the leftmost merges first,
     * leaving "ab" + "a". */
    EXPECT(t, "aba", false, 263, 260);
    /* "bab": "ba" (-5) and "ab" (-5) tie again: leftmost "ba" + "b". */
    EXPECT(t, "bab", false, 264, 261);
    /* "abc": "ab" (-5) vs "bc" (-6): "ab" wins, then "ab"+"c" = "abc" (-3). */
    EXPECT(t, "abc", false, 265);
    /* "bca": "bc" (-6) is the only pair that is a piece ("ca" is not); then
     * "bc"+"a" is not a piece: "bc", "a". */
    EXPECT(t, "bca", false, 267, 260);
    /* "a b" without prefix: ' ' becomes "▁"; "▁b" is not a piece, "a▁" not
     * either: "a" "▁" "b". */
    EXPECT(t, "a b", false, 260, 259, 261);
    /* "ab a": "▁a" (-4) beats "ab" (-5): order is by score, not position. */
    EXPECT(t, "ab a", false, 263, 266);
    /* Byte fallback: 'x' is not a piece -> <0x78> = 3 + 0x78. */
    EXPECT(t, "x", false, 3 + 0x78);
    /* é is a piece; è (C3 A8) is not: two byte tokens. */
    EXPECT(t, "\xC3\xA9\xC3\xA8", false, 274, 3 + 0xC3, 3 + 0xA8);
    /* Invalid UTF-8 is byte-fallback too, one byte at a time. */
    EXPECT(t, "\xFF" "a\x80", false, 3 + 0xFF, 260, 3 + 0x80);
    /* "<s>": "<s" (-1) forms, but "<s>" is a control piece and is never
     * produced by a merge: "<s" ">". */
    EXPECT(t, "<s>", false, 271, 270);
    /* "<0x41>" as text: "<0" and "0x41>" exist but the byte piece <0x41> is
     * never a merge result, and its characters fall back to bytes. */
    EXPECT(t, "<0x41>", false, 273, 3 + 'x', 3 + '4', 3 + '1', 270);
    /* BOS only when asked; the empty text is just BOS (or nothing). */
    EXPECT(t, "a", true, 1, 260);
    expect_ids(t, "", false, NULL, 0);
    EXPECT(t, "", true, 1);
    lc_tokenizer_free(t);

    /* With the space prefix: "a" -> "▁a" (-4). */
    t = tiny_spm(true, true, 0);
    if (!t) return;
    EXPECT(t, "a", false, 266);
    /* " a" -> "▁▁a": "▁a" at position 1 is the only mergeable pair. */
    EXPECT(t, " a", false, 259, 266);
    lc_tokenizer_free(t);

    /* No byte pieces: unknown characters become <unk> (id 0), one per byte. */
    t = tiny_spm(false, false, 0);
    if (!t) return;
    EXPECT(t, "xa", false, 0, 260);
    lc_tokenizer_free(t);
    /* ... and with no <unk> either, encoding refuses with a message. */
    t = tiny_spm(false, false, -1);
    if (!t) return;
    lc_error err;
    int64_t n;
    int32_t ids[8];
    CHECK(lc_tokenizer_encode(t, "xa", 2, false, ids, 8, &n, &err) == LC_ERR_UNSUPPORTED, "no byte token, no unk");
    CHECK(strstr(err.msg, "0x78") != NULL, "message names the byte: %s", err.msg);
    lc_tokenizer_free(t);
}

static void test_buffers_and_decode_rules(void) {
    lc_tokenizer *t = tiny_spm(true, true, 0);
    if (!t) return;
    lc_error err;
    int32_t ids[4];
    int64_t n = -1;
    /* "abc abc" -> "▁abc▁abc": ▁a, bc, ▁a, bc (see the scores). Needs 4+1. */
    CHECK(lc_tokenizer_encode(t, "abc abc", 7, true, ids, 4, &n, &err) == LC_ERR_TOO_LARGE, "cap too small");
    CHECK(n == 5, "n reports what is needed: %lld", (long long)n);
    CHECK(ids[0] == 1 && ids[1] == 266, "the first cap ids are written");
    CHECK(lc_tokenizer_encode(t, "abc", 3, false, NULL, 0, &n, &err) == LC_ERR_TOO_LARGE && n == 2, "size query");
    CHECK(lc_tokenizer_encode(t, NULL, 3, false, NULL, 0, &n, &err) == LC_ERR_INVALID_ARG, "NULL text");
    CHECK(lc_tokenizer_encode(t, "a", 1, false, NULL, 0, NULL, &err) == LC_ERR_INVALID_ARG, "NULL n");
    /* over the per-call limit: refused before the text is read */
    CHECK(lc_tokenizer_encode(t, "a", (size_t)1 << 40, false, NULL, 0, &n, &err) == LC_ERR_TOO_LARGE, "1 TiB of text");

    /* Decoding: "▁" -> ' ', the first space of a text (or after BOS) is the
     * prefix encode added and is dropped; control tokens decode to nothing. */
    const int32_t seq[] = {1, 266, 267, 266, 2}; /* <s> ▁a bc ▁a </s> */
    char buf[64];
    size_t len;
    CHECK_OK(lc_tokenizer_decode(t, seq, 5, buf, sizeof buf, &len, &err), &err);
    CHECK(len == 5 && strcmp(buf, "abc a") == 0, "decode: \"%s\" (%zu)", buf, len);
    CHECK(lc_tokenizer_decode_token(t, -1, 266, buf, sizeof buf) == 1 && buf[0] == 'a', "strip at start");
    CHECK(lc_tokenizer_decode_token(t, 1, 266, buf, sizeof buf) == 1, "strip after BOS");
    CHECK(lc_tokenizer_decode_token(t, 267, 266, buf, sizeof buf) == 2 && memcmp(buf, " a", 2) == 0, "keep inside");
    CHECK(lc_tokenizer_decode_token(t, -1, 1, buf, sizeof buf) == 0, "control decodes to nothing");
    CHECK(lc_tokenizer_decode_token(t, -1, 0, buf, sizeof buf) == 3 && memcmp(buf, "\xE2\x96\x85", 3) == 0, "unk");
    CHECK(lc_tokenizer_decode_token(t, -1, 3 + 0xE4, buf, sizeof buf) == 1 && (unsigned char)buf[0] == 0xE4,
          "byte token: half a character");
    CHECK(lc_tokenizer_decode_token(t, -1, TINY_N, buf, sizeof buf) == 0, "id out of range");
    CHECK(lc_tokenizer_decode(t, seq, 5, buf, 3, &len, &err) == LC_ERR_TOO_LARGE && len == 5, "decode cap");
    const int32_t bad[] = {266, -3};
    CHECK(lc_tokenizer_decode(t, bad, 2, buf, sizeof buf, &len, &err) == LC_ERR_INVALID_ARG, "bad id refused");
    CHECK(lc_tokenizer_decode(t, seq, 5, buf, 5, &len, &err) == LC_OK && memcmp(buf, "abc a", 5) == 0,
          "exact fit without NUL");
    /* Accessors */
    size_t pl;
    const char *p = lc_tokenizer_piece(t, 266, &pl);
    CHECK(p && pl == 4 && memcmp(p, U2581 "a", 4) == 0, "piece");
    CHECK(lc_tokenizer_find(t, U2581 "a", 4) == 266 && lc_tokenizer_find(t, "zz", 2) == -1, "find");
    CHECK(lc_tokenizer_score(t, 266) == -4.0f && lc_tokenizer_type(t, 1) == LC_TOKEN_CONTROL, "score, type");
    CHECK(lc_tokenizer_bos(t) == 1 && lc_tokenizer_eos(t) == 2 && lc_tokenizer_unk(t) == 0 && lc_tokenizer_pad(t) == -1,
          "special ids");
    CHECK(lc_tokenizer_kind_of(t) == LC_TOKENIZER_SPM && lc_tokenizer_n_vocab(t) == TINY_N, "kind, n_vocab");
    lc_tokenizer_free(t);
}

static void test_bad_descriptions(void) {
    const char *pieces[3] = {"a", "b", "ab"};
    float scores[3] = {0, 0, 0};
    int32_t types[3] = {1, 1, 1};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_SPM;
    d.n_vocab = 3;
    d.pieces = pieces;
    d.scores = scores;
    d.types = types;
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    lc_tokenizer_free(t);
    lc_tokenizer_desc b = d;
    b.bos_id = 3;
    CHECK(lc_tokenizer_create(&b, &t, &err) == LC_ERR_INVALID_ARG && !t, "BOS out of range: %s", err.msg);
    b = d, b.n_vocab = 0;
    CHECK(lc_tokenizer_create(&b, &t, &err) == LC_ERR_INVALID_ARG, "empty vocabulary");
    b = d, b.kind = (lc_tokenizer_kind)7;
    CHECK(lc_tokenizer_create(&b, &t, &err) == LC_ERR_INVALID_ARG, "bad kind");
    scores[1] = NAN;
    CHECK(lc_tokenizer_create(&d, &t, &err) == LC_ERR_INVALID_ARG, "NaN score");
    scores[1] = 0;
    types[2] = 9;
    CHECK(lc_tokenizer_create(&d, &t, &err) == LC_ERR_INVALID_ARG, "bad type");
    types[2] = 1;
    pieces[1] = NULL;
    CHECK(lc_tokenizer_create(&d, &t, &err) == LC_ERR_INVALID_ARG, "NULL piece");
    pieces[1] = "b";
    size_t lens[3] = {1, 1, (size_t)1 << 20};
    b = d, b.piece_lens = lens;
    CHECK(lc_tokenizer_create(&b, &t, &err) == LC_ERR_TOO_LARGE, "huge piece");
    CHECK(lc_tokenizer_create(NULL, &t, &err) == LC_ERR_INVALID_ARG, "NULL desc");
}

/* ---- naive reference: llama2.c's loop (best pair over the whole list,
 * strictly greater score so the leftmost wins), on strings ---------------- */
static bool mergeable(const lc_tokenizer *t, int32_t id) {
    int32_t ty = lc_tokenizer_type(t, id);
    return id >= 0 && (ty == LC_TOKEN_NORMAL || ty == LC_TOKEN_USER_DEFINED || ty == LC_TOKEN_UNDEFINED);
}

static int64_t naive_spm(const lc_tokenizer *t, const char *text, size_t len, int32_t *out) {
    /* normalise */
    size_t cap = 3 * len + 3, nl = 0;
    char *norm = malloc(cap);
    if (lc_tokenizer_add_space_prefix(t) && len) memcpy(norm, U2581, 3), nl = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(norm + nl, U2581, 3), nl += 3;
        else norm[nl++] = text[i];
    }
    /* symbols as (start, len); characters with the strict UTF-8 rule */
    size_t *st = malloc((nl + 1) * sizeof *st), *ln = malloc((nl + 1) * sizeof *ln), n = 0;
    for (size_t i = 0; i < nl;) {
        unsigned char c = (unsigned char)norm[i];
        size_t l = 1;
        /* independent of src/tokenizer/unicode.c: validate via mbrtowc-free rules */
        if (c >= 0xC2 && c <= 0xDF) l = 2;
        else if (c >= 0xE0 && c <= 0xEF) l = 3;
        else if (c >= 0xF0 && c <= 0xF4) l = 4;
        bool ok = l > 1 && i + l <= nl;
        for (size_t k = 1; ok && k < l; k++) ok = ((unsigned char)norm[i + k] & 0xC0) == 0x80;
        if (ok && l == 3) {
            unsigned char c1 = (unsigned char)norm[i + 1];
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) ok = false;
        }
        if (ok && l == 4) {
            unsigned char c1 = (unsigned char)norm[i + 1];
            if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) ok = false;
        }
        if (!ok) l = 1;
        st[n] = i, ln[n] = l, n++;
        i += l;
    }
    for (;;) {
        float best = -INFINITY;
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t id = lc_tokenizer_find(t, norm + st[i], ln[i] + ln[i + 1]);
            if (mergeable(t, id) && (bi == SIZE_MAX || lc_tokenizer_score(t, id) > best))
                best = lc_tokenizer_score(t, id), bi = i;
        }
        if (bi == SIZE_MAX) break;
        ln[bi] += ln[bi + 1];
        memmove(st + bi + 1, st + bi + 2, (n - bi - 2) * sizeof *st);
        memmove(ln + bi + 1, ln + bi + 2, (n - bi - 2) * sizeof *ln);
        n--;
    }
    int64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = lc_tokenizer_find(t, norm + st[i], ln[i]);
        if (mergeable(t, id)) out[k++] = id;
        else
            for (size_t j = 0; j < ln[i]; j++) {
                char name[8];
                snprintf(name, sizeof name, "<0x%02X>", (unsigned char)norm[st[i] + j]);
                int32_t b = lc_tokenizer_find(t, name, 6);
                out[k++] = b >= 0 ? b : lc_tokenizer_unk(t);
            }
    }
    free(norm);
    free(st);
    free(ln);
    return k;
}

static const char *const WORDS[] = {
    "the", "a", "whispers", "unfolding", "gentle", "patterns", "thresholds", " ", "  ", "\n", "\t", ".", ",", "!",
    "Hello", "world", "I", "don't", "ö", "é", "中文", "字", "日本語", "🦙", "😀", "\xE2\x96\x81", "e\xCC\x81", "3",
    "333", "12345", "-", "(", ")", "\xFF", "\x80", "\xE4\xB8", "\xC0\xAF", "<s>", "<0x41>", "through", "echo", "weights",
};

static size_t random_text(lc_rng *r, char *buf, size_t cap, int n_words) {
    size_t len = 0;
    for (int i = 0; i < n_words; i++) {
        const char *w = WORDS[lc_rng_below(r, LC_ARRAY_LEN(WORDS))];
        size_t l = strlen(w);
        if (len + l + 1 >= cap) break;
        memcpy(buf + len, w, l);
        len += l;
        if (lc_rng_below(r, 3) == 0) buf[len++] = ' ';
    }
    return len;
}

/* cases random texts of 1..words words; the last `long_cases` have 250 to
 * 400 words (over 1 KiB: encode then uses its word cache). */
static void check_against_naive(const lc_tokenizer *t, const char *name, int cases, int words) {
    lc_rng r;
    lc_rng_seed(&r, 1234);
    static char text[4096];
    const int long_cases = 3;
    cases += long_cases;
    int32_t *want = malloc(4 * sizeof text * sizeof *want);
    int bad = 0;
    for (int c = 0; c < cases; c++) {
        int n_words = c >= cases - long_cases ? 250 + (int)lc_rng_below(&r, 150) : 1 + (int)lc_rng_below(&r, (uint64_t)words);
        size_t len = random_text(&r, text, sizeof text, n_words);
        if (c >= cases - long_cases) CHECK(len >= 1024, "a long text of %zu bytes", len);
        int64_t nw = naive_spm(t, text, len, want), n = 0;
        int32_t *got = tt_encode(t, text, len, false, &n);
        if (!got || !tt_same_ids(got, n, want, nw)) {
            if (bad++ < 3) {
                fprintf(stderr, "%s: heap and naive differ on \"%.*s\"\n", name, (int)len, text);
                tt_print_ids("naive", want, nw);
                if (got) tt_print_ids("heap", got, n);
            }
        }
        free(got);
    }
    CHECK(bad == 0, "%s: %d of %d random texts differ from the naive reference", name, bad, cases);
    free(want);
}

static void test_against_naive_tiny(void) {
    lc_tokenizer *t = tiny_spm(true, true, 0);
    if (t) check_against_naive(t, "tiny", 300, 40);
    lc_tokenizer_free(t);
}

/* ---- aidreams-tok512.bin: hand-derived -----------------------------------
 * Pieces used (id: piece score), spaces shown as ▁:
 *   263 ▁t -4   277 ▁th -18   312 ▁the -53   417 th -158
 *   261 er -2   270 is -11    272 ▁w -13     288 ers -29   292 isp -33
 *   298 hisp -39   304 ▁whisp -45   325 ▁whispers -66   429 ▁ -170
 *   bytes <0xNN> = 3 + NN; "Ö" is not a piece (ö is, 508).              */
static void test_aidreams_hand_derived(void) {
    char path[512];
    lc_test_shared("models/aidreams-tok512.bin", path, sizeof path);
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_load_llama2c(path, 512, &t, &err), &err);
    if (!t) return;
    /* "the" -> "▁the": pairs ▁t (-4), th (-158): ▁t first; then ▁th (-18);
     * then ▁the (-53). */
    EXPECT(t, "the", false, 312);
    /* "whispers" -> "▁whispers": er (-2), is (-11), ▁w (-13), then ers (-29)
     * (formed after er), isp (-33, after is), hisp (-39), ▁whisp (-45),
     * ▁whispers (-66). */
    EXPECT(t, "whispers", false, 325);
    /* "Ö" -> "▁Ö": "▁Ö" is not a piece: ▁ (429) + bytes C3 96. */
    EXPECT(t, "\xC3\x96", false, 429, 3 + 0xC3, 3 + 0x96);
    /* With BOS, as llama2.c's run.c does for a prompt. */
    EXPECT(t, "the whispers", true, 1, 312, 325);
    size_t pl;
    const char *p = lc_tokenizer_piece(t, 1, &pl);
    CHECK(p && pl == 3 && memcmp(p, "<s>", 3) == 0, "\\n<s>\\n becomes <s>");
    p = lc_tokenizer_piece(t, 263, &pl);
    CHECK(p && pl == 4 && memcmp(p, U2581 "t", 4) == 0, "' t' becomes '▁t'");
    CHECK(lc_tokenizer_type(t, 0) == LC_TOKEN_UNKNOWN && lc_tokenizer_type(t, 2) == LC_TOKEN_CONTROL &&
              lc_tokenizer_type(t, 3) == LC_TOKEN_BYTE && lc_tokenizer_type(t, 300) == LC_TOKEN_NORMAL,
          "types");
    check_against_naive(t, "aidreams", tt_quick() ? 60 : 300, 60);
    lc_tokenizer_free(t);
}

static void test_llama2_against_naive(void) {
    char path[512];
    lc_test_shared("models/llama2-tokenizer.bin", path, sizeof path);
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_load_llama2c(path, 32000, &t, &err), &err);
    if (!t) return;
    check_against_naive(t, "llama2", tt_quick() ? 60 : 300, 60);
    lc_tokenizer_free(t);
}

/* ---- malformed tokenizer.bin ------------------------------------------- */
static size_t put_i32(unsigned char *p, int32_t v) {
    memcpy(p, &v, 4);
    return 4;
}

/* A valid 5-token file: <unk>, \n<s>\n, \n</s>\n, "a", " b". */
static size_t make_bin(unsigned char *buf) {
    const char *pieces[5] = {"<unk>", "\n<s>\n", "\n</s>\n", "a", " b"};
    size_t w = put_i32(buf, 6);
    for (int i = 0; i < 5; i++) {
        float s = -(float)i;
        memcpy(buf + w, &s, 4);
        w += 4;
        w += put_i32(buf + w, (int32_t)strlen(pieces[i]));
        memcpy(buf + w, pieces[i], strlen(pieces[i]));
        w += strlen(pieces[i]);
    }
    return w;
}

static void test_malformed_llama2c(void) {
    unsigned char buf[256];
    size_t n = make_bin(buf);
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_load_llama2c_memory(buf, n, 5, &t, &err), &err);
    if (t) {
        /* "a b" -> "▁a▁b": "▁b" is a piece, "▁a" and "▁" are not, and there
         * are no byte pieces: the prefix's 3 bytes become <unk> each. */
        EXPECT(t, "a b", false, 0, 0, 0, 3, 4);
        lc_tokenizer_free(t);
        t = NULL;
    }
    /* every truncation is refused cleanly */
    int refused = 0;
    for (size_t cut = 0; cut < n; cut++) {
        lc_status st = lc_tokenizer_load_llama2c_memory(buf, cut, 5, &t, &err);
        refused += st == LC_ERR_FORMAT && t == NULL;
        lc_tokenizer_free(t);
        t = NULL;
    }
    CHECK(refused == (int)n, "%d of %zu truncations refused", refused, n);
    /* trailing bytes = wrong vocabulary size */
    CHECK(lc_tokenizer_load_llama2c_memory(buf, n, 4, &t, &err) == LC_ERR_FORMAT && strstr(err.msg, "vocabulary size"),
          "too small n_vocab: %s", err.msg);
    CHECK(lc_tokenizer_load_llama2c_memory(buf, n, 6, &t, &err) == LC_ERR_FORMAT, "too large n_vocab");
    CHECK(lc_tokenizer_load_llama2c_memory(buf, n, 0, &t, &err) == LC_ERR_INVALID_ARG, "n_vocab 0");
    CHECK(lc_tokenizer_load_llama2c_memory(buf, n, -5, &t, &err) == LC_ERR_INVALID_ARG, "n_vocab < 0");
    /* huge / negative lengths, bad max_token_length, NaN score */
    unsigned char bad[256];
    memcpy(bad, buf, n);
    put_i32(bad + 4 + 4, 0x7FFFFFFF);
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "huge length: %s", err.msg);
    put_i32(bad + 4 + 4, -1);
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "negative length");
    put_i32(bad + 4 + 4, 7); /* > max_token_length 6 */
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "length > max_token_length");
    memcpy(bad, buf, n);
    put_i32(bad, 0);
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "max_token_length 0");
    put_i32(bad, 0x7FFFFFFF);
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "max_token_length huge");
    memcpy(bad, buf, n);
    float nan = NAN;
    memcpy(bad + 4, &nan, 4);
    CHECK(lc_tokenizer_load_llama2c_memory(bad, n, 5, &t, &err) == LC_ERR_FORMAT, "NaN score");
    CHECK(lc_tokenizer_load_llama2c("/nonexistent/tokenizer.bin", 32000, &t, &err) == LC_ERR_IO, "missing file");
    CHECK(t == NULL, "nothing returned on failure");
    /* a real file with the wrong size, and truncated */
    char path[512];
    lc_test_shared("models/llama2-tokenizer.bin", path, sizeof path);
    CHECK(lc_tokenizer_load_llama2c(path, 512, &t, &err) == LC_ERR_FORMAT, "llama2 vocab as 512 tokens");
    CHECK(lc_tokenizer_load_llama2c(path, 32001, &t, &err) == LC_ERR_FORMAT, "llama2 vocab as 32001 tokens");
    size_t flen;
    char *file = tt_read_file(path, &flen);
    CHECK(file != NULL, "read %s", path);
    if (file) {
        lc_rng r;
        lc_rng_seed(&r, 99);
        for (int i = 0; i < 20; i++) {
            size_t cut = (size_t)lc_rng_below(&r, flen);
            CHECK(lc_tokenizer_load_llama2c_memory(file, cut, 32000, &t, &err) == LC_ERR_FORMAT, "cut at %zu", cut);
        }
        free(file);
    }
}

int main(void) {
    test_tiny_hand_derived();
    test_buffers_and_decode_rules();
    test_bad_descriptions();
    test_against_naive_tiny();
    test_malformed_llama2c();
    test_aidreams_hand_derived();
    test_llama2_against_naive();
    return lc_test_finish("test_tokenizer_spm");
}
