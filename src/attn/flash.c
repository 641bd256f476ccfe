/*
 * FLASH attention: the tiled online-softmax engine (FlashAttention-2 style)
 * shared with WINDOW, and the FLASH method entry points. The algorithm and
 * the row/tile layouts are described in flash_engine.h and docs/flash.md; the
 * tile kernels are in flash_scalar.c and flash_avx2.c.
 *
 * Work decomposition. A unit is (query block, KV heads, KV partition):
 *   - a query block is P = max(1, ROWS_TARGET / G) consecutive query
 *     positions (fewer when n_q is smaller) times the G query heads of a KV
 *     head: R = P * G rows, so every K/V tile is read once for the group;
 *   - a unit takes one KV head, or for decode (R <= BATCH_ROWS_MAX, long
 *     cache) all of them, walked head by head inside each key tile so the
 *     cache block is read in memory order;
 *   - a KV partition is a slice of the keys the call can see (split-KV).
 *     Without split-KV there is one partition and a unit writes its rows of
 *     out/lse directly. With it, each unit leaves its unnormalised (o, m, l)
 *     in a slot and a second pass merges the slots of a block by
 *     log-sum-exp. Partition sizes depend on the shapes only, so results are
 *     bitwise identical whatever the thread count.
 * Units run under OpenMP dynamic scheduling, the heaviest (last, for causal)
 * query blocks first. Learned sink logits enter only when a row is
 * normalised (finish_row_sink), after the merge for split-KV.
 *
 * Workspace (exact; 64-byte aligned pieces; nh = KV heads per unit):
 *   per thread : qt [nh][d][rp], st [bk][rp], alpha [rp],
 *                o [nh][R][dp], m, l [nh][rp]   (without split-KV)
 *                kbuf [bk][d + 16]              (K converted or copied)
 *                vbuf [bk][dp + 16]             (V converted or copied)
 *   split-KV   : per unit o [nh][R][dp], m, l [nh][rp]
 * Threads used = min(n_threads, units).
 */
#include <math.h>
#include <string.h>

#include <omp.h>

#include "attn/flash_engine.h"

/* Tuning for 48 KiB L1d / 2 MiB L2 per core (measurements in docs/flash.md).
 * Prefill: the per-thread state of a block (qt, o: R x d floats each) and the
 * K/V tiles (BK x d) live in L2, the 16-column panel of qt and the 6 rows of
 * K a micro-kernel touches in L1. */
#define ROWS_TARGET 96          /* query rows (positions x group heads) per block */
#define BK 64                   /* keys per tile */
#define BATCH_ROWS_MAX 16       /* blocks of at most this many rows: decode tiles */
#define DECODE_BK 16            /* keys per decode tile: the next tile's K/V rows, prefetched one
                                 * tile ahead for every head of a unit, stay in L1 (docs/flash.md) */
#define PREFETCH_ROWS_MAX 32    /* software-prefetch the next tile for small blocks */
#define TILE_PAD 16             /* floats of padding per converted tile row */
#define SPLIT_UNITS 32          /* split-KV: aim for about this many units */
#define SPLIT_AUTO_MIN_PART 512 /* auto split-KV: keys per partition at least */
#define SPLIT_FORCED_MIN_PART 16
#define LC_LOG2E 1.4426950408889634
#define LC_LN2 0.6931471805599453

/* How a unit reads K or V tiles. */
typedef enum {
    KV_CONVERT, /* converted (or copied) into a padded f32 tile buffer */
    KV_F32,     /* f32, read in place */
    KV_F16      /* f16, read in place by the decode kernels (F16C) */
} kv_access;

typedef struct {
    int32_t d, dp, group;
    int64_t pos_per_block; /* P */
    int32_t rows, rp;      /* R = P * G, rp = R rounded up to 8 */
    int32_t nh;            /* KV heads per unit (1, or all of them for decode) */
    int32_t bk;            /* keys per tile */
    int64_t n_hgroups;     /* H_kv / nh */
    int64_t n_qblocks, n_items, n_parts, part_len, n_units;
    int n_threads;
    bool split;
    kv_access k_mode, v_mode;
    size_t kstride, vstride; /* floats between rows of kbuf / vbuf */
    /* byte offsets inside one thread's area */
    size_t off_qt, off_st, off_alpha, off_o, off_m, off_l, off_kbuf, off_vbuf, per_thread;
    /* byte offsets inside one split-KV slot */
    size_t slot_o, slot_m, slot_l, per_slot;
    size_t off_slots, total;
} flash_plan;

typedef struct {
    int64_t lo, hi; /* key indices [lo, hi) */
} kspan;

typedef struct {
    const lc_attn_ctx *c;
    const lc_flash_kernels *kern;
    const flash_plan *pl;
    lc_flash_vis vis;
    float qscale;
    float softcap2;   /* soft-cap in base-2 logits (cap * log2 e), 0: none */
    char *ws;
    kspan call[2]; /* keys any query of the call can see (k_pos NULL) */
    int n_call;
    int64_t call_keys;
} flash_job;

/* ---- saturating position arithmetic (k_pos may hold anything) ------------ */
static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}
static int64_t sat_sub(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}
static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* ---- plan: tile sizes, split-KV, workspace layout ------------------------- */

/* Reserve count * elem bytes at *off (64-byte aligned); false on overflow. */
static bool carve(size_t *off, size_t count, size_t elem, size_t *at) {
    size_t bytes, start;
    if (!lc_mul_size(count, elem, &bytes) || !lc_add_size(*off, 63, &start)) return false;
    start &= ~(size_t)63;
    *at = start;
    return lc_add_size(start, bytes, off);
}

/* Keys visible to some query at positions [p0, p1] when k_pos is NULL, as at
 * most two sorted disjoint index spans (sinks, then the causal/window band). */
static int visible_spans(const lc_attn_shape *s, const lc_flash_vis *vis, int64_t p0, int64_t p1, kspan out[2]) {
    const int64_t n_kv = s->n_kv, W = vis->window, S = vis->n_sinks;
    if (s->k_pos) {
        out[0] = (kspan){0, n_kv};
        return n_kv > 0;
    }
    const int64_t causal_hi = LC_MIN(n_kv, sat_add(p1, 1));
    kspan band = {0, s->causal ? causal_hi : n_kv};
    kspan sinks = {0, 0};
    if (W > 0) {
        band.lo = LC_MAX(0, sat_sub(p0, W - 1));
        if (!s->causal) band.hi = LC_MIN(n_kv, sat_add(p1, W));
        if (S > 0) sinks.hi = LC_MIN(S, s->causal ? causal_hi : n_kv);
    }
    int n = 0;
    const bool has_band = band.hi > band.lo, has_sinks = sinks.hi > 0;
    if (has_sinks && has_band && sinks.hi >= band.lo) {
        out[n++] = (kspan){0, LC_MAX(sinks.hi, band.hi)};
        return n;
    }
    if (has_sinks) out[n++] = sinks;
    if (has_band) out[n++] = band;
    return n;
}

/* Everything about a call that depends on its shapes, parameters and thread
 * count only: block and tile sizes, split-KV partitions, the workspace map. */
static lc_status make_plan(const lc_attn_ctx *c, const lc_flash_vis *vis, flash_plan *pl, kspan call[2], int *n_call,
                           int64_t *call_keys, lc_error *err) {
    const lc_attn_shape *s = c->s;
    memset(pl, 0, sizeof *pl);
    const int32_t d = s->head_dim, G = c->group;
    pl->d = d;
    pl->group = G;
    int64_t P = LC_MAX(1, ROWS_TARGET / G);
    if (s->n_q > 0 && P > s->n_q) P = s->n_q;
    pl->pos_per_block = P;
    const int64_t rows = P * G; /* G <= H_q < 2^31, P <= 64 */
    if (rows > (int64_t)1 << 24)
        return lc_fail(err, LC_ERR_TOO_LARGE, "flash attention: %lld query heads per KV head is too many",
                       (long long)G);
    pl->rows = (int32_t)rows;
    pl->rp = (int32_t)round_up(rows, 8);
    pl->n_qblocks = s->n_q > 0 ? (s->n_q + P - 1) / P : 0;

    /* The keys any query can see; split-KV partitions these. */
    *n_call = s->n_q > 0 ? visible_spans(s, vis, s->q_pos0, s->q_pos0 + s->n_q - 1, call) : 0;
    int64_t keys = 0;
    for (int i = 0; i < *n_call; i++) keys += call[i].hi - call[i].lo;
    *call_keys = keys;

    /* Decode (few rows per KV head, long cache, split-KV allowed): a unit
     * takes every KV head of its key partition and, tile by tile, walks the
     * heads in memory order, so the cache block [bk][H_kv][d] is read front
     * to back (the hardware prefetchers follow) rather than one head's
     * d-element slice per row over the whole cache. Decode tiles are short
     * (DECODE_BK) so that a head's converted K and V tiles stay in L1. */
    const int sk = c->p->split_kv;
    pl->nh = 1;
    pl->bk = rows <= BATCH_ROWS_MAX ? DECODE_BK : BK;
    if (rows <= BATCH_ROWS_MAX && s->n_head_kv > 1 && sk >= 0 && keys >= 2 * SPLIT_AUTO_MIN_PART) pl->nh = s->n_head_kv;
    pl->n_hgroups = s->n_head_kv / pl->nh;
    pl->n_items = pl->n_qblocks * pl->n_hgroups; /* <= n_q * H_kv, which fits (Q was size-checked) */
    /* K/V read in place: by the decode kernels (blocks of <= 8 rows use
     * every K and V element once for all rows; f16 through F16C), or f32 when
     * one head's rows are contiguous. Otherwise tiles are converted or copied: the
     * prefill kernels re-read them several times, and rows a multiple of
     * 1 KiB apart fall into few L1 sets (4 KiB apart: one) and evict each
     * other between passes. */
    const bool dot_all = rows <= LC_FLASH_DOT_ROWS;
    pl->k_mode = pl->v_mode = KV_CONVERT;
    if (s->k_type == LC_DTYPE_F32 && (s->n_head_kv == 1 || dot_all)) pl->k_mode = KV_F32;
    if (s->k_type == LC_DTYPE_F16 && dot_all && d % 16 == 0) pl->k_mode = KV_F16;
    if (s->v_type == LC_DTYPE_F32 && d % 16 == 0 && (s->n_head_kv == 1 || dot_all)) pl->v_mode = KV_F32;
    if (s->v_type == LC_DTYPE_F16 && dot_all && d % 16 == 0) pl->v_mode = KV_F16;
    pl->dp = d % 16 == 0 ? d : (int32_t)round_up(d, 16);

    const int64_t min_part = sk > 0 ? SPLIT_FORCED_MIN_PART : SPLIT_AUTO_MIN_PART;
    bool split = sk > 0 || (sk == 0 && pl->n_items > 0 && pl->n_items < SPLIT_UNITS && keys >= 2 * min_part);
    pl->n_parts = 1;
    pl->part_len = keys;
    if (split && pl->n_items > 0) {
        int64_t want = LC_MAX(2, (SPLIT_UNITS + pl->n_items - 1) / pl->n_items);
        int64_t parts = LC_MIN(want, LC_MAX(1, keys / min_part));
        if (parts >= 2) {
            int64_t len = round_up((keys + parts - 1) / parts, 16);
            pl->part_len = len;
            pl->n_parts = (keys + len - 1) / len;
        }
    }
    pl->split = pl->n_parts > 1;
    if (!lc_mul_i64(pl->n_items, pl->n_parts, &pl->n_units))
        return lc_fail(err, LC_ERR_TOO_LARGE, "flash attention: too many work units");
    pl->n_threads = (int)LC_MAX(1, LC_MIN((int64_t)c->n_threads, pl->n_units));

    const size_t f = sizeof(float), rp = (size_t)pl->rp, R = (size_t)pl->rows, dp = (size_t)pl->dp;
    const size_t nh = (size_t)pl->nh, bk = (size_t)pl->bk;
    /* Converted tiles: rows padded by 64 bytes so they spread over the L1 sets. */
    pl->kstride = (size_t)d + TILE_PAD;
    pl->vstride = dp + TILE_PAD;
    size_t off = 0, o_n, qt_n;
    bool ok = lc_mul3_size(nh, (size_t)d, rp, &qt_n) && lc_mul3_size(nh, R, dp, &o_n);
    ok = ok && carve(&off, qt_n, f, &pl->off_qt) && carve(&off, bk * rp, f, &pl->off_st) &&
         carve(&off, rp, f, &pl->off_alpha);
    if (ok && !pl->split)
        ok = carve(&off, o_n, f, &pl->off_o) && carve(&off, nh * rp, f, &pl->off_m) &&
             carve(&off, nh * rp, f, &pl->off_l);
    if (ok && pl->k_mode == KV_CONVERT) ok = carve(&off, bk * pl->kstride, f, &pl->off_kbuf);
    if (ok && pl->v_mode == KV_CONVERT) ok = carve(&off, bk * pl->vstride, f, &pl->off_vbuf);
    ok = ok && carve(&off, 0, 1, &pl->per_thread); /* round the area up to 64 bytes */
    size_t slot = 0;
    if (ok && pl->split)
        ok = carve(&slot, o_n, f, &pl->slot_o) && carve(&slot, nh * rp, f, &pl->slot_m) &&
             carve(&slot, nh * rp, f, &pl->slot_l) && carve(&slot, 0, 1, &pl->per_slot);
    size_t threads_bytes = 0, slots_bytes = 0;
    ok = ok && lc_mul_size(pl->per_thread, (size_t)pl->n_threads, &threads_bytes) &&
         lc_mul_size(pl->per_slot, pl->split ? (size_t)pl->n_units : 0, &slots_bytes) &&
         lc_add_size(threads_bytes, slots_bytes, &pl->total);
    if (!ok) return lc_fail(err, LC_ERR_TOO_LARGE, "flash attention: workspace size overflows size_t");
    pl->off_slots = threads_bytes;
    return LC_OK;
}

/* ---- tiles ------------------------------------------------------------------ */

typedef enum { TILE_NONE, TILE_PARTIAL, TILE_FULL } tile_class;

/* Whether keys at positions [kmin, kmax] are invisible to, visible to, or
 * mixed for every query at positions [p0, p1] (conservative: PARTIAL when
 * unsure; the per-key mask is exact). */
static tile_class classify(const lc_attn_shape *s, const lc_flash_vis *vis, int64_t p0, int64_t p1, int64_t kmin,
                           int64_t kmax) {
    const int64_t W = vis->window, S = vis->n_sinks;
    if (s->causal && kmin > p1) return TILE_NONE;
    if (W > 0 && kmin >= S) {
        if (sat_sub(p0, kmax) >= W) return TILE_NONE;
        if (!s->causal && sat_sub(kmin, p1) >= W) return TILE_NONE;
    }
    if (s->causal && kmax > p0) return TILE_PARTIAL;
    if (W <= 0 || kmax < S) return TILE_FULL;
    if (sat_sub(p1, kmin) < W && (s->causal || sat_sub(kmax, p0) < W)) return TILE_FULL;
    return TILE_PARTIAL;
}

/* Mask a partial tile: for each key, the query positions that see it form an
 * interval [plo, phi]; rows outside it (of nrows) get -inf. Score (key j,
 * row r) is st[j * sj + r * sr]: sj = rp, sr = 1 for S^T, sj = 1, sr = ss for
 * the decode layout. */
static void mask_tile(const flash_job *jb, int64_t j0, int32_t nk, int64_t p0, int64_t npos, int64_t nrows, float *st,
                      size_t sj, size_t sr) {
    const lc_attn_ctx *c = jb->c;
    const int64_t W = jb->vis.window, S = jb->vis.n_sinks, G = c->group;
    for (int32_t j = 0; j < nk; j++) {
        const int64_t kp = lc_attn_kpos(c, j0 + j);
        int64_t plo = c->s->causal ? kp : INT64_MIN, phi = INT64_MAX;
        if (W > 0 && kp >= S) {
            phi = sat_add(kp, W - 1);
            if (!c->s->causal) plo = sat_sub(kp, W - 1);
        }
        /* rows [rlo, rhi) see the key */
        int64_t a = sat_sub(plo, p0), b = sat_add(sat_sub(phi, p0), 1);
        a = LC_MIN(LC_MAX(a, 0), npos);
        b = LC_MIN(LC_MAX(b, a), npos);
        const int64_t rlo = a * G, rhi = b * G;
        float *key = st + (size_t)j * sj;
        for (int64_t r = 0; r < LC_MIN(rlo, nrows); r++) key[(size_t)r * sr] = -INFINITY;
        for (int64_t r = rhi; r < nrows; r++) key[(size_t)r * sr] = -INFINITY;
    }
}

/* The index spans of partition `part` of the call's visible keys. */
static int partition_spans(const flash_job *jb, int64_t part, kspan out[2]) {
    int64_t v0 = part * jb->pl->part_len, v1 = LC_MIN(jb->call_keys, v0 + jb->pl->part_len);
    int n = 0;
    int64_t base = 0;
    for (int i = 0; i < jb->n_call; i++) {
        const int64_t len = jb->call[i].hi - jb->call[i].lo;
        const int64_t lo = LC_MAX(v0, base), hi = LC_MIN(v1, base + len);
        if (hi > lo) out[n++] = (kspan){jb->call[i].lo + (lo - base), jb->call[i].lo + (hi - base)};
        base += len;
    }
    return n;
}

/* Intersection of two sorted lists of disjoint spans. */
static int intersect_spans(const kspan *a, int na, const kspan *b, int nb, kspan *out) {
    int n = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++) {
            const int64_t lo = LC_MAX(a[i].lo, b[j].lo), hi = LC_MIN(a[i].hi, b[j].hi);
            if (hi > lo) out[n++] = (kspan){lo, hi};
        }
    return n; /* sorted: a and b are sorted and disjoint */
}

/* Ask for the K and V rows of keys [j, j + n) of KV head hk while the current
 * tile computes. One head's rows are k_row_bytes apart (2 KiB for 8 f16 heads
 * of 128): too sparse for the hardware prefetchers, so without this a decode
 * step waits on memory latency instead of streaming at bandwidth. */
static void prefetch_rows(const char *base, size_t row_bytes, int64_t n, size_t bytes) {
    for (int64_t r = 0; r < n; r++) {
        const uintptr_t a = (uintptr_t)(base + (size_t)r * row_bytes), end = a + bytes;
        for (uintptr_t line = a & ~(uintptr_t)63; line < end; line += 64) __builtin_prefetch((const void *)line, 0, 3);
    }
}

/* Ask for the K and V rows of keys [j, j + n) of KV head hk while the
 * current tile computes: one head at a time, interleaved with the heads'
 * work, so the requests never pile up in a burst the core must wait out. */
static void prefetch_head(const lc_attn_ctx *c, int64_t j, int64_t n, int32_t hk) {
    prefetch_rows((const char *)lc_attn_k_ptr(c, j, hk), c->k_row_bytes, n, c->k_head_bytes);
    prefetch_rows((const char *)lc_attn_v_ptr(c, j, hk), c->v_row_bytes, n, c->v_head_bytes);
}

/* Rows to prefetch: n rows of `bytes` bytes, row_bytes apart. */
typedef struct {
    const char *base;
    size_t row_bytes;
    int64_t n;
    size_t bytes;
} kv_prefetch;

/* ---- one unit ------------------------------------------------------------------ */

/* The query block, KV heads and query rows of a unit or item. */
typedef struct {
    int64_t qb, i0, npos, p0, p1;
    int32_t hk0, rows, rp;
} unit_rows;

static unit_rows item_rows(const flash_job *jb, int64_t item) {
    const flash_plan *pl = jb->pl;
    unit_rows r;
    r.qb = pl->n_qblocks - 1 - item / pl->n_hgroups; /* heaviest (last) query blocks first */
    r.hk0 = (int32_t)(item % pl->n_hgroups) * pl->nh;
    r.i0 = r.qb * pl->pos_per_block;
    r.npos = LC_MIN(pl->pos_per_block, jb->c->s->n_q - r.i0);
    r.rows = (int32_t)(r.npos * pl->group);
    r.rp = (int32_t)round_up(r.rows, 8);
    r.p0 = jb->c->s->q_pos0 + r.i0;
    r.p1 = r.p0 + r.npos - 1;
    return r;
}

/* Row r of KV head hk in the block: its index in Q/out ([n_q][H_q]). */
static size_t q_row(const flash_job *jb, const unit_rows *ur, int32_t hk, int32_t r) {
    const int32_t G = jb->pl->group;
    return (size_t)(ur->i0 + r / G) * (size_t)jb->c->s->n_head + (size_t)hk * G + (size_t)(r % G);
}

/* Normalise one row whose softmax has a learned sink: o is the unnormalised
 * accumulator relative to the base-2 running max m, l its sum (l = 0 and
 * m = -inf when the row saw no key). The sink s (natural units) joins as
 * 2^(s log2 e - M) in the denominator, M = max(m, s log2 e), in double so
 * that no sink logit overflows. */
static void finish_row_sink(const flash_job *jb, size_t row, const float *o, float m, double l, float *out) {
    const lc_attn_ctx *c = jb->c;
    const int32_t d = c->s->head_dim;
    const float sink = c->p->sink_logits[row % (size_t)c->s->n_head];
    if (m == -INFINITY || !(l > 0.0)) { /* saw no key: out = 0, lse = sink */
        for (int32_t t = 0; t < d; t++) out[t] = 0.0f;
        if (c->io->lse) c->io->lse[row] = sink;
        return;
    }
    const double s2 = (double)sink * LC_LOG2E; /* -inf stays -inf */
    const double M = fmax((double)m, s2);
    const double a = exp2((double)m - M); /* rescales o and l to M */
    const double L = l * a + exp2(s2 - M);
    const float w = (float)(a / L);
    for (int32_t t = 0; t < d; t++) out[t] = o[t] * w;
    if (c->io->lse) c->io->lse[row] = (float)(M * LC_LN2 + log(L));
}

/* Soft-capping of base-2 scores: s <- c tanh(s / c) with c = cap log2 e,
 * which is cap tanh(x / cap) of the natural-log score x. */
static void softcap_tile(float *st, size_t n, float c) {
    const float inv = 1.0f / c;
    for (size_t i = 0; i < n; i++) st[i] = c * tanhf(st[i] * inv);
}

/* One tile of a decode block (rows <= LC_FLASH_DOT_ROWS) for one KV head:
 * scores row-major s[r][j] (rows bk floats apart), soft-cap, the mask when
 * mask_j0 >= 0 (a partial tile starting at key mask_j0), the online softmax
 * along the keys and P V. K and V are read in place (f32, f16) or converted
 * into kbuf / vbuf; either way each element is read once for all rows. */
static void decode_tile(const flash_job *jb, const void *kr, const void *vr, const kv_prefetch *pf,
                        const float *q, int32_t rows, int32_t nk, int64_t mask_j0, const unit_rows *ur, float *st,
                        float *m, float *l, float *alpha, float *o, float *kbuf, float *vbuf) {
    const lc_attn_ctx *c = jb->c;
    const flash_plan *pl = jb->pl;
    const lc_flash_kernels *kn = jb->kern;
    const size_t ss = (size_t)pl->bk;
    switch (pl->k_mode) {
    case KV_F16: kn->dec_scores(q, rows, pl->d, LC_DTYPE_F16, kr, c->k_row_bytes / 2, nk, st, ss); break;
    case KV_F32: kn->dec_scores(q, rows, pl->d, LC_DTYPE_F32, kr, c->k_row_bytes / 4, nk, st, ss); break;
    default:
        kn->load_rows(c->s->k_type, kr, c->k_row_bytes, nk, pl->d, kbuf, pl->kstride, pl->d);
        kn->dec_scores(q, rows, pl->d, LC_DTYPE_F32, kbuf, pl->kstride, nk, st, ss);
        break;
    }
    if (jb->softcap2 > 0.0f)
        for (int32_t r = 0; r < rows; r++) softcap_tile(st + (size_t)r * ss, (size_t)nk, jb->softcap2);
    if (mask_j0 >= 0) mask_tile(jb, mask_j0, nk, ur->p0, ur->npos, rows, st, 1, ss);
    if (pf->base) prefetch_rows(pf->base, pf->row_bytes, pf->n, pf->bytes);
    kn->dec_softmax(st, ss, rows, nk, m, l, alpha);
    switch (pl->v_mode) {
    case KV_F16: kn->dec_pv(st, ss, rows, nk, LC_DTYPE_F16, vr, c->v_row_bytes / 2, pl->dp, alpha, o); break;
    case KV_F32: kn->dec_pv(st, ss, rows, nk, LC_DTYPE_F32, vr, c->v_row_bytes / 4, pl->dp, alpha, o); break;
    default:
        kn->load_rows(c->s->v_type, vr, c->v_row_bytes, nk, pl->d, vbuf, pl->vstride, pl->dp);
        kn->dec_pv(st, ss, rows, nk, LC_DTYPE_F32, vbuf, pl->vstride, pl->dp, alpha, o);
        break;
    }
}

static void run_unit(const flash_job *jb, int64_t u, char *tb) {
    const lc_attn_ctx *c = jb->c;
    const lc_attn_shape *s = c->s;
    const flash_plan *pl = jb->pl;
    const lc_flash_kernels *kn = jb->kern;
    const int32_t d = pl->d, dp = pl->dp, nh = pl->nh;
    const int64_t part = u % pl->n_parts;
    const unit_rows ur = item_rows(jb, u / pl->n_parts);
    const int32_t rows = ur.rows, rp = ur.rp;
    const bool dot = rows <= LC_FLASH_DOT_ROWS; /* decode: dot products, Q row-major */

    /* Per head h of the unit: qt [d][rp], o [rows][dp], m and l [rp]. */
    const size_t qt_n = (size_t)d * rp, o_n = (size_t)pl->rows * dp;
    float *qt = (float *)(tb + pl->off_qt), *st = (float *)(tb + pl->off_st), *alpha = (float *)(tb + pl->off_alpha);
    float *kbuf = (float *)(tb + pl->off_kbuf), *vbuf = (float *)(tb + pl->off_vbuf);
    float *o, *m, *l;
    if (pl->split) {
        char *slot = jb->ws + pl->off_slots + (size_t)u * pl->per_slot;
        o = (float *)(slot + pl->slot_o), m = (float *)(slot + pl->slot_m), l = (float *)(slot + pl->slot_l);
    } else {
        o = (float *)(tb + pl->off_o), m = (float *)(tb + pl->off_m), l = (float *)(tb + pl->off_l);
    }

    for (int32_t h = 0; h < nh; h++) {
        /* Q^T of the block, scaled into base-2 logits; padding columns zero. */
        float *qth = qt + (size_t)h * qt_n;
        for (int32_t r = 0; r < rows; r++) {
            const float *q = c->io->q + q_row(jb, &ur, ur.hk0 + h, r) * (size_t)d;
            if (dot) /* row-major for the dec_* kernels */
                for (int32_t t = 0; t < d; t++) qth[(size_t)r * d + t] = q[t] * jb->qscale;
            else
                for (int32_t t = 0; t < d; t++) qth[(size_t)t * rp + r] = q[t] * jb->qscale;
        }
        if (!dot)
            for (int32_t t = 0; t < d; t++)
                for (int32_t r = rows; r < rp; r++) qth[(size_t)t * rp + r] = 0.0f;
        for (int32_t r = 0; r < rp; r++) m[(size_t)h * rp + r] = -INFINITY, l[(size_t)h * rp + r] = 0.0f;
        memset(o + (size_t)h * o_n, 0, (size_t)rows * (size_t)dp * sizeof(float));
    }

    kspan bs[2], ps[2], us[4];
    const int nb = visible_spans(s, &jb->vis, ur.p0, ur.p1, bs);
    const int np = partition_spans(jb, part, ps);
    const int nu = intersect_spans(bs, nb, ps, np, us);
    const int64_t bk = pl->bk;
    const bool prefetch = PREFETCH_ROWS_MAX >= rows;
    /* the unit walks every KV head and a key's heads are one row: a tile's
     * K (V) rows of all heads form one block */
    const bool whole_rows = nh == s->n_head_kv && c->k_row_bytes == (size_t)nh * c->k_head_bytes &&
                            c->v_row_bytes == (size_t)nh * c->v_head_bytes;

    for (int si = 0; si < nu; si++) {
        for (int64_t j0 = us[si].lo; j0 < us[si].hi; j0 += bk) {
            const int32_t nk = (int32_t)LC_MIN(bk, us[si].hi - j0);
            int64_t kmin = j0, kmax = j0 + nk - 1;
            if (s->k_pos) {
                kmin = INT64_MAX, kmax = INT64_MIN;
                for (int32_t j = 0; j < nk; j++) {
                    kmin = LC_MIN(kmin, s->k_pos[j0 + j]);
                    kmax = LC_MAX(kmax, s->k_pos[j0 + j]);
                }
            }
            const tile_class tc = classify(s, &jb->vis, ur.p0, ur.p1, kmin, kmax);
            if (tc == TILE_NONE) continue;
            /* the next tile of the span, or the start of the next span */
            int64_t pf_j = -1, pf_n = 0;
            if (prefetch && j0 + bk < us[si].hi)
                pf_j = j0 + bk, pf_n = LC_MIN(bk, us[si].hi - pf_j);
            else if (prefetch && si + 1 < nu)
                pf_j = us[si + 1].lo, pf_n = LC_MIN(bk, us[si + 1].hi - pf_j);
            for (int32_t h = 0; h < nh; h++) {
                const int32_t hk = ur.hk0 + h;
                const float *qh = qt + (size_t)h * qt_n;
                const void *kr = lc_attn_k_ptr(c, j0, hk), *vr = lc_attn_v_ptr(c, j0, hk);
                float *oh = o + (size_t)h * o_n, *mh = m + (size_t)h * rp, *lh = l + (size_t)h * rp;
                if (dot) {
                    /* the next tile's K rows now, its V rows between this
                     * tile's scores and P V: two short bursts of requests */
                    kv_prefetch pf = {NULL, 0, 0, 0};
                    if (pf_j >= 0 && whole_rows) {
                        /* the unit holds every head and the next tile's rows
                         * are one block: head h asks for slice h of it, so
                         * the requests run through memory in order */
                        const size_t kb = (size_t)pf_n * c->k_row_bytes, vb = (size_t)pf_n * c->v_row_bytes;
                        const size_t k0 = kb * (size_t)h / (size_t)nh, k1 = kb * (size_t)(h + 1) / (size_t)nh;
                        prefetch_rows((const char *)lc_attn_k_ptr(c, pf_j, 0) + k0, 0, 1, k1 - k0);
                        const size_t v0 = vb * (size_t)h / (size_t)nh, v1 = vb * (size_t)(h + 1) / (size_t)nh;
                        pf = (kv_prefetch){(const char *)lc_attn_v_ptr(c, pf_j, 0) + v0, 0, 1, v1 - v0};
                    } else if (pf_j >= 0) {
                        prefetch_rows((const char *)lc_attn_k_ptr(c, pf_j, hk), c->k_row_bytes, pf_n, c->k_head_bytes);
                        pf = (kv_prefetch){(const char *)lc_attn_v_ptr(c, pf_j, hk), c->v_row_bytes, pf_n,
                                           c->v_head_bytes};
                    }
                    decode_tile(jb, kr, vr, &pf, qh, rows, nk, tc == TILE_PARTIAL ? j0 : -1, &ur, st, mh, lh, alpha, oh,
                                kbuf, vbuf);
                    continue;
                }
                if (pf_j >= 0) prefetch_head(c, pf_j, pf_n, hk);
                if (pl->k_mode == KV_F32) {
                    kn->scores(qh, rp, d, (const float *)kr, c->k_row_bytes / 4, nk, st);
                } else {
                    kn->load_rows(s->k_type, kr, c->k_row_bytes, nk, d, kbuf, pl->kstride, d);
                    kn->scores(qh, rp, d, kbuf, pl->kstride, nk, st);
                }
                if (jb->softcap2 > 0.0f) softcap_tile(st, (size_t)nk * (size_t)rp, jb->softcap2);
                if (tc == TILE_PARTIAL) mask_tile(jb, j0, nk, ur.p0, ur.npos, rp, st, (size_t)rp, 1);
                kn->softmax(st, nk, rp, mh, lh, alpha);
                if (pl->v_mode == KV_F32) {
                    kn->pv(st, rp, rows, nk, (const float *)vr, c->v_row_bytes / 4, dp, alpha, oh);
                } else {
                    kn->load_rows(s->v_type, vr, c->v_row_bytes, nk, d, vbuf, pl->vstride, dp);
                    kn->pv(st, rp, rows, nk, vbuf, pl->vstride, dp, alpha, oh);
                }
            }
        }
    }
    if (pl->split) return;

    for (int32_t h = 0; h < nh; h++) {
        const float *oh = o + (size_t)h * o_n, *mh = m + (size_t)h * rp, *lh = l + (size_t)h * rp;
        for (int32_t r = 0; r < rows; r++) {
            const size_t row = q_row(jb, &ur, ur.hk0 + h, r);
            float *out = c->io->out + row * d;
            const float *orow = oh + (size_t)r * dp;
            if (c->p->sink_logits) {
                finish_row_sink(jb, row, orow, mh[r], lh[r], out);
                continue;
            }
            if (lh[r] > 0.0f) {
                const float inv = 1.0f / lh[r];
                for (int32_t t = 0; t < d; t++) out[t] = orow[t] * inv;
                if (c->io->lse) c->io->lse[row] = (float)((double)mh[r] * LC_LN2 + log((double)lh[r]));
            } else {
                for (int32_t t = 0; t < d; t++) out[t] = 0.0f;
                if (c->io->lse) c->io->lse[row] = -INFINITY;
            }
        }
    }
}

/* Split-KV: merge the partition slots of one item by log-sum-exp:
 * M = max m_p, L = sum l_p 2^(m_p - M), out = sum o_p 2^(m_p - M) / L. */
static void merge_item(const flash_job *jb, int64_t item) {
    const lc_attn_ctx *c = jb->c;
    const flash_plan *pl = jb->pl;
    const int32_t d = pl->d, dp = pl->dp;
    const unit_rows ur = item_rows(jb, item);
    const size_t o_n = (size_t)pl->rows * dp;
    const char *slots = jb->ws + pl->off_slots + (size_t)(item * pl->n_parts) * pl->per_slot;

    for (int32_t h = 0; h < pl->nh; h++)
        for (int32_t r = 0; r < ur.rows; r++) {
            const size_t row = q_row(jb, &ur, ur.hk0 + h, r), mi = (size_t)h * ur.rp + r;
            float *out = c->io->out + row * d;
            float M = -INFINITY;
            for (int64_t p = 0; p < pl->n_parts; p++)
                M = fmaxf(M, ((const float *)(slots + (size_t)p * pl->per_slot + pl->slot_m))[mi]);
            for (int32_t t = 0; t < d; t++) out[t] = 0.0f;
            if (M == -INFINITY) {
                if (c->io->lse)
                    c->io->lse[row] = c->p->sink_logits ? c->p->sink_logits[row % (size_t)c->s->n_head] : -INFINITY;
                continue;
            }
            double L = 0.0;
            for (int64_t p = 0; p < pl->n_parts; p++) {
                const char *slot = slots + (size_t)p * pl->per_slot;
                const float mp = ((const float *)(slot + pl->slot_m))[mi];
                if (mp == -INFINITY) continue;
                const float w = exp2f(mp - M);
                L += (double)w * ((const float *)(slot + pl->slot_l))[mi];
                const float *op = (const float *)(slot + pl->slot_o) + (size_t)h * o_n + (size_t)r * dp;
                for (int32_t t = 0; t < d; t++) out[t] += w * op[t];
            }
            if (c->p->sink_logits) { /* out holds the merged, unnormalised o relative to M */
                finish_row_sink(jb, row, out, M, L, out);
                continue;
            }
            const float inv = (float)(1.0 / L);
            for (int32_t t = 0; t < d; t++) out[t] *= inv;
            if (c->io->lse) c->io->lse[row] = (float)((double)M * LC_LN2 + log(L));
        }
}

/* ---- entry points ------------------------------------------------------------ */

lc_status lc_flash_workspace(const lc_attn_ctx *c, const lc_flash_vis *vis, size_t *bytes, lc_error *err) {
    flash_plan pl;
    kspan call[2];
    int n_call;
    int64_t keys;
    lc_status st = make_plan(c, vis, &pl, call, &n_call, &keys, err);
    *bytes = st == LC_OK ? pl.total : 0;
    return st;
}

lc_status lc_flash_run(const lc_attn_ctx *c, const lc_flash_vis *vis, void *ws, size_t ws_bytes, lc_error *err) {
    flash_plan pl;
    flash_job jb;
    memset(&jb, 0, sizeof jb);
    lc_status st = make_plan(c, vis, &pl, jb.call, &jb.n_call, &jb.call_keys, err);
    if (st != LC_OK) return st;
    if (ws_bytes < pl.total || (pl.total && !ws))
        return lc_fail(err, LC_ERR_INVALID_ARG, "flash attention: workspace of %zu bytes given, %zu needed", ws_bytes,
                       pl.total);
    if ((uintptr_t)ws % sizeof(float))
        return lc_fail(err, LC_ERR_INVALID_ARG, "flash attention: workspace must be at least 4-byte aligned");
    if (c->s->n_q == 0) return LC_OK;
    jb.c = c;
    jb.kern = lc_flash_kernels_for(c->isa);
    jb.pl = &pl;
    jb.vis = *vis;
    jb.qscale = (float)((double)c->scale * LC_LOG2E);
    jb.softcap2 = c->s->softcap > 0.0f ? (float)((double)c->s->softcap * LC_LOG2E) : 0.0f;
    jb.ws = (char *)ws;

#pragma omp parallel num_threads(pl.n_threads)
    {
        char *tb = jb.ws + (size_t)omp_get_thread_num() * pl.per_thread;
#pragma omp for schedule(dynamic, 1)
        for (int64_t u = 0; u < pl.n_units; u++) run_unit(&jb, u, tb);
        if (pl.split) {
#pragma omp for schedule(static)
            for (int64_t it = 0; it < pl.n_items; it++) merge_item(&jb, it);
        }
    }
    return LC_OK;
}

lc_status lc_attn_flash_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    const lc_flash_vis vis = {0, 0};
    return lc_flash_workspace(c, &vis, bytes, err);
}

lc_status lc_attn_flash_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    const lc_flash_vis vis = {0, 0};
    return lc_flash_run(c, &vis, ws, ws_bytes, err);
}
