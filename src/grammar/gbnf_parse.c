/*
 * GBNF text -> lc_grammar: a recursive-descent parser that lowers groups,
 * literals and repetitions to flat rules (see grammar_internal.h), then
 * checks the result: every referenced rule defined, the root present, no
 * left recursion that would grow the parse stack without reading input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar_internal.h"

#define ALT_MARK (-1) /* separates alternatives in a rule body while parsing */

typedef struct {
    lc_gr_elem *v;
    int32_t n, cap;
} elem_vec;

typedef struct {
    char *name;
    elem_vec body;    /* elements with ALT_MARK between alternatives */
    bool defined;
    bool generated;   /* a group or repetition, not written by name  */
    size_t def_off;   /* where it was defined                        */
    size_t ref_off;   /* first reference (for "undefined rule")      */
} brule;

typedef struct {
    const char *src;
    size_t len, pos;
    brule *rules;
    int32_t n_rules, cap_rules;
    int32_t *name_tab; /* hash of named rules -> index, -1 empty */
    uint32_t name_mask;
    int32_t n_named;
    lc_gr_range *ranges;
    int32_t n_ranges, cap_ranges;
    lc_gr_charset *sets;
    int32_t n_sets, cap_sets;
    int32_t ascii_set[128]; /* singleton set of an ASCII code point, -1: none yet */
    int64_t n_elems;        /* elements in every body                        */
    int depth;
    lc_error *err;
    lc_status st;
} parser;

/* ---- errors ------------------------------------------------------------- */

static void line_col(const parser *p, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < p->len; i++) {
        if (p->src[i] == '\n') l++, c = 1;
        else if (((unsigned char)p->src[i] & 0xC0) != 0x80) c++;
    }
    *line = l;
    *col = c;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool fail_at(parser *p, lc_status st, size_t off, const char *fmt, ...) {
    if (p->st != LC_OK) return false;
    char msg[LC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    line_col(p, off, &line, &col);
    p->st = lc_fail(p->err, st, "grammar:%d:%d: %s", line, col, msg);
    return false;
}

static bool nomem(parser *p) {
    if (p->st == LC_OK) p->st = lc_fail(p->err, LC_ERR_NOMEM, "grammar: out of memory");
    return false;
}

/* ---- growable arrays ------------------------------------------------------ */

static bool grow(parser *p, void **v, int32_t *cap, int32_t need, size_t elem) {
    if (need <= *cap) return true;
    int64_t nc = *cap ? (int64_t)*cap * 2 : 16;
    while (nc < need) nc *= 2;
    if (nc > INT32_MAX) return nomem(p);
    void *nv = realloc(*v, (size_t)nc * elem);
    if (!nv) return nomem(p);
    *v = nv;
    *cap = (int32_t)nc;
    return true;
}

static bool push_elem(parser *p, int32_t rule, int32_t kind, int32_t arg) {
    if (p->n_elems >= LC_GRAMMAR_MAX_ELEMS)
        return fail_at(p, LC_ERR_TOO_LARGE, p->pos, "grammar too large: more than %d elements after expanding repetitions",
                       LC_GRAMMAR_MAX_ELEMS);
    elem_vec *b = &p->rules[rule].body;
    if (!grow(p, (void **)&b->v, &b->cap, b->n + 1, sizeof *b->v)) return false;
    b->v[b->n++] = (lc_gr_elem){kind, arg};
    p->n_elems++;
    return true;
}

/* ---- rules by name ---------------------------------------------------------- */

static uint32_t hash_name(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int32_t new_rule(parser *p, char *name) {
    if (!name) {
        nomem(p);
        return -1;
    }
    if (!grow(p, (void **)&p->rules, &p->cap_rules, p->n_rules + 1, sizeof *p->rules)) {
        free(name);
        return -1;
    }
    brule *r = &p->rules[p->n_rules];
    memset(r, 0, sizeof *r);
    r->name = name;
    return p->n_rules++;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The rule named s[0..n), made (undefined) when new. */
static int32_t rule_by_name(parser *p, const char *s, size_t n) {
    if ((uint32_t)(p->n_named + 1) * 2 > p->name_mask + 1) {
        uint32_t size = (p->name_mask + 1) * 2;
        int32_t *t = malloc(size * sizeof *t);
        if (!t) {
            nomem(p);
            return -1;
        }
        for (uint32_t i = 0; i < size; i++) t[i] = -1;
        for (uint32_t i = 0; i <= p->name_mask; i++) {
            const int32_t r = p->name_tab[i];
            if (r < 0) continue;
            uint32_t h = hash_name(p->rules[r].name, strlen(p->rules[r].name)) & (size - 1);
            while (t[h] >= 0) h = (h + 1) & (size - 1);
            t[h] = r;
        }
        free(p->name_tab);
        p->name_tab = t;
        p->name_mask = size - 1;
    }
    uint32_t h = hash_name(s, n) & p->name_mask;
    for (; p->name_tab[h] >= 0; h = (h + 1) & p->name_mask) {
        const char *nm = p->rules[p->name_tab[h]].name;
        if (strlen(nm) == n && memcmp(nm, s, n) == 0) return p->name_tab[h];
    }
    const int32_t r = new_rule(p, dup_n(s, n));
    if (r >= 0) {
        p->name_tab[h] = r;
        p->n_named++;
    }
    return r;
}

/* A generated rule for a group or repetition inside rule `owner`. */
static int32_t gen_rule(parser *p, int32_t owner) {
    const char *base = p->rules[owner].name;
    char buf[64];
    snprintf(buf, sizeof buf, "-%d", p->n_rules);
    const size_t bl = strlen(base), sl = strlen(buf);
    char *nm = malloc(bl + sl + 1);
    if (nm) {
        memcpy(nm, base, bl);
        memcpy(nm + bl, buf, sl + 1);
    }
    const int32_t r = new_rule(p, nm);
    if (r >= 0) p->rules[r].defined = p->rules[r].generated = true;
    if (r >= 0) p->rules[r].def_off = p->rules[owner].def_off;
    return r;
}

/* ---- character sets ---------------------------------------------------------- */

static int cmp_range(const void *a, const void *b) {
    const lc_gr_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* A set from ranges[first .. n_ranges): sorted and merged in place. */
static int32_t close_set(parser *p, int32_t first, bool negated) {
    int32_t n = p->n_ranges - first;
    lc_gr_range *r = n > 0 ? p->ranges + first : NULL;
    if (n > 1) qsort(r, (size_t)n, sizeof *r, cmp_range);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (m > 0 && (r[i].lo <= r[m - 1].hi || r[i].lo == r[m - 1].hi + 1)) {
            if (r[i].hi > r[m - 1].hi) r[m - 1].hi = r[i].hi;
        } else {
            r[m++] = r[i];
        }
    }
    p->n_ranges = first + m;
    if (!grow(p, (void **)&p->sets, &p->cap_sets, p->n_sets + 1, sizeof *p->sets)) return -1;
    lc_gr_charset *s = &p->sets[p->n_sets];
    memset(s, 0, sizeof *s);
    s->first = first;
    s->n = m;
    s->negated = negated;
    for (int32_t i = 0; i < m; i++)
        for (uint32_t c = r[i].lo; c <= r[i].hi && c < 128; c++) s->ascii[c >> 6] |= 1ull << (c & 63);
    if (negated) s->ascii[0] = ~s->ascii[0], s->ascii[1] = ~s->ascii[1];
    return p->n_sets++;
}

static bool add_range(parser *p, uint32_t lo, uint32_t hi) {
    if (!grow(p, (void **)&p->ranges, &p->cap_ranges, p->n_ranges + 1, sizeof *p->ranges)) return false;
    p->ranges[p->n_ranges++] = (lc_gr_range){lo, hi};
    return true;
}

static int32_t single_set(parser *p, uint32_t cp) {
    if (cp < 128 && p->ascii_set[cp] >= 0) return p->ascii_set[cp];
    const int32_t first = p->n_ranges;
    if (!add_range(p, cp, cp)) return -1;
    const int32_t s = close_set(p, first, false);
    if (cp < 128) p->ascii_set[cp] = s;
    return s;
}

/* ---- lexing ------------------------------------------------------------------ */

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->src[p->pos] : -1; }

static void skip_space(parser *p, bool newline_ok) {
    while (p->pos < p->len) {
        const char c = p->src[p->pos];
        if (c == ' ' || c == '\t' || c == '\r') p->pos++;
        else if (c == '#')
            while (p->pos < p->len && p->src[p->pos] != '\n') p->pos++;
        else if (c == '\n' && newline_ok) p->pos++;
        else break;
    }
}

static bool is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

static size_t name_len_at(const parser *p, size_t pos) {
    size_t n = 0;
    while (pos + n < p->len && is_name_char((unsigned char)p->src[pos + n])) n++;
    return n;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One UTF-8 code point at p->pos. */
static bool utf8_char(parser *p, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)p->src + p->pos;
    const size_t left = p->len - p->pos;
    const unsigned char b = s[0];
    int n;
    uint32_t v, min;
    if (b < 0x80) n = 1, v = b, min = 0;
    else if ((b & 0xE0) == 0xC0) n = 2, v = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) n = 3, v = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) n = 4, v = b & 0x07, min = 0x10000;
    else return fail_at(p, LC_ERR_FORMAT, p->pos, "invalid UTF-8 byte 0x%02X", b);
    if ((size_t)n > left) return fail_at(p, LC_ERR_FORMAT, p->pos, "truncated UTF-8 character");
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return fail_at(p, LC_ERR_FORMAT, p->pos, "invalid UTF-8 sequence");
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return fail_at(p, LC_ERR_FORMAT, p->pos, "invalid UTF-8 sequence");
    p->pos += (size_t)n;
    *cp = v;
    return true;
}

/* A character of a literal or class: an escape or a UTF-8 code point. */
static bool parse_char(parser *p, uint32_t *cp) {
    if (peek(p) != '\\') return utf8_char(p, cp);
    const size_t at = p->pos;
    p->pos++;
    const int c = peek(p);
    if (c < 0) return fail_at(p, LC_ERR_FORMAT, at, "escape at the end of the text");
    p->pos++;
    int digits = 0;
    switch (c) {
    case 'n': *cp = '\n'; return true;
    case 't': *cp = '\t'; return true;
    case 'r': *cp = '\r'; return true;
    case '0': *cp = 0; return true;
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '/': case '^': case '.':
        *cp = (uint32_t)c;
        return true;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: return fail_at(p, LC_ERR_FORMAT, at, "unknown escape \\%c", c >= 32 && c < 127 ? c : '?');
    }
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        const int h = hexval(peek(p));
        if (h < 0) return fail_at(p, LC_ERR_FORMAT, at, "\\%c needs %d hex digits", c, digits);
        v = (v << 4) | (uint32_t)h;
        p->pos++;
    }
    if (v > 0x10FFFF) return fail_at(p, LC_ERR_FORMAT, at, "code point U+%X is beyond U+10FFFF", v);
    *cp = v;
    return true;
}

/* ---- grammar ------------------------------------------------------------------ */

static bool parse_alternates(parser *p, int32_t rule, bool nested);

static bool parse_literal(parser *p, int32_t rule) {
    const size_t at = p->pos;
    p->pos++; /* the opening quote */
    for (;;) {
        const int c = peek(p);
        if (c < 0 || c == '\n') return fail_at(p, LC_ERR_FORMAT, at, "unterminated string literal");
        if (c == '"') {
            p->pos++;
            return true;
        }
        uint32_t cp;
        if (!parse_char(p, &cp)) return false;
        const int32_t s = single_set(p, cp);
        if (s < 0 || !push_elem(p, rule, LC_GR_CHARS, s)) return false;
    }
}

static bool parse_class(parser *p, int32_t rule) {
    const size_t at = p->pos;
    p->pos++; /* [ */
    bool neg = false;
    if (peek(p) == '^') neg = true, p->pos++;
    const int32_t first = p->n_ranges;
    for (;;) {
        const int c = peek(p);
        if (c < 0 || c == '\n') return fail_at(p, LC_ERR_FORMAT, at, "unterminated character class");
        if (c == ']') {
            p->pos++;
            break;
        }
        const size_t ca = p->pos;
        uint32_t lo, hi;
        if (!parse_char(p, &lo)) return false;
        hi = lo;
        if (peek(p) == '-' && p->pos + 1 < p->len && p->src[p->pos + 1] != ']') {
            p->pos++;
            if (!parse_char(p, &hi)) return false;
            if (hi < lo) return fail_at(p, LC_ERR_FORMAT, ca, "reversed range in character class (U+%04X > U+%04X)", lo, hi);
        }
        if (!add_range(p, lo, hi)) return false;
    }
    const int32_t s = close_set(p, first, neg);
    return s >= 0 && push_elem(p, rule, LC_GR_CHARS, s);
}

static bool parse_int(parser *p, int64_t *v) {
    const size_t at = p->pos;
    int64_t x = 0;
    int n = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        if (x > LC_GRAMMAR_MAX_REPEAT)
            return fail_at(p, LC_ERR_TOO_LARGE, at, "repetition count above %d", LC_GRAMMAR_MAX_REPEAT);
        x = x * 10 + (peek(p) - '0');
        p->pos++;
        n++;
    }
    if (n == 0) return fail_at(p, LC_ERR_FORMAT, at, "expected a number");
    if (x > LC_GRAMMAR_MAX_REPEAT)
        return fail_at(p, LC_ERR_TOO_LARGE, at, "repetition count above %d", LC_GRAMMAR_MAX_REPEAT);
    *v = x;
    return true;
}

/* Append copies of x[0..n) to rule's body. */
static bool push_copy(parser *p, int32_t rule, const lc_gr_elem *x, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (!push_elem(p, rule, x[i].kind, x[i].arg)) return false;
    return true;
}

/* R ::= x R | (empty) */
static int32_t star_rule(parser *p, int32_t owner, const lc_gr_elem *x, int32_t n) {
    const int32_t r = gen_rule(p, owner);
    if (r < 0 || !push_copy(p, r, x, n) || !push_elem(p, r, LC_GR_REF, r) || !push_elem(p, r, ALT_MARK, 0)) return -1;
    return r;
}

/* Replace body[start ..] (the last symbol) of rule by its repetition from
 * min to max times (max < 0: unbounded). */
static bool repeat(parser *p, int32_t rule, int32_t start, int64_t min, int64_t max, size_t at) {
    elem_vec *b = &p->rules[rule].body;
    const int32_t n = b->n - start;
    if (n == 0) return true; /* an empty symbol repeated is empty */
    lc_gr_elem *x = malloc((size_t)n * sizeof *x);
    if (!x) return nomem(p);
    memcpy(x, b->v + start, (size_t)n * sizeof *x);
    b->n = start;
    p->n_elems -= n;
    const int64_t copies = min + (max > min ? max - min : 0) + (max < 0 ? 1 : 0);
    bool ok = true;
    if (copies * (int64_t)(n + 2) > LC_GRAMMAR_MAX_ELEMS)
        ok = fail_at(p, LC_ERR_TOO_LARGE, at, "grammar too large: repetition would make more than %d elements",
                     LC_GRAMMAR_MAX_ELEMS);
    for (int64_t i = 0; ok && i < min; i++) ok = push_copy(p, rule, x, n);
    if (ok && max < 0) {
        const int32_t r = star_rule(p, rule, x, n);
        ok = r >= 0 && push_elem(p, rule, LC_GR_REF, r);
    } else if (ok && max > min) {
        /* Q1 ::= x | ();  Qk ::= x Q(k-1) | () */
        int32_t q = -1;
        for (int64_t k = 1; ok && k <= max - min; k++) {
            const int32_t r = gen_rule(p, rule);
            ok = r >= 0 && push_copy(p, r, x, n) && (q < 0 || push_elem(p, r, LC_GR_REF, q)) &&
                 push_elem(p, r, ALT_MARK, 0);
            q = r;
        }
        ok = ok && push_elem(p, rule, LC_GR_REF, q);
    }
    free(x);
    return ok;
}

static bool parse_sequence(parser *p, int32_t rule, bool nested) {
    int32_t last = -1; /* start of the last symbol in the body */
    for (;;) {
        skip_space(p, nested);
        const int c = peek(p);
        const size_t at = p->pos;
        const int32_t here = p->rules[rule].body.n;
        if (c == '"') {
            if (!parse_literal(p, rule)) return false;
            last = here;
        } else if (c == '[') {
            if (!parse_class(p, rule)) return false;
            last = here;
        } else if (c == '.') {
            p->pos++;
            const int32_t s = close_set(p, p->n_ranges, true);
            if (s < 0 || !push_elem(p, rule, LC_GR_CHARS, s)) return false;
            last = here;
        } else if (c == '(') {
            if (p->depth >= LC_GRAMMAR_MAX_DEPTH)
                return fail_at(p, LC_ERR_TOO_LARGE, at, "groups nested deeper than %d", LC_GRAMMAR_MAX_DEPTH);
            p->pos++;
            const int32_t sub = gen_rule(p, rule);
            if (sub < 0) return false;
            p->depth++;
            skip_space(p, true);
            if (!parse_alternates(p, sub, true)) return false;
            p->depth--;
            skip_space(p, true);
            if (peek(p) != ')') return fail_at(p, LC_ERR_FORMAT, p->pos, "expected ')' to close the group");
            p->pos++;
            if (!push_elem(p, rule, LC_GR_REF, sub)) return false;
            last = here;
        } else if (c >= 0 && is_name_char(c)) {
            const size_t n = name_len_at(p, p->pos);
            const int32_t r = rule_by_name(p, p->src + p->pos, n);
            if (r < 0) return false;
            if (!p->rules[r].defined && p->rules[r].ref_off == 0) p->rules[r].ref_off = p->pos + 1;
            p->pos += n;
            if (!push_elem(p, rule, LC_GR_REF, r)) return false;
            last = here;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last < 0) return fail_at(p, LC_ERR_FORMAT, at, "'%c' with nothing before it to repeat", c);
            p->pos++;
            int64_t min = 0, max = -1;
            if (c == '+') min = 1;
            else if (c == '?') max = 1;
            else if (c == '{') {
                skip_space(p, false);
                if (peek(p) != ',' && !parse_int(p, &min)) return false;
                skip_space(p, false);
                if (peek(p) == ',') {
                    p->pos++;
                    skip_space(p, false);
                    if (peek(p) != '}' && !parse_int(p, &max)) return false;
                } else {
                    max = min;
                }
                skip_space(p, false);
                if (peek(p) != '}') return fail_at(p, LC_ERR_FORMAT, p->pos, "expected '}' to close {m,n}");
                p->pos++;
                if (max >= 0 && max < min)
                    return fail_at(p, LC_ERR_FORMAT, at, "repetition {%lld,%lld}: the maximum is below the minimum",
                                   (long long)min, (long long)max);
            }
            if (!repeat(p, rule, last, min, max, at)) return false;
        } else {
            return true;
        }
    }
}

static bool parse_alternates(parser *p, int32_t rule, bool nested) {
    if (!parse_sequence(p, rule, nested)) return false;
    for (;;) {
        const size_t save = p->pos;
        skip_space(p, true);
        if (peek(p) != '|') {
            p->pos = save;
            return true;
        }
        /* top level: a '|' on a following line continues the rule */
        p->pos++;
        if (!push_elem(p, rule, ALT_MARK, 0)) return false;
        skip_space(p, true);
        if (!parse_sequence(p, rule, nested)) return false;
    }
}

static bool parse_rules(parser *p) {
    skip_space(p, true);
    if (p->pos >= p->len) return fail_at(p, LC_ERR_FORMAT, p->pos, "empty grammar: no rules");
    while (p->pos < p->len) {
        const size_t at = p->pos;
        const size_t n = name_len_at(p, p->pos);
        if (n == 0) {
            const int c = peek(p);
            return fail_at(p, LC_ERR_FORMAT, at, "expected a rule name, found '%c'", c >= 32 && c < 127 ? c : '?');
        }
        const int32_t r = rule_by_name(p, p->src + p->pos, n);
        if (r < 0) return false;
        p->pos += n;
        skip_space(p, false);
        if (p->len - p->pos < 3 || memcmp(p->src + p->pos, "::=", 3) != 0)
            return fail_at(p, LC_ERR_FORMAT, p->pos, "expected '::=' after the rule name '%s'", p->rules[r].name);
        if (p->rules[r].defined) {
            int l, c;
            line_col(p, p->rules[r].def_off, &l, &c);
            return fail_at(p, LC_ERR_FORMAT, at, "rule '%s' is defined twice (first at %d:%d)", p->rules[r].name, l, c);
        }
        p->rules[r].defined = true;
        p->rules[r].def_off = at;
        p->pos += 3;
        skip_space(p, true);
        if (!parse_alternates(p, r, false)) return false;
        skip_space(p, false);
        if (p->pos < p->len && p->src[p->pos] != '\n') {
            const int c = peek(p);
            return fail_at(p, LC_ERR_FORMAT, p->pos, "unexpected '%c' in rule '%s'", c >= 32 && c < 127 ? c : '?',
                           p->rules[r].name);
        }
        skip_space(p, true);
    }
    return true;
}

/* ---- checks and flattening ------------------------------------------------------ */

/* Left recursion that grows the stack: a cycle of "leftmost" references
 * (rule a can reach rule b without reading input) through at least one
 * reference that is not the last element of its alternative. A cycle of tail
 * references only re-enters the same stack and is harmless. Tarjan's
 * strongly connected components, iterative. */
typedef struct {
    int32_t from, to;
    bool tail;
} ledge;

static int cmp_ledge(const void *a, const void *b) {
    const ledge *x = a, *y = b;
    return (x->from > y->from) - (x->from < y->from);
}

static bool check_left_recursion(parser *p, const lc_grammar *g) {
    const int32_t R = g->n_rules;
    /* nullable rules, to a fixed point */
    bool *nullable = calloc((size_t)R, 1);
    if (!nullable) return nomem(p);
    for (bool changed = true; changed;) {
        changed = false;
        for (int32_t r = 0; r < R; r++) {
            if (nullable[r]) continue;
            for (int32_t a = 0; a < g->rules[r].n_alts && !nullable[r]; a++) {
                int32_t e = g->alt_start[g->rules[r].first_alt + a];
                while (g->elems[e].kind == LC_GR_REF && nullable[g->elems[e].arg]) e++;
                if (g->elems[e].kind == LC_GR_END) nullable[r] = changed = true;
            }
        }
    }
    /* leftmost edges */
    int64_t n_edges = 0, cap = 64;
    ledge *edges = malloc((size_t)cap * sizeof *edges);
    bool ok = edges != NULL;
    for (int32_t r = 0; ok && r < R; r++)
        for (int32_t a = 0; ok && a < g->rules[r].n_alts; a++)
            for (int32_t e = g->alt_start[g->rules[r].first_alt + a]; g->elems[e].kind == LC_GR_REF; e++) {
                if (n_edges == cap) {
                    ledge *ne = realloc(edges, (size_t)cap * 2 * sizeof *edges);
                    if (!ne) {
                        ok = false;
                        break;
                    }
                    edges = ne;
                    cap *= 2;
                }
                edges[n_edges++] = (ledge){r, g->elems[e].arg, g->elems[e + 1].kind == LC_GR_END};
                if (!nullable[g->elems[e].arg]) break;
            }
    if (!ok) {
        free(nullable);
        free(edges);
        return nomem(p);
    }
    qsort(edges, (size_t)n_edges, sizeof *edges, cmp_ledge);
    int64_t *first = malloc(((size_t)R + 1) * sizeof *first);
    int32_t *index = malloc((size_t)R * sizeof *index), *low = malloc((size_t)R * sizeof *low);
    int32_t *comp = malloc((size_t)R * sizeof *comp), *stk = malloc((size_t)R * sizeof *stk);
    int32_t *cs_node = malloc((size_t)R * sizeof *cs_node);
    int64_t *cs_edge = malloc((size_t)R * sizeof *cs_edge);
    bool *on = calloc((size_t)R, 1);
    ok = first && index && low && comp && stk && cs_node && cs_edge && on;
    if (ok) {
        for (int32_t r = 0, k = 0; r <= R; r++) {
            while (k < n_edges && edges[k].from < r) k++;
            first[r] = k;
        }
        for (int32_t r = 0; r < R; r++) index[r] = -1;
        int32_t next = 0, n_stk = 0, n_comp = 0;
        for (int32_t s = 0; s < R; s++) {
            if (index[s] >= 0) continue;
            int32_t depth = 0;
            cs_node[0] = s, cs_edge[0] = first[s];
            index[s] = low[s] = next++;
            stk[n_stk++] = s, on[s] = true;
            while (depth >= 0) {
                const int32_t v = cs_node[depth];
                if (cs_edge[depth] < first[v + 1]) {
                    const int32_t w = edges[cs_edge[depth]++].to;
                    if (index[w] < 0) {
                        index[w] = low[w] = next++;
                        stk[n_stk++] = w, on[w] = true;
                        depth++;
                        cs_node[depth] = w, cs_edge[depth] = first[w];
                    } else if (on[w] && index[w] < low[v]) {
                        low[v] = index[w];
                    }
                } else {
                    if (low[v] == index[v]) {
                        int32_t w;
                        do {
                            w = stk[--n_stk];
                            on[w] = false;
                            comp[w] = n_comp;
                        } while (w != v);
                        n_comp++;
                    }
                    depth--;
                    if (depth >= 0 && low[v] < low[cs_node[depth]]) low[cs_node[depth]] = low[v];
                }
            }
        }
        for (int64_t k = 0; k < n_edges && p->st == LC_OK; k++) {
            if (edges[k].tail || comp[edges[k].from] != comp[edges[k].to]) continue;
            /* name the first user-written rule of the cycle */
            int32_t named = -1;
            for (int32_t r = 0; r < R && named < 0; r++)
                if (comp[r] == comp[edges[k].from] && !p->rules[r].generated)
                    named = r;
            if (named < 0) named = edges[k].from;
            fail_at(p, LC_ERR_FORMAT, p->rules[named].def_off,
                    "left recursion: rule '%s' can reach itself without reading input (rewrite it right-recursive)",
                    g->rules[named].name);
        }
    } else {
        nomem(p);
    }
    free(first), free(index), free(low), free(comp), free(stk), free(cs_node), free(cs_edge), free(on);
    free(nullable);
    free(edges);
    return p->st == LC_OK;
}

static bool flatten(parser *p, lc_grammar *g) {
    int64_t n_alts = 0, n_elems = 0;
    for (int32_t r = 0; r < p->n_rules; r++) {
        n_alts++;
        for (int32_t i = 0; i < p->rules[r].body.n; i++) n_alts += p->rules[r].body.v[i].kind == ALT_MARK;
        n_elems += p->rules[r].body.n + 1;
    }
    g->rules = calloc((size_t)p->n_rules, sizeof *g->rules);
    g->alt_start = malloc((size_t)n_alts * sizeof *g->alt_start);
    g->elems = malloc((size_t)n_elems * sizeof *g->elems);
    if (!g->rules || !g->alt_start || !g->elems) return nomem(p);
    g->n_rules = p->n_rules;
    int32_t ne = 0, na = 0;
    for (int32_t r = 0; r < p->n_rules; r++) {
        brule *b = &p->rules[r];
        g->rules[r].name = b->name;
        b->name = NULL;
        g->rules[r].first_alt = na;
        g->alt_start[na++] = ne;
        for (int32_t i = 0; i < b->body.n; i++) {
            if (b->body.v[i].kind == ALT_MARK) {
                g->elems[ne++] = (lc_gr_elem){LC_GR_END, 0};
                g->alt_start[na++] = ne;
            } else {
                g->elems[ne++] = b->body.v[i];
            }
        }
        g->elems[ne++] = (lc_gr_elem){LC_GR_END, 0};
        g->rules[r].n_alts = na - g->rules[r].first_alt;
    }
    g->n_alts = na;
    g->n_elems = ne;
    g->sets = p->sets, g->n_sets = p->n_sets;
    g->ranges = p->ranges, g->n_ranges = p->n_ranges;
    p->sets = NULL, p->ranges = NULL;
    return true;
}

void lc_grammar_free(lc_grammar *g) {
    if (!g) return;
    for (int32_t r = 0; r < g->n_rules; r++) free(g->rules[r].name);
    free(g->rules);
    free(g->alt_start);
    free(g->elems);
    free(g->sets);
    free(g->ranges);
    free(g);
}

int32_t lc_grammar_n_rules(const lc_grammar *g) { return g ? g->n_rules : 0; }

lc_status lc_grammar_parse(const char *text, size_t len, const char *root, lc_grammar **out, lc_error *err) {
    if (!out || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: NULL argument");
    *out = NULL;
    if (len > LC_GRAMMAR_MAX_SOURCE)
        return lc_fail(err, LC_ERR_TOO_LARGE, "grammar: %zu bytes of text, the limit is %u", len, LC_GRAMMAR_MAX_SOURCE);
    if (!root) root = "root";
    parser p;
    memset(&p, 0, sizeof p);
    p.src = text ? text : "";
    p.len = len;
    p.err = err;
    for (int i = 0; i < 128; i++) p.ascii_set[i] = -1;
    p.name_tab = malloc(64 * sizeof *p.name_tab);
    lc_grammar *g = calloc(1, sizeof *g);
    if (!p.name_tab || !g) nomem(&p);
    else {
        for (int i = 0; i < 64; i++) p.name_tab[i] = -1;
        p.name_mask = 63;
    }
    if (p.st == LC_OK && parse_rules(&p)) {
        for (int32_t r = 0; r < p.n_rules; r++)
            if (!p.rules[r].defined) {
                fail_at(&p, LC_ERR_FORMAT, p.rules[r].ref_off ? p.rules[r].ref_off - 1 : 0, "undefined rule '%s'",
                        p.rules[r].name);
                break;
            }
    }
    if (p.st == LC_OK) {
        g->root = -1;
        for (int32_t r = 0; r < p.n_rules && g->root < 0; r++)
            if (strcmp(p.rules[r].name, root) == 0) g->root = r;
        if (g->root < 0) p.st = lc_fail(err, LC_ERR_FORMAT, "grammar: no rule named '%s' (the start rule)", root);
    }
    if (p.st == LC_OK && flatten(&p, g)) check_left_recursion(&p, g);
    for (int32_t r = 0; r < p.n_rules; r++) {
        free(p.rules[r].name);
        free(p.rules[r].body.v);
    }
    free(p.rules);
    free(p.name_tab);
    free(p.sets);
    free(p.ranges);
    if (p.st != LC_OK) {
        lc_grammar_free(g);
        return p.st;
    }
    *out = g;
    return LC_OK;
}
