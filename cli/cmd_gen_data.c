/*
 * longctx gen-data — print synthetic long-context samples (for humans and for
 * debugging), rows of the training stream, the synthetic vocabulary, or train
 * a byte-level BPE tokenizer on a text file.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/gguf.h"
#include "longctx/json.h"
#include "longctx/sys.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"

#define CMD "gen-data"

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx gen-data [--task KIND] [-c N] [options]          samples of one task\n"
            "       longctx gen-data --mix SPEC -c T [-b B] [--position P]   rows of the training stream\n"
            "       longctx gen-data --vocab                                 the synthetic tokenizer's pieces\n"
            "       longctx gen-data --train-bpe FILE --vocab-size N [-o OUT.gguf]   train a BPE tokenizer\n\n"
            "Tasks (see docs/tasks.md): passkey, multikey, multivalue, multiquery, vt, filler.\n\n"
            "  -t, --task KIND       task (default passkey)\n"
            "  -c, --ctx-size N      target length in tokens, BOS to EOS (default 512; K suffix ok)\n"
            "      --count N         samples to print (default 1; seeds S, S+1, ...)\n"
            "  -s, --seed S          seed (default 1)\n"
            "      --depth D         0..1: where the needle sits in the haystack (default random)\n"
            "      --digits N        digits of pass keys and values (default 5)\n"
            "      --keys N          multikey/multiquery: key/value needles (default 4)\n"
            "      --values N        multivalue: values of the key (default 4)\n"
            "      --queries N       multiquery: keys asked (default 2)\n"
            "      --chains N        vt: chains (default 1)     --hops N  vt: hops (default 4)\n"
            "      --exact           exactly N tokens (cut the first filler sentence)\n"
            "      --haystack FILE   sentences of FILE instead of generated filler\n"
            "      --no-bos, --no-eos\n"
            "  -m, --model PATH      tokenizer of a GGUF model or vocabulary (default: the synthetic one)\n"
            "  -z, --tokenizer PATH  a llama2.c tokenizer.bin, with --vocab-size N\n"
            "      --tokens          also print the tokens (role:piece)\n"
            "      --json            one JSON object per sample (ids, roles, prompt, answer, needles)\n"
            "      --mix SPEC        stream mode: e.g. \"passkey:0.4,multikey:0.2,vt:0.2,filler:0.2\"\n"
            "                        (entries KIND[:WEIGHT[:OPT=V...]], OPT: digits keys values queries\n"
            "                        chains hops depth)\n"
            "  -b, --batch B         stream rows to print (default 4)\n"
            "      --position P      stream position to start at (default 0)\n"
            "      --vocab           print the synthetic vocabulary: id, type, score, piece\n"
            "      --train-bpe FILE  train a byte-level BPE on FILE; prints timing and compression,\n"
            "                        checks that encoding FILE gives the trainer's segmentation\n"
            "      --vocab-size N    BPE vocabulary size (with --train-bpe), or tokenizer.bin's (-z)\n"
            "      --pre NAME        BPE pre-tokenizer: gpt2 (default) or llama-bpe\n"
            "      --min-freq N      BPE: stop when the best pair occurs fewer times (default 2)\n"
            "  -o, --output PATH     BPE: write the tokenizer as a vocabulary-only GGUF\n"
            "  -h, --help            this help\n\n"
            "examples:\n"
            "  longctx gen-data --task passkey -c 256 --depth 0.5\n"
            "  longctx gen-data --task vt -c 1K --chains 2 --hops 3 --tokens\n"
            "  longctx gen-data --mix passkey:0.5,filler:0.5 -c 512 -b 2\n"
            "  longctx gen-data --train-bpe corpus.txt --vocab-size 4096 -o bpe4k.gguf\n");
}

typedef struct {
    lc_task_spec spec;
    int64_t count, batch, position;
    uint64_t seed;
    const char *model, *tok_bin, *haystack, *mix, *train_bpe, *pre, *output;
    int vocab_size;
    int64_t min_freq;
    bool tokens, json, vocab;
} opts;

static bool parse_i32(const char *flag, const char *v, int32_t lo, int32_t hi, int32_t *out) {
    int x;
    if (!cli_parse_int(v, &x) || x < lo || x > hi) {
        cli_error(CMD, "%s wants an integer in %d..%d, not '%s'", flag, (int)lo, (int)hi, v);
        return false;
    }
    *out = x;
    return true;
}

static bool parse_i64(const char *flag, const char *v, int64_t lo, int64_t *out) {
    if (!cli_parse_i64(v, out) || *out < lo) {
        cli_error(CMD, "%s wants an integer >= %lld, not '%s'", flag, (long long)lo, v);
        return false;
    }
    return true;
}

/* 0 ok, -1 help printed, else the exit status. */
static int parse_args(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    lc_task_spec_init(&o->spec, LC_TASK_PASSKEY, 512);
    o->count = 1;
    o->batch = 4;
    o->seed = 1;
    o->min_freq = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        lc_task_spec *s = &o->spec;
#define VALUE()                                                                                                        \
    do {                                                                                                               \
        if (!(v = cli_value(argc, argv, &i, CMD))) return CLI_USAGE;                                                   \
    } while (0)
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return -1;
        } else if (cli_is(a, "-t", "--task")) {
            VALUE();
            if (!lc_task_kind_parse(v, &s->kind)) {
                cli_error(CMD, "unknown task '%s' (passkey, multikey, multivalue, multiquery, vt, filler)", v);
                return CLI_USAGE;
            }
        } else if (cli_is(a, "-c", "--ctx-size")) {
            VALUE();
            if (!parse_i64(a, v, 1, &s->n_tokens)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--count")) {
            VALUE();
            if (!parse_i64(a, v, 1, &o->count)) return CLI_USAGE;
        } else if (cli_is(a, "-s", "--seed")) {
            VALUE();
            int64_t x;
            if (!parse_i64(a, v, 0, &x)) return CLI_USAGE;
            o->seed = (uint64_t)x;
        } else if (cli_is(a, NULL, "--depth")) {
            VALUE();
            if (!cli_parse_double(v, &s->depth) || s->depth < 0 || s->depth > 1) {
                cli_error(CMD, "--depth wants a number in 0..1, not '%s'", v);
                return CLI_USAGE;
            }
        } else if (cli_is(a, NULL, "--digits")) {
            VALUE();
            if (!parse_i32(a, v, 1, LC_TASK_MAX_DIGITS, &s->digits)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--keys")) {
            VALUE();
            if (!parse_i32(a, v, 1, LC_TASK_MAX_KEYS, &s->n_keys)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--values")) {
            VALUE();
            if (!parse_i32(a, v, 1, LC_TASK_MAX_KEYS, &s->n_values)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--queries")) {
            VALUE();
            if (!parse_i32(a, v, 1, LC_TASK_MAX_KEYS, &s->n_queries)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--chains")) {
            VALUE();
            if (!parse_i32(a, v, 1, LC_TASK_MAX_CHAINS, &s->n_chains)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--hops")) {
            VALUE();
            if (!parse_i32(a, v, 0, LC_TASK_MAX_HOPS, &s->n_hops)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--exact")) {
            s->exact = true;
        } else if (cli_is(a, NULL, "--no-bos")) {
            s->add_bos = false;
        } else if (cli_is(a, NULL, "--no-eos")) {
            s->add_eos = false;
        } else if (cli_is(a, NULL, "--haystack")) {
            VALUE();
            o->haystack = v;
        } else if (cli_is(a, "-m", "--model")) {
            VALUE();
            o->model = v;
        } else if (cli_is(a, "-z", "--tokenizer")) {
            VALUE();
            o->tok_bin = v;
        } else if (cli_is(a, NULL, "--vocab-size")) {
            VALUE();
            if (!cli_parse_int(v, &o->vocab_size) || o->vocab_size <= 0) {
                cli_error(CMD, "--vocab-size wants a positive integer, not '%s'", v);
                return CLI_USAGE;
            }
        } else if (cli_is(a, NULL, "--tokens")) {
            o->tokens = true;
        } else if (cli_is(a, NULL, "--json")) {
            o->json = true;
        } else if (cli_is(a, NULL, "--mix")) {
            VALUE();
            o->mix = v;
        } else if (cli_is(a, "-b", "--batch")) {
            VALUE();
            if (!parse_i64(a, v, 1, &o->batch)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--position")) {
            VALUE();
            if (!parse_i64(a, v, 0, &o->position)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--vocab")) {
            o->vocab = true;
        } else if (cli_is(a, NULL, "--train-bpe")) {
            VALUE();
            o->train_bpe = v;
        } else if (cli_is(a, NULL, "--pre")) {
            VALUE();
            o->pre = v;
        } else if (cli_is(a, NULL, "--min-freq")) {
            VALUE();
            if (!parse_i64(a, v, 1, &o->min_freq)) return CLI_USAGE;
        } else if (cli_is(a, "-o", "--output")) {
            VALUE();
            o->output = v;
        } else {
            return cli_unknown_option(CMD, a, usage);
        }
#undef VALUE
    }
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
    return 0;
}

static lc_status open_tokenizer(const opts *o, lc_tokenizer **tok, lc_error *err) {
    if (o->tok_bin) return lc_tokenizer_load_llama2c(o->tok_bin, o->vocab_size, tok, err);
    if (o->model) {
        lc_gguf *g;
        lc_status st = lc_gguf_open(o->model, &g, err);
        if (st != LC_OK) return st;
        st = lc_tokenizer_from_gguf(g, tok, err);
        lc_gguf_close(g);
        return st;
    }
    return lc_tasks_tokenizer_create(tok, err);
}

static const char role_chars[LC_ROLE_COUNT] = {'B', 'f', 'N', 'Q', 'A', 'E'};

/* Piece text with control bytes escaped. */
static void print_piece(FILE *f, const lc_tokenizer *tok, int32_t id) {
    size_t len = 0;
    const char *p = lc_tokenizer_piece(tok, id, &len);
    for (size_t i = 0; p && i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02X", c);
        else if (c == '\\') fputs("\\\\", f);
        else fputc(c, f);
    }
}

static void print_tokens(FILE *f, const lc_tokenizer *tok, const int32_t *ids, const uint8_t *roles, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        fprintf(f, "%s%c:", i ? " " : "", roles[i] < LC_ROLE_COUNT ? role_chars[roles[i]] : '?');
        print_piece(f, tok, ids[i]);
    }
    fputc('\n', f);
}

static void print_sample_json(const lc_task_sample *s, uint64_t seed) {
    lc_json_writer w;
    lc_json_init(&w, stdout, false);
    lc_json_begin_object(&w);
    lc_json_kv_str(&w, "task", lc_task_kind_name(s->kind));
    lc_json_kv_int(&w, "seed", (int64_t)seed);
    lc_json_kv_int(&w, "n_tokens", s->n_tokens);
    lc_json_kv_int(&w, "n_prompt", s->n_prompt);
    lc_json_kv_int(&w, "n_haystack", s->n_haystack);
    lc_json_key(&w, "prompt");
    lc_json_strn(&w, s->prompt, s->prompt_len);
    lc_json_key(&w, "answer");
    lc_json_strn(&w, s->answer, s->answer_len);
    lc_json_key(&w, "needles");
    lc_json_begin_array(&w);
    for (int32_t i = 0; i < s->n_needles; i++) {
        lc_json_begin_object(&w);
        lc_json_kv_int(&w, "pos", s->needles[i].pos);
        lc_json_kv_int(&w, "len", s->needles[i].len);
        lc_json_kv_num(&w, "depth", s->needles[i].depth);
        lc_json_kv_bool(&w, "asked", s->needles[i].asked);
        lc_json_end_object(&w);
    }
    lc_json_end_array(&w);
    lc_json_key(&w, "ids");
    lc_json_begin_array(&w);
    for (int64_t i = 0; i < s->n_tokens; i++) lc_json_int(&w, s->ids[i]);
    lc_json_end_array(&w);
    lc_json_key(&w, "roles");
    lc_json_begin_array(&w);
    for (int64_t i = 0; i < s->n_tokens; i++) lc_json_int(&w, s->roles[i]);
    lc_json_end_array(&w);
    lc_json_end_object(&w);
    lc_json_finish(&w);
}

static void print_sample(const opts *o, const lc_tokenizer *tok, const lc_task_sample *s, uint64_t seed) {
    if (o->json) {
        print_sample_json(s, seed);
        return;
    }
    printf("# %s  seed %llu  %lld tokens (target %lld): prompt %lld, haystack %lld, answer %lld\n",
           lc_task_kind_name(s->kind), (unsigned long long)seed, (long long)s->n_tokens, (long long)o->spec.n_tokens,
           (long long)s->n_prompt, (long long)s->n_haystack, (long long)(s->n_tokens - s->n_prompt));
    for (int32_t i = 0; i < s->n_needles; i++)
        printf("#   needle %d at token %lld (%lld tokens), depth %.3f%s\n", (int)i, (long long)s->needles[i].pos,
               (long long)s->needles[i].len, s->needles[i].depth, s->needles[i].asked ? ", asked" : "");
    printf("%s\n", s->prompt);
    if (s->answer_len) printf("=> \"%s\"\n", s->answer);
    if (o->tokens) print_tokens(stdout, tok, s->ids, s->roles, s->n_tokens);
    printf("\n");
}

static int run_samples(const opts *o, const lc_tokenizer *tok) {
    lc_haystack *h = NULL;
    lc_error err;
    lc_task_spec spec = o->spec;
    if (o->haystack) {
        if (lc_haystack_load(o->haystack, &h, &err) != LC_OK) return cli_fail(CMD, &err);
        spec.haystack = h;
    }
    int rc = CLI_OK;
    for (int64_t i = 0; i < o->count; i++) {
        lc_task_sample s;
        uint64_t seed = o->seed + (uint64_t)i;
        if (lc_task_generate(&spec, tok, seed, &s, &err) != LC_OK) {
            rc = cli_fail(CMD, &err);
            break;
        }
        print_sample(o, tok, &s, seed);
        lc_task_sample_free(&s);
    }
    lc_haystack_free(h);
    return rc;
}

static int run_stream(const opts *o, const lc_tokenizer *tok) {
    lc_error err;
    lc_task_stream_config cfg;
    lc_task_stream_config_init(&cfg);
    if (lc_task_mix_parse(o->mix, &cfg.mix, &err) != LC_OK) {
        cli_error(CMD, "%s", err.msg);
        return CLI_USAGE;
    }
    cfg.seq_len = o->spec.n_tokens;
    cfg.seed = o->seed;
    lc_haystack *h = NULL;
    if (o->haystack) {
        if (lc_haystack_load(o->haystack, &h, &err) != LC_OK) return cli_fail(CMD, &err);
        cfg.haystack = h;
    }
    lc_task_stream *s = NULL;
    int32_t *tokens = NULL;
    uint8_t *roles = NULL;
    float *weights = NULL;
    int rc = CLI_OK;
    int64_t T = cfg.seq_len, B = o->batch;
    size_t n_tok;
    if (B > 4096 || __builtin_mul_overflow((size_t)B, (size_t)T + 1, &n_tok)) {
        cli_error(CMD, "batch %lld x %lld tokens is too large", (long long)B, (long long)(T + 1));
        lc_haystack_free(h);
        return CLI_USAGE;
    }
    if (lc_task_stream_create(&cfg, tok, &s, &err) != LC_OK || lc_task_stream_seek(s, o->position, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    tokens = malloc(n_tok * sizeof *tokens);
    roles = malloc(n_tok);
    weights = malloc(n_tok * sizeof *weights);
    if (!tokens || !roles || !weights) {
        cli_error(CMD, "out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    char mixbuf[1024];
    lc_task_mix_format(&cfg.mix, mixbuf, sizeof mixbuf);
    printf("# stream %s  T %lld  seed %llu  rows %lld..%lld\n", mixbuf, (long long)T, (unsigned long long)o->seed,
           (long long)o->position, (long long)(o->position + B - 1));
    if (lc_task_stream_next(s, B, tokens, roles, weights, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    for (int64_t b = 0; b < B; b++) {
        const int32_t *ids = tokens + b * (T + 1);
        int64_t counts[LC_ROLE_COUNT] = {0};
        for (int64_t t = 0; t <= T; t++) counts[roles[b * (T + 1) + t] % LC_ROLE_COUNT]++;
        printf("# row %lld: %s; tokens by role: filler %lld, needle %lld, question %lld, answer %lld, eos %lld\n",
               (long long)(o->position + b), lc_task_kind_name(lc_task_stream_kind_at(s, o->position + b)),
               (long long)counts[LC_ROLE_FILLER], (long long)counts[LC_ROLE_NEEDLE], (long long)counts[LC_ROLE_QUESTION],
               (long long)counts[LC_ROLE_ANSWER], (long long)counts[LC_ROLE_EOS]);
        size_t len = 0;
        lc_status st = lc_tokenizer_decode(tok, ids, T + 1, NULL, 0, &len, &err);
        char *text = (st == LC_OK || st == LC_ERR_TOO_LARGE) ? malloc(len + 1) : NULL;
        if (text && lc_tokenizer_decode(tok, ids, T + 1, text, len + 1, &len, &err) == LC_OK) printf("%s\n", text);
        free(text);
        if (o->tokens) print_tokens(stdout, tok, ids, roles + b * (T + 1), T + 1);
        printf("\n");
    }
done:
    free(tokens);
    free(roles);
    free(weights);
    lc_task_stream_free(s);
    lc_haystack_free(h);
    return rc;
}

static int run_vocab(void) {
    lc_tasks_vocab *v;
    lc_tokenizer_desc d;
    lc_error err;
    if (lc_tasks_vocab_build(&v, &d, &err) != LC_OK) return cli_fail(CMD, &err);
    static const char *const types[] = {"undef", "normal", "unknown", "control", "user", "unused", "byte"};
    printf("# synthetic tokenizer: %d pieces (SPM, byte fallback, BOS %d, EOS %d, UNK %d, PAD %d)\n", (int)d.n_vocab,
           (int)d.bos_id, (int)d.eos_id, (int)d.unk_id, (int)d.pad_id);
    for (int32_t i = 0; i < d.n_vocab; i++) {
        int32_t ty = d.types[i];
        printf("%d\t%s\t%g\t", (int)i, ty >= 0 && ty <= 6 ? types[ty] : "?", (double)d.scores[i]);
        fwrite(d.pieces[i], 1, d.piece_lens[i], stdout);
        putchar('\n');
    }
    lc_tasks_vocab_free(v);
    return CLI_OK;
}

static int run_train_bpe(const opts *o) {
    lc_error err;
    FILE *f = fopen(o->train_bpe, "rb");
    if (!f) {
        cli_error(CMD, "%s: %s", o->train_bpe, strerror(errno));
        return CLI_FAIL;
    }
    char *text = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0 || (uint64_t)size > ((uint64_t)1 << 30)) {
        fclose(f);
        cli_error(CMD, "%s: cannot read its size, or larger than 1 GiB", o->train_bpe);
        return CLI_FAIL;
    }
    text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(text);
        cli_error(CMD, "%s: cannot read it", o->train_bpe);
        return CLI_FAIL;
    }
    fclose(f);
    lc_bpe_train_params p;
    lc_bpe_train_params_init(&p, o->vocab_size);
    p.min_frequency = o->min_freq;
    if (o->pre) p.pre = o->pre;
    p.keep_corpus_ids = true;
    cli_progress prog;
    cli_progress_init(&prog);
    p.progress = cli_progress_cb;
    p.progress_user = &prog;
    lc_bpe_model *m = NULL;
    lc_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    int rc = CLI_OK;
    double t0 = lc_time_now();
    lc_status st = lc_bpe_train(text, (size_t)size, &p, &m, &err);
    double t_train = lc_time_now() - t0;
    cli_progress_done(&prog);
    if (st != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    lc_tokenizer_desc d;
    lc_bpe_model_desc(m, &d);
    if (lc_tokenizer_create(&d, &tok, &err) != LC_OK) {
        rc = cli_fail(CMD, &err);
        goto done;
    }
    int64_t n_corpus = 0;
    const int32_t *corpus = lc_bpe_model_corpus_ids(m, &n_corpus);
    ids = malloc(((size_t)n_corpus + 1) * sizeof *ids);
    int64_t n_enc = 0;
    t0 = lc_time_now();
    st = ids ? lc_tokenizer_encode(tok, text, (size_t)size, false, ids, n_corpus + 1, &n_enc, &err) : LC_ERR_NOMEM;
    double t_enc = lc_time_now() - t0;
    bool same = st == LC_OK && n_enc == n_corpus && memcmp(ids, corpus, (size_t)n_enc * sizeof *ids) == 0;
    printf("trained on %s: %ld bytes, pre-tokenizer %s\n", o->train_bpe, size, d.pre);
    printf("vocabulary %d tokens (256 bytes + %lld merges + <|endoftext|>), asked %d\n", (int)d.n_vocab,
           (long long)d.n_merges, o->vocab_size);
    printf("training %.3f s (%.1f MB/s)\n", t_train, t_train > 0 ? (double)size / t_train / 1e6 : 0.0);
    printf("corpus: %lld tokens, %.2f bytes/token\n", (long long)n_corpus,
           n_corpus ? (double)size / (double)n_corpus : 0.0);
    printf("re-encoding the corpus: %.3f s, %s the trainer's segmentation\n", t_enc, same ? "identical to" : "DIFFERS from");
    if (!same) rc = CLI_FAIL;
    if (o->output && rc == CLI_OK) {
        lc_gguf_writer *w = NULL;
        st = lc_gguf_writer_create(&w, &err);
        if (st == LC_OK) st = lc_gguf_set_str(w, "general.architecture", "llama", &err);
        if (st == LC_OK) st = lc_gguf_set_str(w, "general.name", "longctx byte-level BPE", &err);
        if (st == LC_OK) st = lc_tokenizer_to_gguf(tok, w, &err);
        if (st == LC_OK) st = lc_gguf_write(w, o->output, 0, &err);
        lc_gguf_writer_free(w);
        if (st != LC_OK) rc = cli_fail(CMD, &err);
        else printf("wrote %s\n", o->output);
    }
done:
    free(ids);
    lc_tokenizer_free(tok);
    lc_bpe_model_free(m);
    free(text);
    return rc;
}

int cmd_gen_data(int argc, char **argv) {
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc == -1) return CLI_OK;
    if (rc != 0) return rc;
    if (o.vocab) return run_vocab();
    if (o.train_bpe) return run_train_bpe(&o);
    lc_tokenizer *tok = NULL;
    lc_error err;
    if (open_tokenizer(&o, &tok, &err) != LC_OK) return cli_fail(CMD, &err);
    rc = o.mix ? run_stream(&o, tok) : run_samples(&o, tok);
    lc_tokenizer_free(tok);
    return rc;
}
