/* Tokenizer encode and decode throughput (bench.h, lc_bench_tokenize): what
 * `longctx bench tokenize` measures, on a file repeated to a size or on
 * seeded synthetic text (lc_bench_tokenize_text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

static const char *const WORDS[] = {"the", "of", "and", "context", "length", "attention", "model", "tokens", "long",
                                    "inference", "memory", "cache", "is", "a", "with", "2048", "32768", "3.14",
                                    "长上下文", "注意力", "模型", "的", "。", "🦙", "naïve", "Übergröße", "\n", "(", ")"};

static char *synthetic(size_t size) {
    char *t = malloc(size);
    if (!t) return NULL;
    lc_rng r;
    lc_rng_seed(&r, 42);
    size_t w = 0;
    while (w < size) {
        const char *s = WORDS[lc_rng_below(&r, LC_ARRAY_LEN(WORDS))];
        size_t l = LC_MIN(strlen(s), size - w);
        memcpy(t + w, s, l);
        w += l;
        if (w < size) t[w++] = ' ';
    }
    return t;
}

static char *from_file(const char *path, size_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(size);
    size_t n = buf ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        free(buf);
        return NULL;
    }
    for (size_t w = n; w < size; w += n) memcpy(buf + w, buf, LC_MIN(n, size - w));
    return buf;
}

lc_status lc_bench_tokenize_text(const char *path, size_t size, char **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench tokenize: NULL argument");
    if (size < 1 || size > LC_BENCH_TOKENIZE_MAX_TEXT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench tokenize: a text of %zu bytes", size);
    *out = path ? from_file(path, size) : synthetic(size);
    if (!*out) return path ? lc_fail(err, LC_ERR_IO, "cannot read %s", path) : lc_fail(err, LC_ERR_NOMEM, "out of memory");
    return LC_OK;
}

lc_status lc_bench_tokenize(const lc_tokenizer *tok, const char *text, size_t size, int reps,
                            lc_bench_tokenize_row *out, lc_error *err) {
    if (!tok || !text || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench tokenize: NULL argument");
    if (size < 1 || size > LC_BENCH_TOKENIZE_MAX_TEXT || reps < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench tokenize: %zu bytes, %d repetitions", size, reps);
    memset(out, 0, sizeof *out);
    out->kind = lc_tokenizer_kind_of(tok) == LC_TOKENIZER_SPM ? "spm" : "bpe";
    out->bytes = (int64_t)size;
    /* One id per byte (+BOS, + prefix) bounds both kinds for real vocabularies. */
    const int64_t cap = (int64_t)size + 8;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    char *dec = malloc(size + 1);
    lc_status st = ids && dec ? LC_OK : lc_fail(err, LC_ERR_NOMEM, "out of memory");
    double best_enc = 1e30, best_dec = 1e30;
    int64_t n = 0;
    size_t dl = 0;
    for (int r = 0; r < reps && st == LC_OK; r++) {
        const double t0 = lc_time_now();
        if ((st = lc_tokenizer_encode(tok, text, size, false, ids, cap, &n, err)) != LC_OK) break;
        const double t1 = lc_time_now();
        if ((st = lc_tokenizer_decode(tok, ids, n, dec, size + 1, &dl, err)) != LC_OK) break;
        const double t2 = lc_time_now();
        best_enc = LC_MIN(best_enc, t1 - t0);
        best_dec = LC_MIN(best_dec, t2 - t1);
    }
    if (st == LC_OK) {
        out->tokens = n;
        out->encode_s = best_enc;
        out->decode_s = best_dec;
        out->round_trip_exact = dl == size && memcmp(dec, text, dl) == 0;
    }
    free(ids);
    free(dec);
    return st;
}
