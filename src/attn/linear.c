/*
 * LINEAR attention: kernelised attention in its chunked parallel form.
 *
 *   out_i = phi(q_i)^T S_i / phi(q_i)^T z_i,
 *   S_i = sum_{j visible} phi(k_j) v_j^T  [F, d],   z_i = sum_{j visible} phi(k_j)  [F]
 *
 * Feature maps and FAVOR+ stabilisation: linear_impl.h. The attention scale
 * does not apply (the feature map defines the similarity) and lse, when
 * asked for, is filled with 0. A row whose normaliser phi(q).z is 0 (relu
 * features with no overlap, or features that underflowed) outputs zeros.
 *
 * Keys go in chunks of Cb = LC_LIN_CHUNK positions. Per KV head and chunk c
 * (keys [c Cb, c Cb + n)):
 *
 *   phikt [F, n]   = phi(K_c)^T                       (stabiliser m_c)
 *   P_c   [F, d]   = phikt V_c,   zc [F] = row sums of phikt
 *   causal queries whose last visible key lies in chunk c read out
 *     O = beta (phi(Q) S_<c) + alpha (mask(phi(Q) phikt) V_c)
 *     den = beta (phi(Q) z_<c) + alpha rowsum(mask(phi(Q) phikt))
 *   S_<c+1 = beta S_<c + alpha P_c           (same for z)
 *
 * with M' = max(M, m_c), beta = exp(M - M'), alpha = exp(m_c - M') for
 * FAVOR+ (both 1 otherwise). Work O(n (Cb (F + d) + F d)) per head; memory:
 * the inputs plus a workspace that does not grow with n (below).
 *
 * Parallel schedules (chosen from the head count and threads; the arithmetic
 * is the same in both, so results are bitwise identical for any thread
 * count):
 *   SEQ    one KV head per thread at a time, chunks in order, when the KV
 *          heads spread evenly over the threads.
 *   BLOCK  for one KV head at a time, blocks of B chunks: (1) every chunk's
 *          features and P_c in parallel, (2) an exclusive prefix scan of
 *          the P_c into the state before each chunk, parallel over the rows
 *          of S, (3) every chunk's read-out in parallel. B is at most 16 per
 *          thread (and the slots at most ~64 MiB), so a one-head 1M-token
 *          prefill keeps every core busy with a workspace independent of n.
 * Non-causal: the same pass (1) and scan give S, z over all keys; then
 * every query tile reads out in parallel.
 *
 * Query heads h of a group (h / (H_q / H_kv) == hk) share K features and
 * the state of KV head hk.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include <omp.h>

#include "attn/linear_impl.h"
#include "common/simd.h"

#define CB LC_LIN_CHUNK
#define QT 64                         /* query rows per read-out tile         */
#define SUB 8                         /* query rows per intra-chunk score block */
#define CHUNKS_PER_THREAD 16          /* BLOCK: chunks per block per thread   */
#define SLOT_BUDGET ((size_t)64 << 20) /* BLOCK: soft cap on the chunk slots  */

/* Workspace layout (byte offsets, every array 64-byte aligned relative to
 * the workspace start). */
typedef struct {
    int32_t d, F;
    int64_t n_keys; /* keys that matter: causal min(n_kv, q_pos0 + n_q)   */
    int64_t n_kc;   /* chunks of those keys                                 */
    int T;
    bool favor, block_mode;
    int64_t B; /* BLOCK: chunks per block                                */
    /* per lane (thread), relative to the lane start */
    size_t l_kconv, l_vconv, l_kt, l_hn, l_phiq, l_sc, l_den, l_tmp, l_gs;
    size_t l_phikt, l_P, l_zc, l_S, l_z; /* SEQ only */
    size_t lane_bytes;
    /* shared */
    size_t o_proj, o_lanes;
    size_t o_slots, slot_bytes, s_phikt, s_P, s_zc; /* BLOCK only */
    size_t o_fac, o_S, o_z;                        /* BLOCK only */
    size_t total;
} lin_layout;

/* Bump allocation of count elements of size elt, 64-byte aligned. */
static bool take(size_t *off, size_t count, size_t elt, size_t *at) {
    size_t bytes, end;
    if (!lc_mul_size(count, elt, &bytes) || !lc_add_size(bytes, 63, &bytes)) return false;
    bytes &= ~(size_t)63;
    if (!lc_add_size(*off, bytes, &end)) return false;
    *at = *off;
    *off = end;
    return true;
}

static bool causal_mode(const lc_attn_shape *s) { return s->causal; }

static lc_status layout_init(const lc_attn_ctx *c, lin_layout *L, lc_error *err) {
    const lc_attn_shape *s = c->s;
    const lc_attn_params *p = c->p;
    memset(L, 0, sizeof *L);
    const size_t f4 = sizeof(float);
    L->d = s->head_dim;
    L->favor = p->feature == LC_FEATURE_FAVOR;
    L->F = lc_lin_feature_count(p->feature, s->head_dim, p->n_features);
    L->n_keys = causal_mode(s) ? LC_MIN(s->n_kv, s->q_pos0 + s->n_q) : s->n_kv;
    L->n_kc = (L->n_keys + CB - 1) / CB;
    L->T = c->n_threads;
    const int32_t H_kv = s->n_head_kv;
    const int T = L->T;
    L->block_mode = !(T == 1 || L->n_kc <= 1 || H_kv % T == 0 || H_kv >= 4 * T);
    const size_t d = (size_t)L->d, F = (size_t)L->F;

    size_t o = 0;
    bool ok = true;
    ok = ok && take(&o, s->k_type == LC_DTYPE_F32 ? 0 : CB * d, f4, &L->l_kconv);
    ok = ok && take(&o, s->v_type == LC_DTYPE_F32 ? 0 : CB * d, f4, &L->l_vconv);
    ok = ok && take(&o, L->favor ? d * CB : 0, f4, &L->l_kt);
    ok = ok && take(&o, L->favor ? CB : 0, f4, &L->l_hn);
    ok = ok && take(&o, QT * F, f4, &L->l_phiq);
    ok = ok && take(&o, SUB * CB, f4, &L->l_sc);
    ok = ok && take(&o, QT, f4, &L->l_den);
    ok = ok && take(&o, LC_MAX(d, F), f4, &L->l_tmp);
    ok = ok && take(&o, L->favor ? d * d : 0, sizeof(double), &L->l_gs);
    const bool seq = !L->block_mode;
    ok = ok && take(&o, seq ? F * CB : 0, f4, &L->l_phikt);
    ok = ok && take(&o, seq ? F * d : 0, f4, &L->l_P);
    ok = ok && take(&o, seq ? F : 0, f4, &L->l_zc);
    ok = ok && take(&o, seq ? F * d : 0, f4, &L->l_S);
    ok = ok && take(&o, seq ? F : 0, f4, &L->l_z);
    L->lane_bytes = o;

    size_t g = 0;
    ok = ok && take(&g, L->favor ? d * F : 0, f4, &L->o_proj);
    ok = ok && take(&g, (size_t)T, L->lane_bytes, &L->o_lanes);
    if (ok && L->block_mode) {
        size_t so = 0;
        ok = take(&so, F * CB, f4, &L->s_phikt) && take(&so, F * d, f4, &L->s_P) && take(&so, F, f4, &L->s_zc);
        L->slot_bytes = so;
        int64_t B = (int64_t)CHUNKS_PER_THREAD * T;
        if (so > 0 && (size_t)B > SLOT_BUDGET / so) B = (int64_t)(SLOT_BUDGET / so);
        B = LC_MAX(B, (int64_t)T);
        L->B = LC_MIN(B, L->n_kc);
        ok = ok && take(&g, (size_t)L->B, L->slot_bytes, &L->o_slots);
        ok = ok && take(&g, 3 * (size_t)L->B, f4, &L->o_fac);
        ok = ok && take(&g, F * d, f4, &L->o_S);
        ok = ok && take(&g, F, f4, &L->o_z);
    }
    L->total = g;
    if (!ok)
        return lc_fail(err, LC_ERR_TOO_LARGE, "linear attention: workspace for %d threads, %d features x d=%d overflows",
                       T, L->F, L->d);
    return LC_OK;
}

lc_status lc_attn_linear_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    lin_layout L;
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
                       "linear attention needs %s of workspace (%d threads, %d features, d=%d) but only %s is available",
                       lc_format_bytes((double)L.total, need, sizeof need), L.T, L.F, L.d,
                       lc_format_bytes((double)avail, have, sizeof have));
    }
    return LC_OK;
}

/* ---- per-thread scratch -------------------------------------------------- */

typedef struct {
    float *kconv, *vconv, *kt, *hn, *phiq, *sc, *den, *tmp;
    double *gs;
    float *phikt, *P, *zc, *S, *z; /* SEQ */
} lane;

static lane lane_at(const lin_layout *L, char *ws, int t) {
    char *b = ws + L->o_lanes + (size_t)t * L->lane_bytes;
    lane l;
    l.kconv = (float *)(b + L->l_kconv);
    l.vconv = (float *)(b + L->l_vconv);
    l.kt = (float *)(b + L->l_kt);
    l.hn = (float *)(b + L->l_hn);
    l.phiq = (float *)(b + L->l_phiq);
    l.sc = (float *)(b + L->l_sc);
    l.den = (float *)(b + L->l_den);
    l.tmp = (float *)(b + L->l_tmp);
    l.gs = (double *)(b + L->l_gs);
    l.phikt = (float *)(b + L->l_phikt);
    l.P = (float *)(b + L->l_P);
    l.zc = (float *)(b + L->l_zc);
    l.S = (float *)(b + L->l_S);
    l.z = (float *)(b + L->l_z);
    return l;
}

/* ---- loading K/V rows ---------------------------------------------------- */

/* One head row to f32. The ISA comes from the context: lc_f16_to_f32_row
 * would ask the CPU (cpuid) for every row. */
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

/* Rows j0..j0+n-1 of KV head hk as f32: in place for f32, else converted
 * into buf [n, d]. */
static const float *load_k(const lc_attn_ctx *c, int64_t j0, int64_t n, int32_t hk, float *buf, size_t *ld) {
    const int32_t d = c->s->head_dim;
    if (c->s->k_type == LC_DTYPE_F32) {
        *ld = c->k_row_bytes / sizeof(float);
        return (const float *)lc_attn_k_ptr(c, j0, hk);
    }
    for (int64_t j = 0; j < n; j++) to_f32(c->isa, c->s->k_type, lc_attn_k_ptr(c, j0 + j, hk), buf + (size_t)j * d, d);
    *ld = (size_t)d;
    return buf;
}

static const float *load_v(const lc_attn_ctx *c, int64_t j0, int64_t n, int32_t hk, float *buf, size_t *ld) {
    const int32_t d = c->s->head_dim;
    if (c->s->v_type == LC_DTYPE_F32) {
        *ld = c->v_row_bytes / sizeof(float);
        return (const float *)lc_attn_v_ptr(c, j0, hk);
    }
    for (int64_t j = 0; j < n; j++) to_f32(c->isa, c->s->v_type, lc_attn_v_ptr(c, j0 + j, hk), buf + (size_t)j * d, d);
    *ld = (size_t)d;
    return buf;
}

/* ---- causal query <-> key chunk mapping ---------------------------------- */

/* Query i sees keys [0, e_i), e_i = min(n_keys, q_pos0 + i + 1) (>= 1 when
 * n_keys >= 1); it is read out with the chunk that holds key e_i - 1. The
 * queries of chunk kc are [first_query(kc), first_query(kc + 1)), the last
 * chunk taking every query up to n_q. */
static int64_t first_query(const lc_attn_shape *s, const lin_layout *L, int64_t kc) {
    if (kc >= L->n_kc) return s->n_q;
    const int64_t i = kc * CB - s->q_pos0;
    return i < 0 ? 0 : (i > s->n_q ? s->n_q : i);
}

/* Keys of its read-out chunk (starting at j0) that query i sees. */
static int64_t local_len(const lc_attn_shape *s, const lin_layout *L, int64_t i, int64_t j0) {
    return LC_MIN(L->n_keys, s->q_pos0 + i + 1) - j0;
}

/* ---- the chunk operations ------------------------------------------------ */

typedef struct {
    const lc_attn_ctx *c;
    const lin_layout *L;
    lc_lin_fmap fm;
} run_ctx;

/* Features of chunk kc's keys into phikt [F, CB] and, when want_state, its
 * partial state P [F, d] and zc [F]. Returns the stabiliser m_c. V rows are
 * returned in *vrows / *ldv (loaded when want_state or want_v). */
static float chunk_keys(const run_ctx *r, lane *ln, int32_t hk, int64_t kc, float *phikt, float *P, float *zc,
                        bool want_state, bool want_v, const float **vrows, size_t *ldv) {
    const lin_layout *L = r->L;
    const int64_t j0 = kc * CB, n = LC_MIN((int64_t)CB, L->n_keys - j0);
    size_t ldk;
    const float *krows = load_k(r->c, j0, n, hk, ln->kconv, &ldk);
    const float mc = lc_lin_key_features(&r->fm, krows, ldk, n, phikt, CB, ln->kt, ln->hn);
    *vrows = NULL;
    if (want_state || want_v) *vrows = load_v(r->c, j0, n, hk, ln->vconv, ldv);
    if (want_state) {
        lc_lin_gemm(r->fm.isa, L->F, L->d, n, phikt, CB, 1, *vrows, *ldv, P, (size_t)L->d, false);
        for (int32_t f = 0; f < L->F; f++) zc[f] = lc_lin_sum(r->fm.isa, phikt + (size_t)f * CB, n);
    }
    return mc;
}

/* S = beta S + alpha P and z = beta z + alpha zc, row by row. */
static void combine_state(const run_ctx *r, float *S, float *z, const float *P, const float *zc, float beta,
                          float alpha) {
    const int32_t d = r->L->d, F = r->L->F;
    for (int32_t f = 0; f < F; f++) lc_lin_axpby(r->fm.isa, S + (size_t)f * d, P + (size_t)f * d, d, beta, alpha);
    lc_lin_axpby(r->fm.isa, z, zc, F, beta, alpha);
}

/* out[i] = O[i] / den[i]; zeros when the normaliser is 0. */
static void normalise(lc_isa isa, float *o, size_t ldo, const float *den, int64_t nt, int32_t d) {
    for (int64_t i = 0; i < nt; i++) {
        float *oi = o + (size_t)i * ldo;
        const float dn = den[i];
        if (dn >= FLT_MIN) {
            lc_lin_scale(isa, oi, d, 1.0f / dn);
        } else if (dn > 0.0f) {
            for (int32_t t = 0; t < d; t++) oi[t] /= dn;
        } else {
            memset(oi, 0, (size_t)d * sizeof(float));
        }
    }
}

/* Read out queries [i_lo, i_hi) of every query head of group hk against the
 * state (S, z) before the chunk, scaled by beta, and (intra) the chunk's
 * keys [j0, j0 + local_len) with features phikt scaled by alpha. */
static void readout(const run_ctx *r, lane *ln, int32_t hk, int64_t i_lo, int64_t i_hi, const float *S, const float *z,
                    bool state_empty, float beta, bool intra, int64_t j0, const float *phikt, const float *vrows,
                    size_t ldv, float alpha) {
    const lc_attn_ctx *c = r->c;
    const lc_attn_shape *s = c->s;
    const lin_layout *L = r->L;
    const int32_t d = L->d, F = L->F, H = s->n_head;
    const lc_isa isa = r->fm.isa;
    const size_t ldq = (size_t)H * d;
    for (int32_t hg = 0; hg < c->group; hg++) {
        const int32_t h = hk * c->group + hg;
        for (int64_t t0 = i_lo; t0 < i_hi; t0 += QT) {
            const int64_t nt = LC_MIN((int64_t)QT, i_hi - t0);
            const float *q = c->io->q + ((size_t)t0 * H + h) * d;
            float *o = c->io->out + ((size_t)t0 * H + h) * d;
            lc_lin_query_features(&r->fm, q, ldq, nt, ln->phiq);
            if (!state_empty) {
                lc_lin_gemm(isa, nt, d, F, ln->phiq, (size_t)F, 1, S, (size_t)d, o, ldq, false);
                for (int64_t i = 0; i < nt; i++) ln->den[i] = lc_lin_dot(isa, ln->phiq + (size_t)i * F, z, F);
                if (beta != 1.0f) {
                    for (int64_t i = 0; i < nt; i++) lc_lin_scale(isa, o + (size_t)i * ldq, d, beta);
                    lc_lin_scale(isa, ln->den, nt, beta);
                }
            } else {
                for (int64_t i = 0; i < nt; i++) memset(o + (size_t)i * ldq, 0, (size_t)d * sizeof(float));
                memset(ln->den, 0, (size_t)nt * sizeof(float));
            }
            if (intra) {
                for (int64_t s0 = 0; s0 < nt; s0 += SUB) {
                    const int64_t ns = LC_MIN((int64_t)SUB, nt - s0);
                    /* lengths grow with i: the block's last row sees the most keys */
                    const int64_t nmax = local_len(s, L, t0 + s0 + ns - 1, j0);
                    lc_lin_gemm(isa, ns, nmax, F, ln->phiq + (size_t)s0 * F, (size_t)F, 1, phikt, CB, ln->sc, CB, false);
                    for (int64_t i = 0; i < ns; i++) {
                        float *row = ln->sc + (size_t)i * CB;
                        const int64_t ell = local_len(s, L, t0 + s0 + i, j0);
                        for (int64_t j = ell; j < nmax; j++) row[j] = 0.0f;
                        if (alpha != 1.0f) lc_lin_scale(isa, row, ell, alpha);
                        ln->den[s0 + i] += lc_lin_sum(isa, row, ell);
                    }
                    lc_lin_gemm(isa, ns, d, nmax, ln->sc, CB, 1, vrows, ldv, o + (size_t)s0 * ldq, ldq, true);
                }
            }
            normalise(isa, o, ldq, ln->den, nt, d);
        }
    }
}

/* Stabiliser bookkeeping of one chunk: M' = max(M, m_c). */
static void chunk_factors(bool favor, float M, float mc, float *Mnew, float *beta, float *alpha) {
    if (!favor) {
        *Mnew = 0.0f;
        *beta = *alpha = 1.0f;
        return;
    }
    const float Mn = mc > M ? mc : M;
    *Mnew = Mn;
    *beta = lc_lin_factor(M, Mn);
    *alpha = lc_lin_factor(mc, Mn);
}

/* ---- SEQ: one thread walks one KV head ----------------------------------- */

static void seq_head(const run_ctx *r, lane *ln, int32_t hk) {
    const lc_attn_shape *s = r->c->s;
    const lin_layout *L = r->L;
    const bool causal = causal_mode(s);
    const size_t d = (size_t)L->d, F = (size_t)L->F;
    memset(ln->S, 0, F * d * sizeof(float));
    memset(ln->z, 0, F * sizeof(float));
    float M = L->favor ? -INFINITY : 0.0f;
    for (int64_t kc = 0; kc < L->n_kc; kc++) {
        const int64_t i_lo = causal ? first_query(s, L, kc) : 0, i_hi = causal ? first_query(s, L, kc + 1) : 0;
        const bool need_state = !causal || kc < L->n_kc - 1, need_read = i_lo < i_hi;
        if (!need_state && !need_read) continue;
        const float *vrows;
        size_t ldv = 0;
        const float mc = chunk_keys(r, ln, hk, kc, ln->phikt, ln->P, ln->zc, need_state, need_read, &vrows, &ldv);
        float Mn, beta, alpha;
        chunk_factors(L->favor, M, mc, &Mn, &beta, &alpha);
        if (need_read)
            readout(r, ln, hk, i_lo, i_hi, ln->S, ln->z, kc == 0, beta, true, kc * CB, ln->phikt, vrows, ldv, alpha);
        if (need_state) {
            combine_state(r, ln->S, ln->z, ln->P, ln->zc, beta, alpha);
            M = Mn;
        }
    }
    if (!causal)
        for (int64_t t0 = 0; t0 < s->n_q; t0 += QT)
            readout(r, ln, hk, t0, LC_MIN(s->n_q, t0 + QT), ln->S, ln->z, false, 1.0f, false, 0, NULL, NULL, 0, 1.0f);
}

/* ---- BLOCK: all threads on one KV head ------------------------------------ */

typedef struct {
    char *slots;
    float *fac; /* [3][B]: m_c, beta, alpha */
    float *S, *z;
} block_mem;

/* Called by every thread of the team (worksharing inside). */
static void block_head(const run_ctx *r, lane *ln, const block_mem *bm, float *M, int32_t hk) {
    const lc_attn_shape *s = r->c->s;
    const lin_layout *L = r->L;
    const bool causal = causal_mode(s);
    const int32_t d = L->d, F = L->F;
    const int64_t B = L->B;
    float *fm_c = bm->fac, *fbeta = bm->fac + B, *falpha = bm->fac + 2 * B;
#pragma omp single
    {
        memset(bm->S, 0, (size_t)F * d * sizeof(float));
        memset(bm->z, 0, (size_t)F * sizeof(float));
        *M = L->favor ? -INFINITY : 0.0f;
    }
    for (int64_t blk0 = 0; blk0 < L->n_kc; blk0 += B) {
        const int64_t nb = LC_MIN(B, L->n_kc - blk0);
        /* (1) features and partial states. Dynamic schedules here and in
         * (3): on a busy machine a descheduled thread must not hold up the
         * block (static placement, which keeps a chunk's slot on one core,
         * ran slower on the shared 2-core test machine). */
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t kc = blk0 + b;
            char *slot = bm->slots + (size_t)b * L->slot_bytes;
            const bool need_state = !causal || kc < L->n_kc - 1;
            const float *vrows;
            size_t ldv;
            fm_c[b] = chunk_keys(r, ln, hk, kc, (float *)(slot + L->s_phikt), (float *)(slot + L->s_P),
                                 (float *)(slot + L->s_zc), need_state, false, &vrows, &ldv);
        }
        /* stabiliser factors, in chunk order */
#pragma omp single
        {
            for (int64_t b = 0; b < nb; b++) {
                float Mn;
                chunk_factors(L->favor, *M, fm_c[b], &Mn, &fbeta[b], &falpha[b]);
                if (!causal || blk0 + b < L->n_kc - 1) *M = Mn;
            }
        }
        /* (2) exclusive scan, row by row of S (row F is z): slot b's P
         * becomes the state before chunk b (causal, when it has queries). */
#pragma omp for schedule(static)
        for (int32_t f = 0; f <= F; f++) {
            const int64_t len = f < F ? d : F;
            float *srow = f < F ? bm->S + (size_t)f * d : bm->z;
            for (int64_t b = 0; b < nb; b++) {
                const int64_t kc = blk0 + b;
                char *slot = bm->slots + (size_t)b * L->slot_bytes;
                float *prow = f < F ? (float *)(slot + L->s_P) + (size_t)f * d : (float *)(slot + L->s_zc);
                const bool need_state = !causal || kc < L->n_kc - 1;
                const bool need_read = causal && first_query(s, L, kc) < first_query(s, L, kc + 1);
                if (need_read) {
                    if (need_state) memcpy(ln->tmp, prow, (size_t)len * sizeof(float));
                    memcpy(prow, srow, (size_t)len * sizeof(float));
                    if (need_state) lc_lin_axpby(r->fm.isa, srow, ln->tmp, len, fbeta[b], falpha[b]);
                } else if (need_state) {
                    lc_lin_axpby(r->fm.isa, srow, prow, len, fbeta[b], falpha[b]);
                }
            }
        }
        /* (3) causal read-out of every chunk of the block */
        if (causal) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < nb; b++) {
                const int64_t kc = blk0 + b;
                const int64_t i_lo = first_query(s, L, kc), i_hi = first_query(s, L, kc + 1);
                if (i_lo >= i_hi) continue;
                char *slot = bm->slots + (size_t)b * L->slot_bytes;
                const int64_t j0 = kc * CB, n = LC_MIN((int64_t)CB, L->n_keys - j0);
                size_t ldv;
                const float *vrows = load_v(r->c, j0, n, hk, ln->vconv, &ldv);
                readout(r, ln, hk, i_lo, i_hi, (const float *)(slot + L->s_P), (const float *)(slot + L->s_zc),
                        kc == 0, fbeta[b], true, j0, (const float *)(slot + L->s_phikt), vrows, ldv, falpha[b]);
            }
        }
    }
    if (!causal) {
        const int64_t n_tiles = (s->n_q + QT - 1) / QT;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tiles; t++)
            readout(r, ln, hk, t * QT, LC_MIN(s->n_q, (t + 1) * QT), bm->S, bm->z, false, 1.0f, false, 0, NULL, NULL, 0,
                    1.0f);
    }
}

lc_status lc_attn_linear_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    (void)ws_bytes;
    const lc_attn_shape *s = c->s;
    lin_layout L;
    lc_status st = layout_init(c, &L, err);
    if (st != LC_OK) return st;
    const size_t n_rows = (size_t)s->n_q * (size_t)s->n_head;
    if (c->io->lse) memset(c->io->lse, 0, n_rows * sizeof(float));
    if (L.n_keys == 0) { /* no key: every row sees nothing */
        memset(c->io->out, 0, n_rows * (size_t)s->head_dim * sizeof(float));
        return LC_OK;
    }
    char *w = (char *)ws;
    run_ctx r;
    r.c = c;
    r.L = &L;
    r.fm.feature = c->p->feature;
    r.fm.d = L.d;
    r.fm.F = L.F;
    r.fm.proj = L.favor ? (const float *)(w + L.o_proj) : NULL;
    r.fm.isa = c->isa;
    block_mem bm = {0};
    if (L.block_mode) {
        bm.slots = w + L.o_slots;
        bm.fac = (float *)(w + L.o_fac);
        bm.S = (float *)(w + L.o_S);
        bm.z = (float *)(w + L.o_z);
    }
    const int32_t n_blocks = L.favor ? lc_lin_favor_blocks(L.d, L.F) : 0;
    const float proj_scale = 1.0f / sqrtf(sqrtf((float)L.d)); /* d^(-1/4) */
    float M = 0.0f;                                          /* BLOCK: running stabiliser */
#pragma omp parallel num_threads(L.T)
    {
        lane ln = lane_at(&L, w, omp_get_thread_num());
        if (L.favor) {
#pragma omp for schedule(dynamic, 1)
            for (int32_t b = 0; b < n_blocks; b++)
                lc_lin_favor_block(L.d, L.F, c->p->seed, b, ln.gs, (float *)(w + L.o_proj), (size_t)L.F, proj_scale);
        }
        if (!L.block_mode) {
#pragma omp for schedule(dynamic, 1)
            for (int32_t hk = 0; hk < s->n_head_kv; hk++) seq_head(&r, &ln, hk);
        } else {
            for (int32_t hk = 0; hk < s->n_head_kv; hk++) block_head(&r, &ln, &bm, &M, hk);
        }
    }
    return LC_OK;
}

/* ---- FLOPs --------------------------------------------------------------- */

/* sum over p = 0..x-1 of (p % CB + 1), x >= 0 */
static double lin_mod_sum(int64_t x) {
    const double q = (double)(x / CB), r = (double)(x % CB);
    return q * (double)CB * ((double)CB + 1.0) / 2.0 + r * (r + 1.0) / 2.0;
}

double lc_attn_linear_flops(const lc_attn_shape *s, const lc_attn_params *p) {
    if (!s || !p || s->n_q <= 0) return 0.0;
    const bool favor = p->feature == LC_FEATURE_FAVOR, causal = s->causal;
    const double d = s->head_dim, F = lc_lin_feature_count(p->feature, s->head_dim, p->n_features);
    const int64_t n_keys = causal ? LC_MIN(s->n_kv, s->q_pos0 + s->n_q) : s->n_kv;
    if (n_keys <= 0) return 0.0;
    const int64_t n_kc = (n_keys + CB - 1) / CB;
    /* per KV head: key features, partial states, state combines */
    const double key_feat = favor ? 2.0 * d * F + 2.0 * d + 3.0 * F : d;
    const double state_keys = causal ? (double)(n_kc - 1) * CB : (double)n_keys;
    const double combines = causal ? (double)(n_kc - 1) : (double)n_kc;
    double per_kv = (double)n_keys * key_feat + state_keys * (2.0 * F * d + F) + combines * 3.0 * F * (d + 1.0);
    /* per query head: query features, inter-chunk read-out, intra-chunk
     * quadratic part over the visible keys of the read-out chunk, divide */
    const double q_feat = favor ? 2.0 * d * F + 3.0 * F : d;
    double inter_q = 0.0, intra_pairs = 0.0;
    if (!causal) {
        inter_q = (double)s->n_q;
    } else {
        /* A query at position p reads out the chunk of its last visible key
         * e - 1 (e = min(n_keys, p + 1)): e - j0 = (e - 1) % CB + 1 pairs
         * inside it, and the state of the chunks before when j0 > 0. Summed
         * in closed form (a loop per query made a refusal of 2^31 tokens in
         * bench attn cost seconds). */
        const int64_t p0 = s->q_pos0, p1 = s->q_pos0 + s->n_q - 1, split = n_keys - 1;
        if (p0 < split) { /* p < n_keys - 1: e - 1 = p */
            const int64_t a = p0, b = LC_MIN(p1, split - 1);
            intra_pairs += lin_mod_sum(b + 1) - lin_mod_sum(a);
            inter_q += (double)LC_MAX((int64_t)0, b - LC_MAX(a, (int64_t)CB) + 1);
        }
        if (p1 >= split) { /* e = n_keys for the rest */
            const double cnt = (double)(p1 - LC_MAX(p0, split)) + 1.0;
            intra_pairs += cnt * (double)((n_keys - 1) % CB + 1);
            if (n_keys - 1 >= CB) inter_q += cnt;
        }
    }
    double per_q = (double)s->n_q * (q_feat + d) + inter_q * (2.0 * F * d + 2.0 * F) +
                   intra_pairs * (2.0 * F + 2.0 * d + 1.0);
    return per_kv * s->n_head_kv + per_q * s->n_head;
}
