/* The rows of the bench cells as lc_tables (bench.h): each measurement's
 * columns declared once — the title `longctx bench` prints, the key of its
 * JSON and CSV — and the rows added from the library's row structs. */
#include <math.h>

#include "longctx/bench.h"

#define INT(title_, key_, w_) {.title = title_, .key = key_, .kind = LC_TABLE_INT, .width = w_}
#define STR(title_, key_, w_) {.title = title_, .key = key_, .kind = LC_TABLE_STR, .width = w_}
#define REAL(title_, key_, fmt_, w_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = fmt_, .width = w_}
#define MS(title_, key_, fmt_, w_) \
    {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = fmt_, .scale = 1e3, .width = w_}
#define BYTES(title_, key_, w_) {.title = title_, .key = key_, .kind = LC_TABLE_BYTES, .width = w_}
#define PCT(title_, key_, w_) {.title = title_, .key = key_, .kind = LC_TABLE_PERCENT, .fmt = "%.0f", .width = w_}
#define HIDDEN(key_, kind_, skip_) {.key = key_, .kind = kind_, .skip = (skip_)}
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The table's status; on a mistake (no memory) the table is freed. */
static lc_status finish(lc_table **out, lc_error *err) {
    const lc_status st = lc_table_status(*out, err);
    if (st != LC_OK) {
        lc_table_free(*out);
        *out = NULL;
    }
    return st;
}

/* A table of cols, its rows added by add(t, ctx, i) for i < n. */
static lc_status make(const lc_table_col *cols, int n_cols, int n, void (*add)(lc_table *, const void *, int),
                      const void *ctx, lc_table **out, lc_error *err) {
    const lc_status st = lc_table_create(cols, n_cols, out, err);
    if (st != LC_OK) return st;
    for (int i = 0; i < n; i++) add(*out, ctx, i);
    return finish(out, err);
}

/* ---- bench attn: the last two columns, the peak, only with one ---------------- */

static const lc_table_col attn_cols[] = {
    STR("method", "method", 18), INT("n_q", "n_q", 8), INT("n_kv", "n_kv", 8), INT("d", "d", 4),
    INT("heads", "heads", 5), INT("kv_heads", "kv_heads", 0),
    {.title = "causal", .key = "causal", .kind = LC_TABLE_BOOL, .width = 6},
    STR("kv", "kv_type", 4), HIDDEN("threads", LC_TABLE_INT, 0),
    {.title = "ms", .key = "seconds", .kind = LC_TABLE_REAL, .scale = 1e3, .width = 10},
    HIDDEN("seconds_min", LC_TABLE_REAL, LC_TABLE_NO_CSV),
    {.title = "reps", .key = "reps", .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_CSV},
    HIDDEN("flops", LC_TABLE_REAL, LC_TABLE_NO_CSV),
    REAL("GFLOP/s", "gflops", "%.1f", 9), REAL("KV GB/s", "kv_read_gbs", "%.1f", 8),
    PCT("%peak", "fraction_of_peak", 6),
    {.title = "xnaive", .key = "speedup_vs_naive", .kind = LC_TABLE_RATIO, .fmt = "%.1f", .width = 8},
    BYTES("workspace", "workspace_bytes", 10), BYTES("rss+", "rss_bytes", 10),
    HIDDEN("peak_rss_bytes", LC_TABLE_BYTES, 0), HIDDEN("io_bytes", LC_TABLE_BYTES, 0), STR("note", "error", 0),
    HIDDEN("peak_fma_gflops", LC_TABLE_REAL, LC_TABLE_NO_TEXT | LC_TABLE_NO_CSV),
    HIDDEN("peak_read_gbs", LC_TABLE_REAL, LC_TABLE_NO_TEXT | LC_TABLE_NO_CSV),
};
enum { N_ATTN = N_OF(attn_cols), N_ATTN_PEAK = 2 };

lc_status lc_bench_attn_table(const lc_peak *pk, lc_table **out, lc_error *err) {
    return lc_table_create(attn_cols, pk ? N_ATTN : N_ATTN - N_ATTN_PEAK, out, err);
}

void lc_bench_attn_table_add(lc_table *t, const lc_bench_attn_row *r, const lc_peak *pk) {
    const bool ok = !r->error[0];
    const lc_table_value v[N_ATTN] = {
        lc_tv_str(r->m->spec), lc_tv_int(r->n_q), lc_tv_int(r->n_kv), lc_tv_int(r->d), lc_tv_int(r->heads),
        lc_tv_int(r->kv_heads), lc_tv_int(r->causal), lc_tv_str(lc_dtype_name(r->kv_type)), lc_tv_int(r->threads),
        lc_tv_real(ok ? r->r.seconds : NAN), lc_tv_real(ok ? r->r.seconds_min : NAN), lc_tv_int(r->r.reps),
        lc_tv_real(r->r.flops), lc_tv_real(ok ? r->r.gflops : NAN), lc_tv_real(ok && r->n_q == 1 ? r->kv_gbs : NAN),
        lc_tv_real(ok && pk ? r->frac_peak : NAN), lc_tv_real(r->speedup > 0 ? r->speedup : NAN),
        lc_tv_int((int64_t)r->r.workspace_bytes), lc_tv_int((int64_t)r->r.rss_growth_bytes),
        lc_tv_int((int64_t)r->r.peak_rss_bytes), lc_tv_int((int64_t)r->r.io_bytes), lc_tv_str(ok ? NULL : r->error),
        lc_tv_real(pk ? pk->fma_gflops : NAN), lc_tv_real(pk ? pk->read_gbs : NAN)};
    lc_table_add_row(t, v, pk ? N_ATTN : N_ATTN - N_ATTN_PEAK);
}

/* ---- bench matmul ---------------------------------------------------------------- */

static const lc_table_col matmul_cols[] = {
    STR("type", "type", 7), INT("n", "n_tok", 6), INT("t", "threads", 3), INT("reps", "reps", 0),
    INT("cp", "copies", 3), BYTES("weights", "weight_bytes", 10),
    MS("min ms", "seconds_min", NULL, 10), MS("median ms", "seconds_median", NULL, 10),
    MS("max ms", "seconds_max", NULL, 10),
    REAL("GB/s", "gbs", "%.2f", 8), REAL("GFLOP/s", "gflops", "%.2f", 8),
    REAL("%bw", "pct_read_bw", "%.1f", 6), REAL("%fma", "pct_fma_peak", "%.1f", 6),
    MS("cpu ms", "cpu_seconds_median", NULL, 9), REAL("cpuGFLOP", "cpu_gflops", "%.2f", 9),
};

static void matmul_add(lc_table *t, const void *rows, int i) {
    const lc_bench_matmul_row *c = (const lc_bench_matmul_row *)rows + i;
    LC_TABLE_ADD(t, lc_tv_str(c->type), lc_tv_int(c->n_tok), lc_tv_int(c->threads), lc_tv_int(c->reps),
                 lc_tv_int(c->copies), lc_tv_int((int64_t)c->weight_bytes), lc_tv_real(c->s_min), lc_tv_real(c->s_med),
                 lc_tv_real(c->s_max), lc_tv_real(c->gbs), lc_tv_real(c->gflops), lc_tv_real(c->pct_bw),
                 lc_tv_real(c->pct_fma), lc_tv_real(c->cpu_med), lc_tv_real(c->cpu_gflops));
}

lc_status lc_bench_matmul_table(const lc_bench_matmul_row *rows, int n, lc_table **out, lc_error *err) {
    return make(matmul_cols, N_OF(matmul_cols), n, matmul_add, rows, out, err);
}

/* ---- bench kv -------------------------------------------------------------------- */

static const lc_table_col kv_cols[] = {
    INT("tokens", "tokens", 10), REAL("decode best", "decode_tok_s_best", "%.2f", 12),
    REAL("decode med", "decode_tok_s_median", "%.2f", 12), REAL("baseline med", "baseline_tok_s_median", "%.2f", 12),
    {.title = "vs baseline", .key = "vs_baseline", .kind = LC_TABLE_RATIO, .fmt = "%.3f", .width = 12},
    REAL("prefill t/s", "prefill_tok_s", "%.1f", 12), BYTES("rss", "rss", 10), BYTES("kv bytes", "kv_bytes", 10),
    INT("held", "held", 8), INT("rebases", "rebases", 8),
};

static void kv_add(lc_table *t, const void *rows, int i) {
    const lc_bench_kv_row *r = (const lc_bench_kv_row *)rows + i;
    LC_TABLE_ADD(t, lc_tv_int(r->at), lc_tv_real(r->best), lc_tv_real(r->median), lc_tv_real(r->base_median),
                 lc_tv_real(r->ratio), lc_tv_real(r->prefill_tok_s), lc_tv_int((int64_t)r->rss),
                 lc_tv_int((int64_t)r->kv.bytes), lc_tv_int(r->kv.n_used), lc_tv_int(r->kv.n_shifts));
}

lc_status lc_bench_kv_table(const lc_bench_kv_row *rows, int n, lc_table **out, lc_error *err) {
    return make(kv_cols, N_OF(kv_cols), n, kv_add, rows, out, err);
}

/* ---- bench train: steps, the GEMM, the attention layers ---------------------------- */

static const lc_table_col train_cols[] = {
    INT("ctx", "ctx", 7), STR("attn", "attn", 6), HIDDEN("ran", LC_TABLE_BOOL, 0),
    MS("step ms", "step_s", "%.1f", 9), MS("cpu ms", "cpu_s", "%.1f", 9), REAL("tok/s", "tokens_per_s", "%.0f", 9),
    REAL("GFLOP/s", "gflops", "%.1f", 9), PCT("%peak", NULL, 5),
    HIDDEN("matmul_s", LC_TABLE_REAL, 0), PCT("mm%", NULL, 5), HIDDEN("attention_s", LC_TABLE_REAL, 0),
    PCT("attn%", NULL, 5), BYTES("activations", "activation_bytes", 11),
    BYTES("attn state", "attention_state_bytes", 11), HIDDEN("planned_total_bytes", LC_TABLE_BYTES, 0),
    BYTES("peak RSS", "peak_rss_bytes", 11), BYTES("RSS growth", "rss_growth_bytes", 11), STR("note", "note", 0),
};

typedef struct {
    const void *rows;
    const lc_peak *pk;
    const void *extra; /* train attn: the config; tokenize: the names */
} rows_of;

void lc_bench_train_table_add(lc_table *t, const lc_bench_train_row *r, const lc_peak *pk) {
    const double step = r->ran ? r->step_s : NAN, peak = pk ? pk->fma_gflops : NAN;
    LC_TABLE_ADD(t, lc_tv_int(r->ctx), lc_tv_str(r->attn), lc_tv_int(r->ran), lc_tv_real(step),
                 lc_tv_real(r->ran ? r->cpu_s : NAN), lc_tv_real(r->ran ? r->tok_s : NAN),
                 lc_tv_real(r->ran ? r->gflops : NAN), lc_tv_real(r->ran ? r->gflops / peak : NAN),
                 lc_tv_real(r->ran ? r->matmul_s : NAN), lc_tv_real(r->matmul_s / step),
                 lc_tv_real(r->ran ? r->attn_s : NAN), lc_tv_real(r->attn_s / step), lc_tv_int((int64_t)r->activations),
                 lc_tv_int((int64_t)r->attention), lc_tv_int((int64_t)r->total), lc_tv_int((int64_t)r->peak_rss),
                 lc_tv_int((int64_t)r->rss_growth), lc_tv_str(r->ran ? NULL : r->note));
}

static void train_add(lc_table *t, const void *ctx, int i) {
    const rows_of *ro = ctx;
    lc_bench_train_table_add(t, (const lc_bench_train_row *)ro->rows + i, ro->pk);
}

lc_status lc_bench_train_table(const lc_bench_train_row *rows, int n, const lc_peak *pk, lc_table **out,
                               lc_error *err) {
    const rows_of ro = {rows, pk, NULL};
    return make(train_cols, N_OF(train_cols), n, train_add, &ro, out, err);
}

static const lc_table_col gemm_cols[] = {
    STR("product", "shape", 32), INT("M", "m", 0), INT("N", "n", 0), INT("K", "k", 0),
    HIDDEN("trans_a", LC_TABLE_BOOL, 0), HIDDEN("trans_b", LC_TABLE_BOOL, 0),
    REAL("1 thread", "gflops_1t", "%.1f", 9), PCT("%peak", NULL, 5), REAL("1t cpu", "gflops_1t_cpu_time", "%.1f", 9),
    REAL("threads", "gflops", "%.1f", 9), PCT("%peak", NULL, 5),
};

static void gemm_add(lc_table *t, const void *ctx, int i) {
    const rows_of *ro = ctx;
    const lc_bench_gemm_row *r = (const lc_bench_gemm_row *)ro->rows + i;
    const double pk1 = ro->pk ? ro->pk->fma_gflops_1t : NAN, pk = ro->pk ? ro->pk->fma_gflops : NAN;
    LC_TABLE_ADD(t, lc_tv_str(r->what), lc_tv_int(r->m), lc_tv_int(r->n), lc_tv_int(r->k), lc_tv_int(r->trans_a),
                 lc_tv_int(r->trans_b), lc_tv_real(r->gflops_1t), lc_tv_real(r->gflops_1t / pk1),
                 lc_tv_real(r->gflops_1t_cpu), lc_tv_real(r->gflops), lc_tv_real(r->gflops / pk));
}

lc_status lc_bench_gemm_table(const lc_bench_gemm_row *rows, int n, const lc_peak *pk, lc_table **out, lc_error *err) {
    const rows_of ro = {rows, pk, NULL};
    return make(gemm_cols, N_OF(gemm_cols), n, gemm_add, &ro, out, err);
}

#define GFS {.title = "GFLOP/s", .kind = LC_TABLE_REAL, .fmt = "%.1f", .width = 7}
static const lc_table_col train_attn_cols[] = {
    INT("ctx", "ctx", 7),
    MS("flash fwd", "flash_forward_s", "%.1f", 9), GFS, MS("flash bwd", "flash_backward_s", "%.1f", 9), GFS,
    MS("naive fwd", "naive_forward_s", "%.1f", 9), GFS, MS("naive bwd", "naive_backward_s", "%.1f", 9), GFS,
    MS("lin fwd", "linear_forward_s", "%.1f", 9), MS("lin bwd", "linear_backward_s", "%.1f", 9),
    BYTES("flash mem", "flash_bytes", 11), BYTES("naive mem", "naive_bytes", 11),
    BYTES("linear mem", "linear_bytes", 11),
};
#undef GFS

static void train_attn_add(lc_table *t, const void *ctx, int i) {
    const rows_of *ro = ctx;
    const lc_bench_train_attn_row *r = (const lc_bench_train_attn_row *)ro->rows + i;
    const lc_train_config *c = ro->extra;
    const lc_model_config *m = &c->model;
    /* GFLOP per call: 4 hd per visible (causal) pair and head forward, 10 hd backward */
    const double pairs = (double)r->ctx * (double)(r->ctx + 1) / 2;
    const double fwd = 4.0 * (double)c->batch * m->n_heads * m->head_dim * pairs / 1e9;
    const double bwd = fwd * 10 / 4;
    LC_TABLE_ADD(t, lc_tv_int(r->ctx), lc_tv_real(r->flash_fwd), lc_tv_real(fwd / r->flash_fwd),
                 lc_tv_real(r->flash_bwd), lc_tv_real(bwd / r->flash_bwd), lc_tv_real(r->naive_fwd),
                 lc_tv_real(fwd / r->naive_fwd), lc_tv_real(r->naive_bwd), lc_tv_real(bwd / r->naive_bwd),
                 lc_tv_real(r->lin_fwd), lc_tv_real(r->lin_bwd), lc_tv_int((int64_t)r->flash_bytes),
                 lc_tv_int((int64_t)r->naive_bytes), lc_tv_int((int64_t)r->lin_bytes));
}

lc_status lc_bench_train_attn_table(const lc_train_config *c, const lc_bench_train_attn_row *rows, int n,
                                    lc_table **out, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "bench train attention table: no config");
    const rows_of ro = {rows, NULL, c};
    return make(train_attn_cols, N_OF(train_attn_cols), n, train_attn_add, &ro, out, err);
}

/* ---- bench tokenize, rope, grammar ------------------------------------------------ */

static const lc_table_col tokenize_cols[] = {
    STR("tokenizer", "tokenizer", 28), STR("kind", "kind", 4), HIDDEN("bytes", LC_TABLE_INT, 0),
    INT("tokens", "tokens", 9), REAL("B/token", NULL, "%.2f", 8), MS("encode ms", "encode_s", "%.2f", 10),
    REAL("enc MB/s", NULL, "%.1f", 9), REAL("Mtokens/s", NULL, "%.2f", 10), MS("decode ms", "decode_s", "%.2f", 10),
    REAL("dec MB/s", NULL, "%.1f", 9),
    {.title = "round trip exact", .key = "round_trip_exact", .kind = LC_TABLE_BOOL},
};

static void tokenize_add(lc_table *t, const void *ctx, int i) {
    const rows_of *ro = ctx;
    const lc_bench_tokenize_row *r = (const lc_bench_tokenize_row *)ro->rows + i;
    const double mb = (double)r->bytes / 1e6;
    LC_TABLE_ADD(t, lc_tv_str(((const char *const *)ro->extra)[i]), lc_tv_str(r->kind), lc_tv_int(r->bytes),
                 lc_tv_int(r->tokens), lc_tv_real(r->tokens ? (double)r->bytes / (double)r->tokens : NAN),
                 lc_tv_real(r->encode_s), lc_tv_real(mb / r->encode_s),
                 lc_tv_real((double)r->tokens / r->encode_s / 1e6),
                 lc_tv_real(r->decode_s), lc_tv_real(mb / r->decode_s), lc_tv_int(r->round_trip_exact));
}

lc_status lc_bench_tokenize_table(const lc_bench_tokenize_row *rows, const char *const *names, int n, lc_table **out,
                                  lc_error *err) {
    if (n > 0 && (!rows || !names)) return lc_fail(err, LC_ERR_INVALID_ARG, "bench tokenize table: no rows");
    const rows_of ro = {rows, NULL, (const void *)names};
    return make(tokenize_cols, N_OF(tokenize_cols), n, tokenize_add, &ro, out, err);
}

#define NS(title_, key_) REAL(title_, key_, "%.1f", 8)
#define PAIR REAL("/pair", NULL, "%.2f", 5)
static const lc_table_col rope_cols[] = {
    {.title = "ns per token", .kind = LC_TABLE_STR, .skip = LC_TABLE_ROW_KEY},
    NS("table", "table_ns"), PAIR, NS("table scalar", "table_scalar_ns"), PAIR,
    NS("on the fly", "fly_ns"), PAIR, NS("fly scalar", "fly_scalar_ns"), PAIR,
};
#undef NS
#undef PAIR

lc_status lc_bench_rope_table(const lc_bench_rope_result *r, int heads, int n_dims, lc_table **out, lc_error *err) {
    if (!r || heads < 1 || n_dims < 2)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench rope table: %d heads x %d dims", heads, n_dims);
    const lc_status st = lc_table_create(rope_cols, N_OF(rope_cols), out, err);
    const double pairs = (double)heads * n_dims / 2.0;
    for (int l = 0; st == LC_OK && l < 2; l++) {
        const double *ns = r->ns[l];
        LC_TABLE_ADD(*out, lc_tv_str(l ? "neox" : "norm"), lc_tv_real(ns[0]), lc_tv_real(ns[0] / pairs),
                     lc_tv_real(ns[1]), lc_tv_real(ns[1] / pairs), lc_tv_real(ns[2]), lc_tv_real(ns[2] / pairs),
                     lc_tv_real(ns[3]), lc_tv_real(ns[3] / pairs));
    }
    return st == LC_OK ? finish(out, err) : st;
}

#define US(title_, key_) REAL(title_, key_, "%.1f", 9)
static const lc_table_col grammar_cols[] = {
    {.title = "us per token", .kind = LC_TABLE_STR, .skip = LC_TABLE_ROW_KEY},
    US("min", "min_us"), US("median", "median_us"), US("max", "max_us"), US("mean", "mean_us"),
};
#undef US

lc_status lc_bench_grammar_table(const lc_bench_grammar_result *r, lc_table **out, lc_error *err) {
    if (!r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench grammar table: no result");
    const lc_status st = lc_table_create(grammar_cols, N_OF(grammar_cols), out, err);
    const char *names[3] = {"plain", "constrained", "full_mask"};
    const lc_bench_us *us[3] = {&r->plain, &r->constrained, &r->full_mask};
    for (int k = 0; st == LC_OK && k < 3; k++)
        LC_TABLE_ADD(*out, lc_tv_str(names[k]), lc_tv_real(us[k]->min), lc_tv_real(us[k]->median),
                     lc_tv_real(us[k]->max), lc_tv_real(us[k]->mean));
    return st == LC_OK ? finish(out, err) : st;
}
