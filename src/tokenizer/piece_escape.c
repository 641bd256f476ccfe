/* lc_tokenizer_escape_piece: a token's piece printable on one line; lc_tokenizer_print_ids: ids
 * (and their pieces) as lines of text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/tokenizer.h"

/* Length of the well-formed UTF-8 character at s[0..n), or 0. */
static size_t utf8_char_len(const unsigned char *s, size_t n) {
    const unsigned c = s[0];
    const size_t l = c < 0x80                  ? 1
                     : (c >= 0xC2 && c <= 0xDF) ? 2
                     : (c >= 0xE0 && c <= 0xEF) ? 3
                     : (c >= 0xF0 && c <= 0xF4) ? 4
                                                : 0;
    if (l == 0 || l > n) return 0;
    for (size_t k = 1; k < l; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return l;
}

/* Appends what to out at *w (as far as cap allows, leaving room for the NUL). */
static void put(char *out, size_t cap, size_t *w, const char *what, size_t len) {
    if (*w < cap) memcpy(out + *w, what, *w + len < cap ? len : cap - 1 - *w);
    *w += len;
}

size_t lc_tokenizer_escape_piece(const char *s, size_t n, char *out, size_t cap) {
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        const size_t l = utf8_char_len(p + i, n - i);
        char esc[8];
        if (c == '\\') put(out, cap, &w, "\\\\", 2);
        else if (c == '\n') put(out, cap, &w, "\\n", 2);
        else if (c == '\t') put(out, cap, &w, "\\t", 2);
        else if (c == '\r') put(out, cap, &w, "\\r", 2);
        else if (c < 0x20 || c == 0x7F || l == 0)
            put(out, cap, &w, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02X", c));
        else {
            put(out, cap, &w, s + i, l);
            i += l;
            continue;
        }
        i++;
    }
    if (cap > 0) out[w < cap ? w : cap - 1] = '\0';
    return w;
}

void lc_tokenizer_print_ids(FILE *f, const lc_tokenizer *t, const int32_t *ids, int64_t n, bool pieces) {
    for (int64_t i = 0; i < n && pieces; i++) {
        size_t len = 0;
        const char *p = lc_tokenizer_piece(t, ids[i], &len);
        char buf[1024];
        const size_t need = lc_tokenizer_escape_piece(p ? p : "", p ? len : 0, buf, sizeof buf);
        char *big = need < sizeof buf ? NULL : malloc(need + 1);
        if (big) lc_tokenizer_escape_piece(p, len, big, need + 1);
        fprintf(f, "%d\t%s\n", ids[i], big ? big : buf); /* (cut to the buffer without memory for more) */
        free(big);
    }
    for (int64_t i = 0; i < n && !pieces; i++) fprintf(f, i ? " %d" : "%d", ids[i]);
    if (!pieces) fputc('\n', f);
}
