/*
 * Quantization specs and llama.cpp's per-tensor type rules (the subset of
 * llama_tensor_get_type that concerns the types longctx writes); the rules
 * themselves are listed in include/longctx/quant.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "longctx/quant.h"
#include "quant/quant.h"

/* llama.cpp's LLAMA_FTYPE_* values (general.file_type). */
enum {
    FT_ALL_F32 = 0,
    FT_F16 = 1,
    FT_Q4_0 = 2,
    FT_Q4_1 = 3,
    FT_Q8_0 = 7,
    FT_Q5_0 = 8,
    FT_Q5_1 = 9,
    FT_Q4_K_M = 15,
    FT_Q5_K_M = 17,
    FT_Q6_K = 18,
    FT_BF16 = 32
};

static const struct {
    const char *name;
    lc_dtype base;
    bool k_m, pure;
    uint32_t file_type;
} specs[] = {
    {"F32", LC_DTYPE_F32, false, true, FT_ALL_F32},   {"F16", LC_DTYPE_F16, false, true, FT_F16},
    {"BF16", LC_DTYPE_BF16, false, true, FT_BF16},    {"Q8_0", LC_DTYPE_Q8_0, false, false, FT_Q8_0},
    {"Q4_0", LC_DTYPE_Q4_0, false, false, FT_Q4_0},   {"Q4_1", LC_DTYPE_Q4_1, false, false, FT_Q4_1},
    {"Q5_0", LC_DTYPE_Q5_0, false, false, FT_Q5_0},   {"Q5_1", LC_DTYPE_Q5_1, false, false, FT_Q5_1},
    {"Q6_K", LC_DTYPE_Q6_K, false, false, FT_Q6_K},   {"Q4_K_M", LC_DTYPE_Q4_K, true, false, FT_Q4_K_M},
    {"Q5_K_M", LC_DTYPE_Q5_K, true, false, FT_Q5_K_M},
};

static void fill(int i, lc_quant_spec *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", specs[i].name);
    out->base = specs[i].base;
    out->k_m = specs[i].k_m;
    out->pure = specs[i].pure;
    out->file_type = specs[i].file_type;
}

lc_status lc_quant_spec_parse(const char *s, lc_quant_spec *out, lc_error *err) {
    if (!s || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "quantize: NULL type");
    /* llama-quantize's aliases: Q4_K and Q5_K mean the _M mixes. */
    const char *name = strcasecmp(s, "Q4_K") == 0 ? "Q4_K_M" : strcasecmp(s, "Q5_K") == 0 ? "Q5_K_M" : s;
    for (size_t i = 0; i < LC_ARRAY_LEN(specs); i++) {
        if (strcasecmp(name, specs[i].name) == 0) {
            fill((int)i, out);
            return LC_OK;
        }
    }
    lc_dtype t;
    if (lc_dtype_parse(s, &t))
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "quantization type: longctx reads %s weights but does not write them (it writes Q4_0, Q4_1, Q5_0, Q5_1, "
                       "Q8_0, Q4_K_M (= Q4_K), Q5_K_M (= Q5_K), Q6_K, F16, BF16, F32)",
                       lc_dtype_name(t));
    return lc_fail(err, LC_ERR_INVALID_ARG,
                   "quantization type: unknown type '%.40s' (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_M (= Q4_K), Q5_K_M (= Q5_K), "
                   "Q6_K, F16, BF16, F32)",
                   s);
}

static bool writable(lc_dtype t) {
    if (t == LC_DTYPE_F32 || t == LC_DTYPE_F16 || t == LC_DTYPE_BF16) return true;
    const lc_quant_traits *q = lc_quant_traits_of(t);
    return q && q->from_f32;
}

bool lc_quant_spec_pure(lc_dtype t, lc_quant_spec *out) {
    if (!writable(t)) return false;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", lc_dtype_name(t));
    out->base = t;
    out->pure = true;
    out->file_type = FT_ALL_F32;
    for (size_t i = 0; i < LC_ARRAY_LEN(specs); i++)
        if (specs[i].base == t && !specs[i].k_m) out->file_type = specs[i].file_type;
    if (t == LC_DTYPE_Q4_K) out->file_type = FT_Q4_K_M; /* llama.cpp has no "pure" file type */
    if (t == LC_DTYPE_Q5_K) out->file_type = FT_Q5_K_M;
    return true;
}

void lc_quant_plan_init(lc_quant_plan *p, int64_t n_attn_v, int64_t n_layers, bool has_output) {
    memset(p, 0, sizeof *p);
    p->n_attn_v = n_attn_v;
    p->n_ffn_down = n_layers;
    p->has_output = has_output;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool lc_quant_tensor_is_weight(const char *name, uint32_t n_dims) {
    if (!name || n_dims < 2 || !ends_with(name, "weight")) return false;
    static const char *const never[] = {"_norm.weight",         "ffn_gate_inp.weight", "ssm_conv1d.weight",
                                        "shortconv.conv.weight", "attn_rel_b.weight",   "time_mix_"};
    for (size_t i = 0; i < LC_ARRAY_LEN(never); i++)
        if (strstr(name, never[i])) return false;
    return strcmp(name, "position_embd.weight") != 0 && strcmp(name, "token_types.weight") != 0;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and
 * every third one in between. */
static bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* The type for rows of ne0 columns that t cannot hold (llama.cpp's
 * incompatible-shape fallbacks, then F16). */
static lc_dtype fit_rows(lc_dtype t, int64_t ne0, bool *fallback) {
    if (ne0 % lc_dtype_block(t) == 0) return t;
    if (fallback) *fallback = true;
    switch (t) {
    case LC_DTYPE_Q4_K: t = LC_DTYPE_Q5_0; break;
    case LC_DTYPE_Q5_K: t = LC_DTYPE_Q5_1; break;
    case LC_DTYPE_Q6_K: t = LC_DTYPE_Q8_0; break;
    default: break;
    }
    return ne0 % lc_dtype_block(t) == 0 ? t : LC_DTYPE_F16;
}

lc_dtype lc_quant_choose(const lc_quant_spec *s, lc_quant_plan *p, const char *name, uint32_t n_dims, int64_t ne0,
                         lc_dtype src_type, bool *fallback) {
    if (fallback) *fallback = false;
    if (!lc_quant_tensor_is_weight(name, n_dims)) return src_type;
    lc_dtype t = s->base;
    const bool is_attn_v = strstr(name, "attn_v.weight") != NULL, is_ffn_down = strstr(name, "ffn_down") != NULL;
    const bool is_qkv = strstr(name, "attn_qkv.weight") != NULL;
    if (!s->pure) {
        const bool classifier =
            strcmp(name, "output.weight") == 0 || (!p->has_output && strcmp(name, "token_embd.weight") == 0);
        if (classifier) {
            if (ne0 % lc_dtype_block(t) != 0) t = LC_DTYPE_Q8_0;
            else if (t != LC_DTYPE_Q8_0) t = LC_DTYPE_Q6_K;
        } else if (s->k_m && is_attn_v && use_more_bits(p->i_attn_v, p->n_attn_v)) {
            t = LC_DTYPE_Q6_K;
        } else if (s->k_m && is_qkv) {
            t = s->base == LC_DTYPE_Q4_K ? LC_DTYPE_Q5_K : LC_DTYPE_Q6_K; /* fused q/k/v: one step up */
        } else if (s->k_m && is_ffn_down) {
            /* llama.cpp's layer_info: the layer of "blk.N." where the name
             * has one (MoE), else the count of ffn_down tensors so far. */
            int layer = -1, used = 0;
            int64_t i = sscanf(name, "blk.%d.%n", &layer, &used) == 1 && used > 0 && layer >= 0 ? layer
                                                                                                : p->i_ffn_down;
            if (use_more_bits(i, p->n_ffn_down)) t = LC_DTYPE_Q6_K;
        }
    }
    if (is_attn_v) p->i_attn_v++;
    if (is_ffn_down) p->i_ffn_down++;
    return fit_rows(t, ne0, fallback);
}
