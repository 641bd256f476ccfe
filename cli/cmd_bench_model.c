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
#include "longctx/json.h"
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

static double pct(double a, double total) { return total > 0 ? 100.0 * a / total : 0.0; }

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
    lc_peak pk;
    cli_sp *sp; /* --sp (NULL: one process) */
    bench_row rows[MAX_CTX * MAX_REPEAT];
    int n_rows;
    char cpu[128];
    int threads;
    lc_bench_model_info info; /* layers per kind, weight type */
} bm_run;

static void print_head(const bm_run *r) {
    const bm_args *a = r->a;
    const lc_model_config *c = &r->m->cfg;
    printf("model %s: %lld params, %s weights, %d layers, dim %d, heads %d/%d\n", a->model_path,
           (long long)lc_model_n_params(c), lc_dtype_name(r->info.weight_type), c->n_layers, c->dim, c->n_heads,
           c->n_kv_heads);
    printf("cpu %s, %d threads, attn %s, kv %s/%s", r->cpu, r->threads,
           a->co.attn ? a->co.attn : "(model's, else flash)", lc_dtype_name(a->co.k_type), lc_dtype_name(a->co.v_type));
    if (r->pk.fma_gflops > 0) printf("; peak %.1f GFLOP/s FMA, %.1f GB/s read", r->pk.fma_gflops, r->pk.read_gbs);
    if (r->sp)
        printf("\nsequence parallel (--sp): %d ranks of %d threads; prefill by ring attention, decode by one allreduce "
               "per layer; KV MiB = the largest rank's shard",
               r->sp->n_ranks, r->threads);
    if (a->synthetic)
        printf("\nsynthetic depth (--fill-kv random): each context is random K/V rows and DeltaNet states, not "
               "a prefill; decode timings only");
    printf("\n\n%8s | %10s %7s %7s %7s %9s | %9s %7s %7s %7s %9s %9s | %9s\n", "ctx", "prefill/s", "matmul", "attn",
           "other", "mm GF/s", "decode/s", "matmul", "attn", "other", "MB/token", "GB/s", "KV MiB");
}

static void print_row(const bench_row *r, bool synthetic) {
    const double pt = r->pf_matmul_s + r->pf_attn_s + r->pf_other_s;
    const double dt = r->dc_matmul_s + r->dc_attn_s + r->dc_other_s;
    if (synthetic)
        printf("%8lld | %10s %7s %7s %7s %9s | %9.1f %6.1f%% %6.1f%% %6.1f%% %9.2f %9.2f | %9.2f\n", (long long)r->ctx,
               "synthetic", "-", "-", "-", "-", r->decode_tok_s, pct(r->dc_matmul_s, dt), pct(r->dc_attn_s, dt),
               pct(r->dc_other_s, dt), r->dc_bytes_per_tok / 1e6, r->dc_gbs, r->kv_bytes / 1048576.0);
    else
        printf("%8lld | %10.1f %6.1f%% %6.1f%% %6.1f%% %9.1f | %9.1f %6.1f%% %6.1f%% %6.1f%% %9.2f %9.2f | %9.2f\n",
               (long long)r->ctx, r->prefill_tok_s, pct(r->pf_matmul_s, pt), pct(r->pf_attn_s, pt),
               pct(r->pf_other_s, pt), r->pf_matmul_gflops, r->decode_tok_s, pct(r->dc_matmul_s, dt),
               pct(r->dc_attn_s, dt), pct(r->dc_other_s, dt), r->dc_bytes_per_tok / 1e6, r->dc_gbs,
               r->kv_bytes / 1048576.0);
    fflush(stdout);
}

/* Every length R times (or all lengths at once with --interleave); the rows as they come. */
static int measure(bm_run *r) {
    const bm_args *a = r->a;
    lc_error err;
    for (int j = 0; j < a->n_ctx * (int)a->n_repeat;) {
        const int i = j % a->n_ctx, n_set = a->interleave ? a->n_ctx : 1;
        double sp_bytes = 0;
        if (r->sp) { /* --sp: one cell, sharded */
            if (cli_sp_bench_cell(r->sp, r->m, &a->co, a->ctxs[i], a->n_dec, (uint64_t)a->seed, &r->rows[r->n_rows],
                                  &sp_bytes, &err) != LC_OK)
                return r->sp->rank == 0 ? cli_fail("bench model", &err) : CLI_FAIL;
            if (!a->json) print_row(&r->rows[r->n_rows], false);
            if (!a->json)
                printf("%8s   sp: %d ranks, %.0f bytes sent per decoded token per rank\n", "", r->sp->n_ranks,
                       sp_bytes);
            r->n_rows++;
            j++;
            continue;
        }
        if (lc_bench_model_cells(r->m, &a->co, a->ctxs + i, n_set, a->n_dec, (uint64_t)a->seed, a->synthetic,
                                 &r->rows[r->n_rows], &err) != LC_OK)
            return cli_fail("bench model", &err);
        r->n_rows += n_set;
        j += n_set;
        for (int q = r->n_rows - n_set; q < r->n_rows && !a->json; q++) print_row(&r->rows[q], a->synthetic);
    }
    return CLI_OK;
}

/* Decode per layer kind at length index i: whole layers, the token mixer, and what is outside the layers. */
static void print_kinds_at(const bm_run *r, int i, int n_rep) {
    lc_bench_model_kinds k;
    lc_error err;
    if (lc_bench_model_kinds_at(r->rows, r->a->n_ctx, n_rep, i, &k, &err) != LC_OK) return;
    const lc_bench_spread d = k.decode_ms, o = k.outside_ms;
    printf("%8lld  decode %9.2f [%9.2f, %9.2f] ms/token\n", (long long)k.ctx, d.median, d.min, d.max);
    for (int q = 0; q < LC_LAYER_KIND_COUNT; q++) {
        if (!r->info.layers[q]) continue;
        const lc_bench_spread l = k.layer_ms[q], m = k.mixer_ms[q];
        printf("%8s  %2d %-8s %9.2f [%9.2f, %9.2f]  mixer %9.2f [%9.2f, %9.2f]  %5.1f%%\n", "", r->info.layers[q],
               lc_layer_kind_name((lc_layer_kind)q), l.median, l.min, l.max, m.median, m.min, m.max,
               100 * k.layer_share[q]);
    }
    printf("%8s  outside layers %9.2f [%9.2f, %9.2f]  (embedding, classifier: the same work at any length)\n", "",
           o.median, o.min, o.max);
}

/* DeltaNet time per token at the last length over the first, paired within each repeat. */
static void print_deltanet_ratio(const bm_run *r, int n_rep) {
    const bm_args *a = r->a;
    lc_bench_spread l, m;
    if (lc_bench_model_deltanet_ratio(r->rows, a->n_ctx, n_rep, &l, &m) == 0) return;
    printf("deltanet layers, time per token at %lld / at %lld: %.3f [%.3f, %.3f]; token mixer alone %.3f "
           "[%.3f, %.3f] (the ratio within each run: median [min, max]%s)\n",
           (long long)a->ctxs[a->n_ctx - 1], (long long)a->ctxs[0], l.median, l.min, l.max, m.median, m.min, m.max,
           a->interleave ? ", lengths decoded token by token in turn" : "");
}

static void print_memory(const bm_run *r) {
    printf("\nmemory per context (MiB): cache = attention KV + window rings + recurrent states; "
           "vs every layer full attention\n");
    printf("%8s | %10s %10s %10s %10s | %12s %12s\n", "ctx", "cache", "KV", "rings", "states", "all full KV",
           "KV for DN");
    const double mib = 1.0 / 1048576.0;
    for (int i = 0; i < r->a->n_ctx; i++) {
        const bench_row *b = &r->rows[i];
        printf("%8lld | %10.2f %10.2f %10.2f %10.2f | %12.2f %12.2f\n", (long long)b->ctx, b->kv_bytes * mib,
               (b->kv_bytes - b->ring_bytes - b->state_bytes) * mib, b->ring_bytes * mib, b->state_bytes * mib,
               b->all_full_kv_bytes * mib, b->dn_as_kv_bytes * mib);
    }
}

/* Models with window or DeltaNet layers: the per-kind split, the DeltaNet ratio, memory. */
static void print_mixed(const bm_run *r) {
    const int n_rep = r->n_rows / r->a->n_ctx; /* complete repeats */
    if (n_rep == 0 || !(r->info.layers[LC_LAYER_WINDOW] > 0 || r->info.layers[LC_LAYER_DELTANET] > 0)) return;
    printf("\ndecode per layer kind, ms per token: whole layers, then the token mixer alone (median [min, max] "
           "over %d run%s), share of the median decode time\n",
           n_rep, n_rep > 1 ? "s" : "");
    for (int i = 0; i < r->a->n_ctx; i++) print_kinds_at(r, i, n_rep);
    if (r->a->n_ctx > 1 && r->info.layers[LC_LAYER_DELTANET]) print_deltanet_ratio(r, n_rep);
    print_memory(r);
}

static void print_json(const bm_run *r) {
    const bm_args *a = r->a;
    lc_json_writer w;
    lc_json_init(&w, stdout, false);
    lc_json_begin_object(&w);
    lc_json_kv_str(&w, "model", a->model_path);
    lc_json_kv_int(&w, "params", lc_model_n_params(&r->m->cfg));
    lc_json_kv_str(&w, "weight_type", lc_dtype_name(r->info.weight_type));
    lc_json_kv_str(&w, "cpu", r->cpu);
    lc_json_kv_int(&w, "threads", r->threads);
    lc_json_kv_str(&w, "attn", a->co.attn ? a->co.attn : "default");
    lc_json_kv_str(&w, "k_type", lc_dtype_name(a->co.k_type));
    lc_json_kv_str(&w, "v_type", lc_dtype_name(a->co.v_type));
    lc_json_kv_int(&w, "n_batch", a->co.n_batch);
    if (r->sp) lc_json_kv_int(&w, "sp_ranks", r->sp->n_ranks);
    lc_json_kv_str(&w, "depth", a->synthetic ? "synthetic (--fill-kv random)" : "prefill");
    lc_json_key(&w, "layers_per_kind");
    lc_json_begin_object(&w);
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++)
        lc_json_kv_int(&w, lc_layer_kind_name((lc_layer_kind)k), r->info.layers[k]);
    lc_json_end_object(&w);
    if (r->pk.fma_gflops > 0) {
        lc_json_kv_num(&w, "peak_fma_gflops", r->pk.fma_gflops);
        lc_json_kv_num(&w, "peak_read_gbs", r->pk.read_gbs);
    }
    lc_json_key(&w, "rows");
    lc_json_begin_array(&w);
    for (int i = 0; i < r->n_rows; i++)
        lc_bench_model_row_json(&w, &r->rows[i], i / a->n_ctx, a->synthetic, &r->pk);
    lc_json_end_array(&w);
    lc_json_end_object(&w);
    lc_json_finish(&w);
}

static void print_fractions(const bm_run *r) {
    for (int pass = 0; pass < 2; pass++) {
        printf(pass ? "\ndecode bytes/s vs read bandwidth: " : "\nprefill matmul vs FMA peak: ");
        for (int i = 0; i < r->n_rows; i++) {
            double f[2];
            lc_bench_model_peak_fractions(&r->rows[i], &r->pk, &f[0], &f[1]);
            printf("%s%lld: %.0f%%", i ? ", " : "", (long long)r->rows[i].ctx, 100 * f[pass]);
        }
    }
    printf("\n");
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
    if (a.peak && lc_bench_peak(a.co.n_threads, 0, &r->pk, &err) != LC_OK) {
        cli_error("bench model", "peak measurement failed (%s); continuing without fractions", err.msg);
        memset(&r->pk, 0, sizeof r->pk);
    }
    if (a.warmup && lc_bench_model_warm_up(r->m, &a.co, &err) != LC_OK) {
        lc_model_free(r->m);
        cli_sp_end(&a.spc);
        free(r);
        return cli_fail("bench model", &err);
    }
    lc_cpu_model(r->cpu, sizeof r->cpu);
    r->threads = a.co.n_threads > 0 ? a.co.n_threads : lc_cpu_count();
    lc_bench_model_describe(r->m, &r->info);
    if (!a.json) print_head(r);
    rc = measure(r);
    if (!a.json) print_mixed(r);
    if (a.json) print_json(r);
    else if (r->n_rows > 0 && r->pk.fma_gflops > 0) print_fractions(r);
    lc_model_free(r->m);
    cli_sp_end(&a.spc);
    free(r);
    return rc;
}
