/* Model files written from other model files or from a seed (model.h,
 * model_presets.h): what `longctx convert` does, without the command line. */
#include <stdio.h>
#include <string.h>

#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/model_presets.h"
#include "longctx/sys.h"

/* A GGUF input whose tokenizer.ggml.model names a kind longctx does not build. */
static bool tokenizer_not_built(const char *path) {
    lc_error err;
    lc_gguf *g = NULL;
    const char *tm = NULL;
    size_t tl = 0;
    const bool other = lc_gguf_open(path, &g, &err) == LC_OK &&
                       lc_gguf_get_str(g, "tokenizer.ggml.model", &tm, &tl, &err) == LC_OK &&
                       !(tl == 4 && memcmp(tm, "none", 4) == 0);
    lc_gguf_close(g);
    return other;
}

lc_status lc_model_convert(const char *in, const char *out, const char *tok_bin, const lc_quant_spec *spec,
                           lc_model_write_report *r, lc_error *err) {
    memset(r, 0, sizeof *r);
    const double t0 = lc_time_now();
    lc_model_load_opts opts = {.tokenizer_path = tok_bin};
    lc_model *m = NULL;
    lc_status st = lc_model_load(in, &opts, &m, err);
    if (st != LC_OK) return st;
    const bool gguf = strcmp(m->format, "gguf") == 0;
    snprintf(r->format, sizeof r->format, "%s", m->format);
    r->tokenizer_ignored = tok_bin && gguf;
    r->tokenizer_dropped = gguf && !m->tokenizer && tokenizer_not_built(in);
    lc_quant_spec f32;
    lc_quant_spec_pure(LC_DTYPE_F32, &f32);
    if (!spec && !gguf) spec = &f32; /* llama2.c: f32 unless told */
    snprintf(r->type, sizeof r->type, "%s", spec ? spec->name : "(types kept)");
    r->n_params = lc_model_n_params(&m->cfg);
    r->has_tokenizer = m->tokenizer != NULL;
    st = lc_model_write_gguf_spec(out, &m->cfg, &m->w, m->tokenizer, spec, err);
    r->write_s = lc_time_now() - t0;
    lc_model_free(m);
    return st;
}

lc_status lc_random_model_write(const char *out, const lc_model_config *c, const lc_quant_spec *spec, uint64_t seed,
                                lc_model_write_report *r, lc_error *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->format, sizeof r->format, "random");
    r->n_params = lc_model_n_params(c);
    lc_quant_spec dflt;
    r->streamed = lc_random_model_is_family(c->arch);
    lc_quant_spec_pure(r->streamed ? LC_DTYPE_Q8_0 : LC_DTYPE_F32, &dflt);
    if (!spec) spec = &dflt;
    snprintf(r->type, sizeof r->type, "%s", spec->name);
    const double t0 = lc_time_now();
    if (r->streamed) {
        const lc_status st = lc_model_write_random_gguf(out, c, spec, seed, err);
        r->write_s = lc_time_now() - t0;
        return st;
    }
    /* made in the spec's type when the generator has it, else in f16 and
     * quantized while writing */
    lc_dtype type = spec->base;
    if (type != LC_DTYPE_F32 && type != LC_DTYPE_F16 && type != LC_DTYPE_BF16 && type != LC_DTYPE_Q8_0)
        type = LC_DTYPE_F16;
    lc_model *m = NULL;
    lc_status st = lc_model_create_random(c, type, seed, &m, err);
    if (st != LC_OK) return st;
    const double t1 = lc_time_now();
    st = lc_model_write_gguf_spec(out, &m->cfg, &m->w, NULL, spec, err);
    r->generate_s = t1 - t0;
    r->write_s = lc_time_now() - t1;
    lc_model_free(m);
    return st;
}

void lc_random_model_print(FILE *f, const char *out, const lc_model_config *c, const lc_model_write_report *r,
                           uint64_t seed) {
    const lc_family *fam = &c->fam;
    if (!r->streamed) {
        fprintf(f, "wrote %s: random %s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, ctx %lld, %s, "
                "%lld parameters, seed %lld (generate %.2f s, write %.2f s)\n",
                out, c->arch, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                (long long)c->ctx_train, r->type, (long long)r->n_params, (long long)seed, r->generate_s, r->write_s);
        return;
    }
    fprintf(f, "wrote %s: random %s, dim %d, layers %d, heads %d/%d x %d, vocab %d, ctx %lld, %d experts x %d "
            "(%d used)",
            out, c->arch, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size,
            (long long)c->ctx_train, fam->n_experts, fam->expert_ffn, fam->n_experts_used);
    if (fam->shared_ffn) fprintf(f, " + shared %d", fam->shared_ffn);
    if (fam->window) fprintf(f, ", window %lld", (long long)fam->window);
    if (fam->full_attn_interval)
        fprintf(f, ", 1 attention layer in %d, deltanet %d/%d heads x %d", fam->full_attn_interval, fam->ssm_n_k_heads,
                fam->ssm_n_v_heads, fam->ssm_d_k);
    fprintf(f, ", %s, %lld parameters, seed %lld (%.2f s, streamed)\n", r->type, (long long)r->n_params,
            (long long)seed, r->write_s);
}
