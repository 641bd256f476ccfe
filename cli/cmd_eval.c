/* longctx eval — the long-context evaluation suite: passkey and needle-in-a-
 * haystack grids, variable tracking, perplexity against context length,
 * attention retention. A thin layer over include/longctx/eval.h; the task
 * runners are cli/eval_grid.c, eval_ppl.c and eval_retention.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "eval_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx eval TASK -m MODEL [options]\n\n"
            "Long-context evaluation of any model longctx loads (docs/eval.md: tasks, scoring, JSON).\n\n"
            "tasks:\n"
            "  passkey    pass-key retrieval: accuracy by context length x needle depth (heat map)\n"
            "  niah       needle in a haystack, RULER variants (--variant single|multikey|multivalue|multiquery)\n"
            "  vt         variable tracking (RULER): --chains, --hops; accuracy and recall by length\n"
            "  ppl        perplexity against context length on a text (-f) or token file, sliding window\n"
            "  retention  attention mass per layer and head by key distance at probe positions, and\n"
            "             accuracy by needle depth (lost in the middle), from passkey samples\n\n"
            "model and runtime:\n%s"
            "RoPE (override the model's):\n%s\n"
            "output:\n"
            "  --json                 one JSON object on stdout (tables and progress go to stderr)\n"
            "  --csv FILE             the cells as CSV\n"
            "  --svg FILE             the picture: heat map (passkey, niah), ppl by length per method (ppl),\n"
            "                         attention mass by distance per layer (retention)\n"
            "  --svg-depth FILE       accuracy by needle depth (passkey, niah, retention)\n"
            "  --no-timings           leave wall times out (the output is then identical for a seed)\n"
            "  -v, --verbose          every trial's expected and generated answer on stderr\n\n"
            "retrieval (passkey, niah, vt, retention):\n"
            "  --lengths LIST         sample lengths in tokens, e.g. 512,1K,2K (default: powers of two\n"
            "                         from 1K to the training context, and that context)\n"
            "  --depths N|LIST        N evenly spaced needle depths 0..100%% (default 10; vt: random), or a\n"
            "                         list of percentages: 0,25,50,75,100 (one depth: 50%%)\n"
            "  --trials N             samples per cell (default 1)\n"
            "  -s, --seed S           seed of the samples (default 1)\n"
            "  --haystack FILE        sentences of FILE as haystack instead of generated filler\n"
            "  --margin N             tokens generated beyond the answer's length (default 4)\n"
            "  --digits N             digits of pass keys and values (default 5)\n"
            "  --variant V            niah: single (default) | multikey | multivalue | multiquery\n"
            "  --keys N --values N --queries N   niah: needles (default 4), values (4), keys asked (2)\n"
            "  --chains N --hops N    vt: chains (default 1), assignments after the first (default 4)\n"
            "  --no-prefix-reuse      evaluate every prompt from scratch (default: keep the prefix the\n"
            "                         previous prompt shares with it)\n\n"
            "ppl:\n"
            "  -f, --file FILE        text, tokenized with the model's tokenizer (BOS first)\n"
            "  --tokens-file FILE     token ids separated by spaces, commas or newlines\n"
            "  --lengths LIST         window sizes (default: -c, else the training context)\n"
            "  --stride S             window step, 1..W-1 (default W-1: consecutive windows share one token)\n"
            "  --max-tokens N         use the first N tokens of the file\n"
            "  --attn A,B,...         compare attention methods (one line each)\n"
            "  --rope-scaling X,Y     compare RoPE scalings (applied over the other RoPE flags)\n\n"
            "retention:\n"
            "  --probes LIST          query positions; negative from the end of the prompt (default -1, the\n"
            "                         last prompt token, where the answer is retrieved)\n\n"
            "examples:\n"
            "  longctx eval passkey -m model.gguf --lengths 1K,2K,4K --depths 5 --trials 3 --svg niah.svg\n"
            "  longctx eval niah -m model.gguf --variant multikey --keys 8 --lengths 4K --json\n"
            "  longctx eval ppl -m model.gguf -f book.txt --lengths 256,512,1K,2K --attn flash,window:256 --svg ppl.svg\n"
            "  longctx eval passkey -m model.gguf --lengths 8K --rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 2048\n"
            "  longctx eval retention -m model.gguf --lengths 2K --depths 10 --svg retention.svg\n",
            cli_runtime_flags_help(), lc_rope_options_help());
}

/* "10" -> 10 even depths; "0,25,50%" -> percentages. -1 on error. */
static int parse_depths(const char *s, eval_args *a) {
    if (!strchr(s, ',') && !strchr(s, '%')) {
        int n;
        if (!cli_parse_int(s, &n) || n < 1 || n > LC_EVAL_MAX_DEPTHS) {
            cli_error(EVAL_CMD, "--depths %s: a count 1..%d or a list of percentages (50%% for one)", s,
                      LC_EVAL_MAX_DEPTHS);
            return -1;
        }
        for (int i = 0; i < n; i++) a->depths[i] = n == 1 ? 0.5 : (double)i / (double)(n - 1);
        a->n_depths = n;
        return 0;
    }
    a->n_depths = 0;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        char buf[32];
        if (len == 0 || len >= sizeof buf || a->n_depths >= LC_EVAL_MAX_DEPTHS) {
            cli_error(EVAL_CMD, "--depths: bad list");
            return -1;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (len > 1 && buf[len - 1] == '%') buf[len - 1] = '\0';
        double v;
        if (!cli_parse_double(buf, &v) || v < 0.0 || v > 100.0) {
            cli_error(EVAL_CMD, "--depths: %s is not a depth in 0..100%%", buf);
            return -1;
        }
        a->depths[a->n_depths++] = v / 100.0;
        s += len;
        if (*s == ',') s++;
    }
    return a->n_depths > 0 ? 0 : -1;
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

/* niah --variant: RULER's niah_single (one key), multikey, multivalue, multiquery. */
static bool apply_variant(eval_args *a, bool keys_given) {
    const char *v = a->variant ? a->variant : "single";
    if (strcmp(v, "single") == 0) {
        a->spec.kind = LC_TASK_MULTIKEY;
        if (keys_given && a->spec.n_keys != 1) {
            cli_error(EVAL_CMD, "--variant single has one key; use --variant multikey for --keys");
            return false;
        }
        a->spec.n_keys = 1;
        a->spec.n_queries = 1;
    } else if (strcmp(v, "multikey") == 0) {
        a->spec.kind = LC_TASK_MULTIKEY;
    } else if (strcmp(v, "multivalue") == 0) {
        a->spec.kind = LC_TASK_MULTIVALUE;
    } else if (strcmp(v, "multiquery") == 0) {
        a->spec.kind = LC_TASK_MULTIQUERY;
    } else {
        cli_error(EVAL_CMD, "unknown --variant %s (single, multikey, multivalue, multiquery)", v);
        return false;
    }
    return true;
}

/* The task options' ranges (tasks.h), as usage errors. */
static bool task_options_ok(const lc_task_spec *t) {
    const struct {
        const char *flag;
        int32_t v, lo, hi;
    } r[] = {{"--digits", t->digits, 1, LC_TASK_MAX_DIGITS}, {"--keys", t->n_keys, 1, LC_TASK_MAX_KEYS},
             {"--values", t->n_values, 1, LC_TASK_MAX_KEYS},    {"--queries", t->n_queries, 1, t->n_keys},
             {"--chains", t->n_chains, 1, LC_TASK_MAX_CHAINS},  {"--hops", t->n_hops, 0, LC_TASK_MAX_HOPS}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi) {
            cli_error(EVAL_CMD, "%s %d is outside %d..%d%s", r[i].flag, r[i].v, r[i].lo, r[i].hi,
                      i == 3 ? " (the keys)" : "");
            return false;
        }
    return true;
}

int cmd_eval(int argc, char **argv) {
    if (argc < 2 || cli_is(argv[1], "-h", "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    eval_args *a = calloc(1, sizeof *a);
    if (!a) return CLI_FAIL;
    int rc = CLI_USAGE;
    if (!parse_task(argv[1], a)) {
        cli_error(EVAL_CMD, "unknown task '%s' (passkey, niah, vt, ppl, retention)", argv[1]);
        goto done;
    }
    cli_runtime_flags_init(&a->rf);
    a->seed = 1;
    a->trials = 1;
    a->timings = true;
    a->prefix_reuse = true;
    a->n_depths = -1;
    a->margin = 4;
    bool keys_given = false;
    for (int i = 2; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        bool ok = true;
        const int taken = cli_runtime_flag(&a->rf, argc, argv, &i, EVAL_CMD);
        if (taken < 0) goto done;
        if (taken > 0) continue;
#define VALUE() (v = cli_value(argc, argv, &i, EVAL_CMD))
        int n = 0;
        if (cli_is(f, "-h", "--help")) {
            usage(stdout);
            rc = CLI_OK;
            goto done;
        } else if (cli_is(f, NULL, "--json")) a->json = true;
        else if (cli_is(f, NULL, "--no-timings")) a->timings = false;
        else if (cli_is(f, "-v", "--verbose")) a->verbose = true;
        else if (cli_is(f, NULL, "--no-prefix-reuse")) a->prefix_reuse = false;
        else if (cli_is(f, NULL, "--csv")) ok = (a->csv_path = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--svg")) ok = (a->svg_path = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--svg-depth")) ok = (a->svg_depth_path = VALUE()) != NULL;
        else if (cli_is(f, "-s", "--seed")) {
            int64_t sd = 0;
            ok = VALUE() && cli_parse_i64(v, &sd) && sd >= 0;
            a->seed = (uint64_t)sd;
        } else if (cli_is(f, NULL, "--trials")) ok = VALUE() && cli_parse_int(v, &a->trials) && a->trials >= 1;
        else if (cli_is(f, NULL, "--lengths")) {
            ok = VALUE() && cli_parse_i64_list(v, a->lengths, LC_EVAL_MAX_LENGTHS, &a->n_lengths);
            for (int k = 0; ok && k < a->n_lengths; k++) ok = a->lengths[k] >= 1;
        } else if (cli_is(f, NULL, "--depths")) {
            if (!VALUE() || parse_depths(v, a) != 0) goto done;
        } else if (cli_is(f, NULL, "--haystack")) ok = (a->haystack_path = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--margin")) ok = VALUE() && cli_parse_i64(v, &a->margin) && a->margin >= 0 && a->margin <= 4096;
        else if (cli_is(f, NULL, "--digits")) ok = VALUE() && cli_parse_int(v, &a->spec.digits);
        else if (cli_is(f, NULL, "--variant")) ok = (a->variant = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--keys")) ok = VALUE() && cli_parse_int(v, &a->spec.n_keys), keys_given = true;
        else if (cli_is(f, NULL, "--values")) ok = VALUE() && cli_parse_int(v, &a->spec.n_values);
        else if (cli_is(f, NULL, "--queries")) ok = VALUE() && cli_parse_int(v, &a->spec.n_queries);
        else if (cli_is(f, NULL, "--chains")) ok = VALUE() && cli_parse_int(v, &a->spec.n_chains);
        else if (cli_is(f, NULL, "--hops")) ok = VALUE() && cli_parse_int(v, &a->spec.n_hops);
        else if (cli_is(f, "-f", "--file")) ok = (a->text_path = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--tokens-file")) ok = (a->tokens_path = VALUE()) != NULL;
        else if (cli_is(f, NULL, "--stride")) ok = VALUE() && cli_parse_i64(v, &a->stride) && a->stride >= 1;
        else if (cli_is(f, NULL, "--max-tokens")) ok = VALUE() && cli_parse_i64(v, &a->max_tokens) && a->max_tokens >= 2;
        else if (cli_is(f, NULL, "--probes")) {
            ok = VALUE() && cli_parse_i64_list(v, a->probes, LC_EVAL_MAX_PROBES, &n);
            a->n_probes = ok ? n : 0;
        } else {
            rc = cli_unknown_option(EVAL_CMD, f, usage);
            goto done;
        }
#undef VALUE
        if (!ok) {
            cli_error(EVAL_CMD, "bad or missing value for %s%s%s", f, v ? ": " : "", v ? v : "");
            goto done;
        }
    }
    /* Options that belong to other tasks are refused rather than ignored. */
    if (a->task == EVAL_PPL && (a->haystack_path || a->n_depths >= 0 || a->n_probes)) {
        cli_error(EVAL_CMD, "ppl takes no --haystack, --depths or --probes");
        goto done;
    }
    if (a->task != EVAL_PPL && (a->text_path || a->tokens_path || a->stride || a->max_tokens)) {
        cli_error(EVAL_CMD, "-f, --tokens-file, --stride and --max-tokens are for ppl");
        goto done;
    }
    if (a->task != EVAL_RETENTION && a->n_probes) {
        cli_error(EVAL_CMD, "--probes is for retention");
        goto done;
    }
    if (a->task != EVAL_NIAH && (a->variant || keys_given)) {
        cli_error(EVAL_CMD, "--variant and --keys are for niah");
        goto done;
    }
    if (a->task == EVAL_NIAH && !apply_variant(a, keys_given)) goto done;
    if (a->task == EVAL_VT && (a->svg_path || a->svg_depth_path) && a->n_depths < 0) {
        cli_error(EVAL_CMD, "vt places its chains at random depths: give --depths for a heat map");
        goto done;
    }
    if (a->task == EVAL_PPL && a->svg_depth_path) {
        cli_error(EVAL_CMD, "--svg-depth is for the retrieval tasks");
        goto done;
    }
    if (a->task != EVAL_PPL && a->rf.co.attn && strchr(a->rf.co.attn, ',')) {
        cli_error(EVAL_CMD, "a list of --attn methods is for ppl; give one method");
        goto done;
    }
    if (a->task == EVAL_PPL && !a->text_path == !a->tokens_path) {
        cli_error(EVAL_CMD, "ppl needs one of -f FILE and --tokens-file FILE");
        goto done;
    }
    if (!task_options_ok(&a->spec)) goto done;
    for (int k = 0; a->task != EVAL_PPL && k < a->n_lengths; k++)
        if (a->lengths[k] > LC_TASK_MAX_TOKENS) {
            cli_error(EVAL_CMD, "--lengths: %lld is beyond the task generator's %lld tokens", (long long)a->lengths[k],
                      (long long)LC_TASK_MAX_TOKENS);
            goto done;
        }

    eval_session s;
    rc = eval_session_open(&s, a);
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
done:
    free(a);
    return rc;
}
