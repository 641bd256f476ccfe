/*
 * Generation: evaluate the prompt, then sample -> emit -> evaluate until
 * n_predict tokens, EOS, a callback's stop, or a full context.
 *
 * Context end: a token sampled from the logits of the last position is still
 * emitted (it is a valid prediction), but it cannot be evaluated, so
 * generation stops there with LC_STOP_CONTEXT_FULL and the message
 * "context full: N tokens; raise -c". Nothing is ever written past n_ctx.
 * Under the other KV policies (window, sinks, shift, h2o) the context is
 * never full: generation goes on until n_predict, EOS or the callback.
 */
#include <stdio.h>
#include <string.h>

#include "runtime/runtime_internal.h"

const char *lc_stop_reason_name(lc_stop_reason r) {
    switch (r) {
    case LC_STOP_LENGTH: return "length";
    case LC_STOP_EOS: return "eos";
    case LC_STOP_CONTEXT_FULL: return "context-full";
    case LC_STOP_CALLBACK: return "callback";
    }
    return "?";
}

void lc_generate_opts_init(lc_generate_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_predict = 128;
    o->eos_id = -1;
}

lc_status lc_generate(lc_context *ctx, const int32_t *prompt, int64_t n_prompt, const lc_generate_opts *o_in,
                      int32_t *out, int64_t out_cap, lc_generate_result *res, lc_error *err) {
    lc_generate_opts defaults;
    lc_generate_opts_init(&defaults);
    const lc_generate_opts *o = o_in ? o_in : &defaults;
    lc_generate_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "generate: NULL context");
    if (n_prompt < 0 || (n_prompt > 0 && !prompt))
        return lc_fail(err, LC_ERR_INVALID_ARG, "generate: bad prompt (%lld tokens)", (long long)n_prompt);
    if (out_cap < 0 || (out_cap > 0 && !out)) return lc_fail(err, LC_ERR_INVALID_ARG, "generate: bad output buffer");
    const int32_t vocab = ctx->sh.vocab;

    double t0 = lc_time_now();
    lc_status st = LC_OK;
    if (n_prompt > 0) {
        st = o->prefill ? o->prefill(o->prefill_user, ctx, prompt, n_prompt, err)
                        : lc_context_eval(ctx, prompt, n_prompt, NULL, false, err);
        if (st != LC_OK) return st;
    } else if (!ctx->have_logits) {
        return lc_fail(err, LC_ERR_INVALID_ARG, "generate: empty prompt and nothing evaluated yet (start from BOS)");
    }
    res->n_prompt = n_prompt;
    res->t_prompt = lc_time_now() - t0;
    t0 = lc_time_now();

    res->stop = LC_STOP_LENGTH;
    while (o->n_predict < 0 || res->n_generated < o->n_predict) {
        /* The sampler may modify the logits: they are the context's own copy,
         * overwritten by the next eval anyway. */
        int32_t tok = -1;
        if (o->sample) {
            lc_error_clear(err);
            if (!o->sample(o->sample_user, ctx->logits, vocab, &tok, err)) {
                st = err && err->status != LC_OK ? err->status
                                                 : lc_fail(err, LC_ERR_INTERNAL, "generate: the sampler failed");
                break;
            }
            if (tok < 0 || tok >= vocab) {
                st = lc_fail(err, LC_ERR_INTERNAL, "generate: the sampler returned token %d (vocabulary 0..%d)", tok,
                             vocab - 1);
                break;
            }
        } else {
            tok = (int32_t)lc_argmax(ctx->logits, vocab);
        }
        if (tok == o->eos_id) {
            res->stop = LC_STOP_EOS;
            break;
        }
        if (res->n_generated < out_cap) out[res->n_generated] = tok;
        res->n_generated++;
        if (o->on_token && !o->on_token(o->token_user, tok)) {
            res->stop = LC_STOP_CALLBACK;
            break;
        }
        if (o->n_predict >= 0 && res->n_generated >= o->n_predict) break;
        if (ctx->linear ? lc_context_n_past(ctx) >= ctx->sh.n_ctx : !lc_kv_cache_has_room(&ctx->kv, 1)) {
            res->stop = LC_STOP_CONTEXT_FULL;
            snprintf(res->message, sizeof res->message, "context full: %lld tokens; raise -c",
                     (long long)ctx->sh.n_ctx);
            break;
        }
        st = lc_context_eval(ctx, &tok, 1, NULL, false, err);
        if (st != LC_OK) break;
    }
    res->t_generate = lc_time_now() - t0;
    return st;
}
