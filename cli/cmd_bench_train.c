/* longctx bench train — training throughput (tokens/s, model GFLOP/s, time
 * split) and memory (activation slab, attention state, measured peak RSS)
 * per context length and attention backward; and (--sgemm) the trainer's
 * GEMM on its own shapes, each against `bench peak` measured in the same run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_subjects.h"
#include "cli.h"
#include "common/util.h"
#include "kernels/sgemm.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/train.h"
#include "opt.h"
#include "train/layers.h"

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

typedef struct {
    int64_t ctx;
    const char *kind;
    bool ran;
    char note[LC_ERROR_MSG_MAX];
    double step_s, cpu_s, tok_s, gflops, matmul_s, attn_s;
    size_t activations, attention, total, peak_rss, rss_growth;
} cell;

/* Model FLOPs per step: 6 per matmul parameter per token (forward 2,
 * backward 4), plus attention per token and layer: softmax 6 H d T (causal:
 * half of the usual 12 H d T); linear with chunk c, 3 x (4 c d + 4 d^2) per
 * head (forward: scores and values inside the chunk, state read and update;
 * backward about twice that). */
static double step_flops(const lc_train_config *c) {
    const lc_model_config *m = &c->model;
    const double C = m->dim, d = m->head_dim, qd = (double)m->n_heads * d, kvd = (double)m->n_kv_heads * d;
    const double per_layer = C * qd * 2 + C * kvd * 2 + 3.0 * C * m->hidden_dim;
    const double matmul = m->n_layers * per_layer + (double)m->vocab_size * C;
    const double tokens = (double)c->batch * (double)c->ctx;
    const bool linear = strncmp(m->attention, "linear", 6) == 0;
    const double attn = linear ? 3.0 * (4.0 * (double)c->linear_chunk * d + 4.0 * d * d) * m->n_heads
                               : 6.0 * qd * (double)c->ctx;
    return tokens * (6.0 * matmul + m->n_layers * attn);
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static lc_status run_cell(lc_train_config c, int steps, cell *r, lc_error *err) {
    lc_train_memory plan;
    lc_status st = lc_train_plan(&c, &plan, err);
    if (st != LC_OK) return st;
    r->activations = plan.activations;
    r->attention = plan.attention;
    r->total = plan.total;
    const size_t avail = lc_mem_available_bytes();
    if (avail && plan.total > avail / 10 * 8) {
        char need[32];
        snprintf(r->note, sizeof r->note, "skipped: needs %s", lc_format_bytes((double)plan.total, need, sizeof need));
        return LC_OK;
    }
    lc_peak_rss_reset();
    const size_t rss0 = lc_rss_bytes();
    lc_trainer *t = NULL;
    lc_train_data *d = NULL;
    st = lc_trainer_create(&c, &t, err);
    if (st == LC_OK) st = lc_train_data_toy("copy", c.model.vocab_size, 1, &d, err);
    int32_t *tok = (int32_t *)malloc((size_t)(c.batch * (c.ctx + 1)) * sizeof(int32_t));
    float *w = (float *)malloc((size_t)(c.batch * c.ctx) * sizeof(float));
    if (st == LC_OK && (!tok || !w)) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    double best = INFINITY, best_cpu = INFINITY;
    for (int i = 0; i <= steps && st == LC_OK; i++) {
        lc_train_stats s;
        st = d->next(d, c.batch, c.ctx, tok, w, err);
        const double c0 = cpu_now();
        if (st == LC_OK) st = lc_trainer_step(t, tok, w, &s, err);
        const double cpu = cpu_now() - c0;
        if (st == LC_OK && i > 0 && cpu < best_cpu) best_cpu = cpu;
        if (st == LC_OK && i > 0 && s.seconds < best) { /* step 0 warms up */
            best = s.seconds;
            r->matmul_s = s.t_matmul;
            r->attn_s = s.t_attention;
        }
    }
    r->cpu_s = best_cpu;
    if (st == LC_OK) {
        r->ran = true;
        r->step_s = best;
        r->tok_s = (double)(c.batch * c.ctx) / best;
        r->gflops = step_flops(&c) / best / 1e9;
        r->peak_rss = lc_peak_rss_bytes();
        r->rss_growth = r->peak_rss > rss0 ? r->peak_rss - rss0 : 0;
    }
    free(tok);
    free(w);
    lc_train_data_free(d);
    lc_trainer_free(t);
    return st;
}

/* ---- GEMM on the trainer's shapes ---------------------------------------- */

typedef struct {
    const char *what;
    bool ta, tb;
    int64_t m, n, k;
    double gflops_1t, gflops_1t_cpu, gflops;
} gemm_row;

static double thread_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best GFLOP/s by wall time; with threads == 1 (the product then runs on this
 * thread) also by this thread's CPU time, into *cpu_gflops. */
static double time_gemm(const gemm_row *g, int threads, double *cpu_gflops) {
    const int64_t arows = g->ta ? g->k : g->m, acols = g->ta ? g->m : g->k;
    const int64_t brows = g->tb ? g->n : g->k, bcols = g->tb ? g->k : g->n;
    float *a = (float *)lc_malloc_aligned((size_t)(arows * acols) * sizeof(float));
    float *b = (float *)lc_malloc_aligned((size_t)(brows * bcols) * sizeof(float));
    float *c = (float *)lc_malloc_aligned((size_t)(g->m * g->n) * sizeof(float));
    const size_t wsb = lc_sgemm_workspace_bytes(g->m, g->n, g->k, threads);
    void *ws = lc_malloc_aligned(wsb);
    double best = INFINITY, best_cpu = INFINITY;
    if (a && b && c && ws) {
        for (int64_t i = 0; i < arows * acols; i++) a[i] = (float)(i % 13) * 0.01f;
        for (int64_t i = 0; i < brows * bcols; i++) b[i] = (float)(i % 7) * 0.01f;
        lc_sgemm_args s = {g->ta, g->tb, g->m, g->n, g->k, 1.0f, a, acols, b, bcols, 0.0f, c, g->n, threads, false};
        const double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
        int reps = 0;
        const double start = lc_time_now();
        while (reps < 3 || (lc_time_now() - start < 0.5 && reps < 200)) {
            const double t0 = lc_time_now(), c0 = thread_cpu_now();
            (void)lc_sgemm_ws(&s, ws, wsb, NULL);
            best_cpu = fmin(best_cpu, thread_cpu_now() - c0);
            best = fmin(best, lc_time_now() - t0);
            reps++;
        }
        best = flops / best / 1e9;
        best_cpu = flops / best_cpu / 1e9;
    } else {
        best = best_cpu = NAN;
    }
    if (cpu_gflops) *cpu_gflops = threads == 1 ? best_cpu : NAN;
    lc_free_aligned(a);
    lc_free_aligned(b);
    lc_free_aligned(c);
    lc_free_aligned(ws);
    return best;
}

static int bench_gemm(const lc_train_config *c, int threads, bool json, const lc_peak *pk, bool have_peak) {
    const lc_model_config *m = &c->model;
    const int64_t N = c->batch * c->ctx, C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    gemm_row rows[] = {
        {"fwd  x W_gate^T  [N,C]x[C,HD]", false, true, N, HD, C, 0, 0, 0},
        {"bwd  dY W_gate   [N,HD]x[HD,C]", false, false, N, C, HD, 0, 0, 0},
        {"bwd  dY^T x      [HD,N]x[N,C]", true, false, HD, C, N, 0, 0, 0},
        {"fwd  logits      [N,C]x[C,V]", false, true, N, V, C, 0, 0, 0},
        {"square 1024", false, false, 1024, 1024, 1024, 0, 0, 0},
    };
    const int n_rows = (int)(sizeof rows / sizeof rows[0]);
    for (int i = 0; i < n_rows; i++) {
        rows[i].gflops_1t = time_gemm(&rows[i], 1, &rows[i].gflops_1t_cpu);
        rows[i].gflops = threads > 1 ? time_gemm(&rows[i], threads, NULL) : rows[i].gflops_1t;
    }
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
            lc_json_kv_bool(&w, "trans_a", rows[i].ta);
            lc_json_kv_bool(&w, "trans_b", rows[i].tb);
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
        const gemm_row *r = &rows[i];
        printf("%-32s %6lld %6lld %6lld %10.1f %6.0f%% %8.1f %10.1f %6.0f%%\n", r->what, (long long)r->m,
               (long long)r->n, (long long)r->k, r->gflops_1t,
               have_peak ? 100.0 * r->gflops_1t / pk->fma_gflops_1t : NAN,
               r->gflops_1t_cpu, r->gflops, have_peak ? 100.0 * r->gflops / pk->fma_gflops : NAN);
    }
    return CLI_OK;
}

/* ---- Attention layers alone ------------------------------------------------ */

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    int64_t ctx;
    double flash_fwd, flash_bwd, naive_fwd, naive_bwd, lin_fwd, lin_bwd; /* thread CPU seconds, NaN: skipped */
    size_t flash_bytes, naive_bytes, lin_bytes;                          /* scratch + saved state           */
} kern_row;

static int bench_kernels(const lc_train_config *c, const int64_t *ctx, int n_ctx, bool json) {
    const lc_model_config *m = &c->model;
    kern_row rows[MAX_CTX];
    lc_error err;
    const lc_isa isa = lc_isa_best();
    for (int i = 0; i < n_ctx; i++) {
        kern_row *r = &rows[i];
        memset(r, 0, sizeof *r);
        r->ctx = ctx[i];
        const lc_tr_attn_shape s = {c->batch, ctx[i], m->n_heads, m->n_kv_heads, m->head_dim,
                                    1.0f / sqrtf((float)m->head_dim)};
        const size_t nq = (size_t)(s.b * s.t) * (size_t)s.nh * (size_t)s.hd;
        const size_t nk = (size_t)(s.b * s.t) * (size_t)s.kv * (size_t)s.hd;
        const size_t np = (size_t)(s.b * s.nh) * (size_t)s.t * (size_t)s.t;
        lc_attn_params fp;
        lc_attn_params_init(&fp, LC_ATTN_FLASH);
        fp.n_threads = 1;
        size_t fwb = 0;
        (void)lc_tr_attn_flash_forward_ws(&s, &fp, &fwb, &err);
        const size_t fbb = lc_tr_attn_flash_backward_ws(&s, 1), nb = lc_tr_attn_naive_ws(&s, 1);
        const size_t lb = lc_tr_linear_ws(&s, c->linear_chunk, 1);
        r->flash_bytes = fwb + fbb + (size_t)(s.b * s.t * s.nh) * sizeof(float);
        r->naive_bytes = nb + np * sizeof(float);
        r->lin_bytes = lb + (size_t)(s.b * s.t * s.nh) * sizeof(float);
        const size_t avail = lc_mem_available_bytes();
        const bool naive_fits = !avail || r->naive_bytes < avail / 2;
        float *q = (float *)lc_malloc_aligned(nq * 4), *k = (float *)lc_malloc_aligned(nk * 4);
        float *v = (float *)lc_malloc_aligned(nk * 4), *o = (float *)lc_malloc_aligned(nq * 4);
        float *go = (float *)lc_malloc_aligned(nq * 4), *dq = (float *)lc_malloc_aligned(nq * 4);
        float *dk = (float *)lc_malloc_aligned(nk * 4), *dv = (float *)lc_malloc_aligned(nk * 4);
        float *aux = (float *)lc_malloc_aligned((size_t)(s.b * s.t * s.nh) * 4);
        void *ws = lc_malloc_aligned(LC_MAX(LC_MAX(fwb, fbb), lb) + 64);
        float *p = naive_fits ? (float *)lc_malloc_aligned(np * 4) : NULL;
        void *nws = naive_fits ? lc_malloc_aligned(nb) : NULL;
        r->naive_fwd = r->naive_bwd = NAN;
        if (!q || !k || !v || !o || !go || !dq || !dk || !dv || !aux || !ws) {
            r->flash_fwd = r->flash_bwd = r->lin_fwd = r->lin_bwd = NAN;
        } else {
            lc_rng g;
            lc_rng_seed(&g, 7);
            for (size_t j = 0; j < nq; j++) q[j] = lc_rng_normal(&g), go[j] = lc_rng_normal(&g);
            for (size_t j = 0; j < nk; j++) k[j] = lc_rng_normal(&g), v[j] = lc_rng_normal(&g);
            double t0 = thread_cpu();
            (void)lc_tr_attn_flash_forward(&s, &fp, q, k, v, o, aux, ws, fwb, &err);
            r->flash_fwd = thread_cpu() - t0;
            t0 = thread_cpu();
            (void)lc_tr_attn_flash_backward(&s, q, k, v, o, aux, go, dq, dk, dv, ws, fbb, 1, isa, &err);
            r->flash_bwd = thread_cpu() - t0;
            if (p && nws) {
                t0 = thread_cpu();
                (void)lc_tr_attn_naive_forward(&s, q, k, v, o, p, nws, nb, 1, isa, &err);
                r->naive_fwd = thread_cpu() - t0;
                t0 = thread_cpu();
                (void)lc_tr_attn_naive_backward(&s, q, k, v, p, go, dq, dk, dv, nws, nb, 1, isa, &err);
                r->naive_bwd = thread_cpu() - t0;
            }
            t0 = thread_cpu();
            (void)lc_tr_linear_forward(&s, c->linear_chunk, q, k, v, o, aux, ws, lb, 1, isa, &err);
            r->lin_fwd = thread_cpu() - t0;
            t0 = thread_cpu();
            (void)lc_tr_linear_backward(&s, c->linear_chunk, q, k, v, o, aux, go, dq, dk, dv, ws, lb, 1, isa, &err);
            r->lin_bwd = thread_cpu() - t0;
        }
        lc_free_aligned(q), lc_free_aligned(k), lc_free_aligned(v), lc_free_aligned(o), lc_free_aligned(go);
        lc_free_aligned(dq), lc_free_aligned(dk), lc_free_aligned(dv), lc_free_aligned(aux), lc_free_aligned(ws);
        lc_free_aligned(p), lc_free_aligned(nws);
    }
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
            const kern_row *r = &rows[i];
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
        const kern_row *r = &rows[i];
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
    cell cells[MAX_CTX * MAX_KINDS];
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
            cell *r = &cells[n_cells++];
            memset(r, 0, sizeof *r);
            r->ctx = ctx[ci];
            r->kind = kinds[k];
            lc_train_config cc = c;
            cc.ctx = ctx[ci];
            cc.attn_backward = strcmp(kinds[k], "naive") == 0 ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
            if (strcmp(kinds[k], "linear") == 0) snprintf(cc.model.attention, sizeof cc.model.attention, "linear:elu");
            if (run_cell(cc, steps, r, &err) != LC_OK) snprintf(r->note, sizeof r->note, "%s", err.msg);
            if (json) continue;
            char a[32], s[32], p[32], g[32];
            lc_format_bytes((double)r->activations, a, sizeof a);
            lc_format_bytes((double)r->attention, s, sizeof s);
            if (!r->ran) {
                printf("%-7lld %-6s %9s %9s %9s %8s %6s %6s %6s %11s %11s  %s\n", (long long)r->ctx, r->kind, "-", "-",
                       "-", "-", "-", "-", "-", a, s, r->note);
            } else {
                printf("%-7lld %-6s %9.1f %9.1f %9.0f %8.1f %5.0f%% %5.0f%% %5.0f%% %11s %11s %11s %11s\n",
                       (long long)r->ctx, r->kind, 1e3 * r->step_s, 1e3 * r->cpu_s, r->tok_s, r->gflops,
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
            const cell *r = &cells[i];
            lc_json_begin_object(&w);
            lc_json_kv_int(&w, "ctx", r->ctx);
            lc_json_kv_str(&w, "attn", r->kind);
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
