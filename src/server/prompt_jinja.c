/* Chat prompts rendered with the model's own Jinja chat template
 * (tokenizer.chat_template, include/longctx/jinja.h), then tokenized with the
 * vocabulary's special tokens parsed as tokens — in the text the template
 * writes, never in the messages' contents.
 *
 * How: the messages are rendered as they are (the template sees the real
 * contents). The text is cut at the special-token pieces (control and
 * user-defined tokens, longest match first) and each run between them is
 * encoded as plain text (a run that mixes template text and a content is one
 * text, as llama.cpp tokenizes it). When no content holds a special piece that
 * is all. When one does, the conversation is rendered a second time with each
 * non-empty content replaced by a unique marker ("\x1eLC<i>\x1e"); every
 * marker must appear once, in order, and putting the contents back must give
 * the first render byte for byte. Then the contents' byte ranges are known
 * and no special piece is parsed inside them: a user's "<|im_end|>" stays
 * text. When the two renders differ (the template's text depends on the
 * contents, or it trims, moves or drops one) the request fails here and the
 * caller falls back to the built-in template, which never parses contents.
 * (A BPE vocabulary's user-defined tokens are still matched inside plain text
 * by lc_tokenizer_encode itself, as Hugging Face does.) */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/jinja.h"
#include "server/server_internal.h"

#define MARK_CH '\x1e'

struct srv_specials {
    /* per first byte: token ids, longest piece first */
    int32_t *ids[256];
    int n[256];
};

void srv_jinja_free(lc_server *s) {
    lc_jinja_free(s->jinja);
    s->jinja = NULL;
    if (s->specials)
        for (int b = 0; b < 256; b++) free(s->specials->ids[b]);
    free(s->specials);
    s->specials = NULL;
    free(s->bos_piece);
    free(s->eos_piece);
    s->bos_piece = s->eos_piece = NULL;
}

static char *piece_dup(const lc_tokenizer *tok, int32_t id) {
    if (id < 0) return NULL;
    size_t n = 0;
    const char *p = lc_tokenizer_piece(tok, id, &n);
    char *c = p ? malloc(n + 1) : NULL;
    if (c) {
        memcpy(c, p, n);
        c[n] = '\0';
    }
    return c;
}

lc_status srv_jinja_load(lc_server *s, const char *src, size_t len, lc_error *err) {
    const lc_tokenizer *tok = s->model->tokenizer;
    lc_status st = lc_jinja_compile(src, len, NULL, &s->jinja, err);
    if (st != LC_OK) return st;
    if (!(s->specials = calloc(1, sizeof *s->specials))) goto nomem;
    const int32_t nv = lc_tokenizer_n_vocab(tok);
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t id = 0; id < nv; id++) {
            const int32_t ty = lc_tokenizer_type(tok, id);
            if (ty != LC_TOKEN_CONTROL && ty != LC_TOKEN_USER_DEFINED) continue;
            size_t pl = 0;
            const char *p = lc_tokenizer_piece(tok, id, &pl);
            if (!p || pl == 0) continue;
            const unsigned char b = (unsigned char)p[0];
            if (pass == 1) s->specials->ids[b][s->specials->n[b]] = id;
            s->specials->n[b]++;
        }
        if (pass == 0)
            for (int b = 0; b < 256; b++) {
                if (s->specials->n[b] && !(s->specials->ids[b] = malloc((size_t)s->specials->n[b] * sizeof(int32_t))))
                    goto nomem;
                s->specials->n[b] = 0;
            }
    }
    /* longest first (insertion sort: the lists are short except for vocabularies
     * with many unused markers, and this runs once) */
    for (int b = 0; b < 256; b++) {
        int32_t *a = s->specials->ids[b];
        for (int i = 1; i < s->specials->n[b]; i++) {
            const int32_t x = a[i];
            size_t lx = 0;
            lc_tokenizer_piece(tok, x, &lx);
            int k = i - 1;
            for (; k >= 0; k--) {
                size_t lk = 0;
                lc_tokenizer_piece(tok, a[k], &lk);
                if (lk >= lx) break;
                a[k + 1] = a[k];
            }
            a[k + 1] = x;
        }
    }
    s->bos_piece = piece_dup(tok, lc_tokenizer_bos(tok));
    s->eos_piece = piece_dup(tok, lc_tokenizer_eos(tok));
    return LC_OK;
nomem:
    srv_jinja_free(s);
    return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
}

typedef struct {
    size_t at, len; /* a content's bytes in the final text */
} span;

/* Append n bytes to a growing buffer. */
static bool buf_add(char **b, size_t *len, size_t *cap, const char *p, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n + 1) c *= 2;
        char *t = realloc(*b, c);
        if (!t) return false;
        *b = t;
        *cap = c;
    }
    memcpy(*b + *len, p, n);
    *len += n;
    (*b)[*len] = '\0';
    return true;
}

/* Whether text[0, len) holds a special piece. */
static bool has_special(const lc_server *s, const char *text, size_t len) {
    const lc_tokenizer *tok = s->model->tokenizer;
    for (size_t pos = 0; pos < len; pos++) {
        const unsigned char c0 = (unsigned char)text[pos];
        for (int i = 0; i < s->specials->n[c0]; i++) {
            size_t pl = 0;
            const char *p = lc_tokenizer_piece(tok, s->specials->ids[c0][i], &pl);
            if (pl <= len - pos && memcmp(text + pos, p, pl) == 0) return true;
        }
    }
    return false;
}

static lc_status render_list(lc_server *s, lc_jinja_value *list, char **out, size_t *len, lc_error *err) {
    lc_jinja_value *ctx = lc_jinja_chat_context(list, true, s->bos_piece, s->eos_piece, NULL);
    if (!ctx) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    lc_jinja_limits lim;
    lc_jinja_limits_init(&lim);
    lim.max_output = s->o.max_body * 4 + ((size_t)1 << 20);
    lc_status st = lc_jinja_render(s->jinja, ctx, &lim, out, len, err);
    lc_jv_free(ctx);
    return st;
}

/* The marker render with the contents put back: *out, and their spans. */
static lc_status substitute(const char *r, size_t rl, char *const *texts, int n, char **out, size_t *out_len, span *sp,
                            int *n_sp, lc_error *err) {
    char *b = NULL;
    size_t bl = 0, bc = 0;
    int nsp = 0, next = 0; /* markers must come in order, each once */
    size_t from = 0;
    lc_status st = LC_OK;
    while (st == LC_OK) {
        const char *q = memchr(r + from, MARK_CH, rl - from);
        if (!q) {
            if (!buf_add(&b, &bl, &bc, r + from, rl - from)) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
            break;
        }
        const size_t at = (size_t)(q - r);
        int idx = -1, used = 0;
        if (sscanf(q + 1, "LC%d%n", &idx, &used) != 1 || idx < 0 || idx >= n || at + 1 + (size_t)used >= rl ||
            q[1 + used] != MARK_CH) {
            st = lc_fail(err, LC_ERR_FORMAT, "the rendered template holds a stray marker byte");
            break;
        }
        while (next < n && !texts[next][0]) next++;
        if (idx != next) {
            st = lc_fail(err, LC_ERR_FORMAT, "the template moves or repeats messages[%d]'s content", idx);
            break;
        }
        next++;
        if (!buf_add(&b, &bl, &bc, r + from, at - from)) {
            st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
            break;
        }
        sp[nsp].at = bl;
        sp[nsp].len = strlen(texts[idx]);
        nsp++;
        if (!buf_add(&b, &bl, &bc, texts[idx], strlen(texts[idx]))) {
            st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
            break;
        }
        from = at + 2 + (size_t)used;
    }
    if (st == LC_OK) {
        while (next < n && !texts[next][0]) next++;
        if (next < n) st = lc_fail(err, LC_ERR_FORMAT, "the template drops messages[%d]'s content", next);
    }
    if (st != LC_OK) {
        free(b);
        return st;
    }
    *out = b;
    *out_len = bl;
    *n_sp = nsp;
    return LC_OK;
}

lc_status srv_jinja_render(lc_server *s, const cJSON *msgs, char **out, size_t *out_len, void **spans_out,
                           int *n_spans_out, bool *bad_request, lc_error *err) {
    *out = NULL;
    *out_len = 0;
    if (spans_out) *spans_out = NULL;
    if (n_spans_out) *n_spans_out = 0;
    *bad_request = false;
    const int n = cJSON_GetArraySize(msgs);
    char **texts = calloc((size_t)(n > 0 ? n : 1), sizeof *texts);
    const char **roles = calloc((size_t)(n > 0 ? n : 1), sizeof *roles);
    lc_jinja_value *list = lc_jv_list();
    lc_status st = texts && roles && list ? LC_OK : lc_fail(err, LC_ERR_NOMEM, "out of memory");
    bool specials_in_content = false;
    const cJSON *m = msgs ? msgs->child : NULL; /* walked in order: GetArrayItem(i) would be quadratic */
    for (int i = 0; st == LC_OK && i < n && m; i++, m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            *bad_request = true;
            st = lc_fail(err, LC_ERR_INVALID_ARG, "messages[%d] must be an object with a string 'role'", i);
            break;
        }
        const char *r = role->valuestring;
        if (!strcmp(r, "developer")) r = "system";
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")) {
            *bad_request = true;
            st = lc_fail(err, LC_ERR_INVALID_ARG,
                         "messages[%d].role '%.40s' is not supported (system, developer, user, assistant)", i, r);
            break;
        }
        roles[i] = r;
        if (!srv_content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &texts[i])) {
            *bad_request = true;
            st = lc_fail(err, LC_ERR_INVALID_ARG, "messages[%d].content must be a string or an array of text parts", i);
            break;
        }
        specials_in_content = specials_in_content || has_special(s, texts[i], strlen(texts[i]));
        st = lc_jv_list_push(list, lc_jv_message(r, texts[i], strlen(texts[i])));
        if (st != LC_OK) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    }
    char *r = NULL;
    size_t rl = 0;
    if (st == LC_OK) {
        st = render_list(s, list, &r, &rl, err);
        list = NULL;
    }
    lc_jv_free(list);
    span *sp = NULL;
    int nsp = 0;
    if (st == LC_OK && specials_in_content && spans_out) {
        /* find where the contents are: the same render with markers for the
         * contents must give the same text once they are put back */
        lc_jinja_value *ml = lc_jv_list();
        st = ml ? LC_OK : lc_fail(err, LC_ERR_NOMEM, "out of memory");
        for (int i = 0; st == LC_OK && i < n; i++) {
            char mark[32];
            snprintf(mark, sizeof mark, "%cLC%d%c", MARK_CH, i, MARK_CH);
            st = lc_jv_list_push(ml, lc_jv_message(roles[i], texts[i][0] ? mark : "", texts[i][0] ? strlen(mark) : 0));
            if (st != LC_OK) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
        }
        char *mr = NULL, *sub = NULL;
        size_t mrl = 0, subl = 0;
        if (st == LC_OK) {
            st = render_list(s, ml, &mr, &mrl, err);
            ml = NULL;
        }
        lc_jv_free(ml);
        if (st == LC_OK && !(sp = calloc((size_t)n, sizeof *sp))) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
        if (st == LC_OK) st = substitute(mr, mrl, texts, n, &sub, &subl, sp, &nsp, err);
        if (st == LC_OK && (subl != rl || memcmp(sub, r, rl) != 0))
            st = lc_fail(err, LC_ERR_FORMAT, "the template's text depends on the contents");
        if (st != LC_OK) {
            char why[256];
            snprintf(why, sizeof why, "%.200s", err->msg);
            st = lc_fail(err, LC_ERR_FORMAT,
                         "a message holds special-token text and the template's render does not show where the contents "
                         "are (%.200s), so they could not be kept as text",
                         why);
        }
        free(mr);
        free(sub);
    }
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(roles);
    if (st != LC_OK) {
        free(r);
        free(sp);
        return st;
    }
    *out = r;
    *out_len = rl;
    if (spans_out) {
        *spans_out = sp;
        *n_spans_out = nsp;
    } else {
        free(sp);
    }
    return LC_OK;
}

/* Encode text[a, b) as plain text and append. */
static lc_status encode_run(const lc_tokenizer *tok, const char *text, size_t a, size_t b, int32_t **ids, int64_t *n,
                            int64_t *cap, lc_error *err) {
    if (b <= a) return LC_OK;
    int64_t need = 0;
    lc_status st = lc_tokenizer_encode(tok, text + a, b - a, false, NULL, 0, &need, err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return st;
    if (*n + need > *cap) {
        int64_t c = *cap ? *cap : 256;
        while (c < *n + need) c *= 2;
        int32_t *t = realloc(*ids, (size_t)c * sizeof *t);
        if (!t) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
        *ids = t;
        *cap = c;
    }
    int64_t got = 0;
    st = lc_tokenizer_encode(tok, text + a, b - a, false, *ids + *n, need, &got, err);
    if (st == LC_OK) *n += got;
    return st;
}

static lc_status push_id(int32_t id, int32_t **ids, int64_t *n, int64_t *cap, lc_error *err) {
    if (*n + 1 > *cap) {
        int64_t c = *cap ? *cap * 2 : 256;
        int32_t *t = realloc(*ids, (size_t)c * sizeof *t);
        if (!t) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
        *ids = t;
        *cap = c;
    }
    (*ids)[(*n)++] = id;
    return LC_OK;
}

lc_status srv_jinja_tokenize(lc_server *s, const char *text, size_t len, const void *spans_v, int n_spans,
                             int32_t **ids_out, int64_t *n_out, lc_error *err) {
    const lc_tokenizer *tok = s->model->tokenizer;
    const span *spans = spans_v;
    int32_t *ids = NULL;
    int64_t n = 0, cap = 0;
    lc_status st = LC_OK;
    size_t run = 0, pos = 0;
    int k = 0; /* next content span */
    while (st == LC_OK && pos < len) {
        if (k < n_spans && pos >= spans[k].at) { /* inside a content: plain text */
            pos = spans[k].at + spans[k].len;
            k++;
            continue;
        }
        const size_t limit = k < n_spans ? spans[k].at : len; /* a special must end before the next content */
        const unsigned char c0 = (unsigned char)text[pos];
        int32_t hit = -1;
        size_t hl = 0;
        for (int i = 0; i < s->specials->n[c0]; i++) {
            size_t pl = 0;
            const char *p = lc_tokenizer_piece(tok, s->specials->ids[c0][i], &pl);
            if (pl <= limit - pos && memcmp(text + pos, p, pl) == 0) {
                hit = s->specials->ids[c0][i];
                hl = pl;
                break;
            }
        }
        if (hit < 0) {
            pos++;
            continue;
        }
        st = encode_run(tok, text, run, pos, &ids, &n, &cap, err);
        if (st == LC_OK) st = push_id(hit, &ids, &n, &cap, err);
        pos += hl;
        run = pos;
    }
    if (st == LC_OK) st = encode_run(tok, text, run, len, &ids, &n, &cap, err);
    const int32_t bos = lc_tokenizer_bos(tok);
    if (st == LC_OK && lc_tokenizer_add_bos(tok) && bos >= 0 && (n == 0 || ids[0] != bos)) {
        st = push_id(bos, &ids, &n, &cap, err);
        if (st == LC_OK) {
            memmove(ids + 1, ids, (size_t)(n - 1) * sizeof *ids);
            ids[0] = bos;
        }
    }
    if (st != LC_OK) {
        free(ids);
        return st;
    }
    *ids_out = ids;
    *n_out = n;
    return LC_OK;
}
