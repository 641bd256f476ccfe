/*
 * Task mixtures ("passkey:0.4,multikey:0.2,vt:0.2,filler:0.2") and the
 * training stream: row r of the stream is a pure function of (config,
 * tokenizer, r), so its position is its whole state.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- Parsing -------------------------------------------------------------- */

static bool parse_int_field(const char *v, int32_t *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < INT32_MIN || x > INT32_MAX) return false;
    *out = (int32_t)x;
    return true;
}

static bool parse_double_field(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return false;
    *out = x;
    return true;
}

/* One option "name=value" of an entry. */
static lc_status parse_option(const char *opt, lc_task_spec *s, lc_error *err) {
    const char *eq = strchr(opt, '=');
    if (!eq) return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: option '%s' is not NAME=VALUE", opt);
    size_t nl = (size_t)(eq - opt);
    const char *v = eq + 1;
    struct {
        const char *name;
        int32_t *field;
    } ints[] = {{"digits", &s->digits}, {"keys", &s->n_keys},     {"values", &s->n_values},
                {"queries", &s->n_queries}, {"chains", &s->n_chains}, {"hops", &s->n_hops}};
    for (size_t i = 0; i < LC_ARRAY_LEN(ints); i++) {
        if (strlen(ints[i].name) == nl && strncmp(opt, ints[i].name, nl) == 0) {
            if (!parse_int_field(v, ints[i].field))
                return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: %s needs an integer, got '%s'", ints[i].name, v);
            return LC_OK;
        }
    }
    if (nl == 5 && strncmp(opt, "depth", 5) == 0) {
        if (!parse_double_field(v, &s->depth))
            return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: depth needs a number, got '%s'", v);
        return LC_OK;
    }
    return lc_fail(err, LC_ERR_INVALID_ARG,
                   "task mixture: unknown option '%.*s' (expected digits, keys, values, queries, chains, hops, depth)",
                   (int)nl, opt);
}

lc_status lc_task_mix_parse(const char *str, lc_task_mix *mix, lc_error *err) {
    if (!str || !mix) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_task_mix_parse: NULL argument");
    memset(mix, 0, sizeof *mix);
    size_t len = strlen(str);
    if (len == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: empty");
    if (len > 4096) return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: longer than 4096 characters");
    char buf[4097];
    memcpy(buf, str, len + 1);
    double total = 0;
    char *save_entry = NULL;
    for (char *entry = strtok_r(buf, ",", &save_entry); entry; entry = strtok_r(NULL, ",", &save_entry)) {
        if (mix->n == LC_TASK_MIX_MAX)
            return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: more than %d entries", LC_TASK_MIX_MAX);
        char *save_field = NULL;
        char *name = strtok_r(entry, ":", &save_field);
        lc_task_kind kind;
        if (!name || !lc_task_kind_parse(name, &kind))
            return lc_fail(err, LC_ERR_INVALID_ARG,
                           "task mixture: unknown task '%s' (expected passkey, multikey, multivalue, multiquery, vt, "
                           "filler)",
                           name ? name : "");
        lc_task_spec *s = &mix->specs[mix->n];
        lc_task_spec_init(s, kind, 512);
        double w = 1.0;
        bool first = true;
        for (char *f = strtok_r(NULL, ":", &save_field); f; f = strtok_r(NULL, ":", &save_field), first = false) {
            if (first && !strchr(f, '=')) {
                if (!parse_double_field(f, &w) || !(w > 0))
                    return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: weight '%s' of %s is not a number > 0", f, name);
                continue;
            }
            lc_status st = parse_option(f, s, err);
            if (st != LC_OK) return st;
        }
        lc_status st = lc_task_spec_check(s, err);
        if (st != LC_OK) return st;
        mix->weights[mix->n++] = w;
        total += w;
    }
    if (mix->n == 0) return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture '%s': no entries", str);
    if (!isfinite(total)) return lc_fail(err, LC_ERR_INVALID_ARG, "task mixture: weights overflow");
    for (int32_t i = 0; i < mix->n; i++) mix->weights[i] /= total;
    return LC_OK;
}

size_t lc_task_mix_format(const lc_task_mix *mix, char *buf, size_t cap) {
    lc_buf b = {0};
    lc_task_spec d;
    for (int32_t i = 0; mix && i < mix->n; i++) {
        const lc_task_spec *s = &mix->specs[i];
        lc_task_spec_init(&d, s->kind, s->n_tokens);
        char field[96];
        snprintf(field, sizeof field, "%s%s:%.17g", i ? "," : "", lc_task_kind_name(s->kind), mix->weights[i]);
        lc_buf_puts(&b, field);
        struct {
            const char *name;
            int32_t v, def;
        } ints[] = {{"digits", s->digits, d.digits},       {"keys", s->n_keys, d.n_keys},
                    {"values", s->n_values, d.n_values},    {"queries", s->n_queries, d.n_queries},
                    {"chains", s->n_chains, d.n_chains},    {"hops", s->n_hops, d.n_hops}};
        for (size_t k = 0; k < LC_ARRAY_LEN(ints); k++) {
            if (ints[k].v == ints[k].def) continue;
            snprintf(field, sizeof field, ":%s=%d", ints[k].name, (int)ints[k].v);
            lc_buf_puts(&b, field);
        }
        if (s->depth >= 0) {
            snprintf(field, sizeof field, ":depth=%.17g", s->depth);
            lc_buf_puts(&b, field);
        }
    }
    size_t need = b.failed ? 0 : b.len;
    if (cap > 0) {
        size_t n = LC_MIN(need, cap - 1);
        if (n) memcpy(buf, b.p, n);
        buf[n] = '\0';
    }
    lc_buf_free(&b);
    return need;
}

/* ---- The stream ------------------------------------------------------------ */

/* Attempts per row: a draw whose needles do not fit (e.g. long vt names with
 * a BPE tokenizer at small T) is redrawn from a derived seed. */
#define STREAM_ATTEMPTS 8

struct lc_task_stream {
    lc_task_stream_config cfg;
    const lc_tokenizer *tok;
    int64_t position;
};

void lc_task_stream_config_init(lc_task_stream_config *c) {
    memset(c, 0, sizeof *c);
    lc_task_mix_parse("passkey", &c->mix, NULL);
    c->seq_len = 512;
    c->seed = 1;
    for (int r = 0; r < LC_ROLE_COUNT; r++) c->role_weight[r] = 1.0f;
    c->role_weight[LC_ROLE_BOS] = 0.0f;
    c->haystack = NULL;
}

/* The mixture entry of row r: a draw from its own seed. */
static int32_t entry_at(const lc_task_stream *s, int64_t row) {
    lc_rng r;
    lc_rng_seed(&r, lc_data_mix_seed(s->cfg.seed ^ 0x6d69787475726eull, (uint64_t)row)); /* "mixturn" */
    double u = (double)(lc_rng_u64(&r) >> 11) * (1.0 / 9007199254740992.0);
    double acc = 0;
    for (int32_t i = 0; i < s->cfg.mix.n; i++) {
        acc += s->cfg.mix.weights[i];
        if (u < acc) return i;
    }
    for (int32_t i = s->cfg.mix.n - 1; i > 0; i--) /* rounding: the last entry with weight */
        if (s->cfg.mix.weights[i] > 0) return i;
    return 0;
}

lc_task_kind lc_task_stream_kind_at(const lc_task_stream *s, int64_t row) {
    return s->cfg.mix.specs[entry_at(s, row)].kind;
}

/* Row `row` as a sample of exactly T+1 tokens. */
static lc_status row_sample(const lc_task_stream *s, int64_t row, lc_task_sample *out, lc_error *err) {
    lc_task_spec spec = s->cfg.mix.specs[entry_at(s, row)];
    spec.n_tokens = s->cfg.seq_len + 1;
    spec.exact = true;
    spec.haystack = s->cfg.haystack;
    lc_status st = LC_OK;
    for (int a = 0; a < STREAM_ATTEMPTS; a++) {
        uint64_t seed = lc_data_mix_seed(lc_data_mix_seed(s->cfg.seed, (uint64_t)row), (uint64_t)a);
        st = lc_task_generate(&spec, s->tok, seed, out, err);
        if (st != LC_ERR_INVALID_ARG) break; /* INVALID_ARG here: this draw did not fit */
    }
    if (st == LC_OK && out->n_tokens != spec.n_tokens) {
        lc_task_sample_free(out);
        return lc_fail(err, LC_ERR_INTERNAL, "task stream: row %lld has %lld tokens, expected %lld", (long long)row,
                       (long long)out->n_tokens, (long long)spec.n_tokens);
    }
    return st;
}

lc_status lc_task_stream_create(const lc_task_stream_config *cfg, const lc_tokenizer *tok, lc_task_stream **out,
                                lc_error *err) {
    if (!cfg || !tok || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_task_stream_create: NULL argument");
    *out = NULL;
    if (cfg->seq_len < 1 || cfg->seq_len >= LC_TASK_MAX_TOKENS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: T = %lld is outside 1..%lld", (long long)cfg->seq_len,
                       (long long)LC_TASK_MAX_TOKENS - 1);
    if (cfg->mix.n < 1 || cfg->mix.n > LC_TASK_MIX_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: the mixture has %d entries (1..%d)", (int)cfg->mix.n,
                       LC_TASK_MIX_MAX);
    for (int r = 0; r < LC_ROLE_COUNT; r++)
        if (!isfinite(cfg->role_weight[r]))
            return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: role weight %d is not finite", r);
    lc_task_stream *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "task stream: out of memory");
    s->cfg = *cfg;
    s->tok = tok;
    double total = 0;
    for (int32_t i = 0; i < cfg->mix.n; i++) {
        double w = cfg->mix.weights[i];
        if (!(w >= 0) || !isfinite(w)) {
            free(s);
            return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: weight %g of entry %d is not >= 0", w, (int)i);
        }
        total += w;
    }
    if (!(total > 0) || !isfinite(total)) {
        free(s);
        return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: the mixture's weights sum to %g", total);
    }
    for (int32_t i = 0; i < cfg->mix.n; i++) s->cfg.mix.weights[i] /= total;
    /* every entry must fit in T+1 tokens */
    for (int32_t i = 0; i < cfg->mix.n; i++) {
        if (s->cfg.mix.weights[i] == 0) continue;
        lc_task_spec spec = cfg->mix.specs[i];
        spec.n_tokens = cfg->seq_len + 1;
        spec.exact = true;
        spec.haystack = cfg->haystack;
        /* every one of STREAM_ATTEMPTS draws must fit, so that rows rarely
         * need their redraws and practically never run out of them */
        lc_task_sample smp;
        lc_status st = LC_OK;
        for (int a = 0; a < STREAM_ATTEMPTS && st == LC_OK; a++) {
            st = lc_task_generate(&spec, tok, lc_data_mix_seed(cfg->seed ^ 0x636865636bull, (uint64_t)a), &smp, err);
            lc_task_sample_free(&smp);
        }
        if (st != LC_OK) {
            char msg[LC_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
            free(s);
            return lc_fail(err, st, "task stream: entry %d (%s) does not fit in T+1 = %lld tokens: %s", (int)i,
                           lc_task_kind_name(spec.kind), (long long)spec.n_tokens, msg);
        }
    }
    *out = s;
    return LC_OK;
}

void lc_task_stream_free(lc_task_stream *s) { free(s); }

int64_t lc_task_stream_position(const lc_task_stream *s) { return s ? s->position : 0; }

lc_status lc_task_stream_seek(lc_task_stream *s, int64_t position, lc_error *err) {
    if (!s) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_task_stream_seek: NULL stream");
    if (position < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: position %lld < 0", (long long)position);
    s->position = position;
    return LC_OK;
}

lc_status lc_task_stream_next(lc_task_stream *s, int64_t B, int32_t *tokens, uint8_t *roles, float *weights,
                              lc_error *err) {
    if (!s || !tokens) return lc_fail(err, LC_ERR_INVALID_ARG, "lc_task_stream_next: NULL argument");
    if (B < 1 || B > (int64_t)1 << 20) return lc_fail(err, LC_ERR_INVALID_ARG, "task stream: batch %lld", (long long)B);
    if (s->position > INT64_MAX - B) return lc_fail(err, LC_ERR_TOO_LARGE, "task stream: position overflow");
    const int64_t T = s->cfg.seq_len;
    for (int64_t b = 0; b < B; b++) {
        lc_task_sample smp;
        lc_status st = row_sample(s, s->position + b, &smp, err);
        if (st != LC_OK) return st;
        memcpy(tokens + b * (T + 1), smp.ids, (size_t)(T + 1) * sizeof(int32_t));
        if (roles) memcpy(roles + b * (T + 1), smp.roles, (size_t)(T + 1));
        if (weights)
            for (int64_t t = 0; t < T; t++) weights[b * T + t] = s->cfg.role_weight[smp.roles[t + 1]];
        lc_task_sample_free(&smp);
    }
    s->position += B;
    return LC_OK;
}
