/* LINEAR attention feature maps: elu+1, relu and FAVOR+ (see linear_impl.h). */
#include <math.h>
#include <string.h>

#include "attn/linear_impl.h"

int32_t lc_lin_feature_count(lc_feature_map f, int32_t d, int32_t n_features) {
    if (f == LC_FEATURE_FAVOR) return n_features > 0 ? n_features : d;
    return d;
}

int32_t lc_lin_favor_blocks(int32_t d, int32_t m) { return (int32_t)(((int64_t)m + d - 1) / d); }

/* Block b of W: k = min(d, m - b d) Gaussian rows made orthonormal by modified
 * Gram-Schmidt (in double), then each scaled by the length of an independent
 * Gaussian d-vector, so that every row is marginally N(0, I_d) while the rows
 * of a block stay orthogonal (Performer's orthogonal random features). */
void lc_lin_favor_block(int32_t d, int32_t m, uint64_t seed, int32_t block, double *g, float *out, size_t ldo,
                        float out_scale) {
    const int32_t r0 = block * d;
    const int32_t k = LC_MIN(d, m - r0);
    lc_rng rng;
    /* A separate stream per block: the seed mixed with the block index. */
    lc_rng_seed(&rng, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(block + 1)));
    for (int32_t i = 0; i < k; i++)
        for (int32_t t = 0; t < d; t++) g[(size_t)i * d + t] = lc_rng_normal(&rng);
    for (int32_t i = 0; i < k; i++) {
        double *gi = g + (size_t)i * d;
        for (int32_t j = 0; j < i; j++) {
            const double *gj = g + (size_t)j * d;
            double dot = 0.0;
            for (int32_t t = 0; t < d; t++) dot += gi[t] * gj[t];
            for (int32_t t = 0; t < d; t++) gi[t] -= dot * gj[t];
        }
        double nrm = 0.0;
        for (int32_t t = 0; t < d; t++) nrm += gi[t] * gi[t];
        nrm = sqrt(nrm);
        /* A Gaussian row in the span of the previous ones has probability 0;
         * should it happen numerically, keep the (tiny) row as it is. */
        if (nrm > 0.0)
            for (int32_t t = 0; t < d; t++) gi[t] /= nrm;
    }
    for (int32_t i = 0; i < k; i++) {
        double len = 0.0;
        for (int32_t t = 0; t < d; t++) {
            const double x = lc_rng_normal(&rng);
            len += x * x;
        }
        len = sqrt(len) * out_scale;
        const double *gi = g + (size_t)i * d;
        for (int32_t t = 0; t < d; t++) out[(size_t)t * ldo + (size_t)(r0 + i)] = (float)(gi[t] * len);
    }
}

float lc_lin_key_features(const lc_lin_fmap *fm, const float *krows, size_t ldr, int64_t n, float *phikt, size_t ldf,
                          float *kt, float *hn) {
    const int32_t d = fm->d, F = fm->F;
    const lc_isa isa = fm->isa;
    if (n <= 0) return -INFINITY;
    if (fm->feature != LC_FEATURE_FAVOR) {
        lc_lin_transpose(isa, krows, ldr, n, d, phikt, ldf);
        for (int32_t r = 0; r < F; r++) {
            float *row = phikt + (size_t)r * ldf;
            if (fm->feature == LC_FEATURE_ELU1) lc_lin_elu1(isa, row, row, n);
            else lc_lin_relu(isa, row, row, n);
        }
        return 0.0f;
    }
    /* a[r][j] = w_r . k_j d^(-1/4) - |k_j|^2 / (2 sqrt(d)) */
    const float half_inv_sqrt_d = 0.5f / sqrtf((float)d);
    for (int64_t j = 0; j < n; j++) {
        const float *k = krows + (size_t)j * ldr;
        hn[j] = lc_lin_dot(isa, k, k, d) * half_inv_sqrt_d;
    }
    lc_lin_transpose(isa, krows, ldr, n, d, kt, LC_LIN_CHUNK);
    /* [F, n] = proj^T [F, d] . kt [d, n]; proj is [d, F], read transposed. */
    lc_lin_gemm(isa, F, n, d, fm->proj, 1, (size_t)F, kt, LC_LIN_CHUNK, phikt, ldf, false);
    float mx = -INFINITY;
    for (int32_t r = 0; r < F; r++) {
        float *row = phikt + (size_t)r * ldf;
        lc_lin_axpby(isa, row, hn, n, 1.0f, -1.0f);
        const float rm = lc_lin_max(isa, row, n);
        if (rm > mx) mx = rm;
    }
    if (!(mx > -INFINITY)) mx = 0.0f; /* all -inf or NaN: nothing to stabilise */
    for (int32_t r = 0; r < F; r++) {
        float *row = phikt + (size_t)r * ldf;
        lc_lin_add_scalar(isa, row, n, -mx);
        lc_lin_exp(isa, row, n);
    }
    return mx;
}

void lc_lin_query_features(const lc_lin_fmap *fm, const float *q, size_t ldq, int64_t n, float *phiq) {
    const int32_t d = fm->d, F = fm->F;
    const lc_isa isa = fm->isa;
    if (fm->feature != LC_FEATURE_FAVOR) {
        for (int64_t i = 0; i < n; i++) {
            const float *qi = q + (size_t)i * ldq;
            float *pi = phiq + (size_t)i * F;
            if (fm->feature == LC_FEATURE_ELU1) lc_lin_elu1(isa, qi, pi, d);
            else lc_lin_relu(isa, qi, pi, d);
        }
        return;
    }
    /* b = q d^(-1/4) W^T; phi = exp(b - max b) (|q'|^2/2 and 1/sqrt(m) cancel). */
    lc_lin_gemm(isa, n, F, d, q, ldq, 1, fm->proj, (size_t)F, phiq, (size_t)F, false);
    for (int64_t i = 0; i < n; i++) {
        float *pi = phiq + (size_t)i * F;
        float mx = lc_lin_max(isa, pi, F);
        if (!(mx > -INFINITY)) mx = 0.0f;
        lc_lin_add_scalar(isa, pi, F, -mx);
        lc_lin_exp(isa, pi, F);
    }
}
