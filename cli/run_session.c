/* `longctx run --session FILE` (run_session.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "longctx/util.h"
#include "run_session.h"

int64_t cli_run_session_load(lc_context *ctx, const char *path, const int32_t *ids, int64_t n_ids) {
    if (access(path, F_OK) != 0) return 0;
    lc_session_info info;
    lc_error err;
    if (lc_session_load_checked(ctx, path, NULL, NULL, NULL, &info, &err) != LC_OK) {
        cli_fail("run", &err);
        return -1;
    }
    if (info.blob_len > 0) { /* a chat's turn table: saving would drop the conversation */
        cli_error("run", "%s holds a conversation (longctx chat --session): run would overwrite it; continue it with "
                  "longctx chat --session, or give run another file", path);
        lc_session_info_free(&info);
        return -1;
    }
    int32_t *hist = info.tokens;
    const int64_t n_hist = info.n_tokens;
    int64_t k = 0;
    while (k < n_hist && k < n_ids && hist[k] == ids[k]) k++;
    free(hist);
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    const bool in_order = ks.policy == LC_KV_POLICY_FULL || ks.policy == LC_KV_POLICY_SHIFT;
    /* The cache must be exactly the history for its prefix to be reused; a
     * policy that evicts can only be continued, not cut. */
    bool ok = lc_context_n_past(ctx) == n_hist || !in_order;
    if (ok && k < n_hist) {
        if (k == n_ids && k > 0) k--; /* the last prompt token again, for its logits */
        ok = in_order && lc_context_truncate(ctx, k, &err) == LC_OK;
    } else if (ok && k == n_ids && !lc_context_logits(ctx)) {
        ok = in_order && k > 0 && lc_context_truncate(ctx, --k, &err) == LC_OK;
    }
    if (!ok) {
        lc_context_reset(ctx);
        k = 0;
    }
    fprintf(stderr, "longctx run: session %s: %lld of %lld prompt tokens reused (%lld in the file)\n", path,
            (long long)k, (long long)n_ids, (long long)n_hist);
    return k;
}

int cli_run_session_save(const lc_context *ctx, const char *path, const int32_t *ids, int64_t n_ids,
                         const int32_t *gen, int64_t n_gen) {
    const int64_t n_eval = LC_MIN(LC_MAX(lc_context_n_seen(ctx) - n_ids, 0), n_gen);
    int32_t *hist = malloc((size_t)(n_ids + n_eval + 1) * sizeof(int32_t));
    if (!hist) {
        cli_error("run", "out of memory");
        return CLI_FAIL;
    }
    memcpy(hist, ids, (size_t)n_ids * sizeof(int32_t));
    if (n_eval) memcpy(hist + n_ids, gen, (size_t)n_eval * sizeof(int32_t));
    lc_error err;
    const lc_status st = lc_session_save(ctx, path, hist, n_ids + n_eval, NULL, 0, NULL, &err);
    free(hist);
    if (st != LC_OK) return cli_fail("run", &err);
    fprintf(stderr, "longctx run: session saved to %s (%lld tokens)\n", path, (long long)(n_ids + n_eval));
    return CLI_OK;
}
