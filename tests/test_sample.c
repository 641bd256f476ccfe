/*
 * Sampling: greedy, top-k, top-p, min-p, penalties (llama.cpp semantics),
 * the empirical distribution against softmax (chi-square), determinism,
 * state save/restore (struct and byte image), options, bad input.
 * Each filter is checked against an independent full-sort computation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/sample.h"
#include "sample/sample_internal.h"
#include "test_util.h"


static lc_sampler_params plain(float temp) {
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    p.temp = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static lc_sampler *make(const lc_sampler_params *p, int32_t V) {
    lc_sampler *s = NULL;
    lc_error err;
    CHECK_OK(lc_sampler_create(p, V, &s, &err), &err);
    return s;
}

static void random_logits(lc_rng *r, float *x, int32_t n, float scale) {
    for (int32_t i = 0; i < n; i++) x[i] = lc_rng_normal(r) * scale;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* Reference ranking: ids sorted by logit desc, id asc (full sort). */
static const float *g_sort_logits;
static int cmp_rank(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    float lx = g_sort_logits[x], ly = g_sort_logits[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return (x > y) - (x < y);
}
static void rank_all(const float *logits, int32_t n, int32_t *ids) {
    for (int32_t i = 0; i < n; i++) ids[i] = i;
    g_sort_logits = logits;
    qsort(ids, (size_t)n, sizeof(int32_t), cmp_rank);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The sampler's last candidate set equals want[0..n) as a set. */
static bool same_set(const lc_sampler *s, const int32_t *want, int32_t n) {
    const int32_t *ids;
    int32_t m = lc_sampler_candidates(s, &ids, NULL);
    if (m != n) return false;
    int32_t *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    memcpy(a, ids, (size_t)n * sizeof *a);
    memcpy(b, want, (size_t)n * sizeof *b);
    qsort(a, (size_t)n, sizeof *a, cmp_i32);
    qsort(b, (size_t)n, sizeof *b, cmp_i32);
    bool eq = memcmp(a, b, (size_t)n * sizeof *a) == 0;
    free(a);
    free(b);
    return eq;
}

static void test_greedy(void) {
    lc_rng r;
    lc_rng_seed(&r, 1);
    const int32_t V = 32000;
    float *x = malloc(V * sizeof *x);
    lc_sampler_params p = plain(0.0f);
    lc_sampler *s = make(&p, V);
    lc_sampler_params pk = plain(1.0f);
    pk.top_k = 1;
    lc_sampler *sk = make(&pk, V);
    lc_error err;
    lc_sampler_state before, after;
    for (int t = 0; t < 20; t++) {
        random_logits(&r, x, V, 3.0f);
        int32_t tok = -1, tk = -1;
        lc_sampler_get_state(s, &before);
        CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
        lc_sampler_get_state(s, &after);
        CHECK(tok == argmax(x, V), "greedy = argmax: %d vs %d", tok, argmax(x, V));
        CHECK(memcmp(before.rng, after.rng, sizeof before.rng) == 0, "greedy consumes no random number");
        CHECK_OK(lc_sampler_sample(sk, x, &tk, &err), &err);
        CHECK(tk == tok, "top-k 1 = greedy: %d vs %d", tk, tok);
    }
    /* ties: lowest id, for greedy and for top-k 1 */
    for (int32_t i = 0; i < V; i++) x[i] = -1.0f;
    x[700] = x[300] = x[31999] = 2.0f;
    int32_t tok, tk;
    CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
    CHECK_OK(lc_sampler_sample(sk, x, &tk, &err), &err);
    CHECK(tok == 300 && tk == 300, "ties go to the lowest id: %d %d", tok, tk);
    /* -inf tokens are never picked, even at high temperature */
    lc_sampler_params hot = plain(50.0f);
    lc_sampler *sh = make(&hot, 8);
    float y[8] = {-INFINITY, 0.0f, -INFINITY, 0.0f, -INFINITY, -INFINITY, 0.0f, -INFINITY};
    bool ok = true;
    for (int t = 0; t < 500; t++) {
        CHECK_OK(lc_sampler_sample(sh, y, &tok, &err), &err);
        ok &= tok == 1 || tok == 3 || tok == 6;
    }
    CHECK(ok, "masked tokens never sampled");
    lc_sampler_free(sh);
    lc_sampler_free(s);
    lc_sampler_free(sk);
    free(x);
}

static void test_top_k(void) {
    lc_rng r;
    lc_rng_seed(&r, 2);
    const int32_t V = 50000;
    float *x = malloc(V * sizeof *x);
    int32_t *rank = malloc(V * sizeof *rank);
    lc_error err;
    const int32_t ks[] = {1, 2, 40, 1000, V - 1, V, V + 5};
    for (size_t k = 0; k < LC_ARRAY_LEN(ks); k++) {
        lc_sampler_params p = plain(1.0f);
        p.top_k = ks[k];
        lc_sampler *s = make(&p, V);
        random_logits(&r, x, V, 2.0f);
        for (int32_t i = 0; i < 100; i++) x[lc_rng_below(&r, V)] = 1.5f; /* ties */
        rank_all(x, V, rank);
        int32_t tok;
        CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
        int32_t n = LC_MIN(ks[k], V);
        CHECK(same_set(s, rank, n), "top-k %d keeps the k best", ks[k]);
        const int32_t *ids;
        int32_t m = lc_sampler_candidates(s, &ids, NULL);
        if (ks[k] < V) {
            bool ordered = true;
            for (int32_t i = 0; i < m; i++) ordered &= ids[i] == rank[i];
            CHECK(ordered, "top-k %d: rank order (ties by id)", ks[k]);
        }
        lc_sampler_free(s);
    }
    /* the heap itself on awkward sizes */
    for (int32_t n = 1; n < 40; n += 3) {
        float v[40];
        lc_cand out[40];
        for (int32_t i = 0; i < n; i++) v[i] = (float)(lc_rng_below(&r, 5)) - 2.0f;
        v[n / 2] = -INFINITY;
        for (int32_t k = 1; k <= n + 1; k += 2) {
            int32_t m = lc_sample_top_k(v, n, k, out);
            int32_t ref[40];
            rank_all(v, n, ref);
            const int32_t finite = n - 1; /* one -inf */
            bool ok = m == LC_MIN(k, finite);
            for (int32_t i = 0; i < m && ok; i++) ok = out[i].id == ref[i];
            CHECK(ok, "heap top-k n=%d k=%d", n, k);
        }
    }
    free(x);
    free(rank);
}

/* Smallest prefix of the ranking whose softmax mass reaches p. */
static int32_t ref_top_p(const float *x, const int32_t *rank, int32_t n, double p) {
    double mx = x[rank[0]], z = 0.0, cum = 0.0;
    for (int32_t i = 0; i < n; i++) z += exp((double)x[rank[i]] - mx);
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)x[rank[i]] - mx);
        if (cum >= p * z) return i + 1;
    }
    return n;
}

static void test_top_p_min_p(void) {
    lc_rng r;
    lc_rng_seed(&r, 3);
    lc_error err;
    const int32_t sizes[] = {7, 1000, 32000, 128256};
    const float ps[] = {0.0f, 0.3f, 0.9f, 0.999f};
    const float scales[] = {0.01f, 1.0f, 5.0f}; /* flat .. peaked */
    for (size_t a = 0; a < LC_ARRAY_LEN(sizes); a++) {
        const int32_t V = sizes[a];
        if (lc_test_quick() && V > 32000) continue;
        float *x = malloc((size_t)V * sizeof *x);
        int32_t *rank = malloc((size_t)V * sizeof *rank);
        for (size_t b = 0; b < LC_ARRAY_LEN(scales); b++) {
            random_logits(&r, x, V, scales[b]);
            rank_all(x, V, rank);
            for (size_t c = 0; c < LC_ARRAY_LEN(ps); c++) {
                /* top-p alone (the growing-prefix path) */
                lc_sampler_params p = plain(1.0f);
                p.top_p = ps[c];
                lc_sampler *s = make(&p, V);
                int32_t tok;
                CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
                int32_t n = ref_top_p(x, rank, V, ps[c]);
                CHECK(same_set(s, rank, n), "top-p %g V %d scale %g: prefix of %d", (double)ps[c], V,
                      (double)scales[b], n);
                lc_sampler_free(s);
                /* top-k 50 then top-p over the 50 */
                p.top_k = 50;
                s = make(&p, V);
                CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
                int32_t kk = LC_MIN(50, V);
                n = ref_top_p(x, rank, kk, ps[c]);
                CHECK(same_set(s, rank, n), "top-k 50 + top-p %g V %d", (double)ps[c], V);
                lc_sampler_free(s);
            }
            /* min-p: keep p_i >= min_p * p_max */
            const float mps[] = {0.05f, 0.5f, 1.0f};
            for (size_t c = 0; c < LC_ARRAY_LEN(mps); c++) {
                lc_sampler_params p = plain(0.7f);
                p.min_p = mps[c];
                lc_sampler *s = make(&p, V);
                int32_t tok, n = 0;
                CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
                double mx = x[rank[0]];
                while (n < V && exp((double)x[rank[n]] - mx) >= mps[c]) n++;
                CHECK(same_set(s, rank, n), "min-p %g V %d scale %g: %d kept", (double)mps[c], V, (double)scales[b], n);
                lc_sampler_free(s);
            }
        }
        free(x);
        free(rank);
    }
}

static void test_penalties(void) {
    lc_error err;
    const int32_t V = 10;
    lc_sampler_params p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 4;
    lc_sampler *s = make(&p, V);
    /* history (oldest first): 7 1 2 2 9; the window of 4 is 1 2 2 9 */
    const int32_t hist[] = {7, 1, 2, 2, 9};
    for (size_t i = 0; i < LC_ARRAY_LEN(hist); i++) CHECK_OK(lc_sampler_accept(s, hist[i], &err), &err);
    float x[10] = {0.5f, 3.0f, -1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 4.0f, 1.0f, 2.5f}, y[10];
    memcpy(y, x, sizeof x);
    int32_t tok;
    CHECK_OK(lc_sampler_sample_inplace(s, y, &tok, &err), &err);
    CHECK(y[1] == 1.5f, "positive logit divided: %g", (double)y[1]);
    CHECK(y[2] == -2.0f, "negative logit multiplied (once, though seen twice): %g", (double)y[2]);
    CHECK(y[9] == 1.25f, "token 9 penalised: %g", (double)y[9]);
    CHECK(y[7] == 4.0f, "token 7 is outside the window: %g", (double)y[7]);
    CHECK(y[0] == 0.5f && y[3] == 0.0f, "others untouched");
    CHECK(tok == 7, "greedy after penalties: %d", tok);
    /* sample (not inplace) leaves the caller's logits alone */
    float z[10];
    memcpy(z, x, sizeof x);
    CHECK_OK(lc_sampler_sample(s, z, &tok, &err), &err);
    CHECK(memcmp(z, x, sizeof x) == 0, "lc_sampler_sample does not modify logits");
    lc_sampler_free(s);
    /* frequency and presence: logit -= count * f + presence */
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    p.repeat_last_n = -1;
    s = make(&p, V);
    for (size_t i = 0; i < LC_ARRAY_LEN(hist); i++) CHECK_OK(lc_sampler_accept(s, hist[i], &err), &err);
    memcpy(y, x, sizeof x);
    CHECK_OK(lc_sampler_sample_inplace(s, y, &tok, &err), &err);
    CHECK(y[2] == -1.0f - 0.5f - 0.5f, "count 2: %g", (double)y[2]);
    CHECK(y[7] == 4.0f - 0.25f - 0.5f, "last-n -1 covers everything: %g", (double)y[7]);
    CHECK(y[4] == 1.0f, "unseen token untouched");
    lc_sampler_free(s);
    /* last-n 0: no penalty */
    p.repeat_last_n = 0;
    p.repeat_penalty = 3.0f;
    s = make(&p, V);
    CHECK_OK(lc_sampler_accept(s, 1, &err), &err);
    memcpy(y, x, sizeof x);
    CHECK_OK(lc_sampler_sample_inplace(s, y, &tok, &err), &err);
    CHECK(memcmp(x, y, sizeof x) == 0, "last-n 0 disables penalties");
    /* the history wraps at LC_SAMPLER_MAX_LAST_N */
    for (int i = 0; i < LC_SAMPLER_MAX_LAST_N + 10; i++) CHECK_OK(lc_sampler_accept(s, i % V, &err), &err);
    lc_sampler_state st;
    lc_sampler_get_state(s, &st);
    CHECK(st.n_recent == LC_SAMPLER_MAX_LAST_N, "history capped");
    CHECK(st.recent[st.n_recent - 1] == (LC_SAMPLER_MAX_LAST_N + 9) % V, "newest last");
    lc_sampler_free(s);
}

/* Chi-square of observed counts against expected probabilities. */
static double chi_square(const int64_t *count, const double *prob, int n, int64_t total) {
    double c2 = 0.0;
    for (int i = 0; i < n; i++) {
        double e = prob[i] * (double)total;
        c2 += ((double)count[i] - e) * ((double)count[i] - e) / e;
    }
    return c2;
}

static void test_distribution(void) {
    lc_error err;
    const int64_t N = lc_test_quick() ? 30000 : 200000;
    enum { V = 12 };
    float x[V] = {1.0f, 0.5f, 2.0f, -1.0f, 0.0f, 1.5f, -0.5f, 0.25f, 1.2f, -2.0f, 0.8f, 0.1f};
    /* temperature 1, every token: softmax */
    {
        lc_sampler_params p = plain(1.0f);
        p.seed = 1234;
        lc_sampler *s = make(&p, V);
        int64_t count[V] = {0};
        double prob[V], z = 0.0;
        for (int i = 0; i < V; i++) z += exp(x[i]);
        for (int i = 0; i < V; i++) prob[i] = exp(x[i]) / z;
        for (int64_t t = 0; t < N; t++) {
            int32_t tok;
            CHECK_OK(lc_sampler_sample(s, x, &tok, &err), &err);
            count[tok]++;
        }
        double c2 = chi_square(count, prob, V, N);
        /* 11 degrees of freedom: P(chi2 > 31.26) = 0.001 */
        CHECK(c2 < 31.26, "temp 1: chi-square %.2f over 11 dof", c2);
        fprintf(stderr, "temp 1, %lld draws: chi-square %.2f (11 dof, bound 31.26)\n", (long long)N, c2);
        /* the reported probabilities are the softmax */
        const int32_t *ids;
        const float *pr;
        int32_t m = lc_sampler_candidates(s, &ids, &pr);
        double worst = 0.0;
        for (int32_t i = 0; i < m; i++) worst = fmax(worst, fabs(pr[i] - prob[ids[i]]));
        CHECK(m == V && worst < 1e-6, "candidate probabilities: %d, err %.3g", m, worst);
        lc_sampler_free(s);
    }
    /* temperature 0.5 after top-k 5: softmax(x/0.5) over the 5 best */
    {
        lc_sampler_params p = plain(0.5f);
        p.top_k = 5;
        p.seed = 99;
        lc_sampler *s = make(&p, V);
        int64_t count[V] = {0};
        const int best[5] = {2, 5, 8, 0, 10};
        double prob[5], z = 0.0;
        for (int i = 0; i < 5; i++) z += exp(x[best[i]] / 0.5);
        for (int i = 0; i < 5; i++) prob[i] = exp(x[best[i]] / 0.5) / z;
        float y[V];
        for (int64_t t = 0; t < N; t++) {
            int32_t tok;
            memcpy(y, x, sizeof x);
            CHECK_OK(lc_sampler_sample_inplace(s, y, &tok, &err), &err);
            count[tok]++;
        }
        int64_t sub[5], outside = N;
        for (int i = 0; i < 5; i++) sub[i] = count[best[i]], outside -= sub[i];
        CHECK(outside == 0, "only the top 5 sampled (%lld outside)", (long long)outside);
        double c2 = chi_square(sub, prob, 5, N);
        /* 4 dof: P(chi2 > 18.47) = 0.001 */
        CHECK(c2 < 18.47, "temp 0.5 top-k 5: chi-square %.2f over 4 dof", c2);
        lc_sampler_free(s);
    }
}

static void test_determinism_and_state(void) {
    lc_rng r;
    lc_rng_seed(&r, 5);
    lc_error err;
    const int32_t V = 1000, T = 300;
    float *logits = malloc((size_t)T * V * sizeof(float));
    random_logits(&r, logits, T * V, 1.5f);
    lc_sampler_params p;
    lc_sampler_params_init(&p); /* defaults: top-k, top-p, min-p, temp 0.8 */
    p.repeat_penalty = 1.3f;    /* so that the history matters */
    p.top_k = 200;
    p.seed = 7;
    int32_t a[300], b[300], c[300];
    lc_sampler *s1 = make(&p, V), *s2 = make(&p, V);
    for (int t = 0; t < T; t++) {
        CHECK_OK(lc_sampler_sample(s1, logits + (size_t)t * V, &a[t], &err), &err);
        CHECK_OK(lc_sampler_sample(s2, logits + (size_t)t * V, &b[t], &err), &err);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same tokens");
    lc_sampler_reset(s2);
    for (int t = 0; t < T; t++) CHECK_OK(lc_sampler_sample(s2, logits + (size_t)t * V, &b[t], &err), &err);
    CHECK(memcmp(a, b, sizeof a) == 0, "reset restarts the same stream");
    p.seed = 8;
    lc_sampler *s3 = make(&p, V);
    for (int t = 0; t < T; t++) CHECK_OK(lc_sampler_sample(s3, logits + (size_t)t * V, &c[t], &err), &err);
    CHECK(memcmp(a, c, sizeof a) != 0, "another seed, other tokens");
    lc_sampler_free(s3);

    /* save after 100 tokens, through the byte image, into a fresh sampler */
    lc_sampler_reset(s1);
    for (int t = 0; t < 100; t++) CHECK_OK(lc_sampler_sample(s1, logits + (size_t)t * V, &a[t], &err), &err);
    lc_sampler_state st, st2;
    lc_sampler_get_state(s1, &st);
    CHECK(st.n_sampled == 100 && st.n_recent == 100, "state counts %llu %u", (unsigned long long)st.n_sampled,
          (unsigned)st.n_recent);
    static uint8_t buf[LC_SAMPLER_STATE_BYTES];
    lc_sampler_state_encode(&st, buf);
    CHECK(buf[0] == 'L' && buf[1] == 'C' && buf[2] == 'S' && buf[3] == 'S', "magic bytes");
    CHECK_OK(lc_sampler_state_decode(buf, sizeof buf, &st2, &err), &err);
    CHECK(memcmp(&st, &st2, sizeof st) == 0, "encode/decode round trip");
    p.seed = 12345; /* the seed in params does not matter once the state is set */
    lc_sampler *s4 = make(&p, V);
    CHECK_OK(lc_sampler_set_state(s4, &st2, &err), &err);
    p.seed = 7;
    for (int t = 100; t < T; t++) {
        CHECK_OK(lc_sampler_sample(s1, logits + (size_t)t * V, &a[t], &err), &err);
        CHECK_OK(lc_sampler_sample(s4, logits + (size_t)t * V, &b[t], &err), &err);
    }
    CHECK(memcmp(a + 100, b + 100, 200 * sizeof(int32_t)) == 0, "restored sampler continues identically");
    /* without the history the penalised stream would differ: the state carries it */
    lc_sampler *s5 = make(&p, V);
    st2.n_recent = 0;
    CHECK_OK(lc_sampler_set_state(s5, &st2, &err), &err);
    for (int t = 100; t < T; t++) CHECK_OK(lc_sampler_sample(s5, logits + (size_t)t * V, &c[t], &err), &err);
    CHECK(memcmp(a + 100, c + 100, 200 * sizeof(int32_t)) != 0, "history matters (test can fail)");

    /* corrupted images and states are refused */
    CHECK(lc_sampler_state_decode(buf, sizeof buf - 1, &st2, &err) == LC_ERR_FORMAT, "short buffer");
    buf[0] ^= 1;
    CHECK(lc_sampler_state_decode(buf, sizeof buf, &st2, &err) == LC_ERR_FORMAT, "bad magic");
    buf[0] ^= 1;
    buf[4] = 9;
    CHECK(lc_sampler_state_decode(buf, sizeof buf, &st2, &err) == LC_ERR_UNSUPPORTED, "bad version: %s", err.msg);
    buf[4] = 1;
    buf[48] = 0xff, buf[49] = 0xff;
    CHECK(lc_sampler_state_decode(buf, sizeof buf, &st2, &err) == LC_ERR_FORMAT, "n_recent too big");
    buf[48] = 100, buf[49] = 0;
    memset(buf + 8, 0, 32);
    CHECK(lc_sampler_state_decode(buf, sizeof buf, &st2, &err) == LC_ERR_FORMAT, "zero RNG");
    st2 = st;
    st2.recent[3] = V;
    CHECK(lc_sampler_set_state(s4, &st2, &err) == LC_ERR_FORMAT, "token >= n_vocab: %s", err.msg);
    st2.recent[3] = -1;
    CHECK(lc_sampler_set_state(s4, &st2, &err) == LC_ERR_FORMAT, "negative token");
    lc_sampler_free(s1);
    lc_sampler_free(s2);
    lc_sampler_free(s4);
    lc_sampler_free(s5);
    free(logits);
}

static void test_bad_input(void) {
    lc_error err;
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    lc_sampler *s = NULL;
    CHECK(lc_sampler_create(&p, 0, &s, &err) == LC_ERR_INVALID_ARG && s == NULL, "vocab 0");
    CHECK(lc_sampler_create(NULL, 10, &s, &err) == LC_ERR_INVALID_ARG, "NULL params");
    CHECK(lc_sampler_create(&p, 10, NULL, &err) == LC_ERR_INVALID_ARG, "NULL out");
    lc_sampler_params b = p;
    b.temp = NAN;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "nan temp");
    b = p;
    b.min_p = 1.5f;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "min-p 1.5");
    b = p;
    b.repeat_penalty = 0.0f;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "penalty 0");
    b = p;
    b.repeat_last_n = LC_SAMPLER_MAX_LAST_N + 1;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "last-n too big");
    b = p;
    b.top_p = -0.1f;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "negative top-p");
    b.top_p = 5.0f; /* issue 17: accepted before */
    CHECK(lc_sampler_params_validate(&b, &err) == LC_ERR_INVALID_ARG, "top-p 5");
    b.top_p = 1.0f;
    CHECK(lc_sampler_params_validate(&b, &err) == LC_OK, "top-p 1 (off)");
    s = make(&p, 5);
    float x[5] = {0.0f, 1.0f, NAN, 2.0f, 0.0f};
    int32_t tok = -7;
    CHECK(lc_sampler_sample(s, x, &tok, &err) == LC_ERR_INVALID_ARG && tok == -7, "NaN refused");
    CHECK(strstr(err.msg, "token 2") && strstr(err.msg, "NaN"), "message names the token: %s", err.msg);
    x[2] = INFINITY;
    CHECK(lc_sampler_sample(s, x, &tok, &err) == LC_ERR_INVALID_ARG, "+inf refused");
    for (int i = 0; i < 5; i++) x[i] = -INFINITY;
    CHECK(lc_sampler_sample(s, x, &tok, &err) == LC_ERR_INVALID_ARG, "all -inf refused: %s", err.msg);
    CHECK(lc_sampler_sample(s, NULL, &tok, &err) == LC_ERR_INVALID_ARG, "NULL logits");
    CHECK(lc_sampler_sample(s, x, NULL, &err) == LC_ERR_INVALID_ARG, "NULL token");
    CHECK(lc_sampler_accept(s, 5, &err) == LC_ERR_INVALID_ARG, "accept out of range");
    CHECK(lc_sampler_accept(s, -1, &err) == LC_ERR_INVALID_ARG, "accept negative");
    b.temp = INFINITY;
    CHECK(lc_sampler_set_params(s, &b, &err) == LC_ERR_INVALID_ARG, "set_params validates");
    CHECK(lc_sampler_get_params(s)->temp == p.temp, "params unchanged after refusal");
    CHECK(lc_sampler_n_vocab(s) == 5, "n_vocab");
    lc_sampler_free(s);
    lc_sampler_free(NULL);
}

static void test_options(void) {
    lc_error err;
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    CHECK(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f && p.repeat_penalty == 1.0f &&
              p.repeat_last_n == 64,
          "llama.cpp defaults");
    CHECK(lc_sampler_is_option("--temp") && lc_sampler_is_option("--seed=5") && !lc_sampler_is_option("--tem") &&
              !lc_sampler_is_option("-n") && !lc_sampler_is_option(NULL),
          "is_option");
    CHECK_OK(lc_sampler_apply_option(&p, "--temp", "0.7", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--top-k", "10", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--top-p", "0.5", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--min-p", "0", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--repeat-penalty", "1.1", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--repeat-last-n", "-1", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--frequency-penalty", "0.2", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--presence-penalty", "-0.3", &err), &err);
    CHECK_OK(lc_sampler_apply_option(&p, "--seed", "18446744073709551615", &err), &err);
    CHECK(p.temp == 0.7f && p.top_k == 10 && p.top_p == 0.5f && p.min_p == 0.0f && p.repeat_penalty == 1.1f &&
              p.repeat_last_n == -1 && p.frequency_penalty == 0.2f && p.presence_penalty == -0.3f &&
              p.seed == UINT64_MAX,
          "values applied");
    char buf[200];
    lc_sampler_describe(&p, buf, sizeof buf);
    CHECK(strstr(buf, "temp=0.7") && strstr(buf, "top_k=10") && strstr(buf, "repeat_penalty=1.1"), "describe: %s",
          buf);
    lc_sampler_params before = p;
    CHECK(lc_sampler_apply_option(&p, "--temp", "hot", &err) == LC_ERR_INVALID_ARG, "junk temp");
    CHECK(lc_sampler_apply_option(&p, "--top-k", "1.5", &err) == LC_ERR_INVALID_ARG, "fractional k");
    CHECK(lc_sampler_apply_option(&p, "--min-p", "2", &err) == LC_ERR_INVALID_ARG, "min-p 2: %s", err.msg);
    CHECK(lc_sampler_apply_option(&p, "--repeat-last-n", "-2", &err) == LC_ERR_INVALID_ARG, "last-n -2");
    CHECK(lc_sampler_apply_option(&p, "--repeat-last-n", "99999", &err) == LC_ERR_INVALID_ARG, "last-n huge");
    CHECK(lc_sampler_apply_option(&p, "--seed", "-5", &err) == LC_ERR_INVALID_ARG, "seed -5");
    CHECK(lc_sampler_apply_option(&p, "--seed", "18446744073709551616", &err) == LC_ERR_INVALID_ARG, "seed overflow");
    CHECK(lc_sampler_apply_option(&p, "--temp", NULL, &err) == LC_ERR_INVALID_ARG, "missing value");
    CHECK(lc_sampler_apply_option(&p, "--rope-scale", "2", &err) == LC_ERR_INVALID_ARG, "not a sampling option");
    CHECK(memcmp(&before, &p, sizeof p) == 0, "refusals leave params alone");
    CHECK_OK(lc_sampler_apply_option(&p, "--seed", "-1", &err), &err);
    CHECK(strstr(lc_sampler_options_help(), "--min-p") != NULL, "help");
    p.temp = 0.0f;
    lc_sampler_describe(&p, buf, sizeof buf);
    CHECK(strncmp(buf, "greedy", 6) == 0, "describe greedy: %s", buf);
}

/* The AVX2 scan equals the scalar one; NaN / +inf are found anywhere. */
static void test_scan(void) {
    lc_rng r;
    lc_rng_seed(&r, 9);
    float x[301];
    for (int32_t n = 1; n <= 301; n += 15) {
        for (int trial = 0; trial < 6; trial++) {
            random_logits(&r, x, n, 2.0f);
            if (trial >= 1) x[lc_rng_below(&r, (uint64_t)n)] = -INFINITY;
            if (trial == 2) x[lc_rng_below(&r, (uint64_t)n)] = NAN;
            if (trial == 3) x[lc_rng_below(&r, (uint64_t)n)] = INFINITY;
            if (trial == 4)
                for (int32_t i = 0; i < n; i++) x[i] = -INFINITY;
            if (trial == 5) x[n - 1] = 100.0f;
            float m1;
            int32_t c1;
            bool b1;
            lc_sample_scan(x, n, &m1, &c1, &b1);
            bool want_bad = false;
            int32_t want_c = 0;
            for (int32_t i = 0; i < n; i++) want_bad |= isnan(x[i]) || x[i] == INFINITY, want_c += x[i] == -INFINITY;
            CHECK(b1 == want_bad && c1 == want_c, "scalar scan n=%d trial %d", n, trial);
#if defined(LC_HAVE_X86)
            if (lc_isa_best() >= LC_ISA_AVX2) {
                float m2;
                int32_t c2;
                bool b2;
                lc_sample_scan_avx2(x, n, &m2, &c2, &b2);
                CHECK(b2 == b1 && c2 == c1 && (b1 || m2 == m1), "avx2 scan = scalar: n=%d trial %d (%g %g)", n, trial,
                      (double)m1, (double)m2);
            }
#endif
        }
    }
}

int main(void) {
    test_scan();
    test_greedy();
    test_top_k();
    test_top_p_min_p();
    test_penalties();
    test_distribution();
    test_determinism_and_state();
    test_bad_input();
    test_options();
    return lc_test_finish("test_sample");
}
