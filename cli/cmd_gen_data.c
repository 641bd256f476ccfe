/*
 * longctx gen-data — print synthetic long-context samples (for humans and for
 * debugging), rows of the training stream, the synthetic vocabulary, or train
 * a byte-level BPE tokenizer on a text file.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opt.h"
#include "commands.h"
#include "longctx/sys.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"

#define CMD "gen-data"

static const char synopsis[] =
    "usage: longctx gen-data [--task KIND] [-c N] [options]          samples of one task\n"
    "       longctx gen-data --mix SPEC -c T [-b B] [--position P]   rows of the training stream\n"
    "       longctx gen-data --vocab                                 the synthetic tokenizer's pieces\n"
    "       longctx gen-data --train-bpe FILE --vocab-size N [-o OUT.gguf]   train a BPE tokenizer\n\n"
    "Tasks (see docs/tasks.md): passkey, multikey, multivalue, multiquery, vt, filler.\n\n";

static const char epilog[] =
    "examples:\n"
    "  longctx gen-data --task passkey -c 256 --depth 0.5\n"
    "  longctx gen-data --task vt -c 1K --chains 2 --hops 3 --tokens\n"
    "  longctx gen-data --mix passkey:0.5,filler:0.5 -c 512 -b 2\n"
    "  longctx gen-data --train-bpe corpus.txt --vocab-size 4096 -o bpe4k.gguf\n";

typedef struct {
    lc_task_spec spec;
    int64_t count, batch, position;
    uint64_t seed;
    const char *model, *tok_bin, *haystack, *mix, *train_bpe, *pre, *output;
    int vocab_size;
    int64_t min_freq;
    bool tokens, json, vocab;
} opts;

static bool opt_task(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (lc_task_kind_parse(v, o->dst)) return true;
    cli_error(cmd, "%s: unknown task '%s' (passkey, multikey, multivalue, multiquery, vt, filler)", name, v);
    return false;
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    lc_task_spec_init(&o->spec, LC_TASK_PASSKEY, 512);
    o->count = 1;
    o->batch = 4;
    o->seed = 1;
    o->min_freq = 2;
    lc_task_spec *s = &o->spec;
    const cli_opt opts_[] = {
        CLI_SECTION("options:"),
        CLI_FN("-t|--task", "KIND", opt_task, &s->kind, "task (default passkey)"),
        CLI_I64("-c|--ctx-size", "N", &s->n_tokens, 1, CLI_INT_LIMIT, "target length in tokens, BOS to EOS (default 512; K suffix ok)"),
        CLI_I64("--count", "N", &o->count, 1, CLI_INT_LIMIT, "samples to print (default 1; seeds S, S+1, ...)"),
        CLI_U64("-s|--seed", "S", &o->seed, 0, CLI_INT_LIMIT, "seed (default 1)"),
        CLI_DOUBLE("--depth", "D", &s->depth, 0, 1, "0..1: where the needle sits in the haystack (default random)"),
        CLI_INT("--digits", "N", &s->digits, 1, LC_TASK_MAX_DIGITS, "digits of pass keys and values (default 5)"),
        CLI_INT("--keys", "N", &s->n_keys, 1, LC_TASK_MAX_KEYS, "multikey/multiquery: key/value needles (default 4)"),
        CLI_INT("--values", "N", &s->n_values, 1, LC_TASK_MAX_KEYS, "multivalue: values of the key (default 4)"),
        CLI_INT("--queries", "N", &s->n_queries, 1, LC_TASK_MAX_KEYS, "multiquery: keys asked (default 2)"),
        CLI_INT("--chains", "N", &s->n_chains, 1, LC_TASK_MAX_CHAINS, "vt: chains (default 1)"),
        CLI_INT("--hops", "N", &s->n_hops, 0, LC_TASK_MAX_HOPS, "vt: hops (default 4)"),
        CLI_SET("--exact", &s->exact, "exactly N tokens (cut the first filler sentence)"),
        CLI_STR("--haystack", "FILE", &o->haystack, "sentences of FILE instead of generated filler"),
        CLI_CLEAR("--no-bos", &s->add_bos, "no BOS first"),
        CLI_CLEAR("--no-eos", &s->add_eos, "no EOS last"),
        CLI_STR("-m|--model", "PATH", &o->model, "tokenizer of a GGUF model or vocabulary (default: the synthetic one)"),
        CLI_STR("-z|--tokenizer", "PATH", &o->tok_bin, "a llama2.c tokenizer.bin, with --vocab-size N"),
        CLI_SET("--tokens", &o->tokens, "also print the tokens (role:piece)"),
        CLI_SET("--json", &o->json, "one JSON object per sample (ids, roles, prompt, answer, needles)"),
        CLI_STR("--mix", "SPEC", &o->mix,
                "stream mode: e.g. \"passkey:0.4,multikey:0.2,vt:0.2,filler:0.2\"\n"
                "(entries KIND[:WEIGHT[:OPT=V...]], OPT: digits keys values queries\n"
                "chains hops depth)"),
        CLI_I64("-b|--batch", "B", &o->batch, 1, 4096, "stream rows to print (default 4, at most 4096)"),
        CLI_I64("--position", "P", &o->position, 0, CLI_INT_LIMIT, "stream position to start at (default 0)"),
        CLI_SET("--vocab", &o->vocab, "print the synthetic vocabulary: id, type, score, piece"),
        CLI_STR("--train-bpe", "FILE", &o->train_bpe,
                "train a byte-level BPE on FILE; prints timing and compression,\n"
                "checks that encoding FILE gives the trainer's segmentation"),
        CLI_INT("--vocab-size", "N", &o->vocab_size, 1, INT32_MAX, "BPE vocabulary size (with --train-bpe), or tokenizer.bin's (-z)"),
        CLI_STR("--pre", "NAME", &o->pre, "BPE pre-tokenizer: gpt2 (default) or llama-bpe"),
        CLI_I64("--min-freq", "N", &o->min_freq, 1, CLI_INT_LIMIT, "BPE: stop when the best pair occurs fewer times (default 2)"),
        CLI_STR("-o|--output", "PATH", &o->output, "BPE: write the tokenizer as a vocabulary-only GGUF"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, epilog, opts_);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (o->spec.n_queries > o->spec.n_keys) {
        cli_error(CMD, "--queries (%d) cannot exceed --keys (%d)", o->spec.n_queries, o->spec.n_keys);
        return CLI_USAGE;
    }
    if (o->train_bpe && o->vocab_size == 0) {
        cli_error(CMD, "--train-bpe needs --vocab-size N");
        return CLI_USAGE;
    }
    if (o->tok_bin && o->vocab_size == 0) {
        cli_error(CMD, "-z needs --vocab-size N (the file does not store it)");
        return CLI_USAGE;
    }
    return -1;
}

static lc_status open_tokenizer(const opts *o, lc_tokenizer **tok, lc_error *err) {
    if (o->tok_bin) return lc_tokenizer_open(o->tok_bin, o->vocab_size, tok, err);
    if (o->model) return lc_tokenizer_open(o->model, 0, tok, err);
    return lc_tasks_tokenizer_create(tok, err);
}

static int run_samples(opts *o, const lc_tokenizer *tok, const lc_haystack *h) {
    lc_error err;
    o->spec.haystack = h;
    if (lc_task_samples_print(stdout, &o->spec, tok, o->seed, o->count, o->json, o->tokens, &err) != LC_OK)
        return cli_fail(CMD, &err);
    return CLI_OK;
}

static int run_stream(const opts *o, const lc_tokenizer *tok, const lc_haystack *h) {
    lc_error err;
    lc_task_stream_config cfg;
    lc_task_stream_config_init(&cfg);
    if (lc_task_mix_parse(o->mix, &cfg.mix, &err) != LC_OK) {
        cli_error(CMD, "%s", err.msg);
        return CLI_USAGE;
    }
    cfg.seq_len = o->spec.n_tokens;
    cfg.seed = o->seed;
    cfg.haystack = h;
    if (lc_task_stream_print(stdout, &cfg, tok, o->position, o->batch, o->tokens, &err) != LC_OK)
        return cli_fail(CMD, &err);
    return CLI_OK;
}

static int run_train_bpe(const opts *o) {
    lc_error err;
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, o->vocab_size);
    p.min_frequency = o->min_freq;
    if (o->pre) p.pre = o->pre;
    cli_progress prog;
    cli_progress_init(&prog);
    p.progress = cli_progress_cb;
    p.progress_user = &prog;
    const lc_status st = lc_bpe_train_file_run(o->train_bpe, &p, o->output, stdout, &err);
    cli_progress_done(&prog);
    return st == LC_OK ? CLI_OK : cli_fail(CMD, &err);
}

int cmd_gen_data(int argc, char **argv) {
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    lc_error err;
    if (o.vocab) return lc_tasks_vocab_print(stdout, &err) == LC_OK ? CLI_OK : cli_fail(CMD, &err);
    if (o.train_bpe) return run_train_bpe(&o);
    lc_tokenizer *tok = NULL;
    lc_haystack *h = NULL;
    if (open_tokenizer(&o, &tok, &err) != LC_OK) return cli_fail(CMD, &err);
    if (o.haystack && lc_haystack_load(o.haystack, &h, &err) != LC_OK) rc = cli_fail(CMD, &err);
    else if (o.mix) rc = run_stream(&o, tok, h);
    else rc = run_samples(&o, tok, h);
    lc_haystack_free(h);
    lc_tokenizer_free(tok);
    return rc;
}
