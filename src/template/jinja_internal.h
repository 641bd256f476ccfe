/*
 * Internal to src/template: the Jinja interpreter's values, tokens, syntax
 * tree and render state (include/longctx/jinja.h is the public face).
 *
 *   value.c    values: construction, reference counts, lists and dicts
 *   convert.c  truth, equality, order, str() and repr() as Python writes them
 *   json.c     tojson (json.dumps)
 *   lexer.c    template text -> tokens (whitespace control, trim/lstrip)
 *   parser.c   tokens -> syntax tree
 *   eval.c     the tree -> text: statements, expressions, scopes, macros
 *   builtins.c filters, tests, string/dict methods and global functions
 */
#ifndef LC_TEMPLATE_JINJA_INTERNAL_H
#define LC_TEMPLATE_JINJA_INTERNAL_H

#include <stdarg.h>

#include "common/util.h"
#include "longctx/jinja.h"

typedef struct jnode jnode;
typedef struct jrender jrender;

/* ---- Values ------------------------------------------------------------ */

typedef struct {
    lc_jinja_value *key; /* a string */
    lc_jinja_value *val;
} jv_pair;

/* Callables: built-in functions, bound methods, macros. */
typedef enum {
    JF_MACRO = 0,
    JF_RAISE,
    JF_STRFTIME,
    JF_NAMESPACE,
    JF_RANGE,
    JF_DICT,
    JF_METHOD /* a method bound to self, named by name */
} jfunc_kind;

struct lc_jinja_value {
    lc_jv_kind kind;
    int32_t refs;   /* < 0: immortal (a literal owned by the template)        */
    bool tuple;     /* a list written as a tuple                              */
    bool ns;        /* a namespace(): its attributes may be set               */
    bool lazy;      /* a list standing for a Python generator (select, map …):
                       always true, no len(), not JSON, prints as a generator */
    uint32_t depth; /* nesting: 0 for a scalar, 1 + the deepest item          */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s;    /* NUL-terminated copy; for UNDEFINED: its name      */
            size_t len;
        } str;
        struct {
            lc_jinja_value **v;
            size_t n, cap;
        } list;
        struct {
            jv_pair *e;
            size_t n, cap;
            uint32_t *idx;  /* from JV_DICT_INDEX_MIN keys: open addressing,
                               entry + 1 per slot (0: empty), idx_cap a
                               power of two >= 2n; NULL below (scanned)  */
            size_t idx_cap;
        } dict;
        struct {
            jfunc_kind kind;
            const jnode *macro;
            lc_jinja_value *self;
            const char *name; /* static string or the macro's name */
        } fn;
    } u;
};

/* Dicts of this many keys and more are found through a hash index (a
 * dict literal or a loop of sets with 10^5 keys is not quadratic). */
#define JV_DICT_INDEX_MIN 16

/* Deepest nesting of values made while rendering / with the public API
 * (bounds the recursion of ==, printing and freeing). */
#define JV_MAX_DEPTH_RENDER 200
#define JV_MAX_DEPTH_API 1000

/* r may be NULL (outside a render: no budget). All return NULL after
 * recording the failure in r. */
lc_jinja_value *jv_new(jrender *r, lc_jv_kind kind);
lc_jinja_value *jv_str(jrender *r, const char *s, size_t len);
lc_jinja_value *jv_str_own(jrender *r, char *s, size_t len); /* takes s (malloc'd, len+1 bytes) */
lc_jinja_value *jv_int(jrender *r, int64_t i);
lc_jinja_value *jv_float(jrender *r, double f);
lc_jinja_value *jv_bool(jrender *r, bool b);
lc_jinja_value *jv_none(jrender *r);
lc_jinja_value *jv_undef(jrender *r, const char *name, size_t len);
lc_jinja_value *jv_list(jrender *r, size_t cap);
lc_jinja_value *jv_dict(jrender *r);
lc_jinja_value *jv_func(jrender *r, jfunc_kind kind, const char *name, lc_jinja_value *self /* consumed */);
/* Append (consumes item; false on failure, item released). */
bool jv_list_push(jrender *r, lc_jinja_value *list, lc_jinja_value *item);
/* Set (consumes val). */
bool jv_dict_set(jrender *r, lc_jinja_value *dict, const char *key, size_t klen, lc_jinja_value *val);
/* Index of key in dict, or -1. */
int64_t jv_dict_find(const lc_jinja_value *dict, const char *key, size_t klen);
/* Empty a dict (its keys and values released, its index freed). */
void jv_dict_clear(lc_jinja_value *dict);
lc_jinja_value *jv_ref(lc_jinja_value *v);
void jv_unref(lc_jinja_value *v);
/* jv_unref(v); return NULL (for failure paths). */
lc_jinja_value *jv_drop(lc_jinja_value *v);
/* Free an immortal literal (the template's). */
void jv_free_literal(lc_jinja_value *v);
/* A list's items as a new list (tuple flag dropped). */
lc_jinja_value *jv_list_copy(jrender *r, const lc_jinja_value *v);

/* ---- A growing byte buffer --------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    size_t limit; /* 0: none */
} jbuf;

/* False (and r records why) when out of memory or past the limit. */
bool jbuf_put(jrender *r, jbuf *b, const char *s, size_t n);
bool jbuf_putc(jrender *r, jbuf *b, char c);
bool jbuf_printf(jrender *r, jbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Hand the bytes over as a string value (b emptied). */
lc_jinja_value *jbuf_to_value(jrender *r, jbuf *b);
void jbuf_free(jbuf *b);

/* ---- Conversions (convert.c) ------------------------------------------- */

bool jv_truthy(const lc_jinja_value *v);
bool jv_equal(const lc_jinja_value *a, const lc_jinja_value *b);
/* Python order of a and b into *cmp (-1, 0, 1); false when they cannot be
 * ordered (different kinds). */
bool jv_compare(const lc_jinja_value *a, const lc_jinja_value *b, int *cmp);
/* str(v) and repr(v) appended to b. */
bool jv_str_append(jrender *r, jbuf *b, const lc_jinja_value *v);
bool jv_repr_append(jrender *r, jbuf *b, const lc_jinja_value *v);
/* repr(float) as Python writes it ("0.1", "1e-05", "3.0", "inf"). */
void jv_format_float(double f, char *out, size_t cap);
/* str(v) as a string value (v itself when it is one). */
lc_jinja_value *jv_to_string(jrender *r, lc_jinja_value *v);
const char *jv_kind_name(const lc_jinja_value *v);
/* Code points of UTF-8 text (a stray byte counts as one), and the byte
 * offset of code point k (len when k is past the end). */
size_t ju_count(const char *s, size_t len);
size_t ju_offset(const char *s, size_t len, size_t k);
/* First occurrence of sub[0..m) in s[0..n) (s itself when m is 0), or
 * NULL; linear time (memmem), so no pair of strings makes it quadratic. */
const char *ju_find(const char *s, size_t n, const char *sub, size_t m);
/* Python's slice indices: start/stop/step (any NULL: default) over n
 * items into *first, *step and *count; false when step is 0. */
bool jslice(int64_t n, const int64_t *start, const int64_t *stop, const int64_t *step, int64_t *first, int64_t *stp,
            int64_t *count);

/* tojson (json.c): indent < 0: none. */
bool jv_json_append(jrender *r, jbuf *b, const lc_jinja_value *v, int indent, bool sort_keys, int level);

/* ---- Tokens (lexer.c) -------------------------------------------------- */

typedef enum {
    JT_TEXT = 0,
    JT_VAR_BEGIN,
    JT_VAR_END,
    JT_BLOCK_BEGIN,
    JT_BLOCK_END,
    JT_NAME,
    JT_STRING,
    JT_INT,
    JT_FLOAT,
    JT_OP,
    JT_EOF
} jtok_kind;

typedef struct {
    jtok_kind kind;
    int line, col;
    const char *s; /* TEXT, NAME, STRING (unescaped), OP: the bytes     */
    size_t len;
    int64_t i;
    double f;
} jtok;

/* A bump allocator owning the template's tree, texts and strings. */
typedef struct jarena_block jarena_block;
typedef struct {
    jarena_block *head;
    size_t total;
} jarena;

void *jarena_alloc(jarena *a, size_t n); /* zeroed; NULL when out of memory */
void jarena_free(jarena *a);

typedef struct {
    jtok *v;
    size_t n, cap;
} jtoks;

/* Tokens of one template: a 60 MB source of "{{a}}" made 36M tokens and
 * took 4.7 GB (tokens, tree and literals) before this bound; real chat
 * templates have a few thousand. */
#define JT_MAX_TOKENS ((size_t)1 << 20)

lc_status jlex(const char *src, size_t len, const lc_jinja_options *o, jarena *a, jtoks *out, lc_error *err);

/* ---- Syntax tree (parser.c) -------------------------------------------- */

typedef enum {
    /* statements */
    JN_BLOCK = 0, /* kids: statements                                       */
    JN_TEXT,      /* s, len                                                 */
    JN_OUTPUT,    /* a                                                      */
    JN_IF,        /* a: condition, b: then, c: else (BLOCK or IF) or NULL   */
    JN_FOR,       /* names (kids of NAME), a: iterable, b: body, c: else,
                     d: filter or NULL                                      */
    JN_SET,       /* targets in kids (NAME or ATTR), a: value; or b: body   */
    JN_MACRO,     /* s: name; kids: params (NAME, a: default or NULL); b: body */
    JN_BREAK,
    JN_CONTINUE,
    JN_FILTER_BLOCK, /* a: a FILTER node whose operand is the body text (b)  */
    /* expressions */
    JN_LITERAL,   /* lit                                                    */
    JN_NAME,      /* s                                                      */
    JN_ATTR,      /* a.s                                                    */
    JN_INDEX,     /* a[b]                                                   */
    JN_SLICE,     /* a[b:c:d] (any NULL)                                    */
    JN_CALL,      /* a(kids); knames[i] non-NULL: a keyword argument        */
    JN_FILTER,    /* a | s(kids)                                            */
    JN_TEST,      /* a is [not] s(kids); op: 1 when negated                 */
    JN_UNARY,     /* op a                                                   */
    JN_BINARY,    /* a op b                                                 */
    JN_AND,
    JN_OR,
    JN_NOT,
    JN_COND,      /* a if b else c (c may be NULL)                          */
    JN_LIST,      /* kids                                                   */
    JN_TUPLE,     /* kids                                                   */
    JN_DICT       /* kids: key, value, key, value …                         */
} jnode_kind;

/* Operators of UNARY / BINARY. */
enum {
    JOP_ADD = 1, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOTIN, JOP_NEG, JOP_POS
};

struct jnode {
    jnode_kind kind;
    int line, col;
    int op;
    const char *s;
    size_t len;
    jnode *a, *b, *c, *d;
    jnode **kids;
    const char **knames;
    size_t nkids;
    lc_jinja_value *lit;
};

struct lc_jinja_template {
    jarena arena;
    jnode *root;
    lc_jinja_value **lits; /* literals to free */
    size_t nlits, caplits;
    lc_jinja_options opt;
};

lc_status jparse(lc_jinja_template *t, const jtoks *toks, lc_error *err);

/* ---- Rendering (eval.c) ------------------------------------------------ */

typedef struct jframe jframe;
struct jframe {
    lc_jinja_value *vars; /* a dict */
    jframe *parent;       /* NULL: the top frame, then the context, then globals */
};

struct jrender {
    const lc_jinja_template *t;
    lc_jinja_limits lim;
    const lc_jinja_value *ctx;
    jframe *top;
    uint64_t steps, alloc;
    int depth, call_depth;
    int loop_ctl; /* 1 break, 2 continue */
    int loop_depth;
    lc_jinja_value *hole; /* a filter block's body text */
    lc_jinja_value **nss; /* namespaces made (held), emptied at the end to
                             break any cycle through them                  */
    size_t n_nss, cap_nss;
    bool failed;
    lc_status st;
    char msg[LC_ERROR_MSG_MAX];
    const jnode *at; /* the node being evaluated, for positions */
};

/* Record the first failure ("line:col: message" at r->at). */
void jr_fail(jrender *r, lc_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Keep a namespace until the render ends (then emptied, freeing cycles). */
bool jr_hold_namespace(jrender *r, lc_jinja_value *ns);
/* Count work of about units item visits against the step budget. */
bool jr_work(jrender *r, uint64_t units);
/* Count n bytes against the allocation budget (false: refused). */
bool jr_account(jrender *r, size_t n);

/* Call a callable value with positional and keyword arguments. */
lc_jinja_value *jr_call(jrender *r, lc_jinja_value *fn, lc_jinja_value **args, size_t nargs, const char **knames,
                        lc_jinja_value **kvals, size_t nk);

/* ---- Built-ins (builtins.c) -------------------------------------------- */

/* Apply filter name to v with arguments (all borrowed); a new reference or
 * NULL (failed). */
lc_jinja_value *jb_filter(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs,
                          const char **knames, lc_jinja_value **kvals, size_t nk);
/* Test: 1 true, 0 false, -1 failed. */
int jb_test(jrender *r, const char *name, lc_jinja_value *v, lc_jinja_value **args, size_t nargs);
/* A method of v named name (bound), or NULL without failing when v has
 * none by that name. */
lc_jinja_value *jb_method(jrender *r, lc_jinja_value *v, const char *name, size_t len);
/* Call a bound method / built-in function. */
lc_jinja_value *jb_call_builtin(jrender *r, lc_jinja_value *fn, lc_jinja_value **args, size_t nargs,
                                const char **knames, lc_jinja_value **kvals, size_t nk);
/* A global function by name (raise_exception, namespace, range …), or NULL. */
lc_jinja_value *jb_global(jrender *r, const char *name, size_t len);

#endif
