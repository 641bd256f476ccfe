/*
 * Chat: templates and the conversation engine.
 *
 *  - template recognition from Jinja sources of each family, and from the
 *    real Phi-3 vocabulary file's tokenizer.chat_template;
 *  - rendering with real vocabularies (Phi-3 SPM with its added special
 *    tokens, Llama 2 SPM without them, GPT-2 BPE): markers the vocabulary
 *    holds become one id, the text between markers is one encode call (as
 *    llama.cpp tokenises with special-token parsing), markers inside user
 *    text stay text (no injection), BOS only on the first turn;
 *  - the engine on the real aidreams260K model: a scripted conversation
 *    keeps the context equal to its turns; a tiny context drops whole oldest
 *    turns (never the system prompt), with a folding template the system
 *    prompt moves into the new first user turn; a message too large is
 *    refused with nothing changed; the text callback can stop a reply; a
 *    saved chat continues identically after loading into a fresh chat; under
 *    the sinks policy nothing is dropped and the cache stays bounded;
 *  - lc_chat_create_for_model: replies equal those of a chat over a context
 *    and sampler made by hand; shift:0 keeps the system turn's tokens; a
 *    model without a tokenizer is refused; the transcript holds every turn.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/app.h"
#include "longctx/gguf.h"
#include "test_model_util.h"
#include "test_util.h"

static lc_tokenizer *vocab(const char *name) {
    char buf[512], rel[128];
    snprintf(rel, sizeof rel, "vocab/%s", name);
    const char *p = lc_test_shared(rel, buf, sizeof buf);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    if (lc_gguf_open(p, &g, &err) != LC_OK || lc_tokenizer_from_gguf(g, &t, &err) != LC_OK)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    lc_gguf_close(g);
    return t;
}

static void test_detect(void) {
    static const struct {
        const char *src;
        lc_chat_template want;
    } cases[] = {
        {"{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n'}}{% endfor %}",
         LC_CHAT_TPL_CHATML},
        {"{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' }}",
         LC_CHAT_TPL_LLAMA3},
        {"{% if messages[0]['role'] == 'system' %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}{{ '[INST] ' }}",
         LC_CHAT_TPL_LLAMA2},
        {"{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}",
         LC_CHAT_TPL_MISTRAL},
        {"{% for message in messages %}{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n'}}", LC_CHAT_TPL_PHI3},
        {"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", LC_CHAT_TPL_GEMMA},
        {"{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}", LC_CHAT_TPL_ZEPHYR},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        lc_chat_template t;
        CHECK(lc_chat_template_detect(cases[i].src, strlen(cases[i].src), &t) && t == cases[i].want,
              "case %zu: detected %s, want %s", i, lc_chat_template_name(t), lc_chat_template_name(cases[i].want));
    }
    lc_chat_template t;
    CHECK(!lc_chat_template_detect("{{ messages }}", 14, &t) && t == LC_CHAT_TPL_PLAIN, "unknown");
    for (int i = 0; i < LC_CHAT_TPL_COUNT; i++) {
        lc_chat_template u;
        CHECK(lc_chat_template_parse(lc_chat_template_name((lc_chat_template)i), &u) && (int)u == i, "name round trip %d", i);
    }
    CHECK(lc_chat_template_parse("llama-3", &t) && t == LC_CHAT_TPL_LLAMA3 && !lc_chat_template_parse("jinja", &t),
          "aliases");
    char buf[512];
    const char *p = lc_test_shared("vocab/ggml-vocab-phi-3.gguf", buf, sizeof buf);
    bool found = false, rec = false;
    lc_error err;
    CHECK_OK(lc_chat_template_from_file(p, &t, &found, &rec, &err), &err);
    CHECK(found && rec && t == LC_CHAT_TPL_PHI3, "phi-3 file: found %d recognised %d %s", found, rec,
          lc_chat_template_name(t));
    p = lc_test_shared("models/aidreams260K.bin", buf, sizeof buf);
    CHECK_OK(lc_chat_template_from_file(p, &t, &found, &rec, &err), &err);
    CHECK(!found && t == LC_CHAT_TPL_PLAIN, "a llama2.c file has no template");
    /* both at once: the family and the Jinja text */
    char *jinja = NULL;
    size_t jlen = 0;
    bool unknown = true;
    p = lc_test_shared("vocab/ggml-vocab-phi-3.gguf", buf, sizeof buf);
    CHECK_OK(lc_chat_template_from_model(p, &t, &jinja, &jlen, &unknown, &err), &err);
    CHECK(t == LC_CHAT_TPL_PHI3 && !unknown && jinja && jlen == strlen(jinja) && strstr(jinja, "<|assistant|>"),
          "phi-3 from the model: %s, %zu bytes of Jinja", lc_chat_template_name(t), jlen);
    free(jinja);
    p = lc_test_shared("models/aidreams260K.bin", buf, sizeof buf);
    CHECK_OK(lc_chat_template_from_model(p, &t, &jinja, &jlen, &unknown, &err), &err);
    CHECK(t == LC_CHAT_TPL_PLAIN && !jinja && jlen == 0 && !unknown, "llama2.c: plain, no Jinja");
    t = LC_CHAT_TPL_GEMMA;
    CHECK(lc_chat_template_from_model("/nonexistent.gguf", &t, &jinja, &jlen, NULL, &err) != LC_OK &&
              t == LC_CHAT_TPL_PLAIN && !jinja,
          "a missing file: refused, plain");
}

/* ids == concat(parts) where a part is a marker id (text NULL) or the encode
 * of a text run. */
typedef struct {
    const char *text;
    int32_t id;
} part;

static void expect_render(const lc_tokenizer *tok, lc_chat_template t, lc_chat_role role, const char *text, bool first,
                          const part *parts, int n_parts, const char *what) {
    int32_t got[256], want[256];
    int64_t n = 0, m = 0;
    lc_error err;
    CHECK_OK(lc_chat_render(t, tok, role, text, text ? strlen(text) : 0, first, got, 256, &n, &err), &err);
    for (int i = 0; i < n_parts; i++) {
        if (!parts[i].text) {
            want[m++] = parts[i].id;
            continue;
        }
        int64_t k = 0;
        CHECK_OK(lc_tokenizer_encode(tok, parts[i].text, strlen(parts[i].text), false, want + m, 256 - m, &k, &err), &err);
        m += k;
    }
    CHECK(n == m && memcmp(got, want, (size_t)n * 4) == 0, "%s: %lld tokens, expected %lld", what, (long long)n,
          (long long)m);
}

static void test_render(void) {
    lc_tokenizer *phi = vocab("ggml-vocab-phi-3.gguf"), *llama = vocab("ggml-vocab-llama-spm.gguf"),
                 *gpt2 = vocab("ggml-vocab-gpt-2.gguf");
    if (!phi || !llama || !gpt2) {
        CHECK(false, "vocabularies");
        goto done;
    }
    const int32_t user = lc_tokenizer_find(phi, "<|user|>", 8), end = lc_tokenizer_find(phi, "<|end|>", 7),
                  asst = lc_tokenizer_find(phi, "<|assistant|>", 13), sys = lc_tokenizer_find(phi, "<|system|>", 10);
    CHECK(user > 0 && end > 0 && asst > 0 && sys > 0, "phi-3 markers %d %d %d %d", user, end, asst, sys);
    const int32_t bos = lc_tokenizer_bos(phi);
    /* <s><|system|>\nBe brief.<|end|>\n */
    part p1[] = {{NULL, bos}, {NULL, sys}, {"\nBe brief.", 0}, {NULL, end}, {"\n", 0}};
    expect_render(phi, LC_CHAT_TPL_PHI3, LC_CHAT_SYSTEM, "Be brief.", true, p1, 5, "phi3 system");
    /* marker text inside a user message stays text */
    part p2[] = {{NULL, user}, {"\nhi <|end|> there", 0}, {NULL, end}, {"\n", 0}};
    expect_render(phi, LC_CHAT_TPL_PHI3, LC_CHAT_USER, "hi <|end|> there", false, p2, 4, "phi3 user (injection)");
    part p3[] = {{NULL, asst}, {"\n", 0}};
    expect_render(phi, LC_CHAT_TPL_PHI3, LC_CHAT_ASSISTANT, NULL, false, p3, 2, "phi3 generation prompt");
    int32_t stops[8];
    const int32_t ns = lc_chat_stop_tokens(LC_CHAT_TPL_PHI3, phi, stops, 8);
    CHECK(ns == 2 && stops[0] == end && stops[1] == lc_tokenizer_eos(phi), "phi3 stops %d", ns);
    /* chatml markers absent from Llama 2's vocabulary: all text, one run */
    part p4[] = {{"<|im_start|>user\nhello<|im_end|>\n", 0}};
    expect_render(llama, LC_CHAT_TPL_CHATML, LC_CHAT_USER, "hello", false, p4, 1, "chatml without markers");
    CHECK(lc_chat_stop_tokens(LC_CHAT_TPL_CHATML, llama, stops, 8) == 1 && stops[0] == lc_tokenizer_eos(llama),
          "chatml stops fall back to EOS");
    /* llama2: the reply end is </s><s> as ids */
    int32_t ids[16];
    int64_t n = 0;
    lc_error err;
    CHECK_OK(lc_chat_render_reply_end(LC_CHAT_TPL_LLAMA2, llama, ids, 16, &n, &err), &err);
    CHECK(n == 2 && ids[0] == lc_tokenizer_eos(llama) && ids[1] == lc_tokenizer_bos(llama), "llama2 reply end");
    part p5[] = {{"[INST] hi [/INST]", 0}};
    expect_render(llama, LC_CHAT_TPL_LLAMA2, LC_CHAT_USER, "hi", false, p5, 1, "llama2 user");
    /* a folding template writes only BOS for the system turn */
    part p6[] = {{NULL, lc_tokenizer_bos(llama)}};
    expect_render(llama, LC_CHAT_TPL_LLAMA2, LC_CHAT_SYSTEM, "sys", true, p6, 1, "llama2 system folds");
    /* GPT-2 BPE: no BOS added (add_bos false), plain template */
    part p7[] = {{"Be kind.\n\n", 0}};
    expect_render(gpt2, LC_CHAT_TPL_PLAIN, LC_CHAT_SYSTEM, "Be kind.", true, p7, 1, "plain gpt2 system");
    CHECK(strcmp(lc_chat_stop_text(LC_CHAT_TPL_PLAIN), "\nUser:") == 0 && lc_chat_stop_text(LC_CHAT_TPL_CHATML) == NULL,
          "stop texts");
    CHECK(lc_chat_render(LC_CHAT_TPL_PLAIN, gpt2, LC_CHAT_USER, "x", 1, false, ids, 1, &n, &err) == LC_ERR_TOO_LARGE &&
              n > 1,
          "short buffer");
done:
    lc_tokenizer_free(phi), lc_tokenizer_free(llama), lc_tokenizer_free(gpt2);
}

/* ---- the engine on a real model ------------------------------------------- */

typedef struct {
    lc_model *m;
    lc_context *ctx;
    lc_sampler *s;
    lc_chat *chat;
} rig;

static bool make_rig(rig *r, const char *policy, int64_t n_ctx, lc_chat_template tpl, const char *system,
                     int64_t n_predict, uint64_t seed) {
    memset(r, 0, sizeof *r);
    char buf[512];
    const char *p = lc_test_shared("models/aidreams260K.gguf", buf, sizeof buf);
    lc_error err;
    if (lc_model_load(p, NULL, &r->m, &err) != LC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    lc_context_opts o;
    lc_context_opts_init(&o);
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) return false;
    o.n_ctx = n_ctx;
    o.n_threads = 1;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = seed;
    if (lc_context_create(r->m, &o, &r->ctx, &err) != LC_OK || lc_sampler_create(&sp, r->m->cfg.vocab_size, &r->s, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.tpl = tpl;
    co.system = system;
    co.n_predict = n_predict;
    if (lc_chat_create(r->ctx, r->m->tokenizer, r->s, &co, &r->chat, &err) != LC_OK) {
        fprintf(stderr, "chat: %s\n", err.msg);
        return false;
    }
    return true;
}

static void free_rig(rig *r) {
    lc_chat_free(r->chat);
    lc_sampler_free(r->s);
    lc_context_free(r->ctx);
    lc_model_free(r->m);
}

/* The context's tokens decoded. */
static char *context_text(const rig *r) {
    int32_t ids[1024];
    const int64_t n = lc_context_kv_tokens(r->ctx, ids, NULL, 1024);
    static char text[8192];
    size_t len = 0;
    lc_tokenizer_decode(r->m->tokenizer, ids, LC_MIN(n, 1024), text, sizeof text, &len, NULL);
    return text;
}

static void test_conversation(void) {
    rig r;
    const char *msgs[] = {"Tell me about a dream.", "What colour was the sky?", "And then?", "Who was there?",
                          "Where did it end?", "Thank you."};
    if (!make_rig(&r, NULL, 128, LC_CHAT_TPL_PLAIN, "You are a dreamer.", 12, 1)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    lc_error err;
    lc_chat_stats st;
    lc_chat_get_stats(r.chat, &st);
    const int64_t n_sys = st.n_system;
    CHECK(n_sys > 3 && lc_context_n_past(r.ctx) == n_sys, "system turn %lld", (long long)n_sys);
    int64_t dropped = 0;
    for (size_t i = 0; i < LC_ARRAY_LEN(msgs); i++) {
        lc_chat_reply rep;
        CHECK_OK(lc_chat_send(r.chat, msgs[i], strlen(msgs[i]), &rep, &err), &err);
        CHECK(rep.n_tokens <= 12 && rep.len == strlen(rep.text), "reply %zu: %lld tokens", i, (long long)rep.n_tokens);
        lc_chat_get_stats(r.chat, &st);
        CHECK(lc_context_n_past(r.ctx) == st.n_tokens && st.n_tokens <= 128, "turn %zu: context %lld, turns %lld", i,
              (long long)lc_context_n_past(r.ctx), (long long)st.n_tokens);
        dropped += rep.dropped_turns;
        CHECK(rep.dropped_turns % 2 == 0, "turns are dropped in pairs");
        const char *text = context_text(&r);
        CHECK(strstr(text, "You are a dreamer.") == text || strstr(text, "You are a dreamer.") == text + 1,
              "the system prompt leads the context: '%.40s'", text);
        CHECK(strstr(text, msgs[i]) != NULL, "the last message is in the context");
    }
    CHECK(dropped > 0 && st.dropped_turns == dropped, "a 128-token context never dropped a turn (%lld)", (long long)dropped);
    const char *text = context_text(&r);
    CHECK(strstr(text, msgs[0]) == NULL, "the oldest message is still in the context");
    /* too large: refused, nothing changed */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const int64_t before = st.n_turns, past = lc_context_n_past(r.ctx);
    CHECK(lc_chat_send(r.chat, big, strlen(big), NULL, &err) == LC_ERR_TOO_LARGE, "huge message: %s", err.msg);
    lc_chat_get_stats(r.chat, &st);
    CHECK(st.n_turns == before && lc_context_n_past(r.ctx) == past, "a refused message changed the chat");
    CHECK_OK(lc_chat_reset(r.chat, &err), &err);
    lc_chat_get_stats(r.chat, &st);
    CHECK(st.n_turns == 0 && lc_context_n_past(r.ctx) == n_sys, "reset keeps the system prompt only");
    free_rig(&r);

    /* llama2 folds the system prompt into the first user turn; after drops
     * the new first user turn carries it */
    if (!make_rig(&r, NULL, 160, LC_CHAT_TPL_LLAMA2, "Sys prompt.", 10, 2)) {
        CHECK(false, "llama2 rig");
        free_rig(&r);
        return;
    }
    dropped = 0;
    for (size_t i = 0; i < LC_ARRAY_LEN(msgs); i++) {
        lc_chat_reply rep;
        CHECK_OK(lc_chat_send(r.chat, msgs[i], strlen(msgs[i]), &rep, &err), &err);
        dropped += rep.dropped_turns;
        text = context_text(&r);
        const char *s1 = strstr(text, "Sys prompt.");
        CHECK(s1 && !strstr(s1 + 1, "Sys prompt."), "turn %zu: the folded system prompt appears %s", i,
              s1 ? "more than once" : "nowhere");
        CHECK(strstr(text, "[INST] <<SYS>>") != NULL, "turn %zu: no <<SYS>> block at the start: %.60s", i, text);
    }
    CHECK(dropped > 0, "llama2: nothing dropped");
    /* too large even once folded with the system prompt: refused before anything is dropped */
    lc_chat_stats s0, s1;
    lc_chat_get_stats(r.chat, &s0);
    char mid[480];
    memset(mid, 'b', sizeof mid - 1);
    mid[sizeof mid - 1] = '\0';
    const lc_status big_st = lc_chat_send(r.chat, mid, strlen(mid), NULL, &err);
    lc_chat_get_stats(r.chat, &s1);
    CHECK(big_st == LC_ERR_TOO_LARGE && s1.n_turns == s0.n_turns && s1.dropped_turns == s0.dropped_turns,
          "llama2 huge message: %s, turns %lld -> %lld", lc_status_str(big_st), (long long)s0.n_turns,
          (long long)s1.n_turns);
    free_rig(&r);
}

static bool stop_after_first(void *user, const char *text, size_t len) {
    (void)text;
    int *calls = user;
    (*calls)++;
    return len == 0; /* stop at the first non-empty piece */
}

static uint64_t rd_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}
static void wr_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* A chat session whose turn count is raised as far as the count check lets
 * it (checksum recomputed: FNV-1a is no protection) must be refused, not
 * read past its blob (issue 17: load_check's `tl > blob_len - r` underflowed
 * once r passed blob_len). */
static void test_tampered_turns(lc_chat *chat, const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char *img = NULL;
    long n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 200 && fseek(f, 0, SEEK_SET) == 0) {
        img = malloc((size_t)n);
        if (img && fread(img, 1, (size_t)n, f) != (size_t)n) {
            free(img);
            img = NULL;
        }
    }
    if (f) fclose(f);
    CHECK(img != NULL, "read back %s", path);
    if (!img) return;
    const uint64_t n_tokens = rd_u64(img + 32), blob_len = rd_u64(img + 40);
    const size_t blob = 192 + (size_t)n_tokens * 4;
    CHECK(blob + blob_len <= (size_t)n && memcmp(img + blob, "LCCHAT", 6) == 0, "blob at %zu", blob);
    if (blob + blob_len <= (size_t)n && blob_len >= 32) {
        const uint64_t sys_len = rd_u64(img + blob + 16);
        const size_t at = blob + 24 + (size_t)sys_len; /* the turn count */
        const uint64_t turns = rd_u64(img + at), most = (blob_len - (at + 8 - blob)) / 24;
        CHECK(most > turns, "turn texts leave room to raise the count (%llu, %llu)", (unsigned long long)turns,
              (unsigned long long)most);
        wr_u64(img + at, most);
        uint64_t h = 0xcbf29ce484222325ull;
        for (long i = 0; i < n - 8; i++) h = (h ^ img[i]) * 0x100000001b3ull;
        wr_u64(img + n - 8, h);
        char bad[160];
        snprintf(bad, sizeof bad, "%s.turns", path);
        FILE *o = fopen(bad, "wb");
        if (o) {
            fwrite(img, 1, (size_t)n, o);
            fclose(o);
        }
        lc_error err;
        lc_chat_stats s0, s1;
        lc_chat_get_stats(chat, &s0);
        CHECK(lc_chat_load(chat, bad, &err) == LC_ERR_FORMAT, "raised turn count: %s", err.msg);
        lc_chat_get_stats(chat, &s1);
        CHECK(s0.n_turns == s1.n_turns && s0.n_tokens == s1.n_tokens, "a refused load changed the chat");
        unlink(bad);
    }
    free(img);
}

static void test_cancel_and_sessions(void) {
    rig a, b;
    lc_error err;
    if (!make_rig(&a, NULL, 128, LC_CHAT_TPL_CHATML, "Be short.", 8, 5) ||
        !make_rig(&b, NULL, 128, LC_CHAT_TPL_CHATML, "Different.", 8, 99)) {
        CHECK(false, "rigs");
        free_rig(&a);
        free_rig(&b);
        return;
    }
    lc_chat_reply ra, rb;
    CHECK_OK(lc_chat_send(a.chat, "Hello there", 11, &ra, &err), &err);
    char path[128];
    snprintf(path, sizeof path, "/tmp/lc_test_chat_%d.session", (int)getpid());
    CHECK_OK(lc_chat_save(a.chat, path, &err), &err);
    CHECK_OK(lc_chat_send(a.chat, "Go on", 5, &ra, &err), &err);
    char *want = strdup(ra.text);
    CHECK_OK(lc_chat_load(b.chat, path, &err), &err);
    CHECK_OK(lc_chat_send(b.chat, "Go on", 5, &rb, &err), &err);
    CHECK(strcmp(want, rb.text) == 0 && ra.n_tokens == rb.n_tokens, "loaded chat replies '%s', the original '%s'", rb.text,
          want);
    lc_chat_stats sa, sb;
    lc_chat_get_stats(a.chat, &sa);
    lc_chat_get_stats(b.chat, &sb);
    CHECK(sa.n_turns == sb.n_turns && sa.n_tokens == sb.n_tokens && sa.n_system == sb.n_system, "stats after load");
    free(want);
    test_tampered_turns(b.chat, path);
    /* a session of another template is refused and changes nothing */
    rig c;
    if (make_rig(&c, NULL, 128, LC_CHAT_TPL_PLAIN, "x", 8, 5)) {
        lc_chat_stats s0, s1;
        lc_chat_get_stats(c.chat, &s0);
        CHECK(lc_chat_load(c.chat, path, &err) == LC_ERR_FORMAT && strstr(err.msg, "template"), "template: %s", err.msg);
        lc_chat_get_stats(c.chat, &s1);
        CHECK(s0.n_tokens == s1.n_tokens && lc_context_n_past(c.ctx) == s0.n_tokens, "refused load changed the chat");
        /* cancel from the text callback */
        int calls = 0;
        lc_chat_opts co;
        (void)co;
        lc_chat_reply rc;
        lc_chat_free(c.chat);
        lc_chat_opts_init(&co);
        co.system = "x";
        co.n_predict = 30;
        co.on_text = stop_after_first;
        co.text_user = &calls;
        CHECK_OK(lc_chat_create(c.ctx, c.m->tokenizer, c.s, &co, &c.chat, &err), &err);
        CHECK_OK(lc_chat_send(c.chat, "Tell me everything", 18, &rc, &err), &err);
        CHECK(rc.stop == LC_CHAT_STOP_CALLBACK || rc.stop == LC_CHAT_STOP_END, "stop %s", lc_chat_stop_name(rc.stop));
        if (rc.stop == LC_CHAT_STOP_CALLBACK) CHECK(calls == 1 && rc.n_tokens >= 1, "callback calls %d", calls);
        lc_chat_get_stats(c.chat, &s1);
        CHECK(s1.n_turns == 2 && lc_context_n_past(c.ctx) == s1.n_tokens, "a stopped reply is kept");
        CHECK_OK(lc_chat_send(c.chat, "Again", 5, &rc, &err), &err);
    }
    free_rig(&c);
    unlink(path);
    free_rig(&a);
    free_rig(&b);
}

static void test_sinks_chat(void) {
    rig r;
    lc_error err;
    if (!make_rig(&r, "sinks:8:56", 0, LC_CHAT_TPL_PLAIN, "Dream.", 16, 3)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    for (int i = 0; i < 12; i++) {
        lc_chat_reply rep;
        CHECK_OK(lc_chat_send(r.chat, "Tell me more about it please.", 29, &rep, &err), &err);
        CHECK(rep.dropped_turns == 0, "sinks dropped turns");
    }
    lc_chat_stats st;
    lc_chat_get_stats(r.chat, &st);
    CHECK(st.n_turns == 24 && st.kv.n_used <= st.kv.n_slots && st.kv.n_seen == st.n_tokens && st.kv.n_evicted > 0,
          "sinks chat: %lld turns, %lld held of %lld seen", (long long)st.n_turns, (long long)st.kv.n_used,
          (long long)st.kv.n_seen);
    free_rig(&r);
}

typedef struct {
    char buf[4096];
    size_t len;
} streamed;

static bool collect(void *user, const char *text, size_t len) {
    streamed *st = user;
    if (st->len + len < sizeof st->buf) memcpy(st->buf + st->len, text, len);
    st->len += len;
    return true;
}

/* One greedy reply to msg with stop strings (NULL/0: none); the reply's text
 * copied to out (cap bytes), what was streamed into *sent. */
static lc_status greedy_reply(rig *r, const char *const *stops, int n_stops, streamed *sent, lc_chat_reply *rep,
                              char *out, size_t cap, lc_error *err) {
    lc_chat_free(r->chat);
    r->chat = NULL;
    lc_context_reset(r->ctx);
    lc_sampler_free(r->s);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.temp = 0;
    lc_status st = lc_sampler_create(&sp, r->m->cfg.vocab_size, &r->s, err);
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.n_predict = 24;
    co.tpl = LC_CHAT_TPL_CHATML;
    co.on_text = collect;
    co.text_user = sent;
    co.stop = stops;
    co.n_stop = n_stops;
    if (st == LC_OK) st = lc_chat_create(r->ctx, r->m->tokenizer, r->s, &co, &r->chat, err);
    if (st == LC_OK) st = lc_chat_send(r->chat, "Tell me about a dream.", 22, rep, err);
    if (st == LC_OK) snprintf(out, cap, "%s", rep->text);
    return st;
}

/* A stop string (lc_chat_opts.stop) ends the reply right after it; the
 * reply streamed is the reply kept; bad strings are refused. */
static void test_stop_strings(void) {
    rig r;
    lc_error err;
    if (!make_rig(&r, NULL, 256, LC_CHAT_TPL_CHATML, NULL, 24, 1)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    streamed s0 = {.len = 0}, s1 = {.len = 0};
    lc_chat_reply rep;
    char ref[1024], got[1024];
    CHECK_OK(greedy_reply(&r, NULL, 0, &s0, &rep, ref, sizeof ref, &err), &err);
    const size_t ref_len = strlen(ref);
    CHECK(ref_len >= 10, "the reference reply is long enough: '%s'", ref);
    if (ref_len >= 10) {
        char stop[4];
        memcpy(stop, ref + 5, 3);
        stop[3] = '\0';
        const char *const stops[] = {"never-there", stop};
        CHECK_OK(greedy_reply(&r, stops, 2, &s1, &rep, got, sizeof got, &err), &err);
        const size_t cut = (size_t)(strstr(ref, stop) - ref) + 3;
        CHECK(rep.stop == LC_CHAT_STOP_STRING && rep.stop_index == 1, "stopped by '%s': %s %d", stop,
              lc_chat_stop_name(rep.stop), rep.stop_index);
        CHECK(strlen(got) == cut && memcmp(got, ref, cut) == 0, "'%s' is '%s' cut after '%s'", got, ref, stop);
        CHECK(s1.len == rep.len && memcmp(s1.buf, got, s1.len) == 0, "streamed '%.*s' is the reply", (int)s1.len, s1.buf);
        lc_chat_stats st;
        lc_chat_get_stats(r.chat, &st);
        CHECK(st.n_turns == 2, "the stopped reply is a turn (%lld)", (long long)st.n_turns);
        CHECK_OK(lc_chat_send(r.chat, "Again", 5, &rep, &err), &err);
    }
    const char *const empty[] = {""};
    streamed s2 = {.len = 0};
    CHECK(greedy_reply(&r, empty, 1, &s2, &rep, got, sizeof got, &err) == LC_ERR_INVALID_ARG, "an empty stop refused");
    free_rig(&r);
}

/* lc_chat_command: every command's words and effect; a short buffer. */
static void test_commands(void) {
    rig r;
    lc_error err;
    if (!make_rig(&r, NULL, 256, LC_CHAT_TPL_CHATML, "Be brief.", 8, 3)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    char out[4096], path[128], line[200];
    bool quit = true;
    lc_chat_reply rep;
    snprintf(path, sizeof path, "/tmp/test_chat_cmd_%d.session", (int)getpid());
    CHECK(lc_chat_context(r.chat) == r.ctx, "the chat's context");
    CHECK_OK(lc_chat_command(r.chat, "/help", out, sizeof out, &quit, &err), &err);
    CHECK(!quit && strstr(out, "/save FILE") && strstr(out, "/quit"), "help: %s", out);
    CHECK_OK(lc_chat_send(r.chat, "Hello", 5, &rep, &err), &err);
    CHECK_OK(lc_chat_command(r.chat, "/stats", out, sizeof out, &quit, &err), &err);
    CHECK(strstr(out, "turns 2,") && strstr(out, "template chatml") && strstr(out, "kv "), "stats: %s", out);
    snprintf(line, sizeof line, "/save %s", path);
    CHECK_OK(lc_chat_command(r.chat, line, out, sizeof out, &quit, &err), &err);
    CHECK(strstr(out, "saved to ") && access(path, F_OK) == 0, "save: %s", out);
    CHECK_OK(lc_chat_command(r.chat, "/reset", out, sizeof out, &quit, &err), &err);
    lc_chat_stats st;
    lc_chat_get_stats(r.chat, &st);
    CHECK(!strcmp(out, "conversation reset\n") && st.n_turns == 0, "reset: %s", out);
    snprintf(line, sizeof line, "/load   %s", path);
    CHECK_OK(lc_chat_command(r.chat, line, out, sizeof out, &quit, &err), &err);
    lc_chat_get_stats(r.chat, &st);
    CHECK(strstr(out, "loaded ") && st.n_turns == 2, "load: %s (turns %lld)", out, (long long)st.n_turns);
    CHECK_OK(lc_chat_command(r.chat, "/load /nonexistent/x", out, sizeof out, &quit, &err), &err);
    CHECK(strstr(out, "load refused: "), "a refused load: %s", out);
    CHECK_OK(lc_chat_command(r.chat, "/save", out, sizeof out, &quit, &err), &err);
    CHECK(!strcmp(out, "/save needs a file name\n"), "save without a file: %s", out);
    CHECK_OK(lc_chat_command(r.chat, "/dance now", out, sizeof out, &quit, &err), &err);
    CHECK(!strcmp(out, "unknown command /dance (/help lists them)\n") && !quit, "unknown: %s", out);
    char small[8];
    CHECK_OK(lc_chat_command(r.chat, "/help", small, sizeof small, &quit, &err), &err);
    CHECK(strlen(small) == 7 && !strncmp(small, "/save F", 7), "a short buffer is cut: '%s'", small);
    CHECK_OK(lc_chat_command(r.chat, "/exit", out, sizeof out, &quit, &err), &err);
    CHECK(quit && out[0] == '\0', "exit");
    unlink(path);
    free_rig(&r);
}

/* lc_chat_set_grammar: two replies (restarted between) are sentences of
 * the grammar and end the turn; a bad grammar is refused; NULL removes it. */
static void test_grammar_replies(void) {
    rig r;
    lc_error err;
    if (!make_rig(&r, NULL, 256, LC_CHAT_TPL_CHATML, "Answer yes or no.", 24, 7)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    const char *g = "root ::= (\"yes\" | \"no\" | \"not sure\") \".\"";
    CHECK(lc_chat_set_grammar(r.chat, "root ::= nowhere", 16, 0, &err) == LC_ERR_FORMAT, "bad grammar: %s", err.msg);
    CHECK_OK(lc_chat_set_grammar(r.chat, g, strlen(g), 0, &err), &err);
    const char *msgs[] = {"Is the sky blue?", "Is water dry?"};
    for (int i = 0; i < 2; i++) {
        lc_chat_reply rep;
        CHECK_OK(lc_chat_send(r.chat, msgs[i], strlen(msgs[i]), &rep, &err), &err);
        CHECK(rep.stop == LC_CHAT_STOP_END &&
                  (!strcmp(rep.text, "yes.") || !strcmp(rep.text, "no.") || !strcmp(rep.text, "not sure.")),
              "reply %d '%s' follows the grammar (stop %s)", i, rep.text, lc_chat_stop_name(rep.stop));
    }
    CHECK_OK(lc_chat_set_grammar(r.chat, NULL, 0, 0, &err), &err);
    lc_chat_reply rep;
    CHECK_OK(lc_chat_send(r.chat, "Tell me more", 12, &rep, &err), &err);
    free_rig(&r); /* the chat frees its grammar before the rig frees the sampler */
}

static void test_for_model(void) {
    lc_error err;
    rig r; /* by hand: lc_chat_create over the rig's context and sampler */
    const char *sys = "You are a helpful bot.";
    if (!make_rig(&r, "shift:0", 256, LC_CHAT_TPL_CHATML, sys, 12, 7)) {
        CHECK(false, "rig");
        free_rig(&r);
        return;
    }
    lc_context_opts co;
    lc_context_opts_init(&co);
    CHECK_OK(lc_kv_policy_parse("shift:0", &co, &err), &err);
    co.n_ctx = 256;
    co.n_threads = 1;
    co.k_type = co.v_type = LC_DTYPE_F32;
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = 7;
    lc_chat_opts o;
    lc_chat_opts_init(&o);
    o.tpl = LC_CHAT_TPL_CHATML;
    o.system = sys;
    o.n_predict = 12;
    o.transcript = tmpfile();
    char want[2048] = "";
    size_t wl = 0;
    lc_chat *chat = NULL;
    CHECK_OK(lc_chat_create_for_model(r.m, &co, &sp, &o, &chat, &err), &err);
    int64_t n_sys = 0;
    CHECK_OK(lc_chat_system_tokens(&o, r.m->tokenizer, &n_sys, &err), &err);
    if (chat) {
        lc_kv_stats ks;
        lc_context_kv_stats(lc_chat_context(chat), &ks);
        CHECK(n_sys > 0 && ks.policy == LC_KV_POLICY_SHIFT && ks.n_keep == n_sys, "KEEP %lld, the system turn %lld",
              (long long)ks.n_keep, (long long)n_sys);
        const char *msgs[] = {"Hello there", "What is a cat?"};
        for (int i = 0; i < 2; i++) {
            lc_chat_reply a, b;
            CHECK_OK(lc_chat_send(chat, msgs[i], strlen(msgs[i]), &a, &err), &err);
            char *ta = strdup(a.text ? a.text : "");
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "### user\n%s\n\n### assistant\n%s\n\n", msgs[i], ta);
            CHECK_OK(lc_chat_send(r.chat, msgs[i], strlen(msgs[i]), &b, &err), &err);
            CHECK(ta && b.text && strcmp(ta, b.text) == 0 && a.n_tokens == b.n_tokens, "reply %d: '%s' vs '%s'", i,
                  ta ? ta : "", b.text ? b.text : "");
            free(ta);
        }
    }
    lc_chat_free(chat); /* its sampler and context too (ASan: nothing leaks) */
    if (o.transcript) { /* every turn, in order */
        char got[2048];
        rewind(o.transcript);
        got[fread(got, 1, sizeof got - 1, o.transcript)] = '\0';
        fclose(o.transcript);
        CHECK(wl > 40 && strcmp(got, want) == 0, "transcript:\n%s\nwant:\n%s", got, want);
    }
    free_rig(&r);

    lc_model_config c = test_llama_config(32, 64, 1, 2, 2, 16, 50); /* a model without a tokenizer */
    lc_model *bare = NULL;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &bare, &err), &err);
    chat = (lc_chat *)&c; /* must come back NULL */
    CHECK(bare && lc_chat_create_for_model(bare, NULL, NULL, NULL, &chat, &err) == LC_ERR_INVALID_ARG && !chat &&
              strstr(err.msg, "no tokenizer"),
          "no tokenizer: %s", err.msg);
    lc_model_free(bare);
}

int main(void) {
    test_detect();
    test_render();
    test_conversation();
    test_cancel_and_sessions();
    test_sinks_chat();
    test_stop_strings();
    test_commands();
    test_grammar_replies();
    test_for_model();
    return lc_test_finish("test_chat");
}
