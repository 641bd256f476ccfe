/*
 * Internal: the integer kernels of the quantised weight types.
 *
 * A product W x with W in a quantised type runs in two steps, as in ggml:
 *   1. the activation row x (f32) is quantised once to 8-bit blocks of the
 *      kind the weight type pairs with (lc_qk_info.act): Q8_0 (32 int8 +
 *      f16 scale), Q8_1 (Q8_0 + f16 d * sum(q)) or Q8_K (256 int8, f32 scale,
 *      16 int16 sums of 16);
 *   2. every output is an integer dot product per block (int8 x 4/5/6/8-bit
 *      weights, summed in int32), scaled by the two block scales in f32.
 *
 * Every kernel has a scalar reference (qk_act.c, qk_dot.c: the
 * definition, integer arithmetic per block) and an AVX2 version
 * (qk_act_avx2.c, qk_dot_avx2.c) tested against it; the main types also
 * have an AVX-512 VNNI version (qk_dot_avx512.c, vpdpbusd), tested the same
 * way. The AVX2 dot
 * kernels are written as tiles: R weight rows x T activation rows per inner
 * loop, each weight block decoded once per tile (qk_dot_avx2.c); the
 * matrix-vector product uses the R x 1 tile.
 */
#ifndef LC_QUANT_KERNELS_H
#define LC_QUANT_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "longctx/common.h"
#include "quant/quant.h"
#include "quant/quant_blocks.h"

/* The quantised weight types these kernels cover (the order of issue 11). */
typedef enum {
    LC_QK_Q4_0 = 0,
    LC_QK_Q4_1,
    LC_QK_Q5_0,
    LC_QK_Q5_1,
    LC_QK_Q8_0,
    LC_QK_Q2_K,
    LC_QK_Q3_K,
    LC_QK_Q4_K,
    LC_QK_Q5_K,
    LC_QK_Q6_K,
    LC_QK_IQ4_NL,
    LC_QK_IQ4_XS,
    LC_QK_MXFP4,
    LC_QK_COUNT
} lc_qk_type;

/* Activation block kinds. */
typedef enum { LC_ACT_Q8_0 = 0, LC_ACT_Q8_1, LC_ACT_Q8_K } lc_act_kind;

/* How far ahead (bytes) the matrix-vector tiles prefetch each weight row
 * they stream (1024 measured best of 512 / 1024 / 2048 on Q4_0, Q8_0, Q4_K,
 * Q6_K decode, 2 threads, AVX-512 tier; again best of 512 / 1024 / 2048
 * with one thread once the AVX-512 tiles prefetch into the next tile's rows
 * near a row's end). */
#define LC_QK_PREFETCH 1024

/* Activation blocks: lc_block_q8_0 (longctx/common.h), lc_blk_q8_1 and
 * lc_blk_q8_K (quant/quant.h). */

/* Dot product of one weight row and one quantised activation row of n
 * elements (n a multiple of the block size). */
typedef float (*lc_qdot_fn)(const void *w, const void *a, int64_t n);

/* The shape of the AVX2 tiles: weight rows x activation rows. */
#define LC_QK_TILE_ROWS 3
#define LC_QK_TILE_TOKENS 4

/* A tile of dot products: out[t * ldo + r] = row r of w (rows wstride bytes
 * apart, r < nr) . activation row t (astride bytes apart, t < nt), n
 * elements each (token-major, as Y[n_tok, rows]). */
typedef void (*lc_qtile_fn)(const void *w, size_t wstride, int nr, const void *a, size_t astride, int nt, int64_t n,
                            float *out, size_t ldo);

typedef struct {
    const char *name;    /* ggml's name, "q4_K" */
    int block;           /* elements per block: 32 or 256 */
    size_t block_bytes;  /* bytes per weight block */
    lc_act_kind act;     /* the activation blocks it pairs with */
    lc_qdot_fn dot_ref;  /* scalar reference */
} lc_qk_info;

const lc_qk_info *lc_qk_info_get(lc_qk_type t);
/* The kernel type of a weight dtype; false for types without integer
 * kernels (F32, F16, BF16). */
bool lc_qk_from_dtype(lc_dtype t, lc_qk_type *out);

/* Activation blocks: elements and bytes per block. */
int lc_act_block(lc_act_kind k);
size_t lc_act_block_bytes(lc_act_kind k);

/* ---- Scalar references (qk_act.c, qk_dot.c) -------------------------- */

/* f32 row of n elements (a multiple of the block) -> activation blocks.
 * Rounding as ggml's x86 code: Q8_0/Q8_1 scale by 127/amax and round half to
 * even; Q8_K scales by -127/max (max the value of largest magnitude) and
 * rounds half to even. */
void lc_quantize_act_q8_0_ref(const float *x, lc_block_q8_0 *y, int64_t n);
void lc_quantize_act_q8_1_ref(const float *x, lc_blk_q8_1 *y, int64_t n);
void lc_quantize_act_q8_K_ref(const float *x, lc_blk_q8_K *y, int64_t n);
void lc_quantize_act_ref(lc_act_kind k, const float *x, void *y, int64_t n);

float lc_qdot_q4_0_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q4_1_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q5_0_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q5_1_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q8_0_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q2_K_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q3_K_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q4_K_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q5_K_ref(const void *w, const void *a, int64_t n);
float lc_qdot_q6_K_ref(const void *w, const void *a, int64_t n);
float lc_qdot_iq4_nl_ref(const void *w, const void *a, int64_t n);
float lc_qdot_iq4_xs_ref(const void *w, const void *a, int64_t n);
float lc_qdot_mxfp4_ref(const void *w, const void *a, int64_t n);

/* Shared constants of the formulas. */
extern const int8_t lc_qk_kvalues_iq4nl[16];
extern const int8_t lc_qk_kvalues_mxfp4[16]; /* E2M1 values times 2 */
/* 2^(e - 128) (half the e8m0 value 2^(e - 127)), as ggml scales MXFP4 */
float lc_qk_e8m0_half(uint8_t e);
/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block. */
void lc_qk_q4k_scale_min(const uint8_t *scales, int j, uint8_t *sc, uint8_t *m);
/* The 16 signed 6-bit scales of a Q3_K block (offset 32 removed). */
void lc_qk_q3k_scales(const uint8_t *scales, int8_t out[16]);

/* ---- AVX2 (qk_act_avx2.c, qk_dot_avx2.c) ----------------------------- */
#if defined(LC_HAVE_X86)
void lc_quantize_act_avx2(lc_act_kind k, const float *x, void *y, int64_t n);
lc_qdot_fn lc_qdot_avx2(lc_qk_type t);
/* The tile kernel (any nr, nt >= 1). */
lc_qtile_fn lc_qtile_avx2(lc_qk_type t);
#endif

/* ---- AVX-512 F/BW/VL + VNNI (qk_dot_avx512.c) ---------------------------- */
#if defined(LC_HAVE_AVX512)
/* NULL for a type without an AVX-512 kernel (it takes the AVX2 one). */
lc_qdot_fn lc_qdot_avx512(lc_qk_type t);
lc_qtile_fn lc_qtile_avx512(lc_qk_type t);
#endif

/* ---- Dispatch (qk_matmul.c) ----------------------------------------------- */

/* The kernels of tier isa (an lc_isa_best() answer, or lower): the AVX-512
 * ones for isa >= LC_ISA_AVX512 where this build and type have them, else
 * the AVX2 ones for isa >= LC_ISA_AVX2 (NULL if this build has none), else
 * the scalar ones (tile: NULL, the products loop over dot_ref). */
lc_qdot_fn lc_qk_dot(lc_qk_type t, lc_isa isa);
lc_qtile_fn lc_qk_tile(lc_qk_type t, lc_isa isa);
/* The tier whose kernels lc_qk_dot / lc_qk_tile return for (t, isa). */
lc_isa lc_qk_tier(lc_qk_type t, lc_isa isa);
void lc_qk_quantize_act(lc_act_kind k, const float *x, void *y, int64_t n, lc_isa isa);

/* Random blocks (every byte random, finite scales; qk_random.c), for
 * benchmarks and tests. */
void lc_qk_random_blocks(lc_qk_type t, void *dst, int64_t n_blocks, uint64_t seed);
/* An upper bound of |w_i| over one weight block, from its scales (the
 * largest level times the largest sub-block scale, plus the min or offset
 * term): the scale tests and fuzzers measure a dot's float rounding against
 * (qk_random.c). */
double lc_qk_block_bound(lc_qk_type t, const void *blk);

/* ---- Products (qk_matmul.c) --------------------------------------------- */

/* Bytes of one quantised activation row of cols elements. */
size_t lc_qmatmul_act_row_bytes(lc_qk_type t, int64_t cols);
/* Workspace of lc_qmatmul: the quantised activations (64-byte aligned). */
size_t lc_qmatmul_workspace(lc_qk_type t, int64_t cols, int64_t n_tok);
/* Y[n_tok, rows] = X[n_tok, cols] W^T for W rows x cols of type t (rows
 * row_bytes apart; cols a multiple of the block), n_threads OpenMP threads,
 * the kernels of tier isa (lc_qk_tile; the scalar references for
 * LC_ISA_SCALAR). */
void lc_qmatmul(lc_qk_type t, const void *w, size_t row_bytes, int64_t rows, int64_t cols, const float *x,
                int64_t n_tok, float *y, void *ws, int n_threads, lc_isa isa);

/* One weight of a one-token product over several weights (lc_qmatmul_multi1). */
typedef struct {
    lc_qk_type t;
    const void *w;
    size_t row_bytes;
    int64_t rows;
    float *y;
} lc_qmatmul_part;
/* y_p = W_p x for one token x of cols elements and n_parts (>= 1) weights
 * whose types pair with the same activation blocks and have tiles of tier
 * isa (lc_qk_tile non-NULL): x quantised once, one parallel region over the
 * decode items of all parts. Each y_p gets the bits lc_qmatmul gives that
 * part alone. ws: lc_qmatmul_workspace(parts[0].t, cols, 1) bytes. At most
 * 64 parts (none run beyond). */
void lc_qmatmul_multi1(const lc_qmatmul_part *parts, int n_parts, int64_t cols, const float *x, void *ws,
                       int n_threads, lc_isa isa);

#endif /* LC_QUANT_KERNELS_H */
