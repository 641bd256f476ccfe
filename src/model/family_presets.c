/*
 * The real families' published shapes, as far as the KV cache is concerned
 * (layers, KV heads, head dim, window layers, linear-attention layers), for
 * the memory table of `longctx analyze --family`: KV bytes per token and at
 * any length with each family's own machinery, analytic, and measured on a
 * scaled-down random model of the same layer layout (lc_family_preset_measure).
 * Numbers from each model's config.json on the Hugging Face hub.
 */
#include <stdio.h>
#include <string.h>

#include "longctx/runtime.h"
#include "model/model_internal.h"

static const lc_family_preset presets[] = {
    {"llama-3.1-8b", "meta-llama/Llama-3.1-8B", "llama", 32, 32, 8, 128, 131072, 0, 0, 0, 0.0, false,
     "GQA 32/8, llama3 RoPE factors (x8 from 8192)"},
    {"qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", "qwen2", 28, 28, 4, 128, 131072, 0, 0, 0, 0.0, false,
     "GQA 28/4, YaRN x4 from 32768"},
    {"phi-3.5-mini", "microsoft/Phi-3.5-mini-instruct", "phi3", 32, 32, 32, 96, 131072, 0, 0, 0, 0.0, false,
     "no GQA, LongRoPE from 4096"},
    {"gemma-3-12b", "google/gemma-3-12b-it", "gemma3", 48, 16, 8, 256, 131072, 1024, 6, 0, 0.0, false,
     "5 window (1024) : 1 global, GQA 16/8"},
    {"gpt-oss-20b", "openai/gpt-oss-20b", "gpt-oss", 24, 64, 8, 64, 131072, 128, 2, 0, 0.0, true,
     "alternating window (128) / global, attention sinks, GQA 64/8, MoE"},
    /* 48 layers: every 4th full attention (12), 36 Gated DeltaNet layers with
     * 32 value heads of 128 x 128 key dims (f32 state) plus a conv state of
     * 3 x (2*16*128 + 32*128) values. */
    {"qwen3-next-80b-a3b", "Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3next", 48, 16, 2, 256, 262144, 0, 0, 36,
     32.0 * 128 * 128 * 4 + 3.0 * (2 * 16 * 128 + 32 * 128) * 4, false,
     "12 gated full-attention layers (GQA 16/2) + 36 Gated DeltaNet layers (constant state), MoE"},
};

int lc_family_preset_count(void) { return (int)LC_ARRAY_LEN(presets); }

const lc_family_preset *lc_family_preset_at(int i) {
    return i >= 0 && i < (int)LC_ARRAY_LEN(presets) ? &presets[i] : NULL;
}

const lc_family_preset *lc_family_preset_find(const char *name) {
    for (size_t i = 0; name && i < LC_ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

/* Layers of each kind: window layers follow the period rule of
 * lc_model_layer_kind among the attention layers. */
static void layer_counts(const lc_family_preset *p, int32_t *n_global, int32_t *n_window) {
    const int32_t n_attn = p->n_layers - p->n_linear_layers;
    int32_t w = 0;
    if (p->window > 0 && p->window_period > 0)
        for (int32_t l = 0; l < n_attn; l++) w += p->window_period == 1 || l % p->window_period != p->window_period - 1;
    *n_window = w;
    *n_global = n_attn - w;
}

double lc_family_preset_kv_bytes(const lc_family_preset *p, int64_t n_tokens, lc_dtype type, bool all_global) {
    size_t row = 0;
    if (!p || n_tokens < 0 || lc_dtype_row_bytes(type, (int64_t)p->n_kv_heads * p->head_dim, &row, NULL) != LC_OK)
        return -1.0;
    int32_t ng, nw;
    layer_counts(p, &ng, &nw);
    const double kv_row = 2.0 * (double)row; /* K and V */
    if (all_global) return (double)p->n_layers * (double)n_tokens * kv_row; /* every layer a global attention layer */
    const double win = (double)(n_tokens < p->window ? n_tokens : p->window);
    return (double)ng * (double)n_tokens * kv_row + (double)nw * win * kv_row + p->n_linear_layers * p->linear_state_bytes;
}

const char *lc_family_preset_layers(const lc_family_preset *p, char *buf, size_t len) {
    int32_t ng, nw;
    layer_counts(p, &ng, &nw);
    if (p->n_linear_layers)
        snprintf(buf, len, "%d global + %d linear-attention", ng, p->n_linear_layers);
    else if (nw)
        snprintf(buf, len, "%d global + %d window (%lld)", ng, nw, (long long)p->window);
    else
        snprintf(buf, len, "%d global", ng);
    return buf;
}

lc_status lc_family_preset_measure(const lc_family_preset *p, const int64_t *n_tokens, int n, lc_dtype type,
                                   int64_t n_batch, double *measured, double *analytic, lc_error *err) {
    if (!p || !n_tokens || n < 1 || !measured || !analytic)
        return lc_fail(err, LC_ERR_INVALID_ARG, "family preset: bad arguments");
    if (p->n_linear_layers)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "family preset %s: linear-attention layers are not in the runtime yet (issue 13)", p->name);
    /* Scaled down: the same layers, KV heads and window layout; head dim 16,
     * one query head per KV head, dim 32, vocab 64. */
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = 32;
    c.hidden_dim = 32;
    c.n_layers = p->n_layers;
    c.n_heads = p->n_kv_heads;
    c.n_kv_heads = p->n_kv_heads;
    c.head_dim = 16;
    c.vocab_size = 64;
    c.ctx_train = p->ctx;
    c.norm_eps = 1e-5f;
    lc_model_rope_defaults(&c, c.head_dim);
    lc_model *m = NULL;
    lc_status st = lc_model_create_random(&c, LC_DTYPE_F32, 1, &m, err);
    if (st != LC_OK) return st;
    for (int i = 0; i < n && st == LC_OK; i++) {
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.n_ctx = n_tokens[i];
        o.n_batch = n_batch;
        o.k_type = o.v_type = type;
        o.n_threads = 1;
        if (p->window > 0) {
            o.swa = p->window;
            o.swa_period = p->window_period;
        }
        lc_context_memory mem;
        st = lc_context_memory_need(m, &o, &mem, err);
        if (st == LC_OK) {
            measured[i] = (double)mem.kv_bytes;
            /* The runtime's layout: global layers n slots, window layers a
             * ring of W + B - 1 slots when that is smaller than n (else the
             * full cache), 12 bytes of position and token per main slot, 8 of
             * position per ring slot. */
            int32_t ng, nw;
            layer_counts(p, &ng, &nw);
            size_t row = 0;
            lc_dtype_row_bytes(type, (int64_t)p->n_kv_heads * c.head_dim, &row, NULL);
            const int64_t nt = n_tokens[i], cap = p->window + n_batch - 1;
            const bool rings = nw > 0 && p->window <= nt - n_batch;
            const double kv_row = 2.0 * (double)row;
            analytic[i] = rings ? (double)ng * (double)nt * kv_row + 12.0 * (double)nt + (double)nw * (double)cap * kv_row +
                                      8.0 * (double)cap
                                : (double)(ng + nw) * (double)nt * kv_row + 12.0 * (double)nt;
        }
    }
    lc_model_free(m);
    return st;
}
