/* Line plots of CSV columns (plot.h): series taken from CSV files, optionally
 * smoothed by a trailing mean; what `longctx plot` draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/plot.h"

#define MAX_FILES 8
#define MAX_Y 10

struct lc_plot_csv_lines {
    lc_csv *tables[MAX_FILES];
    int n_tables;
    lc_plot_series series[MAX_FILES * MAX_Y];
    double *smoothed[MAX_FILES * MAX_Y];
    char names[MAX_FILES * MAX_Y][160];
    int n_series;
    char title[256], x[128], y[128]; /* the default title; x; the y column when there is one */
};

void lc_plot_smooth(const double *in, double *out, int64_t n, int64_t w) {
    w = w < 1 ? 1 : (w < n ? w : n); /* a window past the rows is all the rows so far */
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        int64_t c = 0;
        for (int64_t j = i - w + 1 > 0 ? i - w + 1 : 0; j <= i; j++)
            if (isfinite(in[j])) s += in[j], c++;
        out[i] = isfinite(in[i]) && c ? s / (double)c : NAN;
    }
}

/* The series of column y of table t (file index f); false after err. */
static lc_status add_series(lc_plot_csv_lines *p, const lc_plot_csv_request *q, int f, const char *y, bool many_y,
                            lc_error *err) {
    const lc_csv *t = p->tables[f];
    const int32_t xi = lc_csv_find(t, q->x), yi = lc_csv_find(t, y);
    if (xi < 0 || yi < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s has no column '%s'", q->files[f], xi < 0 ? q->x : y);
    const int64_t n = lc_csv_n_rows(t);
    const double *ys = lc_csv_col(t, yi);
    const int k = p->n_series;
    if (q->smooth > 1) {
        if (!(p->smoothed[k] = malloc((size_t)(n ? n : 1) * sizeof(double))))
            return lc_fail(err, LC_ERR_NOMEM, "out of memory smoothing %s", q->files[f]);
        lc_plot_smooth(ys, p->smoothed[k], n, q->smooth);
        ys = p->smoothed[k];
    }
    const char *base = q->labels && q->labels[f] ? q->labels[f] : q->files[f];
    if (q->n_files > 1 && many_y) snprintf(p->names[k], sizeof p->names[k], "%s: %s", base, y);
    else snprintf(p->names[k], sizeof p->names[k], "%s", q->n_files > 1 ? base : y);
    p->series[k] = (lc_plot_series){p->names[k], lc_csv_col(t, xi), ys, n};
    p->n_series++;
    return LC_OK;
}

lc_status lc_plot_csv_lines_load(const lc_plot_csv_request *q, lc_plot_csv_lines **out, lc_error *err) {
    *out = NULL;
    if (q->n_files < 1 || q->n_files > MAX_FILES || !q->x || !q->y)
        return lc_fail(err, LC_ERR_INVALID_ARG, "plot: 1 to %d CSV files, an x column and y columns", MAX_FILES);
    char ybuf[512];
    const char *ys[MAX_Y];
    int n_y = 0;
    snprintf(ybuf, sizeof ybuf, "%s", q->y);
    char *save = NULL;
    for (char *tok = strtok_r(ybuf, ",", &save); tok && n_y < MAX_Y; tok = strtok_r(NULL, ",", &save)) ys[n_y++] = tok;
    if (n_y == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "-y names no column");
    lc_plot_csv_lines *p = calloc(1, sizeof *p);
    if (!p) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    lc_status st = LC_OK;
    for (int f = 0; f < q->n_files && st == LC_OK; f++) {
        st = lc_csv_load(q->files[f], &p->tables[f], err);
        if (st == LC_OK) p->n_tables++;
        for (int y = 0; y < n_y && st == LC_OK; y++) st = add_series(p, q, f, ys[y], n_y > 1, err);
    }
    if (st != LC_OK) {
        lc_plot_csv_lines_free(p);
        return st;
    }
    snprintf(p->title, sizeof p->title, "%s vs %s", q->y, q->x);
    snprintf(p->x, sizeof p->x, "%s", q->x);
    snprintf(p->y, sizeof p->y, "%s", n_y == 1 ? ys[0] : "");
    *out = p;
    return LC_OK;
}

lc_status lc_plot_csv_lines_svg(FILE *f, const lc_plot_csv_lines *p, const lc_plot_opts *o, lc_error *err) {
    lc_plot_opts po = *o;
    if (!po.title) po.title = p->title;
    po.x_label = p->x;
    po.y_label = p->y[0] ? p->y : NULL;
    return lc_plot_svg_lines(f, &po, p->series, p->n_series, err);
}

void lc_plot_csv_lines_free(lc_plot_csv_lines *p) {
    if (!p) return;
    for (int i = 0; i < p->n_series; i++) free(p->smoothed[i]);
    for (int i = 0; i < p->n_tables; i++) lc_csv_free(p->tables[i]);
    free(p);
}
