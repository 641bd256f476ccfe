/*
 * End-of-generation tokens, found as llama.cpp (llama-vocab.cpp) finds them:
 * EOS, and every token whose text is one of its end-of-turn markers
 * ("<|eot_id|>", "<|im_end|>", "<end_of_turn>", "</s>", ...), plus the
 * fill-in-the-middle pad / repo / file-separator markers. Two of its rules
 * for families that carry several markers: with gpt-oss's "<|return|>" and
 * "<|call|>" (or "<|calls|>" and "<|flush|>"), "<|end|>" ends a message, not
 * the generation; with Gemma 4's "<|tool_response>", "</s>" is text.
 *
 * The marker lists are shared with user_tokens.c: llama.cpp gives a token
 * with such a text the control attribute whatever the file says.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

#define FW_BAR "\xEF\xBD\x9C"   /* U+FF5C, DeepSeek's full-width bar */
#define SP_MARK "\xE2\x96\x81" /* U+2581 */

const char *const lc_tok_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<" FW_BAR "end" SP_MARK "of" SP_MARK "sentence" FW_BAR ">",
    "[e~[",
    /* FIM pad, repo, file separator: end-of-generation too */
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<reponame>", "<|file_sep|>",
};
const size_t lc_tok_n_eog_texts = LC_ARRAY_LEN(lc_tok_eog_texts);

/* FIM prefix, suffix, middle: control-looking, not end-of-generation. */
const char *const lc_tok_fim_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<" FW_BAR "fim" SP_MARK "begin" FW_BAR ">", "<PRE>",
    SP_MARK "<PRE>", "<|code_prefix|>", "<|prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<" FW_BAR "fim" SP_MARK "hole" FW_BAR ">", "<SUF>", SP_MARK "<SUF>", "<|code_suffix|>", "<|suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<" FW_BAR "fim" SP_MARK "end" FW_BAR ">", "<MID>",
    SP_MARK "<MID>", "<|code_middle|>", "<|middle|>",
};
const size_t lc_tok_n_fim_texts = LC_ARRAY_LEN(lc_tok_fim_texts);

bool lc_tok_text_in(const char *p, size_t l, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == l && memcmp(list[i], p, l) == 0) return true;
    return false;
}

static int32_t find_text(const lc_tokenizer *t, const char *s) {
    int32_t id = lc_tok_strtab_find(&t->sym, s, strlen(s));
    return id < t->n_vocab ? id : -1;
}

static void add(lc_tokenizer *t, int32_t id) {
    if (id < 0) return;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog_ids[i] == id) return;
    if (t->n_eog < LC_TOK_MAX_EOG) t->eog_ids[t->n_eog++] = id;
}

static void drop(lc_tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog_ids[i] == id) {
            t->eog_ids[i] = t->eog_ids[--t->n_eog];
            return;
        }
}

void lc_tok_build_eog(lc_tokenizer *t) {
    t->n_eog = 0;
    add(t, t->eos_id);
    for (size_t i = 0; i < lc_tok_n_eog_texts; i++) add(t, find_text(t, lc_tok_eog_texts[i]));
    int32_t end = find_text(t, "<|end|>");
    if (end >= 0 && end != t->eos_id &&
        ((find_text(t, "<|return|>") >= 0 && find_text(t, "<|call|>") >= 0) ||
         (find_text(t, "<|calls|>") >= 0 && find_text(t, "<|flush|>") >= 0)))
        drop(t, end);
    int32_t s = find_text(t, "</s>");
    if (s >= 0 && s != t->eos_id && find_text(t, "<|tool_response>") >= 0) drop(t, s);
}

bool lc_tokenizer_is_eog(const lc_tokenizer *t, int32_t id) {
    if (!t || id < 0) return false;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog_ids[i] == id) return true;
    return false;
}

int lc_tokenizer_eog_ids(const lc_tokenizer *t, int32_t *ids, int cap) {
    if (!t) return 0;
    for (int i = 0; i < t->n_eog && i < cap; i++) ids[i] = t->eog_ids[i];
    return t->n_eog;
}
