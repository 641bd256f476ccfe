/* --sp for the CLI (sp_cli.h). */
#include "sp_cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "longctx/util.h"

#ifdef LC_HAVE_MPI
#include "longctx/sp.h"

int cli_sp_begin(cli_sp *s, const char *cmd) {
    if (!s->on) return CLI_OK;
    lc_sp_world w;
    lc_error err;
    if (lc_sp_world_begin(&w, true, &err) != LC_OK) {
        cli_error(cmd, "--sp: %s", err.msg);
        return CLI_FAIL;
    }
    s->rank = w.rank;
    s->n_ranks = w.n_ranks;
    s->mpi_started = w.started;
    return CLI_OK;
}

int cli_sp_load_model(cli_sp *s, const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    if (!s->on) return cli_runtime_load_model(f, m, cmd);
    const lc_model_load_opts lo = {.tokenizer_path = f->tok_path, .no_mmap = f->no_mmap};
    lc_error err;
    if (lc_sp_model_load(MPI_COMM_WORLD, f->model_path, &lo, m, &err) == LC_OK) return CLI_OK;
    if (s->rank == 0) cli_fail(cmd, &err);
    return CLI_FAIL;
}

int cli_sp_attach(cli_sp *s, lc_context *ctx, lc_status st, const lc_error *err, const char *cmd) {
    lc_error e;
    if (!s->on) return st == LC_OK ? CLI_OK : cli_fail(cmd, err);
    if (st != LC_OK) {
        lc_sp_agree(MPI_COMM_WORLD, st, err, &e);
        if (s->rank == 0) cli_fail(cmd, &e);
        return CLI_FAIL;
    }
    lc_sp *sp = NULL;
    const lc_sp_opts so = {.kv_budget = s->kv_budget, .wait_spin_us = s->wait_spin_us};
    if (lc_sp_create_opts(ctx, MPI_COMM_WORLD, &so, &sp, &e) != LC_OK) {
        if (s->rank == 0) cli_fail(cmd, &e);
        return CLI_FAIL;
    }
    s->sp = sp;
    return CLI_OK;
}

int cli_sp_agree_rc(cli_sp *s, int rc, const char *cmd, const char *what) {
    if (!s->on) return rc;
    lc_error mine, err;
    lc_fail(&mine, LC_ERR_INVALID_ARG, "%s", what);
    if (lc_sp_agree(MPI_COMM_WORLD, rc == CLI_OK ? LC_OK : LC_ERR_INVALID_ARG, &mine, &err) == LC_OK) return CLI_OK;
    if (rc == CLI_OK && s->rank == 0) cli_error(cmd, "%s", err.msg);
    return rc == CLI_OK ? CLI_FAIL : rc;
}

lc_status cli_sp_eval_model(cli_sp *s, lc_context *ctx, const lc_tokenizer *tok, lc_eval_model **out, lc_error *err) {
    if (!s->on) return lc_eval_model_from_context(ctx, tok, -1, false, out, err);
    return lc_sp_eval_model(s->sp, tok, -1, out, err);
}

lc_status cli_sp_bench_cell(cli_sp *s, const lc_model *m, const lc_context_opts *co, int64_t L, int64_t n_dec,
                            uint64_t seed, lc_bench_model_row *row, double *bytes_per_token, lc_error *err) {
    lc_sp_stats ss;
    const lc_status st = lc_sp_bench_model_cell(m, co, MPI_COMM_WORLD, s->kv_budget, L, n_dec, seed, row, &ss, err);
    if (st != LC_OK) return st; /* (every rank) */
    double mx = row->kv_bytes;
    MPI_Allreduce(&row->kv_bytes, &mx, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    row->kv_bytes = mx;
    *bytes_per_token = n_dec > 0 ? ss.comm_bytes / (double)n_dec : 0.0;
    return LC_OK;
}

void cli_sp_detach(cli_sp *s) {
    lc_sp_free(s->sp);
    s->sp = NULL;
}

void cli_sp_wrap_text(cli_sp *s, lc_text_opts *to) {
    if (!s->on || !s->sp) return;
    to->prefill = lc_sp_prefill_fn;
    to->prefill_user = s->sp;
    lc_sp_sampler *w = malloc(sizeof *w);
    if (!w) return; /* ranks then sample alone: same logits, same greedy choice */
    w->comm = MPI_COMM_WORLD;
    w->inner = to->sample;
    w->inner_user = to->sample_user;
    s->sampler = w;
    to->sample = lc_sp_sample;
    to->sample_user = w;
}

void cli_sp_report(const cli_sp *s, int64_t n_tokens) {
    if (!s->on || !s->sp) return;
    lc_sp_stats st;
    lc_sp_get_stats(s->sp, &st);
    lc_sp_stats_print(stderr, &st, n_tokens);
}

void cli_sp_end(cli_sp *s) {
    if (!s->on) return;
    lc_sp_free(s->sp);
    s->sp = NULL;
    free(s->sampler);
    s->sampler = NULL;
    lc_sp_world w = {.rank = s->rank, .n_ranks = s->n_ranks, .started = s->mpi_started};
    lc_sp_world_end(&w);
    s->mpi_started = false;
}

#else /* without MPI, --sp is refused by cli_sp_begin: the others see it off */
#define UNUSED __attribute__((unused))

int cli_sp_begin(cli_sp *s, const char *cmd) {
    if (!s->on) return CLI_OK;
    cli_error(cmd, "--sp: this longctx was built without MPI (install libopenmpi-dev openmpi-bin and configure again)");
    return CLI_USAGE;
}
int cli_sp_load_model(cli_sp *s UNUSED, const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    return cli_runtime_load_model(f, m, cmd);
}
int cli_sp_attach(cli_sp *s UNUSED, lc_context *ctx UNUSED, lc_status st, const lc_error *err, const char *cmd) {
    return st == LC_OK ? CLI_OK : cli_fail(cmd, err);
}
int cli_sp_agree_rc(cli_sp *s UNUSED, int rc, const char *cmd UNUSED, const char *what UNUSED) { return rc; }
lc_status cli_sp_eval_model(cli_sp *s UNUSED, lc_context *ctx, const lc_tokenizer *tok, lc_eval_model **out,
                            lc_error *err) {
    return lc_eval_model_from_context(ctx, tok, -1, false, out, err);
}
void cli_sp_detach(cli_sp *s UNUSED) {}
lc_status cli_sp_bench_cell(cli_sp *s UNUSED, const lc_model *m UNUSED, const lc_context_opts *co UNUSED,
                            int64_t L UNUSED, int64_t n_dec UNUSED, uint64_t seed UNUSED,
                            lc_bench_model_row *row UNUSED, double *bytes_per_token UNUSED, lc_error *err) {
    return lc_fail(err, LC_ERR_UNSUPPORTED, "--sp: built without MPI");
}
void cli_sp_wrap_text(cli_sp *s UNUSED, lc_text_opts *to UNUSED) {}
void cli_sp_report(const cli_sp *s UNUSED, int64_t n_tokens UNUSED) {}
void cli_sp_end(cli_sp *s UNUSED) {}

#endif
