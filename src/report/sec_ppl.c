/*
 * Section 4: perplexity against context length, and attention retention.
 *
 * Perplexity: the default model without scaling, the default model with YaRN
 * (s = max(1, W / ctx_train), training-free) and the YaRN-fine-tuned model
 * score the same generated filler text (lc_filler_text, a seed the training
 * stream does not use) in disjoint windows of W tokens (lc_eval_ppl_run,
 * stride W), for W from a quarter of the training length to several times
 * it; the mean loss by position inside the window shows whether the tokens
 * far back help or hurt.
 *
 * Retention: lc_eval_retention_run on the default model (FLASH): the
 * attention mass each layer gives to keys at each distance (log2 buckets)
 * from the last prompt token, where the answer is retrieved, and the mass on
 * the needle's tokens, over passkey samples at the training length. The
 * article's analyser is discussed beside it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

static const char *const pp_names[PP_COUNT] = {"default, no scaling", "default, YaRN (training-free)",
                                               "yarn8 model (fine-tuned)"};

/* Filler text tokenized with tok: at least n tokens (fewer if the text stops
 * growing). *out malloc'd. */
static lc_status filler_tokens(const lc_tokenizer *tok, uint64_t seed, int64_t n, int32_t **out, int64_t *n_out,
                               lc_error *err) {
    *out = NULL;
    *n_out = 0;
    int64_t sentences = n / 6 + 16;
    for (int attempt = 0; attempt < 4; attempt++, sentences *= 2) {
        const size_t len = lc_filler_text(seed, sentences, NULL, 0);
        char *text = malloc(len + 1);
        if (!text) return lc_fail(err, LC_ERR_NOMEM, "ppl: out of memory");
        lc_filler_text(seed, sentences, text, len + 1);
        int64_t need = 0;
        lc_status st = lc_tokenizer_encode(tok, text, len, true, NULL, 0, &need, err);
        if (st != LC_OK && st != LC_ERR_TOO_LARGE) {
            free(text);
            return st;
        }
        int32_t *ids = malloc((size_t)(need > 0 ? need : 1) * sizeof(int32_t));
        if (!ids) {
            free(text);
            return lc_fail(err, LC_ERR_NOMEM, "ppl: out of memory");
        }
        int64_t got = 0;
        st = lc_tokenizer_encode(tok, text, len, true, ids, need, &got, err);
        free(text);
        if (st != LC_OK) {
            free(ids);
            return st;
        }
        if (got >= n || attempt == 3) {
            *out = ids;
            *n_out = got < n ? got : n;
            return LC_OK;
        }
        free(ids);
    }
    return lc_fail(err, LC_ERR_INTERNAL, "ppl: filler text did not grow");
}

static lc_status ppl_cell(rrun *run, const rmodel *rm, int k, int64_t W, const int32_t *ids, int64_t n,
                          lc_eval_ppl_result *res, rrun_span *span, lc_error *err) {
    lc_rope_config rope = rm->cfg.rope;
    if (k == PP_YARN) {
        const double s = (double)W / (double)rm->cfg.ctx_train;
        rope.scaling = LC_ROPE_SCALING_YARN;
        rope.factor = (float)(s > 1.0 ? s : 1.0);
        rope.orig_ctx = rm->cfg.ctx_train;
    }
    lc_eval_run_opts ro;
    lc_eval_run_opts_init(&ro);
    ro.ctx.rope = &rope;
    ro.ctx.n_ctx = W;
    ro.ctx.n_threads = run->r->threads;
    ro.progress = rrun_span_cb;
    ro.progress_user = span;
    /* windows overlap by one token: every token scored once */
    return lc_eval_ppl_run_model(rm->m, rm->tok, &ro, ids, n, &W, 1, W - 1, res, NULL, err);
}

static lc_status ppl_all(rrun *run, double deadline, lc_error *err) {
    lc_report *r = run->r;
    ppl_result *p = &r->ppl;
    const int64_t ctx = r->def.cfg.ctx_train;
    static const double mf[] = {0.25, 0.5, 1, 2, 4, 8}, mq[] = {0.25, 1, 4}, mt[] = {0.5, 1, 4};
    const double *m = r->tiny ? mt : r->quick ? mq : mf;
    const int nw = r->tiny ? 3 : r->quick ? 3 : 6;
    p->n_w = 0;
    for (int i = 0; i < nw; i++) {
        const int64_t W = (int64_t)((double)ctx * m[i]);
        if (W >= 8) p->window[p->n_w++] = W;
    }
    const int64_t maxW = p->window[p->n_w - 1];
    p->n_tokens = LC_MAX(2 * maxW, (int64_t)(r->tiny ? 512 : 8192));
    p->text_seed = 0x7E57ull + r->seed;
    const rmodel *models[PP_COUNT] = {&r->def, &r->def, &r->yarn};
    int32_t *ids[PP_COUNT] = {NULL, NULL, NULL};
    int64_t n_ids[PP_COUNT] = {0, 0, 0};
    lc_status st = LC_OK;
    for (int k = 0; k < PP_COUNT; k++) {
        ppl_row *row = &p->row[k];
        snprintf(row->name, sizeof row->name, "%s", pp_names[k]);
        for (int w = 0; w < p->n_w; w++) {
            row->res[w].window = p->window[w];
            row->res[w].ppl = NAN;
        }
        if (!models[k]->m) {
            snprintf(row->why, sizeof row->why, "%s", models[k]->missing);
            sec_note(r, LC_REPORT_PPL_RETENTION, "perplexity, %s: %s", pp_names[k], models[k]->missing);
            continue;
        }
        if (k == PP_YARN) { /* the same model and tokenizer as PP_NONE */
            ids[k] = ids[PP_NONE];
            n_ids[k] = n_ids[PP_NONE];
            continue;
        }
        st = filler_tokens(models[k]->tok, p->text_seed, p->n_tokens, &ids[k], &n_ids[k], err);
        if (st != LC_OK) goto out;
    }
    /* window-major, so every method gets the short windows; time grows slowly with W
     * (the tokens are the same, attention per token grows) */
    double last[PP_COUNT] = {0};
    for (int w = 0; w < p->n_w && st == LC_OK; w++)
        for (int k = 0; k < PP_COUNT; k++) {
            ppl_row *row = &p->row[k];
            if (!models[k]->m || !ids[k]) continue;
            char lb[24], what[64], a[32], b[32];
            snprintf(what, sizeof what, "ppl: %s, window %s", k == PP_NONE ? "none" : k == PP_YARN ? "yarn" : "yarn8",
                     tok_str(p->window[w], lb, sizeof lb));
            const double est = w == 0 ? 0 : last[k] * pow((double)p->window[w] / (double)p->window[w - 1], 0.6) * 1.2;
            const double left = deadline - lc_time_now();
            if (w > 0 && !row->ran[w - 1]) continue;
            if (left <= 0) {
                sec_note(r, LC_REPORT_PPL_RETENTION, "perplexity, %s, window %s: not run (time budget spent)",
                         pp_names[k], lb);
                continue;
            }
            if (est > left) {
                sec_note(r, LC_REPORT_PPL_RETENTION, "perplexity, %s, window %s: not run (estimated %s, %s left)",
                         pp_names[k], lb, lc_report_fmt_seconds(est, a, sizeof a), lc_report_fmt_seconds(left, b, sizeof b));
                continue;
            }
            const double f0 = 0.6 * (double)(w * PP_COUNT + k) / (double)(p->n_w * PP_COUNT);
            rrun_span span = {run, f0, f0 + 0.6 / (double)(p->n_w * PP_COUNT), what};
            const double t0 = lc_time_now();
            lc_error e;
            lc_status cs = ppl_cell(run, models[k], k, p->window[w], ids[k], n_ids[k], &row->res[w], &span, &e);
            last[k] = lc_time_now() - t0;
            if (cs == LC_ERR_NOMEM || cs == LC_ERR_CANCELLED || run->cancelled) {
                st = cs != LC_OK ? lc_fail(err, cs, "%s", e.msg) : lc_fail(err, LC_ERR_CANCELLED, "report: stopped");
                break;
            }
            if (cs != LC_OK) {
                row->res[w].window = p->window[w];
                row->res[w].ppl = NAN;
                sec_note(r, LC_REPORT_PPL_RETENTION, "perplexity, %s, window %s: refused: %s", pp_names[k], lb, e.msg);
                continue;
            }
            row->ran[w] = true;
        }
out:
    free(ids[PP_NONE]);
    free(ids[PP_YARN_MODEL]);
    return st;
}

static lc_status retention(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    ppl_result *p = &r->ppl;
    const rmodel *rm = &r->def;
    const int64_t ctx = rm->cfg.ctx_train;
    lc_eval_retention_config *c = &p->ret_cfg;
    lc_eval_retention_config_init(c);
    lc_eval_grid_config_init(&c->grid, LC_TASK_PASSKEY);
    c->grid.lengths[0] = ctx;
    c->grid.n_lengths = 1;
    lc_status st = lc_eval_grid_even_depths(&c->grid, r->tiny ? 2 : r->quick ? 3 : 5, err);
    if (st != LC_OK) return st;
    c->grid.trials = r->tiny || r->quick ? 1 : 2;
    c->grid.seed = r->seed + 200;
    /* estimate: the same samples' passkey cell of section 3 (1x, no scaling), plus the observer's work */
    const rgrid *g = &r->ex.row[EX_NONE].grid;
    double est = 0;
    if (g->n_len > 0 && g->ran[0])
        est = g->seconds[0] * 2.0 * (double)(c->grid.trials * c->grid.n_depths) / (double)(g->trials * g->n_depth);
    char a[32], b[32];
    const double left = rrun_left(run);
    if (left <= 0 || est > left) {
        if (left <= 0) snprintf(p->ret_why, sizeof p->ret_why, "not run: the section's time budget was spent");
        else snprintf(p->ret_why, sizeof p->ret_why, "not run: estimated %s, %s left",
                      lc_report_fmt_seconds(est, a, sizeof a), lc_report_fmt_seconds(left, b, sizeof b));
        sec_note(r, LC_REPORT_PPL_RETENTION, "retention %s", p->ret_why);
        return LC_OK;
    }
    lc_eval_run_opts o;
    lc_eval_run_opts_init(&o);
    o.ctx.attn = "flash";
    o.ctx.n_ctx = ctx + 24;
    o.ctx.n_threads = r->threads;
    lc_error e;
    rrun_span span = {run, 0.6, 1.0, "retention"};
    c->grid.progress = rrun_span_cb;
    c->grid.progress_user = &span;
    st = lc_eval_retention_run_model(rm->m, rm->tok, &o, c, &p->ret, NULL, &e);
    c->grid.progress = NULL;
    c->grid.progress_user = NULL;
    if (st == LC_ERR_NOMEM || st == LC_ERR_CANCELLED) return lc_fail(err, st, "%s", e.msg);
    if (st != LC_OK) {
        snprintf(p->ret_why, sizeof p->ret_why, "refused: %.200s", e.msg);
        sec_note(r, LC_REPORT_PPL_RETENTION, "retention %s", p->ret_why);
        return LC_OK;
    }
    p->ret_ran = true;
    return LC_OK;
}

lc_status sec_ppl_run(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    ppl_result *p = &r->ppl;
    memset(p, 0, sizeof *p);
    if (!r->def.m) {
        r->sec[LC_REPORT_PPL_RETENTION].state = LC_REPORT_SKIPPED;
        sec_note(r, LC_REPORT_PPL_RETENTION, "skipped: %s", r->def.missing);
        snprintf(p->ret_why, sizeof p->ret_why, "%s", r->def.missing);
        for (int k = 0; k < PP_COUNT; k++) {
            snprintf(p->row[k].name, sizeof p->row[k].name, "%s", pp_names[k]);
            snprintf(p->row[k].why, sizeof p->row[k].why, "%s", r->def.missing);
        }
        return LC_OK;
    }
    const double now = lc_time_now();
    lc_status st = ppl_all(run, now + (run->sec_deadline - now) * 0.6, err);
    if (st == LC_OK) st = retention(run, err);
    return st;
}

void sec_ppl_free(lc_report *r) {
    if (r->ppl.ret_ran) lc_eval_retention_free(&r->ppl.ret);
    r->ppl.ret_ran = false;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

void sec_ppl_json(lc_json_writer *w, const lc_report *r) {
    const ppl_result *p = &r->ppl;
    lc_json_key(w, "perplexity");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "text", "generated filler (lc_filler_text)");
    lc_json_kv_int(w, "text_seed", (int64_t)p->text_seed);
    lc_json_kv_int(w, "tokens", p->n_tokens);
    lc_json_key(w, "methods");
    lc_json_begin_array(w);
    for (int k = 0; k < PP_COUNT; k++) {
        const ppl_row *row = &p->row[k];
        lc_json_begin_object(w);
        lc_json_kv_str(w, "name", row->name);
        if (row->why[0]) lc_json_kv_str(w, "why", row->why);
        lc_json_key(w, "windows");
        lc_json_begin_array(w);
        for (int i = 0; i < p->n_w; i++) {
            lc_json_begin_object(w);
            lc_json_kv_bool(w, "ran", row->ran[i]);
            if (row->ran[i]) lc_eval_ppl_write_json(w, &row->res[i], true);
            else lc_json_kv_int(w, "length", p->window[i]);
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_end_object(w);
    lc_json_key(w, "retention");
    lc_json_begin_object(w);
    lc_json_kv_bool(w, "ran", p->ret_ran);
    if (!p->ret_ran) {
        lc_json_kv_str(w, "why", p->ret_why);
    } else {
        lc_json_kv_int(w, "length", p->ret_cfg.grid.lengths[0]);
        lc_json_kv_int(w, "depths", p->ret_cfg.grid.n_depths);
        lc_json_kv_int(w, "trials", p->ret_cfg.grid.trials);
        lc_eval_retention_write_json(w, &p->ret);
        lc_json_kv_num(w, "passkey_accuracy", p->ret.grid.accuracy);
    }
    lc_json_end_object(w);
}

/* ---- Document ---------------------------------------------------------------------------------- */

typedef struct {
    const ppl_result *p;
} fig_ppl;

static lc_status ppl_svg(FILE *f, const void *user, lc_error *err) {
    const ppl_result *p = ((const fig_ppl *)user)->p;
    lc_eval_ppl_result res[PP_COUNT * PPL_MAX_W];
    const char *names[PP_COUNT];
    int nm = 0;
    for (int k = 0; k < PP_COUNT; k++) {
        bool any = false;
        for (int w = 0; w < p->n_w; w++) any |= p->row[k].ran[w];
        if (!any) continue;
        for (int w = 0; w < p->n_w; w++) {
            res[nm * p->n_w + w] = p->row[k].res[w];
            res[nm * p->n_w + w].window = p->window[w];
            if (!p->row[k].ran[w]) res[nm * p->n_w + w].ppl = NAN;
        }
        names[nm++] = p->row[k].name;
    }
    if (nm == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "no perplexity was measured");
    return lc_eval_ppl_svg(f, res, nm, p->n_w, names, "Perplexity against window length (filler text)", err);
}

static lc_status retention_svg(FILE *f, const void *user, lc_error *err) {
    const ppl_result *p = ((const fig_ppl *)user)->p;
    return lc_eval_retention_svg(f, &p->ret, "Attention mass against key distance, per layer (default model)", err);
}

void sec_ppl_doc(rdoc *d, const lc_report *r) {
    const ppl_result *p = &r->ppl;
    char a[32], lb[24];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_PPL_RETENTION));
    if (r->def.missing[0]) {
        rdoc_note(d, "Skipped: %s.", r->def.missing);
        return;
    }
    rdoc_para(d,
              "Perplexity of the same generated filler text (%s tokens; seed %llu, which training does not use) in "
              "disjoint windows of W tokens, each evaluated from an empty context: the mean over every position of "
              "the window, so a longer window adds predictions made from more context. The models were trained "
              "at %lld tokens; windows past that test extrapolation.",
              tok_str(p->n_tokens, lb, sizeof lb), (unsigned long long)p->text_seed, (long long)r->def.cfg.ctx_train);
    if (p->n_w > 0) {
        rtable *t = rdoc_table(d, 1 + p->n_w, NULL, "Table 4a. Perplexity by window length");
        const char *h[1 + PPL_MAX_W];
        char hw[PPL_MAX_W][24];
        h[0] = "model / RoPE";
        for (int w = 0; w < p->n_w; w++) {
            tok_str(p->window[w], hw[w], sizeof hw[w]);
            h[1 + w] = hw[w];
        }
        rtable_header(t, h);
        for (int k = 0; k < PP_COUNT; k++) {
            rtable_cell(t, "%s", p->row[k].name);
            for (int w = 0; w < p->n_w; w++) {
                if (p->row[k].ran[w]) rtable_cell(t, "%.3f", p->row[k].res[w].ppl);
                else rtable_cell(t, "not run");
            }
        }
        fig_ppl fp = {p};
        doc_svg_figure(d, "fig-ppl.svg", ppl_svg, &fp,
                       "Perplexity against window length. A rise past the training length is the model meeting "
                       "positions it never saw.");
        /* loss by position in the longest window each method ran */
        rtable *tb = rdoc_table(d, 1 + PP_COUNT, NULL,
                                "Table 4b. Mean loss by position in the window (longest window run per method)");
        const char *hb[1 + PP_COUNT];
        char hn[PP_COUNT][96];
        int wl[PP_COUNT];
        hb[0] = "position in window";
        int nb = 0;
        for (int k = 0; k < PP_COUNT; k++) {
            wl[k] = -1;
            for (int w = 0; w < p->n_w; w++)
                if (p->row[k].ran[w]) wl[k] = w;
            if (wl[k] >= 0) {
                snprintf(hn[k], sizeof hn[k], "%s (W %s)", p->row[k].name, tok_str(p->window[wl[k]], lb, sizeof lb));
                if (p->row[k].res[wl[k]].n_buckets > nb) nb = p->row[k].res[wl[k]].n_buckets;
            } else {
                snprintf(hn[k], sizeof hn[k], "%s", p->row[k].name);
            }
            hb[1 + k] = hn[k];
        }
        rtable_header(tb, hb);
        for (int b = 1; b < nb; b++) {
            char bl[40];
            rtable_cell(tb, "%s", lc_eval_bucket_label(b, bl, sizeof bl));
            for (int k = 0; k < PP_COUNT; k++) {
                const lc_eval_ppl_result *x = wl[k] >= 0 ? &p->row[k].res[wl[k]] : NULL;
                const double loss = x ? lc_eval_ppl_bucket_loss(x, b) : NAN;
                if (!isnan(loss)) rtable_cell(tb, "%.3f", loss);
                else rtable_cell(tb, "%s", x ? "-" : "not run"); /* "-": no position of the window there */
            }
        }
    }

    rdoc_heading(d, 3, NULL, "Attention retention (default model)");
    rdoc_para(d, "The article's `InformationRetentionAnalyzer` sums, for a query position, the attention it gives "
                 "to keys at or after that position (`attention_from_pos[pos:]`). Under a causal mask that is "
                 "the attention a token gives to itself, not retention of distant information. What matters "
                 "for retrieval is the reverse direction: from the question (the last prompt token), how much "
                 "attention reaches each distance back, and how much lands on the needle.");
    if (!p->ret_ran) {
        rdoc_note(d, "Retention not measured: %s.", p->ret_why);
        return;
    }
    const lc_eval_retention *rt = &p->ret;
    rdoc_para(d, "Measured with `lc_eval_retention_run` on %d passkey samples of %s tokens (%d needle depths x %d "
                 "trial(s)), FLASH attention, probing the last prompt token; passkey accuracy of these samples: %s.",
              p->ret_cfg.grid.n_depths * p->ret_cfg.grid.trials, tok_str(p->ret_cfg.grid.lengths[0], lb, sizeof lb),
              p->ret_cfg.grid.n_depths, p->ret_cfg.grid.trials, lc_report_fmt_pct(rt->grid.accuracy, a, sizeof a));
    const int nb = rt->n_buckets;
    if (nb > 0 && nb + 2 <= 32) {
        rtable *t = rdoc_table(d, nb + 2, NULL, "Table 4c. Attention mass by key distance (mean over heads), and on the needle");
        const char *h[34];
        char hb[32][32];
        h[0] = "layer";
        for (int b = 0; b < nb; b++) h[1 + b] = lc_eval_bucket_label(b, hb[b], sizeof hb[b]);
        h[1 + nb] = "needle";
        rtable_header(t, h);
        for (int32_t l = 0; l < rt->n_layers; l++) {
            rtable_cell(t, "%d", l);
            for (int b = 0; b < nb; b++) rtable_cell(t, "%.3f", lc_eval_retention_layer_mass(rt, l, b));
            rtable_cell(t, "**%.3f**", lc_eval_retention_layer_needle(rt, l));
        }
    }
    fig_ppl fp = {p};
    doc_svg_figure(d, "fig-retention.svg", retention_svg, &fp,
                   "Attention mass from the question token against key distance (log2 buckets), one line per "
                   "layer: mass far back is what retrieval uses.");
}
