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

#define GFLOPS(title_, key_) {.title = title_, .key = key_, .kind = LC_TABLE_REAL, .fmt = "%.1f"}
/* The JSON keys are the --json help's; the best tier is the one "% of FMA peak" figures use. */
static const lc_table_col cols[] = {
    GFLOPS("FMA peak, 1 thread (GFLOP/s, best tier)", "fma_gflops_1t"),
    GFLOPS("FMA peak, all threads (GFLOP/s, best tier)", "fma_gflops"),
    GFLOPS("AVX2 FMA, 1 thread (GFLOP/s)", "fma_gflops_1t_avx2"),
    GFLOPS("AVX2 FMA, all threads (GFLOP/s)", "fma_gflops_avx2"),
    GFLOPS("AVX-512 FMA, 1 thread (GFLOP/s)", "fma_gflops_1t_avx512"),
    GFLOPS("AVX-512 FMA, all threads (GFLOP/s)", "fma_gflops_avx512"),
    GFLOPS("read bandwidth, 1 thread (GB/s)", "read_gbs_1t"),
    GFLOPS("read bandwidth, all threads (GB/s)", "read_gbs"),
    {.title = "threads", .key = "threads", .kind = LC_TABLE_INT},
    {.title = "isa (best tier)", .key = "isa", .kind = LC_TABLE_STR},
    {.title = "cpu", .key = "cpu", .kind = LC_TABLE_STR},
    {.title = "read buffer", .key = "read_buffer_bytes", .kind = LC_TABLE_BYTES},
};
#undef GFLOPS

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
    if (lc_bench_peak(threads, (size_t)buffer, &pk, &err) != LC_OK) return cli_fail("bench peak", &err);
    char cpu[256];
    lc_cpu_model(cpu, sizeof cpu);
    lc_table *t = BENCH_TABLE("bench peak", cols);
    if (!t) return CLI_FAIL;
    LC_TABLE_ADD(t, lc_tv_real(pk.fma_gflops_1t), lc_tv_real(pk.fma_gflops), lc_tv_real(pk.fma_gflops_1t_avx2),
                 lc_tv_real(pk.fma_gflops_avx2), lc_tv_real(pk.fma_gflops_1t_avx512), lc_tv_real(pk.fma_gflops_avx512),
                 lc_tv_real(pk.read_gbs_1t), lc_tv_real(pk.read_gbs), lc_tv_int(pk.threads),
                 lc_tv_str(lc_isa_name(pk.isa)), lc_tv_str(cpu), lc_tv_int((int64_t)pk.read_buffer_bytes));
    return bench_report("bench peak", json, t, NULL, NULL);
}
