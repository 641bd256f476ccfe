/* KV rows by position (FULL policy): copied out of a context and appended
 * into one, for prefix caches outside the runtime. See runtime.h. */
#include <string.h>

#include "runtime/runtime_internal.h"

/* Rows by position carry a token's whole state only when every layer keeps
 * its keys and values in the main cache: not Gated DeltaNet layers (one
 * recurrent state for all tokens) nor window layers' rings (positions
 * overwritten). */
static bool rows_ok(const lc_context *ctx) {
    return ctx && !ctx->linear && (ctx->kv.k || ctx->kv.n_layers == 0) &&
           ctx->kv.policy == LC_KV_POLICY_FULL && ctx->kv.in_order && ctx->kv.n_pending == 0 &&
           ctx->n_dn_layers == 0 && ctx->wring.n_layers == 0;
}

static lc_status rows_refused(const lc_context *ctx, lc_error *err) {
    if (ctx && ctx->n_dn_layers)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "kv rows: Gated DeltaNet layers keep one recurrent state, not rows");
    if (ctx && !ctx->linear && ctx->kv.n_layers > 0 && !ctx->kv.k)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "kv rows: the KV cache is held elsewhere (kv_external)");
    if (ctx && ctx->wring.n_layers)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "kv rows: window layers keep rings, not every row (--swa-full keeps them)");
    return lc_fail(err, LC_ERR_UNSUPPORTED, "kv rows: only a FULL-policy KV cache holds rows by position");
}

size_t lc_context_kv_row_bytes(const lc_context *ctx) {
    if (!rows_ok(ctx)) return 0;
    return (size_t)ctx->kv.n_layers * (ctx->kv.k_row_bytes + ctx->kv.v_row_bytes);
}

lc_status lc_context_kv_read(const lc_context *ctx, int64_t from, int64_t n, void *buf, size_t cap, lc_error *err) {
    if (!rows_ok(ctx)) return rows_refused(ctx, err);
    const lc_kv_cache *c = &ctx->kv;
    if (from < 0 || n < 0 || from > c->n_used || n > c->n_used - from)
        return lc_fail(err, LC_ERR_INVALID_ARG, "kv rows: positions [%lld, %lld) are not all held (%lld are)",
                       (long long)from, (long long)(from + n), (long long)c->n_used);
    const size_t row = lc_context_kv_row_bytes(ctx);
    if ((uint64_t)n > cap / (row ? row : 1)) return lc_fail(err, LC_ERR_TOO_LARGE, "kv rows: the buffer is too small");
    char *o = buf;
    for (int64_t t = from; t < from + n; t++)
        for (int32_t l = 0; l < c->n_layers; l++) {
            memcpy(o, c->k + ((size_t)l * (size_t)c->n_slots + (size_t)t) * c->k_row_bytes, c->k_row_bytes);
            o += c->k_row_bytes;
            memcpy(o, c->v + ((size_t)l * (size_t)c->n_slots + (size_t)t) * c->v_row_bytes, c->v_row_bytes);
            o += c->v_row_bytes;
        }
    return LC_OK;
}

lc_status lc_context_kv_append(lc_context *ctx, const int32_t *tokens, int64_t n, const void *rows, size_t size,
                               lc_error *err) {
    if (!rows_ok(ctx)) return rows_refused(ctx, err);
    lc_kv_cache *c = &ctx->kv;
    const size_t row = lc_context_kv_row_bytes(ctx);
    if (n < 0 || (n > 0 && (!tokens || !rows)))
        return lc_fail(err, LC_ERR_INVALID_ARG, "kv rows: %lld tokens without rows", (long long)n);
    if (n > c->n_slots - c->n_used)
        return lc_fail(err, LC_ERR_TOO_LARGE, "kv rows: %lld more tokens do not fit (%lld of %lld held)", (long long)n,
                       (long long)c->n_used, (long long)c->n_slots);
    if (size / (row ? row : 1) != (size_t)n || size % (row ? row : 1) != 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "kv rows: %zu bytes are not %lld rows of %zu", size, (long long)n, row);
    const int32_t vocab = ctx->model->cfg.vocab_size;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "kv rows: token %d is outside the vocabulary", tokens[i]);
    const char *in = rows;
    for (int64_t i = 0; i < n; i++) {
        const int64_t t = c->n_used + i;
        for (int32_t l = 0; l < c->n_layers; l++) {
            memcpy(c->k + ((size_t)l * (size_t)c->n_slots + (size_t)t) * c->k_row_bytes, in, c->k_row_bytes);
            in += c->k_row_bytes;
            memcpy(c->v + ((size_t)l * (size_t)c->n_slots + (size_t)t) * c->v_row_bytes, in, c->v_row_bytes);
            in += c->v_row_bytes;
        }
        c->pos[t] = t;
        c->tok[t] = tokens[i];
    }
    c->n_used += n;
    c->next_pos += n;
    c->n_seen += n;
    if (n > 0) ctx->have_logits = false;
    return LC_OK;
}
