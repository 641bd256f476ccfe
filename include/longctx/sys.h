/*
 * longctx/sys.h — facts about the machine and the process: CPU features,
 * clocks, memory. Used by benchmarks and by callers that refuse work that
 * would not fit in memory before allocating.
 */
#ifndef LONGCTX_SYS_H
#define LONGCTX_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tiers are ordered: a tier includes every lower one (code that has only an
 * AVX2 path takes it for isa >= LC_ISA_AVX2). */
typedef enum {
    LC_ISA_SCALAR = 0, /* portable C                                       */
    LC_ISA_AVX2 = 1,   /* AVX2 + FMA + F16C, with OS YMM state              */
    LC_ISA_AVX512 = 2  /* + AVX-512 F/BW/VL and VNNI, with OS ZMM state     */
} lc_isa;

/* The best ISA tier this CPU and OS support, lowered by the environment
 * variable LONGCTX_ISA=scalar or LONGCTX_ISA=avx2 (for testing the lower
 * tiers; other values are ignored). Cheap to call. */
lc_isa lc_isa_best(void);
/* What the hardware supports, ignoring LONGCTX_ISA. */
lc_isa lc_isa_hardware(void);
const char *lc_isa_name(lc_isa isa);

/* CPU model string (from /proc/cpuinfo or cpuid); writes "unknown" if none. */
void lc_cpu_model(char *buf, size_t len);
/* Logical CPUs available to this process (>= 1). */
int lc_cpu_count(void);

/* Monotonic wall clock in seconds. */
double lc_time_now(void);
/* CPU seconds used so far by the whole process (all threads) and by the
 * calling thread; 0 if unknown. On a shared machine, where wall time is
 * inflated, they show how much of the CPUs a measured run really got. */
double lc_process_cpu_seconds(void);
double lc_thread_cpu_seconds(void);

/* Resident set size now and its peak (VmHWM), in bytes; 0 if unknown. */
size_t lc_rss_bytes(void);
size_t lc_peak_rss_bytes(void);
/* Reset the peak RSS counter so a later lc_peak_rss_bytes measures from now
 * (Linux: writes 5 to /proc/self/clear_refs); returns false if unsupported. */
bool lc_peak_rss_reset(void);
/* Memory the system can still give (MemAvailable), in bytes; 0 if unknown. */
size_t lc_mem_available_bytes(void);
/* Total physical memory in bytes; 0 if unknown. */
size_t lc_mem_total_bytes(void);
/* Of the mappings that hold [addr, addr + len), the share (0..1) mapped in
 * huge (PMD) pages: their AnonHugePages + FilePmdMapped + ShmemPmdMapped over
 * their size, from /proc/self/smaps; -1 if unknown (no /proc, len 0, or no
 * mapping there). Weights streamed from 2 MiB pages read faster than from
 * 4 KiB ones (docs/performance.md). */
double lc_huge_page_share(const void *addr, size_t len);

/* Allocation aligned to 64 bytes, NULL on failure or size 0 overflow.
 * Free with lc_free_aligned. */
void *lc_malloc_aligned(size_t bytes);
void *lc_calloc_aligned(size_t bytes);
void lc_free_aligned(void *p);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_SYS_H */
