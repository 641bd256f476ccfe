/*
 * A small JSON reader for the tests: text -> lc_jinja_value (objects keep
 * their key order). Only for trusted test data; returns NULL on malformed
 * input.
 */
#ifndef LC_TEST_JINJA_JSON_H
#define LC_TEST_JINJA_JSON_H

#include <stdlib.h>
#include <string.h>

#include "longctx/jinja.h"

typedef struct {
    const char *s;
    size_t n, i;
} tj_reader;

static void tj_ws(tj_reader *r) {
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\n' || r->s[r->i] == '\r' || r->s[r->i] == '\t')) r->i++;
}

static size_t tj_utf8(char *o, unsigned cp) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)), 3;
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static unsigned tj_hex4(tj_reader *r) {
    unsigned v = 0;
    for (int k = 0; k < 4 && r->i < r->n; k++, r->i++) {
        const char c = r->s[r->i];
        v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10);
    }
    return v;
}

/* A string at r->i (after the quote is checked); malloc'd, length in *len. */
static char *tj_string(tj_reader *r, size_t *len) {
    r->i++;
    char *o = malloc(r->n - r->i + 1);
    size_t w = 0;
    while (o && r->i < r->n && r->s[r->i] != '"') {
        char c = r->s[r->i++];
        if (c != '\\') {
            o[w++] = c;
            continue;
        }
        c = r->s[r->i++];
        switch (c) {
        case 'n': o[w++] = '\n'; break;
        case 't': o[w++] = '\t'; break;
        case 'r': o[w++] = '\r'; break;
        case 'b': o[w++] = '\b'; break;
        case 'f': o[w++] = '\f'; break;
        case 'u': {
            unsigned cp = tj_hex4(r);
            if (cp >= 0xD800 && cp < 0xDC00 && r->i + 1 < r->n && r->s[r->i] == '\\' && r->s[r->i + 1] == 'u') {
                r->i += 2;
                const unsigned lo = tj_hex4(r);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            w += tj_utf8(o + w, cp);
            break;
        }
        default: o[w++] = c;
        }
    }
    if (!o || r->i >= r->n) {
        free(o);
        return NULL;
    }
    r->i++;
    o[w] = '\0';
    *len = w;
    return o;
}

static lc_jinja_value *tj_value(tj_reader *r, int depth) {
    tj_ws(r);
    if (r->i >= r->n || depth > 64) return NULL;
    const char c = r->s[r->i];
    if (c == '{' || c == '[') {
        const bool obj = c == '{';
        lc_jinja_value *v = obj ? lc_jv_dict() : lc_jv_list();
        r->i++;
        tj_ws(r);
        if (r->i < r->n && r->s[r->i] == (obj ? '}' : ']')) {
            r->i++;
            return v;
        }
        for (;;) {
            tj_ws(r);
            char *key = NULL;
            size_t klen = 0;
            if (obj) {
                if (r->i >= r->n || r->s[r->i] != '"' || !(key = tj_string(r, &klen))) break;
                tj_ws(r);
                if (r->i >= r->n || r->s[r->i++] != ':') {
                    free(key);
                    break;
                }
            }
            lc_jinja_value *item = tj_value(r, depth + 1);
            const lc_status st = obj ? lc_jv_dict_setn(v, key, klen, item) : lc_jv_list_push(v, item);
            free(key);
            if (st != LC_OK) break;
            tj_ws(r);
            if (r->i < r->n && r->s[r->i] == ',') {
                r->i++;
                continue;
            }
            if (r->i < r->n && r->s[r->i] == (obj ? '}' : ']')) {
                r->i++;
                return v;
            }
            break;
        }
        lc_jv_free(v);
        return NULL;
    }
    if (c == '"') {
        size_t len;
        char *s = tj_string(r, &len);
        lc_jinja_value *v = s ? lc_jv_strn(s, len) : NULL;
        free(s);
        return v;
    }
    if (r->n - r->i >= 4 && memcmp(r->s + r->i, "true", 4) == 0) return r->i += 4, lc_jv_bool(true);
    if (r->n - r->i >= 5 && memcmp(r->s + r->i, "false", 5) == 0) return r->i += 5, lc_jv_bool(false);
    if (r->n - r->i >= 4 && memcmp(r->s + r->i, "null", 4) == 0) return r->i += 4, lc_jv_none();
    char buf[64];
    size_t k = 0;
    bool fl = false;
    while (r->i < r->n && k + 1 < sizeof buf && strchr("+-0123456789.eE", r->s[r->i])) {
        fl = fl || r->s[r->i] == '.' || r->s[r->i] == 'e' || r->s[r->i] == 'E';
        buf[k++] = r->s[r->i++];
    }
    if (!k) return NULL;
    buf[k] = '\0';
    return fl ? lc_jv_float(strtod(buf, NULL)) : lc_jv_int(strtoll(buf, NULL, 10));
}

static lc_jinja_value *tj_parse(const char *s, size_t n) {
    tj_reader r = {s, n, 0};
    lc_jinja_value *v = tj_value(&r, 0);
    tj_ws(&r);
    if (v && r.i != n) {
        lc_jv_free(v);
        return NULL;
    }
    return v;
}

#endif
