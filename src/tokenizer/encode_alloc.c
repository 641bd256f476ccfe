/* lc_tokenizer_encode_alloc: encode into an array sized for the text
 * (tokenizer.h). */
#include <stdlib.h>

#include "longctx/tokenizer.h"

lc_status lc_tokenizer_encode_alloc(const lc_tokenizer *t, const char *text, size_t len, bool add_bos, int32_t **ids,
                                    int64_t *n, lc_error *err) {
    if (ids) *ids = NULL;
    if (n) *n = 0;
    if (!t || (!text && len) || !ids || !n) return lc_fail(err, LC_ERR_INVALID_ARG, "encode: NULL argument");
    /* Usually one token per byte or fewer: try that, then the size the text
     * reported. Encode refuses more than 256 MiB of text, so no more is
     * allocated before it says so. */
    const size_t text_max = (size_t)256 << 20;
    int64_t cap = (int64_t)(len < text_max ? len : text_max) + 8;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = malloc((size_t)cap * sizeof *buf);
        if (!buf) return lc_fail(err, LC_ERR_NOMEM, "out of memory for %lld token ids", (long long)cap);
        int64_t need = 0;
        const lc_status st = lc_tokenizer_encode(t, text, len, add_bos, buf, cap, &need, err);
        if (st == LC_OK) {
            *ids = buf;
            *n = need;
            return LC_OK;
        }
        free(buf);
        if (st != LC_ERR_TOO_LARGE || need <= cap) return st;
        cap = need;
    }
    return lc_fail(err, LC_ERR_INTERNAL, "encode: the text needed more ids on the second pass");
}
