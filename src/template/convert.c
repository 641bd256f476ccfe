/*
 * What Python does with a value: truth, ==, ordering, str() and repr().
 * Jinja prints {{ x }} as str(x), so a list prints as ['a', 1] and None as
 * None; floats print as repr(float) does (the shortest text that reads back
 * to the same double, "1e-05", "100000.0").
 */
#define _GNU_SOURCE /* memmem: a linear-time substring search (two-way in glibc and musl) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

bool jv_truthy(const lc_jinja_value *v) {
    if (!v) return false;
    switch (v->kind) {
    case LC_JV_UNDEFINED:
    case LC_JV_NONE: return false;
    case LC_JV_BOOL: return v->u.b;
    case LC_JV_INT: return v->u.i != 0;
    case LC_JV_FLOAT: return v->u.f != 0.0;
    case LC_JV_STRING: return v->u.str.len > 0;
    case LC_JV_LIST: return v->lazy || v->u.list.n > 0;
    case LC_JV_DICT: return v->u.dict.n > 0;
    case LC_JV_CALLABLE: return true;
    }
    return false;
}

static bool is_num(const lc_jinja_value *v) {
    return v->kind == LC_JV_INT || v->kind == LC_JV_FLOAT || v->kind == LC_JV_BOOL;
}

static double num(const lc_jinja_value *v) {
    return v->kind == LC_JV_FLOAT ? v->u.f : v->kind == LC_JV_INT ? (double)v->u.i : v->u.b ? 1.0 : 0.0;
}

static bool equal_depth(const lc_jinja_value *a, const lc_jinja_value *b, int depth);

bool jv_equal(const lc_jinja_value *a, const lc_jinja_value *b) { return equal_depth(a, b, 0); }

/* (a namespace may hold itself: past JV_MAX_DEPTH_RENDER levels, unequal) */
static bool equal_depth(const lc_jinja_value *a, const lc_jinja_value *b, int depth) {
    if (a == b) return true;
    if (depth > JV_MAX_DEPTH_RENDER) return false;
    if (!a || !b) return false;
    if (a->ns || b->ns || a->lazy || b->lazy) return false; /* compared by identity */
    if (is_num(a) && is_num(b)) {
        if (a->kind != LC_JV_FLOAT && b->kind != LC_JV_FLOAT) {
            const int64_t x = a->kind == LC_JV_INT ? a->u.i : a->u.b, y = b->kind == LC_JV_INT ? b->u.i : b->u.b;
            return x == y;
        }
        return num(a) == num(b);
    }
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case LC_JV_UNDEFINED:
    case LC_JV_NONE: return true;
    case LC_JV_STRING: return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case LC_JV_LIST:
        if (a->tuple != b->tuple || a->u.list.n != b->u.list.n) return false;
        for (size_t i = 0; i < a->u.list.n; i++)
            if (!equal_depth(a->u.list.v[i], b->u.list.v[i], depth + 1)) return false;
        return true;
    case LC_JV_DICT:
        if (a->u.dict.n != b->u.dict.n) return false;
        for (size_t i = 0; i < a->u.dict.n; i++) {
            const lc_jinja_value *k = a->u.dict.e[i].key;
            const int64_t at = jv_dict_find(b, k->u.str.s, k->u.str.len);
            if (at < 0 || !equal_depth(a->u.dict.e[i].val, b->u.dict.e[at].val, depth + 1)) return false;
        }
        return true;
    case LC_JV_CALLABLE: return a->u.fn.kind == b->u.fn.kind && a->u.fn.macro == b->u.fn.macro && a->u.fn.self == b->u.fn.self;
    default: return false;
    }
}

bool jv_compare(const lc_jinja_value *a, const lc_jinja_value *b, int *cmp) {
    if (is_num(a) && is_num(b)) {
        if (a->kind != LC_JV_FLOAT && b->kind != LC_JV_FLOAT) {
            const int64_t x = a->kind == LC_JV_INT ? a->u.i : a->u.b, y = b->kind == LC_JV_INT ? b->u.i : b->u.b;
            *cmp = x < y ? -1 : x > y;
            return true;
        }
        const double x = num(a), y = num(b);
        if (isnan(x) || isnan(y)) {
            *cmp = 2; /* unordered: every comparison false */
            return true;
        }
        *cmp = x < y ? -1 : x > y;
        return true;
    }
    if (a->kind != b->kind) return false;
    if (a->kind == LC_JV_STRING) {
        const size_t n = LC_MIN(a->u.str.len, b->u.str.len);
        const int c = memcmp(a->u.str.s, b->u.str.s, n);
        *cmp = c < 0 ? -1 : c > 0 ? 1 : a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len;
        return true;
    }
    if (a->kind == LC_JV_LIST) {
        for (size_t i = 0; i < a->u.list.n && i < b->u.list.n; i++) {
            if (jv_equal(a->u.list.v[i], b->u.list.v[i])) continue;
            return jv_compare(a->u.list.v[i], b->u.list.v[i], cmp);
        }
        *cmp = a->u.list.n < b->u.list.n ? -1 : a->u.list.n > b->u.list.n;
        return true;
    }
    return false;
}

void jv_format_float(double f, char *out, size_t cap) {
    if (isnan(f)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(out, cap, f < 0 ? "-inf" : "inf");
        return;
    }
    /* the shortest digits that read back to f */
    char e[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f) break;
    }
    if (prec > 17) prec = 17;
    snprintf(e, sizeof e, "%.*e", prec - 1, f);
    /* e = [-]d[.ddd]e[+-]XX: split digits and exponent */
    const bool neg = e[0] == '-';
    const char *p = e + neg;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < sizeof digits - 1) digits[nd++] = *p;
    digits[nd] = '\0';
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = '\0';
    const int exp10 = atoi(p + 1);
    char buf[64];
    size_t w = 0;
    if (neg) buf[w++] = '-';
    if (exp10 < -4 || exp10 >= 16) {
        buf[w++] = digits[0];
        if (nd > 1) {
            buf[w++] = '.';
            for (size_t i = 1; i < nd; i++) buf[w++] = digits[i];
        }
        snprintf(buf + w, sizeof buf - w, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        buf[w++] = '0';
        buf[w++] = '.';
        for (int i = 0; i < -exp10 - 1; i++) buf[w++] = '0';
        for (size_t i = 0; i < nd; i++) buf[w++] = digits[i];
        buf[w] = '\0';
    } else {
        for (int i = 0; i <= exp10; i++) buf[w++] = (size_t)i < nd ? digits[i] : '0';
        buf[w++] = '.';
        if ((size_t)exp10 + 1 < nd)
            for (size_t i = (size_t)exp10 + 1; i < nd; i++) buf[w++] = digits[i];
        else buf[w++] = '0';
        buf[w] = '\0';
    }
    snprintf(out, cap, "%s", buf);
}

static bool repr_string(jrender *r, jbuf *b, const char *s, size_t n) {
    bool sq = false, dq = false;
    for (size_t i = 0; i < n; i++) {
        sq = sq || s[i] == '\'';
        dq = dq || s[i] == '"';
    }
    const char q = sq && !dq ? '"' : '\'';
    if (!jbuf_putc(r, b, q)) return false;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        if (c == '\\') esc = "\\\\";
        else if (c == (unsigned char)q) esc = q == '\'' ? "\\'" : "\\\"";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            esc = hex;
        }
        if (!esc) continue;
        if (!jbuf_put(r, b, s + run, i - run) || !jbuf_put(r, b, esc, strlen(esc))) return false;
        run = i + 1;
    }
    return jbuf_put(r, b, s + run, n - run) && jbuf_putc(r, b, q);
}

static bool put_s(jrender *r, jbuf *b, const char *s) { return jbuf_put(r, b, s, strlen(s)); }

static bool scalar_str(jrender *r, jbuf *b, const lc_jinja_value *v) {
    char tmp[64];
    switch (v->kind) {
    case LC_JV_UNDEFINED: return true;
    case LC_JV_NONE: return put_s(r, b, "None");
    case LC_JV_BOOL: return put_s(r, b, v->u.b ? "True" : "False");
    case LC_JV_INT: return jbuf_printf(r, b, "%lld", (long long)v->u.i);
    case LC_JV_FLOAT: jv_format_float(v->u.f, tmp, sizeof tmp); return put_s(r, b, tmp);
    case LC_JV_STRING: return jbuf_put(r, b, v->u.str.s, v->u.str.len);
    case LC_JV_CALLABLE:
        return jbuf_printf(r, b, "<%s %s>", v->u.fn.kind == JF_MACRO ? "macro" : "function",
                           v->u.fn.name ? v->u.fn.name : "?");
    default: return false;
    }
}

static bool repr_depth(jrender *r, jbuf *b, const lc_jinja_value *v, int depth) {
    if (depth > 64) {
        if (r) jr_fail(r, LC_ERR_TOO_LARGE, "a value nested more than 64 deep");
        return false;
    }
    if (v->kind == LC_JV_STRING) return repr_string(r, b, v->u.str.s, v->u.str.len);
    if (v->kind == LC_JV_UNDEFINED) return depth == 0 || put_s(r, b, "Undefined");
    if (v->kind == LC_JV_LIST) {
        if (v->lazy) return put_s(r, b, "<generator object>");
        if (!jbuf_putc(r, b, v->tuple ? '(' : '[')) return false;
        for (size_t i = 0; i < v->u.list.n; i++)
            if ((i && !put_s(r, b, ", ")) || !repr_depth(r, b, v->u.list.v[i], depth + 1)) return false;
        if (v->tuple && v->u.list.n == 1 && !jbuf_putc(r, b, ',')) return false;
        return jbuf_putc(r, b, v->tuple ? ')' : ']');
    }
    if (v->kind == LC_JV_DICT) {
        if (v->ns && !put_s(r, b, "<Namespace ")) return false;
        if (!jbuf_putc(r, b, '{')) return false;
        for (size_t i = 0; i < v->u.dict.n; i++)
            if ((i && !put_s(r, b, ", ")) || !repr_depth(r, b, v->u.dict.e[i].key, depth + 1) || !put_s(r, b, ": ") ||
                !repr_depth(r, b, v->u.dict.e[i].val, depth + 1))
                return false;
        return jbuf_putc(r, b, '}') && (!v->ns || jbuf_putc(r, b, '>'));
    }
    return scalar_str(r, b, v);
}

bool jv_repr_append(jrender *r, jbuf *b, const lc_jinja_value *v) { return repr_depth(r, b, v, 0); }

bool jv_str_append(jrender *r, jbuf *b, const lc_jinja_value *v) {
    if (v->kind == LC_JV_LIST || v->kind == LC_JV_DICT) return repr_depth(r, b, v, 0);
    return scalar_str(r, b, v);
}

lc_jinja_value *jv_to_string(jrender *r, lc_jinja_value *v) {
    if (v->kind == LC_JV_STRING) return jv_ref(v);
    jbuf b = {0};
    if (r) b.limit = r->lim.max_string;
    if (!jv_str_append(r, &b, v)) {
        jbuf_free(&b);
        return NULL;
    }
    return jbuf_to_value(r, &b);
}

const char *jv_kind_name(const lc_jinja_value *v) {
    if (!v) return "nothing";
    switch (v->kind) {
    case LC_JV_UNDEFINED: return "undefined";
    case LC_JV_NONE: return "none";
    case LC_JV_BOOL: return "bool";
    case LC_JV_INT: return "int";
    case LC_JV_FLOAT: return "float";
    case LC_JV_STRING: return "string";
    case LC_JV_LIST: return v->tuple ? "tuple" : "list";
    case LC_JV_DICT: return v->ns ? "namespace" : "dict";
    case LC_JV_CALLABLE: return "callable";
    }
    return "?";
}

static bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t ju_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += !cont((unsigned char)s[i]) || i == 0;
    return n;
}

const char *ju_find(const char *s, size_t n, const char *sub, size_t m) {
    if (m == 0) return s;
    if (m > n) return NULL;
    if (m > SIZE_MAX / 4) return memmem(s, n, sub, m);
    /* In windows of w + m - 1 bytes (starts at..at+w-1): each call costs in
     * proportion to how far the match is, not to the rest of the text (a
     * sanitizer checks the whole range memmem is given: replace() of a byte
     * over 16 MB took minutes under ASan). Windows overlap by m - 1 bytes;
     * w >= 2m keeps the needle's preprocessing linear overall. */
    const size_t w = m > 2048 ? 2 * m : 4096;
    for (size_t at = 0; at + m <= n; at += w) {
        const size_t len = n - at < w + m - 1 ? n - at : w + m - 1;
        const char *f = memmem(s + at, len, sub, m);
        if (f) return f;
    }
    return NULL;
}

size_t ju_offset(const char *s, size_t len, size_t k) {
    size_t i = 0;
    for (size_t c = 0; c < k && i < len; c++) {
        i++;
        while (i < len && cont((unsigned char)s[i])) i++;
    }
    return i;
}

bool jslice(int64_t n, const int64_t *start, const int64_t *stop, const int64_t *step, int64_t *first, int64_t *stp,
            int64_t *count) {
    const int64_t st = step ? *step : 1;
    if (st == 0) return false;
    int64_t a, b;
    if (st > 0) {
        a = start ? *start : 0;
        b = stop ? *stop : n;
        if (a < 0) a = a + n < 0 ? 0 : a + n;
        if (a > n) a = n;
        if (b < 0) b = b + n < 0 ? 0 : b + n;
        if (b > n) b = n;
        *count = b > a ? (b - a - 1) / st + 1 : 0; /* not b - a + st - 1: st may be near INT64_MAX */
    } else {
        a = start ? *start : n - 1;
        b = stop ? *stop : -n - 1; /* before the first item */
        if (a < 0) a = a + n < 0 ? -1 : a + n;
        if (a >= n) a = n - 1;
        if (stop) {
            if (b < 0) b = b + n < 0 ? -1 : b + n;
            if (b >= n) b = n - 1;
        } else {
            b = -1;
        }
        *count = a > b ? 1 - (a - b - 1) / st : 0; /* not -st: st may be INT64_MIN */
    }
    *first = a;
    *stp = st;
    return true;
}
