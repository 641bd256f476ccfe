/*
 * Results as the text tables `longctx eval` prints and as CSV files (eval.h,
 * "Summaries, tables and CSV"), each table declared once as an lc_table
 * (longctx/table.h) with its text and CSV faces, and the summaries they and
 * `longctx report` share: means over depths, lengths and heads, bucket
 * labels and losses. The CSV columns are a contract (docs/eval.md,
 * tests/cli/eval.sh).
 */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/table.h"

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

/* ---- Tables ------------------------------------------------------------------------------ */

/* Columns of a text-only (title) or CSV-only (key) value. */
#define TEXT_COL(title_, kind_, fmt_, scale_) {.title = (title_), .kind = (kind_), .fmt = (fmt_), .scale = (scale_)}
#define CSV_COL(key_, kind_) {.key = (key_), .kind = (kind_)}
/* A column of both faces. */
#define COL(title_, key_, kind_, fmt_) {.title = (title_), .key = (key_), .kind = (kind_), .fmt = (fmt_)}

/* The most columns a table here declares: a fixed part and a bucket or
 * length each. */
#define MAX_COLS (LC_EVAL_MAX_BUCKETS + LC_EVAL_MAX_LENGTHS + 16)

/* Print t's text (csv false) or CSV to f, and free it. */
static lc_status emit(lc_table *t, FILE *f, bool csv, lc_error *err) {
    const lc_status st = csv ? lc_table_print_csv(t, f, err) : lc_table_print_text(t, f, err);
    lc_table_free(t);
    return st;
}

/* ---- Retrieval grid ------------------------------------------------------------------------ */

/* Accuracy (recall) % with depths as rows and lengths as columns, and the
 * mean over depths. */
static lc_status grid_table(FILE *f, const lc_eval_grid *g, bool recall, lc_error *err) {
    lc_table_col cols[1 + LC_EVAL_MAX_LENGTHS] = {TEXT_COL("depth", LC_TABLE_STR, NULL, 0)};
    char titles[LC_EVAL_MAX_LENGTHS][16], label[32];
    const int nl = LC_MIN(g->n_lengths, LC_EVAL_MAX_LENGTHS);
    for (int l = 0; l < nl; l++)
        cols[1 + l] = (lc_table_col)TEXT_COL(lc_eval_len_str(cell(g, l, 0)->length, titles[l], sizeof titles[l]),
                                             LC_TABLE_REAL, "%.1f", 100.0);
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, 1 + nl, &t, err);
    if (st != LC_OK) return st;
    for (int d = 0; d < g->n_depths + (g->n_depths > 1); d++) { /* the last: the mean */
        lc_table_row(t);
        if (d == g->n_depths) snprintf(label, sizeof label, "mean");
        else if (isnan(g->cells[d].depth)) snprintf(label, sizeof label, "random");
        else snprintf(label, sizeof label, "%.4g%%", 100.0 * g->cells[d].depth);
        lc_table_str(t, label);
        for (int l = 0; l < nl; l++)
            lc_table_real(t, d == g->n_depths ? lc_eval_grid_length_mean(g, l, recall)
                                              : recall ? cell(g, l, d)->recall : cell(g, l, d)->accuracy);
    }
    const int32_t trials = g->n_lengths * g->n_depths > 0 ? g->cells[0].trials : 0;
    fprintf(f, "%s %% (rows: needle depth, columns: length in tokens; %d trial%s per cell)\n",
            recall ? "recall" : "accuracy", trials, trials == 1 ? "" : "s");
    return emit(t, f, false, err);
}

lc_status lc_eval_grid_print(FILE *f, const lc_eval_grid *g, bool timings, lc_error *err) {
    lc_status st = grid_table(f, g, false, err);
    if (st == LC_OK && (g->kind == LC_TASK_MULTIVALUE || g->kind == LC_TASK_MULTIQUERY || g->kind == LC_TASK_VT))
        st = grid_table(f, g, true, err);
    if (st != LC_OK) return st;
    char e1[16], e2[16];
    fprintf(f, "overall: accuracy %.1f%%, recall %.1f%% over %lld trials", 100.0 * g->accuracy, 100.0 * g->recall,
            (long long)g->n_trials);
    if (timings) fprintf(f, " in %.2f s", g->seconds);
    fprintf(f, "; prompt tokens evaluated %s, reused %s\n", lc_eval_len_str(g->tokens_evaluated, e1, sizeof e1),
            lc_eval_len_str(g->tokens_reused, e2, sizeof e2));
    return LC_OK;
}

lc_status lc_eval_grid_write_csv(FILE *f, const lc_eval_grid *g, bool timings, lc_error *err) {
    static const lc_table_col cols[] = {
        CSV_COL("length", LC_TABLE_INT),     CSV_COL("depth", LC_TABLE_REAL),  CSV_COL("trials", LC_TABLE_INT),
        CSV_COL("accuracy", LC_TABLE_REAL),  CSV_COL("recall", LC_TABLE_REAL), CSV_COL("tokens", LC_TABLE_REAL),
        CSV_COL("needle_depth", LC_TABLE_REAL), CSV_COL("seconds", LC_TABLE_REAL)};
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, timings ? 8 : 7, &t, err);
    if (st != LC_OK) return st;
    for (int k = 0; k < g->n_lengths * g->n_depths; k++) {
        const lc_eval_cell *c = &g->cells[k]; /* a random depth (NaN) is an empty field */
        const lc_table_value v[] = {lc_tv_int(c->length),       lc_tv_real(c->depth),      lc_tv_int(c->trials),
                                    lc_tv_real(c->accuracy),    lc_tv_real(c->recall),     lc_tv_real(c->mean_tokens),
                                    lc_tv_real(c->mean_depth),  lc_tv_real(c->seconds)};
        lc_table_add_row(t, v, timings ? 8 : 7);
    }
    return emit(t, f, true, err);
}

/* ---- Perplexity -------------------------------------------------------------------------- */

static int max_buckets(const lc_eval_ppl_result *res, int n) {
    int nb = 0;
    for (int k = 0; k < n; k++) nb = LC_MAX(nb, res[k].n_buckets);
    return LC_MIN(nb, LC_EVAL_MAX_BUCKETS);
}

/* Mean loss by position in the window (does distant context help?): a row
 * per bucket, a column per cell. */
static lc_status ppl_bucket_table(FILE *f, const lc_eval_ppl_result *res, int nm, int nl, lc_error *err) {
    lc_table_col cols[MAX_COLS] = {TEXT_COL("position", LC_TABLE_STR, NULL, 0)};
    char titles[MAX_COLS][40], lb[16], label[40];
    const int nc = LC_MIN(nm * nl, MAX_COLS - 1);
    for (int k = 0; k < nc; k++) {
        lc_eval_len_str(res[k].window, lb, sizeof lb);
        if (nm > 1) snprintf(titles[k], sizeof titles[k], "%d:%s", k / nl, lb);
        else snprintf(titles[k], sizeof titles[k], "%s", lb);
        cols[1 + k] = (lc_table_col)TEXT_COL(titles[k], LC_TABLE_REAL, "%.4f", 0);
    }
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, 1 + nc, &t, err);
    if (st != LC_OK) return st;
    const int nb = max_buckets(res, nm * nl);
    for (int b = 1; b < nb; b++) {
        lc_table_row(t);
        lc_table_str(t, lc_eval_bucket_label(b, label, sizeof label));
        for (int k = 0; k < nc; k++) lc_table_real(t, lc_eval_ppl_bucket_loss(&res[k], b)); /* NaN: "-" */
    }
    fprintf(f, "mean loss by position in the window (tokens of context):\n");
    return emit(t, f, false, err);
}

/* A row per method and window: the text's tokens/s, the CSV's loss per
 * bucket and seconds. */
static lc_status ppl_table(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int nm, int nl,
                           bool timings, bool csv, lc_error *err) {
    lc_table_col cols[MAX_COLS] = {
        COL("method", "method", LC_TABLE_STR, NULL),    COL("length", "length", LC_TABLE_INT, NULL),
        COL("stride", "stride", LC_TABLE_INT, NULL),
        COL("windows", "windows", LC_TABLE_INT, NULL),  COL("tokens", "tokens", LC_TABLE_INT, NULL),
        COL("ppl", "ppl", LC_TABLE_REAL, "%.4f"),       COL("loss", "loss", LC_TABLE_REAL, "%.4f")};
    char keys[LC_EVAL_MAX_BUCKETS][48];
    int n = 7;
    const int nb = max_buckets(res, nm * nl);
    for (int b = 1; b < nb; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        snprintf(keys[b], sizeof keys[b], "loss_%lld_%lld", (long long)lo, (long long)hi);
        cols[n++] = (lc_table_col)CSV_COL(keys[b], LC_TABLE_REAL);
    }
    if (timings) {
        cols[n++] = (lc_table_col)TEXT_COL("tok/s", LC_TABLE_REAL, "%.1f", 0);
        cols[n++] = (lc_table_col)CSV_COL("seconds", LC_TABLE_REAL);
    }
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, n, &t, err);
    if (st != LC_OK) return st;
    for (int k = 0; k < nm * nl; k++) {
        const lc_eval_ppl_result *r = &res[k];
        lc_table_value v[MAX_COLS] = {lc_tv_str(names[k / nl]), lc_tv_int(r->window),    lc_tv_int(r->stride),
                                      lc_tv_int(r->n_windows),  lc_tv_int(r->n_scored), lc_tv_real(r->ppl),
                                      lc_tv_real(r->nll / (double)r->n_scored)};
        int nv = 7;
        for (int b = 1; b < nb; b++) v[nv++] = lc_tv_real(lc_eval_ppl_bucket_loss(r, b)); /* empty: "" */
        if (timings) {
            v[nv++] = lc_tv_real(r->seconds > 0 ? (double)r->n_evaluated / r->seconds : 0.0);
            v[nv++] = lc_tv_real(r->seconds);
        }
        lc_table_add_row(t, v, nv);
    }
    return emit(t, f, csv, err);
}

lc_status lc_eval_ppl_print(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int nm, int nl,
                            double seconds, bool timings, lc_error *err) {
    lc_status st = ppl_table(f, res, names, nm, nl, timings, false, err);
    if (st == LC_OK) st = ppl_bucket_table(f, res, nm, nl, err);
    if (st != LC_OK) return st;
    if (nm > 1)
        for (int i = 0; i < nm; i++) fprintf(f, "  %d = %s\n", i, names[i]);
    int64_t n_all = 0;
    const double ppl = lc_eval_ppl_overall(res, nm * nl, &n_all);
    fprintf(f, "overall: ppl %.4f over %lld scored tokens", ppl, (long long)n_all);
    if (timings) fprintf(f, " in %.2f s", seconds);
    fprintf(f, "\n");
    return LC_OK;
}

lc_status lc_eval_ppl_write_csv(FILE *f, const lc_eval_ppl_result *res, const char *const *names, int nm, int nl,
                                bool timings, lc_error *err) {
    return ppl_table(f, res, names, nm, nl, timings, true, err);
}

/* ---- Retention ---------------------------------------------------------------------------- */

/* Mass % by layer (rows) and distance bucket (columns), on the needle, and
 * the keys per bucket. */
static lc_status retention_table(FILE *f, const lc_eval_retention *r, lc_error *err) {
    lc_table_col cols[LC_EVAL_MAX_BUCKETS + 2] = {TEXT_COL("layer", LC_TABLE_STR, NULL, 0)};
    char titles[LC_EVAL_MAX_BUCKETS][32], label[32];
    const int nb = LC_MIN(r->n_buckets, LC_EVAL_MAX_BUCKETS);
    for (int b = 0; b < nb; b++) /* percent, and the keys row in keys */
        cols[1 + b] = (lc_table_col)TEXT_COL(lc_eval_bucket_label(b, titles[b], sizeof titles[b]), LC_TABLE_REAL,
                                             "%.2f", 0);
    cols[1 + nb] = (lc_table_col)TEXT_COL("needle", LC_TABLE_REAL, "%.2f", 100.0);
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, nb + 2, &t, err);
    if (st != LC_OK) return st;
    for (int32_t l = 0; l <= r->n_layers; l++) { /* the last: keys per bucket */
        lc_table_row(t);
        if (l == r->n_layers) snprintf(label, sizeof label, "keys");
        else snprintf(label, sizeof label, "%d", l);
        lc_table_str(t, label);
        for (int b = 0; b < nb; b++)
            lc_table_real(t, l < r->n_layers ? 100.0 * lc_eval_retention_layer_mass(r, l, b) : r->bucket_keys[b]);
        if (l < r->n_layers) lc_table_real(t, lc_eval_retention_layer_needle(r, l));
        else lc_table_null(t);
    }
    fprintf(f, "attention mass %% by key distance (mean over heads and %lld probe rows)\n",
            (long long)r->n_rows);
    return emit(t, f, false, err);
}

lc_status lc_eval_retention_print(FILE *f, const lc_eval_retention *r, bool timings, lc_error *err) {
    lc_status st = retention_table(f, r, err);
    if (st != LC_OK) return st;
    static const lc_table_col cols[] = {TEXT_COL("depth", LC_TABLE_STR, NULL, 0),
                                        TEXT_COL("accuracy %", LC_TABLE_REAL, "%.1f", 100.0)};
    lc_table *t = NULL;
    if ((st = lc_table_create(cols, 2, &t, err)) != LC_OK) return st;
    const lc_eval_grid *g = &r->grid;
    char label[32];
    for (int d = 0; d < g->n_depths; d++) {
        if (isnan(g->cells[d].depth)) snprintf(label, sizeof label, "random");
        else snprintf(label, sizeof label, "%.4g%%", 100.0 * g->cells[d].depth);
        LC_TABLE_ADD(t, lc_tv_str(label), lc_tv_real(lc_eval_grid_depth_accuracy(g, d)));
    }
    fprintf(f, "passkey accuracy by needle depth (mean over lengths):\n");
    if ((st = emit(t, f, false, err)) != LC_OK) return st;
    fprintf(f, "overall: passkey accuracy %.1f%% over %lld trials", 100.0 * g->accuracy, (long long)g->n_trials);
    if (timings) fprintf(f, " in %.2f s", g->seconds);
    fprintf(f, "\n");
    return LC_OK;
}

lc_status lc_eval_retention_write_csv(FILE *f, const lc_eval_retention *r, lc_error *err) {
    static const lc_table_col cols[] = {
        CSV_COL("layer", LC_TABLE_INT), CSV_COL("head", LC_TABLE_INT),  CSV_COL("bucket", LC_TABLE_INT),
        CSV_COL("lo", LC_TABLE_INT),    CSV_COL("hi", LC_TABLE_INT),    CSV_COL("keys", LC_TABLE_REAL),
        CSV_COL("mass", LC_TABLE_REAL), CSV_COL("needle_mass", LC_TABLE_REAL)};
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, 8, &t, err);
    if (st != LC_OK) return st;
    for (int32_t l = 0; l < r->n_layers; l++)
        for (int32_t h = 0; h < r->n_heads; h++)
            for (int b = 0; b < r->n_buckets; b++) {
                int64_t lo, hi;
                lc_eval_bucket_range(b, &lo, &hi);
                LC_TABLE_ADD(t, lc_tv_int(l), lc_tv_int(h), lc_tv_int(b), lc_tv_int(lo), lc_tv_int(hi),
                             lc_tv_real(r->bucket_keys[b]), lc_tv_real(head_mass(r, l, h, b)),
                             lc_tv_real(head_needle(r, l, h)));
            }
    return emit(t, f, true, err);
}

/* ---- Streaming perplexity ------------------------------------------------------------------- */

/* A row per policy; the timings (tokens/s overall, over the first and last
 * tenth, resident memory) in the text only with timings; the CSV's
 * tokens/s is 0 without them. */
static lc_status streams_table(FILE *f, const lc_eval_stream_cell *m, int nm, bool timings, bool csv,
                               lc_error *err) {
    lc_table_col cols[12] = {
        COL("method", "method", LC_TABLE_STR, NULL), COL("slots", "slots", LC_TABLE_INT, NULL),
        COL("tokens", "tokens", LC_TABLE_INT, NULL), COL("ppl", "ppl", LC_TABLE_REAL, "%.4f"),
        COL("loss", "loss", LC_TABLE_REAL, "%.4f"),  CSV_COL("tokens_per_s", LC_TABLE_REAL)};
    int n = 6;
    if (timings) {
        cols[5] = (lc_table_col)COL("tok/s", "tokens_per_s", LC_TABLE_REAL, "%.1f");
        cols[n++] = (lc_table_col)TEXT_COL("first10%", LC_TABLE_REAL, "%.1f", 0);
        cols[n++] = (lc_table_col)TEXT_COL("last10%", LC_TABLE_REAL, "%.1f", 0);
    }
    cols[n++] = (lc_table_col){.title = timings ? "rss start" : NULL, .key = "rss_start", .kind = LC_TABLE_BYTES};
    cols[n++] = (lc_table_col){.title = timings ? "rss end" : NULL, .key = "rss_end", .kind = LC_TABLE_BYTES};
    cols[n++] = (lc_table_col){.title = "kv bytes", .kind = LC_TABLE_BYTES};
    lc_table *t = NULL;
    lc_status st = lc_table_create(cols, n, &t, err);
    if (st != LC_OK) return st;
    for (int i = 0; i < nm; i++) {
        const lc_eval_stream_cell *e = &m[i];
        lc_table_value v[12] = {lc_tv_str(e->spec),       lc_tv_int(e->slots),
                                lc_tv_int(e->res.n_scored), lc_tv_real(e->res.ppl),
                                lc_tv_real(e->res.nll / (double)e->res.n_scored),
                                lc_tv_real(timings ? e->st.tokens_per_s : 0.0)};
        int nv = 6;
        if (timings) { /* re-computation has no first and last tenth: "-" */
            v[nv++] = e->recompute ? lc_tv_null() : lc_tv_real(e->st.tokens_per_s_first);
            v[nv++] = e->recompute ? lc_tv_null() : lc_tv_real(e->st.tokens_per_s_last);
        }
        v[nv++] = lc_tv_int((int64_t)e->st.rss_start);
        v[nv++] = lc_tv_int((int64_t)e->st.rss_end);
        v[nv++] = lc_tv_int((int64_t)e->kv_bytes);
        lc_table_add_row(t, v, nv);
    }
    return emit(t, f, csv, err);
}

lc_status lc_eval_streams_print(FILE *f, const lc_eval_stream_cell *m, int nm, bool timings, lc_error *err) {
    const lc_status st = streams_table(f, m, nm, timings, false, err);
    for (int i = 0; st == LC_OK && timings && i < nm; i++) /* each policy against each re-computation */
        for (int j = 0; m[i].recompute && m[i].st.tokens_per_s > 0 && j < nm; j++)
            if (!m[j].recompute)
                fprintf(f, "%s is %.1fx the speed of %s\n", m[j].spec, m[j].st.tokens_per_s / m[i].st.tokens_per_s,
                        m[i].spec);
    return st;
}

lc_status lc_eval_streams_write_csv(FILE *f, const lc_eval_stream_cell *m, int nm, bool timings, lc_error *err) {
    return streams_table(f, m, nm, timings, true, err);
}

void lc_eval_trial_print(FILE *f, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                         const char *generated, double score, double recall) {
    if (!f || !s) return;
    char lb[16];
    fprintf(f, "length %s ", lc_eval_len_str(length, lb, sizeof lb));
    if (depth < 0) fprintf(f, "depth random");
    else fprintf(f, "depth %.4g%%", 100.0 * depth);
    fprintf(f, " trial %d (%lld prompt tokens): expected \"%s\" got \"", trial, (long long)s->n_prompt, s->answer);
    for (const char *c = generated ? generated : ""; *c; c++) {
        if (*c == '\n') fputs("\\n", f);
        else fputc(*c, f);
    }
    fprintf(f, "\" score %g recall %g\n", score, recall);
}
