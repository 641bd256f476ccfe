/*
 * Long-document processing (lc_doc_run) with a scripted fake model whose
 * token count is the number of UTF-8 characters and whose answers name what
 * they were given ("A3" for the map of part 3, "S3" for the third summary,
 * "C12" for a combine that covered twelve map answers, "R5" for the running
 * answer after five chunks), then the default model if it is there:
 *
 *  - map-reduce: every byte of the document lands in a chunk (consecutive
 *    chunks overlap by whole sentences, at most the overlap), every chunk ends
 *    at a sentence or paragraph end (. ! ? 。！？ newline), every prompt with
 *    its answer fits the context, and the combining passes see every chunk's
 *    answer exactly once (the final answer covers N of N), in groups when
 *    they do not fit one prompt;
 *  - refine carries the running answer through every chunk; hierarchical
 *    answers from the summaries; a document that fits runs once (auto), and
 *    single refuses one that does not;
 *  - the stream: 7-byte reads give the same chunks as 64 KiB reads, and a
 *    large document is never held whole; a read error is reported;
 *  - a sentence longer than a chunk is cut at a character boundary;
 *  - template files: sections, instruction-only; the qa task needs a question;
 *    the JSON result and the summary line (lc_doc_result_print_summary);
 *  - the default model (models/longctx-default.gguf; skipped until it
 *    exists) finds a pass key placed in chunk k of N through refine: the
 *    running answer before chunk k is a guess (the model always answers a
 *    pass-key question), chunk k replaces it with the key and the chunks
 *    after it carry the key to the final answer. (Map-reduce cannot work
 *    with a model that guesses: its combining pass sees N - 1 guesses and
 *    the key with nothing to tell them apart.) lc_doc_model_for_model, over a
 *    context of its own, answers as lc_doc_model_from_context does; a model
 *    without a tokenizer is refused.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/app.h"
#include "longctx/tasks.h"
#include "test_model_util.h"
#include "test_util.h"

/* ---- the fake model -------------------------------------------------------------- */

typedef struct {
    lc_doc_model base;
    int64_t n_prompts, max_prompt;   /* largest prompt + answer seen        */
    long n_summaries;
    char **prompts;
    int64_t cap;
} fake;

static int64_t chars(const char *s, size_t n) {
    int64_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static lc_status fake_count(lc_doc_model *m, const char *text, size_t len, int64_t *n, lc_error *err) {
    (void)m, (void)err;
    *n = chars(text, len);
    return LC_OK;
}

/* Base answers a combine prompt covers: A<k> counts 1, C<n> counts n. */
static long covered(const char *s) {
    long total = 0;
    for (const char *p = s; *p; p++) {
        if ((*p == 'A' || *p == 'C') && p[1] >= '0' && p[1] <= '9' && (p == s || p[-1] == ' ' || p[-1] == '\n')) {
            char *e;
            const long v = strtol(p + 1, &e, 10);
            total += *p == 'A' ? 1 : v;
            p = e - 1;
        }
    }
    return total;
}

/* Answers that say what they saw, within max_tokens characters:
 *   map of part k -> "A<k>"; combine -> "C<number of map answers covered>";
 *   refine after "A1" or "R<k>" -> "R<k+1>"; the k-th summary -> "S<k>". */
static lc_status fake_generate(lc_doc_model *m, const char *prompt, size_t len, int64_t max_tokens, char **out,
                               size_t *out_len, lc_error *err) {
    fake *f = (fake *)m;
    const int64_t n = chars(prompt, len) + max_tokens;
    if (n > f->max_prompt) f->max_prompt = n;
    if (f->n_prompts == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->prompts = realloc(f->prompts, (size_t)f->cap * sizeof *f->prompts);
    }
    f->prompts[f->n_prompts++] = strndup(prompt, len);
    char buf[64];
    const char *part = strstr(prompt, "(part ");
    if (strstr(prompt, "Answers found in consecutive parts")) {
        snprintf(buf, sizeof buf, "C%ld", covered(strstr(prompt, "document:\n") + 10));
    } else if (strstr(prompt, "Updated answer:")) {
        const char *a = strstr(prompt, "Answer so far:\n") + 15;
        snprintf(buf, sizeof buf, "R%ld", a[0] == 'A' ? 2L : strtol(a + 1, NULL, 10) + 1);
    } else if (strstr(prompt, "Summary:")) {
        snprintf(buf, sizeof buf, "S%ld", ++f->n_summaries);
    } else if (part) {
        snprintf(buf, sizeof buf, "A%ld", strtol(part + 6, NULL, 10));
    } else {
        snprintf(buf, sizeof buf, "ONE");
    }
    *out = strndup(buf, (size_t)LC_MIN((int64_t)strlen(buf), max_tokens));
    *out_len = strlen(*out);
    (void)err;
    return LC_OK;
}

static void fake_init(fake *f, int64_t n_ctx) {
    memset(f, 0, sizeof *f);
    f->base.count = fake_count;
    f->base.generate = fake_generate;
    f->base.n_ctx = n_ctx;
}

static void fake_free(fake *f) {
    for (int64_t i = 0; i < f->n_prompts; i++) free(f->prompts[i]);
    free(f->prompts);
}

/* ---- readers ---------------------------------------------------------------------- */

typedef struct {
    const char *text;
    size_t len, pos, step;
    bool fail_at_end;
} mem_reader;

static size_t mem_read(void *user, char *buf, size_t cap, bool *failed) {
    mem_reader *r = user;
    size_t n = LC_MIN(cap, LC_MIN(r->step, r->len - r->pos));
    if (n == 0 && r->fail_at_end) {
        *failed = true;
        return 0;
    }
    memcpy(buf, r->text + r->pos, n);
    r->pos += n;
    return n;
}

/* A document of English and Chinese sentences in paragraphs (no sentence
 * longer than a few dozen characters). */
static char *make_doc(int paragraphs, size_t *len) {
    static const char *en[] = {"The tenant pays the rent by the fifth day of each month. ",
                               "Either party may end the lease with sixty days of notice! ",
                               "Who repairs the roof? The landlord does, within ten days. ",
                               "Pets are allowed with a deposit of 300 dollars.\n"};
    static const char *zh[] = {"租户应在每月五日前支付租金。", "任何一方均可提前六十天通知终止租约！",
                               "谁负责修理屋顶？由房东在十日内修理。", "押金为三百元。\n"};
    size_t cap = (size_t)paragraphs * 1200 + 1, w = 0;
    char *d = malloc(cap);
    for (int p = 0; p < paragraphs; p++) {
        for (int s = 0; s < 6; s++) {
            const char *x = p % 3 == 2 ? zh[(p + s) % 4] : en[(p * 7 + s) % 4];
            const size_t l = strlen(x);
            memcpy(d + w, x, l);
            w += l;
        }
        memcpy(d + w, "\n\n", 2);
        w += 2;
    }
    d[w] = '\0';
    *len = w;
    return d;
}

/* Does the chunk end at a sentence or paragraph end? */
static bool ends_well(const char *d, size_t len, int64_t end) {
    if ((size_t)end == len) return true;
    const unsigned char *b = (const unsigned char *)d;
    const unsigned char c = b[end - 1];
    if (c == ' ' || c == '\n') return true;
    if (end >= 3 && b[end - 3] == 0xE3 && b[end - 2] == 0x80 && b[end - 1] == 0x82) return true;                  /* 。 */
    if (end >= 3 && b[end - 3] == 0xEF && b[end - 2] == 0xBC && (b[end - 1] == 0x81 || b[end - 1] == 0x9F)) return true;
    return false;
}

static void check_cover(const lc_doc_result *r, const char *d, size_t len, int64_t overlap, const char *what) {
    CHECK(r->n_chunks > 1, "%s: %lld chunks", what, (long long)r->n_chunks);
    CHECK(r->n_chunks > 0 && r->chunks[0].start == 0 && r->chunks[r->n_chunks - 1].end == (int64_t)len,
          "%s: chunks do not cover the document", what);
    for (int64_t i = 0; i < r->n_chunks; i++) {
        const lc_doc_chunk *c = &r->chunks[i];
        CHECK(c->end > c->start && ends_well(d, len, c->end), "%s: chunk %lld ends at %lld inside a sentence", what,
              (long long)i, (long long)c->end);
        CHECK(c->n_tokens <= r->chunk_budget, "%s: chunk %lld has %lld tokens (budget %lld)", what, (long long)i,
              (long long)c->n_tokens, (long long)r->chunk_budget);
        if (i > 0) {
            const lc_doc_chunk *p = &r->chunks[i - 1];
            CHECK(c->start > p->start && c->start <= p->end, "%s: gap or stall between chunks %lld and %lld", what,
                  (long long)i - 1, (long long)i);
            const int64_t ov = chars(d + c->start, (size_t)(p->end - c->start));
            CHECK(ov <= LC_MAX(overlap, 0) + 1, "%s: chunks %lld/%lld overlap by %lld tokens", what, (long long)i - 1,
                  (long long)i, (long long)ov);
            if (overlap == 0) CHECK(c->start == p->end, "%s: chunks overlap without overlap", what);
        }
    }
}

static void test_map_reduce(void) {
    size_t len = 0;
    char *d = make_doc(60, &len);
    fake f;
    fake_init(&f, 400);
    lc_doc_opts o;
    lc_doc_opts_init(&o);
    o.strategy = LC_DOC_MAP_REDUCE;
    o.n_predict = 40;
    o.overlap = 30;
    o.task = LC_DOC_CLAUSES;
    mem_reader rd = {d, len, 0, 1 << 16, false};
    lc_doc_result r;
    lc_error err;
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    check_cover(&r, d, len, 30, "map-reduce");
    CHECK(f.max_prompt <= 400, "a prompt with its answer takes %lld of 400", (long long)f.max_prompt);
    CHECK(r.strategy == LC_DOC_MAP_REDUCE && r.n_combines >= 2, "combines %lld (answers need several groups)",
          (long long)r.n_combines);
    /* the combining passes covered every chunk's answer exactly once */
    char want[32];
    snprintf(want, sizeof want, "C%lld", (long long)r.n_chunks);
    CHECK(strcmp(r.answer, want) == 0, "final answer %s, want %s (every chunk once)", r.answer, want);
    for (int64_t i = 0; i < r.n_chunks; i++) {
        snprintf(want, sizeof want, "A%lld", (long long)i + 1);
        CHECK(strcmp(r.chunks[i].result, want) == 0, "chunk %lld result %s", (long long)i, r.chunks[i].result);
    }
    /* every map prompt holds its chunk's text exactly */
    int64_t maps = 0;
    for (int64_t k = 0; k < f.n_prompts; k++) {
        const char *p = strstr(f.prompts[k], "(part ");
        if (!p) continue;
        const long part = strtol(p + 6, NULL, 10);
        const lc_doc_chunk *c = &r.chunks[part - 1];
        char *chunk = strndup(d + c->start, (size_t)(c->end - c->start));
        CHECK(strstr(f.prompts[k], chunk) != NULL, "map prompt %ld lacks its chunk", part);
        free(chunk);
        maps++;
    }
    CHECK(maps == r.n_chunks, "%lld map prompts for %lld chunks", (long long)maps, (long long)r.n_chunks);
    /* the same through 7-byte reads */
    fake g;
    fake_init(&g, 400);
    mem_reader small = {d, len, 0, 7, false};
    lc_doc_result r2;
    CHECK_OK(lc_doc_run(&g.base, mem_read, &small, &o, &r2, &err), &err);
    CHECK(r2.n_chunks == r.n_chunks && strcmp(r2.answer, r.answer) == 0, "7-byte reads: %lld chunks",
          (long long)r2.n_chunks);
    for (int64_t i = 0; i < r.n_chunks && i < r2.n_chunks; i++)
        CHECK(r.chunks[i].start == r2.chunks[i].start && r.chunks[i].end == r2.chunks[i].end, "chunk %lld differs",
              (long long)i);
    lc_doc_result_free(&r2);
    fake_free(&g);
    lc_doc_result_free(&r);
    fake_free(&f);
    free(d);
}

static void test_strategies(void) {
    size_t len = 0;
    char *d = make_doc(30, &len);
    lc_error err;
    lc_doc_result r;
    /* refine: the running answer goes through every chunk */
    fake f;
    fake_init(&f, 500);
    lc_doc_opts o;
    lc_doc_opts_init(&o);
    o.strategy = LC_DOC_REFINE;
    o.n_predict = 60;
    mem_reader rd = {d, len, 0, 1000, false};
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    check_cover(&r, d, len, 0, "refine");
    CHECK(f.max_prompt <= 500, "refine prompt %lld", (long long)f.max_prompt);
    char rw[32];
    snprintf(rw, sizeof rw, "R%lld", (long long)r.n_chunks);
    CHECK(r.n_chunks > 2 && strcmp(r.answer, rw) == 0, "refine answer '%s' after %lld chunks", r.answer,
          (long long)r.n_chunks);
    for (int64_t i = 1; i < f.n_prompts; i++) { /* each refine prompt carries the answer before it */
        char prev[32];
        snprintf(prev, sizeof prev, i == 1 ? "Answer so far:\nA1\n" : "Answer so far:\nR%lld\n", (long long)i);
        CHECK(strstr(f.prompts[i], prev) != NULL, "refine prompt %lld lacks '%s'", (long long)i, prev);
    }
    lc_doc_result_free(&r);
    fake_free(&f);
    /* hierarchical: the task over the summaries */
    fake_init(&f, 400);
    o.strategy = LC_DOC_HIERARCHICAL;
    o.n_predict = 20;
    rd.pos = 0;
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    check_cover(&r, d, len, 0, "hierarchical");
    const char *last = f.prompts[f.n_prompts - 1];
    for (int64_t i = 0; i < r.n_chunks; i++)
        CHECK(strstr(last, r.chunks[i].result) != NULL || r.n_combines > 1, "the last prompt misses summary %s",
              r.chunks[i].result);
    CHECK(strstr(last, "Answer:") != NULL || r.n_combines > 1, "hierarchical ends with the task (single template)");
    lc_doc_result_free(&r);
    fake_free(&f);
    /* auto: a short document runs once */
    fake_init(&f, 4000);
    lc_doc_opts_init(&o);
    const char *small = "A short note. It fits.\n";
    mem_reader sr = {small, strlen(small), 0, 5, false};
    CHECK_OK(lc_doc_run(&f.base, mem_read, &sr, &o, &r, &err), &err);
    CHECK(r.strategy == LC_DOC_SINGLE && r.n_chunks == 1 && f.n_prompts == 1 && r.chunks[0].end == (int64_t)strlen(small),
          "auto on a short document: %s, %lld chunks", lc_doc_strategy_name(r.strategy), (long long)r.n_chunks);
    lc_doc_result_free(&r);
    fake_free(&f);
    /* single refuses a long one; auto maps it */
    fake_init(&f, 400);
    o.strategy = LC_DOC_SINGLE;
    o.n_predict = 40;
    rd.pos = 0;
    CHECK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "--strategy"),
          "single: %s", err.msg);
    o.strategy = LC_DOC_AUTO;
    rd.pos = 0;
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    CHECK(r.strategy == LC_DOC_MAP_REDUCE, "auto on a long document: %s", lc_doc_strategy_name(r.strategy));
    check_cover(&r, d, len, o.overlap < 0 ? r.chunk_budget / 10 : o.overlap, "auto");
    lc_doc_result_free(&r);
    fake_free(&f);
    /* a context too small for the template and the answer */
    fake_init(&f, 120);
    o.n_predict = 100;
    rd.pos = 0;
    CHECK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "-n"), "tiny: %s",
          err.msg);
    fake_free(&f);
    /* qa needs a question; a read error is reported */
    fake_init(&f, 400);
    lc_doc_opts_init(&o);
    o.task = LC_DOC_QA;
    rd.pos = 0;
    CHECK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err) == LC_ERR_INVALID_ARG, "qa without a question");
    o.question = "Who repairs the roof?";
    mem_reader bad = {d, len, 0, 1000, true};
    CHECK(lc_doc_run(&f.base, mem_read, &bad, &o, &r, &err) == LC_ERR_IO, "read error: %s", err.msg);
    rd.pos = 0;
    o.n_predict = 30;
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    CHECK(strstr(f.prompts[0], "Question: Who repairs the roof?") != NULL, "qa prompt: %.200s", f.prompts[0]);
    lc_doc_result_free(&r);
    fake_free(&f);
    free(d);
}

static void test_stream_and_long_sentences(void) {
    /* a large document is never held whole */
    size_t len = 0;
    char *d = make_doc(1500, &len);
    fake f;
    fake_init(&f, 2000);
    lc_doc_opts o;
    lc_doc_opts_init(&o);
    o.strategy = LC_DOC_MAP_REDUCE;
    o.n_predict = 8;
    o.overlap = 0;
    mem_reader rd = {d, len, 0, 1 << 16, false};
    lc_doc_result r;
    lc_error err;
    CHECK_OK(lc_doc_run(&f.base, mem_read, &rd, &o, &r, &err), &err);
    check_cover(&r, d, len, 0, "large");
    fprintf(stderr, "large document: %zu bytes, %lld chunks, peak buffer %lld bytes\n", len, (long long)r.n_chunks,
            (long long)r.peak_buffer);
    CHECK(r.doc_bytes == (int64_t)len && r.peak_buffer < (int64_t)len / 4 && r.peak_buffer <= 3 * (1 << 16),
          "peak buffer %lld of a %zu-byte document", (long long)r.peak_buffer, len);
    lc_doc_result_free(&r);
    fake_free(&f);
    free(d);
    /* sentences longer than a chunk (and than MAX_UNIT) are cut at characters */
    const size_t n = 9000;
    char *run = malloc(n * 3 + 32);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(run + w, "长", 3); /* 3-byte characters, no punctuation */
        w += 3;
    }
    memcpy(run + w, "。End.", 8);
    w += 8;
    run[w] = '\0';
    fake_init(&f, 300);
    o.overlap = 10;
    mem_reader lr = {run, w, 0, 4096, false};
    CHECK_OK(lc_doc_run(&f.base, mem_read, &lr, &o, &r, &err), &err);
    CHECK(r.n_chunks > 30 && r.chunks[r.n_chunks - 1].end == (int64_t)w, "long sentence: %lld chunks",
          (long long)r.n_chunks);
    for (int64_t i = 0; i < r.n_chunks; i++)
        CHECK(((unsigned char)run[r.chunks[i].start] & 0xC0) != 0x80 &&
                  (r.chunks[i].end == (int64_t)w || ((unsigned char)run[r.chunks[i].end] & 0xC0) != 0x80),
              "chunk %lld cuts a character", (long long)i);
    CHECK(f.max_prompt <= 300, "long sentence prompt %lld", (long long)f.max_prompt);
    lc_doc_result_free(&r);
    fake_free(&f);
    free(run);
}

static void test_templates(void) {
    lc_doc_templates t;
    lc_doc_templates_builtin(LC_DOC_ENTITIES, &t);
    char *store = NULL;
    lc_error err;
    const char *file = "## instruction\nFind the pass key.\n\n## map\nPART {part}: {text}\nKey:\n## combine\n{answers}\nFinal key:\n";
    CHECK_OK(lc_doc_templates_parse(file, strlen(file), &t, &store, &err), &err);
    CHECK(strcmp(t.instruction, "Find the pass key.") == 0 && strcmp(t.map, "PART {part}: {text}\nKey:") == 0 &&
              strcmp(t.combine, "{answers}\nFinal key:") == 0 && strstr(t.single, "{text}") != NULL,
          "sections: '%s' '%s' '%s'", t.instruction, t.map, t.combine);
    free(store);
    lc_doc_templates_builtin(LC_DOC_ENTITIES, &t);
    CHECK_OK(lc_doc_templates_parse("Only an instruction.\n", 21, &t, &store, &err), &err);
    CHECK(strcmp(t.instruction, "Only an instruction.") == 0, "instruction-only file");
    free(store);
    CHECK(lc_doc_templates_parse("\n\n", 2, &t, &store, &err) == LC_ERR_FORMAT, "empty template file");
    lc_doc_task k;
    lc_doc_strategy s;
    CHECK(lc_doc_task_parse("summarise", &k) && k == LC_DOC_SUMMARIZE && lc_doc_strategy_parse("map-reduce", &s) &&
              s == LC_DOC_MAP_REDUCE && !lc_doc_task_parse("poem", &k),
          "names");
}

/* ---- the default model: a pass key in chunk k of N -------------------------------- */

/* lc_doc_model_for_model refuses a model without a tokenizer. */
static void test_for_model_refusal(void) {
    lc_model_config c = test_llama_config(32, 64, 1, 2, 2, 16, 50);
    lc_model *bare = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &bare, &err), &err);
    lc_doc_model *dm = (lc_doc_model *)&c; /* must come back NULL */
    CHECK(bare && lc_doc_model_for_model(bare, NULL, NULL, &dm, &err) == LC_ERR_INVALID_ARG && !dm &&
              strstr(err.msg, "no tokenizer"),
          "no tokenizer: %s", err.msg);
    lc_model_free(bare);
}

static void test_default_model(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/../../models/longctx-default.gguf", LC_TEST_DATA_DIR);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "note: %s is absent (being trained): the default-model pass key test is skipped\n", path);
        return;
    }
    fclose(fp);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_load(path, NULL, &m, &err) != LC_OK || !m->tokenizer) {
        CHECK(false, "default model: %s", err.msg);
        lc_model_free(m);
        return;
    }
    /* a haystack of filler with the pass key sentence three quarters in */
    const size_t need = lc_filler_text(5, 400, NULL, 0);
    char *hay = malloc(need + 256);
    lc_filler_text(5, 400, hay, need + 1);
    const char *key = " The pass key is 71432. Remember it. 71432 is the pass key.";
    const size_t at = need * 3 / 4;
    size_t cut = at;
    while (cut < need && hay[cut] != ' ') cut++;
    char *doc = malloc(need + strlen(key) + 8);
    memcpy(doc, hay, cut);
    memcpy(doc + cut, key, strlen(key));
    memcpy(doc + cut + strlen(key), hay + cut, need - cut + 1);
    const size_t len = strlen(doc);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = LC_MIN(m->cfg.ctx_train, 1024);
    lc_context *ctx = NULL;
    lc_doc_model *dm = NULL, *own = NULL; /* over ctx; over a context of its own */
    if (lc_context_create(m, &co, &ctx, &err) == LC_OK &&
        lc_doc_model_from_context(ctx, m->tokenizer, NULL, &dm, &err) == LC_OK &&
        lc_doc_model_for_model(m, &co, NULL, &own, &err) == LC_OK) {
        const lc_context *oc = lc_doc_model_context(own);
        CHECK(lc_doc_model_context(dm) == ctx && oc && oc != ctx && lc_context_n_ctx(oc) == co.n_ctx,
              "the models' contexts");
        const char *q = "The pass key is 5309. What is the pass key? The pass key is";
        char *a1 = NULL, *a2 = NULL;
        size_t l1 = 0, l2 = 0;
        CHECK_OK(dm->generate(dm, q, strlen(q), 6, &a1, &l1, &err), &err);
        CHECK_OK(own->generate(own, q, strlen(q), 6, &a2, &l2, &err), &err);
        CHECK(a1 && a2 && l1 == l2 && strcmp(a1, a2) == 0, "greedy answers: '%s' vs '%s'", a1 ? a1 : "", a2 ? a2 : "");
        free(a1);
        free(a2);
        lc_doc_templates t;
        lc_doc_templates_builtin(LC_DOC_QA, &t);
        t.map = "{text} What is the pass key? The pass key is";
        t.refine = "The pass key is {answer}. {text} What is the pass key? The pass key is";
        lc_doc_opts o;
        lc_doc_opts_init(&o);
        o.task = LC_DOC_QA;
        o.question = "What is the pass key?";
        o.strategy = LC_DOC_REFINE;
        o.n_predict = 8;
        o.templates = &t;
        o.chunk_tokens = co.n_ctx / 4;
        mem_reader rd = {doc, len, 0, 1 << 16, false};
        lc_doc_result r;
        CHECK_OK(lc_doc_run(dm, mem_read, &rd, &o, &r, &err), &err);
        int64_t k = -1;
        for (int64_t i = 0; i < r.n_chunks; i++)
            if (r.chunks[i].start <= (int64_t)cut && (int64_t)cut < r.chunks[i].end) k = i;
        fprintf(stderr, "default model: pass key in chunk %lld of %lld; chunk answer '%s'; final '%s'\n",
                (long long)k + 1, (long long)r.n_chunks, k >= 0 ? r.chunks[k].result : "?", r.answer ? r.answer : "");
        CHECK(r.n_chunks >= 3 && k > 0, "the key should sit in a later chunk (%lld of %lld)", (long long)k,
              (long long)r.n_chunks);
        CHECK(k > 0 && strstr(r.chunks[k - 1].result, "71432") == NULL, "the key before its chunk: '%s'",
              k > 0 ? r.chunks[k - 1].result : "?");
        CHECK(k >= 0 && strstr(r.chunks[k].result, "71432") != NULL, "chunk %lld misses the key: '%s'",
              (long long)k + 1, k >= 0 ? r.chunks[k].result : "?");
        CHECK(r.answer && strstr(r.answer, "71432") != NULL, "the final answer lacks the pass key: '%s'",
              r.answer ? r.answer : "");
        lc_doc_result_free(&r);
    } else {
        CHECK(false, "default model context: %s", err.msg);
    }
    lc_doc_model_free(dm);
    lc_doc_model_free(own); /* and its context (ASan: nothing leaks) */
    lc_context_free(ctx);
    lc_model_free(m);
    free(hay);
    free(doc);
}

/* ---- files: lc_doc_run_file, lc_doc_templates_load, lc_doc_task_from_text, JSON ---- */

static bool last_total(void *user, double done, double total, const char *what) {
    (void)done, (void)what;
    *(double *)user = total;
    return true;
}

static size_t count_of(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_files(void) {
    size_t len = 0;
    char *d = make_doc(30, &len);
    char path[128], tpath[128], jpath[128];
    snprintf(path, sizeof path, "/tmp/test_doc_%d.txt", (int)getpid());
    snprintf(tpath, sizeof tpath, "/tmp/test_doc_%d.tpl", (int)getpid());
    snprintf(jpath, sizeof jpath, "/tmp/test_doc_%d.json", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(d, 1, len, f) == len, "document written");
    if (f) fclose(f);
    lc_doc_opts o;
    lc_doc_opts_init(&o);
    lc_doc_templates tpl;
    memset(&tpl, 0, sizeof tpl);
    lc_error err;
    CHECK(lc_doc_task_from_text("", &o, &tpl, &err) == LC_ERR_INVALID_ARG, "an empty task refused");
    CHECK(lc_doc_task_from_text("qa", &o, &tpl, &err) == LC_ERR_INVALID_ARG, "qa without a question refused");
    CHECK_OK(lc_doc_task_from_text("clauses", &o, &tpl, &err), &err);
    CHECK(o.task == LC_DOC_CLAUSES && !tpl.instruction, "a task name");
    CHECK_OK(lc_doc_task_from_text("List the dates.", &o, &tpl, &err), &err);
    CHECK(o.task == LC_DOC_SUMMARIZE && tpl.instruction && !strcmp(tpl.instruction, "List the dates."),
          "free text is the instruction");
    f = fopen(tpath, "w");
    if (f) {
        fputs("## instruction\nFind it.\n## map\nPART {part}: {text}\n", f);
        fclose(f);
    }
    char *store = NULL;
    CHECK_OK(lc_doc_templates_load(tpath, &tpl, &store, &err), &err);
    CHECK(tpl.instruction && !strcmp(tpl.instruction, "Find it.") && tpl.map && !strcmp(tpl.map, "PART {part}: {text}"),
          "template file loaded");
    free(store);
    CHECK(lc_doc_templates_load("/nonexistent/t.tpl", &tpl, &store, &err) == LC_ERR_IO && !store, "a missing file");

    /* the file run equals the memory run; progress counts against its size */
    lc_doc_opts_init(&o);
    o.strategy = LC_DOC_MAP_REDUCE;
    o.n_predict = 40;
    double total = 0;
    o.progress = last_total;
    o.progress_user = &total;
    fake a, b;
    fake_init(&a, 400);
    fake_init(&b, 400);
    mem_reader rd = {d, len, 0, 1 << 16, false};
    lc_doc_result ra, rb;
    CHECK_OK(lc_doc_run(&a.base, mem_read, &rd, &o, &ra, &err), &err);
    total = 0;
    CHECK_OK(lc_doc_run_file(&b.base, path, &o, &rb, &err), &err);
    CHECK(ra.n_chunks == rb.n_chunks && ra.n_chunks > 1 && !strcmp(ra.answer, rb.answer), "file run: %lld chunks",
          (long long)rb.n_chunks);
    CHECK(total == (double)len, "progress total %.0f of %zu bytes", total, len);
    CHECK(lc_doc_run_file(&b.base, "/nonexistent/doc.txt", &o, &rb, &err) == LC_ERR_IO, "a missing document");

    f = fopen(jpath, "w+");
    if (f) {
        lc_json_writer w;
        lc_json_init(&w, f, false);
        lc_doc_result_write_json(&w, path, "map", &o, &ra, 400);
        lc_json_finish(&w);
        rewind(f);
        char buf[1 << 16];
        const size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        char want[64];
        snprintf(want, sizeof want, "\"answer\":\"%s\"", ra.answer);
        CHECK(buf[0] == '{' && strstr(buf, want) && strstr(buf, "\"strategy\":\"map-reduce\"") &&
                  strstr(buf, "\"n_ctx\":400") && count_of(buf, "\"index\":") == (size_t)ra.n_chunks,
              "JSON: %.200s", buf);
    }
    f = tmpfile(); /* the summary line: counts of this run, then fixed ones (singular forms) */
    if (f) {
        lc_doc_result one;
        memset(&one, 0, sizeof one);
        one.doc_bytes = 99;
        one.strategy = LC_DOC_SINGLE;
        one.n_chunks = 1;
        one.chunk_budget = 400;
        one.n_combines = 1;
        one.seconds = 2.5;
        lc_doc_result_print_summary(f, &ra);
        lc_doc_result_print_summary(f, &one);
        rewind(f);
        char buf[512], want[512];
        buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
        fclose(f);
        snprintf(want, sizeof want,
                 "%lld bytes, map-reduce, %lld chunks (budget %lld tokens), %lld combining passes, %.2f s\n"
                 "99 bytes, single, 1 chunk (budget 400 tokens), 1 combining pass, 2.50 s\n",
                 (long long)len, (long long)ra.n_chunks, (long long)ra.chunk_budget, (long long)ra.n_combines,
                 ra.seconds);
        CHECK(ra.n_combines != 1 && strcmp(buf, want) == 0, "summary:\n%s", buf);
    }
    lc_doc_result_free(&ra);
    lc_doc_result_free(&rb);
    fake_free(&a);
    fake_free(&b);
    unlink(path);
    unlink(tpath);
    unlink(jpath);
    free(d);
}

int main(void) {
    test_map_reduce();
    test_for_model_refusal();
    test_strategies();
    test_stream_and_long_sentences();
    test_templates();
    test_files();
    test_default_model();
    return lc_test_finish("test_doc");
}
