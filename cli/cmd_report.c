/*
 * longctx report — measure this machine and the shipped models and write
 * report/index.html (self-contained), report/report.md (+ SVG figures) and
 * report/report.json. The work is in the library (include/longctx/report.h);
 * this file parses flags and draws progress.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "commands.h"
#include "longctx/report.h"
#include "longctx/sys.h"

#define CMD "report"

static const char synopsis[] =
    "usage: longctx report [options]\n\n"
    "Measures, on this machine, the claims of the article's two tables (attention memory per\n"
    "context length; the comparison of long-context techniques), length extrapolation with RoPE\n"
    "scaling, perplexity against context and attention retention, with longctx's kernels and\n"
    "the shipped models, then writes:\n"
    "  DIR/index.html    one self-contained page (inline CSS and SVG, no script, no network)\n"
    "  DIR/report.md     the same for GitHub, with the figures as DIR/fig-*.svg\n"
    "  DIR/report.json   every number\n"
    "A missing model skips what needs it, saying so. Cells that would not fit in the time\n"
    "budget are skipped and listed. docs/report.md explains every section.\n\n";

static bool opt_dir(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (!*v) return cli_error(cmd, "%s: an empty directory name", name), false;
    *(const char **)o->dst = v;
    return true;
}

int cmd_report(int argc, char **argv) {
    const char *out_dir = "report";
    bool json = false;
    lc_report_config c;
    lc_report_config_init(&c);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("-o|--output", "DIR", opt_dir, &out_dir, "output directory (default report; created if needed)"),
        CLI_SET("--quick", &c.quick,
                "fewer lengths, trials and repetitions: about 2 minutes (default run:\n"
                "about 10 minutes on 2 cores)"),
        CLI_INT("-t|--threads", "N", &c.n_threads, 1, INT32_MAX, "threads (default: all CPUs)"),
        CLI_FN("--models", "DIR", opt_dir, &c.models_dir,
               "where longctx-default.gguf, longctx-yarn8.gguf and\n"
               "longctx-linear.gguf are (default models)"),
        CLI_DOUBLE("--time-budget", "S", &c.time_budget, 1e-9, 1e9, "seconds the measurements may take (default 540; --quick 100)"),
        CLI_U64("--seed", "N", &c.seed, 0, CLI_INT_LIMIT, "seed of the task samples and random weights (default 1)"),
        CLI_SET("--json", &json, "also print report.json on stdout (the summary goes to stderr)"),
        CLI_SET("--test-tiny", &c.tiny,
                "testing only: random tiny stand-in models and tiny lengths, so the\n"
                "run takes seconds; the numbers mean nothing"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;

    char version[192];
    c.version = lc_report_git_version(LONGCTX_VERSION_STRING, version, sizeof version);
    char command[1024];
    c.command = lc_join_args("longctx", argc, argv, command, sizeof command);

    cli_progress bar; /* a line with an ETA on a terminal; one line per section otherwise */
    cli_progress_init(&bar);
    bar.stages = "longctx report";
    c.progress = cli_progress_cb;
    c.progress_user = &bar;

    lc_error err;
    lc_report *r = NULL;
    lc_status st = lc_report_run(&c, &r, &err);
    cli_progress_done(&bar);
    if (st == LC_OK) st = lc_report_write(r, out_dir, &err);
    if (st == LC_OK && json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_report_write_json(r, &w);
        lc_json_finish(&w);
    }
    if (st == LC_OK) lc_report_print_summary(json ? stderr : stdout, r, out_dir);
    lc_report_free(r);
    return st == LC_OK ? CLI_OK : cli_fail(CMD, &err);
}
