/*
 * Sampler state: the RNG and the recent tokens, as a fixed-size struct and
 * as a portable little-endian byte image (LC_SAMPLER_STATE_BYTES):
 *
 *   offset  size            field
 *        0  4               magic "LCSS"
 *        4  4               version (1)
 *        8  32              rng[4]
 *       40  8               n_sampled
 *       48  4               n_recent (<= LC_SAMPLER_MAX_LAST_N)
 *       52  4               reserved (0)
 *       56  4 * MAX_LAST_N  recent tokens, oldest first (unused slots 0)
 */
#include <string.h>

#include "sample/sample_internal.h"

void lc_sampler_get_state(const lc_sampler *s, lc_sampler_state *st) {
    if (!st) return;
    memset(st, 0, sizeof *st);
    st->magic = LC_SAMPLER_STATE_MAGIC;
    st->version = LC_SAMPLER_STATE_VERSION;
    if (!s) return;
    memcpy(st->rng, s->rng.s, sizeof st->rng);
    st->n_sampled = s->n_sampled;
    st->n_recent = (uint32_t)s->hist_len;
    for (int32_t i = 0; i < s->hist_len; i++) st->recent[i] = s->hist[(s->hist_head + i) % LC_SAMPLER_MAX_LAST_N];
}

static lc_status check_state(const lc_sampler_state *st, int32_t n_vocab, lc_error *err) {
    if (st->magic != LC_SAMPLER_STATE_MAGIC)
        return lc_fail(err, LC_ERR_FORMAT, "sampler state: bad magic 0x%08x", (unsigned)st->magic);
    if (st->version != LC_SAMPLER_STATE_VERSION)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "sampler state: version %u (this build reads %u)",
                       (unsigned)st->version, LC_SAMPLER_STATE_VERSION);
    if (st->n_recent > LC_SAMPLER_MAX_LAST_N)
        return lc_fail(err, LC_ERR_FORMAT, "sampler state: %u recent tokens (at most %d)", (unsigned)st->n_recent,
                       LC_SAMPLER_MAX_LAST_N);
    if ((st->rng[0] | st->rng[1] | st->rng[2] | st->rng[3]) == 0)
        return lc_fail(err, LC_ERR_FORMAT, "sampler state: the RNG state is all zero (invalid for xoshiro256**)");
    if (n_vocab > 0)
        for (uint32_t i = 0; i < st->n_recent; i++)
            if (st->recent[i] < 0 || st->recent[i] >= n_vocab)
                return lc_fail(err, LC_ERR_FORMAT, "sampler state: recent token %d outside the vocabulary (0..%d)",
                               st->recent[i], n_vocab - 1);
    return LC_OK;
}

lc_status lc_sampler_set_state(lc_sampler *s, const lc_sampler_state *st, lc_error *err) {
    if (!s || !st) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler: NULL argument");
    lc_status rc = check_state(st, s->n_vocab, err);
    if (rc != LC_OK) return rc;
    memcpy(s->rng.s, st->rng, sizeof st->rng);
    s->n_sampled = st->n_sampled;
    s->hist_head = 0;
    s->hist_len = (int32_t)st->n_recent;
    memcpy(s->hist, st->recent, (size_t)st->n_recent * sizeof(int32_t));
    s->n_cand = 0;
    return LC_OK;
}

static void put32(uint8_t *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *b) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)b[i] << (8 * i);
    return v;
}
static uint64_t get64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

void lc_sampler_state_encode(const lc_sampler_state *st, uint8_t *buf) {
    if (!st || !buf) return;
    memset(buf, 0, LC_SAMPLER_STATE_BYTES);
    put32(buf + 0, st->magic);
    put32(buf + 4, st->version);
    for (int i = 0; i < 4; i++) put64(buf + 8 + 8 * i, st->rng[i]);
    put64(buf + 40, st->n_sampled);
    uint32_t n = st->n_recent > LC_SAMPLER_MAX_LAST_N ? LC_SAMPLER_MAX_LAST_N : st->n_recent;
    put32(buf + 48, n);
    put32(buf + 52, 0);
    for (uint32_t i = 0; i < n; i++) put32(buf + 56 + 4 * i, (uint32_t)st->recent[i]);
}

lc_status lc_sampler_state_decode(const uint8_t *buf, size_t len, lc_sampler_state *st, lc_error *err) {
    if (!buf || !st) return lc_fail(err, LC_ERR_INVALID_ARG, "sampler state: NULL argument");
    if (len < LC_SAMPLER_STATE_BYTES)
        return lc_fail(err, LC_ERR_FORMAT, "sampler state: %zu bytes, expected %d", len, LC_SAMPLER_STATE_BYTES);
    lc_sampler_state t;
    memset(&t, 0, sizeof t);
    t.magic = get32(buf + 0);
    t.version = get32(buf + 4);
    for (int i = 0; i < 4; i++) t.rng[i] = get64(buf + 8 + 8 * i);
    t.n_sampled = get64(buf + 40);
    t.n_recent = get32(buf + 48);
    t.reserved = get32(buf + 52);
    lc_status rc = check_state(&t, 0, err);
    if (rc != LC_OK) return rc;
    for (uint32_t i = 0; i < t.n_recent; i++) {
        t.recent[i] = (int32_t)get32(buf + 56 + 4 * i);
        if (t.recent[i] < 0) return lc_fail(err, LC_ERR_FORMAT, "sampler state: negative token id %d", t.recent[i]);
    }
    *st = t;
    return LC_OK;
}
