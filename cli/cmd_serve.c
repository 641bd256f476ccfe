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

#define CMD "serve"

#ifndef LC_HAVE_SERVER
int cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error(CMD, "this longctx was built without the server: install libmicrohttpd-dev and libcjson-dev, then "
                   "configure again (cmake -S . -B build)");
    return 1;
}
#else
#include "llama_flags.h"
#include "longctx/server.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx serve -m MODEL [options]\n\n"
            "An OpenAI-compatible server: POST /v1/chat/completions and /v1/completions (JSON or\n"
            "\"stream\": true as server-sent events), GET /v1/models, /health, /metrics (Prometheus)\n"
            "and / (a chat page). Each slot keeps its conversation's tokens: a request sharing a\n"
            "prefix with a free slot evaluates only what follows it (usage.prompt_tokens_details.\n"
            "cached_tokens). docs/server.md has the API, limits and errors.\n\n"
            "  -m, --model PATH       the model (GGUF or llama2.c)\n"
            "      --alias NAME       the model id in responses (default: the file name)\n"
            "      --host ADDR        IPv4 address to bind (default 127.0.0.1; 0.0.0.0: every interface)\n"
            "      --port N           port (default 8080; 0: any free port, printed at start)\n"
            "  -c, --ctx-size N       tokens per slot (default: min(model context, 4096))\n"
            "  -np, --parallel N      slots: requests answered at once (default 1)\n"
            "  -t, --threads N        kernel threads per request (default: every CPU)\n"
            "      --kv-policy SPEC   full | window:W | sinks:S:W | shift:KEEP | h2o:S:R:H for every slot\n"
            "      --kv-budget BYTES  refuse to start when the slots' KV cache would need more (K/M/G suffixes);\n"
            "                         what the slots leave is the prefix tree's\n"
            "      --sessions DIR     save the slots' caches there on stop (atomically) and load them at start\n"
            "      --prefix-cache BYTES  KV rows the prefix tree across requests keeps (full policy; 0: none;\n"
            "                         default: --kv-budget less the slots, else as much as the slots)\n"
            "      --chat-template NAME  chatml, llama2, llama3, mistral, phi3, gemma, zephyr, plain\n"
            "                         (default: recognised from the model file)\n"
            "      --api-key KEY      require \"Authorization: Bearer KEY\" (also LONGCTX_API_KEY)\n"
            "      --max-tokens N     cap on a request's max_tokens (default 4096)\n"
            "      --timeout S        wall-time limit of a request in seconds (default 300)\n"
            "      --max-body BYTES   request body limit (default 1M); larger bodies get 413\n"
            "      --queue N          requests that may wait for a slot (default 16); more get 503\n"
            "      --queue-timeout S  seconds a request waits for a slot (default 60) before 503\n"
            "  -h, --help             this help\n%s"
            "  -s, --seed S           taken with a note: each request carries its own \"seed\"\n\n"
            "examples:\n"
            "  longctx serve -m models/longctx-default.gguf --port 8080 -np 2\n"
            "  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            "       -d '{\"messages\":[{\"role\":\"user\",\"content\":\"The pass key is 123. What is the pass key?\"}]}'\n",
            cli_llama_flags_help());
}

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* "512", "64K", "2M", "1G" -> bytes; false if malformed or too large. */
static bool parse_bytes(const char *s, size_t *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return false;
    double mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024, end++;
    else if (*end == 'M' || *end == 'm') mul = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') mul = 1024.0 * 1024 * 1024, end++;
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    v *= mul;
    if (v > (double)((size_t)1 << 50)) return false;
    *out = (size_t)v;
    return true;
}

int cmd_serve(int argc, char **argv) {
    lc_server_opts o;
    lc_server_opts_init(&o);
    o.api_key = getenv("LONGCTX_API_KEY");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return 0;
        }
        const int llama = cli_llama_flag(argc, argv, &i, CMD, NULL);
        if (llama < 0) return CLI_USAGE;
        if (llama > 0) continue;
#define VALUE() \
    if (!(v = cli_value(argc, argv, &i, CMD))) return 2
        if (cli_is(a, "-s", "--seed")) {
            VALUE();
            cli_error(CMD, "note: %s %s: each request carries its own \"seed\" (default: random); ignored", a, v);
        } else if (cli_is(a, "-m", "--model")) {
            VALUE();
            o.model_path = v;
        } else if (cli_is(a, NULL, "--alias")) {
            VALUE();
            o.alias = v;
        } else if (cli_is(a, NULL, "--host")) {
            VALUE();
            o.host = v;
        } else if (cli_is(a, NULL, "--port")) {
            VALUE();
            if (!cli_parse_int(v, &o.port) || o.port < 0 || o.port > 65535) return cli_error(CMD, "--port: 0..65535"), 2;
        } else if (cli_is(a, "-c", "--ctx-size")) {
            VALUE();
            if (!cli_parse_i64(v, &o.n_ctx) || o.n_ctx < 1 || o.n_ctx > ((int64_t)1 << 40))
                return cli_error(CMD, "-c: 1 .. 2^40 tokens"), 2;
        } else if (cli_is(a, "-np", "--parallel")) {
            VALUE();
            if (!cli_parse_int(v, &o.n_parallel) || o.n_parallel < 1 || o.n_parallel > 256)
                return cli_error(CMD, "--parallel: 1..256"), 2;
        } else if (cli_is(a, "-t", "--threads")) {
            VALUE();
            if (!cli_parse_int(v, &o.n_threads) || o.n_threads < 1 || o.n_threads > 1024)
                return cli_error(CMD, "-t: 1..1024"), 2;
        } else if (cli_is(a, NULL, "--kv-policy")) {
            VALUE();
            o.kv_policy = v;
        } else if (cli_is(a, NULL, "--kv-budget")) {
            VALUE();
            if (!parse_bytes(v, &o.kv_budget)) return cli_error(CMD, "--kv-budget: a size such as 512M or 2G"), 2;
        } else if (cli_is(a, NULL, "--sessions")) {
            VALUE();
            o.sessions_dir = v;
        } else if (cli_is(a, NULL, "--prefix-cache")) {
            VALUE();
            if (!parse_bytes(v, &o.prefix_cache)) return cli_error(CMD, "--prefix-cache: a size such as 512M (0: none)"), 2;
        } else if (cli_is(a, NULL, "--chat-template")) {
            VALUE();
            o.chat_template = v;
        } else if (cli_is(a, NULL, "--api-key")) {
            VALUE();
            o.api_key = v;
        } else if (cli_is(a, NULL, "--max-tokens")) {
            VALUE();
            if (!cli_parse_i64(v, &o.max_tokens) || o.max_tokens < 1 || o.max_tokens > ((int64_t)1 << 40))
                return cli_error(CMD, "--max-tokens: 1 .. 2^40"), 2;
        } else if (cli_is(a, NULL, "--timeout")) {
            VALUE();
            if (!cli_parse_double(v, &o.max_seconds) || !(o.max_seconds > 0) || o.max_seconds > 1e7)
                return cli_error(CMD, "--timeout: seconds > 0"), 2;
        } else if (cli_is(a, NULL, "--max-body")) {
            VALUE();
            if (!parse_bytes(v, &o.max_body) || o.max_body < 64) return cli_error(CMD, "--max-body: a size >= 64 bytes"), 2;
        } else if (cli_is(a, NULL, "--queue")) {
            VALUE();
            if (!cli_parse_int(v, &o.max_queue) || o.max_queue < 0 || o.max_queue > 100000)
                return cli_error(CMD, "--queue: 0..100000"), 2;
        } else if (cli_is(a, NULL, "--queue-timeout")) {
            VALUE();
            if (!cli_parse_double(v, &o.queue_timeout) || !(o.queue_timeout >= 0) || o.queue_timeout > 1e7)
                return cli_error(CMD, "--queue-timeout: seconds >= 0"), 2;
        } else {
            return cli_unknown_option(CMD, a, usage);
        }
#undef VALUE
    }
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
