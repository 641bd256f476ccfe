/*
 * Passkey grids for the report, run length by length within the section's
 * time budget (lc_eval_grid_run does one length per call here, so that a
 * length that would not fit is skipped, saying so, instead of overrunning).
 *
 * Several grids (one per model or method) advance together, length-major:
 * every job gets its 1x, then every job its 2x, ... so that when time runs
 * out the comparison stays fair: the same lengths for everyone.
 */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"

/* Extra context beyond the sample: the answer's tokens plus the margin. */
#define CTX_SLACK 24
/* Cost of a length relative to the previous one: (ratio)^GROWTH (attention
 * makes it more than linear), with a safety factor. */
#define GROWTH 1.3
#define SAFETY 1.15

void rgrid_init(rgrid *g, const int64_t *lens, int n_len, int n_depth, int32_t trials) {
    memset(g, 0, sizeof *g);
    g->n_len = n_len < 0 ? 0 : n_len > RG_MAX_LEN ? RG_MAX_LEN : n_len;
    g->n_depth = n_depth < 1 ? 1 : n_depth > RG_MAX_DEPTH ? RG_MAX_DEPTH : n_depth;
    g->trials = trials < 1 ? 1 : trials;
    for (int l = 0; l < g->n_len; l++) g->len[l] = lens[l];
    for (int d = 0; d < g->n_depth; d++) g->depth[d] = g->n_depth == 1 ? 0.5 : (double)d / (double)(g->n_depth - 1);
    for (int l = 0; l < g->n_len; l++)
        for (int d = 0; d < g->n_depth; d++) {
            lc_eval_cell *c = &g->cells[l * g->n_depth + d];
            c->length = g->len[l];
            c->depth = g->depth[d];
            c->accuracy = c->recall = c->mean_tokens = c->mean_depth = NAN;
        }
}

double rgrid_len_accuracy(const rgrid *g, int l) {
    if (l < 0 || l >= g->n_len || !g->ran[l]) return NAN;
    double s = 0;
    for (int d = 0; d < g->n_depth; d++) s += g->cells[l * g->n_depth + d].accuracy;
    return s / g->n_depth;
}

double rgrid_accuracy(const rgrid *g) {
    double s = 0;
    int n = 0;
    for (int l = 0; l < g->n_len; l++)
        if (g->ran[l]) s += rgrid_len_accuracy(g, l), n++;
    return n ? s / n : NAN;
}

void rgrid_view(const rgrid *g, lc_eval_grid *view) {
    memset(view, 0, sizeof *view);
    view->kind = LC_TASK_PASSKEY;
    view->n_lengths = g->n_len;
    view->n_depths = g->n_depth;
    /* the pictures only read the cells */
    view->cells = (lc_eval_cell *)(uintptr_t)g->cells;
    view->accuracy = rgrid_accuracy(g);
    view->recall = view->accuracy;
    view->n_trials = (int64_t)g->trials * g->n_depth * g->n_len;
}

void rgrid_write_json(lc_json_writer *w, const rgrid *g) {
    lc_json_begin_object(w);
    lc_json_kv_int(w, "trials", g->trials);
    lc_json_key(w, "depths");
    lc_json_begin_array(w);
    for (int d = 0; d < g->n_depth; d++) lc_json_num(w, g->depth[d]);
    lc_json_end_array(w);
    lc_json_key(w, "lengths");
    lc_json_begin_array(w);
    for (int l = 0; l < g->n_len; l++) {
        lc_json_begin_object(w);
        lc_json_kv_int(w, "length", g->len[l]);
        lc_json_kv_bool(w, "ran", g->ran[l]);
        if (!g->ran[l]) {
            lc_json_kv_str(w, "why", g->why[l]);
            lc_json_end_object(w);
            continue;
        }
        lc_json_kv_num(w, "seconds", g->seconds[l]);
        lc_json_kv_num(w, "accuracy", rgrid_len_accuracy(g, l));
        lc_json_key(w, "by_depth");
        lc_json_begin_array(w);
        for (int d = 0; d < g->n_depth; d++) {
            const lc_eval_cell *c = &g->cells[l * g->n_depth + d];
            lc_json_begin_object(w);
            lc_json_kv_num(w, "depth", c->depth);
            lc_json_kv_num(w, "accuracy", c->accuracy);
            lc_json_kv_num(w, "tokens", c->mean_tokens);
            lc_json_kv_num(w, "needle_depth", c->mean_depth);
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_kv_num(w, "accuracy", rgrid_accuracy(g));
    lc_json_end_object(w);
}

/* One length of one job: a context for it, the eval model, the grid. */
static lc_status run_cell(rrun *run, const grid_job *job, rgrid *g, int l, uint64_t seed, rrun_span *span,
                          lc_error *err) {
    const rmodel *rm = job->model;
    const int64_t len = g->len[l];
    lc_context_opts o = job->opts;
    lc_rope_config rope = rm->m->cfg.rope;
    if (o.rope) rope = *o.rope;
    lc_status st = LC_OK;
    if (job->configure) st = job->configure(job->configure_user, len, &o, &rope, err);
    if (st != LC_OK) return st;
    lc_eval_run_opts ro;
    lc_eval_run_opts_init(&ro);
    ro.ctx = o;
    ro.ctx.rope = &rope;
    ro.ctx.n_ctx = len + CTX_SLACK;
    ro.ctx.n_threads = run->r->threads;
    ro.mem_share = 0.9; /* headroom: the machine is shared */
    lc_eval_grid_config gc;
    lc_eval_grid_config_init(&gc, LC_TASK_PASSKEY);
    gc.lengths[0] = len;
    gc.n_lengths = 1;
    gc.n_depths = g->n_depth;
    for (int d = 0; d < g->n_depth; d++) gc.depths[d] = g->depth[d];
    gc.trials = g->trials;
    gc.seed = seed;
    gc.progress = rrun_span_cb;
    gc.progress_user = span;
    lc_eval_grid out;
    const double t0 = lc_time_now();
    st = lc_eval_grid_run_model(rm->m, rm->tok, &ro, &gc, &out, NULL, err);
    if (st == LC_OK) {
        g->seconds[l] = lc_time_now() - t0;
        g->ran[l] = true;
        for (int d = 0; d < g->n_depth && d < out.n_depths; d++) g->cells[l * g->n_depth + d] = out.cells[d];
    }
    lc_eval_grid_free(&out);
    return st;
}

lc_status grids_run(rrun *run, grid_job *jobs, rgrid *grids, int n_jobs, uint64_t seed, double frac_lo,
                    double frac_hi, lc_error *err) {
    int max_len = 0;
    double total = 0;
    for (int j = 0; j < n_jobs; j++) {
        if (grids[j].n_len > max_len) max_len = grids[j].n_len;
        for (int l = 0; l < grids[j].n_len; l++) total += pow((double)grids[j].len[l], GROWTH);
    }
    double done = 0;
    for (int l = 0; l < max_len; l++)
        for (int j = 0; j < n_jobs; j++) {
            rgrid *g = &grids[j];
            if (l >= g->n_len) continue;
            const double w = pow((double)g->len[l], GROWTH);
            char lb[24], e1[32], e2[32];
            tok_str(g->len[l], lb, sizeof lb);
            if (!jobs[j].model || !jobs[j].model->m) {
                snprintf(g->why[l], sizeof g->why[l], "no model");
                done += w;
                continue;
            }
            /* estimate from this job's previous length; the first always runs while time is left */
            double est = 0;
            if (l > 0) {
                if (!g->ran[l - 1]) {
                    snprintf(g->why[l], sizeof g->why[l], "not run: the previous length was not run");
                    done += w;
                    continue;
                }
                est = g->seconds[l - 1] * pow((double)g->len[l] / (double)g->len[l - 1], GROWTH) * SAFETY;
            }
            const double left = rrun_left(run);
            if (left <= 0) {
                snprintf(g->why[l], sizeof g->why[l], "not run: the section's time budget was spent");
                done += w;
                continue;
            }
            if (est > left) {
                snprintf(g->why[l], sizeof g->why[l], "not run: estimated %s, %s left in the section's time budget",
                         lc_report_fmt_seconds(est, e1, sizeof e1), lc_report_fmt_seconds(left, e2, sizeof e2));
                done += w;
                continue;
            }
            char what[96];
            snprintf(what, sizeof what, "%s at %s", jobs[j].label ? jobs[j].label : "passkey", lb);
            rrun_span span = {run, frac_lo + (frac_hi - frac_lo) * done / total,
                              frac_lo + (frac_hi - frac_lo) * (done + w) / total, what};
            if (!rrun_progress(run, span.lo, what)) return lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
            lc_error cell_err;
            lc_error_clear(&cell_err);
            lc_status st = run_cell(run, &jobs[j], g, l, seed, &span, &cell_err);
            done += w;
            if (st == LC_ERR_NOMEM || st == LC_ERR_CANCELLED || run->cancelled) {
                if (err) *err = cell_err;
                return st != LC_OK ? st : lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
            }
            if (st != LC_OK) snprintf(g->why[l], sizeof g->why[l], "refused: %.150s", cell_err.msg);
        }
    return LC_OK;
}
