/* The document pipeline from files (app.h): a task given as text, a
 * template file, a document file or standard input read as a stream, and
 * the result as JSON and as a summary line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app_internal.h"

lc_status lc_doc_task_from_text(const char *task, lc_doc_opts *o, lc_doc_templates *tpl, lc_error *err) {
    if (!task || !*task) return lc_fail(err, LC_ERR_INVALID_ARG, "--task: an empty task");
    if (!lc_doc_task_parse(task, &o->task)) { /* free text: the instruction itself */
        o->task = LC_DOC_SUMMARIZE;
        tpl->instruction = task;
    }
    if (o->task == LC_DOC_QA && !o->question) return lc_fail(err, LC_ERR_INVALID_ARG, "--task qa needs --question");
    return LC_OK;
}

lc_status lc_doc_templates_load(const char *path, lc_doc_templates *t, char **store, lc_error *err) {
    *store = NULL;
    char *text = NULL;
    size_t len = 0;
    lc_status st = lc_read_file(path, LC_DOC_TEMPLATE_FILE_MAX, &text, &len, err);
    if (st == LC_OK) st = lc_doc_templates_parse(text, len, t, store, err);
    free(text);
    return st;
}

static size_t read_stdio(void *user, char *buf, size_t cap, bool *failed) {
    FILE *f = user;
    const size_t n = fread(buf, 1, cap, f);
    if (n < cap && ferror(f)) *failed = true;
    return n;
}

lc_status lc_doc_run_file(lc_doc_model *m, const char *path, const lc_doc_opts *o, lc_doc_result *res, lc_error *err) {
    if (!path || !o) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: no file or options");
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) return lc_fail(err, LC_ERR_IO, "cannot open %.300s: %s", path, strerror(errno));
    lc_doc_opts oo = *o;
    struct stat sb;
    if (in != stdin && oo.total_bytes == 0 && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode))
        oo.total_bytes = (int64_t)sb.st_size;
    const lc_status st = lc_doc_run(m, read_stdio, in, &oo, res, err);
    if (in != stdin) fclose(in);
    return st;
}

void lc_doc_result_write_json(lc_json_writer *w, const char *path, const char *task, const lc_doc_opts *o,
                              const lc_doc_result *r, int64_t n_ctx) {
    lc_json_begin_object(w);
    lc_json_kv_str(w, "file", path);
    lc_json_kv_str(w, "task", task);
    if (o->question) lc_json_kv_str(w, "question", o->question);
    lc_json_kv_str(w, "strategy", lc_doc_strategy_name(r->strategy));
    lc_json_kv_int(w, "n_ctx", n_ctx);
    lc_json_kv_int(w, "n_predict", o->n_predict);
    lc_json_kv_int(w, "chunk_budget", r->chunk_budget);
    lc_json_kv_int(w, "bytes", r->doc_bytes);
    lc_json_key(w, "chunks");
    lc_json_begin_array(w);
    for (int64_t i = 0; i < r->n_chunks; i++) {
        const lc_doc_chunk *c = &r->chunks[i];
        lc_json_begin_object(w);
        lc_json_kv_int(w, "index", c->index);
        lc_json_kv_int(w, "start", c->start);
        lc_json_kv_int(w, "end", c->end);
        lc_json_kv_int(w, "tokens", c->n_tokens);
        lc_json_kv_num(w, "seconds", c->seconds);
        lc_json_kv_str(w, "result", c->result);
        lc_json_end_object(w);
    }
    lc_json_end_array(w);
    lc_json_kv_int(w, "combines", r->n_combines);
    lc_json_kv_str(w, "answer", r->answer);
    lc_json_kv_num(w, "seconds", r->seconds);
    lc_json_end_object(w);
}

void lc_doc_result_print_summary(FILE *f, const lc_doc_result *r) {
    fprintf(f, "%lld bytes, %s, %lld chunk%s (budget %lld tokens), %lld combining pass%s, %.2f s\n",
            (long long)r->doc_bytes, lc_doc_strategy_name(r->strategy), (long long)r->n_chunks,
            r->n_chunks == 1 ? "" : "s", (long long)r->chunk_budget, (long long)r->n_combines,
            r->n_combines == 1 ? "" : "es", r->seconds);
}
