/* --sessions DIR: every slot's cache saved on stop (DIR/slot-N.lcsession, by
 * the runtime's session files: a temporary file renamed over the old one)
 * and loaded at start, so a restarted server still holds the conversations it
 * had. A file that does not fit (another model, --kv-policy or cache type,
 * more tokens than -c holds, a corrupted or truncated file) is refused whole
 * by lc_session_load and the slot starts empty, with a note in the log; one
 * saved with another -c whose tokens fit loads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/server_internal.h"

static void slot_path(const lc_server *s, int i, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/slot-%d.lcsession", s->sessions_dir, i);
}

static lc_status check_history(void *user, const int32_t *tokens, int64_t n_tokens, const void *blob, size_t blob_len,
                               int64_t n_cached, lc_error *err) {
    (void)tokens, (void)blob, (void)blob_len;
    const srv_slot *sl = user;
    if (n_tokens != n_cached || n_tokens > lc_context_n_ctx(sl->ctx))
        return lc_fail(err, LC_ERR_FORMAT, "its history (%lld tokens) is not what its cache holds (%lld)",
                       (long long)n_tokens, (long long)n_cached);
    return LC_OK;
}

lc_status srv_sessions_load(lc_server *s, lc_error *err) {
    if (!s->sessions_dir) return LC_OK;
    if (mkdir(s->sessions_dir, 0700) != 0 && errno != EEXIST)
        return lc_fail(err, LC_ERR_IO, "serve: --sessions %s: %s", s->sessions_dir, strerror(errno));
    int loaded = 0;
    for (int i = 0; i < s->n_slots; i++) {
        srv_slot *sl = &s->slots[i];
        char path[4096];
        slot_path(s, i, path, sizeof path);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        lc_session_info info;
        lc_error e2;
        if (lc_session_load_checked(sl->ctx, path, NULL, check_history, sl, &info, &e2) != LC_OK) {
            fprintf(stderr, "serve: %s not loaded: %s\n", path, e2.msg);
            continue;
        }
        const int64_t n = info.n_tokens;
        if (n > 0) memcpy(sl->cached, info.tokens, (size_t)n * sizeof *info.tokens);
        sl->n_cached = n;
        atomic_store(&sl->n_used, lc_context_n_past(sl->ctx));
        lc_session_info_free(&info);
        if (s->tree) srv_tree_insert(s->tree, sl->ctx, sl->cached, sl->n_cached);
        loaded++;
    }
    if (loaded) fprintf(stderr, "serve: %d slot cache%s loaded from %s\n", loaded, loaded == 1 ? "" : "s", s->sessions_dir);
    return LC_OK;
}

void srv_sessions_save(lc_server *s) {
    if (!s->sessions_dir || !s->slots) return;
    int saved = 0;
    for (int i = 0; i < s->n_slots; i++) {
        srv_slot *sl = &s->slots[i];
        char path[4096];
        slot_path(s, i, path, sizeof path);
        lc_error e2;
        if (sl->busy || lc_context_n_past(sl->ctx) != sl->n_cached) { /* mid-request, or a ring's history: not kept */
            remove(path);
            continue;
        }
        if (lc_session_save(sl->ctx, path, sl->cached, sl->n_cached, NULL, 0, NULL, &e2) != LC_OK)
            fprintf(stderr, "serve: slot %d not saved: %s\n", i, e2.msg);
        else
            saved++;
    }
    fprintf(stderr, "serve: %d slot cache%s saved to %s\n", saved, saved == 1 ? "" : "s", s->sessions_dir);
}
