/* lc_grammar_constraint: grammar, vocabulary trie and state attached to a
 * sampler, owned together (grammar.h). */
#include <stdlib.h>

#include "longctx/grammar.h"

struct lc_grammar_constraint {
    lc_grammar *g;
    lc_grammar_vocab *v;
    lc_grammar_state *s;
    struct lc_sampler *sampler; /* attached to (borrowed) */
};

lc_status lc_grammar_constraint_create(const char *gbnf, size_t len, const struct lc_tokenizer *tok,
                                       const int32_t *eog, int32_t n_eog, int64_t steps, struct lc_sampler *sampler,
                                       lc_grammar_constraint **out, lc_error *err) {
    *out = NULL;
    if (!gbnf || !tok || !sampler)
        return lc_fail(err, LC_ERR_INVALID_ARG, "grammar: %s", !tok ? "a grammar needs the model's tokenizer"
                                                                   : "NULL grammar text or sampler");
    lc_grammar_constraint *c = calloc(1, sizeof *c);
    if (!c) return lc_fail(err, LC_ERR_NOMEM, "grammar: out of memory");
    lc_status st = lc_grammar_parse(gbnf, len, NULL, &c->g, err);
    if (st == LC_OK) st = lc_grammar_vocab_create(tok, eog, n_eog, &c->v, err);
    if (st == LC_OK) st = lc_grammar_state_create(c->g, c->v, &c->s, err);
    if (st == LC_OK) st = lc_grammar_state_attach(c->s, sampler, err);
    if (st != LC_OK) {
        lc_grammar_constraint_free(c);
        return st;
    }
    c->sampler = sampler;
    lc_grammar_state_set_budget(c->s, steps);
    *out = c;
    return LC_OK;
}

lc_grammar_state *lc_grammar_constraint_state(lc_grammar_constraint *c) { return c ? c->s : NULL; }

void lc_grammar_constraint_free(lc_grammar_constraint *c) {
    if (!c) return;
    if (c->sampler) lc_grammar_state_detach(c->sampler);
    lc_grammar_state_free(c->s);
    lc_grammar_vocab_free(c->v);
    lc_grammar_free(c->g);
    free(c);
}
