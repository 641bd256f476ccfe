/* Element types: names, row sizes, scalar conversions, Q8_0 blocks. */
#include <math.h>
#include <string.h>

#include <strings.h>

#include "common/util.h"
#include "common/simd.h"
#include "quant/quant.h"

static const char *const plain_names[] = {"f32", "f16", "bf16"};

const char *lc_dtype_name(lc_dtype t) {
    if ((unsigned)t < LC_ARRAY_LEN(plain_names)) return plain_names[t];
    const lc_quant_traits *q = lc_quant_traits_of(t);
    return q ? q->name : "?";
}

int64_t lc_dtype_block(lc_dtype t) {
    if ((unsigned)t < LC_ARRAY_LEN(plain_names)) return 1;
    const lc_quant_traits *q = lc_quant_traits_of(t);
    return q ? q->block : 0;
}

bool lc_dtype_parse(const char *s, lc_dtype *out) {
    if (!s) return false;
    for (int i = 0; i < LC_DTYPE_COUNT; i++) {
        if (strcasecmp(s, lc_dtype_name((lc_dtype)i)) == 0) {
            *out = (lc_dtype)i;
            return true;
        }
    }
    return false;
}

lc_status lc_dtype_row_bytes(lc_dtype t, int64_t n, size_t *bytes, lc_error *err) {
    if (n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "negative row length %lld", (long long)n);
    size_t un = (size_t)n, out = 0;
    bool ok = true;
    switch (t) {
    case LC_DTYPE_F32: ok = lc_mul_size(un, 4, &out); break;
    case LC_DTYPE_F16:
    case LC_DTYPE_BF16: ok = lc_mul_size(un, 2, &out); break;
    default: {
        const lc_quant_traits *q = lc_quant_traits_of(t);
        if (!q) return lc_fail(err, LC_ERR_INVALID_ARG, "unknown element type %d", (int)t);
        if (un % (size_t)q->block)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s rows need a multiple of %d elements, got %lld", q->name,
                           (int)q->block, (long long)n);
        ok = lc_mul_size(un / (size_t)q->block, (size_t)q->block_bytes, &out);
    }
    }
    if (!ok) return lc_fail(err, LC_ERR_TOO_LARGE, "row of %lld %s elements overflows size_t", (long long)n,
                            lc_dtype_name(t));
    *bytes = out;
    return LC_OK;
}

float lc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400u));
            mant &= 0x3ffu;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf / nan */
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t lc_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) { /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
    }
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (absx < 0x38800000u) {                                    /* below 2^-14: subnormal or 0 */
        if (absx < 0x33000000u) return (uint16_t)sign;           /* < 2^-25: rounds to 0 */
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 → value = m >> (shift) in units of 2^-24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent: 127-15 = 112 = 0x70 << 23 */
    uint32_t lower = r & 0x1fffu;
    r >>= 13;
    if (lower > 0x1000u || (lower == 0x1000u && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

float lc_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t lc_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet nan */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

void lc_f16_to_f32_row(const uint16_t *src, float *dst, int64_t n) {
#if defined(LC_HAVE_X86)
    if (lc_isa_best() >= LC_ISA_AVX2) {
        lc_f16_to_f32_row_avx2(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = lc_f16_to_f32(src[i]);
}

void lc_f32_to_f16_row(const float *src, uint16_t *dst, int64_t n) {
#if defined(LC_HAVE_X86)
    if (lc_isa_best() >= LC_ISA_AVX2) {
        lc_f32_to_f16_row_avx2(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = lc_f32_to_f16(src[i]);
}

void lc_quantize_row_q8_0(const float *src, lc_block_q8_0 *dst, int64_t n) {
    int64_t nb = n / LC_Q8_0_BLOCK;
    for (int64_t b = 0; b < nb; b++) {
        const float *x = src + b * LC_Q8_0_BLOCK;
        float amax = 0.0f;
        for (int i = 0; i < LC_Q8_0_BLOCK; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127.0f;
        float id = d > 0.0f ? 1.0f / d : 0.0f;
        dst[b].d = lc_f32_to_f16(d);
        for (int i = 0; i < LC_Q8_0_BLOCK; i++) {
            float v = roundf(x[i] * id);
            dst[b].qs[i] = (int8_t)(v > 127.0f ? 127 : (v < -127.0f ? -127 : v));
        }
    }
}

void lc_dequantize_row_q8_0(const lc_block_q8_0 *src, float *dst, int64_t n) {
    int64_t nb = n / LC_Q8_0_BLOCK;
    for (int64_t b = 0; b < nb; b++) {
        float d = lc_f16_to_f32(src[b].d);
        for (int i = 0; i < LC_Q8_0_BLOCK; i++) dst[b * LC_Q8_0_BLOCK + i] = d * (float)src[b].qs[i];
    }
}

lc_status lc_row_to_f32(lc_dtype t, const void *src, float *dst, int64_t n, lc_error *err) {
    switch (t) {
    case LC_DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return LC_OK;
    case LC_DTYPE_F16: lc_f16_to_f32_row((const uint16_t *)src, dst, n); return LC_OK;
    case LC_DTYPE_BF16: {
        const uint16_t *s = (const uint16_t *)src;
        for (int64_t i = 0; i < n; i++) dst[i] = lc_bf16_to_f32(s[i]);
        return LC_OK;
    }
    default: {
        const lc_quant_traits *q = lc_quant_traits_of(t);
        if (!q) return lc_fail(err, LC_ERR_INVALID_ARG, "unknown element type %d", (int)t);
        if (n < 0 || n % q->block)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s row length %lld is not a multiple of %d", q->name,
                           (long long)n, (int)q->block);
        q->to_f32(src, dst, n);
        return LC_OK;
    }
    }
}
