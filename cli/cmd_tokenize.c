/*
 * longctx tokenize — text to token ids with a model's or a vocabulary's
 * tokenizer: any GGUF that carries tokenizer.ggml.* (vocabulary-only files
 * included), or a llama2.c tokenizer.bin (-z) with the vocabulary size of a
 * llama2.c model (-m) or given (--vocab-size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/sys.h"
#include "longctx/text.h"
#include "longctx/tokenizer.h"
#include "longctx/util.h"
#include "opt.h"

#define CMD "tokenize"
#define MAX_TEXT ((size_t)256 << 20) /* the library's per-call limit */

static const char synopsis[] =
    "usage: longctx tokenize -m MODEL_OR_VOCAB (-p TEXT | -f FILE) [options]\n"
    "       longctx tokenize -z TOKENIZER.bin (--vocab-size N | -m MODEL.bin) (-p TEXT | -f FILE) [options]\n\n"
    "Prints the token ids of the text on one line, space-separated. Special-token text such\n"
    "as \"<s>\" is not parsed: it is tokenised as plain text (as llama.cpp's test vectors).\n\n";

static const char epilog[] =
    "examples:\n"
    "  longctx tokenize -m ggml-vocab-llama-spm.gguf -p \"Hello world\" --no-bos   # 15043 3186\n"
    "  longctx tokenize -z llama2-tokenizer.bin --vocab-size 32000 -f notes.txt --pieces\n";

static bool opt_stdin(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)name, (void)v, (void)cmd;
    *(const char **)o->dst = "-";
    return true;
}

typedef struct {
    const char *model, *tok_bin, *prompt, *file;
    int vocab_size;
    bool no_bos, pieces, show_count, stats;
} tok_opts;

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, tok_opts *o) {
    memset(o, 0, sizeof *o);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &o->model,
                "a GGUF with a vocabulary (a model or a vocabulary-only file), or a\n"
                "llama2.c .bin model (then -z gives its tokenizer)"),
        CLI_STR("-z|--tokenizer", "PATH", &o->tok_bin, "a llama2.c tokenizer.bin"),
        CLI_INT("--vocab-size", "N", &o->vocab_size, 1, INT32_MAX,
                "its vocabulary size (the file does not store it; Llama 2's is 32000)"),
        CLI_STR("-p|--prompt", "TEXT", &o->prompt, "the text"),
        CLI_STR("-f|--file", "PATH", &o->file, "read the text from a file ('-' = standard input)"),
        CLI_FN("--stdin", NULL, opt_stdin, &o->file, "the same as -f -"),
        CLI_SET("--no-bos", &o->no_bos, "do not put BOS in front (default: the vocabulary's add_bos_token)"),
        CLI_SET("--pieces", &o->pieces,
                "one token per line: id, a tab, the piece as stored (\"\\xNN\" escapes\n"
                "for control and invalid bytes, \"\\\\\" for a backslash)"),
        CLI_SET("--show-count", &o->show_count, "print \"Total number of tokens: N\" after the ids"),
        CLI_SET("--stats", &o->stats, "bytes, tokens and encoding speed on stderr"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, epilog, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!o->model && !o->tok_bin) {
        cli_error(CMD, "give a model or vocabulary with -m, or a tokenizer.bin with -z");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    if ((o->prompt != NULL) == (o->file != NULL)) {
        cli_error(CMD, "give the text with exactly one of -p TEXT or -f FILE");
        return CLI_USAGE;
    }
    if (o->tok_bin && !o->model && o->vocab_size == 0) {
        cli_error(CMD, "-z needs the vocabulary size: --vocab-size N (32000 for Llama 2) or the model with -m");
        return CLI_USAGE;
    }
    return -1;
}

int cmd_tokenize(int argc, char **argv) {
    tok_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;

    lc_error err;
    lc_error_clear(&err);
    lc_tokenizer *tok = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    if (lc_tokenizer_open_for_model(o.model, o.tok_bin, o.vocab_size, &tok, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    bool implemented = true;
    const char *pre = lc_tokenizer_pre_name(tok, &implemented);
    if (!implemented)
        cli_error(CMD, "note: pre-tokenizer '%s' is not implemented; using GPT-2's (ids may differ from llama.cpp)", pre);

    size_t len = o.prompt ? strlen(o.prompt) : 0;
    if (!o.prompt && lc_read_input(o.file, MAX_TEXT, &text, &len, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    bool bos = !o.no_bos && lc_tokenizer_add_bos(tok);
    int64_t n = 0;
    double t0 = lc_time_now();
    if (lc_tokenizer_encode_alloc(tok, o.prompt ? o.prompt : text, len, bos, &ids, &n, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    double dt = lc_time_now() - t0;
    lc_tokenizer_print_ids(stdout, tok, ids, n, o.pieces);
    if (o.show_count) printf("Total number of tokens: %lld\n", (long long)n);
    if (o.stats)
        fprintf(stderr, "%zu bytes -> %lld tokens (%.2f bytes/token) in %.2f ms: %.1f MB/s, %.0f tokens/s\n", len,
                (long long)n, n ? (double)len / (double)n : 0.0, dt * 1e3, dt > 0 ? (double)len / dt / 1e6 : 0.0,
                dt > 0 ? (double)n / dt : 0.0);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(CMD, "writing the output: %s", strerror(errno));
        rc = CLI_FAIL;
        goto done;
    }
    rc = CLI_OK;
done:
    free(ids);
    free(text);
    lc_tokenizer_free(tok);
    return rc;
}
