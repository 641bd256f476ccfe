/* One completion request: its JSON parsed and checked, the prompt as tokens
 * (chat: the model's template), the slot it runs in, and the generation,
 * stepped one token at a time so a stream can send text as it comes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "longctx/grammar.h"
#include "longctx/kernels.h"
#include "longctx/sys.h"
#include "longctx/text.h"
#include "server/server_internal.h"

#define SRV_MAX_STOPS LC_TEXT_MAX_STOPS
#define SRV_MAX_STOP_LEN LC_TEXT_MAX_STOP_BYTES

struct srv_job {
    lc_server *srv;
    srv_kind kind;
    bool stream, include_usage;
    bool ignore_eos;     /* llama-server's field: generate max_tokens (benchmarks) */
    int64_t max_tokens;
    lc_sampler_params sp;
    char *stops[SRV_MAX_STOPS];
    int n_stops;

    int32_t *prompt;
    int64_t n_prompt, cap_prompt;

    const lc_grammar *grammar; /* response_format / grammar (or NULL)        */
    lc_grammar *grammar_own;   /* compiled for this request (else the server's) */
    lc_grammar_state *gstate;

    srv_slot *slot;
    int64_t n_reuse;     /* prompt tokens not evaluated: the slot's and the tree's */
    int64_t n_tree;      /* of which copied from the prefix tree                  */
    lc_sampler *sampler;
    int64_t n_gen;
    int32_t prev;
    char *text;          /* the reply so far (NUL-terminated)            */
    size_t len, cap;
    size_t sent;         /* bytes of text already sent (stream)          */
    bool done;
    bool decoding;       /* joined the decode scheduler (left when done)  */
    char *error;         /* the request failed while generating (malloc'd) */
    const char *finish;  /* "stop" or "length"                           */
    double t_start, t_prompt, t_decode0;

    char id[48];
    int64_t created;

    char *out;           /* SSE bytes ready to send                      */
    size_t out_len, out_pos;
    bool sent_role, sent_done;
};

/* ---- parsing ---------------------------------------------------------------- */

static srv_job *fail_parse(srv_job *j, cJSON *root, int *status, int code, char *msg, size_t cap, const char **param,
                           const char *field, const char *fmt, const char *detail) {
    *status = code;
    snprintf(msg, cap, fmt, detail);
    if (param) *param = field;
    cJSON_Delete(root);
    srv_job_free(j, false);
    return NULL;
}

static bool push_tokens(srv_job *j, const int32_t *ids, int64_t n) {
    if (j->n_prompt + n > j->cap_prompt) {
        int64_t cap = j->cap_prompt ? j->cap_prompt : 256;
        while (cap < j->n_prompt + n) cap *= 2;
        int32_t *p = realloc(j->prompt, (size_t)cap * sizeof *p);
        if (!p) return false;
        j->prompt = p;
        j->cap_prompt = cap;
    }
    memcpy(j->prompt + j->n_prompt, ids, (size_t)n * sizeof *ids);
    j->n_prompt += n;
    return true;
}

/* One turn through the template into the prompt. */
static lc_status render_turn(srv_job *j, lc_chat_role role, const char *text, size_t len, bool first, lc_error *err) {
    const lc_tokenizer *tok = j->srv->model->tokenizer;
    int64_t need = 0;
    lc_status st = lc_chat_render(j->srv->tpl, tok, role, text, len, first, NULL, 0, &need, err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) return st;
    int32_t *ids = malloc((size_t)(need > 0 ? need : 1) * sizeof *ids);
    if (!ids) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    st = lc_chat_render(j->srv->tpl, tok, role, text, len, first, ids, need, &need, err);
    if (st == LC_OK && !push_tokens(j, ids, need)) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    free(ids);
    if (st == LC_OK && role == LC_CHAT_ASSISTANT && text) {
        int32_t end[16];
        int64_t n_end = 0;
        st = lc_chat_render_reply_end(j->srv->tpl, tok, end, 16, &n_end, err);
        if (st == LC_OK && !push_tokens(j, end, n_end)) st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    }
    return st;
}

bool srv_content_text(const cJSON *c, char **out) {
    *out = NULL;
    if (!c || cJSON_IsNull(c)) return (*out = strdup("")) != NULL;
    if (cJSON_IsString(c)) return (*out = strdup(c->valuestring)) != NULL;
    if (!cJSON_IsArray(c)) return false;
    size_t len = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, c) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(part, "type"), *tx = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "text") != 0 || !cJSON_IsString(tx)) return false;
        len += strlen(tx->valuestring);
    }
    char *s = malloc(len + 1);
    if (!s) return false;
    size_t at = 0;
    cJSON_ArrayForEach(part, c) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        memcpy(s + at, t, strlen(t));
        at += strlen(t);
    }
    s[at] = '\0';
    *out = s;
    return true;
}

/* The model's Jinja template: LC_OK with the prompt in j; *bad: the request
 * is at fault (why says how); otherwise a failure falls back. */
static lc_status chat_prompt_jinja(srv_job *j, const cJSON *msgs, bool *bad, char *why, size_t why_cap) {
    lc_server *s = j->srv;
    char *text = NULL;
    size_t len = 0;
    void *spans = NULL;
    int n_spans = 0;
    lc_error err;
    lc_status st = srv_jinja_render(s, msgs, &text, &len, &spans, &n_spans, bad, &err);
    if (st == LC_OK) st = srv_jinja_tokenize(s, text, len, spans, n_spans, &j->prompt, &j->n_prompt, &err);
    free(text);
    free(spans);
    if (st == LC_OK) {
        j->cap_prompt = j->n_prompt;
        return LC_OK;
    }
    if (*bad) {
        snprintf(why, why_cap, "%s", err.msg);
        return st;
    }
    const long long k = atomic_fetch_add(&s->jinja_fallbacks, 1) + 1;
    fprintf(stderr, "serve: the model's chat template failed (%s): this request uses the built-in %s template (%lld so far)\n",
            err.msg, lc_chat_template_name(s->tpl), k);
    return st;
}

static const char *chat_prompt(srv_job *j, const cJSON *msgs, const char **field, char *why, size_t why_cap) {
    if (j->srv->jinja) {
        bool bad = false;
        *field = "messages";
        if (chat_prompt_jinja(j, msgs, &bad, why, why_cap) == LC_OK) return NULL;
        if (bad) return why;
    }
    char *folded = NULL; /* a system prompt the template writes into the next user turn */
    bool first = true;
    lc_error err;
    int i = 0;
    /* walked in order (cJSON_GetArrayItem(msgs, i) walks from the start: quadratic) */
    for (const cJSON *m = msgs->child; m; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        *field = "messages";
        if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
            free(folded);
            snprintf(why, why_cap, "messages[%d] must be an object with a string 'role'", i);
            return why;
        }
        lc_chat_role r;
        if (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")) r = LC_CHAT_SYSTEM;
        else if (!strcmp(role->valuestring, "user")) r = LC_CHAT_USER;
        else if (!strcmp(role->valuestring, "assistant")) r = LC_CHAT_ASSISTANT;
        else {
            free(folded);
            snprintf(why, why_cap, "messages[%d].role '%.40s' is not supported (system, developer, user, assistant)", i,
                     role->valuestring);
            return why;
        }
        char *text = NULL;
        if (!srv_content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &text)) {
            free(folded);
            snprintf(why, why_cap, "messages[%d].content must be a string or an array of text parts", i);
            return why;
        }
        if (r == LC_CHAT_USER && folded) { /* system prompt folded into the first user turn */
            size_t fl = strlen(folded), tl = strlen(text);
            char *t = malloc(fl + 2 + tl + 1);
            if (t) {
                memcpy(t, folded, fl);
                memcpy(t + fl, "\n\n", 2);
                memcpy(t + fl + 2, text, tl + 1);
            }
            free(text);
            free(folded);
            folded = NULL;
            text = t;
            if (!text) return "out of memory";
        }
        const int64_t before = j->n_prompt;
        lc_status st = render_turn(j, r, text, strlen(text), first, &err);
        if (st == LC_OK && r == LC_CHAT_SYSTEM && text[0] && j->n_prompt - before <= 1) {
            /* the template folds the system prompt into the first user message */
            free(folded);
            folded = text;
            text = NULL;
        }
        free(text);
        if (st != LC_OK) {
            free(folded);
            snprintf(why, why_cap, "messages[%d]: %.400s", i, err.msg);
            return why;
        }
        first = false;
    }
    if (folded) { /* a system prompt and no user turn after it */
        lc_status st = render_turn(j, LC_CHAT_USER, folded, strlen(folded), first, &err);
        free(folded);
        if (st != LC_OK) {
            snprintf(why, why_cap, "messages: %.400s", err.msg);
            return why;
        }
    }
    if (render_turn(j, LC_CHAT_ASSISTANT, NULL, 0, first, &err) != LC_OK) {
        snprintf(why, why_cap, "generation prompt: %.400s", err.msg);
        return why;
    }
    return NULL;
}

static const char *completion_prompt(srv_job *j, const cJSON *p, char *why, size_t why_cap) {
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1) p = cJSON_GetArrayItem(p, 0);
    if (!cJSON_IsString(p)) return "'prompt' must be a string (or an array of one string)";
    const lc_tokenizer *tok = j->srv->model->tokenizer;
    const size_t len = strlen(p->valuestring);
    int64_t need = 0;
    lc_error err;
    lc_status st = lc_tokenizer_encode(tok, p->valuestring, len, lc_tokenizer_add_bos(tok), NULL, 0, &need, &err);
    if (st != LC_OK && st != LC_ERR_TOO_LARGE) {
        snprintf(why, why_cap, "prompt: %.400s", err.msg);
        return why;
    }
    j->prompt = malloc((size_t)(need > 0 ? need : 1) * sizeof *j->prompt);
    if (!j->prompt) return "out of memory";
    j->cap_prompt = need;
    if (lc_tokenizer_encode(tok, p->valuestring, len, lc_tokenizer_add_bos(tok), j->prompt, need, &j->n_prompt, &err) !=
        LC_OK) {
        snprintf(why, why_cap, "prompt: %.400s", err.msg);
        return why;
    }
    return NULL;
}

/* response_format (json_object, json_schema) or a GBNF `grammar`: the
 * grammar the reply must follow; NULL when fine, else why (in buf). */
static const char *structured(srv_job *j, const cJSON *root, const char **field, char *buf, size_t cap) {
    lc_server *s = j->srv;
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    const cJSON *gr = cJSON_GetObjectItemCaseSensitive(root, "grammar");
    const bool has_rf = rf && !cJSON_IsNull(rf), has_gr = gr && !cJSON_IsNull(gr);
    char *gbnf = NULL;
    lc_error err;
    if (has_rf) {
        *field = "response_format";
        const cJSON *ty = cJSON_IsObject(rf) ? cJSON_GetObjectItemCaseSensitive(rf, "type") : NULL;
        if (!cJSON_IsString(ty)) return "'response_format' must be an object with a string 'type'";
        if (!strcmp(ty->valuestring, "text")) {
            /* nothing */
        } else if (!strcmp(ty->valuestring, "json_object")) {
            j->grammar = s->g_json;
        } else if (!strcmp(ty->valuestring, "json_schema")) {
            const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
            const cJSON *sc = cJSON_IsObject(js) ? cJSON_GetObjectItemCaseSensitive(js, "schema") : NULL;
            if (!sc || !(cJSON_IsObject(sc) || cJSON_IsBool(sc)))
                return "'response_format' json_schema needs {\"json_schema\": {\"schema\": {...}}}";
#if defined(LC_HAVE_JSON_SCHEMA)
            char *text = cJSON_PrintUnformatted(sc);
            if (!text) return "out of memory";
            lc_status st = lc_json_schema_to_gbnf(text, strlen(text), &gbnf, &err);
            cJSON_free(text);
            if (st != LC_OK) {
                snprintf(buf, cap, "response_format.json_schema.schema: %.400s", err.msg);
                return buf;
            }
#else
            return "'response_format' json_schema needs the JSON Schema translator, not in this build";
#endif
        } else {
            snprintf(buf, cap, "'response_format' type '%.40s' is not one of text, json_object, json_schema", ty->valuestring);
            return buf;
        }
    }
    if (has_gr) {
        *field = "grammar";
        if (j->grammar || gbnf) {
            free(gbnf);
            return "give either 'grammar' or a JSON 'response_format', not both";
        }
        if (!cJSON_IsString(gr)) return "'grammar' must be a string of GBNF";
        if (!(gbnf = strdup(gr->valuestring))) return "out of memory";
    }
    if (gbnf) {
        lc_status st = lc_grammar_parse(gbnf, strlen(gbnf), NULL, &j->grammar_own, &err);
        free(gbnf);
        if (st != LC_OK) {
            snprintf(buf, cap, "%s: %.400s", *field, err.msg);
            return buf;
        }
        j->grammar = j->grammar_own;
    }
    return NULL;
}

/* A number field within [lo, hi]; absent or null keeps *v. */
static bool num_field(const cJSON *root, const char *name, double lo, double hi, double *v) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!f || cJSON_IsNull(f)) return true;
    if (!cJSON_IsNumber(f) || !(f->valuedouble >= lo && f->valuedouble <= hi)) return false;
    *v = f->valuedouble;
    return true;
}

srv_job *srv_job_parse(lc_server *s, srv_kind kind, const char *body, size_t len, int *status, char *msg,
                       size_t msg_cap, const char **param) {
    *param = NULL;
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        *status = 500;
        snprintf(msg, msg_cap, "out of memory");
        return NULL;
    }
    j->srv = s;
    j->kind = kind;
    j->prev = -1;
    j->t_start = lc_time_now();
    j->created = (int64_t)time(NULL);
    lc_sampler_params_init(&j->sp);
    j->sp.temp = 1.0f; /* OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p */
    j->sp.top_p = 1.0f;
    j->sp.top_k = 0;
    j->sp.min_p = 0.0f;
    j->sp.seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)j;
    {
        static const char hex[] = "0123456789abcdef";
        uint64_t x = j->sp.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)(lc_time_now() * 1e9);
        int at = snprintf(j->id, sizeof j->id, kind == SRV_CHAT ? "chatcmpl-" : "cmpl-");
        for (int i = 0; i < 24 && at < (int)sizeof j->id - 1; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            j->id[at++] = hex[(x >> 59) & 15];
        j->id[at] = '\0';
    }

    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) return fail_parse(j, NULL, status, 400, msg, msg_cap, param, NULL, "the body is not valid JSON%s", "");
    if (!cJSON_IsObject(root)) return fail_parse(j, root, status, 400, msg, msg_cap, param, NULL, "the body must be a JSON object%s", "");
    if (!s->model->tokenizer)
        return fail_parse(j, root, status, 400, msg, msg_cap, param, NULL, "the model carries no tokenizer%s", "");

    double v;
    v = j->sp.temp;
    if (!num_field(root, "temperature", 0, 2, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "temperature", "'temperature' must be a number in [0, 2]%s", "");
    j->sp.temp = (float)v;
    v = j->sp.top_p;
    if (!num_field(root, "top_p", 0, 1, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "top_p", "'top_p' must be a number in [0, 1]%s", "");
    j->sp.top_p = v <= 0 ? 1e-6f : (float)v;
    v = j->sp.top_k;
    if (!num_field(root, "top_k", 0, 1e9, &v) || v != floor(v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "top_k", "'top_k' must be a non-negative integer%s", "");
    j->sp.top_k = (int32_t)v;
    v = j->sp.min_p;
    if (!num_field(root, "min_p", 0, 1, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "min_p", "'min_p' must be a number in [0, 1]%s", "");
    j->sp.min_p = (float)v;
    v = j->sp.presence_penalty;
    if (!num_field(root, "presence_penalty", -2, 2, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "presence_penalty", "'presence_penalty' must be a number in [-2, 2]%s", "");
    j->sp.presence_penalty = (float)v;
    v = j->sp.frequency_penalty;
    if (!num_field(root, "frequency_penalty", -2, 2, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "frequency_penalty", "'frequency_penalty' must be a number in [-2, 2]%s", "");
    j->sp.frequency_penalty = (float)v;
    v = -1;
    if (!num_field(root, "seed", -9.2e18, 9.2e18, &v) || v != floor(v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "seed", "'seed' must be an integer%s", "");
    if (v >= 0) j->sp.seed = (uint64_t)v;
    v = 1;
    if (!num_field(root, "n", 1, 1, &v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "n", "'n' must be 1 (one choice per request)%s", "");

    /* max_tokens: capped by the server's limit; absent: the limit */
    j->max_tokens = s->o.max_tokens;
    const char *mt_name = cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    v = (double)j->max_tokens;
    if (!num_field(root, mt_name, 1, 1e12, &v) || v != floor(v)) return fail_parse(j, root, status, 400, msg, msg_cap, param, mt_name, "'%s' must be a positive integer", mt_name);
    j->max_tokens = (int64_t)v < s->o.max_tokens ? (int64_t)v : s->o.max_tokens;

    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (st && !cJSON_IsNull(st) && !cJSON_IsBool(st)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "stream", "'stream' must be a boolean%s", "");
    j->stream = cJSON_IsTrue(st);
    const cJSON *ie = cJSON_GetObjectItemCaseSensitive(root, "ignore_eos");
    if (ie && !cJSON_IsNull(ie) && !cJSON_IsBool(ie)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "ignore_eos", "'ignore_eos' must be a boolean%s", "");
    j->ignore_eos = cJSON_IsTrue(ie);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && cJSON_IsObject(so)) j->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));

    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (stop && !cJSON_IsNull(stop)) {
        const bool arr = cJSON_IsArray(stop);
        if (!arr && !cJSON_IsString(stop)) return fail_parse(j, root, status, 400, msg, msg_cap, param, "stop", "'stop' must be a string or an array of strings%s", "");
        const int n = arr ? cJSON_GetArraySize(stop) : 1;
        if (n > SRV_MAX_STOPS) return fail_parse(j, root, status, 400, msg, msg_cap, param, "stop", "'stop' has more than 16 strings%s", "");
        for (int i = 0; i < n; i++) {
            const cJSON *e = arr ? cJSON_GetArrayItem(stop, i) : stop;
            if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) > SRV_MAX_STOP_LEN)
                return fail_parse(j, root, status, 400, msg, msg_cap, param, "stop", "'stop' entries must be non-empty strings of at most 256 bytes%s", "");
            if (!(j->stops[j->n_stops++] = strdup(e->valuestring)))
                return fail_parse(j, root, status, 500, msg, msg_cap, param, NULL, "out of memory%s", "");
        }
    }

    {
        const char *gfield = NULL;
        char gwhy[LC_ERROR_MSG_MAX];
        const char *gbad = structured(j, root, &gfield, gwhy, sizeof gwhy);
        if (gbad) return fail_parse(j, root, status, 400, msg, msg_cap, param, gfield, "%s", gbad);
    }

    char why[LC_ERROR_MSG_MAX];
    const char *bad, *field = NULL;
    if (kind == SRV_CHAT) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
        field = "messages";
        bad = !cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0 ? "'messages' must be a non-empty array"
              : cJSON_GetArraySize(msgs) > SRV_MAX_MESSAGES        ? "'messages' has more than 16384 entries"
                                                                    : chat_prompt(j, msgs, &field, why, sizeof why);
    } else {
        field = "prompt";
        bad = completion_prompt(j, cJSON_GetObjectItemCaseSensitive(root, "prompt"), why, sizeof why);
    }
    if (bad) return fail_parse(j, root, status, 400, msg, msg_cap, param, field, "%s", bad);
    if (j->n_prompt == 0) return fail_parse(j, root, status, 400, msg, msg_cap, param, field, "the prompt is empty%s", "");
    cJSON_Delete(root);
    return j;
}

bool srv_job_stream(const srv_job *j) { return j->stream; }

const char *srv_job_error(const srv_job *j) {
    if (j->error) return j->error;
    return j->finish && !strcmp(j->finish, "error") ? "out of memory" : NULL;
}

/* ---- generation --------------------------------------------------------------- */

static bool full_policy(const srv_job *j) {
    lc_kv_stats ks;
    lc_context_kv_stats(j->slot->ctx, &ks);
    return ks.policy == LC_KV_POLICY_FULL || ks.policy == LC_KV_POLICY_SHIFT;
}

int srv_job_begin(srv_job *j, char *msg, size_t msg_cap) {
    lc_server *s = j->srv;
    lc_error err;
    if (j->n_prompt >= s->n_ctx) {
        snprintf(msg, msg_cap, "the prompt has %lld tokens and a slot holds %lld (-c): shorten it",
                 (long long)j->n_prompt, (long long)s->n_ctx);
        return 400;
    }
    if (srv_slot_acquire(s, j->prompt, j->n_prompt, &j->slot, &j->n_reuse, &err) != LC_OK) {
        snprintf(msg, msg_cap, "%s", err.msg);
        return 503;
    }
    if (lc_sampler_create(&j->sp, s->model->cfg.vocab_size, &j->sampler, &err) != LC_OK) {
        snprintf(msg, msg_cap, "%s", err.msg);
        return 400;
    }
    for (int64_t i = 0; i < j->n_prompt; i++) lc_sampler_accept(j->sampler, j->prompt[i], NULL);
    if (j->grammar && (lc_grammar_state_create(j->grammar, s->gvocab, &j->gstate, &err) != LC_OK ||
                       lc_grammar_state_attach(j->gstate, j->sampler, &err) != LC_OK)) {
        snprintf(msg, msg_cap, "grammar: %s", err.msg);
        return 400;
    }
    if (j->gstate) lc_grammar_state_set_budget(j->gstate, s->o.grammar_steps);
    const double t0 = lc_time_now();
    srv_slot *sl = j->slot;
    if (s->tree && lc_context_n_past(sl->ctx) == j->n_reuse) { /* a longer prefix from the tree (the last token is evaluated) */
        const int64_t got = srv_tree_fill(s->tree, sl->ctx, j->prompt, j->n_prompt - 1, j->n_reuse);
        if (got > j->n_reuse) {
            memcpy(sl->cached + j->n_reuse, j->prompt + j->n_reuse, (size_t)(got - j->n_reuse) * sizeof *sl->cached);
            j->n_tree = got - j->n_reuse;
            j->n_reuse = got;
            sl->n_cached = got;
        }
    }
    /* with --parallel > 1 in chunks that take turns with the other slots' decode steps */
    const lc_status pst = s->batcher && s->o.prompt_turns ? srv_batcher_prefill(s->batcher, sl->ctx, j->prompt + j->n_reuse,
                                                           j->n_prompt - j->n_reuse, &err)
                                     : lc_context_eval(sl->ctx, j->prompt + j->n_reuse, j->n_prompt - j->n_reuse,
                                                       NULL, false, &err);
    if (pst != LC_OK) {
        lc_context_reset(sl->ctx);
        sl->n_cached = 0;
        atomic_store(&sl->n_used, 0);
        snprintf(msg, msg_cap, "evaluating the prompt: %s", err.msg);
        return 500;
    }
    memcpy(sl->cached + j->n_reuse, j->prompt + j->n_reuse, (size_t)(j->n_prompt - j->n_reuse) * sizeof *sl->cached);
    sl->n_cached = j->n_prompt;
    atomic_store(&sl->n_used, lc_context_n_past(sl->ctx));
    j->t_decode0 = lc_time_now();
    j->t_prompt = j->t_decode0 - t0;
    j->prev = j->prompt[j->n_prompt - 1];
    if (s->batcher) {
        srv_batcher_join(s->batcher);
        j->decoding = true;
    }
    return 200;
}

static bool text_reserve(srv_job *j, size_t need) {
    if (need + 1 <= j->cap) return true;
    size_t cap = j->cap ? j->cap * 2 : 1024;
    while (cap < need + 1) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    char *t = realloc(j->text, cap);
    if (!t) return false;
    j->text = t;
    j->cap = cap;
    return true;
}

/* Append a token's bytes, keeping the text well-formed UTF-8: the character
 * the previous token left incomplete is completed or, if these bytes cannot
 * complete it, replaced by U+FFFD, as is any ill-formed sequence (a model may
 * emit any byte: the JSON sent must be UTF-8). A trailing incomplete
 * character stays as it is until the next token or the end. *from: where the
 * rewritten bytes begin. */
static bool text_append(srv_job *j, const char *p, size_t n, size_t *from) {
    const size_t tail = lc_utf8_incomplete_tail(j->text ? j->text : "", j->len);
    char raw[260], fixed[3 * sizeof raw];
    if (n > sizeof raw - 4) n = sizeof raw - 4;
    memcpy(raw, j->text ? j->text + j->len - tail : "", tail);
    memcpy(raw + tail, p, n);
    size_t used;
    const size_t w = lc_utf8_repair(raw, tail + n, false, fixed, &used);
    const size_t keep = tail + n - used; /* the start of a character, copied as it is */
    *from = j->len - tail;
    if (!text_reserve(j, *from + w + keep)) return false;
    memcpy(j->text + *from, fixed, w);
    memcpy(j->text + *from + w, raw + used, keep);
    j->len = *from + w + keep;
    j->text[j->len] = '\0';
    return true;
}

static void finish(srv_job *j, const char *why) {
    /* a character still incomplete at the end is cut for good */
    const size_t tail = j->text ? lc_utf8_incomplete_tail(j->text, j->len) : 0;
    if (tail > 0) {
        char fixed[12];
        const size_t w = lc_utf8_repair(j->text + j->len - tail, tail, true, fixed, NULL);
        if (text_reserve(j, j->len - tail + w)) {
            memcpy(j->text + j->len - tail, fixed, w);
            j->len = j->len - tail + w;
        } else {
            j->len -= tail;
        }
        j->text[j->len] = '\0';
    }
    j->done = true;
    j->finish = why;
    if (j->decoding) {
        srv_batcher_leave(j->srv->batcher);
        j->decoding = false;
    }
}

/* Sample, decode and evaluate one token (or finish). */
static void step(srv_job *j) {
    lc_server *s = j->srv;
    srv_slot *sl = j->slot;
    if (j->n_gen >= j->max_tokens) return finish(j, "length");
    if (lc_time_now() - j->t_start > s->o.max_seconds) return finish(j, "length");
    int32_t tok;
    lc_error err;
    const float *logits = lc_context_logits(sl->ctx);
    if (j->sp.temp <= 0 && !j->gstate) {
        tok = (int32_t)lc_argmax(logits, s->model->cfg.vocab_size);
        lc_sampler_accept(j->sampler, tok, NULL);
    } else {
        const lc_status st = lc_sampler_sample(j->sampler, logits, &tok, &err);
        if (st == LC_ERR_TOO_LARGE) { /* the grammar's budget or limits: the request fails, saying why */
            free(j->error);
            j->error = strdup(err.msg);
            return finish(j, "error");
        }
        if (st != LC_OK) return finish(j, "stop");
    }
    for (int32_t i = 0; i < s->n_stop_ids && !j->ignore_eos; i++)
        if (tok == s->stop_ids[i]) return finish(j, "stop");
    char buf[256];
    size_t n = lc_tokenizer_decode_token(s->model->tokenizer, j->prev, tok, buf, sizeof buf);
    size_t from;
    if (!text_append(j, buf, n < sizeof buf ? n : sizeof buf, &from)) return finish(j, "stop");
    j->prev = tok;
    j->n_gen++;
    const int64_t at = lc_stop_find(j->text, j->len, from, (const char *const *)j->stops, j->n_stops, NULL);
    if (at >= 0) {
        j->len = (size_t)at;
        j->text[j->len] = '\0';
        return finish(j, "stop");
    }
    if (full_policy(j) && lc_context_n_past(sl->ctx) >= lc_context_n_ctx(sl->ctx)) return finish(j, "length");
    if (j->n_gen >= j->max_tokens) return finish(j, "length"); /* no need to evaluate the last token */
    /* with --parallel > 1 the step runs with the other generating slots' */
    const lc_status st = s->batcher ? srv_batcher_decode(s->batcher, sl->ctx, tok, &err)
                                    : lc_context_eval(sl->ctx, &tok, 1, NULL, false, &err);
    if (st != LC_OK) return finish(j, "length");
    if (sl->n_cached < lc_context_n_ctx(sl->ctx)) sl->cached[sl->n_cached++] = tok;
    atomic_store(&sl->n_used, lc_context_n_past(sl->ctx));
}

/* Bytes of the text that may be sent now. */
static size_t sendable(const srv_job *j) {
    if (j->done) return j->len;
    size_t hold = lc_stop_holdback(j->text ? j->text : "", j->len, (const char *const *)j->stops, j->n_stops);
    size_t upto = j->len - hold;
    upto -= lc_utf8_incomplete_tail(j->text ? j->text : "", upto);
    return upto > j->sent ? upto : j->sent;
}

static cJSON *usage_json(const srv_job *j) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)j->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(j->n_prompt + j->n_gen));
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", (double)j->n_reuse);
    cJSON_AddNumberToObject(d, "prefix_tree_tokens", (double)j->n_tree);
    cJSON *t = cJSON_AddObjectToObject(u, "timings");
    const double td = lc_time_now() - j->t_decode0;
    cJSON_AddNumberToObject(t, "prompt_ms", j->t_prompt * 1e3);
    cJSON_AddNumberToObject(t, "prompt_per_second", j->t_prompt > 0 ? (double)(j->n_prompt - j->n_reuse) / j->t_prompt : 0);
    cJSON_AddNumberToObject(t, "predicted_ms", td * 1e3);
    cJSON_AddNumberToObject(t, "predicted_per_second", td > 0 ? (double)j->n_gen / td : 0);
    return u;
}

static cJSON *envelope(const srv_job *j, bool chunk) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", j->id);
    cJSON_AddStringToObject(r, "object", j->kind == SRV_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                             : "text_completion");
    cJSON_AddNumberToObject(r, "created", (double)j->created);
    cJSON_AddStringToObject(r, "model", j->srv->alias);
    cJSON_AddStringToObject(r, "system_fingerprint", "longctx");
    return r;
}

char *srv_job_run_to_end(srv_job *j) {
    while (!j->done) step(j);
    cJSON *r = envelope(j, false);
    cJSON *choices = cJSON_AddArrayToObject(r, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    if (j->kind == SRV_CHAT) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", j->text ? j->text : "");
    } else {
        cJSON_AddStringToObject(c, "text", j->text ? j->text : "");
        cJSON_AddNullToObject(c, "logprobs");
    }
    cJSON_AddStringToObject(c, "finish_reason", j->finish);
    cJSON_AddItemToObject(r, "usage", usage_json(j));
    char *out = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return out;
}

/* Append "data: <json>\n\n" to the SSE buffer. */
static bool sse_event(srv_job *j, cJSON *ev) {
    char *js = ev ? cJSON_PrintUnformatted(ev) : NULL;
    cJSON_Delete(ev);
    const char *payload = js ? js : "[DONE]";
    const size_t n = strlen(payload) + 8;
    char *b = realloc(j->out, j->out_len + n + 1);
    if (!b) {
        free(js);
        return false;
    }
    j->out = b;
    j->out_len += (size_t)snprintf(j->out + j->out_len, n + 1, "data: %s\n\n", payload);
    free(js);
    return true;
}

static cJSON *chunk_json(srv_job *j, const char *text, size_t len, const char *finish_reason) {
    cJSON *r = envelope(j, true);
    cJSON *choices = cJSON_AddArrayToObject(r, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    char *t = malloc(len + 1);
    if (t) {
        memcpy(t, text, len);
        t[len] = '\0';
    }
    if (j->kind == SRV_CHAT) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (!j->sent_role) {
            cJSON_AddStringToObject(d, "role", "assistant");
            j->sent_role = true;
        }
        if (!finish_reason || len) cJSON_AddStringToObject(d, "content", t ? t : "");
    } else {
        cJSON_AddStringToObject(c, "text", t ? t : "");
        cJSON_AddNullToObject(c, "logprobs");
    }
    free(t);
    if (finish_reason) cJSON_AddStringToObject(c, "finish_reason", finish_reason);
    else cJSON_AddNullToObject(c, "finish_reason");
    return r;
}

/* Produce the next events into the SSE buffer; false at the very end. */
static bool produce(srv_job *j) {
    if (j->sent_done) return false;
    while (!j->done) {
        step(j);
        const size_t upto = sendable(j);
        if (upto > j->sent) {
            const size_t from = j->sent;
            j->sent = upto;
            return sse_event(j, chunk_json(j, j->text + from, upto - from, NULL));
        }
    }
    if (srv_job_error(j)) { /* OpenAI's error object as an event, then the end */
        cJSON *r = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(r, "error");
        cJSON_AddStringToObject(e, "message", srv_job_error(j));
        cJSON_AddStringToObject(e, "type", "invalid_request_error");
        cJSON_AddNullToObject(e, "param");
        cJSON_AddNumberToObject(e, "code", 400);
        bool ok = sse_event(j, r) && sse_event(j, NULL);
        j->sent_done = true;
        return ok;
    }
    const size_t upto = j->len;
    bool ok = sse_event(j, chunk_json(j, j->text ? j->text + j->sent : "", upto - j->sent, j->finish));
    j->sent = upto;
    if (ok && j->include_usage) {
        cJSON *r = envelope(j, true);
        cJSON_AddArrayToObject(r, "choices");
        cJSON_AddItemToObject(r, "usage", usage_json(j));
        ok = sse_event(j, r);
    }
    if (ok) ok = sse_event(j, NULL);
    j->sent_done = true;
    return ok;
}

long srv_job_read_sse(srv_job *j, char *buf, size_t cap) {
    while (j->out_pos == j->out_len) {
        j->out_pos = j->out_len = 0;
        if (!produce(j)) return -1;
    }
    size_t n = j->out_len - j->out_pos;
    if (n > cap) n = cap;
    memcpy(buf, j->out + j->out_pos, n);
    j->out_pos += n;
    return (long)n;
}

void srv_job_free(srv_job *j, bool disconnected) {
    if (!j) return;
    lc_server *s = j->srv;
    if (j->decoding) srv_batcher_leave(s->batcher);
    if (j->slot) {
        pthread_mutex_lock(&s->mu);
        s->c.prompt_tokens += j->n_prompt;
        s->c.cached_tokens += j->n_reuse;
        s->c.cache_hits += j->n_reuse > 0;
        s->c.tree_tokens += j->n_tree;
        s->c.completion_tokens += j->n_gen;
        s->c.t_prompt += j->t_prompt;
        s->c.t_decode += lc_time_now() - j->t_decode0;
        s->c.disconnects += disconnected && !j->sent_done;
        pthread_mutex_unlock(&s->mu);
        srv_slot *sl = j->slot;
        if (s->tree && lc_context_n_past(sl->ctx) == sl->n_cached) srv_tree_insert(s->tree, sl->ctx, sl->cached, sl->n_cached);
        srv_slot_release(s, sl);
    }
    if (j->gstate && j->sampler) lc_grammar_state_detach(j->sampler);
    lc_sampler_free(j->sampler);
    lc_grammar_state_free(j->gstate);
    lc_grammar_free(j->grammar_own);
    for (int i = 0; i < j->n_stops; i++) free(j->stops[i]);
    free(j->prompt);
    free(j->text);
    free(j->out);
    free(j->error);
    free(j);
}
