/* longctx train — train (or fine-tune) a Llama-family model on the CPU:
 * synthetic long-context tasks, a text file or toy tasks; GGUF checkpoints
 * with an exact-resume optimizer sidecar; a CSV loss log. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "longctx/util.h"
#include "longctx/gguf.h"
#include "longctx/rope.h"
#include "longctx/sys.h"
#include "longctx/tasks.h"
#include "longctx/train.h"
#include "opt.h"

#define CMD "train"
#define MAX_ROPE_OPTS 16

static const char synopsis[] =
    "usage: longctx train --data SPEC -o OUT.gguf [options]\n\n"
    "Trains a Llama-family model (exactly what `longctx run` executes) with AdamW on this CPU.\n"
    "Checkpoints are GGUF (F32) plus OUT.gguf.optim, the optimizer state for --resume.\n"
    "Ctrl-C stops after the current step and saves.\n\n";

/* ---- Options ------------------------------------------------------------- */

typedef struct {
    lc_train_request req; /* the model's shape and the schedule */
    lc_train_opt_i64 save_every, eval_every, eval_batches, log_every, stop_at, len_jitter;
    lc_train_opt_f32 answer_w, filler_w, eos_w;
    const char *attn_backward, *data, *tokenizer, *out, *resume, *init, *log;
    char rope_flag[MAX_ROPE_OPTS][32];
    const char *rope_val[MAX_ROPE_OPTS];
    int n_rope;
} train_opts;

/* An option with "given" (lc_train_opt_i64, lc_train_opt_f32 fields of train_opts). */
#define TI(names_, field, lo_, hi_, help_)                                                                             \
    {.kind = CLI_OPT_I64, .names = (names_), .meta = "N", .help = (help_), .dst = &o->field.v, .lo = (lo_),            \
     .hi = (hi_), .given = &o->field.set}
#define TF(names_, field, help_)                                                                                       \
    {.kind = CLI_OPT_FLOAT, .names = (names_), .meta = "X", .help = (help_), .dst = &o->field.v,                       \
     .dlo = -CLI_REAL_LIMIT, .dhi = CLI_REAL_LIMIT, .given = &o->field.set}
#define TN(names_, field, help_) TI(names_, field, -CLI_INT_LIMIT, CLI_INT_LIMIT, help_)

/* The RoPE flags, kept in order; applied to the model's RoPE once its shape is known. */
static bool opt_rope(const cli_opt *opt, const char *name, const char *v, const char *cmd) {
    train_opts *o = opt->dst;
    if (o->n_rope == MAX_ROPE_OPTS || strlen(name) >= sizeof o->rope_flag[0]) {
        cli_error(cmd, "too many rope options (at most %d)", MAX_ROPE_OPTS);
        return false;
    }
    snprintf(o->rope_flag[o->n_rope], sizeof o->rope_flag[0], "%s", name);
    o->rope_val[o->n_rope++] = v;
    return true;
}

/* Returns -1 to go on, else the exit status (CLI_OK after --help). */
static int parse(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    const cli_opt opts[] = {
        CLI_SECTION("data:"),
        CLI_STR("--data", "SPEC", &o->data,
                "task mixture, e.g. \"passkey:0.4,multikey:0.2,vt:0.2,filler:0.2\"\n"
                "(longctx/tasks.h: passkey multikey multivalue multiquery vt filler, with\n"
                "options like vt:0.5:hops=2), or a text FILE, or toy:copy / toy:reverse"),
        CLI_STR("--tokenizer", "T", &o->tokenizer,
                "synthetic (default: the tasks' fixed vocabulary), bpe:N (train a byte-level\n"
                "BPE of N tokens on the --data text file), or a GGUF file with a vocabulary"),
        TF("--answer-weight", answer_w, "loss weight of answer tokens (task data, default 1)"),
        TF("--filler-weight", filler_w, "loss weight of filler/haystack tokens (task data, default 1)"),
        TF("--eos-weight", eos_w,
           "loss weight of the end-of-sequence token after the answer (task data,\n"
           "default 1): what makes greedy answers stop"),
        TN("--len-jitter", len_jitter,
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
        CLI_FAMILY(lc_rope_is_option, opt_rope, o, lc_rope_options_help()),
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
    o->req.toy_data = o->data && strncmp(o->data, "toy:", 4) == 0;
    const char *why = !o->data  ? "--data is required (a task mixture, a text file, or toy:copy)"
                      : !o->out ? "-o OUT.gguf is required"
                      : o->resume && o->init ? "--resume and --init exclude each other"
                                             : NULL;
    if (why) cli_error(CMD, "%s", why);
    return why ? CLI_USAGE : -1;
}
#undef TI
#undef TF
#undef TN

/* ---- Data ---------------------------------------------------------------- */

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* What --data means (lc_train_data_from_spec). */
static lc_status build_data(const train_opts *o, const lc_train_config *cfg, const lc_tokenizer *model_tok,
                            lc_train_data_set *ds, lc_error *err) {
    lc_train_data_spec sp;
    lc_train_data_spec_init(&sp);
    sp.data = o->data;
    sp.tokenizer = o->tokenizer;
    sp.model_tok = model_tok;
    sp.toy_vocab = o->req.vocab.set ? (int32_t)o->req.vocab.v : cfg->model.vocab_size;
    sp.ctx = cfg->ctx;
    sp.seed = cfg->seed;
    sp.eval = o->eval_every.set && o->eval_every.v > 0;
    if (o->answer_w.set) sp.answer_weight = o->answer_w.v;
    if (o->filler_w.set) sp.filler_weight = o->filler_w.v;
    if (o->eos_w.set) sp.eos_weight = o->eos_w.v;
    sp.len_jitter = o->len_jitter.set ? o->len_jitter.v : 0;
    return lc_train_data_from_spec(&sp, ds, err);
}

/* ---- Progress and log ------------------------------------------------------ */

static volatile sig_atomic_t interrupted = 0; /* CLI only: set by SIGINT */
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct {
    FILE *csv;
    bool tty;
    double start;
    int64_t first_step, total_steps, log_every, tokens_per_step, stop_at;
    bool pending;
    lc_train_stats last;
    double last_draw;
} run_ui;

static void csv_row(run_ui *u, const lc_train_stats *s, double val) {
    if (!u->csv) return;
    fprintf(u->csv, "%lld,%lld,%.6f,%.6g,%.6f,%.3f,", (long long)s->step, (long long)(s->step * u->tokens_per_step),
            s->loss, (double)s->lr, s->grad_norm, lc_time_now() - u->start);
    if (isfinite(val)) fprintf(u->csv, "%.6f", val);
    fputc('\n', u->csv);
    fflush(u->csv);
}

static bool ui_step(void *user, const lc_train_stats *s) {
    run_ui *u = (run_ui *)user;
    if (u->pending) csv_row(u, &u->last, NAN);
    u->last = *s;
    u->pending = true;
    const double now = lc_time_now(), el = now - u->start;
    const int64_t done = s->step - u->first_step;
    const double tok_s = el > 0 ? (double)done * (double)u->tokens_per_step / el : 0.0;
    const double eta = done > 0 ? el / (double)done * (double)(u->total_steps - s->step) : NAN;
    char e1[32], e2[32];
    cli_fmt_duration(el, e1, sizeof e1);
    cli_fmt_duration(eta, e2, sizeof e2);
    if (u->tty) {
        if (now - u->last_draw >= 0.1 || s->step == u->total_steps) {
            fprintf(stderr,
                    "\r\033[Kstep %lld/%lld | loss %.4f | lr %.2e | grad %.3f | %.0f tok/s | %s elapsed | ETA %s",
                    (long long)s->step, (long long)u->total_steps, s->loss, (double)s->lr, s->grad_norm, tok_s, e1, e2);
            fflush(stderr);
            u->last_draw = now;
        }
    } else if (s->step % u->log_every == 0 || s->step == u->total_steps || done == 1) {
        fprintf(stderr, "step %lld/%lld loss %.4f lr %.2e grad %.3f tok/s %.0f elapsed %s ETA %s\n",
                (long long)s->step, (long long)u->total_steps, s->loss, (double)s->lr, s->grad_norm, tok_s, e1, e2);
    }
    return !interrupted && (u->stop_at <= 0 || s->step < u->stop_at);
}

static void ui_newline(run_ui *u) {
    if (u->tty) fprintf(stderr, "\r\033[K");
}

static void ui_eval(void *user, int64_t step, double loss) {
    run_ui *u = (run_ui *)user;
    if (u->pending && u->last.step == step) {
        csv_row(u, &u->last, loss);
        u->pending = false;
    }
    ui_newline(u);
    fprintf(stderr, "step %lld: validation loss %.4f (train %.4f)\n", (long long)step, loss, u->last.loss);
}

static void ui_save(void *user, int64_t step, const char *path) {
    run_ui *u = (run_ui *)user;
    ui_newline(u);
    fprintf(stderr, "step %lld: saved %s (+ .optim)\n", (long long)step, path);
}

/* ---- Main ----------------------------------------------------------------- */

/* The folder of path exists and is writable (checked before training, so a
 * long run does not fail at its first save). */
static bool out_dir_writable(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return access(".", W_OK) == 0;
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    return access(dir, W_OK) == 0;
}

/* The configuration from --init/--resume or the flags, with RoPE and the
 * schedule. CLI_OK or an exit status after a message; *base: the model
 * loaded from --init/--resume (owned by the caller). */
static int train_config(const train_opts *o, lc_train_config *cfg, lc_model **base) {
    lc_error err;
    const char *from = o->resume ? o->resume : o->init;
    if (from && lc_train_request_shape_given(&o->req)) {
        cli_error(CMD, "the model shape comes from %s: drop --dim/--layers/--heads/--kv-heads/--hidden/"
                  "--head-dim/--untied/--attn", from);
        return CLI_USAGE;
    }
    if (from) {
        if (lc_model_load(from, NULL, base, &err) != LC_OK) return cli_fail(CMD, &err);
        lc_train_config_from_model(cfg, *base);
        if (o->resume && lc_train_sidecar_read_config(o->resume, cfg, NULL, &err) != LC_OK) return cli_fail(CMD, &err);
    } else {
        lc_train_request_model(&o->req, &cfg->model);
    }
    lc_train_request_schedule(&o->req, o->resume != NULL, cfg);
    if (o->attn_backward && !lc_train_attn_backward_parse(o->attn_backward, &cfg->attn_backward)) {
        cli_error(CMD, "--attn-backward must be flash or naive, got '%s'", o->attn_backward);
        return CLI_USAGE;
    }
    for (int i = 0; i < o->n_rope; i++)
        if (lc_rope_apply_option(&cfg->model.rope, o->rope_flag[i], o->rope_val[i], &err) != LC_OK)
            return cli_fail(CMD, &err), CLI_USAGE;
    if (o->init && cfg->model.rope.scaling != LC_ROPE_SCALING_NONE && cfg->model.rope.orig_ctx <= 0)
        cfg->model.rope.orig_ctx = (*base)->cfg.ctx_train;
    return CLI_OK;
}

static void print_plan(const lc_trainer *t, const lc_train_config *cfg, const lc_train_data_set *ds) {
    const lc_train_memory *mem = lc_trainer_memory(t);
    const lc_model_config *mc = lc_trainer_model_config(t);
    char b1[32], b2[32], b3[32], b4[32], b5[32], rope[160];
    fprintf(stderr, "longctx train: %.2fM parameters (dim %d, %d layers, %d/%d heads x %d, hidden %d, vocab %d%s)\n",
            (double)mem->n_params / 1e6, mc->dim, mc->n_layers, mc->n_heads, mc->n_kv_heads, mc->head_dim,
            mc->hidden_dim, mc->vocab_size, mc->tied_output ? ", tied" : "");
    fprintf(stderr, "  attention %s (forward %s, backward %s), rope %s\n", mc->attention[0] ? mc->attention : "softmax",
            lc_trainer_attn_forward_name(t),
            mc->attention[0] ? "linear" : lc_train_attn_backward_name(cfg->attn_backward),
            lc_rope_describe(&mc->rope, rope, sizeof rope));
    fprintf(stderr, "  memory %s: weights+grads+adam %s, activations %s (attention state %s), scratch %s\n",
            lc_format_bytes((double)mem->total, b1, sizeof b1),
            lc_format_bytes((double)(mem->params + mem->grads + mem->moments), b2, sizeof b2),
            lc_format_bytes((double)mem->activations, b3, sizeof b3),
            lc_format_bytes((double)mem->attention, b4, sizeof b4),
            lc_format_bytes((double)mem->scratch, b5, sizeof b5));
    fprintf(stderr, "  data %s; B %lld x T %lld; steps %lld (from %lld), lr %g -> %g, warmup %lld, %d threads\n",
            ds->desc, (long long)cfg->batch, (long long)cfg->ctx, (long long)cfg->steps,
            (long long)lc_trainer_step_count(t), (double)cfg->lr, (double)cfg->min_lr, (long long)cfg->warmup,
            cfg->n_threads > 0 ? cfg->n_threads : lc_cpu_count());
}

/* The steps, with the progress line, the CSV log and Ctrl-C. */
static int train_steps(const train_opts *o, const lc_train_config *cfg, lc_trainer *t, const lc_train_data_set *ds,
                       const lc_tokenizer *tok, FILE *csv) {
    run_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.csv = csv;
    ui.tty = isatty(STDERR_FILENO) == 1;
    ui.start = lc_time_now();
    ui.first_step = lc_trainer_step_count(t);
    ui.total_steps = cfg->steps;
    ui.tokens_per_step = cfg->batch * cfg->ctx;
    ui.stop_at = o->stop_at.set ? o->stop_at.v : 0;
    ui.log_every = o->log_every.set && o->log_every.v > 0 ? o->log_every.v : (cfg->steps >= 100 ? cfg->steps / 50 : 1);
    lc_train_run_opts ro = {o->save_every.set ? o->save_every.v : 0,
                            o->out,
                            tok,
                            ds->eval,
                            o->eval_every.set ? o->eval_every.v : 0,
                            o->eval_batches.set ? o->eval_batches.v : 4,
                            ui_step,
                            ui_eval,
                            ui_save,
                            &ui};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = (int)SA_RESETHAND; /* a second Ctrl-C kills */
    sigaction(SIGINT, &sa, &old);
    lc_error err;
    const lc_status st = lc_train_run(t, ds->train, &ro, &err);
    sigaction(SIGINT, &old, NULL);
    if (ui.pending) csv_row(&ui, &ui.last, NAN);
    ui_newline(&ui);
    if (st != LC_OK) return cli_fail(CMD, &err);
    if (interrupted || lc_trainer_step_count(t) < cfg->steps)
        fprintf(stderr, "%s at step %lld of %lld: continue with --resume %s\n", interrupted ? "interrupted" : "stopped",
                (long long)lc_trainer_step_count(t), (long long)cfg->steps, o->out);
    fprintf(stderr, "done: %lld steps, %s (+ .optim)\n", (long long)lc_trainer_step_count(t), o->out);
    return CLI_OK;
}

/* The CSV log (appended to on --resume); NULL without --log. */
static bool open_log(const train_opts *o, FILE **csv) {
    *csv = NULL;
    if (!o->log) return true;
    const bool append = o->resume && is_file(o->log);
    if (!(*csv = fopen(o->log, append ? "a" : "w"))) {
        cli_error(CMD, "cannot write %s: %s", o->log, strerror(errno));
        return false;
    }
    if (!append) fprintf(*csv, "step,tokens,loss,lr,grad_norm,seconds,val_loss\n");
    return true;
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    if (!out_dir_writable(o.out)) {
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
    FILE *csv = NULL;
    rc = train_config(&o, &cfg, &base);
    const bool fresh = !o.resume && !o.init;
    if (rc == CLI_OK && build_data(&o, &cfg, base ? base->tokenizer : NULL, &ds, &err) != LC_OK) rc = cli_fail(CMD, &err);
    if (rc == CLI_OK && fresh && !o.req.toy_data)
        cfg.model.vocab_size = o.req.vocab.set ? (int32_t)o.req.vocab.v : ds.vocab;
    if (rc == CLI_OK && ds.vocab > cfg.model.vocab_size) {
        cli_error(CMD, "the data uses %d token ids but the model has %d embeddings", ds.vocab, cfg.model.vocab_size);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && (lc_trainer_create(&cfg, &t, &err) != LC_OK ||
                         (o.init && lc_trainer_load_weights(t, base, &err) != LC_OK) ||
                         (o.resume && lc_trainer_resume(t, o.resume, ds.train, &err) != LC_OK)))
        rc = cli_fail(CMD, &err);
    if (rc == CLI_OK) print_plan(t, &cfg, &ds);
    if (rc == CLI_OK && !open_log(&o, &csv)) rc = CLI_FAIL;
    if (rc == CLI_OK) rc = train_steps(&o, &cfg, t, &ds, ds.tok ? ds.tok : (base ? base->tokenizer : NULL), csv);
    if (csv) fclose(csv);
    lc_trainer_free(t);
    lc_train_data_set_free(&ds);
    lc_model_free(base);
    return rc;
}
