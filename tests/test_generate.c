/*
 * End-to-end generation on the real tiny checkpoints in ../shared/models:
 *
 *  - golden: greedy tokens of aidreams260K from a fixed prompt equal the
 *    sequence produced by an independent numpy implementation that reads the
 *    llama2.c file itself (tools/llama2c_ref.py -> tests/data/golden/), and the
 *    logits of the first steps agree within 1e-5 (f32 vs float64 arithmetic;
 *    the smallest top-1/top-2 gap along the greedy path is 0.036, far above
 *    that, so the token comparison cannot flake on rounding);
 *  - the same greedy tokens from the llama.cpp-converted aidreams260K.gguf and
 *    from longctx's own GGUF conversion (lc_model_write_gguf), whose logits
 *    are bit-identical to the .bin's (same f32 weights, same code);
 *  - stories260K.bin (GQA 8:4, no tokenizer): greedy generation identical with
 *    naive and flash attention, 1 and 2 threads, .bin and converted GGUF;
 *  - context end: generation stops with "context full: N tokens; raise -c".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/runtime.h"
#include "test_util.h"


typedef struct {
    int32_t prompt[64];
    int64_t n_prompt;
    int32_t generated[256];
    int64_t n_generated;
    float logits[4][512];
    int n_logit_steps;
    int32_t vocab;
} golden;

static bool read_golden(const char *path, golden *g) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char word[32];
    bool ok = true;
    while (ok && fscanf(f, "%31s", word) == 1) {
        if (word[0] == '#') {
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {}
        } else if (strcmp(word, "prompt") == 0) {
            ok = fscanf(f, "%lld", (long long *)&g->n_prompt) == 1 && g->n_prompt > 0 && g->n_prompt <= 64;
            for (int64_t i = 0; ok && i < g->n_prompt; i++) ok = fscanf(f, "%d", &g->prompt[i]) == 1;
        } else if (strcmp(word, "generated") == 0) {
            ok = fscanf(f, "%lld", (long long *)&g->n_generated) == 1 && g->n_generated > 0 && g->n_generated <= 256;
            for (int64_t i = 0; ok && i < g->n_generated; i++) ok = fscanf(f, "%d", &g->generated[i]) == 1;
        } else if (strcmp(word, "min_gap") == 0) {
            double gap;
            ok = fscanf(f, "%lf", &gap) == 1;
        } else if (strcmp(word, "logits") == 0) {
            int step, v;
            ok = fscanf(f, "%d %d", &step, &v) == 2 && step == g->n_logit_steps && step < 4 && v > 0 && v <= 512;
            g->vocab = v;
            for (int i = 0; ok && i < v; i++) ok = fscanf(f, "%f", &g->logits[step][i]) == 1;
            g->n_logit_steps++;
        } else {
            ok = false;
        }
    }
    fclose(f);
    return ok && g->n_prompt > 0 && g->n_generated > 0;
}

static lc_model *load(const char *rel, const char *tok_rel) {
    char p[512], t[512];
    lc_model_load_opts o = {.tokenizer_path = tok_rel ? lc_test_shared(tok_rel, t, sizeof t) : NULL};
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_load(lc_test_shared(rel, p, sizeof p), &o, &m, &err), &err);
    return m;
}

/* Writes m as an f32 GGUF to a temporary file and loads it back. */
static lc_model *convert(const lc_model *m, char *path, size_t len) {
    snprintf(path, len, "/tmp/longctx_test_generate_%ld.gguf", (long)getpid());
    lc_error err;
    lc_model *out = NULL;
    CHECK_OK(lc_model_write_gguf(path, &m->cfg, &m->w, m->tokenizer, LC_DTYPE_F32, &err), &err);
    CHECK_OK(lc_model_load(path, NULL, &out, &err), &err);
    return out;
}

typedef struct {
    const char *attn;
    int threads;
    int64_t n_batch;
} gen_cfg;

/* Greedy generation of n tokens after prompt; returns the count generated.
 * first_logits (optional): [steps][vocab] logits before each of the first
 * steps generated tokens. */
static int64_t greedy(const lc_model *m, const gen_cfg *gc, int64_t n_ctx, const int32_t *prompt, int64_t n_prompt,
                      int64_t n, int32_t *out, float *first_logits, int steps) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = n_ctx;
    o.n_batch = gc->n_batch;
    o.n_threads = gc->threads;
    o.attn = gc->attn;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (!ctx) return -1;
    const int32_t V = m->cfg.vocab_size;
    int64_t got = 0;
    /* Step by step so the logits of the first steps can be kept. */
    CHECK_OK(lc_context_eval(ctx, prompt, n_prompt, NULL, false, &err), &err);
    for (int64_t i = 0; i < n && lc_context_logits(ctx); i++) {
        const float *lg = lc_context_logits(ctx);
        if (first_logits && i < steps) memcpy(first_logits + i * V, lg, (size_t)V * sizeof(float));
        out[got++] = (int32_t)lc_argmax(lg, V);
        if (i + 1 < n && lc_context_eval(ctx, &out[got - 1], 1, NULL, false, &err) != LC_OK) break;
    }
    lc_context_free(ctx);
    return got;
}

static void test_golden(void) {
    char gp[512];
    snprintf(gp, sizeof gp, "%s/golden/aidreams260K_greedy.txt", LC_TEST_DATA_DIR);
    golden g;
    CHECK(read_golden(gp, &g), "cannot read %s", gp);
    if (g.n_generated == 0) return;
    lc_model *bin = load("models/aidreams260K.bin", "models/aidreams-tok512.bin");
    lc_model *gguf = load("models/aidreams260K.gguf", NULL);
    if (!bin || !gguf) {
        lc_model_free(bin);
        lc_model_free(gguf);
        return;
    }
    char tmp[256];
    lc_model *conv = convert(bin, tmp, sizeof tmp);
    const int32_t V = bin->cfg.vocab_size;
    CHECK(V == g.vocab, "vocab %d vs golden %d", V, g.vocab);
    const int64_t n_ctx = bin->cfg.ctx_train; /* 128: prompt 5 + 60 generated fits */
    int32_t out[256];
    /* logits of the first steps, per model, from the first configuration */
    float *first[3], *lg = malloc((size_t)(4 * V) * sizeof(float));
    for (int i = 0; i < 3; i++) first[i] = calloc((size_t)(4 * V), sizeof(float));
    const gen_cfg cfgs[] = {{"flash", 2, 512}, {"naive", 1, 512}, {"flash", 1, 2}, {"naive", 2, 3}};
    const struct {
        const char *name;
        const lc_model *m;
    } models[] = {{"aidreams260K.bin", bin}, {"aidreams260K.gguf (llama.cpp)", gguf}, {"converted gguf", conv}};
    for (size_t mi = 0; mi < LC_ARRAY_LEN(models); mi++) {
        if (!models[mi].m) continue;
        for (size_t ci = 0; ci < LC_ARRAY_LEN(cfgs); ci++) {
            if (lc_test_quick() && ci > 1) continue;
            float *keep = ci == 0 ? first[mi] : lg;
            int64_t n = greedy(models[mi].m, &cfgs[ci], n_ctx, g.prompt, g.n_prompt, g.n_generated, out, keep,
                               g.n_logit_steps);
            CHECK(n == g.n_generated, "%s: generated %lld", models[mi].name, (long long)n);
            int64_t first_diff = -1;
            for (int64_t i = 0; i < n && first_diff < 0; i++)
                if (out[i] != g.generated[i]) first_diff = i;
            CHECK(first_diff < 0, "%s [%s, %d threads, batch %lld]: token %lld is %d, golden %d", models[mi].name,
                  cfgs[ci].attn, cfgs[ci].threads, (long long)cfgs[ci].n_batch, (long long)first_diff,
                  first_diff >= 0 ? out[first_diff] : 0, first_diff >= 0 ? g.generated[first_diff] : 0);
            for (int s = 0; s < g.n_logit_steps; s++) {
                double e = lc_test_rel_err(keep + s * V, g.logits[s], (size_t)V, 1e-6);
                CHECK(e < 1e-5, "%s [%s, %d threads]: logits of step %d differ from numpy by %.3g", models[mi].name,
                      cfgs[ci].attn, cfgs[ci].threads, s, e);
            }
        }
    }
    if (conv)
        CHECK(memcmp(first[0], first[2], (size_t)(g.n_logit_steps * V) * sizeof(float)) == 0,
              "converted GGUF logits are not bit-identical to the .bin's");
    for (int i = 0; i < 3; i++) free(first[i]);
    free(lg);
    lc_model_free(conv);
    unlink(tmp);
    lc_model_free(bin);
    lc_model_free(gguf);
}

/* stories260K (GQA, no tokenizer): the same greedy tokens whatever the
 * attention method, thread count, chunking and file format. */
static void test_stories(void) {
    lc_model *bin = load("models/stories260K.bin", NULL);
    if (!bin) return;
    char tmp[256];
    lc_model *conv = convert(bin, tmp, sizeof tmp);
    const int64_t n = lc_test_quick() ? 40 : 200;
    int32_t bos = 1, base[256], out[256];
    const int32_t V = bin->cfg.vocab_size;
    float *lb = malloc((size_t)(2 * V) * sizeof(float)), *lc = malloc((size_t)(2 * V) * sizeof(float));
    gen_cfg ref = {"naive", 1, 512};
    int64_t nb = greedy(bin, &ref, 512, &bos, 1, n, base, lb, 2);
    CHECK(nb == n, "stories: generated %lld", (long long)nb);
    const gen_cfg cfgs[] = {{"flash", 1, 512}, {"flash", 2, 512}, {"naive", 2, 7}, {"flash", 2, 1}};
    for (size_t ci = 0; ci < LC_ARRAY_LEN(cfgs); ci++) {
        int64_t k = greedy(bin, &cfgs[ci], 512, &bos, 1, n, out, NULL, 0);
        CHECK(k == n && memcmp(out, base, (size_t)n * sizeof(int32_t)) == 0,
              "stories [%s, %d threads, batch %lld] differs from naive/1 thread", cfgs[ci].attn, cfgs[ci].threads,
              (long long)cfgs[ci].n_batch);
    }
    if (conv) {
        int64_t k = greedy(conv, &ref, 512, &bos, 1, n, out, lc, 2);
        CHECK(k == n && memcmp(out, base, (size_t)n * sizeof(int32_t)) == 0, "stories converted GGUF differs");
        CHECK(memcmp(lb, lc, (size_t)(2 * V) * sizeof(float)) == 0, "stories converted GGUF logits not identical");
    }
    /* the model writes text: not a constant token */
    int distinct = 0;
    for (int64_t i = 1; i < n; i++) distinct += base[i] != base[0];
    CHECK(distinct > 0, "stories generated one token over and over");
    free(lb);
    free(lc);
    lc_model_free(conv);
    unlink(tmp);
    lc_model_free(bin);
}

static void test_context_end_real(void) {
    lc_model *m = load("models/stories260K.bin", NULL);
    if (!m) return;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 16;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (ctx) {
        lc_generate_opts g;
        lc_generate_opts_init(&g);
        g.n_predict = -1; /* until the end */
        g.eos_id = -1;
        int32_t bos = 1, out[32];
        lc_generate_result res;
        CHECK_OK(lc_generate(ctx, &bos, 1, &g, out, 32, &res, &err), &err);
        CHECK(res.stop == LC_STOP_CONTEXT_FULL, "stop: %s", lc_stop_reason_name(res.stop));
        CHECK(strcmp(res.message, "context full: 16 tokens; raise -c") == 0, "message: %s", res.message);
        CHECK(res.n_generated == 16 && lc_context_n_past(ctx) == 16, "generated %lld, n_past %lld",
              (long long)res.n_generated, (long long)lc_context_n_past(ctx));
        CHECK(lc_context_eval(ctx, out, 1, NULL, false, &err) == LC_ERR_TOO_LARGE, "eval past the end accepted");
        lc_context_free(ctx);
    }
    lc_model_free(m);
}

/* Runs the CLI; returns its exit status, stdout and stderr in buffers. */
static int run_cli(const char *args, char *out, size_t out_len, char *errs, size_t err_len) {
    char cmd[2048], errpath[128];
    snprintf(errpath, sizeof errpath, "/tmp/longctx_test_generate_%ld.err", (long)getpid());
    snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=PASSIVE %s %s 2>%s", LC_CLI_PATH, args, errpath);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errpath, "r");
    n = e ? fread(errs, 1, err_len - 1, e) : 0;
    errs[n] = '\0';
    if (e) fclose(e);
    unlink(errpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `longctx run`: greedy text equals the golden tokens decoded; exit codes;
 * the context-end message. */
static void test_cli(void) {
    if (access(LC_CLI_PATH, X_OK) != 0) {
        fprintf(stderr, "note: %s not built; CLI checks skipped\n", LC_CLI_PATH);
        return;
    }
    char gp[512], mp[512], tp[512], args[1600];
    snprintf(gp, sizeof gp, "%s/golden/aidreams260K_greedy.txt", LC_TEST_DATA_DIR);
    golden g;
    if (!read_golden(gp, &g)) return;
    lc_model *m = load("models/aidreams260K.bin", "models/aidreams-tok512.bin");
    if (!m || !m->tokenizer) {
        lc_model_free(m);
        return;
    }
    static char out[65536], errs[65536];
    lc_test_shared("models/aidreams260K.bin", mp, sizeof mp);
    lc_test_shared("models/aidreams-tok512.bin", tp, sizeof tp);
    /* the golden prompt is BOS + " I whisper through the": the CLI gets the text */
    snprintf(args, sizeof args, "run -m %s -z %s -p 'I whisper through the' -n %lld --temp 0 -t 2", mp, tp,
             (long long)g.n_generated);
    int rc = run_cli(args, out, sizeof out, errs, sizeof errs);
    CHECK(rc == 0, "run exited %d: %s", rc, errs);
    char expect[8192];
    size_t len = 0;
    int32_t all[320];
    memcpy(all, g.prompt, (size_t)g.n_prompt * sizeof(int32_t));
    memcpy(all + g.n_prompt, g.generated, (size_t)g.n_generated * sizeof(int32_t));
    lc_error err;
    CHECK_OK(lc_tokenizer_decode(m->tokenizer, all, g.n_prompt + g.n_generated, expect, sizeof expect, &len, &err),
             &err);
    CHECK(strncmp(out, expect, len) == 0, "run printed\n%s\nexpected\n%s", out, expect);
    CHECK(strstr(errs, "tok/s") != NULL && strstr(errs, "matmul") != NULL, "no throughput on stderr: %s", errs);
    /* --tokens prints the ids */
    snprintf(args, sizeof args, "run -m %s --prompt-tokens 1,303,414,391,312 -n 8 --temp 0 --tokens", mp);
    rc = run_cli(args, out, sizeof out, errs, sizeof errs);
    char ids[256] = "";
    for (int i = 0; i < 8; i++) snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%d ", g.generated[i]);
    CHECK(rc == 0 && strncmp(out, ids, strlen(ids)) == 0, "--tokens printed '%s', expected '%s'", out, ids);
    /* context end: a message, exit 0 */
    snprintf(args, sizeof args, "run -m %s -z %s -p 'I whisper' -c 16 -n 100 --temp 0", mp, tp);
    rc = run_cli(args, out, sizeof out, errs, sizeof errs);
    CHECK(rc == 0 && strstr(errs, "context full: 16 tokens; raise -c"), "context end: rc %d, %s", rc, errs);
    /* usage errors exit 2, failures 1 */
    CHECK(run_cli("run --help", out, sizeof out, errs, sizeof errs) == 0 && strstr(out, "usage"), "--help");
    CHECK(run_cli("run --bogus", out, sizeof out, errs, sizeof errs) == 2, "unknown flag");
    CHECK(run_cli("run", out, sizeof out, errs, sizeof errs) == 2, "no model");
    snprintf(args, sizeof args, "run -m %s --prompt-tokens 1,9999", mp);
    CHECK(run_cli(args, out, sizeof out, errs, sizeof errs) == 2, "token outside the vocabulary");
    CHECK(run_cli("run -m /nonexistent/model.gguf", out, sizeof out, errs, sizeof errs) == 1, "missing file");
    snprintf(args, sizeof args, "run -m %s -c 1G -n 1", mp);
    rc = run_cli(args, out, sizeof out, errs, sizeof errs);
    CHECK(rc == 1 && strstr(errs, "needs"), "a 1G-token context: rc %d, %s", rc, errs);
    CHECK(run_cli("bench model --help", out, sizeof out, errs, sizeof errs) == 0, "bench model --help");
    snprintf(args, sizeof args, "bench model -m %s --ctx 16,64 -n 2 --no-peak --json", mp);
    rc = run_cli(args, out, sizeof out, errs, sizeof errs);
    CHECK(rc == 0 && strstr(out, "\"decode_gbs\"") && strstr(out, "\"ctx\":64"), "bench model json: %s %s", out, errs);
    lc_model_free(m);
}

int main(void) {
    char p[512];
    lc_test_shared("models", p, sizeof p); /* skips when ../shared is absent */
    test_golden();
    test_stories();
    test_context_end_real();
    test_cli();
    return lc_test_finish("test_generate");
}
