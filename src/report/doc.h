/*
 * The report as a document: headings, paragraphs, lists, tables, figures and
 * notes, built once by the sections and rendered twice: GitHub Markdown
 * (figures as separate SVG files) and one self-contained HTML page (CSS and
 * SVG inline, no script, no external reference).
 *
 * Text may carry four inline marks, rendered in both outputs: `code`,
 * **bold**, *emphasis* and [a link](#anchor) to a heading of the document (internal
 * anchors only: an HTML heading's id is GitHub's slug of its text, so the
 * same link works in both). Everything else is plain text (escaped for HTML;
 * '|' escaped in Markdown table cells); in HTML a run of CJK characters is
 * wrapped in <span lang="zh"> (the page is lang="en"), which the CSS gives a
 * CJK font.
 *
 * Allocation failures are sticky: every call after one does nothing and
 * rdoc_failed() tells; the sections build without checking each call.
 */
#ifndef LC_REPORT_DOC_H
#define LC_REPORT_DOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct rdoc rdoc;
typedef struct rtable rtable;

rdoc *rdoc_new(void);
void rdoc_free(rdoc *d);
bool rdoc_failed(const rdoc *d);

#if defined(__GNUC__)
#define RDOC_FMT(a, b) __attribute__((format(printf, a, b)))
#else
#define RDOC_FMT(a, b)
#endif

/* level 1..3; id: HTML anchor (NULL: GitHub's slug of the text, rdoc_slug). */
void rdoc_heading(rdoc *d, int level, const char *id, const char *fmt, ...) RDOC_FMT(4, 5);
void rdoc_para(rdoc *d, const char *fmt, ...) RDOC_FMT(2, 3);
/* One bullet; consecutive items form one list. */
void rdoc_item(rdoc *d, const char *fmt, ...) RDOC_FMT(2, 3);
/* A remark set apart (skips, caveats). */
void rdoc_note(rdoc *d, const char *fmt, ...) RDOC_FMT(2, 3);
/* Preformatted text (commands). */
void rdoc_pre(rdoc *d, const char *text);

/* A table of n_cols columns (1..32); align: one of 'l'/'r'/'c' per column
 * (NULL: first left, others right). Header cells and then body cells are
 * added left to right, row by row, with rtable_cell. Returns NULL after a
 * failure (rtable_cell accepts NULL and does nothing). */
rtable *rdoc_table(rdoc *d, int n_cols, const char *align, const char *caption);
void rtable_header(rtable *t, const char *const *cells);
void rtable_cell(rtable *t, const char *fmt, ...) RDOC_FMT(2, 3);

/* A figure: file name (relative, e.g. "fig-memory.svg"), the SVG document
 * (copied), and a caption. */
void rdoc_figure(rdoc *d, const char *file, const char *svg, size_t svg_len, const char *caption);

/* Number of figures, and figure i's file name and SVG text. */
int rdoc_n_figures(const rdoc *d);
void rdoc_figure_get(const rdoc *d, int i, const char **file, const char **svg, size_t *len);

/* GitHub's anchor for a heading: lower case, letters, digits, '-' and '_'
 * kept (bytes >= 0x80 too), spaces to '-', everything else dropped. */
const char *rdoc_slug(const char *text, char *buf, size_t len);

/* Render. Return false if writing failed. */
bool rdoc_write_markdown(const rdoc *d, FILE *f);
bool rdoc_write_html(const rdoc *d, FILE *f, const char *title);

#endif
