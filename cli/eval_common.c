/* longctx eval: model and context setup, JSON header, progress (eval_common.h). */
#include <string.h>

#include "longctx/util.h"
#include "eval_common.h"
#include "longctx/gguf.h"
#include "longctx/sys.h"

const char *eval_len_str(int64_t v, char *buf, size_t len) {
    if (v >= (1 << 20) && v % (1 << 20) == 0) snprintf(buf, len, "%lldM", (long long)(v >> 20));
    else if (v >= 1024 && v % 1024 == 0) snprintf(buf, len, "%lldK", (long long)(v >> 10));
    else if (v >= 1024 && (v * 10) % 1024 == 0) snprintf(buf, len, "%.1fK", (double)v / 1024.0);
    else snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

/* The file name without directory and extension; general.name of a GGUF
 * (often just the architecture, e.g. "llama") into gname, or "". */
static void model_name(const char *path, const lc_model *m, char *buf, size_t len, char *gname, size_t glen) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(buf, len, "%s", base);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
    gname[0] = '\0';
    if (strcmp(m->format, "gguf") != 0) return;
    lc_gguf *g = NULL;
    const char *s;
    size_t n;
    if (lc_gguf_open(path, &g, NULL) == LC_OK && lc_gguf_get_str(g, "general.name", &s, &n, NULL) == LC_OK)
        snprintf(gname, glen, "%.*s", (int)(n < glen - 1 ? n : glen - 1), s);
    lc_gguf_close(g);
}

int eval_session_open(eval_session *s, eval_args *a) {
    memset(s, 0, sizeof *s);
    s->a = a;
    s->table = a->json ? stderr : stdout;
    cli_progress_init(&s->progress);
    int rc = cli_runtime_load_model(&a->rf, &s->model, EVAL_CMD);
    if (rc != CLI_OK) return rc;
    model_name(a->rf.model_path, s->model, s->model_name, sizeof s->model_name, s->general_name,
               sizeof s->general_name);
    rc = cli_runtime_rope(&a->rf, s->model, &s->rope, EVAL_CMD);
    if (rc != CLI_OK) return rc;
    s->tok = s->model->tokenizer;
    if (!s->tok && a->rf.tok_path) { /* e.g. a random GGUF: -z tokenizer.bin of the same vocabulary */
        lc_error err;
        if (lc_tokenizer_load_llama2c(a->rf.tok_path, s->model->cfg.vocab_size, &s->own_tok, &err) != LC_OK)
            return cli_fail(EVAL_CMD, &err);
        s->tok = s->own_tok;
    }
    if (a->haystack_path) {
        lc_error err;
        if (lc_haystack_load(a->haystack_path, &s->haystack, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
        a->spec.haystack = s->haystack;
    }
    return CLI_OK;
}

void eval_session_close(eval_session *s) {
    cli_progress_done(&s->progress);
    lc_haystack_free(s->haystack);
    lc_tokenizer_free(s->own_tok);
    lc_model_free(s->model);
    memset(s, 0, sizeof *s);
}

void eval_default_lengths(eval_session *s) {
    eval_args *a = s->a;
    if (a->n_lengths > 0) return;
    int64_t target = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx - a->margin : s->model->cfg.ctx_train;
    if (target < 1) target = 1;
    for (int64_t L = 1024; L < target && a->n_lengths < LC_EVAL_MAX_LENGTHS - 1; L *= 2) a->lengths[a->n_lengths++] = L;
    a->lengths[a->n_lengths++] = target;
}

int eval_context_fits(eval_session *s, const lc_context_opts *o, int64_t n_ctx, const char *what) {
    lc_context_opts co = *o;
    co.n_ctx = n_ctx;
    lc_context_memory mem;
    lc_error err;
    if (lc_context_memory_need(s->model, &co, &mem, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
    const size_t avail = lc_mem_available_bytes();
    if (avail && mem.total_bytes > avail) {
        char need[32], kv[32], have[32];
        cli_error(EVAL_CMD,
                  "%s needs a context of %lld tokens: %s (%s of it the KV cache), but only %s of memory is "
                  "available; lower --lengths or -c%s",
                  what, (long long)mem.n_ctx, lc_format_bytes((double)mem.total_bytes, need, sizeof need),
                  lc_format_bytes((double)mem.kv_bytes, kv, sizeof kv), lc_format_bytes((double)avail, have, sizeof have),
                  co.k_type == LC_DTYPE_F32 || co.v_type == LC_DTYPE_F32 ? ", or use -ctk/-ctv f16" : "");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int eval_context_create(eval_session *s, const lc_context_opts *o, int64_t n_ctx, const char *what, lc_context **out) {
    *out = NULL;
    int rc = eval_context_fits(s, o, n_ctx, what);
    if (rc != CLI_OK) return rc;
    lc_context_opts co = *o;
    co.n_ctx = n_ctx;
    lc_error err;
    if (lc_context_create(s->model, &co, out, &err) != LC_OK) return cli_fail(EVAL_CMD, &err);
    return CLI_OK;
}

const char *eval_method_label(const lc_context *ctx, char *buf, size_t len) {
    const lc_rope_config *r = lc_context_rope(ctx);
    const char *attn = lc_attn_method_name(lc_context_attn(ctx)->method);
    if (r->scaling == LC_ROPE_SCALING_NONE) snprintf(buf, len, "attn %s, rope none", attn);
    else snprintf(buf, len, "attn %s, rope %s x%.4g", attn, lc_rope_scaling_name(r->scaling), (double)r->factor);
    return buf;
}

void eval_print_setup(eval_session *s, const lc_context *ctx) {
    char rd[192];
    const lc_attn_params *ap = lc_context_attn(ctx);
    fprintf(s->table, "# %s on %s (%s, %lld params): ctx %lld, %d threads, attn %s, kv %s/%s, rope %s\n",
            s->a->task_name, s->model_name, s->model->format, (long long)lc_model_n_params(&s->model->cfg),
            (long long)lc_context_n_ctx(ctx), lc_context_n_threads(ctx), lc_attn_method_name(ap->method),
            lc_dtype_name(lc_context_k_type(ctx)), lc_dtype_name(lc_context_v_type(ctx)),
            lc_rope_describe(lc_context_rope(ctx), rd, sizeof rd));
}

void eval_ctx_info_get(const lc_context *ctx, eval_ctx_info *info) {
    info->attn = lc_context_attn(ctx)->method;
    info->rope = *lc_context_rope(ctx);
    info->n_ctx = lc_context_n_ctx(ctx);
    info->n_batch = lc_context_n_batch(ctx);
    info->k_type = lc_context_k_type(ctx);
    info->v_type = lc_context_v_type(ctx);
    info->n_threads = lc_context_n_threads(ctx);
}

void eval_json_begin(eval_session *s, lc_json_writer *w, const eval_ctx_info *info) {
    const eval_args *a = s->a;
    const lc_model *m = s->model;
    lc_json_begin_object(w);
    lc_json_kv_str(w, "task", a->task_name);
    lc_json_key(w, "model");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "path", a->rf.model_path);
    lc_json_kv_str(w, "name", s->model_name);
    if (s->general_name[0]) lc_json_kv_str(w, "general_name", s->general_name);
    lc_json_kv_str(w, "format", m->format);
    lc_json_kv_int(w, "params", lc_model_n_params(&m->cfg));
    lc_json_kv_int(w, "layers", m->cfg.n_layers);
    lc_json_kv_int(w, "heads", m->cfg.n_heads);
    lc_json_kv_int(w, "kv_heads", m->cfg.n_kv_heads);
    lc_json_kv_int(w, "dim", m->cfg.dim);
    lc_json_kv_int(w, "ctx_train", m->cfg.ctx_train);
    lc_json_end_object(w);

    lc_json_key(w, "settings");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "attn", a->rf.co.attn ? a->rf.co.attn : m->cfg.attention[0] ? m->cfg.attention : "flash");
    lc_json_kv_str(w, "attn_method", lc_attn_method_name(info->attn));
    const lc_rope_config *r = &info->rope;
    lc_json_key(w, "rope");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "scaling", lc_rope_scaling_name(r->scaling));
    lc_json_kv_num(w, "factor", r->scaling == LC_ROPE_SCALING_NONE ? 1.0 : r->factor);
    lc_json_kv_int(w, "orig_ctx", r->orig_ctx);
    lc_json_kv_num(w, "freq_base", r->freq_base);
    char rd[192];
    lc_json_kv_str(w, "describe", lc_rope_describe(r, rd, sizeof rd));
    lc_json_end_object(w);
    lc_json_kv_int(w, "ctx", info->n_ctx);
    lc_json_kv_int(w, "batch", info->n_batch);
    lc_json_kv_str(w, "cache_type_k", lc_dtype_name(info->k_type));
    lc_json_kv_str(w, "cache_type_v", lc_dtype_name(info->v_type));
    lc_json_kv_str(w, "kv_policy", a->rf.kv_spec ? a->rf.kv_spec : "full");
    lc_json_kv_int(w, "seed", (int64_t)a->seed);
    lc_json_kv_int(w, "trials", a->trials);
    lc_json_kv_int(w, "threads", info->n_threads);
}

bool eval_progress(void *user, double done, double total, const char *what) {
    eval_session *s = user;
    cli_progress_update(&s->progress, done, total, what);
    return true;
}
