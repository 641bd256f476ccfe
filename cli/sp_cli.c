/* --sp for the CLI (sp_cli.h). */
#include "sp_cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

bool cli_sp_parse_bytes(const char *s, size_t *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return false;
    double mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024, end++;
    else if (*end == 'M' || *end == 'm') mul = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') mul = 1024.0 * 1024 * 1024, end++;
    if (*end == 'i') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    v *= mul;
    if (v > (double)((size_t)1 << 50)) return false;
    *out = (size_t)v;
    return true;
}

#ifdef LC_HAVE_MPI
#include "longctx/sp.h"

int cli_sp_begin(cli_sp *s, const char *cmd) {
    if (!s->on) return CLI_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
            cli_error(cmd, "--sp: MPI_Init failed");
            return CLI_FAIL;
        }
        s->mpi_started = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &s->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s->n_ranks);
    if (s->rank != 0) { /* one output: rank 0's */
        fflush(stdout);
        const int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }
    return CLI_OK;
}

int cli_sp_load_model(cli_sp *s, const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    if (!s->on) return cli_runtime_load_model(f, m, cmd);
    *m = NULL;
    lc_error mine, err;
    lc_status st;
    if (!f->model_path) st = lc_fail(&mine, LC_ERR_INVALID_ARG, "no model (-m MODEL)");
    else {
        lc_model_load_opts lo = {f->tok_path};
        st = lc_model_load(f->model_path, &lo, m, &mine);
    }
    if (lc_sp_agree(MPI_COMM_WORLD, st, &mine, &err) == LC_OK) return CLI_OK;
    if (s->rank == 0) cli_fail(cmd, &err);
    lc_model_free(*m);
    *m = NULL;
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

void cli_sp_wrap_sample(cli_sp *s, lc_sample_fn *fn, void **user) {
    if (!s->on) return;
    lc_sp_sampler *w = malloc(sizeof *w);
    if (!w) return; /* ranks then sample alone: same logits, same greedy choice */
    w->comm = MPI_COMM_WORLD;
    w->inner = *fn;
    w->inner_user = *user;
    s->sampler = w;
    *fn = lc_sp_sample;
    *user = w;
}

lc_status cli_sp_prefill(cli_sp *s, const int32_t *ids, int64_t n, double *t, lc_error *err) {
    *t = 0;
    if (!s->on || !s->sp || n < 1) return LC_OK;
    const double t0 = MPI_Wtime();
    const lc_status st = lc_sp_prefill(s->sp, ids, n, NULL, false, err);
    *t = MPI_Wtime() - t0;
    return st;
}

void cli_sp_report(const cli_sp *s, int64_t n_tokens) {
    if (!s->on || !s->sp) return;
    lc_sp_stats st;
    lc_sp_get_stats(s->sp, &st);
    fprintf(stderr,
            "sp: rank %d of %d: %lld slots (zig-zag blocks of %lld) hold %lld, KV %.2f MiB, %.0f bytes sent, %lld "
            "allreduces (%.0f bytes per token), %.3f s communicating\n",
            st.rank, st.n_ranks, (long long)st.shard_slots, (long long)st.block,
            (long long)st.n_held, (double)st.kv_bytes / 1048576.0, st.comm_bytes, (long long)st.n_allreduce,
            n_tokens > 0 ? st.comm_bytes / (double)n_tokens : 0.0, st.t_comm);
}

void cli_sp_end(cli_sp *s) {
    if (!s->on) return;
    lc_sp_free(s->sp);
    s->sp = NULL;
    free(s->sampler);
    s->sampler = NULL;
    fflush(stdout);
    if (s->mpi_started) MPI_Finalize();
    s->mpi_started = false;
}

#else

int cli_sp_begin(cli_sp *s, const char *cmd) {
    if (!s->on) return CLI_OK;
    cli_error(cmd, "--sp: this longctx was built without MPI (install libopenmpi-dev openmpi-bin and configure again)");
    return CLI_USAGE;
}
int cli_sp_load_model(cli_sp *s, const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    (void)s;
    return cli_runtime_load_model(f, m, cmd);
}
int cli_sp_attach(cli_sp *s, lc_context *ctx, lc_status st, const lc_error *err, const char *cmd) {
    (void)s;
    (void)ctx;
    return st == LC_OK ? CLI_OK : cli_fail(cmd, err);
}
int cli_sp_agree_rc(cli_sp *s, int rc, const char *cmd, const char *what) {
    (void)s;
    (void)cmd;
    (void)what;
    return rc;
}
lc_status cli_sp_eval_model(cli_sp *s, lc_context *ctx, const lc_tokenizer *tok, lc_eval_model **out, lc_error *err) {
    (void)s;
    return lc_eval_model_from_context(ctx, tok, -1, false, out, err);
}
void cli_sp_detach(cli_sp *s) { (void)s; }
lc_status cli_sp_bench_cell(cli_sp *s, const lc_model *m, const lc_context_opts *co, int64_t L, int64_t n_dec,
                            uint64_t seed, lc_bench_model_row *row, double *bytes_per_token, lc_error *err) {
    (void)s, (void)m, (void)co, (void)L, (void)n_dec, (void)seed, (void)row, (void)bytes_per_token;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "--sp: built without MPI");
}
void cli_sp_wrap_sample(cli_sp *s, lc_sample_fn *fn, void **user) {
    (void)s;
    (void)fn;
    (void)user;
}
lc_status cli_sp_prefill(cli_sp *s, const int32_t *ids, int64_t n, double *t, lc_error *err) {
    (void)s;
    (void)ids;
    (void)n;
    (void)err;
    *t = 0;
    return LC_OK;
}
void cli_sp_report(const cli_sp *s, int64_t n_tokens) {
    (void)s;
    (void)n_tokens;
}
void cli_sp_end(cli_sp *s) { (void)s; }

#endif
