/*
 * AVX-512 VNNI integer dot products of quantised weights with 8-bit
 * activations (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni
 * besides the AVX2 flags; called only after lc_isa_best() >= LC_ISA_AVX512,
 * through lc_qk_tile / lc_qk_dot). The scalar references are in qk_dot.c,
 * the AVX2 tiles (every type; a type without a kernel here would take them) in
 * qk_dot_avx2.c.
 *
 * The multiply is vpdpbusd: 64 u8 x s8 products summed in groups of 4 into
 * 16 int32 lanes, exactly, added to an int32 accumulator (the AVX2 tiles need
 * vpmaddubsw + vpmaddwd + vpaddd per 32). Its first operand is unsigned, so
 * every weight enters as an unsigned code u = w + off and the offset comes
 * back from the activations (off * sum(a)):
 *
 *   Q4_0 / Q5_0   the codes 0..15 / 0..31, off 8 / 16
 *   Q8_0, IQ4_NL, MXFP4  w + 128 (w in -128..127), off 128
 *   Q4_1 / Q5_1   the codes (no offset; the min m enters as m * s)
 *   Q4_K / Q5_K   the codes (the mins as dmin * sum m_j bsum_j)
 *   Q2_K          the codes 0..3 (the mins as dmin * sum m_j bsum_j)
 *   Q3_K          the codes 0..7 (w + 4): -4 sc_j bsum_j
 *   Q6_K          the codes 0..63, off 32 per sub-block: -32 sc_j bsum_j
 *   IQ4_XS        the table value + 128: -128 sc_j bsum_j
 *
 * Lanes are arranged so that every 128-bit lane of a vpdpbusd result belongs
 * to one block (32-element types: 4 blocks of 32 per 2 vpdpbusd) or one
 * sub-block (K types), so scales apply per lane with no horizontal sums
 * until the end of a row:
 *
 *   32-element types, 4 blocks per group: lo = the first 16 elements of the
 *     4 blocks, hi = the last 16; the int32 lanes (4 per block) are
 *     converted and scaled by dw * da per lane in f32.
 *   Q4_K / Q5_K: lane k of the first pair of vectors holds sub-block k
 *     (k = 0..3: elements 32k..32k+15, then 32k+16..32k+31), of the second
 *     sub-block 4 + k; each int32 lane is a sum of 8 products, at most
 *     8 * 31 * 128 = 31744, so the two results pack exactly to int16
 *     (vpackssdw) and take their 6-bit scales with one vpmaddwd.
 *   Q2_K, Q3_K, Q6_K: vector k holds elements 64k .. 64k + 63 in order
 *     (lane = 16-element sub-block); int32 lanes are at most 4 * 63 * 128 =
 *     32256: two packs, one vpmaddwd and a vpdpwssd, and one more vpdpwssd
 *     for the -off sc_j bsum_j of Q3_K / Q6_K.
 *   IQ4_XS: the lanes of Q4_K; its codes (table + 128) reach 8 * 241 * 128
 *     per lane, so its scales apply as vpmulld.
 *
 * Block scales of the 32-element types (and all fields of their activation
 * blocks) are gathered from a 128-byte window with one vpermt2w (see
 * "Windows" below).
 *
 * Tiles are R weight rows x T activation rows, as in qk_dot_avx2.c; one
 * token (decode) takes TRD rows at a time, each row decoded where it is
 * used, the arranged activation block shared by all of them, each row
 * prefetched LC_QK_PREFETCH bytes ahead and, near its end, the same place
 * of the next tile's rows (pf_base). Q4_0 / IQ4_NL, Q4_K and Q6_K have
 * decode-only forms with fewer instructions per weight byte: the Q4_0
 * codes from the scale window (vpermw), the Q4_K codes in block order with
 * the activations arranged to them, the Q6_K offset carried by the
 * activations (k4d_*, k6d_*).
 */
#include <immintrin.h>
#include <string.h>

#include "quant/qk_kernels.h"

#define LC_INLINE static inline __attribute__((always_inline))

#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 8")
#endif

/* Tile: weight rows x activation rows (3 x 8 measured best of 1..4 x 4..16
 * on Q4_0 / Q8_0 / Q4_K / Q6_K prefill, one thread: 12-15 % less CPU time
 * than 3 x 4); TRD rows of one token (decode, where each weight row is used
 * once and the arranged activation block is shared by more rows). RMAX
 * sizes the arrays. */
#define TR 3
#define TT 8
#define TRD 8
#define RMAX 8

LC_INLINE uint16_t ld16(const char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

LC_INLINE __m128i ld128(const char *p) { return _mm_loadu_si128((const __m128i *)p); }

/* Where a decode tile of R rows ws apart prefetches for the span at off of
 * its rows (rb bytes each): LC_QK_PREFETCH on in row 0 (row r: + r * ws),
 * but past the row's end the same place of the row R rows on (the next
 * tile's), not the next row, which this tile is already reading, so the
 * next tile starts on lines in cache. One address per span, the rows'
 * prefetches at fixed distances from it. */
LC_INLINE const char *pf_base(const char *w, size_t off, size_t rb, int R, size_t ws) {
    const size_t o = off + LC_QK_PREFETCH;
    return w + o + (o >= rb ? (size_t)(R - 1) * ws : 0);
}

/* Prefetch the n bytes at p (the decode tiles, at pf_base + r * ws: each
 * row is a stream read once; without it the loads of a row wait on memory
 * and the integer work does not overlap them). */
LC_INLINE void pf_at(const char *p, size_t n) {
    UNROLL
    for (size_t k = 0; k < n; k += 64) _mm_prefetch(p + k, _MM_HINT_T0);
}

/* 4 x 16 bytes at p, p + stride, ... (the first nk; the rest zero). */
LC_INLINE __m512i cat4(const char *p, size_t stride, int nk) {
    __m512i v = _mm512_zextsi128_si512(ld128(p));
    if (nk > 1) v = _mm512_inserti32x4(v, ld128(p + stride), 1);
    if (nk > 2) v = _mm512_inserti32x4(v, ld128(p + 2 * stride), 2);
    if (nk > 3) v = _mm512_inserti32x4(v, ld128(p + 3 * stride), 3);
    return v;
}

/* The f16 at p, p + stride, ... (first nk; the rest 0) as floats, each
 * repeated over the 4 int32 lanes of its block (Q8_0's d: its window would
 * take two loads more). */
LC_INLINE __m512 f16x4(const char *p, size_t stride, int nk) {
    const __m128i h = _mm_setr_epi16((short)ld16(p), nk > 1 ? (short)ld16(p + stride) : 0,
                                     nk > 2 ? (short)ld16(p + 2 * stride) : 0, nk > 3 ? (short)ld16(p + 3 * stride) : 0,
                                     0, 0, 0, 0);
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_cvtph_ps(h)));
}

/* MXFP4's e8m0 exponents at p, p + stride, ... (first nk; the rest 0) as
 * 2^(e - 128) (lc_qk_e8m0_half), each repeated over its block's 4 lanes. */
LC_INLINE float e8m0_half(uint8_t e) {
    const uint32_t bits = e >= 2 ? (uint32_t)(e - 1) << 23 : 0x00200000u << e;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

LC_INLINE __m512 e8m0x4(const char *p, size_t stride, int nk) {
    const __m128 v = _mm_setr_ps(e8m0_half((uint8_t)p[0]), nk > 1 ? e8m0_half((uint8_t)p[stride]) : 0.0f,
                                 nk > 2 ? e8m0_half((uint8_t)p[2 * stride]) : 0.0f,
                                 nk > 3 ? e8m0_half((uint8_t)p[3 * stride]) : 0.0f);
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

/* ---- Windows: fields of 4 blocks gathered with vpermt2w ------------------- */

/* The blocks of every 32-element type but MXFP4 (and of the activations)
 * are an even number of bytes long with every field at an even offset, so
 * a field of 4 consecutive blocks lies at whole 16-bit words of a 128-byte
 * window (two loads) and one vpermt2w (AVX-512 BW) gathers it into the
 * lanes the products use, where the byte-wise path needs 4 loads and 3
 * inserts per 16-byte field and 4 scalar loads per scale vector. */

/* The first n bytes at p (n <= 0: none), the rest zero; a masked load does
 * not touch the bytes it leaves out (no read past a row). */
LC_INLINE __m512i ld_first(const char *p, int n) {
    if (n >= 64) return _mm512_loadu_si512((const void *)p);
    if (n <= 0) return _mm512_setzero_si512();
    return _mm512_maskz_loadu_epi8(_cvtu64_mask64(((uint64_t)1 << n) - 1), (const void *)p);
}

/* 128 bytes from p: the first n, the rest zero. */
typedef struct {
    __m512i a, b;
} win128;

LC_INLINE win128 window(const char *p, int n) {
    const win128 w = {ld_first(p, n), ld_first(p + 64, n - 64)};
    return w;
}

/* The 32 words 0..31 (16-bit lane i holds i). */
LC_INLINE __m512i iota16(void) {
    return _mm512_set_epi64(0x001f001e001d001cLL, 0x001b001a00190018LL, 0x0017001600150014LL, 0x0013001200110010LL,
                            0x000f000e000d000cLL, 0x000b000a00090008LL, 0x0007000600050004LL, 0x0003000200010000LL);
}

/* vpermt2w indices, for blocks wb bytes apart in a window starting s bytes
 * into block 0 (wb, off - s even, 3 wb + off + 16 - s <= 128):
 * idx_bytes16: 128-bit lane k = the 16 bytes at off of block k;
 * idx_word4: 16-bit lanes 4k .. 4k + 3 = the word at off of block k (the
 *   low 256 bits: one f16 per int32 lane of the products);
 * idx_word2: lanes k and 4 + k = the two words at off of block k (Q5's qh). */
LC_INLINE __m512i idx_bytes16(int wb, int off) {
    const __m512i i = iota16();
    const __m512i k = _mm512_srli_epi16(i, 3), j = _mm512_and_si512(i, _mm512_set1_epi16(7));
    return _mm512_add_epi16(_mm512_add_epi16(_mm512_mullo_epi16(k, _mm512_set1_epi16((short)(wb / 2))), j),
                            _mm512_set1_epi16((short)(off / 2)));
}

LC_INLINE __m512i idx_word4(int wb, int off) {
    const __m512i k = _mm512_and_si512(_mm512_srli_epi16(iota16(), 2), _mm512_set1_epi16(3));
    return _mm512_add_epi16(_mm512_mullo_epi16(k, _mm512_set1_epi16((short)(wb / 2))),
                            _mm512_set1_epi16((short)(off / 2)));
}

LC_INLINE __m512i idx_word2(int wb, int off) {
    const __m512i i = iota16();
    const __m512i k = _mm512_and_si512(i, _mm512_set1_epi16(3)), h = _mm512_and_si512(_mm512_srli_epi16(i, 2), _mm512_set1_epi16(1));
    return _mm512_add_epi16(_mm512_add_epi16(_mm512_mullo_epi16(k, _mm512_set1_epi16((short)(wb / 2))), h),
                            _mm512_set1_epi16((short)(off / 2)));
}

LC_INLINE __m512i wpick(win128 w, __m512i idx) { return _mm512_permutex2var_epi16(w.a, idx, w.b); }

/* The f16 words picked by an idx_word4 index as 16 floats. */
LC_INLINE __m512 wpick_f16(win128 w, __m512i idx) { return _mm512_cvtph_ps(_mm512_castsi512_si256(wpick(w, idx))); }

/* ---- 32-element blocks, in groups of 4 ----------------------------------- */

LC_INLINE bool act_is_q8_1(lc_qk_type t) { return t == LC_QK_Q4_1 || t == LC_QK_Q5_1; }

LC_INLINE size_t wblock_bytes(lc_qk_type t) {
    switch (t) {
    case LC_QK_Q4_0: return sizeof(lc_blk_q4_0);
    case LC_QK_Q4_1: return sizeof(lc_blk_q4_1);
    case LC_QK_Q5_0: return sizeof(lc_blk_q5_0);
    case LC_QK_Q5_1: return sizeof(lc_blk_q5_1);
    case LC_QK_Q8_0: return sizeof(lc_block_q8_0);
    case LC_QK_IQ4_NL: return sizeof(lc_blk_iq4_nl);
    case LC_QK_MXFP4: return sizeof(lc_blk_mxfp4);
    case LC_QK_Q4_K: return sizeof(lc_blk_q4_K);
    case LC_QK_Q5_K: return sizeof(lc_blk_q5_K);
    default: return sizeof(lc_blk_q6_K);
    }
}

/* The offset the unsigned codes carry (subtracted as off * sum(a)). */
LC_INLINE int code_offset(lc_qk_type t) {
    switch (t) {
    case LC_QK_Q4_0: return 8;
    case LC_QK_Q5_0: return 16;
    case LC_QK_Q8_0:
    case LC_QK_IQ4_NL:
    case LC_QK_MXFP4: return 128;
    default: return 0;
    }
}

/* 4 weight blocks: lo / hi the unsigned codes of elements 0..15 / 16..31
 * (128-bit lane k = block k), d the scales per lane, m (Q4_1, Q5_1) the
 * mins in the first lane of each block. */
typedef struct {
    __m512i lo, hi;
    __m512 d, m;
} wgroup;

/* The vpermt2w indices of a type's fields (idx_word4 / idx_word2 /
 * idx_bytes16 above), made once per tile: weights wd (d), wm (Q4_1 /
 * Q5_1's m), wh (Q5's qh) and qs (the offset of the codes, read byte-wise);
 * activations aq, aq2 (the first and last 16 int8 of each block; aq2 from
 * a window 8 (Q8_0) or 16 (Q8_1) bytes in), ad (d), as (Q8_1's s). */
typedef struct {
    __m512i wd, wm, wh, aq, aq2, ad, as, qd;
    int qs;
} widx;

/* Decode (Q4_0, IQ4_NL: 18-byte blocks, 72 per group of 4): the codes of a
 * whole group from two loads, bytes 0..63 and 8..71 of the group (word i <
 * 32 of the first, 32 + i of the second), with one vpermt2w: 128-bit lane
 * k = the 16 bytes at 2 of block k. */
LC_INLINE __m512i idx_codes18(void) {
    const __m512i i = iota16();
    const __m512i k = _mm512_srli_epi16(i, 3), j = _mm512_and_si512(i, _mm512_set1_epi16(7));
    /* word offset in the group: 9k + 1 + j; block 3 (from word 28) from the second load (its word 24 + j) */
    const __m512i o = _mm512_add_epi16(_mm512_add_epi16(_mm512_mullo_epi16(k, _mm512_set1_epi16(9)), j), _mm512_set1_epi16(1));
    return _mm512_mask_add_epi16(o, _mm512_cmpge_epi16_mask(k, _mm512_set1_epi16(3)), o, _mm512_set1_epi16(32 - 4));
}

LC_INLINE widx widx_make(lc_qk_type t) {
    widx ix;
    const int wb = (int)wblock_bytes(t);
    ix.qs = 2; /* Q4_0, IQ4_NL, Q8_0 */
    if (t == LC_QK_Q4_1) ix.qs = 4;
    if (t == LC_QK_Q5_0) ix.qs = 6;
    if (t == LC_QK_Q5_1) ix.qs = 8;
    ix.wd = idx_word4(wb, 0);
    ix.wm = idx_word4(wb, 2);
    ix.wh = idx_word2(wb, t == LC_QK_Q5_1 ? 4 : 2);
    ix.qd = idx_codes18();
    if (act_is_q8_1(t)) {
        const int ab = (int)sizeof(lc_blk_q8_1);
        ix.aq = idx_bytes16(ab, 4), ix.aq2 = idx_bytes16(ab, 20 - 16), ix.ad = idx_word4(ab, 0), ix.as = idx_word4(ab, 2);
    } else {
        const int ab = (int)sizeof(lc_block_q8_0);
        ix.aq = idx_bytes16(ab, 2), ix.aq2 = idx_bytes16(ab, 18 - 8), ix.ad = idx_word4(ab, 0), ix.as = ix.ad;
    }
    return ix;
}

LC_INLINE wgroup wdecode(lc_qk_type t, const widx *ix, const char *blk, size_t wb, int nk) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    wgroup g;
    g.m = _mm512_setzero_ps();
    if (t == LC_QK_MXFP4) { /* 17-byte blocks: odd offsets, byte-wise */
        g.d = e8m0x4(blk, wb, nk);
        const __m512i x = cat4(blk + offsetof(lc_blk_mxfp4, qs), wb, nk);
        const __m512i tab = _mm512_xor_si512(
            _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lc_qk_kvalues_mxfp4)), _mm512_set1_epi8((char)0x80));
        g.lo = _mm512_shuffle_epi8(tab, _mm512_and_si512(x, m4));
        g.hi = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_srli_epi16(x, 4), m4));
        return g;
    }
    /* the codes byte-wise (4 loads of 16), the scales (and Q5's qh) from a
     * window (Q8_0's d byte-wise too): picking the codes from the window
     * as well is faster from cache but measured 20-30 % slower streaming
     * from memory (Q4_0, Q8_0 decode, one thread) */
    if (t == LC_QK_Q8_0) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        g.d = f16x4(blk, wb, nk);
        g.lo = _mm512_xor_si512(cat4(blk + offsetof(lc_block_q8_0, qs), wb, nk), flip);
        g.hi = _mm512_xor_si512(cat4(blk + offsetof(lc_block_q8_0, qs) + 16, wb, nk), flip);
        return g;
    }
    /* Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL: 16 bytes of nibbles */
    const int n = nk * (int)wb;
    const win128 w = {ld_first(blk, n), (int)wb * 3 + 8 <= 64 ? _mm512_setzero_si512() : ld_first(blk + 64, n - 64)};
    g.d = wpick_f16(w, ix->wd);
    const __m512i x = cat4(blk + ix->qs, wb, nk);
    g.lo = _mm512_and_si512(x, m4);
    g.hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
    if (t == LC_QK_Q5_0 || t == LC_QK_Q5_1) {
        /* bits 0..15 of each qh (elements 0..15) in word k, 16..31 in word
         * 4 + k: a byte mask each, bit 4 added where set */
        const __m128i h = _mm512_castsi512_si128(wpick(w, ix->wh));
        const __mmask64 ml = _cvtu64_mask64((uint64_t)_mm_cvtsi128_si64(h));
        const __mmask64 mh = _cvtu64_mask64((uint64_t)_mm_extract_epi64(h, 1));
        const __m512i b4 = _mm512_set1_epi8(0x10);
        g.lo = _mm512_mask_add_epi8(g.lo, ml, g.lo, b4);
        g.hi = _mm512_mask_add_epi8(g.hi, mh, g.hi, b4);
    }
    if (t == LC_QK_IQ4_NL) {
        /* the table's values + 128, as unsigned bytes */
        const __m512i tab = _mm512_xor_si512(
            _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lc_qk_kvalues_iq4nl)), _mm512_set1_epi8((char)0x80));
        g.lo = _mm512_shuffle_epi8(tab, g.lo);
        g.hi = _mm512_shuffle_epi8(tab, g.hi);
    }
    if (act_is_q8_1(t)) g.m = _mm512_maskz_mov_ps(0x1111, wpick_f16(w, ix->wm));
    return g;
}

/* 4 activation blocks in the lanes of wgroup; no = -off * sum(a) per int32
 * lane (the start of every accumulation), s (Q8_1) in the first lane of
 * each block. */
typedef struct {
    __m512i lo, hi, no;
    __m512 d, s;
} agroup;

LC_INLINE agroup adecode(lc_qk_type t, const widx *ix, const char *blk, size_t ab, int nk) {
    agroup g;
    const bool q81 = act_is_q8_1(t);
    const int n = nk * (int)ab, s2 = q81 ? 16 : 8;
    const win128 w = window(blk, n);
    g.lo = wpick(w, ix->aq);
    g.hi = wpick(window(blk + s2, n - s2), ix->aq2);
    g.d = wpick_f16(w, ix->ad);
    g.s = q81 ? _mm512_maskz_mov_ps(0x1111, wpick_f16(w, ix->as)) : _mm512_setzero_ps();
    const int off = code_offset(t);
    g.no = _mm512_setzero_si512();
    if (off) {
        const __m512i o = _mm512_set1_epi8((char)off);
        __m512i s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), o, g.lo), o, g.hi);
        g.no = _mm512_sub_epi32(_mm512_setzero_si512(), s);
    }
    return g;
}

LC_INLINE __m512 pair32(lc_qk_type t, const wgroup *W, const agroup *A, __m512 acc) {
    __m512i i = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(A->no, W->lo, A->lo), W->hi, A->hi);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(W->d, A->d), acc);
    if (act_is_q8_1(t)) acc = _mm512_fmadd_ps(W->m, A->s, acc);
    return acc;
}

/* One group of nk (1..4) blocks starting at block b into acc. */
LC_INLINE void group32(lc_qk_type t, const widx *ix, int R, int T, const char *w, size_t ws, const char *a,
                       size_t as, int64_t b, int nk, int64_t nb, __m512 acc[RMAX][TT]) {
    const size_t rb = (size_t)nb * wblock_bytes(t);
    const size_t wb = wblock_bytes(t), ab = act_is_q8_1(t) ? sizeof(lc_blk_q8_1) : sizeof(lc_block_q8_0);
    if (T == 1 && nk == 4 && (t == LC_QK_Q4_0 || t == LC_QK_IQ4_NL)) {
        const agroup A = adecode(t, ix, a + (size_t)b * ab, ab, nk);
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        const char *pfb = pf_base(w, (size_t)b * wb, rb, R, ws);
        UNROLL
        for (int r = 0; r < R; r++) {
            const char *blk = w + (size_t)r * ws + (size_t)b * wb;
            pf_at(pfb + (size_t)r * ws, 4 * wb);
            const __m512i x0 = _mm512_loadu_si512((const void *)blk);
            wgroup W;
            W.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(ix->wd, x0)));
            const __m512i x = _mm512_inserti32x4(_mm512_permutexvar_epi16(ix->qd, x0), ld128(blk + 56), 3);
            W.lo = _mm512_and_si512(x, m4);
            W.hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
            if (t == LC_QK_IQ4_NL) {
                const __m512i tab = _mm512_xor_si512(
                    _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lc_qk_kvalues_iq4nl)), _mm512_set1_epi8((char)0x80));
                W.lo = _mm512_shuffle_epi8(tab, W.lo);
                W.hi = _mm512_shuffle_epi8(tab, W.hi);
            }
            W.m = _mm512_setzero_ps();
            acc[r][0] = pair32(t, &W, &A, acc[r][0]);
        }
        return;
    }
    if (T == 1) { /* each row used once: decoded where it is used */
        const agroup A = adecode(t, ix, a + (size_t)b * ab, ab, nk);
        const char *pfb = pf_base(w, (size_t)b * wb, rb, R, ws);
        UNROLL
        for (int r = 0; r < R; r++) {
            pf_at(pfb + (size_t)r * ws, 4 * wb);
            const wgroup W = wdecode(t, ix, w + (size_t)r * ws + (size_t)b * wb, wb, nk);
            acc[r][0] = pair32(t, &W, &A, acc[r][0]);
        }
        return;
    }
    wgroup W[RMAX];
    UNROLL
    for (int r = 0; r < R; r++) W[r] = wdecode(t, ix, w + (size_t)r * ws + (size_t)b * wb, wb, nk);
    UNROLL
    for (int j = 0; j < T; j++) {
        const agroup A = adecode(t, ix, a + (size_t)j * as + (size_t)b * ab, ab, nk);
        UNROLL
        for (int r = 0; r < R; r++) acc[r][j] = pair32(t, &W[r], &A, acc[r][j]);
    }
}

LC_INLINE void tile32(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb,
                      float *out, size_t ldo) {
    __m512 acc[RMAX][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = _mm512_setzero_ps();
    const widx ix = widx_make(t);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) group32(t, &ix, R, T, w, ws, a, as, b, 4, nb, acc);
    if (b < nb) group32(t, &ix, R, T, w, ws, a, as, b, (int)(nb - b), nb, acc);
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* ---- Q4_K / Q5_K ------------------------------------------------------------ */

/* Q4_K / Q5_K: 12 bytes of packed 6-bit scales and mins -> bytes 0..7 the
 * scales, bytes 8..15 the mins (as lc_qk_q4k_scale_min), in vector
 * registers (p[12..15], the next field of the block, is read and dropped):
 * bytes 0..3 of the answer are s0..3 & 63, 4..7 (s8..11 & 15) | (s0..3 >> 6)
 * << 4, 8..11 s4..7 & 63, 12..15 (s8..11 >> 4) | (s4..7 >> 6) << 4. */
LC_INLINE __m128i q4k_unpack(const uint8_t *p) {
    const __m128i s = _mm_loadu_si128((const __m128i *)p);
    const __m128i a = _mm_shuffle_epi8(s, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    const __m128i b = _mm_shuffle_epi8(s, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
    /* bytes 12..15 take the high nibbles of s8..11 (16-bit shift, masked) */
    const __m128i lo = _mm_and_si128(_mm_srlv_epi16(a, _mm_setr_epi16(0, 0, 0, 0, 0, 0, 4, 4)),
                                     _mm_setr_epi8(0x3f, 0x3f, 0x3f, 0x3f, 0x0f, 0x0f, 0x0f, 0x0f, 0x3f, 0x3f, 0x3f,
                                                   0x3f, 0x0f, 0x0f, 0x0f, 0x0f));
    /* bits 6, 7 of b to bits 4, 5 */
    return _mm_or_si128(lo, _mm_and_si128(_mm_srli_epi16(b, 2), _mm_set1_epi8(0x30)));
}

/* Q3_K: 12 bytes -> 16 unsigned 6-bit scales (lc_qk_q3k_scales before -32). */
LC_INLINE __m128i q3k_unpack(const uint8_t *p) {
    uint32_t u[3], o[4];
    memcpy(u, p, 12);
    o[0] = (u[0] & 0x0f0f0f0fu) | ((u[2] & 0x03030303u) << 4);
    o[1] = (u[1] & 0x0f0f0f0fu) | (((u[2] >> 2) & 0x03030303u) << 4);
    o[2] = ((u[0] >> 4) & 0x0f0f0f0fu) | (((u[2] >> 4) & 0x03030303u) << 4);
    o[3] = ((u[1] >> 4) & 0x0f0f0f0fu) | (((u[2] >> 6) & 0x03030303u) << 4);
    return _mm_loadu_si128((const __m128i *)o);
}

/* One row's super-block: the codes in 4 vectors (lanes: sub-blocks 0..3
 * first halves, their second halves, 4..7 first, 4..7 second), the scales
 * as int16 in the lanes of pack(first pair, second pair), the mins times
 * dmin as 16 floats (one per 16-element activation sum) and d. */
typedef struct {
    __m512i q[4], sc;
    __m512 mins;
    __m512 d;
} k45row;

LC_INLINE k45row k45_decode(lc_qk_type t, const char *blk) {
    k45row k;
    const uint8_t *scales, *qs;
    if (t == LC_QK_Q4_K) {
        const lc_blk_q4_K *x = (const lc_blk_q4_K *)blk;
        scales = x->scales, qs = x->qs;
    } else {
        const lc_blk_q5_K *x = (const lc_blk_q5_K *)blk;
        scales = x->scales, qs = x->qs;
    }
    /* d and dmin, the first two f16 of the block, converted together */
    uint32_t ddm;
    memcpy(&ddm, blk, 4);
    const __m512 dd = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128((int)ddm)));
    const __m128i sm = q4k_unpack(scales);
    /* int16 lane i (128-bit lane i / 8): scale (i / 8) + 4 (i % 8 >= 4) */
    const __m256i sidx = _mm256_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 1, 1, 1, 1, 5, 5, 5, 5, 2, 2, 2, 2, 6, 6, 6, 6, 3, 3,
                                          3, 3, 7, 7, 7, 7);
    k.sc = _mm512_cvtepu8_epi16(_mm256_shuffle_epi8(_mm256_broadcastsi128_si256(sm), sidx));
    const __m128i dup = _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
    k.mins = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(dup)), _mm512_permutexvar_ps(_mm512_set1_epi32(1), dd));
    k.d = _mm512_broadcastss_ps(_mm512_castps512_ps128(dd));
    /* 128-bit lanes 1 and 3 take the high nibbles */
    const __m512i cnt = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0, 0x0004000400040004LL,
                                         0x0004000400040004LL, 0, 0);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i x0 = _mm512_loadu_si512((const void *)qs), x1 = _mm512_loadu_si512((const void *)(qs + 64));
    k.q[0] = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(x0, x0, _MM_SHUFFLE(2, 2, 0, 0)), cnt), m4);
    k.q[1] = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(x0, x0, _MM_SHUFFLE(3, 3, 1, 1)), cnt), m4);
    k.q[2] = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(x1, x1, _MM_SHUFFLE(2, 2, 0, 0)), cnt), m4);
    k.q[3] = _mm512_and_si512(_mm512_srlv_epi16(_mm512_shuffle_i64x2(x1, x1, _MM_SHUFFLE(3, 3, 1, 1)), cnt), m4);
    if (t == LC_QK_Q5_K) {
        /* bit c of qh[l] is the high bit of element l of sub-block c: lane k
         * of q[0], q[1] takes bit k (shifted left 4 - k to bit 4), of q[2],
         * q[3] bit 4 + k (shifted right k) */
        const lc_blk_q5_K *x = (const lc_blk_q5_K *)blk;
        const __m512i h0 = _mm512_broadcast_i32x4(ld128((const char *)x->qh));
        const __m512i h1 = _mm512_broadcast_i32x4(ld128((const char *)x->qh + 16));
        const __m512i left = _mm512_set_epi64(0x0001000100010001LL, 0x0001000100010001LL, 0x0002000200020002LL,
                                              0x0002000200020002LL, 0x0003000300030003LL, 0x0003000300030003LL,
                                              0x0004000400040004LL, 0x0004000400040004LL);
        const __m512i right = _mm512_set_epi64(0x0003000300030003LL, 0x0003000300030003LL, 0x0002000200020002LL,
                                               0x0002000200020002LL, 0x0001000100010001LL, 0x0001000100010001LL, 0, 0);
        const __m512i b4 = _mm512_set1_epi8(0x10);
        k.q[0] = _mm512_or_si512(k.q[0], _mm512_and_si512(_mm512_sllv_epi16(h0, left), b4));
        k.q[1] = _mm512_or_si512(k.q[1], _mm512_and_si512(_mm512_sllv_epi16(h1, left), b4));
        k.q[2] = _mm512_or_si512(k.q[2], _mm512_and_si512(_mm512_srlv_epi16(h0, right), b4));
        k.q[3] = _mm512_or_si512(k.q[3], _mm512_and_si512(_mm512_srlv_epi16(h1, right), b4));
    }
    return k;
}

/* One token's super-block for Q4_K / Q5_K: the activations in the lanes of
 * k45row.q, the 16 block sums times d as floats, d. */
typedef struct {
    __m512i q[4], bsi; /* bsi: the 16 block sums as int16 (IQ4_XS), upper half zero */
    __m512 bs, d;
} k45act;

LC_INLINE k45act k45_act(const lc_blk_q8_K *y) {
    k45act a;
    const __m512i y0 = _mm512_loadu_si512((const void *)y->qs), y1 = _mm512_loadu_si512((const void *)(y->qs + 64));
    const __m512i y2 = _mm512_loadu_si512((const void *)(y->qs + 128)),
                  y3 = _mm512_loadu_si512((const void *)(y->qs + 192));
    a.q[0] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(2, 0, 2, 0));
    a.q[1] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(3, 1, 3, 1));
    a.q[2] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(2, 0, 2, 0));
    a.q[3] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(3, 1, 3, 1));
    a.d = _mm512_set1_ps(y->d);
    a.bs = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)y->bsums))), a.d);
    a.bsi = _mm512_maskz_loadu_epi16(0xFFFF, y->bsums);
    return a;
}

LC_INLINE __m512 pair45(const k45row *W, const k45act *A, __m512 acc) {
    const __m512i z = _mm512_setzero_si512();
    __m512i lo = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, W->q[0], A->q[0]), W->q[1], A->q[1]);
    __m512i hi = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, W->q[2], A->q[2]), W->q[3], A->q[3]);
    __m512i is = _mm512_madd_epi16(_mm512_packs_epi32(lo, hi), W->sc);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(W->d, A->d), acc);
    return _mm512_fnmadd_ps(W->mins, A->bs, acc);
}

/* Q4_K, one token (decode): each row is used once, so the codes stay in the
 * order of the block (no lane shuffles) and the activations are arranged
 * to them once per super-block for all rows. The low nibbles of qs[0..63]
 * are sub-blocks 0 (128-bit lanes 0, 1) and 2 (lanes 2, 3), the high ones
 * sub-blocks 1 and 3; qs[64..127] likewise 4, 6 and 5, 7. Each vpdpbusd
 * (from zero: int32 lanes of 4 products, at most 4 * 15 * 128) packs to
 * int16 with its neighbour; a lane of pack(r0, r1) holds sub-blocks
 * (0, 1, 0, 1, 2, 3, 2, 3) x 4 words, of pack(r2, r3) 4 more. */
typedef struct {
    __m512i q[4];
    __m512i bs; /* int16 words 8..15: the 8 sums of 32 activations, the rest 0 */
    __m512 d;
} k4dact;

LC_INLINE k4dact k4d_act(const lc_blk_q8_K *y) {
    k4dact a;
    const __m512i y0 = _mm512_loadu_si512((const void *)y->qs), y1 = _mm512_loadu_si512((const void *)(y->qs + 64));
    const __m512i y2 = _mm512_loadu_si512((const void *)(y->qs + 128)),
                  y3 = _mm512_loadu_si512((const void *)(y->qs + 192));
    a.q[0] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(1, 0, 1, 0));
    a.q[1] = _mm512_shuffle_i64x2(y0, y1, _MM_SHUFFLE(3, 2, 3, 2));
    a.q[2] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(1, 0, 1, 0));
    a.q[3] = _mm512_shuffle_i64x2(y2, y3, _MM_SHUFFLE(3, 2, 3, 2));
    /* pairs of 16-sums (at most 32 * 128 in magnitude: int16) */
    const __m256i b16 = _mm256_loadu_si256((const __m256i *)y->bsums);
    const __m256i b32 = _mm256_madd_epi16(b16, _mm256_set1_epi16(1));
    const __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(b32), _mm256_extracti128_si256(b32, 1));
    a.bs = _mm512_zextsi256_si512(_mm256_inserti128_si256(_mm256_setzero_si256(), p, 1));
    a.d = _mm512_set1_ps(y->d);
    return a;
}

/* The 8 scales (words 0..7) and 8 mins (words 8..15) of a Q4_K / Q5_K
 * block as int16, from its 12 packed bytes s (lc_qk_q4k_scale_min): word
 * w holds bytes lo | hi << 8 (shuffled from s), shifted right by 0 or 4;
 * the low bits (6 for j < 4, 4 for j >= 4) come from it, bits 4, 5 of
 * j >= 4 from the word shifted right by 10 (bits 6, 7 of hi). */
LC_INLINE __m256i k4d_scales(const uint8_t *sp) {
    const __m256i s = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)sp));
    const __m256i idx = _mm256_setr_epi8(0, -1, 1, -1, 2, -1, 3, -1, 8, 0, 9, 1, 10, 2, 11, 3, /* scales */
                                         4, -1, 5, -1, 6, -1, 7, -1, 8, 4, 9, 5, 10, 6, 11, 7); /* mins */
    const __m256i w = _mm256_shuffle_epi8(s, idx);
    const __m256i u = _mm256_srlv_epi16(w, _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4));
    const __m256i c = _mm256_setr_epi16(0x3f, 0x3f, 0x3f, 0x3f, 0x0f, 0x0f, 0x0f, 0x0f, 0x3f, 0x3f, 0x3f, 0x3f, 0x0f,
                                        0x0f, 0x0f, 0x0f);
    return _mm256_ternarylogic_epi32(c, u, _mm256_srli_epi16(w, 10), 0xCA); /* c ? u : w >> 10 */
}

LC_INLINE __m512 k4d_row(const char *blk, const k4dact *A, __m512 acc) {
    const lc_blk_q4_K *x = (const lc_blk_q4_K *)blk;
    const __m512i m4 = _mm512_set1_epi8(0x0F), z = _mm512_setzero_si512();
    const __m512i x0 = _mm512_loadu_si512((const void *)x->qs), x1 = _mm512_loadu_si512((const void *)(x->qs + 64));
    const __m512i r0 = _mm512_dpbusd_epi32(z, _mm512_and_si512(x0, m4), A->q[0]);
    const __m512i r1 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(x0, 4), m4), A->q[1]);
    const __m512i r2 = _mm512_dpbusd_epi32(z, _mm512_and_si512(x1, m4), A->q[2]);
    const __m512i r3 = _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(x1, 4), m4), A->q[3]);
    const __m512i sm = _mm512_zextsi256_si512(k4d_scales(x->scales));
    const __m512i i01 = _mm512_set_epi64(0x0003000300030003LL, 0x0002000200020002LL, 0x0003000300030003LL,
                                         0x0002000200020002LL, 0x0001000100010001LL, 0x0000000000000000LL,
                                         0x0001000100010001LL, 0x0000000000000000LL);
    const __m512i sc01 = _mm512_permutexvar_epi16(i01, sm);
    const __m512i sc23 = _mm512_permutexvar_epi16(_mm512_add_epi16(i01, _mm512_set1_epi16(4)), sm);
    __m512i is = _mm512_madd_epi16(_mm512_packs_epi32(r0, r1), sc01);
    is = _mm512_dpwssd_epi32(is, _mm512_packs_epi32(r2, r3), sc23);
    const __m512i im = _mm512_madd_epi16(sm, A->bs); /* sum m_j bsum_j, in int32 lanes 4..7 */
    uint32_t ddm;
    memcpy(&ddm, blk, 4);
    const __m512 dd = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_set1_epi32((int)ddm)), A->d); /* d, dmin alternating */
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_permutexvar_ps(_mm512_setzero_si512(), dd), acc);
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(im), _mm512_permutexvar_ps(_mm512_set1_epi32(1), dd), acc);
}

LC_INLINE void tilek45(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb,
                       float *out, size_t ldo) {
    const size_t wb = wblock_bytes(t);
    __m512 acc[RMAX][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (T == 1 && t == LC_QK_Q4_K) { /* each row used once, in the order of its block */
            const k4dact A = k4d_act((const lc_blk_q8_K *)a + b);
            const char *pfb = pf_base(w, (size_t)b * wb, (size_t)nb * wb, R, ws);
            UNROLL
            for (int r = 0; r < R; r++) {
                pf_at(pfb + (size_t)r * ws, wb);
                acc[r][0] = k4d_row(w + (size_t)r * ws + (size_t)b * wb, &A, acc[r][0]);
            }
            continue;
        }
        if (T == 1) { /* each row used once: decoded where it is used */
            const k45act A = k45_act((const lc_blk_q8_K *)a + b);
            const char *pfb = pf_base(w, (size_t)b * wb, (size_t)nb * wb, R, ws);
            UNROLL
            for (int r = 0; r < R; r++) {
                pf_at(pfb + (size_t)r * ws, wb);
                const k45row W = k45_decode(t, w + (size_t)r * ws + (size_t)b * wb);
                acc[r][0] = pair45(&W, &A, acc[r][0]);
            }
            continue;
        }
        k45row W[RMAX];
        UNROLL
        for (int r = 0; r < R; r++) W[r] = k45_decode(t, w + (size_t)r * ws + (size_t)b * wb);
        UNROLL
        for (int j = 0; j < T; j++) {
            const k45act A = k45_act((const lc_blk_q8_K *)(a + (size_t)j * as) + b);
            UNROLL
            for (int r = 0; r < R; r++) acc[r][j] = pair45(&W[r], &A, acc[r][j]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* ---- IQ4_XS ----------------------------------------------------------------- */

/* One row's super-block: the table values + 128 (unsigned) in the lanes of
 * k45act (q[0], q[1]: sub-blocks 0..3, elements 0..15 then 16..31 of each;
 * q[2], q[3]: sub-blocks 4..7); the signed scales ls - 32 per int32 lane
 * (sclo: sub-blocks 0..3, schi: 4..7); -128 (ls - 32) per 16-element
 * activation sum in the first 16 int16 lanes of nc; d. The int32 lanes
 * (up to 8 * 241 * 128) do not fit int16: the scales apply as vpmulld. */
typedef struct {
    __m512i q[4], sclo, schi, nc;
    __m512 d;
} kxsrow;

LC_INLINE kxsrow kxs_decode(const char *blk) {
    const lc_blk_iq4_xs *x = (const lc_blk_iq4_xs *)blk;
    kxsrow k;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i tab = _mm512_xor_si512(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)lc_qk_kvalues_iq4nl)),
                                         _mm512_set1_epi8((char)0x80));
    UNROLL
    for (int h = 0; h < 2; h++) {
        const __m512i v = _mm512_loadu_si512((const void *)(x->qs + 64 * h));
        k.q[2 * h] = _mm512_shuffle_epi8(tab, _mm512_and_si512(v, m4));
        k.q[2 * h + 1] = _mm512_shuffle_epi8(tab, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
    }
    uint64_t sc = 0;
    for (int j = 0; j < 8; j++) {
        int ls = ((x->scales_l[j / 2] >> (4 * (j % 2))) & 0xF) | (((x->scales_h >> (2 * j)) & 3) << 4);
        sc |= (uint64_t)(uint8_t)(ls - 32) << (8 * j);
    }
    const __m128i s8 = _mm_cvtsi64_si128((long long)sc);
    k.sclo = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8, _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)));
    k.schi = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(s8, _mm_setr_epi8(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7)));
    const __m128i s16 = _mm_shuffle_epi8(s8, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    const __m512i w16 = _mm512_cvtepi8_epi16(_mm256_zextsi128_si256(s16));
    k.nc = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(w16, 7));
    k.d = _mm512_set1_ps(_cvtsh_ss(x->d));
    return k;
}

LC_INLINE __m512 pairxs(const kxsrow *W, const k45act *A, __m512 acc) {
    const __m512i z = _mm512_setzero_si512();
    __m512i lo = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, W->q[0], A->q[0]), W->q[1], A->q[1]);
    __m512i hi = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, W->q[2], A->q[2]), W->q[3], A->q[3]);
    __m512i is = _mm512_add_epi32(_mm512_mullo_epi32(lo, W->sclo), _mm512_mullo_epi32(hi, W->schi));
    is = _mm512_dpwssd_epi32(is, A->bsi, W->nc);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(W->d, A->d), acc);
}

LC_INLINE void tilexs(int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *out,
                      size_t ldo) {
    const size_t wb = sizeof(lc_blk_iq4_xs);
    __m512 acc[RMAX][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (T == 1) { /* each row used once: decoded where it is used */
            const k45act A = k45_act((const lc_blk_q8_K *)a + b);
            const char *pfb = pf_base(w, (size_t)b * wb, (size_t)nb * wb, R, ws);
            UNROLL
            for (int r = 0; r < R; r++) {
                pf_at(pfb + (size_t)r * ws, wb);
                const kxsrow W = kxs_decode(w + (size_t)r * ws + (size_t)b * wb);
                acc[r][0] = pairxs(&W, &A, acc[r][0]);
            }
            continue;
        }
        kxsrow W[RMAX];
        UNROLL
        for (int r = 0; r < R; r++) W[r] = kxs_decode(w + (size_t)r * ws + (size_t)b * wb);
        UNROLL
        for (int j = 0; j < T; j++) {
            const k45act A = k45_act((const lc_blk_q8_K *)(a + (size_t)j * as) + b);
            UNROLL
            for (int r = 0; r < R; r++) acc[r][j] = pairxs(&W[r], &A, acc[r][j]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* ---- Q2_K, Q3_K, Q6_K: 16 sub-blocks of 16 ---------------------------------- */

/* One row's super-block: the unsigned codes of elements 64k .. 64k + 63 in
 * q[k] (Q2_K 0..3, Q3_K 0..7 (w + 4), Q6_K 0..63 (w + 32)), so each int32
 * lane of a vpdpbusd holds 4 products of one sub-block (at most
 * 4 * 63 * 128, int16 after vpackssdw); the scales as int16 in the lanes of
 * pack(q0, q1) and pack(q2, q3); the offset as -off sc_j in the first 16
 * int16 lanes of nc (Q3_K, Q6_K); the mins times dmin as 16 floats (Q2_K);
 * d. */
typedef struct {
    __m512i q[4], sc01, sc23, nc;
    __m512 mins, d;
} k16row;

LC_INLINE __m512i bcast32(const uint8_t *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

/* 16-bit shift counts: c0 in the lower 256 bits, c1 in the upper. */
LC_INLINE __m512i counts2(long long c0, long long c1) {
    const long long a = c0 * 0x0001000100010001LL, b = c1 * 0x0001000100010001LL;
    return _mm512_set_epi64(b, b, b, b, a, a, a, a);
}

LC_INLINE k16row k16_decode(lc_qk_type t, const char *blk) {
    k16row k;
    k.nc = _mm512_setzero_si512();
    k.mins = _mm512_setzero_ps();
    __m128i s8; /* the 16 scales as int8 */
    if (t == LC_QK_Q6_K) {
        const lc_blk_q6_K *x = (const lc_blk_q6_K *)blk;
        const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
        /* qh bits 2k, 2k + 1 to bits 4, 5: elements 0..31 of a half shift
         * left 4, 32..63 left 2, 64..95 not at all, 96..127 right 2 */
        UNROLL
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512((const void *)(x->ql + 64 * h));
            const __m512i qh = bcast32(x->qh + 32 * h);
            /* (a & m4) | b as one vpternlog (0xEC: a = the nibbles, b = the
             * masked high bits, c = m4) */
            k.q[2 * h] = _mm512_ternarylogic_epi32(l, _mm512_and_si512(_mm512_sllv_epi16(qh, counts2(4, 2)), m30), m4, 0xEC);
            k.q[2 * h + 1] = _mm512_ternarylogic_epi32(
                _mm512_srli_epi16(l, 4), _mm512_and_si512(_mm512_srlv_epi16(qh, counts2(0, 2)), m30), m4, 0xEC);
        }
        s8 = _mm_loadu_si128((const __m128i *)x->scales);
        k.d = _mm512_set1_ps(_cvtsh_ss(x->d));
    } else {
        /* Q2_K / Q3_K: element l of chunk c (h = c / 4, k = c % 4) has
         * bits 2k, 2k + 1 of qs[32 h + l]; q[2h + m] holds chunks 4h + 2m
         * (lower 256 bits) and 4h + 2m + 1 (upper) */
        const uint8_t *qs = t == LC_QK_Q2_K ? ((const lc_blk_q2_K *)blk)->qs : ((const lc_blk_q3_K *)blk)->qs;
        const __m512i m2 = _mm512_set1_epi8(3), m1 = _mm512_set1_epi8(1);
        UNROLL
        for (int h = 0; h < 2; h++) {
            const __m512i v = bcast32(qs + 32 * h);
            UNROLL
            for (int m = 0; m < 2; m++) {
                k.q[2 * h + m] = _mm512_and_si512(_mm512_srlv_epi16(v, counts2(4 * m, 4 * m + 2)), m2);
                if (t == LC_QK_Q3_K) {
                    /* the high bit of chunk c is bit c of hmask[l], to bit 2 */
                    const __m512i hm = bcast32(((const lc_blk_q3_K *)blk)->hmask);
                    const __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(hm, counts2(4 * h + 2 * m, 4 * h + 2 * m + 1)), m1);
                    k.q[2 * h + m] = _mm512_or_si512(k.q[2 * h + m], _mm512_slli_epi16(hi, 2));
                }
            }
        }
        if (t == LC_QK_Q2_K) {
            const lc_blk_q2_K *x = (const lc_blk_q2_K *)blk;
            const __m128i raw = _mm_loadu_si128((const __m128i *)x->scales);
            s8 = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
            const __m128i mn = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
            k.mins = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mn)), _mm512_set1_ps(_cvtsh_ss(x->dmin)));
            k.d = _mm512_set1_ps(_cvtsh_ss(x->d));
        } else {
            const lc_blk_q3_K *x = (const lc_blk_q3_K *)blk;
            s8 = _mm_sub_epi8(q3k_unpack(x->scales), _mm_set1_epi8(32));
            k.d = _mm512_set1_ps(_cvtsh_ss(x->d));
        }
    }
    const __m256i sb = _mm256_broadcastsi128_si256(s8);
    /* pack(q0, q1) lane l: sub-blocks l (x4), 4 + l (x4); pack(q2, q3): 8 + l, 12 + l */
    const __m256i i01 = _mm256_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 1, 1, 1, 1, 5, 5, 5, 5, 2, 2, 2, 2, 6, 6, 6, 6, 3, 3,
                                         3, 3, 7, 7, 7, 7);
    k.sc01 = _mm512_cvtepi8_epi16(_mm256_shuffle_epi8(sb, i01));
    k.sc23 = _mm512_cvtepi8_epi16(_mm256_shuffle_epi8(sb, _mm256_add_epi8(i01, _mm256_set1_epi8(8))));
    if (t != LC_QK_Q2_K) {
        const __m512i sc16 = _mm512_cvtepi8_epi16(_mm256_zextsi128_si256(s8));
        k.nc = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(sc16, t == LC_QK_Q6_K ? 5 : 2));
    }
    return k;
}

/* One token's super-block: the activations in order, the 16 block sums
 * (int16, upper half zero; Q2_K: as floats times d), d. */
typedef struct {
    __m512i q[4], bs;
    __m512 bsf, d;
} k16act;

LC_INLINE k16act k16_act(const lc_blk_q8_K *y) {
    k16act a;
    UNROLL
    for (int k = 0; k < 4; k++) a.q[k] = _mm512_loadu_si512((const void *)(y->qs + 64 * k));
    a.bs = _mm512_maskz_loadu_epi16(0xFFFF, y->bsums);
    a.d = _mm512_set1_ps(y->d);
    a.bsf = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)y->bsums))), a.d);
    return a;
}

LC_INLINE __m512 pair16(lc_qk_type t, const k16row *W, const k16act *A, __m512 acc) {
    const __m512i z = _mm512_setzero_si512();
    __m512i p01 = _mm512_packs_epi32(_mm512_dpbusd_epi32(z, W->q[0], A->q[0]), _mm512_dpbusd_epi32(z, W->q[1], A->q[1]));
    __m512i p23 = _mm512_packs_epi32(_mm512_dpbusd_epi32(z, W->q[2], A->q[2]), _mm512_dpbusd_epi32(z, W->q[3], A->q[3]));
    __m512i is = _mm512_madd_epi16(p01, W->sc01);
    is = _mm512_dpwssd_epi32(is, p23, W->sc23);
    if (t != LC_QK_Q2_K) is = _mm512_dpwssd_epi32(is, A->bs, W->nc);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(W->d, A->d), acc);
    if (t == LC_QK_Q2_K) acc = _mm512_fnmadd_ps(W->mins, A->bsf, acc);
    return acc;
}

/* Q6_K, one token (decode): the offset 32 leaves through the activations,
 * as for Q4_0: each vpdpbusd starts from -32 times the sum of the 4
 * activations of its int32 lane (made once per super-block for all rows),
 * so its lanes hold sums of (q - 32) a, at most 4 * 32 * 128 (int16 after
 * vpackssdw), and the -32 sc_j bsum_j term of pair16 is not needed. The
 * scales go to int16 once and to the lanes of the packs with vpermw. */
typedef struct {
    __m512i q[4], no[4];
    __m512 d;
} k6dact;

LC_INLINE k6dact k6d_act(const lc_blk_q8_K *y) {
    k6dact a;
    const __m512i c32 = _mm512_set1_epi8(32), z = _mm512_setzero_si512();
    UNROLL
    for (int k = 0; k < 4; k++) {
        a.q[k] = _mm512_loadu_si512((const void *)(y->qs + 64 * k));
        a.no[k] = _mm512_sub_epi32(z, _mm512_dpbusd_epi32(z, c32, a.q[k]));
    }
    a.d = _mm512_set1_ps(y->d);
    return a;
}

LC_INLINE __m512 k6d_row(const char *blk, const k6dact *A, __m512 acc) {
    const k16row W = k16_decode(LC_QK_Q6_K, blk);
    const lc_blk_q6_K *x = (const lc_blk_q6_K *)blk;
    const __m512i s16 = _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales)));
    /* word i of 128-bit lane l: sub-block l (i < 4) or 4 + l (pack(r0, r1)) */
    const __m512i i01 = _mm512_set_epi64(0x0007000700070007LL, 0x0003000300030003LL, 0x0006000600060006LL,
                                         0x0002000200020002LL, 0x0005000500050005LL, 0x0001000100010001LL,
                                         0x0004000400040004LL, 0x0000000000000000LL);
    const __m512i sc01 = _mm512_permutexvar_epi16(i01, s16);
    const __m512i sc23 = _mm512_permutexvar_epi16(_mm512_add_epi16(i01, _mm512_set1_epi16(8)), s16);
    const __m512i p01 = _mm512_packs_epi32(_mm512_dpbusd_epi32(A->no[0], W.q[0], A->q[0]),
                                           _mm512_dpbusd_epi32(A->no[1], W.q[1], A->q[1]));
    const __m512i p23 = _mm512_packs_epi32(_mm512_dpbusd_epi32(A->no[2], W.q[2], A->q[2]),
                                           _mm512_dpbusd_epi32(A->no[3], W.q[3], A->q[3]));
    const __m512i is = _mm512_dpwssd_epi32(_mm512_madd_epi16(p01, sc01), p23, sc23);
    const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_set1_epi16((short)x->d)), A->d);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), d, acc);
}

LC_INLINE void tilek16(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb,
                       float *out, size_t ldo) {
    const size_t wb = t == LC_QK_Q2_K ? sizeof(lc_blk_q2_K) : t == LC_QK_Q3_K ? sizeof(lc_blk_q3_K) : sizeof(lc_blk_q6_K);
    __m512 acc[RMAX][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (T == 1 && t == LC_QK_Q6_K) {
            const k6dact A = k6d_act((const lc_blk_q8_K *)a + b);
            const char *pfb = pf_base(w, (size_t)b * wb, (size_t)nb * wb, R, ws);
            UNROLL
            for (int r = 0; r < R; r++) {
                pf_at(pfb + (size_t)r * ws, wb);
                acc[r][0] = k6d_row(w + (size_t)r * ws + (size_t)b * wb, &A, acc[r][0]);
            }
            continue;
        }
        if (T == 1) { /* each row used once: decoded where it is used */
            const k16act A = k16_act((const lc_blk_q8_K *)a + b);
            const char *pfb = pf_base(w, (size_t)b * wb, (size_t)nb * wb, R, ws);
            UNROLL
            for (int r = 0; r < R; r++) {
                pf_at(pfb + (size_t)r * ws, wb);
                const k16row W = k16_decode(t, w + (size_t)r * ws + (size_t)b * wb);
                acc[r][0] = pair16(t, &W, &A, acc[r][0]);
            }
            continue;
        }
        k16row W[RMAX];
        UNROLL
        for (int r = 0; r < R; r++) W[r] = k16_decode(t, w + (size_t)r * ws + (size_t)b * wb);
        UNROLL
        for (int j = 0; j < T; j++) {
            const k16act A = k16_act((const lc_blk_q8_K *)(a + (size_t)j * as) + b);
            UNROLL
            for (int r = 0; r < R; r++) acc[r][j] = pair16(t, &W[r], &A, acc[r][j]);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = _mm512_reduce_add_ps(acc[r][j]);
}

/* ---- Instantiation --------------------------------------------------------- */

typedef void (*tile_part_fn)(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *out, size_t ldo);

/* Cover an nr x nt tile with TR x TT parts and 1-wide edges (one token:
 * TRD x 1 parts). */
static void tile_drive(tile_part_fn full, tile_part_fn rows1, tile_part_fn tok1, tile_part_fn dec, tile_part_fn one,
                       const char *w, size_t ws, int nr, const char *a, size_t as, int nt, int64_t nb, float *out,
                       size_t ldo) {
    int r = 0;
    if (nt == 1) {
        for (; r + TRD <= nr; r += TRD) dec(w + (size_t)r * ws, ws, a, as, nb, out + r, ldo);
        for (; r < nr; r++) one(w + (size_t)r * ws, ws, a, as, nb, out + r, ldo);
        return;
    }
    for (; r + TR <= nr; r += TR) {
        int j = 0;
        for (; j + TT <= nt; j += TT) full(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
        for (; j < nt; j++) tok1(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
    }
    for (; r < nr; r++) {
        int j = 0;
        for (; j + TT <= nt; j += TT) rows1(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
        for (; j < nt; j++) one(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
    }
}

/* The four tile shapes of one kernel, the tile entry and the 1 x 1 dot:
 * CALL(R, T) expands to the kernel call for an R x T part. */
#define LC_QK_KERNELS(NAME, BLK, CALL)                                                                              \
    static void NAME##_full(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) { \
        CALL(TR, TT);                                                                                              \
    }                                                                                                              \
    static void NAME##_r1(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        CALL(1, TT);                                                                                               \
    }                                                                                                              \
    static void NAME##_t1(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        CALL(TR, 1);                                                                                               \
    }                                                                                                              \
    static void NAME##_d1(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        CALL(TRD, 1);                                                                                              \
    }                                                                                                              \
    static void NAME##_11(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        CALL(1, 1);                                                                                                \
    }                                                                                                              \
    static void NAME##_tile(const void *w, size_t ws, int nr, const void *a, size_t as, int nt, int64_t n,         \
                            float *out, size_t ldo) {                                                              \
        tile_drive(NAME##_full, NAME##_r1, NAME##_t1, NAME##_d1, NAME##_11, (const char *)w, ws, nr,               \
                   (const char *)a, as, nt, n / (BLK), out, ldo);                                                  \
    }                                                                                                              \
    static float NAME##_dot(const void *w, const void *a, int64_t n) {                                             \
        float o;                                                                                                   \
        NAME##_11((const char *)w, 0, (const char *)a, 0, n / (BLK), &o, 0);                                       \
        return o;                                                                                                  \
    }

#define CALL_Q4_0(R, T) tile32(LC_QK_Q4_0, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q4_1(R, T) tile32(LC_QK_Q4_1, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q5_0(R, T) tile32(LC_QK_Q5_0, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q5_1(R, T) tile32(LC_QK_Q5_1, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q8_0(R, T) tile32(LC_QK_Q8_0, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_IQ4_NL(R, T) tile32(LC_QK_IQ4_NL, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_MXFP4(R, T) tile32(LC_QK_MXFP4, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q4_K(R, T) tilek45(LC_QK_Q4_K, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q5_K(R, T) tilek45(LC_QK_Q5_K, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q2_K(R, T) tilek16(LC_QK_Q2_K, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q3_K(R, T) tilek16(LC_QK_Q3_K, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_Q6_K(R, T) tilek16(LC_QK_Q6_K, R, T, w, ws, a, as, nb, o, ldo)
#define CALL_IQ4_XS(R, T) tilexs(R, T, w, ws, a, as, nb, o, ldo)

LC_QK_KERNELS(q4_0, 32, CALL_Q4_0)
LC_QK_KERNELS(q4_1, 32, CALL_Q4_1)
LC_QK_KERNELS(q5_0, 32, CALL_Q5_0)
LC_QK_KERNELS(q5_1, 32, CALL_Q5_1)
LC_QK_KERNELS(q8_0, 32, CALL_Q8_0)
LC_QK_KERNELS(iq4_nl, 32, CALL_IQ4_NL)
LC_QK_KERNELS(mxfp4, 32, CALL_MXFP4)
LC_QK_KERNELS(q4_K, 256, CALL_Q4_K)
LC_QK_KERNELS(q5_K, 256, CALL_Q5_K)
LC_QK_KERNELS(q2_K, 256, CALL_Q2_K)
LC_QK_KERNELS(q3_K, 256, CALL_Q3_K)
LC_QK_KERNELS(q6_K, 256, CALL_Q6_K)
LC_QK_KERNELS(iq4_xs, 256, CALL_IQ4_XS)

/* Every type has a kernel here; a NULL entry would fall back to AVX2. */
static const lc_qdot_fn g_dot[LC_QK_COUNT] = {
    [LC_QK_Q4_0] = q4_0_dot, [LC_QK_Q4_1] = q4_1_dot, [LC_QK_Q5_0] = q5_0_dot,     [LC_QK_Q5_1] = q5_1_dot,
    [LC_QK_Q8_0] = q8_0_dot, [LC_QK_Q2_K] = q2_K_dot, [LC_QK_Q3_K] = q3_K_dot, [LC_QK_Q4_K] = q4_K_dot, [LC_QK_Q5_K] = q5_K_dot,     [LC_QK_Q6_K] = q6_K_dot,
    [LC_QK_IQ4_NL] = iq4_nl_dot, [LC_QK_IQ4_XS] = iq4_xs_dot, [LC_QK_MXFP4] = mxfp4_dot,
};

static const lc_qtile_fn g_tile[LC_QK_COUNT] = {
    [LC_QK_Q4_0] = q4_0_tile, [LC_QK_Q4_1] = q4_1_tile, [LC_QK_Q5_0] = q5_0_tile,     [LC_QK_Q5_1] = q5_1_tile,
    [LC_QK_Q8_0] = q8_0_tile, [LC_QK_Q2_K] = q2_K_tile, [LC_QK_Q3_K] = q3_K_tile, [LC_QK_Q4_K] = q4_K_tile, [LC_QK_Q5_K] = q5_K_tile,     [LC_QK_Q6_K] = q6_K_tile,
    [LC_QK_IQ4_NL] = iq4_nl_tile, [LC_QK_IQ4_XS] = iq4_xs_tile, [LC_QK_MXFP4] = mxfp4_tile,
};

lc_qdot_fn lc_qdot_avx512(lc_qk_type t) { return (unsigned)t < LC_QK_COUNT ? g_dot[t] : NULL; }
lc_qtile_fn lc_qtile_avx512(lc_qk_type t) { return (unsigned)t < LC_QK_COUNT ? g_tile[t] : NULL; }
