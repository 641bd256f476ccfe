/* longctx convert — llama2.c checkpoints (or GGUF) to GGUF, and GGUF models
 * with seeded random weights of any llama shape for benchmarks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/util.h"
#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/quant.h"
#include "longctx/sys.h"
#include "opt.h"

static const char synopsis[] =
    "usage: longctx convert IN OUT.gguf [--tokenizer tok.bin] [--type T]\n"
    "       longctx convert --random OUT.gguf (--preset 15M|110M|1B | --dim D --hidden H --layers L\n"
    "                       --heads N --vocab V --ctx C) [--kv-heads K] [--type T] [--seed S]\n\n"
    "Convert a llama2.c checkpoint (or re-type a GGUF model) to GGUF v3, or write a\n"
    "model with N(0, 0.02) random weights. Norms stay f32; quantized types fall back\n"
    "for matrices whose rows are not whole blocks (q8_0 -> f16, q4_K -> q5_0, ...).\n\n";

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

static bool family_arch(const char *arch) { return strcmp(arch, "gpt-oss") == 0 || strcmp(arch, "qwen3next") == 0; }

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

static int convert_file(const char *in, const char *out, const char *tok, const lc_quant_spec *spec) {
    lc_error err;
    lc_model_load_opts opts = {tok};
    lc_model *m = NULL;
    double t0 = lc_time_now();
    if (lc_model_load(in, &opts, &m, &err) != LC_OK) return cli_fail("convert", &err);
    if (tok && strcmp(m->format, "gguf") == 0)
        cli_error("convert", "note: --tokenizer applies to llama2.c input; the GGUF's own tokenizer is kept");
    lc_quant_spec f32;
    lc_quant_spec_pure(LC_DTYPE_F32, &f32);
    if (!spec && strcmp(m->format, "gguf") != 0) spec = &f32; /* llama2.c: f32 unless told */
    if (strcmp(m->format, "gguf") == 0 && !m->tokenizer) {
        lc_gguf *g = NULL;
        const char *tm = NULL;
        size_t tl = 0;
        if (lc_gguf_open(in, &g, &err) == LC_OK &&
            lc_gguf_get_str(g, "tokenizer.ggml.model", &tm, &tl, &err) == LC_OK && !(tl == 4 && memcmp(tm, "none", 4) == 0))
            cli_error("convert", "note: the input's tokenizer is of a kind longctx does not build; it is not carried over");
        lc_gguf_close(g);
    }
    lc_status st = lc_model_write_gguf_spec(out, &m->cfg, &m->w, m->tokenizer, spec, &err);
    if (st != LC_OK) {
        lc_model_free(m);
        return cli_fail("convert", &err);
    }
    printf("wrote %s: %s -> gguf %s, %lld parameters, %s tokenizer, %.2f s\n", out, m->format,
           spec ? spec->name : "(types kept)", (long long)lc_model_n_params(&m->cfg),
           m->tokenizer ? "with" : "no", lc_time_now() - t0);
    lc_model_free(m);
    return CLI_OK;
}

/* What the command line asks for (0, -1 or NULL: not given). */
typedef struct {
    const char *pos[2];
    int n_pos;
    const char *tok, *preset_name, *attention, *arch, *type_name, *scaling;
    bool random;
    int tied; /* -1: the preset's */
    int32_t dim, hidden, layers, heads, kv_heads, vocab, head_dim;
    int64_t ctx, orig_ctx, seed;
    float base, scale;
    /* mixture-of-experts families (0, -1: the preset's or the family's default) */
    int32_t experts, experts_used, expert_ffn, shared_ffn, interval, conv, ssm_k, ssm_v, ssm_hd, rope_dims;
    int64_t window;
} convert_args;

static bool opt_tied(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)v, (void)cmd;
    *(int *)o->dst = strcmp(name, "--tied") == 0;
    return true;
}

#define POS(names_, meta_, field, help_) CLI_INT(names_, meta_, &a->field, 1, INT32_MAX, help_)

/* -1 to go on, else the exit status. */
static int parse_args(convert_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->tied = -1;
    a->seed = 1;
    a->shared_ffn = -1;
    a->window = -1;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-z|--tokenizer", "PATH", &a->tok, "llama2.c tokenizer.bin to embed (llama2.c input)"),
        CLI_STR("--type|--outtype", "T", &a->type_name,
                "f32 (default for llama2.c), f16, bf16, q8_0, q4_0, q4_1,\n"
                "q5_0, q5_1, q6_K, q4_K_M, q5_K_M (llama.cpp's per-tensor\n"
                "rules, as longctx quantize); GGUF input keeps each\n"
                "tensor's type unless given"),
        CLI_SECTION("random models:"),
        CLI_SET("--random", &a->random, "write a random model (no input file)"),
        CLI_STR("--preset", "NAME", &a->preset_name,
                "15M (288/768/6L/6H, vocab 32000), 110M (768/2048/12L/12H),\n"
                "1B (2048/5632/16L/32H/8KV), llama3-1B (Llama-3.2-1B: 2048/8192/\n"
                "16L/32H/8KV, vocab 128256, llama3 RoPE), qwen2.5-0.5B (896/4864/\n"
                "24L/14H/2KV, vocab 151936, q/k/v biases); flags below override;\n"
                "qwen3next-0.8B and gpt-oss-0.9B: below"),
        POS("--dim", "D", dim, "model width"),
        POS("--hidden", "H", hidden, "feed-forward width"),
        POS("--layers", "L", layers, "layers"),
        POS("--heads", "N", heads, "attention heads"),
        POS("--kv-heads", "K", kv_heads, "K/V heads (default: heads)"),
        POS("--vocab", "V", vocab, "vocabulary"),
        POS("--head-dim", "D", head_dim, "head dimension (default dim/heads)"),
        CLI_STR("--arch", "A", &a->arch, "llama (default), qwen2 (q/k/v biases, NEOX RoPE), gpt-oss, qwen3next"),
        CLI_I64("-c|--ctx", "C", &a->ctx, 1, CLI_INT_LIMIT, "training context (default 2048; presets: their own)"),
        CLI_I64("--seed", "S", &a->seed, -CLI_INT_LIMIT, CLI_INT_LIMIT, "(default 1)"),
        CLI_FN("--tied|--untied", NULL, opt_tied, &a->tied,
               "share the embedding with the classifier (presets: 15M and\n"
               "110M tied as in llama2.c, 1B untied, llama3-1B and qwen2.5-0.5B tied)"),
        CLI_FLOAT("--rope-freq-base", "F", &a->base, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, "RoPE base (default 10000; presets: their own)"),
        CLI_STR("--rope-scaling", "T", &a->scaling, "none, linear, yarn, ntk, dynamic-ntk"),
        CLI_FLOAT("--rope-scale", "S", &a->scale, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, "context extension factor for --rope-scaling"),
        CLI_I64("--yarn-orig-ctx", "N", &a->orig_ctx, 1, CLI_INT_LIMIT, "original context (default: --ctx)"),
        CLI_STR("--attention", "SPEC", &a->attention, "attention the model is meant for (e.g. linear:elu)"),
        CLI_SECTION("mixture-of-experts families (--arch gpt-oss | qwen3next, or their presets; q8_0 unless --type):"),
        CLI_TEXT("  --preset qwen3next-0.8B  Qwen3-Next's layout scaled down: 1024/24L (18 Gated DeltaNet + 6 gated\n"
                 "                         full attention, 3:1), 8H/2KV x 256 (RoPE on 64 dims), DeltaNet 8 key /\n"
                 "                         16 value heads x 128, conv 4, 16 experts x 256 (4 used) + shared 512,\n"
                 "                         vocab 151936, untied\n"
                 "  --preset gpt-oss-0.9B  gpt-oss's layout scaled down: 1024/16L (window 128 with learned sinks on\n"
                 "                         layers 0, 2, ...; full on 1, 3, ...), 32H/8KV x 64, 16 experts x 512\n"
                 "                         (4 used), YaRN x32 from 4096, vocab 201088, untied\n"),
        POS("--experts", "N", experts, "experts per layer"),
        POS("--experts-used", "K", experts_used, "experts each token uses"),
        POS("--expert-ffn", "F", expert_ffn, "an expert's feed-forward width"),
        CLI_INT("--shared-ffn", "F", &a->shared_ffn, 0, INT32_MAX, "qwen3next's shared expert's width"),
        CLI_I64("--window", "W", &a->window, 0, CLI_INT_LIMIT, "gpt-oss: window of the window layers (default 128)"),
        POS("--full-attn-interval", "N", interval, "qwen3next: every N-th layer is full attention (default 4)"),
        POS("--ssm-k-heads", "H", ssm_k, "qwen3next's Gated DeltaNet key heads (default: heads)"),
        POS("--ssm-v-heads", "H", ssm_v, "... value heads (default: 2 x key heads)"),
        POS("--ssm-head-dim", "D", ssm_hd, "... head dimension (default: head dim)"),
        POS("--conv-kernel", "K", conv, "... convolution width (default 4)"),
        POS("--rope-dims", "N", rope_dims, "rotated dims per head (qwen3next: head dim / 4)"),
    };
    const cli_opt_spec spec = CLI_SPEC_POS("convert", synopsis, NULL, opts, a->pos, 2, &a->n_pos);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!a->random && a->n_pos != 2) {
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    if (a->random && a->n_pos != 1) {
        cli_error("convert", "--random takes exactly one output path");
        return CLI_USAGE;
    }
    return -1;
}
#undef POS

/* The preset's shape, then --arch; false after a message. */
static bool apply_presets(const convert_args *a, const preset **pp, const family_preset **fpp, lc_model_config *c,
                          int64_t *ctx, float *base, int32_t *head_dim) {
    const preset *p = NULL;
    const family_preset *fp = NULL;
    for (size_t k = 0; a->preset_name && k < sizeof presets / sizeof presets[0]; k++)
        if (strcmp(a->preset_name, presets[k].name) == 0) p = &presets[k];
    for (size_t k = 0; a->preset_name && k < sizeof family_presets / sizeof family_presets[0]; k++)
        if (strcmp(a->preset_name, family_presets[k].name) == 0) fp = &family_presets[k];
    if (a->preset_name && !p && !fp) {
        cli_error("convert", "unknown preset '%s' (15M, 110M, 1B, llama3-1B, qwen2.5-0.5B, qwen3next-0.8B, "
                  "gpt-oss-0.9B)", a->preset_name);
        return false;
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
        if (strcmp(a->arch, "llama") != 0 && strcmp(a->arch, "qwen2") != 0 && !family_arch(a->arch)) {
            cli_error("convert", "--arch: random models are llama, qwen2, gpt-oss or qwen3next, not '%s'", a->arch);
            return false;
        }
        snprintf(c->arch, sizeof c->arch, "%s", a->arch);
    }
    *pp = p;
    *fpp = fp;
    return true;
}

/* The shape flags over the preset's. */
static bool apply_shape(const convert_args *a, lc_model_config *c, int32_t head_dim) {
    if (a->dim) c->dim = a->dim;
    if (a->hidden) c->hidden_dim = a->hidden;
    if (!c->hidden_dim && family_arch(c->arch) && a->expert_ffn) c->hidden_dim = a->expert_ffn;
    if (a->layers) c->n_layers = a->layers;
    if (a->heads) c->n_heads = a->heads;
    if (a->vocab) c->vocab_size = a->vocab;
    if (!c->dim || !c->hidden_dim || !c->n_layers || !c->n_heads || !c->vocab_size) {
        cli_error("convert", "--random needs --preset or all of --dim --hidden --layers --heads --vocab");
        return false;
    }
    c->n_kv_heads = a->kv_heads ? a->kv_heads : (c->n_kv_heads ? c->n_kv_heads : c->n_heads);
    if (!head_dim && c->dim % c->n_heads) {
        cli_error("convert", "--heads %d does not divide --dim %d (give --head-dim)", c->n_heads, c->dim);
        return false;
    }
    c->head_dim = head_dim ? head_dim : c->dim / c->n_heads;
    if (a->tied >= 0) c->tied_output = a->tied;
    return true;
}

static int32_t pick(int32_t flag, bool have_preset, int32_t preset_value, int32_t fallback) {
    return flag ? flag : have_preset ? preset_value : fallback;
}

/* The experts, window and DeltaNet shape: flags, else the preset, else the family's defaults. */
static bool apply_family(const convert_args *a, const family_preset *fp, lc_model_config *c) {
    const bool qn = strcmp(c->arch, "qwen3next") == 0, f_ = fp != NULL;
    lc_family *f = &c->fam;
    f->n_experts = pick(a->experts, f_, f_ ? fp->experts : 0, 4);
    f->n_experts_used = pick(a->experts_used, f_, f_ ? fp->used : 0, LC_MIN(2, f->n_experts));
    f->expert_ffn = pick(a->expert_ffn, f_, f_ ? fp->expert_ffn : 0, c->hidden_dim);
    f->shared_ffn = a->shared_ffn >= 0 ? a->shared_ffn : fp ? fp->shared_ffn : qn ? f->expert_ffn : 0;
    if (!qn) f->window = a->window >= 0 ? a->window : fp ? fp->window : 128;
    else if (a->window > 0) {
        cli_error("convert", "--window: qwen3next has no window layers");
        return false;
    }
    if (qn) {
        f->full_attn_interval = pick(a->interval, f_, f_ ? fp->interval : 0, 4);
        f->ssm_conv_kernel = pick(a->conv, f_, f_ ? fp->conv : 0, 4);
        f->ssm_n_k_heads = pick(a->ssm_k, f_, f_ ? fp->ssm_k_heads : 0, c->n_heads);
        f->ssm_n_v_heads = pick(a->ssm_v, f_, f_ ? fp->ssm_v_heads : 0, 2 * f->ssm_n_k_heads);
        f->ssm_d_k = f->ssm_d_v = pick(a->ssm_hd, f_, f_ ? fp->ssm_head_dim : 0, c->head_dim);
    } else if (a->interval || a->conv || a->ssm_k || a->ssm_v || a->ssm_hd) {
        cli_error("convert", "the --full-attn-interval, --ssm-* and --conv-kernel options are qwen3next's");
        return false;
    }
    const int32_t rd = a->rope_dims ? a->rope_dims : LC_MAX(2, c->head_dim / (fp ? fp->rope_div : qn ? 4 : 1) / 2 * 2);
    if (rd > c->head_dim || rd % 2) {
        cli_error("convert", "--rope-dims %d must be even and at most the head dim %d", rd, c->head_dim);
        return false;
    }
    c->rope.n_dims = rd;
    return true;
}

static bool family_flags_given(const convert_args *a) {
    return a->experts || a->experts_used || a->expert_ffn || a->shared_ffn >= 0 || a->window >= 0 || a->interval ||
           a->conv || a->ssm_k || a->ssm_v || a->ssm_hd || a->rope_dims;
}

/* The random model's configuration from the presets and flags; false after a message. */
static bool random_config(const convert_args *a, lc_model_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "llama");
    const preset *p = NULL;
    const family_preset *fp = NULL;
    int64_t ctx = a->ctx;
    float base = a->base;
    int32_t head_dim = a->head_dim;
    if (!apply_presets(a, &p, &fp, c, &ctx, &base, &head_dim)) return false;
    if (!ctx) ctx = 2048;
    if (base == 0.0f) base = 10000.0f;
    if (!apply_shape(a, c, head_dim)) return false;
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
        cli_error("convert", "unknown --rope-scaling '%s' (none, linear, yarn, ntk, dynamic-ntk)", a->scaling);
        return false;
    }
    if (a->scaling && c->rope.scaling != LC_ROPE_SCALING_NONE) c->rope.factor = a->scale > 0 ? a->scale : 1.0f;
    if (a->attention) snprintf(c->attention, sizeof c->attention, "%s", a->attention);
    if (family_arch(c->arch)) return apply_family(a, fp, c);
    if (family_flags_given(a)) {
        cli_error("convert", "the expert, window, DeltaNet and --rope-dims options are for --arch gpt-oss or qwen3next");
        return false;
    }
    return true;
}

/* A family model, streamed to the file in the spec's types. */
static int write_family(const char *out, const lc_model_config *c, lc_quant_spec *spec, bool have_type, int64_t seed) {
    lc_error err;
    const double t0 = lc_time_now();
    if (!have_type) lc_quant_spec_pure(LC_DTYPE_Q8_0, spec);
    if (lc_model_write_random_gguf(out, c, spec, (uint64_t)seed, &err) != LC_OK) return cli_fail("convert", &err);
    const lc_family *f = &c->fam;
    printf("wrote %s: random %s, dim %d, layers %d, heads %d/%d x %d, vocab %d, ctx %lld, %d experts x %d "
           "(%d used)",
           out, c->arch, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size,
           (long long)c->ctx_train, f->n_experts, f->expert_ffn, f->n_experts_used);
    if (f->shared_ffn) printf(" + shared %d", f->shared_ffn);
    if (f->window) printf(", window %lld", (long long)f->window);
    if (f->full_attn_interval)
        printf(", 1 attention layer in %d, deltanet %d/%d heads x %d", f->full_attn_interval, f->ssm_n_k_heads,
               f->ssm_n_v_heads, f->ssm_d_k);
    printf(", %s, %lld parameters, seed %lld (%.2f s, streamed)\n", spec->name, (long long)lc_model_n_params(c),
           (long long)seed, lc_time_now() - t0);
    return CLI_OK;
}

int cmd_convert(int argc, char **argv) {
    convert_args a;
    const int prc = parse_args(&a, argc, argv);
    if (prc >= 0) return prc;
    const bool have_type = a.type_name != NULL;
    lc_quant_spec spec;
    lc_quant_spec_pure(LC_DTYPE_F32, &spec);
    if (have_type) {
        lc_error perr;
        if (lc_quant_spec_parse(a.type_name, &spec, &perr) != LC_OK) {
            cli_error("convert", "--type: %s", perr.msg);
            return CLI_USAGE;
        }
        /* convert has always meant "every matrix this type" for the plain
         * and q8_0 types; the quantized ones follow llama.cpp's rules. */
    }
    if (!a.random) return convert_file(a.pos[0], a.pos[1], a.tok, have_type ? &spec : NULL);
    lc_model_config c;
    if (!random_config(&a, &c)) return CLI_USAGE;
    lc_error err;
    if (lc_model_config_validate(&c, &err) != LC_OK) return cli_fail("convert", &err);
    if (family_arch(c.arch)) return write_family(a.pos[0], &c, &spec, have_type, a.seed);
    /* The random weights are made in the spec's type when the generator
     * has it, else in f16 and quantized while writing. */
    lc_dtype type = spec.base;
    if (type != LC_DTYPE_F32 && type != LC_DTYPE_F16 && type != LC_DTYPE_BF16 && type != LC_DTYPE_Q8_0)
        type = LC_DTYPE_F16;
    const double t0 = lc_time_now();
    lc_model *m = NULL;
    if (lc_model_create_random(&c, type, (uint64_t)a.seed, &m, &err) != LC_OK) return cli_fail("convert", &err);
    const double t1 = lc_time_now();
    const lc_status st = lc_model_write_gguf_spec(a.pos[0], &m->cfg, &m->w, NULL, &spec, &err);
    const double t2 = lc_time_now();
    const int64_t np = lc_model_n_params(&c);
    lc_model_free(m);
    if (st != LC_OK) return cli_fail("convert", &err);
    printf("wrote %s: random %s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, ctx %lld, %s, "
           "%lld parameters, seed %lld (generate %.2f s, write %.2f s)\n",
           a.pos[0], c.arch, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, (long long)c.ctx_train,
           spec.name, (long long)np, (long long)a.seed, t1 - t0, t2 - t1);
    return CLI_OK;
}
