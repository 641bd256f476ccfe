/*
 * longctx/plot.h — small standalone SVG charts (loss curves, throughput
 * against context) and the CSV tables they are drawn from.
 *
 * The SVG is a complete standalone document (XML declaration, svg root with
 * the SVG namespace, viewBox), text XML-escaped, no scripts or external
 * references: it opens in any browser and parses with any XML parser.
 *
 * Line plots: one polyline per series over shared axes with "nice" 1-2-5
 * ticks, grid lines, axis labels, a title and a legend. NaN or infinite
 * points are skipped and the line joins the points around them (a sparse
 * column such as val_loss, written every N steps, draws as one line), or,
 * with opts.gaps, break the line there. A run of one point is drawn as a dot;
 * log axes drop non-positive values.
 *
 * Titles (line plots and heat maps) fit the picture's width: drawn at 16 px
 * when they fit, shrunk down to 12 px, then wrapped at spaces onto more
 * lines (the plot starts lower), by an estimate of the drawn width
 * (Helvetica's advance widths plus 10 %, CJK characters 1 em).
 */
#ifndef LONGCTX_PLOT_H
#define LONGCTX_PLOT_H

#include <stdio.h>

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;  /* legend text (may be NULL)                */
    const double *x;   /* [n]                                      */
    const double *y;   /* [n]                                      */
    int64_t n;
} lc_plot_series;

/* How an axis' tick labels read. With a binary unit a log axis runs over
 * whole powers of two (ticks every 1, 2, 5 or 10 of them). */
typedef enum {
    LC_PLOT_UNIT_PLAIN = 0, /* "%g": 100, 1e+06                            */
    LC_PLOT_UNIT_BYTES,     /* binary bytes: 512 B, 1 KiB, 32 MiB, 1 GiB      */
    LC_PLOT_UNIT_COUNT_BIN  /* binary counts (token lengths): 512, 1K, 1M     */
} lc_plot_unit;

typedef struct {
    const char *title;    /* may be NULL                            */
    const char *x_label;
    const char *y_label;
    int width, height;    /* pixels; 0: 800 x 480                   */
    bool log_x, log_y;    /* logarithmic axes                       */
    bool gaps;            /* break lines at non-finite points       */
    lc_plot_unit x_unit, y_unit; /* tick labels (0: plain numbers)   */
} lc_plot_opts;

void lc_plot_opts_init(lc_plot_opts *o);

/* Write an SVG line plot of n_series series to f. Refuses no series, no
 * finite point at all, or sizes out of 100..10000 px. */
lc_status lc_plot_svg_lines(FILE *f, const lc_plot_opts *o, const lc_plot_series *series, int n_series,
                            lc_error *err);

/* ---- Heat maps ---------------------------------------------------------------
 * A grid of coloured cells, n_cols columns (x categories, left to right) by
 * n_rows rows (y categories, top to bottom), coloured on a red - yellow -
 * green scale from vmin to vmax (like the public needle-in-a-haystack
 * charts), each cell labelled with value * label_scale ("%.0f"), category
 * labels, axis titles and a vertical colour legend. A NaN value is drawn
 * light grey and labelled "-". Every cell is a <rect class="cell"> with its
 * label in a <text class="cell-label">, so tools and tests can find them. */
typedef struct {
    const char *title;                /* may be NULL                        */
    const char *x_label, *y_label;    /* axis titles (may be NULL)          */
    const char *legend_label;         /* e.g. "accuracy %" (may be NULL)    */
    int n_cols, n_rows;               /* 1..1000 each                       */
    const char *const *col_labels;    /* [n_cols] (NULL: none)              */
    const char *const *row_labels;    /* [n_rows] (NULL: none)              */
    const double *values;             /* [n_rows * n_cols], row-major       */
    double vmin, vmax;                /* colour scale, vmin < vmax (0, 1)   */
    double label_scale;               /* cell label = value * this (100);
                                         0: no cell labels                  */
    int width, height;                /* pixels; 0: from the cell count     */
} lc_plot_heatmap;

void lc_plot_heatmap_init(lc_plot_heatmap *h);
/* The colour of value v on the scale (clamped), as "#rrggbb" into buf[8]. */
void lc_plot_heat_color(double v, double vmin, double vmax, char buf[8]);
lc_status lc_plot_svg_heatmap(FILE *f, const lc_plot_heatmap *h, lc_error *err);

/* ---- CSV tables ------------------------------------------------------------
 * A header row of column names, then rows of numbers. Fields are split at
 * commas (no quoting); an empty or non-numeric field reads as NaN. Lines may
 * end in \n or \r\n; blank lines and lines starting with '#' are skipped.
 * Limits: 256 columns, 64 KiB per line, the file size checked against
 * available memory. */
typedef struct lc_csv lc_csv;

lc_status lc_csv_load(const char *path, lc_csv **out, lc_error *err);
/* The same from a buffer (copied). */
lc_status lc_csv_parse(const char *text, size_t len, lc_csv **out, lc_error *err);
void lc_csv_free(lc_csv *t);
int32_t lc_csv_n_cols(const lc_csv *t);
int64_t lc_csv_n_rows(const lc_csv *t);
const char *lc_csv_col_name(const lc_csv *t, int32_t col);
/* Column index by exact name, or -1. */
int32_t lc_csv_find(const lc_csv *t, const char *name);
/* The values of a column, [n_rows] (NaN where a field was empty/junk). */
const double *lc_csv_col(const lc_csv *t, int32_t col);

/* ---- Line plots of CSV columns (longctx plot) ----------------------------------
 * Each y column (y: comma-separated names, at most 10) of each file (1..8)
 * against column x: one series each, named "LABEL: Y" with several files and
 * several columns, else the label (several files; labels[i], or the file
 * name when labels or labels[i] is NULL) or the column (one file). smooth >
 * 1: a trailing mean over that many rows (lc_plot_smooth). Refuses a file
 * that does not load or lacks a column ("FILE has no column 'C'"). */
typedef struct {
    const char *const *files;
    const char *const *labels; /* may be NULL */
    int n_files;
    const char *x, *y;
    int64_t smooth;            /* <= 1: the raw values */
} lc_plot_csv_request;
typedef struct lc_plot_csv_lines lc_plot_csv_lines;
lc_status lc_plot_csv_lines_load(const lc_plot_csv_request *q, lc_plot_csv_lines **out, lc_error *err);
/* The SVG (lc_plot_svg_lines) with o's options; the title "Y vs X" unless o
 * has one, the axes named after the columns (y only when there is one). */
lc_status lc_plot_csv_lines_svg(FILE *f, const lc_plot_csv_lines *p, const lc_plot_opts *o, lc_error *err);
void lc_plot_csv_lines_free(lc_plot_csv_lines *p);
/* out[i]: the mean of the finite values among in[i - w + 1 .. i] (fewer at
 * the start; w < 1 counts as 1), NaN where in[i] is not finite. */
void lc_plot_smooth(const double *in, double *out, int64_t n, int64_t w);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_PLOT_H */
