/*
 * Jinja values: reference-counted none/bool/int/float/string/list/dict and
 * callables, the public lc_jv_* constructors, and a growing byte buffer.
 * Inside a render every allocation is counted against the render's budget
 * (jr_account) and strings and lists against their size limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

lc_jinja_value *jv_new(jrender *r, lc_jv_kind kind) {
    if (r && !jr_account(r, sizeof(lc_jinja_value))) return NULL;
    lc_jinja_value *v = calloc(1, sizeof *v);
    if (!v) {
        if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    v->kind = kind;
    v->refs = 1;
    return v;
}

lc_jinja_value *jv_str_own(jrender *r, char *s, size_t len) {
    if (!s) return NULL;
    lc_jinja_value *v = jv_new(r, LC_JV_STRING);
    if (!v) {
        free(s);
        return NULL;
    }
    v->u.str.s = s;
    v->u.str.len = len;
    return v;
}

static bool str_fits(jrender *r, size_t len) {
    if (r && len > r->lim.max_string) {
        jr_fail(r, LC_ERR_TOO_LARGE, "a string of %zu bytes passes the limit of %zu", len, r->lim.max_string);
        return false;
    }
    if (r && !jr_account(r, len + 1)) return false;
    return len < SIZE_MAX;
}

static lc_jinja_value *str_kind(jrender *r, lc_jv_kind kind, const char *s, size_t len) {
    if (!str_fits(r, len)) return NULL;
    char *c = malloc(len + 1);
    if (!c) {
        if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (len) memcpy(c, s, len);
    c[len] = '\0';
    lc_jinja_value *v = jv_new(r, kind);
    if (!v) {
        free(c);
        return NULL;
    }
    v->u.str.s = c;
    v->u.str.len = len;
    return v;
}

lc_jinja_value *jv_str(jrender *r, const char *s, size_t len) { return str_kind(r, LC_JV_STRING, s, len); }
lc_jinja_value *jv_undef(jrender *r, const char *name, size_t len) { return str_kind(r, LC_JV_UNDEFINED, name, len); }

lc_jinja_value *jv_int(jrender *r, int64_t i) {
    lc_jinja_value *v = jv_new(r, LC_JV_INT);
    if (v) v->u.i = i;
    return v;
}

lc_jinja_value *jv_float(jrender *r, double f) {
    lc_jinja_value *v = jv_new(r, LC_JV_FLOAT);
    if (v) v->u.f = f;
    return v;
}

lc_jinja_value *jv_bool(jrender *r, bool b) {
    lc_jinja_value *v = jv_new(r, LC_JV_BOOL);
    if (v) v->u.b = b;
    return v;
}

lc_jinja_value *jv_none(jrender *r) { return jv_new(r, LC_JV_NONE); }

lc_jinja_value *jv_list(jrender *r, size_t cap) {
    lc_jinja_value *v = jv_new(r, LC_JV_LIST);
    if (v && cap) {
        if (r && cap > r->lim.max_items) cap = r->lim.max_items;
        size_t bytes;
        if (!lc_mul_size(cap, sizeof(lc_jinja_value *), &bytes) || (r && !jr_account(r, bytes)) ||
            !(v->u.list.v = malloc(bytes))) {
            if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
            free(v);
            return NULL;
        }
        v->u.list.cap = cap;
    }
    return v;
}

lc_jinja_value *jv_dict(jrender *r) { return jv_new(r, LC_JV_DICT); }

lc_jinja_value *jv_func(jrender *r, jfunc_kind kind, const char *name, lc_jinja_value *self) {
    lc_jinja_value *v = jv_new(r, LC_JV_CALLABLE);
    if (!v) {
        jv_unref(self);
        return NULL;
    }
    v->u.fn.kind = kind;
    v->u.fn.name = name;
    v->u.fn.self = self;
    return v;
}

lc_jinja_value *jv_ref(lc_jinja_value *v) {
    if (v && v->refs > 0) v->refs++;
    return v;
}

static void destroy(lc_jinja_value *v) {
    switch (v->kind) {
    case LC_JV_STRING:
    case LC_JV_UNDEFINED: free(v->u.str.s); break;
    case LC_JV_LIST:
        for (size_t i = 0; i < v->u.list.n; i++) jv_unref(v->u.list.v[i]);
        free(v->u.list.v);
        break;
    case LC_JV_DICT:
        for (size_t i = 0; i < v->u.dict.n; i++) {
            jv_unref(v->u.dict.e[i].key);
            jv_unref(v->u.dict.e[i].val);
        }
        free(v->u.dict.e);
        free(v->u.dict.idx);
        break;
    case LC_JV_CALLABLE: jv_unref(v->u.fn.self); break;
    default: break;
    }
    free(v);
}

void jv_unref(lc_jinja_value *v) {
    if (!v || v->refs < 0) return;
    if (--v->refs == 0) destroy(v);
}

lc_jinja_value *jv_drop(lc_jinja_value *v) {
    jv_unref(v);
    return NULL;
}

void jv_free_literal(lc_jinja_value *v) {
    if (!v) return;
    /* a literal's items are literals too (made immortal with it) */
    if (v->kind == LC_JV_LIST)
        for (size_t i = 0; i < v->u.list.n; i++) jv_free_literal(v->u.list.v[i]);
    if (v->kind == LC_JV_LIST) v->u.list.n = 0;
    v->refs = 1;
    destroy(v);
}

static bool grow(jrender *r, void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 4;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return false;
        nc *= 2;
    }
    size_t bytes;
    if (!lc_mul_size(nc, elem, &bytes)) return false;
    if (r && !jr_account(r, bytes)) return false;
    void *q = realloc(*p, bytes);
    if (!q) {
        if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return false;
    }
    *p = q;
    *cap = nc;
    return true;
}

/* container will hold item: its depth, within the limit. */
static bool deepen(jrender *r, lc_jinja_value *c, const lc_jinja_value *item) {
    const uint32_t d = item->depth + 1, max = r ? JV_MAX_DEPTH_RENDER : JV_MAX_DEPTH_API;
    if (d > max) {
        if (r) jr_fail(r, LC_ERR_TOO_LARGE, "values nested more than %u deep", (unsigned)max);
        return false;
    }
    if (d > c->depth) c->depth = d;
    return true;
}

bool jv_list_push(jrender *r, lc_jinja_value *list, lc_jinja_value *item) {
    if (!item) return false;
    if (!list || list->kind != LC_JV_LIST) {
        jv_unref(item);
        return false;
    }
    if (r && list->u.list.n >= r->lim.max_items) {
        jr_fail(r, LC_ERR_TOO_LARGE, "a list of more than %zu items", r->lim.max_items);
        jv_unref(item);
        return false;
    }
    if (!deepen(r, list, item) ||
        !grow(r, (void **)&list->u.list.v, &list->u.list.cap, list->u.list.n + 1, sizeof(lc_jinja_value *))) {
        jv_unref(item);
        return false;
    }
    list->u.list.v[list->u.list.n++] = item;
    return true;
}

static uint64_t key_hash(const char *key, size_t klen) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < klen; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static bool key_is(const lc_jinja_value *d, size_t at, const char *key, size_t klen) {
    const lc_jinja_value *k = d->u.dict.e[at].key;
    return k->u.str.len == klen && memcmp(k->u.str.s, key, klen) == 0;
}

static void index_put(uint32_t *idx, size_t cap, const lc_jinja_value *d, size_t at) {
    const lc_jinja_value *k = d->u.dict.e[at].key;
    size_t h = (size_t)key_hash(k->u.str.s, k->u.str.len) & (cap - 1);
    while (idx[h]) h = (h + 1) & (cap - 1);
    idx[h] = (uint32_t)(at + 1);
}

/* The index holds entries 0..n-1 (n keys, the last just appended). */
static bool index_add(jrender *r, lc_jinja_value *d) {
    const size_t n = d->u.dict.n;
    if (n < JV_DICT_INDEX_MIN) return true;
    if (n > UINT32_MAX - 1) return false;
    if (d->u.dict.idx && 2 * n <= d->u.dict.idx_cap) {
        index_put(d->u.dict.idx, d->u.dict.idx_cap, d, n - 1);
        return true;
    }
    size_t cap = 64, bytes;
    while (cap < 4 * n) cap *= 2;
    if (!lc_mul_size(cap, sizeof(uint32_t), &bytes) || (r && !jr_account(r, bytes))) return false;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx) {
        if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) index_put(idx, cap, d, i);
    free(d->u.dict.idx);
    d->u.dict.idx = idx;
    d->u.dict.idx_cap = cap;
    return true;
}

void jv_dict_clear(lc_jinja_value *d) {
    jv_pair *e = d->u.dict.e;
    const size_t n = d->u.dict.n;
    free(d->u.dict.idx);
    d->u.dict.e = NULL;
    d->u.dict.idx = NULL;
    d->u.dict.n = d->u.dict.cap = d->u.dict.idx_cap = 0;
    for (size_t k = 0; k < n; k++) {
        jv_unref(e[k].key);
        jv_unref(e[k].val);
    }
    free(e);
}

int64_t jv_dict_find(const lc_jinja_value *d, const char *key, size_t klen) {
    if (!d || d->kind != LC_JV_DICT) return -1;
    if (d->u.dict.idx) {
        const size_t mask = d->u.dict.idx_cap - 1;
        for (size_t h = (size_t)key_hash(key, klen) & mask; d->u.dict.idx[h]; h = (h + 1) & mask)
            if (key_is(d, d->u.dict.idx[h] - 1, key, klen)) return (int64_t)d->u.dict.idx[h] - 1;
        return -1;
    }
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const lc_jinja_value *k = d->u.dict.e[i].key;
        if (k->u.str.len == klen && memcmp(k->u.str.s, key, klen) == 0) return (int64_t)i;
    }
    return -1;
}

bool jv_dict_set(jrender *r, lc_jinja_value *d, const char *key, size_t klen, lc_jinja_value *val) {
    if (!val) return false;
    if (!d || d->kind != LC_JV_DICT || !key) {
        jv_unref(val);
        return false;
    }
    if (!deepen(r, d, val)) {
        jv_unref(val);
        return false;
    }
    const int64_t at = jv_dict_find(d, key, klen);
    if (at >= 0) {
        jv_unref(d->u.dict.e[at].val);
        d->u.dict.e[at].val = val;
        return true;
    }
    if (r && d->u.dict.n >= r->lim.max_items) {
        jr_fail(r, LC_ERR_TOO_LARGE, "a dict of more than %zu keys", r->lim.max_items);
        jv_unref(val);
        return false;
    }
    lc_jinja_value *k = jv_str(r, key, klen);
    if (!k || !grow(r, (void **)&d->u.dict.e, &d->u.dict.cap, d->u.dict.n + 1, sizeof(jv_pair))) {
        jv_unref(k);
        jv_unref(val);
        return false;
    }
    d->u.dict.e[d->u.dict.n].key = k;
    d->u.dict.e[d->u.dict.n].val = val;
    d->u.dict.n++;
    if (!index_add(r, d)) { /* the entry stays; without its index the dict is unusable: undo */
        d->u.dict.n--;
        jv_unref(k);
        jv_unref(val);
        return false;
    }
    return true;
}

lc_jinja_value *jv_list_copy(jrender *r, const lc_jinja_value *v) {
    lc_jinja_value *l = jv_list(r, v->u.list.n);
    for (size_t i = 0; l && i < v->u.list.n; i++)
        if (!jv_list_push(r, l, jv_ref(v->u.list.v[i]))) {
            jv_unref(l);
            return NULL;
        }
    return l;
}

/* ---- jbuf ------------------------------------------------------------------- */

bool jbuf_put(jrender *r, jbuf *b, const char *s, size_t n) {
    if (n == 0) return true;
    size_t need;
    if (!lc_add_size(b->len, n + 1, &need)) return false;
    if (b->limit && b->len + n > b->limit) {
        if (r) jr_fail(r, LC_ERR_TOO_LARGE, "text of more than %zu bytes", b->limit);
        return false;
    }
    if (need > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < need) {
            if (nc > SIZE_MAX / 2) return false;
            nc *= 2;
        }
        if (r && !jr_account(r, nc - b->cap)) return false;
        char *q = realloc(b->p, nc);
        if (!q) {
            if (r) jr_fail(r, LC_ERR_NOMEM, "out of memory");
            return false;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

bool jbuf_putc(jrender *r, jbuf *b, char c) { return jbuf_put(r, b, &c, 1); }

bool jbuf_printf(jrender *r, jbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    return jbuf_put(r, b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

lc_jinja_value *jbuf_to_value(jrender *r, jbuf *b) {
    if (!b->p) return jv_str(r, "", 0);
    if (r && b->len > r->lim.max_string) {
        jr_fail(r, LC_ERR_TOO_LARGE, "a string of %zu bytes passes the limit of %zu", b->len, r->lim.max_string);
        jbuf_free(b);
        return NULL;
    }
    lc_jinja_value *v = jv_str_own(r, b->p, b->len);
    b->p = NULL;
    b->len = b->cap = 0;
    return v;
}

void jbuf_free(jbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- Public API ------------------------------------------------------------- */

lc_jinja_value *lc_jv_none(void) { return jv_none(NULL); }
lc_jinja_value *lc_jv_bool(bool b) { return jv_bool(NULL, b); }
lc_jinja_value *lc_jv_int(int64_t i) { return jv_int(NULL, i); }
lc_jinja_value *lc_jv_float(double f) { return jv_float(NULL, f); }
lc_jinja_value *lc_jv_str(const char *s) { return s ? jv_str(NULL, s, strlen(s)) : jv_none(NULL); }
lc_jinja_value *lc_jv_strn(const char *s, size_t len) { return s || !len ? jv_str(NULL, s ? s : "", len) : NULL; }
lc_jinja_value *lc_jv_list(void) { return jv_list(NULL, 0); }
lc_jinja_value *lc_jv_dict(void) { return jv_dict(NULL); }

lc_status lc_jv_list_push(lc_jinja_value *list, lc_jinja_value *item) {
    if (!item) return LC_ERR_NOMEM;
    if (!list || list->kind != LC_JV_LIST || item == list) {
        jv_unref(item);
        return LC_ERR_INVALID_ARG;
    }
    if (item->depth + 1 > JV_MAX_DEPTH_API) {
        jv_unref(item);
        return LC_ERR_TOO_LARGE;
    }
    return jv_list_push(NULL, list, item) ? LC_OK : LC_ERR_NOMEM;
}

lc_status lc_jv_dict_setn(lc_jinja_value *dict, const char *key, size_t key_len, lc_jinja_value *val) {
    if (!val) return LC_ERR_NOMEM;
    if (!dict || dict->kind != LC_JV_DICT || !key || val == dict) {
        jv_unref(val);
        return LC_ERR_INVALID_ARG;
    }
    if (val->depth + 1 > JV_MAX_DEPTH_API) {
        jv_unref(val);
        return LC_ERR_TOO_LARGE;
    }
    return jv_dict_set(NULL, dict, key, key_len, val) ? LC_OK : LC_ERR_NOMEM;
}

lc_status lc_jv_dict_set(lc_jinja_value *dict, const char *key, lc_jinja_value *val) {
    return lc_jv_dict_setn(dict, key, key ? strlen(key) : 0, val);
}

lc_jinja_value *lc_jv_ref(lc_jinja_value *v) { return jv_ref(v); }
void lc_jv_free(lc_jinja_value *v) { jv_unref(v); }

lc_jv_kind lc_jv_kind_of(const lc_jinja_value *v) { return v ? v->kind : LC_JV_UNDEFINED; }

const char *lc_jv_str_get(const lc_jinja_value *v, size_t *len) {
    if (!v || v->kind != LC_JV_STRING) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->u.str.len;
    return v->u.str.s;
}

size_t lc_jv_len(const lc_jinja_value *v) {
    if (!v) return 0;
    return v->kind == LC_JV_LIST ? v->u.list.n : v->kind == LC_JV_DICT ? v->u.dict.n : 0;
}

lc_jinja_value *lc_jv_list_at(const lc_jinja_value *v, size_t i) {
    return v && v->kind == LC_JV_LIST && i < v->u.list.n ? v->u.list.v[i] : NULL;
}

lc_jinja_value *lc_jv_dict_get(const lc_jinja_value *v, const char *key) {
    if (!key) return NULL;
    const int64_t at = jv_dict_find(v, key, strlen(key));
    return at >= 0 ? v->u.dict.e[at].val : NULL;
}

lc_jinja_value *lc_jv_message(const char *role, const char *content, size_t content_len) {
    lc_jinja_value *m = lc_jv_dict();
    lc_status st = lc_jv_dict_set(m, "role", lc_jv_str(role ? role : ""));
    if (st == LC_OK) st = lc_jv_dict_set(m, "content", content ? lc_jv_strn(content, content_len) : lc_jv_none());
    if (st != LC_OK) {
        lc_jv_free(m);
        return NULL;
    }
    return m;
}

lc_jinja_value *lc_jinja_chat_context(lc_jinja_value *messages, bool add_generation_prompt, const char *bos_token,
                                      const char *eos_token, lc_jinja_value *tools) {
    lc_jinja_value *c = lc_jv_dict();
    lc_status st = c ? LC_OK : LC_ERR_NOMEM;
    if (st == LC_OK) st = lc_jv_dict_set(c, "messages", messages ? messages : lc_jv_list());
    else lc_jv_free(messages);
    messages = NULL;
    if (st == LC_OK) st = lc_jv_dict_set(c, "tools", tools ? tools : lc_jv_none());
    else lc_jv_free(tools);
    tools = NULL;
    if (st == LC_OK) st = lc_jv_dict_set(c, "documents", lc_jv_none());
    if (st == LC_OK) st = lc_jv_dict_set(c, "add_generation_prompt", lc_jv_bool(add_generation_prompt));
    if (st == LC_OK && bos_token) st = lc_jv_dict_set(c, "bos_token", lc_jv_str(bos_token));
    if (st == LC_OK && eos_token) st = lc_jv_dict_set(c, "eos_token", lc_jv_str(eos_token));
    if (st != LC_OK) {
        lc_jv_free(c);
        return NULL;
    }
    return c;
}
