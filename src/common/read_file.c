/* A whole file or stream into memory, bounded (util.h, lc_read_file,
 * lc_read_stream, lc_read_input). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/util.h"

lc_status lc_read_file(const char *path, size_t max_bytes, char **out, size_t *len, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "read file: NULL argument");
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return lc_fail(err, LC_ERR_IO, "%s: cannot size", path);
    }
    if ((unsigned long)size > max_bytes) {
        fclose(f);
        char a[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "%s: larger than %s", path, lc_format_bytes((double)max_bytes, a, sizeof a));
    }
    char *buf = malloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        return lc_fail(err, LC_ERR_NOMEM, "%s: out of memory for %ld bytes", path, size);
    }
    const size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(buf);
        return lc_fail(err, LC_ERR_IO, "cannot read %s", path);
    }
    buf[size] = '\0';
    *out = buf;
    if (len) *len = (size_t)size;
    return LC_OK;
}

lc_status lc_read_stream(FILE *f, const char *name, size_t max_bytes, char **out, size_t *len, lc_error *err) {
    if (!f || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "read stream: NULL argument");
    if (!name) name = "input";
    *out = NULL;
    if (len) *len = 0;
    if (max_bytes > SIZE_MAX / 4) max_bytes = SIZE_MAX / 4;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) { /* room for one byte past max_bytes, to tell "exactly max" from "more" */
            const size_t want = LC_MIN(cap ? 2 * cap : (size_t)65536, max_bytes + 1);
            char *b = realloc(buf, want + 1);
            if (!b) {
                free(buf);
                return lc_fail(err, LC_ERR_NOMEM, "%s: out of memory for %zu bytes", name, want);
            }
            buf = b;
            cap = want;
        }
        const size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > max_bytes) {
            free(buf);
            char a[32];
            return lc_fail(err, LC_ERR_TOO_LARGE, "%s: larger than %s", name,
                           lc_format_bytes((double)max_bytes, a, sizeof a));
        }
        if (r == 0) break;
    }
    if (ferror(f)) {
        const int e = errno;
        free(buf);
        return lc_fail(err, LC_ERR_IO, "cannot read %s: %s", name, strerror(e));
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return LC_OK;
}

lc_status lc_read_input(const char *path, size_t max_bytes, char **out, size_t *len, lc_error *err) {
    if (!path || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "read input: NULL argument");
    *out = NULL;
    if (len) *len = 0;
    const bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (!f) return lc_fail(err, LC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    const lc_status st = lc_read_stream(f, std_in ? "standard input" : path, max_bytes, out, len, err);
    if (!std_in) fclose(f);
    return st;
}
