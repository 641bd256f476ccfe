/*
 * Batched decode (lc_decode_batch, include/longctx/runtime.h): one token of
 * each of n sequences in one forward pass. On a CPU a decode step is bound by
 * reading the weights; n sequences stepped together read each matrix once
 * instead of n times.
 *
 * The batch owns a workspace context of the model (n_ctx = n_batch =
 * max_seqs, rows_exact): its activation rows, weight-product scratch and
 * norms carry the n rows through the products (lc_rt_forward_batch in
 * forward.c); each sequence's RoPE, cache, attention, recurrent state and
 * policy run in that sequence's own context, as a one-token lc_context_eval
 * would run them.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "quant/qk_kernels.h"
#include "runtime/runtime_internal.h"

struct lc_decode_batch {
    const lc_model *model;
    int32_t max_seqs;
    lc_context *ws;    /* the rows' workspace (rows_exact)               */
    float *logits;     /* [max_seqs, vocab]                               */
    int64_t *pos;      /* [max_seqs] each row's RoPE position             */
    int64_t *n_past;   /* [max_seqs] each context's length before the step */
};

/* Weight rows per block of the row-exact product: at most about 256 KiB of
 * weights (an L2-resident block read from memory once, then by every row
 * from cache; smaller blocks cost more in per-call overhead than they save),
 * at least 4 blocks per thread when the matrix allows, a multiple of 8 rows
 * so that blocks split the rows where the one-token kernels' own thread split
 * does. */
#define ROWS_BLOCK_BYTES ((size_t)256 << 10)
/* Multiply-adds below which the product runs on one thread (lc_matmul's
 * matrix-vector threshold). */
#define ROWS_PARALLEL_MIN 32768

lc_status lc_rt_matmul_rows(lc_context *ctx, const lc_tensor *w, const float *x, int64_t n, float *y, lc_error *err) {
    lc_qk_type qt;
    if (n <= 1 || lc_qk_from_dtype(w->type, &qt))
        return lc_matmul(w, x, n, y, ctx->mm_ws, ctx->mm_ws_bytes, &ctx->kopts, err);
    size_t need = 0, rb = 0;
    lc_status st = lc_matmul_workspace(w, 1, 1, &need, err);
    if (st == LC_OK) st = lc_dtype_row_bytes(w->type, w->cols, &rb, err);
    if (st != LC_OK) return st;
    if (need > 0 || rb == 0) {
        /* a one-token product that needs scratch: one call per row */
        for (int64_t t = 0; t < n && st == LC_OK; t++)
            st = lc_matmul(w, x + t * w->cols, 1, y + t * w->rows, ctx->mm_ws, ctx->mm_ws_bytes, &ctx->kopts, err);
        return st;
    }
    const bool parallel = (double)w->rows * (double)w->cols >= ROWS_PARALLEL_MIN && ctx->kopts.n_threads > 1;
    int64_t blk = (int64_t)(ROWS_BLOCK_BYTES / rb);
    if (parallel) blk = LC_MIN(blk, w->rows / (4 * (int64_t)ctx->kopts.n_threads));
    blk = blk / 8 * 8;
    if (blk < 8) blk = 8;
    const int64_t n_blk = (w->rows + blk - 1) / blk;
    const int use = parallel && n_blk > 1 ? ctx->kopts.n_threads : 1;
    lc_kernel_opts one = ctx->kopts;
    one.n_threads = 1;
    atomic_int failed = 0;
#pragma omp parallel for num_threads(use) schedule(dynamic, 1)
    for (int64_t b = 0; b < n_blk; b++) {
        lc_tensor v = *w;
        const int64_t r0 = b * blk;
        v.rows = LC_MIN(blk, w->rows - r0);
        v.data = (const char *)w->data + (size_t)r0 * rb;
        lc_error e;
        for (int64_t t = 0; t < n; t++)
            if (lc_matmul(&v, x + t * w->cols, 1, y + t * w->rows + r0, NULL, 0, &one, &e) != LC_OK)
                atomic_store(&failed, 1);
    }
    if (atomic_load(&failed))
        return lc_fail(err, LC_ERR_INTERNAL, "batched product: a %lld x %lld %s block failed", (long long)w->rows,
                       (long long)w->cols, lc_dtype_name(w->type));
    return LC_OK;
}

lc_status lc_decode_batch_create(const lc_model *m, int32_t max_seqs, const lc_context_opts *o, lc_decode_batch **out,
                                 lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: NULL output");
    *out = NULL;
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: NULL model");
    if (max_seqs < 1 || max_seqs > LC_DECODE_BATCH_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: %d sequences is outside 1..%d", (int)max_seqs,
                       LC_DECODE_BATCH_MAX);
    /* The workspace: the sequences' threads and kernels; the rest only has to
     * exist (its cache and attention are never used): a FULL cache of
     * max_seqs f32 rows, naive attention, no window layers. */
    lc_context_opts wo;
    if (o) wo = *o;
    else lc_context_opts_init(&wo);
    wo.n_ctx = max_seqs;
    wo.n_batch = max_seqs;
    wo.attn = "naive";
    wo.attn_params = NULL;
    wo.k_type = wo.v_type = LC_DTYPE_F32;
    wo.rope = NULL;
    wo.kv_policy = LC_KV_POLICY_FULL;
    wo.kv_n_sinks = wo.kv_window = wo.kv_n_keep = wo.kv_n_heavy = 0;
    wo.swa = -1;
    wo.swa_period = 0;
    wo.swa_full = false;
    lc_decode_batch *b = calloc(1, sizeof *b);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "decode batch: out of memory");
    b->model = m;
    b->max_seqs = max_seqs;
    lc_status st = lc_context_create(m, &wo, &b->ws, err);
    if (st != LC_OK) {
        lc_decode_batch_free(b);
        return st;
    }
    b->ws->rows_exact = true;
    b->logits = malloc((size_t)max_seqs * (size_t)m->cfg.vocab_size * sizeof(float));
    b->pos = malloc((size_t)max_seqs * sizeof *b->pos);
    b->n_past = malloc((size_t)max_seqs * sizeof *b->n_past);
    if (!b->logits || !b->pos || !b->n_past) {
        lc_decode_batch_free(b);
        return lc_fail(err, LC_ERR_NOMEM, "decode batch: out of memory for %d rows of logits", (int)max_seqs);
    }
    *out = b;
    return LC_OK;
}

void lc_decode_batch_free(lc_decode_batch *b) {
    if (!b) return;
    lc_context_free(b->ws);
    free(b->logits);
    free(b->pos);
    free(b->n_past);
    free(b);
}

int32_t lc_decode_batch_max_seqs(const lc_decode_batch *b) { return b ? b->max_seqs : 0; }

void lc_decode_batch_get_timings(const lc_decode_batch *b, lc_context_timings *t) {
    if (b && t) lc_context_get_timings(b->ws, t);
}

lc_status lc_decode_batch_eval(lc_decode_batch *b, lc_context *const *ctxs, const int32_t *tokens, int32_t n,
                               float *logits, lc_error *err) {
    if (!b || !ctxs || !tokens) return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: NULL argument");
    if (n < 1 || n > b->max_seqs)
        return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: %d sequences for a batch of 1..%d", (int)n,
                       (int)b->max_seqs);
    const int32_t vocab = b->model->cfg.vocab_size;
    /* Everything is checked before anything changes. */
    for (int32_t i = 0; i < n; i++) {
        const lc_context *c = ctxs[i];
        if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: sequence %d has no context", (int)i);
        if (c->model != b->model)
            return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: sequence %d's context is of another model", (int)i);
        for (int32_t j = 0; j < i; j++)
            if (ctxs[j] == c)
                return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: sequences %d and %d share one context", (int)j,
                               (int)i);
        if (c->attn_hook)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "decode batch: sequence %d's context has an attention hook",
                           (int)i);
        if (c->kv.n_layers > 0 && !c->kv.k && !c->linear)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "decode batch: sequence %d's context keeps no KV cache (kv_external)",
                           (int)i);
        if (tokens[i] < 0 || tokens[i] >= vocab)
            return lc_fail(err, LC_ERR_INVALID_ARG, "decode batch: token %d of sequence %d is outside the vocabulary (0..%d)",
                           tokens[i], (int)i, vocab - 1);
        const int64_t n_past = lc_context_n_past(c);
        if (c->linear ? n_past + 1 > c->sh.n_ctx : !lc_kv_cache_has_room(&c->kv, 1))
            return lc_fail(err, LC_ERR_TOO_LARGE, "decode batch: sequence %d's context is full: %lld tokens; raise -c",
                           (int)i, (long long)c->sh.n_ctx);
    }
    if (n == 1) /* one sequence: its own step, as it always ran */
        return lc_context_eval(ctxs[0], tokens, 1, logits, false, err);

    const double t_start = lc_time_now(), mm0 = b->ws->tm.t_matmul;
    double at0 = 0.0;
    for (int32_t i = 0; i < n; i++) at0 += ctxs[i]->tm.t_attn;
    lc_status st = LC_OK;
    int32_t n_reserved = 0;
    for (; n_reserved < n; n_reserved++) {
        lc_context *c = ctxs[n_reserved];
        b->n_past[n_reserved] = lc_context_n_past(c);
        if (c->linear) {
            b->pos[n_reserved] = c->n_past_linear;
        } else {
            st = lc_rt_reserve(c, &tokens[n_reserved], 1, err);
            if (st != LC_OK) break;
            b->pos[n_reserved] = lc_kv_cache_rot_pos0(&c->kv);
        }
    }
    if (st == LC_OK) st = lc_rt_forward_batch(b->ws, ctxs, tokens, b->pos, n, b->logits, err);
    if (st != LC_OK) {
        /* as a failed lc_context_eval leaves each (the one whose reservation
         * failed included) */
        for (int32_t i = 0; i < n_reserved + (n_reserved < n); i++) lc_rt_eval_failed(ctxs[i], b->n_past[i]);
        return st;
    }
    for (int32_t i = 0; i < n; i++) {
        lc_context *c = ctxs[i];
        if (c->linear) c->n_past_linear++;
        else lc_kv_cache_commit(&c->kv);
        memcpy(c->logits, b->logits + (size_t)i * (size_t)vocab, (size_t)vocab * sizeof(float));
        c->have_logits = true;
        c->tm.n_tokens++;
        c->tm.n_forward++;
    }
    if (logits) memcpy(logits, b->logits, (size_t)n * (size_t)vocab * sizeof(float));
    double at1 = 0.0;
    for (int32_t i = 0; i < n; i++) at1 += ctxs[i]->tm.t_attn;
    lc_context_timings *tm = &b->ws->tm;
    tm->n_tokens += n;
    tm->n_forward++;
    tm->t_attn += at1 - at0;
    tm->t_other += (lc_time_now() - t_start) - (tm->t_matmul - mm0) - (at1 - at0);
    return LC_OK;
}
