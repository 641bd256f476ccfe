/*
 * The KV cache of one sequence: per layer, K and V of every slot in the
 * cache's element types (f32 / f16 / q8_0), keys stored after RoPE, and the
 * policy that decides which slot the next token takes (runtime.h lists the
 * policies; docs/kv-cache.md draws them).
 *
 *   k:    [n_layers][n_slots][n_head_kv][head_dim]   of k_type
 *   v:    [n_layers][n_slots][n_head_kv][head_dim]   of v_type
 *   pos:  [n_slots] int64   the position the slot's key is rotated at (-1: free)
 *   tok:  [n_slots] int32   the token it holds (-1: free)
 *   mass: [n_slots] f64     H2O only: attention received so far
 *
 * Slot maps per policy (S sinks, W window, B chunk, C = W + B - 1):
 *
 *   FULL, SHIFT  slot i holds position i (in order; a shift moves the kept
 *                rows down and re-rotates their keys)
 *   WINDOW/SINKS slots 0..S-1: the first S tokens at positions 0..S-1;
 *                slots S..S+C-1: a ring, token t (t >= S) in slot
 *                S + (t - S) mod C, its key rotated at t - base
 *   H2O          any slot, any order; positions are the tokens' own
 *
 * Ring positions: attention scores under RoPE depend on position differences
 * only, so ring keys keep the rotation they were stored with while queries
 * are rotated at t - base too; the sinks are attended in a second call with
 * the query re-rotated to its position within the cache, min(t, S+W-1)
 * (StreamingLLM's positions), and the two softmax parts are merged by their
 * log-sum-exp. base grows by C when t - base would pass T = 2C + S + B, and
 * the ring's keys are then re-rotated by -C (each key lives C tokens, so it
 * is re-rotated at most once): RoPE only ever sees positions in [0, T).
 *
 * Appending n tokens is a transaction: lc_kv_cache_reserve picks the slots
 * (evicting, shifting or rebasing as the policy says, which changes what is
 * committed), the forward pass stores each layer's rows with
 * lc_kv_cache_store, and lc_kv_cache_commit makes them part of the sequence.
 * A failure in between: FULL rolls back to where it was (truncate); the other
 * policies may have evicted already, so the runtime clears the cache.
 */
#ifndef LC_RUNTIME_KV_CACHE_H
#define LC_RUNTIME_KV_CACHE_H

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/rope.h"
#include "longctx/runtime.h"

typedef struct {
    double mass;
    int64_t pos;
    int64_t slot;
} lc_kv_candidate;

typedef struct {
    lc_kv_policy policy;
    int64_t n_sinks, window, n_keep, n_heavy; /* policy parameters (0 where unused)   */
    int32_t n_layers, n_head_kv, head_dim;
    int64_t n_slots;        /* capacity                                          */
    int64_t n_chunk;        /* most tokens one reservation may take              */
    lc_dtype k_type, v_type;
    size_t k_row_bytes;     /* one slot of one layer: n_head_kv * head_dim elements */
    size_t v_row_bytes;
    char *k, *v;            /* see above; owned                                  */
    int64_t *pos;           /* [n_slots]; owned                                  */
    int32_t *tok;           /* [n_slots]; owned                                  */
    double *mass;           /* [n_slots] H2O; owned (NULL otherwise)             */
    lc_kv_candidate *cand;  /* [n_slots] H2O eviction scratch; owned             */
    int64_t *pend;          /* [n_chunk] slot of each reserved row; owned        */
    float *scratch;         /* [n_threads][n_head_kv*head_dim] f32 rows; owned   */
    int64_t n_pending;      /* rows reserved, not yet committed                  */
    int64_t n_used;         /* committed occupied slots                          */
    int64_t hw;             /* H2O: slots 0..hw-1 have been used                 */
    int64_t next_pos;       /* position of the next token (logical)              */
    int64_t n_seen;         /* tokens committed since the last clear             */
    bool in_order;          /* pos[i] == i for every used slot                   */
    /* WINDOW, SINKS */
    int64_t ring_cap;       /* C                                                 */
    int64_t ring_n;         /* tokens committed to the ring                      */
    int64_t base;           /* ring keys are rotated at (position - base)        */
    int64_t rot_limit;      /* T: rotation positions stay below it               */
    /* statistics */
    int64_t n_discarded;    /* SHIFT: tokens discarded                           */
    int64_t n_shifts;       /* SHIFT: shifts; ring: rebases                      */
    /* maintenance (shift re-rotation, ring rebase, H2O sums) */
    const lc_rope_cache *rope;
    lc_kernel_opts ko;      /* ISA and threads of the maintenance loops          */
    int n_threads;
} lc_kv_cache;

/* The policy and its parameters as the cache needs them. */
typedef struct {
    lc_kv_policy policy;
    int64_t n_sinks, window, n_keep, n_heavy;
    bool no_storage; /* positions and tokens only, no K/V rows (kv_external) */
} lc_kv_policy_cfg;

/* One layer's keys and values as attention reads them. */
typedef struct {
    const void *k, *v;      /* [n_kv, n_head_kv, head_dim]                       */
    int64_t n_kv;
    const int64_t *k_pos;   /* NULL when key i sits at position i                */
} lc_kv_view;

/* Check the policy against the cache shape: n_ctx (FULL, SHIFT), n_batch.
 * Returns the slot count and the largest chunk one forward pass may take. */
lc_status lc_kv_policy_plan(const lc_kv_policy_cfg *p, int64_t n_ctx, int64_t n_batch, int64_t *n_slots,
                            int64_t *n_chunk, int64_t *rot_limit, lc_error *err);

/* Bytes the cache will hold: K and V, then per slot its position and token
 * (12 bytes), and for H2O its mass and an eviction candidate (+32 bytes);
 * false on overflow. */
bool lc_kv_cache_bytes(lc_kv_policy policy, int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t n_slots,
                       lc_dtype k_type, lc_dtype v_type, size_t *bytes);

/* n_slots, n_chunk from lc_kv_policy_plan. rope: the context's cache (used by
 * SHIFT and the ring rebase; must outlive the cache); ko: threads and ISA. */
lc_status lc_kv_cache_init(lc_kv_cache *c, const lc_kv_policy_cfg *p, int32_t n_layers, int32_t n_head_kv,
                           int32_t head_dim, int64_t n_slots, int64_t n_chunk, lc_dtype k_type, lc_dtype v_type,
                           const lc_rope_cache *rope, const lc_kernel_opts *ko, lc_error *err);
void lc_kv_cache_free(lc_kv_cache *c);
/* Empty the cache (positions restart at 0). */
void lc_kv_cache_clear(lc_kv_cache *c);

/* Room for n more tokens without the policy dropping anything it must not:
 * FULL: n_used + n <= n_slots; every other policy: always. */
bool lc_kv_cache_has_room(const lc_kv_cache *c, int64_t n);

/* Pick slots for tokens [n] (1 <= n <= n_chunk; FULL: any n that fits) at
 * positions next_pos.. : FULL refuses ("context full") when they do not fit;
 * SHIFT shifts, H2O evicts, rings rebase when needed. */
lc_status lc_kv_cache_reserve(lc_kv_cache *c, const int32_t *tokens, int64_t n, lc_error *err);
/* Where RoPE rotates the reserved rows: row i at lc_kv_cache_rot_pos0 + i. */
int64_t lc_kv_cache_rot_pos0(const lc_kv_cache *c);
/* Store f32 rows k, v [n_pending, n_head_kv*head_dim] of one layer into the
 * reserved slots, converting to the cache types. */
void lc_kv_cache_store(lc_kv_cache *c, int32_t layer, const float *k, const float *v, const lc_kernel_opts *ko);
/* The layer's main view including the reserved rows: FULL/SHIFT slots
 * 0..n_used+pending-1; H2O slots 0..hw-1 with their positions; rings: the
 * ring's slots with their rotation positions. */
void lc_kv_cache_view(const lc_kv_cache *c, int32_t layer, lc_kv_view *view);
/* Rings with sinks: the sink slots (n_kv 0 when none is filled yet). */
void lc_kv_cache_sinks_view(const lc_kv_cache *c, int32_t layer, lc_kv_view *view);
/* Make the reserved rows part of the sequence. */
void lc_kv_cache_commit(lc_kv_cache *c);
/* Forget the reserved rows (FULL and SHIFT in order: exact; others: the cache
 * is cleared, since eviction may already have happened). */
void lc_kv_cache_abort(lc_kv_cache *c);
/* Drop everything after the first n_keep tokens (FULL and SHIFT only: the
 * slots are in position order). */
void lc_kv_cache_truncate(lc_kv_cache *c, int64_t n_keep);

/* Tokens the next query sees besides itself. */
int64_t lc_kv_cache_n_visible(const lc_kv_cache *c);
/* The logical position of the token in slot i (rings: rotation + base). */
int64_t lc_kv_cache_slot_pos(const lc_kv_cache *c, int64_t slot);

/* H2O: add the attention probabilities of query rows q [n_q, n_head,
 * head_dim] (positions q_pos0.., log-sum-exp lse [n_q, n_head], scale) to the
 * masses of the slots of the main view. O(n_q * n_kv * n_head * head_dim). */
void lc_kv_cache_h2o_accumulate(lc_kv_cache *c, int32_t layer, const float *q, int64_t n_q, int64_t q_pos0,
                                int32_t n_head, const float *lse, float scale);

/* Internal to the kv_*.c files. */
void lc_kv_store_row(const lc_kv_cache *c, lc_dtype t, const float *src, char *dst, int64_t n);
lc_status lc_kv_shift(lc_kv_cache *c, lc_error *err);           /* kv_shift.c */
void lc_kv_ring_rebase(lc_kv_cache *c);                          /* kv_shift.c */
lc_status lc_kv_h2o_evict(lc_kv_cache *c, int64_t n_new, lc_error *err); /* kv_h2o.c */
/* Re-rotate the key of slot `slot` in every layer by delta, and move it (and
 * its value) to slot dst (may equal slot). */
void lc_kv_move_rotate(lc_kv_cache *c, int64_t slot, int64_t dst, int64_t delta, float *row);

/* ---- Window layers' rings (kv_window.c) -------------------------------------
 *
 * A model's window layers (sliding window W) keep only the keys a query can
 * still see: a ring of C = W + B - 1 slots per window layer (B: the largest
 * chunk), token t (counted since the cache was cleared: n_seen) in slot
 * t mod C, so a chunk's first row still finds its W-1 predecessors while the
 * chunk overwrites the oldest slots. Under the FULL policy, under
 * WINDOW/SINKS when the policy's window is at least W, and under SHIFT when
 * a shift keeps at least W + B tokens after the kept prefix (docs/kv-cache.md,
 * "Hybrid models"). pos holds each slot's rotation position (the token's
 * position under FULL; t - base under the ring policies, lowered with the
 * main ring's rebases; t - the tokens discarded so far under SHIFT), shared
 * by all ring layers; an empty or forgotten slot holds INT64_MAX (never
 * causal-visible). The global layers keep the main cache. */
typedef struct {
    int32_t n_layers;       /* window layers held here (0: no rings)             */
    int64_t window;         /* W                                                 */
    int64_t cap;            /* C = W + B - 1                                     */
    size_t k_row_bytes, v_row_bytes;
    lc_dtype k_type, v_type;
    char *k, *v;            /* [n_layers][cap] rows; owned                       */
    int64_t *pos;           /* [cap] rotation positions; owned                   */
    int64_t hi;             /* tokens 0..hi-1 stored: slots 0..min(hi, cap)-1 written */
} lc_kv_wring;

/* Bytes of rings for n_layers window layers (K, V and the positions). */
bool lc_kv_wring_bytes(int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t window, int64_t n_chunk,
                       lc_dtype k_type, lc_dtype v_type, size_t *bytes);
lc_status lc_kv_wring_init(lc_kv_wring *r, int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t window,
                           int64_t n_chunk, lc_dtype k_type, lc_dtype v_type, lc_error *err);
void lc_kv_wring_free(lc_kv_wring *r);
void lc_kv_wring_clear(lc_kv_wring *r);
/* Store rows k, v [n, n_head_kv*head_dim] (f32) of tokens t0.., rotated at
 * p0.., in ring layer i (conversion as the main cache's, with its threads).
 * FULL: t0 == p0. */
void lc_kv_wring_store(lc_kv_wring *r, const lc_kv_cache *main, int32_t i, const float *k, const float *v, int64_t n,
                       int64_t t0, int64_t p0);
/* The main ring rebased (its base grew by -delta): re-rotate every stored
 * key by delta with rope (the window layers' own) and lower pos by -delta. */
void lc_kv_wring_rebase(lc_kv_wring *r, const lc_kv_cache *main, const lc_rope_cache *rope, int64_t delta);
/* The main cache shifted (SHIFT; d tokens after the first keep discarded, in
 * one or more shifts): forget the ring's discarded tokens, re-rotate the
 * later ones by -d and lower their positions by d. */
void lc_kv_wring_shift(lc_kv_wring *r, const lc_kv_cache *main, const lc_rope_cache *rope, int64_t keep, int64_t d);
void lc_kv_wring_view(const lc_kv_wring *r, int32_t i, lc_kv_view *view);
/* Forget positions >= n_keep. False (nothing changed) when a position in
 * [n_keep - W + 1, n_keep) the next token needs was already overwritten. */
bool lc_kv_wring_truncate(lc_kv_wring *r, int64_t n_keep);

#endif
