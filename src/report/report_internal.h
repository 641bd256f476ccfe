/*
 * Inside `longctx report`: the results of each section, the run's clock and
 * progress, the models, and the functions each section file provides
 * (measure, write JSON, write its part of the document).
 *
 *   report.c          config, run order, budgets, progress, lc_report_write
 *   models.c          the shipped models (or tiny stand-ins), the speed model
 *   sec_memory.c      1  attention memory per length and method
 *   sec_techniques.c  2  the technique comparison
 *   sec_extrap.c      3  length extrapolation (RoPE scalings, YaRN model)
 *   sec_ppl.c         4  perplexity vs window, attention retention
 *   sec_machine.c     5  machine, peak, versions
 *   grid.c            retrieval grids run length by length within a budget
 *   doc.c             the document (Markdown + HTML)
 */
#ifndef LC_REPORT_INTERNAL_H
#define LC_REPORT_INTERNAL_H

#include "common/util.h"
#include "longctx/bench.h"
#include "longctx/eval.h"
#include "longctx/report.h"
#include "report/doc.h"

/* ---- Section bookkeeping ----------------------------------------------------- */

#define SEC_MAX_NOTES 24
#define SEC_NOTE_LEN 320

typedef struct {
    lc_report_state state;
    double seconds;
    double budget;                         /* planned seconds                 */
    char why[SEC_NOTE_LEN];                /* skipped/partial: the first reason */
    int n_notes;
    char notes[SEC_MAX_NOTES][SEC_NOTE_LEN]; /* every skip and caveat          */
} sec_info;

/* ---- Models -------------------------------------------------------------------- */

typedef struct {
    lc_model *m;               /* NULL when missing                              */
    const lc_tokenizer *tok;   /* the model's, or the synthetic one (stand-ins)   */
    char path[512];
    char name[64];             /* "default", "yarn8", "linear", "speed"           */
    bool stand_in;             /* a random tiny model (config.tiny)                */
    char missing[SEC_NOTE_LEN];/* why m is NULL                                   */
    int64_t n_params;
    lc_model_config cfg;       /* kept after the model is freed                   */
    char desc[320];            /* model_describe's text, kept likewise            */
} rmodel;

/* ---- Retrieval grids ------------------------------------------------------------- */

#define RG_MAX_LEN 8
#define RG_MAX_DEPTH 11

/* A passkey grid measured length by length; a cell not run has NaN accuracy. */
typedef struct {
    int n_len, n_depth;
    int64_t len[RG_MAX_LEN];
    double depth[RG_MAX_DEPTH];
    int32_t trials;
    lc_eval_cell cells[RG_MAX_LEN * RG_MAX_DEPTH]; /* [len][depth] */
    bool ran[RG_MAX_LEN];
    double seconds[RG_MAX_LEN];
    char why[RG_MAX_LEN][160];                     /* not run: why             */
} rgrid;

/* Mean accuracy at length index l over the depths (NaN if not run). */
double rgrid_len_accuracy(const rgrid *g, int l);
/* Mean over every cell run (NaN if none). */
double rgrid_accuracy(const rgrid *g);
/* An lc_eval_grid view (cells borrowed) for the eval pictures. */
void rgrid_view(const rgrid *g, lc_eval_grid *view);
void rgrid_write_json(lc_json_writer *w, const rgrid *g);

/* ---- 1 memory ----------------------------------------------------------------------- */

enum { MM_NAIVE = 0, MM_FLASH, MM_WINDOW, MM_LINEAR, MM_CHUNKED, MM_COUNT };
#define MEM_MAX_N 16

typedef struct {
    bool measured;
    char why[200];          /* not measured: refusal, or the time budget      */
    double need_bytes;      /* analytic: NAIVE's score matrix, else the workspace */
    double seconds, gflops;
    double rss_growth;      /* measured peak RSS growth (NaN if not measured)  */
} mem_cell;

typedef struct {
    int head_dim;
    lc_dtype kv_type;
    int64_t window, n_sinks, chunk, overlap;
    size_t naive_cap;
    int threads;
    double cell_budget;     /* seconds one measured cell may take              */
    int n;
    int64_t len[MEM_MAX_N];
    int article_row[MEM_MAX_N]; /* index into the article's table, or -1     */
    mem_cell cell[MEM_MAX_N][MM_COUNT];
    lc_model_config mha, gqa;   /* real shapes: Llama-2-7B, Llama-3-8B       */
    lc_report_mem_row row_mha[MEM_MAX_N], row_gqa[MEM_MAX_N];
} mem_result;

/* ---- 2 techniques --------------------------------------------------------------------- */

enum { TQ_FULL = 0, TQ_WINDOW, TQ_LINEAR, TQ_CHUNKED, TQ_HYBRID, TQ_COUNT };
#define TQ_MAX_LEN 4

typedef struct {
    char desc[128];                 /* "window 1024 + 4 sinks (ring KV cache)" */
    int64_t max_ctx_speed, max_ctx_mha; /* longest context in the budget     */
    bool unbounded_speed, unbounded_mha;
    /* speed on the random speed model */
    bool ran[TQ_MAX_LEN];
    char why[TQ_MAX_LEN][200];
    double prefill_tok_s[TQ_MAX_LEN], decode_tok_s[TQ_MAX_LEN];
    double prefill_attn_share[TQ_MAX_LEN], decode_attn_share[TQ_MAX_LEN];
    double kv_bytes[TQ_MAX_LEN], ws_bytes[TQ_MAX_LEN]; /* attention memory at that length */
    bool mem_known[TQ_MAX_LEN];     /* kv/ws computed (a cell not run: "not run") */
    /* retention: passkey on the trained models */
    char ret_desc[160];
    char ret_why[SEC_NOTE_LEN];     /* not run at all                          */
    rgrid ret;
} tq_row;

typedef struct {
    size_t budget_bytes;
    int64_t budget_limit;           /* the search stops here ("unbounded")      */
    int64_t window, n_sinks, chunk, overlap; /* speed/budget parameters          */
    int n_len;
    int64_t len[TQ_MAX_LEN];        /* speed lengths                            */
    int64_t n_decode;
    int64_t ret_window, ret_chunk;  /* retention parameters (trained model)     */
    char speed_model[160];          /* description                              */
    tq_row row[TQ_COUNT];
} tq_result;

/* ---- 3 extrapolation -------------------------------------------------------------------- */

enum { EX_NONE = 0, EX_LINEAR, EX_NTK, EX_DYNAMIC, EX_YARN, EX_YARN_MODEL, EX_COUNT };

typedef struct {
    char name[64];
    char desc[160];
    char why[SEC_NOTE_LEN];         /* not run at all                          */
    double factor[RG_MAX_LEN];      /* s per length                             */
    rgrid grid;
} ex_row;

typedef struct {
    int64_t ctx_train;
    ex_row row[EX_COUNT];
} ex_result;

/* ---- 4 perplexity and retention ---------------------------------------------------------- */

#define PPL_MAX_W 8
enum { PP_NONE = 0, PP_YARN, PP_YARN_MODEL, PP_COUNT };

typedef struct {
    char name[64];
    char why[SEC_NOTE_LEN];
    bool ran[PPL_MAX_W];
    lc_eval_ppl_result res[PPL_MAX_W];
} ppl_row;

typedef struct {
    int n_w;
    int64_t window[PPL_MAX_W];
    int64_t n_tokens;               /* text tokens                              */
    uint64_t text_seed;
    ppl_row row[PP_COUNT];
    bool ret_ran;
    char ret_why[SEC_NOTE_LEN];
    lc_eval_retention_config ret_cfg;
    lc_eval_retention ret;
} ppl_result;

/* ---- 5 layouts: full attention, sinks + window, hybrid DeltaNet --------------------------- */

enum { LY_FULL = 0, LY_SINKS_WINDOW, LY_HYBRID, LY_COUNT };
#define LY_MAX_N 12

typedef struct {
    double cache_bytes, state_bytes, ring_bytes, total_bytes; /* exact (NaN: no model) */
    bool measured;
    char why[200];                          /* not measured: why                */
    double ms, ms_rest, fill_s;             /* measured decode ms/token          */
    double ms_kind[LC_LAYER_KIND_COUNT];    /* of which in the layers of each kind */
    double fit_ms;                          /* the fit's ms/token (NaN: none)    */
} ly_cell;

typedef struct {
    char name[64];
    char why[SEC_NOTE_LEN];                 /* no model: why                     */
    int64_t n_params;
    int32_t n_kind[LC_LAYER_KIND_COUNT];
    ly_cell cell[LY_MAX_N];
    int n_measured;
    double fit_a, fit_b;                    /* full-attention layers: a + b n ms */
    double fit_const[LC_LAYER_KIND_COUNT];  /* window, DeltaNet: constant ms     */
    double fit_rest;                        /* outside the layers: constant ms   */
} ly_row;

typedef struct {
    int32_t dim, layers, heads, kv_heads, head_dim, vocab, experts, experts_used, expert_ffn, interval;
    int64_t window, n_decode;
    int n;
    int64_t len[LY_MAX_N];
    ly_row row[LY_COUNT];
} ly_result;

/* ---- 6 machine ---------------------------------------------------------------------------- */

typedef struct {
    char cpu[160];
    int n_cpus, threads;
    lc_peak peak;
    bool peak_ok;
    char peak_err[200];
    size_t mem_total, mem_avail;
    char os[160], compiler[160], version[128], date[40], command[1024];
    char omp_wait_policy[32];       /* OMP_WAIT_POLICY as set, or ""  */
    double load_start[3], load_end[3];
} machine_result;

/* ---- The report ------------------------------------------------------------------------------- */

struct lc_report {
    bool quick, tiny;
    int threads;
    uint64_t seed;
    double budget, wall;
    char models_dir[512];
    sec_info sec[LC_REPORT_SECTION_COUNT];
    rmodel def, yarn, lin, speed;
    mem_result mem;
    tq_result tq;
    ex_result ex;
    ppl_result ppl;
    ly_result ly;
    machine_result mach;
};

/* The run: clock, budgets and progress. */
typedef struct {
    const lc_report_config *cfg;
    lc_report *r;
    lc_tokenizer *synth;            /* the synthetic tokenizer (stand-ins)     */
    double t0;
    int cur;                        /* section being measured                  */
    double sec_t0, sec_deadline;
    double planned_before;          /* planned seconds of finished sections    */
    double planned_total;
    bool cancelled;
} rrun;

/* Seconds left in the current section (never below 0). */
double rrun_left(const rrun *run);
/* Report progress: fraction of the current section done, with a label.
 * Returns false when the caller asked to stop. */
bool rrun_progress(rrun *run, double frac, const char *what);
/* An lc_progress_fn for the eval calls of one cell: maps their done/total
 * into [lo, hi] of the section (user = rrun_span*). */
typedef struct {
    rrun *run;
    double lo, hi;
    const char *what;
} rrun_span;
bool rrun_span_cb(void *user, double done, double total, const char *what);

/* The heading of a section ("1. Attention memory per context length"). */
const char *section_title(lc_report_section s);

/* Record a note (and the first reason of a partial/skipped section). */
void sec_note(lc_report *r, lc_report_section s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- Section entry points ----------------------------------------------------------------------- */

lc_status models_open(rrun *run, lc_error *err);
void models_close(lc_report *r);
/* A one-line description of a model ("1.2M params, dim 128, 4 layers, ..."),
 * or "missing". */
const char *model_describe(const rmodel *m);
void models_write_json(lc_json_writer *w, const lc_report *r);

lc_status sec_memory_run(rrun *run, lc_error *err);
void sec_memory_json(lc_json_writer *w, const lc_report *r);
void sec_memory_doc(rdoc *d, const lc_report *r);

lc_status sec_techniques_run(rrun *run, lc_error *err);
void sec_techniques_json(lc_json_writer *w, const lc_report *r);
void sec_techniques_doc(rdoc *d, const lc_report *r);

lc_status sec_extrap_run(rrun *run, lc_error *err);
void sec_extrap_json(lc_json_writer *w, const lc_report *r);
void sec_extrap_doc(rdoc *d, const lc_report *r);

lc_status sec_ppl_run(rrun *run, lc_error *err);
void sec_ppl_json(lc_json_writer *w, const lc_report *r);
void sec_ppl_doc(rdoc *d, const lc_report *r);
void sec_ppl_free(lc_report *r);

lc_status sec_layouts_run(rrun *run, lc_error *err);
void sec_layouts_json(lc_json_writer *w, const lc_report *r);
void sec_layouts_doc(rdoc *d, const lc_report *r);

lc_status sec_machine_start(rrun *run, lc_error *err); /* facts at the start  */
lc_status sec_machine_peak(rrun *run, lc_error *err);  /* lc_bench_peak       */
void sec_machine_end(rrun *run);                       /* wall time, load     */
void sec_machine_json(lc_json_writer *w, const lc_report *r);
void sec_machine_doc(rdoc *d, const lc_report *r);

/* ---- Grids ----------------------------------------------------------------------------------------- */

/* How a grid cell's context is made: the options (attention, RoPE...), and
 * per length a RoPE scaling factor hook (NULL: o as given). */
typedef lc_status (*grid_ctx_fn)(void *user, int64_t length, lc_context_opts *o, lc_rope_config *rope, lc_error *err);

typedef struct {
    const rmodel *model;
    lc_context_opts opts;           /* base options (n_ctx set per length)     */
    grid_ctx_fn configure;          /* optional per-length adjustment         */
    void *configure_user;
    const char *label;              /* progress label                          */
} grid_job;

/* Set up g's lengths/depths/trials. */
void rgrid_init(rgrid *g, const int64_t *lens, int n_len, int n_depth, int32_t trials);

/* Run grid cells length-major over several jobs (each job its own grid), so
 * that every job gets the same lengths where the budget allows: a length is
 * run for a job only if its estimated time (from the job's previous length)
 * fits in the section's time left. Never fails for a refused cell (the cell
 * records why); fails on cancellation or out of memory. frac_lo..frac_hi:
 * the share of the section's progress these grids represent. */
lc_status grids_run(rrun *run, grid_job *jobs, rgrid *grids, int n_jobs, uint64_t seed, double frac_lo,
                    double frac_hi, lc_error *err);

/* ---- Shared helpers ------------------------------------------------------------------------------- */

/* An SVG document written by fn into memory, added to d as a figure; on a
 * failure a note says so instead. */
typedef lc_status (*svg_writer)(FILE *f, const void *user, lc_error *err);
void doc_svg_figure(rdoc *d, const char *file, svg_writer fn, const void *user, const char *caption);

/* A byte count: an exact integer when it is one (lc_json_num keeps 10
 * digits), null when not finite. */
void json_kv_bytes(lc_json_writer *w, const char *key, double v);

/* "512", "1K", "100,000" */
const char *tok_str(int64_t n, char *buf, size_t len);

#endif
