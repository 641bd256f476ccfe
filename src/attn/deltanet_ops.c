/*
 * The operations around the Gated DeltaNet core (include/longctx/deltanet.h):
 * the short causal depthwise convolution with SiLU over the mixed q|k|v
 * projection, the decay and update gates, and the gated RMSNorm.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/deltanet.h"

#define DN_MAX_KERNEL 64

static float silu(float x) { return x / (1.0f + expf(-x)); }

/* softplus(x) = log(1 + e^x), without overflow for large x. */
static float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

lc_status lc_deltanet_conv1d(int64_t n, int32_t channels, int32_t kernel, const float *x, int64_t x_stride,
                             const float *w, float *conv_state, float *y, lc_error *err) {
    if (n < 0 || channels < 1 || kernel < 1 || kernel > DN_MAX_KERNEL)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet conv1d: n=%lld channels=%d kernel=%d (kernel 1..%d)",
                       (long long)n, channels, kernel, DN_MAX_KERNEL);
    if (x_stride == 0) x_stride = channels;
    int64_t total;
    if (x_stride < channels || !lc_mul_i64(n, x_stride, &total) || !lc_mul_i64(n, channels, &total))
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet conv1d: stride %lld below %d channels or size overflow",
                       (long long)x_stride, channels);
    if (!w || (kernel > 1 && !conv_state) || (n > 0 && (!x || !y)))
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet conv1d: NULL buffer");
    const int32_t K = kernel, P = kernel - 1; /* P previous inputs */
    for (int64_t t = 0; t < n; t++) {
        float *yt = y + t * channels;
        for (int32_t c = 0; c < channels; c++) {
            const float *wc = w + (size_t)c * K;
            float acc = 0.0f;
            for (int32_t i = 0; i < K; i++) {
                const int64_t src = t - P + i; /* token index; < 0 reads the state */
                const float xv = src >= 0 ? x[src * x_stride + c] : conv_state[(P + src) * channels + c];
                acc += wc[i] * xv;
            }
            yt[c] = silu(acc);
        }
    }
    /* The new state: the last P inputs (from the old state when n < P). */
    if (P > 0 && n > 0) {
        if (n < P) memmove(conv_state, conv_state + (size_t)n * channels, (size_t)(P - n) * channels * sizeof(float));
        for (int32_t r = 0; r < P; r++) {
            const int64_t src = n - P + r;
            if (src >= 0) memcpy(conv_state + (size_t)r * channels, x + src * x_stride, (size_t)channels * sizeof(float));
        }
    }
    return LC_OK;
}

void lc_deltanet_gates(int64_t n, int32_t n_v_heads, const float *a, const float *b, int64_t ab_stride,
                       const float *A, const float *dt_bias, float *g, float *beta) {
    if (ab_stride == 0) ab_stride = n_v_heads;
    for (int64_t t = 0; t < n; t++)
        for (int32_t h = 0; h < n_v_heads; h++) {
            const float at = a[t * ab_stride + h], bt = b[t * ab_stride + h];
            g[t * n_v_heads + h] = A[h] * softplus(at + dt_bias[h]);
            beta[t * n_v_heads + h] = 1.0f / (1.0f + expf(-bt));
        }
}

void lc_deltanet_gated_norm(int64_t n_rows, int32_t d, const float *x, const float *z, const float *w, float eps,
                            float *out) {
    for (int64_t r = 0; r < n_rows; r++) {
        const float *xr = x + r * d, *zr = z + r * d;
        float *orow = out + r * d;
        double ss = 0.0;
        for (int32_t i = 0; i < d; i++) ss += (double)xr[i] * xr[i];
        const float inv = (float)(1.0 / sqrt(ss / d + (double)eps));
        for (int32_t i = 0; i < d; i++) orow[i] = xr[i] * inv * w[i] * silu(zr[i]);
    }
}
