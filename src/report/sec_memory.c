/*
 * Section 1: the article's memory table, measured.
 *
 * Unit cells (the article's unit: one head of one layer, head dim 128,
 * causal, f16 K/V): per context length and method, the analytic memory
 * (NAIVE: its f32 score matrix; the others: the exact workspace their own
 * function asks for) beside the peak RSS growth measured while the kernel
 * ran (lc_bench_attn_cell), for every cell whose estimated time fits.
 * NAIVE past its 1 GiB cap is refused and shows what it would need.
 *
 * Real shapes (analytic, exact workspaces): Llama-2-7B (32 layers, 32 heads)
 * and Llama-3-8B (32 layers, 32 query / 8 KV heads): what standard attention
 * materialises per layer and per training step, FLASH's workspace, and the
 * KV cache, which is what really bounds context at inference.
 */
#include <math.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "longctx/plot.h"
#include "report/report_internal.h"

static const char *const mm_names[MM_COUNT] = {"naive", "flash", "window", "linear", "chunked"};
static const lc_attn_method mm_methods[MM_COUNT] = {LC_ATTN_NAIVE, LC_ATTN_FLASH, LC_ATTN_WINDOW, LC_ATTN_LINEAR,
                                                    LC_ATTN_CHUNKED};
/* Rate assumed before a method's first measurement (GFLOP/s, conservative). */
static const double mm_prior_gflops[MM_COUNT] = {0.5, 5.0, 5.0, 0.5, 2.0};

typedef struct {
    int64_t n;
    const char *matrix, *memory, *feasibility;
} article_row;

/* The article's table: context, attention matrix, memory (FP16), training feasibility. */
static const article_row article[] = {
    {2048, "2K x 2K", "8 MB", "easy"},
    {8192, "8K x 8K", "128 MB", "medium"},
    {32768, "32K x 32K", "2 GB", "hard"},
    {100000, "100K x 100K", "20 GB", "very challenging"},
    {1048576, "1M x 1M", "2 TB", "infeasible"},
};
#define N_ARTICLE ((int)(sizeof article / sizeof article[0]))

static lc_attn_shape unit_shape(const mem_result *m, int64_t n) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = s.n_kv = n;
    s.n_head = s.n_head_kv = 1;
    s.head_dim = m->head_dim;
    s.k_type = s.v_type = m->kv_type;
    s.causal = true;
    return s;
}

static void unit_params(const mem_result *m, int k, lc_attn_params *p) {
    lc_attn_params_init(p, mm_methods[k]);
    p->n_threads = m->threads;
    p->window = m->window;
    p->n_sinks = m->n_sinks;
    p->chunk = m->chunk;
    p->overlap = m->overlap;
    p->naive_max_bytes = m->naive_cap;
}

static void real_shape(lc_model_config *c, int layers, int heads, int kv_heads, int head_dim) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    c->n_layers = layers;
    c->n_heads = heads;
    c->n_kv_heads = kv_heads;
    c->head_dim = head_dim;
    c->dim = heads * head_dim;
}

static void plan_lengths(mem_result *m, const lc_report *r) {
    static const int64_t full[] = {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 100000, 262144, 1048576};
    static const int64_t quick[] = {1024, 2048, 8192, 32768, 100000, 1048576};
    static const int64_t tiny[] = {256, 2048, 8192, 32768, 100000, 1048576};
    const int64_t *l = r->tiny ? tiny : r->quick ? quick : full;
    const int n = r->tiny ? (int)LC_ARRAY_LEN(tiny) : r->quick ? (int)LC_ARRAY_LEN(quick) : (int)LC_ARRAY_LEN(full);
    m->n = n;
    for (int i = 0; i < n; i++) {
        m->len[i] = l[i];
        m->article_row[i] = -1;
        for (int a = 0; a < N_ARTICLE; a++)
            if (article[a].n == l[i]) m->article_row[i] = a;
    }
}

/* Measure one cell if its estimated time fits; rate[k]: the method's last GFLOP/s. */
static lc_status measure_cell(rrun *run, mem_result *m, int i, int k, double *rate, lc_error *err) {
    mem_cell *c = &m->cell[i][k];
    const lc_attn_shape s = unit_shape(m, m->len[i]);
    lc_attn_params p;
    unit_params(m, k, &p);
    char a[32], b[32];
    if (c->why[0]) return LC_OK; /* refused while sizing */
    /* NAIVE is the slow reference, and its matrix is the table's point: more time per cell */
    const double budget = k == MM_NAIVE ? 2.5 * m->cell_budget : m->cell_budget;
    const double est = lc_attn_flops(&s, &p) / (rate[k] * 1e9) * 1.2;
    const double left = rrun_left(run), limit = LC_MIN(budget, left);
    if (est > limit) {
        snprintf(c->why, sizeof c->why, "not run: estimated %s > %s %s", lc_report_fmt_seconds(est, a, sizeof a),
                 lc_report_fmt_seconds(limit, b, sizeof b), limit < budget ? "left" : "per cell");
        return LC_OK;
    }
#if defined(__GLIBC__)
    /* give freed pages back first, so that the RSS growth counts the pages
     * this cell touches even where the allocator reuses earlier blocks */
    malloc_trim(0);
#endif
    const int reps = est < limit / 4 ? 3 : 1;
    lc_attn_bench res;
    lc_error e;
    lc_status st = lc_bench_attn_cell(&s, &p, reps, limit, 1, &res, &e);
    if (st == LC_ERR_NOMEM) return lc_fail(err, st, "%s", e.msg);
    if (st != LC_OK) {
        snprintf(c->why, sizeof c->why, "refused: %.180s", e.msg);
        return LC_OK;
    }
    c->measured = true;
    c->seconds = res.seconds;
    c->gflops = res.gflops;
    c->rss_growth = (double)res.rss_growth_bytes;
    if (res.gflops > 0) rate[k] = res.gflops;
    return LC_OK;
}

lc_status sec_memory_run(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    mem_result *m = &r->mem;
    memset(m, 0, sizeof *m);
    m->head_dim = 128;
    m->kv_type = LC_DTYPE_F16;
    m->window = 4096;
    m->n_sinks = 4;
    m->chunk = 512;
    m->overlap = 64;
    m->naive_cap = (size_t)1 << 30;
    m->threads = r->threads;
    m->cell_budget = r->tiny ? 0.3 : r->quick ? 2.5 : 12.0;
    plan_lengths(m, r);
    real_shape(&m->mha, 32, 32, 32, 128);
    real_shape(&m->gqa, 32, 32, 8, 128);

    /* analytic values first: every cell has one */
    for (int i = 0; i < m->n; i++) {
        const lc_attn_shape s = unit_shape(m, m->len[i]);
        for (int k = 0; k < MM_COUNT; k++) {
            mem_cell *c = &m->cell[i][k];
            lc_attn_params p;
            unit_params(m, k, &p);
            c->rss_growth = c->seconds = c->gflops = NAN;
            size_t ws = 0;
            lc_error e;
            lc_status st = lc_attn_workspace(&s, &p, &ws, &e);
            if (k == MM_NAIVE) {
                c->need_bytes = (double)m->len[i] * (double)m->len[i] * 4.0; /* the f32 score matrix */
                if (st != LC_OK) {
                    char need[32], cap[32];
                    snprintf(c->why, sizeof c->why, "refused: the score matrix (%s) passes NAIVE's %s cap",
                             lc_report_fmt_bytes(c->need_bytes, need, sizeof need),
                             lc_report_fmt_bytes((double)m->naive_cap, cap, sizeof cap));
                }
            } else if (st == LC_OK) {
                c->need_bytes = (double)ws;
            } else {
                c->need_bytes = NAN;
                snprintf(c->why, sizeof c->why, "refused: %.180s", e.msg);
            }
        }
        lc_status st = lc_report_memory_row(&m->mha, LC_DTYPE_F16, m->len[i], m->window, m->chunk, m->threads,
                                            &m->row_mha[i], err);
        if (st == LC_OK)
            st = lc_report_memory_row(&m->gqa, LC_DTYPE_F16, m->len[i], m->window, m->chunk, m->threads,
                                      &m->row_gqa[i], err);
        if (st != LC_OK) return st;
    }

    /* then measurements, length-major so that every method gets the short lengths */
    double rate[MM_COUNT];
    memcpy(rate, mm_prior_gflops, sizeof rate);
    int skipped = 0;
    for (int i = 0; i < m->n; i++)
        for (int k = 0; k < MM_COUNT; k++) {
            char what[64], lb[24];
            snprintf(what, sizeof what, "%s at %s", mm_names[k], tok_str(m->len[i], lb, sizeof lb));
            if (!rrun_progress(run, (double)(i * MM_COUNT + k) / (double)(m->n * MM_COUNT), what))
                return lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
            lc_status st = measure_cell(run, m, i, k, rate, err);
            if (st != LC_OK) return st;
            skipped += !m->cell[i][k].measured && strncmp(m->cell[i][k].why, "not run", 7) == 0;
        }
    if (skipped)
        sec_note(r, LC_REPORT_MEMORY,
                 "%d unit cells were not measured because their estimated time passed %.3g s per cell or the "
                 "section's budget; their analytic values are shown",
                 skipped, m->cell_budget);
    return LC_OK;
}

/* ---- JSON ------------------------------------------------------------------------- */

static void row_json(lc_json_writer *w, const lc_report_mem_row *x) {
    lc_json_begin_object(w);
    lc_json_kv_int(w, "n", x->n);
    json_kv_bytes(w, "naive_layer_bytes", x->naive_layer_bytes);
    json_kv_bytes(w, "naive_train_bytes", x->naive_train_bytes);
    json_kv_bytes(w, "flash_workspace_bytes", x->flash_ws);
    json_kv_bytes(w, "window_workspace_bytes", x->window_ws);
    json_kv_bytes(w, "linear_workspace_bytes", x->linear_ws);
    json_kv_bytes(w, "chunked_workspace_bytes", x->chunked_ws);
    json_kv_bytes(w, "kv_cache_bytes", x->kv_cache_bytes);
    json_kv_bytes(w, "window_kv_cache_bytes", x->window_kv_bytes);
    json_kv_bytes(w, "linear_state_bytes", x->linear_state_bytes);
    lc_json_end_object(w);
}

static void shape_json(lc_json_writer *w, const char *name, const lc_model_config *c, const lc_report_mem_row *rows,
                       int n) {
    lc_json_begin_object(w);
    lc_json_kv_str(w, "name", name);
    lc_json_kv_int(w, "layers", c->n_layers);
    lc_json_kv_int(w, "heads", c->n_heads);
    lc_json_kv_int(w, "kv_heads", c->n_kv_heads);
    lc_json_kv_int(w, "head_dim", c->head_dim);
    lc_json_kv_str(w, "elem", "f16");
    lc_json_key(w, "rows");
    lc_json_begin_array(w);
    for (int i = 0; i < n; i++) row_json(w, &rows[i]);
    lc_json_end_array(w);
    lc_json_end_object(w);
}

/* The families people run (lc_family_preset): KV bytes at these lengths with
 * each family's own machinery, beside all layers global. Analytic, from the
 * published shapes; the runtime's own allocation for a scaled-down random
 * model of the same layout is checked beside it (lc_family_preset_measure). */
static const int64_t fam_len[] = {8192, 131072, 1048576};
#define FAM_N_LEN ((int)(sizeof fam_len / sizeof fam_len[0]))

/* measured == analytic for the scaled-down model at 4K and 32K tokens:
 * 1 yes, 0 no, -1 not measurable (linear-attention layers). */
static int fam_measured_matches(const lc_family_preset *p) {
    static const int64_t n[] = {4096, 32768};
    double measured[2], analytic[2];
    lc_error err;
    if (lc_family_preset_measure(p, n, 2, LC_DTYPE_F16, 512, measured, analytic, &err) != LC_OK) return -1;
    for (int i = 0; i < 2; i++)
        if (measured[i] != analytic[i]) return 0;
    return 1;
}

static void families_json(lc_json_writer *w) {
    lc_json_key(w, "families");
    lc_json_begin_array(w);
    for (int f = 0; f < lc_family_preset_count(); f++) {
        const lc_family_preset *p = lc_family_preset_at(f);
        char layers[96];
        lc_json_begin_object(w);
        lc_json_kv_str(w, "name", p->name);
        lc_json_kv_str(w, "hf_name", p->hf_name);
        lc_json_kv_str(w, "arch", p->arch);
        lc_json_kv_str(w, "machinery", p->machinery);
        lc_json_kv_str(w, "layers", lc_family_preset_layers(p, layers, sizeof layers));
        lc_json_kv_int(w, "claimed_context", p->ctx);
        lc_json_key(w, "kv_bytes_f16");
        lc_json_begin_array(w);
        for (int i = 0; i < FAM_N_LEN; i++) {
            lc_json_begin_object(w);
            lc_json_kv_int(w, "n", fam_len[i]);
            json_kv_bytes(w, "family", lc_family_preset_kv_bytes(p, fam_len[i], LC_DTYPE_F16, false));
            json_kv_bytes(w, "all_global", lc_family_preset_kv_bytes(p, fam_len[i], LC_DTYPE_F16, true));
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        const int ok = fam_measured_matches(p);
        lc_json_key(w, "scaled_model_measured_equals_analytic");
        if (ok < 0) lc_json_null(w);
        else lc_json_bool(w, ok == 1);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
}

void sec_memory_json(lc_json_writer *w, const lc_report *r) {
    const mem_result *m = &r->mem;
    lc_json_key(w, "unit");
    lc_json_begin_object(w);
    lc_json_kv_int(w, "heads", 1);
    lc_json_kv_int(w, "head_dim", m->head_dim);
    lc_json_kv_str(w, "kv_type", lc_dtype_name(m->kv_type));
    lc_json_kv_bool(w, "causal", true);
    lc_json_kv_int(w, "threads", m->threads);
    lc_json_kv_int(w, "window", m->window);
    lc_json_kv_int(w, "sinks", m->n_sinks);
    lc_json_kv_int(w, "chunk", m->chunk);
    lc_json_kv_int(w, "overlap", m->overlap);
    lc_json_kv_int(w, "naive_cap_bytes", (int64_t)m->naive_cap);
    lc_json_kv_num(w, "cell_budget_seconds", m->cell_budget);
    lc_json_end_object(w);
    lc_json_key(w, "rows");
    lc_json_begin_array(w);
    for (int i = 0; i < m->n; i++) {
        lc_json_begin_object(w);
        lc_json_kv_int(w, "n", m->len[i]);
        json_kv_bytes(w, "article_formula_bytes", (double)m->len[i] * (double)m->len[i] * 2.0);
        lc_json_key(w, "article");
        if (m->article_row[i] >= 0) {
            const article_row *a = &article[m->article_row[i]];
            lc_json_begin_object(w);
            lc_json_kv_str(w, "matrix", a->matrix);
            lc_json_kv_str(w, "memory_fp16", a->memory);
            lc_json_kv_str(w, "training", a->feasibility);
            lc_json_end_object(w);
        } else {
            lc_json_null(w);
        }
        lc_json_key(w, "methods");
        lc_json_begin_object(w);
        for (int k = 0; k < MM_COUNT; k++) {
            const mem_cell *c = &m->cell[i][k];
            lc_json_key(w, mm_names[k]);
            lc_json_begin_object(w);
            json_kv_bytes(w, k == MM_NAIVE ? "score_matrix_bytes" : "workspace_bytes", c->need_bytes);
            lc_json_kv_bool(w, "measured", c->measured);
            if (c->measured) {
                lc_json_kv_num(w, "seconds", c->seconds);
                lc_json_kv_num(w, "gflops", c->gflops);
                json_kv_bytes(w, "rss_growth_bytes", c->rss_growth);
            } else {
                lc_json_kv_str(w, "why", c->why);
            }
            lc_json_end_object(w);
        }
        lc_json_end_object(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_key(w, "real_models");
    lc_json_begin_array(w);
    shape_json(w, "Llama-2-7B shape", &m->mha, m->row_mha, m->n);
    shape_json(w, "Llama-3-8B shape (GQA)", &m->gqa, m->row_gqa, m->n);
    lc_json_end_array(w);
    families_json(w);
}

/* ---- Document ------------------------------------------------------------------------- */

/* "256 MiB · RSS +255 MiB", "4 GiB · refused (cap)", "386 KiB · not run (est. 51 s)". */
static void cell_text(rtable *t, const mem_cell *c, int k) {
    char a[32], b[32];
    lc_report_fmt_bytes(c->need_bytes, a, sizeof a);
    if (c->measured) {
        rtable_cell(t, "%s / **%s**", a, lc_report_fmt_bytes(c->rss_growth, b, sizeof b));
    } else if (strncmp(c->why, "refused", 7) == 0) {
        rtable_cell(t, "%s / refused%s", a, k == MM_NAIVE ? " (cap)" : "");
    } else {
        rtable_cell(t, "%s / not run", a);
    }
}

typedef struct {
    const lc_report *r;
} fig_ctx;

static lc_status memory_svg(FILE *f, const void *user, lc_error *err) {
    const lc_report *r = ((const fig_ctx *)user)->r;
    const mem_result *m = &r->mem;
    enum { S_ART, S_NAIVE, S_NAIVE_RSS, S_FLASH, S_WINDOW, S_LINEAR, S_CHUNKED, S_KV_MHA, S_KV_GQA, S_N };
    static const char *const names[S_N] = {"article: n^2 x 2 B",  "NAIVE scores (f32)", "NAIVE, measured RSS",
                                           "FLASH workspace",     "WINDOW workspace",   "LINEAR workspace",
                                           "CHUNKED workspace",   "KV cache, 7B",       "KV cache, 8B (GQA)"};
    double x[MEM_MAX_N], y[S_N][MEM_MAX_N];
    for (int i = 0; i < m->n; i++) {
        x[i] = (double)m->len[i];
        y[S_ART][i] = x[i] * x[i] * 2.0;
        y[S_NAIVE][i] = m->cell[i][MM_NAIVE].need_bytes;
        y[S_NAIVE_RSS][i] = m->cell[i][MM_NAIVE].measured ? m->cell[i][MM_NAIVE].rss_growth : NAN;
        y[S_FLASH][i] = m->cell[i][MM_FLASH].need_bytes;
        y[S_WINDOW][i] = m->cell[i][MM_WINDOW].need_bytes;
        y[S_LINEAR][i] = m->cell[i][MM_LINEAR].need_bytes;
        y[S_CHUNKED][i] = m->cell[i][MM_CHUNKED].need_bytes;
        y[S_KV_MHA][i] = m->row_mha[i].kv_cache_bytes;
        y[S_KV_GQA][i] = m->row_gqa[i].kv_cache_bytes;
    }
    lc_plot_series s[S_N];
    for (int k = 0; k < S_N; k++) s[k] = (lc_plot_series){names[k], x, y[k], m->n};
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    o.title = "Attention memory against context length (one head of one layer; KV caches of whole models)";
    o.x_label = "context length (tokens)";
    o.y_label = "bytes";
    o.log_x = o.log_y = true;
    o.x_unit = LC_PLOT_UNIT_COUNT_BIN; /* 512 ... 1M tokens, as the tables write them */
    o.y_unit = LC_PLOT_UNIT_BYTES;     /* KiB, MiB, GiB, TiB                          */
    o.width = 900;
    o.height = 540;
    return lc_plot_svg_lines(f, &o, s, S_N, err);
}

/* Row index of length n, or -1. */
static int row_of(const mem_result *m, int64_t n) {
    for (int i = 0; i < m->n; i++)
        if (m->len[i] == n) return i;
    return -1;
}

void sec_memory_doc(rdoc *d, const lc_report *r) {
    const mem_result *m = &r->mem;
    char a[32], b[32], c[32], e[32], lb[24];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_MEMORY));
    rdoc_para(d,
              "The article's table gives the memory of one attention matrix: n x n scores in FP16 (2 bytes), "
              "for one head of one layer. Here every cell of that unit (1 head, head dim %d, causal, %s keys "
              "and values, %d threads) shows **what the method asks for / the peak RSS growth measured** while "
              "it ran (`lc_bench_attn_cell`, median of up to 3 runs). NAIVE materialises the score matrix "
              "(in f32, so twice the article's bytes) and refuses past its %s cap; FLASH, WINDOW (%lld keys + "
              "%lld sinks), LINEAR (elu+1) and CHUNKED (chunk %lld, overlap %lld) show their exact workspace "
              "(`lc_attn_workspace`). \"not run\": not measured within %.3g s per cell (NAIVE: 2.5 times that; see "
              "the notes).",
              m->head_dim, lc_dtype_name(m->kv_type), m->threads,
              lc_report_fmt_bytes((double)m->naive_cap, a, sizeof a), (long long)m->window, (long long)m->n_sinks,
              (long long)m->chunk, (long long)m->overlap, m->cell_budget);
    rtable *t = rdoc_table(d, 9, "lllrrrrrr", "Table 1a. The article's unit (1 head, 1 layer): analytic / measured");
    const char *h[9] = {"context", "article: matrix, FP16", "article: training", "n^2 x 2 B", "NAIVE (f32 scores)",
                        "FLASH", "WINDOW", "LINEAR", "CHUNKED"};
    rtable_header(t, h);
    for (int i = 0; i < m->n; i++) {
        rtable_cell(t, "%s", tok_str(m->len[i], lb, sizeof lb));
        if (m->article_row[i] >= 0) {
            rtable_cell(t, "%s: %s", article[m->article_row[i]].matrix, article[m->article_row[i]].memory);
            rtable_cell(t, "%s", article[m->article_row[i]].feasibility);
        } else {
            rtable_cell(t, "-");
            rtable_cell(t, "-");
        }
        rtable_cell(t, "%s", lc_report_fmt_bytes((double)m->len[i] * (double)m->len[i] * 2.0, a, sizeof a));
        for (int k = 0; k < MM_COUNT; k++) cell_text(t, &m->cell[i][k], k);
    }

    rtable *tt = rdoc_table(d, 6, "lrrrrr", "Table 1b. Time per call of the measured unit cells (GFLOP/s)");
    const char *ht[6] = {"context", "NAIVE", "FLASH", "WINDOW", "LINEAR", "CHUNKED"};
    rtable_header(tt, ht);
    for (int i = 0; i < m->n; i++) {
        bool any = false;
        for (int k = 0; k < MM_COUNT; k++) any |= m->cell[i][k].measured;
        if (!any) continue;
        rtable_cell(tt, "%s", tok_str(m->len[i], lb, sizeof lb));
        for (int k = 0; k < MM_COUNT; k++) {
            const mem_cell *x = &m->cell[i][k];
            if (x->measured)
                rtable_cell(tt, "%s (%.1f)", lc_report_fmt_seconds(x->seconds, a, sizeof a), x->gflops);
            else rtable_cell(tt, "%s", strncmp(x->why, "refused", 7) == 0 ? "refused" : "not run");
        }
    }

    rdoc_para(d, "The same lengths for real model shapes (analytic, f16; FLASH's workspace from its own function "
                 "for all heads of a layer). Llama-2-7B: 32 layers, 32 heads of 128; Llama-3-8B: 32 layers, 32 "
                 "query heads sharing 8 KV heads (GQA).");
    rtable *t2 = rdoc_table(d, 8, "lrrrrrrr", "Table 1c. Real models: what the article's unit becomes, and the KV cache");
    const char *h2[8] = {"context", "7B: scores per layer", "7B: scores, all layers (training)", "7B: FLASH workspace",
                         "7B: KV cache", "8B (GQA): KV cache", "7B: window KV (4096+4)", "7B: LINEAR state"};
    rtable_header(t2, h2);
    for (int i = 0; i < m->n; i++) {
        const lc_report_mem_row *x = &m->row_mha[i];
        rtable_cell(t2, "%s", tok_str(m->len[i], lb, sizeof lb));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(x->naive_layer_bytes, a, sizeof a));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(x->naive_train_bytes, a, sizeof a));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(x->flash_ws, a, sizeof a));
        rtable_cell(t2, "**%s**", lc_report_fmt_bytes(x->kv_cache_bytes, a, sizeof a));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(m->row_gqa[i].kv_cache_bytes, a, sizeof a));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(x->window_kv_bytes, a, sizeof a));
        rtable_cell(t2, "%s", lc_report_fmt_bytes(x->linear_state_bytes, a, sizeof a));
    }
    rdoc_para(d, "The families people run today, from their published configurations: KV cache (f16) with each "
                 "family's own machinery (GQA, window layers holding only their window, attention sinks that "
                 "need no KV of their own, linear-attention layers with a constant state) beside the same model "
                 "with every layer global. The last column checks the runtime: a scaled-down random model of "
                 "the same layer layout allocates exactly what the layout predicts (`longctx analyze --family "
                 "NAME --measure` prints both).");
    {
        rtable *tf = rdoc_table(d, 9, "lllrrrrrl", "Table 1d. The model families: KV memory with their own machinery (f16)");
        const char *hf[9] = {"model", "machinery", "layers", "8K", "128K", "1M", "128K, all global", "128K fits in RAM",
                             "runtime = layout"};
        rtable_header(tf, hf);
        const double ram = (double)lc_mem_total_bytes();
        for (int f = 0; f < lc_family_preset_count(); f++) {
            const lc_family_preset *p = lc_family_preset_at(f);
            char layers[96];
            rtable_cell(tf, "%s", p->name);
            rtable_cell(tf, "%s", p->machinery);
            rtable_cell(tf, "%s", lc_family_preset_layers(p, layers, sizeof layers));
            for (int i = 0; i < FAM_N_LEN; i++)
                rtable_cell(tf, "%s", lc_report_fmt_bytes(lc_family_preset_kv_bytes(p, fam_len[i], LC_DTYPE_F16, false), a, sizeof a));
            rtable_cell(tf, "%s", lc_report_fmt_bytes(lc_family_preset_kv_bytes(p, 131072, LC_DTYPE_F16, true), a, sizeof a));
            const double kv128 = lc_family_preset_kv_bytes(p, 131072, LC_DTYPE_F16, false);
            rtable_cell(tf, "%s", ram > 0 ? (kv128 < ram / 2 ? "yes" : "no") : "?");
            const int ok = fam_measured_matches(p);
            rtable_cell(tf, "%s", ok < 0 ? "- (linear layers)" : ok ? "yes" : "**no**");
        }
        rdoc_para(d, "\"128K fits in RAM\": the KV cache alone under half of this machine's %s of memory (the "
                     "weights come on top: 4-bit weights of an 8B model are about 4.6 GiB).",
                  lc_report_fmt_bytes(ram, a, sizeof a));
    }
    fig_ctx fc = {r};
    doc_svg_figure(d, "fig-memory.svg", memory_svg, &fc,
                   "Attention memory against context (log-log): the article's n^2 curve and NAIVE's f32 score "
                   "matrix with its measured RSS growth (one head of one layer), the workspaces of the other "
                   "methods (flat, or nearly), and the f16 KV cache of whole 7B/8B models (32 layers), which grows "
                   "linearly and is the largest term up to tens of thousands of tokens.");

    /* what the article gets wrong, with this run's numbers */
    rdoc_heading(d, 3, NULL, "Where the article's table is wrong or misleading");
    const int i2k = row_of(m, 2048), i32k = row_of(m, 32768), i1m = row_of(m, 1048576);
    if (i2k >= 0 && i32k >= 0)
        rdoc_item(d,
                  "**It counts one head of one layer.** At 2K the article's 8 MB is one head; Llama-2-7B's standard "
                  "attention materialises %s per layer (32 heads) and a training step that keeps every layer's "
                  "scores for the backward pass %s (x1,024). At 32K: %s per layer, %s per training step.",
                  lc_report_fmt_bytes(m->row_mha[i2k].naive_layer_bytes, a, sizeof a),
                  lc_report_fmt_bytes(m->row_mha[i2k].naive_train_bytes, b, sizeof b),
                  lc_report_fmt_bytes(m->row_mha[i32k].naive_layer_bytes, c, sizeof c),
                  lc_report_fmt_bytes(m->row_mha[i32k].naive_train_bytes, e, sizeof e));
    rdoc_item(d, "**Its units are mixed.** 8 MB, 128 MB and 2 GB are binary (MiB, GiB: n = 2^11, 2^13, 2^15); 20 GB "
                 "at 100K is decimal (2.0e10 B = 18.6 GiB) and 2 TB at 1M is 2 TiB for n = 2^20 or 1.82 TiB for "
                 "n = 10^6. The column n^2 x 2 B gives the exact values.");
    if (i2k >= 0 && i1m >= 0) {
        const mem_cell *f2 = &m->cell[i2k][MM_FLASH];
        rdoc_item(d,
                  "**FlashAttention needs none of it.** It never forms the matrix: its workspace is one tile of "
                  "scores per thread, %s at 2K and %s at 1M (measured RSS growth at 2K: %s). Attention memory stops "
                  "growing with n; only compute still grows as n^2. The article's own FlashAttention code is not "
                  "FlashAttention either: it splits the queries into blocks but still scores each block against "
                  "all n keys with a full softmax (a block x n matrix); real FlashAttention also tiles the keys and "
                  "keeps a running max and sum (docs/flash.md).",
                  lc_report_fmt_bytes(f2->need_bytes, a, sizeof a),
                  lc_report_fmt_bytes(m->cell[i1m][MM_FLASH].need_bytes, b, sizeof b),
                  f2->measured ? lc_report_fmt_bytes(f2->rss_growth, c, sizeof c) : "not measured");
    }
    if (i32k >= 0 && i1m >= 0)
        rdoc_item(d,
                  "**At inference the bottleneck is the KV cache**, which the article never mentions: it grows "
                  "linearly, layers x 2 x n x KV heads x head dim x 2 bytes. Llama-2-7B needs %s of KV cache at "
                  "32K and %s at 1M; grouped-query attention divides that by 4 (%s at 1M), a window of 4096 caps "
                  "it at %s, and LINEAR attention replaces it by a state of %s, whatever n.",
                  lc_report_fmt_bytes(m->row_mha[i32k].kv_cache_bytes, a, sizeof a),
                  lc_report_fmt_bytes(m->row_mha[i1m].kv_cache_bytes, b, sizeof b),
                  lc_report_fmt_bytes(m->row_gqa[i1m].kv_cache_bytes, c, sizeof c),
                  lc_report_fmt_bytes(m->row_mha[i1m].window_kv_bytes, e, sizeof e),
                  lc_report_fmt_bytes(m->row_mha[i1m].linear_state_bytes, lb, sizeof lb));
    rdoc_item(d, "**Training feasibility** is not a property of the score matrix either: with FlashAttention "
                 "(and recomputation in the backward pass) attention memory is linear in n, and what limits "
                 "long-context training is the n^2 compute and the activations of every layer.");
    rdoc_para(d, "How to read the measured column: RSS growth is the process's peak resident memory during the "
                 "runs minus before them. It matches the analytic value for large buffers (NAIVE's matrix); for "
                 "workspaces of a few hundred KiB it can read lower (the allocator reuses pages that earlier cells "
                 "already touched) or slightly higher (thread stacks).");
}
