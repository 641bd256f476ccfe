/*
 * The measurement cells of src/bench that `longctx bench` prints (matmul,
 * train, kv, rope, sample, tokenize, grammar, the attention grid), checked for what must hold
 * whatever the machine's speed (no timing asserted beyond being positive):
 * the figures derived from the times agree with them (GB/s = bytes / median,
 * min <= median <= max), the counts are the ones asked for, a round trip is
 * exact, and every cell refuses bad arguments with a status, not a crash.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/bench.h"
#include "longctx/gguf.h"
#include "longctx/util.h"
#include "test_util.h"

/* The grid: every type x tokens x threads cell in order, on_cell after each. */
static void count_matmul_cell(void *user, const lc_bench_matmul_row *row) {
    (void)row;
    ++*(int *)user;
}

static void matmul_grid(void) {
    lc_error err;
    lc_bench_matmul_type types[3];
    int n = 0;
    CHECK_OK(lc_bench_matmul_types_parse("Q8_0,f16", types, 3, &n, &err), &err);
    CHECK(n == 2 && strcmp(types[0], "q8_0") == 0 && strcmp(types[1], "f16") == 0, "2 types, got %d", n);
    CHECK(lc_bench_matmul_types_parse("q8_0,q9_9", types, 3, &n, &err) == LC_ERR_INVALID_ARG, "q9_9 refused");
    CHECK(lc_bench_matmul_types_parse("q8_0,,f16", types, 3, &n, &err) == LC_ERR_INVALID_ARG, "an empty name");
    CHECK(lc_bench_matmul_types_parse("f16,f16,f16,f16", types, 3, &n, &err) == LC_ERR_INVALID_ARG, "too many");
    CHECK_OK(lc_bench_matmul_types_parse("q8_0,f16", types, 3, &n, &err), &err);
    const int64_t toks[2] = {1, 3}, thr[2] = {1, 2};
    int calls = 0;
    const lc_bench_matmul_grid g = {.types = types, .n_types = 2, .rows = 5, .cols = 64, .toks = toks, .n_toks = 2,
                                    .threads = thr, .n_threads = 2, .copies = 1, .on_cell = count_matmul_cell,
                                    .user = &calls};
    lc_bench_matmul_row rows[8];
    CHECK_OK(lc_bench_matmul_grid_run(&g, rows, &err), &err);
    CHECK(calls == 8, "8 cells, %d calls", calls);
    CHECK(strcmp(rows[0].type, "q8_0") == 0 && strcmp(rows[7].type, "f16") == 0 && rows[1].threads == 2 &&
              rows[2].n_tok == 3 && rows[0].reps == 10 && rows[2].reps == 3,
          "cells in order, default reps");
    lc_bench_matmul_grid empty = g;
    empty.n_toks = 0;
    CHECK(lc_bench_matmul_grid_run(&empty, rows, &err) == LC_ERR_INVALID_ARG, "no token counts");
}

static void matmul_cells(void) {
    lc_error err;
    char canon[16];
    CHECK(lc_bench_matmul_type_name("Q4_k", canon, sizeof canon) && strcmp(canon, "q4_K") == 0, "Q4_k -> %s", canon);
    CHECK(!lc_bench_matmul_type_name("q9_9", canon, sizeof canon), "q9_9 is no type");
    CHECK(lc_bench_matmul_weight_bytes("q4_K", 3, 100) == 0, "100 columns are no whole q4_K blocks");
    CHECK(lc_bench_matmul_weight_bytes("q8_0", 3, 64) == 3 * 2 * 34, "q8_0 3 x 64: %zu bytes",
          lc_bench_matmul_weight_bytes("q8_0", 3, 64));
    CHECK(lc_bench_matmul_weight_bytes("f16", 5, 7) == 70, "f16 5 x 7");
    lc_bench_matmul_weights *w = NULL;
    CHECK(lc_bench_matmul_weights_create("q4_K", 4, 100, 1, &w, &err) == LC_ERR_INVALID_ARG && !w, "q4_K 4 x 100");
    const char *types[] = {"q4_0", "q6_K", "f16", "bf16"};
    const lc_peak pk = {.read_gbs = 10, .read_gbs_1t = 5, .fma_gflops = 100, .fma_gflops_1t = 50};
    for (int t = 0; t < 4; t++) {
        CHECK_OK(lc_bench_matmul_weights_create(types[t], 13, 512, 2, &w, &err), &err);
        if (!w) continue;
        for (int via = 0; via < 2; via++) {
            lc_bench_matmul_row r;
            CHECK_OK(lc_bench_matmul_cell(w, 3, 2, 3, via, &pk, &r, &err), &err);
            CHECK(r.rows == 13 && r.cols == 512 && r.n_tok == 3 && r.threads == 2 && r.reps == 3 && r.copies == 2,
                  "%s: the cell's shape", types[t]);
            CHECK(r.weight_bytes == lc_bench_matmul_weight_bytes(types[t], 13, 512), "%s: weight bytes", types[t]);
            CHECK(r.s_min > 0 && r.s_min <= r.s_med && r.s_med <= r.s_max, "%s: min %g median %g max %g", types[t],
                  r.s_min, r.s_med, r.s_max);
            CHECK(fabs(r.gbs - (double)r.weight_bytes / r.s_med / 1e9) <= 1e-9 * r.gbs, "%s: GB/s", types[t]);
            CHECK(fabs(r.gflops - 2.0 * 13 * 512 * 3 / r.s_med / 1e9) <= 1e-9 * r.gflops, "%s: GFLOP/s", types[t]);
            CHECK(fabs(r.pct_bw - 100.0 * r.gbs / 10) <= 1e-9 * r.pct_bw, "%s: %% of bandwidth", types[t]);
        }
        lc_bench_matmul_row r;
        CHECK(lc_bench_matmul_cell(w, 0, 1, 1, false, NULL, &r, &err) == LC_ERR_INVALID_ARG, "0 tokens refused");
        CHECK(lc_bench_matmul_cell(w, 1, 1, 0, false, NULL, &r, &err) == LC_ERR_INVALID_ARG, "0 reps refused");
        lc_bench_matmul_weights_free(w);
    }
}

static void train_cells(void) {
    lc_train_config c;
    lc_train_config_init(&c);
    c.model.dim = 32, c.model.n_layers = 1, c.model.n_heads = 2, c.model.n_kv_heads = 1;
    c.model.hidden_dim = 48, c.model.vocab_size = 32, c.model.head_dim = 16;
    c.batch = 1, c.ctx = 32, c.n_threads = 1, c.steps = 1000000;
    lc_error err;
    lc_bench_train_row r;
    CHECK_OK(lc_bench_train_cell(&c, 2, &r, &err), &err);
    CHECK(r.ran && r.step_s > 0 && fabs(r.tok_s - 32.0 / r.step_s) <= 1e-9 * r.tok_s, "train: %g s, %g tok/s",
          r.step_s, r.tok_s);
    CHECK(fabs(r.gflops - lc_bench_train_step_flops(&c) / r.step_s / 1e9) <= 1e-9 * r.gflops, "train: GFLOP/s");
    CHECK(r.activations > 0 && r.total >= r.activations, "train: plan %zu of %zu", r.activations, r.total);
    lc_bench_gemm_row g[LC_BENCH_TRAIN_GEMM_ROWS];
    c.ctx = 8;
    CHECK_OK(lc_bench_train_gemm(&c, 1, g, &err), &err);
    CHECK(g[0].m == 8 && g[0].n == 48 && g[0].k == 32 && g[0].trans_b && g[0].gflops_1t > 0, "gemm: gate forward");
    CHECK(g[3].n == 32 && g[4].m == 1024, "gemm: logits and the 1024 cube");
    lc_bench_train_attn_row a;
    CHECK_OK(lc_bench_train_attn_layers(&c, 16, &a, &err), &err);
    CHECK(a.ctx == 16 && a.flash_fwd >= 0 && a.lin_bwd >= 0 && a.naive_bytes > 0, "attention layers");
    CHECK(lc_bench_train_attn_layers(&c, 0, &a, &err) == LC_ERR_INVALID_ARG, "context 0 refused");

    /* the grid: contexts x kinds in order, a failed cell's note, the rows printed as they come */
    lc_table *t = NULL;
    CHECK_OK(lc_bench_train_table(NULL, 0, NULL, &t, &err), &err);
    if (!t) return;
    const int64_t ctx[2] = {16, -3};
    const char *const kinds[2] = {"flash", "linear"};
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    CHECK_OK(lc_bench_train_grid(&c, ctx, 2, kinds, 2, 1, NULL, t, f, &err), &err);
    fclose(f);
    CHECK(lc_table_n_rows(t) == 4, "grid rows %lld", (long long)lc_table_n_rows(t));
    int lines = 0;
    for (const char *p = text; p && *p; p++) lines += *p == '\n';
    CHECK(lines == 4 && strstr(text, "linear"), "grid printed %d lines: %s", lines, text ? text : "");
    free(text);
    f = open_memstream(&text, &n);
    lc_table_print_csv(t, f, NULL);
    fclose(f);
    CHECK(text && strstr(text, "\n16,flash,") && strstr(text, "\n16,linear,") && strstr(text, "\n-3,flash,") &&
              strstr(text, "\n-3,linear,"),
          "grid order: %s", text ? text : "");
    free(text);
    lc_table_free(t);
    CHECK(lc_bench_train_grid(&c, ctx, 1, kinds, 1, 1, NULL, NULL, NULL, &err) == LC_ERR_INVALID_ARG, "no table");
}

static lc_model *tiny_model(void) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = 32, c.hidden_dim = 48, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
    c.vocab_size = 40, c.ctx_train = 256, c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, 16);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 5, &m, &err), &err);
    return m;
}

static void kv_cells(void) {
    lc_model *m = tiny_model();
    if (!m) return;
    lc_error err;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_threads = 1;
    CHECK_OK(lc_kv_policy_parse("window:32", &o, &err), &err);
    const int64_t at[3] = {40, 100, 200};
    lc_bench_kv_spec s = {at, 3, 4, 2, 9, NULL, NULL};
    int64_t n = 0;
    CHECK(lc_bench_kv_stream_tokens(&s, &n) == LC_OK && n == 208, "stream tokens %lld", (long long)n);
    lc_context *ctx = NULL, *base = NULL;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &base, &err), &err);
    lc_bench_kv_row rows[3];
    if (ctx && base) {
        CHECK_OK(lc_bench_kv_stream(ctx, base, &s, rows, &err), &err);
        for (int k = 0; k < 3; k++) {
            CHECK(rows[k].at == at[k], "checkpoint %d at %lld", k, (long long)rows[k].at);
            CHECK(rows[k].best >= rows[k].median && rows[k].median > 0 && rows[k].ratio > 0, "checkpoint %d rates", k);
            CHECK(rows[k].kv.n_used < 64 && rows[k].kv.bytes == rows[0].kv.bytes,
                  "checkpoint %d: a window of 32 holds %lld rows, %zu bytes (first %zu)", k,
                  (long long)rows[k].kv.n_used, (size_t)rows[k].kv.bytes, (size_t)rows[0].kv.bytes);
        }
        CHECK(lc_bench_kv_stream(ctx, base, &s, rows, &err) == LC_ERR_INVALID_ARG, "used contexts refused");
    }
    lc_context_free(ctx);
    lc_context_free(base);
    const int64_t bad[2] = {100, 50};
    s.at = bad, s.n_at = 2;
    CHECK(lc_bench_kv_stream_tokens(&s, &n) == LC_OK, "decreasing checkpoints still count");
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &base, &err), &err);
    if (ctx && base) CHECK(lc_bench_kv_stream(ctx, base, &s, rows, &err) == LC_ERR_INVALID_ARG, "decreasing refused");
    lc_context_free(ctx);
    lc_context_free(base);
    const int64_t huge[1] = {LC_CONTEXT_MAX_TOKENS};
    s.at = huge, s.n_at = 1;
    CHECK(lc_bench_kv_stream_tokens(&s, &n) == LC_ERR_TOO_LARGE, "past the token bound");

    /* the whole run: a full policy's context of 16 raised to hold the 72-token stream; the record */
    lc_context_opts fo;
    lc_context_opts_init(&fo);
    fo.n_threads = 1, fo.n_ctx = 16;
    CHECK_OK(lc_kv_policy_parse("full", &fo, &err), &err);
    const int64_t two[2] = {32, 64};
    const lc_bench_kv_spec fs = {two, 2, 4, 2, 9, NULL, NULL};
    lc_table *info = NULL;
    CHECK_OK(lc_bench_kv_run(m, &fo, &fs, "m.gguf", rows, &info, &err), &err);
    CHECK(rows[0].at == 32 && rows[1].at == 64 && rows[1].kv.n_used >= 64 && info && lc_table_n_rows(info) == 1,
          "full run: at %lld, %lld rows used", (long long)rows[1].at, (long long)rows[1].kv.n_used);
    lc_table_free(info);
    CHECK(lc_bench_kv_run(m, &fo, &s, "m.gguf", rows, NULL, &err) == LC_ERR_TOO_LARGE, "the run checks the spec");
    lc_model_free(m);
}

static void rope_sample_cells(void) {
    lc_error err;
    lc_rope_config cfg;
    lc_rope_config_init(&cfg, 64);
    lc_bench_rope_result rr;
    CHECK_OK(lc_bench_rope(&cfg, 256, 2, 64, 1000, 2, &rr, &err), &err);
    CHECK(rr.n_tok == 256 && rr.build_s > 0 && rr.table_bytes > 0, "rope: %lld tokens", (long long)rr.n_tok);
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 4; k++) CHECK(rr.ns[l][k] > 0, "rope ns[%d][%d]", l, k);
    CHECK(lc_bench_rope(&cfg, 256, 2, 32, 16, 1, &rr, &err) == LC_ERR_INVALID_ARG, "64 rotated of 32 refused");
    lc_bench_sample_row rows[LC_BENCH_SAMPLE_MAX_CHAINS];
    int n = 0;
    CHECK_OK(lc_bench_sample_chains(100, 3.0f, 5, 1, NULL, rows, &n, &err), &err);
    CHECK(n == 7 && strcmp(rows[0].chain, "greedy") == 0 && rows[6].last_candidates == 0, "sample: %d chains", n);
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    p.top_k = 3;
    CHECK_OK(lc_bench_sample_chains(100, 3.0f, 5, 1, &p, rows, &n, &err), &err);
    CHECK(n == 8 && rows[6].last_candidates <= 3, "sample: the given chain keeps %d", rows[6].last_candidates);
    for (int c = 0; c < n; c++) CHECK(rows[c].us_per_token > 0, "sample: chain %d", c);
    CHECK(lc_bench_sample_chains(0, 3.0f, 5, 1, NULL, rows, &n, &err) == LC_ERR_INVALID_ARG, "vocabulary 0 refused");
}

static void tokenize_cells(void) {
    lc_error err;
    char *text = NULL;
    CHECK_OK(lc_bench_tokenize_text(NULL, 4000, &text, &err), &err);
    char *none = NULL;
    CHECK(lc_bench_tokenize_text("/nonexistent/file", 10, &none, &err) == LC_ERR_IO && !none, "a missing file");
    char path[512];
    if (!lc_test_have_shared("tokenize on a real vocabulary")) {
        free(text);
        return;
    }
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-llama-bpe.gguf", LC_SHARED_DIR);
    lc_gguf *g = NULL;
    lc_tokenizer *tok = NULL;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (g) CHECK_OK(lc_tokenizer_from_gguf(g, &tok, &err), &err);
    if (tok && text) {
        lc_bench_tokenize_row r;
        CHECK_OK(lc_bench_tokenize(tok, text, 4000, 2, &r, &err), &err);
        CHECK(r.round_trip_exact && r.tokens > 400 && r.tokens < 4000 && r.encode_s > 0 && r.decode_s > 0,
              "tokenize: %lld tokens, exact %d", (long long)r.tokens, r.round_trip_exact);
        CHECK(lc_bench_tokenize(tok, text, 0, 1, &r, &err) == LC_ERR_INVALID_ARG, "0 bytes refused");
    }
    lc_tokenizer_free(tok);
    lc_gguf_close(g);
    free(text);
}

static int grid_calls;
static void count_cell(void *user, const lc_bench_attn_row *r, int index, int n_cells, bool done) {
    (void)r;
    CHECK(index == grid_calls / 2 && n_cells == *(int *)user && done == (grid_calls % 2 == 1),
          "attn grid: callback %d for cell %d of %d", grid_calls, index, n_cells);
    grid_calls++;
}

static void attn_grid_cells(void) {
    lc_error err;
    lc_bench_attn_method m[3];
    CHECK(lc_bench_attn_method_parse("hybrid:", &m[0], &err) == LC_ERR_INVALID_ARG, "hybrid with no spec");
    CHECK(lc_bench_attn_method_parse("hybrid:flash+flash+flash+flash+flash+flash+flash+flash+flash", &m[0], &err) ==
              LC_ERR_INVALID_ARG,
          "hybrid with 9 specs");
    CHECK(lc_bench_attn_method_parse("nope", &m[0], &err) != LC_OK, "an unknown method");
    CHECK_OK(lc_bench_attn_method_parse("naive", &m[0], &err), &err);
    CHECK_OK(lc_bench_attn_method_parse("flash", &m[1], &err), &err);
    CHECK_OK(lc_bench_attn_method_parse("hybrid:flash+window:8:2", &m[2], &err), &err);
    CHECK(m[2].p.method == LC_ATTN_HYBRID && m[2].n_hybrid == 2 && m[2].heads[1].method == LC_ATTN_WINDOW,
          "hybrid: two specs, the second a window");
    const int64_t ns[2] = {7, 33}, ds[1] = {16};
    const lc_peak pk = {.read_gbs = 10, .fma_gflops = 100};
    int n_cells = 12;
    lc_bench_attn_grid g = {.methods = m, .n_methods = 3, .ns = ns, .n_ns = 2, .ds = ds, .n_ds = 1, .heads = 2,
                            .threads = 2, .reps = 3, .causal_mode = 2, .kv_type = LC_DTYPE_F32, .max_seconds = 100,
                            .naive_cap = 1 << 20, .peak = &pk, .seed = 1, .on_cell = count_cell, .user = &n_cells};
    CHECK(lc_bench_attn_grid_cells(&g) == 12, "3 methods x 2 lengths x 2 maskings");
    lc_bench_attn_row rows[12];
    CHECK_OK(lc_bench_attn_grid_run(&g, rows, &err), &err);
    CHECK(grid_calls == 24, "attn grid: %d callbacks", grid_calls);
    for (int i = 0; i < 12; i++) {
        const lc_bench_attn_row *r = &rows[i];
        CHECK(r->m == &m[i % 3] && r->n_kv == ns[(i / 3) % 2] && r->n_q == r->n_kv && r->causal == (i < 6) &&
                  r->d == 16 && r->heads == 2 && r->kv_heads == 2 && r->threads == 2,
              "attn grid: cell %d in order", i);
        CHECK(!r->error[0] && r->r.reps == 3 && r->r.seconds > 0, "attn grid: cell %d measured (%s)", i, r->error);
        CHECK(fabs(r->frac_peak - r->r.gflops / 100) < 1e-12, "attn grid: cell %d fraction of peak", i);
        const double kv = (double)r->r.io_bytes - 2.0 * r->n_q * 2 * 16 * 4;
        CHECK(fabs(r->kv_gbs - kv / r->r.seconds / 1e9) < 1e-9 * r->kv_gbs, "attn grid: cell %d K/V GB/s", i);
        const double sp = i % 3 ? rows[i - i % 3].r.seconds / r->r.seconds : 0;
        CHECK(fabs(r->speedup - sp) <= 1e-12 * sp, "attn grid: cell %d speed-up %g, naive/this %g", i, r->speedup, sp);
    }
    /* A limit under any measured time: the first length runs once, the second is skipped. */
    g.causal_mode = 1;
    g.max_seconds = 1e-12;
    g.on_cell = NULL;
    g.peak = NULL;
    CHECK(lc_bench_attn_grid_cells(&g) == 6, "one masking");
    CHECK_OK(lc_bench_attn_grid_run(&g, rows, &err), &err);
    for (int i = 0; i < 6; i++) {
        CHECK(rows[i].frac_peak == 0, "attn grid: no peak, no fraction");
        if (i < 3) CHECK(!rows[i].error[0] && rows[i].r.reps == 1, "attn grid: cell %d measured once", i);
        else
            CHECK(strncmp(rows[i].error, "skipped", 7) == 0 && rows[i].r.flops > 0,
                  "attn grid: cell %d skipped with its flops (%s)", i, rows[i].error);
    }
    g.n_ns = 0;
    CHECK(lc_bench_attn_grid_cells(&g) == -1 && lc_bench_attn_grid_run(&g, rows, &err) == LC_ERR_INVALID_ARG,
          "no lengths");
}

/* The face of a table, into a string (caller frees). */
static char *face_of(const lc_table *t, lc_table_face face) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    lc_error err;
    if (!f) return NULL;
    const lc_status st = lc_table_report(f, face, NULL, NULL, t, &err);
    fclose(f);
    CHECK(st == LC_OK, "report: %s", err.msg);
    return buf;
}

/* The cells' tables: the CSV header and JSON keys the CLI's readers use,
 * the values from the rows, the peak columns only with a peak, the derived
 * figures (fractions, GFLOP/s) computed from the row. */
static void tables(void) {
    lc_error err;
    lc_table *t = NULL;
    lc_bench_matmul_row mm = {.type = "q4_K", .rows = 13, .cols = 512, .n_tok = 5, .threads = 2, .reps = 3,
                              .copies = 1, .weight_bytes = 3744, .s_min = 1e-3, .s_med = 2e-3, .s_max = 3e-3};
    CHECK_OK(lc_bench_matmul_table(&mm, 1, &t, &err), &err);
    char *csv = t ? face_of(t, LC_TABLE_CSV) : NULL;
    const char *mm_want = "type,n_tok,threads,reps,copies,weight_bytes,seconds_min,seconds_median,seconds_max,gbs,"
                          "gflops,pct_read_bw,pct_fma_peak,cpu_seconds_median,cpu_gflops\n"
                          "q4_K,5,2,3,1,3744,0.001,0.002,";
    CHECK(csv && strncmp(csv, mm_want, strlen(mm_want)) == 0, "matmul csv: %s", csv ? csv : "");
    free(csv);
    lc_table_free(t);

    const lc_bench_attn_method m = {.spec = "naive"};
    lc_bench_attn_row ar = {.m = &m, .n_q = 1, .n_kv = 100, .d = 64, .heads = 1, .kv_heads = 1, .kv_type = LC_DTYPE_F16,
                            .threads = 1, .r = {.reps = 1, .seconds = 0.5, .gflops = 2, .workspace_bytes = 64},
                            .kv_gbs = 3, .frac_peak = 0.25};
    const lc_peak pk = {.fma_gflops = 8, .fma_gflops_1t = 4, .read_gbs = 12};
    for (int with_peak = 0; with_peak < 2; with_peak++) {
        CHECK_OK(lc_bench_attn_table(with_peak ? &pk : NULL, &t, &err), &err);
        if (!t) continue;
        lc_bench_attn_table_add(t, &ar, with_peak ? &pk : NULL);
        snprintf(ar.error, sizeof ar.error, "refused, \"quoted\"");
        lc_bench_attn_table_add(t, &ar, with_peak ? &pk : NULL);
        ar.error[0] = 0;
        char *json = face_of(t, LC_TABLE_JSON);
        CHECK(json && strstr(json, "\"kv_read_gbs\": 3,") && strstr(json, "\"causal\": false") &&
                  strstr(json, "\"seconds\": null") && strstr(json, "\"error\": \"refused, \\\"quoted\\\"\"") &&
                  (strstr(json, "\"fraction_of_peak\": 0.25") != NULL) == with_peak &&
                  (strstr(json, "\"peak_fma_gflops\": 8") != NULL) == with_peak,
              "attn json (peak %d): %s", with_peak, json ? json : "");
        free(json);
        csv = face_of(t, LC_TABLE_CSV);
        const char *want = "method,n_q,n_kv,d,heads,kv_heads,causal,kv_type,threads,seconds,gflops,kv_read_gbs,"
                           "fraction_of_peak,speedup_vs_naive,workspace_bytes,rss_bytes,peak_rss_bytes,io_bytes,"
                           "error\nnaive,1,100,64,1,1,0,f16,1,0.5,2,3,";
        CHECK(csv && strncmp(csv, want, strlen(want)) == 0 && strstr(csv, "\"refused, \"\"quoted\"\"\"\n"),
              "attn csv: %s", csv ? csv : "");
        free(csv);
        lc_table_free(t);
    }

    lc_bench_train_row tr = {.ctx = 64, .attn = "flash", .ran = true, .step_s = 0.5, .gflops = 2, .matmul_s = 0.25};
    CHECK_OK(lc_bench_train_table(&tr, 1, &pk, &t, &err), &err);
    char *text = t ? face_of(t, LC_TABLE_TEXT) : NULL;
    CHECK(text && strstr(text, " 25% ") && strstr(text, " 50% "), "train text: %%peak 2/8, mm%% 0.25/0.5: %s",
          text ? text : "");
    free(text);
    lc_table_free(t);

    lc_train_config c;
    lc_train_config_init(&c);
    c.batch = 2, c.model.n_heads = 3, c.model.head_dim = 4;
    const lc_bench_train_attn_row ta = {.ctx = 9, .flash_fwd = 1e-9, .flash_bwd = 1, .naive_fwd = 1, .naive_bwd = 1,
                                        .lin_fwd = 1, .lin_bwd = 1};
    CHECK_OK(lc_bench_train_attn_table(&c, &ta, 1, &t, &err), &err);
    text = t ? face_of(t, LC_TABLE_TEXT) : NULL;
    /* 4 x 2 x 3 x 4 x 9 x 10 / 2 = 4320 FLOPs in 1 ns: 4320 GFLOP/s */
    CHECK(text && strstr(text, " 4320.0 "), "train attention GFLOP/s: %s", text ? text : "");
    free(text);
    lc_table_free(t);

    const lc_bench_tokenize_row tk = {.kind = "bpe", .bytes = 4000, .tokens = 1000, .encode_s = 0.5, .decode_s = 0.25,
                                      .round_trip_exact = true};
    const char *const tk_names[] = {"v.gguf"};
    CHECK_OK(lc_bench_tokenize_table(&tk, tk_names, 1, &t, &err), &err);
    csv = t ? face_of(t, LC_TABLE_CSV) : NULL;
    CHECK(csv && strcmp(csv, "tokenizer,kind,bytes,tokens,encode_s,decode_s,round_trip_exact\n"
                             "v.gguf,bpe,4000,1000,0.5,0.25,1\n") == 0,
          "tokenize csv: %s", csv ? csv : "");
    free(csv);
    text = t ? face_of(t, LC_TABLE_TEXT) : NULL;
    CHECK(text && strstr(text, " 4.00 ") && strstr(text, " 500.00 ") && strstr(text, " 250.00 ") &&
              strstr(text, " yes"),
          "tokenize text: 4 B/token, encode 500 ms, decode 250 ms, exact: %s", text ? text : "");
    free(text);
    lc_table_free(t);

    const lc_bench_rope_result rr = {.ns = {{10, 20, 30, 40}, {1, 2, 3, 4}}};
    CHECK_OK(lc_bench_rope_table(&rr, 2, 4, &t, &err), &err);
    char *json = t ? face_of(t, LC_TABLE_JSON) : NULL;
    CHECK(json && strstr(json, "\"norm\": {\n    \"table_ns\": 10,") && strstr(json, "\"fly_scalar_ns\": 4\n"),
          "rope json: %s", json ? json : "");
    free(json);
    text = t ? face_of(t, LC_TABLE_TEXT) : NULL;
    CHECK(text && strstr(text, " 2.50 "), "rope text: 10 ns / (2 x 4 / 2) pairs: %s", text ? text : "");
    free(text);
    lc_table_free(t);

    const lc_bench_grammar_result gr = {
        .plain = {1, 2, 3, 4}, .constrained = {5, 6, 7, 8}, .full_mask = {9, 10, 11, 12}};
    CHECK_OK(lc_bench_grammar_table(&gr, &t, &err), &err);
    json = t ? face_of(t, LC_TABLE_JSON) : NULL;
    CHECK(json && strstr(json, "\"constrained\": {\n    \"min_us\": 5,\n    \"median_us\": 6,") &&
              strstr(json, "\"full_mask\""),
          "grammar json: %s", json ? json : "");
    free(json);
    lc_table_free(t);

    lc_bench_attn_method ms[3];
    int nm = -1;
    CHECK_OK(lc_bench_attn_methods_parse("naive,hybrid:flash+window:64:4,linear:elu", ms, 3, &nm, &err), &err);
    CHECK(nm == 3 && ms[1].n_hybrid == 2 && strcmp(ms[2].spec, "linear:elu") == 0, "3 methods, got %d", nm);
    CHECK(lc_bench_attn_methods_parse("naive,flash", ms, 1, &nm, &err) == LC_ERR_INVALID_ARG, "too many methods");
    CHECK(lc_bench_attn_methods_parse(",", ms, 3, &nm, &err) == LC_ERR_INVALID_ARG && nm == 0, "no method");
    CHECK(lc_bench_attn_methods_parse("naive,bogus", ms, 3, &nm, &err) != LC_OK, "a bad spec refused");

    CHECK_OK(lc_bench_train_kind(&c, "linear", &err), &err);
    CHECK(strcmp(c.model.attention, "linear:elu") == 0, "linear kind: %s", c.model.attention);
    CHECK_OK(lc_bench_train_kind(&c, "naive", &err), &err);
    CHECK(c.attn_backward == LC_TRAIN_BACKWARD_NAIVE, "naive kind");
    CHECK(lc_bench_train_kind(&c, "fast", &err) == LC_ERR_INVALID_ARG, "unknown kind refused");
    const char *kinds[3];
    int nk = 0;
    CHECK_OK(lc_bench_train_kinds_parse("linear,flash", kinds, 3, &nk, &err), &err);
    CHECK(nk == 2 && strcmp(kinds[0], "linear") == 0 && strcmp(kinds[1], "flash") == 0, "2 kinds, got %d", nk);
    CHECK(lc_bench_train_kinds_parse("flash,fla", kinds, 3, &nk, &err) == LC_ERR_INVALID_ARG, "a prefix refused");
    CHECK(lc_bench_train_kinds_parse("flash,naive", kinds, 1, &nk, &err) == LC_ERR_INVALID_ARG, "too many kinds");
}

int main(void) {
    matmul_cells();
    matmul_grid();
    train_cells();
    kv_cells();
    rope_sample_cells();
    tokenize_cells();
    attn_grid_cells();
    tables();
    return lc_test_finish("test_bench_cells");
}
