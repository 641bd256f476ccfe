/*
 * Text in the SVG writers: escaping, width estimates and titles that fit.
 * The widths are Helvetica's advance widths (per 1000 em, ASCII 32..126);
 * a chart is checked against them with a 10 % allowance because browsers
 * draw "sans-serif" with whatever face the system has.
 */
#include "plot/svg_text.h"

#include <string.h>

static const unsigned short helvetica[95] = {
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, /*  !"#$%&'()*+,-./ */
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, /* 0-9 :;<=>?      */
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, /* @A-O           */
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  /* P-Z[\]^_       */
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  /* `a-o           */
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584};      /* p-z{|}~        */

void lc_svg_put_text_n(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; s && i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc((unsigned char)s[i] < 0x20 && s[i] != '\t' ? ' ' : s[i], f); /* control bytes: not XML */
        }
    }
}

void lc_svg_put_text(FILE *f, const char *s) { lc_svg_put_text_n(f, s, s ? strlen(s) : 0); }

double lc_svg_text_width(const char *s, size_t n, double font_px) {
    double em = 0.0;
    for (size_t i = 0; s && i < n && s[i];) {
        const unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            em += c >= 32 && c <= 126 ? helvetica[c - 32] / 1000.0 : 0.278;
            i++;
            continue;
        }
        /* a UTF-8 sequence: its length from the lead byte, its code point for the wide ranges */
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        unsigned cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : len == 2 ? c & 0x1Fu : 0;
        size_t k = 1;
        for (; k < len && i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3Fu);
        const int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                         (cp >= 0xFF00 && cp <= 0xFF60) || cp >= 0x20000;
        em += wide ? 1.0 : 0.65;
        i += k;
    }
    return em * font_px * 1.10;
}

/* Greedy wrap at spaces into t's lines at font px; false if more lines are
 * needed than fit or a word alone is wider than max_w. */
static int wrap(lc_svg_title *t, const char *s, double max_w, double px) {
    const size_t n = strlen(s);
    t->n_lines = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ') i++;
        if (i >= n) break;
        if (t->n_lines == LC_SVG_TITLE_MAX_LINES) return 0;
        size_t end = i, best = 0;
        for (;;) { /* extend word by word while the line fits */
            size_t j = end;
            while (j < n && s[j] == ' ') j++;
            while (j < n && s[j] != ' ') j++;
            if (j == end || lc_svg_text_width(s + i, j - i, px) > max_w) break;
            best = end = j;
        }
        if (best == 0) return 0; /* one word wider than the picture */
        t->start[t->n_lines] = i;
        t->len[t->n_lines] = best - i;
        t->n_lines++;
        i = best;
    }
    return 1;
}

void lc_svg_title_layout(lc_svg_title *t, const char *title, double max_w) {
    memset(t, 0, sizeof *t);
    t->font_px = 16.0;
    t->line_px = 20.0;
    if (!title || !title[0]) return;
    const size_t n = strlen(title);
    for (double px = 16.0; px >= 12.0; px -= 1.0) /* one line, as large as fits */
        if (lc_svg_text_width(title, n, px) <= max_w) {
            t->font_px = px;
            t->line_px = px * 1.25;
            t->n_lines = 1;
            t->len[0] = n;
            return;
        }
    for (double px = 14.0; px >= 6.0; px -= 1.0) /* wrapped */
        if (wrap(t, title, max_w, px)) {
            t->font_px = px;
            t->line_px = px * 1.25;
            return;
        }
    /* nothing fits even at 6 px: one line, cut by the picture */
    t->font_px = 6.0;
    t->line_px = 7.5;
    t->n_lines = 1;
    t->start[0] = 0;
    t->len[0] = n;
}

double lc_svg_title_height(const lc_svg_title *t) {
    return t->n_lines ? 8.0 + t->font_px + (t->n_lines - 1) * t->line_px : 0.0;
}

void lc_svg_title_write(FILE *f, const lc_svg_title *t, const char *title, double cx, double y0) {
    for (int i = 0; i < t->n_lines; i++) {
        fprintf(f, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\">", cx,
                y0 + i * t->line_px, t->font_px);
        lc_svg_put_text_n(f, title + t->start[i], t->len[i]);
        fputs("</text>\n", f);
    }
}
