/* longctx chat — a multi-turn conversation on a terminal or through pipes:
 * one message per line on stdin, replies on stdout (in pipe mode each reply,
 * and each command's output, ends with a delimiter line). A thin layer over
 * lc_chat (include/longctx/app.h): templates, context management in tokens,
 * sessions. Ctrl-C stops the current reply and keeps the conversation; at
 * the prompt it ends the chat (saving the session when --session is given). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "common/util.h"
#include "grammar_flags.h"
#include "longctx/app.h"
#include "llama_flags.h"
#include "reverse_prompt.h"
#include "runtime_flags.h"

#define SYSTEM_FILE_MAX ((long)1 << 20)

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx chat -m MODEL [options]\n\n"
            "A conversation with a model. On a terminal: type a message, read the reply. Through pipes:\n"
            "one message per line on stdin; each reply on stdout ends with a line holding the\n"
            "delimiter (--delim). Lines starting with / are commands:\n"
            "  /save FILE  /load FILE  /reset  /stats  /help  /quit\n\n"
            "options:\n"
            "%s"
            "  -n, --n-predict N      most tokens per reply (default 256; -1: to the end of the turn)\n"
            "  --system TEXT          system prompt (always kept in the context; -sys, --system-prompt too)\n"
            "  --system-file PATH     system prompt from a file (-sysf, --system-prompt-file too)\n"
            "  -r, --reverse-prompt S end a reply where it contains S (kept in it; repeatable)\n"
            "  --chat-template NAME   plain, chatml, llama2, mistral, llama3, phi3, gemma, zephyr\n"
            "                         (default: recognised from the GGUF's tokenizer.chat_template, else plain)\n"
            "  --session FILE         load the conversation from FILE if it exists; save it there at the end\n"
            "                         (--prompt-cache FILE too)\n"
            "  --transcript FILE      append every turn to FILE as it happens\n"
            "  --delim TEXT           end-of-reply line in pipe mode (default <<<END>>>)\n"
            "  --verbose              say what context management did (turns dropped, shifts)\n"
            "  -h, --help             this help\n%s\n"
            "Context: with --kv-policy full (default) a turn that would not fit drops the oldest whole turns\n"
            "(never the system prompt) and re-evaluates the rest; shift:KEEP shifts (KEEP 0: the system\n"
            "prompt's length); sinks:S:W, window:W, h2o:S:R:H stream without dropping turns.\n\n"
            "structured output (each reply; the turn ends when the grammar is complete):\n%s\n"
            "sampling (-s is --seed):\n%s\nRoPE (override the model's):\n%s",
            cli_runtime_flags_help(), cli_llama_flags_help(), cli_grammar_help(), lc_sampler_options_help(),
            lc_rope_options_help());
}

static volatile sig_atomic_t interrupted = 0; /* CLI only: set by SIGINT */
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct {
    FILE *transcript;
    bool verbose;
    cli_stops stops;        /* -r */
    const char *stopped_at; /* the -r string that ended this reply */
} chat_io;

static bool on_text(void *user, const char *text, size_t len) {
    chat_io *io = user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    bool oom;
    io->stopped_at = cli_stops_feed(&io->stops, text, len, &oom);
    return !interrupted && !oom && !io->stopped_at;
}

static void on_note(void *user, const char *note) {
    const chat_io *io = user;
    if (io->verbose) fprintf(stderr, "[chat] %s\n", note);
}

static char *read_text_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("chat", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    char *buf = NULL;
    if (size >= 0 && size <= SYSTEM_FILE_MAX && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        buf[size] = '\0';
        while (size > 0 && (buf[size - 1] == '\n' || buf[size - 1] == '\r')) buf[--size] = '\0';
    } else {
        cli_error("chat", "%s: cannot read (at most 1 MiB)", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void transcript_turn(chat_io *io, const char *role, const char *text, size_t len) {
    if (!io->transcript) return;
    fprintf(io->transcript, "### %s\n", role);
    fwrite(text, 1, len, io->transcript);
    fputs("\n\n", io->transcript);
    fflush(io->transcript);
}

static void print_stats(const lc_chat *chat, const lc_context *ctx, FILE *out) {
    lc_chat_stats st;
    lc_chat_get_stats(chat, &st);
    char desc[128], b1[32], b2[32];
    fprintf(out, "turns %lld, conversation %lld tokens (system %lld), dropped turns %lld\n", (long long)st.n_turns,
            (long long)st.n_tokens, (long long)st.n_system, (long long)st.dropped_turns);
    fprintf(out, "context %lld tokens held of %lld slots, %lld seen, %lld evicted%s%lld\n", (long long)st.kv.n_used,
            (long long)st.kv.n_slots, (long long)st.kv.n_seen, (long long)st.kv.n_evicted,
            st.kv.policy == LC_KV_POLICY_SHIFT ? ", shifts " : ", rebases ", (long long)st.kv.n_shifts);
    fprintf(out, "kv %s: %s in use of %s, %zu bytes per token\n", lc_context_kv_describe(ctx, desc, sizeof desc),
            lc_format_bytes((double)st.kv.bytes_per_token * (double)st.kv.n_used, b1, sizeof b1),
            lc_format_bytes((double)st.kv.bytes, b2, sizeof b2), st.kv.bytes_per_token);
    fprintf(out, "template %s\n", st.jinja ? "jinja (the model's)" : lc_chat_template_name(st.tpl));
}

static void print_help(FILE *out) {
    fprintf(out, "/save FILE   save the conversation (KV cache, turns, sampler) to FILE\n"
                 "/load FILE   load a saved conversation\n"
                 "/reset       forget every turn (the system prompt stays)\n"
                 "/stats       tokens in context, KV bytes, policy\n"
                 "/help        this list\n"
                 "/quit        end the chat (also /exit, or end of input)\n");
}

/* A command line; returns false for /quit. */
static bool command(lc_chat *chat, const lc_context *ctx, const char *line, FILE *out, int *rc) {
    lc_error err;
    const char *arg = strchr(line, ' ');
    while (arg && *arg == ' ') arg++;
    const size_t cl = strcspn(line, " ");
#define IS(name) (cl == strlen(name) && strncmp(line, name, cl) == 0)
    if (IS("/quit") || IS("/exit")) return false;
    if (IS("/help")) print_help(out);
    else if (IS("/stats")) print_stats(chat, ctx, out);
    else if (IS("/reset")) {
        if (lc_chat_reset(chat, &err) != LC_OK) *rc = cli_fail("chat", &err);
        else fprintf(out, "conversation reset\n");
    } else if (IS("/save") || IS("/load")) {
        if (!arg || !*arg) {
            fprintf(out, "%.*s needs a file name\n", (int)cl, line);
        } else if (IS("/save")) {
            if (lc_chat_save(chat, arg, &err) != LC_OK) fprintf(out, "save failed: %s\n", err.msg);
            else fprintf(out, "saved to %s\n", arg);
        } else {
            if (lc_chat_load(chat, arg, &err) != LC_OK) fprintf(out, "load refused: %s\n", err.msg);
            else fprintf(out, "loaded %s\n", arg);
        }
    } else {
        fprintf(out, "unknown command %.*s (/help lists them)\n", (int)cl, line);
    }
#undef IS
    return true;
}

int cmd_chat(int argc, char **argv) {
    cli_runtime_flags rf;
    cli_runtime_flags_init(&rf);
    lc_sampler_params sp;
    lc_sampler_params_init(&sp);
    int64_t n_predict = 256;
    const char *system = NULL, *system_file = NULL, *tpl_name = NULL, *session = NULL, *transcript = NULL;
    const char *delim = "<<<END>>>";
    chat_io io = {0};
    cli_grammar gr;
    cli_grammar_init(&gr);
    lc_error err;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const int taken = cli_runtime_flag(&rf, argc, argv, &i, "chat");
        if (taken < 0) return CLI_USAGE;
        if (taken > 0) continue;
        const int gtaken = cli_grammar_flag(&gr, argc, argv, &i, "chat");
        if (gtaken < 0) return CLI_USAGE;
        if (gtaken > 0) continue;
        bool ok = true;
#define VALUE() (v = cli_value(argc, argv, &i, "chat"))
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, "-n", "--n-predict")) {
            if (!VALUE() || !cli_int_flag("chat", a, v, -1, LC_CONTEXT_MAX_TOKENS, &n_predict)) return CLI_USAGE;
            if (n_predict == 0) {
                cli_error("chat", "-n 0: a reply needs at least one token (-1: until the end or the context is full)");
                return CLI_USAGE;
            }
        }
        else if (cli_is(a, "-sys", "--system") || cli_is(a, NULL, "--system-prompt")) ok = (system = VALUE()) != NULL;
        else if (cli_is(a, "-sysf", "--system-file") || cli_is(a, NULL, "--system-prompt-file"))
            ok = (system_file = VALUE()) != NULL;
        else if (cli_is(a, "-r", "--reverse-prompt")) {
            if (!VALUE() || !cli_stops_add(&io.stops, "chat", a, v)) return CLI_USAGE;
        } else if (cli_is(a, NULL, "--chat-template")) ok = (tpl_name = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--session") || cli_is(a, NULL, "--prompt-cache")) ok = (session = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--transcript")) ok = (transcript = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--delim")) ok = (delim = VALUE()) != NULL;
        else if (cli_is(a, NULL, "--verbose")) io.verbose = true;
        else if (lc_sampler_is_option(a) || cli_is(a, "-s", NULL)) {
            ok = VALUE() != NULL;
            if (ok && lc_sampler_apply_option(&sp, strcmp(a, "-s") == 0 ? "--seed" : a, v, &err) != LC_OK) {
                cli_error("chat", "%s", err.msg);
                return CLI_USAGE;
            }
        } else {
            return cli_unknown_option("chat", a, usage);
        }
#undef VALUE
        if (!ok) {
            cli_error("chat", "bad or missing value for %s%s%s", a, v ? ": " : "", v ? v : "");
            return CLI_USAGE;
        }
    }
    if (system && system_file) {
        cli_error("chat", "give --system or --system-file, not both");
        return CLI_USAGE;
    }
    lc_chat_template tpl = LC_CHAT_TPL_PLAIN;
    if (tpl_name && !lc_chat_template_parse(tpl_name, &tpl)) {
        cli_error("chat", "unknown chat template '%s' (plain, chatml, llama2, mistral, llama3, phi3, gemma, zephyr)",
                  tpl_name);
        return CLI_USAGE;
    }
    if (lc_sampler_params_validate(&sp, &err) != LC_OK) {
        cli_error("chat", "%s", err.msg);
        return CLI_USAGE;
    }
    lc_model *m = NULL;
    int rc = cli_runtime_load_model(&rf, &m, "chat");
    if (rc != CLI_OK) return rc;
    lc_context *ctx = NULL;
    lc_sampler *sampler = NULL;
    lc_chat *chat = NULL;
    char *sys_text = NULL, *line = NULL, *jinja = NULL;
    size_t jinja_len = 0;
    lc_rope_config rope;
    cli_runtime_default_ctx(&rf, m, "chat");
    rc = cli_runtime_rope(&rf, m, &rope, "chat");
    if (rc != CLI_OK) goto done;
    rc = CLI_FAIL;
    if (!m->tokenizer) {
        if (m->tokenizer_note[0]) cli_error("chat", "the file's tokenizer is not used: %s", m->tokenizer_note);
        cli_error("chat", "the model has no tokenizer (give -z TOKENIZER.bin for a llama2.c model)");
        goto done;
    }
    if (!tpl_name) {
        bool found = false, rec = false;
        if (lc_chat_template_from_file(rf.model_path, &tpl, &found, &rec, &err) != LC_OK) {
            cli_fail("chat", &err);
            goto done;
        }
        if (lc_chat_template_text_from_file(rf.model_path, &jinja, &jinja_len, &err) != LC_OK) {
            cli_fail("chat", &err);
            goto done;
        }
        if (found && !rec && !jinja) cli_error("chat", "note: the model's chat template is not one longctx knows: using plain");
    }
    if (system_file && !(sys_text = read_text_file(system_file))) goto done;
    if (system) sys_text = strdup(system);
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.tpl = tpl;
    co.system = sys_text;
    co.n_predict = n_predict;
    co.on_text = on_text;
    co.on_note = on_note;
    co.note_user = &io;
    co.text_user = &io;
    co.jinja = jinja;
    co.jinja_len = jinja_len;
    if (rf.co.kv_policy == LC_KV_POLICY_SHIFT && rf.co.kv_n_keep == 0) { /* keep the system turn */
        int64_t n = 0;
        lc_chat_system_tokens(&co, m->tokenizer, &n, NULL);
        rf.co.kv_n_keep = n;
    }
    if (lc_context_create(m, &rf.co, &ctx, &err) != LC_OK || lc_sampler_create(&sp, m->cfg.vocab_size, &sampler, &err) != LC_OK) {
        cli_fail("chat", &err);
        goto done;
    }
    if (lc_chat_create(ctx, m->tokenizer, sampler, &co, &chat, &err) != LC_OK) {
        cli_fail("chat", &err);
        goto done;
    }
    if (cli_grammar_active(&gr)) { /* a reply ends at the chat's end-of-turn tokens */
        int32_t stops[16];
        const int32_t n_stop = lc_chat_stop_ids(chat, stops, 16);
        rc = cli_grammar_setup(&gr, m->tokenizer, n_stop > 0 ? stops : NULL, n_stop > 0 ? n_stop : 0, sampler, "chat");
        if (rc != CLI_OK) goto done;
        rc = CLI_FAIL;
    }
    lc_chat_stats cst;
    lc_chat_get_stats(chat, &cst);
    if (jinja && !cst.jinja)
        cli_error("chat", "note: the model's chat template cannot be used turn by turn%s: using the built-in %s template",
                  io.verbose ? "" : " (--verbose says why)", lc_chat_template_name(tpl));
    if (session && access(session, F_OK) == 0) {
        if (lc_chat_load(chat, session, &err) != LC_OK) {
            cli_fail("chat", &err);
            goto done;
        }
        if (io.verbose) fprintf(stderr, "[chat] loaded %s\n", session);
    }
    if (transcript && !(io.transcript = fopen(transcript, "a"))) {
        cli_error("chat", "cannot open %s: %s", transcript, strerror(errno));
        goto done;
    }
    const bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    {
        char desc[128], sd[160];
        fprintf(stderr, "longctx chat: %s, template %s, kv %s, %s%s\n", rf.model_path,
                cst.jinja ? "jinja (the model's)" : lc_chat_template_name(tpl),
                lc_context_kv_describe(ctx, desc, sizeof desc), lc_sampler_describe(&sp, sd, sizeof sd),
                tty ? "\n(/help for commands, Ctrl-C stops a reply, /quit or Ctrl-D ends)" : "");
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: Ctrl-C at the prompt ends the read */
    sigaction(SIGINT, &sa, &old);
    size_t cap = 0;
    rc = CLI_OK;
    for (;;) {
        if (tty) {
            fputs("\n> ", stdout);
            fflush(stdout);
        }
        interrupted = 0;
        errno = 0;
        ssize_t got = getline(&line, &cap, stdin);
        if (got < 0) {
            if (tty) fputc('\n', stdout);
            break; /* end of input, or Ctrl-C at the prompt */
        }
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue;
        if (line[0] == '/') {
            const bool go = command(chat, ctx, line, stdout, &rc);
            if (!tty) fprintf(stdout, "%s\n", delim);
            fflush(stdout);
            if (!go || rc != CLI_OK) break;
            continue;
        }
        transcript_turn(&io, "user", line, (size_t)got);
        if ((rc = cli_grammar_restart(&gr, "chat")) != CLI_OK) break;
        lc_chat_reply rep;
        cli_stops_reset(&io.stops);
        io.stopped_at = NULL;
        lc_status st = lc_chat_send(chat, line, (size_t)got, &rep, &err);
        if (st == LC_ERR_TOO_LARGE) { /* the message alone cannot fit: say so, go on */
            fprintf(stdout, "%s[not sent: %s]\n", tty ? "" : "", err.msg);
            if (!tty) fprintf(stdout, "%s\n", delim);
            fflush(stdout);
            continue;
        }
        if (st != LC_OK) {
            rc = cli_fail("chat", &err);
            break;
        }
        fputc('\n', stdout);
        if (rep.stop == LC_CHAT_STOP_CALLBACK && io.stopped_at) {
            if (io.verbose) fprintf(stderr, "[chat] the reply ended at the reverse prompt '%s'\n", io.stopped_at);
        } else if (rep.stop == LC_CHAT_STOP_CALLBACK) fprintf(stderr, "[stopped]\n");
        else if (rep.stop == LC_CHAT_STOP_CONTEXT) fprintf(stderr, "[the context is full: the reply was cut]\n");
        if (io.verbose)
            fprintf(stderr, "[chat] %lld tokens in %.2f s (%.1f tok/s), prompt %lld tokens in %.2f s, stop: %s\n",
                    (long long)rep.n_tokens, rep.t_reply, rep.t_reply > 0 ? (double)rep.n_tokens / rep.t_reply : 0.0,
                    (long long)rep.n_prompt, rep.t_prompt, lc_chat_stop_name(rep.stop));
        if (!tty) fprintf(stdout, "%s\n", delim);
        fflush(stdout);
        transcript_turn(&io, "assistant", rep.text, rep.len);
    }
    sigaction(SIGINT, &old, NULL);
    if (session && chat) {
        if (lc_chat_save(chat, session, &err) != LC_OK) rc = cli_fail("chat", &err);
        else if (io.verbose) fprintf(stderr, "[chat] saved %s\n", session);
    }
done:
    if (io.transcript) fclose(io.transcript);
    cli_stops_free(&io.stops);
    free(line);
    free(sys_text);
    free(jinja);
    lc_chat_free(chat);
    lc_sampler_free(sampler);
    cli_grammar_free(&gr);
    lc_context_free(ctx);
    lc_model_free(m);
    return rc;
}
