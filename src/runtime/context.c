/*
 * The runtime context: options, validation of the model against its config,
 * exact sizing of every buffer, the memory check, creation and teardown.
 * The forward pass is in forward.c, generation in generate.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_internal.h"

#define DEFAULT_BATCH 512
/* RoPE cos/sin rows tabled up front; later positions are computed on the fly
 * by the RoPE module (a table for 1M positions at 128 dims would take 512 MiB). */
#define ROPE_TABLE_MAX ((int64_t)1 << 18)

void lc_context_opts_init(lc_context_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_ctx = 0;
    o->n_batch = DEFAULT_BATCH;
    o->n_threads = 0;
    o->attn = NULL;
    o->attn_params = NULL;
    o->k_type = LC_DTYPE_F16;
    o->v_type = LC_DTYPE_F16;
    o->rope = NULL;
    o->kv_policy = LC_KV_POLICY_FULL;
    o->force_scalar = false;
}

/* ---- Validation of the model ----------------------------------------------- */

static lc_status check_matrix(const lc_tensor *t, int64_t rows, int64_t cols, const char *name, int layer,
                              lc_error *err) {
    char where[48];
    if (layer >= 0) snprintf(where, sizeof where, "layer %d %s", layer, name);
    else snprintf(where, sizeof where, "%s", name);
    if (!t->data) return lc_fail(err, LC_ERR_INVALID_ARG, "model: %s has no data", where);
    if ((unsigned)t->type >= LC_DTYPE_COUNT)
        return lc_fail(err, LC_ERR_FORMAT, "model: %s has unknown type %d", where, (int)t->type);
    if (t->rows != rows || t->cols != cols)
        return lc_fail(err, LC_ERR_FORMAT, "model: %s is [%lld, %lld], the config implies [%lld, %lld]", where,
                       (long long)t->rows, (long long)t->cols, (long long)rows, (long long)cols);
    size_t rb;
    lc_error e2;
    if (lc_dtype_row_bytes(t->type, cols, &rb, &e2) != LC_OK)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "model: %s: %s", where, e2.msg);
    return LC_OK;
}

static lc_status check_vector(const lc_tensor *t, int64_t n, const char *name, int layer, lc_error *err) {
    if (t->rows * t->cols != n || t->rows < 1 || t->cols < 1) {
        return lc_fail(err, LC_ERR_FORMAT, "model: %s%s%d has %lld x %lld elements, expected %lld", name,
                       layer >= 0 ? " of layer " : "", layer >= 0 ? layer : 0, (long long)t->rows,
                       (long long)t->cols, (long long)n);
    }
    return check_matrix(t, t->rows, t->cols, name, layer, err);
}

/* Biases and the family's extra norms are read in place: f32 only. */
static lc_status check_f32_vector(const lc_tensor *t, int64_t n, const char *name, int layer, lc_error *err) {
    lc_status st = check_vector(t, n, name, layer, err);
    if (st == LC_OK && t->type != LC_DTYPE_F32)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "model: %s of layer %d is %s; it must be f32", name, layer,
                       lc_dtype_name(t->type));
    return st;
}

/* An f32 matrix [rows, cols] read in place (expert biases), or absent. */
static lc_status f32_rows(const lc_tensor *t, int64_t rows, int64_t cols, const char *name, const float **out,
                          lc_error *err) {
    *out = NULL;
    if (!t->data) return LC_OK;
    if (t->type != LC_DTYPE_F32 || t->rows != rows || t->cols != cols)
        return lc_fail(err, LC_ERR_FORMAT, "model: %s must be f32 [%lld, %lld] (is %s [%lld, %lld])", name,
                       (long long)rows, (long long)cols, lc_dtype_name(t->type), (long long)t->rows,
                       (long long)t->cols);
    *out = (const float *)t->data;
    return LC_OK;
}

lc_status lc_rt_moe_layer(const lc_model_config *c, const lc_layer_weights *L, lc_moe_layer *m, lc_error *err) {
    const lc_family *f = &c->fam;
    lc_moe_layer_init(m);
    m->n_experts = f->n_experts;
    m->n_used = f->n_experts_used;
    m->dim = c->dim;
    m->ffn = f->expert_ffn;
    m->routing = (lc_moe_routing)f->moe_routing;
    m->norm_topk = f->moe_norm_topk;
    m->act = (lc_moe_act)f->moe_act;
    m->router = L->router;
    m->gate_exps = L->gate_exps;
    m->up_exps = L->up_exps;
    m->down_exps = L->down_exps;
    const int64_t E = f->n_experts;
    lc_status st;
    if ((st = f32_rows(&L->router_b, 1, E, "ffn_gate_inp.bias", &m->router_bias, err)) != LC_OK ||
        (st = f32_rows(&L->gate_exps_b, E, f->expert_ffn, "ffn_gate_exps.bias", &m->gate_bias, err)) != LC_OK ||
        (st = f32_rows(&L->up_exps_b, E, f->expert_ffn, "ffn_up_exps.bias", &m->up_bias, err)) != LC_OK ||
        (st = f32_rows(&L->down_exps_b, E, c->dim, "ffn_down_exps.bias", &m->down_bias, err)) != LC_OK)
        return st;
    if (f->shared_ffn > 0) {
        m->shared_ffn = f->shared_ffn;
        m->shared_gate = L->gate_shexp;
        m->shared_up = L->up_shexp;
        m->shared_down = L->down_shexp;
        m->shared_gate_inp = L->shexp_gate_inp;
    }
    return LC_OK;
}

static lc_status check_model(const lc_model *m, lc_rt_shape *sh, lc_error *err) {
    if (!m) return lc_fail(err, LC_ERR_INVALID_ARG, "context: NULL model");
    const lc_model_config *c = &m->cfg;
    if (c->dim < 1 || c->hidden_dim < 1 || c->n_layers < 1 || c->n_heads < 1 || c->n_kv_heads < 1 ||
        c->head_dim < 1 || c->vocab_size < 1)
        return lc_fail(err, LC_ERR_FORMAT,
                       "model: bad config (dim %d, hidden %d, layers %d, heads %d, kv heads %d, head dim %d, vocab %d)",
                       c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size);
    if (c->n_heads % c->n_kv_heads)
        return lc_fail(err, LC_ERR_FORMAT, "model: %d heads is not a multiple of %d KV heads", c->n_heads,
                       c->n_kv_heads);
    if (!(c->norm_eps >= 0.0f) || !isfinite(c->norm_eps))
        return lc_fail(err, LC_ERR_FORMAT, "model: bad RMSNorm epsilon %g", (double)c->norm_eps);
    if (!m->w.layers) return lc_fail(err, LC_ERR_INVALID_ARG, "model: no layer weights");
    memset(sh, 0, sizeof *sh);
    sh->dim = c->dim;
    sh->hidden = c->hidden_dim;
    sh->n_layers = c->n_layers;
    sh->n_heads = c->n_heads;
    sh->n_kv_heads = c->n_kv_heads;
    sh->head_dim = c->head_dim;
    sh->vocab = c->vocab_size;
    sh->q_dim = (int64_t)c->n_heads * c->head_dim;
    sh->kv_dim = (int64_t)c->n_kv_heads * c->head_dim;
    const int64_t D = c->dim, F = c->hidden_dim;
    lc_status st;
#define CHK(x)                                                                                                        \
    do {                                                                                                              \
        if ((st = (x)) != LC_OK) return st;                                                                           \
    } while (0)
    CHK(check_matrix(&m->w.tok_embd, c->vocab_size, D, "token_embd", -1, err));
    CHK(check_vector(&m->w.output_norm, D, "output_norm", -1, err));
    CHK(check_matrix(&m->w.output, c->vocab_size, D, "output", -1, err));
    const uint32_t fl = c->fam.flags;
    sh->qkv_dim = fl & LC_ARCH_FUSED_QKV ? sh->q_dim + 2 * sh->kv_dim : 0;
    sh->up_dim = fl & LC_ARCH_FUSED_GATE_UP ? 2 * F : F;
    for (int l = 0; l < c->n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        CHK(check_vector(&L->attn_norm, D, "attn_norm", l, err));
        const bool dn = lc_model_layer_kind(c, l) == LC_LAYER_DELTANET;
        if (dn) {
            const lc_family *f = &c->fam;
            const int64_t HV = f->ssm_n_v_heads, VD = HV * f->ssm_d_v;
            const int64_t CH = 2 * (int64_t)f->ssm_n_k_heads * f->ssm_d_k + VD;
            CHK(check_matrix(&L->wqkv, CH, D, "attn_qkv", l, err));
            CHK(check_matrix(&L->ssm_z, VD, D, "attn_gate", l, err));
            CHK(check_matrix(&L->ssm_ba, 2 * HV, D, "ssm_ba", l, err));
            CHK(check_matrix(&L->ssm_out, D, VD, "ssm_out", l, err));
            CHK(check_f32_vector(&L->ssm_a, HV, "ssm_a", l, err));
            CHK(check_f32_vector(&L->ssm_dt_b, HV, "ssm_dt.bias", l, err));
            CHK(check_f32_vector(&L->ssm_norm, f->ssm_d_v, "ssm_norm", l, err));
            const float *cw;
            CHK(f32_rows(&L->ssm_conv, CH, f->ssm_conv_kernel, "ssm_conv1d", &cw, err));
            if (!cw) return lc_fail(err, LC_ERR_INVALID_ARG, "model: layer %d ssm_conv1d has no data", l);
        } else if (fl & LC_ARCH_ATTN_GATE) {
            CHK(check_matrix(&L->wq, 2 * sh->q_dim, D, "attn_q (query and gate)", l, err));
            CHK(check_matrix(&L->wk, sh->kv_dim, D, "attn_k", l, err));
            CHK(check_matrix(&L->wv, sh->kv_dim, D, "attn_v", l, err));
        } else if (fl & LC_ARCH_FUSED_QKV) {
            CHK(check_matrix(&L->wqkv, sh->qkv_dim, D, "attn_qkv", l, err));
        } else {
            CHK(check_matrix(&L->wq, sh->q_dim, D, "attn_q", l, err));
            CHK(check_matrix(&L->wk, sh->kv_dim, D, "attn_k", l, err));
            CHK(check_matrix(&L->wv, sh->kv_dim, D, "attn_v", l, err));
        }
        if (fl & LC_ARCH_QKV_BIAS) {
            CHK(check_f32_vector(&L->bq, sh->q_dim, "attn_q.bias", l, err));
            CHK(check_f32_vector(&L->bk, sh->kv_dim, "attn_k.bias", l, err));
            CHK(check_f32_vector(&L->bv, sh->kv_dim, "attn_v.bias", l, err));
        }
        if ((fl & LC_ARCH_QK_NORM) && !dn) {
            CHK(check_f32_vector(&L->q_norm, c->head_dim, "attn_q_norm", l, err));
            CHK(check_f32_vector(&L->k_norm, c->head_dim, "attn_k_norm", l, err));
        }
        if (fl & LC_ARCH_POST_NORMS) {
            CHK(check_f32_vector(&L->post_attn_norm, D, "post_attention_norm", l, err));
            CHK(check_f32_vector(&L->post_ffn_norm, D, "post_ffw_norm", l, err));
        }
        if (!dn) CHK(check_matrix(&L->wo, D, sh->q_dim, "attn_output", l, err));
        if (fl & LC_ARCH_O_BIAS) CHK(check_f32_vector(&L->bo, D, "attn_output.bias", l, err));
        if (fl & LC_ARCH_ATTN_SINKS) CHK(check_f32_vector(&L->attn_sinks, c->n_heads, "attn_sinks", l, err));
        CHK(check_vector(&L->ffn_norm, D, "ffn_norm", l, err));
        if (fl & LC_ARCH_MOE) {
            lc_moe_layer ml;
            CHK(lc_rt_moe_layer(c, L, &ml, err));
            CHK(lc_moe_validate(&ml, err));
            continue;
        }
        if (!(fl & LC_ARCH_FUSED_GATE_UP)) CHK(check_matrix(&L->w_gate, F, D, "ffn_gate", l, err));
        CHK(check_matrix(&L->w_up, sh->up_dim, D, "ffn_up", l, err));
        CHK(check_matrix(&L->w_down, D, F, "ffn_down", l, err));
    }
#undef CHK
    return LC_OK;
}

/* ---- Resolving the options ---------------------------------------------------- */

typedef struct {
    lc_rt_shape sh;
    lc_attn_params attn;
    bool linear;
    lc_rope_config rope;
    int64_t rope_table;
    lc_dtype k_type, v_type;
    lc_kv_policy_cfg policy;
    lc_attn_params attn_ring; /* WINDOW/SINKS: the ring's window attention */
    bool force_scalar;
    int64_t window;           /* window layers' window (0: none)           */
    int32_t window_period;
    lc_attn_params attn_window, attn_ring_window;
    bool rope_window_own;
    lc_rope_config rope_window;
    int32_t n_window_layers;  /* layers of kind WINDOW                      */
    bool rings;               /* they keep rings instead of the full cache  */
    int64_t n_batch_asked;    /* n_batch before the policy's plan cut it    */
} resolved;

/* Which attention methods a KV policy can run with. Window and sinks compute
 * the ring's part with the WINDOW kernel (window W over rotation positions)
 * and the sinks' part with the context's method; both must be FLASH (the
 * default). H2O needs key positions and the log-sum-exp (FLASH or NAIVE);
 * SHIFT keeps keys in order (anything with a cache). */
static lc_status check_policy_attention(resolved *r, lc_error *err) {
    const lc_kv_policy p = r->policy.policy;
    const lc_attn_method m = r->attn.method;
    if (p == LC_KV_POLICY_FULL) return LC_OK;
    if (r->linear)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "context: KV policy %s needs a KV cache (LINEAR attention keeps none)",
                       lc_kv_policy_name(p));
    if ((p == LC_KV_POLICY_WINDOW || p == LC_KV_POLICY_SINKS) && m != LC_ATTN_FLASH)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "context: KV policy %s runs its own window attention; use --attn flash (got %s)",
                       lc_kv_policy_name(p), lc_attn_method_name(m));
    if (p == LC_KV_POLICY_H2O && m != LC_ATTN_FLASH && m != LC_ATTN_NAIVE)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "context: KV policy h2o needs flash or naive attention (got %s)",
                       lc_attn_method_name(m));
    if (p == LC_KV_POLICY_WINDOW || p == LC_KV_POLICY_SINKS) {
        r->attn_ring = r->attn;
        r->attn_ring.method = LC_ATTN_WINDOW;
        r->attn_ring.window = r->policy.window;
        r->attn_ring.n_sinks = 0;
    }
    return LC_OK;
}

/* Window layers: which, their window (the --swa option applied), their
 * attention parameters and RoPE; the family's soft-cap needs a kernel that
 * has it. */
static lc_status resolve_family(const lc_model_config *c, const lc_context_opts *o, resolved *r, lc_error *err) {
    const lc_family *f = &c->fam;
    r->window = f->window;
    r->window_period = f->window > 0 ? f->window_period : 1;
    if (o->swa > 0) r->window = o->swa;
    else if (o->swa < 0) r->window = 0;
    if (o->swa_period < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "context: window-layer period %d must be >= 1", o->swa_period);
    if (o->swa_period > 0) r->window_period = o->swa_period;
    if (f->attn_softcap > 0.0f && r->attn.method != LC_ATTN_FLASH && r->attn.method != LC_ATTN_NAIVE &&
        r->attn.method != LC_ATTN_WINDOW)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "context: this %s model soft-caps attention scores; use --attn flash "
                                                "(got %s)", c->arch, lc_attn_method_name(r->attn.method));
    /* Hybrid families under every KV policy (docs/kv-cache.md, "Hybrid
     * models"): the policy governs the attention layers' KV; Gated DeltaNet
     * layers carry their recurrent state through whatever the policy evicts
     * (it already summarises every token and has no positions); learned sink
     * logits join the softmax of every attention call, ring and H2O ones
     * included. What they cannot take is LINEAR attention in place of the
     * softmax layers. */
    if ((f->flags & (LC_ARCH_DELTANET | LC_ARCH_ATTN_SINKS)) && r->linear)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "context: this %s model's %s needs softmax attention in its attention layers, not linear", c->arch,
                       f->flags & LC_ARCH_DELTANET ? "hybrid of Gated DeltaNet and attention layers"
                                                   : "learned attention sinks");
    r->attn_window = r->attn;
    r->attn_ring_window = r->attn_ring;
    if (r->window > 0) {
        if (r->linear)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "context: window layers need softmax attention, not linear");
        if (r->attn.method != LC_ATTN_FLASH && r->attn.method != LC_ATTN_WINDOW)
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "context: the model's window layers run the WINDOW kernel next to flash; use --attn flash "
                           "(got %s) or --swa -1",
                           lc_attn_method_name(r->attn.method));
        r->attn_window.method = LC_ATTN_WINDOW;
        r->attn_window.window = r->attn.method == LC_ATTN_WINDOW ? LC_MIN(r->attn.window, r->window) : r->window;
        r->attn_window.n_sinks = r->attn.method == LC_ATTN_WINDOW ? r->attn.n_sinks : 0;
        r->attn_ring_window.window = LC_MIN(r->attn_ring.window, r->window);
    }
    lc_model_config kc = *c;
    kc.fam.window = r->window;
    kc.fam.window_period = r->window_period;
    r->n_window_layers = 0;
    for (int32_t l = 0; l < c->n_layers; l++) r->n_window_layers += lc_model_layer_kind(&kc, l) == LC_LAYER_WINDOW;
    /* Window layers keep their own ring (W + B - 1 slots) under FULL, and
     * under WINDOW/SINKS when the policy's window is at least theirs: they
     * then see exactly what they would in the policy's ring (the sinks lie
     * beyond their window once evicted), in less memory. */
    const bool ring_policy = r->policy.policy == LC_KV_POLICY_WINDOW || r->policy.policy == LC_KV_POLICY_SINKS;
    /* Under SHIFT too when a shift leaves at least W + B tokens after the
     * kept prefix (twice that before it: a shift discards half): the prefix
     * is then out of every window layer's reach, as in the policy's layout. */
    r->rings = r->n_window_layers > 0 && !r->linear && !o->swa_full &&
               ((r->policy.policy == LC_KV_POLICY_FULL && r->window <= r->sh.n_ctx - r->sh.n_batch) ||
                (ring_policy && r->policy.window >= r->window) ||
                (r->policy.policy == LC_KV_POLICY_SHIFT && r->window <= r->sh.n_ctx / 2 &&
                 r->sh.n_ctx - r->policy.n_keep >= 2 * (r->window + r->sh.n_batch)));
    r->rope_window_own = f->rope_window_own;
    if (o->kv_external && (r->linear || r->policy.policy != LC_KV_POLICY_FULL || r->n_window_layers > 0))
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "context: an external KV cache (sequence parallelism) needs softmax attention under the full "
                       "KV policy and no window layers");
    if (r->rope_window_own) {
        const lc_kv_policy p = r->policy.policy;
        if (p == LC_KV_POLICY_SHIFT || (ring_policy && !r->rings))
            return lc_fail(err, LC_ERR_UNSUPPORTED,
                           "context: KV policy %s re-rotates keys with one RoPE; this %s model's window layers have "
                           "their own (use full, h2o, or window/sinks with a window of at least %lld, without "
                           "--swa-full, so that they keep their own ring)",
                           lc_kv_policy_name(p), c->arch, (long long)r->window);
        r->rope_window = c->rope_window;
        if (r->rope_window.orig_ctx == 0) r->rope_window.orig_ctx = c->ctx_train > 0 ? c->ctx_train : r->sh.n_ctx;
    }
    return LC_OK;
}

static lc_status resolve(const lc_model *m, const lc_context_opts *o_in, resolved *r, lc_error *err) {
    lc_context_opts defaults;
    lc_context_opts_init(&defaults);
    const lc_context_opts *o = o_in ? o_in : &defaults;
    memset(r, 0, sizeof *r);
    lc_status st = check_model(m, &r->sh, err);
    if (st != LC_OK) return st;
    const lc_model_config *c = &m->cfg;

    if ((unsigned)o->kv_policy >= LC_KV_POLICY_COUNT)
        return lc_fail(err, LC_ERR_INVALID_ARG, "context: unknown KV policy %d", (int)o->kv_policy);
    r->policy.policy = o->kv_policy;
    r->policy.n_sinks = o->kv_n_sinks;
    r->policy.window = o->kv_window;
    r->policy.n_keep = o->kv_n_keep;
    r->policy.n_heavy = o->kv_n_heavy;
    r->policy.no_storage = o->kv_external;
    const bool sized_by_policy = o->kv_policy == LC_KV_POLICY_WINDOW || o->kv_policy == LC_KV_POLICY_SINKS ||
                                 o->kv_policy == LC_KV_POLICY_H2O;
    r->sh.n_ctx = o->n_ctx > 0 ? o->n_ctx : c->ctx_train;
    if (r->sh.n_ctx < 1 && !sized_by_policy)
        return lc_fail(err, LC_ERR_INVALID_ARG, "context: the model gives no training context; set n_ctx (-c)");
    if (r->sh.n_ctx > LC_CONTEXT_MAX_TOKENS)
        return lc_fail(err, LC_ERR_TOO_LARGE, "context: %lld tokens%s is more than the %lld a context may hold (-c)",
                       (long long)r->sh.n_ctx, o->n_ctx > 0 ? "" : " (the model's training context)",
                       (long long)LC_CONTEXT_MAX_TOKENS);
    if (o->n_batch < 0 || o->n_batch > LC_CONTEXT_MAX_TOKENS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "context: batch size %lld is outside 0..%lld", (long long)o->n_batch,
                       (long long)LC_CONTEXT_MAX_TOKENS);
    r->sh.n_batch = o->n_batch > 0 ? o->n_batch : DEFAULT_BATCH;
    r->n_batch_asked = r->sh.n_batch;
    /* The policy gives the slot count (window/sinks/h2o: from its own
     * parameters) and the largest chunk one forward pass may take. */
    int64_t n_slots = 0, n_chunk = 0, rot_limit = 0;
    st = lc_kv_policy_plan(&r->policy, r->sh.n_ctx, r->sh.n_batch, &n_slots, &n_chunk, &rot_limit, err);
    if (st != LC_OK) return st;
    r->sh.n_ctx = n_slots;
    r->sh.n_batch = n_chunk;
    r->sh.n_threads = o->n_threads > 0 ? o->n_threads : lc_cpu_count();

    if (o->attn_params) {
        r->attn = *o->attn_params;
    } else {
        const char *spec = o->attn ? o->attn : (c->attention[0] ? c->attention : "flash");
        lc_attn_params_init(&r->attn, LC_ATTN_FLASH);
        st = lc_attn_parse(spec, &r->attn, err);
        if (st != LC_OK) return st;
    }
    r->attn.n_threads = r->sh.n_threads;
    if (o->force_scalar) r->attn.force_scalar = true;
    if (r->attn.mask) return lc_fail(err, LC_ERR_INVALID_ARG, "context: an explicit attention mask is not supported");
    r->linear = r->attn.method == LC_ATTN_LINEAR;

    if ((o->k_type != LC_DTYPE_F32 && o->k_type != LC_DTYPE_F16 && o->k_type != LC_DTYPE_Q8_0) ||
        (o->v_type != LC_DTYPE_F32 && o->v_type != LC_DTYPE_F16 && o->v_type != LC_DTYPE_Q8_0))
        return lc_fail(err, LC_ERR_UNSUPPORTED, "context: KV cache types must be f32, f16 or q8_0 (got %s, %s)",
                       lc_dtype_name(o->k_type), lc_dtype_name(o->v_type));
    if ((o->k_type == LC_DTYPE_Q8_0 || o->v_type == LC_DTYPE_Q8_0) && c->head_dim % LC_Q8_0_BLOCK)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "context: a q8_0 KV cache needs head dim %% 32 == 0 (the model's is %d)",
                       c->head_dim);
    r->k_type = o->k_type;
    r->v_type = o->v_type;
    r->force_scalar = o->force_scalar;
    st = check_policy_attention(r, err);
    if (st != LC_OK) return st;

    /* LongRoPE: the long factors when the context may pass the original
     * context (n_ctx > orig_ctx, llama.cpp's rule), else the short ones. */
    const int64_t n_ctx_asked = o->n_ctx > 0 ? o->n_ctx : c->ctx_train;
    r->rope = o->rope ? *o->rope
                      : c->fam.longrope && n_ctx_asked <= c->rope.orig_ctx ? c->rope_short : c->rope;
    st = resolve_family(c, o, r, err);
    if (st != LC_OK) return st;
    if (r->rope.orig_ctx == 0) r->rope.orig_ctx = c->ctx_train > 0 ? c->ctx_train : r->sh.n_ctx;
    st = lc_rope_validate(&r->rope, err);
    if (st != LC_OK) return st;
    if (r->rope.n_dims > c->head_dim)
        return lc_fail(err, LC_ERR_INVALID_ARG, "context: RoPE rotates %d dims but heads have %d", r->rope.n_dims,
                       c->head_dim);
    /* RoPE positions: below n_ctx (full, shift), below the ring's limit
     * (window, sinks), unbounded for h2o (its tokens keep their positions):
     * table twice its budget, or the training context, and compute beyond. */
    int64_t table = rot_limit > 0 ? rot_limit : LC_MAX(2 * r->sh.n_ctx, c->ctx_train);
    r->rope_table = LC_MIN(table, ROPE_TABLE_MAX);
    return LC_OK;
}

/* ---- Sizes ---------------------------------------------------------------------- */

/* Carving of the slab: each piece 64-byte aligned. */
typedef struct {
    size_t norms, x, xb, q, k, v, att, hb, hb2, qkv, logits, att2, q2, lse, lse2, moe_y, mm_ws, attn_ws, moe_ws;
    size_t activation_bytes, total;
    size_t dn_bytes, dn_buf_floats; /* the DeltaNet allocation (in total, not in the slab) */
} slab_plan;

static bool take(size_t *cursor, size_t n_floats_a, size_t n_floats_b, size_t *off) {
    size_t bytes;
    if (!lc_mul3_size(n_floats_a, n_floats_b, sizeof(float), &bytes) || bytes > SIZE_MAX - 63) return false;
    *off = *cursor;
    bytes = (bytes + 63) & ~(size_t)63;
    return lc_add_size(*cursor, bytes, cursor);
}

/* sinks: the SINKS policy's second attention part; lse: a log-sum-exp
 * buffer (SINKS, H2O). */
static bool plan_slab(const lc_rt_shape *sh, size_t mm_ws, size_t attn_ws, bool sinks, bool lse, bool moe,
                      size_t moe_ws, slab_plan *p) {
    size_t cur = 0, B = (size_t)sh->n_batch;
    const size_t B2 = sinks ? B : 0, BL = sinks || lse ? B : 0;
    bool ok = take(&cur, 2 * (size_t)sh->n_layers + 1, (size_t)sh->dim, &p->norms) &&
              take(&cur, B, (size_t)sh->dim, &p->x) && take(&cur, B, (size_t)sh->dim, &p->xb) &&
              take(&cur, B, (size_t)sh->q_dim, &p->q) && take(&cur, B, (size_t)sh->kv_dim, &p->k) &&
              take(&cur, B, (size_t)sh->kv_dim, &p->v) && take(&cur, B, (size_t)sh->q_dim, &p->att) &&
              take(&cur, B, (size_t)sh->hidden, &p->hb) && take(&cur, B, (size_t)sh->up_dim, &p->hb2) &&
              take(&cur, B, (size_t)sh->qkv_dim, &p->qkv) &&
              take(&cur, 1, (size_t)sh->vocab, &p->logits) && take(&cur, B2, (size_t)sh->q_dim, &p->att2) &&
              take(&cur, B2, (size_t)sh->q_dim, &p->q2) && take(&cur, BL, (size_t)sh->n_heads, &p->lse) &&
              take(&cur, B2, (size_t)sh->n_heads, &p->lse2) && take(&cur, moe ? B : 0, (size_t)sh->dim, &p->moe_y);
    if (!ok) return false;
    p->activation_bytes = cur;
    if (mm_ws > SIZE_MAX - 63 || attn_ws > SIZE_MAX - 63) return false;
    p->mm_ws = cur;
    if (!lc_add_size(cur, (mm_ws + 63) & ~(size_t)63, &cur)) return false;
    p->attn_ws = cur;
    if (!lc_add_size(cur, (attn_ws + 63) & ~(size_t)63, &cur)) return false;
    if (moe_ws > SIZE_MAX - 63) return false;
    p->moe_ws = cur;
    if (!lc_add_size(cur, (moe_ws + 63) & ~(size_t)63, &cur)) return false;
    p->total = cur;
    return true;
}

static lc_status matmul_ws(const lc_model *m, const lc_rt_shape *sh, size_t *bytes, lc_error *err) {
    *bytes = 0;
    const lc_tensor *mats[11];
    for (int l = 0; l < sh->n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        const lc_tensor *lm[11] = {&L->wq,   &L->wk,     &L->wv,     &L->wo,     &L->w_gate, &L->w_up,
                                   &L->w_down, &L->wqkv, &L->ssm_z, &L->ssm_ba, &L->ssm_out};
        memcpy(mats, lm, sizeof mats);
        for (int i = 0; i < 11; i++) {
            if (!mats[i]->data) continue; /* a family without this matrix */
            size_t b;
            lc_status st = lc_matmul_workspace(mats[i], sh->n_batch, sh->n_threads, &b, err);
            if (st != LC_OK) return st;
            *bytes = LC_MAX(*bytes, b);
        }
    }
    size_t b;
    lc_status st = lc_matmul_workspace(&m->w.output, sh->n_batch, sh->n_threads, &b, err);
    if (st != LC_OK) return st;
    *bytes = LC_MAX(*bytes, b);
    return LC_OK;
}

/* The attention shape of a chunk of n_q queries over n_kv cached keys. */
static lc_attn_shape attn_shape(const lc_rt_shape *sh, lc_dtype kt, lc_dtype vt, int64_t n_q, int64_t n_kv) {
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_head = sh->n_heads;
    s.n_head_kv = sh->n_kv_heads;
    s.head_dim = sh->head_dim;
    s.k_type = kt;
    s.v_type = vt;
    s.causal = true;
    s.q_pos0 = n_kv - n_q;
    s.k_pos = NULL;
    s.scale = 0.0f;
    return s;
}

/* Key counts to try for a chunk of nq queries over up to N keys: the ends,
 * every power of two, and both sides of every multiple of 512 (where FLASH
 * changes its split-KV partitions and decode head grouping) up to 64 of them.
 * Returns how many were written (at most 200). */
static int kv_counts(int64_t nq, int64_t N, int64_t B, bool with_pos, int64_t *out) {
    int n = 0;
#define ADD(v)                                                                                                        \
    do {                                                                                                              \
        const int64_t v_ = (v);                                                                                       \
        if (v_ >= 1 && v_ <= N && (with_pos || v_ >= nq) && n < 200) out[n++] = v_;                                   \
    } while (0)
    const int64_t ends[8] = {1, 2, nq, nq + 1, N, N - 1, N / 2, LC_MIN(N, nq + B)};
    for (int i = 0; i < 8; i++) ADD(ends[i]);
    /* p doubles while it stays <= N (no signed overflow for N near 2^63) */
    for (int64_t p = 4; p <= N; p *= 2) {
        ADD(p);
        if (p > N / 2) break;
    }
    for (int64_t m = 1; m <= 64 && (m - 1) * 512 <= N; m++) {
        ADD(m * 512 - 1);
        ADD(m * 512);
        ADD(m * 512 + 1);
    }
#undef ADD
    return n;
}

/* The largest workspace of calls with p for chunks of 1..B queries over up
 * to N keys (every query count; key counts from kv_counts; lc_attn_forward
 * checks every call and refuses rather than overrun). with_pos: keys carry
 * positions (k_pos), so any number of them may be visible; q_pos0 then sits
 * past every key. */
static lc_status ws_sweep(const resolved *r, const lc_attn_params *p, int64_t B, int64_t N, bool with_pos,
                          size_t *bytes, lc_error *err) {
    static const int64_t dummy_pos[1] = {0};
    int64_t nkv[200];
    for (int64_t nq = 1; nq <= B; nq++) {
        const int nk = kv_counts(nq, N, B, with_pos, nkv);
        for (int j = 0; j < nk; j++) {
            lc_attn_shape s = attn_shape(&r->sh, r->k_type, r->v_type, nq, nkv[j]);
            if (with_pos) {
                s.k_pos = dummy_pos; /* sizing never reads it */
                s.q_pos0 = N + B;
            }
            size_t b = 0;
            lc_status st = lc_attn_workspace(&s, p, &b, err);
            if (st != LC_OK) return st;
            *bytes = LC_MAX(*bytes, b);
        }
    }
    return LC_OK;
}

/* The largest workspace attention asks for over the chunk shapes the context
 * can produce: per policy, the calls forward.c makes. */
static lc_status attn_ws(const resolved *r, size_t *bytes, lc_error *err) {
    *bytes = 0;
    if (r->linear) return LC_OK;
    const int64_t B = r->sh.n_batch, C = r->sh.n_ctx, S = r->policy.n_sinks;
    switch (r->policy.policy) {
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS: {
        lc_status st = ws_sweep(r, &r->attn_ring, B, C - S, true, bytes, err);
        if (st == LC_OK && r->window > 0) st = ws_sweep(r, &r->attn_ring_window, B, C, true, bytes, err);
        if (st == LC_OK && S > 0) st = ws_sweep(r, &r->attn, B, S, true, bytes, err);
        /* window layers attend the sinks with their own window */
        if (st == LC_OK && S > 0 && r->window > 0) st = ws_sweep(r, &r->attn_window, B, S, true, bytes, err);
        return st;
    }
    case LC_KV_POLICY_H2O: {
        lc_status st = ws_sweep(r, &r->attn, B, C, true, bytes, err);
        if (st == LC_OK && r->window > 0) st = ws_sweep(r, &r->attn_window, B, C, true, bytes, err);
        return st;
    }
    default: {
        lc_status st = ws_sweep(r, &r->attn, B, C, false, bytes, err);
        if (st == LC_OK && r->window > 0) st = ws_sweep(r, &r->attn_window, B, C, false, bytes, err);
        return st;
    }
    }
}

static lc_status linear_state_bytes(const resolved *r, size_t *bytes, lc_error *err) {
    lc_linear_state *st = NULL;
    lc_status s = lc_linear_state_create(r->sh.n_heads, r->sh.n_kv_heads, r->sh.head_dim, &r->attn, &st, err);
    if (s != LC_OK) return s;
    size_t one = lc_linear_state_bytes(st);
    lc_linear_state_free(st);
    if (!lc_mul_size(one, (size_t)r->sh.n_layers, bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "linear attention states overflow size_t");
    return LC_OK;
}

/* The Gated DeltaNet description of layer l. */
static void dn_desc(const lc_model_config *c, const lc_layer_weights *L, lc_deltanet_layer *d) {
    const lc_family *f = &c->fam;
    memset(d, 0, sizeof *d);
    d->shape.n_k_heads = f->ssm_n_k_heads;
    d->shape.n_v_heads = f->ssm_n_v_heads;
    d->shape.d_k = f->ssm_d_k;
    d->shape.d_v = f->ssm_d_v;
    d->conv_kernel = f->ssm_conv_kernel;
    d->conv_w = (const float *)L->ssm_conv.data;
    d->A = (const float *)L->ssm_a.data;
    d->dt_bias = (const float *)L->ssm_dt_b.data;
    d->norm_w = (const float *)L->ssm_norm.data;
    d->norm_eps = c->norm_eps;
}

/* Sizes of the DeltaNet / gated-attention buffers (floats), their scratch
 * and the recurrent states of every DELTANET layer. */
typedef struct {
    size_t buf_floats, ws_bytes, state_bytes;
    int32_t n_layers;
} dn_plan;

static lc_status plan_dn(const lc_model *m, const resolved *r, dn_plan *p, lc_error *err) {
    memset(p, 0, sizeof *p);
    const lc_model_config *c = &m->cfg;
    const lc_family *f = &c->fam;
    const size_t B = (size_t)r->sh.n_batch;
    if (f->flags & LC_ARCH_ATTN_GATE) p->buf_floats = B * 3 * (size_t)r->sh.q_dim;
    if (!(f->flags & LC_ARCH_DELTANET)) return LC_OK;
    lc_deltanet_params dp;
    lc_deltanet_params_init(&dp);
    dp.n_threads = r->sh.n_threads;
    dp.force_scalar = r->force_scalar;
    const size_t HV = (size_t)f->ssm_n_v_heads, VD = HV * (size_t)f->ssm_d_v;
    const size_t CH = 2 * (size_t)f->ssm_n_k_heads * (size_t)f->ssm_d_k + VD;
    p->buf_floats += B * (CH + VD + 2 * HV + 2 * HV + VD);
    for (int32_t l = 0; l < c->n_layers; l++) {
        if (lc_model_layer_kind(c, l) != LC_LAYER_DELTANET) continue;
        lc_deltanet_layer d;
        dn_desc(c, &m->w.layers[l], &d);
        size_t b = 0, sf = 0;
        lc_status st = lc_deltanet_layer_workspace(&d, &dp, r->sh.n_batch, &b, err);
        if (st == LC_OK) st = lc_deltanet_state_floats(&d.shape, &sf, err);
        if (st != LC_OK) return st;
        p->ws_bytes = LC_MAX(p->ws_bytes, b);
        p->state_bytes += (sf + (size_t)(f->ssm_conv_kernel - 1) * CH) * sizeof(float);
        p->n_layers++;
    }
    return LC_OK;
}

static lc_status compute_memory(const lc_model *m, const resolved *r, lc_context_memory *mem, slab_plan *plan,
                                lc_error *err) {
    memset(mem, 0, sizeof *mem);
    memset(plan, 0, sizeof *plan);
    size_t mm = 0, at = 0;
    lc_status st = matmul_ws(m, &r->sh, &mm, err);
    if (st == LC_OK) st = attn_ws(r, &at, err);
    if (st != LC_OK) return st;
    const bool sinks = r->policy.policy == LC_KV_POLICY_SINKS && r->policy.n_sinks > 0;
    const bool moe = (m->cfg.fam.flags & LC_ARCH_MOE) != 0;
    size_t moe_ws = 0;
    for (int32_t l = 0; moe && l < r->sh.n_layers; l++) {
        lc_moe_layer ml;
        size_t b = 0;
        st = lc_rt_moe_layer(&m->cfg, &m->w.layers[l], &ml, err);
        if (st == LC_OK) st = lc_moe_workspace(&ml, r->sh.n_batch, r->sh.n_threads, &b, err);
        if (st != LC_OK) return st;
        moe_ws = LC_MAX(moe_ws, b);
    }
    if (!plan_slab(&r->sh, mm, at, sinks, r->policy.policy == LC_KV_POLICY_H2O, moe, moe_ws, plan))
        return lc_fail(err, LC_ERR_TOO_LARGE, "context: buffers for a batch of %lld overflow size_t",
                       (long long)r->sh.n_batch);
    if (r->linear) {
        st = linear_state_bytes(r, &mem->kv_bytes, err);
        if (st != LC_OK) return st;
    } else {
        dn_plan dp;
        if ((st = plan_dn(m, r, &dp, err)) != LC_OK) return st;
        const int32_t n_main = r->sh.n_layers - (r->rings ? r->n_window_layers : 0) - dp.n_layers;
        size_t ring = 0;
        if (!lc_kv_cache_bytes(r->policy.policy, r->policy.no_storage ? 0 : n_main, r->sh.n_kv_heads, r->sh.head_dim,
                               r->sh.n_ctx, r->k_type, r->v_type, &mem->kv_bytes) ||
            (r->rings && !lc_kv_wring_bytes(r->n_window_layers, r->sh.n_kv_heads, r->sh.head_dim, r->window,
                                            r->sh.n_batch, r->k_type, r->v_type, &ring)) ||
            !lc_add_size(mem->kv_bytes, ring, &mem->kv_bytes) ||
            !lc_add_size(mem->kv_bytes, dp.state_bytes, &mem->kv_bytes))
            return lc_fail(err, LC_ERR_TOO_LARGE, "context: a KV cache of %lld tokens overflows size_t",
                           (long long)r->sh.n_ctx);
        mem->state_bytes = dp.state_bytes;
        mem->ring_bytes = ring;
        /* DeltaNet / gated-attention buffers and scratch: their own
         * allocation, counted with the workspace */
        if (dp.buf_floats > (SIZE_MAX - dp.ws_bytes - 128) / sizeof(float))
            return lc_fail(err, LC_ERR_TOO_LARGE, "context: DeltaNet buffers overflow size_t");
        plan->dn_bytes = ((dp.buf_floats * sizeof(float) + 63) & ~(size_t)63) + dp.ws_bytes;
        plan->dn_buf_floats = dp.buf_floats;
        if (!lc_add_size(plan->total, plan->dn_bytes, &plan->total))
            return lc_fail(err, LC_ERR_TOO_LARGE, "context: buffers overflow size_t");
    }
    mem->activation_bytes = plan->activation_bytes;
    mem->workspace_bytes = plan->total - plan->activation_bytes;
    mem->rope_bytes = (size_t)r->rope_table * (size_t)r->rope.n_dims * sizeof(float);
    size_t t = 0;
    if (!lc_add_size(mem->kv_bytes, plan->total, &t) || !lc_add_size(t, mem->rope_bytes, &mem->total_bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "context: total size overflows size_t");
    mem->n_ctx = r->sh.n_ctx;
    mem->n_batch = r->sh.n_batch;
    return LC_OK;
}

lc_status lc_context_memory_need(const lc_model *m, const lc_context_opts *o, lc_context_memory *mem, lc_error *err) {
    if (!mem) return lc_fail(err, LC_ERR_INVALID_ARG, "context: NULL memory report");
    resolved r;
    slab_plan plan;
    lc_status st = resolve(m, o, &r, err);
    if (st != LC_OK) return st;
    return compute_memory(m, &r, mem, &plan, err);
}

/* ---- Creation ---------------------------------------------------------------------- */

static double matrix_bytes(const lc_tensor *t) {
    size_t rb = 0;
    lc_dtype_row_bytes(t->type, t->cols, &rb, NULL);
    return (double)rb * (double)t->rows;
}

lc_status lc_context_create(const lc_model *m, const lc_context_opts *o, lc_context **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "context: NULL output");
    *out = NULL;
    resolved r;
    slab_plan plan;
    lc_context_memory mem;
    lc_status st = resolve(m, o, &r, err);
    if (st == LC_OK) st = compute_memory(m, &r, &mem, &plan, err);
    if (st != LC_OK) return st;

    size_t avail = lc_mem_available_bytes();
    if (avail && mem.total_bytes > avail) {
        char need[32], kv[32], have[32];
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "context of %lld tokens needs %s (%s of it the %s cache) but only %s is available; "
                       "lower -c%s",
                       (long long)r.sh.n_ctx, lc_format_bytes((double)mem.total_bytes, need, sizeof need),
                       lc_format_bytes((double)mem.kv_bytes, kv, sizeof kv), r.linear ? "linear-state" : "KV",
                       lc_format_bytes((double)avail, have, sizeof have),
                       r.k_type == LC_DTYPE_F32 || r.v_type == LC_DTYPE_F32 ? " or use -ctk/-ctv f16" : "");
    }

    lc_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
    ctx->model = m;
    ctx->sh = r.sh;
    ctx->n_batch_asked = r.n_batch_asked;
    ctx->norm_eps = m->cfg.norm_eps;
    lc_kernel_opts_init(&ctx->kopts);
    ctx->kopts.n_threads = r.sh.n_threads;
    ctx->kopts.force_scalar = r.force_scalar;
    ctx->attn = r.attn;
    ctx->attn_ring = r.attn_ring;
    ctx->linear = r.linear;
    ctx->rope_cfg = r.rope;

    ctx->slab = lc_malloc_aligned(plan.total - plan.dn_bytes);
    if (!ctx->slab) {
        char need[32];
        lc_context_free(ctx);
        return lc_fail(err, LC_ERR_NOMEM, "context: cannot allocate %s of buffers",
                       lc_format_bytes((double)plan.total, need, sizeof need));
    }
    char *s = (char *)ctx->slab;
    ctx->norms = (float *)(s + plan.norms);
    ctx->x = (float *)(s + plan.x);
    ctx->xb = (float *)(s + plan.xb);
    ctx->q = (float *)(s + plan.q);
    ctx->k = (float *)(s + plan.k);
    ctx->v = (float *)(s + plan.v);
    ctx->att = (float *)(s + plan.att);
    ctx->hb = (float *)(s + plan.hb);
    ctx->hb2 = (float *)(s + plan.hb2);
    ctx->qkv = (float *)(s + plan.qkv);
    ctx->logits = (float *)(s + plan.logits);
    ctx->att2 = (float *)(s + plan.att2);
    ctx->q2 = (float *)(s + plan.q2);
    ctx->lse = (float *)(s + plan.lse);
    ctx->lse2 = (float *)(s + plan.lse2);
    ctx->mm_ws = s + plan.mm_ws;
    ctx->mm_ws_bytes = plan.attn_ws - plan.mm_ws;
    ctx->attn_ws = s + plan.attn_ws;
    ctx->attn_ws_bytes = plan.moe_ws - plan.attn_ws;
    ctx->moe_y = (float *)(s + plan.moe_y);
    ctx->moe_ws = s + plan.moe_ws;
    ctx->moe_ws_bytes = plan.total - plan.dn_bytes - plan.moe_ws;
    if (plan.dn_bytes) {
        ctx->dn_mem = lc_malloc_aligned(plan.dn_bytes);
        if (!ctx->dn_mem) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
    }
    if (ctx->dn_mem) {
        const lc_family *f = &m->cfg.fam;
        const size_t B = (size_t)r.sh.n_batch;
        float *cur = ctx->dn_mem;
        if (f->flags & LC_ARCH_ATTN_GATE) {
            ctx->qg = cur;
            cur += B * 2 * (size_t)r.sh.q_dim;
            ctx->gate = cur;
            cur += B * (size_t)r.sh.q_dim;
        }
        if (f->flags & LC_ARCH_DELTANET) {
            const size_t HV = (size_t)f->ssm_n_v_heads, VD = HV * (size_t)f->ssm_d_v;
            const size_t CH = 2 * (size_t)f->ssm_n_k_heads * (size_t)f->ssm_d_k + VD;
            ctx->dn_mixed = cur;
            cur += B * CH;
            ctx->dn_z = cur;
            cur += B * VD;
            ctx->dn_ba = cur;
            cur += B * 2 * HV;
            ctx->dn_b = cur;
            cur += B * HV;
            ctx->dn_a = cur;
            cur += B * HV;
            ctx->dn_out = cur;
        }
        const size_t used = (plan.dn_buf_floats * sizeof(float) + 63) & ~(size_t)63;
        ctx->dn_ws = (char *)ctx->dn_mem + used;
        ctx->dn_ws_bytes = plan.dn_bytes - used;
    }
    if (st == LC_OK && (m->cfg.fam.flags & LC_ARCH_DELTANET)) {
        lc_deltanet_params_init(&ctx->dn_params);
        ctx->dn_params.n_threads = r.sh.n_threads;
        ctx->dn_params.force_scalar = r.force_scalar;
        ctx->dn = calloc((size_t)r.sh.n_layers, sizeof *ctx->dn);
        ctx->dn_layer = calloc((size_t)r.sh.n_layers, sizeof *ctx->dn_layer);
        if (!ctx->dn || !ctx->dn_layer) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
        for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++) {
            if (lc_model_layer_kind(&m->cfg, l) != LC_LAYER_DELTANET) continue;
            dn_desc(&m->cfg, &m->w.layers[l], &ctx->dn_layer[l]);
            st = lc_deltanet_state_create(&ctx->dn_layer[l].shape, ctx->dn_layer[l].conv_kernel, &ctx->dn[l], err);
            ctx->n_dn_layers++;
        }
    }
    if (m->cfg.fam.flags & LC_ARCH_MOE) {
        ctx->moe = calloc((size_t)r.sh.n_layers, sizeof *ctx->moe);
        if (!ctx->moe) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
        for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++)
            st = lc_rt_moe_layer(&m->cfg, &m->w.layers[l], &ctx->moe[l], err);
    }

    /* Norm weights as f32 (any stored type). */
    const int64_t D = r.sh.dim;
    for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++) {
        st = lc_row_to_f32(m->w.layers[l].attn_norm.type, m->w.layers[l].attn_norm.data, ctx->norms + (2 * l) * D, D,
                           err);
        if (st == LC_OK)
            st = lc_row_to_f32(m->w.layers[l].ffn_norm.type, m->w.layers[l].ffn_norm.data,
                               ctx->norms + (2 * l + 1) * D, D, err);
    }
    if (st == LC_OK)
        st = lc_row_to_f32(m->w.output_norm.type, m->w.output_norm.data, ctx->norms + 2 * r.sh.n_layers * D, D, err);

    if (st == LC_OK) st = lc_rope_cache_create(&ctx->rope_cfg, r.rope_table, &ctx->rope, err);
    ctx->window = r.window;
    ctx->attn_window = r.attn_window;
    ctx->attn_ring_window = r.attn_ring_window;
    ctx->rope_window_cfg = r.rope_window;
    if (st == LC_OK && r.rope_window_own)
        st = lc_rope_cache_create(&ctx->rope_window_cfg, r.rope_table, &ctx->rope_window, err);
    if (st == LC_OK) {
        ctx->layer_kind = calloc((size_t)r.sh.n_layers, 1);
        if (!ctx->layer_kind) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
        lc_model_config kc = m->cfg;
        kc.fam.window = r.window;
        kc.fam.window_period = r.window_period;
        for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++)
            ctx->layer_kind[l] = (uint8_t)lc_model_layer_kind(&kc, l);
    }
    if (st == LC_OK && r.linear) {
        ctx->lin = calloc((size_t)r.sh.n_layers, sizeof *ctx->lin);
        if (!ctx->lin) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
        for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++)
            st = lc_linear_state_create(r.sh.n_heads, r.sh.n_kv_heads, r.sh.head_dim, &ctx->attn, &ctx->lin[l], err);
    } else if (st == LC_OK) {
        const int32_t n_main = r.sh.n_layers - (r.rings ? r.n_window_layers : 0) - ctx->n_dn_layers;
        st = lc_kv_cache_init(&ctx->kv, &r.policy, n_main, r.sh.n_kv_heads, r.sh.head_dim, r.sh.n_ctx, r.sh.n_batch,
                              r.k_type, r.v_type, ctx->rope, &ctx->kopts, err);
        if (st == LC_OK && r.rings)
            st = lc_kv_wring_init(&ctx->wring, r.n_window_layers, r.sh.n_kv_heads, r.sh.head_dim, r.window,
                                  r.sh.n_batch, r.k_type, r.v_type, err);
    }
    if (st == LC_OK) {
        ctx->kv_index = calloc((size_t)(uint32_t)r.sh.n_layers, sizeof *ctx->kv_index);
        if (!ctx->kv_index) st = lc_fail(err, LC_ERR_NOMEM, "context: out of memory");
        int32_t n_main = 0, n_ring = 0;
        for (int l = 0; l < r.sh.n_layers && st == LC_OK; l++)
            ctx->kv_index[l] = ctx->layer_kind[l] == LC_LAYER_DELTANET                 ? -1
                               : r.rings && ctx->layer_kind[l] == LC_LAYER_WINDOW ? n_ring++
                                                                                  : n_main++;
    }
    if (st != LC_OK) {
        lc_context_free(ctx);
        return st;
    }
    /* The kv cache records the types even for linear contexts (reported by accessors). */
    ctx->kv.k_type = r.k_type;
    ctx->kv.v_type = r.v_type;

    double wb = matrix_bytes(&m->w.output);
    for (int l = 0; l < r.sh.n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        wb += matrix_bytes(&L->wq) + matrix_bytes(&L->wk) + matrix_bytes(&L->wv) + matrix_bytes(&L->wo) +
              matrix_bytes(&L->w_gate) + matrix_bytes(&L->w_up) + matrix_bytes(&L->w_down) + matrix_bytes(&L->wqkv);
        if (m->cfg.fam.flags & LC_ARCH_MOE) /* the router, k of E experts, the shared one */
            wb += matrix_bytes(&L->router) + matrix_bytes(&L->gate_shexp) + matrix_bytes(&L->up_shexp) +
                  matrix_bytes(&L->down_shexp) +
                  (matrix_bytes(&L->gate_exps) + matrix_bytes(&L->up_exps) + matrix_bytes(&L->down_exps)) *
                      m->cfg.fam.n_experts_used / m->cfg.fam.n_experts;
    }
    ctx->weight_bytes_per_pass = wb;
    *out = ctx;
    return LC_OK;
}

void lc_context_free(lc_context *ctx) {
    if (!ctx) return;
    if (ctx->lin) {
        for (int l = 0; l < ctx->sh.n_layers; l++) lc_linear_state_free(ctx->lin[l]);
        free(ctx->lin);
    }
    lc_kv_cache_free(&ctx->kv);
    lc_kv_wring_free(&ctx->wring);
    free(ctx->kv_index);
    lc_rope_cache_free(ctx->rope);
    lc_rope_cache_free(ctx->rope_window);
    free(ctx->layer_kind);
    free(ctx->moe);
    if (ctx->dn)
        for (int l = 0; l < ctx->sh.n_layers; l++) lc_deltanet_state_free(ctx->dn[l]);
    free(ctx->dn);
    free(ctx->dn_layer);
    lc_free_aligned(ctx->dn_mem);
    lc_free_aligned(ctx->slab);
    free(ctx);
}

void lc_context_reset(lc_context *ctx) {
    if (!ctx) return;
    if (ctx->linear) {
        for (int l = 0; l < ctx->sh.n_layers; l++) lc_linear_state_reset(ctx->lin[l]);
        ctx->n_past_linear = 0;
    } else {
        lc_kv_cache_clear(&ctx->kv);
        if (ctx->wring.n_layers) lc_kv_wring_clear(&ctx->wring);
        if (ctx->dn)
            for (int l = 0; l < ctx->sh.n_layers; l++)
                if (ctx->dn[l]) lc_deltanet_state_reset(ctx->dn[l]);
    }
    ctx->have_logits = false;
}

/* lc_context_truncate where the state cannot be cut back: reset and evaluate
 * the first n_keep tokens again (their ids are in the cache's slots). */
static lc_status truncate_by_recompute(lc_context *ctx, int64_t n_keep, lc_error *err) {
    const lc_kv_cache *c = &ctx->kv;
    if (c->n_seen != c->n_used || c->n_discarded > 0 || !c->tok)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "truncate: the %s cannot forget tokens and the KV cache no longer holds the whole history to "
                       "evaluate the kept tokens again (%lld of %lld tokens held)",
                       ctx->n_dn_layers ? "Gated DeltaNet layers' recurrent state" : "window layers' rings",
                       (long long)c->n_used, (long long)c->n_seen);
    int32_t *ids = malloc((size_t)n_keep * sizeof *ids);
    if (!ids) return lc_fail(err, LC_ERR_NOMEM, "truncate: out of memory");
    for (int64_t i = 0; i < n_keep; i++) ids[i] = c->tok[i];
    lc_context_reset(ctx);
    lc_status st = lc_context_eval(ctx, ids, n_keep, NULL, false, err);
    free(ids);
    if (st != LC_OK) lc_context_reset(ctx);
    return st;
}

lc_status lc_context_truncate(lc_context *ctx, int64_t n_keep, lc_error *err) {
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "truncate: NULL context");
    const int64_t n_past = lc_context_n_past(ctx);
    if (n_keep < 0 || n_keep > n_past)
        return lc_fail(err, LC_ERR_INVALID_ARG, "truncate: cannot keep %lld of %lld tokens", (long long)n_keep,
                       (long long)n_past);
    if (n_keep == n_past) return LC_OK;
    if (n_keep == 0) {
        lc_context_reset(ctx);
        return LC_OK;
    }
    if (ctx->linear)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "truncate: a LINEAR-attention state cannot forget tokens");
    if ((ctx->kv.policy != LC_KV_POLICY_FULL && ctx->kv.policy != LC_KV_POLICY_SHIFT) || !ctx->kv.in_order)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "truncate: the KV cache is not in position order");
    /* A recurrent (Gated DeltaNet) state cannot forget tokens, and window
     * layers' rings may have overwritten keys the kept tokens need: then the
     * kept tokens are evaluated again from the cache's own token ids, which
     * gives exactly the context a fresh evaluation of them would. That needs
     * the cache to hold the whole history (nothing shifted out). */
    const bool cut = !ctx->n_dn_layers &&
                     (!ctx->wring.n_layers ||
                      (ctx->kv.n_discarded == 0 && lc_kv_wring_truncate(&ctx->wring, n_keep))); /* shifted rings: no */
    if (!cut) return truncate_by_recompute(ctx, n_keep, err);
    lc_kv_cache_truncate(&ctx->kv, n_keep);
    ctx->have_logits = false;
    return LC_OK;
}

void lc_context_set_attn_observer(lc_context *ctx, lc_attn_observer_fn fn, void *user) {
    if (!ctx) return;
    ctx->observer = fn;
    ctx->observer_user = user;
}

void lc_context_set_layer_pause(lc_context *ctx, lc_layer_pause_fn fn, void *user) {
    if (!ctx) return;
    ctx->pause = fn;
    ctx->pause_user = user;
}

lc_status lc_context_set_attn_hook(lc_context *ctx, lc_attn_hook_fn fn, void *user, lc_error *err) {
    if (!ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "attention hook: no context");
    if (fn) {
        if (ctx->linear || ctx->kv.policy != LC_KV_POLICY_FULL)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "attention hook: needs softmax attention under the full KV policy");
        for (int32_t l = 0; l < ctx->sh.n_layers; l++)
            if (ctx->layer_kind[l] == LC_LAYER_WINDOW)
                return lc_fail(err, LC_ERR_UNSUPPORTED, "attention hook: layer %d is a window layer", (int)l);
    }
    ctx->attn_hook = fn;
    ctx->attn_hook_user = user;
    return LC_OK;
}

int64_t lc_context_n_past(const lc_context *ctx) { return ctx->linear ? ctx->n_past_linear : ctx->kv.n_used; }
int64_t lc_context_n_ctx(const lc_context *ctx) { return ctx->sh.n_ctx; }
int64_t lc_context_n_batch(const lc_context *ctx) { return ctx->sh.n_batch; }
int lc_context_n_threads(const lc_context *ctx) { return ctx->sh.n_threads; }
double lc_context_weight_bytes(const lc_context *ctx) { return ctx ? ctx->weight_bytes_per_pass : 0.0; }
const lc_model *lc_context_model(const lc_context *ctx) { return ctx->model; }
const lc_attn_params *lc_context_attn(const lc_context *ctx) { return &ctx->attn; }
const lc_rope_config *lc_context_rope(const lc_context *ctx) { return &ctx->rope_cfg; }
lc_dtype lc_context_k_type(const lc_context *ctx) { return ctx->kv.k_type; }
lc_dtype lc_context_v_type(const lc_context *ctx) { return ctx->kv.v_type; }
const float *lc_context_logits(const lc_context *ctx) { return ctx->have_logits ? ctx->logits : NULL; }

void lc_context_get_timings(const lc_context *ctx, lc_context_timings *t) { *t = ctx->tm; }
void lc_context_reset_timings(lc_context *ctx) { memset(&ctx->tm, 0, sizeof ctx->tm); }

int64_t lc_context_n_seen(const lc_context *ctx) { return ctx->linear ? ctx->n_past_linear : ctx->kv.n_seen; }

void lc_context_kv_stats(const lc_context *ctx, lc_kv_stats *st) {
    memset(st, 0, sizeof *st);
    const lc_kv_cache *c = &ctx->kv;
    st->k_type = c->k_type;
    st->v_type = c->v_type;
    if (ctx->linear) {
        st->n_seen = st->next_pos = ctx->n_past_linear;
        return;
    }
    st->policy = c->policy;
    st->n_sinks = c->n_sinks;
    st->window = c->window;
    st->n_keep = c->n_keep;
    st->n_heavy = c->n_heavy;
    st->n_slots = c->n_slots;
    st->n_used = c->n_used;
    st->n_visible = lc_kv_cache_n_visible(c);
    st->n_seen = c->n_seen;
    st->next_pos = c->next_pos;
    st->n_evicted = c->policy == LC_KV_POLICY_SHIFT ? c->n_discarded : LC_MAX(0, c->n_seen - c->n_used);
    st->n_shifts = c->n_shifts;
    st->bytes = (c->k_row_bytes + c->v_row_bytes) * (size_t)c->n_slots * (size_t)c->n_layers;
    st->bytes_per_token = lc_model_kv_bytes_per_token(&ctx->model->cfg, c->k_type, c->v_type);
}

const char *lc_context_kv_describe(const lc_context *ctx, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    const lc_kv_cache *c = &ctx->kv;
    if (ctx->linear) {
        snprintf(buf, len, "none (linear attention state)");
        return buf;
    }
    char spec[96];
    switch (c->policy) {
    case LC_KV_POLICY_WINDOW: snprintf(spec, sizeof spec, "window:%lld", (long long)c->window); break;
    case LC_KV_POLICY_SINKS:
        snprintf(spec, sizeof spec, "sinks:%lld:%lld", (long long)c->n_sinks, (long long)c->window);
        break;
    case LC_KV_POLICY_SHIFT: snprintf(spec, sizeof spec, "shift:%lld", (long long)c->n_keep); break;
    case LC_KV_POLICY_H2O:
        snprintf(spec, sizeof spec, "h2o:%lld:%lld:%lld", (long long)c->n_sinks, (long long)c->window,
                 (long long)c->n_heavy);
        break;
    default: snprintf(spec, sizeof spec, "full"); break;
    }
    snprintf(buf, len, "%s (%lld slots, %s/%s)", spec, (long long)c->n_slots, lc_dtype_name(c->k_type),
             lc_dtype_name(c->v_type));
    return buf;
}

const char *lc_context_describe(const lc_context *ctx, char *buf, size_t len) {
    if (!buf || len == 0) return buf;
    snprintf(buf, len, "ctx %lld, batch %lld, %d threads, attn %s, kv %s/%s", (long long)lc_context_n_ctx(ctx),
             (long long)lc_context_n_batch(ctx), lc_context_n_threads(ctx),
             lc_attn_method_name(lc_context_attn(ctx)->method), lc_dtype_name(lc_context_k_type(ctx)),
             lc_dtype_name(lc_context_v_type(ctx)));
    return buf;
}

static int pos_tok_cmp(const void *pa, const void *pb) {
    const int64_t *a = pa, *b = pb;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

int64_t lc_context_kv_tokens(const lc_context *ctx, int32_t *ids, int64_t *pos, int64_t cap) {
    const lc_kv_cache *c = &ctx->kv;
    if (ctx->linear || !c->pos) return 0;
    const int64_t n = c->n_used;
    if (cap <= 0 || (!ids && !pos)) return n;
    /* (position, token) pairs of the occupied slots, sorted by position */
    int64_t *pairs = malloc((size_t)LC_MAX(n, 1) * 2 * sizeof(int64_t));
    if (!pairs) return -1;
    int64_t k = 0;
    for (int64_t s = 0; s < c->n_slots && k < n; s++)
        if (c->pos[s] >= 0) {
            pairs[2 * k] = lc_kv_cache_slot_pos(c, s);
            pairs[2 * k + 1] = c->tok[s];
            k++;
        }
    qsort(pairs, (size_t)k, 2 * sizeof(int64_t), pos_tok_cmp);
    for (int64_t i = 0; i < k && i < cap; i++) {
        if (ids) ids[i] = (int32_t)pairs[2 * i + 1];
        if (pos) pos[i] = pairs[2 * i];
    }
    free(pairs);
    return k;
}

lc_attn_shape lc_rt_attn_shape(const lc_context *ctx, int64_t n_q, int64_t n_kv) {
    return attn_shape(&ctx->sh, ctx->kv.k_type, ctx->kv.v_type, n_q, n_kv);
}
