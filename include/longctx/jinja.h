/*
 * longctx/jinja.h — a Jinja subset interpreter for chat templates.
 *
 * A GGUF's tokenizer.chat_template (and Hugging Face's chat_template) is a
 * Jinja2 program that turns a conversation into the prompt text. This is an
 * interpreter of the part of Jinja those templates use, with the settings
 * transformers' apply_chat_template gives it: trim_blocks and lstrip_blocks
 * on, keep_trailing_newline off, loop controls (break/continue), and the
 * globals raise_exception(msg) and strftime_now(fmt), and a tojson filter
 * that writes json.dumps(x, ensure_ascii=False, indent=…, sort_keys=…).
 * docs/templates.md lists what is supported.
 *
 * Every template is untrusted input: compiling and rendering never crash;
 * they refuse with a message that names the line and column ("template 3:14: ...")
 * and are bounded in nesting depth, output size, loop iterations, evaluation
 * steps and bytes allocated (lc_jinja_limits).
 *
 * Values (the render context and anything built for it) are reference
 * counted; the functions that take a value "consume" it (the caller's
 * reference passes to the container) — also on failure, so a chain of
 * calls needs one check at the end:
 *
 *   lc_jinja_value *msg = lc_jv_dict();
 *   lc_jv_dict_set(msg, "role", lc_jv_str("user"));
 *   lc_jv_dict_set(msg, "content", lc_jv_strn(text, len));
 *   lc_jv_list_push(messages, msg);      // NULL anywhere: LC_ERR_NOMEM
 *
 * A compiled template is read-only while rendering: several threads may
 * render one template at once, each with its own context (a context's
 * reference counts change while it is rendered).
 */
#ifndef LONGCTX_JINJA_H
#define LONGCTX_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Values ------------------------------------------------------------ */

typedef struct lc_jinja_value lc_jinja_value;

typedef enum {
    LC_JV_UNDEFINED = 0,
    LC_JV_NONE,
    LC_JV_BOOL,
    LC_JV_INT,
    LC_JV_FLOAT,
    LC_JV_STRING,
    LC_JV_LIST,
    LC_JV_DICT,
    LC_JV_CALLABLE
} lc_jv_kind;

/* Constructors return a new reference, or NULL when out of memory. Strings
 * are bytes (UTF-8 expected, not checked) and may hold NUL. */
lc_jinja_value *lc_jv_none(void);
lc_jinja_value *lc_jv_bool(bool b);
lc_jinja_value *lc_jv_int(int64_t i);
lc_jinja_value *lc_jv_float(double f);
lc_jinja_value *lc_jv_str(const char *s);             /* NUL-terminated; NULL: none */
lc_jinja_value *lc_jv_strn(const char *s, size_t len);
lc_jinja_value *lc_jv_list(void);
lc_jinja_value *lc_jv_dict(void);

/* Append / set, consuming item (NULL item: LC_ERR_NOMEM, a clean way to
 * pass on a failed constructor). Keys keep their insertion order (tojson and
 * items() follow it); setting an existing key replaces its value. */
lc_status lc_jv_list_push(lc_jinja_value *list, lc_jinja_value *item);
lc_status lc_jv_dict_set(lc_jinja_value *dict, const char *key, lc_jinja_value *val);
lc_status lc_jv_dict_setn(lc_jinja_value *dict, const char *key, size_t key_len, lc_jinja_value *val);

lc_jinja_value *lc_jv_ref(lc_jinja_value *v); /* +1 reference; returns v  */
void lc_jv_free(lc_jinja_value *v);           /* -1 reference; NULL is fine */

lc_jv_kind lc_jv_kind_of(const lc_jinja_value *v);
/* Read back (tests, the server): NULL / 0 when v is not of that kind. */
const char *lc_jv_str_get(const lc_jinja_value *v, size_t *len);
size_t lc_jv_len(const lc_jinja_value *v); /* list items or dict keys */
lc_jinja_value *lc_jv_list_at(const lc_jinja_value *v, size_t i);            /* borrowed */
lc_jinja_value *lc_jv_dict_get(const lc_jinja_value *v, const char *key);   /* borrowed */

/* A chat message {"role": role, "content": content} (content NULL: none). */
lc_jinja_value *lc_jv_message(const char *role, const char *content, size_t content_len);

/* ---- Templates --------------------------------------------------------- */

typedef struct lc_jinja_template lc_jinja_template;

typedef struct {
    bool trim_blocks;            /* drop the newline after a block tag        */
    bool lstrip_blocks;          /* drop spaces/tabs before a block tag       */
    bool keep_trailing_newline;  /* keep a final newline of the source        */
    int max_depth;               /* nesting of the source and of calls        */
} lc_jinja_options;

/* What apply_chat_template sets: trim and lstrip on, trailing newline off,
 * depth 64. */
void lc_jinja_options_init(lc_jinja_options *o);

typedef struct {
    size_t max_output;    /* bytes of rendered text                           */
    size_t max_string;    /* bytes of any one string made while rendering     */
    size_t max_items;     /* items of any one list or dict made while rendering */
    uint64_t max_steps;   /* expressions evaluated + loop iterations          */
    uint64_t max_alloc;   /* bytes allocated while rendering, all together    */
    int max_call_depth;   /* nested macro calls                               */
    time_t now;           /* strftime_now's time (local); 0: the current time */
} lc_jinja_limits;

/* 16 MiB output and strings, 1M items, 10M steps, 1 GiB allocated, 64 calls. */
void lc_jinja_limits_init(lc_jinja_limits *l);

/* Parse a template (src need not be NUL-terminated). opt NULL: defaults.
 * LC_ERR_FORMAT with "template line:col: message" for a syntax error,
 * LC_ERR_UNSUPPORTED for Jinja this interpreter does not have
 * (extends, include, import, call blocks …). */
lc_status lc_jinja_compile(const char *src, size_t len, const lc_jinja_options *opt, lc_jinja_template **out,
                           lc_error *err);
void lc_jinja_free(lc_jinja_template *t);

/* Render with the variables of context (a dict; NULL: none). *out is
 * malloc'd, NUL-terminated, owned by the caller (free()). Errors:
 * LC_ERR_FORMAT for a failed evaluation ("template 12:5: 'x' is
 * undefined", raise_exception's as "template 12:5: raise_exception: ..."),
 * LC_ERR_TOO_LARGE for a passed limit. limits NULL: defaults. */
lc_status lc_jinja_render(const lc_jinja_template *t, const lc_jinja_value *context, const lc_jinja_limits *limits,
                          char **out, size_t *out_len, lc_error *err);

/* The context apply_chat_template gives a template: messages (a list,
 * consumed), add_generation_prompt, bos_token and eos_token (NULL: not
 * set) and tools (NULL: none, consumed otherwise). More variables
 * (enable_thinking, date_string …) can be added with lc_jv_dict_set.
 * Returns NULL when out of memory. */
lc_jinja_value *lc_jinja_chat_context(lc_jinja_value *messages, bool add_generation_prompt, const char *bos_token,
                                      const char *eos_token, lc_jinja_value *tools);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_JINJA_H */
