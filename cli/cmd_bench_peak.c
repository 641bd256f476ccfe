/* longctx bench peak — FP32 FMA peak (1 and all threads) and memory read bandwidth. */
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/bench.h"

static const char synopsis[] =
    "usage: longctx bench peak [-t THREADS] [--buffer BYTES] [--json]\n\n"
    "Measures this machine's limits, so that every other figure can be stated as a fraction:\n"
    "  FP32 FMA peak (GFLOP/s, an FMA counts 2) on one thread and on all threads, for every\n"
    "  SIMD tier the CPU has (AVX2/FMA; AVX-512 where present; scalar otherwise) - the best\n"
    "  tier's is the peak every \"% of FMA peak\" figure uses - and memory read bandwidth\n"
    "  (GB/s) streaming a buffer far larger than the caches (default 1 GiB).\n\n";

int bench_peak(int argc, char **argv) {
    int threads = 0;
    int64_t buffer = 0;
    bool json = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_INT("-t|--threads", "N", &threads, 1, 4096, "threads for the all-thread figures (default: all CPUs)"),
        CLI_I64("--buffer", "SIZE", &buffer, 4096, CLI_INT_LIMIT, "read buffer size, e.g. 512M, 2G"),
        CLI_SET("--json", &json,
                "one JSON object on stdout: fma_gflops_1t, fma_gflops (the best tier's,\n"
                "named by isa), fma_gflops_1t_avx2, fma_gflops_avx2, fma_gflops_1t_avx512,\n"
                "fma_gflops_avx512 (0 where the CPU lacks the tier), read_gbs_1t,\n"
                "read_gbs, threads, isa, cpu, read_buffer_bytes"),
    };
    const cli_opt_spec spec = CLI_SPEC("bench peak", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    lc_peak pk;
    lc_error err;
    lc_table *t = NULL;
    lc_status st = lc_bench_peak(threads, (size_t)buffer, &pk, &err);
    if (st == LC_OK) st = lc_bench_peak_table(&pk, &t, &err);
    return bench_report("bench peak", json, st, &err, t, NULL, NULL);
}
