/*
 * The evaluations run on a model (eval.h, "Running the suite on a model"):
 * each makes the context its lengths need (after checking it fits in
 * memory), the lc_eval_model over it, runs, and frees both. `longctx eval`
 * and `longctx report` both run their cells through these.
 */
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/sys.h"

void lc_eval_run_opts_init(lc_eval_run_opts *o) {
    memset(o, 0, sizeof *o);
    lc_context_opts_init(&o->ctx);
    o->reuse_prefix = true;
}

static int64_t longest(const int64_t *v, int n) {
    int64_t m = 0;
    for (int i = 0; i < n; i++) m = LC_MAX(m, v[i]);
    return m;
}

/* The memory check, then the context with o's options and n_ctx tokens;
 * its settings into info (may be NULL) and to o->ready. */
static lc_status open_context(const lc_model *m, const lc_eval_run_opts *o, const lc_context_opts *co, int64_t n_ctx,
                              const char *what, lc_context **ctx, lc_eval_ctx_info *info, lc_error *err) {
    *ctx = NULL;
    lc_context_opts c = *co;
    c.n_ctx = n_ctx;
    lc_status st = lc_eval_context_fits(m, &c, n_ctx, o->mem_share, what, err);
    if (st == LC_OK) st = lc_context_create(m, &c, ctx, err);
    if (st != LC_OK) return st;
    lc_eval_ctx_info local;
    if (!info) info = &local;
    lc_eval_ctx_info_get(*ctx, info);
    if (o->ready) o->ready(o->ready_user, info);
    return LC_OK;
}

/* A grid's or retention's context: the memory check (cheap), the task at
 * every length, then the context. */
static lc_status grid_context(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                              const lc_eval_grid_config *c, lc_context **ctx, lc_eval_ctx_info *info, lc_error *err) {
    *ctx = NULL;
    if (!m || !o || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no model, options or configuration");
    if (!tok)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "the model has no tokenizer to write prompts with (give -z TOKENIZER.bin)");
    const int64_t max_len = longest(c->lengths, c->n_lengths);
    const int64_t n_ctx = o->ctx.n_ctx > 0 ? o->ctx.n_ctx : max_len + c->margin;
    char what[64], lb[16];
    snprintf(what, sizeof what, "length %s", lc_eval_len_str(max_len, lb, sizeof lb));
    lc_status st = lc_eval_context_fits(m, &o->ctx, n_ctx, o->mem_share, what, err);
    if (st == LC_OK) st = lc_eval_grid_check(c, tok, n_ctx, err);
    if (st == LC_OK) st = open_context(m, o, &o->ctx, n_ctx, what, ctx, info, err);
    return st;
}

lc_status lc_eval_grid_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                 const lc_eval_grid_config *c, lc_eval_grid *out, lc_eval_ctx_info *info,
                                 lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL output");
    memset(out, 0, sizeof *out);
    lc_context *ctx = NULL;
    lc_eval_model *em = NULL;
    lc_status st = grid_context(m, tok, o, c, &ctx, info, err);
    if (st == LC_OK) st = lc_eval_model_from_context(ctx, tok, -1, o->reuse_prefix, &em, err);
    if (st == LC_OK) st = lc_eval_grid_run(em, c, out, err);
    lc_eval_model_free(em);
    lc_context_free(ctx);
    return st;
}

lc_status lc_eval_retention_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                      const lc_eval_retention_config *c, lc_eval_retention *out,
                                      lc_eval_ctx_info *info, lc_error *err) {
    if (!out || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "retention: NULL configuration or output");
    memset(out, 0, sizeof *out);
    lc_context *ctx = NULL;
    lc_status st = grid_context(m, tok, o, &c->grid, &ctx, info, err);
    if (st == LC_OK) st = lc_eval_retention_run(ctx, tok, -1, c, out, err);
    lc_context_free(ctx);
    return st;
}

lc_status lc_eval_ppl_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                const int32_t *tokens, int64_t n, const int64_t *windows, int n_windows,
                                int64_t stride, lc_eval_ppl_result *out, lc_eval_ctx_info *info, lc_error *err) {
    if (!m || !o || !windows || !out || n_windows < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: no model, windows or output");
    const lc_status wst = lc_eval_ppl_windows_check(windows, n_windows, stride, o->ctx.n_ctx, err);
    if (wst != LC_OK) return wst;
    const int64_t max_len = longest(windows, n_windows);
    char what[64], lb[16];
    snprintf(what, sizeof what, "window %s", lc_eval_len_str(max_len, lb, sizeof lb));
    lc_context *ctx = NULL;
    lc_status st = open_context(m, o, &o->ctx, o->ctx.n_ctx > 0 ? o->ctx.n_ctx : max_len, what, &ctx, info, err);
    lc_eval_model *em = NULL;
    if (o->maker) { /* every process learns the outcome, whatever it is */
        lc_error ctx_err = {0};
        if (st != LC_OK && err) ctx_err = *err;
        st = o->maker->open(o->maker->user, ctx, st, &ctx_err, tok, &em, err);
    } else if (st == LC_OK) {
        st = lc_eval_model_from_context(ctx, tok, -1, false, &em, err);
    }
    for (int j = 0; j < n_windows && st == LC_OK; j++) {
        lc_eval_ppl_config pc = {windows[j], stride, o->progress, o->progress_user};
        st = lc_eval_ppl_run(em, tokens, n, &pc, &out[j], err);
    }
    if (o->maker && o->maker->close) o->maker->close(o->maker->user, em);
    else lc_eval_model_free(em);
    lc_context_free(ctx);
    return st;
}

lc_status lc_eval_stream_run_model(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                                   const int32_t *tokens, int64_t n, lc_eval_stream_cell *e, lc_eval_ctx_info *info,
                                   lc_error *err) {
    if (!m || !o || !e) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl stream: no model, options or cell");
    lc_context_opts co = o->ctx;
    int64_t n_ctx = o->ctx.n_ctx > 0 ? o->ctx.n_ctx : m->cfg.ctx_train;
    if (e->recompute) { /* the runtime's options only: no cache policy */
        if (e->window + 1 > n)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: the window is longer than the text (%lld tokens)", e->spec,
                           (long long)n);
        lc_context_opts_init(&co);
        co.n_threads = o->ctx.n_threads;
        co.n_batch = o->ctx.n_batch;
        co.k_type = o->ctx.k_type;
        co.v_type = o->ctx.v_type;
        co.attn = o->ctx.attn;
        co.rope = o->ctx.rope;
        n_ctx = e->window + 1;
    } else {
        lc_status st = lc_kv_policy_parse(e->spec, &co, err);
        if (st != LC_OK) return st;
        if (co.kv_policy == LC_KV_POLICY_FULL) n_ctx = LC_MAX(n_ctx, n);
    }
    lc_context *ctx = NULL;
    lc_status st = open_context(m, o, &co, n_ctx, e->spec, &ctx, info, err);
    if (st != LC_OK) return st;
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    e->slots = ks.n_slots;
    e->kv_bytes = (double)ks.bytes;
    if (e->recompute) {
        lc_eval_model *em = NULL;
        st = lc_eval_model_from_context(ctx, tok, -1, false, &em, err);
        e->st.rss_start = lc_rss_bytes();
        lc_eval_ppl_config pc = {e->window + 1, 1, o->progress, o->progress_user};
        if (st == LC_OK) st = lc_eval_ppl_run(em, tokens, n, &pc, &e->res, err);
        e->st.rss_end = lc_rss_bytes();
        if (st == LC_OK && e->res.seconds > 0) e->st.tokens_per_s = (double)e->res.n_scored / e->res.seconds;
        lc_eval_model_free(em);
    } else {
        lc_eval_stream_config sc = {o->progress, o->progress_user};
        st = lc_eval_ppl_stream(ctx, tokens, n, &sc, &e->res, &e->st, err);
    }
    lc_context_free(ctx);
    return st;
}

lc_status lc_eval_ppl_compare(const lc_model *m, const lc_tokenizer *tok, const lc_eval_run_opts *o,
                              const int32_t *tokens, int64_t n, lc_eval_ppl_comparison *c, lc_error *err) {
    if (!m || !o || !c || !c->methods || !c->res || !c->info || !c->names || c->n_methods < 1 ||
        c->n_methods > LC_EVAL_MAX_METHODS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: no model, options, methods (1..%d) or results",
                       LC_EVAL_MAX_METHODS);
    const double t0 = lc_time_now();
    lc_status st = LC_OK;
    for (int i = 0; i < c->n_methods && st == LC_OK; i++) {
        const lc_eval_method *me = &c->methods[i];
        lc_eval_run_opts mo = *o;
        lc_rope_config rope = c->rope ? *c->rope : m->cfg.rope;
        if (me->rope_override) rope.scaling = me->scaling;
        mo.ctx.rope = &rope;
        mo.ctx.attn = me->attn[0] ? me->attn : NULL;
        st = lc_eval_ppl_run_model(m, tok, &mo, tokens, n, c->windows, c->n_windows, c->stride,
                                   c->res + (size_t)i * (size_t)c->n_windows, &c->info[i], err);
        if (st == LC_OK) lc_eval_method_name(me, &c->info[i], c->names[i], LC_EVAL_NAME_MAX);
    }
    c->seconds = lc_time_now() - t0;
    return st;
}
