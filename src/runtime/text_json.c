/* One generation's report (text.h): a JSON object (lc_text_result_write_json) or a
 * summary in lines of text (lc_text_result_print_summary). */
#include "longctx/text.h"

static void ids(lc_json_writer *w, const char *key, const int32_t *v, int64_t n) {
    lc_json_key(w, key);
    lc_json_begin_array(w);
    for (int64_t i = 0; i < n; i++) lc_json_int(w, v[i]);
    lc_json_end_array(w);
}

static double rate(int64_t n, double s) { return s > 0 ? (double)n / s : 0.0; }

void lc_text_result_write_json(lc_json_writer *w, const char *model, const int32_t *prompt, int64_t n_prompt,
                               int64_t reused, const lc_text_result *r, bool with_text, const char *const *stops,
                               const lc_context_timings *tm) {
    const lc_generate_result *g = &r->gen;
    lc_json_begin_object(w);
    lc_json_kv_str(w, "model", model ? model : "");
    lc_json_kv_int(w, "n_prompt_tokens", n_prompt);
    lc_json_kv_int(w, "n_prompt_evaluated", g->n_prompt);
    lc_json_kv_int(w, "n_prompt_reused", reused);
    ids(w, "prompt_tokens", prompt, n_prompt);
    lc_json_kv_int(w, "n_generated", g->n_generated);
    ids(w, "tokens", r->tokens, r->n_tokens);
    lc_json_key(w, "text");
    if (with_text && r->text) lc_json_strn(w, r->text, r->len);
    else lc_json_null(w);
    const bool by_string = r->stop_index >= 0 && stops;
    lc_json_kv_str(w, "stop", by_string ? "reverse_prompt" : lc_stop_reason_name(g->stop));
    if (by_string) lc_json_kv_str(w, "reverse_prompt", stops[r->stop_index]);
    lc_json_key(w, "timings");
    lc_json_begin_object(w);
    lc_json_kv_num(w, "prompt_s", g->t_prompt);
    lc_json_kv_num(w, "prompt_tokens_per_s", rate(g->n_prompt, g->t_prompt));
    lc_json_kv_num(w, "generate_s", g->t_generate);
    lc_json_kv_num(w, "generate_tokens_per_s", rate(g->n_generated, g->t_generate));
    lc_json_kv_num(w, "matmul_s", tm ? tm->t_matmul : 0.0);
    lc_json_kv_num(w, "attention_s", tm ? tm->t_attn : 0.0);
    lc_json_kv_num(w, "other_s", tm ? tm->t_other : 0.0);
    lc_json_end_object(w);
    lc_json_end_object(w);
}

void lc_text_result_print_summary(FILE *f, const lc_text_result *r, const char *const *stops,
                                  const lc_context_timings *tm) {
    const lc_generate_result *g = &r->gen;
    const double total = tm ? tm->t_matmul + tm->t_attn + tm->t_other : 0.0;
    fprintf(f, "prompt:   %6lld tokens in %8.3f s  (%9.1f tok/s)\n", (long long)g->n_prompt, g->t_prompt,
            rate(g->n_prompt, g->t_prompt));
    fprintf(f, "generate: %6lld tokens in %8.3f s  (%9.1f tok/s)\n", (long long)g->n_generated, g->t_generate,
            rate(g->n_generated, g->t_generate));
    if (total > 0)
        fprintf(f, "time: matmul %.1f%%, attention %.1f%%, other %.1f%% of %.3f s\n", 100 * tm->t_matmul / total,
                100 * tm->t_attn / total, 100 * tm->t_other / total, total);
    if (r->stop_index >= 0 && stops) fprintf(f, "stopped: reverse prompt '%s'\n", stops[r->stop_index]);
    else if (g->stop == LC_STOP_CONTEXT_FULL && g->message[0]) fprintf(f, "stopped: %s\n", g->message);
    else fprintf(f, "stopped: %s\n", lc_stop_reason_name(g->stop));
}
