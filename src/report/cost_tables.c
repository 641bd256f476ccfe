/* The tables `longctx analyze` prints (report.h): the attention cost model
 * of a shape per context length, its measurements, and the KV memory of the
 * real families; declared once, printed by lc_table in any face. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "longctx/bench.h"
#include "longctx/report.h"
#include "longctx/util.h"

/* A byte count as a table value: null for NaN (a method that refuses) or past int64 (8 EiB). */
static lc_table_value bytes(double v) { return v >= 0 && v < 9.0e18 ? lc_tv_int((int64_t)v) : lc_tv_null(); }

/* ---- The cost model -------------------------------------------------------------- */

#define SHAPE_COL(key_) {.key = (key_), .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_TEXT}
#define BYTES_COL(title_, key_) {.title = (title_), .key = (key_), .kind = LC_TABLE_BYTES}
static const lc_table_col cost_cols[] = {
    {.title = "context", .key = "n", .kind = LC_TABLE_INT},
    SHAPE_COL("layers"),
    SHAPE_COL("heads"),
    SHAPE_COL("kv_heads"),
    SHAPE_COL("head_dim"),
    {.key = "dtype", .kind = LC_TABLE_STR, .skip = LC_TABLE_NO_TEXT},
    BYTES_COL("article", "article_matrix_bytes"),
    BYTES_COL("naive/layer", "naive_layer_bytes"),
    BYTES_COL("naive/train", "naive_train_bytes"),
    BYTES_COL("flash ws", "flash_workspace_bytes"),
    BYTES_COL("window ws", "window_workspace_bytes"),
    BYTES_COL("linear ws", "linear_workspace_bytes"),
    BYTES_COL("chunked ws", "chunked_workspace_bytes"),
    BYTES_COL("KV cache", "kv_cache_bytes"),
    BYTES_COL("window KV", "window_kv_cache_bytes"),
    BYTES_COL("linear st", "linear_state_bytes"),
    {.title = "TFLOP full", .key = "flops_full", .kind = LC_TABLE_REAL, .fmt = "%.2f", .scale = 1e-12},
    {.key = "flops_window", .kind = LC_TABLE_REAL, .skip = LC_TABLE_NO_TEXT},
    {.title = "TFLOP lin", .key = "flops_linear", .kind = LC_TABLE_REAL, .fmt = "%.3f", .scale = 1e-12},
    /* with measurements: in JSON here, as text in lc_report_measured_table */
    {.key = "naive_seconds", .kind = LC_TABLE_REAL, .skip = LC_TABLE_NO_TEXT},
    {.key = "flash_seconds", .kind = LC_TABLE_REAL, .skip = LC_TABLE_NO_TEXT},
    {.key = "naive_rss_bytes", .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_TEXT},
    {.key = "flash_rss_bytes", .kind = LC_TABLE_INT, .skip = LC_TABLE_NO_TEXT},
};
enum { N_MEASURED_COLS = 4 };

static lc_table_value seconds_or_null(const lc_report_measure *m) {
    return m->why[0] ? lc_tv_null() : lc_tv_real(m->seconds);
}

static void add_cost_row(lc_table *t, const lc_model_config *cfg, lc_dtype elem, const lc_report_mem_row *m,
                         const lc_report_measure *naive, const lc_report_measure *flash) {
    lc_table_value v[LC_ARRAY_LEN(cost_cols)];
    int k = 0;
    v[k++] = lc_tv_int(m->n);
    v[k++] = lc_tv_int(cfg->n_layers);
    v[k++] = lc_tv_int(cfg->n_heads);
    v[k++] = lc_tv_int(cfg->n_kv_heads);
    v[k++] = lc_tv_int(cfg->head_dim);
    v[k++] = lc_tv_str(lc_dtype_name(elem));
    const double b[10] = {m->article_bytes, m->naive_layer_bytes, m->naive_train_bytes, m->flash_ws,
                          m->window_ws,     m->linear_ws,         m->chunked_ws,        m->kv_cache_bytes,
                          m->window_kv_bytes, m->linear_state_bytes};
    for (int i = 0; i < 10; i++) v[k++] = bytes(b[i]);
    v[k++] = lc_tv_real(m->flops_full);
    v[k++] = lc_tv_real(m->flops_window);
    v[k++] = lc_tv_real(m->flops_linear);
    if (naive && flash) {
        v[k++] = seconds_or_null(naive);
        v[k++] = seconds_or_null(flash);
        v[k++] = lc_tv_int((int64_t)naive->rss);
        v[k++] = lc_tv_int((int64_t)flash->rss);
    }
    lc_table_add_row(t, v, k);
}

lc_status lc_report_cost_table(const lc_model_config *cfg, lc_dtype elem, const int64_t *ns, int n, int64_t window,
                               int64_t chunk, int n_threads, const lc_report_measure *naive,
                               const lc_report_measure *flash, lc_table **out, lc_error *err) {
    *out = NULL;
    const bool measured = naive && flash;
    lc_table *t = NULL;
    lc_status st = lc_table_create(cost_cols, (int)LC_ARRAY_LEN(cost_cols) - (measured ? 0 : N_MEASURED_COLS), &t, err);
    for (int i = 0; i < n && st == LC_OK; i++) {
        lc_report_mem_row m;
        st = lc_report_memory_row(cfg, elem, ns[i], window, chunk, n_threads, &m, err);
        if (st == LC_OK) add_cost_row(t, cfg, elem, &m, measured ? &naive[i] : NULL, measured ? &flash[i] : NULL);
    }
    if (st == LC_OK) st = lc_table_status(t, err);
    if (st != LC_OK) lc_table_free(t);
    else *out = t;
    return st;
}

/* ---- Measurements ---------------------------------------------------------------- */

void lc_report_measure_attn(const lc_attn_shape *s, lc_attn_method method, int n_threads, double est_flops_per_s,
                            double max_seconds, lc_report_measure *out) {
    memset(out, 0, sizeof *out);
    lc_attn_params p;
    lc_attn_bench r;
    lc_error err;
    lc_attn_params_init(&p, method);
    p.n_threads = n_threads;
    const double est = lc_attn_flops(s, &p) / est_flops_per_s;
    if (est > max_seconds) {
        snprintf(out->why, sizeof out->why, "skipped (est. %.0f s)", est);
    } else if (lc_bench_attn_cell(s, &p, 1, max_seconds, 1, &r, &err) == LC_OK) {
        out->seconds = r.seconds;
        out->rss = r.rss_growth_bytes;
    } else {
        snprintf(out->why, sizeof out->why, "%.120s",
                 err.status == LC_ERR_TOO_LARGE && method == LC_ATTN_NAIVE ? "refused (cap)" : err.msg);
    }
}

void lc_report_measure_lengths(const lc_model_config *cfg, lc_dtype elem, const int64_t *ns, int n, int n_threads,
                               double max_seconds, lc_report_measure *naive, lc_report_measure *flash) {
    for (int i = 0; cfg && ns && naive && flash && i < n; i++) {
        lc_attn_shape s;
        memset(&s, 0, sizeof s);
        s.n_q = s.n_kv = ns[i];
        s.n_head = cfg->n_heads;
        s.n_head_kv = cfg->n_kv_heads;
        s.head_dim = cfg->head_dim;
        s.k_type = s.v_type = elem;
        s.causal = true;
        /* the reference runs at ~2 GFLOP/s, flash at ~50 */
        lc_report_measure_attn(&s, LC_ATTN_NAIVE, n_threads, 2e9, max_seconds, &naive[i]);
        lc_report_measure_attn(&s, LC_ATTN_FLASH, n_threads, 50e9, max_seconds, &flash[i]);
    }
}

static const lc_table_col measured_cols[] = {
    {.title = "context", .kind = LC_TABLE_INT},
    {.title = "naive s", .kind = LC_TABLE_REAL},
    {.title = "naive rss+", .kind = LC_TABLE_BYTES},
    {.title = "flash s", .kind = LC_TABLE_REAL},
    {.title = "flash rss+", .kind = LC_TABLE_BYTES},
    {.title = "note", .kind = LC_TABLE_STR},
};

lc_status lc_report_measured_table(const int64_t *ns, int n, const lc_report_measure *naive,
                                   const lc_report_measure *flash, lc_table **out, lc_error *err) {
    lc_status st = lc_table_create(measured_cols, (int)LC_ARRAY_LEN(measured_cols), out, err);
    for (int i = 0; i < n && st == LC_OK; i++) {
        const lc_report_measure *a = &naive[i], *b = &flash[i];
        char note[300];
        snprintf(note, sizeof note, "%s%s%s%s%s", a->why[0] ? "naive: " : "", a->why,
                 a->why[0] && b->why[0] ? "; " : "", b->why[0] ? "flash: " : "", b->why);
        LC_TABLE_ADD(*out, lc_tv_int(ns[i]), seconds_or_null(a), a->why[0] ? lc_tv_null() : lc_tv_int((int64_t)a->rss),
                     seconds_or_null(b), b->why[0] ? lc_tv_null() : lc_tv_int((int64_t)b->rss), lc_tv_str(note));
    }
    return st;
}

/* ---- The families ----------------------------------------------------------------- */

#define TEXT_ONLY LC_TABLE_NO_JSON
static const lc_table_col fam_info[] = {
    {.title = "family", .key = "family", .kind = LC_TABLE_STR},
    {.title = "source", .key = "source", .kind = LC_TABLE_STR},
    {.title = "arch", .key = "arch", .kind = LC_TABLE_STR},
    {.title = "layers", .key = "layers", .kind = LC_TABLE_STR},
    {.title = "machinery", .key = "machinery", .kind = LC_TABLE_STR},
    {.title = "claims (tokens)", .key = "ctx", .kind = LC_TABLE_INT},
    {.title = "KV type", .kind = LC_TABLE_STR, .skip = TEXT_ONLY},
    {.title = "KV/token, all global", .key = "kv_bytes_per_token_global", .kind = LC_TABLE_BYTES},
    {.title = "KV/token past windows", .kind = LC_TABLE_BYTES, .skip = TEXT_ONLY},
    {.title = "scaled model", .kind = LC_TABLE_STR, .skip = TEXT_ONLY},
};
/* The last two columns: the scaled-down model, when it can be measured. */
static const lc_table_col fam_rows[] = {
    {.title = "tokens", .key = "n", .kind = LC_TABLE_INT},
    {.title = "KV", .key = "kv_bytes", .kind = LC_TABLE_BYTES},
    {.title = "all global", .key = "kv_bytes_all_global", .kind = LC_TABLE_BYTES},
    {.title = "saved", .kind = LC_TABLE_PERCENT, .skip = TEXT_ONLY},
    {.title = "scaled: allocated", .key = "scaled_measured", .kind = LC_TABLE_BYTES},
    {.title = "predicted", .key = "scaled_analytic", .kind = LC_TABLE_BYTES},
};

lc_status lc_report_family_tables(const lc_family_preset *p, const int64_t *ns, int n, lc_dtype elem, lc_table **info,
                                  lc_table **rows, lc_error *err) {
    *info = *rows = NULL;
    if (n < 0 || n > LC_REPORT_MAX_LENGTHS) return lc_fail(err, LC_ERR_INVALID_ARG, "family table: %d lengths", n);
    char layers[96], scaled[192];
    double meas[LC_REPORT_MAX_LENGTHS], ana[LC_REPORT_MAX_LENGTHS];
    lc_error merr;
    const bool have_meas = lc_family_preset_measure(p, ns, n, elem, 512, meas, ana, &merr) == LC_OK;
    snprintf(scaled, sizeof scaled, "%.180s",
             have_meas ? "head dim 16: what the runtime allocates / what its layout predicts" : merr.msg);
    lc_status st = lc_table_create(fam_info, (int)LC_ARRAY_LEN(fam_info), info, err);
    if (st == LC_OK) st = lc_table_create(fam_rows, (int)LC_ARRAY_LEN(fam_rows) - (have_meas ? 0 : 2), rows, err);
    if (st != LC_OK) {
        lc_table_free(*info);
        *info = NULL;
        return st;
    }
    const int64_t big = (int64_t)1 << 30; /* past every window */
    const double global_tok =
        lc_family_preset_kv_bytes(p, 1, elem, false) - lc_family_preset_kv_bytes(p, 0, elem, false);
    const double past_tok =
        lc_family_preset_kv_bytes(p, big, elem, false) - lc_family_preset_kv_bytes(p, big - 1, elem, false);
    LC_TABLE_ADD(*info, lc_tv_str(p->name), lc_tv_str(p->hf_name), lc_tv_str(p->arch),
                 lc_tv_str(lc_family_preset_layers(p, layers, sizeof layers)), lc_tv_str(p->machinery),
                 lc_tv_int(p->ctx), lc_tv_str(lc_dtype_name(elem)), bytes(global_tok), bytes(past_tok),
                 lc_tv_str(scaled));
    for (int i = 0; i < n; i++) {
        const double kv = lc_family_preset_kv_bytes(p, ns[i], elem, false);
        const double kg = lc_family_preset_kv_bytes(p, ns[i], elem, true);
        const lc_table_value saved = lc_tv_real(kg > 0 ? 1.0 - kv / kg : 0.0);
        if (have_meas)
            LC_TABLE_ADD(*rows, lc_tv_int(ns[i]), bytes(kv), bytes(kg), saved, bytes(meas[i]), bytes(ana[i]));
        else LC_TABLE_ADD(*rows, lc_tv_int(ns[i]), bytes(kv), bytes(kg), saved);
    }
    return LC_OK;
}

lc_status lc_report_families_print(FILE *f, const char *name, const int64_t *ns, int n, lc_dtype elem, bool json,
                                   lc_error *err) {
    lc_json_writer w;
    if (json) {
        lc_json_init(&w, f, true);
        lc_json_begin_array(&w);
    }
    lc_status st = LC_OK;
    for (int k = 0; k < lc_family_preset_count() && st == LC_OK; k++) {
        const lc_family_preset *p = lc_family_preset_at(k);
        if (strcmp(name, "all") != 0 && strcmp(name, p->name) != 0) continue;
        lc_table *info = NULL, *rows = NULL;
        st = lc_report_family_tables(p, ns, n, elem, &info, &rows, err);
        if (st == LC_OK && json) { /* {family fields..., "rows": [...]} */
            lc_json_begin_object(&w);
            st = lc_table_write_json_fields(info, &w, 0, err);
            lc_json_key(&w, "rows");
            if (st == LC_OK) st = lc_table_write_json(rows, &w, err);
            lc_json_end_object(&w);
        } else if (st == LC_OK) {
            st = lc_table_report(f, LC_TABLE_TEXT, info, NULL, rows, err);
            fputc('\n', f);
        }
        lc_table_free(info);
        lc_table_free(rows);
    }
    if (json) {
        lc_json_end_array(&w);
        lc_json_finish(&w);
    }
    return st;
}
