/* Streaming JSON writer. */
#include <math.h>
#include <string.h>

#include "longctx/json.h"

void lc_json_init(lc_json_writer *w, FILE *f, bool pretty) {
    memset(w, 0, sizeof *w);
    w->f = f;
    w->pretty = pretty;
}

static void indent(lc_json_writer *w) {
    if (!w->pretty) return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

/* Separator and indentation before a value or a key. */
static void before_item(lc_json_writer *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) fputc(',', w->f);
        w->need_comma[w->depth] = true;
        indent(w);
    }
}

static void open_(lc_json_writer *w, char c) {
    before_item(w);
    fputc(c, w->f);
    if (w->depth < LC_JSON_MAX_DEPTH - 1) w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(lc_json_writer *w, char c) {
    bool had = w->need_comma[w->depth];
    if (w->depth > 0) w->depth--;
    if (had) indent(w);
    fputc(c, w->f);
}

void lc_json_begin_object(lc_json_writer *w) { open_(w, '{'); }
void lc_json_end_object(lc_json_writer *w) { close_(w, '}'); }
void lc_json_begin_array(lc_json_writer *w) { open_(w, '['); }
void lc_json_end_array(lc_json_writer *w) { close_(w, ']'); }

/* Length of the well-formed UTF-8 character at s[0..n) (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), 0 if none. */
static size_t utf8_char_len(const unsigned char *s, size_t n) {
    const unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

/* A JSON string; a byte that does not start a well-formed UTF-8 character
 * (text cut inside a character, a stray byte token) is written as U+FFFD,
 * so the output is always valid JSON. */
static void write_string(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            const size_t n = utf8_char_len((const unsigned char *)s + i, len - i);
            if (n == 0) fputs("\\ufffd", f);
            else fwrite(s + i, 1, n, f), i += n - 1;
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20) fprintf(f, "\\u%04x", c);
            else fputc(c, f);
        }
    }
    fputc('"', f);
}

void lc_json_key(lc_json_writer *w, const char *key) {
    before_item(w);
    write_string(w->f, key, strlen(key));
    fputs(w->pretty ? ": " : ":", w->f);
    w->after_key = true;
}

void lc_json_strn(lc_json_writer *w, const char *s, size_t len) {
    before_item(w);
    if (!s) fputs("null", w->f);
    else write_string(w->f, s, len);
}
void lc_json_str(lc_json_writer *w, const char *s) { lc_json_strn(w, s, s ? strlen(s) : 0); }

void lc_json_num(lc_json_writer *w, double v) {
    before_item(w);
    if (isfinite(v)) fprintf(w->f, "%.10g", v);
    else fputs("null", w->f);
}

void lc_json_int(lc_json_writer *w, int64_t v) {
    before_item(w);
    fprintf(w->f, "%lld", (long long)v);
}

void lc_json_bool(lc_json_writer *w, bool v) {
    before_item(w);
    fputs(v ? "true" : "false", w->f);
}

void lc_json_null(lc_json_writer *w) {
    before_item(w);
    fputs("null", w->f);
}

void lc_json_kv_str(lc_json_writer *w, const char *key, const char *s) { lc_json_key(w, key), lc_json_str(w, s); }
void lc_json_kv_num(lc_json_writer *w, const char *key, double v) { lc_json_key(w, key), lc_json_num(w, v); }
void lc_json_kv_int(lc_json_writer *w, const char *key, int64_t v) { lc_json_key(w, key), lc_json_int(w, v); }
void lc_json_kv_bool(lc_json_writer *w, const char *key, bool v) { lc_json_key(w, key), lc_json_bool(w, v); }

void lc_json_finish(lc_json_writer *w) {
    fputc('\n', w->f);
    fflush(w->f);
}
