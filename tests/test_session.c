/*
 * Sessions (lc_session_save / lc_session_load):
 *
 *  - round trip: after saving mid-generation and loading into a fresh
 *    context and sampler, the continuation is token for token and logit for
 *    logit the one the original context produces, for every KV policy and
 *    cache type (q8_0 included), with history and blob returned intact;
 *  - every failure mode is refused whole and leaves the context and the
 *    sampler as they were: missing file, truncated at many lengths, extended,
 *    a flipped byte anywhere (checksum), wrong magic, a newer version, another
 *    model, other cache types, another policy or size, a token id out of the
 *    vocabulary behind a valid checksum, and an empty file; a version-1 file
 *    (before recurrent states) still loads;
 *  - Gated DeltaNet (the qwen3-next fixture in ../shared, skipped when
 *    absent): prompt, save, load into a fresh context that held something
 *    else, continue: tokens and logits bit for bit those of the uninterrupted
 *    context (one token at a time and a 9-token chunk); tampered state
 *    sections (truncated, a state of another shape, another state count, a
 *    non-finite value, a bad state header, a flipped bit) and sessions of
 *    another model are refused whole;
 *  - a full or shift cache saved with one n_ctx loads into a context of
 *    another size that holds its tokens (continuing logit for logit), and one
 *    too small is refused saying which -c it needs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "test_util.h"


static lc_model *make_model(int32_t head_dim, uint64_t seed) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = head_dim;
    c.dim = 4 * head_dim;
    c.hidden_dim = 3 * c.dim;
    c.n_layers = 2;
    c.vocab_size = 57;
    c.ctx_train = 128;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, head_dim);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, seed, &m, &err) != LC_OK) fprintf(stderr, "model: %s\n", err.msg);
    return m;
}

static lc_context *make_ctx_n(const lc_model *m, const char *policy, lc_dtype kt, lc_dtype vt, int64_t n_ctx) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) return NULL;
    o.n_ctx = n_ctx;
    o.n_batch = 16;
    o.n_threads = 2;
    o.k_type = kt;
    o.v_type = vt;
    lc_context *ctx = NULL;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) fprintf(stderr, "context: %s\n", err.msg);
    return ctx;
}

static lc_context *make_ctx(const lc_model *m, const char *policy, lc_dtype kt, lc_dtype vt) {
    return make_ctx_n(m, policy, kt, vt, 64);
}

static lc_sampler *make_sampler(const lc_model *m) {
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.temp = 1.5f;
    sp.top_k = 0;
    sp.min_p = 0;
    sp.repeat_penalty = 1.3f;
    sp.seed = 7;
    lc_sampler *s = NULL;
    lc_sampler_create(&sp, m->cfg.vocab_size, &s, NULL);
    return s;
}

/* Sample and evaluate n tokens; logits of each step into lg [n, vocab]. */
static void continue_n(lc_context *ctx, lc_sampler *s, int64_t n, int32_t *out, float *lg, int32_t V) {
    lc_error err;
    for (int64_t i = 0; i < n; i++) {
        const float *l = lc_context_logits(ctx);
        CHECK(l != NULL, "no logits at step %lld", (long long)i);
        if (!l) return;
        memcpy(lg + i * V, l, (size_t)V * sizeof(float));
        CHECK_OK(lc_sampler_sample(s, l, &out[i], &err), &err);
        CHECK_OK(lc_context_eval(ctx, &out[i], 1, NULL, false, &err), &err);
    }
}

static char path_buf[256], path2_buf[256];

static void test_round_trip(const lc_model *m, const char *policy, lc_dtype kt, lc_dtype vt) {
    const int32_t V = m->cfg.vocab_size;
    const int64_t n_prompt = 30, n_before = lc_test_quick() ? 20 : 60, n_after = 25;
    lc_context *a = make_ctx(m, policy, kt, vt), *b = make_ctx(m, policy, kt, vt);
    lc_sampler *sa = make_sampler(m), *sb = make_sampler(m);
    int32_t prompt[30], hist[200], ta[25], tb[25];
    float *la = malloc((size_t)(n_after * V) * 4), *lb = malloc((size_t)(n_after * V) * 4);
    lc_error err;
    if (!a || !b || !sa || !sb || !la || !lb) {
        CHECK(false, "setup %s", policy ? policy : "full");
        goto done;
    }
    for (int i = 0; i < n_prompt; i++) prompt[i] = (i * 7 + 3) % V;
    CHECK_OK(lc_context_eval(a, prompt, n_prompt, NULL, false, &err), &err);
    for (int i = 0; i < n_prompt; i++) lc_sampler_accept(sa, prompt[i], NULL);
    float *scratch = malloc((size_t)(n_before * V) * 4);
    int32_t *gen = hist + n_prompt;
    const bool full = !policy || strcmp(policy, "full") == 0;
    const int64_t nb = full ? 5 : n_before;
    continue_n(a, sa, nb, gen, scratch, V);
    free(scratch);
    memcpy(hist, prompt, sizeof prompt);
    const char blob[] = "turns: 3 | system 12";
    CHECK_OK(lc_session_save(a, path_buf, hist, n_prompt + nb, blob, sizeof blob, sa, &err), &err);
    /* b: something else in it, then the load replaces everything */
    CHECK_OK(lc_context_eval(b, prompt, 5, NULL, false, &err), &err);
    int32_t *tokens = NULL;
    int64_t n_tokens = 0;
    void *bl = NULL;
    size_t bl_len = 0;
    bool has_s = false;
    CHECK_OK(lc_session_load(b, path_buf, sb, &tokens, &n_tokens, &bl, &bl_len, &has_s, &err), &err);
    CHECK(n_tokens == n_prompt + nb && tokens && memcmp(tokens, hist, (size_t)n_tokens * 4) == 0, "history");
    CHECK(bl_len == sizeof blob && bl && memcmp(bl, blob, sizeof blob) == 0 && has_s, "blob and sampler flag");
    free(tokens);
    free(bl);
    CHECK(lc_context_n_past(b) == lc_context_n_past(a) && lc_context_n_seen(b) == lc_context_n_seen(a), "counts");
    continue_n(a, sa, n_after, ta, la, V);
    continue_n(b, sb, n_after, tb, lb, V);
    CHECK(memcmp(ta, tb, sizeof ta) == 0, "%s %s/%s: the loaded context continues differently", policy ? policy : "full",
          lc_dtype_name(kt), lc_dtype_name(vt));
    CHECK(memcmp(la, lb, (size_t)(n_after * V) * 4) == 0, "%s: logits differ after loading", policy ? policy : "full");
done:
    free(la), free(lb);
    lc_sampler_free(sa), lc_sampler_free(sb);
    lc_context_free(a), lc_context_free(b);
}

static unsigned char *read_all(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long s = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)s + 1);
    if (b && fread(b, 1, (size_t)s, f) != (size_t)s) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)s;
    return b;
}

static void write_all(const char *p, const unsigned char *b, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return;
    if (n) fwrite(b, 1, n, f);
    fclose(f);
}

static uint64_t fnv(const unsigned char *b, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Load path2 into ctx and expect refusal with status want; the context and
 * the sampler must be unchanged (same logits, counts, next draws). */
static void expect_refused(lc_context *ctx, lc_sampler *s, const char *what, lc_status want, const char *needle) {
    lc_error err;
    const int32_t V = lc_context_model(ctx)->cfg.vocab_size;
    float *before = malloc((size_t)V * 4);
    const float *l = lc_context_logits(ctx);
    if (l && before) memcpy(before, l, (size_t)V * 4);
    const int64_t past = lc_context_n_past(ctx);
    lc_sampler_state *s0 = malloc(sizeof *s0), *s1 = malloc(sizeof *s1);
    lc_sampler_get_state(s, s0);
    int32_t *tok = (int32_t *)(uintptr_t)1;
    lc_status st = lc_session_load(ctx, path2_buf, s, &tok, NULL, NULL, NULL, NULL, &err);
    CHECK(st == want, "%s: status %s (%s), wanted %s", what, lc_status_str(st), err.msg, lc_status_str(want));
    CHECK(tok == NULL, "%s: tokens handed out on failure", what);
    if (needle) CHECK(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
    CHECK(lc_context_n_past(ctx) == past, "%s: the context changed", what);
    const float *l2 = lc_context_logits(ctx);
    CHECK(l && l2 && before && memcmp(before, l2, (size_t)V * 4) == 0, "%s: the logits changed", what);
    free(before);
    lc_sampler_get_state(s, s1);
    CHECK(memcmp(s0, s1, sizeof *s0) == 0, "%s: the sampler changed", what);
    free(s0);
    free(s1);
}

static void test_failures(const lc_model *m, const lc_model *other) {
    lc_error err;
    lc_context *a = make_ctx(m, "sinks:2:20", LC_DTYPE_F16, LC_DTYPE_F16);
    lc_context *b = make_ctx(m, "sinks:2:20", LC_DTYPE_F16, LC_DTYPE_F16);
    lc_sampler *s = make_sampler(m);
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (i * 5 + 1) % 57;
    if (!a || !b || !s) {
        CHECK(false, "setup");
        goto done;
    }
    CHECK_OK(lc_context_eval(a, toks, 40, NULL, false, &err), &err);
    CHECK_OK(lc_session_save(a, path_buf, toks, 40, NULL, 0, s, &err), &err);
    CHECK_OK(lc_context_eval(b, toks, 7, NULL, false, &err), &err); /* b holds something else */
    size_t n = 0;
    unsigned char *img = read_all(path_buf, &n);
    if (!img) {
        CHECK(false, "read back");
        goto done;
    }
    unsigned char *mod = malloc(n + 16);

    unlink(path2_buf);
    expect_refused(b, s, "missing", LC_ERR_IO, "cannot open");
    write_all(path2_buf, img, 0);
    expect_refused(b, s, "empty", LC_ERR_FORMAT, "truncated");
    const size_t cuts[] = {1, 8, 100, 191, 192, 200, n / 3, n / 2, n - 9, n - 8, n - 1};
    for (size_t i = 0; i < LC_ARRAY_LEN(cuts); i++) {
        write_all(path2_buf, img, cuts[i]);
        char w[32];
        snprintf(w, sizeof w, "truncated at %zu", cuts[i]);
        expect_refused(b, s, w, LC_ERR_FORMAT, NULL);
    }
    memcpy(mod, img, n);
    memset(mod + n, 0, 16);
    write_all(path2_buf, mod, n + 16);
    expect_refused(b, s, "extended", LC_ERR_FORMAT, "implies");
    /* a flipped bit anywhere: the header checks or the checksum catch it */
    lc_rng r;
    lc_rng_seed(&r, 5);
    for (int k = 0; k < (lc_test_quick() ? 12 : 40); k++) {
        memcpy(mod, img, n);
        const size_t at = k < 4 ? (size_t)(200 + k * 997) % n : (size_t)lc_rng_below(&r, n);
        mod[at] ^= (unsigned char)(1u << lc_rng_below(&r, 8));
        write_all(path2_buf, mod, n);
        char w[48];
        snprintf(w, sizeof w, "bit flipped at %zu", at);
        lc_status st = lc_session_load(b, path2_buf, s, NULL, NULL, NULL, NULL, NULL, &err);
        CHECK(st == LC_ERR_FORMAT || st == LC_ERR_UNSUPPORTED, "%s: %s", w, lc_status_str(st));
    }
    expect_refused(b, s, "last flipped", LC_ERR_FORMAT, NULL);
    memcpy(mod, img, n);
    mod[0] = 'X';
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "magic", LC_ERR_FORMAT, "not a longctx session");
    memcpy(mod, img, n);
    mod[8] = (unsigned char)(LC_SESSION_VERSION + 1);
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "newer version", LC_ERR_UNSUPPORTED, "newer");
    /* version 1 (before the recurrent states; the same layout without them)
     * still loads into a context without DeltaNet layers */
    CHECK(img[8] == 3 && LC_SESSION_VERSION == 3, "this build writes version 3");
    memcpy(mod, img, n); /* version 2 (before the rings; the same layout without them) */
    mod[8] = 2;
    uint64_t h2 = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + i] = (unsigned char)(h2 >> (8 * i));
    write_all(path2_buf, mod, n);
    CHECK_OK(lc_session_load(b, path2_buf, s, NULL, NULL, NULL, NULL, NULL, &err), &err);
    mod[188] = 1; /* a version-2 file with rings */
    h2 = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + i] = (unsigned char)(h2 >> (8 * i));
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "version 2 with rings", LC_ERR_FORMAT, "version 2");
    memcpy(mod, img, n);
    mod[8] = 1;
    uint64_t h1 = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + i] = (unsigned char)(h1 >> (8 * i));
    write_all(path2_buf, mod, n);
    CHECK_OK(lc_session_load(b, path2_buf, s, NULL, NULL, NULL, NULL, NULL, &err), &err);
    CHECK(lc_context_n_past(b) == lc_context_n_past(a), "version-1 file");
    mod[184] = 1; /* a version-1 file with recurrent states */
    h1 = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + i] = (unsigned char)(h1 >> (8 * i));
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "version 1 with states", LC_ERR_FORMAT, "version 1");
    /* valid checksum, bad content: a history token out of the vocabulary */
    memcpy(mod, img, n);
    const int32_t bad = 9999;
    memcpy(mod + 192, &bad, 4);
    const uint64_t h = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + i] = (unsigned char)(h >> (8 * i));
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "token out of vocabulary", LC_ERR_FORMAT, "vocabulary");
    /* foreign: another model, other cache types, another policy */
    lc_context *o = make_ctx(other, "sinks:2:20", LC_DTYPE_F16, LC_DTYPE_F16);
    lc_context *t32 = make_ctx(m, "sinks:2:20", LC_DTYPE_F32, LC_DTYPE_F16);
    lc_context *pol = make_ctx(m, "window:20", LC_DTYPE_F16, LC_DTYPE_F16);
    if (o && t32 && pol) {
        CHECK_OK(lc_context_eval(o, toks, 3, NULL, false, &err), &err);
        CHECK_OK(lc_session_save(o, path2_buf, NULL, 0, NULL, 0, NULL, &err), &err);
        expect_refused(b, s, "other model", LC_ERR_FORMAT, "another model");
        CHECK_OK(lc_context_eval(t32, toks, 3, NULL, false, &err), &err);
        CHECK_OK(lc_session_save(t32, path2_buf, NULL, 0, NULL, 0, NULL, &err), &err);
        expect_refused(b, s, "other types", LC_ERR_FORMAT, "-ctk");
        CHECK_OK(lc_context_eval(pol, toks, 3, NULL, false, &err), &err);
        CHECK_OK(lc_session_save(pol, path2_buf, NULL, 0, NULL, 0, NULL, &err), &err);
        expect_refused(b, s, "other policy", LC_ERR_FORMAT, "this context uses sinks (sinks 2, window 20");
    } else {
        CHECK(false, "foreign contexts");
    }
    lc_context_free(o), lc_context_free(t32), lc_context_free(pol);
    /* and the good file still loads */
    CHECK_OK(lc_session_load(b, path_buf, s, NULL, NULL, NULL, NULL, NULL, &err), &err);
    CHECK(lc_context_n_past(b) == lc_context_n_past(a), "good file after the bad ones");
    free(mod);
    free(img);
done:
    lc_sampler_free(s);
    lc_context_free(a), lc_context_free(b);
}

/* A session saved from a full or shift context of 64 slots loads into one of
 * another size (-c) that holds its tokens, and continues logit for logit as
 * the original does; one too small is refused, saying what -c it needs. */
static void test_resized(const lc_model *m, const char *policy) {
    const int32_t V = m->cfg.vocab_size;
    lc_error err;
    lc_context *a = make_ctx(m, policy, LC_DTYPE_F16, LC_DTYPE_F16);
    lc_context *big = make_ctx_n(m, policy, LC_DTYPE_F16, LC_DTYPE_F16, 96);
    lc_context *small = make_ctx_n(m, policy, LC_DTYPE_F16, LC_DTYPE_F16, 40);
    lc_context *tiny = make_ctx_n(m, policy, LC_DTYPE_F16, LC_DTYPE_F16, 24);
    lc_sampler *s = make_sampler(m);
    int32_t toks[35];
    for (int i = 0; i < 35; i++) toks[i] = (i * 13 + 5) % V;
    if (!a || !big || !small || !tiny || !s) {
        CHECK(false, "resized setup %s", policy);
        goto done;
    }
    CHECK_OK(lc_context_eval(a, toks, 20, NULL, false, &err), &err);
    for (int i = 20; i < 25; i++) CHECK_OK(lc_context_eval(a, toks + i, 1, NULL, false, &err), &err);
    CHECK_OK(lc_session_save(a, path2_buf, toks, 25, NULL, 0, NULL, &err), &err);
    lc_context *to[2] = {big, small};
    for (int k = 0; k < 2; k++) {
        lc_context *b = to[k];
        const int64_t n_slots = k == 0 ? 96 : 40;
        int32_t *hist = NULL;
        int64_t n_hist = 0;
        CHECK_OK(lc_session_load(b, path2_buf, NULL, &hist, &n_hist, NULL, NULL, NULL, &err), &err);
        CHECK(n_hist == 25 && hist && memcmp(hist, toks, 25 * sizeof(int32_t)) == 0, "%s -> %lld: history", policy,
              (long long)n_slots);
        free(hist);
        lc_kv_stats ks;
        lc_context_kv_stats(b, &ks);
        CHECK(ks.n_slots == n_slots && lc_context_n_past(b) == 25, "%s -> %lld: %lld slots, %lld past", policy,
              (long long)n_slots, (long long)ks.n_slots, (long long)lc_context_n_past(b));
        const float *la = lc_context_logits(a), *lb = lc_context_logits(b);
        CHECK(la && lb && memcmp(la, lb, (size_t)V * 4) == 0, "%s -> %lld: loaded logits", policy, (long long)n_slots);
    }
    /* the same next tokens into each: the same logits (a: its own copy) */
    for (int i = 25; i < 35; i++) {
        CHECK_OK(lc_context_eval(a, toks + i, 1, NULL, false, &err), &err);
        for (int k = 0; k < 2; k++) {
            CHECK_OK(lc_context_eval(to[k], toks + i, 1, NULL, false, &err), &err);
            const float *la = lc_context_logits(a), *lb = lc_context_logits(to[k]);
            CHECK(la && lb && memcmp(la, lb, (size_t)V * 4) == 0, "%s -> %s: logits differ at token %d", policy,
                  k == 0 ? "96" : "40", i);
        }
    }
    CHECK(lc_context_n_past(big) == 35 && lc_context_n_past(small) == 35, "%s: 35 past after loading", policy);
    /* 25 tokens do not fit 24 slots: refused, saying so, nothing changed */
    CHECK_OK(lc_context_eval(tiny, toks, 3, NULL, false, &err), &err);
    expect_refused(tiny, s, "too small a context", LC_ERR_FORMAT, "give -c 25 or more");
done:
    lc_sampler_free(s);
    lc_context_free(a), lc_context_free(big), lc_context_free(small), lc_context_free(tiny);
}

/* Rewrite the header's i64 at off and the checksum (FNV-1a is a corruption
 * check, not authentication: anyone can do this). */
static void tamper_i64(const char *from, const char *to, size_t off, int64_t v) {
    size_t n = 0;
    unsigned char *img = read_all(from, &n);
    if (!img || n < off + 8 + 8) {
        CHECK(false, "read %s", from);
        free(img);
        return;
    }
    for (int i = 0; i < 8; i++) img[off + (size_t)i] = (unsigned char)((uint64_t)v >> (8 * i));
    const uint64_t h = fnv(img, n - 8);
    for (int i = 0; i < 8; i++) img[n - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
    write_all(to, img, n);
    free(img);
}

/* Issue 17: an H2O session whose high-water mark is raised to the slot count
 * loaded, and the next eviction handed out slots past the end. Every slot
 * below hw must be occupied. */
static void test_h2o_high_water(const lc_model *m) {
    lc_error err;
    lc_context *a = make_ctx(m, "h2o:2:4:8", LC_DTYPE_F16, LC_DTYPE_F16);
    lc_context *b = make_ctx(m, "h2o:2:4:8", LC_DTYPE_F16, LC_DTYPE_F16);
    lc_sampler *s = make_sampler(m);
    int32_t toks[24];
    for (int i = 0; i < 24; i++) toks[i] = (i * 11 + 2) % 57;
    if (!a || !b || !s) {
        CHECK(false, "h2o setup");
        goto done;
    }
    CHECK_OK(lc_context_eval(a, toks, 10, NULL, false, &err), &err);
    CHECK_OK(lc_session_save(a, path_buf, toks, 10, NULL, 0, NULL, &err), &err);
    CHECK_OK(lc_context_eval(b, toks, 3, NULL, false, &err), &err);
    lc_kv_stats ks;
    lc_context_kv_stats(a, &ks);
    tamper_i64(path_buf, path2_buf, 104, ks.n_slots); /* hw = n_slots */
    expect_refused(b, s, "h2o hw raised", LC_ERR_FORMAT, "high-water");
    /* had it loaded, these would evict into slots past the end */
    CHECK_OK(lc_context_eval(b, toks + 10, 14, NULL, false, &err), &err);
    /* the untouched file loads and continues */
    CHECK_OK(lc_session_load(b, path_buf, NULL, NULL, NULL, NULL, NULL, NULL, &err), &err);
    CHECK_OK(lc_context_eval(b, toks + 10, 14, NULL, false, &err), &err);
done:
    lc_sampler_free(s);
    lc_context_free(a), lc_context_free(b);
}

/* Saving keeps an existing file's mode, writes through a symlink (the link
 * stays a link) and removes the temporary files of saves that were killed
 * (their process is gone); a live process's temporary stays. */
static void test_save_file_handling(const lc_model *m) {
    lc_error err;
    lc_context *a = make_ctx(m, "full", LC_DTYPE_F16, LC_DTYPE_F16);
    int32_t toks[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (!a) {
        CHECK(false, "setup");
        return;
    }
    CHECK_OK(lc_context_eval(a, toks, 8, NULL, false, &err), &err);
    CHECK_OK(lc_session_save(a, path_buf, toks, 8, NULL, 0, NULL, &err), &err);
    CHECK(chmod(path_buf, 0644) == 0, "chmod");
    CHECK_OK(lc_session_save(a, path_buf, toks, 8, NULL, 0, NULL, &err), &err);
    struct stat sb;
    CHECK(stat(path_buf, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode after save: %o", (unsigned)(sb.st_mode & 0777));
    /* through a symlink */
    char link[300];
    snprintf(link, sizeof link, "%s.link", path_buf);
    unlink(link);
    CHECK(symlink(path_buf, link) == 0, "symlink");
    CHECK_OK(lc_session_save(a, link, toks, 4, NULL, 0, NULL, &err), &err);
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link is still a link");
    int32_t *hist = NULL;
    int64_t n_hist = 0;
    CHECK_OK(lc_session_load(a, path_buf, NULL, &hist, &n_hist, NULL, NULL, NULL, &err), &err);
    CHECK(n_hist == 4, "saved through the link into its target: %lld tokens", (long long)n_hist);
    free(hist);
    unlink(link);
    /* stale temporaries: a pid that cannot run (above pid_max) and our own */
    char dead[300], live[300];
    snprintf(dead, sizeof dead, "%s.tmp.2147483000.Ab12Cd", path_buf);
    snprintf(live, sizeof live, "%s.tmp.%d.Ab12Cd", path_buf, (int)getpid());
    write_all(dead, (const unsigned char *)"x", 1);
    write_all(live, (const unsigned char *)"x", 1);
    CHECK_OK(lc_session_save(a, path_buf, toks, 8, NULL, 0, NULL, &err), &err);
    CHECK(access(dead, F_OK) != 0, "a dead save's temporary is removed");
    CHECK(access(live, F_OK) == 0, "a live process's temporary stays");
    unlink(dead);
    unlink(live);
    lc_context_free(a);
}

/* img with len bytes at off replaced and the checksum recomputed, to path2. */
static void write_patched(const unsigned char *img, size_t n, size_t off, const void *bytes, size_t len) {
    unsigned char *mod = malloc(n);
    if (!mod || off + len > n - 8) {
        CHECK(false, "patch at %zu", off);
        free(mod);
        return;
    }
    memcpy(mod, img, n);
    memcpy(mod + off, bytes, len);
    const uint64_t h = fnv(mod, n - 8);
    for (int i = 0; i < 8; i++) mod[n - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
    write_all(path2_buf, mod, n);
    free(mod);
}

static lc_context *make_hybrid_ctx(const lc_model *m, lc_dtype kv) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 96;
    o.n_batch = 16;
    o.n_threads = 2;
    o.k_type = o.v_type = kv;
    lc_context *ctx = NULL;
    lc_error err;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) fprintf(stderr, "hybrid context: %s\n", err.msg);
    return ctx;
}

/* Logits of every row of a chunk of n tokens. */
static void eval_all(lc_context *ctx, const int32_t *t, int64_t n, float *out) {
    lc_error err;
    CHECK_OK(lc_context_eval(ctx, t, n, out, true, &err), &err);
}

/* Qwen3-Next (3 Gated DeltaNet layers, 1 gated attention layer): the
 * recurrent states travel with the KV cache. */
static void test_hybrid(const lc_model *llama) {
    if (!lc_test_have_shared("the Gated DeltaNet sessions (qwen3-next fixture)")) return;
    char path[1200];
    snprintf(path, sizeof path, "%s/fixtures/qwen3-next/model.f16.gguf", LC_SHARED_DIR);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "SKIP part: the Gated DeltaNet sessions (%s is absent)\n", path);
        return;
    }
    lc_error err;
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
    if (!m) return;
    const int32_t V = m->cfg.vocab_size;
    const lc_family *f = &m->cfg.fam;
    CHECK(f->flags & LC_ARCH_DELTANET, "the fixture has DeltaNet layers");
    /* what the three states take, from the shapes (32-byte header each) */
    const size_t one = 32 + 4 * ((size_t)f->ssm_n_v_heads * f->ssm_d_k * f->ssm_d_v +
                                 (size_t)(f->ssm_conv_kernel - 1) *
                                     (2 * (size_t)f->ssm_n_k_heads * f->ssm_d_k + (size_t)f->ssm_n_v_heads * f->ssm_d_v));
    const int n_states = 3;
    const lc_dtype kvs[2] = {LC_DTYPE_F16, LC_DTYPE_F32};
    const int64_t n_prompt = 30, n_gen = 5, n_after = 12, n_chunk = 9;
    int32_t prompt[30], hist[40], ta[12], tb[12], chunk[9];
    for (int i = 0; i < n_prompt; i++) prompt[i] = (i * 37 + 11) % V;
    for (int i = 0; i < n_chunk; i++) chunk[i] = (i * 53 + 7) % V;
    float *la = malloc((size_t)((n_after + n_chunk) * V) * 4), *lb = malloc((size_t)((n_after + n_chunk) * V) * 4);
    float *scratch = malloc((size_t)(n_gen * V) * 4);
    for (int k = 0; k < 2 && la && lb && scratch; k++) {
        lc_context *a = make_hybrid_ctx(m, kvs[k]), *b = make_hybrid_ctx(m, kvs[k]);
        lc_sampler *sa = make_sampler(m), *sb = make_sampler(m);
        if (!a || !b || !sa || !sb) {
            CHECK(false, "hybrid setup");
            goto next;
        }
        CHECK_OK(lc_context_eval(a, prompt, n_prompt, NULL, false, &err), &err); /* chunks of 16 */
        for (int i = 0; i < n_prompt; i++) lc_sampler_accept(sa, prompt[i], NULL);
        continue_n(a, sa, n_gen, hist + n_prompt, scratch, V);
        memcpy(hist, prompt, sizeof prompt);
        CHECK_OK(lc_session_save(a, path_buf, hist, n_prompt + n_gen, NULL, 0, sa, &err), &err);
        /* b holds something else first: its states must be replaced */
        CHECK_OK(lc_context_eval(b, chunk, 7, NULL, false, &err), &err);
        int32_t *tokens = NULL;
        int64_t n_tokens = 0;
        CHECK_OK(lc_session_load(b, path_buf, sb, &tokens, &n_tokens, NULL, NULL, NULL, &err), &err);
        CHECK(n_tokens == n_prompt + n_gen && tokens && memcmp(tokens, hist, (size_t)n_tokens * 4) == 0, "history");
        free(tokens);
        CHECK(lc_context_n_past(b) == lc_context_n_past(a), "hybrid: counts");
        continue_n(a, sa, n_after, ta, la, V);
        continue_n(b, sb, n_after, tb, lb, V);
        CHECK(memcmp(ta, tb, sizeof ta) == 0, "hybrid %s: the loaded context continues differently",
              lc_dtype_name(kvs[k]));
        eval_all(a, chunk, n_chunk, la + n_after * V);
        eval_all(b, chunk, n_chunk, lb + n_after * V);
        CHECK(memcmp(la, lb, (size_t)((n_after + n_chunk) * V) * 4) == 0,
              "hybrid %s: logits differ after loading (one token at a time, then a chunk of %lld)",
              lc_dtype_name(kvs[k]), (long long)n_chunk);
        if (k == 1) {
            /* tampering, on an f32 file saved without a sampler (the states
             * end where the logits begin) */
            CHECK_OK(lc_session_save(a, path_buf, hist, n_prompt + n_gen, NULL, 0, NULL, &err), &err);
            size_t n = 0;
            unsigned char *img = read_all(path_buf, &n);
            if (!img || n < (size_t)V * 4 + 8 + n_states * one + 192) {
                CHECK(false, "hybrid: read back (%zu bytes)", n);
                free(img);
                goto next;
            }
            const size_t s0 = n - 8 - (size_t)V * 4 - (size_t)n_states * one; /* first state */
            CHECK(memcmp(img + s0, "LCDN", 4) == 0 && memcmp(img + s0 + one, "LCDN", 4) == 0 &&
                      memcmp(img + s0 + 2 * one, "LCDN", 4) == 0,
                  "hybrid: three states of %zu bytes before the logits", one);
            CHECK(img[184] == n_states && img[8] == LC_SESSION_VERSION, "hybrid: header");
            const size_t cuts[] = {s0, s0 + 31, s0 + one / 2, s0 + one, s0 + 3 * one - 1, n - 8 - (size_t)V * 4};
            for (size_t i = 0; i < LC_ARRAY_LEN(cuts); i++) {
                write_all(path2_buf, img, cuts[i]);
                char w[48];
                snprintf(w, sizeof w, "hybrid truncated at %zu", cuts[i]);
                expect_refused(b, sb, w, LC_ERR_FORMAT, "implies");
            }
            /* the states cut out and the file re-checksummed: sizes disagree */
            unsigned char *cut = malloc(n);
            if (cut) {
                memcpy(cut, img, s0);
                memcpy(cut + s0, img + s0 + one, n - s0 - one);
                const uint64_t h = fnv(cut, n - one - 8);
                for (int i = 0; i < 8; i++) cut[n - one - 8 + (size_t)i] = (unsigned char)(h >> (8 * i));
                write_all(path2_buf, cut, n - one);
                expect_refused(b, sb, "hybrid: one state left out", LC_ERR_FORMAT, "implies");
                free(cut);
            }
            const uint32_t cnt[3] = {2, 4, 0};
            for (int i = 0; i < 3; i++) {
                write_patched(img, n, 184, &cnt[i], 4);
                expect_refused(b, sb, "hybrid: state count", LC_ERR_FORMAT, "3 such layers");
            }
            const uint32_t dk = (uint32_t)f->ssm_d_k * 2, kern = 2;
            write_patched(img, n, s0 + one + 16, &dk, 4); /* second state: d_k */
            expect_refused(b, sb, "hybrid: state of another shape", LC_ERR_FORMAT, "layer 1's Gated DeltaNet state: "
                                                                                   "deltanet state load: saved shape");
            write_patched(img, n, s0 + 2 * one + 24, &kern, 4); /* third state: conv kernel */
            expect_refused(b, sb, "hybrid: another conv kernel", LC_ERR_FORMAT, "K=2");
            write_patched(img, n, s0 + 4, &kern, 4); /* state format version */
            expect_refused(b, sb, "hybrid: state version", LC_ERR_FORMAT, "not a version-1 DeltaNet state");
            write_patched(img, n, s0, "XXXX", 4);
            expect_refused(b, sb, "hybrid: state magic", LC_ERR_FORMAT, "layer 0's");
            const float nan = NAN, inf = INFINITY;
            write_patched(img, n, s0 + 2 * one + 32 + 4 * 77, &nan, 4);
            expect_refused(b, sb, "hybrid: NaN in S", LC_ERR_FORMAT, "not finite");
            write_patched(img, n, s0 + one - 4, &inf, 4); /* the last conv value */
            expect_refused(b, sb, "hybrid: inf in the conv tail", LC_ERR_FORMAT, "not finite");
            const uint32_t v1 = 1;
            write_patched(img, n, 8, &v1, 4);
            expect_refused(b, sb, "hybrid: version 1 with states", LC_ERR_FORMAT, "version 1");
            unsigned char *mod = malloc(n);
            lc_rng r;
            lc_rng_seed(&r, 11);
            for (int i = 0; mod && i < 6; i++) { /* a flipped bit in the states: the checksum */
                memcpy(mod, img, n);
                mod[s0 + (size_t)lc_rng_below(&r, (uint64_t)(3 * one))] ^= (unsigned char)(1u << lc_rng_below(&r, 8));
                write_all(path2_buf, mod, n);
                expect_refused(b, sb, "hybrid: bit flipped in a state", LC_ERR_FORMAT, "checksum");
            }
            free(mod);
            /* foreign: a llama session into the hybrid context, and back */
            lc_context *lc = make_ctx(llama, "full", LC_DTYPE_F32, LC_DTYPE_F32);
            if (lc) {
                const int32_t lt[3] = {1, 2, 3};
                CHECK_OK(lc_context_eval(lc, lt, 3, NULL, false, &err), &err);
                CHECK_OK(lc_session_save(lc, path2_buf, NULL, 0, NULL, 0, NULL, &err), &err);
                expect_refused(b, sb, "hybrid: a llama session", LC_ERR_FORMAT, "another model");
                CHECK(lc_session_load(lc, path_buf, NULL, NULL, NULL, NULL, NULL, NULL, &err) == LC_ERR_FORMAT &&
                          strstr(err.msg, "another model"),
                      "a hybrid session into a llama context: %s", err.msg);
            } else {
                CHECK(false, "llama context");
            }
            lc_context_free(lc);
            /* the untouched file still loads, and continues as a does */
            CHECK_OK(lc_session_load(b, path_buf, NULL, NULL, NULL, NULL, NULL, NULL, &err), &err);
            eval_all(a, chunk, 4, la);
            eval_all(b, chunk, 4, lb);
            CHECK(memcmp(la, lb, (size_t)(4 * V) * 4) == 0, "hybrid: the good file after the bad ones");
            free(img);
        }
    next:
        lc_sampler_free(sa), lc_sampler_free(sb);
        lc_context_free(a), lc_context_free(b);
    }
    free(la), free(lb), free(scratch);
    lc_model_free(m);
}

int main(void) {
    snprintf(path_buf, sizeof path_buf, "/tmp/lc_test_session_%d.bin", (int)getpid());
    snprintf(path2_buf, sizeof path2_buf, "/tmp/lc_test_session_%d_b.bin", (int)getpid());
    lc_model *m = make_model(16, 3), *m32 = make_model(32, 4), *other = make_model(16, 5);
    if (!m || !m32 || !other) {
        CHECK(false, "models");
        return lc_test_finish("test_session");
    }
    CHECK(lc_model_fingerprint(m) != lc_model_fingerprint(other) && lc_model_fingerprint(m) == lc_model_fingerprint(m),
          "fingerprints");
    const char *policies[] = {"full", "window:12", "sinks:3:10", "shift:4", "h2o:2:4:8"};
    for (size_t i = 0; i < LC_ARRAY_LEN(policies); i++) test_round_trip(m, policies[i], LC_DTYPE_F16, LC_DTYPE_F16);
    test_round_trip(m, "sinks:3:10", LC_DTYPE_F32, LC_DTYPE_F16);
    test_round_trip(m32, "shift:4", LC_DTYPE_Q8_0, LC_DTYPE_Q8_0);
    test_round_trip(m32, "full", LC_DTYPE_Q8_0, LC_DTYPE_F32);
    test_failures(m, other);
    test_h2o_high_water(m);
    test_save_file_handling(m);
    test_hybrid(m);
    test_resized(m, "full");
    test_resized(m, "shift:4");
    lc_error err;
    lc_context *lin = NULL;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.attn = "linear";
    o.n_ctx = 16;
    CHECK_OK(lc_context_create(m, &o, &lin, &err), &err);
    if (lin) CHECK(lc_session_save(lin, path_buf, NULL, 0, NULL, 0, NULL, &err) == LC_ERR_UNSUPPORTED, "linear saved");
    lc_context_free(lin);
    unlink(path_buf);
    unlink(path2_buf);
    lc_model_free(m), lc_model_free(m32), lc_model_free(other);
    return lc_test_finish("test_session");
}
