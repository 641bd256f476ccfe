/*
 * The synthetic long-context task mixture (longctx/tasks.h) as a training
 * data stream. The task stream's whole state is its row position; the saved
 * state adds a fingerprint of the mixture, T and seed so that a checkpoint
 * is never resumed on a different stream.
 *
 * Length jitter (J > 0): every sample of the task stream ends with EOS as the
 * row's last token, so a model can learn "EOS at position T" instead of "EOS
 * after the answer" (and then not stop on evaluation samples, which end a few
 * tokens early). With jitter, row r is the sample of T+1-j tokens, j drawn in
 * [0, J] from (seed, r), followed by j padding tokens whose predictions weigh
 * 0:
 *
 *   row r:  [ sample of T+1-j tokens ... answer EOS | pad x j ]    (T+1 tokens)
 *   weights [ role weights ........................ | 0 x j   ]    (T)
 *
 * The sample is row r of a task stream made for T-j (stream j of J+1), so it
 * is still a pure function of (config, r) and the position stays the state.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/tasks.h"
#include "train/trainer_internal.h"

typedef struct {
    lc_task_stream **streams; /* [jitter + 1]: stream j makes rows of T - j tokens */
    int64_t jitter;
    int64_t seq_len;
    int64_t position;         /* rows produced (jitter > 0; else the stream's)     */
    uint64_t seed;
    int32_t pad;              /* the token after a jittered sample                 */
    uint64_t check;
} tasks_data;

typedef struct {
    int64_t position;
    uint64_t check;
} tasks_state;

/* The jitter of row r: 0..J. */
static int64_t row_jitter(const tasks_data *x, int64_t row) {
    lc_rng r;
    lc_rng_seed(&r, (x->seed ^ 0x6a6974746572ull) + (uint64_t)row * 0x9E3779B97F4A7C15ull); /* "jitter" */
    return (int64_t)lc_rng_below(&r, (uint64_t)x->jitter + 1);
}

static lc_status tasks_next(lc_train_data *d, int64_t b, int64_t t, int32_t *tokens, float *weights, lc_error *err) {
    tasks_data *x = (tasks_data *)d->self;
    if (t != x->seq_len)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task data: stream made for T = %lld, asked for %lld",
                       (long long)x->seq_len, (long long)t);
    if (x->jitter == 0) return lc_task_stream_next(x->streams[0], b, tokens, NULL, weights, err);
    if (b < 1 || x->position > INT64_MAX - b)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task data: batch %lld at row %lld", (long long)b,
                       (long long)x->position);
    for (int64_t i = 0; i < b; i++) {
        const int64_t row = x->position + i, j = row_jitter(x, row), n = t - j; /* sample: n+1 tokens */
        lc_task_stream *s = x->streams[j];
        int32_t *tok = tokens + i * (t + 1);
        float *w = weights ? weights + i * t : NULL;
        lc_status st = lc_task_stream_seek(s, row, err);
        if (st == LC_OK) st = lc_task_stream_next(s, 1, tok, NULL, w, err);
        if (st != LC_OK) return st; /* position unchanged */
        for (int64_t k = n + 1; k <= t; k++) tok[k] = x->pad;
        if (w)
            for (int64_t k = n; k < t; k++) w[k] = 0.0f;
    }
    x->position += b;
    return LC_OK;
}

static size_t tasks_state_size(const lc_train_data *d) {
    (void)d;
    return sizeof(tasks_state);
}

static lc_status tasks_get_state(const lc_train_data *d, void *buf, size_t len, lc_error *err) {
    const tasks_data *x = (const tasks_data *)d->self;
    if (!buf || len != sizeof(tasks_state)) return lc_fail(err, LC_ERR_INVALID_ARG, "task data: bad state buffer");
    tasks_state s = {x->jitter ? x->position : lc_task_stream_position(x->streams[0]), x->check};
    memcpy(buf, &s, sizeof s);
    return LC_OK;
}

static lc_status tasks_set_state(lc_train_data *d, const void *buf, size_t len, lc_error *err) {
    tasks_data *x = (tasks_data *)d->self;
    tasks_state s;
    if (!buf || len != sizeof s)
        return lc_fail(err, LC_ERR_FORMAT, "task data: the saved data state has %zu bytes, expected %zu", len,
                       sizeof s);
    memcpy(&s, buf, sizeof s);
    if (s.check != x->check)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "task data: the saved data state belongs to another stream (different mixture, context, "
                       "seed or tokenizer)");
    if (x->jitter == 0) return lc_task_stream_seek(x->streams[0], s.position, err);
    if (s.position < 0) return lc_fail(err, LC_ERR_FORMAT, "task data: saved position %lld", (long long)s.position);
    x->position = s.position;
    return LC_OK;
}

static void tasks_destroy(lc_train_data *d) {
    tasks_data *x = (tasks_data *)d->self;
    for (int64_t j = 0; x->streams && j <= x->jitter; j++) lc_task_stream_free(x->streams[j]);
    free(x->streams);
    free(x);
    free(d);
}

lc_status lc_train_data_tasks(const lc_task_stream_config *cfg, const lc_tokenizer *tok, lc_train_data **out,
                              lc_error *err) {
    return lc_train_data_tasks_jitter(cfg, tok, 0, out, err);
}

lc_status lc_train_data_tasks_jitter(const lc_task_stream_config *cfg, const lc_tokenizer *tok, int64_t jitter,
                                     lc_train_data **out, lc_error *err) {
    if (!cfg || !tok || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "task data: NULL argument");
    *out = NULL;
    const int64_t max_jitter = cfg->seq_len - 1 < LC_TRAIN_MAX_JITTER ? cfg->seq_len - 1 : LC_TRAIN_MAX_JITTER;
    if (jitter < 0 || jitter > max_jitter)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task data: length jitter %lld is outside 0..%lld (T - 1, at most %d)",
                       (long long)jitter, (long long)max_jitter, LC_TRAIN_MAX_JITTER);
    lc_train_data *d = (lc_train_data *)calloc(1, sizeof *d);
    tasks_data *x = (tasks_data *)calloc(1, sizeof *x);
    lc_task_stream **streams = (lc_task_stream **)calloc((size_t)jitter + 1, sizeof *streams);
    if (!d || !x || !streams) {
        free(d);
        free(x);
        free(streams);
        return lc_fail(err, LC_ERR_NOMEM, "task data: out of memory");
    }
    x->streams = streams;
    x->jitter = jitter;
    lc_status st = LC_OK;
    for (int64_t j = 0; j <= jitter && st == LC_OK; j++) {
        lc_task_stream_config c = *cfg;
        c.seq_len = cfg->seq_len - j;
        st = lc_task_stream_create(&c, tok, &streams[j], err);
    }
    if (st != LC_OK) {
        d->self = x;
        tasks_destroy(d);
        return st;
    }
    char mix[2048];
    const size_t n = lc_task_mix_format(&cfg->mix, mix, sizeof mix);
    uint64_t h = lc_tr_checksum(LC_TR_CHECKSUM_SEED, mix, n < sizeof mix ? n : sizeof mix - 1);
    const uint64_t f[3] = {(uint64_t)cfg->seq_len, cfg->seed, (uint64_t)lc_tokenizer_n_vocab(tok)};
    h = lc_tr_checksum(h, f, sizeof f);
    h = lc_tr_checksum(h, cfg->role_weight, sizeof cfg->role_weight);
    if (jitter) h = lc_tr_checksum(h, &jitter, sizeof jitter); /* jitter 0 keeps the earlier fingerprint */
    const int32_t pad = lc_tokenizer_pad(tok);
    x->pad = pad >= 0 ? pad : (lc_tokenizer_eos(tok) >= 0 ? lc_tokenizer_eos(tok) : 0);
    x->seq_len = cfg->seq_len;
    x->seed = cfg->seed;
    x->check = h;
    d->name = "task mixture";
    d->self = x;
    d->next = tasks_next;
    d->state_size = tasks_state_size;
    d->get_state = tasks_get_state;
    d->set_state = tasks_set_state;
    d->destroy = tasks_destroy;
    *out = d;
    return LC_OK;
}
