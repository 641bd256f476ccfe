/*
 * The evaluation pictures are standalone, well-formed SVG with the structure
 * they promise. A strict XML checker here (one root, properly nested and
 * closed tags, quoted attributes with no duplicates, only the five
 * predefined entities or character references, no raw '<' or '&' in text)
 * reads every kind:
 *
 *  - heat map (src/plot/svg_heatmap.c): one <rect class="cell"> per value, a
 *    label per cell (value x label_scale, "-" for NaN, light grey), column
 *    and row labels, axis titles, legend gradient, escaped text, the colour
 *    scale's ends and middle, clamping; refusals;
 *  - needle heat map and depth curve of a grid, ppl by length per method,
 *    retention by distance per layer (line plots through svg_lines.c).
 * tests/cli/eval.sh parses the CLI's files with python's xml.etree too.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/eval.h"
#include "longctx/plot.h"
#include "test_util.h"

/* ---- A strict well-formedness check ----------------------------------------------- */

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_' || c == ':' || c == '.'; }

/* An entity at s ("&amp;" ...); returns its length or 0. */
static size_t entity(const char *s) {
    static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (strncmp(s, ok[i], strlen(ok[i])) == 0) return strlen(ok[i]);
    if (s[1] == '#') {
        size_t k = 2;
        while (isxdigit((unsigned char)s[k]) || s[k] == 'x') k++;
        if (k > 2 && s[k] == ';') return k + 1;
    }
    return 0;
}

static bool xml_strict(const char *s, int *n_elems, char *why, size_t why_len) {
    char stack[64][32];
    int depth = 0, roots = 0;
    *n_elems = 0;
#define BAD(...) (snprintf(why, why_len, __VA_ARGS__), false)
    if (strncmp(s, "<?xml ", 6) != 0) return BAD("no XML declaration");
    s = strstr(s, "?>") + 2;
    while (*s) {
        if (*s != '<') { /* text */
            if (depth == 0 && !isspace((unsigned char)*s)) return BAD("text outside the root");
            if (*s == '&') {
                const size_t k = entity(s);
                if (!k) return BAD("bad entity at %.12s", s);
                s += k;
                continue;
            }
            if (*s == '>') return BAD("raw > in text");
            s++;
            continue;
        }
        const bool closing = s[1] == '/';
        const char *p = s + (closing ? 2 : 1);
        size_t len = 0;
        while (name_char(p[len])) len++;
        if (len == 0 || len >= 32) return BAD("bad tag name at %.20s", s);
        char name[32];
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        if (closing) {
            while (isspace((unsigned char)*p)) p++;
            if (*p != '>') return BAD("junk in closing tag %s", name);
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) return BAD("</%s> closes nothing open", name);
            depth--;
            s = p + 1;
            continue;
        }
        /* attributes: name="value", no duplicates */
        char attrs[32][32];
        int n_attr = 0;
        for (;;) {
            const bool space = isspace((unsigned char)*p);
            while (isspace((unsigned char)*p)) p++;
            if (*p == '/' || *p == '>') break;
            if (!space) return BAD("attributes of <%s> not separated", name);
            size_t al = 0;
            while (name_char(p[al])) al++;
            if (al == 0 || al >= 32 || p[al] != '=' || p[al + 1] != '"') return BAD("bad attribute in <%s>", name);
            for (int i = 0; i < n_attr; i++)
                if (strncmp(attrs[i], p, al) == 0 && attrs[i][al] == '\0') return BAD("duplicate attribute in <%s>", name);
            if (n_attr < 32) {
                memcpy(attrs[n_attr], p, al);
                attrs[n_attr++][al] = '\0';
            }
            p += al + 2;
            while (*p && *p != '"') {
                if (*p == '<') return BAD("< in an attribute of <%s>", name);
                if (*p == '&') {
                    const size_t k = entity(p);
                    if (!k) return BAD("bad entity in an attribute of <%s>", name);
                    p += k;
                } else {
                    p++;
                }
            }
            if (*p != '"') return BAD("unterminated attribute in <%s>", name);
            p++;
        }
        const bool self = *p == '/';
        if (self && p[1] != '>') return BAD("bad end of <%s>", name);
        (*n_elems)++;
        if (depth == 0) roots++;
        if (roots > 1) return BAD("more than one root");
        if (!self) {
            if (depth == 64) return BAD("too deep");
            snprintf(stack[depth++], 32, "%s", name);
        }
        s = p + (self ? 2 : 1);
    }
    if (depth != 0) return BAD("<%s> never closed", stack[depth - 1]);
    return roots == 1 ? true : BAD("no root");
#undef BAD
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p++) n++;
    return n;
}

/* The texts of elements with class="cls", in order, joined by '|'. */
static void texts_of(const char *svg, const char *cls, char *out, size_t cap) {
    char key[64];
    snprintf(key, sizeof key, "class=\"%s\"", cls);
    out[0] = '\0';
    size_t len = 0;
    for (const char *p = svg; (p = strstr(p, key)) != NULL; p++) {
        const char *gt = strchr(p, '>'), *lt = gt ? strchr(gt, '<') : NULL;
        if (!lt) break;
        len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%.*s", len ? "|" : "", (int)(lt - gt - 1),
                                gt + 1);
    }
}

static void check_svg(const char *svg, const char *what) {
    int n = 0;
    char why[128] = "";
    CHECK(svg && xml_strict(svg, &n, why, sizeof why), "%s: not well-formed: %s", what, why);
    CHECK(svg && strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\"") && strstr(svg, "viewBox=") &&
              !strstr(svg, "<script") && !strstr(svg, "href=\"http"),
          "%s: not a standalone SVG", what);
}

typedef lc_status (*render_fn)(FILE *f, const void *arg, lc_error *err);

static char *render(render_fn fn, const void *arg, lc_status *st, lc_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *st = fn(f, arg, err);
    fclose(f);
    return buf;
}

/* ---- Heat map ---------------------------------------------------------------------------- */

static lc_status draw_heatmap(FILE *f, const void *h, lc_error *err) { return lc_plot_svg_heatmap(f, h, err); }

static void test_heatmap(void) {
    const double v[3 * 4] = {1.0, 0.5, 0.0, 0.25, NAN, 0.98, 0.004, 1.7, -0.2, 0.75, 0.5, 0.0};
    const char *cols[4] = {"1K", "2K", "4K", "8K <&>"};
    const char *rows[3] = {"0%", "50%", "100%"};
    lc_plot_heatmap h;
    lc_plot_heatmap_init(&h);
    h.title = "needle \"test\" & <co>";
    h.x_label = "context length";
    h.y_label = "depth";
    h.legend_label = "accuracy %";
    h.n_cols = 4;
    h.n_rows = 3;
    h.col_labels = cols;
    h.row_labels = rows;
    h.values = v;
    lc_status st;
    lc_error err;
    char *svg = render(draw_heatmap, &h, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "heat map");
    if (!svg) return;
    CHECK(count(svg, "class=\"cell\"") == 12 && count(svg, "class=\"cell-label\"") == 12, "%d cells, %d labels",
          count(svg, "class=\"cell\""), count(svg, "class=\"cell-label\""));
    char t[512];
    texts_of(svg, "cell-label", t, sizeof t);
    CHECK(strcmp(t, "100|50|0|25|-|98|0|170|-20|75|50|0") == 0, "cell labels: %s", t);
    texts_of(svg, "col-label", t, sizeof t);
    CHECK(strcmp(t, "1K|2K|4K|8K &lt;&amp;&gt;") == 0, "column labels: %s", t);
    texts_of(svg, "row-label", t, sizeof t);
    CHECK(strcmp(t, "0%|50%|100%") == 0, "row labels: %s", t);
    texts_of(svg, "title", t, sizeof t);
    CHECK(strcmp(t, "needle &quot;test&quot; &amp; &lt;co&gt;") == 0, "title: %s", t);
    CHECK(strstr(svg, "class=\"x-title\"") && strstr(svg, "class=\"y-title\"") && strstr(svg, "url(#heat-scale)") &&
              strstr(svg, "<linearGradient id=\"heat-scale\""),
          "axis titles and legend");
    /* colours: red at 0, yellow in the middle, green at 1, clamped outside, grey for NaN */
    char c0[8], c5[8], c1[8], cl[8], ch[8];
    lc_plot_heat_color(0.0, 0, 1, c0);
    lc_plot_heat_color(0.5, 0, 1, c5);
    lc_plot_heat_color(1.0, 0, 1, c1);
    lc_plot_heat_color(-3.0, 0, 1, cl);
    lc_plot_heat_color(9.0, 0, 1, ch);
    CHECK(strcmp(c0, "#d73027") == 0 && strcmp(c5, "#fee08b") == 0 && strcmp(c1, "#1a9850") == 0 &&
              strcmp(cl, c0) == 0 && strcmp(ch, c1) == 0,
          "colours %s %s %s %s %s", c0, c5, c1, cl, ch);
    CHECK(count(svg, "fill=\"#1a9850\"") == 2 && count(svg, "fill=\"#dddddd\"") == 1, "green cells %d, grey %d",
          count(svg, "fill=\"#1a9850\""), count(svg, "fill=\"#dddddd\""));
    free(svg);
    /* no labels at all, fixed size */
    h.label_scale = 0;
    h.col_labels = h.row_labels = NULL;
    h.width = 300;
    h.height = 200;
    svg = render(draw_heatmap, &h, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "bare heat map");
    CHECK(svg && count(svg, "class=\"cell-label\"") == 0 && count(svg, "class=\"col-label\"") == 0 &&
              strstr(svg, "width=\"300\" height=\"200\""),
          "bare heat map");
    free(svg);
    /* refusals */
    h.width = h.height = 0;
    h.vmin = h.vmax = 1;
    free(render(draw_heatmap, &h, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "empty scale refused");
    h.vmin = 0;
    h.n_cols = 0;
    free(render(draw_heatmap, &h, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "no columns refused");
    h.n_cols = 4;
    h.width = 50;
    free(render(draw_heatmap, &h, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "50 px refused");
    h.width = 0;
    h.values = NULL;
    free(render(draw_heatmap, &h, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG, "no values refused");
}

/* ---- Eval pictures ------------------------------------------------------------------------ */

static lc_status draw_grid(FILE *f, const void *g, lc_error *err) { return lc_eval_grid_svg(f, g, "grid", err); }
static lc_status draw_depth(FILE *f, const void *g, lc_error *err) { return lc_eval_depth_svg(f, g, "depth", err); }

typedef struct {
    const lc_eval_ppl_result *r;
    int nm, nl;
    const char *const *names;
} ppl_arg;

static lc_status draw_ppl(FILE *f, const void *a, lc_error *err) {
    const ppl_arg *p = a;
    return lc_eval_ppl_svg(f, p->r, p->nm, p->nl, p->names, "ppl", err);
}
static lc_status draw_ret(FILE *f, const void *r, lc_error *err) { return lc_eval_retention_svg(f, r, "ret", err); }

static void test_eval_pictures(void) {
    /* a grid of 3 lengths x 4 depths */
    lc_eval_cell cells[12];
    memset(cells, 0, sizeof cells);
    const int64_t lens[3] = {1024, 1536, 4096};
    for (int l = 0; l < 3; l++)
        for (int d = 0; d < 4; d++) {
            lc_eval_cell *c = &cells[l * 4 + d];
            c->length = lens[l];
            c->depth = d / 3.0;
            c->trials = 2;
            c->accuracy = d < 2 ? 1.0 : 0.5 * l / 2.0;
        }
    lc_eval_grid g;
    memset(&g, 0, sizeof g);
    g.kind = LC_TASK_PASSKEY;
    g.n_lengths = 3;
    g.n_depths = 4;
    g.cells = cells;
    lc_status st;
    lc_error err;
    char *svg = render(draw_grid, &g, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "needle heat map");
    char t[512];
    if (svg) {
        texts_of(svg, "col-label", t, sizeof t);
        CHECK(strcmp(t, "1K|1.5K|4K") == 0, "lengths: %s", t);
        texts_of(svg, "row-label", t, sizeof t);
        CHECK(strcmp(t, "0%|33.33%|66.67%|100%") == 0, "depths: %s", t);
        texts_of(svg, "cell-label", t, sizeof t); /* rows are depths, columns lengths */
        CHECK(strcmp(t, "100|100|100|100|100|100|0|25|50|0|25|50") == 0, "cells: %s", t);
    }
    free(svg);
    svg = render(draw_depth, &g, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "depth curve");
    CHECK(svg && count(svg, "<polyline") == 4 && strstr(svg, ">mean<") && strstr(svg, ">1.5K tokens<"),
          "depth curve: a line per length and the mean");
    free(svg);
    /* random depths: no heat map */
    cells[0].depth = NAN;
    free(render(draw_grid, &g, &st, &err));
    CHECK(st == LC_ERR_INVALID_ARG && strstr(err.msg, "depth"), "heat map of random depths: %s", err.msg);

    /* ppl: 2 methods x 3 lengths */
    lc_eval_ppl_result r[6];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 6; i++) r[i].window = 256 << (i % 3), r[i].ppl = 20.0 - i;
    const char *names[2] = {"flash (rope none)", "window:256 (rope yarn x4)"};
    ppl_arg pa = {r, 2, 3, names};
    svg = render(draw_ppl, &pa, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "ppl plot");
    CHECK(svg && count(svg, "<polyline") == 2 && strstr(svg, ">window:256 (rope yarn x4)<"), "ppl: 2 lines");
    free(svg);

    /* retention: 3 layers */
    double mass[3 * 2 * LC_EVAL_MAX_BUCKETS], needle[6] = {0};
    memset(mass, 0, sizeof mass);
    for (int i = 0; i < 6; i++)
        for (int b = 0; b < 5; b++) mass[i * LC_EVAL_MAX_BUCKETS + b] = 0.2;
    lc_eval_retention ret;
    memset(&ret, 0, sizeof ret);
    ret.n_layers = 3;
    ret.n_heads = 2;
    ret.n_buckets = 5;
    ret.mass = mass;
    ret.needle_mass = needle;
    svg = render(draw_ret, &ret, &st, &err);
    CHECK_OK(st, &err);
    check_svg(svg, "retention plot");
    CHECK(svg && count(svg, "<polyline") == 3 && strstr(svg, ">layer 2<"), "retention: a line per layer");
    free(svg);
}

/* The checker itself must be able to say no. */
static void test_checker(void) {
    const char *bad[] = {
        "<svg></svg>",                                               /* no declaration */
        "<?xml version=\"1.0\"?><svg><g></svg>",                     /* unclosed g */
        "<?xml version=\"1.0\"?><svg a=\"1\" a=\"2\"/>",             /* duplicate attribute */
        "<?xml version=\"1.0\"?><svg>a & b</svg>",                   /* raw & */
        "<?xml version=\"1.0\"?><svg x=1/>",                         /* unquoted */
        "<?xml version=\"1.0\"?><svg/><svg/>",                       /* two roots */
        "<?xml version=\"1.0\"?><svg><text>&nbsp;</text></svg>",     /* undefined entity */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n;
        char why[128];
        CHECK(!xml_strict(bad[i], &n, why, sizeof why), "accepted: %s", bad[i]);
    }
    int n;
    char why[128];
    CHECK(xml_strict("<?xml version=\"1.0\"?>\n<svg a=\"&amp;&#x41;\"><g><text>x &lt; y</text></g><rect/></svg>\n", &n,
                     why, sizeof why) &&
              n == 4,
          "a good document: %s", why);
}

int main(void) {
    test_checker();
    test_heatmap();
    test_eval_pictures();
    return lc_test_finish("test_eval_plot");
}
