/*
 * longctx bench grammar — the cost of constrained sampling per token over a
 * real vocabulary: the plain sampler, the sampler with a grammar attached
 * (draw, check the drawn token, mask the vocabulary only when it is refused,
 * accept), and a full vocabulary mask every step (what eager masking would
 * cost). The "model" is random logits, as in tests/test_grammar.c: the
 * grammar alone shapes the text, which refuses far more drawn tokens than a
 * trained model does, so the mask figures are an upper bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "grammar_flags.h"
#include "longctx/gguf.h"
#include "longctx/json.h"
#include "longctx/sys.h"

#define CMD "bench grammar"

static const char synopsis[] =
    "usage: longctx bench grammar -m VOCAB.gguf [--json-schema S | --grammar-file F | --json] [options]\n\n"
    "Microseconds per sampled token over the GGUF's vocabulary with random logits: the plain\n"
    "sampler, the sampler constrained by the grammar (lazy: the drawn token is checked, the\n"
    "vocabulary masked only when it is refused), and a full mask of the vocabulary each step.\n"
    "min / median / max over the steps; the machine's load shows in the spread.\n\n";

typedef struct {
    double *v;
    int n;
} series;

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(series *s, double *mn, double *med, double *mx, double *mean) {
    *mn = *med = *mx = *mean = 0.0;
    if (s->n == 0) return;
    double sum = 0.0;
    for (int i = 0; i < s->n; i++) sum += s->v[i];
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_d);
    *mn = s->v[0] * 1e6;
    *med = s->v[s->n / 2] * 1e6;
    *mx = s->v[s->n - 1] * 1e6;
    *mean = sum / s->n * 1e6;
}

int bench_grammar(int argc, char **argv) {
    const char *vocab_path = NULL;
    int n_steps = 2000;
    bool pure = false, out_json = false;
    cli_grammar gr;
    cli_grammar_init(&gr);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "VOCAB.gguf", &vocab_path, "a GGUF with a vocabulary (a model or vocab-only)"),
        CLI_GRAMMAR_OPTS(&gr),
        CLI_SET("--json", &gr.json_object, "the same as --json-object (the default grammar)"),
        CLI_INT("-n", "N", &n_steps, 1, 10000000, "steps (default 2000); a sentence that ends (EOS) starts again"),
        CLI_SET("--pure", &pure, "temperature 1 alone (default: llama.cpp's default chain)"),
        CLI_SET("--out-json", &out_json, "JSON on stdout"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!vocab_path) {
        cli_error(CMD, "no vocabulary (-m MODEL.gguf or a vocab-only GGUF)");
        return CLI_USAGE;
    }
    if (!cli_grammar_active(&gr)) gr.json_object = true;
    lc_error err;
    lc_gguf *gg = NULL;
    lc_tokenizer *tok = NULL;
    lc_sampler *plain = NULL, *con = NULL;
    int rc = CLI_FAIL;
    float *logits = NULL;
    uint8_t *allowed = NULL;
    series t_plain = {0}, t_con = {0}, t_mask = {0};
    if (lc_gguf_open(vocab_path, &gg, &err) != LC_OK || lc_tokenizer_from_gguf(gg, &tok, &err) != LC_OK) {
        cli_fail(CMD, &err);
        goto done;
    }
    const int32_t V = lc_tokenizer_n_vocab(tok), eos = lc_tokenizer_eos(tok);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    if (pure) sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.temp = 1.0f;
    if (lc_sampler_create(&sp, V, &plain, &err) != LC_OK || lc_sampler_create(&sp, V, &con, &err) != LC_OK) {
        cli_fail(CMD, &err);
        goto done;
    }
    const double t_build = lc_time_now();
    rc = cli_grammar_setup(&gr, tok, NULL, 0, con, CMD);
    if (rc != CLI_OK) goto done;
    const double build_s = lc_time_now() - t_build;
    rc = CLI_FAIL;
    logits = malloc((size_t)V * sizeof *logits);
    allowed = malloc((size_t)V);
    t_plain.v = malloc((size_t)n_steps * sizeof(double));
    t_con.v = malloc((size_t)n_steps * sizeof(double));
    t_mask.v = malloc((size_t)n_steps * sizeof(double));
    if (!logits || !allowed || !t_plain.v || !t_con.v || !t_mask.v) {
        cli_error(CMD, "out of memory");
        goto done;
    }
    lc_rng r;
    lc_rng_seed(&r, 1);
    int sentences = 0, len = 0;
    int64_t allowed_sum = 0;
    lc_grammar_stats g0;
    lc_grammar_state_stats(gr.s, &g0);
    for (int step = 0; step < n_steps; step++) {
        for (int32_t i = 0; i < V; i++) logits[i] = lc_rng_uniform(&r) * 8.0f;
        int32_t t, n_allowed = 0;
        double t0 = lc_time_now();
        if (lc_sampler_sample(plain, logits, &t, &err) != LC_OK) goto fail;
        double t1 = lc_time_now();
        if (lc_grammar_allowed_tokens(gr.s, allowed, &n_allowed, &err) != LC_OK) goto fail;
        double t2 = lc_time_now();
        if (lc_sampler_sample(con, logits, &t, &err) != LC_OK) goto fail;
        double t3 = lc_time_now();
        t_plain.v[t_plain.n++] = t1 - t0;
        t_mask.v[t_mask.n++] = t2 - t1;
        t_con.v[t_con.n++] = t3 - t2;
        allowed_sum += n_allowed;
        len++;
        if (t == eos || len >= 4000) {
            sentences += t == eos;
            len = 0;
            if (lc_grammar_state_reset(gr.s, &err) != LC_OK) goto fail;
        }
    }
    lc_grammar_stats g1;
    lc_grammar_state_stats(gr.s, &g1);
    /* the eager masks above count too: take them out */
    const int64_t lazy_masks = g1.n_masks - g0.n_masks - n_steps;
    double pmn, pmed, pmx, pmean, cmn, cmed, cmx, cmean, mmn, mmed, mmx, mmean;
    stats(&t_plain, &pmn, &pmed, &pmx, &pmean);
    stats(&t_con, &cmn, &cmed, &cmx, &cmean);
    stats(&t_mask, &mmn, &mmed, &mmx, &mmean);
    const char *what = gr.grammar_file ? gr.grammar_file : gr.json_schema ? "json schema" : "json object";
    if (out_json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "vocab", vocab_path);
        lc_json_kv_int(&w, "n_vocab", V);
        lc_json_kv_str(&w, "grammar", what);
        lc_json_kv_int(&w, "steps", n_steps);
        lc_json_kv_int(&w, "sentences_completed", sentences);
        lc_json_kv_num(&w, "vocab_build_ms", build_s * 1e3);
        lc_json_kv_num(&w, "mask_fraction", (double)lazy_masks / n_steps);
        lc_json_kv_num(&w, "mean_allowed", (double)allowed_sum / n_steps);
        const char *names[3] = {"plain", "constrained", "full_mask"};
        const double *vals[3][4] = {{&pmn, &pmed, &pmx, &pmean}, {&cmn, &cmed, &cmx, &cmean}, {&mmn, &mmed, &mmx, &mmean}};
        for (int k = 0; k < 3; k++) {
            lc_json_key(&w, names[k]);
            lc_json_begin_object(&w);
            lc_json_kv_num(&w, "min_us", *vals[k][0]);
            lc_json_kv_num(&w, "median_us", *vals[k][1]);
            lc_json_kv_num(&w, "max_us", *vals[k][2]);
            lc_json_kv_num(&w, "mean_us", *vals[k][3]);
            lc_json_end_object(&w);
        }
        lc_json_end_object(&w);
        lc_json_finish(&w);
    } else {
        printf("vocab %s (%d tokens), grammar: %s, %s chain, %d steps (%d sentences completed)\n", vocab_path, V, what,
               pure ? "temperature-1" : "default", n_steps, sentences);
        printf("grammar vocabulary (trie) built in %.1f ms\n", build_s * 1e3);
        printf("microseconds per token          min     median        max       mean\n");
        printf("  plain sampler           %9.1f  %9.1f  %9.1f  %9.1f\n", pmn, pmed, pmx, pmean);
        printf("  constrained (lazy)      %9.1f  %9.1f  %9.1f  %9.1f   (masked on %.1f%% of steps)\n", cmn, cmed, cmx,
               cmean, 100.0 * (double)lazy_masks / n_steps);
        printf("  full mask every step    %9.1f  %9.1f  %9.1f  %9.1f   (%.0f tokens allowed on average)\n", mmn, mmed,
               mmx, mmean, (double)allowed_sum / n_steps);
    }
    rc = CLI_OK;
    goto done;
fail:
    rc = cli_fail(CMD, &err);
done:
    free(t_plain.v);
    free(t_con.v);
    free(t_mask.v);
    free(logits);
    free(allowed);
    lc_sampler_free(plain);
    lc_sampler_free(con);
    cli_grammar_free(&gr);
    lc_tokenizer_free(tok);
    lc_gguf_close(gg);
    return rc;
}
