/* longctx plot — line plots (SVG) of CSV columns, e.g. the loss curve that
 * `longctx train --log` writes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/plot.h"
#include "opt.h"

#define MAX_FILES 8
#define MAX_Y 10

static const char synopsis[] =
    "usage: longctx plot --csv FILE [--csv FILE2 ...] -x COL -y COL[,COL...] -o OUT.svg [options]\n\n"
    "Draws each Y column of each CSV file against the X column as one line of a standalone SVG.\n"
    "Empty or non-numeric fields are skipped and the line joins their neighbours (val_loss, written\n"
    "only at evaluations, draws as one line); --gaps breaks the lines there instead.\n\n";

/* --csv and --label, in order: a label names the next --csv's series. */
typedef struct {
    const char *files[MAX_FILES], *labels[MAX_FILES], *next_label;
    int n_files;
} plot_files;

static bool opt_csv(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    plot_files *p = o->dst;
    if (p->n_files == MAX_FILES) return cli_error(cmd, "at most %d %s files", MAX_FILES, name), false;
    p->labels[p->n_files] = p->next_label;
    p->next_label = NULL;
    p->files[p->n_files++] = v;
    return true;
}

/* Trailing mean over window w, skipping NaN. */
static void smooth(const double *in, double *out, int64_t n, int64_t w) {
    w = w < n ? w : n; /* a window past the rows is all the rows so far */
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        int64_t c = 0;
        for (int64_t j = i - w + 1 > 0 ? i - w + 1 : 0; j <= i; j++)
            if (isfinite(in[j])) s += in[j], c++;
        out[i] = isfinite(in[i]) && c ? s / c : NAN;
    }
}

int cmd_plot(int argc, char **argv) {
    plot_files pf = {.n_files = 0};
    const char *xcol = "step", *ycols = "loss", *out = NULL;
    int64_t win = 1;
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("--csv", "FILE", opt_csv, &pf, "a CSV with a header row (repeat for several runs, up to 8)"),
        CLI_STR("-x", "COL", &xcol, "x column (default: step)"),
        CLI_STR("-y", "COLS", &ycols, "comma-separated y columns (default: loss)"),
        CLI_STR("-o|--output", "FILE", &out, "the SVG to write ('-' for stdout)"),
        CLI_STR("--title", "TEXT", &o.title, "title (default: the y columns)"),
        CLI_STR("--label", "NAME", &pf.next_label, "legend name of the next --csv's series (default: the file name)"),
        CLI_I64("--smooth", "N", &win, 1, CLI_INT_LIMIT, "trailing mean over N points (default 1: raw)"),
        CLI_SET("--log-y", &o.log_y, "logarithmic y axis"),
        CLI_SET("--log-x", &o.log_x, "logarithmic x axis"),
        CLI_SET("--gaps", &o.gaps, "break lines at empty fields"),
        CLI_INT("--width", "W", &o.width, 1, 1 << 16, "width in pixels (default 800)"),
        CLI_INT("--height", "H", &o.height, 1, 1 << 16, "height in pixels (default 480)"),
    };
    const cli_opt_spec spec = CLI_SPEC("plot", synopsis,
                                       "example: longctx train ... --log run.csv && longctx plot --csv run.csv -x step "
                                       "-y loss,val_loss --log-y -o loss.svg\n",
                                       opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    const char **files = pf.files, **labels = pf.labels;
    const int n_files = pf.n_files;
    if (n_files == 0 || !out) {
        cli_error("plot", "need --csv FILE and -o OUT.svg");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    /* y column names */
    char ybuf[512];
    const char *ynames[MAX_Y];
    int n_y = 0;
    snprintf(ybuf, sizeof ybuf, "%s", ycols);
    for (char *tok = strtok(ybuf, ","); tok && n_y < MAX_Y; tok = strtok(NULL, ",")) ynames[n_y++] = tok;
    if (n_y == 0) {
        cli_error("plot", "-y names no column");
        return CLI_USAGE;
    }
    lc_csv *tables[MAX_FILES] = {NULL};
    lc_plot_series series[MAX_FILES * MAX_Y];
    double *buffers[MAX_FILES * MAX_Y] = {NULL};
    char names[MAX_FILES * MAX_Y][160];
    int n_series = 0, rc = CLI_OK;
    lc_error err;
    for (int f = 0; f < n_files && rc == CLI_OK; f++) {
        if (lc_csv_load(files[f], &tables[f], &err) != LC_OK) {
            rc = cli_fail("plot", &err);
            break;
        }
        const int32_t xi = lc_csv_find(tables[f], xcol);
        if (xi < 0) {
            cli_error("plot", "%s has no column '%s'", files[f], xcol);
            rc = CLI_FAIL;
            break;
        }
        for (int y = 0; y < n_y; y++) {
            const int32_t yi = lc_csv_find(tables[f], ynames[y]);
            if (yi < 0) {
                cli_error("plot", "%s has no column '%s'", files[f], ynames[y]);
                rc = CLI_FAIL;
                break;
            }
            const int64_t n = lc_csv_n_rows(tables[f]);
            const double *ys = lc_csv_col(tables[f], yi);
            if (win > 1) {
                buffers[n_series] = (double *)malloc((size_t)(n ? n : 1) * sizeof(double));
                if (!buffers[n_series]) {
                    cli_error("plot", "out of memory");
                    rc = CLI_FAIL;
                    break;
                }
                smooth(ys, buffers[n_series], n, win);
                ys = buffers[n_series];
            }
            const char *base = labels[f] ? labels[f] : files[f];
            if (n_files > 1 && n_y > 1) snprintf(names[n_series], sizeof names[0], "%s: %s", base, ynames[y]);
            else snprintf(names[n_series], sizeof names[0], "%s", n_files > 1 ? base : ynames[y]);
            series[n_series] = (lc_plot_series){names[n_series], lc_csv_col(tables[f], xi), ys, n};
            n_series++;
        }
    }
    char title[256];
    if (rc == CLI_OK) {
        if (!o.title) {
            snprintf(title, sizeof title, "%s vs %s", ycols, xcol);
            o.title = title;
        }
        o.x_label = xcol;
        o.y_label = n_y == 1 ? ynames[0] : NULL;
        FILE *f = cli_open_out(out, "plot");
        if (!f) {
            rc = CLI_FAIL;
        } else {
            if (lc_plot_svg_lines(f, &o, series, n_series, &err) != LC_OK) rc = cli_fail("plot", &err);
            cli_close_out(f);
        }
    }
    for (int i = 0; i < n_series; i++) free(buffers[i]);
    for (int f = 0; f < n_files; f++) lc_csv_free(tables[f]);
    return rc;
}
