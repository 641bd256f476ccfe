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
 *    vocabulary behind a valid checksum, and an empty file.
 */
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

static lc_context *make_ctx(const lc_model *m, const char *policy, lc_dtype kt, lc_dtype vt) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) return NULL;
    o.n_ctx = 64;
    o.n_batch = 16;
    o.n_threads = 2;
    o.k_type = kt;
    o.v_type = vt;
    lc_context *ctx = NULL;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) fprintf(stderr, "context: %s\n", err.msg);
    return ctx;
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
    float before[64];
    const float *l = lc_context_logits(ctx);
    if (l) memcpy(before, l, (size_t)V * 4);
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
    CHECK(l && l2 && memcmp(before, l2, (size_t)V * 4) == 0, "%s: the logits changed", what);
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
    mod[8] = 2; /* version 2 */
    write_all(path2_buf, mod, n);
    expect_refused(b, s, "newer version", LC_ERR_UNSUPPORTED, "newer");
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
