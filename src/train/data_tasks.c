/*
 * The synthetic long-context task mixture (longctx/tasks.h) as a training
 * data stream. The task stream's whole state is its row position; the saved
 * state adds a fingerprint of the mixture, T and seed so that a checkpoint
 * is never resumed on a different stream.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/tasks.h"
#include "train/trainer_internal.h"

typedef struct {
    lc_task_stream *stream;
    int64_t seq_len;
    uint64_t check;
} tasks_data;

typedef struct {
    int64_t position;
    uint64_t check;
} tasks_state;

static lc_status tasks_next(lc_train_data *d, int64_t b, int64_t t, int32_t *tokens, float *weights, lc_error *err) {
    tasks_data *x = (tasks_data *)d->self;
    if (t != x->seq_len)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task data: stream made for T = %lld, asked for %lld",
                       (long long)x->seq_len, (long long)t);
    return lc_task_stream_next(x->stream, b, tokens, NULL, weights, err);
}

static size_t tasks_state_size(const lc_train_data *d) {
    (void)d;
    return sizeof(tasks_state);
}

static lc_status tasks_get_state(const lc_train_data *d, void *buf, size_t len, lc_error *err) {
    const tasks_data *x = (const tasks_data *)d->self;
    if (!buf || len != sizeof(tasks_state)) return lc_fail(err, LC_ERR_INVALID_ARG, "task data: bad state buffer");
    tasks_state s = {lc_task_stream_position(x->stream), x->check};
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
    return lc_task_stream_seek(x->stream, s.position, err);
}

static void tasks_destroy(lc_train_data *d) {
    tasks_data *x = (tasks_data *)d->self;
    lc_task_stream_free(x->stream);
    free(x);
    free(d);
}

lc_status lc_train_data_tasks(const lc_task_stream_config *cfg, const lc_tokenizer *tok, lc_train_data **out,
                              lc_error *err) {
    if (!cfg || !tok || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "task data: NULL argument");
    *out = NULL;
    lc_train_data *d = (lc_train_data *)calloc(1, sizeof *d);
    tasks_data *x = (tasks_data *)calloc(1, sizeof *x);
    if (!d || !x) {
        free(d);
        free(x);
        return lc_fail(err, LC_ERR_NOMEM, "task data: out of memory");
    }
    lc_status st = lc_task_stream_create(cfg, tok, &x->stream, err);
    if (st != LC_OK) {
        free(d);
        free(x);
        return st;
    }
    char mix[2048];
    const size_t n = lc_task_mix_format(&cfg->mix, mix, sizeof mix);
    uint64_t h = lc_tr_checksum(LC_TR_CHECKSUM_SEED, mix, n < sizeof mix ? n : sizeof mix - 1);
    const uint64_t f[3] = {(uint64_t)cfg->seq_len, cfg->seed, (uint64_t)lc_tokenizer_n_vocab(tok)};
    h = lc_tr_checksum(h, f, sizeof f);
    h = lc_tr_checksum(h, cfg->role_weight, sizeof cfg->role_weight);
    x->seq_len = cfg->seq_len;
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
