/* longctx bench model — prefill and decode throughput of a model at several
 * context lengths (synthetic tokens), with the time split matmul / attention /
 * other, decode bytes/s (weights + KV read per token) and prefill matmul
 * GFLOP/s, each stated against `bench peak` measured in the same run. */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "llama_flags.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"
#include "runtime_flags.h"
#include "serve_flags.h"
#include "sp_cli.h"

#define MAX_CTX 16
#define MAX_REPEAT 9

static const char synopsis[] =
    "usage: longctx bench model -m MODEL [options]\n\n"
    "For each context length L: prefill L synthetic tokens (chunks of -b), then decode -n more\n"
    "one at a time. Reports tokens/s, the time split matmul / attention / other, matmul GFLOP/s\n"
    "in prefill, and decode bytes/s: the weights plus the K/V cache read per token.\n\n";

static bool opt_fill_kv(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (strcmp(v, "random") == 0) return *(bool *)o->dst = true;
    cli_error(cmd, "%s: '%s' is not random (the only filling there is)", name, v);
    return false;
}

typedef lc_bench_model_row bench_row;

/* What the command line asks for. */
typedef struct {
    const char *model_path;
    int64_t ctxs[MAX_CTX];
    int n_ctx;
    int64_t n_dec, seed, n_repeat;
    bool json, peak, synthetic, interleave, warmup, no_mmap;
    lc_context_opts co;
    cli_sp spc; /* --sp: every cell sharded over the MPI ranks */
} bm_args;

/* -1 to go on, else the exit status. */
static int parse_args(bm_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    const int64_t ctxs[] = {128, 1024, 4096, 16384};
    memcpy(a->ctxs, ctxs, sizeof ctxs);
    a->n_ctx = 4, a->n_dec = 32, a->seed = 1, a->n_repeat = 1, a->peak = true, a->warmup = true;
    lc_context_opts_init(&a->co);
    lc_context_opts *co = &a->co;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &a->model_path,
                "GGUF or llama2.c .bin (make one: longctx convert --random --preset 15M\n--type f16 m15.gguf)"),
        CLI_I64_LIST("--ctx", "LIST", a->ctxs, &a->n_ctx, MAX_CTX, 1, "context lengths (default 128,1K,4K,16K)"),
        CLI_I64("-n|--decode", "N", &a->n_dec, 0, LC_CONTEXT_MAX_TOKENS,
                "decode tokens timed at each length (default 32)"),
        CLI_I64("-b|--batch-size", "N", &co->n_batch, 1, LC_CONTEXT_MAX_TOKENS, "prefill chunk (default 512)"),
        CLI_FN("-t|--threads", "N", cli_opt_threads, &co->n_threads, "threads (default: all CPUs)"),
        CLI_FN("--attn", "SPEC", cli_opt_attn, &co->attn, "attention method (default: the model's, else flash)"),
        CLI_FN("-ctk|--cache-type-k", "T", cli_opt_dtype, &co->k_type, "KV cache type for K (default f16)"),
        CLI_FN("-ctv|--cache-type-v", "T", cli_opt_dtype, &co->v_type, "KV cache type for V (default f16)"),
        CLI_I64("--swa", "N", &co->swa, -1, LC_CONTEXT_MAX_TOKENS, "window layers' window (run --help)"),
        CLI_INT("--swa-period", "P", &co->swa_period, 1, INT32_MAX, "window on every layer but each P-th"),
        CLI_SET("--swa-full", &co->swa_full, "window layers keep the whole KV cache"),
        CLI_I64("--seed", "S", &a->seed, -CLI_INT_LIMIT, CLI_INT_LIMIT, "synthetic token seed (default 1)"),
        CLI_I64("--repeat", "R", &a->n_repeat, 1, MAX_REPEAT,
                "measure the lengths R times, in turn (1..9, default 1); the per-kind\n"
                "summary gives median [min, max] over the repeats"),
        CLI_SET("--interleave", &a->interleave,
                "hold every length's context at once and decode them token by token in\n"
                "turn, so that a busy machine slows every length alike (ratios between\n"
                "lengths are then paired measurements)"),
        CLI_FN("--fill-kv", "random", opt_fill_kv, &a->synthetic,
               "reach each length without prefilling it: the KV cache takes random\n"
               "rows (window layers: their ring) and Gated DeltaNet states random\n"
               "values (lc_context_fill_synthetic), then -n tokens are decoded. Decode\n"
               "at depth L costs what it costs after a real prefill (attention reads\n"
               "the same number of rows; the recurrence is the same size), outputs are\n"
               "meaningless; the output says \"synthetic depth\" and has no prefill"),
        CLI_CLEAR("--no-peak", &a->peak, "skip measuring the machine's peak (no fractions)"),
        CLI_CLEAR("--no-warmup", &a->warmup,
                  "skip the warm-up: by default one token is run through a small\n"
                  "context first, untimed, so that the weights are paged in before the\n"
                  "first timed prefill (as llama-bench's warm-up run does)"),
        CLI_SET("--json", &a->json, "one JSON object on stdout"),
        CLI_SET("--sp", &a->spc.on,
                "sequence parallel (under mpirun -np P): each cell's context sharded\n"
                "over the ranks, the prompt by ring attention, decode combined by\n"
                "allreduce (docs/distributed.md); KV MiB is the largest rank's shard;\n"
                "no peak measurement"),
        CLI_KV_BUDGET(&a->spc.kv_budget, "with --sp: K/V bytes one rank may hold"),
        CLI_LLAMA_OPTS(&co->attn, &a->no_mmap), /* llama-bench's -ngl, -fa */
    };
    const cli_opt_spec spec = CLI_SPEC("bench model", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!a->model_path) {
        cli_error("bench model", "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    const char *why = a->spc.kv_budget && !a->spc.on ? "--kv-budget goes with --sp"
                      : a->spc.on && (a->interleave || a->synthetic)
                          ? "--sp measures one length at a time after a ring prefill (no --interleave, --fill-kv)"
                          : NULL;
    if (why) {
        cli_error("bench model", "%s", why);
        return CLI_USAGE;
    }
    if (a->spc.on) a->peak = false; /* every rank at once would measure a shared machine */
    return -1;
}

/* A run's model, machine and measured rows. */
typedef struct {
    const bm_args *a;
    lc_model *m;
    lc_bench_model_run run; /* what the faces state beside the rows */
    cli_sp *sp;             /* --sp (NULL: one process) */
    bench_row rows[MAX_CTX * MAX_REPEAT];
    int n_rows;
} bm_run;

/* Every length R times (or all lengths at once with --interleave); the rows as they come. */
static int measure(bm_run *r) {
    const bm_args *a = r->a;
    lc_error err;
    if (!r->sp) {
        const lc_status st = lc_bench_model_measure(r->m, &r->run, a->n_dec, (uint64_t)a->seed, (int)a->n_repeat,
                                                    r->rows, &r->n_rows, a->json ? NULL : stdout, &err);
        return st == LC_OK ? CLI_OK : cli_fail("bench model", &err);
    }
    for (int j = 0; j < a->n_ctx * (int)a->n_repeat; j++) { /* --sp: one cell at a time, sharded */
        double sp_bytes = 0;
        if (cli_sp_bench_cell(r->sp, r->m, &a->co, a->ctxs[j % a->n_ctx], a->n_dec, (uint64_t)a->seed, &r->rows[j],
                              &sp_bytes, &err) != LC_OK)
            return r->sp->rank == 0 ? cli_fail("bench model", &err) : CLI_FAIL;
        r->n_rows = j + 1;
        if (!a->json) lc_bench_model_print_row(stdout, &r->rows[j], false, NULL);
        if (!a->json)
            printf("%8s   sp: %d ranks, %.0f bytes sent per decoded token per rank\n", "", r->sp->n_ranks, sp_bytes);
    }
    return CLI_OK;
}

int bench_model(int argc, char **argv) {
    bm_args a;
    const int prc = parse_args(&a, argc, argv);
    if (prc >= 0) return prc;
    bm_run *r = calloc(1, sizeof *r);
    if (!r) return CLI_FAIL;
    r->a = &a;
    lc_error err;
    cli_runtime_flags rf; /* with --sp every rank loads the model, with one agreed outcome */
    cli_runtime_flags_init(&rf);
    rf.model_path = a.model_path;
    rf.no_mmap = a.no_mmap;
    int rc = cli_sp_begin(&a.spc, "bench model");
    if (rc == CLI_OK) rc = cli_sp_load_model(&a.spc, &rf, &r->m, "bench model");
    if (rc != CLI_OK) {
        cli_sp_end(&a.spc);
        free(r);
        return rc;
    }
    r->sp = a.spc.on ? &a.spc : NULL;
    lc_bench_model_run *run = &r->run;
    lc_bench_model_run_init(run, a.model_path, r->m, &a.co);
    run->sp_ranks = r->sp ? r->sp->n_ranks : 0;
    run->synthetic = a.synthetic, run->interleave = a.interleave;
    run->ctxs = a.ctxs, run->n_ctx = a.n_ctx;
    if (a.peak && lc_bench_peak(a.co.n_threads, 0, &run->peak, &err) != LC_OK) {
        cli_error("bench model", "peak measurement failed (%s); continuing without fractions", err.msg);
        memset(&run->peak, 0, sizeof run->peak);
    }
    if (a.warmup && lc_bench_model_warm_up(r->m, &a.co, &err) != LC_OK) {
        lc_model_free(r->m);
        cli_sp_end(&a.spc);
        free(r);
        return cli_fail("bench model", &err);
    }
    if (!a.json) lc_bench_model_print_head(stdout, run, NULL);
    rc = measure(r);
    if ((a.json ? lc_bench_model_write_json(stdout, run, r->rows, r->n_rows, &err)
                : lc_bench_model_print_summary(stdout, run, r->rows, r->n_rows, &err)) != LC_OK && rc == CLI_OK)
        rc = cli_fail("bench model", &err);
    lc_model_free(r->m);
    cli_sp_end(&a.spc);
    free(r);
    return rc;
}
