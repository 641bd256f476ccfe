/*
 * An evaluation model (include/longctx/eval.h) over a context sharded by
 * lc_sp (include/longctx/sp.h): what `eval ppl --sp` scores with. Every
 * rank holds the same model object and makes the same calls:
 *
 *   append_logprobs  lc_sp_prefill_logprobs: a ring prefill in which each
 *                    rank scores the rows it owns, one allreduce of n floats
 *   generate         reset, ring prefill of the prompt, greedy decode steps
 *                    (lc_generate over the decode path; rank 0 picks the
 *                    token and broadcasts it), stopping as the context model
 *                    does: at EOS, or after a token whose text holds a
 *                    newline or a period
 *   reset            lc_context_reset (a shard holds what n_past says)
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "eval/eval_internal.h"
#include "longctx/sp.h"

typedef struct {
    lc_eval_model base; /* first member: the public view */
    lc_sp *sp;
    lc_context *ctx;
    MPI_Comm comm;
} sp_model;

static void spm_reset(lc_eval_model *m) { lc_context_reset(((sp_model *)m)->ctx); }

static lc_status spm_append_logprobs(lc_eval_model *m, const int32_t *tokens, int64_t n, float *out, lc_error *err) {
    sp_model *s = (sp_model *)m;
    if (!tokens || !out || n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no tokens to score");
    return lc_sp_prefill_logprobs(s->sp, tokens, n, out, err);
}


static lc_status spm_generate(lc_eval_model *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new, int32_t *out,
                              int64_t *n_out, lc_error *err) {
    sp_model *s = (sp_model *)m;
    *n_out = 0;
    if (!prompt || n_prompt < 1 || !out || max_new < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: empty prompt or nothing to generate");
    const int64_t n_ctx = lc_context_n_ctx(s->ctx);
    if (n_prompt >= n_ctx)
        return lc_fail(err, LC_ERR_TOO_LARGE, "eval: a prompt of %lld tokens leaves no room to answer in a context of %lld",
                       (long long)n_prompt, (long long)n_ctx);
    max_new = LC_MIN(max_new, n_ctx - n_prompt);
    lc_context_reset(s->ctx);
    lc_status st = lc_sp_prefill(s->sp, prompt, n_prompt, NULL, false, err);
    if (st != LC_OK) return st;
    lc_sp_sampler smp = {s->comm, NULL, NULL}; /* rank 0's argmax, broadcast */
    lc_eval_stop_state ss = {m->tok, prompt[n_prompt - 1]};
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = max_new;
    go.eos_id = m->eos_id;
    go.sample = lc_sp_sample;
    go.sample_user = &smp;
    go.on_token = lc_eval_stop_on_token;
    go.token_user = &ss;
    lc_generate_result res;
    st = lc_generate(s->ctx, NULL, 0, &go, out, max_new, &res, err);
    if (st != LC_OK) {
        lc_context_reset(s->ctx);
        return st;
    }
    *n_out = LC_MIN(res.n_generated, max_new);
    return LC_OK;
}

static void spm_destroy(lc_eval_model *m) { free(m); }

static const lc_eval_model_ops sp_model_ops = {spm_generate, spm_reset, spm_append_logprobs, spm_destroy};

lc_status lc_sp_eval_model(lc_sp *sp, const lc_tokenizer *tok, int32_t eos_id, lc_eval_model **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL output");
    *out = NULL;
    lc_context *ctx = lc_sp_context(sp);
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no sharded context");
    const int32_t vocab = lc_context_model(ctx)->cfg.vocab_size;
    if (tok && lc_tokenizer_n_vocab(tok) > vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: the tokenizer has %d tokens, the model only %d",
                       lc_tokenizer_n_vocab(tok), vocab);
    sp_model *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "eval: out of memory");
    s->sp = sp;
    s->ctx = ctx;
    s->comm = lc_sp_comm(sp);
    s->base.ops = &sp_model_ops;
    s->base.impl = s;
    s->base.tok = tok;
    s->base.n_ctx = lc_context_n_ctx(ctx);
    s->base.eos_id = eos_id >= 0 ? eos_id : tok ? lc_tokenizer_eos(tok) : -1;
    lc_context_reset(ctx);
    *out = &s->base;
    return LC_OK;
}
