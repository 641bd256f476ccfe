/*
 * A training run set up from a request (train.h: lc_train_config_for_request,
 * lc_train_setup, lc_trainer_plan_print, lc_train_log_*, lc_train_progress_*):
 * refusals, the vocabulary decision, the CSV log's rows and the progress line.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/sys.h"
#include "longctx/train.h"
#include "test_util.h"

static lc_train_request toy_request(void) {
    lc_train_request r;
    memset(&r, 0, sizeof r);
    r.dim = (lc_train_opt_i64){true, 32};
    r.layers = (lc_train_opt_i64){true, 1};
    r.heads = (lc_train_opt_i64){true, 2};
    r.ctx = (lc_train_opt_i64){true, 24};
    r.batch = (lc_train_opt_i64){true, 2};
    r.steps = (lc_train_opt_i64){true, 3};
    r.threads = (lc_train_opt_i64){true, 1};
    return r;
}

static void test_config(void) {
    lc_train_request r = toy_request();
    lc_train_config cfg;
    lc_model *base = (lc_model *)&cfg; /* must be reset */
    lc_error err;
    lc_train_config_init(&cfg);
    CHECK(lc_train_config_for_request(&r, "a.gguf", "b.gguf", &cfg, &base, &err) == LC_ERR_INVALID_ARG && !base,
          "init and resume together");
    CHECK(lc_train_config_for_request(&r, "a.gguf", NULL, &cfg, &base, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "a.gguf"),
          "a shape with --init: %s", err.msg);
    CHECK(lc_train_config_for_request(&r, NULL, "/nonexistent/x.gguf", &cfg, &base, &err) != LC_OK, "no such model");
    lc_train_request none;
    memset(&none, 0, sizeof none);
    CHECK(lc_train_config_for_request(&none, "/nonexistent/m.gguf", NULL, &cfg, &base, &err) != LC_OK && !base,
          "a missing init model");
    lc_train_config_init(&cfg);
    CHECK_OK(lc_train_config_for_request(&r, NULL, NULL, &cfg, &base, &err), &err);
    CHECK(!base && cfg.model.dim == 32 && cfg.model.n_heads == 2 && cfg.model.n_kv_heads == 1 &&
              cfg.model.hidden_dim == 96 && cfg.ctx == 24 && cfg.steps == 3,
          "fresh shape dim %d heads %d/%d hidden %d", cfg.model.dim, cfg.model.n_heads, cfg.model.n_kv_heads,
          cfg.model.hidden_dim);
}

/* The toy run both tests start from (a 16-token vocabulary, toy:copy) set
 * up; cfg, sp and ds are the caller's, the trainer (or NULL) is returned. */
static lc_trainer *toy_setup(lc_train_config *cfg, lc_train_data_spec *sp, lc_train_data_set *ds, lc_error *err) {
    lc_train_request r = toy_request();
    r.toy_data = true;
    r.vocab = (lc_train_opt_i64){true, 16};
    lc_train_config_init(cfg);
    lc_model *base = NULL;
    CHECK_OK(lc_train_config_for_request(&r, NULL, NULL, cfg, &base, err), err);
    lc_train_data_spec_init(sp);
    sp->data = "toy:copy";
    lc_trainer *t = NULL;
    CHECK_OK(lc_train_setup(cfg, &r, sp, NULL, NULL, NULL, &t, ds, err), err);
    return t;
}

static void test_setup(void) {
    lc_error err;
    lc_train_config cfg;
    lc_train_data_spec sp;
    lc_train_data_set ds;
    lc_trainer *t = toy_setup(&cfg, &sp, &ds, &err);
    lc_model *base = NULL;
    CHECK(t && ds.train && ds.vocab == 16 && cfg.model.vocab_size == 16 && sp.ctx == 24, "toy: vocab %d / %d",
          ds.vocab, cfg.model.vocab_size);
    if (t) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        lc_trainer_plan_print(f, t, &ds);
        fclose(f);
        CHECK(strstr(buf, "parameters (dim 32, 1 layers, 2/1 heads x 16, hidden 96, vocab 16, tied)") &&
                  strstr(buf, "B 2 x T 24; steps 3 (from 0)") && strstr(buf, ", 1 threads\n"),
              "%s", buf);
        free(buf);
    }
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);

    /* task data with the synthetic vocabulary on a model of 16 embeddings: refused, nothing kept */
    lc_train_request r2 = toy_request();
    r2.vocab = (lc_train_opt_i64){true, 16};
    lc_train_config_init(&cfg);
    CHECK_OK(lc_train_config_for_request(&r2, NULL, NULL, &cfg, &base, &err), &err);
    lc_train_data_spec_init(&sp);
    sp.data = "passkey:1";
    r2.ctx = (lc_train_opt_i64){true, 96};
    cfg.ctx = 96;
    t = (lc_trainer *)&cfg;
    CHECK(lc_train_setup(&cfg, &r2, &sp, NULL, NULL, NULL, &t, &ds, &err) == LC_ERR_INVALID_ARG && !t && !ds.train &&
              strstr(err.msg, "16 embeddings"),
          "ids past the vocabulary: %s", err.msg);
    /* without --vocab the model takes the data's */
    r2.vocab.set = false;
    lc_train_config_init(&cfg);
    CHECK_OK(lc_train_config_for_request(&r2, NULL, NULL, &cfg, &base, &err), &err);
    lc_train_data_spec_init(&sp);
    sp.data = "passkey:1";
    CHECK_OK(lc_train_setup(&cfg, &r2, &sp, NULL, NULL, NULL, &t, &ds, &err), &err);
    CHECK(t && cfg.model.vocab_size == ds.vocab && ds.vocab == LC_TASKS_VOCAB_SIZE, "vocab %d", cfg.model.vocab_size);
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);
}

static void test_log(void) {
    char path[] = "/tmp/test_train_log_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    lc_train_log *l = NULL;
    lc_error err;
    CHECK_OK(lc_train_log_open(path, false, 48, &l, &err), &err);
    lc_train_stats s;
    memset(&s, 0, sizeof s);
    s.step = 1, s.loss = 2.5, s.lr = 0.001f, s.grad_norm = 1.25;
    lc_train_log_step(l, &s);
    lc_train_log_eval(l, 7, 9.0); /* not this step: ignored */
    s.step = 2, s.loss = 2.0;
    lc_train_log_step(l, &s);
    lc_train_log_eval(l, 2, 1.75);
    s.step = 3;
    lc_train_log_step(l, &s);
    lc_train_log_close(l);
    CHECK_OK(lc_train_log_open(path, true, 48, &l, &err), &err); /* resumed: no second header */
    s.step = 4;
    lc_train_log_step(l, &s);
    lc_train_log_close(l);
    char text[1024] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    const char *head = "step,tokens,loss,lr,grad_norm,seconds,val_loss\n1,48,2.500000,0.001,1.250000,";
    CHECK(strncmp(text, head, strlen(head)) == 0, "%s", text);
    CHECK(strstr(text, "\n2,96,2.000000,0.001,1.250000,") && strstr(text, ",1.750000\n3,144,"), "%s", text);
    CHECK(strstr(text, "\n4,192,") && text[strlen(text) - 2] == ',', "%s", text);
    const char *h2 = strstr(text + 1, "step,");
    CHECK(!h2, "a second header: %s", text);
    CHECK(lc_train_log_open("/nonexistent/dir/x.csv", false, 1, &l, &err) == LC_ERR_IO && !l, "unwritable log");
    unlink(path);
    CHECK(lc_train_output_dir_ok("/tmp/x.gguf") && lc_train_output_dir_ok("x.gguf") == (access(".", W_OK) == 0),
          "writable folders");
    CHECK(!lc_train_output_dir_ok("/nonexistent/dir/x.gguf"), "a missing folder");
}

static void test_progress(void) {
    lc_train_progress p = {lc_time_now() - 10.0, 0, 100, 50};
    lc_train_stats s;
    memset(&s, 0, sizeof s);
    s.step = 10, s.loss = 3.21, s.lr = 0.001f, s.grad_norm = 0.5;
    char buf[256];
    /* 10 steps x 50 tokens in 10 s: 50 tok/s; 90 steps to go at 1 s each */
    lc_train_progress_format(&p, &s, false, buf, sizeof buf);
    CHECK(strcmp(buf, "step 10/100 | loss 3.2100 | lr 1.00e-03 | grad 0.500 | 50 tok/s | 10s elapsed | ETA 1m30s") == 0,
          "%s", buf);
    lc_train_progress_format(&p, &s, true, buf, sizeof buf);
    CHECK(strcmp(buf, "step 10/100 loss 3.2100 lr 1.00e-03 grad 0.500 tok/s 50 elapsed 10s ETA 1m30s") == 0, "%s", buf);
    p.first_step = 10; /* no step done since the start: no ETA */
    CHECK(strstr(lc_train_progress_format(&p, &s, true, buf, sizeof buf), "tok/s 0 elapsed 10s ETA ?"), "%s", buf);
}

/* The console's callbacks driven by hand off a terminal: which steps print,
 * the validation and save lines, the log rows, and the stops. */
static void test_console(void) {
    lc_error err;
    lc_train_request r = toy_request();
    r.toy_data = true;
    r.steps = (lc_train_opt_i64){true, 7};
    lc_train_config cfg;
    lc_train_config_init(&cfg);
    lc_model *base = NULL;
    CHECK_OK(lc_train_config_for_request(&r, NULL, NULL, &cfg, &base, &err), &err);
    lc_trainer *t = NULL;
    CHECK_OK(lc_trainer_create(&cfg, &t, &err), &err);
    if (!t) return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    volatile sig_atomic_t stop = 0;
    lc_train_console c;
    lc_train_console_init(&c, f, t, NULL, 3, 6, &stop);
    CHECK(!c.tty && c.log_every == 3 && c.progress.total_steps == 7, "init");
    lc_train_run_opts o;
    memset(&o, 0, sizeof o);
    lc_train_console_attach(&c, &o);
    CHECK(o.on_step && o.on_eval && o.on_save && o.user == &c, "attached");
    lc_train_stats s;
    memset(&s, 0, sizeof s);
    bool go[8] = {false};
    for (int64_t k = 1; k <= 7; k++) {
        s.step = k, s.loss = 1.0 + (double)k;
        go[k] = o.on_step(o.user, &s);
        if (k == 3) o.on_eval(o.user, 3, 0.25);
        if (k == 4) o.on_save(o.user, 4, "m.gguf");
    }
    fclose(f);
    /* steps 1 (the first), 3 and 6 (every 3rd), 7 (the last) */
    CHECK(strstr(buf, "step 1/7 loss 2.0000") && !strstr(buf, "step 2/7") && strstr(buf, "step 3/7 loss 4.0000") &&
              !strstr(buf, "step 4/7") && strstr(buf, "step 6/7") && strstr(buf, "step 7/7"),
          "%s", buf);
    CHECK(strstr(buf, "step 3: validation loss 0.2500 (train 4.0000)\n") &&
              strstr(buf, "step 4: saved m.gguf (+ .optim)\n"),
          "%s", buf);
    CHECK(go[1] && go[5] && !go[6], "stop_at 6: go on through 5, stop after 6");
    free(buf);
    stop = 1;
    f = open_memstream(&buf, &len);
    lc_train_console_init(&c, f, t, NULL, 0, 0, &stop);
    CHECK(c.log_every == 1, "log_every for 7 steps: %lld", (long long)c.log_every);
    lc_train_console_attach(&c, &o);
    s.step = 1;
    CHECK(!o.on_step(o.user, &s), "a stop request stops after the step");
    fclose(f);
    free(buf);
    lc_trainer_free(t);
}

/* A real run through the console: three toy steps, the lines and the log. */
static void test_run_console(void) {
    lc_error err;
    lc_train_config cfg;
    lc_train_data_spec sp;
    lc_train_data_set ds;
    lc_trainer *t = toy_setup(&cfg, &sp, &ds, &err);
    if (!t) return;
    char log[] = "/tmp/test_run_console_XXXXXX";
    const int fd = mkstemp(log);
    if (fd >= 0) close(fd);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const lc_train_run_opts o = {0};
    CHECK_OK(lc_train_run_console(t, ds.train, o, f, log, false, 1, 0, NULL, &err), &err);
    fclose(f);
    CHECK(lc_trainer_step_count(t) == 3 && strstr(buf, "step 1/3 loss ") && strstr(buf, "step 3/3 loss ") &&
              strstr(buf, "\ndone: 3 steps\n") && !strstr(buf, "continue with"),
          "%s", buf);
    free(buf);
    FILE *lf = fopen(log, "r");
    int lines = 0;
    for (int ch; lf && (ch = fgetc(lf)) != EOF;) lines += ch == '\n';
    if (lf) fclose(lf);
    CHECK(lines == 4, "header and 3 rows: %d lines", lines);
    unlink(log);
    CHECK(lc_train_run_console(t, ds.train, o, stderr, "/nonexistent/dir/l.csv", false, 1, 0, NULL, &err) == LC_ERR_IO,
          "an unwritable log");
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);

    /* stopped at step 2 of 3 (stop_at), saved: the closing lines say where and how to go on */
    if (!(t = toy_setup(&cfg, &sp, &ds, &err))) return;
    char out[] = "/tmp/test_run_console_ckpt_XXXXXX";
    const int ofd = mkstemp(out);
    if (ofd >= 0) close(ofd);
    const lc_train_run_opts so = {.save_path = out};
    f = open_memstream(&buf, &len);
    CHECK_OK(lc_train_run_console(t, ds.train, so, f, NULL, false, 1, 2, NULL, &err), &err);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "\nstopped at step 2 of 3: continue with --resume %s\ndone: 2 steps, %s (+ .optim)\n",
             out, out);
    CHECK(lc_trainer_step_count(t) == 2 && strstr(buf, want), "stopped: %s", buf);
    free(buf);
    char optim[64];
    snprintf(optim, sizeof optim, "%s.optim", out);
    unlink(out);
    unlink(optim);
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);
}

int main(void) {
    test_run_console();
    test_console();
    test_config();
    test_setup();
    test_log();
    test_progress();
    return lc_test_finish("test_train_session");
}
