/* Q8_0 reference quantization through the traits signature (the row function
 * itself is lc_quantize_row_q8_0 in src/common/dtype.c, ggml's formula). */
#include "quant/quant.h"

void lc_quantize_q8_0(const float *src, void *dst, int64_t n) { lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n); }
