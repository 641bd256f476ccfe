/*
 * longctx/attn.h — attention kernels behind one interface.
 *
 * Layout (row-major, contiguous):
 *
 *   Q   [n_q , H_q , d]  f32
 *   K   [n_kv, H_kv, d]  f32 | f16 | q8_0 (q8_0 needs d % 32 == 0)
 *   V   [n_kv, H_kv, d]  f32 | f16 | q8_0
 *   out [n_q , H_q , d]  f32
 *   lse [n_q , H_q]      f32, optional: log sum_j exp(scale * q.k_j) over the
 *                        keys the row may see (-inf for a fully masked row)
 *
 * Grouped-query attention: query head h reads KV head h / (H_q / H_kv).
 *
 * Positions: query i sits at position q_pos0 + i; key j at k_pos[j] (or j when
 * k_pos is NULL). With causal masking a query sees key j iff pos(j) <= pos(i).
 * For self-attention over a fresh sequence: n_q = n_kv, q_pos0 = 0. For a
 * chunk of queries appended to a cache of n_kv keys (chunked prefill, decode):
 * q_pos0 = n_kv - n_q.
 *
 * A row that sees no key (fully masked, or n_kv == 0) outputs zeros and
 * lse = -inf. Nothing here returns NaN for finite inputs.
 *
 * Learned sinks (gpt-oss; NAIVE, FLASH and WINDOW; lc_attn_params.sink_logits):
 * query head h has a sink logit s_h, a virtual key with logit s_h (natural
 * units, like scale * q.k) and value zero that every row sees:
 *
 *     out = sum_j exp(x_j - M) v_j / (exp(s_h - M) + sum_j exp(x_j - M))
 *
 * with M = max(s_h, max_j x_j). It only enlarges the denominator; lse is the
 * log of that whole denominator (ln(exp(s_h) + sum_j exp(x_j))). s_h = -inf
 * gives plain softmax bit for bit; a row that sees no key outputs zeros and
 * lse = s_h. A caller that merges several calls over parts of the keys by
 * their lse must give the sinks to exactly one of them. Not the same thing
 * as WINDOW's n_sinks (kept first tokens).
 *
 * Methods (lc_attn_params.method):
 *   NAIVE    materialises the [H_q, n_q, n_kv] score matrix: the reference.
 *            Refuses when that matrix would pass naive_max_bytes.
 *   FLASH    tiled online softmax; holds one tile of scores per thread.
 *            Split-KV path for decode (few queries, long cache).
 *   WINDOW   key j visible to query i iff causal-visible and
 *            (pos(i) - pos(j) < window  or  pos(j) < n_sinks).
 *            Without causal: |pos(i) - pos(j)| < window or pos(j) < n_sinks.
 *   LINEAR   kernelised attention phi(q).sum_j phi(k_j) v_j^T / phi(q).sum_j phi(k_j)
 *            with phi = elu+1, relu or FAVOR+ positive random features;
 *            ignores scale and lse (lse is filled with NaN-free 0).
 *   CHUNKED  hierarchical: local attention inside chunks of `chunk` keys plus
 *            `overlap` keys before the chunk, and one summary key/value per
 *            earlier chunk (keys outside the local window, log-count bias),
 *            in a single softmax. See docs/chunked.md.
 *   HYBRID   a method per query head (head_params[h]).
 */
#ifndef LONGCTX_ATTN_H
#define LONGCTX_ATTN_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_ATTN_NAIVE = 0,
    LC_ATTN_FLASH,
    LC_ATTN_WINDOW,
    LC_ATTN_LINEAR,
    LC_ATTN_CHUNKED,
    LC_ATTN_HYBRID,
    LC_ATTN_METHOD_COUNT
} lc_attn_method;

typedef enum {
    LC_FEATURE_ELU1 = 0, /* elu(x) + 1                                  */
    LC_FEATURE_RELU,     /* max(x, 0)                                   */
    LC_FEATURE_FAVOR,    /* FAVOR+ positive random features (Performer) */
    LC_FEATURE_COUNT
} lc_feature_map;

/* The shapes of one call. */
typedef struct {
    int64_t n_q;          /* number of queries (>= 0)                        */
    int64_t n_kv;         /* number of keys and values (>= 0)                */
    int32_t n_head;       /* H_q  (>= 1)                                      */
    int32_t n_head_kv;    /* H_kv (>= 1, divides H_q)                         */
    int32_t head_dim;     /* d: 32, 64, 80, 96, 128, 256 (any 1..512 works)   */
    lc_dtype k_type;      /* LC_DTYPE_F32, LC_DTYPE_F16 or LC_DTYPE_Q8_0      */
    lc_dtype v_type;
    bool causal;
    int64_t q_pos0;       /* position of query 0                              */
    const int64_t *k_pos; /* optional [n_kv] key positions (NULL: 0..n_kv-1)  */
    float scale;          /* 0: 1/sqrt(d)                                      */
    float softcap;        /* > 0: scores <- softcap * tanh(scores / softcap)
                             after scaling (Gemma-2); 0: none. NAIVE, FLASH
                             and WINDOW only                                  */
} lc_attn_shape;

typedef struct lc_attn_params lc_attn_params;
struct lc_attn_params {
    lc_attn_method method;
    int n_threads;                 /* <= 0: every available CPU               */

    /* NAIVE */
    size_t naive_max_bytes;        /* cap on the score matrix; 0: 1 GiB        */
    const uint8_t *mask;           /* optional [n_q, n_kv], 1 = may attend;
                                      ANDed with causal (NAIVE only)           */
    /* NAIVE, FLASH, WINDOW: optional [H_q] learned sink logits (finite or
       -inf; NULL: none). See "Learned sinks" above. */
    const float *sink_logits;

    /* WINDOW */
    int64_t window;                /* W >= 1                                   */
    int64_t n_sinks;               /* S >= 0                                   */

    /* LINEAR */
    lc_feature_map feature;
    int32_t n_features;            /* FAVOR+ m (0: head_dim)                   */
    uint64_t seed;                 /* FAVOR+ projection seed                   */

    /* CHUNKED */
    int64_t chunk;                 /* C >= 1                                   */
    int64_t overlap;               /* O, 0 <= O < C                            */

    /* HYBRID: one entry per query head; none may be HYBRID itself. */
    const lc_attn_params *head_params;

    /* Testing and tuning */
    bool force_scalar;             /* skip AVX2 paths                          */
    int split_kv;                  /* FLASH: 0 auto, 1 force split-KV, -1 never */
};

/* Inputs and outputs of one call. The caller owns every buffer. */
typedef struct {
    const float *q;  /* [n_q, H_q, d]  */
    const void *k;   /* [n_kv, H_kv, d] of k_type */
    const void *v;   /* [n_kv, H_kv, d] of v_type */
    float *out;      /* [n_q, H_q, d]  */
    float *lse;      /* optional [n_q, H_q] */
} lc_attn_io;

/* Defaults for a method: threads = all, naive cap 1 GiB, window 4096, sinks 4,
 * feature elu+1, chunk 512, overlap 64, seed 42. */
void lc_attn_params_init(lc_attn_params *p, lc_attn_method method);

const char *lc_attn_method_name(lc_attn_method m);
const char *lc_feature_map_name(lc_feature_map f);

/* Parse a method spec into p (after lc_attn_params_init semantics):
 *   naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]
 * HYBRID cannot be given as one spec (it needs per-head params). */
lc_status lc_attn_parse(const char *spec, lc_attn_params *p, lc_error *err);

/* Check shapes and parameters; refuse anything that cannot work. */
lc_status lc_attn_validate(const lc_attn_shape *s, const lc_attn_params *p, lc_error *err);

/* The exact scratch memory, in bytes, that lc_attn_forward needs for these
 * shapes, parameters and thread count. Validates first. For NAIVE past its
 * cap this returns LC_ERR_TOO_LARGE with a message that says how much memory
 * the score matrix would need (and *bytes is set to that amount). */
lc_status lc_attn_workspace(const lc_attn_shape *s, const lc_attn_params *p, size_t *bytes, lc_error *err);

/* Run attention with caller-provided scratch (>= lc_attn_workspace bytes,
 * 64-byte aligned is best). */
lc_status lc_attn_forward(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, void *workspace,
                          size_t workspace_bytes, lc_error *err);

/* Convenience: computes the workspace, allocates, runs, frees. */
lc_status lc_attn(const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io, lc_error *err);

/* The floating-point operations the method really performs (multiply and add
 * counted as 2), for throughput figures. Masked-out work that the method skips
 * is not counted. */
double lc_attn_flops(const lc_attn_shape *s, const lc_attn_params *p);

/* ---- LINEAR attention: O(1)-per-token recurrent state for decode ---------
 *
 * The state holds, per KV head (its query heads share it), S = sum_j
 * phi(k_j) v_j^T [F, d] and z = sum_j phi(k_j) [F] (with a running
 * stabiliser for FAVOR+). Feeding the keys one at a time and querying after
 * each gives the same result as the causal parallel form. See docs/linear.md. */
typedef struct lc_linear_state lc_linear_state;

/* n_head, n_head_kv, head_dim as in lc_attn_shape; p->method must be LINEAR. */
lc_status lc_linear_state_create(int32_t n_head, int32_t n_head_kv, int32_t head_dim, const lc_attn_params *p,
                                 lc_linear_state **out, lc_error *err);
void lc_linear_state_free(lc_linear_state *st);
void lc_linear_state_reset(lc_linear_state *st);
/* Bytes held by the state (constant in the sequence length). */
size_t lc_linear_state_bytes(const lc_linear_state *st);
/* Append one key/value (f32, [H_kv, d]) then attend with one query
 * ([H_q, d]) into out ([H_q, d]). */
lc_status lc_linear_state_step(lc_linear_state *st, const float *q, const float *k, const float *v, float *out,
                               lc_error *err);
/* Append n keys/values ([n, H_kv, d], f32) without querying (after a prefill). */
lc_status lc_linear_state_absorb(lc_linear_state *st, int64_t n, const float *k, const float *v, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_ATTN_H */
