/* lc_utf8_repair against CPython's decode(errors='replace') (tests/data/
 * utf8_repair.txt, tools/gen_utf8_repair_reference.py), whole and cut at
 * every byte as a stream is.
 * lc_generate_text: the streamed pieces concatenate to the returned text,
 * which equals the detokenised greedy tokens of lc_generate on the same
 * prompt; a callback can stop generation; refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/text.h"
#include "test_util.h"

typedef struct {
    char buf[4096];
    size_t len;
    int calls;
    int stop_after; /* 0: never */
} pieces;

static bool on_piece(void *user, const char *p, size_t n) {
    pieces *s = user;
    if (s->len + n < sizeof s->buf) memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->calls++;
    return !(s->stop_after && s->calls >= s->stop_after);
}

static size_t unhex(const char *h, unsigned char *out, size_t cap) {
    size_t n = 0;
    for (; h[0] && h[1] && n < cap; h += 2) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1) break;
        out[n++] = (unsigned char)v;
    }
    return n;
}

static void test_utf8_repair(void) {
    FILE *f = fopen(LC_TEST_DATA_DIR "/utf8_repair.txt", "r");
    CHECK(f != NULL, "tests/data/utf8_repair.txt opens");
    if (!f) return;
    char line[512], a[256], b[256];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%255s %255s", a, b) != 2) continue;
        unsigned char in[128], want[128];
        char got[3 * 128 + 8];
        const size_t n = unhex(a, in, sizeof in), nw = unhex(b, want, sizeof want);
        size_t used = 0;
        const size_t w = lc_utf8_repair((const char *)in, n, true, got, &used);
        CHECK(used == n && w == nw && memcmp(got, want, nw) == 0, "repair of %s is %s", a, b);
        for (size_t k = 0; k <= n; k++) { /* the first k bytes, then the rest at the end */
            size_t u1 = 0;
            size_t w1 = lc_utf8_repair((const char *)in, k, false, got, &u1);
            CHECK(u1 <= k && k - u1 <= 3, "%s cut at %zu: at most 3 bytes wait", a, k);
            CHECK(k - u1 == lc_utf8_incomplete_tail((const char *)in, k) || u1 == k,
                  "%s cut at %zu: the bytes that wait are the incomplete tail", a, k);
            w1 += lc_utf8_repair((const char *)in + u1, n - u1, true, got + w1, NULL);
            CHECK(w1 == nw && memcmp(got, want, nw) == 0, "%s cut at %zu repairs as a whole", a, k);
        }
        cases++;
    }
    fclose(f);
    CHECK(cases >= 400, "%d reference cases", cases);
}

int main(void) {
    test_utf8_repair();
    lc_error err;
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(LC_TEST_DATA_DIR "/../../models/longctx-default.gguf", NULL, &m, &err), &err);
    if (!m) return lc_test_finish("test_text");
    CHECK(lc_model_tokenizer(m) == m->tokenizer && m->tokenizer != NULL, "tokenizer accessor");
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 256;
    co.n_threads = 2;
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    const char *prompt = "The pass key is 71432. Remember it. What is the pass key? The pass key is";

    /* reference: tokens by lc_generate (greedy), decoded in one go */
    int64_t n_ids = 0;
    lc_tokenizer_encode(m->tokenizer, prompt, strlen(prompt), lc_tokenizer_add_bos(m->tokenizer), NULL, 0, &n_ids, &err);
    int32_t *ids = malloc((size_t)n_ids * sizeof *ids);
    CHECK_OK(lc_tokenizer_encode(m->tokenizer, prompt, strlen(prompt), lc_tokenizer_add_bos(m->tokenizer), ids, n_ids, &n_ids, &err), &err);
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = 12;
    go.eos_id = lc_tokenizer_eos(m->tokenizer);
    int32_t gen[16];
    lc_generate_result gr;
    CHECK_OK(lc_generate(ctx, ids, n_ids, &go, gen, 16, &gr, &err), &err);
    /* decoded as a continuation of the prompt (SPM keeps the leading space
     * that a decode from the start of a sequence would drop) */
    char want[1024];
    size_t want_len = 0;
    for (int64_t i = 0; i < gr.n_generated; i++)
        want_len += lc_tokenizer_decode_token(m->tokenizer, i ? gen[i - 1] : ids[n_ids - 1], gen[i], want + want_len,
                                              sizeof want - want_len);

    /* the same through lc_generate_text, greedy */
    lc_context_reset(ctx);
    pieces p = {.len = 0};
    lc_text_opts to;
    lc_text_opts_init(&to);
    to.n_predict = 12;
    to.sampler.temp = 0;
    to.on_piece = on_piece;
    to.user = &p;
    char *text = NULL;
    lc_generate_result tr;
    CHECK_OK(lc_generate_text(ctx, prompt, &to, &text, &tr, &err), &err);
    CHECK(text != NULL, "text returned");
    if (text) {
        CHECK(strlen(text) == want_len && memcmp(text, want, want_len) == 0, "text '%s' == decoded tokens '%.*s'", text,
              (int)want_len, want);
        CHECK(p.len == strlen(text) && memcmp(p.buf, text, p.len) == 0, "pieces concatenate to the text");
    }
    CHECK(tr.n_prompt == n_ids && tr.n_generated == gr.n_generated, "counts %lld/%lld vs %lld/%lld",
          (long long)tr.n_prompt, (long long)tr.n_generated, (long long)n_ids, (long long)gr.n_generated);
    free(text);

    /* the callback stops generation */
    lc_context_reset(ctx);
    pieces stop = {.stop_after = 2};
    to.user = &stop;
    CHECK_OK(lc_generate_text(ctx, prompt, &to, NULL, &tr, &err), &err);
    CHECK(stop.calls == 2 && tr.stop == LC_STOP_CALLBACK, "stopped after 2 pieces (calls %d, stop %s)", stop.calls,
          lc_stop_reason_name(tr.stop));

    /* sampling with a seed is repeatable */
    char *a = NULL, *b = NULL;
    to.on_piece = NULL;
    to.sampler.temp = 0.8f;
    to.sampler.seed = 7;
    lc_context_reset(ctx);
    CHECK_OK(lc_generate_text(ctx, prompt, &to, &a, NULL, &err), &err);
    lc_context_reset(ctx);
    CHECK_OK(lc_generate_text(ctx, prompt, &to, &b, NULL, &err), &err);
    CHECK(a && b && strcmp(a, b) == 0, "same seed, same text");
    free(a);
    free(b);

    /* refusals */
    CHECK(lc_generate_text(NULL, prompt, &to, NULL, NULL, &err) == LC_ERR_INVALID_ARG, "NULL context refused");
    lc_context_reset(ctx);
    CHECK(lc_generate_text(ctx, "", &to, NULL, NULL, &err) != LC_OK || lc_tokenizer_add_bos(m->tokenizer),
          "empty prompt in an empty context refused (unless BOS makes it one token)");

    free(ids);
    lc_context_free(ctx);
    lc_model_free(m);
    return lc_test_finish("test_text");
}
