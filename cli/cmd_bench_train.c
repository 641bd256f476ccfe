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
#include "longctx/json.h"
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

static int bench_gemm(const lc_train_config *c, int threads, bool json, const lc_peak *pk, bool have_peak) {
    const int64_t N = c->batch * c->ctx;
    lc_bench_gemm_row rows[LC_BENCH_TRAIN_GEMM_ROWS];
    const int n_rows = LC_BENCH_TRAIN_GEMM_ROWS;
    lc_error err;
    if (lc_bench_train_gemm(c, threads, rows, &err) != LC_OK) return cli_fail(CMD, &err);
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_json_begin_object(&w);
        lc_json_kv_int(&w, "threads", threads);
        if (have_peak) {
            lc_json_kv_num(&w, "peak_fma_gflops_1t", pk->fma_gflops_1t);
            lc_json_kv_num(&w, "peak_fma_gflops", pk->fma_gflops);
        }
        lc_json_key(&w, "gemm");
        lc_json_begin_array(&w);
        for (int i = 0; i < n_rows; i++) {
            lc_json_begin_object(&w);
            lc_json_kv_str(&w, "shape", rows[i].what);
            lc_json_kv_int(&w, "m", rows[i].m);
            lc_json_kv_int(&w, "n", rows[i].n);
            lc_json_kv_int(&w, "k", rows[i].k);
            lc_json_kv_bool(&w, "trans_a", rows[i].trans_a);
            lc_json_kv_bool(&w, "trans_b", rows[i].trans_b);
            lc_json_kv_num(&w, "gflops_1t", rows[i].gflops_1t);
            lc_json_kv_num(&w, "gflops_1t_cpu_time", rows[i].gflops_1t_cpu);
            lc_json_kv_num(&w, "gflops", rows[i].gflops);
            lc_json_end_object(&w);
        }
        lc_json_end_array(&w);
        lc_json_end_object(&w);
        lc_json_finish(&w);
        return CLI_OK;
    }
    printf("sgemm on the trainer's shapes (N = B*T = %lld), best of >= 3 runs\n", (long long)N);
    if (have_peak)
        printf("peak FMA: %.1f GFLOP/s on 1 thread, %.1f on %d\n", pk->fma_gflops_1t, pk->fma_gflops, pk->threads);
    printf("GFLOP/s by wall time; '1t cpu' by the thread's CPU time (what one core delivers when it is not\n"
           "shared: compare it with the single-thread peak on a busy machine)\n");
    printf("%-32s %6s %6s %6s %10s %7s %8s %10s %7s\n", "product", "M", "N", "K", "1 thread", "%peak", "1t cpu",
           "threads", "%peak");
    for (int i = 0; i < n_rows; i++) {
        const lc_bench_gemm_row *r = &rows[i];
        printf("%-32s %6lld %6lld %6lld %10.1f %6.0f%% %8.1f %10.1f %6.0f%%\n", r->what, (long long)r->m,
               (long long)r->n, (long long)r->k, r->gflops_1t,
               have_peak ? 100.0 * r->gflops_1t / pk->fma_gflops_1t : NAN,
               r->gflops_1t_cpu, r->gflops, have_peak ? 100.0 * r->gflops / pk->fma_gflops : NAN);
    }
    return CLI_OK;
}

/* ---- Attention layers alone ------------------------------------------------ */

static int bench_kernels(const lc_train_config *c, const int64_t *ctx, int n_ctx, bool json) {
    const lc_model_config *m = &c->model;
    lc_bench_train_attn_row rows[MAX_CTX];
    lc_error err;
    for (int i = 0; i < n_ctx; i++)
        if (lc_bench_train_attn_layers(c, ctx[i], &rows[i], &err) != LC_OK) return cli_fail(CMD, &err);
    /* FLOPs per visible pair and head: forward 4 hd, backward 10 hd (incl. the recomputed scores) */
    const double per_pair = (double)c->batch * m->n_heads * m->head_dim;
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_json_begin_object(&w);
        lc_json_kv_int(&w, "batch", c->batch);
        lc_json_kv_int(&w, "heads", m->n_heads);
        lc_json_kv_int(&w, "kv_heads", m->n_kv_heads);
        lc_json_kv_int(&w, "head_dim", m->head_dim);
        lc_json_key(&w, "rows");
        lc_json_begin_array(&w);
        for (int i = 0; i < n_ctx; i++) {
            const lc_bench_train_attn_row *r = &rows[i];
            lc_json_begin_object(&w);
            lc_json_kv_int(&w, "ctx", r->ctx);
            lc_json_kv_num(&w, "flash_forward_s", r->flash_fwd);
            lc_json_kv_num(&w, "flash_backward_s", r->flash_bwd);
            lc_json_kv_num(&w, "naive_forward_s", r->naive_fwd);
            lc_json_kv_num(&w, "naive_backward_s", r->naive_bwd);
            lc_json_kv_num(&w, "linear_forward_s", r->lin_fwd);
            lc_json_kv_num(&w, "linear_backward_s", r->lin_bwd);
            lc_json_kv_int(&w, "flash_bytes", (int64_t)r->flash_bytes);
            lc_json_kv_int(&w, "naive_bytes", (int64_t)r->naive_bytes);
            lc_json_kv_int(&w, "linear_bytes", (int64_t)r->lin_bytes);
            lc_json_end_object(&w);
        }
        lc_json_end_array(&w);
        lc_json_end_object(&w);
        lc_json_finish(&w);
        return CLI_OK;
    }
    printf("attention layers alone: B %lld, %d/%d heads x %d, one thread, thread CPU time (ms) and GFLOP/s\n"
           "(4 hd FLOPs per visible pair and head forward, 10 hd backward); memory = scratch + saved state\n",
           (long long)c->batch, m->n_heads, m->n_kv_heads, m->head_dim);
    printf("%-7s %17s %17s %17s %17s %9s %9s %11s %11s %11s\n", "ctx", "flash fwd", "flash bwd", "naive fwd",
           "naive bwd", "lin fwd", "lin bwd", "flash mem", "naive mem", "linear mem");
    for (int i = 0; i < n_ctx; i++) {
        const lc_bench_train_attn_row *r = &rows[i];
        const double pairs = (double)r->ctx * (double)(r->ctx + 1) / 2.0;
        char a[32], b[32], d[32];
        printf("%-7lld %8.1f (%5.1f) %8.1f (%5.1f) %8.1f (%5.1f) %8.1f (%5.1f) %9.1f %9.1f %11s %11s %11s\n",
               (long long)r->ctx, 1e3 * r->flash_fwd, 4 * per_pair * pairs / r->flash_fwd / 1e9, 1e3 * r->flash_bwd,
               10 * per_pair * pairs / r->flash_bwd / 1e9, 1e3 * r->naive_fwd,
               4 * per_pair * pairs / r->naive_fwd / 1e9, 1e3 * r->naive_bwd,
               10 * per_pair * pairs / r->naive_bwd / 1e9, 1e3 * r->lin_fwd, 1e3 * r->lin_bwd,
               lc_format_bytes((double)r->flash_bytes, a, sizeof a),
               lc_format_bytes((double)r->naive_bytes, b, sizeof b),
               lc_format_bytes((double)r->lin_bytes, d, sizeof d));
    }
    return CLI_OK;
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
    lc_bench_train_row cells[MAX_CTX * MAX_KINDS];
    const char *cell_kind[MAX_CTX * MAX_KINDS];
    int64_t cell_ctx[MAX_CTX * MAX_KINDS];
    int n_cells = 0;
    lc_train_memory pm;
    c.ctx = ctx[0];
    if (lc_train_plan(&c, &pm, &err) != LC_OK) return cli_fail(CMD, &err);
    if (!json) {
        char cpu[128];
        lc_cpu_model(cpu, sizeof cpu);
        printf("training: %.2fM parameters (dim %d, %d layers, %d/%d heads, hidden %d, vocab %d), B %d, %d threads\n",
               (double)pm.n_params / 1e6, c.model.dim, c.model.n_layers, c.model.n_heads, c.model.n_kv_heads,
               c.model.hidden_dim, c.model.vocab_size, batch, c.n_threads);
        printf("cpu: %s", cpu);
        if (have_peak) printf("; peak %.1f GFLOP/s FMA on %d threads", pk.fma_gflops, pk.threads);
        printf("\n%-7s %-6s %9s %9s %9s %8s %6s %6s %6s %11s %11s %11s %11s\n", "ctx", "attn", "step ms", "cpu ms",
               "tok/s", "GFLOP/s", "%peak", "mm%", "attn%", "activations", "attn state", "peak RSS", "RSS growth");
    }
    for (int ci = 0; ci < n_ctx; ci++)
        for (int k = 0; k < n_kinds; k++) {
            lc_bench_train_row *r = &cells[n_cells];
            cell_kind[n_cells] = kinds[k];
            cell_ctx[n_cells++] = ctx[ci];
            lc_train_config cc = c;
            cc.ctx = ctx[ci];
            cc.attn_backward = strcmp(kinds[k], "naive") == 0 ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
            if (strcmp(kinds[k], "linear") == 0) snprintf(cc.model.attention, sizeof cc.model.attention, "linear:elu");
            if (lc_bench_train_cell(&cc, steps, r, &err) != LC_OK) snprintf(r->note, sizeof r->note, "%s", err.msg);
            if (json) continue;
            char a[32], s[32], p[32], g[32];
            lc_format_bytes((double)r->activations, a, sizeof a);
            lc_format_bytes((double)r->attention, s, sizeof s);
            if (!r->ran) {
                printf("%-7lld %-6s %9s %9s %9s %8s %6s %6s %6s %11s %11s  %s\n", (long long)ctx[ci], kinds[k], "-", "-",
                       "-", "-", "-", "-", "-", a, s, r->note);
            } else {
                printf("%-7lld %-6s %9.1f %9.1f %9.0f %8.1f %5.0f%% %5.0f%% %5.0f%% %11s %11s %11s %11s\n",
                       (long long)ctx[ci], kinds[k], 1e3 * r->step_s, 1e3 * r->cpu_s, r->tok_s, r->gflops,
                       have_peak ? 100.0 * r->gflops / pk.fma_gflops : NAN, 100.0 * r->matmul_s / r->step_s,
                       100.0 * r->attn_s / r->step_s, a, s, lc_format_bytes((double)r->peak_rss, p, sizeof p),
                       lc_format_bytes((double)r->rss_growth, g, sizeof g));
            }
            fflush(stdout);
        }
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_json_begin_object(&w);
        lc_json_kv_int(&w, "params", pm.n_params);
        lc_json_kv_int(&w, "dim", c.model.dim);
        lc_json_kv_int(&w, "layers", c.model.n_layers);
        lc_json_kv_int(&w, "heads", c.model.n_heads);
        lc_json_kv_int(&w, "kv_heads", c.model.n_kv_heads);
        lc_json_kv_int(&w, "hidden", c.model.hidden_dim);
        lc_json_kv_int(&w, "vocab", c.model.vocab_size);
        lc_json_kv_int(&w, "batch", batch);
        lc_json_kv_int(&w, "threads", c.n_threads);
        if (have_peak) lc_json_kv_num(&w, "peak_fma_gflops", pk.fma_gflops);
        lc_json_key(&w, "rows");
        lc_json_begin_array(&w);
        for (int i = 0; i < n_cells; i++) {
            const lc_bench_train_row *r = &cells[i];
            lc_json_begin_object(&w);
            lc_json_kv_int(&w, "ctx", cell_ctx[i]);
            lc_json_kv_str(&w, "attn", cell_kind[i]);
            lc_json_kv_bool(&w, "ran", r->ran);
            if (!r->ran) lc_json_kv_str(&w, "note", r->note);
            lc_json_kv_num(&w, "step_s", r->ran ? r->step_s : NAN);
            lc_json_kv_num(&w, "cpu_s", r->ran ? r->cpu_s : NAN);
            lc_json_kv_num(&w, "tokens_per_s", r->ran ? r->tok_s : NAN);
            lc_json_kv_num(&w, "gflops", r->ran ? r->gflops : NAN);
            lc_json_kv_num(&w, "matmul_s", r->ran ? r->matmul_s : NAN);
            lc_json_kv_num(&w, "attention_s", r->ran ? r->attn_s : NAN);
            lc_json_kv_int(&w, "activation_bytes", (int64_t)r->activations);
            lc_json_kv_int(&w, "attention_state_bytes", (int64_t)r->attention);
            lc_json_kv_int(&w, "planned_total_bytes", (int64_t)r->total);
            lc_json_kv_int(&w, "peak_rss_bytes", (int64_t)r->peak_rss);
            lc_json_kv_int(&w, "rss_growth_bytes", (int64_t)r->rss_growth);
            lc_json_end_object(&w);
        }
        lc_json_end_array(&w);
        lc_json_end_object(&w);
        lc_json_finish(&w);
    }
    return CLI_OK;
}
