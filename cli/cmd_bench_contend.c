/* longctx bench contend — decode speed beside competing CPU load: the same decode
 * timed on a quiet machine and beside N busy processes (same priority, forked by
 * this command and killed after each run), alternating run by run. Reports
 * min / median / max tokens/s of both and the slowdown (quiet median / loaded
 * median); fair share with one busy process per core is 2x. The measurement is
 * lc_bench_contend (src/bench/contend_bench.c). */
#include <stdlib.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"

static const char synopsis[] =
    "usage: longctx bench contend -m MODEL [options]\n\n"
    "Times decode of -n tokens after a prefill of --ctx tokens, alternately on the machine as it\n"
    "is and beside --busy N spinning processes at the same priority (one per CPU by default).\n"
    "Prints min / median / max tokens/s of both and the slowdown (quiet median / loaded median;\n"
    "fair share on P cores with P busy processes is 2x). The OpenMP wait policy in force is\n"
    "printed: the CLI sets GOMP_SPINCOUNT=1000 (and KMP_BLOCKTIME=0) itself unless\n"
    "OMP_WAIT_POLICY, GOMP_SPINCOUNT or KMP_BLOCKTIME is set (see docs/performance.md).\n\n";

int bench_contend(int argc, char **argv) {
    const char *model_path = NULL;
    int64_t L = 128, n_dec = 64;
    int busy = lc_cpu_count(), reps = 5;
    bool json = false;
    lc_context_opts co;
    lc_context_opts_init(&co);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &model_path, "GGUF or llama2.c .bin"),
        CLI_I64("--ctx", "L", &L, 1, 1 << 24, "prompt length before the timed decode (default 128)"),
        CLI_I64("-n|--decode", "N", &n_dec, 1, 1 << 20, "decode tokens timed per run (default 64)"),
        CLI_INT("--busy", "N", &busy, 0, LC_BENCH_CONTEND_MAX, "competing busy processes (default: CPU count)"),
        CLI_INT("--reps", "R", &reps, 1, LC_BENCH_CONTEND_MAX, "runs of each kind (default 5, at most 64)"),
        CLI_INT("-t|--threads", "N", &co.n_threads, 1, INT32_MAX, "threads (default: all CPUs)"),
        CLI_JSON_STDOUT(&json),
    };
    const cli_opt_spec spec = CLI_SPEC("bench contend", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!model_path) {
        cli_error("bench contend", "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    lc_error err;
    lc_model *m = NULL;
    if (lc_model_load(model_path, NULL, &m, &err) != LC_OK) return cli_fail("bench contend", &err);
    lc_bench_contend_result res;
    lc_table *t = NULL;
    lc_status st = lc_bench_contend(m, &co, L, n_dec, busy, reps, &res, &err);
    if (st == LC_OK) st = lc_bench_contend_table(model_path, &res, &t, &err);
    const int rc = bench_report("bench contend", json, st, &err, t, NULL, NULL);
    lc_model_free(m);
    return rc;
}
