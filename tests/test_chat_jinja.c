/*
 * The chat's turns from a model's own Jinja template (src/app/chat_jinja.c):
 *
 *   1. for every template of ../shared/templates, with and without a system
 *      prompt: the turn table derived from it writes a four-exchange
 *      conversation exactly as rendering the whole conversation with the
 *      template does (the interpreter itself is checked against jinja2 in
 *      test_jinja); templates whose turns are not regular are refused
 *      (Gemma-2 with a system prompt raises, Mistral-Nemo writes the system
 *      prompt into the last user message);
 *   2. with the Qwen2 vocabulary and the template its GGUF carries: the
 *      turns' tokens equal the whole render's text split at the template's
 *      markers (single tokens) and encoded between them;
 *   3. lc_chat on a real model: a usable template drives the turns (the
 *      context holds the template's text), an unusable one falls back to the
 *      built-in template with a note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "longctx/gguf.h"
#include "longctx/jinja.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "test_jinja_json.h"
#include "test_util.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        if (len) *len = (size_t)n;
    }
    return b;
}

static const char *const texts[] = {"Hello there.", "Hi! How can I help?", "What is the capital of France?",
                                    "Paris.", "Thanks a lot.", "You are welcome.", "Bye."};

/* Render [system?] + the texts as alternating user/assistant turns, ending
 * with a user turn, with the generation prompt. */
static char *render_whole(const char *src, size_t len, const char *sys, const char *bos, const char *eos, lc_error *err) {
    lc_jinja_template *t = NULL;
    if (lc_jinja_compile(src, len, NULL, &t, err) != LC_OK) return NULL;
    lc_jinja_value *msgs = lc_jv_list();
    if (sys) lc_jv_list_push(msgs, lc_jv_message("system", sys, strlen(sys)));
    for (size_t i = 0; i < LC_ARRAY_LEN(texts); i++)
        lc_jv_list_push(msgs, lc_jv_message(i % 2 ? "assistant" : "user", texts[i], strlen(texts[i])));
    lc_jinja_value *ctx = lc_jinja_chat_context(msgs, true, bos, eos, NULL);
    char *out = NULL;
    size_t n = 0;
    if (lc_jinja_render(t, ctx, NULL, &out, &n, err) != LC_OK) out = NULL;
    lc_jv_free(ctx);
    lc_jinja_free(t);
    return out;
}

/* The same conversation written from the turn table. */
static char *render_table(const lc_chat_tpl_def *d, const char *sys) {
    size_t cap = 1 << 16, w = 0;
    char *o = malloc(cap);
    if (!o) return NULL;
#define PUT(s) (w += (size_t)snprintf(o + w, cap - w, "%s", (s)))
    if (sys) {
        PUT(d->sys_pre);
        PUT(sys);
        PUT(d->sys_post);
    } else {
        PUT(d->preamble);
    }
    for (size_t i = 0; i < LC_ARRAY_LEN(texts); i++) {
        if (i % 2 == 0) {
            PUT(d->user_pre);
            PUT(texts[i]);
            PUT(d->user_post);
        } else {
            PUT(texts[i]);
            PUT(d->asst_post);
        }
    }
#undef PUT
    return o;
}

static void test_shared_templates(void) {
    static const struct {
        const char *name;
        bool nosys_ok, sys_ok, history_as_prompt; /* false: history writes more than the generation prompt */
    } want[] = {
        {"Qwen-Qwen2.5-7B-Instruct", true, true, true},
        {"Qwen-Qwen3-0.6B", true, true, true},
        {"google-gemma-2-2b-it", true, false, true},
        {"meta-llama-Llama-3.1-8B-Instruct", true, true, true},
        {"microsoft-Phi-3.5-mini-instruct", true, true, true},
        {"mistralai-Mistral-Nemo-Instruct-2407", true, false, true},
        {"openai-gpt-oss-120b", true, true, false},
    };
    char dirbuf[512];
    snprintf(dirbuf, sizeof dirbuf, "%s/templates", LC_SHARED_DIR);
    size_t checked = 0;
    for (size_t i = 0; i < LC_ARRAY_LEN(want); i++) {
        char path[768], tok_path[768];
        snprintf(path, sizeof path, "%s/%s.jinja", dirbuf, want[i].name);
        size_t len = 0;
        char *src = read_file(path, &len);
        if (!src) {
            fprintf(stderr, "SKIP part: %s is absent\n", path);
            continue;
        }
        snprintf(tok_path, sizeof tok_path, "%s/templates/%s/special_tokens.json", LC_TEST_DATA_DIR, want[i].name);
        size_t tl = 0;
        char *tj = read_file(tok_path, &tl);
        lc_jinja_value *toks = tj ? tj_parse(tj, tl) : NULL;
        free(tj);
        CHECK(toks != NULL, "%s", tok_path);
        const char *bos = lc_jv_str_get(lc_jv_dict_get(toks, "bos_token"), NULL);
        const char *eos = lc_jv_str_get(lc_jv_dict_get(toks, "eos_token"), NULL);
        for (int with_sys = 0; with_sys < 2; with_sys++) {
            const char *sys = with_sys ? "You are a careful assistant." : NULL;
            const bool ok_want = with_sys ? want[i].sys_ok : want[i].nosys_ok;
            lc_chat_tpl_dyn dyn;
            lc_error err = {0};
            const lc_status st = lc_chat_tpl_from_jinja(src, len, NULL, bos, eos, with_sys, &dyn, &err);
            CHECK((st == LC_OK) == ok_want, "%s (system %d): %s, expected %s (%s)", want[i].name, with_sys,
                  st == LC_OK ? "derived" : "refused", ok_want ? "derived" : "refused", err.msg);
            if (st != LC_OK) continue;
            CHECK(dyn.def.jinja && dyn.def.user_post[0], "%s: a generation prompt", want[i].name);
            char *whole = render_whole(src, len, sys, bos, eos, &err);
            char *table = render_table(&dyn.def, sys);
            CHECK(whole && table, "%s: render: %s", want[i].name, err.msg);
            if (whole && table && want[i].history_as_prompt) {
                CHECK(strcmp(whole, table) == 0, "%s (system %d):\n  template [%s]\n  table    [%s]", want[i].name,
                      with_sys, whole, table);
                checked++;
            } else if (whole && table) {
                /* the history's assistant header differs (gpt-oss writes a
                 * channel): the start and the last exchange still agree */
                const char *last = strstr(table, texts[LC_ARRAY_LEN(texts) - 2]);
                CHECK(last && strstr(whole, last) && strlen(strstr(whole, last)) == strlen(last),
                      "%s: the last exchange differs", want[i].name);
                const char *first = strstr(table, texts[0]);
                CHECK(first && strncmp(whole, table, (size_t)(first - table) + strlen(texts[0])) == 0,
                      "%s: the start differs", want[i].name);
                checked++;
            }
            free(whole);
            free(table);
            lc_chat_tpl_dyn_free(&dyn);
        }
        lc_jv_free(toks);
        free(src);
    }
    fprintf(stderr, "shared templates: %zu turn tables checked against whole renders\n", checked);
}

/* The text of a GGUF's chat template. */
static char *vocab_template(const char *name, lc_tokenizer **tok) {
    char buf[512], rel[128];
    snprintf(rel, sizeof rel, "vocab/%s", name);
    const char *p = lc_test_shared(rel, buf, sizeof buf);
    lc_gguf *g = NULL;
    lc_error err;
    char *text = NULL;
    size_t len = 0;
    *tok = NULL;
    if (lc_gguf_open(p, &g, &err) != LC_OK || lc_tokenizer_from_gguf(g, tok, &err) != LC_OK)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    lc_gguf_close(g);
    CHECK_OK(lc_chat_template_text_from_file(p, &text, &len, &err), &err);
    CHECK(text && strlen(text) == len, "%s: a chat template", name);
    return text;
}

/* ids of text split at the markers (each one token) and encoded between. */
static int64_t split_encode(const lc_tokenizer *tok, const char *text, const char *const *markers, int32_t *ids,
                            int64_t cap) {
    int64_t n = 0;
    const char *p = text;
    while (*p) {
        const char *best = NULL;
        const char *bm = NULL;
        for (size_t i = 0; markers[i]; i++) {
            const char *q = strstr(p, markers[i]);
            if (q && (!best || q < best)) best = q, bm = markers[i];
        }
        const size_t run = best ? (size_t)(best - p) : strlen(p);
        int64_t k = 0;
        if (run) lc_tokenizer_encode(tok, p, run, false, ids + n, cap - n, &k, NULL);
        n += k;
        if (!best) break;
        ids[n++] = lc_tokenizer_find(tok, bm, strlen(bm));
        p = best + strlen(bm);
    }
    return n;
}

static void test_qwen2_tokens(void) {
    lc_tokenizer *tok = NULL;
    char *src = vocab_template("ggml-vocab-qwen2.gguf", &tok);
    if (!src || !tok) {
        CHECK(false, "qwen2 vocabulary");
        free(src);
        lc_tokenizer_free(tok);
        return;
    }
    lc_chat_tpl_dyn dyn;
    lc_error err = {0};
    CHECK_OK(lc_chat_tpl_from_jinja(src, strlen(src), tok, NULL, NULL, false, &dyn, &err), &err);
    const lc_chat_tpl_def *d = &dyn.def;
    bool has_start = false, has_end = false;
    for (int i = 0; i < LC_CHAT_MAX_SPECIALS && d->specials[i]; i++) {
        has_start = has_start || strcmp(d->specials[i], "<|im_start|>") == 0;
        has_end = has_end || strcmp(d->specials[i], "<|im_end|>") == 0;
    }
    CHECK(has_start && has_end, "ChatML markers found in the vocabulary");
    CHECK(d->end_markers[0] && strcmp(d->end_markers[0], "<|im_end|>") == 0, "reply ends with <|im_end|>: %s",
          d->end_markers[0] ? d->end_markers[0] : "(none)");
    int32_t stops[8];
    const int32_t ns = lc_chat_stop_tokens_def(d, tok, stops, 8);
    CHECK(ns >= 1 && stops[0] == lc_tokenizer_find(tok, "<|im_end|>", 10), "stop tokens %d", ns);
    /* the turns' tokens, as lc_chat writes them */
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    lc_status st = lc_chat_render_seq(d, tok, LC_CHAT_SYSTEM, "", 0, true, &s, &err);
    for (size_t i = 0; st == LC_OK && i < LC_ARRAY_LEN(texts); i++) {
        if (i % 2 == 0) {
            st = lc_chat_render_seq(d, tok, LC_CHAT_USER, texts[i], strlen(texts[i]), false, &s, &err);
            if (st == LC_OK) st = lc_chat_render_seq(d, tok, LC_CHAT_ASSISTANT, NULL, 0, false, &s, &err);
        } else {
            int64_t k = 0;
            int32_t ids[64];
            st = lc_tokenizer_encode(tok, texts[i], strlen(texts[i]), false, ids, 64, &k, &err);
            for (int64_t j = 0; st == LC_OK && j < k; j++) st = lc_tok_seq_push(&s, ids[j], &err);
            if (st == LC_OK) st = lc_tok_seq_template(&s, d, tok, d->asst_post, &err);
            if (st == LC_OK) st = lc_tok_seq_finish(&s, tok, &err);
        }
    }
    CHECK(st == LC_OK, "turns: %s", err.msg);
    /* the whole render, split at the markers */
    char *whole = render_whole(src, strlen(src), NULL, NULL, NULL, &err);
    CHECK(whole != NULL, "render: %s", err.msg);
    static const char *const markers[] = {"<|im_start|>", "<|im_end|>", NULL};
    int32_t want[1024];
    const int64_t nw = whole ? split_encode(tok, whole, markers, want, 1024) : -1;
    CHECK(s.n == nw && memcmp(s.ids, want, (size_t)nw * sizeof(int32_t)) == 0, "tokens: %lld from the turns, %lld from the render",
          (long long)s.n, (long long)nw);
    free(whole);
    lc_tok_seq_free(&s);
    lc_chat_tpl_dyn_free(&dyn);
    lc_tokenizer_free(tok);
    free(src);
}

/* ---- lc_chat with a Jinja template on a real model ---- */

typedef struct {
    char notes[1024];
} note_log;

static void on_note(void *user, const char *note) {
    note_log *l = user;
    strncat(l->notes, note, sizeof l->notes - strlen(l->notes) - 1);
}

static void test_chat(void) {
    char buf[512], tbuf[512];
    const char *mp = lc_test_shared("models/aidreams260K.gguf", buf, sizeof buf);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_load(mp, NULL, &m, &err) != LC_OK) {
        CHECK(false, "model: %s", err.msg);
        return;
    }
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 256;
    o.n_threads = 1;
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = 3;
    lc_context *ctx = NULL;
    lc_sampler *smp = NULL;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    CHECK_OK(lc_sampler_create(&sp, m->cfg.vocab_size, &smp, &err), &err);
    const char *chatml = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                         "{{ '<|im_start|>system\nYou dream.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + "
                         "message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.tpl = LC_CHAT_TPL_PLAIN;
    co.n_predict = 8;
    co.jinja = chatml;
    co.jinja_len = strlen(chatml);
    note_log log = {{0}};
    co.on_note = on_note;
    co.note_user = &log;
    lc_chat *chat = NULL;
    if (ctx && smp) CHECK_OK(lc_chat_create(ctx, m->tokenizer, smp, &co, &chat, &err), &err);
    if (chat) {
        lc_chat_stats st;
        lc_chat_get_stats(chat, &st);
        CHECK(st.jinja, "the template drives the turns (notes: %s)", log.notes);
        int64_t n_sys = -1;
        CHECK_OK(lc_chat_system_tokens(&co, m->tokenizer, &n_sys, &err), &err);
        CHECK(n_sys == st.n_system && n_sys > 5, "system turn: %lld tokens predicted, %lld in the chat", (long long)n_sys,
              (long long)st.n_system);
        lc_chat_reply rep;
        CHECK_OK(lc_chat_send(chat, "Hello", 5, &rep, &err), &err);
        /* the context holds the template's text: preamble, user turn, prompt */
        int32_t ids[256];
        const int64_t n = lc_context_kv_tokens(ctx, ids, NULL, 256);
        static char text[4096];
        size_t tl = 0;
        lc_tokenizer_decode(m->tokenizer, ids, LC_MIN(n, 256), text, sizeof text, &tl, NULL);
        /* this vocabulary has no ChatML markers: every turn is text, and SPM
         * puts a space in front of each turn's run; compare without spaces */
        const char *want = "<|im_start|>system\nYoudream.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
        char *w = text;
        for (const char *q = text; *q; q++)
            if (*q != ' ') *w++ = *q;
        *w = '\0';
        CHECK(strncmp(text, want, strlen(want)) == 0, "context text [%.200s]", text);
        lc_chat_free(chat);
        chat = NULL;
    }
    /* Gemma-2 refuses a system role: the built-in template, with a note */
    char *gemma = read_file(lc_test_shared("templates/google-gemma-2-2b-it.jinja", tbuf, sizeof tbuf), NULL);
    if (gemma && ctx && smp) {
        co.jinja = gemma;
        co.jinja_len = strlen(gemma);
        co.tpl = LC_CHAT_TPL_GEMMA;
        co.system = "Be brief.";
        log.notes[0] = '\0';
        CHECK_OK(lc_chat_create(ctx, m->tokenizer, smp, &co, &chat, &err), &err);
        if (chat) {
            lc_chat_stats st;
            lc_chat_get_stats(chat, &st);
            CHECK(!st.jinja && st.tpl == LC_CHAT_TPL_GEMMA, "fell back to gemma");
            CHECK(strstr(log.notes, "System role not supported") && strstr(log.notes, "built-in gemma"), "note: %s",
                  log.notes);
            lc_chat_free(chat);
        }
        /* without a system prompt the same template is used */
        co.system = NULL;
        log.notes[0] = '\0';
        chat = NULL;
        CHECK_OK(lc_chat_create(ctx, m->tokenizer, smp, &co, &chat, &err), &err);
        if (chat) {
            lc_chat_stats st;
            lc_chat_get_stats(chat, &st);
            CHECK(st.jinja, "gemma without a system prompt: %s", log.notes);
            lc_chat_free(chat);
        }
    } else if (!gemma) {
        fprintf(stderr, "SKIP part: the gemma template is absent\n");
    }
    free(gemma);
    lc_sampler_free(smp);
    lc_context_free(ctx);
    lc_model_free(m);
}

int main(void) {
    test_shared_templates();
    test_qwen2_tokens();
    test_chat();
    return lc_test_finish("test_chat_jinja");
}
