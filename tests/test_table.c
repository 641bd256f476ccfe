/* lc_table: the text, CSV and JSON faces of one declared table, on exact
 * expected output, and the mistakes it refuses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/table.h"
#include "longctx/util.h"
#include "test_util.h"

typedef enum { FACE_TEXT, FACE_HEADER_ROW0, FACE_CSV, FACE_JSON } face;

/* The face printed into a string (caller frees), status in *st. */
static char *render(const lc_table *t, face which, lc_status *st, lc_error *err) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    if (which == FACE_TEXT) *st = lc_table_print_text(t, f, err);
    else if (which == FACE_CSV) *st = lc_table_print_csv(t, f, err);
    else if (which == FACE_HEADER_ROW0) {
        *st = lc_table_print_header(t, f, err);
        if (*st == LC_OK) *st = lc_table_print_row(t, f, 0, err);
    } else {
        lc_json_writer w;
        lc_json_init(&w, f, false);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "bench", "t");
        lc_json_key(&w, "rows");
        *st = lc_table_write_json(t, &w, err);
        lc_json_end_object(&w);
    }
    fclose(f);
    return buf;
}

static void check_face(const lc_table *t, face which, const char *want, const char *what) {
    lc_error err;
    lc_status st = LC_ERR_INTERNAL;
    char *got = render(t, which, &st, &err);
    CHECK(st == LC_OK, "%s: %s", what, err.msg);
    CHECK(got && strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s", what, got ? got : "(null)", want);
    free(got);
}

static const lc_table_col cols[] = {
    {.title = "name", .key = "name", .kind = LC_TABLE_STR, .width = 6},
    {.title = "n", .key = "n", .kind = LC_TABLE_INT, .width = 4},
    {.title = "ms", .key = "seconds", .kind = LC_TABLE_REAL, .fmt = "%.2f", .scale = 1e3},
    {.title = "size", .key = "bytes", .kind = LC_TABLE_BYTES, .width = 8},
    {.title = "speed", .key = "speedup", .kind = LC_TABLE_RATIO},
    {.title = "%peak", .key = "fraction", .kind = LC_TABLE_PERCENT, .fmt = "%.0f"},
    {.title = "ok", .key = "ok", .kind = LC_TABLE_BOOL},
    {.key = "json_only", .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_CSV},
    {.title = "note", .kind = LC_TABLE_STR},
};
enum { N_COLS = sizeof cols / sizeof cols[0] };

static void add(lc_table *t, const char *name, int64_t n, double s, int64_t bytes, double sp, double fr, bool ok,
                const char *note) {
    lc_table_row(t);
    lc_table_str(t, name);
    lc_table_int(t, n);
    lc_table_real(t, s);
    lc_table_int(t, bytes);
    lc_table_real(t, sp);
    lc_table_real(t, fr);
    lc_table_int(t, ok);
    lc_table_int(t, n * 2);
    lc_table_str(t, note);
}

static void test_empty(void) {
    lc_error err;
    lc_table *t = NULL;
    CHECK_OK(lc_table_create(cols, N_COLS, &t, &err), &err);
    if (!t) return;
    CHECK(lc_table_n_rows(t) == 0, "no rows");
    check_face(t, FACE_TEXT, "name      n ms     size speed %peak ok note\n", "empty text");
    check_face(t, FACE_CSV, "name,n,seconds,bytes,speedup,fraction,ok\n", "empty csv");
    check_face(t, FACE_JSON, "{\"bench\":\"t\",\"rows\":[]}", "empty json");
    lc_table_free(t);
}

static void test_faces(void) {
    lc_error err;
    lc_table *t = NULL;
    CHECK_OK(lc_table_create(cols, N_COLS, &t, &err), &err);
    if (!t) return;
    add(t, "flash", 4096, 0.01234, 1536, 1.5, 0.425, true, "reps=3");
    add(t, "a \"quoted\", long name", -7, NAN, 3, INFINITY, -INFINITY, false, "line\nbreak");
    lc_table_row(t);
    for (int c = 0; c < N_COLS; c++) lc_table_null(t);
    CHECK(lc_table_n_rows(t) == 3, "3 rows, got %lld", (long long)lc_table_n_rows(t));
    CHECK(lc_table_status(t, &err) == LC_OK, "status: %s", err.msg);
    /* Fitted widths: the long name widens its column for every row. */
    check_face(t, FACE_TEXT,
               "name                     n    ms     size speed %peak  ok note\n"
               "flash                 4096 12.34  1.5 KiB 1.50x   42% yes reps=3\n"
               "a \"quoted\", long name   -7     -      3 B   inf  -inf  no line break\n"
               "-                        -     -        -     -     -   - -\n",
               "text");
    /* Declared widths: the long cell pushes the rest of its line. */
    check_face(t, FACE_HEADER_ROW0,
               "name      n ms     size speed %peak ok note\n"
               "flash  4096 12.34  1.5 KiB 1.50x   42% yes reps=3\n",
               "streamed row 0");
    check_face(t, FACE_CSV,
               "name,n,seconds,bytes,speedup,fraction,ok\n"
               "flash,4096,0.01234,1536,1.5,0.425,1\n"
               "\"a \"\"quoted\"\", long name\",-7,,3,inf,-inf,0\n"
               ",,,,,,\n",
               "csv");
    check_face(t, FACE_JSON,
               "{\"bench\":\"t\",\"rows\":["
               "{\"name\":\"flash\",\"n\":4096,\"seconds\":0.01234,\"bytes\":1536,\"speedup\":1.5,\"fraction\":0.425,"
               "\"ok\":true,\"json_only\":8192},"
               "{\"name\":\"a \\\"quoted\\\", long name\",\"n\":-7,\"seconds\":null,\"bytes\":3,\"speedup\":null,"
               "\"fraction\":null,\"ok\":false,\"json_only\":-14},"
               "{\"name\":null,\"n\":null,\"seconds\":null,\"bytes\":null,\"speedup\":null,\"fraction\":null,"
               "\"ok\":null,\"json_only\":null}]}",
               "json");
    CHECK(lc_table_print_row(t, stdout, 3, &err) == LC_ERR_INVALID_ARG, "row 3 of 3 refused");
    lc_table_free(t);
}

/* Bad declarations are refused at create. */
static void test_bad_columns(void) {
    static const char *const bad_fmts[] = {"%d", "%s", "%10.2f", "%.2f ms", "x%f", "%", "%.2", "%f%f", "%n"};
    lc_error err;
    lc_table *t = (lc_table *)&err;
    for (size_t i = 0; i < LC_ARRAY_LEN(bad_fmts); i++) {
        const lc_table_col c = {.title = "x", .key = "x", .kind = LC_TABLE_REAL, .fmt = bad_fmts[i]};
        CHECK(lc_table_create(&c, 1, &t, &err) == LC_ERR_INVALID_ARG && !t, "format '%s' refused", bad_fmts[i]);
    }
    const lc_table_col good[] = {{.title = "x", .key = "x", .kind = LC_TABLE_REAL, .fmt = "%+.2e"},
                                 {.title = "y", .key = "y", .kind = LC_TABLE_PERCENT, .fmt = "%g"}};
    CHECK_OK(lc_table_create(good, 2, &t, &err), &err);
    lc_table_free(t);
    const lc_table_col fmt_on_int = {.title = "x", .key = "x", .kind = LC_TABLE_INT, .fmt = "%.1f"};
    CHECK(lc_table_create(&fmt_on_int, 1, &t, &err) == LC_ERR_INVALID_ARG, "a format on an integer column");
    const lc_table_col nowhere = {.title = "x", .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_TEXT};
    CHECK(lc_table_create(&nowhere, 1, &t, &err) == LC_ERR_INVALID_ARG, "a column in no face");
    const lc_table_col bad_kind = {.title = "x", .kind = (lc_table_kind)99};
    CHECK(lc_table_create(&bad_kind, 1, &t, &err) == LC_ERR_INVALID_ARG, "unknown kind");
    CHECK(lc_table_create(good, 0, &t, &err) == LC_ERR_INVALID_ARG, "no columns");
    CHECK(lc_table_create(good, 257, &t, &err) == LC_ERR_INVALID_ARG, "too many columns");
}

/* Mistakes in adding stick: later adds are ignored, nothing prints. */
static void test_sticky(void) {
    static const lc_table_col two[] = {{.title = "s", .key = "s", .kind = LC_TABLE_STR},
                                       {.title = "i", .key = "i", .kind = LC_TABLE_INT}};
    lc_error err;
    for (int mistake = 0; mistake < 5; mistake++) {
        lc_table *t = NULL;
        CHECK_OK(lc_table_create(two, 2, &t, &err), &err);
        if (!t) return;
        lc_table_row(t);
        lc_table_str(t, "ok");
        lc_table_int(t, 1);
        if (mistake == 0) lc_table_int(t, 2); /* outside a row */
        if (mistake >= 1) lc_table_row(t);
        if (mistake == 1) lc_table_int(t, 2); /* an integer in a string column */
        if (mistake == 2) lc_table_real(t, 2); /* a real in a string column */
        if (mistake == 3) {                   /* a row left short, then another */
            lc_table_str(t, "short");
            lc_table_row(t);
        }
        if (mistake == 4) { /* a short last row, then printing */
            lc_table_str(t, "short");
            char *buf = NULL;
            size_t n = 0;
            FILE *f = open_memstream(&buf, &n);
            CHECK(f && lc_table_print_csv(t, f, &err) == LC_ERR_INVALID_ARG, "csv of a short row refused");
            if (f) fclose(f);
            CHECK(buf && buf[0] == '\0', "nothing printed, got '%s'", buf ? buf : "");
            free(buf);
            CHECK(lc_table_status(t, &err) == LC_OK, "a short last row is not a sticky mistake");
            lc_table_free(t);
            continue;
        }
        lc_table_str(t, "after");
        CHECK(lc_table_status(t, &err) == LC_ERR_INVALID_ARG && err.msg[0], "mistake %d kept", mistake);
        CHECK(lc_table_n_rows(t) == 1, "mistake %d: one complete row, got %lld", mistake,
              (long long)lc_table_n_rows(t));
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        lc_json_writer w;
        if (f) lc_json_init(&w, f, false);
        CHECK(f && lc_table_print_text(t, f, &err) == LC_ERR_INVALID_ARG, "text refused");
        CHECK(f && lc_table_print_header(t, f, &err) == LC_ERR_INVALID_ARG, "header refused");
        CHECK(f && lc_table_write_json(t, &w, &err) == LC_ERR_INVALID_ARG, "json refused");
        if (f) fclose(f);
        CHECK(buf && buf[0] == '\0', "mistake %d: nothing printed, got '%s'", mistake, buf ? buf : "");
        free(buf);
        lc_table_free(t);
    }
    lc_table_free(NULL);
}

/* Widths count UTF-8 code points, not bytes. */
static void test_utf8_width(void) {
    static const lc_table_col two[] = {{.title = "word", .key = "w", .kind = LC_TABLE_STR, .width = 5},
                                       {.title = "n", .key = "n", .kind = LC_TABLE_INT}};
    lc_error err;
    lc_table *t = NULL;
    CHECK_OK(lc_table_create(two, 2, &t, &err), &err);
    if (!t) return;
    lc_table_row(t);
    lc_table_str(t, "h\xc3\xa9\xc3\xa9");
    lc_table_int(t, 1);
    check_face(t, FACE_TEXT, "word  n\nh\xc3\xa9\xc3\xa9   1\n", "utf-8 text");
    lc_table_free(t);
}

/* A record and a table: LC_TABLE_ADD, the fields faces, lc_table_report. */
static void test_report(void) {
    static const lc_table_col info_cols[] = {
        {.title = "model", .key = "model", .kind = LC_TABLE_STR},
        {.title = "threads", .key = "threads", .kind = LC_TABLE_INT},
        {.title = "peak (GFLOP/s)", .key = "peak", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
        {.key = "json_only", .kind = LC_TABLE_BOOL},
    };
    static const lc_table_col row_cols[] = {{.title = "n", .key = "n", .kind = LC_TABLE_INT},
                                            {.title = "x", .key = "x", .kind = LC_TABLE_RATIO}};
    lc_error err;
    lc_table *info = NULL, *rows = NULL;
    CHECK_OK(lc_table_create(info_cols, 4, &info, &err), &err);
    CHECK_OK(lc_table_create(row_cols, 2, &rows, &err), &err);
    if (!info || !rows) goto out;
    LC_TABLE_ADD(info, lc_tv_str("m.gguf"), lc_tv_int(4), lc_tv_real(123.45), lc_tv_int(1));
    LC_TABLE_ADD(rows, lc_tv_int(1), lc_tv_real(2));
    LC_TABLE_ADD(rows, lc_tv_int(2), lc_tv_null());
    CHECK(lc_table_status(info, &err) == LC_OK && lc_table_status(rows, &err) == LC_OK, "%s", err.msg);
    static const struct {
        lc_table_face face;
        bool info, rows;
        const char *want;
    } cases[] = {
        {LC_TABLE_TEXT, true, true,
         "model           m.gguf\nthreads         4\npeak (GFLOP/s)  123.5\nn     x\n1 2.00x\n2     -\n"},
        {LC_TABLE_JSON, true, true,
         "{\n  \"model\": \"m.gguf\",\n  \"threads\": 4,\n  \"peak\": 123.45,\n  \"json_only\": true,\n  \"rows\": [\n"
         "    {\n      \"n\": 1,\n      \"x\": 2\n    },\n    {\n      \"n\": 2,\n      \"x\": null\n    }\n  ]\n}\n"},
        {LC_TABLE_JSON, true, false,
         "{\n  \"model\": \"m.gguf\",\n  \"threads\": 4,\n  \"peak\": 123.45,\n  \"json_only\": true\n}\n"},
        {LC_TABLE_JSON, false, true,
         "[\n  {\n    \"n\": 1,\n    \"x\": 2\n  },\n  {\n    \"n\": 2,\n    \"x\": null\n  }\n]\n"},
        {LC_TABLE_CSV, true, true, "n,x\n1,2\n2,\n"},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f) break;
        const lc_status st =
            lc_table_report(f, cases[i].face, cases[i].info ? info : NULL, "rows", cases[i].rows ? rows : NULL, &err);
        fclose(f);
        CHECK(st == LC_OK && buf && strcmp(buf, cases[i].want) == 0, "report %zu:\n--- got\n%s--- want\n%s", i,
              buf ? buf : "", cases[i].want);
        free(buf);
    }
    /* a record without its row, a row of the wrong length */
    lc_table *empty = NULL;
    CHECK_OK(lc_table_create(info_cols, 4, &empty, &err), &err);
    CHECK(empty && lc_table_report(stdout, LC_TABLE_TEXT, empty, NULL, NULL, &err) == LC_ERR_INVALID_ARG,
          "a record without a row refused");
    lc_table_free(empty);
    LC_TABLE_ADD(rows, lc_tv_int(3));
    CHECK(lc_table_status(rows, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "1 values for 2"), "short row: %s",
          err.msg);
out:
    lc_table_free(info);
    lc_table_free(rows);
}

/* Rows named by a ROW_KEY column: an object of objects, alone or beside a record. */
static void test_row_key(void) {
    static const lc_table_col cols_k[] = {{.title = "layout", .kind = LC_TABLE_STR, .skip = LC_TABLE_ROW_KEY},
                                          {.title = "ns", .key = "ns", .kind = LC_TABLE_REAL, .fmt = "%.1f"}};
    static const lc_table_col info_k[] = {{.title = "isa", .key = "isa", .kind = LC_TABLE_STR}};
    lc_error err;
    lc_table *t = NULL, *info = NULL;
    CHECK_OK(lc_table_create(cols_k, 2, &t, &err), &err);
    CHECK_OK(lc_table_create(info_k, 1, &info, &err), &err);
    if (t && info) {
        LC_TABLE_ADD(t, lc_tv_str("norm"), lc_tv_real(1.5));
        LC_TABLE_ADD(t, lc_tv_str("neox"), lc_tv_real(2));
        LC_TABLE_ADD(info, lc_tv_str("avx2"));
        check_face(t, FACE_JSON, "{\"bench\":\"t\",\"rows\":{\"norm\":{\"ns\":1.5},\"neox\":{\"ns\":2}}}", "keyed");
        check_face(t, FACE_TEXT, "layout  ns\nnorm   1.5\nneox   2.0\n", "keyed text");
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (f) {
            CHECK_OK(lc_table_report(f, LC_TABLE_JSON, info, NULL, t, &err), &err);
            fclose(f);
        }
        const char *want =
            "{\n  \"isa\": \"avx2\",\n  \"norm\": {\n    \"ns\": 1.5\n  },\n  \"neox\": {\n    \"ns\": 2\n  }\n}\n";
        CHECK(buf && strcmp(buf, want) == 0, "keyed beside a record:\n%s", buf ? buf : "");
        free(buf);
    }
    lc_table_free(t);
    lc_table_free(info);
    const lc_table_col two_keys[] = {{.title = "a", .kind = LC_TABLE_STR, .skip = LC_TABLE_ROW_KEY},
                                     {.title = "b", .kind = LC_TABLE_STR, .skip = LC_TABLE_ROW_KEY}};
    CHECK(lc_table_create(two_keys, 2, &t, &err) == LC_ERR_INVALID_ARG, "two row keys refused");
    const lc_table_col int_key = {.title = "a", .kind = LC_TABLE_INT, .skip = LC_TABLE_ROW_KEY};
    CHECK(lc_table_create(&int_key, 1, &t, &err) == LC_ERR_INVALID_ARG, "an integer row key refused");
}

/* Many rows: the cell array grows; every row reads back. */
static void test_many_rows(void) {
    static const lc_table_col one[] = {{.title = "i", .key = "i", .kind = LC_TABLE_INT}};
    lc_error err;
    lc_table *t = NULL;
    CHECK_OK(lc_table_create(one, 1, &t, &err), &err);
    if (!t) return;
    enum { N = 5000 };
    for (int i = 0; i < N; i++) {
        lc_table_row(t);
        lc_table_int(t, (int64_t)i * 1000003);
    }
    CHECK(lc_table_n_rows(t) == N, "%d rows", N);
    lc_status st;
    char *csv = render(t, FACE_CSV, &st, &err);
    bool same = csv && strncmp(csv, "i\n", 2) == 0;
    const char *p = csv ? csv + 2 : NULL;
    for (int i = 0; same && i < N; i++) {
        char *end;
        same = strtoll(p, &end, 10) == (long long)i * 1000003 && *end == '\n';
        p = end + 1;
    }
    CHECK(same && p && *p == '\0', "csv of %d rows reads back", N);
    free(csv);
    lc_table_free(t);
}

int main(void) {
    test_empty();
    test_faces();
    test_bad_columns();
    test_sticky();
    test_many_rows();
    test_utf8_width();
    test_report();
    test_row_key();
    return lc_test_finish("test_table");
}
