/*
 * Text in the SVG writers: XML escaping, an estimate of how wide a line of
 * text is drawn, and chart titles laid out to fit the picture (shrunk from
 * 16 px down to 12 px, then wrapped at spaces; a word wider than the picture
 * shrinks the font further, never below 6 px).
 */
#ifndef LC_PLOT_SVG_TEXT_H
#define LC_PLOT_SVG_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* XML-escaped text; control bytes become spaces. */
void lc_svg_put_text(FILE *f, const char *s);
void lc_svg_put_text_n(FILE *f, const char *s, size_t n);

/* Estimated drawn width in px of the first n bytes of s at font_px, in a
 * sans-serif face: Helvetica's advance widths with a 10 % allowance for the
 * wider faces browsers substitute (DejaVu Sans), CJK and other wide
 * characters 1 em, other non-ASCII characters 0.65 em. */
double lc_svg_text_width(const char *s, size_t n, double font_px);

#define LC_SVG_TITLE_MAX_LINES 6

typedef struct {
    double font_px;                       /* chosen size                     */
    double line_px;                       /* baseline-to-baseline distance   */
    int n_lines;                          /* 0: no title                     */
    size_t start[LC_SVG_TITLE_MAX_LINES], len[LC_SVG_TITLE_MAX_LINES];
} lc_svg_title;

/* Lay title out within max_w px (NULL or empty: no lines). */
void lc_svg_title_layout(lc_svg_title *t, const char *title, double max_w);
/* Height the title takes from the top of the picture to below its last line. */
double lc_svg_title_height(const lc_svg_title *t);
/* The title's lines as <text class="title"> elements centred on cx, the
 * first baseline at y0. */
void lc_svg_title_write(FILE *f, const lc_svg_title *t, const char *title, double cx, double y0);

#endif
