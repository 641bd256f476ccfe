/* longctx eval: the session, run options, JSON header and result files (eval_common.h). */
#include <string.h>

#include "eval_common.h"

int eval_session_open(eval_session *s, eval_args *a) {
    memset(s, 0, sizeof *s);
    s->a = a;
    s->table = a->json ? stderr : stdout;
    cli_progress_init(&s->progress);
    const int rc = cli_runtime_load(&a->rf, &s->model, &s->rope, EVAL_CMD);
    if (rc != CLI_OK) return rc;
    lc_eval_model_names(a->rf.model_path, s->model, s->model_name, sizeof s->model_name, NULL, 0);
    s->tok = s->model->tokenizer;
    lc_error err;
    if (!s->tok && a->rf.tok_path) { /* e.g. a random GGUF: -z tokenizer.bin of the same vocabulary */
        if (lc_tokenizer_load_llama2c(a->rf.tok_path, s->model->cfg.vocab_size, &s->own_tok, &err) != LC_OK)
            return cli_fail(EVAL_CMD, &err);
        s->tok = s->own_tok;
    }
    if (a->haystack_path) {
        if (lc_haystack_load(a->haystack_path, &s->haystack, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
        a->spec.haystack = s->haystack;
    }
    return CLI_OK;
}

void eval_session_close(eval_session *s) {
    cli_progress_done(&s->progress);
    lc_haystack_free(s->haystack);
    lc_tokenizer_free(s->own_tok);
    lc_model_free(s->model);
    memset(s, 0, sizeof *s);
}

/* The settings line above the tables, once the first context exists. */
static void print_setup(void *user, const lc_eval_ctx_info *info) {
    eval_session *s = user;
    if (s->setup_printed) return;
    s->setup_printed = true;
    const eval_args *a = s->a;
    lc_eval_print_setup(s->table, a->task_name, s->model_name, s->model, info,
                        a->tokens_path ? a->tokens_path : a->text_path, s->n_file_tokens);
}

void eval_run_opts(eval_session *s, lc_eval_run_opts *o) {
    lc_eval_run_opts_init(o);
    o->ctx = s->a->rf.co;
    o->reuse_prefix = s->a->prefix_reuse;
    o->progress = cli_progress_cb;
    o->progress_user = &s->progress;
    o->ready = print_setup;
    o->ready_user = s;
}

lc_eval_header eval_header(const eval_session *s, const lc_eval_ctx_info *info) {
    const eval_args *a = s->a;
    const lc_eval_header h = {a->task_name, a->rf.model_path, s->model, a->rf.co.attn, a->rf.kv_spec,
                              a->seed,      a->trials,        *info};
    return h;
}

int eval_out_close(FILE *f, const char *path, lc_status st, const lc_error *err) {
    const bool bad = ferror(f) != 0;
    cli_close_out(f);
    if (st != LC_OK) return cli_fail(EVAL_CMD, err);
    if (!bad) return CLI_OK;
    cli_error(EVAL_CMD, "writing %s failed", path);
    return CLI_FAIL;
}
