/*
 * The architecture table: what each family's forward pass uses, as data.
 * The loader (load_gguf.c) starts from a family's row and fills in what the
 * file says (window size, soft-caps, local RoPE base, factors); the forward
 * pass (runtime/forward.c) reads only lc_model_config.fam. Adding a family is
 * a row here plus, where it needs a tensor or step the table cannot say, one
 * flag (docs/models.md).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "longctx/moe.h"
#include "model/model_internal.h"

static const lc_arch_desc arch_table[] = {
    /* name     rope layout   flags                                                      act               window period, factors */
    {"llama", LC_ROPE_NORM, 0, LC_ACT_SILU, 1, false, false, "rope_freqs", 0, 0, false},
    {"qwen2", LC_ROPE_NEOX, LC_ARCH_QKV_BIAS, LC_ACT_SILU, 1, false, false, "rope_freqs", 0, 0, false},
    {"qwen3", LC_ROPE_NEOX, LC_ARCH_QK_NORM, LC_ACT_SILU, 1, false, false, "rope_freqs", 0, 0, false},
    {"phi3", LC_ROPE_NEOX, LC_ARCH_FUSED_QKV | LC_ARCH_FUSED_GATE_UP, LC_ACT_SILU, 1, false, true, NULL, 0, 0, false},
    {"gemma2", LC_ROPE_NEOX, LC_ARCH_POST_NORMS, LC_ACT_GELU_TANH, 2, true, false, NULL, 0, 0, false},
    {"gemma3", LC_ROPE_NEOX, LC_ARCH_POST_NORMS | LC_ARCH_QK_NORM, LC_ACT_GELU_TANH, 6, true, false, NULL, 0, 0, false},
    /* gpt-oss: q/k/v/o biases, learned sinks, window layers 0, 2, ... (the
     * converter writes no pattern: llama.cpp's is period 2 with layer 0
     * local), MoE with top-k-then-softmax routing and the clamped SwiGLU */
    {"gpt-oss", LC_ROPE_NEOX, LC_ARCH_QKV_BIAS | LC_ARCH_O_BIAS | LC_ARCH_ATTN_SINKS | LC_ARCH_MOE | LC_ARCH_MOE_BIAS,
     LC_ACT_SILU, 2,
     false, false, NULL, LC_MOE_TOPK_SOFTMAX, LC_MOE_SWIGLU_OAI, false},
    /* Qwen3-Next: 3 Gated DeltaNet layers : 1 full-attention layer with q/k
     * norms, partial RoPE and an output gate; MoE softmax-top-k normalised
     * with a shared expert */
    {"qwen3next", LC_ROPE_NEOX, LC_ARCH_QK_NORM | LC_ARCH_ATTN_GATE | LC_ARCH_DELTANET | LC_ARCH_MOE, LC_ACT_SILU, 1,
     false, false, NULL, LC_MOE_SOFTMAX_TOPK, LC_MOE_SWIGLU, true},
};

const lc_arch_desc *lc_arch_find(const char *name) {
    for (size_t i = 0; i < LC_ARRAY_LEN(arch_table); i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

const char *lc_arch_names(void) { return "llama, qwen2, qwen3, phi3, gemma2, gemma3, gpt-oss, qwen3next"; }

bool lc_family_is_plain(const lc_family *f) {
    return f->flags == 0 && f->act == LC_ACT_SILU && (f->embd_scale == 0.0f || f->embd_scale == 1.0f) &&
           f->attn_scale == 0.0f && f->attn_softcap == 0.0f && f->final_softcap == 0.0f && f->window == 0 &&
           !f->rope_window_own && !f->longrope;
}

bool lc_model_family_defaults(lc_model_config *c) {
    const lc_arch_desc *a = c ? lc_arch_find(c->arch) : NULL;
    if (!a) return false;
    c->rope.layout = a->layout;
    c->fam.flags = a->flags;
    c->fam.act = a->act;
    c->fam.embd_scale = a->embd_sqrt_dim ? sqrtf((float)c->dim) : 0.0f;
    c->fam.window_period = a->window_period;
    c->fam.moe_routing = a->moe_routing;
    c->fam.moe_act = a->moe_act;
    c->fam.moe_norm_topk = a->moe_norm_topk;
    return true;
}

bool lc_model_arch_known(const char *arch) { return arch && lc_arch_find(arch) != NULL; }

lc_layer_kind lc_model_layer_kind(const lc_model_config *c, int32_t l) {
    const lc_family *f = &c->fam;
    if ((f->flags & LC_ARCH_DELTANET) && f->full_attn_interval > 0 && (l + 1) % f->full_attn_interval != 0)
        return LC_LAYER_DELTANET;
    if (f->window <= 0 || f->window_period < 1) return LC_LAYER_GLOBAL;
    if (f->window_period == 1) return LC_LAYER_WINDOW;
    return l % f->window_period != f->window_period - 1 ? LC_LAYER_WINDOW : LC_LAYER_GLOBAL;
}

const char *lc_layer_kind_name(lc_layer_kind k) {
    switch (k) {
    case LC_LAYER_GLOBAL: return "global";
    case LC_LAYER_WINDOW: return "window";
    case LC_LAYER_DELTANET: return "deltanet";
    default: return "?";
    }
}

static void append(char *buf, size_t len, const char *fmt, double a, double b) {
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    snprintf(buf + used, len - used, fmt, used ? ", " : "", a, b);
}

const char *lc_family_describe(const lc_model_config *c, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    buf[0] = '\0';
    const lc_family *f = &c->fam;
    if (f->flags & LC_ARCH_QKV_BIAS) append(buf, len, "%sqkv bias", 0, 0);
    if (f->flags & LC_ARCH_QK_NORM) append(buf, len, "%sq/k norm", 0, 0);
    if (f->flags & LC_ARCH_FUSED_QKV) append(buf, len, "%sfused qkv", 0, 0);
    if (f->flags & LC_ARCH_FUSED_GATE_UP) append(buf, len, "%sfused gate/up", 0, 0);
    if (f->flags & LC_ARCH_POST_NORMS) append(buf, len, "%spost norms", 0, 0);
    if (f->flags & LC_ARCH_O_BIAS) append(buf, len, "%soutput bias", 0, 0);
    if (f->flags & LC_ARCH_ATTN_SINKS) append(buf, len, "%slearned sinks", 0, 0);
    if (f->flags & LC_ARCH_ATTN_GATE) append(buf, len, "%sgated attention output", 0, 0);
    if (f->flags & LC_ARCH_DELTANET)
        append(buf, len, "%sgated deltanet (1 attention layer in %g, conv %g)", f->full_attn_interval,
               f->ssm_conv_kernel);
    if (f->flags & LC_ARCH_MOE) {
        append(buf, len, "%smoe %g experts, %g used", f->n_experts, f->n_experts_used);
        if (f->shared_ffn > 0) append(buf, len, "%sshared expert ffn %g", f->shared_ffn, 0);
    }
    if (f->act == LC_ACT_GELU_TANH) append(buf, len, "%sgelu-tanh", 0, 0);
    if (f->embd_scale != 0.0f && f->embd_scale != 1.0f) append(buf, len, "%sembd x%g", (double)f->embd_scale, 0);
    if (f->attn_scale != 0.0f) append(buf, len, "%sattn scale %g", (double)f->attn_scale, 0);
    if (f->attn_softcap > 0.0f) append(buf, len, "%ssoftcap attn %g", (double)f->attn_softcap, 0);
    if (f->final_softcap > 0.0f) append(buf, len, "%ssoftcap final %g", (double)f->final_softcap, 0);
    if (f->longrope) append(buf, len, "%slongrope short/long factors", 0, 0);
    if (!buf[0]) snprintf(buf, len, "plain");
    return buf;
}

const char *lc_model_window_pattern(const lc_model_config *c, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    int32_t n_win = 0, n_dn = 0;
    for (int32_t l = 0; l < c->n_layers; l++) {
        n_win += lc_model_layer_kind(c, l) == LC_LAYER_WINDOW;
        n_dn += lc_model_layer_kind(c, l) == LC_LAYER_DELTANET;
    }
    if (n_dn > 0) {
        char pat[80];
        int32_t shown = c->n_layers < 64 ? c->n_layers : 64;
        for (int32_t l = 0; l < shown; l++) {
            const lc_layer_kind k = lc_model_layer_kind(c, l);
            pat[l] = k == LC_LAYER_DELTANET ? 'D' : k == LC_LAYER_WINDOW ? 'W' : 'G';
        }
        pat[shown] = '\0';
        snprintf(buf, len, "%s%s (gated deltanet on %d of %d layers)", pat, shown < c->n_layers ? "..." : "", n_dn,
                 c->n_layers);
        return buf;
    }
    if (n_win == 0) {
        snprintf(buf, len, "all %d layers global", c->n_layers);
        return buf;
    }
    char pat[80];
    int32_t shown = c->n_layers < 64 ? c->n_layers : 64;
    for (int32_t l = 0; l < shown; l++) pat[l] = lc_model_layer_kind(c, l) == LC_LAYER_WINDOW ? 'W' : 'G';
    pat[shown] = '\0';
    snprintf(buf, len, "%s%s (window %lld on %d of %d layers)", pat, shown < c->n_layers ? "..." : "",
             (long long)c->fam.window, n_win, c->n_layers);
    return buf;
}
