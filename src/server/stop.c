/* Stop strings over streamed text: where one occurs, and how much of the
 * text's end must wait because it could still become one. */
#include <string.h>

#include "server/server_internal.h"

int64_t srv_stop_find(const char *text, size_t len, size_t from, char *const *stops, int n_stops) {
    int64_t best = -1;
    for (int i = 0; i < n_stops; i++) {
        const size_t sl = strlen(stops[i]);
        if (sl == 0 || sl > len) continue;
        /* a match may start up to sl-1 bytes before `from` (it ends after it) */
        size_t start = from >= sl ? from - sl + 1 : 0;
        for (size_t p = start; p + sl <= len; p++) {
            if (best >= 0 && (int64_t)p >= best) break;
            if (memcmp(text + p, stops[i], sl) == 0) {
                best = (int64_t)p;
                break;
            }
        }
    }
    return best;
}

size_t srv_stop_holdback(const char *text, size_t len, char *const *stops, int n_stops) {
    size_t hold = 0;
    for (int i = 0; i < n_stops; i++) {
        const size_t sl = strlen(stops[i]);
        /* the longest proper prefix of the stop string that ends the text */
        for (size_t k = sl > 0 ? sl - 1 : 0; k > hold; k--) {
            if (k <= len && memcmp(text + len - k, stops[i], k) == 0) {
                hold = k;
                break;
            }
        }
    }
    return hold;
}
