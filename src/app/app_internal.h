/*
 * Internal to src/app: the chat template tables and a token-sequence builder
 * that encodes text runs between template markers.
 */
#ifndef LC_APP_INTERNAL_H
#define LC_APP_INTERNAL_H

#include "common/util.h"
#include "longctx/app.h"

#define LC_CHAT_MAX_SPECIALS 16

/* What a template family writes around turns (chat_template.c). A NULL
 * sys_pre with fold_system: the system prompt is written into the first user
 * message as fold_pre + S + fold_post. Markers listed in specials become one
 * token when the vocabulary has them. */
typedef struct {
    const char *name;
    const char *specials[LC_CHAT_MAX_SPECIALS];
    const char *sys_pre, *sys_post;
    bool fold_system;
    const char *fold_pre, *fold_post;
    const char *user_pre, *user_post;
    const char *asst_pre, *asst_post;
    const char *end_markers[LC_CHAT_MAX_SPECIALS];
    const char *stop_text;
    /* a table derived from the model's Jinja template (chat_jinja.c): turn 0
     * is sys_pre + S + sys_post, or preamble without a system prompt; no BOS
     * is added when the template writes it (bos_in_text) */
    bool jinja;
    const char *preamble;
    bool bos_in_text;
} lc_chat_tpl_def;

const lc_chat_tpl_def *lc_chat_tpl(lc_chat_template t);

/* A turn table derived from a Jinja chat template; owns its strings. */
typedef struct {
    lc_chat_tpl_def def;
    char *owned[8 + LC_CHAT_MAX_SPECIALS];
} lc_chat_tpl_dyn;

/* Render the template over probe conversations (with a system prompt when
 * with_system) and derive what each turn writes. bos/eos: the special
 * tokens' text (NULL: from tok, which may be NULL); tok also names the
 * markers that become single tokens. LC_ERR_UNSUPPORTED (with the reason)
 * when the turns are not regular; the template's own failure when it
 * refuses to render (raise_exception …). */
lc_status lc_chat_tpl_from_jinja(const char *src, size_t len, const lc_tokenizer *tok, const char *bos, const char *eos,
                                 bool with_system, lc_chat_tpl_dyn *out, lc_error *err);
void lc_chat_tpl_dyn_free(lc_chat_tpl_dyn *d);
/* The chat takes ctx and sampler (lc_chat_create_for_model's): lc_chat_free frees them. */
void lc_chat_own(lc_chat *c, lc_context *ctx, lc_sampler *sampler);
/* Stop tokens of a table: its end markers and EOS. */
int32_t lc_chat_stop_tokens_def(const lc_chat_tpl_def *d, const lc_tokenizer *tok, int32_t *ids, int32_t cap);

/* A growing token sequence; text is collected into a run and encoded in one
 * call when a marker (or the end) comes. */
typedef struct {
    int32_t *ids;
    int64_t n, cap;
    char *run;
    size_t run_len, run_cap;
} lc_tok_seq;

void lc_tok_seq_free(lc_tok_seq *s);
lc_status lc_tok_seq_push(lc_tok_seq *s, int32_t id, lc_error *err);
lc_status lc_tok_seq_text(lc_tok_seq *s, const lc_tokenizer *tok, const char *text, size_t len, lc_error *err);
lc_status lc_tok_seq_special(lc_tok_seq *s, const lc_tokenizer *tok, int32_t id, lc_error *err);
/* Template text with its markers (text may be NULL). */
lc_status lc_tok_seq_template(lc_tok_seq *s, const lc_chat_tpl_def *d, const lc_tokenizer *tok, const char *text,
                              lc_error *err);
lc_status lc_tok_seq_finish(lc_tok_seq *s, const lc_tokenizer *tok, lc_error *err);
/* lc_chat_render into a sequence (appends). */
lc_status lc_chat_render_seq(const lc_chat_tpl_def *d, const lc_tokenizer *tok, lc_chat_role role, const char *text,
                             size_t len, bool first, lc_tok_seq *s, lc_error *err);

#endif
