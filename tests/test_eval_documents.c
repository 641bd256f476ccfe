/*
 * The whole `longctx eval --json` documents and the run's lengths and
 * windows (eval.h, src/eval/eval_documents.c), on results built here:
 *  - lc_eval_default_lengths: powers of two from 1K below the target (-c
 *    less the margin, else the training context), then the target; a target
 *    below 1; lc_eval_past_training;
 *  - lc_eval_ppl_windows_check: a window below 2, a stride not below every
 *    window, a window past -c refused with what to change; good windows;
 *    lc_eval_ppl_run_model refuses the same before any context;
 *  - the grid, retention, ppl and stream documents: the header, each task's
 *    settings in order, the results, the closing brace; refusals of missing
 *    parts and a failed file;
 *  - lc_eval_print_setup (the settings line, the file's line only for a
 *    file) and lc_eval_trial_print (a random depth, a newline escaped).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/eval.h"
#include "test_model_util.h"
#include "test_util.h"

static void test_lengths(void) {
    int64_t l[LC_EVAL_MAX_LENGTHS];
    int n = -1;
    lc_eval_default_lengths(5000, 4, 2048, l, &n);
    CHECK(n == 4 && l[0] == 1024 && l[1] == 2048 && l[2] == 4096 && l[3] == 4996, "-c 5000: %d, last %lld", n,
          (long long)l[n - 1]);
    lc_eval_default_lengths(0, 4, 1024, l, &n);
    CHECK(n == 1 && l[0] == 1024, "training context 1K: %d %lld", n, (long long)l[0]);
    lc_eval_default_lengths(3, 4, 1024, l, &n);
    CHECK(n == 1 && l[0] == 1, "a target below 1: %d %lld", n, (long long)l[0]);
    lc_eval_default_lengths(0, 4, (int64_t)1 << 62, l, &n);
    CHECK(n == 53 && l[51] == (int64_t)1 << 61 && l[52] == (int64_t)1 << 62, "1K .. 2^61 and 2^62: %d", n);
    const int64_t g[3] = {512, 2048, 4096};
    CHECK(lc_eval_past_training(g, 3, 1024) == 1 && lc_eval_past_training(g, 3, 4096) == -1 &&
              lc_eval_past_training(g, 3, 0) == -1,
          "past training");

    lc_error err;
    const int64_t w[2] = {64, 128};
    CHECK_OK(lc_eval_ppl_windows_check(w, 2, 0, 0, &err), &err);
    CHECK_OK(lc_eval_ppl_windows_check(w, 2, 63, 128, &err), &err);
    CHECK(lc_eval_ppl_windows_check(w, 2, 64, 0, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "--stride 64") &&
              strstr(err.msg, "(64)"),
          "stride: %s", err.msg);
    CHECK(lc_eval_ppl_windows_check(w, 2, 0, 100, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "window 128") &&
              strstr(err.msg, "-c 100"),
          "past -c: %s", err.msg);
    const int64_t one[1] = {1};
    CHECK(lc_eval_ppl_windows_check(one, 1, 0, 0, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "need >= 2"),
          "window 1: %s", err.msg);
    CHECK(lc_eval_ppl_windows_check(w, 0, 0, 0, &err) == LC_ERR_INVALID_ARG, "no windows");
}

/* What f holds, as a string (f closed). */
static char *slurp(FILE *f) {
    fflush(f);
    const long n = ftell(f);
    char *s = n >= 0 ? calloc((size_t)n + 1, 1) : NULL;
    rewind(f);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    fclose(f);
    return s;
}

/* a before b in s, both present. */
static bool in_order(const char *s, const char *a, const char *b) {
    const char *x = s ? strstr(s, a) : NULL, *y = s ? strstr(s, b) : NULL;
    return x && y && x < y;
}

static void test_documents(void) {
    lc_model_config cfg = test_llama_config(32, 48, 2, 2, 2, 16, 40);
    cfg.ctx_train = 256;
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&cfg, LC_DTYPE_F32, 1, &m, &err), &err);
    if (!m) return;
    lc_eval_ctx_info info;
    memset(&info, 0, sizeof info);
    info.n_ctx = 300, info.n_threads = 2, info.attn = LC_ATTN_FLASH, info.rope = m->cfg.rope;
    const lc_eval_header h = {"passkey", "dir/m.gguf", m, NULL, NULL, 7, 1, info};

    /* a grid: one length, one depth */
    lc_eval_cell cell = {.length = 128, .depth = 0.5, .trials = 1, .accuracy = 1, .recall = 1, .mean_tokens = 120};
    lc_eval_grid g = {LC_TASK_PASSKEY, 1, 1, &cell, 1, 1, 1, 500, 40, 2.5};
    lc_eval_grid_config gc;
    lc_eval_grid_config_init(&gc, LC_TASK_PASSKEY);
    gc.lengths[0] = 128, gc.n_lengths = 1;
    FILE *f = tmpfile();
    CHECK_OK(lc_eval_grid_write_doc(f, &h, &gc, NULL, NULL, true, &g, false, &err), &err);
    char *s = slurp(f);
    CHECK(s && !strncmp(s, "{\"task\":\"passkey\",\"model\":{\"path\":\"dir/m.gguf\"", 46) &&
              in_order(s, "\"seed\":7,\"trials\":1", "\"lengths\":[128],\"depths\":[") &&
              in_order(s, "\"prefix_reuse\":true}", "\"cells\":[{") &&
              strstr(s, "\"tokens_evaluated\":500,\"tokens_reused\":40}") && !strstr(s, "variant") &&
              !strstr(s, "\"seconds\""),
          "grid: %s", s);
    free(s);

    /* retention: one layer and head, two buckets */
    double mass[LC_EVAL_MAX_BUCKETS] = {0.25, 0.75}, needle = 0.5;
    lc_eval_retention r = {.n_layers = 1, .n_heads = 1, .n_buckets = 2, .mass = mass, .needle_mass = &needle,
                           .n_rows = 3, .grid = g};
    lc_eval_retention_config rc;
    lc_eval_retention_config_init(&rc);
    rc.grid = gc;
    f = tmpfile();
    CHECK_OK(lc_eval_retention_write_doc(f, &h, &rc, "hay.txt", &r, true, &err), &err);
    s = slurp(f);
    CHECK(s && in_order(s, "\"probes\":[-1]", "\"haystack\":\"hay.txt\"}") &&
              in_order(s, "\"cells\":[", "\"buckets\":[") &&
              strstr(s, "\"rows\":3,\"layers\":[{\"layer\":0,\"mass\":[0.25,0.75]") &&
              strstr(s, "\"needle_mass\":0.5") && !strstr(s, "tokens_evaluated"),
          "retention: %s", s);
    free(s);

    /* ppl: two methods, one window */
    lc_eval_ppl_result res[2];
    memset(res, 0, sizeof res);
    for (int i = 0; i < 2; i++)
        res[i].window = 64, res[i].stride = 63, res[i].n_windows = 2, res[i].n_scored = 100,
        res[i].nll = 100 * log(4.0 + i), res[i].ppl = 4 + i;
    const char *names[2] = {"flash", "window:16"};
    const lc_eval_ctx_info infos[2] = {info, info};
    const int64_t lengths[1] = {64};
    lc_eval_ppl_doc d = {lengths, 1, 0, names, infos, 2, res, "t.txt", 1234, true, 1.5};
    f = tmpfile();
    CHECK_OK(lc_eval_ppl_write_doc(f, &h, &d, &err), &err);
    s = slurp(f);
    CHECK(s && strstr(s, "\"lengths\":[64],\"stride\":\"window-1\",\"methods\":[\"flash\",\"window:16\"],\"file\":"
                         "\"t.txt\",\"file_tokens\":1234},\"cells\":[{\"method\":\"flash\"") &&
              strstr(s, "{\"method\":\"window:16\"") && strstr(s, "\"tokens\":200,\"seconds\":1.5}"),
          "ppl: %s", s);
    free(s);
    d.stride = 16, d.timings = false;
    f = tmpfile();
    CHECK_OK(lc_eval_ppl_write_doc(f, &h, &d, &err), &err);
    s = slurp(f);
    CHECK(s && strstr(s, "\"stride\":16,") && !strstr(s, "\"seconds\""), "ppl, a stride, no timings: %s", s);
    free(s);

    /* streams: the header's ctx is the first cell's slots */
    lc_eval_stream_cell c[2];
    memset(c, 0, sizeof c);
    snprintf(c[0].spec, sizeof c[0].spec, "window:32");
    snprintf(c[1].spec, sizeof c[1].spec, "sinks:4:28");
    c[0].slots = 33, c[1].slots = 32, c[0].res = res[0], c[1].res = res[1];
    f = tmpfile();
    CHECK_OK(lc_eval_streams_write_doc(f, &h, "t.txt", 1234, c, 2, false, &err), &err);
    s = slurp(f);
    CHECK(s && strstr(s, "\"ctx\":33,") && strstr(s, "\"mode\":\"stream\",\"file\":\"t.txt\",\"file_tokens\":1234}") &&
              in_order(s, "{\"method\":\"window:32\",\"slots\":33", "{\"method\":\"sinks:4:28\",\"slots\":32") &&
              !strstr(s, "rss_start"),
          "streams: %s", s);
    free(s);

    CHECK(lc_eval_grid_write_doc(stdout, &h, &gc, NULL, NULL, true, NULL, false, &err) == LC_ERR_INVALID_ARG,
          "no grid");
    CHECK(lc_eval_streams_write_doc(stdout, &h, "t", 1, c, 0, false, &err) == LC_ERR_INVALID_ARG, "no streams");
    d.n_methods = 0;
    CHECK(lc_eval_ppl_write_doc(stdout, &h, &d, &err) == LC_ERR_INVALID_ARG, "no methods");
    FILE *ro = fopen("/dev/null", "r"); /* writes to a read-only stream fail */
    if (ro) {
        CHECK(lc_eval_grid_write_doc(ro, &h, &gc, NULL, NULL, true, &g, false, &err) == LC_ERR_IO, "a failed file");
        fclose(ro);
    }

    /* the lines printed beside the tables */
    f = tmpfile();
    lc_eval_print_setup(f, "ppl", "m", m, &info, "t.txt", 1234);
    lc_eval_print_setup(f, "passkey", "m", m, &info, NULL, 0);
    s = slurp(f);
    char want[256];
    snprintf(want, sizeof want, "# ppl on m (%s, %lld params): ctx 300, 2 threads, attn flash, kv f32/f32, rope ",
             m->format, (long long)lc_model_n_params(&m->cfg));
    CHECK(s && !strncmp(s, want, strlen(want)) && strstr(s, "\n# 1234 tokens from t.txt\n# passkey on m (") &&
              !strstr(strstr(s, "# passkey"), "tokens from"),
          "setup: %s", s);
    free(s);
    lc_task_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.n_prompt = 120;
    char answer[] = "12345";
    smp.answer = answer;
    f = tmpfile();
    lc_eval_trial_print(f, 2048, 0.25, 1, &smp, "123\nx", 0, 0.5);
    lc_eval_trial_print(f, 100, -1, 0, &smp, "12345", 1, 1);
    s = slurp(f);
    CHECK(s && !strcmp(s, "length 2K depth 25% trial 1 (120 prompt tokens): expected \"12345\" got \"123\\nx\" score 0 "
                          "recall 0.5\nlength 100 depth random trial 0 (120 prompt tokens): expected \"12345\" got "
                          "\"12345\" score 1 recall 1\n"),
          "trials: %s", s);
    free(s);

    /* lc_eval_ppl_run_model checks the windows before making a context */
    lc_eval_run_opts o;
    lc_eval_run_opts_init(&o);
    o.ctx.n_ctx = 32;
    int32_t ids[80] = {0};
    lc_eval_ppl_result out[1];
    CHECK(lc_eval_ppl_run_model(m, NULL, &o, ids, 80, lengths, 1, 0, out, NULL, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "does not fit -c 32"),
          "window past the context: %s", err.msg);
    lc_model_free(m);
}

int main(void) {
    test_lengths();
    test_documents();
    return lc_test_finish("test_eval_documents");
}
