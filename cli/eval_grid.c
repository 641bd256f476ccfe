/* longctx eval passkey | niah | vt: the retrieval grid (lengths x depths x
 * trials), its table, JSON, CSV and heat map. */
#include <math.h>
#include <string.h>

#include "eval_common.h"

static bool print_trial(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *smp,
                        const char *generated, double score, double recall) {
    eval_session *s = user;
    cli_progress_done(&s->progress);
    char lb[16];
    fprintf(stderr, "length %s ", eval_len_str(length, lb, sizeof lb));
    if (depth < 0) fprintf(stderr, "depth random");
    else fprintf(stderr, "depth %.4g%%", 100.0 * depth);
    fprintf(stderr, " trial %d (%lld prompt tokens): expected \"%s\" got \"", trial, (long long)smp->n_prompt,
            smp->answer);
    for (const char *c = generated; *c; c++) {
        if (*c == '\n') fputs("\\n", stderr);
        else fputc(*c, stderr);
    }
    fprintf(stderr, "\" score %g recall %g\n", score, recall);
    return true;
}

static void print_table(eval_session *s, const lc_eval_grid *g, bool recall) {
    FILE *t = s->table;
    char lb[16];
    fprintf(t, "%s %% (rows: needle depth, columns: length in tokens; %d trial%s per cell)\n",
            recall ? "recall" : "accuracy", s->a->trials, s->a->trials == 1 ? "" : "s");
    fprintf(t, "%8s", "depth");
    for (int l = 0; l < g->n_lengths; l++) fprintf(t, " %7s", eval_len_str(g->cells[l * g->n_depths].length, lb, sizeof lb));
    fprintf(t, "\n");
    for (int d = 0; d < g->n_depths; d++) {
        const double dep = g->cells[d].depth;
        if (isnan(dep)) fprintf(t, "%8s", "random");
        else fprintf(t, "%7.4g%%", 100.0 * dep);
        for (int l = 0; l < g->n_lengths; l++) {
            const lc_eval_cell *c = &g->cells[l * g->n_depths + d];
            fprintf(t, " %7.1f", 100.0 * (recall ? c->recall : c->accuracy));
        }
        fprintf(t, "\n");
    }
    if (g->n_depths > 1) {
        fprintf(t, "%8s", "mean");
        for (int l = 0; l < g->n_lengths; l++) {
            double v = 0.0;
            for (int d = 0; d < g->n_depths; d++) {
                const lc_eval_cell *c = &g->cells[l * g->n_depths + d];
                v += recall ? c->recall : c->accuracy;
            }
            fprintf(t, " %7.1f", 100.0 * v / g->n_depths);
        }
        fprintf(t, "\n");
    }
}

static int write_csv(eval_session *s, const lc_eval_grid *g) {
    FILE *f = cli_open_out(s->a->csv_path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    fprintf(f, "length,depth,trials,accuracy,recall,tokens,needle_depth%s\n", s->a->timings ? ",seconds" : "");
    for (int l = 0; l < g->n_lengths; l++)
        for (int d = 0; d < g->n_depths; d++) {
            const lc_eval_cell *c = &g->cells[l * g->n_depths + d];
            fprintf(f, "%lld,", (long long)c->length);
            if (!isnan(c->depth)) fprintf(f, "%.10g", c->depth);
            fprintf(f, ",%d,%.10g,%.10g,%.10g,%.10g", c->trials, c->accuracy, c->recall, c->mean_tokens,
                    c->mean_depth);
            if (s->a->timings) fprintf(f, ",%.6f", c->seconds);
            fprintf(f, "\n");
        }
    const bool bad = ferror(f) != 0;
    cli_close_out(f);
    if (bad) {
        cli_error(EVAL_CMD, "writing %s failed", s->a->csv_path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

typedef lc_status (*grid_svg_fn)(FILE *f, const lc_eval_grid *g, const char *title, lc_error *err);

static int write_svg(eval_session *s, const char *path, grid_svg_fn fn, const lc_eval_grid *g, const lc_context *ctx) {
    FILE *f = cli_open_out(path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    char title[256], method[96];
    snprintf(title, sizeof title, "%s: %s (%s)", s->a->task_name, s->model_name,
             eval_method_label(ctx, method, sizeof method));
    lc_error err;
    const lc_status st = fn(f, g, title, &err);
    cli_close_out(f);
    return st == LC_OK ? CLI_OK : cli_fail(EVAL_CMD, &err);
}

static void json_settings(eval_session *s, lc_json_writer *w, const lc_eval_grid_config *gc) {
    const eval_args *a = s->a;
    lc_json_key(w, "lengths");
    lc_json_begin_array(w);
    for (int l = 0; l < gc->n_lengths; l++) lc_json_int(w, gc->lengths[l]);
    lc_json_end_array(w);
    lc_json_key(w, "depths");
    if (gc->n_depths > 0) {
        lc_json_begin_array(w);
        for (int d = 0; d < gc->n_depths; d++) lc_json_num(w, gc->depths[d]);
        lc_json_end_array(w);
    } else {
        lc_json_str(w, "random");
    }
    lc_json_kv_int(w, "margin", gc->margin);
    lc_json_kv_str(w, "kind", lc_task_kind_name(gc->task.kind));
    if (a->task == EVAL_NIAH) lc_json_kv_str(w, "variant", a->variant ? a->variant : "single");
    lc_json_kv_int(w, "digits", gc->task.digits);
    if (gc->task.kind == LC_TASK_MULTIKEY || gc->task.kind == LC_TASK_MULTIQUERY)
        lc_json_kv_int(w, "keys", gc->task.n_keys);
    if (gc->task.kind == LC_TASK_MULTIVALUE) lc_json_kv_int(w, "values", gc->task.n_values);
    if (gc->task.kind == LC_TASK_MULTIQUERY) lc_json_kv_int(w, "queries", gc->task.n_queries);
    if (gc->task.kind == LC_TASK_VT) {
        lc_json_kv_int(w, "chains", gc->task.n_chains);
        lc_json_kv_int(w, "hops", gc->task.n_hops);
    }
    lc_json_key(w, "haystack");
    if (a->haystack_path) lc_json_str(w, a->haystack_path);
    else lc_json_null(w);
    lc_json_kv_bool(w, "prefix_reuse", a->prefix_reuse);
}

void eval_grid_config(eval_session *s, lc_eval_grid_config *gc) {
    eval_args *a = s->a;
    eval_default_lengths(s);
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
    for (int l = 0; l < gc->n_lengths; l++)
        if (train > 0 && gc->lengths[l] > train && s->rope.scaling == LC_ROPE_SCALING_NONE) {
            char lb[16], tb[16];
            fprintf(stderr, "longctx eval: note: length %s is past the model's training context (%s) and RoPE is "
                            "not scaled (--rope-scaling)\n",
                    eval_len_str(gc->lengths[l], lb, sizeof lb), eval_len_str(train, tb, sizeof tb));
            break;
        }
    gc->progress = eval_progress;
    gc->progress_user = s;
    if (a->verbose) {
        gc->on_trial = print_trial;
        gc->trial_user = s;
    }
}

int eval_run_grid(eval_session *s) {
    eval_args *a = s->a;
    lc_eval_grid_config gc;
    eval_grid_config(s, &gc);
    if (!s->tok) {
        cli_error(EVAL_CMD, "the model has no tokenizer to write prompts with (give -z TOKENIZER.bin)");
        return CLI_FAIL;
    }
    int64_t max_len = 0;
    for (int l = 0; l < gc.n_lengths; l++) if (gc.lengths[l] > max_len) max_len = gc.lengths[l];
    const int64_t n_ctx = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : max_len + gc.margin;
    char what[64], lb[16];
    snprintf(what, sizeof what, "length %s", eval_len_str(max_len, lb, sizeof lb));
    /* memory first (cheap), then the task at every length, then allocate */
    int rc = eval_context_fits(s, &a->rf.co, n_ctx, what);
    if (rc != CLI_OK) return rc;
    lc_error err;
    if (lc_eval_grid_check(&gc, s->tok, n_ctx, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
    lc_context *ctx = NULL;
    rc = eval_context_create(s, &a->rf.co, n_ctx, what, &ctx);
    if (rc != CLI_OK) return rc;
    lc_eval_model *em = NULL;
    lc_eval_grid g;
    memset(&g, 0, sizeof g);
    lc_status st = lc_eval_model_from_context(ctx, s->tok, -1, a->prefix_reuse, &em, &err);
    eval_print_setup(s, ctx);
    if (st == LC_OK) st = lc_eval_grid_run(em, &gc, &g, &err);
    cli_progress_done(&s->progress);
    if (st != LC_OK) {
        rc = cli_fail(EVAL_CMD, &err);
        goto out;
    }
    print_table(s, &g, false);
    if (gc.task.kind == LC_TASK_MULTIVALUE || gc.task.kind == LC_TASK_MULTIQUERY || gc.task.kind == LC_TASK_VT)
        print_table(s, &g, true);
    char e1[16], e2[16];
    fprintf(s->table, "overall: accuracy %.1f%%, recall %.1f%% over %lld trials", 100.0 * g.accuracy,
            100.0 * g.recall, (long long)g.n_trials);
    if (a->timings) fprintf(s->table, " in %.2f s", g.seconds);
    fprintf(s->table, "; prompt tokens evaluated %s, reused %s\n",
            eval_len_str(g.tokens_evaluated, e1, sizeof e1), eval_len_str(g.tokens_reused, e2, sizeof e2));

    if (a->json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        eval_ctx_info info;
        eval_ctx_info_get(ctx, &info);
        eval_json_begin(s, &w, &info);
        json_settings(s, &w, &gc);
        lc_json_end_object(&w); /* settings */
        lc_eval_grid_write_json(&w, &g, a->timings);
        lc_json_kv_int(&w, "tokens_evaluated", g.tokens_evaluated);
        lc_json_kv_int(&w, "tokens_reused", g.tokens_reused);
        lc_json_end_object(&w);
        lc_json_finish(&w);
    }
    if (a->csv_path) rc = write_csv(s, &g);
    if (rc == CLI_OK && a->svg_path) rc = write_svg(s, a->svg_path, lc_eval_grid_svg, &g, ctx);
    if (rc == CLI_OK && a->svg_depth_path) rc = write_svg(s, a->svg_depth_path, lc_eval_depth_svg, &g, ctx);
out:
    lc_eval_grid_free(&g);
    lc_eval_model_free(em);
    lc_context_free(ctx);
    return rc;
}
