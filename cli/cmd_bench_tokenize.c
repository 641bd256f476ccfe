/*
 * longctx bench tokenize — encode and decode throughput of tokenizers on a
 * text of a given size (a file repeated, or seeded synthetic text mixing
 * English words, numbers, CJK and emoji), best of several repetitions. The
 * measurement is lc_bench_tokenize (src/bench/tokenize_bench.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/sys.h"
#include "longctx/tokenizer.h"

#define CMD "bench tokenize"
#define MAX_TOK 16

static const char synopsis[] =
    "usage: longctx bench tokenize (-m VOCAB.gguf | -z TOKENIZER.bin --vocab-size N)... [options]\n\n"
    "Encodes (text -> ids) and decodes (ids -> text) one text with each tokenizer; reports\n"
    "MB/s of text, tokens/s and bytes per token, best of --reps runs. Each run encodes once\n"
    "into a buffer sized up front, as a caller that knows the length would.\n\n";

/* The tokenizers asked for, in order: a GGUF, or a tokenizer.bin with the
 * --vocab-size given before it. */
typedef struct {
    const char *path[MAX_TOK];
    int vocab[MAX_TOK]; /* 0: a GGUF */
    int n, cur_vocab;
} tok_list;

static bool opt_tokenizer(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    tok_list *t = o->dst;
    if (t->n == MAX_TOK) return cli_error(cmd, "at most %d tokenizers", MAX_TOK), false;
    if (name[1] == 'z' && t->cur_vocab <= 0) return cli_error(cmd, "-z %s needs --vocab-size N before it", v), false;
    t->path[t->n] = v;
    t->vocab[t->n++] = name[1] == 'z' ? t->cur_vocab : 0;
    return true;
}

int bench_tokenize(int argc, char **argv) {
    const char *names[MAX_TOK];
    lc_tokenizer *toks[MAX_TOK] = {0};
    int n_tok = 0, reps = 5, rc = CLI_OK;
    int64_t size = 1 << 20;
    const char *file = NULL;
    bool json = false;
    lc_error err;
    char *text = NULL;
    lc_table *t = NULL;
    tok_list tl = {.n = 0};
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("-m", "PATH", opt_tokenizer, &tl, "a GGUF with a vocabulary (repeatable)"),
        CLI_FN("-z", "PATH", opt_tokenizer, &tl, "a llama2.c tokenizer.bin (repeatable; needs --vocab-size before it)"),
        CLI_INT("--vocab-size", "N", &tl.cur_vocab, 1, INT32_MAX, "vocabulary size for the following -z"),
        CLI_STR("-f|--file", "FILE", &file, "the text: this file, repeated up to --size (default: synthetic)"),
        CLI_I64("--size", "BYTES", &size, 1, 256 << 20, "text size (default 1M; K/M suffixes)"),
        BENCH_BEST_OF_OPT(&reps),
        CLI_SET("--json", &json, "JSON on stdout"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    for (; n_tok < tl.n; n_tok++) {
        const char *v = tl.path[n_tok];
        if (lc_tokenizer_open(v, tl.vocab[n_tok], &toks[n_tok], &err) != LC_OK) {
            rc = cli_fail(CMD, &err);
            goto done;
        }
        const char *base = strrchr(v, '/');
        names[n_tok] = base ? base + 1 : v;
    }
    if (n_tok == 0) {
        cli_error(CMD, "give at least one tokenizer (-m VOCAB.gguf or -z TOKENIZER.bin)");
        cli_opt_help(&spec, stderr);
        rc = CLI_USAGE;
        goto done;
    }
    if (lc_bench_tokenize_text(file, (size_t)size, &text, &err) != LC_OK) {
        cli_error(CMD, "%s", err.msg);
        rc = CLI_FAIL;
        goto done;
    }
    if (!json)
        printf("text: %s, %lld bytes; best of %d\n", file ? file : "synthetic (English, numbers, CJK, emoji)",
               (long long)size, reps);
    lc_bench_tokenize_row rows[MAX_TOK];
    lc_status st = LC_OK;
    for (int k = 0; k < n_tok && st == LC_OK; k++)
        st = lc_bench_tokenize(toks[k], text, (size_t)size, reps, &rows[k], &err);
    if (st == LC_OK) st = lc_bench_tokenize_table(rows, names, n_tok, &t, &err);
    rc = bench_report(CMD, json, st, &err, NULL, NULL, t);
done:
    for (int k = 0; k < n_tok; k++) lc_tokenizer_free(toks[k]);
    free(text);
    return rc;
}
