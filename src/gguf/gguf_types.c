/* GGUF value types and ggml tensor types: names, sizes, lc_dtype mapping. */
#include "gguf/gguf_internal.h"
#include "quant/quant.h"

static const char *const value_type_names[LC_GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

const char *lc_gguf_type_name(lc_gguf_type t) {
    return (unsigned)t < LC_GGUF_TYPE_COUNT ? value_type_names[t] : "?";
}

size_t lc_gguf_scalar_size(lc_gguf_type t) {
    switch (t) {
    case LC_GGUF_UINT8:
    case LC_GGUF_INT8:
    case LC_GGUF_BOOL: return 1;
    case LC_GGUF_UINT16:
    case LC_GGUF_INT16: return 2;
    case LC_GGUF_UINT32:
    case LC_GGUF_INT32:
    case LC_GGUF_FLOAT32: return 4;
    case LC_GGUF_UINT64:
    case LC_GGUF_INT64:
    case LC_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* ggml's tensor types (ggml.h enum ggml_type) with their block size in
 * elements and block size in bytes, as in gguf-py's GGML_QUANT_SIZES. Ids
 * that ggml removed (4, 5, 31-33, 36-38) have no entry. */
typedef struct {
    const char *name;
    int32_t block;
    int32_t bytes;
} ggml_type_info;

#define QK_K 256
static const ggml_type_info ggml_types[] = {
    [0] = {"f32", 1, 4},
    [1] = {"f16", 1, 2},
    [2] = {"q4_0", 32, 2 + 16},
    [3] = {"q4_1", 32, 2 + 2 + 16},
    [6] = {"q5_0", 32, 2 + 4 + 16},
    [7] = {"q5_1", 32, 2 + 2 + 4 + 16},
    [8] = {"q8_0", 32, 2 + 32},
    [9] = {"q8_1", 32, 2 + 2 + 32},
    [10] = {"q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    [11] = {"q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    [12] = {"q4_K", QK_K, 2 + 2 + QK_K / 2 + 12},
    [13] = {"q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    [14] = {"q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    [15] = {"q8_K", QK_K, 4 + QK_K + QK_K / 8},
    [16] = {"iq2_xxs", QK_K, 2 + QK_K / 4},
    [17] = {"iq2_xs", QK_K, 2 + QK_K / 4 + QK_K / 32},
    [18] = {"iq3_xxs", QK_K, 2 + QK_K / 4 + QK_K / 8},
    [19] = {"iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16},
    [20] = {"iq4_nl", 32, 2 + 16},
    [21] = {"iq3_s", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    [22] = {"iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16},
    [23] = {"iq4_xs", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    [24] = {"i8", 1, 1},
    [25] = {"i16", 1, 2},
    [26] = {"i32", 1, 4},
    [27] = {"i64", 1, 8},
    [28] = {"f64", 1, 8},
    [29] = {"iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    [30] = {"bf16", 1, 2},
    [34] = {"tq1_0", QK_K, 2 + 4 * 13},
    [35] = {"tq2_0", QK_K, 2 + 64},
    [39] = {"mxfp4", 32, 1 + 16},
};

static const ggml_type_info *type_info(uint32_t t) {
    if (t >= LC_ARRAY_LEN(ggml_types) || !ggml_types[t].name) return NULL;
    return &ggml_types[t];
}

const char *lc_gguf_ggml_type_name(uint32_t ggml_type) {
    const ggml_type_info *ti = type_info(ggml_type);
    return ti ? ti->name : NULL;
}

bool lc_gguf_ggml_type_size(uint32_t ggml_type, int64_t *block, size_t *block_bytes) {
    const ggml_type_info *ti = type_info(ggml_type);
    if (!ti) return false;
    if (block) *block = ti->block;
    if (block_bytes) *block_bytes = (size_t)ti->bytes;
    return true;
}

lc_dtype lc_gguf_dtype_from_ggml(uint32_t ggml_type) {
    switch (ggml_type) {
    case LC_GGML_TYPE_F32: return LC_DTYPE_F32;
    case LC_GGML_TYPE_F16: return LC_DTYPE_F16;
    case LC_GGML_TYPE_BF16: return LC_DTYPE_BF16;
    default:
        /* The block types: the quant traits table names their ggml ids. */
        for (int t = 0; t < LC_DTYPE_COUNT; t++) {
            const lc_quant_traits *q = lc_quant_traits_of((lc_dtype)t);
            if (q && q->ggml_type == ggml_type) return (lc_dtype)t;
        }
        return LC_DTYPE_COUNT;
    }
}

uint32_t lc_gguf_ggml_from_dtype(lc_dtype t) {
    switch (t) {
    case LC_DTYPE_F32: return LC_GGML_TYPE_F32;
    case LC_DTYPE_F16: return LC_GGML_TYPE_F16;
    case LC_DTYPE_BF16: return LC_GGML_TYPE_BF16;
    default: {
        const lc_quant_traits *q = lc_quant_traits_of(t);
        return q ? q->ggml_type : UINT32_MAX;
    }
    }
}

lc_status lc_gguf_tensor_nbytes(uint32_t ggml_type, const int64_t ne[LC_GGUF_MAX_DIMS], size_t *nbytes,
                                const char *name, lc_error *err) {
    /* The element count must fit int64 whatever the type (ggml's own check). */
    int64_t n = 1;
    for (int d = 0; d < LC_GGUF_MAX_DIMS; d++) {
        if (ne[d] < 1)
            return lc_fail(err, LC_ERR_FORMAT, "gguf: tensor '%s' has dimension %d = %lld (must be >= 1)", name, d,
                           (long long)ne[d]);
        if (!lc_mul_i64(n, ne[d], &n))
            return lc_fail(err, LC_ERR_FORMAT, "gguf: tensor '%s' element count overflows int64", name);
    }
    const ggml_type_info *ti = type_info(ggml_type);
    if (!ti) {
        *nbytes = 0;
        return LC_OK;
    }
    if (ne[0] % ti->block)
        return lc_fail(err, LC_ERR_FORMAT, "gguf: tensor '%s' of type %s has %lld columns, not a multiple of its block of %d",
                       name, ti->name, (long long)ne[0], ti->block);
    size_t row, total;
    if (!lc_mul_size((size_t)(ne[0] / ti->block), (size_t)ti->bytes, &row) ||
        !lc_mul_size(row, (size_t)(n / ne[0]), &total))
        return lc_fail(err, LC_ERR_FORMAT, "gguf: tensor '%s' byte size overflows size_t", name);
    *nbytes = total;
    return LC_OK;
}
