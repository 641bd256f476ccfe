/* Model, context and RoPE flags shared by the commands that run a model. */
#include <string.h>

#include "llama_flags.h"
#include "runtime_flags.h"
#include "longctx/attn.h"
#include "longctx/sys.h"

void cli_runtime_flags_init(cli_runtime_flags *f) {
    memset(f, 0, sizeof *f);
    lc_context_opts_init(&f->co);
}

int cli_runtime_flag(cli_runtime_flags *f, int argc, char **argv, int *i, const char *cmd) {
    const char *a = argv[*i], *v = NULL;
    bool ok = true;
    const int llama = cli_llama_flag(argc, argv, i, cmd, &f->co.attn);
    if (llama != 0) return llama;
#define VALUE() (v = cli_value(argc, argv, i, cmd))
    if (cli_is(a, "-m", "--model")) ok = (f->model_path = VALUE()) != NULL;
    else if (cli_is(a, "-z", "--tokenizer")) ok = (f->tok_path = VALUE()) != NULL;
    else if (cli_is(a, "-c", "--ctx-size") || cli_is(a, NULL, "--ctx")) {
        if (!VALUE() || !cli_int_flag(cmd, a, v, 0, LC_CONTEXT_MAX_TOKENS, &f->co.n_ctx)) return -1;
    } else if (cli_is(a, "-b", "--batch-size")) {
        if (!VALUE() || !cli_int_flag(cmd, a, v, 1, LC_CONTEXT_MAX_TOKENS, &f->co.n_batch)) return -1;
    } else if (cli_is(a, "-t", "--threads")) {
        int64_t t;
        if (!VALUE() || !cli_threads_flag(cmd, a, v, &t)) return -1;
        f->co.n_threads = (int)t;
    } else if (cli_is(a, NULL, "--attn")) {
        if (!(f->co.attn = VALUE())) return -1;
        /* a usage error, refused before the model loads; eval takes a
         * comma-separated list: each spec is checked */
        for (const char *p = v; *p;) {
            const char *comma = strchr(p, ',');
            const size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char spec[256];
            lc_attn_params ap;
            lc_attn_params_init(&ap, LC_ATTN_FLASH);
            lc_error err;
            snprintf(spec, sizeof spec, "%.*s", (int)(len < sizeof spec ? len : sizeof spec - 1), p);
            if (len >= sizeof spec || lc_attn_parse(spec, &ap, &err) != LC_OK) {
                cli_error(cmd, "--attn: %s", len >= sizeof spec ? "spec too long" : err.msg);
                return -1;
            }
            p += len + (comma != NULL);
        }
    } else if (cli_is(a, NULL, "--swa")) {
        if (!VALUE() || !cli_int_flag(cmd, a, v, -1, LC_CONTEXT_MAX_TOKENS, &f->co.swa)) return -1;
    } else if (cli_is(a, NULL, "--swa-full")) f->co.swa_full = true;
    else if (cli_is(a, NULL, "--swa-period")) ok = VALUE() && cli_parse_int(v, &f->co.swa_period) && f->co.swa_period >= 1;
    else if (cli_is(a, "-ctk", "--cache-type-k")) ok = VALUE() && lc_dtype_parse(v, &f->co.k_type);
    else if (cli_is(a, "-ctv", "--cache-type-v")) ok = VALUE() && lc_dtype_parse(v, &f->co.v_type);
    else if (cli_is(a, NULL, "--kv-policy")) {
        ok = (f->kv_spec = VALUE()) != NULL;
        lc_error err;
        if (ok && strchr(v, ',') && strcmp(cmd, "eval") != 0) {
            cli_error(cmd, "--kv-policy takes one policy here (a list is for eval ppl)");
            return -1;
        }
        if (ok && !strchr(v, ',') && lc_kv_policy_parse(v, &f->co, &err) != LC_OK) {
            cli_error(cmd, "%s", err.msg);
            return -1;
        }
    }
    else if (cli_is(a, NULL, "--keep")) { /* llama.cpp's: the kept prefix of a context shift */
        int64_t keep;
        if (!VALUE() || !cli_int_flag(cmd, a, v, -1, LC_CONTEXT_MAX_TOKENS, &keep)) return -1;
        if (f->kv_spec && f->co.kv_policy != LC_KV_POLICY_SHIFT && f->co.kv_policy != LC_KV_POLICY_FULL) {
            cli_error(cmd, "--keep is the kept prefix of a context shift (--kv-policy shift:KEEP), not of %s",
                      f->kv_spec);
            return -1;
        }
        char spec[48];
        snprintf(spec, sizeof spec, "shift:%lld", (long long)(keep < 0 ? 0 : keep));
        lc_error err;
        if (lc_kv_policy_parse(spec, &f->co, &err) != LC_OK) {
            cli_error(cmd, "--keep: %s", err.msg);
            return -1;
        }
        f->keep_prompt = keep < 0;
    }
    else if (lc_rope_is_option(a)) {
        ok = VALUE() != NULL;
        if (ok && f->n_rope == CLI_MAX_ROPE_FLAGS) {
            cli_error(cmd, "too many RoPE flags (at most %d)", CLI_MAX_ROPE_FLAGS);
            return -1;
        }
        if (ok) {
            f->rope_flags[f->n_rope][0] = a;
            f->rope_flags[f->n_rope][1] = v;
            f->n_rope++;
        }
    } else {
        return 0;
    }
#undef VALUE
    if (!ok) {
        cli_error(cmd, "bad or missing value for %s%s%s", a, v ? ": " : "", v ? v : "");
        return -1;
    }
    return 1;
}

bool cli_threads_flag(const char *cmd, const char *flag, const char *v, int64_t *out) {
    if (!cli_int_flag(cmd, flag, v, 1, CLI_MAX_THREADS, out)) return false;
    const int cpus = lc_cpu_count();
    if (*out > cpus)
        cli_error(cmd, "note: %s %lld is more than the %d CPUs here: the threads will take turns on them", flag,
                  (long long)*out, cpus);
    return true;
}

void cli_runtime_default_ctx(cli_runtime_flags *f, const lc_model *m, const char *cmd) {
    const bool by_policy = f->co.kv_policy == LC_KV_POLICY_WINDOW || f->co.kv_policy == LC_KV_POLICY_SINKS ||
                           f->co.kv_policy == LC_KV_POLICY_H2O;
    if (f->co.n_ctx > 0 || by_policy || m->cfg.ctx_train <= CLI_DEFAULT_CTX) return;
    f->co.n_ctx = CLI_DEFAULT_CTX;
    cli_error(cmd, "note: the model's training context is %lld tokens; using -c %d (give -c for more)",
              (long long)m->cfg.ctx_train, CLI_DEFAULT_CTX);
}

int cli_runtime_load_model(const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    *m = NULL;
    if (!f->model_path) {
        cli_error(cmd, "no model (-m MODEL)");
        return CLI_USAGE;
    }
    lc_model_load_opts lo = {f->tok_path};
    lc_error err;
    if (lc_model_load(f->model_path, &lo, m, &err) != LC_OK) return cli_fail(cmd, &err);
    return CLI_OK;
}

int cli_runtime_rope(cli_runtime_flags *f, const lc_model *m, lc_rope_config *rope, const char *cmd) {
    *rope = m->cfg.rope;
    if (f->n_rope == 0) return CLI_OK;
    lc_error err;
    for (int i = 0; i < f->n_rope; i++)
        if (lc_rope_apply_option(rope, f->rope_flags[i][0], f->rope_flags[i][1], &err) != LC_OK) {
            cli_error(cmd, "%s", err.msg);
            return CLI_USAGE;
        }
    f->co.rope = rope;
    return CLI_OK;
}

const char *cli_runtime_flags_help(void) {
    return "  -m, --model PATH       GGUF or llama2.c .bin model\n"
           "  -z, --tokenizer PATH   llama2.c tokenizer.bin for a .bin model\n"
           "  -c, --ctx-size N       context length in tokens (--ctx too; at most 2^40)\n"
           "  -b, --batch-size N     prompt tokens per forward pass (default 512)\n"
           "  -t, --threads N        threads, 1..4096 (default: all CPUs)\n"
           "  --attn SPEC            naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]\n"
           "                         (default: the model's attention, else flash)\n"
           "  --swa N                sliding window of the model's window layers (every layer when the file\n"
           "                         declares none, e.g. Mistral); -1: none; default: as the file says\n"
           "  --swa-full             window layers keep the whole KV cache, not a ring of W + batch - 1\n"
           "  --swa-period P         window-layer pattern: every layer but each P-th (1: all; 6: Gemma-3's)\n"
           "  -ctk, --cache-type-k T KV cache type for K: f16 (default), f32 or q8_0 (head dim % 32 == 0)\n"
           "  -ctv, --cache-type-v T KV cache type for V: f16 (default), f32 or q8_0\n"
           "  --kv-policy SPEC       what the KV cache does when full: full (default: stop), window:W,\n"
           "                         sinks:S:W (StreamingLLM), shift:KEEP (context shift), h2o:S:R:H\n"
           "  --keep N               llama.cpp's: --kv-policy shift:N (-1: keep the whole prompt)\n";
}
