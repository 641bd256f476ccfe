/* Lines from the user: libedit on a terminal when built with it, else getline (line_input.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line_input.h"
#include "longctx/text.h"

#ifdef LC_HAVE_LIBEDIT
#include <histedit.h>

#define HISTORY_LINES 1000

static char *prompt(EditLine *el) {
    (void)el;
    return (char *)"> ";
}
#endif

void cli_line_input_open(cli_line_input *in, const char *prog) {
    memset(in, 0, sizeof *in);
    in->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
#ifdef LC_HAVE_LIBEDIT
    if (!in->tty) return;
    EditLine *el = el_init(prog, stdin, stdout, stderr);
    History *h = history_init();
    if (!el || !h) { /* plain reading then */
        if (el) el_end(el);
        if (h) history_end(h);
        return;
    }
    HistEvent ev;
    history(h, &ev, H_SETSIZE, HISTORY_LINES);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_PROMPT, prompt);
    el_set(el, EL_HIST, history, h);
    el_source(el, NULL); /* the user's ~/.editrc, if any */
    in->el = el;
    in->hist = h;
#else
    (void)prog;
#endif
}

#ifdef LC_HAVE_LIBEDIT
/* The line el_gets returned, copied into in->line (libedit owns its buffer). */
static bool keep(cli_line_input *in, const char *text, size_t n) {
    if (n + 1 > in->cap) {
        char *l = realloc(in->line, n + 1);
        if (!l) return false;
        in->line = l;
        in->cap = n + 1;
    }
    memcpy(in->line, text, n);
    in->line[n] = '\0';
    return true;
}
#endif

char *cli_line_input_read(cli_line_input *in, size_t *len) {
    ssize_t got;
#ifdef LC_HAVE_LIBEDIT
    if (in->el) {
        int count = 0;
        const char *l = el_gets(in->el, &count);
        if (!l || count <= 0 || !keep(in, l, (size_t)count)) return NULL;
        got = count;
    } else
#endif
    {
        if (in->tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        errno = 0;
        got = getline(&in->line, &in->cap, stdin);
        if (got < 0) return NULL; /* end of input, or Ctrl-C at the prompt */
    }
    *len = lc_text_strip_controls(in->line, (size_t)got);
#ifdef LC_HAVE_LIBEDIT
    if (in->hist && *len > 0) {
        HistEvent ev;
        history(in->hist, &ev, H_ENTER, in->line);
    }
#endif
    return in->line;
}

void cli_line_input_close(cli_line_input *in) {
#ifdef LC_HAVE_LIBEDIT
    if (in->el) el_end(in->el);
    if (in->hist) history_end(in->hist);
#endif
    free(in->line);
    memset(in, 0, sizeof *in);
}
