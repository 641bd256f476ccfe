/* --grammar-file / --json-schema / --json-object (see grammar_flags.h): the
 * flags pick the GBNF text; lc_grammar_constraint does the rest. */
#include "longctx/util.h"
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grammar_flags.h"

void cli_grammar_init(cli_grammar *c) { memset(c, 0, sizeof *c); }

bool cli_grammar_active(const cli_grammar *c) { return c->grammar_file || c->json_schema || c->json_object; }

/* The GBNF the flags ask for (*text malloc'd); an exit status after a message. */
static int grammar_text(const cli_grammar *c, char **text, size_t *len, const char *cmd) {
    lc_error err;
    const char *sj = c->json_schema ? c->json_schema + strspn(c->json_schema, " \t\n") : NULL;
#if !defined(LC_HAVE_JSON_SCHEMA)
    if (sj) {
        cli_error(cmd, "--json-schema: this longctx was built without cJSON (install libcjson-dev and configure "
                       "again); --grammar-file and --json work");
        return CLI_USAGE;
    }
#endif
    if (c->grammar_file || (sj && *sj != '{')) { /* a file */
        if (lc_read_file(c->grammar_file ? c->grammar_file : c->json_schema, LC_GRAMMAR_MAX_SOURCE, text, len, &err) !=
            LC_OK)
            return cli_error(cmd, "%s", err.msg), CLI_FAIL;
    } else if (!(*text = strdup(sj ? sj : lc_grammar_json_object_gbnf()))) {
        return CLI_FAIL;
    } else {
        *len = strlen(*text);
    }
    if (!sj) return CLI_OK;
#if defined(LC_HAVE_JSON_SCHEMA)
    char *schema = *text;
    const lc_status st = lc_json_schema_to_gbnf(schema, *len, text, &err);
    free(schema);
    if (st != LC_OK) return cli_fail(cmd, &err), CLI_USAGE;
    *len = strlen(*text);
#endif
    return CLI_OK;
}

int cli_grammar_source(const cli_grammar *c, const lc_tokenizer *tok, char **text, size_t *len, const char *cmd) {
    *text = NULL;
    *len = 0;
    if ((c->grammar_file != NULL) + (c->json_schema != NULL) + c->json_object > 1) {
        cli_error(cmd, "give one of --grammar-file, --json-schema and --json");
        return CLI_USAGE;
    }
    if (!tok) {
        cli_error(cmd, "a grammar needs the model's tokenizer (give -z TOKENIZER.bin for a llama2.c model)");
        return CLI_USAGE;
    }
    const int rc = grammar_text(c, text, len, cmd);
    if (rc != CLI_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

int cli_grammar_refused(const cli_grammar *c, lc_status st, const lc_error *err, const char *cmd) {
    if (c->grammar_file) cli_error(cmd, "%s: %s", c->grammar_file, err->msg);
    else cli_fail(cmd, err);
    return st == LC_ERR_NOMEM || st == LC_ERR_IO || st == LC_ERR_INTERNAL ? CLI_FAIL : CLI_USAGE;
}

int cli_grammar_setup(cli_grammar *c, const lc_tokenizer *tok, const int32_t *eog, int32_t n_eog, lc_sampler *sampler,
                      const char *cmd) {
    if (!cli_grammar_active(c)) return CLI_OK;
    char *text = NULL;
    size_t len = 0;
    const int rc = cli_grammar_source(c, tok, &text, &len, cmd);
    if (rc != CLI_OK) return rc;
    lc_error err;
    const lc_status st = lc_grammar_constraint_create(text, len, tok, eog, n_eog, c->steps, sampler, &c->c, &err);
    free(text);
    return st == LC_OK ? CLI_OK : cli_grammar_refused(c, st, &err, cmd);
}

void cli_grammar_free(cli_grammar *c) {
    lc_grammar_constraint_free(c->c);
    c->c = NULL;
}
