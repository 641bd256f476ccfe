/* longctx bench train — training throughput (tokens/s, model GFLOP/s, time
 * split) and memory (activation slab, attention state, measured peak RSS)
 * per context length and attention backward; and (--sgemm) the trainer's
 * GEMM on its own shapes, each against `bench peak` measured in the same run.
 * The cells are src/bench/train_bench.c's; this file parses and prints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/bench.h"
#include "longctx/train.h"
#include "longctx/util.h"
#include "opt.h"

#define CMD "bench train"
#define MAX_CTX 16
#define MAX_KINDS 3

static const char synopsis[] =
    "usage: longctx bench train [options]\n\n"
    "Times training steps of a model at each context length, for each attention backward:\n"
    "tokens/s, model GFLOP/s (6 N + 6 L H d T per token, as in MFU accounting) and the time split\n"
    "matmul / attention / other, with memory: the activation slab, the attention state in it\n"
    "(flash: lse, linear in T; naive: P, quadratic in T) and the measured peak RSS of the step.\n"
    "'cpu ms' is the process CPU time of the step (all threads): on a busy machine, where wall time\n"
    "is inflated, threads x wall ms / cpu ms shows how much of the CPUs the step really got.\n\n";

static int bench_gemm(const lc_train_config *c, int threads, bool json, const lc_peak *pk) {
    lc_bench_gemm_row rows[LC_BENCH_TRAIN_GEMM_ROWS];
    lc_error err;
    lc_table *info = NULL, *t = NULL;
    lc_status st = lc_bench_train_gemm(c, threads, rows, &err);
    if (st == LC_OK) st = lc_bench_gemm_info(threads, pk, &info, &err);
    if (st == LC_OK) st = lc_bench_gemm_table(rows, LC_BENCH_TRAIN_GEMM_ROWS, pk, &t, &err);
    if (st == LC_OK && !json)
        printf("sgemm on the trainer's shapes (N = B*T = %lld), best of >= 3 runs; GFLOP/s by wall time, '1t cpu' by\n"
               "the thread's CPU time (what one core delivers when it is not shared: compare it with the\n"
               "single-thread peak on a busy machine)\n", (long long)(c->batch * c->ctx));
    return bench_report(CMD, json, st, &err, info, "gemm", t);
}

/* ---- Attention layers alone ------------------------------------------------ */

static int bench_kernels(const lc_train_config *c, const int64_t *ctx, int n_ctx, bool json) {
    lc_bench_train_attn_row rows[MAX_CTX];
    lc_error err;
    lc_table *info = NULL, *t = NULL;
    lc_status st = LC_OK;
    for (int i = 0; i < n_ctx && st == LC_OK; i++) st = lc_bench_train_attn_layers(c, ctx[i], &rows[i], &err);
    if (st == LC_OK) st = lc_bench_train_attn_info(c, &info, &err);
    if (st == LC_OK) st = lc_bench_train_attn_table(c, rows, n_ctx, &t, &err);
    if (st == LC_OK && !json)
        printf("attention layers alone, one thread, thread CPU time (ms) and GFLOP/s (4 hd FLOPs per visible\n"
               "pair and head forward, 10 hd backward); memory = scratch + saved state\n");
    return bench_report(CMD, json, st, &err, info, "rows", t);
}

/* --attn: up to MAX_KINDS of flash, naive, linear (static names). */
typedef struct {
    const char **kinds;
    int *n;
} kind_list;

static bool opt_kinds(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const kind_list *kl = o->dst;
    lc_error err;
    if (lc_bench_train_kinds_parse(v, kl->kinds, MAX_KINDS, kl->n, &err) == LC_OK) return true;
    cli_error(cmd, "%s takes %s", name, err.msg);
    return false;
}

#define POS(names_, meta_, dst_, help_) CLI_INT(names_, meta_, dst_, 1, INT32_MAX, help_)

int bench_train(int argc, char **argv) {
    lc_train_config c;
    lc_train_config_init(&c);
    c.batch = 1;
    int64_t ctx[MAX_CTX] = {512, 4096};
    int n_ctx = 2, steps = 3, threads = 0, batch = 1;
    const char *kinds[MAX_KINDS] = {"flash", "naive"};
    int n_kinds = 2;
    bool json = false, peak = true, gemm = false, kernels = false;
    kind_list kl = {kinds, &n_kinds};
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_I64_LIST("--ctx", "LIST", ctx, &n_ctx, MAX_CTX, -CLI_INT_LIMIT, "context lengths (default 512,4K)"),
        CLI_FN("--attn", "LIST", opt_kinds, &kl,
               "flash, naive, linear (default flash,naive): softmax attention with the\n"
               "tiled or the naive backward, or a linear:elu model"),
        POS("--dim", "N", &c.model.dim, "model width (128)"),
        POS("--layers", "N", &c.model.n_layers, "layers (4)"),
        POS("--heads", "N", &c.model.n_heads, "heads (4)"),
        POS("--kv-heads", "N", &c.model.n_kv_heads, "K/V heads (2)"),
        POS("--hidden", "N", &c.model.hidden_dim, "feed-forward width (384)"),
        POS("--vocab", "N", &c.model.vocab_size, "vocabulary (256)"),
        POS("-b|--batch", "N", &batch, "sequences per step (default 1)"),
        POS("--steps", "N", &steps, "timed steps per cell after one warm-up step (default 3)"),
        POS("-t|--threads", "N", &threads, "threads (default: all CPUs)"),
        CLI_SET("--sgemm", &gemm, "benchmark the trainer's GEMM on the model's shapes instead"),
        CLI_SET("--kernels", &kernels,
                "time the attention layers alone (B x heads of the model, per context):\n"
                "flash forward (lc_attn FLASH) and the tiled backward, the naive forward and\n"
                "backward, linear forward and backward; CPU time on one thread"),
        CLI_CLEAR("--no-peak", &peak, "skip measuring the machine's peak (no fractions)"),
        CLI_JSON_STDOUT(&json),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    c.model.head_dim = c.model.dim / c.model.n_heads;
    c.batch = batch;
    c.n_threads = threads > 0 ? threads : lc_cpu_count();
    c.steps = 1000000;
    lc_error err;
    if (kernels) return bench_kernels(&c, ctx, n_ctx, json);
    lc_peak pk;
    const lc_peak *have = NULL;
    if (peak && lc_bench_peak(c.n_threads, 64u << 20, &pk, &err) == LC_OK) have = &pk;
    else if (peak) cli_error(CMD, "peak measurement failed (%s); continuing without fractions", err.msg);
    c.ctx = ctx[0];
    if (gemm) return bench_gemm(&c, c.n_threads, json, have);
    lc_table *info = NULL, *t = NULL;
    if (lc_bench_train_info(&c, have, &info, &err) != LC_OK || lc_bench_train_table(NULL, 0, have, &t, &err) != LC_OK) {
        lc_table_free(info);
        return cli_fail(CMD, &err);
    }
    if (!json) { /* the rows as they come */
        lc_table_print_fields(info, stdout, 0, NULL);
        lc_table_print_header(t, stdout, NULL);
    }
    const lc_status st =
        lc_bench_train_grid(&c, ctx, n_ctx, kinds, n_kinds, steps, have, t, json ? NULL : stdout, &err);
    if (json || st != LC_OK) return bench_report(CMD, json, st, &err, info, "rows", t);
    lc_table_free(info);
    lc_table_free(t);
    return CLI_OK;
}
