/*
 * HYBRID attention: a method per query head (p->head_params[h], none HYBRID).
 *
 * Consecutive query heads that read the same KV head and carry identical
 * params form a run; each run is one ordinary sub-call through the public
 * dispatcher (lc_attn_workspace / lc_attn_forward) with n_head = run length
 * and n_head_kv = 1:
 *
 *   Qg [n_q][run][d] f32      gathered from Q [n_q][H_q][d]
 *   Kg [n_kv][d] of k_type    gathered from K [n_kv][H_kv][d] (only if H_kv > 1;
 *   Vg [n_kv][d] of v_type    each KV head is gathered once, runs are in order)
 *   Og [n_q][run][d], Lg [n_q][run]   scattered back to out / lse
 *
 * The sub-calls use the call's resolved thread count and honour its
 * force_scalar; everything else comes from the head's params. Workspace:
 * the gather buffers plus the largest sub-call workspace, exactly.
 */
#include <stdio.h>
#include <string.h>

#include "attn/attn_internal.h"

typedef struct {
    int32_t h0, n; /* query heads h0 .. h0+n-1 */
} head_run;

typedef struct {
    size_t q_bytes, o_bytes, l_bytes, k_bytes, v_bytes; /* gather buffers (k/v 0 when H_kv == 1) */
    size_t off_q, off_o, off_l, off_k, off_v, off_sub;
    size_t sub_max, total;
    int32_t max_run;
} hybrid_plan;

static bool same_params(const lc_attn_params *a, const lc_attn_params *b) {
    return a->method == b->method && a->n_threads == b->n_threads && a->naive_max_bytes == b->naive_max_bytes &&
           a->mask == b->mask && a->window == b->window && a->n_sinks == b->n_sinks && a->feature == b->feature &&
           a->n_features == b->n_features && a->seed == b->seed && a->chunk == b->chunk && a->overlap == b->overlap &&
           a->head_params == b->head_params && a->force_scalar == b->force_scalar && a->split_kv == b->split_kv;
}

/* The run that starts at query head h0. */
static head_run run_at(const lc_attn_ctx *c, int32_t h0) {
    const lc_attn_params *hp = c->p->head_params;
    const int32_t hk = h0 / c->group;
    int32_t h = h0 + 1;
    while (h < c->s->n_head && h / c->group == hk && same_params(&hp[h], &hp[h0])) h++;
    return (head_run){h0, h - h0};
}

/* The sub-call of a run: its shape and params. */
static void sub_call(const lc_attn_ctx *c, head_run r, lc_attn_shape *s, lc_attn_params *p) {
    *s = *c->s;
    s->n_head = r.n;
    s->n_head_kv = 1;
    s->scale = c->scale;
    *p = c->p->head_params[r.h0];
    p->n_threads = c->n_threads;
    p->force_scalar = p->force_scalar || c->p->force_scalar;
}

static bool carve(size_t *off, size_t bytes, size_t *at) {
    size_t start;
    if (!lc_add_size(*off, 63, &start)) return false;
    start &= ~(size_t)63;
    *at = start;
    return lc_add_size(start, bytes, off);
}

static lc_status make_plan(const lc_attn_ctx *c, hybrid_plan *pl, lc_error *err) {
    const lc_attn_shape *s = c->s;
    memset(pl, 0, sizeof *pl);
    for (int32_t h = 0; h < s->n_head;) {
        head_run r = run_at(c, h);
        lc_attn_shape ss;
        lc_attn_params sp;
        sub_call(c, r, &ss, &sp);
        size_t need = 0;
        lc_status st = lc_attn_workspace(&ss, &sp, &need, err);
        if (st != LC_OK) {
            char msg[LC_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            return lc_fail(err, st, "hybrid attention, head %d (%s): %s", h, lc_attn_method_name(sp.method), msg);
        }
        pl->sub_max = LC_MAX(pl->sub_max, need);
        pl->max_run = LC_MAX(pl->max_run, r.n);
        h += r.n;
    }
    const size_t d = (size_t)s->head_dim;
    bool ok = lc_mul3_size((size_t)s->n_q, (size_t)pl->max_run, d * sizeof(float), &pl->q_bytes) &&
              lc_mul3_size((size_t)s->n_q, (size_t)pl->max_run, sizeof(float), &pl->l_bytes);
    pl->o_bytes = pl->q_bytes;
    if (ok && s->n_head_kv > 1)
        ok = lc_mul_size((size_t)s->n_kv, c->k_head_bytes, &pl->k_bytes) &&
             lc_mul_size((size_t)s->n_kv, c->v_head_bytes, &pl->v_bytes);
    size_t off = 0;
    ok = ok && carve(&off, pl->q_bytes, &pl->off_q) && carve(&off, pl->o_bytes, &pl->off_o) &&
         carve(&off, pl->l_bytes, &pl->off_l) && carve(&off, pl->k_bytes, &pl->off_k) &&
         carve(&off, pl->v_bytes, &pl->off_v) && carve(&off, pl->sub_max, &pl->off_sub);
    if (!ok) return lc_fail(err, LC_ERR_TOO_LARGE, "hybrid attention: gather buffers overflow size_t");
    pl->total = off;
    return LC_OK;
}

lc_status lc_attn_hybrid_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    hybrid_plan pl;
    lc_status st = make_plan(c, &pl, err);
    *bytes = st == LC_OK ? pl.total : 0;
    return st;
}

/* Copy n rows of `bytes` bytes, src rows src_stride apart, into dst. */
static void gather(char *dst, const char *src, int64_t n, size_t bytes, size_t src_stride) {
    for (int64_t j = 0; j < n; j++) memcpy(dst + (size_t)j * bytes, src + (size_t)j * src_stride, bytes);
}

lc_status lc_attn_hybrid_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    const lc_attn_shape *s = c->s;
    hybrid_plan pl;
    lc_status st = make_plan(c, &pl, err);
    if (st != LC_OK) return st;
    if (ws_bytes < pl.total || (pl.total && !ws))
        return lc_fail(err, LC_ERR_INVALID_ARG, "hybrid attention: workspace of %zu bytes given, %zu needed", ws_bytes,
                       pl.total);
    char *base = (char *)ws;
    float *qg = (float *)(base + pl.off_q), *og = (float *)(base + pl.off_o), *lg = (float *)(base + pl.off_l);
    char *kg = base + pl.off_k, *vg = base + pl.off_v;
    const size_t d = (size_t)s->head_dim, H = (size_t)s->n_head;
    int32_t gathered_hk = -1;

    for (int32_t h = 0; h < s->n_head;) {
        const head_run r = run_at(c, h);
        const int32_t hk = h / c->group;
        lc_attn_shape ss;
        lc_attn_params sp;
        sub_call(c, r, &ss, &sp);
        const size_t row = (size_t)r.n * d * sizeof(float);
        gather((char *)qg, (const char *)(c->io->q + (size_t)h * d), s->n_q, row, H * d * sizeof(float));
        lc_attn_io io = {qg, c->io->k, c->io->v, og, lg};
        if (s->n_head_kv > 1) {
            if (hk != gathered_hk && s->n_kv > 0) {
                gather(kg, (const char *)c->io->k + (size_t)hk * c->k_head_bytes, s->n_kv, c->k_head_bytes,
                       c->k_row_bytes);
                gather(vg, (const char *)c->io->v + (size_t)hk * c->v_head_bytes, s->n_kv, c->v_head_bytes,
                       c->v_row_bytes);
                gathered_hk = hk;
            }
            io.k = kg;
            io.v = vg;
        }
        st = lc_attn_forward(&ss, &sp, &io, base + pl.off_sub, pl.sub_max, err);
        if (st != LC_OK) return st;
        for (int64_t i = 0; i < s->n_q; i++) {
            memcpy(c->io->out + ((size_t)i * H + (size_t)h) * d, og + (size_t)i * r.n * d, row);
            if (c->io->lse)
                memcpy(c->io->lse + (size_t)i * H + (size_t)h, lg + (size_t)i * r.n, (size_t)r.n * sizeof(float));
        }
        h += r.n;
    }
    return LC_OK;
}
