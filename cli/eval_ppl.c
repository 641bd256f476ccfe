/* longctx eval ppl: perplexity against context length with a sliding window
 * for one or several methods (attention specs x RoPE scalings), with the mean
 * loss per log2 bucket of position in the window; with --kv-policy LIST,
 * streaming perplexity compared across cache policies (StreamingLLM's
 * comparison). The runs are the library's (lc_eval_ppl_run_model,
 * lc_eval_stream_run_model); --sp shards each context over MPI ranks. */
#include <stdlib.h>
#include <string.h>

#include "eval_common.h"

/* --sp: the context's attention sharded over the ranks (every rank, whatever
 * the outcome of creating its context), the evaluation model on the shards. */
typedef struct {
    cli_sp *spc;
    bool printed; /* cli_sp_attach said why it failed */
} sp_maker;

static lc_status sp_open(void *user, lc_context *ctx, lc_status st, const lc_error *ctx_err, const lc_tokenizer *tok,
                         lc_eval_model **out, lc_error *err) {
    sp_maker *m = user;
    if (cli_sp_attach(m->spc, ctx, st, ctx_err, EVAL_CMD) != CLI_OK) {
        m->printed = true;
        return lc_fail(err, LC_ERR_INVALID_ARG, "no context (its message is above)");
    }
    return cli_sp_eval_model(m->spc, ctx, tok, out, err);
}

static void sp_close(void *user, lc_eval_model *em) {
    lc_eval_model_free(em);
    cli_sp_detach(((sp_maker *)user)->spc); /* before the context goes */
}

/* The token stream (-f text or --tokens-file, --max-tokens). */
static int load_tokens(eval_session *s, int32_t **ids, int64_t *n) {
    const eval_args *a = s->a;
    lc_error err;
    if (lc_eval_tokens_load(a->tokens_path ? a->tokens_path : a->text_path, a->tokens_path != NULL, s->tok,
                            s->model->cfg.vocab_size, ids, n, &err) != LC_OK)
        return cli_fail(EVAL_CMD, &err);
    if (a->max_tokens > 0 && *n > a->max_tokens) *n = a->max_tokens;
    s->n_file_tokens = *n;
    return CLI_OK;
}

/* The windows (default: -c, else the training context), checked before the tokens are loaded. */
static int check_windows(eval_session *s) {
    eval_args *a = s->a;
    if (a->n_lengths == 0) {
        a->lengths[0] = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : s->model->cfg.ctx_train;
        a->n_lengths = 1;
    }
    lc_error err;
    if (lc_eval_ppl_windows_check(a->lengths, a->n_lengths, a->stride, a->rf.co.n_ctx, &err) == LC_OK) return CLI_OK;
    cli_error(EVAL_CMD, "%s", err.msg);
    return CLI_USAGE;
}

static lc_status ppl_json(eval_session *s, const lc_eval_ctx_info *info, const char *const *names, int nm,
                          const lc_eval_ppl_result *res, double secs, lc_error *err) {
    const eval_args *a = s->a;
    const lc_eval_header h = eval_header(s, &info[0]);
    const lc_eval_ppl_doc d = {a->lengths, a->n_lengths, a->stride, names, info, nm, res,
                               a->tokens_path ? a->tokens_path : a->text_path, s->n_file_tokens, a->timings, secs};
    return lc_eval_ppl_write_doc(stdout, &h, &d, err);
}

/* --csv, and --svg: ppl by window length, a line per method. */
static int ppl_files(eval_session *s, const char *const *names, int nm, const lc_eval_ppl_result *res) {
    const eval_args *a = s->a;
    FILE *f;
    lc_error err;
    lc_status st;
    if (a->csv_path) {
        if (!(f = cli_open_out(a->csv_path, EVAL_CMD))) return CLI_FAIL;
        st = lc_eval_ppl_write_csv(f, res, names, nm, a->n_lengths, a->timings, &err);
        if (eval_out_close(f, a->csv_path, st, &err) != CLI_OK) return CLI_FAIL;
    }
    if (!a->svg_path) return CLI_OK;
    if (!(f = cli_open_out(a->svg_path, EVAL_CMD))) return CLI_FAIL;
    char title[192];
    snprintf(title, sizeof title, "perplexity by context length: %s", s->model_name);
    st = lc_eval_ppl_svg(f, res, nm, a->n_lengths, names, title, &err);
    return eval_out_close(f, a->svg_path, st, &err);
}

/* --kv-policy LIST: each entry streams the whole file through one context. */
static int run_stream(eval_session *s, lc_eval_stream_cell *c, int nm, const int32_t *ids, int64_t n) {
    const eval_args *a = s->a;
    lc_eval_ctx_info info, first;
    lc_error err;
    lc_eval_run_opts o;
    eval_run_opts(s, &o);
    lc_status st = LC_OK;
    for (int i = 0; i < nm && st == LC_OK; i++) {
        st = lc_eval_stream_run_model(s->model, s->tok, &o, ids, n, &c[i], &info, &err);
        cli_progress_done(&s->progress);
        if (i == 0) first = info;
    }
    if (st == LC_OK) st = lc_eval_streams_print(s->table, c, nm, a->timings, &err);
    if (st == LC_OK && a->json) {
        const lc_eval_header h = eval_header(s, &first);
        st = lc_eval_streams_write_doc(stdout, &h, a->tokens_path ? a->tokens_path : a->text_path, s->n_file_tokens, c,
                                       nm, a->timings, &err);
    }
    if (st != LC_OK) return cli_fail(EVAL_CMD, &err);
    if (!a->csv_path) return CLI_OK;
    FILE *f = cli_open_out(a->csv_path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    st = lc_eval_streams_write_csv(f, c, nm, a->timings, &err);
    return eval_out_close(f, a->csv_path, st, &err);
}

/* Every method at every window (--sp: each context sharded over the ranks), then the outputs. */
static int run_methods(eval_session *s, const lc_eval_method *m, int nm, const int32_t *ids, int64_t n) {
    eval_args *a = s->a;
    lc_eval_ctx_info info[LC_EVAL_MAX_METHODS];
    char names[LC_EVAL_MAX_METHODS][LC_EVAL_NAME_MAX];
    const char *np[LC_EVAL_MAX_METHODS];
    lc_eval_ppl_result *res = calloc((size_t)nm * (size_t)a->n_lengths, sizeof *res);
    if (!res) {
        cli_error(EVAL_CMD, "out of memory");
        return CLI_FAIL;
    }
    lc_eval_run_opts o;
    eval_run_opts(s, &o);
    o.ctx.kv_external = a->spc.on; /* --sp: each rank allocates its shard only */
    sp_maker spm = {&a->spc, false};
    const lc_eval_model_maker maker = {sp_open, sp_close, &spm};
    if (a->spc.on) o.maker = &maker;
    lc_eval_ppl_comparison c = {m, nm, a->lengths, a->n_lengths, a->stride, &s->rope, res, info, names, 0};
    lc_error err;
    lc_status st = lc_eval_ppl_compare(s->model, s->tok, &o, ids, n, &c, &err);
    cli_progress_done(&s->progress);
    for (int i = 0; i < nm; i++) np[i] = names[i];
    int rc = st == LC_OK ? CLI_OK : spm.printed || a->spc.rank != 0 ? CLI_FAIL : cli_fail(EVAL_CMD, &err);
    if (rc == CLI_OK) {
        st = lc_eval_ppl_print(s->table, res, np, nm, a->n_lengths, c.seconds, a->timings, &err);
        if (st == LC_OK && a->json) st = ppl_json(s, info, np, nm, res, c.seconds, &err);
        if (st != LC_OK) rc = cli_fail(EVAL_CMD, &err);
        if (rc == CLI_OK) rc = ppl_files(s, np, nm, res);
    }
    free(res);
    return rc;
}

int eval_run_ppl(eval_session *s) {
    const eval_args *a = s->a;
    lc_eval_method m[LC_EVAL_MAX_METHODS];
    lc_eval_stream_cell c[LC_EVAL_MAX_STREAMS];
    int nm = 0;
    lc_error err;
    const lc_status st = a->rf.kv_spec ? lc_eval_streams_parse(a->rf.kv_spec, c, &nm, &err)
                                       : lc_eval_methods_parse(a->rf.co.attn, a->scaling_list, m, &nm, &err);
    if (st != LC_OK) {
        cli_error(EVAL_CMD, "%s", err.msg);
        return CLI_USAGE;
    }
    int rc = a->rf.kv_spec ? CLI_OK : check_windows(s);
    int32_t *ids = NULL;
    int64_t n = 0;
    if (rc == CLI_OK) rc = load_tokens(s, &ids, &n);
    if (rc == CLI_OK) rc = a->rf.kv_spec ? run_stream(s, c, nm, ids, n) : run_methods(s, m, nm, ids, n);
    free(ids);
    return rc;
}
