/*
 * The trainer computes exactly the model inference runs: after a few steps,
 * the checkpoint is saved, loaded with lc_model_load and evaluated by the
 * runtime (lc_context_eval, f32 KV cache); its logits for every position
 * must match the trainer's (lc_trainer_logits). Softmax attention with GQA
 * and a separate classifier, tied classifier with YaRN RoPE scaling, and
 * linear attention (elu+1) — the checkpoint's longctx.attention selects it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/runtime.h"
#include "longctx/train.h"
#include "test_util.h"

static char dir[64];

static void check_case(const char *name, const char *attention, bool tied, bool yarn) {
    lc_train_config c;
    lc_train_config_init(&c);
    c.model.dim = 48;
    c.model.hidden_dim = 80;
    c.model.n_layers = 2;
    c.model.n_heads = 6;
    c.model.n_kv_heads = 2;
    c.model.head_dim = 8;
    c.model.vocab_size = 37;
    c.model.tied_output = tied;
    snprintf(c.model.attention, sizeof c.model.attention, "%s", attention);
    if (yarn) {
        c.model.rope.scaling = LC_ROPE_SCALING_YARN;
        c.model.rope.factor = 4.0f;
        c.model.rope.orig_ctx = 24;
    }
    c.batch = 1;
    c.ctx = 96; /* crosses the 64-token tiles and linear chunks */
    c.steps = 3;
    c.lr = 5e-3f;
    c.warmup = 0;
    c.n_threads = 2;
    lc_error err;
    lc_trainer *t = NULL;
    lc_train_data *d = NULL;
    CHECK_OK(lc_trainer_create(&c, &t, &err), &err);
    CHECK_OK(lc_train_data_toy("copy", 37, 4, &d, &err), &err);
    if (!t || !d) return;
    int32_t tok[97];
    float w[96];
    for (int i = 0; i < 3; i++) {
        lc_train_stats s;
        CHECK_OK(d->next(d, 1, 96, tok, w, &err), &err);
        CHECK_OK(lc_trainer_step(t, tok, w, &s, &err), &err);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    lc_status st = lc_trainer_save(t, path, NULL, NULL, &err);
    if (st == LC_ERR_UNSUPPORTED) LC_TEST_SKIP("the model writer is not available: %s", err.msg);
    CHECK_OK(st, &err);

    lc_rng r;
    lc_rng_seed(&r, 11);
    for (int i = 0; i < 96; i++) tok[i] = (int32_t)lc_rng_below(&r, 37);
    float *lt = (float *)malloc(96 * 37 * sizeof(float)), *lr = (float *)malloc(96 * 37 * sizeof(float));
    CHECK_OK(lc_trainer_logits(t, tok, lt, &err), &err);

    lc_model *m = NULL;
    st = lc_model_load(path, NULL, &m, &err);
    CHECK_OK(st, &err);
    lc_context *ctx = NULL;
    if (m) {
        lc_context_opts o;
        memset(&o, 0, sizeof o);
        o.n_ctx = 96;
        o.n_batch = 40; /* three prefill chunks: positions carry across */
        o.n_threads = 2;
        o.k_type = LC_DTYPE_F32;
        o.v_type = LC_DTYPE_F32;
        CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    }
    if (ctx) {
        CHECK_OK(lc_context_eval(ctx, tok, 96, lr, true, &err), &err);
        const double e = lc_test_rel_err(lt, lr, 96 * 37, 1e-3);
        CHECK(e < 2e-4, "%s: trainer and runtime logits differ: rel err %.3g", name, e);
        fprintf(stderr, "%s: trainer vs runtime logits rel err %.3g (runtime attention %s)\n", name, e,
                lc_attn_method_name(lc_context_attn(ctx)->method));
        lc_context_free(ctx);
    }
    lc_model_free(m);
    free(lt);
    free(lr);
    lc_train_data_free(d);
    lc_trainer_free(t);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/lc_train_rt_XXXXXX");
    if (!mkdtemp(dir)) LC_TEST_SKIP("cannot create a temporary folder");
    check_case("softmax_gqa_untied", "", false, false);
    check_case("softmax_tied_yarn", "", true, true);
    check_case("linear_elu", "linear:elu", false, false);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", dir);
    return lc_test_finish("test_train_runtime");
}
