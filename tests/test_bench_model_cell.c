/*
 * lc_bench_model_cells (bench.h): what `bench model` and the report's speed
 * table measure, checked for what it must hold whatever the machine's speed
 * (no timing is asserted beyond being positive):
 *  - each row is its length's: ctx, n_decode, the cache bytes the library's
 *    memory model gives for L + n_decode tokens, every layer full attention;
 *  - prefill and decode ran (positive seconds and rates, bytes read per token
 *    at least the weights), and the time split adds up to the timings;
 *  - two lengths measured together give the same memory figures as alone;
 *  - synthetic depth reports a fill and no prefill;
 *  - refusals: no lengths, too many, a length of 0, a negative decode count.
 */
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "longctx/bench.h"
#include "test_util.h"

static lc_model *tiny_model(void) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = 32, c.hidden_dim = 48, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
    c.vocab_size = 40, c.ctx_train = 256, c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, 16);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 5, &m, &err), &err);
    return m;
}

static void check_row(const lc_model *m, const lc_context_opts *o, const lc_bench_model_row *r, int64_t L, int64_t nd) {
    lc_context_opts co = *o;
    co.n_ctx = L + nd;
    lc_context_memory mem;
    lc_error err;
    CHECK_OK(lc_context_memory_need(m, &co, &mem, &err), &err);
    CHECK(r->ctx == L && r->n_decode == nd, "row of %lld: ctx %lld, decode %lld", (long long)L, (long long)r->ctx,
          (long long)r->n_decode);
    CHECK(r->kv_bytes == (double)mem.kv_bytes, "L %lld: cache %.0f, the memory model's %zu", (long long)L, r->kv_bytes,
          mem.kv_bytes);
    /* f16 K and V of 1 KV head x 16 per layer and token */
    CHECK(r->all_full_kv_bytes == 2.0 * 2 * 16 * (double)mem.n_ctx * 2, "L %lld: all-full KV %.0f",
          (long long)L, r->all_full_kv_bytes);
    CHECK(r->prefill_s > 0 && r->prefill_tok_s > 0 && r->decode_s > 0 && r->decode_tok_s > 0,
          "L %lld: prefill %g s, decode %g s", (long long)L, r->prefill_s, r->decode_s);
    CHECK(r->dc_bytes_per_tok > 0 && r->dc_gbs > 0, "L %lld: bytes per decoded token %g", (long long)L,
          r->dc_bytes_per_tok);
    const double split = r->dc_matmul_s + r->dc_attn_s + r->dc_other_s;
    CHECK(split > 0 && split <= r->decode_s * 1.5 + 1e-3, "L %lld: the decode split %g s within the decode's %g s",
          (long long)L, split, r->decode_s);
}

/* lc_bench_contend: both spreads ordered and positive, the slowdown their
 * medians' ratio, no busy process left (waitpid reaped them: none to wait for),
 * refusals. */
static void contend(const lc_model *m, const lc_context_opts *o) {
    lc_bench_contend_result r;
    lc_error err;
    CHECK_OK(lc_bench_contend(m, o, 8, 2, 1, 3, &r, &err), &err);
    CHECK(0 < r.quiet.min && r.quiet.min <= r.quiet.median && r.quiet.median <= r.quiet.max, "quiet %g %g %g",
          r.quiet.min, r.quiet.median, r.quiet.max);
    CHECK(0 < r.loaded.min && r.loaded.min <= r.loaded.median && r.loaded.median <= r.loaded.max, "loaded %g %g %g",
          r.loaded.min, r.loaded.median, r.loaded.max);
    CHECK(fabs(r.slowdown - r.quiet.median / r.loaded.median) <= 1e-12 * r.slowdown, "slowdown %g", r.slowdown);
    CHECK(waitpid(-1, NULL, WNOHANG) == -1, "no child left");
    CHECK(lc_bench_contend(m, o, 8, 2, -1, 1, &r, &err) == LC_ERR_INVALID_ARG, "-1 busy");
    CHECK(lc_bench_contend(m, o, 8, 2, 0, LC_BENCH_CONTEND_MAX + 1, &r, &err) == LC_ERR_INVALID_ARG, "too many runs");
    CHECK(lc_bench_contend(m, o, 0, 2, 0, 1, &r, &err) == LC_ERR_INVALID_ARG, "a context of 0");
}

/* lc_bench_spread_of: odd and even counts, sorted in place; no values refused. */
static void spread(void) {
    double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    lc_bench_spread s;
    lc_error err;
    CHECK_OK(lc_bench_spread_of(odd, 3, &s, &err), &err);
    CHECK(s.min == 1 && s.median == 2 && s.max == 3 && odd[0] == 1 && odd[2] == 3, "odd: %g %g %g", s.min, s.median,
          s.max);
    CHECK_OK(lc_bench_spread_of(even, 4, &s, &err), &err);
    CHECK(s.min == 1 && s.median == 2.5 && s.max == 4, "even: %g %g %g", s.min, s.median, s.max);
    CHECK(lc_bench_spread_of(even, 0, &s, &err) == LC_ERR_INVALID_ARG, "no values");
}

int main(void) {
    lc_model *m = tiny_model();
    if (!m) return lc_test_finish("test_bench_model_cell");
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_threads = 1;
    lc_error err;
    const int64_t lens[2] = {16, 48};
    lc_bench_model_row rows[2], alone;
    CHECK_OK(lc_bench_model_cells(m, &o, lens, 2, 3, 7, false, rows, &err), &err);
    check_row(m, &o, &rows[0], 16, 3);
    check_row(m, &o, &rows[1], 48, 3);
    CHECK_OK(lc_bench_model_cells(m, &o, lens + 1, 1, 3, 7, false, &alone, &err), &err);
    check_row(m, &o, &alone, 48, 3);
    CHECK(alone.kv_bytes == rows[1].kv_bytes, "together or alone: the same cache");
    CHECK_OK(lc_bench_model_cells(m, &o, lens, 1, 2, 7, true, &alone, &err), &err);
    CHECK(alone.fill_s > 0 && alone.prefill_s == 0 && alone.prefill_tok_s == 0 && alone.decode_tok_s > 0,
          "synthetic: a fill (%g s), no prefill, decode", alone.fill_s);
    const int64_t zero = 0;
    int64_t many[LC_BENCH_MODEL_MAX_SET + 1];
    for (int i = 0; i <= LC_BENCH_MODEL_MAX_SET; i++) many[i] = 8;
    CHECK(lc_bench_model_cells(m, &o, lens, 0, 2, 1, false, rows, &err) == LC_ERR_INVALID_ARG, "no lengths");
    CHECK(lc_bench_model_cells(m, &o, many, LC_BENCH_MODEL_MAX_SET + 1, 2, 1, false, rows, &err) ==
              LC_ERR_INVALID_ARG, "too many lengths");
    CHECK(lc_bench_model_cells(m, &o, &zero, 1, 2, 1, false, rows, &err) == LC_ERR_INVALID_ARG, "a length of 0");
    CHECK(lc_bench_model_cells(m, &o, lens, 1, -1, 1, false, rows, &err) == LC_ERR_INVALID_ARG, "-1 decode tokens");
    contend(m, &o);
    spread();
    lc_model_free(m);
    return lc_test_finish("test_bench_model_cell");
}
