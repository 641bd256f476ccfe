/*
 * -r / --reverse-prompt (llama.cpp's name) for run and chat: stop strings
 * matched against the generated text as it streams, across the pieces it
 * comes in. Memory is bounded: only the last (longest string - 1) bytes are
 * kept between pieces.
 */
#ifndef LC_CLI_REVERSE_PROMPT_H
#define LC_CLI_REVERSE_PROMPT_H

#include "cli.h"

#define CLI_MAX_STOPS 16
#define CLI_MAX_STOP_BYTES 256

typedef struct {
    const char *s[CLI_MAX_STOPS]; /* borrowed (argv) */
    int n;
    size_t longest;
    char *buf; /* the kept tail, then the piece */
    size_t len, cap;
} cli_stops;

void cli_stops_init(cli_stops *st);
void cli_stops_free(cli_stops *st);
/* Add flag's value; false after a message (empty, too long, too many). */
bool cli_stops_add(cli_stops *st, const char *cmd, const char *flag, const char *v);
/* Forget the text seen so far (a new reply). */
void cli_stops_reset(cli_stops *st);
/* Feed the next piece of text; the string it completes (the first given
 * when several do), else NULL. *oom is set when memory ran out. */
const char *cli_stops_feed(cli_stops *st, const char *piece, size_t n, bool *oom);

#endif
