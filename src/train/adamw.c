/*
 * AdamW (Loshchilov & Hutter 2019: decoupled weight decay) over the slabs,
 * the global gradient norm, and the learning-rate schedule.
 *
 *   g  = grad * clip_scale                clip_scale = min(1, clip / |grad|)
 *   m  = b1 m + (1 - b1) g
 *   v  = b2 v + (1 - b2) g^2
 *   p -= lr (m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps) + wd p)
 *
 * with t the 1-based step and wd = 0 for the norm weights. Element-wise, so
 * the thread split cannot change the result. The gradient norm is summed in
 * double over fixed 16 Ki-element chunks, then the chunks in order: the same
 * value for any thread count.
 */
#include <math.h>

#include "train/trainer_internal.h"

#define NORM_CHUNK 16384

float lc_train_lr_at(const lc_train_config *c, int64_t s) {
    if (c->warmup > 0 && s < c->warmup) return c->lr * (float)(s + 1) / (float)c->warmup;
    const int64_t span = c->steps - c->warmup;
    if (span <= 0) return c->lr;
    double progress = (double)(s - c->warmup) / (double)span;
    if (progress > 1.0) progress = 1.0;
    const double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    return (float)(c->min_lr + (c->lr - c->min_lr) * cosine);
}

double lc_tr_grad_norm(const lc_trainer *t) {
    const float *g = t->grads;
    const size_t n = t->n_floats, chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    double *part = t->norm_partials;
#pragma omp parallel for schedule(static) num_threads(t->n_threads)
    for (size_t c = 0; c < chunks; c++) {
        const size_t i0 = c * NORM_CHUNK, i1 = i0 + NORM_CHUNK < n ? i0 + NORM_CHUNK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0.0;
    for (size_t c = 0; c < chunks; c++) total += part[c];
    return sqrt(total);
}

void lc_tr_adamw_update(lc_trainer *t, float lr, float grad_scale) {
    const lc_train_config *c = &t->cfg;
    const double step = (double)(t->step + 1);
    const float b1 = c->beta1, b2 = c->beta2, eps = c->adam_eps;
    const float bc1 = (float)(1.0 - pow((double)b1, step)), bc2 = (float)(1.0 - pow((double)b2, step));
    for (int32_t ti = 0; ti < t->n_tensors; ti++) {
        const lc_train_tensor *e = &t->tensors[ti];
        float *p = t->params + e->offset, *m = t->m + e->offset, *v = t->v + e->offset;
        const float *g = t->grads + e->offset;
        const float wd = e->decay ? c->weight_decay : 0.0f;
        const int64_t n = (int64_t)e->numel;
#pragma omp parallel for schedule(static) num_threads(t->n_threads)
        for (int64_t i = 0; i < n; i++) {
            const float gi = g[i] * grad_scale;
            const float mi = b1 * m[i] + (1.0f - b1) * gi;
            const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            const float mhat = mi / bc1, vhat = vi / bc2;
            p[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * p[i]);
        }
    }
}
