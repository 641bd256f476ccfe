/*
 * Section 3: length extrapolation. The default model (trained at ctx_train
 * tokens) answers passkey questions at 1x, 2x, 4x, 8x and 16x its training
 * length with each RoPE scaling applied training-free, and the model
 * fine-tuned with YaRN (x8) answers the same samples, as the YaRN paper's
 * passkey table does. Every method sees the same samples (same seed): the
 * same haystack and needle at each length and depth.
 *
 * Scaling factor per length L: s = max(1, L / ctx_train), the least that
 * covers the length (so 1x is the unscaled model for every method); dynamic
 * NTK is given s = 1 and follows the length by itself (s' = L_cur / ctx_train
 * as the sequence grows). The YaRN model uses the scaling stored in its file.
 */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"

static const char *const ex_names[EX_COUNT] = {"none", "linear", "ntk", "dynamic-ntk", "yarn", "yarn8 model"};
static const lc_rope_scaling ex_scaling[EX_COUNT] = {LC_ROPE_SCALING_NONE, LC_ROPE_SCALING_LINEAR,
                                                     LC_ROPE_SCALING_NTK, LC_ROPE_SCALING_DYNAMIC_NTK,
                                                     LC_ROPE_SCALING_YARN, LC_ROPE_SCALING_NONE};

typedef struct {
    int k;
    int64_t ctx_train;
} ex_hook;

/* Per length: the method's scaling with s = L / ctx_train (dynamic NTK: 1). */
static lc_status configure(void *user, int64_t length, lc_context_opts *o, lc_rope_config *rope, lc_error *err) {
    (void)o;
    (void)err;
    const ex_hook *h = user;
    if (h->k == EX_YARN_MODEL) return LC_OK; /* the model's own RoPE */
    const double s = (double)length / (double)h->ctx_train;
    rope->scaling = ex_scaling[h->k];
    rope->factor = h->k == EX_DYNAMIC ? 1.0f : (float)(s > 1.0 ? s : 1.0);
    rope->orig_ctx = h->ctx_train;
    if (h->k == EX_NONE) rope->factor = 1.0f;
    return LC_OK;
}

lc_status sec_extrap_run(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    ex_result *x = &r->ex;
    memset(x, 0, sizeof *x);
    for (int k = 0; k < EX_COUNT; k++) snprintf(x->row[k].name, sizeof x->row[k].name, "%s", ex_names[k]);
    if (!r->def.m) {
        r->sec[LC_REPORT_EXTRAPOLATION].state = LC_REPORT_SKIPPED;
        sec_note(r, LC_REPORT_EXTRAPOLATION, "skipped: %s", r->def.missing);
        for (int k = 0; k < EX_COUNT; k++) {
            snprintf(x->row[k].why, sizeof x->row[k].why, "%s", k == EX_YARN_MODEL && !r->yarn.m ? r->yarn.missing : r->def.missing);
            rgrid_init(&x->row[k].grid, NULL, 0, 1, 1);
        }
        return LC_OK;
    }
    x->ctx_train = r->def.cfg.ctx_train;
    static const int mult_full[] = {1, 2, 4, 8, 16}, mult_quick[] = {1, 2, 4};
    const int *mult = r->quick && !r->tiny ? mult_quick : mult_full;
    const int n_len = r->quick && !r->tiny ? 3 : 5;
    int64_t lens[RG_MAX_LEN];
    for (int l = 0; l < n_len; l++) lens[l] = x->ctx_train * mult[l];
    const int n_depth = r->tiny ? 2 : r->quick ? 3 : 5;
    const int32_t trials = r->tiny || r->quick ? 1 : 2;

    grid_job jobs[EX_COUNT];
    rgrid grids[EX_COUNT];
    ex_hook hooks[EX_COUNT];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < EX_COUNT; k++) {
        ex_row *row = &x->row[k];
        rgrid_init(&grids[k], lens, n_len, n_depth, trials);
        const rmodel *rm = k == EX_YARN_MODEL ? &r->yarn : &r->def;
        hooks[k] = (ex_hook){k, x->ctx_train};
        for (int l = 0; l < n_len; l++) {
            const double s = (double)lens[l] / (double)x->ctx_train;
            row->factor[l] = k == EX_NONE ? 1.0 : k == EX_DYNAMIC ? 1.0 : s;
        }
        if (!rm->m) {
            snprintf(row->why, sizeof row->why, "%s", rm->missing);
            sec_note(r, LC_REPORT_EXTRAPOLATION, "%s: %s", ex_names[k], rm->missing);
            continue;
        }
        if (k == EX_YARN_MODEL) {
            char rd[160];
            lc_rope_describe(&rm->cfg.rope, rd, sizeof rd);
            snprintf(row->desc, sizeof row->desc, "fine-tuned model, its own RoPE: %.120s", rd);
            for (int l = 0; l < n_len; l++) row->factor[l] = rm->cfg.rope.factor;
        } else if (k == EX_NONE) {
            snprintf(row->desc, sizeof row->desc, "default model, no scaling");
        } else if (k == EX_DYNAMIC) {
            snprintf(row->desc, sizeof row->desc, "default model, dynamic NTK (s' = current length / %lld)",
                     (long long)x->ctx_train);
        } else {
            snprintf(row->desc, sizeof row->desc, "default model, %s with s = length / %lld", ex_names[k],
                     (long long)x->ctx_train);
        }
        jobs[k].model = rm;
        lc_context_opts_init(&jobs[k].opts);
        jobs[k].configure = configure;
        jobs[k].configure_user = &hooks[k];
        jobs[k].label = ex_names[k];
    }
    lc_status st = grids_run(run, jobs, grids, EX_COUNT, r->seed + 100, 0.0, 1.0, err);
    for (int k = 0; k < EX_COUNT; k++) x->row[k].grid = grids[k];
    if (st != LC_OK) return st;
    int skipped = 0;
    for (int k = 0; k < EX_COUNT; k++)
        for (int l = 0; l < x->row[k].grid.n_len; l++)
            if (jobs[k].model && !x->row[k].grid.ran[l]) {
                if (skipped++ < 6)
                    sec_note(r, LC_REPORT_EXTRAPOLATION, "%s at %lld tokens: %s", ex_names[k], (long long)lens[l],
                             x->row[k].grid.why[l]);
            }
    if (skipped > 6) sec_note(r, LC_REPORT_EXTRAPOLATION, "... and %d more cells not run", skipped - 6);
    return LC_OK;
}

void sec_extrap_json(lc_json_writer *w, const lc_report *r) {
    const ex_result *x = &r->ex;
    lc_json_kv_int(w, "ctx_train", x->ctx_train);
    lc_json_key(w, "methods");
    lc_json_begin_array(w);
    for (int k = 0; k < EX_COUNT; k++) {
        const ex_row *row = &x->row[k];
        lc_json_begin_object(w);
        lc_json_kv_str(w, "name", row->name);
        lc_json_kv_str(w, "config", row->desc);
        if (row->why[0]) lc_json_kv_str(w, "why", row->why);
        lc_json_key(w, "factors");
        lc_json_begin_array(w);
        for (int l = 0; l < row->grid.n_len; l++) lc_json_num(w, row->factor[l]);
        lc_json_end_array(w);
        lc_json_key(w, "passkey");
        rgrid_write_json(w, &row->grid);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
}

typedef struct {
    const rgrid *g;
    const char *title;
} heat_ctx;

static lc_status heat_svg(FILE *f, const void *user, lc_error *err) {
    const heat_ctx *h = user;
    lc_eval_grid view;
    rgrid_view(h->g, &view);
    return lc_eval_grid_svg(f, &view, h->title, err);
}

void sec_extrap_doc(rdoc *d, const lc_report *r) {
    const ex_result *x = &r->ex;
    char a[32], lb[24];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_EXTRAPOLATION));
    if (r->def.missing[0]) {
        rdoc_note(d, "Skipped: %s.", r->def.missing);
        return;
    }
    rdoc_para(d,
              "The article mentions position interpolation and NTK scaling in one code sample. Here the default "
              "model, trained at %lld tokens, answers passkey questions at 1x to 16x that length under each RoPE "
              "scaling, applied without training (s = length / %lld; dynamic NTK adapts s to the current length "
              "by itself), and the model fine-tuned with YaRN answers the same samples. Cells: accuracy over "
              "needle depths and trials (the same samples for every method).",
              (long long)x->ctx_train, (long long)x->ctx_train);
    const rgrid *g0 = &x->row[EX_NONE].grid;
    const int n_len = g0->n_len;
    if (n_len > 0) {
        rtable *t = rdoc_table(d, 2 + n_len, "llrrrrrrrr", "Table 3. Passkey accuracy by length (mean over depths)");
        const char *h[2 + RG_MAX_LEN];
        char hl[RG_MAX_LEN][40];
        h[0] = "method";
        h[1] = "configuration";
        for (int l = 0; l < n_len; l++) {
            snprintf(hl[l], sizeof hl[l], "%s (%lldx)", tok_str(g0->len[l], lb, sizeof lb),
                     (long long)(g0->len[l] / (x->ctx_train > 0 ? x->ctx_train : 1)));
            h[2 + l] = hl[l];
        }
        rtable_header(t, h);
        for (int k = 0; k < EX_COUNT; k++) {
            const ex_row *row = &x->row[k];
            rtable_cell(t, "%s", row->name);
            rtable_cell(t, "%s", row->why[0] ? row->why : row->desc);
            for (int l = 0; l < n_len; l++) {
                if (l < row->grid.n_len && row->grid.ran[l])
                    rtable_cell(t, "%s", lc_report_fmt_pct(rgrid_len_accuracy(&row->grid, l), a, sizeof a));
                else rtable_cell(t, "not run");
            }
        }
        rdoc_para(d, "%d needle depths (0 to 100%%) x %d trial(s) per cell; \"not run\": see the notes.",
                  g0->n_depth, g0->trials);
    }
    for (int k = 0; k < EX_COUNT; k++) {
        const ex_row *row = &x->row[k];
        bool any = false;
        for (int l = 0; l < row->grid.n_len; l++) any |= row->grid.ran[l];
        if (!any) continue;
        char file[64], title[128], cap[256];
        snprintf(file, sizeof file, "fig-extrap-%s.svg", k == EX_YARN_MODEL ? "yarn8-model" : row->name);
        snprintf(title, sizeof title, "passkey: %s", row->desc);
        snprintf(cap, sizeof cap, "Passkey accuracy by length (x) and needle depth (y): %s.", row->desc);
        heat_ctx hc = {&row->grid, title};
        doc_svg_figure(d, file, heat_svg, &hc, cap);
    }
    rdoc_heading(d, 3, NULL, "Reading the table");
    for (int k = 0; k < EX_COUNT; k++) {
        const ex_row *row = &x->row[k];
        int best = -1, ran = 0;
        for (int l = 0; l < row->grid.n_len; l++) {
            if (!row->grid.ran[l]) continue;
            ran++;
            if (rgrid_len_accuracy(&row->grid, l) >= 0.5) best = l;
        }
        if (!ran) continue;
        if (best < 0)
            rdoc_item(d, "**%s**: below 50%% at every length run (%s at %s).", row->name,
                      lc_report_fmt_pct(rgrid_len_accuracy(&row->grid, 0), a, sizeof a), tok_str(row->grid.len[0], lb, sizeof lb));
        else
            rdoc_item(d, "**%s**: longest length with at least 50%%: %s tokens (%s there).", row->name,
                      tok_str(row->grid.len[best], lb, sizeof lb), lc_report_fmt_pct(rgrid_len_accuracy(&row->grid, best), a, sizeof a));
    }
    rdoc_para(d, "Why they differ: without scaling, positions past the training length give rotation angles the "
                 "model never saw. Linear interpolation squeezes every position into the trained range, which "
                 "also blurs neighbouring positions; NTK and YaRN stretch mostly the slow (low-frequency) "
                 "dimensions and keep the fast ones that encode local order; YaRN also tempers the attention "
                 "logits. Fine-tuning with the scaling in place (the yarn8 model) teaches the model the new angles.");
}
