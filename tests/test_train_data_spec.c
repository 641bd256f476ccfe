/*
 * Training data from a spec (lc_train_data_from_spec: what `longctx train
 * --data` means). Each kind is compared with the stream built directly from
 * the public pieces it stands for, batch by batch:
 *
 *  - toy:copy is lc_train_data_toy (validation: seed ^ 0x5eed);
 *  - a text file with the synthetic tokenizer is lc_train_data_tokens over its
 *    ids, the last 10% held out for validation when they fill T + 1 tokens;
 *  - a text file with bpe:N trains a BPE of at most N tokens whose ids stay
 *    inside its vocabulary;
 *  - a task mixture is lc_train_data_tasks_jitter with the role weights and
 *    jitter given; without a tokenizer name the model's is borrowed;
 *  - refusals: bpe:N below 257, bpe on task data, a path that is not a file,
 *    a malformed mixture, no data, a toy vocabulary too small; every refusal
 *    leaves the output empty.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/train.h"
#include "test_util.h"

#define B 3

/* Whether two streams give the same next batch of B x T. */
static bool same_batch(lc_train_data *a, lc_train_data *b, int64_t T) {
    int32_t *ta = malloc(sizeof(int32_t) * B * (T + 1)), *tb = malloc(sizeof(int32_t) * B * (T + 1));
    float *wa = malloc(sizeof(float) * B * T), *wb = malloc(sizeof(float) * B * T);
    lc_error err;
    bool same = ta && tb && wa && wb && a && b;
    if (same) {
        CHECK_OK(a->next(a, B, T, ta, wa, &err), &err);
        CHECK_OK(b->next(b, B, T, tb, wb, &err), &err);
        same = memcmp(ta, tb, sizeof(int32_t) * B * (T + 1)) == 0 && memcmp(wa, wb, sizeof(float) * B * T) == 0;
    }
    free(ta), free(tb), free(wa), free(wb);
    return same;
}

static void test_toy(void) {
    lc_train_data_spec s;
    lc_train_data_spec_init(&s);
    s.data = "toy:copy", s.toy_vocab = 16, s.ctx = 24, s.seed = 3, s.eval = true;
    lc_train_data_set d;
    lc_error err;
    CHECK_OK(lc_train_data_from_spec(&s, &d, &err), &err);
    lc_train_data *t = NULL, *e = NULL;
    CHECK_OK(lc_train_data_toy("copy", 16, 3, &t, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 16, 3 ^ 0x5eed, &e, &err), &err);
    CHECK(d.vocab == 16 && d.tok == NULL, "toy: vocabulary %d, no tokenizer", d.vocab);
    CHECK(same_batch(d.train, t, 24), "toy: the training stream is lc_train_data_toy's");
    CHECK(same_batch(d.eval, e, 24), "toy: the validation stream is lc_train_data_toy's with seed ^ 0x5eed");
    CHECK(strstr(d.desc, "toy task copy") != NULL, "toy: desc '%s'", d.desc);
    lc_train_data_free(t), lc_train_data_free(e);
    lc_train_data_set_free(&d);
}

/* A text file of n_lines sentences; its path in path. */
static bool write_text(char *path, size_t cap, int n_lines) {
    snprintf(path, cap, "/tmp/lc_test_train_spec_%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return false;
    for (int i = 0; i < n_lines; i++)
        fprintf(f, "Line %d: the pass key is %d and the context keeps growing.\n", i, (i * 7919) % 100000);
    return fclose(f) == 0;
}

static void test_text(const char *path) {
    const int64_t T = 32;
    lc_train_data_spec s;
    lc_train_data_spec_init(&s);
    s.data = path, s.tokenizer = "synthetic", s.ctx = T, s.seed = 9, s.eval = true;
    lc_train_data_set d;
    lc_error err;
    CHECK_OK(lc_train_data_from_spec(&s, &d, &err), &err);
    /* the same by hand: read, encode, split */
    lc_tokenizer *tok = NULL;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    FILE *f = fopen(path, "rb");
    char *text = malloc(1 << 20);
    const size_t len = f && text ? fread(text, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    int64_t n = 0;
    lc_tokenizer_encode(tok, text, len, false, NULL, 0, &n, &err);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    CHECK_OK(lc_tokenizer_encode(tok, text, len, false, ids, n, &n, &err), &err);
    CHECK(n / 10 >= T + 1, "the text holds enough tokens to hold some out (%lld)", (long long)n);
    const int64_t n_eval = n / 10, n_train = n - n_eval;
    lc_train_data *t = NULL, *e = NULL;
    CHECK_OK(lc_train_data_tokens(ids, n_train, 9, &t, &err), &err);
    CHECK_OK(lc_train_data_tokens(ids + n_train, n_eval, 9 ^ 0x5eed, &e, &err), &err);
    CHECK(d.tok && d.vocab == lc_tokenizer_n_vocab(tok), "text: its own synthetic tokenizer (vocabulary %d)", d.vocab);
    CHECK(same_batch(d.train, t, T), "text: the first 90%% of the ids, as lc_train_data_tokens");
    CHECK(same_batch(d.eval, e, T), "text: the last 10%% held out for validation");
    char want[64];
    snprintf(want, sizeof want, "%lld tokens (%lld held out)", (long long)n_train, (long long)n_eval);
    CHECK(strstr(d.desc, want) != NULL, "text: desc '%s' says '%s'", d.desc, want);
    lc_train_data_free(t), lc_train_data_free(e);
    lc_train_data_set_free(&d);
    /* the model's tokenizer, borrowed when no tokenizer is named */
    s.tokenizer = NULL, s.model_tok = tok, s.eval = false;
    CHECK_OK(lc_train_data_from_spec(&s, &d, &err), &err);
    CHECK(d.tok == NULL && d.eval == NULL && d.vocab == lc_tokenizer_n_vocab(tok), "text: the model's tokenizer");
    lc_train_data_set_free(&d);
    /* bpe:N */
    s.tokenizer = "bpe:300", s.model_tok = NULL;
    CHECK_OK(lc_train_data_from_spec(&s, &d, &err), &err);
    CHECK(d.tok && d.vocab > 256 && d.vocab <= 300, "bpe:300: vocabulary %d", d.vocab);
    int32_t toks[B * (32 + 1)];
    float w[B * 32];
    if (d.train) CHECK_OK(d.train->next(d.train, B, T, toks, w, &err), &err);
    bool inside = d.train != NULL;
    for (int i = 0; inside && i < B * (T + 1); i++) inside = toks[i] >= 0 && toks[i] < d.vocab;
    CHECK(inside, "bpe:300: every id inside the vocabulary");
    lc_train_data_set_free(&d);
    free(ids), free(text);
    lc_tokenizer_free(tok);
}

static void test_tasks(void) {
    const int64_t T = 160;
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    lc_train_data_spec s;
    lc_train_data_spec_init(&s);
    s.data = "passkey:0.5,vt:0.5:hops=2", s.model_tok = tok, s.ctx = T, s.seed = 4, s.eval = true;
    s.answer_weight = 4.0f, s.eos_weight = 2.0f, s.len_jitter = 3;
    lc_train_data_set d;
    CHECK_OK(lc_train_data_from_spec(&s, &d, &err), &err);
    lc_task_stream_config c;
    lc_task_stream_config_init(&c);
    CHECK_OK(lc_task_mix_parse(s.data, &c.mix, &err), &err);
    c.seq_len = T, c.seed = 4;
    c.role_weight[LC_ROLE_ANSWER] = 4.0f, c.role_weight[LC_ROLE_EOS] = 2.0f;
    lc_train_data *t = NULL, *e = NULL;
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, 3, &t, &err), &err);
    c.seed = 4 ^ 0x5eed;
    CHECK_OK(lc_train_data_tasks_jitter(&c, tok, 3, &e, &err), &err);
    CHECK(d.tok == NULL && d.vocab == lc_tokenizer_n_vocab(tok), "tasks: the model's tokenizer");
    CHECK(same_batch(d.train, t, T), "tasks: lc_train_data_tasks_jitter with the weights and jitter");
    CHECK(same_batch(d.eval, e, T), "tasks: validation with seed ^ 0x5eed");
    CHECK(strstr(d.desc, "rows end 0..3 tokens early") != NULL, "tasks: desc '%s'", d.desc);
    lc_train_data_free(t), lc_train_data_free(e);
    lc_train_data_set_free(&d);
    lc_tokenizer_free(tok);
}

static void refused(const char *data, const char *tokenizer, int32_t toy_vocab, lc_status want, const char *says) {
    lc_train_data_spec s;
    lc_train_data_spec_init(&s);
    s.data = data, s.tokenizer = tokenizer, s.ctx = 32;
    if (toy_vocab) s.toy_vocab = toy_vocab;
    lc_train_data_set d;
    lc_error err;
    const lc_status st = lc_train_data_from_spec(&s, &d, &err);
    CHECK(st != LC_OK && (want == LC_OK || st == want), "'%s' / '%s' refused (%s)", data ? data : "(null)",
          tokenizer ? tokenizer : "(null)", lc_status_str(st));
    CHECK(!says || strstr(err.msg, says), "'%s': the message '%s' says '%s'", data ? data : "(null)", err.msg, says);
    CHECK(!d.tok && !d.train && !d.eval, "'%s': nothing left in the output", data ? data : "(null)");
}

int main(void) {
    test_toy();
    char path[128];
    if (write_text(path, sizeof path, 400)) {
        test_text(path);
        refused(path, "bpe:10", 0, LC_ERR_INVALID_ARG, "N >= 257");
        unlink(path);
    } else {
        CHECK(false, "cannot write a text file in /tmp");
    }
    test_tasks();
    refused("passkey:1", "bpe:300", 0, LC_ERR_INVALID_ARG, "trains on a text file");
    refused("no/such.file", NULL, 0, LC_ERR_IO, "no such file");
    refused("nonsense", "synthetic", 0, LC_OK, NULL);
    refused(NULL, NULL, 0, LC_ERR_INVALID_ARG, "no data");
    refused("toy:copy", NULL, 2, LC_OK, NULL);
    return lc_test_finish("test_train_data_spec");
}
