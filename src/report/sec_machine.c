/*
 * Section 5: the machine the report ran on (CPU, cores, memory, OS, compiler),
 * its measured limits (lc_bench_peak: FP32 FMA peak and read bandwidth, one
 * and all threads), the version, date, command and wall time, and the load
 * average before and after (other work on the machine makes timings noisy).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "report/report_internal.h"

static void load_average(double out[3]) {
    out[0] = out[1] = out[2] = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return;
    if (fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3) out[0] = out[1] = out[2] = -1.0;
    fclose(f);
}

lc_status sec_machine_start(rrun *run, lc_error *err) {
    (void)err;
    machine_result *m = &run->r->mach;
    lc_cpu_model(m->cpu, sizeof m->cpu);
    m->n_cpus = lc_cpu_count();
    m->threads = run->r->threads;
    m->mem_total = lc_mem_total_bytes();
    m->mem_avail = lc_mem_available_bytes();
    struct utsname u;
    if (uname(&u) == 0) snprintf(m->os, sizeof m->os, "%.40s %.64s %.40s", u.sysname, u.release, u.machine);
    else snprintf(m->os, sizeof m->os, "unknown");
#if defined(__clang__)
    snprintf(m->compiler, sizeof m->compiler, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(m->compiler, sizeof m->compiler, "gcc %s", __VERSION__);
#else
    snprintf(m->compiler, sizeof m->compiler, "unknown");
#endif
    const lc_report_config *c = run->cfg;
    snprintf(m->version, sizeof m->version, "%s", c->version && *c->version ? c->version : "unknown");
    snprintf(m->command, sizeof m->command, "%s", c->command && *c->command ? c->command : "longctx report");
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(m->date, sizeof m->date, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else snprintf(m->date, sizeof m->date, "unknown");
    const char *wp = getenv("OMP_WAIT_POLICY");
    snprintf(m->omp_wait_policy, sizeof m->omp_wait_policy, "%s", wp ? wp : "");
    load_average(m->load_start);
    return LC_OK;
}

lc_status sec_machine_peak(rrun *run, lc_error *err) {
    (void)err;
    lc_report *r = run->r;
    machine_result *m = &r->mach;
    const size_t buffer = r->tiny ? ((size_t)8 << 20) : r->quick ? ((size_t)64 << 20) : ((size_t)256 << 20);
    rrun_progress(run, 0.1, "FMA peak and read bandwidth");
    lc_error e;
    if (lc_bench_peak(r->threads, buffer, &m->peak, &e) == LC_OK) {
        m->peak_ok = true;
    } else {
        snprintf(m->peak_err, sizeof m->peak_err, "%.190s", e.msg);
        sec_note(r, LC_REPORT_MACHINE, "peak measurement failed: %s", e.msg);
    }
    rrun_progress(run, 1.0, "peak measured");
    return LC_OK;
}

void sec_machine_end(rrun *run) { load_average(run->r->mach.load_end); }

void sec_machine_json(lc_json_writer *w, const lc_report *r) {
    const machine_result *m = &r->mach;
    lc_json_kv_str(w, "cpu", m->cpu);
    lc_json_kv_int(w, "logical_cpus", m->n_cpus);
    lc_json_kv_int(w, "threads", m->threads);
    lc_json_kv_int(w, "memory_total_bytes", (int64_t)m->mem_total);
    lc_json_kv_int(w, "memory_available_bytes", (int64_t)m->mem_avail);
    lc_json_kv_str(w, "os", m->os);
    lc_json_kv_str(w, "compiler", m->compiler);
    lc_json_kv_str(w, "version", m->version);
    lc_json_kv_str(w, "date", m->date);
    lc_json_kv_str(w, "command", m->command);
    lc_json_kv_str(w, "omp_wait_policy", m->omp_wait_policy);
    lc_json_kv_num(w, "wall_seconds", r->wall);
    lc_json_key(w, "peak");
    if (m->peak_ok) {
        lc_json_begin_object(w);
        lc_json_kv_str(w, "isa", lc_isa_name(m->peak.isa));
        lc_json_kv_int(w, "threads", m->peak.threads);
        lc_json_kv_num(w, "fma_gflops_1t", m->peak.fma_gflops_1t);
        lc_json_kv_num(w, "fma_gflops", m->peak.fma_gflops);
        lc_json_kv_num(w, "fma_gflops_1t_avx2", m->peak.fma_gflops_1t_avx2);
        lc_json_kv_num(w, "fma_gflops_avx2", m->peak.fma_gflops_avx2);
        lc_json_kv_num(w, "fma_gflops_1t_avx512", m->peak.fma_gflops_1t_avx512);
        lc_json_kv_num(w, "fma_gflops_avx512", m->peak.fma_gflops_avx512);
        lc_json_kv_num(w, "read_gbs_1t", m->peak.read_gbs_1t);
        lc_json_kv_num(w, "read_gbs", m->peak.read_gbs);
        lc_json_kv_int(w, "read_buffer_bytes", (int64_t)m->peak.read_buffer_bytes);
        lc_json_end_object(w);
    } else {
        lc_json_null(w);
    }
    lc_json_key(w, "load_average_start");
    lc_json_begin_array(w);
    for (int i = 0; i < 3; i++) lc_json_num(w, m->load_start[i]);
    lc_json_end_array(w);
    lc_json_key(w, "load_average_end");
    lc_json_begin_array(w);
    for (int i = 0; i < 3; i++) lc_json_num(w, m->load_end[i]);
    lc_json_end_array(w);
    lc_json_key(w, "section_seconds");
    lc_json_begin_object(w);
    for (int s = 0; s < LC_REPORT_SECTION_COUNT; s++)
        lc_json_kv_num(w, lc_report_section_key((lc_report_section)s), r->sec[s].seconds);
    lc_json_end_object(w);
}

void sec_machine_doc(rdoc *d, const lc_report *r) {
    const machine_result *m = &r->mach;
    char a[32], b[32];
    rdoc_heading(d, 2, NULL, "%s", section_title(LC_REPORT_MACHINE));
    rtable *t = rdoc_table(d, 2, "ll", NULL);
    const char *h[2] = {"", ""};
    rtable_header(t, h);
    rtable_cell(t, "CPU");
    rtable_cell(t, "%s", m->cpu);
    rtable_cell(t, "logical CPUs / threads used");
    rtable_cell(t, "%d / %d", m->n_cpus, m->threads);
    rtable_cell(t, "memory (total / available at start)");
    rtable_cell(t, "%s / %s", lc_report_fmt_bytes((double)m->mem_total, a, sizeof a),
                lc_report_fmt_bytes((double)m->mem_avail, b, sizeof b));
    if (m->peak_ok) {
        rtable_cell(t, "FP32 FMA peak (`lc_bench_peak`, %s: the best tier, the one percentages use)",
                    lc_isa_name(m->peak.isa));
        rtable_cell(t, "%.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d", m->peak.fma_gflops_1t, m->peak.fma_gflops,
                    m->peak.threads);
        if (m->peak.fma_gflops_avx512 > 0 && m->peak.fma_gflops_avx2 > 0) {
            rtable_cell(t, "FP32 FMA peak, AVX2 (256-bit) loop");
            rtable_cell(t, "%.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d", m->peak.fma_gflops_1t_avx2,
                        m->peak.fma_gflops_avx2, m->peak.threads);
        }
        rtable_cell(t, "memory read bandwidth (%s buffer)",
                    lc_report_fmt_bytes((double)m->peak.read_buffer_bytes, a, sizeof a));
        rtable_cell(t, "%.1f GB/s on 1 thread, %.1f GB/s on %d", m->peak.read_gbs_1t, m->peak.read_gbs,
                    m->peak.threads);
    } else {
        rtable_cell(t, "peak");
        rtable_cell(t, "not measured: %s", m->peak_err);
    }
    rtable_cell(t, "load average (1 min) at start / end");
    if (m->load_start[0] >= 0 && m->load_end[0] >= 0)
        rtable_cell(t, "%.2f / %.2f", m->load_start[0], m->load_end[0]);
    else rtable_cell(t, "unknown");
    rtable_cell(t, "OMP_WAIT_POLICY");
    rtable_cell(t, "%s", m->omp_wait_policy[0] ? m->omp_wait_policy : "(unset: the OpenMP default)");
    rtable_cell(t, "OS");
    rtable_cell(t, "%s", m->os);
    rtable_cell(t, "compiler (library)");
    rtable_cell(t, "%s", m->compiler);
    rtable_cell(t, "version");
    rtable_cell(t, "`%s`", m->version);
    rtable_cell(t, "date");
    rtable_cell(t, "%s", m->date);
    rtable_cell(t, "wall time of the measurements");
    rtable_cell(t, "%s (budget %s)", lc_report_fmt_seconds(r->wall, a, sizeof a),
                lc_report_fmt_seconds(r->budget, b, sizeof b));
    rdoc_para(d, "Timings are wall-clock on a machine that may be shared: a load average above the number of "
                 "CPUs means other work ran at the same time and the speeds above are lower bounds (on a "
                 "busy machine OpenMP threads that spin long while waiting lose much more than their share; "
                 "the CLI bounds the spin with GOMP_SPINCOUNT=1000). The command that made this report:");
    rdoc_pre(d, m->command);
    rdoc_para(d, "To make it again from a fresh checkout:");
    /* the README's quick start, word for word (tests/cli/report.sh checks it) */
    rdoc_pre(d, "cmake -S . -B build && cmake --build build -j2 && ./build/longctx report --quick\n"
                "# --quick plans at most 2 minutes; without it, at most 10 (add -o DIR for another folder)\n"
                "# open report/index.html, or read report/report.md");
}
