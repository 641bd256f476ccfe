/*
 * The evaluation suite on a real tiny checkpoint (../shared/models/
 * aidreams260K.gguf, a 260K-parameter story model with a 128-token training
 * context; skipped when ../shared is absent):
 *
 *  - passkey end to end at tiny lengths: a full grid of valid cells, the heat
 *    map and the JSON written (its accuracy is whatever a story model gets:
 *    not asserted), the same answers with and without prefix reuse;
 *  - ppl of a short generated text equals exp(mean NLL) computed here through
 *    lc_context_eval's logits (own window loop, log-softmax in double), for
 *    disjoint and overlapping windows, with the eval model's logits chunked
 *    differently from the reference's;
 *  - retention runs and its masses sum to 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/eval.h"
#include "longctx/runtime.h"
#include "test_util.h"

typedef struct {
    char texts[64][96];
    int n;
} answers;

static bool keep_answer(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                        const char *generated, double score, double recall) {
    answers *a = user;
    (void)length, (void)depth, (void)trial, (void)s, (void)score, (void)recall;
    if (a->n < 64) snprintf(a->texts[a->n++], 96, "%s", generated);
    return true;
}

static lc_context *make_ctx(const lc_model *m, int64_t n_ctx, int64_t n_batch) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    o.n_threads = 1;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    return ctx;
}

static void test_passkey(const lc_model *m) {
    lc_context *ctx = make_ctx(m, 132, 512);
    if (!ctx) return;
    lc_eval_grid_config c;
    lc_eval_grid_config_init(&c, LC_TASK_PASSKEY);
    c.lengths[0] = 100;
    c.lengths[1] = 128;
    c.n_lengths = 2;
    lc_eval_grid_even_depths(&c, 3, NULL);
    c.trials = 2;
    c.on_trial = keep_answer;
    answers a[2];
    memset(a, 0, sizeof a);
    lc_eval_grid g[2];
    lc_error err;
    for (int r = 0; r < 2; r++) {
        lc_eval_model *em = NULL;
        CHECK_OK(lc_eval_model_from_context(ctx, m->tokenizer, -1, r == 0, &em, &err), &err);
        c.trial_user = &a[r];
        CHECK_OK(lc_eval_grid_run(em, &c, &g[r], &err), &err);
        lc_eval_model_free(em);
        if (!g[r].cells) return;
    }
    CHECK(g[0].n_trials == 12 && g[0].n_lengths == 2 && g[0].n_depths == 3, "%lld trials", (long long)g[0].n_trials);
    for (int i = 0; i < 6; i++) {
        const lc_eval_cell *cell = &g[0].cells[i];
        CHECK(cell->trials == 2 && cell->accuracy >= 0 && cell->accuracy <= 1 && cell->recall >= 0 &&
                  cell->mean_tokens > 60 && cell->mean_tokens <= (double)cell->length,
              "cell %d: %d trials, accuracy %g, %g tokens", i, cell->trials, cell->accuracy, cell->mean_tokens);
    }
    int same = 0;
    for (int i = 0; i < a[0].n; i++) same += strcmp(a[0].texts[i], a[1].texts[i]) == 0;
    CHECK(a[0].n == 12 && same == 12, "prefix reuse changes %d of %d answers", a[0].n - same, a[0].n);
    CHECK(g[0].tokens_reused > 0 && g[1].tokens_reused == 0, "reused %lld / %lld", (long long)g[0].tokens_reused,
          (long long)g[1].tokens_reused);
    /* pictures and JSON */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_OK(lc_eval_grid_svg(f, &g[0], "aidreams260K passkey", &err), &err);
    CHECK_OK(lc_eval_depth_svg(f, &g[0], "depth", &err), &err);
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_json_begin_object(&w);
    lc_eval_grid_write_json(&w, &g[0], true);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    fclose(f);
    CHECK(buf && strstr(buf, "</svg>") && strstr(buf, "\"cells\":[{\"length\":100,\"depth\":0,\"trials\":2,"),
          "outputs written");
    free(buf);
    lc_eval_grid_free(&g[0]);
    lc_eval_grid_free(&g[1]);
    lc_context_free(ctx);
}

/* exp(mean NLL) over the window plan, computed with lc_context_eval here. */
static double reference_ppl(const lc_model *m, const int32_t *tok, int64_t n, int64_t W, int64_t S) {
    lc_context *ctx = make_ctx(m, W, W);
    if (!ctx) return NAN;
    const int32_t V = m->cfg.vocab_size;
    float *logits = malloc((size_t)W * V * sizeof(float));
    double nll = 0.0;
    int64_t cnt = 0, prev_end = 1;
    lc_error err;
    for (int64_t start = 0;; start += S) {
        const int64_t end = LC_MIN(start + W, n);
        lc_context_reset(ctx);
        CHECK_OK(lc_context_eval(ctx, tok + start, end - start, logits, true, &err), &err);
        for (int64_t j = LC_MAX(prev_end, start + 1); j < end; j++) {
            const float *l = logits + (size_t)(j - start - 1) * V;
            double mx = -INFINITY, z = 0.0;
            for (int32_t i = 0; i < V; i++) mx = fmax(mx, l[i]);
            for (int32_t i = 0; i < V; i++) z += exp((double)l[i] - mx);
            nll -= (double)l[tok[j]] - mx - log(z);
            cnt++;
        }
        prev_end = end;
        if (end == n) break;
    }
    free(logits);
    lc_context_free(ctx);
    return exp(nll / (double)cnt);
}

static void test_ppl(const lc_model *m) {
    /* a short generated story-like text */
    const size_t need = lc_filler_text(3, 40, NULL, 0);
    char *text = malloc(need + 1);
    lc_filler_text(3, 40, text, need + 1);
    int64_t n = 0;
    lc_error err;
    lc_tokenizer_encode(m->tokenizer, text, need, true, NULL, 0, &n, &err);
    int32_t *tok = malloc((size_t)n * sizeof(int32_t));
    CHECK_OK(lc_tokenizer_encode(m->tokenizer, text, need, true, tok, n, &n, &err), &err);
    CHECK(n > 250, "%lld tokens of text", (long long)n);
    lc_context *ctx = make_ctx(m, 128, 24); /* logits in chunks of 24 */
    lc_eval_model *em = NULL;
    if (ctx) CHECK_OK(lc_eval_model_from_context(ctx, m->tokenizer, -1, false, &em, &err), &err);
    const int64_t W[3] = {64, 128, 100}, S[3] = {63, 40, 99};
    for (int i = 0; i < 3 && em; i++) {
        lc_eval_ppl_config c = {W[i], S[i], NULL, NULL};
        lc_eval_ppl_result r;
        CHECK_OK(lc_eval_ppl_run(em, tok, n, &c, &r, &err), &err);
        const double ref = reference_ppl(m, tok, n, W[i], S[i]);
        CHECK(fabs(r.ppl - ref) <= 1e-5 * ref && r.n_scored == n - 1, "W %lld S %lld: ppl %.8g, reference %.8g",
              (long long)W[i], (long long)S[i], r.ppl, ref);
        CHECK(r.ppl > 1.0 && r.ppl < 512.0, "ppl %g within (1, vocab)", r.ppl);
    }
    lc_eval_model_free(em);
    lc_context_free(ctx);
    free(tok);
    free(text);
}

static void test_retention(const lc_model *m) {
    lc_context *ctx = make_ctx(m, 132, 512);
    if (!ctx) return;
    lc_eval_retention_config c;
    lc_eval_retention_config_init(&c);
    c.grid.lengths[0] = 128;
    c.grid.n_lengths = 1;
    lc_eval_grid_even_depths(&c.grid, 3, NULL);
    c.probes[1] = 40;
    c.n_probes = 2;
    lc_eval_retention r;
    lc_error err;
    CHECK_OK(lc_eval_retention_run(ctx, m->tokenizer, -1, &c, &r, &err), &err);
    if (r.mass) {
        CHECK(r.n_layers == 4 && r.n_heads == 4 && r.n_rows == 6 && r.grid.n_trials == 3, "%d layers, %lld rows",
              r.n_layers, (long long)r.n_rows);
        double worst = 0.0;
        for (int32_t lh = 0; lh < r.n_layers * r.n_heads; lh++) {
            double s = 0.0;
            for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++) s += r.mass[(size_t)lh * LC_EVAL_MAX_BUCKETS + b];
            worst = fmax(worst, fabs(s - 1.0));
        }
        CHECK(worst < 1e-6, "masses sum to 1 (worst %g)", worst);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK_OK(lc_eval_retention_svg(f, &r, "retention", &err), &err);
        fclose(f);
        CHECK(buf && strstr(buf, "layer 3"), "retention SVG has a line per layer");
        free(buf);
        lc_eval_retention_free(&r);
    }
    lc_context_free(ctx);
}

int main(void) {
    char path[512];
    lc_test_shared("models/aidreams260K.gguf", path, sizeof path);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
    if (m && m->tokenizer) {
        test_passkey(m);
        test_ppl(m);
        test_retention(m);
    }
    lc_model_free(m);
    return lc_test_finish("test_eval_real");
}
