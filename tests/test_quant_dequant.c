/*
 * Quantized block types: the traits table, the scalar reference
 * dequantization and the reference quantizers.
 *
 * Always: the tables agree with each other (lc_dtype, GGUF type ids, block
 * sizes); every type's dequantization of random blocks equals an element-wise
 * re-statement of the layout written independently below; quantize then
 * dequantize stays within the type's error; activation blocks.
 * With ../shared: ggml's quantized tensors of
 * shared/fixtures/quants/dequant_oracle/ dequantize BIT FOR BIT to ggml's own
 * output, and our quantizers reproduce ggml's quantized bytes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/gguf.h"
#include "quant/quant.h"
#include "test_quant_util.h"
#include "test_util.h"

static const lc_dtype block_types[] = {LC_DTYPE_Q8_0, LC_DTYPE_Q4_0, LC_DTYPE_Q4_1, LC_DTYPE_Q5_0, LC_DTYPE_Q5_1,
                                       LC_DTYPE_Q2_K, LC_DTYPE_Q3_K, LC_DTYPE_Q4_K, LC_DTYPE_Q5_K, LC_DTYPE_Q6_K,
                                       LC_DTYPE_IQ4_NL, LC_DTYPE_IQ4_XS, LC_DTYPE_MXFP4};

/* ---- Tables ---------------------------------------------------------------- */

static void test_tables(void) {
    static const struct {
        lc_dtype t;
        const char *name;
        int block, bytes;
        uint32_t ggml;
        lc_quant_act act;
    } want[] = {
        {LC_DTYPE_Q8_0, "q8_0", 32, 34, 8, LC_QACT_Q8_0},      {LC_DTYPE_Q4_0, "q4_0", 32, 18, 2, LC_QACT_Q8_0},
        {LC_DTYPE_Q4_1, "q4_1", 32, 20, 3, LC_QACT_Q8_1},      {LC_DTYPE_Q5_0, "q5_0", 32, 22, 6, LC_QACT_Q8_0},
        {LC_DTYPE_Q5_1, "q5_1", 32, 24, 7, LC_QACT_Q8_1},      {LC_DTYPE_Q2_K, "q2_K", 256, 84, 10, LC_QACT_Q8_K},
        {LC_DTYPE_Q3_K, "q3_K", 256, 110, 11, LC_QACT_Q8_K},   {LC_DTYPE_Q4_K, "q4_K", 256, 144, 12, LC_QACT_Q8_K},
        {LC_DTYPE_Q5_K, "q5_K", 256, 176, 13, LC_QACT_Q8_K},   {LC_DTYPE_Q6_K, "q6_K", 256, 210, 14, LC_QACT_Q8_K},
        {LC_DTYPE_IQ4_NL, "iq4_nl", 32, 18, 20, LC_QACT_Q8_0}, {LC_DTYPE_IQ4_XS, "iq4_xs", 256, 136, 23, LC_QACT_Q8_K},
        {LC_DTYPE_MXFP4, "mxfp4", 32, 17, 39, LC_QACT_Q8_0},
    };
    CHECK(LC_ARRAY_LEN(want) == LC_ARRAY_LEN(block_types), "every block type listed");
    for (size_t i = 0; i < LC_ARRAY_LEN(want); i++) {
        const lc_quant_traits *q = lc_quant_traits_of(want[i].t);
        CHECK(q != NULL, "%s has traits", want[i].name);
        if (!q) continue;
        CHECK(q->type == want[i].t && strcmp(q->name, want[i].name) == 0, "%s entry", want[i].name);
        CHECK(q->block == want[i].block && q->block_bytes == want[i].bytes, "%s: %d / %d", q->name, q->block,
              q->block_bytes);
        CHECK(q->ggml_type == want[i].ggml && q->act == want[i].act, "%s ggml id / act", q->name);
        CHECK(q->to_f32 != NULL, "%s has a dequantizer", q->name);
        CHECK(strcmp(lc_dtype_name(want[i].t), want[i].name) == 0, "%s name", q->name);
        CHECK(lc_dtype_block(want[i].t) == want[i].block, "%s lc_dtype_block", q->name);
        lc_dtype t;
        CHECK(lc_dtype_parse(want[i].name, &t) && t == want[i].t, "parse %s", want[i].name);
        char upper[16];
        snprintf(upper, sizeof upper, "%s", want[i].name);
        for (char *p = upper; *p; p++)
            if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        CHECK(lc_dtype_parse(upper, &t) && t == want[i].t, "parse %s", upper);
        /* GGUF side: the same id, and the reader's block table agrees. */
        CHECK(lc_gguf_dtype_from_ggml(want[i].ggml) == want[i].t, "%s from ggml id", q->name);
        CHECK(lc_gguf_ggml_from_dtype(want[i].t) == want[i].ggml, "%s to ggml id", q->name);
        int64_t blk;
        size_t bb;
        CHECK(lc_gguf_ggml_type_size(want[i].ggml, &blk, &bb) && blk == want[i].block && (int)bb == want[i].bytes,
              "%s gguf table", q->name);
        CHECK(strcmp(lc_gguf_ggml_type_name(want[i].ggml), want[i].name) == 0, "%s gguf name", q->name);
        /* Row sizes: whole blocks only. */
        lc_error err;
        size_t rb;
        CHECK_OK(lc_dtype_row_bytes(want[i].t, 4 * want[i].block, &rb, &err), &err);
        CHECK(rb == (size_t)(4 * want[i].bytes), "%s row bytes %zu", q->name, rb);
        CHECK(lc_dtype_row_bytes(want[i].t, want[i].block + 1, &rb, &err) == LC_ERR_INVALID_ARG &&
                  strstr(err.msg, want[i].name),
              "%s partial block: %s", q->name, err.msg);
        float dst[4];
        CHECK(lc_row_to_f32(want[i].t, &dst, dst, 3, &err) == LC_ERR_INVALID_ARG, "%s row_to_f32 partial", q->name);
        CHECK(lc_quant_is_block_type(want[i].t), "%s is a block type", q->name);
    }
    CHECK(!lc_quant_is_block_type(LC_DTYPE_F32) && !lc_quant_is_block_type(LC_DTYPE_F16) &&
              !lc_quant_is_block_type(LC_DTYPE_BF16) && !lc_quant_is_block_type(LC_DTYPE_COUNT),
          "plain types have no traits");
    CHECK(lc_dtype_block(LC_DTYPE_F16) == 1 && lc_dtype_block(LC_DTYPE_COUNT) == 0, "plain block sizes");
    /* IQ1/IQ2/IQ3 and the ternary types are known to GGUF but not as weights. */
    const uint32_t refused[] = {16, 17, 18, 19, 21, 22, 29, 34, 35};
    for (size_t i = 0; i < LC_ARRAY_LEN(refused); i++)
        CHECK(lc_gguf_dtype_from_ggml(refused[i]) == LC_DTYPE_COUNT, "ggml type %u not mapped", refused[i]);
    lc_dtype t;
    CHECK(!lc_dtype_parse("q4", &t) && !lc_dtype_parse("iq2_xxs", &t) && !lc_dtype_parse("", &t), "unknown names");
}

/* ---- Element-wise re-statement of every layout ----------------------------
 * x(k) for element k of one block, computed from the block's bytes by index
 * arithmetic (not by the loops of src/quant), with the same float operation
 * order, so equality is exact. */

static float h(const uint8_t *p) { return lc_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }
static int nib(const uint8_t *qs, int k) { return k < 16 ? qs[k] & 0xF : qs[k - 16] >> 4; }
static int bit(const uint8_t *p, int i) { return (p[i / 8] >> (i % 8)) & 1; }

static float elem(lc_dtype t, const uint8_t *b, int k) {
    switch (t) {
    case LC_DTYPE_Q8_0: return h(b) * (float)(int8_t)b[2 + k];
    case LC_DTYPE_Q4_0: return (float)(nib(b + 2, k) - 8) * h(b);
    case LC_DTYPE_Q4_1: return (float)nib(b + 4, k) * h(b) + h(b + 2);
    case LC_DTYPE_Q5_0: return (float)((nib(b + 6, k) | (bit(b + 2, k) << 4)) - 16) * h(b);
    case LC_DTYPE_Q5_1: return (float)(nib(b + 8, k) | (bit(b + 4, k) << 4)) * h(b) + h(b + 2);
    case LC_DTYPE_IQ4_NL: return h(b) * (float)lc_quant_iq4nl_values[nib(b + 2, k)];
    case LC_DTYPE_MXFP4: return (float)lc_quant_mxfp4_values[nib(b + 1, k)] * ldexpf(1.0f, (int)b[0] - 128);
    case LC_DTYPE_Q2_K: case LC_DTYPE_Q3_K: {
        int half = k / 128, pair = (k % 128) / 32, within = k % 32, is = half * 8 + pair * 2 + within / 16;
        int q = (b[(t == LC_DTYPE_Q2_K ? 16 : 32) + half * 32 + within] >> (2 * pair)) & 3;
        if (t == LC_DTYPE_Q2_K) {
            int sc = b[is];
            return h(b + 80) * (float)(sc & 0xF) * (float)q - h(b + 82) * (float)(sc >> 4);
        }
        if (!((b[within] >> (half * 4 + pair)) & 1)) q -= 4;
        const uint8_t *s = b + 96;
        int lo = is < 8 ? s[is] & 0xF : s[is - 8] >> 4, hi = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
        return h(b + 108) * (float)((lo | (hi << 4)) - 32) * (float)q;
    }
    case LC_DTYPE_Q4_K: case LC_DTYPE_Q5_K: {
        int sub = k / 32, within = k % 32;
        const uint8_t *s = b + 4;
        int sc, m;
        if (sub < 4) sc = s[sub] & 63, m = s[sub + 4] & 63;
        else sc = (s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4), m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
        const uint8_t *qs = b + (t == LC_DTYPE_Q4_K ? 16 : 48);
        int byte = qs[(sub / 2) * 32 + within], q = sub % 2 ? byte >> 4 : byte & 0xF;
        if (t == LC_DTYPE_Q5_K) q += ((b[16 + within] >> sub) & 1) * 16;
        return h(b) * (float)sc * (float)q - h(b + 2) * (float)m;
    }
    case LC_DTYPE_Q6_K: {
        int half = k / 128, group = (k % 128) / 32, l = k % 32;
        const uint8_t *ql = b + half * 64, *qh = b + 128 + half * 32;
        int lo = group % 2 ? ql[l + 32] : ql[l];
        lo = group >= 2 ? lo >> 4 : lo & 0xF;
        int q = (lo | (((qh[l] >> (2 * group)) & 3) << 4)) - 32;
        int8_t sc = (int8_t)b[192 + half * 8 + l / 16 + 2 * group];
        return h(b + 208) * (float)sc * (float)q;
    }
    case LC_DTYPE_IQ4_XS: {
        int sub = k / 32, within = k % 32;
        int ls = ((b[4 + sub / 2] >> (4 * (sub % 2))) & 0xF) | (((b[2] | (b[3] << 8)) >> (2 * sub) & 3) << 4);
        return h(b) * (float)(ls - 32) * (float)lc_quant_iq4nl_values[nib(b + 8 + sub * 16, within)];
    }
    default: return NAN;
    }
}

static void test_layouts(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 11);
    for (size_t ti = 0; ti < LC_ARRAY_LEN(block_types); ti++) {
        const lc_dtype t = block_types[ti];
        const lc_quant_traits *q = lc_quant_traits_of(t);
        const int nb = 5, n = nb * q->block;
        uint8_t *raw = malloc((size_t)nb * (size_t)q->block_bytes);
        float *out = malloc((size_t)n * sizeof(float));
        int bad = 0;
        for (int rep = 0; rep < 20; rep++) {
            random_blocks(t, raw, nb, &rng);
            lc_error err;
            CHECK_OK(lc_row_to_f32(t, raw, out, n, &err), &err);
            for (int i = 0; i < n; i++) {
                float want = elem(t, raw + (size_t)(i / q->block) * (size_t)q->block_bytes, i % q->block);
                if (memcmp(&want, &out[i], sizeof want) != 0 && bad++ < 3)
                    fprintf(stderr, "  %s element %d: got %.9g, layout says %.9g\n", q->name, i, out[i], want);
            }
        }
        CHECK(bad == 0, "%s: %d elements differ from the layout", q->name, bad);
        free(raw);
        free(out);
    }
    /* A hand-made Q4_0 block: d = 0.5, qs[0] = 0x1F -> x0 = (15-8)/2, x16 = (1-8)/2. */
    lc_blk_q4_0 b4 = {lc_f32_to_f16(0.5f), {0x1F}};
    float x[32];
    lc_dequant_q4_0(&b4, x, 32);
    CHECK(x[0] == 3.5f && x[16] == -3.5f && x[1] == -4.0f, "q4_0 by hand: %g %g %g", x[0], x[16], x[1]);
    /* MXFP4: e = 127 (scale 1), nibble 7 = 6.0, nibble 15 = -6.0, nibble 1 = 0.5. */
    lc_blk_mxfp4 bm = {127, {0xF7, 0x01}};
    lc_dequant_mxfp4(&bm, x, 32);
    CHECK(x[0] == 6.0f && x[16] == -6.0f && x[1] == 0.5f && x[17] == 0.0f, "mxfp4 by hand: %g %g %g %g", x[0], x[16],
          x[1], x[17]);
}

/* ---- Quantize, then dequantize ------------------------------------------------ */

static void test_roundtrip(void) {
    /* rms error / rms of N(0, 1) data; bounds ~1.3x what these quantizers
     * measured (q8_0 .0053, q4_0 .087, q4_K .074, q5_K .037, q6_K .018,
     * q4_1 .077, q5_0 .045, q5_1 .037). */
    static const struct {
        lc_dtype t;
        double max_rel_rms;
    } types[] = {{LC_DTYPE_Q8_0, 0.007}, {LC_DTYPE_Q4_0, 0.12}, {LC_DTYPE_Q4_K, 0.10}, {LC_DTYPE_Q5_K, 0.05},
                 {LC_DTYPE_Q6_K, 0.025},
                 {LC_DTYPE_Q4_1, 0.12},  {LC_DTYPE_Q5_0, 0.06},  {LC_DTYPE_Q5_1, 0.05}};
    lc_rng rng;
    lc_rng_seed(&rng, 3);
    const int n = 4 * 256;
    float *x = malloc(n * sizeof(float)), *back = malloc(n * sizeof(float));
    uint8_t *qb = malloc((size_t)n * 2);
    for (size_t ti = 0; ti < LC_ARRAY_LEN(types); ti++) {
        const lc_quant_traits *q = lc_quant_traits_of(types[ti].t);
        CHECK(q->from_f32 != NULL, "%s has a quantizer", q->name);
        if (!q->from_f32) continue;
        for (int i = 0; i < n; i++) x[i] = lc_rng_normal(&rng);
        q->from_f32(x, qb, n);
        q->to_f32(qb, back, n);
        double se = 0, sx = 0;
        for (int i = 0; i < n; i++) se += (double)(back[i] - x[i]) * (back[i] - x[i]), sx += (double)x[i] * x[i];
        double rel = sqrt(se / sx);
        fprintf(stderr, "  %-5s round trip of N(0,1): rms error %.4f of rms\n", q->name, rel);
        CHECK(rel < types[ti].max_rel_rms, "%s round trip error %.4f >= %.4f", q->name, rel, types[ti].max_rel_rms);
        /* Awkward rows: zeros, a constant, one spike, all negative, tiny. */
        for (int kind = 0; kind < 5; kind++) {
            for (int i = 0; i < n; i++) {
                x[i] = kind == 0 ? 0.0f
                       : kind == 1 ? 0.25f
                       : kind == 2 ? (i == 77 ? 1000.0f : 0.001f * (float)(i % 7))
                       : kind == 3 ? -1.0f - 0.01f * (float)(i % 13)
                                   : 1e-30f * (float)(i % 5);
            }
            q->from_f32(x, qb, n);
            q->to_f32(qb, back, n);
            bool finite = true, zero_ok = true;
            double worst = 0, amax = 0;
            for (int i = 0; i < n; i++) {
                finite &= isfinite(back[i]) != 0;
                if (kind == 0) zero_ok &= back[i] == 0.0f;
                worst = fmax(worst, fabs(back[i] - x[i]));
                amax = fmax(amax, fabs(x[i]));
            }
            CHECK(finite && zero_ok, "%s awkward row %d: finite %d, zeros %d", q->name, kind, finite, zero_ok);
            /* Every value within a fifth of the largest (4-bit grids, 16 levels). */
            CHECK(worst <= 0.2 * amax + 1e-6, "%s awkward row %d: error %g of max %g", q->name, kind, worst, amax);
            if (kind == 2) CHECK(fabs(back[77] - 1000.0f) < 10.0f, "%s keeps the spike: %g", q->name, back[77]);
        }
    }
    free(x);
    free(back);
    free(qb);
}

/* ---- Activation blocks ------------------------------------------------------ */

static void test_activations(void) {
    lc_rng rng;
    lc_rng_seed(&rng, 5);
    float x[512], back[512];
    for (int i = 0; i < 512; i++) x[i] = lc_rng_normal(&rng) * (i % 97 == 0 ? 8.0f : 1.0f);
    lc_blk_q8_1 a1[16];
    lc_quant_act_from_f32(LC_QACT_Q8_1, x, a1, 512);
    lc_blk_q8_K ak[2];
    lc_quant_act_from_f32(LC_QACT_Q8_K, x, ak, 512);
    double worst1 = 0, worstk = 0;
    for (int b = 0; b < 16; b++) {
        float d = lc_f16_to_f32(a1[b].d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            back[b * 32 + j] = d * (float)a1[b].qs[j];
            sum += a1[b].qs[j];
            worst1 = fmax(worst1, fabs(back[b * 32 + j] - x[b * 32 + j]) / d);
        }
        CHECK(a1[b].s == lc_f32_to_f16((float)sum * d), "q8_1 s field of block %d", b);
    }
    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < 16; k++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += ak[b].qs[16 * k + j];
            CHECK(ak[b].bsums[k] == s, "q8_K bsums[%d] of block %d", k, b);
        }
        int amax_q = 0;
        for (int j = 0; j < 256; j++) {
            worstk = fmax(worstk, fabs(ak[b].d * (float)ak[b].qs[j] - x[b * 256 + j]) / fabs(ak[b].d));
            amax_q = abs(ak[b].qs[j]) > amax_q ? abs(ak[b].qs[j]) : amax_q;
        }
        CHECK(amax_q == 127, "q8_K uses the full range (%d)", amax_q);
    }
    /* q8_1 rounds with d before d is stored as f16 (relative error 2^-11, up to
     * 127 steps): half a step plus 127 * 2^-11. */
    CHECK(worst1 <= 0.5 + 127.0 / 2048 && worstk <= 0.5 + 1e-4, "8-bit activations within half a step: %g %g", worst1,
          worstk);
    CHECK(lc_quant_act_block(LC_QACT_Q8_K) == 256 && lc_quant_act_block_bytes(LC_QACT_Q8_1) == 36 &&
              lc_quant_act_block_bytes(LC_QACT_Q8_0) == 34,
          "activation block sizes");
    float z[256] = {0};
    lc_quant_act_from_f32(LC_QACT_Q8_K, z, ak, 256);
    CHECK(ak[0].d == 0.0f && ak[0].qs[5] == 0 && ak[0].bsums[3] == 0, "q8_K of zeros");
}

/* ---- The ggml oracle ------------------------------------------------------- */

static const struct {
    const char *file;
    lc_dtype t;
} oracle_types[] = {
    {"Q8_0", LC_DTYPE_Q8_0}, {"Q4_0", LC_DTYPE_Q4_0}, {"Q4_1", LC_DTYPE_Q4_1},     {"Q5_0", LC_DTYPE_Q5_0},
    {"Q5_1", LC_DTYPE_Q5_1}, {"Q2_K", LC_DTYPE_Q2_K}, {"Q3_K", LC_DTYPE_Q3_K},     {"Q4_K", LC_DTYPE_Q4_K},
    {"Q5_K", LC_DTYPE_Q5_K}, {"Q6_K", LC_DTYPE_Q6_K}, {"IQ4_NL", LC_DTYPE_IQ4_NL}, {"IQ4_XS", LC_DTYPE_IQ4_XS},
    {"MXFP4", LC_DTYPE_MXFP4},
};

static const lc_gguf_tensor *open_x(const char *dir, const char *name, lc_gguf **g) {
    char path[1024];
    lc_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *g = NULL;
    CHECK_OK(lc_gguf_open(path, g, &err), &err);
    if (!*g) return NULL;
    const lc_gguf_tensor *t = lc_gguf_find_tensor(*g, "x");
    CHECK(t && t->ne[0] == 512 && t->ne[1] == 256, "%s: tensor x of 256 x 512", name);
    return t && t->ne[0] == 512 && t->ne[1] == 256 ? t : NULL;
}

static void test_oracle(void) {
    char dir[1024];
    if (!quant_shared("fixtures/quants/dequant_oracle", "the ggml dequantization oracle is not checked", dir,
                      sizeof dir))
        return;
    lc_gguf *gs;
    const lc_gguf_tensor *src = open_x(dir, "source.f32.gguf", &gs);
    const int64_t rows = 256, cols = 512;
    float *deq = malloc((size_t)(rows * cols) * sizeof(float));
    uint8_t *qbuf = malloc((size_t)(rows * cols) * 2);
    for (size_t i = 0; i < LC_ARRAY_LEN(oracle_types); i++) {
        const lc_quant_traits *q = lc_quant_traits_of(oracle_types[i].t);
        char name[64];
        lc_gguf *gq, *gd;
        snprintf(name, sizeof name, "%s.gguf", oracle_types[i].file);
        const lc_gguf_tensor *tq = open_x(dir, name, &gq);
        snprintf(name, sizeof name, "%s.dequant.f32.gguf", oracle_types[i].file);
        const lc_gguf_tensor *td = open_x(dir, name, &gd);
        if (tq && td) {
            CHECK(tq->dtype == oracle_types[i].t, "%s: read as %s", oracle_types[i].file, lc_dtype_name(tq->dtype));
            CHECK(td->dtype == LC_DTYPE_F32, "%s dequant is f32", oracle_types[i].file);
            size_t rb = 0;
            lc_error err;
            CHECK_OK(lc_dtype_row_bytes(oracle_types[i].t, cols, &rb, &err), &err);
            CHECK(tq->nbytes == rb * (size_t)rows, "%s: %zu bytes", oracle_types[i].file, tq->nbytes);
            if (tq->dtype == oracle_types[i].t && tq->nbytes == rb * (size_t)rows) {
                for (int64_t r = 0; r < rows; r++)
                    CHECK_OK(lc_row_to_f32(tq->dtype, (const char *)tq->data + (size_t)r * rb, deq + r * cols, cols,
                                           &err),
                             &err);
                int64_t diff = 0, first = -1;
                const uint32_t *a = (const uint32_t *)(const void *)deq, *b = (const uint32_t *)td->data;
                for (int64_t k = 0; k < rows * cols; k++)
                    if (a[k] != b[k] && diff++ == 0) first = k;
                CHECK(diff == 0, "%s: %lld of %lld values differ from ggml's bits (first at %lld: %.9g vs %.9g)",
                      oracle_types[i].file, (long long)diff, (long long)(rows * cols), (long long)first,
                      first >= 0 ? deq[first] : 0.0, first >= 0 ? ((const float *)td->data)[first] : 0.0);
                fprintf(stderr, "  %-6s dequantization: %s\n", oracle_types[i].file,
                        diff == 0 ? "bit for bit ggml's" : "DIFFERS");
                /* Our quantizer against ggml's bytes (same reference formulas). */
                if (q->from_f32 && src) {
                    int64_t same_blocks = 0, n_blocks = rows * cols / q->block;
                    for (int64_t r = 0; r < rows; r++)
                        q->from_f32((const float *)src->data + r * cols, qbuf + (size_t)r * rb, cols);
                    for (int64_t k = 0; k < n_blocks; k++)
                        same_blocks += memcmp(qbuf + (size_t)k * (size_t)q->block_bytes,
                                              (const uint8_t *)tq->data + (size_t)k * (size_t)q->block_bytes,
                                              (size_t)q->block_bytes) == 0;
                    fprintf(stderr, "  %-6s quantization: %lld of %lld blocks byte-identical to ggml's\n",
                            oracle_types[i].file, (long long)same_blocks, (long long)n_blocks);
                    CHECK(same_blocks == n_blocks, "%s quantizer: %lld of %lld blocks identical to ggml's",
                          oracle_types[i].file, (long long)same_blocks, (long long)n_blocks);
                }
            }
        }
        lc_gguf_close(gq);
        lc_gguf_close(gd);
    }
    free(deq);
    free(qbuf);
    lc_gguf_close(gs);
}

int main(void) {
    test_tables();
    test_layouts();
    test_roundtrip();
    test_activations();
    test_oracle();
    return lc_test_finish("test_quant_dequant");
}
