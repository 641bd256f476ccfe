/*
 * Length jitter of the task training data (lc_train_data_tasks_jitter):
 *
 *  - J = 0 gives exactly the task stream's rows and weights (what
 *    lc_train_data_tasks always gave);
 *  - J > 0: row r is row r of a task stream made for T - j, then j padding
 *    tokens of weight 0, with j in [0, J]; the checks rebuild each row from
 *    the public stream API, find j from where the EOS sits, and require that
 *    the EOS positions really vary;
 *  - the state (row position) saved after some batches restores the same
 *    following rows in a fresh stream, whatever the batch split;
 *  - a state is refused by a stream with another jitter (fingerprint), and
 *    jitter outside 0..min(T-1, LC_TRAIN_MAX_JITTER) is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/train.h"
#include "test_util.h"

#define MIX "passkey:0.5,multikey:0.25,vt:0.25:hops=2"

static void stream_config(lc_task_stream_config *c, int64_t T) {
    lc_error err;
    lc_task_stream_config_init(c);
    CHECK_OK(lc_task_mix_parse(MIX, &c->mix, &err), &err);
    c->seq_len = T;
    c->seed = 5;
    c->role_weight[LC_ROLE_ANSWER] = 4.0f;
    c->role_weight[LC_ROLE_EOS] = 3.0f;
}

static void test_no_jitter_is_the_stream(const lc_tokenizer *tok) {
    const int64_t T = 160, B = 6;
    lc_task_stream_config c;
    stream_config(&c, T);
    lc_train_data *d = NULL;
    lc_task_stream *s = NULL;
    lc_error err;
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, 0, &d, &err), &err);
    CHECK_OK(lc_task_stream_create(&c, tok, &s, &err), &err);
    if (!d || !s) return;
    int32_t *t1 = malloc(sizeof(int32_t) * B * (T + 1)), *t2 = malloc(sizeof(int32_t) * B * (T + 1));
    float *w1 = malloc(sizeof(float) * B * T), *w2 = malloc(sizeof(float) * B * T);
    for (int k = 0; k < 2; k++) {
        CHECK_OK(d->next(d, B, T, t1, w1, &err), &err);
        CHECK_OK(lc_task_stream_next(s, B, t2, NULL, w2, &err), &err);
        CHECK(memcmp(t1, t2, sizeof(int32_t) * B * (T + 1)) == 0, "J = 0: the stream's tokens (batch %d)", k);
        CHECK(memcmp(w1, w2, sizeof(float) * B * T) == 0, "J = 0: the stream's weights (batch %d)", k);
    }
    free(t1), free(t2), free(w1), free(w2);
    lc_task_stream_free(s);
    lc_train_data_free(d);
}

static void test_jitter_rows(const lc_tokenizer *tok) {
#define JITTER 24
    const int64_t T = 192, J = JITTER, B = 8, batches = 5;
    lc_task_stream_config c;
    stream_config(&c, T);
    lc_train_data *d = NULL;
    lc_error err;
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, J, &d, &err), &err);
    if (!d) return;
    const int32_t eos = lc_tokenizer_eos(tok), pad = lc_tokenizer_pad(tok);
    int32_t *tk = malloc(sizeof(int32_t) * B * (T + 1)), *ref = malloc(sizeof(int32_t) * (T + 1));
    float *w = malloc(sizeof(float) * B * T), *rw = malloc(sizeof(float) * T);
    bool seen[JITTER + 1];
    memset(seen, 0, sizeof seen);
    int bad = 0;
    for (int64_t k = 0; k < batches; k++) {
        CHECK_OK(d->next(d, B, T, tk, w, &err), &err);
        for (int64_t b = 0; b < B; b++) {
            const int64_t row = k * B + b;
            const int32_t *x = tk + b * (T + 1);
            const float *xw = w + b * T;
            /* j from the padding at the end (filler rows have no EOS: pad run) */
            int64_t j = 0;
            while (j <= T && x[T - j] == pad) j++;
            if (j > J) {
                bad++;
                continue;
            }
            seen[j] = true;
            lc_task_stream_config cj = c;
            cj.seq_len = T - j;
            lc_task_stream *s = NULL;
            CHECK_OK(lc_task_stream_create(&cj, tok, &s, &err), &err);
            if (!s) continue;
            CHECK_OK(lc_task_stream_seek(s, row, &err), &err);
            CHECK_OK(lc_task_stream_next(s, 1, ref, NULL, rw, &err), &err);
            lc_task_stream_free(s);
            const bool same = memcmp(x, ref, sizeof(int32_t) * (size_t)(T - j + 1)) == 0 &&
                              memcmp(xw, rw, sizeof(float) * (size_t)(T - j)) == 0;
            bool tail = true;
            for (int64_t t = T - j; t < T; t++) tail = tail && xw[t] == 0.0f;
            if (!same || !tail) bad++;
            if (x[T - j] == eos) CHECK(xw[T - j - 1] == 3.0f, "row %lld: the EOS keeps its weight", (long long)row);
        }
    }
    CHECK(bad == 0, "%d of %lld rows are not the T-j stream's row followed by weight-0 padding", bad,
          (long long)(B * batches));
    int distinct = 0;
    for (int64_t j = 0; j <= J; j++) distinct += seen[j];
    CHECK(distinct >= 10, "EOS positions vary: %d distinct jitters in %lld rows", distinct, (long long)(B * batches));
    free(tk), free(ref), free(w), free(rw);
    lc_train_data_free(d);
}

static void test_state(const lc_tokenizer *tok) {
    const int64_t T = 128, J = 16;
    lc_task_stream_config c;
    stream_config(&c, T);
    lc_train_data *a = NULL, *b = NULL, *other = NULL;
    lc_error err;
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, J, &a, &err), &err);
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, J, &b, &err), &err);
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, J - 1, &other, &err), &err);
    if (!a || !b || !other) return;
    int32_t t1[6 * 129], t2[6 * 129];
    float w1[6 * 128], w2[6 * 128];
    CHECK_OK(a->next(a, 3, T, t1, w1, &err), &err);
    CHECK_OK(a->next(a, 2, T, t1, w1, &err), &err);
    const size_t n = a->state_size(a);
    void *st = malloc(n);
    CHECK_OK(a->get_state(a, st, n, &err), &err);
    CHECK_OK(b->set_state(b, st, n, &err), &err);
    CHECK(other->set_state(other, st, n, &err) == LC_ERR_INVALID_ARG, "a state with another jitter is refused");
    CHECK_OK(a->next(a, 6, T, t1, w1, &err), &err);
    CHECK_OK(b->next(b, 4, T, t2, w2, &err), &err); /* other split: 4 + 2 */
    CHECK_OK(b->next(b, 2, T, t2 + 4 * 129, w2 + 4 * 128, &err), &err);
    CHECK(memcmp(t1, t2, sizeof t1) == 0 && memcmp(w1, w2, sizeof w1) == 0, "restored state: the same rows");
    /* a failed batch leaves the position unchanged: T asked differs */
    CHECK(a->next(a, 1, T + 1, t1, w1, &err) == LC_ERR_INVALID_ARG, "wrong T refused");
    free(st);
    lc_train_data_free(a);
    lc_train_data_free(b);
    lc_train_data_free(other);
}

static void test_refusals(const lc_tokenizer *tok) {
    lc_task_stream_config c;
    stream_config(&c, 128);
    lc_train_data *d = NULL;
    lc_error err;
    CHECK(lc_train_data_tasks_jitter(&c, tok, -1, &d, &err) == LC_ERR_INVALID_ARG && !d, "negative jitter refused");
    CHECK(lc_train_data_tasks_jitter(&c, tok, 128, &d, &err) == LC_ERR_INVALID_ARG && !d, "jitter >= T refused");
    CHECK(strstr(err.msg, "jitter") != NULL, "the message names the jitter: %s", err.msg);
    /* the shortest stream must still hold the tasks: vt needs ~90 tokens */
    CHECK(lc_train_data_tasks_jitter(&c, tok, 100, &d, &err) == LC_ERR_INVALID_ARG && !d,
          "a jitter whose shortest rows cannot hold the tasks is refused: %s", err.msg);
}

int main(void) {
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (!tok) return lc_test_finish("test_train_data_jitter");
    test_no_jitter_is_the_stream(tok);
    test_jitter_rows(tok);
    test_state(tok);
    test_refusals(tok);
    lc_tokenizer_free(tok);
    return lc_test_finish("test_train_data_jitter");
}
