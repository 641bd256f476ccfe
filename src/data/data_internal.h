/*
 * Internals of the data module (src/data/): word lists, the filler sentence
 * generator, user haystacks, unit-wise tokenisation of samples, GPT-2's
 * byte-to-unicode map.
 */
#ifndef LC_DATA_INTERNAL_H
#define LC_DATA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "longctx/tasks.h"

/* ---- Word lists (wordlist.c) ------------------------------------------- */

/* Classes of nouns and the classes a word may go with (bit masks). */
enum {
    WL_PERSON = 1 << 0,
    WL_ANIMAL = 1 << 1,
    WL_THING = 1 << 2,   /* portable objects                         */
    WL_FIXTURE = 1 << 3, /* big fixed things: table, window, tree     */
    WL_PLACE = 1 << 4,
    WL_PATH = 1 << 5,    /* places one goes along or across: road, river */
    WL_ANIMATE = WL_PERSON | WL_ANIMAL,
    WL_LOCATION = WL_FIXTURE | WL_PLACE,
    WL_ANY = WL_PERSON | WL_ANIMAL | WL_THING | WL_FIXTURE | WL_PLACE
};

typedef struct {
    const char *sg, *pl;
    uint8_t cls;
} wl_noun;

typedef struct {
    const char *word;
    uint8_t cls; /* the nouns it may describe */
} wl_adj;

typedef struct {
    const char *word; /* past tense */
    uint8_t subj;     /* classes of subject it takes              */
    uint8_t obj;      /* classes of object (0: intransitive)      */
} wl_verb;

typedef struct {
    const char *word;
    uint8_t obj; /* location classes it takes */
} wl_prep;

typedef struct {
    const char *name;
    bool female;
} wl_name;

/* "The wind blew", "The rain fell": a subject with its own verb. */
typedef struct {
    const char *noun, *verb;
} wl_event;

typedef struct {
    const char *const *items;
    size_t n;
} wl_strings;

extern const wl_noun lc_wl_nouns[];
extern const size_t lc_wl_n_nouns;
extern const wl_adj lc_wl_adjs[];
extern const size_t lc_wl_n_adjs;
extern const wl_verb lc_wl_verbs[];
extern const size_t lc_wl_n_verbs;
extern const wl_verb lc_wl_motion_verbs[]; /* "walked to the market" */
extern const size_t lc_wl_n_motion_verbs;
extern const wl_prep lc_wl_preps[];
extern const size_t lc_wl_n_preps;
extern const wl_name lc_wl_names[];
extern const size_t lc_wl_n_names;
extern const wl_event lc_wl_events[];
extern const size_t lc_wl_n_events;
extern const wl_strings lc_wl_adverbs;
extern const wl_strings lc_wl_time_openers; /* "In the morning"      */
extern const wl_strings lc_wl_time_tails;   /* "after lunch"         */
extern const wl_strings lc_wl_det_sg;       /* "the", "a", "this"   */
extern const wl_strings lc_wl_det_pl;       /* "the", "some", "two" */
extern const wl_strings lc_wl_conj;         /* ", and" ... "while"  */
extern const wl_strings lc_wl_day_words;    /* "day", "morning"     */
extern const wl_strings lc_wl_day_adjs;     /* "cold", "quiet"      */
/* Words of the needles and questions (task phrases), capitalised or not as
 * they appear. */
extern const wl_strings lc_wl_task_words;
/* Nouns used as multikey keys (single words, distinct). */
extern const wl_strings lc_wl_keys;

/* ---- Filler sentences (filler.c) ---------------------------------------- */

#define LC_FILLER_SENTENCE_MAX 320 /* bytes, NUL included; no sentence is longer */

/* A paragraph-aware sentence generator: paragraphs of 3-6 sentences about one
 * topic (a person, an animal, a group), with pronouns and scene sentences. */
typedef struct {
    lc_rng rng;
    int left;          /* sentences left in the paragraph */
    int topic;         /* TOPIC_* (filler.c)               */
    int pron;          /* pronoun index of the topic      */
    uint8_t cls;       /* the topic's class (WL_PERSON, WL_ANIMAL) */
    char np[96];       /* the topic's noun phrase, lower case: "the old farmer" */
    char ref[64];      /* short re-mention: "the farmer"  */
} lc_filler;

void lc_filler_init(lc_filler *f, uint64_t seed);
/* Writes one sentence (capitalised, ending in '.') into buf[LC_FILLER_SENTENCE_MAX];
 * returns its length. */
size_t lc_filler_next(lc_filler *f, char *buf);

/* ---- Haystack of user text (filler.c) ----------------------------------- */

struct lc_haystack {
    char *text;        /* normalised sentences, each NUL-terminated */
    size_t text_len;
    int64_t n;         /* sentences                                  */
    size_t *off;       /* [n] offsets into text                      */
    size_t *len;       /* [n] byte lengths                           */
};

/* ---- Tasks (tasks.c) ---------------------------------------------------- */

/* Validate a spec (ranges, distinct numbers possible); shared with the
 * mixture parser. */
lc_status lc_task_spec_check(const lc_task_spec *s, lc_error *err);

/* ---- Small helpers ------------------------------------------------------ */

/* A growable byte buffer; on allocation failure `failed` is set and appends
 * become no-ops (check once at the end). */
typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} lc_buf;

void lc_buf_put(lc_buf *b, const char *s, size_t n);
void lc_buf_puts(lc_buf *b, const char *s);
void lc_buf_free(lc_buf *b);

/* A table of distinct byte strings (ids 0..n-1 in insertion order) with
 * hashed lookup. Strings are stored NUL-separated in one buffer; pointers
 * into it move when it grows, so keep ids, not pointers. */
typedef struct {
    lc_buf chars;
    size_t *off;      /* [n] */
    uint32_t *len;    /* [n] */
    int64_t n, cap;
    int32_t *slots;   /* [n_slots] id or -1; n_slots a power of two */
    size_t n_slots;
} lc_strtab;

/* Id of the string, or -1. */
int32_t lc_strtab_find(const lc_strtab *t, const char *s, size_t len);
/* Id of the string, added if new; -1 on allocation failure or when the
 * table would pass INT32_MAX entries / strings of 4 GiB. */
int32_t lc_strtab_add(lc_strtab *t, const char *s, size_t len, bool *added);
static inline const char *lc_strtab_str(const lc_strtab *t, int32_t id) { return t->chars.p + t->off[id]; }
void lc_strtab_free(lc_strtab *t);
uint64_t lc_hash_bytes(const char *s, size_t len);

/* A 64-bit seed derived from a seed and a stream index (splitmix64 mix). */
uint64_t lc_data_mix_seed(uint64_t seed, uint64_t index);

/* ---- GPT-2 byte-to-unicode (bpe_train.c) -------------------------------- */

/* The UTF-8 text of the printable character GPT-2 maps byte b to (1-2 bytes)
 * into out[3]; returns its length. */
size_t lc_bpe_byte_to_utf8(uint8_t b, char out[3]);
/* The id of byte b's token in a trained vocabulary (GPT-2 order). */
int32_t lc_bpe_byte_rank(uint8_t b);

#endif /* LC_DATA_INTERNAL_H */
