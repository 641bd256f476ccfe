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

#define GF(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = "%.1f", .width = 9}
#define PCT(title_) {.title = title_, .kind = LC_TABLE_PERCENT, .fmt = "%.0f", .width = 5}
#define MS(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = "%.1f", .scale = 1e3, .width = 9}
#define BYTES(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_BYTES, .width = 11}
#define INT(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_INT}

/* The peak columns come last: left out without a peak. */
static const lc_table_col gemm_info[] = {
    INT("threads", "threads"), GF("FMA peak, 1 thread (GFLOP/s)", "peak_fma_gflops_1t"),
    GF("FMA peak, all threads (GFLOP/s)", "peak_fma_gflops"),
};
static const lc_table_col gemm_cols[] = {
    {.title = "product", .key = "shape", .kind = LC_TABLE_STR, .width = 32},
    INT("M", "m"), INT("N", "n"), INT("K", "k"),
    {.key = "trans_a", .kind = LC_TABLE_BOOL}, {.key = "trans_b", .kind = LC_TABLE_BOOL},
    GF("1 thread", "gflops_1t"), PCT("%peak"), GF("1t cpu", "gflops_1t_cpu_time"), GF("threads", "gflops"), PCT("%peak"),
};

static int bench_gemm(const lc_train_config *c, int threads, bool json, const lc_peak *pk, bool have_peak) {
    lc_bench_gemm_row rows[LC_BENCH_TRAIN_GEMM_ROWS];
    lc_error err;
    if (lc_bench_train_gemm(c, threads, rows, &err) != LC_OK) return cli_fail(CMD, &err);
    lc_table *info = bench_table(CMD, gemm_info, have_peak ? 3 : 1), *t = BENCH_TABLE(CMD, gemm_cols);
    if (!bench_both(info, t)) return CLI_FAIL;
    const lc_table_value iv[] = {lc_tv_int(threads), lc_tv_real(pk->fma_gflops_1t), lc_tv_real(pk->fma_gflops)};
    lc_table_add_row(info, iv, have_peak ? 3 : 1);
    for (int i = 0; i < LC_BENCH_TRAIN_GEMM_ROWS; i++) {
        const lc_bench_gemm_row *r = &rows[i];
        LC_TABLE_ADD(t, lc_tv_str(r->what), lc_tv_int(r->m), lc_tv_int(r->n), lc_tv_int(r->k), lc_tv_int(r->trans_a),
                     lc_tv_int(r->trans_b), lc_tv_real(r->gflops_1t),
                     lc_tv_real(have_peak ? r->gflops_1t / pk->fma_gflops_1t : NAN), lc_tv_real(r->gflops_1t_cpu),
                     lc_tv_real(r->gflops), lc_tv_real(have_peak ? r->gflops / pk->fma_gflops : NAN));
    }
    if (!json)
        printf("sgemm on the trainer's shapes (N = B*T = %lld), best of >= 3 runs; GFLOP/s by wall time, '1t cpu' by\n"
               "the thread's CPU time (what one core delivers when it is not shared: compare it with the\n"
               "single-thread peak on a busy machine)\n", (long long)(c->batch * c->ctx));
    return bench_report(CMD, json, info, "gemm", t);
}

/* ---- Attention layers alone ------------------------------------------------ */

static const lc_table_col kern_info[] = {
    INT("batch", "batch"), INT("heads", "heads"), INT("kv_heads", "kv_heads"), INT("head_dim", "head_dim")};
#define GFS(title_) {.title = title_, .kind = LC_TABLE_REAL, .fmt = "%.1f", .width = 7}
static const lc_table_col kern_cols[] = {
    {.title = "ctx", .key = "ctx", .kind = LC_TABLE_INT, .width = 7},
    MS("flash fwd", "flash_forward_s"), GFS("GFLOP/s"), MS("flash bwd", "flash_backward_s"), GFS("GFLOP/s"),
    MS("naive fwd", "naive_forward_s"), GFS("GFLOP/s"), MS("naive bwd", "naive_backward_s"), GFS("GFLOP/s"),
    MS("lin fwd", "linear_forward_s"), MS("lin bwd", "linear_backward_s"),
    BYTES("flash mem", "flash_bytes"), BYTES("naive mem", "naive_bytes"), BYTES("linear mem", "linear_bytes"),
};
#undef GFS

static int bench_kernels(const lc_train_config *c, const int64_t *ctx, int n_ctx, bool json) {
    const lc_model_config *m = &c->model;
    lc_table *info = BENCH_TABLE(CMD, kern_info), *t = BENCH_TABLE(CMD, kern_cols);
    if (!bench_both(info, t)) return CLI_FAIL;
    LC_TABLE_ADD(info, lc_tv_int(c->batch), lc_tv_int(m->n_heads), lc_tv_int(m->n_kv_heads), lc_tv_int(m->head_dim));
    /* FLOPs per visible pair and head: forward 4 hd, backward 10 hd (incl. the recomputed scores) */
    const double per_pair = (double)c->batch * m->n_heads * m->head_dim;
    lc_error err;
    for (int i = 0; i < n_ctx; i++) {
        lc_bench_train_attn_row r;
        if (lc_bench_train_attn_layers(c, ctx[i], &r, &err) != LC_OK) {
            lc_table_free(info);
            lc_table_free(t);
            return cli_fail(CMD, &err);
        }
        const double fwd = 4 * per_pair * (double)r.ctx * (double)(r.ctx + 1) / 2.0 / 1e9, bwd = fwd * 10 / 4;
        LC_TABLE_ADD(t, lc_tv_int(r.ctx), lc_tv_real(r.flash_fwd), lc_tv_real(fwd / r.flash_fwd), lc_tv_real(r.flash_bwd),
                     lc_tv_real(bwd / r.flash_bwd), lc_tv_real(r.naive_fwd), lc_tv_real(fwd / r.naive_fwd),
                     lc_tv_real(r.naive_bwd), lc_tv_real(bwd / r.naive_bwd), lc_tv_real(r.lin_fwd), lc_tv_real(r.lin_bwd),
                     lc_tv_int((int64_t)r.flash_bytes), lc_tv_int((int64_t)r.naive_bytes), lc_tv_int((int64_t)r.lin_bytes));
    }
    if (!json)
        printf("attention layers alone, one thread, thread CPU time (ms) and GFLOP/s (4 hd FLOPs per visible\n"
               "pair and head forward, 10 hd backward); memory = scratch + saved state\n");
    return bench_report(CMD, json, info, "rows", t);
}

/* --attn: up to MAX_KINDS of flash, naive, linear (the names point into a static table). */
typedef struct {
    const char **kinds;
    int *n;
} kind_list;

static bool opt_kinds(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    static const char *const names[] = {"flash", "naive", "linear"};
    const kind_list *kl = o->dst;
    *kl->n = 0;
    for (const char *p = v; *p;) {
        const size_t len = strcspn(p, ",");
        size_t k = 0;
        while (k < 3 && !(strlen(names[k]) == len && strncmp(p, names[k], len) == 0)) k++;
        if (k == 3 || *kl->n == MAX_KINDS) {
            cli_error(cmd, "%s takes up to 3 of flash, naive, linear", name);
            return false;
        }
        kl->kinds[(*kl->n)++] = names[k];
        p += len + (p[len] == ',');
    }
    return *kl->n > 0;
}

static const lc_table_col info_cols[] = {
    {.title = "cpu", .kind = LC_TABLE_STR}, INT("parameters", "params"), INT("dim", "dim"), INT("layers", "layers"),
    INT("heads", "heads"), INT("kv heads", "kv_heads"), INT("hidden", "hidden"), INT("vocab", "vocab"),
    INT("batch", "batch"), INT("threads", "threads"), GF("FMA peak (GFLOP/s)", "peak_fma_gflops"),
};
enum { N_INFO = sizeof info_cols / sizeof info_cols[0] };
static const lc_table_col cols[] = {
    {.title = "ctx", .key = "ctx", .kind = LC_TABLE_INT, .width = 7},
    {.title = "attn", .key = "attn", .kind = LC_TABLE_STR, .width = 6},
    {.key = "ran", .kind = LC_TABLE_BOOL},
    MS("step ms", "step_s"), MS("cpu ms", "cpu_s"),
    {.title = "tok/s", .key = "tokens_per_s", .kind = LC_TABLE_REAL, .fmt = "%.0f", .width = 9},
    GF("GFLOP/s", "gflops"), PCT("%peak"),
    {.key = "matmul_s", .kind = LC_TABLE_REAL}, PCT("mm%"), {.key = "attention_s", .kind = LC_TABLE_REAL}, PCT("attn%"),
    BYTES("activations", "activation_bytes"), BYTES("attn state", "attention_state_bytes"),
    {.key = "planned_total_bytes", .kind = LC_TABLE_BYTES},
    BYTES("peak RSS", "peak_rss_bytes"), BYTES("RSS growth", "rss_growth_bytes"),
    {.title = "note", .key = "note", .kind = LC_TABLE_STR},
};
#undef GF
#undef PCT
#undef MS
#undef BYTES
#undef INT

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
        CLI_SET("--json", &json, "one JSON object on stdout"),
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
    memset(&pk, 0, sizeof pk);
    bool have_peak = false;
    if (peak) {
        if (lc_bench_peak(c.n_threads, 64u << 20, &pk, &err) == LC_OK) have_peak = true;
        else cli_error(CMD, "peak measurement failed (%s); continuing without fractions", err.msg);
    }
    if (gemm) {
        c.ctx = ctx[0];
        return bench_gemm(&c, c.n_threads, json, &pk, have_peak);
    }
    lc_train_memory pm;
    c.ctx = ctx[0];
    if (lc_train_plan(&c, &pm, &err) != LC_OK) return cli_fail(CMD, &err);
    lc_table *info = bench_table(CMD, info_cols, have_peak ? N_INFO : N_INFO - 1), *t = BENCH_TABLE(CMD, cols);
    if (!bench_both(info, t)) return CLI_FAIL;
    char cpu[128];
    lc_cpu_model(cpu, sizeof cpu);
    const lc_table_value iv[N_INFO] = {
        lc_tv_str(cpu), lc_tv_int(pm.n_params), lc_tv_int(c.model.dim),
        lc_tv_int(c.model.n_layers), lc_tv_int(c.model.n_heads), lc_tv_int(c.model.n_kv_heads),
        lc_tv_int(c.model.hidden_dim), lc_tv_int(c.model.vocab_size), lc_tv_int(batch), lc_tv_int(c.n_threads),
        lc_tv_real(pk.fma_gflops)};
    lc_table_add_row(info, iv, have_peak ? N_INFO : N_INFO - 1);
    if (!json) { /* the rows as they come */
        lc_table_print_fields(info, stdout, 0, NULL);
        lc_table_print_header(t, stdout, NULL);
    }
    for (int ci = 0; ci < n_ctx; ci++)
        for (int k = 0; k < n_kinds; k++) {
            lc_bench_train_row r;
            lc_train_config cc = c;
            cc.ctx = ctx[ci];
            cc.attn_backward = strcmp(kinds[k], "naive") == 0 ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
            if (strcmp(kinds[k], "linear") == 0) snprintf(cc.model.attention, sizeof cc.model.attention, "linear:elu");
            if (lc_bench_train_cell(&cc, steps, &r, &err) != LC_OK) snprintf(r.note, sizeof r.note, "%s", err.msg);
            const double step = r.ran ? r.step_s : NAN;
            LC_TABLE_ADD(t, lc_tv_int(ctx[ci]), lc_tv_str(kinds[k]), lc_tv_int(r.ran), lc_tv_real(step),
                         lc_tv_real(r.ran ? r.cpu_s : NAN), lc_tv_real(r.ran ? r.tok_s : NAN),
                         lc_tv_real(r.ran ? r.gflops : NAN), lc_tv_real(have_peak && r.ran ? r.gflops / pk.fma_gflops : NAN),
                         lc_tv_real(r.ran ? r.matmul_s : NAN), lc_tv_real(r.matmul_s / step),
                         lc_tv_real(r.ran ? r.attn_s : NAN), lc_tv_real(r.attn_s / step), lc_tv_int((int64_t)r.activations),
                         lc_tv_int((int64_t)r.attention), lc_tv_int((int64_t)r.total), lc_tv_int((int64_t)r.peak_rss),
                         lc_tv_int((int64_t)r.rss_growth), lc_tv_str(r.ran ? NULL : r.note));
            if (!json) lc_table_print_row(t, stdout, lc_table_n_rows(t) - 1, NULL);
            fflush(stdout);
        }
    if (json) return bench_report(CMD, json, info, "rows", t);
    lc_table_free(info);
    lc_table_free(t);
    return CLI_OK;
}
