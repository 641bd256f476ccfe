/*
 * The flags every command that runs a model shares (longctx run, longctx
 * eval), parsed in one place:
 *
 *   -m/--model PATH  -z/--tokenizer PATH  -c/--ctx-size/--ctx N
 *   -b/--batch-size N  -t/--threads N  --attn SPEC
 *   -ctk/--cache-type-k T  -ctv/--cache-type-v T  --kv-policy SPEC
 *   --keep N (llama.cpp's: --kv-policy shift:N; -1: the prompt's length)
 *   llama.cpp's -ngl, --mlock, --no-mmap, --color, -fa (llama_flags.h)
 *   the RoPE flags of include/longctx/rope.h (--rope-scaling, --rope-scale,
 *   --rope-freq-base, --rope-freq-scale, --yarn-*), applied in order on top of
 *   the model's RoPE once it is loaded.
 */
#ifndef LC_CLI_RUNTIME_FLAGS_H
#define LC_CLI_RUNTIME_FLAGS_H

#include "cli.h"
#include "longctx/model.h"
#include "longctx/runtime.h"

#define CLI_MAX_ROPE_FLAGS 32

typedef struct {
    const char *model_path;
    const char *tok_path;
    lc_context_opts co;  /* n_ctx, n_batch, n_threads, attn, k_type, v_type */
    const char *rope_flags[CLI_MAX_ROPE_FLAGS][2]; /* (flag, value) in order */
    int n_rope;
    const char *kv_spec;  /* --kv-policy as given: one spec is parsed into co;
                             a comma-separated list (eval ppl) is left to the
                             command (co keeps the full policy)               */
    bool keep_prompt;     /* --keep -1: the command sets the shift policy's
                             KEEP to the prompt's length (chat: the system
                             prompt's, which is what KEEP 0 means there)      */
} cli_runtime_flags;

void cli_runtime_flags_init(cli_runtime_flags *f);
/* Threads: 1..CLI_MAX_THREADS (else a message, false), with a note when
 * more than the CPUs. */
#define CLI_MAX_THREADS 4096
bool cli_threads_flag(const char *cmd, const char *flag, const char *v, int64_t *out);
/* If argv[*i] is one of the flags above, take it and its value (advancing
 * *i) and return 1; return -1 after printing a message when its value is
 * bad or missing (a usage error); 0 when it is not one of them. */
int cli_runtime_flag(cli_runtime_flags *f, int argc, char **argv, int *i, const char *cmd);
/* Without -c, a context of min(the model's training context, 4096) tokens,
 * with a note when that is less than the model's (as llama.cpp does): a
 * model claiming 2^24 tokens would otherwise size a 16M-slot cache. */
#define CLI_DEFAULT_CTX 4096
void cli_runtime_default_ctx(cli_runtime_flags *f, const lc_model *m, const char *cmd);
/* Load -m (with -z); CLI_OK, CLI_USAGE without -m, CLI_FAIL (message printed). */
int cli_runtime_load_model(const cli_runtime_flags *f, lc_model **m, const char *cmd);
/* The model's RoPE with the RoPE flags applied, into *rope; points f->co.rope
 * at it when any flag was given. CLI_OK, or CLI_USAGE after a message. */
int cli_runtime_rope(cli_runtime_flags *f, const lc_model *m, lc_rope_config *rope, const char *cmd);
/* Help lines for the flags above but RoPE's (lc_rope_options_help). */
const char *cli_runtime_flags_help(void);

#endif
