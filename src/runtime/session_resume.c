/* A prompt continued from a session file, and the generation saved back
 * (runtime.h: lc_session_resume, lc_session_save_generation). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "longctx/runtime.h"
#include "longctx/util.h"

/* Keep the first k of the n_hist tokens the loaded cache holds for the
 * prompt; returns what is kept (0 after a reset when it cannot be cut). */
static int64_t keep_prefix(lc_context *ctx, int64_t k, int64_t n_hist, int64_t n_prompt) {
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    const bool in_order = ks.policy == LC_KV_POLICY_FULL || ks.policy == LC_KV_POLICY_SHIFT;
    lc_error err;
    /* The cache must be exactly the history for its prefix to be reused; a
     * policy that evicts can only be continued, not cut. */
    bool ok = lc_context_n_past(ctx) == n_hist || !in_order;
    if (ok && k < n_hist) {
        if (k == n_prompt && k > 0) k--; /* the last prompt token again, for its logits */
        ok = in_order && lc_context_truncate(ctx, k, &err) == LC_OK;
    } else if (ok && k == n_prompt && !lc_context_logits(ctx)) {
        ok = in_order && k > 0 && lc_context_truncate(ctx, --k, &err) == LC_OK;
    }
    if (ok) return k;
    lc_context_reset(ctx);
    return 0;
}

lc_status lc_session_resume(lc_context *ctx, const char *path, const int32_t *prompt, int64_t n_prompt,
                            int64_t *reused, int64_t *n_history, lc_error *err) {
    *reused = 0;
    if (n_history) *n_history = -1;
    if (!ctx || !path || n_prompt < 0 || (n_prompt > 0 && !prompt))
        return lc_fail(err, LC_ERR_INVALID_ARG, "session resume: bad arguments");
    struct stat sb;
    if (stat(path, &sb) != 0) return LC_OK; /* nothing saved yet */
    lc_session_info info;
    lc_status st = lc_session_load_checked(ctx, path, NULL, NULL, NULL, &info, err);
    if (st != LC_OK) return st;
    if (info.blob_len > 0) { /* a chat's turn table */
        lc_session_info_free(&info);
        lc_context_reset(ctx);
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "%.300s holds a conversation (a chat session): saving a generation would overwrite it; "
                       "continue it as a chat, or give another file", path);
    }
    int64_t k = 0;
    while (k < info.n_tokens && k < n_prompt && info.tokens[k] == prompt[k]) k++;
    if (n_history) *n_history = info.n_tokens;
    *reused = keep_prefix(ctx, k, info.n_tokens, n_prompt);
    lc_session_info_free(&info);
    return LC_OK;
}

lc_status lc_session_save_generation(const lc_context *ctx, const char *path, const int32_t *prompt, int64_t n_prompt,
                                     const int32_t *gen, int64_t n_gen, int64_t *n_saved, lc_error *err) {
    if (n_saved) *n_saved = 0;
    if (!ctx || !path || n_prompt < 0 || n_gen < 0 || (n_prompt && !prompt) || (n_gen && !gen) ||
        n_prompt > LC_SESSION_MAX_TOKENS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "session save: bad arguments");
    const int64_t n_eval = LC_MIN(LC_MAX(lc_context_n_seen(ctx) - n_prompt, 0), n_gen);
    int32_t *hist = malloc((size_t)(n_prompt + n_eval + 1) * sizeof *hist);
    if (!hist) return lc_fail(err, LC_ERR_NOMEM, "session save: out of memory");
    if (n_prompt) memcpy(hist, prompt, (size_t)n_prompt * sizeof *hist);
    if (n_eval) memcpy(hist + n_prompt, gen, (size_t)n_eval * sizeof *hist);
    const lc_status st = lc_session_save(ctx, path, hist, n_prompt + n_eval, NULL, 0, NULL, err);
    free(hist);
    if (st == LC_OK && n_saved) *n_saved = n_prompt + n_eval;
    return st;
}
