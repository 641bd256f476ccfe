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
#include "longctx/json.h"
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
    tok_list tl = {.n = 0};
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_FN("-m", "PATH", opt_tokenizer, &tl, "a GGUF with a vocabulary (repeatable)"),
        CLI_FN("-z", "PATH", opt_tokenizer, &tl, "a llama2.c tokenizer.bin (repeatable; needs --vocab-size before it)"),
        CLI_INT("--vocab-size", "N", &tl.cur_vocab, 1, INT32_MAX, "vocabulary size for the following -z"),
        CLI_STR("-f|--file", "FILE", &file, "the text: this file, repeated up to --size (default: synthetic)"),
        CLI_I64("--size", "BYTES", &size, 1, 256 << 20, "text size (default 1M; K/M suffixes)"),
        CLI_INT("--reps", "R", &reps, 1, CLI_MAX_REPS, "repetitions, best reported (default 5)"),
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
    lc_json_writer w;
    if (json) {
        lc_json_init(&w, stdout, true);
        lc_json_begin_array(&w);
    } else {
        printf("text: %s, %lld bytes; best of %d\n", file ? file : "synthetic (English, numbers, CJK, emoji)",
               (long long)size, reps);
        printf("%-28s %-4s %9s %8s %10s %9s %10s %10s %9s\n", "tokenizer", "kind", "tokens", "B/token", "encode ms",
               "enc MB/s", "Mtokens/s", "decode ms", "dec MB/s");
    }
    for (int k = 0; k < n_tok; k++) {
        lc_bench_tokenize_row row;
        if (lc_bench_tokenize(toks[k], text, (size_t)size, reps, &row, &err) != LC_OK) {
            rc = cli_fail(CMD, &err);
            goto done;
        }
        const double best_enc = row.encode_s, best_dec = row.decode_s;
        const int64_t n = row.tokens;
        const bool exact = row.round_trip_exact;
        const char *kind = lc_tokenizer_kind_of(toks[k]) == LC_TOKENIZER_SPM ? "spm" : "bpe";
        if (json) {
            lc_json_begin_object(&w);
            lc_json_kv_str(&w, "tokenizer", names[k]);
            lc_json_kv_str(&w, "kind", kind);
            lc_json_kv_int(&w, "bytes", size);
            lc_json_kv_int(&w, "tokens", n);
            lc_json_kv_num(&w, "encode_s", best_enc);
            lc_json_kv_num(&w, "decode_s", best_dec);
            lc_json_kv_bool(&w, "round_trip_exact", exact);
            lc_json_end_object(&w);
        } else {
            printf("%-28s %-4s %9lld %8.2f %10.2f %9.1f %10.2f %10.2f %9.1f%s\n", names[k], kind, (long long)n,
                   n ? (double)size / (double)n : 0.0, best_enc * 1e3, (double)size / best_enc / 1e6,
                   (double)n / best_enc / 1e6, best_dec * 1e3, (double)size / best_dec / 1e6,
                   exact ? "" : "  (round trip NOT exact)");
        }
    }
    if (json) {
        lc_json_end_array(&w);
        lc_json_finish(&w);
    }
done:
    for (int k = 0; k < n_tok; k++) lc_tokenizer_free(toks[k]);
    free(text);
    return rc;
}
