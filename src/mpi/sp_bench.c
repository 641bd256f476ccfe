/*
 * One cell of `bench model --sp` (include/longctx/sp.h,
 * lc_sp_bench_model_cell): the cell of lc_bench_model_cells (src/bench/
 * model_bench.c: L synthetic tokens of a seed, then n_decode steps) on a
 * context sharded over the ranks — the prompt by ring prefill, the steps by
 * the decode path (one allreduce per layer). Wall times are taken between
 * barriers, so every rank reports the same span.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/model_row.h"
#include "common/util.h"
#include "longctx/sp.h"
#include "longctx/sys.h"

lc_status lc_sp_bench_model_cell(const lc_model *m, const lc_context_opts *opts, MPI_Comm comm, size_t kv_budget,
                                 int64_t L, int64_t n_decode, uint64_t seed, lc_bench_model_row *row,
                                 lc_sp_stats *stats, lc_error *err) {
    if (!m || !opts || !row) return lc_fail(err, LC_ERR_INVALID_ARG, "bench model --sp: every argument");
    memset(row, 0, sizeof *row);
    if (stats) memset(stats, 0, sizeof *stats);
    row->ctx = L;
    row->n_decode = n_decode;
    lc_context_opts co = *opts;
    co.kv_external = true; /* the shard is the only K/V a rank holds */
    lc_error mine;
    lc_status st = LC_OK;
    if (L < 1 || n_decode < 0 || !lc_add_ok(L, n_decode, 1, LC_CONTEXT_MAX_TOKENS, &co.n_ctx))
        st = lc_fail(&mine, LC_ERR_INVALID_ARG, "context %lld + %lld decode tokens is outside 1..%lld", (long long)L,
                     (long long)n_decode, (long long)LC_CONTEXT_MAX_TOKENS);
    lc_context *ctx = NULL;
    lc_sp *sp = NULL;
    int32_t *tok = NULL;
    if (st == LC_OK && !(tok = malloc((size_t)co.n_ctx * sizeof(int32_t))))
        st = lc_fail(&mine, LC_ERR_NOMEM, "out of memory");
    if (st == LC_OK) st = lc_context_create(m, &co, &ctx, &mine);
    st = lc_sp_agree(comm, st, &mine, err); /* a failure on any rank stops every rank here */
    if (st == LC_OK) {
        const lc_sp_opts so = {.kv_budget = kv_budget};
        st = lc_sp_create_opts(ctx, comm, &so, &sp, err);
    }
    if (st == LC_OK) {
        lc_rng rng; /* lc_bench_model_cells' tokens */
        lc_rng_seed(&rng, seed);
        for (int64_t i = 0; i < co.n_ctx; i++) tok[i] = (int32_t)lc_rng_below(&rng, (uint64_t)m->cfg.vocab_size);
        size_t kb = 0, vb = 0;
        const int64_t kv_dim = (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim;
        if (lc_dtype_row_bytes(co.k_type, kv_dim, &kb, NULL) == LC_OK &&
            lc_dtype_row_bytes(co.v_type, kv_dim, &vb, NULL) == LC_OK)
            row->all_full_kv_bytes = (double)(kb + vb) * (double)co.n_ctx * m->cfg.n_layers;
        lc_context_reset_timings(ctx);
        MPI_Barrier(comm);
        double t0 = lc_time_now();
        st = lc_sp_prefill(sp, tok, L, NULL, false, err);
        MPI_Barrier(comm);
        row->prefill_s = lc_time_now() - t0;
        if (st == LC_OK) { /* (a failed prefill failed on every rank) */
            lc_bench_row_prefill_figures(ctx, row);
            lc_context_reset_timings(ctx);
            lc_sp_reset_stats(sp);
            MPI_Barrier(comm);
            t0 = lc_time_now();
            for (int64_t i = 0; i < n_decode && st == LC_OK; i++)
                st = lc_context_eval(ctx, tok + L + i, 1, NULL, false, &mine);
            MPI_Barrier(comm);
            row->decode_s = lc_time_now() - t0;
            st = lc_sp_agree(comm, st, &mine, err);
            if (st == LC_OK) lc_bench_row_decode_figures(ctx, row);
        }
        lc_sp_stats ss;
        lc_sp_get_stats(sp, &ss);
        row->kv_bytes = (double)ss.kv_bytes;
        if (stats) *stats = ss;
    }
    lc_sp_free(sp);
    lc_context_free(ctx);
    free(tok);
    return st;
}

/* ---- bench sp ------------------------------------------------------------------ */

/* The decode rounds: rates[r] tokens/s; *st the first failure (not agreed). */
static lc_status decode_rounds(lc_sp *sp, lc_context *ctx, MPI_Comm comm, const int32_t *tok, int64_t L,
                               int64_t n_decode, int repeat, double *rates, double *bytes_tok, double *wait_tok,
                               lc_error *err) {
    lc_status st = LC_OK;
    for (int r = 0; r < repeat && st == LC_OK; r++) {
        st = lc_context_truncate(ctx, L, err);
        lc_sp_reset_stats(sp);
        MPI_Barrier(comm);
        const double t0 = lc_time_now();
        for (int64_t i = 0; i < n_decode && st == LC_OK; i++)
            st = lc_context_eval(ctx, &tok[L + i], 1, NULL, false, err);
        rates[r] = (double)n_decode / (lc_time_now() - t0);
        lc_sp_stats ss;
        lc_sp_get_stats(sp, &ss);
        *bytes_tok = ss.comm_bytes / (double)n_decode;
        *wait_tok += ss.t_comm / (double)(n_decode * repeat);
    }
    return st;
}

lc_status lc_sp_bench_run(lc_sp *sp, lc_context *ctx, MPI_Comm comm, int64_t L, int64_t n_decode, int repeat, bool ring,
                          lc_sp_bench_result *out, lc_sp_bench_rank *ranks, lc_error *err) {
    if (!sp || !ctx || !out || repeat < 1 || repeat > LC_SP_BENCH_MAX_REPEAT || L < 1 || n_decode < 1 ||
        L + n_decode > lc_context_n_ctx(ctx))
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench sp: L %lld + %lld decode tokens in a context of %lld, %d rounds",
                       (long long)L, (long long)n_decode, (long long)lc_context_n_ctx(ctx), repeat);
    memset(out, 0, sizeof *out);
    lc_error mine;
    int32_t *tok = malloc((size_t)(L + n_decode) * sizeof(int32_t));
    lc_status st = tok ? LC_OK : lc_fail(&mine, LC_ERR_NOMEM, "out of memory");
    const int32_t V = lc_context_model(ctx)->cfg.vocab_size;
    uint64_t x = 12345;
    for (int64_t i = 0; tok && i < L + n_decode; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    MPI_Barrier(comm);
    double t0 = lc_time_now();
    if (st == LC_OK)
        st = ring ? lc_sp_prefill(sp, tok, L, NULL, false, &mine) : lc_context_eval(ctx, tok, L, NULL, false, &mine);
    MPI_Barrier(comm);
    out->prefill_s = lc_time_now() - t0;
    lc_sp_stats ps;
    lc_sp_get_stats(sp, &ps);
    out->prefill_bytes = ps.comm_bytes;
    double rates[LC_SP_BENCH_MAX_REPEAT], wait_tok = 0;
    lc_context_reset_timings(ctx); /* the decode's split */
    if (st == LC_OK)
        st = decode_rounds(sp, ctx, comm, tok, L, n_decode, repeat, rates, &out->bytes_per_token, &wait_tok, &mine);
    free(tok);
    if ((st = lc_sp_agree(comm, st, &mine, err)) != LC_OK) return st;
    lc_bench_spread_of(rates, repeat, &out->decode_tok_s, NULL);
    lc_sp_stats ss;
    lc_sp_get_stats(sp, &ss);
    lc_context_timings tm;
    lc_context_get_timings(ctx, &tm);
    const double per_tok = 1.0 / (double)(n_decode * repeat);
    const lc_sp_bench_rank me = {(double)ss.kv_bytes, (double)lc_rss_bytes(), (double)ss.n_held, wait_tok, ps.t_comm,
                                 tm.t_matmul * per_tok, tm.t_attn * per_tok, tm.t_other * per_tok};
    enum { N_FIGURES = sizeof me / sizeof(double) };
    lc_sp_bench_rank *all = ranks; /* rank 0 without ranks: gathered and dropped */
    if (ss.rank == 0 && !all) all = malloc((size_t)ss.n_ranks * sizeof *all);
    MPI_Gather(&me, N_FIGURES, MPI_DOUBLE, ss.rank == 0 ? all : NULL, N_FIGURES, MPI_DOUBLE, 0, comm);
    if (all != ranks) free(all);
    return LC_OK;
}

/* One line of the analytic model. */
static void print_model(FILE *f, const char *what, int32_t L, int32_t H, int32_t Hkv, int32_t d, double eb,
                        int64_t n_ctx, int P, double bw, double lat) {
    lc_sp_model sm;
    lc_sp_analytic(L, H, Hkv, d, eb, n_ctx, P, bw, lat, &sm);
    fprintf(f,
            "  %-36s P=%-2d n_ctx %8lld: KV/rank %10.1f MiB, %8.0f B/token/rank, comm %7.3f ms/token at %.0f Gb/s + "
            "%.0f us\n",
            what, P, (long long)n_ctx, sm.kv_bytes_per_rank / 1048576.0, sm.bytes_per_token,
            sm.seconds_per_token * 1e3, bw, lat);
}

lc_status lc_sp_bench_print(FILE *f, const lc_sp_bench_setup *s, const lc_context *ctx, const lc_sp_bench_result *res,
                            const lc_sp_bench_rank *all, lc_error *err) {
    if (!f || !s || !ctx || !res || !all || s->n_ranks < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench sp: no file, setup, context, result or ranks");
    const lc_model_config *c = &lc_context_model(ctx)->cfg;
    const int64_t L = s->L;
    fprintf(f, "bench sp: %s, P = %d ranks x %d threads, L = %lld, n_ctx %lld, kv %s/%s\n", s->model_path, s->n_ranks,
            lc_context_n_threads(ctx), (long long)L, (long long)lc_context_n_ctx(ctx),
            lc_dtype_name(lc_context_k_type(ctx)), lc_dtype_name(lc_context_v_type(ctx)));
    fprintf(f, "  prefill %lld tokens (%s): %.1f tok/s (%.3f s), rank 0 sent %.0f bytes\n", (long long)L,
            s->ring ? "ring" : "allreduce", (double)L / res->prefill_s, res->prefill_s, res->prefill_bytes);
    fprintf(f, "  decode at %lld: %.2f / %.2f / %.2f tok/s (min / median / max of %d rounds of %lld)\n", (long long)L,
            res->decode_tok_s.min, res->decode_tok_s.median, res->decode_tok_s.max, s->repeat,
            (long long)s->n_decode);
    fprintf(f, "  communication: %.0f bytes sent per decoded token per rank (%d combines of %d x %d floats)\n",
            res->bytes_per_token, c->n_layers, c->n_heads, c->head_dim + 2);
    for (int r = 0; r < s->n_ranks; r++)
        fprintf(f,
                "  rank %d: KV shard %.2f MiB, holds %.0f positions, RSS %.1f MiB; waiting for peers (transfers "
                "included): prefill %.3f s, decode %.3f ms per token; decode per token: matmul %.3f ms, attention "
                "%.3f ms (the wait included), other %.3f ms\n",
                r, all[r].kv_bytes / 1048576.0, all[r].n_held, all[r].rss_bytes / 1048576.0, all[r].wait_prefill_s,
                all[r].wait_per_token_s * 1e3, all[r].matmul_s * 1e3, all[r].attn_s * 1e3, all[r].other_s * 1e3);
    fprintf(f, "analytic model (the combine by recursive doubling: log2 P exchanges per layer):\n");
    const lc_dtype kt = lc_context_k_type(ctx);
    const double eb = kt == LC_DTYPE_F32 ? 4.0 : kt == LC_DTYPE_F16 ? 2.0 : 34.0 / 32;
    const double bw = s->bandwidth_gbit, lat = s->latency_us;
    print_model(f, "this model", c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, eb, lc_context_n_ctx(ctx),
                s->n_ranks, bw, lat);
    print_model(f, "Llama-3-8B shape (32x32/8x128, f16)", 32, 32, 8, 128, 2.0, 1048576, 1, bw, lat);
    print_model(f, "Llama-3-8B shape (32x32/8x128, f16)", 32, 32, 8, 128, 2.0, 1048576, 8, bw, lat);
    if (ferror(f)) return lc_fail(err, LC_ERR_IO, "bench sp: writing the report failed");
    return LC_OK;
}
