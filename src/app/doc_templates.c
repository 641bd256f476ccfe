/*
 * Document tasks as prompt templates (app.h): the built-in instruction of
 * each task, the prompt of each step of a strategy, a user's template file,
 * and placeholder filling. The tasks follow the article's long-document
 * processor ("提取关键条款", summaries, question answering, entities).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/doc_internal.h"

static const char *const task_names[LC_DOC_TASK_COUNT] = {"summarize", "clauses", "qa", "entities"};
static const char *const strategy_names[LC_DOC_STRATEGY_COUNT] = {"auto", "single", "map-reduce", "refine",
                                                                  "hierarchical"};

static const char *const instructions[LC_DOC_TASK_COUNT] = {
    "Summarise the text in a few sentences.",
    "Extract the key clauses of the text (obligations, rights, conditions, amounts and deadlines), one per line.",
    "Answer the question from the text. Question: {question}",
    "List the named entities in the text (people, organisations, places, dates and numbers), one per line.",
};

const char *lc_doc_task_name(lc_doc_task t) { return (unsigned)t < LC_DOC_TASK_COUNT ? task_names[t] : "?"; }

bool lc_doc_task_parse(const char *s, lc_doc_task *out) {
    if (!s) return false;
    for (int i = 0; i < LC_DOC_TASK_COUNT; i++)
        if (strcmp(s, task_names[i]) == 0) {
            *out = (lc_doc_task)i;
            return true;
        }
    if (strcmp(s, "summarise") == 0 || strcmp(s, "summary") == 0) *out = LC_DOC_SUMMARIZE;
    else if (strcmp(s, "question") == 0) *out = LC_DOC_QA;
    else return false;
    return true;
}

const char *lc_doc_strategy_name(lc_doc_strategy s) {
    return (unsigned)s < LC_DOC_STRATEGY_COUNT ? strategy_names[s] : "?";
}

bool lc_doc_strategy_parse(const char *s, lc_doc_strategy *out) {
    if (!s) return false;
    for (int i = 0; i < LC_DOC_STRATEGY_COUNT; i++)
        if (strcmp(s, strategy_names[i]) == 0) {
            *out = (lc_doc_strategy)i;
            return true;
        }
    if (strcmp(s, "mapreduce") == 0 || strcmp(s, "map_reduce") == 0) *out = LC_DOC_MAP_REDUCE;
    else return false;
    return true;
}

void lc_doc_templates_builtin(lc_doc_task t, lc_doc_templates *o) {
    o->instruction = instructions[(unsigned)t < LC_DOC_TASK_COUNT ? t : 0];
    o->single = "{instruction}\n\nText:\n{text}\n\nAnswer:";
    o->map = "{instruction}\n\nText (part {part} of a longer document):\n{text}\n\nAnswer:";
    o->combine = "{instruction}\n\nAnswers found in consecutive parts of a long document:\n{answers}\n\nCombined answer:";
    o->refine = "{instruction}\n\nAnswer so far:\n{answer}\n\nNext part of the document:\n{text}\n\nUpdated answer:";
    o->summary = "Summarise the text, keeping every detail this task needs: {instruction}\n\nText:\n{text}\n\nSummary:";
}

/* Section name at the start of a line "## name", or NULL. */
static const char **section(lc_doc_templates *t, const char *line, size_t len) {
    static const char *names[6] = {"instruction", "single", "map", "combine", "refine", "summary"};
    if (len < 3 || line[0] != '#' || line[1] != '#' || line[2] != ' ') return NULL;
    const char *n = line + 3;
    size_t nl = len - 3;
    while (nl > 0 && (n[nl - 1] == ' ' || n[nl - 1] == '\r')) nl--;
    const char **fields[6] = {&t->instruction, &t->single, &t->map, &t->combine, &t->refine, &t->summary};
    for (int i = 0; i < 6; i++)
        if (strlen(names[i]) == nl && strncmp(n, names[i], nl) == 0) return fields[i];
    return NULL;
}

lc_status lc_doc_templates_parse(const char *text, size_t len, lc_doc_templates *t, char **store, lc_error *err) {
    *store = NULL;
    if (!text || !t) return lc_fail(err, LC_ERR_INVALID_ARG, "doc: NULL template");
    if (memchr(text, '\0', len)) return lc_fail(err, LC_ERR_FORMAT, "doc: the template file holds a NUL byte");
    char *copy = malloc(len + 1);
    if (!copy) return lc_fail(err, LC_ERR_NOMEM, "doc: out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    /* pass 1: is there any section header? */
    bool any = false;
    lc_doc_templates probe = *t;
    for (char *p = copy; *p;) {
        char *nl = strchr(p, '\n');
        const size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (section(&probe, p, ll)) any = true;
        p = nl ? nl + 1 : p + ll;
    }
    if (!any) {
        size_t l = len;
        while (l > 0 && (copy[l - 1] == '\n' || copy[l - 1] == '\r' || copy[l - 1] == ' ')) copy[--l] = '\0';
        if (l == 0) {
            free(copy);
            return lc_fail(err, LC_ERR_FORMAT, "doc: the template file is empty");
        }
        t->instruction = copy;
        *store = copy;
        return LC_OK;
    }
    /* pass 2: cut the sections in place (each ends before the next header) */
    const char **cur = NULL;
    char *body = NULL;
    for (char *p = copy; *p;) {
        char *nl = strchr(p, '\n');
        const size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        const char **sec = section(t, p, ll);
        if (sec) {
            if (cur && body) {
                char *e = p;
                while (e > body && (e[-1] == '\n' || e[-1] == '\r')) e--;
                *e = '\0';
                *cur = body;
            }
            cur = sec;
            body = nl ? nl + 1 : p + ll;
        }
        p = nl ? nl + 1 : p + ll;
    }
    if (cur && body) {
        char *e = body + strlen(body);
        while (e > body && (e[-1] == '\n' || e[-1] == '\r')) e--;
        *e = '\0';
        *cur = body;
    }
    *store = copy;
    return LC_OK;
}

/* ---- filling ---------------------------------------------------------------- */

static bool put(lc_doc_str *s, const char *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 256;
        while (nc < s->len + n + 1) {
            if (nc > SIZE_MAX / 2) return false;
            nc *= 2;
        }
        char *q = realloc(s->p, nc);
        if (!q) return false;
        s->p = q;
        s->cap = nc;
    }
    if (n) memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
    return true;
}

bool lc_doc_str_put(lc_doc_str *s, const char *p, size_t n) { return put(s, p, n); }

void lc_doc_str_free(lc_doc_str *s) {
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* Append tpl with its placeholders filled; {instruction} is itself filled
 * (it may hold {question}). */
static bool fill(lc_doc_str *o, const char *tpl, const lc_doc_vars *v, int depth) {
    for (const char *p = tpl; *p;) {
        const char *b = strchr(p, '{');
        if (!b) return put(o, p, strlen(p));
        if (!put(o, p, (size_t)(b - p))) return false;
        const char *e = strchr(b, '}');
        if (!e) return put(o, b, strlen(b));
        const size_t nl = (size_t)(e - b - 1);
#define NAME(x) (nl == sizeof(x) - 1 && strncmp(b + 1, x, nl) == 0)
        bool ok = true;
        if (NAME("instruction") && depth == 0) ok = fill(o, v->instruction ? v->instruction : "", v, 1);
        else if (NAME("question")) ok = put(o, v->question ? v->question : "", v->question ? strlen(v->question) : 0);
        else if (NAME("text")) ok = put(o, v->text, v->text_len);
        else if (NAME("answer")) ok = put(o, v->answer, v->answer_len);
        else if (NAME("answers")) ok = put(o, v->answers, v->answers_len);
        else if (NAME("part")) {
            char num[24];
            snprintf(num, sizeof num, "%lld", (long long)v->part);
            ok = put(o, num, strlen(num));
        } else ok = put(o, b, (size_t)(e - b + 1)); /* not ours: as written */
#undef NAME
        if (!ok) return false;
        p = e + 1;
    }
    return true;
}

bool lc_doc_fill(lc_doc_str *out, const char *tpl, const lc_doc_vars *v) {
    out->len = 0;
    if (!put(out, "", 0)) return false;
    return fill(out, tpl, v, 0);
}
