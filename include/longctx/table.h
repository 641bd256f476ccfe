/*
 * longctx/table.h — one table, three faces: aligned text, CSV and JSON.
 *
 * A command declares its columns once (a title for the text, a key for JSON
 * and CSV, a kind that says how the value reads), adds rows, and prints
 * whichever faces the user asked for:
 *
 *     static const lc_table_col cols[] = {
 *         {.title = "tokens", .key = "tokens", .kind = LC_TABLE_INT, .width = 8},
 *         {.title = "median ms", .key = "seconds_median", .kind = LC_TABLE_REAL, .fmt = "%.3f", .scale = 1e3},
 *         {.title = "rss", .key = "rss", .kind = LC_TABLE_BYTES, .width = 10},
 *     };
 *     lc_table *t;
 *     if (lc_table_create(cols, 3, &t, &err) != LC_OK) ...;
 *     lc_table_row(t);
 *     lc_table_int(t, 4096);
 *     lc_table_real(t, 0.0123);
 *     lc_table_int(t, rss);
 *     lc_table_print_text(t, stdout, &err);      // or lc_table_print_csv / lc_table_write_json
 *     lc_table_free(t);
 *
 * Values are added in column order, one call per column, after lc_table_row
 * starts the row. Adding never returns a status: the first mistake (a value
 * of the wrong type, a row with too many or too few values, no memory) is
 * kept, later adds are ignored, and every print function and lc_table_status
 * return it. Nothing is printed from a table in that state.
 *
 * What each face shows:
 *   text  the title row, then one line per row; columns one space apart,
 *         strings left-aligned, everything else right-aligned; a missing
 *         value (lc_table_null, or a NaN real) is "-". lc_table_print_text
 *         widens a column to its widest cell; the streaming pair
 *         (lc_table_print_header, lc_table_print_row) keeps the declared
 *         widths, so a longer cell pushes the rest of its line right.
 *   CSV   a header of the keys, then the rows (RFC 4180: a string with a
 *         comma, quote, CR or LF is quoted, quotes doubled); numbers as in
 *         JSON, unscaled; a missing value is an empty field.
 *   JSON  an array of objects, written through an lc_json_writer so it can be
 *         the value of a key in a larger object; integers exactly, reals with
 *         lc_json_num (NaN and infinities become null), missing values null.
 */
#ifndef LONGCTX_TABLE_H
#define LONGCTX_TABLE_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_TABLE_INT,     /* lc_table_int: text %lld                                        */
    LC_TABLE_REAL,    /* lc_table_real or _int: text fmt (default "%.3f") of value x scale */
    LC_TABLE_STR,     /* lc_table_str (copied)                                          */
    LC_TABLE_BYTES,   /* lc_table_int: text lc_format_bytes ("1.5 MiB"), JSON/CSV the count */
    LC_TABLE_RATIO,   /* as REAL (default "%.2f") with "x" after: "1.23x"               */
    LC_TABLE_PERCENT, /* as REAL (default "%.1f") of 100 x value, "%" after: a fraction 0.42
                         reads "42.0%"; JSON/CSV keep the fraction                     */
    LC_TABLE_BOOL     /* lc_table_int (0 or not): text yes/no, JSON true/false, CSV 1/0  */
} lc_table_kind;

/* Faces a column stays out of (its title or key may also be NULL for that). */
#define LC_TABLE_NO_TEXT 1u
#define LC_TABLE_NO_JSON 2u
#define LC_TABLE_NO_CSV 4u

typedef struct {
    const char *title;  /* text header; NULL: not in the text                         */
    const char *key;    /* JSON key and CSV column; NULL: text only                   */
    lc_table_kind kind;
    const char *fmt;    /* REAL, RATIO, PERCENT only: one printf conversion of a double,
                           flags and precision but no width ("%.1f", "%+.2e", "%g");
                           NULL: the kind's default                                   */
    int width;          /* text: at least this wide (the title's length at least)     */
    double scale;       /* REAL, RATIO, PERCENT text only: shown value x scale (0: 1),
                           e.g. 1e3 to show seconds as ms                             */
    unsigned skip;      /* LC_TABLE_NO_* bits                                         */
} lc_table_col;

typedef struct lc_table lc_table;

/* A table of n_cols (1..256) columns; cols is copied, its strings are
 * borrowed (string literals, as a rule). LC_ERR_INVALID_ARG for a bad
 * format, a format on a kind without one, or a column in no face. */
lc_status lc_table_create(const lc_table_col *cols, int n_cols, lc_table **out, lc_error *err);
void lc_table_free(lc_table *t);

/* Start a row (the previous one must be complete), then one value per
 * column in order. Type rules: _int fits every kind but STR; _real fits
 * REAL, RATIO and PERCENT; _str fits STR (NULL: missing); _null fits all. */
void lc_table_row(lc_table *t);
void lc_table_int(lc_table *t, int64_t v);
void lc_table_real(lc_table *t, double v);
void lc_table_str(lc_table *t, const char *s);
void lc_table_null(lc_table *t);

/* The first mistake made adding to t (LC_OK and err cleared when none). */
lc_status lc_table_status(const lc_table *t, lc_error *err);
/* Complete rows added so far. */
int64_t lc_table_n_rows(const lc_table *t);

/* Header and every row, column widths fitted to the cells. */
lc_status lc_table_print_text(const lc_table *t, FILE *f, lc_error *err);
/* Streaming text with the declared widths: the header, then row i (0-based;
 * lc_table_n_rows(t) - 1 is the one just completed). */
lc_status lc_table_print_header(const lc_table *t, FILE *f, lc_error *err);
lc_status lc_table_print_row(const lc_table *t, FILE *f, int64_t row, lc_error *err);
lc_status lc_table_print_csv(const lc_table *t, FILE *f, lc_error *err);
/* The rows as one JSON array value (after lc_json_key inside an object, or
 * as a whole document). */
lc_status lc_table_write_json(const lc_table *t, lc_json_writer *w, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif
