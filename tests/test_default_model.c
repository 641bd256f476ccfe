/*
 * The shipped models (models/longctx-*.gguf, see models/README.md) load, carry the
 * configuration they were trained with, and answer passkey samples end to
 * end through the runtime:
 *
 *  - longctx-default.gguf: llama, trained at 512 tokens, no RoPE scaling,
 *    softmax attention, the synthetic 896-piece vocabulary (its tokenizer
 *    encodes a sample's prompt text to exactly the generator's ids); greedy
 *    answers to 5 passkey samples at 512 tokens (needle depths 0 .. 1, seeds
 *    disjoint from training): at least 4 right;
 *  - longctx-yarn8.gguf: YaRN, factor 8, original context 512, trained at
 *    4096; passkey samples at 4096 tokens: at least 2 of 3 right;
 *  - longctx-linear.gguf: longctx.attention = "linear:elu" (the runtime picks
 *    linear attention), same shape as the default; it answers passkey samples
 *    end to end (the answer it gives is a 5-digit number; its accuracy is
 *    reported in docs/models.md, not asserted here).
 *
 * Skipped when models/longctx-default.gguf is absent. LONGCTX_TEST_QUICK=1
 * (sanitizer CI) runs fewer and shorter samples.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"
#include "test_util.h"

#define MODELS_DIR LC_TEST_DATA_DIR "/../../models"
#define EVAL_SEED 3000000000ull /* far from the training streams' derived seeds */


static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static lc_model *load(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MODELS_DIR, name);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
    return m;
}

/* Common to all three: the llama architecture, the synthetic vocabulary and a
 * tokenizer that encodes task prompts to the generator's ids. */
static void check_common(const char *name, const lc_model *m, const lc_tokenizer *synth) {
    CHECK(strcmp(m->cfg.arch, "llama") == 0, "%s: architecture '%s'", name, m->cfg.arch);
    CHECK(m->cfg.vocab_size == LC_TASKS_VOCAB_SIZE, "%s: vocabulary %d", name, m->cfg.vocab_size);
    CHECK(m->tokenizer != NULL, "%s: carries its tokenizer", name);
    if (!m->tokenizer) return;
    CHECK(lc_tokenizer_n_vocab(m->tokenizer) == LC_TASKS_VOCAB_SIZE, "%s: tokenizer size", name);
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_MULTIKEY, 200);
    lc_task_sample s;
    lc_error err;
    CHECK_OK(lc_task_generate(&spec, synth, EVAL_SEED + 99, &s, &err), &err);
    int64_t n = 0;
    int32_t *ids = (int32_t *)malloc((size_t)s.n_tokens * 2 * sizeof(int32_t));
    CHECK_OK(lc_tokenizer_encode(m->tokenizer, s.prompt, s.prompt_len, true, ids, s.n_tokens * 2, &n, &err), &err);
    CHECK(n == s.n_prompt && memcmp(ids, s.ids, (size_t)n * sizeof(int32_t)) == 0,
          "%s: the model's tokenizer encodes the prompt as the generator does (%lld vs %lld ids)", name,
          (long long)n, (long long)s.n_prompt);
    free(ids);
    lc_task_sample_free(&s);
}

/* Greedy answers to n passkey samples of n_tokens at depths spread over
 * [0, 1]; returns how many are right. Each answer must look like one (digits
 * only) when want_digits is set. */
static int passkey_right(const char *name, const lc_model *m, const lc_tokenizer *synth, int64_t n_tokens, int n,
                         bool want_digits) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = n_tokens + 16;
    o.n_threads = 2;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (!ctx) return 0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        lc_task_spec spec;
        lc_task_spec_init(&spec, LC_TASK_PASSKEY, n_tokens);
        spec.depth = n > 1 ? (double)i / (double)(n - 1) : 0.5;
        lc_task_sample s;
        CHECK_OK(lc_task_generate(&spec, synth, EVAL_SEED + (uint64_t)i, &s, &err), &err);
        if (!s.ids) break;
        lc_generate_opts g;
        lc_generate_opts_init(&g);
        g.n_predict = 8;
        g.eos_id = lc_tokenizer_eos(synth);
        int32_t out[8];
        lc_generate_result res;
        lc_context_reset(ctx);
        CHECK_OK(lc_generate(ctx, s.ids, s.n_prompt, &g, out, 8, &res, &err), &err);
        char text[128];
        size_t len = 0;
        for (int64_t k = 0; k < res.n_generated && k < 8; k++)
            len += lc_tokenizer_decode_token(synth, k ? out[k - 1] : s.ids[s.n_prompt - 1], out[k], text + len,
                                             sizeof text - 1 - len);
        text[len] = '\0';
        const bool ok = lc_task_score(LC_TASK_PASSKEY, s.answer, text, len) > 0.5;
        right += ok;
        fprintf(stderr, "  %s: passkey %lld tokens, depth %.2f: want\"%s\" got \"%s\" %s\n", name,
                (long long)s.n_tokens, spec.depth, s.answer, text, ok ? "ok" : "wrong");
        if (want_digits) {
            size_t a = 0, b = len;
            while (a < b && isspace((unsigned char)text[a])) a++;
            while (b > a && (isspace((unsigned char)text[b - 1]) || text[b - 1] == '.')) b--;
            bool digits = b - a == 5;
            for (size_t k = a; k < b; k++) digits = digits && isdigit((unsigned char)text[k]);
            CHECK(digits, "%s: the answer \"%s\" is a 5-digit number", name, text);
        }
        lc_task_sample_free(&s);
    }
    lc_context_free(ctx);
    return right;
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/longctx-default.gguf", MODELS_DIR);
    if (!exists(path)) LC_TEST_SKIP("%s is absent: the shipped models are not in this checkout", path);
    lc_tokenizer *synth = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&synth, &err), &err);
    if (!synth) return lc_test_finish("test_default_model");

    lc_model *def = load("longctx-default.gguf");
    if (def) {
        check_common("default", def, synth);
        CHECK(def->cfg.ctx_train == 512, "default: trained at %lld", (long long)def->cfg.ctx_train);
        CHECK(def->cfg.rope.scaling == LC_ROPE_SCALING_NONE, "default: no RoPE scaling");
        CHECK(def->cfg.attention[0] == '\0' || strcmp(def->cfg.attention, "softmax") == 0,
              "default: softmax attention ('%s')", def->cfg.attention);
        const int n = lc_test_quick() ? 3 : 5;
        const int right = passkey_right("default", def, synth, lc_test_quick() ? 256 : 512, n, false);
        CHECK(right >= n - 1, "default: %d of %d passkey answers right", right, n);
    }

    lc_model *yarn = load("longctx-yarn8.gguf");
    if (yarn) {
        check_common("yarn8", yarn, synth);
        const lc_rope_config *r = &yarn->cfg.rope;
        CHECK(r->scaling == LC_ROPE_SCALING_YARN, "yarn8: scaling %s", lc_rope_scaling_name(r->scaling));
        CHECK(r->factor == 8.0f && r->orig_ctx == 512, "yarn8: factor %g, original context %lld", (double)r->factor,
              (long long)r->orig_ctx);
        CHECK(yarn->cfg.ctx_train == 4096, "yarn8: trained at %lld", (long long)yarn->cfg.ctx_train);
        if (def)
            CHECK(yarn->cfg.dim == def->cfg.dim && yarn->cfg.n_layers == def->cfg.n_layers,
                  "yarn8: the default's shape");
        const int n = lc_test_quick() ? 1 : 3;
        const int right = passkey_right("yarn8", yarn, synth, lc_test_quick() ? 1024 : 4096, n, false);
        CHECK(right >= n - 1, "yarn8: %d of %d passkey answers right", right, n);
    }

    lc_model *lin = load("longctx-linear.gguf");
    if (lin) {
        check_common("linear", lin, synth);
        CHECK(strcmp(lin->cfg.attention, "linear:elu") == 0, "linear: attention '%s'", lin->cfg.attention);
        CHECK(lin->cfg.ctx_train == 512, "linear: trained at %lld", (long long)lin->cfg.ctx_train);
        if (def)
            CHECK(lin->cfg.dim == def->cfg.dim && lin->cfg.n_layers == def->cfg.n_layers &&
                      lin->cfg.n_heads == def->cfg.n_heads && lin->cfg.hidden_dim == def->cfg.hidden_dim,
                  "linear: the default's shape");
        passkey_right("linear", lin, synth, lc_test_quick() ? 256 : 512, lc_test_quick() ? 1 : 3, true);
    }

    lc_model_free(def);
    lc_model_free(yarn);
    lc_model_free(lin);
    lc_tokenizer_free(synth);
    return lc_test_finish("test_default_model");
}
