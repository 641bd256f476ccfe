/* lc_chat_command: a chat's slash commands (app.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/app_internal.h"

/* Appends to out (at *w of cap), as snprintf would. */
static void say(char *out, size_t cap, size_t *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(*w < cap ? out + *w : NULL, *w < cap ? cap - *w : 0, fmt, ap);
    va_end(ap);
    if (n > 0) *w += (size_t)n;
}

static void stats(const lc_chat *chat, char *out, size_t cap, size_t *w) {
    lc_chat_stats st;
    lc_chat_get_stats(chat, &st);
    char desc[128], b1[32], b2[32];
    say(out, cap, w, "turns %lld, conversation %lld tokens (system %lld), dropped turns %lld\n", (long long)st.n_turns,
        (long long)st.n_tokens, (long long)st.n_system, (long long)st.dropped_turns);
    say(out, cap, w, "context %lld tokens held of %lld slots, %lld seen, %lld evicted%s%lld\n", (long long)st.kv.n_used,
        (long long)st.kv.n_slots, (long long)st.kv.n_seen, (long long)st.kv.n_evicted,
        st.kv.policy == LC_KV_POLICY_SHIFT ? ", shifts " : ", rebases ", (long long)st.kv.n_shifts);
    say(out, cap, w, "kv %s: %s in use of %s, %zu bytes per token\n",
        lc_context_kv_describe(lc_chat_context(chat), desc, sizeof desc),
        lc_format_bytes((double)st.kv.bytes_per_token * (double)st.kv.n_used, b1, sizeof b1),
        lc_format_bytes((double)st.kv.bytes, b2, sizeof b2), st.kv.bytes_per_token);
    say(out, cap, w, "template %s\n", st.jinja ? "jinja (the model's)" : lc_chat_template_name(st.tpl));
}

static const char help[] = "/save FILE   save the conversation (KV cache, turns, sampler) to FILE\n"
                           "/load FILE   load a saved conversation\n"
                           "/reset       forget every turn (the system prompt stays)\n"
                           "/stats       tokens in context, KV bytes, policy\n"
                           "/help        this list\n"
                           "/quit        end the chat (also /exit, or end of input)\n";

lc_status lc_chat_command(lc_chat *c, const char *line, char *out, size_t cap, bool *quit, lc_error *err) {
    size_t w = 0;
    lc_status st = LC_OK;
    *quit = false;
    if (cap > 0) out[0] = '\0';
    if (!c || !line) return lc_fail(err, LC_ERR_INVALID_ARG, "chat command: no chat or line");
    const char *arg = strchr(line, ' ');
    while (arg && *arg == ' ') arg++;
    const size_t cl = strcspn(line, " ");
#define IS(name) (cl == strlen(name) && strncmp(line, name, cl) == 0)
    lc_error e2;
    if (IS("/quit") || IS("/exit")) *quit = true;
    else if (IS("/help")) say(out, cap, &w, "%s", help);
    else if (IS("/stats")) stats(c, out, cap, &w);
    else if (IS("/reset")) {
        if ((st = lc_chat_reset(c, err)) == LC_OK) say(out, cap, &w, "conversation reset\n");
    } else if ((IS("/save") || IS("/load")) && (!arg || !*arg)) {
        say(out, cap, &w, "%.*s needs a file name\n", (int)cl, line);
    } else if (IS("/save")) {
        if (lc_chat_save(c, arg, &e2) != LC_OK) say(out, cap, &w, "save failed: %s\n", e2.msg);
        else say(out, cap, &w, "saved to %s\n", arg);
    } else if (IS("/load")) {
        if (lc_chat_load(c, arg, &e2) != LC_OK) say(out, cap, &w, "load refused: %s\n", e2.msg);
        else say(out, cap, &w, "loaded %s\n", arg);
    } else {
        say(out, cap, &w, "unknown command %.*s (/help lists them)\n", (int)cl, line);
    }
#undef IS
    return st;
}
