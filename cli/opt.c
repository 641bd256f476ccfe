/* Options declared once per command: parsing and --help from one table (opt.h). */
#include <stdlib.h>
#include <string.h>

#include "opt.h"

#define HELP_COLUMN 25
#define NAME_CAP 64

static const char *switch_word(const char *v) {
    if (strcmp(v, "on") == 0 || strcmp(v, "1") == 0) return "on";
    if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) return "off";
    return strcmp(v, "auto") == 0 ? "auto" : NULL;
}

bool cli_opt_u64(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    int64_t x;
    if (!cli_int_flag(cmd, name, v, o->lo, o->hi, &x)) return false;
    *(uint64_t *)o->dst = (uint64_t)x;
    return true;
}

/* Whether the '|'-separated list names holds the name n (len bytes). */
static bool names_have(const char *names, const char *n, size_t len) {
    for (const char *p = names; p && *p;) {
        const size_t l = strcspn(p, "|");
        if (l == len && strncmp(p, n, len) == 0) return true;
        p += l + (p[l] == '|');
    }
    return false;
}

static bool has_value(const cli_opt *o) { return o->kind != CLI_OPT_SET && (o->kind != CLI_OPT_FN || o->meta); }

/* The entry taking the option name n (len bytes), or NULL. */
static const cli_opt *find(const cli_opt_spec *s, const char *n, size_t len) {
    char name[NAME_CAP];
    for (size_t k = 0; k < s->n_opts; k++) {
        const cli_opt *o = &s->opts[k];
        if (o->kind == CLI_OPT_FAMILY) {
            if (len >= sizeof name) continue;
            memcpy(name, n, len);
            name[len] = '\0';
            if (o->match(name)) return o;
        } else if (o->names && names_have(o->names, n, len)) {
            return o;
        }
    }
    return NULL;
}

static bool value_error(const char *cmd, const char *name, const char *v, const cli_opt *o) {
    switch (o->kind) {
    case CLI_OPT_I64:
    case CLI_OPT_INT:
        cli_error(cmd, "%s: '%s' is not an integer in %lld..%lld", name, v, (long long)o->lo, (long long)o->hi);
        break;
    case CLI_OPT_DOUBLE:
    case CLI_OPT_FLOAT: cli_error(cmd, "%s: '%s' is not a number in %g..%g", name, v, o->dlo, o->dhi); break;
    default:
        cli_error(cmd, "%s: '%s' is not a comma-separated list of at most %lld integers, each at least %lld", name, v,
                  (long long)o->hi, (long long)o->list_lo);
    }
    return false;
}

static bool parse_list(const cli_opt *o, const char *v) {
    int n = 0;
    int64_t tmp[256];
    if (o->hi < 1 || o->hi > (int64_t)(sizeof tmp / sizeof tmp[0])) return false;
    if (!cli_parse_i64_list(v, tmp, (int)o->hi, &n)) return false;
    for (int k = 0; k < n; k++)
        if (tmp[k] < o->list_lo) return false;
    memcpy(o->dst, tmp, (size_t)n * sizeof tmp[0]);
    *o->count = n;
    return true;
}

/* Store value v (NULL for SET and value-less FN) of the option typed as name. */
static bool store(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    int64_t i;
    double d;
    switch (o->kind) {
    case CLI_OPT_SET: *(bool *)o->dst = o->lo != 0; return true;
    case CLI_OPT_STR: *(const char **)o->dst = v; return true;
    case CLI_OPT_I64:
        if (!lc_parse_i64_in(v, o->lo, o->hi, &i)) return value_error(cmd, name, v, o);
        *(int64_t *)o->dst = i;
        return true;
    case CLI_OPT_INT:
        if (!lc_parse_i64_in(v, o->lo, o->hi, &i) || i < INT32_MIN || i > INT32_MAX)
            return value_error(cmd, name, v, o);
        *(int *)o->dst = (int)i;
        return true;
    case CLI_OPT_DOUBLE:
    case CLI_OPT_FLOAT:
        if (!lc_parse_double_in(v, o->dlo, o->dhi, &d)) return value_error(cmd, name, v, o);
        if (o->kind == CLI_OPT_DOUBLE) *(double *)o->dst = d;
        else *(float *)o->dst = (float)d;
        return true;
    case CLI_OPT_I64_LIST: return parse_list(o, v) || value_error(cmd, name, v, o);
    case CLI_OPT_FN:
    case CLI_OPT_SWITCH:
    case CLI_OPT_FAMILY: return o->fn(o, name, v, cmd);
    default: return false;
    }
}

/* Take the option at argv[*i] (entry o, name n of len bytes), advancing *i
 * past its value. */
static bool take(const cli_opt_spec *s, const cli_opt *o, int argc, char **argv, int *i, size_t len) {
    const char *a = argv[*i], *eq = a[len] == '=' ? a + len + 1 : NULL;
    char name[NAME_CAP];
    snprintf(name, sizeof name, "%.*s", (int)len, a);
    if (o->kind == CLI_OPT_SWITCH) {
        const char *w = eq ? switch_word(eq) : *i + 1 < argc ? switch_word(argv[*i + 1]) : NULL;
        if (eq && !w) {
            cli_error(s->cmd, "%s: '%s' is not on, off or auto", name, eq);
            return false;
        }
        if (!eq && w) ++*i;
        return o->fn(o, name, w ? w : "on", s->cmd);
    }
    if (o->kind == CLI_OPT_STR_OPT) {
        const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
        *(const char **)o->dst = eq ? eq : next && next[0] != '-' ? argv[++*i] : o->dflt;
        return true;
    }
    if (!has_value(o)) {
        if (eq) cli_error(s->cmd, "%s takes no value", name);
        return !eq && store(o, name, NULL, s->cmd);
    }
    const char *v = eq;
    if (!v) {
        if (*i + 1 >= argc) {
            cli_error(s->cmd, "option %s needs a value", name);
            return false;
        }
        v = argv[++*i];
    }
    return store(o, name, v, s->cmd);
}

#define MAX_NAMES 1024

/* An argument the table does not take: ONE line, "unknown option '--tmep'
 * (did you mean --temp?)" naming the nearest of the names the table parses
 * (lc_nearest_word: close enough to be a typo), else pointing at --help; a
 * word that is not a flag is "an unexpected argument". CLI_USAGE. */
static int unknown(const cli_opt_spec *s, const char *arg) {
    if (arg[0] != '-' || arg[1] == '\0') {
        cli_error(s->cmd, "unexpected argument '%s' (longctx %s --help lists the options)", arg, s->cmd);
        return CLI_USAGE;
    }
    const int lw = (int)strcspn(arg, "="); /* --tmep=0.5: the name */
    char name[NAME_CAP], *list = NULL;
    size_t list_len = 0;
    snprintf(name, sizeof name, "%.*s", lw, arg);
    const char *names[MAX_NAMES];
    int n = 0;
    FILE *f = open_memstream(&list, &list_len);
    if (f) cli_opt_list(s, f);
    if (f && fclose(f) == 0 && list)
        for (char *p = list; *p && n < MAX_NAMES;) { /* the lines, cut in place */
            names[n++] = p;
            p += strcspn(p, "\n");
            if (*p) *p++ = '\0';
        }
    const char *near = lc_nearest_word(name, names, n);
    if (near) cli_error(s->cmd, "unknown option '%.*s' (did you mean %s?)", lw, arg, near);
    else cli_error(s->cmd, "unknown option '%.*s' (longctx %s --help lists the options)", lw, arg, s->cmd);
    free(list);
    return CLI_USAGE;
}

int cli_opt_parse(const cli_opt_spec *s, int argc, char **argv, int first) {
    if (s->n_pos) *s->n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') { /* an argument, or "-" (stdin) */
            if (!s->n_pos || *s->n_pos >= s->max_pos) return unknown(s, a);
            s->pos[(*s->n_pos)++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_opt_help(s, stdout);
            return CLI_OK;
        }
        if (strcmp(a, "--list-options") == 0) {
            cli_opt_list(s, stdout);
            return CLI_OK;
        }
        const size_t len = a[1] == '-' ? strcspn(a, "=") : strlen(a);
        const cli_opt *o = find(s, a, len);
        if (!o) return unknown(s, a);
        if (!take(s, o, argc, argv, &i, len)) return CLI_USAGE;
        if (o->given) *o->given = true;
    }
    return -1;
}

/* ---- help ------------------------------------------------------------------ */

static void print_entry(const cli_opt *o, FILE *f) {
    int col = fprintf(f, "  ");
    for (const char *p = o->names; *p;) {
        const size_t l = strcspn(p, "|");
        col += fprintf(f, "%s%.*s", p == o->names ? "" : ", ", (int)l, p);
        p += l + (p[l] == '|');
    }
    if (o->meta) col += fprintf(f, " %s", o->meta);
    if (col < HELP_COLUMN) fprintf(f, "%*s", HELP_COLUMN - col, "");
    else if (col == HELP_COLUMN) fputc(' ', f); /* "  -ctk, --cache-type-k T KV ..." */
    else fprintf(f, "\n%*s", HELP_COLUMN, "");
    for (const char *h = o->help ? o->help : ""; *h;) {
        const size_t l = strcspn(h, "\n");
        fprintf(f, "%.*s\n", (int)l, h);
        h += l;
        if (*h == '\n' && *++h) fprintf(f, "%*s", HELP_COLUMN, "");
    }
    if (!o->help || !*o->help) fputc('\n', f);
}

void cli_opt_help(const cli_opt_spec *s, FILE *f) {
    fputs(s->synopsis ? s->synopsis : "", f);
    bool any = false;
    for (size_t k = 0; k < s->n_opts; k++) {
        const cli_opt *o = &s->opts[k];
        if (o->kind == CLI_OPT_SECTION) fprintf(f, "%s%s\n", any ? "\n" : "", o->help);
        else if (o->kind == CLI_OPT_TEXT || o->kind == CLI_OPT_FAMILY) fputs(o->help, f);
        else print_entry(o, f);
        any = true;
    }
    fprintf(f, "%s  -h, --help             this help\n  --list-options         every option's name, one per line\n",
            any ? "" : "options:\n");
    if (s->epilog) fprintf(f, "\n%s", s->epilog);
}

static bool flag_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The names a family's help block shows that the family takes. */
static void list_family(const cli_opt *o, FILE *f) {
    char name[NAME_CAP];
    for (const char *p = o->help; *p; p++) {
        if (*p != '-' || (p > o->help && !strchr(" \n(,|[", p[-1]))) continue;
        const char *q = p + 1;
        while (flag_char(*q)) q++;
        const size_t len = (size_t)(q - p);
        if (len >= 2 && len < sizeof name && p[1] != ' ') {
            memcpy(name, p, len);
            name[len] = '\0';
            if (o->match(name)) fprintf(f, "%s\n", name);
        }
        p = q - 1;
    }
}

void cli_opt_list(const cli_opt_spec *s, FILE *f) {
    for (size_t k = 0; k < s->n_opts; k++) {
        const cli_opt *o = &s->opts[k];
        if (o->kind == CLI_OPT_FAMILY) list_family(o, f);
        for (const char *p = o->kind == CLI_OPT_FAMILY ? NULL : o->names; p && *p;) {
            const size_t l = strcspn(p, "|");
            fprintf(f, "%.*s\n", (int)l, p);
            p += l + (p[l] == '|');
        }
    }
    fprintf(f, "-h\n--help\n--list-options\n");
}
