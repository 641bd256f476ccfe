/* lc_bench_attn_grid_run: methods x lengths x head dims x masking, each cell
 * timed by lc_bench_attn_cell, with the figures derived from it (speed-up
 * over NAIVE in the same cell, K/V read GB/s, fraction of the machine's peak)
 * and the cells whose estimated time passes the limit skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

#define GRID_MAX_COUNT 4096

lc_status lc_bench_attn_method_parse(const char *spec, lc_bench_attn_method *m, lc_error *err) {
    if (!spec || !m) return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: NULL argument");
    memset(m, 0, sizeof *m);
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    if (strncmp(spec, "hybrid:", 7) != 0) {
        lc_attn_params_init(&m->p, LC_ATTN_FLASH);
        return lc_attn_parse(spec, &m->p, err);
    }
    lc_attn_params_init(&m->p, LC_ATTN_HYBRID);
    char buf[96];
    snprintf(buf, sizeof buf, "%s", spec + 7);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        if (m->n_hybrid >= LC_BENCH_ATTN_MAX_HYBRID)
            return lc_fail(err, LC_ERR_INVALID_ARG, "hybrid: at most %d specs", LC_BENCH_ATTN_MAX_HYBRID);
        lc_attn_params_init(&m->heads[m->n_hybrid], LC_ATTN_FLASH);
        const lc_status st = lc_attn_parse(tok, &m->heads[m->n_hybrid], err);
        if (st != LC_OK) return st;
        m->n_hybrid++;
    }
    if (m->n_hybrid == 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "hybrid needs at least one spec, e.g. hybrid:flash+window:1024:4");
    return LC_OK;
}

lc_status lc_bench_attn_methods_parse(const char *list, lc_bench_attn_method *out, int max, int *n, lc_error *err) {
    if (!list || !out || !n || max < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: NULL argument");
    *n = 0;
    char buf[1024];
    if (strlen(list) >= sizeof buf) return lc_fail(err, LC_ERR_INVALID_ARG, "the list is too long");
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n >= max) return lc_fail(err, LC_ERR_INVALID_ARG, "too many methods (at most %d)", max);
        const lc_status st = lc_bench_attn_method_parse(tok, &out[*n], err);
        if (st != LC_OK) return st;
        ++*n;
    }
    return *n > 0 ? LC_OK : lc_fail(err, LC_ERR_INVALID_ARG, "no method given");
}

static bool count_ok(int n) { return n >= 1 && n <= GRID_MAX_COUNT; }

int64_t lc_bench_attn_grid_cells(const lc_bench_attn_grid *g) {
    if (!g || !count_ok(g->n_methods) || !count_ok(g->n_ns) || !count_ok(g->n_ds)) return -1;
    const int64_t n_causal = g->causal_mode == 2 ? 2 : 1;
    return (int64_t)g->n_methods * g->n_ns * g->n_ds * n_causal;
}

/* Previous measurement of a (method, d, causal) series, to estimate the next. */
typedef struct {
    double flops, seconds;
} series_last;

typedef struct {
    const lc_bench_attn_grid *g;
    int threads;
    lc_attn_params *hp; /* hybrid per-head params (g->heads) */
} grid_ctx;

static void cell_shape(const lc_bench_attn_row *r, lc_attn_shape *s) {
    memset(s, 0, sizeof *s);
    s->n_q = r->n_q;
    s->n_kv = r->n_kv;
    s->n_head = r->heads;
    s->n_head_kv = r->kv_heads;
    s->head_dim = r->d;
    s->k_type = s->v_type = r->kv_type;
    s->causal = r->causal;
    s->q_pos0 = r->n_kv - r->n_q;
}

static lc_attn_params cell_params(const grid_ctx *c, const lc_bench_attn_method *m) {
    lc_attn_params p = m->p;
    p.n_threads = c->threads;
    p.naive_max_bytes = (size_t)c->g->naive_cap;
    if (p.method != LC_ATTN_HYBRID) return p;
    for (int h = 0; h < c->g->heads; h++) {
        c->hp[h] = m->heads[h % m->n_hybrid];
        c->hp[h].n_threads = c->threads;
        c->hp[h].naive_max_bytes = (size_t)c->g->naive_cap;
    }
    p.head_params = c->hp;
    return p;
}

/* The figures of a measured cell: speed-up over NAIVE in the same cell, K/V GB/s, fraction of peak. */
static void cell_figures(const grid_ctx *c, lc_bench_attn_row *r, lc_attn_method method, double *naive_seconds) {
    if (method == LC_ATTN_NAIVE) *naive_seconds = r->r.seconds;
    if (*naive_seconds > 0 && method != LC_ATTN_NAIVE) r->speedup = *naive_seconds / r->r.seconds;
    const double kv_bytes = (double)r->r.io_bytes - 2.0 * (double)r->n_q * r->heads * r->d * sizeof(float);
    r->kv_gbs = kv_bytes / r->r.seconds / 1e9;
    const lc_peak *pk = c->g->peak;
    if (!pk) return;
    const bool decode = r->n_q == 1 && r->n_kv > 1;
    r->frac_peak = decode ? r->kv_gbs / pk->read_gbs : r->r.gflops / pk->fma_gflops;
}

/* One cell: measured, or skipped when the same method's previous length says it would pass max_seconds. */
static void measure_cell(const grid_ctx *c, lc_bench_attn_row *r, series_last *sl, double *naive_seconds) {
    lc_attn_shape s;
    cell_shape(r, &s);
    const lc_attn_params p = cell_params(c, r->m);
    const double flops = lc_attn_flops(&s, &p);
    const double est = sl->flops > 0 ? sl->seconds * flops / sl->flops : 0;
    lc_error err;
    if (est > c->g->max_seconds) {
        size_t ws = 0;
        lc_attn_workspace(&s, &p, &ws, NULL);
        r->r.workspace_bytes = ws;
        r->r.flops = flops;
        snprintf(r->error, sizeof r->error, "skipped: estimated %.0f s > --max-seconds %.0f (from the previous length)",
                 est, c->g->max_seconds);
    } else if (lc_bench_attn_cell(&s, &p, c->g->reps, c->g->max_seconds, c->g->seed, &r->r, &err) != LC_OK) {
        snprintf(r->error, sizeof r->error, "%s", err.msg);
    }
    if (!r->error[0]) {
        sl->flops = r->r.flops;
        sl->seconds = r->r.seconds;
        cell_figures(c, r, p.method, naive_seconds);
    } else if (p.method == LC_ATTN_NAIVE) {
        sl->flops = 0; /* the next length is refused too; don't extrapolate */
    }
}

lc_status lc_bench_attn_grid_run(const lc_bench_attn_grid *g, lc_bench_attn_row *rows, lc_error *err) {
    const int64_t n_cells = lc_bench_attn_grid_cells(g);
    if (n_cells < 0 || !rows || !g->methods || !g->ns || !g->ds)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: a grid needs 1..%d methods, lengths and head dims",
                       GRID_MAX_COUNT);
    if (g->heads < 1 || g->kv_heads < 0 || g->causal_mode < 0 || g->causal_mode > 2)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: heads %d, kv heads %d, causal mode %d", g->heads,
                       g->kv_heads, g->causal_mode);
    for (int i = 0; i < g->n_methods; i++)
        if (g->methods[i].p.method == LC_ATTN_HYBRID && g->methods[i].n_hybrid < 1)
            return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: hybrid method %s has no spec", g->methods[i].spec);
    int causal_vals[2], n_causal = 0;
    if (g->causal_mode == 2) causal_vals[n_causal++] = 1, causal_vals[n_causal++] = 0;
    else causal_vals[n_causal++] = g->causal_mode;
    series_last *last = calloc((size_t)g->n_methods * (size_t)g->n_ds * 2, sizeof *last);
    lc_attn_params *hp = calloc((size_t)g->heads, sizeof *hp);
    if (!last || !hp) {
        free(last);
        free(hp);
        return lc_fail(err, LC_ERR_NOMEM, "bench attn: out of memory");
    }
    const grid_ctx c = {g, g->threads > 0 ? g->threads : lc_cpu_count(), hp};
    int n_rows = 0;
    for (int di = 0; di < g->n_ds; di++)
        for (int ci = 0; ci < n_causal; ci++)
            for (int ni = 0; ni < g->n_ns; ni++) {
                double naive_seconds = 0;
                for (int mi = 0; mi < g->n_methods; mi++) {
                    lc_bench_attn_row *r = &rows[n_rows];
                    memset(r, 0, sizeof *r);
                    r->m = &g->methods[mi];
                    r->n_kv = g->ns[ni];
                    r->n_q = g->decode ? 1 : g->ns[ni];
                    r->d = (int)g->ds[di];
                    r->heads = g->heads;
                    r->kv_heads = g->kv_heads ? g->kv_heads : g->heads;
                    r->causal = causal_vals[ci];
                    r->kv_type = g->kv_type;
                    r->threads = c.threads;
                    if (g->on_cell) g->on_cell(g->user, r, n_rows, (int)n_cells, false);
                    measure_cell(&c, r, &last[((size_t)mi * g->n_ds + di) * 2 + ci], &naive_seconds);
                    if (g->on_cell) g->on_cell(g->user, r, n_rows, (int)n_cells, true);
                    n_rows++;
                }
            }
    free(last);
    free(hp);
    return LC_OK;
}

lc_status lc_bench_attn_grid_defaults(lc_bench_attn_grid *g, bool quick, int64_t *ns, int64_t *ds,
                                      lc_bench_attn_method *methods, int max, lc_error *err) {
    static const int64_t all_ns[] = {1024, 4096, 16384, 65536, 262144, 1048576}, all_ds[] = {64, 128};
    if (!g || !ns || !ds || !methods || max < 6)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench attn: no grid, or lists with room for fewer than 6");
    if (g->n_ns == 0) {
        g->n_ns = quick ? 3 : 6;
        memcpy(ns, all_ns, (size_t)g->n_ns * sizeof *ns);
    }
    if (g->n_ds == 0) {
        g->n_ds = quick ? 1 : 2;
        memcpy(ds, all_ds, (size_t)g->n_ds * sizeof *ds);
    }
    if (g->reps == 0) g->reps = quick ? 2 : 3;
    if (g->max_seconds == 0) g->max_seconds = quick ? 5 : 60;
    if (g->kv_heads == 0) g->kv_heads = g->heads;
    if (g->threads <= 0) g->threads = lc_cpu_count();
    if (g->n_methods == 0) {
        const lc_status st =
            lc_bench_attn_methods_parse(LC_BENCH_ATTN_DEFAULT_METHODS, methods, max, &g->n_methods, err);
        if (st != LC_OK) return st;
    }
    g->ns = ns, g->ds = ds, g->methods = methods;
    for (int i = 0; i < g->n_ns; i++)
        if (ns[i] < 1 || ns[i] > LC_CONTEXT_MAX_TOKENS)
            return lc_fail(err, LC_ERR_INVALID_ARG, "--n: lengths must be in 1..%lld",
                           (long long)LC_CONTEXT_MAX_TOKENS);
    return LC_OK;
}
