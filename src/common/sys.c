/* Machine and process facts: ISA tier, CPU model, clocks, memory. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#if defined(LC_HAVE_X86)
#include <cpuid.h>
static bool x86_has_avx2_fma_f16c(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return false;
    /* The OS must save YMM state: XCR0 bits 1 (SSE) and 2 (AVX). */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return false;
    if (__get_cpuid_max(0, NULL) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1; /* AVX2 */
}

/* AVX-512 F (leaf 7 EBX bit 16), BW (30), VL (31) and VNNI (ECX bit 11),
 * with the OS saving the opmask and ZMM state (XCR0 bits 5, 6, 7). */
static bool x86_has_avx512_vnni(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    if (!(f && bw && vl && vnni)) return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6u) == 0xE6u;
}
#endif

lc_isa lc_isa_hardware(void) {
    /* cpuid traps to the hypervisor on some VMs (~8 us), so the answer is
     * computed once. It is a fact about the machine, written once with the same
     * value by whichever thread gets there first: a constant, not mutable state. */
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
#if defined(LC_HAVE_X86)
        v = !x86_has_avx2_fma_f16c() ? LC_ISA_SCALAR : x86_has_avx512_vnni() ? LC_ISA_AVX512 : LC_ISA_AVX2;
#else
        v = LC_ISA_SCALAR;
#endif
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return (lc_isa)v;
}

lc_isa lc_isa_best(void) {
    lc_isa hw = lc_isa_hardware();
    const char *env = getenv("LONGCTX_ISA");
    if (env && strcmp(env, "scalar") == 0) return LC_ISA_SCALAR;
    if (env && strcmp(env, "avx2") == 0 && hw > LC_ISA_AVX2) return LC_ISA_AVX2;
    return hw;
}

const char *lc_isa_name(lc_isa isa) {
    switch (isa) {
    case LC_ISA_SCALAR: return "scalar";
    case LC_ISA_AVX2: return "avx2";
    case LC_ISA_AVX512: return "avx512";
    }
    return "?";
}

void lc_cpu_model(char *buf, size_t len) {
    if (!buf || len == 0) return;
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t') p++;
                size_t l = strlen(p);
                while (l && isspace((unsigned char)p[l - 1])) p[--l] = '\0';
                snprintf(buf, len, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

int lc_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

double lc_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double lc_process_cpu_seconds(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

double lc_thread_cpu_seconds(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/* Read "Key:   123 kB" from a /proc file; returns bytes or 0. */
static size_t proc_kb(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    size_t klen = strlen(key), out = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            unsigned long long kb = strtoull(line + klen + 1, NULL, 10);
            out = (size_t)kb * 1024u;
            break;
        }
    }
    fclose(f);
    return out;
}

size_t lc_rss_bytes(void) { return proc_kb("/proc/self/status", "VmRSS"); }
size_t lc_peak_rss_bytes(void) { return proc_kb("/proc/self/status", "VmHWM"); }
size_t lc_mem_available_bytes(void) { return proc_kb("/proc/meminfo", "MemAvailable"); }
size_t lc_mem_total_bytes(void) { return proc_kb("/proc/meminfo", "MemTotal"); }

/* "Key:   123 kB" of the huge-page keys of a smaps entry: its bytes, else 0. */
static size_t smaps_huge_kb(const char *line) {
    static const char *const keys[] = {"AnonHugePages:", "FilePmdMapped:", "ShmemPmdMapped:"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const size_t n = strlen(keys[i]);
        if (strncmp(line, keys[i], n) == 0) return (size_t)strtoull(line + n, NULL, 10) * 1024u;
    }
    return 0;
}

double lc_huge_page_share(const void *addr, size_t len) {
    const uintptr_t lo = (uintptr_t)addr;
    if (!addr || len == 0 || lo > UINTPTR_MAX - len) return -1;
    const uintptr_t hi = lo + len;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    double size = 0, huge = 0;
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        char dash;
        /* an entry's first line: "start-end perms offset dev inode path" */
        if (sscanf(line, "%llx%c%llx", &a, &dash, &b) == 3 && dash == '-') {
            in = (uintptr_t)a < hi && (uintptr_t)b > lo;
            if (in) size += (double)(b - a);
        } else if (in) {
            huge += (double)smaps_huge_kb(line);
        }
    }
    fclose(f);
    return size > 0 ? (huge < size ? huge / size : 1.0) : -1;
}

bool lc_peak_rss_reset(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    bool ok = fputs("5", f) >= 0;
    return (fclose(f) == 0) && ok;
}

void *lc_malloc_aligned(size_t bytes) {
    if (bytes == 0) bytes = 1;
    size_t rounded;
    if (!lc_add_size(bytes, 63, &rounded)) return NULL;
    rounded &= ~(size_t)63;
    return aligned_alloc(64, rounded);
}

void *lc_calloc_aligned(size_t bytes) {
    void *p = lc_malloc_aligned(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void lc_free_aligned(void *p) { free(p); }
