/*
 * Section 2: the article's technique comparison, measured.
 *
 * Five techniques, each a runtime configuration (attention method, per-head
 * parameters, KV cache policy):
 *   full      FLASH over a full KV cache
 *   window    a ring KV cache of W recent tokens + 4 sinks (StreamingLLM),
 *             windowed attention over it
 *   linear    LINEAR attention (elu+1): a constant recurrent state per layer
 *   chunked   CHUNKED (local chunks + one summary per earlier chunk), full cache
 *   hybrid    half the heads FLASH (global), half WINDOW (local), full cache
 *
 * Measured: the longest context whose attention memory (KV cache or states +
 * attention scratch, lc_report_max_context) fits a fixed budget, for the
 * speed model's shape and Llama-2-7B's; prefill and decode speed on a random
 * model of a realistic shape; and retention: passkey accuracy on the models
 * trained for it (the default model under each attention, the LINEAR model).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/bench.h"
#include "longctx/plot.h"
#include "report/report_internal.h"

static const char *const tq_names[TQ_COUNT] = {"full", "window", "linear", "chunked", "hybrid"};
static const char *const tq_titles[TQ_COUNT] = {"full attention (FLASH)", "window + sinks", "linear attention",
                                                "chunked (hierarchical)", "hybrid (global + local heads)"};

/* The article's table: max context, inference speed, memory efficiency, retention. */
static const char *const claims[TQ_COUNT][4] = {
    {"4K-8K", "baseline", "baseline", "baseline"},
    {"32K-64K", "fast", "high", "locally excellent"},
    {"100K+", "medium", "very high", "globally good"},
    {"256K+", "slow", "extremely high", "depends on the chunking"},
    {"1M+", "variable", "extremely high", "excellent"},
};

#define MAX_HEADS 128

/* A technique's context options; head_params (HYBRID) live in heads[]. */
typedef struct {
    lc_context_opts o;
    lc_attn_params hybrid;
    lc_attn_params heads[MAX_HEADS];
    char spec[96];
} tq_config;

/* Configure technique k for a model with n_heads heads; window W (+4 sinks), chunk C. */
static bool tq_make(tq_config *t, int k, int n_heads, int64_t W, int64_t C, bool ring, int threads) {
    memset(t, 0, sizeof *t);
    lc_context_opts_init(&t->o);
    t->o.n_threads = threads;
    switch (k) {
    case TQ_FULL: snprintf(t->spec, sizeof t->spec, "flash"); break;
    case TQ_WINDOW:
        if (ring) {
            snprintf(t->spec, sizeof t->spec, "flash");
            t->o.kv_policy = LC_KV_POLICY_SINKS;
            t->o.kv_n_sinks = 4;
            t->o.kv_window = W;
        } else {
            snprintf(t->spec, sizeof t->spec, "window:%lld:4", (long long)W);
        }
        break;
    case TQ_LINEAR: snprintf(t->spec, sizeof t->spec, "linear:elu"); break;
    case TQ_CHUNKED: snprintf(t->spec, sizeof t->spec, "chunked:%lld:%lld", (long long)C, (long long)(C / 8)); break;
    case TQ_HYBRID:
        if (n_heads < 2 || n_heads > MAX_HEADS) return false;
        lc_attn_params_init(&t->hybrid, LC_ATTN_HYBRID);
        t->hybrid.n_threads = threads;
        for (int h = 0; h < n_heads; h++) {
            lc_attn_params_init(&t->heads[h], h % 2 ? LC_ATTN_WINDOW : LC_ATTN_FLASH);
            t->heads[h].window = W;
            t->heads[h].n_sinks = 4;
            t->heads[h].n_threads = threads;
        }
        t->hybrid.head_params = t->heads;
        t->o.attn_params = &t->hybrid;
        snprintf(t->spec, sizeof t->spec, "hybrid");
        return true;
    default: return false;
    }
    t->o.attn = t->spec;
    return true;
}

static void tq_describe(char *buf, size_t len, int k, int64_t W, int64_t C, bool ring) {
    switch (k) {
    case TQ_FULL: snprintf(buf, len, "FLASH, full KV cache"); break;
    case TQ_WINDOW:
        if (ring) snprintf(buf, len, "window %lld + 4 sinks: ring KV cache (StreamingLLM)", (long long)W);
        else snprintf(buf, len, "WINDOW attention %lld + 4 sinks", (long long)W);
        break;
    case TQ_LINEAR: snprintf(buf, len, "LINEAR elu+1: recurrent state, no KV cache"); break;
    case TQ_CHUNKED: snprintf(buf, len, "CHUNKED %lld, overlap %lld, full KV cache", (long long)C, (long long)(C / 8)); break;
    case TQ_HYBRID:
        snprintf(buf, len, "HYBRID: even heads FLASH, odd heads WINDOW %lld + 4 sinks, full KV cache", (long long)W);
        break;
    }
}

/* ---- Budgets -------------------------------------------------------------------------- */

static lc_status budgets(tq_result *t, const lc_report *r, lc_error *err) {
    lc_model_config mha;
    memset(&mha, 0, sizeof mha);
    mha.n_layers = 32, mha.n_heads = 32, mha.n_kv_heads = 32, mha.head_dim = 128, mha.dim = 4096;
    lc_rope_config_init(&mha.rope, 128);
    const lc_model_config *sp = &r->speed.cfg;
    for (int k = 0; k < TQ_COUNT; k++) {
        tq_row *row = &t->row[k];
        tq_config c;
        for (int which = 0; which < 2; which++) {
            const lc_model_config *cfg = which ? &mha : sp;
            int64_t *nm = which ? &row->max_ctx_mha : &row->max_ctx_speed;
            bool *unb = which ? &row->unbounded_mha : &row->unbounded_speed;
            if (!tq_make(&c, k, cfg->n_heads, t->window, t->chunk, true, r->threads)) continue;
            lc_status st = lc_report_max_context(cfg, &c.o, t->budget_bytes, t->budget_limit, nm, err);
            if (st != LC_OK) return st;
            *unb = *nm >= t->budget_limit;
        }
    }
    return LC_OK;
}

/* ---- Speed ------------------------------------------------------------------------------- */

static lc_status speed_cell(rrun *run, tq_result *t, int k, int l, lc_error *err) {
    const lc_report *r = run->r;
    tq_row *row = &t->row[k];
    const lc_model *m = r->speed.m;
    const int64_t L = t->len[l], n_dec = t->n_decode;
    tq_config c;
    if (!tq_make(&c, k, m->cfg.n_heads, t->window, t->chunk, true, r->threads))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "%d heads cannot be split into global and local", m->cfg.n_heads);
    c.o.n_ctx = L + n_dec;
    lc_report_attn_mem am;
    lc_status st = lc_report_attn_memory(&m->cfg, &c.o, L + n_dec, &am, err);
    if (st != LC_OK) return st;
    row->kv_bytes[l] = (double)am.kv_bytes;
    row->ws_bytes[l] = (double)am.workspace_bytes;
    row->mem_known[l] = true;
    lc_bench_model_row b;
    st = lc_bench_model_cells(m, &c.o, &L, 1, n_dec, r->seed + 17, false, &b, err);
    if (st != LC_OK) return st;
    const double pt = b.pf_matmul_s + b.pf_attn_s + b.pf_other_s, dt = b.dc_matmul_s + b.dc_attn_s + b.dc_other_s;
    row->prefill_tok_s[l] = b.prefill_tok_s;
    row->prefill_attn_share[l] = pt > 0 ? b.pf_attn_s / pt : NAN;
    row->decode_tok_s[l] = b.decode_tok_s;
    row->decode_attn_share[l] = dt > 0 ? b.dc_attn_s / dt : NAN;
    row->ran[l] = true;
    return LC_OK;
}

static lc_status speed_all(rrun *run, tq_result *t, double deadline, lc_error *err) {
    double last_time[TQ_COUNT] = {0};
    int skipped = 0;
    for (int l = 0; l < t->n_len; l++)
        for (int k = 0; k < TQ_COUNT; k++) {
            tq_row *row = &t->row[k];
            char lb[24], what[64], a[32], b[32];
            snprintf(what, sizeof what, "speed: %s at %s", tq_names[k], tok_str(t->len[l], lb, sizeof lb));
            if (!rrun_progress(run, 0.5 * (double)(l * TQ_COUNT + k) / (double)(t->n_len * TQ_COUNT), what))
                return lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
            const double left = deadline - lc_time_now();
            double est = 0;
            if (l > 0) {
                if (!row->ran[l - 1]) {
                    snprintf(row->why[l], sizeof row->why[l], "not run: the previous length was not run");
                    skipped++;
                    continue;
                }
                est = last_time[k] * pow((double)t->len[l] / (double)t->len[l - 1], 1.5) * 1.15;
            }
            if (left <= 0) {
                snprintf(row->why[l], sizeof row->why[l], "not run: the time budget for speed was spent");
                skipped++;
                continue;
            }
            if (est > left) {
                snprintf(row->why[l], sizeof row->why[l], "not run: estimated %s, %s left",
                         lc_report_fmt_seconds(est, a, sizeof a), lc_report_fmt_seconds(left, b, sizeof b));
                skipped++;
                continue;
            }
            const double t0 = lc_time_now();
            lc_error e;
            lc_status st = speed_cell(run, t, k, l, &e);
            last_time[k] = lc_time_now() - t0;
            if (st == LC_ERR_NOMEM) return lc_fail(err, st, "%s", e.msg);
            if (st != LC_OK) {
                snprintf(row->why[l], sizeof row->why[l], "refused: %.180s", e.msg);
                skipped++;
            }
        }
    if (skipped)
        sec_note(run->r, LC_REPORT_TECHNIQUES, "%d speed cells were not run (time budget or refusal; see report.json)",
                 skipped);
    return LC_OK;
}

/* ---- Retention ------------------------------------------------------------------------------ */

static lc_status retention_all(rrun *run, tq_result *t, lc_error *err) {
    lc_report *r = run->r;
    const rmodel *def = &r->def, *lin = &r->lin;
    const int64_t ctx = def->m ? def->cfg.ctx_train : 0;
    int64_t lens[2];
    int n_len = 0;
    if (ctx > 0) {
        if (!r->quick && !r->tiny && ctx / 2 >= 128) lens[n_len++] = ctx / 2;
        lens[n_len++] = ctx;
    }
    const int n_depth = r->tiny ? 2 : r->quick ? 3 : 5;
    const int32_t trials = r->tiny || r->quick ? 1 : 2;
    t->ret_window = ctx / 4 > 8 ? ctx / 4 : 8;
    t->ret_chunk = ctx / 4 > 8 ? ctx / 4 : 8;
    grid_job jobs[TQ_COUNT];
    rgrid grids[TQ_COUNT];
    tq_config cfgs[TQ_COUNT];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < TQ_COUNT; k++) {
        tq_row *row = &t->row[k];
        const rmodel *rm = k == TQ_LINEAR ? lin : def;
        rgrid_init(&grids[k], lens, n_len, n_depth, trials);
        if (!rm->m) {
            snprintf(row->ret_why, sizeof row->ret_why, "%s", rm->missing);
            snprintf(row->ret_desc, sizeof row->ret_desc, "-");
            continue;
        }
        if (k == TQ_LINEAR) {
            lc_context_opts_init(&cfgs[k].o); /* the model's own attention */
            snprintf(row->ret_desc, sizeof row->ret_desc, "the LINEAR model (%s)",
                     rm->cfg.attention[0] ? rm->cfg.attention : "softmax?");
        } else {
            if (!tq_make(&cfgs[k], k, rm->cfg.n_heads, t->ret_window, t->ret_chunk, false, r->threads)) {
                snprintf(row->ret_why, sizeof row->ret_why, "the model's %d heads cannot be split", rm->cfg.n_heads);
                continue;
            }
            char dsc[128];
            tq_describe(dsc, sizeof dsc, k, t->ret_window, t->ret_chunk, false);
            snprintf(row->ret_desc, sizeof row->ret_desc, "default model, %s", dsc);
        }
        jobs[k].model = rm;
        jobs[k].opts = cfgs[k].o;
        jobs[k].label = tq_names[k];
    }
    lc_status st = grids_run(run, jobs, grids, TQ_COUNT, r->seed, 0.5, 1.0, err);
    for (int k = 0; k < TQ_COUNT; k++) t->row[k].ret = grids[k];
    return st;
}

lc_status sec_techniques_run(rrun *run, lc_error *err) {
    lc_report *r = run->r;
    tq_result *t = &r->tq;
    memset(t, 0, sizeof *t);
    t->budget_bytes = (size_t)1 << 30;
    t->budget_limit = (int64_t)1 << 40;
    t->window = r->tiny ? 64 : 1024;
    t->n_sinks = 4;
    t->chunk = r->tiny ? 64 : 512;
    t->overlap = t->chunk / 8;
    if (r->tiny) t->len[t->n_len++] = 256;
    else {
        t->len[t->n_len++] = 2048;
        if (!r->quick) t->len[t->n_len++] = 8192;
    }
    t->n_decode = r->tiny ? 4 : r->quick ? 16 : 32;
    snprintf(t->speed_model, sizeof t->speed_model, "%s", model_describe(&r->speed));
    for (int k = 0; k < TQ_COUNT; k++) tq_describe(t->row[k].desc, sizeof t->row[k].desc, k, t->window, t->chunk, true);

    lc_status st = budgets(t, r, err);
    if (st != LC_OK) return st;
    const double now = lc_time_now();
    const bool have_models = r->def.m || r->lin.m;
    /* speed takes about half the section when retention has models to run */
    const double speed_deadline = now + (run->sec_deadline - now) * (have_models ? 0.5 : 1.0);
    st = speed_all(run, t, speed_deadline, err);
    if (st != LC_OK) return st;
    if (!have_models) {
        sec_note(r, LC_REPORT_TECHNIQUES, "retention not measured: %s", r->def.missing);
        for (int k = 0; k < TQ_COUNT; k++) rgrid_init(&t->row[k].ret, NULL, 0, 1, 1);
        return LC_OK;
    }
    st = retention_all(run, t, err);
    if (st != LC_OK) return st;
    if (!r->def.m) sec_note(r, LC_REPORT_TECHNIQUES, "retention of the default model: %s", r->def.missing);
    if (!r->lin.m) sec_note(r, LC_REPORT_TECHNIQUES, "retention of the LINEAR model: %s", r->lin.missing);
    for (int k = 0; k < TQ_COUNT; k++)
        for (int l = 0; l < t->row[k].ret.n_len; l++)
            if (!t->row[k].ret.ran[l] && t->row[k].ret.why[l][0] && strcmp(t->row[k].ret.why[l], "no model") != 0)
                sec_note(r, LC_REPORT_TECHNIQUES, "passkey, %s at %lld: %s", tq_names[k], (long long)t->row[k].ret.len[l],
                         t->row[k].ret.why[l]);
    return LC_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

void sec_techniques_json(lc_json_writer *w, const lc_report *r) {
    const tq_result *t = &r->tq;
    lc_json_kv_int(w, "memory_budget_bytes", (int64_t)t->budget_bytes);
    lc_json_kv_int(w, "budget_search_limit", t->budget_limit);
    lc_json_kv_int(w, "window", t->window);
    lc_json_kv_int(w, "sinks", t->n_sinks);
    lc_json_kv_int(w, "chunk", t->chunk);
    lc_json_kv_int(w, "overlap", t->overlap);
    lc_json_kv_str(w, "speed_model", t->speed_model);
    lc_json_kv_int(w, "decode_tokens", t->n_decode);
    lc_json_kv_int(w, "retention_window", t->ret_window);
    lc_json_kv_int(w, "retention_chunk", t->ret_chunk);
    lc_json_key(w, "techniques");
    lc_json_begin_array(w);
    for (int k = 0; k < TQ_COUNT; k++) {
        const tq_row *row = &t->row[k];
        lc_json_begin_object(w);
        lc_json_kv_str(w, "name", tq_names[k]);
        lc_json_kv_str(w, "config", row->desc);
        lc_json_key(w, "article");
        lc_json_begin_object(w);
        lc_json_kv_str(w, "max_context", claims[k][0]);
        lc_json_kv_str(w, "speed", claims[k][1]);
        lc_json_kv_str(w, "memory", claims[k][2]);
        lc_json_kv_str(w, "retention", claims[k][3]);
        lc_json_end_object(w);
        lc_json_kv_int(w, "max_context_speed_model", row->max_ctx_speed);
        lc_json_kv_bool(w, "unbounded_speed_model", row->unbounded_speed);
        lc_json_kv_int(w, "max_context_llama2_7b", row->max_ctx_mha);
        lc_json_kv_bool(w, "unbounded_llama2_7b", row->unbounded_mha);
        lc_json_key(w, "speed");
        lc_json_begin_array(w);
        for (int l = 0; l < t->n_len; l++) {
            lc_json_begin_object(w);
            lc_json_kv_int(w, "context", t->len[l]);
            lc_json_kv_bool(w, "ran", row->ran[l]);
            if (row->mem_known[l]) { /* absent for a cell not run */
                json_kv_bytes(w, "kv_bytes", row->kv_bytes[l]);
                json_kv_bytes(w, "attn_workspace_bytes", row->ws_bytes[l]);
            }
            if (row->ran[l]) {
                lc_json_kv_num(w, "prefill_tok_s", row->prefill_tok_s[l]);
                lc_json_kv_num(w, "decode_tok_s", row->decode_tok_s[l]);
                lc_json_kv_num(w, "prefill_attention_share", row->prefill_attn_share[l]);
                lc_json_kv_num(w, "decode_attention_share", row->decode_attn_share[l]);
            } else {
                lc_json_kv_str(w, "why", row->why[l]);
            }
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        lc_json_key(w, "retention");
        lc_json_begin_object(w);
        lc_json_kv_str(w, "config", row->ret_desc);
        if (row->ret_why[0]) lc_json_kv_str(w, "why", row->ret_why);
        lc_json_key(w, "passkey");
        rgrid_write_json(w, &row->ret);
        lc_json_end_object(w);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
}

/* ---- Document ---------------------------------------------------------------------------------- */

static void max_ctx_text(char *buf, size_t len, int64_t n, bool unbounded) {
    char a[32];
    if (unbounded) snprintf(buf, len, "unbounded");
    else if (n <= 0) snprintf(buf, len, "none (not even 1 token)");
    else snprintf(buf, len, "%s", lc_report_fmt_num((double)n, a, sizeof a));
}

/* The longest length index whose speed was measured for every technique that
 * ran at all (or -1). */
static int speed_ref_len(const tq_result *t) {
    for (int l = t->n_len - 1; l >= 0; l--)
        if (t->row[TQ_FULL].ran[l]) return l;
    return -1;
}

typedef struct {
    const tq_result *t;
} fig_ret;

static lc_status depth_svg(FILE *f, const void *user, lc_error *err) {
    const tq_result *t = ((const fig_ret *)user)->t;
    double x[RG_MAX_DEPTH], y[TQ_COUNT][RG_MAX_DEPTH];
    lc_plot_series s[TQ_COUNT];
    int ns = 0;
    for (int k = 0; k < TQ_COUNT; k++) {
        const rgrid *g = &t->row[k].ret;
        const int l = g->n_len - 1;
        if (l < 0 || !g->ran[l]) continue;
        for (int d = 0; d < g->n_depth; d++) {
            x[d] = 100.0 * g->depth[d];
            y[ns][d] = 100.0 * g->cells[l * g->n_depth + d].accuracy;
        }
        s[ns] = (lc_plot_series){tq_names[k], x, y[ns], g->n_depth};
        ns++;
    }
    if (ns == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "no retention grid was run");
    lc_plot_opts o;
    lc_plot_opts_init(&o);
    o.title = "Passkey accuracy against needle depth, at the training length";
    o.x_label = "needle depth (% of the haystack)";
    o.y_label = "accuracy %";
    o.width = 800;
    o.height = 420;
    return lc_plot_svg_lines(f, &o, s, ns, err);
}

void sec_techniques_doc(rdoc *d, const lc_report *r) {
    const tq_result *t = &r->tq;
    char a[32], b[32], c[32], e[32], lb[24];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_TECHNIQUES));
    const int lr = speed_ref_len(t);
    rdoc_para(d,
              "The article's comparison table is qualitative. Each technique here is a runtime configuration of "
              "longctx (window %lld + %lld sinks, chunk %lld / overlap %lld for the speed and memory columns). "
              "**Longest context**: the largest n whose attention memory (KV cache or LINEAR states, plus the "
              "attention scratch of one prefill chunk, f16 cache) fits in %s, found by bisection over the "
              "methods' own workspace functions (`lc_report_max_context`); *unbounded* means the memory stops "
              "growing with n. **Speed**: prefill of n random tokens then %lld decode steps through `lc_context` "
              "on a model with random weights of a realistic shape (%s). **Retention**: passkey accuracy of the "
              "models trained for it (section 3 has the longer lengths).",
              (long long)t->window, (long long)t->n_sinks, (long long)t->chunk, (long long)t->overlap,
              lc_report_fmt_bytes((double)t->budget_bytes, a, sizeof a), (long long)t->n_decode, t->speed_model);

    rtable *s = rdoc_table(d, 9, "llrlrrlrr", "Table 2a. The article's claims beside the measurements");
    char hp[64], hd[64];
    if (lr >= 0) {
        snprintf(hp, sizeof hp, "prefill tok/s at %s (x full)", tok_str(t->len[lr], lb, sizeof lb));
        snprintf(hd, sizeof hd, "decode tok/s at %s", lb);
    } else {
        snprintf(hp, sizeof hp, "prefill tok/s");
        snprintf(hd, sizeof hd, "decode tok/s");
    }
    char hm[64];
    snprintf(hm, sizeof hm, "longest context in %s: speed model / Llama-2-7B", lc_report_fmt_bytes((double)t->budget_bytes, a, sizeof a));
    const char *h[9] = {"technique", "article: max context", hm, "article: speed", hp, hd, "article: memory / retention",
                        "attention memory at that length", "passkey (training length)"};
    rtable_header(s, h);
    for (int k = 0; k < TQ_COUNT; k++) {
        const tq_row *row = &t->row[k];
        rtable_cell(s, "%s", tq_titles[k]);
        rtable_cell(s, "%s", claims[k][0]);
        max_ctx_text(a, sizeof a, row->max_ctx_speed, row->unbounded_speed);
        max_ctx_text(b, sizeof b, row->max_ctx_mha, row->unbounded_mha);
        rtable_cell(s, "%s / %s", a, b);
        rtable_cell(s, "%s", claims[k][1]);
        if (lr >= 0 && row->ran[lr]) {
            const double full = t->row[TQ_FULL].prefill_tok_s[lr];
            rtable_cell(s, "%s (x%.2f)", lc_report_fmt_num(row->prefill_tok_s[lr], a, sizeof a),
                        full > 0 ? row->prefill_tok_s[lr] / full : NAN);
            rtable_cell(s, "%s", lc_report_fmt_num(row->decode_tok_s[lr], b, sizeof b));
        } else {
            rtable_cell(s, "not run");
            rtable_cell(s, "not run");
        }
        rtable_cell(s, "%s / %s", claims[k][2], claims[k][3]);
        if (lr >= 0 && row->mem_known[lr])
            rtable_cell(s, "%s", lc_report_fmt_bytes(row->kv_bytes[lr] + row->ws_bytes[lr], a, sizeof a));
        else rtable_cell(s, "not run");
        const rgrid *g = &row->ret;
        const int ll = g->n_len - 1;
        if (ll >= 0 && g->ran[ll]) rtable_cell(s, "%s", lc_report_fmt_pct(rgrid_len_accuracy(g, ll), c, sizeof c));
        else rtable_cell(s, "not run");
    }

    rtable *sp = rdoc_table(d, 7, "llrrrrr", "Table 2b. Speed and attention memory on the speed model");
    const char *h2[7] = {"technique", "context", "prefill tok/s", "attention share of prefill", "decode tok/s",
                         "attention share of decode", "KV / state + scratch"};
    rtable_header(sp, h2);
    for (int l = 0; l < t->n_len; l++)
        for (int k = 0; k < TQ_COUNT; k++) {
            const tq_row *row = &t->row[k];
            rtable_cell(sp, "%s", tq_names[k]);
            rtable_cell(sp, "%s", tok_str(t->len[l], lb, sizeof lb));
            if (row->ran[l]) {
                rtable_cell(sp, "%s", lc_report_fmt_num(row->prefill_tok_s[l], a, sizeof a));
                rtable_cell(sp, "%s", lc_report_fmt_pct(row->prefill_attn_share[l], b, sizeof b));
                rtable_cell(sp, "%s", lc_report_fmt_num(row->decode_tok_s[l], c, sizeof c));
                rtable_cell(sp, "%s", lc_report_fmt_pct(row->decode_attn_share[l], e, sizeof e));
            } else {
                rtable_cell(sp, "%s", row->why[l][0] ? row->why[l] : "not run");
                rtable_cell(sp, "not run");
                rtable_cell(sp, "not run");
                rtable_cell(sp, "not run");
            }
            if (!row->mem_known[l]) rtable_cell(sp, "not run");
            else if (row->ws_bytes[l] > 0)
                rtable_cell(sp, "%s + %s", lc_report_fmt_bytes(row->kv_bytes[l], a, sizeof a),
                            lc_report_fmt_bytes(row->ws_bytes[l], b, sizeof b));
            else rtable_cell(sp, "%s + no scratch", lc_report_fmt_bytes(row->kv_bytes[l], a, sizeof a));
        }

    /* retention */
    const rgrid *g0 = &t->row[TQ_FULL].ret;
    const int n_len = g0->n_len;
    if (n_len > 0) {
        rtable *rt = rdoc_table(d, 2 + n_len, "llrrrrrrrr", "Table 2c. Passkey accuracy (mean over needle depths)");
        const char *h3[2 + RG_MAX_LEN];
        char lens[RG_MAX_LEN][32];
        h3[0] = "technique";
        h3[1] = "configuration";
        for (int l = 0; l < n_len; l++) {
            snprintf(lens[l], sizeof lens[l], "%s tokens", tok_str(g0->len[l], lb, sizeof lb));
            h3[2 + l] = lens[l];
        }
        rtable_header(rt, h3);
        for (int k = 0; k < TQ_COUNT; k++) {
            const tq_row *row = &t->row[k];
            rtable_cell(rt, "%s", tq_names[k]);
            rtable_cell(rt, "%s", row->ret_why[0] ? row->ret_why : row->ret_desc);
            for (int l = 0; l < n_len; l++) {
                if (l < row->ret.n_len && row->ret.ran[l])
                    rtable_cell(rt, "%s", lc_report_fmt_pct(rgrid_len_accuracy(&row->ret, l), a, sizeof a));
                else rtable_cell(rt, "not run");
            }
        }
        rdoc_para(d, "%d needle depths from 0 to 100%% x %d trial(s) per length; window and chunk for the trained "
                     "model: %lld tokens (a quarter of its training context), so a needle further than that from "
                     "the question is outside the window.",
                  g0->n_depth, g0->trials, (long long)t->ret_window);
        fig_ret fr = {t};
        doc_svg_figure(d, "fig-retention-depth.svg", depth_svg, &fr,
                       "Passkey accuracy against needle depth at the training length, per technique (depth 100%: "
                       "the needle is next to the question).");
    }
    rdoc_heading(d, 3, NULL, "Reading the comparison");
    rdoc_item(d, "**Max context is a memory question, and the answer depends on the model**: with full attention a "
                 "1 GiB budget holds %s tokens for the speed model but %s for Llama-2-7B (0.5 MiB of KV cache per "
                 "token). Window and linear attention have constant memory: their context is bounded by what "
                 "they can still use, not by memory. Chunked and hybrid attention keep every key, so they fit "
                 "no more than full attention; the article's 256K+ and 1M+ are not properties of the techniques.",
             lc_report_fmt_num((double)t->row[TQ_FULL].max_ctx_speed, a, sizeof a),
             lc_report_fmt_num((double)t->row[TQ_FULL].max_ctx_mha, b, sizeof b));
    if (lr >= 0 && t->row[TQ_FULL].ran[lr]) {
        const tq_row *f = &t->row[TQ_FULL];
        rdoc_item(d, "**Speed**: at %s tokens attention is %s of full attention's prefill time and %s of its decode "
                     "time on this model; the rest is matrix multiplication, which every technique pays alike. So "
                     "the techniques can only change that share: attention grows as n^2 for full attention and "
                     "linearly for the others, and decode reads the whole KV cache per token under full attention "
                     "but a constant amount under a window or a LINEAR state.",
                 tok_str(t->len[lr], lb, sizeof lb), lc_report_fmt_pct(f->prefill_attn_share[lr], a, sizeof a),
                 lc_report_fmt_pct(f->decode_attn_share[lr], b, sizeof b));
    }
    const rgrid *gf = &t->row[TQ_FULL].ret;
    if (gf->n_len > 0) {
        const int l = gf->n_len - 1;
        char acc[TQ_COUNT][32];
        for (int k = 0; k < TQ_COUNT; k++) {
            const rgrid *g = &t->row[k].ret;
            if (l < g->n_len && g->ran[l]) lc_report_fmt_pct(rgrid_len_accuracy(g, l), acc[k], sizeof acc[k]);
            else snprintf(acc[k], sizeof acc[k], "not measured");
        }
        rdoc_item(d, "**Retention** at %s tokens (passkey, mean over depths): full attention %s, window (%lld keys "
                     "+ 4 sinks) %s, chunked %s, hybrid %s, the LINEAR model %s. A window cannot see a needle "
                     "further back than its width, and LINEAR attention keeps the past only as a fixed-size "
                     "state; compare with the article's \"locally excellent\" and \"globally good\".",
                 tok_str(gf->len[l], lb, sizeof lb), acc[TQ_FULL], (long long)t->ret_window, acc[TQ_WINDOW],
                 acc[TQ_CHUNKED], acc[TQ_HYBRID], acc[TQ_LINEAR]);
    }
}
