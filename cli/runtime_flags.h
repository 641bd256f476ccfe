/*
 * The flags every command that runs a model shares (run, chat, eval, doc,
 * bench kv, bench sp), declared once as option-table entries (opt.h):
 *
 *   CLI_MODEL_OPTS(f)    -m/--model PATH  -z/--tokenizer PATH
 *   CLI_RUNTIME_OPTS(f)  -c/--ctx-size/--ctx N  -b/--batch-size N  -t/--threads N
 *                        --attn SPEC  --swa N  --swa-full  --swa-period P
 *                        -ctk/--cache-type-k T  -ctv/--cache-type-v T  --kv-policy SPEC
 *                        --keep N (llama.cpp's: --kv-policy shift:N; -1: the prompt's length)
 *   CLI_ROPE_OPTS(f)     the RoPE flags of include/longctx/rope.h (--rope-scaling,
 *                        --rope-scale, --rope-freq-base, --yarn-* ...), applied in
 *                        order on top of the model's RoPE once it is loaded
 *   CLI_SAMPLER_OPTS(p)  the sampler's flags (include/longctx/sample.h), -s is --seed
 *
 * and llama.cpp's -ngl, --mlock, --no-mmap, --color, -fa (llama_flags.h).
 */
#ifndef LC_CLI_RUNTIME_FLAGS_H
#define LC_CLI_RUNTIME_FLAGS_H

#include "cli.h"
#include "opt.h"
#include "serve_flags.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/text.h"

#define CLI_MAX_ROPE_FLAGS 32

/* -r / --reverse-prompt (llama.cpp's name) for run and chat: stop strings
 * (lc_text_opts.stop, lc_chat_opts.stop), borrowed from argv. */
typedef struct {
    const char *s[LC_TEXT_MAX_STOPS];
    int n;
} cli_stops;
bool cli_opt_stop(const cli_opt *o, const char *name, const char *v, const char *cmd); /* dst: cli_stops */

typedef struct {
    const char *model_path;
    const char *tok_path;
    bool no_mmap; /* --no-mmap: lc_model_load_opts.no_mmap */
    lc_context_opts co;  /* n_ctx, n_batch, n_threads, attn, k_type, v_type */
    char rope_names[CLI_MAX_ROPE_FLAGS][32];   /* the RoPE flags, in order */
    const char *rope_values[CLI_MAX_ROPE_FLAGS];
    int n_rope;
    const char *kv_spec;  /* --kv-policy as given: one spec is parsed into co;
                             a comma-separated list (eval ppl) is left to the
                             command (co keeps the full policy)               */
    bool keep_prompt;     /* --keep -1: the command sets the shift policy's
                             KEEP to the prompt's length (chat: the system
                             prompt's, which is what KEEP 0 means there)      */
} cli_runtime_flags;

void cli_runtime_flags_init(cli_runtime_flags *f);

/* The entries' parsers (dst: the field, or the cli_runtime_flags); -t takes
 * 1..CLI_MAX_THREADS, with a note when more than the CPUs. */
#define CLI_MAX_THREADS 4096
bool cli_opt_threads(const cli_opt *o, const char *name, const char *v, const char *cmd); /* int */
bool cli_opt_attn(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_dtype(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_kv_policy(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_keep(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_rope(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_sampler(const cli_opt *o, const char *name, const char *v, const char *cmd);
bool cli_opt_seed(const cli_opt *o, const char *name, const char *v, const char *cmd);

#define CLI_MODEL_OPTS(f)                                                                                              \
    CLI_STR("-m|--model", "PATH", &(f)->model_path, "GGUF or llama2.c .bin model"),                                    \
        CLI_STR("-z|--tokenizer", "PATH", &(f)->tok_path, "llama2.c tokenizer.bin for a .bin model")

#define CLI_RUNTIME_OPTS(f)                                                                                            \
    CLI_I64("-c|--ctx-size|--ctx", "N", &(f)->co.n_ctx, 0, LC_CONTEXT_MAX_TOKENS,                                      \
            "context length in tokens (default: the model's training context, at most 4096)"),                         \
        CLI_I64("-b|--batch-size", "N", &(f)->co.n_batch, 1, LC_CONTEXT_MAX_TOKENS,                                    \
                "prompt tokens per forward pass (default 512)"),                                                       \
        CLI_FN("-t|--threads", "N", cli_opt_threads, &(f)->co.n_threads, "threads, 1..4096 (default: all CPUs)"),      \
        CLI_FN("--attn", "SPEC", cli_opt_attn, &(f)->co.attn,                                                          \
               "naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]\n"                          \
               "(default: the model's attention, else flash)"),                                                        \
        CLI_I64("--swa", "N", &(f)->co.swa, -1, LC_CONTEXT_MAX_TOKENS,                                                 \
                "sliding window of the model's window layers (every layer when the file\n"                             \
                "declares none, e.g. Mistral); -1: none; default: as the file says"),                                  \
        CLI_SET("--swa-full", &(f)->co.swa_full, "window layers keep the whole KV cache, not a ring of W + batch - 1"), \
        CLI_INT("--swa-period", "P", &(f)->co.swa_period, 1, INT32_MAX,                                                \
                "window-layer pattern: every layer but each P-th (1: all; 6: Gemma-3's)"),                             \
        CLI_FN("-ctk|--cache-type-k", "T", cli_opt_dtype, &(f)->co.k_type,                                             \
               "KV cache type for K: f16 (default), f32 or q8_0 (head dim % 32 == 0)"),                                \
        CLI_FN("-ctv|--cache-type-v", "T", cli_opt_dtype, &(f)->co.v_type, "KV cache type for V: f16 (default), f32 or q8_0"), \
        CLI_FN("--kv-policy", "SPEC", cli_opt_kv_policy, (f),                                                          \
               "what the KV cache does when full: full (default: stop), window:W,\n"                                   \
               "sinks:S:W (StreamingLLM), shift:KEEP (context shift), h2o:S:R:H"),                                     \
        CLI_FN("--keep", "N", cli_opt_keep, (f), "llama.cpp's: --kv-policy shift:N (-1: keep the whole prompt)")

/* --kv-budget BYTES (K/M/G suffixes, cli_opt_bytes) into *(size_t *)dst: run, eval, bench sp with --sp. */
#define CLI_KV_BUDGET(dst_, help_) CLI_FN("--kv-budget", "BYTES", cli_opt_bytes, (dst_), help_)
/* ... with the help of run and eval, whose --sp refuses a shard over the budget. */
#define CLI_SP_KV_BUDGET(dst_)                                                                                         \
    CLI_KV_BUDGET((dst_), "with --sp: K/V bytes one rank may hold (K/M/G); refused, with the\n"                       \
                          "number of ranks it would take, when a shard needs more")

#define CLI_ROPE_OPTS(f)                                                                                               \
    CLI_SECTION("RoPE (override the model's):"), CLI_FAMILY(lc_rope_is_option, cli_opt_rope, (f), lc_rope_options_help())

#define CLI_SAMPLER_OPTS(p)                                                                                            \
    CLI_SECTION("sampling:"), CLI_FN("-s", "S", cli_opt_seed, (p), "the same as --seed"),                              \
        CLI_FAMILY(lc_sampler_is_option, cli_opt_sampler, (p), lc_sampler_options_help())

/* Without -c, lc_context_opts_default_ctx's length, with a note when that
 * is less than the model's training context. */
void cli_runtime_default_ctx(cli_runtime_flags *f, const lc_model *m, const char *cmd);
/* Load -m (with -z); CLI_OK, CLI_USAGE without -m, CLI_FAIL (message printed). */
int cli_runtime_load_model(const cli_runtime_flags *f, lc_model **m, const char *cmd);
/* The model's RoPE with the RoPE flags applied, into *rope; points f->co.rope
 * at it when any flag was given. CLI_OK, or CLI_USAGE after a message. */
int cli_runtime_rope(cli_runtime_flags *f, const lc_model *m, lc_rope_config *rope, const char *cmd);
/* Both: load -m (with -z), then the RoPE flags into *rope. CLI_OK, else the
 * failing step's status with *m NULL (a loaded model freed). */
int cli_runtime_load(cli_runtime_flags *f, lc_model **m, lc_rope_config *rope, const char *cmd);

#endif
