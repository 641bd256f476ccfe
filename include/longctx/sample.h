/*
 * longctx/sample.h — token sampling: a llama.cpp-like chain over one logits
 * vector [n_vocab], deterministic for a seed, with a saveable state.
 *
 * The chain, in llama.cpp's default order:
 *
 *   logits ─► penalties ─► top-k ─► top-p ─► min-p ─► temperature ─► draw
 *
 *   penalties    for each distinct token among the last repeat_last_n ones
 *                (count c): logit /= repeat_penalty if logit > 0, else
 *                logit *= repeat_penalty; then
 *                logit -= c * frequency_penalty + presence_penalty
 *   top-k        keep the k largest logits (k <= 0: off)
 *   top-p        keep the smallest prefix of the sorted candidates whose
 *                probability (softmax at temperature 1) reaches p (p >= 1: off)
 *   min-p        keep candidates with p_i >= min_p * p_max (min_p <= 0: off)
 *   temperature  softmax(logit / temp) over the survivors, then one seeded
 *                draw; temp <= 0 is greedy: the argmax of the penalised
 *                logits (lowest id on ties), and consumes no random number.
 *
 * Ties are broken by the lower token id everywhere, so top-k = 1 equals
 * greedy. Logits may be -inf (masked tokens); NaN or +inf are refused.
 * Cost per token: O(V) scans plus O(V log k) worst case for top-k (a k-heap,
 * no full sort); top-p without top-k buckets the logits by distance below
 * the max and sorts only the buckets that hold the nucleus.
 *
 * The sampler owns a scratch copy of the logits (lc_sampler_sample leaves
 * the caller's array alone) — or works in place (lc_sampler_sample_inplace).
 *
 * Usage:
 *   lc_sampler_params sp; lc_sampler_params_init(&sp);   (llama.cpp defaults)
 *   ... lc_sampler_apply_option(&sp, "--temp", "0.7", &err) from the CLI ...
 *   lc_sampler *s; lc_sampler_create(&sp, n_vocab, &s, &err);
 *   for each prompt token: lc_sampler_accept(s, tok, &err);   (penalty history)
 *   loop: lc_sampler_sample(s, logits, &tok, &err);  (records tok itself)
 *   lc_sampler_free(s);
 */
#ifndef LONGCTX_SAMPLE_H
#define LONGCTX_SAMPLE_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most recent tokens remembered for the penalties (and saved in the state). */
#define LC_SAMPLER_MAX_LAST_N 4096

typedef struct {
    float temp;              /* temperature (0.8); <= 0: greedy                     */
    int32_t top_k;           /* 40; <= 0: off                                       */
    float top_p;             /* 0.95; >= 1: off                                     */
    float min_p;             /* 0.05; <= 0: off                                     */
    float repeat_penalty;    /* 1.0 = off; llama.cpp's --repeat-penalty             */
    int32_t repeat_last_n;   /* 64; 0 = off; -1 = LC_SAMPLER_MAX_LAST_N             */
    float frequency_penalty; /* 0 = off                                             */
    float presence_penalty;  /* 0 = off                                             */
    uint64_t seed;           /* 42                                                  */
} lc_sampler_params;

/* llama.cpp's defaults (temp 0.8, top-k 40, top-p 0.95, min-p 0.05, no
 * penalties, last-n 64) with seed 42. */
void lc_sampler_params_init(lc_sampler_params *p);
lc_status lc_sampler_params_validate(const lc_sampler_params *p, lc_error *err);

/* ---- Command-line options, named as llama.cpp names them -----------------
 *   --temp T  --top-k K  --top-p P  --min-p P  --repeat-penalty R
 *   --repeat-last-n N  --frequency-penalty F  --presence-penalty P  --seed S
 * (--seed -1 picks a seed from the clock, as llama.cpp does.) flag may carry
 * "=value" (ignored: pass the value separately, e.g. from cli_value). */
bool lc_sampler_is_option(const char *flag);
lc_status lc_sampler_apply_option(lc_sampler_params *p, const char *flag, const char *value, lc_error *err);
const char *lc_sampler_options_help(void);
/* "temp=0.8 top_k=40 top_p=0.95 min_p=0.05 repeat=1/64 seed=42" into buf. */
const char *lc_sampler_describe(const lc_sampler_params *p, char *buf, size_t len);

typedef struct lc_sampler lc_sampler;

/* n_vocab >= 1; allocates the scratch buffers once (O(n_vocab)). */
lc_status lc_sampler_create(const lc_sampler_params *p, int32_t n_vocab, lc_sampler **out, lc_error *err);
void lc_sampler_free(lc_sampler *s);
/* Change the parameters, keeping the RNG and the history. */
lc_status lc_sampler_set_params(lc_sampler *s, const lc_sampler_params *p, lc_error *err);
const lc_sampler_params *lc_sampler_get_params(const lc_sampler *s);
int32_t lc_sampler_n_vocab(const lc_sampler *s);
/* Forget the history and reseed from params.seed. */
void lc_sampler_reset(lc_sampler *s);

/* Draw a token from logits [n_vocab] (not modified) and record it in the
 * history. */
lc_status lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token, lc_error *err);
/* The same, using logits as the scratch (they are modified). */
lc_status lc_sampler_sample_inplace(lc_sampler *s, float *logits, int32_t *token, lc_error *err);
/* Record a token that was not sampled (prompt, forced) in the history. */
lc_status lc_sampler_accept(lc_sampler *s, int32_t token, lc_error *err);

/* After a sample (non-greedy): the candidates that survived the filters and
 * their probabilities at the temperature, in the order the draw walked them
 * (descending logit when top-k or top-p ran, else token order). Pointers stay
 * valid until the next call on s; returns the count (0 after greedy). */
int32_t lc_sampler_candidates(const lc_sampler *s, const int32_t **ids, const float **probs);

/* ---- Constraints (structured output) -----------------------------------
 * A constraint decides which tokens may come next (a grammar: see
 * longctx/grammar.h, lc_grammar_state_attach). With one set, each sample
 * first draws with the chain as usual and asks allowed(); when the token is
 * refused, mask() sets the refused tokens' logits to -inf in a fresh copy of
 * the logits and the chain draws again (LC_ERR_INVALID_ARG when nothing is
 * left). The token drawn is passed to accept() and then recorded. The
 * in-place variant leaves the caller's logits alone while constrained.
 * Prompt tokens given to lc_sampler_accept do not reach the constraint. */
typedef struct {
    void *user;
    lc_status (*allowed)(void *user, int32_t token, bool *ok, lc_error *err);
    lc_status (*mask)(void *user, float *logits, int32_t n_vocab, lc_error *err);
    lc_status (*accept)(void *user, int32_t token, lc_error *err);
} lc_sampler_constraint;

/* c is copied; NULL (or a missing function) removes the constraint. */
void lc_sampler_set_constraint(lc_sampler *s, const lc_sampler_constraint *c);
bool lc_sampler_has_constraint(const lc_sampler *s);

/* ---- Saved state -----------------------------------------------------------
 * Everything that makes the next draws what they are, beyond the params:
 * the RNG and the recent tokens. Fixed size; encode/decode give a portable
 * little-endian byte image of LC_SAMPLER_STATE_BYTES for session files. */
#define LC_SAMPLER_STATE_MAGIC 0x5353434Cu /* "LCSS" little-endian */
#define LC_SAMPLER_STATE_VERSION 1u

typedef struct {
    uint32_t magic;                        /* LC_SAMPLER_STATE_MAGIC           */
    uint32_t version;                      /* LC_SAMPLER_STATE_VERSION         */
    uint64_t rng[4];                       /* xoshiro256** state               */
    uint64_t n_sampled;                    /* tokens drawn so far              */
    uint32_t n_recent;                     /* valid entries of recent[]        */
    uint32_t reserved;                     /* 0                                */
    int32_t recent[LC_SAMPLER_MAX_LAST_N]; /* oldest first                     */
} lc_sampler_state;

#define LC_SAMPLER_STATE_BYTES (4 + 4 + 32 + 8 + 4 + 4 + 4 * LC_SAMPLER_MAX_LAST_N)

void lc_sampler_get_state(const lc_sampler *s, lc_sampler_state *st);
/* Validates everything (magic, version, counts, token ids < n_vocab). */
lc_status lc_sampler_set_state(lc_sampler *s, const lc_sampler_state *st, lc_error *err);
/* buf holds LC_SAMPLER_STATE_BYTES. */
void lc_sampler_state_encode(const lc_sampler_state *st, uint8_t *buf);
/* Refuses a short buffer, wrong magic/version, counts out of range. */
lc_status lc_sampler_state_decode(const uint8_t *buf, size_t len, lc_sampler_state *st, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_SAMPLE_H */
