/*
 * Moving and re-rotating cached keys: the SHIFT policy's context shift and
 * the ring policies' position rebase (see kv_cache.h).
 *
 * RoPE rotations compose, R(a) R(b) = R(a + b), so a key stored as m R(p) k
 * becomes m R(p + delta) k by rotating it by delta (without the magnitude:
 * lc_rope_cache_rotate_delta). An f32 key is rotated in place; an f16 or q8_0
 * key is widened to f32, rotated and narrowed again, which rounds it once more
 * (relative 2^-11 for f16, half a quantisation step for q8_0).
 */
#include <string.h>

#include <omp.h>

#include "runtime/kv_cache.h"

void lc_kv_move_rotate(lc_kv_cache *c, int64_t slot, int64_t dst, int64_t delta, float *row) {
    const int64_t n = (int64_t)c->n_head_kv * c->head_dim;
    for (int32_t l = 0; l < c->n_layers; l++) {
        char *kl = c->k + (size_t)l * (size_t)c->n_slots * c->k_row_bytes;
        char *vl = c->v + (size_t)l * (size_t)c->n_slots * c->v_row_bytes;
        char *ks = kl + (size_t)slot * c->k_row_bytes, *kd = kl + (size_t)dst * c->k_row_bytes;
        if (delta != 0) {
            lc_kernel_to_f32(c->k_type, ks, row, n, &c->ko);
            /* cannot fail: the shapes were checked when the context was made */
            lc_rope_cache_rotate_delta(c->rope, row, c->n_head_kv, c->head_dim, delta);
            lc_kv_store_row(c, c->k_type, row, kd, n);
        } else if (dst != slot) {
            memcpy(kd, ks, c->k_row_bytes);
        }
        if (dst != slot)
            memcpy(vl + (size_t)dst * c->v_row_bytes, vl + (size_t)slot * c->v_row_bytes, c->v_row_bytes);
    }
}

/*
 * llama.cpp's context shift: keep the first n_keep tokens, discard the next
 * d = (n_used - n_keep) / 2 and move the rest down by d, re-rotating their
 * keys by -d; positions stay equal to slots.
 *
 *   before  [ keep | discard (d) | kept (n_used - keep - d)        ]
 *   after   [ keep | kept, positions and rotations lowered by d ]
 */
lc_status lc_kv_shift(lc_kv_cache *c, lc_error *err) {
    const int64_t keep = LC_MIN(c->n_keep, c->n_used);
    const int64_t d = (c->n_used - keep) / 2;
    if (d < 1)
        return lc_fail(err, LC_ERR_INTERNAL, "context shift: nothing to discard (%lld held, keep %lld)",
                       (long long)c->n_used, (long long)keep);
    const int64_t row = (int64_t)c->n_head_kv * c->head_dim;
    /* Blocks of d rows: block b's destinations are block b-1's sources, which
     * were all read while block b-1 ran. */
    for (int64_t b0 = keep + d; b0 < c->n_used; b0 += d) {
        const int64_t b1 = LC_MIN(b0 + d, c->n_used);
#pragma omp parallel for num_threads(c->n_threads) schedule(static)
        for (int64_t i = b0; i < b1; i++)
            lc_kv_move_rotate(c, i, i - d, -d, c->scratch + (size_t)omp_get_thread_num() * (size_t)row);
    }
    for (int64_t i = keep; i < c->n_used - d; i++) {
        c->pos[i] = i;
        c->tok[i] = c->tok[i + d];
    }
    for (int64_t i = c->n_used - d; i < c->n_used; i++) {
        c->pos[i] = -1;
        c->tok[i] = -1;
    }
    c->n_used -= d;
    c->next_pos -= d;
    c->n_discarded += d;
    c->n_shifts++;
    return LC_OK;
}

/* Lower the ring's rotation positions by C (ring_cap): every ring key is
 * re-rotated by -C and base grows by C, so (position - base) is unchanged
 * for attention while RoPE's positions stay below rot_limit. */
void lc_kv_ring_rebase(lc_kv_cache *c) {
    const int64_t d = c->ring_cap, S = c->n_sinks;
    const int64_t n = LC_MIN(c->ring_n, c->ring_cap);
    const int64_t row = (int64_t)c->n_head_kv * c->head_dim;
#pragma omp parallel for num_threads(c->n_threads) schedule(static)
    for (int64_t i = 0; i < n; i++)
        if (c->pos[S + i] >= 0)
            lc_kv_move_rotate(c, S + i, S + i, -d, c->scratch + (size_t)omp_get_thread_num() * (size_t)row);
    for (int64_t i = 0; i < n; i++)
        if (c->pos[S + i] >= 0) c->pos[S + i] -= d;
    c->base += d;
    c->n_shifts++;
}
