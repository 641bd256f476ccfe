/*
 * Jinja's filters and tests, Python's string and dict methods, and the
 * globals chat templates call (raise_exception, strftime_now, namespace,
 * range, dict) — each with the behaviour of jinja2 3.x and Python 3 for
 * the arguments chat templates pass. Case mapping (upper, lower, title,
 * capitalize) and whitespace stripping cover ASCII only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template/jinja_internal.h"

/* ---- Arguments -------------------------------------------------------------- */

typedef struct {
    lc_jinja_value **pos, **kv;
    const char **kn;
    size_t npos, nk;
} bargs;

/* Argument idx (positional) or named name, or NULL. */
static lc_jinja_value *arg(const bargs *a, size_t idx, const char *name) {
    if (idx < a->npos) return a->pos[idx];
    for (size_t i = 0; name && i < a->nk; i++)
        if (strcmp(a->kn[i], name) == 0) return a->kv[i];
    return NULL;
}

static bool is_str(const lc_jinja_value *v) { return v && v->kind == LC_JV_STRING; }
static bool is_none(const lc_jinja_value *v) { return !v || v->kind == LC_JV_NONE; }

static bool want_str(jrender *r, const lc_jinja_value *v, const char *what) {
    if (is_str(v)) return true;
    jr_fail(r, LC_ERR_FORMAT, "%s: a string is required, not %s", what, jv_kind_name(v));
    return false;
}

static bool want_int(jrender *r, const lc_jinja_value *v, const char *what, int64_t *out) {
    if (v && v->kind == LC_JV_INT) *out = v->u.i;
    else if (v && v->kind == LC_JV_BOOL) *out = v->u.b;
    else {
        jr_fail(r, LC_ERR_FORMAT, "%s: an integer is required, not %s", what, jv_kind_name(v));
        return false;
    }
    return true;
}

/* ---- Strings ----------------------------------------------------------------- */

static bool ascii_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

static size_t cp_len(const char *s, size_t i, size_t n) {
    size_t j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
    return j - i;
}

/* Is the code point at s[i..i+k) one of chars? */
static bool in_set(const char *c, size_t clen, const char *s, size_t k) {
    for (size_t i = 0; i < clen;) {
        const size_t m = cp_len(c, i, clen);
        if (m == k && memcmp(c + i, s, k) == 0) return true;
        i += m;
    }
    return false;
}

/* Is the code point s[0..k) one to strip? chars NULL: ASCII whitespace;
 * an all-ASCII set is looked up in its table (ascii_set), any other set is
 * searched, and that search counted as work (a long set is not quadratic). */
static bool strip_this(jrender *r, const lc_jinja_value *chars, const bool *ascii_set, const char *s, size_t k,
                       uint64_t *work) {
    if (!chars) return k == 1 && ascii_ws((unsigned char)s[0]);
    if (ascii_set) return k == 1 && ascii_set[(unsigned char)s[0]];
    *work += chars->u.str.len;
    if (*work >= 4096) {
        if (!jr_work(r, *work)) return false;
        *work = 0;
    }
    return in_set(chars->u.str.s, chars->u.str.len, s, k);
}

/* strip: which 1 left, 2 right, 3 both; chars NULL: whitespace. */
static lc_jinja_value *strip(jrender *r, const lc_jinja_value *v, const lc_jinja_value *chars, int which) {
    const char *s = v->u.str.s;
    size_t a = 0, b = v->u.str.len;
    const bool ws = is_none(chars);
    if (!ws && !want_str(r, chars, "strip")) return NULL;
    bool table[256] = {false}, ascii = !ws;
    for (size_t i = 0; ascii && i < chars->u.str.len; i++) {
        ascii = (unsigned char)chars->u.str.s[i] < 0x80;
        table[(unsigned char)chars->u.str.s[i]] = true;
    }
    const lc_jinja_value *set = ws ? NULL : chars;
    const bool *tab = ascii ? table : NULL;
    uint64_t work = 0;
    if (which & 1)
        while (a < b) {
            const size_t k = cp_len(s, a, b);
            if (!strip_this(r, set, tab, s + a, k, &work)) break;
            a += k;
        }
    if (which & 2)
        while (b > a && !r->failed) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)s[st] & 0xC0) == 0x80) st--;
            const size_t k = b - st;
            if (!strip_this(r, set, tab, s + st, k, &work)) break;
            b = st;
        }
    return r->failed ? NULL : jv_str(r, s + a, b - a);
}

/* mode 0 lower, 1 upper, 2 str.title (words start after a non-letter),
 * 3 capitalize, 4 Jinja's title filter (words start after -, space, (, {, [, <) */
static lc_jinja_value *map_case(jrender *r, const lc_jinja_value *v, int mode) {
    lc_jinja_value *o = jv_str(r, v->u.str.s, v->u.str.len);
    if (!o) return NULL;
    char *s = o->u.str.s;
    bool prev_alpha = false;
    for (size_t i = 0; i < o->u.str.len; i++) {
        const char c = s[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool word_start = i == 0 || strchr("- \t\n\r\f\v({[<", s[i - 1]) != NULL;
        bool up = mode == 1 || (mode == 2 && alpha && !prev_alpha) || (mode == 3 && i == 0) ||
                  (mode == 4 && word_start && !(i > 0 && strchr("- \t\n\r\f\v({[<", c)));
        if (up && c >= 'a' && c <= 'z') s[i] = (char)(c - 32);
        else if (!up && mode != 1 && c >= 'A' && c <= 'Z') s[i] = (char)(c + 32);
        prev_alpha = alpha || (mode == 2 && ((unsigned char)c & 0x80));
    }
    return o;
}

static const char *find_sub(const char *s, size_t n, const char *sub, size_t m) { return ju_find(s, n, sub, m); }

static lc_jinja_value *split(jrender *r, const lc_jinja_value *v, const lc_jinja_value *sep, const lc_jinja_value *maxs) {
    int64_t max = -1;
    if (!jr_work(r, v->u.str.len)) return NULL;
    if (!is_none(maxs) && !want_int(r, maxs, "split", &max)) return NULL;
    lc_jinja_value *l = jv_list(r, 0);
    const char *s = v->u.str.s;
    const size_t n = v->u.str.len;
    if (is_none(sep)) {
        size_t i = 0;
        while (l) {
            while (i < n && ascii_ws((unsigned char)s[i])) i++;
            if (i >= n) break;
            size_t j = i;
            if (max == 0) j = n;
            else
                while (j < n && !ascii_ws((unsigned char)s[j])) j++;
            if (max == 0) { /* the rest, right-stripped */
                while (j > i && ascii_ws((unsigned char)s[j - 1])) j--;
            }
            if (!jv_list_push(r, l, jv_str(r, s + i, j - i))) return jv_drop(l);
            if (max > 0) max--;
            i = j;
        }
        return l;
    }
    if (!want_str(r, sep, "split")) {
        jv_unref(l);
        return NULL;
    }
    if (sep->u.str.len == 0) {
        jv_unref(l);
        jr_fail(r, LC_ERR_FORMAT, "split: empty separator");
        return NULL;
    }
    size_t i = 0;
    while (l) {
        const char *f = max != 0 ? find_sub(s + i, n - i, sep->u.str.s, sep->u.str.len) : NULL;
        const size_t j = f ? (size_t)(f - s) : n;
        if (!jv_list_push(r, l, jv_str(r, s + i, j - i))) return jv_drop(l);
        if (!f) break;
        i = j + sep->u.str.len;
        if (max > 0) max--;
    }
    return l;
}

static lc_jinja_value *replace(jrender *r, const lc_jinja_value *v, const lc_jinja_value *old, const lc_jinja_value *nw,
                               const lc_jinja_value *cnt) {
    int64_t count = -1;
    if (!want_str(r, old, "replace") || !want_str(r, nw, "replace") || !jr_work(r, v->u.str.len)) return NULL;
    if (!is_none(cnt) && !want_int(r, cnt, "replace", &count)) return NULL;
    jbuf b = {0};
    b.limit = r->lim.max_string;
    const char *s = v->u.str.s;
    const size_t n = v->u.str.len, m = old->u.str.len;
    bool ok = true;
    if (m == 0) { /* between every code point */
        size_t i = 0;
        for (; ok && i <= n; ) {
            if (count != 0) {
                ok = jbuf_put(r, &b, nw->u.str.s, nw->u.str.len);
                if (count > 0) count--;
            }
            if (i == n) break;
            const size_t k = cp_len(s, i, n);
            ok = ok && jbuf_put(r, &b, s + i, k);
            i += k;
        }
    } else {
        size_t i = 0;
        while (ok) {
            const char *f = count != 0 ? find_sub(s + i, n - i, old->u.str.s, m) : NULL;
            const size_t j = f ? (size_t)(f - s) : n;
            ok = jbuf_put(r, &b, s + i, j - i);
            if (!f || !ok) break;
            ok = jbuf_put(r, &b, nw->u.str.s, nw->u.str.len);
            i = j + m;
            if (count > 0) count--;
        }
    }
    if (!ok) {
        jbuf_free(&b);
        return NULL;
    }
    return jbuf_to_value(r, &b);
}

static int affix(jrender *r, const lc_jinja_value *v, const lc_jinja_value *x, bool end) {
    if (x && x->kind == LC_JV_LIST && x->tuple) {
        for (size_t i = 0; i < x->u.list.n; i++) {
            const int k = affix(r, v, x->u.list.v[i], end);
            if (k != 0) return k;
        }
        return 0;
    }
    if (!want_str(r, x, end ? "endswith" : "startswith")) return -1;
    const size_t n = v->u.str.len, m = x->u.str.len;
    if (m > n) return 0;
    return memcmp(v->u.str.s + (end ? n - m : 0), x->u.str.s, m) == 0;
}

/* str(item) of every item joined by sep. */
static lc_jinja_value *join(jrender *r, const lc_jinja_value *items, const char *sep, size_t slen) {
    jbuf b = {0};
    b.limit = r->lim.max_string;
    bool ok = true;
    for (size_t i = 0; ok && i < items->u.list.n; i++)
        ok = (i == 0 || jbuf_put(r, &b, sep, slen)) && jv_str_append(r, &b, items->u.list.v[i]);
    if (!ok) {
        jbuf_free(&b);
        return NULL;
    }
    return jbuf_to_value(r, &b);
}

/* ---- Sequences ----------------------------------------------------------------- */

/* The items of an iterable as a new list (dict: keys, string: characters,
 * undefined: none). */
static lc_jinja_value *to_list(jrender *r, lc_jinja_value *v, const char *what) {
    if (!jr_work(r, v->kind == LC_JV_STRING ? v->u.str.len : lc_jv_len(v))) return NULL;
    switch (v->kind) {
    case LC_JV_LIST: return jv_list_copy(r, v);
    case LC_JV_UNDEFINED: return jv_list(r, 0);
    case LC_JV_DICT: {
        lc_jinja_value *l = jv_list(r, v->u.dict.n);
        for (size_t i = 0; l && i < v->u.dict.n; i++)
            if (!jv_list_push(r, l, jv_ref(v->u.dict.e[i].key))) return jv_drop(l);
        return l;
    }
    case LC_JV_STRING: {
        lc_jinja_value *l = jv_list(r, 0);
        for (size_t i = 0; l && i < v->u.str.len;) {
            const size_t k = cp_len(v->u.str.s, i, v->u.str.len);
            if (!jv_list_push(r, l, jv_str(r, v->u.str.s + i, k))) return jv_drop(l);
            i += k;
        }
        return l;
    }
    default: jr_fail(r, LC_ERR_FORMAT, "%s: a %s is not iterable", what, jv_kind_name(v)); return NULL;
    }
}

static lc_jinja_value *items_of(jrender *r, const lc_jinja_value *d) {
    lc_jinja_value *l = jv_list(r, d->u.dict.n);
    for (size_t i = 0; l && i < d->u.dict.n; i++) {
        lc_jinja_value *t = jv_list(r, 2);
        if (!t) {
            jv_unref(l);
            return NULL;
        }
        t->tuple = true;
        if (!jv_list_push(r, t, jv_ref(d->u.dict.e[i].key)) || !jv_list_push(r, t, jv_ref(d->u.dict.e[i].val))) {
            jv_unref(t);
            return jv_drop(l);
        }
        if (!jv_list_push(r, l, t)) return jv_drop(l);
    }
    return l;
}

/* Jinja's attribute path "a.b.0" on item. New reference. */
static lc_jinja_value *attr_path(jrender *r, lc_jinja_value *item, const lc_jinja_value *path) {
    if (path->kind == LC_JV_INT) {
        if (item->kind == LC_JV_LIST && path->u.i >= 0 && (size_t)path->u.i < item->u.list.n)
            return jv_ref(item->u.list.v[path->u.i]);
        return jv_undef(r, "item", 4);
    }
    if (!want_str(r, path, "attribute")) return NULL;
    lc_jinja_value *cur = jv_ref(item);
    const char *p = path->u.str.s, *end = p + path->u.str.len;
    while (cur && p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const size_t k = dot ? (size_t)(dot - p) : (size_t)(end - p);
        lc_jinja_value *next = NULL;
        if (cur->kind == LC_JV_DICT) {
            const int64_t at = jv_dict_find(cur, p, k);
            next = at >= 0 ? jv_ref(cur->u.dict.e[at].val) : jv_undef(r, p, k);
        } else if (cur->kind == LC_JV_LIST && k > 0 && p[0] >= '0' && p[0] <= '9') {
            size_t idx = 0;
            for (size_t i = 0; i < k && idx < SIZE_MAX / 10; i++) idx = idx * 10 + (size_t)(p[i] - '0');
            next = idx < cur->u.list.n ? jv_ref(cur->u.list.v[idx]) : jv_undef(r, p, k);
        } else if (cur->kind == LC_JV_UNDEFINED) {
            jr_fail(r, LC_ERR_FORMAT, "'%s' is undefined", cur->u.str.s);
        } else {
            next = jv_undef(r, p, k);
        }
        jv_unref(cur);
        cur = next;
        if (!dot) break;
        p = dot + 1;
    }
    return cur;
}

/* select/reject/selectattr/rejectattr: keep items whose test (or truth) is want. */
static lc_jinja_value *select_items(jrender *r, lc_jinja_value *v, const bargs *a, bool by_attr, bool want) {
    lc_jinja_value *items = to_list(r, v, "select");
    if (!items) return NULL;
    const size_t t0 = by_attr ? 1 : 0;
    const lc_jinja_value *attr = by_attr ? arg(a, 0, NULL) : NULL;
    if (by_attr && !attr) {
        jv_unref(items);
        jr_fail(r, LC_ERR_FORMAT, "selectattr/rejectattr: an attribute is required");
        return NULL;
    }
    const lc_jinja_value *test = arg(a, t0, NULL);
    if (test && !want_str(r, test, "select")) {
        jv_unref(items);
        return NULL;
    }
    lc_jinja_value *out = jv_list(r, 0);
    for (size_t i = 0; out && i < items->u.list.n; i++) {
        lc_jinja_value *x = by_attr ? attr_path(r, items->u.list.v[i], attr) : jv_ref(items->u.list.v[i]);
        if (!x) {
            jv_unref(out);
            out = NULL;
            break;
        }
        int t;
        if (test) {
            const size_t extra = a->npos > t0 + 1 ? a->npos - t0 - 1 : 0;
            t = jb_test(r, test->u.str.s, x, a->pos + t0 + 1, extra);
        } else {
            t = jv_truthy(x);
        }
        jv_unref(x);
        if (t < 0 || (t == (int)want && !jv_list_push(r, out, jv_ref(items->u.list.v[i])))) {
            jv_unref(out);
            out = NULL;
        }
    }
    jv_unref(items);
    return out;
}

typedef struct {
    lc_jinja_value *key, *item;
} sort_ent;

static bool sort_values(jrender *r, sort_ent *e, size_t n, bool reverse) {
    /* insertion-free merge sort (stable), failing on unorderable pairs */
    if (n < 2) return true;
    uint64_t lg = 1;
    while (((size_t)1 << lg) < n && lg < 63) lg++;
    if (!jr_work(r, (uint64_t)n * lg)) return false;
    sort_ent *tmp = malloc(n * sizeof *tmp);
    if (!tmp || !jr_account(r, n * sizeof *tmp)) {
        free(tmp);
        if (!r->failed) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return false;
    }
    bool ok = true;
    for (size_t w = 1; w < n && ok; w *= 2) {
        for (size_t lo = 0; lo < n && ok; lo += 2 * w) {
            const size_t mid = LC_MIN(lo + w, n), hi = LC_MIN(lo + 2 * w, n);
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c;
                if (!jv_compare(e[i].key, e[j].key, &c)) {
                    jr_fail(r, LC_ERR_FORMAT, "sort: cannot order %s and %s", jv_kind_name(e[i].key), jv_kind_name(e[j].key));
                    ok = false;
                    break;
                }
                if (reverse ? c < 0 : c > 0) tmp[k++] = e[j++];
                else tmp[k++] = e[i++];
            }
            if (!ok) break;
            while (i < mid) tmp[k++] = e[i++];
            while (j < hi) tmp[k++] = e[j++];
            memcpy(e + lo, tmp + lo, (hi - lo) * sizeof *e);
        }
    }
    free(tmp);
    return ok;
}

static lc_jinja_value *lower_copy(jrender *r, lc_jinja_value *v, bool fold) {
    if (!fold || v->kind != LC_JV_STRING) return jv_ref(v);
    return map_case(r, v, 0);
}

static lc_jinja_value *do_sort(jrender *r, lc_jinja_value *v, const bargs *a) {
    lc_jinja_value *items = to_list(r, v, "sort");
    if (!items) return NULL;
    const bool reverse = jv_truthy(arg(a, 0, "reverse"));
    const bool cs = jv_truthy(arg(a, 1, "case_sensitive"));
    const lc_jinja_value *attr = arg(a, 2, "attribute");
    const size_t n = items->u.list.n;
    sort_ent *e = calloc(n ? n : 1, sizeof *e);
    if (!e) {
        jv_unref(items);
        jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        e[i].item = items->u.list.v[i];
        lc_jinja_value *k = is_none(attr) ? jv_ref(e[i].item) : attr_path(r, e[i].item, attr);
        e[i].key = k ? lower_copy(r, k, !cs) : NULL;
        jv_unref(k);
        ok = e[i].key != NULL;
    }
    ok = ok && sort_values(r, e, n, reverse);
    lc_jinja_value *out = ok ? jv_list(r, n) : NULL;
    for (size_t i = 0; out && i < n; i++)
        if (!jv_list_push(r, out, jv_ref(e[i].item))) out = jv_drop(out);
    for (size_t i = 0; i < n; i++) jv_unref(e[i].key);
    free(e);
    jv_unref(items);
    return out;
}

static lc_jinja_value *to_int(jrender *r, lc_jinja_value *v, const lc_jinja_value *dflt) {
    switch (v->kind) {
    case LC_JV_INT: return jv_ref(v);
    case LC_JV_BOOL: return jv_int(r, v->u.b);
    case LC_JV_FLOAT:
        if (isfinite(v->u.f) && fabs(v->u.f) < 9.2e18) return jv_int(r, (int64_t)v->u.f);
        break;
    case LC_JV_STRING: {
        char buf[64];
        if (v->u.str.len >= sizeof buf) break;
        memcpy(buf, v->u.str.s, v->u.str.len);
        buf[v->u.str.len] = '\0';
        char *end;
        const long long x = strtoll(buf, &end, 10);
        while (*end && ascii_ws((unsigned char)*end)) end++;
        if (end != buf && !*end) return jv_int(r, x);
        const double d = strtod(buf, &end);
        while (*end && ascii_ws((unsigned char)*end)) end++;
        if (end != buf && !*end && isfinite(d) && fabs(d) < 9.2e18) return jv_int(r, (int64_t)d);
        break;
    }
    default: break;
    }
    return dflt ? jv_ref((lc_jinja_value *)dflt) : jv_int(r, 0);
}

static lc_jinja_value *to_float(jrender *r, lc_jinja_value *v, const lc_jinja_value *dflt) {
    switch (v->kind) {
    case LC_JV_INT: return jv_float(r, (double)v->u.i);
    case LC_JV_BOOL: return jv_float(r, v->u.b);
    case LC_JV_FLOAT: return jv_ref(v);
    case LC_JV_STRING: {
        char buf[64];
        if (v->u.str.len >= sizeof buf) break;
        memcpy(buf, v->u.str.s, v->u.str.len);
        buf[v->u.str.len] = '\0';
        char *end;
        const double d = strtod(buf, &end);
        while (*end && ascii_ws((unsigned char)*end)) end++;
        if (end != buf && !*end) return jv_float(r, d);
        break;
    }
    default: break;
    }
    return dflt ? jv_ref((lc_jinja_value *)dflt) : jv_float(r, 0.0);
}

static lc_jinja_value *html_escape(jrender *r, lc_jinja_value *v) {
    lc_jinja_value *s = jv_to_string(r, v);
    if (!s) return NULL;
    jbuf b = {0};
    b.limit = r->lim.max_string;
    bool ok = true;
    for (size_t i = 0; ok && i < s->u.str.len; i++) {
        const char c = s->u.str.s[i];
        const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
        ok = e ? jbuf_put(r, &b, e, strlen(e)) : jbuf_putc(r, &b, c);
    }
    jv_unref(s);
    if (!ok) {
        jbuf_free(&b);
        return NULL;
    }
    return jbuf_to_value(r, &b);
}

static lc_jinja_value *indent(jrender *r, lc_jinja_value *v, const bargs *a) {
    int64_t width = 4;
    const lc_jinja_value *w = arg(a, 0, "width");
    if (w && w->kind == LC_JV_STRING) {
    } else if (!is_none(w) && !want_int(r, w, "indent", &width)) {
        return NULL;
    }
    if (width < 0 || width > 1024) width = width < 0 ? 0 : 1024;
    const bool first = jv_truthy(arg(a, 1, "first")), blank = jv_truthy(arg(a, 2, "blank"));
    char pad[1025];
    size_t plen;
    if (w && w->kind == LC_JV_STRING) {
        plen = LC_MIN(w->u.str.len, sizeof pad - 1);
        memcpy(pad, w->u.str.s, plen);
    } else {
        plen = (size_t)width;
        memset(pad, ' ', plen);
    }
    lc_jinja_value *s = jv_to_string(r, v);
    if (!s) return NULL;
    jbuf b = {0};
    b.limit = r->lim.max_string;
    bool ok = true;
    const char *p = s->u.str.s, *end = p + s->u.str.len;
    for (bool line0 = true; ok && p <= end; line0 = false) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
        bool empty = true;
        for (size_t i = 0; i < k && empty; i++) empty = ascii_ws((unsigned char)p[i]);
        if ((line0 ? first : true) && (blank || !empty)) ok = jbuf_put(r, &b, pad, plen);
        ok = ok && jbuf_put(r, &b, p, k) && (!nl || jbuf_putc(r, &b, '\n'));
        if (!nl) break;
        p = nl + 1;
    }
    jv_unref(s);
    if (!ok) {
        jbuf_free(&b);
        return NULL;
    }
    return jbuf_to_value(r, &b);
}

static lc_jinja_value *minmax(jrender *r, lc_jinja_value *v, const bargs *a, bool max) {
    lc_jinja_value *items = to_list(r, v, max ? "max" : "min");
    if (!items) return NULL;
    const bool cs = jv_truthy(arg(a, 0, "case_sensitive"));
    const lc_jinja_value *attr = arg(a, 1, "attribute");
    lc_jinja_value *best = NULL, *best_key = NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < items->u.list.n; i++) {
        lc_jinja_value *it = items->u.list.v[i];
        lc_jinja_value *k0 = is_none(attr) ? jv_ref(it) : attr_path(r, it, attr);
        lc_jinja_value *k = k0 ? lower_copy(r, k0, !cs) : NULL;
        jv_unref(k0);
        if (!k) {
            ok = false;
            break;
        }
        int c = 0;
        if (best_key && !jv_compare(k, best_key, &c)) {
            jr_fail(r, LC_ERR_FORMAT, "cannot order %s and %s", jv_kind_name(k), jv_kind_name(best_key));
            jv_unref(k);
            ok = false;
            break;
        }
        if (!best_key || (max ? c > 0 : c < 0)) {
            jv_unref(best_key);
            best_key = k;
            best = it;
        } else {
            jv_unref(k);
        }
    }
    lc_jinja_value *res = ok ? (best ? jv_ref(best) : jv_undef(r, "max", 3)) : NULL;
    jv_unref(best_key);
    jv_unref(items);
    return res;
}

/* ---- Filters -------------------------------------------------------------------- */

static lc_jinja_value *filter(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs,
                              const char **knames, lc_jinja_value **kvals, size_t nk);

/* The filters that return a generator (or iterator) in jinja2. */
static bool lazy_filter(const char *name, const lc_jinja_value *v) {
    static const char *const lazy[] = {"select", "reject", "selectattr", "rejectattr", "map",
                                       "unique", "batch", "slice", "items"};
    for (size_t i = 0; i < LC_ARRAY_LEN(lazy); i++)
        if (strcmp(name, lazy[i]) == 0) return true;
    return strcmp(name, "reverse") == 0 && v->kind != LC_JV_STRING;
}

lc_jinja_value *jb_filter(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs,
                          const char **knames, lc_jinja_value **kvals, size_t nk) {
    lc_jinja_value *res = filter(r, name, v, args, nargs, knames, kvals, nk);
    if (res && res->kind == LC_JV_LIST && lazy_filter(name, v)) res->lazy = true;
    return res;
}

static lc_jinja_value *filter(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs,
                              const char **knames, lc_jinja_value **kvals, size_t nk) {
    const bargs a = {args, kvals, knames, nargs, nk};
#define IS(n) (strcmp(name, n) == 0)
    if (IS("default") || IS("d")) {
        const bool boolean = jv_truthy(arg(&a, 1, "boolean"));
        if (v->kind == LC_JV_UNDEFINED || (boolean && !jv_truthy(v))) {
            lc_jinja_value *d = arg(&a, 0, "default_value");
            return d ? jv_ref(d) : jv_str(r, "", 0);
        }
        return jv_ref(v);
    }
    if (IS("length") || IS("count")) {
        if (v->lazy) {
            jr_fail(r, LC_ERR_FORMAT, "%s: a generator has no length (add | list)", name);
            return NULL;
        }
        switch (v->kind) {
        case LC_JV_STRING: /* counting code points reads the string: work */
            return jr_work(r, v->u.str.len) ? jv_int(r, (int64_t)ju_count(v->u.str.s, v->u.str.len)) : NULL;
        case LC_JV_LIST: return jv_int(r, (int64_t)v->u.list.n);
        case LC_JV_DICT: return jv_int(r, (int64_t)v->u.dict.n);
        case LC_JV_UNDEFINED: return jv_int(r, 0);
        default: jr_fail(r, LC_ERR_FORMAT, "length: a %s has no length", jv_kind_name(v)); return NULL;
        }
    }
    if (IS("tojson")) {
        int64_t ind = -1;
        const lc_jinja_value *i = arg(&a, 0, "indent");
        if (!is_none(i) && !want_int(r, i, "tojson indent", &ind)) return NULL;
        if (ind > 64) ind = 64;
        if (jv_truthy(arg(&a, 1, "ensure_ascii"))) {
            jr_fail(r, LC_ERR_UNSUPPORTED, "tojson: ensure_ascii=True is not supported");
            return NULL;
        }
        if (!is_none(arg(&a, 2, "separators"))) {
            jr_fail(r, LC_ERR_UNSUPPORTED, "tojson: separators are not supported");
            return NULL;
        }
        jbuf b = {0};
        b.limit = r->lim.max_string;
        if (!jv_json_append(r, &b, v, (int)ind, jv_truthy(arg(&a, 3, "sort_keys")), 0)) {
            jbuf_free(&b);
            return NULL;
        }
        return jbuf_to_value(r, &b);
    }
    if (IS("safe")) return jv_ref(v);
    if (IS("string")) return v->kind == LC_JV_UNDEFINED ? jv_str(r, "", 0) : jv_to_string(r, v);
    if (IS("escape") || IS("e") || IS("forceescape")) return html_escape(r, v);
    if (IS("trim") || IS("upper") || IS("lower") || IS("title") || IS("capitalize") || IS("replace") ||
        IS("indent") || IS("wordcount")) {
        if (IS("indent") && v->kind != LC_JV_STRING) { /* Jinja's indent takes text only */
            jr_fail(r, LC_ERR_FORMAT, "indent: a string is required, not %s", jv_kind_name(v));
            return NULL;
        }
        lc_jinja_value *s = v->kind == LC_JV_UNDEFINED ? jv_str(r, "", 0) : jv_to_string(r, v);
        if (!s) return NULL;
        lc_jinja_value *res = NULL;
        if (IS("trim")) res = strip(r, s, arg(&a, 0, "chars"), 3);
        else if (IS("upper")) res = map_case(r, s, 1);
        else if (IS("lower")) res = map_case(r, s, 0);
        else if (IS("title")) res = map_case(r, s, 4);
        else if (IS("capitalize")) res = map_case(r, s, 3);
        else if (IS("replace")) res = replace(r, s, arg(&a, 0, "old"), arg(&a, 1, "new"), arg(&a, 2, "count"));
        else if (IS("indent")) res = indent(r, s, &a);
        else {
            /* runs of word characters (regex \w+; non-ASCII counts as a letter) */
            int64_t words = 0;
            bool in = false;
            for (size_t i = 0; i < s->u.str.len; i++) {
                const unsigned char c = (unsigned char)s->u.str.s[i];
                const bool w = c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                words += w && !in;
                in = w;
            }
            res = jv_int(r, words);
        }
        jv_unref(s);
        return res;
    }
    if (IS("items")) {
        if (v->kind == LC_JV_UNDEFINED) return jv_list(r, 0);
        if (v->kind != LC_JV_DICT) {
            jr_fail(r, LC_ERR_FORMAT, "items: a dict is required, not %s", jv_kind_name(v));
            return NULL;
        }
        return items_of(r, v);
    }
    if (IS("dictsort")) {
        if (v->kind != LC_JV_DICT) {
            jr_fail(r, LC_ERR_FORMAT, "dictsort: a dict is required, not %s", jv_kind_name(v));
            return NULL;
        }
        lc_jinja_value *it = items_of(r, v);
        if (!it) return NULL;
        const bool cs = jv_truthy(arg(&a, 0, "case_sensitive"));
        const lc_jinja_value *by = arg(&a, 1, "by");
        const bool by_value = is_str(by) && by->u.str.len == 5 && memcmp(by->u.str.s, "value", 5) == 0;
        const size_t n = it->u.list.n;
        sort_ent *e = calloc(n ? n : 1, sizeof *e);
        bool ok = e != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            e[i].item = it->u.list.v[i];
            e[i].key = lower_copy(r, e[i].item->u.list.v[by_value ? 1 : 0], !cs);
            ok = e[i].key != NULL;
        }
        ok = ok && sort_values(r, e, n, jv_truthy(arg(&a, 2, "reverse")));
        lc_jinja_value *out = ok ? jv_list(r, n) : NULL;
        for (size_t i = 0; out && i < n; i++)
            if (!jv_list_push(r, out, jv_ref(e[i].item))) out = jv_drop(out);
        for (size_t i = 0; e && i < n; i++) jv_unref(e[i].key);
        free(e);
        jv_unref(it);
        if (!ok && !r->failed) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return out;
    }
    if (IS("list")) return to_list(r, v, "list");
    if (IS("join")) {
        lc_jinja_value *items = to_list(r, v, "join");
        if (!items) return NULL;
        const lc_jinja_value *sep = arg(&a, 0, "d");
        const lc_jinja_value *attr = arg(&a, 1, "attribute");
        if (sep && !want_str(r, sep, "join")) {
            jv_unref(items);
            return NULL;
        }
        if (!is_none(attr))
            for (size_t i = 0; i < items->u.list.n; i++) {
                lc_jinja_value *x = attr_path(r, items->u.list.v[i], attr);
                if (!x) {
                    jv_unref(items);
                    return NULL;
                }
                jv_unref(items->u.list.v[i]);
                items->u.list.v[i] = x;
            }
        lc_jinja_value *res = join(r, items, sep ? sep->u.str.s : "", sep ? sep->u.str.len : 0);
        jv_unref(items);
        return res;
    }
    if (IS("first") || IS("last")) {
        const bool first = IS("first");
        if (v->kind == LC_JV_LIST)
            return v->u.list.n ? jv_ref(v->u.list.v[first ? 0 : v->u.list.n - 1]) : jv_undef(r, name, strlen(name));
        lc_jinja_value *l = to_list(r, v, name);
        if (!l) return NULL;
        lc_jinja_value *res = l->u.list.n ? jv_ref(l->u.list.v[first ? 0 : l->u.list.n - 1]) : jv_undef(r, name, strlen(name));
        jv_unref(l);
        return res;
    }
    if (IS("reverse")) {
        if (v->kind == LC_JV_STRING) {
            lc_jinja_value *l = to_list(r, v, "reverse");
            if (!l) return NULL;
            for (size_t i = 0; i < l->u.list.n / 2; i++) {
                lc_jinja_value *t = l->u.list.v[i];
                l->u.list.v[i] = l->u.list.v[l->u.list.n - 1 - i];
                l->u.list.v[l->u.list.n - 1 - i] = t;
            }
            lc_jinja_value *res = join(r, l, "", 0);
            jv_unref(l);
            return res;
        }
        lc_jinja_value *l = to_list(r, v, "reverse");
        for (size_t i = 0; l && i < l->u.list.n / 2; i++) {
            lc_jinja_value *t = l->u.list.v[i];
            l->u.list.v[i] = l->u.list.v[l->u.list.n - 1 - i];
            l->u.list.v[l->u.list.n - 1 - i] = t;
        }
        return l;
    }
    if (IS("select")) return select_items(r, v, &a, false, true);
    if (IS("reject")) return select_items(r, v, &a, false, false);
    if (IS("selectattr")) return select_items(r, v, &a, true, true);
    if (IS("rejectattr")) return select_items(r, v, &a, true, false);
    if (IS("map")) {
        lc_jinja_value *items = to_list(r, v, "map");
        if (!items) return NULL;
        const lc_jinja_value *attr = NULL, *dflt = NULL;
        for (size_t i = 0; i < nk; i++) {
            if (strcmp(knames[i], "attribute") == 0) attr = kvals[i];
            else if (strcmp(knames[i], "default") == 0) dflt = kvals[i];
        }
        const lc_jinja_value *filt = attr ? NULL : arg(&a, 0, NULL);
        if (!attr && !want_str(r, filt, "map")) {
            jv_unref(items);
            return NULL;
        }
        lc_jinja_value *out = jv_list(r, items->u.list.n);
        for (size_t i = 0; out && i < items->u.list.n; i++) {
            lc_jinja_value *x;
            if (attr) {
                x = attr_path(r, items->u.list.v[i], attr);
                if (x && x->kind == LC_JV_UNDEFINED && dflt) {
                    jv_unref(x);
                    x = jv_ref((lc_jinja_value *)dflt);
                }
            } else {
                x = jb_filter(r, filt->u.str.s, items->u.list.v[i], args + 1, nargs - 1, knames, kvals, nk);
            }
            if (!jv_list_push(r, out, x)) {
                jv_unref(out);
                out = NULL;
            }
        }
        jv_unref(items);
        return out;
    }
    if (IS("unique")) {
        lc_jinja_value *items = to_list(r, v, "unique");
        if (!items) return NULL;
        lc_jinja_value *out = jv_list(r, 0);
        for (size_t i = 0; out && i < items->u.list.n; i++) {
            bool seen = false;
            for (size_t j = 0; j < out->u.list.n && !seen; j++) seen = jv_equal(out->u.list.v[j], items->u.list.v[i]);
            if (!seen && !jv_list_push(r, out, jv_ref(items->u.list.v[i]))) out = jv_drop(out);
            if (out && !jr_work(r, out->u.list.n)) out = jv_drop(out);
        }
        jv_unref(items);
        return out;
    }
    if (IS("sort")) return do_sort(r, v, &a);
    if (IS("min") || IS("max")) return minmax(r, v, &a, IS("max"));
    if (IS("sum")) {
        lc_jinja_value *items = to_list(r, v, "sum");
        if (!items) return NULL;
        const lc_jinja_value *attr = arg(&a, 0, "attribute"), *start = arg(&a, 1, "start");
        int64_t is = 0;
        double fs = 0;
        bool fl = false, ok = true;
        if (start) {
            if (start->kind == LC_JV_FLOAT) fs = start->u.f, fl = true;
            else ok = want_int(r, start, "sum", &is);
        }
        for (size_t i = 0; ok && i < items->u.list.n; i++) {
            lc_jinja_value *x = is_none(attr) ? jv_ref(items->u.list.v[i]) : attr_path(r, items->u.list.v[i], attr);
            if (!x) ok = false;
            else if (x->kind == LC_JV_FLOAT) {
                if (!fl) fs = (double)is;
                fl = true;
                fs += x->u.f;
            } else if (x->kind == LC_JV_INT || x->kind == LC_JV_BOOL) {
                const int64_t k = x->kind == LC_JV_INT ? x->u.i : x->u.b;
                if (fl) fs += (double)k;
                else if (__builtin_add_overflow(is, k, &is)) {
                    jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
                    ok = false;
                }
            } else {
                jr_fail(r, LC_ERR_FORMAT, "sum: cannot add a %s", jv_kind_name(x));
                ok = false;
            }
            jv_unref(x);
        }
        jv_unref(items);
        return ok ? (fl ? jv_float(r, fs) : jv_int(r, is)) : NULL;
    }
    if ((IS("int") || IS("float")) && v->kind == LC_JV_UNDEFINED) {
        jr_fail(r, LC_ERR_FORMAT, "'%s' is undefined", v->u.str.s);
        return NULL;
    }
    if (IS("int")) return to_int(r, v, arg(&a, 0, "default"));
    if (IS("float")) return to_float(r, v, arg(&a, 0, "default"));
    if (IS("abs")) {
        if (v->kind == LC_JV_INT) {
            if (v->u.i == INT64_MIN) {
                jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
                return NULL;
            }
            return jv_int(r, v->u.i < 0 ? -v->u.i : v->u.i);
        }
        if (v->kind == LC_JV_FLOAT) return jv_float(r, fabs(v->u.f));
        if (v->kind == LC_JV_BOOL) return jv_int(r, v->u.b);
        jr_fail(r, LC_ERR_FORMAT, "abs: a number is required, not %s", jv_kind_name(v));
        return NULL;
    }
    if (IS("round")) {
        int64_t prec = 0;
        const lc_jinja_value *p = arg(&a, 0, "precision"), *m = arg(&a, 1, "method");
        if (p && !want_int(r, p, "round", &prec)) return NULL;
        if (v->kind != LC_JV_FLOAT && v->kind != LC_JV_INT && v->kind != LC_JV_BOOL) {
            jr_fail(r, LC_ERR_FORMAT, "round: a number is required, not %s", jv_kind_name(v));
            return NULL;
        }
        if (prec > 300) prec = 300;
        if (prec < -300) prec = -300;
        const double x = v->kind == LC_JV_FLOAT ? v->u.f : v->kind == LC_JV_INT ? (double)v->u.i : v->u.b;
        const double scale = pow(10.0, (double)prec);
        double y = x * scale;
        const bool common = !is_str(m) || strcmp(m->u.str.s, "common") == 0;
        if (common && v->kind != LC_JV_FLOAT && prec >= 0) return jv_int(r, v->kind == LC_JV_INT ? v->u.i : v->u.b);
        if (is_str(m) && strcmp(m->u.str.s, "floor") == 0) y = floor(y);
        else if (is_str(m) && strcmp(m->u.str.s, "ceil") == 0) y = ceil(y);
        else {
            /* Python round(): half to even */
            const double fl = floor(y), diff = y - fl;
            y = diff > 0.5 ? fl + 1 : diff < 0.5 ? fl : (fmod(fl, 2.0) == 0 ? fl : fl + 1);
        }
        return jv_float(r, y / scale);
    }
    if (IS("attr")) {
        const lc_jinja_value *n = arg(&a, 0, "name");
        if (!want_str(r, n, "attr")) return NULL;
        if (v->kind == LC_JV_DICT) {
            const int64_t at = jv_dict_find(v, n->u.str.s, n->u.str.len);
            return at >= 0 ? jv_ref(v->u.dict.e[at].val) : jv_undef(r, n->u.str.s, n->u.str.len);
        }
        lc_jinja_value *m = jb_method(r, v, n->u.str.s, n->u.str.len);
        return m || r->failed ? m : jv_undef(r, n->u.str.s, n->u.str.len);
    }
    if (IS("batch") || IS("slice")) {
        int64_t k;
        if (!want_int(r, arg(&a, 0, NULL), name, &k)) return NULL;
        if (k <= 0) {
            jr_fail(r, LC_ERR_FORMAT, "%s: the count must be positive", name);
            return NULL;
        }
        lc_jinja_value *items = to_list(r, v, name);
        if (!items) return NULL;
        const size_t n = items->u.list.n;
        const lc_jinja_value *fill = arg(&a, 1, "fill_with");
        lc_jinja_value *out = jv_list(r, 0);
        if (IS("batch")) {
            for (size_t i = 0; out && i < n; i += (size_t)k) {
                lc_jinja_value *g = jv_list(r, 0);
                /* without fill_with, a batch ends with the items: batch(10**12)
                 * is not 10**12 turns of the loop */
                for (size_t j = i; g && j < i + (size_t)k && (j < n || fill); j++) {
                    if (j < n) {
                        if (!jv_list_push(r, g, jv_ref(items->u.list.v[j]))) g = jv_drop(g);
                    } else if (fill && !jv_list_push(r, g, jv_ref((lc_jinja_value *)fill))) {
                        g = NULL;
                    }
                }
                if (!jv_list_push(r, out, g)) {
                    jv_unref(out);
                    out = NULL;
                }
            }
        } else {
            const size_t per = n / (size_t)k, extra = n % (size_t)k;
            size_t off = 0;
            for (size_t s = 0; out && s < (size_t)k; s++) {
                const size_t take = per + (s < extra);
                lc_jinja_value *g = jv_list(r, 0);
                for (size_t j = 0; g && j < take; j++)
                    if (!jv_list_push(r, g, jv_ref(items->u.list.v[off + j]))) g = jv_drop(g);
                if (g && fill && s >= extra && extra && !jv_list_push(r, g, jv_ref((lc_jinja_value *)fill))) g = jv_drop(g);
                off += take;
                if (!jv_list_push(r, out, g)) {
                    jv_unref(out);
                    out = NULL;
                }
            }
        }
        jv_unref(items);
        return out;
    }
#undef IS
    jr_fail(r, LC_ERR_UNSUPPORTED, "unknown filter '%s'", name);
    return NULL;
}

/* ---- Tests ---------------------------------------------------------------------- */

int jb_test(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs) {
#define IS(n) (strcmp(name, n) == 0)
    const lc_jinja_value *x = nargs ? args[0] : NULL;
    const lc_jv_kind k = v->kind;
    if (IS("defined")) return k != LC_JV_UNDEFINED;
    if (IS("undefined")) return k == LC_JV_UNDEFINED;
    if (IS("none")) return k == LC_JV_NONE;
    if (IS("boolean")) return k == LC_JV_BOOL;
    if (IS("true")) return k == LC_JV_BOOL && v->u.b;
    if (IS("false")) return k == LC_JV_BOOL && !v->u.b;
    if (IS("integer")) return k == LC_JV_INT;
    if (IS("float")) return k == LC_JV_FLOAT;
    if (IS("number")) return k == LC_JV_INT || k == LC_JV_FLOAT || k == LC_JV_BOOL;
    if (IS("string")) return k == LC_JV_STRING;
    if (IS("mapping")) return k == LC_JV_DICT;
    if (IS("iterable")) return k == LC_JV_STRING || k == LC_JV_LIST || k == LC_JV_DICT || k == LC_JV_UNDEFINED;
    if (IS("sequence")) return k == LC_JV_STRING || k == LC_JV_LIST || k == LC_JV_DICT;
    if (IS("callable")) return k == LC_JV_CALLABLE || k == LC_JV_UNDEFINED; /* Undefined has __call__ */
    if (IS("lower") || IS("upper")) { /* str(v).islower() / isupper() */
        lc_jinja_value *sv = jv_to_string(r, v);
        if (!sv) return -1;
        bool cased = false;
        int res = -2;
        for (size_t i = 0; i < sv->u.str.len && res == -2; i++) {
            const char c = sv->u.str.s[i];
            if (c >= 'a' && c <= 'z') {
                if (IS("upper")) res = 0;
                cased = true;
            } else if (c >= 'A' && c <= 'Z') {
                if (IS("lower")) res = 0;
                cased = true;
            }
        }
        jv_unref(sv);
        return res == -2 ? cased : res;
    }
    if (IS("escaped")) return 0;
    if ((IS("odd") || IS("even") || IS("divisibleby")) &&
        (v->kind == LC_JV_FLOAT || (x && x->kind == LC_JV_FLOAT))) {
        double n = v->kind == LC_JV_FLOAT ? v->u.f : v->kind == LC_JV_INT ? (double)v->u.i : v->kind == LC_JV_BOOL ? v->u.b : NAN;
        double d = !IS("divisibleby") ? 2.0 : x->kind == LC_JV_FLOAT ? x->u.f : x->kind == LC_JV_INT ? (double)x->u.i : x->kind == LC_JV_BOOL ? x->u.b : NAN;
        if (isnan(n) || isnan(d)) {
            jr_fail(r, LC_ERR_FORMAT, "%s: a number is required", name);
            return -1;
        }
        if (d == 0) {
            jr_fail(r, LC_ERR_FORMAT, "%s: division by zero", name);
            return -1;
        }
        const double m = n - floor(n / d) * d; /* Python's float % */
        return IS("odd") ? m == 1.0 : m == 0.0;
    }
    if (IS("odd") || IS("even") || IS("divisibleby")) {
        int64_t n, d = 2;
        if (!want_int(r, v, name, &n)) return -1;
        if (IS("divisibleby") && !want_int(r, x, name, &d)) return -1;
        if (d == 0) {
            jr_fail(r, LC_ERR_FORMAT, "divisibleby: division by zero");
            return -1;
        }
        const int64_t m = d == -1 ? 0 : n % d;
        return IS("odd") ? m != 0 : m == 0;
    }
    const bool cmp_test = IS("equalto") || IS("eq") || IS("==") || IS("ne") || IS("!=") || IS("sameas") || IS("lt") ||
                          IS("lessthan") || IS("<") || IS("le") || IS("<=") || IS("gt") || IS("greaterthan") ||
                          IS(">") || IS("ge") || IS(">=") || IS("in");
    if (cmp_test && !x) {
        jr_fail(r, LC_ERR_FORMAT, "test '%s' needs an argument", name);
        return -1;
    }
    if (IS("equalto") || IS("eq") || IS("==")) return jv_equal(v, x);
    if (IS("ne") || IS("!=")) return !jv_equal(v, x);
    if (IS("sameas")) {
        if (v == x) return 1;
        if (k != x->kind) return 0;
        if (k == LC_JV_NONE || k == LC_JV_UNDEFINED) return 1;
        if (k == LC_JV_BOOL) return v->u.b == x->u.b;
        if (k == LC_JV_INT) return v->u.i == x->u.i; /* Python's small ints are one object */
        return 0;
    }
    if (IS("in")) {
        if (x->kind == LC_JV_STRING) {
            if (k != LC_JV_STRING) {
                jr_fail(r, LC_ERR_FORMAT, "'in <string>' requires a string on the left");
                return -1;
            }
            return find_sub(x->u.str.s, x->u.str.len, v->u.str.s, v->u.str.len) != NULL;
        }
        if (x->kind == LC_JV_LIST) {
            if (!jr_work(r, x->u.list.n)) return -1;
            for (size_t i = 0; i < x->u.list.n; i++)
                if (jv_equal(v, x->u.list.v[i])) return 1;
            return 0;
        }
        if (x->kind == LC_JV_DICT) return k == LC_JV_STRING && jv_dict_find(x, v->u.str.s, v->u.str.len) >= 0;
        jr_fail(r, LC_ERR_FORMAT, "test 'in': a %s is not a container", jv_kind_name(x));
        return -1;
    }
    if (cmp_test) {
        int c;
        if (!jv_compare(v, x, &c)) {
            jr_fail(r, LC_ERR_FORMAT, "cannot order %s and %s", jv_kind_name(v), jv_kind_name(x));
            return -1;
        }
        if (c == 2) return 0;
        if (IS("lt") || IS("lessthan") || IS("<")) return c < 0;
        if (IS("le") || IS("<=")) return c <= 0;
        if (IS("gt") || IS("greaterthan") || IS(">")) return c > 0;
        return c >= 0;
    }
#undef IS
    jr_fail(r, LC_ERR_UNSUPPORTED, "unknown test '%s'", name);
    return -1;
}

/* ---- Methods and globals ----------------------------------------------------------- */

static const char *const str_methods[] = {"startswith", "endswith", "split", "strip", "lstrip", "rstrip", "replace",
                                          "upper", "lower", "title", "capitalize", "find", "count", "join",
                                          "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper"};
static const char *const dict_methods[] = {"items", "keys", "values", "get"};

static const char *known(const char *const *tab, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(tab[i]) == len && memcmp(tab[i], name, len) == 0) return tab[i];
    return NULL;
}

lc_jinja_value *jb_method(jrender *r, lc_jinja_value *v, const char *name, size_t len) {
    const char *m = NULL;
    if (v->kind == LC_JV_STRING) m = known(str_methods, LC_ARRAY_LEN(str_methods), name, len);
    else if (v->kind == LC_JV_DICT && !v->ns) m = known(dict_methods, LC_ARRAY_LEN(dict_methods), name, len);
    if (!m) return NULL;
    return jv_func(r, JF_METHOD, m, jv_ref(v));
}

lc_jinja_value *jb_global(jrender *r, const char *name, size_t len) {
    static const struct {
        const char *name;
        jfunc_kind kind;
    } g[] = {{"raise_exception", JF_RAISE}, {"strftime_now", JF_STRFTIME}, {"namespace", JF_NAMESPACE},
             {"range", JF_RANGE},           {"dict", JF_DICT}};
    for (size_t i = 0; i < LC_ARRAY_LEN(g); i++)
        if (strlen(g[i].name) == len && memcmp(g[i].name, name, len) == 0) return jv_func(r, g[i].kind, g[i].name, NULL);
    return NULL;
}

static int str_class(const lc_jinja_value *s, const char *what) {
    if (s->u.str.len == 0) return 0;
    bool cased = false;
    for (size_t i = 0; i < s->u.str.len; i++) {
        const unsigned char c = (unsigned char)s->u.str.s[i];
        const bool lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z', dig = c >= '0' && c <= '9';
        if (strcmp(what, "isdigit") == 0 && !dig) return 0;
        if (strcmp(what, "isalpha") == 0 && !lo && !up) return 0;
        if (strcmp(what, "isalnum") == 0 && !lo && !up && !dig) return 0;
        if (strcmp(what, "isspace") == 0 && !ascii_ws(c)) return 0;
        if (strcmp(what, "islower") == 0 && up) return 0;
        if (strcmp(what, "isupper") == 0 && lo) return 0;
        cased = cased || lo || up;
    }
    if (strcmp(what, "islower") == 0 || strcmp(what, "isupper") == 0) return cased;
    return 1;
}

static lc_jinja_value *str_method(jrender *r, const char *m, lc_jinja_value *s, const bargs *a) {
#define IS(n) (strcmp(m, n) == 0)
    if (IS("startswith") || IS("endswith")) {
        const int k = affix(r, s, arg(a, 0, NULL), IS("endswith"));
        return k < 0 ? NULL : jv_bool(r, k == 1);
    }
    if (IS("split")) return split(r, s, arg(a, 0, "sep"), arg(a, 1, "maxsplit"));
    if (IS("strip")) return strip(r, s, arg(a, 0, "chars"), 3);
    if (IS("lstrip")) return strip(r, s, arg(a, 0, "chars"), 1);
    if (IS("rstrip")) return strip(r, s, arg(a, 0, "chars"), 2);
    if (IS("replace")) return replace(r, s, arg(a, 0, "old"), arg(a, 1, "new"), arg(a, 2, "count"));
    if (IS("upper")) return map_case(r, s, 1);
    if (IS("lower")) return map_case(r, s, 0);
    if (IS("title")) return map_case(r, s, 2);
    if (IS("capitalize")) return map_case(r, s, 3);
    if (IS("find") || IS("count")) {
        const lc_jinja_value *sub = arg(a, 0, NULL);
        if (!want_str(r, sub, m) || !jr_work(r, s->u.str.len)) return NULL;
        if (IS("find")) {
            const char *f = find_sub(s->u.str.s, s->u.str.len, sub->u.str.s, sub->u.str.len);
            return jv_int(r, f ? (int64_t)ju_count(s->u.str.s, (size_t)(f - s->u.str.s)) : -1);
        }
        if (sub->u.str.len == 0) return jv_int(r, (int64_t)ju_count(s->u.str.s, s->u.str.len) + 1);
        int64_t c = 0;
        const char *f;
        for (size_t i = 0; (f = ju_find(s->u.str.s + i, s->u.str.len - i, sub->u.str.s, sub->u.str.len)); c++)
            i = (size_t)(f - s->u.str.s) + sub->u.str.len;
        return jv_int(r, c);
    }
    if (IS("join")) {
        const lc_jinja_value *it = arg(a, 0, NULL);
        if (!it) {
            jr_fail(r, LC_ERR_FORMAT, "join: an iterable is required");
            return NULL;
        }
        lc_jinja_value *items = to_list(r, (lc_jinja_value *)it, "join");
        if (!items) return NULL;
        for (size_t i = 0; i < items->u.list.n; i++)
            if (!want_str(r, items->u.list.v[i], "join")) {
                jv_unref(items);
                return NULL;
            }
        lc_jinja_value *res = join(r, items, s->u.str.s, s->u.str.len);
        jv_unref(items);
        return res;
    }
    return jv_bool(r, str_class(s, m) == 1);
#undef IS
}

static lc_jinja_value *dict_method(jrender *r, const char *m, lc_jinja_value *d, const bargs *a) {
    if (strcmp(m, "items") == 0) return items_of(r, d);
    if (strcmp(m, "get") == 0) {
        const lc_jinja_value *k = arg(a, 0, NULL), *dflt = arg(a, 1, NULL);
        if (is_str(k)) {
            const int64_t at = jv_dict_find(d, k->u.str.s, k->u.str.len);
            if (at >= 0) return jv_ref(d->u.dict.e[at].val);
        }
        return dflt ? jv_ref((lc_jinja_value *)dflt) : jv_none(r);
    }
    const bool keys = strcmp(m, "keys") == 0;
    lc_jinja_value *l = jv_list(r, d->u.dict.n);
    for (size_t i = 0; l && i < d->u.dict.n; i++)
        if (!jv_list_push(r, l, jv_ref(keys ? d->u.dict.e[i].key : d->u.dict.e[i].val))) return jv_drop(l);
    return l;
}

lc_jinja_value *jb_call_builtin(jrender *r, lc_jinja_value *fn, lc_jinja_value **args, size_t nargs,
                                const char **knames, lc_jinja_value **kvals, size_t nk) {
    const bargs a = {args, kvals, knames, nargs, nk};
    switch (fn->u.fn.kind) {
    case JF_METHOD:
        if (fn->u.fn.self->kind == LC_JV_STRING) return str_method(r, fn->u.fn.name, fn->u.fn.self, &a);
        return dict_method(r, fn->u.fn.name, fn->u.fn.self, &a);
    case JF_RAISE: {
        lc_jinja_value *m = arg(&a, 0, "message");
        jbuf b = {0};
        b.limit = 400;
        if (m) jv_str_append(NULL, &b, m);
        jr_fail(r, LC_ERR_FORMAT, "raise_exception: %s", b.p ? b.p : "");
        jbuf_free(&b);
        return NULL;
    }
    case JF_STRFTIME: {
        const lc_jinja_value *f = arg(&a, 0, "format");
        if (!want_str(r, f, "strftime_now")) return NULL;
        if (f->u.str.len > 200 || memchr(f->u.str.s, '\0', f->u.str.len)) {
            jr_fail(r, LC_ERR_UNSUPPORTED, "strftime_now: a format of at most 200 bytes without NUL");
            return NULL;
        }
        const time_t now = r->lim.now ? r->lim.now : time(NULL);
        struct tm tm;
        if (!localtime_r(&now, &tm)) {
            jr_fail(r, LC_ERR_FORMAT, "strftime_now: no local time");
            return NULL;
        }
        char out[1024];
        const size_t n = strftime(out, sizeof out, f->u.str.s, &tm);
        return jv_str(r, out, n);
    }
    case JF_NAMESPACE:
    case JF_DICT: {
        lc_jinja_value *d = jv_dict(r);
        if (!d) return NULL;
        d->ns = fn->u.fn.kind == JF_NAMESPACE;
        if (d->ns && !jr_hold_namespace(r, d)) {
            jv_unref(d);
            return NULL;
        }
        const lc_jinja_value *init = nargs ? args[0] : NULL;
        if (nargs > 1 || (init && init->kind != LC_JV_DICT)) {
            jv_unref(d);
            jr_fail(r, LC_ERR_FORMAT, "%s: at most one positional argument, a dict", fn->u.fn.name);
            return NULL;
        }
        for (size_t i = 0; init && i < init->u.dict.n; i++)
            if (!jv_dict_set(r, d, init->u.dict.e[i].key->u.str.s, init->u.dict.e[i].key->u.str.len,
                             jv_ref(init->u.dict.e[i].val))) {
                jv_unref(d);
                return NULL;
            }
        for (size_t i = 0; i < nk; i++)
            if (!jv_dict_set(r, d, knames[i], strlen(knames[i]), jv_ref(kvals[i]))) {
                jv_unref(d);
                return NULL;
            }
        return d;
    }
    case JF_RANGE: {
        int64_t v[3] = {0, 0, 1};
        if (nargs < 1 || nargs > 3 || nk) {
            jr_fail(r, LC_ERR_FORMAT, "range: one to three integer arguments");
            return NULL;
        }
        for (size_t i = 0; i < nargs; i++)
            if (!want_int(r, args[i], "range", &v[i])) return NULL;
        int64_t start = 0, stop = v[0], stp = 1;
        if (nargs >= 2) start = v[0], stop = v[1];
        if (nargs == 3) stp = v[2];
        if (stp == 0) {
            jr_fail(r, LC_ERR_FORMAT, "range: step must not be zero");
            return NULL;
        }
        /* the count exactly, in unsigned arithmetic (the span of two int64
         * fits uint64, |INT64_MIN| too): doubles rounded it up near 2^63,
         * and -stp and start + i * stp overflowed (UBSan) */
        const bool up = stp > 0;
        const uint64_t span = up ? (stop > start ? (uint64_t)stop - (uint64_t)start : 0)
                                 : (start > stop ? (uint64_t)start - (uint64_t)stop : 0);
        const uint64_t mag = up ? (uint64_t)stp : (uint64_t)0 - (uint64_t)stp;
        const uint64_t count = span ? (span - 1) / mag + 1 : 0;
        if (count > 100000 || count > (uint64_t)r->lim.max_items) {
            jr_fail(r, LC_ERR_TOO_LARGE, "range: too big (%llu items)", (unsigned long long)count);
            return NULL;
        }
        lc_jinja_value *l = jv_list(r, (size_t)count);
        int64_t x = start; /* every item lies between start and stop: only the step after the last could overflow */
        for (uint64_t i = 0; l && i < count; i++, x = i < count ? x + stp : x)
            if (!jv_list_push(r, l, jv_int(r, x))) l = jv_drop(l);
        return l;
    }
    case JF_MACRO: break;
    }
    jr_fail(r, LC_ERR_INTERNAL, "bad callable");
    return NULL;
}
