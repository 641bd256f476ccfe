/*
 * lc_context_fill_synthetic: a context at depth n without prefilling it, for
 * timing decode at long contexts on small machines. The cache takes the
 * same path a forward pass uses (reserve, store per layer, commit), with
 * random rows in place of computed keys and values, so every invariant of
 * the cache (positions, counts, rings) holds; the Gated DeltaNet states get
 * random values. What a decode step then costs depends on the cache's size,
 * not on its content, which is the point; its outputs mean nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_internal.h"

static void fill_uniform(lc_rng *r, float *x, size_t n, float a) {
    for (size_t i = 0; i < n; i++) x[i] = a * (2.0f * lc_rng_uniform(r) - 1.0f);
}

lc_status lc_context_fill_synthetic(lc_context *ctx, int64_t n, uint64_t seed, lc_error *err) {
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "synthetic depth: NULL context");
    if (ctx->linear)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "synthetic depth: a LINEAR-attention context keeps no KV cache");
    if (!ctx->linear && ctx->kv.n_layers > 0 && !ctx->kv.k)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "synthetic depth: the context keeps no KV cache (kv_external)");
    if (ctx->attn_hook) return lc_fail(err, LC_ERR_UNSUPPORTED, "synthetic depth: the context has an attention hook");
    if (ctx->kv.policy != LC_KV_POLICY_FULL)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "synthetic depth: only the full KV policy (not %s)",
                       lc_kv_policy_name(ctx->kv.policy));
    if (lc_context_n_past(ctx) != 0 || ctx->kv.n_pending)
        return lc_fail(err, LC_ERR_INVALID_ARG, "synthetic depth: the context must be empty (it holds %lld tokens)",
                       (long long)lc_context_n_past(ctx));
    if (n < 0 || !lc_kv_cache_has_room(&ctx->kv, n))
        return lc_fail(err, LC_ERR_TOO_LARGE, "synthetic depth: %lld tokens do not fit a context of %lld",
                       (long long)n, (long long)ctx->sh.n_ctx);
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    const int64_t B = ctx->sh.n_batch, KV = ctx->sh.kv_dim;
    float *k = malloc((size_t)(B * KV) * sizeof(float));
    float *v = malloc((size_t)(B * KV) * sizeof(float));
    int32_t *tok = malloc((size_t)B * sizeof(int32_t));
    lc_status st = LC_OK;
    if (!k || !v || !tok) st = lc_fail(err, LC_ERR_NOMEM, "synthetic depth: out of memory");
    /* window layers' rings only keep the last cap positions: older rows
     * need not be written there */
    const int64_t ring_from = ctx->wring.n_layers ? n - ctx->wring.cap : n;
    for (int64_t c0 = 0; c0 < n && st == LC_OK; c0 += B) {
        const int64_t nb = LC_MIN(B, n - c0);
        for (int64_t i = 0; i < nb; i++) tok[i] = (int32_t)lc_rng_below(&rng, (uint64_t)ctx->sh.vocab);
        fill_uniform(&rng, k, (size_t)(nb * KV), 1.0f);
        fill_uniform(&rng, v, (size_t)(nb * KV), 1.0f);
        if ((st = lc_kv_cache_reserve(&ctx->kv, tok, nb, err)) != LC_OK) break;
        const int64_t p0 = lc_kv_cache_rot_pos0(&ctx->kv);
        for (int32_t l = 0; l < ctx->sh.n_layers; l++) {
            const int kind = ctx->layer_kind[l];
            if (kind == LC_LAYER_DELTANET) continue;
            if (ctx->wring.n_layers && kind == LC_LAYER_WINDOW) {
                if (c0 + nb > ring_from) lc_kv_wring_store(&ctx->wring, &ctx->kv, ctx->kv_index[l], k, v, nb, p0, p0);
            } else {
                lc_kv_cache_store(&ctx->kv, ctx->kv_index[l], k, v, &ctx->kopts);
            }
        }
        lc_kv_cache_commit(&ctx->kv);
    }
    for (int32_t l = 0; l < ctx->sh.n_layers && st == LC_OK; l++) {
        if (!ctx->dn || !ctx->dn[l]) continue;
        const lc_deltanet_layer *d = &ctx->dn_layer[l];
        size_t ssm_n = 0;
        if ((st = lc_deltanet_state_floats(&d->shape, &ssm_n, err)) != LC_OK) break;
        const size_t ch = 2 * (size_t)d->shape.n_k_heads * (size_t)d->shape.d_k +
                          (size_t)d->shape.n_v_heads * (size_t)d->shape.d_v;
        fill_uniform(&rng, lc_deltanet_state_ssm(ctx->dn[l]), ssm_n, 0.1f);
        fill_uniform(&rng, lc_deltanet_state_conv(ctx->dn[l]), (size_t)(d->conv_kernel - 1) * ch, 0.1f);
    }
    free(k);
    free(v);
    free(tok);
    if (st != LC_OK) lc_context_reset(ctx);
    ctx->have_logits = false;
    return st;
}
