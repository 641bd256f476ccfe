/*
 * bench model's faces (bench.h: lc_bench_model_print_head, _print_row,
 * _print_summary, _write_json) on rows built here with known figures and a
 * random model with window layers:
 *  - a row: the ctx, the prefill and decode splits in % of their totals,
 *    MB/token, GB/s, KV MiB at fixed widths; a synthetic row says so and has
 *    no prefill figures;
 *  - the heading: the model's shape and weight type, cpu and threads, the
 *    cache types, the peak only when measured, the synthetic-depth note;
 *  - the summary: the per-kind table over the complete repeats and the
 *    memory table for a model with window layers, the fractions of the
 *    peak only with one; nothing for a model of global layers only;
 *  - the JSON document: its fields, the repeat of each row, sp_ranks only
 *    with --sp; refusals of no run, no model and no rows;
 *  - lc_bench_model_measure: the rows of every repeat in order (lengths one
 *    by one, or interleaved), each printed as it comes; refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/bench.h"
#include "longctx/model_info.h"
#include "test_model_util.h"
#include "test_util.h"

/* What f(...) wrote, in a string the caller frees. */
typedef struct {
    char *text;
    size_t n;
    FILE *f;
} capture;
static FILE *cap_open(capture *c) {
    memset(c, 0, sizeof *c);
    return c->f = open_memstream(&c->text, &c->n);
}
static const char *cap_close(capture *c) {
    fclose(c->f);
    return c->text ? c->text : "";
}

/* Length ctx: prefill 1 s (matmul 0.5, attention 0.25, other 0.25), decode 2 s of 8 tokens (matmul 1.5,
 * attention 0.5), 2 MB per token at 4 GB/s, 3 MiB of cache of which 1 MiB window rings. */
static lc_bench_model_row row(int64_t ctx) {
    lc_bench_model_row b;
    memset(&b, 0, sizeof b);
    b.ctx = ctx;
    b.n_decode = 8;
    b.prefill_s = 1, b.prefill_tok_s = (double)ctx;
    b.pf_matmul_s = 0.5, b.pf_attn_s = 0.25, b.pf_other_s = 0.25, b.pf_matmul_gflops = 12.5;
    b.decode_s = 2, b.decode_tok_s = 4, b.dc_matmul_s = 1.5, b.dc_attn_s = 0.5;
    b.dc_bytes_per_tok = 2e6, b.dc_gbs = 4;
    b.kv_bytes = 3 * 1048576.0, b.ring_bytes = 1048576.0, b.all_full_kv_bytes = 6 * 1048576.0;
    b.dc_layer_s[LC_LAYER_GLOBAL] = 1, b.dc_layer_s[LC_LAYER_WINDOW] = 0.5;
    b.dc_mixer_s[LC_LAYER_GLOBAL] = 0.25, b.dc_mixer_s[LC_LAYER_WINDOW] = 0.125;
    return b;
}

static void test_row(void) {
    capture c;
    lc_error err;
    lc_bench_model_row b = row(128);
    CHECK_OK(lc_bench_model_print_row(cap_open(&c), &b, false, &err), &err);
    const char *want = "     128 |      128.0   50.0%   25.0%   25.0%      12.5 |       4.0   75.0%   25.0%    0.0%"
                       "      2.00      4.00 |      3.00\n";
    const char *got = cap_close(&c);
    CHECK(strcmp(got, want) == 0, "row:\n%s\nwant:\n%s", got, want);
    free(c.text);
    CHECK_OK(lc_bench_model_print_row(cap_open(&c), &b, true, &err), &err);
    got = cap_close(&c);
    CHECK(strncmp(got, "     128 |  synthetic       -       -       -         - |       4.0   75.0%", 74) == 0,
          "synthetic row: %s", got);
    free(c.text);
    CHECK(lc_bench_model_print_row(NULL, &b, false, &err) == LC_ERR_INVALID_ARG, "no file");
}

static void test_faces(void) {
    lc_model_config cfg = test_llama_config(32, 48, 4, 2, 1, 16, 40);
    cfg.fam.window = 8;
    cfg.fam.window_period = 2; /* layers 0 and 2 window, 1 and 3 global */
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&cfg, LC_DTYPE_F16, 1, &m, &err), &err);
    if (!m) return;
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_threads = 3;
    const int64_t ctxs[2] = {128, 256};
    lc_bench_model_run r;
    lc_bench_model_run_init(&r, "m.gguf", m, &co);
    CHECK(r.threads == 3 && r.info.layers[LC_LAYER_WINDOW] == 2 && r.cpu[0], "init: %d threads, %d window layers",
          r.threads, r.info.layers[LC_LAYER_WINDOW]);
    r.ctxs = ctxs, r.n_ctx = 2, r.synthetic = true;
    lc_bench_model_row rows[5] = {row(128), row(256), row(128), row(256), row(128)}; /* 2 repeats and a part */
    rows[2].decode_s = 4;

    capture c;
    CHECK_OK(lc_bench_model_print_head(cap_open(&c), &r, &err), &err);
    const char *got = cap_close(&c);
    char want[256];
    snprintf(want, sizeof want,
             "model m.gguf: %lld params, f16 weights, 4 layers, dim 32, heads 2/1\ncpu %s, 3 threads",
             (long long)lc_model_n_params(&m->cfg), r.cpu);
    CHECK(strncmp(got, want, strlen(want)) == 0, "head:\n%s\nwant:\n%s", got, want);
    const double huge = lc_model_huge_page_share(m);
    char huge_line[64] = "\n";
    if (huge >= 0) snprintf(huge_line, sizeof huge_line, "\nweights in 2 MiB pages: %.0f %%\n", 100 * huge);
    char kv_syn[160];
    snprintf(kv_syn, sizeof kv_syn, "kv f16/f16%ssynthetic depth (--fill-kv random)", huge_line);
    CHECK(huge == -1 || (huge >= 0 && huge <= 1), "huge-page share %g", huge);
    CHECK(strstr(got, kv_syn) && !strstr(got, "peak") &&
              strstr(got, "\n\n     ctx |  prefill/s  matmul    attn   other   mm GF/s |  decode/s"),
          "head: %s", got);
    free(c.text);

    CHECK_OK(lc_bench_model_print_summary(cap_open(&c), &r, rows, 5, &err), &err);
    got = cap_close(&c);
    CHECK(strstr(got, "(median [min, max] over 2 runs)"), "repeats: %s", got);
    /* length 128: decode 2 and 4 s of 8 tokens, 250 and 500 ms: median 375 */
    CHECK(strstr(got, "     128  decode    375.00 [   250.00,    500.00] ms/token\n"), "kinds: %s", got);
    CHECK(strstr(got, " 2 window       62.50 [    62.50,     62.50]  mixer     15.62"), "window kind: %s", got);
    CHECK(strstr(got, "     256 |       3.00       2.00       1.00       0.00 |         6.00         0.00\n"),
          "memory: %s", got);
    CHECK(!strstr(got, "vs FMA peak") && !strstr(got, "deltanet layers"), "no peak, no DeltaNet: %s", got);
    free(c.text);
    r.peak.fma_gflops = 50, r.peak.read_gbs = 16;
    CHECK_OK(lc_bench_model_print_summary(cap_open(&c), &r, rows, 2, &err), &err);
    got = cap_close(&c);
    CHECK(strstr(got, "\nprefill matmul vs FMA peak: 128: 25%, 256: 25%\ndecode bytes/s vs read bandwidth: 128: 25%"),
          "fractions: %s", got);
    free(c.text);

    r.sp_ranks = 2;
    CHECK_OK(lc_bench_model_write_json(cap_open(&c), &r, rows, 3, &err), &err);
    got = cap_close(&c);
    CHECK(strncmp(got, "{\"model\":\"m.gguf\",\"params\":", 27) == 0 &&
              strstr(got, "\"threads\":3,\"attn\":\"default\"") &&
              strstr(got, "\"sp_ranks\":2,\"depth\":\"synthetic (--fill-kv random)\",\"layers_per_kind\":{") &&
              strstr(got, "\"window\":2") && strstr(got, "\"peak_fma_gflops\":50") &&
              strstr(got, "{\"ctx\":128,\"repeat\":1,"),
          "json: %s", got);
    free(c.text);

    CHECK(lc_bench_model_print_summary(stdout, NULL, rows, 2, &err) == LC_ERR_INVALID_ARG, "no run");
    CHECK(lc_bench_model_write_json(stdout, &r, NULL, 2, &err) == LC_ERR_INVALID_ARG, "no rows");
    /* the measurement: 2 lengths x 2 repeats, synthetic depth, one by one and interleaved */
    co.n_threads = 1;
    const int64_t small[2] = {16, 32};
    r.ctxs = small, r.sp_ranks = 0;
    for (int inter = 0; inter < 2; inter++) {
        r.interleave = inter;
        lc_bench_model_row mr[4];
        int n = -1;
        CHECK_OK(lc_bench_model_measure(m, &r, 2, 1, 2, mr, &n, cap_open(&c), &err), &err);
        const char *got_text = cap_close(&c);
        CHECK(n == 4 && mr[0].ctx == 16 && mr[1].ctx == 32 && mr[2].ctx == 16 && mr[3].ctx == 32 &&
                  mr[3].n_decode == 2 && mr[3].decode_tok_s > 0,
              "measure (interleave %d): %d rows", inter, n);
        CHECK(!strncmp(got_text, "      16 |  synthetic", 21) && strstr(got_text, "\n      32 |  synthetic") &&
                  strlen(got_text) > 0 && got_text[strlen(got_text) - 1] == '\n',
              "rows printed: %s", got_text);
        free(c.text);
    }
    lc_bench_model_row one[1];
    int n1 = -1;
    CHECK(lc_bench_model_measure(m, &r, 2, 1, 0, one, &n1, NULL, &err) == LC_ERR_INVALID_ARG && n1 == 0, "0 repeats");
    r.model = NULL;
    CHECK(lc_bench_model_print_head(stdout, &r, &err) == LC_ERR_INVALID_ARG, "no model");
    lc_model_free(m);
}

int main(void) {
    test_row();
    test_faces();
    return lc_test_finish("test_bench_model_report");
}
