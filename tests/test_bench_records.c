/*
 * What the bench commands state above their rows and the checks of their
 * grids (bench.h, src/bench/bench_records.c):
 *  - lc_bench_matmul_info / _kv_info / _train_info / _gemm_info /
 *    _train_attn_info: one row, the fields and JSON keys each command
 *    prints, the peak columns only with a peak;
 *  - lc_bench_matmul_grid_check: token and thread counts out of range, a
 *    type whose blocks do not divide cols, an empty grid;
 *  - lc_bench_kv_spec_check: decreasing checkpoints, a stream past
 *    LC_CONTEXT_MAX_TOKENS, rounds out of range; lc_bench_kv_print_summary;
 *  - lc_bench_peak_table, _contend_table (the wait policy from the
 *    environment), _rope_info (the run's figures recorded by lc_bench_rope),
 *    _grammar_info, _sample_table: fields, keys, values;
 *  - lc_bench_attn_grid_defaults: the full and the quick grid, what is given
 *    kept, a length past LC_CONTEXT_MAX_TOKENS refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/bench.h"
#include "test_model_util.h"
#include "test_util.h"

/* The record as text (fields) and JSON (members), into two strings. */
static void faces(const lc_table *t, char **text, char **json) {
    size_t n;
    FILE *f = open_memstream(text, &n);
    lc_table_print_fields(t, f, 0, NULL);
    fclose(f);
    f = open_memstream(json, &n);
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_json_begin_object(&w);
    lc_table_write_json_fields(t, &w, 0, NULL);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    fclose(f);
}

/* The JSON of a record (t freed). */
static char *record_json(lc_table *t) {
    char *text = NULL, *json = NULL;
    if (!t) return NULL;
    faces(t, &text, &json);
    free(text);
    lc_table_free(t);
    return json;
}

static void test_matmul(void) {
    const lc_bench_matmul_type types[2] = {"q4_K", "f16"};
    const int64_t toks[2] = {1, 512}, thr[1] = {2};
    lc_bench_matmul_grid g = {.types = types, .n_types = 2, .rows = 64, .cols = 512, .toks = toks, .n_toks = 2,
                              .threads = thr, .n_threads = 1, .via_matmul = true};
    lc_error err;
    CHECK_OK(lc_bench_matmul_grid_check(&g, &err), &err);
    const lc_peak pk = {.fma_gflops = 100, .fma_gflops_1t = 50, .read_gbs = 20, .read_gbs_1t = 10};
    lc_table *t = NULL;
    CHECK_OK(lc_bench_matmul_info(&g, &pk, &t, &err), &err);
    if (t) {
        char *text = NULL, *json = NULL;
        faces(t, &text, &json);
        CHECK(strstr(text, "api ") && strstr(text, "lc_matmul\n") && strstr(text, "rows (output)") &&
                  strstr(text, "FMA peak, 1 thread (GFLOP/s)") && strstr(text, "   50.0\n"),
              "text: %s", text);
        CHECK(strstr(json, "\"api\":\"lc_matmul\",\"rows\":64,\"cols\":512,\"peak_read_gbs\":20,"
                           "\"peak_read_gbs_1t\":10,\"peak_fma_gflops\":100,\"peak_fma_gflops_1t\":50}"),
              "json: %s", json);
        free(text);
        free(json);
        lc_table_free(t);
    }
    g.cols = 100; /* q4_K blocks are 256 wide */
    CHECK(lc_bench_matmul_grid_check(&g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "q4_K blocks"), "cols: %s",
          err.msg);
    g.cols = 512;
    const int64_t many[1] = {65537}, lots[1] = {1025};
    g.toks = many, g.n_toks = 1;
    CHECK(lc_bench_matmul_grid_check(&g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "65537"), "-n: %s", err.msg);
    g.toks = toks, g.threads = lots;
    CHECK(lc_bench_matmul_grid_check(&g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "1025"), "-t: %s", err.msg);
    g.n_types = 0;
    CHECK(lc_bench_matmul_grid_check(&g, &err) == LC_ERR_INVALID_ARG, "no types");
    lc_bench_matmul_row rows[2];
    CHECK(lc_bench_matmul_grid_run(&g, rows, &err) == LC_ERR_INVALID_ARG, "the run checks the grid");
}

static void test_kv(void) {
    const int64_t at[3] = {64, 128, 128}, far[2] = {64, LC_CONTEXT_MAX_TOKENS};
    lc_bench_kv_spec s = {at, 2, 4, 3, 1, NULL, NULL};
    lc_error err;
    CHECK_OK(lc_bench_kv_spec_check(&s, &err), &err);
    s.n_at = 3;
    CHECK(lc_bench_kv_spec_check(&s, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "increase"), "equal: %s", err.msg);
    s.at = far, s.n_at = 2;
    CHECK(lc_bench_kv_spec_check(&s, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "more than"), "far: %s", err.msg);
    s.at = at, s.repeat = LC_BENCH_KV_MAX_REPEAT + 1;
    CHECK(lc_bench_kv_spec_check(&s, &err) == LC_ERR_INVALID_ARG, "too many rounds");
    s.repeat = 3;

    lc_model_config cfg = test_llama_config(32, 48, 2, 2, 1, 16, 40);
    lc_model *m = NULL;
    lc_context *ctx = NULL;
    CHECK_OK(lc_model_create_random(&cfg, LC_DTYPE_F32, 1, &m, &err), &err);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 64, co.n_batch = 16, co.n_threads = 1;
    if (m) CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    lc_table *t = NULL;
    if (ctx) CHECK_OK(lc_bench_kv_info("m.gguf", ctx, &s, &t, &err), &err);
    if (t) {
        char *text = NULL, *json = NULL;
        faces(t, &text, &json);
        CHECK(strstr(json, "{\"model\":\"m.gguf\",\"kv\":\"") &&
                  strstr(json, "\"batch\":16,\"threads\":1,\"decode_tokens\":4,\"repeat\":3}"),
              "json: %s", json);
        CHECK(strstr(text, "decode tokens per round  4\n"), "text: %s", text);
        free(text);
        free(json);
        lc_table_free(t);
    }
    lc_context_free(ctx);
    lc_model_free(m);

    lc_bench_kv_row rows[2];
    memset(rows, 0, sizeof rows);
    rows[0].at = 64, rows[0].rss = 1000, rows[1].at = 128, rows[1].ratio = 0.975, rows[1].rss = 1100;
    char *text = NULL;
    size_t n;
    FILE *f = open_memstream(&text, &n);
    lc_bench_kv_print_summary(f, rows, 2, 3);
    lc_bench_kv_print_summary(f, rows, 1, 3); /* one checkpoint: nothing */
    fclose(f);
    CHECK(text && !strcmp(text, "decode at 128 tokens: 0.975x the context at 64 (median of 3 alternating rounds); "
                                "rss +10.0%\n"),
          "summary: %s", text);
    free(text);
}

static void test_train(void) {
    char *rec = NULL; /* the JSON of a record */
    lc_train_config c;
    lc_train_config_init(&c);
    c.model.dim = 32, c.model.n_layers = 2, c.model.n_heads = 4, c.model.n_kv_heads = 2, c.model.head_dim = 8;
    c.model.hidden_dim = 64, c.model.vocab_size = 64;
    c.batch = 3, c.ctx = 16, c.n_threads = 2;
    lc_error err;
    lc_train_memory pm;
    CHECK_OK(lc_train_plan(&c, &pm, &err), &err);
    const lc_peak pk = {.fma_gflops = 80, .fma_gflops_1t = 40};
    lc_table *t = NULL;
    char want[128];
    CHECK_OK(lc_bench_train_info(&c, &pk, &t, &err), &err);
    if (t) {
        char *text = NULL, *json = NULL;
        faces(t, &text, &json);
        snprintf(want, sizeof want, "{\"params\":%lld,\"dim\":32,\"layers\":2,\"heads\":4,\"kv_heads\":2,",
                 (long long)pm.n_params);
        CHECK(!strncmp(json, want, strlen(want)) &&
                  strstr(json, "\"hidden\":64,\"vocab\":64,\"batch\":3,\"threads\":2,\"peak_fma_gflops\":80}") &&
                  !strstr(json, "cpu"),
              "json (the cpu in the text only): %s", json);
        CHECK(!strncmp(text, "cpu ", 4), "text: %s", text);
        free(text);
        free(json);
        lc_table_free(t);
    }
    CHECK_OK(lc_bench_train_info(&c, NULL, &t, &err), &err);
    if (t) {
        char *text = NULL, *json = NULL;
        faces(t, &text, &json);
        CHECK(!strstr(json, "peak") && !strstr(text, "peak"), "no peak: %s", json);
        free(text);
        free(json);
        lc_table_free(t);
    }
    CHECK_OK(lc_bench_gemm_info(2, &pk, &t, &err), &err);
    rec = record_json(t);
    if (rec)
        CHECK(!strcmp(rec, "{\"threads\":2,\"peak_fma_gflops_1t\":40,\"peak_fma_gflops\":80}\n"), "gemm: %s", rec);
    free(rec);
    CHECK_OK(lc_bench_gemm_info(2, NULL, &t, &err), &err);
    rec = record_json(t);
    if (rec) CHECK(!strcmp(rec, "{\"threads\":2}\n"), "gemm without a peak: %s", rec);
    free(rec);
    CHECK_OK(lc_bench_train_attn_info(&c, &t, &err), &err);
    rec = record_json(t);
    if (rec)
        CHECK(!strcmp(rec, "{\"batch\":3,\"heads\":4,\"kv_heads\":2,\"head_dim\":8}\n"), "kernels: %s", rec);
    free(rec);
    c.model.n_heads = 3; /* dim 32 is not 3 heads */
    t = NULL;
    CHECK(lc_bench_train_info(&c, NULL, &t, &err) != LC_OK && !t, "a bad configuration");
    CHECK(lc_bench_train_attn_info(NULL, &t, &err) == LC_ERR_INVALID_ARG, "no configuration");
}

static void test_others(void) {
    lc_error err;
    lc_table *t = NULL;
    const lc_peak pk = {.fma_gflops = 80, .fma_gflops_1t = 40, .read_gbs = 9, .read_gbs_1t = 4.5, .threads = 2,
                        .isa = LC_ISA_AVX2, .read_buffer_bytes = 1024};
    CHECK_OK(lc_bench_peak_table(&pk, &t, &err), &err);
    char *j = record_json(t);
    CHECK(j && strstr(j, "{\"fma_gflops_1t\":40,\"fma_gflops\":80,") &&
              strstr(j, "\"read_gbs_1t\":4.5,\"read_gbs\":9,\"threads\":2,\"isa\":\"avx2\",\"cpu\":") &&
              strstr(j, "\"read_buffer_bytes\":1024}"),
          "peak: %s", j);
    free(j);

    lc_bench_contend_result r;
    memset(&r, 0, sizeof r);
    r.quiet = (lc_bench_spread){10, 20, 30}, r.loaded = (lc_bench_spread){5, 10, 15}, r.slowdown = 2;
    r.threads = 2, r.busy = 3, r.reps = 4, r.ctx = 128, r.n_decode = 16;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    unsetenv("GOMP_SPINCOUNT");
    CHECK_OK(lc_bench_contend_table("m.gguf", &r, &t, &err), &err);
    j = record_json(t);
    CHECK(j && strstr(j, "{\"model\":\"m.gguf\",\"threads\":2,\"busy\":3,\"ctx\":128,\"decode_tokens\":16,"
                         "\"reps\":4,\"omp_wait_policy\":\"PASSIVE\",\"gomp_spincount\":\"\","
                         "\"quiet_tok_s_min\":10,") &&
              strstr(j, "\"loaded_tok_s_max\":15,\"slowdown\":2}"),
          "contend: %s", j);
    free(j);

    lc_rope_config cfg;
    lc_rope_config_init(&cfg, 16);
    lc_bench_rope_result rr;
    CHECK_OK(lc_bench_rope(&cfg, 64, 2, 16, 8, 1, &rr, &err), &err);
    CHECK(rr.n_ctx == 64 && rr.heads == 2 && rr.head_dim == 16 && rr.reps == 1, "the run recorded");
    CHECK_OK(lc_bench_rope_info(&cfg, &rr, &t, &err), &err);
    j = record_json(t);
    CHECK(j && strstr(j, "\"positions\":64,\"heads\":2,\"head_dim\":16,\"table_bytes\":") &&
              strstr(j, "\"isa\":"),
          "rope: %s", j);
    free(j);

    lc_bench_grammar_result g;
    memset(&g, 0, sizeof g);
    g.n_vocab = 512, g.steps = 20, g.sentences = 3, g.mask_fraction = 0.25, g.mean_allowed = 7;
    CHECK_OK(lc_bench_grammar_info("v.gguf", "json object", "default", 0.5, &g, &t, &err), &err);
    j = record_json(t);
    CHECK(j && !strcmp(j, "{\"vocab\":\"v.gguf\",\"n_vocab\":512,\"grammar\":\"json object\",\"steps\":20,"
                          "\"sentences_completed\":3,\"vocab_build_ms\":500,\"mask_fraction\":0.25,"
                          "\"mean_allowed\":7}\n"),
          "grammar (the chain in the text only): %s", j);
    free(j);

    CHECK_OK(lc_bench_sample_table(&t, &err), &err);
    const lc_bench_sample_row rows[2] = {{"greedy", 1.5, 1}, {"naive sort", 9, 0}};
    lc_bench_sample_table_add(t, 64, rows, 2);
    lc_bench_sample_table_add(t, 128, rows, 1);
    CHECK(lc_table_n_rows(t) == 3, "sample rows %lld", (long long)lc_table_n_rows(t));
    char *text = NULL;
    size_t n;
    FILE *f = open_memstream(&text, &n);
    lc_table_print_csv(t, f, NULL);
    fclose(f);
    CHECK(text && !strcmp(text, "vocab,chain,us_per_token,last_candidates\n64,greedy,1.5,1\n64,naive sort,9,0\n"
                                "128,greedy,1.5,1\n"),
          "sample: %s", text);
    free(text);
    lc_table_free(t);
    CHECK(lc_bench_peak_table(NULL, &t, &err) == LC_ERR_INVALID_ARG, "no peak");
}

static void test_attn_defaults(void) {
    int64_t ns[8], ds[8];
    lc_bench_attn_method methods[8];
    lc_bench_attn_grid g = {.heads = 4};
    lc_error err;
    CHECK_OK(lc_bench_attn_grid_defaults(&g, false, ns, ds, methods, 8, &err), &err);
    CHECK(g.n_ns == 6 && ns[0] == 1024 && ns[5] == 1048576 && g.n_ds == 2 && ds[1] == 128 && g.reps == 3 &&
              g.max_seconds == 60 && g.kv_heads == 4 && g.threads == lc_cpu_count() && g.n_methods == 5 &&
              g.ns == ns && g.methods == methods && !strcmp(methods[4].spec, "chunked:512:64"),
          "full: %d lengths, %d dims, %d reps, %g s, %d methods", g.n_ns, g.n_ds, g.reps, g.max_seconds, g.n_methods);
    lc_bench_attn_grid q = {.heads = 2, .kv_heads = 1, .reps = 7, .threads = 3};
    ds[0] = 32, q.n_ds = 1;
    CHECK_OK(lc_bench_attn_grid_defaults(&q, true, ns, ds, methods, 8, &err), &err);
    CHECK(q.n_ns == 3 && ns[2] == 16384 && q.n_ds == 1 && ds[0] == 32 && q.reps == 7 && q.max_seconds == 5 &&
              q.kv_heads == 1 && q.threads == 3,
          "quick, dims and reps given: %d %lld %d %g", q.n_ns, (long long)ds[0], q.reps, q.max_seconds);
    lc_bench_attn_grid far = {.heads = 1, .n_ns = 1};
    ns[0] = LC_CONTEXT_MAX_TOKENS + 1;
    CHECK(lc_bench_attn_grid_defaults(&far, false, ns, ds, methods, 8, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "--n: lengths must be in 1.."),
          "too long: %s", err.msg);
    CHECK(lc_bench_attn_grid_defaults(&far, false, ns, ds, methods, 5, &err) == LC_ERR_INVALID_ARG, "no room");
}

int main(void) {
    test_matmul();
    test_kv();
    test_train();
    test_others();
    test_attn_defaults();
    return lc_test_finish("test_bench_records");
}
