/*
 * UTF-8 decoding and the Unicode classes the pre-tokenizers need.
 *
 * Decoding is strict (RFC 3629): overlong forms, surrogates, code points past
 * U+10FFFF and truncated sequences are invalid. An invalid byte decodes as a
 * one-byte unit with code point LC_TOK_UNI_INVALID, so a scanner always advances
 * and every input byte stays covered by exactly one unit.
 */
#ifndef LC_TOKENIZER_UNICODE_H
#define LC_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#define LC_TOK_UNI_INVALID 0xFFFFFFFFu

typedef enum { LC_TOK_UNI_OTHER = 0, LC_TOK_UNI_LETTER = 1, LC_TOK_UNI_NUMBER = 2, LC_TOK_UNI_SPACE = 3 } lc_tok_uni_class;

typedef struct {
    uint32_t lo, hi; /* inclusive */
    uint8_t cls;     /* lc_tok_uni_class */
} lc_tok_uni_range;

/* Letter case and marks, for the o200k pre-tokenizer: Lu Lt, Ll, Mn Mc Me.
 * A letter that is neither upper nor lower (Lm, Lo) is NONE here. */
typedef enum {
    LC_TOK_UNI_CASE_NONE = 0,
    LC_TOK_UNI_CASE_UPPER = 1,
    LC_TOK_UNI_CASE_LOWER = 2,
    LC_TOK_UNI_CASE_MARK = 3
} lc_tok_uni_case;

/* Generated tables (unicode_tables.c). */
extern const lc_tok_uni_range lc_tok_uni_ranges[];
extern const size_t lc_tok_uni_n_ranges;
extern const lc_tok_uni_range lc_tok_uni_case_ranges[];
extern const size_t lc_tok_uni_n_case_ranges;
extern const char lc_tok_uni_version[];

/* Decode one code point at s[0..n) (n >= 1); returns its byte length (1..4)
 * and sets *cp, or returns 1 with *cp = LC_TOK_UNI_INVALID for an invalid byte. */
size_t lc_tok_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Byte length of the valid UTF-8 unit at s[0..n), 1 for an invalid byte. */
static inline size_t lc_tok_utf8_unit_len(const unsigned char *s, size_t n) {
    uint32_t cp;
    if (s[0] < 0x80) return 1;
    return lc_tok_utf8_decode(s, n, &cp);
}
/* Encode cp (<= 0x10FFFF) into out[0..4); returns the byte length. */
size_t lc_tok_utf8_encode(uint32_t cp, char *out);
/* True if s[0..n) is entirely valid UTF-8. */
int lc_tok_utf8_valid(const unsigned char *s, size_t n);

/* Class of a code point (LC_TOK_UNI_INVALID is OTHER). */
lc_tok_uni_class lc_tok_uni_class_of(uint32_t cp);
/* Case / mark class of a code point (LC_TOK_UNI_INVALID is NONE). */
lc_tok_uni_case lc_tok_uni_case_of(uint32_t cp);
/* Whether cp lies in one of the n sorted, disjoint ranges [lo, hi] (cls unused). */
int lc_tok_uni_in_ranges(uint32_t cp, const lc_tok_uni_range *r, size_t n);

#endif
