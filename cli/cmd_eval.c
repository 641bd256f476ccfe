/* longctx eval — the long-context evaluation suite: passkey and needle-in-a-
 * haystack grids, variable tracking, perplexity against context length,
 * attention retention. A thin layer over include/longctx/eval.h; the task
 * runners are cli/eval_grid.c (retrieval, retention) and eval_ppl.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "eval_common.h"
#include "llama_flags.h"

static const char synopsis[] =
    "usage: longctx eval TASK -m MODEL [options]\n\n"
    "Long-context evaluation of any model longctx loads (docs/eval.md: tasks, scoring, JSON).\n\n"
    "tasks:\n"
    "  passkey    pass-key retrieval: accuracy by context length x needle depth (heat map)\n"
    "  niah       needle in a haystack, RULER variants (--variant single|multikey|multivalue|multiquery)\n"
    "  vt         variable tracking (RULER): --chains, --hops; accuracy and recall by length\n"
    "  ppl        perplexity against context length on a text (-f) or token file, sliding window\n"
    "  retention  attention mass per layer and head by key distance at probe positions, and\n"
    "             accuracy by needle depth (lost in the middle), from passkey samples\n\n";

static const char epilog[] =
    "examples:\n"
    "  longctx eval passkey -m model.gguf --lengths 1K,2K,4K --depths 5 --trials 3 --svg niah.svg\n"
    "  longctx eval niah -m model.gguf --variant multikey --keys 8 --lengths 4K --json\n"
    "  longctx eval ppl -m model.gguf -f book.txt --lengths 256,512,1K,2K --attn flash,window:256 --svg ppl.svg\n"
    "  longctx eval passkey -m model.gguf --lengths 8K --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 2048\n"
    "  longctx eval retention -m model.gguf --lengths 2K --depths 10 --svg retention.svg\n";

/* The task options as given (-1: not given; the task's default). */
typedef struct {
    int digits, keys, values, queries, chains, hops;
} task_flags;

/* --depths N|LIST (lc_eval_depths_parse; entry dst: eval_args). */
static bool opt_depths(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)name;
    eval_args *a = o->dst;
    lc_error err;
    if (lc_eval_depths_parse(v, a->depths, &a->n_depths, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

static bool parse_task(const char *name, eval_args *a) {
    static const struct {
        const char *name;
        eval_task task;
        lc_task_kind kind;
    } tasks[] = {{"passkey", EVAL_PASSKEY, LC_TASK_PASSKEY}, {"niah", EVAL_NIAH, LC_TASK_MULTIKEY},
                 {"vt", EVAL_VT, LC_TASK_VT},                {"ppl", EVAL_PPL, LC_TASK_FILLER},
                 {"retention", EVAL_RETENTION, LC_TASK_PASSKEY}};
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(name, tasks[i].name) == 0) {
            a->task = tasks[i].task;
            a->task_name = tasks[i].name;
            lc_task_spec_init(&a->spec, tasks[i].kind, 1);
            return true;
        }
    return false;
}

/* The task's defaults, then the options given. */
static bool apply_task_flags(eval_args *a, const task_flags *t) {
    int32_t *const dst[] = {&a->spec.digits, &a->spec.n_keys,   &a->spec.n_values,
                            &a->spec.n_queries, &a->spec.n_chains, &a->spec.n_hops};
    const int given[] = {t->digits, t->keys, t->values, t->queries, t->chains, t->hops};
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
        if (given[i] >= 0) *dst[i] = given[i];
    lc_error err;
    if (a->task == EVAL_NIAH && lc_eval_niah_variant(&a->spec, a->variant, t->keys >= 0, &err) != LC_OK) {
        cli_error(EVAL_CMD, "%s", err.msg); /* RULER's niah_single, multikey, multivalue, multiquery */
        return false;
    }
    if (a->spec.n_queries > a->spec.n_keys) {
        cli_error(EVAL_CMD, "--queries %d is more than the keys (%d)", a->spec.n_queries, a->spec.n_keys);
        return false;
    }
    return true;
}

/* Options that belong to other tasks: why they are refused, or NULL. */
static const char *misplaced(const eval_args *a, const task_flags *t) {
    const bool ppl = a->task == EVAL_PPL;
    if (ppl && (a->haystack_path || a->n_depths >= 0 || a->n_probes))
        return "ppl takes no --haystack, --depths or --probes";
    if (!ppl && (a->text_path || a->tokens_path || a->stride || a->max_tokens))
        return "-f, --tokens-file, --stride and --max-tokens are for ppl";
    if (a->task != EVAL_RETENTION && a->n_probes) return "--probes is for retention";
    if (!ppl && (a->spc.on || a->spc.kv_budget)) return "--sp and --kv-budget are for ppl";
    if (a->spc.kv_budget && !a->spc.on) return "--kv-budget goes with --sp (it bounds each rank's KV shard)";
    if (a->spc.on && a->rf.kv_spec) return "--sp keeps the whole context (no --kv-policy)";
    if (a->task != EVAL_NIAH && (a->variant || t->keys >= 0)) return "--variant and --keys are for niah";
    if (ppl && a->svg_depth_path) return "--svg-depth is for the retrieval tasks";
    return NULL;
}

/* What the task needs and its options allow: why not, or NULL. */
static const char *unfit(const eval_args *a) {
    const bool ppl = a->task == EVAL_PPL;
    if (a->task == EVAL_VT && (a->svg_path || a->svg_depth_path) && a->n_depths < 0)
        return "vt places its chains at random depths: give --depths for a heat map";
    if (!ppl && a->rf.co.attn && strchr(a->rf.co.attn, ','))
        return "a list of --attn methods is for ppl; give one method";
    if (ppl && !a->text_path == !a->tokens_path) return "ppl needs one of -f FILE and --tokens-file FILE";
    return NULL;
}

/* ppl --rope-scaling X,Y: a list of methods, taken out of the RoPE flags
 * (the rest apply to every method). */
static void take_scaling_list(eval_args *a) {
    cli_runtime_flags *f = &a->rf;
    for (int i = 0; a->task == EVAL_PPL && i < f->n_rope; i++)
        if (cli_is(f->rope_names[i], NULL, "--rope-scaling") && strchr(f->rope_values[i], ',')) {
            a->scaling_list = f->rope_values[i];
            memmove(&f->rope_names[i], &f->rope_names[i + 1], (size_t)(f->n_rope - i - 1) * sizeof f->rope_names[0]);
            memmove(&f->rope_values[i], &f->rope_values[i + 1], (size_t)(f->n_rope - i - 1) * sizeof f->rope_values[0]);
            f->n_rope--;
            i--; /* the next flag moved here */
        }
}

/* Options that belong to other tasks are refused rather than ignored. */
static bool task_fits(const eval_args *a, const task_flags *t) {
    const char *why = misplaced(a, t);
    if (!why) why = unfit(a);
    if (why) {
        cli_error(EVAL_CMD, "%s", why);
        return false;
    }
    for (int k = 0; a->task != EVAL_PPL && k < a->n_lengths; k++)
        if (a->lengths[k] > LC_TASK_MAX_TOKENS) {
            cli_error(EVAL_CMD, "--lengths: %lld is beyond the task generator's %lld tokens", (long long)a->lengths[k],
                      (long long)LC_TASK_MAX_TOKENS);
            return false;
        }
    return true;
}

/* Parse the command line into a: -1 to go on, else the exit status. */
static int parse_args(eval_args *a, int argc, char **argv) {
    cli_runtime_flags_init(&a->rf);
    a->seed = 1;
    a->trials = 1;
    a->timings = true;
    a->prefix_reuse = true;
    a->n_depths = -1;
    a->margin = 4;
    task_flags t = {-1, -1, -1, -1, -1, -1};
    const char *task = NULL;
    int n_task = 0;
    const cli_opt opts[] = {
        CLI_SECTION("model and runtime:"),
        CLI_MODEL_OPTS(&a->rf),
        CLI_RUNTIME_OPTS(&a->rf),
        CLI_LLAMA_OPTS(&a->rf.co.attn, &a->rf.no_mmap),
        CLI_ROPE_OPTS(&a->rf),
        CLI_SECTION("output:"),
        CLI_SET("--json", &a->json, "one JSON object on stdout (tables and progress go to stderr)"),
        CLI_STR("--csv", "FILE", &a->csv_path, "the cells as CSV"),
        CLI_STR("--svg", "FILE", &a->svg_path,
                "the picture: heat map (passkey, niah), ppl by length per method (ppl),\n"
                "attention mass by distance per layer (retention)"),
        CLI_STR("--svg-depth", "FILE", &a->svg_depth_path, "accuracy by needle depth (passkey, niah, retention)"),
        CLI_CLEAR("--no-timings", &a->timings, "leave wall times out (the output is then identical for a seed)"),
        CLI_SET("-v|--verbose", &a->verbose, "every trial's expected and generated answer on stderr"),
        CLI_SECTION("retrieval (passkey, niah, vt, retention):"),
        CLI_I64_LIST("--lengths", "LIST", a->lengths, &a->n_lengths, LC_EVAL_MAX_LENGTHS, 1,
                     "sample lengths in tokens, e.g. 512,1K,2K (default: powers of two\n"
                     "from 1K to the training context, and that context); ppl: window sizes\n"
                     "(default: -c, else the training context)"),
        CLI_FN("--depths", "N|LIST", opt_depths, a,
               "N evenly spaced needle depths 0..100% (default 10; vt: random), or a\n"
               "list of percentages: 0,25,50,75,100 (one depth: 50%)"),
        CLI_INT("--trials", "N", &a->trials, 1, INT32_MAX, "samples per cell (default 1)"),
        CLI_U64("-s|--seed", "S", &a->seed, 0, CLI_INT_LIMIT, "seed of the samples (default 1)"),
        CLI_STR("--haystack", "FILE", &a->haystack_path, "sentences of FILE as haystack instead of generated filler"),
        CLI_I64("--margin", "N", &a->margin, 0, 4096, "tokens generated beyond the answer's length (default 4)"),
        CLI_INT("--digits", "N", &t.digits, 1, LC_TASK_MAX_DIGITS, "digits of pass keys and values (default 5)"),
        CLI_STR("--variant", "V", &a->variant, "niah: single (default) | multikey | multivalue | multiquery"),
        CLI_INT("--keys", "N", &t.keys, 1, LC_TASK_MAX_KEYS, "niah: needles (default 4)"),
        CLI_INT("--values", "N", &t.values, 1, LC_TASK_MAX_KEYS, "niah: values per needle (default 4)"),
        CLI_INT("--queries", "N", &t.queries, 1, LC_TASK_MAX_KEYS, "niah: keys asked (default 2; at most --keys)"),
        CLI_INT("--chains", "N", &t.chains, 1, LC_TASK_MAX_CHAINS, "vt: chains (default 1)"),
        CLI_INT("--hops", "N", &t.hops, 0, LC_TASK_MAX_HOPS, "vt: assignments after the first (default 4)"),
        CLI_CLEAR("--no-prefix-reuse", &a->prefix_reuse,
                  "evaluate every prompt from scratch (default: keep the prefix the\n"
                  "previous prompt shares with it)"),
        CLI_SECTION("ppl (--attn A,B,... and --rope-scaling X,Y compare methods, one line each):"),
        CLI_STR("-f|--file", "FILE", &a->text_path, "text, tokenized with the model's tokenizer (BOS first)"),
        CLI_STR("--tokens-file", "FILE", &a->tokens_path, "token ids separated by spaces, commas or newlines"),
        CLI_I64("--stride", "S", &a->stride, 1, CLI_INT_LIMIT,
                "window step, 1..W-1 (default W-1: consecutive windows share one token)"),
        CLI_I64("--max-tokens", "N", &a->max_tokens, 2, CLI_INT_LIMIT, "use the first N tokens of the file"),
        CLI_SET("--sp", &a->spc.on,
                "sequence parallel: under mpirun -np P each rank holds 1/P of the KV\n"
                "cache; windows by ring attention, each rank scoring its own rows\n"
                "(docs/distributed.md); without mpirun P = 1"),
        CLI_SP_KV_BUDGET(&a->spc.kv_budget),
        CLI_SECTION("retention:"),
        CLI_I64_LIST("--probes", "LIST", a->probes, &a->n_probes, LC_EVAL_MAX_PROBES, -CLI_INT_LIMIT,
                     "query positions; negative from the end of the prompt (default -1, the\n"
                     "last prompt token, where the answer is retrieved)"),
    };
    const cli_opt_spec spec = CLI_SPEC_POS(EVAL_CMD, synopsis, epilog, opts, &task, 1, &n_task);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!task) {
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    if (!parse_task(task, a)) {
        cli_error(EVAL_CMD, "unknown task '%s' (passkey, niah, vt, ppl, retention)", task);
        return CLI_USAGE;
    }
    take_scaling_list(a);
    return task_fits(a, &t) && apply_task_flags(a, &t) ? -1 : CLI_USAGE;
}

int cmd_eval(int argc, char **argv) {
    eval_args *a = calloc(1, sizeof *a);
    if (!a) return CLI_FAIL;
    int rc = parse_args(a, argc, argv);
    if (rc >= 0) goto done;
    eval_session s;
    if ((rc = cli_sp_begin(&a->spc, EVAL_CMD)) != CLI_OK) goto done;
    rc = eval_session_open(&s, a);
    rc = cli_sp_agree_rc(&a->spc, rc, EVAL_CMD, "cannot load the model (its message is above)");
    if (rc == CLI_OK && a->spc.rank != 0) { /* one output: rank 0's */
        s.table = stdout; /* /dev/null on the other ranks (cli_sp_begin) */
        s.progress.tty = false;
    }
    if (rc == CLI_OK) {
        switch (a->task) {
        case EVAL_PASSKEY:
        case EVAL_NIAH:
        case EVAL_VT: rc = eval_run_grid(&s); break;
        case EVAL_PPL: rc = eval_run_ppl(&s); break;
        case EVAL_RETENTION: rc = eval_run_retention(&s); break;
        }
    }
    eval_session_close(&s);
    cli_sp_end(&a->spc);
done:
    free(a);
    return rc;
}
