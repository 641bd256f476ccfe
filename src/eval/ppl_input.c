/*
 * What a perplexity run reads and compares (eval.h): the token stream of a
 * file (text encoded by the model's tokenizer, or token ids), the methods
 * (attention specs x RoPE scalings) and the KV policies of a streaming
 * comparison.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"
#include "longctx/sys.h"
#include "longctx/util.h"

#define TOKENS_FILE_MAX ((size_t)1 << 30)

/* Token ids separated by white space or commas, each in 0..vocab-1. */
static lc_status parse_ids(const char *path, const char *text, size_t len, int32_t vocab, int32_t **out, int64_t *n,
                           lc_error *err) {
    size_t cap = 1; /* at most the runs of digits in the file */
    for (size_t i = 0; i < len; i++)
        cap += (text[i] >= '0' && text[i] <= '9') && (i == 0 || text[i - 1] < '0' || text[i - 1] > '9');
    int32_t *ids = malloc(cap * sizeof(int32_t));
    if (!ids) return lc_fail(err, LC_ERR_NOMEM, "%s: out of memory", path);
    *n = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        while (p < end && strchr(" \t\r\n,", *p)) p++;
        if (p >= end) break;
        char *e;
        errno = 0;
        long v = strtol(p, &e, 10);
        if (e == p || errno || v < 0 || v >= vocab || (e < end && !strchr(" \t\r\n,", *e))) {
            free(ids);
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s: token %lld is not an id in 0..%d", path, (long long)*n + 1,
                           vocab - 1);
        }
        ids[(*n)++] = (int32_t)v;
        p = e;
    }
    *out = ids;
    return LC_OK;
}

lc_status lc_eval_tokens_load(const char *path, bool token_ids, const lc_tokenizer *tok, int32_t vocab,
                              int32_t **out, int64_t *n, lc_error *err) {
    if (!out || !n || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "tokens: NULL path or output");
    *out = NULL;
    *n = 0;
    if (!token_ids && !tok)
        return lc_fail(err, LC_ERR_INVALID_ARG, "the model has no tokenizer: give -z TOKENIZER.bin or --tokens-file");
    const size_t avail = lc_mem_available_bytes();
    const size_t max = avail && avail / 2 < TOKENS_FILE_MAX ? avail / 2 : TOKENS_FILE_MAX;
    char *text = NULL;
    size_t len = 0;
    lc_status st = lc_read_file(path, max, &text, &len, err);
    if (st != LC_OK) return st;
    if (token_ids) st = parse_ids(path, text, len, vocab, out, n, err);
    else st = lc_tokenizer_encode_alloc(tok, text, len, true, out, n, err);
    free(text);
    if (st == LC_OK && *n < 2) {
        st = lc_fail(err, LC_ERR_INVALID_ARG, "%s: %lld tokens: nothing to score (need at least 2)", path,
                     (long long)*n);
        free(*out);
        *out = NULL;
    }
    return st;
}

lc_status lc_eval_methods_parse(const char *attn_list, const char *scaling_list, lc_eval_method *out, int *n,
                                lc_error *err) {
    *n = 0;
    const char *ap = attn_list ? attn_list : "";
    do {
        const size_t al = strcspn(ap, ",");
        const char *sp = scaling_list;
        do {
            if (*n == LC_EVAL_MAX_METHODS)
                return lc_fail(err, LC_ERR_INVALID_ARG, "at most %d methods (attention x RoPE scaling)",
                               LC_EVAL_MAX_METHODS);
            lc_eval_method *m = &out[(*n)++];
            memset(m, 0, sizeof *m);
            if (al >= sizeof m->attn) return lc_fail(err, LC_ERR_INVALID_ARG, "--attn spec too long");
            memcpy(m->attn, ap, al);
            if (sp) {
                const size_t sl = strcspn(sp, ",");
                char name[32];
                snprintf(name, sizeof name, "%.*s", (int)(sl < 31 ? sl : 31), sp);
                if (!lc_rope_scaling_parse(name, &m->scaling))
                    return lc_fail(err, LC_ERR_INVALID_ARG, "--rope-scaling: unknown scaling '%s'", name);
                m->rope_override = true;
                sp += sl + (sp[sl] == ',');
            }
        } while (sp && *sp);
        ap += al + (ap[al] == ',');
    } while (*ap);
    return LC_OK;
}

const char *lc_eval_method_name(const lc_eval_method *m, const lc_eval_ctx_info *info, char *buf, size_t len) {
    const lc_rope_config *r = &info->rope;
    const char *attn = m->attn[0] ? m->attn : lc_attn_method_name(info->attn);
    if (r->scaling == LC_ROPE_SCALING_NONE) snprintf(buf, len, "%.95s (rope none)", attn);
    else snprintf(buf, len, "%.95s (rope %.12s x%.4g)", attn, lc_rope_scaling_name(r->scaling), (double)r->factor);
    return buf;
}

lc_status lc_eval_streams_parse(const char *list, lc_eval_stream_cell *out, int *n, lc_error *err) {
    *n = 0;
    for (const char *p = list ? list : ""; *p;) {
        const size_t len = strcspn(p, ",");
        if (*n == LC_EVAL_MAX_STREAMS || len == 0 || len >= sizeof out[0].spec)
            return lc_fail(err, LC_ERR_INVALID_ARG, "--kv-policy: at most %d entries of up to 63 characters",
                           LC_EVAL_MAX_STREAMS);
        lc_eval_stream_cell *e = &out[(*n)++];
        memset(e, 0, sizeof *e);
        memcpy(e->spec, p, len);
        if (strncmp(e->spec, "recompute:", 10) == 0) {
            e->recompute = true;
            char *end;
            errno = 0;
            const long long w = strtoll(e->spec + 10, &end, 10);
            const int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 0;
            const bool digits = end != e->spec + 10;
            end += shift != 0;
            if (!digits || *end || errno || w < 1 || w > (INT64_C(1) << 40) >> shift || (w << shift) < 2)
                return lc_fail(err, LC_ERR_INVALID_ARG, "--kv-policy: recompute:W needs W >= 2 (got '%s')", e->spec);
            e->window = (int64_t)w << shift;
        } else {
            lc_context_opts o;
            lc_context_opts_init(&o);
            lc_status st = lc_kv_policy_parse(e->spec, &o, err);
            if (st != LC_OK) return st;
        }
        p += len + (p[len] == ',');
    }
    return *n ? LC_OK : lc_fail(err, LC_ERR_INVALID_ARG, "--kv-policy: an empty list");
}
