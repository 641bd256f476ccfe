/* The spread of repeated measurements (bench.h, lc_bench_spread_of). */
#include <math.h>
#include <stdlib.h>

#include "longctx/bench.h"

/* Ascending, NaN after every number. */
static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

lc_bench_spread lc_bench_spread_of(double *v, int n) {
    lc_bench_spread s = {0, 0, 0};
    if (!v || n < 1) return s;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}
