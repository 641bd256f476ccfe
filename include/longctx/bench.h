/*
 * longctx/bench.h — measurements of this machine's limits and of the
 * attention kernels, shared by `longctx bench`, `longctx analyze` and the
 * report. Every throughput figure longctx prints is stated as a fraction of
 * what lc_bench_peak measured on the same machine.
 */
#ifndef LONGCTX_BENCH_H
#define LONGCTX_BENCH_H

#include "longctx/attn.h"
#include "longctx/grammar.h"
#include "longctx/json.h"
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/runtime.h"
#include "longctx/sample.h"
#include "longctx/sys.h"
#include "longctx/table.h"
#include "longctx/tokenizer.h"
#include "longctx/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The FMA peak is measured for every tier the CPU has (AVX2; AVX-512 where
 * present, which on CPUs with full-width 512-bit units is twice AVX2).
 * fma_gflops / fma_gflops_1t are the best tier's (`isa`): the limit every
 * "% of FMA peak" is stated against. The per-tier fields are 0 for a tier
 * the CPU (or this build) lacks. */
typedef struct {
    lc_isa isa;            /* best tier: the one fma_gflops* were measured with */
    int threads;           /* threads used for the all-thread figures       */
    double fma_gflops_1t;  /* FP32 FMA peak, one thread (GFLOP/s, FMA = 2), best tier */
    double fma_gflops;     /* FP32 FMA peak, all threads, best tier         */
    double fma_gflops_1t_avx2;   /* the AVX2/FMA (256-bit) loop, one thread */
    double fma_gflops_avx2;      /* the AVX2/FMA loop, all threads          */
    double fma_gflops_1t_avx512; /* the AVX-512 (512-bit) loop, one thread  */
    double fma_gflops_avx512;    /* the AVX-512 loop, all threads           */
    double read_gbs_1t;    /* memory read bandwidth, one thread (GB/s, 1e9) */
    double read_gbs;       /* memory read bandwidth, all threads            */
    size_t read_buffer_bytes;
} lc_peak;

/* Measure FMA peak and read bandwidth. n_threads <= 0: all CPUs. buffer_bytes
 * 0: 1 GiB (or a quarter of available memory, whichever is smaller). */
lc_status lc_bench_peak(int n_threads, size_t buffer_bytes, lc_peak *out, lc_error *err);

typedef struct {
    int reps;                /* runs timed                                     */
    double seconds;          /* median                                         */
    double seconds_min;
    double flops;            /* lc_attn_flops of the cell                      */
    double gflops;           /* flops / median seconds / 1e9                   */
    size_t workspace_bytes;  /* what the method reported and was given         */
    size_t io_bytes;         /* Q + K + V + out                                */
    size_t rss_growth_bytes; /* peak RSS during the runs minus RSS before them */
    size_t peak_rss_bytes;   /* process peak RSS during the runs               */
} lc_attn_bench;

/* Fill random Q/K/V for s, then time lc_attn_forward reps times (fewer when a
 * single run passes max_seconds). Refusals (e.g. NAIVE past its cap) return
 * the method's status and message, with workspace_bytes set to what it would
 * need when known. */
lc_status lc_bench_attn_cell(const lc_attn_shape *s, const lc_attn_params *p, int reps, double max_seconds,
                             uint64_t seed, lc_attn_bench *out, lc_error *err);

/* ---- A grid of attention cells (bench attn) ------------------------------------
 * A method is an lc_attn_parse spec, or "hybrid:SPEC+SPEC[+...]" (at most
 * LC_BENCH_ATTN_MAX_HYBRID specs, assigned to the heads round-robin). */
#define LC_BENCH_ATTN_MAX_HYBRID 8
typedef struct {
    char spec[96];                                   /* as given (truncated to fit) */
    lc_attn_params p;                                /* method HYBRID for a hybrid  */
    lc_attn_params heads[LC_BENCH_ATTN_MAX_HYBRID];  /* hybrid: the specs           */
    int n_hybrid;
} lc_bench_attn_method;

lc_status lc_bench_attn_method_parse(const char *spec, lc_bench_attn_method *m, lc_error *err);
/* A comma-separated list of at most max specs (under 1 KiB) into out[*n]. */
lc_status lc_bench_attn_methods_parse(const char *list, lc_bench_attn_method *out, int max, int *n, lc_error *err);

typedef struct {
    const lc_bench_attn_method *m; /* the grid's method (borrowed)                   */
    int64_t n_q, n_kv;
    int d, heads, kv_heads, threads;
    bool causal;
    lc_dtype kv_type;
    lc_attn_bench r;               /* the measurement (workspace and flops also when skipped) */
    double frac_peak;   /* gflops / FMA peak, or K/V GB/s / read bandwidth for decode; 0 without a peak */
    double kv_gbs;      /* K+V bytes read (io_bytes less Q and out in f32) per median second */
    double speedup;     /* NAIVE's median / this median in the same cell, or 0      */
    char error[LC_ERROR_MSG_MAX]; /* non-empty: refused or skipped, and why         */
} lc_bench_attn_row;

/* The grid: for each head dim, each masking (causal first with causal_mode
 * 2), each length, each method in order. A cell whose time, estimated from
 * the same method's previous length, passes max_seconds is skipped (error
 * says so); a NAIVE cell measured earlier in the same length gives speedup.
 * on_cell (may be NULL) is called before each cell (done false: the shape is
 * filled) and after it (done true). */
typedef struct {
    const lc_bench_attn_method *methods;
    int n_methods;
    const int64_t *ns;   /* lengths (decode: cached keys)                          */
    int n_ns;
    const int64_t *ds;   /* head dims                                              */
    int n_ds;
    int heads, kv_heads; /* kv_heads 0: heads                                      */
    int threads;         /* <= 0: all CPUs                                         */
    int reps;
    int causal_mode;     /* 1 causal, 0 non-causal, 2 both                         */
    bool decode;         /* one query against n keys                               */
    lc_dtype kv_type;
    double max_seconds;
    int64_t naive_cap;   /* NAIVE's score-matrix cap in bytes                      */
    const lc_peak *peak; /* NULL: frac_peak stays 0                                */
    uint64_t seed;
    void (*on_cell)(void *user, const lc_bench_attn_row *row, int index, int n_cells, bool done);
    void *user;
} lc_bench_attn_grid;

/* The number of cells of g (rows lc_bench_attn_grid_run fills), or -1 when a
 * count is out of 1..4096. */
int64_t lc_bench_attn_grid_cells(const lc_bench_attn_grid *g);
/* What bench attn takes for what is not given, into the lists given (room
 * for max >= 6 entries each; g's lists then point at them): lengths (n_ns
 * 0) 1K..1M by fours (quick: 1K, 4K, 16K), head dims (n_ds 0) 64 and 128
 * (quick: 64), reps (0) 3 (quick: 2), max_seconds (0) 60 (quick: 5),
 * kv_heads (0) heads, threads (<= 0) every CPU, methods (n_methods 0)
 * LC_BENCH_ATTN_DEFAULT_METHODS; then every length within
 * LC_CONTEXT_MAX_TOKENS. */
#define LC_BENCH_ATTN_DEFAULT_METHODS "naive,flash,window:4096:4,linear:elu,chunked:512:64"
lc_status lc_bench_attn_grid_defaults(lc_bench_attn_grid *g, bool quick, int64_t *ns, int64_t *ds,
                                      lc_bench_attn_method *methods, int max, lc_error *err);
/* Measure every cell into rows (lc_bench_attn_grid_cells of them). A cell's
 * refusal is its row's error; the status is an error only for bad arguments
 * or no memory for the grid's bookkeeping. */
lc_status lc_bench_attn_grid_run(const lc_bench_attn_grid *g, lc_bench_attn_row *rows, lc_error *err);

/* ---- A model's prefill and decode at context lengths (bench model, report) ------
 * Each length L: a context of L + n_decode tokens (opts' other settings as
 * given) is prefilled with L synthetic tokens drawn from seed (or, with
 * synthetic, filled by lc_context_fill_synthetic: random K/V rows and states,
 * no prefill figures), then n_decode more tokens are decoded one at a time.
 * n lengths are measured together: every context is made first, then the
 * decode steps go round them one token at a time, so that a busy machine
 * slows every length alike (n = 1: one length alone). */
#define LC_BENCH_MODEL_MAX_SET 64
typedef struct {
    int64_t ctx, n_decode;
    double prefill_s, prefill_tok_s;             /* wall time of the prefill                   */
    double pf_matmul_s, pf_attn_s, pf_other_s;   /* its split (lc_context_timings)             */
    double pf_matmul_gflops, pf_attn_gflops;
    double fill_s;                               /* synthetic: seconds to fill                 */
    double kv_bytes, state_bytes, ring_bytes;    /* the context's cache: all, states, rings    */
    double all_full_kv_bytes;                    /* every layer a full-attention KV cache      */
    double dn_as_kv_bytes;                       /* the KV the DeltaNet layers would need      */
    double decode_s, decode_tok_s;               /* n_decode steps                             */
    double dc_matmul_s, dc_attn_s, dc_other_s;
    double dc_bytes_per_tok, dc_gbs;             /* weights + KV read per token, and per second */
    double dc_layer_s[LC_LAYER_KIND_COUNT];      /* decode seconds in layers of each kind      */
    double dc_mixer_s[LC_LAYER_KIND_COUNT];      /* of which the token mixer                   */
} lc_bench_model_row;

/* rows[i] for ctxs[i], i < n <= LC_BENCH_MODEL_MAX_SET. */
lc_status lc_bench_model_cells(const lc_model *m, const lc_context_opts *opts, const int64_t *ctxs, int n,
                               int64_t n_decode, uint64_t seed, bool synthetic, lc_bench_model_row *rows,
                               lc_error *err);

/* What bench model states about a model: its layers of each kind, and the
 * type of its weights (the first attention layer's Wo; the classifier's
 * when no layer has one, as in a model of DeltaNet layers only). */
typedef struct {
    int32_t layers[LC_LAYER_KIND_COUNT];
    lc_dtype weight_type;
} lc_bench_model_info;
void lc_bench_model_describe(const lc_model *m, lc_bench_model_info *out);

/* One token through a small context of opts (n_ctx 8), untimed: every weight
 * is read once, so the pages of a mapped model file are in place before the
 * first timed prefill (which would otherwise pay the page faults of the whole
 * file), as llama-bench's warm-up run does. */
lc_status lc_bench_model_warm_up(const lc_model *m, const lc_context_opts *opts, lc_error *err);

/* A row against the machine's peak: prefill matmul GFLOP/s over the FMA
 * peak, decode GB/s over the read bandwidth; 0 where pk (may be NULL) lacks
 * the figure. */
void lc_bench_model_peak_fractions(const lc_bench_model_row *r, const lc_peak *pk, double *matmul, double *bandwidth);

/* The row as one JSON object, `bench model --json`'s (docs/performance.md): ctx,
 * repeat, the cache bytes, fill_s (synthetic only), the prefill and decode
 * figures, decode_<kind>_layers_s and decode_<kind>_mixer_s for every layer
 * kind, and prefill_matmul_peak_frac / decode_bw_frac where pk (may be NULL)
 * has the peak. */
void lc_bench_model_row_json(lc_json_writer *w, const lc_bench_model_row *r, int64_t repeat, bool synthetic,
                             const lc_peak *pk);

/* bench model's faces. A run's description: what the text heading and the
 * JSON document state beside the rows. lc_bench_model_run_init fills info
 * (lc_bench_model_describe), cpu and threads (opts->n_threads, else every
 * CPU) and borrows model_path, m and opts; the caller sets the rest. */
typedef struct {
    const char *model_path;
    const lc_model *model;
    const lc_context_opts *opts; /* the cells' options: attn, cache types, n_batch, threads */
    lc_bench_model_info info;
    lc_peak peak;                /* fma_gflops 0: not measured (no fractions)              */
    char cpu[128];
    int threads;
    int sp_ranks;                /* > 0: each cell sharded over that many MPI ranks (--sp)  */
    bool synthetic;              /* depth by lc_context_fill_synthetic: no prefill figures */
    bool interleave;             /* lengths decoded token by token in turn                */
    const int64_t *ctxs;         /* the lengths, in the order of the rows of one repeat    */
    int n_ctx;
} lc_bench_model_run;
void lc_bench_model_run_init(lc_bench_model_run *r, const char *model_path, const lc_model *m,
                             const lc_context_opts *opts);
/* Text: the heading (model, cpu, threads, attention, cache types, peak; the
 * --sp and synthetic-depth notes) and the titles of the row table. */
lc_status lc_bench_model_print_head(FILE *f, const lc_bench_model_run *r, lc_error *err);
/* One row of that table (tokens/s, the time split in %, GFLOP/s, MB/token,
 * GB/s, KV MiB; a synthetic row has no prefill figures), flushed. */
lc_status lc_bench_model_print_row(FILE *f, const lc_bench_model_row *row, bool synthetic, lc_error *err);
/* What follows the rows: for models with window or DeltaNet layers, decode
 * per layer kind over the complete repeats (lc_bench_model_kinds_at), the
 * DeltaNet ratio of the last length to the first and the memory table; with
 * a peak, the fractions of it (rows[r * n_ctx + i]: repeat r, length i). */
lc_status lc_bench_model_print_summary(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows,
                                       int n_rows, lc_error *err);
/* The rows of a run: every length of r n_repeat times (1..LC_BENCH_MODEL_MAX_REPEAT)
 * in turn (r->interleave: the lengths together, lc_bench_model_cells), into
 * rows[n_repeat x r->n_ctx] (rows[k * n_ctx + i]: repeat k, length i), each
 * printed to f (NULL: not) as it is measured; *n_rows the rows measured. */
lc_status lc_bench_model_measure(const lc_model *m, const lc_bench_model_run *r, int64_t n_decode, uint64_t seed,
                                 int n_repeat, lc_bench_model_row *rows, int *n_rows, FILE *f, lc_error *err);
/* `bench model --json`: one object, the run's fields and "rows"
 * (lc_bench_model_row_json), docs/performance.md. */
lc_status lc_bench_model_write_json(FILE *f, const lc_bench_model_run *r, const lc_bench_model_row *rows, int n_rows,
                                    lc_error *err);

/* ---- Weight-matrix products Y[n, rows] = X[n, cols] W^T (bench matmul) -----
 * Weight types by name, case-insensitive: the quantised q4_0 q4_1 q5_0 q5_1
 * q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl iq4_xs mxfp4 (timed through the
 * integer kernels, or through lc_matmul with via_matmul) and f32 f16 bf16
 * (lc_matmul). Weights are random blocks with finite scales. */
typedef struct {
    char type[16];               /* the type's canonical name ("q4_K")            */
    int64_t rows, cols, n_tok;
    int threads, reps, copies;
    size_t weight_bytes;         /* one copy                                      */
    double s_min, s_med, s_max;  /* wall seconds per product                      */
    double gbs, gflops;          /* weights read / median s, 2 flops per multiply-add */
    double pct_bw, pct_fma;      /* of the peak given (0 without one)             */
    double cpu_med, cpu_gflops;  /* process CPU s per product (median); GFLOP/s per
                                    thread-second x threads                      */
} lc_bench_matmul_row;

/* True when name is a weight type; its canonical spelling into canonical. */
bool lc_bench_matmul_type_name(const char *name, char *canonical, size_t len);
/* Bytes of a rows x cols weight of the type; 0 when cols is not a whole
 * number of its blocks (or the type is unknown). */
size_t lc_bench_matmul_weight_bytes(const char *type, int64_t rows, int64_t cols);

/* Copies of a random weight, read in turn (copies 0: enough for 128 MiB, at
 * most 8; fewer when memory runs out, at least one). */
typedef struct lc_bench_matmul_weights lc_bench_matmul_weights;
lc_status lc_bench_matmul_weights_create(const char *type, int64_t rows, int64_t cols, int copies,
                                         lc_bench_matmul_weights **out, lc_error *err);
void lc_bench_matmul_weights_free(lc_bench_matmul_weights *w);
/* One warm-up and reps timed products of n_tok tokens (1..65536) on threads
 * (1..1024), repetition k reading copy k+1 (mod copies). pk (NULL: none)
 * gives pct_bw / pct_fma, its single-thread figures for threads = 1. */
lc_status lc_bench_matmul_cell(const lc_bench_matmul_weights *w, int64_t n_tok, int threads, int reps,
                               bool via_matmul, const lc_peak *pk, lc_bench_matmul_row *out, lc_error *err);

/* A comma-separated list of at most max type names into out (canonical). */
typedef char lc_bench_matmul_type[16];
lc_status lc_bench_matmul_types_parse(const char *list, lc_bench_matmul_type *out, int max, int *n, lc_error *err);

/* Every type x token count x thread count cell, in that order, into rows
 * (n_types x n_toks x n_threads of them); on_cell (may be NULL) after each. */
typedef struct {
    const lc_bench_matmul_type *types;
    int n_types;
    int64_t rows, cols;
    const int64_t *toks;      /* token counts, n_toks of them                      */
    int n_toks;
    const int64_t *threads;   /* thread counts, n_threads of them                  */
    int n_threads;
    int reps;                 /* 0: 10 for one token, 3 otherwise                  */
    int copies;               /* lc_bench_matmul_weights_create's                  */
    bool via_matmul;
    const lc_peak *pk;        /* NULL: no percentages                              */
    void (*on_cell)(void *user, const lc_bench_matmul_row *row);
    void *user;
} lc_bench_matmul_grid;
lc_status lc_bench_matmul_grid_run(const lc_bench_matmul_grid *g, lc_bench_matmul_row *rows, lc_error *err);
/* The grid before anything is allocated: token counts 1..65536, thread
 * counts 1..1024, cols a whole number of every type's blocks. */
lc_status lc_bench_matmul_grid_check(const lc_bench_matmul_grid *g, lc_error *err);

/* ---- Training (bench train) -------------------------------------------------- */
typedef struct {
    int64_t ctx;                 /* the config's context length                    */
    const char *attn;            /* "flash", "naive" or "linear" (lc_bench_train_kind) */
    bool ran;                    /* false: skipped (note says why)                 */
    char note[LC_ERROR_MSG_MAX];
    double step_s, cpu_s;        /* best step: wall seconds, process CPU seconds    */
    double tok_s, gflops;        /* tokens / step_s; lc_bench_train_step_flops / step_s */
    double matmul_s, attn_s;     /* the best step's split (lc_train_stats)          */
    size_t activations, attention, total; /* lc_train_plan: slab, attention state, all */
    size_t peak_rss, rss_growth; /* measured during the steps                       */
} lc_bench_train_row;

/* The attention of a bench train cell by name: "flash" or "naive" (softmax
 * attention with that backward) or "linear" (a linear:elu model). */
lc_status lc_bench_train_kind(lc_train_config *c, const char *kind, lc_error *err);
/* A comma-separated list of at most max of those names into out (static strings). */
lc_status lc_bench_train_kinds_parse(const char *list, const char **out, int max, int *n, lc_error *err);
/* Model FLOPs of one step: 6 per matmul parameter per token, plus attention
 * (softmax 6 H d T per token and layer, causal; linear 3 (4 c d + 4 d^2) per
 * head with chunk c). */
double lc_bench_train_step_flops(const lc_train_config *c);
/* One warm-up and `steps` timed training steps of c on the toy "copy" data;
 * the best is kept. A plan needing more than 80 % of available memory is
 * skipped (ran false, LC_OK, the note says what it needs). */
lc_status lc_bench_train_cell(const lc_train_config *c, int steps, lc_bench_train_row *out, lc_error *err);
/* bench train's cells: each context ctx[i] x attention kind (lc_bench_train_kind,
 * then lc_bench_train_cell of c at that context), a row each added to t
 * (lc_bench_train_table's, made with the same pk) and printed to f (NULL:
 * not) as it comes; a cell that fails says why in its row's note. The
 * table's status. */
lc_status lc_bench_train_grid(const lc_train_config *c, const int64_t *ctx, int n_ctx, const char *const *kinds,
                              int n_kinds, int steps, const lc_peak *pk, lc_table *t, FILE *f, lc_error *err);

/* The trainer's GEMM (lc_sgemm) on the model's shapes, N = batch x ctx:
 * gate forward, its two backward products, logits, and a 1024 cube. */
#define LC_BENCH_TRAIN_GEMM_ROWS 5
typedef struct {
    const char *what;            /* "fwd  x W_gate^T  [N,C]x[C,HD]"                */
    bool trans_a, trans_b;
    int64_t m, n, k;
    double gflops_1t;            /* best of >= 3 runs (0.5 s at most), one thread   */
    double gflops_1t_cpu;        /* the same by the thread's CPU time               */
    double gflops;               /* on `threads` threads                            */
} lc_bench_gemm_row;
lc_status lc_bench_train_gemm(const lc_train_config *c, int threads, lc_bench_gemm_row rows[LC_BENCH_TRAIN_GEMM_ROWS],
                              lc_error *err);

/* The training attention layers alone at one context (batch x heads of c's
 * model), one thread, thread CPU seconds of one call each (NaN: skipped; the
 * naive ones when P would take half the available memory). Memory: scratch
 * plus saved state. */
typedef struct {
    int64_t ctx;
    double flash_fwd, flash_bwd, naive_fwd, naive_bwd, lin_fwd, lin_bwd;
    size_t flash_bytes, naive_bytes, lin_bytes;
} lc_bench_train_attn_row;
lc_status lc_bench_train_attn_layers(const lc_train_config *c, int64_t ctx, lc_bench_train_attn_row *out,
                                     lc_error *err);

/* ---- A KV policy over a long token stream (bench kv) --------------------------
 * Synthetic tokens (seeded) stream through ctx in prefill chunks up to each
 * checkpoint at[k]; there, `repeat` rounds decode n_decode tokens one at a
 * time on ctx and on base (which holds only at[0] tokens), alternately, so
 * that a busy machine slows both alike. */
#define LC_BENCH_KV_MAX_AT 16
#define LC_BENCH_KV_MAX_REPEAT 16
typedef struct {
    const int64_t *at;       /* increasing checkpoints, n_at of them (<= LC_BENCH_KV_MAX_AT) */
    int n_at;
    int64_t n_decode;        /* decode tokens per round                          */
    int64_t repeat;          /* rounds per checkpoint, 1..LC_BENCH_KV_MAX_REPEAT */
    uint64_t seed;           /* stream seed; the baseline's is seed + 1          */
    lc_progress_fn progress; /* streamed tokens of at[n_at - 1]; may be NULL     */
    void *progress_user;
} lc_bench_kv_spec;

typedef struct {
    int64_t at;              /* tokens seen when the decode starts               */
    double best, median;     /* decode tokens/s over the rounds                  */
    double ratio;            /* median over rounds of this / baseline            */
    double base_median;      /* the baseline context's decode tokens/s           */
    double prefill_tok_s;    /* stream since the previous checkpoint             */
    size_t rss;              /* process RSS after the rounds                     */
    lc_kv_stats kv;          /* the streamed context's cache                     */
} lc_bench_kv_row;

/* Tokens the whole run feeds the streamed context (last checkpoint plus the
 * decode rounds); LC_ERR_TOO_LARGE past LC_CONTEXT_MAX_TOKENS. */
lc_status lc_bench_kv_stream_tokens(const lc_bench_kv_spec *s, int64_t *tokens);
/* The spec before anything is loaded: 1..LC_BENCH_KV_MAX_AT increasing
 * checkpoints, 1..LC_BENCH_KV_MAX_REPEAT rounds of n_decode >= 1 tokens,
 * the whole stream within LC_CONTEXT_MAX_TOKENS (LC_ERR_TOO_LARGE). */
lc_status lc_bench_kv_spec_check(const lc_bench_kv_spec *s, lc_error *err);
/* rows[k] for at[k]; ctx and base are new contexts of the same model and
 * options (a full policy needs n_ctx >= lc_bench_kv_stream_tokens). */
/* bench kv's whole run on m: two contexts of opts (a full policy's n_ctx raised
 * to lc_bench_kv_stream_tokens when below it), lc_bench_kv_stream on them into
 * rows [s->n_at], and (info not NULL) the record lc_bench_kv_info of the
 * streamed context, model_path naming the model; the contexts are freed. */
lc_status lc_bench_kv_run(const lc_model *m, const lc_context_opts *opts, const lc_bench_kv_spec *s,
                          const char *model_path, lc_bench_kv_row *rows, lc_table **info, lc_error *err);
lc_status lc_bench_kv_stream(lc_context *ctx, lc_context *base, const lc_bench_kv_spec *s, lc_bench_kv_row *rows,
                             lc_error *err);

/* ---- RoPE per token (bench rope) --------------------------------------------
 * The best of reps builds of the cos/sin table for n_ctx positions, then the
 * best of reps passes rotating heads x head_dim (cfg->n_dims rotated) for
 * n_tok tokens (at most n_ctx): ns[layout][k], layout 0 NORM, 1 NEOX; k 0
 * from the table with the dispatched kernel, 1 with the scalar one, 2 and 3
 * the same on the fly (positions past the table). */
typedef struct {
    double build_s;          /* best table build, seconds                      */
    double ns[2][4];         /* ns per token                                   */
    size_t table_bytes;
    int64_t n_tok;           /* tokens per pass                                */
    int64_t n_ctx;           /* the run's: positions tabled,                   */
    int heads, head_dim, reps; /* heads, their dimension, repetitions          */
} lc_bench_rope_result;
lc_status lc_bench_rope(const lc_rope_config *cfg, int64_t n_ctx, int heads, int head_dim, int64_t n_tok, int reps,
                        lc_bench_rope_result *out, lc_error *err);

/* ---- Sampling (bench sample) ---------------------------------------------------
 * Microseconds per sampled token (penalties, filters, draw; the copy of the
 * logits included), best of reps passes of n_iter tokens over 8 sets of
 * logits ~ N(0, scale^2) (seed 1), for: greedy; llama.cpp's default chain;
 * the default with a repeat penalty; top-p, min-p, temperature alone; custom
 * (when not NULL); and a naive baseline that sorts the whole vocabulary each
 * token. */
#define LC_BENCH_SAMPLE_MAX_CHAINS 8
typedef struct {
    const char *chain;       /* "greedy", ... (static strings)                   */
    double us_per_token;
    int32_t last_candidates; /* candidates at the last draw (0: the baseline)    */
} lc_bench_sample_row;
lc_status lc_bench_sample_chains(int32_t vocab, float scale, int n_iter, int reps, const lc_sampler_params *custom,
                                 lc_bench_sample_row rows[LC_BENCH_SAMPLE_MAX_CHAINS], int *n_rows, lc_error *err);

/* ---- Tokenizers (bench tokenize) -------------------------------------------
 * The text: the file at path read and repeated up to size bytes, or (path
 * NULL) seeded synthetic text mixing English words, numbers, CJK and emoji;
 * the caller frees *out. Then the best of reps encodes (into a buffer sized
 * up front, as a caller that knows the length would) and decodes. */
#define LC_BENCH_TOKENIZE_MAX_TEXT ((size_t)256 << 20)
typedef struct {
    const char *kind;          /* "spm" or "bpe"                                 */
    int64_t bytes, tokens;     /* of the text                                    */
    double encode_s, decode_s; /* best of the repetitions                       */
    bool round_trip_exact;     /* decode(encode(text)) == text                   */
} lc_bench_tokenize_row;
lc_status lc_bench_tokenize_text(const char *path, size_t size, char **out, lc_error *err);
lc_status lc_bench_tokenize(const lc_tokenizer *tok, const char *text, size_t size, int reps,
                            lc_bench_tokenize_row *out, lc_error *err);

/* ---- Constrained sampling (bench grammar) -------------------------------------
 * n_steps steps over the tokenizer's vocabulary with random logits (seed 1):
 * a sampler of params sp alone; the full mask of the vocabulary
 * (lc_grammar_allowed_tokens on gs); the constrained sampler, which the
 * caller made with the same params and attached gs's grammar to. A sentence
 * that ends (EOS, or 4000 tokens) resets gs. */
typedef struct {
    double min, median, max, mean; /* microseconds per token */
} lc_bench_us;
typedef struct {
    lc_bench_us plain, constrained, full_mask;
    int sentences;           /* ended by EOS                                      */
    double mask_fraction;    /* steps on which the constrained sampler masked     */
    double mean_allowed;     /* tokens the grammar allowed, mean over the steps   */
    int steps;               /* n_steps                                           */
    int32_t n_vocab;         /* the tokenizer's                                   */
} lc_bench_grammar_result;
lc_status lc_bench_grammar(const lc_tokenizer *tok, const lc_sampler_params *sp, lc_sampler *constrained,
                           lc_grammar_state *gs, int n_steps, lc_bench_grammar_result *out, lc_error *err);

/* ---- The cells' rows as tables (longctx/table.h) --------------------------------
 * The columns `longctx bench` prints, declared once: their keys are the JSON
 * keys and CSV columns of its --json and --csv (tests/cli/bench.sh and
 * tools/ read them). pk NULL: no fractions of the peak (attn: and no peak
 * columns). attn's and train's tables can be made empty (n 0) and filled a
 * row at a time (_add), so that a row is printed as soon as it is measured. */
lc_status lc_bench_attn_table(const lc_peak *pk, lc_table **out, lc_error *err);
void lc_bench_attn_table_add(lc_table *t, const lc_bench_attn_row *r, const lc_peak *pk);
lc_status lc_bench_matmul_table(const lc_bench_matmul_row *rows, int n, lc_table **out, lc_error *err);
lc_status lc_bench_kv_table(const lc_bench_kv_row *rows, int n, lc_table **out, lc_error *err);
lc_status lc_bench_train_table(const lc_bench_train_row *rows, int n, const lc_peak *pk, lc_table **out, lc_error *err);
void lc_bench_train_table_add(lc_table *t, const lc_bench_train_row *r, const lc_peak *pk);
lc_status lc_bench_gemm_table(const lc_bench_gemm_row *rows, int n, const lc_peak *pk, lc_table **out, lc_error *err);
/* tokenize: names[i] names rows[i]; rope: one row per layout (norm, neox),
 * ns per token and per rotated pair of heads x n_dims; grammar: one row per
 * sampler (plain, constrained, full_mask). rope's and grammar's rows are
 * named (LC_TABLE_ROW_KEY): JSON objects of those names. */
lc_status lc_bench_tokenize_table(const lc_bench_tokenize_row *rows, const char *const *names, int n, lc_table **out,
                                  lc_error *err);
lc_status lc_bench_rope_table(const lc_bench_rope_result *r, int heads, int n_dims, lc_table **out, lc_error *err);
lc_status lc_bench_grammar_table(const lc_bench_grammar_result *r, lc_table **out, lc_error *err);
/* c gives the FLOPs (4 hd per visible pair and head forward, 10 hd backward). */
lc_status lc_bench_train_attn_table(const lc_train_config *c, const lc_bench_train_attn_row *rows, int n,
                                    lc_table **out, lc_error *err);
/* What the commands state above their rows, as one-row tables (text:
 * lc_table_print_fields; JSON: the members of the document's object;
 * src/bench/bench_records.c). bench matmul: cpu, isa, api (lc_matmul or
 * lc_qmatmul), rows, cols and the peak's read bandwidth and FMA figures (all
 * threads and one). bench kv: the model, the cache (lc_context_kv_describe),
 * batch, threads, decode tokens per round, rounds. bench train: cpu,
 * parameters (lc_train_plan), the model's shape, batch, threads and (pk not
 * NULL) the FMA peak; --sgemm: threads and the peaks (pk not NULL);
 * --kernels: batch, heads, kv_heads, head_dim. */
lc_status lc_bench_matmul_info(const lc_bench_matmul_grid *g, const lc_peak *pk, lc_table **out, lc_error *err);
lc_status lc_bench_kv_info(const char *model_path, const lc_context *ctx, const lc_bench_kv_spec *s, lc_table **out,
                           lc_error *err);
lc_status lc_bench_train_info(const lc_train_config *c, const lc_peak *pk, lc_table **out, lc_error *err);
lc_status lc_bench_gemm_info(int threads, const lc_peak *pk, lc_table **out, lc_error *err);
lc_status lc_bench_train_attn_info(const lc_train_config *c, lc_table **out, lc_error *err);
/* bench kv's line below its table (n >= 2 rows): decode at the last
 * checkpoint against the first (the median ratio) and the RSS change. */
void lc_bench_kv_print_summary(FILE *f, const lc_bench_kv_row *rows, int n, int64_t repeat);
/* bench peak's record: the FMA peaks (best tier, AVX2, AVX-512; one thread
 * and all), the read bandwidths, threads, isa, cpu and the read buffer, under
 * the keys its --json help names. bench contend's: the model, the run's
 * threads, busy processes, context, decode tokens and runs, the OpenMP wait
 * policy in force (OMP_WAIT_POLICY, GOMP_SPINCOUNT; "" when unset), the
 * quiet and loaded spreads and the slowdown. bench rope's: the RoPE
 * (lc_rope_describe), the run's positions, heads and dimensions, the table's
 * bytes and build ns per position, the isa, repetitions and tokens. bench
 * grammar's: the vocabulary file, its tokens, the grammar and sampler chain
 * named by the caller, steps, sentences completed, build_s (the grammar's
 * vocabulary trie), the fraction of steps masked, the tokens allowed. */
lc_status lc_bench_peak_table(const lc_peak *pk, lc_table **out, lc_error *err);
lc_status lc_bench_rope_info(const lc_rope_config *cfg, const lc_bench_rope_result *r, lc_table **out, lc_error *err);
lc_status lc_bench_grammar_info(const char *vocab, const char *grammar, const char *chain, double build_s,
                                const lc_bench_grammar_result *r, lc_table **out, lc_error *err);
/* bench sample's table (vocab, chain, us per token, candidates at the draw)
 * and the rows of one vocabulary size added to it. */
lc_status lc_bench_sample_table(lc_table **out, lc_error *err);
void lc_bench_sample_table_add(lc_table *t, int32_t vocab, const lc_bench_sample_row *rows, int n);

/* ---- Spread of repeated measurements ---------------------------------------------
 * min, median (the mean of the middle two for an even count) and max of n
 * values (1..2^20; v is sorted in place). */
typedef struct {
    double min, median, max;
} lc_bench_spread;
lc_status lc_bench_spread_of(double *v, int n, lc_bench_spread *out, lc_error *err);

/* ---- bench model --repeat: its rows over the repeats ------------------------------
 * rows[r * n_ctx + i] is repeat r (< n_rep <= LC_BENCH_MODEL_MAX_REPEAT) at
 * length index i (< n_ctx), the order in which bench model --repeat measures
 * them. Decode per layer kind at index i, in ms per decoded token: */
#define LC_BENCH_MODEL_MAX_REPEAT 64
typedef struct {
    int64_t ctx;
    lc_bench_spread decode_ms;                     /* the whole step                          */
    lc_bench_spread layer_ms[LC_LAYER_KIND_COUNT]; /* in the layers of each kind              */
    lc_bench_spread mixer_ms[LC_LAYER_KIND_COUNT]; /* of which their token mixer              */
    double layer_share[LC_LAYER_KIND_COUNT];       /* median layer_ms / median decode_ms      */
    lc_bench_spread outside_ms; /* outside the layers (embedding, output norm, classifier): the
                                   same work at every length, a control                     */
} lc_bench_model_kinds;
lc_status lc_bench_model_kinds_at(const lc_bench_model_row *rows, int n_ctx, int n_rep, int i,
                                  lc_bench_model_kinds *out, lc_error *err);
/* The DeltaNet layers' decode time per token at the last length over the
 * first, paired within each repeat that timed DeltaNet at the first length:
 * whole layers and the token mixer alone. Returns the pairs (0: none, or
 * arguments out of range; the spreads are then 0). */
int lc_bench_model_deltanet_ratio(const lc_bench_model_row *rows, int n_ctx, int n_rep, lc_bench_spread *layers,
                                  lc_bench_spread *mixer);

/* ---- Decode beside competing load (bench contend) ---------------------------------
 * A prefill of ctx tokens (seed 1) and n_decode decode steps (lc_bench_model_cells'
 * decode cell), once to warm up, then reps (1..64) times alternately on the
 * machine as it is and beside `busy` (0..64) processes forked to spin at the
 * same priority and killed after each run. */
#define LC_BENCH_CONTEND_MAX 64
typedef struct {
    lc_bench_spread quiet, loaded; /* decode tokens/s                          */
    double slowdown;               /* quiet median / loaded median (0: none)   */
    int threads, busy, reps;       /* the run's (threads: opts', else all CPUs) */
    int64_t ctx, n_decode;
} lc_bench_contend_result;
lc_status lc_bench_contend(const lc_model *m, const lc_context_opts *opts, int64_t ctx, int64_t n_decode, int busy,
                           int reps, lc_bench_contend_result *out, lc_error *err);
/* Its one-row table: what it holds is described beside lc_bench_peak_table. */
lc_status lc_bench_contend_table(const char *model_path, const lc_bench_contend_result *r, lc_table **out,
                                 lc_error *err);

#ifdef __cplusplus
}
#endif
#endif
