/*
 * SVG heat maps: a grid of labelled, coloured cells with category labels,
 * axis titles and a colour legend (a vertical gradient with its scale).
 *
 *   +--------------------------- title ---------------------------+
 *   | y   row label | cell cell cell ... |  legend bar  vmax        |
 *   | title         | cell cell cell ... |     ...      vmin        |
 *   |               |  col labels        |                          |
 *   |               |  x title           |                          |
 *
 * Colours: red (vmin) - yellow - green (vmax), interpolated linearly in RGB
 * between three stops (ColorBrewer RdYlGn ends and middle).
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/plot.h"
#include "plot/svg_text.h"

#define HM_MAX_CELLS 1000

static const double stops[3][3] = {{215, 48, 39}, {254, 224, 139}, {26, 152, 80}};

void lc_plot_heatmap_init(lc_plot_heatmap *h) {
    memset(h, 0, sizeof *h);
    h->vmin = 0.0;
    h->vmax = 1.0;
    h->label_scale = 100.0;
}

static void heat_rgb(double v, double vmin, double vmax, double rgb[3]) {
    double t = (v - vmin) / (vmax - vmin);
    t = isfinite(t) ? (t < 0 ? 0 : t > 1 ? 1 : t) : 0;
    const int seg = t < 0.5 ? 0 : 1;
    const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    for (int i = 0; i < 3; i++) rgb[i] = stops[seg][i] + (stops[seg + 1][i] - stops[seg][i]) * u;
}

void lc_plot_heat_color(double v, double vmin, double vmax, char buf[8]) {
    double rgb[3];
    heat_rgb(v, vmin, vmax, rgb);
    snprintf(buf, 8, "#%02x%02x%02x", (unsigned)lround(rgb[0]) & 0xff, (unsigned)lround(rgb[1]) & 0xff,
             (unsigned)lround(rgb[2]) & 0xff);
}

static void label_value(char *buf, size_t len, double v, double scale) {
    if (!isfinite(v)) snprintf(buf, len, "-");
    else snprintf(buf, len, "%.0f", v * scale + 0.0); /* +0.0: no "-0" */
    if (strcmp(buf, "-0") == 0) snprintf(buf, len, "0");
}

lc_status lc_plot_svg_heatmap(FILE *f, const lc_plot_heatmap *h, lc_error *err) {
    if (!f || !h || !h->values) return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: no values to draw");
    if (h->n_cols < 1 || h->n_cols > HM_MAX_CELLS || h->n_rows < 1 || h->n_rows > HM_MAX_CELLS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: %d x %d cells outside 1..%d each", h->n_cols, h->n_rows,
                       HM_MAX_CELLS);
    if (!(h->vmin < h->vmax) || !isfinite(h->vmin) || !isfinite(h->vmax))
        return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: colour scale [%g, %g] is empty", h->vmin, h->vmax);
    const double ml = 88, mr = 110, mb = 62;
    double cw = fmax(34.0, fmin(80.0, 720.0 / h->n_cols)), ch = fmax(20.0, fmin(44.0, 440.0 / h->n_rows));
    int W = h->width, H = h->height;
    if (W == 0) W = (int)ceil(ml + mr + cw * h->n_cols);
    if (W < 100 || W > 20000)
        return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: width %d outside 100..20000 px", W);
    lc_svg_title tl; /* the title fits the width: shrunk, then wrapped; the cells start below it */
    lc_svg_title_layout(&tl, h->title, W - 24.0);
    const double mt = tl.n_lines ? lc_svg_title_height(&tl) + 20 : 20;
    if (H == 0) H = (int)ceil(mt + mb + ch * h->n_rows);
    if (W < 100 || W > 20000 || H < 100 || H > 20000)
        return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: size %d x %d outside 100..20000 px", W, H);
    cw = (W - ml - mr) / h->n_cols;
    ch = (H - mt - mb) / h->n_rows;
    if (cw < 2 || ch < 2 || H - mt - mb < 2) return lc_fail(err, LC_ERR_INVALID_ARG, "heatmap: %d x %d px is too small for the cells", W, H);
    const double gw = cw * h->n_cols, gh = ch * h->n_rows;
    const double fs = fmax(6.0, fmin(12.0, fmin(ch * 0.5, cw / 3.2)));

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    /* the legend's gradient: one stop per colour stop */
    fprintf(f, "<defs>\n<linearGradient id=\"heat-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n");
    for (int i = 0; i < 3; i++)
        fprintf(f, "<stop offset=\"%.1f\" stop-color=\"#%02x%02x%02x\"/>\n", i * 0.5, (unsigned)stops[i][0],
                (unsigned)stops[i][1], (unsigned)stops[i][2]);
    fprintf(f, "</linearGradient>\n</defs>\n");
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    lc_svg_title_write(f, &tl, h->title, W / 2.0, 10.0 + tl.font_px);

    /* cells */
    fprintf(f, "<g class=\"cells\" stroke=\"white\" stroke-width=\"1\">\n");
    for (int r = 0; r < h->n_rows; r++)
        for (int c = 0; c < h->n_cols; c++) {
            const double v = h->values[(size_t)r * (size_t)h->n_cols + (size_t)c];
            char col[8] = "#dddddd";
            if (isfinite(v)) lc_plot_heat_color(v, h->vmin, h->vmax, col);
            fprintf(f, "<rect class=\"cell\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                    ml + c * cw, mt + r * ch, cw, ch, col);
        }
    fprintf(f, "</g>\n");
    if (h->label_scale != 0.0) {
        fprintf(f, "<g text-anchor=\"middle\" font-size=\"%.1f\">\n", fs);
        for (int r = 0; r < h->n_rows; r++)
            for (int c = 0; c < h->n_cols; c++) {
                const double v = h->values[(size_t)r * (size_t)h->n_cols + (size_t)c];
                double rgb[3] = {221, 221, 221};
                if (isfinite(v)) heat_rgb(v, h->vmin, h->vmax, rgb);
                const double lum = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255.0;
                char lab[32];
                label_value(lab, sizeof lab, v, h->label_scale);
                fprintf(f, "<text class=\"cell-label\" x=\"%.2f\" y=\"%.2f\" fill=\"%s\">%s</text>\n",
                        ml + (c + 0.5) * cw, mt + (r + 0.5) * ch + fs * 0.35, lum < 0.5 ? "white" : "#222222", lab);
            }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#333333\"/>\n", ml,
            mt, gw, gh);

    /* category labels and axis titles */
    fprintf(f, "<g fill=\"#333333\" font-size=\"11\">\n");
    for (int c = 0; h->col_labels && c < h->n_cols; c++) {
        fprintf(f, "<text class=\"col-label\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", ml + (c + 0.5) * cw,
                mt + gh + 16);
        lc_svg_put_text(f, h->col_labels[c]);
        fprintf(f, "</text>\n");
    }
    for (int r = 0; h->row_labels && r < h->n_rows; r++) {
        fprintf(f, "<text class=\"row-label\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", ml - 6,
                mt + (r + 0.5) * ch + 4);
        lc_svg_put_text(f, h->row_labels[r]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</g>\n");
    if (h->x_label) {
        fprintf(f, "<text class=\"x-title\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", ml + gw / 2, mt + gh + 42);
        lc_svg_put_text(f, h->x_label);
        fprintf(f, "</text>\n");
    }
    if (h->y_label) {
        fprintf(f, "<text class=\"y-title\" transform=\"translate(18 %.2f) rotate(-90)\" text-anchor=\"middle\">",
                mt + gh / 2);
        lc_svg_put_text(f, h->y_label);
        fprintf(f, "</text>\n");
    }

    /* legend: gradient bar with vmin, middle and vmax */
    const double lx = ml + gw + 28, lw = 16, lh = fmin(gh, 240.0), ly = mt + (gh - lh) / 2;
    fprintf(f, "<g class=\"legend\">\n");
    if (h->legend_label) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\">", lx - 8, ly - 8);
        lc_svg_put_text(f, h->legend_label);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"url(#heat-scale)\" "
               "stroke=\"#333333\"/>\n",
            lx, ly, lw, lh);
    const double scale = h->label_scale != 0.0 ? h->label_scale : 1.0;
    for (int i = 0; i <= 2; i++) {
        const double v = h->vmin + (h->vmax - h->vmin) * i / 2.0, y = ly + lh - lh * i / 2.0;
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>\n", lx + lw, y,
                lx + lw + 4, y);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\">%.6g</text>\n", lx + lw + 7, y + 4, v * scale);
    }
    fprintf(f, "</g>\n</svg>\n");
    if (fflush(f) != 0 || ferror(f)) return lc_fail(err, LC_ERR_IO, "heatmap: writing the SVG failed");
    return LC_OK;
}
