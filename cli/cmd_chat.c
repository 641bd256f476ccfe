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
#include "longctx/util.h"
#include "grammar_flags.h"
#include "longctx/app.h"
#include "line_input.h"
#include "llama_flags.h"
#include "runtime_flags.h"

#define SYSTEM_FILE_MAX ((size_t)1 << 20)

static const char synopsis[] =
    "usage: longctx chat -m MODEL [options]\n\n"
    "A conversation with a model. On a terminal: type a message, read the reply (line editing and\n"
    "history when built with libedit). Through pipes: one message per line on stdin; each reply on\n"
    "stdout ends with a line holding the delimiter (--delim). Lines starting with / are commands:\n"
    "  /save FILE  /load FILE  /reset  /stats  /help  /quit\n\n"
    "Context: with --kv-policy full (default) a turn that would not fit drops the oldest whole turns\n"
    "(never the system prompt) and re-evaluates the rest; shift:KEEP shifts (KEEP 0: the system\n"
    "prompt's length); sinks:S:W, window:W, h2o:S:R:H stream without dropping turns.\n\n";

static volatile sig_atomic_t interrupted = 0; /* CLI only: set by SIGINT */
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct {
    FILE *transcript;
    bool verbose;
} chat_io;

static bool on_text(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return !interrupted;
}

static void on_note(void *user, const char *note) {
    const chat_io *io = user;
    if (io->verbose) fprintf(stderr, "[chat] %s\n", note);
}

/* The system prompt file without its trailing newlines; NULL after a message. */
static char *read_text_file(const char *path) {
    lc_error err;
    char *buf = NULL;
    size_t size = 0;
    if (lc_read_file(path, SYSTEM_FILE_MAX, &buf, &size, &err) != LC_OK) {
        cli_error("chat", "%s", err.msg);
        return NULL;
    }
    while (size > 0 && (buf[size - 1] == '\n' || buf[size - 1] == '\r')) buf[--size] = '\0';
    return buf;
}

/* What the command line asks for. */
typedef struct {
    cli_runtime_flags rf;
    lc_sampler_params sp;
    int64_t n_predict;
    const char *system, *system_file, *tpl_name, *session, *transcript, *delim;
    lc_chat_template tpl;
    chat_io io;
    cli_stops stops; /* -r */
    cli_grammar gr;
} chat_args;

/* The options' relations once all are parsed: NULL, or what is wrong. */
static const char *args_conflict(chat_args *c, lc_error *err) {
    if (c->n_predict == 0) return "-n 0: a reply needs at least one token (-1: until the end or the context is full)";
    if (c->system && c->system_file) return "give --system or --system-file, not both";
    if (c->tpl_name && !lc_chat_template_parse(c->tpl_name, &c->tpl))
        return "unknown --chat-template (plain, chatml, llama2, mistral, llama3, phi3, gemma, zephyr)";
    if (lc_sampler_params_validate(&c->sp, err) != LC_OK) return err->msg;
    return NULL;
}

/* Parse and check the flags: -1 to go on, else the exit status. */
static int parse_args(chat_args *c, int argc, char **argv) {
    cli_runtime_flags_init(&c->rf);
    lc_sampler_params_init(&c->sp);
    c->n_predict = 256;
    c->delim = "<<<END>>>";
    c->tpl = LC_CHAT_TPL_PLAIN;
    cli_grammar_init(&c->gr);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_MODEL_OPTS(&c->rf),
        CLI_RUNTIME_OPTS(&c->rf),
        CLI_I64("-n|--n-predict", "N", &c->n_predict, -1, LC_CONTEXT_MAX_TOKENS,
                "most tokens per reply (default 256; -1: to the end of the turn)"),
        CLI_STR("-sys|--system|--system-prompt", "TEXT", &c->system, "system prompt (always kept in the context)"),
        CLI_STR("-sysf|--system-file|--system-prompt-file", "PATH", &c->system_file, "system prompt from a file"),
        CLI_FN("-r|--reverse-prompt", "S", cli_opt_stop, &c->stops,
               "end a reply where it contains S (kept in it; repeatable)"),
        CLI_STR("--chat-template", "NAME", &c->tpl_name,
                "plain, chatml, llama2, mistral, llama3, phi3, gemma, zephyr\n"
                "(default: recognised from the GGUF's tokenizer.chat_template, else plain)"),
        CLI_STR("--session|--prompt-cache", "FILE", &c->session,
                "load the conversation from FILE if it exists; save it there at the end"),
        CLI_STR("--transcript", "FILE", &c->transcript, "append every turn to FILE as it happens"),
        CLI_STR("--delim", "TEXT", &c->delim, "end-of-reply line in pipe mode (default <<<END>>>)"),
        CLI_SET("--verbose", &c->io.verbose, "say what context management did (turns dropped, shifts)"),
        CLI_LLAMA_OPTS(&c->rf.co.attn, &c->rf.no_mmap),
        CLI_SECTION("structured output (each reply; the turn ends when the grammar is complete):"),
        CLI_GRAMMAR_OPTS(&c->gr),
        CLI_SET("--json", &c->gr.json_object, "the same as --json-object"),
        CLI_SAMPLER_OPTS(&c->sp),
        CLI_ROPE_OPTS(&c->rf),
    };
    const cli_opt_spec spec = CLI_SPEC("chat", synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    lc_error err;
    const char *conflict = args_conflict(c, &err);
    if (conflict) cli_error("chat", "%s", conflict);
    return conflict ? CLI_USAGE : -1;
}

/* One reply to a message line; false to end the chat (rc set). */
static bool chat_turn(chat_args *c, lc_chat *chat, bool tty, const char *line, size_t len, int *rc) {
    lc_error err;
    lc_chat_reply rep;
    const lc_status st = lc_chat_send(chat, line, len, &rep, &err);
    if (st == LC_ERR_TOO_LARGE) { /* the message alone cannot fit: say so, go on */
        fprintf(stdout, "[not sent: %s]\n", err.msg);
        if (!tty) fprintf(stdout, "%s\n", c->delim);
        fflush(stdout);
        return true;
    }
    if (st != LC_OK) {
        *rc = cli_fail("chat", &err);
        return false;
    }
    fputc('\n', stdout);
    if (rep.stop == LC_CHAT_STOP_STRING) {
        if (c->io.verbose)
            fprintf(stderr, "[chat] the reply ended at the reverse prompt '%s'\n", c->stops.s[rep.stop_index]);
    } else if (rep.stop == LC_CHAT_STOP_CALLBACK) fprintf(stderr, "[stopped]\n");
    else if (rep.stop == LC_CHAT_STOP_CONTEXT) fprintf(stderr, "[the context is full: the reply was cut]\n");
    if (c->io.verbose)
        fprintf(stderr, "[chat] %lld tokens in %.2f s (%.1f tok/s), prompt %lld tokens in %.2f s, stop: %s\n",
                (long long)rep.n_tokens, rep.t_reply, rep.t_reply > 0 ? (double)rep.n_tokens / rep.t_reply : 0.0,
                (long long)rep.n_prompt, rep.t_prompt, lc_chat_stop_name(rep.stop));
    if (!tty) fprintf(stdout, "%s\n", c->delim);
    fflush(stdout);
    return true;
}

/* Lines until /quit, the end of input or Ctrl-C at the prompt. */
static int chat_loop(chat_args *c, lc_chat *chat, cli_line_input *in) {
    int rc = CLI_OK;
    for (;;) {
        if (in->tty) {
            fputc('\n', stdout);
            fflush(stdout);
        }
        interrupted = 0;
        size_t len = 0;
        const char *line = cli_line_input_read(in, &len);
        if (!line) {
            if (in->tty) fputc('\n', stdout);
            return rc;
        }
        if (len == 0) continue;
        if (line[0] == '/') { /* a command: what it says; /quit (or a failed /reset) ends the chat */
            char said[4096];
            bool quit = false;
            lc_error err;
            if (lc_chat_command(chat, line, said, sizeof said, &quit, &err) != LC_OK) rc = cli_fail("chat", &err);
            fputs(said, stdout);
            if (!in->tty) fprintf(stdout, "%s\n", c->delim);
            fflush(stdout);
            if (quit || rc != CLI_OK) return rc;
            continue;
        }
        if (!chat_turn(c, chat, in->tty, line, len, &rc)) return rc;
    }
}

/* Without --chat-template: the model file's template (a known one, or its Jinja text). */
static bool model_template(chat_args *c, char **jinja, size_t *jinja_len) {
    lc_error err;
    bool unknown = false;
    if (lc_chat_template_from_model(c->rf.model_path, &c->tpl, jinja, jinja_len, &unknown, &err) != LC_OK)
        return cli_fail("chat", &err), false;
    if (unknown && !*jinja) cli_error("chat", "note: the model's chat template is not one longctx knows: using plain");
    return true;
}

/* --session: loaded when the file exists. */
static bool open_session(chat_args *c, lc_chat *chat) {
    lc_error err;
    if (!c->session || access(c->session, F_OK) != 0) return true;
    if (lc_chat_load(chat, c->session, &err) != LC_OK) return cli_fail("chat", &err), false;
    if (c->io.verbose) fprintf(stderr, "[chat] loaded %s\n", c->session);
    return true;
}

/* --grammar-file / --json-schema / --json-object: every reply follows it. */
static int chat_grammar(const chat_args *c, lc_chat *chat, const lc_tokenizer *tok) {
    char *text = NULL;
    size_t len = 0;
    lc_error err;
    int rc = cli_grammar_source(&c->gr, tok, &text, &len, "chat");
    const lc_status st = rc == CLI_OK ? lc_chat_set_grammar(chat, text, len, c->gr.steps, &err) : LC_OK;
    if (st != LC_OK) rc = cli_grammar_refused(&c->gr, st, &err, "chat");
    free(text);
    return rc;
}

static int chat_run(chat_args *c) {
    lc_model *m = NULL;
    lc_error err;
    lc_rope_config rope;
    int rc = cli_runtime_load(&c->rf, &m, &rope, "chat");
    if (rc != CLI_OK) return rc;
    cli_runtime_default_ctx(&c->rf, m, "chat");
    lc_chat *chat = NULL;
    char *sys_text = NULL, *jinja = NULL;
    size_t jinja_len = 0;
    rc = CLI_FAIL;
    if (!c->tpl_name && !model_template(c, &jinja, &jinja_len)) goto done;
    if (c->system_file && !(sys_text = read_text_file(c->system_file))) goto done;
    if (c->system) sys_text = strdup(c->system);
    lc_chat_opts co;
    lc_chat_opts_init(&co);
    co.tpl = c->tpl;
    co.system = sys_text;
    co.n_predict = c->n_predict;
    co.on_text = on_text;
    co.on_note = on_note;
    co.note_user = &c->io;
    co.text_user = &c->io;
    co.jinja = jinja;
    co.jinja_len = jinja_len;
    co.stop = c->stops.s;
    co.n_stop = c->stops.n;
    if (c->transcript && !(co.transcript = c->io.transcript = fopen(c->transcript, "a"))) { /* appended to */
        cli_error("chat", "cannot open %s: %s", c->transcript, strerror(errno));
        goto done;
    }
    if (lc_chat_create_for_model(m, &c->rf.co, &c->sp, &co, &chat, &err) != LC_OK) {
        cli_fail("chat", &err);
        goto done;
    }
    if (cli_grammar_active(&c->gr) && (rc = chat_grammar(c, chat, m->tokenizer)) != CLI_OK) goto done;
    rc = CLI_FAIL;
    lc_chat_stats cst;
    lc_chat_get_stats(chat, &cst);
    if (jinja && !cst.jinja)
        cli_error("chat", "note: the model's chat template cannot be used turn by turn%s: using the built-in %s template",
                  c->io.verbose ? "" : " (--verbose says why)", lc_chat_template_name(c->tpl));
    if (!open_session(c, chat)) goto done;
    cli_line_input in;
    cli_line_input_open(&in, "longctx");
    {
        char desc[128], sd[160];
        fprintf(stderr, "longctx chat: %s, template %s, kv %s, %s%s\n", c->rf.model_path,
                cst.jinja ? "jinja (the model's)" : lc_chat_template_name(c->tpl),
                lc_context_kv_describe(lc_chat_context(chat), desc, sizeof desc),
                lc_sampler_describe(&c->sp, sd, sizeof sd),
                in.tty ? "\n(/help for commands, Ctrl-C stops a reply, /quit or Ctrl-D ends)" : "");
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: Ctrl-C at the prompt ends the read */
    sigaction(SIGINT, &sa, &old);
    rc = chat_loop(c, chat, &in);
    sigaction(SIGINT, &old, NULL);
    cli_line_input_close(&in);
    if (c->session && chat) {
        if (lc_chat_save(chat, c->session, &err) != LC_OK) rc = cli_fail("chat", &err);
        else if (c->io.verbose) fprintf(stderr, "[chat] saved %s\n", c->session);
    }
done:
    free(sys_text);
    free(jinja);
    lc_chat_free(chat); /* its grammar, sampler and context */
    if (c->io.transcript) fclose(c->io.transcript);
    lc_model_free(m);
    return rc;
}

int cmd_chat(int argc, char **argv) {
    chat_args c;
    memset(&c, 0, sizeof c);
    const int rc = parse_args(&c, argc, argv);
    return rc >= 0 ? rc : chat_run(&c);
}
