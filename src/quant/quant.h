/*
 * Quantized weight types: the type-traits table, the 8-bit activation blocks
 * their integer dot products use, and the reference (scalar) conversions.
 *
 * Every block type (Q8_0 and the types of quant_blocks.h) has one entry:
 *
 *   name         ggml's spelling ("q4_K")
 *   block        elements per block (32, or QK_K = 256)
 *   block_bytes  bytes per block (the sizes quant_blocks.h pins)
 *   ggml_type    the GGUF / ggml tensor type id
 *   act          the block type the activation row is quantized to for the
 *                integer dot product, as ggml pairs them: q8_0 for Q4_0,
 *                Q5_0, Q8_0, IQ4_NL, MXFP4; q8_1 for Q4_1, Q5_1; q8_K for the
 *                K types and IQ4_XS
 *   to_f32       scalar reference dequantization of n elements (n a multiple
 *                of block): bit for bit what ggml's dequantize_row_* and
 *                gguf-py's quants.py give (tests/test_quant_dequant.c)
 *   from_f32     reference quantization of n elements (ggml's reference
 *                quantize_row_*_ref formulas, no importance matrix); NULL
 *                where longctx does not write the type
 *   vec_dot      dot product of one weight row (n elements) with one
 *                activation row of n elements already quantized to `act`
 *                (lc_quant_act_from_f32); NULL until the integer kernels
 *                are in (the products then go through to_f32)
 *
 * Plain types (F32, F16, BF16) have no entry: lc_quant_traits_of returns NULL.
 */
#ifndef LC_QUANT_H
#define LC_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "longctx/common.h"
#include "longctx/kernels.h"
#include "quant/quant_blocks.h"

/* Activation block types of the integer dot products. */
typedef enum {
    LC_QACT_NONE = 0,
    LC_QACT_Q8_0, /* lc_block_q8_0: f16 d, int8 qs[32]; x = d * q                  */
    LC_QACT_Q8_1, /* lc_blk_q8_1: as q8_0 plus s = d * sum(q) (f16)                  */
    LC_QACT_Q8_K  /* lc_blk_q8_K: f32 d, int8 qs[256], bsums[16] = sums of 16 q's    */
} lc_quant_act;

typedef struct {
    uint16_t d; /* f16 */
    uint16_t s; /* f16: d * sum of qs */
    int8_t qs[LC_QK32];
} lc_blk_q8_1;

typedef struct {
    float d;
    int8_t qs[LC_QK_K];
    int16_t bsums[LC_QK_K / 16];
} lc_blk_q8_K;

_Static_assert(sizeof(lc_blk_q8_1) == 36, "q8_1 block");
_Static_assert(sizeof(lc_blk_q8_K) == 292, "q8_K block");

typedef void (*lc_quant_to_f32_fn)(const void *src, float *dst, int64_t n);
typedef void (*lc_quant_from_f32_fn)(const float *src, void *dst, int64_t n);
typedef float (*lc_quant_vec_dot_fn)(const void *w, const void *act, int64_t n);

typedef struct {
    lc_dtype type;
    const char *name;
    int32_t block;
    int32_t block_bytes;
    uint32_t ggml_type;
    lc_quant_act act;
    lc_quant_to_f32_fn to_f32;
    lc_quant_from_f32_fn from_f32;
    lc_quant_vec_dot_fn vec_dot;
} lc_quant_traits;

/* The entry of a block type (Q8_0 included); NULL for F32/F16/BF16 and
 * invalid types. */
const lc_quant_traits *lc_quant_traits_of(lc_dtype t);
/* Whether t is stored in blocks (Q8_0 and every type above). */
bool lc_quant_is_block_type(lc_dtype t);

/* ---- Activation blocks ---------------------------------------------------- */

/* Elements per activation block (32 or 256), bytes per block; 0 for NONE. */
int64_t lc_quant_act_block(lc_quant_act a);
size_t lc_quant_act_block_bytes(lc_quant_act a);
/* Quantize n activations (n a multiple of the act block) as ggml's reference
 * quantize_row_q8_0 / q8_1 / q8_K do. */
void lc_quant_act_from_f32(lc_quant_act a, const float *src, void *dst, int64_t n);
/* The activations such a row stands for (x = d * q). */
void lc_quant_act_to_f32(lc_quant_act a, const void *src, float *dst, int64_t n);

/* Whether lc_matmul's products with weights of type t round the activations
 * to t's act blocks (the integer kernels: a type with a vec_dot that
 * lc_quant_matmul handles); otherwise they multiply f32 activations. Tests
 * choose their reference and tolerance by it. */
bool lc_quant_products_round_acts(lc_dtype t);

/* ---- Reference dequantization (one function per type; n % block == 0) ---- */
void lc_dequant_q4_0(const void *src, float *dst, int64_t n);
void lc_dequant_q4_1(const void *src, float *dst, int64_t n);
void lc_dequant_q5_0(const void *src, float *dst, int64_t n);
void lc_dequant_q5_1(const void *src, float *dst, int64_t n);
void lc_dequant_q8_0(const void *src, float *dst, int64_t n);
void lc_dequant_q2_K(const void *src, float *dst, int64_t n);
void lc_dequant_q3_K(const void *src, float *dst, int64_t n);
void lc_dequant_q4_K(const void *src, float *dst, int64_t n);
void lc_dequant_q5_K(const void *src, float *dst, int64_t n);
void lc_dequant_q6_K(const void *src, float *dst, int64_t n);
void lc_dequant_iq4_nl(const void *src, float *dst, int64_t n);
void lc_dequant_iq4_xs(const void *src, float *dst, int64_t n);
void lc_dequant_mxfp4(const void *src, float *dst, int64_t n);

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block's
 * 12 packed bytes. */
static inline void lc_quant_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* The fixed non-linear 4-bit codebooks. */
extern const int8_t lc_quant_iq4nl_values[16];
extern const int8_t lc_quant_mxfp4_values[16]; /* twice the E2M1 values */

/* ---- Reference quantization (n % block == 0) ----------------------------- */
void lc_quantize_q4_0(const float *src, void *dst, int64_t n);
void lc_quantize_q4_1(const float *src, void *dst, int64_t n);
void lc_quantize_q5_0(const float *src, void *dst, int64_t n);
void lc_quantize_q5_1(const float *src, void *dst, int64_t n);
void lc_quantize_q8_0(const float *src, void *dst, int64_t n);
void lc_quantize_q4_K(const float *src, void *dst, int64_t n);
void lc_quantize_q5_K(const float *src, void *dst, int64_t n);
void lc_quantize_q6_K(const float *src, void *dst, int64_t n);

/* ---- Products (src/quant/quant_matmul.c) ---------------------------------
 * lc_matmul hands weights of the types for which lc_quant_matmul_handles()
 * is true to lc_quant_matmul (same contract as lc_matmul; shapes and the
 * workspace size already validated by lc_matmul). */
bool lc_quant_matmul_handles(lc_dtype t);
/* lc_matmul_multi's one-token path for block types: when every part's type
 * takes the integer kernels with tiles of o's tier, pairs with the same
 * activation blocks as part 0's, and ws is large enough, runs them in one
 * pass (lc_qmatmul_multi1) and returns true; otherwise does nothing and
 * returns false. The parts are validated by the caller (same cols). */
bool lc_quant_matmul_multi1(const lc_matmul_part *parts, int n_parts, const float *x, void *ws, size_t ws_bytes,
                            const lc_kernel_opts *o);
size_t lc_quant_matmul_workspace(const lc_tensor *w, int64_t n_tok, int n_threads);
lc_status lc_quant_matmul(const lc_tensor *w, const float *x, int64_t n_tok, float *y, void *ws, size_t ws_bytes,
                          const lc_kernel_opts *o, lc_error *err);

#endif
