/* Train a byte-level BPE vocabulary on a file and check it (tasks.h,
 * lc_bpe_train_file): the trained tokenizer re-encodes the corpus and must
 * give the trainer's own segmentation. What `longctx gen-data --train-bpe`
 * runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/sys.h"
#include "longctx/util.h"
#include "longctx/tasks.h"

#define MAX_CORPUS ((size_t)1 << 30)


/* Re-encode the corpus with the trained tokenizer; same segmentation? */
static lc_status check_corpus(const lc_bpe_model *m, const char *text, size_t size, lc_bpe_train_file_result *r,
                              lc_error *err) {
    int64_t n_corpus = 0;
    const int32_t *corpus = lc_bpe_model_corpus_ids(m, &n_corpus);
    r->corpus_tokens = n_corpus;
    int32_t *ids = malloc(((size_t)n_corpus + 1) * sizeof *ids);
    int64_t n_enc = 0;
    const double t0 = lc_time_now();
    const lc_status st =
        ids ? lc_tokenizer_encode(r->tokenizer, text, size, false, ids, n_corpus + 1, &n_enc, err) : LC_ERR_NOMEM;
    r->encode_s = lc_time_now() - t0;
    r->identical = corpus && st == LC_OK && n_enc == n_corpus && memcmp(ids, corpus, (size_t)n_enc * sizeof *ids) == 0;
    free(ids);
    return LC_OK;
}

lc_status lc_bpe_train_file(const char *path, const lc_bpe_train_params *p, lc_bpe_train_file_result *out,
                            lc_error *err) {
    if (!path || !p || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "train-bpe: NULL argument");
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t size = 0;
    lc_status st = lc_read_file(path, MAX_CORPUS, &text, &size, err);
    if (st != LC_OK && st != LC_ERR_NOMEM) st = LC_ERR_IO; /* cannot be read, or too large: the file's fault */
    if (st != LC_OK) {
        if (err) err->status = st;
        return st;
    }
    out->bytes = (int64_t)size;
    lc_bpe_train_params tp = *p;
    tp.keep_corpus_ids = true;
    lc_bpe_model *m = NULL;
    const double t0 = lc_time_now();
    st = lc_bpe_train(text, size, &tp, &m, err);
    out->train_s = lc_time_now() - t0;
    if (st == LC_OK) {
        lc_tokenizer_desc d;
        lc_bpe_model_desc(m, &d);
        out->n_vocab = d.n_vocab;
        out->n_merges = d.n_merges;
        snprintf(out->pre, sizeof out->pre, "%s", d.pre ? d.pre : "");
        st = lc_tokenizer_create(&d, &out->tokenizer, err);
    }
    if (st == LC_OK) st = check_corpus(m, text, size, out, err);
    lc_bpe_model_free(m);
    free(text);
    if (st != LC_OK) {
        lc_tokenizer_free(out->tokenizer);
        out->tokenizer = NULL;
    }
    return st;
}
