/* A GGUF that holds only a vocabulary (tokenizer.h, lc_tokenizer_write_vocab_gguf). */
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"

lc_status lc_tokenizer_write_vocab_gguf(const lc_tokenizer *tok, const char *path, const char *name, lc_error *err) {
    if (!tok || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "vocabulary GGUF: NULL argument");
    lc_gguf_writer *w = NULL;
    lc_status st = lc_gguf_writer_create(&w, err);
    if (st == LC_OK) st = lc_gguf_set_str(w, "general.architecture", "llama", err);
    if (st == LC_OK) st = lc_gguf_set_str(w, "general.name", name ? name : "longctx vocabulary", err);
    if (st == LC_OK) st = lc_tokenizer_to_gguf(tok, w, err);
    if (st == LC_OK) st = lc_gguf_write(w, path, 0, err);
    lc_gguf_writer_free(w);
    return st;
}
