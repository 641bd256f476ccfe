/*
 * The KV cache of one sequence: per layer, K and V of every slot, stored
 * after RoPE, in the cache's element types (f32, f16, or q8_0 when head_dim
 * is a multiple of 32).
 *
 *   k: [n_layers][n_slots][n_head_kv][head_dim]   of k_type
 *   v: [n_layers][n_slots][n_head_kv][head_dim]   of v_type
 *   pos: [n_slots] int64   the position held by each slot
 *
 * The slot -> position map is explicit so that policies that reorder or drop
 * slots (ring buffer, sinks, context shift, eviction) can be added without
 * changing the attention call: when the slots are in plain order (pos[i] == i
 * for every used slot) attention gets k_pos = NULL, else it gets pos.
 *
 * Appending n tokens is a transaction: lc_kv_cache_reserve hands out slots
 * (setting their positions), the forward pass stores each layer's rows, and
 * lc_kv_cache_commit makes them part of the sequence. A failure in between
 * leaves n_used unchanged (the written rows are overwritten next time).
 */
#ifndef LC_RUNTIME_KV_CACHE_H
#define LC_RUNTIME_KV_CACHE_H

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/runtime.h"

typedef struct {
    lc_kv_policy policy;
    int32_t n_layers, n_head_kv, head_dim;
    int64_t n_slots;        /* capacity (n_ctx)                                  */
    lc_dtype k_type, v_type;
    size_t k_row_bytes;     /* one slot of one layer: n_head_kv * head_dim elements */
    size_t v_row_bytes;
    char *k, *v;            /* see above; owned                                  */
    int64_t *pos;           /* [n_slots]; owned                                  */
    int64_t n_used;         /* committed slots: 0 .. n_used-1                    */
    int64_t next_pos;       /* position of the next token                        */
    bool in_order;          /* pos[i] == i for every used slot                   */
} lc_kv_cache;

/* One layer's keys and values as attention reads them. */
typedef struct {
    const void *k, *v;      /* [n_kv, n_head_kv, head_dim]                       */
    int64_t n_kv;
    const int64_t *k_pos;   /* NULL when slot i holds position i                 */
} lc_kv_view;

/* Bytes the cache will hold (K, V and positions); false on overflow. */
bool lc_kv_cache_bytes(int32_t n_layers, int32_t n_head_kv, int32_t head_dim, int64_t n_slots, lc_dtype k_type,
                       lc_dtype v_type, size_t *bytes);

lc_status lc_kv_cache_init(lc_kv_cache *c, lc_kv_policy policy, int32_t n_layers, int32_t n_head_kv,
                           int32_t head_dim, int64_t n_slots, lc_dtype k_type, lc_dtype v_type, lc_error *err);
void lc_kv_cache_free(lc_kv_cache *c);
/* Empty the cache (positions restart at 0). */
void lc_kv_cache_clear(lc_kv_cache *c);

/* Hand out n slots for the next n positions; *slot0 is the first. FULL
 * policy: refuses ("context full") when they do not fit. Changes nothing but
 * the positions of unused slots. */
lc_status lc_kv_cache_reserve(lc_kv_cache *c, int64_t n, int64_t *slot0, lc_error *err);
/* Store f32 rows k, v [n, n_head_kv*head_dim] of one layer into slots
 * slot0 .. slot0+n-1, converting to the cache types. */
void lc_kv_cache_store(lc_kv_cache *c, int32_t layer, int64_t slot0, int64_t n, const float *k, const float *v,
                       const lc_kernel_opts *ko);
/* The layer's view including n_pending reserved (not yet committed) slots. */
void lc_kv_cache_view(const lc_kv_cache *c, int32_t layer, int64_t n_pending, lc_kv_view *view);
/* Make the n reserved slots part of the sequence. */
void lc_kv_cache_commit(lc_kv_cache *c, int64_t n);
/* Drop everything after the first n_keep tokens (FULL policy: slot == position;
 * used to roll back a failed evaluation). */
void lc_kv_cache_truncate(lc_kv_cache *c, int64_t n_keep);

#endif
