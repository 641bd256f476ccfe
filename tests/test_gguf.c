/*
 * GGUF reader and writer: round trips of every metadata and tensor type, the
 * real files in ../shared (written by llama.cpp), and refusal of malformed
 * files (every truncation of a valid file, lying counts, lengths, offsets,
 * alignment, versions, magic, duplicates, nesting).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "gguf/gguf_internal.h"
#include "test_util.h"


/* ---- A byte builder for hand-made files ------------------------------------ */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) {
    uint8_t x[4];
    lc_wr32(x, v);
    put(b, x, 4);
}
static void put_u64(buf *b, uint64_t v) {
    uint8_t x[8];
    lc_wr64(x, v);
    put(b, x, 8);
}
static void put_str(buf *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void put_header(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    put(b, "GGUF", 4);
    put_u32(b, version);
    put_u64(b, n_tensors);
    put_u64(b, n_kv);
}
static void put_kv_u32(buf *b, const char *key, uint32_t v) {
    put_str(b, key);
    put_u32(b, LC_GGUF_UINT32);
    put_u32(b, v);
}
static void put_tensor_info(buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                            uint64_t off) {
    put_str(b, name);
    put_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) put_u64(b, ne[i]);
    put_u32(b, type);
    put_u64(b, off);
}
static void pad_to(buf *b, size_t a) {
    static const uint8_t z[64];
    while (b->n % a) put(b, z, 1);
}

/* Open a copy of exactly n bytes (so ASan sees any over-read), close it, and
 * return the status; the message lands in err. */
static lc_status try_open(const uint8_t *p, size_t n, lc_error *err) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    lc_gguf *g = NULL;
    lc_error_clear(err);
    lc_status st = lc_gguf_open_memory(copy, n, &g, err);
    if (st == LC_OK) {
        /* touch everything it exposes */
        for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
            const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
            volatile uint8_t sum = 0;
            for (size_t k = 0; k < t->nbytes; k++) sum ^= ((const uint8_t *)t->data)[k];
            (void)sum;
        }
        lc_gguf_close(g);
    }
    free(copy);
    return st;
}

static bool has(const lc_error *err, const char *needle) { return strstr(err->msg, needle) != NULL; }

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static void tmp_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "/tmp/lc_test_gguf_%ld_%s", (long)getpid(), name);
}

/* ---- Round trip ------------------------------------------------------------- */

typedef struct {
    float f32[3 * 5];
    uint16_t f16[7];
    uint16_t bf16[2 * 3 * 4];
    lc_block_q8_0 q8[2 * 2];  /* [64, 2] */
    float last[8];            /* 32 bytes: the file ends without padding */
} tensor_data;

static void make_tensors(tensor_data *td, uint64_t seed) {
    lc_rng r;
    lc_rng_seed(&r, seed);
    for (size_t i = 0; i < LC_ARRAY_LEN(td->f32); i++) td->f32[i] = lc_rng_normal(&r);
    for (size_t i = 0; i < LC_ARRAY_LEN(td->f16); i++) td->f16[i] = lc_f32_to_f16(lc_rng_normal(&r));
    for (size_t i = 0; i < LC_ARRAY_LEN(td->bf16); i++) td->bf16[i] = lc_f32_to_bf16(lc_rng_normal(&r));
    float row[64];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 64; i++) row[i] = lc_rng_normal(&r);
        lc_quantize_row_q8_0(row, &td->q8[2 * k], 64);
    }
    for (size_t i = 0; i < LC_ARRAY_LEN(td->last); i++) td->last[i] = (float)i - 3.5f;
}

/* Every value type, arrays included, and the four tensor types. */
static lc_gguf_writer *make_writer(const tensor_data *td, lc_error *err) {
    lc_gguf_writer *w;
    CHECK_OK(lc_gguf_writer_create(&w, err), err);
    CHECK_OK(lc_gguf_set_u8(w, "t.u8", 250, err), err);
    CHECK_OK(lc_gguf_set_i8(w, "t.i8", -100, err), err);
    CHECK_OK(lc_gguf_set_u16(w, "t.u16", 65000, err), err);
    CHECK_OK(lc_gguf_set_i16(w, "t.i16", -32000, err), err);
    CHECK_OK(lc_gguf_set_u32(w, "t.u32", 4000000000u, err), err);
    CHECK_OK(lc_gguf_set_i32(w, "t.i32", -2000000000, err), err);
    CHECK_OK(lc_gguf_set_f32(w, "t.f32", 0.1f, err), err);
    CHECK_OK(lc_gguf_set_bool(w, "t.bool", true, err), err);
    CHECK_OK(lc_gguf_set_str(w, "t.str", "héllo", err), err);
    CHECK_OK(lc_gguf_set_strn(w, "t.strn", "a\0b", 3, err), err);
    CHECK_OK(lc_gguf_set_str(w, "t.empty", "", err), err);
    CHECK_OK(lc_gguf_set_u64(w, "t.u64", UINT64_MAX, err), err);
    CHECK_OK(lc_gguf_set_i64(w, "t.i64", INT64_MIN, err), err);
    CHECK_OK(lc_gguf_set_f64(w, "t.f64", 1.0 / 3.0, err), err);
    const char *strs[3] = {"<s>", "", "▁the"};
    CHECK_OK(lc_gguf_set_arr_str(w, "t.arr_str", strs, 3, err), err);
    const char *nul_strs[2] = {"x\0y", "z"};
    size_t nul_lens[2] = {3, 1};
    CHECK_OK(lc_gguf_set_arr_strn(w, "t.arr_strn", nul_strs, nul_lens, 2, err), err);
    float af[4] = {1.5f, -2.0f, 0.0f, 1e30f};
    CHECK_OK(lc_gguf_set_arr_f32(w, "t.arr_f32", af, 4, err), err);
    int32_t ai[3] = {-1, 0, INT32_MAX};
    CHECK_OK(lc_gguf_set_arr_i32(w, "t.arr_i32", ai, 3, err), err);
    uint8_t au8[3] = {0, 1, 255};
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_u8", LC_GGUF_UINT8, au8, 3, err), err);
    int16_t ai16[2] = {-5, 300};
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_i16", LC_GGUF_INT16, ai16, 2, err), err);
    uint64_t au64[2] = {1, UINT64_MAX};
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_u64", LC_GGUF_UINT64, au64, 2, err), err);
    double af64[2] = {-0.25, 1e300};
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_f64", LC_GGUF_FLOAT64, af64, 2, err), err);
    uint8_t ab[3] = {1, 0, 1};
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_bool", LC_GGUF_BOOL, ab, 3, err), err);
    CHECK_OK(lc_gguf_set_arr(w, "t.arr_empty", LC_GGUF_INT64, NULL, 0, err), err);
    /* replacing a key keeps one entry with the new value */
    CHECK_OK(lc_gguf_set_u32(w, "t.replaced", 1, err), err);
    CHECK_OK(lc_gguf_set_str(w, "t.replaced", "two", err), err);

    int64_t ne_f32[2] = {5, 3}, ne_f16[1] = {7}, ne_bf16[3] = {4, 3, 2}, ne_q8[2] = {64, 2}, ne_last[4] = {2, 2, 1, 2};
    CHECK_OK(lc_gguf_add_tensor(w, "w.f32", LC_DTYPE_F32, 2, ne_f32, td->f32, err), err);
    CHECK_OK(lc_gguf_add_tensor(w, "w.f16", LC_DTYPE_F16, 1, ne_f16, td->f16, err), err);
    CHECK_OK(lc_gguf_add_tensor(w, "w.bf16", LC_DTYPE_BF16, 3, ne_bf16, td->bf16, err), err);
    CHECK_OK(lc_gguf_add_tensor(w, "w.q8_0", LC_DTYPE_Q8_0, 2, ne_q8, td->q8, err), err);
    CHECK_OK(lc_gguf_add_tensor(w, "w.last", LC_DTYPE_F32, 4, ne_last, td->last, err), err);
    return w;
}

static void check_roundtrip_file(const lc_gguf *g, const tensor_data *td, size_t alignment) {
    lc_error err;
    CHECK(lc_gguf_version(g) == 3, "version %u", lc_gguf_version(g));
    CHECK(lc_gguf_alignment(g) == alignment, "alignment %zu", lc_gguf_alignment(g));
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    CHECK_OK(lc_gguf_get_u64(g, "t.u8", &u, &err), &err);
    CHECK(u == 250, "u8 %llu", (unsigned long long)u);
    CHECK_OK(lc_gguf_get_i64(g, "t.i8", &i, &err), &err);
    CHECK(i == -100, "i8 %lld", (long long)i);
    CHECK_OK(lc_gguf_get_u64(g, "t.u16", &u, &err), &err);
    CHECK(u == 65000, "u16");
    CHECK_OK(lc_gguf_get_i64(g, "t.i16", &i, &err), &err);
    CHECK(i == -32000, "i16");
    CHECK_OK(lc_gguf_get_u64(g, "t.u32", &u, &err), &err);
    CHECK(u == 4000000000u, "u32");
    CHECK_OK(lc_gguf_get_i64(g, "t.i32", &i, &err), &err);
    CHECK(i == -2000000000, "i32");
    CHECK_OK(lc_gguf_get_f64(g, "t.f32", &d, &err), &err);
    CHECK((float)d == 0.1f, "f32 %g", d);
    CHECK_OK(lc_gguf_get_bool(g, "t.bool", &b, &err), &err);
    CHECK(b, "bool");
    CHECK_OK(lc_gguf_get_u64(g, "t.u64", &u, &err), &err);
    CHECK(u == UINT64_MAX, "u64");
    CHECK_OK(lc_gguf_get_i64(g, "t.i64", &i, &err), &err);
    CHECK(i == INT64_MIN, "i64");
    CHECK_OK(lc_gguf_get_f64(g, "t.f64", &d, &err), &err);
    CHECK(d == 1.0 / 3.0, "f64 %.17g", d);
    const char *s;
    size_t len;
    CHECK_OK(lc_gguf_get_str(g, "t.str", &s, &len, &err), &err);
    CHECK(len == strlen("héllo") && memcmp(s, "héllo", len) == 0, "str");
    CHECK_OK(lc_gguf_get_str(g, "t.strn", &s, &len, &err), &err);
    CHECK(len == 3 && memcmp(s, "a\0b", 3) == 0, "strn");
    CHECK_OK(lc_gguf_get_str(g, "t.empty", &s, &len, &err), &err);
    CHECK(len == 0, "empty string");
    CHECK_OK(lc_gguf_get_str(g, "t.replaced", &s, &len, &err), &err);
    CHECK(len == 3 && memcmp(s, "two", 3) == 0, "replaced key keeps the last value");

    /* type and range errors name the key */
    CHECK(lc_gguf_get_u64(g, "t.i8", &u, &err) == LC_ERR_FORMAT && has(&err, "t.i8"), "negative as u64: %s", err.msg);
    CHECK(lc_gguf_get_i64(g, "t.u64", &i, &err) == LC_ERR_FORMAT, "u64 max as i64");
    CHECK(lc_gguf_get_str(g, "t.u32", &s, &len, &err) == LC_ERR_FORMAT && has(&err, "t.u32"), "u32 as string");
    CHECK(lc_gguf_get_f64(g, "t.u32", &d, &err) == LC_ERR_FORMAT, "u32 as float");
    CHECK(lc_gguf_get_bool(g, "t.u8", &b, &err) == LC_ERR_FORMAT, "u8 as bool");
    CHECK(lc_gguf_get_u64(g, "no.such.key", &u, &err) == LC_ERR_FORMAT && has(&err, "missing key 'no.such.key'"),
          "missing: %s", err.msg);
    CHECK(!lc_gguf_has(g, "no.such.key") && lc_gguf_has(g, "t.u8"), "has");

    lc_gguf_type et;
    uint64_t n;
    const void *data;
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_str", &et, &n, &data, &err), &err);
    CHECK(et == LC_GGUF_STRING && n == 3 && data == NULL, "arr_str");
    const char *want[3] = {"<s>", "", "▁the"};
    for (uint64_t k = 0; k < 3; k++) {
        CHECK_OK(lc_gguf_get_arr_str(g, "t.arr_str", k, &s, &len, &err), &err);
        CHECK(len == strlen(want[k]) && memcmp(s, want[k], len) == 0, "arr_str[%d]", (int)k);
    }
    CHECK(lc_gguf_get_arr_str(g, "t.arr_str", 3, &s, &len, &err) != LC_OK, "index past the end");
    CHECK_OK(lc_gguf_get_arr_str(g, "t.arr_strn", 0, &s, &len, &err), &err);
    CHECK(len == 3 && memcmp(s, "x\0y", 3) == 0, "string with NUL");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_f32", &et, &n, &data, &err), &err);
    float af[4];
    CHECK(et == LC_GGUF_FLOAT32 && n == 4, "arr_f32");
    memcpy(af, data, sizeof af);
    CHECK(af[0] == 1.5f && af[1] == -2.0f && af[2] == 0.0f && af[3] == 1e30f, "arr_f32 values");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_i32", &et, &n, &data, &err), &err);
    int32_t ai[3];
    memcpy(ai, data, sizeof ai);
    CHECK(et == LC_GGUF_INT32 && n == 3 && ai[0] == -1 && ai[1] == 0 && ai[2] == INT32_MAX, "arr_i32");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_u8", &et, &n, &data, &err), &err);
    CHECK(et == LC_GGUF_UINT8 && n == 3 && ((const uint8_t *)data)[2] == 255, "arr_u8");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_i16", &et, &n, &data, &err), &err);
    int16_t ai16[2];
    memcpy(ai16, data, sizeof ai16);
    CHECK(et == LC_GGUF_INT16 && n == 2 && ai16[0] == -5 && ai16[1] == 300, "arr_i16");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_u64", &et, &n, &data, &err), &err);
    uint64_t au64[2];
    memcpy(au64, data, sizeof au64);
    CHECK(et == LC_GGUF_UINT64 && au64[1] == UINT64_MAX, "arr_u64");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_f64", &et, &n, &data, &err), &err);
    double af64[2];
    memcpy(af64, data, sizeof af64);
    CHECK(et == LC_GGUF_FLOAT64 && af64[0] == -0.25 && af64[1] == 1e300, "arr_f64");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_bool", &et, &n, &data, &err), &err);
    CHECK(et == LC_GGUF_BOOL && n == 3 && ((const uint8_t *)data)[1] == 0 && ((const uint8_t *)data)[2] == 1, "bool[]");
    CHECK_OK(lc_gguf_get_arr(g, "t.arr_empty", &et, &n, &data, &err), &err);
    CHECK(et == LC_GGUF_INT64 && n == 0, "empty array");
    CHECK(lc_gguf_get_arr(g, "t.u8", &et, &n, &data, &err) == LC_ERR_FORMAT, "scalar as array");

    /* key order and types are preserved */
    /* 25 keys set, plus general.alignment when it is not the default */
    CHECK(lc_gguf_n_kv(g) == 25 + (alignment != 32), "n_kv %lld", (long long)lc_gguf_n_kv(g));
    CHECK(strcmp(lc_gguf_key_name(g, 0), "t.u8") == 0 && lc_gguf_key_type(g, 0) == LC_GGUF_UINT8, "first key");
    CHECK(lc_gguf_key_type(g, lc_gguf_find_key(g, "t.arr_str")) == LC_GGUF_ARRAY, "array key type");
    CHECK(lc_gguf_key_name(g, 1000) == NULL && lc_gguf_key_type(g, -1) == LC_GGUF_TYPE_COUNT, "out of range");

    struct {
        const char *name;
        lc_dtype dt;
        uint32_t ggml, n_dims;
        int64_t ne[4];
        const void *data;
        size_t nbytes;
    } want_t[5] = {
        {"w.f32", LC_DTYPE_F32, LC_GGML_TYPE_F32, 2, {5, 3, 1, 1}, td->f32, sizeof td->f32},
        {"w.f16", LC_DTYPE_F16, LC_GGML_TYPE_F16, 1, {7, 1, 1, 1}, td->f16, sizeof td->f16},
        {"w.bf16", LC_DTYPE_BF16, LC_GGML_TYPE_BF16, 3, {4, 3, 2, 1}, td->bf16, sizeof td->bf16},
        {"w.q8_0", LC_DTYPE_Q8_0, LC_GGML_TYPE_Q8_0, 2, {64, 2, 1, 1}, td->q8, sizeof td->q8},
        {"w.last", LC_DTYPE_F32, LC_GGML_TYPE_F32, 4, {2, 2, 1, 2}, td->last, sizeof td->last},
    };
    CHECK(lc_gguf_n_tensors(g) == 5, "n_tensors");
    for (int k = 0; k < 5; k++) {
        const lc_gguf_tensor *t = lc_gguf_find_tensor(g, want_t[k].name);
        CHECK(t != NULL, "tensor %s", want_t[k].name);
        if (!t) continue;
        CHECK(t == lc_gguf_tensor_at(g, k), "order");
        CHECK(t->dtype == want_t[k].dt && t->ggml_type == want_t[k].ggml && t->n_dims == want_t[k].n_dims,
              "%s type/dims", t->name);
        CHECK(memcmp(t->ne, want_t[k].ne, sizeof t->ne) == 0, "%s ne", t->name);
        CHECK(t->nbytes == want_t[k].nbytes, "%s nbytes %zu", t->name, t->nbytes);
        CHECK(t->offset % alignment == 0, "%s offset %llu aligned", t->name, (unsigned long long)t->offset);
        CHECK(t->data && memcmp(t->data, want_t[k].data, t->nbytes) == 0, "%s bytes", t->name);
    }
    CHECK(lc_gguf_find_tensor(g, "w.none") == NULL && lc_gguf_tensor_at(g, 5) == NULL, "absent tensor");
}

static void test_roundtrip(void) {
    tensor_data td;
    make_tensors(&td, 7);
    const size_t aligns[3] = {32, 64, 4};
    for (int a = 0; a < 3; a++) {
        lc_error err;
        lc_gguf_writer *w = make_writer(&td, &err);
        char path[256];
        tmp_path(path, sizeof path, "rt.gguf");
        CHECK_OK(lc_gguf_write(w, path, aligns[a], &err), &err);
        lc_gguf_writer_free(w);
        lc_gguf *g = NULL;
        CHECK_OK(lc_gguf_open(path, &g, &err), &err);
        if (g) {
            check_roundtrip_file(g, &td, aligns[a]);
            /* absolute alignment of the mapped data (what the kernels need) */
            for (int64_t k = 0; k < lc_gguf_n_tensors(g); k++)
                CHECK((uintptr_t)lc_gguf_tensor_at(g, k)->data % aligns[a] == 0, "mapped data aligned");
            lc_gguf_close(g);
        }
        /* the file read whole into private memory (--no-mmap): the same tensors, aligned alike */
        CHECK_OK(lc_gguf_open_read(path, &g, &err), &err);
        if (g) {
            check_roundtrip_file(g, &td, aligns[a]);
            for (int64_t k = 0; k < lc_gguf_n_tensors(g); k++)
                CHECK((uintptr_t)lc_gguf_tensor_at(g, k)->data % aligns[a] == 0, "read-in data aligned");
            lc_gguf_close(g);
        }
        /* the same bytes through lc_gguf_open_memory, and no temp file left over */
        size_t n;
        uint8_t *bytes = read_file(path, &n);
        CHECK_OK(lc_gguf_open_memory(bytes, n, &g, &err), &err);
        if (g) {
            check_roundtrip_file(g, &td, aligns[a]);
            lc_gguf_close(g);
        }
        free(bytes);
        unlink(path);
    }
}

/* A small valid file: truncating it anywhere must fail cleanly. */
static void test_truncations(void) {
    tensor_data td;
    make_tensors(&td, 11);
    lc_error err;
    lc_gguf_writer *w = make_writer(&td, &err);
    char path[256];
    tmp_path(path, sizeof path, "trunc.gguf");
    CHECK_OK(lc_gguf_write(w, path, 32, &err), &err);
    lc_gguf_writer_free(w);
    size_t n;
    uint8_t *bytes = read_file(path, &n);
    unlink(path);
    CHECK(try_open(bytes, n, &err) == LC_OK, "full file opens: %s", err.msg);
    size_t step = lc_test_quick() ? 7 : 1, failures = 0;
    for (size_t len = 0; len < n; len += step)
        if (try_open(bytes, len, &err) == LC_OK) failures++;
    CHECK(failures == 0, "%zu truncated lengths opened", failures);
    /* a truncation inside the tensor data names the tensor and the file size */
    CHECK(try_open(bytes, n - 1, &err) == LC_ERR_FORMAT && has(&err, "'w.last'") && has(&err, "runs past the end"),
          "message: %s", err.msg);
    /* the same refusal from a truncated file read whole (lc_gguf_open_read), mapped or not */
    {
        char tp[256];
        tmp_path(tp, sizeof tp, "trunc_read.gguf");
        FILE *f = fopen(tp, "wb");
        CHECK(f && fwrite(bytes, 1, n - 1, f) == n - 1, "write the truncated file");
        if (f) fclose(f);
        lc_gguf *g = NULL;
        CHECK(lc_gguf_open_read(tp, &g, &err) == LC_ERR_FORMAT && has(&err, "runs past the end") && !g,
              "read-in truncated file: %s", err.msg);
        CHECK(lc_gguf_open(tp, &g, &err) == LC_ERR_FORMAT && !g, "mapped truncated file: %s", err.msg);
        unlink(tp);
    }
    /* flipping any single header/metadata byte never crashes */
    size_t meta = n - sizeof td;
    for (size_t pos = 0; pos < meta; pos += lc_test_quick() ? 5 : 1) {
        uint8_t keep = bytes[pos];
        bytes[pos] ^= 0xff;
        (void)try_open(bytes, n, &err);
        bytes[pos] = keep;
    }
    free(bytes);
}

/* ---- Hand-made malformed files -------------------------------------------- */

static void expect_fail(buf *b, lc_status want, const char *needle, const char *what) {
    lc_error err;
    lc_status st = try_open(b->p, b->n, &err);
    CHECK(st == want && (!needle || has(&err, needle)), "%s: got %s '%s', want %s containing '%s'", what,
          lc_status_str(st), err.msg, lc_status_str(want), needle ? needle : "");
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void test_header_refusals(void) {
    buf b = {0};
    expect_fail(&b, LC_ERR_FORMAT, "not a GGUF", "empty");
    put(&b, "GGUG", 4);
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, 0);
    expect_fail(&b, LC_ERR_FORMAT, "not a GGUF", "wrong magic");
    put_header(&b, 1, 0, 0);
    expect_fail(&b, LC_ERR_UNSUPPORTED, "version 1", "v1");
    put_header(&b, 4, 0, 0);
    expect_fail(&b, LC_ERR_UNSUPPORTED, "unknown version 4", "v4");
    put_header(&b, 0x03000000u, 0, 0);
    expect_fail(&b, LC_ERR_UNSUPPORTED, "big-endian", "big-endian");
    put_header(&b, 3, 0, 1000000);
    expect_fail(&b, LC_ERR_FORMAT, "metadata entries", "lying n_kv");
    put_header(&b, 3, UINT64_MAX, 0);
    expect_fail(&b, LC_ERR_FORMAT, "tensors", "lying n_tensors");
    put_header(&b, 3, 0, 1);
    put(&b, "GG", 2);
    expect_fail(&b, LC_ERR_FORMAT, "metadata entries", "truncated key length");
    put_header(&b, 3, 0, 2);
    put_kv_u32(&b, "a", 1);
    put(&b, "GGGGGGGGGGGGGG", 14);
    expect_fail(&b, LC_ERR_FORMAT, "entry 1 claims", "second key cut short");

    /* v2 and v3 with no tensors and no metadata open (vocabulary-only shape) */
    lc_error err;
    for (uint32_t v = 2; v <= 3; v++) {
        put_header(&b, v, 0, 1);
        put_kv_u32(&b, "a", 1);
        CHECK(try_open(b.p, b.n, &err) == LC_OK, "v%u without tensors: %s", v, err.msg);
        free(b.p);
        memset(&b, 0, sizeof b);
    }
}

static void test_metadata_refusals(void) {
    buf b = {0};
    put_header(&b, 3, 0, 1);
    put_u64(&b, 1000);
    put(&b, "abc.............", 16);
    expect_fail(&b, LC_ERR_FORMAT, "claims 1000 bytes", "lying key length");
    put_header(&b, 3, 0, 1);
    put_u64(&b, UINT64_MAX);
    expect_fail(&b, LC_ERR_FORMAT, "claims", "key length 2^64-1");
    put_header(&b, 3, 0, 1);
    put_str(&b, "");
    put_u32(&b, LC_GGUF_UINT8);
    put(&b, "x.........", 10);
    expect_fail(&b, LC_ERR_FORMAT, "empty key", "empty key");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, 13);
    put_u32(&b, 0);
    expect_fail(&b, LC_ERR_FORMAT, "unknown value type 13", "unknown type");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, LC_GGUF_STRING);
    put_u64(&b, 1u << 20);
    put(&b, "short", 5);
    expect_fail(&b, LC_ERR_FORMAT, "claims 1048576 bytes", "lying string length");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, LC_GGUF_ARRAY);
    put_u32(&b, LC_GGUF_UINT32);
    put_u64(&b, (uint64_t)1 << 62);
    put_u32(&b, 1);
    expect_fail(&b, LC_ERR_FORMAT, "runs past the end", "lying array count (overflows)");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, LC_GGUF_ARRAY);
    put_u32(&b, LC_GGUF_STRING);
    put_u64(&b, 1000);
    put_str(&b, "one");
    expect_fail(&b, LC_ERR_FORMAT, "array of 1000 strings", "lying string array count");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, LC_GGUF_ARRAY);
    put_u32(&b, 99);
    put_u64(&b, 0);
    expect_fail(&b, LC_ERR_FORMAT, "unknown type 99", "unknown array element type");
    put_header(&b, 3, 0, 2);
    put_kv_u32(&b, "dup", 1);
    put_kv_u32(&b, "dup", 2);
    expect_fail(&b, LC_ERR_FORMAT, "duplicate key 'dup'", "duplicate key");

    /* arrays of arrays: valid nesting opens, deeper than the limit is refused */
    lc_error err;
    for (int depth = 1; depth <= LC_GGUF_MAX_ARRAY_DEPTH + 1; depth++) {
        put_header(&b, 3, 0, 2);
        put_str(&b, "nested");
        put_u32(&b, LC_GGUF_ARRAY);
        /* depth levels of [array x 1], then [u16 x 2] */
        for (int d = 0; d < depth; d++) {
            put_u32(&b, LC_GGUF_ARRAY);
            put_u64(&b, 1);
        }
        put_u32(&b, LC_GGUF_UINT16);
        put_u64(&b, 2);
        put_u32(&b, 0x00020001u);
        put_kv_u32(&b, "after", 5);
        lc_status st = try_open(b.p, b.n, &err);
        if (depth < LC_GGUF_MAX_ARRAY_DEPTH)
            CHECK(st == LC_OK, "nesting depth %d opens: %s", depth, err.msg);
        else
            CHECK(st == LC_ERR_FORMAT && has(&err, "nests arrays"), "depth %d refused: %s", depth, err.msg);
        if (st == LC_OK) { /* the key after a nested array is still readable, and copy_kv copies it */
            lc_gguf *g;
            CHECK_OK(lc_gguf_open_memory(b.p, b.n, &g, &err), &err);
            uint64_t v = 0;
            lc_gguf_type et;
            uint64_t cnt;
            const void *data = (const void *)1;
            CHECK_OK(lc_gguf_get_u64(g, "after", &v, &err), &err);
            CHECK(v == 5, "after nested");
            CHECK_OK(lc_gguf_get_arr(g, "nested", &et, &cnt, &data, &err), &err);
            CHECK(et == LC_GGUF_ARRAY && cnt == 1 && data == NULL, "nested array info");
            if (depth == 2) {
                lc_gguf_writer *w;
                char path[256];
                tmp_path(path, sizeof path, "nested.gguf");
                CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
                CHECK_OK(lc_gguf_copy_kv(w, g, "nested", &err), &err);
                CHECK_OK(lc_gguf_copy_kv(w, g, "after", &err), &err);
                CHECK(lc_gguf_copy_kv(w, g, "absent", &err) == LC_ERR_INVALID_ARG, "copy of an absent key");
                CHECK_OK(lc_gguf_write(w, path, 0, &err), &err);
                lc_gguf_writer_free(w);
                size_t n;
                uint8_t *again = read_file(path, &n);
                unlink(path);
                CHECK(again && n == b.n && memcmp(again, b.p, n) == 0, "copied metadata is byte-identical");
                free(again);
            }
            lc_gguf_close(g);
        }
        free(b.p);
        memset(&b, 0, sizeof b);
    }
    /* a wide nested array whose inner counts lie */
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, LC_GGUF_ARRAY);
    put_u32(&b, LC_GGUF_ARRAY);
    put_u64(&b, 1);
    put_u32(&b, LC_GGUF_UINT64);
    put_u64(&b, 3);
    put_u64(&b, 1);
    expect_fail(&b, LC_ERR_FORMAT, "runs past the end", "nested lying count");
}

static void test_alignment_and_tensor_refusals(void) {
    const uint64_t ne2[2] = {8, 2};
    buf b = {0};
    /* general.alignment: power of two, u32 */
    const uint32_t bad_align[3] = {0, 3, 48};
    for (int i = 0; i < 3; i++) {
        put_header(&b, 3, 0, 1);
        put_kv_u32(&b, "general.alignment", bad_align[i]);
        expect_fail(&b, LC_ERR_FORMAT, "not a power of two", "bad alignment");
    }
    put_header(&b, 3, 0, 1);
    put_str(&b, "general.alignment");
    put_u32(&b, LC_GGUF_UINT64);
    put_u64(&b, 32);
    expect_fail(&b, LC_ERR_FORMAT, "must be a u32", "alignment of the wrong type");

    /* a valid single tensor, then its variants */
    for (int variant = 0; variant < 10; variant++) {
        put_header(&b, 3, variant == 5 ? 2 : 1, 1);
        put_kv_u32(&b, "general.alignment", 64);
        uint64_t off = variant == 1 ? 32 : (variant == 2 ? 64 : 0);
        uint32_t nd = variant == 3 ? 5 : 2;
        uint64_t ne_bad[5] = {8, variant == 4 ? 0 : 2, 1, 1, 1};
        uint32_t type = variant == 6 ? LC_GGML_TYPE_Q8_0 : (variant == 7 ? 77u : LC_GGML_TYPE_F32);
        if (variant == 8) ne_bad[0] = ne_bad[1] = (uint64_t)1 << 40; /* element count overflows */
        put_tensor_info(&b, "blk.0.attn_q.weight", nd, ne_bad, type, off);
        if (variant == 5) put_tensor_info(&b, variant == 5 ? "blk.0.attn_q.weight" : "x", 2, ne2, 0, 64);
        bool meta_aligned = b.n % 64 == 0;
        if (variant != 9) pad_to(&b, 64);
        static const uint8_t data[128];
        if (variant != 9) put(&b, data, 64);
        switch (variant) {
        case 0: {
            lc_error err;
            CHECK(try_open(b.p, b.n, &err) == LC_OK, "valid tensor: %s", err.msg);
            free(b.p);
            memset(&b, 0, sizeof b);
        } break;
        case 1: expect_fail(&b, LC_ERR_FORMAT, "not a multiple of the alignment 64", "misaligned offset"); break;
        case 2:
            expect_fail(&b, LC_ERR_FORMAT, "'blk.0.attn_q.weight' data [64, 128) runs past the end of the file",
                        "offset past the end");
            break;
        case 3: expect_fail(&b, LC_ERR_FORMAT, "5 dimensions", "too many dims"); break;
        case 4: expect_fail(&b, LC_ERR_FORMAT, "dimension 1 = 0", "zero dim"); break;
        case 5: expect_fail(&b, LC_ERR_FORMAT, "duplicate tensor name 'blk.0.attn_q.weight'", "duplicate tensor"); break;
        case 6: expect_fail(&b, LC_ERR_FORMAT, "not a multiple of its block of 32", "q8_0 partial block"); break;
        case 7: {
            lc_error err;
            lc_gguf *g;
            CHECK_OK(lc_gguf_open_memory(b.p, b.n, &g, &err), &err);
            if (g) {
                const lc_gguf_tensor *t = lc_gguf_tensor_at(g, 0);
                CHECK(t->dtype == LC_DTYPE_COUNT && t->nbytes == 0 && t->data == NULL && t->ggml_type == 77,
                      "unknown type kept, not located");
                lc_gguf_close(g);
            }
            free(b.p);
            memset(&b, 0, sizeof b);
        } break;
        case 8: expect_fail(&b, LC_ERR_FORMAT, "overflow", "huge dims"); break;
        case 9: /* the file ends with the tensor infos */
            expect_fail(&b, LC_ERR_FORMAT, meta_aligned ? "runs past the end" : "padding before the tensor data",
                        "no padding, no data");
            break;
        }
    }
    /* overlapping tensors */
    put_header(&b, 3, 2, 0);
    put_tensor_info(&b, "a", 2, ne2, LC_GGML_TYPE_F32, 0);
    put_tensor_info(&b, "b", 2, ne2, LC_GGML_TYPE_F32, 32);
    pad_to(&b, 32);
    static const uint8_t zeros[128];
    put(&b, zeros, 128);
    expect_fail(&b, LC_ERR_FORMAT, "overlap", "overlapping tensors");
    /* a known quantised type keeps its size and data */
    const uint64_t ne_k[2] = {256, 1};
    put_header(&b, 3, 1, 0);
    put_tensor_info(&b, "k", 2, ne_k, 12 /* q4_K */, 0);
    pad_to(&b, 32);
    put(&b, zeros, 128);
    put(&b, zeros, 16);
    lc_error err;
    lc_gguf *g;
    CHECK_OK(lc_gguf_open_memory(b.p, b.n, &g, &err), &err);
    if (g) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, 0);
        CHECK(t->dtype == LC_DTYPE_Q4_K && t->nbytes == 144 && t->data != NULL, "q4_K: 144 bytes per 256");
        CHECK(strcmp(lc_gguf_ggml_type_name(t->ggml_type), "q4_K") == 0, "type name");
        lc_gguf_close(g);
    }
    free(b.p);
}

static void test_writer_refusals(void) {
    lc_error err;
    lc_gguf_writer *w;
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    float x[64] = {0};
    int64_t ne[2] = {8, 2}, ne_q[2] = {48, 1}, ne0[2] = {0, 1};
    CHECK_OK(lc_gguf_add_tensor(w, "a", LC_DTYPE_F32, 2, ne, x, &err), &err);
    CHECK(lc_gguf_add_tensor(w, "a", LC_DTYPE_F32, 2, ne, x, &err) == LC_ERR_INVALID_ARG, "duplicate name");
    CHECK(lc_gguf_add_tensor(w, "q", LC_DTYPE_Q8_0, 2, ne_q, x, &err) != LC_OK, "q8_0 partial block");
    CHECK(lc_gguf_add_tensor(w, "z", LC_DTYPE_F32, 2, ne0, x, &err) != LC_OK, "zero dim");
    CHECK(lc_gguf_add_tensor(w, "d", LC_DTYPE_F32, 5, ne, x, &err) != LC_OK, "5 dims");
    CHECK(lc_gguf_add_tensor(w, "t", LC_DTYPE_COUNT, 2, ne, x, &err) != LC_OK, "bad dtype");
    CHECK(lc_gguf_add_tensor(w, "this.name.is.longer.than.sixty.three.bytes.which.llama.cpp.refuses", LC_DTYPE_F32,
                             2, ne, x, &err) != LC_OK,
          "long name");
    CHECK(lc_gguf_set_u32(w, "", 1, &err) == LC_ERR_INVALID_ARG, "empty key");
    CHECK(lc_gguf_set_arr(w, "s", LC_GGUF_STRING, x, 1, &err) == LC_ERR_INVALID_ARG, "set_arr of strings");
    char path[256];
    tmp_path(path, sizeof path, "w.gguf");
    CHECK(lc_gguf_write(w, path, 24, &err) == LC_ERR_INVALID_ARG, "alignment 24");
    CHECK(lc_gguf_write(w, "/nonexistent-dir-lc/x.gguf", 32, &err) == LC_ERR_IO, "unwritable path: %s", err.msg);
    CHECK(access(path, F_OK) != 0, "nothing written on failure");
    lc_gguf_writer_free(w);

    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    CHECK(lc_gguf_add_tensor_fn(w, "f", LC_DTYPE_F32, 2, ne, NULL, NULL, &err) == LC_ERR_INVALID_ARG, "NULL fill");
    lc_gguf_writer_free(w);
}

static lc_status failing_fill(void *user, void *dst, size_t nbytes, lc_error *err) {
    (void)user;
    memset(dst, 0, nbytes);
    return lc_fail(err, LC_ERR_IO, "fill failed on purpose");
}

static lc_status counting_fill(void *user, void *dst, size_t nbytes, lc_error *err) {
    (void)err;
    for (size_t i = 0; i < nbytes; i++) ((uint8_t *)dst)[i] = (uint8_t)(i * 7 + *(int *)user);
    return LC_OK;
}

static void test_writer_fill_and_atomicity(void) {
    lc_error err;
    char path[256];
    tmp_path(path, sizeof path, "fill.gguf");
    int64_t ne[2] = {16, 3};
    int salt = 5;
    lc_gguf_writer *w;
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    CHECK_OK(lc_gguf_add_tensor_fn(w, "t", LC_DTYPE_F16, 2, ne, counting_fill, &salt, &err), &err);
    CHECK_OK(lc_gguf_write(w, path, 32, &err), &err);
    lc_gguf_writer_free(w);
    lc_gguf *g;
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (g) {
        const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "t");
        bool ok = t && t->nbytes == 96;
        for (size_t i = 0; ok && i < 96; i++) ok = ((const uint8_t *)t->data)[i] == (uint8_t)(i * 7 + 5);
        CHECK(ok, "fill callback bytes");
        lc_gguf_close(g);
    }
    /* a failing write keeps the previous file intact */
    size_t n0;
    uint8_t *before = read_file(path, &n0);
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    CHECK_OK(lc_gguf_add_tensor_fn(w, "t", LC_DTYPE_F32, 2, ne, failing_fill, NULL, &err), &err);
    CHECK(lc_gguf_write(w, path, 32, &err) == LC_ERR_IO && has(&err, "on purpose"), "fill error: %s", err.msg);
    lc_gguf_writer_free(w);
    size_t n1;
    uint8_t *after = read_file(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0, "failed write left the old file");
    free(before);
    free(after);
    unlink(path);

    /* a vocabulary-only file (no tensors) round-trips */
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    const char *toks[2] = {"a", "b"};
    CHECK_OK(lc_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 2, &err), &err);
    CHECK_OK(lc_gguf_write(w, path, 32, &err), &err);
    lc_gguf_writer_free(w);
    CHECK_OK(lc_gguf_open(path, &g, &err), &err);
    if (g) {
        CHECK(lc_gguf_n_tensors(g) == 0 && lc_gguf_n_kv(g) == 1, "vocab-only");
        lc_gguf_close(g);
    }
    unlink(path);
}

/* ---- Real files ------------------------------------------------------------- */

static void expect_str(const lc_gguf *g, const char *key, const char *want) {
    lc_error err;
    const char *s = NULL;
    size_t len = 0;
    CHECK_OK(lc_gguf_get_str(g, key, &s, &len, &err), &err);
    CHECK(s && len == strlen(want) && memcmp(s, want, len) == 0, "%s = '%.*s', want '%s'", key, (int)len,
          s ? s : "", want);
}

static void expect_tokens(const lc_gguf *g, uint64_t n, uint64_t idx, const char *piece) {
    lc_error err;
    lc_gguf_type et;
    uint64_t cnt = 0;
    CHECK_OK(lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &cnt, NULL, &err), &err);
    CHECK(et == LC_GGUF_STRING && cnt == n, "tokens: %llu, want %llu", (unsigned long long)cnt, (unsigned long long)n);
    const char *s;
    size_t len;
    CHECK_OK(lc_gguf_get_arr_str(g, "tokenizer.ggml.tokens", idx, &s, &len, &err), &err);
    CHECK(len == strlen(piece) && memcmp(s, piece, len) == 0, "token %llu = '%.*s', want '%s'",
          (unsigned long long)idx, (int)len, s, piece);
}

static void test_real_files(void) {
    if (!lc_test_have_shared("test_real_files: the real GGUF models and vocabularies")) return;
    char path[512];
    lc_error err;
    lc_gguf *g = NULL;
    CHECK_OK(lc_gguf_open(lc_test_shared("models/aidreams260K.gguf", path, sizeof path), &g, &err), &err);
    if (g) {
        CHECK(lc_gguf_version(g) == 3 && lc_gguf_alignment(g) == 32, "version/alignment");
        expect_str(g, "general.architecture", "llama");
        expect_str(g, "tokenizer.ggml.model", "llama");
        expect_tokens(g, 512, 1, "<s>");
        uint64_t v;
        CHECK_OK(lc_gguf_get_u64(g, "llama.embedding_length", &v, &err), &err);
        CHECK(v == 64, "embedding_length %llu", (unsigned long long)v);
        CHECK(lc_gguf_n_tensors(g) == 4 * 9 + 3, "39 tensors, got %lld", (long long)lc_gguf_n_tensors(g));
        const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "token_embd.weight");
        CHECK(t && t->dtype == LC_DTYPE_F32 && t->ne[0] == 64 && t->ne[1] == 512 && t->nbytes == 64 * 512 * 4,
              "token_embd");
        t = lc_gguf_find_tensor(g, "blk.3.ffn_down.weight");
        CHECK(t && t->ne[0] == 172 && t->ne[1] == 64, "ffn_down [172, 64]");
        lc_gguf_close(g);
    }
    CHECK_OK(lc_gguf_open(lc_test_shared("vocab/ggml-vocab-llama-spm.gguf", path, sizeof path), &g, &err), &err);
    if (g) {
        CHECK(lc_gguf_n_tensors(g) == 0, "vocabulary-only");
        expect_str(g, "general.architecture", "llama");
        expect_str(g, "tokenizer.ggml.model", "llama");
        expect_tokens(g, 32000, 2, "</s>");
        lc_gguf_type et;
        uint64_t n;
        const void *data;
        CHECK_OK(lc_gguf_get_arr(g, "tokenizer.ggml.scores", &et, &n, &data, &err), &err);
        CHECK(et == LC_GGUF_FLOAT32 && n == 32000 && data, "scores");
        bool b;
        CHECK_OK(lc_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b, &err), &err);
        CHECK(b, "add_bos_token");
        lc_gguf_close(g);
    }
    CHECK_OK(lc_gguf_open(lc_test_shared("vocab/ggml-vocab-gpt-2.gguf", path, sizeof path), &g, &err), &err);
    if (g) {
        expect_str(g, "general.architecture", "gpt2");
        expect_str(g, "tokenizer.ggml.model", "gpt2");
        expect_tokens(g, 50257, 0, "!");
        lc_gguf_type et;
        uint64_t n;
        CHECK_OK(lc_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n, NULL, &err), &err);
        CHECK(et == LC_GGUF_STRING && n == 50000, "merges %llu", (unsigned long long)n);
        lc_gguf_close(g);
    }
    CHECK_OK(lc_gguf_open(lc_test_shared("vocab/ggml-vocab-phi-3.gguf", path, sizeof path), &g, &err), &err);
    if (g) {
        expect_str(g, "general.architecture", "phi3");
        expect_str(g, "tokenizer.ggml.model", "llama");
        expect_tokens(g, 32064, 1, "<s>");
        CHECK(lc_gguf_has(g, "tokenizer.chat_template"), "chat template");
        lc_gguf_close(g);
    }
    /* a llama2.c checkpoint is not GGUF */
    CHECK(lc_gguf_open(lc_test_shared("models/stories260K.bin", path, sizeof path), &g, &err) == LC_ERR_FORMAT &&
              has(&err, "not a GGUF"),
          "bin: %s", err.msg);
    CHECK(lc_gguf_open("/nonexistent/x.gguf", &g, &err) == LC_ERR_IO, "missing file");
    CHECK(lc_gguf_open("/tmp", &g, &err) == LC_ERR_IO, "directory");
    CHECK(lc_gguf_open_read("/nonexistent/x.gguf", &g, &err) == LC_ERR_IO, "missing file (read whole)");
    CHECK(lc_gguf_open_read("/tmp", &g, &err) == LC_ERR_IO, "directory (read whole)");

    /* rewriting every key and tensor of a real file gives an equivalent file */
    CHECK_OK(lc_gguf_open(lc_test_shared("models/aidreams260K.gguf", path, sizeof path), &g, &err), &err);
    if (g) {
        lc_gguf_writer *w;
        CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
        for (int64_t i = 0; i < lc_gguf_n_kv(g); i++) CHECK_OK(lc_gguf_copy_kv(w, g, lc_gguf_key_name(g, i), &err), &err);
        for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
            const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
            CHECK_OK(lc_gguf_add_tensor(w, t->name, t->dtype, t->n_dims, t->ne, t->data, &err), &err);
        }
        char out[256];
        tmp_path(out, sizeof out, "copy.gguf");
        CHECK_OK(lc_gguf_write(w, out, 32, &err), &err);
        lc_gguf_writer_free(w);
        size_t n0, n1;
        uint8_t *a = read_file(path, &n0), *b = read_file(out, &n1);
        /* llama.cpp's writer and ours agree byte for byte on this file */
        CHECK(a && b && n0 == n1 && memcmp(a, b, n0) == 0, "rewrite of aidreams260K.gguf is byte-identical (%zu vs %zu)",
              n0, n1);
        free(a);
        free(b);
        unlink(out);
        lc_gguf_close(g);
    }
}

static void test_type_tables(void) {
    int64_t block;
    size_t bytes;
    CHECK(lc_gguf_ggml_type_size(LC_GGML_TYPE_Q8_0, &block, &bytes) && block == 32 && bytes == sizeof(lc_block_q8_0),
          "q8_0 block matches lc_block_q8_0");
    CHECK(lc_gguf_ggml_type_size(14, &block, &bytes) && block == 256 && bytes == 210, "q6_K");
    CHECK(!lc_gguf_ggml_type_size(4, &block, &bytes) && lc_gguf_ggml_type_name(4) == NULL, "removed type 4");
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        CHECK(lc_gguf_dtype_from_ggml(lc_gguf_ggml_from_dtype((lc_dtype)t)) == (lc_dtype)t, "dtype map %d", t);
    CHECK(lc_gguf_ggml_from_dtype(LC_DTYPE_COUNT) == UINT32_MAX, "unmapped");
    CHECK(strcmp(lc_gguf_type_name(LC_GGUF_ARRAY), "array") == 0 && strcmp(lc_gguf_type_name(LC_GGUF_TYPE_COUNT), "?") == 0,
          "value type names");
}

/* The fuzz seed corpus (written by tools/make_fuzz_corpus.py, an independent
 * Python writer) opens, and the file with every value type reads back. */
static void test_corpus(void) {
    const char *dir = LC_TEST_DATA_DIR "/../../fuzz/corpus/gguf";
    DIR *d = opendir(dir);
    CHECK(d != NULL, "%s exists", dir);
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        lc_gguf *g = NULL;
        lc_error err;
        CHECK_OK(lc_gguf_open(path, &g, &err), &err);
        if (g && strcmp(e->d_name, "all_types.gguf") == 0) {
            int64_t v = 0;
            double f = 0;
            lc_gguf_type et;
            uint64_t cnt;
            CHECK_OK(lc_gguf_get_i64(g, "i64", &v, &err), &err);
            CHECK(v == -((int64_t)1 << 40), "i64");
            CHECK_OK(lc_gguf_get_f64(g, "f64", &f, &err), &err);
            CHECK(f == 0.25, "f64");
            CHECK_OK(lc_gguf_get_arr(g, "arr.nested", &et, &cnt, NULL, &err), &err);
            CHECK(et == LC_GGUF_ARRAY && cnt == 2, "nested");
            CHECK(lc_gguf_alignment(g) == 64 && lc_gguf_n_tensors(g) == 4, "alignment and tensors");
            const lc_gguf_tensor *t = lc_gguf_find_tensor(g, "bf16");
            CHECK(t && t->dtype == LC_DTYPE_BF16 && t->n_dims == 3 && t->nbytes == 16, "bf16 tensor");
        }
        lc_gguf_close(g);
        n++;
    }
    closedir(d);
    CHECK(n >= 4, "%d corpus files", n);
}

/* lc_gguf_file_has_magic: the first four bytes, nothing more. */
static void test_has_magic(void) {
    static const char *const bodies[] = {"GGUF", "GGUF and more", "GGU", "ggufXXXX", ""};
    static const bool want[] = {true, true, false, false, false};
    char path[256];
    tmp_path(path, sizeof path, "magic");
    for (size_t i = 0; i < LC_ARRAY_LEN(bodies); i++) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL, "create %s", path);
        if (!f) return;
        fputs(bodies[i], f);
        fclose(f);
        CHECK(lc_gguf_file_has_magic(path) == want[i], "has magic \"%s\": want %d", bodies[i], want[i]);
    }
    unlink(path);
    CHECK(!lc_gguf_file_has_magic(path), "a missing file");
    CHECK(!lc_gguf_file_has_magic(NULL), "NULL");
    CHECK(!lc_gguf_file_has_magic("/tmp"), "a directory");
}

int main(void) {
    test_has_magic();
    test_type_tables();
    test_corpus();
    test_roundtrip();
    test_truncations();
    test_header_refusals();
    test_metadata_refusals();
    test_alignment_and_tensor_refusals();
    test_writer_refusals();
    test_writer_fill_and_atomicity();
    test_real_files();
    return lc_test_finish("test_gguf");
}
