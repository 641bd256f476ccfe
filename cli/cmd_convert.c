/* longctx convert — llama2.c checkpoints (or GGUF) to GGUF, and GGUF models
 * with seeded random weights of any llama shape for benchmarks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "common/util.h"
#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/quant.h"
#include "longctx/sys.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx convert IN OUT.gguf [--tokenizer tok.bin] [--type T]\n"
            "       longctx convert --random OUT.gguf (--preset 15M|110M|1B | --dim D --hidden H --layers L\n"
            "                       --heads N --vocab V --ctx C) [--kv-heads K] [--type T] [--seed S]\n\n"
            "Convert a llama2.c checkpoint (or re-type a GGUF model) to GGUF v3, or write a\n"
            "model with N(0, 0.02) random weights. Norms stay f32; quantized types fall back\n"
            "for matrices whose rows are not whole blocks (q8_0 -> f16, q4_K -> q5_0, ...).\n\n"
            "options:\n"
            "  -z, --tokenizer PATH   llama2.c tokenizer.bin to embed (llama2.c input)\n"
            "  --type, --outtype T    f32 (default for llama2.c), f16, bf16, q8_0, q4_0, q4_1,\n"
            "                         q5_0, q5_1, q6_K, q4_K_M, q5_K_M (llama.cpp's per-tensor\n"
            "                         rules, as longctx quantize); GGUF input keeps each\n"
            "                         tensor's type unless given\n"
            "random models:\n"
            "  --random               write a random model (no input file)\n"
            "  --preset NAME          15M (288/768/6L/6H, vocab 32000), 110M (768/2048/12L/12H),\n"
            "                         1B (2048/5632/16L/32H/8KV), llama3-1B (Llama-3.2-1B: 2048/8192/\n"
            "                         16L/32H/8KV, vocab 128256, llama3 RoPE), qwen2.5-0.5B (896/4864/\n"
            "                         24L/14H/2KV, vocab 151936, q/k/v biases); flags below override\n"
            "  --dim D --hidden H --layers L --heads N --kv-heads K --vocab V\n"
            "  --head-dim D           (default dim/heads)\n"
            "  --arch A               llama (default), qwen2 (q/k/v biases, NEOX RoPE), gpt-oss, qwen3next\n"
            "  -c, --ctx C            training context (default 2048; presets: their own)\n"
            "  --seed S               (default 1)\n"
            "  --tied | --untied      share the embedding with the classifier (presets: 15M and\n"
            "                         110M tied as in llama2.c, 1B untied, llama3-1B and qwen2.5-0.5B tied)\n"
            "  --rope-freq-base F     RoPE base (default 10000; presets: their own)\n"
            "  --rope-scaling T       none, linear, yarn, ntk, dynamic-ntk\n"
            "  --rope-scale S         context extension factor for --rope-scaling\n"
            "  --yarn-orig-ctx N      original context (default: --ctx)\n"
            "  --attention SPEC       attention the model is meant for (e.g. linear:elu)\n"
            "mixture-of-experts families (--arch gpt-oss | qwen3next, or their presets; q8_0 unless --type):\n"
            "  --preset qwen3next-0.8B  Qwen3-Next's layout scaled down: 1024/24L (18 Gated DeltaNet + 6 gated\n"
            "                         full attention, 3:1), 8H/2KV x 256 (RoPE on 64 dims), DeltaNet 8 key /\n"
            "                         16 value heads x 128, conv 4, 16 experts x 256 (4 used) + shared 512,\n"
            "                         vocab 151936, untied\n"
            "  --preset gpt-oss-0.9B  gpt-oss's layout scaled down: 1024/16L (window 128 with learned sinks on\n"
            "                         layers 0, 2, ...; full on 1, 3, ...), 32H/8KV x 64, 16 experts x 512\n"
            "                         (4 used), YaRN x32 from 4096, vocab 201088, untied\n"
            "  --experts N --experts-used K --expert-ffn F --shared-ffn F (qwen3next's shared expert)\n"
            "  --window W             gpt-oss: window of the window layers (default 128)\n"
            "  --full-attn-interval N qwen3next: every N-th layer is full attention (default 4)\n"
            "  --ssm-k-heads H --ssm-v-heads H --ssm-head-dim D --conv-kernel K\n"
            "                         qwen3next's Gated DeltaNet (defaults: heads, 2 x heads, head dim, 4)\n"
            "  --rope-dims N          rotated dims per head (qwen3next: head dim / 4)\n"
            "  -h, --help             this help\n");
}

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

static bool parse_pos(const char *s, int32_t *out) {
    int v;
    if (!cli_parse_int(s, &v) || v < 1) return false;
    *out = v;
    return true;
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

int cmd_convert(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *tok = NULL, *preset_name = NULL, *attention = NULL, *arch = NULL;
    int n_pos = 0;
    bool random = false, have_type = false;
    int tied = -1;
    const char *type_name = NULL;
    int32_t dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, head_dim = 0;
    int64_t ctx = 0, orig_ctx = 0, seed = 1;
    float base = 0.0f, scale = 0.0f;
    const char *scaling = NULL;
    /* mixture-of-experts families (0: the preset's or the family's default) */
    int32_t experts = 0, experts_used = 0, expert_ffn = 0, shared_ffn = -1, interval = 0, conv = 0;
    int32_t ssm_k = 0, ssm_v = 0, ssm_hd = 0, rope_dims = 0;
    int64_t window = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        bool ok = true;
#define VALUE() (v = cli_value(argc, argv, &i, "convert"))
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, NULL, "--random")) random = true;
        else if (cli_is(a, NULL, "--tied")) tied = 1;
        else if (cli_is(a, NULL, "--untied")) tied = 0;
        else if (cli_is(a, "-z", "--tokenizer")) ok = (tok = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--type") || cli_is(a, NULL, "--outtype")) {
            ok = (type_name = VALUE()) != NULL;
            have_type = true;
        } else if (cli_is(a, NULL, "--preset")) ok = (preset_name = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--dim")) ok = VALUE() && parse_pos(v, &dim);
        else if (cli_is(a, NULL, "--hidden")) ok = VALUE() && parse_pos(v, &hidden);
        else if (cli_is(a, NULL, "--layers")) ok = VALUE() && parse_pos(v, &layers);
        else if (cli_is(a, NULL, "--heads")) ok = VALUE() && parse_pos(v, &heads);
        else if (cli_is(a, NULL, "--kv-heads")) ok = VALUE() && parse_pos(v, &kv_heads);
        else if (cli_is(a, NULL, "--vocab")) ok = VALUE() && parse_pos(v, &vocab);
        else if (cli_is(a, NULL, "--head-dim")) ok = VALUE() && parse_pos(v, &head_dim);
        else if (cli_is(a, "-c", "--ctx")) ok = VALUE() && cli_parse_i64(v, &ctx) && ctx >= 1;
        else if (cli_is(a, NULL, "--seed")) ok = VALUE() && cli_parse_i64(v, &seed);
        else if (cli_is(a, NULL, "--rope-freq-base")) ok = VALUE() && cli_parse_float(v, &base);
        else if (cli_is(a, NULL, "--rope-scaling")) ok = (scaling = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--rope-scale")) ok = VALUE() && cli_parse_float(v, &scale);
        else if (cli_is(a, NULL, "--yarn-orig-ctx")) ok = VALUE() && cli_parse_i64(v, &orig_ctx) && orig_ctx >= 1;
        else if (cli_is(a, NULL, "--attention")) ok = (attention = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--arch")) ok = (arch = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--experts")) ok = VALUE() && parse_pos(v, &experts);
        else if (cli_is(a, NULL, "--experts-used")) ok = VALUE() && parse_pos(v, &experts_used);
        else if (cli_is(a, NULL, "--expert-ffn")) ok = VALUE() && parse_pos(v, &expert_ffn);
        else if (cli_is(a, NULL, "--shared-ffn")) ok = VALUE() && cli_parse_int(v, &shared_ffn) && shared_ffn >= 0;
        else if (cli_is(a, NULL, "--window")) ok = VALUE() && cli_parse_i64(v, &window) && window >= 0;
        else if (cli_is(a, NULL, "--full-attn-interval")) ok = VALUE() && parse_pos(v, &interval);
        else if (cli_is(a, NULL, "--ssm-k-heads")) ok = VALUE() && parse_pos(v, &ssm_k);
        else if (cli_is(a, NULL, "--ssm-v-heads")) ok = VALUE() && parse_pos(v, &ssm_v);
        else if (cli_is(a, NULL, "--ssm-head-dim")) ok = VALUE() && parse_pos(v, &ssm_hd);
        else if (cli_is(a, NULL, "--conv-kernel")) ok = VALUE() && parse_pos(v, &conv);
        else if (cli_is(a, NULL, "--rope-dims")) ok = VALUE() && parse_pos(v, &rope_dims);
        else if (a[0] == '-' && a[1]) {
            return cli_unknown_option("convert", a, usage);
        } else if (n_pos < 2) pos[n_pos++] = a;
        else {
            cli_error("convert", "too many arguments (%s)", a);
            return CLI_USAGE;
        }
#undef VALUE
        if (!ok) {
            cli_error("convert", "bad or missing value for %s%s%s", a, v ? ": " : "", v ? v : "");
            return CLI_USAGE;
        }
    }
    lc_quant_spec spec;
    lc_quant_spec_pure(LC_DTYPE_F32, &spec);
    if (have_type) {
        lc_error perr;
        if (lc_quant_spec_parse(type_name, &spec, &perr) != LC_OK) {
            cli_error("convert", "--type: %s", perr.msg);
            return CLI_USAGE;
        }
        /* convert has always meant "every matrix this type" for the plain
         * and q8_0 types; the quantized ones follow llama.cpp's rules. */
    }
    if (!random) {
        if (n_pos != 2) {
            usage(stderr);
            return CLI_USAGE;
        }
        return convert_file(pos[0], pos[1], tok, have_type ? &spec : NULL);
    }

    if (n_pos != 1) {
        cli_error("convert", "--random takes exactly one output path");
        return CLI_USAGE;
    }
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    const preset *p = NULL;
    const family_preset *fp = NULL;
    if (preset_name) {
        for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++)
            if (strcmp(preset_name, presets[k].name) == 0) p = &presets[k];
        for (size_t k = 0; k < sizeof family_presets / sizeof family_presets[0]; k++)
            if (strcmp(preset_name, family_presets[k].name) == 0) fp = &family_presets[k];
        if (!p && !fp) {
            cli_error("convert", "unknown preset '%s' (15M, 110M, 1B, llama3-1B, qwen2.5-0.5B, qwen3next-0.8B, "
                      "gpt-oss-0.9B)", preset_name);
            return CLI_USAGE;
        }
    }
    if (fp) {
        c.dim = fp->dim, c.hidden_dim = fp->expert_ffn, c.n_layers = fp->layers, c.n_heads = fp->heads;
        c.n_kv_heads = fp->kv_heads, c.vocab_size = fp->vocab, c.tied_output = false;
        snprintf(c.arch, sizeof c.arch, "%s", fp->arch);
        if (!ctx) ctx = fp->ctx;
        if (base == 0.0f) base = fp->base;
        if (!head_dim) head_dim = fp->head_dim;
    }
    if (p) {
        c.dim = p->dim, c.hidden_dim = p->hidden, c.n_layers = p->layers, c.n_heads = p->heads;
        c.n_kv_heads = p->kv_heads, c.vocab_size = p->vocab, c.tied_output = p->tied;
        if (p->arch) snprintf(c.arch, sizeof c.arch, "%s", p->arch);
        if (!ctx) ctx = p->ctx;
        if (base == 0.0f) base = p->base;
    }
    if (arch) {
        if (strcmp(arch, "llama") != 0 && strcmp(arch, "qwen2") != 0 && !family_arch(arch)) {
            cli_error("convert", "--arch: random models are llama, qwen2, gpt-oss or qwen3next, not '%s'", arch);
            return CLI_USAGE;
        }
        snprintf(c.arch, sizeof c.arch, "%s", arch);
    }
    if (!ctx) ctx = 2048;
    if (base == 0.0f) base = 10000.0f;
    if (dim) c.dim = dim;
    if (hidden) c.hidden_dim = hidden;
    if (!c.hidden_dim && family_arch(c.arch) && expert_ffn) c.hidden_dim = expert_ffn;
    if (layers) c.n_layers = layers;
    if (heads) c.n_heads = heads;
    if (vocab) c.vocab_size = vocab;
    if (!c.dim || !c.hidden_dim || !c.n_layers || !c.n_heads || !c.vocab_size) {
        cli_error("convert", "--random needs --preset or all of --dim --hidden --layers --heads --vocab");
        return CLI_USAGE;
    }
    c.n_kv_heads = kv_heads ? kv_heads : (c.n_kv_heads ? c.n_kv_heads : c.n_heads);
    if (!head_dim && c.dim % c.n_heads) {
        cli_error("convert", "--heads %d does not divide --dim %d (give --head-dim)", c.n_heads, c.dim);
        return CLI_USAGE;
    }
    c.head_dim = head_dim ? head_dim : c.dim / c.n_heads;
    if (tied >= 0) c.tied_output = tied;
    c.ctx_train = ctx;
    c.norm_eps = p && p->eps > 0 ? p->eps : fp ? fp->eps : 1e-5f;
    lc_rope_config_init(&c.rope, c.head_dim);
    c.rope.n_dims = c.head_dim;
    c.rope.freq_base = base;
    lc_model_family_defaults(&c); /* the family's machinery (qwen2: q/k/v biases, NEOX RoPE) */
    if (p && p->llama3_factor > 0) llama3_factors(&c.rope, p->llama3_factor);
    c.rope.orig_ctx = orig_ctx ? orig_ctx : ctx;
    if (fp && fp->yarn_factor > 0 && !scaling) {
        c.rope.scaling = LC_ROPE_SCALING_YARN;
        c.rope.factor = fp->yarn_factor;
        c.rope.orig_ctx = orig_ctx ? orig_ctx : fp->yarn_orig;
    }
    if (scaling && !lc_rope_scaling_parse(scaling, &c.rope.scaling)) {
        cli_error("convert", "unknown --rope-scaling '%s' (none, linear, yarn, ntk, dynamic-ntk)", scaling);
        return CLI_USAGE;
    }
    if (scaling && c.rope.scaling != LC_ROPE_SCALING_NONE) c.rope.factor = scale > 0 ? scale : 1.0f;
    if (family_arch(c.arch)) {
        /* the experts, window and DeltaNet shape: flags, else the preset, else the family's defaults */
        const bool qn = strcmp(c.arch, "qwen3next") == 0;
        lc_family *f = &c.fam;
        f->n_experts = experts ? experts : fp ? fp->experts : 4;
        f->n_experts_used = experts_used ? experts_used : fp ? fp->used : LC_MIN(2, f->n_experts);
        f->expert_ffn = expert_ffn ? expert_ffn : fp ? fp->expert_ffn : c.hidden_dim;
        f->shared_ffn = shared_ffn >= 0 ? shared_ffn : fp ? fp->shared_ffn : qn ? f->expert_ffn : 0;
        if (!qn) f->window = window >= 0 ? window : fp ? fp->window : 128;
        else if (window > 0) {
            cli_error("convert", "--window: qwen3next has no window layers");
            return CLI_USAGE;
        }
        if (qn) {
            f->full_attn_interval = interval ? interval : fp ? fp->interval : 4;
            f->ssm_conv_kernel = conv ? conv : fp ? fp->conv : 4;
            f->ssm_n_k_heads = ssm_k ? ssm_k : fp ? fp->ssm_k_heads : c.n_heads;
            f->ssm_n_v_heads = ssm_v ? ssm_v : fp ? fp->ssm_v_heads : 2 * f->ssm_n_k_heads;
            f->ssm_d_k = f->ssm_d_v = ssm_hd ? ssm_hd : fp ? fp->ssm_head_dim : c.head_dim;
        } else if (interval || conv || ssm_k || ssm_v || ssm_hd) {
            cli_error("convert", "the --full-attn-interval, --ssm-* and --conv-kernel options are qwen3next's");
            return CLI_USAGE;
        }
        const int32_t rd = rope_dims ? rope_dims : LC_MAX(2, c.head_dim / (fp ? fp->rope_div : qn ? 4 : 1) / 2 * 2);
        if (rd > c.head_dim || rd % 2) {
            cli_error("convert", "--rope-dims %d must be even and at most the head dim %d", rd, c.head_dim);
            return CLI_USAGE;
        }
        c.rope.n_dims = rd;
    } else if (experts || experts_used || expert_ffn || shared_ffn >= 0 || window >= 0 || interval || conv || ssm_k ||
               ssm_v || ssm_hd || rope_dims) {
        cli_error("convert", "the expert, window, DeltaNet and --rope-dims options are for --arch gpt-oss or qwen3next");
        return CLI_USAGE;
    }
    if (attention) snprintf(c.attention, sizeof c.attention, "%s", attention);
    /* The random weights are made in the spec's type when the generator
     * has it, else in f16 and quantized while writing. */
    lc_dtype type = spec.base;
    if (type != LC_DTYPE_F32 && type != LC_DTYPE_F16 && type != LC_DTYPE_BF16 && type != LC_DTYPE_Q8_0)
        type = LC_DTYPE_F16;

    lc_error err;
    if (lc_model_config_validate(&c, &err) != LC_OK) return cli_fail("convert", &err);
    double t0 = lc_time_now();
    if (family_arch(c.arch)) {
        if (!have_type) lc_quant_spec_pure(LC_DTYPE_Q8_0, &spec);
        if (lc_model_write_random_gguf(pos[0], &c, &spec, (uint64_t)seed, &err) != LC_OK)
            return cli_fail("convert", &err);
        const lc_family *f = &c.fam;
        printf("wrote %s: random %s, dim %d, layers %d, heads %d/%d x %d, vocab %d, ctx %lld, %d experts x %d "
               "(%d used)",
               pos[0], c.arch, c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size,
               (long long)c.ctx_train, f->n_experts, f->expert_ffn, f->n_experts_used);
        if (f->shared_ffn) printf(" + shared %d", f->shared_ffn);
        if (f->window) printf(", window %lld", (long long)f->window);
        if (f->full_attn_interval)
            printf(", 1 attention layer in %d, deltanet %d/%d heads x %d", f->full_attn_interval, f->ssm_n_k_heads,
                   f->ssm_n_v_heads, f->ssm_d_k);
        printf(", %s, %lld parameters, seed %lld (%.2f s, streamed)\n", spec.name, (long long)lc_model_n_params(&c),
               (long long)seed, lc_time_now() - t0);
        return CLI_OK;
    }
    lc_model *m = NULL;
    if (lc_model_create_random(&c, type, (uint64_t)seed, &m, &err) != LC_OK) return cli_fail("convert", &err);
    double t1 = lc_time_now();
    lc_status st = lc_model_write_gguf_spec(pos[0], &m->cfg, &m->w, NULL, &spec, &err);
    double t2 = lc_time_now();
    int64_t np = lc_model_n_params(&c);
    lc_model_free(m);
    if (st != LC_OK) return cli_fail("convert", &err);
    printf("wrote %s: random %s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, ctx %lld, %s, "
           "%lld parameters, seed %lld (generate %.2f s, write %.2f s)\n",
           pos[0], c.arch, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, (long long)c.ctx_train,
           spec.name, (long long)np, (long long)seed, t1 - t0, t2 - t1);
    return CLI_OK;
}
