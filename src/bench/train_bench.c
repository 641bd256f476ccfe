/* Training measurements (bench.h): a training step per context length and
 * attention backward (lc_bench_train_cell), the trainer's GEMM on the model's
 * shapes (lc_bench_train_gemm) and the attention layers alone
 * (lc_bench_train_attn_layers): what `longctx bench train` measures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "kernels/sgemm.h"
#include "longctx/bench.h"
#include "train/layers.h"

/* Model FLOPs per step: 6 per matmul parameter per token (forward 2,
 * backward 4), plus attention per token and layer: softmax 6 H d T (causal:
 * half of the usual 12 H d T); linear with chunk c, 3 x (4 c d + 4 d^2) per
 * head (forward: scores and values inside the chunk, state read and update;
 * backward about twice that). */
double lc_bench_train_step_flops(const lc_train_config *c) {
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

/* steps timed steps after a warm-up into r (best wall and CPU time). */
static lc_status run_steps(const lc_train_config *c, int steps, lc_bench_train_row *r, lc_error *err) {
    lc_trainer *t = NULL;
    lc_train_data *d = NULL;
    size_t ntok = 0, nw = 0;
    lc_status st = lc_trainer_create(c, &t, err);
    if (st == LC_OK) st = lc_train_data_toy("copy", c->model.vocab_size, 1, &d, err);
    if (st == LC_OK && (!lc_mul_size((size_t)c->batch, (size_t)c->ctx + 1, &ntok) ||
                        !lc_mul_size((size_t)c->batch, (size_t)c->ctx, &nw)))
        st = lc_fail(err, LC_ERR_TOO_LARGE, "bench train: batch x context overflows");
    int32_t *tok = st == LC_OK ? malloc(ntok * sizeof(int32_t)) : NULL;
    float *w = st == LC_OK ? malloc(nw * sizeof(float)) : NULL;
    if (st == LC_OK && (!tok || !w)) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    double best = INFINITY, best_cpu = INFINITY;
    for (int i = 0; i <= steps && st == LC_OK; i++) {
        lc_train_stats s;
        st = d->next(d, c->batch, c->ctx, tok, w, err);
        const double c0 = lc_process_cpu_seconds();
        if (st == LC_OK) st = lc_trainer_step(t, tok, w, &s, err);
        const double cpu = lc_process_cpu_seconds() - c0;
        if (st == LC_OK && i > 0 && cpu < best_cpu) best_cpu = cpu;
        if (st == LC_OK && i > 0 && s.seconds < best) { /* step 0 warms up */
            best = s.seconds;
            r->matmul_s = s.t_matmul;
            r->attn_s = s.t_attention;
        }
    }
    r->cpu_s = best_cpu;
    r->step_s = best;
    free(tok);
    free(w);
    lc_train_data_free(d);
    lc_trainer_free(t);
    return st;
}

lc_status lc_bench_train_kind(lc_train_config *c, const char *kind, lc_error *err) {
    const bool linear = kind && strcmp(kind, "linear") == 0;
    if (!c || !kind || (!linear && strcmp(kind, "flash") != 0 && strcmp(kind, "naive") != 0))
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: attention '%s' is none of flash, naive, linear",
                       kind ? kind : "(null)");
    c->attn_backward = strcmp(kind, "naive") == 0 ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
    if (linear) snprintf(c->model.attention, sizeof c->model.attention, "linear:elu");
    return LC_OK;
}

lc_status lc_bench_train_kinds_parse(const char *list, const char **out, int max, int *n, lc_error *err) {
    static const char *const names[] = {"flash", "naive", "linear"};
    if (!list || !out || !n) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: NULL argument");
    for (*n = 0; *list;) {
        const size_t len = strcspn(list, ",");
        size_t k = 0;
        while (k < 3 && !(strlen(names[k]) == len && strncmp(list, names[k], len) == 0)) k++;
        if (k == 3 || *n == max)
            return lc_fail(err, LC_ERR_INVALID_ARG, "up to %d of flash, naive, linear", max);
        out[(*n)++] = names[k];
        list += len + (list[len] == ',');
    }
    return *n > 0 ? LC_OK : lc_fail(err, LC_ERR_INVALID_ARG, "no attention given");
}

lc_status lc_bench_train_cell(const lc_train_config *c, int steps, lc_bench_train_row *r, lc_error *err) {
    if (!c || !r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: NULL argument");
    memset(r, 0, sizeof *r);
    r->ctx = c->ctx;
    r->attn = strncmp(c->model.attention, "linear", 6) == 0          ? "linear"
              : c->attn_backward == LC_TRAIN_BACKWARD_NAIVE ? "naive"
                                                            : "flash";
    lc_train_memory plan;
    lc_status st = lc_train_plan(c, &plan, err);
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
    st = run_steps(c, steps, r, err);
    if (st != LC_OK) return st;
    r->ran = true;
    r->tok_s = (double)(c->batch * c->ctx) / r->step_s;
    r->gflops = lc_bench_train_step_flops(c) / r->step_s / 1e9;
    r->peak_rss = lc_peak_rss_bytes();
    r->rss_growth = r->peak_rss > rss0 ? r->peak_rss - rss0 : 0;
    return LC_OK;
}

/* ---- GEMM on the trainer's shapes ---------------------------------------- */

/* Best GFLOP/s by wall time; with threads == 1 (the product then runs on this
 * thread) also by this thread's CPU time, into *cpu_gflops. */
static double time_gemm(const lc_bench_gemm_row *g, int threads, double *cpu_gflops) {
    const int64_t arows = g->trans_a ? g->k : g->m, acols = g->trans_a ? g->m : g->k;
    const int64_t brows = g->trans_b ? g->n : g->k, bcols = g->trans_b ? g->k : g->n;
    float *a = (float *)lc_malloc_aligned((size_t)(arows * acols) * sizeof(float));
    float *b = (float *)lc_malloc_aligned((size_t)(brows * bcols) * sizeof(float));
    float *c = (float *)lc_malloc_aligned((size_t)(g->m * g->n) * sizeof(float));
    const size_t wsb = lc_sgemm_workspace_bytes(g->m, g->n, g->k, threads);
    void *ws = lc_malloc_aligned(wsb);
    double best = INFINITY, best_cpu = INFINITY;
    if (a && b && c && ws) {
        for (int64_t i = 0; i < arows * acols; i++) a[i] = (float)(i % 13) * 0.01f;
        for (int64_t i = 0; i < brows * bcols; i++) b[i] = (float)(i % 7) * 0.01f;
        lc_sgemm_args s = {g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f, a, acols, b, bcols, 0.0f, c, g->n,
                           threads, false};
        const double flops = 2.0 * (double)g->m * (double)g->n * (double)g->k;
        int reps = 0;
        const double start = lc_time_now();
        while (reps < 3 || (lc_time_now() - start < 0.5 && reps < 200)) {
            const double t0 = lc_time_now(), c0 = lc_thread_cpu_seconds();
            (void)lc_sgemm_ws(&s, ws, wsb, NULL);
            best_cpu = fmin(best_cpu, lc_thread_cpu_seconds() - c0);
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

lc_status lc_bench_train_gemm(const lc_train_config *c, int threads, lc_bench_gemm_row rows[LC_BENCH_TRAIN_GEMM_ROWS],
                              lc_error *err) {
    if (!c || !rows) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: NULL argument");
    const lc_model_config *m = &c->model;
    const int64_t N = c->batch * c->ctx, C = m->dim, HD = m->hidden_dim, V = m->vocab_size;
    if (N < 1 || C < 1 || HD < 1 || V < 1 || N > ((int64_t)1 << 24) || threads < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: GEMM shapes of %lld tokens, width %lld", (long long)N,
                       (long long)C);
    const lc_bench_gemm_row shapes[LC_BENCH_TRAIN_GEMM_ROWS] = {
        {"fwd  x W_gate^T  [N,C]x[C,HD]", false, true, N, HD, C, 0, 0, 0},
        {"bwd  dY W_gate   [N,HD]x[HD,C]", false, false, N, C, HD, 0, 0, 0},
        {"bwd  dY^T x      [HD,N]x[N,C]", true, false, HD, C, N, 0, 0, 0},
        {"fwd  logits      [N,C]x[C,V]", false, true, N, V, C, 0, 0, 0},
        {"square 1024", false, false, 1024, 1024, 1024, 0, 0, 0},
    };
    for (int i = 0; i < LC_BENCH_TRAIN_GEMM_ROWS; i++) {
        rows[i] = shapes[i];
        rows[i].gflops_1t = time_gemm(&rows[i], 1, &rows[i].gflops_1t_cpu);
        rows[i].gflops = threads > 1 ? time_gemm(&rows[i], threads, NULL) : rows[i].gflops_1t;
    }
    return LC_OK;
}

/* ---- Attention layers alone ------------------------------------------------ */

typedef struct {
    float *q, *k, *v, *o, *go, *dq, *dk, *dv, *aux, *p;
    void *ws, *nws;
} attn_bufs;

static void free_bufs(attn_bufs *b) {
    lc_free_aligned(b->q), lc_free_aligned(b->k), lc_free_aligned(b->v), lc_free_aligned(b->o);
    lc_free_aligned(b->go), lc_free_aligned(b->dq), lc_free_aligned(b->dk), lc_free_aligned(b->dv);
    lc_free_aligned(b->aux), lc_free_aligned(b->ws), lc_free_aligned(b->p), lc_free_aligned(b->nws);
}

/* Each layer forward and backward once, thread CPU seconds into r. */
static void time_layers(const lc_tr_attn_shape *s, int64_t chunk, const attn_bufs *b, size_t fwb, size_t fbb,
                        size_t nb, size_t lb, lc_bench_train_attn_row *r) {
    lc_error err;
    const lc_isa isa = lc_isa_best();
    lc_attn_params fp;
    lc_attn_params_init(&fp, LC_ATTN_FLASH);
    fp.n_threads = 1;
    double t0 = lc_thread_cpu_seconds();
    (void)lc_tr_attn_flash_forward(s, &fp, b->q, b->k, b->v, b->o, b->aux, b->ws, fwb, &err);
    r->flash_fwd = lc_thread_cpu_seconds() - t0;
    t0 = lc_thread_cpu_seconds();
    (void)lc_tr_attn_flash_backward(s, b->q, b->k, b->v, b->o, b->aux, b->go, b->dq, b->dk, b->dv, b->ws, fbb, 1, isa,
                                    &err);
    r->flash_bwd = lc_thread_cpu_seconds() - t0;
    if (b->p && b->nws) {
        t0 = lc_thread_cpu_seconds();
        (void)lc_tr_attn_naive_forward(s, b->q, b->k, b->v, b->o, b->p, b->nws, nb, 1, isa, &err);
        r->naive_fwd = lc_thread_cpu_seconds() - t0;
        t0 = lc_thread_cpu_seconds();
        (void)lc_tr_attn_naive_backward(s, b->q, b->k, b->v, b->p, b->go, b->dq, b->dk, b->dv, b->nws, nb, 1, isa,
                                        &err);
        r->naive_bwd = lc_thread_cpu_seconds() - t0;
    }
    t0 = lc_thread_cpu_seconds();
    (void)lc_tr_linear_forward(s, chunk, b->q, b->k, b->v, b->o, b->aux, b->ws, lb, 1, isa, &err);
    r->lin_fwd = lc_thread_cpu_seconds() - t0;
    t0 = lc_thread_cpu_seconds();
    (void)lc_tr_linear_backward(s, chunk, b->q, b->k, b->v, b->o, b->aux, b->go, b->dq, b->dk, b->dv, b->ws, lb, 1, isa,
                                &err);
    r->lin_bwd = lc_thread_cpu_seconds() - t0;
}

lc_status lc_bench_train_attn_layers(const lc_train_config *c, int64_t ctx, lc_bench_train_attn_row *r,
                                     lc_error *err) {
    if (!c || !r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: NULL argument");
    const lc_model_config *m = &c->model;
    if (ctx < 1 || c->batch < 1 || m->n_heads < 1 || m->n_kv_heads < 1 || m->head_dim < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: attention of context %lld", (long long)ctx);
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    const lc_tr_attn_shape s = {c->batch, ctx, m->n_heads, m->n_kv_heads, m->head_dim,
                                1.0f / sqrtf((float)m->head_dim)};
    const size_t nq = (size_t)(s.b * s.t) * (size_t)s.nh * (size_t)s.hd;
    const size_t nk = (size_t)(s.b * s.t) * (size_t)s.kv * (size_t)s.hd;
    const size_t np = (size_t)(s.b * s.nh) * (size_t)s.t * (size_t)s.t;
    lc_attn_params fp;
    lc_attn_params_init(&fp, LC_ATTN_FLASH);
    fp.n_threads = 1;
    size_t fwb = 0;
    (void)lc_tr_attn_flash_forward_ws(&s, &fp, &fwb, err);
    const size_t fbb = lc_tr_attn_flash_backward_ws(&s, 1), nb = lc_tr_attn_naive_ws(&s, 1);
    const size_t lb = lc_tr_linear_ws(&s, c->linear_chunk, 1);
    r->flash_bytes = fwb + fbb + (size_t)(s.b * s.t * s.nh) * sizeof(float);
    r->naive_bytes = nb + np * sizeof(float);
    r->lin_bytes = lb + (size_t)(s.b * s.t * s.nh) * sizeof(float);
    const size_t avail = lc_mem_available_bytes();
    const bool naive_fits = !avail || r->naive_bytes < avail / 2;
    attn_bufs b = {
        lc_malloc_aligned(nq * 4), lc_malloc_aligned(nk * 4), lc_malloc_aligned(nk * 4), lc_malloc_aligned(nq * 4),
        lc_malloc_aligned(nq * 4), lc_malloc_aligned(nq * 4), lc_malloc_aligned(nk * 4), lc_malloc_aligned(nk * 4),
        lc_malloc_aligned((size_t)(s.b * s.t * s.nh) * 4), naive_fits ? lc_malloc_aligned(np * 4) : NULL,
        lc_malloc_aligned(LC_MAX(LC_MAX(fwb, fbb), lb) + 64), naive_fits ? lc_malloc_aligned(nb) : NULL,
    };
    r->naive_fwd = r->naive_bwd = NAN;
    if (!b.q || !b.k || !b.v || !b.o || !b.go || !b.dq || !b.dk || !b.dv || !b.aux || !b.ws) {
        r->flash_fwd = r->flash_bwd = r->lin_fwd = r->lin_bwd = NAN;
    } else {
        lc_rng g;
        lc_rng_seed(&g, 7);
        for (size_t j = 0; j < nq; j++) b.q[j] = lc_rng_normal(&g), b.go[j] = lc_rng_normal(&g);
        for (size_t j = 0; j < nk; j++) b.k[j] = lc_rng_normal(&g), b.v[j] = lc_rng_normal(&g);
        time_layers(&s, c->linear_chunk, &b, fwb, fbb, nb, lb, r);
    }
    free_bufs(&b);
    return LC_OK;
}

lc_status lc_bench_train_grid(const lc_train_config *c, const int64_t *ctx, int n_ctx, const char *const *kinds,
                              int n_kinds, int steps, const lc_peak *pk, lc_table *t, FILE *f, lc_error *err) {
    if (!c || !t || (n_ctx > 0 && !ctx) || (n_kinds > 0 && !kinds) || n_ctx < 0 || n_kinds < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: no configuration, table, contexts or kinds");
    for (int ci = 0; ci < n_ctx; ci++)
        for (int k = 0; k < n_kinds; k++) {
            lc_bench_train_row r = {.ctx = ctx[ci], .attn = kinds[k]};
            lc_train_config cc = *c;
            cc.ctx = ctx[ci];
            lc_error cell_err;
            if (lc_bench_train_kind(&cc, kinds[k], &cell_err) != LC_OK ||
                lc_bench_train_cell(&cc, steps, &r, &cell_err) != LC_OK)
                snprintf(r.note, sizeof r.note, "%s", cell_err.msg);
            lc_bench_train_table_add(t, &r, pk);
            if (f) lc_table_print_row(t, f, lc_table_n_rows(t) - 1, NULL);
            if (f) fflush(f);
        }
    return lc_table_status(t, err);
}
