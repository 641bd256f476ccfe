/*
 * Exact-match scoring of generated answers (for the evaluation suite).
 *
 * The generated text is read up to its first newline, and up to its first
 * period: answers never hold either, and models often go on with "." and a
 * new sentence. Single answers (passkey, multikey) must then equal the
 * expected text up to white space at either end; set answers (multivalue,
 * multiquery: numbers; vt: capitalised names) must hold exactly the expected
 * items, in any order.
 */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define MAX_ITEMS 256
#define MAX_ITEM_LEN 32

/* The part of s[0..n) before the first newline or period. */
static size_t answer_span(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '.' || s[i] == '\0') return i;
    return n;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static void trim(const char **s, size_t *n) {
    while (*n > 0 && is_space(**s)) (*s)++, (*n)--;
    while (*n > 0 && is_space((*s)[*n - 1])) (*n)--;
}

typedef struct {
    char items[MAX_ITEMS][MAX_ITEM_LEN + 1];
    int n;
    bool overflow;
} item_set;

static bool item_class(char c, bool numbers) {
    return numbers ? (c >= '0' && c <= '9') : (c >= 'A' && c <= 'Z');
}

/* The distinct maximal runs of digits (numbers) or capital letters (names)
 * in s[0..n); names must be standalone words (not "The"). */
static void collect(const char *s, size_t n, bool numbers, item_set *set) {
    set->n = 0;
    set->overflow = false;
    for (size_t i = 0; i < n;) {
        if (!item_class(s[i], numbers)) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && item_class(s[j], numbers)) j++;
        bool word_start = i == 0 || !((s[i - 1] >= 'a' && s[i - 1] <= 'z') || (s[i - 1] >= 'A' && s[i - 1] <= 'Z'));
        bool word_end = j == n || !((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= '0' && s[j] <= '9'));
        if (!numbers && !(word_start && word_end)) {
            i = j;
            continue;
        }
        if (j - i > MAX_ITEM_LEN || set->n == MAX_ITEMS) {
            set->overflow = true;
            i = j;
            continue;
        }
        bool dup = false;
        for (int k = 0; k < set->n && !dup; k++)
            dup = strlen(set->items[k]) == j - i && memcmp(set->items[k], s + i, j - i) == 0;
        if (!dup) {
            memcpy(set->items[set->n], s + i, j - i);
            set->items[set->n][j - i] = '\0';
            set->n++;
        }
        i = j;
    }
}

static bool contains(const item_set *set, const char *item) {
    for (int k = 0; k < set->n; k++)
        if (strcmp(set->items[k], item) == 0) return true;
    return false;
}

static bool is_set_task(lc_task_kind k) {
    return k == LC_TASK_MULTIVALUE || k == LC_TASK_MULTIQUERY || k == LC_TASK_VT;
}

/* Items of the expected answer found in the generated one; *n_expected and
 * *n_extra (generated items not expected) are counted too. */
static void compare_sets(lc_task_kind kind, const char *expected, const char *gen, size_t gen_len, int *found,
                         int *n_expected, int *n_extra) {
    bool numbers = kind != LC_TASK_VT;
    item_set *want = malloc(sizeof *want), *got = malloc(sizeof *got);
    *found = *n_expected = *n_extra = 0;
    if (!want || !got) {
        free(want);
        free(got);
        *n_expected = 1; /* scores 0 */
        return;
    }
    size_t el = strlen(expected);
    collect(expected, answer_span(expected, el), numbers, want);
    collect(gen, answer_span(gen, gen_len), numbers, got);
    *n_expected = want->n;
    for (int k = 0; k < want->n; k++) *found += contains(got, want->items[k]);
    for (int k = 0; k < got->n; k++) *n_extra += !contains(want, got->items[k]);
    if (got->overflow) (*n_extra)++;
    free(want);
    free(got);
}

double lc_task_score(lc_task_kind kind, const char *expected, const char *generated, size_t generated_len) {
    if (!expected || !generated || kind == LC_TASK_FILLER || (unsigned)kind >= LC_TASK_COUNT) return 0.0;
    if (is_set_task(kind)) {
        int found, n_expected, n_extra;
        compare_sets(kind, expected, generated, generated_len, &found, &n_expected, &n_extra);
        return n_expected > 0 && found == n_expected && n_extra == 0 ? 1.0 : 0.0;
    }
    const char *e = expected, *g = generated;
    size_t el = answer_span(expected, strlen(expected)), gl = answer_span(generated, generated_len);
    trim(&e, &el);
    trim(&g, &gl);
    return el > 0 && el == gl && memcmp(e, g, el) == 0 ? 1.0 : 0.0;
}

double lc_task_recall(lc_task_kind kind, const char *expected, const char *generated, size_t generated_len) {
    if (!expected || !generated || !is_set_task(kind)) return lc_task_score(kind, expected, generated, generated_len);
    int found, n_expected, n_extra;
    compare_sets(kind, expected, generated, generated_len, &found, &n_expected, &n_extra);
    return n_expected > 0 ? (double)found / n_expected : 0.0;
}
