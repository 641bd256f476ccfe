/*
 * The block layouts of GGML's quantized weight types, byte for byte as they
 * are stored in GGUF files (ggml's docs and ggml-common.h describe them;
 * gguf-py's gguf/quants.py gives the dequantisation formulas). All fields are
 * little-endian; "f16" fields are IEEE binary16 bit patterns, "e8m0" an 8-bit
 * power-of-two exponent. Every struct is packed by construction (only uint8_t
 * / uint16_t / int8_t members in an order that needs no padding): the static
 * asserts below pin the sizes a file's tensor sizes are checked against.
 *
 * Block sizes: 32 elements for the "legacy" types, IQ4_NL and MXFP4; 256 (a
 * super-block, QK_K) for the K types and IQ4_XS.
 */
#ifndef LONGCTX_QUANT_BLOCKS_H
#define LONGCTX_QUANT_BLOCKS_H

#include <stdint.h>

#define LC_QK32 32  /* Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 */
#define LC_QK_K 256 /* Q2_K .. Q6_K, IQ4_XS                       */
#define LC_K_SCALE_SIZE 12

/* x = d * (q - 8), q = 4-bit; element j in the low nibble of qs[j], element
 * j + 16 in the high nibble. */
typedef struct { uint16_t d; uint8_t qs[16]; } lc_blk_q4_0;
/* x = d * q + m */
typedef struct { uint16_t d, m; uint8_t qs[16]; } lc_blk_q4_1;
/* x = d * (q - 16), q = nibble | (bit j of qh) << 4 (element j + 16: bit j + 16) */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } lc_blk_q5_0;
/* x = d * q + m, q as Q5_0's */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } lc_blk_q5_1;
/* lc_block_q8_0 (longctx/common.h) is Q8_0: { f16 d; int8 qs[32] } */

/* 16 sub-blocks of 16: scales[i] low nibble = scale, high nibble = min;
 * x = d * sc * q - dmin * m, q = 2 bits. */
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } lc_blk_q2_K;
/* q = 2 low bits in qs, high bit in hmask (set means +0, clear means -4);
 * 16 6-bit scales packed in 12 bytes, stored with an offset of 32. */
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } lc_blk_q3_K;
/* 8 sub-blocks of 32, 6-bit scale and min each, packed in 12 bytes;
 * x = d * sc * q - dmin * m. */
typedef struct { uint16_t d, dmin; uint8_t scales[LC_K_SCALE_SIZE]; uint8_t qs[128]; } lc_blk_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[LC_K_SCALE_SIZE]; uint8_t qh[32]; uint8_t qs[128]; } lc_blk_q5_K;
/* 16 sub-blocks of 16, int8 scales; q = 4 low bits (ql) | 2 high bits (qh), x = d * sc * (q - 32). */
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } lc_blk_q6_K;

/* Non-linear 4-bit: x = d * kvalues_iq4nl[q] (a fixed 16-entry int8 table). */
typedef struct { uint16_t d; uint8_t qs[16]; } lc_blk_iq4_nl;
/* 8 sub-blocks of 32 with 6-bit scales (4 low bits in scales_l, 2 high in
 * scales_h), x = d * (ls - 32) * kvalues_iq4nl[q]. */
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } lc_blk_iq4_xs;
/* OCP microscaling FP4: e8m0 shared exponent, 32 E2M1 values as nibbles
 * (element j low nibble of qs[j], element j + 16 high nibble). */
typedef struct { uint8_t e; uint8_t qs[16]; } lc_blk_mxfp4;

_Static_assert(sizeof(lc_blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(lc_blk_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(lc_blk_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(lc_blk_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(lc_blk_q2_K) == 84, "q2_K block");
_Static_assert(sizeof(lc_blk_q3_K) == 110, "q3_K block");
_Static_assert(sizeof(lc_blk_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(lc_blk_q5_K) == 176, "q5_K block");
_Static_assert(sizeof(lc_blk_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(lc_blk_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(lc_blk_iq4_xs) == 136, "iq4_xs block");
_Static_assert(sizeof(lc_blk_mxfp4) == 17, "mxfp4 block");

#endif /* LONGCTX_QUANT_BLOCKS_H */
