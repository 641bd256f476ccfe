/* UTF-8 decoding and Unicode class lookup (binary search over the generated ranges). */
#include "tokenizer/unicode.h"

size_t lc_tok_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, c = b0 & 0x1Fu, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, c = b0 & 0x0Fu, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, c = b0 & 0x07u, min = 0x10000;
    else goto invalid; /* continuation byte, C0/C1 overlong lead, F5..FF */
    if (n < len) goto invalid;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto invalid;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = LC_TOK_UNI_INVALID;
    return 1;
}

size_t lc_tok_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int lc_tok_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = lc_tok_utf8_decode(s + i, n - i, &cp);
        if (cp == LC_TOK_UNI_INVALID) return 0;
        i += l;
    }
    return 1;
}

/* The range of r[0..n) holding cp, or NULL. */
static const lc_tok_uni_range *find_range(uint32_t cp, const lc_tok_uni_range *r, size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return &r[mid];
    }
    return NULL;
}

int lc_tok_uni_in_ranges(uint32_t cp, const lc_tok_uni_range *r, size_t n) { return find_range(cp, r, n) != NULL; }

lc_tok_uni_case lc_tok_uni_case_of(uint32_t cp) {
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') return LC_TOK_UNI_CASE_UPPER;
        if (cp >= 'a' && cp <= 'z') return LC_TOK_UNI_CASE_LOWER;
        return LC_TOK_UNI_CASE_NONE;
    }
    if (cp == LC_TOK_UNI_INVALID) return LC_TOK_UNI_CASE_NONE;
    const lc_tok_uni_range *r = find_range(cp, lc_tok_uni_case_ranges, lc_tok_uni_n_case_ranges);
    return r ? (lc_tok_uni_case)r->cls : LC_TOK_UNI_CASE_NONE;
}

lc_tok_uni_class lc_tok_uni_class_of(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return LC_TOK_UNI_LETTER;
        if (cp >= '0' && cp <= '9') return LC_TOK_UNI_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return LC_TOK_UNI_SPACE;
        return LC_TOK_UNI_OTHER;
    }
    if (cp == LC_TOK_UNI_INVALID) return LC_TOK_UNI_OTHER;
    const lc_tok_uni_range *r = find_range(cp, lc_tok_uni_ranges, lc_tok_uni_n_ranges);
    return r ? (lc_tok_uni_class)r->cls : LC_TOK_UNI_OTHER;
}
