/*
 * The SVG line plot and the CSV reader: the SVG is well-formed XML (checked
 * by a small tag matcher here; tests/cli/train_plot.sh also parses it with
 * python's xml.etree), escapes text, breaks lines at NaN, draws lone points,
 * handles log axes and constant series; refusals. CSV: header, comments,
 * CRLF, empty and junk fields as NaN, limits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "longctx/plot.h"
#include "test_util.h"

/* Well-formed: every <tag> closed in order, quotes balanced inside tags. */
static bool xml_well_formed(const char *s, int *n_elems) {
    char stack[64][32];
    int depth = 0;
    *n_elems = 0;
    while ((s = strchr(s, '<')) != NULL) {
        if (s[1] == '?') {
            s = strstr(s, "?>");
            if (!s) return false;
            continue;
        }
        const char *end = s + 1;
        bool in_quote = false;
        while (*end && (in_quote || *end != '>')) {
            if (*end == '"') in_quote = !in_quote;
            if (!in_quote && *end == '<') return false;
            end++;
        }
        if (*end != '>') return false;
        const bool closing = s[1] == '/', self = end[-1] == '/';
        const char *name = s + (closing ? 2 : 1);
        size_t len = strcspn(name, " />\n");
        if (len == 0 || len >= 32) return false;
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], name, len) != 0 || stack[depth - 1][len]) return false;
            depth--;
        } else {
            (*n_elems)++;
            if (!self) {
                if (depth == 64) return false;
                memcpy(stack[depth], name, len);
                stack[depth++][len] = '\0';
            }
        }
        s = end + 1;
    }
    return depth == 0;
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p++) n++;
    return n;
}

static char *render(const lc_plot_opts *o, const lc_plot_series *s, int n, lc_status *st, lc_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *st = lc_plot_svg_lines(f, o, s, n, err);
    fclose(f);
    return buf;
}

static void test_svg(void) {
    double x[6] = {0, 1, 2, 3, 4, 5}, y1[6] = {3.0, 2.5, NAN, 1.2, 1.0, 0.9}, y2[6] = {NAN, NAN, 2.0, NAN, NAN, NAN};
    lc_plot_series s[2] = {{"train <loss>", x, y1, 6}, {"val & \"eval\"", x, y2, 6}};
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    o.title = "a<b & c";
    o.x_label = "step";
    o.y_label = "loss";
    lc_error err;
    lc_status st;
    char *svg = render(&o, s, 2, &st, &err);
    CHECK_OK(st, &err);
    int n = 0;
    CHECK(svg && xml_well_formed(svg, &n) && n > 20, "well-formed SVG (%d elements)", n);
    CHECK(strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""), "standalone SVG");
    CHECK(strstr(svg, "a&lt;b &amp; c") != NULL, "title escaped");
    CHECK(strstr(svg, "train &lt;loss&gt;") && strstr(svg, "val &amp; &quot;eval&quot;"), "legend escaped");
    CHECK(count(svg, "<polyline") == 1, "NaN skipped: one line: %d", count(svg, "<polyline"));
    CHECK(count(svg, "<circle") == 1, "a lone point is a dot");
    free(svg);
    o.gaps = true;
    svg = render(&o, s, 2, &st, &err);
    CHECK(st == LC_OK && svg && count(svg, "<polyline") == 2, "gaps: NaN breaks series 1 into two lines");
    CHECK(svg && xml_well_formed(svg, &n), "gaps plot well-formed");
    free(svg);
    o.gaps = false;

    /* log y drops non-positive values; ticks are powers of ten */
    double ly[4] = {1000.0, 10.0, 0.0, 0.5};
    lc_plot_series sl = {"l", x, ly, 4};
    o.log_y = true;
    svg = render(&o, &sl, 1, &st, &err);
    CHECK_OK(st, &err);
    CHECK(svg && xml_well_formed(svg, &n), "log plot well-formed");
    CHECK(strstr(svg, ">1000<") && strstr(svg, ">0.1<"), "decade ticks");
    free(svg);

    /* a constant series still gets an axis range */
    double cy[3] = {2.0, 2.0, 2.0};
    lc_plot_series sc = {NULL, x, cy, 3};
    o.log_y = false;
    svg = render(&o, &sc, 1, &st, &err);
    CHECK_OK(st, &err);
    CHECK(svg && xml_well_formed(svg, &n) && !strstr(svg, "nan") && !strstr(svg, "inf"), "constant series");
    free(svg);

    /* refusals */
    double ny[2] = {NAN, INFINITY};
    lc_plot_series sn = {"n", x, ny, 2};
    free(render(&o, &sn, 1, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "nothing finite: %s", err.msg);
    free(render(&o, &sn, 0, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "no series");
    o.width = 5;
    free(render(&o, &sc, 1, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "tiny size");
}

static void test_csv(void) {
    const char *text = "# a comment\r\nstep, loss ,lr,val\r\n1,2.5,0.001,\n\n2,junk,0.002,1.5\n# mid\n3,2.0,3e-3,1.25";
    lc_csv *t = NULL;
    lc_error err;
    CHECK_OK(lc_csv_parse(text, strlen(text), &t, &err), &err);
    if (!t) return;
    CHECK(lc_csv_n_cols(t) == 4 && lc_csv_n_rows(t) == 3, "shape %d x %lld", lc_csv_n_cols(t),
          (long long)lc_csv_n_rows(t));
    CHECK(lc_csv_find(t, "loss") == 1 && lc_csv_find(t, "val") == 3 && lc_csv_find(t, "nope") == -1, "names trimmed");
    const double *loss = lc_csv_col(t, 1), *val = lc_csv_col(t, 3), *lr = lc_csv_col(t, 2);
    CHECK(loss[0] == 2.5 && isnan(loss[1]) && loss[2] == 2.0, "junk is NaN");
    CHECK(isnan(val[0]) && val[1] == 1.5 && val[2] == 1.25, "empty is NaN");
    CHECK(lr[2] == 3e-3, "exponent");
    lc_csv_free(t);
    /* short rows read as NaN, no header refused */
    CHECK_OK(lc_csv_parse("a,b\n1\n", 6, &t, &err), &err);
    if (t) CHECK(isnan(lc_csv_col(t, 1)[0]), "missing field is NaN");
    lc_csv_free(t);
    CHECK(lc_csv_parse("# only\n\n", 8, &t, &err) == LC_ERR_FORMAT, "no header");
    char *wide = (char *)malloc(2000);
    for (int i = 0; i < 1000; i++) wide[2 * i] = 'a', wide[2 * i + 1] = ',';
    wide[1999] = '\0';
    CHECK(lc_csv_parse(wide, 1999, &t, &err) == LC_ERR_FORMAT, "too many columns: %s", err.msg);
    free(wide);
    char *lng = (char *)malloc(70000);
    memset(lng, '1', 70000);
    CHECK(lc_csv_parse(lng, 70000, &t, &err) == LC_ERR_FORMAT, "line too long");
    free(lng);
    CHECK(lc_csv_load("/nonexistent/x.csv", &t, &err) == LC_ERR_IO, "missing file");
}

int main(void) {
    test_svg();
    test_csv();
    return lc_test_finish("test_plot_svg");
}
