/*
 * Chat templates without a Jinja engine: each family is a table of the
 * strings it writes around a turn, recognised in a GGUF's
 * tokenizer.chat_template by the markers only that family uses. The turn
 * formats are those the families' own templates produce (and llama.cpp's
 * llama_chat_apply_template writes):
 *
 *   chatml   <|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n
 *            <|im_start|>assistant\nA<|im_end|>\n
 *   llama2   <s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]A</s><s>[INST] U2 [/INST]
 *   mistral  <s>[INST] S\n\nU [/INST]A</s>[INST] U2 [/INST]
 *   llama3   <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>
 *            <|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>...assistant...
 *   phi3     <|system|>\nS<|end|>\n<|user|>\nU<|end|>\n<|assistant|>\nA<|end|>\n
 *   gemma    <bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n
 *   zephyr   <|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\nA</s>\n
 *   plain    S\n\nUser: U\nAssistant: A\n            (stops at "\nUser:")
 *
 * Tokens: a template's markers (<|im_start|>, [INST] where the vocabulary has
 * it as a token, </s> ...) become their ids; the text between them is encoded
 * as one run, exactly as llama.cpp's tokenizer does with special-token
 * parsing on (an SPM vocabulary puts its space prefix at the start of every
 * run that follows a marker). The user's and the model's text is never
 * searched for markers.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "longctx/gguf.h"

static const lc_chat_tpl_def defs[LC_CHAT_TPL_COUNT] = {
    [LC_CHAT_TPL_PLAIN] = {"plain", {NULL}, "", "\n\n", false, NULL, NULL, "User: ", "\n", "Assistant:", "\n", {NULL},
                           "\nUser:", false, NULL, false},
    [LC_CHAT_TPL_CHATML] = {"chatml", {"<|im_start|>", "<|im_end|>"}, "<|im_start|>system\n", "<|im_end|>\n", false,
                            NULL, NULL, "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n",
                            "<|im_end|>\n", {"<|im_end|>"}, NULL, false, NULL, false},
    [LC_CHAT_TPL_LLAMA2] = {"llama2", {"<s>", "</s>"}, NULL, NULL, true, "<<SYS>>\n", "\n<</SYS>>\n\n", "[INST] ",
                            " [/INST]", "", "</s><s>", {"</s>"}, NULL, false, NULL, false},
    [LC_CHAT_TPL_MISTRAL] = {"mistral", {"<s>", "</s>", "[INST]", "[/INST]"}, NULL, NULL, true, "", "\n\n", "[INST] ",
                             " [/INST]", "", "</s>", {"</s>"}, NULL, false, NULL, false},
    [LC_CHAT_TPL_LLAMA3] = {"llama3",
                            {"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
                            "<|start_header_id|>system<|end_header_id|>\n\n",
                            "<|eot_id|>",
                            false,
                            NULL,
                            NULL,
                            "<|start_header_id|>user<|end_header_id|>\n\n",
                            "<|eot_id|>",
                            "<|start_header_id|>assistant<|end_header_id|>\n\n",
                            "<|eot_id|>",
                            {"<|eot_id|>"},
                            NULL, false, NULL, false},
    [LC_CHAT_TPL_PHI3] = {"phi3", {"<|system|>", "<|user|>", "<|assistant|>", "<|end|>"}, "<|system|>\n", "<|end|>\n",
                          false, NULL, NULL, "<|user|>\n", "<|end|>\n", "<|assistant|>\n", "<|end|>\n", {"<|end|>"},
                          NULL, false, NULL, false},
    [LC_CHAT_TPL_GEMMA] = {"gemma", {"<start_of_turn>", "<end_of_turn>"}, NULL, NULL, true, "", "\n\n",
                           "<start_of_turn>user\n", "<end_of_turn>\n", "<start_of_turn>model\n", "<end_of_turn>\n",
                           {"<end_of_turn>"}, NULL, false, NULL, false},
    [LC_CHAT_TPL_ZEPHYR] = {"zephyr", {"<|system|>", "<|user|>", "<|assistant|>", "</s>"}, "<|system|>\n", "</s>\n",
                            false, NULL, NULL, "<|user|>\n", "</s>\n", "<|assistant|>\n", "</s>\n", {"</s>"}, NULL, false, NULL, false},
};

const lc_chat_tpl_def *lc_chat_tpl(lc_chat_template t) {
    return (unsigned)t < LC_CHAT_TPL_COUNT ? &defs[t] : &defs[LC_CHAT_TPL_PLAIN];
}

const char *lc_chat_template_name(lc_chat_template t) {
    return (unsigned)t < LC_CHAT_TPL_COUNT ? defs[t].name : "?";
}

bool lc_chat_template_parse(const char *name, lc_chat_template *out) {
    if (!name) return false;
    static const struct {
        const char *alias;
        lc_chat_template t;
    } aliases[] = {{"llama-2", LC_CHAT_TPL_LLAMA2}, {"llama-3", LC_CHAT_TPL_LLAMA3}, {"phi-3", LC_CHAT_TPL_PHI3},
                   {"chat-ml", LC_CHAT_TPL_CHATML}, {"base", LC_CHAT_TPL_PLAIN},     {"none", LC_CHAT_TPL_PLAIN}};
    for (int i = 0; i < LC_CHAT_TPL_COUNT; i++)
        if (strcmp(name, defs[i].name) == 0) {
            *out = (lc_chat_template)i;
            return true;
        }
    for (size_t i = 0; i < LC_ARRAY_LEN(aliases); i++)
        if (strcmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].t;
            return true;
        }
    return false;
}

static bool has(const char *s, size_t len, const char *needle) {
    const size_t n = strlen(needle);
    if (n > len) return false;
    for (size_t i = 0; i + n <= len; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0) return true;
    return false;
}

bool lc_chat_template_detect(const char *j, size_t len, lc_chat_template *out) {
    *out = LC_CHAT_TPL_PLAIN;
    if (!j) return false;
    /* most specific markers first */
    if (has(j, len, "<|im_start|>")) *out = LC_CHAT_TPL_CHATML;
    else if (has(j, len, "<|start_header_id|>")) *out = LC_CHAT_TPL_LLAMA3;
    else if (has(j, len, "<start_of_turn>")) *out = LC_CHAT_TPL_GEMMA;
    else if (has(j, len, "<|user|>") && has(j, len, "<|end|>")) *out = LC_CHAT_TPL_PHI3;
    else if (has(j, len, "<|user|>")) *out = LC_CHAT_TPL_ZEPHYR;
    else if (has(j, len, "[INST]") && has(j, len, "<<SYS>>")) *out = LC_CHAT_TPL_LLAMA2;
    else if (has(j, len, "[INST]")) *out = LC_CHAT_TPL_MISTRAL;
    else return false;
    return true;
}

lc_status lc_chat_template_from_file(const char *path, lc_chat_template *out, bool *found, bool *recognised,
                                     lc_error *err) {
    *out = LC_CHAT_TPL_PLAIN;
    *found = *recognised = false;
    if (!path) return lc_fail(err, LC_ERR_INVALID_ARG, "chat template: NULL path");
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "chat template: cannot open %s", path);
    char magic[4] = {0};
    const bool gguf = fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    fclose(f);
    if (!gguf) return LC_OK; /* llama2.c checkpoints carry no template */
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    if (st != LC_OK) return st;
    const char *s = NULL;
    size_t len = 0;
    if (lc_gguf_has(g, "tokenizer.chat_template") &&
        lc_gguf_get_str(g, "tokenizer.chat_template", &s, &len, NULL) == LC_OK) {
        *found = true;
        *recognised = lc_chat_template_detect(s, len, out);
    }
    lc_gguf_close(g);
    return LC_OK;
}

lc_status lc_chat_template_text_from_file(const char *path, char **text, size_t *len, lc_error *err) {
    if (!text) return lc_fail(err, LC_ERR_INVALID_ARG, "chat template: NULL output");
    *text = NULL;
    if (len) *len = 0;
    if (!path) return lc_fail(err, LC_ERR_INVALID_ARG, "chat template: NULL path");
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "chat template: cannot open %s", path);
    char magic[4] = {0};
    const bool gguf = fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
    fclose(f);
    if (!gguf) return LC_OK;
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    if (st != LC_OK) return st;
    const char *s = NULL;
    size_t n = 0;
    if (lc_gguf_has(g, "tokenizer.chat_template") && lc_gguf_get_str(g, "tokenizer.chat_template", &s, &n, NULL) == LC_OK) {
        *text = malloc(n + 1);
        if (!*text) st = lc_fail(err, LC_ERR_NOMEM, "chat template: out of memory");
        else {
            memcpy(*text, s, n);
            (*text)[n] = '\0';
            if (len) *len = n;
        }
    }
    lc_gguf_close(g);
    return st;
}

lc_status lc_chat_template_from_model(const char *path, lc_chat_template *tpl, char **jinja, size_t *jinja_len,
                                      bool *unknown, lc_error *err) {
    bool found = false, rec = false;
    *jinja = NULL;
    if (jinja_len) *jinja_len = 0;
    if (unknown) *unknown = false;
    lc_status st = lc_chat_template_from_file(path, tpl, &found, &rec, err);
    if (st == LC_OK) st = lc_chat_template_text_from_file(path, jinja, jinja_len, err);
    if (st != LC_OK) *tpl = LC_CHAT_TPL_PLAIN;
    else if (unknown) *unknown = found && !rec;
    return st;
}

/* ---- Rendering -------------------------------------------------------------- */

void lc_tok_seq_free(lc_tok_seq *s) {
    free(s->ids);
    free(s->run);
    memset(s, 0, sizeof *s);
}

static lc_status grow(void **p, int64_t *cap, int64_t need, size_t elem, lc_error *err) {
    if (need <= *cap) return LC_OK;
    int64_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    size_t bytes;
    if (!lc_mul_size((size_t)nc, elem, &bytes)) return lc_fail(err, LC_ERR_TOO_LARGE, "chat: sequence too long");
    void *q = realloc(*p, bytes);
    if (!q) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    *p = q;
    *cap = nc;
    return LC_OK;
}

lc_status lc_tok_seq_push(lc_tok_seq *s, int32_t id, lc_error *err) {
    lc_status st = grow((void **)&s->ids, &s->cap, s->n + 1, sizeof(int32_t), err);
    if (st == LC_OK) s->ids[s->n++] = id;
    return st;
}

/* Encode the pending text run (if any) and append its ids. */
static lc_status flush_run(lc_tok_seq *s, const lc_tokenizer *tok, lc_error *err) {
    if (s->run_len == 0) return LC_OK;
    int64_t need = 0;
    lc_status st = lc_tokenizer_encode(tok, s->run, s->run_len, false, NULL, 0, &need, err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return st;
    st = grow((void **)&s->ids, &s->cap, s->n + need, sizeof(int32_t), err);
    if (st != LC_OK) return st;
    int64_t got = 0;
    st = lc_tokenizer_encode(tok, s->run, s->run_len, false, s->ids + s->n, need, &got, err);
    if (st != LC_OK) return st;
    s->n += got;
    s->run_len = 0;
    return LC_OK;
}

lc_status lc_tok_seq_text(lc_tok_seq *s, const lc_tokenizer *tok, const char *text, size_t len, lc_error *err) {
    (void)tok;
    if (len == 0) return LC_OK;
    int64_t cap = (int64_t)s->run_cap;
    lc_status st = grow((void **)&s->run, &cap, (int64_t)(s->run_len + len), 1, err);
    if (st != LC_OK) return st;
    s->run_cap = (size_t)cap;
    memcpy(s->run + s->run_len, text, len);
    s->run_len += len;
    return LC_OK;
}

lc_status lc_tok_seq_special(lc_tok_seq *s, const lc_tokenizer *tok, int32_t id, lc_error *err) {
    lc_status st = flush_run(s, tok, err);
    return st == LC_OK ? lc_tok_seq_push(s, id, err) : st;
}

lc_status lc_tok_seq_finish(lc_tok_seq *s, const lc_tokenizer *tok, lc_error *err) { return flush_run(s, tok, err); }

/* The id of a marker the vocabulary holds as one token, or -1. */
static int32_t marker_id(const lc_tokenizer *tok, const char *m, size_t len) {
    const int32_t id = lc_tokenizer_find(tok, m, len);
    if (id < 0) return -1;
    const int32_t ty = lc_tokenizer_type(tok, id);
    return ty == LC_TOKEN_UNKNOWN || ty == LC_TOKEN_UNUSED || ty == LC_TOKEN_BYTE ? -1 : id;
}

lc_status lc_tok_seq_template(lc_tok_seq *s, const lc_chat_tpl_def *d, const lc_tokenizer *tok, const char *text,
                              lc_error *err) {
    if (!text) return LC_OK;
    const char *p = text;
    lc_status st = LC_OK;
    while (*p && st == LC_OK) {
        /* the earliest marker of the template that the vocabulary has */
        const char *best = NULL;
        size_t best_len = 0;
        int32_t best_id = -1;
        for (int i = 0; i < LC_CHAT_MAX_SPECIALS && d->specials[i]; i++) {
            const char *q = strstr(p, d->specials[i]);
            const size_t ml = strlen(d->specials[i]);
            if (!q || (best && (q > best || (q == best && ml <= best_len)))) continue; /* earliest, then longest */
            const int32_t id = marker_id(tok, d->specials[i], ml);
            if (id < 0) continue;
            best = q;
            best_len = ml;
            best_id = id;
        }
        if (!best) {
            st = lc_tok_seq_text(s, tok, p, strlen(p), err);
            break;
        }
        st = lc_tok_seq_text(s, tok, p, (size_t)(best - p), err);
        if (st == LC_OK) st = lc_tok_seq_special(s, tok, best_id, err);
        p = best + best_len;
    }
    return st;
}

lc_status lc_chat_render_seq(const lc_chat_tpl_def *d, const lc_tokenizer *tok, lc_chat_role role, const char *text,
                             size_t len, bool first, lc_tok_seq *s, lc_error *err) {
    lc_status st = LC_OK;
    if (first && !d->bos_in_text && lc_tokenizer_add_bos(tok) && lc_tokenizer_bos(tok) >= 0)
        st = lc_tok_seq_special(s, tok, lc_tokenizer_bos(tok), err);
    const char *pre = NULL, *post = NULL;
    switch (role) {
    case LC_CHAT_SYSTEM:
        if (d->preamble && len == 0) { /* a Jinja template's own turn 0 */
            if (st == LC_OK) st = lc_tok_seq_template(s, d, tok, d->preamble, err);
            return st == LC_OK ? lc_tok_seq_finish(s, tok, err) : st;
        }
        if (d->fold_system || len == 0) return st == LC_OK ? lc_tok_seq_finish(s, tok, err) : st;
        pre = d->sys_pre, post = d->sys_post;
        break;
    case LC_CHAT_USER: pre = d->user_pre, post = d->user_post; break;
    default: pre = d->asst_pre, post = text ? d->asst_post : NULL; break;
    }
    if (st == LC_OK) st = lc_tok_seq_template(s, d, tok, pre, err);
    if (st == LC_OK && text) st = lc_tok_seq_text(s, tok, text, len, err);
    if (st == LC_OK) st = lc_tok_seq_template(s, d, tok, post, err);
    if (st == LC_OK) st = lc_tok_seq_finish(s, tok, err);
    return st;
}

static lc_status copy_out(lc_tok_seq *s, int32_t *ids, int64_t cap, int64_t *n, lc_error *err) {
    *n = s->n;
    lc_status st = LC_OK;
    if (s->n > cap)
        st = lc_fail(err, LC_ERR_TOO_LARGE, "chat: the turn needs %lld tokens, room for %lld", (long long)s->n,
                     (long long)cap);
    else if (s->n) memcpy(ids, s->ids, (size_t)s->n * sizeof(int32_t));
    lc_tok_seq_free(s);
    return st;
}

lc_status lc_chat_render(lc_chat_template t, const lc_tokenizer *tok, lc_chat_role role, const char *text, size_t len,
                         bool first, int32_t *ids, int64_t cap, int64_t *n, lc_error *err) {
    if (n) *n = 0;
    if (!tok || !n || (cap > 0 && !ids) || (!text && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: bad arguments");
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    lc_status st = lc_chat_render_seq(lc_chat_tpl(t), tok, role, text, len, first, &s, err);
    if (st != LC_OK) {
        lc_tok_seq_free(&s);
        return st;
    }
    return copy_out(&s, ids, cap, n, err);
}

lc_status lc_chat_render_reply_end(lc_chat_template t, const lc_tokenizer *tok, int32_t *ids, int64_t cap, int64_t *n,
                                   lc_error *err) {
    if (n) *n = 0;
    if (!tok || !n || (cap > 0 && !ids)) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: bad arguments");
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    lc_status st = lc_tok_seq_template(&s, lc_chat_tpl(t), tok, lc_chat_tpl(t)->asst_post, err);
    if (st == LC_OK) st = lc_tok_seq_finish(&s, tok, err);
    if (st != LC_OK) {
        lc_tok_seq_free(&s);
        return st;
    }
    return copy_out(&s, ids, cap, n, err);
}

int32_t lc_chat_stop_tokens(lc_chat_template t, const lc_tokenizer *tok, int32_t *ids, int32_t cap) {
    return lc_chat_stop_tokens_def(lc_chat_tpl(t), tok, ids, cap);
}

int32_t lc_chat_stop_tokens_def(const lc_chat_tpl_def *d, const lc_tokenizer *tok, int32_t *ids, int32_t cap) {
    int32_t n = 0;
    for (int i = 0; i < LC_CHAT_MAX_SPECIALS && d->end_markers[i]; i++) {
        const int32_t id = marker_id(tok, d->end_markers[i], strlen(d->end_markers[i]));
        if (id >= 0 && n < cap) ids[n++] = id;
    }
    const int32_t eos = lc_tokenizer_eos(tok);
    bool dup = false;
    for (int32_t i = 0; i < n; i++) dup = dup || ids[i] == eos;
    if (eos >= 0 && !dup && n < cap) ids[n++] = eos;
    return n;
}

const char *lc_chat_stop_text(lc_chat_template t) { return lc_chat_tpl(t)->stop_text; }
