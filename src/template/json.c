/*
 * tojson as transformers defines it for chat templates:
 * json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys).
 * Separators are ", " and ": " without indent, "," and ": " with it (then
 * every item on its own line, indented by level * indent spaces); strings
 * escape \" \\ \n \r \t \b \f and other control bytes as \u00XX and keep
 * non-ASCII text as it is; floats as repr(float), NaN and Infinity as Python
 * writes them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

static bool json_string(jrender *r, jbuf *b, const char *s, size_t n) {
    if (!jbuf_putc(r, b, '"')) return false;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                e = esc;
            }
        }
        if (!e) continue;
        if (!jbuf_put(r, b, s + run, i - run) || !jbuf_put(r, b, e, strlen(e))) return false;
        run = i + 1;
    }
    return jbuf_put(r, b, s + run, n - run) && jbuf_putc(r, b, '"');
}

static bool newline(jrender *r, jbuf *b, int indent, int level) {
    if (!jbuf_putc(r, b, '\n')) return false;
    for (int i = 0; i < indent * level; i++)
        if (!jbuf_putc(r, b, ' ')) return false;
    return true;
}

static int key_cmp(const void *x, const void *y) {
    const lc_jinja_value *a = ((const jv_pair *)x)->key, *c = ((const jv_pair *)y)->key;
    const size_t n = LC_MIN(a->u.str.len, c->u.str.len);
    const int k = memcmp(a->u.str.s, c->u.str.s, n);
    return k ? k : (a->u.str.len > c->u.str.len) - (a->u.str.len < c->u.str.len);
}

bool jv_json_append(jrender *r, jbuf *b, const lc_jinja_value *v, int indent, bool sort_keys, int level) {
    if (level > 64) {
        if (r) jr_fail(r, LC_ERR_TOO_LARGE, "tojson: a value nested more than 64 deep");
        return false;
    }
    char tmp[64];
    switch (v->kind) {
    case LC_JV_NONE: return jbuf_put(r, b, "null", 4);
    case LC_JV_BOOL: return v->u.b ? jbuf_put(r, b, "true", 4) : jbuf_put(r, b, "false", 5);
    case LC_JV_INT: return jbuf_printf(r, b, "%lld", (long long)v->u.i);
    case LC_JV_FLOAT:
        if (isnan(v->u.f)) return jbuf_put(r, b, "NaN", 3);
        if (isinf(v->u.f)) return v->u.f > 0 ? jbuf_put(r, b, "Infinity", 8) : jbuf_put(r, b, "-Infinity", 9);
        jv_format_float(v->u.f, tmp, sizeof tmp);
        return jbuf_put(r, b, tmp, strlen(tmp));
    case LC_JV_STRING: return json_string(r, b, v->u.str.s, v->u.str.len);
    case LC_JV_LIST:
        if (v->lazy) {
            if (r) jr_fail(r, LC_ERR_FORMAT, "tojson: a generator is not JSON serializable (add | list)");
            return false;
        }
        if (v->u.list.n == 0) return jbuf_put(r, b, "[]", 2);
        if (!jbuf_putc(r, b, '[')) return false;
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i && !jbuf_put(r, b, indent >= 0 ? "," : ", ", indent >= 0 ? 1 : 2)) return false;
            if (indent >= 0 && !newline(r, b, indent, level + 1)) return false;
            if (!jv_json_append(r, b, v->u.list.v[i], indent, sort_keys, level + 1)) return false;
        }
        if (indent >= 0 && !newline(r, b, indent, level)) return false;
        return jbuf_putc(r, b, ']');
    case LC_JV_DICT: {
        if (v->u.dict.n == 0) return jbuf_put(r, b, "{}", 2);
        const jv_pair *e = v->u.dict.e;
        jv_pair *sorted = NULL;
        if (sort_keys) {
            if (r && !jr_account(r, v->u.dict.n * sizeof *sorted)) return false;
            sorted = malloc(v->u.dict.n * sizeof *sorted);
            if (!sorted) {
                if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
                return false;
            }
            memcpy(sorted, e, v->u.dict.n * sizeof *sorted);
            qsort(sorted, v->u.dict.n, sizeof *sorted, key_cmp);
            e = sorted;
        }
        bool ok = jbuf_putc(r, b, '{');
        for (size_t i = 0; ok && i < v->u.dict.n; i++) {
            if (i) ok = jbuf_put(r, b, indent >= 0 ? "," : ", ", indent >= 0 ? 1 : 2);
            if (ok && indent >= 0) ok = newline(r, b, indent, level + 1);
            ok = ok && json_string(r, b, e[i].key->u.str.s, e[i].key->u.str.len) && jbuf_put(r, b, ": ", 2) &&
                 jv_json_append(r, b, e[i].val, indent, sort_keys, level + 1);
        }
        if (ok && indent >= 0) ok = newline(r, b, indent, level);
        free(sorted);
        return ok && jbuf_putc(r, b, '}');
    }
    case LC_JV_UNDEFINED:
        if (r) jr_fail(r, LC_ERR_FORMAT, "tojson: '%s' is undefined", v->u.str.s);
        return false;
    case LC_JV_CALLABLE:
        if (r) jr_fail(r, LC_ERR_FORMAT, "tojson: a callable is not JSON serializable");
        return false;
    }
    return false;
}
