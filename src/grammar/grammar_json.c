/*
 * GBNF for JSON (RFC 8259): any object (response_format json_object), any
 * value, and the shared rules the JSON Schema translator builds on. Strings
 * hold no control characters and no \u escape of a UTF-16 surrogate (a lone
 * surrogate is refused by strict JSON readers), so every sentence parses.
 * Whitespace between tokens is one space or one newline and at most 20
 * spaces or tabs of indentation, and numbers have at most 16 digits before
 * and after the point and 3 in the exponent (as llama.cpp's translator), so
 * a model cannot spend its budget on blank space or endless digits.
 */
#include "longctx/grammar.h"

#define JSON_RULES                                                                                        \
    "json-value ::= json-object | json-array | json-string | json-number | \"true\" | \"false\" | \"null\"\n" \
    "json-object ::= \"{\" json-ws ( json-member ( \",\" json-ws json-member )* )? \"}\"\n"                 \
    "json-member ::= json-string json-ws \":\" json-ws json-value json-ws\n"                              \
    "json-array ::= \"[\" json-ws ( json-value json-ws ( \",\" json-ws json-value json-ws )* )? \"]\"\n"    \
    "json-string ::= \"\\\"\" json-char* \"\\\"\"\n"                                                       \
    "json-char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" json-u4 )\n"                   \
    "json-u4 ::= ( [0-9a-cA-CeEfF] json-hex json-hex | [dD] [0-7] json-hex ) json-hex\n"                   \
    "json-hex ::= [0-9a-fA-F]\n"                                                                         \
    "json-int ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} )\n"                                                 \
    "json-number ::= json-int ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?\n"                         \
    "json-ws ::= ( \" \" | \"\\n\" [ \\t]{0,20} )?\n"

const char *lc_grammar_json_object_gbnf(void) { return "root ::= json-object\n" JSON_RULES; }

const char *lc_grammar_json_value_gbnf(void) { return "root ::= json-value\n" JSON_RULES; }
