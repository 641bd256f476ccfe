/*
 * Running the evaluation suite on a model (eval.h, src/eval/eval_runner.c,
 * eval_setup.c, eval_tables.c, ppl_input.c, grid_spec.c):
 *
 *  - parsers: depths (count, percentages, refusals), niah variants, methods
 *    (attention x RoPE scalings, in order, refusals), KV-policy lists with
 *    recompute:W, token files (ids, text through a tokenizer, refusals);
 *  - names and labels: lengths ("1K", "1.5K"), buckets, methods;
 *  - summaries and outputs on hand-built results with known answers: means
 *    over depths, trial-weighted accuracy by depth, bucket losses, layer
 *    means over heads, overall perplexity; the CSV headers and rows, the
 *    tables' recall part only for the kinds that score several answers;
 *  - the runners on a seeded random model against the same evaluation done
 *    by hand (context, lc_eval_model_from_context, lc_eval_ppl_run /
 *    lc_eval_grid_run): identical results; the ready callback; the model
 *    maker called on a failed context too; recompute:W equal to the ppl
 *    plan W + 1, stride 1; the memory check's refusal before allocating;
 *  - the JSON header's keys.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/eval.h"
#include "longctx/runtime.h"
#include "test_model_util.h"
#include "test_util.h"

/* What fn wrote to a temporary file, NUL-terminated (malloc'd). */
static char *slurp(FILE *f) {
    const long n = ftell(f);
    char *buf = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
    rewind(f);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) buf[0] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* ---- Parsers ------------------------------------------------------------------------------ */

static void test_depths_and_variants(void) {
    double d[LC_EVAL_MAX_DEPTHS];
    int n = 0;
    lc_error err;
    CHECK_OK(lc_eval_depths_parse("5", d, &n, &err), &err);
    CHECK(n == 5 && d[0] == 0.0 && d[1] == 0.25 && d[4] == 1.0, "5 depths: %d, %g %g %g", n, d[0], d[1], d[4]);
    CHECK_OK(lc_eval_depths_parse("1", d, &n, &err), &err);
    CHECK(n == 1 && d[0] == 0.5, "one depth is the middle: %g", d[0]);
    CHECK_OK(lc_eval_depths_parse("0,50%,100", d, &n, &err), &err);
    CHECK(n == 3 && d[0] == 0.0 && d[1] == 0.5 && d[2] == 1.0, "percentages: %d", n);
    CHECK_OK(lc_eval_depths_parse("25%", d, &n, &err), &err);
    CHECK(n == 1 && d[0] == 0.25, "one percentage: %g", d[0]);
    const char *bad[] = {"0", "102", "0,150", "-5%", "", "1,,2", "x", "5%%", ",5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const lc_status st = lc_eval_depths_parse(bad[i], d, &n, &err);
        CHECK(st == LC_ERR_INVALID_ARG && strstr(err.msg, "--depths"), "'%s' refused: %s", bad[i], err.msg);
    }
    CHECK(lc_eval_depths_parse("0,150", d, &n, &err) != LC_OK && strstr(err.msg, "0..100%"), "range: %s", err.msg);

    lc_task_spec s;
    lc_task_spec_init(&s, LC_TASK_MULTIKEY, 1);
    s.n_keys = 3;
    CHECK(lc_eval_niah_variant(&s, NULL, true, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "multikey"),
          "single with --keys 3 refused: %s", err.msg);
    CHECK_OK(lc_eval_niah_variant(&s, "single", false, &err), &err);
    CHECK(s.kind == LC_TASK_MULTIKEY && s.n_keys == 1 && s.n_queries == 1, "single: %d keys", s.n_keys);
    CHECK_OK(lc_eval_niah_variant(&s, "multivalue", false, &err), &err);
    CHECK(s.kind == LC_TASK_MULTIVALUE, "multivalue kind");
    CHECK_OK(lc_eval_niah_variant(&s, "multiquery", true, &err), &err);
    CHECK(s.kind == LC_TASK_MULTIQUERY, "multiquery kind");
    CHECK(lc_eval_niah_variant(&s, "nope", false, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "unknown --variant"),
          "bad variant: %s", err.msg);
}

static void test_methods_and_streams(void) {
    lc_eval_method m[LC_EVAL_MAX_METHODS];
    int n = 0;
    lc_error err;
    CHECK_OK(lc_eval_methods_parse("flash,window:16", "none,yarn", m, &n, &err), &err);
    CHECK(n == 4, "2 x 2 methods: %d", n);
    if (n == 4) {
        CHECK(!strcmp(m[0].attn, "flash") && m[0].rope_override && m[0].scaling == LC_ROPE_SCALING_NONE, "0");
        CHECK(!strcmp(m[1].attn, "flash") && m[1].scaling == LC_ROPE_SCALING_YARN, "1: attention-major");
        CHECK(!strcmp(m[3].attn, "window:16") && m[3].scaling == LC_ROPE_SCALING_YARN, "3");
    }
    CHECK_OK(lc_eval_methods_parse(NULL, NULL, m, &n, &err), &err);
    CHECK(n == 1 && m[0].attn[0] == '\0' && !m[0].rope_override, "one default method: %d", n);
    CHECK(lc_eval_methods_parse("flash", "none,sideways", m, &n, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "sideways"),
          "unknown scaling: %s", err.msg);
    CHECK(lc_eval_methods_parse("a,b,c,d,e", "none,linear,ntk,yarn", m, &n, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "at most 16"),
          "20 methods refused: %s", err.msg);

    lc_eval_ctx_info info;
    memset(&info, 0, sizeof info);
    info.attn = LC_ATTN_FLASH;
    lc_rope_config_init(&info.rope, 16);
    char buf[128];
    lc_eval_method dm = {"", false, LC_ROPE_SCALING_NONE};
    CHECK(!strcmp(lc_eval_method_name(&dm, &info, buf, sizeof buf), "flash (rope none)"), "name: %s", buf);
    info.rope.scaling = LC_ROPE_SCALING_YARN;
    info.rope.factor = 4;
    lc_eval_method wm = {"window:16", true, LC_ROPE_SCALING_YARN};
    CHECK(!strcmp(lc_eval_method_name(&wm, &info, buf, sizeof buf), "window:16 (rope yarn x4)"), "name: %s", buf);
    CHECK(!strcmp(lc_eval_method_label(&info, buf, sizeof buf), "attn flash, rope yarn x4"), "label: %s", buf);

    lc_eval_stream_cell c[LC_EVAL_MAX_STREAMS];
    CHECK_OK(lc_eval_streams_parse("sinks:4:28,recompute:32,recompute:1K", c, &n, &err), &err);
    CHECK(n == 3 && !c[0].recompute && c[1].recompute && c[1].window == 32 && c[2].window == 1024,
          "streams: %d, %lld %lld", n, (long long)c[1].window, (long long)c[2].window);
    const char *bad[] = {"recompute:1", "recompute:K", "recompute:", "ring:3", "", "window:8,,full"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(lc_eval_streams_parse(bad[i], c, &n, &err) == LC_ERR_INVALID_ARG, "'%s' refused", bad[i]);
}

static char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_eval_run_%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_tokens_load(const lc_tokenizer *tok) {
    int32_t *ids = NULL;
    int64_t n = 0;
    lc_error err;
    const char *p = write_tmp("1 2,3\n4\r\n");
    CHECK_OK(lc_eval_tokens_load(p, true, NULL, 10, &ids, &n, &err), &err);
    CHECK(ids && n == 4 && ids[0] == 1 && ids[3] == 4, "ids: %lld", (long long)n);
    free(ids);
    p = write_tmp("1 2 99");
    CHECK(lc_eval_tokens_load(p, true, NULL, 10, &ids, &n, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "token 3") &&
              !ids,
          "outside the vocabulary: %s", err.msg);
    p = write_tmp("1x 2");
    CHECK(lc_eval_tokens_load(p, true, NULL, 10, &ids, &n, &err) == LC_ERR_INVALID_ARG, "not an id");
    p = write_tmp("5\n");
    CHECK(lc_eval_tokens_load(p, true, NULL, 10, &ids, &n, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "nothing to score"),
          "one token: %s", err.msg);
    const char *text = "The grass is green. The sky is blue.";
    p = write_tmp(text);
    CHECK(lc_eval_tokens_load(p, false, NULL, 10, &ids, &n, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "tokenizer"),
          "text without a tokenizer: %s", err.msg);
    CHECK_OK(lc_eval_tokens_load(p, false, tok, 0, &ids, &n, &err), &err);
    int32_t *ref = NULL;
    int64_t nr = 0;
    CHECK_OK(lc_tokenizer_encode_alloc(tok, text, strlen(text), true, &ref, &nr, &err), &err);
    CHECK(ids && ref && n == nr && nr > 2 && memcmp(ids, ref, (size_t)n * sizeof *ids) == 0,
          "text encoded with BOS: %lld vs %lld tokens", (long long)n, (long long)nr);
    free(ids);
    free(ref);
    unlink(p);
    CHECK(lc_eval_tokens_load("/nonexistent/x.txt", true, NULL, 10, &ids, &n, &err) != LC_OK &&
              strstr(err.msg, "cannot open"),
          "missing file: %s", err.msg);
}

/* ---- Labels, summaries, tables, CSV ------------------------------------------------------- */

static void test_labels(void) {
    char b[32];
    CHECK(!strcmp(lc_eval_len_str(512, b, sizeof b), "512"), "%s", b);
    CHECK(!strcmp(lc_eval_len_str(1024, b, sizeof b), "1K"), "%s", b);
    CHECK(!strcmp(lc_eval_len_str(1536, b, sizeof b), "1.5K"), "%s", b);
    CHECK(!strcmp(lc_eval_len_str(2 << 20, b, sizeof b), "2M"), "%s", b);
    CHECK(!strcmp(lc_eval_len_str(1000, b, sizeof b), "1000"), "%s", b);
    CHECK(!strcmp(lc_eval_bucket_label(0, b, sizeof b), "0"), "%s", b);
    CHECK(!strcmp(lc_eval_bucket_label(1, b, sizeof b), "1"), "%s", b);
    CHECK(!strcmp(lc_eval_bucket_label(2, b, sizeof b), "2-3"), "%s", b);
    CHECK(!strcmp(lc_eval_bucket_label(4, b, sizeof b), "8-15"), "%s", b);
}

static void test_grid_outputs(void) {
    /* 2 lengths x 2 depths; accuracy = length index + depth / 4, recall half of it */
    lc_eval_cell cells[4];
    for (int l = 0; l < 2; l++)
        for (int d = 0; d < 2; d++) {
            lc_eval_cell *c = &cells[l * 2 + d];
            memset(c, 0, sizeof *c);
            c->length = 128 * (l + 1);
            c->depth = d;
            c->trials = l == 0 ? 1 : 3;
            c->accuracy = 0.25 * (l + d);
            c->recall = c->accuracy / 2;
        }
    lc_eval_grid g = {LC_TASK_PASSKEY, 2, 2, cells, 0.5, 0.25, 8, 100, 20, 1.0};
    lc_error err;
    CHECK(fabs(lc_eval_grid_length_mean(&g, 1, false) - 0.375) < 1e-12, "length mean");
    CHECK(fabs(lc_eval_grid_length_mean(&g, 0, true) - 0.0625) < 1e-12, "length mean of recall");
    /* depth 1: (0.25 * 1 + 0.5 * 3) / 4 trials */
    CHECK(fabs(lc_eval_grid_depth_accuracy(&g, 1) - 0.4375) < 1e-12, "trial-weighted: %g",
          lc_eval_grid_depth_accuracy(&g, 1));
    CHECK(isnan(lc_eval_grid_depth_accuracy(&g, 5)), "no such depth");
    FILE *f = tmpfile();
    CHECK_OK(lc_eval_grid_print(f, &g, false, &err), &err);
    char *t0 = slurp(f);
    CHECK(t0 && strstr(t0, "\n0%     0.0 25.0\n100%  25.0 50.0\nmean  12.5 37.5\noverall: accuracy 50.0%, recall 25.0% "
                           "over 8 trials; prompt tokens evaluated 100, reused 20\n"),
          "table with the mean over depths: %s", t0);
    free(t0);
    f = tmpfile();
    CHECK_OK(lc_eval_grid_write_csv(f, &g, false, &err), &err);
    char *csv = slurp(f);
    CHECK(csv && !strncmp(csv, "length,depth,trials,accuracy,recall,tokens,needle_depth\n128,0,1,0,0,", 51) &&
              count_lines(csv) == 5,
          "grid CSV: %s", csv);
    free(csv);
    cells[0].depth = cells[2].depth = NAN; /* random depths: the field stays empty */
    g.n_depths = 1;
    cells[1] = cells[2];
    f = tmpfile();
    CHECK_OK(lc_eval_grid_write_csv(f, &g, true, &err), &err);
    csv = slurp(f);
    CHECK(csv && strstr(csv, ",seconds\n128,,1,") && strstr(csv, "\n256,,3,"), "random depth CSV: %s", csv);
    free(csv);
    for (int k = 0; k < 2; k++) {
        g.kind = k ? LC_TASK_VT : LC_TASK_PASSKEY;
        f = tmpfile();
        CHECK_OK(lc_eval_grid_print(f, &g, true, &err), &err);
        char *t = slurp(f);
        /* one depth (random) and two lengths: no mean row; accuracy 0 and 25%, recall half */
        CHECK(t && strstr(t, "accuracy % (rows: needle depth") && strstr(t, "overall: accuracy 50.0%") &&
                  strstr(t, "\ndepth  128  256\nrandom 0.0 25.0\n") && !strstr(t, "mean") &&
                  (!k || strstr(t, "\nrandom 0.0 12.5\n")) &&
                  strstr(t, " in 1.00 s") && !strstr(t, "recall % (rows") == !k,
              "table (%s): %s", k ? "vt" : "passkey", t);
        free(t);
    }
}

static void test_ppl_outputs(void) {
    lc_eval_ppl_result r[2];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 2; k++) {
        r[k].window = 4 * (k + 1);
        r[k].stride = r[k].window - 1;
        r[k].n_windows = 3;
        r[k].n_scored = 10;
        r[k].nll = 10.0 * (k + 1);
        r[k].ppl = exp(r[k].nll / 10.0);
        r[k].n_buckets = 3 + k;
        r[k].bucket_count[1] = 4, r[k].bucket_nll[1] = 8.0;
        r[k].bucket_count[2] = 6, r[k].bucket_nll[2] = 3.0 + 9.0 * k;
    }
    CHECK(lc_eval_ppl_bucket_loss(&r[0], 1) == 2.0 && lc_eval_ppl_bucket_loss(&r[1], 2) == 2.0, "bucket losses");
    CHECK(isnan(lc_eval_ppl_bucket_loss(&r[1], 3)) && isnan(lc_eval_ppl_bucket_loss(&r[0], 3)), "empty buckets");
    int64_t ns = 0;
    CHECK(fabs(lc_eval_ppl_overall(r, 2, &ns) - exp(1.5)) < 1e-9 && ns == 20, "overall");
    const char *names[1] = {"flash (rope none)"};
    lc_error err;
    FILE *f = tmpfile();
    CHECK_OK(lc_eval_ppl_write_csv(f, r, names, 1, 2, false, &err), &err);
    char *csv = slurp(f);
    CHECK(csv && !strncmp(csv, "method,length,stride,windows,tokens,ppl,loss,loss_1_1,loss_2_3,loss_4_7\n", 72) &&
              strstr(csv, "\nflash (rope none),4,3,3,10,") && strstr(csv, ",1,2,0.5,\n") && count_lines(csv) == 3,
          "ppl CSV: %s", csv);
    free(csv);
    f = tmpfile();
    CHECK_OK(lc_eval_ppl_print(f, r, names, 1, 2, 0, false, &err), &err);
    char *t = slurp(f);
    CHECK(t && strstr(t, "\nflash (rope none)      4      3       3     10 2.7183 1.0000\n") &&
              strstr(t, "position      4      8\n1        2.0000 2.0000\n"
                        "2-3      0.5000 2.0000\n4-7           -      -\n") &&
              strstr(t, "overall: ppl 4.4817 over 20 scored tokens\n"),
          "ppl table: %s", t);
    free(t);
}

static void test_retention_outputs(void) {
    /* 2 layers, 2 heads, 2 buckets: mass (l, h, b) = (1 + l + h + b) / 16 */
    double mass[2 * 2 * LC_EVAL_MAX_BUCKETS], needle[4] = {0.1, 0.3, 0.5, 0.9};
    memset(mass, 0, sizeof mass);
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 2; h++)
            for (int b = 0; b < 2; b++) mass[(l * 2 + h) * LC_EVAL_MAX_BUCKETS + b] = (1 + l + h + b) / 16.0;
    lc_eval_retention r;
    memset(&r, 0, sizeof r);
    r.n_layers = 2, r.n_heads = 2, r.n_buckets = 2;
    r.mass = mass, r.needle_mass = needle;
    CHECK(fabs(lc_eval_retention_layer_mass(&r, 1, 1) - 3.5 / 16.0) < 1e-12, "layer mass");
    CHECK(fabs(lc_eval_retention_layer_needle(&r, 1) - 0.7) < 1e-12, "needle mass");
    lc_error err;
    FILE *f = tmpfile();
    CHECK_OK(lc_eval_retention_write_csv(f, &r, &err), &err);
    char *csv = slurp(f);
    CHECK(csv && !strncmp(csv, "layer,head,bucket,lo,hi,keys,mass,needle_mass\n", 46) && count_lines(csv) == 9 &&
              strstr(csv, "\n1,1,1,1,1,0,0.25,0.9\n"),
          "retention CSV: %s", csv);
    free(csv);
    r.bucket_keys[0] = 1, r.bucket_keys[1] = 2.5;
    f = tmpfile();
    CHECK_OK(lc_eval_retention_print(f, &r, false, &err), &err);
    char *t = slurp(f);
    /* layer 1: (2+3)/32, (3+4)/32 -> 15.62 21.88 %, needle 70 % */
    CHECK(t && strstr(t, "\nlayer     0     1 needle\n0      9.38 15.62  20.00\n"
                         "1     15.62 21.88  70.00\nkeys   1.00  2.50      -\n") &&
              strstr(t, "over 0 trials\n"),
          "retention table: %s", t);
    free(t);
}

/* ---- Runners on a random model ------------------------------------------------------------- */

typedef struct {
    int ready, opened, closed;
    lc_status seen;
    int64_t n_ctx;
} hooks;

static void on_ready(void *user, const lc_eval_ctx_info *info) {
    hooks *h = user;
    h->ready++;
    h->n_ctx = info->n_ctx;
}

static lc_status maker_open(void *user, lc_context *ctx, lc_status st, const lc_error *ctx_err,
                            const lc_tokenizer *tok, lc_eval_model **out, lc_error *err) {
    hooks *h = user;
    h->opened++;
    h->seen = st;
    if (st != LC_OK) return lc_fail(err, st, "%s", ctx_err->msg);
    return lc_eval_model_from_context(ctx, tok, -1, false, out, err);
}

static void maker_close(void *user, lc_eval_model *m) {
    ((hooks *)user)->closed++;
    lc_eval_model_free(m);
}

static void test_runners(const lc_tokenizer *tok) {
    lc_model_config c = test_llama_config(32, 48, 2, 2, 2, 16, LC_TASKS_VOCAB_SIZE);
    c.ctx_train = 256;
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 7, &m, &err), &err);
    if (!m) return;
    int32_t ids[200];
    for (int i = 0; i < 200; i++) ids[i] = (int32_t)((i * 37 + 11) % LC_TASKS_VOCAB_SIZE);

    /* ppl: the runner against the same plan done by hand */
    const int64_t W[2] = {16, 32};
    lc_eval_ppl_result got[2], want[2];
    hooks h = {0};
    lc_eval_model_maker maker = {maker_open, maker_close, &h};
    lc_eval_run_opts o;
    lc_eval_run_opts_init(&o);
    o.ctx.n_threads = 1;
    o.ready = on_ready;
    o.ready_user = &h;
    o.maker = &maker;
    lc_eval_ctx_info info;
    CHECK_OK(lc_eval_ppl_run_model(m, tok, &o, ids, 200, W, 2, 0, got, &info, &err), &err);
    CHECK(h.ready == 1 && h.n_ctx == 32 && info.n_ctx == 32 && h.opened == 1 && h.closed == 1 && h.seen == LC_OK,
          "hooks: ready %d (ctx %lld), opened %d, closed %d", h.ready, (long long)h.n_ctx, h.opened, h.closed);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_threads = 1;
    co.n_ctx = 32;
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    lc_eval_model *em = NULL;
    if (ctx) CHECK_OK(lc_eval_model_from_context(ctx, tok, -1, false, &em, &err), &err);
    for (int j = 0; j < 2 && em; j++) {
        lc_eval_ppl_config pc = {W[j], 0, NULL, NULL};
        CHECK_OK(lc_eval_ppl_run(em, ids, 200, &pc, &want[j], &err), &err);
        CHECK(got[j].nll == want[j].nll && got[j].n_scored == want[j].n_scored && got[j].stride == W[j] - 1,
              "window %lld: %.9g vs %.9g", (long long)W[j], got[j].nll, want[j].nll);
    }
    /* a comparison: the default method (flash here) gives the runner's figures; a RoPE override its own */
    lc_eval_method meths[2];
    int nm = 0;
    CHECK_OK(lc_eval_methods_parse(NULL, "none,linear", meths, &nm, &err), &err);
    lc_eval_ppl_result cres[4];
    lc_eval_ctx_info cinfo[2];
    char cnames[2][LC_EVAL_NAME_MAX];
    lc_eval_run_opts po;
    lc_eval_run_opts_init(&po);
    po.ctx.n_threads = 1;
    lc_rope_config base = m->cfg.rope;
    base.factor = 2; /* used by the override only: the first method keeps scaling none */
    lc_eval_ppl_comparison cmp = {meths, nm, W, 2, 0, &base, cres, cinfo, cnames, -1};
    CHECK_OK(lc_eval_ppl_compare(m, tok, &po, ids, 200, &cmp, &err), &err);
    CHECK(nm == 2 && cres[0].nll == got[0].nll && cres[1].nll == got[1].nll && cres[2].nll != got[0].nll &&
              cinfo[1].rope.scaling == LC_ROPE_SCALING_LINEAR && cmp.seconds >= 0,
          "compare: %.9g %.9g vs %.9g %.9g, linear %.9g", cres[0].nll, cres[1].nll, got[0].nll, got[1].nll,
          cres[2].nll);
    CHECK(!strncmp(cnames[0], "flash", 5) && strstr(cnames[1], "linear"), "names: %s | %s", cnames[0], cnames[1]);
    cmp.n_methods = 0;
    CHECK(lc_eval_ppl_compare(m, tok, &po, ids, 200, &cmp, &err) == LC_ERR_INVALID_ARG, "no methods");

    /* recompute:15 is the plan with window 16, stride 1 */
    lc_eval_stream_cell sc[2];
    int ns = 0;
    CHECK_OK(lc_eval_streams_parse("recompute:15,window:16", sc, &ns, &err), &err);
    lc_eval_run_opts so;
    lc_eval_run_opts_init(&so);
    so.ctx.n_threads = 1;
    for (int i = 0; i < ns; i++) CHECK_OK(lc_eval_stream_run_model(m, tok, &so, ids, 200, &sc[i], NULL, &err), &err);
    if (em) {
        lc_eval_ppl_result r1;
        lc_eval_ppl_config pc = {16, 1, NULL, NULL};
        CHECK_OK(lc_eval_ppl_run(em, ids, 200, &pc, &r1, &err), &err);
        CHECK(sc[0].res.nll == r1.nll && sc[0].res.n_scored == 199 && sc[0].slots == 16,
              "recompute: %.9g vs %.9g, %lld slots", sc[0].res.nll, r1.nll, (long long)sc[0].slots);
        CHECK(sc[1].res.n_scored == 199 && sc[1].slots >= 16 && sc[1].kv_bytes > 0, "window:16 streamed");
    }
    lc_eval_model_free(em);
    lc_context_free(ctx);

    /* a context that cannot fit: refused before allocating, the maker told */
    o.ctx.n_ctx = (int64_t)1 << 34;
    h = (hooks){0};
    const lc_status st = lc_eval_ppl_run_model(m, tok, &o, ids, 200, W, 2, 0, got, NULL, &err);
    CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, "memory is available") && h.opened == 1 &&
              h.seen == LC_ERR_TOO_LARGE && h.ready == 0,
          "too large: %s (%s), opened %d", lc_status_str(st), err.msg, h.opened);
    CHECK(lc_eval_context_fits(m, &co, (int64_t)1 << 34, 0, "length 16G", &err) == LC_ERR_TOO_LARGE &&
              !strncmp(err.msg, "length 16G needs a context of", 29),
          "fits: %s", err.msg);
    CHECK_OK(lc_eval_context_fits(m, &co, 64, 0.5, NULL, &err), &err);

    /* grid: the runner against the same grid by hand */
    lc_eval_grid_config gc;
    lc_eval_grid_config_init(&gc, LC_TASK_PASSKEY);
    gc.lengths[0] = 100;
    gc.n_lengths = 1;
    lc_eval_grid_even_depths(&gc, 2, NULL);
    lc_eval_run_opts go;
    lc_eval_run_opts_init(&go);
    go.ctx.n_threads = 1;
    lc_eval_grid g1, g2;
    CHECK_OK(lc_eval_grid_run_model(m, tok, &go, &gc, &g1, &info, &err), &err);
    CHECK(info.n_ctx == 104, "grid context: length + margin = %lld", (long long)info.n_ctx);
    co.n_ctx = 104;
    CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    em = NULL;
    if (ctx) CHECK_OK(lc_eval_model_from_context(ctx, tok, -1, true, &em, &err), &err);
    if (em) CHECK_OK(lc_eval_grid_run(em, &gc, &g2, &err), &err);
    if (em && g1.cells && g2.cells) {
        CHECK(g1.n_trials == g2.n_trials && g1.tokens_reused == g2.tokens_reused, "grid trials");
        for (int d = 0; d < 2; d++)
            CHECK(g1.cells[d].accuracy == g2.cells[d].accuracy && g1.cells[d].mean_tokens == g2.cells[d].mean_tokens,
                  "grid cell %d", d);
        lc_eval_grid_free(&g2);
    }
    lc_eval_grid_free(&g1);
    lc_eval_model_free(em);
    lc_context_free(ctx);
    CHECK(lc_eval_grid_run_model(m, NULL, &go, &gc, &g1, NULL, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "tokenizer"),
          "no tokenizer: %s", err.msg);
    gc.lengths[0] = 10; /* too short for the needle: the grid check, before any context */
    CHECK(lc_eval_grid_run_model(m, tok, &go, &gc, &g1, NULL, &err) != LC_OK, "a length too short refused");

    /* the JSON header */
    FILE *f = tmpfile();
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_eval_header hd = {"passkey", "dir/model.v1.gguf", m, NULL, NULL, 3, 2, info};
    lc_eval_write_header(&w, &hd);
    lc_json_end_object(&w);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    char *j = slurp(f);
    CHECK(j && strstr(j, "{\"task\":\"passkey\",\"model\":{\"path\":\"dir/model.v1.gguf\",\"name\":\"model.v1\"") &&
              strstr(j, "\"kv_policy\":\"full\"") && strstr(j, "\"seed\":3,\"trials\":2") &&
              strstr(j, "\"ctx\":104") && strstr(j, "\"rope\":{\"scaling\":\"none\",\"factor\":1") &&
              strstr(j, "\"ctx_train\":256") && !strstr(j, "general_name"),
          "header: %s", j);
    free(j);
    lc_model_free(m);
}

int main(void) {
    test_depths_and_variants();
    test_methods_and_streams();
    test_labels();
    test_grid_outputs();
    test_ppl_outputs();
    test_retention_outputs();
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (tok) {
        test_tokens_load(tok);
        test_runners(tok);
    }
    lc_tokenizer_free(tok);
    return lc_test_finish("test_eval_run");
}
