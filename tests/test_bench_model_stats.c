/*
 * What `bench model` states beside its rows (bench.h), on rows and models
 * built here with known figures:
 *  - lc_bench_spread_of: odd and even counts, one value, none;
 *  - lc_bench_model_kinds_at: ms per token by kind over repeats in the
 *    order --repeat measures them, the shares of the median, the part
 *    outside the layers; refusals of out-of-range indices and repeats;
 *  - lc_bench_model_deltanet_ratio: paired ratios, repeats without DeltaNet
 *    at the first length left out, none at all;
 *  - lc_bench_model_peak_fractions, with and without a peak;
 *  - lc_bench_model_row_json: the keys bench model --json writes, the
 *    fractions only with a peak, fill_s only for synthetic depth;
 *  - lc_bench_model_describe: layer kinds of a window/global pattern, the
 *    weight type; lc_bench_model_warm_up runs and refuses no model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/bench.h"
#include "test_model_util.h"
#include "test_util.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1); }

static void test_spread(void) {
    lc_bench_spread s;
    lc_error err;
    double a[] = {5, 1, 3};
    CHECK_OK(lc_bench_spread_of(a, 3, &s, &err), &err);
    CHECK(s.min == 1 && s.median == 3 && s.max == 5, "odd %g %g %g", s.min, s.median, s.max);
    double b[] = {4, 1, 3, 10};
    CHECK_OK(lc_bench_spread_of(b, 4, &s, &err), &err);
    CHECK(s.min == 1 && s.median == 3.5 && s.max == 10, "even %g %g %g", s.min, s.median, s.max);
    double c[] = {7};
    CHECK_OK(lc_bench_spread_of(c, 1, &s, &err), &err);
    CHECK(s.min == 7 && s.median == 7 && s.max == 7, "one");
    CHECK(lc_bench_spread_of(c, 0, &s, &err) == LC_ERR_INVALID_ARG, "none");
    CHECK(lc_bench_spread_of(NULL, 3, &s, &err) == LC_ERR_INVALID_ARG, "NULL");
}

/* Repeat r of length i: 10 decode tokens; global layers 1 + r + i s, DeltaNet 2 (r + 1)(i + 1) s of which half
 * the mixer, 0.5 s outside. */
static lc_bench_model_row row(int r, int i) {
    lc_bench_model_row b;
    memset(&b, 0, sizeof b);
    b.ctx = 100 * (i + 1);
    b.n_decode = 10;
    b.dc_layer_s[LC_LAYER_GLOBAL] = 1 + r + i;
    b.dc_mixer_s[LC_LAYER_GLOBAL] = 0.25 * (1 + r + i);
    b.dc_layer_s[LC_LAYER_DELTANET] = 2.0 * (r + 1) * (i + 1);
    b.dc_mixer_s[LC_LAYER_DELTANET] = 1.0 * (r + 1) * (i + 1);
    b.decode_s = b.dc_layer_s[LC_LAYER_GLOBAL] + b.dc_layer_s[LC_LAYER_DELTANET] + 0.5;
    return b;
}

static void test_kinds(void) {
    enum { N_CTX = 2, N_REP = 3 };
    lc_bench_model_row rows[N_CTX * N_REP];
    for (int r = 0; r < N_REP; r++)
        for (int i = 0; i < N_CTX; i++) rows[r * N_CTX + i] = row(r, i);
    lc_bench_model_kinds k;
    lc_error err;
    CHECK_OK(lc_bench_model_kinds_at(rows, N_CTX, N_REP, 1, &k, &err), &err);
    /* length 1: global 2, 3, 4 s; DeltaNet 4, 8, 12 s; decode 6.5, 11.5, 16.5 s; over 10 tokens, in ms */
    CHECK(k.ctx == 200, "ctx %lld", (long long)k.ctx);
    CHECK(near(k.decode_ms.min, 650) && near(k.decode_ms.median, 1150) && near(k.decode_ms.max, 1650),
          "decode %g %g %g", k.decode_ms.min, k.decode_ms.median, k.decode_ms.max);
    CHECK(near(k.layer_ms[LC_LAYER_GLOBAL].median, 300) && near(k.mixer_ms[LC_LAYER_GLOBAL].max, 100),
          "global %g, mixer %g", k.layer_ms[LC_LAYER_GLOBAL].median, k.mixer_ms[LC_LAYER_GLOBAL].max);
    CHECK(near(k.layer_ms[LC_LAYER_DELTANET].min, 400) && near(k.mixer_ms[LC_LAYER_DELTANET].median, 400),
          "deltanet %g, mixer %g", k.layer_ms[LC_LAYER_DELTANET].min, k.mixer_ms[LC_LAYER_DELTANET].median);
    CHECK(near(k.layer_share[LC_LAYER_DELTANET], 800.0 / 1150) && k.layer_share[LC_LAYER_WINDOW] == 0,
          "share %g", k.layer_share[LC_LAYER_DELTANET]);
    CHECK(near(k.outside_ms.min, 50) && near(k.outside_ms.max, 50), "outside %g %g", k.outside_ms.min,
          k.outside_ms.max);
    CHECK(lc_bench_model_kinds_at(rows, N_CTX, N_REP, 2, &k, &err) == LC_ERR_INVALID_ARG, "index past the lengths");
    CHECK(lc_bench_model_kinds_at(rows, N_CTX, 0, 0, &k, &err) == LC_ERR_INVALID_ARG, "no repeats");
    CHECK(lc_bench_model_kinds_at(rows, N_CTX, LC_BENCH_MODEL_MAX_REPEAT + 1, 0, &k, &err) == LC_ERR_INVALID_ARG,
          "too many repeats");

    /* DeltaNet at length 1 over length 0 is 2 in every repeat (layers and mixer) */
    lc_bench_spread l, m;
    CHECK(lc_bench_model_deltanet_ratio(rows, N_CTX, N_REP, &l, &m) == N_REP, "pairs");
    CHECK(near(l.min, 2) && near(l.max, 2) && near(m.median, 2), "ratio %g %g %g", l.min, l.max, m.median);
    rows[2 * N_CTX + 1].dc_layer_s[LC_LAYER_DELTANET] *= 4; /* repeat 2: 8 */
    rows[0].dc_mixer_s[LC_LAYER_DELTANET] = 0;              /* repeat 0: left out */
    CHECK(lc_bench_model_deltanet_ratio(rows, N_CTX, N_REP, &l, &m) == 2, "one repeat left out");
    CHECK(near(l.min, 2) && near(l.max, 8) && near(l.median, 5), "ratio %g %g %g", l.min, l.median, l.max);
    for (int q = 0; q < N_CTX * N_REP; q++) rows[q].dc_layer_s[LC_LAYER_DELTANET] = 0;
    CHECK(lc_bench_model_deltanet_ratio(rows, N_CTX, N_REP, &l, &m) == 0 && l.max == 0, "no DeltaNet");

    double mm, bw;
    rows[0].pf_matmul_gflops = 50, rows[0].dc_gbs = 5;
    const lc_peak pk = {.fma_gflops = 200, .read_gbs = 20};
    lc_bench_model_peak_fractions(&rows[0], &pk, &mm, &bw);
    CHECK(near(mm, 0.25) && near(bw, 0.25), "fractions %g %g", mm, bw);
    lc_bench_model_peak_fractions(&rows[0], NULL, &mm, &bw);
    CHECK(mm == 0 && bw == 0, "no peak");
}

/* The row's JSON (a row of row(1, 0) with fractions) into buf. */
static void row_json(bool synthetic, const lc_peak *pk, char *buf, size_t len) {
    lc_bench_model_row b = row(1, 0);
    b.pf_matmul_gflops = 50, b.dc_gbs = 5, b.fill_s = 0.125;
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_bench_model_row_json(&w, &b, 2, synthetic, pk);
    lc_json_finish(&w);
    fclose(f);
    snprintf(buf, len, "%s", text ? text : "");
    free(text);
}

static void test_json(void) {
    char buf[4096];
    const lc_peak pk = {.fma_gflops = 200, .read_gbs = 20};
    row_json(true, &pk, buf, sizeof buf);
    static const char *const keys[] = {"{\"ctx\":100,\"repeat\":2,",
                                       "\"kv_bytes\":",
                                       "\"deltanet_as_kv_bytes\":",
                                       "\"fill_s\":0.125,",
                                       "\"prefill_tok_s\":",
                                       "\"prefill_matmul_peak_frac\":0.25,",
                                       "\"decode_tokens\":10,",
                                       "\"decode_s\":6.5,",
                                       "\"decode_bw_frac\":0.25,",
                                       "\"decode_global_layers_s\":2,",
                                       "\"decode_deltanet_mixer_s\":2",
                                       "\"decode_window_layers_s\":0"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK(strstr(buf, keys[i]), "%s in %s", keys[i], buf);
    row_json(false, NULL, buf, sizeof buf);
    CHECK(!strstr(buf, "\"fill_s\"") && !strstr(buf, "peak_frac") && !strstr(buf, "bw_frac") &&
              strstr(buf, "\"decode_gbs\":5"),
          "no peak, not synthetic: %s", buf);
}

static void test_describe(void) {
    lc_model_config c = test_llama_config(32, 48, 4, 2, 1, 16, 40);
    c.fam.window = 8;
    c.fam.window_period = 2; /* layers 0 and 2 window, 1 and 3 global */
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F16, 1, &m, &err), &err);
    if (!m) return;
    lc_bench_model_info info;
    lc_bench_model_describe(m, &info);
    CHECK(info.layers[LC_LAYER_GLOBAL] == 2 && info.layers[LC_LAYER_WINDOW] == 2 &&
              info.layers[LC_LAYER_DELTANET] == 0,
          "layers %d %d %d", info.layers[0], info.layers[1], info.layers[2]);
    CHECK(info.weight_type == LC_DTYPE_F16, "weight type %s", lc_dtype_name(info.weight_type));
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_threads = 1;
    CHECK_OK(lc_bench_model_warm_up(m, &co, &err), &err);
    CHECK(lc_bench_model_warm_up(NULL, &co, &err) == LC_ERR_INVALID_ARG, "no model");
    lc_model_free(m);
}

int main(void) {
    test_spread();
    test_kinds();
    test_json();
    test_describe();
    return lc_test_finish("test_bench_model_stats");
}
