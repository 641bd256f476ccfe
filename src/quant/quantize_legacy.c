/*
 * Reference quantization of the 32-element types longctx writes: Q4_0 and
 * Q8_0, with ggml's reference formulas (no importance matrix):
 *
 *   Q8_0  d = max|x| / 127, q = round(x / d)              (lc_quantize_row_q8_0)
 *   Q4_0  m = the x of largest |x|, d = m / -8, q = min(15, trunc(x / d + 8.5))
 *         (so m itself maps to q = 0, x = -8 d = m)
 */
#include <math.h>

#include "quant/quant.h"

void lc_quantize_q8_0(const float *src, void *dst, int64_t n) { lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n); }

void lc_quantize_q4_0(const float *src, void *dst, int64_t n) {
    lc_blk_q4_0 *y = (lc_blk_q4_0 *)dst;
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, src += LC_QK32) {
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < LC_QK32; j++) {
            if (amax < fabsf(src[j])) {
                amax = fabsf(src[j]);
                mx = src[j];
            }
        }
        const float d = mx / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            /* + 8.5 then truncation: rounds to nearest; values are >= 0 */
            int q0 = (int)(int8_t)(src[j] * id + 8.5f), q1 = (int)(int8_t)(src[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y->qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}
