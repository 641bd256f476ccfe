/* longctx run — generate text with a model: prompt in, tokens streamed out,
 * throughput and the time split on stderr. A thin layer over
 * include/longctx/text.h (lc_generate_text_tokens: detokenizing, stop
 * strings, the generated ids and text), runtime.h's prompt cache
 * (lc_session_resume / lc_session_save_generation) and the sampler. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/util.h"
#include "grammar_flags.h"
#include "llama_flags.h"
#include "runtime_flags.h"
#include "opt.h"
#include "sp_cli.h"
#include "longctx/json.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/sys.h"
#include "longctx/text.h"

#define PROMPT_FILE_MAX ((size_t)64 << 20)

static const char synopsis[] =
    "usage: longctx run -m MODEL [options]\n\n"
    "Generate from a prompt (or from BOS) and stream the text to stdout; prompt and generation\n"
    "throughput and the time split (matmul / attention / other) go to stderr.\n\n";

/* A decoded piece: streamed to stdout. */
static bool print_piece(void *user, const char *piece, size_t n) {
    (void)user;
    fwrite(piece, 1, n, stdout);
    fflush(stdout);
    return true;
}

/* --tokens: the ids as they come. */
static bool print_id(void *user, int32_t id) {
    (void)user;
    printf("%d ", id);
    fflush(stdout);
    return true;
}

/* What the command line asks for. */
typedef struct {
    const char *prompt, *prompt_file, *prompt_ids, *session;
    size_t prompt_len;
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
    cli_grammar_init(&r->gr);
}

static bool opt_prompt_cache_all(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o, (void)v;
    cli_error(cmd, "note: %s: the session always holds the prompt and the generated tokens", name);
    return true;
}

static bool opt_chat_only(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o, (void)v;
    cli_error(cmd, "%s is a chat option: longctx chat %s ... (run evaluates the prompt as given)", name, name);
    return false;
}

/* The options' relations, once all are parsed. */
static const char *args_conflict(const run_args *r) {
    if ((r->prompt != NULL) + (r->prompt_file != NULL) + (r->prompt_ids != NULL) > 1)
        return "give one of -p, -f and --prompt-tokens";
    if (r->stops.n > 0 && r->print_ids) return "-r matches the generated text: it cannot go with --tokens";
    if (cli_grammar_active(&r->gr) && r->ignore_eos)
        return "--ignore-eos cannot go with a grammar: generation ends when the grammar is complete";
    if (r->spc.on && r->session) return "--sp cannot go with --session (the cache is spread over the ranks)";
    if (r->spc.kv_budget && !r->spc.on) return "--kv-budget goes with --sp (it bounds each rank's KV shard)";
    return NULL;
}

/* Parse and check the flags: -1 to go on, else the exit status (CLI_OK
 * after --help, CLI_USAGE after a message). */
static int parse_args(run_args *r, int argc, char **argv) {
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_MODEL_OPTS(&r->rf),
        CLI_STR("-p|--prompt", "TEXT", &r->prompt, "the prompt (default: start from BOS)"),
        CLI_STR("-f|--file", "PATH", &r->prompt_file, "read the prompt from a file"),
        CLI_STR("--prompt-tokens", "LIST", &r->prompt_ids, "the prompt as token ids, e.g. 1,403,22 (no tokenizer needed)"),
        CLI_I64("-n|--n-predict", "N", &r->n_predict, -1, LC_CONTEXT_MAX_TOKENS,
                "tokens to generate (default 128; -1: until EOS or the context is full)"),
        CLI_RUNTIME_OPTS(&r->rf),
        CLI_FN("-r|--reverse-prompt", "S", cli_opt_stop, &r->stops,
               "stop when the generated text contains S (printed with it; repeatable)"),
        CLI_SET("--json", &r->json,
                "print one JSON object on stdout instead of the text: the prompt's and\n"
                "generated tokens, the text, why it stopped and the timings"),
        CLI_SET("--tokens", &r->print_ids, "print the generated token ids instead of text"),
        CLI_SET("--ignore-eos", &r->ignore_eos, "do not stop at the end-of-sequence token"),
        CLI_SET("--no-bos", &r->no_bos, "do not put BOS before the prompt"),
        CLI_STR("--session|--prompt-cache", "FILE", &r->session,
                "reuse the KV cache saved in FILE for the prompt's common prefix,\n"
                "and save the cache there afterwards (refused if foreign or corrupt;\n"
                "a file saved with another -c is loaded when its tokens fit)"),
        {.kind = CLI_OPT_STR, .names = "--prompt-cache-ro", .meta = "FILE", .dst = &r->session, .given = &r->session_ro,
         .help = "like --prompt-cache: load, never save"},
        CLI_FN("--prompt-cache-all", NULL, opt_prompt_cache_all, NULL,
               "llama.cpp's; taken with a note (the session always holds everything)"),
        CLI_SET("--sp", &r->spc.on,
                "sequence parallel: under mpirun -np P each rank holds 1/P of the KV\n"
                "cache and attention is combined over MPI (docs/distributed.md);\n"
                "without mpirun it runs as P = 1; the prompt by ring attention"),
        CLI_SP_KV_BUDGET(&r->spc.kv_budget),
        CLI_FN("-sys|--system-prompt|-sysf|--system-prompt-file", "TEXT", opt_chat_only, NULL,
               "chat's system prompt: refused here (longctx chat has it)"),
        CLI_LLAMA_OPTS(&r->rf.co.attn, &r->rf.no_mmap),
        CLI_SECTION("structured output:"),
        CLI_GRAMMAR_OPTS(&r->gr),
        CLI_SAMPLER_OPTS(&r->sp),
        CLI_ROPE_OPTS(&r->rf),
    };
    const cli_opt_spec spec = CLI_SPEC("run", synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!r->rf.model_path) {
        cli_error("run", "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    const char *conflict = args_conflict(r);
    lc_error err;
    if (!conflict && lc_sampler_params_validate(&r->sp, &err) != LC_OK) conflict = err.msg;
    if (conflict) cli_error("run", "%s", conflict);
    return conflict ? CLI_USAGE : -1;
}

/* The prompt as token ids (malloc'd into *ids): --prompt-tokens, else the
 * text of -p or -f encoded, else BOS alone. CLI_OK, CLI_USAGE or CLI_FAIL
 * after a message. The text read from -f is *text (owned by the caller), and
 * r->prompt points at it. */
static int prompt_ids(run_args *r, const lc_model *m, char **text, int32_t **ids, int64_t *n_ids) {
    lc_error err;
    if (r->prompt_file) {
        if (lc_read_file(r->prompt_file, PROMPT_FILE_MAX, text, &r->prompt_len, &err) != LC_OK)
            return cli_error("run", "%s", err.msg), CLI_FAIL;
        r->prompt = *text;
    } else if (r->prompt) {
        r->prompt_len = strlen(r->prompt);
    }
    const lc_status st =
        r->prompt_ids ? lc_tokens_parse(r->prompt_ids, m->cfg.vocab_size, ids, n_ids, &err)
                      : lc_text_prompt_tokens(m, r->prompt, r->prompt_len, !r->no_bos, ids, n_ids, &err);
    if (st == LC_OK) return CLI_OK;
    cli_error("run", "%s%s", r->prompt_ids ? "--prompt-tokens: " : "", err.msg);
    return st == LC_ERR_INVALID_ARG ? CLI_USAGE : CLI_FAIL;
}

/* Without a tokenizer: -r is refused, ids are printed. CLI_OK or CLI_USAGE. */
static int without_tokenizer(run_args *r, const lc_model *m) {
    if (m->tokenizer) return CLI_OK;
    if (m->tokenizer_note[0]) cli_error("run", "note: the file's tokenizer is not used: %s", m->tokenizer_note);
    if (r->stops.n > 0) {
        cli_error("run", "-r matches the generated text: the model has no tokenizer (-z TOKENIZER.bin)");
        return CLI_USAGE;
    }
    if (!r->print_ids && !r->json) cli_error("run", "note: the model has no tokenizer (-z TOKENIZER.bin): printing token ids");
    r->print_ids = true;
    return CLI_OK;
}

static void print_setup(const run_args *r, const lc_model *m, const lc_context *ctx) {
    char cdesc[160], sdesc[160];
    fprintf(stderr, "longctx run: %s (%s, %lld params), %s, %s\n", r->rf.model_path, m->format,
            (long long)lc_model_n_params(&m->cfg), lc_context_describe(ctx, cdesc, sizeof cdesc),
            lc_sampler_describe(&r->sp, sdesc, sizeof sdesc));
}

static void print_summary(const run_args *r, const lc_text_result *tr, const lc_context_timings *tm) {
    lc_text_result_print_summary(stderr, tr, r->stops.s, tm);
    cli_sp_report(&r->spc, tr->gen.n_prompt + tr->gen.n_generated);
    if (r->gr.c && !lc_grammar_state_ended(lc_grammar_constraint_state(r->gr.c)))
        fprintf(stderr, "note: stopped before the grammar was complete (raise -n)\n");
}

/* What one run holds; run_free releases it. */
typedef struct {
    lc_model *m;
    lc_context *ctx;
    lc_sampler *sampler;
    int32_t *ids;
    int64_t n_ids;
    char *text;
    lc_text_result res;
} run_hold;

static void run_free(run_args *r, run_hold *h) {
    lc_text_result_free(&h->res);
    cli_grammar_free(&r->gr); /* detaches from the sampler: before it is freed */
    lc_sampler_free(h->sampler);
    cli_sp_end(&r->spc); /* detaches from ctx: before it is freed */
    lc_context_free(h->ctx);
    free(h->ids);
    free(h->text);
    lc_model_free(h->m);
}

/* Context, sampler and grammar for the prompt in h. CLI_OK or an exit status after a message. */
static int run_prepare(run_args *r, run_hold *h) {
    lc_error err;
    if (r->rf.keep_prompt) r->rf.co.kv_n_keep = h->n_ids; /* --keep -1 */
    const lc_status cst = lc_context_create(h->m, &r->rf.co, &h->ctx, &err);
    if (cli_sp_attach(&r->spc, h->ctx, cst, &err, "run") != CLI_OK) return CLI_FAIL;
    if (lc_sampler_create(&r->sp, h->m->cfg.vocab_size, &h->sampler, &err) != LC_OK) return cli_fail("run", &err);
    for (int64_t i = 0; i < h->n_ids; i++) lc_sampler_accept(h->sampler, h->ids[i], NULL);
    const int32_t eos = lc_model_eos(h->m);
    return cli_grammar_setup(&r->gr, h->m->tokenizer, eos >= 0 ? &eos : NULL, eos >= 0 ? 1 : 0, h->sampler, "run");
}

/* --session: the prompt's prefix the file holds; -1 after a message. */
static int64_t session_resume(const run_args *r, run_hold *h) {
    int64_t reused = 0, n_hist = -1;
    lc_error err;
    if (!r->session) return 0;
    if (lc_session_resume(h->ctx, r->session, h->ids, h->n_ids, &reused, &n_hist, &err) != LC_OK)
        return cli_fail("run", &err), -1;
    if (n_hist >= 0)
        fprintf(stderr, "longctx run: session %s: %lld of %lld prompt tokens reused (%lld in the file)\n", r->session,
                (long long)reused, (long long)h->n_ids, (long long)n_hist);
    return reused;
}

static int session_save(const run_args *r, const run_hold *h) {
    lc_error err;
    int64_t n_saved = 0;
    if (!r->session || r->session_ro) return CLI_OK;
    if (lc_session_save_generation(h->ctx, r->session, h->ids, h->n_ids, h->res.tokens, h->res.n_tokens, &n_saved,
                                   &err) != LC_OK)
        return cli_fail("run", &err);
    fprintf(stderr, "longctx run: session saved to %s (%lld tokens)\n", r->session, (long long)n_saved);
    return CLI_OK;
}

/* Generate after the prompt (past what --session reused); CLI_OK or an exit status. */
static int run_generate(run_args *r, run_hold *h) {
    lc_error err;
    const int64_t reused = session_resume(r, h); /* before anything is printed, as it may refuse */
    if (reused < 0) return CLI_FAIL;
    if (!r->print_ids && !r->json && r->prompt && r->prompt_len > 0) { /* echo the prompt as given */
        fwrite(r->prompt, 1, r->prompt_len, stdout);
        fflush(stdout);
    }
    lc_text_opts to;
    lc_text_opts_init(&to);
    to.n_predict = r->n_predict;
    to.stop_at_eos = !r->ignore_eos;
    to.on_piece = r->print_ids || r->json ? NULL : print_piece;
    to.on_token = r->print_ids && !r->json ? print_id : NULL;
    to.stop = r->stops.s;
    to.n_stop = r->stops.n;
    to.sample = lc_sample_with_sampler;
    to.sample_user = h->sampler;
    cli_sp_wrap_text(&r->spc, &to); /* --sp: the prompt by ring prefill, rank 0 samples */
    const lc_status st = lc_generate_text_tokens(h->ctx, h->ids, h->n_ids, reused, &to, &h->res, &err);
    if (!r->json) printf("\n");
    fflush(stdout);
    if (st != LC_OK) return cli_fail("run", &err);
    lc_context_timings tm;
    lc_context_get_timings(h->ctx, &tm);
    if (r->json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_text_result_write_json(&w, r->rf.model_path, h->ids, h->n_ids, reused, &h->res, !r->print_ids, r->stops.s,
                                  &tm);
        lc_json_finish(&w);
    }
    print_summary(r, &h->res, &tm);
    return session_save(r, h);
}

int cmd_run(int argc, char **argv) {
    run_args ra;
    run_args_init(&ra);
    const int prc = parse_args(&ra, argc, argv);
    if (prc >= 0) return prc;
    if (ra.spc.on) ra.rf.co.kv_external = true; /* each rank allocates its shard only */
    const int sprc = cli_sp_begin(&ra.spc, "run");
    if (sprc != CLI_OK) return sprc;
    run_hold h;
    memset(&h, 0, sizeof h);
    if (cli_sp_load_model(&ra.spc, &ra.rf, &h.m, "run") != CLI_OK) {
        cli_sp_end(&ra.spc);
        return CLI_FAIL;
    }
    lc_rope_config rope;
    memset(&rope, 0, sizeof rope);
    cli_runtime_default_ctx(&ra.rf, h.m, "run");
    int rc = cli_runtime_rope(&ra.rf, h.m, &rope, "run");
    if (rc == CLI_OK) rc = without_tokenizer(&ra, h.m);
    if (rc == CLI_OK) rc = prompt_ids(&ra, h.m, &h.text, &h.ids, &h.n_ids);
    if (rc == CLI_OK) rc = run_prepare(&ra, &h);
    if (rc == CLI_OK) print_setup(&ra, h.m, h.ctx);
    if (rc == CLI_OK) rc = run_generate(&ra, &h);
    run_free(&ra, &h);
    return rc;
}
