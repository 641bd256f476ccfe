/* longctx eval ppl --kv-policy LIST: streaming perplexity, StreamingLLM's
 * comparison. Each entry of the comma-separated list is a KV policy the whole
 * token stream goes through in one context (window:W, sinks:S:W, shift:KEEP,
 * h2o:S:R:H, or full when the stream fits), or recompute:W, the sliding
 * window with re-computation of a W-token cache (every token is predicted
 * from the W before it, re-encoded: the eval ppl plan with window W + 1 and
 * stride 1, so it sees what window:W sees). Perplexity, tokens/s (overall,
 * first and last tenth of the stream) and resident memory side by side. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/util.h"
#include "eval_common.h"
#include "longctx/sys.h"

#define STREAM_MAX_METHODS 16

typedef struct {
    char spec[64];
    bool recompute;
    int64_t window;           /* recompute: W                      */
    lc_eval_ppl_result res;
    lc_eval_stream_stats st;
    int64_t slots;
    double kv_bytes;
} stream_method;

static int parse_list(const char *list, stream_method *m, int *n) {
    *n = 0;
    const char *p = list;
    while (*p) {
        const size_t len = strcspn(p, ",");
        if (*n == STREAM_MAX_METHODS || len == 0 || len >= sizeof m[0].spec) {
            cli_error(EVAL_CMD, "--kv-policy: at most %d entries of up to 63 characters", STREAM_MAX_METHODS);
            return CLI_USAGE;
        }
        stream_method *e = &m[(*n)++];
        memset(e, 0, sizeof *e);
        memcpy(e->spec, p, len);
        if (strncmp(e->spec, "recompute:", 10) == 0) {
            e->recompute = true;
            if (!cli_parse_i64(e->spec + 10, &e->window) || e->window < 2) {
                cli_error(EVAL_CMD, "--kv-policy: recompute:W needs W >= 2 (got '%s')", e->spec);
                return CLI_USAGE;
            }
        } else {
            lc_context_opts o;
            lc_context_opts_init(&o);
            lc_error err;
            if (lc_kv_policy_parse(e->spec, &o, &err) != LC_OK) {
                cli_error(EVAL_CMD, "%s", err.msg);
                return CLI_USAGE;
            }
        }
        p += len + (p[len] == ',');
    }
    return *n ? CLI_OK : CLI_USAGE;
}

static int run_one(eval_session *s, stream_method *e, const int32_t *tokens, int64_t n, bool first) {
    const eval_args *a = s->a;
    lc_context_opts co = a->rf.co;
    lc_error err;
    int64_t n_ctx = a->rf.co.n_ctx > 0 ? a->rf.co.n_ctx : s->model->cfg.ctx_train;
    if (e->recompute) {
        lc_context_opts_init(&co);
        co.n_threads = a->rf.co.n_threads;
        co.n_batch = a->rf.co.n_batch;
        co.k_type = a->rf.co.k_type;
        co.v_type = a->rf.co.v_type;
        co.attn = a->rf.co.attn;
        co.rope = a->rf.co.rope;
        n_ctx = e->window + 1;
    } else {
        lc_kv_policy_parse(e->spec, &co, &err);
        if (co.kv_policy == LC_KV_POLICY_FULL) n_ctx = LC_MAX(n_ctx, n);
    }
    lc_context *ctx = NULL;
    int rc = eval_context_create(s, &co, n_ctx, e->spec, &ctx);
    if (rc != CLI_OK) return rc;
    if (first) {
        eval_print_setup(s, ctx);
        fprintf(s->table, "# %lld tokens from %s\n", (long long)n, a->tokens_path ? a->tokens_path : a->text_path);
    }
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    e->slots = ks.n_slots;
    e->kv_bytes = (double)ks.bytes;
    lc_status st;
    if (e->recompute) {
        lc_eval_model *em = NULL;
        st = lc_eval_model_from_context(ctx, s->tok, -1, false, &em, &err);
        e->st.rss_start = lc_rss_bytes();
        lc_eval_ppl_config pc = {e->window + 1, 1, eval_progress, s};
        if (st == LC_OK) st = lc_eval_ppl_run(em, tokens, n, &pc, &e->res, &err);
        e->st.rss_end = lc_rss_bytes();
        if (st == LC_OK && e->res.seconds > 0) e->st.tokens_per_s = (double)e->res.n_scored / e->res.seconds;
        lc_eval_model_free(em);
    } else {
        lc_eval_stream_config sc = {eval_progress, s};
        st = lc_eval_ppl_stream(ctx, tokens, n, &sc, &e->res, &e->st, &err);
    }
    cli_progress_done(&s->progress);
    if (st != LC_OK) rc = cli_fail(EVAL_CMD, &err);
    lc_context_free(ctx);
    return rc;
}

static void print_table(eval_session *s, const stream_method *m, int nm) {
    FILE *t = s->table;
    char b1[32], b2[32], b3[32];
    fprintf(t, "%-22s %8s %10s %10s %10s", "method", "slots", "tokens", "ppl", "loss");
    if (s->a->timings) fprintf(t, " %9s %9s %9s %10s %10s", "tok/s", "first10%", "last10%", "rss start", "rss end");
    fprintf(t, " %10s\n", "kv bytes");
    for (int i = 0; i < nm; i++) {
        const stream_method *e = &m[i];
        fprintf(t, "%-22s %8lld %10lld %10.4f %10.4f", e->spec, (long long)e->slots, (long long)e->res.n_scored,
                e->res.ppl, e->res.nll / (double)e->res.n_scored);
        if (s->a->timings) {
            fprintf(t, " %9.1f", e->st.tokens_per_s);
            if (e->recompute) fprintf(t, " %9s %9s", "-", "-");
            else fprintf(t, " %9.1f %9.1f", e->st.tokens_per_s_first, e->st.tokens_per_s_last);
            fprintf(t, " %10s %10s", lc_format_bytes((double)e->st.rss_start, b1, sizeof b1),
                    lc_format_bytes((double)e->st.rss_end, b2, sizeof b2));
        }
        fprintf(t, " %10s\n", lc_format_bytes(e->kv_bytes, b3, sizeof b3));
    }
    if (s->a->timings)
        for (int i = 0; i < nm; i++)
            if (m[i].recompute && m[i].st.tokens_per_s > 0)
                for (int j = 0; j < nm; j++)
                    if (!m[j].recompute)
                        fprintf(t, "%s is %.1fx the speed of %s\n", m[j].spec, m[j].st.tokens_per_s / m[i].st.tokens_per_s,
                                m[i].spec);
}

static void write_json(eval_session *s, const stream_method *m, int nm, int64_t n) {
    const eval_args *a = s->a;
    lc_json_writer w;
    lc_json_init(&w, stdout, false);
    eval_ctx_info info;
    memset(&info, 0, sizeof info);
    info.attn = LC_ATTN_FLASH;
    info.rope = s->rope;
    info.k_type = a->rf.co.k_type;
    info.v_type = a->rf.co.v_type;
    info.n_ctx = m[0].slots;
    info.n_threads = a->rf.co.n_threads;
    eval_json_begin(s, &w, &info);
    lc_json_kv_str(&w, "mode", "stream");
    lc_json_kv_str(&w, "file", a->tokens_path ? a->tokens_path : a->text_path);
    lc_json_kv_int(&w, "file_tokens", n);
    lc_json_end_object(&w); /* settings */
    lc_json_key(&w, "cells");
    lc_json_begin_array(&w);
    for (int i = 0; i < nm; i++) {
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "method", m[i].spec);
        lc_json_kv_int(&w, "slots", m[i].slots);
        lc_json_kv_num(&w, "kv_bytes", m[i].kv_bytes);
        lc_eval_ppl_write_json(&w, &m[i].res, a->timings);
        if (a->timings) {
            lc_json_kv_num(&w, "tokens_per_s", m[i].st.tokens_per_s);
            if (!m[i].recompute) {
                lc_json_kv_num(&w, "tokens_per_s_first_tenth", m[i].st.tokens_per_s_first);
                lc_json_kv_num(&w, "tokens_per_s_last_tenth", m[i].st.tokens_per_s_last);
            }
            lc_json_kv_num(&w, "rss_start", (double)m[i].st.rss_start);
            lc_json_kv_num(&w, "rss_end", (double)m[i].st.rss_end);
        }
        lc_json_end_object(&w);
    }
    lc_json_end_array(&w);
    double nll = 0.0; /* overall, as every ppl run: over the scored tokens of all cells */
    int64_t cnt = 0;
    for (int i = 0; i < nm; i++) nll += m[i].res.nll, cnt += m[i].res.n_scored;
    lc_json_kv_num(&w, "ppl", cnt > 0 ? exp(nll / (double)cnt) : NAN);
    lc_json_kv_int(&w, "tokens", cnt);
    lc_json_end_object(&w);
    lc_json_finish(&w);
}

static int write_csv(eval_session *s, const stream_method *m, int nm) {
    FILE *f = cli_open_out(s->a->csv_path, EVAL_CMD);
    if (!f) return CLI_FAIL;
    fprintf(f, "method,slots,tokens,ppl,loss,tokens_per_s,rss_start,rss_end\n");
    for (int i = 0; i < nm; i++)
        fprintf(f, "%s,%lld,%lld,%.10g,%.10g,%.6g,%zu,%zu\n", m[i].spec, (long long)m[i].slots,
                (long long)m[i].res.n_scored, m[i].res.ppl, m[i].res.nll / (double)m[i].res.n_scored,
                s->a->timings ? m[i].st.tokens_per_s : 0.0, m[i].st.rss_start, m[i].st.rss_end);
    const bool bad = ferror(f) != 0;
    cli_close_out(f);
    return bad ? CLI_FAIL : CLI_OK;
}

int eval_run_ppl_stream(eval_session *s) {
    stream_method m[STREAM_MAX_METHODS];
    int nm = 0;
    int rc = parse_list(s->a->rf.kv_spec, m, &nm);
    if (rc != CLI_OK) return rc;
    int64_t n = 0;
    int32_t *tokens = eval_ppl_load_tokens(s, &n);
    if (!tokens) return CLI_FAIL;
    for (int i = 0; i < nm && rc == CLI_OK; i++) {
        if (m[i].recompute && m[i].window + 1 > n) {
            cli_error(EVAL_CMD, "%s: the window is longer than the text (%lld tokens)", m[i].spec, (long long)n);
            rc = CLI_USAGE;
            break;
        }
        rc = run_one(s, &m[i], tokens, n, i == 0);
    }
    if (rc == CLI_OK) {
        print_table(s, m, nm);
        if (s->a->json) write_json(s, m, nm, n);
        if (s->a->csv_path) rc = write_csv(s, m, nm);
    }
    free(tokens);
    return rc;
}
