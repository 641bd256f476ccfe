/* longctx eval passkey | niah | vt | retention: the retrieval grid (lengths x
 * depths x trials) and the attention retention of its passkey samples, run by
 * the library (lc_eval_grid_run_model, lc_eval_retention_run_model); their
 * tables, JSON, CSV and pictures. */
#include <string.h>

#include "eval_common.h"

/* --verbose: every trial's expected and generated answer. */
static bool print_trial(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *smp,
                        const char *generated, double score, double recall) {
    cli_progress_done(&((eval_session *)user)->progress);
    lc_eval_trial_print(stderr, length, depth, trial, smp, generated, score, recall);
    return true;
}

/* The grid configuration from the arguments (retention's too). */
static void grid_config(eval_session *s, lc_eval_grid_config *gc) {
    eval_args *a = s->a;
    if (a->n_lengths == 0)
        lc_eval_default_lengths(a->rf.co.n_ctx, a->margin, s->model->cfg.ctx_train, a->lengths, &a->n_lengths);
    lc_eval_grid_config_init(gc, a->spec.kind);
    gc->task = a->spec;
    memcpy(gc->lengths, a->lengths, sizeof gc->lengths);
    gc->n_lengths = a->n_lengths;
    if (a->n_depths >= 0) {
        memcpy(gc->depths, a->depths, sizeof gc->depths);
        gc->n_depths = a->n_depths;
    } else if (a->task == EVAL_VT) {
        gc->n_depths = 0; /* RULER's vt: chains at random places */
    }
    gc->trials = a->trials;
    gc->seed = a->seed;
    gc->margin = a->margin;
    const int64_t train = s->model->cfg.ctx_train;
    const int past = lc_eval_past_training(gc->lengths, gc->n_lengths, train);
    char lb[16], tb[16];
    if (past >= 0 && s->rope.scaling == LC_ROPE_SCALING_NONE)
        fprintf(stderr, "longctx eval: note: length %s is past the model's training context (%s) and RoPE is "
                        "not scaled (--rope-scaling)\n",
                lc_eval_len_str(gc->lengths[past], lb, sizeof lb), lc_eval_len_str(train, tb, sizeof tb));
    gc->progress = cli_progress_cb;
    gc->progress_user = &s->progress;
    if (a->verbose) {
        gc->on_trial = print_trial;
        gc->trial_user = s;
    }
}

/* One JSON object on stdout: the header, the task's settings, the results. */
static lc_status write_json(eval_session *s, const lc_eval_ctx_info *info, const lc_eval_grid_config *gc,
                            const lc_eval_grid *g, const lc_eval_retention_config *rcfg, const lc_eval_retention *r,
                            lc_error *err) {
    const eval_args *a = s->a;
    const lc_eval_header h = eval_header(s, info);
    if (r) return lc_eval_retention_write_doc(stdout, &h, rcfg, a->haystack_path, r, a->timings, err);
    return lc_eval_grid_write_doc(stdout, &h, gc, a->task == EVAL_NIAH ? (a->variant ? a->variant : "single") : NULL,
                                  a->haystack_path, a->prefix_reuse, g, a->timings, err);
}

/* --csv, --svg (heat map; retention: attention by distance), --svg-depth. */
static int write_files(eval_session *s, const lc_eval_grid *g, const lc_eval_retention *r,
                       const lc_eval_ctx_info *info) {
    const eval_args *a = s->a;
    char title[256], method[96];
    lc_eval_method_label(info, method, sizeof method);
    FILE *f;
    lc_error err;
    lc_status st;
    if (a->csv_path) {
        if (!(f = cli_open_out(a->csv_path, EVAL_CMD))) return CLI_FAIL;
        st = r ? lc_eval_retention_write_csv(f, r, &err) : lc_eval_grid_write_csv(f, g, a->timings, &err);
        if (eval_out_close(f, a->csv_path, st, &err) != CLI_OK) return CLI_FAIL;
    }
    if (a->svg_path) {
        if (!(f = cli_open_out(a->svg_path, EVAL_CMD))) return CLI_FAIL;
        if (r) snprintf(title, sizeof title, "attention by distance: %s (%s)", s->model_name, method);
        else snprintf(title, sizeof title, "%s: %s (%s)", a->task_name, s->model_name, method);
        st = r ? lc_eval_retention_svg(f, r, title, &err) : lc_eval_grid_svg(f, g, title, &err);
        if (eval_out_close(f, a->svg_path, st, &err) != CLI_OK) return CLI_FAIL;
    }
    if (a->svg_depth_path) {
        if (!(f = cli_open_out(a->svg_depth_path, EVAL_CMD))) return CLI_FAIL;
        if (r) snprintf(title, sizeof title, "lost in the middle: %s (%s)", s->model_name, method);
        else snprintf(title, sizeof title, "%s: %s (%s)", a->task_name, s->model_name, method);
        st = lc_eval_depth_svg(f, g, title, &err);
        if (eval_out_close(f, a->svg_depth_path, st, &err) != CLI_OK) return CLI_FAIL;
    }
    return CLI_OK;
}

int eval_run_grid(eval_session *s) {
    lc_eval_grid_config gc;
    grid_config(s, &gc);
    lc_eval_run_opts o;
    eval_run_opts(s, &o);
    lc_eval_ctx_info info;
    lc_eval_grid g;
    lc_error err;
    lc_status st = lc_eval_grid_run_model(s->model, s->tok, &o, &gc, &g, &info, &err);
    cli_progress_done(&s->progress);
    if (st == LC_OK) st = lc_eval_grid_print(s->table, &g, s->a->timings, &err);
    if (st == LC_OK && s->a->json) st = write_json(s, &info, &gc, &g, NULL, NULL, &err);
    const int rc = st == LC_OK ? write_files(s, &g, NULL, &info) : cli_fail(EVAL_CMD, &err);
    lc_eval_grid_free(&g);
    return rc;
}

int eval_run_retention(eval_session *s) {
    eval_args *a = s->a;
    lc_eval_retention_config rcfg;
    lc_eval_retention_config_init(&rcfg);
    grid_config(s, &rcfg.grid);
    if (a->n_probes > 0) {
        memcpy(rcfg.probes, a->probes, sizeof rcfg.probes);
        rcfg.n_probes = a->n_probes;
    }
    lc_eval_run_opts o;
    eval_run_opts(s, &o);
    lc_eval_ctx_info info;
    lc_eval_retention r;
    lc_error err;
    lc_status st = lc_eval_retention_run_model(s->model, s->tok, &o, &rcfg, &r, &info, &err);
    cli_progress_done(&s->progress);
    if (st != LC_OK) return cli_fail(EVAL_CMD, &err);
    if ((st = lc_eval_retention_print(s->table, &r, a->timings, &err)) == LC_OK && a->json)
        st = write_json(s, &info, &rcfg.grid, &r.grid, &rcfg, &r, &err);
    const int rc = st == LC_OK ? write_files(s, &r.grid, &r, &info) : cli_fail(EVAL_CMD, &err);
    lc_eval_retention_free(&r);
    return rc;
}
