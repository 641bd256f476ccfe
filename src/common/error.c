/* Status codes and error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "longctx/common.h"

lc_status lc_fail(lc_error *err, lc_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void lc_error_clear(lc_error *err) {
    if (err) {
        err->status = LC_OK;
        err->msg[0] = '\0';
    }
}

const char *lc_status_str(lc_status status) {
    switch (status) {
    case LC_OK: return "ok";
    case LC_ERR_INVALID_ARG: return "invalid argument";
    case LC_ERR_NOMEM: return "out of memory";
    case LC_ERR_TOO_LARGE: return "too large";
    case LC_ERR_IO: return "I/O error";
    case LC_ERR_FORMAT: return "bad format";
    case LC_ERR_UNSUPPORTED: return "unsupported";
    case LC_ERR_CANCELLED: return "cancelled";
    case LC_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
