/* longctx bench sp — sequence parallelism over MPI (include/longctx/sp.h):
 * under `mpirun -np P`, prefill and decode tokens/s of a sharded context,
 * each rank's KV bytes and resident memory, the bytes each rank sends per
 * decoded token (measured), and the analytic model of the communication for
 * a network of a given bandwidth, for this model and for the Llama-3-8B
 * shape at 1M tokens. Synthetic tokens. */
#include <stdlib.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/util.h"
#include "longctx/runtime.h"
#include "longctx/sys.h"
#include "llama_flags.h"
#include "runtime_flags.h"
#include "sp_cli.h"

#ifdef LC_HAVE_MPI
#include "longctx/sp.h"

#define MAX_REPEAT LC_SP_BENCH_MAX_REPEAT

static const char synopsis[] =
    "usage: [mpirun -np P] longctx bench sp -m MODEL [options]\n\n"
    "Runs a context sharded over the MPI ranks (P = 1 without mpirun): prefills -L synthetic\n"
    "tokens, then -r rounds of -n decode steps (each round truncated back to L); prints\n"
    "tokens/s (min/median/max over rounds), each rank's KV bytes and RSS, the bytes each rank\n"
    "sends per decoded token, and the analytic model of that traffic on a network.\n\n";

int bench_sp(int argc, char **argv) {
    cli_runtime_flags rf;
    cli_runtime_flags_init(&rf);
    int64_t len = 4096, n_dec = 32, repeat = 3;
    double bw = 10, lat = 5;
    bool no_ring = false;
    size_t kv_budget = 0;
    double spin = 0;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_MODEL_OPTS(&rf),
        CLI_RUNTIME_OPTS(&rf),
        CLI_I64("-L|--length", "N", &len, 1, CLI_INT_LIMIT, "prompt length (default 4096); -c defaults to L + n"),
        CLI_I64("-n|--decode", "N", &n_dec, 1, CLI_INT_LIMIT, "decode steps per round (default 32)"),
        CLI_I64("-r|--repeat", "R", &repeat, 1, MAX_REPEAT, "rounds (default 3)"),
        CLI_SET("--no-ring", &no_ring,
                "prefill with every rank running every token (one allreduce per\n"
                "layer, as decode) instead of ring attention over its own blocks"),
        CLI_KV_BUDGET(&kv_budget, "K/V bytes one rank may hold (K/M/G suffixes)"),
        CLI_DOUBLE("--wait-spin", "US", &spin, -1, 1e6,
                   "how a rank waits for its peers: poll US microseconds, then sleep\n"
                   "between polls (default 1000); -1: MPI's own MPI_Allreduce and\n"
                   "busy wait"),
        CLI_DOUBLE("--bandwidth", "GBIT", &bw, 1e-9, CLI_REAL_LIMIT, "network for the analytic model, Gbit/s (default 10)"),
        CLI_DOUBLE("--latency", "US", &lat, 0, CLI_REAL_LIMIT, "per-message latency, microseconds (default 5)"),
        CLI_LLAMA_OPTS(&rf.co.attn, &rf.no_mmap),
        CLI_ROPE_OPTS(&rf),
    };
    const cli_opt_spec spec = CLI_SPEC("bench sp", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (rf.co.n_ctx == 0) rf.co.n_ctx = len + n_dec;
    if (rf.co.n_ctx < len + n_dec) {
        cli_error("bench sp", "-c %lld is less than -L + -n = %lld", (long long)rf.co.n_ctx, (long long)(len + n_dec));
        return CLI_USAGE;
    }
    cli_sp spc = {0};
    spc.on = true;
    spc.kv_budget = kv_budget;
    spc.wait_spin_us = spin;
    rf.co.kv_external = true; /* each rank allocates its shard only */
    int rc = cli_sp_begin(&spc, "bench sp");
    if (rc != CLI_OK) return rc;
    lc_model *m = NULL;
    lc_context *ctx = NULL;
    lc_error err;
    rc = CLI_FAIL;
    if (cli_sp_load_model(&spc, &rf, &m, "bench sp") != CLI_OK) goto done;
    {
        const lc_status cst = lc_context_create(m, &rf.co, &ctx, &err);
        if (cli_sp_attach(&spc, ctx, cst, &err, "bench sp") != CLI_OK) goto done;
    }
    lc_sp_bench_result res;
    lc_sp_bench_rank *all = spc.rank == 0 ? calloc((size_t)spc.n_ranks, sizeof *all) : NULL;
    if (lc_sp_bench_run(spc.sp, ctx, MPI_COMM_WORLD, len, n_dec, (int)repeat, !no_ring, &res, all, &err) != LC_OK) {
        if (spc.rank == 0) cli_fail("bench sp", &err);
        free(all);
        goto done;
    }
    const lc_sp_bench_setup bs = {rf.model_path, spc.n_ranks, len, n_dec, (int)repeat, !no_ring, bw, lat};
    if (spc.rank == 0 && all) lc_sp_bench_print(stdout, &bs, ctx, &res, all, NULL);
    free(all);
    rc = CLI_OK;
done:
    cli_sp_end(&spc); /* detaches from ctx: before it is freed */
    lc_context_free(ctx);
    lc_model_free(m);
    return rc;
}

#else

int bench_sp(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("bench sp", "this longctx was built without MPI (install libopenmpi-dev openmpi-bin and configure again)");
    return CLI_FAIL;
}

#endif
