/* lc_tokenizer_open_for_model: a tokenizer from a model file, a vocabulary
 * file or a tokenizer.bin (text.h). */
#include "longctx/gguf.h"
#include "longctx/text.h"

lc_status lc_tokenizer_open_for_model(const char *model_path, const char *tok_bin, int32_t n_vocab, lc_tokenizer **out,
                                      lc_error *err) {
    *out = NULL;
    if (!model_path && !(tok_bin && n_vocab > 0))
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: give a model or vocabulary, or a tokenizer.bin and its size");
    if (tok_bin && n_vocab > 0) return lc_tokenizer_open(tok_bin, n_vocab, out, err);
    if (lc_gguf_file_has_magic(model_path)) return lc_tokenizer_open(model_path, 0, out, err);
    if (!tok_bin)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%.300s carries no vocabulary: give its tokenizer.bin with -z", model_path);
    lc_model *m = NULL; /* a llama2.c model: the size of its vocabulary */
    lc_status st = lc_model_load(model_path, NULL, &m, err);
    if (st == LC_OK) st = lc_tokenizer_open(tok_bin, m->cfg.vocab_size, out, err);
    lc_model_free(m);
    return st;
}
