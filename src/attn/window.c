/*
 * WINDOW attention (sliding window + attention sinks, StreamingLLM): the FLASH
 * engine (flash.c) with a visibility rule. Key j is visible to query i iff it
 * is causal-visible and (pos(i) - pos(j) < W or pos(j) < S); without causal
 * masking, |pos(i) - pos(j)| < W or pos(j) < S. Key tiles wholly outside the
 * window that hold no sink are never visited, so the cost is O(n (W + S)).
 * With W >= n and S = 0 the tiles and their order are those of FLASH, so the
 * result equals FLASH bit for bit.
 */
#include "attn/flash_engine.h"

static lc_flash_vis window_vis(const lc_attn_ctx *c) {
    lc_flash_vis v = {c->p->window, c->p->n_sinks};
    return v;
}

lc_status lc_attn_window_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    const lc_flash_vis v = window_vis(c);
    return lc_flash_workspace(c, &v, bytes, err);
}

lc_status lc_attn_window_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    const lc_flash_vis v = window_vis(c);
    return lc_flash_run(c, &v, ws, ws_bytes, err);
}
