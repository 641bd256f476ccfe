/* The summary of a model file that `longctx info` prints (model_info.h): as
 * aligned "name  value" lines or as one JSON object, and a GGUF's metadata
 * keys for files that are not models longctx loads. */
#include <stdio.h>
#include <string.h>

#include "longctx/model_info.h"
#include "longctx/util.h"

#define LABEL "%-14s" /* the width of the line names */

/* ---- GGUF metadata ------------------------------------------------------------ */

/* A string value between quotes, escaped and cut to max bytes. */
static void print_escaped(FILE *f, const char *s, size_t len, size_t max) {
    fputc('\'', f);
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\'' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 32 || c == 127) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('\'', f);
    if (len > max) fprintf(f, "... (%zu bytes)", len);
}

static void print_scalar(FILE *f, const lc_gguf *g, const char *key, lc_gguf_type t) {
    lc_error err;
    if (t == LC_GGUF_STRING) {
        const char *s;
        size_t len;
        if (lc_gguf_get_str(g, key, &s, &len, &err) == LC_OK) print_escaped(f, s, len, 60);
    } else if (t == LC_GGUF_FLOAT32 || t == LC_GGUF_FLOAT64) {
        double d;
        if (lc_gguf_get_f64(g, key, &d, &err) == LC_OK) fprintf(f, "%g", d);
    } else if (t == LC_GGUF_BOOL) {
        bool b;
        if (lc_gguf_get_bool(g, key, &b, &err) == LC_OK) fputs(b ? "true" : "false", f);
    } else {
        int64_t v;
        uint64_t u;
        if (lc_gguf_get_i64(g, key, &v, &err) == LC_OK) fprintf(f, "%lld", (long long)v);
        else if (lc_gguf_get_u64(g, key, &u, &err) == LC_OK) fprintf(f, "%llu", (unsigned long long)u);
    }
}

void lc_gguf_metadata_print(FILE *f, const lc_gguf *g) {
    lc_error err;
    for (int64_t i = 0; i < lc_gguf_n_kv(g); i++) {
        const char *k = lc_gguf_key_name(g, i);
        lc_gguf_type t = lc_gguf_key_type(g, i);
        fprintf(f, "  %-44s %-7s ", k, lc_gguf_type_name(t));
        if (t != LC_GGUF_ARRAY) {
            print_scalar(f, g, k, t);
        } else {
            lc_gguf_type et;
            uint64_t n;
            const void *data;
            if (lc_gguf_get_arr(g, k, &et, &n, &data, &err) != LC_OK) continue;
            fprintf(f, "[%s x %llu]", lc_gguf_type_name(et), (unsigned long long)n);
            for (uint64_t j = 0; et == LC_GGUF_STRING && j < n && j < 4; j++) {
                const char *s;
                size_t len;
                if (lc_gguf_get_arr_str(g, k, j, &s, &len, &err) != LC_OK) break;
                fputs(j ? ", " : " ", f);
                print_escaped(f, s, len, 16);
            }
            if (et == LC_GGUF_STRING && n > 4) fputs(", ...", f);
        }
        fputc('\n', f);
    }
}

static void json_value(lc_json_writer *w, const lc_gguf *g, const char *k, lc_gguf_type t) {
    lc_error err;
    if (t == LC_GGUF_STRING) {
        const char *s;
        size_t len;
        if (lc_gguf_get_str(g, k, &s, &len, &err) == LC_OK) lc_json_strn(w, s, len);
        else lc_json_null(w);
    } else if (t == LC_GGUF_FLOAT32 || t == LC_GGUF_FLOAT64) {
        double d = 0;
        lc_gguf_get_f64(g, k, &d, &err);
        lc_json_num(w, d);
    } else if (t == LC_GGUF_BOOL) {
        bool b = false;
        lc_gguf_get_bool(g, k, &b, &err);
        lc_json_bool(w, b);
    } else if (t == LC_GGUF_ARRAY) {
        lc_gguf_type et = LC_GGUF_TYPE_COUNT;
        uint64_t n = 0;
        lc_gguf_get_arr(g, k, &et, &n, NULL, &err);
        lc_json_begin_object(w);
        lc_json_kv_str(w, "array_of", lc_gguf_type_name(et));
        lc_json_kv_int(w, "count", (int64_t)n);
        lc_json_end_object(w);
    } else {
        int64_t v = 0;
        uint64_t u = 0;
        if (lc_gguf_get_i64(g, k, &v, &err) == LC_OK) lc_json_int(w, v);
        else if (lc_gguf_get_u64(g, k, &u, &err) == LC_OK) lc_json_num(w, (double)u);
        else lc_json_null(w);
    }
}

void lc_gguf_metadata_json(lc_json_writer *w, const lc_gguf *g) {
    lc_json_key(w, "metadata");
    lc_json_begin_object(w);
    for (int64_t i = 0; i < lc_gguf_n_kv(g); i++) {
        lc_json_key(w, lc_gguf_key_name(g, i));
        json_value(w, g, lc_gguf_key_name(g, i), lc_gguf_key_type(g, i));
    }
    lc_json_end_object(w);
}

/* ---- Tensor types --------------------------------------------------------------- */

/* "f32: 12 (1.0 MiB), q8_0: ..." of the types longctx reads; true when it
 * printed any. */
static bool print_known_types(FILE *f, const lc_tensor_type_counts *tc) {
    char s[32];
    bool any = false;
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (tc->count[t]) {
            fprintf(f, "%s%s: %lld (%s)", any ? ", " : "", lc_dtype_name((lc_dtype)t), (long long)tc->count[t],
                    lc_format_bytes(tc->type_bytes[t], s, sizeof s));
            any = true;
        }
    return any;
}

/* The types of a GGUF that is not a model longctx loads: the ones it does not
 * read are listed by ggml's name, the first tensor of each. */
static void print_gguf_types(FILE *f, const lc_gguf *g) {
    lc_tensor_type_counts tc;
    lc_tensor_type_counts_get(NULL, g, &tc);
    char s[32];
    fprintf(f, LABEL, "tensor types");
    bool any = print_known_types(f, &tc);
    for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
        bool seen = false;
        for (int64_t k = 0; k < i && !seen; k++) {
            const lc_gguf_tensor *e = lc_gguf_tensor_at(g, k);
            seen = e->dtype == LC_DTYPE_COUNT && e->ggml_type == t->ggml_type;
        }
        if (t->dtype != LC_DTYPE_COUNT || seen) continue;
        const char *tn = lc_gguf_ggml_type_name(t->ggml_type);
        fprintf(f, "%s%s%s", any ? ", " : "", tn ? tn : "unknown type ", tn ? " (not read by longctx)" : "");
        if (!tn) fprintf(f, "%u", (unsigned)t->ggml_type);
        any = true;
    }
    fprintf(f, " (%s of tensors)\n", lc_format_bytes(tc.bytes, s, sizeof s));
}

/* ---- A GGUF that is not a model ---------------------------------------------- */

/* What both faces of a GGUF that is not a model say: its tokenizer and
 * architecture (arch NULL when the file names none). */
typedef struct {
    char model[80];
    uint64_t nt;
    const char *arch;
    size_t alen;
} gguf_facts;

static void gguf_facts_get(const lc_gguf *g, gguf_facts *x) {
    lc_gguf_tokenizer_meta(g, x->model, sizeof x->model, &x->nt);
    lc_error err;
    x->alen = 0;
    if (lc_gguf_get_str(g, "general.architecture", &x->arch, &x->alen, &err) != LC_OK) x->arch = NULL;
}

void lc_gguf_info_print(FILE *f, const char *path, const lc_gguf *g) {
    gguf_facts x;
    gguf_facts_get(g, &x);
    fprintf(f, LABEL "%s\n", "file", path);
    fprintf(f, LABEL "gguf v%u, %lld tensors%s, %lld keys\n", "format", lc_gguf_version(g),
            (long long)lc_gguf_n_tensors(g), lc_gguf_n_tensors(g) ? "" : " (vocabulary only)",
            (long long)lc_gguf_n_kv(g));
    fprintf(f, LABEL "%.*s\n", "architecture", x.arch ? (int)(x.alen < 64 ? x.alen : 64) : 1, x.arch ? x.arch : "-");
    if (lc_gguf_n_tensors(g)) print_gguf_types(f, g);
    if (x.model[0]) fprintf(f, LABEL "%s, %llu tokens\n", "tokenizer", x.model, (unsigned long long)x.nt);
    fprintf(f, "metadata:\n");
    lc_gguf_metadata_print(f, g);
}

void lc_gguf_info_json(lc_json_writer *w, const char *path, const lc_gguf *g) {
    gguf_facts x;
    gguf_facts_get(g, &x);
    lc_json_begin_object(w);
    lc_json_kv_str(w, "file", path);
    lc_json_kv_str(w, "format", "gguf");
    lc_json_kv_int(w, "gguf_version", lc_gguf_version(g));
    lc_json_kv_int(w, "n_tensors", lc_gguf_n_tensors(g));
    lc_json_key(w, "architecture");
    if (x.arch) lc_json_strn(w, x.arch, x.alen);
    else lc_json_null(w);
    lc_json_key(w, "tokenizer");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "kind", x.model[0] ? x.model : "none");
    lc_json_kv_int(w, "n_tokens", (int64_t)x.nt);
    lc_json_end_object(w);
    lc_gguf_metadata_json(w, g);
    lc_json_end_object(w);
}

/* ---- A model ------------------------------------------------------------------- */

/* The KV-cache types the summary prices. */
static const lc_dtype kv_types[3] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_Q8_0};

static const char *fmt_params(int64_t n, char *buf, size_t cap) {
    if (n >= 1000000000) snprintf(buf, cap, "%.2fB", (double)n / 1e9);
    else if (n >= 1000000) snprintf(buf, cap, "%.2fM", (double)n / 1e6);
    else if (n >= 1000) snprintf(buf, cap, "%.1fK", (double)n / 1e3);
    else snprintf(buf, cap, "%lld", (long long)n);
    return buf;
}

static const char *rope_layout(const lc_model_config *c) { return c->rope.layout == LC_ROPE_NORM ? "norm" : "neox"; }
static const char *attention_name(const lc_model_config *c) { return c->attention[0] ? c->attention : "softmax"; }

static void print_weights(FILE *f, const lc_model *m, const lc_gguf *g) {
    const lc_model_config *c = &m->cfg;
    char buf[32], s[32];
    const int64_t np = lc_model_n_params(c);
    fprintf(f, LABEL "%s (%lld)%s\n", "parameters", fmt_params(np, buf, sizeof buf), (long long)np,
            c->tied_output ? ", classifier tied to the embedding" : "");
    lc_tensor_type_counts tc;
    lc_tensor_type_counts_get(m, g, &tc);
    fprintf(f, LABEL, "tensor types");
    const bool any = print_known_types(f, &tc);
    if (tc.other)
        fprintf(f, "%sother: %lld (%s)", any ? ", " : "", (long long)tc.other,
                lc_format_bytes(tc.other_bytes, s, sizeof s));
    fprintf(f, " (%s of weights)\n", lc_format_bytes(tc.bytes, s, sizeof s));
}

static void print_rope(FILE *f, const lc_model_config *c) {
    char rd[256];
    fprintf(f, LABEL "%s, base %g, %d of %d dims, scaling %s", "rope", rope_layout(c), (double)c->rope.freq_base,
            c->rope.n_dims, c->head_dim, lc_rope_scaling_name(c->rope.scaling));
    if (c->rope.scaling != LC_ROPE_SCALING_NONE)
        fprintf(f, " x%g from %lld", (double)c->rope.factor, (long long)c->rope.orig_ctx);
    fprintf(f, "\n" LABEL "%s%s\n", "rope detail", lc_rope_describe(&c->rope, rd, sizeof rd),
            c->fam.longrope ? " (long factors: contexts > the original)" : "");
    if (c->fam.longrope)
        fprintf(f, LABEL "%s (contexts <= the original)\n", "rope short",
                lc_rope_describe(&c->rope_short, rd, sizeof rd));
    if (c->fam.rope_window_own)
        fprintf(f, LABEL "%s\n", "rope window", lc_rope_describe(&c->rope_window, rd, sizeof rd));
}

static void print_kv_cost(FILE *f, const lc_model_config *c) {
    fprintf(f, LABEL, "kv cache/1K");
    for (int i = 0; i < 3; i++) {
        const size_t b = lc_model_kv_bytes_per_token(c, kv_types[i], kv_types[i]);
        char s[32];
        if (b)
            fprintf(f, "%s%s: %s", i ? ", " : "", lc_dtype_name(kv_types[i]),
                    lc_format_bytes((double)b * 1024, s, sizeof s));
        else fprintf(f, "%s%s: n/a (head dim %d)", i ? ", " : "", lc_dtype_name(kv_types[i]), c->head_dim);
    }
    fputc('\n', f);
}

void lc_model_info_print(FILE *f, const char *path, const lc_model *m, const lc_gguf *g) {
    const lc_model_config *c = &m->cfg;
    char buf[96], fam[256];
    fprintf(f, LABEL "%s\n", "file", path);
    if (g)
        fprintf(f, LABEL "gguf v%u, %lld tensors, %lld keys, alignment %zu\n", "format", lc_gguf_version(g),
                (long long)lc_gguf_n_tensors(g), (long long)lc_gguf_n_kv(g), lc_gguf_alignment(g));
    else
        fprintf(f, LABEL "%s\n", "format",
                strcmp(m->format, "llama2c") == 0 ? "llama2c (legacy run.c checkpoint)" : m->format);
    fprintf(f, LABEL "%s\n", "architecture", c->arch);
    fprintf(f, LABEL "dim %d, hidden %d, layers %d, heads %d, kv heads %d, head dim %d, vocab %d\n", "shape", c->dim,
            c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab_size);
    print_weights(f, m, g);
    fprintf(f, LABEL "%lld tokens (training context)\n", "context", (long long)c->ctx_train);
    print_rope(f, c);
    fprintf(f, LABEL "%lld tokens claimed (%s.context_length), RoPE original context %lld\n", "claimed ctx",
            (long long)c->ctx_train, c->arch, (long long)c->rope.orig_ctx);
    fprintf(f, LABEL "%s\n", "family", lc_family_describe(c, fam, sizeof fam));
    fprintf(f, LABEL "%s\n", "layers", lc_model_window_pattern(c, fam, sizeof fam));
    fprintf(f, LABEL "%s\n", "attention", attention_name(c));
    int64_t nt = 0;
    lc_model_tokenizer_summary(m, g, buf, sizeof buf, &nt);
    if (nt) fprintf(f, LABEL "%s, %lld tokens\n", "tokenizer", buf, (long long)nt);
    else fprintf(f, LABEL "%s\n", "tokenizer", buf);
    print_kv_cost(f, c);
}

static void json_weights(lc_json_writer *w, const lc_model *m, const lc_gguf *g) {
    lc_tensor_type_counts tc;
    lc_tensor_type_counts_get(m, g, &tc);
    lc_json_key(w, "tensor_types");
    lc_json_begin_object(w);
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (tc.count[t]) lc_json_kv_int(w, lc_dtype_name((lc_dtype)t), tc.count[t]);
    lc_json_end_object(w);
    lc_json_key(w, "tensor_type_bytes");
    lc_json_begin_object(w);
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (tc.count[t]) lc_json_kv_num(w, lc_dtype_name((lc_dtype)t), tc.type_bytes[t]);
    lc_json_end_object(w);
    lc_json_kv_num(w, "weight_bytes", tc.bytes);
}

static void json_rope(lc_json_writer *w, const lc_model_config *c) {
    char rd[256];
    lc_json_key(w, "rope");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "layout", rope_layout(c));
    lc_json_kv_num(w, "freq_base", c->rope.freq_base);
    lc_json_kv_int(w, "n_dims", c->rope.n_dims);
    lc_json_kv_str(w, "scaling", lc_rope_scaling_name(c->rope.scaling));
    lc_json_kv_num(w, "factor", c->rope.factor);
    lc_json_kv_int(w, "orig_ctx", c->rope.orig_ctx);
    lc_json_kv_int(w, "n_factors", c->rope.n_factors);
    lc_json_kv_str(w, "describe", lc_rope_describe(&c->rope, rd, sizeof rd));
    if (c->fam.longrope) lc_json_kv_str(w, "short", lc_rope_describe(&c->rope_short, rd, sizeof rd));
    if (c->fam.rope_window_own) lc_json_kv_str(w, "window_layers", lc_rope_describe(&c->rope_window, rd, sizeof rd));
    lc_json_end_object(w);
}

static void json_tokenizer_and_kv(lc_json_writer *w, const lc_model *m, const lc_gguf *g) {
    char buf[96];
    int64_t nt = 0;
    lc_model_tokenizer_summary(m, g, buf, sizeof buf, &nt);
    lc_json_key(w, "tokenizer");
    lc_json_begin_object(w);
    lc_json_kv_str(w, "kind", buf);
    lc_json_kv_int(w, "n_tokens", nt);
    lc_json_end_object(w);
    lc_json_key(w, "kv_bytes_per_1k_tokens");
    lc_json_begin_object(w);
    for (int i = 0; i < 3; i++) {
        const size_t b = lc_model_kv_bytes_per_token(&m->cfg, kv_types[i], kv_types[i]);
        lc_json_key(w, lc_dtype_name(kv_types[i]));
        if (b) lc_json_int(w, (int64_t)b * 1024);
        else lc_json_null(w);
    }
    lc_json_end_object(w);
}

void lc_model_info_json(lc_json_writer *w, const char *path, const lc_model *m, const lc_gguf *g, bool with_metadata) {
    const lc_model_config *c = &m->cfg;
    lc_json_begin_object(w);
    lc_json_kv_str(w, "file", path);
    lc_json_kv_str(w, "format", g ? "gguf" : m->format);
    if (g) lc_json_kv_int(w, "gguf_version", lc_gguf_version(g));
    lc_json_kv_str(w, "architecture", c->arch);
    lc_json_kv_int(w, "dim", c->dim);
    lc_json_kv_int(w, "hidden_dim", c->hidden_dim);
    lc_json_kv_int(w, "n_layers", c->n_layers);
    lc_json_kv_int(w, "n_heads", c->n_heads);
    lc_json_kv_int(w, "n_kv_heads", c->n_kv_heads);
    lc_json_kv_int(w, "head_dim", c->head_dim);
    lc_json_kv_int(w, "vocab_size", c->vocab_size);
    lc_json_kv_int(w, "n_params", lc_model_n_params(c));
    lc_json_kv_bool(w, "tied_output", c->tied_output);
    json_weights(w, m, g);
    lc_json_kv_int(w, "ctx_train", c->ctx_train);
    lc_json_kv_num(w, "norm_eps", c->norm_eps);
    json_rope(w, c);
    char fam[256];
    lc_json_kv_str(w, "family", lc_family_describe(c, fam, sizeof fam));
    lc_json_kv_int(w, "window", c->fam.window);
    lc_json_key(w, "layer_kinds");
    lc_json_begin_array(w);
    for (int32_t l = 0; l < c->n_layers; l++) lc_json_str(w, lc_layer_kind_name(lc_model_layer_kind(c, l)));
    lc_json_end_array(w);
    lc_json_kv_str(w, "attention", attention_name(c));
    json_tokenizer_and_kv(w, m, g);
    if (g && with_metadata) lc_gguf_metadata_json(w, g);
    lc_json_end_object(w);
}

void lc_model_info_write(FILE *f, const char *path, const lc_model *m, const lc_gguf *g, bool json,
                         bool with_metadata) {
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, f, true);
        if (m) lc_model_info_json(&w, path, m, g, with_metadata);
        else lc_gguf_info_json(&w, path, g);
        lc_json_finish(&w);
    } else if (!m) {
        lc_gguf_info_print(f, path, g);
    } else {
        lc_model_info_print(f, path, m, g);
        if (g && with_metadata) {
            fprintf(f, "metadata:\n");
            lc_gguf_metadata_print(f, g);
        }
    }
}
