/* A whole file into memory, bounded (util.h, lc_read_file). */
#include <errno.h>
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
