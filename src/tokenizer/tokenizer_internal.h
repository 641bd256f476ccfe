/*
 * Tokenizer internals shared by the files of src/tokenizer/.
 *
 *   strtab.c       hashed string table (pieces -> ids) and pair map (BPE merges)
 *   tokenizer.c    lc_tokenizer_create / free / accessors / encode dispatch
 *   spm.c          SentencePiece-BPE encoder (scores, byte fallback)
 *   bpe.c          byte-level BPE encoder (ranked merges)
 *   merge_heap.c   the priority queue both encoders merge with
 *   pretokenize.c  the BPE pre-tokenizers (regex equivalents, chains of stages)
 *   user_tokens.c  user-defined tokens cut out of the text first
 *   eog.c          end-of-generation tokens, llama.cpp's marker texts
 *   unicode.c      UTF-8 and Unicode classes (tables in unicode_tables.c)
 *   decode.c       ids -> bytes
 *   llama2c.c      llama2.c tokenizer.bin loader
 *   gguf_vocab.c   tokenizer.ggml.* reader and writer
 */
#ifndef LC_TOKENIZER_INTERNAL_H
#define LC_TOKENIZER_INTERNAL_H

#include "common/util.h"
#include "longctx/tokenizer.h"

/* Limits on untrusted vocabularies (real ones: <= 262K tokens, pieces <= a
 * few hundred bytes, <= 300K merges). */
#define LC_TOK_MAX_VOCAB (1 << 24)
#define LC_TOK_MAX_MERGES (1 << 24)
#define LC_TOK_MAX_PIECE ((size_t)1 << 16)
#define LC_TOK_MAX_PRE_NAME 128
#define LC_TOK_MAX_EOG 16
/* One encode call takes at most this much text: SPM's normalised text (up to
 * 3x the input) must index with int32 symbols. */
#define LC_TOK_MAX_TEXT ((size_t)256 << 20)

/* ---- String table: strings stored once, found by hash --------------------
 * Ids are dense from 0. Adding a string that is already present still gives
 * it a new id, and lookups then find the newest (as llama.cpp's vocabulary
 * map does with duplicate pieces). */
typedef struct {
    int32_t id;      /* -1 = empty                                   */
    uint32_t tag;    /* high bits of the hash: most misses stop here */
} lc_tok_slot;

typedef struct {
    char *blob;      /* every string followed by a NUL              */
    size_t blob_len, blob_cap;
    size_t *off;     /* [cap] offset of string i in blob            */
    uint32_t *len;   /* [cap] byte length of string i               */
    int32_t n, cap;
    lc_tok_slot *slots; /* hash index, id -1 = empty; size mask + 1;  */
    size_t mask;        /* NULL for a table that is never searched    */
} lc_tok_strtab;

/* indexed: false for a plain list (lc_tok_strtab_find must not be called). */
lc_status lc_tok_strtab_init(lc_tok_strtab *t, int32_t cap, size_t blob_cap, bool indexed, lc_error *err);
void lc_tok_strtab_free(lc_tok_strtab *t);
/* Append a string; *id gets its id. */
lc_status lc_tok_strtab_add(lc_tok_strtab *t, const char *s, size_t len, int32_t *id, lc_error *err);
/* The id of s, or -1. */
int32_t lc_tok_strtab_find(const lc_tok_strtab *t, const char *s, size_t len);
/* Find s, adding it when absent. */
lc_status lc_tok_strtab_intern(lc_tok_strtab *t, const char *s, size_t len, int32_t *id, lc_error *err);
static inline const char *lc_tok_strtab_str(const lc_tok_strtab *t, int32_t id) { return t->blob + t->off[id]; }
uint64_t lc_tok_hash(const char *s, size_t len);

/* ---- Pair map: (left, right) symbol ids -> (rank, result) ---------------- */
typedef struct {
    uint64_t key;    /* (left << 32 | right) + 1; 0 = empty */
    int32_t rank;
    int32_t result;
} lc_tok_pair_slot;

typedef struct {
    lc_tok_pair_slot *slots;
    size_t mask, n;
} lc_tok_pairmap;

lc_status lc_tok_pairmap_init(lc_tok_pairmap *m, int64_t n_expected, lc_error *err);
void lc_tok_pairmap_free(lc_tok_pairmap *m);
/* Insert unless present (the first, lowest rank wins). */
void lc_tok_pairmap_put(lc_tok_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t result);
const lc_tok_pair_slot *lc_tok_pairmap_get(const lc_tok_pairmap *m, int32_t left, int32_t right);

/* ---- Pre-tokenizers (pretokenize.c) -------------------------------------- */
typedef enum {
    LC_PRE_GPT2 = 0,
    LC_PRE_LLAMA3 = 1,
    LC_PRE_QWEN2,
    LC_PRE_GPT4O,
    LC_PRE_COMMAND_R,
    LC_PRE_DEEPSEEK_LLM,
    LC_PRE_GEMMA4,
    LC_PRE_COUNT
} lc_pre_kind;

#define LC_PRE_MAX_STAGES 6

/* Walks the pre-tokens of a text (every kind, chains of stages included). */
typedef struct {
    lc_pre_kind kind;
    const char *text;
    size_t len, pos;
    struct {
        size_t end;             /* end of this stage's current piece        */
        size_t m_start, m_len;  /* its next match, found ahead (m_len 0: none) */
    } st[LC_PRE_MAX_STAGES];
} lc_tok_pretok_iter;

void lc_tok_pretok_begin(lc_tok_pretok_iter *it, lc_pre_kind kind, const char *text, size_t len);
/* Length of the next pre-token (it starts at it->pos, which then moves past
 * it); 0 at the end of the text. */
size_t lc_tok_pretok_iter_next(lc_tok_pretok_iter *it);
/* Length in bytes of the pre-token starting at text[pos] (pos < len; >= 1),
 * for the one-stage kinds (gpt2, llama3, qwen2, gpt-4o, gemma4; any other
 * kind runs gpt2's): pos must be where a pre-token starts. */
size_t lc_tok_pretok_next(lc_pre_kind kind, const char *text, size_t len, size_t pos);

/* ---- The tokenizer ------------------------------------------------------- */
struct lc_tokenizer {
    lc_tokenizer_kind kind;
    int32_t n_vocab;
    /* Pieces: ids [0, n_vocab). BPE appends helper symbols after them: merge
     * halves and byte characters that are not vocabulary pieces. */
    lc_tok_strtab sym;
    float *scores;        /* [n_vocab]                                        */
    int32_t *types;       /* [n_vocab] LC_TOKEN_*                             */
    bool has_scores;      /* scores came from the caller (written to GGUF)    */
    uint8_t *mergeable;   /* [n_vocab] SPM: may be the result of a merge      */
    size_t max_piece;     /* longest piece, bytes                              */
    /* Decoded bytes of each token: dec + dec_off[id], dec_off[id+1]-dec_off[id] bytes. */
    char *dec;
    size_t *dec_off;      /* [n_vocab + 1] */
    /* BPE merges as given, and as a map over symbol ids. */
    lc_tok_strtab merges;     /* no hash index used */
    lc_tok_pairmap merge_map;
    char pre_name[LC_TOK_MAX_PRE_NAME];
    lc_pre_kind pre;
    bool ignore_merges;   /* llama-3: a word that is a piece is taken whole   */
    bool byte_encode;     /* BPE: GPT-2 byte characters (false: Gemma 4, raw UTF-8) */
    bool escape_spaces;   /* BPE: ' ' -> "▁" before pre-tokenising (Gemma 4)  */
    int32_t bos_id, eos_id, unk_id, pad_id;
    bool add_bos, add_eos, add_space_prefix;
    /* User-defined tokens (user_tokens.c): how many, the first bytes of
     * their pieces (pairs: 65536-bit set, NULL when none; single bytes), the
     * distinct piece lengths, longest first. */
    /* End-of-generation tokens (eog.c). */
    int32_t eog_ids[LC_TOK_MAX_EOG];
    int n_eog;
    int32_t n_user;
    uint8_t *user_cut;      /* [n_vocab] 1: cut out of the text; NULL when none */
    uint64_t *user_pairs;
    uint64_t user_first[4];
    uint32_t *user_lens;
    int32_t n_user_lens;
    /* SPM: every (character, next character) pair found inside a mergeable
     * piece, as (unit key a << 32 | b) + 1; 0 = empty slot. A merge can only
     * span a boundary whose pair is in this set, so the text is cut at all
     * other boundaries and the pieces merged independently (spm.c).
     * Gemma 4's BPE: the (last character of left, first character of right)
     * pair of every merge, used the same way (bpe.c). NULL otherwise. */
    uint64_t *bigrams;
    size_t bigram_mask;
    /* SPM: id of "<0xNN>" or -1. BPE: token of byte b's GPT-2 character or -1. */
    int32_t byte_tok[256];
    /* BPE: initial symbol of byte b (vocab id or helper symbol). */
    int32_t byte_sym[256];
};

/* Output sink for encoders: ids written while they fit, all counted. */
typedef struct {
    int32_t *ids;
    int64_t cap, n;
} lc_tok_out;

static inline void lc_tok_push(lc_tok_out *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* SPM character pairs (see lc_tokenizer.bigrams). */
lc_status lc_tok_build_bigrams(lc_tokenizer *t, lc_error *err);
/* An empty pair set for about `pairs` pairs, and adding one (Gemma 4's BPE:
 * the last character of a merge's left half, the first of its right half). */
lc_status lc_tok_bigrams_alloc(lc_tokenizer *t, size_t pairs, lc_error *err);
void lc_tok_bigram_add(lc_tokenizer *t, uint32_t a, uint32_t b);
/* Key of the UTF-8 unit at s[0..len): its bytes big-endian (unambiguous:
 * a 1-byte unit is < 0x100, longer ones are larger). */
static inline uint32_t lc_tok_unit_key(const char *s, size_t len) {
    uint32_t k = 0;
    for (size_t i = 0; i < len; i++) k = k << 8 | (unsigned char)s[i];
    return k;
}
bool lc_tok_bigram_has(const lc_tokenizer *t, uint32_t a, uint32_t b);

/* Emit the byte-fallback tokens of s[0..len) (SPM <0xNN>, BPE byte chars),
 * unk where one is missing; error if neither exists. */
lc_status lc_tok_emit_bytes(const lc_tokenizer *t, const unsigned char *s, size_t len, lc_tok_out *o, lc_error *err);

/* The encoders. use_cache: remember short words for the rest of the call
 * (word_cache.c); results are identical either way (tests compare them). */
lc_status lc_tok_spm_encode(const lc_tokenizer *t, const char *text, size_t len, bool use_cache, lc_tok_out *o,
                            lc_error *err);
/* A user-defined token found in the text. */
typedef struct {
    size_t start, len;
    int32_t id;
} lc_tok_span;

/* BPE: user holds the user-defined tokens found in text (sorted, disjoint;
 * lc_tok_find_user_tokens), which are emitted as they are. The spans may be
 * rewritten (Gemma 4 moves them with the text it escapes). */
lc_status lc_tok_bpe_encode(const lc_tokenizer *t, const char *text, size_t len, lc_tok_span *user, size_t n_user,
                            bool use_cache, lc_tok_out *o, lc_error *err);

/* user_tokens.c: index the USER_DEFINED pieces (at create), and find the
 * occurrences to cut out of a text, in llama.cpp's order (*out: sorted by
 * start, owned by the caller, NULL when none). */
lc_status lc_tok_build_user_index(lc_tokenizer *t, lc_error *err);

/* eog.c: llama.cpp's marker texts (end of generation incl. FIM pad/repo/file
 * separator; FIM prefix/suffix/middle), membership, and the EOG ids. */
extern const char *const lc_tok_eog_texts[];
extern const size_t lc_tok_n_eog_texts;
extern const char *const lc_tok_fim_texts[];
extern const size_t lc_tok_n_fim_texts;
bool lc_tok_text_in(const char *p, size_t l, const char *const *list, size_t n);
void lc_tok_build_eog(lc_tokenizer *t);
lc_status lc_tok_find_user_tokens(const lc_tokenizer *t, const char *text, size_t len, lc_tok_span **out, size_t *n,
                                  lc_error *err);

/* Fill dec/dec_off (called by create once types are known). */
lc_status lc_tok_build_decoder(lc_tokenizer *t, lc_error *err);

/* GPT-2 byte <-> unicode mapping: the code point that stands for byte b, and
 * the byte a code point stands for (-1 if none). */
uint32_t lc_tok_gpt2_byte_to_cp(uint8_t b);
int lc_tok_gpt2_cp_to_byte(uint32_t cp);

/* Parse "<0xNN>" (exactly 6 bytes, hex digits either case); -1 if not one. */
int lc_tok_parse_byte_piece(const char *s, size_t len);

/* Map a pre-tokenizer name to a kind; false when unknown. */
bool lc_tok_pre_from_name(const char *name, lc_pre_kind *kind);
/* The names lc_tok_pre_from_name knows, for messages. */
const char *lc_tok_pre_known_names(void);

#endif
