/*
 * GGUF llama models: configuration from llama.cpp's keys (plus our own
 * longctx.* keys), weights as views of the file's tensors, and the tokenizer
 * from tokenizer.ggml.*. docs/formats.md lists the keys and the refusals.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

/* An integer key that must be in 1..INT32_MAX. */
static lc_status get_pos_i32(const lc_gguf *g, const char *key, bool required, int32_t dflt, int32_t *out,
                             lc_error *err) {
    if (!lc_gguf_has(g, key)) {
        if (required) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key '%s'", key);
        *out = dflt;
        return LC_OK;
    }
    int64_t v;
    lc_status st = lc_gguf_get_i64(g, key, &v, err);
    if (st != LC_OK) return st;
    if (v < 1 || v > INT32_MAX)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' = %lld is outside 1..%d", key, (long long)v, INT32_MAX);
    *out = (int32_t)v;
    return LC_OK;
}

static lc_status get_float(const lc_gguf *g, const char *key, bool required, float dflt, float *out, lc_error *err) {
    if (!lc_gguf_has(g, key)) {
        if (required) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key '%s'", key);
        *out = dflt;
        return LC_OK;
    }
    double v;
    lc_status st = lc_gguf_get_f64(g, key, &v, err);
    if (st != LC_OK) return st;
    if (!isfinite(v) || fabs(v) > 3e38)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' = %g is not a finite f32", key, v);
    *out = (float)v;
    return LC_OK;
}

/* A short string key into buf (NUL-terminated); *found false when absent. */
static lc_status get_short_str(const lc_gguf *g, const char *key, char *buf, size_t cap, bool *found, lc_error *err) {
    *found = false;
    buf[0] = '\0';
    if (!lc_gguf_has(g, key)) return LC_OK;
    const char *s;
    size_t len;
    lc_status st = lc_gguf_get_str(g, key, &s, &len, err);
    if (st != LC_OK) return st;
    if (len >= cap || memchr(s, '\0', len))
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: key '%s' is not a string of at most %zu bytes", key, cap - 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    *found = true;
    return LC_OK;
}

/* "<arch>.<suffix>" into buf (keys are short: arch <= 31 bytes). */
static const char *akey(char *buf, size_t cap, const char *arch, const char *suffix) {
    snprintf(buf, cap, "%s.%s", arch, suffix);
    return buf;
}

#define KEY(suffix) akey(kbuf, sizeof kbuf, A, suffix)

static lc_status rope_from_gguf(const lc_gguf *g, lc_model_config *c, lc_error *err) {
    const char *A = c->arch;
    char kbuf[96], factor_key[96], orig_key[96];
    lc_rope_config *r = &c->rope;
    int32_t n_dims;
    lc_status st = get_pos_i32(g, KEY("rope.dimension_count"), false, c->head_dim, &n_dims, err);
    if (st != LC_OK) return st;
    lc_model_rope_defaults(c, n_dims);
    if ((st = get_float(g, KEY("rope.freq_base"), false, 10000.0f, &r->freq_base, err)) != LC_OK) return st;

    char type[32];
    bool have_type, have_ours;
    if ((st = get_short_str(g, KEY("rope.scaling.type"), type, sizeof type, &have_type, err)) != LC_OK) return st;
    float factor = 0.0f;
    akey(factor_key, sizeof factor_key, A, "rope.scaling.factor");
    if (!lc_gguf_has(g, factor_key)) akey(factor_key, sizeof factor_key, A, "rope.scale_linear");
    if ((st = get_float(g, factor_key, false, 0.0f, &factor, err)) != LC_OK) return st;
    akey(orig_key, sizeof orig_key, A, "rope.scaling.original_context_length");
    if (have_type) {
        if (strcmp(type, "none") == 0) r->scaling = LC_ROPE_SCALING_NONE;
        else if (strcmp(type, "linear") == 0) r->scaling = LC_ROPE_SCALING_LINEAR;
        else if (strcmp(type, "yarn") == 0) r->scaling = LC_ROPE_SCALING_YARN;
        else
            return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: %s '%s' is not supported (none, linear, yarn)",
                           KEY("rope.scaling.type"), type);
    } else {
        char ours[32];
        if ((st = get_short_str(g, "longctx.rope.scaling.type", ours, sizeof ours, &have_ours, err)) != LC_OK)
            return st;
        if (have_ours) {
            if (!lc_rope_scaling_parse(ours, &r->scaling))
                return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: longctx.rope.scaling.type '%s' is unknown", ours);
            if ((st = get_float(g, "longctx.rope.scaling.factor", false, 0.0f, &factor, err)) != LC_OK) return st;
            snprintf(orig_key, sizeof orig_key, "longctx.rope.scaling.original_context_length");
        } else if (factor != 0.0f && factor != 1.0f) {
            r->scaling = LC_ROPE_SCALING_LINEAR; /* llama.cpp's default when only a factor is given */
        }
    }
    int64_t orig = c->ctx_train;
    if (lc_gguf_has(g, orig_key) && (st = lc_gguf_get_i64(g, orig_key, &orig, err)) != LC_OK) return st;
    if (orig < 1 || orig > ((int64_t)1 << 40))
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %lld", orig_key, (long long)orig);
    r->orig_ctx = orig;
    if (r->scaling != LC_ROPE_SCALING_NONE) {
        if (factor == 0.0f)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s RoPE scaling without a scaling factor (%s)",
                           lc_rope_scaling_name(r->scaling), factor_key);
        r->factor = factor;
    }
    if ((st = get_float(g, KEY("rope.scaling.attn_factor"), false, 1.0f, &r->attn_factor, err)) != LC_OK) return st;
    if ((st = get_float(g, KEY("rope.scaling.yarn_beta_fast"), false, 32.0f, &r->beta_fast, err)) != LC_OK) return st;
    if ((st = get_float(g, KEY("rope.scaling.yarn_beta_slow"), false, 1.0f, &r->beta_slow, err)) != LC_OK) return st;
    if ((st = get_float(g, KEY("rope.scaling.yarn_ext_factor"), false, -1.0f, &r->ext_factor, err)) != LC_OK)
        return st;
    return LC_OK;
}

/* Frequency factors from an F32 tensor of n_dims/2 values (Llama-3's
 * rope_freqs.weight, Phi-3's rope_factors_long/short.weight) into r. A tensor
 * whose length contradicts the rotated dimensions is refused naming the key. */
static lc_status factors_from_tensor(const lc_gguf *g, const char *name, const char *dims_key, lc_rope_config *r,
                                     lc_error *err) {
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
    if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing tensor '%s'", name);
    /* r->factors holds LC_ROPE_MAX_DIMS / 2: the count is checked here, before
     * the copy (the configuration's own check comes later) */
    if (r->n_dims < 2 || r->n_dims > LC_ROPE_MAX_DIMS)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %d rotated dims with frequency factors '%s' (must be 2..%d)",
                       dims_key, r->n_dims, name, LC_ROPE_MAX_DIMS);
    const int64_t want = r->n_dims / 2;
    if (t->dtype != LC_DTYPE_F32 || t->n_dims != 1 || t->ne[0] != want || !t->data ||
        t->nbytes != (size_t)want * sizeof(float))
        return lc_fail(err, LC_ERR_FORMAT,
                       "gguf model: tensor '%s' must be %lld f32 values (%s = %d rotated dims), got %lld of %s", name,
                       (long long)want, dims_key, r->n_dims, (long long)t->ne[0], lc_dtype_name(t->dtype));
    memcpy(r->factors, t->data, (size_t)want * sizeof(float));
    r->n_factors = (int32_t)want;
    for (int64_t i = 0; i < want; i++)
        if (!isfinite(r->factors[i]) || r->factors[i] <= 0.0f)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: tensor '%s' value %lld is %g (factors must be > 0)", name,
                           (long long)i, (double)r->factors[i]);
    return LC_OK;
}

/* The family's machinery: the table's row, then what the file says. */
static lc_status family_from_gguf(const lc_gguf *g, const lc_arch_desc *d, lc_model_config *c, lc_error *err) {
    const char *A = c->arch;
    char kbuf[96], dims_key[96];
    lc_family *f = &c->fam;
    lc_status st;
    f->flags = d->flags;
    f->act = d->act;
    c->rope.layout = d->layout;
    akey(dims_key, sizeof dims_key, A, "rope.dimension_count");
    if (d->embd_sqrt_dim) f->embd_scale = sqrtf((float)c->dim);
    if ((st = get_float(g, KEY("attention.scale"), false, 0.0f, &f->attn_scale, err)) != LC_OK) return st;
    if (f->attn_scale < 0.0f)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %g must be > 0", KEY("attention.scale"),
                       (double)f->attn_scale);
    if ((st = get_float(g, KEY("attn_logit_softcapping"), false, 0.0f, &f->attn_softcap, err)) != LC_OK ||
        (st = get_float(g, KEY("final_logit_softcapping"), false, 0.0f, &f->final_softcap, err)) != LC_OK)
        return st;
    if (f->attn_softcap < 0.0f)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %g is negative", KEY("attn_logit_softcapping"),
                       (double)f->attn_softcap);
    if (f->final_softcap < 0.0f)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %g is negative", KEY("final_logit_softcapping"),
                       (double)f->final_softcap);

    /* Window: <arch>.attention.sliding_window (0: none). */
    const char *wkey = KEY("attention.sliding_window");
    if (lc_gguf_has(g, wkey)) {
        int64_t w;
        if ((st = lc_gguf_get_i64(g, wkey, &w, err)) != LC_OK) return st;
        if (w < 0 || w > ((int64_t)1 << 40))
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %lld is not a window size", wkey, (long long)w);
        f->window = w;
        f->window_period = d->window_period;
    }
    if (lc_gguf_has(g, KEY("attention.sliding_window_pattern")))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: %s (an explicit per-layer pattern) is not supported",
                       KEY("attention.sliding_window_pattern"));

    /* Window layers' RoPE: their own base when the file gives one (Gemma-3:
     * local base, no scaling). */
    c->rope_window = c->rope;
    if (lc_gguf_has(g, KEY("rope.freq_base_swa"))) {
        if ((st = get_float(g, KEY("rope.freq_base_swa"), true, 0.0f, &c->rope_window.freq_base, err)) != LC_OK)
            return st;
        c->rope_window.scaling = LC_ROPE_SCALING_NONE;
        c->rope_window.factor = 1.0f;
        c->rope_window.n_factors = 0;
        f->rope_window_own = true;
    }

    /* Frequency factors. */
    if (d->factor_tensor) {
        char name[64];
        snprintf(name, sizeof name, "%s.weight", d->factor_tensor);
        if (lc_gguf_find_tensor(g, name) && (st = factors_from_tensor(g, name, dims_key, &c->rope, err)) != LC_OK)
            return st;
    }
    if (d->longrope) {
        const bool has_long = lc_gguf_find_tensor(g, "rope_factors_long.weight") != NULL;
        const bool has_short = lc_gguf_find_tensor(g, "rope_factors_short.weight") != NULL;
        if (has_long != has_short)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: LongRoPE needs both rope_factors_long and "
                                               "rope_factors_short tensors, the file has one");
        if (has_long) {
            c->rope_short = c->rope;
            if ((st = factors_from_tensor(g, "rope_factors_long.weight", dims_key, &c->rope, err)) != LC_OK ||
                (st = factors_from_tensor(g, "rope_factors_short.weight", dims_key, &c->rope_short, err)) != LC_OK)
                return st;
            f->longrope = true;
        }
    }
    if (!f->rope_window_own) c->rope_window = c->rope;

    /* Mixture of experts. */
    if (f->flags & LC_ARCH_MOE) {
        f->moe_routing = d->moe_routing;
        f->moe_act = d->moe_act;
        f->moe_norm_topk = d->moe_norm_topk;
        if ((st = get_pos_i32(g, KEY("expert_count"), true, 0, &f->n_experts, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("expert_used_count"), true, 0, &f->n_experts_used, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("expert_feed_forward_length"), false, c->hidden_dim, &f->expert_ffn, err)) !=
                LC_OK)
            return st;
        if (lc_gguf_has(g, KEY("expert_shared_feed_forward_length")) &&
            (st = get_pos_i32(g, KEY("expert_shared_feed_forward_length"), true, 0, &f->shared_ffn, err)) != LC_OK)
            return st;
        if (f->n_experts > 65536 || f->n_experts_used > f->n_experts) {
            char k2[96];
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %d with %s = %d (need 1 <= used <= count <= 65536)",
                           akey(k2, sizeof k2, A, "expert_used_count"), f->n_experts_used, KEY("expert_count"),
                           f->n_experts);
        }
    }

    /* Gated DeltaNet layers. */
    if (f->flags & LC_ARCH_DELTANET) {
        int32_t inner;
        if ((st = get_pos_i32(g, KEY("full_attention_interval"), true, 0, &f->full_attn_interval, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("ssm.conv_kernel"), true, 0, &f->ssm_conv_kernel, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("ssm.state_size"), true, 0, &f->ssm_d_k, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("ssm.group_count"), true, 0, &f->ssm_n_k_heads, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("ssm.time_step_rank"), true, 0, &f->ssm_n_v_heads, err)) != LC_OK ||
            (st = get_pos_i32(g, KEY("ssm.inner_size"), true, 0, &inner, err)) != LC_OK)
            return st;
        if (inner % f->ssm_n_v_heads || f->ssm_n_v_heads % f->ssm_n_k_heads || f->ssm_conv_kernel > 64 ||
            f->ssm_d_k > 1024 || inner / f->ssm_n_v_heads > 1024)
            return lc_fail(err, LC_ERR_FORMAT,
                           "gguf model: %s.ssm.inner_size %d, time_step_rank %d, group_count %d, state_size %d, "
                           "conv_kernel %d: value heads must divide the inner size and be a multiple of the key "
                           "heads (head dims <= 1024, kernel <= 64)",
                           A, inner, f->ssm_n_v_heads, f->ssm_n_k_heads, f->ssm_d_k, f->ssm_conv_kernel);
        f->ssm_d_v = inner / f->ssm_n_v_heads;
        if (f->full_attn_interval > c->n_layers)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: %s = %d leaves no attention layer in %d",
                           KEY("full_attention_interval"), f->full_attn_interval, c->n_layers);
    }
    return LC_OK;
}

lc_status lc_model_config_from_gguf(const lc_gguf *g, lc_model_config *c, lc_error *err) {
    memset(c, 0, sizeof *c);
    bool found;
    char arch[64];
    lc_status st = get_short_str(g, "general.architecture", arch, sizeof arch, &found, err);
    if (st != LC_OK) return st;
    if (!found) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing key 'general.architecture'");
    for (char *p = arch; *p; p++)
        if (*p < 32 || *p > 126) *p = '?';
    const lc_arch_desc *desc = lc_arch_find(arch);
    if (!desc)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: architecture '%s' is not supported (%s)", arch,
                       lc_arch_names());
    snprintf(c->arch, sizeof c->arch, "%s", desc->name);
    const char *A = c->arch;
    char kbuf[96];

    int32_t ctx;
    if ((st = get_pos_i32(g, KEY("context_length"), true, 0, &ctx, err)) != LC_OK ||
        (st = get_pos_i32(g, KEY("embedding_length"), true, 0, &c->dim, err)) != LC_OK ||
        (st = get_pos_i32(g, KEY("block_count"), true, 0, &c->n_layers, err)) != LC_OK ||
        (st = get_pos_i32(g, KEY("feed_forward_length"), true, 0, &c->hidden_dim, err)) != LC_OK ||
        (st = get_pos_i32(g, KEY("attention.head_count"), true, 0, &c->n_heads, err)) != LC_OK)
        return st;
    c->ctx_train = ctx;
    if (lc_gguf_key_type(g, lc_gguf_find_key(g, KEY("attention.head_count_kv"))) == LC_GGUF_ARRAY)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: per-layer KV head counts (%s) are not supported",
                       KEY("attention.head_count_kv"));
    if ((st = get_pos_i32(g, KEY("attention.head_count_kv"), false, c->n_heads, &c->n_kv_heads, err)) != LC_OK ||
        (st = get_float(g, KEY("attention.layer_norm_rms_epsilon"), true, 0.0f, &c->norm_eps, err)) != LC_OK)
        return st;
    if (c->n_heads % c->n_kv_heads)
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s = %d does not divide %s.attention.head_count = %d",
                       KEY("attention.head_count_kv"), c->n_kv_heads, A, c->n_heads);
    if (lc_gguf_has(g, KEY("attention.key_length"))) {
        if ((st = get_pos_i32(g, KEY("attention.key_length"), true, 0, &c->head_dim, err)) != LC_OK) return st;
    } else {
        if (c->dim % c->n_heads)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s %d does not divide %s.embedding_length %d",
                           KEY("attention.head_count"), c->n_heads, A, c->dim);
        c->head_dim = c->dim / c->n_heads;
    }
    int32_t vlen;
    if ((st = get_pos_i32(g, KEY("attention.value_length"), false, c->head_dim, &vlen, err)) != LC_OK) return st;
    if (vlen != c->head_dim)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: %s.attention.value_length %d != %s.attention.key_length %d "
                       "is not supported", A, vlen, A, c->head_dim);
    if (lc_gguf_has(g, KEY("vocab_size"))) {
        if ((st = get_pos_i32(g, KEY("vocab_size"), true, 0, &c->vocab_size, err)) != LC_OK) return st;
    } else {
        const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "token_embd.weight");
        if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: no %s and no token_embd.weight tensor", KEY("vocab_size"));
        if (t->ne[1] > INT32_MAX || t->ne[1] < 1)
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: token_embd.weight has %lld rows", (long long)t->ne[1]);
        c->vocab_size = (int32_t)t->ne[1];
    }
    if ((st = rope_from_gguf(g, c, err)) != LC_OK) return st;
    if ((st = family_from_gguf(g, desc, c, err)) != LC_OK) return st;
    if ((st = get_short_str(g, "longctx.attention", c->attention, sizeof c->attention, &found, err)) != LC_OK)
        return st;
    c->tied_output = !lc_gguf_find_tensor(g, "output.weight");
    return lc_model_config_validate(c, err);
}

/* View of tensor `name` as [rows, cols]; vectors (rows == 1) must be f32.
 * why: the keys that set the shape, named when the tensor contradicts them. */
static lc_status bind_exps(const lc_gguf *g, const char *name, int64_t rows, int64_t cols, int64_t exps,
                           const char *why, lc_tensor *out, lc_error *err);

static lc_status bind(const lc_gguf *g, const char *name, int64_t rows, int64_t cols, const char *why, lc_tensor *out,
                      lc_error *err) {
    return bind_exps(g, name, rows, cols, 0, why, out, err);
}

/* exps > 0: a 3-D tensor ne = {cols, rows, exps}, viewed as [exps * rows, cols]. */
static lc_status bind_exps(const lc_gguf *g, const char *name, int64_t rows, int64_t cols, int64_t exps,
                           const char *why, lc_tensor *out, lc_error *err) {
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
    if (!t) return lc_fail(err, LC_ERR_FORMAT, "gguf model: missing tensor '%s'", name);
    if (t->dtype == LC_DTYPE_COUNT) {
        const char *tn = lc_gguf_ggml_type_name(t->ggml_type);
        char num[24];
        snprintf(num, sizeof num, "%u", (unsigned)t->ggml_type);
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "gguf model: tensor '%s' has type %s%s, which longctx cannot use as a weight (supported: f32, "
                       "f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs, mxfp4)",
                       name, tn ? tn : "id ", tn ? "" : num);
    }
    bool vec = rows == 1 && exps == 0;
    bool shape_ok = exps > 0 ? (t->n_dims == 3 && t->ne[0] == cols && t->ne[1] == rows && t->ne[2] == exps)
                    : vec    ? (t->n_dims <= 2 && t->ne[0] == cols && t->ne[1] == 1 && t->ne[2] == 1)
                             : (t->n_dims == 2 && t->ne[0] == cols && t->ne[1] == rows && t->ne[2] == 1);
    if (t->ne[3] != 1) shape_ok = false;
    if (!shape_ok)
        return lc_fail(err, LC_ERR_FORMAT,
                       "gguf model: tensor '%s' has shape [%lld, %lld, %lld, %lld] (ne, fastest first), the "
                       "configuration (%s) needs [%lld, %lld, %lld]",
                       name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], why,
                       (long long)cols, (long long)rows, (long long)(exps > 0 ? exps : 1));
    if (exps > 0) rows *= exps;
    if (vec && t->dtype != LC_DTYPE_F32)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf model: vector tensor '%s' is %s; longctx needs f32 norms and biases",
                       name, lc_dtype_name(t->dtype));
    *out = (lc_tensor){t->dtype, rows, cols, t->data};
    return lc_tensor_check(out, name, rows, cols, err);
}

/* The tensors of one layer of this family: suffix, where it goes, shape and
 * the keys that give the shape. Returns how many (at most LAYER_MAX). */
#define LAYER_MAX LC_LAYER_TENSORS_MAX
typedef struct {
    const char *suffix;
    lc_tensor *t;
    int64_t rows, cols;
    int why;       /* index into the why strings below */
    int64_t exps;  /* > 0: a 3-D stack of that many [rows, cols] experts */
} layer_tensor;

enum { WHY_DIM, WHY_Q, WHY_KV, WHY_QKV, WHY_FFN, WHY_FFN2, WHY_HEAD, WHY_EXP, WHY_EXPF, WHY_SHF, WHY_NH, WHY_SSM, WHY_COUNT };

static int layer_tensors(const lc_model_config *c, int32_t layer, lc_layer_weights *L, layer_tensor *out) {
    const uint32_t fl = c->fam.flags;
    const int64_t D = c->dim, Q = (int64_t)c->n_heads * c->head_dim, KV = (int64_t)c->n_kv_heads * c->head_dim;
    const int64_t F = c->hidden_dim, H = c->head_dim;
    int n = 0;
    const int64_t E = c->fam.n_experts, FE = c->fam.expert_ffn, FS = c->fam.shared_ffn;
#define T(sfx, field, r, k, w) out[n++] = (layer_tensor){sfx, L ? &L->field : NULL, r, k, w, 0}
#define TE(sfx, field, r, k, w) out[n++] = (layer_tensor){sfx, L ? &L->field : NULL, r, k, w, E}
    T("attn_norm.weight", attn_norm, 1, D, WHY_DIM);
    const bool dn = lc_model_layer_kind(c, layer) == LC_LAYER_DELTANET;
    if (dn) {
        const int64_t HK = c->fam.ssm_n_k_heads, HV = c->fam.ssm_n_v_heads, DK = c->fam.ssm_d_k;
        const int64_t DV = c->fam.ssm_d_v, CH = 2 * HK * DK + HV * DV;
        T("attn_qkv.weight", wqkv, CH, D, WHY_SSM);
        T("attn_gate.weight", ssm_z, HV * DV, D, WHY_SSM);
        T("ssm_ba.weight", ssm_ba, 2 * HV, D, WHY_SSM);
        T("ssm_a", ssm_a, 1, HV, WHY_SSM);
        T("ssm_dt.bias", ssm_dt_b, 1, HV, WHY_SSM);
        T("ssm_conv1d.weight", ssm_conv, CH, c->fam.ssm_conv_kernel, WHY_SSM);
        T("ssm_norm.weight", ssm_norm, 1, DV, WHY_SSM);
        T("ssm_out.weight", ssm_out, D, HV * DV, WHY_SSM);
    } else if (fl & LC_ARCH_ATTN_GATE) {
        T("attn_q.weight", wq, 2 * Q, D, WHY_Q);
        T("attn_k.weight", wk, KV, D, WHY_KV);
        T("attn_v.weight", wv, KV, D, WHY_KV);
    } else if (fl & LC_ARCH_FUSED_QKV) {
        T("attn_qkv.weight", wqkv, Q + 2 * KV, D, WHY_QKV);
    } else {
        T("attn_q.weight", wq, Q, D, WHY_Q);
        T("attn_k.weight", wk, KV, D, WHY_KV);
        T("attn_v.weight", wv, KV, D, WHY_KV);
    }
    if (fl & LC_ARCH_QKV_BIAS) {
        T("attn_q.bias", bq, 1, Q, WHY_Q);
        T("attn_k.bias", bk, 1, KV, WHY_KV);
        T("attn_v.bias", bv, 1, KV, WHY_KV);
    }
    if ((fl & LC_ARCH_QK_NORM) && !dn) {
        T("attn_q_norm.weight", q_norm, 1, H, WHY_HEAD);
        T("attn_k_norm.weight", k_norm, 1, H, WHY_HEAD);
    }
    if (!dn) T("attn_output.weight", wo, D, Q, WHY_Q);
    if (fl & LC_ARCH_O_BIAS) T("attn_output.bias", bo, 1, D, WHY_DIM);
    if (fl & LC_ARCH_ATTN_SINKS) T("attn_sinks.weight", attn_sinks, 1, c->n_heads, WHY_NH);
    if (fl & LC_ARCH_POST_NORMS) {
        T("post_attention_norm.weight", post_attn_norm, 1, D, WHY_DIM);
        T("post_ffw_norm.weight", post_ffn_norm, 1, D, WHY_DIM);
    }
    if (fl & LC_ARCH_MOE) {
        /* both MoE converters name the FFN's pre-norm post_attention_norm */
        T("post_attention_norm.weight", ffn_norm, 1, D, WHY_DIM);
        T("ffn_gate_inp.weight", router, E, D, WHY_EXP);
        TE("ffn_gate_exps.weight", gate_exps, FE, D, WHY_EXPF);
        TE("ffn_up_exps.weight", up_exps, FE, D, WHY_EXPF);
        TE("ffn_down_exps.weight", down_exps, D, FE, WHY_EXPF);
        if (fl & LC_ARCH_MOE_BIAS) {
            T("ffn_gate_inp.bias", router_b, 1, E, WHY_EXP);
            T("ffn_gate_exps.bias", gate_exps_b, E, FE, WHY_EXPF);
            T("ffn_up_exps.bias", up_exps_b, E, FE, WHY_EXPF);
            T("ffn_down_exps.bias", down_exps_b, E, D, WHY_EXPF);
        }
        if (FS > 0) {
            T("ffn_gate_shexp.weight", gate_shexp, FS, D, WHY_SHF);
            T("ffn_up_shexp.weight", up_shexp, FS, D, WHY_SHF);
            T("ffn_down_shexp.weight", down_shexp, D, FS, WHY_SHF);
            T("ffn_gate_inp_shexp.weight", shexp_gate_inp, 1, D, WHY_DIM);
        }
        return n;
    }
    T("ffn_norm.weight", ffn_norm, 1, D, WHY_DIM);
    if (fl & LC_ARCH_FUSED_GATE_UP) {
        T("ffn_up.weight", w_up, 2 * F, D, WHY_FFN2);
    } else {
        T("ffn_gate.weight", w_gate, F, D, WHY_FFN);
        T("ffn_up.weight", w_up, F, D, WHY_FFN);
    }
    T("ffn_down.weight", w_down, D, F, WHY_FFN);
#undef T
#undef TE
    return n;
}

int lc_model_layer_tensor_descs(const lc_model_config *c, int32_t layer, lc_layer_tensor_desc *out) {
    layer_tensor lt[LAYER_MAX];
    const int n = layer_tensors(c, layer, NULL, lt);
    for (int i = 0; i < n; i++) out[i] = (lc_layer_tensor_desc){lt[i].suffix, lt[i].rows, lt[i].cols, lt[i].exps};
    return n;
}

int64_t lc_model_layer_n_params(const lc_model_config *c, int32_t layer) {
    layer_tensor lt[LAYER_MAX];
    const int n = layer_tensors(c, layer, NULL, lt);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int64_t e;
        if (!lc_mul_i64(lt[i].rows, lt[i].cols, &e) || (lt[i].exps > 0 && !lc_mul_i64(e, lt[i].exps, &e)) ||
            __builtin_add_overflow(total, e, &total))
            return -1;
    }
    return total;
}

static void why_strings(const lc_model_config *c, char why[WHY_COUNT][160]) {
    const char *A = c->arch;
    snprintf(why[WHY_DIM], 160, "%s.embedding_length = %d", A, c->dim);
    snprintf(why[WHY_Q], 160, "%s.attention.head_count = %d x key_length %d, embedding_length %d", A, c->n_heads,
             c->head_dim, c->dim);
    snprintf(why[WHY_KV], 160, "%s.attention.head_count_kv = %d x key_length %d, embedding_length %d", A,
             c->n_kv_heads, c->head_dim, c->dim);
    snprintf(why[WHY_QKV], 160, "%s.attention.head_count = %d, head_count_kv = %d, key_length %d", A, c->n_heads,
             c->n_kv_heads, c->head_dim);
    snprintf(why[WHY_FFN], 160, "%s.feed_forward_length = %d", A, c->hidden_dim);
    snprintf(why[WHY_FFN2], 160, "2 x %s.feed_forward_length = %d (fused gate/up)", A, c->hidden_dim);
    snprintf(why[WHY_HEAD], 160, "%s.attention.key_length = %d", A, c->head_dim);
    snprintf(why[WHY_EXP], 160, "%s.expert_count = %d, embedding_length %d", A, c->fam.n_experts, c->dim);
    snprintf(why[WHY_EXPF], 160, "%s.expert_count = %d, expert_feed_forward_length %d, embedding_length %d", A,
             c->fam.n_experts, c->fam.expert_ffn, c->dim);
    snprintf(why[WHY_SHF], 160, "%s.expert_shared_feed_forward_length = %d, embedding_length %d", A,
             c->fam.shared_ffn, c->dim);
    snprintf(why[WHY_NH], 160, "%s.attention.head_count = %d", A, c->n_heads);
    snprintf(why[WHY_SSM], 160, "%s.ssm.group_count %d, time_step_rank %d, state_size %d, inner_size %d, "
             "conv_kernel %d, embedding_length %d", A, c->fam.ssm_n_k_heads, c->fam.ssm_n_v_heads, c->fam.ssm_d_k,
             c->fam.ssm_n_v_heads * c->fam.ssm_d_v, c->fam.ssm_conv_kernel, c->dim);
}

static lc_status bind_all(const lc_gguf *g, lc_model *m, lc_error *err) {
    const lc_model_config *c = &m->cfg;
    char why[WHY_COUNT][160];
    why_strings(c, why);
    char vocab_why[160];
    snprintf(vocab_why, sizeof vocab_why, "vocab %d x %s.embedding_length %d", c->vocab_size, c->arch, c->dim);
    lc_status st;
    if ((st = bind(g, "token_embd.weight", c->vocab_size, c->dim, vocab_why, &m->w.tok_embd, err)) != LC_OK) return st;
    if ((st = bind(g, "output_norm.weight", 1, c->dim, why[WHY_DIM], &m->w.output_norm, err)) != LC_OK) return st;
    if (c->tied_output) m->w.output = m->w.tok_embd;
    else if ((st = bind(g, "output.weight", c->vocab_size, c->dim, vocab_why, &m->w.output, err)) != LC_OK)
        return st;
    char name[96];
    layer_tensor lt[LAYER_MAX];
    for (int32_t l = 0; l < c->n_layers; l++) {
        const int n = layer_tensors(c, l, &m->w.layers[l], lt);
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", (int)l, lt[i].suffix);
            if ((st = bind_exps(g, name, lt[i].rows, lt[i].cols, lt[i].exps, why[lt[i].why], lt[i].t, err)) != LC_OK)
                return st;
        }
    }
    return LC_OK;
}

/* Tensors outside the layers that the family reads. */
static bool global_known(const lc_model_config *c, const char *n) {
    if (strcmp(n, "token_embd.weight") == 0 || strcmp(n, "output_norm.weight") == 0 || strcmp(n, "output.weight") == 0)
        return true;
    if (c->rope.n_factors && !c->fam.longrope && strcmp(n, "rope_freqs.weight") == 0) return true;
    return c->fam.longrope && (strcmp(n, "rope_factors_long.weight") == 0 || strcmp(n, "rope_factors_short.weight") == 0);
}

static int64_t n_globals(const lc_model_config *c) {
    return 2 + (c->tied_output ? 0 : 1) + (c->fam.longrope ? 2 : c->rope.n_factors ? 1 : 0);
}

/* Every tensor of the file must be one we bound: refuse the first other one. */
static lc_status check_no_extra(const lc_gguf *g, const lc_model_config *c, lc_error *err) {
    layer_tensor lt[LAYER_MAX];
    int64_t expected = n_globals(c);
    for (int32_t l = 0; l < c->n_layers; l++) expected += layer_tensors(c, l, NULL, lt);
    if (lc_gguf_n_tensors(g) == expected) return LC_OK; /* names are unique and all were found */
    for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
        const char *n = lc_gguf_tensor_at(g, i)->name;
        bool known = global_known(c, n);
        int layer = -1, used = 0;
        if (!known && sscanf(n, "blk.%d.%n", &layer, &used) == 1 && used > 0 && layer >= 0 && layer < c->n_layers) {
            char canon[32];
            snprintf(canon, sizeof canon, "blk.%d.", layer);
            const int per_layer = layer_tensors(c, layer, NULL, lt);
            if (strncmp(canon, n, strlen(canon)) == 0)
                for (int k = 0; k < per_layer; k++) known |= strcmp(n + used, lt[k].suffix) == 0;
        }
        if (!known)
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "gguf model: tensor '%.80s' is not part of a %s model as longctx knows it", n, c->arch);
    }
    return lc_fail(err, LC_ERR_FORMAT, "gguf model: %lld tensors, expected %lld", (long long)lc_gguf_n_tensors(g),
                   (long long)expected);
}

lc_status lc_model_from_gguf(lc_gguf *g, lc_model **out, lc_error *err) {
    if (!g || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf model: NULL file or output");
    *out = NULL;
    lc_model_config c;
    lc_status st = lc_model_config_from_gguf(g, &c, err);
    if (st != LC_OK) return st;
    /* Refuse before allocating for a lying block_count. */
    layer_tensor lt[LAYER_MAX];
    int64_t need = 2;
    for (int32_t l = 0; l < c.n_layers && need <= lc_gguf_n_tensors(g); l++) need += layer_tensors(&c, l, NULL, lt);
    if (need > lc_gguf_n_tensors(g))
        return lc_fail(err, LC_ERR_FORMAT, "gguf model: %s.block_count = %d layers need %lld tensors, the file has %lld",
                       c.arch, c.n_layers, (long long)need, (long long)lc_gguf_n_tensors(g));
    lc_model *m;
    if ((st = lc_model_alloc(&c, &m, err)) != LC_OK) return st;
    snprintf(m->format, sizeof m->format, "gguf");
    if ((st = bind_all(g, m, err)) != LC_OK || (st = check_no_extra(g, &c, err)) != LC_OK) {
        lc_model_free(m);
        return st;
    }
    if (lc_gguf_has(g, "tokenizer.ggml.model")) {
        st = lc_tokenizer_from_gguf(g, &m->tokenizer, err);
        if (st == LC_ERR_UNSUPPORTED) {
            /* A tokenizer kind we do not implement: the model still loads,
             * and runs on token ids; the reason is kept for the CLI. */
            m->tokenizer = NULL;
            snprintf(m->tokenizer_note, sizeof m->tokenizer_note, "%s", err ? err->msg : "unsupported tokenizer");
            lc_error_clear(err);
        } else if (st != LC_OK) {
            m->tokenizer = NULL;
            lc_model_free(m);
            return st;
        } else if (lc_tokenizer_n_vocab(m->tokenizer) > c.vocab_size) {
            int32_t nt = lc_tokenizer_n_vocab(m->tokenizer);
            lc_model_free(m);
            return lc_fail(err, LC_ERR_FORMAT, "gguf model: the tokenizer has %d tokens but the model only %d embeddings",
                           nt, c.vocab_size);
        }
    }
    m->storage->gguf = g;
    *out = m;
    return LC_OK;
}
