/*
 * `longctx run --session FILE`: llama.cpp's prompt cache made safe. Before
 * generating, a session FILE that exists is loaded (refused whole when it is
 * truncated, corrupted or of another model/context: runtime.h) and the
 * longest prefix the prompt shares with its token history is kept, so only
 * the rest is evaluated (a file saved with another -c loads when its tokens
 * fit; --prompt-cache is its llama.cpp name); after generating, the tokens the context evaluated
 * (prompt and generated) are saved to FILE with the cache. The sampler is
 * seeded by --seed as usual (chat sessions keep it).
 */
#ifndef LC_CLI_RUN_SESSION_H
#define LC_CLI_RUN_SESSION_H

#include "longctx/runtime.h"

/* Returns how many leading prompt tokens the context already holds (0 when
 * FILE does not exist), or -1 after printing why the file was refused. */
int64_t cli_run_session_load(lc_context *ctx, const char *path, const int32_t *ids, int64_t n_ids);
/* The context holds ids [n_ids] and then the first generated tokens it
 * evaluated (gen [n_gen] as emitted); CLI_OK or CLI_FAIL after a message. */
int cli_run_session_save(const lc_context *ctx, const char *path, const int32_t *ids, int64_t n_ids,
                         const int32_t *gen, int64_t n_gen);

#endif
