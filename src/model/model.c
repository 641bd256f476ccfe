/* Model loading — placeholder until the real implementation lands: every call fails. */
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/tokenizer.h"
#include "longctx/gguf.h"
#include "longctx/common.h"
#include <math.h>
#include <string.h>

lc_status lc_model_load(const char *path, const lc_model_load_opts *opts, lc_model **out, lc_error *err) {
    (void)path;
    (void)opts;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_model_load: not implemented yet");
}

void lc_model_free(lc_model *m) {
    (void)m;
}

lc_status lc_model_config_validate(const lc_model_config *c, lc_error *err) {
    (void)c;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_model_config_validate: not implemented yet");
}

lc_status lc_model_write_gguf(const char *path, const lc_model_config *c, const lc_model_weights *w, const lc_tokenizer *tok, lc_dtype type, lc_error *err) {
    (void)path;
    (void)c;
    (void)w;
    (void)tok;
    (void)type;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_model_write_gguf: not implemented yet");
}

lc_status lc_model_create_random(const lc_model_config *c, lc_dtype type, uint64_t seed, lc_model **out, lc_error *err) {
    (void)c;
    (void)type;
    (void)seed;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_model_create_random: not implemented yet");
}

int64_t lc_model_n_params(const lc_model_config *c) {
    (void)c;
    return (int64_t)0;
}

size_t lc_model_kv_bytes_per_token(const lc_model_config *c, lc_dtype k_type, lc_dtype v_type) {
    (void)c;
    (void)k_type;
    (void)v_type;
    return (size_t)0;
}
