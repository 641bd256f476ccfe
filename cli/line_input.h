/*
 * Lines from the user for longctx chat: on a terminal, with line editing and
 * history (libedit, when the build found it: LC_HAVE_LIBEDIT); otherwise, and
 * always when stdin is not a terminal (pipes, tests), plain getline.
 */
#ifndef LC_CLI_LINE_INPUT_H
#define LC_CLI_LINE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool tty;     /* stdin and stdout are terminals: prompt, and edit when built with libedit */
    char *line;   /* the last line (owned)                      */
    size_t cap;
    void *el;     /* EditLine * (libedit)                        */
    void *hist;   /* History *                                   */
} cli_line_input;

void cli_line_input_open(cli_line_input *in, const char *prog);
/* The next line, without its line end and with control characters (escape
 * sequences of keys a terminal without editing passes through, such as the
 * arrows) taken out; NULL at the end of input or on Ctrl-C at the prompt.
 * *len: its length. Non-empty lines go into the history. */
char *cli_line_input_read(cli_line_input *in, size_t *len);
void cli_line_input_close(cli_line_input *in);

#endif
