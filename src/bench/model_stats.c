/* What `bench model` states beside its rows (bench.h): the model's layer
 * kinds and weight type, the warm-up, fractions of the machine's peak, a row
 * as JSON, and the spreads of repeated rows by layer kind. */
#include <stdio.h>
#include <string.h>

#include "longctx/bench.h"

void lc_bench_model_describe(const lc_model *m, lc_bench_model_info *out) {
    memset(out, 0, sizeof *out);
    out->weight_type = m->w.output.type;
    bool found = false;
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        out->layers[lc_model_layer_kind(&m->cfg, l)]++;
        if (!found && m->w.layers[l].wo.data) {
            out->weight_type = m->w.layers[l].wo.type;
            found = true;
        }
    }
}

lc_status lc_bench_model_warm_up(const lc_model *m, const lc_context_opts *opts, lc_error *err) {
    if (!m || !opts) return lc_fail(err, LC_ERR_INVALID_ARG, "bench model warm-up: no model or options");
    lc_context_opts co = *opts;
    co.n_ctx = 8;
    lc_context *ctx = NULL;
    lc_status st = lc_context_create(m, &co, &ctx, err);
    const int32_t tok = 0;
    if (st == LC_OK) st = lc_context_eval(ctx, &tok, 1, NULL, false, err);
    lc_context_free(ctx);
    return st;
}

void lc_bench_model_peak_fractions(const lc_bench_model_row *r, const lc_peak *pk, double *matmul, double *bandwidth) {
    *matmul = pk && pk->fma_gflops > 0 ? r->pf_matmul_gflops / pk->fma_gflops : 0.0;
    *bandwidth = pk && pk->read_gbs > 0 ? r->dc_gbs / pk->read_gbs : 0.0;
}

void lc_bench_model_row_json(lc_json_writer *w, const lc_bench_model_row *b, int64_t repeat, bool synthetic,
                             const lc_peak *pk) {
    double frac_mm, frac_bw;
    lc_bench_model_peak_fractions(b, pk, &frac_mm, &frac_bw);
    lc_json_begin_object(w);
    lc_json_kv_int(w, "ctx", b->ctx);
    lc_json_kv_int(w, "repeat", repeat);
    lc_json_kv_num(w, "kv_bytes", b->kv_bytes);
    lc_json_kv_num(w, "state_bytes", b->state_bytes);
    lc_json_kv_num(w, "ring_bytes", b->ring_bytes);
    lc_json_kv_num(w, "all_full_kv_bytes", b->all_full_kv_bytes);
    lc_json_kv_num(w, "deltanet_as_kv_bytes", b->dn_as_kv_bytes);
    if (synthetic) lc_json_kv_num(w, "fill_s", b->fill_s);
    lc_json_kv_num(w, "prefill_s", b->prefill_s);
    lc_json_kv_num(w, "prefill_tok_s", b->prefill_tok_s);
    lc_json_kv_num(w, "prefill_matmul_s", b->pf_matmul_s);
    lc_json_kv_num(w, "prefill_attn_s", b->pf_attn_s);
    lc_json_kv_num(w, "prefill_other_s", b->pf_other_s);
    lc_json_kv_num(w, "prefill_matmul_gflops", b->pf_matmul_gflops);
    lc_json_kv_num(w, "prefill_attn_gflops", b->pf_attn_gflops);
    if (pk && pk->fma_gflops > 0) lc_json_kv_num(w, "prefill_matmul_peak_frac", frac_mm);
    lc_json_kv_int(w, "decode_tokens", b->n_decode);
    lc_json_kv_num(w, "decode_s", b->decode_s);
    lc_json_kv_num(w, "decode_tok_s", b->decode_tok_s);
    lc_json_kv_num(w, "decode_matmul_s", b->dc_matmul_s);
    lc_json_kv_num(w, "decode_attn_s", b->dc_attn_s);
    lc_json_kv_num(w, "decode_other_s", b->dc_other_s);
    lc_json_kv_num(w, "decode_bytes_per_token", b->dc_bytes_per_tok);
    lc_json_kv_num(w, "decode_gbs", b->dc_gbs);
    if (pk && pk->read_gbs > 0) lc_json_kv_num(w, "decode_bw_frac", frac_bw);
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
        char key[48];
        snprintf(key, sizeof key, "decode_%s_layers_s", lc_layer_kind_name((lc_layer_kind)k));
        lc_json_kv_num(w, key, b->dc_layer_s[k]);
        snprintf(key, sizeof key, "decode_%s_mixer_s", lc_layer_kind_name((lc_layer_kind)k));
        lc_json_kv_num(w, key, b->dc_mixer_s[k]);
    }
    lc_json_end_object(w);
}

/* ms per decoded token of seconds s over row b's decode steps. */
static double ms_per_token(const lc_bench_model_row *b, double s) {
    return 1e3 * s / (double)(b->n_decode > 0 ? b->n_decode : 1);
}

lc_status lc_bench_model_kinds_at(const lc_bench_model_row *rows, int n_ctx, int n_rep, int i,
                                  lc_bench_model_kinds *out, lc_error *err) {
    if (!rows || !out || n_ctx < 1 || n_rep < 1 || n_rep > LC_BENCH_MODEL_MAX_REPEAT || i < 0 || i >= n_ctx)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench model: length %d of %d, %d repeats (1..%d)", i, n_ctx, n_rep,
                       LC_BENCH_MODEL_MAX_REPEAT);
    memset(out, 0, sizeof *out);
    out->ctx = rows[i].ctx;
    double v[LC_BENCH_MODEL_MAX_REPEAT];
    for (int r = 0; r < n_rep; r++) v[r] = ms_per_token(&rows[r * n_ctx + i], rows[r * n_ctx + i].decode_s);
    lc_bench_spread_of(v, n_rep, &out->decode_ms, NULL); /* 1 <= n_rep <= LC_BENCH_MODEL_MAX_REPEAT */
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
        for (int r = 0; r < n_rep; r++) v[r] = ms_per_token(&rows[r * n_ctx + i], rows[r * n_ctx + i].dc_layer_s[k]);
        lc_bench_spread_of(v, n_rep, &out->layer_ms[k], NULL);
        for (int r = 0; r < n_rep; r++) v[r] = ms_per_token(&rows[r * n_ctx + i], rows[r * n_ctx + i].dc_mixer_s[k]);
        lc_bench_spread_of(v, n_rep, &out->mixer_ms[k], NULL);
        out->layer_share[k] = out->decode_ms.median > 0 ? out->layer_ms[k].median / out->decode_ms.median : 0.0;
    }
    for (int r = 0; r < n_rep; r++) {
        const lc_bench_model_row *b = &rows[r * n_ctx + i];
        double in = 0;
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) in += b->dc_layer_s[k];
        v[r] = ms_per_token(b, b->decode_s - in);
    }
    lc_bench_spread_of(v, n_rep, &out->outside_ms, NULL);
    return LC_OK;
}

int lc_bench_model_deltanet_ratio(const lc_bench_model_row *rows, int n_ctx, int n_rep, lc_bench_spread *layers,
                                  lc_bench_spread *mixer) {
    const int D = LC_LAYER_DELTANET;
    double rl[LC_BENCH_MODEL_MAX_REPEAT], rm[LC_BENCH_MODEL_MAX_REPEAT];
    int n = 0;
    for (int q = 0; rows && n_ctx >= 1 && q < n_rep && q < LC_BENCH_MODEL_MAX_REPEAT; q++) {
        const lc_bench_model_row *x = &rows[q * n_ctx], *y = &rows[q * n_ctx + n_ctx - 1];
        if (!(x->dc_layer_s[D] > 0) || !(x->dc_mixer_s[D] > 0)) continue;
        rl[n] = ms_per_token(y, y->dc_layer_s[D]) / ms_per_token(x, x->dc_layer_s[D]);
        rm[n] = ms_per_token(y, y->dc_mixer_s[D]) / ms_per_token(x, x->dc_mixer_s[D]);
        n++;
    }
    memset(layers, 0, sizeof *layers);
    memset(mixer, 0, sizeof *mixer);
    if (n > 0) {
        lc_bench_spread_of(rl, n, layers, NULL);
        lc_bench_spread_of(rm, n, mixer, NULL);
    }
    return n;
}
