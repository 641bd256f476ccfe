/* Human-readable sizes. */
#include <stdio.h>

#include "common/util.h"

const char *lc_format_bytes(double bytes, char *buf, size_t len) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < (int)LC_ARRAY_LEN(units) - 1) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%.0f %s", bytes, units[u]);
    else snprintf(buf, len, "%.1f %s", bytes, units[u]);
    return buf;
}
