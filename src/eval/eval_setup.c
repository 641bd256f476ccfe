/*
 * What a run of the evaluation suite is made of around the measurements: the
 * settings of its context, names of models and methods, the memory check
 * before a context is allocated, and the common JSON header and settings of
 * `longctx eval` (docs/eval.md has the contract).
 */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/gguf.h"
#include "longctx/sys.h"
#include "longctx/util.h"

void lc_eval_ctx_info_get(const lc_context *ctx, lc_eval_ctx_info *info) {
    info->attn = lc_context_attn(ctx)->method;
    info->rope = *lc_context_rope(ctx);
    info->n_ctx = lc_context_n_ctx(ctx);
    info->n_batch = lc_context_n_batch(ctx);
    info->k_type = lc_context_k_type(ctx);
    info->v_type = lc_context_v_type(ctx);
    info->n_threads = lc_context_n_threads(ctx);
}

const char *lc_eval_method_label(const lc_eval_ctx_info *info, char *buf, size_t len) {
    const lc_rope_config *r = &info->rope;
    const char *attn = lc_attn_method_name(info->attn);
    if (r->scaling == LC_ROPE_SCALING_NONE) snprintf(buf, len, "attn %s, rope none", attn);
    else snprintf(buf, len, "attn %s, rope %s x%.4g", attn, lc_rope_scaling_name(r->scaling), (double)r->factor);
    return buf;
}

const char *lc_eval_len_str(int64_t v, char *buf, size_t len) {
    if (v >= (1 << 20) && v % (1 << 20) == 0) snprintf(buf, len, "%lldM", (long long)(v >> 20));
    else if (v >= 1024 && v % 1024 == 0) snprintf(buf, len, "%lldK", (long long)(v >> 10));
    else if (v >= 1024 && (v * 10) % 1024 == 0) snprintf(buf, len, "%.1fK", (double)v / 1024.0);
    else snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

void lc_eval_model_names(const char *path, const lc_model *m, char *name, size_t len, char *general, size_t glen) {
    if (name && len) {
        const char *base = strrchr(path, '/');
        snprintf(name, len, "%s", base ? base + 1 : path);
        char *dot = strrchr(name, '.');
        if (dot && dot != name) *dot = '\0';
    }
    if (!general || !glen) return;
    general[0] = '\0';
    if (strcmp(m->format, "gguf") != 0) return;
    lc_gguf *g = NULL;
    const char *s;
    size_t n;
    if (lc_gguf_open(path, &g, NULL) == LC_OK && lc_gguf_get_str(g, "general.name", &s, &n, NULL) == LC_OK)
        snprintf(general, glen, "%.*s", (int)(n < glen - 1 ? n : glen - 1), s);
    lc_gguf_close(g);
}

lc_status lc_eval_context_fits(const lc_model *m, const lc_context_opts *o, int64_t n_ctx, double share,
                               const char *what, lc_error *err) {
    lc_context_opts co = *o;
    co.n_ctx = n_ctx;
    lc_context_memory mem;
    lc_status st = lc_context_memory_need(m, &co, &mem, err);
    if (st != LC_OK) return st;
    const double avail = (double)lc_mem_available_bytes() * (share > 0 && share < 1 ? share : 1.0);
    if (avail <= 0 || (double)mem.total_bytes <= avail) return LC_OK;
    char need[32], kv[32], have[32];
    return lc_fail(err, LC_ERR_TOO_LARGE,
                   "%s needs a context of %lld tokens: %s (%s of it the KV cache), but only %s of memory is "
                   "available; lower --lengths or -c%s",
                   what ? what : "the evaluation", (long long)mem.n_ctx,
                   lc_format_bytes((double)mem.total_bytes, need, sizeof need),
                   lc_format_bytes((double)mem.kv_bytes, kv, sizeof kv), lc_format_bytes(avail, have, sizeof have),
                   co.k_type == LC_DTYPE_F32 || co.v_type == LC_DTYPE_F32 ? ", or use -ctk/-ctv f16" : "");
}

/* ---- JSON header and settings ----------------------------------------------------------- */

static void write_model(lc_json_writer *w, const char *path, const lc_model *m) {
    char name[128], general[128];
    lc_eval_model_names(path, m, name, sizeof name, general, sizeof general);
    lc_json_key(w, "model");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "path", path);
    lc_json_kv_str(w, "name", name);
    if (general[0]) lc_json_kv_str(w, "general_name", general);
    lc_json_kv_str(w, "format", m->format);
    lc_json_kv_int(w, "params", lc_model_n_params(&m->cfg));
    lc_json_kv_int(w, "layers", m->cfg.n_layers);
    lc_json_kv_int(w, "heads", m->cfg.n_heads);
    lc_json_kv_int(w, "kv_heads", m->cfg.n_kv_heads);
    lc_json_kv_int(w, "dim", m->cfg.dim);
    lc_json_kv_int(w, "ctx_train", m->cfg.ctx_train);
    lc_json_end_object(w);
}

static void write_rope(lc_json_writer *w, const lc_rope_config *r) {
    lc_json_key(w, "rope");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "scaling", lc_rope_scaling_name(r->scaling));
    lc_json_kv_num(w, "factor", r->scaling == LC_ROPE_SCALING_NONE ? 1.0 : r->factor);
    lc_json_kv_int(w, "orig_ctx", r->orig_ctx);
    lc_json_kv_num(w, "freq_base", r->freq_base);
    char rd[192];
    lc_json_kv_str(w, "describe", lc_rope_describe(r, rd, sizeof rd));
    lc_json_end_object(w);
}

void lc_eval_write_header(lc_json_writer *w, const lc_eval_header *h) {
    const lc_model *m = h->model;
    const lc_eval_ctx_info *info = &h->ctx;
    lc_json_begin_object(w);
    lc_json_kv_str(w, "task", h->task);
    write_model(w, h->model_path, m);
    lc_json_key(w, "settings");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "attn", h->attn_spec ? h->attn_spec : m->cfg.attention[0] ? m->cfg.attention : "flash");
    lc_json_kv_str(w, "attn_method", lc_attn_method_name(info->attn));
    write_rope(w, &info->rope);
    lc_json_kv_int(w, "ctx", info->n_ctx);
    lc_json_kv_int(w, "batch", info->n_batch);
    lc_json_kv_str(w, "cache_type_k", lc_dtype_name(info->k_type));
    lc_json_kv_str(w, "cache_type_v", lc_dtype_name(info->v_type));
    lc_json_kv_str(w, "kv_policy", h->kv_policy ? h->kv_policy : "full");
    lc_json_kv_int(w, "seed", (int64_t)h->seed);
    lc_json_kv_int(w, "trials", h->trials);
    lc_json_kv_int(w, "threads", info->n_threads);
}

static void write_i64s(lc_json_writer *w, const char *key, const int64_t *v, int n) {
    lc_json_key(w, key);
    lc_json_begin_array(w);
    for (int i = 0; i < n; i++) lc_json_int(w, v[i]);
    lc_json_end_array(w);
}

static void write_depths(lc_json_writer *w, const lc_eval_grid_config *c) {
    lc_json_key(w, "depths");
    if (c->n_depths == 0) {
        lc_json_str(w, "random");
        return;
    }
    lc_json_begin_array(w);
    for (int d = 0; d < c->n_depths; d++) lc_json_num(w, c->depths[d]);
    lc_json_end_array(w);
}

static void write_haystack(lc_json_writer *w, const char *haystack) {
    lc_json_key(w, "haystack");
    if (haystack) lc_json_str(w, haystack);
    else lc_json_null(w);
}

void lc_eval_grid_write_settings(lc_json_writer *w, const lc_eval_grid_config *c, const char *variant,
                                 const char *haystack, bool prefix_reuse) {
    const lc_task_spec *t = &c->task;
    write_i64s(w, "lengths", c->lengths, c->n_lengths);
    write_depths(w, c);
    lc_json_kv_int(w, "margin", c->margin);
    lc_json_kv_str(w, "kind", lc_task_kind_name(t->kind));
    if (variant) lc_json_kv_str(w, "variant", variant);
    lc_json_kv_int(w, "digits", t->digits);
    if (t->kind == LC_TASK_MULTIKEY || t->kind == LC_TASK_MULTIQUERY) lc_json_kv_int(w, "keys", t->n_keys);
    if (t->kind == LC_TASK_MULTIVALUE) lc_json_kv_int(w, "values", t->n_values);
    if (t->kind == LC_TASK_MULTIQUERY) lc_json_kv_int(w, "queries", t->n_queries);
    if (t->kind == LC_TASK_VT) {
        lc_json_kv_int(w, "chains", t->n_chains);
        lc_json_kv_int(w, "hops", t->n_hops);
    }
    write_haystack(w, haystack);
    lc_json_kv_bool(w, "prefix_reuse", prefix_reuse);
}

void lc_eval_retention_write_settings(lc_json_writer *w, const lc_eval_retention_config *c, const char *haystack) {
    write_i64s(w, "lengths", c->grid.lengths, c->grid.n_lengths);
    write_depths(w, &c->grid);
    write_i64s(w, "probes", c->probes, c->n_probes);
    lc_json_kv_int(w, "margin", c->grid.margin);
    lc_json_kv_int(w, "digits", c->grid.task.digits);
    write_haystack(w, haystack);
}

void lc_eval_ppl_write_results(lc_json_writer *w, const lc_eval_ppl_result *res, const char *const *names,
                               const lc_eval_ctx_info *info, int nm, int nl, bool timings) {
    lc_json_key(w, "cells");
    lc_json_begin_array(w);
    for (int k = 0; k < nm * nl; k++) {
        lc_json_begin_object(w);
        lc_json_kv_str(w, "method", names[k / nl]);
        lc_json_kv_str(w, "attn", lc_attn_method_name(info[k / nl].attn));
        lc_json_kv_str(w, "rope_scaling", lc_rope_scaling_name(info[k / nl].rope.scaling));
        lc_eval_ppl_write_json(w, &res[k], timings);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    int64_t n_all = 0;
    lc_json_kv_num(w, "ppl", lc_eval_ppl_overall(res, nm * nl, &n_all));
    lc_json_kv_int(w, "tokens", n_all);
}

void lc_eval_streams_write_json(lc_json_writer *w, const lc_eval_stream_cell *m, int n, bool timings) {
    double nll = 0.0; /* overall, as every ppl run: over the scored tokens of all cells */
    int64_t cnt = 0;
    lc_json_key(w, "cells");
    lc_json_begin_array(w);
    for (int i = 0; i < n; i++) {
        const lc_eval_stream_cell *c = &m[i];
        nll += c->res.nll;
        cnt += c->res.n_scored;
        lc_json_begin_object(w);
        lc_json_kv_str(w, "method", c->spec);
        lc_json_kv_int(w, "slots", c->slots);
        lc_json_kv_num(w, "kv_bytes", c->kv_bytes);
        lc_eval_ppl_write_json(w, &c->res, timings);
        if (timings) {
            lc_json_kv_num(w, "tokens_per_s", c->st.tokens_per_s);
            if (!c->recompute) {
                lc_json_kv_num(w, "tokens_per_s_first_tenth", c->st.tokens_per_s_first);
                lc_json_kv_num(w, "tokens_per_s_last_tenth", c->st.tokens_per_s_last);
            }
            lc_json_kv_num(w, "rss_start", (double)c->st.rss_start);
            lc_json_kv_num(w, "rss_end", (double)c->st.rss_end);
        }
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_kv_num(w, "ppl", cnt > 0 ? exp(nll / (double)cnt) : NAN);
    lc_json_kv_int(w, "tokens", cnt);
}

void lc_eval_print_setup(FILE *f, const char *task, const char *model_name, const lc_model *m,
                         const lc_eval_ctx_info *info, const char *file, int64_t file_tokens) {
    if (!f || !m || !info) return;
    char rd[192];
    fprintf(f, "# %s on %s (%s, %lld params): ctx %lld, %d threads, attn %s, kv %s/%s, rope %s\n", task, model_name,
            m->format, (long long)lc_model_n_params(&m->cfg), (long long)info->n_ctx, info->n_threads,
            lc_attn_method_name(info->attn), lc_dtype_name(info->k_type), lc_dtype_name(info->v_type),
            lc_rope_describe(&info->rope, rd, sizeof rd));
    if (file && file_tokens > 0) fprintf(f, "# %lld tokens from %s\n", (long long)file_tokens, file);
}
