/* longctx eval retention: attention mass per layer and head by key distance at
 * probe positions of passkey prompts, and the accuracy of the same samples by
 * needle depth (lost in the middle). */
#include <math.h>
#include <string.h>

#include "eval_common.h"

static void print_tables(eval_session *s, const lc_eval_retention *r) {
    FILE *t = s->table;
    fprintf(t, "attention mass %% by key distance (mean over heads and %lld probe rows)\n%-8s", (long long)r->n_rows,
            "layer");
    for (int b = 0; b < r->n_buckets; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        char rng[32];
        if (lo == hi) snprintf(rng, sizeof rng, "%lld", (long long)lo);
        else snprintf(rng, sizeof rng, "%lld-%lld", (long long)lo, (long long)hi);
        fprintf(t, " %9s", rng);
    }
    fprintf(t, " %9s\n", "needle");
    for (int32_t l = 0; l < r->n_layers; l++) {
        fprintf(t, "%-8d", l);
        for (int b = 0; b < r->n_buckets; b++) {
            double m = 0.0;
            for (int32_t h = 0; h < r->n_heads; h++)
                m += r->mass[((size_t)l * (size_t)r->n_heads + (size_t)h) * LC_EVAL_MAX_BUCKETS + (size_t)b];
            fprintf(t, " %9.2f", 100.0 * m / r->n_heads);
        }
        double nm = 0.0;
        for (int32_t h = 0; h < r->n_heads; h++) nm += r->needle_mass[(size_t)l * (size_t)r->n_heads + (size_t)h];
        fprintf(t, " %9.2f\n", 100.0 * nm / r->n_heads);
    }
    fprintf(t, "%-8s", "keys");
    for (int b = 0; b < r->n_buckets; b++) fprintf(t, " %9.1f", r->bucket_keys[b]);
    fprintf(t, "\n");
    const lc_eval_grid *g = &r->grid;
    fprintf(t, "passkey accuracy %% by needle depth (mean over lengths):\n");
    for (int d = 0; d < g->n_depths; d++) {
        double acc = 0.0, n = 0.0;
        for (int l = 0; l < g->n_lengths; l++) {
            const lc_eval_cell *c = &g->cells[l * g->n_depths + d];
            acc += c->accuracy * c->trials, n += c->trials;
        }
        if (isnan(g->cells[d].depth)) fprintf(t, "  depth random");
        else fprintf(t, "  depth %6.4g%%", 100.0 * g->cells[d].depth);
        fprintf(t, " %6.1f\n", n > 0 ? 100.0 * acc / n : NAN);
    }
}

static int write_csv(eval_session *s, const lc_eval_retention *r) {
    FILE *f = cli_open_out(s->a->csv_path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    fprintf(f, "layer,head,bucket,lo,hi,keys,mass,needle_mass\n");
    for (int32_t l = 0; l < r->n_layers; l++)
        for (int32_t h = 0; h < r->n_heads; h++)
            for (int b = 0; b < r->n_buckets; b++) {
                int64_t lo, hi;
                lc_eval_bucket_range(b, &lo, &hi);
                fprintf(f, "%d,%d,%d,%lld,%lld,%.10g,%.10g,%.10g\n", l, h, b, (long long)lo, (long long)hi,
                        r->bucket_keys[b],
                        r->mass[((size_t)l * (size_t)r->n_heads + (size_t)h) * LC_EVAL_MAX_BUCKETS + (size_t)b],
                        r->needle_mass[(size_t)l * (size_t)r->n_heads + (size_t)h]);
            }
    const bool bad = ferror(f) != 0;
    cli_close_out(f);
    if (bad) {
        cli_error(EVAL_CMD, "writing %s failed", s->a->csv_path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int eval_run_retention(eval_session *s) {
    eval_args *a = s->a;
    lc_eval_retention_config rc_cfg;
    lc_eval_retention_config_init(&rc_cfg);
    eval_grid_config(s, &rc_cfg.grid);
    if (a->n_probes > 0) {
        memcpy(rc_cfg.probes, a->probes, sizeof rc_cfg.probes);
        rc_cfg.n_probes = a->n_probes;
    }
    if (!s->tok) {
        cli_error(EVAL_CMD, "the model has no tokenizer to write prompts with (give -z TOKENIZER.bin)");
        return CLI_FAIL;
    }
    const lc_eval_grid_config *gc = &rc_cfg.grid;
    int64_t max_len = 0;
    for (int l = 0; l < gc->n_lengths; l++)
        if (gc->lengths[l] > max_len) max_len = gc->lengths[l];
    char what[64], lb[16];
    snprintf(what, sizeof what, "length %s", eval_len_str(max_len, lb, sizeof lb));
    const int64_t n_ctx = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : max_len + gc->margin;
    int rc = eval_context_fits(s, &a->rf.co, n_ctx, what);
    if (rc != CLI_OK) return rc;
    lc_error err;
    if (lc_eval_grid_check(gc, s->tok, n_ctx, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
    lc_context *ctx = NULL;
    rc = eval_context_create(s, &a->rf.co, n_ctx, what, &ctx);
    if (rc != CLI_OK) return rc;
    eval_print_setup(s, ctx);
    lc_eval_retention r;
    lc_status st = lc_eval_retention_run(ctx, s->tok, -1, &rc_cfg, &r, &err);
    cli_progress_done(&s->progress);
    if (st != LC_OK) {
        lc_context_free(ctx);
        return cli_fail(EVAL_CMD, &err);
    }
    print_tables(s, &r);
    fprintf(s->table, "overall: passkey accuracy %.1f%% over %lld trials", 100.0 * r.grid.accuracy,
            (long long)r.grid.n_trials);
    if (a->timings) fprintf(s->table, " in %.2f s", r.grid.seconds);
    fprintf(s->table, "\n");
    if (a->json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        eval_ctx_info info;
        eval_ctx_info_get(ctx, &info);
        eval_json_begin(s, &w, &info);
        lc_json_key(&w, "lengths");
        lc_json_begin_array(&w);
        for (int l = 0; l < gc->n_lengths; l++) lc_json_int(&w, gc->lengths[l]);
        lc_json_end_array(&w);
        lc_json_key(&w, "depths");
        lc_json_begin_array(&w);
        for (int d = 0; d < gc->n_depths; d++) lc_json_num(&w, gc->depths[d]);
        lc_json_end_array(&w);
        lc_json_key(&w, "probes");
        lc_json_begin_array(&w);
        for (int p = 0; p < rc_cfg.n_probes; p++) lc_json_int(&w, rc_cfg.probes[p]);
        lc_json_end_array(&w);
        lc_json_kv_int(&w, "margin", gc->margin);
        lc_json_kv_int(&w, "digits", gc->task.digits);
        lc_json_key(&w, "haystack");
        if (a->haystack_path) lc_json_str(&w, a->haystack_path);
        else lc_json_null(&w);
        lc_json_end_object(&w); /* settings */
        lc_eval_grid_write_json(&w, &r.grid, a->timings);
        lc_eval_retention_write_json(&w, &r);
        lc_json_end_object(&w);
        lc_json_finish(&w);
    }
    if (a->csv_path) rc = write_csv(s, &r);
    char title[256], method[96];
    snprintf(title, sizeof title, "attention by distance: %s (%s)", s->model_name,
             eval_method_label(ctx, method, sizeof method));
    if (rc == CLI_OK && a->svg_path) {
        FILE *f = cli_open_out(a->svg_path, EVAL_CMD);
        if (!f) rc = CLI_FAIL;
        else if (lc_eval_retention_svg(f, &r, title, &err) != LC_OK) rc = cli_fail(EVAL_CMD, &err);
        cli_close_out(f);
    }
    if (rc == CLI_OK && a->svg_depth_path) {
        snprintf(title, sizeof title, "lost in the middle: %s (%s)", s->model_name, method);
        FILE *f = cli_open_out(a->svg_depth_path, EVAL_CMD);
        if (!f) rc = CLI_FAIL;
        else if (lc_eval_depth_svg(f, &r.grid, title, &err) != LC_OK) rc = cli_fail(EVAL_CMD, &err);
        cli_close_out(f);
    }
    lc_eval_retention_free(&r);
    lc_context_free(ctx);
    return rc;
}
