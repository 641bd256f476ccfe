/* The default context length (runtime.h: lc_context_opts_default_ctx). */
#include "longctx/runtime.h"

bool lc_context_opts_default_ctx(lc_context_opts *o, const lc_model *m) {
    const bool by_policy = o->kv_policy == LC_KV_POLICY_WINDOW || o->kv_policy == LC_KV_POLICY_SINKS ||
                           o->kv_policy == LC_KV_POLICY_H2O;
    if (o->n_ctx > 0 || by_policy || !m) return false;
    const int64_t train = m->cfg.ctx_train;
    if (train > 0 && train <= LC_DEFAULT_N_CTX) return false; /* 0 means the model's */
    o->n_ctx = LC_DEFAULT_N_CTX;
    return train > LC_DEFAULT_N_CTX;
}
