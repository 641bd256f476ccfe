/*
 * lc_decode_batch_eval (batched decode) against separate one-token
 * lc_context_eval steps of the same sequences: the logits must be equal bit
 * for bit (the batch's products give each row what a one-token product
 * gives; runtime.h says why), and each context must stand where its own
 * steps leave it.
 *
 * Sequences start from prompts of different odd lengths, step greedily, and
 * finish at different steps (the batch shrinks mid-run); their order in the
 * batch rotates every step. Models: the shipped default model (f16; every KV
 * policy, one per sequence in the same batch; 1 and 3 threads; the scalar
 * kernels), the linear-attention model, and from ../shared the fixture
 * families (GQA, biases, soft-caps and window layers, fused projections,
 * MoE with learned sinks, Gated DeltaNet; and every KV policy on gpt-oss,
 * qwen3-next and gemma3, run long enough that the rings rebase, the shift
 * cache shifts and h2o evicts) and llama3 Q4_K_M (integer kernels). Then the
 * refusals, which must change nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "longctx/model.h"
#include "longctx/runtime.h"
#include "test_util.h"

#define MAXB 4

typedef struct {
    const char *label;
    const char *path;
    int n_seq;            /* sequences (<= MAXB)                              */
    int threads;
    bool scalar;
    const char *policy[MAXB]; /* per sequence (NULL: full)                    */
    const char *attn;     /* NULL: the model's                                */
    int long_run;         /* > 0: that many times the decode steps (rebases,
                             shifts and evictions of the policies)            */
} batch_case;

static uint64_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void run_case(const batch_case *bc, int64_t n_ctx) {
    lc_error err;
    lc_model *m = NULL;
    lc_status st = lc_model_load(bc->path, NULL, &m, &err);
    CHECK(st == LC_OK, "%s: load %s: %s", bc->label, bc->path, err.msg);
    if (st != LC_OK) return;
    const int32_t V = m->cfg.vocab_size;
    const int B = bc->n_seq;
    lc_context *ref[MAXB] = {0}, *bat[MAXB] = {0};
    lc_context_opts o[MAXB];
    bool ok = true;
    for (int i = 0; i < B && ok; i++) {
        lc_context_opts_init(&o[i]);
        o[i].n_ctx = n_ctx;
        o[i].n_batch = 8; /* prompts in chunks; window layers keep rings (W <= n_ctx - n_batch) */
        o[i].n_threads = bc->threads;
        o[i].force_scalar = bc->scalar;
        o[i].attn = bc->attn;
        if (bc->policy[i]) CHECK_OK(lc_kv_policy_parse(bc->policy[i], &o[i], &err), &err);
        ok = lc_context_create(m, &o[i], &ref[i], &err) == LC_OK && lc_context_create(m, &o[i], &bat[i], &err) == LC_OK;
        CHECK(ok, "%s: context %d: %s", bc->label, i, err.msg);
    }
    lc_decode_batch *b = NULL;
    if (ok) {
        ok = lc_decode_batch_create(m, MAXB, &o[0], &b, &err) == LC_OK;
        CHECK(ok, "%s: batch: %s", bc->label, err.msg);
    }
    /* prompts of odd lengths 1, 7, 13, 19; sequence i decodes 9 + 5i tokens,
     * so the batch goes from B rows down to 1 (the fourth passes 32 tokens, the
 * fixtures' window) */
    uint64_t seed = 0x5EED0000ULL + (uint64_t)B;
    int32_t next[MAXB];
    int n_steps[MAXB];
    for (int i = 0; i < B && ok; i++) {
        int32_t prompt[32];
        const int len = 1 + 6 * i;
        for (int t = 0; t < len; t++) prompt[t] = (int32_t)(rng_next(&seed) % (uint64_t)V);
        CHECK_OK(lc_context_eval(ref[i], prompt, len, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(bat[i], prompt, len, NULL, false, &err), &err);
        next[i] = argmax(lc_context_logits(ref[i]), V);
        n_steps[i] = (9 + 5 * i) * (bc->long_run > 0 ? bc->long_run : 1);
    }
    float *out = malloc((size_t)MAXB * (size_t)V * sizeof(float));
    double worst = 0.0;
    int64_t rows = 0, unequal = 0;
    for (int step = 0; ok && out; step++) {
        lc_context *act[MAXB];
        int32_t tok[MAXB];
        int idx[MAXB], n = 0;
        for (int k = 0; k < B; k++) { /* rotated order */
            const int i = (k + step) % B;
            if (step < n_steps[i]) {
                act[n] = bat[i];
                tok[n] = next[i];
                idx[n++] = i;
            }
        }
        if (n == 0) break;
        st = lc_decode_batch_eval(b, act, tok, n, out, &err);
        CHECK(st == LC_OK, "%s: step %d (%d sequences): %s", bc->label, step, n, err.msg);
        if (st != LC_OK) break;
        for (int r = 0; r < n; r++) {
            const int i = idx[r];
            CHECK_OK(lc_context_eval(ref[i], &tok[r], 1, NULL, false, &err), &err);
            const float *want = lc_context_logits(ref[i]), *got = out + (size_t)r * (size_t)V;
            const float *held = lc_context_logits(bat[i]);
            CHECK(held && memcmp(held, got, (size_t)V * sizeof(float)) == 0, "%s: context %d keeps its row", bc->label, i);
            rows++;
            if (memcmp(want, got, (size_t)V * sizeof(float)) != 0) {
                unequal++;
                const double e = lc_test_rel_err(got, want, (size_t)V, 1.0);
                if (e > worst) worst = e;
            }
            CHECK(lc_context_n_past(ref[i]) == lc_context_n_past(bat[i]) &&
                      lc_context_n_seen(ref[i]) == lc_context_n_seen(bat[i]),
                  "%s: context %d at %lld/%lld tokens, separate steps at %lld/%lld", bc->label, i,
                  (long long)lc_context_n_past(bat[i]), (long long)lc_context_n_seen(bat[i]),
                  (long long)lc_context_n_past(ref[i]), (long long)lc_context_n_seen(ref[i]));
            next[i] = argmax(want, V);
        }
    }
    for (int i = 0; i < B && ok && bc->long_run > 0; i++) { /* the policies did their work in the run */
        lc_kv_stats ks;
        lc_context_kv_stats(bat[i], &ks);
        if (ks.policy != LC_KV_POLICY_FULL)
            CHECK(ks.n_shifts + ks.n_evicted > 0, "%s: sequence %d's %s cache never shifted, rebased or evicted",
                  bc->label, i, lc_kv_policy_name(ks.policy));
    }
    CHECK(unequal == 0, "%s: %lld of %lld rows differ from separate steps (max relative %.3g)", bc->label,
          (long long)unequal, (long long)rows, worst);
    fprintf(stderr, "%-34s %d sequences, %lld rows: %s\n", bc->label, B, (long long)rows,
            unequal ? "DIFFERENT" : "bit-identical to separate steps");
    free(out);
    lc_decode_batch_free(b);
    for (int i = 0; i < B; i++) {
        lc_context_free(ref[i]);
        lc_context_free(bat[i]);
    }
    lc_model_free(m);
}

/* Refusals: checked before anything changes. */
static void refusals(const char *path) {
    lc_error err;
    lc_model *m = NULL, *m2 = NULL;
    CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
    CHECK_OK(lc_model_load(path, NULL, &m2, &err), &err);
    if (!m || !m2) return;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 8;
    o.n_threads = 2;
    lc_context *a = NULL, *c = NULL, *other = NULL;
    lc_decode_batch *b = NULL;
    CHECK_OK(lc_context_create(m, &o, &a, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &c, &err), &err);
    CHECK_OK(lc_context_create(m2, &o, &other, &err), &err);
    CHECK(lc_decode_batch_create(m, 0, &o, &b, &err) == LC_ERR_INVALID_ARG, "0 sequences");
    CHECK(lc_decode_batch_create(m, LC_DECODE_BATCH_MAX + 1, &o, &b, &err) == LC_ERR_INVALID_ARG, "too many");
    CHECK(lc_decode_batch_create(NULL, 2, &o, &b, &err) == LC_ERR_INVALID_ARG, "no model");
    CHECK_OK(lc_decode_batch_create(m, 2, &o, &b, &err), &err);
    CHECK(lc_decode_batch_max_seqs(b) == 2, "max_seqs");
    if (a && c && other && b) {
        const int32_t p[7] = {1, 2, 3, 4, 5, 6, 7};
        CHECK_OK(lc_context_eval(a, p, 7, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(c, p, 3, NULL, false, &err), &err);
        int32_t t2[3] = {5, 6, 7};
        lc_context *same[2] = {a, a}, *mixed[2] = {a, other}, *three[3] = {a, c, c}, *ok2[2] = {c, a};
        CHECK(lc_decode_batch_eval(b, same, t2, 2, NULL, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "share"),
              "one context twice: %s", err.msg);
        CHECK(lc_decode_batch_eval(b, mixed, t2, 2, NULL, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "model"),
              "another model: %s", err.msg);
        CHECK(lc_decode_batch_eval(b, three, t2, 3, NULL, &err) == LC_ERR_INVALID_ARG, "more than max_seqs");
        CHECK(lc_decode_batch_eval(b, ok2, t2, 0, NULL, &err) == LC_ERR_INVALID_ARG, "none");
        lc_context_opts ox = o;
        ox.kv_external = true;
        lc_context *ext = NULL;
        CHECK_OK(lc_context_create(m, &ox, &ext, &err), &err);
        lc_context *with_ext[2] = {c, ext};
        if (ext)
            CHECK(lc_decode_batch_eval(b, with_ext, t2, 2, NULL, &err) == LC_ERR_UNSUPPORTED &&
                      strstr(err.msg, "kv_external"),
                  "a kv_external context: %s", err.msg);
        lc_context_free(ext);
        int32_t bad[2] = {5, m->cfg.vocab_size};
        CHECK(lc_decode_batch_eval(b, ok2, bad, 2, NULL, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "vocabulary"),
              "token outside the vocabulary: %s", err.msg);
        /* a holds 7 of 8: one step fits, the next does not */
        CHECK_OK(lc_decode_batch_eval(b, ok2, t2, 2, NULL, &err), &err);
        CHECK(lc_context_n_past(a) == 8 && lc_context_n_past(c) == 4, "after one step: %lld %lld",
              (long long)lc_context_n_past(a), (long long)lc_context_n_past(c));
        CHECK(lc_decode_batch_eval(b, ok2, t2, 2, NULL, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "sequence 1"),
              "full context: %s", err.msg);
        CHECK(lc_context_n_past(a) == 8 && lc_context_n_past(c) == 4, "a refusal changes nothing: %lld %lld",
              (long long)lc_context_n_past(a), (long long)lc_context_n_past(c));
    }
    lc_decode_batch_free(b);
    lc_context_free(a);
    lc_context_free(c);
    lc_context_free(other);
    lc_model_free(m);
    lc_model_free(m2);
}

/* The layer pause (lc_context_set_layer_pause): a prefill in chunks with a
 * pause that runs other sequences' batched decode steps between its layers
 * (as the server does) leaves the same cache and logits, bit for bit, as
 * without it; the others' steps equal their own one-token steps; the pause
 * comes after every layer but the last of every chunk of more than one token,
 * never in a one-token step. */
typedef struct {
    lc_decode_batch *b;
    lc_context *seq[2], *ref[2];
    int32_t tok[2];
    int calls, mismatches;
    int32_t V;
} pause_state;

static void pause_step(void *user) {
    pause_state *p = user;
    p->calls++;
    lc_error err;
    if (lc_decode_batch_eval(p->b, p->seq, p->tok, 2, NULL, &err) != LC_OK) {
        p->mismatches++;
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (lc_context_eval(p->ref[i], &p->tok[i], 1, NULL, false, &err) != LC_OK ||
            memcmp(lc_context_logits(p->seq[i]), lc_context_logits(p->ref[i]), (size_t)p->V * sizeof(float)) != 0)
            p->mismatches++;
        p->tok[i] = argmax(lc_context_logits(p->seq[i]), p->V);
    }
}

static void layer_pause(const char *path, int threads) {
    lc_error err;
    lc_model *m = NULL;
    if (lc_model_load(path, NULL, &m, &err) != LC_OK) {
        CHECK(false, "pause: load %s: %s", path, err.msg);
        return;
    }
    const int32_t V = m->cfg.vocab_size;
    const int64_t n = 150, chunk = 32;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 256;
    o.n_batch = chunk;
    o.n_threads = threads;
    lc_context *a = NULL, *c = NULL;
    pause_state ps = {.V = V, .tok = {3, 7}};
    CHECK_OK(lc_context_create(m, &o, &a, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &c, &err), &err);
    for (int i = 0; i < 2; i++) {
        CHECK_OK(lc_context_create(m, &o, &ps.seq[i], &err), &err);
        CHECK_OK(lc_context_create(m, &o, &ps.ref[i], &err), &err);
    }
    CHECK_OK(lc_decode_batch_create(m, 2, &o, &ps.b, &err), &err);
    if (a && c && ps.seq[0] && ps.seq[1] && ps.ref[0] && ps.ref[1] && ps.b) {
        int32_t *tok = malloc((size_t)n * sizeof *tok);
        for (int64_t i = 0; i < n; i++) tok[i] = (int32_t)((i * 7919 + 11) % V);
        for (int i = 0; i < 2; i++) { /* the others start from a short prompt of their own */
            int32_t p0[3] = {1 + i, 5, 9};
            CHECK_OK(lc_context_eval(ps.seq[i], p0, 3, NULL, false, &err), &err);
            CHECK_OK(lc_context_eval(ps.ref[i], p0, 3, NULL, false, &err), &err);
        }
        CHECK_OK(lc_context_eval(a, tok, n, NULL, false, &err), &err); /* no pause: one call, chunks of 32 */
        lc_context_set_layer_pause(c, pause_step, &ps);
        for (int64_t at = 0; at < n; at += chunk) /* the server's way: a call per chunk */
            CHECK_OK(lc_context_eval(c, tok + at, at + chunk < n ? chunk : n - at, NULL, false, &err), &err);
        const int n_layers = m->cfg.n_layers;
        const int want = (int)((n + chunk - 1) / chunk) * (n_layers - 1);
        CHECK(ps.calls == want, "pause: %d calls, want %d (chunks x (layers - 1))", ps.calls, want);
        CHECK(ps.mismatches == 0, "pause: %d decode steps inside the pauses differ from their own", ps.mismatches);
        CHECK(lc_context_logits(a) && lc_context_logits(c) &&
                  memcmp(lc_context_logits(a), lc_context_logits(c), (size_t)V * sizeof(float)) == 0,
              "pause: the prefill's logits differ from the one without pauses");
        const int before = ps.calls;
        int32_t t = 5; /* a one-token step: no pause; the next logits still equal */
        CHECK_OK(lc_context_eval(a, &t, 1, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(c, &t, 1, NULL, false, &err), &err);
        CHECK(ps.calls == before, "pause: a one-token step paused");
        CHECK(memcmp(lc_context_logits(a), lc_context_logits(c), (size_t)V * sizeof(float)) == 0,
              "pause: the caches differ (the next step's logits)");
        lc_context_set_layer_pause(c, NULL, NULL);
        free(tok);
    }
    lc_decode_batch_free(ps.b);
    for (int i = 0; i < 2; i++) {
        lc_context_free(ps.seq[i]);
        lc_context_free(ps.ref[i]);
    }
    lc_context_free(a);
    lc_context_free(c);
    lc_model_free(m);
}

int main(void) {
    char def[1024], lin[1024];
    snprintf(def, sizeof def, "%s/models/longctx-default.gguf", LC_SOURCE_DIR);
    snprintf(lin, sizeof lin, "%s/models/longctx-linear.gguf", LC_SOURCE_DIR);
    const bool quick = lc_test_quick();
    const batch_case shipped[] = {
        {"default, 1 sequence", def, 1, 2, false, {NULL}, NULL, 0},
        {"default, 2 sequences", def, 2, 2, false, {NULL}, NULL, 0},
        {"default, 3 sequences, 3 threads", def, 3, 3, false, {NULL}, NULL, 0},
        {"default, 4 policies", def, 4, 2, false, {NULL, "sinks:2:8", "h2o:2:4:4", "shift:2"}, NULL, 2},
        {"default, windows, 1 thread", def, 3, 1, false, {"window:6", NULL, "window:12"}, NULL, 0},
        {"default, naive attention", def, 2, 2, false, {NULL}, "naive", 0},
        {"default, scalar kernels", def, 3, 2, true, {NULL}, NULL, 0},
        {"linear attention", lin, 3, 2, false, {NULL}, "linear", 0},
    };
    for (size_t k = 0; k < sizeof shipped / sizeof *shipped; k++) run_case(&shipped[k], 64);
    refusals(def);
    layer_pause(def, 2);
    layer_pause(def, 1);

    if (lc_test_have_shared("the fixture families and the Q4_K_M file")) {
        static const char *fams[] = {"llama3", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", "gpt-oss", "qwen3-next"};
        char path[1024], label[64];
        for (size_t k = 0; k < sizeof fams / sizeof *fams; k++) {
            if (quick && k % 2) continue;
            snprintf(path, sizeof path, "%s/fixtures/%s/model.f16.gguf", LC_SHARED_DIR, fams[k]);
            snprintf(label, sizeof label, "fixture %s (f16)", fams[k]);
            batch_case c = {label, path, 4, 2, false, {NULL}, NULL, 0};
            run_case(&c, 64);
        }
        /* KV policies on the hybrid families: window layers' own rings moved
         * along by the main ring's rebases and shifts, learned sinks, DeltaNet
         * states carried under a ring policy */
        static const struct {
            const char *fam;
            const char *pol[4];
        } hyb[] = {
            {"gpt-oss", {"h2o:2:16:16", "window:32", "sinks:2:32", "shift:2"}},
            {"qwen3-next", {"window:8", "sinks:2:8", "h2o:2:4:4", "shift:2"}},
            {"gemma3", {"window:32", "h2o:2:16:16", "window:40", "h2o:4:20:8"}},
        };
        for (size_t k = 0; k < sizeof hyb / sizeof *hyb; k++) {
            snprintf(path, sizeof path, "%s/fixtures/%s/model.f16.gguf", LC_SHARED_DIR, hyb[k].fam);
            snprintf(label, sizeof label, "fixture %s, KV policies", hyb[k].fam);
            /* up to 19 + 96 tokens: past the rings' rebases, -c 48's shifts */
            batch_case c = {label, path, 4, 2, false, {hyb[k].pol[0], hyb[k].pol[1], hyb[k].pol[2], hyb[k].pol[3]},
                            NULL, 4};
            run_case(&c, 48);
        }
        snprintf(path, sizeof path, "%s/fixtures/quants/llama3.Q4_K_M.gguf", LC_SHARED_DIR);
        batch_case q = {"fixture llama3 Q4_K_M", path, 3, 2, false, {NULL}, NULL, 0};
        run_case(&q, 64);
        batch_case q1 = {"fixture llama3 Q4_K_M, 1 thread", path, 2, 1, false, {NULL}, NULL, 0};
        run_case(&q1, 64);
    }
    return lc_test_finish("test_decode_batch");
}
