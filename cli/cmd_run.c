/* longctx run — generate text with a model: prompt in, tokens streamed out,
 * throughput and the time split on stderr. A thin layer over
 * include/longctx/runtime.h, the sampler and the tokenizer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "common/util.h"
#include "grammar_flags.h"
#include "llama_flags.h"
#include "reverse_prompt.h"
#include "run_session.h"
#include "runtime_flags.h"
#include "sp_cli.h"
#include "longctx/json.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/sys.h"

#define PROMPT_FILE_MAX ((long)64 << 20)

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx run -m MODEL [options]\n\n"
            "Generate from a prompt (or from BOS) and stream the text to stdout; prompt and generation\n"
            "throughput and the time split (matmul / attention / other) go to stderr.\n\n"
            "options:\n"
            "  -m, --model PATH       GGUF or llama2.c .bin model\n"
            "  -z, --tokenizer PATH   llama2.c tokenizer.bin for a .bin model\n"
            "  -p, --prompt TEXT      the prompt (default: start from BOS)\n"
            "  -f, --file PATH        read the prompt from a file\n"
            "  --prompt-tokens LIST   the prompt as token ids, e.g. 1,403,22 (no tokenizer needed)\n"
            "  -n, --n-predict N      tokens to generate (default 128; -1: until EOS or the context is full)\n"
            "  -c, --ctx-size N       context length in tokens (default: the model's training context, at most 4096)\n"
            "  -b, --batch-size N     prompt tokens per forward pass (default 512)\n"
            "  -t, --threads N        threads, 1..4096 (default: all CPUs)\n"
            "  --attn SPEC            naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]\n"
            "                         (default: the model's attention, else flash)\n"
            "  -ctk, --cache-type-k T KV cache type for K: f16 (default), f32 or q8_0 (head dim %% 32 == 0)\n"
            "  -ctv, --cache-type-v T KV cache type for V: f16 (default), f32 or q8_0\n"
            "  --kv-policy SPEC       full (default: stop when full), shift:KEEP (context shift), window:W,\n"
            "                         sinks:S:W, h2o:S:R:H\n"
            "  --keep N               llama.cpp's: --kv-policy shift:N (-1: keep the whole prompt)\n"
            "  -r, --reverse-prompt S stop when the generated text contains S (printed with it; repeatable)\n"
            "  --json                 print one JSON object on stdout instead of the text: the prompt's and\n"
            "                         generated tokens, the text, why it stopped and the timings\n"
            "  --tokens               print the generated token ids instead of text\n"
            "  --ignore-eos           do not stop at the end-of-sequence token\n"
            "  --no-bos               do not put BOS before the prompt\n"
            "  --session FILE         reuse the KV cache saved in FILE for the prompt's common prefix,\n"
            "                         and save the cache there afterwards (refused if foreign or corrupt;\n"
            "                         a file saved with another -c is loaded when its tokens fit)\n"
            "  --prompt-cache FILE    llama.cpp's name for --session (--prompt-cache-ro: load, never save)\n"
            "  --sp                   sequence parallel: under mpirun -np P each rank holds 1/P of the KV\n"
            "                         cache and attention is combined over MPI (docs/distributed.md);\n"
            "                         without mpirun it runs as P = 1\n"
            "  -h, --help             this help\n%s\n"
            "structured output:\n%s\n"
            "sampling (-s is --seed):\n%s\n"
            "RoPE (override the model's):\n%s",
            cli_llama_flags_help(), cli_grammar_help(), lc_sampler_options_help(), lc_rope_options_help());
}

/* Reads at most PROMPT_FILE_MAX bytes; NULL (after a message) on failure. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("run", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || size > PROMPT_FILE_MAX || fseek(f, 0, SEEK_SET) != 0) {
        cli_error("run", "%s: %s", path, size > PROMPT_FILE_MAX ? "prompt file larger than 64 MiB" : "cannot size");
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        cli_error("run", "cannot read %s", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = '\0';
        *len = (size_t)size;
    }
    return buf;
}

/* "1,403,22" -> ids (malloc'd). */
static int32_t *parse_ids(const char *s, int64_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *ids = malloc(cap * sizeof(int32_t));
    if (!ids) return NULL;
    *n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            free(ids);
            return NULL;
        }
        ids[(*n)++] = (int32_t)v;
        s = *end ? end + 1 : end;
    }
    if (*n == 0) {
        free(ids);
        return NULL;
    }
    return ids;
}

typedef struct {
    lc_sampler *sampler;
    const lc_tokenizer *tok;
    bool ids;
    int32_t prev;
    char buf[256];
    /* --session, --json: the generated ids, grown as they come (a session's
     * history holds at most LC_SESSION_MAX_TOKENS) */
    bool keep;
    int32_t *gen;
    int64_t n_gen, cap_gen;
    /* --json: the generated text, printed at the end instead of streamed */
    bool json;
    char *text;
    size_t text_len, text_cap;
    cli_stops *stops;       /* -r */
    const char *stopped_at; /* the -r string that ended generation */
} run_state;

/* Append the piece to s->text; false (after a message) when it cannot grow. */
static bool keep_text(run_state *s, const char *piece, size_t n) {
    if (n > SIZE_MAX / 2 - s->text_len - 1) return false;
    if (s->text_len + n + 1 > s->text_cap) {
        const size_t cap = LC_MAX(2 * s->text_cap, LC_MAX(s->text_len + n + 1, (size_t)4096));
        char *t = realloc(s->text, cap);
        if (!t) {
            fprintf(stderr, "\nlongctx run: stopping: out of memory for the generated text\n");
            return false;
        }
        s->text = t;
        s->text_cap = cap;
    }
    memcpy(s->text + s->text_len, piece, n);
    s->text_len += n;
    s->text[s->text_len] = '\0';
    return true;
}

/* A decoded piece: printed (or kept for --json), checked against the -r
 * strings; false to stop. */
static bool emit_text(run_state *s, const char *piece, size_t n) {
    if (!s->json) fwrite(piece, 1, n, stdout);
    else if (!keep_text(s, piece, n)) return false;
    bool oom;
    s->stopped_at = cli_stops_feed(s->stops, piece, n, &oom);
    if (oom) fprintf(stderr, "\nlongctx run: stopping: out of memory for -r\n");
    return !oom && !s->stopped_at;
}

/* Append id to s->gen; false (after a message) when it cannot grow. */
static bool keep_token(run_state *s, int32_t id) {
    if (s->n_gen == s->cap_gen) {
        const int64_t cap = LC_MIN(LC_MAX(2 * s->cap_gen, (int64_t)256), LC_SESSION_MAX_TOKENS);
        int32_t *g = cap > s->cap_gen ? realloc(s->gen, (size_t)cap * sizeof(int32_t)) : NULL;
        if (!g) {
            fprintf(stderr, "\nlongctx run: stopping: %s after %lld generated tokens\n",
                    cap > s->cap_gen ? "out of memory for the session's history" : "a session's history is full",
                    (long long)s->n_gen);
            return false;
        }
        s->gen = g;
        s->cap_gen = cap;
    }
    s->gen[s->n_gen++] = id;
    return true;
}

static bool sample_cb(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err) {
    (void)n_vocab;
    return lc_sampler_sample_inplace(((run_state *)user)->sampler, logits, token, err) == LC_OK;
}

static bool token_cb(void *user, int32_t id) {
    run_state *s = user;
    bool go = true;
    if (s->keep && !keep_token(s, id)) return false;
    if (s->ids || !s->tok) {
        if (!s->json) printf("%d ", id);
    } else {
        size_t n = lc_tokenizer_decode_token(s->tok, s->prev, id, s->buf, sizeof s->buf);
        if (n > sizeof s->buf) {
            char *big = malloc(n);
            if (big) {
                lc_tokenizer_decode_token(s->tok, s->prev, id, big, n);
                go = emit_text(s, big, n);
                free(big);
            }
        } else {
            go = emit_text(s, s->buf, n);
        }
    }
    s->prev = id;
    fflush(stdout);
    return go;
}

/* --json: one object on stdout. */
static void print_json(const run_state *s, const char *model_path, const int32_t *ids, int64_t n_ids, int64_t reused,
                       const lc_generate_result *res, const lc_context_timings *tm) {
    lc_json_writer w;
    lc_json_init(&w, stdout, false);
    lc_json_begin_object(&w);
    lc_json_kv_str(&w, "model", model_path);
    lc_json_kv_int(&w, "n_prompt_tokens", n_ids);
    lc_json_kv_int(&w, "n_prompt_evaluated", res->n_prompt);
    lc_json_kv_int(&w, "n_prompt_reused", reused);
    lc_json_key(&w, "prompt_tokens");
    lc_json_begin_array(&w);
    for (int64_t i = 0; i < n_ids; i++) lc_json_int(&w, ids[i]);
    lc_json_end_array(&w);
    lc_json_kv_int(&w, "n_generated", res->n_generated);
    lc_json_key(&w, "tokens");
    lc_json_begin_array(&w);
    for (int64_t i = 0; i < s->n_gen; i++) lc_json_int(&w, s->gen[i]);
    lc_json_end_array(&w);
    lc_json_key(&w, "text"); /* null without a tokenizer (or with --tokens) */
    if (s->ids || !s->tok) lc_json_null(&w);
    else lc_json_strn(&w, s->text ? s->text : "", s->text_len);
    lc_json_kv_str(&w, "stop", s->stopped_at ? "reverse_prompt" : lc_stop_reason_name(res->stop));
    if (s->stopped_at) lc_json_kv_str(&w, "reverse_prompt", s->stopped_at);
    lc_json_key(&w, "timings");
    lc_json_begin_object(&w);
    lc_json_kv_num(&w, "prompt_s", res->t_prompt);
    lc_json_kv_num(&w, "prompt_tokens_per_s", res->t_prompt > 0 ? (double)res->n_prompt / res->t_prompt : 0.0);
    lc_json_kv_num(&w, "generate_s", res->t_generate);
    lc_json_kv_num(&w, "generate_tokens_per_s",
                   res->t_generate > 0 ? (double)res->n_generated / res->t_generate : 0.0);
    lc_json_kv_num(&w, "matmul_s", tm->t_matmul);
    lc_json_kv_num(&w, "attention_s", tm->t_attn);
    lc_json_kv_num(&w, "other_s", tm->t_other);
    lc_json_end_object(&w);
    lc_json_end_object(&w);
    lc_json_finish(&w);
}

/* What the command line asks for. */
typedef struct {
    const char *prompt, *prompt_file, *prompt_ids, *session;
    int64_t n_predict;
    cli_runtime_flags rf; /* -m -z -c -b -t --attn -ctk -ctv --kv-policy --keep and RoPE (runtime_flags.h) */
    lc_sampler_params sp;
    bool print_ids, ignore_eos, no_bos, json, session_ro;
    cli_stops stops; /* -r */
    cli_sp spc;
    cli_grammar gr;
} run_args;

static void run_args_init(run_args *r) {
    memset(r, 0, sizeof *r);
    r->n_predict = 128;
    cli_runtime_flags_init(&r->rf);
    lc_sampler_params_init(&r->sp);
    cli_stops_init(&r->stops);
    cli_grammar_init(&r->gr);
}

/* Parse and check the flags: -1 to go on, else the exit status (CLI_OK
 * after --help, CLI_USAGE after a message). */
static int parse_args(run_args *r, int argc, char **argv) {
    lc_error err;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        bool ok = true;
        const int taken = cli_runtime_flag(&r->rf, argc, argv, &i, "run");
        if (taken < 0) return CLI_USAGE;
        if (taken > 0) continue;
        if (cli_is(f, NULL, "--json")) { /* the result as JSON (the grammar's is --json-object) */
            r->json = true;
            continue;
        }
        const int gtaken = cli_grammar_flag(&r->gr, argc, argv, &i, "run");
        if (gtaken < 0) return CLI_USAGE;
        if (gtaken > 0) continue;
#define VALUE() (v = cli_value(argc, argv, &i, "run"))
        if (cli_is(f, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(f, "-p", "--prompt")) ok = (r->prompt = VALUE()) != NULL;
        else if (cli_is(f, "-f", "--file")) ok = (r->prompt_file = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--prompt-tokens")) ok = (r->prompt_ids = VALUE()) != NULL;
        else if (cli_is(f, "-n", "--n-predict")) {
            if (!VALUE() || !cli_int_flag("run", f, v, -1, LC_CONTEXT_MAX_TOKENS, &r->n_predict)) return CLI_USAGE;
        }
        else if (cli_is(f, NULL, "--tokens")) r->print_ids = true;
        else if (cli_is(f, NULL, "--ignore-eos")) r->ignore_eos = true;
        else if (cli_is(f, NULL, "--sp")) r->spc.on = true;
        else if (cli_is(f, NULL, "--no-bos")) r->no_bos = true;
        else if (cli_is(f, NULL, "--session") || cli_is(f, NULL, "--prompt-cache")) ok = (r->session = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--prompt-cache-ro")) {
            ok = (r->session = VALUE()) != NULL;
            r->session_ro = true;
        } else if (cli_is(f, NULL, "--prompt-cache-all"))
            cli_error("run", "note: --prompt-cache-all: the session always holds the prompt and the generated tokens");
        else if (cli_is(f, "-r", "--reverse-prompt")) {
            if (!VALUE() || !cli_stops_add(&r->stops, "run", f, v)) return CLI_USAGE;
        } else if (cli_is(f, "-sys", "--system-prompt") || cli_is(f, "-sysf", "--system-prompt-file")) {
            cli_error("run", "%s is a chat option: longctx chat %s ... (run evaluates the prompt as given)", f, f);
            return CLI_USAGE;
        } else if (lc_sampler_is_option(f) || cli_is(f, "-s", NULL)) {
            ok = VALUE() != NULL;
            if (ok && lc_sampler_apply_option(&r->sp, strcmp(f, "-s") == 0 ? "--seed" : f, v, &err) != LC_OK) {
                cli_error("run", "%s", err.msg);
                return CLI_USAGE;
            }
        } else {
            return cli_unknown_option("run", f, usage);
        }
#undef VALUE
        if (!ok) {
            cli_error("run", "bad or missing value for %s%s%s", f, v ? ": " : "", v ? v : "");
            return CLI_USAGE;
        }
    }
    if (!r->rf.model_path) {
        cli_error("run", "no model (-m MODEL)");
        usage(stderr);
        return CLI_USAGE;
    }
    if ((r->prompt != NULL) + (r->prompt_file != NULL) + (r->prompt_ids != NULL) > 1) {
        cli_error("run", "give one of -p, -f and --prompt-tokens");
        return CLI_USAGE;
    }
    if (lc_sampler_params_validate(&r->sp, &err) != LC_OK) {
        cli_error("run", "%s", err.msg);
        return CLI_USAGE;
    }
    if (r->stops.n > 0 && r->print_ids) {
        cli_error("run", "-r matches the generated text: it cannot go with --tokens");
        return CLI_USAGE;
    }
    if (cli_grammar_active(&r->gr) && r->ignore_eos) {
        cli_error("run", "--ignore-eos cannot go with a grammar: generation ends when the grammar is complete");
        return CLI_USAGE;
    }

    if (r->spc.on && r->session) {
        cli_error("run", "--sp cannot go with --session (the cache is spread over the ranks)");
        return CLI_USAGE;
    }
    return -1;
}

int cmd_run(int argc, char **argv) {
    run_args ra;
    run_args_init(&ra);
    const int prc = parse_args(&ra, argc, argv);
    if (prc >= 0) return prc;
    lc_rope_config rope;
    memset(&rope, 0, sizeof rope);
    lc_error err;

    const int sprc = cli_sp_begin(&ra.spc, "run");
    if (sprc != CLI_OK) return sprc;
    lc_model *m = NULL;
    if (cli_sp_load_model(&ra.spc, &ra.rf, &m, "run") != CLI_OK) {
        cli_sp_end(&ra.spc);
        return CLI_FAIL;
    }
    int rc = CLI_FAIL;
    lc_context *ctx = NULL;
    lc_sampler *sampler = NULL;
    int32_t *ids = NULL, *gen = NULL;
    char *text = NULL, *text_out = NULL;
    int64_t n_ids = 0;

    cli_runtime_default_ctx(&ra.rf, m, "run");
    if (cli_runtime_rope(&ra.rf, m, &rope, "run") != CLI_OK) {
        rc = CLI_USAGE;
        goto done;
    }

    const lc_tokenizer *tok = m->tokenizer;
    const int32_t bos = tok && lc_tokenizer_bos(tok) >= 0 ? lc_tokenizer_bos(tok) : 1;
    int32_t eos = tok ? lc_tokenizer_eos(tok) : (strcmp(m->format, "llama2c") == 0 ? 2 : -1);
    if (ra.ignore_eos) eos = -1;
    if (!tok && m->tokenizer_note[0]) cli_error("run", "note: the file's tokenizer is not used: %s", m->tokenizer_note);
    if (!tok && ra.stops.n > 0) {
        cli_error("run", "-r matches the generated text: the model has no tokenizer (-z TOKENIZER.bin)");
        rc = CLI_USAGE;
        goto done;
    }
    if (!tok && !ra.print_ids) {
        if (!ra.json) cli_error("run", "note: the model has no tokenizer (-z TOKENIZER.bin): printing token ids");
        ra.print_ids = true;
    }

    /* The prompt as token ids. */
    size_t text_len = 0;
    if (ra.prompt_file) {
        text = read_file(ra.prompt_file, &text_len);
        if (!text) goto done;
        ra.prompt = text;
    } else if (ra.prompt) {
        text_len = strlen(ra.prompt);
    }
    if (ra.prompt_ids) {
        ids = parse_ids(ra.prompt_ids, &n_ids);
        if (!ids) {
            cli_error("run", "--prompt-tokens: expected comma-separated non-negative ids");
            rc = CLI_USAGE;
            goto done;
        }
    } else if (ra.prompt && text_len > 0) {
        if (!tok) {
            cli_error("run", "the model has no tokenizer: give -z TOKENIZER.bin or --prompt-tokens");
            rc = CLI_USAGE;
            goto done;
        }
        int64_t need = 0;
        lc_status st = lc_tokenizer_encode(tok, ra.prompt, text_len, !ra.no_bos, NULL, 0, &need, &err);
        if (st != LC_OK && st != LC_ERR_TOO_LARGE) {
            cli_fail("run", &err);
            goto done;
        }
        ids = malloc((size_t)(need > 0 ? need : 1) * sizeof(int32_t));
        if (!ids || lc_tokenizer_encode(tok, ra.prompt, text_len, !ra.no_bos, ids, need, &n_ids, &err) != LC_OK) {
            if (ids) cli_fail("run", &err);
            goto done;
        }
    }
    if (n_ids == 0) { /* no prompt: start from BOS */
        free(ids);
        ids = malloc(sizeof(int32_t));
        if (!ids) goto done;
        ids[0] = bos;
        n_ids = 1;
    }

    for (int64_t i = 0; i < n_ids; i++)
        if (ids[i] >= m->cfg.vocab_size) {
            cli_error("run", "prompt token %d is outside the vocabulary (0..%d)", ids[i], m->cfg.vocab_size - 1);
            rc = CLI_USAGE;
            goto done;
        }
    if (ra.rf.keep_prompt) ra.rf.co.kv_n_keep = n_ids; /* --keep -1 */
    {
        const lc_status cst = lc_context_create(m, &ra.rf.co, &ctx, &err);
        if (cli_sp_attach(&ra.spc, ctx, cst, &err, "run") != CLI_OK) goto done;
    }
    if (lc_sampler_create(&ra.sp, m->cfg.vocab_size, &sampler, &err) != LC_OK) {
        cli_fail("run", &err);
        goto done;
    }
    for (int64_t i = 0; i < n_ids; i++) lc_sampler_accept(sampler, ids[i], NULL);
    if (cli_grammar_active(&ra.gr)) {
        rc = cli_grammar_setup(&ra.gr, tok, eos >= 0 ? &eos : NULL, eos >= 0 ? 1 : 0, sampler, "run");
        if (rc != CLI_OK) goto done;
        rc = CLI_FAIL;
    }

    {
        char sdesc[160];
        const lc_attn_params *ap = lc_context_attn(ctx);
        fprintf(stderr, "longctx run: %s (%s, %lld params), ctx %lld, batch %lld, %d threads, attn %s, kv %s/%s, %s\n",
                ra.rf.model_path, m->format, (long long)lc_model_n_params(&m->cfg), (long long)lc_context_n_ctx(ctx),
                (long long)lc_context_n_batch(ctx), lc_context_n_threads(ctx), lc_attn_method_name(ap->method),
                lc_dtype_name(lc_context_k_type(ctx)), lc_dtype_name(lc_context_v_type(ctx)),
                lc_sampler_describe(&ra.sp, sdesc, sizeof sdesc));
    }

    int64_t reused = 0; /* --session: before anything is printed, as it may refuse */
    if (ra.session) {
        reused = cli_run_session_load(ctx, ra.session, ids, n_ids);
        if (reused < 0) goto done;
    }
    run_state rs = {.sampler = sampler,
                    .tok = tok,
                    .ids = ra.print_ids,
                    .prev = ids[n_ids - 1],
                    .keep = ra.session != NULL || ra.json,
                    .json = ra.json,
                    .stops = &ra.stops};
    if (!ra.print_ids && !ra.json && ra.prompt && text_len > 0) { /* echo the prompt as given */
        fwrite(ra.prompt, 1, text_len, stdout);
        fflush(stdout);
    }
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = ra.n_predict;
    go.eos_id = eos;
    go.sample = sample_cb;
    go.sample_user = &rs;
    cli_sp_wrap_sample(&ra.spc, &go.sample, &go.sample_user);
    go.on_token = token_cb;
    go.token_user = &rs;
    lc_generate_result res;
    lc_status st = lc_generate(ctx, ids + reused, n_ids - reused, &go, NULL, 0, &res, &err);
    gen = rs.gen;
    text_out = rs.text;
    if (!ra.json) printf("\n");
    fflush(stdout);
    if (st != LC_OK) {
        cli_fail("run", &err);
        goto done;
    }

    lc_context_timings tm;
    lc_context_get_timings(ctx, &tm);
    if (ra.json) print_json(&rs, ra.rf.model_path, ids, n_ids, reused, &res, &tm);
    double total = tm.t_matmul + tm.t_attn + tm.t_other;
    fprintf(stderr, "prompt:   %6lld tokens in %8.3f s  (%9.1f tok/s)\n", (long long)res.n_prompt, res.t_prompt,
            res.t_prompt > 0 ? (double)res.n_prompt / res.t_prompt : 0.0);
    fprintf(stderr, "generate: %6lld tokens in %8.3f s  (%9.1f tok/s)\n", (long long)res.n_generated, res.t_generate,
            res.t_generate > 0 ? (double)res.n_generated / res.t_generate : 0.0);
    if (total > 0)
        fprintf(stderr, "time: matmul %.1f%%, attention %.1f%%, other %.1f%% of %.3f s\n", 100 * tm.t_matmul / total,
                100 * tm.t_attn / total, 100 * tm.t_other / total, total);
    cli_sp_report(&ra.spc, res.n_prompt + res.n_generated);
    if (rs.stopped_at) fprintf(stderr, "stopped: reverse prompt '%s'\n", rs.stopped_at);
    else if (res.stop == LC_STOP_CONTEXT_FULL) fprintf(stderr, "stopped: %s\n", res.message);
    else fprintf(stderr, "stopped: %s\n", lc_stop_reason_name(res.stop));
    if (ra.gr.s && !lc_grammar_state_ended(ra.gr.s))
        fprintf(stderr, "note: stopped before the grammar was complete (raise -n)\n");
    rc = ra.session && !ra.session_ro ? cli_run_session_save(ctx, ra.session, ids, n_ids, gen, rs.n_gen) : CLI_OK;

done:
    free(gen);
    free(text_out);
    cli_stops_free(&ra.stops);
    lc_sampler_free(sampler);
    cli_grammar_free(&ra.gr);
    cli_sp_end(&ra.spc); /* detaches from ctx: before it is freed */
    lc_context_free(ctx);
    free(ids);
    free(text);
    lc_model_free(m);
    return rc;
}
