/*
 * longctx/bench.h — measurements of this machine's limits and of the
 * attention kernels, shared by `longctx bench`, `longctx analyze` and the
 * report. Every throughput figure longctx prints is stated as a fraction of
 * what lc_bench_peak measured on the same machine.
 */
#ifndef LONGCTX_BENCH_H
#define LONGCTX_BENCH_H

#include "longctx/attn.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "longctx/sys.h"

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

#ifdef __cplusplus
}
#endif
#endif
