/* longctx plot — line plots (SVG) of CSV columns, e.g. the loss curve that
 * `longctx train --log` writes. */
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/plot.h"
#include "opt.h"

#define MAX_FILES 8

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
    if (pf.n_files == 0 || !out) {
        cli_error("plot", "need --csv FILE and -o OUT.svg");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    if (strspn(ycols, ",") == strlen(ycols)) {
        cli_error("plot", "-y names no column");
        return CLI_USAGE;
    }
    const lc_plot_csv_request q = {pf.files, pf.labels, pf.n_files, xcol, ycols, win};
    lc_plot_csv_lines *lines = NULL;
    lc_error err;
    if (lc_plot_csv_lines_load(&q, &lines, &err) != LC_OK) return cli_fail("plot", &err);
    int rc = CLI_OK;
    FILE *f = cli_open_out(out, "plot");
    if (!f) rc = CLI_FAIL;
    else if (lc_plot_csv_lines_svg(f, lines, &o, &err) != LC_OK) rc = cli_fail("plot", &err);
    cli_close_out(f);
    lc_plot_csv_lines_free(lines);
    return rc;
}
