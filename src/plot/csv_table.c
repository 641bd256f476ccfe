/*
 * Numeric CSV tables for plotting (see plot.h for the accepted format).
 * Untrusted input: the file size is checked before reading, lines and
 * columns are bounded, rows are counted before the columns are allocated.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/plot.h"

#define CSV_MAX_COLS 256
#define CSV_MAX_LINE (64 * 1024)
#define CSV_MAX_FILE ((size_t)1 << 30)

struct lc_csv {
    int32_t n_cols;
    int64_t n_rows;
    char **names;   /* [n_cols] */
    double **cols;  /* [n_cols][n_rows] */
};

void lc_csv_free(lc_csv *t) {
    if (!t) return;
    for (int32_t c = 0; c < t->n_cols; c++) {
        if (t->names) free(t->names[c]);
        if (t->cols) free(t->cols[c]);
    }
    free(t->names);
    free(t->cols);
    free(t);
}

int32_t lc_csv_n_cols(const lc_csv *t) { return t->n_cols; }
int64_t lc_csv_n_rows(const lc_csv *t) { return t->n_rows; }
const char *lc_csv_col_name(const lc_csv *t, int32_t c) { return c >= 0 && c < t->n_cols ? t->names[c] : NULL; }
const double *lc_csv_col(const lc_csv *t, int32_t c) { return c >= 0 && c < t->n_cols ? t->cols[c] : NULL; }

int32_t lc_csv_find(const lc_csv *t, const char *name) {
    for (int32_t c = 0; c < t->n_cols; c++)
        if (strcmp(t->names[c], name) == 0) return c;
    return -1;
}

/* Next line [*pos, end) without its \r\n; false at the end of the text. */
static bool next_line(const char *s, size_t len, size_t *pos, const char **line, size_t *n) {
    if (*pos >= len) return false;
    const char *start = s + *pos, *nl = memchr(start, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - start) : len - *pos;
    *pos += l + (nl ? 1 : 0);
    if (l > 0 && start[l - 1] == '\r') l--;
    *line = start;
    *n = l;
    return true;
}

static bool skip_line(const char *line, size_t n) {
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    return i == n || line[i] == '#';
}

/* Field k of a line into buf (trimmed); false past the last field. */
static bool field(const char *line, size_t n, int32_t k, char *buf, size_t cap) {
    size_t i = 0;
    for (int32_t f = 0; f < k; f++) {
        const char *c = memchr(line + i, ',', n - i);
        if (!c) return false;
        i = (size_t)(c - line) + 1;
    }
    const char *c = memchr(line + i, ',', n - i);
    size_t j = c ? (size_t)(c - line) : n;
    while (i < j && (line[i] == ' ' || line[i] == '\t')) i++;
    while (j > i && (line[j - 1] == ' ' || line[j - 1] == '\t')) j--;
    const size_t l = LC_MIN(j - i, cap - 1);
    memcpy(buf, line + i, l);
    buf[l] = '\0';
    return true;
}

static double parse_num(const char *s) {
    if (!*s) return NAN;
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    return (end == s || *end != '\0') ? NAN : v;
}

lc_status lc_csv_parse(const char *text, size_t len, lc_csv **out, lc_error *err) {
    if (!out || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "csv: NULL argument");
    *out = NULL;
    size_t pos = 0, n = 0;
    const char *line = NULL;
    int64_t lineno = 0;
    /* header */
    bool have = false;
    while (next_line(text, len, &pos, &line, &n)) {
        lineno++;
        if (n > CSV_MAX_LINE)
            return lc_fail(err, LC_ERR_FORMAT, "csv: line %lld is longer than 64 KiB", (long long)lineno);
        if (!skip_line(line, n)) {
            have = true;
            break;
        }
    }
    if (!have) return lc_fail(err, LC_ERR_FORMAT, "csv: no header line");
    int32_t n_cols = 1;
    for (size_t i = 0; i < n; i++) n_cols += line[i] == ',';
    if (n_cols > CSV_MAX_COLS) return lc_fail(err, LC_ERR_FORMAT, "csv: %d columns (at most %d)", n_cols, CSV_MAX_COLS);
    /* count data rows */
    const size_t data_pos = pos;
    int64_t rows = 0;
    const char *l2;
    size_t n2;
    int64_t ln2 = lineno;
    while (next_line(text, len, &pos, &l2, &n2)) {
        ln2++;
        if (n2 > CSV_MAX_LINE)
            return lc_fail(err, LC_ERR_FORMAT, "csv: line %lld is longer than 64 KiB", (long long)ln2);
        rows += !skip_line(l2, n2);
    }
    lc_csv *t = (lc_csv *)calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "csv: out of memory");
    t->names = (char **)calloc((size_t)n_cols, sizeof(char *));
    t->cols = (double **)calloc((size_t)n_cols, sizeof(double *));
    t->n_cols = n_cols;
    t->n_rows = rows;
    bool ok = t->names && t->cols;
    char buf[256];
    for (int32_t c = 0; ok && c < n_cols; c++) {
        field(line, n, c, buf, sizeof buf);
        t->names[c] = (char *)malloc(strlen(buf) + 1);
        t->cols[c] = (double *)malloc((size_t)(rows ? rows : 1) * sizeof(double));
        ok = t->names[c] && t->cols[c];
        if (ok) strcpy(t->names[c], buf);
    }
    if (!ok) {
        if (!t->names || !t->cols) t->n_cols = 0;
        lc_csv_free(t);
        return lc_fail(err, LC_ERR_NOMEM, "csv: cannot hold %lld rows x %d columns", (long long)rows, n_cols);
    }
    pos = data_pos;
    int64_t r = 0;
    while (r < rows && next_line(text, len, &pos, &l2, &n2)) {
        if (skip_line(l2, n2)) continue;
        for (int32_t c = 0; c < n_cols; c++) t->cols[c][r] = field(l2, n2, c, buf, sizeof buf) ? parse_num(buf) : NAN;
        r++;
    }
    *out = t;
    return LC_OK;
}

lc_status lc_csv_load(const char *path, lc_csv **out, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "csv: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "csv: cannot open %s: %s", path, strerror(errno));
    lc_status st = LC_OK;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = lc_fail(err, LC_ERR_IO, "csv: cannot size %s", path);
        goto done;
    }
    const size_t avail = lc_mem_available_bytes();
    if ((size_t)size > CSV_MAX_FILE || (avail && (size_t)size * 3 > avail)) {
        st = lc_fail(err, LC_ERR_TOO_LARGE, "csv: %s is too large (%ld bytes)", path, size);
        goto done;
    }
    buf = (char *)malloc((size_t)size + 1);
    if (!buf) {
        st = lc_fail(err, LC_ERR_NOMEM, "csv: cannot read %ld bytes", size);
        goto done;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        st = lc_fail(err, LC_ERR_IO, "csv: reading %s failed", path);
        goto done;
    }
    st = lc_csv_parse(buf, (size_t)size, out, err);
done:
    free(buf);
    fclose(f);
    return st;
}
