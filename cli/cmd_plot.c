/* longctx plot — line plots (SVG) of CSV columns, e.g. the loss curve that
 * `longctx train --log` writes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/plot.h"

#define MAX_FILES 8
#define MAX_Y 10

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx plot --csv FILE [--csv FILE2 ...] -x COL -y COL[,COL...] -o OUT.svg [options]\n\n"
            "Draws each Y column of each CSV file against the X column as one line of a standalone SVG.\n"
            "Empty or non-numeric fields are skipped and the line joins their neighbours (val_loss, written\n"
            "only at evaluations, draws as one line); --gaps breaks the lines there instead.\n\n"
            "options:\n"
            "  --csv FILE          a CSV with a header row (repeat for several runs, up to %d)\n"
            "  -x COL              x column (default: step)\n"
            "  -y COLS             comma-separated y columns (default: loss)\n"
            "  -o, --output FILE   the SVG to write ('-' for stdout)\n"
            "  --title TEXT        title (default: the y columns)\n"
            "  --label NAME        legend name of the next --csv's series (default: the file name)\n"
            "  --smooth N          trailing mean over N points (default 1: raw)\n"
            "  --log-y, --log-x    logarithmic axes\n"
            "  --gaps              break lines at empty fields\n"
            "  --width W --height H  size in pixels (default 800 x 480)\n"
            "  -h, --help          this help\n\n"
            "example: longctx train ... --log run.csv && longctx plot --csv run.csv -x step -y loss,val_loss "
            "--log-y -o loss.svg\n",
            MAX_FILES);
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
    const char *files[MAX_FILES], *labels[MAX_FILES] = {NULL}, *xcol = "step", *ycols = "loss", *out = NULL;
    const char *next_label = NULL;
    int n_files = 0;
    int64_t win = 1;
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, NULL, "--log-y")) {
            o.log_y = true;
        } else if (cli_is(a, NULL, "--log-x")) {
            o.log_x = true;
        } else if (cli_is(a, NULL, "--gaps")) {
            o.gaps = true;
        } else if (cli_is(a, NULL, "--csv") || cli_is(a, "-x", NULL) || cli_is(a, "-y", NULL) ||
                   cli_is(a, "-o", "--output") || cli_is(a, NULL, "--title") || cli_is(a, NULL, "--label") ||
                   cli_is(a, NULL, "--smooth") || cli_is(a, NULL, "--width") || cli_is(a, NULL, "--height")) {
            if (!(v = cli_value(argc, argv, &i, "plot"))) return CLI_USAGE;
            if (cli_is(a, NULL, "--csv")) {
                if (n_files == MAX_FILES) {
                    cli_error("plot", "at most %d --csv files", MAX_FILES);
                    return CLI_USAGE;
                }
                labels[n_files] = next_label;
                next_label = NULL;
                files[n_files++] = v;
            } else if (cli_is(a, "-x", NULL)) {
                xcol = v;
            } else if (cli_is(a, "-y", NULL)) {
                ycols = v;
            } else if (cli_is(a, "-o", "--output")) {
                out = v;
            } else if (cli_is(a, NULL, "--title")) {
                o.title = v;
            } else if (cli_is(a, NULL, "--label")) {
                next_label = v;
            } else {
                int64_t n;
                if (!cli_int_flag("plot", a, v, 1, cli_is(a, NULL, "--smooth") ? CLI_INT_LIMIT : 1 << 16, &n))
                    return CLI_USAGE;
                if (cli_is(a, NULL, "--smooth")) win = n;
                else if (cli_is(a, NULL, "--width")) o.width = (int)n;
                else o.height = (int)n;
            }
        } else {
            return cli_unknown_option("plot", a, usage);
        }
    }
    if (n_files == 0 || !out) {
        cli_error("plot", "need --csv FILE and -o OUT.svg");
        usage(stderr);
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
