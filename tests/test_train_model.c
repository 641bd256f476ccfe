/*
 * The trainer end to end on tiny models:
 *  - finite-difference check of dLoss/dparams for every tensor of the model
 *    (softmax attention with the flash and the naive backward, tied and
 *    separate classifier, linear attention, YaRN RoPE);
 *  - flash and naive backward give the same gradients (1e-4);
 *  - a tiny model overfits a fixed batch (loss below a stated bound);
 *  - determinism: same seed -> bitwise identical losses, for 1 and 2 threads;
 *  - the memory plan: flash attention state linear in T, naive quadratic;
 *  - refusals: bad configs, out-of-vocabulary tokens;
 *  - lc_train_request: the shape and schedule defaults `longctx train` documents.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/train.h"
#include "test_util.h"


static void tiny_config(lc_train_config *c, int64_t b, int64_t t) {
    lc_train_config_init(c);
    c->model.dim = 16;
    c->model.hidden_dim = 24;
    c->model.n_layers = 2;
    c->model.n_heads = 4;
    c->model.n_kv_heads = 2;
    c->model.head_dim = 4;
    c->model.vocab_size = 11;
    c->batch = b;
    c->ctx = t;
    c->n_threads = 2;
    c->steps = 100;
    c->warmup = 0;
}

static void random_batch(lc_rng *r, int64_t b, int64_t t, int32_t v, int32_t *tok, float *w) {
    for (int64_t i = 0; i < b * (t + 1); i++) tok[i] = (int32_t)lc_rng_below(r, (uint64_t)v);
    for (int64_t i = 0; i < b * t; i++) w[i] = (float)lc_rng_below(r, 3) * 0.5f; /* 0, 0.5, 1 */
    w[0] = 1.0f;
}

/* Finite differences on up to `probe` entries of every tensor (the largest
 * gradients plus random ones); returns the worst per-tensor relative error. */
static double model_fd(const lc_train_config *c, const char *what, int probe) {
    lc_trainer *t = NULL;
    lc_error err;
    CHECK_OK(lc_trainer_create(c, &t, &err), &err);
    if (!t) return 1.0;
    lc_rng r;
    lc_rng_seed(&r, 77);
    const int64_t B = c->batch, T = c->ctx;
    int32_t *tok = (int32_t *)malloc((size_t)(B * (T + 1)) * sizeof(int32_t));
    float *w = (float *)malloc((size_t)(B * T) * sizeof(float));
    random_batch(&r, B, T, c->model.vocab_size, tok, w);
    double loss;
    CHECK_OK(lc_trainer_loss_grad(t, tok, w, &loss, &err), &err);
    size_t n;
    float *p = lc_trainer_params(t, &n);
    float *g = (float *)malloc(n * sizeof(float));
    memcpy(g, lc_trainer_grads(t, NULL), n * sizeof(float));
    double worst = 0.0;
    const float h = 1e-3f; /* 1e-2 shows O(h^2) truncation on these weights */
    for (int32_t ti = 0; ti < lc_trainer_n_tensors(t); ti++) {
        const lc_train_tensor *e = lc_trainer_tensor(t, ti);
        double gmax = 0.0, emax = 0.0;
        size_t top = e->offset; /* probe the largest gradient, then random entries */
        for (size_t j = 0; j < e->numel; j++) {
            gmax = fmax(gmax, fabs(g[e->offset + j]));
            if (fabs(g[e->offset + j]) > fabs(g[top])) top = e->offset + j;
        }
        for (int k = 0; k < probe; k++) {
            const size_t j = k == 0 ? top : e->offset + (size_t)lc_rng_below(&r, e->numel);
            const float x0 = p[j];
            double lp, lm;
            p[j] = x0 + h;
            CHECK_OK(lc_trainer_eval(t, tok, w, &lp, &err), &err);
            p[j] = x0 - h;
            CHECK_OK(lc_trainer_eval(t, tok, w, &lm, &err), &err);
            p[j] = x0;
            emax = fmax(emax, fabs((lp - lm) / (2.0 * h) - g[j]));
        }
        const double rel = emax / fmax(gmax, 1e-4);
        if (rel > 2e-3) fprintf(stderr, "  %s %s: rel err %.3g (max |g| %.3g)\n", what, e->name, rel, gmax);
        worst = fmax(worst, rel);
    }
    free(g);
    free(tok);
    free(w);
    lc_trainer_free(t);
    return worst;
}

static void test_model_gradients(void) {
    lc_train_config c;
    const int probe = lc_test_quick() ? 3 : 8;
    tiny_config(&c, 2, 9);
    c.init_std = 0.5f; /* larger weights: larger, better-conditioned gradients */
    double e = model_fd(&c, "flash", probe);
    CHECK(e < 2e-3, "whole-model gradient (flash backward, tied): %.3g", e);
    c.attn_backward = LC_TRAIN_BACKWARD_NAIVE;
    c.model.tied_output = false;
    e = model_fd(&c, "naive", probe);
    CHECK(e < 2e-3, "whole-model gradient (naive backward, separate classifier): %.3g", e);
    c.attn_backward = LC_TRAIN_BACKWARD_FLASH;
    snprintf(c.model.attention, sizeof c.model.attention, "linear:elu");
    c.linear_chunk = 4;
    e = model_fd(&c, "linear", probe);
    CHECK(e < 2e-3, "whole-model gradient (linear attention, chunk 4): %.3g", e);
    c.model.attention[0] = '\0';
    c.model.rope.scaling = LC_ROPE_SCALING_YARN;
    c.model.rope.factor = 4.0f;
    c.model.rope.orig_ctx = 4;
    e = model_fd(&c, "yarn", probe);
    CHECK(e < 2e-3, "whole-model gradient (YaRN RoPE, mscale != 1): %.3g", e);
}

/* Both backward forms on a longer sequence (crossing the 64-tile edge). */
static void test_flash_equals_naive(void) {
    lc_train_config c;
    tiny_config(&c, 2, 100);
    c.model.head_dim = 8;
    c.model.dim = 32;
    float *g[2];
    size_t n = 0;
    double loss[2];
    lc_rng r;
    lc_error err;
    int32_t *tok = (int32_t *)malloc(2 * 101 * sizeof(int32_t));
    float *w = (float *)malloc(2 * 100 * sizeof(float));
    lc_rng_seed(&r, 5);
    random_batch(&r, 2, 100, 11, tok, w);
    for (int k = 0; k < 2; k++) {
        c.attn_backward = k ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
        lc_trainer *t = NULL;
        CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
        if (!t) return;
        CHECK_OK(lc_trainer_loss_grad(t, tok, w, &loss[k], &err), &err);
        const float *gg = lc_trainer_grads(t, &n);
        g[k] = (float *)malloc(n * sizeof(float));
        memcpy(g[k], gg, n * sizeof(float));
        lc_trainer_free(t);
    }
    CHECK(fabs(loss[0] - loss[1]) < 1e-5 * fabs(loss[1]), "loss flash %.9g naive %.9g", loss[0], loss[1]);
    const double e = lc_test_rel_err(g[0], g[1], n, 1e-6);
    CHECK(e < 1e-4, "model gradients flash vs naive backward: rel err %.3g", e);
    free(g[0]);
    free(g[1]);
    free(tok);
    free(w);
}

/* Train on the same batch until the loss is below `target`. */
static void overfit(const char *attention, double target, int64_t max_steps) {
    lc_train_config c;
    tiny_config(&c, 4, 16);
    c.model.dim = 32;
    c.model.hidden_dim = 64;
    c.model.head_dim = 8;
    c.model.vocab_size = 16;
    c.lr = 1e-2f;
    c.min_lr = 1e-2f;
    c.warmup = 5;
    c.steps = max_steps;
    c.weight_decay = 0.0f;
    snprintf(c.model.attention, sizeof c.model.attention, "%s", attention);
    lc_trainer *t = NULL;
    lc_train_data *d = NULL;
    lc_error err;
    CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
    CHECK_OK(lc_train_data_toy("reverse", 16, 3, &d, &err), &err);
    if (!t || !d) return;
    int32_t tok[4 * 17];
    float w[4 * 16];
    CHECK_OK(d->next(d, 4, 16, tok, w, &err), &err);
    lc_train_stats s = {0};
    double first = 0.0;
    int64_t i = 0;
    for (; i < max_steps; i++) {
        lc_status st = lc_trainer_step(t, tok, w, &s, &err);
        CHECK_OK(st, &err);
        if (st != LC_OK) break;
        if (i == 0) first = s.loss;
        if (s.loss < target) break;
    }
    CHECK(s.loss < target, "%s: a fixed batch overfits: loss %.4f -> %.4f after %lld steps (target < %.3g)",
          attention[0] ? attention : "softmax", first, s.loss, (long long)i + 1, target);
    fprintf(stderr, "overfit %s: loss %.4f -> %.4f in %lld steps\n", attention[0] ? attention : "softmax", first,
            s.loss, (long long)i + 1);
    lc_train_data_free(d);
    lc_trainer_free(t);
}

/* The same run twice (and on 1 vs 2 threads): bitwise identical losses and weights. */
static void test_determinism(void) {
    double losses[3][6];
    float *params[3];
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        lc_train_config c;
        tiny_config(&c, 2, 200); /* several 96-token tiles and FLASH forward blocks */
        c.model.head_dim = 8;
        c.model.dim = 32;
        c.n_threads = k == 2 ? 1 : 2;
        lc_trainer *t = NULL;
        lc_train_data *d = NULL;
        lc_error err;
        CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
        CHECK_OK(lc_train_data_toy("copy", 11, 9, &d, &err), &err);
        if (!t || !d) return;
        int32_t tok[2 * 201];
        float w[2 * 200];
        for (int i = 0; i < 6; i++) {
            lc_train_stats s;
            CHECK_OK(d->next(d, 2, 200, tok, w, &err), &err);
            CHECK_OK(lc_trainer_step(t, tok, w, &s, &err), &err);
            losses[k][i] = s.loss;
        }
        const float *p = lc_trainer_params(t, &n);
        params[k] = (float *)malloc(n * sizeof(float));
        memcpy(params[k], p, n * sizeof(float));
        lc_train_data_free(d);
        lc_trainer_free(t);
    }
    CHECK(memcmp(losses[0], losses[1], sizeof losses[0]) == 0, "same seed, same losses");
    CHECK(memcmp(params[0], params[1], n * sizeof(float)) == 0, "same seed, same weights");
    CHECK(memcmp(losses[0], losses[2], sizeof losses[0]) == 0, "1 vs 2 threads: same losses (%.17g vs %.17g)",
          losses[0][5], losses[2][5]);
    CHECK(memcmp(params[0], params[2], n * sizeof(float)) == 0, "1 vs 2 threads: same weights");
    for (int k = 0; k < 3; k++) free(params[k]);
}

static void test_memory_plan(void) {
    lc_train_config c;
    lc_train_memory m1, m2;
    lc_error err;
    tiny_config(&c, 1, 512);
    CHECK_OK(lc_train_plan(&c, &m1, &err), &err);
    c.ctx = 1024;
    CHECK_OK(lc_train_plan(&c, &m2, &err), &err);
    CHECK(m2.attention == 2 * m1.attention, "flash: attention state linear in T (%zu -> %zu)", m1.attention,
          m2.attention);
    c.attn_backward = LC_TRAIN_BACKWARD_NAIVE;
    CHECK_OK(lc_train_plan(&c, &m2, &err), &err);
    c.ctx = 512;
    CHECK_OK(lc_train_plan(&c, &m1, &err), &err);
    CHECK(m2.attention == 4 * m1.attention, "naive: attention state quadratic in T (%zu -> %zu)", m1.attention,
          m2.attention);
    CHECK(m1.n_params > 0 && m1.total > m1.activations, "totals");
    /* a huge naive request is refused before allocating, naming the memory */
    c.ctx = 1 << 20;
    c.batch = 64;
    lc_trainer *t = NULL;
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_TOO_LARGE && t == NULL, "huge naive config refused: %s", err.msg);
    CHECK(strstr(err.msg, "available") != NULL || strstr(err.msg, "overflow") != NULL, "message: %s", err.msg);
}

static void test_refusals(void) {
    lc_train_config c;
    lc_error err;
    lc_trainer *t = NULL;
    tiny_config(&c, 1, 8);
    c.model.n_kv_heads = 3;
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_INVALID_ARG, "heads not divisible: %s", err.msg);
    tiny_config(&c, 1, 8);
    c.model.head_dim = 5;
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_INVALID_ARG, "odd head dim");
    tiny_config(&c, 1, 8);
    snprintf(c.model.attention, sizeof c.model.attention, "linear:favor");
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_UNSUPPORTED, "favor not trainable: %s", err.msg);
    tiny_config(&c, 1, 8);
    c.min_lr = 1.0f;
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_INVALID_ARG, "min lr > lr");
    tiny_config(&c, 1, 8);
    c.batch = 0;
    CHECK(lc_trainer_create(&c, &t, &err) == LC_ERR_INVALID_ARG, "batch 0");
    tiny_config(&c, 1, 8);
    CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
    if (!t) return;
    int32_t tok[9] = {1, 2, 3, 4, 5, 6, 7, 8, 11};
    lc_train_stats s;
    CHECK(lc_trainer_step(t, tok, NULL, &s, &err) == LC_ERR_INVALID_ARG, "token 11 >= vocab: %s", err.msg);
    tok[8] = -1;
    CHECK(lc_trainer_step(t, tok, NULL, &s, &err) == LC_ERR_INVALID_ARG, "negative token");
    tok[8] = 0;
    float w[8] = {1, 1, 1, NAN, 1, 1, 1, 1};
    CHECK(lc_trainer_step(t, tok, w, &s, &err) == LC_ERR_INVALID_ARG, "NaN weight");
    CHECK(lc_trainer_step_count(t) == 0, "refused steps do not count");
    CHECK_OK(lc_trainer_step(t, tok, NULL, &s, &err), &err);
    CHECK(s.step == 1 && lc_trainer_step_count(t) == 1, "one step");
    lc_trainer_free(t);
}

static void test_schedule(void) {
    lc_train_config c;
    lc_train_config_init(&c);
    c.lr = 1.0f;
    c.min_lr = 0.1f;
    c.warmup = 10;
    c.steps = 110;
    CHECK(fabsf(lc_train_lr_at(&c, 0) - 0.1f) < 1e-6f, "warmup starts at lr/warmup");
    CHECK(fabsf(lc_train_lr_at(&c, 9) - 1.0f) < 1e-6f, "warmup reaches lr");
    CHECK(fabsf(lc_train_lr_at(&c, 10) - 1.0f) < 1e-6f, "cosine starts at lr");
    CHECK(fabsf(lc_train_lr_at(&c, 60) - 0.55f) < 1e-5f, "cosine midpoint: %g", (double)lc_train_lr_at(&c, 60));
    CHECK(fabsf(lc_train_lr_at(&c, 110) - 0.1f) < 1e-6f, "floor at the end");
    CHECK(fabsf(lc_train_lr_at(&c, 500) - 0.1f) < 1e-6f, "floor after the end");
}

/* lc_train_request: a fresh model's shape and the schedule's defaults follow
 * what is asked; a resumed run keeps its schedule unless asked otherwise. */
static void test_request(void) {
    lc_train_request r;
    memset(&r, 0, sizeof r);
    CHECK(!lc_train_request_shape_given(&r), "nothing asked: no shape");
    lc_train_config c;
    lc_train_config_init(&c);
    r.dim.set = true, r.dim.v = 96;
    r.heads.set = true, r.heads.v = 3;
    r.steps.set = true, r.steps.v = 400;
    r.lr.set = true, r.lr.v = 2e-3f;
    CHECK(lc_train_request_shape_given(&r), "--dim is shape");
    lc_train_request_model(&r, &c.model);
    CHECK(c.model.dim == 96 && c.model.n_heads == 3 && c.model.n_kv_heads == 3 && c.model.hidden_dim == 288 &&
              c.model.head_dim == 32 && c.model.n_layers == 4 && c.model.tied_output && c.model.vocab_size == 256,
          "fresh shape: dim %d heads %d/%d hidden %d head_dim %d", c.model.dim, c.model.n_heads, c.model.n_kv_heads,
          c.model.hidden_dim, c.model.head_dim);
    r.heads.v = 4;
    r.untied = true;
    r.attention = "linear:elu";
    r.toy_data = true;
    lc_train_request_model(&r, &c.model);
    CHECK(c.model.n_kv_heads == 2 && c.model.head_dim == 24 && !c.model.tied_output &&
              strcmp(c.model.attention, "linear:elu") == 0 && c.model.vocab_size == 32,
          "even heads: half as many KV heads; untied; linear; toy vocabulary 32");
    lc_train_request_schedule(&r, false, &c);
    CHECK(c.steps == 400 && c.lr == 2e-3f && c.min_lr == 2e-3f / 10.0f && c.warmup == 20 && c.batch == 8 && c.ctx == 256,
          "fresh schedule: min_lr lr/10 (%g), warmup steps/20 (%lld)", (double)c.min_lr, (long long)c.warmup);
    c.min_lr = 5e-5f, c.warmup = 7;
    lc_train_request_schedule(&r, true, &c);
    CHECK(c.min_lr == 5e-5f && c.warmup == 7, "resumed: min_lr and warmup kept");
    r.warmup.set = true, r.warmup.v = 3;
    r.weight_decay.set = true, r.weight_decay.v = 0;
    r.threads.set = true, r.threads.v = 2;
    lc_train_request_schedule(&r, true, &c);
    CHECK(c.warmup == 3 && c.weight_decay == 0 && c.n_threads == 2 && c.min_lr == 5e-5f,
          "resumed: what is asked again overrides");
    lc_error err;
    CHECK_OK(lc_train_config_validate(&c, &err), &err);
}

int main(void) {
    test_request();
    test_schedule();
    test_refusals();
    test_memory_plan();
    test_model_gradients();
    test_flash_equals_naive();
    overfit("", 0.05, 300);
    overfit("linear:elu", 0.05, 400);
    test_determinism();
    return lc_test_finish("test_train_model");
}
