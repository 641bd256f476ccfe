/*
 * Decoding: the bytes each token stands for are computed once, when the
 * tokenizer is built, so decoding is a copy per token.
 *
 *   SPM  normal / user-defined  piece with "▁" -> ' '
 *        byte "<0xNN>"          the byte NN
 *   BPE  normal                 GPT-2 characters -> bytes ("Ġ" -> ' ')
 *        user-defined           piece as is
 *   both control                nothing
 *        unknown                "▅" (U+2585), as llama.cpp shows it
 *
 * SPM with add_space_prefix drops the leading space of the first token of
 * a text (prev_id -1, or right after BOS): the space encode put in front.
 * A piece may end in the middle of a UTF-8 character (byte tokens, GPT-2
 * tokens): decode_token returns the bytes as they are, and a caller that
 * prints as it goes concatenates them.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

static const char UNK_MARK[3] = {'\xE2', '\x96', '\x85'};

/* Decoded bytes of token id into out (NULL: just count); returns the length. */
static size_t decode_piece(const lc_tokenizer *t, int32_t id, char *out) {
    const char *p = lc_tok_strtab_str(&t->sym, id);
    size_t n = t->sym.len[id], w = 0;
    int32_t ty = t->types[id];
    if (ty == LC_TOKEN_CONTROL) return 0;
    if (ty == LC_TOKEN_UNKNOWN) {
        if (out) memcpy(out, UNK_MARK, 3);
        return 3;
    }
    if (ty == LC_TOKEN_BYTE) {
        int b = lc_tok_parse_byte_piece(p, n);
        if (b >= 0) {
            if (out) out[0] = (char)b;
            return 1;
        }
    }
    if (t->kind == LC_TOKENIZER_SPM || (t->escape_spaces && ty != LC_TOKEN_USER_DEFINED)) {
        for (size_t i = 0; i < n;) {
            if (i + 3 <= n && memcmp(p + i, "\xE2\x96\x81", 3) == 0) {
                if (out) out[w] = ' ';
                w++, i += 3;
            } else {
                if (out) out[w] = p[i];
                w++, i++;
            }
        }
        return w;
    }
    if (ty == LC_TOKEN_USER_DEFINED) {
        if (out) memcpy(out, p, n);
        return n;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = lc_tok_utf8_decode((const unsigned char *)p + i, n - i, &cp);
        int b = cp == LC_TOK_UNI_INVALID ? -1 : lc_tok_gpt2_cp_to_byte(cp);
        if (b >= 0) {
            if (out) out[w] = (char)b;
            w++;
        } else { /* not a GPT-2 byte character: keep it */
            if (out) memcpy(out + w, p + i, l);
            w += l;
        }
        i += l;
    }
    return w;
}

lc_status lc_tok_build_decoder(lc_tokenizer *t, lc_error *err) {
    t->dec_off = malloc(((size_t)t->n_vocab + 1) * sizeof *t->dec_off);
    if (!t->dec_off) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for the decoder");
    size_t total = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        t->dec_off[id] = total;
        total += decode_piece(t, id, NULL); /* <= 3 + piece length: no overflow */
    }
    t->dec_off[t->n_vocab] = total;
    t->dec = malloc(total ? total : 1);
    if (!t->dec) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for the decoder");
    for (int32_t id = 0; id < t->n_vocab; id++) decode_piece(t, id, t->dec + t->dec_off[id]);
    return LC_OK;
}

/* The decoded bytes of id after prev_id, without copying. */
static const char *token_bytes(const lc_tokenizer *t, int32_t prev_id, int32_t id, size_t *n) {
    const char *s = t->dec + t->dec_off[id];
    *n = t->dec_off[id + 1] - t->dec_off[id];
    if (t->kind == LC_TOKENIZER_SPM && t->add_space_prefix && (prev_id < 0 || prev_id == t->bos_id) && *n > 0 &&
        s[0] == ' ')
        s++, (*n)--;
    return s;
}

size_t lc_tokenizer_decode_token(const lc_tokenizer *t, int32_t prev_id, int32_t id, char *buf, size_t cap) {
    if (!t || id < 0 || id >= t->n_vocab) return 0;
    size_t n;
    const char *s = token_bytes(t, prev_id, id, &n);
    if (buf && cap && n) memcpy(buf, s, LC_MIN(n, cap));
    return n;
}

lc_status lc_tokenizer_decode(const lc_tokenizer *t, const int32_t *ids, int64_t n, char *buf, size_t cap,
                              size_t *len, lc_error *err) {
    if (len) *len = 0;
    if (!t || !len || n < 0 || (!ids && n > 0) || (!buf && cap > 0))
        return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_decode: NULL or negative argument");
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: token %lld is id %d, outside the vocabulary of %d",
                           (long long)i, ids[i], t->n_vocab);
        size_t k;
        token_bytes(t, i > 0 ? ids[i - 1] : -1, ids[i], &k);
        total += k; /* a real text cannot overflow: n tokens of <= 64 KiB each */
    }
    *len = total;
    if (total > cap) {
        if (buf && cap) buf[0] = '\0';
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: decoded text is %zu bytes, buffer holds %zu", total, cap);
    }
    size_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t k;
        const char *s = token_bytes(t, i > 0 ? ids[i - 1] : -1, ids[i], &k);
        if (k) memcpy(buf + w, s, k); /* buf may be NULL when everything decodes to nothing */
        w += k;
    }
    if (w < cap) buf[w] = '\0';
    return LC_OK;
}
