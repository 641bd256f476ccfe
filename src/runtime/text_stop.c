/* Stop strings over streamed text (text.h): where one occurs, and how much
 * of the text's end must wait because it could still become one. Shared by
 * lc_generate_text (-r) and the server (OpenAI's `stop`). */
#include <string.h>

#include "longctx/text.h"

int64_t lc_stop_find(const char *text, size_t len, size_t from, const char *const *stops, int n_stops, int *which) {
    int64_t best = -1;
    for (int i = 0; i < n_stops; i++) {
        const size_t sl = stops[i] ? strlen(stops[i]) : 0;
        if (sl == 0 || sl > len) continue;
        /* a match may start up to sl-1 bytes before `from` (it ends after it) */
        const size_t start = from >= sl ? from - sl + 1 : 0;
        for (size_t p = start; p + sl <= len; p++) {
            if (best >= 0 && (int64_t)p >= best) break;
            if (memcmp(text + p, stops[i], sl) == 0) {
                best = (int64_t)p;
                if (which) *which = i;
                break;
            }
        }
    }
    return best;
}

size_t lc_stop_holdback(const char *text, size_t len, const char *const *stops, int n_stops) {
    size_t hold = 0;
    for (int i = 0; i < n_stops; i++) {
        const size_t sl = stops[i] ? strlen(stops[i]) : 0;
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

lc_status lc_stops_validate(const char *const *stops, int n_stops, lc_error *err) {
    if (n_stops < 0 || n_stops > LC_TEXT_MAX_STOPS || (n_stops > 0 && !stops))
        return lc_fail(err, LC_ERR_INVALID_ARG, "at most %d stop strings", LC_TEXT_MAX_STOPS);
    for (int i = 0; i < n_stops; i++) {
        const size_t len = stops[i] ? strlen(stops[i]) : 0;
        if (len == 0 || len > LC_TEXT_MAX_STOP_BYTES)
            return lc_fail(err, LC_ERR_INVALID_ARG, "a stop string has 1..%d bytes (string %d has %zu)",
                           LC_TEXT_MAX_STOP_BYTES, i + 1, len);
    }
    return LC_OK;
}
