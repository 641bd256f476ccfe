/* --grammar-file / --json-schema / --json-object (chat: --json too) for run and chat: parse the flags,
 * build the grammar over the model's vocabulary and attach it to a sampler. */
#ifndef LC_CLI_GRAMMAR_FLAGS_H
#define LC_CLI_GRAMMAR_FLAGS_H

#include "opt.h"
#include "longctx/grammar.h"
#include "longctx/sample.h"
#include "longctx/tokenizer.h"

typedef struct {
    const char *grammar_file; /* --grammar-file FILE         */
    const char *json_schema;  /* --json-schema FILE|JSON     */
    bool json_object;         /* --json-object: any object   */
    int64_t steps;            /* --grammar-steps N: parse steps per token (0: no limit) */
    lc_grammar_constraint *c; /* attached to the sampler: free it first */
} cli_grammar;

void cli_grammar_init(cli_grammar *c);
/* The entries (opt.h). */
#define CLI_GRAMMAR_OPTS(c)                                                                                            \
    CLI_STR("--grammar-file", "FILE", &(c)->grammar_file,                                                              \
            "constrain the output to a GBNF grammar (llama.cpp's syntax; docs/grammar.md)"),                           \
        CLI_STR("--json-schema", "S", &(c)->json_schema,                                                               \
                "constrain the output to JSON valid for a JSON Schema: a file, or the\n"                               \
                "schema's text when S starts with '{' (needs a build with cJSON)"),                                    \
        CLI_SET("--json-object", &(c)->json_object, "constrain the output to a JSON object (any)"),                 \
        CLI_GRAMMAR_STEPS_OPT(&(c)->steps, "0: no limit (the default here)")
/* --grammar-steps N into *dst (int64_t); dflt_: the help's words on 0 and the default. */
#define CLI_GRAMMAR_STEPS_OPT(dst, dflt_)                                                                              \
    CLI_I64("--grammar-steps", "N", (dst), 0, (int64_t)1 << 50,                                                        \
            "parse steps the grammar may spend on one token (about 2e7 a second);\n"                                   \
            "past it generation fails, saying so; " dflt_)
bool cli_grammar_active(const cli_grammar *c);
/* Build the grammar (when a flag asked for one) over tok and attach it to
 * sampler; eog: the tokens that end generation (NULL, 0: the tokenizer's
 * EOS). Returns CLI_OK or an exit code after a message. */
int cli_grammar_setup(cli_grammar *c, const lc_tokenizer *tok, const int32_t *eog, int32_t n_eog, lc_sampler *sampler,
                      const char *cmd);
/* The parts of cli_grammar_setup, for chat (lc_chat_set_grammar): the GBNF
 * text the flags ask for (*text malloc'd; CLI_OK or an exit status after a
 * message), and the exit status of a grammar the library refused (after the
 * message). */
int cli_grammar_source(const cli_grammar *c, const lc_tokenizer *tok, char **text, size_t *len, const char *cmd);
int cli_grammar_refused(const cli_grammar *c, lc_status st, const lc_error *err, const char *cmd);
/* Detaches from the sampler: before the sampler is freed. */
void cli_grammar_free(cli_grammar *c);

#endif
