/*
 * lc_context_kv_read / lc_context_kv_append (FULL policy): rows copied out of
 * one context and appended into another make it continue exactly as the
 * first did. On random models with f32, f16 and q8_0 caches, 1 and 3 threads:
 *
 *  - context A evaluates T[0, k) then T[k, n); context B gets A's rows of
 *    [0, k) appended (from A read after its first chunk) and evaluates
 *    T[k, n): B's logits equal A's bit for bit, and so do all of B's rows
 *    afterwards (read back) — the copy carries everything the forward pass
 *    reads (a test that copied nothing, or the wrong rows, fails: a context
 *    given random rows gives other logits);
 *  - rows appended in two pieces equal rows appended at once;
 *  - refused: other policies (window, sinks, shift, h2o: LC_ERR_UNSUPPORTED,
 *    row bytes 0), positions not held, a short buffer, a wrong size, a token
 *    outside the vocabulary, more rows than n_ctx holds.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/runtime.h"
#include "runtime/runtime_internal.h"
#include "test_util.h"

static lc_model *make_model(int32_t layers, int32_t kv_heads, int32_t vocab, uint64_t seed) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.head_dim = 32;
    c.n_heads = 4;
    c.dim = c.n_heads * c.head_dim;
    c.hidden_dim = 2 * c.dim + 8;
    c.n_layers = layers;
    c.n_kv_heads = kv_heads;
    c.vocab_size = vocab;
    c.ctx_train = 256;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, c.head_dim);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, seed, &m, &err) != LC_OK) {
        fprintf(stderr, "random model: %s\n", err.msg);
        return NULL;
    }
    return m;
}

static lc_context *make_ctx(const lc_model *m, const char *policy, int64_t n_ctx, lc_dtype t, int threads) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) return NULL;
    o.n_ctx = n_ctx;
    o.n_batch = 16;
    o.k_type = o.v_type = t;
    o.n_threads = threads;
    lc_context *ctx = NULL;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) {
        fprintf(stderr, "context: %s\n", err.msg);
        return NULL;
    }
    return ctx;
}

static void test_copy(lc_dtype t, int threads) {
    lc_model *m = make_model(3, 2, 59, 7 + (uint64_t)t);
    CHECK(m, "model");
    if (!m) return;
    const int64_t n = 45, k = 29, n_ctx = 64;
    int32_t toks[45];
    uint64_t r = 12345;
    for (int64_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        toks[i] = (int32_t)((r >> 33) % 59);
    }
    lc_context *a = make_ctx(m, NULL, n_ctx, t, threads), *b = make_ctx(m, NULL, n_ctx, t, threads),
               *c = make_ctx(m, NULL, n_ctx, t, threads);
    CHECK(a && b && c, "contexts");
    if (!a || !b || !c) goto out;
    lc_error err;
    const size_t row = lc_context_kv_row_bytes(a);
    CHECK(row > 0, "row bytes %zu", row);
    char *rows = malloc(row * (size_t)n), *rows2 = malloc(row * (size_t)n), *junk = malloc(row * (size_t)k);
    float *la = malloc(59 * sizeof *la), *lb = malloc(59 * sizeof *lb), *lc = malloc(59 * sizeof *lc);
    CHECK_OK(lc_context_eval(a, toks, k, NULL, false, &err), &err);
    CHECK_OK(lc_context_kv_read(a, 0, k, rows, row * (size_t)n, &err), &err);
    CHECK_OK(lc_context_eval(a, toks + k, n - k, la, false, &err), &err);
    /* B: the rows in two pieces, then the rest evaluated */
    CHECK_OK(lc_context_kv_append(b, toks, 10, rows, row * 10, &err), &err);
    CHECK_OK(lc_context_kv_append(b, toks + 10, k - 10, rows + row * 10, row * (size_t)(k - 10), &err), &err);
    CHECK(lc_context_n_past(b) == k, "n_past after append: %lld", (long long)lc_context_n_past(b));
    CHECK(lc_context_logits(b) == NULL, "no logits after an append");
    int32_t held[64];
    CHECK(lc_context_kv_tokens(b, held, NULL, 64) == k && memcmp(held, toks, (size_t)k * sizeof *held) == 0,
          "the appended tokens are held");
    CHECK_OK(lc_context_eval(b, toks + k, n - k, lb, false, &err), &err);
    CHECK(memcmp(la, lb, 59 * sizeof *la) == 0, "logits after appended rows equal the evaluated ones (type %d, %d threads)",
          (int)t, threads);
    CHECK_OK(lc_context_kv_read(a, 0, n, rows, row * (size_t)n, &err), &err);
    CHECK_OK(lc_context_kv_read(b, 0, n, rows2, row * (size_t)n, &err), &err);
    CHECK(memcmp(rows, rows2, row * (size_t)n) == 0, "every row equal after the continuation");
    /* C: random rows instead give other logits (the check can fail) */
    for (size_t i = 0; i < row * (size_t)k; i++) junk[i] = (char)(i * 37 % 11);
    if (t == LC_DTYPE_F32)
        for (size_t i = 0; i < row * (size_t)k / sizeof(float); i++) ((float *)(void *)junk)[i] = (float)(i % 7) * 0.3f - 1.0f;
    CHECK_OK(lc_context_kv_append(c, toks, k, junk, row * (size_t)k, &err), &err);
    CHECK_OK(lc_context_eval(c, toks + k, n - k, lc, false, &err), &err);
    CHECK(memcmp(la, lc, 59 * sizeof *la) != 0, "other rows give other logits");
    /* refusals */
    CHECK(lc_context_kv_read(a, 40, 10, rows, row * (size_t)n, &err) == LC_ERR_INVALID_ARG, "rows not held");
    CHECK(lc_context_kv_read(a, -1, 2, rows, row * (size_t)n, &err) == LC_ERR_INVALID_ARG, "negative position");
    CHECK(lc_context_kv_read(a, 0, 10, rows, row * 9, &err) == LC_ERR_TOO_LARGE, "short buffer");
    lc_context_reset(c);
    CHECK(lc_context_kv_append(c, toks, 3, rows, row * 2, &err) == LC_ERR_INVALID_ARG, "wrong size");
    int32_t bad[2] = {1, 59};
    CHECK(lc_context_kv_append(c, bad, 2, rows, row * 2, &err) == LC_ERR_INVALID_ARG, "token outside the vocabulary");
    CHECK(lc_context_n_past(c) == 0, "nothing appended by refused calls");
    CHECK_OK(lc_context_kv_append(c, toks, k, rows, row * (size_t)k, &err), &err);
    CHECK(lc_context_kv_append(c, toks, n, rows, row * (size_t)n, &err) == LC_ERR_TOO_LARGE, "past n_ctx");
    free(rows);
    free(rows2);
    free(junk);
    free(la);
    free(lb);
    free(lc);
out:
    lc_context_free(a);
    lc_context_free(b);
    lc_context_free(c);
    lc_model_free(m);
}

static void test_policies(void) {
    lc_model *m = make_model(2, 2, 31, 3);
    CHECK(m, "model");
    if (!m) return;
    const char *pol[] = {"window:16", "sinks:4:16", "shift:4", "h2o:4:8:8"};
    for (size_t i = 0; i < sizeof pol / sizeof *pol; i++) {
        lc_context *ctx = make_ctx(m, pol[i], 64, LC_DTYPE_F32, 1);
        CHECK(ctx, "context %s", pol[i]);
        if (!ctx) continue;
        lc_error err;
        int32_t t[4] = {1, 2, 3, 4};
        char buf[64];
        CHECK_OK(lc_context_eval(ctx, t, 4, NULL, false, &err), &err);
        CHECK(lc_context_kv_row_bytes(ctx) == 0, "%s: no row bytes", pol[i]);
        CHECK(lc_context_kv_read(ctx, 0, 1, buf, sizeof buf, &err) == LC_ERR_UNSUPPORTED, "%s: read refused", pol[i]);
        CHECK(lc_context_kv_append(ctx, t, 1, buf, sizeof buf, &err) == LC_ERR_UNSUPPORTED, "%s: append refused", pol[i]);
        lc_context_free(ctx);
    }
    lc_model_free(m);
}

int main(void) {
    const lc_dtype types[] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_Q8_0};
    for (size_t i = 0; i < 3; i++) {
        test_copy(types[i], 1);
        test_copy(types[i], 3);
    }
    test_policies();
    return lc_test_finish("test_kv_rows");
}
