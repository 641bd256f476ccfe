/* stream: read a document of any length through a model under a KV policy
 * (StreamingLLM's sinks + window by default), scoring every token, in
 * constant memory.
 *
 *   stream MODEL.gguf FILE [KV_POLICY]       e.g. sinks:4:252, window:256, full
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <longctx/longctx.h>

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *b = realloc(buf, cap = cap ? cap * 2 : 65536 * 2);
            if (!b) break;
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The whole text as token ids (malloc'd), or NULL with err filled. */
static int32_t *encode_all(const lc_tokenizer *tok, const char *text, size_t len, int64_t *n, lc_error *err) {
    lc_status st = lc_tokenizer_encode(tok, text, len, true, NULL, 0, n, err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return NULL;
    int32_t *ids = malloc((size_t)(*n + 1) * sizeof *ids);
    if (ids && lc_tokenizer_encode(tok, text, len, true, ids, *n, n, err) == LC_OK) return ids;
    if (!ids) snprintf(err->msg, sizeof err->msg, "out of memory for %lld tokens", (long long)*n);
    free(ids);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL FILE [KV_POLICY]\n", argv[0]);
        return 2;
    }
    lc_error err;
    lc_model *m = NULL;
    lc_context *ctx = NULL;
    size_t len = 0;
    char *text = read_file(argv[2], &len);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    if (lc_model_load(argv[1], NULL, &m, &err) != LC_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    const lc_tokenizer *tok = lc_model_tokenizer(m);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 512;
    co.n_batch = 64;
    int64_t n = 0;
    int32_t *ids = NULL;
    float *logits = NULL;
    int rc = 1;
    if (!tok) {
        fprintf(stderr, "error: the model carries no tokenizer\n");
    } else if (lc_kv_policy_parse(argc > 3 ? argv[3] : "sinks:4:252", &co, &err) != LC_OK ||
               !(ids = encode_all(tok, text, len, &n, &err)) ||
               lc_context_create(m, &co, &ctx, &err) != LC_OK ||
               !(logits = malloc((size_t)co.n_batch * (size_t)m->cfg.vocab_size * sizeof *logits))) {
        fprintf(stderr, "error: %s\n", err.msg);
    } else {
        const int32_t V = m->cfg.vocab_size;
        double nll = 0;
        int64_t scored = 0;
        rc = 0;
        for (int64_t i = 0; i + 1 < n && rc == 0; i += co.n_batch) {
            const int64_t c = n - 1 - i < co.n_batch ? n - 1 - i : co.n_batch;
            if (lc_context_eval(ctx, ids + i, c, logits, true, &err) != LC_OK) {
                fprintf(stderr, "error: %s\n", err.msg);
                rc = 1;
                break;
            }
            for (int64_t r = 0; r < c; r++) { /* -log softmax(logits)[next token] */
                const float *l = logits + r * V;
                float mx = l[0];
                for (int32_t j = 1; j < V; j++) mx = l[j] > mx ? l[j] : mx;
                double sum = 0;
                for (int32_t j = 0; j < V; j++) sum += exp((double)(l[j] - mx));
                nll += log(sum) + mx - l[ids[i + r + 1]];
                scored++;
            }
        }
        if (rc == 0) {
            lc_kv_stats ks;
            lc_context_kv_stats(ctx, &ks);
            char desc[128];
            printf("%lld tokens scored, perplexity %.3f; KV %s holds %lld tokens in %.1f KiB (evicted %lld)\n",
                   (long long)scored, exp(nll / (double)(scored ? scored : 1)),
                   lc_context_kv_describe(ctx, desc, sizeof desc), (long long)ks.n_used, ks.bytes / 1024.0,
                   (long long)ks.n_evicted);
        }
    }
    free(logits);
    free(ids);
    free(text);
    lc_context_free(ctx);
    lc_model_free(m);
    return rc;
}
