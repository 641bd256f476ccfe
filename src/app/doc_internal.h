/*
 * Internal to the document pipeline (doc.c, doc_templates.c, doc_model.c):
 * a growing string and placeholder filling.
 */
#ifndef LC_APP_DOC_INTERNAL_H
#define LC_APP_DOC_INTERNAL_H

#include "common/util.h"
#include "longctx/app.h"

typedef struct {
    char *p;
    size_t len, cap;
} lc_doc_str;

bool lc_doc_str_put(lc_doc_str *s, const char *p, size_t n);
void lc_doc_str_free(lc_doc_str *s);

/* What the placeholders stand for (lengths are bytes; text need not be
 * NUL-terminated). */
typedef struct {
    const char *instruction, *question;
    const char *text;
    size_t text_len;
    int64_t part;
    const char *answer;
    size_t answer_len;
    const char *answers;
    size_t answers_len;
} lc_doc_vars;

/* out = tpl with the placeholders filled (out->len reset first). */
bool lc_doc_fill(lc_doc_str *out, const char *tpl, const lc_doc_vars *v);

#endif
