/* longctx doc FILE — a task over a document of any length: one pass when it
 * fits the context, else map-reduce, refine or hierarchical over chunks cut
 * at paragraph and sentence ends. The document is read as a stream. A thin
 * layer over lc_doc_run (include/longctx/app.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/util.h"
#include "longctx/app.h"
#include "longctx/json.h"
#include "llama_flags.h"
#include "runtime_flags.h"

static const char synopsis[] =
    "usage: longctx doc FILE -m MODEL [--task TASK] [options]      (FILE - reads stdin)\n\n"
    "Runs a task over a UTF-8 text or Markdown document of any length (Chinese included). When it\n"
    "fits the context, in one pass; otherwise by a strategy over chunks that end at paragraph or\n"
    "sentence ends (. ! ? 。！？), each within the token budget the context, the prompt and -n leave.\n\n";

static bool opt_strategy(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (lc_doc_strategy_parse(v, o->dst)) return true;
    cli_error(cmd, "%s: '%s' is not auto, single, map-reduce, refine or hierarchical", name, v);
    return false;
}

typedef struct {
    bool verbose;
    cli_progress *progress;
} chunk_ctx;

static bool on_chunk(void *user, const lc_doc_chunk *c) {
    chunk_ctx *cc = user;
    if (cc->verbose) {
        cli_progress_done(cc->progress);
        fprintf(stderr, "[chunk %lld: bytes %lld-%lld, %lld tokens, %.2f s] %s\n", (long long)c->index + 1,
                (long long)c->start, (long long)c->end, (long long)c->n_tokens, c->seconds, c->result);
    }
    return true;
}


static void print_start(const char *path, const char *task, const lc_doc_opts *o, const lc_doc_templates *tpl,
                        const lc_context *ctx) {
    char desc[128];
    const bool custom = tpl->instruction && o->task == LC_DOC_SUMMARIZE && strcmp(task, "summarize");
    fprintf(stderr, "longctx doc: %s, task %s, strategy %s, context %lld (%s), -n %lld\n", path,
            custom ? "custom" : lc_doc_task_name(o->task), lc_doc_strategy_name(o->strategy),
            (long long)lc_context_n_ctx(ctx), lc_context_kv_describe(ctx, desc, sizeof desc), (long long)o->n_predict);
}

int cmd_doc(int argc, char **argv) {
    cli_runtime_flags rf;
    cli_runtime_flags_init(&rf);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    bool json = false, verbose = false, sampling = false; /* any sampler flag turns sampling on (default greedy) */
    const char *path = NULL, *task = "summarize", *tpl_path = NULL;
    int n_path = 0;
    lc_doc_opts o;
    lc_doc_opts_init(&o);
    lc_error err;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("--task", "TASK", &task,
                "summarize (default), clauses (key clauses), qa (with --question),\n"
                "entities; any other text is taken as the instruction itself"),
        CLI_STR("--question", "TEXT", &o.question, "the question for --task qa"),
        CLI_FN("--strategy", "S", opt_strategy, &o.strategy,
               "auto (default: one pass if it fits, else map-reduce), single,\n"
               "map-reduce, refine, hierarchical"),
        CLI_I64("-n|--n-predict", "N", &o.n_predict, 1, CLI_INT_LIMIT, "tokens per answer (default 256)"),
        CLI_I64("--overlap", "N", &o.overlap, 0, CLI_INT_LIMIT,
                "map-reduce: tokens of whole sentences repeated between chunks\n"
                "(default: a tenth of the chunk budget)"),
        CLI_I64("--chunk-tokens", "N", &o.chunk_tokens, 1, CLI_INT_LIMIT, "cap on a chunk's tokens (default: all the budget)"),
        CLI_STR("--template", "FILE", &tpl_path,
                "prompt templates: sections ## instruction, ## single, ## map,\n"
                "## combine, ## refine, ## summary with {instruction} {question}\n"
                "{text} {part} {answer} {answers} (a file without sections is the\n"
                "instruction)"),
        CLI_SET("--json", &json,
                "one JSON object on stdout: every chunk's range, tokens and result,\n"
                "and the final answer"),
        CLI_SET("--verbose", &verbose, "each chunk's result on stderr as it comes"),
        CLI_SECTION("model and runtime:"),
        CLI_MODEL_OPTS(&rf),
        CLI_RUNTIME_OPTS(&rf),
        CLI_LLAMA_OPTS(&rf.co.attn, &rf.no_mmap),
        CLI_SECTION("sampling (default greedy; any of these turns the sampler on):"),
        {.kind = CLI_OPT_FAMILY, .help = lc_sampler_options_help(), .dst = &sp, .fn = cli_opt_sampler,
         .match = lc_sampler_is_option, .given = &sampling},
        CLI_ROPE_OPTS(&rf),
    };
    const cli_opt_spec spec = CLI_SPEC_POS("doc", synopsis, NULL, opts, &path, 1, &n_path);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!path) {
        cli_error("doc", "no document (longctx doc FILE ...)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    lc_doc_templates tpl;
    memset(&tpl, 0, sizeof tpl);
    char *tpl_store = NULL;
    if (lc_doc_task_from_text(task, &o, &tpl, &err) != LC_OK ||
        (sampling && lc_sampler_params_validate(&sp, &err) != LC_OK))
        return cli_error("doc", "%s", err.msg), CLI_USAGE;
    if (tpl_path && lc_doc_templates_load(tpl_path, &tpl, &tpl_store, &err) != LC_OK) return cli_fail("doc", &err);
    o.templates = &tpl;
    lc_model *m = NULL;
    lc_doc_model *dm = NULL;
    lc_doc_result res;
    memset(&res, 0, sizeof res);
    lc_rope_config rope;
    int rc = cli_runtime_load(&rf, &m, &rope, "doc");
    if (rc != CLI_OK) goto done;
    rc = CLI_FAIL;
    if (lc_doc_model_for_model(m, &rf.co, sampling ? &sp : NULL, &dm, &err) != LC_OK) {
        cli_fail("doc", &err);
        goto done;
    }
    cli_progress prog;
    cli_progress_init(&prog);
    chunk_ctx cc = {verbose, &prog};
    o.progress = cli_progress_cb;
    o.progress_user = &prog;
    o.on_chunk = on_chunk;
    o.chunk_user = &cc;
    const lc_context *ctx = lc_doc_model_context(dm);
    print_start(path, task, &o, &tpl, ctx);
    const lc_status st = lc_doc_run_file(dm, path, &o, &res, &err);
    cli_progress_done(&prog);
    if (st != LC_OK) {
        cli_fail("doc", &err);
        goto done;
    }
    fputs("longctx doc: ", stderr);
    lc_doc_result_print_summary(stderr, &res);
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_doc_result_write_json(&w, path, task, &o, &res, lc_context_n_ctx(ctx));
        lc_json_finish(&w);
    } else {
        printf("%s\n", res.answer);
    }
    rc = CLI_OK;
done:
    lc_doc_result_free(&res);
    lc_doc_model_free(dm); /* its context and sampler */
    lc_model_free(m);
    free(tpl_store);
    return rc;
}
