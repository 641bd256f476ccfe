/*
 * The SVG line plot and the CSV reader: the SVG is well-formed XML (checked
 * by a small tag matcher here; tests/cli/train_plot.sh also parses it with
 * python's xml.etree), escapes text, breaks lines at NaN, draws lone points,
 * handles log axes and constant series; refusals; titles fit the width
 * (shrunk, then wrapped, text kept whole), binary units on log axes (KiB,
 * MiB ..., 1K ... 1M at powers of two). CSV: header, comments,
 * CRLF, empty and junk fields as NaN, limits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/plot.h"
#include "plot/svg_text.h"
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

/* The title lines of an SVG: font size and text of each <text class="title">. */
static int title_lines(const char *svg, double px[8], char text[8][256]) {
    int n = 0;
    for (const char *p = strstr(svg, "class=\"title\""); p && n < 8; p = strstr(p + 1, "class=\"title\"")) {
        const char *fs = strstr(p, "font-size=\""), *gt = strchr(p, '>'), *lt = gt ? strchr(gt, '<') : NULL;
        if (!fs || !gt || !lt || fs > gt) break;
        px[n] = atof(fs + 11);
        snprintf(text[n], 256, "%.*s", (int)(lt - gt - 1), gt + 1);
        n++;
    }
    return n;
}

static void test_titles_and_units(void) {
    lc_error err;
    lc_status st;
    /* the width estimate: Helvetica's advances + 10 %, CJK 1 em */
    CHECK(fabs(lc_svg_text_width("MMMM", 4, 10.0) - 4 * 8.33 * 1.1) < 1e-9, "M: 0.833 em");
    CHECK(fabs(lc_svg_text_width("iiii", 4, 10.0) - 4 * 2.22 * 1.1) < 1e-9, "i: 0.222 em");
    CHECK(fabs(lc_svg_text_width("\xe5\xa4\xa7\xe6\xa8\xa1\xe5\x9e\x8b", 9, 10.0) - 33.0) < 1e-9, "CJK: 1 em");
    CHECK(lc_svg_text_width("ab", 1, 10.0) < lc_svg_text_width("ab", 2, 10.0), "n bytes only");

    double x[3] = {1, 2, 3}, y[3] = {1, 2, 3};
    lc_plot_series s = {"s", x, y, 3};
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    o.width = 400;
    o.title = "short";
    double px[8];
    char text[8][256];
    char *svg = render(&o, &s, 1, &st, &err);
    CHECK_OK(st, &err);
    int n = svg ? title_lines(svg, px, text) : 0;
    CHECK(n == 1 && px[0] == 16 && strcmp(text[0], "short") == 0, "a short title: one line at 16 px");
    free(svg);

    const char *lng = "passkey: fine-tuned model, its own RoPE: yarn s=8 base=10000 dims=16/norm orig_ctx=64 ext=1 "
                      "attn=1 beta=32/1 mscale=1.2079 and a few more words so that it needs three lines";
    o.title = lng;
    svg = render(&o, &s, 1, &st, &err);
    CHECK_OK(st, &err);
    n = svg ? title_lines(svg, px, text) : 0;
    char joined[1024] = "";
    for (int i = 0; i < n; i++) {
        CHECK(px[i] >= 6 && px[i] <= 14, "wrapped line %d at %.0f px", i, px[i]);
        CHECK(lc_svg_text_width(text[i], strlen(text[i]), px[i]) <= 400 - 24, "line %d fits: %s", i, text[i]);
        if (i) strcat(joined, " ");
        strncat(joined, text[i], sizeof joined - strlen(joined) - 1);
    }
    CHECK(n >= 2 && strcmp(joined, lng) == 0, "long title wrapped onto %d lines, text kept whole", n);
    CHECK(svg && xml_well_formed(svg, &n), "wrapped title: well-formed");
    free(svg);

    lc_plot_heatmap h;
    lc_plot_heatmap_init(&h);
    double v[2] = {0.5, 1.0};
    h.values = v;
    h.n_cols = 2;
    h.n_rows = 1;
    h.title = lng;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    st = lc_plot_svg_heatmap(f, &h, &err);
    fclose(f);
    CHECK_OK(st, &err);
    const char *wp = buf ? strstr(buf, "width=\"") : NULL;
    const double W = wp ? atof(wp + 7) : 0;
    n = buf ? title_lines(buf, px, text) : 0;
    CHECK(n >= 2, "heat map title wrapped: %d lines in %.0f px", n, W);
    for (int i = 0; i < n; i++)
        CHECK(lc_svg_text_width(text[i], strlen(text[i]), px[i]) <= W - 24, "heat map line %d fits", i);
    free(buf);

    /* binary units: bytes and token counts at powers of two */
    double bx[4] = {512, 8192, 100000, 1048576}, by[4] = {3e5, 1e8, 2e10, 5e12};
    lc_plot_series sb = {"b", bx, by, 4};
    lc_plot_opts_init(&o);
    o.log_x = o.log_y = true;
    o.x_unit = LC_PLOT_UNIT_COUNT_BIN;
    o.y_unit = LC_PLOT_UNIT_BYTES;
    svg = render(&o, &sb, 1, &st, &err);
    CHECK_OK(st, &err);
    CHECK(svg && strstr(svg, ">1 MiB<") && strstr(svg, ">1 GiB<") && strstr(svg, ">1 TiB<"), "KiB/MiB/GiB ticks");
    CHECK(svg && strstr(svg, ">1K<") && strstr(svg, ">4K<") && strstr(svg, ">1M<"), "1K ... 1M ticks");
    CHECK(svg && !strstr(svg, "e+") && !strstr(svg, ">100<") && !strstr(svg, ">2M<"), "x from 512 to 1M, no 1e+N");
    CHECK(svg && xml_well_formed(svg, &n), "binary axes: well-formed");
    free(svg);
}

static void test_smooth(void) {
    const double in[6] = {1, 3, NAN, 5, 7, 9};
    double out[6];
    lc_plot_smooth(in, out, 6, 3);
    /* trailing 3: 1, (1+3)/2, NaN (its own value is missing), (3+5)/2, (5+7)/2, (5+7+9)/3 */
    const double want[6] = {1, 2, NAN, 4, 6, 7};
    for (int i = 0; i < 6; i++)
        CHECK(isnan(want[i]) ? isnan(out[i]) : fabs(out[i] - want[i]) < 1e-12, "smooth[%d] = %g, want %g", i, out[i],
              want[i]);
    lc_plot_smooth(in, out, 6, 100); /* a window past the rows: all the rows so far */
    CHECK(fabs(out[5] - 5.0) < 1e-12, "all rows: %g", out[5]);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (f) fputs(text, f), fclose(f);
}

static void test_csv_lines(void) {
    char dir[] = "/tmp/test_plot_csv_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char a[64], b[64];
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    write_text(a, "step,loss,val_loss\n1,3.0,\n2,2.5,2.7\n3,2.2,\n");
    write_text(b, "step,loss\n1,3.5\n2,2.9\n");
    const char *files[2] = {a, b}, *labels[2] = {"first", NULL};
    lc_plot_csv_request q = {files, labels, 2, "step", "loss,val_loss", 1};
    lc_plot_csv_lines *p = NULL;
    lc_error err;
    CHECK(lc_plot_csv_lines_load(&q, &p, &err) == LC_ERR_INVALID_ARG && !p && strstr(err.msg, "no column 'val_loss'"),
          "b.csv has no val_loss: %s", err.msg);
    q.y = "loss";
    q.smooth = 2;
    CHECK_OK(lc_plot_csv_lines_load(&q, &p, &err), &err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    if (p) CHECK_OK(lc_plot_csv_lines_svg(f, p, &o, &err), &err);
    fclose(f);
    /* two files, one column: the series are named by label, else by file */
    CHECK(buf && strstr(buf, ">first<") && strstr(buf, "b.csv<") && strstr(buf, "loss vs step"), "%s", buf ? buf : "");
    free(buf);
    lc_plot_csv_lines_free(p);
    q.n_files = 1;
    q.y = "loss,val_loss";
    CHECK_OK(lc_plot_csv_lines_load(&q, &p, &err), &err);
    buf = NULL;
    f = open_memstream(&buf, &len);
    if (p) CHECK_OK(lc_plot_csv_lines_svg(f, p, &o, &err), &err);
    fclose(f);
    CHECK(buf && strstr(buf, ">val_loss<") && !strstr(buf, ">first: loss<"), "one file: named by column");
    free(buf);
    lc_plot_csv_lines_free(p);
    q.x = "time";
    CHECK(lc_plot_csv_lines_load(&q, &p, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "no column 'time'"), "x");
    remove(a), remove(b), remove(dir);
}

int main(void) {
    test_smooth();
    test_csv_lines();
    test_svg();
    test_titles_and_units();
    test_csv();
    return lc_test_finish("test_plot_svg");
}
