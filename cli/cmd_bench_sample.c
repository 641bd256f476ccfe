/*
 * longctx bench sample — microseconds per sampled token for several sampler
 * chains and vocabulary sizes, against a naive baseline that fully sorts
 * the vocabulary every token (what the sampler avoids).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/json.h"
#include "longctx/sample.h"
#include "longctx/sys.h"

#define CMD "bench sample"
#define N_LOGIT_SETS 8

static const char synopsis[] =
    "usage: longctx bench sample [options] [sampling options]\n\n"
    "Times one sampled token (penalties, filters, draw; the copy of the logits included)\n"
    "for: greedy; llama.cpp's default chain; top-p alone; min-p alone; temperature alone;\n"
    "the default chain with a repeat penalty; the chain given by the sampling options (if\n"
    "any); and a naive baseline that sorts the whole vocabulary each token.\n\n";

/* The sampling options given: applied to *p, and *custom set. */
typedef struct {
    lc_sampler_params *p;
    bool *custom;
} sample_user;

static bool opt_sampler(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const sample_user *u = o->dst;
    lc_error err;
    *u->custom = true;
    if (lc_sampler_apply_option(u->p, name, v, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

typedef struct {
    float logit;
    int32_t id;
} pair;

static int cmp_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The naive way: sort everything, top-k 40, softmax, top-p 0.95, draw. */
static int32_t naive_sample(const float *logits, int32_t V, pair *tmp, lc_rng *r) {
    for (int32_t i = 0; i < V; i++) tmp[i] = (pair){logits[i], i};
    qsort(tmp, (size_t)V, sizeof *tmp, cmp_pair);
    int32_t n = LC_MIN(40, V);
    double z = 0.0, cum = 0.0;
    for (int32_t i = 0; i < n; i++) z += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
    int32_t keep = n;
    for (int32_t i = 0; i < n; i++) {
        cum += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
        if (cum >= 0.95 * z) {
            keep = i + 1;
            break;
        }
    }
    double u = lc_rng_uniform(r) * cum;
    double c = 0.0;
    for (int32_t i = 0; i < keep; i++) {
        c += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
        if (c > u) return tmp[i].id;
    }
    return tmp[keep - 1].id;
}

typedef struct {
    const char *name;
    lc_sampler_params p;
    bool naive;
} chain;

int bench_sample(int argc, char **argv) {
    int64_t vocabs[16] = {32000, 128256};
    int n_vocabs = 2, n_iter = 200, reps = 5;
    float scale = 3.0f;
    bool json = false, custom = false;
    lc_sampler_params user;
    lc_sampler_params_init(&user);
    lc_error err;
    sample_user su = {&user, &custom};
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_I64_LIST("--vocab", "LIST", vocabs, &n_vocabs, 16, 1, "vocabulary sizes, at most 2^24 each (default 32000,128256)"),
        CLI_FLOAT("--scale", "S", &scale, 1e-30, CLI_REAL_LIMIT, "logits ~ N(0, S^2) (default 3)"),
        CLI_INT("-n", "N", &n_iter, 1, CLI_MAX_ITERS, "tokens per timed pass (default 200)"),
        CLI_INT("--reps", "R", &reps, 1, CLI_MAX_REPS, "repetitions, best reported (default 5)"),
        CLI_SET("--json", &json, "JSON on stdout"),
        CLI_SECTION("sampling options (llama.cpp names):"),
        CLI_FAMILY(lc_sampler_is_option, opt_sampler, &su, lc_sampler_options_help()),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    for (int k = 0; k < n_vocabs; k++)
        if (vocabs[k] > (1 << 24)) return cli_error(CMD, "--vocab: %lld is more than 2^24", (long long)vocabs[k]), CLI_USAGE;

    chain chains[8];
    int n_chains = 0;
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    p.temp = 0.0f;
    chains[n_chains++] = (chain){"greedy", p, false};
    lc_sampler_params_init(&p);
    chains[n_chains++] = (chain){"default (k40 p.95 minp.05 t.8)", p, false};
    p.repeat_penalty = 1.1f;
    chains[n_chains++] = (chain){"default + repeat penalty 1.1/64", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.min_p = 0.0f;
    chains[n_chains++] = (chain){"top-p 0.95 alone", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.top_p = 1.0f;
    chains[n_chains++] = (chain){"min-p 0.05 alone", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f, p.temp = 1.0f;
    chains[n_chains++] = (chain){"temperature 1 alone", p, false};
    if (custom) chains[n_chains++] = (chain){"the given options", user, false};
    chains[n_chains++] = (chain){"naive: full sort + k40 p.95", p, true};

    lc_json_writer w;
    if (json) {
        lc_json_init(&w, stdout, true);
        lc_json_begin_array(&w);
    }
    for (int vi = 0; vi < n_vocabs; vi++) {
        const int32_t V = (int32_t)vocabs[vi];
        float *logits = malloc((size_t)V * N_LOGIT_SETS * sizeof(float));
        pair *tmp = malloc((size_t)V * sizeof(pair));
        if (!logits || !tmp) {
            free(logits);
            free(tmp);
            cli_error(CMD, "out of memory");
            return CLI_FAIL;
        }
        lc_rng r;
        lc_rng_seed(&r, 1);
        for (size_t i = 0; i < (size_t)V * N_LOGIT_SETS; i++) logits[i] = lc_rng_normal(&r) * scale;
        if (!json) printf("vocab %d, logits N(0, %g^2): microseconds per token (best of %d x %d)\n", V, (double)scale,
                          reps, n_iter);
        for (int c = 0; c < n_chains; c++) {
            lc_sampler *s = NULL;
            if (!chains[c].naive && lc_sampler_create(&chains[c].p, V, &s, &err) != LC_OK) {
                free(logits);
                free(tmp);
                return cli_fail(CMD, &err);
            }
            double best = INFINITY;
            int32_t tok = 0, n_cand = 0;
            for (int k = 0; k < reps; k++) {
                double t0 = lc_time_now();
                for (int it = 0; it < n_iter; it++) {
                    const float *l = logits + (size_t)(it % N_LOGIT_SETS) * V;
                    if (chains[c].naive) tok = naive_sample(l, V, tmp, &r);
                    else if (lc_sampler_sample(s, l, &tok, &err) != LC_OK) {
                        lc_sampler_free(s);
                        free(logits);
                        free(tmp);
                        return cli_fail(CMD, &err);
                    }
                }
                best = fmin(best, lc_time_now() - t0);
            }
            if (s) n_cand = lc_sampler_candidates(s, NULL, NULL);
            double us = best / n_iter * 1e6;
            if (json) {
                lc_json_begin_object(&w);
                lc_json_kv_int(&w, "vocab", V);
                lc_json_kv_str(&w, "chain", chains[c].name);
                lc_json_kv_num(&w, "us_per_token", us);
                lc_json_kv_int(&w, "last_candidates", n_cand);
                lc_json_end_object(&w);
            } else {
                printf("  %-34s %9.1f us   (%d candidates at the draw)\n", chains[c].name, us, n_cand);
            }
            lc_sampler_free(s);
        }
        free(logits);
        free(tmp);
    }
    if (json) {
        lc_json_end_array(&w);
        lc_json_finish(&w);
    }
    return CLI_OK;
}
