/*
 * lc_tokenizer: building one from a description (validating every array),
 * the accessors, and encode, which dispatches to spm.c / bpe.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"
#include "tokenizer/word_cache.h"

/* ---- small helpers shared by the encoders -------------------------------- */

int lc_tok_parse_byte_piece(const char *s, size_t len) {
    if (len != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
 * the other 68 (0-32, 127-160, 173) for U+0100.. U+0143 in byte order. */
uint32_t lc_tok_gpt2_byte_to_cp(uint8_t b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256u + b;
    if (b <= 160) return 162u + b; /* 127..160 -> 289..322 */
    return 323;                    /* 173 */
}

int lc_tok_gpt2_cp_to_byte(uint32_t cp) {
    if (cp < 256) return ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || cp >= 174) ? (int)cp : -1;
    if (cp <= 288) return (int)(cp - 256);
    if (cp <= 322) return (int)(cp - 162);
    if (cp == 323) return 173;
    return -1;
}

lc_status lc_tok_emit_bytes(const lc_tokenizer *t, const unsigned char *s, size_t len, lc_tok_out *o, lc_error *err) {
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_tok[s[i]];
        if (id < 0) id = t->unk_id;
        if (id < 0)
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "tokenizer: cannot encode byte 0x%02X: the vocabulary has no token for it and no unknown token",
                           s[i]);
        lc_tok_push(o, id);
    }
    return LC_OK;
}

/* ---- create -------------------------------------------------------------- */

static lc_status check_id(int32_t id, int32_t n_vocab, const char *what, lc_error *err) {
    if (id < -1 || id >= n_vocab)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: %s id %d is outside the vocabulary of %d", what, id, n_vocab);
    return LC_OK;
}

static size_t piece_len(const lc_tokenizer_desc *d, int64_t i) {
    return d->piece_lens ? d->piece_lens[i] : strlen(d->pieces[i]);
}

static size_t merge_len(const lc_tokenizer_desc *d, int64_t i) {
    return d->merge_lens ? d->merge_lens[i] : strlen(d->merges[i]);
}

/* BPE merges: a sane count, each "left right" with both halves non-empty. */
static lc_status validate_merges(const lc_tokenizer_desc *d, size_t *merge_bytes, lc_error *err) {
    if (d->n_merges < 0 || d->n_merges > LC_TOK_MAX_MERGES)
        return lc_fail(err, d->n_merges < 0 ? LC_ERR_INVALID_ARG : LC_ERR_TOO_LARGE, "tokenizer: %lld merges (limit %d)",
                       (long long)d->n_merges, LC_TOK_MAX_MERGES);
    if (d->n_merges > 0 && !d->merges) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: n_merges > 0 but no merges");
    size_t total = 0;
    for (int64_t i = 0; i < d->n_merges; i++) {
        if (!d->merges[i]) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: merge %lld is NULL", (long long)i);
        size_t l = merge_len(d, i);
        if (l > 2 * LC_TOK_MAX_PIECE + 1)
            return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: merge %lld is %zu bytes long", (long long)i, l);
        /* "left right": split at the first space after the first byte (a left
         * half may itself start with a space). */
        const char *sp = l > 1 ? memchr(d->merges[i] + 1, ' ', l - 1) : NULL;
        if (!sp || (size_t)(sp - d->merges[i]) + 1 >= l)
            return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: merge %lld is not \"left right\"", (long long)i);
        total += l;
    }
    *merge_bytes = total;
    return LC_OK;
}

static lc_status validate_desc(const lc_tokenizer_desc *d, size_t *piece_bytes, size_t *merge_bytes, lc_error *err) {
    if (d->kind != LC_TOKENIZER_SPM && d->kind != LC_TOKENIZER_BPE)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: unknown kind %d", (int)d->kind);
    if (d->n_vocab <= 0) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: vocabulary size %d", d->n_vocab);
    if (d->n_vocab > LC_TOK_MAX_VOCAB)
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: vocabulary of %d tokens (limit %d)", d->n_vocab, LC_TOK_MAX_VOCAB);
    if (!d->pieces) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: no pieces");
    size_t total = 0;
    for (int32_t i = 0; i < d->n_vocab; i++) {
        if (!d->pieces[i]) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: piece %d is NULL", i);
        size_t l = piece_len(d, i);
        if (l > LC_TOK_MAX_PIECE)
            return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: piece %d is %zu bytes long (limit %zu)", i, l, LC_TOK_MAX_PIECE);
        total += l; /* <= 2^24 * 2^16: no overflow */
        if (d->scores && isnan(d->scores[i])) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: score of token %d is NaN", i);
        if (d->types && (d->types[i] < LC_TOKEN_UNDEFINED || d->types[i] > LC_TOKEN_BYTE))
            return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: token %d has type %d (valid: 0..6)", i, d->types[i]);
    }
    *piece_bytes = total;
    lc_status st;
    if ((st = check_id(d->bos_id, d->n_vocab, "BOS", err)) != LC_OK || (st = check_id(d->eos_id, d->n_vocab, "EOS", err)) != LC_OK ||
        (st = check_id(d->unk_id, d->n_vocab, "unknown-token", err)) != LC_OK ||
        (st = check_id(d->pad_id, d->n_vocab, "padding", err)) != LC_OK)
        return st;
    *merge_bytes = 0;
    if (d->kind == LC_TOKENIZER_BPE && (st = validate_merges(d, merge_bytes, err)) != LC_OK) return st;
    if (d->pre && strlen(d->pre) >= LC_TOK_MAX_PRE_NAME)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: pre-tokenizer name longer than %d bytes", LC_TOK_MAX_PRE_NAME - 1);
    lc_pre_kind pk;
    if (d->kind == LC_TOKENIZER_BPE && d->pre && !lc_tok_pre_from_name(d->pre, &pk))
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "tokenizer: pre-tokenizer \"%s\" is not implemented (longctx has %s); refused rather than "
                       "splitting the text some other way",
                       d->pre, lc_tok_pre_known_names());
    return LC_OK;
}

static int32_t default_type(const lc_tokenizer_desc *d, int32_t i, const char *s, size_t len) {
    if (i == d->unk_id) return LC_TOKEN_UNKNOWN;
    if (i == d->bos_id || i == d->eos_id || i == d->pad_id) return LC_TOKEN_CONTROL;
    if (d->kind == LC_TOKENIZER_SPM && lc_tok_parse_byte_piece(s, len) >= 0) return LC_TOKEN_BYTE;
    return LC_TOKEN_NORMAL;
}

/* SPM and Gemma 4: byte b falls back to the piece "<0xNN>". */
static void byte_pieces(lc_tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = lc_tok_strtab_find(&t->sym, name, 6);
        t->byte_sym[b] = -1;
    }
}

/* Gemma 4: the character pairs merges can join (see lc_tokenizer.bigrams). */
static lc_status build_merge_bigrams(lc_tokenizer *t, const lc_tokenizer_desc *d, lc_error *err) {
    lc_status st = lc_tok_bigrams_alloc(t, (size_t)d->n_merges, err);
    for (int64_t i = 0; st == LC_OK && i < d->n_merges; i++) {
        const unsigned char *m = (const unsigned char *)d->merges[i];
        size_t l = merge_len(d, i), ll = (size_t)((const unsigned char *)memchr(m + 1, ' ', l - 1) - m);
        size_t a = 0; /* start of the left half's last character, cut as the encoder cuts */
        for (size_t u = 0; u < ll; u += lc_tok_utf8_unit_len(m + u, ll - u)) a = u;
        size_t bl = lc_tok_utf8_unit_len(m + ll + 1, l - ll - 1);
        lc_tok_bigram_add(t, lc_tok_unit_key((const char *)m + a, ll - a), lc_tok_unit_key((const char *)m + ll + 1, bl));
    }
    return st;
}

static lc_status build_bpe_tables(lc_tokenizer *t, const lc_tokenizer_desc *d, lc_error *err) {
    lc_status st;
    char ch[4];
    if (t->byte_encode) {
        for (int b = 0; b < 256; b++) {
            size_t l = lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp((uint8_t)b), ch);
            int32_t id = lc_tok_strtab_find(&t->sym, ch, l);
            t->byte_tok[b] = id;
            if ((st = lc_tok_strtab_intern(&t->sym, ch, l, &t->byte_sym[b], err)) != LC_OK) return st;
        }
    } else {
        byte_pieces(t);
    }
    if ((st = lc_tok_pairmap_init(&t->merge_map, d->n_merges, err)) != LC_OK) return st;
    char *buf = malloc(2 * LC_TOK_MAX_PIECE + 2);
    if (!buf) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory");
    for (int64_t i = 0; i < d->n_merges; i++) {
        const char *m = d->merges[i];
        size_t l = merge_len(d, i);
        int32_t mid;
        if ((st = lc_tok_strtab_add(&t->merges, m, l, &mid, err)) != LC_OK) break;
        size_t ll = (size_t)((const char *)memchr(m + 1, ' ', l - 1) - m), rl = l - ll - 1;
        int32_t left, right, res;
        memcpy(buf, m, ll);
        memcpy(buf + ll, m + ll + 1, rl);
        if ((st = lc_tok_strtab_intern(&t->sym, m, ll, &left, err)) != LC_OK ||
            (st = lc_tok_strtab_intern(&t->sym, m + ll + 1, rl, &right, err)) != LC_OK ||
            (st = lc_tok_strtab_intern(&t->sym, buf, ll + rl, &res, err)) != LC_OK)
            break;
        lc_tok_pairmap_put(&t->merge_map, left, right, (int32_t)i, res);
    }
    free(buf);
    if (st == LC_OK && !t->byte_encode) st = build_merge_bigrams(t, d, err);
    return st;
}

lc_status lc_tokenizer_create(const lc_tokenizer_desc *d, lc_tokenizer **out, lc_error *err) {
    if (!d || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_create: NULL argument");
    *out = NULL;
    size_t piece_bytes = 0, merge_bytes = 0;
    lc_status st = validate_desc(d, &piece_bytes, &merge_bytes, err);
    if (st != LC_OK) return st;

    /* Refuse what would not fit before allocating: pieces twice (table and
     * decoder), ~64 bytes of arrays and hash slots per token and per merge. */
    int64_t n_merges = d->kind == LC_TOKENIZER_BPE ? d->n_merges : 0;
    size_t n_items = (size_t)d->n_vocab + (size_t)n_merges;
    size_t need = 2 * piece_bytes + 2 * merge_bytes + 64 * n_items;
    size_t avail = need > ((size_t)64 << 20) ? lc_mem_available_bytes() : 0; /* small: not worth a /proc read */
    if (avail && need > avail) {
        char a[32], b[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: needs about %s, only %s available",
                       lc_format_bytes((double)need, a, sizeof a), lc_format_bytes((double)avail, b, sizeof b));
    }

    lc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory");
    t->kind = d->kind;
    t->n_vocab = d->n_vocab;
    t->bos_id = d->bos_id;
    t->eos_id = d->eos_id;
    t->unk_id = d->unk_id;
    t->pad_id = d->pad_id;
    t->add_bos = d->add_bos;
    t->add_eos = d->add_eos;
    t->add_space_prefix = d->kind == LC_TOKENIZER_SPM ? d->add_space_prefix : false;
    t->has_scores = d->scores != NULL;

    int32_t sym_cap = d->n_vocab + (d->kind == LC_TOKENIZER_BPE ? 256 : 0);
    if ((st = lc_tok_strtab_init(&t->sym, sym_cap, piece_bytes + (size_t)d->n_vocab + 1, true, err)) != LC_OK) goto fail;
    if ((st = lc_tok_strtab_init(&t->merges, n_merges > 0 ? (int32_t)n_merges : 1, merge_bytes + (size_t)n_merges + 1,
                                 false, err)) != LC_OK)
        goto fail;
    t->scores = malloc((size_t)d->n_vocab * sizeof *t->scores);
    t->types = malloc((size_t)d->n_vocab * sizeof *t->types);
    t->mergeable = malloc((size_t)d->n_vocab);
    if (!t->scores || !t->types || !t->mergeable) {
        st = lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %d tokens", d->n_vocab);
        goto fail;
    }
    for (int32_t i = 0; i < d->n_vocab; i++) {
        size_t l = piece_len(d, i);
        int32_t id;
        if ((st = lc_tok_strtab_add(&t->sym, d->pieces[i], l, &id, err)) != LC_OK) goto fail;
        if (l > t->max_piece) t->max_piece = l;
        t->scores[i] = d->scores ? d->scores[i] : 0.0f;
        t->types[i] = d->types ? d->types[i] : default_type(d, i, d->pieces[i], l);
        int32_t ty = t->types[i];
        t->mergeable[i] = ty == LC_TOKEN_NORMAL || ty == LC_TOKEN_USER_DEFINED || ty == LC_TOKEN_UNDEFINED;
    }

    if (d->kind == LC_TOKENIZER_SPM) {
        byte_pieces(t);
        if ((st = lc_tok_build_bigrams(t, err)) != LC_OK) goto fail;
        if ((st = lc_tok_build_user_index(t, err)) != LC_OK) goto fail;
        snprintf(t->pre_name, sizeof t->pre_name, "%s", d->pre ? d->pre : "default");
        t->pre = LC_PRE_GPT2;
    } else {
        const char *pre = d->pre ? d->pre : "gpt-2";
        lc_tok_pre_from_name(pre, &t->pre); /* known: validate_desc checked */
        t->byte_encode = t->pre != LC_PRE_GEMMA4;
        t->escape_spaces = t->pre == LC_PRE_GEMMA4;
        t->ignore_merges = t->pre == LC_PRE_LLAMA3;
        if ((st = build_bpe_tables(t, d, err)) != LC_OK) goto fail;
        if ((st = lc_tok_build_user_index(t, err)) != LC_OK) goto fail;
        /* "gpt2" is this library's alias of llama.cpp's "gpt-2": store the
         * name llama.cpp knows, so a GGUF written from it loads there. */
        snprintf(t->pre_name, sizeof t->pre_name, "%s", strcmp(pre, "gpt2") == 0 ? "gpt-2" : pre);
    }
    if ((st = lc_tok_build_decoder(t, err)) != LC_OK) goto fail;
    lc_tok_build_eog(t);
    *out = t;
    return LC_OK;
fail:
    lc_tokenizer_free(t);
    return st;
}

void lc_tokenizer_free(lc_tokenizer *t) {
    if (!t) return;
    lc_tok_strtab_free(&t->sym);
    lc_tok_strtab_free(&t->merges);
    lc_tok_pairmap_free(&t->merge_map);
    free(t->scores);
    free(t->types);
    free(t->mergeable);
    free(t->dec);
    free(t->dec_off);
    free(t->bigrams);
    free(t->user_pairs);
    free(t->user_cut);
    free(t->user_lens);
    free(t);
}

/* ---- accessors ----------------------------------------------------------- */

lc_tokenizer_kind lc_tokenizer_kind_of(const lc_tokenizer *t) { return t ? t->kind : LC_TOKENIZER_SPM; }
int32_t lc_tokenizer_n_vocab(const lc_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t lc_tokenizer_bos(const lc_tokenizer *t) { return t ? t->bos_id : -1; }
int32_t lc_tokenizer_eos(const lc_tokenizer *t) { return t ? t->eos_id : -1; }
int32_t lc_tokenizer_unk(const lc_tokenizer *t) { return t ? t->unk_id : -1; }
int32_t lc_tokenizer_pad(const lc_tokenizer *t) { return t ? t->pad_id : -1; }
bool lc_tokenizer_add_bos(const lc_tokenizer *t) { return t && t->add_bos; }
bool lc_tokenizer_add_eos(const lc_tokenizer *t) { return t && t->add_eos; }
bool lc_tokenizer_add_space_prefix(const lc_tokenizer *t) { return t && t->add_space_prefix; }

const char *lc_tokenizer_pre_name(const lc_tokenizer *t, bool *implemented) {
    if (implemented) *implemented = t != NULL;
    return t ? t->pre_name : "";
}

int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *piece, size_t len) {
    if (!t || (!piece && len)) return -1;
    int32_t id = lc_tok_strtab_find(&t->sym, piece ? piece : "", len);
    return id < t->n_vocab ? id : -1;
}

const char *lc_tokenizer_piece(const lc_tokenizer *t, int32_t id, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->sym.len[id];
    return lc_tok_strtab_str(&t->sym, id);
}

float lc_tokenizer_score(const lc_tokenizer *t, int32_t id) {
    return (t && id >= 0 && id < t->n_vocab) ? t->scores[id] : 0.0f;
}

int32_t lc_tokenizer_type(const lc_tokenizer *t, int32_t id) {
    return (t && id >= 0 && id < t->n_vocab) ? t->types[id] : LC_TOKEN_UNDEFINED;
}

int64_t lc_tokenizer_n_merges(const lc_tokenizer *t) { return t ? t->merges.n : 0; }

const char *lc_tokenizer_merge(const lc_tokenizer *t, int64_t i, size_t *len) {
    if (!t || i < 0 || i >= t->merges.n) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->merges.len[i];
    return lc_tok_strtab_str(&t->merges, (int32_t)i);
}

/* ---- encode -------------------------------------------------------------- */

lc_status lc_tokenizer_encode(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t *ids,
                              int64_t cap, int64_t *n, lc_error *err) {
    if (n) *n = 0;
    if (!t || !n || (!text && len) || cap < 0 || (!ids && cap > 0))
        return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_encode: NULL or negative argument");
    if (len > LC_TOK_MAX_TEXT) {
        char a[32], b[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: %s of text in one call (limit %s): split it",
                       lc_format_bytes((double)len, a, sizeof a), lc_format_bytes((double)LC_TOK_MAX_TEXT, b, sizeof b));
    }
    if (len > ((size_t)1 << 20)) {
        /* Working memory is ~100 bytes per input byte at worst (normalised
         * text, symbols, merge queue). */
        size_t need = len * 100, avail = lc_mem_available_bytes();
        if (avail && need > avail) {
            char a[32], b[32];
            return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: encoding %zu bytes needs about %s, only %s available", len,
                           lc_format_bytes((double)need, a, sizeof a), lc_format_bytes((double)avail, b, sizeof b));
        }
    }
    lc_tok_out o = {ids, cap, 0};
    if (add_bos && t->bos_id >= 0) lc_tok_push(&o, t->bos_id);
    lc_status st = LC_OK;
    bool cache = len >= LC_TOK_CACHE_MIN_TEXT;
    if (len > 0) {
        lc_tok_span *user = NULL;
        size_t n_user = 0;
        st = lc_tok_find_user_tokens(t, text, len, &user, &n_user, err);
        if (st == LC_OK && t->kind == LC_TOKENIZER_BPE) {
            st = lc_tok_bpe_encode(t, text, len, user, n_user, cache, &o, err);
        } else if (st == LC_OK) {
            /* SPM: each piece of text between user-defined tokens on its own,
             * with the space prefix, as llama.cpp does */
            size_t pos = 0;
            for (size_t k = 0; st == LC_OK && k <= n_user; k++) {
                size_t end = k < n_user ? user[k].start : len;
                if (end > pos) st = lc_tok_spm_encode(t, text + pos, end - pos, cache && end - pos >= LC_TOK_CACHE_MIN_TEXT, &o, err);
                if (k < n_user) {
                    lc_tok_push(&o, user[k].id);
                    pos = end + user[k].len;
                }
            }
        }
        free(user);
    }
    if (st != LC_OK) return st;
    *n = o.n;
    if (o.n > cap)
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: the text needs %lld tokens, room for %lld", (long long)o.n,
                       (long long)cap);
    return LC_OK;
}
