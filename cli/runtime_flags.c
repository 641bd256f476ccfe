/* Model, context and RoPE flags shared by the commands that run a model. */
#include <string.h>

#include "runtime_flags.h"
#include "longctx/attn.h"
#include "longctx/sys.h"

void cli_runtime_flags_init(cli_runtime_flags *f) {
    memset(f, 0, sizeof *f);
    lc_context_opts_init(&f->co);
}

bool cli_opt_threads(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    int64_t t;
    if (!cli_int_flag(cmd, name, v, 1, CLI_MAX_THREADS, &t)) return false;
    const int cpus = lc_cpu_count();
    if (t > cpus)
        cli_error(cmd, "note: %s %lld is more than the %d CPUs here: the threads will take turns on them", name,
                  (long long)t, cpus);
    *(int *)o->dst = (int)t;
    return true;
}

/* A usage error, refused before the model loads; eval takes a comma-separated
 * list: each spec is checked. */
bool cli_opt_attn(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    for (const char *p = v; *p;) {
        const char *comma = strchr(p, ',');
        const size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char spec[256];
        lc_attn_params ap;
        lc_attn_params_init(&ap, LC_ATTN_FLASH);
        lc_error err;
        snprintf(spec, sizeof spec, "%.*s", (int)(len < sizeof spec ? len : sizeof spec - 1), p);
        if (len >= sizeof spec || lc_attn_parse(spec, &ap, &err) != LC_OK) {
            cli_error(cmd, "%s: %s", name, len >= sizeof spec ? "spec too long" : err.msg);
            return false;
        }
        p += len + (comma != NULL);
    }
    *(const char **)o->dst = v;
    return true;
}

bool cli_opt_dtype(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (lc_dtype_parse(v, (lc_dtype *)o->dst)) return true;
    cli_error(cmd, "%s: '%s' is not a type (f16, f32, q8_0)", name, v);
    return false;
}

bool cli_opt_kv_policy(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    cli_runtime_flags *f = o->dst;
    lc_error err;
    if (strchr(v, ',') && strcmp(cmd, "eval") != 0) {
        cli_error(cmd, "%s takes one policy here (a list is for eval ppl)", name);
        return false;
    }
    if (!strchr(v, ',') && lc_kv_policy_parse(v, &f->co, &err) != LC_OK) {
        cli_error(cmd, "%s", err.msg);
        return false;
    }
    f->kv_spec = v;
    return true;
}

/* llama.cpp's --keep: the kept prefix of a context shift. */
bool cli_opt_keep(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    cli_runtime_flags *f = o->dst;
    int64_t keep;
    if (!cli_int_flag(cmd, name, v, -1, LC_CONTEXT_MAX_TOKENS, &keep)) return false;
    if (f->kv_spec && f->co.kv_policy != LC_KV_POLICY_SHIFT && f->co.kv_policy != LC_KV_POLICY_FULL) {
        cli_error(cmd, "%s is the kept prefix of a context shift (--kv-policy shift:KEEP), not of %s", name, f->kv_spec);
        return false;
    }
    char spec[48];
    snprintf(spec, sizeof spec, "shift:%lld", (long long)(keep < 0 ? 0 : keep));
    lc_error err;
    if (lc_kv_policy_parse(spec, &f->co, &err) != LC_OK) {
        cli_error(cmd, "%s: %s", name, err.msg);
        return false;
    }
    f->keep_prompt = keep < 0;
    return true;
}

/* Kept in order, applied once the model's RoPE is known (cli_runtime_rope). */
bool cli_opt_rope(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    cli_runtime_flags *f = o->dst;
    if (f->n_rope == CLI_MAX_ROPE_FLAGS) {
        cli_error(cmd, "too many RoPE flags (at most %d)", CLI_MAX_ROPE_FLAGS);
        return false;
    }
    if (strlen(name) >= sizeof f->rope_names[0]) return false; /* lc_rope_is_option took it: a short name */
    snprintf(f->rope_names[f->n_rope], sizeof f->rope_names[0], "%s", name);
    f->rope_values[f->n_rope] = v;
    f->n_rope++;
    return true;
}

bool cli_opt_stop(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    cli_stops *st = o->dst;
    lc_error err;
    if (st->n < LC_TEXT_MAX_STOPS) {
        st->s[st->n] = v;
        if (lc_stops_validate(st->s, st->n + 1, &err) == LC_OK) {
            st->n++;
            return true;
        }
    }
    cli_error(cmd, "%s: at most %d strings of 1..%d bytes", name, LC_TEXT_MAX_STOPS, LC_TEXT_MAX_STOP_BYTES);
    return false;
}

bool cli_opt_sampler(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_error err;
    if (lc_sampler_apply_option((lc_sampler_params *)o->dst, name, v, &err) == LC_OK) return true;
    cli_error(cmd, "%s", err.msg);
    return false;
}

bool cli_opt_seed(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)name;
    return cli_opt_sampler(o, "--seed", v, cmd);
}

void cli_runtime_default_ctx(cli_runtime_flags *f, const lc_model *m, const char *cmd) {
    if (lc_context_opts_default_ctx(&f->co, m))
        cli_error(cmd, "note: the model's training context is %lld tokens; using -c %d (give -c for more)",
                  (long long)m->cfg.ctx_train, LC_DEFAULT_N_CTX);
}

int cli_runtime_load_model(const cli_runtime_flags *f, lc_model **m, const char *cmd) {
    *m = NULL;
    if (!f->model_path) {
        cli_error(cmd, "no model (-m MODEL)");
        return CLI_USAGE;
    }
    lc_model_load_opts lo = {.tokenizer_path = f->tok_path, .no_mmap = f->no_mmap};
    lc_error err;
    if (lc_model_load(f->model_path, &lo, m, &err) != LC_OK) return cli_fail(cmd, &err);
    return CLI_OK;
}

int cli_runtime_rope(cli_runtime_flags *f, const lc_model *m, lc_rope_config *rope, const char *cmd) {
    *rope = m->cfg.rope;
    if (f->n_rope == 0) return CLI_OK;
    lc_error err;
    for (int i = 0; i < f->n_rope; i++)
        if (lc_rope_apply_option(rope, f->rope_names[i], f->rope_values[i], &err) != LC_OK) {
            cli_error(cmd, "%s", err.msg);
            return CLI_USAGE;
        }
    f->co.rope = rope;
    return CLI_OK;
}

int cli_runtime_load(cli_runtime_flags *f, lc_model **m, lc_rope_config *rope, const char *cmd) {
    int rc = cli_runtime_load_model(f, m, cmd);
    if (rc == CLI_OK && (rc = cli_runtime_rope(f, *m, rope, cmd)) != CLI_OK) {
        lc_model_free(*m);
        *m = NULL;
    }
    return rc;
}
