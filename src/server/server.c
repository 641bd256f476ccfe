/* The HTTP side of `longctx serve` on libmicrohttpd (one thread per
 * connection): routing, authentication, body limits, JSON errors, streaming
 * responses, and the start / graceful stop of the server. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "longctx/grammar.h"
#include "longctx/sys.h"
#include "server/server_internal.h"

void lc_server_opts_init(lc_server_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->n_parallel = 1;
    o->max_body = (size_t)1 << 20;
    o->max_tokens = 4096;
    o->max_seconds = 300;
    o->max_queue = 16;
    o->queue_timeout = 60;
    o->prefix_cache = SIZE_MAX;
    o->grammar_steps = 4000000;
    o->decode_batch = -1;
    o->prompt_turns = false;
}

int lc_server_port(const lc_server *s) { return s ? s->port : 0; }

/* ---- one connection's request body ----------------------------------------- */

typedef struct {
    char *body;
    size_t len;
    bool too_large;
    bool counted; /* in_flight incremented */
} conn_state;

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    (void)c;
    (void)t;
    lc_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) return;
    if (cs->counted) atomic_fetch_sub(&s->in_flight, 1);
    free(cs->body);
    free(cs);
    *con_cls = NULL;
}

/* ---- responses --------------------------------------------------------------- */

static enum MHD_Result respond(lc_server *s, struct MHD_Connection *c, unsigned status, const char *type, char *body,
                               size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (status >= 400) {
        pthread_mutex_lock(&s->mu);
        s->c.errors++;
        pthread_mutex_unlock(&s->mu);
    }
    return ret;
}

static enum MHD_Result respond_json(lc_server *s, struct MHD_Connection *c, unsigned status, cJSON *j) {
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!body) return MHD_NO;
    return respond(s, c, status, "application/json", body, strlen(body));
}

/* OpenAI's error shape: {"error": {"message", "type", "param", "code"}}. */
static enum MHD_Result respond_error(lc_server *s, struct MHD_Connection *c, unsigned status, const char *msg,
                                     const char *param) {
    const char *type = status == 401   ? "authentication_error"
                       : status == 404 ? "not_found_error"
                       : status == 413 ? "request_too_large"
                       : status == 503 ? "server_overloaded"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    if (param) cJSON_AddStringToObject(e, "param", param);
    else cJSON_AddNullToObject(e, "param");
    cJSON_AddNumberToObject(e, "code", status);
    return respond_json(s, c, status, root);
}

/* ---- authentication ----------------------------------------------------------- */

/* Equal strings, in time that depends only on the lengths. */
static bool const_time_eq(const char *a, size_t la, const char *b, size_t lb) {
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++) diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)b[i];
    return diff == 0;
}

static bool authorised(const lc_server *s, struct MHD_Connection *c) {
    if (!s->api_key) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    return const_time_eq(h + 7, strlen(h + 7), s->api_key, strlen(s->api_key));
}

/* ---- endpoints ------------------------------------------------------------------ */

static enum MHD_Result models(lc_server *s, struct MHD_Connection *c) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddItemToArray(data, m);
    cJSON_AddStringToObject(m, "id", s->alias);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)s->started);
    cJSON_AddStringToObject(m, "owned_by", "longctx");
    cJSON *meta = cJSON_AddObjectToObject(m, "meta");
    cJSON_AddStringToObject(meta, "architecture", s->model->cfg.arch);
    cJSON_AddNumberToObject(meta, "n_params", (double)lc_model_n_params(&s->model->cfg));
    cJSON_AddNumberToObject(meta, "n_ctx_train", (double)s->model->cfg.ctx_train);
    cJSON_AddNumberToObject(meta, "n_ctx_slot", (double)s->n_ctx);
    cJSON_AddNumberToObject(meta, "n_slots", s->n_slots);
    cJSON_AddNumberToObject(meta, "n_vocab", s->model->cfg.vocab_size);
    cJSON_AddStringToObject(meta, "chat_template", s->jinja ? "jinja" : lc_chat_template_name(s->tpl));
    cJSON_AddStringToObject(meta, "chat_template_fallback", lc_chat_template_name(s->tpl));
    return respond_json(s, c, 200, root);
}

static enum MHD_Result health(lc_server *s, struct MHD_Connection *c) {
    srv_counters cnt;
    int busy, waiting;
    size_t used, cap;
    srv_snapshot(s, &cnt, &busy, &waiting, &used, &cap);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", atomic_load(&s->stopping) ? "stopping" : "ok");
    cJSON_AddNumberToObject(root, "slots_idle", s->n_slots - busy);
    cJSON_AddNumberToObject(root, "slots_busy", busy);
    cJSON_AddNumberToObject(root, "requests_waiting", waiting);
    return respond_json(s, c, atomic_load(&s->stopping) ? 503 : 200, root);
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    long n = srv_job_read_sse(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void sse_free(void *cls) {
    srv_job *j = cls;
    srv_job_free(j, true); /* counts a disconnect only when the stream had not ended */
}

static enum MHD_Result completion(lc_server *s, struct MHD_Connection *c, srv_kind kind, const conn_state *cs) {
    pthread_mutex_lock(&s->mu);
    s->c.requests[kind]++;
    pthread_mutex_unlock(&s->mu);
    int status = 400;
    char msg[LC_ERROR_MSG_MAX];
    const char *param = NULL;
    srv_job *j = srv_job_parse(s, kind, cs->body ? cs->body : "", cs->len, &status, msg, sizeof msg, &param);
    if (!j) return respond_error(s, c, (unsigned)status, msg, param);
    status = srv_job_begin(j, msg, sizeof msg);
    if (status != 200) {
        srv_job_free(j, false);
        return respond_error(s, c, (unsigned)status, msg, NULL);
    }
    if (!srv_job_stream(j)) {
        char *body = srv_job_run_to_end(j);
        if (body && srv_job_error(j)) {
            char why[LC_ERROR_MSG_MAX];
            snprintf(why, sizeof why, "%s", srv_job_error(j));
            free(body);
            srv_job_free(j, false);
            return respond_error(s, c, 400, why, NULL);
        }
        srv_job_free(j, false);
        if (!body) return respond_error(s, c, 500, "out of memory", NULL);
        return respond(s, c, 200, "application/json", body, strlen(body));
    }
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_reader, j, sse_free);
    if (!r) {
        srv_job_free(j, false);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* POST /apply-template {"messages": [...]}: the prompt text the model's Jinja
 * template makes of them ({"prompt": text}), as llama-server's endpoint. */
static enum MHD_Result apply_template(lc_server *s, struct MHD_Connection *c, const conn_state *cs) {
    pthread_mutex_lock(&s->mu);
    s->c.requests[3]++;
    pthread_mutex_unlock(&s->mu);
    if (!s->jinja)
        return respond_error(s, c, 400, "the model has no Jinja chat template (the built-in one makes tokens, not text)", NULL);
    cJSON *root = cJSON_ParseWithLength(cs->body ? cs->body : "", cs->len);
    const cJSON *msgs = root ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
        cJSON_Delete(root);
        return respond_error(s, c, 400, "'messages' must be a non-empty array", "messages");
    }
    if (cJSON_GetArraySize(msgs) > SRV_MAX_MESSAGES) {
        cJSON_Delete(root);
        return respond_error(s, c, 400, "'messages' has more than 16384 entries", "messages");
    }
    char *text = NULL;
    size_t len = 0;
    void *spans = NULL;
    int n_spans = 0;
    bool bad = false;
    lc_error err;
    int32_t *ids = NULL;
    int64_t n = 0;
    lc_status st = srv_jinja_render(s, msgs, &text, &len, &spans, &n_spans, &bad, &err);
    cJSON_Delete(root);
    if (st == LC_OK) st = srv_jinja_tokenize(s, text, len, spans, n_spans, &ids, &n, &err);
    free(spans);
    if (st != LC_OK) {
        free(text);
        return respond_error(s, c, bad ? 400 : 422, err.msg, "messages");
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "prompt", cJSON_CreateString(text));
    cJSON *arr = cJSON_AddArrayToObject(out, "tokens");
    for (int64_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
    free(text);
    free(ids);
    return respond_json(s, c, 200, out);
}

/* POST /tokenize {"content": text, "add_special": false}: the text's tokens as
 * plain text (special-token names not parsed), as llama-server's endpoint. */
static enum MHD_Result tokenize(lc_server *s, struct MHD_Connection *c, const conn_state *cs) {
    pthread_mutex_lock(&s->mu);
    s->c.requests[3]++;
    pthread_mutex_unlock(&s->mu);
    cJSON *root = cJSON_ParseWithLength(cs->body ? cs->body : "", cs->len);
    const cJSON *t = root ? cJSON_GetObjectItemCaseSensitive(root, "content") : NULL;
    if (!cJSON_IsString(t)) {
        cJSON_Delete(root);
        return respond_error(s, c, 400, "'content' must be a string", "content");
    }
    const lc_tokenizer *tok = s->model->tokenizer;
    const bool bos = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "add_special")) && lc_tokenizer_add_bos(tok);
    const size_t len = strlen(t->valuestring);
    int64_t need = 0;
    lc_error err;
    lc_status st = lc_tokenizer_encode(tok, t->valuestring, len, bos, NULL, 0, &need, &err);
    int32_t *ids = (st == LC_OK || st == LC_ERR_TOO_LARGE) ? malloc((size_t)(need > 0 ? need : 1) * sizeof *ids) : NULL;
    if (ids) st = lc_tokenizer_encode(tok, t->valuestring, len, bos, ids, need, &need, &err);
    cJSON_Delete(root);
    if (!ids || st != LC_OK) {
        free(ids);
        return respond_error(s, c, 400, ids ? err.msg : "out of memory", "content");
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "tokens");
    for (int64_t i = 0; i < need; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
    free(ids);
    return respond_json(s, c, 200, out);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    lc_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) { /* first call: headers only */
        if (!(cs = calloc(1, sizeof *cs))) return MHD_NO;
        *con_cls = cs;
        cs->counted = true;
        atomic_fetch_add(&s->in_flight, 1);
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        if (!cs->too_large) {
            if (cs->len + *upload_size > s->o.max_body) {
                cs->too_large = true;
                free(cs->body);
                cs->body = NULL;
            } else {
                char *b = realloc(cs->body, cs->len + *upload_size + 1);
                if (!b) return MHD_NO;
                memcpy(b + cs->len, upload, *upload_size);
                cs->body = b;
                cs->len += *upload_size;
                cs->body[cs->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    const bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(method, "OPTIONS")) { /* CORS pre-flight */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        enum MHD_Result ret = MHD_queue_response(c, 204, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (get && !strcmp(url, "/health")) return health(s, c);
    if (get && (!strcmp(url, "/") || !strcmp(url, "/index.html"))) {
        char *page = strdup(srv_webui_html);
        return page ? respond(s, c, 200, "text/html; charset=utf-8", page, strlen(page)) : MHD_NO;
    }
    if (!authorised(s, c)) return respond_error(s, c, 401, "a valid API key is required (Authorization: Bearer KEY)", NULL);
    if (cs->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", s->o.max_body);
        return respond_error(s, c, 413, msg, NULL);
    }
    if (get && (!strcmp(url, "/v1/models") || !strcmp(url, "/models"))) {
        pthread_mutex_lock(&s->mu);
        s->c.requests[2]++;
        pthread_mutex_unlock(&s->mu);
        return models(s, c);
    }
    if (get && !strcmp(url, "/metrics")) {
        char *m = srv_metrics_text(s);
        return m ? respond(s, c, 200, "text/plain; version=0.0.4", m, strlen(m)) : MHD_NO;
    }
    if (post && (!strcmp(url, "/v1/chat/completions") || !strcmp(url, "/chat/completions")))
        return completion(s, c, SRV_CHAT, cs);
    if (post && (!strcmp(url, "/v1/completions") || !strcmp(url, "/completions"))) return completion(s, c, SRV_COMPLETION, cs);
    if (post && !strcmp(url, "/apply-template")) return apply_template(s, c, cs);
    if (post && !strcmp(url, "/tokenize")) return tokenize(s, c, cs);
    pthread_mutex_lock(&s->mu);
    s->c.requests[3]++;
    pthread_mutex_unlock(&s->mu);
    char msg[160];
    snprintf(msg, sizeof msg, "no endpoint %s %.100s", method, url);
    return respond_error(s, c, (get || post) ? 404 : 405, msg, NULL);
}

/* ---- start and stop ------------------------------------------------------------------ */

static void free_server(lc_server *s) {
    if (!s) return;
    srv_batcher_free(s->batcher); /* no request is left to hand it a token */
    srv_slots_free(s);
    srv_tree_free(s->tree);
    lc_grammar_free(s->g_json);
    lc_grammar_vocab_free(s->gvocab);
    srv_jinja_free(s);
    lc_model_free(s->model);
    free(s->api_key);
    free(s->sessions_dir);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->freed);
    free(s);
}

lc_status lc_server_start(const lc_server_opts *o, lc_server **out, lc_error *err) {
    *out = NULL;
    if (!o || !o->model_path) return lc_fail(err, LC_ERR_INVALID_ARG, "serve: a model is required (-m)");
    if (o->n_parallel < 1 || o->n_parallel > 256)
        return lc_fail(err, LC_ERR_INVALID_ARG, "serve: --parallel %d is outside 1..256", o->n_parallel);
    if (o->port < 0 || o->port > 65535) return lc_fail(err, LC_ERR_INVALID_ARG, "serve: --port %d is outside 0..65535", o->port);
    if (o->max_tokens < 1 || o->max_queue < 0 || !(o->max_seconds > 0) || !(o->queue_timeout >= 0) || o->max_body < 64)
        return lc_fail(err, LC_ERR_INVALID_ARG, "serve: limits must be positive");
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    const char *host = o->host ? o->host : "127.0.0.1";
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "serve: --host '%s' is not an IPv4 address", host);

    lc_server *s = calloc(1, sizeof *s);
    if (!s) return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
    s->o = *o;
    s->n_slots = o->n_parallel;
    s->started = (int64_t)time(NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->freed, NULL);
    if ((o->api_key && o->api_key[0] && !(s->api_key = strdup(o->api_key))) ||
        (o->sessions_dir && !(s->sessions_dir = strdup(o->sessions_dir)))) {
        free_server(s);
        return lc_fail(err, LC_ERR_NOMEM, "serve: out of memory");
    }
    lc_status st = lc_model_load(o->model_path, NULL, &s->model, err);
    if (st != LC_OK) {
        free_server(s);
        return st;
    }
    if (!s->model->tokenizer) {
        free_server(s);
        return lc_fail(err, LC_ERR_UNSUPPORTED, "serve: %s carries no tokenizer longctx can use", o->model_path);
    }
    const char *base = strrchr(o->model_path, '/');
    snprintf(s->alias, sizeof s->alias, "%s", o->alias ? o->alias : base ? base + 1 : o->model_path);

    /* the chat template: by name, else the file's, else plain */
    s->tpl = LC_CHAT_TPL_PLAIN;
    if (o->chat_template) {
        if (!lc_chat_template_parse(o->chat_template, &s->tpl)) {
            free_server(s);
            return lc_fail(err, LC_ERR_INVALID_ARG, "serve: unknown chat template '%s'", o->chat_template);
        }
    } else { /* the model's family, and its own Jinja template when it compiles */
        char *text = NULL;
        size_t tlen = 0;
        lc_error e2;
        if (lc_chat_template_from_model(o->model_path, &s->tpl, &text, &tlen, NULL, &e2) == LC_OK && text) {
            if (srv_jinja_load(s, text, tlen, &e2) != LC_OK)
                fprintf(stderr, "serve: the model's chat template does not compile (%s): using the built-in %s template\n",
                        e2.msg, lc_chat_template_name(s->tpl));
            else
                fprintf(stderr, "serve: chat prompts rendered by the model's Jinja template (built-in fallback: %s)\n",
                        lc_chat_template_name(s->tpl));
        }
        free(text);
    }
    /* stop on the vocabulary's end-of-generation tokens and the template's end of turn */
    s->n_stop_ids = lc_tokenizer_eog_ids(s->model->tokenizer, s->stop_ids, 16);
    if (s->n_stop_ids > 16) s->n_stop_ids = 16;
    {
        int32_t t[16];
        const int32_t nt = lc_chat_stop_tokens(s->tpl, s->model->tokenizer, t, 16);
        for (int32_t i = 0; i < nt && i < 16; i++) {
            bool dup = false;
            for (int32_t k = 0; k < s->n_stop_ids && !dup; k++) dup = s->stop_ids[k] == t[i];
            if (!dup) s->stop_ids[s->n_stop_ids++] = t[i];
        }
    }
    s->eos = lc_tokenizer_eos(s->model->tokenizer);
    /* structured output: the vocabulary as a byte trie, the JSON-object grammar */
    if ((st = lc_grammar_vocab_create(s->model->tokenizer, s->stop_ids, s->n_stop_ids, &s->gvocab, err)) != LC_OK ||
        (st = lc_grammar_parse(lc_grammar_json_object_gbnf(), strlen(lc_grammar_json_object_gbnf()), NULL, &s->g_json,
                               err)) != LC_OK) {
        free_server(s);
        return st;
    }

    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_threads = o->n_threads;
    if (o->prompt_chunk > 0) co.n_batch = o->prompt_chunk;
    co.n_ctx = o->n_ctx;
    lc_context_opts_default_ctx(&co, s->model); /* before the policy: the cap applies to every policy here */
    if (o->kv_policy && (st = lc_kv_policy_parse(o->kv_policy, &co, err)) != LC_OK) {
        free_server(s);
        return st;
    }
    lc_context_memory mem;
    if ((st = lc_context_memory_need(s->model, &co, &mem, err)) != LC_OK) {
        free_server(s);
        return st;
    }
    if (o->kv_budget > 0 && mem.kv_bytes > o->kv_budget / (size_t)o->n_parallel) {
        free_server(s);
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "serve: %d slots of %lld tokens need %.1f MiB of KV cache, more than --kv-budget %.1f MiB: "
                       "lower -c or --parallel",
                       o->n_parallel, (long long)mem.n_ctx, (double)mem.kv_bytes * o->n_parallel / 1048576.0,
                       (double)o->kv_budget / 1048576.0);
    }
    s->n_ctx = mem.n_ctx;
    s->kv_bytes_per_slot = mem.kv_bytes;
    if ((st = srv_slots_create(s, &co, err)) != LC_OK) {
        free_server(s);
        return st;
    }
    if (o->n_parallel > 1) {
        /* batch the decode steps when a step streams its weights from memory */
        const double wb = lc_context_weight_bytes(s->slots[0].ctx);
        const size_t llc = srv_llc_bytes();
        const bool pays = srv_decode_batch_pays(wb, llc);
        const bool batched = o->decode_batch < 0 ? pays : o->decode_batch > 0;
        if ((st = srv_batcher_create(s->model, o->n_parallel, &co, batched, &s->batcher, err)) != LC_OK) {
            free_server(s);
            return st;
        }
        fprintf(stderr, "serve: decode steps %s (%s: a step reads %.1f MiB of weights, half the last-level cache is %.1f MiB%s); "
                        "prompts %s %lld tokens\n",
                batched ? "batched across the slots" : "run per slot",
                o->decode_batch < 0 ? "auto" : "--decode-batch", wb / 1048576.0, 0.5 * (double)llc / 1048576.0,
                llc == 0 ? ": unknown" : "",
                o->prompt_turns ? "in chunks taking turns with the steps, of" : "evaluated beside the steps in passes of",
                (long long)lc_context_n_batch(s->slots[0].ctx));
    }
    /* the prefix tree across requests */
    const size_t row_bytes = lc_context_kv_row_bytes(s->slots[0].ctx);
    size_t tree_cap = o->prefix_cache;
    const size_t slots_kv = mem.kv_bytes * (size_t)o->n_parallel;
    if (tree_cap == SIZE_MAX) tree_cap = o->kv_budget > 0 ? o->kv_budget - slots_kv : slots_kv;
    if (row_bytes > 0 && tree_cap >= row_bytes && (st = srv_tree_create(row_bytes, tree_cap, &s->tree, err)) != LC_OK) {
        free_server(s);
        return st;
    }
    if ((st = srv_sessions_load(s, err)) != LC_OK) {
        free_server(s);
        return st;
    }
    if (!s->tree && o->prefix_cache != 0 && o->prefix_cache != SIZE_MAX)
        fprintf(stderr, "serve: no prefix tree: %s\n",
                row_bytes == 0 ? "the context keeps no rows by position (a KV policy other than full, Gated DeltaNet "
                                        "layers or window-layer rings)"
                                      : "--prefix-cache is smaller than one token's rows");
    s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL,
                                 NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, request_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned int)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256, MHD_OPTION_END);
    if (!s->daemon) {
        free_server(s);
        return lc_fail(err, LC_ERR_IO, "serve: cannot listen on %s:%d (in use, or not allowed)", host, o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    *out = s;
    return LC_OK;
}

void lc_server_stop(lc_server *s, double grace) {
    if (!s) return;
    atomic_store(&s->stopping, true);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->freed); /* waiters give up */
    pthread_mutex_unlock(&s->mu);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    const double until = lc_time_now() + grace;
    while (atomic_load(&s->in_flight) > 0 && lc_time_now() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    srv_sessions_save(s);
    free_server(s);
}
