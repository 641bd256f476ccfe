/*
 * Random models of the mixture-of-experts families (lc_model_write_random_gguf)
 * and synthetic depth (lc_context_fill_synthetic):
 *  - tiny gpt-oss and qwen3next files load, with the family, layer pattern
 *    and parameter count asked for, and decode finite logits;
 *  - the file depends on the seed only (same bytes with 1 and 2 threads,
 *    other bytes with another seed);
 *  - a context filled to depth n with random rows is, for decode, what a
 *    real prefill of n tokens is: same position, same cache counts, and the
 *    next token's attention reads the same K/V bytes; the per-layer-kind
 *    timings are filled in;
 *  - refusals: other architectures, bad expert counts, a non-empty context,
 *    a depth past the capacity, a ring policy.
 */
#include <omp.h>
#include <unistd.h>

#include "longctx/model.h"
#include "longctx/runtime.h"
#include "test_util.h"

static void base_config(lc_model_config *c, const char *arch) {
    memset(c, 0, sizeof *c);
    snprintf(c->arch, sizeof c->arch, "%s", arch);
    c->dim = 64;
    c->hidden_dim = 48;
    c->n_layers = 4;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->head_dim = 16;
    c->vocab_size = 97;
    c->ctx_train = 512;
    c->norm_eps = 1e-6f;
    lc_rope_config_init(&c->rope, c->head_dim);
    c->rope.orig_ctx = c->ctx_train;
    CHECK(lc_model_family_defaults(c), "%s is a known family", arch);
    c->fam.n_experts = 4;
    c->fam.n_experts_used = 2;
    c->fam.expert_ffn = 48;
}

static void qwen3next_config(lc_model_config *c) {
    base_config(c, "qwen3next");
    c->rope.n_dims = 4; /* partial RoPE */
    c->fam.shared_ffn = 32;
    c->fam.full_attn_interval = 4;
    c->fam.ssm_conv_kernel = 4;
    c->fam.ssm_n_k_heads = 2;
    c->fam.ssm_n_v_heads = 4;
    c->fam.ssm_d_k = c->fam.ssm_d_v = 16;
}

static void gptoss_config(lc_model_config *c) {
    base_config(c, "gpt-oss");
    c->fam.window = 8;
    c->rope.scaling = LC_ROPE_SCALING_YARN;
    c->rope.factor = 4.0f;
    c->rope.orig_ctx = 64;
}

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y) same = false;
        if (x == EOF || y == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static lc_model *write_and_load(const lc_model_config *c, const char *path, lc_dtype type, uint64_t seed) {
    lc_error err;
    lc_quant_spec spec;
    lc_quant_spec_pure(type, &spec);
    lc_status st = lc_model_write_random_gguf(path, c, &spec, seed, &err);
    CHECK(st == LC_OK, "write %s: %s", c->arch, err.msg);
    if (st != LC_OK) return NULL;
    lc_model *m = NULL;
    st = lc_model_load(path, NULL, &m, &err);
    CHECK(st == LC_OK, "load %s: %s", c->arch, err.msg);
    return st == LC_OK ? m : NULL;
}

/* Decode one token after depth n (synthetic or prefilled); returns the K/V
 * bytes attention read and fills the cache stats and timings. */
static double decode_after(const lc_model *m, int64_t n, bool synthetic, lc_kv_stats *ks, lc_context_timings *t,
                           bool *finite) {
    lc_error err;
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 256;
    co.n_batch = 16;
    co.n_threads = 2;
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    if (!ctx) return -1;
    if (synthetic) {
        CHECK_OK(lc_context_fill_synthetic(ctx, n, 7, &err), &err);
    } else {
        int32_t *tok = malloc((size_t)n * sizeof *tok);
        for (int64_t i = 0; i < n; i++) tok[i] = (int32_t)((i * 31 + 5) % m->cfg.vocab_size);
        CHECK_OK(lc_context_eval(ctx, tok, n, NULL, false, &err), &err);
        free(tok);
    }
    CHECK(lc_context_n_past(ctx) == n, "depth %lld after %s", (long long)lc_context_n_past(ctx),
          synthetic ? "fill" : "prefill");
    lc_context_reset_timings(ctx);
    const int32_t next = 3;
    float *logits = malloc((size_t)m->cfg.vocab_size * sizeof(float));
    CHECK_OK(lc_context_eval(ctx, &next, 1, logits, false, &err), &err);
    *finite = true;
    for (int32_t i = 0; i < m->cfg.vocab_size; i++) *finite &= isfinite(logits[i]) != 0;
    free(logits);
    lc_context_get_timings(ctx, t);
    lc_context_kv_stats(ctx, ks);
    lc_context_free(ctx);
    return t->bytes_kv;
}

static void check_family(const lc_model_config *c, const char *pattern, const char *tmp) {
    char path[512], path1[512], path2[512];
    snprintf(path, sizeof path, "%s/%s.gguf", tmp, c->arch);
    snprintf(path1, sizeof path1, "%s/one/%s.gguf", tmp, c->arch); /* same base name: general.name */
    snprintf(path2, sizeof path2, "%s/two/%s.gguf", tmp, c->arch);
    lc_model *m = write_and_load(c, path, LC_DTYPE_Q8_0, 1);
    if (!m) return;
    CHECK(strcmp(m->cfg.arch, c->arch) == 0, "arch %s", m->cfg.arch);
    CHECK(lc_model_n_params(&m->cfg) == lc_model_n_params(c), "%s params %lld vs %lld", c->arch,
          (long long)lc_model_n_params(&m->cfg), (long long)lc_model_n_params(c));
    CHECK(m->cfg.fam.n_experts == c->fam.n_experts && m->cfg.fam.n_experts_used == c->fam.n_experts_used &&
              m->cfg.fam.expert_ffn == c->fam.expert_ffn && m->cfg.fam.shared_ffn == c->fam.shared_ffn,
          "%s experts", c->arch);
    CHECK(m->cfg.rope.n_dims == c->rope.n_dims && m->cfg.rope.scaling == c->rope.scaling, "%s rope", c->arch);
    char pat[160];
    lc_model_window_pattern(&m->cfg, pat, sizeof pat);
    CHECK(strncmp(pat, pattern, strlen(pattern)) == 0, "%s pattern '%s', want '%s'", c->arch, pat, pattern);

    /* the seed alone decides the bytes */
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    lc_model *m1 = write_and_load(c, path1, LC_DTYPE_Q8_0, 1);
    omp_set_num_threads(threads);
    lc_model *m2 = write_and_load(c, path2, LC_DTYPE_Q8_0, 2);
    CHECK(same_file(path, path1), "%s: 1 thread wrote other bytes", c->arch);
    CHECK(!same_file(path, path2), "%s: seed 2 wrote the same bytes", c->arch);
    lc_model_free(m1);
    lc_model_free(m2);

    /* synthetic depth vs a real prefill */
    const int64_t n = 100;
    lc_kv_stats ks_s, ks_p;
    lc_context_timings ts, tp;
    bool fin_s = false, fin_p = false;
    const double bs = decode_after(m, n, true, &ks_s, &ts, &fin_s);
    const double bp = decode_after(m, n, false, &ks_p, &tp, &fin_p);
    CHECK(fin_s && fin_p, "%s: logits finite (synthetic %d, prefill %d)", c->arch, fin_s, fin_p);
    CHECK(bs > 0 && bs == bp, "%s: decode read %g K/V bytes after the fill, %g after a prefill", c->arch, bs, bp);
    CHECK(ks_s.n_used == ks_p.n_used && ks_s.next_pos == ks_p.next_pos && ks_s.n_visible == ks_p.n_visible,
          "%s: cache after fill (used %lld, next %lld, visible %lld) vs prefill (%lld, %lld, %lld)", c->arch,
          (long long)ks_s.n_used, (long long)ks_s.next_pos, (long long)ks_s.n_visible, (long long)ks_p.n_used,
          (long long)ks_p.next_pos, (long long)ks_p.n_visible);
    double layers = 0.0;
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
        CHECK(ts.t_mixer[k] >= 0.0 && ts.t_mixer[k] <= ts.t_layer[k], "%s kind %d: mixer %g of layer %g", c->arch, k,
              ts.t_mixer[k], ts.t_layer[k]);
        layers += ts.t_layer[k];
    }
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        const lc_layer_kind k = lc_model_layer_kind(&m->cfg, l);
        CHECK(ts.t_layer[k] > 0.0, "%s: no time in %s layers", c->arch, lc_layer_kind_name(k));
    }
    const double total = ts.t_matmul + ts.t_attn + ts.t_other;
    CHECK(layers <= total * 1.0001 + 1e-6, "%s: layers %g s of a %g s decode", c->arch, layers, total);

    /* refusals */
    lc_error err;
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 64;
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &co, &ctx, &err), &err);
    if (ctx) {
        CHECK(lc_context_fill_synthetic(ctx, 65, 1, &err) == LC_ERR_TOO_LARGE, "%s: depth past the capacity", c->arch);
        CHECK_OK(lc_context_fill_synthetic(ctx, 10, 1, &err), &err);
        CHECK(lc_context_fill_synthetic(ctx, 10, 1, &err) == LC_ERR_INVALID_ARG, "%s: a non-empty context", c->arch);
        lc_context_free(ctx);
    }
    lc_model_free(m);
    unlink(path);
    unlink(path1);
    unlink(path2);
}

int main(void) {
    char tmp[] = "/tmp/lc_random_families_XXXXXX";
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "%s/one", tmp);
    mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/two", tmp);
    mkdir(sub, 0700);
    lc_model_config c;
    qwen3next_config(&c);
    check_family(&c, "DDDG", tmp);
    gptoss_config(&c);
    check_family(&c, "WGWG", tmp);

    /* writer refusals */
    lc_error err;
    lc_quant_spec spec;
    lc_quant_spec_pure(LC_DTYPE_F16, &spec);
    char path[512];
    snprintf(path, sizeof path, "%s/bad.gguf", tmp);
    base_config(&c, "llama");
    CHECK(lc_model_write_random_gguf(path, &c, &spec, 1, &err) == LC_ERR_UNSUPPORTED, "llama refused");
    gptoss_config(&c);
    c.fam.n_experts_used = 5;
    CHECK(lc_model_write_random_gguf(path, &c, &spec, 1, &err) == LC_ERR_INVALID_ARG, "5 of 4 experts refused");
    qwen3next_config(&c);
    c.fam.ssm_n_v_heads = 3;
    CHECK(lc_model_write_random_gguf(path, &c, &spec, 1, &err) == LC_ERR_INVALID_ARG, "3 value heads of 2 refused");
    CHECK(access(path, F_OK) != 0, "nothing written after a refusal");

    /* a ring policy is refused */
    base_config(&c, "llama");
    c.hidden_dim = 48;
    lc_model *lm = NULL;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 1, &lm, &err), &err);
    if (lm) {
        lc_context_opts co;
        lc_context_opts_init(&co);
        CHECK_OK(lc_kv_policy_parse("window:16", &co, &err), &err);
        lc_context *ctx = NULL;
        CHECK_OK(lc_context_create(lm, &co, &ctx, &err), &err);
        if (ctx) CHECK(lc_context_fill_synthetic(ctx, 8, 1, &err) == LC_ERR_UNSUPPORTED, "window policy refused");
        lc_context_free(ctx);
        lc_model_free(lm);
    }
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/one", tmp);
    rmdir(sub);
    rmdir(tmp);
    return lc_test_finish("test_random_families");
}
