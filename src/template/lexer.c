/*
 * Template text -> tokens, following Jinja2's lexer:
 *
 *   - newlines (\r\n, \r, \n) become \n and one final newline goes
 *     (keep_trailing_newline off);
 *   - {{ }} {% %} {# #} with "-" after the opener strip the whitespace
 *     before the tag, "-" before the closer strips the whitespace after;
 *   - trim_blocks drops the newline right after a block tag or comment;
 *   - lstrip_blocks drops the spaces and tabs between a line start and a
 *     block tag or comment ("+" after the opener keeps them);
 *   - inside a tag: names, numbers, strings with Python escapes, operators;
 *     a closer inside brackets does not close the tag;
 *   - {% raw %}…{% endraw %} is text.
 *
 * Tokens point into the arena (texts and strings are copies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/jinja_internal.h"

typedef struct {
    const char *s;
    size_t n, pos;
    /* position cache (positions only move forward) */
    size_t c_pos;
    int c_line;
    size_t c_line_start;
    const lc_jinja_options *o;
    jarena *a;
    jtoks *out;
    lc_error *err;
} lexer;

static void linecol(lexer *L, size_t pos, int *line, int *col) {
    if (pos < L->c_pos) { /* not expected; restart */
        L->c_pos = 0;
        L->c_line = 1;
        L->c_line_start = 0;
    }
    for (; L->c_pos < pos && L->c_pos < L->n; L->c_pos++)
        if (L->s[L->c_pos] == '\n') {
            L->c_line++;
            L->c_line_start = L->c_pos + 1;
        }
    *line = L->c_line;
    *col = (int)(pos - L->c_line_start) + 1;
}

static lc_status fail_at(lexer *L, size_t pos, lc_status st, const char *msg) {
    int line, col;
    linecol(L, pos, &line, &col);
    return lc_fail(L->err, st, "template %d:%d: %s", line, col, msg);
}

static lc_status emit(lexer *L, jtok_kind k, size_t pos, const char *s, size_t len, jtok **tk) {
    if (L->out->n >= JT_MAX_TOKENS)
        return fail_at(L, pos, LC_ERR_TOO_LARGE, "more than 1048576 tokens (the limit of a template)");
    if (L->out->n == L->out->cap) {
        const size_t nc = L->out->cap ? 2 * L->out->cap : 256;
        jtok *q = realloc(L->out->v, nc * sizeof *q);
        if (!q) return lc_fail(L->err, LC_ERR_NOMEM, "template: out of memory");
        L->out->v = q;
        L->out->cap = nc;
    }
    jtok *t = &L->out->v[L->out->n++];
    memset(t, 0, sizeof *t);
    t->kind = k;
    linecol(L, pos, &t->line, &t->col);
    t->s = s;
    t->len = len;
    if (tk) *tk = t;
    return LC_OK;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_name0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static lc_status emit_text(lexer *L, size_t pos, const char *s, size_t len) {
    if (len == 0) return LC_OK;
    char *c = jarena_alloc(L->a, len + 1);
    if (!c) return lc_fail(L->err, LC_ERR_NOMEM, "template: out of memory");
    memcpy(c, s, len);
    return emit(L, JT_TEXT, pos, c, len, NULL);
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted string at L->pos: Python escapes. */
static lc_status lex_string(lexer *L) {
    const size_t start = L->pos;
    const char q = L->s[L->pos++];
    size_t end = L->pos;
    while (end < L->n && L->s[end] != q) end += L->s[end] == '\\' ? 2 : 1;
    if (end >= L->n) return fail_at(L, start, LC_ERR_FORMAT, "unterminated string");
    /* unescaped text is never longer than the source (a \U escape of 10
     * bytes writes at most 4) */
    char *o = jarena_alloc(L->a, end - L->pos + 1);
    if (!o) return lc_fail(L->err, LC_ERR_NOMEM, "template: out of memory");
    size_t w = 0;
    for (size_t i = L->pos; i < end; i++) {
        const char c = L->s[i];
        if (c != '\\') {
            o[w++] = c;
            continue;
        }
        const char e = L->s[++i];
        switch (e) {
        case 'n': o[w++] = '\n'; break;
        case 't': o[w++] = '\t'; break;
        case 'r': o[w++] = '\r'; break;
        case 'a': o[w++] = '\a'; break;
        case 'b': o[w++] = '\b'; break;
        case 'f': o[w++] = '\f'; break;
        case 'v': o[w++] = '\v'; break;
        case '\\': o[w++] = '\\'; break;
        case '\'': o[w++] = '\''; break;
        case '"': o[w++] = '"'; break;
        case '\n': break; /* line continuation */
        case 'x':
        case 'u':
        case 'U': {
            const int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 1; k <= nd; k++) {
                const int h = i + (size_t)k < end ? hexval(L->s[i + (size_t)k]) : -1;
                if (h < 0) return fail_at(L, i - 1, LC_ERR_FORMAT, "bad \\x/\\u escape");
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10FFFF) return fail_at(L, i - 1, LC_ERR_FORMAT, "escape past U+10FFFF");
            i += (size_t)nd;
            w += put_utf8(o + w, cp);
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = 0;
                int k = 0;
                while (k < 3 && i < end && L->s[i] >= '0' && L->s[i] <= '7') cp = cp * 8 + (uint32_t)(L->s[i++] - '0'), k++;
                i--;
                w += put_utf8(o + w, cp);
            } else {
                o[w++] = '\\';
                o[w++] = e;
            }
        }
    }
    jtok *t;
    lc_status st = emit(L, JT_STRING, start, o, w, &t);
    L->pos = end + 1;
    return st;
}

static lc_status lex_number(lexer *L) {
    const size_t start = L->pos;
    size_t p = L->pos;
    bool is_float = false;
    while (p < L->n && (is_digit(L->s[p]) || (L->s[p] == '_' && p + 1 < L->n && is_digit(L->s[p + 1])))) p++;
    if (p + 1 < L->n && L->s[p] == '.' && is_digit(L->s[p + 1])) {
        is_float = true;
        p++;
        while (p < L->n && (is_digit(L->s[p]) || (L->s[p] == '_' && p + 1 < L->n && is_digit(L->s[p + 1])))) p++;
    }
    if (p < L->n && (L->s[p] == 'e' || L->s[p] == 'E')) {
        size_t q = p + 1;
        if (q < L->n && (L->s[q] == '+' || L->s[q] == '-')) q++;
        if (q < L->n && is_digit(L->s[q])) {
            is_float = true;
            while (q < L->n && is_digit(L->s[q])) q++;
            p = q;
        }
    }
    char buf[64];
    size_t w = 0;
    for (size_t i = start; i < p; i++)
        if (L->s[i] != '_') {
            if (w + 1 >= sizeof buf) return fail_at(L, start, LC_ERR_FORMAT, "number too long");
            buf[w++] = L->s[i];
        }
    buf[w] = '\0';
    jtok *t;
    lc_status st = emit(L, is_float ? JT_FLOAT : JT_INT, start, L->s + start, p - start, &t);
    if (st != LC_OK) return st;
    if (is_float) {
        t->f = strtod(buf, NULL);
    } else {
        int64_t v = 0;
        for (size_t i = 0; i < w; i++) {
            if (v > (INT64_MAX - (buf[i] - '0')) / 10) return fail_at(L, start, LC_ERR_UNSUPPORTED, "integer too large");
            v = v * 10 + (buf[i] - '0');
        }
        t->i = v;
    }
    L->pos = p;
    return LC_OK;
}

/* After a tag's closer at L->pos (the closer's first byte is at close,
 * strip: it had "-"): skip what whitespace control removes. */
static void after_close(lexer *L, bool strip, bool block) {
    if (strip)
        while (L->pos < L->n && is_ws(L->s[L->pos])) L->pos++;
    else if (block && L->o->trim_blocks && L->pos < L->n && L->s[L->pos] == '\n')
        L->pos++;
}

/* {% raw %} was read (L->pos after its closer): the text up to {% endraw %}. */
static lc_status lex_raw(lexer *L, size_t tag_pos) {
    size_t p = L->pos;
    for (;;) {
        const char *q = p < L->n ? memchr(L->s + p, '{', L->n - p) : NULL;
        if (!q) return fail_at(L, tag_pos, LC_ERR_FORMAT, "{% raw %} without {% endraw %}");
        size_t i = (size_t)(q - L->s);
        if (i + 1 < L->n && L->s[i + 1] == '%') {
            size_t j = i + 2;
            const bool strip_before = j < L->n && L->s[j] == '-';
            if (j < L->n && (L->s[j] == '-' || L->s[j] == '+')) j++;
            while (j < L->n && is_ws(L->s[j])) j++;
            if (j + 6 <= L->n && memcmp(L->s + j, "endraw", 6) == 0) {
                j += 6;
                while (j < L->n && is_ws(L->s[j])) j++;
                bool strip_after = false;
                if (j < L->n && L->s[j] == '-') {
                    strip_after = true;
                    j++;
                }
                if (j + 1 < L->n && L->s[j] == '%' && L->s[j + 1] == '}') {
                    size_t tl = i - L->pos;
                    if (strip_before)
                        while (tl > 0 && is_ws(L->s[L->pos + tl - 1])) tl--;
                    lc_status st = emit_text(L, L->pos, L->s + L->pos, tl);
                    if (st != LC_OK) return st;
                    L->pos = j + 2;
                    after_close(L, strip_after, true);
                    return LC_OK;
                }
            }
        }
        p = i + 1;
    }
}

static const char *const two_ops[] = {"//", "**", "==", "!=", "<=", ">="};

/* The inside of a {{ }} or {% %} tag, then its closer. */
static lc_status lex_tag(lexer *L, bool block, size_t tag_pos, bool *raw) {
    int depth = 0;
    size_t first_tok = L->out->n;
    *raw = false;
    for (;;) {
        while (L->pos < L->n && is_ws(L->s[L->pos])) L->pos++;
        if (L->pos >= L->n) return fail_at(L, tag_pos, LC_ERR_FORMAT, block ? "unclosed {%" : "unclosed {{");
        const char *p = L->s + L->pos;
        const size_t left = L->n - L->pos;
        const char close = block ? '%' : '}';
        if (depth == 0) {
            bool strip = false;
            size_t k = 0;
            if (left >= 3 && p[0] == '-' && p[1] == close && p[2] == '}') strip = true, k = 3;
            else if (left >= 2 && p[0] == close && p[1] == '}') k = 2;
            else if (block && left >= 3 && p[0] == '+' && p[1] == '%' && p[2] == '}') k = 3;
            if (k) {
                lc_status st = emit(L, block ? JT_BLOCK_END : JT_VAR_END, L->pos, p, k, NULL);
                if (st != LC_OK) return st;
                L->pos += k;
                /* {% raw %}: a single name "raw" in the tag */
                if (block && L->out->n == first_tok + 2 && L->out->v[first_tok].kind == JT_NAME &&
                    L->out->v[first_tok].len == 3 && memcmp(L->out->v[first_tok].s, "raw", 3) == 0) {
                    L->out->n = first_tok - 1; /* drop BEGIN, raw, END */
                    after_close(L, strip, true);
                    *raw = true;
                    return lex_raw(L, tag_pos);
                }
                after_close(L, strip, block);
                return LC_OK;
            }
        }
        lc_status st;
        if (is_name0(*p)) {
            size_t e = L->pos;
            while (e < L->n && (is_name0(L->s[e]) || is_digit(L->s[e]))) e++;
            st = emit(L, JT_NAME, L->pos, p, e - L->pos, NULL);
            L->pos = e;
        } else if (is_digit(*p)) {
            st = lex_number(L);
        } else if (*p == '\'' || *p == '"') {
            st = lex_string(L);
        } else {
            size_t k = 0;
            for (size_t i = 0; i < LC_ARRAY_LEN(two_ops); i++)
                if (left >= 2 && p[0] == two_ops[i][0] && p[1] == two_ops[i][1]) k = 2;
            if (!k && strchr("+-*/%~<>=()[]{},.:|", *p) && *p) k = 1;
            if (!k) {
                char m[48];
                snprintf(m, sizeof m, "unexpected character '%c'", *p >= 32 && *p < 127 ? *p : '?');
                return fail_at(L, L->pos, LC_ERR_FORMAT, m);
            }
            if (k == 1 && (*p == '(' || *p == '[' || *p == '{')) {
                if (++depth > L->o->max_depth) return fail_at(L, L->pos, LC_ERR_TOO_LARGE, "brackets nested too deep");
            }
            if (k == 1 && (*p == ')' || *p == ']' || *p == '}')) depth = depth > 0 ? depth - 1 : 0;
            st = emit(L, JT_OP, L->pos, p, k, NULL);
            L->pos += k;
        }
        if (st != LC_OK) return st;
    }
}

lc_status jlex(const char *src, size_t len, const lc_jinja_options *o, jarena *a, jtoks *out, lc_error *err) {
    /* normalise newlines */
    char *s = jarena_alloc(a, len + 1);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "template: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            s[n++] = src[i];
        }
    }
    if (!o->keep_trailing_newline && n > 0 && s[n - 1] == '\n') n--;
    lexer L = {s, n, 0, 0, 1, 0, o, a, out, err};
    bool line_starting = true;
    lc_status st = LC_OK;
    while (st == LC_OK && L.pos < n) {
        /* the next tag opener */
        size_t q = L.pos;
        int kind = 0; /* 1 var, 2 block, 3 comment */
        for (;;) {
            const char *f = q < n ? memchr(s + q, '{', n - q) : NULL;
            if (!f || (size_t)(f - s) + 1 >= n) {
                q = n;
                break;
            }
            q = (size_t)(f - s);
            const char c = s[q + 1];
            kind = c == '{' ? 1 : c == '%' ? 2 : c == '#' ? 3 : 0;
            if (kind) break;
            q++;
        }
        size_t tl = q - L.pos;
        if (q >= n) {
            st = emit_text(&L, L.pos, s + L.pos, tl);
            break;
        }
        const char mod = q + 2 < n ? s[q + 2] : '\0';
        const char *text = s + L.pos;
        if (mod == '-') {
            while (tl > 0 && is_ws(text[tl - 1])) tl--;
        } else if (mod != '+' && o->lstrip_blocks && kind != 1) {
            size_t l = tl;
            while (l > 0 && text[l - 1] != '\n') l--;
            if (l > 0 || line_starting) {
                bool only_ws = l < tl;
                for (size_t i = l; i < tl && only_ws; i++) only_ws = is_ws(text[i]);
                if (only_ws) tl = l;
            }
        }
        st = emit_text(&L, L.pos, text, tl);
        if (st != LC_OK) break;
        const size_t tag_pos = q;
        L.pos = q + 2 + (mod == '-' || mod == '+');
        if (kind == 3) {
            size_t e = L.pos;
            for (;;) {
                const char *f = e < n ? memchr(s + e, '#', n - e) : NULL;
                if (!f || (size_t)(f - s) + 1 >= n) {
                    st = fail_at(&L, tag_pos, LC_ERR_FORMAT, "unclosed comment");
                    break;
                }
                e = (size_t)(f - s);
                if (s[e + 1] == '}') break;
                e++;
            }
            if (st != LC_OK) break;
            const bool strip = e > L.pos && s[e - 1] == '-';
            L.pos = e + 2;
            after_close(&L, strip, true);
        } else {
            st = emit(&L, kind == 1 ? JT_VAR_BEGIN : JT_BLOCK_BEGIN, tag_pos, s + tag_pos, 2, NULL);
            bool raw = false;
            if (st == LC_OK) st = lex_tag(&L, kind == 2, tag_pos, &raw);
        }
        line_starting = L.pos > 0 && s[L.pos - 1] == '\n';
    }
    if (st == LC_OK) st = emit(&L, JT_EOF, n, s + n, 0, NULL);
    return st;
}
