/*
 * Retrieval grids: lengths x depths x trials of task samples (passkey,
 * RULER's needle-in-a-haystack variants, variable tracking), each answered
 * greedily by the model and scored by exact match and recall.
 *
 * Visiting order: trial, then length, then depth from the deepest needle to
 * the shallowest. Samples of one trial share their seed, so at one length
 * they share the haystack and differ only from the needle on: going from a
 * deeper needle to a shallower one, a model that keeps the common prefix of
 * consecutive prompts re-evaluates only the part after the new needle
 * (about half of the tokens over a full sweep of depths).
 *
 *   cells [n_lengths][n_depths]   (n_depths = 1 for random depths)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

/* ---- Buckets ------------------------------------------------------------------ */

int lc_eval_bucket(int64_t v) {
    if (v <= 0) return 0;
    int b = 1;
    while (b < LC_EVAL_MAX_BUCKETS - 1 && (v >> b) > 0) b++;
    return b;
}

void lc_eval_bucket_range(int b, int64_t *lo, int64_t *hi) {
    if (b <= 0) {
        *lo = *hi = 0;
        return;
    }
    *lo = (int64_t)1 << (b - 1);
    *hi = b >= LC_EVAL_MAX_BUCKETS - 1 ? INT64_MAX : ((int64_t)1 << b) - 1;
}

/* ---- Configuration ------------------------------------------------------------ */

void lc_eval_grid_config_init(lc_eval_grid_config *c, lc_task_kind kind) {
    memset(c, 0, sizeof *c);
    lc_task_spec_init(&c->task, kind, 1);
    c->trials = 1;
    c->seed = 1;
    c->margin = 4;
    lc_eval_grid_even_depths(c, 10, NULL);
}

lc_status lc_eval_grid_even_depths(lc_eval_grid_config *c, int n, lc_error *err) {
    if (n < 1 || n > LC_EVAL_MAX_DEPTHS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: %d depths outside 1..%d", n, LC_EVAL_MAX_DEPTHS);
    for (int i = 0; i < n; i++) c->depths[i] = n == 1 ? 0.5 : (double)i / (double)(n - 1);
    c->n_depths = n;
    return LC_OK;
}

static uint64_t trial_seed(uint64_t seed, int32_t trial) {
    lc_rng r;
    lc_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(trial + 1)));
    return lc_rng_u64(&r);
}

lc_status lc_eval_grid_sample(const lc_eval_grid_config *c, const lc_tokenizer *tok, int64_t length, double depth,
                              int32_t trial, lc_task_sample *out, lc_error *err) {
    lc_task_spec spec = c->task;
    spec.n_tokens = length;
    spec.depth = depth;
    return lc_task_generate(&spec, tok, trial_seed(c->seed, trial), out, err);
}

lc_status lc_eval_grid_check(const lc_eval_grid_config *c, const lc_tokenizer *tok, int64_t n_ctx, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL configuration");
    const lc_task_kind k = c->task.kind;
    if (k == LC_TASK_FILLER || (unsigned)k >= LC_TASK_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: task %s has no question to score", lc_task_kind_name(k));
    if (c->n_lengths < 1 || c->n_lengths > LC_EVAL_MAX_LENGTHS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: %d lengths outside 1..%d", c->n_lengths, LC_EVAL_MAX_LENGTHS);
    if (c->n_depths < 0 || c->n_depths > LC_EVAL_MAX_DEPTHS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: %d depths outside 0..%d", c->n_depths, LC_EVAL_MAX_DEPTHS);
    for (int d = 0; d < c->n_depths; d++)
        if (!(c->depths[d] >= 0.0 && c->depths[d] <= 1.0))
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval: depth %g%% is outside 0..100%%", 100.0 * c->depths[d]);
    if (c->trials < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: %d trials (need >= 1)", c->trials);
    if (c->margin < 0 || c->margin > 4096)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: margin %lld outside 0..4096", (long long)c->margin);
    if (!tok) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: the model has no tokenizer to write prompts with");
    for (int l = 0; l < c->n_lengths; l++) {
        const int64_t L = c->lengths[l];
        if (L < 1 || L > LC_TASK_MAX_TOKENS)
            return lc_fail(err, LC_ERR_INVALID_ARG, "eval: length %lld outside 1..%lld", (long long)L,
                           (long long)LC_TASK_MAX_TOKENS);
        if (L > n_ctx - c->margin)
            return lc_fail(err, LC_ERR_TOO_LARGE,
                           "eval: length %lld plus the answer margin (%lld) does not fit a context of %lld tokens; "
                           "raise -c",
                           (long long)L, (long long)c->margin, (long long)n_ctx);
    }
    /* Every length must hold the task's needles and question: the first
     * sample of each says so (or refuses, naming what it needs). */
    for (int l = 0; l < c->n_lengths; l++) {
        lc_task_sample s;
        lc_status st = lc_eval_grid_sample(c, tok, c->lengths[l], c->n_depths ? c->depths[0] : -1.0, 0, &s, err);
        lc_task_sample_free(&s);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}

/* ---- Scoring helpers ------------------------------------------------------------ */

int64_t lc_eval_answer_tokens(const lc_task_sample *s) {
    int64_t n = 0;
    for (int64_t i = s->n_prompt; i < s->n_tokens; i++) n += s->roles[i] == LC_ROLE_ANSWER;
    return n;
}

double lc_eval_asked_depth(const lc_task_sample *s) {
    for (int32_t i = 0; i < s->n_needles; i++)
        if (s->needles[i].asked) return s->needles[i].depth;
    return NAN;
}

lc_status lc_eval_score(const lc_task_sample *s, const lc_tokenizer *tok, const int32_t *gen, int64_t n_gen,
                        double *score, double *recall, char **text, lc_error *err) {
    const int32_t prev = s->n_prompt > 0 ? s->ids[s->n_prompt - 1] : -1;
    const size_t len = lc_eval_decode(tok, prev, gen, n_gen, NULL, 0);
    char *buf = malloc(len + 1);
    if (!buf) return lc_fail(err, LC_ERR_NOMEM, "eval: out of memory");
    lc_eval_decode(tok, prev, gen, n_gen, buf, len + 1);
    *score = lc_task_score(s->kind, s->answer, buf, len);
    *recall = lc_task_recall(s->kind, s->answer, buf, len);
    *text = buf;
    return LC_OK;
}

/* ---- Accumulators ---------------------------------------------------------------- */

lc_status lc_eval_grid_alloc(lc_eval_grid *g, const lc_eval_grid_config *c, lc_error *err) {
    memset(g, 0, sizeof *g);
    g->kind = c->task.kind;
    g->n_lengths = c->n_lengths;
    g->n_depths = c->n_depths > 0 ? c->n_depths : 1;
    g->cells = calloc((size_t)g->n_lengths * (size_t)g->n_depths, sizeof *g->cells);
    if (!g->cells) return lc_fail(err, LC_ERR_NOMEM, "eval: out of memory");
    for (int l = 0; l < g->n_lengths; l++)
        for (int d = 0; d < g->n_depths; d++) {
            lc_eval_cell *cell = &g->cells[l * g->n_depths + d];
            cell->length = c->lengths[l];
            cell->depth = c->n_depths > 0 ? c->depths[d] : NAN;
        }
    return LC_OK;
}

void lc_eval_grid_add(lc_eval_grid *g, int l, int d, const lc_task_sample *s, double score, double recall,
                      double seconds) {
    lc_eval_cell *cell = &g->cells[l * g->n_depths + d];
    cell->trials++;
    cell->accuracy += score;
    cell->recall += recall;
    cell->mean_tokens += (double)s->n_prompt;
    cell->mean_depth += lc_eval_asked_depth(s);
    cell->seconds += seconds;
    g->accuracy += score;
    g->recall += recall;
    g->n_trials++;
}

void lc_eval_grid_finish(lc_eval_grid *g) {
    for (int i = 0; i < g->n_lengths * g->n_depths; i++) {
        lc_eval_cell *cell = &g->cells[i];
        const double n = cell->trials > 0 ? (double)cell->trials : NAN;
        cell->accuracy /= n;
        cell->recall /= n;
        cell->mean_tokens /= n;
        cell->mean_depth /= n;
    }
    const double n = g->n_trials > 0 ? (double)g->n_trials : NAN;
    g->accuracy /= n;
    g->recall /= n;
}

void lc_eval_grid_free(lc_eval_grid *g) {
    if (!g) return;
    free(g->cells);
    memset(g, 0, sizeof *g);
}

void lc_eval_depth_order(const lc_eval_grid_config *c, int *order) {
    const int n = c->n_depths > 0 ? c->n_depths : 1;
    for (int i = 0; i < n; i++) order[i] = i;
    if (c->n_depths <= 0) return;
    for (int i = 1; i < n; i++) { /* insertion sort, deepest first, stable */
        const int v = order[i];
        int j = i;
        while (j > 0 && c->depths[order[j - 1]] < c->depths[v]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

double lc_eval_grid_work(const lc_eval_grid_config *c) {
    double w = 0.0;
    for (int l = 0; l < c->n_lengths; l++) w += (double)c->lengths[l];
    return w * (double)(c->n_depths > 0 ? c->n_depths : 1) * (double)c->trials;
}

/* ---- The run ----------------------------------------------------------------------- */

lc_status lc_eval_grid_run(lc_eval_model *m, const lc_eval_grid_config *c, lc_eval_grid *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: NULL output");
    memset(out, 0, sizeof *out);
    if (!m || !m->ops || !m->ops->generate) return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no model");
    lc_status st = lc_eval_grid_check(c, m->tok, m->n_ctx, err);
    if (st != LC_OK) return st;
    lc_eval_grid g;
    st = lc_eval_grid_alloc(&g, c, err);
    if (st != LC_OK) return st;

    int order[LC_EVAL_MAX_DEPTHS];
    lc_eval_depth_order(c, order);
    const double total = lc_eval_grid_work(c);
    double done = 0.0;
    const double t_start = lc_time_now();
    int32_t *gen = NULL;
    int64_t gen_cap = 0;
    int64_t ev0 = 0, re0 = 0;
    lc_eval_model_prefix_stats(m, &ev0, &re0);

    for (int32_t t = 0; t < c->trials && st == LC_OK; t++) {
        for (int l = 0; l < c->n_lengths && st == LC_OK; l++) {
            for (int oi = 0; oi < g.n_depths && st == LC_OK; oi++) {
                const int d = order[oi];
                const double depth = c->n_depths > 0 ? c->depths[d] : -1.0;
                const double t0 = lc_time_now();
                lc_task_sample s;
                st = lc_eval_grid_sample(c, m->tok, c->lengths[l], depth, t, &s, err);
                const int64_t max_new = st == LC_OK ? lc_eval_answer_tokens(&s) + c->margin : 0;
                if (st == LC_OK && max_new > gen_cap) {
                    int32_t *p = realloc(gen, (size_t)max_new * sizeof(int32_t));
                    if (!p) st = lc_fail(err, LC_ERR_NOMEM, "eval: out of memory");
                    else gen = p, gen_cap = max_new;
                }
                int64_t n_gen = 0;
                if (st == LC_OK) st = m->ops->generate(m, s.ids, s.n_prompt, max_new, gen, &n_gen, err);
                if (st == LC_OK && (n_gen < 0 || n_gen > max_new))
                    st = lc_fail(err, LC_ERR_INTERNAL, "eval: the model returned %lld tokens for %lld asked",
                                 (long long)n_gen, (long long)max_new);
                double score = 0.0, recall = 0.0;
                char *text = NULL;
                if (st == LC_OK) st = lc_eval_score(&s, m->tok, gen, n_gen, &score, &recall, &text, err);
                if (st == LC_OK) {
                    lc_eval_grid_add(&g, l, d, &s, score, recall, lc_time_now() - t0);
                    if (c->on_trial && !c->on_trial(c->trial_user, c->lengths[l], depth, t, &s, text, score, recall))
                        st = lc_fail(err, LC_ERR_CANCELLED, "eval: stopped");
                }
                free(text);
                lc_task_sample_free(&s);
                done += (double)c->lengths[l];
                if (st == LC_OK && c->progress && !c->progress(c->progress_user, done, total, "eval"))
                    st = lc_fail(err, LC_ERR_CANCELLED, "eval: cancelled");
            }
        }
    }
    free(gen);
    if (st != LC_OK) {
        lc_eval_grid_free(&g);
        return st;
    }
    lc_eval_grid_finish(&g);
    int64_t ev1 = 0, re1 = 0;
    lc_eval_model_prefix_stats(m, &ev1, &re1);
    g.tokens_evaluated = ev1 - ev0;
    g.tokens_reused = re1 - re0;
    g.seconds = lc_time_now() - t_start;
    *out = g;
    return LC_OK;
}
