/*
 * Results as JSON fields (the contract in docs/eval.md) and as pictures:
 * the needle heat map (src/plot/svg_heatmap.c), accuracy against depth,
 * perplexity against window length and attention mass against distance (line
 * plots, src/plot/svg_lines.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/plot.h"

/* ---- JSON -------------------------------------------------------------------- */

void lc_eval_grid_write_json(lc_json_writer *w, const lc_eval_grid *g, bool timings) {
    lc_json_key(w, "cells");
    lc_json_begin_array(w);
    for (int l = 0; l < g->n_lengths; l++)
        for (int d = 0; d < g->n_depths; d++) {
            const lc_eval_cell *c = &g->cells[l * g->n_depths + d];
            lc_json_begin_object(w);
            lc_json_kv_int(w, "length", c->length);
            if (!isnan(c->depth)) lc_json_kv_num(w, "depth", c->depth);
            lc_json_kv_int(w, "trials", c->trials);
            lc_json_kv_num(w, "accuracy", c->accuracy);
            lc_json_kv_num(w, "recall", c->recall);
            lc_json_kv_num(w, "tokens", c->mean_tokens);
            lc_json_kv_num(w, "needle_depth", c->mean_depth);
            if (timings) lc_json_kv_num(w, "seconds", c->seconds);
            lc_json_end_object(w);
        }
    lc_json_end_array(w);
    lc_json_kv_int(w, "trials", g->n_trials);
    lc_json_kv_num(w, "accuracy", g->accuracy);
    lc_json_kv_num(w, "recall", g->recall);
    if (timings) lc_json_kv_num(w, "seconds", g->seconds);
}

void lc_eval_ppl_write_json(lc_json_writer *w, const lc_eval_ppl_result *r, bool timings) {
    lc_json_kv_int(w, "length", r->window);
    lc_json_kv_int(w, "stride", r->stride);
    lc_json_kv_int(w, "windows", r->n_windows);
    lc_json_kv_int(w, "tokens", r->n_scored);
    lc_json_kv_int(w, "evaluated", r->n_evaluated);
    lc_json_kv_num(w, "loss", r->n_scored > 0 ? r->nll / (double)r->n_scored : NAN);
    lc_json_kv_num(w, "ppl", r->ppl);
    lc_json_key(w, "buckets");
    lc_json_begin_array(w);
    for (int b = 1; b < r->n_buckets; b++) {
        if (r->bucket_count[b] == 0) continue;
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        lc_json_begin_object(w);
        lc_json_kv_int(w, "lo", lo);
        lc_json_kv_int(w, "hi", hi);
        lc_json_kv_int(w, "tokens", r->bucket_count[b]);
        lc_json_kv_num(w, "loss", r->bucket_nll[b] / (double)r->bucket_count[b]);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    if (timings) lc_json_kv_num(w, "seconds", r->seconds);
}

static const double *mass_at(const lc_eval_retention *r, int32_t l, int32_t h) {
    return r->mass + ((size_t)l * (size_t)r->n_heads + (size_t)h) * LC_EVAL_MAX_BUCKETS;
}

void lc_eval_retention_write_json(lc_json_writer *w, const lc_eval_retention *r) {
    lc_json_key(w, "buckets");
    lc_json_begin_array(w);
    for (int b = 0; b < r->n_buckets; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        lc_json_begin_object(w);
        lc_json_kv_int(w, "lo", lo);
        lc_json_kv_int(w, "hi", hi);
        lc_json_kv_num(w, "keys", r->bucket_keys[b]);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_kv_int(w, "rows", r->n_rows);
    lc_json_key(w, "layers");
    lc_json_begin_array(w);
    for (int32_t l = 0; l < r->n_layers; l++) {
        lc_json_begin_object(w);
        lc_json_kv_int(w, "layer", l);
        lc_json_key(w, "mass");
        lc_json_begin_array(w);
        for (int b = 0; b < r->n_buckets; b++) {
            double s = 0.0;
            for (int32_t h = 0; h < r->n_heads; h++) s += mass_at(r, l, h)[b];
            lc_json_num(w, s / r->n_heads);
        }
        lc_json_end_array(w);
        lc_json_key(w, "heads");
        lc_json_begin_array(w);
        for (int32_t h = 0; h < r->n_heads; h++) {
            lc_json_begin_array(w);
            for (int b = 0; b < r->n_buckets; b++) lc_json_num(w, mass_at(r, l, h)[b]);
            lc_json_end_array(w);
        }
        lc_json_end_array(w);
        double nm = 0.0;
        for (int32_t h = 0; h < r->n_heads; h++) nm += r->needle_mass[(size_t)l * (size_t)r->n_heads + (size_t)h];
        lc_json_kv_num(w, "needle_mass", nm / r->n_heads);
        lc_json_key(w, "needle_mass_heads");
        lc_json_begin_array(w);
        for (int32_t h = 0; h < r->n_heads; h++) lc_json_num(w, r->needle_mass[(size_t)l * (size_t)r->n_heads + (size_t)h]);
        lc_json_end_array(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
}

/* ---- Pictures ---------------------------------------------------------------- */

/* "512", "4K", "1.5K", "1M": lengths as the CLI takes them. */
static void length_label(char *buf, size_t len, int64_t v) {
    if (v >= (1 << 20) && v % (1 << 20) == 0) snprintf(buf, len, "%lldM", (long long)(v >> 20));
    else if (v >= 1024 && v % 1024 == 0) snprintf(buf, len, "%lldK", (long long)(v >> 10));
    else if (v >= 1024 && (v * 10) % 1024 == 0) snprintf(buf, len, "%.1fK", (double)v / 1024.0);
    else snprintf(buf, len, "%lld", (long long)v);
}

typedef char label_text[24];

lc_status lc_eval_grid_svg(FILE *f, const lc_eval_grid *g, const char *title, lc_error *err) {
    if (!g || !g->cells || g->n_lengths < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "heat map: no grid");
    if (isnan(g->cells[0].depth))
        return lc_fail(err, LC_ERR_INVALID_ARG, "heat map: the grid has no depth axis (random depths)");
    const int nc = g->n_lengths, nr = g->n_depths;
    label_text *cl = calloc((size_t)nc, sizeof *cl), *rl = calloc((size_t)nr, sizeof *rl);
    const char **cp = calloc((size_t)nc, sizeof *cp), **rp = calloc((size_t)nr, sizeof *rp);
    double *v = calloc((size_t)nc * (size_t)nr, sizeof *v);
    lc_status st = LC_OK;
    if (!cl || !rl || !cp || !rp || !v) st = lc_fail(err, LC_ERR_NOMEM, "heat map: out of memory");
    if (st == LC_OK) {
        for (int c = 0; c < nc; c++) {
            length_label(cl[c], sizeof cl[c], g->cells[c * nr].length);
            cp[c] = cl[c];
        }
        for (int r = 0; r < nr; r++) {
            snprintf(rl[r], sizeof rl[r], "%.4g%%", 100.0 * g->cells[r].depth);
            rp[r] = rl[r];
            for (int c = 0; c < nc; c++) v[(size_t)r * (size_t)nc + (size_t)c] = g->cells[c * nr + r].accuracy;
        }
        lc_plot_heatmap h;
        lc_plot_heatmap_init(&h);
        h.title = title;
        h.x_label = "context length (tokens)";
        h.y_label = "needle depth (% of the haystack)";
        h.legend_label = "accuracy %";
        h.n_cols = nc;
        h.n_rows = nr;
        h.col_labels = cp;
        h.row_labels = rp;
        h.values = v;
        st = lc_plot_svg_heatmap(f, &h, err);
    }
    free(cl);
    free(rl);
    free(cp);
    free(rp);
    free(v);
    return st;
}

lc_status lc_eval_depth_svg(FILE *f, const lc_eval_grid *g, const char *title, lc_error *err) {
    if (!g || !g->cells || g->n_lengths < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "depth plot: no grid");
    if (isnan(g->cells[0].depth)) return lc_fail(err, LC_ERR_INVALID_ARG, "depth plot: the grid has no depths");
    const int nl = g->n_lengths, nd = g->n_depths, ns = nl > 1 ? nl + 1 : 1;
    double *xs = calloc((size_t)nd, sizeof *xs), *ys = calloc((size_t)nd * (size_t)ns, sizeof *ys);
    label_text *names = calloc((size_t)ns, sizeof *names);
    lc_plot_series *series = calloc((size_t)ns, sizeof *series);
    lc_status st = LC_OK;
    if (!xs || !ys || !names || !series) st = lc_fail(err, LC_ERR_NOMEM, "depth plot: out of memory");
    if (st == LC_OK) {
        for (int d = 0; d < nd; d++) xs[d] = 100.0 * g->cells[d].depth;
        for (int s = 0; s < ns; s++) {
            double *y = ys + (size_t)s * (size_t)nd;
            for (int d = 0; d < nd; d++) {
                if (s < nl) {
                    y[d] = 100.0 * g->cells[s * nd + d].accuracy;
                } else { /* mean over lengths, weighted by trials */
                    double a = 0.0, n = 0.0;
                    for (int l = 0; l < nl; l++) {
                        const lc_eval_cell *c = &g->cells[l * nd + d];
                        a += c->accuracy * c->trials, n += c->trials;
                    }
                    y[d] = n > 0 ? 100.0 * a / n : NAN;
                }
            }
            if (s < nl) {
                char len[16];
                length_label(len, sizeof len, g->cells[s * nd].length);
                snprintf(names[s], sizeof names[s], "%s tokens", len);
            } else {
                snprintf(names[s], sizeof names[s], "mean");
            }
            series[s].name = names[s];
            series[s].x = xs;
            series[s].y = y;
            series[s].n = nd;
        }
        lc_plot_opts o;
        lc_plot_opts_init(&o);
        o.title = title;
        o.x_label = "needle depth (% of the haystack)";
        o.y_label = "accuracy (%)";
        st = lc_plot_svg_lines(f, &o, series, ns, err);
    }
    free(xs);
    free(ys);
    free(names);
    free(series);
    return st;
}

lc_status lc_eval_ppl_svg(FILE *f, const lc_eval_ppl_result *results, int n_methods, int n_lengths,
                          const char *const *names, const char *title, lc_error *err) {
    if (!results || n_methods < 1 || n_lengths < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl plot: no results");
    double *xs = calloc((size_t)n_methods * (size_t)n_lengths, sizeof *xs);
    double *ys = calloc((size_t)n_methods * (size_t)n_lengths, sizeof *ys);
    lc_plot_series *series = calloc((size_t)n_methods, sizeof *series);
    lc_status st = LC_OK;
    if (!xs || !ys || !series) st = lc_fail(err, LC_ERR_NOMEM, "ppl plot: out of memory");
    bool log_x = true;
    for (int i = 0; st == LC_OK && i < n_methods; i++) {
        for (int j = 0; j < n_lengths; j++) {
            const lc_eval_ppl_result *r = &results[(size_t)i * (size_t)n_lengths + (size_t)j];
            xs[(size_t)i * (size_t)n_lengths + (size_t)j] = (double)r->window;
            ys[(size_t)i * (size_t)n_lengths + (size_t)j] = r->ppl;
        }
        series[i].name = names ? names[i] : NULL;
        series[i].x = xs + (size_t)i * (size_t)n_lengths;
        series[i].y = ys + (size_t)i * (size_t)n_lengths;
        series[i].n = n_lengths;
    }
    if (st == LC_OK) {
        lc_plot_opts o;
        lc_plot_opts_init(&o);
        o.title = title;
        o.x_label = "context length (window, tokens)";
        o.y_label = "perplexity";
        o.log_x = log_x;
        st = lc_plot_svg_lines(f, &o, series, n_methods, err);
    }
    free(xs);
    free(ys);
    free(series);
    return st;
}

lc_status lc_eval_retention_svg(FILE *f, const lc_eval_retention *r, const char *title, lc_error *err) {
    if (!r || !r->mass || r->n_layers < 1 || r->n_buckets < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "retention plot: no results");
    const int nb = r->n_buckets;
    double *xs = calloc((size_t)nb, sizeof *xs), *ys = calloc((size_t)nb * (size_t)r->n_layers, sizeof *ys);
    label_text *names = calloc((size_t)r->n_layers, sizeof *names);
    lc_plot_series *series = calloc((size_t)r->n_layers, sizeof *series);
    lc_status st = LC_OK;
    if (!xs || !ys || !names || !series) st = lc_fail(err, LC_ERR_NOMEM, "retention plot: out of memory");
    if (st == LC_OK) {
        for (int b = 0; b < nb; b++) { /* the bucket's geometric middle, in distance + 1 */
            int64_t lo, hi;
            lc_eval_bucket_range(b, &lo, &hi);
            xs[b] = sqrt(((double)lo + 1.0) * ((double)hi + 1.0));
        }
        for (int32_t l = 0; l < r->n_layers; l++) {
            double *y = ys + (size_t)l * (size_t)nb;
            for (int b = 0; b < nb; b++) {
                double s = 0.0;
                for (int32_t h = 0; h < r->n_heads; h++) s += mass_at(r, l, h)[b];
                y[b] = s / r->n_heads;
            }
            snprintf(names[l], sizeof names[l], "layer %d", l);
            series[l].name = names[l];
            series[l].x = xs;
            series[l].y = y;
            series[l].n = nb;
        }
        lc_plot_opts o;
        lc_plot_opts_init(&o);
        o.title = title;
        o.x_label = "key distance + 1 (tokens, log2 buckets)";
        o.y_label = "attention mass (mean over heads and probes)";
        o.log_x = true;
        st = lc_plot_svg_lines(f, &o, series, r->n_layers, err);
    }
    free(xs);
    free(ys);
    free(names);
    free(series);
    return st;
}
