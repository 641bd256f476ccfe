/*
 * SVG line plots: axes with 1-2-5 ticks (powers of ten on log axes), grid,
 * labels, legend, one polyline per run of finite points of each series.
 *
 *   +------------------- title -------------------+
 *   | y ticks |  plot area (grid, lines)  | legend |
 *   |         +---------------------------+        |
 *   |              x ticks, x label                |
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/plot.h"
#include "plot/svg_text.h"

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

void lc_plot_opts_init(lc_plot_opts *o) {
    memset(o, 0, sizeof *o);
    o->width = 800;
    o->height = 480;
}

#define MAX_TICKS 64

typedef struct {
    double lo, hi;            /* axis range in plot space (log10 on log axes) */
    double tick[MAX_TICKS];   /* tick positions in plot space                 */
    int n_ticks;
    bool log;
    lc_plot_unit unit;
} axis;

/* A 1-2-5 step near range / target. */
static double nice_step(double range, int target) {
    const double raw = range / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

static void make_axis(axis *a, double lo, double hi, bool log_, lc_plot_unit unit) {
    a->log = log_;
    a->unit = unit;
    a->n_ticks = 0;
    if (hi - lo < 1e-12 * fmax(1.0, fabs(hi))) { /* one value: open a window around it */
        const double pad = log_ ? (unit != LC_PLOT_UNIT_PLAIN ? log10(2.0) : 0.5) : fmax(0.5 * fabs(lo), 0.5);
        lo -= pad, hi += pad;
    }
    if (log_ && unit != LC_PLOT_UNIT_PLAIN) {
        /* binary units: whole powers of two, a tick every 1, 2, 5 or 10 of them (at most 10 ticks),
         * on multiples of the step so that they read 1K, 32K, 1M or 1 KiB, 1 MiB, 1 GiB */
        const double l2 = log10(2.0);
        const double e_lo = floor(lo / l2 + 1e-9), e_hi = ceil(hi / l2 - 1e-9);
        a->lo = e_lo * l2;
        a->hi = (e_hi > e_lo ? e_hi : e_lo + 1) * l2;
        static const double steps[] = {1, 2, 5, 10, 20, 50};
        double step = 50;
        for (int i = 0; i < 6; i++)
            if ((e_hi - e_lo) / steps[i] <= 9.0) {
                step = steps[i];
                break;
            }
        for (double e = ceil(e_lo / step) * step; e <= e_hi + 1e-9 && a->n_ticks < MAX_TICKS; e += step)
            a->tick[a->n_ticks++] = e * l2;
        return;
    }
    if (log_) { /* whole decades; 1-2-5 ticks inside when there are few decades */
        a->lo = floor(lo);
        a->hi = ceil(hi);
        const double span = a->hi - a->lo, every = span > 8 ? ceil(span / 8) : 1;
        for (double e = a->lo; e <= a->hi + 1e-9 && a->n_ticks < MAX_TICKS; e += every) {
            a->tick[a->n_ticks++] = e;
            if (span <= 2 && e < a->hi - 1e-9) {
                a->tick[a->n_ticks++] = e + log10(2.0);
                a->tick[a->n_ticks++] = e + log10(5.0);
            }
        }
        return;
    }
    const double step = nice_step(hi - lo, 6);
    a->lo = floor(lo / step) * step;
    a->hi = ceil(hi / step) * step;
    for (int i = 0; i < MAX_TICKS && a->lo + i * step <= a->hi + 0.5 * step; i++)
        a->tick[a->n_ticks++] = a->lo + i * step;
}

static bool usable(double v, bool log_) { return isfinite(v) && (!log_ || v > 0.0); }
static double to_plot(double v, bool log_) { return log_ ? log10(v) : v; }

static void tick_label(char *buf, size_t len, double v, const axis *a) {
    if (a->log && a->unit != LC_PLOT_UNIT_PLAIN) v = ldexp(1.0, (int)lround(v / log10(2.0))); /* exact 2^e */
    else if (a->log) v = pow(10.0, v);
    if (fabs(v) < 1e-12) v = 0.0;
    if (a->unit == LC_PLOT_UNIT_PLAIN) {
        snprintf(buf, len, "%.6g", v);
        return;
    }
    /* binary multiples: bytes as B, KiB, MiB ...; counts as 512, 1K, 32K, 1M ... */
    static const char *const bytes[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    static const char *const count[] = {"", "K", "M", "G", "T", "P", "E"};
    int u = 0;
    double m = fabs(v);
    while (m >= 1024.0 && u < 6) m /= 1024.0, u++;
    if (v < 0) m = -m;
    if (a->unit == LC_PLOT_UNIT_BYTES) snprintf(buf, len, "%.3g %s", m, bytes[u]);
    else snprintf(buf, len, "%.3g%s", m, count[u]);
}

lc_status lc_plot_svg_lines(FILE *f, const lc_plot_opts *o, const lc_plot_series *series, int n_series,
                            lc_error *err) {
    lc_plot_opts def;
    if (!o) {
        lc_plot_opts_init(&def);
        o = &def;
    }
    if (!f || !series || n_series < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "plot: no series to draw");
    const int W = o->width ? o->width : 800, H = o->height ? o->height : 480;
    if (W < 100 || W > 10000 || H < 100 || H > 10000)
        return lc_fail(err, LC_ERR_INVALID_ARG, "plot: size %d x %d outside 100..10000 px", W, H);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int s = 0; s < n_series; s++) {
        if (series[s].n < 0 || (series[s].n > 0 && (!series[s].x || !series[s].y)))
            return lc_fail(err, LC_ERR_INVALID_ARG, "plot: series %d has no data arrays", s);
        for (int64_t i = 0; i < series[s].n; i++) {
            const double x = series[s].x[i], y = series[s].y[i];
            if (!usable(x, o->log_x) || !usable(y, o->log_y)) continue;
            xlo = fmin(xlo, to_plot(x, o->log_x)), xhi = fmax(xhi, to_plot(x, o->log_x));
            ylo = fmin(ylo, to_plot(y, o->log_y)), yhi = fmax(yhi, to_plot(y, o->log_y));
        }
    }
    if (!(xlo <= xhi))
        return lc_fail(err, LC_ERR_INVALID_ARG, "plot: no finite point to draw%s",
                       o->log_x || o->log_y ? " (log axes need positive values)" : "");
    axis ax, ay;
    make_axis(&ax, xlo, xhi, o->log_x, o->x_unit);
    make_axis(&ay, ylo, yhi, o->log_y, o->y_unit);

    lc_svg_title tl;
    lc_svg_title_layout(&tl, o->title, W - 24.0);
    const double ml = 78, mr = 24, mt = tl.n_lines ? lc_svg_title_height(&tl) + 18 : 20, mb = 56;
    if (H - mt - mb < 40) return lc_fail(err, LC_ERR_INVALID_ARG, "plot: %d px high leaves no room below the title", H);
    const double pw = W - ml - mr, ph = H - mt - mb;
#define PX(v) (ml + ((v) - ax.lo) / (ax.hi - ax.lo) * pw)
#define PY(v) (mt + ph - ((v) - ay.lo) / (ay.hi - ay.lo) * ph)
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    lc_svg_title_write(f, &tl, o->title, W / 2.0, 8.0 + tl.font_px);
    /* grid and ticks */
    fprintf(f, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0; i < ax.n_ticks; i++) {
        const double v = ax.tick[i];
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", PX(v), mt, PX(v), mt + ph);
    }
    for (int i = 0; i < ay.n_ticks; i++) {
        const double v = ay.tick[i];
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", ml, PY(v), ml + pw, PY(v));
    }
    fprintf(f, "</g>\n<g fill=\"#333333\">\n");
    char lab[48];
    for (int i = 0; i < ax.n_ticks; i++) {
        const double v = ax.tick[i];
        tick_label(lab, sizeof lab, v, &ax);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", PX(v), mt + ph + 18, lab);
    }
    for (int i = 0; i < ay.n_ticks; i++) {
        const double v = ay.tick[i];
        tick_label(lab, sizeof lab, v, &ay);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n", ml - 6, PY(v) + 4, lab);
    }
    fprintf(f, "</g>\n");
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#333333\"/>\n", ml,
            mt, pw, ph);
    if (o->x_label) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", ml + pw / 2, (double)H - 12);
        lc_svg_put_text(f, o->x_label);
        fprintf(f, "</text>\n");
    }
    if (o->y_label) {
        fprintf(f, "<text transform=\"translate(16 %.2f) rotate(-90)\" text-anchor=\"middle\">", mt + ph / 2);
        lc_svg_put_text(f, o->y_label);
        fprintf(f, "</text>\n");
    }
    /* series: a polyline per run of drawable points, a dot for a lone point */
    for (int s = 0; s < n_series; s++) {
        const char *color = palette[s % (int)LC_ARRAY_LEN(palette)];
        const lc_plot_series *se = &series[s];
        fprintf(f, "<g stroke=\"%s\" fill=\"none\" stroke-width=\"1.5\">\n", color);
#define OK_AT(k) (usable(se->x[k], o->log_x) && usable(se->y[k], o->log_y))
        int64_t i = 0;
        while (i < se->n) {
            /* a run: drawable points, with non-drawable ones skipped unless gaps */
            while (i < se->n && !OK_AT(i)) i++;
            int64_t j = i, last = i, count = 0;
            for (; j < se->n; j++) {
                if (OK_AT(j)) count++, last = j;
                else if (o->gaps) break;
            }
            if (count == 1) {
                fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n",
                        PX(to_plot(se->x[i], o->log_x)), PY(to_plot(se->y[i], o->log_y)), color);
            } else if (count > 1) {
                fprintf(f, "<polyline points=\"");
                for (int64_t k = i; k <= last; k++)
                    if (OK_AT(k))
                        fprintf(f, "%s%.2f,%.2f", k > i ? " " : "", PX(to_plot(se->x[k], o->log_x)),
                                PY(to_plot(se->y[k], o->log_y)));
                fprintf(f, "\"/>\n");
            }
            i = j;
        }
#undef OK_AT
        fprintf(f, "</g>\n");
    }
    /* legend (top right inside the plot) */
    int named = 0;
    for (int s = 0; s < n_series; s++) named += series[s].name != NULL;
    if (named) {
        const double lx = ml + pw - 170, ly = mt + 10;
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"160\" height=\"%d\" fill=\"white\" fill-opacity=\"0.85\" "
                   "stroke=\"#999999\"/>\n",
                lx, ly, 8 + 18 * named);
        int row = 0;
        for (int s = 0; s < n_series; s++) {
            if (!series[s].name) continue;
            const double yy = ly + 16 + 18 * row++;
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                    lx + 8, yy - 4, lx + 30, yy - 4, palette[s % (int)LC_ARRAY_LEN(palette)]);
            fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", lx + 36, yy);
            lc_svg_put_text(f, series[s].name);
            fprintf(f, "</text>\n");
        }
    }
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
    if (fflush(f) != 0 || ferror(f)) return lc_fail(err, LC_ERR_IO, "plot: writing the SVG failed");
    return LC_OK;
}
