/*
 * longctx/tasks.h — synthetic long-context data: retrieval tasks hidden in
 * filler text, a training stream that mixes them, exact-match scoring, the
 * small fixed "synthetic" tokenizer they are written for, and a byte-level
 * BPE tokenizer trainer.
 *
 * Everything is seeded and deterministic: the same seed (and tokenizer) gives
 * the same sample, bit for bit, on every machine (integer RNG only).
 *
 * A sample is one token sequence laid out as
 *
 *   [BOS] haystack-with-needles question | answer [EOS]
 *   \___________ prompt (n_prompt) _____/ \_ answer _/
 *
 * The haystack is filler text (generated, or sentences of a user text file)
 * with the needles inserted between its sentences; the question asks for what
 * the needles said; the answer is what a model should generate next.
 *
 *   passkey     "The pass key is 68392. Remember it. 68392 is the pass key."
 *               ... "What is the pass key? The pass key is" -> " 68392"
 *   multikey    n_keys needles "The special magic number for river is 48213."
 *               ... "What is the special magic number for river? The special
 *               magic number for river is" -> " 48213"
 *   multivalue  n_values needles for one key ... "What are all the special
 *               magic numbers for river? The special magic numbers for river
 *               are" -> " 48213, 90127, 55310, 11774" (order of appearance)
 *   multiquery  n_keys needles, n_queries asked: "What are the special magic
 *               numbers for river and apple? The special magic numbers for
 *               river and apple are" -> " 48213, 90127" (order asked)
 *   vt          n_chains chains "VAR QWXZA = 42819." "VAR BCDEF = VAR QWXZA."
 *               (n_hops assignments after the first; other chains are
 *               distractors with other values) ... "Find all variables that
 *               are assigned the value 42819. Answer:" -> " QWXZA BCDEF ..."
 *               (names in order of appearance)
 *   filler      plain filler text: language-model data, no question/answer.
 *
 * Every token carries a role (LC_ROLE_*), so a trainer can weight the answer
 * differently from the filler; the stream turns roles into loss weights.
 * See docs/tasks.md for the formats, the vocabulary and the BPE trainer.
 */
#ifndef LONGCTX_TASKS_H
#define LONGCTX_TASKS_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"
#include "longctx/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Tasks                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum {
    LC_TASK_PASSKEY = 0,
    LC_TASK_MULTIKEY,
    LC_TASK_MULTIVALUE,
    LC_TASK_MULTIQUERY,
    LC_TASK_VT,
    LC_TASK_FILLER,
    LC_TASK_COUNT
} lc_task_kind;

/* "passkey", "multikey", "multivalue", "multiquery", "vt", "filler". */
const char *lc_task_kind_name(lc_task_kind kind);
/* Parse a kind name (exact, as above); false if unknown. */
bool lc_task_kind_parse(const char *name, lc_task_kind *out);

/* Role of each token of a sample. */
typedef enum {
    LC_ROLE_BOS = 0,
    LC_ROLE_FILLER,   /* haystack text                                  */
    LC_ROLE_NEEDLE,   /* a needle sentence (passkey, key/value, VAR ...) */
    LC_ROLE_QUESTION, /* the question at the end of the prompt          */
    LC_ROLE_ANSWER,   /* the expected answer                            */
    LC_ROLE_EOS,      /* end of sequence after the answer               */
    LC_ROLE_COUNT
} lc_task_role;

/* Sentences of a user text used as haystack instead of generated filler. */
typedef struct lc_haystack lc_haystack;

/* Limits on what a spec may ask for. */
#define LC_TASK_MAX_TOKENS ((int64_t)1 << 24) /* 16M tokens per sample */
#define LC_TASK_MAX_DIGITS 18
#define LC_TASK_MAX_KEYS 64    /* n_keys, n_values, n_queries           */
#define LC_TASK_MAX_CHAINS 16  /* vt chains                             */
#define LC_TASK_MAX_HOPS 32    /* vt assignments after the first        */
#define LC_TASK_VT_NAME_LEN 5  /* vt variable names: 5 capital letters  */

typedef struct {
    lc_task_kind kind;
    int64_t n_tokens;  /* target length of the whole sample, BOS to EOS       */
    bool exact;        /* true: exactly n_tokens (the first haystack sentence
                          is cut from the left to fit); false: whole sentences,
                          n_tokens - a few <= length <= n_tokens (0-5 under
                          with the synthetic tokenizer)                       */
    double depth;      /* 0..1: where the (first asked) needle sits in the
                          haystack, as a fraction of its tokens; < 0: random  */
    int32_t digits;    /* digits of pass keys and values (default 5)          */
    int32_t n_keys;    /* multikey, multiquery: key/value needles (default 4) */
    int32_t n_values;  /* multivalue: values of the asked key (default 4)     */
    int32_t n_queries; /* multiquery: keys asked, <= n_keys (default 2)       */
    int32_t n_chains;  /* vt: chains, 1 asked + distractors (default 1)       */
    int32_t n_hops;    /* vt: assignments after the first (default 4)         */
    bool add_bos;      /* BOS first if the tokenizer has one (default true)   */
    bool add_eos;      /* EOS after the answer if it has one (default true)   */
    const lc_haystack *haystack; /* NULL: generated filler (borrowed)        */
} lc_task_spec;

/* Defaults above, for kind and a target of n_tokens. */
void lc_task_spec_init(lc_task_spec *spec, lc_task_kind kind, int64_t n_tokens);

/* One needle as placed in the sample. */
typedef struct {
    int64_t pos;   /* index in ids of its first token  */
    int64_t len;   /* its tokens                        */
    double depth;  /* haystack tokens before it / all haystack tokens */
    bool asked;    /* the question asks about it        */
} lc_task_needle;

typedef struct {
    lc_task_kind kind;
    int64_t n_tokens;   /* total tokens                                        */
    int32_t *ids;       /* [n_tokens]                                          */
    uint8_t *roles;     /* [n_tokens] lc_task_role                             */
    int64_t n_prompt;   /* ids[0, n_prompt) is the prompt; the answer follows  */
    int64_t n_haystack; /* filler tokens (role LC_ROLE_FILLER)                 */
    char *prompt;       /* prompt text (without BOS), NUL-terminated; what the
                           prompt ids decode to (with a BPE tokenizer, which
                           writes no space prefix, it starts with a space)     */
    size_t prompt_len;
    char *answer;       /* expected answer text, e.g. " 68392" ("" for filler) */
    size_t answer_len;
    int32_t n_needles;
    lc_task_needle *needles; /* [n_needles] in order of position               */
} lc_task_sample;

/* Generate one sample. The tokenizer is only read (it may be shared by
 * threads that each generate their own samples). Refuses (LC_ERR_INVALID_ARG,
 * saying how many tokens they need) a spec whose needles, question and
 * answer do not fit in n_tokens. On failure *out is left empty (safe to
 * free). Free with lc_task_sample_free. */
lc_status lc_task_generate(const lc_task_spec *spec, const lc_tokenizer *tok, uint64_t seed, lc_task_sample *out,
                           lc_error *err);
void lc_task_sample_free(lc_task_sample *s);

/* ---- Printing (what `longctx gen-data` shows) ---------------------------- */

/* Tokens as "R:piece" separated by blanks, one line: R the role's letter
 * (B bos, f filler, N needle, Q question, A answer, E eos; '?' past them),
 * control bytes of a piece as \xHH and '\' doubled. */
void lc_task_tokens_print(FILE *f, const lc_tokenizer *tok, const int32_t *ids, const uint8_t *roles, int64_t n);
/* A sample for people: "# KIND  seed S  N tokens (target T): prompt ...,
 * haystack ..., answer ..." and one "#   needle" line each, the prompt text,
 * '=> "ANSWER"', the tokens (with_tokens), a blank line. */
void lc_task_sample_print(FILE *f, const lc_tokenizer *tok, const lc_task_sample *s, uint64_t seed, int64_t target,
                          bool with_tokens);
/* A sample as one JSON object: task, seed, n_tokens, n_prompt, n_haystack,
 * prompt, answer, needles [{pos, len, depth, asked}], ids [...], roles [...]. */
void lc_task_sample_json(lc_json_writer *w, const lc_task_sample *s, uint64_t seed);
/* count samples of spec with seeds seed, seed+1, ...: as text
 * (lc_task_sample_print, target spec->n_tokens) or one JSON object a line. */
lc_status lc_task_samples_print(FILE *f, const lc_task_spec *spec, const lc_tokenizer *tok, uint64_t seed,
                                int64_t count, bool json, bool with_tokens, lc_error *err);

/* Haystack from text: split into sentences at . ! ? followed by white space
 * and at blank lines; runs of white space (newlines included) become one
 * space. Sentences are used in order from a seeded start, wrapping around.
 * The text is copied. */
lc_status lc_haystack_create(const char *text, size_t len, lc_haystack **out, lc_error *err);
/* The same from a file (at most 1 GiB, checked against available memory). */
lc_status lc_haystack_load(const char *path, lc_haystack **out, lc_error *err);
void lc_haystack_free(lc_haystack *h);
int64_t lc_haystack_n_sentences(const lc_haystack *h);

/* Generated filler text: n_sentences sentences joined by single spaces, into
 * buf (NUL-terminated if room). Returns the length it needs (without NUL);
 * call with cap 0 to size. The same text a sample's haystack would draw for
 * that seed. */
size_t lc_filler_text(uint64_t seed, int64_t n_sentences, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* Mixtures and the training stream                                         */
/* ------------------------------------------------------------------------ */

#define LC_TASK_MIX_MAX 16

typedef struct {
    int32_t n;
    lc_task_spec specs[LC_TASK_MIX_MAX]; /* n_tokens/exact set by the stream */
    double weights[LC_TASK_MIX_MAX];     /* normalised: sum to 1            */
} lc_task_mix;

/* "passkey:0.4,multikey:0.2,vt:0.2,filler:0.2": comma-separated entries
 * KIND[:WEIGHT[:OPT=V...]] with options digits, keys, values, queries,
 * chains, hops, depth (e.g. "vt:0.5:hops=2:chains=2"). A missing weight is 1.
 * Weights are normalised; a kind may appear more than once with different
 * options. */
lc_status lc_task_mix_parse(const char *s, lc_task_mix *mix, lc_error *err);
/* The canonical text of a mixture (parses back to the same mixture, weights
 * printed with %.17g); returns the length needed, like snprintf. */
size_t lc_task_mix_format(const lc_task_mix *mix, char *buf, size_t cap);

typedef struct {
    lc_task_mix mix;
    int64_t seq_len;                  /* T: rows hold T+1 tokens             */
    uint64_t seed;
    float role_weight[LC_ROLE_COUNT]; /* loss weight of predicting a token of
                                         each role (default 1, BOS 0)        */
    const lc_haystack *haystack;      /* optional, borrowed                  */
} lc_task_stream_config;

void lc_task_stream_config_init(lc_task_stream_config *c);

/* A stream of training rows. Row r (r = 0, 1, 2, ...) is a function of
 * (config, tokenizer, r) alone: its task is drawn from the mixture and its
 * sample generated with exact = true, n_tokens = T+1, from a seed derived
 * from (seed, r). So the position (rows produced so far) is the whole state:
 * save lc_task_stream_position, restore with lc_task_stream_seek. */
typedef struct lc_task_stream lc_task_stream;

/* Validates the mixture against T (draws every entry 8 times) and refuses
 * tasks whose needles and question do not fit in T+1 tokens, naming them. A
 * row whose draw does not fit is redrawn from a derived seed (up to 8 times).
 * tok and cfg->haystack are borrowed: they must outlive the stream. */
lc_status lc_task_stream_create(const lc_task_stream_config *cfg, const lc_tokenizer *tok, lc_task_stream **out,
                                lc_error *err);
void lc_task_stream_free(lc_task_stream *s);

/* Next B rows: tokens [B, T+1]; roles [B, T+1] (may be NULL); weights [B, T]
 * (may be NULL): weights[b, t] = role_weight[role of tokens[b, t+1]], the
 * weight of the loss of predicting tokens[b, t+1] from tokens[b, 0..t].
 * The position advances by B; on failure it is unchanged. */
lc_status lc_task_stream_next(lc_task_stream *s, int64_t B, int32_t *tokens, uint8_t *roles, float *weights,
                              lc_error *err);
int64_t lc_task_stream_position(const lc_task_stream *s);
lc_status lc_task_stream_seek(lc_task_stream *s, int64_t position, lc_error *err);
/* The kind of row r (what lc_task_stream_next would draw for it). */
lc_task_kind lc_task_stream_kind_at(const lc_task_stream *s, int64_t row);
/* The rows position .. position+batch-1 of the stream cfg makes (each
 * seq_len + 1 tokens): a "# stream MIX  T ...  seed ...  rows A..B" line, then
 * per row "# row R: KIND; tokens by role: ...", its decoded text, its tokens
 * (with_tokens, lc_task_tokens_print) and a blank line. Refuses more than
 * 2^32 tokens in all before allocating; the stream's errors as it gives them. */
lc_status lc_task_stream_print(FILE *f, const lc_task_stream_config *cfg, const lc_tokenizer *tok, int64_t position,
                               int64_t batch, bool with_tokens, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Scoring                                                                  */
/* ------------------------------------------------------------------------ */

/* 1.0 if the generated text answers the sample's question, else 0.0.
 *   passkey, multikey: the generated text from its start to the first newline
 *     or period, trimmed of white space, equals the trimmed expected answer.
 *   multivalue, multiquery: up to the first newline or period, the set of
 *     numbers equals the expected set (order-insensitive, all required, no
 *     extra).
 *   vt: up to the first newline or period, the set of capitalised names
 *     equals the expected set (order-insensitive, all required, no extra).
 *   filler: always 0 (nothing to score). */
double lc_task_score(lc_task_kind kind, const char *expected, const char *generated, size_t generated_len);
/* For the set tasks (multivalue, multiquery, vt): the fraction of expected
 * items found (RULER's recall); for the others the same as lc_task_score. */
double lc_task_recall(lc_task_kind kind, const char *expected, const char *generated, size_t generated_len);

/* ------------------------------------------------------------------------ */
/* The synthetic tokenizer                                                  */
/* ------------------------------------------------------------------------ */

/* SPM-kind vocabulary of LC_TASKS_VOCAB_SIZE pieces built in code:
 *   0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 <pad>, 4..259 the byte tokens
 *   <0x00>..<0xFF> (byte fallback: any UTF-8 text round-trips), then single
 *   characters (260..334: "▁", a-z, A-Z, 0-9, punctuation), "▁A".."▁Z"
 *   (335..360), then 535 "▁"-word pieces for the filler word list, the task
 *   phrases and the keys, learned as SentencePiece-style merges (scores
 *   decreasing) until the size is reached. See docs/tasks.md.
 * Digits and capital letters are never merged with each other (a capital
 * only follows the leading "▁" of a word), so numbers and variable names are
 * copied one character per token ("VAR" is three tokens). */
#define LC_TASKS_VOCAB_SIZE 896

typedef struct lc_tasks_vocab lc_tasks_vocab;
/* Build the vocabulary; *desc points into *out (valid until freed). */
lc_status lc_tasks_vocab_build(lc_tasks_vocab **out, lc_tokenizer_desc *desc, lc_error *err);
void lc_tasks_vocab_free(lc_tasks_vocab *v);
/* The vocabulary as a "# synthetic tokenizer: N pieces (...)" line, then one
 * "ID<TAB>TYPE<TAB>SCORE<TAB>PIECE" line a piece (TYPE: normal, control, byte...). */
lc_status lc_tasks_vocab_print(FILE *f, lc_error *err);
/* lc_tasks_vocab_build + lc_tokenizer_create. */
lc_status lc_tasks_tokenizer_create(lc_tokenizer **out, lc_error *err);

/* ------------------------------------------------------------------------ */
/* Byte-level BPE trainer                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    int32_t vocab_size;     /* total, specials included (>= 257)          */
    int64_t min_frequency;  /* stop when the best pair occurs less (>= 1, default 2) */
    const char *pre;        /* pre-tokenizer: "gpt2" (default) or "llama-bpe" */
    bool keep_corpus_ids;   /* keep the training text as the trainer
                               segmented it (lc_bpe_model_corpus_ids)      */
    lc_progress_fn progress;
    void *progress_user;
} lc_bpe_train_params;

void lc_bpe_train_params_init(lc_bpe_train_params *p, int32_t vocab_size);

/* A trained vocabulary: ids 0..255 are the bytes in GPT-2 byte-to-unicode
 * order, then one piece per merge in rank order, then "<|endoftext|>"
 * (BOS = EOS, control). Merges are chosen by pair frequency over the
 * pre-tokenised words; ties go to the pair whose (left, right) byte strings
 * sort first. */
typedef struct lc_bpe_model lc_bpe_model;

lc_status lc_bpe_train(const char *text, size_t len, const lc_bpe_train_params *p, lc_bpe_model **out,
                       lc_error *err);
void lc_bpe_model_free(lc_bpe_model *m);
/* The tokenizer description (points into m; valid until m is freed). */
void lc_bpe_model_desc(const lc_bpe_model *m, lc_tokenizer_desc *desc);
int32_t lc_bpe_model_n_vocab(const lc_bpe_model *m);
int64_t lc_bpe_model_n_merges(const lc_bpe_model *m);
/* The training text as token ids after training (NULL unless
 * keep_corpus_ids): what lc_tokenizer_encode gives for the same text. */
const int32_t *lc_bpe_model_corpus_ids(const lc_bpe_model *m, int64_t *n);

/* Train on a whole file (at most 1 GiB; LC_ERR_IO with lc_read_file's
 * message when it cannot be read or is larger), build the tokenizer and re-encode the corpus with it:
 * identical says whether that gives the trainer's own segmentation (it must).
 * The tokenizer is the caller's (lc_tokenizer_free). */
typedef struct {
    lc_tokenizer *tokenizer;
    int64_t bytes;            /* of the corpus                              */
    int32_t n_vocab;
    int64_t n_merges;
    char pre[32];             /* the pre-tokenizer                          */
    double train_s, encode_s; /* training; re-encoding the corpus           */
    int64_t corpus_tokens;
    bool identical;
} lc_bpe_train_file_result;
lc_status lc_bpe_train_file(const char *path, const lc_bpe_train_params *p, lc_bpe_train_file_result *out,
                            lc_error *err);
/* The run for people: corpus bytes and pre-tokenizer, vocabulary (asked: the
 * size that was asked for), training time and MB/s, corpus tokens and bytes
 * per token, and whether re-encoding gave the trainer's segmentation. */
void lc_bpe_train_file_result_print(FILE *f, const char *path, const lc_bpe_train_file_result *r, int32_t asked);
/* The whole run of `gen-data --train-bpe`: train on path (lc_bpe_train_file),
 * print the run to f, refuse (LC_ERR_INTERNAL) when re-encoding the corpus
 * does not give the trainer's segmentation, and write the tokenizer as a
 * vocabulary-only GGUF to out (NULL: not written; "wrote OUT" on f). */
lc_status lc_bpe_train_file_run(const char *path, const lc_bpe_train_params *p, const char *out, FILE *f,
                                lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_TASKS_H */
