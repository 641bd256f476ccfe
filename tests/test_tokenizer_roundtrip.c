/*
 * decode(encode(x)) == x, byte for byte, for every tokenizer we can load
 * (llama2.c tokenizer.bin x2, the GGUF vocabularies of Llama-2, Phi-3,
 * GPT-2, Llama-3, Qwen2, Command-R, DeepSeek-LLM and Gemma 4, aidreams' GGUF): random bytes (mostly invalid UTF-8), random
 * Unicode text (CJK, emoji, combining marks, other scripts, odd whitespace),
 * valid text with invalid bytes spliced in, the real Chinese article, and a
 * 1 MB text (which also shows encoding is not quadratic: a quadratic SPM
 * would take minutes). Streaming decode (decode_token with prev_id) must give
 * the same bytes as decode, though pieces may split UTF-8 characters.
 *
 * The one documented exception: SPM (and Gemma 4's BPE) writes spaces as "▁"
 * (U+2581), so a literal "▁" in the text decodes as a space; the random text
 * avoids it and a check pins the behaviour down. DeepSeek-LLM has a second:
 * the bytes that never occur in UTF-8 (C0, C1, F5-FF) have no byte token of
 * their own, only user-defined tokens "ø", "ö", ... (as llama.cpp, they decode
 * as those characters), so its random bytes avoid them.
 */
#include <string.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer_internal.h"

static int roundtrip(const lc_tokenizer *t, const char *name, const char *text, size_t len, bool bos) {
    int64_t n = 0;
    int32_t *ids = tt_encode(t, text, len, bos, &n);
    if (!ids) return 0;
    size_t dl = 0;
    char *dec = tt_decode(t, ids, n, &dl);
    int ok = dec && dl == len && memcmp(dec, text, len) == 0;
    /* streaming: token by token with the previous id */
    char *stream = malloc(len + 64);
    size_t w = 0;
    bool fits = true;
    for (int64_t i = 0; i < n && fits; i++) {
        size_t k = lc_tokenizer_decode_token(t, i ? ids[i - 1] : -1, ids[i], NULL, 0);
        if (w + k > len + 64) fits = false;
        else w += lc_tokenizer_decode_token(t, i ? ids[i - 1] : -1, ids[i], stream + w, k);
    }
    int stream_ok = fits && w == len && memcmp(stream, text, len) == 0;
    if (!ok || !stream_ok) {
        size_t at = 0;
        while (dec && at < len && at < dl && dec[at] == text[at]) at++;
        fprintf(stderr, "%s: round trip of %zu bytes fails (decode %zu bytes, first difference at %zu, stream %s)\n",
                name, len, dl, at, stream_ok ? "ok" : "differs");
        if (len < 200) {
            fprintf(stderr, "  text:");
            for (size_t i = 0; i < len; i++) fprintf(stderr, " %02x", (unsigned char)text[i]);
            fprintf(stderr, "\n");
            tt_print_ids("ids", ids, n);
        }
    }
    free(stream);
    free(dec);
    free(ids);
    return ok && stream_ok;
}

/* Random valid UTF-8 from a mix of blocks (no surrogates, no U+2581). */
static size_t random_unicode(lc_rng *r, char *buf, size_t n_chars) {
    static const uint32_t ranges[][2] = {
        {0x20, 0x7E},     {0x20, 0x20},     {0x09, 0x0D},     {0xA0, 0x24F},   {0x300, 0x36F}, /* combining */
        {0x370, 0x3FF},   {0x400, 0x4FF},   {0x590, 0x6FF},   {0x900, 0x97F},  {0xE00, 0xE7F},
        {0x2000, 0x206F}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xFF00, 0xFFEF},
        {0x1F300, 0x1FAFF}, {0x10000, 0x1000F}, {0xE000, 0xE0FF}, {0x20000, 0x2A6DF}, {0x0, 0x1F},
    };
    size_t w = 0;
    for (size_t i = 0; i < n_chars; i++) {
        const uint32_t *rg = ranges[lc_rng_below(r, LC_ARRAY_LEN(ranges))];
        uint32_t cp = rg[0] + (uint32_t)lc_rng_below(r, rg[1] - rg[0] + 1);
        if (cp == 0x2581) cp = 0x2582;
        unsigned char *o = (unsigned char *)buf + w;
        if (cp < 0x80) o[0] = (unsigned char)cp, w += 1;
        else if (cp < 0x800) o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 63)), w += 2;
        else if (cp < 0x10000)
            o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63)),
            o[2] = (unsigned char)(0x80 | (cp & 63)), w += 3;
        else
            o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | ((cp >> 12) & 63)),
            o[2] = (unsigned char)(0x80 | ((cp >> 6) & 63)), o[3] = (unsigned char)(0x80 | (cp & 63)), w += 4;
    }
    return w;
}

/* b, or a continuation byte in place of one that never occurs in UTF-8. */
static unsigned utf8_byte(unsigned b) { return (b == 0xC0 || b == 0xC1 || b >= 0xF5) ? 0x80 | (b & 0x3F) : b; }

static void check_tokenizer(const lc_tokenizer *t, const char *name, const char *article, size_t article_len) {
    const int quick = tt_quick();
    lc_rng r;
    lc_rng_seed(&r, 2024);
    enum { MAXB = 8192 };
    char *buf = malloc(MAXB * 4 + 16);
    int cases = 0, ok = 0;
    const bool no_utf8_free_bytes = strstr(name, "deepseek") != NULL;
#define RANDOM_BYTE(lo, span)                                                                   \
    (no_utf8_free_bytes ? (char)utf8_byte((unsigned)(lo) + (unsigned)lc_rng_below(&r, (span))) \
                        : (char)((unsigned)(lo) + (unsigned)lc_rng_below(&r, (span))))
    /* random bytes */
    for (int c = 0; c < (quick ? 40 : 200); c++) {
        size_t len = (size_t)lc_rng_below(&r, c < 20 ? 8 : 2000);
        for (size_t i = 0; i < len; i++) buf[i] = RANDOM_BYTE(0, 256);
        ok += roundtrip(t, name, buf, len, c % 2 == 0), cases++;
    }
    /* random Unicode text */
    for (int c = 0; c < (quick ? 40 : 200); c++) {
        size_t len = random_unicode(&r, buf, (size_t)lc_rng_below(&r, c < 20 ? 6 : 1500));
        ok += roundtrip(t, name, buf, len, c % 3 == 0), cases++;
    }
    /* valid text with invalid bytes spliced in */
    for (int c = 0; c < (quick ? 20 : 100); c++) {
        size_t len = random_unicode(&r, buf, 300);
        for (int k = 0; k < 10 && len; k++) buf[lc_rng_below(&r, len)] = RANDOM_BYTE(0x80, 128);
        ok += roundtrip(t, name, buf, len, false), cases++;
    }
    /* space patterns that exercise the SPM prefix and the pre-tokenizers */
    static const char *const edge[] = {" ", "  ", " x", "x ", "\n", " \n ", "\t \t", "a  b   c    ", "'s'S 'll",
                                       "\xE2\x96\x82", "\xF0\x9F\xA6\x99\xF0\x9F\xA6\x99", "\xE4\xB8\xAD\xE6\x96\x87"};
    for (size_t i = 0; i < LC_ARRAY_LEN(edge); i++) ok += roundtrip(t, name, edge[i], strlen(edge[i]), i % 2), cases++;
    CHECK(ok == cases, "%s: %d of %d round trips fail", name, cases - ok, cases);
    if (article) CHECK(roundtrip(t, name, article, article_len, true), "%s: article round trip", name);
    /* 1 MB (128 KiB under LONGCTX_TEST_QUICK): article + random text */
    size_t big = quick ? ((size_t)128 << 10) : ((size_t)1 << 20);
    char *text = malloc(big);
    size_t w = 0;
    while (w < big) {
        size_t l;
        if (article && lc_rng_below(&r, 2)) l = LC_MIN(article_len, big - w), memcpy(text + w, article, l);
        else l = LC_MIN(random_unicode(&r, buf, 2000), big - w), memcpy(text + w, buf, l);
        w += l;
    }
    CHECK(roundtrip(t, name, text, big, false), "%s: %zu-byte round trip", name, big);
    free(text);
    free(buf);
#undef RANDOM_BYTE
}

/* The per-call word cache must not change a single id: encode long texts
 * (made of few distinct words, so the cache hits) with and without it. */
static void check_cache(const lc_tokenizer *t, const char *name, const char *article, size_t article_len) {
    static const char *const words[] = {"the", " the", "cat", " sat", "中文", "字", "🦙", "\n", "  ", "3", "1234",
                                        "don't", "'s", ".", "\xFF", "\xE4\xB8", "naïve", " ", "e\xCC\x81", "\t"};
    lc_rng r;
    lc_rng_seed(&r, 5);
    size_t cap = (size_t)256 << 10;
    char *text = malloc(cap);
    int32_t *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b);
    for (int c = 0; c < 4; c++) {
        size_t len = 0, target = c == 0 ? 1500 : c == 1 ? 20000 : cap - 64;
        if (c == 3 && article) len = LC_MIN(article_len, cap);
        else
            while (len < target) {
                const char *w = words[lc_rng_below(&r, LC_ARRAY_LEN(words))];
                size_t l = strlen(w);
                memcpy(text + len, w, l);
                len += l;
            }
        lc_tok_out oa = {a, (int64_t)cap, 0}, ob = {b, (int64_t)cap, 0};
        lc_error err;
        bool spm = lc_tokenizer_kind_of(t) == LC_TOKENIZER_SPM;
        lc_status sa = spm ? lc_tok_spm_encode(t, text, len, true, &oa, &err) : lc_tok_bpe_encode(t, text, len, NULL, 0, true, &oa, &err);
        lc_status sb = spm ? lc_tok_spm_encode(t, text, len, false, &ob, &err) : lc_tok_bpe_encode(t, text, len, NULL, 0, false, &ob, &err);
        CHECK(sa == LC_OK && sb == LC_OK && oa.n <= (int64_t)cap && tt_same_ids(a, oa.n, b, ob.n),
              "%s: word cache changes the ids of a %zu-byte text", name, len);
    }
    free(text);
    free(a);
    free(b);
}

static lc_tokenizer *from_gguf(const char *rel) {
    char path[512];
    lc_test_shared(rel, path, sizeof path);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (!g) return NULL;
    CHECK_OK(lc_tokenizer_from_gguf(g, &t, &err), &err);
    lc_gguf_close(g);
    return t;
}

static lc_tokenizer *from_bin(const char *rel, int32_t n_vocab) {
    char path[512];
    lc_test_shared(rel, path, sizeof path);
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_load_llama2c(path, n_vocab, &t, &err), &err);
    return t;
}

/* lc_tokenizer_escape_piece: fixed cases; on random bytes the output is one
 * line of printable text that unescapes to the input; a short buffer gets a
 * prefix of the whole, as snprintf. */
static size_t unescape(const char *e, char *out) {
    size_t n = 0;
    for (size_t i = 0; e[i];) {
        if (e[i] != '\\') {
            out[n++] = e[i++];
            continue;
        }
        const char c = e[i + 1];
        if (c == 'x') {
            unsigned v = 0;
            sscanf(e + i + 2, "%2X", &v);
            out[n++] = (char)v;
            i += 4;
        } else {
            out[n++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            i += 2;
        }
    }
    return n;
}

static void test_escape_piece(void) {
    const struct {
        const char *in, *want;
    } cases[] = {{"\xe2\x96\x81Hello", "\xe2\x96\x81Hello"}, {"a\\b", "a\\\\b"},
                 {"\n\t\r", "\\n\\t\\r"}, {"\x01\x7f", "\\x01\\x7F"},
                 {"\xe4\xb8", "\\xE4\\xB8"}, {"\xc0\xaf", "\\xC0\\xAF"}, {"\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"}};
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const size_t need = lc_tokenizer_escape_piece(cases[i].in, strlen(cases[i].in), out, sizeof out);
        CHECK(need == strlen(cases[i].want) && strcmp(out, cases[i].want) == 0, "escape case %zu: '%s'", i, out);
    }
    uint64_t x = 99;
    for (int round = 0; round < 2000; round++) {
        char in[16], back[16], esc[65], part[65];
        const size_t n = 1 + (size_t)(round % 15);
        for (size_t k = 0; k < n; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            in[k] = (char)(x >> 56);
        }
        const size_t need = lc_tokenizer_escape_piece(in, n, esc, sizeof esc);
        bool printable = need <= 4 * n && strlen(esc) == need;
        for (size_t k = 0; k < need; k++) printable = printable && (unsigned char)esc[k] >= 0x20 && esc[k] != 0x7F;
        CHECK(printable && unescape(esc, back) == n && memcmp(back, in, n) == 0, "round %d: '%s' unescapes", round, esc);
        const size_t cap = 1 + (size_t)round % need;
        CHECK(lc_tokenizer_escape_piece(in, n, part, cap) == need && strlen(part) == cap - 1 &&
                  memcmp(part, esc, cap - 1) == 0,
              "round %d: cap %zu gives a prefix", round, cap);
    }
}

/* lc_tokenizer_print_ids on llama.cpp's vector for the Llama SPM vocabulary:
 * "Hello world" is 15043 3186 (▁Hello ▁world); a control byte's piece is
 * escaped. */
static void test_print_ids(const lc_tokenizer *t) {
    int32_t ids[8];
    int64_t n = 0;
    lc_error err;
    CHECK_OK(lc_tokenizer_encode(t, "Hello world", 11, false, ids, 8, &n, &err), &err);
    const int32_t nl = 13; /* <0x0A> */
    ids[n++] = nl;
    const char *want[2] = {"15043 3186 13\n", "15043\t\xe2\x96\x81Hello\n3186\t\xe2\x96\x81world\n13\t<0x0A>\n"};
    for (int pieces = 0; pieces < 2; pieces++) {
        char buf[256] = "";
        FILE *f = tmpfile();
        if (f) {
            lc_tokenizer_print_ids(f, t, ids, n, pieces);
            rewind(f);
            buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
            fclose(f);
        }
        CHECK(strcmp(buf, want[pieces]) == 0, "print_ids (pieces %d): '%s'", pieces, buf);
    }
}

int main(void) {
    test_escape_piece();
    char path[512];
    size_t article_len = 0;
    lc_test_shared("seed/context-length-article.zh.txt", path, sizeof path);
    char *article = tt_read_file(path, &article_len);
    CHECK(article != NULL && article_len > 1000, "read %s", path);

    struct {
        const char *name;
        lc_tokenizer *t;
    } all[] = {
        {"llama2-tokenizer.bin", from_bin("models/llama2-tokenizer.bin", 32000)},
        {"aidreams-tok512.bin", from_bin("models/aidreams-tok512.bin", 512)},
        {"aidreams260K.gguf", from_gguf("models/aidreams260K.gguf")},
        {"ggml-vocab-llama-spm.gguf", from_gguf("vocab/ggml-vocab-llama-spm.gguf")},
        {"ggml-vocab-phi-3.gguf", from_gguf("vocab/ggml-vocab-phi-3.gguf")},
        {"ggml-vocab-gpt-2.gguf", from_gguf("vocab/ggml-vocab-gpt-2.gguf")},
        {"ggml-vocab-llama-bpe.gguf", from_gguf("vocab/ggml-vocab-llama-bpe.gguf")},
        {"ggml-vocab-qwen2.gguf", from_gguf("vocab/ggml-vocab-qwen2.gguf")},
        {"ggml-vocab-command-r.gguf", from_gguf("vocab/ggml-vocab-command-r.gguf")},
        {"ggml-vocab-deepseek-llm.gguf", from_gguf("vocab/ggml-vocab-deepseek-llm.gguf")},
        {"ggml-vocab-gemma-4.gguf", from_gguf("vocab/ggml-vocab-gemma-4.gguf")},
    };
    if (all[3].t) test_print_ids(all[3].t);
    for (size_t i = 0; i < LC_ARRAY_LEN(all); i++) {
        if (!all[i].t) continue;
        check_tokenizer(all[i].t, all[i].name, article, article_len);
        check_cache(all[i].t, all[i].name, article, article_len);
        if (lc_tokenizer_kind_of(all[i].t) == LC_TOKENIZER_SPM || strcmp(lc_tokenizer_pre_name(all[i].t, NULL), "gemma4") == 0) {
            /* the SentencePiece exception: a literal "▁" comes back as ' ' */
            int64_t n = 0;
            int32_t *ids = tt_encode(all[i].t, "a\xE2\x96\x81" "b", 5, false, &n);
            size_t dl = 0;
            char *dec = ids ? tt_decode(all[i].t, ids, n, &dl) : NULL;
            CHECK(dec && strcmp(dec, "a b") == 0, "%s: literal U+2581 decodes as a space", all[i].name);
            free(dec);
            free(ids);
        }
        lc_tokenizer_free(all[i].t);
    }
    free(article);
    return lc_test_finish("test_tokenizer_roundtrip");
}
