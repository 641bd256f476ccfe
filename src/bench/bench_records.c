/* What the bench commands state above their rows (bench.h): one-row record
 * tables (lc_table_print_fields as text, the members of the JSON object) of
 * the machine, the shape measured and the peak; and the checks of a grid
 * before anything is allocated. */
#include <stdio.h>
#include <stdlib.h>

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

#define GFLOPS(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = "%.1f"}
/* The JSON keys are bench peak's --json help's; the best tier is the one "% of FMA peak" figures use. */
static const lc_table_col peak_cols[] = {
    GFLOPS("FMA peak, 1 thread (GFLOP/s, best tier)", "fma_gflops_1t"),
    GFLOPS("FMA peak, all threads (GFLOP/s, best tier)", "fma_gflops"),
    GFLOPS("AVX2 FMA, 1 thread (GFLOP/s)", "fma_gflops_1t_avx2"),
    GFLOPS("AVX2 FMA, all threads (GFLOP/s)", "fma_gflops_avx2"),
    GFLOPS("AVX-512 FMA, 1 thread (GFLOP/s)", "fma_gflops_1t_avx512"),
    GFLOPS("AVX-512 FMA, all threads (GFLOP/s)", "fma_gflops_avx512"),
    GFLOPS("read bandwidth, 1 thread (GB/s)", "read_gbs_1t"),
    GFLOPS("read bandwidth, all threads (GB/s)", "read_gbs"),
    INT("threads", "threads"), STR("isa (best tier)", "isa"), STR("cpu", "cpu"),
    {.title = "read buffer", .key = "read_buffer_bytes", .kind = LC_TABLE_BYTES},
};

lc_status lc_bench_peak_table(const lc_peak *pk, lc_table **out, lc_error *err) {
    if (!out || !pk) return lc_fail(err, LC_ERR_INVALID_ARG, "bench peak: no peak");
    char cpu[256];
    lc_cpu_model(cpu, sizeof cpu);
    const lc_table_value v[] = {
        lc_tv_real(pk->fma_gflops_1t), lc_tv_real(pk->fma_gflops), lc_tv_real(pk->fma_gflops_1t_avx2),
        lc_tv_real(pk->fma_gflops_avx2), lc_tv_real(pk->fma_gflops_1t_avx512), lc_tv_real(pk->fma_gflops_avx512),
        lc_tv_real(pk->read_gbs_1t), lc_tv_real(pk->read_gbs), lc_tv_int(pk->threads),
        lc_tv_str(lc_isa_name(pk->isa)), lc_tv_str(cpu), lc_tv_int((int64_t)pk->read_buffer_bytes)};
    return record(peak_cols, N_OF(peak_cols), v, out, err);
}

static const lc_table_col contend_cols[] = {
    STR("model", "model"), INT("threads", "threads"), INT("busy processes", "busy"),
    INT("context before the decode", "ctx"), INT("decode tokens per run", "decode_tokens"),
    INT("runs of each kind", "reps"), STR("OMP_WAIT_POLICY", "omp_wait_policy"),
    STR("GOMP_SPINCOUNT", "gomp_spincount"),
    GFLOPS("quiet, min tok/s", "quiet_tok_s_min"), GFLOPS("quiet, median tok/s", "quiet_tok_s_median"),
    GFLOPS("quiet, max tok/s", "quiet_tok_s_max"), GFLOPS("beside the busy, min tok/s", "loaded_tok_s_min"),
    GFLOPS("beside the busy, median tok/s", "loaded_tok_s_median"),
    GFLOPS("beside the busy, max tok/s", "loaded_tok_s_max"),
    {.title = "slowdown (median quiet / loaded)", .key = "slowdown", .kind = LC_TABLE_RATIO},
};

lc_status lc_bench_contend_table(const char *model_path, const lc_bench_contend_result *r, lc_table **out,
                                 lc_error *err) {
    if (!out || !r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench contend: no result");
    const char *wp = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");
    const lc_table_value v[] = {
        lc_tv_str(model_path), lc_tv_int(r->threads), lc_tv_int(r->busy), lc_tv_int(r->ctx), lc_tv_int(r->n_decode),
        lc_tv_int(r->reps), lc_tv_str(wp ? wp : ""), lc_tv_str(sc ? sc : ""), lc_tv_real(r->quiet.min),
        lc_tv_real(r->quiet.median), lc_tv_real(r->quiet.max), lc_tv_real(r->loaded.min),
        lc_tv_real(r->loaded.median), lc_tv_real(r->loaded.max), lc_tv_real(r->slowdown)};
    return record(contend_cols, N_OF(contend_cols), v, out, err);
}
#undef GFLOPS

static const lc_table_col rope_info[] = {
    STR("rope", "rope"), INT("positions tabled", "positions"), INT("heads", "heads"), INT("head dim", "head_dim"),
    {.title = "dims rotated", .kind = LC_TABLE_INT},
    {.title = "table", .key = "table_bytes", .kind = LC_TABLE_BYTES},
    GF("table build, ns per position", "table_build_ns_per_pos"), STR("isa (the layout kernels')", "isa"),
    {.title = "repetitions (best kept)", .kind = LC_TABLE_INT},
    {.title = "tokens per repetition", .kind = LC_TABLE_INT},
};

lc_status lc_bench_rope_info(const lc_rope_config *cfg, const lc_bench_rope_result *r, lc_table **out, lc_error *err) {
    if (!out || !cfg || !r || r->n_ctx < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "bench rope: no result");
    char desc[256];
    const lc_table_value v[] = {
        lc_tv_str(lc_rope_describe(cfg, desc, sizeof desc)), lc_tv_int(r->n_ctx), lc_tv_int(r->heads),
        lc_tv_int(r->head_dim), lc_tv_int(cfg->n_dims), lc_tv_int((int64_t)r->table_bytes),
        lc_tv_real(r->build_s / (double)r->n_ctx * 1e9), lc_tv_str(lc_isa_name(lc_isa_best())), lc_tv_int(r->reps),
        lc_tv_int(r->n_tok)};
    return record(rope_info, N_OF(rope_info), v, out, err);
}

static const lc_table_col grammar_info[] = {
    STR("vocabulary", "vocab"), INT("tokens", "n_vocab"), STR("grammar", "grammar"),
    {.title = "sampler chain", .kind = LC_TABLE_STR}, INT("steps", "steps"),
    INT("sentences completed", "sentences_completed"),
    {.title = "grammar vocabulary (trie) built, ms", .key = "vocab_build_ms", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    {.title = "steps the constrained sampler masked", .key = "mask_fraction", .kind = LC_TABLE_PERCENT},
    {.title = "tokens allowed (full mask), mean", .key = "mean_allowed", .kind = LC_TABLE_REAL, .fmt = "%.0f"},
};

lc_status lc_bench_grammar_info(const char *vocab, const char *grammar, const char *chain, double build_s,
                                const lc_bench_grammar_result *r, lc_table **out, lc_error *err) {
    if (!out || !r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench grammar: no result");
    const lc_table_value v[] = {lc_tv_str(vocab),         lc_tv_int(r->n_vocab),        lc_tv_str(grammar),
                                lc_tv_str(chain),         lc_tv_int(r->steps),          lc_tv_int(r->sentences),
                                lc_tv_real(build_s * 1e3), lc_tv_real(r->mask_fraction), lc_tv_real(r->mean_allowed)};
    return record(grammar_info, N_OF(grammar_info), v, out, err);
}

static const lc_table_col sample_cols[] = {
    {.title = "vocab", .key = "vocab", .kind = LC_TABLE_INT, .width = 7},
    {.title = "chain", .key = "chain", .kind = LC_TABLE_STR, .width = 34},
    {.title = "us per token", .key = "us_per_token", .kind = LC_TABLE_REAL, .fmt = "%.1f"},
    INT("candidates at the draw", "last_candidates"),
};

lc_status lc_bench_sample_table(lc_table **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench sample: no table");
    return lc_table_create(sample_cols, N_OF(sample_cols), out, err);
}

void lc_bench_sample_table_add(lc_table *t, int32_t vocab, const lc_bench_sample_row *rows, int n) {
    for (int c = 0; t && rows && c < n; c++)
        LC_TABLE_ADD(t, lc_tv_int(vocab), lc_tv_str(rows[c].chain), lc_tv_real(rows[c].us_per_token),
                     lc_tv_int(rows[c].last_candidates));
}
