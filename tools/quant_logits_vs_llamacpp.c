/*
 * Logits of a quantised llama3 fixture against llama.cpp's on the same file
 * (../shared/fixtures/quants/llama3.<TYPE>.gguf and
 * llama3.<TYPE>.llamacpp_logits.sub8.f32: rows 0, 8, ..., 152 and 159 of
 * the 160 tokens of llama3/tokens.json, one prefill, f32 KV).
 *
 * Build (after building the library in build/):
 *   cc -O2 -fopenmp -Iinclude tools/quant_logits_vs_llamacpp.c build/liblongctx.a -lm -o qlogits
 * Run:
 *   for T in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS; do
 *     ./qlogits ../shared/fixtures/quants/llama3.$T.gguf \
 *       ../shared/fixtures/quants/llama3.$T.llamacpp_logits.sub8.f32 ../shared/fixtures/llama3/tokens.json
 *   done
 * Prints max and mean |ours - llama.cpp| over the 21 rows, top-1 agreement,
 * and agreement where llama.cpp's top-1/top-2 margin exceeds 0.3.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/model.h"
#include "longctx/runtime.h"

#define N_ROWS 21

static int read_tokens(const char *path, int32_t *tok, int max) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strstr(buf, "\"tokens\"");
    p = p ? strchr(p, '[') : NULL;
    int n = 0;
    while (p && *p && *p != ']' && n < max) {
        p++;
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p) break;
        tok[n++] = (int32_t)v;
        p = e;
        while (*p == ' ') p++;
    }
    return n;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf LLAMACPP_LOGITS.sub8.f32 tokens.json\n", argv[0]);
        return 2;
    }
    int32_t tok[512];
    const int n = read_tokens(argv[3], tok, 512);
    lc_error err = {0};
    lc_model *m = NULL;
    if (n < 160 || lc_model_load(argv[1], NULL, &m, &err) != LC_OK) {
        fprintf(stderr, "%s: cannot load (%s) or %s has %d tokens\n", argv[1], err.msg, argv[3], n);
        return 1;
    }
    const int V = m->cfg.vocab_size;
    float *out = calloc((size_t)n * (size_t)V, sizeof(float)), *ref = calloc((size_t)N_ROWS * (size_t)V, 4);
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 256;
    o.n_batch = 512;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context *ctx = NULL;
    FILE *f = fopen(argv[2], "rb");
    if (!out || !ref || !f || fread(ref, sizeof(float), (size_t)N_ROWS * (size_t)V, f) != (size_t)N_ROWS * (size_t)V ||
        lc_context_create(m, &o, &ctx, &err) != LC_OK || lc_context_eval(ctx, tok, n, out, true, &err) != LC_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg[0] ? err.msg : "cannot read the reference logits");
        return 1;
    }
    fclose(f);
    double mx = 0, sum = 0;
    int agree = 0, conf = 0, conf_agree = 0;
    for (int k = 0; k < N_ROWS; k++) {
        const float *a = out + (size_t)(k < N_ROWS - 1 ? 8 * k : n - 1) * (size_t)V, *b = ref + (size_t)k * (size_t)V;
        for (int j = 0; j < V; j++) {
            double d = fabs((double)a[j] - (double)b[j]);
            if (!(d <= mx)) mx = d;
            sum += d;
        }
        int bb = argmax(b, V), ba = argmax(a, V);
        double second = -1e30;
        for (int j = 0; j < V; j++)
            if (j != bb && b[j] > second) second = b[j];
        agree += ba == bb;
        if (b[bb] - second > 0.3) {
            conf++;
            conf_agree += ba == bb;
        }
    }
    printf("%s: max |diff| %.3g, mean %.3g, top-1 %d/%d, where margin > 0.3: %d/%d\n", argv[1], mx,
           sum / ((double)N_ROWS * V), agree, N_ROWS, conf_agree, conf);
    lc_context_free(ctx);
    lc_model_free(m);
    free(out);
    free(ref);
    return 0;
}
