/*
 * JSON Schema -> GBNF. Each schema node becomes a rule (a $ref target once,
 * so recursive schemas work); objects write their properties in the schema's
 * order, required ones always, optional ones maybe, with the commas right
 * (two rule chains: "first item still to come" and "after an item").
 * An optional part: the library longctx_json_schema, built when CMake finds
 * cJSON; it uses only the public API of the core.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "longctx/grammar.h"

#define MAX_OUT (16u << 20)
#define MAX_DEPTH 64
#define MAX_SCHEMA (8u << 20)
/* Subschemas translated (each a rule, and a linear look-up among those
 * before it for $ref reuse): an anyOf of 200,000 schemas took 16 s before
 * this bound. Properties of one object and names in its 'required' (each
 * name looked up among the properties): 200,000 {} properties took 11 s. */
#define MAX_NODES 20000
#define MAX_PROPERTIES 4096

typedef struct {
    char *s;
    size_t n, cap;
    bool bad; /* out of memory or too large */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->bad) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n + 1) nc *= 2;
        char *ns = nc > MAX_OUT ? NULL : realloc(b->s, nc);
        if (!ns) {
            b->bad = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_fmt(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) b->bad = true;
    else sb_add(b, tmp, (size_t)n);
}

/* s as a GBNF string literal. */
static void sb_literal(sbuf *b, const char *s) {
    sb_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"') sb_str(b, "\\\"");
        else if (*p == '\\') sb_str(b, "\\\\");
        else if (*p < 0x20) sb_fmt(b, "\\x%02X", *p);
        else sb_add(b, (const char *)p, 1);
    }
    sb_str(b, "\"");
}

typedef struct {
    const cJSON *node;
    int id;
} memo;

typedef struct {
    const cJSON *doc;
    sbuf out;
    int n_rules;
    memo *refs;
    int n_refs, cap_refs;
    int depth;
    lc_error *err;
    lc_status st;
} tr;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool tfail(tr *t, lc_status st, const char *fmt, ...) {
    if (t->st != LC_OK) return false;
    char msg[LC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->st = lc_fail(t->err, st, "json schema: %s", msg);
    return false;
}

static const char *const KNOWN[] = {"type", "properties", "required", "additionalProperties", "items", "minItems",
                                    "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "oneOf", "$ref",
                                    "$defs", "definitions", "title", "description", "$schema", "$id", "$comment",
                                    "default", "examples", "deprecated", "readOnly", "writeOnly", NULL};

static int gen(tr *t, const cJSON *s);

/* A rule number for a new rule "s<N>". */
static int new_id(tr *t) { return t->n_rules++; }

static void rule_name(char *buf, size_t cap, int id) { snprintf(buf, cap, "s%d", id); }

static bool get_count(tr *t, const cJSON *s, const char *key, long *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!x) return true;
    /* the range first: (long)1e20 is undefined behaviour */
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble <= LC_GRAMMAR_MAX_REPEAT) ||
        x->valuedouble != (double)(long)x->valuedouble)
        return tfail(t, LC_ERR_UNSUPPORTED, "'%s' must be a whole number from 0 to %d", key, LC_GRAMMAR_MAX_REPEAT);
    *v = (long)x->valuedouble;
    return true;
}

/* body: "x{min,max}" in GBNF, max < 0: unbounded. */
static void sb_repeat(sbuf *b, long min, long max) {
    if (max < 0) sb_fmt(b, "{%ld,}", min);
    else sb_fmt(b, "{%ld,%ld}", min, max);
}

/* A JSON value printed compactly, as a literal. */
static bool sb_json_literal(tr *t, sbuf *b, const cJSON *v) {
    char *txt = cJSON_PrintUnformatted(v);
    if (!txt) return tfail(t, LC_ERR_NOMEM, "out of memory");
    sb_literal(b, txt);
    cJSON_free(txt);
    return true;
}

static bool type_body(tr *t, const cJSON *s, const char *type, sbuf *b);

static bool object_body(tr *t, const cJSON *s, sbuf *b) {
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    if (props && !cJSON_IsObject(props)) return tfail(t, LC_ERR_FORMAT, "'properties' must be an object");
    if (req && !cJSON_IsArray(req)) return tfail(t, LC_ERR_FORMAT, "'required' must be an array");
    if (cJSON_GetArraySize(req) > MAX_PROPERTIES || cJSON_GetArraySize(props) > MAX_PROPERTIES)
        return tfail(t, LC_ERR_TOO_LARGE, "an object with more than %d properties or required names", MAX_PROPERTIES);
    const cJSON *r;
    cJSON_ArrayForEach(r, req) {
        if (!cJSON_IsString(r)) return tfail(t, LC_ERR_FORMAT, "'required' must list strings");
        if (!cJSON_GetObjectItemCaseSensitive(props, r->valuestring))
            return tfail(t, LC_ERR_UNSUPPORTED, "required property '%s' is not in 'properties'", r->valuestring);
    }
    /* extra keys: only when additionalProperties says so (true or a schema);
     * with no properties at all, a bare object takes any member */
    int extra = -1; /* rule id of the extra value, -2: json-value */
    if (ap && cJSON_IsFalse(ap)) extra = -1;
    else if (ap && cJSON_IsTrue(ap)) extra = -2;
    else if (ap && cJSON_IsObject(ap)) {
        if (!(extra = gen(t, ap))) return false;
    } else if (ap) return tfail(t, LC_ERR_FORMAT, "'additionalProperties' must be a boolean or a schema");
    else if (!props) extra = -2;
    const int n = props ? cJSON_GetArraySize(props) : 0;
    int *kv = malloc((size_t)(n ? n : 1) * sizeof *kv);
    bool *required = calloc((size_t)(n ? n : 1), 1);
    if (!kv || !required) {
        free(kv);
        free(required);
        return tfail(t, LC_ERR_NOMEM, "out of memory");
    }
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
        cJSON_ArrayForEach(r, req) required[i] |= strcmp(r->valuestring, p->string) == 0;
        const int v = gen(t, p);
        if (!v) break;
        /* kv_i ::= "\"key\"" ws ":" ws value ws */
        kv[i] = new_id(t);
        cJSON *key = cJSON_CreateString(p->string);
        sbuf line = {0};
        char nm[32], vn[32];
        rule_name(nm, sizeof nm, kv[i]);
        rule_name(vn, sizeof vn, v);
        sb_fmt(&line, "%s ::= ", nm);
        bool ok = key ? sb_json_literal(t, &line, key) : tfail(t, LC_ERR_NOMEM, "out of memory");
        sb_fmt(&line, " json-ws \":\" json-ws %s json-ws\n", vn);
        cJSON_Delete(key);
        if (ok) sb_add(&t->out, line.s ? line.s : "", line.n);
        if (line.bad) t->out.bad = true;
        free(line.s);
        if (!ok) break;
        i++;
    }
    if (t->st != LC_OK) {
        free(kv);
        free(required);
        return false;
    }
    char ex[160] = "";
    if (extra != -1) {
        char vn[32] = "json-value";
        if (extra >= 0) rule_name(vn, sizeof vn, extra);
        snprintf(ex, sizeof ex, "( json-string json-ws \":\" json-ws %s json-ws )", vn);
    }
    /* A_i: items i.. after something was written; F_i: nothing yet */
    const int base = t->n_rules;
    t->n_rules += 2 * (n + 1);
    for (int k = n; k >= 0; k--) {
        char a[32], f[32], an[32], fn[32], kn[32];
        rule_name(a, sizeof a, base + 2 * k);
        rule_name(f, sizeof f, base + 2 * k + 1);
        if (k == n) {
            if (extra != -1) {
                sb_fmt(&t->out, "%s ::= ( \",\" json-ws %s )*\n", a, ex);
                sb_fmt(&t->out, "%s ::= ( %s %s )?\n", f, ex, a);
            } else {
                sb_fmt(&t->out, "%s ::= \"\"\n%s ::= \"\"\n", a, f);
            }
            continue;
        }
        rule_name(an, sizeof an, base + 2 * (k + 1));
        rule_name(fn, sizeof fn, base + 2 * (k + 1) + 1);
        rule_name(kn, sizeof kn, kv[k]);
        if (required[k]) {
            sb_fmt(&t->out, "%s ::= \",\" json-ws %s %s\n", a, kn, an);
            sb_fmt(&t->out, "%s ::= %s %s\n", f, kn, an);
        } else {
            sb_fmt(&t->out, "%s ::= ( \",\" json-ws %s )? %s\n", a, kn, an);
            sb_fmt(&t->out, "%s ::= %s %s | %s\n", f, kn, an, fn);
        }
    }
    char f0[32];
    rule_name(f0, sizeof f0, base + 1);
    sb_fmt(b, "\"{\" json-ws %s \"}\"", f0);
    free(kv);
    free(required);
    return true;
}

static bool array_body(tr *t, const cJSON *s, sbuf *b) {
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    long min = 0, max = -1;
    if (!get_count(t, s, "minItems", &min) || !get_count(t, s, "maxItems", &max)) return false;
    if (max >= 0 && max < min) return tfail(t, LC_ERR_UNSUPPORTED, "maxItems %ld below minItems %ld", max, min);
    char in[32] = "json-value";
    if (items && cJSON_IsArray(items))
        return tfail(t, LC_ERR_UNSUPPORTED, "'items' as a list (tuple validation) is not supported");
    if (items && !cJSON_IsTrue(items)) {
        const int v = gen(t, items);
        if (!v) return false;
        rule_name(in, sizeof in, v);
    }
    if (max == 0) {
        sb_str(b, "\"[\" json-ws \"]\"");
        return true;
    }
    sb_fmt(b, "\"[\" json-ws ( %s json-ws ( \",\" json-ws %s json-ws )", in, in);
    sb_repeat(b, min > 0 ? min - 1 : 0, max < 0 ? -1 : max - 1);
    sb_str(b, min > 0 ? " ) \"]\"" : " )? \"]\"");
    return true;
}

static bool type_body(tr *t, const cJSON *s, const char *type, sbuf *b) {
    if (strcmp(type, "object") == 0) return object_body(t, s, b);
    if (strcmp(type, "array") == 0) return array_body(t, s, b);
    if (strcmp(type, "string") == 0) {
        long min = 0, max = -1;
        if (!get_count(t, s, "minLength", &min) || !get_count(t, s, "maxLength", &max)) return false;
        if (max >= 0 && max < min) return tfail(t, LC_ERR_UNSUPPORTED, "maxLength %ld below minLength %ld", max, min);
        if (min == 0 && max < 0) sb_str(b, "json-string");
        else {
            sb_str(b, "\"\\\"\" json-char");
            sb_repeat(b, min, max);
            sb_str(b, " \"\\\"\"");
        }
        return true;
    }
    if (strcmp(type, "number") == 0) return sb_str(b, "json-number"), true;
    if (strcmp(type, "integer") == 0) return sb_str(b, "json-int"), true;
    if (strcmp(type, "boolean") == 0) return sb_str(b, "( \"true\" | \"false\" )"), true;
    if (strcmp(type, "null") == 0) return sb_str(b, "\"null\""), true;
    return tfail(t, LC_ERR_UNSUPPORTED, "unknown type '%s'", type);
}

static const cJSON *resolve_ref(tr *t, const char *ref) {
    if (strcmp(ref, "#") == 0) return t->doc;
    const char *name = NULL, *section = NULL;
    if (strncmp(ref, "#/$defs/", 8) == 0) section = "$defs", name = ref + 8;
    else if (strncmp(ref, "#/definitions/", 14) == 0) section = "definitions", name = ref + 14;
    if (!name || !*name || strchr(name, '/') || strchr(name, '~')) {
        tfail(t, LC_ERR_UNSUPPORTED, "$ref '%s': only \"#\", \"#/$defs/NAME\" and \"#/definitions/NAME\" are supported",
              ref);
        return NULL;
    }
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(t->doc, section);
    const cJSON *d = defs ? cJSON_GetObjectItemCaseSensitive(defs, name) : NULL;
    if (!d) tfail(t, LC_ERR_FORMAT, "$ref '%s' points at nothing", ref);
    return d;
}

/* The rule for schema s: its number (> 0), 0 on failure. */
static int gen(tr *t, const cJSON *s) {
    if (t->st != LC_OK) return 0;
    for (int i = 0; i < t->n_refs; i++)
        if (t->refs[i].node == s) return t->refs[i].id;
    if (t->depth >= MAX_DEPTH) return tfail(t, LC_ERR_TOO_LARGE, "schema nested deeper than %d", MAX_DEPTH), 0;
    if (t->n_refs >= MAX_NODES) return tfail(t, LC_ERR_TOO_LARGE, "more than %d subschemas", MAX_NODES), 0;
    const int id = new_id(t);
    if (t->n_refs == t->cap_refs) { /* remember every node: a $ref to it reuses the rule */
        const int nc = t->cap_refs ? t->cap_refs * 2 : 16;
        memo *nr = realloc(t->refs, (size_t)nc * sizeof *nr);
        if (!nr) return tfail(t, LC_ERR_NOMEM, "out of memory"), 0;
        t->refs = nr;
        t->cap_refs = nc;
    }
    t->refs[t->n_refs++] = (memo){s, id};
    t->depth++;
    sbuf b = {0};
    char nm[32];
    rule_name(nm, sizeof nm, id);
    if (cJSON_IsTrue(s)) {
        sb_str(&b, "json-value");
    } else if (cJSON_IsFalse(s)) {
        tfail(t, LC_ERR_UNSUPPORTED, "the schema false matches nothing");
    } else if (!cJSON_IsObject(s)) {
        tfail(t, LC_ERR_FORMAT, "a schema must be an object or a boolean");
    } else {
        const cJSON *k;
        cJSON_ArrayForEach(k, s) {
            bool known = false;
            for (int i = 0; KNOWN[i] && !known; i++) known = strcmp(k->string, KNOWN[i]) == 0;
            if (!known) {
                tfail(t, LC_ERR_UNSUPPORTED, "keyword '%s' is not supported (the output could not be guaranteed to satisfy it)",
                      k->string);
                break;
            }
        }
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
        const cJSON *cst = cJSON_GetObjectItemCaseSensitive(s, "const");
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
        const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
        if (!any) any = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
        if (t->st != LC_OK) {
        } else if (ref) {
            const cJSON *target = cJSON_IsString(ref) ? resolve_ref(t, ref->valuestring) : NULL;
            if (!cJSON_IsString(ref)) tfail(t, LC_ERR_FORMAT, "$ref must be a string");
            const int r = target ? gen(t, target) : 0;
            if (r) sb_fmt(&b, "s%d", r);
        } else if (cst) {
            sb_json_literal(t, &b, cst);
        } else if (en) {
            if (!cJSON_IsArray(en) || cJSON_GetArraySize(en) == 0) tfail(t, LC_ERR_FORMAT, "'enum' must be a non-empty array");
            const cJSON *v;
            bool first = true;
            cJSON_ArrayForEach(v, en) {
                if (!first) sb_str(&b, " | ");
                first = false;
                if (!sb_json_literal(t, &b, v)) break;
            }
        } else if (any) {
            if (!cJSON_IsArray(any) || cJSON_GetArraySize(any) == 0)
                tfail(t, LC_ERR_FORMAT, "'anyOf' / 'oneOf' must be a non-empty array");
            const cJSON *v;
            bool first = true;
            cJSON_ArrayForEach(v, any) {
                const int r = gen(t, v);
                if (!r) break;
                sb_fmt(&b, "%ss%d", first ? "" : " | ", r);
                first = false;
            }
        } else if (type) {
            if (cJSON_IsString(type)) {
                type_body(t, s, type->valuestring, &b);
            } else if (cJSON_IsArray(type) && cJSON_GetArraySize(type) > 0) {
                const cJSON *v;
                bool first = true;
                cJSON_ArrayForEach(v, type) {
                    if (!cJSON_IsString(v)) {
                        tfail(t, LC_ERR_FORMAT, "'type' must be a string or a list of strings");
                        break;
                    }
                    sb_str(&b, first ? "( " : " | ( ");
                    first = false;
                    if (!type_body(t, s, v->valuestring, &b)) break;
                    sb_str(&b, " )");
                }
            } else {
                tfail(t, LC_ERR_FORMAT, "'type' must be a string or a non-empty list of strings");
            }
        } else if (cJSON_GetObjectItemCaseSensitive(s, "properties") ||
                   cJSON_GetObjectItemCaseSensitive(s, "additionalProperties") ||
                   cJSON_GetObjectItemCaseSensitive(s, "required")) {
            object_body(t, s, &b);
        } else if (cJSON_GetObjectItemCaseSensitive(s, "items") || cJSON_GetObjectItemCaseSensitive(s, "minItems") ||
                   cJSON_GetObjectItemCaseSensitive(s, "maxItems")) {
            array_body(t, s, &b);
        } else if (cJSON_GetObjectItemCaseSensitive(s, "minLength") || cJSON_GetObjectItemCaseSensitive(s, "maxLength")) {
            type_body(t, s, "string", &b);
        } else {
            sb_str(&b, "json-value");
        }
    }
    t->depth--;
    if (b.bad) tfail(t, LC_ERR_TOO_LARGE, "the grammar would pass %u bytes", MAX_OUT);
    if (t->st == LC_OK) {
        sb_fmt(&t->out, "%s ::= ", nm);
        sb_add(&t->out, b.s ? b.s : "", b.n);
        sb_str(&t->out, "\n");
    }
    free(b.s);
    return t->st == LC_OK ? id : 0;
}

/* Strict UTF-8 (RFC 3629): the offset of the first bad byte, or len. */
static size_t utf8_check(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        const unsigned char b = s[i];
        size_t n;
        uint32_t v, min;
        if (b < 0x80) n = 1, v = b, min = 0;
        else if (b >= 0xC2 && b <= 0xDF) n = 2, v = b & 0x1Fu, min = 0x80;
        else if ((b & 0xF0) == 0xE0) n = 3, v = b & 0x0Fu, min = 0x800;
        else if (b >= 0xF0 && b <= 0xF4) n = 4, v = b & 0x07u, min = 0x10000;
        else return i;
        if (n > len - i) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            v = (v << 6) | (s[i + k] & 0x3Fu);
        }
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

lc_status lc_json_schema_to_gbnf(const char *json, size_t len, char **gbnf, lc_error *err) {
    if (!gbnf || (!json && len)) return lc_fail(err, LC_ERR_INVALID_ARG, "json schema: NULL argument");
    *gbnf = NULL;
    if (len > MAX_SCHEMA) return lc_fail(err, LC_ERR_TOO_LARGE, "json schema: %zu bytes (the limit is %u)", len, MAX_SCHEMA);
    const size_t bad = utf8_check((const unsigned char *)(json ? json : ""), len);
    if (bad < len) return lc_fail(err, LC_ERR_FORMAT, "json schema: not valid UTF-8 (byte %zu)", bad);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json ? json : "", len, &end, false);
    if (!doc) {
        const size_t at = end && json && end >= json ? (size_t)(end - json) : 0;
        return lc_fail(err, LC_ERR_FORMAT, "json schema: not valid JSON (near byte %zu; nesting deeper than %d is refused too)",
                       at, (int)CJSON_NESTING_LIMIT);
    }
    tr t;
    memset(&t, 0, sizeof t);
    t.doc = doc;
    t.err = err;
    t.n_rules = 1; /* rule numbers start at 1: 0 means failure */
    const int root = gen(&t, doc);
    if (root) {
        sb_fmt(&t.out, "root ::= s%d\n", root);
        sb_str(&t.out, strchr(lc_grammar_json_value_gbnf(), '\n') + 1); /* the json-* rules */
        if (t.out.bad) tfail(&t, LC_ERR_TOO_LARGE, "the grammar would pass %u bytes", MAX_OUT);
    }
    cJSON_Delete(doc);
    free(t.refs);
    if (t.st != LC_OK) {
        free(t.out.s);
        return t.st;
    }
    *gbnf = t.out.s;
    return LC_OK;
}
