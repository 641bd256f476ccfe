/*
 * Checkpoints: save -> resume -> continue reproduces the uninterrupted run
 * bit for bit (losses and weights, same thread count), through
 * lc_trainer_save/resume and through lc_train_run's save_every; the sidecar
 * refuses a corrupted, truncated, foreign or mismatched file; the GGUF loads
 * back as a model (linear attention recorded) whose weights are the
 * trainer's; --init style loading copies them exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/train.h"
#include "test_util.h"

static char dir[64];

static void config(lc_train_config *c, const char *attention) {
    lc_train_config_init(c);
    c->model.dim = 32;
    c->model.hidden_dim = 48;
    c->model.n_layers = 2;
    c->model.n_heads = 4;
    c->model.n_kv_heads = 2;
    c->model.head_dim = 8;
    c->model.vocab_size = 13;
    c->model.tied_output = false;
    snprintf(c->model.attention, sizeof c->model.attention, "%s", attention);
    c->batch = 3;
    c->ctx = 20;
    c->steps = 10;
    c->warmup = 3;
    c->lr = 3e-3f;
    c->n_threads = 2;
}

/* Train steps [from, to) drawing from d; record losses into out[step]. */
static void train(lc_trainer *t, lc_train_data *d, int64_t to, double *out) {
    const lc_train_config *c = lc_trainer_config(t);
    int32_t *tok = (int32_t *)malloc((size_t)(c->batch * (c->ctx + 1)) * sizeof(int32_t));
    float *w = (float *)malloc((size_t)(c->batch * c->ctx) * sizeof(float));
    lc_error err;
    while (lc_trainer_step_count(t) < to) {
        lc_train_stats s;
        CHECK_OK(d->next(d, c->batch, c->ctx, tok, w, &err), &err);
        lc_status st = lc_trainer_step(t, tok, w, &s, &err);
        CHECK_OK(st, &err);
        if (st != LC_OK) break;
        out[s.step - 1] = s.loss;
    }
    free(tok);
    free(w);
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[4096];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void poke(const char *p, long off, unsigned char xor_) {
    FILE *f = fopen(p, "r+b");
    if (!f) return;
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ xor_, f);
    fclose(f);
}

static void test_resume(const char *attention) {
    lc_train_config c;
    config(&c, attention);
    lc_error err;
    double full[10] = {0}, split[10] = {0};
    char path[128], optim[160];
    snprintf(path, sizeof path, "%s/ckpt%s.gguf", dir, attention[0] ? "_lin" : "");
    snprintf(optim, sizeof optim, "%s.optim", path);

    /* uninterrupted */
    lc_trainer *a = NULL;
    lc_train_data *da = NULL;
    CHECK_OK(lc_trainer_create(&c, &a, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 13, 21, &da, &err), &err);
    if (!a || !da) return;
    train(a, da, 10, full);

    /* 4 steps, save, free everything, resume into fresh objects, 6 more */
    lc_trainer *b = NULL;
    lc_train_data *db = NULL;
    CHECK_OK(lc_trainer_create(&c, &b, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 13, 21, &db, &err), &err);
    train(b, db, 4, split);
    lc_status st = lc_trainer_save(b, path, NULL, db, &err);
    if (st == LC_ERR_UNSUPPORTED) LC_TEST_SKIP("the GGUF model writer is not available yet: %s", err.msg);
    CHECK_OK(st, &err);
    lc_trainer_free(b);
    lc_train_data_free(db);
    b = NULL;
    db = NULL;
    lc_train_config c2;
    config(&c2, attention);
    c2.seed = 999; /* the initial weights are overwritten by the resume */
    CHECK_OK(lc_trainer_create(&c2, &b, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 13, 21, &db, &err), &err);
    CHECK_OK(lc_trainer_resume(b, path, db, &err), &err);
    CHECK(lc_trainer_step_count(b) == 4, "resumed at step 4: %lld", (long long)lc_trainer_step_count(b));
    train(b, db, 10, split);
    CHECK(memcmp(full, split, sizeof full) == 0, "%s: resumed losses equal the uninterrupted run (%.17g vs %.17g)",
          attention[0] ? attention : "softmax", full[9], split[9]);
    size_t n;
    const float *pa = lc_trainer_params(a, &n), *pb = lc_trainer_params(b, NULL);
    CHECK(memcmp(pa, pb, n * sizeof(float)) == 0, "resumed weights equal bit for bit");

    /* stored config */
    lc_train_config rc;
    int64_t step = -1;
    lc_train_config_init(&rc);
    CHECK_OK(lc_train_sidecar_read_config(path, &rc, &step, &err), &err);
    CHECK(step == 4 && rc.batch == 3 && rc.ctx == 20 && rc.steps == 10 && rc.warmup == 3 && rc.lr == 3e-3f,
          "sidecar config read back");

    /* the GGUF is a model */
    lc_model *m = NULL;
    st = lc_model_load(path, NULL, &m, &err);
    if (st == LC_ERR_UNSUPPORTED) {
        fprintf(stderr, "note: lc_model_load not available yet: model round trip skipped\n");
    } else {
        CHECK_OK(st, &err);
        if (m) {
            CHECK(m->cfg.dim == 32 && m->cfg.n_layers == 2 && m->cfg.n_kv_heads == 2 && m->cfg.vocab_size == 13 &&
                      !m->cfg.tied_output && m->cfg.ctx_train == 20,
                  "model config round trip");
            CHECK(strcmp(m->cfg.attention, attention[0] ? "linear:elu" : "") == 0, "attention recorded: '%s'",
                  m->cfg.attention);
            lc_train_config ci;
            config(&ci, "");
            lc_train_config_from_model(&ci, m);
            lc_trainer *ti = NULL;
            CHECK_OK(lc_trainer_create(&ci, &ti, &err), &err);
            if (ti) {
                CHECK_OK(lc_trainer_load_weights(ti, m, &err), &err);
                /* b has continued past the checkpoint: compare against a fresh resume */
                lc_trainer *r = NULL;
                CHECK_OK(lc_trainer_create(&c, &r, &err), &err);
                if (r) {
                    CHECK_OK(lc_trainer_resume(r, path, NULL, &err), &err);
                    CHECK(memcmp(lc_trainer_params(ti, NULL), lc_trainer_params(r, NULL), n * sizeof(float)) == 0,
                          "init from the GGUF copies the weights exactly");
                    lc_trainer_free(r);
                }
                lc_trainer_free(ti);
            }
            lc_model_free(m);
        }
    }
    lc_trainer_free(a);
    lc_trainer_free(b);
    lc_train_data_free(da);
    lc_train_data_free(db);
}

/* lc_train_run with save_every, stopped early by the callback, then resumed. */
typedef struct {
    double losses[12];
    int64_t stop_at;
    int saves, evals;
} run_log;

static bool on_step(void *u, const lc_train_stats *s) {
    run_log *l = (run_log *)u;
    l->losses[s->step - 1] = s->loss;
    return s->step != l->stop_at;
}
static void on_save(void *u, int64_t step, const char *path) {
    (void)step, (void)path;
    ((run_log *)u)->saves++;
}
static void on_eval(void *u, int64_t step, double loss) {
    (void)step;
    CHECK(loss > 0.0, "eval loss");
    ((run_log *)u)->evals++;
}

static void test_run_loop(void) {
    lc_train_config c;
    config(&c, "");
    c.steps = 12;
    lc_error err;
    char path[128];
    snprintf(path, sizeof path, "%s/run.gguf", dir);
    run_log full = {{0}, -1, 0, 0}, part = {{0}, 7, 0, 0};
    for (int k = 0; k < 2; k++) {
        run_log *log = k ? &part : &full;
        lc_trainer *t = NULL;
        lc_train_data *d = NULL, *ev = NULL;
        CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
        CHECK_OK(lc_train_data_toy("reverse", 13, 5, &d, &err), &err);
        CHECK_OK(lc_train_data_toy("reverse", 13, 6, &ev, &err), &err);
        if (!t || !d || !ev) return;
        lc_train_run_opts o = {5, k ? path : NULL, NULL, ev, 4, 2, on_step, on_eval, on_save, log};
        CHECK_OK(lc_train_run(t, d, &o, &err), &err);
        if (k) {
            CHECK(lc_trainer_step_count(t) == 7 && part.saves == 2, "stopped at 7 and saved at 5 and 7: %d saves",
                  part.saves);
            lc_trainer_free(t);
            lc_train_data_free(d);
            t = NULL;
            d = NULL;
            CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
            CHECK_OK(lc_train_data_toy("reverse", 13, 5, &d, &err), &err);
            CHECK_OK(lc_trainer_resume(t, path, d, &err), &err);
            o.save_path = NULL;
            part.stop_at = -1;
            CHECK_OK(lc_train_run(t, d, &o, &err), &err);
        }
        CHECK(lc_trainer_step_count(t) == 12, "ran to the end");
        lc_trainer_free(t);
        lc_train_data_free(d);
        lc_train_data_free(ev);
    }
    CHECK(memcmp(full.losses, part.losses, sizeof full.losses) == 0, "run loop: stop/save/resume equals one run");
    CHECK(full.evals == 3, "evaluated at 4, 8, 12: %d", full.evals);
}

static void test_refusals(void) {
    lc_train_config c;
    config(&c, "");
    lc_error err;
    char path[128], optim[160], other[128], bak[160];
    snprintf(path, sizeof path, "%s/bad.gguf", dir);
    snprintf(optim, sizeof optim, "%s.optim", path);
    snprintf(other, sizeof other, "%s/other.gguf", dir);
    snprintf(bak, sizeof bak, "%s/bad.optim.bak", dir);
    lc_trainer *t = NULL, *u = NULL;
    lc_train_data *d = NULL;
    CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 13, 1, &d, &err), &err);
    if (!t || !d) return;
    double l[10];
    train(t, d, 2, l);
    CHECK_OK(lc_trainer_save(t, path, NULL, d, &err), &err);
    copy_file(optim, bak);
    train(t, d, 3, l);
    CHECK_OK(lc_trainer_save(t, other, NULL, d, &err), &err);
    CHECK_OK(lc_trainer_create(&c, &u, &err), &err);
    if (!u) return;
    CHECK_OK(lc_trainer_resume(u, path, NULL, &err), &err);

    const long size = file_size(optim);
    poke(optim, size / 2, 0x10); /* a bit in the moments */
    CHECK(lc_trainer_resume(u, path, NULL, &err) == LC_ERR_FORMAT && strstr(err.msg, "checksum"), "corrupt: %s",
          err.msg);
    copy_file(bak, optim);
    poke(optim, 0, 0xff);
    CHECK(lc_trainer_resume(u, path, NULL, &err) == LC_ERR_FORMAT && strstr(err.msg, "magic"), "magic: %s", err.msg);
    copy_file(bak, optim);
    poke(optim, 8, 0x02);
    CHECK(lc_trainer_resume(u, path, NULL, &err) == LC_ERR_UNSUPPORTED, "version: %s", err.msg);
    copy_file(bak, optim);
    CHECK(truncate(optim, size - 100) == 0, "truncate");
    CHECK(lc_trainer_resume(u, path, NULL, &err) == LC_ERR_FORMAT && strstr(err.msg, "truncated"), "truncated: %s",
          err.msg);
    copy_file(bak, optim);
    /* the other checkpoint's weights with this sidecar */
    char other_optim[160];
    snprintf(other_optim, sizeof other_optim, "%s.optim", other);
    copy_file(bak, other_optim);
    CHECK(lc_trainer_resume(u, other, NULL, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "not the ones"),
          "mismatched weights: %s", err.msg);
    /* data state of another stream */
    lc_train_data *d2 = NULL;
    CHECK_OK(lc_train_data_toy("copy", 13, 2, &d2, &err), &err);
    CHECK(lc_trainer_resume(u, path, d2, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "another stream"),
          "foreign data state: %s", err.msg);
    lc_train_data_free(d2);
    /* another shape */
    lc_train_config c3;
    config(&c3, "");
    c3.model.hidden_dim = 64;
    lc_trainer *w = NULL;
    CHECK_OK(lc_trainer_create(&c3, &w, &err), &err);
    if (w) CHECK(lc_trainer_resume(w, path, NULL, &err) == LC_ERR_INVALID_ARG, "other shape: %s", err.msg);
    lc_trainer_free(w);
    /* missing sidecar */
    remove(optim);
    CHECK(lc_trainer_resume(u, path, NULL, &err) == LC_ERR_IO, "missing sidecar: %s", err.msg);
    /* a failed resume leaves the trainer usable and unchanged */
    CHECK(lc_trainer_step_count(u) == 2, "failed resumes change nothing");
    lc_trainer_free(t);
    lc_trainer_free(u);
    lc_train_data_free(d);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/lc_train_ckpt_XXXXXX");
    if (!mkdtemp(dir)) LC_TEST_SKIP("cannot create a temporary folder");
    test_resume("");
    test_resume("linear:elu");
    test_run_loop();
    test_refusals();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    return lc_test_finish("test_train_checkpoint");
}
