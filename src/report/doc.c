/* The report document and its Markdown and HTML renderings (doc.h). */
#include "report/doc.h"

#include <stdlib.h>
#include <string.h>

typedef enum { B_HEADING, B_PARA, B_ITEM, B_NOTE, B_PRE, B_TABLE, B_FIGURE } block_kind;

#define TABLE_MAX_COLS 32

struct rtable {
    rdoc *doc;
    int n_cols;
    char align[TABLE_MAX_COLS];
    char *caption;
    char **header;  /* [n_cols] */
    char **cells;   /* body, row-major */
    size_t n_cells, cap_cells;
};

typedef struct {
    block_kind kind;
    int level;
    char *id;
    char *text;      /* heading, para, item, note, pre; figure caption */
    char *file;      /* figure */
    char *svg;       /* figure */
    size_t svg_len;
    rtable *table;
} block;

struct rdoc {
    block *b;
    size_t n, cap;
    bool failed;
};

rdoc *rdoc_new(void) { return calloc(1, sizeof(rdoc)); }

static void table_free(rtable *t) {
    if (!t) return;
    if (t->header)
        for (int i = 0; i < t->n_cols; i++) free(t->header[i]);
    for (size_t i = 0; i < t->n_cells; i++) free(t->cells[i]);
    free(t->header);
    free(t->cells);
    free(t->caption);
    free(t);
}

void rdoc_free(rdoc *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->b[i].id);
        free(d->b[i].text);
        free(d->b[i].file);
        free(d->b[i].svg);
        table_free(d->b[i].table);
    }
    free(d->b);
    free(d);
}

bool rdoc_failed(const rdoc *d) { return !d || d->failed; }

static char *dup_str(rdoc *d, const char *s) {
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) d->failed = true;
    return c;
}

static char *vformat(rdoc *d, const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        d->failed = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        d->failed = true;
        return NULL;
    }
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static block *push(rdoc *d, block_kind k) {
    if (!d || d->failed) return NULL;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        block *nb = realloc(d->b, cap * sizeof *nb);
        if (!nb) {
            d->failed = true;
            return NULL;
        }
        d->b = nb;
        d->cap = cap;
    }
    block *b = &d->b[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = k;
    return b;
}

static void push_text(rdoc *d, block_kind k, int level, const char *id, const char *fmt, va_list ap) {
    block *b = push(d, k);
    if (!b) return;
    b->level = level;
    b->id = dup_str(d, id);
    b->text = vformat(d, fmt, ap);
    if (!b->text) d->failed = true;
}

const char *rdoc_slug(const char *text, char *buf, size_t len) {
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)text; c && *c && o + 1 < len; c++) {
        if (*c >= 'A' && *c <= 'Z') buf[o++] = (char)(*c - 'A' + 'a');
        else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c >= 0x80)
            buf[o++] = (char)*c;
        else if (*c == ' ') buf[o++] = '-';
    }
    if (len) buf[o] = '\0';
    return buf;
}

void rdoc_heading(rdoc *d, int level, const char *id, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    push_text(d, B_HEADING, level < 1 ? 1 : level > 3 ? 3 : level, id, fmt, ap);
    va_end(ap);
    if (!id && d && !d->failed && d->b[d->n - 1].text) {
        char slug[256];
        d->b[d->n - 1].id = dup_str(d, rdoc_slug(d->b[d->n - 1].text, slug, sizeof slug));
    }
}

void rdoc_para(rdoc *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    push_text(d, B_PARA, 0, NULL, fmt, ap);
    va_end(ap);
}

void rdoc_item(rdoc *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    push_text(d, B_ITEM, 0, NULL, fmt, ap);
    va_end(ap);
}

void rdoc_note(rdoc *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    push_text(d, B_NOTE, 0, NULL, fmt, ap);
    va_end(ap);
}

void rdoc_pre(rdoc *d, const char *text) {
    block *b = push(d, B_PRE);
    if (b) b->text = dup_str(d, text ? text : "");
}

rtable *rdoc_table(rdoc *d, int n_cols, const char *align, const char *caption) {
    if (n_cols < 1 || n_cols > TABLE_MAX_COLS) {
        if (d) d->failed = true;
        return NULL;
    }
    block *b = push(d, B_TABLE);
    if (!b) return NULL;
    rtable *t = calloc(1, sizeof *t);
    if (!t) {
        d->failed = true;
        return NULL;
    }
    b->table = t;
    t->doc = d;
    t->n_cols = n_cols;
    for (int i = 0; i < n_cols; i++) {
        char a = align && (int)strlen(align) > i ? align[i] : (i == 0 ? 'l' : 'r');
        t->align[i] = a == 'l' || a == 'r' || a == 'c' ? a : 'l';
    }
    t->caption = dup_str(d, caption);
    return t;
}

void rtable_header(rtable *t, const char *const *cells) {
    if (!t || t->doc->failed || t->header) return;
    t->header = calloc((size_t)t->n_cols, sizeof(char *));
    if (!t->header) {
        t->doc->failed = true;
        return;
    }
    for (int i = 0; i < t->n_cols; i++) t->header[i] = dup_str(t->doc, cells[i] ? cells[i] : "");
}

void rtable_cell(rtable *t, const char *fmt, ...) {
    if (!t || t->doc->failed) return;
    if (t->n_cells == t->cap_cells) {
        size_t cap = t->cap_cells ? 2 * t->cap_cells : 64;
        char **nc = realloc(t->cells, cap * sizeof *nc);
        if (!nc) {
            t->doc->failed = true;
            return;
        }
        t->cells = nc;
        t->cap_cells = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(t->doc, fmt, ap);
    va_end(ap);
    if (s) t->cells[t->n_cells++] = s;
}

void rdoc_figure(rdoc *d, const char *file, const char *svg, size_t svg_len, const char *caption) {
    block *b = push(d, B_FIGURE);
    if (!b) return;
    b->file = dup_str(d, file);
    b->text = dup_str(d, caption ? caption : "");
    b->svg = malloc(svg_len + 1);
    if (!b->svg) {
        d->failed = true;
        return;
    }
    memcpy(b->svg, svg, svg_len);
    b->svg[svg_len] = '\0';
    b->svg_len = svg_len;
}

int rdoc_n_figures(const rdoc *d) {
    int n = 0;
    for (size_t i = 0; d && i < d->n; i++) n += d->b[i].kind == B_FIGURE;
    return n;
}

void rdoc_figure_get(const rdoc *d, int k, const char **file, const char **svg, size_t *len) {
    *file = *svg = NULL;
    *len = 0;
    int n = 0;
    for (size_t i = 0; d && i < d->n; i++) {
        if (d->b[i].kind != B_FIGURE) continue;
        if (n++ == k) {
            *file = d->b[i].file;
            *svg = d->b[i].svg;
            *len = d->b[i].svg_len;
            return;
        }
    }
}

/* ---- Markdown ------------------------------------------------------------------ */

/* Text with '|' escaped (table cells) and newlines as spaces. */
static void md_cell(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void md_table(FILE *f, const rtable *t) {
    if (t->caption) fprintf(f, "**%s**\n\n", t->caption);
    fputc('|', f);
    for (int c = 0; c < t->n_cols; c++) {
        fputc(' ', f);
        md_cell(f, t->header ? t->header[c] : "");
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (int c = 0; c < t->n_cols; c++)
        fputs(t->align[c] == 'r' ? "---:|" : t->align[c] == 'c' ? ":---:|" : "---|", f);
    fputc('\n', f);
    for (size_t i = 0; i < t->n_cells; i++) {
        if (i % (size_t)t->n_cols == 0) fputc('|', f);
        fputc(' ', f);
        md_cell(f, t->cells[i]);
        fputs(" |", f);
        if (i % (size_t)t->n_cols == (size_t)t->n_cols - 1 || i + 1 == t->n_cells) fputc('\n', f);
    }
    fputc('\n', f);
}

bool rdoc_write_markdown(const rdoc *d, FILE *f) {
    if (!d || d->failed) return false;
    for (size_t i = 0; i < d->n; i++) {
        const block *b = &d->b[i];
        switch (b->kind) {
        case B_HEADING:
            fprintf(f, "%.*s %s\n\n", b->level, "###", b->text);
            break;
        case B_PARA: fprintf(f, "%s\n\n", b->text); break;
        case B_ITEM:
            fprintf(f, "- %s\n", b->text);
            if (i + 1 == d->n || d->b[i + 1].kind != B_ITEM) fputc('\n', f);
            break;
        case B_NOTE: fprintf(f, "> %s\n\n", b->text); break;
        case B_PRE: fprintf(f, "```\n%s\n```\n\n", b->text); break;
        case B_TABLE: md_table(f, b->table); break;
        case B_FIGURE: fprintf(f, "![%s](%s)\n\n*%s*\n\n", b->text, b->file, b->text); break;
        }
    }
    return !ferror(f);
}

/* ---- HTML ------------------------------------------------------------------------ */

/* Bytes of the CJK character (ideographs, CJK punctuation, full-width forms)
 * that starts s, or 0: a 3-byte UTF-8 sequence in U+2E80..U+9FFF or
 * U+F900..U+FAFF or U+FF00..U+FFEF. */
static size_t cjk_len(const char *s, size_t left) {
    const unsigned char *u = (const unsigned char *)s;
    if (left < 3 || (u[0] & 0xF0) != 0xE0 || (u[1] & 0xC0) != 0x80 || (u[2] & 0xC0) != 0x80) return 0;
    const unsigned cp = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFFEF) ? 3
                                                                                                               : 0;
}

static void html_esc(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f);
        }
    }
}

/* Escaped text in which a run of CJK characters (the article's Chinese
 * title) is wrapped in <span lang="zh">, so that the page's lang="en" does
 * not pick a Latin font for it and the CSS gives it a CJK one. */
static void html_text(FILE *f, const char *s, size_t n) {
    size_t i = 0;
    while (i < n && s[i]) {
        size_t c = cjk_len(s + i, n - i);
        if (!c) {
            html_esc(f, s + i, 1);
            i++;
            continue;
        }
        fputs("<span lang=\"zh\">", f);
        while (c) {
            fwrite(s + i, 1, c, f);
            i += c;
            c = i < n && s[i] ? cjk_len(s + i, n - i) : 0;
        }
        fputs("</span>", f);
    }
}

/* Escaped text with `code`, **bold** and [text](#anchor) turned into
 * elements (an unmatched mark, or a link that is not to an anchor, is
 * printed as is). */
static void html_inline(FILE *f, const char *s) {
    while (s && *s) {
        if (*s == '[') {
            const char *close = strstr(s, "](#");
            const char *end = close ? strchr(close + 3, ')') : NULL;
            if (close && end && !memchr(s + 1, '[', (size_t)(close - s - 1)) &&
                strcspn(close + 3, " \"<>`)") == (size_t)(end - close - 3)) {
                fputs("<a href=\"#", f);
                html_esc(f, close + 3, (size_t)(end - close - 3));
                fputs("\">", f);
                html_text(f, s + 1, (size_t)(close - s - 1));
                fputs("</a>", f);
                s = end + 1;
                continue;
            }
        }
        if (*s == '`') {
            const char *e = strchr(s + 1, '`');
            if (e) {
                fputs("<code>", f);
                html_text(f, s + 1, (size_t)(e - s - 1));
                fputs("</code>", f);
                s = e + 1;
                continue;
            }
        } else if (s[0] == '*' && s[1] != '*' && s[1] != ' ' && s[1] != '\0') { /* *emphasis* */
            const char *e = strchr(s + 1, '*');
            if (e && e[-1] != ' ' && e[1] != '*') {
                fputs("<em>", f);
                html_text(f, s + 1, (size_t)(e - s - 1));
                fputs("</em>", f);
                s = e + 1;
                continue;
            }
        } else if (s[0] == '*' && s[1] == '*') {
            const char *e = strstr(s + 2, "**");
            if (e) {
                fputs("<strong>", f);
                html_text(f, s + 2, (size_t)(e - s - 2));
                fputs("</strong>", f);
                s = e + 2;
                continue;
            }
        }
        size_t k = 1 + strcspn(s + 1, "[`*"); /* plain text up to the next possible mark */
        html_text(f, s, k);
        s += k;
    }
}

static void html_table(FILE *f, const rtable *t) {
    fputs("<div class=\"tw\"><table>\n", f);
    if (t->caption) {
        fputs("<caption>", f);
        html_inline(f, t->caption);
        fputs("</caption>\n", f);
    }
    fputs("<thead><tr>", f);
    for (int c = 0; c < t->n_cols; c++) {
        fprintf(f, "<th class=\"%c\">", t->align[c]);
        html_inline(f, t->header ? t->header[c] : "");
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; i < t->n_cells; i++) {
        const int c = (int)(i % (size_t)t->n_cols);
        if (c == 0) fputs("<tr>", f);
        fprintf(f, "<td class=\"%c\">", t->align[c]);
        html_inline(f, t->cells[i]);
        fputs("</td>", f);
        if (c == t->n_cols - 1 || i + 1 == t->n_cells) fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

/* The SVG without its XML declaration (an HTML page embeds the element). */
static void html_svg(FILE *f, const char *svg) {
    const char *s = svg;
    if (strncmp(s, "<?xml", 5) == 0) {
        const char *e = strstr(s, "?>");
        if (e) s = e + 2;
        while (*s == '\n' || *s == '\r') s++;
    }
    fputs(s, f);
}

static const char *const CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}"
    "main{max-width:1100px;margin:0 auto;padding:1.5em 2em 4em;background:#fff}"
    "h1{font-size:1.7em;border-bottom:2px solid #333;padding-bottom:.3em}"
    "h2{font-size:1.35em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}"
    "h3{font-size:1.1em;margin-top:1.5em}"
    "p,li{line-height:1.5}"
    "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}"
    "code{background:#f0f0f0;padding:0 .25em;border-radius:3px}"
    "pre{background:#f4f4f4;padding:.8em;overflow-x:auto;border-radius:4px}"
    ".tw{overflow-x:auto;margin:1em 0}"
    "table{border-collapse:collapse;font-size:.88em}"
    "caption{text-align:left;font-weight:600;padding:.3em 0}"
    "th,td{border:1px solid #d0d0d0;padding:.3em .55em;vertical-align:top}"
    "th{background:#eef1f5}"
    "tbody tr:nth-child(even){background:#f8f9fb}"
    "td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}"
    "td.c,th.c{text-align:center}"
    ".note{border-left:4px solid #d9a400;background:#fff8e1;padding:.5em .9em;margin:1em 0}"
    "figure{margin:1.2em 0}figure svg{max-width:100%;height:auto}"
    "figcaption{font-size:.9em;color:#444;margin-top:.3em}"
    /* the article's title is Chinese: a CJK face before the Latin fallbacks */
    ":lang(zh){font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Hiragino Sans GB',"
    "'Microsoft YaHei','WenQuanYi Micro Hei',sans-serif}";

bool rdoc_write_html(const rdoc *d, FILE *f, const char *title) {
    if (!d || d->failed) return false;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    html_esc(f, title ? title : "report", (size_t)-1);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", CSS);
    for (size_t i = 0; i < d->n; i++) {
        const block *b = &d->b[i];
        switch (b->kind) {
        case B_HEADING:
            fprintf(f, "<h%d", b->level);
            if (b->id) {
                fputs(" id=\"", f);
                html_esc(f, b->id, (size_t)-1);
                fputc('"', f);
            }
            fputc('>', f);
            html_inline(f, b->text);
            fprintf(f, "</h%d>\n", b->level);
            break;
        case B_PARA:
            fputs("<p>", f);
            html_inline(f, b->text);
            fputs("</p>\n", f);
            break;
        case B_ITEM:
            if (i == 0 || d->b[i - 1].kind != B_ITEM) fputs("<ul>\n", f);
            fputs("<li>", f);
            html_inline(f, b->text);
            fputs("</li>\n", f);
            if (i + 1 == d->n || d->b[i + 1].kind != B_ITEM) fputs("</ul>\n", f);
            break;
        case B_NOTE:
            fputs("<div class=\"note\">", f);
            html_inline(f, b->text);
            fputs("</div>\n", f);
            break;
        case B_PRE:
            fputs("<pre>", f);
            html_esc(f, b->text, (size_t)-1);
            fputs("</pre>\n", f);
            break;
        case B_TABLE: html_table(f, b->table); break;
        case B_FIGURE:
            fputs("<figure>\n", f);
            html_svg(f, b->svg);
            fputs("\n<figcaption>", f);
            html_inline(f, b->text);
            fputs("</figcaption>\n</figure>\n", f);
            break;
        }
    }
    fputs("</main>\n</body>\n</html>\n", f);
    return !ferror(f);
}
