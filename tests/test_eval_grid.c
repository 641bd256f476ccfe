/*
 * Retrieval grids (longctx/eval.h) with fake models behind lc_eval_model, on
 * the synthetic tokenizer (no model file needed):
 *
 *  - a reader that parses the pass key out of the prompt text (independent of
 *    the grid code) -> 100%; one that always answers " 0" -> 0%;
 *  - an oracle that looks the prompt up among the samples the test made with
 *    lc_eval_grid_sample -> 100% accuracy and recall for every RULER variant;
 *  - right only when the asked needle sits in the first half of the prompt:
 *    the heat map equals, cell by cell, the expectation computed from the
 *    samples, and at depths 0/10/90/100% it is exactly 1 1 0 0;
 *  - vt answered with the first k of the chain's names: recall k/(hops+1),
 *    accuracy 0 (RULER's partial credit);
 *  - the answer budget (answer tokens + margin), the visiting order (deepest
 *    needle first), determinism, random depths, JSON and the refusals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/eval.h"
#include "longctx/tasks.h"
#include "test_util.h"

/* ---- Fake models ---------------------------------------------------------------- */

typedef enum { FAKE_READER, FAKE_WRONG, FAKE_ORACLE, FAKE_FIRST_HALF, FAKE_PARTIAL } fake_kind;

#define MAX_SAMPLES 512

typedef struct {
    lc_eval_model base; /* first: the grid sees this */
    fake_kind kind;
    int partial;        /* FAKE_PARTIAL: names to give */
    lc_task_sample *samples; /* the oracle's table */
    int n_samples;
    int64_t calls, bad_budget;
} fake_model;

static char *decode_all(const lc_tokenizer *tok, const int32_t *ids, int64_t n) {
    size_t need = 0;
    lc_error err;
    lc_tokenizer_decode(tok, ids, n, NULL, 0, &need, &err);
    char *buf = malloc(need + 1);
    size_t len = 0;
    if (buf && lc_tokenizer_decode(tok, ids, n, buf, need + 1, &len, &err) != LC_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Text -> ids into out (cap), as a continuation (no BOS). */
static int64_t encode(const lc_tokenizer *tok, const char *text, int32_t *out, int64_t cap) {
    int64_t n = 0;
    lc_error err;
    if (lc_tokenizer_encode(tok, text, strlen(text), false, out, cap, &n, &err) != LC_OK) return 0;
    return n;
}

static int64_t answer_tokens(const lc_task_sample *s) {
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_tokens; i++) n += s->roles[i] == LC_ROLE_ANSWER;
    return n;
}

static const lc_task_sample *lookup(fake_model *f, const int32_t *prompt, int64_t n) {
    for (int i = 0; i < f->n_samples; i++)
        if (f->samples[i].n_prompt == n && memcmp(f->samples[i].ids, prompt, (size_t)n * sizeof(int32_t)) == 0)
            return &f->samples[i];
    return NULL;
}

static lc_status fake_generate(lc_eval_model *m, const int32_t *prompt, int64_t n_prompt, int64_t max_new, int32_t *out,
                               int64_t *n_out, lc_error *err) {
    fake_model *f = (fake_model *)m;
    f->calls++;
    *n_out = 0;
    char answer[512] = " 0";
    const lc_task_sample *s = lookup(f, prompt, n_prompt);
    if (s && max_new != answer_tokens(s) + 4) f->bad_budget++;
    switch (f->kind) {
    case FAKE_READER: { /* read the pass key out of the text, like a perfect model */
        char *text = decode_all(m->tok, prompt, n_prompt);
        const char *p = text ? strstr(text, "The pass key is ") : NULL;
        if (p) {
            p += strlen("The pass key is ");
            size_t k = strspn(p, "0123456789");
            snprintf(answer, sizeof answer, " %.*s.", (int)k, p);
        }
        free(text);
        break;
    }
    case FAKE_WRONG: break;
    case FAKE_ORACLE:
        if (s) snprintf(answer, sizeof answer, "%s\nand more", s->answer);
        break;
    case FAKE_FIRST_HALF:
        if (s && s->needles[0].pos < s->n_prompt / 2) snprintf(answer, sizeof answer, "%s", s->answer);
        break;
    case FAKE_PARTIAL: /* the first `partial` names */
        if (s) {
            const char *p = s->answer;
            int k = 0;
            size_t len = 0;
            while (p[len] && k <= f->partial) {
                if (p[len] == ' ' && len > 0) k++;
                if (k == f->partial) break;
                len++;
            }
            snprintf(answer, sizeof answer, "%.*s", (int)len, p);
        }
        break;
    }
    int32_t ids[256];
    const int64_t n = encode(m->tok, answer, ids, 256);
    *n_out = LC_MIN(n, max_new);
    memcpy(out, ids, (size_t)*n_out * sizeof(int32_t));
    (void)err;
    return LC_OK;
}

static void fake_reset(lc_eval_model *m) { (void)m; }
static lc_status fake_logprobs(lc_eval_model *m, const int32_t *t, int64_t n, float *out, lc_error *err) {
    (void)m, (void)t, (void)n, (void)out;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "fake: no log-probs");
}
static const lc_eval_model_ops fake_ops = {fake_generate, fake_reset, fake_logprobs, NULL};

static void fake_init(fake_model *f, fake_kind kind, const lc_tokenizer *tok) {
    memset(f, 0, sizeof *f);
    f->base.ops = &fake_ops;
    f->base.impl = f;
    f->base.tok = tok;
    f->base.n_ctx = 1 << 16;
    f->base.eos_id = lc_tokenizer_eos(tok);
    f->kind = kind;
}

/* Every sample of the grid, for the oracle. */
static void fake_load(fake_model *f, const lc_eval_grid_config *c) {
    f->samples = calloc(MAX_SAMPLES, sizeof *f->samples);
    const int nd = c->n_depths > 0 ? c->n_depths : 1;
    for (int32_t t = 0; t < c->trials; t++)
        for (int l = 0; l < c->n_lengths; l++)
            for (int d = 0; d < nd && f->n_samples < MAX_SAMPLES; d++) {
                lc_error err;
                CHECK_OK(lc_eval_grid_sample(c, f->base.tok, c->lengths[l], c->n_depths > 0 ? c->depths[d] : -1.0, t,
                                             &f->samples[f->n_samples], &err),
                         &err);
                f->n_samples++;
            }
}

static void fake_free(fake_model *f) {
    for (int i = 0; i < f->n_samples; i++) lc_task_sample_free(&f->samples[i]);
    free(f->samples);
}

/* ---- Tests ------------------------------------------------------------------------- */

static void set_grid(lc_eval_grid_config *c, lc_task_kind kind, int n_len, const int64_t *lens, int n_dep,
                     const double *deps, int trials) {
    lc_eval_grid_config_init(c, kind);
    c->n_lengths = n_len;
    for (int i = 0; i < n_len; i++) c->lengths[i] = lens[i];
    c->n_depths = n_dep;
    for (int i = 0; i < n_dep; i++) c->depths[i] = deps[i];
    c->trials = trials;
    c->seed = 7;
}

static void test_reader_and_wrong(const lc_tokenizer *tok) {
    const int64_t lens[3] = {200, 320, 500};
    lc_eval_grid_config c;
    set_grid(&c, LC_TASK_PASSKEY, 3, lens, 0, NULL, 2);
    lc_eval_grid_even_depths(&c, 5, NULL);
    fake_model f;
    fake_init(&f, FAKE_READER, tok);
    fake_load(&f, &c);
    lc_eval_grid g;
    lc_error err;
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
    CHECK(g.n_lengths == 3 && g.n_depths == 5 && g.n_trials == 30, "grid %d x %d, %lld trials", g.n_lengths,
          g.n_depths, (long long)g.n_trials);
    CHECK(g.accuracy == 1.0 && g.recall == 1.0, "reader: accuracy %g recall %g", g.accuracy, g.recall);
    for (int i = 0; i < 15; i++) {
        const lc_eval_cell *cell = &g.cells[i];
        CHECK(cell->trials == 2 && cell->accuracy == 1.0, "cell %d: %d trials, accuracy %g", i, cell->trials,
              cell->accuracy);
        CHECK(cell->length == lens[i / 5] && fabs(cell->depth - (i % 5) * 0.25) < 1e-12, "cell %d at %lld/%g", i,
              (long long)cell->length, cell->depth);
        CHECK(cell->mean_tokens > 0.8 * (double)cell->length && cell->mean_tokens < (double)cell->length,
              "cell %d: %g prompt tokens for length %lld", i, cell->mean_tokens, (long long)cell->length);
        CHECK(fabs(cell->mean_depth - cell->depth) < 0.2, "cell %d: needle at %g for depth %g", i, cell->mean_depth,
              cell->depth);
    }
    CHECK(f.calls == 30 && f.bad_budget == 0, "%lld calls, %lld with a wrong token budget", (long long)f.calls,
          (long long)f.bad_budget);
    lc_eval_grid_free(&g);
    f.kind = FAKE_WRONG;
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
    CHECK(g.accuracy == 0.0 && g.recall == 0.0, "wrong: accuracy %g recall %g", g.accuracy, g.recall);
    for (int i = 0; i < 15; i++) CHECK(g.cells[i].accuracy == 0.0, "cell %d: %g", i, g.cells[i].accuracy);
    lc_eval_grid_free(&g);
    fake_free(&f);
}

static void test_oracle_variants(const lc_tokenizer *tok) {
    const lc_task_kind kinds[5] = {LC_TASK_PASSKEY, LC_TASK_MULTIKEY, LC_TASK_MULTIVALUE, LC_TASK_MULTIQUERY,
                                   LC_TASK_VT};
    const int64_t lens[2] = {400, 640};
    const double deps[3] = {0.0, 0.5, 1.0};
    for (int k = 0; k < 5; k++) {
        lc_eval_grid_config c;
        set_grid(&c, kinds[k], 2, lens, kinds[k] == LC_TASK_VT ? 0 : 3, deps, 2);
        c.task.n_keys = 3;
        c.task.n_queries = 2;
        c.task.n_chains = 2;
        c.task.n_hops = 3;
        fake_model f;
        fake_init(&f, FAKE_ORACLE, tok);
        fake_load(&f, &c);
        lc_eval_grid g;
        lc_error err;
        CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
        CHECK(g.accuracy == 1.0 && g.recall == 1.0, "%s oracle: accuracy %g recall %g", lc_task_kind_name(kinds[k]),
              g.accuracy, g.recall);
        CHECK(f.bad_budget == 0, "%s: %lld wrong token budgets", lc_task_kind_name(kinds[k]), (long long)f.bad_budget);
        if (kinds[k] == LC_TASK_VT) /* random depths: one cell per length */
            CHECK(g.n_depths == 1 && isnan(g.cells[0].depth) && g.cells[0].trials == 2, "vt cells: %d depths",
                  g.n_depths);
        lc_eval_grid_free(&g);
        fake_free(&f);
    }
}

static void test_first_half(const lc_tokenizer *tok) {
    /* the map equals the expectation computed from the samples */
    const int64_t lens[3] = {256, 384, 600};
    lc_eval_grid_config c;
    set_grid(&c, LC_TASK_PASSKEY, 3, lens, 0, NULL, 3);
    lc_eval_grid_even_depths(&c, 7, NULL);
    fake_model f;
    fake_init(&f, FAKE_FIRST_HALF, tok);
    fake_load(&f, &c);
    lc_eval_grid g;
    lc_error err;
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
    int mismatches = 0;
    double total = 0.0;
    for (int l = 0; l < 3; l++)
        for (int d = 0; d < 7; d++) {
            double want = 0.0;
            for (int32_t t = 0; t < 3; t++) {
                lc_task_sample s;
                CHECK_OK(lc_eval_grid_sample(&c, tok, lens[l], c.depths[d], t, &s, &err), &err);
                want += s.needles[0].pos < s.n_prompt / 2 ? 1.0 : 0.0;
                lc_task_sample_free(&s);
            }
            want /= 3;
            total += want;
            if (fabs(g.cells[l * 7 + d].accuracy - want) > 1e-12) mismatches++;
        }
    CHECK(mismatches == 0, "%d cells differ from the expected map", mismatches);
    CHECK(fabs(g.accuracy - total / 21) < 1e-12, "overall %g, want %g", g.accuracy, total / 21);
    lc_eval_grid_free(&g);
    fake_free(&f);

    /* and at the extremes it is unambiguous */
    const double deps[4] = {0.0, 0.1, 0.9, 1.0};
    set_grid(&c, LC_TASK_PASSKEY, 2, lens + 1, 4, deps, 2);
    fake_init(&f, FAKE_FIRST_HALF, tok);
    fake_load(&f, &c);
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
    const double want[4] = {1, 1, 0, 0};
    for (int l = 0; l < 2; l++)
        for (int d = 0; d < 4; d++)
            CHECK(g.cells[l * 4 + d].accuracy == want[d], "length %lld depth %g: %g, want %g", (long long)lens[1 + l],
                  deps[d], g.cells[l * 4 + d].accuracy, want[d]);
    CHECK(g.accuracy == 0.5, "overall %g", g.accuracy);

    /* the heat map of this grid: one labelled cell per (depth, length) */
    char *svg = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&svg, &len);
    CHECK_OK(lc_eval_grid_svg(mf, &g, "first half", &err), &err);
    fclose(mf);
    int cells = 0, hundred = 0;
    for (const char *p = svg; (p = strstr(p, "class=\"cell\"")) != NULL; p++) cells++;
    for (const char *p = svg; (p = strstr(p, "class=\"cell-label\"")) != NULL; p++) {
        const char *gt = strchr(p, '>');
        hundred += gt && strncmp(gt, ">100</text>", 11) == 0;
    }
    CHECK(cells == 8 && hundred == 4, "heat map: %d cells, %d labelled 100", cells, hundred);
    free(svg);
    lc_eval_grid_free(&g);
    fake_free(&f);
}

static void test_vt_recall(const lc_tokenizer *tok) {
    const int64_t lens[2] = {300, 500};
    lc_eval_grid_config c;
    set_grid(&c, LC_TASK_VT, 2, lens, 0, NULL, 3);
    c.task.n_hops = 3; /* 4 names per chain */
    c.task.n_chains = 2;
    for (int k = 0; k <= 4; k++) {
        fake_model f;
        fake_init(&f, FAKE_PARTIAL, tok);
        f.partial = k;
        fake_load(&f, &c);
        lc_eval_grid g;
        lc_error err;
        CHECK_OK(lc_eval_grid_run(&f.base, &c, &g, &err), &err);
        CHECK(fabs(g.recall - k / 4.0) < 1e-12, "vt with %d of 4 names: recall %g", k, g.recall);
        CHECK(g.accuracy == (k == 4 ? 1.0 : 0.0), "vt with %d of 4 names: accuracy %g", k, g.accuracy);
        lc_eval_grid_free(&g);
        fake_free(&f);
    }
}

/* Deepest first, and the same results twice. */
typedef struct {
    double last;
    int64_t last_len;
    int32_t last_trial;
    int bad, n;
} order_state;

static bool check_order(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                        const char *generated, double score, double recall) {
    order_state *o = user;
    (void)s, (void)generated, (void)score, (void)recall;
    if (o->n > 0 && length == o->last_len && trial == o->last_trial && !(depth < o->last)) o->bad++;
    o->last = depth, o->last_len = length, o->last_trial = trial;
    o->n++;
    return true;
}

static bool stop_after_two(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                           const char *generated, double score, double recall) {
    (void)length, (void)depth, (void)trial, (void)s, (void)generated, (void)score, (void)recall;
    return ++*(int *)user < 2;
}

static void test_order_determinism_json(const lc_tokenizer *tok) {
    const int64_t lens[2] = {256, 400};
    const double deps[5] = {0.3, 1.0, 0.0, 0.6, 0.45};
    lc_eval_grid_config c;
    set_grid(&c, LC_TASK_PASSKEY, 2, lens, 5, deps, 2);
    order_state o = {0};
    c.on_trial = check_order;
    c.trial_user = &o;
    fake_model f;
    fake_init(&f, FAKE_FIRST_HALF, tok);
    fake_load(&f, &c);
    lc_eval_grid g1, g2;
    lc_error err;
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g1, &err), &err);
    CHECK(o.n == 20 && o.bad == 0, "%d trials seen, %d out of deepest-first order", o.n, o.bad);
    CHECK_OK(lc_eval_grid_run(&f.base, &c, &g2, &err), &err);
    bool same = g1.accuracy == g2.accuracy;
    for (int i = 0; i < 10; i++)
        same = same && g1.cells[i].accuracy == g2.cells[i].accuracy &&
               g1.cells[i].mean_tokens == g2.cells[i].mean_tokens && g1.cells[i].mean_depth == g2.cells[i].mean_depth;
    CHECK(same, "two runs differ");
    /* cells keep the order depths were given in */
    CHECK(g1.cells[1].depth == 1.0 && g1.cells[2].depth == 0.0, "cell order follows the configuration");

    /* JSON without timings: identical twice; with the contract's keys */
    char *j1 = NULL, *j2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *m1 = open_memstream(&j1, &l1), *m2 = open_memstream(&j2, &l2);
    lc_json_writer w;
    lc_json_init(&w, m1, false);
    lc_json_begin_object(&w);
    lc_eval_grid_write_json(&w, &g1, false);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    lc_json_init(&w, m2, false);
    lc_json_begin_object(&w);
    lc_eval_grid_write_json(&w, &g2, false);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    fclose(m1);
    fclose(m2);
    CHECK(l1 == l2 && memcmp(j1, j2, l1) == 0, "JSON differs between runs");
    CHECK(strstr(j1, "\"cells\":[{\"length\":256,\"depth\":0.3,\"trials\":2,\"accuracy\":") != NULL &&
              strstr(j1, "\"seconds\"") == NULL && strstr(j1, "\"accuracy\":") != NULL,
          "JSON: %.200s", j1);
    free(j1);
    free(j2);
    lc_eval_grid_free(&g1);
    lc_eval_grid_free(&g2);

    /* a callback that says stop */
    int seen = 0;
    c.on_trial = stop_after_two;
    c.trial_user = &seen;
    lc_status st = lc_eval_grid_run(&f.base, &c, &g1, &err);
    CHECK(st == LC_ERR_CANCELLED && seen == 2 && g1.cells == NULL, "stop: %s after %d", lc_status_str(st), seen);
    fake_free(&f);
}

static void test_refusals(const lc_tokenizer *tok) {
    fake_model f;
    fake_init(&f, FAKE_WRONG, tok);
    f.base.n_ctx = 1000;
    lc_eval_grid_config c;
    const int64_t ok_len[1] = {300};
    lc_eval_grid g;
    lc_error err;
    /* depth outside 0..1 */
    set_grid(&c, LC_TASK_PASSKEY, 1, ok_len, 1, (const double[]){1.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "0..100%"), "depth 150%%: %s",
          err.msg);
    set_grid(&c, LC_TASK_PASSKEY, 1, ok_len, 1, (const double[]){-0.1}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG, "depth -10%%: %s", err.msg);
    /* too short for the needle and question: says how many tokens it needs */
    set_grid(&c, LC_TASK_PASSKEY, 1, (const int64_t[]){20}, 1, (const double[]){0.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "tokens"), "short: %s",
          err.msg);
    /* longer than the model's context (with the margin) */
    set_grid(&c, LC_TASK_PASSKEY, 1, (const int64_t[]){998}, 1, (const double[]){0.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "raise -c"), "long: %s",
          err.msg);
    /* no trials, no lengths, a task without a question */
    set_grid(&c, LC_TASK_PASSKEY, 1, ok_len, 1, (const double[]){0.5}, 0);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG, "0 trials: %s", err.msg);
    set_grid(&c, LC_TASK_PASSKEY, 0, ok_len, 1, (const double[]){0.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG, "no lengths: %s", err.msg);
    set_grid(&c, LC_TASK_FILLER, 1, ok_len, 1, (const double[]){0.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG, "filler: %s", err.msg);
    CHECK(g.cells == NULL, "nothing left allocated after a refusal");
    /* a model without a tokenizer */
    f.base.tok = NULL;
    set_grid(&c, LC_TASK_PASSKEY, 1, ok_len, 1, (const double[]){0.5}, 1);
    CHECK(lc_eval_grid_run(&f.base, &c, &g, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "tokenizer"), "%s", err.msg);
}

static void test_buckets(void) {
    const int64_t v[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 1000, (int64_t)1 << 40};
    const int want[] = {0, 1, 2, 2, 3, 3, 4, 4, 5, 10, 41};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const int b = lc_eval_bucket(v[i]);
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        CHECK(b == want[i] && lo <= v[i] && v[i] <= hi, "bucket(%lld) = %d [%lld, %lld], want %d", (long long)v[i], b,
              (long long)lo, (long long)hi, want[i]);
    }
    for (int b = 1; b < 20; b++) {
        int64_t lo, hi, lo2, hi2;
        lc_eval_bucket_range(b, &lo, &hi);
        lc_eval_bucket_range(b + 1, &lo2, &hi2);
        CHECK(lo2 == hi + 1 && lc_eval_bucket(lo) == b && lc_eval_bucket(hi) == b, "bucket %d: [%lld, %lld]", b,
              (long long)lo, (long long)hi);
    }
}

int main(void) {
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (!tok) return lc_test_finish("test_eval_grid");
    test_buckets();
    test_reader_and_wrong(tok);
    test_oracle_variants(tok);
    test_first_half(tok);
    test_vt_recall(tok);
    test_order_determinism_json(tok);
    test_refusals(tok);
    lc_tokenizer_free(tok);
    return lc_test_finish("test_eval_grid");
}
