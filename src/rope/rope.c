/* RoPE — placeholder until the real implementation lands: every call fails. */
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/tokenizer.h"
#include "longctx/gguf.h"
#include "longctx/common.h"
#include <math.h>
#include <string.h>

void lc_rope_config_init(lc_rope_config *c, int32_t n_dims) {
    (void)c;
    (void)n_dims;
}

const char * lc_rope_scaling_name(lc_rope_scaling s) {
    (void)s;
    return NULL;
}

bool lc_rope_scaling_parse(const char *s, lc_rope_scaling *out) {
    (void)s;
    (void)out;
    return false;
}

lc_status lc_rope_validate(const lc_rope_config *c, lc_error *err) {
    (void)c;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_rope_validate: not implemented yet");
}

lc_status lc_rope_freqs(const lc_rope_config *c, int64_t cur_len, float *theta, float *mscale, lc_error *err) {
    (void)c;
    (void)cur_len;
    (void)theta;
    (void)mscale;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_rope_freqs: not implemented yet");
}

lc_status lc_rope_cache_create(const lc_rope_config *c, int64_t n_pos, lc_rope_cache **out, lc_error *err) {
    (void)c;
    (void)n_pos;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_rope_cache_create: not implemented yet");
}

lc_status lc_rope_cache_set_length(lc_rope_cache *rc, int64_t cur_len, lc_error *err) {
    (void)rc;
    (void)cur_len;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_rope_cache_set_length: not implemented yet");
}

void lc_rope_cache_free(lc_rope_cache *rc) {
    (void)rc;
}

int64_t lc_rope_cache_n_pos(const lc_rope_cache *rc) {
    (void)rc;
    return (int64_t)0;
}

size_t lc_rope_cache_bytes(const lc_rope_cache *rc) {
    (void)rc;
    return (size_t)0;
}

void lc_rope_apply(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos) {
    (void)rc;
    (void)x;
    (void)n_heads;
    (void)head_dim;
    (void)pos;
}

void lc_rope_apply_inverse(const lc_rope_cache *rc, float *x, int32_t n_heads, int32_t head_dim, int64_t pos) {
    (void)rc;
    (void)x;
    (void)n_heads;
    (void)head_dim;
    (void)pos;
}

void lc_rope_rotate_delta(const lc_rope_config *c, const float *theta, float *x, int32_t n_heads, int32_t head_dim, int64_t delta) {
    (void)c;
    (void)theta;
    (void)x;
    (void)n_heads;
    (void)head_dim;
    (void)delta;
}
