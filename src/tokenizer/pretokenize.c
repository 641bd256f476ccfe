/*
 * Pre-tokenizers: hand-written scanners equivalent to the regular
 * expressions below (leftmost alternative that matches, greedy, with the
 * backtracking of "\s+(?!\S)" spelled out). \p{L}, \p{N} and \s come from
 * the generated Unicode tables; an invalid UTF-8 byte is a character of class
 * "other", so every byte lands in exactly one pre-token and round trips.
 *
 * GPT-2 ("gpt2" / "gpt-2"):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * llama-3 ("llama-bpe"):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * The case-insensitive contractions fold ASCII only (as llama.cpp does).
 *
 *   "Hello  world's 12345\n\n"
 *   gpt2:    "Hello" " " " world" "'s" " 12345" "\n\n"
 *   llama-3: "Hello" " " " world" "'s" " " "123" "45" "\n\n"
 */
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

typedef struct {
    const unsigned char *s;
    size_t n;
} text_view;

/* Character at byte offset p (< n): its code point, byte length and class. */
typedef struct {
    uint32_t cp;
    size_t len;
    lc_tok_uni_class cls;
} uchar;

static inline uchar char_at(text_view v, size_t p) {
    uchar c;
    c.len = lc_tok_utf8_decode(v.s + p, v.n - p, &c.cp);
    c.cls = lc_tok_uni_class_of(c.cp);
    return c;
}

/* End of the run of characters of class cls starting at p. */
static size_t run_of(text_view v, size_t p, lc_tok_uni_class cls) {
    while (p < v.n) {
        uchar c = char_at(v, p);
        if (c.cls != cls) break;
        p += c.len;
    }
    return p;
}

static inline int lower_ascii(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd at p; returns the length or 0. */
static size_t contraction(text_view v, size_t p, bool fold) {
    if (v.s[p] != '\'' || p + 1 >= v.n) return 0;
    int a = fold ? lower_ascii(v.s[p + 1]) : v.s[p + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (p + 2 >= v.n) return 0;
    int b = fold ? lower_ascii(v.s[p + 2]) : v.s[p + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* \s+(?!\S)|\s+ at p (a whitespace character): the whole run when it ends
 * the text or is a single character, else the run minus its last character
 * (which then starts the next pre-token, e.g. " " of " world"). */
static size_t trailing_space(text_view v, size_t p) {
    size_t q = p, last = p;
    while (q < v.n) {
        uchar c = char_at(v, q);
        if (c.cls != LC_TOK_UNI_SPACE) break;
        last = q;
        q += c.len;
    }
    if (q == v.n || last == p) return q - p;
    return last - p;
}

static size_t next_gpt2(text_view v, size_t p) {
    size_t k = contraction(v, p, false);
    if (k) return k;
    uchar c = char_at(v, p);
    size_t start = p;
    lc_tok_uni_class cls = c.cls;
    if (c.cp == ' ' && p + 1 < v.n) { /* " ?X+" */
        uchar d = char_at(v, p + 1);
        if (d.cls != LC_TOK_UNI_SPACE) start = p + 1, cls = d.cls;
    }
    if (cls != LC_TOK_UNI_SPACE) return run_of(v, start, cls) - p;
    return trailing_space(v, p);
}

static size_t next_llama3(text_view v, size_t p) {
    size_t k = contraction(v, p, true);
    if (k) return k;
    uchar c = char_at(v, p);
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c.cls == LC_TOK_UNI_LETTER) return run_of(v, p, LC_TOK_UNI_LETTER) - p;
    if (c.cls != LC_TOK_UNI_NUMBER && c.cp != '\r' && c.cp != '\n' && p + c.len < v.n) {
        uchar d = char_at(v, p + c.len);
        if (d.cls == LC_TOK_UNI_LETTER) return run_of(v, p + c.len, LC_TOK_UNI_LETTER) - p;
    }
    /* \p{N}{1,3} */
    if (c.cls == LC_TOK_UNI_NUMBER) {
        size_t q = p;
        for (int i = 0; i < 3 && q < v.n; i++) {
            uchar d = char_at(v, q);
            if (d.cls != LC_TOK_UNI_NUMBER) break;
            q += d.len;
        }
        return q - p;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t start = p;
    if (c.cp == ' ' && p + 1 < v.n && char_at(v, p + 1).cls == LC_TOK_UNI_OTHER) start = p + 1;
    if (start != p || c.cls == LC_TOK_UNI_OTHER) {
        size_t q = run_of(v, start, LC_TOK_UNI_OTHER);
        while (q < v.n && (v.s[q] == '\r' || v.s[q] == '\n')) q++;
        return q - p;
    }
    /* \s*[\r\n]+ : through the last newline of the whitespace run */
    size_t q = p, end_nl = 0;
    while (q < v.n) {
        uchar d = char_at(v, q);
        if (d.cls != LC_TOK_UNI_SPACE) break;
        q += d.len;
        if (d.cp == '\r' || d.cp == '\n') end_nl = q;
    }
    if (end_nl) return end_nl - p;
    return trailing_space(v, p);
}

size_t lc_tok_pretok_next(lc_pre_kind kind, const char *text, size_t len, size_t pos) {
    text_view v = {(const unsigned char *)text, len};
    size_t n = kind == LC_PRE_LLAMA3 ? next_llama3(v, pos) : next_gpt2(v, pos);
    return n ? n : 1; /* cannot happen; guarantees progress */
}
