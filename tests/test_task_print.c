/*
 * The printers of tasks.h (what `longctx gen-data` shows): a sample, its JSON,
 * rows of the training stream, the synthetic vocabulary and a BPE training
 * run, each checked against the structures they print.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/tasks.h"
#include "test_util.h"

typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} capture;

static FILE *cap_open(capture *c) {
    c->buf = NULL;
    c->len = 0;
    return c->f = open_memstream(&c->buf, &c->len);
}
static char *cap_close(capture *c) {
    fclose(c->f);
    return c->buf;
}

static int64_t count_of(const char *s, const char *what) {
    int64_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_sample(const lc_tokenizer *tok) {
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_PASSKEY, 200);
    spec.depth = 0.5;
    lc_task_sample s;
    lc_error err;
    CHECK_OK(lc_task_generate(&spec, tok, 11, &s, &err), &err);
    capture c;
    lc_task_sample_print(cap_open(&c), tok, &s, 11, 200, true);
    char *t = cap_close(&c);
    char want[160];
    snprintf(want, sizeof want,
             "# passkey  seed 11  %lld tokens (target 200): prompt %lld, haystack %lld, answer %lld\n",
             (long long)s.n_tokens, (long long)s.n_prompt, (long long)s.n_haystack,
             (long long)(s.n_tokens - s.n_prompt));
    CHECK(strncmp(t, want, strlen(want)) == 0, "want '%s' first in:\n%s", want, t);
    snprintf(want, sizeof want, "#   needle 0 at token %lld (%lld tokens), depth ", (long long)s.needles[0].pos,
             (long long)s.needles[0].len);
    CHECK(strstr(t, want), "want '%s' in:\n%s", want, t);
    snprintf(want, sizeof want, "=> \"%s\"\n", s.answer);
    CHECK(strstr(t, want) && strstr(t, s.prompt), "want the prompt and '%s' in:\n%s", want, t);
    /* the token line: one "R:" a token, BOS first, the role letters in order */
    const char *tl = strstr(t, "B:");
    CHECK(tl && tl[-1] == '\n', "%s", t);
    int64_t roles[LC_ROLE_COUNT] = {0};
    for (int64_t i = 0; i < s.n_tokens; i++) roles[s.roles[i]]++;
    CHECK(tl && count_of(tl, " f:") + (s.roles[0] == LC_ROLE_FILLER) >= roles[LC_ROLE_FILLER] &&
              count_of(tl, " A:") >= roles[LC_ROLE_ANSWER] && count_of(tl, " E:") == roles[LC_ROLE_EOS],
          "%s", tl ? tl : t);
    free(t);

    lc_json_writer w;
    lc_json_init(&w, cap_open(&c), false);
    lc_task_sample_json(&w, &s, 11);
    lc_json_finish(&w);
    t = cap_close(&c);
    snprintf(want, sizeof want, "{\"task\":\"passkey\",\"seed\":11,\"n_tokens\":%lld,\"n_prompt\":%lld",
             (long long)s.n_tokens, (long long)s.n_prompt);
    CHECK(strncmp(t, want, strlen(want)) == 0, "want '%s' first in %s", want, t);
    const char *ids = strstr(t, "\"ids\":[");
    const char *rl = strstr(t, "\"roles\":[");
    CHECK(ids && rl && count_of(ids, ",") - count_of(rl, ",") == s.n_tokens, "ids: %lld tokens expected",
          (long long)s.n_tokens); /* n-1 commas inside ids, one after it */
    CHECK(strstr(t, "\"asked\":true"), "%s", t);
    free(t);
    lc_task_sample_free(&s);
}

static void test_stream(const lc_tokenizer *tok) {
    lc_task_stream_config cfg;
    lc_task_stream_config_init(&cfg);
    lc_error err;
    CHECK_OK(lc_task_mix_parse("passkey:0.5,filler:0.5", &cfg.mix, &err), &err);
    cfg.seq_len = 128;
    cfg.seed = 5;
    capture c;
    CHECK_OK(lc_task_stream_print(cap_open(&c), &cfg, tok, 3, 2, false, &err), &err);
    char *t = cap_close(&c);
    CHECK(strstr(t, "  T 128  seed 5  rows 3..4\n") && t[0] == '#', "%s", t);
    CHECK(count_of(t, "# row ") == 2 && strstr(t, "# row 3: ") && strstr(t, "# row 4: "), "%s", t);
    /* each row's tokens by role add up to T + 1 */
    for (const char *r = strstr(t, "# row "); r; r = strstr(r + 1, "# row ")) {
        long long f, n, q, a, e;
        const char *by = strstr(r, "tokens by role:");
        CHECK(by && sscanf(by, "tokens by role: filler %lld, needle %lld, question %lld, answer %lld, eos %lld", &f, &n,
                           &q, &a, &e) == 5,
              "%s", r);
        if (by) CHECK(f + n + q + a + e <= 129 && f > 0, "roles %lld+%lld+%lld+%lld+%lld", f, n, q, a, e);
    }
    free(t);
    CHECK(lc_task_stream_print(cap_open(&c), &cfg, tok, 0, (int64_t)1 << 40, false, &err) == LC_ERR_INVALID_ARG,
          "a batch of 2^40 rows must be refused");
    free(cap_close(&c));
}

static void test_vocab(void) {
    capture c;
    lc_error err;
    CHECK_OK(lc_tasks_vocab_print(cap_open(&c), &err), &err);
    char *t = cap_close(&c);
    char want[96];
    snprintf(want, sizeof want, "# synthetic tokenizer: %d pieces (SPM", LC_TASKS_VOCAB_SIZE);
    CHECK(strncmp(t, want, strlen(want)) == 0, "%s", t);
    CHECK(count_of(t, "\n") >= LC_TASKS_VOCAB_SIZE + 1 && strstr(t, "\n0\t") && strstr(t, "\tcontrol\t"), "lines");
    free(t);
}

static void test_bpe_result(void) {
    lc_bpe_train_file_result r;
    memset(&r, 0, sizeof r);
    r.bytes = 4000;
    r.n_vocab = 300;
    r.n_merges = 43;
    snprintf(r.pre, sizeof r.pre, "gpt2");
    r.train_s = 0.002;
    r.corpus_tokens = 1600;
    capture c;
    lc_bpe_train_file_result_print(cap_open(&c), "c.txt", &r, 310);
    char *t = cap_close(&c);
    CHECK(strstr(t, "trained on c.txt: 4000 bytes, pre-tokenizer gpt2\n"), "%s", t);
    CHECK(strstr(t, "vocabulary 300 tokens (256 bytes + 43 merges + <|endoftext|>), asked 310\n"), "%s", t);
    CHECK(strstr(t, "(2.0 MB/s)") && strstr(t, "1600 tokens, 2.50 bytes/token"), "%s", t);
    CHECK(strstr(t, "DIFFERS from the trainer's"), "%s", t);
    free(t);
}

static void test_samples(const lc_tokenizer *tok) {
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_VT, 300);
    capture c;
    lc_error err;
    CHECK_OK(lc_task_samples_print(cap_open(&c), &spec, tok, 40, 2, true, false, &err), &err);
    char *t = cap_close(&c);
    CHECK(count_of(t, "\n") == 2 && strstr(t, "{\"task\":\"vt\",\"seed\":40,") &&
              strstr(t, "\n{\"task\":\"vt\",\"seed\":41,"),
          "two JSON lines, seeds 40 and 41: %s", t);
    free(t);
    spec.n_tokens = 10; /* too short for a vt sample */
    CHECK(lc_task_samples_print(cap_open(&c), &spec, tok, 1, 1, false, false, &err) == LC_ERR_INVALID_ARG, "refused");
    free(cap_close(&c));
}

static void test_bpe_run(void) {
    char dir[] = "/tmp/test_task_print_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char corpus[64], out[64];
    snprintf(corpus, sizeof corpus, "%s/c.txt", dir);
    snprintf(out, sizeof out, "%s/bpe.gguf", dir);
    FILE *f = fopen(corpus, "w");
    for (int i = 0; f && i < 200; i++) fprintf(f, "the quick brown fox %d jumps over the lazy dog\n", i % 17);
    if (f) fclose(f);
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, 300);
    capture c;
    lc_error err;
    CHECK_OK(lc_bpe_train_file_run(corpus, &p, out, cap_open(&c), &err), &err);
    char *t = cap_close(&c);
    char want[96];
    snprintf(want, sizeof want, "wrote %s\n", out);
    CHECK(strstr(t, "identical to the trainer's segmentation") && strstr(t, want), "%s", t);
    free(t);
    lc_tokenizer *tok = NULL;
    CHECK_OK(lc_tokenizer_open(out, 0, &tok, &err), &err);
    CHECK(tok && lc_tokenizer_n_vocab(tok) <= 300 && lc_tokenizer_n_vocab(tok) > 256, "the written vocabulary");
    lc_tokenizer_free(tok);
    remove(out);
    CHECK(lc_bpe_train_file_run(out, &p, NULL, cap_open(&c), &err) == LC_ERR_IO, "a missing corpus");
    free(cap_close(&c));
    remove(corpus);
    remove(dir);
}

int main(void) {
    test_bpe_run();
    lc_tokenizer *tok = NULL;
    lc_error err;
    test_vocab();
    test_bpe_result();
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (!tok) return lc_test_finish("test_task_print");
    test_sample(tok);
    test_stream(tok);
    test_samples(tok);
    lc_tokenizer_free(tok);
    return lc_test_finish("test_task_print");
}
