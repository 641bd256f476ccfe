/* longctx bench kv — a KV cache policy over a long token stream: decode
 * tokens/s and resident memory at checkpoints along the stream (4K ... 1M
 * tokens), to show that window and sinks cost the same per token after a
 * million tokens as after four thousand. Synthetic tokens; the stream between
 * checkpoints goes through in prefill chunks; at each checkpoint -r rounds
 * decode -n tokens one at a time on the streamed context and on a second
 * context that holds only the first checkpoint's tokens, alternately, so that
 * a busy machine slows both alike: the ratio of the two is the figure.
 * The measurement is lc_bench_kv_stream (src/bench/kv_bench.c). */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/util.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"
#include "llama_flags.h"
#include "runtime_flags.h"

#define MAX_AT LC_BENCH_KV_MAX_AT
#define MAX_REPEAT LC_BENCH_KV_MAX_REPEAT

static const char synopsis[] =
    "usage: longctx bench kv -m MODEL [options]\n\n"
    "Streams synthetic tokens through one context under a KV policy and, at each checkpoint,\n"
    "times decoding -n tokens one at a time (-r rounds), alternating with a second context that\n"
    "holds only the first checkpoint's tokens: tokens/s, their ratio (median over rounds) and\n"
    "resident memory (RSS). For window and sinks the ratio at 1M tokens should be about 1.\n\n";

int bench_kv(int argc, char **argv) {
    cli_runtime_flags rf;
    cli_runtime_flags_init(&rf);
    int64_t at[MAX_AT] = {4096, 65536, 262144, 1048576};
    int n_at = 4;
    int64_t n_dec = 32, repeat = 3;
    uint64_t seed = 1;
    bool json = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_MODEL_OPTS(&rf),
        CLI_RUNTIME_OPTS(&rf),
        CLI_I64_LIST("--at", "LIST", at, &n_at, MAX_AT, -CLI_INT_LIMIT, "checkpoints in tokens (default 4K,64K,256K,1M)"),
        CLI_I64("-n|--decode", "N", &n_dec, 1, LC_CONTEXT_MAX_TOKENS, "decode tokens per repeat (default 32)"),
        CLI_I64("-r|--repeat", "R", &repeat, 1, MAX_REPEAT, "repeats per checkpoint (default 3)"),
        CLI_U64("--seed", "S", &seed, -CLI_INT_LIMIT, CLI_INT_LIMIT, "synthetic token seed (default 1)"),
        CLI_JSON_STDOUT(&json),
        CLI_LLAMA_OPTS(&rf.co.attn, &rf.no_mmap),
        CLI_ROPE_OPTS(&rf),
    };
    const cli_opt_spec spec =
        CLI_SPEC("bench kv", synopsis, "A model of realistic size: longctx convert --random --preset 15M --type f16 m15.gguf\n",
                 opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    cli_progress prog;
    cli_progress_init(&prog);
    const lc_bench_kv_spec bs = {at, n_at, n_dec, repeat, seed, cli_progress_cb, &prog};
    lc_error err;
    if (lc_bench_kv_spec_check(&bs, &err) != LC_OK) { /* increasing checkpoints, the stream within 2^40 tokens */
        cli_error("bench kv", "%s", err.msg);
        return CLI_USAGE;
    }
    if (!rf.kv_spec && lc_kv_policy_parse("sinks:4:4092", &rf.co, &err) != LC_OK) return cli_fail("bench kv", &err);
    lc_model *m = NULL;
    lc_rope_config rope;
    int rc = cli_runtime_load(&rf, &m, &rope, "bench kv");
    if (rc != CLI_OK) return rc;
    int64_t stream = 0; /* a full policy's context holds the whole stream */
    lc_bench_kv_stream_tokens(&bs, &stream); /* checked above */
    if (rf.co.kv_policy == LC_KV_POLICY_FULL && rf.co.n_ctx < stream)
        fprintf(stderr, "bench kv: full policy: -c %lld to hold the stream\n", (long long)stream);
    lc_bench_kv_row rows[MAX_AT];
    lc_table *info = NULL, *t = NULL;
    lc_status st = lc_bench_kv_run(m, &rf.co, &bs, rf.model_path, rows, &info, &err);
    cli_progress_done(&prog);
    lc_model_free(m);
    if (st == LC_OK) st = lc_bench_kv_table(rows, n_at, &t, &err);
    rc = bench_report("bench kv", json, st, &err, info, "checkpoints", t);
    if (rc == CLI_OK && !json) lc_bench_kv_print_summary(stdout, rows, n_at, repeat);
    return rc;
}
