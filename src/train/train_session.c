/* A training run set up from what a user asked (train.h): the configuration,
 * the data, the trainer with its starting weights, the plan it prints, the
 * CSV loss log and the progress line. What `longctx train` does, without the
 * command line. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longctx/rope.h"
#include "longctx/sys.h"
#include "longctx/train.h"
#include "longctx/util.h"

lc_status lc_train_config_for_request(const lc_train_request *r, const char *init, const char *resume,
                                      lc_train_config *cfg, lc_model **base, lc_error *err) {
    *base = NULL;
    if (init && resume) return lc_fail(err, LC_ERR_INVALID_ARG, "resume and init exclude each other");
    const char *from = resume ? resume : init;
    if (from && lc_train_request_shape_given(r))
        return lc_fail(err, LC_ERR_INVALID_ARG, "the model shape comes from %s: drop --dim/--layers/--heads/"
                       "--kv-heads/--hidden/--head-dim/--untied/--attn", from);
    if (from) {
        lc_status st = lc_model_load(from, NULL, base, err);
        if (st != LC_OK) return st;
        lc_train_config_from_model(cfg, *base);
        if (resume && (st = lc_train_sidecar_read_config(resume, cfg, NULL, err)) != LC_OK) {
            lc_model_free(*base);
            *base = NULL;
            return st;
        }
    } else {
        lc_train_request_model(r, &cfg->model);
    }
    lc_train_request_schedule(r, resume != NULL, cfg);
    return LC_OK;
}

lc_status lc_train_setup(lc_train_config *cfg, const lc_train_request *r, lc_train_data_spec *data, const char *init,
                         const char *resume, const lc_model *base, lc_trainer **t, lc_train_data_set *ds,
                         lc_error *err) {
    *t = NULL;
    memset(ds, 0, sizeof *ds);
    if (init && base && cfg->model.rope.scaling != LC_ROPE_SCALING_NONE && cfg->model.rope.orig_ctx <= 0)
        cfg->model.rope.orig_ctx = base->cfg.ctx_train;
    data->model_tok = base ? base->tokenizer : NULL;
    data->toy_vocab = r->vocab.set ? (int32_t)r->vocab.v : cfg->model.vocab_size;
    data->ctx = cfg->ctx;
    data->seed = cfg->seed;
    lc_status st = lc_train_data_from_spec(data, ds, err);
    if (st != LC_OK) return st;
    if (!init && !resume && !r->toy_data) cfg->model.vocab_size = r->vocab.set ? (int32_t)r->vocab.v : ds->vocab;
    if (ds->vocab > cfg->model.vocab_size)
        st = lc_fail(err, LC_ERR_INVALID_ARG, "the data uses %d token ids but the model has %d embeddings", ds->vocab,
                     cfg->model.vocab_size);
    if (st == LC_OK) st = lc_trainer_create(cfg, t, err);
    if (st == LC_OK && init) st = lc_trainer_load_weights(*t, base, err);
    if (st == LC_OK && resume) st = lc_trainer_resume(*t, resume, ds->train, err);
    if (st != LC_OK) {
        lc_trainer_free(*t);
        *t = NULL;
        lc_train_data_set_free(ds);
        memset(ds, 0, sizeof *ds);
    }
    return st;
}

bool lc_train_output_dir_ok(const char *path) {
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return false;
    char *slash = strrchr(dir, '/');
    if (!slash) return access(".", W_OK) == 0;
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    return access(dir, W_OK) == 0;
}

void lc_trainer_plan_print(FILE *f, const lc_trainer *t, const lc_train_data_set *ds) {
    const lc_train_config *cfg = lc_trainer_config(t);
    const lc_train_memory *mem = lc_trainer_memory(t);
    const lc_model_config *mc = lc_trainer_model_config(t);
    char b1[32], b2[32], b3[32], b4[32], b5[32], rope[160];
    fprintf(f, "longctx train: %.2fM parameters (dim %d, %d layers, %d/%d heads x %d, hidden %d, vocab %d%s)\n",
            (double)mem->n_params / 1e6, mc->dim, mc->n_layers, mc->n_heads, mc->n_kv_heads, mc->head_dim,
            mc->hidden_dim, mc->vocab_size, mc->tied_output ? ", tied" : "");
    fprintf(f, "  attention %s (forward %s, backward %s), rope %s\n", mc->attention[0] ? mc->attention : "softmax",
            lc_trainer_attn_forward_name(t),
            mc->attention[0] ? "linear" : lc_train_attn_backward_name(cfg->attn_backward),
            lc_rope_describe(&mc->rope, rope, sizeof rope));
    fprintf(f, "  memory %s: weights+grads+adam %s, activations %s (attention state %s), scratch %s\n",
            lc_format_bytes((double)mem->total, b1, sizeof b1),
            lc_format_bytes((double)(mem->params + mem->grads + mem->moments), b2, sizeof b2),
            lc_format_bytes((double)mem->activations, b3, sizeof b3),
            lc_format_bytes((double)mem->attention, b4, sizeof b4),
            lc_format_bytes((double)mem->scratch, b5, sizeof b5));
    fprintf(f, "  data %s; B %lld x T %lld; steps %lld (from %lld), lr %g -> %g, warmup %lld, %d threads\n", ds->desc,
            (long long)cfg->batch, (long long)cfg->ctx, (long long)cfg->steps, (long long)lc_trainer_step_count(t),
            (double)cfg->lr, (double)cfg->min_lr, (long long)cfg->warmup,
            cfg->n_threads > 0 ? cfg->n_threads : lc_cpu_count());
}

/* ---- CSV log ------------------------------------------------------------------- */

struct lc_train_log {
    FILE *f;
    double start;
    int64_t tokens_per_step;
    bool pending; /* last's row is not written yet */
    lc_train_stats last;
};

lc_status lc_train_log_open(const char *path, bool append, int64_t tokens_per_step, lc_train_log **out,
                            lc_error *err) {
    *out = NULL;
    struct stat sb;
    append = append && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    lc_train_log *l = calloc(1, sizeof *l);
    if (!l) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    if (!(l->f = fopen(path, append ? "a" : "w"))) {
        free(l);
        return lc_fail(err, LC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    if (!append) fprintf(l->f, "step,tokens,loss,lr,grad_norm,seconds,val_loss\n");
    l->start = lc_time_now();
    l->tokens_per_step = tokens_per_step;
    *out = l;
    return LC_OK;
}

static void write_row(lc_train_log *l, double val) {
    const lc_train_stats *s = &l->last;
    fprintf(l->f, "%lld,%lld,%.6f,%.6g,%.6f,%.3f,", (long long)s->step, (long long)(s->step * l->tokens_per_step),
            s->loss, (double)s->lr, s->grad_norm, lc_time_now() - l->start);
    if (isfinite(val)) fprintf(l->f, "%.6f", val);
    fputc('\n', l->f);
    fflush(l->f);
    l->pending = false;
}

void lc_train_log_step(lc_train_log *l, const lc_train_stats *s) {
    if (!l) return;
    if (l->pending) write_row(l, NAN);
    l->last = *s;
    l->pending = true;
}

void lc_train_log_eval(lc_train_log *l, int64_t step, double val_loss) {
    if (l && l->pending && l->last.step == step) write_row(l, val_loss);
}

void lc_train_log_close(lc_train_log *l) {
    if (!l) return;
    if (l->pending) write_row(l, NAN);
    fclose(l->f);
    free(l);
}

/* ---- Progress line ---------------------------------------------------------------- */

void lc_train_progress_init(lc_train_progress *p, const lc_trainer *t) {
    const lc_train_config *c = lc_trainer_config(t);
    p->start = lc_time_now();
    p->first_step = lc_trainer_step_count(t);
    p->total_steps = c->steps;
    p->tokens_per_step = c->batch * c->ctx;
}

const char *lc_train_progress_format(const lc_train_progress *p, const lc_train_stats *s, bool plain, char *buf,
                                     size_t len) {
    const double el = lc_time_now() - p->start;
    const int64_t done = s->step - p->first_step;
    const double tok_s = el > 0 ? (double)done * (double)p->tokens_per_step / el : 0.0;
    const double eta = done > 0 ? el / (double)done * (double)(p->total_steps - s->step) : NAN;
    char e1[32], e2[32];
    lc_format_duration(el, e1, sizeof e1);
    lc_format_duration(eta, e2, sizeof e2);
    if (plain)
        snprintf(buf, len, "step %lld/%lld loss %.4f lr %.2e grad %.3f tok/s %.0f elapsed %s ETA %s",
                 (long long)s->step, (long long)p->total_steps, s->loss, (double)s->lr, s->grad_norm, tok_s, e1, e2);
    else
        snprintf(buf, len, "step %lld/%lld | loss %.4f | lr %.2e | grad %.3f | %.0f tok/s | %s elapsed | ETA %s",
                 (long long)s->step, (long long)p->total_steps, s->loss, (double)s->lr, s->grad_norm, tok_s, e1, e2);
    return buf;
}

/* ---- Console ----------------------------------------------------------------------- */

void lc_train_console_init(lc_train_console *c, FILE *f, const lc_trainer *t, lc_train_log *log, int64_t log_every,
                           int64_t stop_at, const volatile sig_atomic_t *stop) {
    memset(c, 0, sizeof *c);
    c->f = f;
    c->tty = isatty(fileno(f)) == 1;
    c->log = log;
    lc_train_progress_init(&c->progress, t);
    const int64_t steps = c->progress.total_steps;
    c->log_every = log_every > 0 ? log_every : (steps >= 100 ? steps / 50 : 1);
    c->stop_at = stop_at;
    c->stop = stop;
}

static bool console_step(void *user, const lc_train_stats *s) {
    lc_train_console *c = (lc_train_console *)user;
    lc_train_log_step(c->log, s);
    c->last_loss = s->loss;
    const double now = lc_time_now();
    const int64_t total = c->progress.total_steps;
    char line[256];
    if (c->tty && (now - c->last_draw >= 0.1 || s->step == total)) {
        fprintf(c->f, "\r\033[K%s", lc_train_progress_format(&c->progress, s, false, line, sizeof line));
        fflush(c->f);
        c->last_draw = now;
    } else if (!c->tty && (s->step % c->log_every == 0 || s->step == total || s->step - c->progress.first_step == 1)) {
        fprintf(c->f, "%s\n", lc_train_progress_format(&c->progress, s, true, line, sizeof line));
    }
    return !(c->stop && *c->stop) && (c->stop_at <= 0 || s->step < c->stop_at);
}

void lc_train_console_clear(const lc_train_console *c) {
    if (c->tty) fprintf(c->f, "\r\033[K");
}

static void console_eval(void *user, int64_t step, double loss) {
    lc_train_console *c = (lc_train_console *)user;
    lc_train_log_eval(c->log, step, loss);
    lc_train_console_clear(c);
    fprintf(c->f, "step %lld: validation loss %.4f (train %.4f)\n", (long long)step, loss, c->last_loss);
}

static void console_save(void *user, int64_t step, const char *path) {
    lc_train_console *c = (lc_train_console *)user;
    lc_train_console_clear(c);
    fprintf(c->f, "step %lld: saved %s (+ .optim)\n", (long long)step, path);
}

void lc_train_console_attach(lc_train_console *c, lc_train_run_opts *o) {
    o->on_step = console_step;
    o->on_eval = console_eval;
    o->on_save = console_save;
    o->user = c;
}

lc_status lc_train_run_console(lc_trainer *t, lc_train_data *data, lc_train_run_opts o, FILE *f, const char *log_path,
                               bool append, int64_t log_every, int64_t stop_at, const volatile sig_atomic_t *stop,
                               lc_error *err) {
    const lc_train_config *cfg = lc_trainer_config(t);
    lc_train_log *log = NULL;
    lc_status st = log_path ? lc_train_log_open(log_path, append, cfg->batch * cfg->ctx, &log, err) : LC_OK;
    if (st != LC_OK) return st;
    lc_train_console c;
    lc_train_console_init(&c, f, t, log, log_every, stop_at, stop);
    lc_train_console_attach(&c, &o);
    st = lc_train_run(t, data, &o, err);
    lc_train_log_close(log);
    lc_train_console_clear(&c);
    const long long done = (long long)lc_trainer_step_count(t);
    const bool stopped = stop && *stop;
    if (st == LC_OK && o.save_path && (stopped || done < cfg->steps))
        fprintf(f, "%s at step %lld of %lld: continue with --resume %s\n", stopped ? "interrupted" : "stopped", done,
                (long long)cfg->steps, o.save_path);
    if (st == LC_OK && o.save_path) fprintf(f, "done: %lld steps, %s (+ .optim)\n", done, o.save_path);
    else if (st == LC_OK) fprintf(f, "done: %lld steps\n", done);
    return st;
}
