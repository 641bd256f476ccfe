/* The type-traits table of the block types (see quant.h). */
#include "quant/qk_kernels.h"
#include "quant/quant.h"

/* vec_dot: the scalar reference integer dot of src/quant/qk_dot.c (the AVX2
 * kernels and the products are in qk_dot_avx2.c / qk_matmul.c). */
#define QT(T, nm, blk, bytes, ggml, a, deq, quant, dot)                                                                \
    [LC_DTYPE_##T] = {LC_DTYPE_##T, nm, blk, bytes, ggml, LC_QACT_##a, deq, quant, dot}

static const lc_quant_traits traits[LC_DTYPE_COUNT] = {
    QT(Q8_0, "q8_0", LC_QK32, sizeof(lc_block_q8_0), 8, Q8_0, lc_dequant_q8_0, lc_quantize_q8_0, lc_qdot_q8_0_ref),
    QT(Q4_0, "q4_0", LC_QK32, sizeof(lc_blk_q4_0), 2, Q8_0, lc_dequant_q4_0, lc_quantize_q4_0, lc_qdot_q4_0_ref),
    QT(Q4_1, "q4_1", LC_QK32, sizeof(lc_blk_q4_1), 3, Q8_1, lc_dequant_q4_1, lc_quantize_q4_1, lc_qdot_q4_1_ref),
    QT(Q5_0, "q5_0", LC_QK32, sizeof(lc_blk_q5_0), 6, Q8_0, lc_dequant_q5_0, lc_quantize_q5_0, lc_qdot_q5_0_ref),
    QT(Q5_1, "q5_1", LC_QK32, sizeof(lc_blk_q5_1), 7, Q8_1, lc_dequant_q5_1, lc_quantize_q5_1, lc_qdot_q5_1_ref),
    QT(Q2_K, "q2_K", LC_QK_K, sizeof(lc_blk_q2_K), 10, Q8_K, lc_dequant_q2_K, NULL, lc_qdot_q2_K_ref),
    QT(Q3_K, "q3_K", LC_QK_K, sizeof(lc_blk_q3_K), 11, Q8_K, lc_dequant_q3_K, NULL, lc_qdot_q3_K_ref),
    QT(Q4_K, "q4_K", LC_QK_K, sizeof(lc_blk_q4_K), 12, Q8_K, lc_dequant_q4_K, lc_quantize_q4_K, lc_qdot_q4_K_ref),
    QT(Q5_K, "q5_K", LC_QK_K, sizeof(lc_blk_q5_K), 13, Q8_K, lc_dequant_q5_K, lc_quantize_q5_K, lc_qdot_q5_K_ref),
    QT(Q6_K, "q6_K", LC_QK_K, sizeof(lc_blk_q6_K), 14, Q8_K, lc_dequant_q6_K, lc_quantize_q6_K, lc_qdot_q6_K_ref),
    QT(IQ4_NL, "iq4_nl", LC_QK32, sizeof(lc_blk_iq4_nl), 20, Q8_0, lc_dequant_iq4_nl, NULL, lc_qdot_iq4_nl_ref),
    QT(IQ4_XS, "iq4_xs", LC_QK_K, sizeof(lc_blk_iq4_xs), 23, Q8_K, lc_dequant_iq4_xs, NULL, lc_qdot_iq4_xs_ref),
    QT(MXFP4, "mxfp4", LC_QK32, sizeof(lc_blk_mxfp4), 39, Q8_0, lc_dequant_mxfp4, NULL, lc_qdot_mxfp4_ref),
};

const lc_quant_traits *lc_quant_traits_of(lc_dtype t) {
    if ((unsigned)t >= LC_DTYPE_COUNT || !traits[t].name) return NULL;
    return &traits[t];
}

bool lc_quant_is_block_type(lc_dtype t) { return lc_quant_traits_of(t) != NULL; }
