/*
 * longctx/kernels.h — the dense kernels of the Llama runtime: weight-matrix
 * products for every weight type, and the small elementwise operations
 * around them (RMSNorm, SwiGLU, residual add, softmax).
 *
 * Layouts (row-major, contiguous):
 *
 *   W  [rows, cols]   lc_tensor of f32 | f16 | bf16 | q8_0 (q8_0: cols % 32 == 0)
 *   X  [n_tok, cols]  f32, one activation row per token
 *   Y  [n_tok, rows]  f32, Y[t, r] = sum_c W[r, c] * X[t, c]   (y_t = W x_t)
 *
 * n_tok == 1 (decode) runs a matrix-vector product: one pass over W, rows
 * split between threads, each row's dot product dequantising on the fly.
 * n_tok >= 2 (prefill) runs a cache- and register-blocked GEMM: panels of 16
 * weight rows are converted to f32 and transposed once per K block into a
 * [kc][16] buffer that stays in L1, activation panels of 6 tokens are packed
 * [kc][6], and a 6x16 micro-kernel keeps 12 AVX2 accumulators in registers.
 * Both paths accumulate in f32; the scalar fallback (no AVX2, LONGCTX_ISA=scalar
 * or force_scalar) dequantises a row at a time and gives the same results to
 * rounding.
 *
 * Threads: every kernel takes n_threads (<= 0: every CPU) and uses OpenMP's
 * num_threads clause; nothing here touches global state.
 */
#ifndef LONGCTX_KERNELS_H
#define LONGCTX_KERNELS_H

#include "longctx/common.h"
#include "longctx/model.h"
#include "longctx/sys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n_threads;     /* <= 0: every available CPU                        */
    bool force_scalar; /* skip the AVX2 paths (testing the fallback)       */
    lc_isa isa;        /* the tier to use, resolved once by lc_kernel_opts_init
                          (lc_isa_best() costs a cpuid, ~8 us in a VM): lower
                          it to force the fallback, never raise it           */
} lc_kernel_opts;

/* n_threads = 0 (all CPUs), force_scalar = false, isa = lc_isa_best().
 * Kernels given NULL opts resolve the ISA themselves on every call. */
void lc_kernel_opts_init(lc_kernel_opts *o);

/* The scratch memory, in bytes, that lc_matmul needs for this weight shape,
 * token count and thread count (0 is a valid answer). Refuses unsupported
 * types and shapes (q8_0 with cols % 32 != 0, sizes that overflow). */
lc_status lc_matmul_workspace(const lc_tensor *w, int64_t n_tok, int n_threads, size_t *bytes, lc_error *err);

/* Y[n_tok, w->rows] = X[n_tok, w->cols] W^T. x and y must not overlap.
 * ws: at least lc_matmul_workspace bytes (64-byte aligned is best; may be
 * NULL when that is 0). */
lc_status lc_matmul(const lc_tensor *w, const float *x, int64_t n_tok, float *y, void *ws, size_t ws_bytes,
                    const lc_kernel_opts *o, lc_error *err);

/* Products of several weights with the same activations (Wq / Wk / Wv, the
 * FFN's gate and up): parts[i].y [n_tok, parts[i].w->rows] = X parts[i].w^T,
 * the same bits as one lc_matmul per part. With one token they run in one
 * pass when the weights are f32 / f16 / bf16 of one type, or block types
 * that pair with the same 8-bit activation blocks (quantised once): one
 * parallel region whose threads share the rows of all parts (each thread a
 * contiguous range, stealing from the others' ends), instead of a region,
 * its wake-ups and its barrier per weight; anything else runs lc_matmul part
 * by part. The parts
 * share cols; the outputs must not overlap x or each other. ws: the
 * largest lc_matmul_workspace of the parts. At most LC_MATMUL_MAX_PARTS. */
#define LC_MATMUL_MAX_PARTS 8
typedef struct {
    const lc_tensor *w;
    float *y;
} lc_matmul_part;
lc_status lc_matmul_multi(const lc_matmul_part *parts, int n_parts, const float *x, int64_t n_tok, void *ws,
                          size_t ws_bytes, const lc_kernel_opts *o, lc_error *err);

/* Floating-point operations of lc_matmul (2 per multiply-add). */
double lc_matmul_flops(const lc_tensor *w, int64_t n_tok);

/* ---- Elementwise operations (sizes are trusted: the caller owns them) ---- */

/* RMSNorm of n_rows rows of n: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w.
 * out may equal x. */
void lc_rmsnorm(float *out, const float *x, const float *w, int64_t n_rows, int64_t n, float eps,
                const lc_kernel_opts *o);

/* SwiGLU: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)), over n
 * elements. out may equal gate or up. */
void lc_swiglu(float *out, const float *gate, const float *up, int64_t n, const lc_kernel_opts *o);

/* GeGLU with GELU's tanh form (PyTorch's gelu(approximate="tanh"), Gemma's
 * gelu_pytorch_tanh): out[i] = gelu(gate[i]) * up[i] with
 * gelu(g) = g/2 (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), in double per
 * element. Scalar only. out may equal gate or up. */
void lc_geglu_tanh(float *out, const float *gate, const float *up, int64_t n, const lc_kernel_opts *o);

/* Residual add: y[i] += x[i] over n elements. */
void lc_add(float *y, const float *x, int64_t n, const lc_kernel_opts *o);

/* Softmax in place over n values (max-subtracted, so large logits are safe).
 * Entries of -inf get probability 0; a row that is entirely -inf becomes zeros. */
void lc_softmax(float *x, int64_t n, const lc_kernel_opts *o);

/* Row conversions for the runtime's hot path (the common lc_row_to_f32 and
 * lc_f32_to_f16_row resolve the ISA on every call). q8_0 needs n % 32 == 0. */
void lc_kernel_to_f32(lc_dtype t, const void *src, float *dst, int64_t n, const lc_kernel_opts *o);
void lc_kernel_f32_to_f16(const float *src, uint16_t *dst, int64_t n, const lc_kernel_opts *o);

/* Index of the largest value (the first on ties; NaN never wins); -1 if n <= 0. */
int64_t lc_argmax(const float *x, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_KERNELS_H */
