/*
 * Long documents (app.h, lc_doc_run): a stream cut into chunks within a token
 * budget, and a task run over them by a strategy.
 *
 *   reader ──► buffer (at most a chunk + a read block) ──► units ──► chunks
 *
 * A unit is a sentence: it ends after . ! ? followed by white space, after
 * Chinese 。！？ (and a closing quote), or at a newline; the white space after
 * it belongs to it; two newlines mark a paragraph end. A unit longer than
 * MAX_UNIT bytes is cut at a UTF-8 character boundary. A chunk is a run of
 * whole units whose tokens fit the budget (counted per unit, then the whole
 * chunk checked); it ends at the last paragraph end in its final 30% when
 * there is one. A unit longer than a whole chunk is cut at the largest
 * character boundary that fits. Map-reduce chunks repeat whole units from
 * the end of the previous chunk, up to the overlap.
 *
 * Budgets (tokens): every prompt = template + text + n_predict for the
 * answer + MARGIN <= n_ctx, and every prompt is counted before it is sent.
 *
 *   map-reduce    map(chunk_i) -> a_i;  combine(a_1..a_k) in groups that fit,
 *                 level after level, until one group holds everything
 *   refine        a_1 = map(chunk_1); a_i = refine(a_(i-1), chunk_i)
 *   hierarchical  s_i = summary(chunk_i); the task over s_1..s_k (single),
 *                 summarising groups of summaries first when they do not fit
 */
#include <stdlib.h>
#include <string.h>

#include "app/doc_internal.h"

#define READ_BLOCK ((size_t)1 << 16)
#define MAX_UNIT 4096
#define MARGIN 8
#define MIN_BUDGET 16

/* ---- the stream -------------------------------------------------------------- */

typedef struct {
    lc_doc_read_fn read;
    void *user;
    char *buf;       /* document bytes [base, base + len)          */
    size_t len, cap;
    int64_t base;
    bool eof;
    size_t peak;
} stream;

static lc_status more(stream *s, lc_error *err) {
    if (s->eof) return LC_OK;
    if (s->cap - s->len < READ_BLOCK) {
        size_t nc = s->cap ? s->cap : 2 * READ_BLOCK;
        while (nc - s->len < READ_BLOCK) nc *= 2;
        char *q = realloc(s->buf, nc);
        if (!q) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory for the document buffer");
        s->buf = q;
        s->cap = nc;
    }
    bool failed = false;
    const size_t n = s->read(s->user, s->buf + s->len, READ_BLOCK, &failed);
    if (failed) return lc_fail(err, LC_ERR_IO, "doc: reading the document failed");
    if (n > READ_BLOCK) return lc_fail(err, LC_ERR_INTERNAL, "doc: the reader returned more than asked");
    if (n == 0) s->eof = true;
    s->len += n;
    if (s->len > s->peak) s->peak = s->len;
    return LC_OK;
}

static void consume(stream *s, size_t n) {
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    s->base += (int64_t)n;
}

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The end of the unit starting at p; 0 when more bytes are needed first.
 * *para: the unit ends a paragraph. */
static size_t unit_end(const stream *s, size_t p, bool *para) {
    const unsigned char *b = (const unsigned char *)s->buf;
    *para = false;
    size_t i = p, end = 0;
    while (i < s->len && i - p < MAX_UNIT && !end) {
        const unsigned c = b[i];
        if (c == '\n') end = i + 1;
        else if (c == '.' || c == '!' || c == '?') {
            if (i + 1 == s->len) {
                if (!s->eof) return 0;
                end = i + 1;
            } else if (is_space(b[i + 1]) || b[i + 1] == '"' || b[i + 1] == '\'' || b[i + 1] == ')') {
                end = i + 1;
            }
        } else if ((c == 0xE3 || c == 0xEF) && i + 2 >= s->len && !s->eof) {
            return 0; /* a sentence end may straddle the buffer's end */
        } else if (c == 0xE3 && i + 2 < s->len && b[i + 1] == 0x80 && b[i + 2] == 0x82) end = i + 3; /* 。 */
        else if (c == 0xEF && i + 2 < s->len && b[i + 1] == 0xBC && (b[i + 2] == 0x81 || b[i + 2] == 0x9F))
            end = i + 3; /* ！ ？ */
        i++;
    }
    if (!end) {
        if (i - p >= MAX_UNIT) { /* no sentence end in sight: cut at a character boundary */
            size_t k = p + MAX_UNIT;
            while (k > p + 1 && (b[k] & 0xC0) == 0x80) k--;
            return k;
        }
        if (!s->eof) return 0;
        return s->len; /* the document's last unit */
    }
    /* a closing quote, then the white space after the sentence; what follows
     * must be in the buffer, so that units do not depend on read sizes */
    if (end + 3 > s->len && !s->eof) return 0;
    const bool at_newline = b[end - 1] == '\n';
    if (at_newline) { /* no closing quote after a line end */
    } else if (end + 3 <= s->len && b[end] == 0xE2 && b[end + 1] == 0x80 && b[end + 2] == 0x9D) end += 3; /* ” */
    else if (end + 3 <= s->len && b[end] == 0xE3 && b[end + 1] == 0x80 && b[end + 2] == 0x8D) end += 3; /* 」 */
    else if (end < s->len && (b[end] == '"' || b[end] == '\'' || b[end] == ')')) end++;
    int newlines = at_newline;
    while (end - p < MAX_UNIT) {
        if (end == s->len) {
            if (!s->eof) return 0;
            break;
        }
        if (!is_space(b[end])) break;
        newlines += b[end++] == '\n';
    }
    *para = newlines >= 2;
    return end;
}

/* ---- chunks ---------------------------------------------------------------------- */

typedef struct {
    size_t end;      /* relative to the buffer's start */
    int64_t tokens;
    bool para;
} unit;

typedef struct {
    unit *u;
    int64_t n, cap;
} unit_list;

static lc_status push_unit(unit_list *l, unit x, lc_error *err) {
    if (l->n == l->cap) {
        const int64_t nc = l->cap ? 2 * l->cap : 64;
        unit *q = realloc(l->u, (size_t)nc * sizeof *q);
        if (!q) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
        l->u = q;
        l->cap = nc;
    }
    l->u[l->n++] = x;
    return LC_OK;
}

typedef struct {
    lc_doc_model *m;
    const lc_doc_opts *o;
    lc_doc_templates t;
    stream s;
    unit_list units;
    lc_doc_result *res;
    lc_doc_str prompt;
    double t0;
} doc_run;

static lc_status count(doc_run *r, const char *p, size_t n, int64_t *tok, lc_error *err) {
    *tok = 0;
    return n ? r->m->count(r->m, p, n, tok, err) : LC_OK;
}

/* The longest prefix of [p, p+n) (at a character boundary, at least one
 * character) that takes at most T tokens. */
static lc_status fitting_prefix(doc_run *r, const char *p, size_t n, int64_t T, size_t *out, lc_error *err) {
    const unsigned char *b = (const unsigned char *)p;
    size_t lo = 1, hi = n; /* the answer is in [lo, hi]; one character always goes */
    while (lo < n && (b[lo] & 0xC0) == 0x80) lo++;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        while (mid < hi && (b[mid] & 0xC0) == 0x80) mid++;
        int64_t t = 0;
        lc_status st = count(r, p, mid, &t, err);
        if (st != LC_OK) return st;
        if (t <= T) {
            lo = mid;
        } else {
            hi = mid - 1;
            while (hi > lo && (b[hi] & 0xC0) == 0x80) hi--;
        }
    }
    *out = lo;
    return LC_OK;
}

/* The next chunk from the buffer's start: *end its length in bytes, *tokens
 * its tokens, r->units its units. *last: it reaches the document's end. */
static lc_status next_chunk(doc_run *r, int64_t T, size_t *end, int64_t *tokens, bool *last, lc_error *err) {
    stream *s = &r->s;
    r->units.n = 0;
    size_t pos = 0;
    int64_t sum = 0;
    lc_status st = LC_OK;
    for (;;) {
        if (pos == s->len) {
            if (s->eof) break;
            if ((st = more(s, err)) != LC_OK) return st;
            continue;
        }
        bool para = false;
        const size_t e = unit_end(s, pos, &para);
        if (e == 0) {
            if ((st = more(s, err)) != LC_OK) return st;
            continue;
        }
        int64_t t = 0;
        if ((st = count(r, s->buf + pos, e - pos, &t, err)) != LC_OK) return st;
        if (sum + t > T) {
            if (r->units.n == 0) { /* one sentence longer than a chunk: cut it */
                size_t cut = 0;
                if ((st = fitting_prefix(r, s->buf, e, T, &cut, err)) != LC_OK) return st;
                if ((st = count(r, s->buf, cut, &t, err)) != LC_OK) return st;
                unit u = {cut, t, false};
                if ((st = push_unit(&r->units, u, err)) != LC_OK) return st;
                pos = cut;
            }
            break;
        }
        unit u = {e, t, para};
        if ((st = push_unit(&r->units, u, err)) != LC_OK) return st;
        sum += t;
        pos = e;
    }
    if (r->units.n == 0) {
        *end = 0;
        *tokens = 0;
        *last = true;
        return LC_OK;
    }
    /* the whole chunk, counted as one text (per-unit sums can differ a little) */
    for (;;) {
        *end = r->units.u[r->units.n - 1].end;
        if ((st = count(r, s->buf, *end, tokens, err)) != LC_OK) return st;
        if (*tokens <= T) break;
        if (r->units.n > 1) {
            r->units.n--;
            continue;
        }
        size_t cut = 0;
        if ((st = fitting_prefix(r, s->buf, *end, T, &cut, err)) != LC_OK) return st;
        r->units.u[0].end = cut;
    }
    /* end at a paragraph when one ends in the last 30% */
    if (!(*end == s->len && s->eof)) {
        int64_t cum = 0;
        int64_t best = -1;
        for (int64_t i = 0; i < r->units.n - 1; i++) {
            cum += r->units.u[i].tokens;
            if (r->units.u[i].para && 10 * cum >= 7 * *tokens) best = i;
        }
        if (best >= 0 && !r->units.u[r->units.n - 1].para) {
            r->units.n = best + 1;
            *end = r->units.u[best].end;
            if ((st = count(r, s->buf, *end, tokens, err)) != LC_OK) return st;
        }
    }
    *last = *end == s->len && s->eof;
    if (!*last && *end == s->len && !s->eof) { /* is there anything after it? */
        if ((st = more(s, err)) != LC_OK) return st;
        *last = *end == s->len && s->eof;
    }
    return LC_OK;
}

/* Where the next map-reduce chunk starts: whole units from the end of this
 * one, at most overlap tokens, never the whole chunk. */
static size_t overlap_start(const doc_run *r, size_t end, int64_t overlap) {
    if (overlap <= 0 || r->units.n < 2) return end;
    int64_t sum = 0;
    int64_t i = r->units.n - 1;
    while (i >= 1 && sum + r->units.u[i].tokens <= overlap) sum += r->units.u[i--].tokens;
    /* units i+1 .. n-1 are repeated: the next chunk starts where unit i ends */
    return i == r->units.n - 1 ? end : r->units.u[i].end;
}

/* ---- prompts --------------------------------------------------------------------- */

/* Tokens of a template with empty text/answers: the fixed part of a prompt. */
static lc_status overhead(doc_run *r, const char *tpl, int64_t *n, lc_error *err) {
    lc_doc_vars v = {r->t.instruction, r->o->question, "", 0, 1, "", 0, "", 0};
    if (!lc_doc_fill(&r->prompt, tpl, &v)) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    return count(r, r->prompt.p, r->prompt.len, n, err);
}

/* Fill, check the budget, ask. */
static lc_status ask(doc_run *r, const char *tpl, const lc_doc_vars *v, char **out, lc_error *err) {
    *out = NULL;
    if (!lc_doc_fill(&r->prompt, tpl, v)) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    int64_t n = 0;
    lc_status st = count(r, r->prompt.p, r->prompt.len, &n, err);
    if (st != LC_OK) return st;
    if (n + r->o->n_predict > r->m->n_ctx)
        return lc_fail(err, LC_ERR_INTERNAL, "doc: a prompt of %lld tokens and %lld for the answer exceed the context (%lld)",
                       (long long)n, (long long)r->o->n_predict, (long long)r->m->n_ctx);
    size_t len = 0;
    st = r->m->generate(r->m, r->prompt.p, r->prompt.len, r->o->n_predict, out, &len, err);
    if (st == LC_OK && !*out) st = lc_fail(err, LC_ERR_INTERNAL, "doc: the model returned no text");
    if (st == LC_OK) { /* answers are kept trimmed */
        size_t a = 0;
        while (a < len && is_space((unsigned char)(*out)[a])) a++;
        while (len > a && is_space((unsigned char)(*out)[len - 1])) len--;
        memmove(*out, *out + a, len - a);
        (*out)[len - a] = '\0';
    }
    return st;
}

static lc_status add_chunk(doc_run *r, int64_t start, int64_t end, int64_t tokens, char *result, double secs,
                           lc_error *err) {
    lc_doc_result *res = r->res;
    lc_doc_chunk *q = realloc(res->chunks, (size_t)(res->n_chunks + 1) * sizeof *q);
    if (!q) {
        free(result);
        return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    }
    res->chunks = q;
    lc_doc_chunk *c = &res->chunks[res->n_chunks++];
    c->index = res->n_chunks - 1;
    c->start = start;
    c->end = end;
    c->n_tokens = tokens;
    c->result = result;
    c->seconds = secs;
    if (r->o->on_chunk && !r->o->on_chunk(r->o->chunk_user, c))
        return lc_fail(err, LC_ERR_CANCELLED, "doc: stopped after chunk %lld", (long long)c->index);
    if (r->o->progress &&
        !r->o->progress(r->o->progress_user, (double)end, (double)(r->o->total_bytes > 0 ? r->o->total_bytes : end), "doc"))
        return lc_fail(err, LC_ERR_CANCELLED, "doc: cancelled");
    return LC_OK;
}

/* "1. a\n2. b\n..." of texts [lo, hi) */
static bool numbered(lc_doc_str *o, char **texts, int64_t lo, int64_t hi, const char *label) {
    o->len = 0;
    if (!lc_doc_str_put(o, "", 0)) return false;
    for (int64_t i = lo; i < hi; i++) {
        char head[48];
        snprintf(head, sizeof head, label ? "%s %lld:\n" : "%s%lld. ", label ? label : "", (long long)(i - lo + 1));
        if (!lc_doc_str_put(o, head, strlen(head)) || !lc_doc_str_put(o, texts[i], strlen(texts[i])) ||
            !lc_doc_str_put(o, label ? "\n\n" : "\n", label ? 2 : 1))
            return false;
    }
    return true;
}

/* Reduce texts[n] to one answer with tpl (combine: {answers}; summary over
 * summaries: {text}); groups that fit, level after level. final_tpl (may
 * equal tpl) writes the last one. Takes ownership of texts. */
static lc_status reduce(doc_run *r, char **texts, int64_t n, const char *tpl, bool as_answers, const char *final_tpl,
                        char **out, lc_error *err) {
    lc_doc_str joined = {0};
    lc_status st = LC_OK;
    *out = NULL;
    while (st == LC_OK) {
        /* groups [lo, hi) whose prompt fits */
        int64_t n_new = 0;
        bool progress = false;
        for (int64_t lo = 0; lo < n && st == LC_OK;) {
            int64_t hi = lo + 1;
            for (; hi <= n; hi++) {
                if (!numbered(&joined, texts, lo, hi, as_answers ? NULL : "Part")) {
                    st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
                    break;
                }
                lc_doc_vars v = {r->t.instruction, r->o->question, joined.p, joined.len, 1, "", 0, joined.p, joined.len};
                if (!lc_doc_fill(&r->prompt, lo == 0 && hi == n ? final_tpl : tpl, &v)) {
                    st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
                    break;
                }
                int64_t t = 0;
                if ((st = count(r, r->prompt.p, r->prompt.len, &t, err)) != LC_OK) break;
                if (t + r->o->n_predict + MARGIN > r->m->n_ctx) break;
            }
            if (st != LC_OK) break;
            hi = LC_MAX(hi - 1, lo);
            if (hi == lo) { /* one text alone does not fit: refuse */
                st = lc_fail(err, LC_ERR_TOO_LARGE,
                             "doc: a partial answer is too long to combine within the context; lower -n (%lld)",
                             (long long)r->o->n_predict);
                break;
            }
            if (lo == 0 && hi == n) { /* everything in one prompt: the final answer */
                numbered(&joined, texts, lo, hi, as_answers ? NULL : "Part");
                lc_doc_vars v = {r->t.instruction, r->o->question, joined.p, joined.len, 1, "", 0, joined.p, joined.len};
                st = ask(r, final_tpl, &v, out, err);
                r->res->n_combines++;
                goto done;
            }
            if (hi - lo == 1) {
                char *alone = texts[lo]; /* alone in its group: carried up as it is */
                texts[lo] = NULL;
                texts[n_new++] = alone;
            } else {
                numbered(&joined, texts, lo, hi, as_answers ? NULL : "Part");
                lc_doc_vars v = {r->t.instruction, r->o->question, joined.p, joined.len, 1, "", 0, joined.p, joined.len};
                char *a = NULL;
                st = ask(r, tpl, &v, &a, err);
                r->res->n_combines++;
                if (st != LC_OK) break;
                for (int64_t i = lo; i < hi; i++) {
                    free(texts[i]);
                    texts[i] = NULL;
                }
                texts[n_new++] = a;
                progress = true;
            }
            lo = hi;
        }
        if (st != LC_OK) break;
        if (!progress) {
            st = lc_fail(err, LC_ERR_TOO_LARGE, "doc: the partial answers do not combine within the context; lower -n");
            break;
        }
        n = n_new;
    }
done:
    for (int64_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    lc_doc_str_free(&joined);
    return st;
}

/* ---- the strategies ------------------------------------------------------------------ */

static lc_status run_chunks(doc_run *r, lc_doc_strategy strat, int64_t T, char **final, lc_error *err) {
    stream *s = &r->s;
    const lc_doc_opts *o = r->o;
    const int64_t overlap = strat != LC_DOC_MAP_REDUCE ? 0 : o->overlap >= 0 ? o->overlap : T / 10;
    char **texts = NULL; /* map answers or summaries, in order */
    int64_t n_texts = 0;
    char *running = NULL;
    lc_status st = LC_OK;
    bool last = false;
    int64_t part = 0;
    while (st == LC_OK && !last) {
        size_t end = 0;
        int64_t tokens = 0;
        if ((st = next_chunk(r, T, &end, &tokens, &last, err)) != LC_OK) break;
        if (end == 0) break;
        const double t0 = lc_time_now();
        part++;
        lc_doc_vars v = {r->t.instruction, o->question, s->buf, end, part, running ? running : "",
                         running ? strlen(running) : 0, "", 0};
        const char *tpl = strat == LC_DOC_HIERARCHICAL ? r->t.summary
                          : strat == LC_DOC_REFINE && running ? r->t.refine
                                                              : r->t.map;
        char *a = NULL;
        if ((st = ask(r, tpl, &v, &a, err)) != LC_OK) break;
        char *copy = strdup(a);
        if (!copy) {
            free(a);
            st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
            break;
        }
        if (strat == LC_DOC_REFINE) {
            free(running);
            running = a;
        } else {
            char **q = realloc(texts, (size_t)(n_texts + 1) * sizeof *q);
            if (!q) {
                free(a);
                free(copy);
                st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
                break;
            }
            texts = q;
            texts[n_texts++] = a;
        }
        const int64_t start = s->base;
        st = add_chunk(r, start, start + (int64_t)end, tokens, copy, lc_time_now() - t0, err);
        consume(s, last ? end : overlap_start(r, end, overlap));
    }
    if (st == LC_OK) {
        if (strat == LC_DOC_REFINE) {
            *final = running;
            running = NULL;
        } else if (n_texts == 1 && strat == LC_DOC_MAP_REDUCE) {
            *final = texts[0];
            free(texts);
            texts = NULL;
            n_texts = 0;
        } else if (n_texts == 0) {
            *final = strdup("");
        } else {
            const bool map = strat == LC_DOC_MAP_REDUCE;
            /* map-reduce: combine the answers; hierarchical: the task over the
             * summaries (single), summarising groups of them first if needed */
            st = reduce(r, texts, n_texts, map ? r->t.combine : r->t.summary, map, map ? r->t.combine : r->t.single,
                        final, err);
            texts = NULL;
            n_texts = 0;
        }
    }
    for (int64_t i = 0; i < n_texts; i++) free(texts[i]);
    free(texts);
    free(running);
    return st;
}

void lc_doc_opts_init(lc_doc_opts *o) {
    memset(o, 0, sizeof *o);
    o->task = LC_DOC_SUMMARIZE;
    o->strategy = LC_DOC_AUTO;
    o->n_predict = 256;
    o->overlap = -1;
}

void lc_doc_result_free(lc_doc_result *r) {
    if (!r) return;
    free(r->answer);
    for (int64_t i = 0; i < r->n_chunks; i++) free(r->chunks[i].result);
    free(r->chunks);
    memset(r, 0, sizeof *r);
}

/* The chunk budget of a strategy: n_ctx - template - answer(s) - margin. */
static lc_status budget(doc_run *r, const char *tpl, int64_t answers_in, int64_t *T, lc_error *err) {
    int64_t ov = 0;
    lc_status st = overhead(r, tpl, &ov, err);
    if (st != LC_OK) return st;
    *T = r->m->n_ctx - ov - r->o->n_predict * (1 + answers_in) - MARGIN;
    if (r->o->chunk_tokens > 0) *T = LC_MIN(*T, r->o->chunk_tokens);
    if (*T < MIN_BUDGET)
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "doc: a context of %lld tokens leaves %lld for the text after the prompt (%lld) and -n %lld; "
                       "raise -c or lower -n",
                       (long long)r->m->n_ctx, (long long)*T, (long long)ov, (long long)r->o->n_predict);
    return LC_OK;
}

lc_status lc_doc_run(lc_doc_model *m, lc_doc_read_fn read, void *read_user, const lc_doc_opts *o_in, lc_doc_result *res,
                     lc_error *err) {
    if (!res) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: NULL result");
    memset(res, 0, sizeof *res);
    if (!m || !m->count || !m->generate || !read) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: no model or reader");
    lc_doc_opts defaults;
    lc_doc_opts_init(&defaults);
    const lc_doc_opts *o = o_in ? o_in : &defaults;
    if ((unsigned)o->task >= LC_DOC_TASK_COUNT || (unsigned)o->strategy >= LC_DOC_STRATEGY_COUNT || o->n_predict < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "doc: bad task, strategy or answer length");
    if (o->task == LC_DOC_QA && (!o->question || !o->question[0]))
        return lc_fail(err, LC_ERR_INVALID_ARG, "doc: the qa task needs a question (--question)");
    doc_run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.o = o;
    r.res = res;
    r.s.read = read;
    r.s.user = read_user;
    lc_doc_templates_builtin(o->task, &r.t);
    if (o->templates) {
        const lc_doc_templates *u = o->templates;
        if (u->instruction) r.t.instruction = u->instruction;
        if (u->single) r.t.single = u->single;
        if (u->map) r.t.map = u->map;
        if (u->combine) r.t.combine = u->combine;
        if (u->refine) r.t.refine = u->refine;
        if (u->summary) r.t.summary = u->summary;
    }
    const double t0 = lc_time_now();
    lc_doc_strategy strat = o->strategy;
    char *final = NULL;
    int64_t T = 0;
    lc_status st = LC_OK;
    /* an empty (or all-blank) document is refused, not "summarised": read
     * until some text or the end (what is read stays in the buffer) */
    bool blank = true;
    for (size_t i = 0; st == LC_OK && blank;) {
        for (; i < r.s.len && blank; i++) blank = r.s.buf[i] == ' ' || r.s.buf[i] == '\n' || r.s.buf[i] == '\r' ||
                                                  r.s.buf[i] == '\t';
        if (!blank || r.s.eof) break;
        st = more(&r.s, err);
    }
    if (st == LC_OK && blank) st = lc_fail(err, LC_ERR_INVALID_ARG, "doc: the document is empty");
    if (st == LC_OK && (strat == LC_DOC_AUTO || strat == LC_DOC_SINGLE)) {
        /* does it fit one prompt? (reads at most that much) */
        st = budget(&r, r.t.single, 0, &T, err);
        size_t end = 0;
        int64_t tokens = 0;
        bool last = false;
        if (st == LC_OK) st = next_chunk(&r, T, &end, &tokens, &last, err);
        if (st == LC_OK && last) {
            res->chunk_budget = T;
            lc_doc_vars v = {r.t.instruction, o->question, r.s.buf ? r.s.buf : "", end, 1, "", 0, "", 0};
            const double c0 = lc_time_now();
            st = ask(&r, r.t.single, &v, &final, err);
            char *copy = st == LC_OK ? strdup(final) : NULL;
            if (st == LC_OK && !copy) st = lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
            if (st == LC_OK) st = add_chunk(&r, 0, (int64_t)end, tokens, copy, lc_time_now() - c0, err);
            strat = LC_DOC_SINGLE;
        } else if (st == LC_OK && strat == LC_DOC_SINGLE) {
            st = lc_fail(err, LC_ERR_TOO_LARGE,
                         "doc: the document does not fit one prompt (%lld tokens of text allowed); use --strategy "
                         "map-reduce, refine or hierarchical",
                         (long long)T);
        } else if (st == LC_OK) {
            strat = LC_DOC_MAP_REDUCE; /* what was read stays in the buffer */
        }
    }
    if (st == LC_OK && strat != LC_DOC_SINGLE) {
        const char *tpl = strat == LC_DOC_REFINE ? r.t.refine : strat == LC_DOC_HIERARCHICAL ? r.t.summary : r.t.map;
        st = budget(&r, tpl, strat == LC_DOC_REFINE ? 1 : 0, &T, err);
        res->chunk_budget = T;
        if (st == LC_OK) st = run_chunks(&r, strat, T, &final, err);
    }
    res->strategy = strat;
    res->doc_bytes = r.s.base + (int64_t)r.s.len;
    res->peak_buffer = (int64_t)r.s.peak;
    res->seconds = lc_time_now() - t0;
    free(r.s.buf);
    free(r.units.u);
    lc_doc_str_free(&r.prompt);
    if (st != LC_OK) {
        free(final);
        lc_doc_result_free(res);
        return st;
    }
    res->answer = final ? final : strdup("");
    res->answer_len = res->answer ? strlen(res->answer) : 0;
    if (!res->answer) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    return LC_OK;
}
