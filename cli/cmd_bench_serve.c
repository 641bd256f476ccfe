/*
 * longctx bench serve — the server's figures over loopback HTTP, with the
 * server running in this process (lc_server_start on a free port):
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
 *    tokens per CPU-second of this process (getrusage: user + system), which
 *    on a shared machine depends less on how much of the CPU the OS gave it.
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
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "longctx/server.h"
#include "longctx/sys.h"
#include "opt.h"

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

typedef struct {
    int port;
    char *body;
    double seconds;
    char *response;
} http_call;

/* POST body to path; the response body (malloc'd) or NULL. */
static char *http_post(int port, const char *path, const char *body) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    const size_t bl = strlen(body);
    char head[256];
    const int hl = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            path, bl);
    bool ok = write(fd, head, (size_t)hl) == hl;
    for (size_t at = 0; ok && at < bl;) {
        const ssize_t w = write(fd, body + at, bl - at);
        ok = w > 0;
        at += ok ? (size_t)w : 0;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (ok) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                ok = false;
                break;
            }
            buf = b;
        }
        const ssize_t r = read(fd, buf + len, 4096);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (!ok || !buf) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    char *out = sep ? strdup(sep + 4) : NULL;
    free(buf);
    return out;
}

static void *call_thread(void *p) {
    http_call *c = p;
    const double t0 = lc_time_now();
    c->response = http_post(c->port, "/v1/completions", c->body);
    c->seconds = lc_time_now() - t0;
    return NULL;
}

static double num_at(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* A completion: wall seconds, prompt and cached tokens; false on failure. */
static bool complete(int port, const char *prompt, int max_tokens, double *sec, int64_t *n_prompt, int64_t *n_cached,
                     int64_t *n_gen) {
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "prompt", prompt);
    cJSON_AddNumberToObject(req, "max_tokens", max_tokens);
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON_AddBoolToObject(req, "ignore_eos", true);
    http_call c = {.port = port, .body = cJSON_PrintUnformatted(req)};
    cJSON_Delete(req);
    if (!c.body) return false;
    call_thread(&c);
    free(c.body);
    cJSON *r = c.response ? cJSON_Parse(c.response) : NULL;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "usage");
    bool ok = u != NULL;
    if (!ok) fprintf(stderr, "%s: request failed: %.300s\n", CMD, c.response ? c.response : "(no response)");
    *sec = c.seconds;
    if (n_prompt) *n_prompt = (int64_t)num_at(u, "prompt_tokens", NULL);
    if (n_cached) *n_cached = (int64_t)num_at(u, "prompt_tokens_details", "cached_tokens");
    if (n_gen) *n_gen = (int64_t)num_at(u, "completion_tokens", NULL);
    cJSON_Delete(r);
    free(c.response);
    return ok;
}

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void mmm(double *v, int n, double *mn, double *med, double *mx) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    *mn = v[0];
    *mx = v[n - 1];
    *med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "min/median/max" of v[3] * scale, one decimal below 10, into buf[40]. */
static char *fmt3(const double *v, double scale, char *buf) {
    const double x = v[0] * scale, y = v[1] * scale, z = v[2] * scale;
    if (z < 10) snprintf(buf, 40, "%.2f/%.2f/%.2f", x, y, z);
    else snprintf(buf, 40, "%.0f/%.0f/%.0f", x, y, z);
    return buf;
}

/* A document of about n tokens (chars_per_token estimated by the caller). */
static char *document(int rep, int64_t n_tokens, double chars_per_token) {
    static const char *const words[] = {"river", "stone", "lantern", "orchard", "harbor", "meadow", "copper",
                                        "window", "thunder", "garden", "silver", "market", "castle", "forest",
                                        "candle", "bridge", "winter", "violet", "engine", "letter"};
    const size_t want = (size_t)((double)n_tokens * chars_per_token);
    char *d = malloc(want + 64);
    if (!d) return NULL;
    size_t at = (size_t)snprintf(d, 64, "Document %d %s.", rep, words[(rep * 7) % 20]);
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(rep + 1);
    while (at + 12 < want) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *w = words[(x >> 33) % 20];
        at += (size_t)snprintf(d + at, want + 64 - at, " %s", w);
        if (((x >> 40) & 7) == 0) at += (size_t)snprintf(d + at, want + 64 - at, ".");
    }
    d[at] = '\0';
    return d;
}

static char *concat(const char *a, const char *b) {
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s) strcat(strcpy(s, a), b);
    return s;
}

static bool parse_list(const char *s, int64_t *v, int *n) {
    *n = 0;
    while (*s && *n < 8) {
        char *end = NULL;
        double x = strtod(s, &end);
        if (end == s || !(x > 0)) return false;
        if (*end == 'K' || *end == 'k') x *= 1024, end++;
        v[(*n)++] = (int64_t)x;
        s = end;
        if (*s == ',') s++;
        else if (*s) return false;
    }
    return *n > 0;
}

/* One prefix length: time to first token cold, from the slot's cache and from
 * the prefix tree, over reps fresh documents; 0, or 1 when a request failed. */
static int ttft_row(int port, int p, int64_t prefix, int reps, double cpt) {
    double cold[100], slot[100], tree[100];
    int64_t n_tok = 0, cached_slot = 0, cached_tree = 0;
    int status = 0;
    for (int r = 0; r < reps && !status; r++) {
        char *d = document(p * 100 + r, prefix, cpt);
        char *q1 = d ? concat(d, " Which word came first?") : NULL;
        char *q2 = d ? concat(d, " Which word came last?") : NULL;
        char *q3 = d ? concat(d, " Which word came twice?") : NULL;
        if (!q1 || !q2 || !q3 || !complete(port, q1, 1, &cold[r], &n_tok, NULL, NULL) ||
            !complete(port, q2, 1, &slot[r], NULL, &cached_slot, NULL) ||
            !complete(port, "Hello there, a short prompt that takes the slot.", 1, &tree[r], NULL, NULL, NULL) ||
            !complete(port, q3, 1, &tree[r], NULL, &cached_tree, NULL))
            status = 1;
        free(d), free(q1), free(q2), free(q3);
    }
    if (status) return status;
    double c[3], sl[3], t[3];
    mmm(cold, reps, &c[0], &c[1], &c[2]);
    mmm(slot, reps, &sl[0], &sl[1], &sl[2]);
    mmm(tree, reps, &t[0], &t[1], &t[2]);
    char cs[40], ss[40], ts[40];
    snprintf(cs, sizeof cs, "%.0f/%.0f/%.0f", c[0] * 1e3, c[1] * 1e3, c[2] * 1e3);
    snprintf(ss, sizeof ss, "%.0f/%.0f/%.0f (%lld c)", sl[0] * 1e3, sl[1] * 1e3, sl[2] * 1e3, (long long)cached_slot);
    snprintf(ts, sizeof ts, "%.0f/%.0f/%.0f (%lld c)", t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, (long long)cached_tree);
    printf("%-8lld %-8lld %-26s %-26s %-26s %.1fx\n", (long long)prefix, (long long)n_tok, cs, ss, ts, c[1] / t[1]);
    fflush(stdout);
    return 0;
}

/* CPU seconds (user + system) this process has used. */
static double cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* slots clients at once, n_decode tokens each: aggregate tokens/s into *tok_s and tokens per CPU-second of the
 * process into *tok_cpu; 0, or 1 when a request failed. */
static int decode_round(int port, int r, int slots, int n_decode, double *tok_s, double *tok_cpu) {
    http_call calls[64];
    pthread_t th[64];
    const double t0 = lc_time_now(), c0 = cpu_seconds();
    for (int c = 0; c < slots; c++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"prompt\":\"Story %d-%d: once upon a time\",\"max_tokens\":%d,\"temperature\":0,"
                 "\"ignore_eos\":true}",
                 r, c, n_decode);
        calls[c] = (http_call){.port = port, .body = strdup(body)};
        pthread_create(&th[c], NULL, call_thread, &calls[c]);
    }
    int64_t total = 0;
    int status = 0;
    for (int c = 0; c < slots; c++) {
        pthread_join(th[c], NULL);
        cJSON *j = calls[c].response ? cJSON_Parse(calls[c].response) : NULL;
        const double g = num_at(cJSON_GetObjectItemCaseSensitive(j, "usage"), "completion_tokens", NULL);
        if (g < 0) status = 1;
        total += g > 0 ? (int64_t)g : 0;
        cJSON_Delete(j);
        free(calls[c].body);
        free(calls[c].response);
    }
    *tok_s = (double)total / (lc_time_now() - t0);
    const double cpu = cpu_seconds() - c0;
    *tok_cpu = cpu > 0 ? (double)total / cpu : 0.0;
    return status;
}

/* A streaming request whose events are timed as they arrive, until the
 * stream ends or stop is set (then the client hangs up). */
typedef struct {
    int port;
    char *body;
    double *t; /* [cap] arrival time of each "data: {" event */
    int cap;
    atomic_int n;
    atomic_bool stop;
} sse_stream;

static void *stream_thread(void *p) {
    sse_stream *s = p;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char head[256];
    const size_t bl = strlen(s->body);
    const int hl = snprintf(head, sizeof head,
                            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            bl);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, head, (size_t)hl) != hl ||
        write(fd, s->body, bl) != (ssize_t)bl) {
        close(fd);
        return NULL;
    }
    static const char pat[] = "data: {";
    const size_t pl = sizeof pat - 1;
    char buf[8192 + sizeof pat];
    size_t carry = 0; /* the last pl - 1 bytes of the previous read */
    while (!atomic_load(&s->stop)) {
        const ssize_t r = read(fd, buf + carry, 8192);
        if (r <= 0) break;
        const double now = lc_time_now();
        const size_t len = carry + (size_t)r;
        for (size_t i = 0; i + pl <= len; i++)
            if (!memcmp(buf + i, pat, pl)) {
                const int k = atomic_load(&s->n);
                if (k < s->cap) {
                    s->t[k] = now;
                    atomic_store(&s->n, k + 1);
                }
            }
        carry = len < pl - 1 ? len : pl - 1;
        memmove(buf, buf + len - carry, carry);
    }
    close(fd);
    return NULL;
}

/* Inter-token latency of a streaming client while another client sends a
 * cold prompt of about prefix tokens (max_tokens 1), --parallel 2; reps
 * rounds; prints one line of min / median / max; 0, or 1 on a failure. */
static int itl_row(const lc_server_opts *base, int64_t prefix, int reps, double cpt, const char *label) {
    double base_med[100], dur_med[100], dur_max[100], ttft[100], dur_n[100];
    lc_server_opts o = *base;
    o.n_parallel = 2;
    o.n_ctx = prefix + 2048;
    lc_server *s = NULL;
    lc_error err;
    if (lc_server_start(&o, &s, &err) != LC_OK) return cli_fail(CMD, &err), 1;
    const int port = lc_server_port(s);
    int status = 0;
    const int cap = 1 << 20;
    double *t = malloc((size_t)cap * sizeof *t);
    double *gaps = malloc((size_t)cap * sizeof *gaps);
    if (!t || !gaps) status = 1;
    for (int r = 0; r < reps && !status; r++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"prompt\":\"Story %d: once upon a time\",\"max_tokens\":%lld,\"temperature\":0,"
                 "\"ignore_eos\":true,\"stream\":true}",
                 r, (long long)(o.n_ctx - 64));
        sse_stream st = {.port = port, .body = body, .t = t, .cap = cap};
        pthread_t th;
        pthread_create(&th, NULL, stream_thread, &st);
        const double wait_until = lc_time_now() + 120;
        while (atomic_load(&st.n) < 32 && lc_time_now() < wait_until) usleep(1000);
        char *d = document(7000 + r, prefix, cpt);
        char *q = d ? concat(d, " Which word came first?") : NULL;
        const double b0 = lc_time_now();
        double sec = 0;
        const bool ok = atomic_load(&st.n) >= 32 && q && complete(port, q, 1, &sec, NULL, NULL, NULL);
        const double b1 = lc_time_now();
        const int n_at_b1 = atomic_load(&st.n);
        while (atomic_load(&st.n) < n_at_b1 + 16 && lc_time_now() < b1 + 5) usleep(1000);
        atomic_store(&st.stop, true);
        pthread_join(th, NULL);
        free(d);
        free(q);
        const int n = atomic_load(&st.n);
        if (!ok || n < 40) {
            fprintf(stderr, "%s: the inter-token latency round failed (%d events)\n", CMD, n);
            status = 1;
            break;
        }
        int ng = 0;
        for (int i = 9; i < n && t[i] < b0; i++) gaps[ng++] = t[i] - t[i - 1];
        double mn, mx;
        mmm(gaps, ng > 0 ? ng : 1, &mn, &base_med[r], &mx);
        ng = 0;
        for (int i = 1; i < n; i++)
            if (t[i] > b0 && t[i - 1] < b1) gaps[ng++] = t[i] - t[i - 1];
        if (ng == 0) gaps[ng++] = b1 - b0; /* no token at all while the prompt ran */
        dur_n[r] = ng;
        mmm(gaps, ng, &mn, &dur_med[r], &dur_max[r]);
        ttft[r] = sec;
    }
    free(t);
    free(gaps);
    lc_server_stop(s, 5);
    if (status) return status;
    double a[3], b[3], c[3], e[3], f[3];
    mmm(base_med, reps, &a[0], &a[1], &a[2]);
    mmm(dur_med, reps, &b[0], &b[1], &b[2]);
    mmm(dur_max, reps, &c[0], &c[1], &c[2]);
    mmm(ttft, reps, &e[0], &e[1], &e[2]);
    mmm(dur_n, reps, &f[0], &f[1], &f[2]);
    printf("%-8lld %-14s %-20s %-20s %-24s %-22s %.0f/%.0f/%.0f\n", (long long)prefix, label,
           fmt3(a, 1e3, (char[40]){0}), fmt3(b, 1e3, (char[40]){0}), fmt3(c, 1e3, (char[40]){0}),
           fmt3(e, 1e3, (char[40]){0}), f[0], f[1], f[2]);
    fflush(stdout);
    return 0;
}

typedef struct {
    int64_t *v;
    int *n;
} prefix_list;

static bool opt_prefix(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    const prefix_list *p = o->dst;
    if (parse_list(v, p->v, p->n)) return true;
    cli_error(cmd, "%s: '%s' is not a list such as 2K,8K,32K (at most 8)", name, v);
    return false;
}

/* The server options every table starts from: a free port, limits that a
 * long benchmark cannot hit, the prompt chunk and decode batching asked. */
static void bench_server_opts(lc_server_opts *o, const char *model, int threads, int n_parallel, int64_t n_ctx,
                              int64_t chunk, int db) {
    lc_server_opts_init(o);
    o->model_path = model;
    o->port = 0;
    o->n_threads = threads;
    o->n_parallel = n_parallel;
    o->n_ctx = n_ctx;
    o->max_seconds = 3600;
    o->queue_timeout = 3600;
    o->prompt_chunk = chunk;
    o->decode_batch = db;
}

/* The ITL table: each prompt length, the prompt turns off (before) and on. */
static int itl_section(lc_server_opts *o, const int64_t *itl, int n_itl, int reps, double cpt, int64_t chunk) {
    printf("# inter-token latency (ms) of a stream while another client sends a cold prompt (--parallel 2,\n"
           "# --prompt-chunk %lld): the stream's median gap before the prompt, its median and longest gap while\n"
           "# the prompt is evaluated, the prompt's TTFT, and the gaps counted\n",
           (long long)(chunk > 0 ? chunk : 512));
    printf("%-8s %-14s %-20s %-20s %-24s %-22s %s\n", "prompt", "prompt turns", "ITL alone", "ITL beside",
           "longest gap beside", "prompt TTFT", "gaps");
    int status = 0;
    for (int i = 0; i < n_itl && !status; i++)
        for (int on = 0; on < 2 && !status; on++) {
            o->prompt_turns = on;
            status = itl_row(o, itl[i], reps, cpt, on ? "on (chunks)" : "off (default)");
        }
    o->prompt_turns = false;
    return status;
}

/* The aggregate decode table: `slots` clients at once against --parallel slots, then --parallel 1. */
static int decode_section(const char *model, int threads, int slots, int n_decode, int reps, int64_t chunk, int db,
                          const char *decode_batch) {
    printf("# aggregate decode: %d clients at once, %d tokens each (ignore_eos, greedy; --decode-batch %s); tokens/s\n",
           slots, n_decode, decode_batch);
    const int np_list[2] = {slots, 1};
    int status = 0;
    for (int k = 0; k < 2 && !status; k++) {
        lc_server_opts o;
        bench_server_opts(&o, model, threads, np_list[k], 1024, chunk, db);
        o.max_queue = 64;
        lc_server *s = NULL;
        lc_error err;
        if (lc_server_start(&o, &s, &err) != LC_OK) return cli_fail(CMD, &err), 1;
        double agg[100], per_cpu[100];
        for (int r = 0; r < reps && !status; r++)
            status = decode_round(lc_server_port(s), r, slots, n_decode, &agg[r], &per_cpu[r]);
        lc_server_stop(s, 5);
        if (status) break;
        double a3[3], u3[3];
        mmm(agg, reps, &a3[0], &a3[1], &a3[2]);
        mmm(per_cpu, reps, &u3[0], &u3[1], &u3[2]);
        printf("--parallel %-3d %.1f / %.1f / %.1f tokens/s   %.1f / %.1f / %.1f tokens per CPU-second\n", np_list[k],
               a3[0], a3[1], a3[2], u3[0], u3[1], u3[2]);
        fflush(stdout);
    }
    return status;
}

int bench_serve(int argc, char **argv) {
    const char *model = NULL;
    int64_t prefixes[8] = {2048, 8192, 32768};
    int n_prefixes = 3, reps = 3, threads = 0, n_decode = 128, slots = 4;
    prefix_list pl = {prefixes, &n_prefixes};
    int64_t itl[8] = {0}, chunk = 0;
    int n_itl = 0;
    prefix_list il = {itl, &n_itl};
    const char *decode_batch = "auto";
    bool no_ttft = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &model, "model (required)"),
        CLI_FN("--prefix", "LIST", opt_prefix, &pl, "prefix lengths in tokens, K suffix allowed (default 2K,8K,32K)"),
        CLI_INT("-r|--reps", "N", &reps, 1, 100, "repetitions (default 3)"),
        CLI_INT("-t|--threads", "N", &threads, 1, 4096, "kernel threads per request (default: every CPU)"),
        CLI_INT("--decode", "N", &n_decode, 0, 1 << 24, "tokens each decode client generates (default 128; 0: skip)"),
        CLI_INT("--slots", "N", &slots, 1, 64, "slots and clients of the decode figure (default 4)"),
        CLI_SET("--no-ttft", &no_ttft, "skip the time-to-first-token figures"),
        CLI_FN("--itl", "LIST", opt_prefix, &il,
               "inter-token latency of a stream while another client sends a cold prompt\n"
               "of each length (--parallel 2), prompt turns off (before) and on (default: none)"),
        CLI_I64("-b|--prompt-chunk", "N", &chunk, 1, 65536, "the server's --prompt-chunk (default 512)"),
        CLI_STR("--decode-batch", "MODE", &decode_batch, "the servers' --decode-batch: on, off or auto (default)"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!model) {
        cli_error(CMD, "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    const int db = !strcmp(decode_batch, "on") ? 1 : !strcmp(decode_batch, "off") ? 0 : !strcmp(decode_batch, "auto") ? -1 : 2;
    if (db == 2) {
        cli_error(CMD, "--decode-batch: '%s' is not on, off or auto", decode_batch);
        return CLI_USAGE;
    }
    int64_t max_prefix = 0;
    for (int i = 0; i < n_prefixes; i++) max_prefix = prefixes[i] > max_prefix ? prefixes[i] : max_prefix;

    lc_server_opts o;
    bench_server_opts(&o, model, threads, 1, max_prefix + 512, chunk, db);
    o.max_body = (size_t)64 << 20;
    lc_server *s = NULL;
    lc_error err;
    if (lc_server_start(&o, &s, &err) != LC_OK) return cli_fail(CMD, &err), 1;
    const int port = lc_server_port(s);
    /* characters per token of this tokenizer on the documents */
    double cpt = 4.0;
    {
        char *d = document(999, 512, 6.0);
        double sec;
        int64_t np = 0;
        if (d && complete(port, d, 1, &sec, &np, NULL, NULL) && np > 0) cpt = (double)strlen(d) / (double)np;
        free(d);
    }
    printf("# longctx bench serve: %s, -t %d, %d repetition%s (the machine is shared: min / median / max)\n", model,
           threads, reps, reps == 1 ? "" : "s");
    printf("# time to first token (ms; request with max_tokens 1, loopback HTTP)\n");
    printf("%-8s %-8s %-26s %-26s %-26s %s\n", "prefix", "tokens", "cold", "slot cache", "prefix tree",
           "cold/tree (median)");
    int status = 0;
    for (int p = 0; p < n_prefixes && !status && !no_ttft; p++) status = ttft_row(port, p, prefixes[p], reps, cpt);
    lc_server_stop(s, 5);
    if (status) return status;
    if (n_itl > 0 && (status = itl_section(&o, itl, n_itl, reps, cpt, chunk))) return status;
    if (n_decode == 0) return status;

    status = decode_section(model, threads, slots, n_decode, reps, chunk, db, decode_batch);
    if (status) fprintf(stderr, "%s: a decode request failed\n", CMD);
    return status;
}
#endif /* LC_HAVE_SERVER */
