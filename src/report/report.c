/*
 * lc_report_run and lc_report_write: the order of the sections, their time
 * budgets and progress, and the three output files.
 *
 * Budgets: the run's time budget is shared between the sections in fixed
 * proportions, cumulatively (a section that finishes early leaves its time to
 * the next ones). Inside a section every measured cell estimates its time
 * first and is skipped, saying so, when it would pass the section's deadline;
 * so a run on a slow or busy machine is shorter in content, not in time.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report_internal.h"

static const char *const section_keys[LC_REPORT_SECTION_COUNT] = {"memory", "techniques", "extrapolation",
                                                                  "ppl_retention", "machine", "layouts"};
/* Shares of the time budget (by enum; run order: machine (peak) first, layouts last). */
static const double section_share[LC_REPORT_SECTION_COUNT] = {0.19, 0.28, 0.28, 0.16, 0.03, 0.06};

static const char *const section_titles[LC_REPORT_SECTION_COUNT] = {
    "1. Attention memory per context length", "2. The techniques compared: claims against measurements",
    "3. Length extrapolation: RoPE scaling and the YaRN model", "4. Perplexity against context, and attention retention",
    "6. Machine and run", "5. Layer layouts: full attention, sinks + window, hybrid DeltaNet"};

const char *section_title(lc_report_section s) {
    return (unsigned)s < LC_REPORT_SECTION_COUNT ? section_titles[s] : "?";
}

const char *lc_report_section_key(lc_report_section s) {
    return (unsigned)s < LC_REPORT_SECTION_COUNT ? section_keys[s] : "?";
}

const char *lc_report_state_name(lc_report_state s) {
    switch (s) {
    case LC_REPORT_SKIPPED: return "skipped";
    case LC_REPORT_PARTIAL: return "partial";
    case LC_REPORT_COMPLETE: return "complete";
    }
    return "?";
}

void lc_report_config_init(lc_report_config *c) {
    memset(c, 0, sizeof *c);
    c->models_dir = "models";
    c->seed = 1;
}

lc_report_state lc_report_section_state(const lc_report *r, lc_report_section s, double *seconds, char *why,
                                        size_t len) {
    if (!r || (unsigned)s >= LC_REPORT_SECTION_COUNT) {
        if (why && len) why[0] = '\0';
        return LC_REPORT_SKIPPED;
    }
    if (seconds) *seconds = r->sec[s].seconds;
    if (why && len) snprintf(why, len, "%s", r->sec[s].why);
    return r->sec[s].state;
}

double lc_report_wall_seconds(const lc_report *r) { return r ? r->wall : 0.0; }

void sec_note(lc_report *r, lc_report_section s, const char *fmt, ...) {
    sec_info *si = &r->sec[s];
    char buf[SEC_NOTE_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!si->why[0]) snprintf(si->why, sizeof si->why, "%s", buf);
    if (si->n_notes < SEC_MAX_NOTES) snprintf(si->notes[si->n_notes++], SEC_NOTE_LEN, "%s", buf);
}

/* ---- Clock and progress ------------------------------------------------------------ */

double rrun_left(const rrun *run) {
    const double left = run->sec_deadline - lc_time_now();
    return left > 0 ? left : 0.0;
}

bool rrun_progress(rrun *run, double frac, const char *what) {
    if (run->cancelled) return false;
    if (!run->cfg->progress) return true;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    const double done = run->planned_before + frac * run->r->sec[run->cur].budget;
    char label[96];
    snprintf(label, sizeof label, "report %d/6 %s: %s",
             run->cur == LC_REPORT_MACHINE ? 6 : run->cur == LC_REPORT_LAYOUTS ? 5 : run->cur + 1,
             section_keys[run->cur], what ? what : "");
    if (!run->cfg->progress(run->cfg->progress_user, done, run->planned_total, label)) run->cancelled = true;
    return !run->cancelled;
}

bool rrun_span_cb(void *user, double done, double total, const char *what) {
    rrun_span *sp = user;
    (void)what;
    const double f = total > 0 ? done / total : 0.0;
    return rrun_progress(sp->run, sp->lo + (sp->hi - sp->lo) * (f > 1 ? 1 : f), sp->what);
}

/* ---- Shared helpers ------------------------------------------------------------------ */

const char *tok_str(int64_t n, char *buf, size_t len) { return lc_report_fmt_tokens(n, buf, len); }

void json_kv_bytes(lc_json_writer *w, const char *key, double v) {
    if (isfinite(v) && v >= 0 && v < 9.0e18 && v == floor(v)) lc_json_kv_int(w, key, (int64_t)v);
    else lc_json_kv_num(w, key, v);
}

void doc_svg_figure(rdoc *d, const char *file, svg_writer fn, const void *user, const char *caption) {
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    if (!f) {
        rdoc_note(d, "Figure %s could not be drawn: out of memory.", file);
        return;
    }
    lc_error err;
    lc_error_clear(&err);
    lc_status st = fn(f, user, &err);
    const bool bad = fclose(f) != 0;
    if (st == LC_OK && !bad && mem && len > 0) rdoc_figure(d, file, mem, len, caption);
    else rdoc_note(d, "Figure %s could not be drawn: %s", file, st != LC_OK ? err.msg : "write failed");
    free(mem);
}

/* ---- The run --------------------------------------------------------------------------- */

static void default_budget(const lc_report_config *c, double *budget) {
    if (c->time_budget > 0) *budget = c->time_budget;
    else *budget = c->tiny ? 30.0 : c->quick ? 100.0 : 540.0;
}

typedef lc_status (*section_fn)(rrun *run, lc_error *err);

static lc_status run_section(rrun *run, lc_report_section s, section_fn fn, lc_error *err) {
    lc_report *r = run->r;
    run->cur = (int)s;
    run->sec_t0 = lc_time_now();
    /* cumulative: time a section leaves over goes to the next ones */
    double cum = 0;
    static const lc_report_section order[LC_REPORT_SECTION_COUNT] = {LC_REPORT_MACHINE, LC_REPORT_MEMORY,
                                                                     LC_REPORT_TECHNIQUES, LC_REPORT_EXTRAPOLATION,
                                                                     LC_REPORT_PPL_RETENTION, LC_REPORT_LAYOUTS};
    for (int i = 0; i < LC_REPORT_SECTION_COUNT; i++) {
        cum += r->sec[order[i]].budget;
        if (order[i] == s) break;
    }
    run->sec_deadline = run->t0 + cum;
    r->sec[s].state = LC_REPORT_COMPLETE;
    rrun_progress(run, 0.0, "starting");
    lc_status st = fn(run, err);
    r->sec[s].seconds = lc_time_now() - run->sec_t0;
    /* a section that recorded reasons but still measured something is partial */
    if (r->sec[s].state == LC_REPORT_COMPLETE && r->sec[s].n_notes > 0) r->sec[s].state = LC_REPORT_PARTIAL;
    run->planned_before += r->sec[s].budget;
    if (st == LC_OK && run->cancelled) st = lc_fail(err, LC_ERR_CANCELLED, "report: stopped on request");
    return st;
}

static lc_status machine_section(rrun *run, lc_error *err) { return sec_machine_peak(run, err); }

lc_status lc_report_run(const lc_report_config *c, lc_report **out, lc_error *err) {
    if (!c || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL argument");
    *out = NULL;
    if (c->time_budget < 0 || !isfinite(c->time_budget))
        return lc_fail(err, LC_ERR_INVALID_ARG, "report: time budget %g must be >= 0", c->time_budget);
    lc_report *r = calloc(1, sizeof *r);
    if (!r) return lc_fail(err, LC_ERR_NOMEM, "report: out of memory");
    r->quick = c->quick;
    r->tiny = c->tiny;
    r->threads = c->n_threads > 0 ? c->n_threads : lc_cpu_count();
    r->seed = c->seed;
    default_budget(c, &r->budget);
    snprintf(r->models_dir, sizeof r->models_dir, "%s", c->models_dir ? c->models_dir : "models");
    double planned = 0;
    for (int s = 0; s < LC_REPORT_SECTION_COUNT; s++) {
        r->sec[s].budget = section_share[s] * r->budget;
        planned += r->sec[s].budget;
    }

    rrun run;
    memset(&run, 0, sizeof run);
    run.cfg = c;
    run.r = r;
    run.t0 = lc_time_now();
    run.planned_total = planned;

    lc_status st = lc_tasks_tokenizer_create(&run.synth, err);
    if (st == LC_OK) st = sec_machine_start(&run, err);
    if (st == LC_OK) st = models_open(&run, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_MACHINE, machine_section, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_MEMORY, sec_memory_run, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_TECHNIQUES, sec_techniques_run, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_EXTRAPOLATION, sec_extrap_run, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_PPL_RETENTION, sec_ppl_run, err);
    if (st == LC_OK) st = run_section(&run, LC_REPORT_LAYOUTS, sec_layouts_run, err);
    if (st == LC_OK) {
        r->wall = lc_time_now() - run.t0;
        sec_machine_end(&run);
        if (c->progress) c->progress(c->progress_user, planned, planned, "report done");
    }
    /* the models are not needed after measuring (names and sizes are kept) */
    models_close(r);
    lc_tokenizer_free(run.synth);
    if (st != LC_OK) {
        lc_report_free(r);
        return st;
    }
    *out = r;
    return LC_OK;
}

void lc_report_free(lc_report *r) {
    if (!r) return;
    models_close(r);
    sec_ppl_free(r);
    free(r);
}

/* ---- JSON --------------------------------------------------------------------------- */

static void section_json_head(lc_json_writer *w, const lc_report *r, lc_report_section s) {
    const sec_info *si = &r->sec[s];
    lc_json_kv_str(w, "state", lc_report_state_name(si->state));
    lc_json_kv_num(w, "seconds", si->seconds);
    lc_json_kv_num(w, "budget_seconds", si->budget);
    lc_json_key(w, "notes");
    lc_json_begin_array(w);
    for (int i = 0; i < si->n_notes; i++) lc_json_str(w, si->notes[i]);
    lc_json_end_array(w);
}

void lc_report_write_json(const lc_report *r, lc_json_writer *w) {
    lc_json_begin_object(w);
    lc_json_kv_str(w, "report", "longctx");
    lc_json_kv_int(w, "format_version", 1);
    lc_json_kv_str(w, "mode", r->tiny ? "tiny" : r->quick ? "quick" : "full");
    lc_json_kv_str(w, "version", r->mach.version);
    lc_json_kv_str(w, "date", r->mach.date);
    lc_json_kv_str(w, "command", r->mach.command);
    lc_json_kv_num(w, "wall_seconds", r->wall);
    lc_json_kv_num(w, "time_budget_seconds", r->budget);
    lc_json_kv_int(w, "threads", r->threads);
    lc_json_kv_int(w, "seed", (int64_t)r->seed);
    lc_json_kv_str(w, "models_dir", r->models_dir);
    models_write_json(w, r);
    lc_json_key(w, "sections");
    lc_json_begin_object(w);
    typedef void (*json_fn)(lc_json_writer *, const lc_report *);
    static const json_fn fns[LC_REPORT_SECTION_COUNT] = {sec_memory_json, sec_techniques_json, sec_extrap_json,
                                                         sec_ppl_json, sec_machine_json, sec_layouts_json};
    for (int s = 0; s < LC_REPORT_SECTION_COUNT; s++) {
        lc_json_key(w, section_keys[s]);
        lc_json_begin_object(w);
        section_json_head(w, r, (lc_report_section)s);
        fns[s](w, r);
        lc_json_end_object(w);
    }
    lc_json_end_object(w);
    lc_json_end_object(w);
}

/* ---- The document -------------------------------------------------------------------- */

static void doc_intro(rdoc *d, const lc_report *r) {
    char wall[32], b[32];
    rdoc_heading(d, 1, NULL, "Long context on a CPU: the article's claims, measured");
    rdoc_para(d,
              "Generated by `longctx report%s` on %s, on %s (%d of %d logical CPUs used), in %s. Version `%s`.",
              r->tiny ? " --test-tiny" : r->quick ? " --quick" : "", r->mach.date, r->mach.cpu, r->threads,
              r->mach.n_cpus, lc_report_fmt_seconds(r->wall, wall, sizeof wall), r->mach.version);
    if (r->tiny)
        rdoc_note(d, "**Test mode** (`--test-tiny`): the models are random tiny stand-ins and the lengths are tiny, "
                     "so that the run takes seconds. Every number below exercises the code and means nothing.");
    rdoc_para(d,
              "The article (\"大模型上下文长度的挑战与突破\", *Challenges and breakthroughs of LLM context length*) "
              "argues with two tables: the memory of the attention matrix per context length, and a comparison "
              "of long-context techniques. This report measures both on this machine, with longctx's attention "
              "kernels, its Llama runtime and the models shipped in `%s/`, and adds what the article only "
              "mentions: length extrapolation by RoPE scaling, perplexity against context and attention "
              "retention. Each table says how it was measured; `report.json` holds every number.",
              r->models_dir);
    rtable *t = rdoc_table(d, 4, "lllr", "Sections");
    const char *h[4] = {"section", "state", "notes", "time"};
    rtable_header(t, h);
    static const lc_report_section shown[LC_REPORT_SECTION_COUNT] = {
        LC_REPORT_MEMORY, LC_REPORT_TECHNIQUES, LC_REPORT_EXTRAPOLATION, LC_REPORT_PPL_RETENTION, LC_REPORT_LAYOUTS,
        LC_REPORT_MACHINE}; /* the document's order */
    for (int i = 0; i < LC_REPORT_SECTION_COUNT; i++) {
        const lc_report_section s = shown[i];
        char slug[160];
        rtable_cell(t, "[%s](#%s)", section_titles[s], rdoc_slug(section_titles[s], slug, sizeof slug));
        rtable_cell(t, "%s", lc_report_state_name(r->sec[s].state));
        if (r->sec[s].n_notes > 1) rtable_cell(t, "%s (and %d more below)", r->sec[s].why, r->sec[s].n_notes - 1);
        else rtable_cell(t, "%s", r->sec[s].why[0] ? r->sec[s].why : "-");
        rtable_cell(t, "%s", lc_report_fmt_seconds(r->sec[s].seconds, b, sizeof b));
    }
}

/* Notes of a section, at its end. */
static void doc_notes(rdoc *d, const lc_report *r, lc_report_section s) {
    const sec_info *si = &r->sec[s];
    if (si->n_notes == 0 || si->state == LC_REPORT_SKIPPED) return; /* the section's own note says why */
    char a[32], b[32];
    rdoc_para(d, "**Skipped or limited in this run** (the section took %s of the %s planned for it):",
              lc_report_fmt_seconds(si->seconds, a, sizeof a), lc_report_fmt_seconds(si->budget, b, sizeof b));
    for (int i = 0; i < si->n_notes; i++) rdoc_item(d, "%s", si->notes[i]);
}

static rdoc *build_doc(const lc_report *r) {
    rdoc *d = rdoc_new();
    if (!d) return NULL;
    doc_intro(d, r);
    sec_memory_doc(d, r);
    doc_notes(d, r, LC_REPORT_MEMORY);
    sec_techniques_doc(d, r);
    doc_notes(d, r, LC_REPORT_TECHNIQUES);
    sec_extrap_doc(d, r);
    doc_notes(d, r, LC_REPORT_EXTRAPOLATION);
    sec_ppl_doc(d, r);
    doc_notes(d, r, LC_REPORT_PPL_RETENTION);
    sec_layouts_doc(d, r);
    doc_notes(d, r, LC_REPORT_LAYOUTS);
    sec_machine_doc(d, r);
    doc_notes(d, r, LC_REPORT_MACHINE);
    return d;
}

/* ---- Files ------------------------------------------------------------------------------ */

static lc_status open_in(const char *dir, const char *name, char *path, size_t plen, FILE **f, lc_error *err) {
    int n = snprintf(path, plen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= plen) return lc_fail(err, LC_ERR_INVALID_ARG, "report: path %s/%s is too long", dir, name);
    *f = fopen(path, "w");
    if (!*f) return lc_fail(err, LC_ERR_IO, "report: cannot write %s: %s", path, strerror(errno));
    return LC_OK;
}

static lc_status close_checked(FILE *f, const char *path, bool ok, lc_error *err) {
    const bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || !ok) return lc_fail(err, LC_ERR_IO, "report: writing %s failed", path);
    return LC_OK;
}

lc_status lc_report_write(const lc_report *r, const char *dir, lc_error *err) {
    if (!r || !dir || !*dir) return lc_fail(err, LC_ERR_INVALID_ARG, "report: NULL report or directory");
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (mkdir(dir, 0777) != 0)
            return lc_fail(err, LC_ERR_IO, "report: cannot create directory %s: %s", dir, strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        return lc_fail(err, LC_ERR_IO, "report: %s exists and is not a directory", dir);
    }
    rdoc *d = build_doc(r);
    if (!d || rdoc_failed(d)) {
        rdoc_free(d);
        return lc_fail(err, LC_ERR_NOMEM, "report: out of memory while building the document");
    }
    char path[1024];
    FILE *f = NULL;
    lc_status st = LC_OK;
    for (int i = 0; i < rdoc_n_figures(d) && st == LC_OK; i++) {
        const char *file, *svg;
        size_t len;
        rdoc_figure_get(d, i, &file, &svg, &len);
        st = open_in(dir, file, path, sizeof path, &f, err);
        if (st == LC_OK) st = close_checked(f, path, fwrite(svg, 1, len, f) == len, err);
    }
    if (st == LC_OK) st = open_in(dir, "report.md", path, sizeof path, &f, err);
    if (st == LC_OK) st = close_checked(f, path, rdoc_write_markdown(d, f), err);
    if (st == LC_OK) st = open_in(dir, "index.html", path, sizeof path, &f, err);
    if (st == LC_OK) st = close_checked(f, path, rdoc_write_html(d, f, "longctx report"), err);
    if (st == LC_OK) st = open_in(dir, "report.json", path, sizeof path, &f, err);
    if (st == LC_OK) {
        lc_json_writer w;
        lc_json_init(&w, f, true);
        lc_report_write_json(r, &w);
        lc_json_finish(&w);
        st = close_checked(f, path, true, err);
    }
    rdoc_free(d);
    return st;
}
