/* A generation's prompt as token ids (text.h): text encoded, ids parsed from
 * a list, BOS alone; the model's BOS and EOS with or without a tokenizer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/text.h"

int32_t lc_model_bos(const lc_model *m) {
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    return tok && lc_tokenizer_bos(tok) >= 0 ? lc_tokenizer_bos(tok) : 1;
}

int32_t lc_model_eos(const lc_model *m) {
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    if (tok) return lc_tokenizer_eos(tok);
    return m && strcmp(m->format, "llama2c") == 0 ? 2 : -1;
}

/* Every id in 0..n_vocab-1, else LC_ERR_INVALID_ARG naming the first outside. */
static lc_status check_vocab(const int32_t *ids, int64_t n, int32_t n_vocab, lc_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "prompt token %d is outside the vocabulary (0..%d)", ids[i],
                           n_vocab - 1);
    return LC_OK;
}

lc_status lc_tokens_parse(const char *s, int32_t n_vocab, int32_t **ids, int64_t *n, lc_error *err) {
    *ids = NULL;
    *n = 0;
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "token ids: none given");
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *out = malloc(cap * sizeof *out);
    if (!out) return lc_fail(err, LC_ERR_NOMEM, "token ids: out of memory for %zu ids", cap);
    int64_t k = 0;
    bool bad = false;
    while (*s && !bad) {
        char *end;
        errno = 0;
        const long v = strtol(s, &end, 10);
        bad = errno || end == s || v < 0 || v > INT32_MAX || (*end && *end != ',') || (*end == ',' && !end[1]);
        if (!bad) out[k++] = (int32_t)v;
        s = *end ? end + 1 : end;
    }
    lc_status st = bad || k == 0 ? lc_fail(err, LC_ERR_INVALID_ARG, "expected comma-separated non-negative ids")
                                : check_vocab(out, k, n_vocab, err);
    if (st != LC_OK) {
        free(out);
        return st;
    }
    *ids = out;
    *n = k;
    return LC_OK;
}

lc_status lc_text_prompt_tokens(const lc_model *m, const char *text, size_t len, int add_bos, int32_t **ids,
                                int64_t *n, lc_error *err) {
    *ids = NULL;
    *n = 0;
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "prompt: no model");
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    if (len > 0) {
        if (!tok)
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "the model has no tokenizer to encode the prompt text (give the prompt as token ids)");
        const bool bos = add_bos < 0 ? lc_tokenizer_add_bos(tok) : add_bos != 0;
        const lc_status st = lc_tokenizer_encode_alloc(tok, text, len, bos, ids, n, err);
        if (st != LC_OK) return st;
    }
    if (*n == 0) { /* no prompt: start from BOS */
        free(*ids);
        if (!(*ids = malloc(sizeof **ids))) return lc_fail(err, LC_ERR_NOMEM, "prompt: out of memory");
        (*ids)[0] = lc_model_bos(m);
        *n = 1;
    }
    const lc_status st = check_vocab(*ids, *n, m->cfg.vocab_size, err);
    if (st != LC_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return st;
}
