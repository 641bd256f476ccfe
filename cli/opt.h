/*
 * Options declared once, in a table per command, from which both parsing and
 * --help are made (so the usage text cannot drift from the parser).
 *
 * An entry names the option ("-c|--ctx-size|--ctx": every spelling it takes,
 * the first ones shown first), the value's name in the help ("N"; NULL: no
 * value), one help text ('\n' starts a continuation line), and where the
 * value goes. Numbers are bounded and checked as lc_parse_i64_in and
 * lc_parse_double_in do (K/M/G suffixes, nothing after, inside [lo, hi]);
 * a value that is missing, malformed or out of range is ONE line naming the
 * option and what it takes, and a usage error (exit 2). "--name=value" works
 * for every "--" spelling. An unknown option is one line with the nearest
 * option of the table ("did you mean").
 *
 *   int64_t n = 128; bool json = false;
 *   const cli_opt opts[] = {
 *       CLI_SECTION("options:"),
 *       CLI_I64("-n|--n-predict", "N", &n, -1, LC_CONTEXT_MAX_TOKENS, "tokens to generate"),
 *       CLI_SET("--json", &json, "print one JSON object"),
 *   };
 *   const cli_opt_spec spec = CLI_SPEC("run", "usage: longctx run [options]\n\n", NULL, opts);
 *   const int rc = cli_opt_parse(&spec, argc, argv, 1);
 *   if (rc >= 0) return rc; // --help (CLI_OK) or a usage error (CLI_USAGE)
 *
 * Every table also takes -h/--help and --list-options (every spelling the
 * table parses, one per line: for scripts, shell completion and the test
 * that --help lists them all, tests/cli/options.sh).
 */
#ifndef LC_CLI_OPT_H
#define LC_CLI_OPT_H

#include <stddef.h>

#include "cli.h"

typedef enum {
    CLI_OPT_SECTION, /* help only: a heading ("sampling:")                     */
    CLI_OPT_TEXT,    /* help only: lines printed as they are                   */
    CLI_OPT_SET,     /* no value: *(bool *)dst = lo != 0                        */
    CLI_OPT_STR,     /* *(const char **)dst = the value (argv's, not copied)   */
    CLI_OPT_I64,     /* *(int64_t *)dst, an integer in [lo, hi]                */
    CLI_OPT_INT,     /* *(int *)dst, an integer in [lo, hi] (inside int32)     */
    CLI_OPT_DOUBLE,  /* *(double *)dst, a finite real in [dlo, dhi]            */
    CLI_OPT_FLOAT,   /* *(float *)dst, likewise                                */
    CLI_OPT_I64_LIST,/* (int64_t *)dst: "1K,4K" -> at most hi entries >= lo, *count */
    CLI_OPT_FN,      /* fn(entry, name, value, cmd); value NULL when meta is NULL */
    CLI_OPT_SWITCH,  /* fn with an optional on|off|auto (or 1|0) value; "on" when none */
    CLI_OPT_FAMILY,  /* any name match() takes, with a value: fn; help: a block */
    CLI_OPT_STR_OPT, /* *(const char **)dst = the value, which is optional: "--json=F",
                        "--json F" when F does not start with '-', else dflt */
} cli_opt_kind;

typedef struct cli_opt cli_opt;
/* false after printing one line (cli_error) saying what is wrong: a usage error. */
typedef bool (*cli_opt_fn)(const cli_opt *o, const char *name, const char *value, const char *cmd);

struct cli_opt {
    cli_opt_kind kind;
    const char *names; /* "-c|--ctx-size|--ctx"                      */
    const char *meta;  /* "N"; NULL: takes no value                  */
    const char *help;
    void *dst;
    int64_t lo, hi;    /* integers; SET: the value (0 or 1); lists: lo and the count's cap */
    double dlo, dhi;   /* reals                                       */
    int *count;        /* lists: entries parsed                       */
    int64_t list_lo;   /* lists: the least entry                      */
    cli_opt_fn fn;
    bool (*match)(const char *name); /* FAMILY                        */
    bool *given;       /* when not NULL: set once the option is taken */
    const char *dflt;  /* STR_OPT: the value when none is given   */
};

#define CLI_SECTION(title) {.kind = CLI_OPT_SECTION, .help = (title)}
#define CLI_TEXT(text) {.kind = CLI_OPT_TEXT, .help = (text)}
#define CLI_SET(names_, dst_, help_) {.kind = CLI_OPT_SET, .names = (names_), .help = (help_), .dst = (dst_), .lo = 1}
#define CLI_CLEAR(names_, dst_, help_) {.kind = CLI_OPT_SET, .names = (names_), .help = (help_), .dst = (dst_), .lo = 0}
#define CLI_STR(names_, meta_, dst_, help_)                                                                            \
    {.kind = CLI_OPT_STR, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_)}
#define CLI_I64(names_, meta_, dst_, lo_, hi_, help_)                                                                  \
    {.kind = CLI_OPT_I64, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .lo = (lo_), .hi = (hi_)}
#define CLI_INT(names_, meta_, dst_, lo_, hi_, help_)                                                                  \
    {.kind = CLI_OPT_INT, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .lo = (lo_), .hi = (hi_)}
#define CLI_DOUBLE(names_, meta_, dst_, lo_, hi_, help_)                                                               \
    {.kind = CLI_OPT_DOUBLE, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .dlo = (lo_),         \
     .dhi = (hi_)}
#define CLI_FLOAT(names_, meta_, dst_, lo_, hi_, help_)                                                                \
    {.kind = CLI_OPT_FLOAT, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .dlo = (lo_),          \
     .dhi = (hi_)}
/* max entries into dst (an int64_t array), each at least least_, *count_ of them */
#define CLI_I64_LIST(names_, meta_, dst_, count_, max_, least_, help_)                                                 \
    {.kind = CLI_OPT_I64_LIST, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .hi = (max_),       \
     .count = (count_), .list_lo = (least_)}
/* --json for the commands that print one JSON object on stdout instead of their text. */
#define CLI_JSON_STDOUT(dst_) CLI_SET("--json", (dst_), "one JSON object on stdout")
#define CLI_STR_OPT(names_, meta_, dst_, dflt_, help_)                                                                \
    {.kind = CLI_OPT_STR_OPT, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .dflt = (dflt_)}
#define CLI_FN(names_, meta_, fn_, dst_, help_)                                                                        \
    {.kind = CLI_OPT_FN, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .fn = (fn_)}
#define CLI_SWITCH(names_, fn_, dst_, help_)                                                                           \
    {.kind = CLI_OPT_SWITCH, .names = (names_), .meta = "[on|off|auto]", .help = (help_), .dst = (dst_), .fn = (fn_)}
#define CLI_FAMILY(match_, fn_, dst_, help_block)                                                                      \
    {.kind = CLI_OPT_FAMILY, .help = (help_block), .dst = (dst_), .fn = (fn_), .match = (match_)}

typedef struct {
    const char *cmd;      /* "run", "bench model": messages start "longctx CMD: " */
    const char *synopsis; /* help before the options ("usage: longctx run -m MODEL [options]\n\n...") */
    const char *epilog;   /* help after them (examples), or NULL */
    const cli_opt *opts;
    size_t n_opts;
    /* Arguments that are not options: at most max_pos into pos[] (*n_pos of
     * them); with max_pos 0 any is "an unexpected argument". */
    const char **pos;
    int max_pos;
    int *n_pos;
} cli_opt_spec;

#define CLI_OPTS(a) (a), (sizeof(a) / sizeof((a)[0]))
#define CLI_SPEC(cmd_, synopsis_, epilog_, opts_)                                                                      \
    {.cmd = (cmd_), .synopsis = (synopsis_), .epilog = (epilog_), .opts = (opts_),                                     \
     .n_opts = sizeof(opts_) / sizeof((opts_)[0])}
/* ... taking up to max_ arguments that are not options into pos_[], *n_pos_ of them */
#define CLI_SPEC_POS(cmd_, synopsis_, epilog_, opts_, pos_, max_, n_pos_)                                              \
    {.cmd = (cmd_), .synopsis = (synopsis_), .epilog = (epilog_), .opts = (opts_),                                     \
     .n_opts = sizeof(opts_) / sizeof((opts_)[0]), .pos = (pos_), .max_pos = (max_), .n_pos = (n_pos_)}

/* Parse argv[first..argc-1] in order. Returns -1 when every argument was
 * taken (go on), CLI_OK after printing --help or --list-options on stdout,
 * CLI_USAGE after a one-line message. */
int cli_opt_parse(const cli_opt_spec *s, int argc, char **argv, int first);
/* The help: synopsis, the options table by table, epilog. */
void cli_opt_help(const cli_opt_spec *s, FILE *f);
/* Every spelling the table parses, one per line (families: those their
 * help block names). */
void cli_opt_list(const cli_opt_spec *s, FILE *f);

/* A CLI_FN parser: an integer in [o->lo, o->hi] into a uint64_t (seeds). */
bool cli_opt_u64(const cli_opt *o, const char *name, const char *v, const char *cmd);
#define CLI_U64(names_, meta_, dst_, lo_, hi_, help_)                                                                  \
    {.kind = CLI_OPT_FN, .names = (names_), .meta = (meta_), .help = (help_), .dst = (dst_), .fn = cli_opt_u64,        \
     .lo = (lo_), .hi = (hi_)}


#endif
