/*
 * lc_sgemm: packing, cache blocking, threading and the scalar micro-kernel.
 * See sgemm.h for the contract.
 *
 * Loop nest (per call):
 *   for jc in N step NC:                 B panel columns
 *     for pc in K step KC:               depth block (in order: determinism)
 *       pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide strips     (threads split strips)
 *       barrier
 *       tasks = (MC row block) x (range of NR strips)           (threads split tasks)
 *         pack op(A)[ic:ic+MC, pc:pc+KC] into MR-tall strips    (per thread)
 *         micro-kernel MR x NR over every strip pair
 *       barrier
 * The beta of the call applies to the first depth block; later blocks add.
 */
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "kernels/sgemm.h"

#define MR LC_SGEMM_MR
#define NR LC_SGEMM_NR
#define KC 256
#define MC 144 /* multiple of MR: 24 micro-panels, 144 KiB of packed A: fits L2 */
#define NC 3072 /* multiple of NR: packed B panel of 3 MiB, shared by the threads */

/* Below this many multiply-adds a call runs on one thread (same result). */
#define SGEMM_PARALLEL_MIN_FMAS ((double)(1 << 18))

/* Packing buffer geometry for a product of at most m x n x k. */
typedef struct {
    size_t b_floats; /* shared packed B panel: kc x nc (NR-padded)          */
    size_t a_floats; /* per-thread packed A block: mc (MR-padded) x kc, 64 B */
} pack_sizes;

static pack_sizes pack_geometry(int64_t m, int64_t n, int64_t k) {
    const size_t kc = (size_t)LC_MAX(LC_MIN(k, KC), 1);
    const size_t nc = (size_t)LC_MIN((LC_MAX(n, 1) + NR - 1) / NR * NR, NC);
    const size_t mc = (size_t)LC_MIN((LC_MAX(m, 1) + MR - 1) / MR * MR, MC);
    pack_sizes p = {kc * nc, (mc * kc + 15) / 16 * 16};
    return p;
}

size_t lc_sgemm_workspace_bytes(int64_t m, int64_t n, int64_t k, int n_threads) {
    if (n_threads <= 0) n_threads = lc_cpu_count();
    pack_sizes p = pack_geometry(m, n, k);
    return (p.b_floats + (size_t)n_threads * p.a_floats) * sizeof(float);
}

/* Portable micro-kernel with the same contract as the AVX2 one. */
void lc_sgemm_kernel_6x16_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                                 float beta) {
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        const float *ak = a + k * MR, *bk = b + k * NR;
        for (int i = 0; i < MR; i++) {
            const float ai = ak[i];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

void lc_sgemm_kernel_6x16_strided_scalar(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *b, float *c,
                                         int64_t ldc, float alpha, float beta) {
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + k * NR;
        for (int i = 0; i < MR; i++) {
            const float ai = a[i * rs + k * ks];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

lc_sgemm_kernel_strided_fn lc_sgemm_kernel_strided_for(lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return lc_sgemm_kernel_6x16_strided_avx2;
#else
    (void)isa;
#endif
    return lc_sgemm_kernel_6x16_strided_scalar;
}

lc_sgemm_kernel_fn lc_sgemm_kernel_for(lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return lc_sgemm_kernel_6x16_avx2;
#else
    (void)isa;
#endif
    return lc_sgemm_kernel_6x16_scalar;
}

typedef struct {
    const lc_sgemm_args *g;
    lc_sgemm_kernel_fn kernel;
    bool avx2;       /* AVX2 packing of full strips                          */
    bool direct_a;   /* A row-major: full strips read in place, not packed   */
    float *bpack;    /* [strips][kc][NR]                      */
    float *apack0;   /* per thread: [MR strips][kc][MR]       */
    size_t a_floats; /* stride between the threads' A buffers */
} sgemm_job;

/* op(A)[i, k] for row block rows [i0, i0+mc), depth [p0, p0+kc) into MR-tall strips,
 * zero-padding the last strip. */
static void pack_a(const sgemm_job *job, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst) {
    const lc_sgemm_args *g = job->g;
    for (int64_t ip = 0; ip < mc; ip += MR) {
        const int64_t mr = LC_MIN(MR, mc - ip);
        float *d = dst + ip * kc; /* strip ip/MR holds kc * MR floats */
        if (job->direct_a && mr == MR) continue; /* read in place by the kernel */
#if defined(LC_HAVE_X86)
        if (job->avx2 && !g->trans_a && mr == MR) {
            lc_sgemm_pack_rows_avx2(g->a + (size_t)(i0 + ip) * (size_t)g->lda + (size_t)p0, g->lda, MR, kc, d);
            continue;
        }
#endif
        if (!g->trans_a) {
            for (int r = 0; r < MR; r++) {
                if (r < mr) {
                    const float *src = g->a + (size_t)(i0 + ip + r) * (size_t)g->lda + (size_t)p0;
                    for (int64_t k = 0; k < kc; k++) d[k * MR + r] = src[k];
                } else {
                    for (int64_t k = 0; k < kc; k++) d[k * MR + r] = 0.0f;
                }
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const float *src = g->a + (size_t)(p0 + k) * (size_t)g->lda + (size_t)(i0 + ip);
                float *dk = d + k * MR;
                int r = 0;
                for (; r < mr; r++) dk[r] = src[r];
                for (; r < MR; r++) dk[r] = 0.0f;
            }
        }
    }
}

/* op(B)[k, j] for depth [p0, p0+kc), NR-wide strips s0..s1 of the column panel at j0
 * (panel width nc), zero-padding the last strip. */
static void pack_b(const sgemm_job *job, int64_t j0, int64_t nc, int64_t p0, int64_t kc, int64_t s0, int64_t s1,
                   float *dst) {
    const lc_sgemm_args *g = job->g;
    for (int64_t s = s0; s < s1; s++) {
        const int64_t jj = s * NR, nr = LC_MIN(NR, nc - jj);
        float *d = dst + s * kc * NR;
#if defined(LC_HAVE_X86)
        if (job->avx2 && g->trans_b && nr == NR) {
            lc_sgemm_pack_rows_avx2(g->b + (size_t)(j0 + jj) * (size_t)g->ldb + (size_t)p0, g->ldb, NR, kc, d);
            continue;
        }
#endif
        if (!g->trans_b) {
            for (int64_t k = 0; k < kc; k++) {
                const float *src = g->b + (size_t)(p0 + k) * (size_t)g->ldb + (size_t)(j0 + jj);
                float *dk = d + k * NR;
                int64_t c = 0;
                for (; c < nr; c++) dk[c] = src[c];
                for (; c < NR; c++) dk[c] = 0.0f;
            }
        } else {
            for (int64_t c = 0; c < NR; c++) {
                if (c < nr) {
                    const float *src = g->b + (size_t)(j0 + jj + c) * (size_t)g->ldb + (size_t)p0;
                    for (int64_t k = 0; k < kc; k++) d[k * NR + c] = src[k];
                } else {
                    for (int64_t k = 0; k < kc; k++) d[k * NR + c] = 0.0f;
                }
            }
        }
    }
}

/* Micro-kernels over packed A rows [0, mc) x packed B strips [s0, s1) into C. */
static void macro_kernel(const sgemm_job *job, const float *ap, int64_t i0, int64_t mc, int64_t j0, int64_t nc,
                         int64_t p0, int64_t kc, int64_t s0, int64_t s1, float beta) {
    const lc_sgemm_args *g = job->g;
    float tile[MR * NR];
    for (int64_t s = s0; s < s1; s++) {
        const int64_t jj = s * NR, nr = LC_MIN(NR, nc - jj);
        const float *bp = job->bpack + s * kc * NR;
        for (int64_t ip = 0; ip < mc; ip += MR) {
            const int64_t mr = LC_MIN(MR, mc - ip);
            float *c = g->c + (size_t)(i0 + ip) * (size_t)g->ldc + (size_t)(j0 + jj);
            /* a whole tile goes straight to C; an edge tile to `tile`, then its valid part */
            const bool whole = mr == MR && nr == NR;
            float *dst = whole ? c : tile;
            const int64_t ldd = whole ? g->ldc : NR;
            const float al = whole ? g->alpha : 1.0f, be = whole ? beta : 0.0f;
#if defined(LC_HAVE_X86)
            if (job->direct_a && mr == MR)
                lc_sgemm_kernel_6x16_strided_avx2(kc, g->a + (size_t)(i0 + ip) * (size_t)g->lda + (size_t)p0, g->lda, 1,
                                                  bp, dst, ldd, al, be);
            else
#endif
                job->kernel(kc, ap + ip * kc, bp, dst, ldd, al, be);
            if (whole) continue;
            for (int64_t r = 0; r < mr; r++) {
                float *cr = c + (size_t)r * (size_t)g->ldc;
                if (beta == 0.0f)
                    for (int64_t q = 0; q < nr; q++) cr[q] = g->alpha * tile[r * NR + q];
                else
                    for (int64_t q = 0; q < nr; q++) cr[q] = g->alpha * tile[r * NR + q] + beta * cr[q];
            }
        }
    }
}

/* The whole loop nest as run by thread tid of nt (nt == 1: no OpenMP at all). */
static void sgemm_thread(const sgemm_job *job, int tid, int nt) {
    const lc_sgemm_args *g = job->g;
    float *ap = job->apack0 + (size_t)tid * job->a_floats;
    const int64_t m_blocks = (g->m + MC - 1) / MC;
    for (int64_t j0 = 0; j0 < g->n; j0 += NC) {
        const int64_t nc = LC_MIN(NC, g->n - j0), n_strips = (nc + NR - 1) / NR;
        /* Split the strips into parts so that there are enough tasks for the threads. */
        int64_t n_parts = 1;
        if (nt > 1 && m_blocks < 4 * nt) n_parts = LC_MIN(n_strips, (4 * nt + m_blocks - 1) / m_blocks);
        const int64_t n_tasks = m_blocks * n_parts;
        for (int64_t p0 = 0; p0 < g->k; p0 += KC) {
            const int64_t kc = LC_MIN(KC, g->k - p0);
            const float beta = p0 == 0 ? g->beta : 1.0f;
            pack_b(job, j0, nc, p0, kc, n_strips * tid / nt, n_strips * (tid + 1) / nt, job->bpack);
            if (nt > 1) {
#pragma omp barrier
            }
            int64_t packed_block = -1;
            for (int64_t t = n_tasks * tid / nt; t < n_tasks * (tid + 1) / nt; t++) {
                const int64_t ib = t / n_parts, part = t % n_parts;
                const int64_t i0 = ib * MC, mc = LC_MIN(MC, g->m - i0);
                if (packed_block != ib) {
                    pack_a(job, i0, mc, p0, kc, ap);
                    packed_block = ib;
                }
                macro_kernel(job, ap, i0, mc, j0, nc, p0, kc, n_strips * part / n_parts,
                             n_strips * (part + 1) / n_parts, beta);
            }
            if (nt > 1) {
#pragma omp barrier
            }
        }
    }
}

static lc_status validate(const lc_sgemm_args *g, lc_error *err) {
    if (!g) return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: NULL arguments");
    if (g->m < 0 || g->n < 0 || g->k < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: negative size (m %lld, n %lld, k %lld)", (long long)g->m,
                       (long long)g->n, (long long)g->k);
    const int64_t a_cols = g->trans_a ? g->m : g->k, b_cols = g->trans_b ? g->k : g->n;
    const int64_t a_rows = g->trans_a ? g->k : g->m, b_rows = g->trans_b ? g->n : g->k;
    if (g->m > 0 && g->n > 0 && g->k > 0) {
        if (!g->a || !g->b) return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: NULL A or B");
        if (g->lda < LC_MAX(a_cols, 1) || g->ldb < LC_MAX(b_cols, 1))
            return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: lda %lld / ldb %lld below the row length %lld / %lld",
                           (long long)g->lda, (long long)g->ldb, (long long)a_cols, (long long)b_cols);
        size_t t;
        if (!lc_mul3_size((size_t)a_rows, (size_t)g->lda, sizeof(float), &t) ||
            !lc_mul3_size((size_t)b_rows, (size_t)g->ldb, sizeof(float), &t))
            return lc_fail(err, LC_ERR_TOO_LARGE, "sgemm: operand size overflows");
    }
    if (g->m > 0 && g->n > 0) {
        size_t t;
        if (!g->c) return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: NULL C");
        if (g->ldc < g->n) return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: ldc %lld < n %lld", (long long)g->ldc,
                                          (long long)g->n);
        if (!lc_mul3_size((size_t)g->m, (size_t)g->ldc, sizeof(float), &t))
            return lc_fail(err, LC_ERR_TOO_LARGE, "sgemm: C overflows");
    }
    return LC_OK;
}

static int resolve_threads(const lc_sgemm_args *g) {
    int nt = g->n_threads > 0 ? g->n_threads : lc_cpu_count();
    if ((double)g->m * (double)g->n * (double)g->k < SGEMM_PARALLEL_MIN_FMAS) nt = 1;
    return nt;
}

lc_status lc_sgemm_ws(const lc_sgemm_args *g, void *ws, size_t ws_bytes, lc_error *err) {
    return lc_sgemm_run(g, g && !g->force_scalar ? lc_isa_best() : LC_ISA_SCALAR, ws, ws_bytes, err);
}

lc_status lc_sgemm_run(const lc_sgemm_args *g, lc_isa isa, void *ws, size_t ws_bytes, lc_error *err) {
    lc_status st = validate(g, err);
    if (st != LC_OK) return st;
    if (g->m == 0 || g->n == 0) return LC_OK;
    if (g->k == 0) { /* C = beta * C */
        for (int64_t i = 0; i < g->m; i++) {
            float *ci = g->c + (size_t)i * (size_t)g->ldc;
            for (int64_t j = 0; j < g->n; j++) ci[j] = g->beta == 0.0f ? 0.0f : g->beta * ci[j];
        }
        return LC_OK;
    }
    const int nt = resolve_threads(g);
    const size_t need = lc_sgemm_workspace_bytes(g->m, g->n, g->k, nt);
    if (!ws || ws_bytes < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sgemm: workspace of %zu bytes given, %zu needed", ws_bytes, need);
    const pack_sizes ps = pack_geometry(g->m, g->n, g->k);
    sgemm_job job;
    job.g = g;
    job.kernel = lc_sgemm_kernel_for(g->force_scalar ? LC_ISA_SCALAR : isa);
    job.avx2 = !g->force_scalar && isa >= LC_ISA_AVX2;
#if defined(LC_HAVE_X86)
    job.direct_a = job.avx2 && !g->trans_a;
#else
    job.direct_a = false;
#endif
    job.bpack = (float *)ws;
    job.apack0 = job.bpack + ps.b_floats;
    job.a_floats = ps.a_floats;
    if (nt == 1) {
        sgemm_thread(&job, 0, 1);
    } else {
#pragma omp parallel num_threads(nt)
        sgemm_thread(&job, omp_get_thread_num(), omp_get_num_threads());
    }
    return LC_OK;
}

lc_status lc_sgemm(const lc_sgemm_args *g, lc_error *err) {
    lc_status st = validate(g, err);
    if (st != LC_OK) return st;
    if (g->m == 0 || g->n == 0 || g->k == 0) return lc_sgemm_ws(g, NULL, 0, err);
    const size_t bytes = lc_sgemm_workspace_bytes(g->m, g->n, g->k, resolve_threads(g));
    void *ws = lc_malloc_aligned(bytes);
    if (!ws) return lc_fail(err, LC_ERR_NOMEM, "sgemm: cannot allocate %zu bytes of packing space", bytes);
    st = lc_sgemm_ws(g, ws, bytes, err);
    lc_free_aligned(ws);
    return st;
}

lc_status lc_sgemm_simple(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int n_threads,
                          lc_error *err) {
    lc_sgemm_args g = {trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads, false};
    return lc_sgemm(&g, err);
}
