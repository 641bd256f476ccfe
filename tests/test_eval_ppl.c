/*
 * Perplexity with a sliding window (longctx/eval.h), with fake models:
 *
 *  - the window plan: for every n, W, S in a range, every token but the first
 *    is scored exactly once, the first token never, each window holds at most
 *    W tokens, a scored token has at least W - S tokens of context after the
 *    first window, and the last window ends at n (checked against the plan
 *    written as a plain loop here); huge n does not overflow;
 *  - a fake model with known log-probabilities (depending on the token and
 *    on how many tokens precede it in the sequence): ppl and every bucket's
 *    mean loss equal the values computed independently here, and two small
 *    cases are checked against numbers worked out by hand;
 *  - refusals: stride outside 1..W-1, window longer than the text or the
 *    context, a model that returns NaN.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/eval.h"
#include "test_util.h"

/* ---- The plan ---------------------------------------------------------------- */

static void test_plan(void) {
    const int64_t n_max = lc_test_quick() ? 40 : 90;
    int bad = 0;
    for (int64_t n = 2; n <= n_max; n++)
        for (int64_t W = 2; W <= 14; W++)
            for (int64_t S = 1; S <= W - 1; S++) {
                int *seen = calloc((size_t)n, sizeof(int));
                /* the plan as a loop: windows start at 0, S, 2S, ... until one reaches n */
                int64_t want_windows = 0, prev_end = 1;
                for (int64_t start = 0;; start += S) {
                    const int64_t end = LC_MIN(start + W, n);
                    want_windows++;
                    lc_eval_window win;
                    if (!lc_eval_ppl_window(n, W, S, want_windows - 1, &win) || win.start != start ||
                        win.end != end || win.score_from != LC_MAX(prev_end, start + 1))
                        bad++;
                    prev_end = end;
                    if (end == n) break;
                }
                lc_eval_window win;
                int64_t k = 0;
                for (; lc_eval_ppl_window(n, W, S, k, &win); k++) {
                    if (win.end - win.start > W || win.end > n || win.score_from < win.start + 1) bad++;
                    for (int64_t j = win.score_from; j < win.end; j++) {
                        seen[j]++;
                        if (k > 0 && j - win.start < W - S) bad++; /* context after the first window */
                    }
                }
                if (k != want_windows) bad++;
                if (seen[0] != 0) bad++;
                for (int64_t j = 1; j < n; j++)
                    if (seen[j] != 1) bad++;
                free(seen);
            }
    CHECK(bad == 0, "%d violations of the window plan", bad);
    /* invalid plans */
    lc_eval_window w;
    CHECK(!lc_eval_ppl_window(10, 5, 5, 0, &w) && !lc_eval_ppl_window(10, 5, 0, 0, &w) &&
              !lc_eval_ppl_window(1, 5, 2, 0, &w) && !lc_eval_ppl_window(10, 1, 1, 0, &w) &&
              !lc_eval_ppl_window(10, 5, 2, -1, &w),
          "bad plans are refused");
    /* huge n: the k-th window is found in O(1) and nothing overflows */
    const int64_t big = (int64_t)1 << 60, W = 4096, S = 4095;
    CHECK(lc_eval_ppl_window(big, W, S, 1000000, &w) && w.start == 1000000 * S && w.end == w.start + W &&
              w.score_from == w.start + 1,
          "window 1e6 of 2^60 tokens: [%lld, %lld) from %lld", (long long)w.start, (long long)w.end,
          (long long)w.score_from);
    CHECK(!lc_eval_ppl_window(big, W, S, INT64_MAX / 2, &w), "window past the end of 2^60 tokens");
    CHECK(lc_eval_ppl_window(INT64_MAX, 3, 2, INT64_MAX / 2 - 1, &w), "near INT64_MAX");
}

/* ---- A fake model with known log-probabilities ------------------------------------ */

typedef struct {
    lc_eval_model base;
    int64_t n_hist;   /* tokens in the sequence */
    int64_t calls, tokens_fed;
    bool nan_at_5;    /* return NaN for the 6th token of a window */
    bool constant;    /* ln p = -ln 2 everywhere */
} lp_model;

/* ln p(token | ctx tokens before it): token-dependent, getting better with context. */
static double known_lp(int32_t tok, int64_t ctx) { return -(0.5 + 0.1 * (tok % 7)) - 0.3 / (double)ctx; }

static void lp_reset(lc_eval_model *m) { ((lp_model *)m)->n_hist = 0; }

static lc_status lp_append(lc_eval_model *m, const int32_t *tokens, int64_t n, float *out, lc_error *err) {
    lp_model *f = (lp_model *)m;
    if (f->n_hist + n > m->n_ctx) return lc_fail(err, LC_ERR_TOO_LARGE, "fake: context full");
    f->calls++;
    f->tokens_fed += n;
    for (int64_t i = 0; i < n; i++) {
        const int64_t ctx = f->n_hist + i;
        out[i] = ctx == 0 ? NAN : f->constant ? (float)-log(2.0) : (float)known_lp(tokens[i], ctx);
        if (f->nan_at_5 && ctx == 5) out[i] = NAN;
    }
    f->n_hist += n;
    return LC_OK;
}

static lc_status lp_generate(lc_eval_model *m, const int32_t *p, int64_t n, int64_t max_new, int32_t *out,
                             int64_t *n_out, lc_error *err) {
    (void)m, (void)p, (void)n, (void)max_new, (void)out, (void)n_out;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "fake");
}

static const lc_eval_model_ops lp_ops = {lp_generate, lp_reset, lp_append, NULL};

static void lp_init(lp_model *f, int64_t n_ctx) {
    memset(f, 0, sizeof *f);
    f->base.ops = &lp_ops;
    f->base.impl = f;
    f->base.n_ctx = n_ctx;
    f->base.eos_id = -1;
}

static void test_known_model(void) {
    const int64_t n = lc_test_quick() ? 400 : 1000; /* > the largest window (333) */
    int32_t *tokens = malloc((size_t)n * sizeof(int32_t));
    lc_rng r;
    lc_rng_seed(&r, 11);
    for (int64_t i = 0; i < n; i++) tokens[i] = (int32_t)lc_rng_below(&r, 500);
    const int64_t Ws[4] = {2, 17, 64, 333}, Ss[4][3] = {{1, 1, 1}, {16, 5, 1}, {63, 32, 7}, {332, 100, 13}};
    for (int wi = 0; wi < 4; wi++)
        for (int si = 0; si < 3; si++) {
            const int64_t W = Ws[wi], S = Ss[wi][si];
            lp_model f;
            lp_init(&f, 400);
            lc_eval_ppl_config c = {W, S, NULL, NULL};
            lc_eval_ppl_result res;
            lc_error err;
            CHECK_OK(lc_eval_ppl_run(&f.base, tokens, n, &c, &res, &err), &err);
            /* independent: windows as a loop, the fake's formula, buckets by floor(log2(i)) + 1 */
            double nll = 0.0, bnll[LC_EVAL_MAX_BUCKETS] = {0};
            int64_t cnt = 0, bcnt[LC_EVAL_MAX_BUCKETS] = {0}, windows = 0, fed = 0, prev_end = 1;
            for (int64_t start = 0;; start += S) {
                const int64_t end = LC_MIN(start + W, n);
                windows++;
                fed += end - start;
                for (int64_t j = LC_MAX(prev_end, start + 1); j < end; j++) {
                    const int64_t i = j - start;
                    const double v = -(double)(float)known_lp(tokens[j], i);
                    int b = 1;
                    while (((int64_t)1 << b) <= i) b++;
                    nll += v, cnt++;
                    bnll[b] += v, bcnt[b]++;
                }
                prev_end = end;
                if (end == n) break;
            }
            CHECK(res.n_windows == windows && res.n_scored == n - 1 && cnt == n - 1 && res.n_evaluated == fed &&
                      f.calls == windows && f.tokens_fed == fed,
                  "W %lld S %lld: %lld windows (want %lld), %lld scored, %lld evaluated (want %lld)", (long long)W,
                  (long long)S, (long long)res.n_windows, (long long)windows, (long long)res.n_scored,
                  (long long)res.n_evaluated, (long long)fed);
            CHECK(fabs(res.nll - nll) <= 1e-9 * nll && fabs(res.ppl - exp(nll / (double)cnt)) <= 1e-12 * res.ppl,
                  "W %lld S %lld: nll %.12g want %.12g, ppl %.12g", (long long)W, (long long)S, res.nll, nll, res.ppl);
            int bad = 0;
            for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++)
                if (res.bucket_count[b] != bcnt[b] || fabs(res.bucket_nll[b] - bnll[b]) > 1e-9 * (1 + bnll[b])) bad++;
            CHECK(bad == 0 && res.bucket_count[0] == 0, "W %lld S %lld: %d buckets differ", (long long)W, (long long)S,
                  bad);
            CHECK(res.window == W && res.stride == S, "W/S echoed");
        }
    free(tokens);
}

static void test_by_hand(void) {
    int32_t tokens[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    lp_model f;
    lp_init(&f, 16);
    f.constant = true;
    lc_eval_ppl_result res;
    lc_error err;
    /* W 5, S 4 (the default W-1): [0,5) scores 1..4 at positions 1..4; [4,9) scores 5..8 at 1..4 */
    lc_eval_ppl_config c = {5, 0, NULL, NULL};
    CHECK_OK(lc_eval_ppl_run(&f.base, tokens, 9, &c, &res, &err), &err);
    CHECK(fabs(res.ppl - 2.0) < 1e-6 && res.n_windows == 2 && res.stride == 4 && res.n_scored == 8,
          "by hand: ppl %g, %lld windows, stride %lld", res.ppl, (long long)res.n_windows, (long long)res.stride);
    CHECK(res.bucket_count[1] == 2 && res.bucket_count[2] == 4 && res.bucket_count[3] == 2 && res.n_buckets == 4,
          "by hand: bucket counts %lld %lld %lld (%d buckets)", (long long)res.bucket_count[1],
          (long long)res.bucket_count[2], (long long)res.bucket_count[3], res.n_buckets);
    /* W 5, S 2: [0,5) scores 1..4; [2,7) scores 5,6 at 3,4; [4,9) scores 7,8 at 3,4 */
    c.stride = 2;
    CHECK_OK(lc_eval_ppl_run(&f.base, tokens, 9, &c, &res, &err), &err);
    CHECK(res.n_windows == 3 && res.bucket_count[1] == 1 && res.bucket_count[2] == 4 && res.bucket_count[3] == 3 &&
              res.n_evaluated == 15,
          "by hand S 2: %lld windows, buckets %lld %lld %lld, %lld evaluated", (long long)res.n_windows,
          (long long)res.bucket_count[1], (long long)res.bucket_count[2], (long long)res.bucket_count[3],
          (long long)res.n_evaluated);
    /* JSON of a cell: buckets start at position 1 */
    char *js = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&js, &len);
    lc_json_writer w;
    lc_json_init(&w, mf, false);
    lc_json_begin_object(&w);
    lc_eval_ppl_write_json(&w, &res, false);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    fclose(mf);
    CHECK(strstr(js, "\"length\":5,\"stride\":2,\"windows\":3,\"tokens\":8,\"evaluated\":15,") &&
              strstr(js, "\"buckets\":[{\"lo\":1,\"hi\":1,\"tokens\":1,\"loss\":0.69314") &&
              strstr(js, "{\"lo\":4,\"hi\":7,\"tokens\":3,") && !strstr(js, "seconds"),
          "JSON: %s", js);
    free(js);
}

static void test_refusals(void) {
    int32_t tokens[20] = {0};
    lp_model f;
    lp_init(&f, 16);
    lc_eval_ppl_result res;
    lc_error err;
    lc_eval_ppl_config c = {8, 8, NULL, NULL};
    CHECK(lc_eval_ppl_run(&f.base, tokens, 20, &c, &res, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "stride"),
          "stride = W: %s", err.msg);
    c.window = 1;
    c.stride = 0;
    CHECK(lc_eval_ppl_run(&f.base, tokens, 20, &c, &res, &err) == LC_ERR_INVALID_ARG, "W 1: %s", err.msg);
    c.window = 21;
    f.base.n_ctx = 64;
    CHECK(lc_eval_ppl_run(&f.base, tokens, 20, &c, &res, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "longer"),
          "W > n: %s", err.msg);
    c.window = 17;
    f.base.n_ctx = 16;
    CHECK(lc_eval_ppl_run(&f.base, tokens, 20, &c, &res, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "raise -c"),
          "W > n_ctx: %s", err.msg);
    CHECK(lc_eval_ppl_run(&f.base, tokens, 1, &c, &res, &err) == LC_ERR_INVALID_ARG, "1 token: %s", err.msg);
    c.window = 8;
    f.nan_at_5 = true;
    CHECK(lc_eval_ppl_run(&f.base, tokens, 20, &c, &res, &err) == LC_ERR_INTERNAL, "NaN from the model: %s", err.msg);
}

int main(void) {
    test_plan();
    test_known_model();
    test_by_hand();
    test_refusals();
    return lc_test_finish("test_eval_ppl");
}
