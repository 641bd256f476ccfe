/*
 * The whole JSON documents of `longctx eval` (eval.h, docs/eval.md): the
 * common header (lc_eval_write_header), the task's settings, its results;
 * and the lengths a run takes when none are given, the ppl windows checked
 * before anything is loaded.
 */
#include <stdio.h>
#include <string.h>

#include "eval/eval_internal.h"

void lc_eval_default_lengths(int64_t n_ctx, int64_t margin, int64_t ctx_train, int64_t *lengths, int *n) {
    int64_t target = n_ctx > 0 ? n_ctx - margin : ctx_train;
    if (target < 1) target = 1;
    *n = 0;
    for (int64_t L = 1024; L < target && *n < LC_EVAL_MAX_LENGTHS - 1; L *= 2) lengths[(*n)++] = L;
    lengths[(*n)++] = target;
}

int lc_eval_past_training(const int64_t *lengths, int n, int64_t ctx_train) {
    for (int l = 0; ctx_train > 0 && l < n; l++)
        if (lengths[l] > ctx_train) return l;
    return -1;
}

lc_status lc_eval_ppl_windows_check(const int64_t *windows, int n, int64_t stride, int64_t n_ctx, lc_error *err) {
    if (!windows || n < 1 || n > LC_EVAL_MAX_LENGTHS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: %d windows (1..%d)", n, LC_EVAL_MAX_LENGTHS);
    for (int j = 0; j < n; j++) {
        if (windows[j] < 2)
            return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: window %lld (need >= 2)", (long long)windows[j]);
        if (stride > 0 && stride >= windows[j])
            return lc_fail(err, LC_ERR_INVALID_ARG, "--stride %lld must be below every window (%lld)",
                           (long long)stride, (long long)windows[j]);
        if (n_ctx > 0 && n_ctx < windows[j])
            return lc_fail(err, LC_ERR_INVALID_ARG, "window %lld does not fit -c %lld", (long long)windows[j],
                           (long long)n_ctx);
    }
    return LC_OK;
}

/* The document's end: the open object closed, the writer finished, f checked. */
static lc_status finish(lc_json_writer *w, FILE *f, lc_error *err) {
    lc_json_end_object(w);
    lc_json_finish(w);
    if (ferror(f)) return lc_fail(err, LC_ERR_IO, "eval: writing the JSON document failed");
    return LC_OK;
}

static lc_status usable(FILE *f, const lc_eval_header *h, const void *settings, const void *results, lc_error *err) {
    if (!f || !h || !h->model || !settings || !results)
        return lc_fail(err, LC_ERR_INVALID_ARG, "eval: no file, header, model, settings or results");
    return LC_OK;
}

lc_status lc_eval_grid_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_grid_config *c, const char *variant,
                                 const char *haystack, bool prefix_reuse, const lc_eval_grid *g, bool timings,
                                 lc_error *err) {
    const lc_status st = usable(f, h, c, g, err);
    if (st != LC_OK) return st;
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_eval_write_header(&w, h);
    lc_eval_grid_write_settings(&w, c, variant, haystack, prefix_reuse);
    lc_json_end_object(&w); /* settings */
    lc_eval_grid_write_json(&w, g, timings);
    lc_json_kv_int(&w, "tokens_evaluated", g->tokens_evaluated);
    lc_json_kv_int(&w, "tokens_reused", g->tokens_reused);
    return finish(&w, f, err);
}

lc_status lc_eval_retention_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_retention_config *c,
                                      const char *haystack, const lc_eval_retention *r, bool timings, lc_error *err) {
    const lc_status st = usable(f, h, c, r, err);
    if (st != LC_OK) return st;
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_eval_write_header(&w, h);
    lc_eval_retention_write_settings(&w, c, haystack);
    lc_json_end_object(&w); /* settings */
    lc_eval_grid_write_json(&w, &r->grid, timings);
    lc_eval_retention_write_json(&w, r);
    return finish(&w, f, err);
}

lc_status lc_eval_ppl_write_doc(FILE *f, const lc_eval_header *h, const lc_eval_ppl_doc *d, lc_error *err) {
    lc_status st = usable(f, h, d, d ? (const void *)d->res : NULL, err);
    if (st == LC_OK && (!d->lengths || !d->names || !d->info || d->n_lengths < 1 || d->n_methods < 1))
        st = lc_fail(err, LC_ERR_INVALID_ARG, "eval ppl: no lengths or methods");
    if (st != LC_OK) return st;
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_eval_write_header(&w, h);
    lc_json_key(&w, "lengths");
    lc_json_begin_array(&w);
    for (int j = 0; j < d->n_lengths; j++) lc_json_int(&w, d->lengths[j]);
    lc_json_end_array(&w);
    if (d->stride > 0) lc_json_kv_int(&w, "stride", d->stride);
    else lc_json_kv_str(&w, "stride", "window-1");
    lc_json_key(&w, "methods");
    lc_json_begin_array(&w);
    for (int i = 0; i < d->n_methods; i++) lc_json_str(&w, d->names[i]);
    lc_json_end_array(&w);
    lc_json_kv_str(&w, "file", d->file);
    lc_json_kv_int(&w, "file_tokens", d->file_tokens);
    lc_json_end_object(&w); /* settings */
    lc_eval_ppl_write_results(&w, d->res, d->names, d->info, d->n_methods, d->n_lengths, d->timings);
    if (d->timings) lc_json_kv_num(&w, "seconds", d->seconds);
    return finish(&w, f, err);
}

lc_status lc_eval_streams_write_doc(FILE *f, const lc_eval_header *h, const char *file, int64_t file_tokens,
                                    const lc_eval_stream_cell *c, int n, bool timings, lc_error *err) {
    lc_status st = usable(f, h, h, c, err);
    if (st == LC_OK && n < 1) st = lc_fail(err, LC_ERR_INVALID_ARG, "eval ppl: no streams");
    if (st != LC_OK) return st;
    lc_eval_header hc = *h;
    hc.ctx.n_ctx = c[0].slots; /* the first policy's cache */
    lc_json_writer w;
    lc_json_init(&w, f, false);
    lc_eval_write_header(&w, &hc);
    lc_json_kv_str(&w, "mode", "stream");
    lc_json_kv_str(&w, "file", file);
    lc_json_kv_int(&w, "file_tokens", file_tokens);
    lc_json_end_object(&w); /* settings */
    lc_eval_streams_write_json(&w, c, n, timings);
    return finish(&w, f, err);
}
