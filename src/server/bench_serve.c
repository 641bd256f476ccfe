/*
 * The server's figures over loopback HTTP (server.h, lc_server_bench_*): what
 * `longctx bench serve` prints. Each call starts a server in this process on
 * a free port and talks to it as an HTTP client would, from threads of this
 * process: plain POST /v1/completions requests (the whole response read, the
 * wall time around it) and a streaming request whose server-sent events are
 * timed as they arrive.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/server.h"
#include "longctx/sys.h"

#define MAX_REPS LC_SERVER_BENCH_MAX_REPS
/* The largest synthetic document (characters): past it a request would pass max_body anyway. */
#define MAX_DOCUMENT ((size_t)48 << 20)
/* The longest response read (bytes). */
#define MAX_RESPONSE ((size_t)256 << 20)

void lc_server_bench_init(lc_server_bench *b, const char *model_path) {
    memset(b, 0, sizeof *b);
    lc_server_opts_init(&b->server);
    b->server.model_path = model_path;
    b->reps = 3;
}

/* ---- An HTTP client on loopback ------------------------------------------------ */

/* A connected socket that has sent POST /v1/completions with body, or -1. */
static int post(int port, const char *body) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const size_t bl = strlen(body);
    char head[256];
    const int hl = snprintf(head, sizeof head,
                            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            bl);
    /* send with MSG_NOSIGNAL: a server that hangs up is a failed request, not a SIGPIPE */
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl;
    for (size_t at = 0; ok && at < bl;) {
        const ssize_t w = send(fd, body + at, bl - at, MSG_NOSIGNAL);
        ok = w > 0;
        at += ok ? (size_t)w : 0;
    }
    if (!ok) close(fd);
    return ok ? fd : -1;
}

/* A request on a thread: the body sent, the response's body (malloc'd, or
 * NULL) and the wall seconds from before the connection to its close. */
typedef struct {
    int port;
    char *body;
    char *response;
    double seconds;
} call;

static void *call_thread(void *p) {
    call *c = p;
    const double t0 = lc_time_now();
    const int fd = post(c->port, c->body);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = fd >= 0;
    while (ok) {
        if (len + 4096 + 1 > cap) {
            const size_t grown = cap ? cap * 2 : 65536; /* past MAX_RESPONSE: a failed request */
            char *nb = grown <= MAX_RESPONSE ? realloc(buf, grown) : NULL;
            if (!(ok = nb != NULL)) break;
            buf = nb;
            cap = grown;
        }
        const ssize_t r = read(fd, buf + len, 4096);
        if (r <= 0) break;
        len += (size_t)r;
    }
    if (fd >= 0) close(fd);
    c->seconds = lc_time_now() - t0;
    const char *sep = ok && buf ? (buf[len] = '\0', strstr(buf, "\r\n\r\n")) : NULL;
    c->response = sep ? strdup(sep + 4) : NULL;
    free(buf);
    return NULL;
}

static double num_at(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

/* The body of a greedy completion request (malloc'd, or NULL). */
static char *request_body(const char *prompt, int64_t max_tokens, bool stream) {
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "prompt", prompt);
    cJSON_AddNumberToObject(req, "max_tokens", (double)max_tokens);
    cJSON_AddNumberToObject(req, "temperature", 0);
    cJSON_AddBoolToObject(req, "ignore_eos", true);
    if (stream) cJSON_AddBoolToObject(req, "stream", true);
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return s;
}

/* What a completed call's usage says: prompt, cached and generated tokens. */
typedef struct {
    int64_t prompt, cached, generated;
} usage;

/* The usage of c's response, or LC_ERR_IO with the response's start. Frees c's strings. */
static lc_status finish_call(call *c, usage *u, lc_error *err) {
    cJSON *r = c->response ? cJSON_Parse(c->response) : NULL;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r, "usage");
    lc_status st = LC_OK;
    if (!cJSON_IsObject(j))
        st = lc_fail(err, LC_ERR_IO, "bench serve: a request failed: %.300s",
                     c->response ? c->response : "(no response)");
    else if (u) {
        u->prompt = (int64_t)num_at(j, "prompt_tokens", NULL);
        u->cached = (int64_t)num_at(j, "prompt_tokens_details", "cached_tokens");
        u->generated = (int64_t)num_at(j, "completion_tokens", NULL);
    }
    cJSON_Delete(r);
    free(c->body);
    free(c->response);
    c->body = c->response = NULL;
    return st;
}

/* One completion of prompt on this thread: its wall seconds and usage. */
static lc_status complete(int port, const char *prompt, int64_t max_tokens, double *sec, usage *u, lc_error *err) {
    call c = {.port = port, .body = request_body(prompt, max_tokens, false)};
    if (!c.body) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    call_thread(&c);
    *sec = c.seconds;
    return finish_call(&c, u, err);
}

/* ---- Documents ------------------------------------------------------------------- */

/* About n_tokens tokens of words and full stops (cpt characters a token),
 * seeded by rep, then the question; malloc'd, or NULL. */
static char *document(int rep, int64_t n_tokens, double cpt, const char *question) {
    static const char *const words[] = {"river", "stone", "lantern", "orchard", "harbor", "meadow", "copper",
                                        "window", "thunder", "garden", "silver", "market", "castle", "forest",
                                        "candle", "bridge", "winter", "violet", "engine", "letter"};
    const size_t want = (size_t)((double)n_tokens * cpt), cap = want + strlen(question) + 64;
    char *d = malloc(cap);
    if (!d) return NULL;
    size_t at = (size_t)snprintf(d, 64, "Document %d %s.", rep, words[(rep * 7) % 20]);
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(rep + 1);
    while (at + 12 < want) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        at += (size_t)snprintf(d + at, cap - at, " %s", words[(x >> 33) % 20]);
        if (((x >> 40) & 7) == 0) at += (size_t)snprintf(d + at, cap - at, ".");
    }
    snprintf(d + at, cap - at, "%s", question);
    return d;
}

/* ---- Servers ---------------------------------------------------------------------- */

static lc_status check(const lc_server_bench *b, int64_t tokens, lc_error *err) {
    if (!b || !b->server.model_path) return lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: no model");
    if (b->reps < 1 || b->reps > MAX_REPS)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: %d repetitions (1..%d)", b->reps, MAX_REPS);
    if (tokens < 1 || tokens > LC_CONTEXT_MAX_TOKENS - 4096)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: %lld tokens (1..%lld)", (long long)tokens,
                       (long long)(LC_CONTEXT_MAX_TOKENS - 4096));
    if (!(b->chars_per_token >= 0) || (double)tokens * b->chars_per_token > (double)MAX_DOCUMENT)
        return lc_fail(err, LC_ERR_TOO_LARGE, "bench serve: %lld tokens of %g characters pass %zu MiB",
                       (long long)tokens, b->chars_per_token, MAX_DOCUMENT >> 20);
    return LC_OK;
}

/* A server of b's options with n_parallel slots of n_ctx tokens on a free port. */
static lc_status start(const lc_server_bench *b, int n_parallel, int64_t n_ctx, lc_server **s, lc_error *err) {
    lc_server_opts o = b->server;
    o.port = 0;
    o.n_parallel = n_parallel;
    o.n_ctx = n_ctx;
    o.max_seconds = 3600;
    o.queue_timeout = 3600;
    o.max_queue = LC_SERVER_BENCH_MAX_CLIENTS;
    o.max_body = (size_t)64 << 20;
    return lc_server_start(&o, s, err);
}

/* b->chars_per_token when not known: a document's characters over its prompt
 * tokens (480 characters: they fit the smallest slot, 513 tokens, even at one
 * character a token). */
static lc_status measure_chars_per_token(lc_server_bench *b, int port, lc_error *err) {
    if (b->chars_per_token > 0) return LC_OK;
    char *d = document(999, 80, 6.0, "");
    if (!d) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    double sec;
    usage u = {0, 0, 0};
    const lc_status st = complete(port, d, 1, &sec, &u, err);
    b->chars_per_token = st == LC_OK && u.prompt > 0 ? (double)strlen(d) / (double)u.prompt : 4.0;
    free(d);
    return st;
}

/* ---- Time to first token ---------------------------------------------------------- */

/* Repetition r of a TTFT row: cold, from the slot, from the tree. */
static lc_status ttft_rep(int port, const lc_server_bench *b, int r, lc_server_bench_ttft_row *out, double *t,
                          lc_error *err) {
    static const char *const q[3] = {" Which word came first?", " Which word came last?", " Which word came twice?"};
    const int seed = (int)(out->prefix % 100000) * 100 + r;
    lc_status st = LC_OK;
    usage u = {0, 0, 0};
    double ignored;
    for (int k = 0; k < 3 && st == LC_OK; k++) {
        char *d = document(seed, out->prefix, b->chars_per_token, q[k]);
        if (!d) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
        if (k == 2) st = complete(port, "Hello there, a short prompt that takes the slot.", 1, &ignored, NULL, err);
        if (st == LC_OK) st = complete(port, d, 1, &t[k * MAX_REPS + r], &u, err);
        free(d);
        if (k == 0) out->prompt_tokens = u.prompt;
        if (k == 1) out->slot_cached = u.cached;
        if (k == 2) out->tree_cached = u.cached;
    }
    return st;
}

lc_status lc_server_bench_ttft(lc_server_bench *b, int64_t prefix, lc_server_bench_ttft_row *out, lc_error *err) {
    lc_status st = check(b, prefix, err);
    if (st != LC_OK || !out) return out ? st : lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: no row");
    memset(out, 0, sizeof *out);
    out->prefix = prefix;
    lc_server *s = NULL;
    if ((st = start(b, 1, prefix + 512, &s, err)) != LC_OK) return st;
    const int port = lc_server_port(s);
    double t[3 * MAX_REPS];
    st = measure_chars_per_token(b, port, err);
    for (int r = 0; r < b->reps && st == LC_OK; r++) st = ttft_rep(port, b, r, out, t, err);
    lc_server_stop(s, 5);
    if (st != LC_OK) return st;
    lc_bench_spread_of(t, b->reps, &out->cold, NULL);
    lc_bench_spread_of(t + MAX_REPS, b->reps, &out->slot, NULL);
    lc_bench_spread_of(t + 2 * MAX_REPS, b->reps, &out->tree, NULL);
    return LC_OK;
}

/* ---- Inter-token latency beside a prompt ------------------------------------------ */

/* A streaming request whose events are timed as they arrive, until the
 * stream ends or stop is set (then the client hangs up). */
typedef struct {
    int port;
    const char *body;
    double *t; /* [cap] arrival time of each "data: {" event */
    int cap;
    atomic_int n;
    atomic_bool stop, done;
} stream;

static void *stream_thread(void *p) {
    stream *s = p;
    const int fd = post(s->port, s->body);
    static const char pat[] = "data: {";
    const size_t pl = sizeof pat - 1;
    char buf[8192 + sizeof pat];
    size_t carry = 0; /* the last pl - 1 bytes of the previous read */
    while (fd >= 0 && !atomic_load(&s->stop)) {
        const ssize_t r = read(fd, buf + carry, 8192);
        if (r <= 0) break;
        const double now = lc_time_now();
        const size_t len = carry + (size_t)r;
        for (size_t i = 0; i + pl <= len; i++) {
            const int k = atomic_load(&s->n);
            if (!memcmp(buf + i, pat, pl) && k < s->cap) {
                s->t[k] = now;
                atomic_store(&s->n, k + 1);
            }
        }
        carry = len < pl - 1 ? len : pl - 1;
        memmove(buf, buf + len - carry, carry);
    }
    if (fd >= 0) close(fd);
    atomic_store(&s->done, true);
    return NULL;
}

/* Waits until the stream has n events, has ended, or `seconds` passed. */
static void wait_events(stream *s, int n, double seconds) {
    const double until = lc_time_now() + seconds;
    while (atomic_load(&s->n) < n && !atomic_load(&s->done) && lc_time_now() < until) usleep(1000);
}

/* The spread of the gaps t[i] - t[i-1], i in [from, n), that touch the span
 * (a, b); of {fallback} when there is none; their count into *count. */
static lc_bench_spread gaps_within(const double *t, int from, int n, double a, double b, double fallback, double *gaps,
                                   int *count) {
    int ng = 0;
    for (int i = from > 1 ? from : 1; i < n; i++)
        if (t[i] > a && t[i - 1] < b) gaps[ng++] = t[i] - t[i - 1];
    if (ng == 0) gaps[ng++] = fallback;
    *count = ng;
    lc_bench_spread s;
    lc_bench_spread_of(gaps, ng, &s, NULL); /* 1 <= ng <= 2^20 */
    return s;
}

/* One round: the stream, the prompt once it has 32 events, 16 more events;
 * v[k * MAX_REPS]: the stream's median gap alone, beside the prompt, its
 * longest gap beside, the prompt's TTFT, the gaps counted beside. */
static lc_status itl_round(int port, const lc_server_bench *b, int64_t prompt, int64_t n_ctx, int r, double *t,
                           double *gaps, double *v, lc_error *err) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"prompt\":\"Story %d: once upon a time\",\"max_tokens\":%lld,\"temperature\":0,"
             "\"ignore_eos\":true,\"stream\":true}",
             r, (long long)(n_ctx - 64));
    stream st = {.port = port, .body = body, .t = t, .cap = 1 << 20};
    pthread_t th;
    if (pthread_create(&th, NULL, stream_thread, &st) != 0) return lc_fail(err, LC_ERR_INTERNAL, "no thread");
    wait_events(&st, 32, 120);
    const bool ready = atomic_load(&st.n) >= 32;
    char *d = document(7000 + r, prompt, b->chars_per_token, " Which word came first?");
    const double b0 = lc_time_now();
    double sec = 0;
    lc_status s = !d      ? lc_fail(err, LC_ERR_NOMEM, "out of memory")
                  : ready ? complete(port, d, 1, &sec, NULL, err)
                          : LC_OK;
    const double b1 = lc_time_now();
    wait_events(&st, atomic_load(&st.n) + 16, 5);
    atomic_store(&st.stop, true);
    pthread_join(th, NULL);
    free(d);
    const int n = atomic_load(&st.n);
    if (s == LC_OK && (!ready || n < 40))
        s = lc_fail(err, LC_ERR_IO, "bench serve: the stream gave %d events (at least 40, 32 before the prompt)", n);
    if (s != LC_OK) return s;
    int before = 9, count; /* the gaps after the first few events and before the prompt */
    while (before < n && t[before] < b0) before++;
    v[0] = gaps_within(t, 9, before, -1e300, 1e300, 0.0, gaps, &count).median;
    const lc_bench_spread beside = gaps_within(t, 1, n, b0, b1, b1 - b0, gaps, &count);
    v[MAX_REPS] = beside.median;
    v[2 * MAX_REPS] = beside.max;
    v[3 * MAX_REPS] = sec;
    v[4 * MAX_REPS] = count;
    return LC_OK;
}

lc_status lc_server_bench_itl(lc_server_bench *b, int64_t prompt, bool prompt_turns, lc_server_bench_itl_row *out,
                              lc_error *err) {
    lc_status st = check(b, prompt, err);
    if (st != LC_OK || !out) return out ? st : lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: no row");
    memset(out, 0, sizeof *out);
    out->prompt = prompt;
    out->prompt_turns = prompt_turns;
    lc_server_bench o = *b;
    o.server.prompt_turns = prompt_turns;
    lc_server *s = NULL;
    const int64_t n_ctx = prompt + 2048;
    if ((st = start(&o, 2, n_ctx, &s, err)) != LC_OK) return st;
    const int port = lc_server_port(s);
    double *t = malloc(((size_t)1 << 20) * sizeof *t), *gaps = malloc(((size_t)1 << 20) * sizeof *gaps);
    double v[5 * MAX_REPS];
    st = t && gaps ? measure_chars_per_token(b, port, err) : lc_fail(err, LC_ERR_NOMEM, "out of memory");
    o.chars_per_token = b->chars_per_token;
    for (int r = 0; r < b->reps && st == LC_OK; r++) st = itl_round(port, &o, prompt, n_ctx, r, t, gaps, v + r, err);
    free(t);
    free(gaps);
    lc_server_stop(s, 5);
    if (st != LC_OK) return st;
    lc_bench_spread *f[5] = {&out->gap_alone, &out->gap_beside, &out->gap_longest, &out->prompt_ttft, &out->gaps};
    for (int k = 0; k < 5; k++) lc_bench_spread_of(v + k * MAX_REPS, b->reps, f[k], NULL);
    return LC_OK;
}

/* ---- Aggregate decode -------------------------------------------------------------- */

/* clients requests at once: tokens/s and tokens per CPU-second of the process. */
static lc_status decode_round(int port, int r, int clients, int64_t n_tokens, double *tok_s, double *tok_cpu,
                              lc_error *err) {
    call calls[LC_SERVER_BENCH_MAX_CLIENTS];
    pthread_t th[LC_SERVER_BENCH_MAX_CLIENTS];
    bool started[LC_SERVER_BENCH_MAX_CLIENTS] = {false};
    const double t0 = lc_time_now(), c0 = lc_process_cpu_seconds();
    for (int c = 0; c < clients; c++) {
        char prompt[64];
        snprintf(prompt, sizeof prompt, "Story %d-%d: once upon a time", r, c);
        calls[c] = (call){.port = port, .body = request_body(prompt, n_tokens, false)};
        started[c] = calls[c].body && pthread_create(&th[c], NULL, call_thread, &calls[c]) == 0;
    }
    int64_t total = 0;
    lc_status st = LC_OK;
    for (int c = 0; c < clients; c++) {
        if (started[c]) pthread_join(th[c], NULL);
        usage u = {0, 0, 0};
        lc_error e;
        const lc_status cs = started[c] ? finish_call(&calls[c], &u, &e) : lc_fail(&e, LC_ERR_NOMEM, "no client");
        if (cs != LC_OK && st == LC_OK) st = lc_fail(err, cs, "%s", e.msg);
        total += u.generated > 0 ? u.generated : 0;
        if (!started[c]) free(calls[c].body);
    }
    *tok_s = (double)total / (lc_time_now() - t0);
    const double cpu = lc_process_cpu_seconds() - c0;
    *tok_cpu = cpu > 0 ? (double)total / cpu : 0.0;
    return st;
}

lc_status lc_server_bench_decode(const lc_server_bench *b, int clients, int n_parallel, int64_t n_tokens,
                                 lc_server_bench_decode_row *out, lc_error *err) {
    lc_status st = check(b, n_tokens, err);
    if (st != LC_OK || !out) return out ? st : lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: no row");
    if (clients < 1 || clients > LC_SERVER_BENCH_MAX_CLIENTS || n_parallel < 1 || n_parallel > clients)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: %d clients (1..%d) on %d slots (1..clients)", clients,
                       LC_SERVER_BENCH_MAX_CLIENTS, n_parallel);
    memset(out, 0, sizeof *out);
    out->clients = clients;
    out->n_parallel = n_parallel;
    out->n_tokens = n_tokens;
    lc_server *s = NULL;
    if ((st = start(b, n_parallel, LC_MAX(1024, n_tokens + 64), &s, err)) != LC_OK) return st;
    double v[2 * MAX_REPS];
    for (int r = 0; r < b->reps && st == LC_OK; r++)
        st = decode_round(lc_server_port(s), r, clients, n_tokens, &v[r], &v[MAX_REPS + r], err);
    lc_server_stop(s, 5);
    if (st != LC_OK) return st;
    lc_bench_spread_of(v, b->reps, &out->tok_s, NULL);
    lc_bench_spread_of(v + MAX_REPS, b->reps, &out->tok_cpu_s, NULL);
    return LC_OK;
}
