/*
 * libFuzzer target: GGUF vocabularies (tokenizer.ggml.* keys: model, pre,
 * tokens, scores, token types, merges, special ids, flags) as
 * lc_tokenizer_from_gguf reads them from a downloaded model.
 *
 *   bytes 0-1   little-endian length L of a text (at most the bytes left);
 *   bytes 2..   the text (L bytes), then a GGUF file.
 *
 * If the vocabulary loads: the text and a few awkward fixed ones are encoded
 * (sized first, then written) and decoded whole and token by token, every id
 * of the vocabulary (and ids outside it) is decoded and looked up, and the
 * vocabulary is written back into a GGUF writer. Anything may be refused;
 * nothing may crash, leak or read out of bounds. Two checks trap: an encode
 * must give the count it sized, and every id it gives lies in the vocabulary.
 *
 * Seeds: the real vocabularies of ../shared/vocab cut to their first 700
 * tokens and the merges among them, each behind a short text, written by
 *   LC_FUZZ_WRITE_SEEDS=fuzz/corpus/vocab ./build-clang/fuzz_vocab
 * (LC_SHARED_DIR names the shared folder, ../shared by default).
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_vocab -max_len=65536 fuzz/corpus/vocab
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/gguf.h"
#include "longctx/tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void encode_decode(const lc_tokenizer *t, const char *text, size_t len) {
    lc_error err;
    int64_t n = 0;
    const lc_status st = lc_tokenizer_encode(t, text, len, true, NULL, 0, &n, &err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return;
    if (n < 0 || n > 4 * (int64_t)len + 16) __builtin_trap(); /* at most a few ids per byte */
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    int64_t n2 = 0;
    if (lc_tokenizer_encode(t, text, len, true, ids, n, &n2, &err) != LC_OK || n2 != n) __builtin_trap();
    const int32_t nv = lc_tokenizer_n_vocab(t);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv) __builtin_trap();
    size_t need = 0;
    char small[16];
    lc_tokenizer_decode(t, ids, n, small, sizeof small, &need, &err);
    char *out = malloc(need + 1);
    size_t got = 0;
    if (lc_tokenizer_decode(t, ids, n, out, need + 1, &got, &err) == LC_OK) sink += got;
    char one[8];
    for (int64_t i = 0; i < n; i++) sink += lc_tokenizer_decode_token(t, i ? ids[i - 1] : -1, ids[i], one, sizeof one);
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t tl = (size_t)data[0] | (size_t)data[1] << 8;
    if (tl > size - 2) tl = size - 2;
    const char *text = (const char *)data + 2;
    lc_gguf *g = NULL;
    lc_error err;
    if (lc_gguf_open_memory(data + 2 + tl, size - 2 - tl, &g, &err) != LC_OK) return 0;
    lc_tokenizer *t = NULL;
    if (lc_tokenizer_from_gguf(g, &t, &err) != LC_OK) {
        lc_gguf_close(g);
        return 0;
    }
    static const char *const fixed[] = {
        "Hello world", " the  quick\n\n\tbrown fox's 1234567 jumps!", "<s><|im_start|>user\n", "\xe9\x95\xbf\xe4\xb8\x8a",
        "\xff\xfe\xc3", "   ", "\xe2\x96\x81x\xe2\x96\x81",
    };
    encode_decode(t, text, tl);
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) encode_decode(t, fixed[i], strlen(fixed[i]));

    const int32_t nv = lc_tokenizer_n_vocab(t);
    char buf[64];
    for (int32_t id = -2; id < nv + 2 && id < 4096; id++) {
        size_t len = 0;
        const char *p = lc_tokenizer_piece(t, id, &len);
        if (p) {
            sink += len;
            const int32_t f = lc_tokenizer_find(t, p, len);
            if (f < -1 || f >= nv) __builtin_trap();
        }
        sink += lc_tokenizer_decode_token(t, id - 1, id, buf, sizeof buf);
        sink += (uint64_t)lc_tokenizer_type(t, id) + lc_tokenizer_is_eog(t, id);
        sink += (uint64_t)(lc_tokenizer_score(t, id) > 0);
    }
    for (int64_t i = 0; i < lc_tokenizer_n_merges(t) && i < 4096; i++) {
        size_t len = 0;
        if (lc_tokenizer_merge(t, i, &len)) sink += len;
    }
    bool impl;
    sink += lc_tokenizer_pre_name(t, &impl) != NULL;
    int32_t eog[8];
    sink += (uint64_t)lc_tokenizer_eog_ids(t, eog, 8);
    lc_gguf_writer *w = NULL;
    if (lc_gguf_writer_create(&w, &err) == LC_OK) {
        sink += lc_tokenizer_to_gguf(t, w, &err) == LC_OK;
        lc_gguf_writer_free(w);
    }
    lc_tokenizer_free(t);
    lc_gguf_close(g);
    return 0;
}

/* ---- Seeds ----------------------------------------------------------------- */

#define SEED_VOCAB 700

/* One real vocabulary cut to its first SEED_VOCAB tokens (and the merges
 * whose two sides and result lie among them), written as a seed. */
static int write_seed(const char *src, const char *dst, const char *text) {
    lc_error err;
    lc_gguf *g = NULL;
    lc_tokenizer *full = NULL, *cut = NULL;
    lc_gguf_writer *w = NULL;
    int rc = 1;
    const char **pieces = NULL, **merges = NULL;
    size_t *plen = NULL, *mlen = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    char *tmp = NULL;
    if (lc_gguf_open(src, &g, &err) != LC_OK || lc_tokenizer_from_gguf(g, &full, &err) != LC_OK) goto done;
    const char *model = "";
    size_t ml = 0;
    lc_gguf_get_str(g, "tokenizer.ggml.model", &model, &ml, &err);
    const int32_t nv = lc_tokenizer_n_vocab(full) < SEED_VOCAB ? lc_tokenizer_n_vocab(full) : SEED_VOCAB;
    pieces = calloc((size_t)nv, sizeof *pieces), plen = calloc((size_t)nv, sizeof *plen);
    scores = calloc((size_t)nv, sizeof *scores), types = calloc((size_t)nv, sizeof *types);
    const int64_t nm_all = lc_tokenizer_n_merges(full);
    merges = calloc((size_t)nm_all + 1, sizeof *merges), mlen = calloc((size_t)nm_all + 1, sizeof *mlen);
    if (!pieces || !plen || !scores || !types || !merges || !mlen) goto done;
    for (int32_t i = 0; i < nv; i++) {
        pieces[i] = lc_tokenizer_piece(full, i, &plen[i]);
        scores[i] = lc_tokenizer_score(full, i);
        types[i] = lc_tokenizer_type(full, i);
    }
    int64_t nm = 0;
    for (int64_t i = 0; i < nm_all; i++) {
        size_t len = 0;
        const char *m = lc_tokenizer_merge(full, i, &len);
        const char *sp = m && len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
        if (!sp) continue;
        const size_t ll = (size_t)(sp - m), rl = len - ll - 1;
        char joined[256];
        if (ll + rl >= sizeof joined) continue;
        memcpy(joined, m, ll);
        memcpy(joined + ll, sp + 1, rl);
        const int32_t a = lc_tokenizer_find(full, m, ll), b = lc_tokenizer_find(full, sp + 1, rl),
                      c = lc_tokenizer_find(full, joined, ll + rl);
        if (a < 0 || b < 0 || c < 0 || a >= nv || b >= nv || c >= nv) continue;
        merges[nm] = m, mlen[nm] = len, nm++;
    }
    lc_tokenizer_desc d = {0};
    d.kind = strncmp(model, "llama", 5) == 0 ? LC_TOKENIZER_SPM : LC_TOKENIZER_BPE;
    d.n_vocab = nv, d.pieces = pieces, d.piece_lens = plen, d.scores = scores, d.types = types;
    d.merges = merges, d.merge_lens = mlen, d.n_merges = nm;
    bool impl;
    d.pre = lc_tokenizer_pre_name(full, &impl);
    const int32_t sp[4] = {lc_tokenizer_bos(full), lc_tokenizer_eos(full), lc_tokenizer_unk(full), lc_tokenizer_pad(full)};
    d.bos_id = sp[0] < nv ? sp[0] : -1, d.eos_id = sp[1] < nv ? sp[1] : -1;
    d.unk_id = sp[2] < nv ? sp[2] : -1, d.pad_id = sp[3] < nv ? sp[3] : -1;
    d.add_bos = lc_tokenizer_add_bos(full), d.add_eos = lc_tokenizer_add_eos(full);
    d.add_space_prefix = lc_tokenizer_add_space_prefix(full);
    if (lc_tokenizer_create(&d, &cut, &err) != LC_OK || lc_gguf_writer_create(&w, &err) != LC_OK ||
        lc_tokenizer_to_gguf(cut, w, &err) != LC_OK || lc_gguf_write(w, dst, 0, &err) != LC_OK)
        goto done;
    /* the text in front of the file */
    FILE *f = fopen(dst, "rb");
    if (!f) goto done;
    fseek(f, 0, SEEK_END);
    const long fl = ftell(f);
    fseek(f, 0, SEEK_SET);
    const size_t tl = strlen(text);
    tmp = malloc(2 + tl + (size_t)fl);
    const bool read_ok = tmp && fread(tmp + 2 + tl, 1, (size_t)fl, f) == (size_t)fl;
    fclose(f);
    if (!read_ok) goto done;
    tmp[0] = (char)(tl & 0xFF), tmp[1] = (char)(tl >> 8);
    memcpy(tmp + 2, text, tl);
    f = fopen(dst, "wb");
    if (!f) goto done;
    rc = fwrite(tmp, 1, 2 + tl + (size_t)fl, f) == 2 + tl + (size_t)fl ? 0 : 1;
    if (fclose(f) != 0) rc = 1;
    fprintf(stderr, "  %s: %d tokens, %lld merges, %ld bytes\n", dst, nv, (long long)nm, fl + 2 + (long)tl);
done:
    if (rc) fprintf(stderr, "  %s: %s\n", src, err.msg);
    free(tmp);
    lc_gguf_writer_free(w);
    lc_tokenizer_free(cut);
    lc_tokenizer_free(full);
    lc_gguf_close(g);
    free(pieces), free(plen), free(scores), free(types), free(merges), free(mlen);
    return rc;
}

static int write_seeds(const char *dir) {
    const char *shared = getenv("LC_SHARED_DIR") ? getenv("LC_SHARED_DIR") : "../shared";
    char vdir[1024];
    snprintf(vdir, sizeof vdir, "%s/vocab", shared);
    DIR *dp = opendir(vdir);
    if (!dp) {
        fprintf(stderr, "fuzz_vocab: no %s\n", vdir);
        return 1;
    }
    static const char *const texts[] = {"Hello world! 12345", " the\n\n  quick\tbrown", "\xe9\x95\xbf\xe6\x96\x87 caf\xc3\xa9"};
    int rc = 0, k = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        const size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".gguf") != 0) continue;
        char src[2048], dst[2048];
        snprintf(src, sizeof src, "%s/%s", vdir, e->d_name);
        snprintf(dst, sizeof dst, "%s/%.*s", dir, (int)(n - 5), e->d_name);
        rc |= write_seed(src, dst, texts[k++ % 3]);
    }
    closedir(dp);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *seeds = getenv("LC_FUZZ_WRITE_SEEDS");
    if (seeds) {
        const int rc = write_seeds(seeds);
        fprintf(stderr, "fuzz_vocab: seeds %s in %s\n", rc ? "FAILED" : "written", seeds);
        exit(rc ? 1 : 0);
    }
    return 0;
}
