/*
 * Attention retention: where does attention go, by distance?
 *
 * For each passkey sample of the grid, the prompt is evaluated with an
 * attention observer on the context and split into eval calls that each end
 * at a probe position, so every layer computes the probe's query row (the
 * runtime's last layer only carries the rows whose logits it returns). For a
 * probe row at position p, layer l and head h the observer computes the
 * softmax probabilities over the visible keys by the naive formula
 * (lc_eval_attn_probs) and adds them up by distance bucket:
 *
 *   mass[l][h][b] += sum over visible keys j with lc_eval_bucket(p - pos_j) == b of p_j
 *   needle_mass[l][h] += sum over keys of the asked needle of p_j
 *
 * Each row's masses sum to 1 over the buckets; the result is their mean over
 * rows (probes x samples). Then the answer is generated and scored as the
 * grid does, giving accuracy by length and depth: the "lost in the middle"
 * curve of the same samples.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

void lc_eval_retention_config_init(lc_eval_retention_config *c) {
    memset(c, 0, sizeof *c);
    lc_eval_grid_config_init(&c->grid, LC_TASK_PASSKEY);
    c->probes[0] = -1;
    c->n_probes = 1;
}

typedef struct {
    lc_eval_retention *r;
    const int64_t *pos;      /* probe positions of the current sample, ascending */
    int n_pos;
    int64_t needle_lo, needle_hi; /* asked needle tokens [lo, hi) */
    float *probs;            /* [n_ctx] */
    float *kbuf;             /* [head_dim] */
    int64_t *rows;           /* [n_layers] rows seen per layer */
    bool failed;             /* an unsupported call was observed */
} observer;

static void observe(void *user, int32_t layer, const lc_attn_shape *s, const lc_attn_params *p,
                    const lc_attn_io *io) {
    observer *o = user;
    lc_eval_retention *r = o->r;
    if (layer < 0 || layer >= r->n_layers || s->n_head != r->n_heads) {
        o->failed = true;
        return;
    }
    for (int pi = 0; pi < o->n_pos; pi++) {
        const int64_t row = o->pos[pi] - s->q_pos0;
        if (row < 0 || row >= s->n_q) continue;
        for (int32_t h = 0; h < s->n_head; h++) {
            if (lc_eval_attn_probs(s, p, io, row, h, o->probs, o->kbuf) < 0) {
                o->failed = true;
                return;
            }
            double *mass = r->mass + ((size_t)layer * (size_t)r->n_heads + (size_t)h) * LC_EVAL_MAX_BUCKETS;
            double needle = 0.0;
            for (int64_t j = 0; j < s->n_kv; j++) {
                if (o->probs[j] == 0.0f) continue;
                const int64_t kpos = s->k_pos ? s->k_pos[j] : j;
                mass[lc_eval_bucket(o->pos[pi] - kpos)] += o->probs[j];
                if (kpos >= o->needle_lo && kpos < o->needle_hi) needle += o->probs[j];
            }
            r->needle_mass[(size_t)layer * (size_t)r->n_heads + (size_t)h] += needle;
        }
        o->rows[layer]++;
        if (layer == 0) { /* keys per bucket, once per row */
            for (int64_t j = 0; j < s->n_kv; j++) {
                const int64_t kpos = s->k_pos ? s->k_pos[j] : j;
                if (kpos <= o->pos[pi]) r->bucket_keys[lc_eval_bucket(o->pos[pi] - kpos)] += 1.0;
            }
        }
    }
}

/* Probe positions of a prompt of n tokens: resolved, inside it, ascending, unique. */
static int resolve_probes(const lc_eval_retention_config *c, int64_t n, int64_t *pos) {
    int k = 0;
    for (int i = 0; i < c->n_probes; i++) {
        const int64_t p = c->probes[i] >= 0 ? c->probes[i] : n + c->probes[i];
        if (p < 0 || p >= n) continue;
        int j = k;
        while (j > 0 && pos[j - 1] > p) {
            pos[j] = pos[j - 1];
            j--;
        }
        if (j > 0 && pos[j - 1] == p) { /* duplicate: undo the shift */
            for (; j < k; j++) pos[j] = pos[j + 1];
            continue;
        }
        pos[j] = p;
        k++;
    }
    return k;
}

static void asked_needle(const lc_task_sample *s, int64_t *lo, int64_t *hi) {
    *lo = *hi = -1;
    for (int32_t i = 0; i < s->n_needles; i++)
        if (s->needles[i].asked) {
            *lo = s->needles[i].pos;
            *hi = s->needles[i].pos + s->needles[i].len;
            return;
        }
}

/* Evaluate the prompt in pieces ending at each probe, then generate. */
static lc_status run_sample(lc_context *ctx, const lc_tokenizer *tok, int32_t eos, const lc_task_sample *s,
                            observer *o, int64_t max_new, int32_t *gen, int64_t *n_gen, lc_error *err) {
    lc_context_reset(ctx);
    lc_context_set_attn_observer(ctx, observe, o);
    lc_status st = LC_OK;
    int64_t at = 0;
    for (int i = 0; i < o->n_pos && st == LC_OK; i++) {
        st = lc_context_eval(ctx, s->ids + at, o->pos[i] + 1 - at, NULL, false, err);
        at = o->pos[i] + 1;
    }
    lc_context_set_attn_observer(ctx, NULL, NULL);
    if (st == LC_OK && o->failed)
        st = lc_fail(err, LC_ERR_UNSUPPORTED, "retention: an attention call could not be observed");
    if (st != LC_OK) return st;
    return lc_eval_ctx_generate(ctx, tok, eos, s->ids + at, s->n_prompt - at, max_new, gen, n_gen, err);
}

void lc_eval_retention_free(lc_eval_retention *r) {
    if (!r) return;
    free(r->mass);
    free(r->needle_mass);
    lc_eval_grid_free(&r->grid);
    memset(r, 0, sizeof *r);
}

lc_status lc_eval_retention_run(lc_context *ctx, const lc_tokenizer *tok, int32_t eos_id,
                                const lc_eval_retention_config *c, lc_eval_retention *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "retention: NULL output");
    memset(out, 0, sizeof *out);
    if (!ctx || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "retention: no context or configuration");
    const lc_attn_params *ap = lc_context_attn(ctx);
    if (ap->method != LC_ATTN_NAIVE && ap->method != LC_ATTN_FLASH && ap->method != LC_ATTN_WINDOW)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "retention: needs softmax attention over the KV cache (naive, flash or window), not %s",
                       lc_attn_method_name(ap->method));
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    if (ks.policy != LC_KV_POLICY_FULL)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "retention: needs the full KV cache (keys at their own positions), not the %s policy",
                       lc_kv_policy_name(ks.policy));
    if (c->n_probes < 1 || c->n_probes > LC_EVAL_MAX_PROBES)
        return lc_fail(err, LC_ERR_INVALID_ARG, "retention: %d probes outside 1..%d", c->n_probes,
                       LC_EVAL_MAX_PROBES);
    const lc_eval_grid_config *gc = &c->grid;
    const int64_t n_ctx = lc_context_n_ctx(ctx);
    lc_status st = lc_eval_grid_check(gc, tok, n_ctx, err);
    if (st != LC_OK) return st;
    const lc_model_config *mc = &lc_context_model(ctx)->cfg;
    if (eos_id < 0) eos_id = lc_tokenizer_eos(tok);

    lc_eval_retention r;
    memset(&r, 0, sizeof r);
    r.n_layers = mc->n_layers;
    r.n_heads = mc->n_heads;
    observer o;
    memset(&o, 0, sizeof o);
    o.r = &r;
    const size_t n_lh = (size_t)mc->n_layers * (size_t)mc->n_heads;
    r.mass = calloc(n_lh * LC_EVAL_MAX_BUCKETS, sizeof(double));
    r.needle_mass = calloc(n_lh, sizeof(double));
    o.probs = malloc((size_t)n_ctx * sizeof(float));
    o.kbuf = malloc((size_t)mc->head_dim * sizeof(float));
    o.rows = calloc((size_t)mc->n_layers, sizeof(int64_t));
    int64_t pos[LC_EVAL_MAX_PROBES];
    o.pos = pos;
    int32_t *gen = NULL;
    int64_t gen_cap = 0;
    if (!r.mass || !r.needle_mass || !o.probs || !o.kbuf || !o.rows)
        st = lc_fail(err, LC_ERR_NOMEM, "retention: out of memory");
    if (st == LC_OK) st = lc_eval_grid_alloc(&r.grid, gc, err);

    int order[LC_EVAL_MAX_DEPTHS];
    lc_eval_depth_order(gc, order);
    const double total = lc_eval_grid_work(gc), t_start = lc_time_now();
    double done = 0.0;
    for (int32_t t = 0; t < gc->trials && st == LC_OK; t++)
        for (int l = 0; l < gc->n_lengths && st == LC_OK; l++)
            for (int oi = 0; oi < r.grid.n_depths && st == LC_OK; oi++) {
                const int d = order[oi];
                const double depth = gc->n_depths > 0 ? gc->depths[d] : -1.0, t0 = lc_time_now();
                lc_task_sample s;
                st = lc_eval_grid_sample(gc, tok, gc->lengths[l], depth, t, &s, err);
                const int64_t max_new = st == LC_OK ? lc_eval_answer_tokens(&s) + gc->margin : 0;
                if (st == LC_OK && max_new > gen_cap) {
                    int32_t *p = realloc(gen, (size_t)max_new * sizeof(int32_t));
                    if (!p) st = lc_fail(err, LC_ERR_NOMEM, "retention: out of memory");
                    else gen = p, gen_cap = max_new;
                }
                int64_t n_gen = 0;
                if (st == LC_OK) {
                    o.n_pos = resolve_probes(c, s.n_prompt, pos);
                    asked_needle(&s, &o.needle_lo, &o.needle_hi);
                    st = run_sample(ctx, tok, eos_id, &s, &o, max_new, gen, &n_gen, err);
                }
                double score = 0.0, recall = 0.0;
                char *text = NULL;
                if (st == LC_OK) st = lc_eval_score(&s, tok, gen, n_gen, &score, &recall, &text, err);
                if (st == LC_OK) {
                    lc_eval_grid_add(&r.grid, l, d, &s, score, recall, lc_time_now() - t0);
                    if (gc->on_trial &&
                        !gc->on_trial(gc->trial_user, gc->lengths[l], depth, t, &s, text, score, recall))
                        st = lc_fail(err, LC_ERR_CANCELLED, "retention: stopped");
                }
                free(text);
                lc_task_sample_free(&s);
                done += (double)gc->lengths[l];
                if (st == LC_OK && gc->progress && !gc->progress(gc->progress_user, done, total, "retention"))
                    st = lc_fail(err, LC_ERR_CANCELLED, "retention: cancelled");
            }
    lc_context_set_attn_observer(ctx, NULL, NULL);
    if (st == LC_OK) {
        r.n_rows = o.rows[0];
        for (int32_t l = 0; l < r.n_layers && st == LC_OK; l++)
            if (o.rows[l] != r.n_rows)
                st = lc_fail(err, LC_ERR_INTERNAL, "retention: layer %d saw %lld probe rows, layer 0 %lld", l,
                             (long long)o.rows[l], (long long)r.n_rows);
        if (st == LC_OK && r.n_rows == 0)
            st = lc_fail(err, LC_ERR_INVALID_ARG, "retention: no probe position falls inside the prompts");
    }
    if (st == LC_OK) {
        const double n = (double)r.n_rows;
        for (size_t i = 0; i < n_lh * LC_EVAL_MAX_BUCKETS; i++) r.mass[i] /= n;
        for (size_t i = 0; i < n_lh; i++) r.needle_mass[i] /= n;
        for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++) {
            r.bucket_keys[b] /= n;
            if (r.bucket_keys[b] > 0) r.n_buckets = b + 1;
        }
        lc_eval_grid_finish(&r.grid);
        r.grid.seconds = lc_time_now() - t_start;
    }
    free(o.probs);
    free(o.kbuf);
    free(o.rows);
    free(gen);
    if (st != LC_OK) {
        lc_eval_retention_free(&r);
        return st;
    }
    *out = r;
    return LC_OK;
}
