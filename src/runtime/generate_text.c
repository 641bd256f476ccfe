/* lc_generate_text: tokenize, generate with a sampler chain, detokenize and
 * stream whole UTF-8 characters to the caller. */
#include <stdlib.h>
#include <string.h>

#include "longctx/text.h"

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
    const lc_tokenizer *tok;
    const lc_text_opts *o;
    int32_t prev;
    char *text;        /* everything decoded so far (when wanted) */
    size_t len, cap;
    size_t emitted;    /* bytes of text handed to on_piece        */
    bool keep_text;
    bool stopped;
    lc_status st;      /* first failure inside a callback         */
} text_state;

static bool text_sample(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err) {
    (void)n_vocab;
    return lc_sampler_sample_inplace(((text_state *)user)->sampler, logits, token, err) == LC_OK;
}

static bool text_append(text_state *s, const char *p, size_t n) {
    if (n == 0) return true;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 1) {
            if (cap > SIZE_MAX / 2) return false;
            cap *= 2;
        }
        char *t = realloc(s->text, cap);
        if (!t) return false;
        s->text = t;
        s->cap = cap;
    }
    memcpy(s->text + s->len, p, n);
    s->len += n;
    s->text[s->len] = '\0';
    return true;
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
    size_t upto = s->len - (flush ? 0 : lc_utf8_incomplete_tail(s->text, s->len));
    if (upto > s->emitted && s->o->on_piece) {
        if (!s->o->on_piece(s->o->user, s->text + s->emitted, upto - s->emitted)) s->stopped = true;
    }
    if (upto > s->emitted) s->emitted = upto;
    return !s->stopped;
}

static bool text_token(void *user, int32_t id) {
    text_state *s = user;
    char buf[256];
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
    s->prev = id;
    if (!ok) {
        s->st = LC_ERR_NOMEM;
        return false;
    }
    return emit(s, false);
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

    const size_t plen = strlen(prompt);
    const bool bos = opts->add_bos < 0 ? lc_tokenizer_add_bos(tok) : opts->add_bos != 0;
    int64_t need = 0;
    lc_status st = lc_tokenizer_encode(tok, prompt, plen, bos, NULL, 0, &need, err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return st;
    int32_t *ids = malloc((size_t)(need > 0 ? need : 1) * sizeof *ids);
    if (!ids) return lc_fail(err, LC_ERR_NOMEM, "generate_text: out of memory for %lld prompt tokens", (long long)need);
    int64_t n_ids = 0;
    st = lc_tokenizer_encode(tok, prompt, plen, bos, ids, need, &n_ids, err);
    if (st == LC_OK && n_ids == 0 && lc_context_n_past(ctx) == 0)
        st = lc_fail(err, LC_ERR_INVALID_ARG, "generate_text: empty prompt in an empty context");

    text_state s = {.tok = tok, .o = opts, .prev = n_ids > 0 ? ids[n_ids - 1] : -1, .keep_text = text != NULL};
    if (st == LC_OK) st = lc_sampler_create(&opts->sampler, m->cfg.vocab_size, &s.sampler, err);
    for (int64_t i = 0; st == LC_OK && i < n_ids; i++) st = lc_sampler_accept(s.sampler, ids[i], err);

    lc_generate_result r;
    memset(&r, 0, sizeof r);
    if (st == LC_OK) {
        lc_generate_opts go;
        lc_generate_opts_init(&go);
        go.n_predict = opts->n_predict;
        go.eos_id = opts->stop_at_eos ? lc_tokenizer_eos(tok) : -1;
        go.sample = opts->sampler.temp > 0 ? text_sample : NULL;
        go.sample_user = &s;
        go.on_token = text_token;
        go.token_user = &s;
        st = lc_generate(ctx, ids, n_ids, &go, NULL, 0, &r, err);
        if (st == LC_OK && s.st != LC_OK)
            st = lc_fail(err, s.st, "generate_text: out of memory while decoding the output");
        if (st == LC_OK && !s.stopped) emit(&s, true);
    }
    free(ids);
    lc_sampler_free(s.sampler);
    if (res) *res = r;
    if (st != LC_OK || !text) {
        free(s.text);
        return st;
    }
    if (!s.text) {
        s.text = calloc(1, 1);
        if (!s.text) return lc_fail(err, LC_ERR_NOMEM, "generate_text: out of memory");
    }
    *text = s.text;
    return LC_OK;
}
