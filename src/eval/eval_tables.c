/*
 * Results as the text tables `longctx eval` prints and as CSV files (eval.h,
 * "Summaries, tables and CSV"), with the summaries they and `longctx report`
 * share: means over depths, lengths and heads, bucket labels and losses.
 * The CSV columns are a contract (docs/eval.md, tests/cli/eval.sh).
 */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/util.h"

/* ---- Summaries ----------------------------------------------------------------------------- */

const char *lc_eval_bucket_label(int b, char *buf, size_t len) {
    int64_t lo, hi;
    lc_eval_bucket_range(b, &lo, &hi);
    if (lo == hi) snprintf(buf, len, "%lld", (long long)lo);
    else snprintf(buf, len, "%lld-%lld", (long long)lo, (long long)hi);
    return buf;
}

static const lc_eval_cell *cell(const lc_eval_grid *g, int l, int d) { return &g->cells[l * g->n_depths + d]; }

double lc_eval_grid_length_mean(const lc_eval_grid *g, int l, bool recall) {
    if (l < 0 || l >= g->n_lengths || g->n_depths < 1) return NAN;
    double v = 0.0;
    for (int d = 0; d < g->n_depths; d++) v += recall ? cell(g, l, d)->recall : cell(g, l, d)->accuracy;
    return v / g->n_depths;
}

double lc_eval_grid_depth_accuracy(const lc_eval_grid *g, int d) {
    double acc = 0.0, n = 0.0;
    for (int l = 0; d >= 0 && d < g->n_depths && l < g->n_lengths; l++)
        acc += cell(g, l, d)->accuracy * cell(g, l, d)->trials, n += cell(g, l, d)->trials;
    return n > 0 ? acc / n : NAN;
}

double lc_eval_ppl_bucket_loss(const lc_eval_ppl_result *r, int b) {
    if (b < 0 || b >= r->n_buckets || r->bucket_count[b] <= 0) return NAN;
    return r->bucket_nll[b] / (double)r->bucket_count[b];
}

static double head_mass(const lc_eval_retention *r, int32_t l, int32_t h, int b) {
    return r->mass[((size_t)l * (size_t)r->n_heads + (size_t)h) * LC_EVAL_MAX_BUCKETS + (size_t)b];
}

static double head_needle(const lc_eval_retention *r, int32_t l, int32_t h) {
    return r->needle_mass[(size_t)l * (size_t)r->n_heads + (size_t)h];
}

double lc_eval_retention_layer_mass(const lc_eval_retention *r, int32_t l, int b) {
    double m = 0.0;
    for (int32_t h = 0; h < r->n_heads; h++) m += head_mass(r, l, h, b);
    return r->n_heads > 0 ? m / r->n_heads : NAN;
}

double lc_eval_retention_layer_needle(const lc_eval_retention *r, int32_t l) {
    double m = 0.0;
    for (int32_t h = 0; h < r->n_heads; h++) m += head_needle(r, l, h);
    return r->n_heads > 0 ? m / r->n_heads : NAN;
}

double lc_eval_ppl_overall(const lc_eval_ppl_result *res, int n, int64_t *n_scored) {
    double nll = 0.0;
    int64_t cnt = 0;
    for (int k = 0; k < n; k++) nll += res[k].nll, cnt += res[k].n_scored;
    if (n_scored) *n_scored = cnt;
    return cnt > 0 ? exp(nll / (double)cnt) : NAN;
}

/* ---- Retrieval grid ------------------------------------------------------------------------ */

static void grid_table(FILE *t, const lc_eval_grid *g, bool recall) {
    char lb[16];
    const int32_t trials = g->n_lengths * g->n_depths > 0 ? g->cells[0].trials : 0;
    fprintf(t, "%s %% (rows: needle depth, columns: length in tokens; %d trial%s per cell)\n",
            recall ? "recall" : "accuracy", trials, trials == 1 ? "" : "s");
    fprintf(t, "%8s", "depth");
    for (int l = 0; l < g->n_lengths; l++) fprintf(t, " %7s", lc_eval_len_str(cell(g, l, 0)->length, lb, sizeof lb));
    fprintf(t, "\n");
    for (int d = 0; d < g->n_depths; d++) {
        const double dep = g->cells[d].depth;
        if (isnan(dep)) fprintf(t, "%8s", "random");
        else fprintf(t, "%7.4g%%", 100.0 * dep);
        for (int l = 0; l < g->n_lengths; l++)
            fprintf(t, " %7.1f", 100.0 * (recall ? cell(g, l, d)->recall : cell(g, l, d)->accuracy));
        fprintf(t, "\n");
    }
    if (g->n_depths < 2) return;
    fprintf(t, "%8s", "mean");
    for (int l = 0; l < g->n_lengths; l++) fprintf(t, " %7.1f", 100.0 * lc_eval_grid_length_mean(g, l, recall));
    fprintf(t, "\n");
}

void lc_eval_grid_print(FILE *f, const lc_eval_grid *g, bool timings) {
    grid_table(f, g, false);
    if (g->kind == LC_TASK_MULTIVALUE || g->kind == LC_TASK_MULTIQUERY || g->kind == LC_TASK_VT) grid_table(f, g, true);
    char e1[16], e2[16];
    fprintf(f, "overall: accuracy %.1f%%, recall %.1f%% over %lld trials", 100.0 * g->accuracy, 100.0 * g->recall,
            (long long)g->n_trials);
    if (timings) fprintf(f, " in %.2f s", g->seconds);
    fprintf(f, "; prompt tokens evaluated %s, reused %s\n", lc_eval_len_str(g->tokens_evaluated, e1, sizeof e1),
            lc_eval_len_str(g->tokens_reused, e2, sizeof e2));
}

void lc_eval_grid_write_csv(FILE *f, const lc_eval_grid *g, bool timings) {
    fprintf(f, "length,depth,trials,accuracy,recall,tokens,needle_depth%s\n", timings ? ",seconds" : "");
    for (int l = 0; l < g->n_lengths; l++)
        for (int d = 0; d < g->n_depths; d++) {
            const lc_eval_cell *c = cell(g, l, d);
            fprintf(f, "%lld,", (long long)c->length);
            if (!isnan(c->depth)) fprintf(f, "%.10g", c->depth);
            fprintf(f, ",%d,%.10g,%.10g,%.10g,%.10g", c->trials, c->accuracy, c->recall, c->mean_tokens,
                    c->mean_depth);
            if (timings) fprintf(f, ",%.6f", c->seconds);
            fprintf(f, "\n");
        }
}

/* ---- Perplexity -------------------------------------------------------------------------- */

static int max_buckets(const lc_eval_ppl_result *res, int n) {
    int nb = 0;
    for (int k = 0; k < n; k++) nb = LC_MAX(nb, res[k].n_buckets);
    return nb;
}

/* Mean loss by position in the window: does distant context help? */
static void ppl_bucket_table(FILE *t, const lc_eval_ppl_result *res, int nm, int nl) {
    char lb[16], col[40];
    fprintf(t, "mean loss by position in the window (tokens of context):\n%-12s", "position");
    for (int k = 0; k < nm * nl; k++) {
        snprintf(col, sizeof col, "%s", lc_eval_len_str(res[k].window, lb, sizeof lb));
        if (nm > 1) snprintf(col, sizeof col, "%d:%s", k / nl, lb);
        fprintf(t, " %9s", col);
    }
    fprintf(t, "\n");
    const int nb = max_buckets(res, nm * nl);
    for (int b = 1; b < nb; b++) {
        fprintf(t, "%-12s", lc_eval_bucket_label(b, col, sizeof col));
        for (int k = 0; k < nm * nl; k++) {
            const double v = lc_eval_ppl_bucket_loss(&res[k], b);
            if (isnan(v)) fprintf(t, " %9s", "-");
            else fprintf(t, " %9.4f", v);
        }
        fprintf(t, "\n");
    }
}

void lc_eval_ppl_print(FILE *t, const lc_eval_ppl_result *res, const char *const *names, int nm, int nl,
                       double seconds, bool timings) {
    char lb[16];
    fprintf(t, "%-28s %8s %7s %8s %9s %10s %8s", "method", "length", "stride", "windows", "tokens", "ppl", "loss");
    fprintf(t, timings ? " %9s\n" : "\n", "tok/s");
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++) {
            const lc_eval_ppl_result *r = &res[i * nl + j];
            fprintf(t, "%-28s %8s %7lld %8lld %9lld %10.4f %8.4f", names[i], lc_eval_len_str(r->window, lb, sizeof lb),
                    (long long)r->stride, (long long)r->n_windows, (long long)r->n_scored, r->ppl,
                    r->nll / (double)r->n_scored);
            if (timings) fprintf(t, " %9.1f", r->seconds > 0 ? (double)r->n_evaluated / r->seconds : 0.0);
            fprintf(t, "\n");
        }
    ppl_bucket_table(t, res, nm, nl);
    if (nm > 1)
        for (int i = 0; i < nm; i++) fprintf(t, "  %d = %s\n", i, names[i]);
    int64_t n_all = 0;
    const double ppl = lc_eval_ppl_overall(res, nm * nl, &n_all);
    fprintf(t, "overall: ppl %.4f over %lld scored tokens", ppl, (long long)n_all);
    if (timings) fprintf(t, " in %.2f s", seconds);
    fprintf(t, "\n");
}

void lc_eval_ppl_write_csv(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int nm, int nl,
                           bool timings) {
    const int nb = max_buckets(res, nm * nl);
    fprintf(f, "method,length,stride,windows,tokens,ppl,loss");
    for (int b = 1; b < nb; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        fprintf(f, ",loss_%lld_%lld", (long long)lo, (long long)hi);
    }
    fprintf(f, timings ? ",seconds\n" : "\n");
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++) {
            const lc_eval_ppl_result *r = &res[i * nl + j];
            fprintf(f, "%s,%lld,%lld,%lld,%lld,%.10g,%.10g", names[i], (long long)r->window, (long long)r->stride,
                    (long long)r->n_windows, (long long)r->n_scored, r->ppl, r->nll / (double)r->n_scored);
            for (int b = 1; b < nb; b++) {
                const double v = lc_eval_ppl_bucket_loss(r, b);
                if (isnan(v)) fprintf(f, ",");
                else fprintf(f, ",%.10g", v);
            }
            if (timings) fprintf(f, ",%.6f", r->seconds);
            fprintf(f, "\n");
        }
}

/* ---- Retention ---------------------------------------------------------------------------- */

void lc_eval_retention_print(FILE *t, const lc_eval_retention *r, bool timings) {
    char rng[32];
    fprintf(t, "attention mass %% by key distance (mean over heads and %lld probe rows)\n%-8s", (long long)r->n_rows,
            "layer");
    for (int b = 0; b < r->n_buckets; b++) fprintf(t, " %9s", lc_eval_bucket_label(b, rng, sizeof rng));
    fprintf(t, " %9s\n", "needle");
    for (int32_t l = 0; l < r->n_layers; l++) {
        fprintf(t, "%-8d", l);
        for (int b = 0; b < r->n_buckets; b++) fprintf(t, " %9.2f", 100.0 * lc_eval_retention_layer_mass(r, l, b));
        fprintf(t, " %9.2f\n", 100.0 * lc_eval_retention_layer_needle(r, l));
    }
    fprintf(t, "%-8s", "keys");
    for (int b = 0; b < r->n_buckets; b++) fprintf(t, " %9.1f", r->bucket_keys[b]);
    fprintf(t, "\n");
    const lc_eval_grid *g = &r->grid;
    fprintf(t, "passkey accuracy %% by needle depth (mean over lengths):\n");
    for (int d = 0; d < g->n_depths; d++) {
        if (isnan(g->cells[d].depth)) fprintf(t, "  depth random");
        else fprintf(t, "  depth %6.4g%%", 100.0 * g->cells[d].depth);
        fprintf(t, " %6.1f\n", 100.0 * lc_eval_grid_depth_accuracy(g, d));
    }
    fprintf(t, "overall: passkey accuracy %.1f%% over %lld trials", 100.0 * g->accuracy, (long long)g->n_trials);
    if (timings) fprintf(t, " in %.2f s", g->seconds);
    fprintf(t, "\n");
}

void lc_eval_retention_write_csv(FILE *f, const lc_eval_retention *r) {
    fprintf(f, "layer,head,bucket,lo,hi,keys,mass,needle_mass\n");
    for (int32_t l = 0; l < r->n_layers; l++)
        for (int32_t h = 0; h < r->n_heads; h++)
            for (int b = 0; b < r->n_buckets; b++) {
                int64_t lo, hi;
                lc_eval_bucket_range(b, &lo, &hi);
                fprintf(f, "%d,%d,%d,%lld,%lld,%.10g,%.10g,%.10g\n", l, h, b, (long long)lo, (long long)hi,
                        r->bucket_keys[b], head_mass(r, l, h, b), head_needle(r, l, h));
            }
}

/* ---- Streaming perplexity ------------------------------------------------------------------- */

void lc_eval_streams_print(FILE *t, const lc_eval_stream_cell *m, int nm, bool timings) {
    char b1[32], b2[32], b3[32];
    fprintf(t, "%-22s %8s %10s %10s %10s", "method", "slots", "tokens", "ppl", "loss");
    if (timings) fprintf(t, " %9s %9s %9s %10s %10s", "tok/s", "first10%", "last10%", "rss start", "rss end");
    fprintf(t, " %10s\n", "kv bytes");
    for (int i = 0; i < nm; i++) {
        const lc_eval_stream_cell *e = &m[i];
        fprintf(t, "%-22s %8lld %10lld %10.4f %10.4f", e->spec, (long long)e->slots, (long long)e->res.n_scored,
                e->res.ppl, e->res.nll / (double)e->res.n_scored);
        if (timings) {
            fprintf(t, " %9.1f", e->st.tokens_per_s);
            if (e->recompute) fprintf(t, " %9s %9s", "-", "-");
            else fprintf(t, " %9.1f %9.1f", e->st.tokens_per_s_first, e->st.tokens_per_s_last);
            fprintf(t, " %10s %10s", lc_format_bytes((double)e->st.rss_start, b1, sizeof b1),
                    lc_format_bytes((double)e->st.rss_end, b2, sizeof b2));
        }
        fprintf(t, " %10s\n", lc_format_bytes(e->kv_bytes, b3, sizeof b3));
    }
    for (int i = 0; timings && i < nm; i++) /* each policy against each re-computation */
        for (int j = 0; m[i].recompute && m[i].st.tokens_per_s > 0 && j < nm; j++)
            if (!m[j].recompute)
                fprintf(t, "%s is %.1fx the speed of %s\n", m[j].spec, m[j].st.tokens_per_s / m[i].st.tokens_per_s,
                        m[i].spec);
}

void lc_eval_streams_write_csv(FILE *f, const lc_eval_stream_cell *m, int nm, bool timings) {
    fprintf(f, "method,slots,tokens,ppl,loss,tokens_per_s,rss_start,rss_end\n");
    for (int i = 0; i < nm; i++)
        fprintf(f, "%s,%lld,%lld,%.10g,%.10g,%.6g,%zu,%zu\n", m[i].spec, (long long)m[i].slots,
                (long long)m[i].res.n_scored, m[i].res.ppl, m[i].res.nll / (double)m[i].res.n_scored,
                timings ? m[i].st.tokens_per_s : 0.0, m[i].st.rss_start, m[i].st.rss_end);
}
