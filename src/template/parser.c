/*
 * Tokens -> syntax tree, with Jinja2's grammar and precedence (lowest
 * first): a if b else c; or; and; not; comparisons and (not) in; + -; ~;
 * * / // %; **; unary - +; then postfix .attr [index] [a:b:c] (call),
 * filters | f(args) and tests "is [not] t(args)", which bind tighter than
 * any binary operator (messages|length - 1 is (messages|length) - 1).
 *
 * Statements: if/elif/else, for (targets, "if" filter, else), set (name,
 * name.attr, tuple targets, block set), macro, break/continue, filter
 * blocks, and HF's {% generation %}. Nesting is bounded by max_depth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

typedef struct {
    const jtoks *t;
    size_t pos;
    lc_jinja_template *tpl;
    lc_error *err;
    int depth;
    bool failed;
    lc_status st;
} parser;

typedef struct {
    jnode **v;
    const char **names;
    size_t n, cap;
} nodevec;

static const jtok *cur(parser *P) { return &P->t->v[P->pos]; }
static const jtok *peek(parser *P, size_t k) {
    return P->pos + k < P->t->n ? &P->t->v[P->pos + k] : &P->t->v[P->t->n - 1];
}
static void next(parser *P) {
    if (P->pos + 1 < P->t->n) P->pos++;
}

static void *fail(parser *P, const jtok *at, lc_status st, const char *fmt, const char *arg) {
    if (!P->failed) {
        char m[256];
        snprintf(m, sizeof m, fmt, arg ? arg : "");
        lc_fail(P->err, st, "template %d:%d: %s", at->line, at->col, m);
        P->failed = true;
        P->st = st;
    }
    return NULL;
}

static void *nomem(parser *P) {
    if (!P->failed) {
        lc_fail(P->err, LC_ERR_NOMEM, "template: out of memory");
        P->failed = true;
        P->st = LC_ERR_NOMEM;
    }
    return NULL;
}

static bool is_op(const jtok *t, const char *op) {
    return t->kind == JT_OP && t->len == strlen(op) && memcmp(t->s, op, t->len) == 0;
}
static bool is_name(const jtok *t, const char *name) {
    return t->kind == JT_NAME && t->len == strlen(name) && memcmp(t->s, name, t->len) == 0;
}

static const char *tok_text(const jtok *t, char *buf, size_t cap) {
    if (t->kind == JT_EOF) return "end of template";
    if (t->kind == JT_BLOCK_END) return "%}";
    if (t->kind == JT_VAR_END) return "}}";
    if (t->kind == JT_TEXT) return "text";
    snprintf(buf, cap, "%.*s", (int)LC_MIN(t->len, 40), t->s);
    return buf;
}

static bool expect_op(parser *P, const char *op) {
    if (is_op(cur(P), op)) {
        next(P);
        return true;
    }
    char b[64], m[96];
    snprintf(m, sizeof m, "expected '%s', got '%s'", op, tok_text(cur(P), b, sizeof b));
    fail(P, cur(P), LC_ERR_FORMAT, "%s", m);
    return false;
}

static bool expect_kind(parser *P, jtok_kind k, const char *what) {
    if (cur(P)->kind == k) {
        next(P);
        return true;
    }
    char b[64], m[96];
    snprintf(m, sizeof m, "expected %s, got '%s'", what, tok_text(cur(P), b, sizeof b));
    fail(P, cur(P), LC_ERR_FORMAT, "%s", m);
    return false;
}

static jnode *node(parser *P, jnode_kind k, const jtok *at) {
    jnode *n = jarena_alloc(&P->tpl->arena, sizeof *n);
    if (!n) return nomem(P);
    n->kind = k;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static const char *name_of(parser *P, const jtok *t) {
    char *s = jarena_alloc(&P->tpl->arena, t->len + 1);
    if (!s) return nomem(P);
    memcpy(s, t->s, t->len);
    return s;
}

static bool vec_push(parser *P, nodevec *v, jnode *n, const char *name) {
    if (!n) return false;
    if (v->n == v->cap) {
        const size_t nc = v->cap ? 2 * v->cap : 8;
        jnode **q = realloc(v->v, nc * sizeof *q);
        const char **qn = q ? realloc(v->names, nc * sizeof *qn) : NULL;
        if (q) v->v = q;
        if (!q || !qn) {
            nomem(P);
            return false;
        }
        v->names = qn;
        v->cap = nc;
    }
    v->v[v->n] = n;
    v->names[v->n] = name;
    v->n++;
    return true;
}

/* Frees the vector and leaves it empty, so a second call (after vec_into,
 * which frees it too) is harmless. */
static void vec_free(nodevec *v) {
    free(v->v);
    free(v->names);
    memset(v, 0, sizeof *v);
}

/* Move the vector into the node (arena). */
static bool vec_into(parser *P, nodevec *v, jnode *n, bool names) {
    bool ok = true;
    if (v->n) {
        n->kids = jarena_alloc(&P->tpl->arena, v->n * sizeof *n->kids);
        if (n->kids) memcpy(n->kids, v->v, v->n * sizeof *n->kids);
        if (names) {
            n->knames = jarena_alloc(&P->tpl->arena, v->n * sizeof *n->knames);
            if (n->knames) memcpy(n->knames, v->names, v->n * sizeof *n->knames);
            ok = n->knames != NULL;
        }
        ok = ok && n->kids;
        n->nkids = v->n;
    }
    vec_free(v);
    if (!ok) nomem(P);
    return ok;
}

static jnode *literal(parser *P, const jtok *at, lc_jinja_value *v) {
    if (!v) return nomem(P);
    lc_jinja_template *t = P->tpl;
    if (t->nlits == t->caplits) {
        const size_t nc = t->caplits ? 2 * t->caplits : 32;
        lc_jinja_value **q = realloc(t->lits, nc * sizeof *q);
        if (!q) {
            jv_unref(v);
            return nomem(P);
        }
        t->lits = q;
        t->caplits = nc;
    }
    v->refs = -1;
    t->lits[t->nlits++] = v;
    jnode *n = node(P, JN_LITERAL, at);
    if (n) n->lit = v;
    return n;
}

static bool enter(parser *P) {
    if (++P->depth > P->tpl->opt.max_depth) {
        fail(P, cur(P), LC_ERR_TOO_LARGE, "nested more than the depth limit%s", "");
        return false;
    }
    return true;
}

static jnode *parse_expr(parser *P);
static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);

/* ( args ) with keyword arguments; cur is '('. */
static bool parse_call_args(parser *P, jnode *n) {
    nodevec v = {0};
    next(P);
    while (!is_op(cur(P), ")")) {
        if (v.n && !expect_op(P, ",")) goto bad;
        if (is_op(cur(P), ")")) break; /* trailing comma */
        const char *kname = NULL;
        if (cur(P)->kind == JT_NAME && is_op(peek(P, 1), "=")) {
            kname = name_of(P, cur(P));
            if (!kname) goto bad;
            next(P);
            next(P);
        } else if (is_op(cur(P), "*") || is_op(cur(P), "**")) {
            fail(P, cur(P), LC_ERR_UNSUPPORTED, "*args and **kwargs are not supported%s", "");
            goto bad;
        }
        jnode *a = parse_expr(P);
        if (!a || !vec_push(P, &v, a, kname)) goto bad;
    }
    next(P);
    return vec_into(P, &v, n, true);
bad:
    vec_free(&v);
    return false;
}

static jnode *parse_primary(parser *P) {
    const jtok *t = cur(P);
    if (t->kind == JT_NAME) {
        next(P);
        if (is_name(t, "true") || is_name(t, "True")) return literal(P, t, jv_bool(NULL, true));
        if (is_name(t, "false") || is_name(t, "False")) return literal(P, t, jv_bool(NULL, false));
        if (is_name(t, "none") || is_name(t, "None")) return literal(P, t, jv_none(NULL));
        jnode *n = node(P, JN_NAME, t);
        if (n && !(n->s = name_of(P, t))) return NULL;
        if (n) n->len = t->len;
        return n;
    }
    if (t->kind == JT_STRING) {
        /* adjacent strings concatenate */
        size_t total = 0, k = 0;
        while (peek(P, k)->kind == JT_STRING) total += peek(P, k++)->len;
        char *s = malloc(total + 1);
        if (!s) return nomem(P);
        size_t w = 0;
        for (size_t i = 0; i < k; i++) {
            memcpy(s + w, cur(P)->s, cur(P)->len);
            w += cur(P)->len;
            next(P);
        }
        s[w] = '\0';
        return literal(P, t, jv_str_own(NULL, s, w));
    }
    if (t->kind == JT_INT) {
        next(P);
        return literal(P, t, jv_int(NULL, t->i));
    }
    if (t->kind == JT_FLOAT) {
        next(P);
        return literal(P, t, jv_float(NULL, t->f));
    }
    if (is_op(t, "(")) {
        next(P);
        if (is_op(cur(P), ")")) {
            next(P);
            return node(P, JN_TUPLE, t);
        }
        jnode *e = parse_expr(P);
        if (!e) return NULL;
        if (is_op(cur(P), ")")) {
            next(P);
            return e;
        }
        nodevec v = {0};
        if (!vec_push(P, &v, e, NULL)) return NULL;
        while (is_op(cur(P), ",")) {
            next(P);
            if (is_op(cur(P), ")")) break;
            if (!vec_push(P, &v, parse_expr(P), NULL)) {
                vec_free(&v);
                return NULL;
            }
        }
        jnode *n = node(P, JN_TUPLE, t);
        if (!n || !expect_op(P, ")") || !vec_into(P, &v, n, false)) {
            vec_free(&v);
            return NULL;
        }
        return n;
    }
    if (is_op(t, "[") || is_op(t, "{")) {
        const bool dict = is_op(t, "{");
        const char *close = dict ? "}" : "]";
        next(P);
        nodevec v = {0};
        while (!is_op(cur(P), close)) {
            if (v.n && !expect_op(P, ",")) goto bad;
            if (is_op(cur(P), close)) break;
            if (!vec_push(P, &v, parse_expr(P), NULL)) goto bad;
            if (dict && (!expect_op(P, ":") || !vec_push(P, &v, parse_expr(P), NULL))) goto bad;
        }
        next(P);
        jnode *n = node(P, dict ? JN_DICT : JN_LIST, t);
        if (!n || !vec_into(P, &v, n, false)) goto bad;
        return n;
    bad:
        vec_free(&v);
        return NULL;
    }
    char b[64];
    return fail(P, t, LC_ERR_FORMAT, "unexpected '%s'", tok_text(t, b, sizeof b));
}

/* [index] or [a:b:c]; cur is '['. */
static jnode *parse_subscript(parser *P, jnode *obj) {
    const jtok *t = cur(P);
    next(P);
    jnode *parts[3] = {NULL, NULL, NULL};
    int k = 0;
    bool slice = false;
    for (;;) {
        if (is_op(cur(P), ":")) {
            slice = true;
            if (++k > 2) return fail(P, cur(P), LC_ERR_FORMAT, "a slice has at most two ':'%s", "");
            next(P);
            continue;
        }
        if (is_op(cur(P), "]")) break;
        if (parts[k]) return fail(P, cur(P), LC_ERR_FORMAT, "expected ']'%s", "");
        if (!(parts[k] = parse_expr(P))) return NULL;
    }
    next(P);
    jnode *n = node(P, slice ? JN_SLICE : JN_INDEX, t);
    if (!n) return NULL;
    n->a = obj;
    if (slice) {
        n->b = parts[0];
        n->c = parts[1];
        n->d = parts[2];
    } else {
        if (!parts[0]) return fail(P, t, LC_ERR_FORMAT, "empty subscript%s", "");
        n->b = parts[0];
    }
    return n;
}

static jnode *parse_postfix(parser *P, jnode *n) {
    while (n) {
        const jtok *t = cur(P);
        if (is_op(t, ".")) {
            next(P);
            const jtok *a = cur(P);
            if (a->kind == JT_NAME) {
                jnode *m = node(P, JN_ATTR, t);
                if (!m || !(m->s = name_of(P, a))) return NULL;
                m->len = a->len;
                m->a = n;
                n = m;
                next(P);
            } else if (a->kind == JT_INT) {
                jnode *m = node(P, JN_INDEX, t);
                if (!m) return NULL;
                m->a = n;
                if (!(m->b = literal(P, a, jv_int(NULL, a->i)))) return NULL;
                n = m;
                next(P);
            } else {
                return fail(P, a, LC_ERR_FORMAT, "expected a name after '.'%s", "");
            }
        } else if (is_op(t, "[")) {
            n = parse_subscript(P, n);
        } else if (is_op(t, "(")) {
            jnode *m = node(P, JN_CALL, t);
            if (!m) return NULL;
            m->a = n;
            if (!parse_call_args(P, m)) return NULL;
            n = m;
        } else {
            break;
        }
    }
    return n;
}

static jnode *parse_filter_expr(parser *P, jnode *n) {
    while (n) {
        const jtok *t = cur(P);
        if (is_op(t, "|")) {
            next(P);
            if (cur(P)->kind != JT_NAME) return fail(P, cur(P), LC_ERR_FORMAT, "expected a filter name after '|'%s", "");
            jnode *m = node(P, JN_FILTER, cur(P));
            if (!m || !(m->s = name_of(P, cur(P)))) return NULL;
            m->len = cur(P)->len;
            m->a = n;
            next(P);
            /* a dotted filter name (Jinja allows them; none is known) */
            while (is_op(cur(P), ".") && peek(P, 1)->kind == JT_NAME) {
                const jtok *part = peek(P, 1);
                char *joined = jarena_alloc(&P->tpl->arena, m->len + 1 + part->len + 1);
                if (!joined) return nomem(P);
                memcpy(joined, m->s, m->len);
                joined[m->len] = '.';
                memcpy(joined + m->len + 1, part->s, part->len);
                m->s = joined;
                m->len += 1 + part->len;
                next(P);
                next(P);
            }
            if (is_op(cur(P), "(") && !parse_call_args(P, m)) return NULL;
            n = m;
        } else if (is_name(t, "is")) {
            next(P);
            jnode *m = node(P, JN_TEST, t);
            if (!m) return NULL;
            if (is_name(cur(P), "not")) {
                m->op = 1;
                next(P);
            }
            if (cur(P)->kind != JT_NAME) return fail(P, cur(P), LC_ERR_FORMAT, "expected a test name after 'is'%s", "");
            if (!(m->s = name_of(P, cur(P)))) return NULL;
            m->len = cur(P)->len;
            m->a = n;
            next(P);
            const jtok *c = cur(P);
            if (is_op(c, "(")) {
                if (!parse_call_args(P, m)) return NULL;
            } else if ((c->kind == JT_NAME || c->kind == JT_STRING || c->kind == JT_INT || c->kind == JT_FLOAT ||
                        is_op(c, "[") || is_op(c, "{")) &&
                       !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
                if (is_name(c, "is")) return fail(P, c, LC_ERR_FORMAT, "tests cannot be chained with 'is'%s", "");
                jnode *arg = parse_postfix(P, parse_primary(P));
                if (!arg) return NULL;
                m->kids = jarena_alloc(&P->tpl->arena, sizeof *m->kids);
                m->knames = jarena_alloc(&P->tpl->arena, sizeof *m->knames);
                if (!m->kids || !m->knames) return nomem(P);
                m->kids[0] = arg;
                m->nkids = 1;
            }
            n = m;
        } else if (is_op(t, "(")) {
            jnode *m = node(P, JN_CALL, t);
            if (!m) return NULL;
            m->a = n;
            if (!parse_call_args(P, m)) return NULL;
            n = m;
        } else {
            break;
        }
    }
    return n;
}

static jnode *parse_unary(parser *P, bool with_filter) {
    if (!enter(P)) return NULL;
    const jtok *t = cur(P);
    jnode *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        next(P);
        n = node(P, JN_UNARY, t);
        if (n) {
            n->op = is_op(t, "-") ? JOP_NEG : JOP_POS;
            if (!(n->a = parse_unary(P, false))) n = NULL;
        }
    } else {
        n = parse_primary(P);
    }
    n = parse_postfix(P, n);
    if (with_filter) n = parse_filter_expr(P, n);
    P->depth--;
    return n;
}

static jnode *binary(parser *P, const jtok *t, int op, jnode *a, jnode *b) {
    if (!a || !b) return NULL;
    jnode *n = node(P, JN_BINARY, t);
    if (n) {
        n->op = op;
        n->a = a;
        n->b = b;
    }
    return n;
}

static jnode *parse_pow(parser *P) {
    jnode *n = parse_unary(P, true);
    while (n && is_op(cur(P), "**")) {
        const jtok *t = cur(P);
        next(P);
        n = binary(P, t, JOP_POW, n, parse_unary(P, true));
    }
    return n;
}

static jnode *parse_math2(parser *P) {
    jnode *n = parse_pow(P);
    for (;;) {
        const jtok *t = cur(P);
        const int op = is_op(t, "*") ? JOP_MUL : is_op(t, "/") ? JOP_DIV : is_op(t, "//") ? JOP_FLOORDIV
                     : is_op(t, "%") ? JOP_MOD : 0;
        if (!n || !op) return n;
        next(P);
        n = binary(P, t, op, n, parse_pow(P));
    }
}

static jnode *parse_concat(parser *P) {
    jnode *n = parse_math2(P);
    while (n && is_op(cur(P), "~")) {
        const jtok *t = cur(P);
        next(P);
        n = binary(P, t, JOP_CONCAT, n, parse_math2(P));
    }
    return n;
}

static jnode *parse_math1(parser *P) {
    jnode *n = parse_concat(P);
    for (;;) {
        const jtok *t = cur(P);
        const int op = is_op(t, "+") ? JOP_ADD : is_op(t, "-") ? JOP_SUB : 0;
        if (!n || !op) return n;
        next(P);
        n = binary(P, t, op, n, parse_concat(P));
    }
}

static jnode *parse_compare(parser *P) {
    jnode *n = parse_math1(P);
    for (;;) {
        const jtok *t = cur(P);
        int op = is_op(t, "==") ? JOP_EQ : is_op(t, "!=") ? JOP_NE : is_op(t, "<") ? JOP_LT : is_op(t, "<=") ? JOP_LE
               : is_op(t, ">") ? JOP_GT : is_op(t, ">=") ? JOP_GE : is_name(t, "in") ? JOP_IN : 0;
        if (!op && is_name(t, "not") && is_name(peek(P, 1), "in")) {
            op = JOP_NOTIN;
            next(P);
        }
        if (!n || !op) return n;
        next(P);
        n = binary(P, t, op, n, parse_math1(P));
    }
}

static jnode *parse_not(parser *P) {
    if (!is_name(cur(P), "not")) return parse_compare(P);
    if (!enter(P)) return NULL;
    const jtok *t = cur(P);
    next(P);
    jnode *n = node(P, JN_NOT, t);
    if (n && !(n->a = parse_not(P))) n = NULL;
    P->depth--;
    return n;
}

static jnode *parse_and(parser *P) {
    jnode *n = parse_not(P);
    while (n && is_name(cur(P), "and")) {
        const jtok *t = cur(P);
        next(P);
        jnode *m = node(P, JN_AND, t);
        if (!m) return NULL;
        m->a = n;
        if (!(m->b = parse_not(P))) return NULL;
        n = m;
    }
    return n;
}

static jnode *parse_or(parser *P) {
    jnode *n = parse_and(P);
    while (n && is_name(cur(P), "or")) {
        const jtok *t = cur(P);
        next(P);
        jnode *m = node(P, JN_OR, t);
        if (!m) return NULL;
        m->a = n;
        if (!(m->b = parse_and(P))) return NULL;
        n = m;
    }
    return n;
}

static jnode *parse_expr(parser *P) {
    if (!enter(P)) return NULL;
    jnode *n = parse_or(P);
    while (n && is_name(cur(P), "if")) {
        const jtok *t = cur(P);
        next(P);
        jnode *m = node(P, JN_COND, t);
        if (!m) break;
        m->a = n;
        if (!(m->b = parse_or(P))) {
            n = NULL;
            break;
        }
        if (is_name(cur(P), "else")) {
            next(P);
            if (!(m->c = parse_expr(P))) {
                n = NULL;
                break;
            }
        }
        n = m;
    }
    P->depth--;
    return n;
}

/* expr [, expr]* as a tuple when there is a comma. */
static jnode *parse_tuple_expr(parser *P) {
    const jtok *t = cur(P);
    jnode *e = parse_expr(P);
    if (!e || !is_op(cur(P), ",")) return e;
    nodevec v = {0};
    if (!vec_push(P, &v, e, NULL)) return NULL;
    while (is_op(cur(P), ",")) {
        next(P);
        if (cur(P)->kind == JT_BLOCK_END || cur(P)->kind == JT_VAR_END) break;
        if (!vec_push(P, &v, parse_expr(P), NULL)) {
            vec_free(&v);
            return NULL;
        }
    }
    jnode *n = node(P, JN_TUPLE, t);
    if (!n || !vec_into(P, &v, n, false)) {
        vec_free(&v);
        return NULL;
    }
    return n;
}

/* ---- Statements --------------------------------------------------------------- */

static jnode *parse_body(parser *P, const char *const *stops, const jtok **stop);

static bool end_tag(parser *P) { return expect_kind(P, JT_BLOCK_END, "'%}'"); }

/* After parse_body stopped at {% name: consume the name and the closer. */
static bool close_with(parser *P, const char *name) {
    if (!is_name(cur(P), name)) return fail(P, cur(P), LC_ERR_FORMAT, "expected {%% %s %%}", name), false;
    next(P);
    return end_tag(P);
}

static jnode *parse_if(parser *P, const jtok *t) {
    static const char *const stops[] = {"elif", "else", "endif", NULL};
    static const char *const endif[] = {"endif", NULL};
    jnode *root = node(P, JN_IF, t);
    if (!root || !(root->a = parse_expr(P)) || !end_tag(P)) return NULL;
    jnode *c = root;
    const jtok *stop = NULL;
    if (!(c->b = parse_body(P, stops, &stop))) return NULL;
    for (;;) {
        if (is_name(cur(P), "elif")) {
            const jtok *e = cur(P);
            next(P);
            jnode *n = node(P, JN_IF, e);
            if (!n || !(n->a = parse_expr(P)) || !end_tag(P) || !(n->b = parse_body(P, stops, &stop))) return NULL;
            c->c = n;
            c = n;
        } else if (is_name(cur(P), "else")) {
            next(P);
            if (!end_tag(P) || !(c->c = parse_body(P, endif, &stop))) return NULL;
            return close_with(P, "endif") ? root : NULL;
        } else {
            return close_with(P, "endif") ? root : NULL;
        }
    }
}

static jnode *parse_for(parser *P, const jtok *t) {
    static const char *const stops[] = {"else", "endfor", NULL};
    static const char *const endfor[] = {"endfor", NULL};
    jnode *n = node(P, JN_FOR, t);
    if (!n) return NULL;
    nodevec v = {0};
    bool paren = is_op(cur(P), "(");
    if (paren) next(P);
    for (;;) {
        if (cur(P)->kind != JT_NAME) {
            vec_free(&v);
            return fail(P, cur(P), LC_ERR_FORMAT, "expected a loop variable%s", "");
        }
        jnode *nm = node(P, JN_NAME, cur(P));
        if (!nm || !(nm->s = name_of(P, cur(P))) || !vec_push(P, &v, nm, NULL)) {
            vec_free(&v);
            return NULL;
        }
        nm->len = cur(P)->len;
        next(P);
        if (!is_op(cur(P), ",")) break;
        next(P);
    }
    if ((paren && !expect_op(P, ")")) || !vec_into(P, &v, n, false)) {
        vec_free(&v); /* a parse error before vec_into took the vector */
        return NULL;
    }
    if (!is_name(cur(P), "in")) return fail(P, cur(P), LC_ERR_FORMAT, "expected 'in' in a for loop%s", "");
    next(P);
    if (!(n->a = parse_or(P))) return NULL;
    if (is_name(cur(P), "if")) {
        next(P);
        if (!(n->d = parse_expr(P))) return NULL;
    }
    if (is_name(cur(P), "recursive")) return fail(P, cur(P), LC_ERR_UNSUPPORTED, "recursive loops are not supported%s", "");
    if (!end_tag(P)) return NULL;
    const jtok *stop = NULL;
    if (!(n->b = parse_body(P, stops, &stop))) return NULL;
    if (is_name(cur(P), "else")) {
        next(P);
        if (!end_tag(P) || !(n->c = parse_body(P, endfor, &stop))) return NULL;
    }
    return close_with(P, "endfor") ? n : NULL;
}

static jnode *parse_set(parser *P, const jtok *t) {
    static const char *const endset[] = {"endset", NULL};
    jnode *n = node(P, JN_SET, t);
    if (!n) return NULL;
    nodevec v = {0};
    for (;;) {
        if (cur(P)->kind != JT_NAME) {
            vec_free(&v);
            return fail(P, cur(P), LC_ERR_FORMAT, "expected a name to set%s", "");
        }
        jnode *target = node(P, JN_NAME, cur(P));
        if (!target || !(target->s = name_of(P, cur(P)))) {
            vec_free(&v);
            return NULL;
        }
        target->len = cur(P)->len;
        next(P);
        if (is_op(cur(P), ".")) {
            next(P);
            if (cur(P)->kind != JT_NAME) {
                vec_free(&v);
                return fail(P, cur(P), LC_ERR_FORMAT, "expected an attribute name%s", "");
            }
            jnode *attr = node(P, JN_ATTR, cur(P));
            if (!attr || !(attr->s = name_of(P, cur(P)))) {
                vec_free(&v);
                return NULL;
            }
            attr->len = cur(P)->len;
            attr->a = target;
            target = attr;
            next(P);
        }
        if (!vec_push(P, &v, target, NULL)) return NULL;
        if (!is_op(cur(P), ",")) break;
        next(P);
    }
    if (!vec_into(P, &v, n, false)) return NULL;
    if (is_op(cur(P), "=")) {
        next(P);
        if (!(n->a = parse_tuple_expr(P)) || !end_tag(P)) return NULL;
        return n;
    }
    if (n->nkids != 1 || n->kids[0]->kind != JN_NAME)
        return fail(P, cur(P), LC_ERR_FORMAT, "a block set takes one name%s", "");
    if (is_op(cur(P), "|")) return fail(P, cur(P), LC_ERR_UNSUPPORTED, "filters on a block set are not supported%s", "");
    const jtok *stop = NULL;
    if (!end_tag(P) || !(n->b = parse_body(P, endset, &stop))) return NULL;
    return close_with(P, "endset") ? n : NULL;
}

static jnode *parse_macro(parser *P, const jtok *t) {
    static const char *const endmacro[] = {"endmacro", NULL};
    jnode *n = node(P, JN_MACRO, t);
    if (!n) return NULL;
    if (cur(P)->kind != JT_NAME) return fail(P, cur(P), LC_ERR_FORMAT, "expected the macro's name%s", "");
    if (!(n->s = name_of(P, cur(P)))) return NULL;
    n->len = cur(P)->len;
    next(P);
    if (!expect_op(P, "(")) return NULL;
    nodevec v = {0};
    while (!is_op(cur(P), ")")) {
        if (v.n && !expect_op(P, ",")) goto bad;
        if (is_op(cur(P), ")")) break;
        if (cur(P)->kind != JT_NAME) {
            fail(P, cur(P), LC_ERR_FORMAT, "expected a parameter name%s", "");
            goto bad;
        }
        jnode *p = node(P, JN_NAME, cur(P));
        if (!p || !(p->s = name_of(P, cur(P)))) goto bad;
        p->len = cur(P)->len;
        next(P);
        if (is_op(cur(P), "=")) {
            next(P);
            if (!(p->a = parse_expr(P))) goto bad;
        }
        if (!vec_push(P, &v, p, NULL)) goto bad;
    }
    next(P);
    if (!vec_into(P, &v, n, false)) return NULL;
    const jtok *stop = NULL;
    if (!end_tag(P) || !(n->b = parse_body(P, endmacro, &stop))) return NULL;
    return close_with(P, "endmacro") ? n : NULL;
bad:
    vec_free(&v);
    return NULL;
}

static jnode *parse_filter_block(parser *P, const jtok *t) {
    static const char *const endfilter[] = {"endfilter", NULL};
    jnode *n = node(P, JN_FILTER_BLOCK, t);
    if (!n) return NULL;
    /* the filter chain applies to a placeholder operand: the body's text */
    jnode *hole = node(P, JN_LITERAL, t);
    if (!hole) return NULL;
    hole->lit = NULL;
    jnode *chain = hole;
    for (;;) {
        if (cur(P)->kind != JT_NAME) return fail(P, cur(P), LC_ERR_FORMAT, "expected a filter name%s", "");
        jnode *m = node(P, JN_FILTER, cur(P));
        if (!m || !(m->s = name_of(P, cur(P)))) return NULL;
        m->len = cur(P)->len;
        m->a = chain;
        next(P);
        if (is_op(cur(P), "(") && !parse_call_args(P, m)) return NULL;
        chain = m;
        if (!is_op(cur(P), "|")) break;
        next(P);
    }
    n->a = chain;
    n->c = hole;
    const jtok *stop = NULL;
    if (!end_tag(P) || !(n->b = parse_body(P, endfilter, &stop))) return NULL;
    return close_with(P, "endfilter") ? n : NULL;
}

static jnode *parse_statement(parser *P) {
    const jtok *t = cur(P); /* the keyword */
    if (t->kind != JT_NAME) return fail(P, t, LC_ERR_FORMAT, "expected a statement name after {%%%s", "");
    next(P);
    if (is_name(t, "if")) return parse_if(P, t);
    if (is_name(t, "for")) return parse_for(P, t);
    if (is_name(t, "set")) return parse_set(P, t);
    if (is_name(t, "macro")) return parse_macro(P, t);
    if (is_name(t, "filter")) return parse_filter_block(P, t);
    if (is_name(t, "break") || is_name(t, "continue")) {
        jnode *n = node(P, is_name(t, "break") ? JN_BREAK : JN_CONTINUE, t);
        return n && end_tag(P) ? n : NULL;
    }
    if (is_name(t, "generation")) { /* transformers' AssistantTracker: renders its body */
        static const char *const endgen[] = {"endgeneration", NULL};
        const jtok *stop = NULL;
        jnode *b;
        if (!end_tag(P) || !(b = parse_body(P, endgen, &stop))) return NULL;
        return close_with(P, "endgeneration") ? b : NULL;
    }
    char b[64];
    static const char *const known[] = {"extends", "include", "import", "from", "block", "call", "with",
                                        "autoescape", "do", "trans"};
    for (size_t i = 0; i < LC_ARRAY_LEN(known); i++)
        if (is_name(t, known[i])) return fail(P, t, LC_ERR_UNSUPPORTED, "{%% %s %%} is not supported", known[i]);
    return fail(P, t, LC_ERR_FORMAT, "unknown statement '%s'", tok_text(t, b, sizeof b));
}

static bool in_stops(const jtok *t, const char *const *stops) {
    for (size_t i = 0; stops && stops[i]; i++)
        if (is_name(t, stops[i])) return true;
    return false;
}

static jnode *parse_body(parser *P, const char *const *stops, const jtok **stop) {
    if (!enter(P)) return NULL;
    jnode *blk = node(P, JN_BLOCK, cur(P));
    nodevec v = {0};
    const jtok *open = cur(P);
    while (blk) {
        const jtok *t = cur(P);
        jnode *n = NULL;
        if (t->kind == JT_EOF) {
            if (stops) {
                const char *end = stops[0];
                for (size_t i = 0; stops[i]; i++)
                    if (strncmp(stops[i], "end", 3) == 0) end = stops[i];
                fail(P, open, LC_ERR_FORMAT, "missing {%% %s %%} for the block that starts here", end);
                goto bad;
            }
            break;
        }
        if (t->kind == JT_TEXT) {
            n = node(P, JN_TEXT, t);
            if (n) {
                n->s = t->s;
                n->len = t->len;
            }
            next(P);
        } else if (t->kind == JT_VAR_BEGIN) {
            next(P);
            n = node(P, JN_OUTPUT, t);
            if (n && (!(n->a = parse_tuple_expr(P)) || !expect_kind(P, JT_VAR_END, "'}}'"))) n = NULL;
        } else if (t->kind == JT_BLOCK_BEGIN) {
            next(P);
            if (in_stops(cur(P), stops)) {
                *stop = cur(P);
                break;
            }
            const jtok *kw = cur(P);
            if (kw->kind == JT_NAME && kw->len > 3 && memcmp(kw->s, "end", 3) == 0) {
                char b[64];
                fail(P, kw, LC_ERR_FORMAT, "unexpected '%s'", tok_text(kw, b, sizeof b));
                goto bad;
            }
            if (kw->kind == JT_NAME && (is_name(kw, "elif") || is_name(kw, "else"))) {
                char b[64];
                fail(P, kw, LC_ERR_FORMAT, "unexpected '%s' outside an if or a for", tok_text(kw, b, sizeof b));
                goto bad;
            }
            n = parse_statement(P);
        } else {
            char b[64];
            fail(P, t, LC_ERR_FORMAT, "unexpected '%s'", tok_text(t, b, sizeof b));
            goto bad;
        }
        if (!n || !vec_push(P, &v, n, NULL)) goto bad;
    }
    P->depth--;
    if (!blk || !vec_into(P, &v, blk, false)) goto bad;
    return blk;
bad:
    vec_free(&v);
    return NULL;
}

lc_status jparse(lc_jinja_template *t, const jtoks *toks, lc_error *err) {
    parser P = {toks, 0, t, err, 0, false, LC_OK};
    const jtok *stop = NULL;
    t->root = parse_body(&P, NULL, &stop);
    if (t->root) return LC_OK;
    return P.failed ? P.st : lc_fail(err, LC_ERR_INTERNAL, "template: parse failed");
}
