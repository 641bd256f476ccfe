/*
 * Helpers shared by the tokenizer tests: whole-file reads, llama.cpp's
 * tokenizer test vectors (*.inp / *.out), encode into a growable array,
 * printing id lists on mismatch.
 */
#ifndef LC_TEST_TOKENIZER_UTIL_H
#define LC_TEST_TOKENIZER_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/tokenizer.h"
#include "test_util.h"

static inline int tt_quick(void) { return lc_test_quick(); }

/* Whole file into a malloc'd buffer (NUL added, not counted); NULL if unreadable. */
static inline char *tt_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- llama.cpp test vectors -----------------------------------------------
 * X.inp: the test strings, each followed by "\n__ggml_vocab_test__\n".
 * X.out: one line per string: the expected ids, space-separated (an empty
 * line for an empty result). */
typedef struct {
    const char *text; /* into the .inp buffer */
    size_t len;
    int32_t *ids;
    int64_t n_ids;
} tt_case;

typedef struct {
    char *inp;
    tt_case *cases;
    int n;
} tt_vectors;

static inline void tt_vectors_free(tt_vectors *v) {
    for (int i = 0; i < v->n; i++) free(v->cases[i].ids);
    free(v->cases);
    free(v->inp);
    memset(v, 0, sizeof *v);
}

/* Returns 0 on success, -1 (with a message on stderr) if the files are
 * malformed: a wrong number of lines, a token that is not a number. */
static inline int tt_vectors_load(const char *inp_path, const char *out_path, tt_vectors *v) {
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    const size_t sep_len = sizeof SEP - 1;
    memset(v, 0, sizeof *v);
    size_t inp_len, out_len;
    v->inp = tt_read_file(inp_path, &inp_len);
    char *out = tt_read_file(out_path, &out_len);
    if (!v->inp || !out) {
        fprintf(stderr, "cannot read %s or %s\n", inp_path, out_path);
        free(out);
        tt_vectors_free(v);
        return -1;
    }
    int cap = 0;
    size_t pos = 0;
    /* As llama.cpp's test-tokenizer-0: the text after the last separator is
     * a case too when there is any (gemma-4's file has no final separator). */
    while (pos < inp_len) {
        const char *hit = NULL;
        for (size_t i = pos; i + sep_len <= inp_len; i++)
            if (memcmp(v->inp + i, SEP, sep_len) == 0) {
                hit = v->inp + i;
                break;
            }
        if (!hit) hit = v->inp + inp_len;
        if (v->n == cap) {
            cap = cap ? 2 * cap : 64;
            tt_case *c = realloc(v->cases, (size_t)cap * sizeof *c);
            if (!c) abort();
            v->cases = c;
        }
        v->cases[v->n].text = v->inp + pos;
        v->cases[v->n].len = (size_t)(hit - (v->inp + pos));
        v->cases[v->n].ids = NULL;
        v->cases[v->n].n_ids = 0;
        v->n++;
        pos = (size_t)(hit - v->inp) + sep_len;
    }
    /* .out: exactly v->n lines */
    int line = 0;
    char *p = out, *end = out + out_len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        if (line >= v->n) {
            if (le == p && !nl) break;
            fprintf(stderr, "%s: more lines than the %d cases of %s\n", out_path, v->n, inp_path);
            free(out);
            tt_vectors_free(v);
            return -1;
        }
        tt_case *c = &v->cases[line];
        int64_t cap_ids = 0;
        char *q = p;
        while (q < le) {
            while (q < le && (*q == ' ' || *q == '\r' || *q == '\t')) q++;
            if (q >= le) break;
            char *e;
            errno = 0;
            long val = strtol(q, &e, 10);
            if (e == q || e > le || errno || val < 0 || val > INT32_MAX) {
                fprintf(stderr, "%s:%d: not a token id near \"%.10s\"\n", out_path, line + 1, q);
                free(out);
                tt_vectors_free(v);
                return -1;
            }
            if (c->n_ids == cap_ids) {
                cap_ids = cap_ids ? 2 * cap_ids : 16;
                int32_t *ids = realloc(c->ids, (size_t)cap_ids * sizeof *ids);
                if (!ids) abort();
                c->ids = ids;
            }
            c->ids[c->n_ids++] = (int32_t)val;
            q = e;
        }
        line++;
        p = nl ? nl + 1 : end;
    }
    free(out);
    if (line != v->n) {
        fprintf(stderr, "%s: %d lines for %d cases\n", out_path, line, v->n);
        tt_vectors_free(v);
        return -1;
    }
    return 0;
}

/* Encode into a malloc'd array (*n ids); NULL + message on failure. */
static inline int32_t *tt_encode(const lc_tokenizer *t, const char *text, size_t len, bool bos, int64_t *n) {
    lc_error err;
    int64_t need = 0;
    lc_status st = lc_tokenizer_encode(t, text, len, bos, NULL, 0, &need, &err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) {
        fprintf(stderr, "encode failed: %s\n", err.msg);
        return NULL;
    }
    int32_t *ids = malloc((size_t)(need ? need : 1) * sizeof *ids);
    if (!ids) abort();
    st = lc_tokenizer_encode(t, text, len, bos, ids, need, n, &err);
    if (st != LC_OK) {
        fprintf(stderr, "encode failed: %s\n", err.msg);
        free(ids);
        return NULL;
    }
    return ids;
}

/* Decode into a malloc'd NUL-terminated buffer; NULL + message on failure. */
static inline char *tt_decode(const lc_tokenizer *t, const int32_t *ids, int64_t n, size_t *len) {
    lc_error err;
    size_t need = 0;
    lc_status st = lc_tokenizer_decode(t, ids, n, NULL, 0, &need, &err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) {
        fprintf(stderr, "decode failed: %s\n", err.msg);
        return NULL;
    }
    char *buf = malloc(need + 1);
    if (!buf) abort();
    st = lc_tokenizer_decode(t, ids, n, buf, need + 1, len, &err);
    if (st != LC_OK) {
        fprintf(stderr, "decode failed: %s\n", err.msg);
        free(buf);
        return NULL;
    }
    return buf;
}

static inline void tt_print_ids(const char *label, const int32_t *ids, int64_t n) {
    fprintf(stderr, "  %s (%lld):", label, (long long)n);
    for (int64_t i = 0; i < n && i < 200; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 200 ? " ...\n" : "\n");
}

static inline int tt_same_ids(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof *a) == 0);
}

/* Run every case of a vector file through t; returns the number that match. */
static inline int tt_run_vectors(const lc_tokenizer *t, const tt_vectors *v, const char *name, int *failed) {
    int ok = 0;
    *failed = 0;
    for (int i = 0; i < v->n; i++) {
        const tt_case *c = &v->cases[i];
        int64_t n = 0;
        int32_t *ids = tt_encode(t, c->text, c->len, false, &n);
        if (ids && tt_same_ids(ids, n, c->ids, c->n_ids)) ok++;
        else {
            (*failed)++;
            fprintf(stderr, "%s case %d \"%.*s\" differs:\n", name, i, (int)(c->len < 60 ? c->len : 60), c->text);
            tt_print_ids("expected", c->ids, c->n_ids);
            if (ids) tt_print_ids("got", ids, n);
        }
        free(ids);
    }
    return ok;
}

#endif
