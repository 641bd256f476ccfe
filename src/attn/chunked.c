/*
 * CHUNKED attention: exact local attention plus one summary per distant
 * chunk, all in one softmax.
 *
 * Keys sit at positions 0..n-1 (n = n_kv). Chunk c holds positions
 * [cC, (c + 1)C) (C = chunk, O = overlap, 0 <= O < C). A query at position p
 * lies in chunk c = floor(p / C) and sees, in one softmax with the shape's
 * scale:
 *
 *   local keys   causal:     [cC - O, p]            (clipped to [0, n))
 *                non-causal: [cC - O, cC + C + O)   (clipped to [0, n))
 *   summaries    for every other chunk c' (causal: c' < c only) the keys of
 *                c' that the local window does not cover, R(c', c), if any:
 *                  key   = mean of K over R,  value = mean of V over R,
 *                  score = scale q . key + log |R|
 *
 * so every key the query may see is represented exactly once: exactly when
 * it is local, else through the summary of its chunk. Concretely (O > 0):
 * chunks c' <= c - 2 and c' >= c + 2 contribute their full mean (|R| = C, or
 * fewer keys for an incomplete last chunk), chunk c - 1 its "head"
 * [c'C, c'C + C - O) (its last O keys are local), and, without causal
 * masking, chunk c + 1 its "tail" [c'C + O, c'C + C). With O = 0 every other
 * chunk is a full summary. A summary of the query's own chunk or of a later
 * chunk is never visible under causal masking, and R(c', c) only holds
 * positions < cC <= p: no query sees a future key through a summary.
 *
 * The log |R| term makes a summary stand for |R| keys that all score
 * q . mean: the softmax weight of the group is then |R| exp(q . mean) where
 * exact attention has sum_j exp(q . k_j) (>= that, by Jensen, with equality
 * when the chunk's keys agree). Without it a summary of 512 keys would weigh
 * as one key, and the distant context would vanish as C grows.
 *
 * Implementation: (1) the summaries of every (KV head, chunk) are built in
 * parallel, accumulated in double (full sums and the first/last O keys, so
 * head = full - last O, tail = full - first O), stored transposed for the
 * score products; (2) tiles of up to RMAX rows (queries of one chunk x query
 * heads of one KV group) walk their summaries and then their local keys in
 * blocks of TK with an online softmax (running max m, sum l, accumulator):
 *
 *   S = (scale Q) K_blk^T (+ log|R|)    m' = max(m, rowmax S)
 *   acc = exp(m - m') acc + exp(S - m') V_blk,   l likewise
 *
 * out = acc / l, lse = m + log l. Work O(n (C + O) + n^2 / C) per head;
 * workspace: summaries O(H_kv n / C d) plus per-thread tiles.
 *
 * A stateless call rebuilds the summaries it needs (O(n d) reads of K and
 * V); a decode loop pays that per call, as it pays reading the cache.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "attn/attn_internal.h"
#include "attn/linear_kernels.h"
#include "common/simd.h"

#define TK 64   /* keys (or summaries) per score block   */
#define RMAX 64 /* rows (query x head) per tile          */

enum { SUM_FULL = 0, SUM_HEAD, SUM_TAIL, SUM_KINDS };

typedef struct {
    int32_t d;
    int64_t C, O;
    int64_t n_ch; /* chunks whose summaries are stored (per KV head)  */
    bool kind_used[SUM_KINDS];
    int32_t gs;   /* query heads per tile                            */
    int32_t n_sub; /* head subgroups per KV head                      */
    int64_t tq;   /* queries per tile                                */
    int64_t n_tiles;
    int T;
    /* per lane */
    size_t l_qs, l_acc, l_m, l_l, l_sc, l_kt, l_kconv, l_vconv, l_dacc, l_row;
    size_t lane_bytes;
    /* shared, per summary kind: kt [H_kv][d][n_ch], v [H_kv][n_ch][d], bias [H_kv][n_ch] */
    size_t o_kt[SUM_KINDS], o_v[SUM_KINDS], o_bias[SUM_KINDS];
    size_t o_lanes, total;
} ch_layout;

static bool take(size_t *off, size_t count, size_t elt, size_t *at) {
    size_t bytes, end;
    if (!lc_mul_size(count, elt, &bytes) || !lc_add_size(bytes, 63, &bytes)) return false;
    bytes &= ~(size_t)63;
    if (!lc_add_size(*off, bytes, &end)) return false;
    *at = *off;
    *off = end;
    return true;
}

/* Chunks that some query may need a summary of: causal only chunks before
 * the last query's chunk. */
static int64_t summary_chunks(const lc_attn_shape *s, int64_t C) {
    const int64_t n_key_ch = s->n_kv / C + (s->n_kv % C != 0);
    if (s->n_q == 0) return 0;
    if (!s->causal) return n_key_ch;
    const int64_t c_last = (s->q_pos0 + s->n_q - 1) / C;
    return LC_MIN(n_key_ch, c_last);
}

static lc_status layout_init(const lc_attn_ctx *c, ch_layout *L, lc_error *err) {
    const lc_attn_shape *s = c->s;
    memset(L, 0, sizeof *L);
    const size_t f4 = sizeof(float);
    L->d = s->head_dim;
    L->C = c->p->chunk;
    L->O = c->p->overlap;
    L->n_ch = summary_chunks(s, L->C);
    L->kind_used[SUM_FULL] = true;
    L->kind_used[SUM_HEAD] = L->O > 0;
    L->kind_used[SUM_TAIL] = L->O > 0 && !s->causal;
    L->gs = LC_MIN(c->group, RMAX);
    L->n_sub = (c->group + L->gs - 1) / L->gs;
    L->tq = LC_MAX(1, RMAX / L->gs);
    L->n_tiles = (s->n_q + L->tq - 1) / L->tq;
    L->T = c->n_threads;
    const size_t d = (size_t)L->d;

    size_t o = 0;
    bool ok = take(&o, RMAX * d, f4, &L->l_qs) && take(&o, RMAX * d, f4, &L->l_acc) && take(&o, RMAX, f4, &L->l_m) &&
              take(&o, RMAX, f4, &L->l_l) && take(&o, (size_t)RMAX * TK, f4, &L->l_sc) &&
              take(&o, d * TK, f4, &L->l_kt) &&
              take(&o, s->k_type == LC_DTYPE_F32 ? 0 : TK * d, f4, &L->l_kconv) &&
              take(&o, s->v_type == LC_DTYPE_F32 ? 0 : TK * d, f4, &L->l_vconv) &&
              take(&o, 6 * d, sizeof(double), &L->l_dacc) && take(&o, 2 * d, f4, &L->l_row);
    L->lane_bytes = o;
    size_t g = 0, per_head;
    ok = ok && lc_mul_size((size_t)L->n_ch, d, &per_head);
    for (int k = 0; k < SUM_KINDS && ok; k++) {
        const size_t heads = L->kind_used[k] ? (size_t)s->n_head_kv : 0, cnt = heads * per_head;
        ok = take(&g, cnt, f4, &L->o_kt[k]) && take(&g, cnt, f4, &L->o_v[k]) &&
             take(&g, heads * (size_t)L->n_ch, f4, &L->o_bias[k]);
        if (heads && per_head && cnt / heads != per_head) ok = false;
    }
    ok = ok && take(&g, (size_t)L->T, L->lane_bytes, &L->o_lanes);
    L->total = g;
    if (!ok)
        return lc_fail(err, LC_ERR_TOO_LARGE, "chunked attention: summaries of %lld chunks x %d KV heads overflow",
                       (long long)L->n_ch, s->n_head_kv);
    return LC_OK;
}

lc_status lc_attn_chunked_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    ch_layout L;
    lc_status st = layout_init(c, &L, err);
    if (st != LC_OK) {
        *bytes = SIZE_MAX;
        return st;
    }
    *bytes = L.total;
    /* Refuse what cannot fit. Only large requests ask the system (a read of
     * /proc/meminfo would cost more than a small call itself). */
    const size_t avail = L.total > ((size_t)256 << 20) ? lc_mem_available_bytes() : 0;
    if (avail && L.total > avail) {
        char need[32], have[32];
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "chunked attention needs %s of workspace (summaries of %lld chunks of %lld) but only %s is "
                       "available; use a larger chunk",
                       lc_format_bytes((double)L.total, need, sizeof need), (long long)L.n_ch, (long long)L.C,
                       lc_format_bytes((double)avail, have, sizeof have));
    }
    return LC_OK;
}

/* ---- per-thread scratch and row loading ----------------------------------- */

typedef struct {
    float *qs, *acc, *m, *l, *sc, *kt, *kconv, *vconv, *row;
    double *dacc;
} lane;

static lane lane_at(const ch_layout *L, char *ws, int t) {
    char *b = ws + L->o_lanes + (size_t)t * L->lane_bytes;
    lane l;
    l.qs = (float *)(b + L->l_qs);
    l.acc = (float *)(b + L->l_acc);
    l.m = (float *)(b + L->l_m);
    l.l = (float *)(b + L->l_l);
    l.sc = (float *)(b + L->l_sc);
    l.kt = (float *)(b + L->l_kt);
    l.kconv = (float *)(b + L->l_kconv);
    l.vconv = (float *)(b + L->l_vconv);
    l.dacc = (double *)(b + L->l_dacc);
    l.row = (float *)(b + L->l_row);
    return l;
}

static void to_f32(lc_isa isa, lc_dtype t, const void *src, float *dst, int32_t d) {
    if (t == LC_DTYPE_F16) {
#if defined(LC_HAVE_X86)
        if (isa >= LC_ISA_AVX2) {
            lc_f16_to_f32_row_avx2((const uint16_t *)src, dst, d);
            return;
        }
#endif
        (void)isa;
        const uint16_t *h = (const uint16_t *)src;
        for (int32_t i = 0; i < d; i++) dst[i] = lc_f16_to_f32(h[i]);
    } else if (t == LC_DTYPE_Q8_0) {
        lc_dequantize_row_q8_0((const lc_block_q8_0 *)src, dst, d);
    } else {
        memcpy(dst, src, (size_t)d * sizeof(float));
    }
}

/* Rows j0..j0+n-1 of KV head hk as f32: in place for f32, else into buf. */
static const float *load_rows(const lc_attn_ctx *c, bool keys, int64_t j0, int64_t n, int32_t hk, float *buf,
                              size_t *ld) {
    const lc_dtype t = keys ? c->s->k_type : c->s->v_type;
    const int32_t d = c->s->head_dim;
    if (t == LC_DTYPE_F32) {
        *ld = (keys ? c->k_row_bytes : c->v_row_bytes) / sizeof(float);
        return (const float *)(keys ? lc_attn_k_ptr(c, j0, hk) : lc_attn_v_ptr(c, j0, hk));
    }
    for (int64_t j = 0; j < n; j++)
        to_f32(c->isa, t, keys ? lc_attn_k_ptr(c, j0 + j, hk) : lc_attn_v_ptr(c, j0 + j, hk), buf + (size_t)j * d, d);
    *ld = (size_t)d;
    return buf;
}

/* ---- summaries ----------------------------------------------------------- */

typedef struct {
    float *kt, *v, *bias; /* of one kind, one KV head */
} sum_view;

static sum_view sum_at(const ch_layout *L, char *ws, int kind, int32_t hk) {
    const size_t per = (size_t)L->n_ch * (size_t)L->d;
    sum_view sv;
    sv.kt = (float *)(ws + L->o_kt[kind]) + (size_t)hk * per;
    sv.v = (float *)(ws + L->o_v[kind]) + (size_t)hk * per;
    sv.bias = (float *)(ws + L->o_bias[kind]) + (size_t)hk * (size_t)L->n_ch;
    return sv;
}

/* Mean of count rows (sum in double) into kt column ch (stride n_ch) and v
 * row ch; log count into bias. count 0: zeros and bias -inf (invisible). */
static void store_mean(const ch_layout *L, sum_view sv, int64_t ch, const double *ksum, const double *vsum,
                       int64_t count) {
    const int32_t d = L->d;
    const double inv = count > 0 ? 1.0 / (double)count : 0.0;
    for (int32_t t = 0; t < d; t++) {
        sv.kt[(size_t)t * L->n_ch + ch] = (float)(ksum[t] * inv);
        sv.v[(size_t)ch * d + t] = (float)(vsum[t] * inv);
    }
    sv.bias[ch] = count > 0 ? logf((float)count) : -INFINITY;
}

static void build_summaries(const lc_attn_ctx *c, const ch_layout *L, char *ws, lane *ln, int32_t hk, int64_t ch) {
    const int32_t d = L->d;
    const int64_t n = c->s->n_kv, s0 = ch * L->C, e = LC_MIN(n, s0 + L->C), O = L->O;
    double *kf = ln->dacc, *vf = kf + d, *k_first = vf + d, *v_first = k_first + d, *k_last = v_first + d,
           *v_last = k_last + d;
    memset(kf, 0, 6 * (size_t)d * sizeof(double));
    for (int64_t j = s0; j < e; j++) {
        size_t ld;
        const float *kr = load_rows(c, true, j, 1, hk, ln->row, &ld);
        const float *vr = load_rows(c, false, j, 1, hk, ln->row + d, &ld);
        lc_lin_acc_f64(c->isa, kf, kr, d);
        lc_lin_acc_f64(c->isa, vf, vr, d);
        if (j - s0 < O) { /* among the first O */
            lc_lin_acc_f64(c->isa, k_first, kr, d);
            lc_lin_acc_f64(c->isa, v_first, vr, d);
        }
        if (j >= s0 + L->C - O) { /* among the last O */
            lc_lin_acc_f64(c->isa, k_last, kr, d);
            lc_lin_acc_f64(c->isa, v_last, vr, d);
        }
    }
    const int64_t cnt = e - s0;
    store_mean(L, sum_at(L, ws, SUM_FULL, hk), ch, kf, vf, cnt);
    if (L->kind_used[SUM_HEAD]) { /* [s0, s0 + C - O): without the last O positions */
        const int64_t n_last = LC_MAX((int64_t)0, e - (s0 + L->C - O));
        for (int32_t t = 0; t < d; t++) {
            k_last[t] = kf[t] - k_last[t];
            v_last[t] = vf[t] - v_last[t];
        }
        store_mean(L, sum_at(L, ws, SUM_HEAD, hk), ch, k_last, v_last, cnt - n_last);
    }
    if (L->kind_used[SUM_TAIL]) { /* [s0 + O, s0 + C): without the first O positions */
        const int64_t n_first = LC_MIN(O, cnt);
        for (int32_t t = 0; t < d; t++) {
            k_first[t] = kf[t] - k_first[t];
            v_first[t] = vf[t] - v_first[t];
        }
        store_mean(L, sum_at(L, ws, SUM_TAIL, hk), ch, k_first, v_first, cnt - n_first);
    }
}

/* The summary ranges a query of chunk qc sees: (kind, [c0, c1)) segments. */
typedef struct {
    int kind;
    int64_t c0, c1;
} segment;

static int summary_segments(const ch_layout *L, bool causal, int64_t qc, segment out[4]) {
    int k = 0;
    const int64_t N = L->n_ch;
    const int64_t ranges[4][3] = {
        /* kind, from, to */
        {SUM_FULL, 0, L->O > 0 ? qc - 1 : qc},
        {SUM_HEAD, qc - 1, L->O > 0 ? qc : qc - 1},
        {L->O > 0 ? SUM_TAIL : SUM_FULL, qc + 1, causal ? qc + 1 : qc + 2},
        {SUM_FULL, qc + 2, causal ? qc + 2 : N},
    };
    for (int r = 0; r < 4; r++) {
        const int64_t a = LC_MAX(ranges[r][1], (int64_t)0), b = LC_MIN(ranges[r][2], N);
        if (a < b) out[k++] = (segment){(int)ranges[r][0], a, b};
    }
    return k;
}

/* ---- the tiles ----------------------------------------------------------- */

/* Local keys [lo, hi) of query chunk qc (causal: up to position p_last),
 * without overflow for chunk starts near INT64_MAX. */
static void local_window(const ch_layout *L, bool causal, int64_t qc, int64_t p_last, int64_t n, int64_t *lo,
                         int64_t *hi) {
    const int64_t cs = qc * L->C; /* <= a query position: no overflow */
    *lo = LC_MAX((int64_t)0, cs - L->O);
    if (causal) *hi = LC_MIN(n, p_last + 1);
    else *hi = n - cs <= L->C + L->O ? n : cs + L->C + L->O;
}

/* Online softmax over one score block sc [R, nb] (entries -inf = masked):
 * rescales acc and l, turns sc into probabilities relative to the new max. */
static void softmax_block(lc_isa isa, lane *ln, int64_t R, int64_t nb, int32_t d) {
    for (int64_t r = 0; r < R; r++) {
        float *row = ln->sc + (size_t)r * TK;
        const float mx = lc_lin_max(isa, row, nb);
        const float m_old = ln->m[r], m_new = mx > m_old ? mx : m_old;
        if (m_new == -INFINITY) { /* nothing visible yet */
            memset(row, 0, (size_t)nb * sizeof(float));
            continue;
        }
        if (m_new != m_old) {
            const float a = m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
            lc_lin_scale(isa, ln->acc + (size_t)r * d, d, a);
            ln->l[r] *= a;
            ln->m[r] = m_new;
        }
        lc_lin_add_scalar(isa, row, nb, -m_new);
        lc_lin_exp(isa, row, nb);
        ln->l[r] += lc_lin_sum(isa, row, nb);
    }
}

/* Queries [a, b) (all in chunk qc) x query heads [h0, h0 + ng) of KV head hk. */
static void attend_block(const lc_attn_ctx *c, const ch_layout *L, char *ws, lane *ln, int32_t hk, int32_t h0,
                         int32_t ng, int64_t a, int64_t b, int64_t qc) {
    const lc_attn_shape *s = c->s;
    const int32_t d = L->d, H = s->n_head;
    const lc_isa isa = c->isa;
    const int64_t R = (b - a) * ng, n = s->n_kv;
    /* rows r = (i - a) * ng + hh, pre-scaled queries */
    for (int64_t i = a; i < b; i++)
        for (int32_t hh = 0; hh < ng; hh++) {
            const int64_t r = (i - a) * ng + hh;
            const float *q = c->io->q + ((size_t)i * H + (size_t)(h0 + hh)) * d;
            float *qs = ln->qs + (size_t)r * d;
            for (int32_t t = 0; t < d; t++) qs[t] = q[t] * c->scale;
        }
    for (int64_t r = 0; r < R; r++) {
        ln->m[r] = -INFINITY;
        ln->l[r] = 0.0f;
    }
    memset(ln->acc, 0, (size_t)R * d * sizeof(float));

    /* summaries */
    segment seg[4];
    const int n_seg = summary_segments(L, s->causal, qc, seg);
    for (int g = 0; g < n_seg; g++) {
        const sum_view sv = sum_at(L, ws, seg[g].kind, hk);
        for (int64_t j0 = seg[g].c0; j0 < seg[g].c1; j0 += TK) {
            const int64_t nb = LC_MIN((int64_t)TK, seg[g].c1 - j0);
            lc_lin_gemm(isa, R, nb, d, ln->qs, (size_t)d, 1, sv.kt + j0, (size_t)L->n_ch, ln->sc, TK, false);
            for (int64_t r = 0; r < R; r++) lc_lin_axpby(isa, ln->sc + (size_t)r * TK, sv.bias + j0, nb, 1.0f, 1.0f);
            softmax_block(isa, ln, R, nb, d);
            lc_lin_gemm(isa, R, d, nb, ln->sc, TK, 1, sv.v + (size_t)j0 * d, (size_t)d, ln->acc, (size_t)d, true);
        }
    }

    /* local keys */
    const int64_t p_first = s->q_pos0 + a, p_last = s->q_pos0 + b - 1;
    int64_t lo, hi;
    local_window(L, s->causal, qc, p_last, n, &lo, &hi);
    for (int64_t j0 = lo; j0 < hi; j0 += TK) {
        const int64_t nb = LC_MIN((int64_t)TK, hi - j0);
        size_t ldk, ldv;
        const float *kr = load_rows(c, true, j0, nb, hk, ln->kconv, &ldk);
        lc_lin_transpose(isa, kr, ldk, nb, d, ln->kt, TK);
        lc_lin_gemm(isa, R, nb, d, ln->qs, (size_t)d, 1, ln->kt, TK, ln->sc, TK, false);
        if (s->causal && j0 + nb - 1 > p_first) {
            for (int64_t r = 0; r < R; r++) {
                const int64_t p = s->q_pos0 + a + r / ng;
                float *row = ln->sc + (size_t)r * TK;
                for (int64_t j = LC_MAX((int64_t)0, p + 1 - j0); j < nb; j++) row[j] = -INFINITY;
            }
        }
        softmax_block(isa, ln, R, nb, d);
        const float *vr = load_rows(c, false, j0, nb, hk, ln->vconv, &ldv);
        lc_lin_gemm(isa, R, d, nb, ln->sc, TK, 1, vr, ldv, ln->acc, (size_t)d, true);
    }

    /* out = acc / l, lse = m + log l */
    for (int64_t i = a; i < b; i++)
        for (int32_t hh = 0; hh < ng; hh++) {
            const int64_t r = (i - a) * ng + hh;
            const size_t row = (size_t)i * H + (size_t)(h0 + hh);
            float *o = c->io->out + row * d;
            const float l = ln->l[r];
            if (l > 0.0f) {
                const float inv = 1.0f / l;
                const float *ac = ln->acc + (size_t)r * d;
                for (int32_t t = 0; t < d; t++) o[t] = ac[t] * inv;
            } else {
                memset(o, 0, (size_t)d * sizeof(float));
            }
            if (c->io->lse) c->io->lse[row] = l > 0.0f ? ln->m[r] + logf(l) : -INFINITY;
        }
}

lc_status lc_attn_chunked_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    (void)ws_bytes;
    const lc_attn_shape *s = c->s;
    ch_layout L;
    lc_status st = layout_init(c, &L, err);
    if (st != LC_OK) return st;
    char *w = (char *)ws;
    const int32_t H_kv = s->n_head_kv;
    const int64_t n_sum_items = (int64_t)H_kv * L.n_ch;
    const int64_t n_items = (int64_t)H_kv * L.n_sub * L.n_tiles;
#pragma omp parallel num_threads(L.T)
    {
        lane ln = lane_at(&L, w, omp_get_thread_num());
#pragma omp for schedule(dynamic, 8)
        for (int64_t it = 0; it < n_sum_items; it++)
            build_summaries(c, &L, w, &ln, (int32_t)(it / L.n_ch), it % L.n_ch);
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_items; it++) {
            const int64_t t = it % L.n_tiles;
            const int32_t sub = (int32_t)(it / L.n_tiles % L.n_sub), hk = (int32_t)(it / L.n_tiles / L.n_sub);
            const int32_t h0 = hk * c->group + sub * L.gs, ng = LC_MIN(L.gs, c->group - sub * L.gs);
            const int64_t i1 = LC_MIN(s->n_q, (t + 1) * L.tq);
            /* split the tile where the query chunk changes */
            for (int64_t a = t * L.tq; a < i1;) {
                const int64_t pos = s->q_pos0 + a, qc = pos / L.C;
                const int64_t b = a + LC_MIN(i1 - a, L.C - pos % L.C); /* to the chunk's end */
                attend_block(c, &L, w, &ln, hk, h0, ng, a, b, qc);
                a = b;
            }
        }
    }
    return LC_OK;
}

/* ---- FLOPs ----------------------------------------------------------------- */

/* Pairs scored by the queries at positions pa..pb, all in chunk qc: local
 * keys (local_window, summed in closed form) plus one per visible summary
 * (summary_segments: causal, the chunks before qc; else every other chunk). */
typedef struct {
    int64_t C, O, n, n_ch, p0, p1;
    bool causal;
} ch_count;

static double chunk_pairs(const ch_count *k, int64_t qc, int64_t pa, int64_t pb) {
    if (pa > pb) return 0.0;
    const int64_t cs = qc * k->C, lo = LC_MAX((int64_t)0, cs - k->O);
    const double cnt = (double)(pb - pa) + 1.0;
    double local;
    if (k->causal) { /* sum over p of max(0, min(n, p + 1) - lo); lo <= cs <= pa */
        const int64_t below = LC_MIN(pb, k->n - 1); /* p + 1 <= n for p <= below */
        local = 0.0;
        if (below >= pa) local += ((double)(below - pa) + 1.0) * (0.5 * ((double)pa + (double)below) + 1.0 - (double)lo);
        const int64_t from = LC_MAX(pa, k->n);
        if (from <= pb) local += ((double)(pb - from) + 1.0) * (double)LC_MAX((int64_t)0, k->n - lo);
    } else {
        const int64_t hi = k->n - cs <= k->C + k->O ? k->n : cs + k->C + k->O; /* as local_window */
        local = cnt * (double)LC_MAX((int64_t)0, hi - lo);
    }
    const int64_t N = k->n_ch;
    const int64_t sums = k->causal ? LC_MIN(LC_MAX(qc, (int64_t)0), N) : N - (qc >= 0 && qc < N);
    return local + cnt * (double)sums;
}

static double full_chunk_pairs(const void *user, int64_t qc) {
    const ch_count *k = user;
    return chunk_pairs(k, qc, qc * k->C, qc * k->C + k->C - 1);
}

/* Closed form: the first and last query chunks directly, the full chunks in
 * between as a sum that is linear in the chunk index between the points where
 * a clamp switches (so a refusal of a huge shape costs nothing). */
double lc_attn_chunked_flops(const lc_attn_shape *s, const lc_attn_params *p) {
    if (!s || !p || s->n_q <= 0 || p->chunk < 1 || s->q_pos0 < 0 || s->q_pos0 > INT64_MAX - s->n_q) return 0.0;
    const int64_t C = p->chunk, O = p->overlap, n = s->n_kv;
    ch_count k = {C, O, n, summary_chunks(s, C), s->q_pos0, s->q_pos0 + s->n_q - 1, s->causal};
    const int64_t qa = k.p0 / C, qb = k.p1 / C;
    double pairs = chunk_pairs(&k, qa, k.p0, k.p1 - qa * C < C ? k.p1 : qa * C + (C - 1));
    if (qb > qa) {
        pairs += chunk_pairs(&k, qb, qb * C, k.p1);
        const int64_t bp[] = {0, 1, k.n_ch, (n - 1) / C, n / C, lc_sat_add_i64(n, O) / C, (n - O) / C - 1};
        pairs += lc_attn_sum_piecewise(full_chunk_pairs, &k, qa + 1, qb - 1, bp, (int)LC_ARRAY_LEN(bp));
    }
    /* building the summaries: K and V rows summed once, the first / last O
     * of each chunk once more */
    const double kinds_extra = O > 0 ? (s->causal ? 1.0 : 2.0) : 0.0;
    const double summed = (double)LC_MIN((double)n, (double)k.n_ch * (double)C) +
                          kinds_extra * (double)LC_MIN((double)n, (double)k.n_ch * (double)O);
    return 4.0 * s->head_dim * s->n_head * pairs + 2.0 * s->head_dim * s->n_head_kv * summed;
}
