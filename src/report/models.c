/*
 * The report's models: the three shipped ones (models_dir/longctx-*.gguf),
 * or random tiny stand-ins in test mode, and a random model of a realistic
 * shape for the speed measurements (llama2.c's 15M: dim 288, 6 layers, 6
 * heads, vocab 32000, f16 weights).
 */
#include <string.h>
#include <sys/stat.h>

#include "report/report_internal.h"

/* Training contexts the report can work with: a passkey sample needs about 48
 * tokens; 16x the context must stay a sane allocation request. */
#define MODEL_MIN_CTX 64
#define MODEL_MAX_CTX ((int64_t)1 << 24)

/* The shape of a model, as lc_model_create_random needs it. */
static void make_config(lc_model_config *c, int dim, int hidden, int layers, int heads, int vocab, int64_t ctx) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->dim = dim;
    c->hidden_dim = hidden;
    c->n_layers = layers;
    c->n_heads = heads;
    c->n_kv_heads = heads;
    c->head_dim = dim / heads;
    c->vocab_size = vocab;
    c->ctx_train = ctx;
    c->norm_eps = 1e-5f;
    c->tied_output = true;
    lc_rope_config_init(&c->rope, c->head_dim);
    c->rope.orig_ctx = ctx;
}

/* Keep the shape and a description of an open model. */
static void capture(rmodel *rm) {
    if (!rm->m) return;
    const lc_model_config *c = &rm->m->cfg;
    rm->cfg = *c;
    rm->n_params = lc_model_n_params(c);
    char p[32], ctx[32], rope[160];
    lc_report_fmt_num((double)rm->n_params, p, sizeof p);
    lc_rope_describe(&c->rope, rope, sizeof rope);
    snprintf(rm->desc, sizeof rm->desc,
             "%s params, dim %d, %d layers, %d heads (%d KV), head dim %d, vocab %d, trained at %s tokens, "
             "attention %.40s, rope %.100s",
             p, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size,
             tok_str(c->ctx_train, ctx, sizeof ctx), c->attention[0] ? c->attention : "softmax", rope);
}

static lc_status random_model(rmodel *rm, const char *name, const lc_model_config *c, lc_dtype type, uint64_t seed,
                              const lc_tokenizer *tok, lc_error *err) {
    snprintf(rm->name, sizeof rm->name, "%s", name);
    snprintf(rm->path, sizeof rm->path, "(random %s stand-in)", name);
    rm->stand_in = true;
    rm->tok = tok;
    lc_status st = lc_model_create_random(c, type, seed, &rm->m, err);
    if (st == LC_OK) capture(rm);
    return st;
}

/* A shipped model: loaded, or the reason it is missing (never an error). */
static void shipped_model(rmodel *rm, const char *dir, const char *file, const char *name) {
    snprintf(rm->name, sizeof rm->name, "%s", name);
    int n = snprintf(rm->path, sizeof rm->path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof rm->path) {
        snprintf(rm->missing, sizeof rm->missing, "the path %s/%s is too long", dir, file);
        return;
    }
    struct stat sb;
    if (stat(rm->path, &sb) != 0) {
        snprintf(rm->missing, sizeof rm->missing,
                 "%.200s not found (the shipped models are made by `make -C models`; or point --models at them)",
                 rm->path);
        return;
    }
    lc_error err;
    if (lc_model_load(rm->path, NULL, &rm->m, &err) != LC_OK) {
        snprintf(rm->missing, sizeof rm->missing, "%.120s could not be loaded: %.170s", rm->path, err.msg);
        rm->m = NULL;
        return;
    }
    if (!rm->m->tokenizer) {
        snprintf(rm->missing, sizeof rm->missing, "%.200s carries no tokenizer to write prompts with", rm->path);
        lc_model_free(rm->m);
        rm->m = NULL;
        return;
    }
    /* the sections build samples of 1x..16x the training context: it must be
     * long enough for a passkey sample and short enough to multiply */
    const int64_t ctx = rm->m->cfg.ctx_train;
    if (ctx < MODEL_MIN_CTX || ctx > MODEL_MAX_CTX) {
        snprintf(rm->missing, sizeof rm->missing,
                 "%.200s says it was trained at %lld tokens; the report needs %d to %lld", rm->path, (long long)ctx,
                 MODEL_MIN_CTX, (long long)MODEL_MAX_CTX);
        lc_model_free(rm->m);
        rm->m = NULL;
        return;
    }
    rm->tok = rm->m->tokenizer;
    capture(rm);
}

lc_status models_open(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    const uint64_t seed = r->seed;
    lc_model_config c;
    lc_status st = LC_OK;
    if (r->tiny) {
        /* tiny stand-ins: the synthetic tokenizer's vocabulary, trained "at" 64 */
        make_config(&c, 64, 128, 2, 4, LC_TASKS_VOCAB_SIZE, 64);
        st = random_model(&r->def, "default", &c, LC_DTYPE_F32, seed, run->synth, err);
        if (st == LC_OK) {
            lc_model_config y = c;
            y.ctx_train = 512;
            y.rope.scaling = LC_ROPE_SCALING_YARN;
            y.rope.factor = 8.0f;
            y.rope.orig_ctx = 64;
            st = random_model(&r->yarn, "yarn8", &y, LC_DTYPE_F32, seed + 1, run->synth, err);
        }
        if (st == LC_OK) {
            lc_model_config l = c;
            snprintf(l.attention, sizeof l.attention, "linear:elu");
            st = random_model(&r->lin, "linear", &l, LC_DTYPE_F32, seed + 2, run->synth, err);
        }
    } else {
        shipped_model(&r->def, r->models_dir, LC_REPORT_MODEL_DEFAULT, "default");
        shipped_model(&r->yarn, r->models_dir, LC_REPORT_MODEL_YARN, "yarn8");
        shipped_model(&r->lin, r->models_dir, LC_REPORT_MODEL_LINEAR, "linear");
    }
    if (st != LC_OK) return st;
    /* the speed model: realistic shape, random weights (speed does not depend on them) */
    if (r->tiny) make_config(&c, 64, 128, 2, 4, 512, 2048);
    else make_config(&c, 288, 768, 6, 6, 32000, 2048);
    st = random_model(&r->speed, "speed", &c, LC_DTYPE_F16, seed + 3, NULL, err);
    if (st == LC_OK) snprintf(r->speed.path, sizeof r->speed.path, "(random weights)");
    return st;
}

void models_close(lc_report *r) {
    rmodel *ms[4] = {&r->def, &r->yarn, &r->lin, &r->speed};
    for (int i = 0; i < 4; i++) {
        lc_model_free(ms[i]->m);
        ms[i]->m = NULL;
        ms[i]->tok = NULL;
    }
}

const char *model_describe(const rmodel *m) { return m->desc[0] ? m->desc : "missing"; }


/* Kept after the models are freed: written while they are open. */
static void model_json(lc_json_writer *w, const rmodel *m) {
    lc_json_begin_object(w);
    lc_json_kv_str(w, "path", m->path);
    lc_json_kv_bool(w, "stand_in", m->stand_in);
    lc_json_kv_bool(w, "available", m->missing[0] == '\0');
    if (m->missing[0]) lc_json_kv_str(w, "missing", m->missing);
    lc_json_kv_int(w, "params", m->n_params);
    if (m->desc[0]) lc_json_kv_str(w, "describe", m->desc);
    lc_json_end_object(w);
}

void models_write_json(lc_json_writer *w, const lc_report *r) {
    lc_json_key(w, "models");
    lc_json_begin_object(w);
    lc_json_key(w, "default");
    model_json(w, &r->def);
    lc_json_key(w, "yarn8");
    model_json(w, &r->yarn);
    lc_json_key(w, "linear");
    model_json(w, &r->lin);
    lc_json_key(w, "speed");
    model_json(w, &r->speed);
    lc_json_end_object(w);
}
