/* lc_train_request_*: what a user asked of a training run (train.h) turned
 * into a configuration: a fresh model's shape and the schedule, with the
 * defaults `longctx train` documents. */
#include <stdio.h>
#include <string.h>

#include "longctx/train.h"

bool lc_train_request_shape_given(const lc_train_request *r) {
    return r->dim.set || r->layers.set || r->heads.set || r->kv_heads.set || r->hidden.set || r->head_dim.set ||
           r->untied || r->attention;
}

void lc_train_request_model(const lc_train_request *r, lc_model_config *m) {
    if (r->dim.set) m->dim = (int32_t)r->dim.v;
    if (r->layers.set) m->n_layers = (int32_t)r->layers.v;
    if (r->heads.set) m->n_heads = (int32_t)r->heads.v;
    m->n_kv_heads = r->kv_heads.set ? (int32_t)r->kv_heads.v : (m->n_heads % 2 ? m->n_heads : m->n_heads / 2);
    m->hidden_dim = r->hidden.set ? (int32_t)r->hidden.v : 3 * m->dim;
    m->head_dim = r->head_dim.set ? (int32_t)r->head_dim.v : (m->n_heads > 0 ? m->dim / m->n_heads : 0);
    m->tied_output = !r->untied;
    if (r->attention) snprintf(m->attention, sizeof m->attention, "%s", r->attention);
    if (r->toy_data) m->vocab_size = r->vocab.set ? (int32_t)r->vocab.v : 32;
}

#define SET_IF(field, dst) \
    if (r->field.set) dst = r->field.v

void lc_train_request_schedule(const lc_train_request *r, bool resumed, lc_train_config *cfg) {
    SET_IF(ctx, cfg->ctx);
    SET_IF(batch, cfg->batch);
    SET_IF(steps, cfg->steps);
    SET_IF(lr, cfg->lr);
    if (!resumed) {
        cfg->min_lr = r->min_lr.set ? r->min_lr.v : cfg->lr / 10.0f;
        cfg->warmup = r->warmup.set ? r->warmup.v : cfg->steps / 20;
    } else {
        SET_IF(min_lr, cfg->min_lr);
        SET_IF(warmup, cfg->warmup);
    }
    SET_IF(weight_decay, cfg->weight_decay);
    SET_IF(grad_clip, cfg->grad_clip);
    SET_IF(beta1, cfg->beta1);
    SET_IF(beta2, cfg->beta2);
    SET_IF(seed, cfg->seed);
    SET_IF(threads, cfg->n_threads);
}
#undef SET_IF
