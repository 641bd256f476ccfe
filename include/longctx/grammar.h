/*
 * longctx/grammar.h — structured output: GBNF grammars and JSON Schema,
 * enforced while sampling.
 *
 *   GBNF text ──lc_grammar_parse──► lc_grammar (immutable, shareable)
 *   JSON Schema ──lc_json_schema_to_gbnf──► GBNF text (needs cJSON)
 *   tokenizer ──lc_grammar_vocab_create──► lc_grammar_vocab (a byte trie of
 *                                          every token's text; per model)
 *   lc_grammar + vocab ──lc_grammar_state_create──► lc_grammar_state
 *                  (the parse so far: a set of parse stacks)
 *   lc_grammar_state_attach(state, sampler): every token the sampler draws
 *                  from then on continues a valid parse, and an
 *                  end-of-generation token only comes when the parse is
 *                  complete.
 *
 * The GBNF dialect is llama.cpp's (docs/grammar.md): `name ::= alternatives`,
 * `|`, sequences, `( )` groups, `"literal"`, `[a-z0-9_]` / `[^"\\]` classes
 * with ranges and escapes (\n \t \r \\ \" \] \[ \- \xHH \uHHHH \UHHHHHHHH),
 * `.` any character, postfix `*` `+` `?` `{m}` `{m,}` `{m,n}` `{,n}`,
 * `# comments`; a rule ends at the end of its line (newlines are free after
 * `::=`, after `|`, inside groups, and before a line that starts with `|`).
 * The grammar matches code points of UTF-8 text. Left recursion is refused
 * (the parse would not terminate), so are undefined rules, a missing root
 * and a rule defined twice; every error names line:column.
 *
 * Costs: checking one token walks its bytes (O(bytes x stacks)); a full mask
 * walks the vocabulary trie depth first, cutting every branch no stack can
 * take. Sampling first draws as usual and only masks when the drawn token is
 * refused (see lc_grammar_state_attach).
 */
#ifndef LONGCTX_GRAMMAR_H
#define LONGCTX_GRAMMAR_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lc_tokenizer;
struct lc_sampler;

/* Limits on untrusted grammars (LC_ERR_TOO_LARGE beyond them). */
#define LC_GRAMMAR_MAX_SOURCE (4u << 20) /* bytes of GBNF text                  */
#define LC_GRAMMAR_MAX_ELEMS (1 << 21)   /* elements after lowering repetitions */
#define LC_GRAMMAR_MAX_REPEAT 10000      /* m, n of x{m,n}                      */
#define LC_GRAMMAR_MAX_DEPTH 200         /* nesting of ( ) groups               */
#define LC_GRAMMAR_MAX_STACKS 65536      /* parse stacks alive at once          */

typedef struct lc_grammar lc_grammar;

/* Parse and compile GBNF text (len bytes, need not be NUL-terminated). root:
 * the start rule's name (NULL: "root"). Errors (LC_ERR_FORMAT) read
 * "grammar:LINE:COL: what". */
lc_status lc_grammar_parse(const char *text, size_t len, const char *root, lc_grammar **out, lc_error *err);
void lc_grammar_free(lc_grammar *g);
/* Rules after lowering (groups and repetitions add rules). */
int32_t lc_grammar_n_rules(const lc_grammar *g);

/* Whether the whole of text (len bytes) is a sentence of the grammar. */
lc_status lc_grammar_match(const lc_grammar *g, const char *text, size_t len, bool *match, lc_error *err);

/* ---- Vocabulary ------------------------------------------------------------
 * The text each token writes (lc_tokenizer_decode_token in mid-text). Control,
 * unknown and unused tokens and tokens that write nothing are never allowed;
 * eog[0..n_eog) (end of generation: EOS, end-of-turn) only when the parse is
 * complete. n_eog 0 and eog NULL: the tokenizer's EOS. */
typedef struct lc_grammar_vocab lc_grammar_vocab;

lc_status lc_grammar_vocab_create(const struct lc_tokenizer *tok, const int32_t *eog, int32_t n_eog,
                                  lc_grammar_vocab **out, lc_error *err);
/* From raw token texts (tests, fuzzing): pieces[i] of lens[i] bytes (NULL or
 * length 0: not a text token). */
lc_status lc_grammar_vocab_from_pieces(int32_t n_vocab, const char *const *pieces, const size_t *lens,
                                       const int32_t *eog, int32_t n_eog, lc_grammar_vocab **out, lc_error *err);
void lc_grammar_vocab_free(lc_grammar_vocab *v);
int32_t lc_grammar_vocab_n_vocab(const lc_grammar_vocab *v);

/* ---- Parse state -----------------------------------------------------------
 * g and v (v may be NULL for byte-level use) are borrowed and must outlive
 * the state. */
typedef struct lc_grammar_state lc_grammar_state;

lc_status lc_grammar_state_create(const lc_grammar *g, const lc_grammar_vocab *v, lc_grammar_state **out,
                                  lc_error *err);
void lc_grammar_state_free(lc_grammar_state *s);
/* Back to the start (nothing read yet). */
lc_status lc_grammar_state_reset(lc_grammar_state *s, lc_error *err);

/* Advance by text bytes: LC_OK when the grammar can read them (the state
 * moves on), LC_ERR_INVALID_ARG when it cannot (the state is unchanged). */
lc_status lc_grammar_state_feed(lc_grammar_state *s, const char *text, size_t len, lc_error *err);
/* Whether what was read so far is a whole sentence (end allowed here). */
bool lc_grammar_state_complete(const lc_grammar_state *s);
/* Whether an end-of-generation token was accepted. */
bool lc_grammar_state_ended(const lc_grammar_state *s);
/* Number of parse stacks alive (diagnostics). */
int32_t lc_grammar_state_n_stacks(const lc_grammar_state *s);

/* Token level (needs a vocab). */
lc_status lc_grammar_token_allowed(lc_grammar_state *s, int32_t token, bool *allowed, lc_error *err);
/* Every token the grammar allows next: allowed[n_vocab] set to 1/0 (bytes);
 * *n_allowed (may be NULL) their count. */
lc_status lc_grammar_allowed_tokens(lc_grammar_state *s, uint8_t *allowed, int32_t *n_allowed, lc_error *err);
/* Set logits[n_vocab] of every refused token to -inf. */
lc_status lc_grammar_mask_logits(lc_grammar_state *s, float *logits, int32_t *n_allowed, lc_error *err);
/* Advance by a token (refused tokens: LC_ERR_INVALID_ARG, state unchanged). */
lc_status lc_grammar_accept_token(lc_grammar_state *s, int32_t token, lc_error *err);

/* A budget of parse steps per token (0, the default: none): the work of
 * checking, masking and accepting one token (every parse stack looked at and
 * every stack frame expanded counts one step) is bounded by it, whatever the
 * grammar; past it the call fails with LC_ERR_TOO_LARGE ("more than N parse
 * steps for one token") and the state is as before the call. The count
 * starts again at each accepted token, at a reset and at each feed. A server
 * sets it so that a pathological grammar fails its own request quickly
 * instead of holding a core (docs/grammar.md: about 2e7 steps a second). */
void lc_grammar_state_set_budget(lc_grammar_state *s, int64_t steps);

/* Counters since creation (bench, diagnostics). */
typedef struct {
    int64_t n_checks;  /* single-token checks            */
    int64_t n_masks;   /* full masks over the vocabulary */
    int64_t n_accepts; /* tokens accepted                */
} lc_grammar_stats;
void lc_grammar_state_stats(const lc_grammar_state *s, lc_grammar_stats *st);

/* ---- Sampling ----------------------------------------------------------------
 * Constrain a sampler (its vocabulary size must equal the vocab's): each
 * lc_sampler_sample draws with the sampler's chain as usual; when the drawn
 * token is refused, the logits are masked (every refused token -inf) and the
 * chain draws again; the token drawn is accepted into the state. With no
 * filter (top-k/top-p/min-p off) this is exactly sampling from the allowed
 * tokens renormalised; with filters the first draw filters the unmasked
 * logits, the second the masked ones (as llama.cpp). The state must outlive
 * the attachment (lc_grammar_state_detach ends it); reset the state before
 * each new generation. Only sampled tokens advance the state (prompt tokens
 * given to lc_sampler_accept do not). See lc_sampler_set_constraint. */
lc_status lc_grammar_state_attach(lc_grammar_state *s, struct lc_sampler *sampler, lc_error *err);
void lc_grammar_state_detach(struct lc_sampler *sampler);

/* ---- A sampler constrained by a grammar, in one call ------------------------------
 * The GBNF text parsed (errors name line:column), the tokenizer's vocabulary
 * trie built with eog[n_eog] as the end-of-generation tokens (NULL, 0: the
 * tokenizer's EOS), a state with a budget of `steps` parse steps per token
 * (0: no limit) attached to sampler. One owner of the three; free it before
 * the sampler. lc_grammar_state_reset(lc_grammar_constraint_state(c)) starts
 * a new generation (a chat's next reply). */
typedef struct lc_grammar_constraint lc_grammar_constraint;
lc_status lc_grammar_constraint_create(const char *gbnf, size_t len, const struct lc_tokenizer *tok,
                                       const int32_t *eog, int32_t n_eog, int64_t steps, struct lc_sampler *sampler,
                                       lc_grammar_constraint **out, lc_error *err);
lc_grammar_state *lc_grammar_constraint_state(lc_grammar_constraint *c);
/* Detaches from the sampler and frees everything (NULL is fine). */
void lc_grammar_constraint_free(lc_grammar_constraint *c);

/* ---- JSON ----------------------------------------------------------------------
 * GBNF for any JSON object (OpenAI's response_format json_object) and for
 * any JSON value; static strings: "root ::= ...\n" then the json-* rules. */
const char *lc_grammar_json_object_gbnf(void);
const char *lc_grammar_json_value_gbnf(void);

/* ---- JSON Schema (an optional part) -------------------------------------------
 * Not in the core library: in longctx_json_schema (src/json_schema/), built
 * when CMake finds cJSON; targets that link it get LC_HAVE_JSON_SCHEMA.
 * Translate a JSON Schema (len bytes of JSON text) to GBNF (root rule
 * "root"); *gbnf malloc'd, NUL-terminated (free()). Supported: type (one or a
 * list) object / array / string / number / integer / boolean / null;
 * properties + required (properties written in the schema's order);
 * additionalProperties (false, true or a schema); items; minItems /
 * maxItems; minLength / maxLength; enum; const; anyOf / oneOf (as
 * alternatives: oneOf's exclusivity is not enforced); $ref to "#/$defs/.."
 * or "#/definitions/.." (recursion allowed); {} / true: any value.
 * Keywords that would restrict values in ways the grammar cannot express
 * (pattern, format, minimum, maximum, multipleOf, uniqueItems, not, allOf,
 * ...) are refused with LC_ERR_UNSUPPORTED naming the keyword, rather than
 * silently ignored. */
lc_status lc_json_schema_to_gbnf(const char *json, size_t len, char **gbnf, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_GRAMMAR_H */
