/* longctx bench peak — FP32 FMA peak (1 and all threads) and memory read bandwidth. */
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "opt.h"
#include "longctx/bench.h"
#include "longctx/json.h"

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
    if (lc_bench_peak(threads, (size_t)buffer, &pk, &err) != LC_OK) return cli_fail("bench peak", &err);
    char cpu[256];
    lc_cpu_model(cpu, sizeof cpu);
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_json_begin_object(&w);
        lc_json_kv_num(&w, "fma_gflops_1t", pk.fma_gflops_1t);
        lc_json_kv_num(&w, "fma_gflops", pk.fma_gflops);
        lc_json_kv_num(&w, "fma_gflops_1t_avx2", pk.fma_gflops_1t_avx2);
        lc_json_kv_num(&w, "fma_gflops_avx2", pk.fma_gflops_avx2);
        lc_json_kv_num(&w, "fma_gflops_1t_avx512", pk.fma_gflops_1t_avx512);
        lc_json_kv_num(&w, "fma_gflops_avx512", pk.fma_gflops_avx512);
        lc_json_kv_num(&w, "read_gbs_1t", pk.read_gbs_1t);
        lc_json_kv_num(&w, "read_gbs", pk.read_gbs);
        lc_json_kv_int(&w, "threads", pk.threads);
        lc_json_kv_str(&w, "isa", lc_isa_name(pk.isa));
        lc_json_kv_str(&w, "cpu", cpu);
        lc_json_kv_int(&w, "read_buffer_bytes", (int64_t)pk.read_buffer_bytes);
        lc_json_end_object(&w);
        lc_json_finish(&w);
        return CLI_OK;
    }
    printf("cpu              %s\n", cpu);
    printf("isa              %s (best tier: its FMA peak is the one percentages use)\n", lc_isa_name(pk.isa));
    if (pk.fma_gflops_avx2 > 0) {
        printf("AVX2 FMA, 1 thread      %8.1f GFLOP/s\n", pk.fma_gflops_1t_avx2);
        printf("AVX2 FMA, %d threads     %8.1f GFLOP/s\n", pk.threads, pk.fma_gflops_avx2);
    }
    if (pk.fma_gflops_avx512 > 0) {
        printf("AVX-512 FMA, 1 thread   %8.1f GFLOP/s\n", pk.fma_gflops_1t_avx512);
        printf("AVX-512 FMA, %d threads  %8.1f GFLOP/s\n", pk.threads, pk.fma_gflops_avx512);
    }
    printf("FMA peak, 1 thread   %8.1f GFLOP/s  (%s)\n", pk.fma_gflops_1t, lc_isa_name(pk.isa));
    printf("FMA peak, %d threads  %8.1f GFLOP/s  (%s)\n", pk.threads, pk.fma_gflops, lc_isa_name(pk.isa));
    printf("read bandwidth, 1 thread   %6.1f GB/s\n", pk.read_gbs_1t);
    printf("read bandwidth, %d threads  %6.1f GB/s  (buffer %.0f MiB)\n", pk.threads, pk.read_gbs,
           (double)pk.read_buffer_bytes / 1048576.0);
    return CLI_OK;
}
