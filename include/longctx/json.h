/*
 * longctx/json.h — a small streaming JSON writer for machine-readable results.
 */
#ifndef LONGCTX_JSON_H
#define LONGCTX_JSON_H

#include <stdio.h>

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_JSON_MAX_DEPTH 32

/* Writer: call begin/end in matching pairs; inside an object call key()
 * before each value. Numbers that are not finite are written as null. */
typedef struct {
    FILE *f;
    int depth;
    bool pretty;
    bool need_comma[LC_JSON_MAX_DEPTH];
    bool after_key;
} lc_json_writer;

void lc_json_init(lc_json_writer *w, FILE *f, bool pretty);
void lc_json_begin_object(lc_json_writer *w);
void lc_json_end_object(lc_json_writer *w);
void lc_json_begin_array(lc_json_writer *w);
void lc_json_end_array(lc_json_writer *w);
void lc_json_key(lc_json_writer *w, const char *key);
void lc_json_str(lc_json_writer *w, const char *s);
void lc_json_strn(lc_json_writer *w, const char *s, size_t len);
void lc_json_num(lc_json_writer *w, double v);
void lc_json_int(lc_json_writer *w, int64_t v);
void lc_json_bool(lc_json_writer *w, bool v);
void lc_json_null(lc_json_writer *w);
/* key + value shorthands */
void lc_json_kv_str(lc_json_writer *w, const char *key, const char *s);
void lc_json_kv_num(lc_json_writer *w, const char *key, double v);
void lc_json_kv_int(lc_json_writer *w, const char *key, int64_t v);
void lc_json_kv_bool(lc_json_writer *w, const char *key, bool v);
/* Finish the document (newline, flush). */
void lc_json_finish(lc_json_writer *w);

#ifdef __cplusplus
}
#endif
#endif
