/*
 * The mixture-of-experts feed-forward block (include/longctx/moe.h).
 *
 * lc_moe_forward works on blocks of up to MOE_BLOCK tokens:
 *   1. router logits for the block (one lc_matmul), then each token's k
 *      experts and weights (route_tokens);
 *   2. a counting sort of the (token, slot) pairs by expert;
 *   3. per expert that has tokens: gather their rows, G = X G_e^T, U = X U_e^T
 *      (+ biases), H = act(G, U), D = H D_e^T (+ bias), y_t += w_{t,slot} D
 *      — one GEMM per expert matrix, so each expert's weights are read once
 *      per block whatever the number of its tokens (decode: one matvec each
 *      for the k selected experts only);
 *   4. the shared expert over the whole block, scaled by sigmoid(s . x).
 * The threads are inside lc_matmul (experts run one after another).
 *
 * Workspace (64-byte aligned pieces, B = min(n_tok, MOE_BLOCK), F = max(ffn,
 * shared_ffn)): logits [B][E], idx [B][k], w [B][k], counts [E + 1],
 * order [B k], X [B][dim], G, U [B][F], D [B][dim], shared gate [B],
 * and the largest lc_matmul workspace of the block's products.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "longctx/moe.h"

#define MOE_BLOCK 1024

void lc_moe_layer_init(lc_moe_layer *m) {
    memset(m, 0, sizeof *m);
    m->routing = LC_MOE_SOFTMAX_TOPK;
    m->norm_topk = true;
    m->act = LC_MOE_SWIGLU;
    m->swiglu_alpha = 1.702f;
    m->swiglu_limit = 7.0f;
}

/* Expert e's slice of a stacked [E * rows, cols] tensor. */
static lc_tensor expert_view(const lc_tensor *t, int64_t rows, int32_t e) {
    lc_tensor v = *t;
    size_t rb = 0;
    lc_dtype_row_bytes(t->type, t->cols, &rb, NULL);
    v.rows = rows;
    v.data = (const char *)t->data + (size_t)e * (size_t)rows * rb;
    return v;
}

static lc_status check_tensor(const lc_tensor *t, int64_t rows, int64_t cols, const char *name, lc_error *err) {
    if (t->rows != rows || t->cols != cols)
        return lc_fail(err, LC_ERR_FORMAT, "moe: %s is %lld x %lld, expected %lld x %lld", name, (long long)t->rows,
                       (long long)t->cols, (long long)rows, (long long)cols);
    if (!t->data) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: %s has no data", name);
    size_t bytes;
    return lc_matmul_workspace(t, 1, 1, &bytes, err); /* type and size checks */
}

lc_status lc_moe_validate(const lc_moe_layer *m, lc_error *err) {
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: NULL layer");
    if (m->n_experts < 1 || m->n_used < 1 || m->n_used > m->n_experts || m->n_experts > 1 << 16)
        return lc_fail(err, LC_ERR_INVALID_ARG, "moe: %d experts, %d used (need 1 <= used <= experts <= 65536)",
                       m->n_experts, m->n_used);
    if (m->dim < 1 || m->ffn < 1 || m->dim > INT32_MAX || m->ffn > INT32_MAX || m->shared_ffn < 0 ||
        m->shared_ffn > INT32_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "moe: dim %lld, ffn %lld, shared ffn %lld", (long long)m->dim,
                       (long long)m->ffn, (long long)m->shared_ffn);
    if ((unsigned)m->routing > LC_MOE_SOFTMAX_TOPK || (unsigned)m->act > LC_MOE_SWIGLU_OAI)
        return lc_fail(err, LC_ERR_INVALID_ARG, "moe: unknown routing %d or activation %d", (int)m->routing,
                       (int)m->act);
    if (m->act == LC_MOE_SWIGLU_OAI && !(isfinite(m->swiglu_alpha) && m->swiglu_limit > 0 && isfinite(m->swiglu_limit)))
        return lc_fail(err, LC_ERR_INVALID_ARG, "moe: swiglu alpha %g, limit %g", (double)m->swiglu_alpha,
                       (double)m->swiglu_limit);
    const int64_t E = m->n_experts;
    lc_status st = check_tensor(&m->router, E, m->dim, "router (ffn_gate_inp)", err);
    if (st == LC_OK) st = check_tensor(&m->gate_exps, E * m->ffn, m->dim, "ffn_gate_exps", err);
    if (st == LC_OK) st = check_tensor(&m->up_exps, E * m->ffn, m->dim, "ffn_up_exps", err);
    if (st == LC_OK) st = check_tensor(&m->down_exps, E * m->dim, m->ffn, "ffn_down_exps", err);
    if (st == LC_OK && m->shared_ffn > 0) {
        st = check_tensor(&m->shared_gate, m->shared_ffn, m->dim, "ffn_gate_shexp", err);
        if (st == LC_OK) st = check_tensor(&m->shared_up, m->shared_ffn, m->dim, "ffn_up_shexp", err);
        if (st == LC_OK) st = check_tensor(&m->shared_down, m->dim, m->shared_ffn, "ffn_down_shexp", err);
        if (st == LC_OK && m->shared_gate_inp.data)
            st = check_tensor(&m->shared_gate_inp, 1, m->dim, "ffn_gate_inp_shexp", err);
    }
    return st;
}

/* ---- workspace ------------------------------------------------------------ */

typedef struct {
    int64_t B, F;
    size_t logits, idx, w, counts, order, x, g, u, d, sg, mm, mm_bytes, total;
} moe_plan;

static bool carve(size_t *off, size_t count, size_t elem, size_t *at) {
    size_t bytes;
    *off = (*off + 63) & ~(size_t)63;
    *at = *off;
    return lc_mul_size(count, elem, &bytes) && lc_add_size(*off, bytes, off);
}

static lc_status mm_need(const lc_tensor *t, int64_t rows, int64_t n, int nt, size_t *need, lc_error *err) {
    lc_tensor v = *t;
    v.rows = rows;
    size_t b;
    lc_status st = lc_matmul_workspace(&v, n, nt, &b, err);
    if (st == LC_OK && b > *need) *need = b;
    return st;
}

static lc_status make_plan(const lc_moe_layer *m, int64_t n_tok, int nt, moe_plan *pl, lc_error *err) {
    lc_status st = lc_moe_validate(m, err);
    if (st != LC_OK) return st;
    if (n_tok < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: negative token count");
    memset(pl, 0, sizeof *pl);
    const int64_t B = LC_MAX((int64_t)1, LC_MIN(n_tok, (int64_t)MOE_BLOCK));
    pl->B = B;
    pl->F = LC_MAX(m->ffn, m->shared_ffn);
    size_t need = 0;
    /* the largest product of a block: every matrix with up to B tokens */
    st = mm_need(&m->router, m->n_experts, B, nt, &need, err);
    if (st == LC_OK) st = mm_need(&m->gate_exps, m->ffn, B, nt, &need, err);
    if (st == LC_OK) st = mm_need(&m->up_exps, m->ffn, B, nt, &need, err);
    if (st == LC_OK) st = mm_need(&m->down_exps, m->dim, B, nt, &need, err);
    if (st == LC_OK && m->shared_ffn > 0) {
        st = mm_need(&m->shared_gate, m->shared_ffn, B, nt, &need, err);
        if (st == LC_OK) st = mm_need(&m->shared_up, m->shared_ffn, B, nt, &need, err);
        if (st == LC_OK) st = mm_need(&m->shared_down, m->dim, B, nt, &need, err);
        if (st == LC_OK && m->shared_gate_inp.data) st = mm_need(&m->shared_gate_inp, 1, B, nt, &need, err);
    }
    if (st != LC_OK) return st;
    const size_t b = (size_t)B, E = (size_t)m->n_experts, k = (size_t)m->n_used, f = sizeof(float);
    size_t off = 0;
    bool ok = carve(&off, b * E, f, &pl->logits) && carve(&off, b * k, sizeof(int32_t), &pl->idx) &&
              carve(&off, b * k, f, &pl->w) && carve(&off, E + 1, sizeof(int64_t), &pl->counts) &&
              carve(&off, b * k, sizeof(int32_t), &pl->order) && carve(&off, b * (size_t)m->dim, f, &pl->x) &&
              carve(&off, b * (size_t)pl->F, f, &pl->g) && carve(&off, b * (size_t)pl->F, f, &pl->u) &&
              carve(&off, b * (size_t)m->dim, f, &pl->d) && carve(&off, b, f, &pl->sg) &&
              carve(&off, need, 1, &pl->mm) && carve(&off, 0, 1, &pl->total);
    if (!ok) return lc_fail(err, LC_ERR_TOO_LARGE, "moe: workspace size overflows");
    pl->mm_bytes = need;
    return LC_OK;
}

lc_status lc_moe_workspace(const lc_moe_layer *m, int64_t n_tok, int n_threads, size_t *bytes, lc_error *err) {
    if (!bytes) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: NULL bytes");
    *bytes = 0;
    moe_plan pl = {0};
    lc_status st = make_plan(m, n_tok, n_threads, &pl, err);
    if (st == LC_OK) *bytes = pl.total;
    return st;
}

/* ---- routing ---------------------------------------------------------------- */

/* The k largest of v[0..E) in decreasing order, ties to the lower index;
 * NaN never wins over a number. */
static void top_k(const float *v, int32_t E, int32_t k, int32_t *idx) {
    for (int32_t s = 0; s < k; s++) {
        int32_t best = -1;
        for (int32_t e = 0; e < E; e++) {
            bool taken = false;
            for (int32_t p = 0; p < s; p++) taken |= idx[p] == e;
            if (taken) continue;
            if (best < 0 || v[e] > v[best] || (isnan(v[best]) && !isnan(v[e]))) best = e;
        }
        idx[s] = best;
    }
}

/* Softmax over n values in place (max-subtracted). */
static void softmax(float *v, int32_t n) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < n; i++) mx = fmaxf(mx, v[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        v[i] = mx == -INFINITY ? 1.0f : expf(v[i] - mx);
        sum += v[i];
    }
    for (int32_t i = 0; i < n; i++) v[i] = (float)(v[i] / sum);
}

/* logits [n][E] (biased already) -> idx, w [n][k]; logits overwritten. */
static void route_tokens(const lc_moe_layer *m, int64_t n, float *logits, int32_t *idx, float *w) {
    const int32_t E = m->n_experts, k = m->n_used;
    for (int64_t t = 0; t < n; t++) {
        float *l = logits + t * E, *wt = w + t * k;
        int32_t *it = idx + t * k;
        if (m->routing == LC_MOE_SOFTMAX_TOPK) softmax(l, E);
        top_k(l, E, k, it);
        for (int32_t s = 0; s < k; s++) wt[s] = l[it[s]];
        if (m->routing == LC_MOE_TOPK_SOFTMAX) {
            softmax(wt, k);
        } else if (m->norm_topk) {
            double sum = 0.0;
            for (int32_t s = 0; s < k; s++) sum += wt[s];
            for (int32_t s = 0; s < k; s++) wt[s] = sum > 0.0 ? (float)(wt[s] / sum) : 1.0f / (float)k;
        }
    }
}

static lc_status router_logits(const lc_moe_layer *m, const moe_plan *pl, int64_t n, const float *x, char *ws,
                               const lc_kernel_opts *o, lc_error *err) {
    float *logits = (float *)(ws + pl->logits);
    lc_status st = lc_matmul(&m->router, x, n, logits, ws + pl->mm, pl->mm_bytes, o, err);
    if (st != LC_OK) return st;
    if (m->router_bias)
        for (int64_t t = 0; t < n; t++)
            for (int32_t e = 0; e < m->n_experts; e++) logits[t * m->n_experts + e] += m->router_bias[e];
    return LC_OK;
}

static lc_status check_call(const moe_plan *pl, int64_t n_tok, const void *x, const void *out, void *ws,
                            size_t ws_bytes, lc_error *err) {
    if (n_tok > 0 && (!x || !out)) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: NULL input or output");
    if (ws_bytes < pl->total || !ws)
        return lc_fail(err, LC_ERR_INVALID_ARG, "moe: workspace of %zu bytes given, %zu needed", ws_bytes, pl->total);
    if ((uintptr_t)ws % 8) return lc_fail(err, LC_ERR_INVALID_ARG, "moe: workspace must be 8-byte aligned");
    return LC_OK;
}

lc_status lc_moe_route(const lc_moe_layer *m, int64_t n_tok, const float *x, int32_t *idx, float *w, void *ws,
                       size_t ws_bytes, const lc_kernel_opts *o, lc_error *err) {
    moe_plan pl = {0};
    lc_status st = make_plan(m, n_tok, o ? o->n_threads : 0, &pl, err);
    if (st == LC_OK) st = check_call(&pl, n_tok, x, idx, ws, ws_bytes, err);
    if (st == LC_OK && n_tok > 0 && !w) st = lc_fail(err, LC_ERR_INVALID_ARG, "moe: NULL weights");
    for (int64_t t0 = 0; st == LC_OK && t0 < n_tok; t0 += pl.B) {
        const int64_t n = LC_MIN(pl.B, n_tok - t0);
        st = router_logits(m, &pl, n, x + t0 * m->dim, (char *)ws, o, err);
        if (st == LC_OK)
            route_tokens(m, n, (float *)((char *)ws + pl.logits), idx + t0 * m->n_used, w + t0 * m->n_used);
    }
    return st;
}

/* ---- activation ---------------------------------------------------------------- */

void lc_moe_activate(const lc_moe_layer *m, const float *gate, const float *up, float *out, int64_t n) {
    if (m->act == LC_MOE_SWIGLU_OAI) {
        const float a = m->swiglu_alpha, lim = m->swiglu_limit;
        for (int64_t i = 0; i < n; i++) {
            const float g = fminf(gate[i], lim), u = fminf(fmaxf(up[i], -lim), lim);
            out[i] = g / (1.0f + expf(-a * g)) * (u + 1.0f);
        }
    } else {
        for (int64_t i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
    }
}

/* ---- forward ------------------------------------------------------------------- */

static void add_bias(float *y, int64_t n, int64_t width, const float *bias) {
    if (!bias) return;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < width; i++) y[t * width + i] += bias[i];
}

/* One block of n tokens: x [n][dim] -> y [n][dim]. */
static lc_status forward_block(const lc_moe_layer *m, const moe_plan *pl, int64_t n, const float *x, float *y,
                               char *ws, const lc_kernel_opts *o, lc_error *err) {
    const int32_t E = m->n_experts, k = m->n_used;
    const int64_t dim = m->dim, ffn = m->ffn;
    int32_t *idx = (int32_t *)(ws + pl->idx), *order = (int32_t *)(ws + pl->order);
    float *w = (float *)(ws + pl->w), *X = (float *)(ws + pl->x), *G = (float *)(ws + pl->g);
    float *U = (float *)(ws + pl->u), *D = (float *)(ws + pl->d), *sg = (float *)(ws + pl->sg);
    int64_t *cnt = (int64_t *)(ws + pl->counts);
    void *mm = ws + pl->mm;
    const size_t mmb = pl->mm_bytes;

    lc_status st = router_logits(m, pl, n, x, ws, o, err);
    if (st != LC_OK) return st;
    route_tokens(m, n, (float *)(ws + pl->logits), idx, w);

    /* counting sort of the pairs (t, slot) by expert: cnt[e]..cnt[e+1] */
    memset(cnt, 0, (size_t)(E + 1) * sizeof(int64_t));
    for (int64_t p = 0; p < n * k; p++) cnt[idx[p] + 1]++;
    for (int32_t e = 0; e < E; e++) cnt[e + 1] += cnt[e];
    for (int64_t p = 0; p < n * k; p++) order[cnt[idx[p]]++] = (int32_t)p;
    for (int32_t e = E; e > 0; e--) cnt[e] = cnt[e - 1];
    cnt[0] = 0;

    memset(y, 0, (size_t)n * (size_t)dim * sizeof(float));
    for (int32_t e = 0; e < E; e++) {
        const int64_t c = cnt[e + 1] - cnt[e];
        if (c == 0) continue;
        const int32_t *pairs = order + cnt[e];
        for (int64_t r = 0; r < c; r++)
            memcpy(X + r * dim, x + (int64_t)(pairs[r] / k) * dim, (size_t)dim * sizeof(float));
        const lc_tensor ge = expert_view(&m->gate_exps, ffn, e), ue = expert_view(&m->up_exps, ffn, e);
        const lc_tensor de = expert_view(&m->down_exps, dim, e);
        st = lc_matmul(&ge, X, c, G, mm, mmb, o, err);
        if (st == LC_OK) st = lc_matmul(&ue, X, c, U, mm, mmb, o, err);
        if (st != LC_OK) return st;
        add_bias(G, c, ffn, m->gate_bias ? m->gate_bias + (size_t)e * ffn : NULL);
        add_bias(U, c, ffn, m->up_bias ? m->up_bias + (size_t)e * ffn : NULL);
        lc_moe_activate(m, G, U, G, c * ffn);
        st = lc_matmul(&de, G, c, D, mm, mmb, o, err);
        if (st != LC_OK) return st;
        add_bias(D, c, dim, m->down_bias ? m->down_bias + (size_t)e * dim : NULL);
        for (int64_t r = 0; r < c; r++) {
            const int64_t t = pairs[r] / k;
            const float wt = w[pairs[r]];
            float *yt = y + t * dim;
            const float *dr = D + r * dim;
            for (int64_t i = 0; i < dim; i++) yt[i] += wt * dr[i];
        }
    }

    if (m->shared_ffn > 0) {
        const int64_t sf = m->shared_ffn;
        st = lc_matmul(&m->shared_gate, x, n, G, mm, mmb, o, err);
        if (st == LC_OK) st = lc_matmul(&m->shared_up, x, n, U, mm, mmb, o, err);
        if (st != LC_OK) return st;
        for (int64_t i = 0; i < n * sf; i++) G[i] = G[i] / (1.0f + expf(-G[i])) * U[i];
        st = lc_matmul(&m->shared_down, G, n, D, mm, mmb, o, err);
        if (st == LC_OK && m->shared_gate_inp.data) st = lc_matmul(&m->shared_gate_inp, x, n, sg, mm, mmb, o, err);
        if (st != LC_OK) return st;
        for (int64_t t = 0; t < n; t++) {
            const float s = m->shared_gate_inp.data ? 1.0f / (1.0f + expf(-sg[t])) : 1.0f;
            for (int64_t i = 0; i < dim; i++) y[t * dim + i] += s * D[t * dim + i];
        }
    }
    return LC_OK;
}

lc_status lc_moe_forward(const lc_moe_layer *m, int64_t n_tok, const float *x, float *y, void *ws, size_t ws_bytes,
                         const lc_kernel_opts *o, lc_error *err) {
    moe_plan pl = {0};
    lc_status st = make_plan(m, n_tok, o ? o->n_threads : 0, &pl, err);
    if (st == LC_OK) st = check_call(&pl, n_tok, x, y, ws, ws_bytes, err);
    if (st == LC_OK && n_tok > 0 && x == y) st = lc_fail(err, LC_ERR_INVALID_ARG, "moe: x and y must be distinct");
    for (int64_t t0 = 0; st == LC_OK && t0 < n_tok; t0 += pl.B) {
        const int64_t n = LC_MIN(pl.B, n_tok - t0);
        st = forward_block(m, &pl, n, x + t0 * m->dim, y + t0 * m->dim, (char *)ws, o, err);
    }
    return st;
}
