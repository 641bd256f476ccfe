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

static void print_model(const char *what, int32_t L, int32_t H, int32_t Hkv, int32_t d, double eb, int64_t n_ctx, int P,
                        double bw, double lat) {
    lc_sp_model sm;
    lc_sp_analytic(L, H, Hkv, d, eb, n_ctx, P, bw, lat, &sm);
    printf("  %-36s P=%-2d n_ctx %8lld: KV/rank %10.1f MiB, %8.0f B/token/rank, comm %7.3f ms/token at %.0f Gb/s + "
           "%.0f us\n",
           what, P, (long long)n_ctx, sm.kv_bytes_per_rank / 1048576.0, sm.bytes_per_token,
           sm.seconds_per_token * 1e3, bw, lat);
}

/* Rank 0's lines: the run, every rank's figures, the analytic model. */
static void report(const cli_runtime_flags *rf, lc_context *ctx, const cli_sp *spc, int64_t len, int64_t n_dec,
                   int64_t repeat, bool ring, const lc_sp_bench_result *res, const lc_sp_bench_rank *all, double bw,
                   double lat) {
    const lc_model_config *c = &lc_context_model(ctx)->cfg;
    printf("bench sp: %s, P = %d ranks x %d threads, L = %lld, n_ctx %lld, kv %s/%s\n", rf->model_path, spc->n_ranks,
           lc_context_n_threads(ctx), (long long)len, (long long)lc_context_n_ctx(ctx),
           lc_dtype_name(lc_context_k_type(ctx)), lc_dtype_name(lc_context_v_type(ctx)));
    printf("  prefill %lld tokens (%s): %.1f tok/s (%.3f s), rank 0 sent %.0f bytes\n", (long long)len,
           ring ? "ring" : "allreduce", (double)len / res->prefill_s, res->prefill_s, res->prefill_bytes);
    printf("  decode at %lld: %.2f / %.2f / %.2f tok/s (min / median / max of %lld rounds of %lld)\n", (long long)len,
           res->decode_tok_s.min, res->decode_tok_s.median, res->decode_tok_s.max, (long long)repeat, (long long)n_dec);
    printf("  communication: %.0f bytes sent per decoded token per rank (%d combines of %d x %d floats)\n",
           res->bytes_per_token, c->n_layers, c->n_heads, c->head_dim + 2);
    for (int r = 0; r < spc->n_ranks; r++)
        printf("  rank %d: KV shard %.2f MiB, holds %.0f positions, RSS %.1f MiB; waiting for peers (transfers "
               "included): prefill %.3f s, decode %.3f ms per token; decode per token: matmul %.3f ms, attention "
               "%.3f ms (the wait included), other %.3f ms\n",
               r, all[r].kv_bytes / 1048576.0, all[r].n_held, all[r].rss_bytes / 1048576.0, all[r].wait_prefill_s,
               all[r].wait_per_token_s * 1e3, all[r].matmul_s * 1e3, all[r].attn_s * 1e3, all[r].other_s * 1e3);
    printf("analytic model (the combine by recursive doubling: log2 P exchanges per layer):\n");
    const lc_dtype kt = lc_context_k_type(ctx);
    const double eb = kt == LC_DTYPE_F32 ? 4.0 : kt == LC_DTYPE_F16 ? 2.0 : 34.0 / 32;
    print_model("this model", c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, eb, lc_context_n_ctx(ctx),
                spc->n_ranks, bw, lat);
    print_model("Llama-3-8B shape (32x32/8x128, f16)", 32, 32, 8, 128, 2.0, 1048576, 1, bw, lat);
    print_model("Llama-3-8B shape (32x32/8x128, f16)", 32, 32, 8, 128, 2.0, 1048576, 8, bw, lat);
}

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
    if (spc.rank == 0 && all) report(&rf, ctx, &spc, len, n_dec, repeat, !no_ring, &res, all, bw, lat);
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
