/*
 * libFuzzer target: the quantised weight blocks (every byte of a block as a
 * file may hold it: NaN / infinite / subnormal f16 scales, any code) through
 * every path a model's product takes:
 *
 *   byte 0       the weight type (13 types, issue 11's order);
 *   byte 1       bits 0-1: tokens - 1, bits 2-3: rows - 1, bits 4-6: how
 *                the activations are made (normal, zero, ties at k + 0.5,
 *                huge, subnormal, the input's own bytes as floats: NaN and
 *                infinities included);
 *   byte 2       the activations' seed;
 *   the rest     the weight rows, as many whole blocks per row as fit (at
 *                most 8).
 *
 * Checks, each a trap when it fails:
 *  - at every fast tier this CPU has (AVX2, AVX-512 VNNI):
 *  - the fast activation quantiser writes the reference's bytes (finite rows);
 *  - the fast dot, the fast tile and the reference agree within 1e-5 of the
 *    row's bound sum |w_i a_i| (the rounding of a sum whose terms cancel is
 *    measured against it) where that bound is finite;
 *  - lc_qmatmul gives the same bits on 1 and 2 threads, fast and scalar
 *    agreeing as the dots do;
 *  - dequantising every block (the reference the model loader uses) stays in
 *    bounds (ASan) and defined (UBSan).
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_quant -max_len=4096 fuzz/corpus/quant
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/sys.h"
#include "quant/qk_kernels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BLOCKS 8
#define MAX_ROWS 4
#define MAX_TOK 4
#define MAX_N (MAX_BLOCKS * 256)

static const lc_dtype dtypes[LC_QK_COUNT] = {
    LC_DTYPE_Q4_0, LC_DTYPE_Q4_1, LC_DTYPE_Q5_0, LC_DTYPE_Q5_1, LC_DTYPE_Q8_0,   LC_DTYPE_Q2_K,  LC_DTYPE_Q3_K,
    LC_DTYPE_Q4_K, LC_DTYPE_Q5_K, LC_DTYPE_Q6_K, LC_DTYPE_IQ4_NL, LC_DTYPE_IQ4_XS, LC_DTYPE_MXFP4,
};

/* The activation values a quantised row stands for. */
static double act_abs(lc_act_kind k, const void *a, int64_t i) {
    if (k == LC_ACT_Q8_0) {
        const lc_block_q8_0 *b = (const lc_block_q8_0 *)a + i / 32;
        return fabs((double)lc_f16_to_f32(b->d) * b->qs[i % 32]);
    }
    if (k == LC_ACT_Q8_1) {
        const lc_blk_q8_1 *b = (const lc_blk_q8_1 *)a + i / 32;
        /* the f16 sum s enters the Q4_1 / Q5_1 products with the min */
        return fabs((double)lc_f16_to_f32(b->d) * b->qs[i % 32]) + fabs((double)lc_f16_to_f32(b->s)) / 32;
    }
    const lc_blk_q8_K *b = (const lc_blk_q8_K *)a + i / 256;
    return fabs((double)b->d * b->qs[i % 256]);
}

static double row_bound(const lc_qk_info *in, lc_qk_type t, const uint8_t *w, const void *a, int64_t n) {
    double s = 0;
    for (int64_t b = 0; b < n / in->block; b++) {
        double sa = 0;
        for (int i = 0; i < in->block; i++) sa += act_abs(in->act, a, b * in->block + i);
        s += lc_qk_block_bound(t, w + (size_t)b * in->block_bytes) * sa;
    }
    return s;
}

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static void make_acts(int mode, uint64_t seed, const uint8_t *bytes, size_t nbytes, float *x, int64_t n) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(next(&s) & 0xFFFFF) / 0xFFFFF * 2 - 1; /* [-1, 1] */
        switch (mode) {
        case 0: x[i] = (float)(4 * u); break;
        case 1: x[i] = 0.0f; break;
        case 2: x[i] = (i % 32 == 0) ? 127.0f : (float)(int)(100 * u) + 0.5f; break; /* ties at scale 1 */
        case 3: x[i] = (float)(3e37 * u); break;
        case 4: x[i] = (float)(1e-39 * u); break;
        default: {
            uint32_t v = 0;
            if (nbytes >= 4) memcpy(&v, bytes + (size_t)(4 * i) % (nbytes - 3), 4);
            memcpy(&x[i], &v, 4);
        }
        }
    }
}

static bool all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return false;
    return true;
}

/* Agreement of two results of one product, measured against its bound. */
static bool agree(float a, float b, double bound) {
    if (!(bound < 1e30)) return true; /* scales too large or not finite: no claim */
    if (!isfinite(a) || !isfinite(b)) return !isfinite(a) == !isfinite(b) || bound > 1e25;
    return fabs((double)a - b) <= 1e-5 * bound + 1e-35;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const lc_qk_type t = (lc_qk_type)(data[0] % LC_QK_COUNT);
    const lc_qk_info *in = lc_qk_info_get(t);
    const int n_tok = 1 + (data[1] & 3), rows = 1 + ((data[1] >> 2) & 3), mode = (data[1] >> 4) & 7;
    const size_t wbytes = size - 3;
    int64_t nb = (int64_t)(wbytes / ((size_t)rows * in->block_bytes));
    if (nb > MAX_BLOCKS) nb = MAX_BLOCKS;
    if (nb < 1) return 0;
    const int64_t n = nb * in->block;
    const size_t rb = (size_t)nb * in->block_bytes;
    if (n % lc_act_block(in->act) != 0) return 0;
    /* the rows as a model holds them: 64-byte aligned (the loader refuses
     * tensor data that is not aligned for its type) */
    uint8_t *w = aligned_alloc(64, ((size_t)rows * rb + 63) & ~(size_t)63);
    memcpy(w, data + 3, (size_t)rows * rb);

    /* dequantise every block with the loader's reference */
    const lc_quant_traits *tr = lc_quant_traits_of(dtypes[t]);
    if (!tr || tr->block != in->block) __builtin_trap();
    float *deq = malloc((size_t)n * sizeof(float));
    for (int r = 0; r < rows; r++) tr->to_f32(w + (size_t)r * rb, deq, n);

    float *x = malloc((size_t)(n_tok * n) * sizeof(float));
    make_acts(mode > 5 ? 5 : mode, data[2], data, size, x, n_tok * n);
    const size_t arb = lc_qmatmul_act_row_bytes(t, n);
    uint8_t *aref = aligned_alloc(64, (arb * (size_t)n_tok + 63) & ~(size_t)63);
    uint8_t *afast = aligned_alloc(64, (arb * (size_t)n_tok + 63) & ~(size_t)63);
    float ref[MAX_ROWS * MAX_TOK], tile[MAX_ROWS * MAX_TOK];
    double bound[MAX_ROWS * MAX_TOK];
    for (int j = 0; j < n_tok; j++) {
        lc_quantize_act_ref(in->act, x + (size_t)j * n, aref + (size_t)j * arb, n);
        for (int r = 0; r < rows; r++) {
            const uint8_t *wr = w + (size_t)r * rb, *aj = aref + (size_t)j * arb;
            ref[j * rows + r] = in->dot_ref(wr, aj, n);
            bound[j * rows + r] = row_bound(in, t, wr, aj, n);
        }
    }
    /* the whole product, as the model runs it: scalar first */
    void *ws = aligned_alloc(64, (lc_qmatmul_workspace(t, n, n_tok) + 63) & ~(size_t)63);
    float y1[MAX_ROWS * MAX_TOK], y2[MAX_ROWS * MAX_TOK], ys[MAX_ROWS * MAX_TOK];
    lc_qmatmul(t, w, rb, rows, n, x, n_tok, ys, ws, 1, LC_ISA_SCALAR);
    for (int i = 0; i < rows * n_tok; i++)
        if (memcmp(&ys[i], &ref[i], sizeof(float)) != 0 && !(isnan(ys[i]) && isnan(ref[i]))) __builtin_trap();

    const lc_isa best = lc_isa_best();
    for (lc_isa isa = LC_ISA_AVX2; isa <= best; isa = (lc_isa)(isa + 1)) {
        if (lc_qk_tier(t, isa) != isa || !lc_qk_tile(t, isa)) continue; /* this tier has no kernel of its own */
        for (int j = 0; j < n_tok; j++) {
            lc_qk_quantize_act(in->act, x + (size_t)j * n, afast + (size_t)j * arb, n, isa);
            if (all_finite(x + (size_t)j * n, n) && memcmp(aref + (size_t)j * arb, afast + (size_t)j * arb, arb) != 0)
                __builtin_trap();
            for (int r = 0; r < rows; r++) {
                const uint8_t *wr = w + (size_t)r * rb, *aj = aref + (size_t)j * arb;
                if (!agree(lc_qk_dot(t, isa)(wr, aj, n), ref[j * rows + r], bound[j * rows + r])) __builtin_trap();
            }
        }
        lc_qk_tile(t, isa)(w, rb, rows, aref, arb, n_tok, n, tile, (size_t)rows);
        for (int i = 0; i < rows * n_tok; i++)
            if (!agree(tile[i], ref[i], bound[i])) __builtin_trap();
        lc_qmatmul(t, w, rb, rows, n, x, n_tok, y1, ws, 1, isa);
        lc_qmatmul(t, w, rb, rows, n, x, n_tok, y2, ws, 2, isa);
        for (int i = 0; i < rows * n_tok; i++) {
            if (memcmp(&y1[i], &y2[i], sizeof(float)) != 0 && !(isnan(y1[i]) && isnan(y2[i]))) __builtin_trap();
            if (all_finite(x, n_tok * n) && !agree(y1[i], ys[i], bound[i])) __builtin_trap();
        }
    }
    free(ws);
    free(aref);
    free(afast);
    free(x);
    free(deq);
    free(w);
    return 0;
}
