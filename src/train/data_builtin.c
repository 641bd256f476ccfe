/*
 * Built-in data streams: toy sequence tasks (copy, reverse) and random
 * windows over a token array. Row r of a stream is a pure function of
 * (seed, r), so the whole state is the row counter; it is saved with the
 * seed (and the array length) so a state is never restored into a different
 * stream.
 */
#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"

/* The generator of row r. */
static void row_rng(lc_rng *r, uint64_t seed, uint64_t row) { lc_rng_seed(r, seed + row * 0x9E3779B97F4A7C15ull); }

typedef struct {
    uint64_t seed, row, check; /* check: what else must match (vocab/task, or array length) */
} stream_state;

static size_t state_size(const lc_train_data *d) {
    (void)d;
    return sizeof(stream_state);
}

static lc_status get_state(const lc_train_data *d, void *buf, size_t len, lc_error *err) {
    if (!buf || len != sizeof(stream_state)) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: bad state buffer", d->name);
    memcpy(buf, d->self, sizeof(stream_state));
    return LC_OK;
}

static lc_status set_state(lc_train_data *d, const void *buf, size_t len, lc_error *err) {
    stream_state s;
    if (!buf || len != sizeof s)
        return lc_fail(err, LC_ERR_FORMAT, "%s: the saved data state has %zu bytes, expected %zu", d->name, len,
                       sizeof s);
    memcpy(&s, buf, sizeof s);
    const stream_state *mine = (const stream_state *)d->self;
    if (s.seed != mine->seed || s.check != mine->check)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "%s: the saved data state belongs to another stream (seed %llu, not %llu, or other data)",
                       d->name, (unsigned long long)s.seed, (unsigned long long)mine->seed);
    memcpy(d->self, &s, sizeof s);
    return LC_OK;
}

static void destroy(lc_train_data *d) {
    free(d->self);
    free(d);
}

void lc_train_data_free(lc_train_data *d) {
    if (d && d->destroy) d->destroy(d);
}

/* ---- Toy tasks ------------------------------------------------------------ */

typedef struct {
    stream_state st; /* first: get/set_state copy it */
    int32_t vocab;
    bool reverse;
} toy;

static lc_status toy_next(lc_train_data *d, int64_t b, int64_t t, int32_t *tokens, float *weights, lc_error *err) {
    toy *y = (toy *)d->self;
    if (t < 3) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: needs a context of at least 3 tokens", d->name);
    const int64_t max_len = (t - 1) / 2;
    for (int64_t i = 0; i < b; i++) {
        lc_rng r;
        row_rng(&r, y->st.seed, y->st.row++);
        int32_t *row = tokens + i * (t + 1);
        float *w = weights ? weights + i * t : NULL;
        const int64_t n = 1 + (int64_t)lc_rng_below(&r, (uint64_t)max_len);
        for (int64_t j = 0; j <= t; j++) row[j] = 0;
        for (int64_t j = 0; j < n; j++) row[j] = 2 + (int32_t)lc_rng_below(&r, (uint64_t)(y->vocab - 2));
        row[n] = 1;
        for (int64_t j = 0; j < n; j++) row[n + 1 + j] = row[y->reverse ? n - 1 - j : j];
        if (w) /* predicting row[p] from row[0..p-1] has weight 1 for p in the answer */
            for (int64_t p = 1; p <= t; p++) w[p - 1] = (p > n && p <= 2 * n) ? 1.0f : 0.0f;
    }
    return LC_OK;
}

lc_status lc_train_data_toy(const char *task, int32_t vocab, uint64_t seed, lc_train_data **out, lc_error *err) {
    if (!out || !task) return lc_fail(err, LC_ERR_INVALID_ARG, "toy data: NULL argument");
    *out = NULL;
    const bool rev = strcmp(task, "reverse") == 0;
    if (!rev && strcmp(task, "copy") != 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "toy data: unknown task '%s' (copy, reverse)", task);
    if (vocab < 4) return lc_fail(err, LC_ERR_INVALID_ARG, "toy data: vocabulary %d < 4", vocab);
    lc_train_data *d = (lc_train_data *)calloc(1, sizeof *d);
    toy *y = (toy *)calloc(1, sizeof *y);
    if (!d || !y) {
        free(d);
        free(y);
        return lc_fail(err, LC_ERR_NOMEM, "toy data: out of memory");
    }
    y->st.seed = seed;
    y->st.check = (uint64_t)vocab * 2 + rev;
    y->vocab = vocab;
    y->reverse = rev;
    d->name = rev ? "toy reverse" : "toy copy";
    d->self = y;
    d->next = toy_next;
    d->state_size = state_size;
    d->get_state = get_state;
    d->set_state = set_state;
    d->destroy = destroy;
    *out = d;
    return LC_OK;
}

/* ---- Windows over a token array ------------------------------------------- */

typedef struct {
    stream_state st;
    int64_t n;
    int32_t *ids;
} windows;

static void windows_destroy(lc_train_data *d) {
    windows *w = (windows *)d->self;
    free(w->ids);
    destroy(d);
}

static lc_status windows_next(lc_train_data *d, int64_t b, int64_t t, int32_t *tokens, float *weights, lc_error *err) {
    windows *w = (windows *)d->self;
    if (w->n < t + 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "token data: %lld tokens cannot fill a window of %lld (context + 1)",
                       (long long)w->n, (long long)(t + 1));
    for (int64_t i = 0; i < b; i++) {
        lc_rng r;
        row_rng(&r, w->st.seed, w->st.row++);
        const int64_t start = (int64_t)lc_rng_below(&r, (uint64_t)(w->n - t));
        memcpy(tokens + i * (t + 1), w->ids + start, (size_t)(t + 1) * sizeof(int32_t));
        if (weights)
            for (int64_t j = 0; j < t; j++) weights[i * t + j] = 1.0f;
    }
    return LC_OK;
}

lc_status lc_train_data_tokens(const int32_t *ids, int64_t n, uint64_t seed, lc_train_data **out, lc_error *err) {
    if (!out || (!ids && n > 0) || n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "token data: bad arguments");
    *out = NULL;
    size_t bytes;
    if (!lc_mul_size((size_t)n, sizeof(int32_t), &bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "token data: %lld tokens overflow", (long long)n);
    lc_train_data *d = (lc_train_data *)calloc(1, sizeof *d);
    windows *w = (windows *)calloc(1, sizeof *w);
    int32_t *copy = (int32_t *)malloc(bytes ? bytes : 1);
    if (!d || !w || !copy) {
        free(d);
        free(w);
        free(copy);
        return lc_fail(err, LC_ERR_NOMEM, "token data: cannot copy %lld tokens", (long long)n);
    }
    if (n) memcpy(copy, ids, bytes);
    w->st.seed = seed;
    w->st.check = lc_tr_checksum(LC_TR_CHECKSUM_SEED ^ (uint64_t)n, copy, bytes);
    w->n = n;
    w->ids = copy;
    d->name = "token windows";
    d->self = w;
    d->next = windows_next;
    d->state_size = state_size;
    d->get_state = get_state;
    d->set_state = set_state;
    d->destroy = windows_destroy;
    *out = d;
    return LC_OK;
}
