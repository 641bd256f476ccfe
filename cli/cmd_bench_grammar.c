/*
 * longctx bench grammar — the cost of constrained sampling per token over a
 * real vocabulary: the plain sampler, the sampler with a grammar attached
 * (draw, check the drawn token, mask the vocabulary only when it is refused,
 * accept), and a full vocabulary mask every step (what eager masking would
 * cost). The "model" is random logits, as in tests/test_grammar.c: the
 * grammar alone shapes the text, which refuses far more drawn tokens than a
 * trained model does, so the mask figures are an upper bound. The
 * measurement is lc_bench_grammar (src/bench/grammar_bench.c).
 */
#include <stdio.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "grammar_flags.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/sys.h"

#define CMD "bench grammar"

static const char synopsis[] =
    "usage: longctx bench grammar -m VOCAB.gguf [--json-schema S | --grammar-file F | --json] [options]\n\n"
    "Microseconds per sampled token over the GGUF's vocabulary with random logits: the plain\n"
    "sampler, the sampler constrained by the grammar (lazy: the drawn token is checked, the\n"
    "vocabulary masked only when it is refused), and a full mask of the vocabulary each step.\n"
    "min / median / max over the steps; the machine's load shows in the spread.\n\n";

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
    lc_tokenizer *tok = NULL;
    lc_sampler *con = NULL;
    int rc = CLI_FAIL;
    if (lc_tokenizer_open(vocab_path, 0, &tok, &err) != LC_OK) {
        cli_fail(CMD, &err);
        goto done;
    }
    const int32_t V = lc_tokenizer_n_vocab(tok);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    if (pure) sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.temp = 1.0f;
    if (lc_sampler_create(&sp, V, &con, &err) != LC_OK) {
        cli_fail(CMD, &err);
        goto done;
    }
    const double t_build = lc_time_now();
    rc = cli_grammar_setup(&gr, tok, NULL, 0, con, CMD);
    if (rc != CLI_OK) goto done;
    const double build_s = lc_time_now() - t_build;
    lc_bench_grammar_result res;
    if (lc_bench_grammar(tok, &sp, con, gr.s, n_steps, &res, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    const int sentences = res.sentences;
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
        lc_json_kv_num(&w, "mask_fraction", res.mask_fraction);
        lc_json_kv_num(&w, "mean_allowed", res.mean_allowed);
        const char *names[3] = {"plain", "constrained", "full_mask"};
        const lc_bench_us *vals[3] = {&res.plain, &res.constrained, &res.full_mask};
        for (int k = 0; k < 3; k++) {
            lc_json_key(&w, names[k]);
            lc_json_begin_object(&w);
            lc_json_kv_num(&w, "min_us", vals[k]->min);
            lc_json_kv_num(&w, "median_us", vals[k]->median);
            lc_json_kv_num(&w, "max_us", vals[k]->max);
            lc_json_kv_num(&w, "mean_us", vals[k]->mean);
            lc_json_end_object(&w);
        }
        lc_json_end_object(&w);
        lc_json_finish(&w);
    } else {
        printf("vocab %s (%d tokens), grammar: %s, %s chain, %d steps (%d sentences completed)\n", vocab_path, V, what,
               pure ? "temperature-1" : "default", n_steps, sentences);
        printf("grammar vocabulary (trie) built in %.1f ms\n", build_s * 1e3);
        printf("microseconds per token          min     median        max       mean\n");
        const lc_bench_us *p = &res.plain, *c = &res.constrained, *m = &res.full_mask;
        printf("  plain sampler           %9.1f  %9.1f  %9.1f  %9.1f\n", p->min, p->median, p->max, p->mean);
        printf("  constrained (lazy)      %9.1f  %9.1f  %9.1f  %9.1f   (masked on %.1f%% of steps)\n", c->min, c->median,
               c->max, c->mean, 100.0 * res.mask_fraction);
        printf("  full mask every step    %9.1f  %9.1f  %9.1f  %9.1f   (%.0f tokens allowed on average)\n", m->min,
               m->median, m->max, m->mean, res.mean_allowed);
    }
    rc = CLI_OK;
done:
    lc_sampler_free(con);
    cli_grammar_free(&gr);
    lc_tokenizer_free(tok);
    return rc;
}
