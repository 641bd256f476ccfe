/*
 * One cell of `bench model --sp` (include/longctx/sp.h,
 * lc_sp_bench_model_cell): the cell of lc_bench_model_cells (src/bench/
 * model_bench.c: L synthetic tokens of a seed, then n_decode steps) on a
 * context sharded over the ranks — the prompt by ring prefill, the steps by
 * the decode path (one allreduce per layer). Wall times are taken between
 * barriers, so every rank reports the same span.
 */
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
