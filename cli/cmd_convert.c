/* longctx convert — llama2.c checkpoints (or GGUF) to GGUF, and GGUF models
 * with seeded random weights of any llama shape for benchmarks. */
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/model.h"
#include "longctx/model_presets.h"
#include "longctx/quant.h"
#include "opt.h"

static const char synopsis[] =
    "usage: longctx convert IN OUT.gguf [--tokenizer tok.bin] [--type T]\n"
    "       longctx convert --random OUT.gguf (--preset 15M|110M|1B | --dim D --hidden H --layers L\n"
    "                       --heads N --vocab V --ctx C) [--kv-heads K] [--type T] [--seed S]\n\n"
    "Convert a llama2.c checkpoint (or re-type a GGUF model) to GGUF v3, or write a\n"
    "model with N(0, 0.02) random weights. Norms stay f32; quantized types fall back\n"
    "for matrices whose rows are not whole blocks (q8_0 -> f16, q4_K -> q5_0, ...).\n\n";

static int convert_file(const char *in, const char *out, const char *tok, const lc_quant_spec *spec) {
    lc_error err;
    lc_model_write_report r;
    const lc_status st = lc_model_convert(in, out, tok, spec, &r, &err);
    if (r.tokenizer_ignored)
        cli_error("convert", "note: --tokenizer applies to llama2.c input; the GGUF's own tokenizer is kept");
    if (r.tokenizer_dropped)
        cli_error("convert", "note: the input's tokenizer is of a kind longctx does not build; it is not carried over");
    if (st != LC_OK) return cli_fail("convert", &err);
    printf("wrote %s: %s -> gguf %s, %lld parameters, %s tokenizer, %.2f s\n", out, r.format, r.type,
           (long long)r.n_params, r.has_tokenizer ? "with" : "no", r.write_s);
    return CLI_OK;
}

/* What the command line asks for (0, -1 or NULL: not given). */
typedef struct {
    const char *pos[2];
    int n_pos;
    const char *tok, *type_name;
    bool random;
    int64_t seed;
    lc_random_model_spec rs; /* the random model's shape */
} convert_args;

static bool opt_tied(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)v, (void)cmd;
    *(int *)o->dst = strcmp(name, "--tied") == 0;
    return true;
}

#define POS(names_, meta_, field, help_) CLI_INT(names_, meta_, &a->rs.field, 1, INT32_MAX, help_)

/* -1 to go on, else the exit status. */
static int parse_args(convert_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    lc_random_model_spec_init(&a->rs);
    a->seed = 1;
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
        CLI_STR("--preset", "NAME", &a->rs.preset,
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
        CLI_STR("--arch", "A", &a->rs.arch, "llama (default), qwen2 (q/k/v biases, NEOX RoPE), gpt-oss, qwen3next"),
        CLI_I64("-c|--ctx", "C", &a->rs.ctx, 1, CLI_INT_LIMIT, "training context (default 2048; presets: their own)"),
        CLI_I64("--seed", "S", &a->seed, -CLI_INT_LIMIT, CLI_INT_LIMIT, "(default 1)"),
        CLI_FN("--tied|--untied", NULL, opt_tied, &a->rs.tied,
               "share the embedding with the classifier (presets: 15M and\n"
               "110M tied as in llama2.c, 1B untied, llama3-1B and qwen2.5-0.5B tied)"),
        CLI_FLOAT("--rope-freq-base", "F", &a->rs.base, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, "RoPE base (default 10000; presets: their own)"),
        CLI_STR("--rope-scaling", "T", &a->rs.scaling, "none, linear, yarn, ntk, dynamic-ntk"),
        CLI_FLOAT("--rope-scale", "S", &a->rs.scale, -CLI_REAL_LIMIT, CLI_REAL_LIMIT, "context extension factor for --rope-scaling"),
        CLI_I64("--yarn-orig-ctx", "N", &a->rs.orig_ctx, 1, CLI_INT_LIMIT, "original context (default: --ctx)"),
        CLI_STR("--attention", "SPEC", &a->rs.attention, "attention the model is meant for (e.g. linear:elu)"),
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
        CLI_INT("--shared-ffn", "F", &a->rs.shared_ffn, 0, INT32_MAX, "qwen3next's shared expert's width"),
        CLI_I64("--window", "W", &a->rs.window, 0, CLI_INT_LIMIT, "gpt-oss: window of the window layers (default 128)"),
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

int cmd_convert(int argc, char **argv) {
    convert_args a;
    const int prc = parse_args(&a, argc, argv);
    if (prc >= 0) return prc;
    lc_quant_spec spec; /* the plain and q8_0 types: every matrix; the others: llama.cpp's rules */
    const lc_quant_spec *type = a.type_name ? &spec : NULL;
    lc_error err;
    if (type && lc_quant_spec_parse(a.type_name, &spec, &err) != LC_OK) {
        cli_error("convert", "--type: %s", err.msg);
        return CLI_USAGE;
    }
    if (!a.random) return convert_file(a.pos[0], a.pos[1], a.tok, type);
    lc_model_config c;
    if (lc_random_model_config(&a.rs, &c, &err) != LC_OK) {
        cli_error("convert", "%s", err.msg);
        return CLI_USAGE;
    }
    if (lc_model_config_validate(&c, &err) != LC_OK) return cli_fail("convert", &err);
    lc_model_write_report r;
    if (lc_random_model_write(a.pos[0], &c, type, (uint64_t)a.seed, &r, &err) != LC_OK)
        return cli_fail("convert", &err);
    lc_random_model_print(stdout, a.pos[0], &c, &r, (uint64_t)a.seed);
    return CLI_OK;
}
