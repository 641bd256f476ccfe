/*
 * Grammars: GBNF parse errors (with positions), sentences accepted and
 * refused (against POSIX regular expressions as an independent oracle for
 * regular grammars), left recursion refused, UTF-8 handled byte by byte, the
 * vocabulary mask equal to checking every token one by one, the sampler
 * constraint, and — with a real 128K vocabulary and a "model" of random
 * logits, so the grammar alone shapes the text — 100 seeds of output per
 * JSON Schema, each parsed by cJSON and validated against its schema by a
 * validator written here; json_object mode parses.
 */
#include <regex.h>
#include <stdint.h>

#include "grammar/grammar_internal.h"
#include "longctx/gguf.h"
#include "longctx/grammar.h"
#include "longctx/sample.h"
#include "longctx/tokenizer.h"
#include "test_util.h"

#if defined(LC_HAVE_JSON_SCHEMA)
#include <cjson/cJSON.h>
#endif

static int quick(void) { return lc_test_quick(); }

static lc_grammar *parse(const char *text, lc_error *err) {
    lc_grammar *g = NULL;
    if (lc_grammar_parse(text, strlen(text), NULL, &g, err) != LC_OK) return NULL;
    return g;
}

static int matches(const lc_grammar *g, const char *s, size_t n) {
    bool m = false;
    lc_error err;
    if (lc_grammar_match(g, s, n, &m, &err) != LC_OK) {
        fprintf(stderr, "match error: %s\n", err.msg);
        return -1;
    }
    return m;
}

/* ---- parse errors ---------------------------------------------------------- */

static void test_parse_errors(void) {
    static const struct {
        const char *text, *want;
        lc_status st;
    } cases[] = {
        {"root ::= \"abc", "grammar:1:10: unterminated string literal", LC_ERR_FORMAT},
        {"root ::= [a-", "grammar:1:10: unterminated character class", LC_ERR_FORMAT},
        {"root ::= foo", "grammar:1:10: undefined rule 'foo'", LC_ERR_FORMAT},
        {"root ::= \"a\"\nroot ::= \"b\"", "grammar:2:1: rule 'root' is defined twice (first at 1:1)", LC_ERR_FORMAT},
        {"root \"a\"", "grammar:1:6: expected '::=' after the rule name 'root'", LC_ERR_FORMAT},
        {"root ::= ( \"a\"", "grammar:1:15: expected ')'", LC_ERR_FORMAT},
        {"root ::= \"a\"{3,1}", "grammar:1:13: repetition {3,1}", LC_ERR_FORMAT},
        {"root ::= *", "grammar:1:10: '*' with nothing before it", LC_ERR_FORMAT},
        {"root ::= \"\\q\"", "grammar:1:11: unknown escape \\q", LC_ERR_FORMAT},
        {"root ::= [z-a]", "grammar:1:11: reversed range", LC_ERR_FORMAT},
        {"a ::= \"x\"", "no rule named 'root'", LC_ERR_FORMAT},
        {"  # only a comment\n", "grammar:2:1: empty grammar", LC_ERR_FORMAT},
        {"root ::= \"a\" )", "grammar:1:14: unexpected ')' in rule 'root'", LC_ERR_FORMAT},
        {"root ::= \"a\"{99999}", "repetition count above", LC_ERR_TOO_LARGE},
        {"root ::= \"ab\"{2000}{2000}", "grammar too large", LC_ERR_TOO_LARGE},
        {"root ::= \"\\x4\"", "grammar:1:11: \\x needs 2 hex digits", LC_ERR_FORMAT},
        {"root ::= \"\\UFFFFFFFF\"", "beyond U+10FFFF", LC_ERR_FORMAT},
        {"root ::= \"\xff\"", "grammar:1:11: invalid UTF-8", LC_ERR_FORMAT},
        {"root ::= <x>", "unexpected '<'", LC_ERR_FORMAT},
        {"root ::= x\nx ::= \"a\"\n  \"b\"", "grammar:3:3: expected a rule name", LC_ERR_FORMAT},
        /* left recursion: direct, through a nullable prefix, indirect */
        {"root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]",
         "grammar:2:1: left recursion: rule 'expr'", LC_ERR_FORMAT},
        {"root ::= a\na ::= \"x\"? a \"y\" | \"z\"", "grammar:2:1: left recursion: rule 'a'", LC_ERR_FORMAT},
        {"root ::= a\na ::= b \"x\"\nb ::= c? a | \"y\"\nc ::= \"z\"", "left recursion: rule 'a'", LC_ERR_FORMAT},
        {"root ::= ( root \"x\" )?", "left recursion: rule 'root'", LC_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lc_error err;
        memset(&err, 0, sizeof err);
        lc_grammar *g = NULL;
        lc_status st = lc_grammar_parse(cases[i].text, strlen(cases[i].text), NULL, &g, &err);
        CHECK(st == cases[i].st && g == NULL, "case %zu: status %s (%s)", i, lc_status_str(st), err.msg);
        CHECK(strstr(err.msg, cases[i].want) != NULL, "case %zu: message '%s', expected '%s'", i, err.msg, cases[i].want);
        lc_grammar_free(g);
    }
    /* another start rule by name */
    lc_grammar *g = NULL;
    lc_error err;
    CHECK_OK(lc_grammar_parse("a ::= \"x\" b\nb ::= \"y\"", 21, "a", &g, &err), &err);
    CHECK(g && matches(g, "xy", 2) == 1, "start rule a");
    lc_grammar_free(g);
}

/* ---- sentences ------------------------------------------------------------- */

static void expect(const char *grammar, const char *const *yes, const char *const *no) {
    lc_error err;
    lc_grammar *g = parse(grammar, &err);
    CHECK(g != NULL, "grammar refused: %s\n%s", err.msg, grammar);
    if (!g) return;
    for (; yes && *yes; yes++) CHECK(matches(g, *yes, strlen(*yes)) == 1, "'%s' should match\n%s", *yes, grammar);
    for (; no && *no; no++) CHECK(matches(g, *no, strlen(*no)) == 0, "'%s' should not match\n%s", *no, grammar);
    lc_grammar_free(g);
}

static void test_sentences(void) {
    expect("root ::= expr\n"
           "expr ::= term ((\"+\" | \"-\") term)*\n"
           "term ::= factor ((\"*\" | \"/\") factor)*\n"
           "factor ::= [0-9]+ | \"(\" expr \")\"",
           (const char *[]){"1+2*(3-4)", "((7))", "12/3-0", NULL},
           (const char *[]){"1+", "(1", "", "1++2", "()", " 1", NULL});
    expect("root ::= \"a\"{2,4}", (const char *[]){"aa", "aaa", "aaaa", NULL}, (const char *[]){"", "a", "aaaaa", NULL});
    expect("root ::= \"ab\"{3}", (const char *[]){"ababab", NULL}, (const char *[]){"abab", "abababab", NULL});
    expect("root ::= [x]{2,} \"y\"{,2}", (const char *[]){"xx", "xxxxxy", "xxyy", NULL},
           (const char *[]){"x", "xxyyy", "y", NULL});
    expect("root ::= [^a-z]+ \"\xc3\xa9\" [\\u4E00-\\u9FFF]", (const char *[]){"AB\xc3\xa9\xe4\xb8\xad", NULL},
           (const char *[]){"a\xc3\xa9\xe4\xb8\xad", "AB\xc3\xa9", "AB\xc3\xa9z", "AB\xc3\xa9\xe4\xb8", NULL});
    expect("root ::= \"<\" .* \">\"", (const char *[]){"<ab>", "<a>b>", "<>", "<\xf0\x9f\x98\x80>", NULL},
           (const char *[]){"<ab", "ab>", "<\xff>", "<\xc0\x80>", "<\xed\xa0\x80>", NULL});
    expect("# a comment line\n"
           "root ::= item+   # trailing comment\n"
           "item ::=\n"
           "    \"x\"\n"
           "  | \"y\" # between alternatives\n"
           "  | ( \"z\"\n"
           "      \"w\" )\n",
           (const char *[]){"x", "xyzw", "zwzw", NULL}, (const char *[]){"", "z", "w", NULL});
    expect("root ::= \"\\x41\\u00e9\\t\\\"\\\\\" [\\]\\[\\-] [-a] [a-]",
           (const char *[]){"A\xc3\xa9\t\"\\]-a", "A\xc3\xa9\t\"\\[a-", NULL}, (const char *[]){"A\xc3\xa9\t\"\\]b-", NULL});
    expect("root ::= [^\"\\\\\\x00-\\x1F]*", (const char *[]){"", "abc", "\xe2\x82\xac", NULL},
           (const char *[]){"a\"", "\\", "\n", NULL});
    /* a nullable item under * (tail recursion that reads nothing) is fine */
    expect("root ::= (\"a\"?)* \"b\"", (const char *[]){"b", "ab", "aaab", NULL}, (const char *[]){"", "a", "ba", NULL});
    expect("root ::= a\na ::= b\nb ::= a | \"q\"", (const char *[]){"q", NULL}, (const char *[]){"", "qq", NULL});
    /* an empty alternative; an empty group; an empty root */
    expect("root ::= \"x\" ( | \"y\" ) ()", (const char *[]){"x", "xy", NULL}, (const char *[]){"y", "xyy", NULL});
    expect("root ::= ", (const char *[]){"", NULL}, (const char *[]){"a", NULL});
    /* right recursion of any depth */
    expect("root ::= \"(\" root \")\" | \"x\"", (const char *[]){"x", "((((((((((x))))))))))", NULL},
           (const char *[]){"((x)", "(x))", NULL});
    expect(lc_grammar_json_value_gbnf(),
           (const char *[]){"{\"a\": [1, -2.5e3, true, null, \"x\\n\\u00e9\"]}", "[]", "0", "\"\"", "-0.0E+1",
                            "{ }", NULL},
           (const char *[]){"{a:1}", "[1,]", "01", "\"\\x\"", "\"\\ud800\"", "\"a\nb\"", "tru", "1.", NULL});
    expect(lc_grammar_json_object_gbnf(), (const char *[]){"{\"k\":{}}", NULL}, (const char *[]){"[]", "1", NULL});
}

/* Regular grammars against POSIX extended regular expressions: every string
 * over {a, b, c} up to length 7. */
static void test_against_regex(void) {
    static const struct {
        const char *gbnf, *ere;
    } pairs[] = {
        {"root ::= (\"ab\" | \"a\")* \"b\"?", "^(ab|a)*b?$"},
        {"root ::= [ab]{2,3} \"c\"+ | \"cab\"", "^([ab]{2,3}c+|cab)$"},
        {"root ::= x y\nx ::= \"a\"* \ny ::= (\"b\" | \"c\" \"a\"?)+", "^a*(b|ca?)+$"},
        {"root ::= [^b]? \"b\"{1,2} [a-c]{0,2}", "^[^b]?b{1,2}[a-c]{0,2}$"},
        {"root ::= ((\"a\" | \"bc\")? \"c\")*", "^((a|bc)?c)*$"},
        {"root ::= \"a\" r\nr ::= \"b\" r | \"c\"", "^ab*c$"},
    };
    int compared = 0, mismatches = 0;
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        lc_error err;
        lc_grammar *g = parse(pairs[k].gbnf, &err);
        regex_t re;
        const int rc = regcomp(&re, pairs[k].ere, REG_EXTENDED | REG_NOSUB);
        CHECK(g && rc == 0, "pair %zu: %s", k, g ? "regcomp failed" : err.msg);
        if (!g || rc != 0) {
            lc_grammar_free(g);
            if (rc == 0) regfree(&re);
            continue;
        }
        char s[8];
        for (int len = 0; len <= 7; len++) {
            int total = 1;
            for (int i = 0; i < len; i++) total *= 3;
            for (int code = 0; code < total; code++) {
                for (int i = 0, c = code; i < len; i++, c /= 3) s[i] = (char)('a' + c % 3);
                s[len] = '\0';
                const int want = regexec(&re, s, 0, NULL, 0) == 0;
                const int got = matches(g, s, (size_t)len);
                compared++;
                if (got != want && mismatches++ < 10)
                    fprintf(stderr, "regex mismatch: '%s' grammar %d regex %d (%s)\n", s, got, want, pairs[k].ere);
            }
        }
        regfree(&re);
        lc_grammar_free(g);
    }
    CHECK(mismatches == 0, "%d of %d strings disagree with the regular expressions", mismatches, compared);
}

/* ---- byte-level state ------------------------------------------------------- */

static void test_state_bytes(void) {
    lc_error err;
    lc_grammar *g = parse("root ::= \"x\" [\\u00e0-\\u00ff] \"y\"", &err);
    CHECK(g, "%s", err.msg);
    if (!g) return;
    lc_grammar_state *s = NULL;
    CHECK_OK(lc_grammar_state_create(g, NULL, &s, &err), &err);
    if (s) {
        CHECK_OK(lc_grammar_state_feed(s, "x\xc3", 2, &err), &err); /* é = C3 A9, a character cut in two */
        CHECK(!lc_grammar_state_complete(s), "incomplete");
        CHECK(lc_grammar_state_feed(s, "\x28", 1, &err) == LC_ERR_INVALID_ARG, "not a continuation byte");
        CHECK_OK(lc_grammar_state_feed(s, "\xa9", 1, &err), &err);
        CHECK(lc_grammar_state_feed(s, "z", 1, &err) == LC_ERR_INVALID_ARG, "z refused");
        CHECK_OK(lc_grammar_state_feed(s, "y", 1, &err), &err);
        CHECK(lc_grammar_state_complete(s), "complete");
        CHECK_OK(lc_grammar_state_reset(s, &err), &err);
        /* U+0100 starts with C4: no character of the class does */
        CHECK(lc_grammar_state_feed(s, "x\xc4", 2, &err) == LC_ERR_INVALID_ARG, "C4 cannot start [U+00E0-U+00FF]");
        CHECK(lc_grammar_state_feed(s, "x\xc2", 2, &err) == LC_ERR_INVALID_ARG, "C2 cannot start it either");
        CHECK_OK(lc_grammar_state_feed(s, "x", 1, &err), &err);
        CHECK(lc_grammar_state_n_stacks(s) == 1, "one stack, %d", lc_grammar_state_n_stacks(s));
    }
    lc_grammar_state_free(s);
    lc_grammar_free(g);

    /* an ambiguous grammar keeps one stack per distinct parse, not 2^n */
    g = parse("root ::= (\"a\" | \"a\" | [a])*", &err);
    CHECK(g, "%s", err.msg);
    if (g && lc_grammar_state_create(g, NULL, &s, &err) == LC_OK) {
        for (int i = 0; i < 200; i++) CHECK_OK(lc_grammar_state_feed(s, "a", 1, &err), &err);
        CHECK(lc_grammar_state_n_stacks(s) <= 4, "%d stacks", lc_grammar_state_n_stacks(s));
        CHECK(lc_grammar_state_complete(s), "complete");
        lc_grammar_state_free(s);
    }
    lc_grammar_free(g);
}

/* Size audit: text fed in one piece keeps every byte's stack set until the
 * feed ends. 100 KB to a grammar with ~6,000 live stacks asked for 2.4 GB
 * (out of memory under a 3 GB ulimit) before the stack-set buffer had a
 * bound (LC_GR_MAX_BUF); now such a feed is refused with a message, the
 * state stays as it was, and lc_grammar_match feeds in compacted pieces.
 * The bound is lowered here to reach it in a fraction of a second. */
static void test_feed_buffer_bound(void) {
    const char *src = "root ::= ([a-z]* \" \"?){1500}";
    lc_grammar *g = NULL;
    lc_error err;
    CHECK_OK(lc_grammar_parse(src, strlen(src), "root", &g, &err), &err);
    if (!g) return;
    const size_t n = 1500;
    char *text = malloc(n);
    memset(text, 'x', n);
    lc_grammar_state *s = NULL;
    CHECK_OK(lc_grammar_state_create(g, NULL, &s, &err), &err);
    if (s) {
        lc_gr_state_set_buf_limit(s, (int64_t)1 << 21);
        CHECK_OK(lc_grammar_state_feed(s, text, 16, &err), &err);
        const int32_t stacks = lc_grammar_state_n_stacks(s);
        CHECK(stacks > 1000, "the grammar keeps %d stacks alive, want > 1000 for this test", stacks);
        const lc_status st = lc_grammar_state_feed(s, text, n, &err);
        CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, "smaller pieces"),
              "%zu bytes in one feed (about %lld stack-set entries): status %s (%s), want a refusal", n,
              (long long)n * stacks, lc_status_str(st), st == LC_OK ? "" : err.msg);
        CHECK(lc_grammar_state_n_stacks(s) == stacks, "a refused feed changed the state (%d stacks, was %d)",
              lc_grammar_state_n_stacks(s), stacks);
        lc_status piece = LC_OK;
        for (size_t at = 0; at < n && piece == LC_OK; at += 200)
            piece = lc_grammar_state_feed(s, text + at, LC_MIN(n - at, 200), &err);
        CHECK_OK(piece, &err);
        CHECK(lc_grammar_state_complete(s), "the text fed in pieces is a sentence");
        lc_grammar_state_free(s);
    }
    bool match = false;
    CHECK_OK(lc_grammar_match(g, text, n, &match, &err), &err);
    CHECK(match, "lc_grammar_match of %zu bytes (fed in pieces)", n);
    text[n - 1] = '!';
    CHECK_OK(lc_grammar_match(g, text, n, &match, &err), &err);
    CHECK(!match, "a text with a byte the grammar does not allow at its end matched");
    free(text);
    lc_grammar_free(g);
}

/* ---- token level: a small vocabulary ------------------------------------------ */

/* Both masking walks (the memoised one, and the plain one it falls back to
 * when a walk meets too many distinct sets) against one check per token. */
static void check_mask_equals_checks(lc_grammar_state *s, int32_t V, const char *what) {
    uint8_t *allowed = malloc((size_t)V), *plain = malloc((size_t)V);
    lc_error err;
    int32_t n = -1, n_plain = -2, bad = 0, count = 0;
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    lc_gr_state_set_memo_limits(s, 0, 0);
    CHECK_OK(lc_grammar_allowed_tokens(s, plain, &n_plain, &err), &err);
    lc_gr_state_set_memo_limits(s, 1 << 19, 1 << 18);
    CHECK(n == n_plain && memcmp(allowed, plain, (size_t)V) == 0, "%s: the two walks differ (%d / %d allowed)", what,
          n, n_plain);
    free(plain);
    for (int32_t t = 0; t < V; t++) {
        bool ok = false;
        CHECK_OK(lc_grammar_token_allowed(s, t, &ok, &err), &err);
        count += ok;
        if (ok != (allowed[t] != 0) && bad++ < 5) fprintf(stderr, "%s: token %d mask %d check %d\n", what, t, allowed[t], ok);
    }
    CHECK(bad == 0 && n == count, "%s: %d tokens disagree; mask counts %d, checks %d", what, bad, n, count);
    free(allowed);
}

static void test_small_vocab(void) {
    const char *pieces[] = {"a", "b", "ab", "ba", "abc", "{", "}", "\xc3", "\xa9", "\xc3\xa9", "", "</s>", "aa", "c", "bb"};
    const int32_t V = (int32_t)(sizeof pieces / sizeof pieces[0]);
    const int32_t eog = 11;
    lc_error err;
    lc_grammar_vocab *v = NULL;
    /* piece 11 is EOS: it is never text */
    CHECK_OK(lc_grammar_vocab_from_pieces(V, pieces, NULL, &eog, 1, &v, &err), &err);
    lc_grammar *g = parse("root ::= \"{\" (\"a\" | \"b\")* \"\xc3\xa9\"? \"}\"", &err);
    CHECK(g && v, "%s", err.msg);
    if (!g || !v) {
        lc_grammar_free(g);
        lc_grammar_vocab_free(v);
        return;
    }
    lc_grammar_state *s = NULL;
    CHECK_OK(lc_grammar_state_create(g, v, &s, &err), &err);
    if (!s) return;
    uint8_t allowed[15];
    int32_t n = 0;
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    CHECK(n == 1 && allowed[5], "only '{' first (%d allowed)", n);
    check_mask_equals_checks(s, V, "start");
    CHECK_OK(lc_grammar_accept_token(s, 5, &err), &err);
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    /* a b ab ba } C3 C3A9 aa bb; not: abc { A9 "" </s> c */
    const uint8_t want[15] = {1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1};
    CHECK(memcmp(allowed, want, sizeof want) == 0 && n == 9, "after '{': %d allowed", n);
    check_mask_equals_checks(s, V, "after {");
    CHECK(lc_grammar_accept_token(s, 11, &err) == LC_ERR_INVALID_ARG, "EOS before the end is refused");
    CHECK_OK(lc_grammar_accept_token(s, 7, &err), &err); /* half of é */
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    CHECK(n == 1 && allowed[8], "only the second half of é (%d allowed)", n);
    CHECK_OK(lc_grammar_accept_token(s, 8, &err), &err);
    CHECK_OK(lc_grammar_accept_token(s, 6, &err), &err);
    CHECK(lc_grammar_state_complete(s), "complete after }");
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    CHECK(n == 1 && allowed[11], "only EOS at the end (%d allowed)", n);
    CHECK_OK(lc_grammar_accept_token(s, 11, &err), &err);
    CHECK(lc_grammar_state_ended(s), "ended");
    CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
    CHECK(n == 0, "nothing after the end");

    /* the sampler: greedy picks the best allowed token; EOS only at the end */
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.temp = 0.0f;
    lc_sampler *smp = NULL;
    CHECK_OK(lc_sampler_create(&sp, V, &smp, &err), &err);
    CHECK_OK(lc_grammar_state_reset(s, &err), &err);
    CHECK_OK(lc_grammar_state_attach(s, smp, &err), &err);
    float logits[15];
    for (int i = 0; i < V; i++) logits[i] = (float)i; /* bb (14) is the favourite, then c, aa, </s> ... */
    int32_t out[8], tok = -1;
    int n_out = 0;
    for (; n_out < 8; n_out++) {
        if (lc_sampler_sample(smp, logits, &tok, &err) != LC_OK) break;
        out[n_out] = tok;
        if (tok == eog) {
            n_out++;
            break;
        }
        logits[14] = n_out < 3 ? 14.0f : -1.0f; /* after three "bb", prefer EOS (11) and "}" (6) */
        logits[6] = n_out < 3 ? 6.0f : 13.0f;
    }
    CHECK(n_out == 6 && out[0] == 5 && out[1] == 14 && out[2] == 14 && out[3] == 14 && out[4] == 6 && out[5] == 11,
          "greedy under the grammar: %d tokens: %d %d %d %d %d %d", n_out, out[0], out[1], out[2], out[3], out[4], out[5]);
    CHECK(lc_grammar_state_ended(s), "the sampler's EOS ended the grammar");
    CHECK(lc_sampler_sample(smp, logits, &tok, &err) == LC_ERR_INVALID_ARG, "no token after the end");
    lc_grammar_state_detach(smp);
    CHECK(!lc_sampler_has_constraint(smp), "detached");
    CHECK_OK(lc_sampler_sample(smp, logits, &tok, &err), &err);
    lc_sampler_free(smp);

    lc_grammar_state_free(s);
    lc_grammar_free(g);
    lc_grammar_vocab_free(v);
}

/* The memoised mask keeps every stack set until its walk ends: with the
 * set buffer bounded (LC_GR_MAX_BUF, lowered here), it hands over to the
 * rewinding walk instead of failing (it failed with LC_ERR_TOO_LARGE before). */
static void test_mask_buffer_bound(void) {
    char store[64][3];
    const char *pieces[64];
    int32_t V = 0;
    for (char a = 'a'; a <= 'e'; a++) {
        store[V][0] = a, store[V][1] = '\0', pieces[V] = store[V], V++;
        for (char b = 'a'; b <= 'e'; b++) store[V][0] = a, store[V][1] = b, store[V][2] = '\0', pieces[V] = store[V], V++;
    }
    pieces[V++] = " ";
    pieces[V++] = "</s>";
    const int32_t eog = V - 1;
    lc_error err;
    lc_grammar_vocab *v = NULL;
    CHECK_OK(lc_grammar_vocab_from_pieces(V, pieces, NULL, &eog, 1, &v, &err), &err);
    /* each first letter leads to a set of its own (two stacks each) */
    lc_grammar *g = parse("root ::= \"a\" \"x\"* | \"b\" \"y\"* | \"c\" \"z\"* | \"d\" \"w\"* | \"e\" \"v\"*", &err);
    lc_grammar_state *s = NULL;
    if (g && v) CHECK_OK(lc_grammar_state_create(g, v, &s, &err), &err);
    if (s) {
        lc_gr_state_set_buf_limit(s, 12);
        uint8_t allowed[64];
        int32_t n = -1;
        CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
        CHECK(n == 5, "the five letters: %d of %d allowed", n, V);
        check_mask_equals_checks(s, V, "bounded set buffer");
        lc_grammar_state_free(s);
    }
    lc_grammar_free(g);
    lc_grammar_vocab_free(v);
}

/* The per-token budget (lc_grammar_state_set_budget): a grammar whose
 * every byte walks 2,000 parse stacks needs about 45,000 steps for one token;
 * below that the check, the mask and the accept fail with LC_ERR_TOO_LARGE
 * naming the budget and change nothing; with enough they work, and the count
 * starts again at each accepted token (so the same budget lasts a long run). */
static void test_step_budget(void) {
    const char *pieces[4] = {"a", "aa", "b", "</s>"};
    const int32_t eog = 3;
    lc_error err;
    lc_grammar_vocab *v = NULL;
    CHECK_OK(lc_grammar_vocab_from_pieces(4, pieces, NULL, &eog, 1, &v, &err), &err);
    lc_grammar *g = parse("root ::= (\"a\"?){2000} \"b\"", &err);
    lc_grammar_state *s = NULL;
    if (g && v) CHECK_OK(lc_grammar_state_create(g, v, &s, &err), &err);
    if (s) {
        uint8_t allowed[4];
        int32_t n = -1;
        bool ok = false;
        lc_grammar_state_set_budget(s, 500);
        lc_status st = lc_grammar_token_allowed(s, 1, &ok, &err);
        CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, "500 parse steps for one token"), "check over budget: %s: %s",
              lc_status_str(st), err.msg);
        st = lc_grammar_allowed_tokens(s, allowed, &n, &err);
        CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, "per-token budget"), "mask over budget: %s", err.msg);
        st = lc_grammar_accept_token(s, 1, &err);
        CHECK(st == LC_ERR_TOO_LARGE, "accept over budget: %s", lc_status_str(st));
        CHECK(lc_grammar_state_n_stacks(s) > 1000, "nothing accepted: %d stacks", lc_grammar_state_n_stacks(s));
        lc_grammar_state_set_budget(s, 60000); /* one token: about 45,000 steps; 20 tokens: 20 times that */
        for (int k = 0; k < 20; k++) {
            CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err);
            CHECK(n == 3 && allowed[0] && allowed[1] && allowed[2], "step %d: a, aa and b allowed (%d)", k, n);
            CHECK_OK(lc_grammar_accept_token(s, 1, &err), &err); /* 40 "a" of 2000 in all */
        }
        CHECK_OK(lc_grammar_accept_token(s, 2, &err), &err);
        CHECK(lc_grammar_state_complete(s), "a b ends the sentence");
        lc_grammar_state_set_budget(s, 0);
        CHECK_OK(lc_grammar_state_reset(s, &err), &err);
        CHECK_OK(lc_grammar_allowed_tokens(s, allowed, &n, &err), &err); /* no budget: no limit */
        lc_grammar_state_free(s);
    }
    lc_grammar_free(g);
    lc_grammar_vocab_free(v);
}

/* With no filter, constrained sampling draws from the allowed tokens with
 * their probabilities renormalised (draw, check, mask and redraw only when
 * refused): the frequencies over many draws against p(t) / Z. */
static void test_constrained_distribution(void) {
    const char *pieces[8] = {"a", "b", "c", "d", "e", "f", "g", "</s>"};
    const int32_t eog = 7;
    const float logits[8] = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, 3.0f, 0.0f};
    lc_error err;
    lc_grammar_vocab *v = NULL;
    lc_grammar *g = parse("root ::= [bdf]", &err); /* b, d, f allowed; g (the favourite) and a refused */
    lc_grammar_state *s = NULL;
    lc_sampler *smp = NULL;
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.temp = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.seed = 99;
    CHECK_OK(lc_grammar_vocab_from_pieces(8, pieces, NULL, &eog, 1, &v, &err), &err);
    if (g && v) CHECK_OK(lc_grammar_state_create(g, v, &s, &err), &err);
    CHECK_OK(lc_sampler_create(&sp, 8, &smp, &err), &err);
    if (!s || !smp) goto out;
    CHECK_OK(lc_grammar_state_attach(s, smp, &err), &err);
    const int N = 40000;
    int counts[8] = {0};
    for (int i = 0; i < N; i++) {
        int32_t t = -1;
        if (lc_grammar_state_reset(s, &err) != LC_OK || lc_sampler_sample(smp, logits, &t, &err) != LC_OK) break;
        if (t >= 0 && t < 8) counts[t]++;
    }
    double z = exp(1.5) + exp(0.5) + exp(-0.5);
    const int allowed[3] = {1, 3, 5};
    for (int k = 0; k < 3; k++) {
        const double p = exp((double)logits[allowed[k]]) / z, sd = sqrt(p * (1 - p) / N);
        const double f = (double)counts[allowed[k]] / N;
        CHECK(fabs(f - p) < 5 * sd, "token %d: frequency %.4f, expected %.4f (sd %.4f)", allowed[k], f, p, sd);
    }
    CHECK(counts[0] + counts[2] + counts[4] + counts[6] + counts[7] == 0, "refused tokens were drawn");
    lc_grammar_stats gs;
    lc_grammar_state_stats(s, &gs);
    /* the first draw is allowed with probability (e^1.5+e^0.5+e^-0.5)/sum(e^l): masks only on the rest */
    double all = 0.0;
    for (int i = 0; i < 8; i++) all += exp((double)logits[i]);
    const double want_masks = N * (1.0 - z / all);
    CHECK(fabs((double)gs.n_masks - want_masks) < 5 * sqrt(want_masks), "%lld masks, expected about %.0f",
          (long long)gs.n_masks, want_masks);
out:
    lc_sampler_free(smp);
    lc_grammar_state_free(s);
    lc_grammar_free(g);
    lc_grammar_vocab_free(v);
}

/* ---- token level: a real vocabulary and random logits ------------------------- */

typedef struct {
    uint64_t s;
} xrng;

static uint64_t xnext(xrng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Random logits in [0, 8): every token about as likely as any other, so
 * what comes out is what the grammar lets through. */
static void random_logits(xrng *r, float *l, int32_t V) {
    for (int32_t i = 0; i < V; i += 2) {
        const uint64_t x = xnext(r);
        l[i] = (float)(x >> 40) * (8.0f / 16777216.0f);
        if (i + 1 < V) l[i + 1] = (float)((x >> 8) & 0xFFFFFF) * (8.0f / 16777216.0f);
    }
}

/* A vocabulary for generation: every token's text, EOS, the grammar's view. */
typedef struct {
    int32_t n;
    char **pieces;
    size_t *lens;
    int32_t eos;
    lc_grammar_vocab *v;
} tvocab;

static void tvocab_free(tvocab *t) {
    for (int32_t i = 0; t->pieces && i < t->n; i++) free(t->pieces[i]);
    free(t->pieces);
    free(t->lens);
    lc_grammar_vocab_free(t->v);
    memset(t, 0, sizeof *t);
}

static bool tvocab_from_tokenizer(tvocab *t, const lc_tokenizer *tok, lc_error *err) {
    memset(t, 0, sizeof *t);
    t->n = lc_tokenizer_n_vocab(tok);
    t->eos = lc_tokenizer_eos(tok);
    t->pieces = calloc((size_t)t->n, sizeof *t->pieces);
    t->lens = calloc((size_t)t->n, sizeof *t->lens);
    if (!t->pieces || !t->lens) return false;
    for (int32_t i = 0; i < t->n; i++) {
        t->lens[i] = lc_tokenizer_decode_token(tok, 0, i, NULL, 0);
        t->pieces[i] = malloc(t->lens[i] + 1);
        if (!t->pieces[i]) return false;
        lc_tokenizer_decode_token(tok, 0, i, t->pieces[i], t->lens[i]);
    }
    return lc_grammar_vocab_create(tok, NULL, 0, &t->v, err) == LC_OK;
}

/* A small byte-level vocabulary: every printable ASCII character, newline,
 * tab, a few multi-byte characters and JSON-ish multi-character tokens, EOS. */
static bool tvocab_small(tvocab *t, lc_error *err) {
    static const char *const extra[] = {"{\"", "\":", "\",", "\"}", "true", "null", "123", "\xc3\xa9", "\xe4\xb8\xad",
                                        "\\n", "\\u00e9", ", \"", "  ", "\xf0\x9f\x98\x80", "\n", "\t", "-0.5e+3", "</s>"};
    const int32_t n_extra = (int32_t)(sizeof extra / sizeof extra[0]);
    memset(t, 0, sizeof *t);
    t->n = 95 + n_extra;
    t->eos = t->n - 1;
    t->pieces = calloc((size_t)t->n, sizeof *t->pieces);
    t->lens = calloc((size_t)t->n, sizeof *t->lens);
    if (!t->pieces || !t->lens) return false;
    for (int32_t i = 0; i < t->n; i++) {
        char one[2] = {(char)(32 + i), 0};
        const char *p = i < 95 ? one : extra[i - 95];
        t->pieces[i] = strdup(p);
        if (!t->pieces[i]) return false;
        t->lens[i] = strlen(p);
    }
    return lc_grammar_vocab_from_pieces(t->n, (const char *const *)t->pieces, t->lens, &t->eos, 1, &t->v, err) == LC_OK;
}

/* Generate until EOS (or max_tokens: a failure); the text NUL-terminated. */
static char *generate(const lc_grammar *g, const tvocab *tv, uint64_t seed, bool filters, int max_tokens, int *n_tokens,
                      lc_error *err) {
    const lc_grammar_vocab *v = tv->v;
    const int32_t V = lc_grammar_vocab_n_vocab(v);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = seed;
    if (!filters) sp.temp = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f;
    lc_sampler *smp = NULL;
    lc_grammar_state *s = NULL;
    float *logits = malloc((size_t)V * sizeof *logits);
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    bool done = false;
    *n_tokens = 0;
    if (logits && text && lc_sampler_create(&sp, V, &smp, err) == LC_OK && lc_grammar_state_create(g, v, &s, err) == LC_OK &&
        lc_grammar_state_attach(s, smp, err) == LC_OK) {
        xrng r = {seed * 0x2545F4914F6CDD1Dull + 1};
        const int32_t eos = tv->eos;
        for (int i = 0; i < max_tokens && !done; i++) {
            random_logits(&r, logits, V);
            int32_t t;
            if (lc_sampler_sample(smp, logits, &t, err) != LC_OK) break;
            (*n_tokens)++;
            if (t == eos) {
                done = true;
                break;
            }
            const char *piece = tv->pieces[t];
            const size_t n = tv->lens[t];
            if (len + n + 1 > cap) {
                cap = 2 * (len + n + 1);
                char *nt = realloc(text, cap);
                if (!nt) break;
                text = nt;
            }
            memcpy(text + len, piece, n);
            len += n;
        }
        if (!done && err->msg[0] == '\0') snprintf(err->msg, sizeof err->msg, "no EOS within %d tokens", max_tokens);
    }
    if (text) text[len] = '\0';
    lc_grammar_state_free(s);
    lc_sampler_free(smp);
    free(logits);
    if (!done) {
        if (text && strlen(text) > 200) text[200] = '\0';
        fprintf(stderr, "seed %llu: %s; text so far: %s\n", (unsigned long long)seed, err->msg, text ? text : "");
        free(text);
        return NULL;
    }
    return text;
}

#if defined(LC_HAVE_JSON_SCHEMA)
/* ---- a validator for the schema subset the translator supports ---- */

static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool valid(const cJSON *v, const cJSON *s, const cJSON *doc, char *why, size_t cap);

static bool valid_type(const cJSON *v, const char *type) {
    if (strcmp(type, "object") == 0) return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0) return cJSON_IsArray(v);
    if (strcmp(type, "string") == 0) return cJSON_IsString(v);
    if (strcmp(type, "number") == 0) return cJSON_IsNumber(v);
    if (strcmp(type, "integer") == 0) return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    if (strcmp(type, "boolean") == 0) return cJSON_IsBool(v);
    if (strcmp(type, "null") == 0) return cJSON_IsNull(v);
    return false;
}

#define WHY(...) (snprintf(why, cap, __VA_ARGS__), false)

static bool valid(const cJSON *v, const cJSON *s, const cJSON *doc, char *why, size_t cap) {
    if (cJSON_IsTrue(s)) return true;
    const cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "$ref"))) {
        const char *ref = x->valuestring;
        const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "$defs");
        const cJSON *t = strcmp(ref, "#") == 0 ? doc : cJSON_GetObjectItemCaseSensitive(defs, ref + 8);
        return t ? valid(v, t, doc, why, cap) : WHY("bad $ref %s", ref);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "const")) && !cJSON_Compare(v, x, true)) return WHY("not the const");
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        const cJSON *e;
        bool in = false;
        cJSON_ArrayForEach(e, x) in = in || cJSON_Compare(v, e, true);
        if (!in) return WHY("not in the enum");
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "anyOf"))) {
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, x) k += valid(v, e, doc, why, cap);
        if (k == 0) return WHY("no anyOf branch");
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "oneOf"))) {
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, x) k += valid(v, e, doc, why, cap);
        if (k != 1) return WHY("%d oneOf branches", k);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
        bool ok = false;
        if (cJSON_IsString(x)) ok = valid_type(v, x->valuestring);
        const cJSON *e;
        if (cJSON_IsArray(x)) cJSON_ArrayForEach(e, x) ok = ok || valid_type(v, e->valuestring);
        if (!ok) return WHY("wrong type");
    }
    if (cJSON_IsString(v)) {
        const size_t n = utf8_len(v->valuestring);
        if ((x = cJSON_GetObjectItemCaseSensitive(s, "minLength")) && n < (size_t)x->valuedouble) return WHY("too short");
        if ((x = cJSON_GetObjectItemCaseSensitive(s, "maxLength")) && n > (size_t)x->valuedouble) return WHY("too long");
    }
    if (cJSON_IsArray(v)) {
        const int n = cJSON_GetArraySize(v);
        if ((x = cJSON_GetObjectItemCaseSensitive(s, "minItems")) && n < (int)x->valuedouble) return WHY("too few items");
        if ((x = cJSON_GetObjectItemCaseSensitive(s, "maxItems")) && n > (int)x->valuedouble) return WHY("too many items");
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(s, "items"), *e;
        if (it) cJSON_ArrayForEach(e, v) if (!valid(e, it, doc, why, cap)) return false;
    }
    if (cJSON_IsObject(v)) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        const cJSON *e, *m;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "required")) if (!cJSON_GetObjectItemCaseSensitive(
            v, e->valuestring)) return WHY("missing required '%s'", e->valuestring);
        cJSON_ArrayForEach(m, v) {
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, m->string);
            if (ps) {
                if (!valid(m, ps, doc, why, cap)) return false;
            } else if (ap && cJSON_IsFalse(ap)) {
                return WHY("additional property '%s'", m->string);
            } else if (ap && cJSON_IsObject(ap) && !valid(m, ap, doc, why, cap)) {
                return false;
            }
        }
        /* no duplicate keys */
        cJSON_ArrayForEach(m, v) for (const cJSON *o = m->next; o; o = o->next) if (strcmp(o->string, m->string) == 0)
            return WHY("duplicate key '%s'", m->string);
    }
    return true;
}

static const char *const SCHEMAS[] = {
    /* a flat object: required and optional properties of every scalar type */
    ("{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":12},"
    "\"age\":{\"type\":\"integer\"},"
    "\"score\":{\"type\":\"number\"},"
    "\"ok\":{\"type\":\"boolean\"},"
    "\"none\":{\"type\":\"null\"},"
    "\"tag\":{\"type\":[\"string\",\"null\"],\"maxLength\":4}},"
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}"),
    /* arrays with bounds, enum, const, nested objects */
    ("{\"type\":\"object\",\"properties\":{"
    "\"kind\":{\"const\":\"point\"},"
    "\"color\":{\"enum\":[\"red\",\"green\",3,null,{\"x\":[1]}]},"
    "\"xs\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":4},"
    "\"sub\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"string\",\"maxLength\":3}},"
    "\"required\":[\"b\"],\"additionalProperties\":false}},"
    "\"required\":[\"kind\",\"xs\",\"sub\"],\"additionalProperties\":false}"),
    /* anyOf / oneOf (disjoint branches), $ref to $defs with recursion */
    ("{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\",\"maxLength\":5}]},"
    "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":2}},"
    "\"required\":[\"v\"],\"additionalProperties\":false}},"
    "\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"maxItems\":3}]}"),
    /* only optional properties, additional properties of a given schema */
    ("{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"string\",\"maxLength\":6},\"q\":{\"type\":\"number\"}},"
    "\"additionalProperties\":{\"type\":\"integer\"}}"),
};

static void test_schema_errors(void) {
    static const struct {
        const char *schema, *want;
    } cases[] = {
        {"{\"type\":\"string\",\"pattern\":\"^a\"}", "keyword 'pattern' is not supported"},
        {"{\"type\":\"strin\"}", "unknown type 'strin'"},
        {"{\"$ref\":\"#/$defs/nope\"}", "points at nothing"},
        {"{\"$ref\":\"http://x/y\"}", "only \"#\""},
        {"{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "maxItems 2 below minItems 3"},
        {"{\"type\":", "not valid JSON"},
        {"false", "matches nothing"},
        {"{\"items\":[{}]}", "tuple"},
        /* size audit: (long)1e20 was undefined behaviour (UBSan) before the range check came first */
        {"{\"type\":\"array\",\"minItems\":1e20}", "from 0 to 10000"},
        {"{\"type\":\"string\",\"maxLength\":-1e300}", "from 0 to 10000"},
        {"{\"type\":\"array\",\"minItems\":1e12}", "from 0 to 10000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *g = NULL;
        lc_error err;
        memset(&err, 0, sizeof err);
        lc_status st = lc_json_schema_to_gbnf(cases[i].schema, strlen(cases[i].schema), &g, &err);
        CHECK(st != LC_OK && g == NULL && strstr(err.msg, cases[i].want), "schema %zu: %s: '%s'", i, lc_status_str(st),
              err.msg);
        free(g);
    }
    /* size audit: counts of subschemas and properties are bounded (each was
     * translated, quadratically, before: 200,000 {} properties took 11 s,
     * an anyOf of 200,000 schemas 16 s); the largest allowed still works */
    /* deep nesting: 100 levels pass cJSON and stop at the translator's 64;
     * 2000 stop at cJSON's nesting limit, said so */
    for (int deep = 100; deep <= 2000; deep += 1900) {
        char *src = malloc((size_t)deep * 10 + 8);
        size_t w = 0;
        for (int i = 0; i < deep; i++) w += (size_t)sprintf(src + w, "{\"items\":");
        w += (size_t)sprintf(src + w, "{}");
        for (int i = 0; i < deep; i++) src[w++] = '}';
        src[w] = '\0';
        char *g = NULL;
        lc_error err;
        memset(&err, 0, sizeof err);
        const lc_status st = lc_json_schema_to_gbnf(src, w, &g, &err);
        CHECK(st != LC_OK && !g && strstr(err.msg, deep == 100 ? "nested deeper than 64" : "nesting deeper than 1000"),
              "a schema nested %d deep: %s '%s'", deep, lc_status_str(st), err.msg);
        free(g);
        free(src);
    }
    const int counts[] = {4096, 4097, 19999, 25000}; /* 19999 alternatives and the anyOf: 20000 */
    for (int c = 0; c < 4; c++) {
        const int n = counts[c];
        const bool props = c < 2;
        char *src = malloc((size_t)n * 40 + 64);
        size_t w = (size_t)sprintf(src, props ? "{\"type\":\"object\",\"properties\":{" : "{\"anyOf\":[");
        for (int i = 0; i < n; i++) w += (size_t)sprintf(src + w, props ? "%s\"p%d\":{}" : "%s{\"const\":%d}", i ? "," : "", i);
        if (props) {
            w += (size_t)sprintf(src + w, "},\"required\":[");
            for (int i = 0; i < n; i++) w += (size_t)sprintf(src + w, "%s\"p%d\"", i ? "," : "", i);
        }
        strcpy(src + w, "]}");
        char *g = NULL;
        lc_error err;
        memset(&err, 0, sizeof err);
        const lc_status st = lc_json_schema_to_gbnf(src, strlen(src), &g, &err);
        const bool allowed = c == 0 || c == 2;
        if (allowed) CHECK_OK(st, &err);
        else
            CHECK(st == LC_ERR_TOO_LARGE && strstr(err.msg, props ? "more than 4096 properties" : "more than 20000 subschemas"),
                  "a schema of %d %s: %s '%s'", n, props ? "properties" : "alternatives", lc_status_str(st), err.msg);
        free(g);
        free(src);
    }
}

static void test_schema_sentences(void) {
    /* the first schema: sentences a validator would accept / refuse */
    const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"},"
                    "\"c\":{\"type\":\"boolean\"}},\"required\":[\"b\"]}";
    char *gbnf = NULL;
    lc_error err;
    CHECK_OK(lc_json_schema_to_gbnf(s, strlen(s), &gbnf, &err), &err);
    if (!gbnf) return;
    expect(gbnf,
           (const char *[]){"{\"b\":\"\"}", "{\"a\":1,\"b\":\"x\"}", "{\"a\": -3 , \"b\" : \"x\", \"c\":true}",
                            "{\"b\":\"x\",\"c\":false}", NULL},
           (const char *[]){"{}", "{\"a\":1}", "{\"a\":1.5,\"b\":\"x\"}", "{\"b\":\"x\",\"a\":1}", "{\"b\":\"x\",}",
                            "{,\"b\":\"x\"}", "{\"b\":\"x\",\"d\":1}", "{\"b\":\"x\" \"c\":true}", NULL});
    free(gbnf);
}

/* 100 seeds (10 under LONGCTX_TEST_QUICK) of SCHEMAS[first .. last) with
 * vocabulary tv: each output must parse, validate and match its grammar. */
static void test_schemas_sampled(const tvocab *tv, const char *what, size_t first, size_t last) {
    const int seeds = quick() ? 10 : 100;
    for (size_t k = first; k < last; k++) {
        char *gbnf = NULL;
        lc_error err;
        lc_grammar *g = NULL;
        cJSON *schema = cJSON_Parse(SCHEMAS[k]);
        CHECK_OK(lc_json_schema_to_gbnf(SCHEMAS[k], strlen(SCHEMAS[k]), &gbnf, &err), &err);
        if (gbnf) CHECK_OK(lc_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err), &err);
        int ok = 0, tokens = 0, chars = 0;
        for (int seed = 1; g && seed <= seeds; seed++) {
            int n = 0;
            memset(&err, 0, sizeof err);
            char *text = generate(g, tv, (uint64_t)seed + 1000 * k, seed % 4 != 0, 1500, &n, &err);
            CHECK(text != NULL, "%s schema %zu seed %d: generation failed", what, k, seed);
            if (!text) continue;
            tokens += n;
            chars += (int)strlen(text);
            cJSON *j = cJSON_ParseWithOpts(text, NULL, true);
            char why[128] = "";
            const bool val = j && valid(j, schema, schema, why, sizeof why);
            CHECK(j != NULL, "%s schema %zu seed %d: not JSON: %s", what, k, seed, text);
            CHECK(!j || val, "%s schema %zu seed %d: invalid (%s): %s", what, k, seed, why, text);
            bool m = false;
            CHECK(lc_grammar_match(g, text, strlen(text), &m, &err) == LC_OK && m,
                  "%s schema %zu seed %d: the grammar refuses its own output", what, k, seed);
            ok += j && val;
            if (seed <= 2) fprintf(stderr, "%s schema %zu seed %d (%d tokens): %s\n", what, k, seed, n, text);
            cJSON_Delete(j);
            free(text);
        }
        fprintf(stderr, "%s schema %zu: %d of %d seeds valid, %.1f tokens and %.1f bytes on average\n", what, k, ok, seeds,
                (double)tokens / seeds, (double)chars / seeds);
        CHECK(ok == seeds, "%s schema %zu: %d of %d valid", what, k, ok, seeds);
        lc_grammar_free(g);
        free(gbnf);
        cJSON_Delete(schema);
    }
}

/* json_object mode: every output parses as a JSON object. */
static void test_json_object_sampled(const tvocab *tv, const char *what, int seeds) {
    lc_error err;
    lc_grammar *g = parse(lc_grammar_json_object_gbnf(), &err);
    CHECK(g, "%s", err.msg);
    int ok = 0;
    for (int seed = 1; g && seed <= seeds; seed++) {
        int n = 0;
        memset(&err, 0, sizeof err);
        char *text = generate(g, tv, (uint64_t)seed + 7000, seed % 3 != 0, 3000, &n, &err);
        CHECK(text != NULL, "%s json_object seed %d: generation failed", what, seed);
        if (!text) continue;
        cJSON *j = cJSON_ParseWithOpts(text, NULL, true);
        CHECK(j && cJSON_IsObject(j), "%s json_object seed %d: not a JSON object: %s", what, seed, text);
        ok += j && cJSON_IsObject(j);
        if (seed == 1) fprintf(stderr, "%s json_object seed 1 (%d tokens): %.300s\n", what, n, text);
        cJSON_Delete(j);
        free(text);
    }
    fprintf(stderr, "%s json_object: %d of %d seeds parse as objects\n", what, ok, seeds);
    lc_grammar_free(g);
}
#endif

/* A uniform random "model" over 128K tokens almost never closes a string
 * that has no maxLength (a closing quote followed by what may come next is a
 * few dozen tokens of 128K), so the schemas sampled with the real vocabulary
 * bound their strings; unbounded strings (json_object mode, free-form keys)
 * are sampled with the small vocabulary, where a quote is 1 token in ~100. */
#define N_REAL_SCHEMAS 3

static void test_small_vocab_sampled(void) {
    tvocab tv;
    lc_error err;
    CHECK(tvocab_small(&tv, &err), "%s", err.msg);
    if (tv.v) {
#if defined(LC_HAVE_JSON_SCHEMA)
        test_schemas_sampled(&tv, "small vocab", 0, sizeof SCHEMAS / sizeof SCHEMAS[0]);
        test_json_object_sampled(&tv, "small vocab", quick() ? 10 : 100);
#else
        fprintf(stderr, "SKIP part: built without cJSON: sampled JSON is not parsed and validated\n");
#endif
    }
    tvocab_free(&tv);
}

/* lc_grammar_constraint: refusals; two generations (reset between) give
 * sentences of the grammar and end it; freeing detaches from the sampler. */
static void test_constraint(const lc_tokenizer *tok, const tvocab *tv) {
    lc_error err;
    const char *gbnf = "root ::= (\"yes\" | \"no\" | \"maybe so\") \".\"";
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    sp.seed = 3;
    lc_sampler *smp = NULL;
    CHECK_OK(lc_sampler_create(&sp, tv->n, &smp, &err), &err);
    lc_grammar_constraint *c = NULL;
    CHECK(lc_grammar_constraint_create("root ::= nowhere", 16, tok, NULL, 0, 0, smp, &c, &err) == LC_ERR_FORMAT && !c,
          "an undefined rule refused: %s", err.msg);
    CHECK(lc_grammar_constraint_create(gbnf, strlen(gbnf), NULL, NULL, 0, 0, smp, &c, &err) == LC_ERR_INVALID_ARG && !c,
          "no tokenizer refused");
    CHECK_OK(lc_grammar_constraint_create(gbnf, strlen(gbnf), tok, NULL, 0, 0, smp, &c, &err), &err);
    float *logits = malloc((size_t)tv->n * sizeof *logits);
    xrng r = {77};
    for (int round = 0; c && logits && round < 2; round++) {
        if (round) CHECK_OK(lc_grammar_state_reset(lc_grammar_constraint_state(c), &err), &err);
        char text[256];
        size_t len = 0;
        bool ended = false;
        for (int i = 0; i < 60 && !ended; i++) {
            int32_t t = -1;
            random_logits(&r, logits, tv->n);
            CHECK_OK(lc_sampler_sample(smp, logits, &t, &err), &err);
            ended = t == tv->eos || t < 0;
            if (!ended && len + tv->lens[t] < sizeof text) {
                memcpy(text + len, tv->pieces[t], tv->lens[t]);
                len += tv->lens[t];
            }
        }
        text[len] = '\0';
        CHECK(ended && (!strcmp(text, "yes.") || !strcmp(text, "no.") || !strcmp(text, "maybe so.")),
              "round %d: '%s' is a sentence of the grammar", round, text);
        CHECK(lc_grammar_state_ended(lc_grammar_constraint_state(c)), "round %d: the grammar ended", round);
    }
    lc_grammar_constraint_free(c);
    free(logits);
    lc_sampler_free(smp); /* after the constraint: it detached (ASan checks) */
}

static void test_real_vocab(void) {
    char path[512];
    lc_test_shared("vocab/ggml-vocab-llama-bpe.gguf", path, sizeof path);
    lc_error err;
    lc_gguf *gg = NULL;
    lc_tokenizer *tok = NULL;
    if (lc_gguf_open(path, &gg, &err) != LC_OK) {
        fprintf(stderr, "SKIP part: %s is absent or unreadable (%s): token-level tests with a real vocabulary skipped\n",
                path, err.msg);
        return;
    }
    CHECK_OK(lc_tokenizer_from_gguf(gg, &tok, &err), &err);
    tvocab tv;
    memset(&tv, 0, sizeof tv);
    if (tok) CHECK(tvocab_from_tokenizer(&tv, tok, &err), "%s", err.msg);
    const lc_grammar_vocab *v = tv.v;
    if (v) {
        const int32_t V = lc_grammar_vocab_n_vocab(v);
        CHECK(V == 128256, "llama-3 vocabulary of %d", V);
        /* the masking walk equals one check per token, in several states */
        lc_grammar *g = parse(lc_grammar_json_value_gbnf(), &err);
        lc_grammar_state *s = NULL;
        if (g) CHECK_OK(lc_grammar_state_create(g, v, &s, &err), &err);
        if (s) {
            check_mask_equals_checks(s, V, "json start");
            CHECK_OK(lc_grammar_state_feed(s, "{\"k\xc3", 4, &err), &err);
            check_mask_equals_checks(s, V, "json inside a key, mid-character");
            CHECK_OK(lc_grammar_state_feed(s, "\xa9\": [1", 6, &err), &err);
            check_mask_equals_checks(s, V, "json in a number");
        }
        lc_grammar_state_free(s);
        lc_grammar_free(g);
        /* a plain GBNF grammar: every output is a sentence */
        g = parse("root ::= expr\nexpr ::= term ((\"+\" | \"-\") term)*\nterm ::= [0-9]{1,3} | \"(\" expr \")\"", &err);
        CHECK(g, "%s", err.msg);
        for (int seed = 1; g && seed <= (quick() ? 5 : 30); seed++) {
            int n = 0;
            memset(&err, 0, sizeof err);
            char *text = generate(g, &tv, (uint64_t)seed, seed % 2 == 0, 1000, &n, &err);
            CHECK(text && matches(g, text, strlen(text)) == 1, "arithmetic seed %d: %s", seed, text ? text : "(none)");
            if (seed == 1 && text) fprintf(stderr, "arithmetic seed 1: %s\n", text);
            free(text);
        }
        lc_grammar_free(g);
        test_constraint(tok, &tv);
#if defined(LC_HAVE_JSON_SCHEMA)
        test_schemas_sampled(&tv, "llama-bpe", 0, N_REAL_SCHEMAS);
#else
        fprintf(stderr, "SKIP part: built without cJSON: the JSON Schema tests are skipped\n");
#endif
    }
    tvocab_free(&tv);
    lc_tokenizer_free(tok);
    lc_gguf_close(gg);
}

int main(void) {
    test_parse_errors();
    test_sentences();
    test_against_regex();
    test_state_bytes();
    test_feed_buffer_bound();
    test_small_vocab();
    test_mask_buffer_bound();
    test_step_budget();
    test_constrained_distribution();
#if defined(LC_HAVE_JSON_SCHEMA)
    test_schema_errors();
    test_schema_sentences();
#endif
    test_small_vocab_sampled();
    test_real_vocab();
    return lc_test_finish("test_grammar");
}
