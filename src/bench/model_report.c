/* bench model's faces (bench.h): the heading, a line per row as it is
 * measured, the per-kind and memory tables of mixed models, the fractions of
 * the machine's peak, and the JSON document. */
#include <stdio.h>
#include <string.h>

#include "longctx/bench.h"
#include "longctx/model_info.h"
#include "longctx/json.h"
#include "longctx/sys.h"

void lc_bench_model_run_init(lc_bench_model_run *r, const char *model_path, const lc_model *m,
                             const lc_context_opts *opts) {
    memset(r, 0, sizeof *r);
    r->model_path = model_path;
    r->model = m;
    r->opts = opts;
    if (m) lc_bench_model_describe(m, &r->info);
    lc_cpu_model(r->cpu, sizeof r->cpu);
    r->threads = opts && opts->n_threads > 0 ? opts->n_threads : lc_cpu_count();
}

static lc_status usable(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rows,
                        lc_error *err) {
    if (!f || !r || !r->model || !r->opts || (n_rows > 0 && !rows) || n_rows < 0 || r->n_ctx < 0 ||
        (r->n_ctx > 0 && !r->ctxs))
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench model: no file, run, model, options or rows");
    return LC_OK;
}

static lc_status written(FILE *f, lc_error *err) {
    if (ferror(f)) return lc_fail(err, LC_ERR_IO, "bench model: writing the results failed");
    return LC_OK;
}

lc_status lc_bench_model_print_head(FILE *f, const lc_bench_model_run *r, lc_error *err) {
    lc_status st = usable(f, r, NULL, 0, err);
    if (st != LC_OK) return st;
    const lc_model_config *c = &r->model->cfg;
    const lc_context_opts *o = r->opts;
    fprintf(f, "model %s: %lld params, %s weights, %d layers, dim %d, heads %d/%d\n", r->model_path,
            (long long)lc_model_n_params(c), lc_dtype_name(r->info.weight_type), c->n_layers, c->dim, c->n_heads,
            c->n_kv_heads);
    fprintf(f, "cpu %s, %d threads, attn %s, kv %s/%s", r->cpu, r->threads, o->attn ? o->attn : "(model's, else flash)",
            lc_dtype_name(o->k_type), lc_dtype_name(o->v_type));
    if (r->peak.fma_gflops > 0)
        fprintf(f, "; peak %.1f GFLOP/s FMA, %.1f GB/s read", r->peak.fma_gflops, r->peak.read_gbs);
    const double huge = lc_model_huge_page_share(r->model);
    if (huge >= 0) fprintf(f, "\nweights in 2 MiB pages: %.0f %%", 100 * huge);
    if (r->sp_ranks > 0)
        fprintf(f, "\nsequence parallel (--sp): %d ranks of %d threads; prefill by ring attention, decode by one "
                   "allreduce per layer; KV MiB = the largest rank's shard",
                r->sp_ranks, r->threads);
    if (r->synthetic)
        fprintf(f, "\nsynthetic depth (--fill-kv random): each context is random K/V rows and DeltaNet states, not "
                   "a prefill; decode timings only");
    fprintf(f, "\n\n%8s | %10s %7s %7s %7s %9s | %9s %7s %7s %7s %9s %9s | %9s\n", "ctx", "prefill/s", "matmul",
            "attn", "other", "mm GF/s", "decode/s", "matmul", "attn", "other", "MB/token", "GB/s", "KV MiB");
    return written(f, err);
}

static double pct(double a, double total) { return total > 0 ? 100.0 * a / total : 0.0; }

lc_status lc_bench_model_print_row(FILE *f, const lc_bench_model_row *r, bool synthetic, lc_error *err) {
    if (!f || !r) return lc_fail(err, LC_ERR_INVALID_ARG, "bench model: no file or row");
    const double pt = r->pf_matmul_s + r->pf_attn_s + r->pf_other_s;
    const double dt = r->dc_matmul_s + r->dc_attn_s + r->dc_other_s;
    fprintf(f, "%8lld | ", (long long)r->ctx);
    if (synthetic) fprintf(f, "%10s %7s %7s %7s %9s", "synthetic", "-", "-", "-", "-");
    else
        fprintf(f, "%10.1f %6.1f%% %6.1f%% %6.1f%% %9.1f", r->prefill_tok_s, pct(r->pf_matmul_s, pt),
                pct(r->pf_attn_s, pt), pct(r->pf_other_s, pt), r->pf_matmul_gflops);
    fprintf(f, " | %9.1f %6.1f%% %6.1f%% %6.1f%% %9.2f %9.2f | %9.2f\n", r->decode_tok_s, pct(r->dc_matmul_s, dt),
            pct(r->dc_attn_s, dt), pct(r->dc_other_s, dt), r->dc_bytes_per_tok / 1e6, r->dc_gbs,
            r->kv_bytes / 1048576.0);
    fflush(f);
    return written(f, err);
}

/* Decode per layer kind at length index i: whole layers, the token mixer, and what is outside the layers. */
static void print_kinds_at(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int i, int n_rep) {
    lc_bench_model_kinds k;
    if (lc_bench_model_kinds_at(rows, r->n_ctx, n_rep, i, &k, NULL) != LC_OK) return;
    const lc_bench_spread d = k.decode_ms, o = k.outside_ms;
    fprintf(f, "%8lld  decode %9.2f [%9.2f, %9.2f] ms/token\n", (long long)k.ctx, d.median, d.min, d.max);
    for (int q = 0; q < LC_LAYER_KIND_COUNT; q++) {
        if (!r->info.layers[q]) continue;
        const lc_bench_spread l = k.layer_ms[q], m = k.mixer_ms[q];
        fprintf(f, "%8s  %2d %-8s %9.2f [%9.2f, %9.2f]  mixer %9.2f [%9.2f, %9.2f]  %5.1f%%\n", "", r->info.layers[q],
                lc_layer_kind_name((lc_layer_kind)q), l.median, l.min, l.max, m.median, m.min, m.max,
                100 * k.layer_share[q]);
    }
    fprintf(f, "%8s  outside layers %9.2f [%9.2f, %9.2f]  (embedding, classifier: the same work at any length)\n", "",
            o.median, o.min, o.max);
}

/* DeltaNet time per token at the last length over the first, paired within each repeat. */
static void print_deltanet_ratio(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rep) {
    lc_bench_spread l, m;
    if (lc_bench_model_deltanet_ratio(rows, r->n_ctx, n_rep, &l, &m) == 0) return;
    fprintf(f,
            "deltanet layers, time per token at %lld / at %lld: %.3f [%.3f, %.3f]; token mixer alone %.3f "
            "[%.3f, %.3f] (the ratio within each run: median [min, max]%s)\n",
            (long long)r->ctxs[r->n_ctx - 1], (long long)r->ctxs[0], l.median, l.min, l.max, m.median, m.min, m.max,
            r->interleave ? ", lengths decoded token by token in turn" : "");
}

static void print_memory(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows) {
    fprintf(f, "\nmemory per context (MiB): cache = attention KV + window rings + recurrent states; "
               "vs every layer full attention\n");
    fprintf(f, "%8s | %10s %10s %10s %10s | %12s %12s\n", "ctx", "cache", "KV", "rings", "states", "all full KV",
            "KV for DN");
    const double mib = 1.0 / 1048576.0;
    for (int i = 0; i < r->n_ctx; i++) {
        const lc_bench_model_row *b = &rows[i];
        fprintf(f, "%8lld | %10.2f %10.2f %10.2f %10.2f | %12.2f %12.2f\n", (long long)b->ctx, b->kv_bytes * mib,
                (b->kv_bytes - b->ring_bytes - b->state_bytes) * mib, b->ring_bytes * mib, b->state_bytes * mib,
                b->all_full_kv_bytes * mib, b->dn_as_kv_bytes * mib);
    }
}

/* Models with window or DeltaNet layers: the per-kind split, the DeltaNet ratio, memory. */
static void print_mixed(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rows) {
    const int n_rep = r->n_ctx > 0 ? n_rows / r->n_ctx : 0; /* complete repeats */
    if (n_rep == 0 || !(r->info.layers[LC_LAYER_WINDOW] > 0 || r->info.layers[LC_LAYER_DELTANET] > 0)) return;
    fprintf(f, "\ndecode per layer kind, ms per token: whole layers, then the token mixer alone (median [min, max] "
               "over %d run%s), share of the median decode time\n",
            n_rep, n_rep > 1 ? "s" : "");
    for (int i = 0; i < r->n_ctx; i++) print_kinds_at(f, r, rows, i, n_rep);
    if (r->n_ctx > 1 && r->info.layers[LC_LAYER_DELTANET]) print_deltanet_ratio(f, r, rows, n_rep);
    print_memory(f, r, rows);
}

static void print_fractions(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rows) {
    for (int pass = 0; pass < 2; pass++) {
        fprintf(f, pass ? "\ndecode bytes/s vs read bandwidth: " : "\nprefill matmul vs FMA peak: ");
        for (int i = 0; i < n_rows; i++) {
            double x[2];
            lc_bench_model_peak_fractions(&rows[i], &r->peak, &x[0], &x[1]);
            fprintf(f, "%s%lld: %.0f%%", i ? ", " : "", (long long)rows[i].ctx, 100 * x[pass]);
        }
    }
    fprintf(f, "\n");
}

lc_status lc_bench_model_print_summary(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows,
                                       int n_rows, lc_error *err) {
    lc_status st = usable(f, r, rows, n_rows, err);
    if (st != LC_OK) return st;
    print_mixed(f, r, rows, n_rows);
    if (n_rows > 0 && r->peak.fma_gflops > 0) print_fractions(f, r, rows, n_rows);
    return written(f, err);
}

lc_status lc_bench_model_write_json(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rows,
                                    lc_error *err) {
    lc_status st = usable(f, r, rows, n_rows, err);
    if (st != LC_OK) return st;
    const lc_context_opts *o = r->opts;
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_json_begin_object(&w);
    lc_json_kv_str(&w, "model", r->model_path);
    lc_json_kv_int(&w, "params", lc_model_n_params(&r->model->cfg));
    lc_json_kv_str(&w, "weight_type", lc_dtype_name(r->info.weight_type));
    lc_json_kv_str(&w, "cpu", r->cpu);
    lc_json_kv_int(&w, "threads", r->threads);
    lc_json_kv_str(&w, "attn", o->attn ? o->attn : "default");
    lc_json_kv_str(&w, "k_type", lc_dtype_name(o->k_type));
    lc_json_kv_str(&w, "v_type", lc_dtype_name(o->v_type));
    lc_json_kv_int(&w, "n_batch", o->n_batch);
    const double huge = lc_model_huge_page_share(r->model);
    if (huge >= 0) lc_json_kv_num(&w, "weights_huge_page_share", huge);
    if (r->sp_ranks > 0) lc_json_kv_int(&w, "sp_ranks", r->sp_ranks);
    lc_json_kv_str(&w, "depth", r->synthetic ? "synthetic (--fill-kv random)" : "prefill");
    lc_json_key(&w, "layers_per_kind");
    lc_json_begin_object(&w);
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++)
        lc_json_kv_int(&w, lc_layer_kind_name((lc_layer_kind)k), r->info.layers[k]);
    lc_json_end_object(&w);
    if (r->peak.fma_gflops > 0) {
        lc_json_kv_num(&w, "peak_fma_gflops", r->peak.fma_gflops);
        lc_json_kv_num(&w, "peak_read_gbs", r->peak.read_gbs);
    }
    lc_json_key(&w, "rows");
    lc_json_begin_array(&w);
    for (int i = 0; i < n_rows; i++)
        lc_bench_model_row_json(&w, &rows[i], r->n_ctx > 0 ? i / r->n_ctx : 0, r->synthetic, &r->peak);
    lc_json_end_array(&w);
    lc_json_end_object(&w);
    lc_json_finish(&w);
    return written(f, err);
}

lc_status lc_bench_model_measure(const lc_model *m, const lc_bench_model_run *r, int64_t n_decode, uint64_t seed,
                                 int n_repeat, lc_bench_model_row *rows, int *n_rows, FILE *f, lc_error *err) {
    *n_rows = 0;
    if (!m || !r || !r->opts || !rows || !r->ctxs || r->n_ctx < 1 || r->n_ctx > LC_BENCH_MODEL_MAX_SET ||
        n_repeat < 1 || n_repeat > LC_BENCH_MODEL_MAX_REPEAT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench model: %d lengths (1..%d), %d repeats (1..%d)",
                       r ? r->n_ctx : 0, LC_BENCH_MODEL_MAX_SET, n_repeat, LC_BENCH_MODEL_MAX_REPEAT);
    const int n_set = r->interleave ? r->n_ctx : 1;
    for (int j = 0; j < r->n_ctx * n_repeat; j += n_set) {
        const lc_status st = lc_bench_model_cells(m, r->opts, r->ctxs + j % r->n_ctx, n_set, n_decode, seed,
                                                  r->synthetic, &rows[j], err);
        if (st != LC_OK) return st;
        *n_rows = j + n_set;
        for (int q = j; q < j + n_set && f; q++) lc_bench_model_print_row(f, &rows[q], r->synthetic, NULL);
    }
    return LC_OK;
}
