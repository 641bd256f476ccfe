/* HYBRID attention — placeholder until the method lands (refuses every call). */
#include "attn/attn_internal.h"

lc_status lc_attn_hybrid_workspace(const lc_attn_ctx *c, size_t *bytes, lc_error *err) {
    (void)c;
    *bytes = 0;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "attention method 'hybrid' is not implemented yet");
}

lc_status lc_attn_hybrid_run(const lc_attn_ctx *c, void *ws, size_t ws_bytes, lc_error *err) {
    (void)c, (void)ws, (void)ws_bytes;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "attention method 'hybrid' is not implemented yet");
}
