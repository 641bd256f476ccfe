/*
 * libFuzzer target: tokenizers on arbitrary bytes. The first byte picks:
 *
 *   even  the bytes after it are a llama2.c tokenizer.bin (vocabulary size
 *         from the second byte, 1..256); if it loads, encode and decode a few
 *         texts with it (anything may be refused, nothing may crash);
 *   odd   the bytes after it are a text, encoded with a byte-level BPE and
 *         an SPM vocabulary that can spell every byte: decode(encode(x))
 *         must give x back exactly (SPM: unless x holds U+2581, which
 *         SentencePiece decodes as a space), else the target traps.
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_tokenizer -max_len=4096 fuzz/corpus/tokenizer
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode then decode; returns 1 if the bytes came back, 0 if not, -1 if refused. */
static int round_trip(const lc_tokenizer *t, const char *text, size_t len) {
    lc_error err;
    int64_t n = 0;
    int64_t cap = 3 * (int64_t)len + 8;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    char *out = malloc(len + 1);
    int ok = -1;
    if (ids && out && lc_tokenizer_encode(t, text, len, true, ids, cap, &n, &err) == LC_OK) {
        size_t dl = 0;
        if (lc_tokenizer_decode(t, ids, n, out, len + 1, &dl, &err) == LC_OK) ok = dl == len && memcmp(out, text, len) == 0;
        else ok = 0;
        /* streaming decode never writes past its cap */
        char one[8];
        for (int64_t i = 0; i < n; i++) (void)lc_tokenizer_decode_token(t, i ? ids[i - 1] : -1, ids[i], one, sizeof one);
    }
    free(ids);
    free(out);
    return ok;
}

static lc_tokenizer *byte_bpe(void) {
    /* the 256 GPT-2 byte characters, then a few merges */
    static char chars[256][4];
    const char *pieces[261];
    for (int b = 0; b < 256; b++) {
        uint32_t cp = ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) ? (uint32_t)b
                      : b <= 32                                                   ? 256u + (uint32_t)b
                      : b <= 160                                                  ? 162u + (uint32_t)b
                                                                                  : 323u;
        if (cp < 0x80) chars[b][0] = (char)cp, chars[b][1] = 0;
        else chars[b][0] = (char)(0xC0 | (cp >> 6)), chars[b][1] = (char)(0x80 | (cp & 0x3F)), chars[b][2] = 0;
        pieces[b] = chars[b];
    }
    pieces[256] = "th", pieces[257] = "the", pieces[258] = "\xC4\xA0the", pieces[259] = "in";
    pieces[260] = "<|bos|>";
    const char *merges[] = {"t h", "th e", "\xC4\xA0 the", "i n"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 261;
    d.pieces = pieces;
    d.merges = merges;
    d.n_merges = 4;
    d.bos_id = 260, d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    lc_tokenizer_create(&d, &t, NULL);
    return t;
}

static lc_tokenizer *byte_spm(void) {
    static char names[256][8];
    const char *pieces[264];
    float scores[264] = {0};
    pieces[0] = "<unk>", pieces[1] = "<s>", pieces[2] = "</s>";
    for (int b = 0; b < 256; b++) {
        snprintf(names[b], sizeof names[b], "<0x%02X>", b);
        pieces[3 + b] = names[b];
    }
    const char *extra[] = {"\xE2\x96\x81", "a", ("\xE2\x96\x81" "a"), "ab", "\xE4\xB8\xAD"};
    for (int i = 0; i < 5; i++) pieces[259 + i] = extra[i], scores[259 + i] = -(float)i;
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_SPM;
    d.n_vocab = 264;
    d.pieces = pieces;
    d.scores = scores;
    d.unk_id = 0, d.bos_id = 1, d.eos_id = 2, d.pad_id = -1;
    d.add_space_prefix = true;
    lc_tokenizer *t = NULL;
    lc_tokenizer_create(&d, &t, NULL);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if ((data[0] & 1) == 0) {
        if (size < 2) return 0;
        int32_t n_vocab = 1 + data[1];
        lc_tokenizer *t = NULL;
        if (lc_tokenizer_load_llama2c_memory(data + 2, size - 2, n_vocab, &t, NULL) == LC_OK) {
            static const char *const texts[] = {"", "a", "hello world", "\xFF\xFE", "\xE4\xB8\xAD\xE6\x96\x87 x"};
            for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) round_trip(t, texts[i], strlen(texts[i]));
            lc_tokenizer_free(t);
        }
        return 0;
    }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    lc_tokenizer *bpe = byte_bpe(), *spm = byte_spm();
    if (!bpe || !spm) __builtin_trap();
    if (round_trip(bpe, text, len) != 1) __builtin_trap();
    bool has_mark = false;
    for (size_t i = 0; i + 2 < len; i++)
        if (memcmp(text + i, "\xE2\x96\x81", 3) == 0) has_mark = true;
    if (!has_mark && round_trip(spm, text, len) != 1) __builtin_trap();
    lc_tokenizer_free(bpe);
    lc_tokenizer_free(spm);
    return 0;
}
