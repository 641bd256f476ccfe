/*
 * The model summary of longctx/model_info.h (what `longctx info` prints):
 * a random model of a known shape, in memory and written to a GGUF, printed
 * as text and JSON; every fact checked against what the shape implies,
 * computed here from the Llama layout (not from the library's counters).
 * lc_model_info_write_file writes what lc_model_info_write does for the
 * model it loads (a GGUF, a llama2.c file with its tokenizer), a vocabulary
 * GGUF as a GGUF, a GGUF that holds tensors but does not load as a GGUF with
 * the load's error, and nothing for a missing file.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/model_info.h"
#include "test_model_util.h"
#include "test_util.h"

/* What a printer writes, as a string (the caller frees it). */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} capture;

static void cap_open(capture *c) {
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
}
static char *cap_close(capture *c) {
    fclose(c->f);
    return c->buf;
}

/* The line of a text summary named `name`, or NULL. */
static const char *line_of(const char *text, const char *name) {
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ' ') return p;
    return NULL;
}

static bool line_has(const char *text, const char *name, const char *what) {
    const char *l = line_of(text, name);
    if (!l) return false;
    const char *end = strchr(l, '\n');
    const char *hit = strstr(l, what);
    return hit && (!end || hit < end);
}

/* Llama parameters: embedding, final norm, the classifier when untied; per
 * layer two norms, q/o (dim x heads*hd), k/v (dim x kv*hd), three FFN matrices. */
static int64_t llama_params(const lc_model_config *c) {
    const int64_t d = c->dim, q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    const int64_t layer = 2 * d + 2 * d * q + 2 * d * kv + 3 * d * c->hidden_dim;
    return (int64_t)c->vocab_size * d * (c->tied_output ? 1 : 2) + d + c->n_layers * layer;
}

static void check_memory_model(const lc_model *m, const lc_model_config *c) {
    char want[96];
    capture cap;
    cap_open(&cap);
    lc_model_info_print(cap.f, "mem.gguf", m, NULL);
    char *t = cap_close(&cap);
    CHECK(line_has(t, "file", "mem.gguf"), "%s", t);
    CHECK(line_has(t, "architecture", "llama"), "%s", t);
    snprintf(want, sizeof want, "dim %d, hidden %d, layers %d, heads %d, kv heads %d, head dim %d, vocab %d", c->dim,
             c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size);
    CHECK(line_has(t, "shape", want), "want '%s' in:\n%s", want, t);
    snprintf(want, sizeof want, "(%lld)", (long long)llama_params(c));
    CHECK(line_has(t, "parameters", want), "want '%s' in:\n%s", want, t);
    /* f32 K and V: layers x 2 x kv heads x head dim x 4 bytes a token, x 1024 */
    const int64_t kv1k = (int64_t)c->n_layers * 2 * c->n_kv_heads * c->head_dim * 4 * 1024;
    CHECK(kv1k == 512 * 1024, "test shape: %lld", (long long)kv1k);
    CHECK(line_has(t, "kv cache/1K", "f32: 512.0 KiB, f16: 256.0 KiB"), "%s", t);
    CHECK(line_has(t, "kv cache/1K", "q8_0: n/a (head dim 16)"), "%s", t); /* 16 is no whole Q8_0 block */
    CHECK(line_has(t, "context", "64 tokens"), "%s", t);
    CHECK(line_has(t, "tokenizer", "none"), "%s", t);
    CHECK(line_has(t, "layers", "all 2 layers global"), "%s", t);
    free(t);
}

static void check_json(const lc_model *m, const lc_model_config *c, const lc_gguf *g) {
    char want[96];
    capture cap;
    cap_open(&cap);
    lc_json_writer w;
    lc_json_init(&w, cap.f, false);
    lc_model_info_json(&w, "r.gguf", m, g, true);
    lc_json_finish(&w);
    char *j = cap_close(&cap);
    snprintf(want, sizeof want, "\"n_params\":%lld", (long long)llama_params(c));
    CHECK(strstr(j, want), "want %s in %s", want, j);
    CHECK(strstr(j, "\"format\":\"gguf\""), "%s", j);
    CHECK(strstr(j, "\"kv_bytes_per_1k_tokens\":{\"f32\":524288,\"f16\":262144,\"q8_0\":null}"), "%s", j);
    CHECK(strstr(j, "\"layer_kinds\":[\"global\",\"global\"]"), "%s", j);
    CHECK(strstr(j, "\"metadata\":{") && strstr(j, "\"general.architecture\":\"llama\""), "%s", j);
    /* every tensor is f16 or f32: the matrices 7 a layer + embedding + classifier, the norms 2 a layer + 1 */
    snprintf(want, sizeof want, "\"tensor_types\":{\"f32\":%d,\"f16\":%d}", 2 * c->n_layers + 1, 7 * c->n_layers + 2);
    CHECK(strstr(j, want), "want %s in %s", want, j);
    CHECK(j[0] == '{' && j[strlen(j) - 1 - (j[strlen(j) - 1] == '\n')] == '}', "%s", j);
    free(j);
}

static void check_gguf(const char *path, const lc_model_config *c) {
    lc_error err;
    lc_gguf *g = NULL;
    lc_model *m = NULL;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
    if (!g || !m) {
        lc_gguf_close(g);
        lc_model_free(m);
        return;
    }
    capture cap;
    cap_open(&cap);
    lc_model_info_print(cap.f, path, m, g);
    char *t = cap_close(&cap);
    char want[64];
    snprintf(want, sizeof want, "gguf v3, %d tensors", 9 * c->n_layers + 3);
    CHECK(line_has(t, "format", want), "want '%s' in:\n%s", want, t);
    CHECK(line_has(t, "tensor types", "f32: ") && line_has(t, "tensor types", "f16: "), "%s", t);
    free(t);
    check_json(m, c, g);

    cap_open(&cap);
    lc_gguf_info_print(cap.f, path, g);
    t = cap_close(&cap);
    CHECK(line_has(t, "architecture", "llama"), "%s", t);
    CHECK(line_has(t, "tensor types", "of tensors)"), "%s", t);
    CHECK(strstr(t, "\nmetadata:\n") && strstr(t, "  general.architecture "), "%s", t);
    snprintf(want, sizeof want, "llama.block_count");
    const char *bc = strstr(t, want);
    char n[16];
    snprintf(n, sizeof n, " %d\n", c->n_layers);
    CHECK(bc && strstr(bc, n) && strstr(bc, n) < strchr(bc, '\n') + 1, "%s", t);
    free(t);

    cap_open(&cap);
    lc_json_writer w;
    lc_json_init(&w, cap.f, false);
    lc_gguf_info_json(&w, path, g);
    lc_json_finish(&w);
    t = cap_close(&cap);
    snprintf(want, sizeof want, "\"n_tensors\":%d", 9 * c->n_layers + 3);
    CHECK(strstr(t, want) && strstr(t, "\"architecture\":\"llama\""), "%s", t);
    CHECK(strstr(t, "\"tokenizer\":{\"kind\":\"none\",\"n_tokens\":0}"), "%s", t);
    free(t);
    /* the one entry point: a model with its keys, the GGUF alone, JSON */
    cap_open(&cap);
    lc_model_info_write(cap.f, path, m, g, false, true);
    t = cap_close(&cap);
    const char *kvl = line_of(t, "kv cache/1K");
    CHECK(kvl && strstr(kvl, "\nmetadata:\n  general.architecture "), "%s", t);
    free(t);
    cap_open(&cap);
    lc_model_info_write(cap.f, path, NULL, g, false, false);
    t = cap_close(&cap);
    CHECK(line_has(t, "format", "keys") && !line_of(t, "shape") && strstr(t, "\nmetadata:\n"), "%s", t);
    free(t);
    cap_open(&cap);
    lc_model_info_write(cap.f, path, m, g, true, false);
    t = cap_close(&cap);
    CHECK(t[0] == '{' && strstr(t, "\"n_params\": ") && !strstr(t, "\"metadata\""), "%s", t);
    free(t);
    lc_model_free(m);
    lc_gguf_close(g);
}

/* What lc_model_info_write_file writes for path (and its status in *st). */
static char *write_file(const char *path, const char *tok, bool json, bool kv, lc_status *st) {
    capture cap;
    cap_open(&cap);
    lc_error err;
    *st = lc_model_info_write_file(cap.f, path, tok, json, kv, &err);
    return cap_close(&cap);
}

/* ... and what lc_model_info_write writes for the model loaded from path and its GGUF. */
static char *write_loaded(const char *path, const char *tok, bool json, bool kv, bool load) {
    capture cap;
    cap_open(&cap);
    lc_error err;
    lc_gguf *g = NULL;
    lc_model *m = NULL;
    if (lc_gguf_file_has_magic(path)) CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    const lc_model_load_opts lo = {.tokenizer_path = tok};
    if (load) CHECK_OK(lc_model_load(path, &lo, &m, &err), &err);
    lc_model_info_write(cap.f, path, m, g, json, kv);
    lc_model_free(m);
    lc_gguf_close(g);
    return cap_close(&cap);
}

static void check_write_file(const char *model_path) {
    lc_status st;
    for (int k = 0; k < 4; k++) { /* text, text + keys, JSON, JSON + keys */
        char *a = write_file(model_path, "/ignored/for/a/gguf", k >= 2, k & 1, &st);
        char *b = write_loaded(model_path, NULL, k >= 2, k & 1, true);
        CHECK(st == LC_OK && a && b && strcmp(a, b) == 0 && strlen(a) > 100, "model GGUF, case %d:\n%s", k, a);
        free(a);
        free(b);
    }
    char *a = write_file("/nonexistent/model.gguf", NULL, false, false, &st);
    CHECK(st == LC_ERR_IO && a && !*a, "a missing file: status %d, '%s'", (int)st, a ? a : "");
    free(a);

    char bad[] = "/tmp/test_model_info_bad_XXXXXX"; /* tensors, but no model */
    const int fd = mkstemp(bad);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    lc_gguf_writer *w = NULL;
    lc_error err;
    const float v[4] = {1, 2, 3, 4};
    const int64_t ne[1] = {4};
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    if (w && fd >= 0) {
        CHECK_OK(lc_gguf_set_str(w, "general.architecture", "llama", &err), &err);
        CHECK_OK(lc_gguf_add_tensor(w, "not.a.weight", LC_DTYPE_F32, 1, ne, v, &err), &err);
        CHECK_OK(lc_gguf_write(w, bad, 32, &err), &err);
        a = write_file(bad, NULL, false, true, &st);
        char *b = write_loaded(bad, NULL, false, true, false);
        CHECK(st != LC_OK && a && b && strcmp(a, b) == 0 && strstr(a, "llama"),
              "a GGUF that does not load: status %d:\n%s", (int)st, a ? a : "");
        free(a);
        free(b);
    }
    lc_gguf_writer_free(w);
    unlink(bad);
}

/* The same for files of ../shared: a vocabulary, a llama2.c model with its tokenizer. */
static void check_write_file_shared(void) {
    lc_status st;
    char vocab[512], tok[512], bin[512];
    lc_test_shared("vocab/ggml-vocab-llama-spm.gguf", vocab, sizeof vocab);
    char *a = write_file(vocab, NULL, false, true, &st);
    char *b = write_loaded(vocab, NULL, false, true, false);
    CHECK(st == LC_OK && a && b && strcmp(a, b) == 0 && strstr(a, "tokenizer.ggml.model"), "a vocabulary:\n%.300s", a);
    free(a);
    free(b);
    lc_test_shared("models/aidreams260K.bin", bin, sizeof bin);
    lc_test_shared("models/aidreams-tok512.bin", tok, sizeof tok);
    a = write_file(bin, tok, false, false, &st);
    b = write_loaded(bin, tok, false, false, true);
    CHECK(st == LC_OK && a && b && strcmp(a, b) == 0 && strstr(a, "512"), "a llama2.c model:\n%s", a);
    free(a);
    free(b);
}

int main(void) {
    lc_model_config c = test_llama_config(64, 96, 2, 4, 2, 16, 40);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 7, &m, &err), &err);
    if (m) check_memory_model(m, &c);

    char path[] = "/tmp/test_model_info_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    if (m && fd >= 0) {
        CHECK_OK(lc_model_write_gguf(path, &m->cfg, &m->w, NULL, LC_DTYPE_F16, &err), &err);
        check_gguf(path, &c);
        check_write_file(path);
        unlink(path);
    }
    lc_model_free(m);
    check_write_file_shared(); /* last: lc_test_shared skips when ../shared is absent */
    return lc_test_finish("test_model_info");
}
