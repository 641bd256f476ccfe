/*
 * longctx/report.h — `longctx report`: one run that measures this machine and
 * the shipped models and writes a self-contained report of the article's
 * claims about long context, measured instead of asserted.
 *
 *   lc_report_run(config)          measure everything, within a time budget
 *        │                         (cells that would not fit are skipped and
 *        ▼                         the report says so, and why)
 *   lc_report  (every number, per section)
 *        │
 *   lc_report_write(r, dir)        dir/index.html   one file: inline CSS and SVG,
 *                                                    no script, no network
 *                                  dir/report.md    GitHub-renderable, with
 *                                  dir/fig-*.svg    the figures beside it
 *                                  dir/report.json  all numbers
 *
 * Sections (docs/report.md says what each measures and how to read it):
 *   1 memory         attention memory per context length, per method: the
 *                    analytic value beside the measured RSS growth, the
 *                    article's table, a real model's heads, layers and KV cache
 *   2 techniques     the article's technique comparison: longest context in a
 *                    memory budget, prefill/decode speed, memory, passkey
 *                    retention, each beside the article's claim
 *   3 extrapolation  the default model at 1x..16x its training length with
 *                    RoPE scalings, and the YaRN-fine-tuned model (heat maps)
 *   4 ppl/retention  perplexity against window length; attention mass against
 *                    distance per layer
 *   5 machine        CPU, peak FMA and bandwidth, versions, commands, wall time
 *
 * Models are looked up in config.models_dir (longctx-default.gguf,
 * longctx-yarn8.gguf, longctx-linear.gguf); a missing model skips what needs
 * it, with a message, never the run. The library never prints: progress goes
 * through config.progress.
 */
#ifndef LONGCTX_REPORT_H
#define LONGCTX_REPORT_H

#include <stdio.h>

#include "longctx/common.h"
#include "longctx/json.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_REPORT_MEMORY = 0,
    LC_REPORT_TECHNIQUES,
    LC_REPORT_EXTRAPOLATION,
    LC_REPORT_PPL_RETENTION,
    LC_REPORT_MACHINE,
    LC_REPORT_LAYOUTS, /* shown before MACHINE (section 5; machine is 6) */
    LC_REPORT_SECTION_COUNT
} lc_report_section;

/* "memory", "techniques", "extrapolation", "ppl_retention", "machine". */
const char *lc_report_section_key(lc_report_section s);

/* File names of the shipped models inside models_dir. */
#define LC_REPORT_MODEL_DEFAULT "longctx-default.gguf"
#define LC_REPORT_MODEL_YARN "longctx-yarn8.gguf"
#define LC_REPORT_MODEL_LINEAR "longctx-linear.gguf"

typedef struct {
    const char *models_dir;   /* the shipped models ("models")                   */
    bool quick;               /* fewer lengths, trials and repetitions (~2 min)  */
    bool tiny;                /* testing: random tiny stand-ins for the models
                                 and tiny lengths, so a run takes seconds; the
                                 numbers mean nothing and the report says so    */
    int n_threads;            /* <= 0: every available CPU                       */
    uint64_t seed;            /* task samples and random weights (1)             */
    double time_budget;       /* seconds the measurements may take; 0: 540
                                 (quick 100, tiny 30). Cells that would pass it
                                 are skipped, saying so                         */
    const char *command;      /* the command line, shown in section 5 (may be NULL) */
    const char *version;      /* e.g. `git describe`; NULL: the library version  */
    lc_progress_fn progress;  /* optional: done/total in planned seconds          */
    void *progress_user;
} lc_report_config;

/* models_dir "models", full run, all threads, seed 1, default budget. */
void lc_report_config_init(lc_report_config *c);

typedef struct lc_report lc_report;

/* Measure every section. Fails only on bad configuration or out of memory;
 * everything else (a missing model, a refused cell) is recorded in the
 * report. Free with lc_report_free. */
lc_status lc_report_run(const lc_report_config *c, lc_report **out, lc_error *err);
void lc_report_free(lc_report *r);

typedef enum { LC_REPORT_SKIPPED = 0, LC_REPORT_PARTIAL, LC_REPORT_COMPLETE } lc_report_state;

/* "skipped", "partial", "complete". */
const char *lc_report_state_name(lc_report_state s);
/* A section's state, its seconds, and (skipped/partial) why, into why[len]. */
lc_report_state lc_report_section_state(const lc_report *r, lc_report_section s, double *seconds, char *why,
                                        size_t len);
/* Wall time of the measurements. */
double lc_report_wall_seconds(const lc_report *r);

/* Write dir/index.html, dir/report.md, dir/report.json and the figures
 * (dir/fig-*.svg), creating dir (not its parents) if needed. */
lc_status lc_report_write(const lc_report *r, const char *dir, lc_error *err);
/* The JSON document alone (what report.json holds). */
void lc_report_write_json(const lc_report *r, lc_json_writer *w);
/* "report written to DIR/index.html, ... in S s", then one line a section:
 * its key, state, seconds and why it was skipped or partial. */
void lc_report_print_summary(FILE *f, const lc_report *r, const char *dir);
/* The version to name: "RELEASE (git DESCRIBE)" with `git describe --always
 * --dirty --tags` of the working directory, else of the running
 * executable's folder; RELEASE alone outside a checkout. Into buf. */
const char *lc_report_git_version(const char *release, char *buf, size_t len);

/* ---- Number formatting used by the tables (exposed for tests) --------------
 * All write into buf (NUL-terminated, truncated to len) and return buf;
 * a NaN, infinite or negative quantity gives "-". */

/* Binary units, 3 significant digits, trailing zeros dropped: "0 B",
 * "512 B", "8 MiB", "18.6 GiB", "386 KiB", "1.82 TiB". */
const char *lc_report_fmt_bytes(double bytes, char *buf, size_t len);
/* Token counts: a whole number of Ki/Mi as "2K", "32K", "1M"; otherwise
 * digits with thousands separators: "100,000", "512". */
const char *lc_report_fmt_tokens(int64_t n, char *buf, size_t len);
/* 3 significant digits, thousands separators from 1,000 up: "0.123", "12.3",
 * "456", "1,234", "98,765". */
const char *lc_report_fmt_num(double v, char *buf, size_t len);
/* Durations: "850 us", "12.3 ms", "4.56 s", "2m05s". */
const char *lc_report_fmt_seconds(double s, char *buf, size_t len);
/* A fraction as a percentage: 0.95 -> "95%", 0.125 -> "12.5%", 1 -> "100%". */
const char *lc_report_fmt_pct(double frac, char *buf, size_t len);

/* ---- Attention memory: the analytic model -----------------------------------
 * For a model shape (cfg: layers, heads, KV heads, head dim; weights are not
 * needed) and a context of n tokens. elem: the element type the article's
 * table and the KV cache are counted in (f16). Workspaces are the exact
 * bytes lc_attn_workspace asks for one layer's call of n queries over n keys
 * (all heads, n_threads threads); NaN where the method refuses. */
typedef struct {
    int64_t n;
    double article_bytes;     /* n^2 * 2: one head, one layer, FP16 scores (the article's unit) */
    double naive_layer_bytes; /* H * n^2 * elem: what standard attention materialises per layer */
    double naive_train_bytes; /* L * H * n^2 * elem: every layer's, kept for the backward pass  */
    double flash_ws, window_ws, linear_ws, chunked_ws; /* exact workspaces, one layer           */
    double kv_cache_bytes;    /* L * 2 * n * H_kv * d * elem                                     */
    double window_kv_bytes;   /* L * 2 * min(n, W + S) * H_kv * d * elem                         */
    double linear_state_bytes;/* L * (the LINEAR state of one layer)                             */
    /* FLOPs of a causal prefill of n tokens, all layers (L * lc_attn_flops): exact attention
     * (FLASH's count), WINDOW (W + 4 sinks) and LINEAR */
    double flops_full, flops_window, flops_linear;
} lc_report_mem_row;

/* window W (with 4 sinks) and chunk C (overlap C/8) parameterise the WINDOW
 * and CHUNKED workspaces; elem is f16 or f32. */
lc_status lc_report_memory_row(const lc_model_config *cfg, lc_dtype elem, int64_t n, int64_t window, int64_t chunk,
                               int n_threads, lc_report_mem_row *out, lc_error *err);

/* ---- The tables of `longctx analyze` (printed with lc_table, any face) -------------
 * lc_report_cost_table: a row per context length ns[i] of lc_report_memory_row
 * (cfg's shape, elem, window, chunk, threads). JSON/CSV keys: n, layers,
 * heads, kv_heads, head_dim, dtype, article_matrix_bytes, naive_layer_bytes,
 * naive_train_bytes, flash_/window_/linear_/chunked_workspace_bytes (null
 * where the method refuses), kv_cache_bytes, window_kv_cache_bytes,
 * linear_state_bytes, flops_full, flops_window, flops_linear; with
 * measurements (naive and flash, [n] each) also naive_seconds, flash_seconds
 * (null when not measured), naive_rss_bytes, flash_rss_bytes. The text shows
 * the lengths, bytes and TFLOPs (the shape columns are JSON/CSV only).
 * lc_report_measured_table: the measurements as text (time, RSS growth, and a
 * note saying why a cell was not measured). The caller frees the tables. */
typedef struct {
    double seconds;
    size_t rss;    /* RSS growth while it ran */
    char why[128]; /* "" when measured, else why not ("skipped (est. 40 s)") */
} lc_report_measure;
#define LC_REPORT_MAX_LENGTHS 64
lc_status lc_report_cost_table(const lc_model_config *cfg, lc_dtype elem, const int64_t *ns, int n, int64_t window,
                               int64_t chunk, int n_threads, const lc_report_measure *naive,
                               const lc_report_measure *flash, lc_table **out, lc_error *err);
lc_status lc_report_measured_table(const int64_t *ns, int n, const lc_report_measure *naive,
                                   const lc_report_measure *flash, lc_table **out, lc_error *err);
/* One call of method on shape s (lc_bench_attn_cell, n_threads), unless its
 * FLOPs at est_flops_per_s would take more than max_seconds: then why says so
 * ("skipped (est. N s)"), as it does for a refusal ("refused (cap)" for NAIVE's
 * size cap) or another failure (its message). */
void lc_report_measure_attn(const lc_attn_shape *s, lc_attn_method method, int n_threads, double est_flops_per_s,
                            double max_seconds, lc_report_measure *out);
/* analyze --measure: NAIVE (estimated at 2 GFLOP/s) and FLASH (50) on one
 * causal layer of cfg's heads, K/V heads and head dimension (elem K/V) at
 * each length ns[i] into naive[i] and flash[i], each within max_seconds. */
void lc_report_measure_lengths(const lc_model_config *cfg, lc_dtype elem, const int64_t *ns, int n, int n_threads,
                               double max_seconds, lc_report_measure *naive, lc_report_measure *flash);
/* A real family's KV memory (analyze --family): info, one row of family,
 * source, arch, layers, machinery, ctx, kv_bytes_per_token_global (and, as
 * text, the KV type, the bytes a token past every window, and what the scaled
 * model shows); rows, one a length (1..LC_REPORT_MAX_LENGTHS): n, kv_bytes,
 * kv_bytes_all_global (text: the percentage saved) and, when a scaled-down
 * random model of the same layer layout could be built, scaled_measured and
 * scaled_analytic (lc_family_preset_measure). */
lc_status lc_report_family_tables(const lc_family_preset *p, const int64_t *ns, int n, lc_dtype elem, lc_table **info,
                                  lc_table **rows, lc_error *err);
/* The family called name ("all": every one) as text, a record and its rows
 * with a blank line after, or (json) a JSON array of objects {record
 * fields..., "rows": [...]}. */
lc_status lc_report_families_print(FILE *f, const char *name, const int64_t *ns, int n, lc_dtype elem, bool json,
                                   lc_error *err);

/* ---- Attention memory of a runtime configuration, and budgets ---------------
 * What lc_context needs for attention at a context of n tokens with options
 * o (attention method or per-head HYBRID parameters, KV policy, cache types,
 * batch, threads): the KV cache slots (or the LINEAR states) of every layer
 * (with each slot's position and token, as the runtime keeps them) plus the
 * attention scratch of one forward chunk (n_batch queries over the slots)
 * or of one decode step, whichever is larger. Activations, weights and
 * matmul scratch are not attention memory and are not counted. Policies:
 * full, shift, window, sinks (h2o is refused as not modelled). */
typedef struct {
    int64_t n_slots;          /* tokens the cache holds at this length (0: LINEAR) */
    size_t kv_bytes;          /* cache (or states), all layers                    */
    size_t workspace_bytes;   /* attention scratch of one chunk                   */
    size_t total_bytes;
} lc_report_attn_mem;

lc_status lc_report_attn_memory(const lc_model_config *cfg, const lc_context_opts *o, int64_t n,
                                lc_report_attn_mem *out, lc_error *err);

/* The longest context n in 1..limit whose attention memory fits in budget
 * bytes (memory grows with n, so a bisection finds it): *n_max = 0 when not
 * even one token fits, limit when the limit itself fits (constant-memory
 * methods: the context is not bounded by memory). */
lc_status lc_report_max_context(const lc_model_config *cfg, const lc_context_opts *o, size_t budget, int64_t limit,
                                int64_t *n_max, lc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_REPORT_H */
