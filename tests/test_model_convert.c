/*
 * Model files written by lc_random_model_write and lc_model_convert (what
 * `longctx convert` does): the default types, a quantized spec, a streamed
 * family, re-typing a GGUF, the tokenizer notes; each file read back with the
 * GGUF reader and the loader, not through the writer's own report alone.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/gguf.h"
#include "longctx/model_presets.h"
#include "test_util.h"

/* Tensors of type t in the GGUF at path (-1 when it does not open). */
static int64_t count_type(const char *path, lc_dtype t) {
    lc_error err;
    lc_gguf *g = NULL;
    if (lc_gguf_open(path, &g, &err) != LC_OK) return -1;
    int64_t n = 0;
    for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) n += lc_gguf_tensor_at(g, i)->dtype == t;
    lc_gguf_close(g);
    return n;
}

static void llama_spec(lc_random_model_spec *s) {
    lc_random_model_spec_init(s);
    s->dim = 64, s->hidden = 96, s->layers = 2, s->heads = 4, s->vocab = 64, s->ctx = 64;
}

static void test_random(const char *dir) {
    char p1[512], p2[512], p3[512];
    snprintf(p1, sizeof p1, "%s/r.gguf", dir);
    snprintf(p2, sizeof p2, "%s/q.gguf", dir);
    snprintf(p3, sizeof p3, "%s/t.gguf", dir);
    lc_random_model_spec rs;
    llama_spec(&rs);
    lc_model_config c;
    lc_error err;
    CHECK_OK(lc_random_model_config(&rs, &c, &err), &err);
    lc_model_write_report r;
    CHECK_OK(lc_random_model_write(p1, &c, NULL, 3, &r, &err), &err);
    const int64_t tensors = 3 + 2 * 9; /* embedding, final norm, classifier; 9 a layer */
    CHECK(!r.streamed && strcmp(r.type, "f32") == 0 && r.n_params == lc_model_n_params(&c) && r.generate_s >= 0,
          "default f32: type %s", r.type);
    CHECK(count_type(p1, LC_DTYPE_F32) == tensors, "f32 tensors %lld", (long long)count_type(p1, LC_DTYPE_F32));
    char line[512], want[256];
    FILE *f = fmemopen(line, sizeof line, "w");
    lc_random_model_print(f, "r.gguf", &c, &r, 3);
    fclose(f);
    snprintf(want, sizeof want,
             "wrote r.gguf: random llama, dim 64, hidden 96, layers 2, heads 4/4, vocab 64, ctx 64, f32, %lld "
             "parameters, seed 3 (generate ",
             (long long)r.n_params);
    CHECK(strncmp(line, want, strlen(want)) == 0, "want '%s' in '%s'", want, line);
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(p1, NULL, &m, &err), &err);
    CHECK(m && lc_model_n_params(&m->cfg) == r.n_params, "loads with the same parameters");
    lc_model_free(m);

    /* q4_0: a type the generator does not make: made in f16, quantized on writing */
    lc_quant_spec q;
    CHECK_OK(lc_quant_spec_parse("q4_0", &q, &err), &err);
    CHECK_OK(lc_random_model_write(p2, &c, &q, 3, &r, &err), &err);
    CHECK(count_type(p2, LC_DTYPE_Q4_0) >= 2 * 7 && count_type(p2, LC_DTYPE_F32) == 2 * 2 + 1,
          "q4_0 matrices %lld, f32 norms %lld", (long long)count_type(p2, LC_DTYPE_Q4_0),
          (long long)count_type(p2, LC_DTYPE_F32));

    /* re-typing a GGUF: types kept without a spec, a tokenizer.bin noted as ignored */
    CHECK_OK(lc_model_convert(p2, p3, "unused.bin", NULL, &r, &err), &err);
    CHECK(strcmp(r.format, "gguf") == 0 && strcmp(r.type, "(types kept)") == 0 && r.tokenizer_ignored &&
              !r.tokenizer_dropped && !r.has_tokenizer,
          "gguf -> gguf: %s %s", r.format, r.type);
    CHECK(count_type(p3, LC_DTYPE_Q4_0) == count_type(p2, LC_DTYPE_Q4_0), "types kept");
    lc_quant_spec f16;
    lc_quant_spec_pure(LC_DTYPE_F16, &f16);
    CHECK_OK(lc_model_convert(p1, p3, NULL, &f16, &r, &err), &err);
    CHECK(count_type(p3, LC_DTYPE_F16) == 2 * 7 + 2 && !r.tokenizer_ignored, "f16 matrices %lld",
          (long long)count_type(p3, LC_DTYPE_F16));
    CHECK(lc_model_convert("/nonexistent.gguf", p3, NULL, NULL, &r, &err) != LC_OK, "a missing input");
    unlink(p1), unlink(p2), unlink(p3);
}

static void test_family(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/f.gguf", dir);
    lc_random_model_spec rs;
    lc_random_model_spec_init(&rs);
    rs.arch = "gpt-oss";
    rs.dim = 64, rs.layers = 2, rs.heads = 4, rs.kv_heads = 2, rs.vocab = 64, rs.head_dim = 16;
    rs.experts = 4, rs.experts_used = 2, rs.expert_ffn = 32;
    lc_model_config c;
    lc_error err;
    CHECK_OK(lc_random_model_config(&rs, &c, &err), &err);
    lc_model_write_report r;
    CHECK_OK(lc_random_model_write(p, &c, NULL, 1, &r, &err), &err);
    CHECK(r.streamed && strcmp(r.type, "q8_0") == 0 && r.generate_s == 0, "family: streamed q8_0 (%s)", r.type);
    CHECK(count_type(p, LC_DTYPE_Q8_0) > 0, "q8_0 tensors");
    char line[512];
    FILE *f = fmemopen(line, sizeof line, "w");
    lc_random_model_print(f, "f.gguf", &c, &r, 1);
    fclose(f);
    CHECK(strstr(line, "wrote f.gguf: random gpt-oss, dim 64, layers 2, heads 4/2 x 16, vocab 64, ") &&
              strstr(line, "4 experts x 32 (2 used), window 128, q8_0, ") && strstr(line, "s, streamed)\n"),
          "%s", line);
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(p, NULL, &m, &err), &err);
    CHECK(m && strcmp(m->cfg.arch, "gpt-oss") == 0, "loads as gpt-oss");
    lc_model_free(m);
    unlink(p);
}

static void test_llama2c(const char *dir) {
    if (!lc_test_have_shared("llama2.c conversion")) return;
    char in[512], tok[512], out[512];
    snprintf(in, sizeof in, "%s/models/aidreams260K.bin", LC_SHARED_DIR);
    snprintf(tok, sizeof tok, "%s/models/aidreams-tok512.bin", LC_SHARED_DIR);
    snprintf(out, sizeof out, "%s/a.gguf", dir);
    lc_model_write_report r;
    lc_error err;
    CHECK_OK(lc_model_convert(in, out, tok, NULL, &r, &err), &err);
    CHECK(strcmp(r.format, "llama2c") == 0 && strcmp(r.type, "f32") == 0 && r.has_tokenizer && !r.tokenizer_ignored,
          "llama2c: %s %s", r.format, r.type);
    lc_model *m = NULL;
    CHECK_OK(lc_model_load(out, NULL, &m, &err), &err);
    CHECK(m && m->tokenizer && lc_model_n_params(&m->cfg) == r.n_params, "the tokenizer is carried");
    lc_model_free(m);
    unlink(out);
}

int main(void) {
    char dir[] = "/tmp/test_model_convert_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    test_random(dir);
    test_family(dir);
    test_llama2c(dir);
    rmdir(dir);
    return lc_test_finish("test_model_convert");
}
