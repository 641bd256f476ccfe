/* lc_model: allocation, the format-detecting loader, and the destructor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_internal.h"

lc_status lc_model_alloc(const lc_model_config *c, lc_model **out, lc_error *err) {
    *out = NULL;
    if (c->n_layers < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "model: n_layers = %d", c->n_layers);
    lc_model *m = calloc(1, sizeof *m);
    lc_model_storage *s = calloc(1, sizeof *s);
    lc_layer_weights *layers = calloc((size_t)c->n_layers, sizeof *layers);
    if (!m || !s || !layers) {
        free(m);
        free(s);
        free(layers);
        return lc_fail(err, LC_ERR_NOMEM, "model: out of memory for %d layers", c->n_layers);
    }
    m->cfg = *c;
    m->storage = s;
    m->w.layers = layers;
    *out = m;
    return LC_OK;
}

void lc_model_free(lc_model *m) {
    if (!m) return;
    lc_tokenizer_free(m->tokenizer);
    free(m->w.layers);
    if (m->storage) {
        lc_gguf_close(m->storage->gguf);
        if (m->storage->map) munmap(m->storage->map, m->storage->map_len);
        lc_free_aligned(m->storage->heap);
        free(m->storage);
    }
    free(m);
}

/* Map a whole file read-only. */
static lc_status map_file(const char *path, void **map, size_t *len, lc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    lc_status st = LC_OK;
    if (fstat(fd, &sb) != 0) st = lc_fail(err, LC_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = lc_fail(err, LC_ERR_IO, "%s is not a regular file", path);
    else if (sb.st_size <= 0) st = lc_fail(err, LC_ERR_FORMAT, "%s is empty", path);
    else if ((uint64_t)sb.st_size > SIZE_MAX) st = lc_fail(err, LC_ERR_TOO_LARGE, "%s is too large to map", path);
    if (st == LC_OK) {
        *len = (size_t)sb.st_size;
        *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*map == MAP_FAILED) {
            *map = NULL;
            st = lc_fail(err, LC_ERR_IO, "cannot map %s: %s", path, strerror(errno));
        }
    }
    close(fd);
    return st;
}

/* A llama2.c header is seven little-endian int32 counts: bytes that are all
 * printable text (or whitespace) there are a text file, not a checkpoint. */
static bool starts_with_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char b[28];
    const size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) return false;
    return true;
}

static lc_status load_llama2c_file(const char *path, const lc_model_load_opts *opts, lc_model **out, lc_error *err) {
    void *map = NULL;
    size_t len = 0;
    lc_status st = map_file(path, &map, &len, err);
    if (st != LC_OK) return st;
    lc_model *m = NULL;
    st = lc_model_load_llama2c_memory(map, len, &m, err);
    if (st != LC_OK) {
        munmap(map, len);
        return st;
    }
    m->storage->map = map;
    m->storage->map_len = len;
    if (opts && opts->tokenizer_path) {
        st = lc_tokenizer_load_llama2c(opts->tokenizer_path, m->cfg.vocab_size, &m->tokenizer, err);
        if (st != LC_OK) {
            m->tokenizer = NULL;
            lc_model_free(m);
            return st;
        }
    }
    *out = m;
    return LC_OK;
}

lc_status lc_model_load(const char *path, const lc_model_load_opts *opts, lc_model **out, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "model: NULL path or output");
    *out = NULL;
    lc_status st;
    if (lc_gguf_file_has_magic(path)) {
        lc_gguf *g = NULL;
        st = opts && opts->no_mmap ? lc_gguf_open_read(path, &g, err) : lc_gguf_open(path, &g, err);
        if (st != LC_OK) return st;
        st = lc_model_from_gguf(g, out, err);
        if (st != LC_OK) lc_gguf_close(g);
    } else if (starts_with_text(path)) {
        return lc_fail(err, LC_ERR_FORMAT, "%s is not a GGUF or llama2.c checkpoint (it starts with text)", path);
    } else {
        st = load_llama2c_file(path, opts, out, err);
    }
    if (st != LC_OK && err && strncmp(err->msg, path, strlen(path)) != 0) {
        char msg[LC_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        lc_fail(err, st, "%s: %s", path, msg);
    }
    return st;
}
