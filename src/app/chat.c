/*
 * A conversation over an lc_context (app.h). The conversation is a list of
 * turns, each kept as its text and its tokens:
 *
 *   turn 0   system: [BOS] + the system block (or only BOS when the template
 *            folds the system prompt into the first user message)
 *   turn 1   user:      header + text + trailer, then the assistant header
 *   turn 2   assistant: reply tokens + the reply's end tokens
 *   ...
 *
 * Under the full KV policy the context holds exactly the concatenation of
 * the turns' tokens. When a new turn plus room for its reply would not fit,
 * the oldest user/assistant pairs after the system turn are dropped; the
 * first remaining user turn is encoded again when the template folds the
 * system prompt into it; the context keeps the system turn (truncate) and
 * evaluates the rest again. Under the other policies the runtime manages the
 * cache (shift, sinks, window, h2o) and no turn is dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app_internal.h"
#include "longctx/grammar.h"
#include "longctx/text.h"

#define CHAT_BLOB_MAGIC "LCCHAT1"
#define MAX_STOP 8

typedef struct {
    lc_chat_role role;
    char *text;     /* user message or reply (without the folded system) */
    size_t len;
    int32_t *ids;
    int64_t n;
} chat_turn;

struct lc_chat {
    lc_context *ctx;
    const lc_tokenizer *tok;
    lc_sampler *sampler;
    lc_chat_opts o;
    const lc_chat_tpl_def *def; /* o.tpl's table, or the one from the Jinja template */
    lc_chat_tpl_dyn dyn;
    char *system;
    size_t system_len;
    bool manage;              /* full policy: the chat drops turns          */
    chat_turn *turns;
    int64_t n_turns, cap_turns;
    int32_t stop_ids[MAX_STOP];
    int32_t n_stop;
    int32_t *end_ids;         /* tokens closing a reply                     */
    int64_t n_end;
    char *reply;
    size_t reply_len, reply_cap;
    int64_t dropped_turns;
    /* a load in progress: turns parsed by the session check */
    chat_turn *pending;
    int64_t n_pending;
    char *pending_system;
    size_t pending_system_len;
    lc_grammar_constraint *grammar; /* lc_chat_set_grammar: reset before each reply */
    lc_context *own_ctx;      /* lc_chat_create_for_model's: freed with the chat */
    lc_sampler *own_sampler;
};

void lc_chat_own(lc_chat *c, lc_context *ctx, lc_sampler *sampler) {
    c->own_ctx = ctx;
    c->own_sampler = sampler;
}

lc_context *lc_chat_context(const lc_chat *c) { return c ? c->ctx : NULL; }

const char *lc_chat_stop_name(lc_chat_stop s) {
    switch (s) {
    case LC_CHAT_STOP_END: return "end";
    case LC_CHAT_STOP_LENGTH: return "length";
    case LC_CHAT_STOP_CALLBACK: return "stopped";
    case LC_CHAT_STOP_CONTEXT: return "context-full";
    case LC_CHAT_STOP_STRING: return "stop-string";
    }
    return "?";
}

void lc_chat_opts_init(lc_chat_opts *o) {
    memset(o, 0, sizeof *o);
    o->tpl = LC_CHAT_TPL_PLAIN;
    o->n_predict = 256;
}

static void turn_free(chat_turn *t) {
    free(t->text);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

static void turns_free(chat_turn *t, int64_t n) {
    for (int64_t i = 0; t && i < n; i++) turn_free(&t[i]);
    free(t);
}

static void note(lc_chat *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void note(lc_chat *c, const char *fmt, ...) {
    if (!c->o.on_note) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->o.on_note(c->o.note_user, buf);
}

static int64_t total_tokens(const lc_chat *c) {
    int64_t n = 0;
    for (int64_t i = 0; i < c->n_turns; i++) n += c->turns[i].n;
    return n;
}

static lc_status add_turn(lc_chat *c, chat_turn *t, lc_error *err) {
    if (c->n_turns == c->cap_turns) {
        const int64_t nc = c->cap_turns ? 2 * c->cap_turns : 16;
        chat_turn *q = realloc(c->turns, (size_t)nc * sizeof *q);
        if (!q) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
        c->turns = q;
        c->cap_turns = nc;
    }
    c->turns[c->n_turns++] = *t;
    memset(t, 0, sizeof *t);
    return LC_OK;
}

static char *dup_text(const char *s, size_t len) {
    char *d = malloc(len + 1);
    if (d) {
        if (len) memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* The tokens of a user turn followed by the assistant header. fold: this is
 * the first user turn and the template writes the system prompt into it. */
static lc_status render_user(const lc_chat *c, const char *msg, size_t len, bool fold, lc_tok_seq *s, lc_error *err) {
    const lc_chat_tpl_def *d = c->def;
    const char *text = msg;
    size_t tlen = len;
    char *folded = NULL;
    if (fold && d->fold_system && c->system_len > 0) {
        const size_t a = strlen(d->fold_pre), b = strlen(d->fold_post);
        tlen = a + c->system_len + b + len;
        folded = malloc(tlen + 1);
        if (!folded) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
        memcpy(folded, d->fold_pre, a);
        memcpy(folded + a, c->system, c->system_len);
        memcpy(folded + a + c->system_len, d->fold_post, b);
        if (len) memcpy(folded + a + c->system_len + b, msg, len);
        text = folded;
    }
    lc_status st = lc_chat_render_seq(d, c->tok, LC_CHAT_USER, text, tlen, false, s, err);
    if (st == LC_OK) st = lc_chat_render_seq(d, c->tok, LC_CHAT_ASSISTANT, NULL, 0, false, s, err);
    free(folded);
    return st;
}

static lc_status eval(lc_chat *c, const int32_t *ids, int64_t n, lc_error *err) {
    return n > 0 ? lc_context_eval(c->ctx, ids, n, NULL, false, err) : LC_OK;
}

/* Evaluate the system turn into an empty context. */
static lc_status start(lc_chat *c, lc_error *err) {
    lc_context_reset(c->ctx);
    return eval(c, c->turns[0].ids, c->turns[0].n, err);
}

lc_status lc_chat_create(lc_context *ctx, const lc_tokenizer *tok, lc_sampler *sampler, const lc_chat_opts *o_in,
                         lc_chat **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: NULL output");
    *out = NULL;
    if (!ctx || !tok || !sampler) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: a context, a tokenizer and a sampler are needed");
    lc_chat_opts defaults;
    lc_chat_opts_init(&defaults);
    const lc_chat_opts *o = o_in ? o_in : &defaults;
    if ((unsigned)o->tpl >= LC_CHAT_TPL_COUNT) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: unknown template %d", (int)o->tpl);
    if (lc_stops_validate(o->stop, o->n_stop, err) != LC_OK) return LC_ERR_INVALID_ARG;
    if (lc_tokenizer_n_vocab(tok) > lc_context_model(ctx)->cfg.vocab_size)
        return lc_fail(err, LC_ERR_INVALID_ARG, "chat: the tokenizer has %d tokens, the model %d",
                       lc_tokenizer_n_vocab(tok), lc_context_model(ctx)->cfg.vocab_size);
    lc_chat *c = calloc(1, sizeof *c);
    if (!c) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    c->ctx = ctx;
    c->tok = tok;
    c->sampler = sampler;
    c->o = *o;
    c->o.system = NULL;
    c->o.jinja = NULL;
    c->def = lc_chat_tpl(c->o.tpl);
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    c->manage = ks.policy == LC_KV_POLICY_FULL;
    const char *sys = o->system ? o->system : "";
    c->system_len = strlen(sys);
    c->system = dup_text(sys, c->system_len);
    lc_status st = c->system ? LC_OK : lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    if (st == LC_OK && o->jinja) {
        /* the model's own template, when its turns can be derived */
        lc_error je;
        if (lc_chat_tpl_from_jinja(o->jinja, o->jinja_len, tok, NULL, NULL, c->system_len > 0, &c->dyn, &je) == LC_OK) {
            c->def = &c->dyn.def;
        } else {
            c->def = lc_chat_tpl(c->o.tpl);
            note(c, "the model's chat template cannot be used (%s): using the built-in %s template", je.msg,
                 lc_chat_template_name(c->o.tpl));
        }
    }
    c->n_stop = lc_chat_stop_tokens_def(c->def, tok, c->stop_ids, MAX_STOP);
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    if (st == LC_OK) st = lc_tok_seq_template(&s, c->def, tok, c->def->asst_post, err);
    if (st == LC_OK) st = lc_tok_seq_finish(&s, tok, err);
    c->end_ids = s.ids;
    c->n_end = s.n;
    s.ids = NULL;
    lc_tok_seq_free(&s);
    /* turn 0: BOS and the system block */
    chat_turn t0 = {LC_CHAT_SYSTEM, dup_text(sys, c->system_len), c->system_len, NULL, 0};
    if (st == LC_OK) st = lc_chat_render_seq(c->def, tok, LC_CHAT_SYSTEM, sys, c->system_len, true, &s, err);
    t0.ids = s.ids;
    t0.n = s.n;
    s.ids = NULL;
    lc_tok_seq_free(&s);
    if (st == LC_OK && !t0.text) st = lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    if (st == LC_OK) st = add_turn(c, &t0, err);
    else turn_free(&t0);
    if (st == LC_OK && c->manage && c->turns[0].n + 16 > lc_context_n_ctx(ctx))
        st = lc_fail(err, LC_ERR_TOO_LARGE,
                     "chat: the system prompt (%lld tokens) and room for a reply (16) do not fit the context's %lld "
                     "tokens; raise -c",
                     (long long)c->turns[0].n, (long long)lc_context_n_ctx(ctx));
    if (st == LC_OK) st = start(c, err);
    if (st != LC_OK) {
        lc_chat_free(c);
        return st;
    }
    *out = c;
    return LC_OK;
}

lc_status lc_chat_system_tokens(const lc_chat_opts *o, const lc_tokenizer *tok, int64_t *n, lc_error *err) {
    if (!o || !tok || !n) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: bad arguments");
    *n = 0;
    const char *sys = o->system ? o->system : "";
    const size_t len = strlen(sys);
    lc_chat_tpl_dyn dyn;
    memset(&dyn, 0, sizeof dyn);
    const lc_chat_tpl_def *d = lc_chat_tpl(o->tpl);
    if (o->jinja && lc_chat_tpl_from_jinja(o->jinja, o->jinja_len, tok, NULL, NULL, len > 0, &dyn, NULL) == LC_OK)
        d = &dyn.def;
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    lc_status st = lc_chat_render_seq(d, tok, LC_CHAT_SYSTEM, sys, len, true, &s, err);
    *n = s.n;
    lc_tok_seq_free(&s);
    lc_chat_tpl_dyn_free(&dyn);
    return st;
}

void lc_chat_free(lc_chat *c) {
    if (!c) return;
    turns_free(c->turns, c->n_turns);
    turns_free(c->pending, c->n_pending);
    free(c->pending_system);
    free(c->system);
    free(c->end_ids);
    free(c->reply);
    lc_chat_tpl_dyn_free(&c->dyn);
    lc_grammar_constraint_free(c->grammar); /* detaches from the sampler */
    lc_sampler_free(c->own_sampler);
    lc_context_free(c->own_ctx);
    free(c);
}

lc_status lc_chat_set_grammar(lc_chat *c, const char *gbnf, size_t len, int64_t steps, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: no chat");
    lc_grammar_constraint_free(c->grammar);
    c->grammar = NULL;
    if (!gbnf) return LC_OK;
    return lc_grammar_constraint_create(gbnf, len, c->tok, c->n_stop > 0 ? c->stop_ids : NULL, c->n_stop, steps,
                                        c->sampler, &c->grammar, err);
}

static lc_status reply_append(lc_chat *c, const char *s, size_t n, lc_error *err) {
    if (c->reply_len + n + 1 > c->reply_cap) {
        size_t nc = c->reply_cap ? c->reply_cap : 256;
        while (nc < c->reply_len + n + 1) nc *= 2;
        char *q = realloc(c->reply, nc);
        if (!q) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
        c->reply = q;
        c->reply_cap = nc;
    }
    memcpy(c->reply + c->reply_len, s, n);
    c->reply_len += n;
    c->reply[c->reply_len] = '\0';
    return LC_OK;
}

/* Full policy: make room for `need` more tokens by dropping the oldest
 * user/assistant pairs; re-render the new first user turn when the system
 * prompt is folded into it; then bring the context in line. *fold_new: the
 * next user turn becomes the first one. */
static lc_status make_room(lc_chat *c, int64_t need, int64_t min_need, lc_chat_reply *rep, bool *fold_new, lc_error *err) {
    const int64_t n_ctx = lc_context_n_ctx(c->ctx);
    int64_t have = total_tokens(c);
    *fold_new = c->n_turns == 1;
    if (have + need <= n_ctx) return LC_OK;
    /* how many turns to drop (pairs: a user turn and its reply) */
    int64_t k = 1, freed = 0;
    while (k < c->n_turns && have - freed + need > n_ctx) {
        freed += c->turns[k].n;
        if (k + 1 < c->n_turns && c->turns[k + 1].role == LC_CHAT_ASSISTANT) freed += c->turns[++k].n;
        k++;
    }
    if (have - freed + need > n_ctx && have - freed + min_need > n_ctx)
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "chat: the message needs %lld tokens with its reply; the context holds %lld (system prompt %lld): "
                       "raise -c or shorten it",
                       (long long)min_need, (long long)n_ctx, (long long)c->turns[0].n);
    const int64_t dropped = k - 1;
    for (int64_t i = 1; i < k; i++) turn_free(&c->turns[i]);
    memmove(c->turns + 1, c->turns + k, (size_t)(c->n_turns - k) * sizeof *c->turns);
    c->n_turns -= dropped;
    *fold_new = c->n_turns == 1;
    /* the new first user turn carries the folded system prompt */
    lc_status st = LC_OK;
    if (c->n_turns > 1 && c->def->fold_system && c->system_len > 0) {
        chat_turn *t = &c->turns[1];
        lc_tok_seq s;
        memset(&s, 0, sizeof s);
        st = render_user(c, t->text, t->len, true, &s, err);
        if (st != LC_OK) {
            lc_tok_seq_free(&s);
            return st;
        }
        free(t->ids);
        t->ids = s.ids;
        t->n = s.n;
        s.ids = NULL;
        lc_tok_seq_free(&s);
    }
    /* the context: keep the system turn, evaluate the rest again */
    st = lc_context_truncate(c->ctx, c->turns[0].n, err);
    if (st != LC_OK) st = start(c, err);
    int64_t re = 0;
    for (int64_t i = 1; i < c->n_turns && st == LC_OK; i++) {
        st = eval(c, c->turns[i].ids, c->turns[i].n, err);
        re += c->turns[i].n;
    }
    c->dropped_turns += dropped;
    rep->dropped_turns += dropped;
    rep->dropped_tokens += freed;
    rep->n_prompt += re;
    note(c, "dropped %lld oldest turn%s (%lld tokens) to fit; re-evaluated %lld tokens", (long long)dropped,
         dropped == 1 ? "" : "s", (long long)freed, (long long)re);
    return st;
}

/* Bytes of reply token i's text (the token before it decides SPM's leading
 * space after BOS). */
static size_t token_len(const lc_chat *c, const int32_t *ids, int64_t i, chat_turn prev_turn) {
    const int32_t prev = i > 0 ? ids[i - 1] : prev_turn.n ? prev_turn.ids[prev_turn.n - 1] : -1;
    char piece[128];
    return LC_MIN(lc_tokenizer_decode_token(c->tok, prev, ids[i], piece, sizeof piece), sizeof piece);
}

/* Does the reply end with the stop text? */
static bool stop_text_hit(lc_chat *c, const char *stop) {
    const size_t sl = strlen(stop);
    return c->reply_len >= sl && memcmp(c->reply + c->reply_len - sl, stop, sl) == 0;
}

/* Bytes at the end of the reply that might be the start of the stop text
 * (held back from the callback until decided). */
static size_t stop_prefix_tail(const lc_chat *c, const char *stop) {
    const size_t sl = strlen(stop);
    for (size_t k = LC_MIN(sl - 1, c->reply_len); k > 0; k--)
        if (memcmp(c->reply + c->reply_len - k, stop, k) == 0) return k;
    return 0;
}

static lc_status send_message(lc_chat *c, const char *msg, size_t len, lc_chat_reply *rep, lc_error *err) {
    lc_chat_reply local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->stop_index = -1;
    if (!c || (!msg && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: bad message");
    c->reply_len = 0;
    lc_status st = reply_append(c, "", 0, err);
    if (st == LC_OK && c->grammar) st = lc_grammar_state_reset(lc_grammar_constraint_state(c->grammar), err);
    if (st != LC_OK) return st;
    rep->text = c->reply;
    const double t0 = lc_time_now();
    const int64_t n_ctx = lc_context_n_ctx(c->ctx);
    const int64_t budget = c->o.n_predict > 0 ? c->o.n_predict : LC_MAX(16, n_ctx / 4);

    /* the user turn (+ assistant header) */
    lc_tok_seq s;
    memset(&s, 0, sizeof s);
    st = render_user(c, msg, len, c->n_turns == 1, &s, err);
    if (st != LC_OK) {
        lc_tok_seq_free(&s);
        return st;
    }
    if (c->manage) {
        /* A template that folds the system prompt into the first user turn:
         * this message may become that turn once older ones are dropped, so
         * its folded form (the larger) decides what must fit. */
        const bool was_first = c->n_turns == 1;
        const bool may_fold = !was_first && c->def->fold_system && c->system_len > 0;
        lc_tok_seq sf;
        memset(&sf, 0, sizeof sf);
        if (may_fold) st = render_user(c, msg, len, true, &sf, err);
        bool fold_new = false;
        const int64_t n_min = may_fold ? sf.n : s.n;
        const int64_t need = s.n + budget + c->n_end, min_need = n_min + 1 + c->n_end;
        if (st == LC_OK) st = make_room(c, need, min_need, rep, &fold_new, err);
        if (st == LC_OK && fold_new && may_fold) { /* every earlier turn went: this one carries the system prompt */
            lc_tok_seq_free(&s);
            s = sf;
            memset(&sf, 0, sizeof sf);
        }
        lc_tok_seq_free(&sf);
        if (st != LC_OK) {
            lc_tok_seq_free(&s);
            return st;
        }
    }
    chat_turn ut = {LC_CHAT_USER, dup_text(msg ? msg : "", len), len, s.ids, s.n};
    s.ids = NULL;
    lc_tok_seq_free(&s);
    if (!ut.text) {
        turn_free(&ut);
        return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    }
    st = eval(c, ut.ids, ut.n, err);
    if (st != LC_OK) {
        turn_free(&ut);
        return st;
    }
    rep->n_prompt += ut.n;
    st = add_turn(c, &ut, err);
    if (st != LC_OK) {
        turn_free(&ut);
        return st;
    }
    rep->t_prompt = lc_time_now() - t0;

    /* the reply */
    const double t1 = lc_time_now();
    const char *stop = c->def->stop_text;
    const int32_t vocab = lc_context_model(c->ctx)->cfg.vocab_size;
    lc_tok_seq r;
    memset(&r, 0, sizeof r);
    size_t emitted = 0; /* reply bytes given to on_text */
    int32_t prev = c->turns[c->n_turns - 1].n ? c->turns[c->n_turns - 1].ids[c->turns[c->n_turns - 1].n - 1] : -1;
    char piece[128];
    rep->stop = LC_CHAT_STOP_LENGTH;
    while (st == LC_OK && r.n < budget) {
        const float *logits = lc_context_logits(c->ctx);
        if (!logits) {
            st = lc_fail(err, LC_ERR_INTERNAL, "chat: no logits to sample from");
            break;
        }
        int32_t id = -1;
        st = lc_sampler_sample(c->sampler, logits, &id, err);
        if (st != LC_OK) break;
        if (id < 0 || id >= vocab) {
            st = lc_fail(err, LC_ERR_INTERNAL, "chat: sampled token %d", id);
            break;
        }
        bool end = false;
        for (int32_t i = 0; i < c->n_stop; i++) end = end || id == c->stop_ids[i];
        if (end) {
            rep->stop = LC_CHAT_STOP_END;
            break;
        }
        if (c->manage && lc_context_n_past(c->ctx) + 1 + c->n_end > n_ctx) {
            rep->stop = LC_CHAT_STOP_CONTEXT;
            break;
        }
        const size_t before = c->reply_len;
        size_t pl = lc_tokenizer_decode_token(c->tok, prev, id, piece, sizeof piece);
        if (pl > sizeof piece) pl = sizeof piece; /* no piece is that long; stay safe */
        st = reply_append(c, piece, pl, err);
        if (st == LC_OK) st = lc_tok_seq_push(&r, id, err);
        if (st == LC_OK) st = eval(c, &id, 1, err);
        if (st != LC_OK) break;
        prev = id;
        int which = -1;
        const int64_t at = lc_stop_find(c->reply, c->reply_len, before, c->o.stop, c->o.n_stop, &which);
        if (at >= 0) { /* a user's stop string: kept, what the token wrote after it is not */
            c->reply_len = (size_t)at + strlen(c->o.stop[which]);
            c->reply[c->reply_len] = '\0';
            rep->stop = LC_CHAT_STOP_STRING;
            rep->stop_index = which;
            break;
        }
        if (stop && stop_text_hit(c, stop)) {
            /* cut the stop text: from the reply, and (full policy) the
             * tokens that wrote it from the turn and the context */
            const size_t cut = c->reply_len - strlen(stop);
            size_t text_end = c->reply_len;
            int64_t keep = r.n;
            while (keep > 0 && text_end > cut) {
                keep--;
                text_end -= token_len(c, r.ids, keep, c->turns[c->n_turns - 1]);
            }
            /* a recurrent (Gated DeltaNet) model would evaluate the whole
             * conversation again to forget a few tokens: it keeps them */
            const bool recurrent = (lc_context_model(c->ctx)->cfg.fam.flags & LC_ARCH_DELTANET) != 0;
            if (c->manage && !recurrent && keep < r.n &&
                lc_context_truncate(c->ctx, lc_context_n_past(c->ctx) - (r.n - keep), err) == LC_OK) {
                r.n = keep;
                /* the context's last logits went with the cut: the turn's
                 * end tokens are evaluated next, which needs none */
            }
            c->reply_len = cut;
            c->reply[c->reply_len] = '\0';
            rep->stop = LC_CHAT_STOP_END;
            break;
        }
        const size_t hold = stop ? stop_prefix_tail(c, stop) : 0;
        if (c->o.on_text && c->reply_len - hold > emitted) {
            const bool go = c->o.on_text(c->o.text_user, c->reply + emitted, c->reply_len - hold - emitted);
            emitted = c->reply_len - hold;
            if (!go) {
                rep->stop = LC_CHAT_STOP_CALLBACK;
                break;
            }
        }
    }
    if (st == LC_OK && c->o.on_text && c->reply_len > emitted && rep->stop != LC_CHAT_STOP_CALLBACK)
        c->o.on_text(c->o.text_user, c->reply + emitted, c->reply_len - emitted);
    /* close the reply as the template writes it */
    for (int64_t i = 0; st == LC_OK && i < c->n_end; i++) st = lc_tok_seq_push(&r, c->end_ids[i], err);
    if (st == LC_OK) st = eval(c, c->end_ids, c->n_end, err);
    chat_turn at = {LC_CHAT_ASSISTANT, dup_text(c->reply, c->reply_len), c->reply_len, r.ids, r.n};
    r.ids = NULL;
    lc_tok_seq_free(&r);
    if (st == LC_OK && !at.text) st = lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    if (st == LC_OK) st = add_turn(c, &at, err);
    else turn_free(&at);
    rep->text = c->reply;
    rep->len = c->reply_len;
    rep->n_tokens = c->turns[c->n_turns - 1].n - c->n_end;
    rep->t_reply = lc_time_now() - t1;
    if (st != LC_OK && c->manage) {
        /* keep the context and the turns in line: start over from them */
        lc_error e2;
        lc_status s2 = start(c, &e2);
        for (int64_t i = 1; i < c->n_turns && s2 == LC_OK; i++) s2 = eval(c, c->turns[i].ids, c->turns[i].n, &e2);
    }
    return st;
}

lc_status lc_chat_reset(lc_chat *c, lc_error *err) {
    if (!c) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: NULL");
    for (int64_t i = 1; i < c->n_turns; i++) turn_free(&c->turns[i]);
    c->n_turns = 1;
    c->dropped_turns = 0;
    c->reply_len = 0;
    if (c->reply) c->reply[0] = '\0';
    return start(c, err);
}

void lc_chat_get_stats(const lc_chat *c, lc_chat_stats *st) {
    memset(st, 0, sizeof *st);
    if (!c) return;
    st->n_turns = c->n_turns - 1;
    st->n_tokens = total_tokens(c);
    st->n_system = c->turns[0].n;
    st->dropped_turns = c->dropped_turns;
    st->tpl = c->o.tpl;
    st->jinja = c->def->jinja;
    lc_context_kv_stats(c->ctx, &st->kv);
}

int32_t lc_chat_stop_ids(const lc_chat *c, int32_t *ids, int32_t cap) {
    if (!c || !ids || cap <= 0) return 0;
    const int32_t n = c->n_stop < cap ? c->n_stop : cap;
    memcpy(ids, c->stop_ids, (size_t)n * sizeof *ids);
    return n;
}

/* ---- Sessions: the turn table travels as the session's blob -------------------
 *
 *   "LCCHAT1\0" | u32 template | u32 flags (1: turns written by the model's
 *   Jinja template) | u64 system bytes | system text |
 *   u64 turns | per turn: u32 role | u32 0 | u64 text bytes | u64 tokens | text
 *
 * The turns' tokens, concatenated, are the session's token history. */

static void put_u64(char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

lc_status lc_chat_save(const lc_chat *c, const char *path, lc_error *err) {
    if (!c || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: NULL");
    size_t blob_len = 8 + 8 + 8 + c->system_len + 8, n_tok = 0;
    for (int64_t i = 1; i < c->n_turns; i++) blob_len += 24 + c->turns[i].len;
    for (int64_t i = 0; i < c->n_turns; i++) n_tok += (size_t)c->turns[i].n;
    char *blob = malloc(blob_len);
    int32_t *toks = malloc(LC_MAX(n_tok, 1) * sizeof(int32_t));
    if (!blob || !toks) {
        free(blob);
        free(toks);
        return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    }
    size_t w = 0;
    memcpy(blob, CHAT_BLOB_MAGIC, 8);
    w = 8;
    put_u64(blob + w, (uint64_t)c->o.tpl | (c->def->jinja ? (uint64_t)1 << 32 : 0));
    w += 8;
    put_u64(blob + w, c->system_len);
    w += 8;
    memcpy(blob + w, c->system, c->system_len);
    w += c->system_len;
    put_u64(blob + w, (uint64_t)(c->n_turns - 1));
    w += 8;
    size_t k = 0;
    memcpy(toks, c->turns[0].ids, (size_t)c->turns[0].n * sizeof(int32_t));
    k += (size_t)c->turns[0].n;
    for (int64_t i = 1; i < c->n_turns; i++) {
        const chat_turn *t = &c->turns[i];
        put_u64(blob + w, (uint64_t)t->role);
        put_u64(blob + w + 8, t->len);
        put_u64(blob + w + 16, (uint64_t)t->n);
        w += 24;
        memcpy(blob + w, t->text, t->len);
        w += t->len;
        memcpy(toks + k, t->ids, (size_t)t->n * sizeof(int32_t));
        k += (size_t)t->n;
    }
    lc_status st = lc_session_save(c->ctx, path, toks, (int64_t)n_tok, blob, blob_len, c->sampler, err);
    free(blob);
    free(toks);
    return st;
}

/* Parse and check a session's blob and history into c->pending (nothing of
 * the chat changes yet). A session without a chat blob (`longctx run`)
 * becomes one undroppable prefix turn. */
static lc_status load_check(void *user, const int32_t *tokens, int64_t n_tokens, const void *blob_v, size_t blob_len,
                            int64_t n_cached, lc_error *err) {
    lc_chat *c = user;
    const unsigned char *b = blob_v;
    turns_free(c->pending, c->n_pending);
    free(c->pending_system);
    c->pending = NULL;
    c->n_pending = 0;
    c->pending_system = NULL;
    if (c->manage && n_cached != n_tokens)
        return lc_fail(err, LC_ERR_FORMAT, "chat: the session's cache holds %lld tokens, its history %lld",
                       (long long)n_cached, (long long)n_tokens);
    uint64_t n_turns = 0, sys_len = 0;
    size_t r = 0;
    const bool chat_blob = blob_len >= 8 && memcmp(b, CHAT_BLOB_MAGIC, 8) == 0;
    if (chat_blob) {
        if (blob_len < 32) return lc_fail(err, LC_ERR_FORMAT, "chat: short turn table");
        const uint64_t tpl = get_u64(b + 8) & 0xFFFFFFFFu;
        const bool jinja = (get_u64(b + 8) >> 32) & 1;
        if (jinja != c->def->jinja)
            return lc_fail(err, LC_ERR_FORMAT, "chat: the session's turns were written %s the model's Jinja template, "
                           "this chat's %s", jinja ? "by" : "without", c->def->jinja ? "are" : "are not");
        if (tpl != (uint64_t)c->o.tpl)
            return lc_fail(err, LC_ERR_FORMAT, "chat: the session was written with the %s template, this chat uses %s",
                           lc_chat_template_name(tpl < LC_CHAT_TPL_COUNT ? (lc_chat_template)tpl : LC_CHAT_TPL_COUNT),
                           lc_chat_template_name(c->o.tpl));
        sys_len = get_u64(b + 16);
        r = 24;
        if (sys_len > blob_len - r || blob_len - r - sys_len < 8) return lc_fail(err, LC_ERR_FORMAT, "chat: bad system text");
        r += sys_len;
        n_turns = get_u64(b + r);
        r += 8;
        if (n_turns > (uint64_t)(blob_len - r) / 24) return lc_fail(err, LC_ERR_FORMAT, "chat: bad turn count");
    } else if (blob_len != 0) {
        return lc_fail(err, LC_ERR_FORMAT, "chat: the session holds data that is not a conversation");
    }
    c->pending = calloc((size_t)n_turns + 1, sizeof *c->pending);
    c->pending_system = dup_text(chat_blob ? (const char *)b + 24 : "", (size_t)sys_len);
    if (!c->pending || !c->pending_system) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    c->pending_system_len = (size_t)sys_len;
    c->n_pending = (int64_t)n_turns + 1;
    /* turn 0 gets whatever tokens the turns do not account for */
    int64_t used = 0;
    for (uint64_t i = 0; i < n_turns; i++) {
        chat_turn *t = &c->pending[i + 1];
        /* r <= blob_len holds here: each turn's header and text are checked
         * against what is left before r moves past them */
        if (blob_len - r < 24) return lc_fail(err, LC_ERR_FORMAT, "chat: turn %llu is cut short", (unsigned long long)i);
        const uint64_t role = get_u64(b + r), tl = get_u64(b + r + 8), tn = get_u64(b + r + 16);
        r += 24;
        if ((role != LC_CHAT_USER && role != LC_CHAT_ASSISTANT) || tl > blob_len - r || tn > (uint64_t)n_tokens)
            return lc_fail(err, LC_ERR_FORMAT, "chat: bad turn %llu", (unsigned long long)i);
        t->role = (lc_chat_role)role;
        t->text = dup_text((const char *)b + r, (size_t)tl);
        t->len = (size_t)tl;
        t->n = (int64_t)tn;
        r += (size_t)tl;
        used += t->n;
        if (!t->text || used > n_tokens) return lc_fail(err, LC_ERR_FORMAT, "chat: the turns hold more tokens than the session");
    }
    if (r != blob_len) return lc_fail(err, LC_ERR_FORMAT, "chat: trailing bytes in the turn table");
    c->pending[0].role = LC_CHAT_SYSTEM;
    c->pending[0].n = n_tokens - used;
    c->pending[0].text = dup_text(c->pending_system, c->pending_system_len);
    c->pending[0].len = c->pending_system_len;
    if (!c->pending[0].text) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
    int64_t at = 0;
    for (int64_t i = 0; i < c->n_pending; i++) {
        chat_turn *t = &c->pending[i];
        t->ids = malloc((size_t)LC_MAX(t->n, 1) * sizeof(int32_t));
        if (!t->ids) return lc_fail(err, LC_ERR_NOMEM, "chat: out of memory");
        if (t->n) memcpy(t->ids, tokens + at, (size_t)t->n * sizeof(int32_t));
        at += t->n;
    }
    return LC_OK;
}

lc_status lc_chat_load(lc_chat *c, const char *path, lc_error *err) {
    if (!c || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "chat: NULL");
    lc_status st = lc_session_load_checked(c->ctx, path, c->sampler, load_check, c, NULL, err);
    if (st != LC_OK) {
        turns_free(c->pending, c->n_pending);
        free(c->pending_system);
        c->pending = NULL;
        c->pending_system = NULL;
        c->n_pending = 0;
        return st;
    }
    turns_free(c->turns, c->n_turns);
    free(c->system);
    c->turns = c->pending;
    c->n_turns = c->cap_turns = c->n_pending;
    c->system = c->pending_system;
    c->system_len = c->pending_system_len;
    c->pending = NULL;
    c->pending_system = NULL;
    c->n_pending = 0;
    c->dropped_turns = 0;
    c->reply_len = 0;
    if (c->reply) c->reply[0] = '\0';
    return LC_OK;
}

/* One turn in the transcript (lc_chat_opts.transcript). */
static void transcript_turn(const lc_chat *c, const char *role, const char *text, size_t len) {
    FILE *f = c->o.transcript;
    if (!f) return;
    fprintf(f, "### %s\n", role);
    fwrite(text, 1, len, f);
    fputs("\n\n", f);
    fflush(f);
}

lc_status lc_chat_send(lc_chat *c, const char *msg, size_t len, lc_chat_reply *rep, lc_error *err) {
    if (c && (msg || !len)) transcript_turn(c, "user", msg ? msg : "", len);
    const lc_status st = send_message(c, msg, len, rep, err);
    if (st == LC_OK) transcript_turn(c, "assistant", c->reply, c->reply_len);
    return st;
}
