/* longctx eval ppl: perplexity against context length with a sliding window,
 * for one or several methods (attention specs x RoPE scalings), with the
 * mean loss per log2 bucket of position in the window. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_common.h"
#include "longctx/sys.h"

#define PPL_MAX_METHODS 16
#define PPL_FILE_MAX ((size_t)1 << 30)

typedef struct {
    char attn[96];             /* spec as given ("" = default)   */
    bool rope_override;        /* scaling from the list           */
    lc_rope_scaling scaling;
    char name[128];            /* "flash (rope yarn x4)": no comma */
    eval_ctx_info info;        /* its context's settings          */
} ppl_method;

/* The whole file (at most 1 GiB and what memory allows); NULL after a message. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error(EVAL_CMD, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    const size_t avail = lc_mem_available_bytes();
    if (size < 0 || (size_t)size > PPL_FILE_MAX || (avail && (size_t)size > avail / 2) || fseek(f, 0, SEEK_SET) != 0) {
        cli_error(EVAL_CMD, "%s: %s", path, size < 0 ? "cannot size the file" : "larger than 1 GiB or memory allows");
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        cli_error(EVAL_CMD, "cannot read %s", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

/* Token ids separated by white space or commas; checked against the vocabulary. */
static int32_t *parse_tokens(const char *path, const char *text, size_t len, int32_t vocab, int64_t *n) {
    size_t cap = 1; /* at most the runs of digits in the file */
    for (size_t i = 0; i < len; i++)
        cap += (text[i] >= '0' && text[i] <= '9') && (i == 0 || text[i - 1] < '0' || text[i - 1] > '9');
    int32_t *ids = malloc(cap * sizeof(int32_t));
    if (!ids) {
        cli_error(EVAL_CMD, "out of memory");
        return NULL;
    }
    *n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',')) p++;
        if (p >= end) break;
        char *e;
        errno = 0;
        long v = strtol(p, &e, 10);
        if (e == p || errno || v < 0 || v >= vocab || (e < end && !strchr(" \t\r\n,", *e))) {
            cli_error(EVAL_CMD, "%s: token %lld is not an id in 0..%d", path, (long long)*n + 1, vocab - 1);
            free(ids);
            return NULL;
        }
        ids[(*n)++] = (int32_t)v;
        p = e;
    }
    return ids;
}

int32_t *eval_ppl_load_tokens(eval_session *s, int64_t *n) {
    const eval_args *a = s->a;
    const char *path = a->tokens_path ? a->tokens_path : a->text_path;
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) return NULL;
    int32_t *ids = NULL;
    if (a->tokens_path) {
        ids = parse_tokens(path, text, len, s->model->cfg.vocab_size, n);
    } else if (!s->tok) {
        cli_error(EVAL_CMD, "the model has no tokenizer: give -z TOKENIZER.bin or --tokens-file");
    } else {
        lc_error err;
        const lc_tokenizer *tok = s->tok;
        int64_t need = 0;
        lc_status st = lc_tokenizer_encode(tok, text, len, true, NULL, 0, &need, &err);
        if (st == LC_OK || st == LC_ERR_TOO_LARGE) {
            ids = malloc((size_t)(need > 0 ? need : 1) * sizeof(int32_t));
            st = ids ? lc_tokenizer_encode(tok, text, len, true, ids, need, n, &err)
                     : lc_fail(&err, LC_ERR_NOMEM, "out of memory");
        }
        if (st != LC_OK) {
            cli_fail(EVAL_CMD, &err);
            free(ids);
            ids = NULL;
        }
    }
    free(text);
    if (ids && *n < 2) {
        cli_error(EVAL_CMD, "%s: %lld tokens: nothing to score (need at least 2)", path, (long long)*n);
        free(ids);
        ids = NULL;
    }
    if (ids && a->max_tokens > 0 && *n > a->max_tokens) *n = a->max_tokens;
    return ids;
}

/* Methods: the --attn list x the --rope-scaling list. */
static int make_methods(eval_session *s, ppl_method *m, int *n_methods) {
    const eval_args *a = s->a;
    const char *attn_list = a->rf.co.attn ? a->rf.co.attn : "";
    const char *scal_list = NULL;
    for (int i = 0; i < a->rf.n_rope; i++)
        if (cli_is(a->rf.rope_names[i], NULL, "--rope-scaling") && strchr(a->rf.rope_values[i], ','))
            scal_list = a->rf.rope_values[i];
    *n_methods = 0;
    const char *ap = attn_list;
    do {
        size_t al = strcspn(ap, ",");
        const char *sp = scal_list;
        do {
            if (*n_methods == PPL_MAX_METHODS) {
                cli_error(EVAL_CMD, "at most %d methods (attention x RoPE scaling)", PPL_MAX_METHODS);
                return CLI_USAGE;
            }
            ppl_method *pm = &m[(*n_methods)++];
            memset(pm, 0, sizeof *pm);
            if (al >= sizeof pm->attn) {
                cli_error(EVAL_CMD, "--attn spec too long");
                return CLI_USAGE;
            }
            memcpy(pm->attn, ap, al);
            if (sp) {
                size_t sl = strcspn(sp, ",");
                char name[32];
                snprintf(name, sizeof name, "%.*s", (int)(sl < 31 ? sl : 31), sp);
                if (!lc_rope_scaling_parse(name, &pm->scaling)) {
                    cli_error(EVAL_CMD, "--rope-scaling: unknown scaling '%s'", name);
                    return CLI_USAGE;
                }
                pm->rope_override = true;
                sp += sl + (sp[sl] == ',');
            }
        } while (sp && *sp);
        ap += al + (ap[al] == ',');
    } while (*ap);
    return CLI_OK;
}

/* The RoPE of a method: the model's with every RoPE flag but a list, then the
 * method's scaling. */
static int method_rope(eval_session *s, const ppl_method *pm, lc_rope_config *rope) {
    const eval_args *a = s->a;
    *rope = s->model->cfg.rope;
    lc_error err;
    for (int i = 0; i < a->rf.n_rope; i++) {
        if (cli_is(a->rf.rope_names[i], NULL, "--rope-scaling") && strchr(a->rf.rope_values[i], ',')) continue;
        if (lc_rope_apply_option(rope, a->rf.rope_names[i], a->rf.rope_values[i], &err) != LC_OK) {
            cli_error(EVAL_CMD, "%s", err.msg);
            return CLI_USAGE;
        }
    }
    if (pm->rope_override) rope->scaling = pm->scaling;
    return CLI_OK;
}

static void print_results(eval_session *s, const ppl_method *methods, int nm, const lc_eval_ppl_result *res, int nl) {
    FILE *t = s->table;
    char lb[16];
    fprintf(t, "%-28s %8s %7s %8s %9s %10s %8s", "method", "length", "stride", "windows", "tokens", "ppl", "loss");
    if (s->a->timings) fprintf(t, " %9s", "tok/s");
    fprintf(t, "\n");
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++) {
            const lc_eval_ppl_result *r = &res[i * nl + j];
            fprintf(t, "%-28s %8s %7lld %8lld %9lld %10.4f %8.4f", methods[i].name,
                    eval_len_str(r->window, lb, sizeof lb), (long long)r->stride, (long long)r->n_windows,
                    (long long)r->n_scored, r->ppl, r->nll / (double)r->n_scored);
            if (s->a->timings) fprintf(t, " %9.1f", r->seconds > 0 ? (double)r->n_evaluated / r->seconds : 0.0);
            fprintf(t, "\n");
        }
    /* mean loss by position in the window: does distant context help? */
    int nb = 0;
    for (int k = 0; k < nm * nl; k++) nb = res[k].n_buckets > nb ? res[k].n_buckets : nb;
    fprintf(t, "mean loss by position in the window (tokens of context):\n%-12s", "position");
    for (int k = 0; k < nm * nl; k++) {
        char col[40];
        snprintf(col, sizeof col, "%s", eval_len_str(res[k].window, lb, sizeof lb));
        if (nm > 1) snprintf(col, sizeof col, "%d:%s", k / nl, lb);
        fprintf(t, " %9s", col);
    }
    fprintf(t, "\n");
    for (int b = 1; b < nb; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        char rng[40];
        if (lo == hi) snprintf(rng, sizeof rng, "%lld", (long long)lo);
        else snprintf(rng, sizeof rng, "%lld-%lld", (long long)lo, (long long)hi);
        fprintf(t, "%-12s", rng);
        for (int k = 0; k < nm * nl; k++) {
            if (b < res[k].n_buckets && res[k].bucket_count[b] > 0)
                fprintf(t, " %9.4f", res[k].bucket_nll[b] / (double)res[k].bucket_count[b]);
            else fprintf(t, " %9s", "-");
        }
        fprintf(t, "\n");
    }
    if (nm > 1)
        for (int i = 0; i < nm; i++) fprintf(t, "  %d = %s\n", i, methods[i].name);
}

static int write_csv(eval_session *s, const ppl_method *methods, int nm, const lc_eval_ppl_result *res, int nl) {
    FILE *f = cli_open_out(s->a->csv_path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    int nb = 0;
    for (int k = 0; k < nm * nl; k++) nb = res[k].n_buckets > nb ? res[k].n_buckets : nb;
    fprintf(f, "method,length,stride,windows,tokens,ppl,loss");
    for (int b = 1; b < nb; b++) {
        int64_t lo, hi;
        lc_eval_bucket_range(b, &lo, &hi);
        fprintf(f, ",loss_%lld_%lld", (long long)lo, (long long)hi);
    }
    if (s->a->timings) fprintf(f, ",seconds");
    fprintf(f, "\n");
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++) {
            const lc_eval_ppl_result *r = &res[i * nl + j];
            fprintf(f, "%s,%lld,%lld,%lld,%lld,%.10g,%.10g", methods[i].name, (long long)r->window,
                    (long long)r->stride, (long long)r->n_windows, (long long)r->n_scored, r->ppl,
                    r->nll / (double)r->n_scored);
            for (int b = 1; b < nb; b++) {
                if (b < r->n_buckets && r->bucket_count[b] > 0)
                    fprintf(f, ",%.10g", r->bucket_nll[b] / (double)r->bucket_count[b]);
                else fprintf(f, ",");
            }
            if (s->a->timings) fprintf(f, ",%.6f", r->seconds);
            fprintf(f, "\n");
        }
    const bool bad = ferror(f) != 0;
    cli_close_out(f);
    if (bad) {
        cli_error(EVAL_CMD, "writing %s failed", s->a->csv_path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static void write_json(eval_session *s, const eval_ctx_info *info, const ppl_method *methods, int nm,
                       const lc_eval_ppl_result *res, int nl, int64_t n_tok, double ppl, int64_t n_all, double secs) {
    const eval_args *a = s->a;
    lc_json_writer w;
    lc_json_init(&w, stdout, false);
    eval_json_begin(s, &w, info);
    lc_json_key(&w, "lengths");
    lc_json_begin_array(&w);
    for (int j = 0; j < nl; j++) lc_json_int(&w, a->lengths[j]);
    lc_json_end_array(&w);
    if (a->stride > 0) lc_json_kv_int(&w, "stride", a->stride);
    else lc_json_kv_str(&w, "stride", "window-1");
    lc_json_key(&w, "methods");
    lc_json_begin_array(&w);
    for (int i = 0; i < nm; i++) lc_json_str(&w, methods[i].name);
    lc_json_end_array(&w);
    lc_json_kv_str(&w, "file", a->tokens_path ? a->tokens_path : a->text_path);
    lc_json_kv_int(&w, "file_tokens", n_tok);
    lc_json_end_object(&w); /* settings */
    lc_json_key(&w, "cells");
    lc_json_begin_array(&w);
    for (int i = 0; i < nm; i++)
        for (int j = 0; j < nl; j++) {
            lc_json_begin_object(&w);
            lc_json_kv_str(&w, "method", methods[i].name);
            lc_json_kv_str(&w, "attn", lc_attn_method_name(methods[i].info.attn));
            lc_json_kv_str(&w, "rope_scaling", lc_rope_scaling_name(methods[i].info.rope.scaling));
            lc_eval_ppl_write_json(&w, &res[i * nl + j], a->timings);
            lc_json_end_object(&w);
        }
    lc_json_end_array(&w);
    lc_json_kv_num(&w, "ppl", ppl);
    lc_json_kv_int(&w, "tokens", n_all);
    if (a->timings) lc_json_kv_num(&w, "seconds", secs);
    lc_json_end_object(&w);
    lc_json_finish(&w);
}

/* One method: its context, every window length. */
static int run_method(eval_session *s, ppl_method *pm, const int32_t *tokens, int64_t n_tok, int64_t max_len,
                      lc_eval_ppl_result *res, bool first) {
    const eval_args *a = s->a;
    lc_rope_config rope;
    lc_context_opts co = a->rf.co;
    int rc = method_rope(s, pm, &rope);
    if (rc != CLI_OK) return rc;
    co.rope = &rope;
    co.attn = pm->attn[0] ? pm->attn : NULL;
    char what[64], lb[16];
    snprintf(what, sizeof what, "window %s", eval_len_str(max_len, lb, sizeof lb));
    lc_context *ctx = NULL;
    co.kv_external = s->a->spc.on; /* --sp: each rank allocates its shard only */
    rc = eval_context_create(s, &co, a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : max_len, what, &ctx);
    if (s->a->spc.on) { /* every rank, whatever its outcome: shard the context */
        lc_error ce;
        lc_fail(&ce, LC_ERR_INVALID_ARG, "no context (its message is above)");
        if (cli_sp_attach(&s->a->spc, ctx, rc == CLI_OK ? LC_OK : LC_ERR_INVALID_ARG, &ce, EVAL_CMD) != CLI_OK) {
            lc_context_free(ctx);
            return CLI_FAIL;
        }
    }
    if (rc != CLI_OK) return rc;
    eval_ctx_info_get(ctx, &pm->info);
    const lc_rope_config *r = &pm->info.rope;
    const char *attn = pm->attn[0] ? pm->attn : lc_attn_method_name(pm->info.attn);
    if (r->scaling == LC_ROPE_SCALING_NONE) snprintf(pm->name, sizeof pm->name, "%.95s (rope none)", attn);
    else
        snprintf(pm->name, sizeof pm->name, "%.95s (rope %.12s x%.4g)", attn, lc_rope_scaling_name(r->scaling),
                 (double)r->factor);
    if (first) {
        eval_print_setup(s, ctx);
        fprintf(s->table, "# %lld tokens from %s\n", (long long)n_tok, a->tokens_path ? a->tokens_path : a->text_path);
    }
    lc_eval_model *em = NULL;
    lc_error err;
    lc_status st = cli_sp_eval_model(&s->a->spc, ctx, s->tok, &em, &err);
    for (int j = 0; j < a->n_lengths && st == LC_OK; j++) {
        lc_eval_ppl_config pc = {a->lengths[j], a->stride, eval_progress, s};
        st = lc_eval_ppl_run(em, tokens, n_tok, &pc, &res[j], &err);
        cli_progress_done(&s->progress);
    }
    if (st != LC_OK && s->a->spc.rank == 0) rc = cli_fail(EVAL_CMD, &err);
    else if (st != LC_OK) rc = CLI_FAIL;
    lc_eval_model_free(em);
    cli_sp_detach(&s->a->spc); /* before the context goes */
    lc_context_free(ctx);
    return rc;
}

int eval_run_ppl(eval_session *s) {
    eval_args *a = s->a;
    if (a->rf.kv_spec) return eval_run_ppl_stream(s); /* one context streams the whole file */
    ppl_method methods[PPL_MAX_METHODS];
    int nm = 0;
    int rc = make_methods(s, methods, &nm);
    if (rc != CLI_OK) return rc;
    if (a->n_lengths == 0) { /* one window: -c, else the training context */
        a->lengths[0] = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : s->model->cfg.ctx_train;
        a->n_lengths = 1;
    }
    const int nl = a->n_lengths;
    int64_t max_len = 0;
    for (int j = 0; j < nl; j++) {
        if (a->lengths[j] < 2) {
            cli_error(EVAL_CMD, "ppl: window %lld (need >= 2)", (long long)a->lengths[j]);
            return CLI_USAGE;
        }
        if (a->stride > 0 && a->stride >= a->lengths[j]) {
            cli_error(EVAL_CMD, "--stride %lld must be below every window (%lld)", (long long)a->stride,
                      (long long)a->lengths[j]);
            return CLI_USAGE;
        }
        if (a->lengths[j] > max_len) max_len = a->lengths[j];
    }
    if (a->rf.co.n_ctx > 0 && a->rf.co.n_ctx < max_len) {
        cli_error(EVAL_CMD, "window %lld does not fit -c %lld", (long long)max_len, (long long)a->rf.co.n_ctx);
        return CLI_USAGE;
    }
    int64_t n_tok = 0;
    int32_t *tokens = eval_ppl_load_tokens(s, &n_tok);
    if (!tokens) return CLI_FAIL;
    if (max_len > n_tok) {
        cli_error(EVAL_CMD, "window %lld is longer than the text (%lld tokens): lower --lengths", (long long)max_len,
                  (long long)n_tok);
        free(tokens);
        return CLI_FAIL;
    }
    lc_eval_ppl_result *res = calloc((size_t)nm * (size_t)nl, sizeof *res);
    if (!res) {
        free(tokens);
        cli_error(EVAL_CMD, "out of memory");
        return CLI_FAIL;
    }
    const double t0 = lc_time_now();
    for (int i = 0; i < nm && rc == CLI_OK; i++) rc = run_method(s, &methods[i], tokens, n_tok, max_len, res + i * nl, i == 0);
    if (rc == CLI_OK) {
        double nll_all = 0.0;
        int64_t n_all = 0;
        for (int k = 0; k < nm * nl; k++) nll_all += res[k].nll, n_all += res[k].n_scored;
        const double ppl = exp(nll_all / (double)n_all), secs = lc_time_now() - t0;
        print_results(s, methods, nm, res, nl);
        fprintf(s->table, "overall: ppl %.4f over %lld scored tokens", ppl, (long long)n_all);
        if (a->timings) fprintf(s->table, " in %.2f s", secs);
        fprintf(s->table, "\n");
        if (a->json) write_json(s, &methods[0].info, methods, nm, res, nl, n_tok, ppl, n_all, secs);
        if (a->csv_path) rc = write_csv(s, methods, nm, res, nl);
        if (rc == CLI_OK && a->svg_path) {
            FILE *f = cli_open_out(a->svg_path, EVAL_CMD);
            const char *names[PPL_MAX_METHODS];
            for (int i = 0; i < nm; i++) names[i] = methods[i].name;
            if (!f) rc = CLI_FAIL;
            else {
                char title[192];
                snprintf(title, sizeof title, "perplexity by context length: %s", s->model_name);
                lc_error err;
                if (lc_eval_ppl_svg(f, res, nm, nl, names, title, &err) != LC_OK) rc = cli_fail(EVAL_CMD, &err);
                cli_close_out(f);
            }
        }
    }
    free(res);
    free(tokens);
    return rc;
}
