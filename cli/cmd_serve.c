/*
 * longctx serve — an OpenAI-compatible HTTP server (include/longctx/server.h,
 * docs/server.md). Built when libmicrohttpd and cJSON were found; otherwise
 * the command says how to get it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "longctx/util.h"
#include "serve_flags.h"

#define CMD "serve"

bool cli_opt_bytes(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    size_t n;
    if (lc_parse_bytes(v, &n) && n >= (size_t)o->lo) {
        *(size_t *)o->dst = n;
        return true;
    }
    if (o->lo > 0)
        cli_error(cmd, "%s: '%s' is not a size of at least %lld bytes such as 512M or 2G", name, v, (long long)o->lo);
    else cli_error(cmd, "%s: '%s' is not a size such as 512M or 2G", name, v);
    return false;
}

bool cli_opt_on_off(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const int x = !strcmp(v, "on") ? 1 : !strcmp(v, "off") ? 0 : -1; /* a switch's value: on, off or auto */
    if (x < 0 && o->hi == 1) return cli_error(cmd, "%s: '%s' is not on or off", name, v), false;
    if (o->hi == 1) *(bool *)o->dst = x == 1;
    else *(int *)o->dst = x;
    return true;
}

#ifndef LC_HAVE_SERVER
int cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error(CMD, "this longctx was built without the server: install libmicrohttpd-dev and libcjson-dev, then "
                   "configure again (cmake -S . -B build)");
    return 1;
}
#else
#include "grammar_flags.h"
#include "llama_flags.h"
#include "longctx/server.h"

static const char synopsis[] =
    "usage: longctx serve -m MODEL [options]\n\n"
    "An OpenAI-compatible server: POST /v1/chat/completions and /v1/completions (JSON or\n"
    "\"stream\": true as server-sent events), GET /v1/models, /health, /metrics (Prometheus)\n"
    "and / (a chat page). Each slot keeps its conversation's tokens: a request sharing a\n"
    "prefix with a free slot evaluates only what follows it (usage.prompt_tokens_details.\n"
    "cached_tokens). docs/server.md has the API, limits and errors.\n\n";

static const char epilog[] =
    "examples:\n"
    "  longctx serve -m models/longctx-default.gguf --port 8080 -np 2\n"
    "  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
    "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"The pass key is 123. What is the pass key?\"}]}'\n";

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static bool opt_seed_note(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)o;
    cli_error(cmd, "note: %s %s: each request carries its own \"seed\" (default: random); ignored", name, v);
    return true;
}

int cmd_serve(int argc, char **argv) {
    lc_server_opts o;
    lc_server_opts_init(&o);
    o.api_key = getenv("LONGCTX_API_KEY");
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &o.model_path, "the model (GGUF or llama2.c)"),
        CLI_STR("--alias", "NAME", &o.alias, "the model id in responses (default: the file name)"),
        CLI_STR("--host", "ADDR", &o.host, "IPv4 address to bind (default 127.0.0.1; 0.0.0.0: every interface)"),
        CLI_INT("--port", "N", &o.port, 0, 65535, "port (default 8080; 0: any free port, printed at start)"),
        CLI_I64("-c|--ctx-size", "N", &o.n_ctx, 1, CLI_INT_LIMIT,
                "tokens per slot (default: min(model context, 4096))"),
        CLI_INT("-np|--parallel", "N", &o.n_parallel, 1, 256, "slots: requests answered at once (default 1)"),
        CLI_INT("-t|--threads", "N", &o.n_threads, 1, 1024, "kernel threads per request (default: every CPU)"),
        CLI_I64("-b|--prompt-chunk|--batch-size", "N", &o.prompt_chunk, 1, 65536,
                "prompt tokens per forward pass (default 512); with --prompt-turns on\n"
                "each chunk takes its turn between the other slots' decode steps"),
        CLI_SWITCH("--decode-batch", cli_opt_on_off, &o.decode_batch,
                   "with -np > 1: run the generating slots' decode steps as one forward\n"
                   "pass (on), each its own (off), or batch when the weights a step reads\n"
                   "exceed half the last-level cache (auto, the default; docs/server.md)"),
        {.kind = CLI_OPT_SWITCH, .names = "--prompt-turns", .meta = "[on|off]", .fn = cli_opt_on_off,
         .dst = &o.prompt_turns, .hi = 1,
         .help = "with -np > 1: prompt chunks take turns with the decode steps (on);\n"
                 "off (the default): a prompt runs beside them (docs/server.md)"},
        CLI_STR("--kv-policy", "SPEC", &o.kv_policy,
                "full | window:W | sinks:S:W | shift:KEEP | h2o:S:R:H for every slot"),
        CLI_FN("--kv-budget", "BYTES", cli_opt_bytes, &o.kv_budget,
               "refuse to start when the slots' KV cache would need more (K/M/G suffixes);\n"
               "what the slots leave is the prefix tree's"),
        CLI_STR("--sessions", "DIR", &o.sessions_dir,
                "save the slots' caches there on stop (atomically) and load them at start"),
        CLI_FN("--prefix-cache", "BYTES", cli_opt_bytes, &o.prefix_cache,
               "KV rows the prefix tree across requests keeps (full policy; 0: none;\n"
               "default: --kv-budget less the slots, else as much as the slots)"),
        CLI_STR("--chat-template", "NAME", &o.chat_template,
                "chatml, llama2, llama3, mistral, phi3, gemma, zephyr, plain\n"
                "(default: recognised from the model file)"),
        CLI_STR("--api-key", "KEY", &o.api_key, "require \"Authorization: Bearer KEY\" (also LONGCTX_API_KEY)"),
        CLI_I64("--max-tokens", "N", &o.max_tokens, 1, CLI_INT_LIMIT, "cap on a request's max_tokens (default 4096)"),
        CLI_DOUBLE("--timeout", "S", &o.max_seconds, 1e-6, 1e7,
                   "wall-time limit of a request in seconds (default 300)"),
        {.kind = CLI_OPT_FN, .names = "--max-body", .meta = "BYTES", .fn = cli_opt_bytes, .dst = &o.max_body,
         .lo = 64, .help = "request body limit (default 1M); larger bodies get 413"},
        CLI_INT("--queue", "N", &o.max_queue, 0, 100000,
                "requests that may wait for a slot (default 16); more get 503"),
        CLI_DOUBLE("--queue-timeout", "S", &o.queue_timeout, 0, 1e7,
                   "seconds a request waits for a slot (default 60) before 503"),
        CLI_GRAMMAR_STEPS_OPT(&o.grammar_steps, "0: no limit (default 4000000, about 0.1 s)"),
        CLI_FN("-s|--seed", "S", opt_seed_note, NULL, "taken with a note: each request carries its own \"seed\""),
        CLI_LLAMA_OPTS(NULL, NULL),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, epilog, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!o.model_path) {
        cli_error(CMD, "a model is required (-m MODEL)");
        return 2;
    }
    lc_error err;
    lc_server *s = NULL;
    if (lc_server_start(&o, &s, &err) != LC_OK) return cli_fail(CMD, &err);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "longctx serve: listening on http://%s:%d (%d slot%s)%s\n", o.host, lc_server_port(s), o.n_parallel,
            o.n_parallel == 1 ? "" : "s", o.api_key ? ", API key required" : "");
    printf("port %d\n", lc_server_port(s));
    fflush(stdout);
    while (!stop_requested) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "longctx serve: stopping (finishing the responses in flight)\n");
    lc_server_stop(s, 30.0);
    return 0;
}
#endif
