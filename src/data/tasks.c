/*
 * Task samples: needles and a question hidden in filler, tokenised unit by
 * unit so the length is controlled in tokens.
 *
 * A sample is built from units (sentences): filler sentences, needles, the
 * question, the answer. Each unit follows a space and is encoded on its own.
 * Tokenizers that write the space themselves (SPM with a space prefix:
 * encode("a a") == encode("a") + encode("a")) encode each unit's bare text,
 * and their prompt text starts without the space (their decoders drop it
 * after BOS); the others (byte-level BPE) encode " " + text, and the prompt
 * text starts with a space. Either way the ids are what encoding the joined
 * text gives, for tokenizers whose pieces do not span a space and the start
 * of a word (the synthetic tokenizer, trained BPE, Llama's SPM, GPT-2; tests
 * check it).
 *
 *   1. needles, question and answer are made and encoded: `fixed` tokens;
 *   2. filler fills budget = n_tokens - fixed: whole sentences that fit
 *      (exact = false), or sentences until the budget is passed, then the
 *      first filler sentence is cut from the left to land exactly on it;
 *   3. each needle goes to the sentence boundary closest to its depth
 *      (fraction of filler tokens before it); equal boundaries keep the
 *      needles' depth order, then creation order (vt chains stay in order).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- Specs --------------------------------------------------------------- */

static const char *const kind_names[LC_TASK_COUNT] = {"passkey", "multikey", "multivalue",
                                                      "multiquery", "vt", "filler"};

const char *lc_task_kind_name(lc_task_kind kind) {
    return (unsigned)kind < LC_TASK_COUNT ? kind_names[kind] : "?";
}

bool lc_task_kind_parse(const char *name, lc_task_kind *out) {
    for (int k = 0; k < LC_TASK_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (lc_task_kind)k;
            return true;
        }
    return false;
}

void lc_task_spec_init(lc_task_spec *spec, lc_task_kind kind, int64_t n_tokens) {
    memset(spec, 0, sizeof *spec);
    spec->kind = kind;
    spec->n_tokens = n_tokens;
    spec->exact = false;
    spec->depth = -1.0;
    spec->digits = 5;
    spec->n_keys = 4;
    spec->n_values = 4;
    spec->n_queries = 2;
    spec->n_chains = 1;
    spec->n_hops = 4;
    spec->add_bos = true;
    spec->add_eos = true;
    spec->haystack = NULL;
}

lc_status lc_task_spec_check(const lc_task_spec *s, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "task spec: NULL");
    if ((unsigned)s->kind >= LC_TASK_COUNT) return lc_fail(err, LC_ERR_INVALID_ARG, "task spec: unknown kind %d", (int)s->kind);
    const char *k = kind_names[s->kind];
    if (s->n_tokens < 1 || s->n_tokens > LC_TASK_MAX_TOKENS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: length %lld tokens is outside 1..%lld", k, (long long)s->n_tokens,
                       (long long)LC_TASK_MAX_TOKENS);
    if (!(s->depth <= 1.0) && !isnan(s->depth)) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: depth %g > 1", k, s->depth);
    if (isnan(s->depth)) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: depth is NaN", k);
    if (s->digits < 1 || s->digits > LC_TASK_MAX_DIGITS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: digits %d outside 1..%d", k, s->digits, LC_TASK_MAX_DIGITS);
    if (s->n_keys < 1 || s->n_keys > LC_TASK_MAX_KEYS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: keys %d outside 1..%d", k, s->n_keys, LC_TASK_MAX_KEYS);
    if (s->n_values < 1 || s->n_values > LC_TASK_MAX_KEYS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: values %d outside 1..%d", k, s->n_values, LC_TASK_MAX_KEYS);
    if (s->n_queries < 1 || s->n_queries > s->n_keys)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: queries %d outside 1..keys (%d)", k, s->n_queries, s->n_keys);
    if (s->n_chains < 1 || s->n_chains > LC_TASK_MAX_CHAINS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: chains %d outside 1..%d", k, s->n_chains, LC_TASK_MAX_CHAINS);
    if (s->n_hops < 0 || s->n_hops > LC_TASK_MAX_HOPS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: hops %d outside 0..%d", k, s->n_hops, LC_TASK_MAX_HOPS);
    /* distinct numbers must exist: 9 * 10^(digits-1) of them */
    int64_t need = s->kind == LC_TASK_MULTIVALUE ? s->n_values : s->kind == LC_TASK_VT ? s->n_chains : s->n_keys;
    if (s->digits <= 2 && need > (s->digits == 1 ? 9 : 90))
        return lc_fail(err, LC_ERR_INVALID_ARG, "%s: %lld distinct %d-digit numbers do not exist", k, (long long)need,
                       s->digits);
    return LC_OK;
}

/* ---- Units ---------------------------------------------------------------- */

typedef struct {
    int64_t tok_off, tok_len; /* into gen.ids  */
    size_t text_off, text_len; /* into gen.text */
    uint8_t role;
    bool asked;                /* a needle the question asks about      */
    bool cut;                  /* filler cut from the left (exact mode) */
} unit;

typedef struct {
    double depth;     /* requested, in [0, 1]           */
    int32_t unit;     /* its unit                        */
    int32_t order;    /* creation order                  */
    int64_t boundary; /* filler units before it          */
} needle_plan;

typedef struct {
    const lc_task_spec *spec;
    const lc_tokenizer *tok;
    lc_rng rng;
    bool prefix_mode;
    lc_buf text;     /* unit texts           */
    lc_buf scratch;  /* " " + text to encode */
    int32_t *ids;    /* token arena          */
    int64_t n_ids, cap_ids;
    unit *units;
    int64_t n_units, cap_units;
    needle_plan needles[LC_TASK_MAX_KEYS + LC_TASK_MAX_CHAINS * (LC_TASK_MAX_HOPS + 1)];
    int32_t n_needles;
    lc_error *err;
} gen;

static lc_status nomem(gen *g) { return lc_fail(g->err, LC_ERR_NOMEM, "%s: out of memory", kind_names[g->spec->kind]); }

static bool reserve_ids(gen *g, int64_t more) {
    if (g->n_ids + more <= g->cap_ids) return true;
    int64_t cap = g->cap_ids ? g->cap_ids : 1024;
    while (cap < g->n_ids + more) cap *= 2;
    size_t bytes;
    if (!lc_mul_size((size_t)cap, sizeof(int32_t), &bytes)) return false;
    int32_t *p = realloc(g->ids, bytes);
    if (!p) return false;
    g->ids = p;
    g->cap_ids = cap;
    return true;
}

/* Encode the text of a unit (it follows a space) and append its ids to the
 * arena at *off, *n_out of them. */
static lc_status encode_text(gen *g, const char *text, size_t len, int64_t *off, int64_t *n_out) {
    const char *src = text;
    size_t n = len;
    if (!g->prefix_mode) {
        g->scratch.len = 0;
        lc_buf_put(&g->scratch, " ", 1);
        lc_buf_put(&g->scratch, text, len);
        if (g->scratch.failed) return nomem(g);
        src = g->scratch.p;
        n = g->scratch.len;
    }
    /* a token covers at least one byte; plus a possible "▁" prefix */
    if (!reserve_ids(g, (int64_t)n + 8)) return nomem(g);
    int64_t got = 0;
    lc_status st = lc_tokenizer_encode(g->tok, src, n, false, g->ids + g->n_ids, g->cap_ids - g->n_ids, &got, g->err);
    if (st == LC_ERR_TOO_LARGE && got > g->cap_ids - g->n_ids) {
        if (!reserve_ids(g, got)) return nomem(g);
        st = lc_tokenizer_encode(g->tok, src, n, false, g->ids + g->n_ids, g->cap_ids - g->n_ids, &got, g->err);
    }
    if (st != LC_OK) return st;
    *off = g->n_ids;
    *n_out = got;
    g->n_ids += got;
    return LC_OK;
}

/* Add a unit; returns its index, or -1 with *st set. */
static int32_t add_unit(gen *g, const char *text, size_t len, uint8_t role, lc_status *st) {
    if (g->n_units == g->cap_units) {
        int64_t cap = g->cap_units ? g->cap_units * 2 : 256;
        size_t bytes;
        unit *p = lc_mul_size((size_t)cap, sizeof *p, &bytes) ? realloc(g->units, bytes) : NULL;
        if (!p) {
            *st = nomem(g);
            return -1;
        }
        g->units = p;
        g->cap_units = cap;
    }
    unit *u = &g->units[g->n_units];
    u->text_off = g->text.len;
    u->text_len = len;
    u->role = role;
    u->asked = false;
    u->cut = false;
    lc_buf_put(&g->text, text, len);
    if (g->text.failed) {
        *st = nomem(g);
        return -1;
    }
    *st = encode_text(g, text, len, &u->tok_off, &u->tok_len);
    if (*st != LC_OK) return -1;
    return (int32_t)g->n_units++;
}

/* Drop the last unit (it did not fit). */
static void drop_last_unit(gen *g) {
    unit *u = &g->units[--g->n_units];
    g->n_ids = u->tok_off;
    g->text.len = u->text_off;
}

/* Whether the tokenizer writes the joining space itself (SPM space prefix). */
static lc_status detect_prefix_mode(gen *g) {
    int32_t one[16], two[32];
    int64_t n1 = 0, n2 = 0;
    lc_status st = lc_tokenizer_encode(g->tok, "a", 1, false, one, 16, &n1, g->err);
    if (st == LC_OK) st = lc_tokenizer_encode(g->tok, "a a", 3, false, two, 32, &n2, g->err);
    if (st != LC_OK) return st;
    g->prefix_mode = n1 > 0 && n2 == 2 * n1 && memcmp(two, one, (size_t)n1 * sizeof(int32_t)) == 0 &&
                     memcmp(two + n1, one, (size_t)n1 * sizeof(int32_t)) == 0;
    return LC_OK;
}

/* ---- Random content --------------------------------------------------------- */

static double rand_unit(lc_rng *r) { return (double)(lc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

typedef char number_str[LC_TASK_MAX_DIGITS + 1];
typedef char name_str[LC_TASK_VT_NAME_LEN + 1];

/* A number of `digits` digits (no leading zero) not already in used[0..n). */
static void rand_number(lc_rng *r, int digits, const number_str *used, int n, char *out) {
    for (;;) {
        out[0] = (char)('1' + lc_rng_below(r, 9));
        for (int i = 1; i < digits; i++) out[i] = (char)('0' + lc_rng_below(r, 10));
        out[digits] = '\0';
        bool dup = false;
        for (int i = 0; i < n && !dup; i++) dup = strcmp(used[i], out) == 0;
        if (!dup) return;
    }
}

/* A variable name of capital letters not already in used[0..n). */
static void rand_name(lc_rng *r, const name_str *used, int n, char *out) {
    for (;;) {
        for (int i = 0; i < LC_TASK_VT_NAME_LEN; i++) out[i] = (char)('A' + lc_rng_below(r, 26));
        out[LC_TASK_VT_NAME_LEN] = '\0';
        bool dup = false;
        for (int i = 0; i < n && !dup; i++) dup = strcmp(used[i], out) == 0;
        if (!dup) return;
    }
}

/* n distinct keys in random order (partial Fisher-Yates over the key list). */
static void rand_keys(lc_rng *r, int n, const char **out) {
    size_t idx[LC_TASK_MAX_KEYS + 8];
    size_t total = LC_MIN(lc_wl_keys.n, LC_ARRAY_LEN(idx)); /* >= LC_TASK_MAX_KEYS (tested) */
    for (size_t i = 0; i < total; i++) idx[i] = i;
    for (int i = 0; i < n; i++) {
        if ((size_t)i >= total) { /* cannot happen with the key list; stay defined */
            out[i] = lc_wl_keys.items[(size_t)i % total];
            continue;
        }
        size_t j = (size_t)i + (size_t)lc_rng_below(r, total - (size_t)i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        out[i] = lc_wl_keys.items[idx[i]];
    }
}

static lc_status add_needle(gen *g, const char *text, double depth, bool asked) {
    lc_status st;
    int32_t u = add_unit(g, text, strlen(text), LC_ROLE_NEEDLE, &st);
    if (u < 0) return st;
    g->units[u].asked = asked;
    needle_plan *p = &g->needles[g->n_needles];
    p->depth = depth < 0 ? rand_unit(&g->rng) : depth;
    p->unit = u;
    p->order = g->n_needles++;
    return LC_OK;
}

/* "river", "river and apple", "river, apple and stone" */
static void key_list(lc_buf *b, const char *const *keys, int n) {
    for (int i = 0; i < n; i++) {
        lc_buf_puts(b, i == 0 ? "" : i == n - 1 ? " and " : ", ");
        lc_buf_puts(b, keys[i]);
    }
}

/* Needles sort by depth, then creation order. The position of a needle is
 * monotone in its depth (closest boundary to depth * filler tokens), so this
 * is also their order of appearance. */
static int cmp_plan_depth(const void *a, const void *b) {
    const needle_plan *x = a, *y = b;
    if (x->depth != y->depth) return x->depth < y->depth ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The needles, question and answer text of the task. */
static lc_status make_task(gen *g, lc_buf *question, lc_buf *answer) {
    const lc_task_spec *s = g->spec;
    number_str nums[LC_TASK_MAX_KEYS > LC_TASK_MAX_CHAINS ? LC_TASK_MAX_KEYS : LC_TASK_MAX_CHAINS];
    char line[256];
    lc_status st = LC_OK;
    switch (s->kind) {
    case LC_TASK_PASSKEY:
        rand_number(&g->rng, s->digits, nums, 0, nums[0]);
        snprintf(line, sizeof line, "The pass key is %.18s. Remember it. %.18s is the pass key.", nums[0], nums[0]);
        if ((st = add_needle(g, line, s->depth, true)) != LC_OK) return st;
        lc_buf_puts(question, "What is the pass key? The pass key is");
        lc_buf_puts(answer, nums[0]);
        break;
    case LC_TASK_MULTIKEY:
    case LC_TASK_MULTIQUERY: {
        const char *keys[LC_TASK_MAX_KEYS];
        rand_keys(&g->rng, s->n_keys, keys);
        int n_asked = s->kind == LC_TASK_MULTIKEY ? 1 : s->n_queries;
        for (int i = 0; i < s->n_keys; i++) {
            rand_number(&g->rng, s->digits, nums, i, nums[i]);
            snprintf(line, sizeof line, "The special magic number for %.40s is %.18s.", keys[i], nums[i]);
            if ((st = add_needle(g, line, i == 0 ? s->depth : -1.0, i < n_asked)) != LC_OK) return st;
        }
        bool many = n_asked > 1;
        lc_buf_puts(question, many ? "What are the special magic numbers for " : "What is the special magic number for ");
        key_list(question, keys, n_asked);
        lc_buf_puts(question, many ? "? The special magic numbers for " : "? The special magic number for ");
        key_list(question, keys, n_asked);
        lc_buf_puts(question, many ? " are" : " is");
        for (int i = 0; i < n_asked; i++) {
            if (i) lc_buf_puts(answer, ", ");
            lc_buf_puts(answer, nums[i]);
        }
        break;
    }
    case LC_TASK_MULTIVALUE: {
        const char *key;
        rand_keys(&g->rng, 1, &key);
        for (int i = 0; i < s->n_values; i++) {
            rand_number(&g->rng, s->digits, nums, i, nums[i]);
            snprintf(line, sizeof line, "The special magic number for %.40s is %.18s.", key, nums[i]);
            if ((st = add_needle(g, line, i == 0 ? s->depth : -1.0, true)) != LC_OK) return st;
        }
        snprintf(line, sizeof line,
                 "What are all the special magic numbers for %.40s? The special magic numbers for %.40s are", key, key);
        lc_buf_puts(question, line);
        /* the values in order of appearance */
        needle_plan order[LC_TASK_MAX_KEYS];
        memcpy(order, g->needles, (size_t)g->n_needles * sizeof order[0]);
        qsort(order, (size_t)g->n_needles, sizeof order[0], cmp_plan_depth);
        for (int i = 0; i < g->n_needles; i++) {
            if (i) lc_buf_puts(answer, ", ");
            lc_buf_puts(answer, nums[order[i].order]);
        }
        break;
    }
    case LC_TASK_VT: {
        name_str names[LC_TASK_MAX_CHAINS * (LC_TASK_MAX_HOPS + 1)];
        int n_names = 0;
        for (int c = 0; c < s->n_chains; c++) {
            rand_number(&g->rng, s->digits, nums, c, nums[c]);
            /* sorted uniform depths; the asked chain starts at spec depth */
            double d[LC_TASK_MAX_HOPS + 1];
            int n = s->n_hops + 1;
            bool fixed = c == 0 && s->depth >= 0;
            double lo = fixed ? s->depth : 0.0;
            for (int i = 0; i < n; i++) d[i] = lo + (1.0 - lo) * rand_unit(&g->rng);
            for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && d[j] < d[j - 1]; j--) {
                    double t = d[j];
                    d[j] = d[j - 1];
                    d[j - 1] = t;
                }
            if (fixed) d[0] = s->depth;
            for (int i = 0; i < n; i++) {
                char *nm = names[n_names];
                rand_name(&g->rng, names, n_names, nm);
                n_names++;
                if (i == 0) snprintf(line, sizeof line, "VAR %.5s = %.18s.", nm, nums[c]);
                else snprintf(line, sizeof line, "VAR %.5s = VAR %.5s.", nm, names[n_names - 2]);
                if ((st = add_needle(g, line, d[i], c == 0)) != LC_OK) return st;
                if (c == 0) {
                    if (i) lc_buf_puts(answer, " ");
                    lc_buf_puts(answer, nm);
                }
            }
        }
        snprintf(line, sizeof line, "Find all variables that are assigned the value %.18s. Answer:", nums[0]);
        lc_buf_puts(question, line);
        break;
    }
    case LC_TASK_FILLER:
    case LC_TASK_COUNT: break;
    }
    if (question->failed || answer->failed) return nomem(g);
    return LC_OK;
}

/* ---- Filler ------------------------------------------------------------------ */

/* Append filler units: whole sentences while they fit in budget (with a user
 * haystack, the sentence that does not fit is cut at a word boundary to the
 * longest prefix that does); or, exact, until the budget is reached or
 * passed. *used = their tokens. */
static lc_status fill(gen *g, int64_t budget, int64_t *used) {
    const lc_task_spec *s = g->spec;
    const lc_haystack *h = s->haystack;
    lc_status st = LC_OK;
    int64_t sum = 0;
    int misses = 0, empty = 0;
    lc_filler f;
    lc_filler_init(&f, lc_rng_u64(&g->rng));
    int64_t next = h ? (int64_t)lc_rng_below(&g->rng, (uint64_t)h->n) : 0;
    char sent[LC_FILLER_SENTENCE_MAX];
    while (sum < budget) {
        const char *text;
        size_t len;
        if (h) {
            text = h->text + h->off[next];
            len = h->len[next];
            next = (next + 1) % h->n;
        } else {
            len = lc_filler_next(&f, sent);
            text = sent;
        }
        int32_t u = add_unit(g, text, len, LC_ROLE_FILLER, &st);
        if (u < 0) return st;
        int64_t l = g->units[u].tok_len;
        if (l == 0) { /* a tokenizer that drops text: never loop on it */
            drop_last_unit(g);
            if (++empty > 64)
                return lc_fail(g->err, LC_ERR_UNSUPPORTED, "%s: the tokenizer gives no tokens for filler text",
                               kind_names[s->kind]);
            continue;
        }
        if (s->exact || sum + l <= budget) {
            sum += l;
            continue;
        }
        drop_last_unit(g);
        if (h) {
            for (size_t cut = len; cut > 0;) {
                while (cut > 0 && text[cut - 1] != ' ') cut--;
                if (cut <= 1) break;
                cut--; /* without the space */
                int32_t v = add_unit(g, text, cut, LC_ROLE_FILLER, &st);
                if (v < 0) return st;
                if (sum + g->units[v].tok_len <= budget) {
                    sum += g->units[v].tok_len;
                    break;
                }
                drop_last_unit(g);
            }
            break;
        }
        if (++misses >= 48) break; /* nothing short enough comes: done */
    }
    *used = sum;
    return LC_OK;
}

/* ---- Assembly ----------------------------------------------------------------- */

static int cmp_needle(const void *a, const void *b) {
    const needle_plan *x = a, *y = b;
    if (x->boundary != y->boundary) return x->boundary < y->boundary ? -1 : 1;
    return cmp_plan_depth(a, b);
}

void lc_task_sample_free(lc_task_sample *s) {
    if (!s) return;
    free(s->ids);
    free(s->roles);
    free(s->prompt);
    free(s->answer);
    free(s->needles);
    memset(s, 0, sizeof *s);
}

/* Text of tokens ids[0..n) as they decode after token prev. */
static void decode_into(const lc_tokenizer *tok, int32_t prev, const int32_t *ids, int64_t n, lc_buf *b) {
    char small[64];
    for (int64_t i = 0; i < n; i++) {
        size_t need = lc_tokenizer_decode_token(tok, prev, ids[i], small, sizeof small);
        if (need <= sizeof small) {
            lc_buf_put(b, small, need);
        } else {
            char *big = malloc(need);
            if (!big) {
                b->failed = true;
                return;
            }
            lc_tokenizer_decode_token(tok, prev, ids[i], big, need);
            lc_buf_put(b, big, need);
            free(big);
        }
        prev = ids[i];
    }
}

typedef struct {
    int32_t *seq; /* units in order */
    int64_t n_seq;
    int64_t first_filler, n_filler, filler_tokens;
} layout;

/* Place the needles among the filler units: boundary k = after k of them. */
static lc_status place(gen *g, layout *L, int32_t question, int32_t answer) {
    int64_t *cum = malloc(((size_t)L->n_filler + 1) * sizeof *cum);
    L->seq = malloc(((size_t)g->n_units + 1) * sizeof *L->seq);
    if (!cum || !L->seq) {
        free(cum);
        return nomem(g);
    }
    cum[0] = 0;
    for (int64_t k = 0; k < L->n_filler; k++) cum[k + 1] = cum[k] + g->units[L->first_filler + k].tok_len;
    for (int32_t i = 0; i < g->n_needles; i++) {
        needle_plan *p = &g->needles[i];
        double want = p->depth * (double)L->filler_tokens;
        int64_t lo = 0, hi = L->n_filler; /* first boundary with cum >= want */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if ((double)cum[mid] < want) lo = mid + 1;
            else hi = mid;
        }
        if (lo > 0 && want - (double)cum[lo - 1] <= (double)cum[lo] - want) lo--;
        p->boundary = lo;
    }
    free(cum);
    qsort(g->needles, (size_t)g->n_needles, sizeof g->needles[0], cmp_needle);
    int64_t n = 0;
    int32_t ni = 0;
    for (int64_t k = 0; k <= L->n_filler; k++) {
        while (ni < g->n_needles && g->needles[ni].boundary == k) L->seq[n++] = g->needles[ni++].unit;
        if (k < L->n_filler && g->units[L->first_filler + k].tok_len > 0) L->seq[n++] = (int32_t)(L->first_filler + k);
    }
    if (question >= 0) L->seq[n++] = question;
    if (answer >= 0) L->seq[n++] = answer;
    L->n_seq = n;
    return LC_OK;
}

/* The sample from the layout. Text: every unit adds " " + its text (a cut
 * unit adds what its kept tokens decode to); tokenizers that write the
 * joining space themselves (prefix mode) drop the prompt's first space, as
 * their decoders do after BOS. */
static lc_status assemble(gen *g, const layout *L, int32_t bos, int32_t eos, lc_task_sample *out) {
    int64_t total = (bos >= 0) + (eos >= 0);
    for (int64_t i = 0; i < L->n_seq; i++) total += g->units[L->seq[i]].tok_len;
    out->kind = g->spec->kind;
    out->n_tokens = total;
    out->ids = malloc((size_t)LC_MAX(total, 1) * sizeof *out->ids);
    out->roles = malloc((size_t)LC_MAX(total, 1));
    out->needles = calloc((size_t)LC_MAX(g->n_needles, 1), sizeof *out->needles);
    if (!out->ids || !out->roles || !out->needles) return nomem(g);
    lc_buf prompt = {0}, ans = {0};
    int64_t o = 0;
    if (bos >= 0) {
        out->ids[o] = bos;
        out->roles[o++] = LC_ROLE_BOS;
    }
    out->n_prompt = -1;
    for (int64_t i = 0; i < L->n_seq; i++) {
        const unit *u = &g->units[L->seq[i]];
        if (u->role == LC_ROLE_ANSWER) out->n_prompt = o;
        if (u->role == LC_ROLE_NEEDLE) {
            lc_task_needle *nd = &out->needles[out->n_needles++];
            nd->pos = o;
            nd->len = u->tok_len;
            nd->depth = L->filler_tokens > 0 ? (double)out->n_haystack / (double)L->filler_tokens : 0.0;
            nd->asked = u->asked;
        }
        lc_buf *dst = u->role == LC_ROLE_ANSWER ? &ans : &prompt;
        if (u->cut) {
            decode_into(g->tok, o > 0 ? out->ids[o - 1] : -1, g->ids + u->tok_off, u->tok_len, dst);
        } else {
            lc_buf_put(dst, " ", 1);
            lc_buf_put(dst, g->text.p + u->text_off, u->text_len);
        }
        if (u->role == LC_ROLE_FILLER) out->n_haystack += u->tok_len;
        memcpy(out->ids + o, g->ids + u->tok_off, (size_t)u->tok_len * sizeof(int32_t));
        memset(out->roles + o, u->role, (size_t)u->tok_len);
        o += u->tok_len;
    }
    if (out->n_prompt < 0) out->n_prompt = o;
    if (eos >= 0) {
        out->ids[o] = eos;
        out->roles[o++] = LC_ROLE_EOS;
    }
    lc_buf_put(&prompt, "", 0); /* allocate even when empty */
    lc_buf_put(&ans, "", 0);
    if (prompt.failed || ans.failed) {
        lc_buf_free(&prompt);
        lc_buf_free(&ans);
        return nomem(g);
    }
    size_t skip = g->prefix_mode && prompt.len > 0 && prompt.p[0] == ' ';
    if (skip) memmove(prompt.p, prompt.p + 1, prompt.len--);
    out->prompt = prompt.p;
    out->prompt_len = prompt.len;
    out->answer = ans.p;
    out->answer_len = ans.len;
    return LC_OK;
}

static void gen_free(gen *g) {
    lc_buf_free(&g->text);
    lc_buf_free(&g->scratch);
    free(g->ids);
    free(g->units);
}

lc_status lc_task_generate(const lc_task_spec *spec, const lc_tokenizer *tok, uint64_t seed, lc_task_sample *out,
                           lc_error *err) {
    if (out) memset(out, 0, sizeof *out);
    if (!spec || !tok || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_task_generate: NULL argument");
    lc_status st = lc_task_spec_check(spec, err);
    if (st != LC_OK) return st;
    const char *kname = kind_names[spec->kind];
    if (spec->haystack && spec->haystack->n < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "%s: empty haystack", kname);
    /* ids, roles, units and text take well under 64 bytes a token */
    size_t avail = lc_mem_available_bytes();
    if (avail && (uint64_t)spec->n_tokens * 64 > avail / 2)
        return lc_fail(err, LC_ERR_TOO_LARGE, "%s: %lld tokens would need about %lld MiB, more than half of the %zu MiB available",
                       kname, (long long)spec->n_tokens, (long long)((spec->n_tokens * 64) >> 20), avail >> 20);

    gen g;
    memset(&g, 0, sizeof g);
    g.spec = spec;
    g.tok = tok;
    g.err = err;
    lc_rng_seed(&g.rng, lc_data_mix_seed(seed, (uint64_t)spec->kind));
    lc_buf question = {0}, answer = {0};
    layout L;
    memset(&L, 0, sizeof L);
    bool is_filler = spec->kind == LC_TASK_FILLER;
    int32_t n_vocab = lc_tokenizer_n_vocab(tok);
    int32_t bos = spec->add_bos ? lc_tokenizer_bos(tok) : -1;
    int32_t eos = spec->add_eos && !is_filler ? lc_tokenizer_eos(tok) : -1;
    if (bos >= n_vocab) bos = -1;
    if (eos >= n_vocab) eos = -1;
    int32_t q = -1, a = -1;

    if ((st = detect_prefix_mode(&g)) != LC_OK) goto done;
    if ((st = make_task(&g, &question, &answer)) != LC_OK) goto done;
    if (!is_filler) {
        if ((q = add_unit(&g, question.p, question.len, LC_ROLE_QUESTION, &st)) < 0) goto done;
        if ((a = add_unit(&g, answer.p, answer.len, LC_ROLE_ANSWER, &st)) < 0) goto done;
    }
    int64_t fixed = (bos >= 0) + (eos >= 0);
    for (int64_t u = 0; u < g.n_units; u++) fixed += g.units[u].tok_len;
    int64_t budget = spec->n_tokens - fixed;
    if (budget < 0) {
        st = lc_fail(err, LC_ERR_INVALID_ARG, "%s: needles, question and answer take %lld tokens, more than the %lld asked for",
                     kname, (long long)fixed, (long long)spec->n_tokens);
        goto done;
    }
    L.first_filler = g.n_units;
    if ((st = fill(&g, budget, &L.filler_tokens)) != LC_OK) goto done;
    L.n_filler = g.n_units - L.first_filler;
    /* exact: cut the surplus from the left of the first filler units */
    int64_t surplus = spec->exact ? L.filler_tokens - budget : 0;
    for (int64_t u = L.first_filler; u < g.n_units && surplus > 0; u++) {
        int64_t c = LC_MIN(surplus, g.units[u].tok_len);
        g.units[u].tok_off += c;
        g.units[u].tok_len -= c;
        g.units[u].cut = true;
        surplus -= c;
        L.filler_tokens -= c;
    }
    if ((st = place(&g, &L, q, a)) != LC_OK) goto done;
    st = assemble(&g, &L, bos, eos, out);
done:
    free(L.seq);
    lc_buf_free(&question);
    lc_buf_free(&answer);
    gen_free(&g);
    if (st != LC_OK) lc_task_sample_free(out);
    return st;
}
