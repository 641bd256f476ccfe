/*
 * Synthetic long-context tasks (longctx/tasks.h): the synthetic tokenizer,
 * filler, every task's format and invariants (length, depth, recoverable
 * answers, vt chains), determinism, haystacks, mixtures, the training stream
 * (exact rows, weights, seek/restore) and scoring. The same invariants are
 * checked with real vocabularies (Llama SPM, GPT-2 BPE) when ../shared is
 * there.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "data/data_internal.h"
#include "longctx/gguf.h"
#include "longctx/tasks.h"
#include "longctx/tokenizer.h"
#include "test_util.h"

static size_t count_occurrences(const char *hay, size_t n, const char *needle) {
    size_t k = 0, l = strlen(needle);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(hay + i, needle, l) == 0) k++;
    return k;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t sample_hash(const lc_task_sample *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(s->ids, (size_t)s->n_tokens * sizeof(int32_t), h);
    h = fnv(s->roles, (size_t)s->n_tokens, h);
    h = fnv(s->prompt, s->prompt_len, h);
    h = fnv(s->answer, s->answer_len, h);
    return h;
}

/* decode ids[from, to): the whole sequence from 0 (lc_tokenizer_decode),
 * or token by token after the token before (what follows a prompt). */
static char *decode_range(const lc_tokenizer *tok, const int32_t *ids, int64_t from, int64_t to, size_t *len) {
    lc_error err;
    size_t need = 0;
    if (from == 0) {
        lc_tokenizer_decode(tok, ids, to, NULL, 0, &need, &err);
        char *buf = malloc(need + 1);
        if (buf && lc_tokenizer_decode(tok, ids, to, buf, need + 1, len, &err) == LC_OK) return buf;
        free(buf);
        return NULL;
    }
    for (int64_t i = from; i < to; i++) need += lc_tokenizer_decode_token(tok, ids[i - 1], ids[i], NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf) return NULL;
    size_t o = 0;
    for (int64_t i = from; i < to; i++) o += lc_tokenizer_decode_token(tok, ids[i - 1], ids[i], buf + o, need - o);
    buf[o] = '\0';
    *len = o;
    return buf;
}

/* ---- The synthetic vocabulary and tokenizer ------------------------------ */

static void test_vocab(void) {
    lc_tasks_vocab *v;
    lc_tokenizer_desc d;
    lc_error err;
    CHECK_OK(lc_tasks_vocab_build(&v, &d, &err), &err);
    if (!v) return;
    CHECK(d.n_vocab == LC_TASKS_VOCAB_SIZE, "vocabulary size %d", d.n_vocab);
    CHECK(d.n_vocab < 1024, "well under 1024");
    CHECK(d.kind == LC_TOKENIZER_SPM && d.bos_id == 1 && d.eos_id == 2 && d.unk_id == 0 && d.pad_id == 3, "specials");
    CHECK(d.piece_lens[1] == 3 && memcmp(d.pieces[1], "<s>", 3) == 0, "BOS piece");
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        CHECK(d.piece_lens[4 + b] == 6 && memcmp(d.pieces[4 + b], hex, 6) == 0 && d.types[4 + b] == LC_TOKEN_BYTE,
              "byte token %d", b);
    }
    /* single characters exist; learned pieces hold no digit and no capital
     * but right after the leading "▁" */
    int singles = 0;
    for (int32_t i = 260; i < d.n_vocab; i++) {
        const char *p = d.pieces[i];
        size_t l = d.piece_lens[i];
        if (l == 1) singles++;
        bool space = l >= 3 && memcmp(p, "\xe2\x96\x81", 3) == 0;
        for (size_t k = 0; k < l; k++) {
            if (l > 1 && isdigit((unsigned char)p[k])) CHECK(0, "piece %d holds a digit", i);
            if (l > 1 && isupper((unsigned char)p[k]) && !(space && k == 3)) CHECK(0, "piece %d has a capital inside", i);
        }
        for (int32_t j = 260; j < i && i < 320; j++)
            CHECK(!(d.piece_lens[j] == l && memcmp(d.pieces[j], p, l) == 0), "duplicate piece %d %d", i, j);
    }
    CHECK(singles >= 52 + 10 + 5, "single characters: %d", singles);
    /* scores decrease along the learned pieces */
    for (int32_t i = 400; i + 1 < d.n_vocab; i++)
        CHECK(d.scores[i + 1] < d.scores[i], "learned scores decrease at %d", i);
    lc_tasks_vocab_free(v);
}

static void test_tokenizer(const lc_tokenizer *tok) {
    lc_error err;
    lc_rng r;
    lc_rng_seed(&r, 11);
    int n_cases = lc_test_quick() ? 50 : 300;
    char buf[1024], out[1100];
    int32_t ids[2100];
    for (int c = 0; c < n_cases; c++) {
        /* random bytes (invalid UTF-8 included), random code points, ASCII */
        size_t n = (size_t)lc_rng_below(&r, 300);
        int mode = c % 3;
        size_t o = 0;
        while (o < n) {
            if (mode == 0) {
                buf[o++] = (char)lc_rng_below(&r, 256);
            } else if (mode == 1) {
                uint32_t cp = (uint32_t)lc_rng_below(&r, 0x30000);
                if (cp >= 0xD800 && cp < 0xE000) cp = 0x4E2D;
                if (cp == 0) cp = 'x';
                if (cp < 0x80 && o + 1 <= n) buf[o++] = (char)cp;
                else if (cp < 0x800 && o + 2 <= n) buf[o++] = (char)(0xC0 | cp >> 6), buf[o++] = (char)(0x80 | (cp & 63));
                else if (cp < 0x10000 && o + 3 <= n)
                    buf[o++] = (char)(0xE0 | cp >> 12), buf[o++] = (char)(0x80 | ((cp >> 6) & 63)),
                    buf[o++] = (char)(0x80 | (cp & 63));
                else if (o + 4 <= n)
                    buf[o++] = (char)(0xF0 | cp >> 18), buf[o++] = (char)(0x80 | ((cp >> 12) & 63)),
                    buf[o++] = (char)(0x80 | ((cp >> 6) & 63)), buf[o++] = (char)(0x80 | (cp & 63));
                else break;
            } else {
                buf[o++] = (char)(' ' + lc_rng_below(&r, 95));
            }
        }
        n = o;
        int64_t k = 0;
        size_t len = 0;
        CHECK_OK(lc_tokenizer_encode(tok, buf, n, true, ids, 2100, &k, &err), &err);
        CHECK_OK(lc_tokenizer_decode(tok, ids, k, out, sizeof out, &len, &err), &err);
        CHECK(len == n && memcmp(out, buf, n) == 0, "round trip case %d (mode %d, %zu bytes -> %zu)", c, mode, n, len);
        for (int64_t i = 0; i < k; i++) CHECK(ids[i] >= 0 && ids[i] < LC_TASKS_VOCAB_SIZE, "id range");
    }
    /* digits and capitals: one token each */
    int64_t k = 0;
    CHECK_OK(lc_tokenizer_encode(tok, "The pass key is 9081726354.", 27, false, ids, 64, &k, &err), &err);
    int digits = 0;
    for (int64_t i = 0; i < k; i++) {
        size_t l;
        const char *p = lc_tokenizer_piece(tok, ids[i], &l);
        if (l == 1 && isdigit((unsigned char)p[0])) digits++;
    }
    CHECK(digits == 10, "10 digits, 10 tokens (%d)", digits);
    CHECK_OK(lc_tokenizer_encode(tok, "VAR QWXZA = VAR BCDEF.", 22, false, ids, 64, &k, &err), &err);
    int capitals = 0;
    for (int64_t i = 0; i < k; i++) {
        size_t l;
        const char *p = lc_tokenizer_piece(tok, ids[i], &l);
        int c = 0;
        for (size_t j = 0; j < l; j++) c += isupper((unsigned char)p[j]) != 0;
        CHECK(c <= 1, "a piece of a VAR statement holds %d capitals", c);
        capitals += c;
    }
    CHECK(capitals == 16, "16 capitals, one a token (%d)", capitals);
    /* the words of filler: most are one token */
    size_t need = lc_filler_text(5, lc_test_quick() ? 200 : 2000, NULL, 0);
    char *text = malloc(need + 1);
    int32_t *tids = malloc((need + 8) * sizeof *tids);
    if (text && tids) {
        lc_filler_text(5, lc_test_quick() ? 200 : 2000, text, need + 1);
        CHECK_OK(lc_tokenizer_encode(tok, text, need, false, tids, (int64_t)need + 8, &k, &err), &err);
        size_t words = 0;
        for (size_t i = 0; i < need; i++) words += text[i] != ' ' && (i == 0 || text[i - 1] == ' ');
        double tpw = (double)k / (double)words;
        CHECK(tpw < 1.8, "filler tokens per word %.3f (punctuation included)", tpw);
        size_t len = 0;
        char *back = malloc(need + 1);
        CHECK(back && lc_tokenizer_decode(tok, tids, k, back, need + 1, &len, &err) == LC_OK && len == need &&
                  memcmp(back, text, need) == 0,
              "filler round trip");
        free(back);
    }
    free(text);
    free(tids);
}

/* ---- Filler ---------------------------------------------------------------- */

static void test_filler(void) {
    int n = lc_test_quick() ? 3000 : 30000;
    size_t need = lc_filler_text(42, n, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) return;
    size_t got = lc_filler_text(42, n, text, need + 1);
    CHECK(got == need && strlen(text) == need, "sized call");
    static const char *const banned[] = {"pass key", "special magic", "magic number", "VAR", "variable", "assigned",
                                         "value", "Remember", "remember", "Answer", "What is", "What are"};
    for (size_t b = 0; b < LC_ARRAY_LEN(banned); b++)
        CHECK(!strstr(text, banned[b]), "filler says '%s'", banned[b]);
    bool digit = false, odd = false;
    for (size_t i = 0; i < need; i++) {
        unsigned char c = (unsigned char)text[i];
        digit |= isdigit(c) != 0;
        odd |= !(isalpha(c) || c == ' ' || c == '.' || c == ',');
    }
    CHECK(!digit, "filler holds a digit");
    CHECK(!odd, "filler holds only letters, spaces, periods and commas");
    /* sentences: capitalised, end with a period, many distinct */
    int sentences = 0, distinct_first = 0;
    char *copy = strdup(text);
    char **seen = calloc((size_t)n, sizeof *seen);
    for (char *s = copy, *save = NULL, *tok = strtok_r(s, ".", &save); tok && seen; tok = strtok_r(NULL, ".", &save)) {
        while (*tok == ' ') tok++;
        if (!*tok) continue;
        CHECK(isupper((unsigned char)tok[0]), "sentence starts with a capital: %.30s", tok);
        bool dup = false;
        for (int k = 0; k < sentences && k < 2000 && !dup; k++) dup = strcmp(seen[k], tok) == 0;
        if (sentences < n) seen[sentences] = tok;
        if (!dup && sentences < 2000) distinct_first++;
        sentences++;
    }
    CHECK(sentences == n, "%d sentences, expected %d", sentences, n);
    CHECK(distinct_first >= 1700, "the first 2000 sentences hold %d distinct ones", distinct_first);
    free(seen);
    free(copy);
    /* truncation: a small buffer gets a NUL-terminated prefix */
    char small[16];
    size_t full = lc_filler_text(42, 3, small, sizeof small);
    CHECK(full > 15 && strlen(small) == 15 && memcmp(small, text, 15) == 0, "truncated copy");
    free(text);
    /* different seeds, different text */
    char a[512], b2[512];
    lc_filler_text(1, 5, a, sizeof a);
    lc_filler_text(2, 5, b2, sizeof b2);
    CHECK(strcmp(a, b2) != 0, "seeds 1 and 2 give different filler");
}

/* ---- Sample invariants ------------------------------------------------------ */

static int max_sentence_tokens(const lc_tokenizer *tok) {
    char text[4096];
    int mx = 0;
    lc_error err;
    for (uint64_t seed = 0; seed < 40; seed++) {
        size_t n = lc_filler_text(seed, 1, text, sizeof text);
        int32_t ids[1024];
        int64_t k = 0;
        if (lc_tokenizer_encode(tok, text, n, false, ids, 1024, &k, &err) == LC_OK && k > mx) mx = (int)k;
    }
    return mx;
}

/* Parse "VAR A = B." statements of the prompt: names and right-hand sides. */
typedef struct {
    char lhs[8], rhs[24];
} vt_stmt;

static int parse_vt(const char *p, vt_stmt *st, int max) {
    int n = 0;
    for (const char *q = strstr(p, "VAR "); q && n < max; q = strstr(q + 1, "VAR ")) {
        if (q > p && q[-1] == '=') continue;
        if (q >= p + 2 && q[-2] == '=') continue; /* right-hand side "= VAR X" */
        char lhs[8] = {0}, rhs[24] = {0};
        if (sscanf(q, "VAR %7[A-Z] = %23[^.]", lhs, rhs) == 2) {
            memcpy(st[n].lhs, lhs, sizeof lhs);
            const char *r = strncmp(rhs, "VAR ", 4) == 0 ? rhs + 4 : rhs;
            snprintf(st[n].rhs, sizeof st[n].rhs, "%s", r);
            n++;
        }
    }
    return n;
}

/* Everything a sample must satisfy, for any tokenizer. exact_text: the
 * tokenizer's pieces never span a space (the synthetic one), so encoding the
 * prompt text gives the prompt ids. */
static void check_sample(const lc_tokenizer *tok, const lc_task_spec *spec, const lc_task_sample *s, int max_sent,
                         bool exact_text, const char *what) {
    lc_error err;
    int64_t T = spec->n_tokens;
    /* within a few tokens (the shortest sentences have 4) */
    if (spec->exact) CHECK(s->n_tokens == T, "%s: exact length %lld != %lld", what, (long long)s->n_tokens, (long long)T);
    else CHECK(s->n_tokens <= T && s->n_tokens >= T - 8, "%s: length %lld for target %lld", what,
               (long long)s->n_tokens, (long long)T);
    /* roles: BOS first, then the prompt, then the answer and EOS */
    int32_t bos = lc_tokenizer_bos(tok), eos = lc_tokenizer_eos(tok);
    if (spec->add_bos) CHECK(s->ids[0] == bos && s->roles[0] == LC_ROLE_BOS, "%s: BOS first", what);
    else CHECK(s->roles[0] != LC_ROLE_BOS, "%s: no BOS", what);
    if (!spec->add_eos) CHECK(s->roles[s->n_tokens - 1] != LC_ROLE_EOS, "%s: no EOS", what);
    (void)eos;
    int64_t counts[LC_ROLE_COUNT] = {0};
    for (int64_t i = 0; i < s->n_tokens; i++) {
        CHECK(s->roles[i] < LC_ROLE_COUNT, "%s: role", what);
        counts[s->roles[i] % LC_ROLE_COUNT]++;
        if (i >= s->n_prompt) CHECK(s->roles[i] == LC_ROLE_ANSWER || s->roles[i] == LC_ROLE_EOS, "%s: after the prompt", what);
        else CHECK(s->roles[i] != LC_ROLE_ANSWER && s->roles[i] != LC_ROLE_EOS, "%s: answer inside the prompt", what);
    }
    CHECK(counts[LC_ROLE_FILLER] == s->n_haystack, "%s: haystack count", what);
    int64_t needle_tokens = 0;
    for (int32_t i = 0; i < s->n_needles; i++) {
        const lc_task_needle *nd = &s->needles[i];
        needle_tokens += nd->len;
        for (int64_t k = nd->pos; k < nd->pos + nd->len; k++) CHECK(s->roles[k] == LC_ROLE_NEEDLE, "%s: needle span", what);
        if (i > 0) CHECK(nd->pos >= s->needles[i - 1].pos + s->needles[i - 1].len, "%s: needles in order", what);
    }
    CHECK(needle_tokens == counts[LC_ROLE_NEEDLE], "%s: needle tokens", what);
    if (spec->kind == LC_TASK_FILLER) {
        CHECK(s->answer_len == 0 && s->n_prompt == s->n_tokens && s->n_needles == 0, "%s: filler has no task", what);
    } else {
        CHECK(counts[LC_ROLE_ANSWER] > 0 && counts[LC_ROLE_QUESTION] > 0, "%s: question and answer", what);
        if (spec->add_eos) CHECK(s->ids[s->n_tokens - 1] == lc_tokenizer_eos(tok), "%s: EOS last", what);
    }
    /* text: the prompt ids decode to the prompt text; the answer ids to the answer */
    size_t len = 0;
    char *p = decode_range(tok, s->ids, 0, s->n_prompt, &len);
    const char *pp = p;
    if (p && len == s->prompt_len + 1 && p[0] == ' ' && s->prompt[0] != ' ') pp++, len--; /* decoders keeping it */
    CHECK(p && len == s->prompt_len && memcmp(pp, s->prompt, len) == 0, "%s: decode(prompt ids) != prompt\n[%s]\n[%s]",
          what, p ? p : "", s->prompt);
    free(p);
    int64_t n_ans = counts[LC_ROLE_ANSWER];
    char *a = decode_range(tok, s->ids, s->n_prompt, s->n_prompt + n_ans, &len);
    CHECK(a && len == s->answer_len && memcmp(a, s->answer, len) == 0, "%s: answer ids decode to [%s], answer [%s]", what,
          a ? a : "", s->answer);
    free(a);
    if (exact_text && !spec->exact) {
        int64_t cap = s->n_tokens + 64, k = 0;
        int32_t *ids = malloc((size_t)cap * sizeof *ids);
        CHECK(ids && lc_tokenizer_encode(tok, s->prompt, s->prompt_len, spec->add_bos, ids, cap, &k, &err) == LC_OK &&
                  k == s->n_prompt && memcmp(ids, s->ids, (size_t)k * sizeof *ids) == 0,
              "%s: encode(prompt) == prompt ids (%lld vs %lld)", what, (long long)k, (long long)s->n_prompt);
        free(ids);
    }
    /* depth: an asked needle sits at the requested depth, +-1 sentence (the
     * first one made: for vt the start of the asked chain) */
    if (spec->depth >= 0 && s->n_needles > 0 && spec->kind != LC_TASK_FILLER) {
        double want = spec->depth * (double)s->n_haystack, best = 1e300;
        for (int32_t i = 0; i < s->n_needles; i++) {
            double d = s->needles[i].depth * (double)s->n_haystack - want;
            if (s->needles[i].asked && fabs(d) < fabs(best)) best = d;
        }
        CHECK(fabs(best) <= max_sent, "%s: no asked needle within %d tokens of %.0f (closest %+.0f)", what, max_sent,
              want, best);
    }
    /* answers are recoverable from the prompt */
    const char *P = s->prompt;
    size_t PL = s->prompt_len;
    const char *ans = s->answer + 1;
    char line[512];
    switch (spec->kind) {
    case LC_TASK_PASSKEY:
        snprintf(line, sizeof line, "The pass key is %s. Remember it. %s is the pass key.", ans, ans);
        CHECK(count_occurrences(P, PL, line) == 1, "%s: the needle once", what);
        CHECK(count_occurrences(P, PL, ans) == 2, "%s: the key twice (in the needle only)", what);
        CHECK((int)strlen(ans) == spec->digits, "%s: %d digits", what, spec->digits);
        CHECK(count_occurrences(P, PL, "pass key") == 4, "%s: 'pass key' in needle and question only", what);
        break;
    case LC_TASK_MULTIKEY: {
        const char *q = strstr(P, "What is the special magic number for ");
        char key[64] = {0};
        CHECK(q && sscanf(q, "What is the special magic number for %63[a-z]?", key) == 1, "%s: question", what);
        snprintf(line, sizeof line, "The special magic number for %s is %s.", key, ans);
        CHECK(count_occurrences(P, PL, line) == 1, "%s: the asked needle once: %s", what, line);
        CHECK((int)count_occurrences(P, PL, "The special magic number for ") == spec->n_keys + 1,
              "%s: %d needles and the question", what, spec->n_keys);
        break;
    }
    case LC_TASK_MULTIVALUE: {
        const char *q = strstr(P, "What are all the special magic numbers for ");
        char key[64] = {0};
        CHECK(q && sscanf(q, "What are all the special magic numbers for %63[a-z]?", key) == 1, "%s: question", what);
        /* the values in order of appearance, each once */
        char expect[1024] = "";
        snprintf(line, sizeof line, "The special magic number for %s is ", key);
        size_t ll = strlen(line);
        int found = 0;
        for (const char *x = strstr(P, line); x; x = strstr(x + 1, line)) {
            char num[32] = {0};
            sscanf(x + ll, "%31[0-9]", num);
            size_t el = strlen(expect);
            snprintf(expect + el, sizeof expect - el, "%s%s", found ? ", " : " ", num);
            found++;
        }
        CHECK(found == spec->n_values, "%s: %d values, %d found", what, spec->n_values, found);
        CHECK(strcmp(expect, s->answer) == 0, "%s: answer [%s], values in order [%s]", what, s->answer, expect);
        break;
    }
    case LC_TASK_MULTIQUERY: {
        const char *q = strstr(P, "What are the special magic numbers for ");
        CHECK(q != NULL, "%s: question", what);
        /* keys asked in order; answer = their values in that order */
        char keys[LC_TASK_MAX_KEYS][64];
        int nk = 0;
        const char *k = q ? q + strlen("What are the special magic numbers for ") : "";
        while (*k && *k != '?' && nk < LC_TASK_MAX_KEYS) {
            int w = 0;
            while (k[w] >= 'a' && k[w] <= 'z') w++;
            if (w > 0 && !(w == 3 && strncmp(k, "and", 3) == 0)) {
                snprintf(keys[nk], 64, "%.*s", w, k);
                nk++;
            }
            k += w;
            while (*k == ',' || *k == ' ') k++;
            if (w == 0 && *k != '?') k++;
        }
        CHECK(nk == spec->n_queries, "%s: %d keys asked, %d parsed", what, spec->n_queries, nk);
        char expect[1024] = "";
        for (int i = 0; i < nk; i++) {
            snprintf(line, sizeof line, "The special magic number for %.63s is ", keys[i]);
            const char *x = strstr(P, line);
            char num[32] = {0};
            if (x) sscanf(x + strlen(line), "%31[0-9]", num);
            CHECK(x && count_occurrences(P, PL, line) == 1, "%s: key %s once", what, keys[i]);
            size_t el = strlen(expect);
            snprintf(expect + el, sizeof expect - el, "%s%s", i ? ", " : " ", num);
        }
        CHECK(strcmp(expect, s->answer) == 0, "%s: answer [%s], expected [%s]", what, s->answer, expect);
        break;
    }
    case LC_TASK_VT: {
        vt_stmt st[LC_TASK_MAX_CHAINS * (LC_TASK_MAX_HOPS + 1) + 4];
        int n = parse_vt(P, st, (int)LC_ARRAY_LEN(st));
        CHECK(n == spec->n_chains * (spec->n_hops + 1), "%s: %d statements, expected %d", what, n,
              spec->n_chains * (spec->n_hops + 1));
        const char *q = strstr(P, "Find all variables that are assigned the value ");
        char value[32] = {0};
        CHECK(q && sscanf(q, "Find all variables that are assigned the value %31[0-9]", value) == 1, "%s: question", what);
        /* resolve every variable to its value (statements come in order, so one pass) */
        char resolved[LC_ARRAY_LEN(st)][24];
        char expect[1024] = "";
        int in_answer = 0, values = 0;
        for (int i = 0; i < n; i++) {
            const char *r = st[i].rhs;
            if (isdigit((unsigned char)r[0])) {
                snprintf(resolved[i], 24, "%s", r);
                values++;
            } else {
                resolved[i][0] = '\0';
                for (int j = 0; j < i; j++)
                    if (strcmp(st[j].lhs, r) == 0) snprintf(resolved[i], 24, "%.23s", resolved[j]);
                CHECK(resolved[i][0], "%s: %s refers to a later or unknown variable", what, st[i].lhs);
            }
            if (strcmp(resolved[i], value) == 0) {
                size_t el = strlen(expect);
                snprintf(expect + el, sizeof expect - el, " %.7s", st[i].lhs);
                in_answer++;
            }
        }
        CHECK(values == spec->n_chains, "%s: %d chains start with a value", what, values);
        CHECK(in_answer == spec->n_hops + 1, "%s: chain of %d names, expected %d", what, in_answer, spec->n_hops + 1);
        CHECK(strcmp(expect, s->answer) == 0, "%s: answer [%s], resolved [%s]", what, s->answer, expect);
        CHECK(lc_task_score(LC_TASK_VT, s->answer, expect, strlen(expect)) == 1.0, "%s: scores itself", what);
        break;
    }
    default: break;
    }
    if (spec->kind != LC_TASK_FILLER)
        CHECK(lc_task_score(spec->kind, s->answer, s->answer, s->answer_len) == 1.0, "%s: answer scores 1", what);
}

static void test_kinds(const lc_tokenizer *tok, bool exact_text, const char *tok_name) {
    lc_error err;
    int max_sent = max_sentence_tokens(tok);
    CHECK(max_sent > 3 && max_sent < 80, "%s: longest filler sentence %d tokens", tok_name, max_sent);
    const int64_t lengths[] = {64, 100, 256, 1000, 4096, 16384};
    size_t n_len = lc_test_quick() ? 4 : LC_ARRAY_LEN(lengths);
    for (int k = 0; k < LC_TASK_COUNT; k++) {
        for (size_t li = 0; li < n_len; li++) {
            for (int exact = 0; exact < 2; exact++) {
                lc_task_spec spec;
                lc_task_spec_init(&spec, (lc_task_kind)k, lengths[li]);
                spec.exact = exact;
                if (k == LC_TASK_VT) spec.n_chains = lengths[li] >= 256 ? 2 : 1, spec.n_hops = lengths[li] >= 256 ? 4 : 1;
                if (k == LC_TASK_MULTIKEY || k == LC_TASK_MULTIQUERY || k == LC_TASK_MULTIVALUE)
                    spec.n_keys = spec.n_values = lengths[li] >= 256 ? 4 : 2;
                if (k == LC_TASK_MULTIQUERY) spec.n_queries = 2;
                if (lengths[li] < 100) spec.digits = 3; /* vt and multiquery fit in 64 tokens */
                spec.depth = (li % 3 == 0) ? -1.0 : (double)li / (double)n_len;
                char what[128];
                snprintf(what, sizeof what, "%s %s %lld%s", tok_name, lc_task_kind_name((lc_task_kind)k),
                         (long long)lengths[li], exact ? " exact" : "");
                lc_task_sample s;
                lc_status st = lc_task_generate(&spec, tok, 1000 + li, &s, &err);
                CHECK(st == LC_OK, "%s: %s", what, err.msg);
                if (st == LC_OK) check_sample(tok, &spec, &s, max_sent, exact_text, what);
                lc_task_sample_free(&s);
            }
        }
    }
    /* depth sweep: 0, 0.1, ..., 1 for passkey and multikey */
    for (int k = 0; k < 2; k++)
        for (int d = 0; d <= 10; d++) {
            lc_task_spec spec;
            lc_task_spec_init(&spec, k ? LC_TASK_MULTIKEY : LC_TASK_PASSKEY, 2048);
            spec.depth = d / 10.0;
            lc_task_sample s;
            char what[96];
            snprintf(what, sizeof what, "%s %s depth %.1f", tok_name, k ? "multikey" : "passkey", spec.depth);
            CHECK_OK(lc_task_generate(&spec, tok, 77 + (uint64_t)d, &s, &err), &err);
            if (s.ids) check_sample(tok, &spec, &s, max_sent, exact_text, what);
            if (d == 0 && k == 0) CHECK(s.needles[0].pos == 1, "depth 0: the needle right after BOS");
            if (d == 10 && k == 0)
                CHECK(s.needles[0].pos + s.needles[0].len == s.n_prompt - 10 || s.roles[s.needles[0].pos + s.needles[0].len] == LC_ROLE_QUESTION,
                      "depth 1: the needle right before the question");
            lc_task_sample_free(&s);
        }
    /* options: digits, many keys, long chains */
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_PASSKEY, 300);
    spec.digits = 12;
    lc_task_sample s;
    CHECK_OK(lc_task_generate(&spec, tok, 5, &s, &err), &err);
    if (s.ids) check_sample(tok, &spec, &s, max_sent, exact_text, "passkey 12 digits");
    lc_task_sample_free(&s);
    lc_task_spec_init(&spec, LC_TASK_VT, 2000);
    spec.n_chains = 4;
    spec.n_hops = 8;
    spec.depth = 0.25;
    CHECK_OK(lc_task_generate(&spec, tok, 6, &s, &err), &err);
    if (s.ids) {
        check_sample(tok, &spec, &s, max_sent, exact_text, "vt 4x8");
        /* the asked chain starts at the depth */
        const lc_task_needle *first = NULL;
        for (int32_t i = 0; i < s.n_needles && !first; i++)
            if (s.needles[i].asked) first = &s.needles[i];
        CHECK(first && (first->depth - 0.25) * (double)s.n_haystack <= max_sent &&
                  (0.25 - first->depth) * (double)s.n_haystack <= max_sent,
              "vt chain starts at depth 0.25: %.3f", first ? first->depth : -1);
    }
    lc_task_sample_free(&s);
    lc_task_spec_init(&spec, LC_TASK_MULTIKEY, 500);
    spec.add_bos = spec.add_eos = false;
    for (int exact = 0; exact < 2; exact++) {
        spec.exact = exact;
        CHECK_OK(lc_task_generate(&spec, tok, 9, &s, &err), &err);
        if (s.ids) check_sample(tok, &spec, &s, max_sent, exact_text, exact ? "no BOS/EOS exact" : "no BOS/EOS");
        lc_task_sample_free(&s);
    }
    lc_task_spec_init(&spec, LC_TASK_MULTIQUERY, 3000);
    spec.n_keys = 20;
    spec.n_queries = 5;
    CHECK_OK(lc_task_generate(&spec, tok, 8, &s, &err), &err);
    if (s.ids) check_sample(tok, &spec, &s, max_sent, exact_text, "multiquery 20/5");
    lc_task_sample_free(&s);
}

static void test_determinism(const lc_tokenizer *tok) {
    lc_error err;
    for (int k = 0; k < LC_TASK_COUNT; k++) {
        lc_task_spec spec;
        lc_task_spec_init(&spec, (lc_task_kind)k, 700);
        lc_task_sample a, b, c;
        CHECK_OK(lc_task_generate(&spec, tok, 123, &a, &err), &err);
        CHECK_OK(lc_task_generate(&spec, tok, 123, &b, &err), &err);
        CHECK_OK(lc_task_generate(&spec, tok, 124, &c, &err), &err);
        if (a.ids && b.ids && c.ids) {
            CHECK(sample_hash(&a) == sample_hash(&b) && a.n_tokens == b.n_tokens, "%s: same seed, same sample",
                  lc_task_kind_name((lc_task_kind)k));
            CHECK(sample_hash(&a) != sample_hash(&c), "%s: other seed, other sample", lc_task_kind_name((lc_task_kind)k));
            if (k != LC_TASK_FILLER) CHECK(strcmp(a.answer, c.answer) != 0, "other seed, other answer");
        }
        lc_task_sample_free(&a);
        lc_task_sample_free(&b);
        lc_task_sample_free(&c);
    }
    /* across machines: the generator uses integer arithmetic only, so these
     * fingerprints hold everywhere. They change when the word lists or
     * templates change (then regenerate with LC_PRINT_GOLDEN=1 and say so). */
    size_t n = lc_filler_text(2024, 200, NULL, 0);
    char *text = malloc(n + 1);
    uint64_t h_filler = 0;
    if (text) {
        lc_filler_text(2024, 200, text, n + 1);
        h_filler = fnv(text, n, 0xcbf29ce484222325ull);
        free(text);
    }
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_VT, 400);
    spec.n_chains = 2;
    spec.depth = 0.5;
    lc_task_sample s;
    CHECK_OK(lc_task_generate(&spec, tok, 2024, &s, &err), &err);
    uint64_t h_vt = s.ids ? sample_hash(&s) : 0;
    lc_task_sample_free(&s);
    if (getenv("LC_PRINT_GOLDEN")) fprintf(stderr, "golden: filler %016llx vt %016llx\n", (unsigned long long)h_filler,
                                           (unsigned long long)h_vt);
    CHECK(h_filler == 0x4934ff9c55a9acd3ull, "filler fingerprint %016llx", (unsigned long long)h_filler);
    CHECK(h_vt == 0x6fe198aee9852cd4ull, "vt sample fingerprint %016llx", (unsigned long long)h_vt);
}

/* ---- Haystack --------------------------------------------------------------- */

static void test_haystack(const lc_tokenizer *tok) {
    lc_error err;
    const char *text = "Title of the essay\n\n"
                       "The first sentence is here.  The second one\n  spans two lines! Is this the third?\n\n"
                       "A paragraph without a final period\n\nLast words of the text.";
    lc_haystack *h;
    CHECK_OK(lc_haystack_create(text, strlen(text), &h, &err), &err);
    if (!h) return;
    CHECK(lc_haystack_n_sentences(h) == 6, "6 sentences, got %lld", (long long)lc_haystack_n_sentences(h));
    lc_task_spec spec;
    lc_task_spec_init(&spec, LC_TASK_PASSKEY, 400);
    spec.haystack = h;
    int max_sent = 40;
    lc_task_sample s;
    CHECK_OK(lc_task_generate(&spec, tok, 3, &s, &err), &err);
    if (s.ids) {
        check_sample(tok, &spec, &s, max_sent, true, "haystack passkey");
        CHECK(strstr(s.prompt, "The second one spans two lines! Is this the third?") != NULL, "sentences joined: %.200s",
              s.prompt);
        CHECK(s.n_tokens >= 400 - 3, "user haystack: cut at a word to fit (%lld tokens)", (long long)s.n_tokens);
    }
    lc_task_sample_free(&s);
    spec.exact = true;
    CHECK_OK(lc_task_generate(&spec, tok, 4, &s, &err), &err);
    if (s.ids) check_sample(tok, &spec, &s, max_sent, true, "haystack passkey exact");
    lc_task_sample_free(&s);
    lc_haystack_free(h);
    /* long runs without stops, NULs, no sentence at all */
    size_t big = 5000;
    char *t = malloc(big);
    if (t) {
        for (size_t i = 0; i < big; i++) t[i] = (char)('a' + i % 26);
        t[100] = '\0';
        CHECK_OK(lc_haystack_create(t, big, &h, &err), &err);
        if (h) {
            CHECK(lc_haystack_n_sentences(h) >= 4, "a 5000-byte run is cut into sentences");
            for (int64_t i = 0; i < h->n; i++) CHECK(h->len[i] <= 1024, "sentence %lld: %zu bytes", (long long)i, h->len[i]);
            lc_haystack_free(h);
        }
        memset(t, ' ', big);
        CHECK(lc_haystack_create(t, big, &h, &err) == LC_ERR_INVALID_ARG, "white space only: %s", err.msg);
        free(t);
    }
    CHECK(lc_haystack_load("/nonexistent/haystack.txt", &h, &err) == LC_ERR_IO, "missing file: %s", err.msg);
}

/* The multikey keys: enough of them, distinct, lower-case words. */
static void test_keys(void) {
    CHECK(lc_wl_keys.n >= LC_TASK_MAX_KEYS, "%zu keys for up to %d needles", lc_wl_keys.n, LC_TASK_MAX_KEYS);
    for (size_t i = 0; i < lc_wl_keys.n; i++) {
        const char *k = lc_wl_keys.items[i];
        bool lower = *k != '\0';
        for (const char *c = k; *c; c++) lower &= *c >= 'a' && *c <= 'z';
        CHECK(lower && strlen(k) <= 40, "key '%s'", k);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(k, lc_wl_keys.items[j]) != 0, "key '%s' twice", k);
    }
}

/* Untrusted inputs: random bytes as a haystack, random mixture strings. */
static void test_random_inputs(void) {
    lc_rng r;
    lc_rng_seed(&r, 4242);
    lc_error err;
    int n_cases = lc_test_quick() ? 100 : 1000;
    char buf[4096];
    static const char alphabet[] = "ab .!?\n\n\t\r\0xyz\xe4\xb8\xad";
    for (int c = 0; c < n_cases; c++) {
        size_t n = (size_t)lc_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = c % 2 ? (char)lc_rng_below(&r, 256) : alphabet[lc_rng_below(&r, sizeof alphabet - 1)];
        if (c % 50 == 0) memset(buf, 'x', n); /* runs without a stop */
        lc_haystack *h = NULL;
        lc_status st = lc_haystack_create(buf, n, &h, &err);
        CHECK(st == LC_OK || st == LC_ERR_INVALID_ARG, "haystack case %d: %s", c, err.msg);
        if (st != LC_OK) continue;
        for (int64_t i = 0; i < h->n; i++) {
            const char *t = h->text + h->off[i];
            size_t l = h->len[i];
            CHECK(l > 0 && l <= 1024 && strlen(t) == l, "case %d sentence %lld: %zu bytes", c, (long long)i, l);
            CHECK(t[0] != ' ' && t[l - 1] != ' ' && !strstr(t, "  ") && !strchr(t, '\n') && !strchr(t, '\t'),
                  "case %d sentence %lld is normalised", c, (long long)i);
        }
        lc_haystack_free(h);
    }
    static const char pieces[][12] = {"passkey", "vt", "filler", ":", ",", "=", "0.5", "hops", "keys", "-1", "1e9", "x"};
    for (int c = 0; c < n_cases; c++) {
        char mix[256] = "";
        int k = (int)lc_rng_below(&r, 12);
        for (int i = 0; i < k; i++) strcat(mix, pieces[lc_rng_below(&r, LC_ARRAY_LEN(pieces))]);
        lc_task_mix m;
        lc_status st = lc_task_mix_parse(mix, &m, &err);
        CHECK(st == LC_OK || st == LC_ERR_INVALID_ARG, "mix '%s'", mix);
        if (st == LC_OK) {
            double sum = 0;
            for (int i = 0; i < m.n; i++) sum += m.weights[i];
            CHECK(m.n >= 1 && fabs(sum - 1.0) < 1e-9, "mix '%s' normalised", mix);
        }
    }
}

/* ---- Errors ------------------------------------------------------------------ */

static void test_errors(const lc_tokenizer *tok) {
    lc_error err;
    lc_task_spec spec;
    lc_task_sample s;
    struct {
        int what;
        lc_status want;
    } cases[] = {{0, LC_ERR_INVALID_ARG}, {1, LC_ERR_INVALID_ARG}, {2, LC_ERR_INVALID_ARG}, {3, LC_ERR_INVALID_ARG},
                 {4, LC_ERR_INVALID_ARG}, {5, LC_ERR_INVALID_ARG}, {6, LC_ERR_INVALID_ARG}, {7, LC_ERR_INVALID_ARG}};
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        lc_task_spec_init(&spec, LC_TASK_PASSKEY, 256);
        switch (cases[i].what) {
        case 0: spec.n_tokens = 0; break;
        case 1: spec.n_tokens = LC_TASK_MAX_TOKENS + 1; break;
        case 2: spec.depth = 1.5; break;
        case 3: spec.depth = NAN; break;
        case 4: spec.digits = 0; break;
        case 5: spec.kind = LC_TASK_MULTIQUERY, spec.n_queries = 9, spec.n_keys = 4; break;
        case 6: spec.n_tokens = 20; break; /* the needle alone is longer */
        case 7: spec.kind = LC_TASK_MULTIVALUE, spec.digits = 1, spec.n_values = 20; break;
        }
        lc_status st = lc_task_generate(&spec, tok, 1, &s, &err);
        CHECK(st == cases[i].want, "case %d: %s: %s", cases[i].what, lc_status_str(st), err.msg);
        CHECK(s.ids == NULL && s.n_tokens == 0, "case %d: nothing returned", cases[i].what);
        lc_task_sample_free(&s);
    }
    lc_task_spec_init(&spec, LC_TASK_VT, 40);
    spec.n_hops = 10;
    CHECK(lc_task_generate(&spec, tok, 1, &s, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "tokens"),
          "vt does not fit: %s", err.msg);
    CHECK(lc_task_generate(NULL, tok, 1, &s, &err) == LC_ERR_INVALID_ARG, "NULL spec");
    CHECK(lc_task_generate(&spec, NULL, 1, &s, &err) == LC_ERR_INVALID_ARG, "NULL tokenizer");
}

/* ---- Mixtures and the stream ------------------------------------------------ */

static void test_mix(void) {
    lc_task_mix m;
    lc_error err;
    CHECK_OK(lc_task_mix_parse("passkey:0.4,multikey:0.2,vt:0.2,filler:0.2", &m, &err), &err);
    CHECK(m.n == 4 && m.specs[2].kind == LC_TASK_VT, "4 entries");
    CHECK(fabs(m.weights[0] - 0.4) < 1e-12 && fabs(m.weights[3] - 0.2) < 1e-12, "weights");
    CHECK_OK(lc_task_mix_parse("vt:3:hops=2:chains=3,passkey:digits=7,multiquery:1:keys=6:queries=3:depth=0.25", &m, &err),
             &err);
    CHECK(m.n == 3 && m.specs[0].n_hops == 2 && m.specs[0].n_chains == 3 && m.specs[1].digits == 7 &&
              m.specs[2].n_keys == 6 && m.specs[2].n_queries == 3 && m.specs[2].depth == 0.25,
          "options");
    CHECK(fabs(m.weights[0] - 0.6) < 1e-12 && fabs(m.weights[1] - 0.2) < 1e-12, "default weight 1, normalised");
    /* format -> parse gives the same mixture */
    char buf[1024];
    size_t need = lc_task_mix_format(&m, buf, sizeof buf);
    CHECK(need == strlen(buf), "format length");
    lc_task_mix m2;
    CHECK_OK(lc_task_mix_parse(buf, &m2, &err), &err);
    CHECK(m2.n == m.n, "round trip: %s", buf);
    for (int i = 0; i < m.n && i < m2.n; i++)
        CHECK(m2.weights[i] == m.weights[i] && m2.specs[i].kind == m.specs[i].kind &&
                  m2.specs[i].n_hops == m.specs[i].n_hops && m2.specs[i].digits == m.specs[i].digits &&
                  m2.specs[i].n_queries == m.specs[i].n_queries && m2.specs[i].depth == m.specs[i].depth,
              "round trip entry %d: %s", i, buf);
    const char *bad[] = {"", "bogus:1", "passkey:-1", "passkey:0", "passkey:abc", "vt:1:hops=x", "vt:1:color=3",
                         "multiquery:1:keys=2:queries=3", "passkey:1:depth=2", ",", "passkey:1e999"};
    for (size_t i = 0; i < LC_ARRAY_LEN(bad); i++)
        CHECK(lc_task_mix_parse(bad[i], &m, &err) == LC_ERR_INVALID_ARG, "'%s' refused (%s)", bad[i], err.msg);
}

static void test_stream(const lc_tokenizer *tok) {
    lc_error err;
    lc_task_stream_config cfg;
    lc_task_stream_config_init(&cfg);
    CHECK_OK(lc_task_mix_parse("passkey:0.4,multikey:0.2,vt:0.2:hops=2,filler:0.2", &cfg.mix, &err), &err);
    cfg.seq_len = lc_test_quick() ? 128 : 512;
    cfg.seed = 99;
    cfg.role_weight[LC_ROLE_ANSWER] = 5.0f;
    cfg.role_weight[LC_ROLE_FILLER] = 0.5f;
    lc_task_stream *s;
    CHECK_OK(lc_task_stream_create(&cfg, tok, &s, &err), &err);
    if (!s) return;
    const int64_t T = cfg.seq_len, B = 4, steps = 6;
    size_t nt = (size_t)(B * (T + 1) * steps);
    int32_t *tok_all = malloc(nt * sizeof *tok_all), *again = malloc(nt * sizeof *again);
    uint8_t *roles = malloc((size_t)(B * (T + 1)));
    float *w = malloc((size_t)(B * T) * sizeof *w);
    if (!tok_all || !again || !roles || !w) return;
    int kinds[LC_TASK_COUNT] = {0};
    for (int64_t st = 0; st < steps; st++) {
        CHECK_OK(lc_task_stream_next(s, B, tok_all + st * B * (T + 1), roles, w, &err), &err);
        for (int64_t b = 0; b < B; b++) {
            const int32_t *row = tok_all + (st * B + b) * (T + 1);
            const uint8_t *rr = roles + b * (T + 1);
            CHECK(row[0] == lc_tokenizer_bos(tok), "row starts with BOS");
            for (int64_t t = 0; t <= T; t++) CHECK(row[t] >= 0 && row[t] < lc_tokenizer_n_vocab(tok), "id range");
            for (int64_t t = 0; t < T; t++) CHECK(w[b * T + t] == cfg.role_weight[rr[t + 1]], "weight of target %lld", (long long)t);
            lc_task_kind k = lc_task_stream_kind_at(s, st * B + b);
            kinds[k]++;
            int64_t answer = 0;
            for (int64_t t = 0; t <= T; t++) answer += rr[t] == LC_ROLE_ANSWER;
            CHECK((answer > 0) == (k != LC_TASK_FILLER), "row %lld (%s) answer tokens %lld", (long long)(st * B + b),
                  lc_task_kind_name(k), (long long)answer);
            if (k != LC_TASK_FILLER) CHECK(rr[T] == LC_ROLE_EOS, "a task row ends with EOS");
        }
    }
    CHECK(lc_task_stream_position(s) == B * steps, "position");
    /* seek back and replay: identical rows */
    CHECK_OK(lc_task_stream_seek(s, 2 * B, &err), &err);
    for (int64_t st = 2; st < steps; st++) CHECK_OK(lc_task_stream_next(s, B, again + st * B * (T + 1), NULL, NULL, &err), &err);
    CHECK(memcmp(again + 2 * B * (T + 1), tok_all + 2 * B * (T + 1), (size_t)((steps - 2) * B * (T + 1)) * sizeof(int32_t)) == 0,
          "replay after seek is identical");
    /* a fresh stream at the saved position continues identically; batch size does not matter */
    lc_task_stream *s2;
    CHECK_OK(lc_task_stream_create(&cfg, tok, &s2, &err), &err);
    if (s2) {
        CHECK_OK(lc_task_stream_seek(s2, 3, &err), &err);
        CHECK_OK(lc_task_stream_next(s2, 5, again, NULL, NULL, &err), &err);
        CHECK(memcmp(again, tok_all + 3 * (T + 1), (size_t)(5 * (T + 1)) * sizeof(int32_t)) == 0, "rows are a function of position");
        lc_task_stream_free(s2);
    }
    /* another seed: other rows */
    cfg.seed = 100;
    CHECK_OK(lc_task_stream_create(&cfg, tok, &s2, &err), &err);
    if (s2) {
        CHECK_OK(lc_task_stream_next(s2, B, again, NULL, NULL, &err), &err);
        CHECK(memcmp(again, tok_all, (size_t)(B * (T + 1)) * sizeof(int32_t)) != 0, "seed changes rows");
        lc_task_stream_free(s2);
    }
    /* the mixture's proportions over many rows (kind draws only: cheap) */
    int64_t n_rows = 20000, hist[LC_TASK_COUNT] = {0};
    for (int64_t r = 0; r < n_rows; r++) hist[lc_task_stream_kind_at(s, r)]++;
    double expect[LC_TASK_COUNT] = {0};
    expect[LC_TASK_PASSKEY] = 0.4, expect[LC_TASK_MULTIKEY] = 0.2, expect[LC_TASK_VT] = 0.2, expect[LC_TASK_FILLER] = 0.2;
    for (int k = 0; k < LC_TASK_COUNT; k++) {
        double f = (double)hist[k] / (double)n_rows;
        CHECK(fabs(f - expect[k]) < 0.02, "%s: fraction %.3f, weight %.2f", lc_task_kind_name((lc_task_kind)k), f, expect[k]);
    }
    (void)kinds;
    lc_task_stream_free(s);
    /* T too small for the task: refused at creation with a clear message */
    lc_task_stream_config_init(&cfg);
    CHECK_OK(lc_task_mix_parse("vt:1:hops=10:chains=4", &cfg.mix, &err), &err);
    cfg.seq_len = 64;
    CHECK(lc_task_stream_create(&cfg, tok, &s2, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "vt"), "vt in 65 tokens: %s",
          err.msg);
    cfg.seq_len = 0;
    CHECK(lc_task_stream_create(&cfg, tok, &s2, &err) == LC_ERR_INVALID_ARG, "T = 0");
    free(tok_all);
    free(again);
    free(roles);
    free(w);
}

/* ---- Scoring -------------------------------------------------------------- */

static void test_score(void) {
    const char *g;
#define S(kind, exp, gen) lc_task_score(kind, exp, gen, strlen(gen))
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 68392") == 1.0, "exact");
    CHECK(S(LC_TASK_PASSKEY, " 68392", "68392") == 1.0, "no leading space");
    CHECK(S(LC_TASK_PASSKEY, " 68392", "   68392  \t") == 1.0, "white space around");
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 68392. Remember it.") == 1.0, "stops at the period");
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 68392\nThe grass is green") == 1.0, "stops at the newline");
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 68393") == 0.0, "wrong digit");
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 683921") == 0.0, "extra digit");
    CHECK(S(LC_TASK_PASSKEY, " 68392", " 6839") == 0.0, "missing digit");
    CHECK(S(LC_TASK_PASSKEY, " 68392", "") == 0.0, "empty");
    CHECK(S(LC_TASK_PASSKEY, " 68392", "the key is 68392") == 0.0, "exact match, not containment");
    CHECK(S(LC_TASK_MULTIKEY, " 4821", " 4821.") == 1.0, "multikey");
    g = " 4821, 9123, 5531";
    CHECK(S(LC_TASK_MULTIVALUE, " 4821, 9123, 5531", g) == 1.0, "set exact");
    CHECK(S(LC_TASK_MULTIVALUE, " 4821, 9123, 5531", " 5531, 4821 and 9123.") == 1.0, "set, any order and separators");
    CHECK(S(LC_TASK_MULTIVALUE, " 4821, 9123, 5531", " 5531, 4821") == 0.0, "set, one missing");
    CHECK(S(LC_TASK_MULTIVALUE, " 4821, 9123, 5531", " 5531, 4821, 9123, 7777") == 0.0, "set, one extra");
    CHECK(S(LC_TASK_MULTIQUERY, " 4821, 9123", "4821 9123\n7777") == 1.0, "set stops at the newline");
    CHECK(fabs(lc_task_recall(LC_TASK_MULTIVALUE, " 4821, 9123, 5531", " 5531", 5) - 1.0 / 3) < 1e-12, "recall 1/3");
    CHECK(S(LC_TASK_VT, " QWXZA BCDEF", " BCDEF QWXZA") == 1.0, "vt any order");
    CHECK(S(LC_TASK_VT, " QWXZA BCDEF", " QWXZA, BCDEF.") == 1.0, "vt separators");
    CHECK(S(LC_TASK_VT, " QWXZA BCDEF", " QWXZA") == 0.0, "vt missing");
    CHECK(S(LC_TASK_VT, " QWXZA BCDEF", " QWXZA BCDEF KLMNO") == 0.0, "vt extra");
    CHECK(S(LC_TASK_VT, " QWXZA BCDEF", " The QWXZA BCDEF") == 1.0, "vt: capitalised words are not names");
    CHECK(lc_task_recall(LC_TASK_VT, " QWXZA BCDEF", " QWXZA KLMNO", 12) == 0.5, "vt recall");
    CHECK(S(LC_TASK_FILLER, "", "anything") == 0.0, "filler scores 0");
    CHECK(lc_task_score(LC_TASK_PASSKEY, " 68392", " 68392 and more", 6) == 1.0, "generated_len bounds the text");
#undef S
}

/* ---- Real vocabularies ------------------------------------------------------ */

static lc_tokenizer *open_gguf_vocab(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/%s", LC_SHARED_DIR, name);
    lc_gguf *g;
    lc_error err;
    lc_tokenizer *t = NULL;
    if (lc_gguf_open(path, &g, &err) != LC_OK) return NULL;
    if (lc_tokenizer_from_gguf(g, &t, &err) != LC_OK) t = NULL;
    lc_gguf_close(g);
    return t;
}

static void test_real_vocabs(void) {
    struct stat sb;
    if (stat(LC_SHARED_DIR, &sb) != 0) {
        fprintf(stderr, "note: %s is absent: tasks with real vocabularies not checked\n", LC_SHARED_DIR);
        return;
    }
    const char *names[] = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"};
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        lc_tokenizer *t = open_gguf_vocab(names[i]);
        CHECK(t != NULL, "open %s", names[i]);
        if (!t) continue;
        int max_sent = max_sentence_tokens(t);
        lc_error err;
        for (int k = 0; k < LC_TASK_COUNT; k++) {
            lc_task_spec spec;
            lc_task_spec_init(&spec, (lc_task_kind)k, lc_test_quick() ? 600 : 2000);
            spec.depth = 0.3;
            for (int exact = 0; exact < 2; exact++) {
                spec.exact = exact;
                lc_task_sample s;
                char what[128];
                snprintf(what, sizeof what, "%s %s%s", names[i], lc_task_kind_name((lc_task_kind)k), exact ? " exact" : "");
                CHECK_OK(lc_task_generate(&spec, t, 31, &s, &err), &err);
                if (s.ids) check_sample(t, &spec, &s, max_sent, true, what);
                lc_task_sample_free(&s);
            }
        }
        lc_tokenizer_free(t);
    }
}

int main(void) {
    lc_tokenizer *tok = NULL;
    lc_error err;
    test_vocab();
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (!tok) return lc_test_finish("test_tasks");
    CHECK(lc_tokenizer_n_vocab(tok) == LC_TASKS_VOCAB_SIZE, "n_vocab");
    test_tokenizer(tok);
    test_filler();
    test_kinds(tok, true, "synthetic");
    test_determinism(tok);
    test_haystack(tok);
    test_keys();
    test_random_inputs();
    test_errors(tok);
    test_mix();
    test_stream(tok);
    test_score();
    test_real_vocabs();
    lc_tokenizer_free(tok);
    return lc_test_finish("test_tasks");
}
