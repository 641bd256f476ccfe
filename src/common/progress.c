/* A progress line with elapsed time and ETA (util.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/sys.h"

void lc_progress_line_init(lc_progress_line *p, FILE *f) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->start = lc_time_now();
    p->tty = f && isatty(fileno(f)) == 1;
}

/* Off a terminal: a line when the stage changes. */
static void stage_line(lc_progress_line *p, double total, const char *what) {
    const size_t n = strcspn(what, ":");
    if (!what[n] || n >= sizeof p->last_stage || (strncmp(p->last_stage, what, n) == 0 && p->last_stage[n] == '\0'))
        return;
    memcpy(p->last_stage, what, n);
    p->last_stage[n] = '\0';
    fprintf(p->f, "%s: %s (%.0f s elapsed, about %.0f s planned)\n", p->stages, p->last_stage,
            lc_time_now() - p->start, total);
}

void lc_progress_line_update(lc_progress_line *p, double done, double total, const char *what) {
    if (!p->tty && p->stages && what) stage_line(p, total, what);
    if (!p->tty) return;
    const double now = lc_time_now();
    if (p->drawn && now - p->last_draw < 0.1 && done < total) return;
    p->last_draw = now;
    p->drawn = true;
    const double el = now - p->start;
    const double eta = done > 0 ? el * (total - done) / done : NAN;
    char e1[48], e2[48];
    fprintf(p->f, "\r\033[K%s %.0f/%.0f (%.0f%%) elapsed %s ETA %s", what ? what : "", done, total,
            total > 0 ? 100.0 * done / total : 0.0, lc_format_duration(el, e1, sizeof e1),
            lc_format_duration(eta, e2, sizeof e2));
    fflush(p->f);
}

void lc_progress_line_clear(lc_progress_line *p) {
    if (p->tty && p->drawn) {
        fprintf(p->f, "\r\033[K");
        fflush(p->f);
    }
    p->drawn = false;
}

bool lc_progress_line_cb(void *user, double done, double total, const char *what) {
    lc_progress_line_update((lc_progress_line *)user, done, total, what);
    return true;
}
