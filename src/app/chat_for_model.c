/* lc_chat_create_for_model (app.h): a chat over a model in one call, the
 * context and sampler its own. */
#include "app/app_internal.h"
#include "longctx/text.h"

lc_status lc_chat_create_for_model(const lc_model *m, const lc_context_opts *co_in, const lc_sampler_params *sp_in,
                                   const lc_chat_opts *o, lc_chat **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: NULL output");
    *out = NULL;
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: no model");
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    if (!tok && m->tokenizer_note[0])
        return lc_fail(err, LC_ERR_INVALID_ARG, "chat: the model's tokenizer is not used: %s", m->tokenizer_note);
    if (!tok)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "chat: the model has no tokenizer (a llama2.c model needs its tokenizer.bin)");
    lc_chat_opts defaults;
    lc_chat_opts_init(&defaults);
    if (!o) o = &defaults;
    lc_context_opts co;
    lc_sampler_params sp;
    if (co_in) co = *co_in;
    else lc_context_opts_init(&co);
    if (sp_in) sp = *sp_in;
    else lc_sampler_params_init(&sp);
    if (co.kv_policy == LC_KV_POLICY_SHIFT && co.kv_n_keep == 0) { /* a shift keeps the system turn */
        lc_status st = lc_chat_system_tokens(o, tok, &co.kv_n_keep, err);
        if (st != LC_OK) return st;
    }
    lc_context *ctx = NULL;
    lc_sampler *sampler = NULL;
    lc_status st = lc_context_create(m, &co, &ctx, err);
    if (st == LC_OK) st = lc_sampler_create(&sp, m->cfg.vocab_size, &sampler, err);
    if (st == LC_OK) st = lc_chat_create(ctx, tok, sampler, o, out, err);
    if (st != LC_OK) {
        lc_sampler_free(sampler);
        lc_context_free(ctx);
        return st;
    }
    lc_chat_own(*out, ctx, sampler);
    return LC_OK;
}
