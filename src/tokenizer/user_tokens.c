/*
 * User-defined tokens (token type USER_DEFINED: Qwen2's "[PAD151646]",
 * Command-R's "<|START_OF_TURN_TOKEN|>", DeepSeek's single characters "ö",
 * Gemma 4's "<|tool_call>", Phi-3's "</s>") are cut out of the text before
 * it is tokenised, even when special tokens are not parsed: Hugging Face's
 * added tokens, sentencepiece's user-defined symbols and llama.cpp's
 * tokenizer_st_partition do this. Control tokens ("<|endoftext|>") stay
 * text.
 *
 * Which tokens, as llama.cpp decides it: USER_DEFINED ones, except those
 * whose text marks the end of a turn or a fill-in-the-middle slot
 * ("</s>", "<|im_end|>", "<|tool_response>", "<|fim_prefix|>", ...: llama.cpp
 * treats them as control tokens whatever the file says), plus gpt-oss's
 * "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", which llama.cpp
 * always treats as user-defined.
 *
 * llama.cpp's order, reproduced exactly: one pass per token, longest piece
 * first (then lowest id); each pass takes the token's leftmost
 * non-overlapping occurrences inside the text that earlier passes left
 * uncut.
 *
 * Finding them without a pass per token over the text (DeepSeek has 2,398):
 * a set of the first two bytes of every piece (and the bytes of one-byte
 * pieces) picks the positions where a piece can start; there, each distinct
 * piece length is looked up in the piece table. The occurrences are then
 * taken in the passes' order.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* Texts llama.cpp always treats as user-defined (gpt-oss's harmony format). */
static const char *const ALWAYS_USER[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

/* Whether token id is cut out of the text (see above). */
static bool is_cut(const lc_tokenizer *t, int32_t id) {
    uint32_t l = t->sym.len[id];
    if (l == 0) return false;
    const char *p = lc_tok_strtab_str(&t->sym, id);
    if (lc_tok_text_in(p, l, ALWAYS_USER, LC_ARRAY_LEN(ALWAYS_USER))) return true;
    /* llama.cpp's control-looking texts (eog.c) */
    return t->types[id] == LC_TOKEN_USER_DEFINED && !lc_tok_text_in(p, l, lc_tok_eog_texts, lc_tok_n_eog_texts) &&
           !lc_tok_text_in(p, l, lc_tok_fim_texts, lc_tok_n_fim_texts);
}

static inline bool bit_has(const uint64_t *set, uint32_t i) { return (set[i >> 6] >> (i & 63)) & 1; }
static inline void bit_put(uint64_t *set, uint32_t i) { set[i >> 6] |= (uint64_t)1 << (i & 63); }

static int cmp_len_desc(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

lc_status lc_tok_build_user_index(lc_tokenizer *t, lc_error *err) {
    int32_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) n += is_cut(t, id);
    if (n == 0) return LC_OK;
    t->user_cut = calloc((size_t)t->n_vocab, 1);
    if (!t->user_cut) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %d user tokens", n);
    t->user_pairs = calloc(65536 / 64, sizeof *t->user_pairs);
    t->user_lens = malloc((size_t)n * sizeof *t->user_lens);
    if (!t->user_pairs || !t->user_lens) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %d user tokens", n);
    int32_t nl = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint32_t l = t->sym.len[id];
        if (!is_cut(t, id)) continue;
        t->user_cut[id] = 1;
        const unsigned char *p = (const unsigned char *)lc_tok_strtab_str(&t->sym, id);
        if (l == 1) bit_put(t->user_first, p[0]);
        else bit_put(t->user_pairs, (uint32_t)p[0] << 8 | p[1]);
        t->user_lens[nl++] = l;
    }
    qsort(t->user_lens, (size_t)nl, sizeof *t->user_lens, cmp_len_desc);
    int32_t d = 0;
    for (int32_t i = 0; i < nl; i++)
        if (d == 0 || t->user_lens[d - 1] != t->user_lens[i]) t->user_lens[d++] = t->user_lens[i];
    t->n_user_lens = d;
    t->n_user = n;
    return LC_OK;
}

/* Pass order: longer piece first, then lower id, then position. */
static int cmp_pass(const void *a, const void *b) {
    const lc_tok_span *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int cmp_start(const void *a, const void *b) {
    const lc_tok_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

lc_status lc_tok_find_user_tokens(const lc_tokenizer *t, const char *text, size_t len, lc_tok_span **out, size_t *n_out,
                                  lc_error *err) {
    *out = NULL;
    *n_out = 0;
    if (t->n_user == 0 || len == 0) return LC_OK;
    lc_tok_span *occ = NULL;
    size_t n = 0, cap = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        bool one = bit_has(t->user_first, s[i]);
        bool two = i + 1 < len && bit_has(t->user_pairs, (uint32_t)s[i] << 8 | s[i + 1]);
        if (!one && !two) continue;
        for (int32_t k = 0; k < t->n_user_lens; k++) {
            size_t l = t->user_lens[k];
            if (l > len - i || (l == 1 && !one) || (l > 1 && !two)) continue;
            int32_t id = lc_tok_strtab_find(&t->sym, text + i, l);
            if (id < 0 || id >= t->n_vocab || !t->user_cut[id]) continue;
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 16;
                lc_tok_span *g = realloc(occ, nc * sizeof *g);
                if (!g) {
                    free(occ);
                    return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu user tokens", nc);
                }
                occ = g, cap = nc;
            }
            occ[n++] = (lc_tok_span){i, l, id};
        }
    }
    if (n == 0) return LC_OK;
    unsigned char *cut = calloc(len, 1);
    if (!cut) {
        free(occ);
        return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", len);
    }
    qsort(occ, n, sizeof *occ, cmp_pass);
    size_t taken = 0, pass_end = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || occ[k].id != occ[k - 1].id) pass_end = 0; /* a new pass */
        if (occ[k].start < pass_end) continue;                  /* overlaps this pass's previous cut */
        bool free_ = memchr(cut + occ[k].start, 1, occ[k].len) == NULL;
        if (!free_) continue; /* spans an earlier cut: not inside one piece of text */
        memset(cut + occ[k].start, 1, occ[k].len);
        pass_end = occ[k].start + occ[k].len;
        occ[taken++] = occ[k];
    }
    free(cut);
    qsort(occ, taken, sizeof *occ, cmp_start);
    *out = occ;
    *n_out = taken;
    return LC_OK;
}
