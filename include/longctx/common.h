/*
 * longctx/common.h — status codes, error messages, element types.
 *
 * Every public function that can fail returns an lc_status and, when given a
 * non-NULL lc_error, fills it with a human-readable message. The library never
 * prints, exits or aborts on bad input; the CLI prints err->msg.
 */
#ifndef LONGCTX_COMMON_H
#define LONGCTX_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_OK = 0,
    LC_ERR_INVALID_ARG,  /* a caller passed something that can never work   */
    LC_ERR_NOMEM,        /* an allocation failed                            */
    LC_ERR_TOO_LARGE,    /* refused: would pass a size or memory limit      */
    LC_ERR_IO,           /* open/read/write/mmap failed                     */
    LC_ERR_FORMAT,       /* a file or text is malformed                     */
    LC_ERR_UNSUPPORTED,  /* well-formed, but not something we implement     */
    LC_ERR_CANCELLED,    /* stopped on request (Ctrl-C)                     */
    LC_ERR_INTERNAL      /* a bug: an invariant did not hold                */
} lc_status;

#define LC_ERROR_MSG_MAX 512

typedef struct {
    lc_status status;
    char msg[LC_ERROR_MSG_MAX];
} lc_error;

/* Fill err (may be NULL) with a printf-style message; returns status. */
lc_status lc_fail(lc_error *err, lc_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reset err to LC_OK with an empty message (err may be NULL). */
void lc_error_clear(lc_error *err);

/* A short constant name for a status, e.g. "invalid argument". */
const char *lc_status_str(lc_status status);

/* Element types of tensors, KV caches and weights. */
typedef enum {
    LC_DTYPE_F32 = 0,
    LC_DTYPE_F16,
    LC_DTYPE_BF16,
    LC_DTYPE_Q8_0,   /* blocks of 32: f16 scale + 32 int8 (34 bytes) */
    /* GGML's quantized weight types (block layouts: src/quant/quant_blocks.h,
     * docs/formats.md); weights only, rows a whole number of blocks. */
    LC_DTYPE_Q4_0,   /* 32 per block, 18 bytes  */
    LC_DTYPE_Q4_1,   /* 32, 20   */
    LC_DTYPE_Q5_0,   /* 32, 22   */
    LC_DTYPE_Q5_1,   /* 32, 24   */
    LC_DTYPE_Q2_K,   /* 256, 84  */
    LC_DTYPE_Q3_K,   /* 256, 110 */
    LC_DTYPE_Q4_K,   /* 256, 144 */
    LC_DTYPE_Q5_K,   /* 256, 176 */
    LC_DTYPE_Q6_K,   /* 256, 210 */
    LC_DTYPE_IQ4_NL, /* 32, 18   */
    LC_DTYPE_IQ4_XS, /* 256, 136 */
    LC_DTYPE_MXFP4,  /* 32, 17   */
    LC_DTYPE_COUNT
} lc_dtype;

#define LC_Q8_0_BLOCK 32

typedef struct {
    uint16_t d;               /* f16 scale */
    int8_t qs[LC_Q8_0_BLOCK]; /* quantised values: x = d * qs[i] */
} lc_block_q8_0;

/* "f32", "f16", "bf16", "q8_0", "q4_0", ..., "q4_K", ..., "iq4_nl", "iq4_xs",
 * "mxfp4" (ggml's spelling). */
const char *lc_dtype_name(lc_dtype t);
/* Parse a name above, case-insensitively ("Q4_K" too); false if unknown. */
bool lc_dtype_parse(const char *s, lc_dtype *out);
/* Elements per block: 1 for f32/f16/bf16, 32 or 256 for the block types; 0
 * for an invalid type. */
int64_t lc_dtype_block(lc_dtype t);
/* Bytes of a row of n elements, or 0 (with err) if n is not a whole number of
 * blocks for a block type or the size overflows. */
lc_status lc_dtype_row_bytes(lc_dtype t, int64_t n, size_t *bytes, lc_error *err);

/* Half precision conversions (IEEE 754 binary16, round to nearest even). */
float lc_f16_to_f32(uint16_t h);
uint16_t lc_f32_to_f16(float f);
float lc_bf16_to_f32(uint16_t h);
uint16_t lc_f32_to_bf16(float f);

/* Convert n elements; dispatches to F16C when the CPU has it. */
void lc_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
void lc_f32_to_f16_row(const float *src, uint16_t *dst, int64_t n);

/* Q8_0: n must be a multiple of 32. */
void lc_quantize_row_q8_0(const float *src, lc_block_q8_0 *dst, int64_t n);
void lc_dequantize_row_q8_0(const lc_block_q8_0 *src, float *dst, int64_t n);

/* Dequantise a row of any type to f32. */
lc_status lc_row_to_f32(lc_dtype t, const void *src, float *dst, int64_t n, lc_error *err);

/* Progress callback for long work: done of total units, what = short label.
 * The library calls it; the CLI draws a line with an ETA on a terminal.
 * Returning false asks the work to stop (it then returns LC_ERR_CANCELLED). */
typedef bool (*lc_progress_fn)(void *user, double done, double total, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_COMMON_H */
