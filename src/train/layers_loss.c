/*
 * Softmax cross-entropy with per-token weights, fused with its backward:
 * the logits buffer [N, V] becomes dL/dlogits in place (the classifier's
 * backward reads it next), so the largest activation is held once.
 */
#include <math.h>

#include "common/util.h"
#include "train/layers.h"

void lc_tr_xent_forward_backward(float *logits, float *losses, const int32_t *targets, const float *weights,
                                 int64_t n, int32_t v, float inv_weight_sum, bool want_grad, double *wsum_loss,
                                 int n_threads) {
    /* Per-row loss in parallel; the weighted sum in row order (deterministic). */
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < n; i++) {
        float *z = logits + (size_t)i * (size_t)v;
        float mx = z[0];
        for (int32_t j = 1; j < v; j++) mx = z[j] > mx ? z[j] : mx;
        double sum = 0.0;
        for (int32_t j = 0; j < v; j++) sum += expf(z[j] - mx);
        const double lse = mx + log(sum);
        const int32_t tgt = targets[i];
        const float li = (float)(lse - z[tgt]);
        losses[i] = li;
        if (!want_grad) continue;
        const float wi = (weights ? weights[i] : 1.0f) * inv_weight_sum;
        if (wi == 0.0f) {
            for (int32_t j = 0; j < v; j++) z[j] = 0.0f;
            continue;
        }
        const float lsef = (float)lse;
        for (int32_t j = 0; j < v; j++) z[j] = expf(z[j] - lsef) * wi;
        z[tgt] -= wi;
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += (double)(weights ? weights[i] : 1.0f) * losses[i];
    *wsum_loss = total;
}
