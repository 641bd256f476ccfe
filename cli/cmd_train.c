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
#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/rope.h"
#include "longctx/sys.h"
#include "longctx/tasks.h"
#include "longctx/train.h"

#define CMD "train"
#define MAX_ROPE_OPTS 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx train --data SPEC -o OUT.gguf [options]\n\n"
            "Trains a Llama-family model (exactly what `longctx run` executes) with AdamW on this CPU.\n"
            "Checkpoints are GGUF (F32) plus OUT.gguf.optim, the optimizer state for --resume.\n\n"
            "data:\n"
            "  --data SPEC          task mixture, e.g. \"passkey:0.4,multikey:0.2,vt:0.2,filler:0.2\"\n"
            "                       (longctx/tasks.h: passkey multikey multivalue multiquery vt filler, with\n"
            "                       options like vt:0.5:hops=2), or a text FILE, or toy:copy / toy:reverse\n"
            "  --tokenizer T        synthetic (default: the tasks' fixed vocabulary), bpe:N (train a byte-level\n"
            "                       BPE of N tokens on the --data text file), or a GGUF file with a vocabulary\n"
            "  --answer-weight W    loss weight of answer tokens (task data, default 1)\n"
            "  --filler-weight W    loss weight of filler/haystack tokens (task data, default 1)\n"
            "  --eos-weight W       loss weight of the end-of-sequence token after the answer (task data,\n"
            "                       default 1): what makes greedy answers stop\n"
            "  --len-jitter J       task rows end 0..J tokens early (per row; padded, weight 0) so the EOS\n"
            "                       is not always the last token and stopping is not learned by position (0)\n"
            "model (ignored with --init/--resume, which take the model's shape):\n"
            "  --dim N (128) --layers N (4) --heads N (4) --kv-heads N (2) --hidden N (3 x dim)\n"
            "  --head-dim N (dim / heads)  --vocab N (from the tokenizer; toy data: 32)  --untied\n"
            "  --attn A             softmax (default) or linear:elu\n"
            "batch and schedule:\n"
            "  -c, --ctx N          tokens per sequence T (256)\n"
            "  -b, --batch N        sequences per step B (8)\n"
            "  --steps N (1000) --lr X (1e-3) --min-lr X (lr/10) --warmup N (steps/20) --wd X (0.1)\n"
            "  --clip X (1.0; 0 = off) --beta1 X (0.9) --beta2 X (0.95) --seed S (1337) -t, --threads N\n"
            "  --attn-backward flash|naive   tiled O(T) backward (default) or the O(T^2) reference\n"
            "rope (as llama.cpp; e.g. fine-tune to 4096: --init m.gguf -c 4096 --rope-scaling yarn\n"
            "      --rope-scale 8 --yarn-orig-ctx 512):\n"
            "%s"
            "checkpoints and logs:\n"
            "  -o, --output FILE    the GGUF to write (and FILE.optim)\n"
            "  --save-every N       also save every N steps (default: only at the end)\n"
            "  --resume CKPT        continue CKPT (weights, optimizer, step, data position) exactly;\n"
            "                       the schedule comes from CKPT.optim unless given again\n"
            "  --init MODEL         start from a model's weights (fine-tuning), fresh optimizer\n"
            "  --log FILE.csv       loss curve: step,tokens,loss,lr,grad_norm,seconds,val_loss\n"
            "  --log-every N        a progress line every N steps when stderr is not a terminal\n"
            "  --eval-every N       validation loss on held-out batches every N steps\n"
            "  --eval-batches N     batches per validation (default 4)\n"
            "  --stop-at STEP       stop (and save) once STEP steps are done; the schedule still ends at --steps\n"
            "  -h, --help           this help\n\n"
            "Ctrl-C stops after the current step and saves.\n",
            lc_rope_options_help());
}

/* ---- Options ------------------------------------------------------------- */

typedef struct {
    bool set;
    int64_t v;
} opt_i;
typedef struct {
    bool set;
    float v;
} opt_f;

typedef struct {
    opt_i dim, layers, heads, kv_heads, hidden, head_dim, vocab, ctx, batch, steps, warmup, seed, threads;
    opt_i save_every, eval_every, eval_batches, log_every, stop_at, len_jitter;
    opt_f lr, min_lr, wd, clip, beta1, beta2, answer_w, filler_w, eos_w;
    bool untied;
    const char *attn, *attn_backward, *data, *tokenizer, *out, *resume, *init, *log;
    const char *rope_flag[MAX_ROPE_OPTS], *rope_val[MAX_ROPE_OPTS];
    int n_rope;
} train_opts;

static bool take_i(const char *a, const char *v, opt_i *o) {
    if (!cli_parse_i64(v, &o->v)) {
        cli_error(CMD, "%s needs an integer, got '%s'", a, v);
        return false;
    }
    o->set = true;
    return true;
}

static bool take_f(const char *a, const char *v, opt_f *o) {
    if (!cli_parse_float(v, &o->v)) {
        cli_error(CMD, "%s needs a number, got '%s'", a, v);
        return false;
    }
    o->set = true;
    return true;
}

/* Returns CLI_OK, or CLI_USAGE after printing why. */
static int parse(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    static const struct {
        const char *s, *l;
        size_t off;
        char kind; /* i f s */
    } table[] = {
        {NULL, "--dim", offsetof(train_opts, dim), 'i'},
        {NULL, "--layers", offsetof(train_opts, layers), 'i'},
        {NULL, "--heads", offsetof(train_opts, heads), 'i'},
        {NULL, "--kv-heads", offsetof(train_opts, kv_heads), 'i'},
        {NULL, "--hidden", offsetof(train_opts, hidden), 'i'},
        {NULL, "--head-dim", offsetof(train_opts, head_dim), 'i'},
        {NULL, "--vocab", offsetof(train_opts, vocab), 'i'},
        {"-c", "--ctx", offsetof(train_opts, ctx), 'i'},
        {"-b", "--batch", offsetof(train_opts, batch), 'i'},
        {NULL, "--steps", offsetof(train_opts, steps), 'i'},
        {NULL, "--warmup", offsetof(train_opts, warmup), 'i'},
        {NULL, "--seed", offsetof(train_opts, seed), 'i'},
        {"-t", "--threads", offsetof(train_opts, threads), 'i'},
        {NULL, "--save-every", offsetof(train_opts, save_every), 'i'},
        {NULL, "--eval-every", offsetof(train_opts, eval_every), 'i'},
        {NULL, "--eval-batches", offsetof(train_opts, eval_batches), 'i'},
        {NULL, "--log-every", offsetof(train_opts, log_every), 'i'},
        {NULL, "--stop-at", offsetof(train_opts, stop_at), 'i'},
        {NULL, "--lr", offsetof(train_opts, lr), 'f'},
        {NULL, "--min-lr", offsetof(train_opts, min_lr), 'f'},
        {NULL, "--wd", offsetof(train_opts, wd), 'f'},
        {NULL, "--clip", offsetof(train_opts, clip), 'f'},
        {NULL, "--beta1", offsetof(train_opts, beta1), 'f'},
        {NULL, "--beta2", offsetof(train_opts, beta2), 'f'},
        {NULL, "--answer-weight", offsetof(train_opts, answer_w), 'f'},
        {NULL, "--filler-weight", offsetof(train_opts, filler_w), 'f'},
        {NULL, "--eos-weight", offsetof(train_opts, eos_w), 'f'},
        {NULL, "--len-jitter", offsetof(train_opts, len_jitter), 'i'},
        {NULL, "--attn-backward", offsetof(train_opts, attn_backward), 's'},
        {NULL, "--attn", offsetof(train_opts, attn), 's'},
        {NULL, "--data", offsetof(train_opts, data), 's'},
        {NULL, "--tokenizer", offsetof(train_opts, tokenizer), 's'},
        {"-o", "--output", offsetof(train_opts, out), 's'},
        {NULL, "--resume", offsetof(train_opts, resume), 's'},
        {NULL, "--init", offsetof(train_opts, init), 's'},
        {NULL, "--log", offsetof(train_opts, log), 's'},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return -1;
        }
        if (cli_is(a, NULL, "--untied")) {
            o->untied = true;
            continue;
        }
        if (lc_rope_is_option(a)) {
            const char *v = cli_value(argc, argv, &i, CMD);
            if (!v) return CLI_USAGE;
            if (o->n_rope == MAX_ROPE_OPTS) {
                cli_error(CMD, "too many rope options");
                return CLI_USAGE;
            }
            o->rope_flag[o->n_rope] = a;
            o->rope_val[o->n_rope++] = v;
            continue;
        }
        size_t k = 0;
        for (; k < sizeof table / sizeof table[0]; k++) {
            /* exact flag match, so --attn does not swallow --attn-backward */
            const char *l = table[k].l;
            const size_t n = strlen(l);
            if ((table[k].s && strcmp(a, table[k].s) == 0) || (strncmp(a, l, n) == 0 && (a[n] == '\0' || a[n] == '=')))
                break;
        }
        if (k == sizeof table / sizeof table[0]) {
            return cli_unknown_option(CMD, a, usage);
        }
        const char *v = cli_value(argc, argv, &i, CMD);
        if (!v) return CLI_USAGE;
        void *field = (char *)o + table[k].off;
        if (table[k].kind == 'i' && !take_i(a, v, (opt_i *)field)) return CLI_USAGE;
        if (table[k].kind == 'f' && !take_f(a, v, (opt_f *)field)) return CLI_USAGE;
        if (table[k].kind == 's') *(const char **)field = v;
    }
    if (!o->data) {
        cli_error(CMD, "--data is required (a task mixture, a text file, or toy:copy)");
        return CLI_USAGE;
    }
    if (!o->out) {
        cli_error(CMD, "-o OUT.gguf is required");
        return CLI_USAGE;
    }
    if (o->resume && o->init) {
        cli_error(CMD, "--resume and --init exclude each other");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- Data ---------------------------------------------------------------- */

typedef struct {
    lc_tokenizer *tok;       /* owned (NULL for toy data)      */
    lc_train_data *train;    /* owned                          */
    lc_train_data *eval;     /* owned, NULL without --eval-every */
    int32_t vocab;           /* ids the data may produce      */
    char desc[160];
} data_set;

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static lc_status read_text(const char *path, char **out, size_t *len, lc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    lc_status st = LC_OK;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) st = lc_fail(err, LC_ERR_IO, "cannot size %s", path);
    const size_t avail = lc_mem_available_bytes();
    if (st == LC_OK && ((uint64_t)sb.st_size > ((uint64_t)1 << 30) || (avail && (size_t)sb.st_size * 8 > avail)))
        st = lc_fail(err, LC_ERR_TOO_LARGE, "%s: %lld bytes is more text than fits in memory for training",
                     path, (long long)sb.st_size);
    char *buf = st == LC_OK ? (char *)malloc((size_t)sb.st_size + 1) : NULL;
    if (st == LC_OK && !buf) st = lc_fail(err, LC_ERR_NOMEM, "out of memory reading %s", path);
    if (st == LC_OK && fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        st = lc_fail(err, LC_ERR_IO, "reading %s failed", path);
    fclose(f);
    if (st != LC_OK) {
        free(buf);
        return st;
    }
    buf[sb.st_size] = '\0';
    *out = buf;
    *len = (size_t)sb.st_size;
    return LC_OK;
}

static lc_status tokenizer_from_gguf_file(const char *path, lc_tokenizer **out, lc_error *err) {
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    if (st != LC_OK) return st;
    st = lc_tokenizer_from_gguf(g, out, err);
    lc_gguf_close(g);
    return st;
}

/* The tokenizer named by spec (not bpe:N, which needs the text). */
static lc_status named_tokenizer(const char *spec, lc_tokenizer **out, lc_error *err) {
    if (!spec || strcmp(spec, "synthetic") == 0) return lc_tasks_tokenizer_create(out, err);
    return tokenizer_from_gguf_file(spec, out, err);
}

static lc_status build_data(const train_opts *o, const lc_train_config *cfg, lc_tokenizer *model_tok,
                            data_set *ds, lc_error *err) {
    memset(ds, 0, sizeof *ds);
    const uint64_t seed = cfg->seed;
    const bool want_eval = o->eval_every.set && o->eval_every.v > 0;
    lc_status st = LC_OK;
    if (strncmp(o->data, "toy:", 4) == 0) {
        ds->vocab = o->vocab.set ? (int32_t)o->vocab.v : cfg->model.vocab_size;
        st = lc_train_data_toy(o->data + 4, ds->vocab, seed, &ds->train, err);
        if (st == LC_OK && want_eval) st = lc_train_data_toy(o->data + 4, ds->vocab, seed ^ 0x5eed, &ds->eval, err);
        snprintf(ds->desc, sizeof ds->desc, "toy task %s, vocabulary %d", o->data + 4, ds->vocab);
        return st;
    }
    if (is_file(o->data)) { /* a text file */
        char *text = NULL;
        size_t len = 0;
        int32_t *ids = NULL;
        int64_t n = 0;
        lc_bpe_model *bpe = NULL;
        st = read_text(o->data, &text, &len, err);
        if (st == LC_OK && o->tokenizer && strncmp(o->tokenizer, "bpe:", 4) == 0) {
            int vs;
            if (!cli_parse_int(o->tokenizer + 4, &vs) || vs < 257) {
                st = lc_fail(err, LC_ERR_INVALID_ARG, "--tokenizer bpe:N needs N >= 257, got '%s'", o->tokenizer);
            } else {
                lc_bpe_train_params bp;
                lc_bpe_train_params_init(&bp, vs);
                bp.keep_corpus_ids = true;
                st = lc_bpe_train(text, len, &bp, &bpe, err);
                lc_tokenizer_desc d;
                if (st == LC_OK) {
                    lc_bpe_model_desc(bpe, &d);
                    st = lc_tokenizer_create(&d, &ds->tok, err);
                }
                const int32_t *cids = st == LC_OK ? lc_bpe_model_corpus_ids(bpe, &n) : NULL;
                if (cids) {
                    ids = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
                    if (!ids) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
                    else memcpy(ids, cids, (size_t)n * sizeof(int32_t));
                }
            }
        } else if (st == LC_OK) {
            if (model_tok && !o->tokenizer) ds->tok = NULL; /* use the model's */
            else st = named_tokenizer(o->tokenizer, &ds->tok, err);
            const lc_tokenizer *tk = ds->tok ? ds->tok : model_tok;
            if (st == LC_OK) st = lc_tokenizer_encode(tk, text, len, false, NULL, 0, &n, err);
            if (st == LC_ERR_TOO_LARGE) st = LC_OK; /* sizing call */
            if (st == LC_OK) {
                ids = (int32_t *)malloc((size_t)(n ? n : 1) * sizeof(int32_t));
                if (!ids) st = lc_fail(err, LC_ERR_NOMEM, "out of memory tokenizing %s", o->data);
                else st = lc_tokenizer_encode(tk, text, len, false, ids, n, &n, err);
            }
        }
        const lc_tokenizer *tk = ds->tok ? ds->tok : model_tok;
        if (st == LC_OK) {
            ds->vocab = lc_tokenizer_n_vocab(tk);
            /* hold out the last 10% for validation when it fills the batches */
            int64_t n_train = n, n_eval = 0;
            if (want_eval && n / 10 >= cfg->ctx + 1) n_eval = n / 10, n_train = n - n_eval;
            st = lc_train_data_tokens(ids, n_train, seed, &ds->train, err);
            if (st == LC_OK && want_eval)
                st = n_eval ? lc_train_data_tokens(ids + n_train, n_eval, seed ^ 0x5eed, &ds->eval, err)
                            : lc_train_data_tokens(ids, n, seed ^ 0x5eed, &ds->eval, err);
            snprintf(ds->desc, sizeof ds->desc, "%s: %lld tokens (%lld held out), vocabulary %d", o->data,
                     (long long)n_train, (long long)n_eval, ds->vocab);
        }
        free(text);
        free(ids);
        lc_bpe_model_free(bpe);
        return st;
    }
    /* a task mixture */
    lc_task_stream_config sc;
    lc_task_stream_config_init(&sc);
    st = lc_task_mix_parse(o->data, &sc.mix, err);
    if (st != LC_OK && (strchr(o->data, '/') || strchr(o->data, '.')) && !strchr(o->data, ':'))
        return lc_fail(err, LC_ERR_IO,
                       "--data %s: no such file (and not a task mixture such as passkey:0.5,filler:0.5)", o->data);
    if (st != LC_OK) return st;
    if (o->tokenizer && strncmp(o->tokenizer, "bpe:", 4) == 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "--tokenizer bpe:N trains on a text file; task data uses synthetic "
                       "or a GGUF vocabulary");
    if (model_tok && !o->tokenizer) ds->tok = NULL;
    else if ((st = named_tokenizer(o->tokenizer, &ds->tok, err)) != LC_OK) return st;
    const lc_tokenizer *tk = ds->tok ? ds->tok : model_tok;
    sc.seq_len = cfg->ctx;
    sc.seed = seed;
    if (o->answer_w.set) sc.role_weight[LC_ROLE_ANSWER] = o->answer_w.v;
    if (o->filler_w.set) sc.role_weight[LC_ROLE_FILLER] = o->filler_w.v;
    if (o->eos_w.set) sc.role_weight[LC_ROLE_EOS] = o->eos_w.v;
    ds->vocab = lc_tokenizer_n_vocab(tk);
    const int64_t jitter = o->len_jitter.set ? o->len_jitter.v : 0;
    st = lc_train_data_tasks_jitter(&sc, tk, jitter, &ds->train, err);
    if (st == LC_OK && want_eval) {
        sc.seed = seed ^ 0x5eed;
        st = lc_train_data_tasks_jitter(&sc, tk, jitter, &ds->eval, err);
    }
    if (jitter) snprintf(ds->desc, sizeof ds->desc, "tasks %s, vocabulary %d, rows end 0..%lld tokens early", o->data,
                         ds->vocab, (long long)jitter);
    else snprintf(ds->desc, sizeof ds->desc, "tasks %s, vocabulary %d", o->data, ds->vocab);
    return st;
}

static void free_data(data_set *ds) {
    lc_train_data_free(ds->train);
    lc_train_data_free(ds->eval);
    lc_tokenizer_free(ds->tok);
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

static void fmt_time(double s, char *buf, size_t len) {
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, len, "%lds", t);
}

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
    fmt_time(el, e1, sizeof e1);
    fmt_time(eta, e2, sizeof e2);
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

static bool shape_given(const train_opts *o) {
    return o->dim.set || o->layers.set || o->heads.set || o->kv_heads.set || o->hidden.set || o->head_dim.set ||
           o->untied || o->attn;
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse(argc, argv, &o);
    if (rc == -1) return CLI_OK;
    if (rc != CLI_OK) return rc;

    lc_error err;
    lc_train_config cfg;
    lc_train_config_init(&cfg);
    lc_model *base = NULL; /* --init or --resume model */
    data_set ds;
    memset(&ds, 0, sizeof ds);
    lc_trainer *t = NULL;
    FILE *csv = NULL;
    rc = CLI_FAIL;
    lc_status st = LC_OK;

    if (!out_dir_writable(o.out)) {
        cli_error(CMD, "cannot write %s: its folder does not exist or is not writable", o.out);
        return CLI_FAIL;
    }
    const char *from = o.resume ? o.resume : o.init;
    if (from) {
        if (shape_given(&o)) {
            cli_error(CMD, "the model shape comes from %s: drop --dim/--layers/--heads/--kv-heads/--hidden/"
                      "--head-dim/--untied/--attn", from);
            return CLI_USAGE;
        }
        if ((st = lc_model_load(from, NULL, &base, &err)) != LC_OK) goto fail;
        lc_train_config_from_model(&cfg, base);
        if (o.resume && (st = lc_train_sidecar_read_config(o.resume, &cfg, NULL, &err)) != LC_OK) goto fail;
    } else {
        lc_model_config *m = &cfg.model;
        if (o.dim.set) m->dim = (int32_t)o.dim.v;
        if (o.layers.set) m->n_layers = (int32_t)o.layers.v;
        if (o.heads.set) m->n_heads = (int32_t)o.heads.v;
        m->n_kv_heads = o.kv_heads.set ? (int32_t)o.kv_heads.v : (m->n_heads % 2 ? m->n_heads : m->n_heads / 2);
        m->hidden_dim = o.hidden.set ? (int32_t)o.hidden.v : 3 * m->dim;
        m->head_dim = o.head_dim.set ? (int32_t)o.head_dim.v : (m->n_heads > 0 ? m->dim / m->n_heads : 0);
        m->tied_output = !o.untied;
        if (o.attn) snprintf(m->attention, sizeof m->attention, "%s", o.attn);
        if (strncmp(o.data, "toy:", 4) == 0) m->vocab_size = o.vocab.set ? (int32_t)o.vocab.v : 32;
    }
    /* schedule and batch: flags override the defaults (or the resumed run's) */
    if (o.ctx.set) cfg.ctx = o.ctx.v;
    if (o.batch.set) cfg.batch = o.batch.v;
    if (o.steps.set) cfg.steps = o.steps.v;
    if (o.lr.set) cfg.lr = o.lr.v;
    if (!o.resume) {
        cfg.min_lr = o.min_lr.set ? o.min_lr.v : cfg.lr / 10.0f;
        cfg.warmup = o.warmup.set ? o.warmup.v : cfg.steps / 20;
    } else {
        if (o.min_lr.set) cfg.min_lr = o.min_lr.v;
        if (o.warmup.set) cfg.warmup = o.warmup.v;
    }
    if (o.wd.set) cfg.weight_decay = o.wd.v;
    if (o.clip.set) cfg.grad_clip = o.clip.v;
    if (o.beta1.set) cfg.beta1 = o.beta1.v;
    if (o.beta2.set) cfg.beta2 = o.beta2.v;
    if (o.seed.set) cfg.seed = (uint64_t)o.seed.v;
    if (o.threads.set) cfg.n_threads = (int)o.threads.v;
    if (o.attn_backward && !lc_train_attn_backward_parse(o.attn_backward, &cfg.attn_backward)) {
        cli_error(CMD, "--attn-backward must be flash or naive, got '%s'", o.attn_backward);
        rc = CLI_USAGE;
        goto out;
    }
    for (int i = 0; i < o.n_rope; i++)
        if ((st = lc_rope_apply_option(&cfg.model.rope, o.rope_flag[i], o.rope_val[i], &err)) != LC_OK) {
            cli_fail(CMD, &err);
            rc = CLI_USAGE;
            goto out;
        }
    if (o.init && cfg.model.rope.scaling != LC_ROPE_SCALING_NONE && cfg.model.rope.orig_ctx <= 0)
        cfg.model.rope.orig_ctx = base->cfg.ctx_train;

    if ((st = build_data(&o, &cfg, base ? base->tokenizer : NULL, &ds, &err)) != LC_OK) goto fail;
    if (!from && strncmp(o.data, "toy:", 4) != 0) cfg.model.vocab_size = o.vocab.set ? (int32_t)o.vocab.v : ds.vocab;
    if (ds.vocab > cfg.model.vocab_size) {
        cli_error(CMD, "the data uses %d token ids but the model has %d embeddings", ds.vocab, cfg.model.vocab_size);
        goto out;
    }
    if ((st = lc_trainer_create(&cfg, &t, &err)) != LC_OK) goto fail;
    if (o.init && (st = lc_trainer_load_weights(t, base, &err)) != LC_OK) goto fail;
    if (o.resume && (st = lc_trainer_resume(t, o.resume, ds.train, &err)) != LC_OK) goto fail;

    const lc_train_memory *mem = lc_trainer_memory(t);
    const lc_model_config *mc = lc_trainer_model_config(t);
    char b1[32], b2[32], b3[32], b4[32], b5[32], rope[160];
    fprintf(stderr, "longctx train: %.2fM parameters (dim %d, %d layers, %d/%d heads x %d, hidden %d, vocab %d%s)\n",
            (double)mem->n_params / 1e6, mc->dim, mc->n_layers, mc->n_heads, mc->n_kv_heads, mc->head_dim,
            mc->hidden_dim, mc->vocab_size, mc->tied_output ? ", tied" : "");
    fprintf(stderr, "  attention %s (forward %s, backward %s), rope %s\n", mc->attention[0] ? mc->attention : "softmax",
            lc_trainer_attn_forward_name(t),
            mc->attention[0] ? "linear" : lc_train_attn_backward_name(cfg.attn_backward),
            lc_rope_describe(&mc->rope, rope, sizeof rope));
    fprintf(stderr, "  memory %s: weights+grads+adam %s, activations %s (attention state %s), scratch %s\n",
            lc_format_bytes((double)mem->total, b1, sizeof b1),
            lc_format_bytes((double)(mem->params + mem->grads + mem->moments), b2, sizeof b2),
            lc_format_bytes((double)mem->activations, b3, sizeof b3),
            lc_format_bytes((double)mem->attention, b4, sizeof b4),
            lc_format_bytes((double)mem->scratch, b5, sizeof b5));
    fprintf(stderr, "  data %s; B %lld x T %lld; steps %lld (from %lld), lr %g -> %g, warmup %lld, %d threads\n",
            ds.desc, (long long)cfg.batch, (long long)cfg.ctx, (long long)cfg.steps,
            (long long)lc_trainer_step_count(t), (double)cfg.lr, (double)cfg.min_lr, (long long)cfg.warmup,
            cfg.n_threads > 0 ? cfg.n_threads : lc_cpu_count());

    if (o.log) {
        const bool append = o.resume && is_file(o.log);
        csv = fopen(o.log, append ? "a" : "w");
        if (!csv) {
            cli_error(CMD, "cannot write %s: %s", o.log, strerror(errno));
            goto out;
        }
        if (!append) fprintf(csv, "step,tokens,loss,lr,grad_norm,seconds,val_loss\n");
    }
    run_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.csv = csv;
    ui.tty = isatty(STDERR_FILENO) == 1;
    ui.start = lc_time_now();
    ui.first_step = lc_trainer_step_count(t);
    ui.total_steps = cfg.steps;
    ui.tokens_per_step = cfg.batch * cfg.ctx;
    ui.stop_at = o.stop_at.set ? o.stop_at.v : 0;
    ui.log_every = o.log_every.set && o.log_every.v > 0 ? o.log_every.v : (cfg.steps >= 100 ? cfg.steps / 50 : 1);
    lc_train_run_opts ro = {o.save_every.set ? o.save_every.v : 0,
                            o.out,
                            ds.tok ? ds.tok : (base ? base->tokenizer : NULL),
                            ds.eval,
                            o.eval_every.set ? o.eval_every.v : 0,
                            o.eval_batches.set ? o.eval_batches.v : 4,
                            ui_step,
                            ui_eval,
                            ui_save,
                            &ui};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = (int)SA_RESETHAND; /* a second Ctrl-C kills */
    sigaction(SIGINT, &sa, &old);
    st = lc_train_run(t, ds.train, &ro, &err);
    sigaction(SIGINT, &old, NULL);
    if (ui.pending) csv_row(&ui, &ui.last, NAN);
    ui_newline(&ui);
    if (st != LC_OK) goto fail;
    if (interrupted || lc_trainer_step_count(t) < cfg.steps)
        fprintf(stderr, "%s at step %lld of %lld: continue with --resume %s\n", interrupted ? "interrupted" : "stopped",
                (long long)lc_trainer_step_count(t), (long long)cfg.steps, o.out);
    fprintf(stderr, "done: %lld steps, %s (+ .optim)\n", (long long)lc_trainer_step_count(t), o.out);
    rc = CLI_OK;
    goto out;
fail:
    rc = cli_fail(CMD, &err);
out:
    if (csv) fclose(csv);
    lc_trainer_free(t);
    free_data(&ds);
    lc_model_free(base);
    return rc;
}
