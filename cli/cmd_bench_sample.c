/*
 * longctx bench sample — microseconds per sampled token for several sampler
 * chains and vocabulary sizes, against a naive baseline that fully sorts
 * the vocabulary every token (what the sampler avoids). The measurement is
 * lc_bench_sample_chains (src/bench/sample_bench.c).
 */
#include <stdio.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/sample.h"
#include "longctx/sys.h"

#define CMD "bench sample"

static const char synopsis[] =
    "usage: longctx bench sample [options] [sampling options]\n\n"
    "Times one sampled token (penalties, filters, draw; the copy of the logits included)\n"
    "for: greedy; llama.cpp's default chain; top-p alone; min-p alone; temperature alone;\n"
    "the default chain with a repeat penalty; the chain given by the sampling options (if\n"
    "any); and a naive baseline that sorts the whole vocabulary each token.\n\n";

/* The sampling options given: applied to *p, and *custom set. */
typedef struct {
    lc_sampler_params *p;
    bool *custom;
} sample_user;

static bool opt_sampler(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const sample_user *u = o->dst;
    lc_error err;
    *u->custom = true;
    if (lc_sampler_apply_option(u->p, name, v, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

int bench_sample(int argc, char **argv) {
    int64_t vocabs[16] = {32000, 128256};
    int n_vocabs = 2, n_iter = 200, reps = 5;
    float scale = 3.0f;
    bool json = false, custom = false;
    lc_sampler_params user;
    lc_sampler_params_init(&user);
    lc_error err;
    sample_user su = {&user, &custom};
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_I64_LIST("--vocab", "LIST", vocabs, &n_vocabs, 16, 1, "vocabulary sizes, at most 2^24 each (default 32000,128256)"),
        CLI_FLOAT("--scale", "S", &scale, 1e-30, CLI_REAL_LIMIT, "logits ~ N(0, S^2) (default 3)"),
        CLI_INT("-n", "N", &n_iter, 1, CLI_MAX_ITERS, "tokens per timed pass (default 200)"),
        BENCH_BEST_OF_OPT(&reps),
        CLI_SET("--json", &json, "JSON on stdout"),
        CLI_SECTION("sampling options (llama.cpp names):"),
        CLI_FAMILY(lc_sampler_is_option, opt_sampler, &su, lc_sampler_options_help()),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    for (int k = 0; k < n_vocabs; k++)
        if (vocabs[k] > (1 << 24)) return cli_error(CMD, "--vocab: %lld is more than 2^24", (long long)vocabs[k]), CLI_USAGE;

    lc_table *t = NULL;
    if (lc_bench_sample_table(&t, &err) != LC_OK) return cli_fail(CMD, &err);
    if (!json) printf("logits N(0, %g^2), best of %d x %d tokens\n", (double)scale, reps, n_iter);
    lc_status st = LC_OK;
    for (int vi = 0; vi < n_vocabs && st == LC_OK; vi++) {
        lc_bench_sample_row rows[LC_BENCH_SAMPLE_MAX_CHAINS];
        int n_rows = 0;
        const lc_sampler_params *chain = custom ? &user : NULL;
        st = lc_bench_sample_chains((int32_t)vocabs[vi], scale, n_iter, reps, chain, rows, &n_rows, &err);
        lc_bench_sample_table_add(t, (int32_t)vocabs[vi], rows, st == LC_OK ? n_rows : 0);
    }
    return bench_report(CMD, json, st, &err, NULL, NULL, t);
}
