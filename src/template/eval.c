/*
 * The evaluator: runs a template's tree over a context and writes text.
 *
 * Scopes follow Jinja2: the top frame holds the template's {% set %}s and
 * shadows the context, which shadows the globals; every iteration of a for
 * loop is a fresh frame over the enclosing one (a set inside a loop is gone
 * after the iteration); a macro runs in a frame over the top frame as it is
 * when called; {% if %} makes no frame. namespace() objects are shared by
 * reference, so {% set ns.x = … %} is seen everywhere.
 *
 * Lookups follow Jinja2's getattr/getitem: x.name is a method of x when x
 * has one by that name, else the item; x[key] is the item, else a method;
 * a missing item is undefined (printing as ""), and using an undefined value
 * (its attributes, arithmetic, calling it) fails with "'name' is undefined".
 *
 * Every expression and loop iteration is a step; steps, output, strings,
 * list sizes, allocation and call depth are bounded (lc_jinja_limits).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

void jr_fail(jrender *r, lc_status st, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = true;
    r->st = st;
    char m[LC_ERROR_MSG_MAX - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (r->at) snprintf(r->msg, sizeof r->msg, "template %d:%d: %s", r->at->line % 1000000000, r->at->col % 1000000000, m);
    else snprintf(r->msg, sizeof r->msg, "template: %s", m);
}

bool jr_account(jrender *r, size_t n) {
    if (r->failed) return false;
    if (n > r->lim.max_alloc || r->alloc > r->lim.max_alloc - n) {
        jr_fail(r, LC_ERR_TOO_LARGE, "the render allocated more than %llu bytes", (unsigned long long)r->lim.max_alloc);
        return false;
    }
    r->alloc += n;
    return true;
}

bool jr_work(jrender *r, uint64_t units) {
    if (r->failed) return false;
    r->steps += 1 + units / 8;
    if (r->steps > r->lim.max_steps) {
        jr_fail(r, LC_ERR_TOO_LARGE, "more than %llu evaluation steps", (unsigned long long)r->lim.max_steps);
        return false;
    }
    return true;
}

static bool step(jrender *r) { return jr_work(r, 0); }

bool jr_hold_namespace(jrender *r, lc_jinja_value *ns) {
    if (r->n_nss == r->cap_nss) {
        const size_t nc = r->cap_nss ? 2 * r->cap_nss : 16;
        if (!jr_account(r, nc * sizeof *r->nss)) return false;
        lc_jinja_value **q = realloc(r->nss, nc * sizeof *q);
        if (!q) {
            jr_fail(r, LC_ERR_NOMEM, "out of memory");
            return false;
        }
        r->nss = q;
        r->cap_nss = nc;
    }
    r->nss[r->n_nss++] = jv_ref(ns);
    return true;
}

/* Empty and release the namespaces: a namespace holding itself (directly or
 * through lists) is the only way to make a cycle. */
static void release_namespaces(jrender *r) {
    for (size_t i = 0; i < r->n_nss; i++) jv_dict_clear(r->nss[i]);
    for (size_t i = 0; i < r->n_nss; i++) jv_unref(r->nss[i]);
    free(r->nss);
    r->nss = NULL;
    r->n_nss = r->cap_nss = 0;
}

static lc_jinja_value *undefined_use(jrender *r, const lc_jinja_value *v) {
    jr_fail(r, LC_ERR_FORMAT, "'%s' is undefined", v->u.str.s);
    return NULL;
}

/* ---- Names ------------------------------------------------------------------ */

static lc_jinja_value *lookup(jrender *r, jframe *f, const char *name, size_t len) {
    for (; f; f = f->parent) {
        const int64_t at = jv_dict_find(f->vars, name, len);
        if (at >= 0) return jv_ref(f->vars->u.dict.e[at].val);
    }
    if (r->ctx) {
        const int64_t at = jv_dict_find(r->ctx, name, len);
        if (at >= 0) return jv_ref(r->ctx->u.dict.e[at].val);
    }
    lc_jinja_value *g = jb_global(r, name, len);
    if (g || r->failed) return g;
    return jv_undef(r, name, len);
}

/* ---- Expressions -------------------------------------------------------------- */

static lc_jinja_value *eval(jrender *r, const jnode *n, jframe *f);
static bool exec(jrender *r, const jnode *n, jframe *f, jbuf *out);

static bool as_index(const lc_jinja_value *k, int64_t *i) {
    if (k->kind == LC_JV_INT) *i = k->u.i;
    else if (k->kind == LC_JV_BOOL) *i = k->u.b;
    else return false;
    return true;
}

/* obj[key] (Jinja's getitem), a new reference. */
static lc_jinja_value *get_item(jrender *r, lc_jinja_value *obj, lc_jinja_value *key) {
    if (obj->kind == LC_JV_UNDEFINED) return undefined_use(r, obj);
    int64_t i;
    if (obj->kind == LC_JV_DICT && key->kind == LC_JV_STRING) {
        const int64_t at = jv_dict_find(obj, key->u.str.s, key->u.str.len);
        if (at >= 0) return jv_ref(obj->u.dict.e[at].val);
        if (!obj->ns) {
            lc_jinja_value *m = jb_method(r, obj, key->u.str.s, key->u.str.len);
            if (m || r->failed) return m;
        }
        return jv_undef(r, key->u.str.s, key->u.str.len);
    }
    if (obj->kind == LC_JV_LIST && obj->lazy) return jv_undef(r, "item", 4); /* a generator has no items */
    if (obj->kind == LC_JV_LIST && as_index(key, &i)) {
        const int64_t n = (int64_t)obj->u.list.n;
        if (i < 0) i += n;
        if (i >= 0 && i < n) return jv_ref(obj->u.list.v[i]);
        return jv_undef(r, "item", 4);
    }
    if (obj->kind == LC_JV_STRING && as_index(key, &i)) {
        const char *s = obj->u.str.s;
        const size_t len = obj->u.str.len;
        if (!jr_work(r, len)) return NULL; /* counting code points reads the string */
        const int64_t n = (int64_t)ju_count(s, len);
        if (i < 0) i += n;
        if (i < 0 || i >= n) return jv_undef(r, "item", 4);
        const size_t a = ju_offset(s, len, (size_t)i), b = ju_offset(s, len, (size_t)i + 1);
        return jv_str(r, s + a, b - a);
    }
    if (key->kind == LC_JV_STRING) {
        lc_jinja_value *m = jb_method(r, obj, key->u.str.s, key->u.str.len);
        if (m || r->failed) return m;
        return jv_undef(r, key->u.str.s, key->u.str.len);
    }
    return jv_undef(r, "item", 4);
}

/* obj.name (Jinja's getattr), a new reference. */
static lc_jinja_value *get_attr(jrender *r, lc_jinja_value *obj, const char *name, size_t len) {
    if (obj->kind == LC_JV_UNDEFINED) return undefined_use(r, obj);
    if (obj->kind == LC_JV_DICT && !obj->ns) {
        lc_jinja_value *m = jb_method(r, obj, name, len);
        if (m || r->failed) return m;
    }
    if (obj->kind == LC_JV_DICT) {
        const int64_t at = jv_dict_find(obj, name, len);
        return at >= 0 ? jv_ref(obj->u.dict.e[at].val) : jv_undef(r, name, len);
    }
    lc_jinja_value *m = jb_method(r, obj, name, len);
    if (m || r->failed) return m;
    return jv_undef(r, name, len);
}

static bool opt_int(jrender *r, jframe *f, const jnode *n, int64_t *v, bool *has) {
    *has = false;
    if (!n) return true;
    lc_jinja_value *x = eval(r, n, f);
    if (!x) return false;
    bool ok = true;
    if (x->kind == LC_JV_NONE) {
    } else if (as_index(x, v)) {
        *has = true;
    } else {
        jr_fail(r, LC_ERR_FORMAT, "slice indices must be integers or none, not %s", jv_kind_name(x));
        ok = false;
    }
    jv_unref(x);
    return ok;
}

static lc_jinja_value *eval_slice(jrender *r, const jnode *n, jframe *f) {
    int64_t a = 0, b = 0, c = 0;
    bool ha, hb, hc;
    lc_jinja_value *obj = eval(r, n->a, f);
    if (!obj) return NULL;
    lc_jinja_value *res = NULL;
    if (!opt_int(r, f, n->b, &a, &ha) || !opt_int(r, f, n->c, &b, &hb) || !opt_int(r, f, n->d, &c, &hc)) goto done;
    r->at = n;
    if (obj->kind == LC_JV_UNDEFINED) {
        undefined_use(r, obj);
        goto done;
    }
    const bool str = obj->kind == LC_JV_STRING;
    if (!str && obj->kind != LC_JV_LIST) { /* Jinja slices with Python's [] directly: an error */
        jr_fail(r, LC_ERR_FORMAT, "a %s cannot be sliced", jv_kind_name(obj));
        goto done;
    }
    if (str && !jr_work(r, obj->u.str.len)) goto done;
    const int64_t len = str ? (int64_t)ju_count(obj->u.str.s, obj->u.str.len) : (int64_t)obj->u.list.n;
    int64_t first, st, count;
    if (!jslice(len, ha ? &a : NULL, hb ? &b : NULL, hc ? &c : NULL, &first, &st, &count)) {
        jr_fail(r, LC_ERR_FORMAT, "slice step cannot be zero");
        goto done;
    }
    if (str) {
        const char *s = obj->u.str.s;
        const size_t sl = obj->u.str.len;
        const bool ascii = (size_t)len == sl;
        if (st == 1) {
            const size_t x = ascii ? (size_t)first : ju_offset(s, sl, (size_t)first);
            const size_t y = ascii ? (size_t)(first + count) : ju_offset(s, sl, (size_t)(first + count));
            res = jv_str(r, s + x, y - x);
            goto done;
        }
        /* a step other than 1 over non-ASCII text: the byte offset of every
         * code point, found once (ju_offset per item would be quadratic) */
        size_t *at = NULL, bytes;
        if (!ascii) {
            if (!lc_mul_size((size_t)len + 1, sizeof *at, &bytes) || !jr_account(r, bytes)) goto done;
            if (!(at = malloc(bytes))) {
                jr_fail(r, LC_ERR_NOMEM, "out of memory");
                goto done;
            }
            size_t ncp = 0;
            for (size_t i = 0; i < sl; i = ju_offset(s + i, sl - i, 1) + i) at[ncp++] = i;
            at[ncp] = sl;
        }
        jbuf out = {0};
        out.limit = r->lim.max_string;
        bool ok = true;
        for (int64_t k = 0; k < count && ok; k++) {
            const size_t i = (size_t)(first + k * st);
            const size_t x = ascii ? i : at[i], y = ascii ? i + 1 : at[i + 1];
            ok = step(r) && jbuf_put(r, &out, s + x, y - x);
        }
        free(at);
        if (ok) res = jbuf_to_value(r, &out);
        else jbuf_free(&out);
        goto done;
    }
    res = jv_list(r, (size_t)count);
    if (res) res->tuple = obj->tuple;
    for (int64_t k = 0; res && k < count; k++)
        if (!jv_list_push(r, res, jv_ref(obj->u.list.v[first + k * st]))) {
            jv_unref(res);
            res = NULL;
        }
done:
    jv_unref(obj);
    return res;
}

static bool check_num(const lc_jinja_value *v) {
    return v->kind == LC_JV_INT || v->kind == LC_JV_FLOAT || v->kind == LC_JV_BOOL;
}
static double fnum(const lc_jinja_value *v) {
    return v->kind == LC_JV_FLOAT ? v->u.f : v->kind == LC_JV_INT ? (double)v->u.i : (double)v->u.b;
}
static int64_t inum(const lc_jinja_value *v) { return v->kind == LC_JV_INT ? v->u.i : (int64_t)v->u.b; }

static lc_jinja_value *concat_values(jrender *r, const lc_jinja_value *a, const lc_jinja_value *b) {
    jbuf out = {0};
    out.limit = r->lim.max_string;
    if (!jv_str_append(r, &out, a) || !jv_str_append(r, &out, b)) {
        jbuf_free(&out);
        return NULL;
    }
    return jbuf_to_value(r, &out);
}

static lc_jinja_value *repeat(jrender *r, const lc_jinja_value *seq, int64_t times) {
    if (times < 0) times = 0;
    /* "" * 10**12 and [] * 10**12 are empty: not 10**12 turns of the loop */
    if ((seq->kind == LC_JV_STRING ? seq->u.str.len : seq->u.list.n) == 0) times = 0;
    if (seq->kind == LC_JV_STRING) {
        size_t total;
        if (!lc_mul_size(seq->u.str.len, (size_t)times, &total) || total > r->lim.max_string) {
            jr_fail(r, LC_ERR_TOO_LARGE, "a repeated string passes the limit of %zu bytes", r->lim.max_string);
            return NULL;
        }
        jbuf out = {0};
        for (int64_t i = 0; i < times; i++)
            if (!jbuf_put(r, &out, seq->u.str.s, seq->u.str.len)) {
                jbuf_free(&out);
                return NULL;
            }
        return jbuf_to_value(r, &out);
    }
    size_t total;
    if (!lc_mul_size(seq->u.list.n, (size_t)times, &total) || total > r->lim.max_items) {
        jr_fail(r, LC_ERR_TOO_LARGE, "a repeated list passes the limit of %zu items", r->lim.max_items);
        return NULL;
    }
    lc_jinja_value *l = jv_list(r, total);
    if (l) l->tuple = seq->tuple;
    for (int64_t i = 0; l && i < times; i++)
        for (size_t k = 0; l && k < seq->u.list.n; k++)
            if (!jv_list_push(r, l, jv_ref(seq->u.list.v[k]))) {
                jv_unref(l);
                l = NULL;
            }
    return l;
}

/* x in container */
static int contains(jrender *r, const lc_jinja_value *x, const lc_jinja_value *c) {
    if (!jr_work(r, c->kind == LC_JV_STRING ? c->u.str.len / 8 : lc_jv_len(c))) return -1;
    switch (c->kind) {
    case LC_JV_UNDEFINED: return 0;
    case LC_JV_STRING:
        if (x->kind != LC_JV_STRING) {
            jr_fail(r, LC_ERR_FORMAT, "'in <string>' requires a string on the left, not %s", jv_kind_name(x));
            return -1;
        }
        return ju_find(c->u.str.s, c->u.str.len, x->u.str.s, x->u.str.len) != NULL;
    case LC_JV_LIST:
        for (size_t i = 0; i < c->u.list.n; i++)
            if (jv_equal(x, c->u.list.v[i])) return 1;
        return 0;
    case LC_JV_DICT:
        if (x->kind != LC_JV_STRING) return 0;
        return jv_dict_find(c, x->u.str.s, x->u.str.len) >= 0;
    default:
        jr_fail(r, LC_ERR_FORMAT, "argument of type %s is not iterable", jv_kind_name(c));
        return -1;
    }
}

static lc_jinja_value *binary(jrender *r, int op, lc_jinja_value *a, lc_jinja_value *b) {
    if (op == JOP_EQ || op == JOP_NE) {
        if (!jr_work(r, LC_MIN(lc_jv_len(a), lc_jv_len(b)))) return NULL;
        return jv_bool(r, jv_equal(a, b) == (op == JOP_EQ));
    }
    if (op == JOP_CONCAT) return concat_values(r, a, b);
    if (op == JOP_IN || op == JOP_NOTIN) {
        const int c = contains(r, a, b);
        return c < 0 ? NULL : jv_bool(r, (c == 1) == (op == JOP_IN));
    }
    if (a->kind == LC_JV_UNDEFINED) return undefined_use(r, a);
    if (b->kind == LC_JV_UNDEFINED) return undefined_use(r, b);
    if (op >= JOP_LT && op <= JOP_GE) {
        int c;
        if (!jv_compare(a, b, &c)) {
            jr_fail(r, LC_ERR_FORMAT, "cannot order %s and %s", jv_kind_name(a), jv_kind_name(b));
            return NULL;
        }
        const bool res = c == 2 ? false : op == JOP_LT ? c < 0 : op == JOP_LE ? c <= 0 : op == JOP_GT ? c > 0 : c >= 0;
        return jv_bool(r, res);
    }
    const bool na = check_num(a), nb = check_num(b);
    if (na && nb) {
        const bool ints = a->kind != LC_JV_FLOAT && b->kind != LC_JV_FLOAT;
        if (ints && op != JOP_DIV && op != JOP_POW) {
            const int64_t x = inum(a), y = inum(b);
            int64_t z = 0;
            bool ok = true;
            switch (op) {
            case JOP_ADD: ok = !__builtin_add_overflow(x, y, &z); break;
            case JOP_SUB: ok = !__builtin_sub_overflow(x, y, &z); break;
            case JOP_MUL: ok = !__builtin_mul_overflow(x, y, &z); break;
            case JOP_FLOORDIV:
            case JOP_MOD:
                if (y == 0) {
                    jr_fail(r, LC_ERR_FORMAT, "integer division or modulo by zero");
                    return NULL;
                }
                if (x == INT64_MIN && y == -1) {
                    ok = false;
                    break;
                }
                z = op == JOP_FLOORDIV ? x / y : x % y;
                if (op == JOP_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0))) z--;
                if (op == JOP_MOD && z != 0 && ((z < 0) != (y < 0))) z += y;
                break;
            default: ok = false;
            }
            if (!ok) {
                jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
                return NULL;
            }
            return jv_int(r, z);
        }
        if (ints && op == JOP_POW && inum(b) >= 0) {
            int64_t base = inum(a), e = inum(b), z = 1;
            while (e > 0) {
                if ((e & 1) && __builtin_mul_overflow(z, base, &z)) {
                    jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
                    return NULL;
                }
                e >>= 1;
                if (e && __builtin_mul_overflow(base, base, &base)) {
                    jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
                    return NULL;
                }
            }
            return jv_int(r, z);
        }
        const double x = fnum(a), y = fnum(b);
        double z = 0;
        switch (op) {
        case JOP_ADD: z = x + y; break;
        case JOP_SUB: z = x - y; break;
        case JOP_MUL: z = x * y; break;
        case JOP_DIV:
        case JOP_FLOORDIV:
        case JOP_MOD:
            if (y == 0) {
                jr_fail(r, LC_ERR_FORMAT, "division by zero");
                return NULL;
            }
            z = op == JOP_DIV ? x / y : op == JOP_FLOORDIV ? floor(x / y) : x - floor(x / y) * y;
            break;
        case JOP_POW: z = pow(x, y); break;
        default: break;
        }
        return jv_float(r, z);
    }
    if (op == JOP_ADD && a->kind == b->kind && (a->kind == LC_JV_STRING || a->kind == LC_JV_LIST)) {
        if (a->kind == LC_JV_STRING) {
            if (a->u.str.len + b->u.str.len > r->lim.max_string) {
                jr_fail(r, LC_ERR_TOO_LARGE, "a string passes the limit of %zu bytes", r->lim.max_string);
                return NULL;
            }
            return concat_values(r, a, b);
        }
        lc_jinja_value *l = jv_list(r, a->u.list.n + b->u.list.n);
        if (l) l->tuple = a->tuple;
        for (size_t i = 0; l && i < a->u.list.n + b->u.list.n; i++) {
            lc_jinja_value *it = i < a->u.list.n ? a->u.list.v[i] : b->u.list.v[i - a->u.list.n];
            if (!jv_list_push(r, l, jv_ref(it))) {
                jv_unref(l);
                l = NULL;
            }
        }
        return l;
    }
    const bool ia = a->kind == LC_JV_INT || a->kind == LC_JV_BOOL, ib = b->kind == LC_JV_INT || b->kind == LC_JV_BOOL;
    if (op == JOP_MUL && (a->kind == LC_JV_STRING || a->kind == LC_JV_LIST) && ib) return repeat(r, a, inum(b));
    if (op == JOP_MUL && (b->kind == LC_JV_STRING || b->kind == LC_JV_LIST) && ia) return repeat(r, b, inum(a));
    if (op == JOP_MOD && a->kind == LC_JV_STRING) {
        /* printf-style formatting: %s and %d with one value or a tuple */
        jbuf out = {0};
        out.limit = r->lim.max_string;
        size_t k = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < a->u.str.len; i++) {
            const char c = a->u.str.s[i];
            if (c != '%' || i + 1 >= a->u.str.len) {
                ok = jbuf_putc(r, &out, c);
                continue;
            }
            const char t = a->u.str.s[++i];
            if (t == '%') {
                ok = jbuf_putc(r, &out, '%');
                continue;
            }
            const lc_jinja_value *arg = b->kind == LC_JV_LIST && b->tuple ? (k < b->u.list.n ? b->u.list.v[k] : NULL)
                                                                           : (k == 0 ? b : NULL);
            k++;
            if (!arg || (t != 's' && t != 'd' && t != 'i' && t != 'r')) {
                jr_fail(r, LC_ERR_UNSUPPORTED, "string formatting: only %%s, %%d and %%r with enough arguments");
                ok = false;
                break;
            }
            if (t == 'r') ok = jv_repr_append(r, &out, arg);
            else if (t == 's') ok = jv_str_append(r, &out, arg);
            else if (arg->kind == LC_JV_FLOAT && !(fabs(arg->u.f) < 9.2e18)) { /* (int64_t)1e300 is undefined */
                jr_fail(r, LC_ERR_UNSUPPORTED, "%%d format: %g is outside the 64-bit integers", arg->u.f);
                ok = false;
            } else if (check_num(arg))
                ok = jbuf_printf(r, &out, "%lld", (long long)(arg->kind == LC_JV_FLOAT ? (int64_t)arg->u.f : inum(arg)));
            else {
                jr_fail(r, LC_ERR_FORMAT, "%%d format: a number is required, not %s", jv_kind_name(arg));
                ok = false;
            }
        }
        if (!ok) {
            jbuf_free(&out);
            return NULL;
        }
        return jbuf_to_value(r, &out);
    }
    static const char *const names[] = {"", "+", "-", "*", "/", "//", "%", "**", "~"};
    jr_fail(r, LC_ERR_FORMAT, "unsupported operand types for %s: %s and %s", op < 9 ? names[op] : "?", jv_kind_name(a),
            jv_kind_name(b));
    return NULL;
}

/* Evaluate a node's arguments (kids / knames) into positional and keyword arrays. */
typedef struct {
    lc_jinja_value **pos, **kv;
    const char **kn;
    size_t npos, nk;
} jargs;

static void args_free(jargs *a) {
    for (size_t i = 0; i < a->npos; i++) jv_unref(a->pos[i]);
    for (size_t i = 0; i < a->nk; i++) jv_unref(a->kv[i]);
    free(a->pos);
    free(a->kv);
    free(a->kn);
    memset(a, 0, sizeof *a);
}

static bool args_eval(jrender *r, const jnode *n, jframe *f, jargs *a) {
    memset(a, 0, sizeof *a);
    if (!n->nkids) return true;
    if (!jr_account(r, n->nkids * (2 * sizeof(void *) + sizeof(char *)))) return false;
    a->pos = calloc(n->nkids, sizeof *a->pos);
    a->kv = calloc(n->nkids, sizeof *a->kv);
    a->kn = calloc(n->nkids, sizeof *a->kn);
    if (!a->pos || !a->kv || !a->kn) {
        jr_fail(r, LC_ERR_NOMEM, "out of memory");
        args_free(a);
        return false;
    }
    for (size_t i = 0; i < n->nkids; i++) {
        lc_jinja_value *v = eval(r, n->kids[i], f);
        if (!v) {
            args_free(a);
            return false;
        }
        if (n->knames && n->knames[i]) {
            a->kn[a->nk] = n->knames[i];
            a->kv[a->nk++] = v;
        } else {
            if (a->nk) {
                jv_unref(v);
                r->at = n->kids[i];
                jr_fail(r, LC_ERR_FORMAT, "a positional argument after a keyword argument");
                args_free(a);
                return false;
            }
            a->pos[a->npos++] = v;
        }
    }
    return true;
}

static lc_jinja_value *call_macro(jrender *r, lc_jinja_value *fn, lc_jinja_value **args, size_t nargs,
                                  const char **knames, lc_jinja_value **kvals, size_t nk) {
    const jnode *m = fn->u.fn.macro;
    if (r->call_depth >= r->lim.max_call_depth) {
        jr_fail(r, LC_ERR_TOO_LARGE, "macro calls nested more than %d deep", r->lim.max_call_depth);
        return NULL;
    }
    if (nargs > m->nkids) {
        jr_fail(r, LC_ERR_FORMAT, "macro '%s' takes not more than %zu argument(s)", m->s, m->nkids);
        return NULL;
    }
    for (size_t k = 0; k < nk; k++) {
        bool found = false;
        for (size_t i = 0; i < m->nkids && !found; i++) found = strcmp(m->kids[i]->s, knames[k]) == 0;
        if (!found) {
            jr_fail(r, LC_ERR_FORMAT, "macro '%s' takes no keyword argument '%s'", m->s, knames[k]);
            return NULL;
        }
    }
    jframe fr = {jv_dict(r), r->top};
    if (!fr.vars) return NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < m->nkids; i++) {
        const jnode *p = m->kids[i];
        lc_jinja_value *v = NULL;
        if (i < nargs) v = jv_ref(args[i]);
        for (size_t k = 0; !v && k < nk; k++)
            if (strcmp(p->s, knames[k]) == 0) v = jv_ref(kvals[k]);
        if (!v) v = p->a ? eval(r, p->a, &fr) : jv_undef(r, p->s, p->len);
        ok = v && jv_dict_set(r, fr.vars, p->s, p->len, v);
    }
    jbuf out = {0};
    out.limit = r->lim.max_output;
    r->call_depth++;
    const int saved_ctl = r->loop_ctl, saved_loops = r->loop_depth;
    const jnode *saved_at = r->at;
    r->loop_depth = 0;
    if (ok) ok = exec(r, m->b, &fr, &out);
    r->call_depth--;
    r->loop_ctl = saved_ctl;
    r->loop_depth = saved_loops;
    r->at = saved_at;
    jv_unref(fr.vars);
    if (!ok) {
        jbuf_free(&out);
        return NULL;
    }
    return jbuf_to_value(r, &out);
}

lc_jinja_value *jr_call(jrender *r, lc_jinja_value *fn, lc_jinja_value **args, size_t nargs, const char **knames,
                        lc_jinja_value **kvals, size_t nk) {
    if (fn->kind == LC_JV_UNDEFINED) return undefined_use(r, fn);
    if (fn->kind != LC_JV_CALLABLE) {
        jr_fail(r, LC_ERR_FORMAT, "a %s is not callable", jv_kind_name(fn));
        return NULL;
    }
    if (fn->u.fn.kind == JF_MACRO) return call_macro(r, fn, args, nargs, knames, kvals, nk);
    return jb_call_builtin(r, fn, args, nargs, knames, kvals, nk);
}

static lc_jinja_value *eval_inner(jrender *r, const jnode *n, jframe *f) {
    lc_jinja_value *a = NULL, *b = NULL, *res = NULL;
    switch (n->kind) {
    case JN_LITERAL:
        if (!n->lit) return jv_ref(r->hole ? r->hole : NULL);
        return n->lit;
    case JN_NAME: return lookup(r, f, n->s, n->len);
    case JN_ATTR:
        if (!(a = eval(r, n->a, f))) return NULL;
        r->at = n;
        res = get_attr(r, a, n->s, n->len);
        break;
    case JN_INDEX:
        if (!(a = eval(r, n->a, f)) || !(b = eval(r, n->b, f))) break;
        r->at = n;
        res = get_item(r, a, b);
        break;
    case JN_SLICE: return eval_slice(r, n, f);
    case JN_CALL: {
        if (!(a = eval(r, n->a, f))) return NULL;
        jargs args;
        if (!args_eval(r, n, f, &args)) break;
        r->at = n;
        res = jr_call(r, a, args.pos, args.npos, args.kn, args.kv, args.nk);
        args_free(&args);
        break;
    }
    case JN_FILTER: {
        if (!(a = eval(r, n->a, f))) return NULL;
        jargs args;
        if (!args_eval(r, n, f, &args)) break;
        r->at = n;
        res = jb_filter(r, n->s, a, args.pos, args.npos, args.kn, args.kv, args.nk);
        args_free(&args);
        break;
    }
    case JN_TEST: {
        if (!(a = eval(r, n->a, f))) return NULL;
        jargs args;
        if (!args_eval(r, n, f, &args)) break;
        r->at = n;
        const int t = jb_test(r, n->s, a, args.pos, args.npos);
        args_free(&args);
        if (t >= 0) res = jv_bool(r, (t == 1) != (n->op == 1));
        break;
    }
    case JN_UNARY:
        if (!(a = eval(r, n->a, f))) return NULL;
        r->at = n;
        if (a->kind == LC_JV_UNDEFINED) undefined_use(r, a);
        else if (!check_num(a)) jr_fail(r, LC_ERR_FORMAT, "bad operand type for unary %c: %s", n->op == JOP_NEG ? '-' : '+', jv_kind_name(a));
        else if (n->op == JOP_POS) res = a->kind == LC_JV_BOOL ? jv_int(r, a->u.b) : jv_ref(a);
        else if (a->kind == LC_JV_FLOAT) res = jv_float(r, -a->u.f);
        else if (inum(a) == INT64_MIN) jr_fail(r, LC_ERR_UNSUPPORTED, "integer overflow");
        else res = jv_int(r, -inum(a));
        break;
    case JN_BINARY:
        if (!(a = eval(r, n->a, f)) || !(b = eval(r, n->b, f))) break;
        r->at = n;
        res = binary(r, n->op, a, b);
        break;
    case JN_AND:
    case JN_OR:
        if (!(a = eval(r, n->a, f))) return NULL;
        if (jv_truthy(a) == (n->kind == JN_OR)) return a;
        jv_unref(a);
        return eval(r, n->b, f);
    case JN_NOT:
        if (!(a = eval(r, n->a, f))) return NULL;
        res = jv_bool(r, !jv_truthy(a));
        break;
    case JN_COND:
        if (!(a = eval(r, n->b, f))) return NULL;
        if (jv_truthy(a)) res = eval(r, n->a, f);
        else res = n->c ? eval(r, n->c, f) : jv_undef(r, "else", 4);
        break;
    case JN_LIST:
    case JN_TUPLE:
        res = jv_list(r, n->nkids);
        if (res) res->tuple = n->kind == JN_TUPLE;
        for (size_t i = 0; res && i < n->nkids; i++)
            if (!jv_list_push(r, res, eval(r, n->kids[i], f))) {
                jv_unref(res);
                res = NULL;
            }
        break;
    case JN_DICT:
        res = jv_dict(r);
        for (size_t i = 0; res && i + 1 < n->nkids; i += 2) {
            lc_jinja_value *k = eval(r, n->kids[i], f);
            if (k && k->kind != LC_JV_STRING) {
                r->at = n->kids[i];
                jr_fail(r, LC_ERR_UNSUPPORTED, "dict keys must be strings, not %s", jv_kind_name(k));
            }
            lc_jinja_value *v = k && !r->failed ? eval(r, n->kids[i + 1], f) : NULL;
            if (!v || !jv_dict_set(r, res, k->u.str.s, k->u.str.len, v)) {
                jv_unref(res);
                res = NULL;
            }
            jv_unref(k);
        }
        break;
    default: jr_fail(r, LC_ERR_INTERNAL, "not an expression (%d)", (int)n->kind); break;
    }
    jv_unref(a);
    jv_unref(b);
    return res;
}

static lc_jinja_value *eval(jrender *r, const jnode *n, jframe *f) {
    r->at = n;
    if (!step(r)) return NULL;
    if (++r->depth > r->t->opt.max_depth + 8) {
        jr_fail(r, LC_ERR_TOO_LARGE, "expression nested too deep");
        r->depth--;
        return NULL;
    }
    lc_jinja_value *v = eval_inner(r, n, f);
    r->depth--;
    if (!v && !r->failed) jr_fail(r, LC_ERR_NOMEM, "out of memory");
    return v;
}

/* ---- Statements ---------------------------------------------------------------- */

static bool assign(jrender *r, jframe *f, const jnode *target, lc_jinja_value *v /* consumed */) {
    if (target->kind == JN_NAME) return jv_dict_set(r, f->vars, target->s, target->len, v);
    /* ns.attr */
    lc_jinja_value *ns = lookup(r, f, target->a->s, target->a->len);
    if (!ns) {
        jv_unref(v);
        return false;
    }
    bool ok = false;
    r->at = target;
    if (ns->kind != LC_JV_DICT || !ns->ns) {
        jr_fail(r, LC_ERR_FORMAT, "cannot assign an attribute of '%s': not a namespace", target->a->s);
        jv_unref(v);
    } else {
        ok = jv_dict_set(r, ns, target->s, target->len, v);
    }
    jv_unref(ns);
    return ok;
}

/* Unpack v over several targets. */
static bool assign_many(jrender *r, jframe *f, const jnode *const *targets, size_t n, lc_jinja_value *v) {
    if (n == 1) return assign(r, f, targets[0], jv_ref(v));
    if (v->kind != LC_JV_LIST || v->u.list.n != n) {
        jr_fail(r, LC_ERR_FORMAT, "cannot unpack a %s into %zu names", jv_kind_name(v), n);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!assign(r, f, targets[i], jv_ref(v->u.list.v[i]))) return false;
    return true;
}

/* The items a for loop walks (a new list). */
static lc_jinja_value *iter_items(jrender *r, lc_jinja_value *v) {
    switch (v->kind) {
    case LC_JV_LIST: return jv_ref(v);
    case LC_JV_UNDEFINED: return jv_list(r, 0);
    case LC_JV_DICT: {
        lc_jinja_value *l = jv_list(r, v->u.dict.n);
        for (size_t i = 0; l && i < v->u.dict.n; i++)
            if (!jv_list_push(r, l, jv_ref(v->u.dict.e[i].key))) l = jv_drop(l);
        return l;
    }
    case LC_JV_STRING: {
        lc_jinja_value *l = jv_list(r, 0);
        const char *s = v->u.str.s;
        for (size_t i = 0; l && i < v->u.str.len;) {
            size_t j = i + 1;
            while (j < v->u.str.len && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
            if (!jv_list_push(r, l, jv_str(r, s + i, j - i))) {
                jv_unref(l);
                l = NULL;
            }
            i = j;
        }
        return l;
    }
    default: jr_fail(r, LC_ERR_FORMAT, "a %s is not iterable", jv_kind_name(v)); return NULL;
    }
}

static bool set_int(jrender *r, lc_jinja_value *d, const char *k, int64_t v) {
    return jv_dict_set(r, d, k, strlen(k), jv_int(r, v));
}

static bool exec_for(jrender *r, const jnode *n, jframe *f, jbuf *out) {
    lc_jinja_value *src = eval(r, n->a, f);
    if (!src) return false;
    r->at = n;
    lc_jinja_value *items = iter_items(r, src);
    jv_unref(src);
    if (!items) return false;
    const jnode *const *targets = (const jnode *const *)n->kids;
    bool ok = true;
    /* the loop's "if": filter first, so loop.length/last count what stays */
    if (n->d) {
        lc_jinja_value *kept = jv_list(r, 0);
        ok = kept != NULL;
        for (size_t i = 0; ok && i < items->u.list.n; i++) {
            jframe fr = {jv_dict(r), f};
            ok = fr.vars && step(r) && assign_many(r, &fr, targets, n->nkids, items->u.list.v[i]);
            lc_jinja_value *c = ok ? eval(r, n->d, &fr) : NULL;
            ok = c != NULL;
            if (ok && jv_truthy(c)) ok = jv_list_push(r, kept, jv_ref(items->u.list.v[i]));
            jv_unref(c);
            jv_unref(fr.vars);
        }
        jv_unref(items);
        items = kept;
        if (!ok) {
            jv_unref(items);
            return false;
        }
    }
    const int64_t len = (int64_t)items->u.list.n;
    for (int64_t i = 0; ok && i < len; i++) {
        r->at = n;
        if (!step(r)) {
            ok = false;
            break;
        }
        jframe fr = {jv_dict(r), f};
        lc_jinja_value *loop = jv_dict(r);
        ok = fr.vars && loop && set_int(r, loop, "index", i + 1) && set_int(r, loop, "index0", i) &&
             set_int(r, loop, "revindex", len - i) && set_int(r, loop, "revindex0", len - i - 1) &&
             jv_dict_set(r, loop, "first", 5, jv_bool(r, i == 0)) &&
             jv_dict_set(r, loop, "last", 4, jv_bool(r, i == len - 1)) && set_int(r, loop, "length", len) &&
             set_int(r, loop, "depth", 1) && set_int(r, loop, "depth0", 0) &&
             (i == 0 || jv_dict_set(r, loop, "previtem", 8, jv_ref(items->u.list.v[i - 1]))) &&
             (i == len - 1 || jv_dict_set(r, loop, "nextitem", 8, jv_ref(items->u.list.v[i + 1])));
        if (ok) ok = jv_dict_set(r, fr.vars, "loop", 4, loop);
        else jv_unref(loop);
        ok = ok && assign_many(r, &fr, targets, n->nkids, items->u.list.v[i]);
        ok = ok && exec(r, n->b, &fr, out);
        jv_unref(fr.vars);
        if (r->loop_ctl == 1) {
            r->loop_ctl = 0;
            break;
        }
        r->loop_ctl = 0;
    }
    if (ok && len == 0 && n->c) ok = exec(r, n->c, f, out);
    jv_unref(items);
    return ok;
}

static bool exec_inner(jrender *r, const jnode *n, jframe *f, jbuf *out) {
    switch (n->kind) {
    case JN_BLOCK:
        for (size_t i = 0; i < n->nkids; i++) {
            if (!exec(r, n->kids[i], f, out)) return false;
            if (r->loop_ctl) return true;
        }
        return true;
    case JN_TEXT: return jbuf_put(r, out, n->s, n->len);
    case JN_OUTPUT: {
        lc_jinja_value *v = eval(r, n->a, f);
        if (!v) return false;
        const bool ok = jv_str_append(r, out, v);
        jv_unref(v);
        return ok;
    }
    case JN_IF:
        for (const jnode *c = n; c; c = c->c) {
            if (c->kind != JN_IF) return exec(r, c, f, out);
            lc_jinja_value *v = eval(r, c->a, f);
            if (!v) return false;
            const bool t = jv_truthy(v);
            jv_unref(v);
            if (t) return exec(r, c->b, f, out);
        }
        return true;
    case JN_FOR: {
        r->loop_depth++;
        const bool ok = exec_for(r, n, f, out);
        r->loop_depth--;
        return ok;
    }
    case JN_SET: {
        lc_jinja_value *v;
        if (n->a) {
            v = eval(r, n->a, f);
        } else {
            jbuf b = {0};
            b.limit = r->lim.max_output;
            if (!exec(r, n->b, f, &b)) {
                jbuf_free(&b);
                return false;
            }
            v = jbuf_to_value(r, &b);
        }
        if (!v) return false;
        r->at = n;
        const bool ok = assign_many(r, f, (const jnode *const *)n->kids, n->nkids, v);
        jv_unref(v);
        return ok;
    }
    case JN_MACRO: {
        lc_jinja_value *m = jv_func(r, JF_MACRO, n->s, NULL);
        if (!m) return false;
        m->u.fn.macro = n;
        return jv_dict_set(r, f->vars, n->s, n->len, m);
    }
    case JN_BREAK:
    case JN_CONTINUE:
        if (r->loop_depth == 0) {
            jr_fail(r, LC_ERR_FORMAT, "'%s' outside a loop", n->kind == JN_BREAK ? "break" : "continue");
            return false;
        }
        r->loop_ctl = n->kind == JN_BREAK ? 1 : 2;
        return true;
    case JN_FILTER_BLOCK: {
        jbuf b = {0};
        b.limit = r->lim.max_output;
        if (!exec(r, n->b, f, &b)) {
            jbuf_free(&b);
            return false;
        }
        lc_jinja_value *body = jbuf_to_value(r, &b);
        if (!body) return false;
        lc_jinja_value *saved = r->hole;
        r->hole = body;
        lc_jinja_value *v = eval(r, n->a, f);
        r->hole = saved;
        jv_unref(body);
        if (!v) return false;
        const bool ok = jv_str_append(r, out, v);
        jv_unref(v);
        return ok;
    }
    default: {
        lc_jinja_value *v = eval(r, n, f);
        jv_unref(v);
        return v != NULL;
    }
    }
}

static bool exec(jrender *r, const jnode *n, jframe *f, jbuf *out) {
    r->at = n;
    if (!step(r)) return false;
    if (++r->depth > r->t->opt.max_depth + 8) {
        jr_fail(r, LC_ERR_TOO_LARGE, "statements nested too deep");
        r->depth--;
        return false;
    }
    const bool ok = exec_inner(r, n, f, out);
    r->depth--;
    if (!ok && !r->failed) jr_fail(r, LC_ERR_NOMEM, "out of memory");
    return ok;
}

/* ---- Public API ---------------------------------------------------------------- */

void lc_jinja_options_init(lc_jinja_options *o) {
    memset(o, 0, sizeof *o);
    o->trim_blocks = true;
    o->lstrip_blocks = true;
    o->keep_trailing_newline = false;
    o->max_depth = 64;
}

void lc_jinja_limits_init(lc_jinja_limits *l) {
    memset(l, 0, sizeof *l);
    l->max_output = (size_t)16 << 20;
    l->max_string = (size_t)16 << 20;
    l->max_items = (size_t)1 << 20;
    l->max_steps = 10000000;
    l->max_alloc = (uint64_t)1 << 30;
    l->max_call_depth = 64;
    l->now = 0;
}

lc_status lc_jinja_compile(const char *src, size_t len, const lc_jinja_options *opt, lc_jinja_template **out,
                           lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "template: NULL output");
    *out = NULL;
    if (!src && len) return lc_fail(err, LC_ERR_INVALID_ARG, "template: NULL source");
    if (len > ((size_t)64 << 20)) return lc_fail(err, LC_ERR_TOO_LARGE, "template: %zu bytes of source (the limit is 64 MiB)", len);
    lc_jinja_template *t = calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "template: out of memory");
    if (opt) t->opt = *opt;
    else lc_jinja_options_init(&t->opt);
    if (t->opt.max_depth <= 0) t->opt.max_depth = 64;
    if (t->opt.max_depth > 1000) t->opt.max_depth = 1000;
    jtoks toks = {0};
    lc_status st = jlex(src ? src : "", len, &t->opt, &t->arena, &toks, err);
    if (st == LC_OK) st = jparse(t, &toks, err);
    free(toks.v);
    if (st != LC_OK) {
        lc_jinja_free(t);
        return st;
    }
    *out = t;
    return LC_OK;
}

void lc_jinja_free(lc_jinja_template *t) {
    if (!t) return;
    for (size_t i = 0; i < t->nlits; i++) jv_free_literal(t->lits[i]);
    free(t->lits);
    jarena_free(&t->arena);
    free(t);
}

lc_status lc_jinja_render(const lc_jinja_template *t, const lc_jinja_value *context, const lc_jinja_limits *limits,
                          char **out, size_t *out_len, lc_error *err) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!t || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "template: NULL template or output");
    if (context && context->kind != LC_JV_DICT) return lc_fail(err, LC_ERR_INVALID_ARG, "template: the context must be a dict");
    jrender r;
    memset(&r, 0, sizeof r);
    r.t = t;
    if (limits) r.lim = *limits;
    else lc_jinja_limits_init(&r.lim);
    if (r.lim.max_call_depth > t->opt.max_depth) r.lim.max_call_depth = t->opt.max_depth;
    r.ctx = context;
    jframe top = {jv_dict(&r), NULL};
    r.top = &top;
    jbuf b = {0};
    b.limit = r.lim.max_output;
    bool ok = top.vars && exec(&r, t->root, &top, &b);
    jv_unref(top.vars);
    release_namespaces(&r);
    if (!ok) {
        jbuf_free(&b);
        return lc_fail(err, r.failed ? r.st : LC_ERR_NOMEM, "%s", r.failed ? r.msg : "template: out of memory");
    }
    if (!b.p && !jbuf_put(&r, &b, "", 0)) { /* empty output: still a string */
    }
    if (!b.p) {
        b.p = malloc(1);
        if (!b.p) return lc_fail(err, LC_ERR_NOMEM, "template: out of memory");
        b.p[0] = '\0';
    }
    *out = b.p;
    if (out_len) *out_len = b.len;
    return LC_OK;
}
