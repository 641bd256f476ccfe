/*
 * Gated DeltaNet core (include/longctx/deltanet.h): the recurrent form for
 * decode and the chunked (WY / UT transform) form for prefill.
 *
 * Chunked form, one value head, a chunk of c tokens i = 0..c-1 entered with
 * state S0 (q, k normalised; G_i = sum_{m<=i} g_m, the log of the decay from
 * the chunk start through token i). Unrolling the recurrence, every token
 * writes the rank-1 update k_i u_i^T, where the "new value"
 *
 *     u_i = beta_i (v_i - e^{G_i} S0^T k_i - sum_{j<i} e^{G_i - G_j} (k_i.k_j) u_j)
 *
 * is what S, decayed to token i, fails to predict. In matrix form
 * (I + L) u = beta v - diag(beta e^G) K S0 with the strictly lower triangular
 * L_ij = beta_i e^{G_i - G_j} k_i.k_j, so with U = (I+L)^{-1} (beta v) and
 * W = (I+L)^{-1} (beta e^G k) (forward substitution, one pass for both):
 *
 *     u   = U - W S0
 *     o_i = e^{G_i} S0^T q_i + sum_{j<=i} e^{G_i - G_j} (q_i.k_j) u_j
 *     S   = e^{G_{c-1}} S0 + sum_j e^{G_{c-1} - G_j} k_j u_j^T
 *
 * Only differences G_i - G_j (i >= j, so <= 0) and G_i themselves (<= 0) are
 * exponentiated: nothing overflows however strong the decay; a decay that
 * underflows to 0 is the exact limit. G is accumulated in double.
 *
 * Work per chunk and head: c^2 d_k for K K^T and Q K^T, c^2/2 (d_v + d_k) for
 * the solve, c^2 d_v for the intra-chunk attention, 6 c d_k d_v for the state
 * reads and the update — all of it matrix products through lc_lin_gemm (the
 * register-tiled AVX2 kernel of LINEAR, or its scalar fallback). The heads
 * are independent: OpenMP splits them over threads.
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "attn/deltanet_kernels.h"
#include "attn/linear_kernels.h"
#include "common/util.h"
#include "longctx/deltanet.h"
#include "longctx/sys.h"

#define DN_MAX_DIM 1024
#define DN_DEFAULT_CHUNK 16
#define DN_MAX_CHUNK 1024
#define DN_L2_EPS 1e-6f

void lc_deltanet_params_init(lc_deltanet_params *p) {
    memset(p, 0, sizeof *p);
    p->chunk = DN_DEFAULT_CHUNK;
    p->l2norm_qk = true;
    p->n_threads = 0;
    p->force_scalar = false;
}

lc_status lc_deltanet_validate(const lc_deltanet_shape *s, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: NULL shape");
    if (s->n_k_heads < 1 || s->n_v_heads < 1 || s->n_v_heads % s->n_k_heads)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "deltanet: value heads (%d) must be a positive multiple of key heads (%d)", s->n_v_heads,
                       s->n_k_heads);
    if (s->d_k < 1 || s->d_k > DN_MAX_DIM || s->d_v < 1 || s->d_v > DN_MAX_DIM)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "deltanet: head dims %d, %d outside 1..%d", s->d_k, s->d_v,
                       DN_MAX_DIM);
    size_t f;
    if (!lc_mul3_size((size_t)s->n_v_heads, (size_t)s->d_k, (size_t)s->d_v, &f) || f > SIZE_MAX / sizeof(float))
        return lc_fail(err, LC_ERR_TOO_LARGE, "deltanet: state of %d x %d x %d overflows", s->n_v_heads, s->d_k,
                       s->d_v);
    return LC_OK;
}

lc_status lc_deltanet_state_floats(const lc_deltanet_shape *s, size_t *floats, lc_error *err) {
    lc_status st = lc_deltanet_validate(s, err);
    if (st != LC_OK) return st;
    *floats = (size_t)s->n_v_heads * (size_t)s->d_k * (size_t)s->d_v;
    return LC_OK;
}

static int resolve_threads(const lc_deltanet_params *p, int32_t heads) {
    int t = p && p->n_threads > 0 ? p->n_threads : lc_cpu_count();
    return t < 1 ? 1 : t > heads ? heads : t;
}

/* The io of n tokens: pointers present, strides whole rows, g finite <= 0. */
static lc_status check_io(const lc_deltanet_shape *s, int64_t n, const lc_deltanet_io *io, lc_error *err) {
    if (n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: negative token count %lld", (long long)n);
    if (!io || !io->state) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: NULL io or state");
    if (n == 0) return LC_OK;
    if (!io->q || !io->k || !io->v || !io->g || !io->beta || !io->out)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: NULL q, k, v, g, beta or out");
    const int64_t wk = (int64_t)s->n_k_heads * s->d_k, wv = (int64_t)s->n_v_heads * s->d_v;
    const int64_t strides[3] = {io->q_stride, io->k_stride, io->v_stride}, widths[3] = {wk, wk, wv};
    for (int i = 0; i < 3; i++) {
        int64_t total;
        const int64_t st = strides[i] ? strides[i] : widths[i];
        if (st < widths[i] || !lc_mul_i64(n, st, &total))
            return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: %s stride %lld is not a whole row (%lld) or overflows",
                           i == 0 ? "q" : i == 1 ? "k" : "v", (long long)strides[i], (long long)widths[i]);
    }
    int64_t cells;
    if (!lc_mul_i64(n, wv, &cells)) return lc_fail(err, LC_ERR_TOO_LARGE, "deltanet: output size overflows");
    for (int64_t i = 0; i < n * s->n_v_heads; i++)
        if (!(isfinite(io->g[i]) && io->g[i] <= 0.0f) || !isfinite(io->beta[i]))
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "deltanet: token %lld head %lld: log decay %g must be finite and <= 0, beta %g finite",
                           (long long)(i / s->n_v_heads), (long long)(i % s->n_v_heads), (double)io->g[i],
                           (double)io->beta[i]);
    return LC_OK;
}

/* dst = src * scale / sqrt(|src|^2 + eps) (l2) or src * scale. */
static void norm_row(const float *src, int32_t d, bool l2, float scale, float *dst) {
    float f = scale;
    if (l2) {
        double ss = 0.0;
        for (int32_t i = 0; i < d; i++) ss += (double)src[i] * src[i];
        f = (float)((double)scale / sqrt(ss + (double)DN_L2_EPS));
    }
    for (int32_t i = 0; i < d; i++) dst[i] = src[i] * f;
}

typedef struct {
    const lc_deltanet_shape *s;
    const lc_deltanet_io *io;
    int64_t qs, ks, vs; /* resolved strides */
    int32_t rep;        /* H_v / H_k */
    bool l2;
    float qscale;
    lc_isa isa;
} dn_job;

static dn_job make_job(const lc_deltanet_shape *s, const lc_deltanet_params *p, const lc_deltanet_io *io) {
    dn_job j;
    j.s = s;
    j.io = io;
    j.qs = io->q_stride ? io->q_stride : (int64_t)s->n_k_heads * s->d_k;
    j.ks = io->k_stride ? io->k_stride : (int64_t)s->n_k_heads * s->d_k;
    j.vs = io->v_stride ? io->v_stride : (int64_t)s->n_v_heads * s->d_v;
    j.rep = s->n_v_heads / s->n_k_heads;
    j.l2 = p ? p->l2norm_qk : true;
    j.qscale = (float)(1.0 / sqrt((double)s->d_k));
    j.isa = p && p->force_scalar ? LC_ISA_SCALAR : lc_isa_best();
    return j;
}

/* ---- recurrent form ---------------------------------------------------------- */

/* Per token and head: kv = S^T k, delta = beta (v - e kv), S = e S + k delta^T,
 * o = S^T q: two fused passes over S with AVX2 (deltanet_avx2.c, d_v a
 * multiple of 8), else three passes of LINEAR's vector kernels. */
static void recurrent_head(const dn_job *jb, int32_t h, int64_t n) {
    const lc_deltanet_shape *s = jb->s;
    const lc_deltanet_io *io = jb->io;
    const int32_t dk = s->d_k, dv = s->d_v, hk = h / jb->rep, H = s->n_v_heads;
    float qn[DN_MAX_DIM], kn[DN_MAX_DIM], kv[DN_MAX_DIM];
    float *S = io->state + (size_t)h * dk * dv;
    for (int64_t t = 0; t < n; t++) {
        norm_row(io->q + t * jb->qs + (int64_t)hk * dk, dk, jb->l2, jb->qscale, qn);
        norm_row(io->k + t * jb->ks + (int64_t)hk * dk, dk, jb->l2, 1.0f, kn);
        const float *v = io->v + t * jb->vs + (int64_t)h * dv;
        const float e = expf(io->g[t * H + h]), b = io->beta[t * H + h];
        float *o = io->out + ((size_t)t * H + h) * dv;
#if defined(LC_HAVE_X86)
        if (jb->isa >= LC_ISA_AVX2 && dv % 8 == 0) { /* two fused passes */
            lc_dn_step_avx2(S, dk, dv, kn, qn, v, e, b, o);
            continue;
        }
#endif
        lc_lin_gemm(jb->isa, 1, dv, dk, kn, 0, 1, S, (size_t)dv, kv, (size_t)dv, false); /* S^T k */
        for (int32_t j = 0; j < dv; j++) kv[j] = b * (v[j] - e * kv[j]);
        for (int32_t i = 0; i < dk; i++) lc_lin_axpby(jb->isa, S + (size_t)i * dv, kv, dv, e, kn[i]);
        lc_lin_gemm(jb->isa, 1, dv, dk, qn, 0, 1, S, (size_t)dv, o, (size_t)dv, false); /* S^T q */
    }
}

lc_status lc_deltanet_recurrent(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n,
                                const lc_deltanet_io *io, lc_error *err) {
    lc_status st = lc_deltanet_validate(s, err);
    if (st == LC_OK) st = check_io(s, n, io, err);
    if (st != LC_OK || n == 0) return st;
    const dn_job jb = make_job(s, p, io);
    const int nt = resolve_threads(p, s->n_v_heads);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int32_t h = 0; h < s->n_v_heads; h++) recurrent_head(&jb, h, n);
    return LC_OK;
}

/* ---- chunked form ------------------------------------------------------------ */

/* One thread's buffers for a chunk of up to C tokens:
 *   q, k [C][d_k]   normalised rows (q scaled by e^{G_i} once Q K^T is done,
 *                   k by e^{G_last - G_j} for the state update)
 *   kt   [d_k][C]   K transposed, for K K^T and Q K^T
 *   rhs  [C][d_v + d_k]  beta v | -beta e^G k, solved in place into U | -W
 *   a    [C][C]     K K^T, then -L (strictly lower)
 *   pm   [C][C]     Q K^T, then the decayed causal weights
 *   g    [C]        G (double)                                              */
typedef struct {
    size_t q, k, kt, rhs, a, pm, gam, per_thread;
} dn_layout;

static bool carve(size_t *off, size_t count, size_t elem, size_t *at) {
    size_t bytes;
    *off = (*off + 63) & ~(size_t)63;
    *at = *off;
    return lc_mul_size(count, elem, &bytes) && lc_add_size(*off, bytes, off);
}

static lc_status chunked_layout(const lc_deltanet_shape *s, const lc_deltanet_params *p, int32_t *chunk,
                                dn_layout *lay, int *threads, size_t *total, lc_error *err) {
    lc_status st = lc_deltanet_validate(s, err);
    if (st != LC_OK) return st;
    const int32_t C = p && p->chunk ? p->chunk : DN_DEFAULT_CHUNK;
    if (C < 1 || C > DN_MAX_CHUNK)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: chunk %d outside 1..%d", C, DN_MAX_CHUNK);
    const size_t c = (size_t)C, dk = (size_t)s->d_k, dv = (size_t)s->d_v, f = sizeof(float);
    size_t off = 0;
    bool ok = carve(&off, c * dk, f, &lay->q) && carve(&off, c * dk, f, &lay->k) && carve(&off, c * dk, f, &lay->kt) &&
              carve(&off, c * (dv + dk), f, &lay->rhs) && carve(&off, c * c, f, &lay->a) &&
              carve(&off, c * c, f, &lay->pm) && carve(&off, c, sizeof(double), &lay->gam) &&
              carve(&off, 0, 1, &lay->per_thread);
    *threads = resolve_threads(p, s->n_v_heads);
    if (!ok || !lc_mul_size(lay->per_thread, (size_t)*threads, total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "deltanet: chunked workspace overflows");
    *chunk = C;
    return LC_OK;
}

lc_status lc_deltanet_chunked_workspace(const lc_deltanet_shape *s, const lc_deltanet_params *p, size_t *bytes,
                                        lc_error *err) {
    if (!bytes) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: NULL bytes");
    dn_layout lay;
    int32_t C;
    int nt;
    *bytes = 0;
    return chunked_layout(s, p, &C, &lay, &nt, bytes, err);
}

/* One chunk of c tokens starting at t0 for value head h; S updated in place. */
static void chunk_head(const dn_job *jb, const dn_layout *lay, char *tb, int32_t h, int64_t t0, int32_t c) {
    const lc_deltanet_shape *s = jb->s;
    const lc_deltanet_io *io = jb->io;
    const lc_isa isa = jb->isa;
    const int32_t dk = s->d_k, dv = s->d_v, hk = h / jb->rep, H = s->n_v_heads;
    const size_t w = (size_t)dv + (size_t)dk; /* rhs row: U (d_v) | -W (d_k) */
    float *Q = (float *)(tb + lay->q), *K = (float *)(tb + lay->k), *Kt = (float *)(tb + lay->kt);
    float *R = (float *)(tb + lay->rhs), *A = (float *)(tb + lay->a), *P = (float *)(tb + lay->pm);
    double *G = (double *)(tb + lay->gam);
    float *S = io->state + (size_t)h * dk * dv;
    float *out = io->out + ((size_t)t0 * H + h) * dv;
    const size_t ldo = (size_t)H * dv;

    double acc = 0.0;
    for (int32_t i = 0; i < c; i++) {
        const int64_t t = t0 + i;
        norm_row(io->q + t * jb->qs + (int64_t)hk * dk, dk, jb->l2, jb->qscale, Q + (size_t)i * dk);
        norm_row(io->k + t * jb->ks + (int64_t)hk * dk, dk, jb->l2, 1.0f, K + (size_t)i * dk);
        acc += io->g[t * H + h];
        G[i] = acc;
        const float b = io->beta[t * H + h], eg = (float)exp(G[i]);
        const float *v = io->v + t * jb->vs + (int64_t)h * dv, *ki = K + (size_t)i * dk;
        float *Ri = R + (size_t)i * w;
        for (int32_t a = 0; a < dv; a++) Ri[a] = b * v[a];
        for (int32_t a = 0; a < dk; a++) Ri[dv + a] = -b * eg * ki[a];
    }
    lc_lin_transpose(isa, K, (size_t)dk, c, dk, Kt, (size_t)c);
    lc_lin_gemm(isa, c, c, dk, K, (size_t)dk, 1, Kt, (size_t)c, A, (size_t)c, false); /* K K^T */
    lc_lin_gemm(isa, c, c, dk, Q, (size_t)dk, 1, Kt, (size_t)c, P, (size_t)c, false); /* Q K^T */
    /* -L_ij = -beta_i e^{G_i - G_j} k_i.k_j (j < i); the causal decayed weights
     * P_ij = e^{G_i - G_j} q_i.k_j (j <= i), 0 above the diagonal. */
    for (int32_t i = 0; i < c; i++) {
        const float b = io->beta[(t0 + i) * H + h];
        float *Ai = A + (size_t)i * c, *Pi = P + (size_t)i * c;
        for (int32_t j = 0; j <= i; j++) {
            const float d = (float)exp(G[i] - G[j]);
            Ai[j] = -b * d * Ai[j];
            Pi[j] *= d;
        }
        for (int32_t j = i + 1; j < c; j++) Pi[j] = 0.0f;
    }
    /* forward substitution: row i += sum_{j<i} (-L_ij) row j, giving U | -W */
    for (int32_t i = 1; i < c; i++)
        lc_lin_gemm(isa, 1, (int64_t)w, i, A + (size_t)i * c, 0, 1, R, w, R + (size_t)i * w, w, true);
    /* u = U - W S0 (in the U columns) */
    lc_lin_gemm(isa, c, dv, dk, R + dv, w, 1, S, (size_t)dv, R, w, true);
    /* o = diag(e^G) Q S0 + P u */
    for (int32_t i = 0; i < c; i++) lc_lin_scale(isa, Q + (size_t)i * dk, dk, (float)exp(G[i]));
    lc_lin_gemm(isa, c, dv, dk, Q, (size_t)dk, 1, S, (size_t)dv, out, ldo, false);
    lc_lin_gemm(isa, c, dv, c, P, (size_t)c, 1, R, w, out, ldo, true);
    /* S = e^{G_last} S0 + sum_j e^{G_last - G_j} k_j u_j^T */
    const double gl = G[c - 1];
    for (int32_t j = 0; j < c; j++) lc_lin_scale(isa, K + (size_t)j * dk, dk, (float)exp(gl - G[j]));
    lc_lin_scale(isa, S, (int64_t)dk * dv, (float)exp(gl));
    lc_lin_gemm(isa, dk, dv, c, K, 1, (size_t)dk, R, w, S, (size_t)dv, true);
}

lc_status lc_deltanet_chunked(const lc_deltanet_shape *s, const lc_deltanet_params *p, int64_t n,
                              const lc_deltanet_io *io, void *ws, size_t ws_bytes, lc_error *err) {
    dn_layout lay;
    int32_t C;
    int nt;
    size_t need;
    lc_status st = chunked_layout(s, p, &C, &lay, &nt, &need, err);
    if (st == LC_OK) st = check_io(s, n, io, err);
    if (st != LC_OK) return st;
    if (ws_bytes < need || (need && !ws))
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: workspace of %zu bytes given, %zu needed", ws_bytes, need);
    if ((uintptr_t)ws % sizeof(double))
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet: workspace must be 8-byte aligned");
    if (n == 0) return LC_OK;
    const dn_job jb = make_job(s, p, io);
#pragma omp parallel num_threads(nt)
    {
        char *tb = (char *)ws + (size_t)omp_get_thread_num() * lay.per_thread;
#pragma omp for schedule(static)
        for (int32_t h = 0; h < s->n_v_heads; h++)
            for (int64_t t0 = 0; t0 < n; t0 += C) chunk_head(&jb, &lay, tb, h, t0, (int32_t)LC_MIN((int64_t)C, n - t0));
    }
    return LC_OK;
}
