/* Tables declared once, printed as aligned text, CSV or JSON (longctx/table.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/table.h"
#include "longctx/util.h"

#define MAX_COLS 256
#define MAX_FMT 24

enum { CELL_NULL, CELL_INT, CELL_REAL, CELL_STR };

typedef struct {
    int tag;
    union {
        int64_t i;
        double d;
        char *s;
    } v;
} cell;

struct lc_table {
    lc_table_col cols[MAX_COLS];
    int n_cols;
    cell *cells;     /* row-major, n_cells of cap                             */
    size_t n_cells, cap;
    bool in_row;     /* lc_table_row called and the row not yet complete       */
    lc_error error;  /* the first mistake, sticky                              */
};

static bool real_kind(lc_table_kind k) { return k == LC_TABLE_REAL || k == LC_TABLE_RATIO || k == LC_TABLE_PERCENT; }

/* One printf conversion of a double: %, flags, optional precision, f e g a. */
static bool valid_fmt(const char *f) {
    if (strlen(f) >= MAX_FMT || *f++ != '%') return false;
    while (*f && strchr("-+ #0", *f)) f++;
    if (*f == '.') {
        f++;
        while (*f >= '0' && *f <= '9') f++;
    }
    return *f && strchr("fFeEgGaA", *f) && f[1] == '\0';
}

static bool in_face(const lc_table_col *c, unsigned face) {
    if (c->skip & face) return false;
    return face == LC_TABLE_NO_TEXT ? c->title != NULL : c->key != NULL;
}

lc_status lc_table_create(const lc_table_col *cols, int n_cols, lc_table **out, lc_error *err) {
    *out = NULL;
    if (!cols || n_cols < 1 || n_cols > MAX_COLS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "table: %d columns (1..%d)", n_cols, MAX_COLS);
    for (int c = 0; c < n_cols; c++) {
        const lc_table_col *col = &cols[c];
        const char *name = col->key ? col->key : col->title ? col->title : "(unnamed)";
        if ((unsigned)col->kind > LC_TABLE_BOOL)
            return lc_fail(err, LC_ERR_INVALID_ARG, "table column '%s': unknown kind %d", name, (int)col->kind);
        if (col->fmt && (!real_kind(col->kind) || !valid_fmt(col->fmt)))
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "table column '%s': format '%s' is not one conversion of a real (%%.3f) on a real column",
                           name, col->fmt);
        if (!in_face(col, LC_TABLE_NO_TEXT) && !in_face(col, LC_TABLE_NO_JSON) && !in_face(col, LC_TABLE_NO_CSV))
            return lc_fail(err, LC_ERR_INVALID_ARG, "table column '%s' is in no face (text, JSON, CSV)", name);
        if (col->width < 0 || col->width > 1024)
            return lc_fail(err, LC_ERR_INVALID_ARG, "table column '%s': width %d (0..1024)", name, col->width);
    }
    int n_keys = 0;
    for (int c = 0; c < n_cols; c++) {
        if (!(cols[c].skip & LC_TABLE_ROW_KEY)) continue;
        if (cols[c].kind != LC_TABLE_STR || ++n_keys > 1)
            return lc_fail(err, LC_ERR_INVALID_ARG, "table: the row key must be one string column");
    }
    lc_table *t = calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "table: out of memory");
    memcpy(t->cols, cols, (size_t)n_cols * sizeof *cols);
    t->n_cols = n_cols;
    lc_error_clear(&t->error);
    *out = t;
    return LC_OK;
}

void lc_table_free(lc_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_cells; i++)
        if (t->cells[i].tag == CELL_STR) free(t->cells[i].v.s);
    free(t->cells);
    free(t);
}

static bool failed(const lc_table *t) { return t->error.status != LC_OK; }

lc_status lc_table_status(const lc_table *t, lc_error *err) {
    if (!failed(t)) {
        lc_error_clear(err);
        return LC_OK;
    }
    if (err) *err = t->error;
    return t->error.status;
}

int64_t lc_table_n_rows(const lc_table *t) { return (int64_t)(t->n_cells / (size_t)t->n_cols); }

void lc_table_row(lc_table *t) {
    if (failed(t)) return;
    if (t->in_row) {
        lc_fail(&t->error, LC_ERR_INVALID_ARG, "table: row %lld has %zu of %d values", (long long)lc_table_n_rows(t),
                t->n_cells % (size_t)t->n_cols, t->n_cols);
        return;
    }
    size_t need;
    if (!lc_add_size(t->n_cells, (size_t)t->n_cols, &need)) {
        lc_fail(&t->error, LC_ERR_TOO_LARGE, "table: too many cells");
        return;
    }
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 64, bytes;
        while (cap < need)
            if (!lc_mul_size(cap, 2, &cap)) cap = need;
        cell *grown = lc_mul_size(cap, sizeof *grown, &bytes) ? realloc(t->cells, bytes) : NULL;
        if (!grown) {
            lc_fail(&t->error, LC_ERR_NOMEM, "table: out of memory for %zu cells", cap);
            return;
        }
        t->cells = grown;
        t->cap = cap;
    }
    t->in_row = true;
}

/* The next cell of the current row, or NULL (and the sticky error) when the
 * value does not fit it. */
static cell *next_cell(lc_table *t, int tag) {
    if (failed(t)) return NULL;
    if (!t->in_row) {
        lc_fail(&t->error, LC_ERR_INVALID_ARG, "table: a value outside a row (lc_table_row first; %d per row)",
                t->n_cols);
        return NULL;
    }
    const lc_table_col *col = &t->cols[t->n_cells % (size_t)t->n_cols];
    const bool fits = tag == CELL_NULL || (tag == CELL_STR) == (col->kind == LC_TABLE_STR);
    if (!fits || (tag == CELL_REAL && !real_kind(col->kind))) {
        static const char *const names[] = {"null", "integer", "real", "string"};
        lc_fail(&t->error, LC_ERR_INVALID_ARG, "table column '%s' (row %lld): a %s does not fit it",
                col->key ? col->key : col->title, (long long)lc_table_n_rows(t), names[tag]);
        return NULL;
    }
    cell *c = &t->cells[t->n_cells++];
    c->tag = tag;
    if (t->n_cells % (size_t)t->n_cols == 0) t->in_row = false;
    return c;
}

void lc_table_int(lc_table *t, int64_t v) {
    cell *c = next_cell(t, CELL_INT);
    if (c) c->v.i = v;
}

void lc_table_real(lc_table *t, double v) {
    cell *c = next_cell(t, CELL_REAL);
    if (c) c->v.d = v;
}

void lc_table_null(lc_table *t) { next_cell(t, CELL_NULL); }

void lc_table_str(lc_table *t, const char *s) {
    if (!s) {
        lc_table_null(t);
        return;
    }
    char *copy = failed(t) ? NULL : strdup(s);
    if (!copy && !failed(t)) lc_fail(&t->error, LC_ERR_NOMEM, "table: out of memory for a string");
    cell *c = next_cell(t, CELL_STR);
    if (c) c->v.s = copy;
    else free(copy);
}

static double real_of(const cell *c) { return c->tag == CELL_INT ? (double)c->v.i : c->v.d; }

static bool missing(const cell *c) { return c->tag == CELL_NULL || (c->tag == CELL_REAL && isnan(c->v.d)); }

/* The text of one cell (into buf, or the cell's own string). */
static const char *cell_text(const lc_table_col *col, const cell *c, char *buf, size_t len) {
    if (missing(c)) return "-";
    switch (col->kind) {
    case LC_TABLE_STR: return c->v.s;
    case LC_TABLE_INT: snprintf(buf, len, "%lld", (long long)c->v.i); return buf;
    case LC_TABLE_BYTES: return lc_format_bytes((double)c->v.i, buf, len);
    case LC_TABLE_BOOL: return c->v.i ? "yes" : "no";
    default: break;
    }
    static const char *const defaults[] = {
        [LC_TABLE_REAL] = "%.3f", [LC_TABLE_RATIO] = "%.2f", [LC_TABLE_PERCENT] = "%.1f"};
    const char *fmt = col->fmt ? col->fmt : defaults[col->kind];
    const double scale = (col->scale != 0 ? col->scale : 1) * (col->kind == LC_TABLE_PERCENT ? 100 : 1);
    const double v = real_of(c) * scale;
    const int n = snprintf(buf, len, fmt, v);
    if (n >= 0 && (size_t)n + 1 < len && col->kind != LC_TABLE_REAL && isfinite(v))
        snprintf(buf + n, len - (size_t)n, "%s", col->kind == LC_TABLE_RATIO ? "x" : "%");
    return buf;
}

/* Columns a string takes: UTF-8 code points (continuation bytes take none). */
static size_t text_width(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int title_width(const lc_table_col *col) {
    const size_t n = text_width(col->title);
    return n > (size_t)col->width ? (int)(n > 4096 ? 4096 : n) : col->width;
}

/* s in w columns, control characters (a newline in a note) as blanks so
 * that a row stays one line. */
static void put_cell(FILE *f, const char *s, int w, bool left) {
    const size_t n = text_width(s);
    const size_t pad = n < (size_t)w ? (size_t)w - n : 0;
    for (size_t i = 0; !left && i < pad; i++) fputc(' ', f);
    for (; *s; s++) fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
    for (size_t i = 0; left && i < pad; i++) fputc(' ', f);
}

/* One line: the titles (row NULL) or a row's cells, at widths w. */
static void print_line(const lc_table *t, FILE *f, const cell *row, const int *w) {
    int last = -1;
    for (int c = 0; c < t->n_cols; c++)
        if (in_face(&t->cols[c], LC_TABLE_NO_TEXT)) last = c;
    bool first = true;
    for (int c = 0; c <= last; c++) {
        const lc_table_col *col = &t->cols[c];
        if (!in_face(col, LC_TABLE_NO_TEXT)) continue;
        char buf[64];
        const char *s = row ? cell_text(col, &row[c], buf, sizeof buf) : col->title;
        const bool left = col->kind == LC_TABLE_STR;
        if (!first) fputc(' ', f);
        first = false;
        put_cell(f, s, left && c == last ? 0 : w[c], left); /* no trailing blanks */
    }
    fputc('\n', f);
}

lc_status lc_table_print_header(const lc_table *t, FILE *f, lc_error *err) {
    if (failed(t)) return lc_table_status(t, err);
    int w[MAX_COLS];
    for (int c = 0; c < t->n_cols; c++) w[c] = in_face(&t->cols[c], LC_TABLE_NO_TEXT) ? title_width(&t->cols[c]) : 0;
    print_line(t, f, NULL, w);
    return LC_OK;
}

/* Rows printed must be complete and the table without a mistake. */
static lc_status printable(const lc_table *t, lc_error *err) {
    if (failed(t)) return lc_table_status(t, err);
    if (t->in_row)
        return lc_fail(err, LC_ERR_INVALID_ARG, "table: the last row has %zu of %d values",
                       t->n_cells % (size_t)t->n_cols, t->n_cols);
    return LC_OK;
}

lc_status lc_table_print_row(const lc_table *t, FILE *f, int64_t row, lc_error *err) {
    if (failed(t)) return lc_table_status(t, err);
    if (row < 0 || row >= lc_table_n_rows(t))
        return lc_fail(err, LC_ERR_INVALID_ARG, "table: no row %lld (%lld complete)", (long long)row,
                       (long long)lc_table_n_rows(t));
    int w[MAX_COLS];
    for (int c = 0; c < t->n_cols; c++) w[c] = in_face(&t->cols[c], LC_TABLE_NO_TEXT) ? title_width(&t->cols[c]) : 0;
    print_line(t, f, &t->cells[(size_t)row * (size_t)t->n_cols], w);
    return LC_OK;
}

lc_status lc_table_print_text(const lc_table *t, FILE *f, lc_error *err) {
    const lc_status st = printable(t, err);
    if (st != LC_OK) return st;
    int w[MAX_COLS];
    const int64_t n_rows = lc_table_n_rows(t);
    for (int c = 0; c < t->n_cols; c++) {
        const lc_table_col *col = &t->cols[c];
        w[c] = 0;
        if (!in_face(col, LC_TABLE_NO_TEXT)) continue;
        w[c] = title_width(col);
        for (int64_t r = 0; r < n_rows; r++) {
            char buf[64];
            const cell *v = &t->cells[(size_t)r * (size_t)t->n_cols + (size_t)c];
            const size_t n = text_width(cell_text(col, v, buf, sizeof buf));
            if (n > (size_t)w[c]) w[c] = n > 4096 ? 4096 : (int)n;
        }
    }
    print_line(t, f, NULL, w);
    for (int64_t r = 0; r < n_rows; r++) print_line(t, f, &t->cells[(size_t)r * (size_t)t->n_cols], w);
    return LC_OK;
}

static void csv_string(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_cell(FILE *f, const lc_table_col *col, const cell *c) {
    if (missing(c)) return;
    if (c->tag == CELL_STR) csv_string(f, c->v.s);
    else if (col->kind == LC_TABLE_BOOL) fputc(c->v.i ? '1' : '0', f);
    else if (c->tag == CELL_INT && !real_kind(col->kind)) fprintf(f, "%lld", (long long)c->v.i);
    else fprintf(f, "%.10g", real_of(c));
}

lc_status lc_table_print_csv(const lc_table *t, FILE *f, lc_error *err) {
    const lc_status st = printable(t, err);
    if (st != LC_OK) return st;
    const int64_t n_rows = lc_table_n_rows(t);
    for (int64_t r = -1; r < n_rows; r++) {
        bool first = true;
        for (int c = 0; c < t->n_cols; c++) {
            const lc_table_col *col = &t->cols[c];
            if (!in_face(col, LC_TABLE_NO_CSV)) continue;
            if (!first) fputc(',', f);
            first = false;
            if (r < 0) csv_string(f, col->key);
            else csv_cell(f, col, &t->cells[(size_t)r * (size_t)t->n_cols + (size_t)c]);
        }
        fputc('\n', f);
    }
    return LC_OK;
}

static void json_cell(lc_json_writer *w, const lc_table_col *col, const cell *c) {
    if (c->tag == CELL_NULL) lc_json_null(w);
    else if (c->tag == CELL_STR) lc_json_str(w, c->v.s);
    else if (col->kind == LC_TABLE_BOOL) lc_json_bool(w, c->v.i != 0);
    else if (c->tag == CELL_INT) lc_json_int(w, c->v.i);
    else lc_json_num(w, c->v.d); /* not finite: null */
}

static int row_key(const lc_table *t) {
    for (int c = 0; c < t->n_cols; c++)
        if (t->cols[c].skip & LC_TABLE_ROW_KEY) return c;
    return -1;
}

/* The rows: objects in an array, or named members (ROW_KEY) of the open object. */
static void json_rows(const lc_table *t, lc_json_writer *w) {
    const int rk = row_key(t);
    const int64_t n_rows = lc_table_n_rows(t);
    for (int64_t r = 0; r < n_rows; r++) {
        const cell *cells = &t->cells[(size_t)r * (size_t)t->n_cols];
        if (rk >= 0) lc_json_key(w, cells[rk].tag == CELL_STR ? cells[rk].v.s : "");
        lc_json_begin_object(w);
        for (int c = 0; c < t->n_cols; c++) {
            const lc_table_col *col = &t->cols[c];
            if (c == rk || !in_face(col, LC_TABLE_NO_JSON)) continue;
            lc_json_key(w, col->key);
            json_cell(w, col, &cells[c]);
        }
        lc_json_end_object(w);
    }
}

lc_status lc_table_write_json(const lc_table *t, lc_json_writer *w, lc_error *err) {
    const lc_status st = printable(t, err);
    if (st != LC_OK) return st;
    const bool keyed = row_key(t) >= 0;
    if (keyed) lc_json_begin_object(w);
    else lc_json_begin_array(w);
    json_rows(t, w);
    if (keyed) lc_json_end_object(w);
    else lc_json_end_array(w);
    return LC_OK;
}

void lc_table_add_row(lc_table *t, const lc_table_value *v, int n) {
    if (failed(t)) return;
    if (n != t->n_cols) {
        lc_fail(&t->error, LC_ERR_INVALID_ARG, "table: a row of %d values for %d columns", n, t->n_cols);
        return;
    }
    lc_table_row(t);
    for (int c = 0; c < n; c++) {
        switch (v[c].type) {
        case LC_TV_INT: lc_table_int(t, v[c].v.i); break;
        case LC_TV_REAL: lc_table_real(t, v[c].v.d); break;
        case LC_TV_STR: lc_table_str(t, v[c].v.s); break;
        default: lc_table_null(t); break;
        }
    }
}

/* row must be a complete row of a table without a mistake. */
static lc_status check_row(const lc_table *t, int64_t row, lc_error *err) {
    if (failed(t)) return lc_table_status(t, err);
    if (row < 0 || row >= lc_table_n_rows(t))
        return lc_fail(err, LC_ERR_INVALID_ARG, "table: no row %lld (%lld complete)", (long long)row,
                       (long long)lc_table_n_rows(t));
    return LC_OK;
}

lc_status lc_table_print_fields(const lc_table *t, FILE *f, int64_t row, lc_error *err) {
    const lc_status st = check_row(t, row, err);
    if (st != LC_OK) return st;
    size_t w = 0;
    for (int c = 0; c < t->n_cols; c++)
        if (in_face(&t->cols[c], LC_TABLE_NO_TEXT) && text_width(t->cols[c].title) > w)
            w = text_width(t->cols[c].title);
    const cell *cells = &t->cells[(size_t)row * (size_t)t->n_cols];
    for (int c = 0; c < t->n_cols; c++) {
        const lc_table_col *col = &t->cols[c];
        if (!in_face(col, LC_TABLE_NO_TEXT)) continue;
        char buf[64];
        put_cell(f, col->title, (int)(w > 4096 ? 4096 : w), true);
        fputs("  ", f);
        put_cell(f, cell_text(col, &cells[c], buf, sizeof buf), 0, true);
        fputc('\n', f);
    }
    return LC_OK;
}

lc_status lc_table_write_json_fields(const lc_table *t, lc_json_writer *w, int64_t row, lc_error *err) {
    const lc_status st = check_row(t, row, err);
    if (st != LC_OK) return st;
    const cell *cells = &t->cells[(size_t)row * (size_t)t->n_cols];
    for (int c = 0; c < t->n_cols; c++) {
        if (!in_face(&t->cols[c], LC_TABLE_NO_JSON)) continue;
        lc_json_key(w, t->cols[c].key);
        json_cell(w, &t->cols[c], &cells[c]);
    }
    return LC_OK;
}

lc_status lc_table_report(FILE *f, lc_table_face face, const lc_table *info, const char *key, const lc_table *rows,
                          lc_error *err) {
    lc_status st = LC_OK;
    if (info && (st = check_row(info, 0, err)) != LC_OK) return st;
    if (rows && (st = printable(rows, err)) != LC_OK) return st;
    if (face == LC_TABLE_CSV) return rows ? lc_table_print_csv(rows, f, err) : LC_OK;
    if (face == LC_TABLE_TEXT) {
        if (info) st = lc_table_print_fields(info, f, 0, err);
        if (st == LC_OK && rows) st = lc_table_print_text(rows, f, err);
        return st;
    }
    lc_json_writer w;
    lc_json_init(&w, f, true);
    if (info) {
        lc_json_begin_object(&w);
        st = lc_table_write_json_fields(info, &w, 0, err);
        if (rows && !key && row_key(rows) >= 0) {
            json_rows(rows, &w); /* members beside the record's */
            rows = NULL;
        }
        if (rows) lc_json_key(&w, key ? key : "rows");
    }
    if (st == LC_OK && rows) st = lc_table_write_json(rows, &w, err);
    if (info) lc_json_end_object(&w);
    lc_json_finish(&w);
    return st;
}
