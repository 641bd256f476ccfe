/* A model's prefill and decode at context lengths (bench.h, lc_bench_model_cells):
 * what `longctx bench model` and the report's speed table measure. */
#include <stdlib.h>
#include <string.h>

#include "bench/model_row.h"
#include "common/util.h"
#include "longctx/bench.h"
#include "longctx/sys.h"

/* A length being measured: its context after the prefill (or fill), and its tokens. */
typedef struct {
    lc_context *ctx;
    int32_t *tok;
} slot;

/* The cache of the context and what every layer as full attention would hold. */
static lc_status memory(const lc_model *m, const lc_context_opts *co, lc_bench_model_row *r, lc_error *err) {
    lc_context_memory mem;
    lc_status st = lc_context_memory_need(m, co, &mem, err);
    if (st != LC_OK) return st;
    r->kv_bytes = (double)mem.kv_bytes;
    r->state_bytes = (double)mem.state_bytes;
    r->ring_bytes = (double)mem.ring_bytes;
    size_t kb = 0, vb = 0; /* one layer's K and V of one token, in the cache types */
    const int64_t kv_dim = (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim;
    if ((st = lc_dtype_row_bytes(co->k_type, kv_dim, &kb, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(co->v_type, kv_dim, &vb, err)) != LC_OK)
        return st;
    const double layer_tok = (double)(kb + vb) * (double)mem.n_ctx;
    r->all_full_kv_bytes = layer_tok * m->cfg.n_layers;
    lc_bench_model_info info;
    lc_bench_model_describe(m, &info);
    r->dn_as_kv_bytes = layer_tok * info.layers[LC_LAYER_DELTANET];
    return LC_OK;
}

void lc_bench_row_prefill_figures(lc_context *ctx, lc_bench_model_row *r) {
    lc_context_timings t;
    lc_context_get_timings(ctx, &t);
    r->prefill_tok_s = r->prefill_s > 0 ? (double)r->ctx / r->prefill_s : 0.0;
    r->pf_matmul_s = t.t_matmul, r->pf_attn_s = t.t_attn, r->pf_other_s = t.t_other;
    r->pf_matmul_gflops = t.t_matmul > 0 ? t.flops_matmul / t.t_matmul * 1e-9 : 0.0;
    r->pf_attn_gflops = t.t_attn > 0 ? t.flops_attn / t.t_attn * 1e-9 : 0.0;
}

void lc_bench_row_decode_figures(lc_context *ctx, lc_bench_model_row *r) {
    const double n_dec = (double)r->n_decode;
    if (n_dec <= 0 || !(r->decode_s > 0)) return;
    lc_context_timings t;
    lc_context_get_timings(ctx, &t);
    r->decode_tok_s = n_dec / r->decode_s;
    r->dc_matmul_s = t.t_matmul, r->dc_attn_s = t.t_attn, r->dc_other_s = t.t_other;
    r->dc_bytes_per_tok = (t.bytes_weights + t.bytes_kv) / n_dec;
    r->dc_gbs = (t.bytes_weights + t.bytes_kv) / r->decode_s * 1e-9;
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
        r->dc_layer_s[k] = t.t_layer[k];
        r->dc_mixer_s[k] = t.t_mixer[k];
    }
}

/* Create the context of length L, prefill (or fill) it, record the prefill figures. */
static lc_status open_slot(const lc_model *m, lc_context_opts co, int64_t L, int64_t n_dec, uint64_t seed,
                           bool synthetic, lc_bench_model_row *r, slot *b, lc_error *err) {
    memset(r, 0, sizeof *r);
    memset(b, 0, sizeof *b);
    r->ctx = L;
    r->n_decode = n_dec;
    if (L < 1 || n_dec < 0 || !lc_add_ok(L, n_dec, 1, LC_CONTEXT_MAX_TOKENS, &co.n_ctx))
        return lc_fail(err, LC_ERR_INVALID_ARG, "context %lld + %lld decode tokens is outside 1..%lld", (long long)L,
                       (long long)n_dec, (long long)LC_CONTEXT_MAX_TOKENS);
    lc_status st = memory(m, &co, r, err);
    if (st == LC_OK) st = lc_context_create(m, &co, &b->ctx, err);
    if (st != LC_OK) return st;
    if (!(b->tok = malloc((size_t)co.n_ctx * sizeof(int32_t)))) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    for (int64_t i = 0; i < co.n_ctx; i++) b->tok[i] = (int32_t)lc_rng_below(&rng, (uint64_t)m->cfg.vocab_size);
    lc_context_reset_timings(b->ctx);
    const double t0 = lc_time_now();
    if (synthetic) {
        st = lc_context_fill_synthetic(b->ctx, L, seed, err);
        r->fill_s = lc_time_now() - t0;
    } else {
        st = lc_context_eval(b->ctx, b->tok, L, NULL, false, err);
        r->prefill_s = lc_time_now() - t0;
    }
    if (st == LC_OK && !synthetic) lc_bench_row_prefill_figures(b->ctx, r);
    lc_context_reset_timings(b->ctx);
    return st;
}

/* Decode token i after the prefill, timed into r->decode_s. */
static lc_status step(slot *b, lc_bench_model_row *r, int64_t i, lc_error *err) {
    const double t0 = lc_time_now();
    const lc_status st = lc_context_eval(b->ctx, b->tok + r->ctx + i, 1, NULL, false, err);
    r->decode_s += lc_time_now() - t0;
    return st;
}

/* The decode figures from the context's timings; frees the slot. */
static void close_slot(slot *b, lc_bench_model_row *r, bool decoded) {
    if (b->ctx && decoded) lc_bench_row_decode_figures(b->ctx, r);
    free(b->tok);
    lc_context_free(b->ctx);
    memset(b, 0, sizeof *b);
}

lc_status lc_bench_model_cells(const lc_model *m, const lc_context_opts *opts, const int64_t *ctxs, int n,
                               int64_t n_decode, uint64_t seed, bool synthetic, lc_bench_model_row *rows,
                               lc_error *err) {
    if (!m || !opts || !ctxs || !rows || n < 1 || n > LC_BENCH_MODEL_MAX_SET)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench model: %d lengths (1..%d) and every argument", n,
                       LC_BENCH_MODEL_MAX_SET);
    slot slots[LC_BENCH_MODEL_MAX_SET];
    memset(slots, 0, sizeof slots);
    lc_status st = LC_OK;
    for (int i = 0; i < n && st == LC_OK; i++)
        st = open_slot(m, *opts, ctxs[i], n_decode, seed, synthetic, &rows[i], &slots[i], err);
    for (int64_t t = 0; t < n_decode && st == LC_OK; t++)
        for (int i = 0; i < n && st == LC_OK; i++) st = step(&slots[i], &rows[i], t, err);
    for (int i = 0; i < n; i++) close_slot(&slots[i], &rows[i], st == LC_OK);
    return st;
}
