/*
 * Internal: helpers the evaluation files share — greedy generation through a
 * context with the suite's stop rule, and the cell accumulators of a grid
 * (used by the retrieval grid and by retention's passkey answers).
 */
#ifndef LC_EVAL_INTERNAL_H
#define LC_EVAL_INTERNAL_H

#include "common/util.h"
#include "longctx/eval.h"

/* Greedy continuation of what ctx holds: evaluate rest [n_rest] (may be 0 when
 * the context's last logits are valid), then generate up to max_new tokens
 * into out, stopping at eos (not written) or after a token whose text holds a
 * newline or a period. *n_out tokens written. */
lc_status lc_eval_ctx_generate(lc_context *ctx, const lc_tokenizer *tok, int32_t eos, const int32_t *rest,
                               int64_t n_rest, int64_t max_new, int32_t *out, int64_t *n_out, lc_error *err);

/* Whether the bytes of a token end an answer (newline or period). */
bool lc_eval_is_stop_text(const char *s, size_t n);

/* ln softmax(logits)[t] in double (logits untouched). */
double lc_eval_log_prob(const float *logits, int64_t vocab, int32_t t);

/* The stop rule of greedy answers as an lc_generate_opts.on_token callback:
 * user is an lc_eval_stop_state; goes on unless the token's text ends an
 * answer (lc_eval_is_stop_text). No tokenizer: never stops. */
typedef struct {
    const lc_tokenizer *tok;
    int32_t prev; /* the token before the next one (its text may depend on it) */
} lc_eval_stop_state;
bool lc_eval_stop_on_token(void *user, int32_t id);

/* Tokens of the expected answer in a sample (role ANSWER). */
int64_t lc_eval_answer_tokens(const lc_task_sample *s);
/* The depth of the first asked needle (NaN if none). */
double lc_eval_asked_depth(const lc_task_sample *s);
/* Score a generated continuation of s: decodes it after the last prompt
 * token into *text (malloc'd, NUL-terminated; NULL on out of memory). */
lc_status lc_eval_score(const lc_task_sample *s, const lc_tokenizer *tok, const int32_t *gen, int64_t n_gen,
                        double *score, double *recall, char **text, lc_error *err);

/* ---- Grid accumulators ---------------------------------------------------- */

/* Allocate the cells of a grid for config c (sums zeroed). */
lc_status lc_eval_grid_alloc(lc_eval_grid *g, const lc_eval_grid_config *c, lc_error *err);
/* Add one scored trial to cell (l, d). */
void lc_eval_grid_add(lc_eval_grid *g, int l, int d, const lc_task_sample *s, double score, double recall,
                      double seconds);
/* Turn sums into means; overall accuracy and recall. */
void lc_eval_grid_finish(lc_eval_grid *g);
/* The order depths are visited in: deepest first (prefix reuse). order [n_depths]. */
void lc_eval_depth_order(const lc_eval_grid_config *c, int *order);
/* Total prompt tokens the grid will evaluate (progress), saturating. */
double lc_eval_grid_work(const lc_eval_grid_config *c);

#endif
