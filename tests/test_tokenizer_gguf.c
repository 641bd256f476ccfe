/*
 * Tokenizers through GGUF: lc_tokenizer_to_gguf then lc_tokenizer_from_gguf
 * gives an identical tokenizer (every piece, score, type, merge, special id,
 * flag, and the same encodings) for every real vocabulary and for tiny
 * hand-built ones; metadata that is wrong in any way (missing keys, wrong
 * types, lengths that disagree with the vocabulary, ids out of range, bad
 * merges, unknown models) is refused with a message, never crashes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

static char g_dir[64];

static void check_same(const lc_tokenizer *a, const lc_tokenizer *b, const char *what) {
    CHECK(lc_tokenizer_kind_of(a) == lc_tokenizer_kind_of(b), "%s: kind", what);
    CHECK(lc_tokenizer_n_vocab(a) == lc_tokenizer_n_vocab(b), "%s: n_vocab", what);
    int diff = 0;
    for (int32_t i = 0; i < lc_tokenizer_n_vocab(a) && i < lc_tokenizer_n_vocab(b); i++) {
        size_t la, lb;
        const char *pa = lc_tokenizer_piece(a, i, &la), *pb = lc_tokenizer_piece(b, i, &lb);
        diff += la != lb || memcmp(pa, pb, la) != 0 || lc_tokenizer_score(a, i) != lc_tokenizer_score(b, i) ||
                lc_tokenizer_type(a, i) != lc_tokenizer_type(b, i);
    }
    CHECK(diff == 0, "%s: %d tokens differ", what, diff);
    CHECK(lc_tokenizer_n_merges(a) == lc_tokenizer_n_merges(b), "%s: merges %lld vs %lld", what,
          (long long)lc_tokenizer_n_merges(a), (long long)lc_tokenizer_n_merges(b));
    diff = 0;
    for (int64_t i = 0; i < lc_tokenizer_n_merges(a) && i < lc_tokenizer_n_merges(b); i++) {
        size_t la, lb;
        const char *ma = lc_tokenizer_merge(a, i, &la), *mb = lc_tokenizer_merge(b, i, &lb);
        diff += la != lb || memcmp(ma, mb, la) != 0;
    }
    CHECK(diff == 0, "%s: %d merges differ", what, diff);
    CHECK(lc_tokenizer_bos(a) == lc_tokenizer_bos(b) && lc_tokenizer_eos(a) == lc_tokenizer_eos(b) &&
              lc_tokenizer_unk(a) == lc_tokenizer_unk(b) && lc_tokenizer_pad(a) == lc_tokenizer_pad(b),
          "%s: special ids", what);
    CHECK(lc_tokenizer_add_bos(a) == lc_tokenizer_add_bos(b) && lc_tokenizer_add_eos(a) == lc_tokenizer_add_eos(b) &&
              lc_tokenizer_add_space_prefix(a) == lc_tokenizer_add_space_prefix(b),
          "%s: flags", what);
    bool ka, kb;
    CHECK(strcmp(lc_tokenizer_pre_name(a, &ka), lc_tokenizer_pre_name(b, &kb)) == 0 && ka == kb, "%s: pre %s vs %s",
          what, lc_tokenizer_pre_name(a, NULL), lc_tokenizer_pre_name(b, NULL));
    /* and they tokenise alike */
    static const char *const texts[] = {"Hello world", " the whispers of 12345 tokens\n\n", "中文 \xFF \xE2\x96\x81 🦙", ""};
    for (size_t i = 0; i < LC_ARRAY_LEN(texts); i++) {
        /* same ids, or the same refusal (the tiny vocabularies cannot spell everything) */
        int32_t ia[256], ib[256];
        int64_t na = 0, nb = 0;
        lc_error ea, eb;
        size_t len = strlen(texts[i]);
        lc_status sa = lc_tokenizer_encode(a, texts[i], len, true, ia, 256, &na, &ea);
        lc_status sb = lc_tokenizer_encode(b, texts[i], len, true, ib, 256, &nb, &eb);
        CHECK(sa == sb && (sa != LC_OK || tt_same_ids(ia, na, ib, nb)), "%s: encodings of \"%s\"", what, texts[i]);
    }
}

/* Write t into a GGUF file and read it back. */
static lc_tokenizer *through_gguf(const lc_tokenizer *t, const char *name) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s.gguf", g_dir, name);
    lc_error err;
    lc_gguf_writer *w = NULL;
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    if (!w) return NULL;
    CHECK_OK(lc_gguf_set_str(w, "general.architecture", "llama", &err), &err);
    CHECK_OK(lc_tokenizer_to_gguf(t, w, &err), &err);
    CHECK_OK(lc_gguf_write(w, path, 32, &err), &err);
    lc_gguf_writer_free(w);
    lc_gguf *g = NULL;
    lc_tokenizer *back = NULL;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (g) CHECK_OK(lc_tokenizer_from_gguf(g, &back, &err), &err);
    lc_gguf_close(g);
    unlink(path);
    return back;
}

static lc_tokenizer *from_gguf(const char *rel) {
    char path[512];
    lc_test_shared(rel, path, sizeof path);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (g) CHECK_OK(lc_tokenizer_from_gguf(g, &t, &err), &err);
    lc_gguf_close(g);
    return t;
}

static void test_real_round_trips(void) {
    static const char *const files[] = {
        "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-phi-3.gguf",        "vocab/ggml-vocab-gpt-2.gguf",
        "models/aidreams260K.gguf",        "vocab/ggml-vocab-llama-bpe.gguf",    "vocab/ggml-vocab-qwen2.gguf",
        "vocab/ggml-vocab-command-r.gguf", "vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-gemma-4.gguf"};
    for (size_t i = 0; i < LC_ARRAY_LEN(files); i++) {
        lc_tokenizer *t = from_gguf(files[i]);
        if (!t) continue;
        lc_tokenizer *back = through_gguf(t, "real");
        if (back) check_same(t, back, files[i]);
        lc_tokenizer_free(back);
        lc_tokenizer_free(t);
    }
    char path[512];
    lc_test_shared("models/llama2-tokenizer.bin", path, sizeof path);
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_load_llama2c(path, 32000, &t, &err), &err);
    if (t) {
        lc_tokenizer *back = through_gguf(t, "llama2c");
        if (back) check_same(t, back, "llama2-tokenizer.bin");
        lc_tokenizer_free(back);
        lc_tokenizer_free(t);
    }
}

/* Hand-built: BPE without scores, no special ids, llama-3 pre, a piece with a
 * NUL byte; SPM without scores and without space prefix. */
static void test_tiny_round_trips(void) {
    const char *pieces[6] = {"a", "b", "ab", "\xC4\xA0", "x\0y", "c"};
    size_t lens[6] = {1, 1, 2, 2, 3, 1};
    const char *merges[1] = {"a b"};
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 6;
    d.pieces = pieces;
    d.piece_lens = lens;
    d.merges = merges;
    d.n_merges = 1;
    d.pre = "llama-bpe";
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    if (t) {
        lc_tokenizer *back = through_gguf(t, "tiny_bpe");
        if (back) check_same(t, back, "tiny BPE");
        lc_tokenizer_free(back);
        lc_tokenizer_free(t);
    }
    d.kind = LC_TOKENIZER_SPM; /* keeps d.merges: SPM ignores them */
    d.pre = NULL;
    d.eos_id = 5;
    d.add_bos = true;
    d.add_space_prefix = false;
    t = NULL;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    if (t) {
        CHECK(lc_tokenizer_type(t, 5) == LC_TOKEN_CONTROL, "EOS defaults to a control token");
        CHECK(lc_tokenizer_n_merges(t) == 0, "SPM ignores merges");
        lc_tokenizer *back = through_gguf(t, "tiny_spm");
        if (back) check_same(t, back, "tiny SPM");
        lc_tokenizer_free(back);
        lc_tokenizer_free(t);
    }
}

/* ---- malformed metadata ------------------------------------------------- */
typedef enum {
    BAD_NONE,
    BAD_NO_MODEL,
    BAD_MODEL_BERT,
    BAD_MODEL_NOT_STRING,
    BAD_TOKENS_NOT_STRINGS,
    BAD_NO_TOKENS,
    BAD_EMPTY_TOKENS,
    BAD_SCORES_SHORT,
    BAD_SCORES_TYPE,
    BAD_TYPES_SHORT,
    BAD_TYPE_VALUE,
    BAD_BOS_RANGE,
    BAD_BOS_NONE, /* 0xFFFFFFFF: valid, means no BOS */
    BAD_BOS_STRING,
    BAD_NO_MERGES,
    BAD_MERGE_NO_SPACE,
    BAD_PRE_LONG,
    BAD_ADD_BOS_NOT_BOOL,
    BAD_NO_PRE,      /* gpt2 without tokenizer.ggml.pre: llama.cpp's "default", not implemented */
    BAD_PRE_UNKNOWN, /* a name longctx does not implement: refused, never run as GPT-2 */
    BAD_COUNT
} bad_kind;

static lc_status write_and_load(bad_kind bad, bool bpe, lc_tokenizer **out, lc_error *err) {
    char path[160];
    snprintf(path, sizeof path, "%s/bad%d.gguf", g_dir, (int)bad);
    const char *tokens[4] = {"<s>", "a", "b", "ab"};
    float scores[4] = {0, -1, -2, -3};
    int32_t types[4] = {3, 1, 1, 1};
    const char *merges[1] = {"a b"};
    lc_gguf_writer *w = NULL;
    lc_error e2;
    if (lc_gguf_writer_create(&w, &e2) != LC_OK) return lc_fail(err, LC_ERR_INTERNAL, "writer: %s", e2.msg);
    bool ok = true;
    if (bad != BAD_NO_MODEL) {
        if (bad == BAD_MODEL_NOT_STRING) ok &= lc_gguf_set_u32(w, "tokenizer.ggml.model", 1, &e2) == LC_OK;
        else ok &= lc_gguf_set_str(w, "tokenizer.ggml.model", bad == BAD_MODEL_BERT ? "bert" : bpe ? "gpt2" : "llama", &e2) == LC_OK;
    }
    if (bad == BAD_TOKENS_NOT_STRINGS) ok &= lc_gguf_set_arr_f32(w, "tokenizer.ggml.tokens", scores, 4, &e2) == LC_OK;
    else if (bad == BAD_EMPTY_TOKENS) ok &= lc_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 0, &e2) == LC_OK;
    else if (bad != BAD_NO_TOKENS) ok &= lc_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 4, &e2) == LC_OK;
    if (bad == BAD_SCORES_TYPE) ok &= lc_gguf_set_arr_i32(w, "tokenizer.ggml.scores", types, 4, &e2) == LC_OK;
    else ok &= lc_gguf_set_arr_f32(w, "tokenizer.ggml.scores", scores, bad == BAD_SCORES_SHORT ? 3 : 4, &e2) == LC_OK;
    if (bad == BAD_TYPE_VALUE) types[2] = 42;
    ok &= lc_gguf_set_arr_i32(w, "tokenizer.ggml.token_type", types, bad == BAD_TYPES_SHORT ? 2 : 4, &e2) == LC_OK;
    if (bad == BAD_BOS_STRING) ok &= lc_gguf_set_str(w, "tokenizer.ggml.bos_token_id", "0", &e2) == LC_OK;
    else
        ok &= lc_gguf_set_u32(w, "tokenizer.ggml.bos_token_id",
                              bad == BAD_BOS_RANGE ? 4u : bad == BAD_BOS_NONE ? 0xFFFFFFFFu : 0u, &e2) == LC_OK;
    if (bpe && bad != BAD_NO_MERGES) {
        if (bad == BAD_MERGE_NO_SPACE) merges[0] = "ab";
        ok &= lc_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 1, &e2) == LC_OK;
    }
    if (bad == BAD_PRE_LONG) {
        char pre[300];
        memset(pre, 'p', sizeof pre - 1);
        pre[sizeof pre - 1] = '\0';
        ok &= lc_gguf_set_str(w, "tokenizer.ggml.pre", pre, &e2) == LC_OK;
    } else if (bad == BAD_PRE_UNKNOWN) {
        ok &= lc_gguf_set_str(w, "tokenizer.ggml.pre", "jais-2", &e2) == LC_OK;
    } else if (bad != BAD_NO_PRE) {
        ok &= lc_gguf_set_str(w, "tokenizer.ggml.pre", bpe ? "gpt-2" : "default", &e2) == LC_OK;
    }
    if (bad == BAD_ADD_BOS_NOT_BOOL) ok &= lc_gguf_set_str(w, "tokenizer.ggml.add_bos_token", "yes", &e2) == LC_OK;
    ok &= lc_gguf_write(w, path, 32, &e2) == LC_OK;
    lc_gguf_writer_free(w);
    if (!ok) return lc_fail(err, LC_ERR_INTERNAL, "writing the test file: %s", e2.msg);
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    unlink(path);
    if (st != LC_OK) return lc_fail(err, LC_ERR_INTERNAL, "reading the test file back: %s", err->msg);
    st = lc_tokenizer_from_gguf(g, out, err);
    lc_gguf_close(g);
    return st;
}

static void test_malformed(void) {
    for (int b = 0; b < BAD_COUNT; b++) {
        for (int bpe = 0; bpe < 2; bpe++) {
            lc_tokenizer *t = NULL;
            lc_error err;
            lc_error_clear(&err);
            lc_status st = write_and_load((bad_kind)b, bpe, &t, &err);
            CHECK(st != LC_ERR_INTERNAL, "case %d: %s", b, err.msg);
            bool should_load = b == BAD_NONE || b == BAD_BOS_NONE ||
                               (!bpe && (b == BAD_NO_MERGES || b == BAD_MERGE_NO_SPACE || b == BAD_NO_PRE ||
                                         b == BAD_PRE_UNKNOWN));
            if (should_load) {
                CHECK(st == LC_OK && t, "case %d (%s) should load: %s", b, bpe ? "bpe" : "spm", err.msg);
                if (t && b == BAD_BOS_NONE) CHECK(lc_tokenizer_bos(t) == -1, "0xFFFFFFFF means no BOS");
                if (t && b == BAD_NONE) CHECK(lc_tokenizer_bos(t) == 0, "BOS read");
            } else {
                CHECK(st != LC_OK && !t && err.msg[0], "case %d (%s) must be refused", b, bpe ? "bpe" : "spm");
                if (b == BAD_MODEL_BERT) CHECK(st == LC_ERR_UNSUPPORTED, "unknown model: %s", lc_status_str(st));
                if (b == BAD_NO_PRE || b == BAD_PRE_UNKNOWN)
                    CHECK(st == LC_ERR_UNSUPPORTED && strstr(err.msg, "tokenizer.ggml.pre") &&
                              (b == BAD_NO_PRE || strstr(err.msg, "\"jais-2\"")),
                          "pre-tokenizer refused with its name: %s (%s)", err.msg, lc_status_str(st));
            }
            lc_tokenizer_free(t);
        }
    }
    CHECK(lc_tokenizer_from_gguf(NULL, NULL, NULL) == LC_ERR_INVALID_ARG, "NULL arguments");
}


/* A model whose vocabulary names a pre-tokenizer longctx does not implement
 * still loads, without a tokenizer, and says why (lc_model.tokenizer_note,
 * which `run` and `chat` print). The file: aidreams260K's weights with a tiny
 * byte-level BPE vocabulary (pre "gpt-2"), whose pre name is then patched to
 * "gpt-X" in place (same length). */
static void test_model_unknown_pre(void) {
    char src[512], path[160];
    lc_test_shared("models/aidreams260K.gguf", src, sizeof src);
    snprintf(path, sizeof path, "%s/unknown_pre.gguf", g_dir);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_load(src, NULL, &m, &err), &err);
    if (!m) return;
    static char chars[256][4];
    const char *pieces[256];
    for (int b = 0; b < 256; b++) {
        chars[b][lc_tok_utf8_encode(lc_tok_gpt2_byte_to_cp((uint8_t)b), chars[b])] = '\0';
        pieces[b] = chars[b];
    }
    lc_tokenizer_desc d = {0};
    d.kind = LC_TOKENIZER_BPE;
    d.n_vocab = 256;
    d.pieces = pieces;
    d.pre = "gpt-2";
    d.bos_id = d.eos_id = d.unk_id = d.pad_id = -1;
    lc_tokenizer *t = NULL;
    CHECK_OK(lc_tokenizer_create(&d, &t, &err), &err);
    if (t) CHECK_OK(lc_model_write_gguf(path, &m->cfg, &m->w, t, LC_DTYPE_COUNT, &err), &err);
    lc_tokenizer_free(t);
    lc_model_free(m);
    m = NULL;
    size_t len = 0;
    char *data = tt_read_file(path, &len);
    static const char key[] = "tokenizer.ggml.pre";
    size_t at = 0;
    bool patched = false;
    for (size_t i = 0; data && i + sizeof key - 1 + 4 + 8 + 5 <= len; i++)
        if (memcmp(data + i, key, sizeof key - 1) == 0) {
            at = i + sizeof key - 1 + 4 + 8; /* type u32, length u64, then the bytes */
            patched = memcmp(data + at, "gpt-2", 5) == 0;
            if (patched) data[at + 4] = 'X';
            break;
        }
    CHECK(patched, "found the pre-tokenizer name in the written file");
    FILE *f = data ? fopen(path, "wb") : NULL;
    CHECK(f && fwrite(data, 1, len, f) == len, "rewrite %s", path);
    if (f) fclose(f);
    free(data);
    lc_status st = lc_model_load(path, NULL, &m, &err);
    CHECK(st == LC_OK && m, "a model with an unknown pre-tokenizer still loads: %s", err.msg);
    if (m) {
        CHECK(m->tokenizer == NULL, "... without a tokenizer");
        CHECK(strstr(m->tokenizer_note, "\"gpt-X\"") && strstr(m->tokenizer_note, "tokenizer.ggml.pre"),
              "... and says why: '%s'", m->tokenizer_note);
        fprintf(stderr, "unknown pre-tokenizer: %s\n", m->tokenizer_note);
    }
    lc_model_free(m);
    if (getenv("LC_KEEP_UNKNOWN_PRE_MODEL") == NULL) unlink(path);
}

/* lc_tokenizer_open reads what the two loaders read; lc_tokenizer_encode_alloc
 * gives what lc_tokenizer_encode gives into a large buffer. */
static void test_open_and_encode_alloc(void) {
    lc_error err;
    lc_tokenizer *t = NULL;
    CHECK(lc_tokenizer_open("/nonexistent/vocab.gguf", 0, &t, &err) != LC_OK && !t, "open: a missing file");
    char path[512];
    lc_test_shared("models/llama2-tokenizer.bin", path, sizeof path);
    lc_tokenizer *ref = NULL;
    CHECK_OK(lc_tokenizer_load_llama2c(path, 32000, &ref, &err), &err);
    CHECK_OK(lc_tokenizer_open(path, 32000, &t, &err), &err);
    if (ref && t) check_same(ref, t, "open: tokenizer.bin");
    lc_tokenizer_free(t);
    t = NULL;
    char gpath[160];
    snprintf(gpath, sizeof gpath, "%s/open.gguf", g_dir);
    if (ref) CHECK_OK(lc_tokenizer_write_vocab_gguf(ref, gpath, "open", &err), &err);
    CHECK_OK(lc_tokenizer_open(gpath, 0, &t, &err), &err);
    unlink(gpath);
    if (ref && t) check_same(ref, t, "open: a vocabulary GGUF");
    lc_tokenizer_free(t);
    static const char *const texts[] = {"", "a", "Hello world", "  two  spaces\n\nand lines", "\xF0\x9F\x98\x80 \xE6\x97\xA5"};
    for (size_t i = 0; ref && i < LC_ARRAY_LEN(texts); i++) {
        const size_t len = strlen(texts[i]);
        for (int bos = 0; bos < 2; bos++) {
            int32_t want[256], *ids = NULL;
            int64_t n_want = 0, n = -1;
            CHECK_OK(lc_tokenizer_encode(ref, texts[i], len, bos, want, 256, &n_want, &err), &err);
            CHECK_OK(lc_tokenizer_encode_alloc(ref, texts[i], len, bos, &ids, &n, &err), &err);
            CHECK(ids && tt_same_ids(ids, n, want, n_want), "encode_alloc \"%s\" bos %d: %lld ids, want %lld", texts[i],
                  bos, (long long)n, (long long)n_want);
            free(ids);
        }
    }
    int32_t *ids = (int32_t *)&err;
    int64_t n = 5;
    CHECK(lc_tokenizer_encode_alloc(ref, NULL, 3, true, &ids, &n, &err) == LC_ERR_INVALID_ARG && !ids && n == 0,
          "encode_alloc: NULL text of 3 bytes");
    lc_tokenizer_free(ref);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/lc_test_tokenizer_XXXXXX");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    test_tiny_round_trips();
    test_malformed();
    test_real_round_trips();
    test_model_unknown_pre();
    test_open_and_encode_alloc();
    rmdir(g_dir);
    return lc_test_finish("test_tokenizer_gguf");
}
