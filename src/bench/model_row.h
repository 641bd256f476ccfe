/*
 * Internal: the figures of a bench model row (include/longctx/bench.h) from
 * a context's timings — shared by lc_bench_model_cells (model_bench.c) and
 * the sequence-parallel cell (src/mpi/sp_bench.c).
 */
#ifndef LC_BENCH_MODEL_ROW_H
#define LC_BENCH_MODEL_ROW_H

#include "longctx/bench.h"
#include "longctx/runtime.h"

/* Prefill tokens/s, its matmul / attention / other split and GFLOP/s, from
 * r->ctx, r->prefill_s and the context's timings since their last reset. */
void lc_bench_row_prefill_figures(lc_context *ctx, lc_bench_model_row *r);

/* Decode tokens/s, its split, bytes per token and GB/s, the time by layer
 * kind, from r->n_decode, r->decode_s and the context's timings since their
 * last reset; nothing when no token was timed. */
void lc_bench_row_decode_figures(lc_context *ctx, lc_bench_model_row *r);

#endif
