/*
 * libFuzzer target: GBNF grammars and JSON Schemas from arbitrary bytes.
 *
 *   input = GRAMMAR [ "\n%%\n" TEXT ]
 *
 * GRAMMAR starting with '{' is a JSON Schema (translated first; the GBNF
 * the translator writes must parse, else the target traps). Anything may be
 * refused; nothing may crash. When the grammar parses, TEXT is fed byte by
 * byte (refused bytes skipped), and at each step the vocabulary mask over a
 * small byte-level vocabulary must equal checking each token one by one
 * (else the target traps); an allowed token is then accepted.
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_gbnf -max_len=4096 fuzz/corpus/gbnf
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_TOK 24

static void exercise(const lc_grammar *g, const uint8_t *text, size_t n) {
    static const char *const pieces[N_TOK] = {"a", "b", "ab", "{", "}", "\"", ":", ",", " ", "\n", "0", "12",
                                              "x", "[", "]", "\xc3", "\xa9", "\xc3\xa9", "true", "-", ".", "\\", "", "</s>"};
    const int32_t eos = N_TOK - 1;
    lc_grammar_vocab *v = NULL;
    lc_grammar_state *s = NULL;
    lc_error err;
    if (lc_grammar_vocab_from_pieces(N_TOK, pieces, NULL, &eos, 1, &v, &err) != LC_OK ||
        lc_grammar_state_create(g, v, &s, &err) != LC_OK) {
        lc_grammar_vocab_free(v);
        return;
    }
    uint8_t allowed[N_TOK];
    for (size_t i = 0; i <= n && i < 256; i++) {
        int32_t count = 0;
        if (lc_grammar_allowed_tokens(s, allowed, &count, &err) != LC_OK) break;
        int32_t checked = 0, first = -1;
        for (int32_t t = 0; t < N_TOK; t++) {
            bool ok = false;
            if (lc_grammar_token_allowed(s, t, &ok, &err) != LC_OK) goto out;
            if (ok != (allowed[t] != 0)) __builtin_trap();
            checked += ok;
            if (ok && first < 0 && t != eos) first = t;
        }
        if (checked != count) __builtin_trap();
        if (i < n) {
            if (lc_grammar_state_feed(s, (const char *)text + i, 1, &err) != LC_OK && first >= 0)
                (void)lc_grammar_accept_token(s, first, &err);
        }
    }
    bool m = false;
    (void)lc_grammar_match(g, (const char *)text, n, &m, &err);
out:
    lc_grammar_state_free(s);
    lc_grammar_vocab_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    size_t gl = size;
    const uint8_t *text = NULL;
    size_t tl = 0;
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(data + i, "\n%%\n", 4) == 0) {
            gl = i;
            text = data + i + 4;
            tl = size - i - 4;
            break;
        }
    lc_error err;
    lc_grammar *g = NULL;
    if (gl > 0 && data[0] == '{') {
#if defined(LC_HAVE_JSON_SCHEMA)
        char *gbnf = NULL;
        if (lc_json_schema_to_gbnf((const char *)data, gl, &gbnf, &err) == LC_OK) {
            if (lc_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err) != LC_OK) {
                /* the translator wrote a grammar its own parser refuses */
                if (err.status != LC_ERR_TOO_LARGE) __builtin_trap();
            }
            free(gbnf);
        }
#endif
    } else {
        (void)lc_grammar_parse((const char *)data, gl, NULL, &g, &err);
    }
    if (g) exercise(g, text ? text : (const uint8_t *)"", tl);
    lc_grammar_free(g);
    return 0;
}
