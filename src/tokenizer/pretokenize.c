/*
 * Pre-tokenizers: hand-written scanners equivalent to the regular
 * expressions below (leftmost alternative that matches, greedy, with the
 * backtracking spelled out). \p{..} and \s come from the generated Unicode
 * tables; an invalid UTF-8 byte is a character of class "other", so every
 * byte lands in exactly one pre-token and round trips.
 *
 * A pre-tokenizer is a chain of stages, as llama.cpp and Hugging Face's
 * Sequence of Split(..., "isolated") run them: stage 1 cuts the text into its
 * matches and the gaps between them, stage 2 cuts each of those pieces on its
 * own (a piece's end is the end of the text for it: "$" and "(?!\S)" see it),
 * and so on. Most have one stage that matches everywhere.
 *
 * gpt-2 ("gpt2", "gpt-2"):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * llama-3 ("llama-bpe"); qwen2 is the same with \p{N} instead of \p{N}{1,3}:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * gpt-4o (o200k):
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
 *   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * command-r: two stages, \p{N} then gpt-2's expression.
 *
 * deepseek-llm: six stages, [\r\n] ; \s?[LATIN...]+ ; \s?[!-/:-~！-／：-～‘-‟　-。]+ ;
 *   \s+$ ; [一-龥ࠀ-一가-퟿]+ ; \p{N}+   (LATIN: the cased-letter list of
 *   DeepSeek's tokenizer.json, ds_letters below).
 *
 * gemma4: [^\n]+|[\n]+ (over text whose spaces are already "▁").
 *
 * The case-insensitive contractions fold ASCII only (as llama.cpp does).
 *
 *   "Hello  world's 12345\n\n"
 *   gpt2:    "Hello" " " " world" "'s" " 12345" "\n\n"
 *   llama-3: "Hello" " " " world" "'s" " " "123" "45" "\n\n"
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/unicode.h"

typedef struct {
    const unsigned char *s;
    size_t n;
} text_view;

/* Character at byte offset p (< n): its code point, byte length and class. */
typedef struct {
    uint32_t cp;
    size_t len;
    lc_tok_uni_class cls;
} uchar;

static inline uchar char_at(text_view v, size_t p) {
    uchar c;
    c.len = lc_tok_utf8_decode(v.s + p, v.n - p, &c.cp);
    c.cls = lc_tok_uni_class_of(c.cp);
    return c;
}

/* End of the run of characters of class cls starting at p. */
static size_t run_of(text_view v, size_t p, lc_tok_uni_class cls) {
    while (p < v.n) {
        uchar c = char_at(v, p);
        if (c.cls != cls) break;
        p += c.len;
    }
    return p;
}

static inline int lower_ascii(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd at p; returns the length or 0. */
static size_t contraction(text_view v, size_t p, bool fold) {
    if (p >= v.n || v.s[p] != '\'' || p + 1 >= v.n) return 0;
    int a = fold ? lower_ascii(v.s[p + 1]) : v.s[p + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (p + 2 >= v.n) return 0;
    int b = fold ? lower_ascii(v.s[p + 2]) : v.s[p + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* \s+(?!\S)|\s+ at p (a whitespace character): the whole run when it ends
 * the text or is a single character, else the run minus its last character
 * (which then starts the next pre-token, e.g. " " of " world"). */
static size_t trailing_space(text_view v, size_t p) {
    size_t q = p, last = p;
    while (q < v.n) {
        uchar c = char_at(v, q);
        if (c.cls != LC_TOK_UNI_SPACE) break;
        last = q;
        q += c.len;
    }
    if (q == v.n || last == p) return q - p;
    return last - p;
}

/* \s*[\r\n]+ at p (whitespace): through the last newline of the run, or 0. */
static size_t space_to_newline(text_view v, size_t p) {
    size_t q = p, end_nl = 0;
    while (q < v.n) {
        uchar d = char_at(v, q);
        if (d.cls != LC_TOK_UNI_SPACE) break;
        q += d.len;
        if (d.cp == '\r' || d.cp == '\n') end_nl = q;
    }
    return end_nl ? end_nl - p : 0;
}

/* ---- gpt-2 ---------------------------------------------------------------- */

static size_t match_gpt2(text_view v, size_t p) {
    size_t k = contraction(v, p, false);
    if (k) return k;
    uchar c = char_at(v, p);
    size_t start = p;
    lc_tok_uni_class cls = c.cls;
    if (c.cp == ' ' && p + 1 < v.n) { /* " ?X+" */
        uchar d = char_at(v, p + 1);
        if (d.cls != LC_TOK_UNI_SPACE) start = p + 1, cls = d.cls;
    }
    if (cls != LC_TOK_UNI_SPACE) return run_of(v, start, cls) - p;
    return trailing_space(v, p);
}

/* ---- llama-3 and qwen2 ------------------------------------------------------ */

static size_t match_llama3_like(text_view v, size_t p, int max_digits) {
    size_t k = contraction(v, p, true);
    if (k) return k;
    uchar c = char_at(v, p);
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c.cls == LC_TOK_UNI_LETTER) return run_of(v, p, LC_TOK_UNI_LETTER) - p;
    if (c.cls != LC_TOK_UNI_NUMBER && c.cp != '\r' && c.cp != '\n' && p + c.len < v.n) {
        uchar d = char_at(v, p + c.len);
        if (d.cls == LC_TOK_UNI_LETTER) return run_of(v, p + c.len, LC_TOK_UNI_LETTER) - p;
    }
    /* \p{N}{1,max} */
    if (c.cls == LC_TOK_UNI_NUMBER) {
        size_t q = p;
        for (int i = 0; i < max_digits && q < v.n; i++) {
            uchar d = char_at(v, q);
            if (d.cls != LC_TOK_UNI_NUMBER) break;
            q += d.len;
        }
        return q - p;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t start = p;
    if (c.cp == ' ' && p + 1 < v.n && char_at(v, p + 1).cls == LC_TOK_UNI_OTHER) start = p + 1;
    if (start != p || c.cls == LC_TOK_UNI_OTHER) {
        size_t q = run_of(v, start, LC_TOK_UNI_OTHER);
        while (q < v.n && (v.s[q] == '\r' || v.s[q] == '\n')) q++;
        return q - p;
    }
    /* \s*[\r\n]+ */
    size_t nl = space_to_newline(v, p);
    return nl ? nl : trailing_space(v, p);
}

static size_t match_llama3(text_view v, size_t p) { return match_llama3_like(v, p, 3); }
static size_t match_qwen2(text_view v, size_t p) { return match_llama3_like(v, p, 1); }

/* ---- gpt-4o (o200k) ------------------------------------------------------------
 * U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]. */
enum { O2_U = 1, O2_W = 2 };

static int o200k_bits(uchar c) {
    lc_tok_uni_case k = lc_tok_uni_case_of(c.cp);
    if (c.cls == LC_TOK_UNI_LETTER)
        return k == LC_TOK_UNI_CASE_UPPER ? O2_U : k == LC_TOK_UNI_CASE_LOWER ? O2_W : O2_U | O2_W;
    return k == LC_TOK_UNI_CASE_MARK ? O2_U | O2_W : 0;
}

static size_t run_of_bits(text_view v, size_t p, int bit) {
    while (p < v.n) {
        uchar c = char_at(v, p);
        if (!(o200k_bits(c) & bit)) break;
        p += c.len;
    }
    return p;
}

/* U*W+ contraction? at s; the end, or 0. The backtracking: U* takes its
 * longest run [s, k); W+ then needs character k in W (then takes W's run),
 * else the last character of the U run that is also in W ends the match. */
static size_t o200k_lower_word(text_view v, size_t s) {
    size_t q = s, last_w_end = 0;
    while (q < v.n) {
        uchar c = char_at(v, q);
        int b = o200k_bits(c);
        if (!(b & O2_U)) break;
        q += c.len;
        if (b & O2_W) last_w_end = q;
    }
    size_t e;
    if (q < v.n && (o200k_bits(char_at(v, q)) & O2_W)) e = run_of_bits(v, q, O2_W);
    else if (last_w_end) e = last_w_end;
    else return 0;
    return e + contraction(v, e, true);
}

/* U+W* contraction? at s; the end, or 0. */
static size_t o200k_upper_word(text_view v, size_t s) {
    size_t q = run_of_bits(v, s, O2_U);
    if (q == s) return 0;
    size_t e = run_of_bits(v, q, O2_W);
    return e + contraction(v, e, true);
}

static size_t match_gpt4o(text_view v, size_t p) {
    uchar c = char_at(v, p);
    /* the optional [^\r\n\p{L}\p{N}] in front of a word */
    bool prefix = c.cp != '\r' && c.cp != '\n' && c.cls != LC_TOK_UNI_LETTER && c.cls != LC_TOK_UNI_NUMBER &&
                  p + c.len < v.n;
    size_t (*const word[2])(text_view, size_t) = {o200k_lower_word, o200k_upper_word};
    for (int a = 0; a < 2; a++) {
        size_t e;
        if (prefix && (e = word[a](v, p + c.len)) != 0) return e - p;
        if ((e = word[a](v, p)) != 0) return e - p;
    }
    /* \p{N}{1,3} */
    if (c.cls == LC_TOK_UNI_NUMBER) {
        size_t q = p;
        for (int i = 0; i < 3 && q < v.n; i++) {
            uchar d = char_at(v, q);
            if (d.cls != LC_TOK_UNI_NUMBER) break;
            q += d.len;
        }
        return q - p;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n/]* */
    size_t start = p;
    if (c.cp == ' ' && p + 1 < v.n && char_at(v, p + 1).cls == LC_TOK_UNI_OTHER) start = p + 1;
    if (start != p || c.cls == LC_TOK_UNI_OTHER) {
        size_t q = run_of(v, start, LC_TOK_UNI_OTHER);
        while (q < v.n && (v.s[q] == '\r' || v.s[q] == '\n' || v.s[q] == '/')) q++;
        return q - p;
    }
    size_t nl = space_to_newline(v, p);
    return nl ? nl : trailing_space(v, p);
}

/* ---- single-class stages (command-r, deepseek-llm, gemma4) ---------------- */

static size_t match_one_number(text_view v, size_t p) {
    uchar c = char_at(v, p);
    return c.cls == LC_TOK_UNI_NUMBER ? c.len : 0;
}

static size_t match_numbers(text_view v, size_t p) {
    uchar c = char_at(v, p);
    return c.cls == LC_TOK_UNI_NUMBER ? run_of(v, p, LC_TOK_UNI_NUMBER) - p : 0;
}

static size_t match_cr_lf(text_view v, size_t p) { return (v.s[p] == '\r' || v.s[p] == '\n') ? 1 : 0; }

/* [^\n]+|[\n]+ */
static size_t match_lines(text_view v, size_t p) {
    bool nl = v.s[p] == '\n';
    size_t q = p;
    while (q < v.n && (v.s[q] == '\n') == nl) q++;
    return q - p;
}

/* DeepSeek-LLM's letter class (its tokenizer.json, the second Split). */
static const lc_tok_uni_range ds_letters[] = {
    {0x0041, 0x005A, 0},   {0x0061, 0x007A, 0},   {0x00B5, 0x00B5, 0},   {0x00C0, 0x00D6, 0},   {0x00D8, 0x00F6, 0},
    {0x00F8, 0x01BA, 0},   {0x01BC, 0x01BF, 0},   {0x01C4, 0x0293, 0},   {0x0295, 0x02AF, 0},   {0x0370, 0x0373, 0},
    {0x0376, 0x0377, 0},   {0x037B, 0x037D, 0},   {0x037F, 0x037F, 0},   {0x0386, 0x0386, 0},   {0x0388, 0x038A, 0},
    {0x038C, 0x038C, 0},   {0x038E, 0x03A1, 0},   {0x03A3, 0x03F5, 0},   {0x03F7, 0x0481, 0},   {0x048A, 0x052F, 0},
    {0x0531, 0x0556, 0},   {0x10A0, 0x10C5, 0},   {0x13A0, 0x13F5, 0},   {0x13F8, 0x13FD, 0},   {0x1C90, 0x1CBA, 0},
    {0x1CBD, 0x1CBF, 0},   {0x1D00, 0x1D2B, 0},   {0x1D6B, 0x1D77, 0},   {0x1D79, 0x1D9A, 0},   {0x1E00, 0x1F15, 0},
    {0x1F18, 0x1F1D, 0},   {0x1F20, 0x1F45, 0},   {0x1F48, 0x1F4D, 0},   {0x1F50, 0x1F57, 0},   {0x1F59, 0x1F59, 0},
    {0x1F5B, 0x1F5B, 0},   {0x1F5D, 0x1F5D, 0},   {0x1F5F, 0x1F7D, 0},   {0x1F80, 0x1FB4, 0},   {0x1FB6, 0x1FBC, 0},
    {0x1FBE, 0x1FBE, 0},   {0x1FC2, 0x1FC4, 0},   {0x1FC6, 0x1FCC, 0},   {0x1FD0, 0x1FD3, 0},   {0x1FD6, 0x1FDB, 0},
    {0x1FE0, 0x1FEC, 0},   {0x1FF2, 0x1FF4, 0},   {0x1FF6, 0x1FFC, 0},   {0x2102, 0x2102, 0},   {0x2107, 0x2107, 0},
    {0x210A, 0x2113, 0},   {0x2115, 0x2115, 0},   {0x2119, 0x211D, 0},   {0x2124, 0x2124, 0},   {0x2126, 0x2126, 0},
    {0x2128, 0x2128, 0},   {0x212A, 0x212D, 0},   {0x212F, 0x2134, 0},   {0x2139, 0x2139, 0},   {0x213C, 0x213F, 0},
    {0x2145, 0x2149, 0},   {0x214E, 0x214E, 0},   {0x2183, 0x2184, 0},   {0x2C00, 0x2C7B, 0},   {0x2C7E, 0x2CE4, 0},
    {0x2CEB, 0x2CEE, 0},   {0x2CF2, 0x2CF3, 0},   {0xA640, 0xA66D, 0},   {0xA680, 0xA69B, 0},   {0xA722, 0xA76F, 0},
    {0xA771, 0xA787, 0},   {0xA78B, 0xA78E, 0},   {0xAB70, 0xABBF, 0},   {0xFB00, 0xFB06, 0},   {0xFB13, 0xFB17, 0},
    {0xFF21, 0xFF3A, 0},   {0xFF41, 0xFF5A, 0},   {0x10400, 0x1044F, 0}, {0x104B0, 0x104D3, 0}, {0x104D8, 0x104FB, 0},
    {0x10C80, 0x10CB2, 0}, {0x10CC0, 0x10CF2, 0}, {0x118A0, 0x118DF, 0}, {0x1E900, 0x1E943, 0},
};

/* [!-/:-~！-／：-～‘-‟　-。] */
static const lc_tok_uni_range ds_punct[] = {
    {0x0021, 0x002F, 0}, {0x003A, 0x007E, 0}, {0x2018, 0x201F, 0}, {0x3000, 0x3002, 0}, {0xFF01, 0xFF0F, 0}, {0xFF1A, 0xFF5E, 0},
};

/* [一-龥ࠀ-一가-퟿] */
static const lc_tok_uni_range ds_cjk[] = {{0x0800, 0x9FA5, 0}, {0xAC00, 0xD7FF, 0}};

/* The classes, with ASCII answered directly. */
static bool is_ds_letter(uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return lc_tok_uni_in_ranges(cp, ds_letters, LC_ARRAY_LEN(ds_letters));
}

static bool is_ds_punct(uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x7E);
    return lc_tok_uni_in_ranges(cp, ds_punct, LC_ARRAY_LEN(ds_punct));
}

static bool is_ds_cjk(uint32_t cp) { return cp >= 0x800 && lc_tok_uni_in_ranges(cp, ds_cjk, LC_ARRAY_LEN(ds_cjk)); }

/* Code point and length at p, without the class lookup. */
static inline uint32_t cp_at(text_view v, size_t p, size_t *len) {
    uint32_t cp;
    if (v.s[p] < 0x80) {
        *len = 1;
        return v.s[p];
    }
    *len = lc_tok_utf8_decode(v.s + p, v.n - p, &cp);
    return cp;
}

/* \s?[set]+ at p. */
static size_t space_then_run(text_view v, size_t p, bool (*in_set)(uint32_t)) {
    size_t l;
    uint32_t cp = cp_at(v, p, &l);
    size_t s = p;
    if (!in_set(cp)) {
        if (lc_tok_uni_class_of(cp) != LC_TOK_UNI_SPACE || p + l >= v.n) return 0;
        size_t l2;
        if (!in_set(cp_at(v, p + l, &l2))) return 0;
        s = p + l;
    }
    size_t q = s;
    while (q < v.n && in_set(cp_at(v, q, &l))) q += l;
    return q - p;
}

static size_t match_ds_letters(text_view v, size_t p) { return space_then_run(v, p, is_ds_letter); }
static size_t match_ds_punct(text_view v, size_t p) { return space_then_run(v, p, is_ds_punct); }

static size_t match_ds_cjk(text_view v, size_t p) {
    size_t q = p, l;
    while (q < v.n && is_ds_cjk(cp_at(v, q, &l))) q += l;
    return q - p;
}

/* \s+$ : only the whitespace run that ends the piece matches; found in one
 * pass (trying every position would be quadratic in a long run). */
static size_t find_trailing_space(text_view v, size_t p, size_t *start) {
    size_t run = v.n;
    for (size_t q = p; q < v.n;) {
        uchar c = char_at(v, q);
        if (c.cls == LC_TOK_UNI_SPACE) {
            if (run == v.n) run = q;
        } else {
            run = v.n;
        }
        q += c.len;
    }
    *start = run;
    return v.n - run;
}

/* ---- the chains ----------------------------------------------------------- */

typedef size_t (*match_fn)(text_view v, size_t p);          /* length of the match at p, 0: none */
typedef size_t (*find_fn)(text_view v, size_t p, size_t *start); /* leftmost match at or after p   */

typedef struct {
    match_fn match; /* NULL when find is given */
    find_fn find;
} stage;

typedef struct {
    int n;
    stage st[LC_PRE_MAX_STAGES];
} chain;

static const chain CHAINS[LC_PRE_COUNT] = {
    [LC_PRE_GPT2] = {1, {{match_gpt2, NULL}}},
    [LC_PRE_LLAMA3] = {1, {{match_llama3, NULL}}},
    [LC_PRE_QWEN2] = {1, {{match_qwen2, NULL}}},
    [LC_PRE_GPT4O] = {1, {{match_gpt4o, NULL}}},
    [LC_PRE_COMMAND_R] = {2, {{match_one_number, NULL}, {match_gpt2, NULL}}},
    [LC_PRE_DEEPSEEK_LLM] = {6,
                             {{match_cr_lf, NULL},
                              {match_ds_letters, NULL},
                              {match_ds_punct, NULL},
                              {NULL, find_trailing_space},
                              {match_ds_cjk, NULL},
                              {match_numbers, NULL}}},
    [LC_PRE_GEMMA4] = {1, {{match_lines, NULL}}},
};

/* Leftmost match of stage s in v at or after p: its start in *start and its
 * length (0 and *start = v.n when there is none). Every match function fails
 * in O(1) at a position where no match starts. */
static size_t stage_find(const stage *s, text_view v, size_t p, size_t *start) {
    if (s->find) return s->find(v, p, start);
    while (p < v.n) {
        size_t m = s->match(v, p);
        if (m) {
            *start = p;
            return m;
        }
        p += lc_tok_utf8_unit_len(v.s + p, v.n - p);
    }
    *start = v.n;
    return 0;
}

void lc_tok_pretok_begin(lc_tok_pretok_iter *it, lc_pre_kind kind, const char *text, size_t len) {
    memset(it, 0, sizeof *it);
    it->kind = (unsigned)kind < LC_PRE_COUNT ? kind : LC_PRE_GPT2;
    it->text = text;
    it->len = len;
}

size_t lc_tok_pretok_iter_next(lc_tok_pretok_iter *it) {
    const chain *c = &CHAINS[it->kind];
    size_t pos = it->pos;
    if (pos >= it->len) return 0;
    bool fresh = false; /* the stage above started a new piece */
    for (int i = 0; i < c->n; i++) {
        if (!fresh && pos < it->st[i].end) continue;
        size_t parent_end = i == 0 ? it->len : it->st[i - 1].end;
        text_view v = {(const unsigned char *)it->text, parent_end};
        if (fresh) it->st[i].m_len = 0; /* a cached match belonged to the old piece */
        if (it->st[i].m_len == 0) it->st[i].m_len = stage_find(&c->st[i], v, pos, &it->st[i].m_start);
        size_t end;
        if (it->st[i].m_len == 0) end = parent_end; /* a gap to the end */
        else if (it->st[i].m_start > pos) end = it->st[i].m_start; /* the gap before the match */
        else end = pos + it->st[i].m_len, it->st[i].m_len = 0; /* the match */
        it->st[i].end = end;
        fresh = true;
    }
    size_t n = it->st[c->n - 1].end - pos;
    if (n == 0) n = 1; /* cannot happen; guarantees progress */
    it->pos = pos + n;
    return n;
}

size_t lc_tok_pretok_next(lc_pre_kind kind, const char *text, size_t len, size_t pos) {
    if ((unsigned)kind >= LC_PRE_COUNT || CHAINS[kind].n != 1 || !CHAINS[kind].st[0].match) kind = LC_PRE_GPT2;
    text_view v = {(const unsigned char *)text, len};
    size_t n = CHAINS[kind].st[0].match(v, pos);
    return n ? n : 1; /* cannot happen; guarantees progress */
}

/* ---- names ------------------------------------------------------------------
 * The names llama.cpp gives these expressions (tokenizer.ggml.pre). */
static const struct {
    const char *name;
    lc_pre_kind kind;
} NAMES[] = {
    {"gpt-2", LC_PRE_GPT2},         {"gpt2", LC_PRE_GPT2},           {"llama-bpe", LC_PRE_LLAMA3},
    {"llama3", LC_PRE_LLAMA3},      {"llama-v3", LC_PRE_LLAMA3},     {"qwen2", LC_PRE_QWEN2},
    {"gpt-4o", LC_PRE_GPT4O},       {"command-r", LC_PRE_COMMAND_R}, {"deepseek-llm", LC_PRE_DEEPSEEK_LLM},
    {"gemma4", LC_PRE_GEMMA4},
};

bool lc_tok_pre_from_name(const char *name, lc_pre_kind *kind) {
    for (size_t i = 0; i < LC_ARRAY_LEN(NAMES); i++)
        if (strcmp(name, NAMES[i].name) == 0) return *kind = NAMES[i].kind, true;
    *kind = LC_PRE_GPT2;
    return false;
}

const char *lc_tok_pre_known_names(void) {
    return "gpt-2 (gpt2), llama-bpe (llama3, llama-v3), qwen2, gpt-4o, command-r, deepseek-llm";
}
