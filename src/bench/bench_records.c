/* What the bench commands state above their rows (bench.h): one-row record
 * tables (lc_table_print_fields as text, the members of the JSON object) of
 * the machine, the shape measured and the peak; and the checks of a grid
 * before anything is allocated. */
#include <stdio.h>

#include "longctx/bench.h"
#include "longctx/kernels.h"

#define INT(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_INT}
#define STR(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_STR}
#define GF(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = "%.1f"}
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A table of the first n of cols, with the row of values v [n]. */
static lc_status record(const lc_table_col *cols, int n, const lc_table_value *v, lc_table **out, lc_error *err) {
    lc_status st = lc_table_create(cols, n, out, err);
    if (st != LC_OK) return st;
    lc_table_add_row(*out, v, n);
    if ((st = lc_table_status(*out, err)) != LC_OK) {
        lc_table_free(*out);
        *out = NULL;
    }
    return st;
}

static const lc_table_col matmul_info[] = {
    STR("cpu", "cpu"), STR("isa", "isa"), STR("api", "api"), INT("rows (output)", "rows"), INT("cols (inner)", "cols"),
    GF("read bandwidth (GB/s)", "peak_read_gbs"), GF("read bandwidth, 1 thread (GB/s)", "peak_read_gbs_1t"),
    GF("FMA peak (GFLOP/s)", "peak_fma_gflops"), GF("FMA peak, 1 thread (GFLOP/s)", "peak_fma_gflops_1t"),
};

lc_status lc_bench_matmul_info(const lc_bench_matmul_grid *g, const lc_peak *pk, lc_table **out, lc_error *err) {
    if (!out || !g || !pk) return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: no grid or peak");
    char cpu[256];
    lc_cpu_model(cpu, sizeof cpu);
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    const lc_table_value v[] = {lc_tv_str(cpu), lc_tv_str(lc_isa_name(ko.isa)),
                                lc_tv_str(g->via_matmul ? "lc_matmul" : "lc_qmatmul"), lc_tv_int(g->rows),
                                lc_tv_int(g->cols), lc_tv_real(pk->read_gbs), lc_tv_real(pk->read_gbs_1t),
                                lc_tv_real(pk->fma_gflops), lc_tv_real(pk->fma_gflops_1t)};
    return record(matmul_info, N_OF(matmul_info), v, out, err);
}

lc_status lc_bench_matmul_grid_check(const lc_bench_matmul_grid *g, lc_error *err) {
    if (!g || !g->types || !g->toks || !g->threads || g->n_types < 1 || g->n_toks < 1 || g->n_threads < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench matmul: an empty grid");
    for (int k = 0; k < g->n_toks; k++)
        if (g->toks[k] < 1 || g->toks[k] > 65536)
            return lc_fail(err, LC_ERR_INVALID_ARG, "-n: %lld is not 1..65536 tokens", (long long)g->toks[k]);
    for (int k = 0; k < g->n_threads; k++)
        if (g->threads[k] < 1 || g->threads[k] > 1024)
            return lc_fail(err, LC_ERR_INVALID_ARG, "-t: %lld is not 1..1024 threads", (long long)g->threads[k]);
    for (int k = 0; k < g->n_types; k++)
        if (lc_bench_matmul_weight_bytes(g->types[k], g->rows, g->cols) == 0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%lld columns are not a whole number of %s blocks",
                           (long long)g->cols, g->types[k]);
    return LC_OK;
}

static const lc_table_col kv_info[] = {
    STR("model", "model"), STR("kv", "kv"), INT("batch", "batch"), INT("threads", "threads"),
    INT("decode tokens per round", "decode_tokens"), INT("rounds", "repeat"),
};

lc_status lc_bench_kv_info(const char *model_path, const lc_context *ctx, const lc_bench_kv_spec *s, lc_table **out,
                           lc_error *err) {
    if (!out || !ctx || !s) return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: no context or spec");
    char desc[128];
    const lc_table_value v[] = {lc_tv_str(model_path), lc_tv_str(lc_context_kv_describe(ctx, desc, sizeof desc)),
                                lc_tv_int(lc_context_n_batch(ctx)), lc_tv_int(lc_context_n_threads(ctx)),
                                lc_tv_int(s->n_decode), lc_tv_int(s->repeat)};
    return record(kv_info, N_OF(kv_info), v, out, err);
}

void lc_bench_kv_print_summary(FILE *f, const lc_bench_kv_row *rows, int n, int64_t repeat) {
    if (!f || !rows || n < 2) return;
    const lc_bench_kv_row *a = &rows[0], *z = &rows[n - 1];
    fprintf(f, "decode at %lld tokens: %.3fx the context at %lld (median of %lld alternating rounds); rss %+.1f%%\n",
            (long long)z->at, z->ratio, (long long)a->at, (long long)repeat,
            a->rss ? 100.0 * ((double)z->rss - (double)a->rss) / (double)a->rss : 0.0);
}

static const lc_table_col train_info[] = { /* the peak last: left out without one */
    {.title = "cpu", .kind = LC_TABLE_STR}, INT("parameters", "params"), INT("dim", "dim"), INT("layers", "layers"),
    INT("heads", "heads"), INT("kv heads", "kv_heads"), INT("hidden", "hidden"), INT("vocab", "vocab"),
    INT("batch", "batch"), INT("threads", "threads"), GF("FMA peak (GFLOP/s)", "peak_fma_gflops"),
};

lc_status lc_bench_train_info(const lc_train_config *c, const lc_peak *pk, lc_table **out, lc_error *err) {
    if (!out || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: no configuration");
    lc_train_memory pm;
    const lc_status st = lc_train_plan(c, &pm, err);
    if (st != LC_OK) return st;
    char cpu[128];
    lc_cpu_model(cpu, sizeof cpu);
    const lc_model_config *m = &c->model;
    const lc_table_value v[] = {
        lc_tv_str(cpu), lc_tv_int(pm.n_params), lc_tv_int(m->dim), lc_tv_int(m->n_layers), lc_tv_int(m->n_heads),
        lc_tv_int(m->n_kv_heads), lc_tv_int(m->hidden_dim), lc_tv_int(m->vocab_size), lc_tv_int(c->batch),
        lc_tv_int(c->n_threads), lc_tv_real(pk ? pk->fma_gflops : 0)};
    return record(train_info, pk ? N_OF(train_info) : N_OF(train_info) - 1, v, out, err);
}

static const lc_table_col gemm_info[] = { /* the peak columns last: left out without a peak */
    INT("threads", "threads"), GF("FMA peak, 1 thread (GFLOP/s)", "peak_fma_gflops_1t"),
    GF("FMA peak, all threads (GFLOP/s)", "peak_fma_gflops"),
};

lc_status lc_bench_gemm_info(int threads, const lc_peak *pk, lc_table **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: no table");
    const lc_table_value v[] = {lc_tv_int(threads), lc_tv_real(pk ? pk->fma_gflops_1t : 0),
                                lc_tv_real(pk ? pk->fma_gflops : 0)};
    return record(gemm_info, pk ? N_OF(gemm_info) : 1, v, out, err);
}

static const lc_table_col train_attn_info[] = {
    INT("batch", "batch"), INT("heads", "heads"), INT("kv_heads", "kv_heads"), INT("head_dim", "head_dim"),
};

lc_status lc_bench_train_attn_info(const lc_train_config *c, lc_table **out, lc_error *err) {
    if (!out || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train: no configuration");
    const lc_table_value v[] = {lc_tv_int(c->batch), lc_tv_int(c->model.n_heads), lc_tv_int(c->model.n_kv_heads),
                                lc_tv_int(c->model.head_dim)};
    return record(train_attn_info, N_OF(train_attn_info), v, out, err);
}
