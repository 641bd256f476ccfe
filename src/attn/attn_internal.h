/*
 * Internal interface between the attention dispatcher (attn.c) and the method
 * files (naive.c, flash.c, window.c, linear.c, chunked.c, hybrid.c).
 *
 * attn.c validates the call, resolves defaults into an lc_attn_ctx, asks the
 * method for its workspace and runs it. A method never re-validates.
 */
#ifndef LC_ATTN_INTERNAL_H
#define LC_ATTN_INTERNAL_H

#include "common/util.h"
#include "longctx/attn.h"

typedef struct {
    const lc_attn_shape *s;
    const lc_attn_params *p;
    const lc_attn_io *io;  /* NULL while only sizing the workspace */
    int n_threads;         /* resolved, >= 1 */
    float scale;           /* resolved */
    int32_t group;         /* H_q / H_kv */
    lc_isa isa;            /* resolved: scalar if force_scalar or LONGCTX_ISA=scalar */
    size_t k_row_bytes;    /* bytes between key positions (all KV heads)  */
    size_t v_row_bytes;
    size_t k_head_bytes;   /* bytes of one head's key row (d elements)    */
    size_t v_head_bytes;
} lc_attn_ctx;

/* Position of key j. */
static inline int64_t lc_attn_kpos(const lc_attn_ctx *c, int64_t j) {
    return c->s->k_pos ? c->s->k_pos[j] : j;
}
/* Start of the d elements of key j, KV head hk. */
static inline const void *lc_attn_k_ptr(const lc_attn_ctx *c, int64_t j, int32_t hk) {
    return (const char *)c->io->k + (size_t)j * c->k_row_bytes + (size_t)hk * c->k_head_bytes;
}
static inline const void *lc_attn_v_ptr(const lc_attn_ctx *c, int64_t j, int32_t hk) {
    return (const char *)c->io->v + (size_t)j * c->v_row_bytes + (size_t)hk * c->v_head_bytes;
}
/* Convert one head row of d elements (f32, f16 or q8_0) to f32 (scalar code). */
void lc_attn_load_row(lc_dtype t, const void *src, float *dst, int32_t d);

/* Each method: the exact workspace it needs, and the run. The workspace
 * function is also the place that refuses (e.g. NAIVE past its cap). */
typedef lc_status (*lc_attn_ws_fn)(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
typedef lc_status (*lc_attn_run_fn)(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);

lc_status lc_attn_naive_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_naive_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);
lc_status lc_attn_flash_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_flash_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);
lc_status lc_attn_window_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_window_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);
lc_status lc_attn_linear_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_linear_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);
lc_status lc_attn_chunked_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_chunked_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);
lc_status lc_attn_hybrid_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err);
lc_status lc_attn_hybrid_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err);

/* Real FLOPs of the methods whose count is not "4 d per visible pair". */
double lc_attn_linear_flops(const lc_attn_shape *s, const lc_attn_params *p);
double lc_attn_chunked_flops(const lc_attn_shape *s, const lc_attn_params *p);

/* Number of (query, key) pairs visible under causal/window rules (k_pos
 * honoured). window <= 0 means no window. Exact; closed form (O(1)) without
 * k_pos, O(n_q n_kv) with it. */
double lc_attn_visible_pairs(const lc_attn_shape *s, int64_t window, int64_t n_sinks);

/* Sum of f(x) over the integers a..b (a <= b) for an f that is linear
 * between its bends, each of which lies within 3 of one of the n_bp given
 * points (any int64, clipped here): f is evaluated at O(n_bp) points and
 * every stretch between them summed as an arithmetic series. */
typedef double (*lc_attn_pl_fn)(const void *user, int64_t x);
double lc_attn_sum_piecewise(lc_attn_pl_fn f, const void *user, int64_t a, int64_t b, const int64_t *bp, int n_bp);

/* Build a ctx (no io) for s/p; used by attn.c and by hybrid for sub-calls. */
lc_status lc_attn_ctx_init(lc_attn_ctx *c, const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io,
                           lc_error *err);

#endif
