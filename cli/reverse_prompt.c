/* Stop strings over streamed text (reverse_prompt.h). */
#include <stdlib.h>
#include <string.h>

#include "reverse_prompt.h"

void cli_stops_init(cli_stops *st) { memset(st, 0, sizeof *st); }

void cli_stops_free(cli_stops *st) {
    free(st->buf);
    cli_stops_init(st);
}

bool cli_stops_add(cli_stops *st, const char *cmd, const char *flag, const char *v) {
    const size_t len = strlen(v);
    if (len == 0 || len > CLI_MAX_STOP_BYTES || st->n == CLI_MAX_STOPS) {
        cli_error(cmd, "%s: at most %d strings of 1..%d bytes", flag, CLI_MAX_STOPS, CLI_MAX_STOP_BYTES);
        return false;
    }
    st->s[st->n++] = v;
    if (len > st->longest) st->longest = len;
    return true;
}

void cli_stops_reset(cli_stops *st) { st->len = 0; }

static bool contains(const char *hay, size_t lh, const char *needle, size_t ln) {
    for (size_t i = 0; ln <= lh && i <= lh - ln; i++)
        if (memcmp(hay + i, needle, ln) == 0) return true;
    return false;
}

const char *cli_stops_feed(cli_stops *st, const char *piece, size_t n, bool *oom) {
    *oom = false;
    if (st->n == 0 || n == 0) return NULL;
    if (n > SIZE_MAX / 2 - st->len) {
        *oom = true;
        return NULL;
    }
    if (st->len + n > st->cap) {
        const size_t cap = st->len + n > 2 * CLI_MAX_STOP_BYTES ? st->len + n : 2 * CLI_MAX_STOP_BYTES;
        char *b = realloc(st->buf, cap);
        if (!b) {
            *oom = true;
            return NULL;
        }
        st->buf = b;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, piece, n);
    st->len += n;
    const char *hit = NULL;
    for (int k = 0; k < st->n && !hit; k++)
        if (contains(st->buf, st->len, st->s[k], strlen(st->s[k]))) hit = st->s[k];
    /* keep what a string could still end in: the last longest - 1 bytes */
    const size_t keep = st->longest - 1 < st->len ? st->longest - 1 : st->len;
    memmove(st->buf, st->buf + st->len - keep, keep);
    st->len = keep;
    return hit;
}
