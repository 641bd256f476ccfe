/* lc_tokenizer_open: a tokenizer from a file, a llama2.c tokenizer.bin or a
 * GGUF's vocabulary (tokenizer.h). */
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"

lc_status lc_tokenizer_open(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer: NULL argument");
    *out = NULL;
    if (n_vocab > 0) return lc_tokenizer_load_llama2c(path, n_vocab, out, err);
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    if (st != LC_OK) return st;
    st = lc_tokenizer_from_gguf(g, out, err);
    lc_gguf_close(g);
    return st;
}
