/*
 * libFuzzer target: both session readers on arbitrary bytes.
 *
 *  - runtime sessions (lc_session_load): the bytes, as a file, are loaded
 *    into contexts of one fixed random model under the full, sinks, shift and
 *    H2O policies (each context's fingerprint differs, so a seed saved from
 *    one of them reaches the slot checks of its policy);
 *  - chat sessions (lc_chat_load): the same bytes loaded into a chat, which
 *    adds the turn table in the blob (load_check) on top;
 *  - hybrid sessions: the same bytes into a context of the qwen3-next fixture
 *    (3 Gated DeltaNet layers + 1 attention layer: the recurrent-state
 *    section), when $LC_SHARED_DIR (../shared by default) holds it; without
 *    it that part is left out (said once at start).
 *
 * A load that succeeds is followed by a few evaluated tokens, so a state that
 * passed the checks but breaks an invariant shows up under ASan (issue 17's
 * H2O high-water mark did exactly that).
 *
 * Seeds: real saved sessions of this fixed setup, written by
 *   LC_FUZZ_WRITE_SEEDS=fuzz/corpus/session ./build-clang/fuzz_session
 * (each policy mid-stream, with and without sampler state and history, chat
 * sessions of two and four turns, and a qwen3-next session of 125 KB: give
 * -max_len=131072 for it to be read whole).
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_session -max_len=65536 fuzz/corpus/session
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/app.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_POLICIES 4
static const char *const policies[N_POLICIES] = {"full", "sinks:2:12", "shift:4", "h2o:2:4:8"};

/* The fixed setup, built once (a fuzz harness's own state, not the library's). */
static struct {
    lc_model *m;
    lc_tokenizer *tok;
    lc_context *ctx[N_POLICIES];
    lc_context *chat_ctx;
    lc_sampler *sampler;
    lc_chat *chat;
    lc_model *hybrid_m;     /* the qwen3-next fixture, or NULL */
    lc_context *hybrid_ctx;
    char path[64];
} fx;

static lc_context *make_ctx_of(const lc_model *m, const char *policy) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (lc_kv_policy_parse(policy, &o, &err) != LC_OK) return NULL;
    o.n_ctx = 32;
    o.n_batch = 8;
    o.n_threads = 1;
    lc_context *c = NULL;
    return lc_context_create(m, &o, &c, &err) == LC_OK ? c : NULL;
}

static lc_context *make_ctx(const char *policy) { return make_ctx_of(fx.m, policy); }

/* The qwen3-next fixture and a context of it, when the shared folder has it. */
static int setup_hybrid(void) {
    const char *shared = getenv("LC_SHARED_DIR") ? getenv("LC_SHARED_DIR") : "../shared";
    char p[1024];
    snprintf(p, sizeof p, "%s/fixtures/qwen3-next/model.f16.gguf", shared);
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "fuzz_session: %s is absent: no hybrid (Gated DeltaNet) sessions\n", p);
        return 0;
    }
    lc_error err;
    if (lc_model_load(p, NULL, &fx.hybrid_m, &err) != LC_OK) {
        fprintf(stderr, "fuzz_session: %s: %s\n", p, err.msg);
        return -1;
    }
    return (fx.hybrid_ctx = make_ctx_of(fx.hybrid_m, "full")) ? 0 : -1;
}

static int setup(void) {
    lc_error err;
    if (lc_tasks_tokenizer_create(&fx.tok, &err) != LC_OK) return -1;
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.head_dim = 8;
    c.dim = 16;
    c.hidden_dim = 24;
    c.n_layers = 1;
    c.vocab_size = lc_tokenizer_n_vocab(fx.tok);
    c.ctx_train = 64;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, c.head_dim);
    if (lc_model_create_random(&c, LC_DTYPE_F32, 17, &fx.m, &err) != LC_OK) return -1;
    for (int i = 0; i < N_POLICIES; i++)
        if (!(fx.ctx[i] = make_ctx(policies[i]))) return -1;
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = 5;
    if (!(fx.chat_ctx = make_ctx("full")) || lc_sampler_create(&sp, c.vocab_size, &fx.sampler, &err) != LC_OK)
        return -1;
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.system = "Be brief.";
    co.n_predict = 3;
    if (lc_chat_create(fx.chat_ctx, fx.tok, fx.sampler, &co, &fx.chat, &err) != LC_OK) return -1;
    snprintf(fx.path, sizeof fx.path, "/tmp/lc_fuzz_session_%d.bin", (int)getpid());
    return setup_hybrid();
}

static int save_seed(const char *dir, const char *name, lc_context *ctx, const int32_t *hist, int64_t n,
                     const lc_sampler *s) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    lc_error err;
    if (lc_session_save(ctx, p, hist, n, NULL, 0, s, &err) != LC_OK) {
        fprintf(stderr, "%s: %s\n", p, err.msg);
        return -1;
    }
    return 0;
}

/* The seed corpus: real sessions of this setup. */
static int write_seeds(const char *dir) {
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (i * 37 + 11) % 500 + 3;
    int rc = 0;
    lc_error err;
    for (int i = 0; i < N_POLICIES; i++) {
        lc_context *c = fx.ctx[i];
        char name[64];
        lc_context_reset(c);
        const int64_t n = i == 0 || i == 2 ? 10 : 30; /* full: below n_ctx; others: past their slots */
        if (lc_context_eval(c, toks, n, NULL, false, &err) != LC_OK) return -1;
        snprintf(name, sizeof name, "%s-history.session", policies[i]);
        for (char *q = name; *q; q++) *q = *q == ':' ? '_' : *q;
        rc |= save_seed(dir, name, c, toks, n, NULL);
        if (i == 0 || i == 3) { /* a sampler state is 16 KiB: two seeds carry one */
            snprintf(name, sizeof name, "%s-sampler.session", policies[i]);
            for (char *q = name; *q; q++) *q = *q == ':' ? '_' : *q;
            rc |= save_seed(dir, name, c, NULL, 0, fx.sampler);
        }
    }
    const char *msgs[2] = {"Hello there.", "Count to three."};
    for (int t = 0; t < 2; t++) {
        lc_chat_reply r;
        if (lc_chat_send(fx.chat, msgs[t], strlen(msgs[t]), &r, &err) != LC_OK) return -1;
        char p[512];
        snprintf(p, sizeof p, "%s/chat-%d-turns.session", dir, 2 * (t + 1));
        if (lc_chat_save(fx.chat, p, &err) != LC_OK) {
            fprintf(stderr, "%s: %s\n", p, err.msg);
            rc = -1;
        }
    }
    if (fx.hybrid_ctx) { /* prompt and a decoded token: chunked and recurrent forms ran */
        lc_context_reset(fx.hybrid_ctx);
        if (lc_context_eval(fx.hybrid_ctx, toks, 9, NULL, false, &err) != LC_OK ||
            lc_context_eval(fx.hybrid_ctx, toks + 9, 1, NULL, false, &err) != LC_OK)
            return -1;
        rc |= save_seed(dir, "qwen3next-history.session", fx.hybrid_ctx, toks, 10, NULL);
        lc_context_reset(fx.hybrid_ctx);
    }
    return rc;
}

static void remove_scratch(void) { unlink(fx.path); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (setup() != 0) {
        fprintf(stderr, "fuzz_session: setup failed\n");
        abort();
    }
    atexit(remove_scratch);
    const char *seeds = getenv("LC_FUZZ_WRITE_SEEDS");
    if (seeds) {
        const int rc = write_seeds(seeds);
        fprintf(stderr, "fuzz_session: seeds %s in %s\n", rc ? "FAILED" : "written", seeds);
        exit(rc ? 1 : 0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f = fopen(fx.path, "wb");
    if (!f) return 0;
    const bool ok = size == 0 || fwrite(data, 1, size, f) == size;
    fclose(f);
    if (!ok) return 0;
    lc_error err;
    static const int32_t more[4] = {5, 6, 7, 8};
    const bool verbose = getenv("LC_FUZZ_VERBOSE") != NULL; /* which reader took it, or why not */
    for (int i = 0; i < N_POLICIES; i++) {
        lc_session_info info;
        const lc_status st = lc_session_load_checked(fx.ctx[i], fx.path, fx.sampler, NULL, NULL, &info, &err);
        if (verbose) fprintf(stderr, "  %-10s %s\n", policies[i], st == LC_OK ? "loaded" : err.msg);
        if (st == LC_OK) {
            /* it loaded: it must also run (eviction, shifts, ring) */
            for (int k = 0; k < 4; k++) lc_context_eval(fx.ctx[i], more, 1 + k % 3, NULL, false, &err);
            lc_context_reset(fx.ctx[i]);
        }
        lc_session_info_free(&info);
    }
    if (fx.hybrid_ctx) {
        const lc_status st = lc_session_load(fx.hybrid_ctx, fx.path, NULL, NULL, NULL, NULL, NULL, NULL, &err);
        if (verbose) fprintf(stderr, "  %-10s %s\n", "qwen3next", st == LC_OK ? "loaded" : err.msg);
        if (st == LC_OK) { /* decode and a chunk from the loaded states */
            lc_context_eval(fx.hybrid_ctx, more, 1, NULL, false, &err);
            lc_context_eval(fx.hybrid_ctx, more, 4, NULL, false, &err);
            lc_context_reset(fx.hybrid_ctx);
        }
    }
    const lc_status cst = lc_chat_load(fx.chat, fx.path, &err);
    if (verbose) fprintf(stderr, "  %-10s %s\n", "chat", cst == LC_OK ? "loaded" : err.msg);
    if (cst == LC_OK) {
        lc_chat_stats st;
        lc_chat_get_stats(fx.chat, &st);
        lc_chat_reply r;
        lc_chat_send(fx.chat, "Go on", 5, &r, &err);
    }
    return 0;
}
