/* longctx train — train (or fine-tune) a Llama-family model on the CPU:
 * synthetic long-context tasks, a text file or toy tasks; GGUF checkpoints
 * with an exact-resume optimizer sidecar; a CSV loss log. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "longctx/rope.h"
#include "longctx/sys.h"
#include "longctx/train.h"
#include "opt.h"

#define CMD "train"

static const char synopsis[] =
    "usage: longctx train --data SPEC -o OUT.gguf [options]\n\n"
    "Trains a Llama-family model (exactly what `longctx run` executes) with AdamW on this CPU.\n"
    "Checkpoints are GGUF (F32) plus OUT.gguf.optim, the optimizer state for --resume.\n"
    "Ctrl-C stops after the current step and saves.\n\n";

/* ---- Options ------------------------------------------------------------- */

typedef struct {
    lc_train_request req;    /* the model's shape and the schedule */
    lc_train_data_spec data; /* what --data means (lc_train_data_from_spec) */
    lc_train_opt_i64 save_every, eval_every, eval_batches, log_every, stop_at;
    const char *attn_backward, *out, *resume, *init, *log;
    lc_rope_options rope; /* applied to the model's RoPE once its shape is known */
} train_opts;

/* An option with "given" (lc_train_opt_i64, lc_train_opt_f32 fields of train_opts). */
#define TI(names_, field, lo_, hi_, help_)                                                                             \
    {.kind = CLI_OPT_I64, .names = (names_), .meta = "N", .help = (help_), .dst = &o->field.v, .lo = (lo_),            \
     .hi = (hi_), .given = &o->field.set}
#define TF(names_, field, help_)                                                                                       \
    {.kind = CLI_OPT_FLOAT, .names = (names_), .meta = "X", .help = (help_), .dst = &o->field.v,                       \
     .dlo = -CLI_REAL_LIMIT, .dhi = CLI_REAL_LIMIT, .given = &o->field.set}
#define TN(names_, field, help_) TI(names_, field, -CLI_INT_LIMIT, CLI_INT_LIMIT, help_)
#define WEIGHT(names_, field, help_) CLI_FLOAT(names_, "X", &o->data.field, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, help_)

static bool opt_rope(const cli_opt *opt, const char *name, const char *v, const char *cmd) {
    lc_error err;
    if (lc_rope_options_add(opt->dst, name, v, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

/* Returns -1 to go on, else the exit status (CLI_OK after --help). */
static int parse(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    lc_train_data_spec_init(&o->data);
    const cli_opt opts[] = {
        CLI_SECTION("data:"),
        CLI_STR("--data", "SPEC", &o->data.data,
                "task mixture, e.g. \"passkey:0.4,multikey:0.2,vt:0.2,filler:0.2\"\n"
                "(longctx/tasks.h: passkey multikey multivalue multiquery vt filler, with\n"
                "options like vt:0.5:hops=2), or a text FILE, or toy:copy / toy:reverse"),
        CLI_STR("--tokenizer", "T", &o->data.tokenizer,
                "synthetic (default: the tasks' fixed vocabulary), bpe:N (train a byte-level\n"
                "BPE of N tokens on the --data text file), or a GGUF file with a vocabulary"),
        WEIGHT("--answer-weight", answer_weight, "loss weight of answer tokens (task data, default 1)"),
        WEIGHT("--filler-weight", filler_weight, "loss weight of filler/haystack tokens (task data, default 1)"),
        WEIGHT("--eos-weight", eos_weight,
           "loss weight of the end-of-sequence token after the answer (task data,\n"
           "default 1): what makes greedy answers stop"),
        CLI_I64("--len-jitter", "N", &o->data.len_jitter, -CLI_INT_LIMIT, CLI_INT_LIMIT,
           "task rows end 0..N tokens early (per row; padded, weight 0) so the EOS\n"
           "is not always the last token and stopping is not learned by position (0)"),
        CLI_SECTION("model (ignored with --init/--resume, which take the model's shape):"),
        TN("--dim", req.dim, "model width (128)"),
        TN("--layers", req.layers, "layers (4)"),
        TN("--heads", req.heads, "attention heads (4)"),
        TN("--kv-heads", req.kv_heads, "K/V heads (2)"),
        TN("--hidden", req.hidden, "feed-forward width (3 x dim)"),
        TN("--head-dim", req.head_dim, "head dimension (dim / heads)"),
        TN("--vocab", req.vocab, "vocabulary (from the tokenizer; toy data: 32)"),
        CLI_SET("--untied", &o->req.untied, "an output matrix of its own (default: tied to the embeddings)"),
        CLI_STR("--attn", "A", &o->req.attention, "softmax (default) or linear:elu"),
        CLI_SECTION("batch and schedule:"),
        TN("-c|--ctx", req.ctx, "tokens per sequence T (256)"),
        TN("-b|--batch", req.batch, "sequences per step B (8)"),
        TN("--steps", req.steps, "optimizer steps (1000)"),
        TF("--lr", req.lr, "learning rate (1e-3)"),
        TF("--min-lr", req.min_lr, "learning rate at the end of the cosine schedule (lr/10)"),
        TN("--warmup", req.warmup, "warm-up steps (steps/20)"),
        TF("--wd", req.weight_decay, "weight decay (0.1)"),
        TF("--clip", req.grad_clip, "gradient norm clip (1.0; 0 = off)"),
        TF("--beta1", req.beta1, "AdamW beta1 (0.9)"),
        TF("--beta2", req.beta2, "AdamW beta2 (0.95)"),
        TN("--seed", req.seed, "seed of the weights and the data (1337)"),
        TN("-t|--threads", req.threads, "threads (default: all CPUs)"),
        CLI_STR("--attn-backward", "flash|naive", &o->attn_backward,
                "tiled O(T) backward (default) or the O(T^2) reference"),
        CLI_SECTION("rope (as llama.cpp; e.g. fine-tune to 4096: --init m.gguf -c 4096 --rope-scaling yarn\n"
                    "      --rope-scale 8 --yarn-orig-ctx 512):"),
        CLI_FAMILY(lc_rope_is_option, opt_rope, &o->rope, lc_rope_options_help()),
        CLI_SECTION("checkpoints and logs:"),
        CLI_STR("-o|--output", "FILE", &o->out, "the GGUF to write (and FILE.optim)"),
        TN("--save-every", save_every, "also save every N steps (default: only at the end)"),
        CLI_STR("--resume", "CKPT", &o->resume,
                "continue CKPT (weights, optimizer, step, data position) exactly;\n"
                "the schedule comes from CKPT.optim unless given again"),
        CLI_STR("--init", "MODEL", &o->init, "start from a model's weights (fine-tuning), fresh optimizer"),
        CLI_STR("--log", "FILE.csv", &o->log, "loss curve: step,tokens,loss,lr,grad_norm,seconds,val_loss"),
        TN("--log-every", log_every, "a progress line every N steps when stderr is not a terminal"),
        TN("--eval-every", eval_every, "validation loss on held-out batches every N steps"),
        TN("--eval-batches", eval_batches, "batches per validation (default 4)"),
        TN("--stop-at", stop_at, "stop (and save) once N steps are done; the schedule still ends at --steps"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    o->req.toy_data = o->data.data && strncmp(o->data.data, "toy:", 4) == 0;
    o->data.eval = o->eval_every.set && o->eval_every.v > 0;
    const char *from = o->resume ? o->resume : o->init;
    const char *why = !o->data.data  ? "--data is required (a task mixture, a text file, or toy:copy)"
                      : !o->out ? "-o OUT.gguf is required"
                      : o->resume && o->init ? "--resume and --init exclude each other"
                      : from && lc_train_request_shape_given(&o->req)
                          ? "the model shape comes from --init/--resume: drop --dim/--layers/--heads/--kv-heads/"
                            "--hidden/--head-dim/--untied/--attn"
                          : NULL;
    if (why) cli_error(CMD, "%s", why);
    return why ? CLI_USAGE : -1;
}
#undef TI
#undef TF
#undef TN
#undef WEIGHT

/* ---- Ctrl-C ------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted = 0; /* CLI only: set by SIGINT */
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* ---- Main ----------------------------------------------------------------- */

/* The configuration from --init/--resume or the flags, with RoPE and the
 * attention backward. CLI_OK or an exit status after a message; *base: the
 * model loaded from --init/--resume (owned by the caller). */
static int train_config(const train_opts *o, lc_train_config *cfg, lc_model **base) {
    lc_error err;
    if (lc_train_config_for_request(&o->req, o->init, o->resume, cfg, base, &err) != LC_OK) return cli_fail(CMD, &err);
    if (o->attn_backward && !lc_train_attn_backward_parse(o->attn_backward, &cfg->attn_backward)) {
        cli_error(CMD, "--attn-backward must be flash or naive, got '%s'", o->attn_backward);
        return CLI_USAGE;
    }
    if (lc_rope_options_apply(&o->rope, &cfg->model.rope, &err) != LC_OK) return cli_fail(CMD, &err), CLI_USAGE;
    return CLI_OK;
}

/* The steps, with the progress line, the CSV log (--log, appended to on
 * --resume) and Ctrl-C. */
static int train_steps(const train_opts *o, lc_trainer *t, const lc_train_data_set *ds, const lc_tokenizer *tok) {
    const lc_train_run_opts ro = {.save_every = o->save_every.set ? o->save_every.v : 0,
                                  .save_path = o->out,
                                  .tok = tok,
                                  .eval_data = ds->eval,
                                  .eval_every = o->eval_every.set ? o->eval_every.v : 0,
                                  .eval_batches = o->eval_batches.set ? o->eval_batches.v : 4};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = (int)SA_RESETHAND; /* a second Ctrl-C kills */
    sigaction(SIGINT, &sa, &old);
    lc_error err;
    const lc_status st = lc_train_run_console(t, ds->train, ro, stderr, o->log, o->resume != NULL,
                                              o->log_every.set ? o->log_every.v : 0, o->stop_at.set ? o->stop_at.v : 0,
                                              &interrupted, &err);
    sigaction(SIGINT, &old, NULL);
    return st == LC_OK ? CLI_OK : cli_fail(CMD, &err);
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    if (!lc_train_output_dir_ok(o.out)) {
        cli_error(CMD, "cannot write %s: its folder does not exist or is not writable", o.out);
        return CLI_FAIL;
    }
    lc_error err;
    lc_train_config cfg;
    lc_train_config_init(&cfg);
    lc_model *base = NULL; /* --init or --resume model */
    lc_train_data_set ds;
    memset(&ds, 0, sizeof ds);
    lc_trainer *t = NULL;
    rc = train_config(&o, &cfg, &base);
    if (rc == CLI_OK && lc_train_setup(&cfg, &o.req, &o.data, o.init, o.resume, base, &t, &ds, &err) != LC_OK)
        rc = cli_fail(CMD, &err);
    if (rc == CLI_OK) {
        lc_trainer_plan_print(stderr, t, &ds);
        rc = train_steps(&o, t, &ds, ds.tok ? ds.tok : (base ? base->tokenizer : NULL));
    }
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);
    lc_model_free(base);
    return rc;
}
