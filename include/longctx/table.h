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
 *         With a LC_TABLE_ROW_KEY column, an object instead: each row is the
 *         member named by that column's string ({"norm": {...}, "neox": {...}}).
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
/* A string column (one at most) whose values name the rows in JSON (see above). */
#define LC_TABLE_ROW_KEY 8u

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

/* A row at once: the values of lc_table_row's calls, in column order;
 * LC_TABLE_ADD counts them:
 *     LC_TABLE_ADD(t, lc_tv_str(name), lc_tv_int(n), lc_tv_real(s), lc_tv_null()); */
typedef struct {
    enum { LC_TV_NULL, LC_TV_INT, LC_TV_REAL, LC_TV_STR } type;
    union {
        int64_t i;
        double d;
        const char *s; /* copied by the table */
    } v;
} lc_table_value;
static inline lc_table_value lc_tv_int(int64_t i) {
    lc_table_value x = {LC_TV_INT, {.i = i}};
    return x;
}
static inline lc_table_value lc_tv_real(double d) {
    lc_table_value x = {LC_TV_REAL, {.d = d}};
    return x;
}
static inline lc_table_value lc_tv_str(const char *s) {
    lc_table_value x = {s ? LC_TV_STR : LC_TV_NULL, {.s = s}};
    return x;
}
static inline lc_table_value lc_tv_null(void) {
    lc_table_value x = {LC_TV_NULL, {.i = 0}};
    return x;
}
void lc_table_add_row(lc_table *t, const lc_table_value *v, int n);
#define LC_TABLE_ADD(t, ...)                                                                  \
    lc_table_add_row((t), (const lc_table_value[]){__VA_ARGS__},                              \
                     (int)(sizeof((const lc_table_value[]){__VA_ARGS__}) / sizeof(lc_table_value)))

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
/* One row as a record: "title  value" lines (titles padded to the widest),
 * or as members of the JSON object being written (no braces of its own). */
lc_status lc_table_print_fields(const lc_table *t, FILE *f, int64_t row, lc_error *err);
lc_status lc_table_write_json_fields(const lc_table *t, lc_json_writer *w, int64_t row, lc_error *err);

/* A command's result, a record (info, its row 0) and a table (rows), either
 * may be NULL:
 *   LC_TABLE_TEXT  the record's lines, then the table;
 *   LC_TABLE_JSON  one document: {record fields..., "key": [rows]}; without a
 *                  record the bare array, without rows the bare object;
 *                  a ROW_KEY table with key NULL: its members beside the
 *                  record's fields;
 *   LC_TABLE_CSV   the table alone. */
typedef enum { LC_TABLE_TEXT, LC_TABLE_JSON, LC_TABLE_CSV } lc_table_face;
lc_status lc_table_report(FILE *f, lc_table_face face, const lc_table *info, const char *key, const lc_table *rows,
                          lc_error *err);

/* The rows as one JSON array value (an object with a ROW_KEY column), after
 * lc_json_key inside an object, or as a whole document. */
lc_status lc_table_write_json(const lc_table *t, lc_json_writer *w, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif
