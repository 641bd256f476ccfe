/*
 * Section 5: three layer layouts on equal random shapes (same dim, layers,
 * heads, experts): every layer full attention, gpt-oss's learned sinks with
 * alternating window / full layers, and Qwen3-Next's hybrid of Gated
 * DeltaNet and full attention (3:1). For each, from 256 tokens to 1M:
 *   - memory: the context's cache (attention KV, window rings, recurrent
 *     states), exact from lc_context_memory_need at every length;
 *   - decode time per token, measured where the time budget allows at
 *     synthetic depth (lc_context_fill_synthetic: a prefill of 64K tokens on
 *     2 cores would take the whole budget; decode costs the same on random
 *     rows), per layer kind, and beyond that a fit labelled as such: a + b n
 *     for the full-attention layers (least squares on the measured points),
 *     a constant for window and DeltaNet layers and for what lies outside
 *     the layers (their mean).
 * The models are written with lc_model_write_random_gguf into a temporary
 * directory, loaded, and the files removed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/bench.h"
#include "longctx/plot.h"
#include "report/report_internal.h"

static const char *const layout_names[LY_COUNT] = {"full attention", "sinks + window (gpt-oss)",
                                                   "hybrid DeltaNet (Qwen3-Next)"};
static const char *const layout_keys[LY_COUNT] = {"full", "sinks_window", "hybrid_deltanet"};

static void shape_config(const ly_result *y, int layout, lc_model_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "%s", layout == LY_HYBRID ? "qwen3next" : "gpt-oss");
    c->dim = y->dim;
    c->hidden_dim = y->expert_ffn;
    c->n_layers = y->layers;
    c->n_heads = y->heads;
    c->n_kv_heads = y->kv_heads;
    c->head_dim = y->head_dim;
    c->vocab_size = y->vocab;
    c->ctx_train = (int64_t)1 << 20;
    c->norm_eps = 1e-6f;
    lc_rope_config_init(&c->rope, c->head_dim);
    c->rope.freq_base = 1000000.0f;
    c->rope.orig_ctx = c->ctx_train;
    lc_model_family_defaults(c);
    c->fam.n_experts = y->experts;
    c->fam.n_experts_used = y->experts_used;
    c->fam.expert_ffn = y->expert_ffn;
    if (layout == LY_SINKS_WINDOW) c->fam.window = y->window;
    if (layout == LY_HYBRID) {
        c->rope.n_dims = LC_MAX(2, c->head_dim / 4);
        c->fam.full_attn_interval = y->interval;
        c->fam.ssm_conv_kernel = 4;
        c->fam.ssm_n_k_heads = y->kv_heads * 2;
        c->fam.ssm_n_v_heads = y->heads;
        c->fam.ssm_d_k = c->fam.ssm_d_v = y->head_dim;
    }
}

static lc_status make_model(const ly_result *y, int layout, const char *dir, lc_model **out, lc_error *err) {
    lc_model_config c;
    shape_config(y, layout, &c);
    char path[600];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, layout_keys[layout]);
    lc_quant_spec spec;
    lc_quant_spec_pure(LC_DTYPE_Q8_0, &spec);
    lc_status st = lc_model_write_random_gguf(path, &c, &spec, 1, err);
    if (st == LC_OK) st = lc_model_load(path, NULL, out, err);
    unlink(path); /* the model maps it; the name can go */
    return st;
}

static void ly_opts(const ly_result *y, const lc_report *r, int64_t n, lc_context_opts *o) {
    lc_context_opts_init(o);
    o->n_ctx = n + y->n_decode;
    o->n_batch = 256;
    o->n_threads = r->threads;
}

/* One measured cell: fill to depth n, decode y->n_decode tokens (the
 * synthetic cell of `bench model`, lc_bench_model_cells). */
static lc_status measure(const ly_result *y, const lc_report *r, const lc_model *m, int64_t n, ly_cell *cell,
                         lc_error *err) {
    lc_context_opts o;
    ly_opts(y, r, n, &o);
    lc_bench_model_row b;
    const lc_status st = lc_bench_model_cells(m, &o, &n, 1, y->n_decode, r->seed, true, &b, err);
    cell->fill_s = b.fill_s;
    if (st == LC_OK) {
        const double nd = (double)y->n_decode;
        cell->ms = 1e3 * b.decode_s / nd;
        double layers = 0;
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
            cell->ms_kind[k] = 1e3 * b.dc_layer_s[k] / nd;
            layers += cell->ms_kind[k];
        }
        cell->ms_rest = cell->ms - layers;
        cell->measured = true;
    }
    return st;
}

/* The fit of one layout from its measured cells (see the top). */
static void fit(ly_row *row, const ly_result *y) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, cnt = 0;
    double mean[LC_LAYER_KIND_COUNT] = {0}, rest = 0;
    for (int i = 0; i < y->n; i++) {
        const ly_cell *c = &row->cell[i];
        if (!c->measured) continue;
        const double x = (double)y->len[i], g = c->ms_kind[LC_LAYER_GLOBAL];
        sx += x, sy += g, sxx += x * x, sxy += x * g, cnt += 1;
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) mean[k] += c->ms_kind[k];
        rest += c->ms_rest;
    }
    row->n_measured = (int)cnt;
    if (cnt < 1) return;
    const double den = cnt * sxx - sx * sx;
    row->fit_b = cnt >= 2 && den > 0 ? (cnt * sxy - sx * sy) / den : 0.0;
    row->fit_a = (sy - row->fit_b * sx) / cnt;
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) row->fit_const[k] = mean[k] / cnt;
    row->fit_rest = rest / cnt;
    for (int i = 0; i < y->n; i++) {
        const double x = (double)y->len[i];
        double p = row->fit_rest + (row->n_kind[LC_LAYER_GLOBAL] ? row->fit_a + row->fit_b * x : 0.0);
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++)
            if (k != LC_LAYER_GLOBAL) p += row->fit_const[k];
        row->cell[i].fit_ms = p;
    }
}

lc_status sec_layouts_run(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    ly_result *y = &r->ly;
    memset(y, 0, sizeof *y);
    const bool tiny = r->tiny;
    y->dim = tiny ? 64 : 512;
    y->layers = tiny ? 4 : 8;
    y->heads = tiny ? 4 : 8;
    y->kv_heads = 2;
    y->head_dim = tiny ? 16 : 64;
    y->vocab = tiny ? 256 : 4096;
    y->experts = 4;
    y->experts_used = 2;
    y->expert_ffn = tiny ? 64 : 512;
    y->window = 128;
    y->interval = 4;
    y->n_decode = tiny ? 2 : r->quick ? 4 : 8;
    for (int64_t n = 256; n <= ((int64_t)1 << 20) && y->n < LY_MAX_N; n *= 4) y->len[y->n++] = n;

    char dir[512];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/longctx-report-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        sec_note(r, LC_REPORT_LAYOUTS, "no temporary directory for the random models (%s): nothing measured", dir);
        r->sec[LC_REPORT_LAYOUTS].state = LC_REPORT_SKIPPED;
    }
    lc_model *models[LY_COUNT] = {NULL, NULL, NULL};
    for (int k = 0; k < LY_COUNT; k++) {
        ly_row *row = &y->row[k];
        snprintf(row->name, sizeof row->name, "%s", layout_names[k]);
        lc_model_config c;
        shape_config(y, k, &c);
        row->n_params = lc_model_n_params(&c);
        for (int32_t l = 0; l < c.n_layers; l++) row->n_kind[lc_model_layer_kind(&c, l)]++;
        lc_error e;
        if (r->sec[LC_REPORT_LAYOUTS].state != LC_REPORT_SKIPPED && make_model(y, k, dir, &models[k], &e) != LC_OK) {
            snprintf(row->why, sizeof row->why, "%.300s", e.msg);
            sec_note(r, LC_REPORT_LAYOUTS, "%s: the random model could not be made: %s", row->name, e.msg);
        }
    }
    if (r->sec[LC_REPORT_LAYOUTS].state != LC_REPORT_SKIPPED) rmdir(dir);

    /* memory: exact, every length (a model of the same config answers without the file) */
    for (int k = 0; k < LY_COUNT; k++)
        for (int i = 0; i < y->n; i++) {
            ly_cell *cell = &y->row[k].cell[i];
            cell->cache_bytes = cell->state_bytes = cell->ring_bytes = NAN;
            cell->ms = cell->fit_ms = NAN;
            if (!models[k]) continue;
            lc_context_opts o;
            ly_opts(y, r, y->len[i], &o);
            lc_context_memory mem;
            lc_error e;
            if (lc_context_memory_need(models[k], &o, &mem, &e) != LC_OK) continue;
            cell->cache_bytes = (double)mem.kv_bytes;
            cell->state_bytes = (double)mem.state_bytes;
            cell->ring_bytes = (double)mem.ring_bytes;
            cell->total_bytes = (double)mem.total_bytes;
        }

    /* time: length-major over the layouts, while the estimate fits in the section's own share of the
     * budget (not the time earlier sections left over: --quick stays as long as it was) */
    const size_t avail = lc_mem_available_bytes();
    const double t_start = lc_time_now(), own = r->sec[LC_REPORT_LAYOUTS].budget;
    const int64_t max_measured = tiny ? 4096 : ((int64_t)1 << 20);
    lc_status st = LC_OK;
    for (int i = 0; i < y->n && st == LC_OK; i++) {
        for (int k = 0; k < LY_COUNT && st == LC_OK; k++) {
            ly_row *row = &y->row[k];
            ly_cell *cell = &row->cell[i];
            if (!models[k]) continue;
            if (!rrun_progress(run, (double)(i * LY_COUNT + k) / (double)(y->n * LY_COUNT), row->name)) {
                st = lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
                break;
            }
            char lb[32], a[32], b[32];
            /* estimate: the previous length's decode scaled by the length ratio (an upper bound: attention
             * is linear in n, the rest constant), plus filling at the previous rate */
            double est = 0.5;
            if (i > 0 && row->cell[i - 1].measured) {
                const double ratio = (double)y->len[i] / (double)y->len[i - 1];
                est = row->cell[i - 1].fill_s * ratio + 1e-3 * row->cell[i - 1].ms * ratio * (double)y->n_decode;
            } else if (i > 0) {
                snprintf(cell->why, sizeof cell->why, "%s", row->cell[i - 1].why);
                continue;
            }
            if (avail && cell->total_bytes > 0.5 * (double)avail) {
                snprintf(cell->why, sizeof cell->why, "needs %s, half of the available %s",
                         lc_report_fmt_bytes(cell->total_bytes, a, sizeof a),
                         lc_report_fmt_bytes((double)avail, b, sizeof b));
                continue;
            }
            const double left = LC_MIN(rrun_left(run), own - (lc_time_now() - t_start));
            if (y->len[i] > max_measured) {
                snprintf(cell->why, sizeof cell->why, "test mode measures up to %s",
                         tok_str(max_measured, a, sizeof a));
                continue;
            }
            if (est > left) {
                snprintf(cell->why, sizeof cell->why, "estimated %s, %s left in the section's budget",
                         lc_report_fmt_seconds(est, a, sizeof a), lc_report_fmt_seconds(LC_MAX(0.0, left), b, sizeof b));
                continue;
            }
            lc_error e;
            if (measure(y, r, models[k], y->len[i], cell, &e) != LC_OK) {
                if (e.status == LC_ERR_CANCELLED) st = lc_fail(err, LC_ERR_CANCELLED, "%s", e.msg);
                snprintf(cell->why, sizeof cell->why, "%.190s", e.msg);
                sec_note(r, LC_REPORT_LAYOUTS, "%s at %s: %s", row->name, tok_str(y->len[i], lb, sizeof lb), e.msg);
            }
        }
    }
    for (int k = 0; k < LY_COUNT; k++) {
        lc_model_free(models[k]);
        fit(&y->row[k], y);
        int last = -1;
        for (int i = 0; i < y->n; i++)
            if (y->row[k].cell[i].measured) last = i;
        if (last >= 0 && last < y->n - 1) {
            char lb[32];
            sec_note(r, LC_REPORT_LAYOUTS, "%s: time measured up to %s tokens, fitted beyond (%s)", y->row[k].name,
                     tok_str(y->len[last], lb, sizeof lb), y->row[k].cell[last + 1].why);
        }
    }
    rrun_progress(run, 1.0, "layouts done");
    return st;
}

void sec_layouts_json(lc_json_writer *w, const lc_report *r) {
    const ly_result *y = &r->ly;
    lc_json_key(w, "shape");
    lc_json_begin_object(w);
    lc_json_kv_int(w, "dim", y->dim);
    lc_json_kv_int(w, "layers", y->layers);
    lc_json_kv_int(w, "heads", y->heads);
    lc_json_kv_int(w, "kv_heads", y->kv_heads);
    lc_json_kv_int(w, "head_dim", y->head_dim);
    lc_json_kv_int(w, "vocab", y->vocab);
    lc_json_kv_int(w, "experts", y->experts);
    lc_json_kv_int(w, "experts_used", y->experts_used);
    lc_json_kv_int(w, "expert_ffn", y->expert_ffn);
    lc_json_kv_int(w, "window", y->window);
    lc_json_kv_int(w, "full_attention_interval", y->interval);
    lc_json_kv_int(w, "decode_tokens", y->n_decode);
    lc_json_kv_str(w, "depth", "synthetic (lc_context_fill_synthetic)");
    lc_json_kv_str(w, "kv_type", "f16");
    lc_json_end_object(w);
    lc_json_key(w, "layouts");
    lc_json_begin_array(w);
    for (int k = 0; k < LY_COUNT; k++) {
        const ly_row *row = &y->row[k];
        lc_json_begin_object(w);
        lc_json_kv_str(w, "name", layout_keys[k]);
        lc_json_kv_str(w, "description", row->name);
        lc_json_kv_int(w, "params", row->n_params);
        lc_json_key(w, "layers_per_kind");
        lc_json_begin_object(w);
        for (int j = 0; j < LC_LAYER_KIND_COUNT; j++) lc_json_kv_int(w, lc_layer_kind_name((lc_layer_kind)j), row->n_kind[j]);
        lc_json_end_object(w);
        if (row->why[0]) lc_json_kv_str(w, "why", row->why);
        lc_json_key(w, "fit");
        lc_json_begin_object(w);
        lc_json_kv_int(w, "measured_points", row->n_measured);
        lc_json_kv_num(w, "global_a_ms", row->fit_a);
        lc_json_kv_num(w, "global_b_ms_per_token", row->fit_b);
        lc_json_kv_num(w, "window_const_ms", row->fit_const[LC_LAYER_WINDOW]);
        lc_json_kv_num(w, "deltanet_const_ms", row->fit_const[LC_LAYER_DELTANET]);
        lc_json_kv_num(w, "rest_const_ms", row->fit_rest);
        lc_json_end_object(w);
        lc_json_key(w, "cells");
        lc_json_begin_array(w);
        for (int i = 0; i < y->n; i++) {
            const ly_cell *c = &row->cell[i];
            lc_json_begin_object(w);
            lc_json_kv_int(w, "n", y->len[i]);
            json_kv_bytes(w, "cache_bytes", c->cache_bytes);
            json_kv_bytes(w, "state_bytes", c->state_bytes);
            json_kv_bytes(w, "ring_bytes", c->ring_bytes);
            lc_json_kv_bool(w, "measured", c->measured);
            if (c->measured) {
                lc_json_kv_num(w, "ms_per_token", c->ms);
                lc_json_kv_num(w, "fill_seconds", c->fill_s);
                for (int j = 0; j < LC_LAYER_KIND_COUNT; j++) {
                    char key[48];
                    snprintf(key, sizeof key, "ms_%s_layers", lc_layer_kind_name((lc_layer_kind)j));
                    lc_json_kv_num(w, key, c->ms_kind[j]);
                }
                lc_json_kv_num(w, "ms_outside_layers", c->ms_rest);
            } else if (c->why[0]) lc_json_kv_str(w, "why", c->why);
            if (isfinite(c->fit_ms)) lc_json_kv_num(w, "fit_ms_per_token", c->fit_ms);
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
}

typedef struct {
    const lc_report *r;
    bool time;
} ly_fig;

static lc_status layouts_svg(FILE *f, const void *user, lc_error *err) {
    const ly_fig *fc = user;
    const ly_result *y = &fc->r->ly;
    double x[LY_MAX_N], v[2 * LY_COUNT][LY_MAX_N];
    char names[2 * LY_COUNT][96];
    lc_plot_series s[2 * LY_COUNT];
    int ns = 0;
    for (int i = 0; i < y->n; i++) x[i] = (double)y->len[i];
    for (int k = 0; k < LY_COUNT; k++) {
        const ly_row *row = &y->row[k];
        if (fc->time) {
            for (int i = 0; i < y->n; i++) {
                v[ns][i] = row->cell[i].measured ? row->cell[i].ms : NAN;
                v[ns + 1][i] = row->cell[i].fit_ms;
            }
            snprintf(names[ns], sizeof names[ns], "%s, measured", row->name);
            snprintf(names[ns + 1], sizeof names[ns + 1], "%s, fit", row->name);
            s[ns] = (lc_plot_series){names[ns], x, v[ns], y->n};
            s[ns + 1] = (lc_plot_series){names[ns + 1], x, v[ns + 1], y->n};
            ns += 2;
        } else {
            for (int i = 0; i < y->n; i++) v[ns][i] = row->cell[i].cache_bytes;
            snprintf(names[ns], sizeof names[ns], "%s", row->name);
            s[ns] = (lc_plot_series){names[ns], x, v[ns], y->n};
            ns++;
        }
    }
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    o.title = fc->time ? "Decode time per token against context (synthetic depth; fit beyond the measured points)"
                       : "Cache memory against context: KV + window rings + recurrent states (exact)";
    o.x_label = "context length (tokens)";
    o.y_label = fc->time ? "ms per token" : "bytes";
    o.log_x = o.log_y = true;
    o.gaps = true;
    o.width = 900;
    o.height = 520;
    return lc_plot_svg_lines(f, &o, s, ns, err);
}

void sec_layouts_doc(rdoc *d, const lc_report *r) {
    const ly_result *y = &r->ly;
    char a[32], b[32], lb[32];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_LAYOUTS));
    if (r->sec[LC_REPORT_LAYOUTS].state == LC_REPORT_SKIPPED) {
        rdoc_note(d, "Not measured: %s", r->sec[LC_REPORT_LAYOUTS].why);
        return;
    }
    rdoc_para(d,
              "Two layer layouts of today's open models against plain full attention, on equal random shapes: dim "
              "%d, %d layers, %d query heads sharing %d KV heads of %d, %d experts of %d (%d used) in every layer, "
              "vocabulary %d, q8_0 weights, f16 KV cache. **full attention**: every layer global (gpt-oss's "
              "machinery, no window). **sinks + window**: gpt-oss's layout, learned per-head sink logits and a "
              "window of %lld tokens on every other layer (the window layers keep a ring of their last keys). "
              "**hybrid DeltaNet**: Qwen3-Next's layout, 3 Gated DeltaNet layers (a constant recurrent state, "
              "%d key / %d value heads of %d) to 1 gated full-attention layer.",
              y->dim, y->layers, y->heads, y->kv_heads, y->head_dim, y->experts, y->expert_ffn, y->experts_used,
              y->vocab, (long long)y->window, y->kv_heads * 2, y->heads, y->head_dim);
    rdoc_para(d, "Memory is exact at every length (the context's own memory model, `lc_context_memory_need`). Time "
                 "is measured where the budget allows, decoding %lld tokens at **synthetic depth**: the cache is "
                 "filled with random rows and the DeltaNet states with random values instead of a prefill "
                 "(`lc_context_fill_synthetic`; a decode step costs the same on any content of the same size, and "
                 "prefilling 64K tokens on a few cores would take the whole budget). Beyond the measured lengths "
                 "the time is a **fit, not a measurement**: a + b n for the full-attention layers (least squares "
                 "over the measured points), a constant for window and DeltaNet layers and for the work outside "
                 "the layers (their means).",
              (long long)y->n_decode);
    rtable *t = rdoc_table(d, 1 + LY_COUNT, "lrrr", "Table 5a. Cache memory per context (KV + rings + states, f16)");
    const char *h[1 + LY_COUNT] = {"context", layout_names[0], layout_names[1], layout_names[2]};
    rtable_header(t, h);
    for (int i = 0; i < y->n; i++) {
        rtable_cell(t, "%s", tok_str(y->len[i], lb, sizeof lb));
        for (int k = 0; k < LY_COUNT; k++) {
            const ly_cell *c = &y->row[k].cell[i];
            if (!isfinite(c->cache_bytes)) rtable_cell(t, "-");
            else if (c->state_bytes > 0)
                rtable_cell(t, "%s (states %s)", lc_report_fmt_bytes(c->cache_bytes, a, sizeof a),
                            lc_report_fmt_bytes(c->state_bytes, b, sizeof b));
            else if (c->ring_bytes > 0)
                rtable_cell(t, "%s (rings %s)", lc_report_fmt_bytes(c->cache_bytes, a, sizeof a),
                            lc_report_fmt_bytes(c->ring_bytes, b, sizeof b));
            else rtable_cell(t, "%s", lc_report_fmt_bytes(c->cache_bytes, a, sizeof a));
        }
    }
    rtable *t2 = rdoc_table(d, 1 + LY_COUNT, "lrrr",
                            "Table 5b. Decode time per token: measured, or *fit* (italic, extrapolated)");
    rtable_header(t2, h);
    for (int i = 0; i < y->n; i++) {
        rtable_cell(t2, "%s", tok_str(y->len[i], lb, sizeof lb));
        for (int k = 0; k < LY_COUNT; k++) {
            const ly_cell *c = &y->row[k].cell[i];
            if (c->measured) rtable_cell(t2, "%.2f ms", c->ms);
            else if (isfinite(c->fit_ms)) rtable_cell(t2, "*%.2f ms (fit)*", c->fit_ms);
            else rtable_cell(t2, "-");
        }
    }
    rtable *t3 = rdoc_table(d, 6, "lrrrrr", "Table 5c. The fits, ms per token (from the measured points)");
    const char *h3[6] = {"layout", "points", "full-attention layers", "window layers", "DeltaNet layers", "outside layers"};
    rtable_header(t3, h3);
    for (int k = 0; k < LY_COUNT; k++) {
        const ly_row *row = &y->row[k];
        rtable_cell(t3, "%s", row->name);
        rtable_cell(t3, "%d", row->n_measured);
        if (row->n_kind[LC_LAYER_GLOBAL])
            rtable_cell(t3, "%d: %.3f + %.3g n", row->n_kind[LC_LAYER_GLOBAL], row->fit_a, row->fit_b);
        else rtable_cell(t3, "-");
        if (row->n_kind[LC_LAYER_WINDOW])
            rtable_cell(t3, "%d: %.3f", row->n_kind[LC_LAYER_WINDOW], row->fit_const[LC_LAYER_WINDOW]);
        else rtable_cell(t3, "-");
        if (row->n_kind[LC_LAYER_DELTANET])
            rtable_cell(t3, "%d: %.3f", row->n_kind[LC_LAYER_DELTANET], row->fit_const[LC_LAYER_DELTANET]);
        else rtable_cell(t3, "-");
        rtable_cell(t3, "%.3f", row->fit_rest);
    }
    ly_fig fm = {r, false}, ft = {r, true};
    doc_svg_figure(d, "fig-layouts-memory.svg", layouts_svg, &fm,
                   "Cache memory against context (log-log, exact): full attention grows with every layer, sinks + "
                   "window with half of them (the window layers hold a ring of a fixed size), the hybrid with one "
                   "layer in four (the DeltaNet states are constant).");
    doc_svg_figure(d, "fig-layouts-time.svg", layouts_svg, &ft,
                   "Decode time per token against context (log-log): measured points, and the fit drawn over every "
                   "length (beyond the measured points it is an extrapolation, not a measurement).");
}
