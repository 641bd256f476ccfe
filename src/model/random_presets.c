/* Configurations of random models (model_presets.h): the published shapes
 * longctx benchmarks on, scaled where they are too large, and the flags that
 * override them (what `longctx convert --random` writes). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "longctx/model_presets.h"

/* false after filling err (a request that makes no model). */
#define BAD(...) ((void)lc_fail(err, LC_ERR_INVALID_ARG, __VA_ARGS__), false)

typedef struct {
    const char *name;
    int32_t dim, hidden, layers, heads, kv_heads, vocab;
    bool tied;
    const char *arch;  /* NULL: llama */
    int64_t ctx;       /* 0: 2048 */
    float base, eps;   /* 0: 10000, 1e-5 */
    float llama3_factor; /* > 0: Llama-3.1 RoPE factors (low 1, high 4, from 8192) */
} preset;

/* The published shapes: Llama-3.2-1B (config.json: rope_theta 500000, rope_scaling llama3 factor 32,
 * tied embeddings) and Qwen2.5-0.5B (rope_theta 1e6, rms_norm_eps 1e-6, q/k/v biases, tied). */
static const preset presets[] = {
    {"15M", 288, 768, 6, 6, 6, 32000, true, NULL, 0, 0, 0, 0},
    {"110M", 768, 2048, 12, 12, 12, 32000, true, NULL, 0, 0, 0, 0},
    {"1B", 2048, 5632, 16, 32, 8, 32000, false, NULL, 0, 0, 0, 0},
    {"llama3-1B", 2048, 8192, 16, 32, 8, 128256, true, NULL, 131072, 500000.0f, 1e-5f, 32.0f},
    {"qwen2.5-0.5B", 896, 4864, 24, 14, 2, 151936, true, "qwen2", 32768, 1000000.0f, 1e-6f, 0},
};

/* The mixture-of-experts families, scaled to ~1B parameters from the published
 * layouts: Qwen3-Next-80B-A3B (2048 dim, 48 layers 3 DeltaNet : 1 gated
 * attention, 16/2 heads of 256 with partial RoPE 0.25, DeltaNet 16 key / 32
 * value heads of 128, conv 4, 512 experts of 512 with 10 used + a shared one,
 * rope_theta 1e7) halved in width and layers; gpt-oss-20b (2880 dim, 24 layers
 * alternating window 128 / full, 64/8 heads of 64, 32 experts of 2880 with 4
 * used, YaRN factor 32 from 4096, rope_theta 150000). */
typedef struct {
    const char *name, *arch;
    int32_t dim, layers, heads, kv_heads, head_dim, rope_div, vocab; /* RoPE on head_dim / rope_div dims */
    int64_t ctx;
    float base, eps;
    int32_t experts, used, expert_ffn, shared_ffn;
    int64_t window;
    int32_t interval, conv, ssm_k_heads, ssm_v_heads, ssm_head_dim;
    float yarn_factor;
    int64_t yarn_orig;
} family_preset;

static const family_preset family_presets[] = {
    {"qwen3next-0.8B", "qwen3next", 1024, 24, 8, 2, 256, 4, 151936, 262144, 10000000.0f, 1e-6f, 16, 4, 256, 512, 0, 4,
     4, 8, 16, 128, 0, 0},
    {"gpt-oss-0.9B", "gpt-oss", 1024, 16, 32, 8, 64, 1, 201088, 131072, 150000.0f, 1e-5f, 16, 4, 512, 0, 128, 0, 0, 0,
     0, 0, 32.0f, 4096},
};

bool lc_random_model_is_family(const char *arch) {
    return arch && (strcmp(arch, "gpt-oss") == 0 || strcmp(arch, "qwen3next") == 0);
}

/* Llama 3.1's frequency divisors (its RoPE scaling, as the rope_freqs tensor llama.cpp reads): pairs
 * whose wavelength is under orig/high keep theta, over orig/low divide it by factor, between blend. */
static void llama3_factors(lc_rope_config *r, float factor) {
    const double orig = 8192.0, low = 1.0, high = 4.0, pi2 = 6.283185307179586;
    r->n_factors = r->n_dims / 2;
    for (int32_t i = 0; i < r->n_factors; i++) {
        double wavelen = pi2 * pow((double)r->freq_base, 2.0 * i / r->n_dims);
        double f;
        if (wavelen < orig / high) f = 1.0;
        else if (wavelen > orig / low) f = factor;
        else {
            double smooth = (orig / wavelen - low) / (high - low);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        r->factors[i] = (float)f;
    }
}

/* The preset's shape, then the arch; false with err filled. */
static bool apply_presets(const lc_random_model_spec *a, const preset **pp, const family_preset **fpp, lc_model_config *c,
                          int64_t *ctx, float *base, int32_t *head_dim, lc_error *err) {
    const preset *p = NULL;
    const family_preset *fp = NULL;
    for (size_t k = 0; a->preset && k < sizeof presets / sizeof presets[0]; k++)
        if (strcmp(a->preset, presets[k].name) == 0) p = &presets[k];
    for (size_t k = 0; a->preset && k < sizeof family_presets / sizeof family_presets[0]; k++)
        if (strcmp(a->preset, family_presets[k].name) == 0) fp = &family_presets[k];
    if (a->preset && !p && !fp) {
        return BAD("unknown preset '%s' (15M, 110M, 1B, llama3-1B, qwen2.5-0.5B, qwen3next-0.8B, "
                  "gpt-oss-0.9B)", a->preset);
    }
    if (fp) {
        c->dim = fp->dim, c->hidden_dim = fp->expert_ffn, c->n_layers = fp->layers, c->n_heads = fp->heads;
        c->n_kv_heads = fp->kv_heads, c->vocab_size = fp->vocab, c->tied_output = false;
        snprintf(c->arch, sizeof c->arch, "%s", fp->arch);
        if (!*ctx) *ctx = fp->ctx;
        if (*base == 0.0f) *base = fp->base;
        if (!*head_dim) *head_dim = fp->head_dim;
    }
    if (p) {
        c->dim = p->dim, c->hidden_dim = p->hidden, c->n_layers = p->layers, c->n_heads = p->heads;
        c->n_kv_heads = p->kv_heads, c->vocab_size = p->vocab, c->tied_output = p->tied;
        if (p->arch) snprintf(c->arch, sizeof c->arch, "%s", p->arch);
        if (!*ctx) *ctx = p->ctx;
        if (*base == 0.0f) *base = p->base;
    }
    if (a->arch) {
        if (strcmp(a->arch, "llama") != 0 && strcmp(a->arch, "qwen2") != 0 && !lc_random_model_is_family(a->arch)) {
            return BAD("--arch: random models are llama, qwen2, gpt-oss or qwen3next, not '%s'", a->arch);
        }
        snprintf(c->arch, sizeof c->arch, "%s", a->arch);
    }
    *pp = p;
    *fpp = fp;
    return true;
}

/* The shape flags over the preset's. */
static bool apply_shape(const lc_random_model_spec *a, lc_model_config *c, int32_t head_dim, lc_error *err) {
    if (a->dim) c->dim = a->dim;
    if (a->hidden) c->hidden_dim = a->hidden;
    if (!c->hidden_dim && lc_random_model_is_family(c->arch) && a->expert_ffn) c->hidden_dim = a->expert_ffn;
    if (a->layers) c->n_layers = a->layers;
    if (a->heads) c->n_heads = a->heads;
    if (a->vocab) c->vocab_size = a->vocab;
    if (!c->dim || !c->hidden_dim || !c->n_layers || !c->n_heads || !c->vocab_size) {
        return BAD("--random needs --preset or all of --dim --hidden --layers --heads --vocab");
    }
    c->n_kv_heads = a->kv_heads ? a->kv_heads : (c->n_kv_heads ? c->n_kv_heads : c->n_heads);
    if (!head_dim && c->dim % c->n_heads) {
        return BAD("--heads %d does not divide --dim %d (give --head-dim)", c->n_heads, c->dim);
    }
    c->head_dim = head_dim ? head_dim : c->dim / c->n_heads;
    if (a->tied >= 0) c->tied_output = a->tied;
    return true;
}

static int32_t pick(int32_t flag, bool have_preset, int32_t preset_value, int32_t fallback) {
    return flag ? flag : have_preset ? preset_value : fallback;
}

/* The experts, window and DeltaNet shape: flags, else the preset, else the family's defaults. */
static bool apply_family(const lc_random_model_spec *a, const family_preset *fp, lc_model_config *c, lc_error *err) {
    const bool qn = strcmp(c->arch, "qwen3next") == 0, f_ = fp != NULL;
    lc_family *f = &c->fam;
    f->n_experts = pick(a->experts, f_, f_ ? fp->experts : 0, 4);
    f->n_experts_used = pick(a->experts_used, f_, f_ ? fp->used : 0, LC_MIN(2, f->n_experts));
    f->expert_ffn = pick(a->expert_ffn, f_, f_ ? fp->expert_ffn : 0, c->hidden_dim);
    f->shared_ffn = a->shared_ffn >= 0 ? a->shared_ffn : fp ? fp->shared_ffn : qn ? f->expert_ffn : 0;
    if (!qn) f->window = a->window >= 0 ? a->window : fp ? fp->window : 128;
    else if (a->window > 0) {
        return BAD("--window: qwen3next has no window layers");
    }
    if (qn) {
        f->full_attn_interval = pick(a->interval, f_, f_ ? fp->interval : 0, 4);
        f->ssm_conv_kernel = pick(a->conv, f_, f_ ? fp->conv : 0, 4);
        f->ssm_n_k_heads = pick(a->ssm_k, f_, f_ ? fp->ssm_k_heads : 0, c->n_heads);
        f->ssm_n_v_heads = pick(a->ssm_v, f_, f_ ? fp->ssm_v_heads : 0, 2 * f->ssm_n_k_heads);
        f->ssm_d_k = f->ssm_d_v = pick(a->ssm_hd, f_, f_ ? fp->ssm_head_dim : 0, c->head_dim);
    } else if (a->interval || a->conv || a->ssm_k || a->ssm_v || a->ssm_hd) {
        return BAD("the --full-attn-interval, --ssm-* and --conv-kernel options are qwen3next's");
    }
    const int32_t rd = a->rope_dims ? a->rope_dims : LC_MAX(2, c->head_dim / (fp ? fp->rope_div : qn ? 4 : 1) / 2 * 2);
    if (rd > c->head_dim || rd % 2) {
        return BAD("--rope-dims %d must be even and at most the head dim %d", rd, c->head_dim);
    }
    c->rope.n_dims = rd;
    return true;
}

static bool family_flags_given(const lc_random_model_spec *a) {
    return a->experts || a->experts_used || a->expert_ffn || a->shared_ffn >= 0 || a->window >= 0 || a->interval ||
           a->conv || a->ssm_k || a->ssm_v || a->ssm_hd || a->rope_dims;
}

static bool random_config(const lc_random_model_spec *a, lc_model_config *c, lc_error *err) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    const preset *p = NULL;
    const family_preset *fp = NULL;
    int64_t ctx = a->ctx;
    float base = a->base;
    int32_t head_dim = a->head_dim;
    if (!apply_presets(a, &p, &fp, c, &ctx, &base, &head_dim, err)) return false;
    if (!ctx) ctx = 2048;
    if (base == 0.0f) base = 10000.0f;
    if (!apply_shape(a, c, head_dim, err)) return false;
    c->ctx_train = ctx;
    c->norm_eps = p && p->eps > 0 ? p->eps : fp ? fp->eps : 1e-5f;
    lc_rope_config_init(&c->rope, c->head_dim);
    c->rope.n_dims = c->head_dim;
    c->rope.freq_base = base;
    lc_model_family_defaults(c); /* the family's machinery (qwen2: q/k/v biases, NEOX RoPE) */
    if (p && p->llama3_factor > 0) llama3_factors(&c->rope, p->llama3_factor);
    c->rope.orig_ctx = a->orig_ctx ? a->orig_ctx : ctx;
    if (fp && fp->yarn_factor > 0 && !a->scaling) {
        c->rope.scaling = LC_ROPE_SCALING_YARN;
        c->rope.factor = fp->yarn_factor;
        c->rope.orig_ctx = a->orig_ctx ? a->orig_ctx : fp->yarn_orig;
    }
    if (a->scaling && !lc_rope_scaling_parse(a->scaling, &c->rope.scaling)) {
        return BAD("unknown --rope-scaling '%s' (none, linear, yarn, ntk, dynamic-ntk)", a->scaling);
    }
    if (a->scaling && c->rope.scaling != LC_ROPE_SCALING_NONE) c->rope.factor = a->scale > 0 ? a->scale : 1.0f;
    if (a->attention) snprintf(c->attention, sizeof c->attention, "%s", a->attention);
    if (lc_random_model_is_family(c->arch)) return apply_family(a, fp, c, err);
    if (family_flags_given(a)) {
        return BAD("the expert, window, DeltaNet and --rope-dims options are for --arch gpt-oss or qwen3next");
    }
    return true;
}

void lc_random_model_spec_init(lc_random_model_spec *s) {
    memset(s, 0, sizeof *s);
    s->tied = -1;
    s->shared_ffn = -1;
    s->window = -1;
}

lc_status lc_random_model_config(const lc_random_model_spec *s, lc_model_config *out, lc_error *err) {
    if (!s || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "random model: NULL argument");
    return random_config(s, out, err) ? LC_OK : LC_ERR_INVALID_ARG;
}
