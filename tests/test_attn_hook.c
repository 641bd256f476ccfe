/*
 * The runtime's side of sequence parallelism, without MPI: an attention hook
 * (lc_context_set_attn_hook) that keeps its own f32 cache in this process,
 * lc_context_eval_at, lc_context_append_evaluated and lc_context_opts
 * .kv_external, on a random model against a plain context:
 *
 *  - blocks of the prompt evaluated with lc_context_eval_at (each at its
 *    positions, not counted), then counted with lc_context_append_evaluated
 *    and the last block's logits: every row's logits and then 16 greedy
 *    decode steps (lc_context_eval through the hook) equal the plain
 *    context's within 1e-6 (relative; the same kernels on the same keys);
 *    n_past is the prompt's length; a hook that drops the keys of earlier
 *    blocks gives other logits (the comparison can fail);
 *  - a kv_external context counts 12 bytes a slot of KV (position and token)
 *    and refuses, with LC_ERR_UNSUPPORTED: evaluation without a hook, KV rows,
 *    sessions, synthetic depth; eval_at and append_evaluated without a hook;
 *    kv_external with a window policy (at creation);
 *  - eval_at refuses more tokens than n_batch and positions past n_ctx;
 *    append_evaluated past n_ctx refuses with LC_ERR_TOO_LARGE and changes
 *    nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/runtime.h"
#include "test_util.h"

#define N_CTX 96
#define BATCH 16

typedef struct {
    int32_t n_layers;
    int64_t kvd;
    float *k, *v;     /* [n_layers][N_CTX][kvd] */
    float *out, *lse; /* scratch: unused lse */
    bool forget;      /* drop keys before the chunk (the failing variant) */
} host_cache;

static lc_status host_attend(void *user, const lc_attn_hook_call *c, lc_error *err) {
    host_cache *h = user;
    if (c->pos0 + c->n_new > N_CTX) return lc_fail(err, LC_ERR_INVALID_ARG, "host cache: past the end");
    float *kl = h->k + (size_t)c->layer * N_CTX * (size_t)h->kvd, *vl = h->v + (size_t)c->layer * N_CTX * (size_t)h->kvd;
    memcpy(kl + c->pos0 * h->kvd, c->k, (size_t)(c->n_new * h->kvd) * sizeof(float));
    memcpy(vl + c->pos0 * h->kvd, c->v, (size_t)(c->n_new * h->kvd) * sizeof(float));
    const int64_t from = h->forget ? c->pos0 : 0;
    lc_attn_shape s = c->shape;
    s.n_q = c->n_q;
    s.n_kv = c->pos0 + c->n_new - from;
    s.q_pos0 = c->q_pos0 - from;
    s.k_pos = NULL;
    s.causal = true;
    s.k_type = s.v_type = LC_DTYPE_F32;
    lc_attn_io io = {c->q, kl + from * h->kvd, vl + from * h->kvd, c->out, NULL};
    return lc_attn_forward(&s, c->params, &io, c->ws, c->ws_bytes, err);
}

static lc_model *make_model(void) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.head_dim = 32;
    c.n_heads = 4;
    c.dim = c.n_heads * c.head_dim;
    c.hidden_dim = 2 * c.dim + 8;
    c.n_layers = 3;
    c.n_kv_heads = 2;
    c.vocab_size = 97;
    c.ctx_train = 256;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, c.head_dim);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, 7, &m, &err) != LC_OK) fprintf(stderr, "random model: %s\n", err.msg);
    return m;
}

static double rel_diff(const float *a, const float *b, int64_t n) {
    double d = 0, mx = 1;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mx = fmax(mx, fabs((double)b[i]));
    }
    return d / mx;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

/* The prompt by blocks (eval_at + append_evaluated) through the host cache;
 * returns the worst relative difference from the plain context (prompt rows
 * and decode steps), or INFINITY on an error. */
static double run_blocks(const lc_model *m, bool forget, int n_prompt) {
    const int32_t V = m->cfg.vocab_size;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = N_CTX;
    o.n_batch = BATCH;
    o.n_threads = 1;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context_opts xo = o;
    xo.kv_external = true;
    lc_context *ref = NULL, *ctx = NULL;
    lc_error err;
    host_cache h = {m->cfg.n_layers, (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim, NULL, NULL, NULL, NULL, forget};
    h.k = calloc((size_t)(h.n_layers * N_CTX * h.kvd), sizeof(float));
    h.v = calloc((size_t)(h.n_layers * N_CTX * h.kvd), sizeof(float));
    int32_t tok[N_CTX];
    float *la = malloc((size_t)(N_CTX * V) * sizeof(float)), *lb = malloc((size_t)(N_CTX * V) * sizeof(float));
    double worst = INFINITY;
    for (int i = 0; i < N_CTX; i++) tok[i] = (int32_t)((i * 31 + 5) % V);
    if (!h.k || !h.v || !la || !lb) goto done;
    CHECK_OK(lc_context_create(m, &o, &ref, &err), &err);
    CHECK_OK(lc_context_create(m, &xo, &ctx, &err), &err);
    if (!ref || !ctx) goto done;
    CHECK_OK(lc_context_set_attn_hook(ctx, host_attend, &h, &err), &err);
    CHECK_OK(lc_context_eval(ref, tok, n_prompt, la, true, &err), &err);
    /* blocks of BATCH at their positions, the last one's logits kept */
    for (int a = 0; a < n_prompt; a += BATCH) {
        const int b = a + BATCH < n_prompt ? a + BATCH : n_prompt;
        if (lc_context_eval_at(ctx, tok + a, b - a, a, lb + (int64_t)a * V, true, &err) != LC_OK) {
            CHECK(0, "eval_at [%d, %d): %s", a, b, err.msg);
            goto done;
        }
        CHECK(lc_context_n_past(ctx) == 0, "eval_at counted tokens (%lld)", (long long)lc_context_n_past(ctx));
    }
    CHECK_OK(lc_context_append_evaluated(ctx, tok, n_prompt, lb + (int64_t)(n_prompt - 1) * V, &err), &err);
    CHECK(lc_context_n_past(ctx) == n_prompt, "n_past %lld after append_evaluated, want %d",
          (long long)lc_context_n_past(ctx), n_prompt);
    worst = rel_diff(lb, la, (int64_t)n_prompt * V);
    /* decode from the appended logits, through the hook */
    const float *lg = lc_context_logits(ctx);
    CHECK(lg != NULL, "no logits after append_evaluated");
    if (!lg) goto done;
    int32_t ta = argmax(la + (int64_t)(n_prompt - 1) * V, V), tb = argmax(lg, V);
    for (int s = 0; s < 16 && n_prompt + s < N_CTX; s++) {
        if (ta != tb) {
            worst = fmax(worst, 1.0);
            break;
        }
        if (lc_context_eval(ref, &ta, 1, la, false, &err) != LC_OK || lc_context_eval(ctx, &tb, 1, lb, false, &err) != LC_OK) {
            CHECK(0, "decode step %d: %s", s, err.msg);
            worst = INFINITY;
            goto done;
        }
        worst = fmax(worst, rel_diff(lb, la, V));
        ta = argmax(la, V);
        tb = argmax(lb, V);
    }
done:
    lc_context_free(ctx);
    lc_context_free(ref);
    free(h.k);
    free(h.v);
    free(la);
    free(lb);
    return worst;
}

static void test_refusals(const lc_model *m) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = N_CTX;
    o.n_batch = BATCH;
    o.n_threads = 1;
    o.kv_external = true;
    lc_error err;
    lc_context_memory mem;
    CHECK_OK(lc_context_memory_need(m, &o, &mem, &err), &err);
    CHECK(mem.kv_bytes == (size_t)N_CTX * (sizeof(int64_t) + sizeof(int32_t)), "kv_external counts %zu bytes of KV",
          mem.kv_bytes);
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (!ctx) return;
    int32_t tok[BATCH + 1] = {0};
    float logits[128];
    lc_status st = lc_context_eval(ctx, tok, 4, NULL, false, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "eval without a hook on a kv_external context: %s", lc_status_str(st));
    st = lc_context_eval_at(ctx, tok, 4, 0, NULL, false, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "eval_at without a hook: %s", lc_status_str(st));
    st = lc_context_append_evaluated(ctx, tok, 4, NULL, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "append_evaluated without a hook: %s", lc_status_str(st));
    CHECK(lc_context_kv_row_bytes(ctx) == 0, "kv rows of a kv_external context");
    char buf[64];
    st = lc_context_kv_read(ctx, 0, 0, buf, sizeof buf, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "kv_read: %s", lc_status_str(st));
    st = lc_session_save(ctx, "/nonexistent/x.session", NULL, 0, NULL, 0, NULL, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "session save: %s", lc_status_str(st));
    st = lc_context_fill_synthetic(ctx, 8, 1, &err);
    CHECK(st == LC_ERR_UNSUPPORTED, "synthetic depth: %s", lc_status_str(st));
    /* with a hook: bounds */
    host_cache h = {m->cfg.n_layers, (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim, NULL, NULL, NULL, NULL, false};
    h.k = calloc((size_t)(h.n_layers * N_CTX * h.kvd), sizeof(float));
    h.v = calloc((size_t)(h.n_layers * N_CTX * h.kvd), sizeof(float));
    CHECK_OK(lc_context_set_attn_hook(ctx, host_attend, &h, &err), &err);
    st = lc_context_eval_at(ctx, tok, BATCH + 1, 0, NULL, false, &err);
    CHECK(st == LC_ERR_INVALID_ARG, "eval_at of more than n_batch: %s", lc_status_str(st));
    st = lc_context_eval_at(ctx, tok, 4, N_CTX - 3, NULL, false, &err);
    CHECK(st == LC_ERR_TOO_LARGE, "eval_at past n_ctx: %s", lc_status_str(st));
    CHECK_OK(lc_context_eval_at(ctx, tok, 4, 0, logits, false, &err), &err);
    CHECK_OK(lc_context_append_evaluated(ctx, tok, 4, logits, &err), &err);
    int32_t *many = calloc(N_CTX, sizeof(int32_t));
    st = many ? lc_context_append_evaluated(ctx, many, N_CTX - 3, NULL, &err) : LC_ERR_NOMEM;
    CHECK(st == LC_ERR_TOO_LARGE && lc_context_n_past(ctx) == 4, "append past n_ctx: %s, n_past %lld",
          lc_status_str(st), (long long)lc_context_n_past(ctx));
    CHECK(lc_context_logits(ctx) != NULL, "a refused append dropped the logits");
    free(many);
    lc_context_free(ctx);
    free(h.k);
    free(h.v);
    /* kv_external needs the FULL policy */
    lc_context_opts w = o;
    CHECK_OK(lc_kv_policy_parse("window:32", &w, &err), &err);
    ctx = NULL;
    st = lc_context_create(m, &w, &ctx, &err);
    CHECK(st == LC_ERR_UNSUPPORTED && !ctx, "kv_external with a window policy: %s", lc_status_str(st));
    lc_context_free(ctx);
}

int main(void) {
    lc_model *m = make_model();
    CHECK(m != NULL, "no model");
    if (m) {
        const int lens[] = {40, 48, 5};
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            const double d = run_blocks(m, false, lens[i]);
            CHECK(d <= 1e-6, "prompt of %d in blocks: logits differ by %.3g", lens[i], d);
        }
        const double bad = run_blocks(m, true, 40);
        CHECK(bad > 1e-3, "a hook that forgets earlier blocks still matched (%.3g): the test cannot fail", bad);
        test_refusals(m);
    }
    lc_model_free(m);
    return lc_test_finish("test_attn_hook");
}
