/*
 * Internal to src/app: the chat template tables and a token-sequence builder
 * that encodes text runs between template markers.
 */
#ifndef LC_APP_INTERNAL_H
#define LC_APP_INTERNAL_H

#include "common/util.h"
#include "longctx/app.h"

#define LC_CHAT_MAX_SPECIALS 4

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
} lc_chat_tpl_def;

const lc_chat_tpl_def *lc_chat_tpl(lc_chat_template t);

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
lc_status lc_chat_render_seq(lc_chat_template t, const lc_tokenizer *tok, lc_chat_role role, const char *text,
                             size_t len, bool first, lc_tok_seq *s, lc_error *err);

#endif
