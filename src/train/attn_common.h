/*
 * Internal: helpers shared by the trainer's attention forms (flash, naive,
 * linear): the per-sequence lc_attn_shape, strided head views, and the
 * grouped-query reduction of per-query-head dK/dV partials.
 */
#ifndef LC_TRAIN_ATTN_COMMON_H
#define LC_TRAIN_ATTN_COMMON_H

#include "longctx/attn.h"
#include "train/layers.h"

/* The lc_attn_shape of one causal sequence: n_q = n_kv = T, f32 K/V. */
lc_attn_shape lc_tr_attn_seq_shape(const lc_tr_attn_shape *s);

/* Row i of head h of sequence b in a [B, T, H, hd] tensor (row stride H*hd). */
static inline size_t lc_tr_head_off(const lc_tr_attn_shape *s, int64_t b, int64_t i, int32_t h, int32_t n_heads) {
    return (((size_t)b * (size_t)s->t + (size_t)i) * (size_t)n_heads + (size_t)h) * (size_t)s->hd;
}

/* Bytes of the GQA partials dK, dV [B, T, NH, hd] each (0 when NH == KV). */
size_t lc_tr_attn_partials_bytes(const lc_tr_attn_shape *s);

/* Where head h writes its dK/dV rows: straight into dk/dv when NH == KV,
 * else into the partials (stride NH*hd). */
typedef struct {
    float *dk, *dv;  /* base of the rows written by query heads          */
    int32_t heads;   /* their head count (KV or NH)                      */
    bool partial;    /* reduce afterwards                                */
} lc_tr_kv_grad;

lc_tr_kv_grad lc_tr_kv_grad_target(const lc_tr_attn_shape *s, float *dk, float *dv, void *partials);
/* Head h's index in the target (h itself for partials, h / group for direct). */
static inline int32_t lc_tr_kv_grad_head(const lc_tr_attn_shape *s, const lc_tr_kv_grad *g, int32_t h) {
    return g->partial ? h : h / (s->nh / s->kv);
}
/* dk[b, t, hk] = sum over the group's query heads of the partials, in head
 * order (no-op when !g->partial). */
void lc_tr_kv_grad_reduce(const lc_tr_attn_shape *s, const lc_tr_kv_grad *g, float *dk, float *dv, int n_threads);

#endif
