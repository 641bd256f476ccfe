/*
 * Tokenizers in GGUF metadata (the keys llama.cpp reads and writes):
 *
 *   tokenizer.ggml.model             string  "llama" (SPM) | "gpt2" (BPE) | "gemma4" (Gemma 4's BPE)
 *   tokenizer.ggml.pre               string  pre-tokenizer ("default", "gpt-2", "llama-bpe", ...;
 *                                            required for gpt2, ignored for gemma4)
 *   tokenizer.ggml.tokens            [string] n_vocab
 *   tokenizer.ggml.scores            [f32]    n_vocab (optional)
 *   tokenizer.ggml.token_type        [i32]    n_vocab (optional; LC_TOKEN_*)
 *   tokenizer.ggml.merges            [string] "left right" by rank (BPE)
 *   tokenizer.ggml.bos_token_id / eos_token_id / unknown_token_id / padding_token_id   u32
 *   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix                  bool
 *
 * Everything is validated: array types, array lengths equal to n_vocab,
 * token ids inside the vocabulary (the value 0xFFFFFFFF, or -1, means
 * "none", as llama.cpp's converters write it), strings bounded.
 * Defaults for absent keys follow llama.cpp: SPM BOS 1, EOS 2, UNK 0,
 * add_bos true, add_space_prefix true; BPE no special ids, add_bos false
 * (true for llama-bpe; Gemma 4 always true, as llama.cpp forces it).
 * A gpt2 vocabulary whose pre-tokenizer longctx does not implement, or that
 * names none (llama.cpp then runs a "default" expression of its own), is
 * refused with LC_ERR_UNSUPPORTED naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/gguf.h"
#include "tokenizer/tokenizer_internal.h"

#define KEY(x) "tokenizer.ggml." x

/* A string array of exactly n (or any count if n < 0) elements; *count out. */
static lc_status str_array(const lc_gguf *g, const char *key, uint64_t *count, lc_error *err) {
    lc_gguf_type et;
    const void *data;
    lc_status st = lc_gguf_get_arr(g, key, &et, count, &data, err);
    if (st != LC_OK) return st;
    if (et != LC_GGUF_STRING) return lc_fail(err, LC_ERR_FORMAT, "GGUF: %s is not an array of strings", key);
    return LC_OK;
}

/* A numeric array of n 32-bit elements of the given type, copied into out. */
static lc_status num_array(const lc_gguf *g, const char *key, lc_gguf_type want, lc_gguf_type alt, uint64_t n, void *out,
                           lc_error *err) {
    lc_gguf_type et;
    uint64_t count;
    const void *data;
    lc_status st = lc_gguf_get_arr(g, key, &et, &count, &data, err);
    if (st != LC_OK) return st;
    if (et != want && et != alt) return lc_fail(err, LC_ERR_FORMAT, "GGUF: %s has element type %d", key, (int)et);
    if (count != n)
        return lc_fail(err, LC_ERR_FORMAT, "GGUF: %s has %llu elements, the vocabulary %llu", key,
                       (unsigned long long)count, (unsigned long long)n);
    if (n && !data) return lc_fail(err, LC_ERR_FORMAT, "GGUF: %s has no data", key);
    if (n) memcpy(out, data, (size_t)n * 4); /* little-endian host assumed, as the reader */
    return LC_OK;
}

/* Special token id: absent -> def; 0xFFFFFFFF or negative -> -1. */
static lc_status special_id(const lc_gguf *g, const char *key, int32_t n_vocab, int32_t def, int32_t *out, lc_error *err) {
    *out = def < n_vocab ? def : -1;
    if (!lc_gguf_has(g, key)) return LC_OK;
    int64_t v;
    lc_status st = lc_gguf_get_i64(g, key, &v, err);
    if (st != LC_OK) return st;
    if (v < 0 || v == 0xFFFFFFFFLL) {
        *out = -1;
        return LC_OK;
    }
    if (v >= n_vocab)
        return lc_fail(err, LC_ERR_FORMAT, "GGUF: %s = %lld is outside the vocabulary of %d tokens", key, (long long)v,
                       n_vocab);
    *out = (int32_t)v;
    return LC_OK;
}

static lc_status opt_bool(const lc_gguf *g, const char *key, bool def, bool *out, lc_error *err) {
    *out = def;
    if (!lc_gguf_has(g, key)) return LC_OK;
    return lc_gguf_get_bool(g, key, out, err);
}

lc_status lc_tokenizer_from_gguf(const struct lc_gguf *g, lc_tokenizer **out, lc_error *err) {
    if (!g || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_from_gguf: NULL argument");
    *out = NULL;
    const char *model;
    size_t model_len;
    if (!lc_gguf_has(g, KEY("model")))
        return lc_fail(err, LC_ERR_FORMAT, "GGUF: no tokenizer.ggml.model: this file carries no vocabulary");
    lc_status st = lc_gguf_get_str(g, KEY("model"), &model, &model_len, err);
    if (st != LC_OK) return st;
    lc_tokenizer_desc d = {0};
    bool gemma4 = model_len == 6 && memcmp(model, "gemma4", 6) == 0;
    if (model_len == 5 && memcmp(model, "llama", 5) == 0) d.kind = LC_TOKENIZER_SPM;
    else if ((model_len == 4 && memcmp(model, "gpt2", 4) == 0) || gemma4) d.kind = LC_TOKENIZER_BPE;
    else
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "GGUF: tokenizer model \"%.*s\" is not supported (llama, gpt2 and gemma4 are)",
                       (int)LC_MIN(model_len, 64), model);
    char pre[LC_TOK_MAX_PRE_NAME];
    d.pre = NULL;
    if (gemma4) {
        d.pre = "gemma4"; /* llama.cpp too sets it, whatever the file says */
    } else if (lc_gguf_has(g, KEY("pre"))) {
        const char *s;
        size_t l;
        if ((st = lc_gguf_get_str(g, KEY("pre"), &s, &l, err)) != LC_OK) return st;
        if (l >= sizeof pre || (l && memchr(s, '\0', l)))
            return lc_fail(err, LC_ERR_FORMAT, "GGUF: tokenizer.ggml.pre is not a short name (%zu bytes)", l);
        if (l) memcpy(pre, s, l);
        pre[l] = '\0';
        d.pre = pre;
    }
    lc_pre_kind pk = LC_PRE_GPT2;
    if (d.kind == LC_TOKENIZER_BPE && !d.pre)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "GGUF: the gpt2 vocabulary names no pre-tokenizer (tokenizer.ggml.pre); llama.cpp would run its "
                       "'default' expression, which longctx does not implement (it has %s)",
                       lc_tok_pre_known_names());
    if (d.kind == LC_TOKENIZER_BPE && !lc_tok_pre_from_name(d.pre, &pk))
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "GGUF: tokenizer.ggml.pre = \"%s\" is a pre-tokenizer longctx does not implement (it has %s): "
                       "refused rather than tokenised some other way",
                       d.pre, lc_tok_pre_known_names());

    uint64_t n;
    if ((st = str_array(g, KEY("tokens"), &n, err)) != LC_OK) return st;
    if (n == 0 || n > LC_TOK_MAX_VOCAB)
        return lc_fail(err, n ? LC_ERR_TOO_LARGE : LC_ERR_FORMAT, "GGUF: %llu tokens (limit %d)", (unsigned long long)n,
                       LC_TOK_MAX_VOCAB);
    int32_t n_vocab = (int32_t)n;
    uint64_t n_merges = 0;
    if (d.kind == LC_TOKENIZER_BPE) {
        if (!lc_gguf_has(g, KEY("merges")))
            return lc_fail(err, LC_ERR_FORMAT, "GGUF: a gpt2 tokenizer needs tokenizer.ggml.merges");
        if ((st = str_array(g, KEY("merges"), &n_merges, err)) != LC_OK) return st;
        if (n_merges > LC_TOK_MAX_MERGES)
            return lc_fail(err, LC_ERR_TOO_LARGE, "GGUF: %llu merges (limit %d)", (unsigned long long)n_merges,
                           LC_TOK_MAX_MERGES);
    }

    const char **pieces = malloc((size_t)n * sizeof *pieces);
    size_t *lens = malloc((size_t)n * sizeof *lens);
    float *scores = NULL;
    int32_t *types = NULL;
    const char **merges = malloc((n_merges ? (size_t)n_merges : 1) * sizeof *merges);
    size_t *merge_lens = malloc((n_merges ? (size_t)n_merges : 1) * sizeof *merge_lens);
    if (!pieces || !lens || !merges || !merge_lens) {
        st = lc_fail(err, LC_ERR_NOMEM, "GGUF: out of memory for %d tokens", n_vocab);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        if ((st = lc_gguf_get_arr_str(g, KEY("tokens"), i, &pieces[i], &lens[i], err)) != LC_OK) goto done;
        if (lens[i] > LC_TOK_MAX_PIECE) {
            st = lc_fail(err, LC_ERR_FORMAT, "GGUF: token %llu is %zu bytes long (limit %zu)", (unsigned long long)i,
                         lens[i], LC_TOK_MAX_PIECE);
            goto done;
        }
        if (!pieces[i]) pieces[i] = "";
    }
    for (uint64_t i = 0; i < n_merges; i++) {
        if ((st = lc_gguf_get_arr_str(g, KEY("merges"), i, &merges[i], &merge_lens[i], err)) != LC_OK) goto done;
        if (!merges[i]) merges[i] = "";
    }
    if (lc_gguf_has(g, KEY("scores"))) {
        if (!(scores = malloc((size_t)n * sizeof *scores))) {
            st = lc_fail(err, LC_ERR_NOMEM, "GGUF: out of memory");
            goto done;
        }
        if ((st = num_array(g, KEY("scores"), LC_GGUF_FLOAT32, LC_GGUF_FLOAT32, n, scores, err)) != LC_OK) goto done;
    }
    if (lc_gguf_has(g, KEY("token_type"))) {
        if (!(types = malloc((size_t)n * sizeof *types))) {
            st = lc_fail(err, LC_ERR_NOMEM, "GGUF: out of memory");
            goto done;
        }
        if ((st = num_array(g, KEY("token_type"), LC_GGUF_INT32, LC_GGUF_UINT32, n, types, err)) != LC_OK) goto done;
        for (uint64_t i = 0; i < n; i++)
            if (types[i] < LC_TOKEN_UNDEFINED || types[i] > LC_TOKEN_BYTE) {
                st = lc_fail(err, LC_ERR_FORMAT, "GGUF: token %llu has type %d (valid: 0..6)", (unsigned long long)i,
                             types[i]);
                goto done;
            }
    }
    bool spm = d.kind == LC_TOKENIZER_SPM;
    if ((st = special_id(g, KEY("bos_token_id"), n_vocab, spm ? 1 : -1, &d.bos_id, err)) != LC_OK ||
        (st = special_id(g, KEY("eos_token_id"), n_vocab, spm ? 2 : -1, &d.eos_id, err)) != LC_OK ||
        (st = special_id(g, KEY("unknown_token_id"), n_vocab, spm ? 0 : -1, &d.unk_id, err)) != LC_OK ||
        (st = special_id(g, KEY("padding_token_id"), n_vocab, -1, &d.pad_id, err)) != LC_OK ||
        (st = opt_bool(g, KEY("add_bos_token"), spm || pk == LC_PRE_LLAMA3, &d.add_bos, err)) != LC_OK ||
        (st = opt_bool(g, KEY("add_eos_token"), false, &d.add_eos, err)) != LC_OK ||
        (st = opt_bool(g, KEY("add_space_prefix"), spm, &d.add_space_prefix, err)) != LC_OK)
        goto done;
    if (gemma4) d.add_bos = true; /* llama.cpp overrides a false add_bos_token for Gemma 4 */
    d.n_vocab = n_vocab;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.scores = scores;
    d.types = types;
    d.merges = merges;
    d.merge_lens = merge_lens;
    d.n_merges = (int64_t)n_merges;
    st = lc_tokenizer_create(&d, out, err);
    if (st != LC_OK && err) {
        /* Say where the bad data came from. */
        char msg[LC_ERROR_MSG_MAX];
        static const char prefix[] = "GGUF vocabulary: ";
        size_t pl = sizeof prefix - 1, ml = strnlen(err->msg, sizeof err->msg - 1);
        if (ml > sizeof msg - 1 - pl) ml = sizeof msg - 1 - pl;
        memcpy(msg, prefix, pl);
        memcpy(msg + pl, err->msg, ml);
        msg[pl + ml] = '\0';
        memcpy(err->msg, msg, sizeof msg);
        if (st == LC_ERR_INVALID_ARG) st = err->status = LC_ERR_FORMAT;
    }
done:
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    free(merges);
    free(merge_lens);
    return st;
}

lc_status lc_tokenizer_to_gguf(const lc_tokenizer *t, struct lc_gguf_writer *w, lc_error *err) {
    if (!t || !w) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_to_gguf: NULL argument");
    size_t n = (size_t)t->n_vocab, nm = (size_t)t->merges.n;
    const char **strs = malloc(LC_MAX(n, nm) * sizeof *strs + 1);
    size_t *lens = malloc(LC_MAX(n, nm) * sizeof *lens + 1);
    lc_status st = LC_OK;
    if (!strs || !lens) {
        st = lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory writing GGUF metadata");
        goto done;
    }
    const char *model = t->kind == LC_TOKENIZER_SPM ? "llama" : t->pre == LC_PRE_GEMMA4 ? "gemma4" : "gpt2";
    if ((st = lc_gguf_set_str(w, KEY("model"), model, err)) != LC_OK ||
        (st = lc_gguf_set_str(w, KEY("pre"), t->pre_name, err)) != LC_OK)
        goto done;
    for (size_t i = 0; i < n; i++) strs[i] = lc_tok_strtab_str(&t->sym, (int32_t)i), lens[i] = t->sym.len[i];
    if ((st = lc_gguf_set_arr_strn(w, KEY("tokens"), strs, lens, n, err)) != LC_OK) goto done;
    if (t->has_scores && (st = lc_gguf_set_arr_f32(w, KEY("scores"), t->scores, n, err)) != LC_OK) goto done;
    if ((st = lc_gguf_set_arr_i32(w, KEY("token_type"), t->types, n, err)) != LC_OK) goto done;
    if (t->kind == LC_TOKENIZER_BPE || nm > 0) {
        for (size_t i = 0; i < nm; i++) strs[i] = lc_tok_strtab_str(&t->merges, (int32_t)i), lens[i] = t->merges.len[i];
        if (nm == 0) strs[0] = "", lens[0] = 0; /* an empty array still needs valid pointers */
        if ((st = lc_gguf_set_arr_strn(w, KEY("merges"), strs, lens, nm, err)) != LC_OK) goto done;
    }
    const struct {
        const char *key;
        int32_t id;
    } ids[] = {{KEY("bos_token_id"), t->bos_id},
               {KEY("eos_token_id"), t->eos_id},
               {KEY("unknown_token_id"), t->unk_id},
               {KEY("padding_token_id"), t->pad_id}};
    for (size_t i = 0; i < LC_ARRAY_LEN(ids); i++) {
        /* An absent id is written as 0xFFFFFFFF so that an SPM reader does
         * not fall back to its defaults (1, 2, 0). */
        uint32_t v = ids[i].id >= 0 ? (uint32_t)ids[i].id : 0xFFFFFFFFu;
        if ((st = lc_gguf_set_u32(w, ids[i].key, v, err)) != LC_OK) goto done;
    }
    if ((st = lc_gguf_set_bool(w, KEY("add_bos_token"), t->add_bos, err)) != LC_OK ||
        (st = lc_gguf_set_bool(w, KEY("add_eos_token"), t->add_eos, err)) != LC_OK ||
        (st = lc_gguf_set_bool(w, KEY("add_space_prefix"), t->add_space_prefix, err)) != LC_OK)
        goto done;
done:
    free(strs);
    free(lens);
    return st;
}
