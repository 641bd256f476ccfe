/*
 * longctx/util.h — small helpers the library and its callers share: checked
 * size and integer arithmetic (every count a file or a command line gives
 * goes through these before it sizes anything), a seeded random generator
 * (splitmix64 seeding xoshiro256**: the same stream for a seed on every
 * machine and thread count) and byte formatting.
 */
#ifndef LONGCTX_UTIL_H
#define LONGCTX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "longctx/common.h"
#include "longctx/sys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define LC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Checked arithmetic: return false on overflow (result undefined then). */
static inline bool lc_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool lc_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
/* a*b*c with overflow check. */
static inline bool lc_mul3_size(size_t a, size_t b, size_t c, size_t *out) {
    size_t t;
    return lc_mul_size(a, b, &t) && lc_mul_size(t, c, out);
}
static inline bool lc_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool lc_add_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
/* a + b clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t lc_sat_add_i64(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}
/* The same, named for what they answer: a + b (a * b) fits and lies in
 * [lo, hi]. Every count a command line or a file gives goes through these
 * (or the size_t forms above) before it sizes anything. */
static inline bool lc_add_ok(int64_t a, int64_t b, int64_t lo, int64_t hi, int64_t *out) {
    return lc_add_i64(a, b, out) && *out >= lo && *out <= hi;
}
static inline bool lc_mul_ok(int64_t a, int64_t b, int64_t lo, int64_t hi, int64_t *out) {
    return lc_mul_i64(a, b, out) && *out >= lo && *out <= hi;
}

/* ---- Random numbers: splitmix64 seeding a xoshiro256** stream ---------- */
typedef struct {
    uint64_t s[4];
} lc_rng;

void lc_rng_seed(lc_rng *r, uint64_t seed);
uint64_t lc_rng_u64(lc_rng *r);
/* Uniform in [0, 1). */
float lc_rng_uniform(lc_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t lc_rng_below(lc_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
float lc_rng_normal(lc_rng *r);

/* ---- Small numerics ----------------------------------------------------- */
/* log(exp(a) + exp(b)) that handles -inf on either side. */
float lc_logaddexp(float a, float b);

/* The whole file at path into *out (NUL-terminated, the caller frees it) and
 * its length into *len (may be NULL). Refuses a file larger than max_bytes
 * before allocating: LC_ERR_TOO_LARGE "PATH: larger than 1.0 MiB"; LC_ERR_IO
 * "cannot open PATH: why" / "PATH: cannot size" / "cannot read PATH". */
lc_status lc_read_file(const char *path, size_t max_bytes, char **out, size_t *len, lc_error *err);
/* The rest of an open stream (a pipe, stdin: no size known) the same way:
 * growing as it reads, refusing more than max_bytes (LC_ERR_TOO_LARGE "NAME:
 * larger than 256.0 MiB"), LC_ERR_IO "cannot read NAME: why". The stream is
 * not closed; name is only for messages. */
lc_status lc_read_stream(FILE *f, const char *name, size_t max_bytes, char **out, size_t *len, lc_error *err);
/* What a user names as input: path "-" is standard input, anything else a
 * file (or a named pipe) opened and read as a stream (lc_read_stream; at most
 * max_bytes, LC_ERR_IO "cannot open PATH: why" when it cannot be opened). */
lc_status lc_read_input(const char *path, size_t max_bytes, char **out, size_t *len, lc_error *err);

/* "1.5 GiB", "512 B", "2.0 TiB" (binary units) into buf; returns buf. */
const char *lc_format_bytes(double bytes, char *buf, size_t len);
/* A size such as "512", "64K", "1.5M", "2GiB" or "8MB" (K, M, G: x1024 each,
 * any case; "i", "B" or "iB" may follow) into *out; false on anything else,
 * a negative size or one past 2^50 bytes. */
bool lc_parse_bytes(const char *s, size_t *out);

/* Seconds as "42s", "3m05s" or "2h07m" (rounded to the second), "?" when
 * not finite or negative; into buf, returns buf. */
const char *lc_format_duration(double seconds, char *buf, size_t len);

/* Numbers from text a user typed (flags, specs): the whole string must be the
 * number (decimal; integers may end in K, M or G: x1024, x1024^2, x1024^3,
 * applied with checked arithmetic) and lie in [lo, hi]; false on junk,
 * overflow or out of range, *out untouched then. Reals: finite, strtod's
 * syntax; an underflow to a tiny number is accepted. */
bool lc_parse_i64_in(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool lc_parse_double_in(const char *s, double lo, double hi, double *out);
/* A comma-separated list of such integers ("1K,4K,16384"), each in [lo, hi],
 * at most max of them, into out[0..*n); false on an empty entry or list. */
bool lc_parse_i64_list(const char *s, int64_t lo, int64_t hi, int64_t *out, int max, int *n);

/* "PROG ARG1 ARG2 ..." (a command line as typed, for a report) into buf,
 * cut to len - 1 bytes; returns buf. */
const char *lc_join_args(const char *prog, int argc, char *const *argv, char *buf, size_t len);

/* Optimal-string-alignment distance between a[0..la) and b[0..lb)
 * (insertions, deletions, substitutions and swaps of neighbours: "--tmep"
 * is 1 from "--temp"); -1 when either is longer than 64 bytes. */
int lc_edit_distance(const char *a, size_t la, const char *b, size_t lb);
/* That distance when c is close enough to be a typo of w (at least 1, at
 * most a third of the longer of the two), else -1. */
int lc_typo_distance(const char *w, size_t lw, const char *c, size_t lc);
/* The nearest of n words to w that is a typo of it (lc_typo_distance; the
 * first of equals), or NULL. */
const char *lc_nearest_word(const char *w, const char *const *words, int n);

/* A progress line, "\r<what> done/total (pct%) elapsed 1m05s ETA 2m10s",
 * redrawn on f at most 10 times a second, only when f is a terminal (tty;
 * a caller may set it). Off a terminal, with stages set to a prefix, one line
 * a stage instead: "PREFIX: STAGE (12 s elapsed, about 540 s planned)" each
 * time the stage (what up to its first ':'; a what without one has none)
 * changes; total is then the planned seconds. */
typedef struct {
    FILE *f;
    double start, last_draw;
    bool tty, drawn;
    const char *stages;  /* NULL: nothing off a terminal */
    char last_stage[64];
} lc_progress_line;
void lc_progress_line_init(lc_progress_line *p, FILE *f);
void lc_progress_line_update(lc_progress_line *p, double done, double total, const char *what);
/* Erase the line (when drawn). */
void lc_progress_line_clear(lc_progress_line *p);
/* An lc_progress_fn drawing through the lc_progress_line user points to. */
bool lc_progress_line_cb(void *user, double done, double total, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_UTIL_H */
