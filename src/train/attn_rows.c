/* Row steps of the flash attention backward: dispatch and portable code. */
#include <math.h>

#include "train/attn_rows.h"

void lc_tr_p_row(float *s, int64_t n, int64_t vis, float scale, float lse, lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) {
        lc_tr_p_row_avx2(s, n, vis, scale, lse);
        return;
    }
#else
    (void)isa;
#endif
    for (int64_t c = 0; c < n; c++) s[c] = c < vis ? expf(scale * s[c] - lse) : 0.0f;
}

void lc_tr_ds_row(float *dp, const float *p, int64_t n, float scale, float d, lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) {
        lc_tr_ds_row_avx2(dp, p, n, scale, d);
        return;
    }
#else
    (void)isa;
#endif
    for (int64_t c = 0; c < n; c++) dp[c] = scale * p[c] * (dp[c] - d);
}

void lc_tr_elu1_rows(float *dst, const float *x, int64_t n, int64_t st, int32_t hd, lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) {
        lc_tr_elu1_rows_avx2(dst, x, n, st, hd);
        return;
    }
#else
    (void)isa;
#endif
    for (int64_t i = 0; i < n; i++)
        for (int32_t c = 0; c < hd; c++) {
            const float v = x[i * st + c];
            dst[i * hd + c] = v > 0.0f ? v + 1.0f : expf(v);
        }
}
