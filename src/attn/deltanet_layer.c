/*
 * One Gated DeltaNet layer between its input and output projections
 * (include/longctx/deltanet.h): conv1d + SiLU over the mixed q|k|v rows,
 * the gates, the core (chunked for a batch, recurrent for one token), the
 * gated RMSNorm, in blocks of up to DN_LAYER_BLOCK tokens so that the
 * scratch stays bounded however long the prefill; the states carry from one
 * block to the next exactly as from one call to the next. Inputs that would
 * give a non-finite or positive log decay are refused before a block touches
 * the state (an earlier block of the same call has already moved it).
 *
 * Workspace: conv out [B][C], g, beta [B][H_v], the chunked core's scratch.
 */
#include <math.h>
#include <string.h>

#include "attn/deltanet_internal.h"
#include "common/util.h"

#define DN_LAYER_BLOCK 1024

typedef struct {
    int64_t B, C;
    size_t conv, g, beta, core, core_bytes, total;
} layer_plan;

static bool carve(size_t *off, size_t count, size_t elem, size_t *at) {
    size_t bytes;
    *off = (*off + 63) & ~(size_t)63;
    *at = *off;
    return lc_mul_size(count, elem, &bytes) && lc_add_size(*off, bytes, off);
}

static lc_status plan(const lc_deltanet_layer *L, const lc_deltanet_params *p, int64_t n, layer_plan *pl,
                      lc_error *err) {
    if (!L) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: NULL layer");
    lc_status st = lc_deltanet_validate(&L->shape, err);
    if (st != LC_OK) return st;
    if (n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: negative token count");
    if (L->conv_kernel < 1 || L->conv_kernel > LC_DN_MAX_KERNEL)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: conv kernel %d outside 1..%d", L->conv_kernel,
                       LC_DN_MAX_KERNEL);
    if (!L->conv_w || !L->A || !L->dt_bias || !L->norm_w)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: missing conv, A, dt_bias or norm weights");
    if (!(L->norm_eps >= 0.0f) || !isfinite(L->norm_eps))
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: norm eps %g", (double)L->norm_eps);
    const lc_deltanet_shape *s = &L->shape;
    memset(pl, 0, sizeof *pl);
    pl->B = LC_MAX((int64_t)1, LC_MIN(n, (int64_t)DN_LAYER_BLOCK));
    pl->C = 2 * (int64_t)s->n_k_heads * s->d_k + (int64_t)s->n_v_heads * s->d_v;
    st = lc_deltanet_chunked_workspace(s, p, &pl->core_bytes, err);
    if (st != LC_OK) return st;
    size_t off = 0;
    const size_t b = (size_t)pl->B;
    bool ok = carve(&off, b * (size_t)pl->C, sizeof(float), &pl->conv) &&
              carve(&off, b * (size_t)s->n_v_heads, sizeof(float), &pl->g) &&
              carve(&off, b * (size_t)s->n_v_heads, sizeof(float), &pl->beta) &&
              carve(&off, pl->core_bytes, 1, &pl->core) && carve(&off, 0, 1, &pl->total);
    if (!ok) return lc_fail(err, LC_ERR_TOO_LARGE, "deltanet layer: workspace overflows");
    return LC_OK;
}

lc_status lc_deltanet_layer_workspace(const lc_deltanet_layer *L, const lc_deltanet_params *p, int64_t n,
                                      size_t *bytes, lc_error *err) {
    if (!bytes) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: NULL bytes");
    layer_plan pl;
    *bytes = 0;
    lc_status st = plan(L, p, n, &pl, err);
    if (st == LC_OK) *bytes = pl.total;
    return st;
}

lc_status lc_deltanet_layer_forward(const lc_deltanet_layer *L, const lc_deltanet_params *p, lc_deltanet_state *st,
                                    int64_t n, const float *mixed, int64_t mixed_stride, const float *z,
                                    const float *b, const float *a, float *out, void *ws, size_t ws_bytes,
                                    lc_error *err) {
    layer_plan pl;
    lc_status rc = plan(L, p, n, &pl, err);
    if (rc != LC_OK) return rc;
    const lc_deltanet_shape *s = &L->shape;
    if (!st || memcmp(&st->shape, s, sizeof *s) != 0 || st->kernel != L->conv_kernel)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: the state was made for another shape or kernel");
    if (n == 0) return LC_OK;
    if (!mixed || !z || !b || !a || !out)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: NULL input or output");
    if (!ws || ws_bytes < pl.total || (uintptr_t)ws % 8)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet layer: workspace of %zu bytes given, %zu needed (8-aligned)",
                       ws ? ws_bytes : (size_t)0, pl.total);
    const int64_t C = pl.C, H = s->n_v_heads, vd = H * s->d_v, kd = (int64_t)s->n_k_heads * s->d_k;
    if (mixed_stride == 0) mixed_stride = C;
    char *w = (char *)ws;
    float *conv = (float *)(w + pl.conv), *g = (float *)(w + pl.g), *beta = (float *)(w + pl.beta);
    for (int64_t t0 = 0; t0 < n; t0 += pl.B) {
        const int64_t m = LC_MIN(pl.B, n - t0);
        /* the gates first: a bad input is refused before either state moves */
        lc_deltanet_gates(m, (int32_t)H, a + t0 * H, b + t0 * H, 0, L->A, L->dt_bias, g, beta);
        for (int64_t i = 0; i < m * H; i++)
            if (!(isfinite(g[i]) && g[i] <= 0.0f && isfinite(beta[i])))
                return lc_fail(err, LC_ERR_INVALID_ARG,
                               "deltanet layer: token %lld head %lld: decay %g, beta %g (A must be <= 0, inputs finite)",
                               (long long)(t0 + i / H), (long long)(i % H), (double)g[i], (double)beta[i]);
        rc = lc_deltanet_conv1d(m, (int32_t)C, L->conv_kernel, mixed + t0 * mixed_stride, mixed_stride, L->conv_w,
                                st->conv, conv, err);
        if (rc != LC_OK) return rc;
        lc_deltanet_io io = {conv, conv + kd, conv + 2 * kd, g, beta, out + t0 * vd, st->ssm, C, C, C};
        rc = m == 1 ? lc_deltanet_recurrent(s, p, m, &io, err)
                    : lc_deltanet_chunked(s, p, m, &io, w + pl.core, pl.core_bytes, err);
        if (rc != LC_OK) return rc;
        lc_deltanet_gated_norm(m * H, s->d_v, out + t0 * vd, z + t0 * vd, L->norm_w, L->norm_eps, out + t0 * vd);
    }
    return LC_OK;
}
