/*
 * Filler text: varied, natural-looking English generated from the word lists
 * (wordlist.c) by sentence templates, grouped in short paragraphs about one
 * topic with pronouns; and user haystacks split into sentences.
 *
 * Templates (S = subject: a name, a noun phrase, or the topic's pronoun):
 *   S VERB DET [ADJ] OBJECT [PREP the [ADJ] PLACE].
 *   S VERB [ADVERB] [PREP the PLACE].
 *   TIME, s VERB ...                     S VERB to the PLACE [TIME].
 *   S was ADJ [and ADJ].                 S VERB DET OBJECT, and s VERB [ADVERB].
 *   There was a [ADJ] THING PREP the PLACE.   The NOUN EVENT-VERB [PREP ...].
 *   The PLACE was ADJ [and ADJ].         It was a ADJ day.
 * Only integer random numbers are used, so the text is the same everywhere.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

enum { TOPIC_NONE = 0, TOPIC_NAME, TOPIC_PERSON, TOPIC_ANIMAL, TOPIC_GROUP };
enum { PRON_HE = 0, PRON_SHE, PRON_THEY, PRON_IT };
static const char *const pronouns[] = {"he", "she", "they", "it"};

/* ---- A bounded sentence builder ----------------------------------------- */

typedef struct {
    char *p; /* [LC_FILLER_SENTENCE_MAX] */
    size_t len;
} sbuf;

static void sb_raw(sbuf *s, const char *w) {
    size_t n = strlen(w);
    if (s->len + n + 2 > LC_FILLER_SENTENCE_MAX) return; /* templates stay far below the cap */
    memcpy(s->p + s->len, w, n);
    s->len += n;
    s->p[s->len] = '\0';
}

/* Append a word (or words), with a space before unless at the start. */
static void sb_word(sbuf *s, const char *w) {
    if (s->len > 0) sb_raw(s, " ");
    sb_raw(s, w);
}

static uint64_t below(lc_filler *f, uint64_t n) { return lc_rng_below(&f->rng, n); }
static bool chance(lc_filler *f, int percent) { return (int)below(f, 100) < percent; }
static const char *pick_str(lc_filler *f, const wl_strings *w) { return w->items[below(f, w->n)]; }

static size_t pick_noun(lc_filler *f, uint8_t mask) {
    for (;;) {
        size_t i = (size_t)below(f, lc_wl_n_nouns);
        if (lc_wl_nouns[i].cls & mask) return i;
    }
}

static const char *pick_adj(lc_filler *f, uint8_t cls) {
    for (;;) {
        const wl_adj *a = &lc_wl_adjs[below(f, lc_wl_n_adjs)];
        if (a->cls & cls) return a->word;
    }
}

/* A verb whose subject class matches and that is transitive (obj != 0) or not. */
static const wl_verb *pick_verb(lc_filler *f, uint8_t subj, bool transitive) {
    for (;;) {
        const wl_verb *v = &lc_wl_verbs[below(f, lc_wl_n_verbs)];
        if ((v->subj & subj) && ((v->obj != 0) == transitive)) return v;
    }
}

/* A preposition that takes a location of one of the classes in mask. */
static const wl_prep *pick_prep(lc_filler *f, uint8_t mask) {
    for (;;) {
        const wl_prep *p = &lc_wl_preps[below(f, lc_wl_n_preps)];
        if (p->obj & mask) return p;
    }
}

static bool starts_with_vowel(const char *w) { return strchr("aeiou", w[0]) != NULL; }

/* DET [ADJ] NOUN for a noun of class mask; singular or plural. */
static void noun_phrase(lc_filler *f, sbuf *s, uint8_t mask, bool plural, int adj_percent) {
    const wl_noun *n = &lc_wl_nouns[pick_noun(f, mask)];
    const char *adj = chance(f, adj_percent) ? pick_adj(f, n->cls) : NULL;
    const char *det = pick_str(f, plural ? &lc_wl_det_pl : &lc_wl_det_sg);
    const char *next = adj ? adj : (plural ? n->pl : n->sg);
    if (strcmp(det, "a") == 0 && starts_with_vowel(next)) det = "an";
    if (!plural && strcmp(det, "every") == 0 && adj) det = "the";
    sb_word(s, det);
    if (adj) sb_word(s, adj);
    sb_word(s, plural ? n->pl : n->sg);
}

/* PREP the [ADJ] LOCATION, the location of a class in mask. */
static void prep_phrase_in(lc_filler *f, sbuf *s, uint8_t mask) {
    const wl_prep *p = pick_prep(f, mask);
    const wl_noun *n = &lc_wl_nouns[pick_noun(f, p->obj & mask)];
    sb_word(s, p->word);
    sb_word(s, "the");
    if (chance(f, 30)) sb_word(s, pick_adj(f, n->cls));
    sb_word(s, n->sg);
}

static void prep_phrase(lc_filler *f, sbuf *s) { prep_phrase_in(f, s, WL_LOCATION | WL_PATH); }

/* ---- Subjects and paragraphs -------------------------------------------- */

typedef struct {
    char text[96];
    uint8_t cls;
    bool plural;
} subject;

static void subject_set(subject *sub, const char *text, uint8_t cls, bool plural) {
    snprintf(sub->text, sizeof sub->text, "%s", text);
    sub->cls = cls;
    sub->plural = plural;
}

static uint8_t topic_class(const lc_filler *f) { return f->cls ? f->cls : WL_PERSON; }

static void new_topic(lc_filler *f) {
    f->left = 3 + (int)below(f, 4);
    f->np[0] = f->ref[0] = '\0';
    f->cls = WL_PERSON;
    char buf[LC_FILLER_SENTENCE_MAX];
    sbuf s = {buf, 0};
    buf[0] = '\0';
    uint64_t r = below(f, 100);
    if (r < 10) {
        f->topic = TOPIC_NONE;
        f->pron = PRON_IT;
    } else if (r < 45) {
        const wl_name *n = &lc_wl_names[below(f, lc_wl_n_names)];
        f->topic = TOPIC_NAME;
        f->pron = n->female ? PRON_SHE : PRON_HE;
        snprintf(f->np, sizeof f->np, "%s", n->name);
        snprintf(f->ref, sizeof f->ref, "%s", n->name);
    } else if (r < 85) {
        bool animal = r >= 70;
        const wl_noun *n = &lc_wl_nouns[pick_noun(f, animal ? WL_ANIMAL : WL_PERSON)];
        f->topic = animal ? TOPIC_ANIMAL : TOPIC_PERSON;
        f->cls = animal ? WL_ANIMAL : WL_PERSON;
        f->pron = animal ? PRON_IT : (chance(f, 50) ? PRON_SHE : PRON_HE);
        if (strcmp(n->sg, "woman") == 0 || strcmp(n->sg, "girl") == 0 || strcmp(n->sg, "queen") == 0)
            f->pron = PRON_SHE;
        if (strcmp(n->sg, "man") == 0 || strcmp(n->sg, "boy") == 0 || strcmp(n->sg, "king") == 0 ||
            strcmp(n->sg, "fisherman") == 0)
            f->pron = PRON_HE;
        const char *adj = chance(f, 70) ? pick_adj(f, n->cls) : NULL;
        const char *det = chance(f, 50) ? "the" : "a";
        if (strcmp(det, "a") == 0 && starts_with_vowel(adj ? adj : n->sg)) det = "an";
        sb_word(&s, det);
        if (adj) sb_word(&s, adj);
        sb_word(&s, n->sg);
        snprintf(f->np, sizeof f->np, "%s", buf);
        snprintf(f->ref, sizeof f->ref, "the %s", n->sg);
    } else {
        bool animal = chance(f, 30);
        const wl_noun *n = &lc_wl_nouns[pick_noun(f, animal ? WL_ANIMAL : WL_PERSON)];
        f->topic = TOPIC_GROUP;
        f->pron = PRON_THEY;
        f->cls = animal ? WL_ANIMAL : WL_PERSON;
        const char *det = pick_str(f, &lc_wl_det_pl);
        sb_word(&s, det);
        if (chance(f, 40)) sb_word(&s, pick_adj(f, n->cls));
        sb_word(&s, n->pl);
        snprintf(f->np, sizeof f->np, "%s", buf);
        snprintf(f->ref, sizeof f->ref, "the %s", n->pl);
    }
}

/* The subject of the next sentence: the topic (first mention in full, then
 * mostly a pronoun), or someone new. */
static void next_subject(lc_filler *f, bool first, subject *sub) {
    if (f->topic == TOPIC_NONE || (!first && chance(f, 15))) {
        char buf[LC_FILLER_SENTENCE_MAX];
        sbuf s = {buf, 0};
        buf[0] = '\0';
        if (chance(f, 35)) {
            const wl_name *n = &lc_wl_names[below(f, lc_wl_n_names)];
            subject_set(sub, n->name, WL_PERSON, false);
            return;
        }
        bool plural = chance(f, 30);
        uint8_t cls = chance(f, 70) ? WL_PERSON : WL_ANIMAL;
        noun_phrase(f, &s, cls, plural, 40);
        subject_set(sub, buf, cls, plural);
        return;
    }
    bool plural = f->topic == TOPIC_GROUP;
    if (first) subject_set(sub, f->np, topic_class(f), plural);
    else if (chance(f, 70)) subject_set(sub, pronouns[f->pron], topic_class(f), plural);
    else subject_set(sub, f->ref, topic_class(f), plural);
}

/* ---- Templates ---------------------------------------------------------- */

static void clause_transitive(lc_filler *f, sbuf *s, const subject *sub) {
    const wl_verb *v = pick_verb(f, sub->cls, true);
    sb_word(s, sub->text);
    sb_word(s, v->word);
    uint8_t obj = v->obj;
    const char *name = lc_wl_names[below(f, lc_wl_n_names)].name;
    bool self = strcmp(name, sub->text) == 0 || (f->topic == TOPIC_NAME && strcmp(name, f->np) == 0);
    if ((obj & WL_PERSON) && !self && chance(f, 30)) {
        sb_word(s, name);
    } else {
        noun_phrase(f, s, obj, chance(f, 20), 45);
    }
}

/* An adverb that agrees with the subject ("together" needs several). */
static const char *pick_adverb(lc_filler *f, bool plural) {
    const char *a = pick_str(f, &lc_wl_adverbs);
    if (!plural && strcmp(a, "together") == 0) return "alone";
    if (plural && strcmp(a, "alone") == 0) return "together";
    return a;
}

static void clause_intransitive(lc_filler *f, sbuf *s, const subject *sub, bool allow_pp) {
    const wl_verb *v = pick_verb(f, sub->cls, false);
    sb_word(s, sub->text);
    sb_word(s, v->word);
    if (chance(f, 40)) sb_word(s, pick_adverb(f, sub->plural));
    if (allow_pp && chance(f, 55)) prep_phrase(f, s);
}

static void sentence_about(lc_filler *f, sbuf *s, const subject *sub) {
    uint64_t t = below(f, 100);
    if (t < 26) {
        clause_transitive(f, s, sub);
        if (chance(f, 40)) prep_phrase(f, s);
    } else if (t < 42) {
        clause_intransitive(f, s, sub, true);
    } else if (t < 54) {
        const char *opener = pick_str(f, &lc_wl_time_openers);
        sb_word(s, opener);
        sb_raw(s, ",");
        if (chance(f, 50)) clause_transitive(f, s, sub); /* subjects are lower case but for names */
        else clause_intransitive(f, s, sub, true);
    } else if (t < 66) {
        const wl_verb *v;
        do {
            v = &lc_wl_motion_verbs[below(f, lc_wl_n_motion_verbs)];
        } while (!(v->subj & sub->cls));
        sb_word(s, sub->text);
        sb_word(s, v->word);
        sb_word(s, "to the");
        if (chance(f, 25)) sb_word(s, pick_adj(f, WL_PLACE));
        sb_word(s, lc_wl_nouns[pick_noun(f, WL_PLACE)].sg);
        if (chance(f, 40)) sb_word(s, pick_str(f, &lc_wl_time_tails));
    } else if (t < 76) {
        sb_word(s, sub->text);
        sb_word(s, sub->plural ? "were" : "was");
        sb_word(s, pick_adj(f, sub->cls));
        if (chance(f, 40)) {
            sb_word(s, "and");
            sb_word(s, pick_adj(f, sub->cls));
        }
    } else if (t < 90) {
        clause_transitive(f, s, sub);
        sb_raw(s, ",");
        sb_word(s, pick_str(f, &lc_wl_conj));
        subject other;
        if (chance(f, 50) && f->topic != TOPIC_NONE) subject_set(&other, pronouns[f->pron], topic_class(f), f->topic == TOPIC_GROUP);
        else next_subject(f, false, &other);
        clause_intransitive(f, s, &other, false);
    } else {
        clause_intransitive(f, s, sub, false);
        sb_word(s, chance(f, 50) ? "while" : "when");
        subject other;
        next_subject(f, false, &other);
        clause_intransitive(f, s, &other, true);
    }
}

static void sentence_scene(lc_filler *f, sbuf *s) {
    uint64_t t = below(f, 100);
    if (t < 25) {
        bool plural = chance(f, 35);
        sb_word(s, plural ? "there were" : "there was");
        if (plural) {
            const wl_noun *n = &lc_wl_nouns[pick_noun(f, WL_THING | WL_ANIMAL)];
            sb_word(s, chance(f, 50) ? "some" : "many");
            if (chance(f, 40)) sb_word(s, pick_adj(f, n->cls));
            sb_word(s, n->pl);
        } else {
            const wl_noun *n = &lc_wl_nouns[pick_noun(f, WL_THING | WL_ANIMAL | WL_FIXTURE)];
            const char *adj = chance(f, 50) ? pick_adj(f, n->cls) : NULL;
            sb_word(s, starts_with_vowel(adj ? adj : n->sg) ? "an" : "a");
            if (adj) sb_word(s, adj);
            sb_word(s, n->sg);
        }
        prep_phrase(f, s);
    } else if (t < 50) {
        const wl_event *e = &lc_wl_events[below(f, lc_wl_n_events)];
        sb_word(s, "the");
        sb_word(s, e->noun);
        sb_word(s, e->verb);
        if (chance(f, 40)) sb_word(s, chance(f, 50) ? "slowly" : "softly");
        if (chance(f, 50)) prep_phrase_in(f, s, WL_PLACE | WL_PATH);
    } else if (t < 75) {
        const wl_noun *n = &lc_wl_nouns[pick_noun(f, WL_PLACE | WL_FIXTURE | WL_THING)];
        sb_word(s, "the");
        sb_word(s, n->sg);
        if ((n->cls & (WL_THING | WL_FIXTURE)) && chance(f, 40)) prep_phrase(f, s);
        sb_word(s, "was");
        sb_word(s, pick_adj(f, n->cls));
        if (chance(f, 35)) {
            sb_word(s, "and");
            sb_word(s, pick_adj(f, n->cls));
        }
    } else {
        sb_word(s, "it was a");
        sb_word(s, pick_str(f, &lc_wl_day_adjs));
        sb_word(s, pick_str(f, &lc_wl_day_words));
    }
}

void lc_filler_init(lc_filler *f, uint64_t seed) {
    memset(f, 0, sizeof *f);
    lc_rng_seed(&f->rng, seed ^ 0x66696c6c6572ull); /* "filler" */
}

size_t lc_filler_next(lc_filler *f, char *buf) {
    sbuf s = {buf, 0};
    buf[0] = '\0';
    bool first = false;
    if (f->left <= 0) {
        new_topic(f);
        first = true;
    }
    f->left--;
    if (f->topic == TOPIC_NONE || (!first && chance(f, 20))) {
        sentence_scene(f, &s);
    } else {
        subject sub;
        next_subject(f, first, &sub);
        sentence_about(f, &s, &sub);
    }
    sb_raw(&s, ".");
    buf[0] = (char)toupper((unsigned char)buf[0]);
    return s.len;
}

size_t lc_filler_text(uint64_t seed, int64_t n_sentences, char *buf, size_t cap) {
    lc_filler f;
    lc_filler_init(&f, seed);
    char sent[LC_FILLER_SENTENCE_MAX];
    size_t need = 0;
    for (int64_t i = 0; i < n_sentences; i++) {
        size_t n = lc_filler_next(&f, sent);
        if (i > 0) {
            if (need < cap) buf[need] = ' ';
            need++;
        }
        if (need < cap) memcpy(buf + need, sent, LC_MIN(n, cap - need));
        need += n;
    }
    if (cap > 0) buf[LC_MIN(need, cap - 1)] = '\0';
    return need;
}

/* ---- User haystacks ----------------------------------------------------- */

/* Longest sentence kept whole; longer runs are split at a space (or hard). */
#define HAYSTACK_SENTENCE_MAX 1024

/* Close the sentence t[*start, *o): NUL-terminate it (if not empty). */
static void end_sentence(char *t, size_t *o, size_t *start, int64_t *n) {
    if (*o > *start) {
        t[(*o)++] = '\0';
        (*n)++;
    }
    *start = *o;
}

lc_status lc_haystack_create(const char *text, size_t len, lc_haystack **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_haystack_create: NULL output");
    *out = NULL;
    if (!text && len > 0) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_haystack_create: NULL text");
    /* The normalised text is never longer than the input plus one NUL per
     * forced cut (one per HAYSTACK_SENTENCE_MAX bytes) plus the last NUL. */
    size_t tcap;
    if (!lc_add_size(len, len / HAYSTACK_SENTENCE_MAX + 2, &tcap))
        return lc_fail(err, LC_ERR_TOO_LARGE, "haystack: text too large");
    lc_haystack *h = calloc(1, sizeof *h);
    char *t = h ? malloc(tcap) : NULL;
    if (!t) {
        free(h);
        return lc_fail(err, LC_ERR_NOMEM, "haystack: out of memory for %zu bytes", len);
    }
    h->text = t;
    /* Normalise white space runs to one space and end sentences (NUL) after
     * . ! ? followed by white space, at blank lines, and at
     * HAYSTACK_SENTENCE_MAX bytes (at the last space when there is one). */
    size_t o = 0, start = 0;
    int64_t n = 0;
    bool pending_space = false;
    int newlines = 0; /* in the current white space run */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0) continue; /* NUL bytes would end the C strings: dropped */
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            if (c == '\n') newlines++;
            char prev = o > start ? t[o - 1] : 0;
            if (prev == '.' || prev == '!' || prev == '?') {
                end_sentence(t, &o, &start, &n);
                pending_space = false;
            } else if (o > start) {
                pending_space = true;
            }
            continue;
        }
        if (newlines >= 2) { /* a blank line ends a sentence (a title, a list item) */
            end_sentence(t, &o, &start, &n);
            pending_space = false;
        }
        newlines = 0;
        if (pending_space) t[o++] = ' ';
        pending_space = false;
        t[o++] = (char)c;
        if (o - start >= HAYSTACK_SENTENCE_MAX) {
            /* Too long: cut at a space in its second half, or else between
             * two UTF-8 characters (one NUL inserted; capacity allows it). */
            size_t half = start + HAYSTACK_SENTENCE_MAX / 2, sp = o;
            while (sp > half && t[sp - 1] != ' ') sp--;
            if (sp > half) {
                t[sp - 1] = '\0';
                n++;
                start = sp;
            } else {
                size_t q = o;
                while (q > start + 1 && ((unsigned char)t[q - 1] & 0xC0) == 0x80) q--;
                if (q > start + 1 && (unsigned char)t[q - 1] >= 0xC0) q--;
                if (q <= start || o - q > 4) q = o; /* not UTF-8: cut anywhere */
                memmove(t + q + 1, t + q, o - q);
                t[q] = '\0';
                o++;
                n++;
                start = q + 1;
            }
        }
    }
    end_sentence(t, &o, &start, &n);
    h->text_len = o;
    if (n == 0) {
        lc_haystack_free(h);
        return lc_fail(err, LC_ERR_INVALID_ARG, "haystack: the text holds no sentence");
    }
    size_t bytes;
    if (!lc_mul_size((size_t)n, sizeof(size_t), &bytes)) {
        lc_haystack_free(h);
        return lc_fail(err, LC_ERR_TOO_LARGE, "haystack: too many sentences");
    }
    h->off = malloc(bytes);
    h->len = malloc(bytes);
    if (!h->off || !h->len) {
        lc_haystack_free(h);
        return lc_fail(err, LC_ERR_NOMEM, "haystack: out of memory");
    }
    int64_t k = 0;
    for (size_t p = 0; p < o && k < n;) {
        size_t l = strlen(t + p);
        h->off[k] = p;
        h->len[k] = l;
        k++;
        p += l + 1;
    }
    h->n = k;
    *out = h;
    return LC_OK;
}

lc_status lc_haystack_load(const char *path, lc_haystack **out, lc_error *err) {
    if (!out || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_haystack_load: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lc_fail(err, LC_ERR_IO, "haystack %s: %s", path, strerror(errno));
    lc_status st = LC_OK;
    char *buf = NULL;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        st = lc_fail(err, LC_ERR_IO, "haystack %s: cannot determine its size", path);
        goto done;
    }
    if ((uint64_t)size > ((uint64_t)1 << 30)) {
        st = lc_fail(err, LC_ERR_TOO_LARGE, "haystack %s: %ld bytes (more than 1 GiB)", path, size);
        goto done;
    }
    size_t avail = lc_mem_available_bytes();
    if (avail && (uint64_t)size * 3 > avail) {
        st = lc_fail(err, LC_ERR_TOO_LARGE, "haystack %s: %ld bytes would not fit in available memory", path, size);
        goto done;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        st = lc_fail(err, LC_ERR_NOMEM, "haystack %s: out of memory", path);
        goto done;
    }
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        st = lc_fail(err, LC_ERR_IO, "haystack %s: short read", path);
        goto done;
    }
    st = lc_haystack_create(buf, (size_t)size, out, err);
    if (st != LC_OK) {
        char msg[LC_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        lc_fail(err, st, "%s (%s)", msg, path);
    }
done:
    free(buf);
    fclose(fp);
    return st;
}

void lc_haystack_free(lc_haystack *h) {
    if (!h) return;
    free(h->text);
    free(h->off);
    free(h->len);
    free(h);
}

int64_t lc_haystack_n_sentences(const lc_haystack *h) { return h ? h->n : 0; }

/* ---- Small shared helpers ------------------------------------------------ */

void lc_buf_put(lc_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    size_t need;
    if (!lc_add_size(b->len, n + 1, &need)) {
        b->failed = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (!lc_mul_size(cap, 2, &cap)) {
                b->failed = true;
                return;
            }
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lc_buf_puts(lc_buf *b, const char *s) { lc_buf_put(b, s, strlen(s)); }

void lc_buf_free(lc_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

uint64_t lc_data_mix_seed(uint64_t seed, uint64_t index) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
