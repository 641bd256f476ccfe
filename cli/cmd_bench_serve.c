/*
 * longctx bench serve — the server's figures over loopback HTTP, with the
 * server running in this process (lc_server_bench_*, include/longctx/server.h):
 *
 *  - time to first token (a request with max_tokens 1, wall time from the
 *    request to the response) at prefix lengths P: cold (a document never
 *    seen), from the slot's own cache (the same document, another question),
 *    and from the prefix tree (the same document again after another prompt
 *    took the only slot);
 *  - with --itl P: the inter-token latency of a streaming client while a
 *    second client sends a cold prompt of about P tokens (--parallel 2), with
 *    the prompt taking turns with the decode steps (--prompt-turns on) and
 *    evaluated beside them (off, the server's default):
 *    the stream's median gap before the prompt, its median and longest gap
 *    while the prompt runs, and the prompt's time to first token;
 *  - aggregate decode tokens/s: 4 clients at once, each generating N tokens
 *    (ignore_eos), against --parallel 4 and against --parallel 1; and the
 *    tokens per CPU-second of this process (user + system), which on a
 *    shared machine depends less on how much of the CPU the OS gave it.
 *
 * Each figure is min / median / max over -r repetitions (a fresh document per
 * repetition); the development machine is shared, so the spread is shown.
 */
#include "bench_subjects.h"
#include "cli.h"

#define CMD "bench serve"

#ifndef LC_HAVE_SERVER
int bench_serve(int argc, char **argv) {
    (void)argc, (void)argv;
    cli_error(CMD, "this longctx was built without the server: install libmicrohttpd-dev and libcjson-dev, then "
                   "configure again");
    return 2;
}
#else
#include <stdio.h>

#include "longctx/server.h"
#include "opt.h"
#include "serve_flags.h"

static const char synopsis[] =
    "usage: longctx bench serve -m MODEL [--prefix 2K,8K,32K] [-r 3] [-t N] [--decode N] [--slots 4]\n"
    "                           [--itl 8K] [-b N] [--decode-batch on|off|auto] [--no-ttft]\n\n"
    "Runs `longctx serve` in this process on a free loopback port and measures, over HTTP:\n"
    "time to first token (max_tokens 1) at each prefix length, cold / from the slot's cache /\n"
    "from the prefix tree (after another prompt took the only slot); and aggregate decode\n"
    "tokens/s of --slots clients at once against --parallel SLOTS and --parallel 1 (wall\n"
    "time, and per CPU-second of this process); with --itl, a stream's inter-token latency\n"
    "while another client sends a long cold prompt, prompt turns off (before) and on.\n"
    "min / median / max over -r repetitions.\n\n";

int bench_serve(int argc, char **argv) {
    lc_server_bench b;
    lc_server_bench_init(&b, NULL);
    int64_t prefixes[8] = {2048, 8192, 32768}, itl[8] = {0};
    int n_prefixes = 3, n_itl = 0, n_decode = 128, slots = 4;
    bool no_ttft = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &b.server.model_path, "model (required)"),
        CLI_I64_LIST("--prefix", "LIST", prefixes, &n_prefixes, 8, 1,
                     "prefix lengths in tokens, K suffix allowed (default 2K,8K,32K)"),
        CLI_INT("-r|--reps", "N", &b.reps, 1, LC_SERVER_BENCH_MAX_REPS, "repetitions (default 3)"),
        CLI_INT("-t|--threads", "N", &b.server.n_threads, 1, 4096, "kernel threads per request (default: every CPU)"),
        CLI_INT("--decode", "N", &n_decode, 0, 1 << 24, "tokens each decode client generates (default 128; 0: skip)"),
        CLI_INT("--slots", "N", &slots, 1, LC_SERVER_BENCH_MAX_CLIENTS,
                "slots and clients of the decode figure (default 4)"),
        CLI_SET("--no-ttft", &no_ttft, "skip the time-to-first-token figures"),
        CLI_I64_LIST("--itl", "LIST", itl, &n_itl, 8, 1,
                     "inter-token latency of a stream while another client sends a cold prompt\n"
                     "of each length (--parallel 2), prompt turns off (before) and on (default: none)"),
        CLI_I64("-b|--prompt-chunk", "N", &b.server.prompt_chunk, 1, 65536,
                "the server's --prompt-chunk (default 512)"),
        CLI_SWITCH("--decode-batch", cli_opt_on_off, &b.server.decode_batch,
                   "the servers' --decode-batch: on, off or auto (default)"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!b.server.model_path) {
        cli_error(CMD, "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    printf("# longctx bench serve: %s, -t %d, %d repetition%s (the machine is shared: min / median / max)\n",
           b.server.model_path, b.server.n_threads, b.reps, b.reps == 1 ? "" : "s");
    lc_error err;
    lc_status st = no_ttft ? LC_OK : lc_server_bench_ttft_print(&b, prefixes, n_prefixes, stdout, &err);
    if (st == LC_OK && n_itl > 0) st = lc_server_bench_itl_print(&b, itl, n_itl, stdout, &err);
    if (st == LC_OK && n_decode > 0) st = lc_server_bench_decode_print(&b, slots, n_decode, stdout, &err);
    return st == LC_OK ? CLI_OK : cli_fail(CMD, &err);
}
#endif /* LC_HAVE_SERVER */
