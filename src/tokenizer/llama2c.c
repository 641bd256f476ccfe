/*
 * llama2.c's tokenizer.bin (written by its tokenizer.py export):
 *
 *   int32 max_token_length
 *   n_vocab x { float32 score | int32 len | len bytes }      (little-endian)
 *
 * The file does not store n_vocab: the caller gives it (the model's
 * vocab_size). Every field is untrusted: each length must be in
 * [0, max_token_length], max_token_length itself bounded, and the tokens must
 * end exactly at the end of the file (trailing bytes mean the vocabulary size
 * given does not match the file).
 *
 * Conventions applied so the result equals what llama.cpp's llama2.c
 * converter writes to GGUF (checked against aidreams260K.gguf):
 *   - the export wrote "▁" as ' ': spaces in pieces become "▁" again;
 *   - ids 0, 1, 2 are <unk> (unknown), <s> and </s> (control; the export
 *     wrote them "\n<s>\n", "\n</s>\n"); BOS = 1, EOS = 2;
 *   - "<0xNN>" pieces are byte tokens, empty pieces control, others normal;
 *   - add_space_prefix = true: encode puts "▁" in front of a non-empty text,
 *     as llama2.c's run.c (dummy prefix) and sentencepiece do; add_bos true.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parse a tokenizer.bin image already in memory. */
static lc_status parse(const unsigned char *data, size_t size, int32_t n_vocab, const char *path, lc_tokenizer **out,
                       lc_error *err) {
    if (size < 4) return lc_fail(err, LC_ERR_FORMAT, "%s: %zu bytes, too short for a tokenizer.bin", path, size);
    int32_t max_len = (int32_t)rd_u32(data);
    if (max_len <= 0 || (size_t)max_len > LC_TOK_MAX_PIECE)
        return lc_fail(err, LC_ERR_FORMAT, "%s: max_token_length %d is not in [1, %zu]", path, max_len, LC_TOK_MAX_PIECE);
    /* A piece grows by 2 bytes per space turned into "▁". */
    size_t n = (size_t)n_vocab, blob_cap;
    if (!lc_mul_size(n, (size_t)max_len * 3 + 1, &blob_cap))
        return lc_fail(err, LC_ERR_TOO_LARGE, "%s: vocabulary too large", path);
    blob_cap = LC_MIN(blob_cap, size * 3 + n); /* the file bounds the real total */
    const char **pieces = malloc(n * sizeof *pieces);
    size_t *lens = malloc(n * sizeof *lens);
    float *scores = malloc(n * sizeof *scores);
    int32_t *types = malloc(n * sizeof *types);
    char *blob = malloc(blob_cap);
    size_t *offs = malloc(n * sizeof *offs);
    lc_status st = LC_OK;
    if (!pieces || !lens || !scores || !types || !blob || !offs) {
        st = lc_fail(err, LC_ERR_NOMEM, "%s: out of memory for %d tokens", path, n_vocab);
        goto done;
    }
    size_t pos = 4, w = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (size - pos < 8) {
            st = lc_fail(err, LC_ERR_FORMAT, "%s: truncated at token %d of %d (offset %zu of %zu)", path, i, n_vocab, pos, size);
            goto done;
        }
        uint32_t sb = rd_u32(data + pos);
        memcpy(&scores[i], &sb, 4);
        int32_t len = (int32_t)rd_u32(data + pos + 4);
        pos += 8;
        if (len < 0 || len > max_len) {
            st = lc_fail(err, LC_ERR_FORMAT, "%s: token %d has length %d (max_token_length %d)", path, i, len, max_len);
            goto done;
        }
        if (size - pos < (size_t)len) {
            st = lc_fail(err, LC_ERR_FORMAT, "%s: token %d (%d bytes) runs past the end of the file", path, i, len);
            goto done;
        }
        if (isnan(scores[i])) {
            st = lc_fail(err, LC_ERR_FORMAT, "%s: token %d has a NaN score", path, i);
            goto done;
        }
        const char *p = (const char *)data + pos;
        size_t l = (size_t)len;
        pos += l;
        if (i == 1 && l == 5 && memcmp(p, "\n<s>\n", 5) == 0) p += 1, l = 3;
        if (i == 2 && l == 6 && memcmp(p, "\n</s>\n", 6) == 0) p += 1, l = 4;
        offs[i] = w;
        if (w + 3 * l > blob_cap) { /* cannot happen: blob_cap >= 3 x file */
            st = lc_fail(err, LC_ERR_INTERNAL, "%s: piece buffer overflow", path);
            goto done;
        }
        for (size_t k = 0; k < l; k++) {
            if (p[k] == ' ') memcpy(blob + w, "\xE2\x96\x81", 3), w += 3;
            else blob[w++] = p[k];
        }
        lens[i] = w - offs[i];
        if (i == 0) types[i] = LC_TOKEN_UNKNOWN;
        else if (i == 1 || i == 2 || l == 0) types[i] = LC_TOKEN_CONTROL;
        else if (lc_tok_parse_byte_piece(p, l) >= 0) types[i] = LC_TOKEN_BYTE;
        else types[i] = LC_TOKEN_NORMAL;
    }
    if (pos != size) {
        st = lc_fail(err, LC_ERR_FORMAT,
                     "%s: %zu bytes left after %d tokens: the vocabulary size given does not match this file", path,
                     size - pos, n_vocab);
        goto done;
    }
    for (int32_t i = 0; i < n_vocab; i++) pieces[i] = blob + offs[i];
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_SPM;
    d.n_vocab = n_vocab;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.scores = scores;
    d.types = types;
    d.pre = "default";
    d.unk_id = 0;
    d.bos_id = n_vocab > 1 ? 1 : -1;
    d.eos_id = n_vocab > 2 ? 2 : -1;
    d.pad_id = -1;
    d.add_bos = true;
    d.add_space_prefix = true;
    st = lc_tokenizer_create(&d, out, err);
done:
    free(pieces);
    free(lens);
    free(scores);
    free(types);
    free(blob);
    free(offs);
    return st;
}

lc_status lc_tokenizer_load_llama2c_memory(const void *data, size_t size, int32_t n_vocab, lc_tokenizer **out,
                                           lc_error *err) {
    if (!out || (!data && size)) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_load_llama2c_memory: NULL argument");
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > LC_TOK_MAX_VOCAB)
        return lc_fail(err, LC_ERR_INVALID_ARG, "tokenizer.bin: vocabulary size %d is not in [1, %d]", n_vocab,
                       LC_TOK_MAX_VOCAB);
    return parse(data, size, n_vocab, "tokenizer.bin", out, err);
}

lc_status lc_tokenizer_load_llama2c(const char *path, int32_t n_vocab, lc_tokenizer **out, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_tokenizer_load_llama2c: NULL argument");
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > LC_TOK_MAX_VOCAB)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: vocabulary size %d is not in [1, %d]", path, n_vocab, LC_TOK_MAX_VOCAB);
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    lc_status st = LC_OK;
    unsigned char *data = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        st = lc_fail(err, LC_ERR_IO, "cannot size %s: %s", path, strerror(errno));
        goto done;
    }
    /* A tokenizer.bin holds at most LC_TOK_MAX_VOCAB pieces of <= 64 KiB; a
     * real one is under 10 MiB. Refuse anything past 1 GiB before reading. */
    if ((unsigned long)sz > (1ul << 30)) {
        st = lc_fail(err, LC_ERR_TOO_LARGE, "%s: %ld bytes is too large for a tokenizer.bin", path, sz);
        goto done;
    }
    data = malloc(sz ? (size_t)sz : 1);
    if (!data) {
        st = lc_fail(err, LC_ERR_NOMEM, "%s: out of memory reading %ld bytes", path, sz);
        goto done;
    }
    if (fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        st = lc_fail(err, LC_ERR_IO, "%s: short read", path);
        goto done;
    }
    st = parse(data, (size_t)sz, n_vocab, path, out, err);
done:
    free(data);
    fclose(f);
    return st;
}
