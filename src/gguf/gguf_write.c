/*
 * GGUF v3 writer. Metadata values are encoded when set; tensors are laid out
 * at write time, each at an offset that is a multiple of the alignment, and
 * streamed to a temporary file that is renamed over the target at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gguf/gguf_internal.h"

/* llama.cpp keeps tensor names in char[GGML_MAX_NAME = 64]. */
#define WRITER_MAX_TENSOR_NAME 63

typedef struct {
    char *key;
    lc_gguf_type type;
    uint8_t *val; /* encoded value (arrays: element type, count, elements) */
    size_t len;
} wkv;

typedef struct {
    char *name;
    lc_dtype dtype;
    uint32_t n_dims;
    int64_t ne[LC_GGUF_MAX_DIMS];
    size_t nbytes;
    uint64_t offset;
    const void *data;     /* borrowed, or NULL with fill */
    lc_gguf_fill_fn fill;
    void *user;
} wtensor;

struct lc_gguf_writer {
    wkv *kv;
    int64_t n_kv, cap_kv;
    wtensor *t;
    int64_t n_t, cap_t;
    lc_progress_fn progress;
    void *progress_user;
};

lc_status lc_gguf_writer_create(lc_gguf_writer **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL output");
    *out = calloc(1, sizeof **out);
    return *out ? LC_OK : lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
}

void lc_gguf_writer_free(lc_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (int64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

void lc_gguf_writer_set_progress(lc_gguf_writer *w, lc_progress_fn fn, void *user) {
    if (!w) return;
    w->progress = fn;
    w->progress_user = user;
}

static bool grow(void **arr, int64_t *cap, int64_t n, size_t elem) {
    if (n < *cap) return true;
    int64_t nc = *cap ? *cap * 2 : 16;
    size_t bytes;
    if (!lc_mul_size((size_t)nc, elem, &bytes)) return false;
    void *p = realloc(*arr, bytes);
    if (!p) return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* Store an encoded value under key (takes ownership of val). */
static lc_status put(lc_gguf_writer *w, const char *key, lc_gguf_type type, uint8_t *val, size_t len, lc_error *err) {
    if (!w || !key) {
        free(val);
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL writer or key");
    }
    size_t klen = strlen(key);
    if (klen == 0 || klen > LC_GGUF_MAX_KEY_LEN) {
        free(val);
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: key length %zu outside 1..%u", klen, LC_GGUF_MAX_KEY_LEN);
    }
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) { /* replace */
            free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = val;
            w->kv[i].len = len;
            return LC_OK;
        }
    }
    char *k = malloc(klen + 1);
    if (!k || !grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv)) {
        free(k);
        free(val);
        return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    }
    memcpy(k, key, klen + 1);
    w->kv[w->n_kv++] = (wkv){k, type, val, len};
    return LC_OK;
}

static lc_status put_scalar(lc_gguf_writer *w, const char *key, lc_gguf_type type, uint64_t bits, lc_error *err) {
    size_t sz = lc_gguf_scalar_size(type);
    uint8_t *v = malloc(8);
    if (!v) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    for (size_t i = 0; i < sz; i++) v[i] = (uint8_t)(bits >> (8 * i));
    return put(w, key, type, v, sz, err);
}

lc_status lc_gguf_set_u8(lc_gguf_writer *w, const char *key, uint8_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_UINT8, v, err);
}
lc_status lc_gguf_set_i8(lc_gguf_writer *w, const char *key, int8_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_INT8, (uint8_t)v, err);
}
lc_status lc_gguf_set_u16(lc_gguf_writer *w, const char *key, uint16_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_UINT16, v, err);
}
lc_status lc_gguf_set_i16(lc_gguf_writer *w, const char *key, int16_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_INT16, (uint16_t)v, err);
}
lc_status lc_gguf_set_u32(lc_gguf_writer *w, const char *key, uint32_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_UINT32, v, err);
}
lc_status lc_gguf_set_i32(lc_gguf_writer *w, const char *key, int32_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_INT32, (uint32_t)v, err);
}
lc_status lc_gguf_set_u64(lc_gguf_writer *w, const char *key, uint64_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_UINT64, v, err);
}
lc_status lc_gguf_set_i64(lc_gguf_writer *w, const char *key, int64_t v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_INT64, (uint64_t)v, err);
}
lc_status lc_gguf_set_f32(lc_gguf_writer *w, const char *key, float v, lc_error *err) {
    uint32_t b;
    memcpy(&b, &v, 4);
    return put_scalar(w, key, LC_GGUF_FLOAT32, b, err);
}
lc_status lc_gguf_set_f64(lc_gguf_writer *w, const char *key, double v, lc_error *err) {
    uint64_t b;
    memcpy(&b, &v, 8);
    return put_scalar(w, key, LC_GGUF_FLOAT64, b, err);
}
lc_status lc_gguf_set_bool(lc_gguf_writer *w, const char *key, bool v, lc_error *err) {
    return put_scalar(w, key, LC_GGUF_BOOL, v ? 1u : 0u, err);
}

lc_status lc_gguf_set_strn(lc_gguf_writer *w, const char *key, const char *v, size_t len, lc_error *err) {
    if (!v && len) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL string for '%s'", key ? key : "?");
    size_t total;
    if (!lc_add_size(len, 8, &total)) return lc_fail(err, LC_ERR_TOO_LARGE, "gguf writer: string too long");
    uint8_t *b = malloc(total);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    lc_wr64(b, len);
    if (len) memcpy(b + 8, v, len);
    return put(w, key, LC_GGUF_STRING, b, total, err);
}

lc_status lc_gguf_set_str(lc_gguf_writer *w, const char *key, const char *v, lc_error *err) {
    if (!v) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL string for '%s'", key ? key : "?");
    return lc_gguf_set_strn(w, key, v, strlen(v), err);
}

lc_status lc_gguf_set_arr(lc_gguf_writer *w, const char *key, lc_gguf_type elem_type, const void *v, uint64_t n,
                          lc_error *err) {
    size_t esz = lc_gguf_scalar_size(elem_type);
    if (!esz)
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: lc_gguf_set_arr takes numeric or bool elements, not %s",
                       lc_gguf_type_name(elem_type));
    if (!v && n) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL array for '%s'", key ? key : "?");
    size_t body, total;
    if (n > SIZE_MAX || !lc_mul_size((size_t)n, esz, &body) || !lc_add_size(body, 12, &total))
        return lc_fail(err, LC_ERR_TOO_LARGE, "gguf writer: array of %llu elements is too large",
                       (unsigned long long)n);
    uint8_t *b = malloc(total);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    lc_wr32(b, (uint32_t)elem_type);
    lc_wr64(b + 4, n);
    const uint8_t *src = v;
    for (size_t i = 0; i < (size_t)n; i++) {
        uint64_t bits = 0;
        switch (esz) {
        case 1: bits = src[i] != 0 && elem_type == LC_GGUF_BOOL ? 1u : src[i]; break;
        case 2: { uint16_t x; memcpy(&x, src + 2 * i, 2); bits = x; } break;
        case 4: { uint32_t x; memcpy(&x, src + 4 * i, 4); bits = x; } break;
        default: memcpy(&bits, src + 8 * i, 8); break;
        }
        for (size_t k = 0; k < esz; k++) b[12 + i * esz + k] = (uint8_t)(bits >> (8 * k));
    }
    return put(w, key, LC_GGUF_ARRAY, b, total, err);
}

lc_status lc_gguf_set_arr_f32(lc_gguf_writer *w, const char *key, const float *v, uint64_t n, lc_error *err) {
    return lc_gguf_set_arr(w, key, LC_GGUF_FLOAT32, v, n, err);
}

lc_status lc_gguf_set_arr_i32(lc_gguf_writer *w, const char *key, const int32_t *v, uint64_t n, lc_error *err) {
    return lc_gguf_set_arr(w, key, LC_GGUF_INT32, v, n, err);
}

lc_status lc_gguf_set_arr_strn(lc_gguf_writer *w, const char *key, const char *const *v, const size_t *lens,
                               uint64_t n, lc_error *err) {
    if ((!v || !lens) && n) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL strings for '%s'", key ? key : "?");
    size_t total = 12;
    for (uint64_t i = 0; i < n; i++) {
        if (!v[i] && lens[i]) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL string %llu", (unsigned long long)i);
        if (!lc_add_size(total, 8, &total) || !lc_add_size(total, lens[i], &total))
            return lc_fail(err, LC_ERR_TOO_LARGE, "gguf writer: string array too large");
    }
    uint8_t *b = malloc(total);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    lc_wr32(b, LC_GGUF_STRING);
    lc_wr64(b + 4, n);
    size_t pos = 12;
    for (uint64_t i = 0; i < n; i++) {
        lc_wr64(b + pos, lens[i]);
        pos += 8;
        if (lens[i]) memcpy(b + pos, v[i], lens[i]);
        pos += lens[i];
    }
    return put(w, key, LC_GGUF_ARRAY, b, total, err);
}

lc_status lc_gguf_set_arr_str(lc_gguf_writer *w, const char *key, const char *const *v, uint64_t n, lc_error *err) {
    if (!v && n) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL strings for '%s'", key ? key : "?");
    if (n > SIZE_MAX / sizeof(size_t)) return lc_fail(err, LC_ERR_TOO_LARGE, "gguf writer: string array too large");
    size_t *lens = malloc((n ? (size_t)n : 1) * sizeof *lens);
    if (!lens) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    for (uint64_t i = 0; i < n; i++) lens[i] = v[i] ? strlen(v[i]) : 0;
    lc_status st = lc_gguf_set_arr_strn(w, key, v, lens, n, err);
    free(lens);
    return st;
}

lc_status lc_gguf_copy_kv(lc_gguf_writer *w, const lc_gguf *src, const char *key, lc_error *err) {
    int64_t i = lc_gguf_find_key(src, key);
    const uint8_t *p;
    size_t len;
    if (i < 0 || !lc_gguf_raw_value(src, i, &p, &len))
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: source has no key '%s'", key ? key : "?");
    uint8_t *b = malloc(len ? len : 1);
    if (!b) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(b, p, len);
    return put(w, key, lc_gguf_key_type(src, i), b, len, err);
}

/* ---- Tensors ---------------------------------------------------------------- */

static lc_status add_tensor(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims, const int64_t *ne,
                            const void *data, lc_gguf_fill_fn fill, void *user, lc_error *err) {
    if (!w || !name || !ne || (!data && !fill))
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL writer, name, shape or data");
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > WRITER_MAX_TENSOR_NAME)
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: tensor name '%s' must be 1..%d bytes (llama.cpp's limit)",
                       name, WRITER_MAX_TENSOR_NAME);
    uint32_t gt = lc_gguf_ggml_from_dtype(dtype);
    if (gt == UINT32_MAX) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown dtype %d", name, (int)dtype);
    if (n_dims < 1 || n_dims > LC_GGUF_MAX_DIMS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: tensor '%s' has %u dims (1..%d)", name, (unsigned)n_dims,
                       LC_GGUF_MAX_DIMS);
    for (int64_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: tensor '%s' added twice", name);
    wtensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.n_dims = n_dims;
    for (int d = 0; d < LC_GGUF_MAX_DIMS; d++) t.ne[d] = d < (int)n_dims ? ne[d] : 1;
    lc_status st = lc_gguf_tensor_nbytes(gt, t.ne, &t.nbytes, name, err);
    if (st != LC_OK) return err ? (err->status = LC_ERR_INVALID_ARG) : LC_ERR_INVALID_ARG;
    t.data = data;
    t.fill = fill;
    t.user = user;
    t.name = malloc(nlen + 1);
    if (!t.name || !grow((void **)&w->t, &w->cap_t, w->n_t, sizeof *w->t)) {
        free(t.name);
        return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    }
    memcpy(t.name, name, nlen + 1);
    w->t[w->n_t++] = t;
    return LC_OK;
}

lc_status lc_gguf_add_tensor(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims, const int64_t *ne,
                             const void *data, lc_error *err) {
    return add_tensor(w, name, dtype, n_dims, ne, data, NULL, NULL, err);
}

lc_status lc_gguf_add_tensor_fn(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims,
                                const int64_t *ne, lc_gguf_fill_fn fill, void *user, lc_error *err) {
    if (!fill) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL fill function");
    return add_tensor(w, name, dtype, n_dims, ne, NULL, fill, user, err);
}

/* ---- Writing ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    const char *path;
    lc_error *err;
    lc_status st;
} out_file;

static bool put_bytes(out_file *o, const void *p, size_t n) {
    if (o->st != LC_OK) return false;
    if (n && fwrite(p, 1, n, o->f) != n) {
        o->st = lc_fail(o->err, LC_ERR_IO, "gguf writer: writing %s failed: %s", o->path, strerror(errno));
        return false;
    }
    return true;
}

static bool put_u32(out_file *o, uint32_t v) {
    uint8_t b[4];
    lc_wr32(b, v);
    return put_bytes(o, b, 4);
}

static bool put_u64(out_file *o, uint64_t v) {
    uint8_t b[8];
    lc_wr64(b, v);
    return put_bytes(o, b, 8);
}

static bool put_str(out_file *o, const char *s) {
    size_t n = strlen(s);
    return put_u64(o, n) && put_bytes(o, s, n);
}

static bool put_zeros(out_file *o, size_t n) {
    static const uint8_t zeros[256];
    while (n > 0 && o->st == LC_OK) {
        size_t k = LC_MIN(n, sizeof zeros);
        put_bytes(o, zeros, k);
        n -= k;
    }
    return o->st == LC_OK;
}

static size_t pad_to(uint64_t pos, size_t alignment) { return (size_t)((alignment - pos % alignment) % alignment); }

/* Open "<path>.tmp.<pid>.<k>" exclusively, mode 0666 & ~umask like fopen. */
static int open_temp(const char *path, char *tmp, size_t cap) {
    for (int k = 0; k < 100; k++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

static void write_body(lc_gguf_writer *w, out_file *o, size_t alignment) {
    uint64_t total = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = total;
        total += w->t[i].nbytes + pad_to(w->t[i].nbytes, alignment);
    }
    put_u32(o, LC_GGUF_MAGIC);
    put_u32(o, LC_GGUF_VERSION);
    put_u64(o, (uint64_t)w->n_t);
    put_u64(o, (uint64_t)w->n_kv);
    uint64_t pos = 24;
    for (int64_t i = 0; i < w->n_kv && o->st == LC_OK; i++) {
        put_str(o, w->kv[i].key);
        put_u32(o, (uint32_t)w->kv[i].type);
        put_bytes(o, w->kv[i].val, w->kv[i].len);
        pos += 8 + strlen(w->kv[i].key) + 4 + w->kv[i].len;
    }
    for (int64_t i = 0; i < w->n_t && o->st == LC_OK; i++) {
        const wtensor *t = &w->t[i];
        put_str(o, t->name);
        put_u32(o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(o, (uint64_t)t->ne[d]);
        put_u32(o, lc_gguf_ggml_from_dtype(t->dtype));
        put_u64(o, t->offset);
        pos += 8 + strlen(t->name) + 4 + 8ull * t->n_dims + 4 + 8;
    }
    if (w->n_t == 0) return; /* vocabulary-only: nothing after the metadata */
    put_zeros(o, pad_to(pos, alignment));

    size_t buf_cap = 0;
    void *buf = NULL;
    uint64_t done = 0;
    for (int64_t i = 0; i < w->n_t && o->st == LC_OK; i++) {
        const wtensor *t = &w->t[i];
        const void *src = t->data;
        if (t->fill) {
            if (t->nbytes > buf_cap) {
                free(buf);
                buf = malloc(t->nbytes);
                buf_cap = buf ? t->nbytes : 0;
                if (!buf) {
                    o->st = lc_fail(o->err, LC_ERR_NOMEM, "gguf writer: out of memory for tensor '%s' (%zu bytes)",
                                    t->name, t->nbytes);
                    break;
                }
            }
            lc_status st = t->fill(t->user, buf, t->nbytes, o->err);
            if (st != LC_OK) {
                o->st = st;
                break;
            }
            src = buf;
        }
        put_bytes(o, src, t->nbytes);
        put_zeros(o, pad_to(t->nbytes, alignment));
        done += t->nbytes;
        if (w->progress && !w->progress(w->progress_user, (double)done, (double)total, "writing") &&
            o->st == LC_OK)
            o->st = lc_fail(o->err, LC_ERR_CANCELLED, "gguf writer: cancelled");
    }
    free(buf);
}

lc_status lc_gguf_write(lc_gguf_writer *w, const char *path, size_t alignment, lc_error *err) {
    if (!w || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: NULL writer or path");
    if (alignment == 0) alignment = LC_GGUF_DEFAULT_ALIGNMENT;
    if ((alignment & (alignment - 1)) || alignment > UINT32_MAX)
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf writer: alignment %zu is not a power of two", alignment);
    bool has_key = false;
    for (int64_t i = 0; i < w->n_kv; i++) has_key |= strcmp(w->kv[i].key, "general.alignment") == 0;
    if (has_key || alignment != LC_GGUF_DEFAULT_ALIGNMENT) {
        lc_status st = lc_gguf_set_u32(w, "general.alignment", (uint32_t)alignment, err);
        if (st != LC_OK) return st;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 64);
    if (!tmp) return lc_fail(err, LC_ERR_NOMEM, "gguf writer: out of memory");
    int fd = open_temp(path, tmp, plen + 64);
    if (fd < 0) {
        lc_status st = lc_fail(err, LC_ERR_IO, "gguf writer: cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    out_file o = {fdopen(fd, "wb"), path, err, LC_OK};
    if (!o.f) {
        o.st = lc_fail(err, LC_ERR_IO, "gguf writer: fdopen failed: %s", strerror(errno));
        close(fd);
    } else {
        /* 8 MiB writes at 8 MiB offsets: the page cache can hold what is
         * written in 2 MiB folios, which a mapping of the file then maps whole
         * (docs/performance.md) */
        setvbuf(o.f, NULL, _IOFBF, (size_t)8 << 20);
        write_body(w, &o, alignment);
        if (o.st == LC_OK && (fflush(o.f) != 0 || fsync(fileno(o.f)) != 0))
            o.st = lc_fail(err, LC_ERR_IO, "gguf writer: flushing %s failed: %s", path, strerror(errno));
        if (fclose(o.f) != 0 && o.st == LC_OK)
            o.st = lc_fail(err, LC_ERR_IO, "gguf writer: closing %s failed: %s", path, strerror(errno));
    }
    if (o.st == LC_OK && rename(tmp, path) != 0)
        o.st = lc_fail(err, LC_ERR_IO, "gguf writer: cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (o.st != LC_OK) unlink(tmp);
    free(tmp);
    return o.st;
}
