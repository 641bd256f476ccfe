/* GET /metrics: Prometheus text exposition of the server's counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *name, const char *type, const char *help, double v) {
    char line[512];
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
    if (n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *t = realloc(b->buf, cap);
        if (!t) return;
        b->buf = t;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, line, (size_t)n + 1);
    b->len += (size_t)n;
}

char *srv_metrics_text(lc_server *s) {
    srv_counters c;
    int busy, waiting;
    size_t kv_used, kv_cap;
    srv_snapshot(s, &c, &busy, &waiting, &kv_used, &kv_cap);
    sbuf b = {0};
    put(&b, "longctx_requests_chat_total", "counter", "POST /v1/chat/completions requests", (double)c.requests[0]);
    put(&b, "longctx_requests_completions_total", "counter", "POST /v1/completions requests", (double)c.requests[1]);
    put(&b, "longctx_requests_errors_total", "counter", "responses with an HTTP status >= 400", (double)c.errors);
    put(&b, "longctx_requests_rejected_busy_total", "counter", "503: no slot free in time or the queue full", (double)c.rejected_busy);
    put(&b, "longctx_stream_disconnects_total", "counter", "streams the client left before the end", (double)c.disconnects);
    put(&b, "longctx_prompt_tokens_total", "counter", "prompt tokens of finished requests", (double)c.prompt_tokens);
    put(&b, "longctx_prompt_tokens_cached_total", "counter", "prompt tokens reused from a slot's cache", (double)c.cached_tokens);
    put(&b, "longctx_prompt_cache_hits_total", "counter", "requests that reused cached prompt tokens", (double)c.cache_hits);
    put(&b, "longctx_completion_tokens_total", "counter", "generated tokens", (double)c.completion_tokens);
    put(&b, "longctx_prompt_seconds_total", "counter", "seconds evaluating prompts", c.t_prompt);
    put(&b, "longctx_decode_seconds_total", "counter", "seconds generating", c.t_decode);
    put(&b, "longctx_prompt_tokens_per_second", "gauge", "prompt tokens evaluated per second (all requests)",
        c.t_prompt > 0 ? (double)(c.prompt_tokens - c.cached_tokens) / c.t_prompt : 0);
    put(&b, "longctx_decode_tokens_per_second", "gauge", "generated tokens per second (all requests)",
        c.t_decode > 0 ? (double)c.completion_tokens / c.t_decode : 0);
    put(&b, "longctx_slots_total", "gauge", "slots (--parallel)", (double)s->n_slots);
    put(&b, "longctx_slots_busy", "gauge", "slots answering a request", (double)busy);
    put(&b, "longctx_requests_waiting", "gauge", "requests waiting for a slot", (double)waiting);
    put(&b, "longctx_kv_bytes_in_use", "gauge", "K/V bytes of the tokens the slots hold", (double)kv_used);
    put(&b, "longctx_kv_bytes_capacity", "gauge", "K/V bytes of every slot's cache", (double)kv_cap);
    srv_batcher_counts bc = {0};
    if (s->batcher) srv_batcher_stats(s->batcher, &bc);
    put(&b, "longctx_decode_batching", "gauge",
        "1: the generating slots' decode steps run as one forward pass; 0: each its own (--decode-batch)",
        srv_batcher_batched(s->batcher) ? 1.0 : 0.0);
    put(&b, "longctx_decode_batches_total", "counter", "decode forward passes (--parallel > 1)", (double)bc.steps);
    put(&b, "longctx_decode_batch_tokens_total", "counter", "tokens those passes evaluated (/ batches: the mean batch)",
        (double)bc.rows);
    put(&b, "longctx_prompt_chunks_total", "counter",
        "prompt chunks evaluated between the decode steps (--parallel > 1)", (double)bc.chunks);
    put(&b, "longctx_prompt_chunk_tokens_total", "counter", "tokens those chunks evaluated", (double)bc.chunk_tokens);
    put(&b, "longctx_prompt_pauses_total", "counter",
        "times a prompt paused between two layers or chunks for the generating slots' steps", (double)bc.pauses);
    srv_tree_counts tc;
    srv_tree_stats(s->tree, &tc);
    put(&b, "longctx_prefix_tree_bytes", "gauge", "K/V bytes the prefix tree across requests holds", (double)tc.bytes);
    put(&b, "longctx_prefix_tree_capacity_bytes", "gauge", "the prefix tree's limit (0: no tree)", (double)tc.cap);
    put(&b, "longctx_prefix_tree_tokens", "gauge", "tokens the prefix tree holds", (double)tc.tokens);
    put(&b, "longctx_prefix_tree_hits_total", "counter", "requests given KV rows from the prefix tree", (double)tc.hits);
    put(&b, "longctx_prefix_tree_tokens_reused_total", "counter", "prompt tokens copied from the prefix tree", (double)c.tree_tokens);
    put(&b, "longctx_prefix_tree_evictions_total", "counter", "prefix tree nodes evicted (LRU)", (double)tc.evictions);
    put(&b, "longctx_prefix_tree_evicted_tokens_total", "counter", "tokens evicted from the prefix tree", (double)tc.evicted_tokens);
    return b.buf;
}
