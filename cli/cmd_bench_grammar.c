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
    if (lc_bench_grammar(tok, &sp, con, lc_grammar_constraint_state(gr.c), n_steps, &res, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    const char *what = gr.grammar_file ? gr.grammar_file : gr.json_schema ? "json schema" : "json object";
    lc_table *info = NULL, *t = NULL;
    const char *chain = pure ? "temperature 1" : "default";
    lc_status st = lc_bench_grammar_info(vocab_path, what, chain, build_s, &res, &info, &err);
    if (st == LC_OK) st = lc_bench_grammar_table(&res, &t, &err);
    rc = bench_report(CMD, out_json, st, &err, info, NULL, t);
done:
    cli_grammar_free(&gr); /* detaches from the sampler */
    lc_sampler_free(con);
    lc_tokenizer_free(tok);
    return rc;
}
