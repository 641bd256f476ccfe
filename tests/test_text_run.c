/* What `longctx run` asks of the library (text.h, runtime.h):
 *  - lc_stop_find / lc_stop_holdback against a brute-force reference on
 *    random texts fed in random pieces; lc_stops_validate's limits;
 *  - lc_tokens_parse, lc_text_prompt_tokens (against lc_tokenizer_encode),
 *    lc_model_bos / lc_model_eos with and without a tokenizer;
 *  - lc_generate_text_tokens: ids and text equal lc_generate's greedy tokens
 *    decoded; a stop string ends the text right after it at the first token
 *    that completes it; a held prefix (n_held) gives the same continuation;
 *    a caller's sampler (lc_sample_with_sampler) draws what the built one
 *    does; on_token sees every id; a caller's prefill is called once for the
 *    part not held and counted as the prompt, its failure returned; a model
 *    without a tokenizer gives ids only;
 *  - lc_context_opts_default_ctx's cases; lc_tokenizer_open_for_model;
 *    lc_text_strip_controls on fixed cases and random bytes;
 *  - lc_session_resume / lc_session_save_generation: the reused prefix for
 *    the same, a longer and a diverging prompt; a missing file; a chat's
 *    session refused;
 *  - lc_text_result_print_summary: the lines of fixed results (rates, the
 *    time split, each way of stopping), and of a real stop string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/text.h"
#include "longctx/util.h"
#include "test_model_util.h"
#include "test_util.h"

/* ---- stop strings ------------------------------------------------------------ */

/* The earliest occurrence ending after `from`, by trying every position. */
static int64_t brute_find(const char *t, size_t len, size_t from, const char *const *s, int n, int *which) {
    for (size_t p = 0; p < len; p++)
        for (int i = 0; i < n; i++) {
            const size_t sl = strlen(s[i]);
            if (p + sl <= len && p + sl > from && memcmp(t + p, s[i], sl) == 0) {
                *which = i;
                return (int64_t)p;
            }
        }
    return -1;
}

static size_t brute_hold(const char *t, size_t len, const char *const *s, int n) {
    size_t best = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 1; k < strlen(s[i]) && k <= len; k++)
            if (memcmp(t + len - k, s[i], k) == 0 && k > best) best = k;
    return best;
}

static void test_stops(void) {
    const char *const stops[] = {"abc", "ba", "cab", "aaaa"};
    lc_rng rng;
    lc_rng_seed(&rng, 12345);
    int checked = 0;
    for (int round = 0; round < 400; round++) {
        char text[96];
        const size_t len = 1 + lc_rng_below(&rng, sizeof text - 1);
        for (size_t i = 0; i < len; i++) text[i] = (char)('a' + lc_rng_below(&rng, 3));
        const int n = 1 + (int)lc_rng_below(&rng, 4);
        /* as a stream: pieces of 1..5 bytes, searched from where each began */
        size_t at = 0;
        while (at < len) {
            const size_t end = LC_MIN(len, at + 1 + lc_rng_below(&rng, 5));
            int w1 = -1, w2 = -1;
            const int64_t got = lc_stop_find(text, end, at, stops, n, &w1);
            const int64_t want = brute_find(text, end, at, stops, n, &w2);
            CHECK(got == want && (got < 0 || w1 == w2), "find in '%.*s' from %zu: %lld (%d) vs %lld (%d)", (int)end,
                  text, at, (long long)got, w1, (long long)want, w2);
            CHECK(lc_stop_holdback(text, end, stops, n) == brute_hold(text, end, stops, n), "holdback of '%.*s'",
                  (int)end, text);
            checked++;
            at = end;
        }
    }
    CHECK(checked > 1000, "%d stream steps", checked);
    CHECK(lc_stop_find("xyz", 3, 0, stops, 0, NULL) == -1, "no strings, no match");
    const char *const empty[] = {""};
    CHECK(lc_stop_find("xyz", 3, 0, empty, 1, NULL) == -1, "an empty string never matches");
    lc_error err;
    CHECK(lc_stops_validate(stops, 4, &err) == LC_OK, "four strings are fine");
    CHECK(lc_stops_validate(empty, 1, &err) == LC_ERR_INVALID_ARG, "an empty string is refused");
    char big[LC_TEXT_MAX_STOP_BYTES + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *const bigs[] = {big};
    CHECK(lc_stops_validate(bigs, 1, &err) == LC_ERR_INVALID_ARG, "a string over %d bytes is refused",
          LC_TEXT_MAX_STOP_BYTES);
    const char *many[LC_TEXT_MAX_STOPS + 1];
    for (int i = 0; i <= LC_TEXT_MAX_STOPS; i++) many[i] = "x";
    CHECK(lc_stops_validate(many, LC_TEXT_MAX_STOPS, &err) == LC_OK, "%d strings are fine", LC_TEXT_MAX_STOPS);
    CHECK(lc_stops_validate(many, LC_TEXT_MAX_STOPS + 1, &err) == LC_ERR_INVALID_ARG, "one more is refused");
}

/* ---- prompts ----------------------------------------------------------------- */

static void test_prompt_tokens(const lc_model *m, const lc_model *bare) {
    lc_error err;
    int32_t *ids = NULL;
    int64_t n = 0;
    CHECK_OK(lc_tokens_parse("1,403,22", m->cfg.vocab_size, &ids, &n, &err), &err);
    CHECK(n == 3 && ids && ids[0] == 1 && ids[1] == 403 && ids[2] == 22, "1,403,22 parsed");
    free(ids);
    const char *bad[] = {"", ",", "1,,2", "1,", "-1", "1,x", "2147483648", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(lc_tokens_parse(bad[i], m->cfg.vocab_size, &ids, &n, &err) == LC_ERR_INVALID_ARG && !ids && n == 0,
              "'%s' refused", bad[i]);
    }
    char out_of[32];
    snprintf(out_of, sizeof out_of, "5,%d", m->cfg.vocab_size);
    CHECK(lc_tokens_parse(out_of, m->cfg.vocab_size, &ids, &n, &err) == LC_ERR_INVALID_ARG &&
              strstr(err.msg, "outside the vocabulary"),
          "an id past the vocabulary refused: %s", err.msg);

    const char *text = "Hello world, once more.";
    int64_t want_n = 0;
    int32_t want[64];
    CHECK_OK(lc_tokenizer_encode(m->tokenizer, text, strlen(text), true, want, 64, &want_n, &err), &err);
    CHECK_OK(lc_text_prompt_tokens(m, text, strlen(text), 1, &ids, &n, &err), &err);
    CHECK(n == want_n && ids && memcmp(ids, want, (size_t)n * sizeof *ids) == 0, "text encoded with BOS");
    free(ids);
    CHECK_OK(lc_text_prompt_tokens(m, "", 0, 1, &ids, &n, &err), &err);
    CHECK(n == 1 && ids && ids[0] == lc_tokenizer_bos(m->tokenizer), "no text: BOS alone");
    free(ids);
    CHECK(lc_text_prompt_tokens(bare, text, strlen(text), 1, &ids, &n, &err) == LC_ERR_INVALID_ARG,
          "text without a tokenizer refused");
    CHECK_OK(lc_text_prompt_tokens(bare, NULL, 0, 1, &ids, &n, &err), &err);
    CHECK(n == 1 && ids && ids[0] == 1, "no tokenizer: BOS is 1");
    free(ids);
    CHECK(lc_model_bos(m) == lc_tokenizer_bos(m->tokenizer) && lc_model_eos(m) == lc_tokenizer_eos(m->tokenizer),
          "BOS/EOS are the tokenizer's");
    CHECK(lc_model_bos(bare) == 1 && lc_model_eos(bare) == -1, "a random model: BOS 1, no EOS");
}

/* ---- generation -------------------------------------------------------------- */

typedef struct {
    int32_t ids[256];
    int64_t n;
} id_log;

/* ---- the summary ------------------------------------------------------------ */

/* What lc_text_result_print_summary writes, into buf. */
static const char *summary(const lc_text_result *r, const char *const *stops, const lc_context_timings *tm, char *buf,
                           size_t cap) {
    FILE *f = tmpfile();
    buf[0] = '\0';
    if (!f) return buf;
    lc_text_result_print_summary(f, r, stops, tm);
    rewind(f);
    buf[fread(buf, 1, cap - 1, f)] = '\0';
    fclose(f);
    return buf;
}

static void test_summary(void) {
    lc_text_result r;
    memset(&r, 0, sizeof r);
    r.stop_index = -1;
    r.gen.n_prompt = 5;
    r.gen.t_prompt = 0.01;
    r.gen.n_generated = 16;
    r.gen.t_generate = 0.2;
    r.gen.stop = LC_STOP_LENGTH;
    const lc_context_timings tm = {.t_matmul = 0.147, .t_attn = 0.042, .t_other = 0.021};
    char buf[1024];
    const char *want = "prompt:        5 tokens in    0.010 s  (    500.0 tok/s)\n"
                       "generate:     16 tokens in    0.200 s  (     80.0 tok/s)\n"
                       "time: matmul 70.0%, attention 20.0%, other 10.0% of 0.210 s\n"
                       "stopped: length\n";
    CHECK(strcmp(summary(&r, NULL, &tm, buf, sizeof buf), want) == 0, "summary:\n%s", buf);
    r.gen.n_prompt = 0; /* a session held the whole prompt; no timings: no time line */
    r.gen.t_prompt = 0;
    r.gen.stop = LC_STOP_EOS;
    want = "prompt:        0 tokens in    0.000 s  (      0.0 tok/s)\n"
           "generate:     16 tokens in    0.200 s  (     80.0 tok/s)\n"
           "stopped: eos\n";
    CHECK(strcmp(summary(&r, NULL, NULL, buf, sizeof buf), want) == 0, "no timings:\n%s", buf);
    r.gen.stop = LC_STOP_CONTEXT_FULL;
    snprintf(r.gen.message, sizeof r.gen.message, "context full: 16 tokens; raise -c");
    CHECK(strstr(summary(&r, NULL, NULL, buf, sizeof buf), "\nstopped: context full: 16 tokens; raise -c\n"),
          "context full:\n%s", buf);
    const char *stops[] = {"END", "\n\n"};
    r.gen.stop = LC_STOP_CALLBACK;
    r.stop_index = 1;
    CHECK(strstr(summary(&r, stops, NULL, buf, sizeof buf), "\nstopped: reverse prompt '\n\n'\n"), "stop string:\n%s",
          buf);
}

static bool log_id(void *user, int32_t id) {
    id_log *l = user;
    if (l->n < 256) l->ids[l->n] = id;
    l->n++;
    return true;
}

typedef struct {
    int n_calls;
    int64_t n;
    bool fail;
} prefill_log;

/* An lc_prefill_fn that logs its calls and evaluates as lc_context_eval (or fails). */
static lc_status counting_prefill(void *user, lc_context *ctx, const int32_t *ids, int64_t n, lc_error *err) {
    prefill_log *p = user;
    p->n_calls++;
    p->n = n;
    if (p->fail) return lc_fail(err, LC_ERR_IO, "ring down");
    return lc_context_eval(ctx, ids, n, NULL, false, err);
}

static void test_generate(lc_context *ctx, const lc_model *m) {
    lc_error err;
    const char *prompt = "The pass key is 71432. Remember it. What is the pass key? The pass key is";
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    CHECK_OK(lc_text_prompt_tokens(m, prompt, strlen(prompt), -1, &ids, &n_ids, &err), &err);
    if (!ids) return;
    /* reference: lc_generate greedy, decoded token by token */
    lc_context_reset(ctx);
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = 16;
    go.eos_id = -1; /* past EOS: a text long enough for a stop string */
    int32_t gen[16];
    lc_generate_result gr;
    CHECK_OK(lc_generate(ctx, ids, n_ids, &go, gen, 16, &gr, &err), &err);
    char want[2048];
    size_t want_len = 0;
    for (int64_t i = 0; i < gr.n_generated; i++)
        want_len += lc_tokenizer_decode_token(m->tokenizer, i ? gen[i - 1] : ids[n_ids - 1], gen[i], want + want_len,
                                              sizeof want - want_len);

    lc_text_opts to;
    lc_text_opts_init(&to);
    to.n_predict = 16;
    to.sampler.temp = 0;
    to.stop_at_eos = false;
    id_log seen = {.n = 0};
    to.on_token = log_id;
    to.token_user = &seen;
    lc_text_result r;
    lc_context_reset(ctx);
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, 0, &to, &r, &err), &err);
    CHECK(r.n_tokens == gr.n_generated && r.tokens && memcmp(r.tokens, gen, (size_t)r.n_tokens * sizeof *gen) == 0,
          "ids are lc_generate's (%lld vs %lld)", (long long)r.n_tokens, (long long)gr.n_generated);
    CHECK(r.text && r.len == want_len && memcmp(r.text, want, want_len) == 0, "text '%s' is the decoded ids '%.*s'",
          r.text ? r.text : "(null)", (int)want_len, want);
    CHECK(seen.n == r.n_tokens && memcmp(seen.ids, r.tokens, (size_t)LC_MIN(seen.n, 256) * sizeof *gen) == 0,
          "on_token saw every id");
    CHECK(r.stop_index == -1 && r.gen.n_prompt == n_ids, "no stop string; the whole prompt evaluated");

    /* a caller's prefill (as a ring prefill plugs in): called once for the part
     * not held, counted as the prompt, the same continuation; its failure is
     * the call's */
    prefill_log pl = {.n_calls = 0, .fail = false};
    to.prefill = counting_prefill;
    to.prefill_user = &pl;
    lc_text_result rp;
    lc_context_reset(ctx);
    CHECK_OK(lc_context_eval(ctx, ids, 3, NULL, false, &err), &err);
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, 3, &to, &rp, &err), &err);
    CHECK(pl.n_calls == 1 && pl.n == n_ids - 3 && rp.gen.n_prompt == n_ids - 3 && rp.n_tokens == r.n_tokens &&
              memcmp(rp.tokens, r.tokens, (size_t)r.n_tokens * sizeof *gen) == 0,
          "prefill: %d calls of %lld tokens, %lld generated", pl.n_calls, (long long)pl.n, (long long)rp.n_tokens);
    lc_text_result_free(&rp);
    pl.fail = true;
    lc_context_reset(ctx);
    CHECK(lc_generate_text_tokens(ctx, ids, n_ids, 0, &to, &rp, &err) == LC_ERR_IO && strstr(err.msg, "ring down"),
          "a failing prefill: %s", err.msg);
    lc_text_result_free(&rp);
    to.prefill = NULL;
    to.prefill_user = NULL;

    /* a stop string: the 3 bytes that start at byte 4 of the reference */
    CHECK(want_len >= 10, "the reference is long enough for a stop string: '%.*s'", (int)want_len, want);
    if (want_len >= 10) {
        char stop[4];
        memcpy(stop, want + 4, 3);
        stop[3] = '\0';
        const char *const stops[] = {"never-there", stop};
        to.stop = stops;
        to.n_stop = 2;
        lc_text_result rs;
        lc_context_reset(ctx);
        CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, 0, &to, &rs, &err), &err);
        size_t cut = 0; /* the first occurrence's end */
        while (cut + 3 <= want_len && memcmp(want + cut, stop, 3) != 0) cut++;
        cut += 3;
        CHECK(rs.stop_index == 1 && rs.gen.stop == LC_STOP_CALLBACK, "stopped by '%s' (index %d)", stop, rs.stop_index);
        CHECK(rs.text && rs.len == cut && memcmp(rs.text, want, cut) == 0, "text '%s' ends right after '%s'",
              rs.text ? rs.text : "(null)", stop);
        /* at the first token completing it: the tokens before do not hold it */
        size_t before = 0;
        for (int64_t i = 0; i + 1 < rs.n_tokens; i++)
            before += lc_tokenizer_decode_token(m->tokenizer, i ? gen[i - 1] : ids[n_ids - 1], gen[i], NULL, 0);
        CHECK(before < cut && rs.n_tokens <= gr.n_generated, "stopped at the first token completing it (%zu < %zu)",
              before, cut);
        /* as JSON: the stop string named, the ids listed */
        char json[8192], want_ids[512];
        FILE *f = tmpfile();
        if (f) {
            lc_json_writer w;
            lc_json_init(&w, f, false);
            lc_text_result_write_json(&w, "m.gguf", ids, n_ids, 2, &rs, true, stops, NULL);
            lc_json_finish(&w);
            rewind(f);
            json[fread(json, 1, sizeof json - 1, f)] = '\0';
            fclose(f);
        }
        size_t wl = (size_t)snprintf(want_ids, sizeof want_ids, "\"tokens\":[");
        for (int64_t i = 0; i < rs.n_tokens; i++)
            wl += (size_t)snprintf(want_ids + wl, sizeof want_ids - wl, i ? ",%d" : "%d", rs.tokens[i]);
        snprintf(want_ids + wl, sizeof want_ids - wl, "]");
        char want_stop[64];
        snprintf(want_stop, sizeof want_stop, "\"stop\":\"reverse_prompt\",\"reverse_prompt\":\"%s\"", stop);
        CHECK(f && strstr(json, want_ids) && strstr(json, want_stop) && strstr(json, "\"n_prompt_reused\":2") &&
                  strstr(json, "\"model\":\"m.gguf\"") && strstr(json, "\"other_s\":0"),
              "JSON %s", json);
        char sum[1024], want_sum[320];
        snprintf(want_sum, sizeof want_sum, "\nstopped: reverse prompt '%s'\n", stop);
        CHECK(strstr(summary(&rs, stops, NULL, sum, sizeof sum), want_sum), "summary:\n%s", sum);
        lc_text_result_free(&rs);
        to.stop = NULL;
        to.n_stop = 0;
    }

    /* the prompt already in the context: the same continuation */
    lc_text_result rh;
    lc_context_reset(ctx);
    CHECK_OK(lc_context_eval(ctx, ids, n_ids, NULL, false, &err), &err);
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, n_ids, &to, &rh, &err), &err);
    CHECK(rh.gen.n_prompt == 0 && rh.len == r.len && rh.text && r.text && memcmp(rh.text, r.text, r.len) == 0,
          "held prompt: '%s' vs '%s'", rh.text ? rh.text : "(null)", r.text ? r.text : "(null)");
    lc_text_result_free(&rh);

    /* a caller's sampler that saw the prompt draws what the built one does */
    to.sampler.temp = 0.9f;
    to.sampler.seed = 5;
    to.on_token = NULL;
    lc_text_result ra, rb;
    lc_context_reset(ctx);
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, 0, &to, &ra, &err), &err);
    lc_sampler *s = NULL;
    CHECK_OK(lc_sampler_create(&to.sampler, m->cfg.vocab_size, &s, &err), &err);
    for (int64_t i = 0; s && i < n_ids; i++) lc_sampler_accept(s, ids[i], NULL);
    to.sample = lc_sample_with_sampler;
    to.sample_user = s;
    lc_context_reset(ctx);
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n_ids, 0, &to, &rb, &err), &err);
    CHECK(ra.n_tokens == rb.n_tokens && ra.n_tokens > 0 &&
              memcmp(ra.tokens, rb.tokens, (size_t)ra.n_tokens * sizeof *ra.tokens) == 0,
          "a caller's sampler draws the same ids");
    lc_text_result_free(&ra);
    lc_text_result_free(&rb);
    lc_sampler_free(s);

    /* refusals */
    lc_text_result rx;
    lc_context_reset(ctx);
    CHECK(lc_generate_text_tokens(ctx, ids, n_ids, n_ids + 1, NULL, &rx, &err) == LC_ERR_INVALID_ARG,
          "n_held past the prompt refused");
    CHECK(lc_generate_text_tokens(ctx, ids, 0, 0, NULL, &rx, &err) == LC_ERR_INVALID_ARG,
          "nothing to continue from refused");
    lc_text_result_free(&r);
    free(ids);
}

static void test_no_tokenizer(const lc_model *bare) {
    lc_error err;
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 64;
    co.n_threads = 1;
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(bare, &co, &ctx, &err), &err);
    if (!ctx) return;
    const int32_t prompt[] = {1, 7, 9};
    lc_text_opts to;
    lc_text_opts_init(&to);
    to.n_predict = 5;
    to.sampler.temp = 0;
    lc_text_result r;
    CHECK_OK(lc_generate_text_tokens(ctx, prompt, 3, 0, &to, &r, &err), &err);
    CHECK(r.text == NULL && r.n_tokens == 5 && r.gen.n_generated == 5, "ids only (%lld)", (long long)r.n_tokens);
    lc_text_result_free(&r);
    const char *const stops[] = {"x"};
    to.stop = stops;
    to.n_stop = 1;
    lc_context_reset(ctx);
    CHECK(lc_generate_text_tokens(ctx, prompt, 3, 0, &to, &r, &err) == LC_ERR_INVALID_ARG,
          "stop strings without a tokenizer refused");
    lc_text_result_free(&r);
    lc_context_free(ctx);
}

/* ---- sessions ---------------------------------------------------------------- */

static void test_session(lc_context *ctx, const lc_model *m) {
    lc_error err;
    char path[256];
    snprintf(path, sizeof path, "/tmp/test_text_run_%d.session", (int)getpid());
    unlink(path);
    int32_t *ids = NULL;
    int64_t n = 0;
    const char *prompt = "Once upon a time there was a little fox who lived in the woods.";
    CHECK_OK(lc_text_prompt_tokens(m, prompt, strlen(prompt), 1, &ids, &n, &err), &err);
    if (!ids || n < 8) return;
    int64_t reused = -5, n_hist = 0;
    lc_context_reset(ctx);
    CHECK_OK(lc_session_resume(ctx, path, ids, n, &reused, &n_hist, &err), &err);
    CHECK(reused == 0 && n_hist == -1, "no file: nothing reused (%lld, %lld)", (long long)reused, (long long)n_hist);

    lc_text_opts to;
    lc_text_opts_init(&to);
    to.n_predict = 6;
    to.sampler.temp = 0;
    lc_text_result r;
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n, 0, &to, &r, &err), &err);
    int64_t saved = 0;
    CHECK_OK(lc_session_save_generation(ctx, path, ids, n, r.tokens, r.n_tokens, &saved, &err), &err);
    /* the last generated token was sampled but not evaluated */
    CHECK(saved == n + r.n_tokens - 1, "saved %lld tokens (prompt %lld + generated %lld - 1)", (long long)saved,
          (long long)n, (long long)r.n_tokens);

    /* the same prompt: all but its last token (whose logits are needed) */
    lc_context_reset(ctx);
    CHECK_OK(lc_session_resume(ctx, path, ids, n, &reused, &n_hist, &err), &err);
    CHECK(reused == n - 1 && n_hist == saved && lc_context_n_past(ctx) == n - 1, "same prompt: %lld of %lld reused",
          (long long)reused, (long long)n);
    lc_text_result r2;
    CHECK_OK(lc_generate_text_tokens(ctx, ids, n, reused, &to, &r2, &err), &err);
    CHECK(r2.n_tokens == r.n_tokens && memcmp(r2.tokens, r.tokens, (size_t)r.n_tokens * sizeof *r.tokens) == 0,
          "the resumed prompt generates the same ids");
    lc_text_result_free(&r2);

    /* a prompt that diverges after 5 tokens */
    int32_t *other = malloc((size_t)n * sizeof *other);
    memcpy(other, ids, (size_t)n * sizeof *other);
    other[5] = other[5] == 100 ? 101 : 100;
    lc_context_reset(ctx);
    CHECK_OK(lc_session_resume(ctx, path, other, n, &reused, NULL, &err), &err);
    CHECK(reused == 5 && lc_context_n_past(ctx) == 5, "diverging prompt: 5 reused (%lld)", (long long)reused);
    free(other);

    /* a chat's session (a blob) is refused */
    CHECK_OK(lc_session_save(ctx, path, ids, 5, "turns", 5, NULL, &err), &err);
    lc_context_reset(ctx);
    CHECK(lc_session_resume(ctx, path, ids, n, &reused, NULL, &err) == LC_ERR_INVALID_ARG && reused == 0 &&
              strstr(err.msg, "conversation"),
          "a chat session refused: %s", err.msg);
    /* a corrupt file is refused */
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 40, SEEK_SET);
        fputc(0x5A, f);
        fclose(f);
    }
    CHECK(lc_session_resume(ctx, path, ids, n, &reused, NULL, &err) != LC_OK, "a corrupt file refused");
    unlink(path);
    lc_text_result_free(&r);
    free(ids);
}

/* lc_context_opts_default_ctx: capped, kept, left to the policy, or given. */
static void test_default_ctx(lc_model *m) {
    const int64_t train = m->cfg.ctx_train;
    const struct {
        int64_t train, asked;
        const char *policy;
        int64_t want;
        bool capped;
    } cases[] = {{64, 0, "full", 0, false},          {4096, 0, "full", 0, false},
                 {1 << 20, 0, "full", 4096, true},   {0, 0, "full", 4096, false},
                 {1 << 20, 100, "full", 100, false}, {1 << 20, 0, "window:64", 0, false},
                 {1 << 20, 0, "shift:4", 4096, true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lc_context_opts co;
        lc_context_opts_init(&co);
        lc_error err;
        CHECK_OK(lc_kv_policy_parse(cases[i].policy, &co, &err), &err);
        co.n_ctx = cases[i].asked;
        m->cfg.ctx_train = cases[i].train;
        const bool capped = lc_context_opts_default_ctx(&co, m);
        CHECK(co.n_ctx == cases[i].want && capped == cases[i].capped, "case %zu: n_ctx %lld (%d), want %lld (%d)", i,
              (long long)co.n_ctx, capped, (long long)cases[i].want, cases[i].capped);
    }
    m->cfg.ctx_train = train;
}

/* lc_tokenizer_open_for_model: a GGUF's vocabulary, a tokenizer.bin sized by
 * its llama2.c model or given, refusals. */
static void test_open_for_model(void) {
    if (!lc_test_have_shared("lc_tokenizer_open_for_model")) return;
    char bin[512], tok[512], gguf[512];
    lc_test_shared("models/aidreams260K.bin", bin, sizeof bin);
    lc_test_shared("models/aidreams-tok512.bin", tok, sizeof tok);
    lc_test_shared("models/aidreams260K.gguf", gguf, sizeof gguf);
    lc_error err;
    lc_tokenizer *a = NULL, *b = NULL, *g = NULL;
    CHECK_OK(lc_tokenizer_open_for_model(bin, tok, 0, &a, &err), &err);
    CHECK_OK(lc_tokenizer_open_for_model(NULL, tok, 512, &b, &err), &err);
    CHECK(a && b && lc_tokenizer_n_vocab(a) == 512 && lc_tokenizer_n_vocab(b) == 512, "tokenizer.bin sized 512");
    CHECK_OK(lc_tokenizer_open_for_model(gguf, NULL, 0, &g, &err), &err);
    CHECK(g && lc_tokenizer_n_vocab(g) == 512, "the GGUF's vocabulary");
    const char *text = "Once upon a time";
    int32_t x[32], y[32];
    int64_t nx = 0, ny = 0;
    if (a && g) {
        CHECK_OK(lc_tokenizer_encode(a, text, strlen(text), true, x, 32, &nx, &err), &err);
        CHECK_OK(lc_tokenizer_encode(g, text, strlen(text), true, y, 32, &ny, &err), &err);
        CHECK(nx == ny && nx > 1 && memcmp(x, y, (size_t)nx * sizeof *x) == 0, "both encode alike");
    }
    lc_tokenizer *n = NULL;
    CHECK(lc_tokenizer_open_for_model(bin, NULL, 0, &n, &err) == LC_ERR_INVALID_ARG && !n &&
              strstr(err.msg, "carries no vocabulary"),
          "a llama2.c model alone: %s", err.msg);
    CHECK(lc_tokenizer_open_for_model(NULL, tok, 0, &n, &err) == LC_ERR_INVALID_ARG && !n, "no size, no model");
    lc_tokenizer_free(a);
    lc_tokenizer_free(b);
    lc_tokenizer_free(g);
}

/* lc_text_strip_controls: escape sequences and control bytes go, tabs become
 * spaces, UTF-8 stays; on random bytes nothing below 0x20 (or DEL) is left. */
static void test_strip_controls(void) {
    const struct {
        const char *in, *want;
    } cases[] = {{"hello\tworld", "hello world"},   {"/save\x1b[Dfile", "/savefile"},
                 {"\x1b[1;5Cabc", "abc"},            {"\x1bOPx", "x"},
                 {"\x1bx y", " y"},                  {"a\x7f\x01" "b\r\n", "ab"},
                 {"end\x1b", "end"},                 {"h\xc3\xa9llo \xe4\xb8\xad", "h\xc3\xa9llo \xe4\xb8\xad"},
                 {"\x1b[", ""},                      {"/quit\x1b[200~", "/quit"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        const size_t n = strlen(cases[i].in);
        memcpy(buf, cases[i].in, n + 1);
        const size_t got = lc_text_strip_controls(buf, n);
        CHECK(got == strlen(cases[i].want) && strcmp(buf, cases[i].want) == 0, "case %zu: '%s'", i, buf);
    }
    lc_rng rng;
    lc_rng_seed(&rng, 4);
    for (int round = 0; round < 500; round++) {
        char buf[41];
        const size_t n = 1 + lc_rng_below(&rng, 40);
        for (size_t k = 0; k < n; k++) buf[k] = (char)lc_rng_below(&rng, 256);
        const size_t got = lc_text_strip_controls(buf, n);
        bool clean = got <= n && buf[got] == '\0';
        for (size_t k = 0; k < got; k++) clean = clean && (unsigned char)buf[k] >= 0x20 && buf[k] != 0x7f;
        CHECK(clean, "round %d: no control byte left", round);
    }
}

int main(void) {
    test_stops();
    test_summary();
    test_open_for_model();
    test_strip_controls();
    lc_error err;
    lc_model_config c = test_llama_config(32, 64, 1, 2, 2, 16, 50);
    lc_model *bare = NULL;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &bare, &err), &err);
    if (bare) test_no_tokenizer(bare);
    if (bare) test_default_ctx(bare);
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(LC_TEST_DATA_DIR "/../../models/longctx-default.gguf", NULL, &m, &err), &err);
    if (m && bare) test_prompt_tokens(m, bare);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 256;
    co.n_threads = 2;
    lc_context *ctx = NULL;
    if (m) CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    if (ctx) {
        test_generate(ctx, m);
        test_session(ctx, m);
    }
    lc_context_free(ctx);
    lc_model_free(m);
    lc_model_free(bare);
    return lc_test_finish("test_text_run");
}
