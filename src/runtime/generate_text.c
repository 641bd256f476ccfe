/* lc_generate_text: tokenize, generate with a sampler chain, detokenize and
 * stream whole UTF-8 characters to the caller. */
#include <stdlib.h>
#include <string.h>

#include "longctx/text.h"
#include "longctx/util.h"

void lc_text_opts_init(lc_text_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_predict = 128;
    lc_sampler_params_init(&o->sampler);
    o->add_bos = -1;
    o->stop_at_eos = true;
}

const lc_tokenizer *lc_model_tokenizer(const lc_model *m) { return m ? m->tokenizer : NULL; }

typedef struct {
    lc_sampler *sampler;
    const lc_tokenizer *tok;  /* NULL: ids only                          */
    const lc_text_opts *o;
    int32_t prev;
    lc_text_result *r;        /* text and tokens, grown as they come     */
    size_t cap, tok_cap;
    size_t emitted;           /* bytes of text handed to on_piece        */
    bool stopped;
    lc_status st;             /* first failure inside a callback         */
} text_state;

static bool text_sample(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err) {
    (void)n_vocab;
    return lc_sampler_sample_inplace(((text_state *)user)->sampler, logits, token, err) == LC_OK;
}

bool lc_sample_with_sampler(void *sampler, float *logits, int32_t n_vocab, int32_t *token, lc_error *err) {
    (void)n_vocab;
    return lc_sampler_sample_inplace(sampler, logits, token, err) == LC_OK;
}

static bool text_append(text_state *s, const char *p, size_t n) {
    lc_text_result *r = s->r;
    if (r->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < r->len + n + 1) {
            if (cap > SIZE_MAX / 2) return false;
            cap *= 2;
        }
        char *t = realloc(r->text, cap);
        if (!t) return false;
        r->text = t;
        s->cap = cap;
    }
    memcpy(r->text + r->len, p, n);
    r->len += n;
    r->text[r->len] = '\0';
    return true;
}

/* Append id to the result's tokens: LC_OK, LC_ERR_NOMEM, or LC_ERR_TOO_LARGE
 * past LC_SESSION_MAX_TOKENS. */
static lc_status keep_token(text_state *s, int32_t id) {
    lc_text_result *r = s->r;
    if ((size_t)r->n_tokens == s->tok_cap) {
        if (r->n_tokens >= LC_SESSION_MAX_TOKENS) return LC_ERR_TOO_LARGE;
        const size_t cap = LC_MIN(LC_MAX(2 * s->tok_cap, (size_t)256), (size_t)LC_SESSION_MAX_TOKENS);
        int32_t *t = realloc(r->tokens, cap * sizeof *t);
        if (!t) return LC_ERR_NOMEM;
        r->tokens = t;
        s->tok_cap = cap;
    }
    r->tokens[r->n_tokens++] = id;
    return LC_OK;
}

size_t lc_utf8_incomplete_tail(const char *text, size_t len) {
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        const unsigned char c = (unsigned char)text[len - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte: look further back */
        size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

/* Bytes of a well-formed character starting at p[0..n), or 0 when p[0..k)
 * is ill-formed at byte k (*bad = k, 1 for a bad lead), or -1 when all n
 * bytes are the start of one not yet complete (Unicode table 3-7). */
static int utf8_char(const unsigned char *p, size_t n, size_t *bad) {
    const unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n) return -1;
        const unsigned b = p[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) {
            *bad = (size_t)k;
            return 0;
        }
    }
    return need;
}

size_t lc_utf8_repair(const char *in, size_t n, bool final, char *out, size_t *consumed) {
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, w = 0;
    while (i < n) {
        size_t bad = 0;
        const int len = utf8_char(p + i, n - i, &bad);
        if (len > 0) {
            memcpy(out + w, p + i, (size_t)len);
            w += (size_t)len;
            i += (size_t)len;
            continue;
        }
        if (len < 0) {
            if (!final) break; /* may still complete */
            bad = n - i;       /* cut short for good */
        }
        memcpy(out + w, "\xEF\xBF\xBD", 3);
        w += 3;
        i += bad;
    }
    if (consumed) *consumed = i;
    return w;
}

static bool emit(text_state *s, bool flush) {
    const lc_text_result *r = s->r;
    const size_t upto = r->len - (flush ? 0 : lc_utf8_incomplete_tail(r->text, r->len));
    if (upto > s->emitted && s->o->on_piece) {
        if (!s->o->on_piece(s->o->user, r->text + s->emitted, upto - s->emitted)) s->stopped = true;
    }
    if (upto > s->emitted) s->emitted = upto;
    return !s->stopped;
}

/* The token's text appended; a stop string it completes cuts the text after
 * it and ends generation. */
static bool decode_token(text_state *s, int32_t id) {
    char buf[256];
    const size_t from = s->r->len;
    size_t n = lc_tokenizer_decode_token(s->tok, s->prev, id, buf, sizeof buf);
    bool ok;
    if (n > sizeof buf) {
        char *big = malloc(n);
        ok = big != NULL;
        if (ok) {
            lc_tokenizer_decode_token(s->tok, s->prev, id, big, n);
            ok = text_append(s, big, n);
        }
        free(big);
    } else {
        ok = text_append(s, buf, n);
    }
    if (!ok) {
        s->st = LC_ERR_NOMEM;
        return false;
    }
    int which = -1;
    const int64_t at = lc_stop_find(s->r->text, s->r->len, from, s->o->stop, s->o->n_stop, &which);
    if (at >= 0) {
        s->r->len = (size_t)at + strlen(s->o->stop[which]);
        s->r->text[s->r->len] = '\0';
        s->r->stop_index = which;
        emit(s, true);
        return false;
    }
    return s->stopped || emit(s, false);
}

static bool text_token(void *user, int32_t id) {
    text_state *s = user;
    const lc_status kst = keep_token(s, id);
    if (kst != LC_OK) {
        s->st = kst;
        return false;
    }
    if (s->o->on_token && !s->o->on_token(s->o->token_user, id)) s->stopped = true;
    const bool go = !s->tok || decode_token(s, id);
    s->prev = id;
    return go && !s->stopped;
}

void lc_text_result_free(lc_text_result *r) {
    if (!r) return;
    free(r->text);
    free(r->tokens);
    memset(r, 0, sizeof *r);
    r->stop_index = -1;
}

static lc_status check_args(const lc_context *ctx, const int32_t *prompt, int64_t n_prompt, int64_t n_held,
                            const lc_text_opts *o, const lc_tokenizer *tok, lc_error *err) {
    if (!ctx || (n_prompt > 0 && !prompt) || n_prompt < 0 || n_held < 0 || n_held > n_prompt)
        return lc_fail(err, LC_ERR_INVALID_ARG, "generate_text: bad context or prompt");
    if (n_prompt == n_held && lc_context_n_past(ctx) == 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "generate_text: empty prompt in an empty context");
    if (o->n_stop > 0 && !tok)
        return lc_fail(err, LC_ERR_INVALID_ARG, "generate_text: stop strings match text: the model has no tokenizer");
    return lc_stops_validate(o->stop, o->n_stop, err);
}

static const char *describe(lc_status st) {
    return st == LC_ERR_TOO_LARGE ? "more generated tokens than a result keeps"
                                  : "out of memory while decoding the output";
}

lc_status lc_generate_text_tokens(lc_context *ctx, const int32_t *prompt, int64_t n_prompt, int64_t n_held,
                                  const lc_text_opts *opts, lc_text_result *out, lc_error *err) {
    lc_text_opts defaults;
    if (!opts) {
        lc_text_opts_init(&defaults);
        opts = &defaults;
    }
    memset(out, 0, sizeof *out);
    out->stop_index = -1;
    const lc_model *m = ctx ? lc_context_model(ctx) : NULL;
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    lc_status st = check_args(ctx, prompt, n_prompt, n_held, opts, tok, err);
    if (st != LC_OK) return st;
    text_state s = {.tok = tok, .o = opts, .prev = n_prompt > 0 ? prompt[n_prompt - 1] : -1, .r = out};
    if (!opts->sample && opts->sampler.temp > 0) {
        st = lc_sampler_create(&opts->sampler, m->cfg.vocab_size, &s.sampler, err);
        for (int64_t i = 0; st == LC_OK && i < n_prompt; i++) st = lc_sampler_accept(s.sampler, prompt[i], err);
    }
    if (st == LC_OK) {
        lc_generate_opts go;
        lc_generate_opts_init(&go);
        go.n_predict = opts->n_predict;
        go.eos_id = opts->stop_at_eos ? lc_model_eos(m) : -1;
        go.sample = opts->sample ? opts->sample : s.sampler ? text_sample : NULL;
        go.sample_user = opts->sample ? opts->sample_user : &s;
        go.on_token = text_token;
        go.token_user = &s;
        go.prefill = opts->prefill;
        go.prefill_user = opts->prefill_user;
        st = lc_generate(ctx, prompt + n_held, n_prompt - n_held, &go, NULL, 0, &out->gen, err);
        if (st == LC_OK && s.st != LC_OK) st = lc_fail(err, s.st, "generate_text: %s", describe(s.st));
        if (st == LC_OK && tok && !s.stopped && out->stop_index < 0) emit(&s, true);
    }
    lc_sampler_free(s.sampler);
    if (st == LC_OK && tok && !out->text && !(out->text = calloc(1, 1)))
        st = lc_fail(err, LC_ERR_NOMEM, "generate_text: out of memory");
    return st;
}

lc_status lc_generate_text(lc_context *ctx, const char *prompt, const lc_text_opts *opts, char **text,
                           lc_generate_result *res, lc_error *err) {
    if (text) *text = NULL;
    if (!ctx || !prompt) return lc_fail(err, LC_ERR_INVALID_ARG, "generate_text: NULL context or prompt");
    lc_text_opts defaults;
    if (!opts) {
        lc_text_opts_init(&defaults);
        opts = &defaults;
    }
    const lc_model *m = lc_context_model(ctx);
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    if (!tok)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "generate_text: the model carries no tokenizer longctx can use%s%.400s",
                       m && m->tokenizer_note[0] ? ": " : "", m ? m->tokenizer_note : "");
    const bool bos = opts->add_bos < 0 ? lc_tokenizer_add_bos(tok) : opts->add_bos != 0;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    lc_status st = lc_tokenizer_encode_alloc(tok, prompt, strlen(prompt), bos, &ids, &n_ids, err);
    if (st != LC_OK) return st;
    lc_text_result r;
    st = lc_generate_text_tokens(ctx, ids, n_ids, 0, opts, &r, err);
    free(ids);
    if (res) *res = r.gen;
    if (st == LC_OK && text) {
        *text = r.text;
        r.text = NULL;
    }
    lc_text_result_free(&r);
    return st;
}
