/* lc_text_strip_controls: a typed line without control characters (text.h). */
#include <stdbool.h>

#include "longctx/text.h"

size_t lc_text_strip_controls(char *s, size_t n) {
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        const unsigned char c = (unsigned char)s[r];
        if (c == 0x1b) {
            if (r + 1 < n && (s[r + 1] == '[' || s[r + 1] == 'O')) {
                const bool csi = s[r + 1] == '[';
                r += 2;
                while (csi && r < n && (unsigned char)s[r] >= 0x20 && (unsigned char)s[r] <= 0x3f) r++;
            } else {
                r++; /* ESC and the next character */
            }
            continue;
        }
        if (c == '\t') s[w++] = ' ';
        else if (c >= 0x20 && c != 0x7f) s[w++] = (char)c;
    }
    s[w] = '\0';
    return w;
}
