/*
 * GGUF reader: parse and validate a whole file up front, then answer lookups.
 *
 * Parsing walks the file once with a bounds-checked cursor. Every count read
 * from the file is only trusted after the bytes it claims have been seen:
 * tables grow as entries are actually parsed, so a lying n_kv or n_tensors
 * costs nothing but a clear error. Keys and tensor names are indexed in
 * open-addressing hash tables (which also find duplicates).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf_internal.h"

typedef struct {
    char *key;            /* NUL-terminated copy                               */
    size_t key_len;
    lc_gguf_type type;
    size_t val_off;       /* offset of the value; arrays: of their first element */
    size_t val_len;       /* encoded bytes from val_off (arrays: elements only)  */
    lc_gguf_type arr_type;
    uint64_t arr_n;
    size_t *str_off;      /* arrays of strings: offset of each element's length */
} gguf_kv;

struct lc_gguf {
    const uint8_t *base;  /* file bytes                                        */
    size_t size;
    void *map;            /* non-NULL when we own an mmap of size bytes        */
    uint32_t version;
    size_t alignment;
    size_t data_off;      /* start of the tensor data section                  */
    gguf_kv *kv;
    int64_t n_kv;
    lc_gguf_tensor *tensors;
    int64_t n_tensors;
    int64_t *kv_index;    /* hash slots -> kv index, -1 empty; kv_cap slots    */
    size_t kv_cap;
    int64_t *t_index;
    size_t t_cap;
};

/* ---- Cursor --------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t size;
    size_t pos;
    lc_error *err;
} cursor;

static size_t remaining(const cursor *c) { return c->size - c->pos; }

static lc_status truncated(cursor *c, size_t need, const char *what) {
    return lc_fail(c->err, LC_ERR_FORMAT,
                   "gguf: file ends while reading %s: %zu bytes needed at offset %zu, %zu left (file size %zu)", what,
                   need, c->pos, remaining(c), c->size);
}

static lc_status need(cursor *c, size_t n, const char *what) {
    return n <= remaining(c) ? LC_OK : truncated(c, n, what);
}

static lc_status rd_u32(cursor *c, uint32_t *v, const char *what) {
    if (need(c, 4, what) != LC_OK) return LC_ERR_FORMAT;
    *v = lc_rd32(c->p + c->pos);
    c->pos += 4;
    return LC_OK;
}

static lc_status rd_u64(cursor *c, uint64_t *v, const char *what) {
    if (need(c, 8, what) != LC_OK) return LC_ERR_FORMAT;
    *v = lc_rd64(c->p + c->pos);
    c->pos += 8;
    return LC_OK;
}

/* A GGUF string: u64 length + bytes. Leaves its offset and length. */
static lc_status rd_str(cursor *c, size_t max_len, size_t *off, size_t *len, const char *what) {
    uint64_t n;
    if (rd_u64(c, &n, what) != LC_OK) return LC_ERR_FORMAT;
    if (n > remaining(c))
        return lc_fail(c->err, LC_ERR_FORMAT,
                       "gguf: %s claims %llu bytes at offset %zu but only %zu remain (file size %zu)", what,
                       (unsigned long long)n, c->pos, remaining(c), c->size);
    if (n > max_len)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: %s at offset %zu is %llu bytes long (limit %zu)", what, c->pos,
                       (unsigned long long)n, max_len);
    *off = c->pos;
    *len = (size_t)n;
    c->pos += (size_t)n;
    return LC_OK;
}

static char *copy_name(const uint8_t *p, size_t len) {
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

/* Printable version of a key/name for messages (stops at odd bytes). */
static const char *printable(const char *s, char *buf, size_t cap) {
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) buf[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* ---- Values --------------------------------------------------------------- */

/* Skip one value of type t (arrays recursively, depth bounded). Each array
 * element consumes at least one byte, so the work is bounded by the file. */
static lc_status skip_value(cursor *c, lc_gguf_type t, int depth, const char *key) {
    size_t sz = lc_gguf_scalar_size(t);
    if (sz) {
        if (need(c, sz, "a metadata value") != LC_OK) return LC_ERR_FORMAT;
        c->pos += sz;
        return LC_OK;
    }
    if (t == LC_GGUF_STRING) {
        size_t off, len;
        return rd_str(c, SIZE_MAX, &off, &len, "a string value");
    }
    if (t != LC_GGUF_ARRAY)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: key '%s' has unknown value type %u at offset %zu", key,
                       (unsigned)t, c->pos);
    if (depth >= LC_GGUF_MAX_ARRAY_DEPTH)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: key '%s' nests arrays deeper than %d levels", key,
                       LC_GGUF_MAX_ARRAY_DEPTH);
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et, "an array element type") != LC_OK || rd_u64(c, &n, "an array length") != LC_OK)
        return LC_ERR_FORMAT;
    if (et >= LC_GGUF_TYPE_COUNT)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: key '%s' is an array of unknown type %u", key, (unsigned)et);
    size_t esz = lc_gguf_scalar_size((lc_gguf_type)et);
    if (esz) {
        size_t bytes;
        if (n > SIZE_MAX / esz || !lc_mul_size((size_t)n, esz, &bytes) || bytes > remaining(c))
            return lc_fail(c->err, LC_ERR_FORMAT,
                           "gguf: key '%s': array of %llu %s runs past the end of the file (offset %zu, size %zu)", key,
                           (unsigned long long)n, lc_gguf_type_name((lc_gguf_type)et), c->pos, c->size);
        c->pos += bytes;
        return LC_OK;
    }
    /* strings take >= 8 bytes each, arrays >= 12: refuse impossible counts early */
    size_t min_elem = et == LC_GGUF_STRING ? 8 : 12;
    if (n > remaining(c) / min_elem)
        return lc_fail(c->err, LC_ERR_FORMAT,
                       "gguf: key '%s': array of %llu %s cannot fit in the %zu bytes left (offset %zu)", key,
                       (unsigned long long)n, lc_gguf_type_name((lc_gguf_type)et), remaining(c), c->pos);
    for (uint64_t i = 0; i < n; i++) {
        lc_status st = skip_value(c, (lc_gguf_type)et, depth + 1, key);
        if (st != LC_OK) return st;
    }
    return LC_OK;
}

static lc_status parse_kv(cursor *c, gguf_kv *kv, int64_t idx) {
    char what[48];
    snprintf(what, sizeof what, "the key of metadata entry %lld", (long long)idx);
    size_t koff, klen;
    if (rd_str(c, LC_GGUF_MAX_KEY_LEN, &koff, &klen, what) != LC_OK) return LC_ERR_FORMAT;
    if (klen == 0) return lc_fail(c->err, LC_ERR_FORMAT, "gguf: metadata entry %lld has an empty key", (long long)idx);
    if (memchr(c->p + koff, '\0', klen))
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: metadata key %lld contains a NUL byte", (long long)idx);
    kv->key = copy_name(c->p + koff, klen);
    if (!kv->key) return lc_fail(c->err, LC_ERR_NOMEM, "gguf: out of memory copying a key");
    kv->key_len = klen;
    uint32_t t;
    if (rd_u32(c, &t, "a value type") != LC_OK) return LC_ERR_FORMAT;
    if (t >= LC_GGUF_TYPE_COUNT)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: key '%s' has unknown value type %u", kv->key, (unsigned)t);
    kv->type = (lc_gguf_type)t;
    if (kv->type != LC_GGUF_ARRAY) {
        kv->val_off = c->pos;
        lc_status st = skip_value(c, kv->type, 0, kv->key);
        kv->val_len = c->pos - kv->val_off;
        return st;
    }
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et, "an array element type") != LC_OK || rd_u64(c, &n, "an array length") != LC_OK)
        return LC_ERR_FORMAT;
    if (et >= LC_GGUF_TYPE_COUNT)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: key '%s' is an array of unknown type %u", kv->key, (unsigned)et);
    kv->arr_type = (lc_gguf_type)et;
    kv->arr_n = n;
    kv->val_off = c->pos;
    if (kv->arr_type == LC_GGUF_STRING) {
        /* Index the strings so element i is O(1). n * 8 <= remaining bytes, so
         * the index is at most as large as the file. */
        if (n > remaining(c) / 8)
            return lc_fail(c->err, LC_ERR_FORMAT,
                           "gguf: key '%s': array of %llu strings cannot fit in the %zu bytes left (offset %zu)",
                           kv->key, (unsigned long long)n, remaining(c), c->pos);
        kv->str_off = malloc((n ? (size_t)n : 1) * sizeof(size_t));
        if (!kv->str_off) return lc_fail(c->err, LC_ERR_NOMEM, "gguf: out of memory indexing '%s'", kv->key);
        for (uint64_t i = 0; i < n; i++) {
            kv->str_off[i] = c->pos;
            size_t off, len;
            if (rd_str(c, SIZE_MAX, &off, &len, "a string array element") != LC_OK) return LC_ERR_FORMAT;
        }
    } else {
        c->pos -= 12; /* re-read the array header in skip_value */
        lc_status st = skip_value(c, LC_GGUF_ARRAY, 0, kv->key);
        if (st != LC_OK) return st;
    }
    kv->val_len = c->pos - kv->val_off;
    return LC_OK;
}

/* ---- Hash indexes ---------------------------------------------------------- */

static size_t table_cap(int64_t n) {
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    return cap;
}

/* Insert name (len bytes) as item i; returns the index of an equal name
 * already present, or -1. */
static int64_t table_insert(int64_t *slots, size_t cap, const char *name, size_t len, int64_t i,
                            const char *(*name_of)(const lc_gguf *, int64_t), const lc_gguf *g) {
    size_t h = (size_t)lc_gguf_hash(name, len) & (cap - 1);
    while (slots[h] >= 0) {
        const char *other = name_of(g, slots[h]);
        if (strlen(other) == len && memcmp(other, name, len) == 0) return slots[h];
        h = (h + 1) & (cap - 1);
    }
    slots[h] = i;
    return -1;
}

static int64_t table_find(const int64_t *slots, size_t cap, const char *name,
                          const char *(*name_of)(const lc_gguf *, int64_t), const lc_gguf *g) {
    if (!slots || !name) return -1;
    size_t len = strlen(name);
    size_t h = (size_t)lc_gguf_hash(name, len) & (cap - 1);
    while (slots[h] >= 0) {
        const char *other = name_of(g, slots[h]);
        if (strcmp(other, name) == 0) return slots[h];
        h = (h + 1) & (cap - 1);
    }
    return -1;
}

static const char *kv_name_of(const lc_gguf *g, int64_t i) { return g->kv[i].key; }
static const char *tensor_name_of(const lc_gguf *g, int64_t i) { return g->tensors[i].name; }

static lc_status build_index(lc_gguf *g, bool tensors, lc_error *err) {
    int64_t n = tensors ? g->n_tensors : g->n_kv;
    size_t cap = table_cap(n);
    int64_t *slots = malloc(cap * sizeof *slots);
    if (!slots) return lc_fail(err, LC_ERR_NOMEM, "gguf: out of memory building an index");
    for (size_t i = 0; i < cap; i++) slots[i] = -1;
    if (tensors) {
        g->t_index = slots;
        g->t_cap = cap;
    } else {
        g->kv_index = slots;
        g->kv_cap = cap;
    }
    char buf[96];
    for (int64_t i = 0; i < n; i++) {
        const char *name = tensors ? g->tensors[i].name : g->kv[i].key;
        int64_t dup = table_insert(slots, cap, name, strlen(name), i, tensors ? tensor_name_of : kv_name_of, g);
        if (dup >= 0)
            return lc_fail(err, LC_ERR_FORMAT, "gguf: duplicate %s '%s' (entries %lld and %lld)",
                           tensors ? "tensor name" : "key", printable(name, buf, sizeof buf), (long long)dup,
                           (long long)i);
    }
    return LC_OK;
}

/* ---- Tensor infos ---------------------------------------------------------- */

static lc_status parse_tensor_info(cursor *c, lc_gguf_tensor *t, int64_t idx) {
    char what[48];
    snprintf(what, sizeof what, "the name of tensor %lld", (long long)idx);
    size_t noff, nlen;
    if (rd_str(c, LC_GGUF_MAX_NAME_LEN, &noff, &nlen, what) != LC_OK) return LC_ERR_FORMAT;
    if (nlen == 0) return lc_fail(c->err, LC_ERR_FORMAT, "gguf: tensor %lld has an empty name", (long long)idx);
    if (memchr(c->p + noff, '\0', nlen))
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: the name of tensor %lld contains a NUL byte", (long long)idx);
    char *name = copy_name(c->p + noff, nlen);
    if (!name) return lc_fail(c->err, LC_ERR_NOMEM, "gguf: out of memory copying a tensor name");
    t->name = name;
    char buf[96];
    const char *pn = printable(name, buf, sizeof buf);
    uint32_t nd;
    if (rd_u32(c, &nd, "a tensor's dimension count") != LC_OK) return LC_ERR_FORMAT;
    if (nd < 1 || nd > LC_GGUF_MAX_DIMS)
        return lc_fail(c->err, LC_ERR_FORMAT, "gguf: tensor '%s' has %u dimensions (expected 1..%d)", pn, (unsigned)nd,
                       LC_GGUF_MAX_DIMS);
    t->n_dims = nd;
    for (int d = 0; d < LC_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        if (rd_u64(c, &v, "a tensor dimension") != LC_OK) return LC_ERR_FORMAT;
        if (v == 0 || v > (uint64_t)INT64_MAX)
            return lc_fail(c->err, LC_ERR_FORMAT, "gguf: tensor '%s' has dimension %u = %llu (must be 1..2^63-1)", pn,
                           (unsigned)d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
    }
    uint32_t type;
    uint64_t off;
    if (rd_u32(c, &type, "a tensor type") != LC_OK || rd_u64(c, &off, "a tensor offset") != LC_OK)
        return LC_ERR_FORMAT;
    t->ggml_type = type;
    t->dtype = lc_gguf_dtype_from_ggml(type);
    t->offset = off;
    return lc_gguf_tensor_nbytes(type, t->ne, &t->nbytes, pn, c->err);
}

typedef struct {
    uint64_t off;
    size_t nbytes;
    int64_t idx;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->off < y->off ? -1 : (x->off > y->off ? 1 : 0);
}

/* Data ranges: aligned, inside the file, not overlapping. */
static lc_status check_tensor_data(lc_gguf *g, lc_error *err) {
    size_t data_size = g->size - g->data_off;
    char buf[96];
    int64_t n_spans = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        lc_gguf_tensor *t = &g->tensors[i];
        const char *pn = printable(t->name, buf, sizeof buf);
        if (t->offset % g->alignment)
            return lc_fail(err, LC_ERR_FORMAT, "gguf: tensor '%s' data offset %llu is not a multiple of the alignment %zu",
                           pn, (unsigned long long)t->offset, g->alignment);
        if (t->nbytes == 0) continue; /* unknown type: data not located */
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return lc_fail(err, LC_ERR_FORMAT,
                           "gguf: tensor '%s' data [%llu, %llu) runs past the end of the file (size %zu, data section "
                           "%zu bytes from offset %zu)",
                           pn, (unsigned long long)t->offset, (unsigned long long)t->offset + t->nbytes, g->size,
                           data_size, g->data_off);
        t->data = g->base + g->data_off + t->offset;
        n_spans++;
    }
    if (n_spans < 2) return LC_OK;
    span *s = malloc((size_t)n_spans * sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "gguf: out of memory checking tensor ranges");
    int64_t k = 0;
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].nbytes) s[k++] = (span){g->tensors[i].offset, g->tensors[i].nbytes, i};
    qsort(s, (size_t)n_spans, sizeof *s, span_cmp);
    lc_status st = LC_OK;
    for (int64_t i = 1; i < n_spans; i++) {
        if (s[i].off < s[i - 1].off + s[i - 1].nbytes) {
            char b2[96];
            st = lc_fail(err, LC_ERR_FORMAT, "gguf: tensors '%s' and '%s' overlap in the data section",
                         printable(g->tensors[s[i - 1].idx].name, buf, sizeof buf),
                         printable(g->tensors[s[i].idx].name, b2, sizeof b2));
            break;
        }
    }
    free(s);
    return st;
}

/* ---- Open / close ---------------------------------------------------------- */

/* Grow an array of elem-sized items to hold at least n+1 (doubling). */
static bool grow(void **arr, int64_t *cap, int64_t n, size_t elem) {
    if (n < *cap) return true;
    int64_t nc = *cap ? *cap * 2 : 16;
    size_t bytes;
    if (!lc_mul_size((size_t)nc, elem, &bytes)) return false;
    void *p = realloc(*arr, bytes);
    if (!p) return false;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return true;
}

static lc_status parse(lc_gguf *g, lc_error *err) {
    cursor c = {g->base, g->size, 0, err};
    uint32_t version;
    if (g->size < 4 || lc_rd32(g->base) != LC_GGUF_MAGIC)
        return lc_fail(err, LC_ERR_FORMAT, "gguf: not a GGUF file (no \"GGUF\" magic at the start)");
    c.pos = 4;
    if (rd_u32(&c, &version, "the version") != LC_OK) return LC_ERR_FORMAT;
    if (version == 1)
        return lc_fail(err, LC_ERR_UNSUPPORTED,
                       "gguf: version 1 files are not supported (only v2 and v3): re-convert it with a current llama.cpp");
    if (version != 2 && version != 3) {
        uint32_t swapped = __builtin_bswap32(version);
        if (swapped == 2 || swapped == 3)
            return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf: big-endian GGUF (v%u) is not supported", (unsigned)swapped);
        return lc_fail(err, LC_ERR_UNSUPPORTED, "gguf: unknown version %u (only 2 and 3 are supported)",
                       (unsigned)version);
    }
    g->version = version;
    uint64_t n_tensors, n_kv;
    if (rd_u64(&c, &n_tensors, "the tensor count") != LC_OK || rd_u64(&c, &n_kv, "the metadata count") != LC_OK)
        return LC_ERR_FORMAT;
    /* A key-value takes >= 14 bytes (8 length + 1 key byte + 4 type + 1 value),
     * a tensor info >= 33: counts beyond that are lies. */
    if (n_kv > remaining(&c) / 14)
        return lc_fail(err, LC_ERR_FORMAT, "gguf: header claims %llu metadata entries, more than the %zu-byte file can hold",
                       (unsigned long long)n_kv, g->size);
    if (n_tensors > remaining(&c) / 33)
        return lc_fail(err, LC_ERR_FORMAT, "gguf: header claims %llu tensors, more than the %zu-byte file can hold",
                       (unsigned long long)n_tensors, g->size);

    int64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (!grow((void **)&g->kv, &cap, g->n_kv, sizeof *g->kv))
            return lc_fail(err, LC_ERR_NOMEM, "gguf: out of memory reading metadata");
        g->n_kv++;
        lc_status st = parse_kv(&c, &g->kv[g->n_kv - 1], (int64_t)i);
        if (st != LC_OK) return st;
    }
    lc_status st = build_index(g, false, err);
    if (st != LC_OK) return st;

    g->alignment = LC_GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = lc_gguf_find_key(g, "general.alignment");
    if (ai >= 0) {
        if (g->kv[ai].type != LC_GGUF_UINT32)
            return lc_fail(err, LC_ERR_FORMAT, "gguf: general.alignment must be a u32 (it is a %s)",
                           lc_gguf_type_name(g->kv[ai].type));
        uint32_t a = lc_rd32(g->base + g->kv[ai].val_off);
        if (a == 0 || (a & (a - 1)))
            return lc_fail(err, LC_ERR_FORMAT, "gguf: general.alignment = %u is not a power of two", (unsigned)a);
        g->alignment = a;
    }

    cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (!grow((void **)&g->tensors, &cap, g->n_tensors, sizeof *g->tensors))
            return lc_fail(err, LC_ERR_NOMEM, "gguf: out of memory reading tensor infos");
        g->n_tensors++;
        st = parse_tensor_info(&c, &g->tensors[g->n_tensors - 1], (int64_t)i);
        if (st != LC_OK) return st;
    }
    st = build_index(g, true, err);
    if (st != LC_OK) return st;

    /* The data section starts at the next multiple of the alignment. A file
     * without tensors may end right after its metadata. */
    size_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    if (g->n_tensors == 0) {
        g->data_off = pad <= remaining(&c) ? c.pos + pad : g->size;
        return LC_OK;
    }
    if (pad > remaining(&c))
        return lc_fail(err, LC_ERR_FORMAT,
                       "gguf: file ends in the padding before the tensor data (offset %zu, alignment %zu, size %zu)",
                       c.pos, g->alignment, g->size);
    g->data_off = c.pos + pad;
    return check_tensor_data(g, err);
}

void lc_gguf_close(lc_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str_off);
    }
    free(g->kv);
    for (int64_t i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->tensors);
    free(g->kv_index);
    free(g->t_index);
    if (g->map) munmap(g->map, g->size);
    free(g);
}

static lc_status open_bytes(const void *data, size_t size, void *map, lc_gguf **out, lc_error *err) {
    lc_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        if (map) munmap(map, size);
        return lc_fail(err, LC_ERR_NOMEM, "gguf: out of memory");
    }
    g->base = data;
    g->size = size;
    g->map = map;
    lc_status st = parse(g, err);
    if (st != LC_OK) {
        lc_gguf_close(g);
        return st;
    }
    *out = g;
    return LC_OK;
}

lc_status lc_gguf_open_memory(const void *data, size_t size, lc_gguf **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf: NULL output");
    *out = NULL;
    if (!data && size) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf: NULL buffer");
    return open_bytes(size ? data : "", size, NULL, out, err);
}

bool lc_gguf_file_has_magic(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return false;
    char b[4] = {0};
    const size_t n = fread(b, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(b, "GGUF", 4) == 0;
}

/* The whole file (size bytes) read into private anonymous memory, asked to
 * be backed by transparent huge pages and made read-only once full: *out is
 * the mapping that lc_gguf_close unmaps. */
static lc_status read_in(int fd, const char *path, size_t size, void **out, lc_error *err) {
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return lc_fail(err, LC_ERR_NOMEM, "gguf: cannot allocate %zu bytes to read %s into: %s", size, path,
                       strerror(errno));
#ifdef MADV_HUGEPAGE
    (void)madvise(m, size, MADV_HUGEPAGE); /* advice only: 4 KiB pages where refused */
#endif
    size_t done = 0;
    while (done < size) {
        const size_t chunk = LC_MIN(size - done, (size_t)1 << 30);
        const ssize_t r = pread(fd, (char *)m + done, chunk, (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            const int e = errno;
            munmap(m, size);
            return lc_fail(err, LC_ERR_IO, "gguf: cannot read %s: %s after %zu of %zu bytes", path,
                           r < 0 ? strerror(e) : "end of file", done, size);
        }
        done += (size_t)r;
    }
    (void)mprotect(m, size, PROT_READ);
    *out = m;
    return LC_OK;
}

static lc_status open_path(const char *path, bool read_whole, lc_gguf **out, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "gguf: NULL path or output");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lc_fail(err, LC_ERR_IO, "gguf: cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return lc_fail(err, LC_ERR_IO, "gguf: cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lc_fail(err, LC_ERR_IO, "gguf: %s is not a regular file", path);
    }
    if (sb.st_size <= 0) {
        close(fd);
        return lc_fail(err, LC_ERR_FORMAT, "gguf: %s is empty", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return lc_fail(err, LC_ERR_TOO_LARGE, "gguf: %s is too large to map", path);
    }
    size_t size = (size_t)sb.st_size;
    if (read_whole) {
        void *mem = NULL;
        const lc_status rs = read_in(fd, path, size, &mem, err);
        close(fd);
        return rs != LC_OK ? rs : open_bytes(mem, size, mem, out, err);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return lc_fail(err, LC_ERR_IO, "gguf: cannot map %s: %s", path, strerror(e));
#ifdef MADV_HUGEPAGE
    /* Advice only. Where the file system caches files in large folios (ext4,
     * xfs on recent kernels), the parts of the file read through this mapping
     * come in 2 MiB folios mapped whole, so the weights stream through 2 MiB
     * pages instead of 4 KiB ones; parts already cached in small folios stay
     * as they are (docs/performance.md). */
    (void)madvise(map, size, MADV_HUGEPAGE);
#endif
    lc_status st = open_bytes(map, size, map, out, err);
    if (st != LC_OK && err) {
        /* Prefix the path so the CLI's message says which file. */
        char msg[LC_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lc_fail(err, st, "%s: %s", path, msg);
    }
    return st;
}

lc_status lc_gguf_open(const char *path, lc_gguf **out, lc_error *err) { return open_path(path, false, out, err); }

lc_status lc_gguf_open_read(const char *path, lc_gguf **out, lc_error *err) { return open_path(path, true, out, err); }

/* ---- Lookups ---------------------------------------------------------------- */

uint32_t lc_gguf_version(const lc_gguf *g) { return g ? g->version : 0; }
size_t lc_gguf_alignment(const lc_gguf *g) { return g ? g->alignment : 0; }
size_t lc_gguf_file_size(const lc_gguf *g) { return g ? g->size : 0; }
size_t lc_gguf_data_offset(const lc_gguf *g) { return g ? g->data_off : 0; }
int64_t lc_gguf_n_kv(const lc_gguf *g) { return g ? g->n_kv : 0; }
int64_t lc_gguf_n_tensors(const lc_gguf *g) { return g ? g->n_tensors : 0; }

int64_t lc_gguf_find_key(const lc_gguf *g, const char *key) {
    return g ? table_find(g->kv_index, g->kv_cap, key, kv_name_of, g) : -1;
}

bool lc_gguf_has(const lc_gguf *g, const char *key) { return lc_gguf_find_key(g, key) >= 0; }

const char *lc_gguf_key_name(const lc_gguf *g, int64_t idx) {
    return g && idx >= 0 && idx < g->n_kv ? g->kv[idx].key : NULL;
}

lc_gguf_type lc_gguf_key_type(const lc_gguf *g, int64_t idx) {
    return g && idx >= 0 && idx < g->n_kv ? g->kv[idx].type : LC_GGUF_TYPE_COUNT;
}

bool lc_gguf_raw_value(const lc_gguf *g, int64_t idx, const uint8_t **p, size_t *len) {
    if (!g || idx < 0 || idx >= g->n_kv) return false;
    const gguf_kv *kv = &g->kv[idx];
    if (kv->type == LC_GGUF_ARRAY) {
        *p = g->base + kv->val_off - 12; /* include the element type and count */
        *len = kv->val_len + 12;
    } else {
        *p = g->base + kv->val_off;
        *len = kv->val_len;
    }
    return true;
}

const lc_gguf_tensor *lc_gguf_tensor_at(const lc_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const lc_gguf_tensor *lc_gguf_find_tensor(const lc_gguf *g, const char *name) {
    int64_t i = g ? table_find(g->t_index, g->t_cap, name, tensor_name_of, g) : -1;
    return i >= 0 ? &g->tensors[i] : NULL;
}

static const gguf_kv *get_kv(const lc_gguf *g, const char *key, lc_error *err) {
    if (!g || !key) {
        lc_fail(err, LC_ERR_INVALID_ARG, "gguf: NULL file or key");
        return NULL;
    }
    int64_t i = lc_gguf_find_key(g, key);
    if (i < 0) {
        lc_fail(err, LC_ERR_FORMAT, "gguf: missing key '%s'", key);
        return NULL;
    }
    return &g->kv[i];
}

static lc_status wrong_type(const gguf_kv *kv, const char *expected, lc_error *err) {
    return lc_fail(err, LC_ERR_FORMAT, "gguf: key '%s' is a %s, expected %s", kv->key, lc_gguf_type_name(kv->type),
                   expected);
}

/* Integer value as (negative?, magnitude-or-value) without overflow. */
static bool read_int(const lc_gguf *g, const gguf_kv *kv, bool *is_signed, int64_t *sv, uint64_t *uv) {
    const uint8_t *p = g->base + kv->val_off;
    *is_signed = false;
    switch (kv->type) {
    case LC_GGUF_UINT8: *uv = p[0]; return true;
    case LC_GGUF_UINT16: *uv = lc_rd16(p); return true;
    case LC_GGUF_UINT32: *uv = lc_rd32(p); return true;
    case LC_GGUF_UINT64: *uv = lc_rd64(p); return true;
    case LC_GGUF_INT8: *sv = (int8_t)p[0]; break;
    case LC_GGUF_INT16: *sv = (int16_t)lc_rd16(p); break;
    case LC_GGUF_INT32: *sv = (int32_t)lc_rd32(p); break;
    case LC_GGUF_INT64: *sv = (int64_t)lc_rd64(p); break;
    default: return false;
    }
    *is_signed = true;
    return true;
}

lc_status lc_gguf_get_u64(const lc_gguf *g, const char *key, uint64_t *out, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    bool sg;
    int64_t sv = 0;
    uint64_t uv = 0;
    if (!read_int(g, kv, &sg, &sv, &uv)) return wrong_type(kv, "an integer", err);
    if (sg) {
        if (sv < 0) return lc_fail(err, LC_ERR_FORMAT, "gguf: key '%s' is negative (%lld)", kv->key, (long long)sv);
        uv = (uint64_t)sv;
    }
    *out = uv;
    return LC_OK;
}

lc_status lc_gguf_get_i64(const lc_gguf *g, const char *key, int64_t *out, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    bool sg;
    int64_t sv = 0;
    uint64_t uv = 0;
    if (!read_int(g, kv, &sg, &sv, &uv)) return wrong_type(kv, "an integer", err);
    if (!sg) {
        if (uv > (uint64_t)INT64_MAX)
            return lc_fail(err, LC_ERR_FORMAT, "gguf: key '%s' = %llu does not fit int64", kv->key,
                           (unsigned long long)uv);
        sv = (int64_t)uv;
    }
    *out = sv;
    return LC_OK;
}

lc_status lc_gguf_get_f64(const lc_gguf *g, const char *key, double *out, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    const uint8_t *p = g->base + kv->val_off;
    if (kv->type == LC_GGUF_FLOAT32) {
        uint32_t b = lc_rd32(p);
        float f;
        memcpy(&f, &b, 4);
        *out = f;
    } else if (kv->type == LC_GGUF_FLOAT64) {
        uint64_t b = lc_rd64(p);
        memcpy(out, &b, 8);
    } else {
        return wrong_type(kv, "a float", err);
    }
    return LC_OK;
}

lc_status lc_gguf_get_bool(const lc_gguf *g, const char *key, bool *out, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    if (kv->type != LC_GGUF_BOOL) return wrong_type(kv, "a bool", err);
    *out = g->base[kv->val_off] != 0;
    return LC_OK;
}

lc_status lc_gguf_get_str(const lc_gguf *g, const char *key, const char **s, size_t *len, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    if (kv->type != LC_GGUF_STRING) return wrong_type(kv, "a string", err);
    *len = (size_t)lc_rd64(g->base + kv->val_off);
    *s = (const char *)g->base + kv->val_off + 8;
    return LC_OK;
}

lc_status lc_gguf_get_arr(const lc_gguf *g, const char *key, lc_gguf_type *elem_type, uint64_t *count,
                          const void **data, lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    if (kv->type != LC_GGUF_ARRAY) return wrong_type(kv, "an array", err);
    if (elem_type) *elem_type = kv->arr_type;
    if (count) *count = kv->arr_n;
    if (data) *data = lc_gguf_scalar_size(kv->arr_type) ? (const void *)(g->base + kv->val_off) : NULL;
    return LC_OK;
}

lc_status lc_gguf_get_arr_str(const lc_gguf *g, const char *key, uint64_t i, const char **s, size_t *len,
                              lc_error *err) {
    const gguf_kv *kv = get_kv(g, key, err);
    if (!kv) return err ? err->status : LC_ERR_FORMAT;
    if (kv->type != LC_GGUF_ARRAY || kv->arr_type != LC_GGUF_STRING) return wrong_type(kv, "an array of strings", err);
    if (i >= kv->arr_n)
        return lc_fail(err, LC_ERR_INVALID_ARG, "gguf: index %llu past the end of '%s' (%llu strings)",
                       (unsigned long long)i, kv->key, (unsigned long long)kv->arr_n);
    size_t off = kv->str_off[i];
    *len = (size_t)lc_rd64(g->base + off);
    *s = (const char *)g->base + off + 8;
    return LC_OK;
}
