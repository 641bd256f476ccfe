/* lc_model_info_write_file (model_info.h): a model or GGUF file described by
 * its path, as `longctx info` describes it. */
#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/model_info.h"

lc_status lc_model_info_write_file(FILE *f, const char *path, const char *tokenizer_path, bool json,
                                   bool with_metadata, lc_error *err) {
    if (!f || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "info: NULL argument");
    lc_gguf *g = NULL;
    const bool is_gguf = lc_gguf_file_has_magic(path);
    if (is_gguf) {
        lc_status st = lc_gguf_open(path, &g, err);
        if (st != LC_OK) return st;
        if (lc_gguf_n_tensors(g) == 0) { /* a vocabulary: nothing to load */
            lc_model_info_write(f, path, NULL, g, json, with_metadata);
            lc_gguf_close(g);
            return LC_OK;
        }
    }
    const lc_model_load_opts lo = {.tokenizer_path = is_gguf ? NULL : tokenizer_path};
    lc_model *m = NULL;
    const lc_status st = lc_model_load(path, &lo, &m, err);
    if (st == LC_OK || g) lc_model_info_write(f, path, m, g, json, with_metadata); /* a GGUF's keys, even then */
    lc_model_free(m);
    lc_gguf_close(g);
    return st;
}
