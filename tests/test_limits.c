/*
 * Limits (issue 17): huge sizes are refused at once, with a message, before
 * anything is sized or counted, and never overflow (run under UBSan in CI):
 *
 *  - a context of 2^62 tokens (kv_counts doubled past INT64_MAX and looped
 *    for ever) and of 2^40 + 1 tokens is refused; one of 2^40 tokens (the
 *    largest accepted) is refused for memory, promptly;
 *  - a bench attn cell of 2^30 and 2^62 tokens is refused for memory before
 *    its FLOPs are counted (the count was a loop per query: 12 s at 2^30);
 *  - the checked-arithmetic helpers of src/common/util.h at their edges.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/attn.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"
#include "test_util.h"

static lc_model *tiny_model(void) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_heads = 2;
    c.n_kv_heads = 2;
    c.head_dim = 16;
    c.dim = 32;
    c.hidden_dim = 64;
    c.n_layers = 1;
    c.vocab_size = 40;
    c.ctx_train = 64;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, c.head_dim);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, 1, &m, &err) != LC_OK) fprintf(stderr, "model: %s\n", err.msg);
    return m;
}

static void test_context_sizes(const lc_model *m) {
    static const struct {
        int64_t n_ctx;
        const char *policy;
        const char *needle;
    } cases[] = {
        {(int64_t)1 << 62, NULL, "may hold"},
        {INT64_MAX, NULL, "may hold"},
        {LC_CONTEXT_MAX_TOKENS + 1, NULL, "may hold"},
        {LC_CONTEXT_MAX_TOKENS, NULL, "available"},
        {LC_CONTEXT_MAX_TOKENS, "shift:4", "available"},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        lc_context_opts o;
        lc_context_opts_init(&o);
        lc_error err;
        if (cases[i].policy) CHECK_OK(lc_kv_policy_parse(cases[i].policy, &o, &err), &err);
        o.n_ctx = cases[i].n_ctx;
        o.n_threads = 1;
        lc_context *ctx = NULL;
        const double t0 = lc_time_now();
        const lc_status st = lc_context_create(m, &o, &ctx, &err);
        const double dt = lc_time_now() - t0;
        CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, cases[i].needle) != NULL,
              "n_ctx %lld: %s (%s), wanted too large with '%s'", (long long)cases[i].n_ctx, lc_status_str(st), err.msg,
              cases[i].needle);
        CHECK(dt < 5.0, "n_ctx %lld refused after %.1f s", (long long)cases[i].n_ctx, dt);
        lc_context_free(ctx);
    }
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_batch = LC_CONTEXT_MAX_TOKENS + 1;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK(lc_context_create(m, &o, &ctx, &err) == LC_ERR_INVALID_ARG, "batch 2^40 + 1: %s", err.msg);
    lc_context_free(ctx);
}

static void test_bench_cell_sizes(void) {
    if (lc_mem_available_bytes() == 0) {
        fprintf(stderr, "note: available memory unknown here: the bench cell refusal is not checked\n");
        return;
    }
    const int64_t ns[] = {(int64_t)1 << 30, (int64_t)1 << 40, (int64_t)1 << 62};
    const lc_attn_method methods[] = {LC_ATTN_FLASH, LC_ATTN_CHUNKED, LC_ATTN_WINDOW};
    for (size_t i = 0; i < LC_ARRAY_LEN(ns); i++)
        for (size_t k = 0; k < LC_ARRAY_LEN(methods); k++) {
            lc_attn_shape s;
            memset(&s, 0, sizeof s);
            s.n_q = s.n_kv = ns[i];
            s.n_head = s.n_head_kv = 8;
            s.head_dim = 128;
            s.k_type = s.v_type = LC_DTYPE_F16;
            s.causal = true;
            lc_attn_params p;
            lc_attn_params_init(&p, methods[k]);
            p.chunk = 512;
            p.window = 4096;
            p.n_threads = 1;
            lc_attn_bench b;
            lc_error err;
            const double t0 = lc_time_now();
            const lc_status st = lc_bench_attn_cell(&s, &p, 1, 1.0, 1, &b, &err);
            const double dt = lc_time_now() - t0;
            CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, "available"), "bench cell n=%lld %s: %s (%s)",
                  (long long)ns[i], lc_attn_method_name(methods[k]), lc_status_str(st), err.msg);
            CHECK(dt < 2.0, "bench cell n=%lld %s refused after %.1f s", (long long)ns[i],
                  lc_attn_method_name(methods[k]), dt);
            /* and the FLOP count alone is instant and finite */
            const double t1 = lc_time_now(), f = lc_attn_flops(&s, &p);
            CHECK(f > 0 && f < 1e300 && lc_time_now() - t1 < 1.0, "flops n=%lld %s: %g", (long long)ns[i],
                  lc_attn_method_name(methods[k]), f);
        }
}

static void test_checked_arithmetic(void) {
    int64_t r = 0;
    CHECK(lc_add_ok(1, 2, 0, 3, &r) && r == 3, "1 + 2 in 0..3");
    CHECK(!lc_add_ok(1, 3, 0, 3, &r), "1 + 3 not in 0..3");
    CHECK(!lc_add_ok(INT64_MAX, 1, INT64_MIN, INT64_MAX, &r), "INT64_MAX + 1 overflows");
    CHECK(!lc_mul_ok((int64_t)1 << 32, (int64_t)1 << 31, INT64_MIN, INT64_MAX, &r), "2^63 overflows");
    CHECK(lc_mul_ok((int64_t)1 << 20, (int64_t)1 << 20, 0, LC_CONTEXT_MAX_TOKENS, &r) && r == LC_CONTEXT_MAX_TOKENS,
          "2^40 at the bound");
    CHECK(!lc_mul_ok(-4, 4, 0, 100, &r), "-16 below 0");
    CHECK(lc_sat_add_i64(INT64_MAX, 5) == INT64_MAX && lc_sat_add_i64(INT64_MIN, -5) == INT64_MIN &&
              lc_sat_add_i64(3, -5) == -2,
          "saturating add");
    size_t z = 0;
    CHECK(!lc_mul_size(SIZE_MAX / 2 + 1, 2, &z) && !lc_add_size(SIZE_MAX, 1, &z), "size_t overflow");
}

int main(void) {
    test_checked_arithmetic();
    lc_model *m = tiny_model();
    CHECK(m != NULL, "model");
    if (m) test_context_sizes(m);
    lc_model_free(m);
    test_bench_cell_sizes();
    return lc_test_finish("test_limits");
}
