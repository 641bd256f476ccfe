/*
 * Sequence-parallel attention (src/mpi/sp.c) against the single-process
 * runtime, run under `mpirun -np P` by tests/mpi/run.sh:
 *
 *   sp_logits MODEL logits   every rank evaluates a prompt and 64 greedy
 *                            decode steps twice, in a plain context (the
 *                            reference) and in a context whose attention is
 *                            sharded over the P ranks; the prompt's logits
 *                            (all rows) and each step's are within TOL of the
 *                            reference and the greedy tokens identical. The
 *                            cases: f32/f16/q8_0 KV, context not a multiple
 *                            of P, chunks straddling shards, ranks holding no
 *                            token, more ranks than positions. Each rank's
 *                            stats line (lc_sp_stats_print) names its rank,
 *                            slots, block and positions held.
 *   sp_logits MODEL logits15 the same on a 15M-shaped model (tests/mpi/run.sh
 *                            makes one with random weights): f32 and f16 KV,
 *                            ring prefill + 64 greedy steps.
 *   sp_logits MODEL loadfail rank 1 loads a file that does not exist
 *                            (lc_sp_model_load): every rank must return the
 *                            failure with rank 1's message (nobody hangs in
 *                            a collective), with no model.
 *   sp_logits MODEL ringfail rank 1's block of a ring prefill holds a token
 *                            outside the vocabulary: every rank returns rank
 *                            1's message, the contexts count nothing, and a
 *                            prefill after it gives the reference's logits.
 *   (logits, rank 0 also)    lc_sp_bench_print: bench sp's report of figures
 *                            made here, on a plain context of the model.
 *
 * Tolerance, as |diff| / max(1, max |logit|): the sharded softmax sums the
 * same terms in another order (per-shard parts merged by log-sum-exp in f32).
 * With f32 KV that is f32 reassociation only: measured <= 8e-7 at P = 2..4,
 * asserted 1e-5. With f16/q8_0 KV a shard's call has other shapes (fewer
 * rows, fewer keys) than the single-process call, so the FLASH kernel takes
 * other paths (decode vs tile kernels, split-KV) whose reduced-precision tile
 * steps round differently: measured <= 1.6e-4, asserted 1e-3. P = 1 is
 * bitwise equal (asserted 0).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/eval.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sp.h"


static int rank, n_ranks, fails;

#define FAIL(...)                                                                                                     \
    do {                                                                                                              \
        fprintf(stderr, "rank %d: FAIL: ", rank);                                                                     \
        fprintf(stderr, __VA_ARGS__);                                                                                 \
        fprintf(stderr, "\n");                                                                                        \
        fails++;                                                                                                      \
    } while (0)

/* How the prompt goes in: lc_context_eval (every rank every token, one
 * allreduce per layer), lc_sp_prefill (ring), lc_sp_prefill in two calls (the
 * second starting mid-block), or lc_sp_prefill then lc_context_eval. */
typedef enum { PROMPT_EVAL, PROMPT_RING, PROMPT_RING_TWICE, PROMPT_RING_THEN_EVAL } prompt_mode;
static const char *const mode_name[] = {"eval", "ring", "ring+ring", "ring+eval"};

typedef struct {
    const char *name;
    int64_t n_ctx, n_batch, n_prompt, n_decode;
    lc_dtype kv;
    prompt_mode mode;
} sp_case;

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* max |a - b| / max(1, max |b|) over n values */
static double rel_diff(const float *a, const float *b, int64_t n) {
    double d = 0, mx = 1;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mx = fmax(mx, fabs((double)b[i]));
    }
    return d / mx;
}

/* --kv-budget: a budget of 60% of the whole cache is refused at P = 1 (with
 * the numbers and the ranks it takes) and holds at P >= 2, where the ranks
 * then evaluate a prompt as one process does. */
static void budget_case(const lc_model *m) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 512;
    o.n_batch = 32;
    o.n_threads = 1;
    o.kv_external = true;
    lc_error err;
    lc_context *ctx = NULL;
    lc_sp *sp = NULL;
    const size_t whole = (size_t)lc_model_kv_bytes_per_token(&m->cfg, o.k_type, o.v_type) * (size_t)o.n_ctx;
    const lc_sp_opts spo = {.kv_budget = whole / 10 * 6};
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) {
        FAIL("budget: context: %s", err.msg);
        return;
    }
    const lc_status st = lc_sp_create_opts(ctx, MPI_COMM_WORLD, &spo, &sp, &err);
    if (n_ranks == 1) {
        if (st != LC_ERR_TOO_LARGE) FAIL("budget: a shard of the whole cache (%zu bytes) passed a budget of %zu", whole, spo.kv_budget);
        else if (!strstr(err.msg, "--kv-budget") || !strstr(err.msg, "it takes 2 ranks"))
            FAIL("budget: message without the numbers: %s", err.msg);
        else printf("P=1 budget %zu of %zu bytes: refused: %s\n", spo.kv_budget, whole, err.msg);
    } else if (st != LC_OK) {
        FAIL("budget: P = %d refused: %s", n_ranks, err.msg);
    } else {
        lc_sp_stats ss;
        lc_sp_get_stats(sp, &ss);
        int32_t prompt[40];
        for (int i = 0; i < 40; i++) prompt[i] = (i * 37 + 11) % m->cfg.vocab_size;
        if (ss.kv_bytes > spo.kv_budget) FAIL("budget: the shard has %zu bytes, over %zu", ss.kv_bytes, spo.kv_budget);
        else if (lc_sp_prefill(sp, prompt, 40, NULL, false, &err) != LC_OK) FAIL("budget: prefill: %s", err.msg);
        else if (rank == 0) printf("P=%d budget %zu of %zu bytes: holds (shard %zu bytes)\n", n_ranks, spo.kv_budget, whole, ss.kv_bytes);
    }
    lc_sp_free(sp);
    lc_context_free(ctx);
}

static void run_case(const lc_model *m, const sp_case *c) {
    const int32_t V = m->cfg.vocab_size;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = c->n_ctx;
    o.n_batch = c->n_batch;
    o.n_threads = 1;
    o.k_type = o.v_type = c->kv;
    lc_error err;
    lc_context *ref = NULL, *ctx = NULL;
    lc_sp *sp = NULL;
    int32_t *prompt = malloc((size_t)c->n_prompt * sizeof(int32_t));
    float *la = malloc((size_t)(c->n_prompt * V) * sizeof(float));
    float *lb = malloc((size_t)(c->n_prompt * V) * sizeof(float));
    if (!prompt || !la || !lb) {
        FAIL("%s: out of memory", c->name);
        goto done;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < c->n_prompt; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        prompt[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    lc_context_opts so = o;
    so.kv_external = true; /* the shard is the only K/V this rank allocates */
    if (lc_context_create(m, &o, &ref, &err) != LC_OK || lc_context_create(m, &so, &ctx, &err) != LC_OK) {
        FAIL("%s: context: %s", c->name, err.msg);
        goto done;
    }
    {
        lc_context_memory mo, ms;
        if (lc_context_memory_need(m, &o, &mo, &err) != LC_OK || lc_context_memory_need(m, &so, &ms, &err) != LC_OK)
            FAIL("%s: memory need: %s", c->name, err.msg);
        else if (ms.kv_bytes != (size_t)c->n_ctx * (sizeof(int64_t) + sizeof(int32_t)) || mo.kv_bytes <= ms.kv_bytes)
            FAIL("%s: kv_external context counts %zu bytes of KV, not the positions and tokens alone (plain: %zu)",
                 c->name, ms.kv_bytes, mo.kv_bytes);
    }
    if (lc_sp_create(ctx, MPI_COMM_WORLD, &sp, &err) != LC_OK) {
        FAIL("%s: lc_sp_create: %s", c->name, err.msg);
        goto done;
    }
    if (lc_context_eval(ref, prompt, c->n_prompt, la, true, &err) != LC_OK) {
        FAIL("%s: reference prompt: %s", c->name, err.msg);
        goto done;
    }
    {
        const int64_t n1 = c->mode == PROMPT_RING ? c->n_prompt : c->mode == PROMPT_EVAL ? 0 : c->n_prompt * 2 / 5;
        lc_status st = LC_OK;
        if (n1 > 0) st = lc_sp_prefill(sp, prompt, n1, lb, true, &err);
        if (st == LC_OK && n1 < c->n_prompt) {
            if (c->mode == PROMPT_RING_TWICE)
                st = lc_sp_prefill(sp, prompt + n1, c->n_prompt - n1, lb + n1 * V, true, &err);
            else st = lc_context_eval(ctx, prompt + n1, c->n_prompt - n1, lb + n1 * V, true, &err);
        }
        if (st != LC_OK) {
            FAIL("%s (%s): sp prompt: %s", c->name, mode_name[c->mode], err.msg);
            goto done;
        }
        if (lc_context_n_past(ctx) != c->n_prompt)
            FAIL("%s (%s): the context counts %lld tokens, not %lld", c->name, mode_name[c->mode],
                 (long long)lc_context_n_past(ctx), (long long)c->n_prompt);
    }
    /* P = 1 with the reference's chunks: bitwise; a prompt in two calls
     * chunks differently (other matmul shapes): reassociation */
    const bool same_chunks = c->mode == PROMPT_EVAL || c->mode == PROMPT_RING;
    const double TOL = n_ranks == 1 && same_chunks ? 0.0 : c->kv == LC_DTYPE_F32 ? 1e-5 : 1e-3;
    double worst = rel_diff(lb, la, c->n_prompt * V), worst_prompt = worst;
    if (worst > TOL) FAIL("%s: prompt logits differ by %.3g (relative)", c->name, worst);
    lc_sp_sampler ss = {MPI_COMM_WORLD, NULL, NULL};
    int32_t ta = argmax(la + (c->n_prompt - 1) * V, V), tb = -1;
    float *pa = la + (c->n_prompt - 1) * V, *pb = lb + (c->n_prompt - 1) * V;
    for (int64_t s = 0; s < c->n_decode; s++) {
        if (!lc_sp_sample(&ss, pb, V, &tb, &err)) {
            FAIL("%s: sample: %s", c->name, err.msg);
            goto done;
        }
        if (ta != tb) {
            FAIL("%s: step %lld: greedy token %d, reference %d", c->name, (long long)s, tb, ta);
            goto done;
        }
        if (lc_context_eval(ref, &ta, 1, pa, false, &err) != LC_OK ||
            lc_context_eval(ctx, &tb, 1, pb, false, &err) != LC_OK) {
            FAIL("%s: step %lld: %s", c->name, (long long)s, err.msg);
            goto done;
        }
        const double d = rel_diff(pb, pa, V);
        if (d > TOL) FAIL("%s: step %lld: logits differ by %.3g (relative)", c->name, (long long)s, d);
        worst = fmax(worst, d);
        ta = argmax(pa, V);
    }
    lc_sp_stats st;
    lc_sp_get_stats(sp, &st);
    /* every position held once, by one rank; blocks of n_batch dealt evenly */
    const int64_t total = c->n_prompt + c->n_decode;
    int64_t sum = 0, lo = 0, hi = 0;
    MPI_Allreduce(&st.n_held, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&st.n_held, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&st.n_held, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    if (sum != total || st.n_held > st.shard_slots || hi - lo > c->n_batch)
        FAIL("%s: ranks hold %lld positions in all (want %lld), %lld..%lld each, this one %lld of %lld slots", c->name,
             (long long)sum, (long long)total, (long long)lo, (long long)hi, (long long)st.n_held,
             (long long)st.shard_slots);
    if (n_ranks > 1 && c->mode != PROMPT_EVAL && !(st.comm_bytes > 0)) FAIL("%s: the ring sent nothing", c->name);
    double all = worst;
    MPI_Allreduce(&worst, &all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("P=%d %-28s %-9s prompt %lld + %lld steps: max relative logit diff %.3g (prompt %.3g), tokens equal\n",
               n_ranks, c->name, mode_name[c->mode], (long long)c->n_prompt, (long long)c->n_decode, all, worst_prompt);
    printf("  rank %d: %lld slots holds %lld, KV %zu bytes, %lld allreduces, %.0f bytes sent\n", rank,
           (long long)st.shard_slots, (long long)st.n_held, st.kv_bytes, (long long)st.n_allreduce, st.comm_bytes);
    char *line = NULL, want[160];
    size_t line_len = 0;
    FILE *mf = open_memstream(&line, &line_len);
    if (mf) {
        lc_sp_stats_print(mf, &st, total);
        fclose(mf);
    }
    snprintf(want, sizeof want, "sp: rank %d of %d: %lld slots (zig-zag blocks of %lld) hold %lld, KV ", rank, n_ranks,
             (long long)st.shard_slots, (long long)st.block, (long long)st.n_held);
    if (!line || strncmp(line, want, strlen(want)) != 0 || !strstr(line, " s communicating\n"))
        FAIL("%s: lc_sp_stats_print: '%s' (want '%s...')", c->name, line ? line : "", want);
    free(line);
done:
    lc_sp_free(sp);
    lc_context_free(ctx);
    lc_context_free(ref);
    free(prompt);
    free(la);
    free(lb);
}

/* The evaluation model over a sharded context (lc_sp_eval_model, what eval
 * ppl --sp scores with) against the context model of a plain context:
 * log-probabilities of two appended runs (the second's first one from the
 * first's last logits), the sliding-window perplexity, and greedy answers. */
/* bench sp's report (rank 0's, not collective) of figures made here. */
static void bench_print_case(const lc_model *m) {
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 96, co.n_threads = 1, co.k_type = co.v_type = LC_DTYPE_F32;
    lc_context *ctx = NULL;
    lc_error err;
    if (lc_context_create(m, &co, &ctx, &err) != LC_OK) {
        FAIL("bench print: context: %s", err.msg);
        return;
    }
    const lc_sp_bench_setup s = {"m.gguf", 2, 64, 4, 3, true, 10, 5};
    lc_sp_bench_result res = {.prefill_s = 0.5, .prefill_bytes = 1000, .bytes_per_token = 2176};
    res.decode_tok_s = (lc_bench_spread){10, 20, 30};
    const lc_sp_bench_rank all[2] = {{.kv_bytes = 1048576, .n_held = 48, .wait_per_token_s = 0.002},
                                     {.kv_bytes = 2 * 1048576.0, .n_held = 48, .attn_s = 0.001}};
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    const lc_status st = lc_sp_bench_print(f, &s, ctx, &res, all, &err);
    fclose(f);
    const lc_model_config *c = &m->cfg;
    char comm[160];
    snprintf(comm, sizeof comm,
             "  communication: 2176 bytes sent per decoded token per rank (%d combines of %d x %d floats)\n",
             c->n_layers, c->n_heads, c->head_dim + 2);
    if (st != LC_OK || !text) FAIL("bench print: %s", err.msg);
    else if (!strstr(text, "bench sp: m.gguf, P = 2 ranks x 1 threads, L = 64, n_ctx 96, kv f32/f32\n") ||
             !strstr(text, "  prefill 64 tokens (ring): 128.0 tok/s (0.500 s), rank 0 sent 1000 bytes\n") ||
             !strstr(text, "  decode at 64: 10.00 / 20.00 / 30.00 tok/s (min / median / max of 3 rounds of 4)\n") ||
             !strstr(text, comm) || !strstr(text, "  rank 0: KV shard 1.00 MiB, holds 48 positions") ||
             !strstr(text, "prefill 0.000 s, decode 2.000 ms per token") ||
             !strstr(text, "  rank 1: KV shard 2.00 MiB") || !strstr(text, "attention 1.000 ms (the wait included)") ||
             !strstr(text, "  Llama-3-8B shape (32x32/8x128, f16)  P=8  n_ctx  1048576: KV/rank") ||
             !strstr(text, "at 10 Gb/s + 5 us\n"))
        FAIL("bench print:\n%s", text);
    free(text);
    if (lc_sp_bench_print(stdout, &s, ctx, &res, NULL, &err) != LC_ERR_INVALID_ARG) FAIL("bench print: no ranks");
    lc_context_free(ctx);
}

static void eval_model_case(const lc_model *m) {
    const int32_t V = m->cfg.vocab_size;
    enum { N = 150, N2 = 30, NP = 50, NG = 20 };
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 200;
    o.n_batch = 16;
    o.n_threads = 1;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context_opts so = o;
    so.kv_external = true;
    lc_error err;
    lc_context *ref = NULL, *ctx = NULL;
    lc_sp *sp = NULL;
    lc_eval_model *ea = NULL, *eb = NULL;
    int32_t toks[N + N2], ga[NG], gb[NG];
    float la[N + N2], lb[N + N2];
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < N + N2; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    if (lc_context_create(m, &o, &ref, &err) != LC_OK || lc_context_create(m, &so, &ctx, &err) != LC_OK ||
        lc_sp_create(ctx, MPI_COMM_WORLD, &sp, &err) != LC_OK ||
        lc_eval_model_from_context(ref, NULL, -1, false, &ea, &err) != LC_OK ||
        lc_sp_eval_model(sp, NULL, -1, &eb, &err) != LC_OK) {
        FAIL("evalmodel: setup: %s", err.msg);
        goto done;
    }
    ea->ops->reset(ea);
    eb->ops->reset(eb);
    if (ea->ops->append_logprobs(ea, toks, N, la, &err) != LC_OK ||
        ea->ops->append_logprobs(ea, toks + N, N2, la + N, &err) != LC_OK) {
        FAIL("evalmodel: reference log-probabilities: %s", err.msg);
        goto done;
    }
    if (eb->ops->append_logprobs(eb, toks, N, lb, &err) != LC_OK ||
        eb->ops->append_logprobs(eb, toks + N, N2, lb + N, &err) != LC_OK) {
        FAIL("evalmodel: sp log-probabilities: %s", err.msg);
        goto done;
    }
    double worst = 0;
    if (!isnan(lb[0])) FAIL("evalmodel: the first token of an empty sequence got %g, not NaN", (double)lb[0]);
    for (int i = 1; i < N + N2; i++) {
        const double d = fabs((double)la[i] - lb[i]);
        if (!(d <= 1e-4)) {
            FAIL("evalmodel: log-probability of token %d: %.7g vs %.7g", i, (double)lb[i], (double)la[i]);
            break;
        }
        worst = fmax(worst, d);
    }
    lc_eval_ppl_config pc = {64, 40, NULL, NULL};
    lc_eval_ppl_result ra, rb;
    if (lc_eval_ppl_run(ea, toks, N + N2, &pc, &ra, &err) != LC_OK || lc_eval_ppl_run(eb, toks, N + N2, &pc, &rb, &err) != LC_OK) {
        FAIL("evalmodel: ppl: %s", err.msg);
        goto done;
    }
    const double dp = fabs(rb.ppl - ra.ppl) / ra.ppl;
    if (!(dp <= 1e-5) || ra.n_scored != rb.n_scored)
        FAIL("evalmodel: ppl %.9g over %lld tokens vs %.9g over %lld", rb.ppl, (long long)rb.n_scored, ra.ppl,
             (long long)ra.n_scored);
    int64_t na = 0, nb = 0;
    if (ea->ops->generate(ea, toks, NP, NG, ga, &na, &err) != LC_OK || eb->ops->generate(eb, toks, NP, NG, gb, &nb, &err) != LC_OK) {
        FAIL("evalmodel: generate: %s", err.msg);
        goto done;
    }
    if (na != nb || memcmp(ga, gb, (size_t)na * sizeof(int32_t)) != 0)
        FAIL("evalmodel: greedy answers differ (%lld vs %lld tokens)", (long long)nb, (long long)na);
    else if (rank == 0)
        printf("P=%d evalmodel: %d log-probabilities within %.3g, ppl %.6f vs %.6f (relative %.3g), %lld greedy tokens equal\n",
               n_ranks, N + N2 - 1, worst, rb.ppl, ra.ppl, dp, (long long)nb);
done:
    lc_eval_model_free(ea);
    lc_eval_model_free(eb);
    lc_sp_free(sp);
    lc_context_free(ctx);
    lc_context_free(ref);
}

static void ring_failure(const lc_model *m) {
    const int32_t V = m->cfg.vocab_size;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 64;
    o.n_batch = 8;
    o.n_threads = 1;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context_opts so = o;
    so.kv_external = true;
    lc_error err;
    lc_context *ref = NULL, *ctx = NULL;
    lc_sp *sp = NULL;
    int32_t prompt[40];
    float *la = malloc((size_t)V * sizeof(float)), *lb = malloc((size_t)V * sizeof(float));
    if (!la || !lb) {
        FAIL("ringfail: out of memory");
        goto done;
    }
    for (int i = 0; i < 40; i++) prompt[i] = (i * 53 + 7) % V;
    if (lc_context_create(m, &o, &ref, &err) != LC_OK || lc_context_create(m, &so, &ctx, &err) != LC_OK ||
        lc_sp_create(ctx, MPI_COMM_WORLD, &sp, &err) != LC_OK) {
        FAIL("ringfail: setup: %s", err.msg);
        goto done;
    }
    /* position 9 is in block 1 of round 0: rank 1's */
    const int32_t keep = prompt[9];
    if (rank == 1) prompt[9] = V;
    lc_status st = lc_sp_prefill(sp, prompt, 40, lb, false, &err);
    prompt[9] = keep;
    if (st == LC_OK) FAIL("ringfail: every rank went on");
    else if (!strstr(err.msg, "rank 1: ") || !strstr(err.msg, "outside the vocabulary"))
        FAIL("ringfail: message '%s' does not name rank 1's bad token", err.msg);
    else if (lc_context_n_past(ctx) != 0) FAIL("ringfail: the context counts %lld tokens", (long long)lc_context_n_past(ctx));
    else if (lc_sp_prefill(sp, prompt, 40, lb, false, &err) != LC_OK) FAIL("ringfail: prefill after: %s", err.msg);
    else if (lc_context_eval(ref, prompt, 40, la, false, &err) != LC_OK) FAIL("ringfail: reference: %s", err.msg);
    else if (rel_diff(lb, la, V) > 1e-5) FAIL("ringfail: logits after the failure differ by %.3g", rel_diff(lb, la, V));
    else if (rank == 0) printf("P=%d ringfail: every rank stopped with: %s; the next prefill matches\n", n_ranks, err.msg);
done:
    lc_sp_free(sp);
    lc_context_free(ctx);
    lc_context_free(ref);
    free(la);
    free(lb);
}

int main(int argc, char **argv) {
    lc_sp_world world;
    lc_error err;
    if (lc_sp_world_begin(&world, false, &err) != LC_OK || !world.started) {
        fprintf(stderr, "FAIL: lc_sp_world_begin: %s (MPI_Init called: %d)\n", err.msg, world.started);
        return 1;
    }
    rank = world.rank, n_ranks = world.n_ranks;
    if (argc != 3) {
        if (rank == 0) fprintf(stderr, "usage: sp_logits MODEL logits|logits15|loadfail|ringfail\n");
        lc_sp_world_end(&world);
        return 2;
    }
    const bool loadfail = strcmp(argv[2], "loadfail") == 0;
    /* loadfail: rank 0 gives no path (every rank fails with its message), then rank 1 a file that is not there */
    const char *path = loadfail && rank == 1 ? "/nonexistent/longctx-missing.gguf" : argv[1];
    lc_model *m = NULL;
    if (loadfail) {
        const lc_status st0 = lc_sp_model_load(MPI_COMM_WORLD, rank == 0 ? NULL : argv[1], NULL, &m, &err);
        if (st0 != LC_ERR_INVALID_ARG || m || !strstr(err.msg, "rank 0: no model")) FAIL("no path: %s", err.msg);
    }
    lc_status st = lc_sp_model_load(MPI_COMM_WORLD, path, NULL, &m, &err);
    if (loadfail) {
        if (n_ranks < 2) FAIL("loadfail needs 2 ranks or more");
        else if (st == LC_OK || m) FAIL("loadfail: every rank went on");
        else if (!strstr(err.msg, "rank 1: ") || !strstr(err.msg, "longctx-missing"))
            FAIL("loadfail: message '%s' does not name rank 1 and the file", err.msg);
        else if (rank == 0) printf("P=%d loadfail: every rank stopped with: %s\n", n_ranks, err.msg);
    } else if (st != LC_OK) {
        FAIL("model: %s", err.msg);
    } else if (strcmp(argv[2], "ringfail") == 0) {
        if (n_ranks < 2) FAIL("ringfail needs 2 ranks or more");
        else ring_failure(m);
    } else if (strcmp(argv[2], "logits15") == 0) { /* a 15M shape: 6 layers, 6 heads of 48, vocab 32000 */
        const sp_case cases[] = {
            {"15M f32, ctx 164 (uneven)", 164, 32, 100, 64, LC_DTYPE_F32, PROMPT_RING},
            {"15M f16, ctx 256, batch 24", 256, 24, 130, 64, LC_DTYPE_F16, PROMPT_RING},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(m, &cases[i]);
    } else {
        const sp_case cases[] = {
            {"f32, ctx 164 (uneven)", 164, 32, 100, 64, LC_DTYPE_F32, PROMPT_RING},
            {"f32, ctx 164 (uneven)", 164, 32, 100, 16, LC_DTYPE_F32, PROMPT_EVAL},
            {"f16, ctx 512 (idle ranks)", 512, 64, 100, 64, LC_DTYPE_F16, PROMPT_RING},
            {"f32, batch 16 (many rounds)", 200, 16, 150, 16, LC_DTYPE_F32, PROMPT_RING_TWICE},
            {"q8_0, batch 7 (straddling)", 164, 7, 100, 16, LC_DTYPE_Q8_0, PROMPT_RING_THEN_EVAL},
            {"q8_0, batch 7 (straddling)", 164, 7, 100, 16, LC_DTYPE_Q8_0, PROMPT_RING},
            {"f32, ctx 2 (ranks > slots)", 2, 8, 1, 1, LC_DTYPE_F32, PROMPT_RING},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(m, &cases[i]);
        budget_case(m);
        eval_model_case(m);
        if (rank == 0) bench_print_case(m);
    }
    lc_model_free(m);
    int all = 0;
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    lc_sp_world_end(&world);
    return all ? 1 : 0;
}
