/* The version a report names (report.h): the release and `git describe` of
 * the checkout it runs from; and the summary of a finished report. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "longctx/report.h"

/* First line of a command's output, or "" (no shell involved beyond popen's). */
static void first_line(const char *cmd, char *buf, size_t len) {
    buf[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(buf, (int)len, p)) buf[strcspn(buf, "\r\n")] = '\0';
    else buf[0] = '\0';
    if (pclose(p) != 0) buf[0] = '\0';
}

/* git describe of the folder of the running executable, when its path is
 * plain characters (it goes into a shell command). */
static void describe_exe_dir(char *desc, size_t len) {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    for (const char *c = exe; *c; c++)
        if (!(*c == '/' || *c == '.' || *c == '_' || *c == '-' || (*c >= '0' && *c <= '9') ||
              (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
            return;
    char cmd[PATH_MAX + 96];
    snprintf(cmd, sizeof cmd, "git -C '%s' describe --always --dirty --tags 2>/dev/null", exe);
    first_line(cmd, desc, len);
}

const char *lc_report_git_version(const char *release, char *buf, size_t len) {
    char desc[128];
    first_line("git describe --always --dirty --tags 2>/dev/null", desc, sizeof desc);
    if (!desc[0]) describe_exe_dir(desc, sizeof desc);
    if (desc[0]) snprintf(buf, len, "%s (git %s)", release, desc);
    else snprintf(buf, len, "%s", release);
    return buf;
}

void lc_report_print_summary(FILE *f, const lc_report *r, const char *dir) {
    fprintf(f, "report written to %s/index.html, %s/report.md (+ figures), %s/report.json in %.1f s\n", dir, dir, dir,
            lc_report_wall_seconds(r));
    for (int k = 0; k < LC_REPORT_SECTION_COUNT; k++) {
        char why[512];
        double sec = 0;
        const lc_report_state state = lc_report_section_state(r, (lc_report_section)k, &sec, why, sizeof why);
        fprintf(f, "  %-14s %-9s %6.1f s%s%s\n", lc_report_section_key((lc_report_section)k),
                lc_report_state_name(state), sec, why[0] ? "  " : "", why);
    }
}
