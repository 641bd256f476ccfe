/*
 * The report's own logic: number formatting, the attention-memory model
 * (checked against the runtime's own sizes and the methods' workspace
 * functions), the budget bisection (against a linear scan), the document's
 * Markdown/HTML rendering (escaping, inline marks, tables, figures), and a
 * report whose models are missing (skipped sections with a message, not a
 * failure).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/report.h"
#include "longctx/runtime.h"
#include "longctx/tasks.h"
#include "report/doc.h"
#include "test_util.h"

static void check_str(const char *got, const char *want, const char *what) {
    CHECK(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", what, got, want);
}

static void test_format(void) {
    char b[64];
    const struct {
        double v;
        const char *want;
    } bytes[] = {{0, "0 B"},          {512, "512 B"},
                 {1023, "1023 B"},    {1024, "1 KiB"},
                 {1536, "1.5 KiB"},   {386.2 * 1024, "386 KiB"},
                 {8 << 20, "8 MiB"},  {2e10, "18.6 GiB"},
                 {2e12, "1.82 TiB"},  {2.0 * (1ull << 40), "2 TiB"},
                 {1023.9 * 1024, "1 MiB"}, {9.996 * 1024, "10 KiB"},
                 {-1, "-"},           {NAN, "-"},
                 {INFINITY, "-"}};
    for (size_t i = 0; i < LC_ARRAY_LEN(bytes); i++)
        check_str(lc_report_fmt_bytes(bytes[i].v, b, sizeof b), bytes[i].want, "bytes");

    const struct {
        int64_t n;
        const char *want;
    } toks[] = {{0, "0"},           {512, "512"},         {1024, "1K"},         {2048, "2K"},
                {1536, "1,536"},    {100000, "100,000"},  {1048576, "1M"},      {3 << 20, "3M"},
                {1000000, "1,000,000"}, {-5, "-"},         {1234567890123LL, "1,234,567,890,123"}};
    for (size_t i = 0; i < LC_ARRAY_LEN(toks); i++)
        check_str(lc_report_fmt_tokens(toks[i].n, b, sizeof b), toks[i].want, "tokens");

    const struct {
        double v;
        const char *want;
    } nums[] = {{0, "0"},         {0.1234, "0.123"}, {1, "1.00"},       {12.34, "12.3"},      {99.96, "100"},
                {456.4, "456"},   {999.4, "999"},    {999.6, "1,000"},  {1234.4, "1,234"},    {98765, "98,765"},
                {-12.34, "-12.3"}, {NAN, "-"}};
    for (size_t i = 0; i < LC_ARRAY_LEN(nums); i++)
        check_str(lc_report_fmt_num(nums[i].v, b, sizeof b), nums[i].want, "num");

    const struct {
        double v;
        const char *want;
    } secs[] = {{0.00085, "850 us"}, {0.0123, "12.3 ms"}, {0.85, "850 ms"}, {4.56, "4.56 s"},
                {59.9, "59.9 s"},    {125, "2m05s"},     {7260, "2h01m"},   {-1, "-"}};
    for (size_t i = 0; i < LC_ARRAY_LEN(secs); i++)
        check_str(lc_report_fmt_seconds(secs[i].v, b, sizeof b), secs[i].want, "seconds");

    check_str(lc_report_fmt_pct(0.95, b, sizeof b), "95%", "pct");
    check_str(lc_report_fmt_pct(0.125, b, sizeof b), "12.5%", "pct");
    check_str(lc_report_fmt_pct(1.0, b, sizeof b), "100%", "pct");
    check_str(lc_report_fmt_pct(0.0, b, sizeof b), "0%", "pct");
    check_str(lc_report_fmt_pct(NAN, b, sizeof b), "-", "pct");
    /* truncation stays NUL-terminated */
    char small[4];
    lc_report_fmt_tokens(1234567, small, sizeof small);
    CHECK(strlen(small) == 3, "truncated to %zu", strlen(small));
}

static void small_config(lc_model_config *c, int layers, int heads, int kv_heads, int head_dim, int64_t ctx) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->dim = heads * head_dim;
    c->hidden_dim = 2 * c->dim;
    c->n_layers = layers;
    c->n_heads = heads;
    c->n_kv_heads = kv_heads;
    c->head_dim = head_dim;
    c->vocab_size = 64;
    c->ctx_train = ctx;
    c->norm_eps = 1e-5f;
    c->tied_output = true;
    lc_rope_config_init(&c->rope, head_dim);
    c->rope.orig_ctx = ctx;
}

/* The model of attention memory agrees with the runtime's own sizing. */
static void test_attn_memory_vs_runtime(void) {
    lc_model_config c;
    small_config(&c, 3, 4, 2, 32, 256);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 7, &m, &err), &err);
    if (!m) return;
    const int64_t ns[] = {1, 33, 257, 1000, 4099};
    for (size_t i = 0; i < LC_ARRAY_LEN(ns); i++) {
        const int64_t n = ns[i];
        /* full (flash, chunked), a sinks ring, a window ring, q8_0/f32 types */
        for (int variant = 0; variant < 5; variant++) {
            lc_context_opts o;
            lc_context_opts_init(&o);
            o.n_ctx = n;
            o.n_threads = 2;
            o.n_batch = 64;
            if (variant == 1) o.attn = "chunked:128:16";
            if (variant == 2) CHECK_OK(lc_kv_policy_parse("sinks:4:100", &o, &err), &err);
            if (variant == 3) CHECK_OK(lc_kv_policy_parse("window:77", &o, &err), &err);
            if (variant == 4) o.k_type = LC_DTYPE_Q8_0, o.v_type = LC_DTYPE_F32;
            lc_context_memory need;
            lc_report_attn_mem am;
            CHECK_OK(lc_context_memory_need(m, &o, &need, &err), &err);
            CHECK_OK(lc_report_attn_memory(&c, &o, n, &am, &err), &err);
            /* the runtime allocates its slots for n_ctx (rings: their own size) */
            const int64_t slots = variant == 2 || variant == 3 ? need.n_ctx : n;
            CHECK(am.n_slots == (slots < n ? slots : n), "n %lld variant %d: slots %lld vs runtime %lld", (long long)n,
                  variant, (long long)am.n_slots, (long long)need.n_ctx);
            if (slots <= n)
                CHECK(am.kv_bytes == need.kv_bytes, "n %lld variant %d: kv %zu vs runtime %zu", (long long)n, variant,
                      am.kv_bytes, need.kv_bytes);
            CHECK(am.workspace_bytes <= need.workspace_bytes, "n %lld variant %d: attention scratch %zu > runtime's %zu",
                  (long long)n, variant, am.workspace_bytes, need.workspace_bytes);
            CHECK(am.total_bytes == am.kv_bytes + am.workspace_bytes, "total");
        }
    }
    /* full flash: exactly K/V per token x n + the larger of a chunk's and a decode step's workspace */
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_threads = 2;
    o.n_batch = 64;
    lc_report_attn_mem am;
    CHECK_OK(lc_report_attn_memory(&c, &o, 1000, &am, &err), &err);
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_head = 4, s.n_head_kv = 2, s.head_dim = 32, s.k_type = s.v_type = LC_DTYPE_F16, s.causal = true;
    s.n_kv = 1000;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    p.n_threads = 2;
    size_t w1 = 0, w2 = 0;
    s.n_q = 64, s.q_pos0 = 1000 - 64;
    CHECK_OK(lc_attn_workspace(&s, &p, &w1, &err), &err);
    s.n_q = 1, s.q_pos0 = 999;
    CHECK_OK(lc_attn_workspace(&s, &p, &w2, &err), &err);
    CHECK(am.kv_bytes == (size_t)1000 * (3 * 2 * 2 * 32 * 2 + 12), "kv %zu", am.kv_bytes);
    CHECK(am.workspace_bytes == LC_MAX(w1, w2), "ws %zu vs %zu/%zu", am.workspace_bytes, w1, w2);
    lc_model_free(m);

    /* LINEAR: the states, constant in n, as the runtime counts them */
    snprintf(c.attention, sizeof c.attention, "linear:elu");
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 7, &m, &err), &err);
    if (!m) return;
    lc_context_opts_init(&o);
    o.n_ctx = 500;
    lc_context_memory need;
    CHECK_OK(lc_context_memory_need(m, &o, &need, &err), &err);
    lc_report_attn_mem a1, a2;
    CHECK_OK(lc_report_attn_memory(&c, &o, 500, &a1, &err), &err);
    CHECK_OK(lc_report_attn_memory(&c, &o, 5000000, &a2, &err), &err);
    CHECK(a1.kv_bytes == need.kv_bytes && a1.kv_bytes > 0, "linear states %zu vs runtime %zu", a1.kv_bytes, need.kv_bytes);
    CHECK(a1.total_bytes == a2.total_bytes, "linear memory grows with n: %zu -> %zu", a1.total_bytes, a2.total_bytes);
    lc_model_free(m);

    /* refusals */
    CHECK(lc_report_attn_memory(&c, &o, 0, &a1, &err) == LC_ERR_INVALID_ARG, "n = 0 refused");
    c.n_kv_heads = 3;
    CHECK(lc_report_attn_memory(&c, &o, 10, &a1, &err) == LC_ERR_INVALID_ARG, "3 KV heads for 4 refused");
    o.attn = "nonsense";
    c.n_kv_heads = 2;
    CHECK(lc_report_attn_memory(&c, &o, 10, &a1, &err) == LC_ERR_INVALID_ARG, "bad spec refused");
}

/* The bisection finds the same context as a linear scan. */
static void test_max_context(void) {
    lc_model_config c;
    small_config(&c, 2, 2, 1, 16, 128);
    lc_error err;
    lc_rng rng;
    lc_rng_seed(&rng, 42);
    const char *specs[] = {"flash", "chunked:64:8", "naive"};
    const int scan_max = lc_test_quick() ? 600 : 3000;
    for (size_t si = 0; si < LC_ARRAY_LEN(specs); si++)
        for (int trial = 0; trial < 4; trial++) {
            lc_context_opts o;
            lc_context_opts_init(&o);
            o.n_threads = 1;
            o.n_batch = 32;
            o.attn = specs[si];
            lc_report_attn_mem am;
            CHECK_OK(lc_report_attn_memory(&c, &o, scan_max, &am, &err), &err);
            const size_t budget = (size_t)(lc_rng_uniform(&rng) * (double)am.total_bytes);
            int64_t n_max = -1;
            CHECK_OK(lc_report_max_context(&c, &o, budget, scan_max, &n_max, &err), &err);
            int64_t want = 0;
            for (int64_t n = 1; n <= scan_max; n++) {
                lc_status st = lc_report_attn_memory(&c, &o, n, &am, NULL);
                if (st == LC_OK && am.total_bytes <= budget) want = n;
                else break;
            }
            CHECK(n_max == want, "%s, budget %zu: bisection %lld, scan %lld", specs[si], budget, (long long)n_max,
                  (long long)want);
        }
    /* constant memory: the limit; nothing fits in 0 bytes */
    lc_context_opts o;
    lc_context_opts_init(&o);
    CHECK_OK(lc_kv_policy_parse("sinks:4:60", &o, &err), &err);
    int64_t n_max = 0;
    CHECK_OK(lc_report_max_context(&c, &o, (size_t)1 << 30, (int64_t)1 << 40, &n_max, &err), &err);
    CHECK(n_max == (int64_t)1 << 40, "a ring cache is unbounded: %lld", (long long)n_max);
    lc_context_opts_init(&o);
    CHECK_OK(lc_report_max_context(&c, &o, 0, 1000, &n_max, &err), &err);
    CHECK(n_max == 0, "nothing fits in 0 bytes: %lld", (long long)n_max);
    CHECK(lc_report_max_context(&c, &o, 100, 0, &n_max, &err) == LC_ERR_INVALID_ARG, "limit 0 refused");
}

static void test_memory_row(void) {
    lc_model_config c;
    small_config(&c, 32, 32, 8, 128, 4096);
    lc_report_mem_row row;
    lc_error err;
    CHECK_OK(lc_report_memory_row(&c, LC_DTYPE_F16, 2048, 4096, 512, 2, &row, &err), &err);
    CHECK(row.article_bytes == 2048.0 * 2048 * 2, "article %g", row.article_bytes);
    CHECK(row.naive_layer_bytes == 32.0 * 2048 * 2048 * 2, "naive layer %g", row.naive_layer_bytes);
    CHECK(row.naive_train_bytes == 32.0 * row.naive_layer_bytes, "naive train %g", row.naive_train_bytes);
    CHECK(row.kv_cache_bytes == 32.0 * 2 * 2048 * 8 * 128 * 2, "kv %g", row.kv_cache_bytes);
    CHECK(row.window_kv_bytes == row.kv_cache_bytes, "window kv below the window: %g", row.window_kv_bytes);
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = s.n_kv = 2048, s.n_head = 32, s.n_head_kv = 8, s.head_dim = 128;
    s.k_type = s.v_type = LC_DTYPE_F16, s.causal = true;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    p.n_threads = 2;
    size_t ws = 0;
    CHECK_OK(lc_attn_workspace(&s, &p, &ws, &err), &err);
    CHECK(row.flash_ws == (double)ws, "flash ws %g vs %zu", row.flash_ws, ws);
    /* exact causal attention: QK^T and PV, 2d FLOPs a (query, key) pair each, n(n+1)/2 pairs a head */
    const double pairs = 2048.0 * 2049.0 / 2.0, exact = 32.0 * 32.0 * pairs * 4.0 * 128.0;
    CHECK(fabs(row.flops_full - exact) <= 0.02 * exact, "flops full %g vs %g", row.flops_full, exact);
    CHECK(row.flops_window <= row.flops_full * 1.001 && row.flops_linear > 0 && row.flops_linear < row.flops_full,
          "window %g, linear %g", row.flops_window, row.flops_linear);
    CHECK_OK(lc_report_memory_row(&c, LC_DTYPE_F16, 1 << 20, 4096, 512, 2, &row, &err), &err);
    CHECK(row.window_kv_bytes == 32.0 * 2 * 4100 * 8 * 128 * 2, "window kv capped: %g", row.window_kv_bytes);
    /* past the window: about n x (W + 4 sinks) pairs a head instead of n^2 / 2 */
    const double wpairs = (double)(1 << 20) * 4100.0, wexact = 32.0 * 32.0 * wpairs * 4.0 * 128.0;
    CHECK(fabs(row.flops_window - wexact) <= 0.02 * wexact, "flops window %g vs %g", row.flops_window, wexact);
    CHECK(row.linear_state_bytes > 0 && row.linear_state_bytes < row.kv_cache_bytes, "linear state %g",
          row.linear_state_bytes);
    CHECK(lc_report_memory_row(&c, LC_DTYPE_Q8_0, 10, 4096, 512, 2, &row, &err) == LC_ERR_INVALID_ARG, "q8_0 refused");
}

/* Rendering: escaping, inline marks, tables, figures. */
static char *render(const rdoc *d, bool html) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    bool ok = html ? rdoc_write_html(d, f, "t<itle>") : rdoc_write_markdown(d, f);
    fclose(f);
    CHECK(ok, "render %s", html ? "html" : "markdown");
    return buf;
}

static void test_doc(void) {
    rdoc *d = rdoc_new();
    CHECK(d != NULL, "rdoc_new");
    if (!d) return;
    rdoc_heading(d, 2, "sec", "Section <%d>", 1);
    rdoc_para(d, "a `code & <x>` and **bold** and a lone ` and * and <tag>");
    rdoc_item(d, "one");
    rdoc_item(d, "two");
    rdoc_note(d, "careful");
    rdoc_pre(d, "cmd --flag <x>");
    rdoc_heading(d, 3, NULL, "2. Where it's wrong: per-head_unit!");
    rdoc_para(d, "see [the unit](#2-where-its-wrong-per-head_unit) and [not this](http://x.y) [or](#a b)");
    rtable *t = rdoc_table(d, 3, "lrc", "Cap|tion");
    const char *h[3] = {"h1", "h|2", "h3"};
    rtable_header(t, h);
    for (int i = 0; i < 5; i++) rtable_cell(t, "c%d|x", i); /* a short last row */
    const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>\n";
    rdoc_figure(d, "fig-a.svg", svg, strlen(svg), "the <figure>");
    CHECK(!rdoc_failed(d), "document built");
    CHECK(rdoc_n_figures(d) == 1, "one figure");
    const char *file, *s;
    size_t len;
    rdoc_figure_get(d, 0, &file, &s, &len);
    CHECK(file && strcmp(file, "fig-a.svg") == 0 && len == strlen(svg) && memcmp(s, svg, len) == 0, "figure kept");

    char *md = render(d, false);
    char *html = render(d, true);
    CHECK(md && html, "rendered");
    if (md && html) {
        CHECK(strstr(md, "## Section <1>\n") != NULL, "md heading:\n%s", md);
        CHECK(strstr(md, "| h1 | h\\|2 | h3 |\n|---|---:|:---:|\n") != NULL, "md table header:\n%s", md);
        CHECK(strstr(md, "| c0\\|x | c1\\|x | c2\\|x |\n| c3\\|x | c4\\|x |\n") != NULL, "md rows:\n%s", md);
        CHECK(strstr(md, "- one\n- two\n\n") != NULL, "md list");
        CHECK(strstr(md, "![the <figure>](fig-a.svg)") != NULL, "md figure");
        CHECK(strstr(md, "> careful") != NULL, "md note");
        CHECK(strstr(html, "<title>t&lt;itle&gt;</title>") != NULL, "html title escaped");
        CHECK(strstr(html, "<h2 id=\"sec\">Section &lt;1&gt;</h2>") != NULL, "html heading");
        CHECK(strstr(html, "<code>code &amp; &lt;x&gt;</code>") != NULL, "html code:\n%s", html);
        CHECK(strstr(html, "<strong>bold</strong>") != NULL, "html bold");
        CHECK(strstr(html, "a lone ` and * and &lt;tag&gt;") != NULL, "html unmatched marks kept");
        CHECK(strstr(html, "<ul>\n<li>one</li>\n<li>two</li>\n</ul>") != NULL, "html list");
        CHECK(strstr(html, "<th class=\"r\">h|2</th>") != NULL, "html header cell");
        CHECK(strstr(html, "<td class=\"l\">c3|x</td><td class=\"r\">c4|x</td></tr>") != NULL, "html short row");
        CHECK(strstr(html, "<?xml") == NULL, "the XML declaration is dropped inline");
        CHECK(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>") != NULL, "svg inline");
        CHECK(strstr(html, "<pre>cmd --flag &lt;x&gt;</pre>") != NULL, "html pre");
        CHECK(strstr(html, "<h3 id=\"2-where-its-wrong-per-head_unit\">") != NULL, "slug id:\n%s", html);
        CHECK(strstr(html, "see <a href=\"#2-where-its-wrong-per-head_unit\">the unit</a> and [not this](http://x.y) "
                           "[or](#a b)") != NULL,
              "internal links only:\n%s", html);
        CHECK(strstr(md, "see [the unit](#2-where-its-wrong-per-head_unit)") != NULL, "md link kept");
        CHECK(strstr(html, "<script") == NULL && strstr(html, "src=") == NULL, "no script, no src");
    }
    free(md);
    free(html);
    char slug[64];
    check_str(rdoc_slug("1. Attention memory: per-context_length!", slug, sizeof slug),
              "1-attention-memory-per-context_length", "slug");
    check_str(rdoc_slug("ABC", slug, 3), "ab", "slug truncated");
    CHECK(rdoc_table(d, 0, NULL, NULL) == NULL && rdoc_failed(d), "a table of 0 columns fails the document");
    rtable_cell(NULL, "ignored");
    rdoc_free(d);
}

/* Without models: the sections that need them are skipped, with the path. */
static void test_missing_models(void) {
    lc_report_config c;
    lc_report_config_init(&c);
    c.models_dir = "/nonexistent-longctx-models";
    c.quick = true;
    c.time_budget = 0.5; /* nothing but the analytic tables gets time */
    c.n_threads = 1;
    lc_report *r = NULL;
    lc_error err;
    CHECK_OK(lc_report_run(&c, &r, &err), &err);
    if (!r) return;
    char why[512];
    CHECK(lc_report_section_state(r, LC_REPORT_EXTRAPOLATION, NULL, why, sizeof why) == LC_REPORT_SKIPPED,
          "extrapolation skipped");
    CHECK(strstr(why, "/nonexistent-longctx-models/longctx-default.gguf not found") != NULL, "why: %s", why);
    CHECK(lc_report_section_state(r, LC_REPORT_PPL_RETENTION, NULL, why, sizeof why) == LC_REPORT_SKIPPED,
          "ppl skipped");
    CHECK(lc_report_section_state(r, LC_REPORT_MEMORY, NULL, why, sizeof why) != LC_REPORT_SKIPPED,
          "memory is never skipped (its analytic tables need no model)");
    char dir[] = "/tmp/lc_test_report_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char sub[64];
    snprintf(sub, sizeof sub, "%s/out", dir);
    CHECK_OK(lc_report_write(r, sub, &err), &err);
    const char *files[] = {"index.html", "report.md", "report.json", "fig-memory.svg"};
    for (size_t i = 0; i < LC_ARRAY_LEN(files); i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", sub, files[i]);
        struct stat sb;
        CHECK(stat(p, &sb) == 0 && sb.st_size > 0, "%s written", p);
        unlink(p);
    }
    /* a file where the directory should be is refused */
    char clash[96];
    snprintf(clash, sizeof clash, "%s/file", dir);
    FILE *f = fopen(clash, "w");
    if (f) fclose(f);
    CHECK(lc_report_write(r, clash, &err) == LC_ERR_IO, "writing into a file refused");
    unlink(clash);
    /* remove what remains (figures of skipped sections are not written) */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
    /* the summary: one line for the files, one a section with its state */
    char *sum = NULL;
    size_t sum_len = 0;
    FILE *sf = open_memstream(&sum, &sum_len);
    lc_report_print_summary(sf, r, "out");
    fclose(sf);
    CHECK(strncmp(sum, "report written to out/index.html, out/report.md (+ figures), out/report.json in ", 80) == 0,
          "%s", sum);
    int lines = 0;
    for (const char *q = sum; *q; q++) lines += *q == '\n';
    CHECK(lines == 1 + LC_REPORT_SECTION_COUNT, "%d lines: %s", lines, sum);
    char want[96];
    snprintf(want, sizeof want, "  %-14s skipped ", lc_report_section_key(LC_REPORT_EXTRAPOLATION));
    CHECK(strstr(sum, want) && strstr(sum, "longctx-default.gguf not found"), "%s", sum);
    free(sum);
    lc_report_free(r);
    lc_report_free(NULL);
    CHECK(lc_report_run(NULL, &r, &err) == LC_ERR_INVALID_ARG, "NULL config refused");
}

/* Models that are there but unusable: a training context too short for a
 * passkey sample, no tokenizer. Each is named, and the run goes on. */
static void test_unusable_models(void) {
    char dir[] = "/tmp/lc_test_report_models_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    lc_model_config c;
    small_config(&c, 1, 2, 2, 16, 16);
    c.vocab_size = LC_TASKS_VOCAB_SIZE;
    lc_model *m = NULL;
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &m, &err), &err);
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (!m || !tok) return;
    char p1[128], p2[128];
    snprintf(p1, sizeof p1, "%s/%s", dir, LC_REPORT_MODEL_DEFAULT);
    snprintf(p2, sizeof p2, "%s/%s", dir, LC_REPORT_MODEL_LINEAR);
    CHECK_OK(lc_model_write_gguf(p1, &m->cfg, &m->w, tok, LC_DTYPE_F32, &err), &err);
    CHECK_OK(lc_model_write_gguf(p2, &m->cfg, &m->w, NULL, LC_DTYPE_F32, &err), &err);
    lc_model_free(m);
    lc_tokenizer_free(tok);

    lc_report_config rc;
    lc_report_config_init(&rc);
    rc.models_dir = dir;
    rc.quick = true;
    rc.time_budget = 0.5;
    rc.n_threads = 1;
    lc_report *r = NULL;
    CHECK_OK(lc_report_run(&rc, &r, &err), &err);
    if (r) {
        char why[512];
        CHECK(lc_report_section_state(r, LC_REPORT_EXTRAPOLATION, NULL, why, sizeof why) == LC_REPORT_SKIPPED,
              "extrapolation skipped");
        CHECK(strstr(why, "trained at 16 tokens") != NULL, "why: %s", why);
        lc_json_writer w;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            lc_json_init(&w, f, false);
            lc_report_write_json(r, &w);
            lc_json_finish(&w);
            fclose(f);
            CHECK(buf && strstr(buf, "carries no tokenizer") != NULL, "the linear model's reason is in the JSON");
            free(buf);
        }
        lc_report_free(r);
    }
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

/* "RELEASE" outside a checkout, "RELEASE (git DESCRIBE)" inside one. */
static void test_git_version(void) {
    char v[192];
    CHECK(lc_report_git_version("9.8.7", v, sizeof v) == v, "returns buf");
    const size_t n = strlen(v);
    CHECK(strcmp(v, "9.8.7") == 0 || (strncmp(v, "9.8.7 (git ", 11) == 0 && n > 12 && v[n - 1] == ')'), "%s", v);
    char small[8];
    lc_report_git_version("9.8.7", small, sizeof small);
    CHECK(strlen(small) < sizeof small && strncmp(small, "9.8.7", 5) == 0, "cut to the buffer: %s", small);
}

/* What a table prints in a face, as a string (the caller frees it). */
static char *table_face(const lc_table *info, const lc_table *rows, lc_table_face face) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lc_error err;
    CHECK_OK(lc_table_report(f, face, info, NULL, rows, &err), &err);
    fclose(f);
    return buf;
}

/* analyze's tables: the cost model's numbers exactly, the measurements, a family. */
static void test_analyze_tables(void) {
    lc_model_config c;
    small_config(&c, 2, 4, 2, 32, 4096);
    const int64_t ns[2] = {1024, 4096};
    lc_table *t = NULL;
    lc_error err;
    CHECK_OK(lc_report_cost_table(&c, LC_DTYPE_F16, ns, 2, 128, 64, 1, NULL, NULL, &t, &err), &err);
    if (!t) return;
    CHECK(lc_table_n_rows(t) == 2, "rows %lld", (long long)lc_table_n_rows(t));
    char *csv = table_face(NULL, t, LC_TABLE_CSV);
    const char *head = "n,layers,heads,kv_heads,head_dim,dtype,article_matrix_bytes,naive_layer_bytes,";
    CHECK(csv && strncmp(csv, head, strlen(head)) == 0 &&
              strstr(csv, ",flops_full,flops_window,flops_linear\n") && !strstr(csv, "naive_seconds"),
          "%s", csv);
    lc_report_mem_row m;
    CHECK_OK(lc_report_memory_row(&c, LC_DTYPE_F16, 4096, 128, 64, 1, &m, &err), &err);
    char want[256];
    /* 4096^2 x 2 bytes; x 4 heads; x 2 layers; KV 2 x 2 x 4096 x 2 x 32 x 2 */
    snprintf(want, sizeof want, "\n4096,2,4,2,32,f16,33554432,134217728,268435456,%.0f,", m.flash_ws);
    CHECK(csv && strstr(csv, want) && strstr(csv, ",2097152,"), "want %s in %s", want, csv);
    free(csv);
    char *text = table_face(NULL, t, LC_TABLE_TEXT);
    CHECK(text && strstr(text, "context") && strstr(text, "32.0 MiB") && !strstr(text, "kv_heads"), "%s", text);
    free(text);
    lc_table_free(t);

    lc_report_measure naive[2], flash[2];
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = s.n_kv = 64, s.n_head = 2, s.n_head_kv = 2, s.head_dim = 16;
    s.k_type = s.v_type = LC_DTYPE_F32, s.causal = true;
    lc_report_measure_attn(&s, LC_ATTN_FLASH, 1, 1e9, 10, &flash[0]);
    CHECK(!flash[0].why[0] && flash[0].seconds > 0, "measured: %s", flash[0].why);
    lc_report_measure_attn(&s, LC_ATTN_NAIVE, 1, 1.0, 1e-3, &naive[0]); /* 1 FLOP/s: far past the budget */
    CHECK(strncmp(naive[0].why, "skipped (est. ", 14) == 0 && naive[0].seconds == 0, "why: %s", naive[0].why);
    naive[1] = naive[0], flash[1] = flash[0];
    lc_report_measure both_n[2], both_f[2];
    lc_model_config one = c;
    one.n_heads = one.n_kv_heads = 2, one.head_dim = 16;
    const int64_t tiny[2] = {32, (int64_t)1 << 40};
    lc_report_measure_lengths(&one, LC_DTYPE_F32, tiny, 2, 1, 10, both_n, both_f);
    CHECK(!both_n[0].why[0] && both_n[0].seconds > 0 && !both_f[0].why[0] && both_f[0].seconds > 0,
          "lengths: 32 measured (%s, %s)", both_n[0].why, both_f[0].why);
    CHECK(!strncmp(both_n[1].why, "skipped (est. ", 14) && !strncmp(both_f[1].why, "skipped (est. ", 14),
          "lengths: 2^40 skipped (%s, %s)", both_n[1].why, both_f[1].why);
    CHECK_OK(lc_report_cost_table(&c, LC_DTYPE_F16, ns, 2, 128, 64, 1, naive, flash, &t, &err), &err);
    char *js = t ? table_face(NULL, t, LC_TABLE_JSON) : NULL;
    CHECK(js && strstr(js, "\"naive_seconds\": null") && strstr(js, "\"flash_rss_bytes\": ") &&
              !strstr(js, "\"flash_seconds\": null"),
          "%s", js ? js : "");
    free(js);
    lc_table_free(t);
    CHECK_OK(lc_report_measured_table(ns, 2, naive, flash, &t, &err), &err);
    text = t ? table_face(NULL, t, LC_TABLE_TEXT) : NULL;
    CHECK(text && strstr(text, "naive: skipped (est. ") && strstr(text, "note"), "%s", text ? text : "");
    free(text);
    lc_table_free(t);

    const lc_family_preset *p = lc_family_preset_find("gemma-3-12b");
    CHECK(p != NULL, "gemma-3-12b preset");
    if (!p) return;
    lc_table *info = NULL, *rows = NULL;
    const int64_t fn[1] = {8192};
    CHECK_OK(lc_report_family_tables(p, fn, 1, LC_DTYPE_F16, &info, &rows, &err), &err);
    if (!info || !rows) return;
    text = table_face(info, rows, LC_TABLE_TEXT);
    /* 8 global layers hold 8192 tokens, 40 window layers 1024: (8 x 8192 + 40 x 1024) / (48 x 8192) kept */
    const double kept = (8.0 * 8192 + 40.0 * 1024) / (48.0 * 8192);
    snprintf(want, sizeof want, "%.1f%%", 100.0 * (1.0 - kept));
    CHECK(text && strstr(text, "8 global + 40 window (1024)") && strstr(text, want), "want %s in %s", want, text);
    free(text);
    js = table_face(info, rows, LC_TABLE_JSON);
    CHECK(js && strstr(js, "\"family\": \"gemma-3-12b\"") && strstr(js, "\"rows\": [") &&
              strstr(js, "\"kv_bytes_all_global\": ") && !strstr(js, "saved"),
          "%s", js ? js : "");
    free(js);
    lc_table_free(info);
    lc_table_free(rows);
    char *all = NULL;
    size_t all_len = 0;
    FILE *af = open_memstream(&all, &all_len);
    CHECK_OK(lc_report_families_print(af, "all", fn, 1, LC_DTYPE_F16, false, &err), &err);
    fclose(af);
    int n_fam = 0;
    for (const char *q = strstr(all, "family "); q; q = strstr(q + 1, "\nfamily ")) n_fam++;
    CHECK(n_fam == lc_family_preset_count(), "%d families of %d", n_fam, lc_family_preset_count());
    free(all);
    af = open_memstream(&all, &all_len);
    CHECK_OK(lc_report_families_print(af, "gemma-3-12b", fn, 1, LC_DTYPE_F16, true, &err), &err);
    fclose(af);
    CHECK(all[0] == '[' && strstr(all, "\"family\": \"gemma-3-12b\"") && !strstr(all, "llama-3.1-8b"), "%s", all);
    free(all);
    CHECK(lc_report_family_tables(p, fn, LC_REPORT_MAX_LENGTHS + 1, LC_DTYPE_F16, &info, &rows, &err) ==
              LC_ERR_INVALID_ARG && !info && !rows,
          "too many lengths");
}

int main(void) {
    test_git_version();
    test_analyze_tables();
    test_format();
    test_attn_memory_vs_runtime();
    test_max_context();
    test_memory_row();
    test_doc();
    test_missing_models();
    test_unusable_models();
    return lc_test_finish("test_report");
}
