/* --grammar-file / --json-schema / --json-object (see grammar_flags.h). */
#include "longctx/util.h"
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grammar_flags.h"

#define GRAMMAR_FILE_MAX ((size_t)LC_GRAMMAR_MAX_SOURCE)

void cli_grammar_init(cli_grammar *c) { memset(c, 0, sizeof *c); }

bool cli_grammar_active(const cli_grammar *c) { return c->grammar_file || c->json_schema || c->json_object; }

/* Reads at most GRAMMAR_FILE_MAX bytes; NULL (after a message) on failure. */
static char *read_all(const char *path, size_t *len, const char *cmd) {
    lc_error err;
    char *buf = NULL;
    if (lc_read_file(path, GRAMMAR_FILE_MAX, &buf, len, &err) != LC_OK) cli_error(cmd, "%s", err.msg);
    return buf;
}

int cli_grammar_setup(cli_grammar *c, const lc_tokenizer *tok, const int32_t *eog, int32_t n_eog, lc_sampler *sampler,
                      const char *cmd) {
    if (!cli_grammar_active(c)) return CLI_OK;
    if ((c->grammar_file != NULL) + (c->json_schema != NULL) + c->json_object > 1) {
        cli_error(cmd, "give one of --grammar-file, --json-schema and --json");
        return CLI_USAGE;
    }
    if (!tok) {
        cli_error(cmd, "a grammar needs the model's tokenizer (give -z TOKENIZER.bin for a llama2.c model)");
        return CLI_USAGE;
    }
    lc_error err;
    char *text = NULL;
    size_t len = 0;
    if (c->grammar_file) {
        if (!(text = read_all(c->grammar_file, &len, cmd))) return CLI_FAIL;
    } else if (c->json_schema) {
#if !defined(LC_HAVE_JSON_SCHEMA)
        cli_error(cmd, "--json-schema: this longctx was built without cJSON (install libcjson-dev and configure "
                       "again); --grammar-file and --json work");
        return CLI_USAGE;
#else
        const char *sj = c->json_schema;
        while (*sj == ' ' || *sj == '\t' || *sj == '\n') sj++;
        char *schema = NULL;
        size_t slen = 0;
        if (*sj == '{') {
            schema = strdup(sj);
            slen = strlen(sj);
        } else if (!(schema = read_all(c->json_schema, &slen, cmd))) {
            return CLI_FAIL;
        }
        if (!schema) return CLI_FAIL;
        lc_status st = lc_json_schema_to_gbnf(schema, slen, &text, &err);
        free(schema);
        if (st != LC_OK) {
            cli_fail(cmd, &err);
            return CLI_USAGE;
        }
        len = strlen(text);
#endif
    } else {
        text = strdup(lc_grammar_json_object_gbnf());
        if (!text) return CLI_FAIL;
        len = strlen(text);
    }
    lc_status st = lc_grammar_parse(text, len, NULL, &c->g, &err);
    free(text);
    if (st != LC_OK) {
        if (c->grammar_file) cli_error(cmd, "%s: %s", c->grammar_file, err.msg);
        else cli_fail(cmd, &err);
        return CLI_USAGE;
    }
    if (lc_grammar_vocab_create(tok, eog, n_eog, &c->v, &err) != LC_OK ||
        lc_grammar_state_create(c->g, c->v, &c->s, &err) != LC_OK ||
        lc_grammar_state_attach(c->s, sampler, &err) != LC_OK) {
        cli_fail(cmd, &err);
        return CLI_FAIL;
    }
    lc_grammar_state_set_budget(c->s, c->steps);
    return CLI_OK;
}

int cli_grammar_restart(cli_grammar *c, const char *cmd) {
    if (!c->s) return CLI_OK;
    lc_error err;
    if (lc_grammar_state_reset(c->s, &err) != LC_OK) {
        cli_fail(cmd, &err);
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_grammar_free(cli_grammar *c) {
    lc_grammar_state_free(c->s);
    lc_grammar_vocab_free(c->v);
    lc_grammar_free(c->g);
    memset(c, 0, sizeof *c);
}
