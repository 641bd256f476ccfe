/*
 * The attention interface and the NAIVE reference: hand-checkable cases,
 * masks, lse, the memory cap, and refusal of bad input.
 */
#include <math.h>
#include <string.h>

#include "common/util.h"
#include "attn/attn_internal.h"
#include "test_util.h"

static lc_attn_shape shape(int64_t n_q, int64_t n_kv, int hq, int hkv, int d, bool causal) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_head = hq;
    s.n_head_kv = hkv;
    s.head_dim = d;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = causal;
    return s;
}

/* One key: the output is its value; lse is scale * q.k. */
static void test_single_key(void) {
    lc_attn_shape s = shape(1, 1, 1, 1, 4, false);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    float q[4] = {1, 2, 3, 4}, k[4] = {1, 0, 0, 1}, v[4] = {5, 6, 7, 8}, out[4], lse;
    lc_attn_io io = {q, k, v, out, &lse};
    lc_error err;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    for (int i = 0; i < 4; i++) CHECK(out[i] == v[i], "out[%d]=%g", i, out[i]);
    CHECK(fabsf(lse - 5.0f * 0.5f) < 1e-6f, "lse %g", lse);
}

/* Two keys with scores 0 and log(3): weights 1/4 and 3/4. Causal with an
 * offset: query at position 0 sees only key 0. */
static void test_two_keys(void) {
    lc_attn_shape s = shape(2, 2, 1, 1, 1, true);
    s.scale = 1.0f;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    float q[2] = {1.0f, 1.0f}, k[2] = {0.0f, logf(3.0f)}, v[2] = {4.0f, 8.0f}, out[2], lse[2];
    lc_attn_io io = {q, k, v, out, lse};
    lc_error err;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    CHECK(out[0] == 4.0f, "query 0 sees key 0 only: %g", out[0]);
    CHECK(fabsf(out[1] - 7.0f) < 1e-6f, "query 1 mixes 1/4, 3/4: %g", out[1]);
    CHECK(fabsf(lse[1] - logf(4.0f)) < 1e-6f, "lse %g", lse[1]);
    /* offset: both queries after the cache see both keys */
    s.q_pos0 = 5;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    CHECK(fabsf(out[0] - 7.0f) < 1e-6f, "offset query sees both: %g", out[0]);
}

/* Fully masked rows and zero keys give zeros and lse = -inf. */
static void test_masked(void) {
    lc_attn_shape s = shape(2, 3, 2, 1, 2, true);
    int64_t kpos[3] = {10, 11, 12};
    s.k_pos = kpos; /* query positions 0, 1: every key is in the future */
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    float q[8] = {1, 1, 1, 1, 1, 1, 1, 1}, k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {1, 2, 3, 4, 5, 6}, out[8], lse[4];
    lc_attn_io io = {q, k, v, out, lse};
    lc_error err;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    for (int i = 0; i < 8; i++) CHECK(out[i] == 0.0f, "masked out[%d]=%g", i, out[i]);
    for (int i = 0; i < 4; i++) CHECK(isinf(lse[i]) && lse[i] < 0, "masked lse %g", lse[i]);
    s.k_pos = NULL;
    s.n_kv = 0;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    for (int i = 0; i < 8; i++) CHECK(out[i] == 0.0f, "empty out[%d]=%g", i, out[i]);
    /* explicit mask */
    s = shape(1, 3, 1, 1, 1, false);
    s.scale = 1.0f;
    uint8_t mask[3] = {0, 1, 0};
    p.mask = mask;
    float q1 = 1.0f, k3[3] = {100, 0, 100}, v3[3] = {1, 2, 3}, o1;
    lc_attn_io io2 = {&q1, k3, v3, &o1, NULL};
    CHECK_OK(lc_attn(&s, &p, &io2, &err), &err);
    CHECK(o1 == 2.0f, "explicit mask keeps key 1 only: %g", o1);
}

/* Logits of magnitude 1e4 stay finite and pick the argmax. */
static void test_extreme(void) {
    lc_attn_shape s = shape(1, 3, 1, 1, 1, false);
    s.scale = 1.0f;
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    float q = 1e4f, k[3] = {-1.0f, 1.0f, 0.999f}, v[3] = {1, 2, 3}, out, lse;
    lc_attn_io io = {&q, k, v, &out, &lse};
    lc_error err;
    CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
    CHECK(isfinite(out) && isfinite(lse), "finite: %g %g", out, lse);
    CHECK(fabsf(out - 2.0f) < 1e-3f, "argmax dominates: %g", out);
}

/* The cap: refused with the memory it would need in the message. */
static void test_cap(void) {
    lc_attn_shape s = shape(1 << 20, 1 << 20, 1, 1, 64, true);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    size_t bytes = 0;
    lc_error err;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_TOO_LARGE, "1M x 1M refused");
    CHECK(strstr(err.msg, "4.0 TiB") != NULL, "message names the size: %s", err.msg);
    CHECK(bytes == (size_t)1 << 42, "needed bytes reported: %zu", bytes);
    p.naive_max_bytes = (size_t)1 << 43;
    CHECK_OK(lc_attn_workspace(&s, &p, &bytes, &err), &err);
}

static void test_bad_input(void) {
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    size_t bytes;
    lc_error err;
    lc_attn_shape s = shape(4, 4, 3, 2, 64, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "H_q %% H_kv: %s", err.msg);
    s = shape(4, 4, 0, 1, 64, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "zero heads");
    s = shape(4, 4, 1, 1, 0, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "head dim 0");
    s = shape(4, 4, 1, 1, 1000, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "head dim 1000");
    s = shape(-1, 4, 1, 1, 64, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "negative n");
    s = shape(INT64_MAX / 2, 4, 8, 1, 64, true);
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_TOO_LARGE, "overflow: %s", err.msg);
    s = shape(4, 4, 1, 1, 80, true);
    s.k_type = LC_DTYPE_Q8_0;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "q8_0 with d=80");
    s = shape(4, 4, 1, 1, 64, true);
    s.k_type = LC_DTYPE_BF16;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_UNSUPPORTED, "bf16 KV");
    s = shape(4, 4, 1, 1, 64, true);
    lc_attn_io io = {NULL, NULL, NULL, NULL, NULL};
    CHECK(lc_attn(&s, &p, &io, &err) == LC_ERR_INVALID_ARG, "null pointers");
    CHECK(lc_attn(NULL, &p, &io, &err) == LC_ERR_INVALID_ARG, "null shape");
    s.scale = NAN;
    CHECK(lc_attn_workspace(&s, &p, &bytes, &err) == LC_ERR_INVALID_ARG, "nan scale");
    s.scale = 0;
    lc_attn_params h;
    lc_attn_params_init(&h, LC_ATTN_HYBRID);
    CHECK(lc_attn_workspace(&s, &h, &bytes, &err) == LC_ERR_INVALID_ARG, "hybrid without head params");
    /* workspace too small */
    float buf[4 * 64];
    lc_attn_io io2 = {buf, buf, buf, buf, NULL};
    CHECK(lc_attn_forward(&s, &p, &io2, NULL, 0, &err) == LC_ERR_INVALID_ARG, "no workspace: %s", err.msg);
}

static void test_parse(void) {
    lc_attn_params p;
    lc_error err;
    lc_attn_params_init(&p, LC_ATTN_NAIVE);
    CHECK_OK(lc_attn_parse("window:4K:4", &p, &err), &err);
    CHECK(p.method == LC_ATTN_WINDOW && p.window == 4096 && p.n_sinks == 4, "window:4K:4");
    CHECK_OK(lc_attn_parse("chunked:512:64", &p, &err), &err);
    CHECK(p.method == LC_ATTN_CHUNKED && p.chunk == 512 && p.overlap == 64, "chunked");
    CHECK_OK(lc_attn_parse("linear:favor:128", &p, &err), &err);
    CHECK(p.method == LC_ATTN_LINEAR && p.feature == LC_FEATURE_FAVOR && p.n_features == 128, "favor");
    CHECK_OK(lc_attn_parse("flash", &p, &err), &err);
    CHECK(p.method == LC_ATTN_FLASH, "flash");
    CHECK(lc_attn_parse("window", &p, &err) != LC_OK, "window needs W");
    CHECK(lc_attn_parse("chunked:8:8", &p, &err) != LC_OK, "overlap < chunk");
    CHECK(lc_attn_parse("bogus", &p, &err) != LC_OK, "unknown");
    CHECK(lc_attn_parse("linear:relu:5", &p, &err) != LC_OK, "relu takes no count");
}

static void test_flops(void) {
    lc_attn_shape s = shape(4, 4, 2, 1, 8, true);
    lc_attn_params p;
    lc_attn_params_init(&p, LC_ATTN_FLASH);
    CHECK(lc_attn_flops(&s, &p) == 4.0 * 8 * 2 * 10, "causal 4x4 has 10 visible pairs");
    s.causal = false;
    CHECK(lc_attn_flops(&s, &p) == 4.0 * 8 * 2 * 16, "non-causal 16 pairs");
    lc_attn_params_init(&p, LC_ATTN_WINDOW);
    p.window = 2;
    p.n_sinks = 1;
    s.causal = true;
    /* positions 0..3, window 2 + sink 0: q0 {0}, q1 {0,1}, q2 {0,1,2}, q3 {0,2,3} */
    CHECK(lc_attn_visible_pairs(&s, 2, 1) == 9.0, "window pairs %g", lc_attn_visible_pairs(&s, 2, 1));
    int64_t kpos[4] = {0, 1, 2, 3};
    s.k_pos = kpos;
    CHECK(lc_attn_visible_pairs(&s, 2, 1) == 9.0, "window pairs with k_pos");
}

/* The closed-form count (k_pos NULL) against the pairwise loop (k_pos the
 * identity: keys at 0..n-1, a separate code path) on random and awkward
 * shapes, and a count over 2^62 keys that returns at once (issue 17: the
 * per-query loop made a refusal in bench attn cost 12 s at 1G, forever at
 * 2^62). */
static void test_visible_pairs_closed_form(void) {
    lc_rng r;
    lc_rng_seed(&r, 17);
    int64_t *kpos = malloc(300 * sizeof(int64_t));
    for (int64_t j = 0; j < 300; j++) kpos[j] = j;
    int bad = 0;
    for (int t = 0; t < 3000; t++) {
        const int64_t n_kv = 1 + (int64_t)lc_rng_below(&r, 300);
        const int64_t n_q = 1 + (int64_t)lc_rng_below(&r, 80);
        lc_attn_shape s = shape(n_q, n_kv, 1, 1, 4, lc_rng_below(&r, 2) == 0);
        s.q_pos0 = (int64_t)lc_rng_below(&r, 400);
        const int64_t window = lc_rng_below(&r, 4) == 0 ? 0 : (int64_t)lc_rng_below(&r, 350);
        const int64_t sinks = lc_rng_below(&r, 3) == 0 ? 0 : (int64_t)lc_rng_below(&r, 320);
        const double closed = lc_attn_visible_pairs(&s, window, sinks);
        s.k_pos = kpos;
        const double loop = lc_attn_visible_pairs(&s, window, sinks);
        if (closed != loop && bad++ < 5)
            fprintf(stderr, "n_q %lld n_kv %lld q0 %lld causal %d W %lld S %lld: %g vs %g\n", (long long)n_q,
                    (long long)n_kv, (long long)s.q_pos0, s.causal, (long long)window, (long long)sinks, closed, loop);
    }
    CHECK(bad == 0, "%d closed-form visible-pair counts differ from the pairwise loop", bad);
    free(kpos);
    lc_attn_shape h = shape((int64_t)1 << 62, (int64_t)1 << 62, 1, 1, 4, true);
    const double t0 = lc_time_now();
    const double pairs = lc_attn_visible_pairs(&h, 0, 0), wpairs = lc_attn_visible_pairs(&h, 4096, 4);
    const double n = ldexp(1.0, 62);
    CHECK(fabs(pairs - n * (n + 1) / 2) <= 1e-12 * pairs, "2^62 causal pairs: %g", pairs);
    CHECK(wpairs > 4096.0 * (n - 4096) && wpairs < 4100.0 * n, "2^62 window pairs: %g", wpairs);
    CHECK(lc_time_now() - t0 < 1.0, "counting 2^62 queries took %.1f s", lc_time_now() - t0);
}

int main(void) {
    test_single_key();
    test_two_keys();
    test_masked();
    test_extreme();
    test_cap();
    test_bad_input();
    test_parse();
    test_flops();
    test_visible_pairs_closed_form();
    return lc_test_finish("test_attn_api");
}
