/*
 * llama.cpp's own tokenizer test vectors (/work/shared/vocab/llama.cpp-tests:
 * *.inp strings, *.out expected ids, no BOS, no special-token parsing) for
 * every vocabulary there (Llama-2 and Phi-3 SentencePiece; GPT-2, Llama-3,
 * Qwen2, Command-R and DeepSeek-LLM byte-level BPE; Gemma 4's BPE): every
 * case must match exactly, and each vocabulary's count is printed. The Llama-2 cases also go through llama2.c's tokenizer.bin
 * of the same vocabulary (with the same space-prefix convention they must
 * agree), and the aidreams tokenizer.bin must load into the same tokenizer as
 * the GGUF llama.cpp's converter made from it.
 */
#include <string.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"
#include "test_util.h"
#include "test_tokenizer_util.h"

static lc_tokenizer *from_gguf(const char *rel) {
    char path[512];
    lc_test_shared(rel, path, sizeof path);
    lc_gguf *g = NULL;
    lc_tokenizer *t = NULL;
    lc_error err;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (!g) return NULL;
    CHECK_OK(lc_tokenizer_from_gguf(g, &t, &err), &err);
    lc_gguf_close(g);
    return t;
}

typedef struct {
    char label[48];
    int ok, n;
} vocab_result;

static vocab_result results[16];
static int n_results;

static void run(const lc_tokenizer *t, const char *vocab, const char *label) {
    char inp[512], out[512];
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/llama.cpp-tests/%s.inp", vocab);
    lc_test_shared(rel, inp, sizeof inp);
    snprintf(rel, sizeof rel, "vocab/llama.cpp-tests/%s.out", vocab);
    lc_test_shared(rel, out, sizeof out);
    tt_vectors v;
    CHECK(tt_vectors_load(inp, out, &v) == 0, "parse %s", inp);
    if (!t || v.n == 0) {
        tt_vectors_free(&v);
        return;
    }
    int failed = 0, ok = tt_run_vectors(t, &v, label, &failed);
    fprintf(stderr, "%-40s %d/%d llama.cpp cases match\n", label, ok, v.n);
    if (n_results < (int)LC_ARRAY_LEN(results)) {
        vocab_result *r = &results[n_results++];
        snprintf(r->label, sizeof r->label, "%s", label);
        r->ok = ok, r->n = v.n;
    }
    CHECK(failed == 0 && ok == v.n && v.n >= 40, "%s: %d of %d cases differ", label, failed, v.n);
    tt_vectors_free(&v);
}

/* Two tokenizers hold the same data. */
static void check_same(const lc_tokenizer *a, const lc_tokenizer *b, const char *what) {
    CHECK(lc_tokenizer_kind_of(a) == lc_tokenizer_kind_of(b), "%s: kind", what);
    CHECK(lc_tokenizer_n_vocab(a) == lc_tokenizer_n_vocab(b), "%s: n_vocab", what);
    int diff = 0;
    for (int32_t i = 0; i < lc_tokenizer_n_vocab(a) && i < lc_tokenizer_n_vocab(b); i++) {
        size_t la, lb;
        const char *pa = lc_tokenizer_piece(a, i, &la), *pb = lc_tokenizer_piece(b, i, &lb);
        if (la != lb || memcmp(pa, pb, la) != 0 || lc_tokenizer_score(a, i) != lc_tokenizer_score(b, i) ||
            lc_tokenizer_type(a, i) != lc_tokenizer_type(b, i)) {
            if (diff++ < 3) fprintf(stderr, "%s: token %d differs ('%.*s' vs '%.*s')\n", what, i, (int)la, pa, (int)lb, pb);
        }
    }
    CHECK(diff == 0, "%s: %d tokens differ", what, diff);
    CHECK(lc_tokenizer_bos(a) == lc_tokenizer_bos(b) && lc_tokenizer_eos(a) == lc_tokenizer_eos(b) &&
              lc_tokenizer_unk(a) == lc_tokenizer_unk(b),
          "%s: special ids", what);
    CHECK(lc_tokenizer_add_space_prefix(a) == lc_tokenizer_add_space_prefix(b), "%s: space prefix", what);
}

/* The end-of-generation ids equal want (any order): the sets llama.cpp prints
 * when it loads the same file ("EOG token = ..."), tree of ../shared/peers. */
static void check_eog(const lc_tokenizer *t, const char *what, const int32_t *want, int n_want) {
    int32_t got[16];
    int n = lc_tokenizer_eog_ids(t, got, 16);
    bool same = n == n_want;
    for (int i = 0; same && i < n_want; i++) same = lc_tokenizer_is_eog(t, want[i]);
    CHECK(same, "%s: %d end-of-generation ids, llama.cpp has %d", what, n, n_want);
    CHECK(!lc_tokenizer_is_eog(t, -1) && !lc_tokenizer_is_eog(t, lc_tokenizer_n_vocab(t)), "%s: is_eog bounds", what);
}

#define EOG(...) (const int32_t[]){__VA_ARGS__}, (int)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* A vocabulary used only for its vectors. */
static void run_file(const char *name, const char *want_pre, bool want_bos, const int32_t *eog, int n_eog) {
    char rel[256], file[128];
    snprintf(file, sizeof file, "ggml-vocab-%s.gguf", name);
    snprintf(rel, sizeof rel, "vocab/%s", file);
    lc_tokenizer *t = from_gguf(rel);
    if (!t) return;
    bool impl = false;
    const char *pre = lc_tokenizer_pre_name(t, &impl);
    CHECK(strcmp(pre, want_pre) == 0 && impl, "%s: pre-tokenizer %s, expected %s", file, pre, want_pre);
    CHECK(lc_tokenizer_add_bos(t) == want_bos, "%s: add_bos %d", file, lc_tokenizer_add_bos(t));
    CHECK(!lc_tokenizer_add_eos(t), "%s: add_eos", file);
    check_eog(t, file, eog, n_eog);
    run(t, file, file);
    lc_tokenizer_free(t);
}

/* The tokenizers of the model fixtures (../shared/fixtures/<family>/
 * model.f16.gguf, written by llama.cpp's converter) load with the
 * pre-tokenizer their info.json names, and round-trip a text. */
static void test_fixture_tokenizers(void) {
    /* eog: the end-of-generation ids llama.cpp prints for the file */
    static const struct {
        const char *family, *pre;
        lc_tokenizer_kind kind;
        int32_t eog[3];
        int n_eog;
    } fx[] = {
        {"llama3", "llama-bpe", LC_TOKENIZER_BPE, {508, 511}, 2}, {"qwen2", "qwen2", LC_TOKENIZER_BPE, {509, 510, 511}, 3},
        {"qwen3", "qwen2", LC_TOKENIZER_BPE, {507, 508, 509}, 3}, {"qwen3-next", "qwen2", LC_TOKENIZER_BPE, {507, 508, 509}, 3},
        {"gpt-oss", "gpt-4o", LC_TOKENIZER_BPE, {505, 506, 511}, 3}, {"mistral", "default", LC_TOKENIZER_SPM, {2}, 1},
        {"phi3", "default", LC_TOKENIZER_SPM, {2}, 1},             {"gemma2", "default", LC_TOKENIZER_SPM, {1}, 1},
        {"gemma3", "default", LC_TOKENIZER_SPM, {1}, 1},
    };
    static const char text[] = "Long contexts: KV caches of 131072 tokens don't fit, so WINDOW layers keep 4096.\n\n"
                               "Ünïcödé, 中文, emoji 🦙 and   spaces\t\r\n";
    int loaded = 0;
    for (size_t i = 0; i < LC_ARRAY_LEN(fx); i++) {
        char rel[128], path[512];
        snprintf(rel, sizeof rel, "fixtures/%s/model.f16.gguf", fx[i].family);
        lc_test_shared(rel, path, sizeof path);
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "skipped: %s is absent\n", path);
            continue;
        }
        fclose(f);
        lc_tokenizer *t = from_gguf(rel);
        if (!t) continue;
        loaded++;
        CHECK(lc_tokenizer_kind_of(t) == fx[i].kind && strcmp(lc_tokenizer_pre_name(t, NULL), fx[i].pre) == 0,
              "%s: tokenizer kind %d pre %s", fx[i].family, (int)lc_tokenizer_kind_of(t), lc_tokenizer_pre_name(t, NULL));
        check_eog(t, fx[i].family, fx[i].eog, fx[i].n_eog);
        int64_t n = 0;
        int32_t *ids = tt_encode(t, text, sizeof text - 1, false, &n);
        size_t len = 0;
        char *back = ids ? tt_decode(t, ids, n, &len) : NULL;
        CHECK(back && len == sizeof text - 1 && memcmp(back, text, len) == 0, "%s: round trip", fx[i].family);
        fprintf(stderr, "fixture %-11s %s %-9s %lld tokens for %zu bytes, round trip %s\n", fx[i].family,
                fx[i].kind == LC_TOKENIZER_SPM ? "spm" : "bpe", fx[i].pre, (long long)n, sizeof text - 1,
                back && len == sizeof text - 1 ? "exact" : "FAILED");
        free(ids);
        free(back);
        lc_tokenizer_free(t);
    }
    fprintf(stderr, "fixture tokenizers loaded: %d of %zu\n", loaded, LC_ARRAY_LEN(fx));
}

int main(void) {
    lc_tokenizer *spm = from_gguf("vocab/ggml-vocab-llama-spm.gguf");
    run(spm, "ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-spm.gguf");
    if (spm) check_eog(spm, "llama-spm", EOG(2));
    lc_tokenizer *phi3 = from_gguf("vocab/ggml-vocab-phi-3.gguf");
    run(phi3, "ggml-vocab-phi-3.gguf", "ggml-vocab-phi-3.gguf");
    if (phi3) check_eog(phi3, "phi-3", EOG(2, 32000, 32007));
    lc_tokenizer *gpt2 = from_gguf("vocab/ggml-vocab-gpt-2.gguf");
    run(gpt2, "ggml-vocab-gpt-2.gguf", "ggml-vocab-gpt-2.gguf");
    if (gpt2) check_eog(gpt2, "gpt-2", EOG(50256));

    char path[512];
    lc_tokenizer *bin = NULL;
    lc_error err;
    lc_test_shared("models/llama2-tokenizer.bin", path, sizeof path);
    CHECK_OK(lc_tokenizer_load_llama2c(path, 32000, &bin, &err), &err);
    run(bin, "ggml-vocab-llama-spm.gguf", "llama2-tokenizer.bin (llama-spm cases)");
    if (bin && spm) check_same(bin, spm, "llama2-tokenizer.bin vs ggml-vocab-llama-spm.gguf");
    lc_tokenizer_free(bin);

    lc_tokenizer *aid = from_gguf("models/aidreams260K.gguf"), *aid_bin = NULL;
    lc_test_shared("models/aidreams-tok512.bin", path, sizeof path);
    CHECK_OK(lc_tokenizer_load_llama2c(path, 512, &aid_bin, &err), &err);
    if (aid && aid_bin) check_same(aid_bin, aid, "aidreams-tok512.bin vs aidreams260K.gguf");
    lc_tokenizer_free(aid);
    lc_tokenizer_free(aid_bin);

    lc_tokenizer_free(spm);
    lc_tokenizer_free(phi3);
    lc_tokenizer_free(gpt2);

    /* add_bos as llama.cpp reads it: llama-bpe defaults to true, qwen2 has no
     * key (false), command-r, deepseek-llm and gemma-4 say true. */
    run_file("llama-bpe", "llama-bpe", true, EOG(128001, 128009));
    run_file("qwen2", "qwen2", false, EOG(128247, 151643, 151645));
    run_file("command-r", "command-r", true, EOG(0, 255001));
    run_file("deepseek-llm", "deepseek-llm", true, EOG(100001));
    run_file("gemma-4", "gemma4", true, EOG(1, 50, 106));

    test_fixture_tokenizers();

    fprintf(stderr, "\nllama.cpp test vectors per vocabulary:\n");
    for (int i = 0; i < n_results; i++)
        fprintf(stderr, "  %-42s %2d/%2d%s\n", results[i].label, results[i].ok, results[i].n,
                results[i].ok == results[i].n ? "" : "  FAIL");
    return lc_test_finish("test_tokenizer_vectors");
}
