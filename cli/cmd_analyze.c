/*
 * longctx analyze — the analytic cost model of attention for a model shape:
 * FLOPs and memory per method and context length, next to the article's
 * figures, and next to measurements when --measure is given.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/util.h"
#include "longctx/model.h"
#include "longctx/report.h"
#include "opt.h"

#define CMD "analyze"
#define MAX_N 32

static const char synopsis[] =
    "usage: longctx analyze [options]\n\n"
    "The analytic model of attention cost for one model shape: per context length, the\n"
    "score matrix the article's table counts (one head, FP16), what NAIVE really materialises\n"
    "(all heads of a layer at inference, all layers when training keeps it for backward),\n"
    "the exact workspace of FLASH / WINDOW / LINEAR / CHUNKED (from each method's own\n"
    "workspace function), the KV cache, and the attention FLOPs of a full forward pass.\n\n";

/* What the command line asks for. */
typedef struct {
    const char *family;
    int layers, heads, kv_heads, d, threads;
    int64_t window, chunk;
    lc_dtype dt;
    int64_t ns[MAX_N];
    int n_n;
    bool ns_given, measure, json;
    double max_seconds;
} analyze_args;

/* One context length: the library's cost model, and the measurements. */
typedef struct {
    lc_report_mem_row m; /* memory, workspaces and FLOPs (lc_report_memory_row) */
    bool measured;
    double naive_s, flash_s;
    size_t naive_rss, flash_rss;
    char naive_err[128], flash_err[128];
} cell;

static const char *const ws_names[4] = {"flash", "window", "linear", "chunked"};

/* One family's memory table (text, or a JSON object when w is set). */
static int family_table(const lc_family_preset *p, const int64_t *nl, int n_n, lc_dtype dt, lc_json_writer *w) {
    char layers[96], a[32], b[32], c[32], d[32];
    double meas[MAX_N], ana[MAX_N];
    lc_error err;
    const int64_t B = 512;
    const bool have_meas = lc_family_preset_measure(p, nl, n_n, dt, B, meas, ana, &err) == LC_OK;
    lc_family_preset_layers(p, layers, sizeof layers);
    if (w) {
        lc_json_begin_object(w);
        lc_json_kv_str(w, "family", p->name);
        lc_json_kv_str(w, "source", p->hf_name);
        lc_json_kv_str(w, "arch", p->arch);
        lc_json_kv_str(w, "layers", layers);
        lc_json_kv_str(w, "machinery", p->machinery);
        lc_json_kv_int(w, "ctx", p->ctx);
        lc_json_kv_num(w, "kv_bytes_per_token_global", lc_family_preset_kv_bytes(p, 1, dt, false) -
                                                            lc_family_preset_kv_bytes(p, 0, dt, false));
        lc_json_key(w, "rows");
        lc_json_begin_array(w);
        for (int i = 0; i < n_n; i++) {
            lc_json_begin_object(w);
            lc_json_kv_int(w, "n", nl[i]);
            lc_json_kv_num(w, "kv_bytes", lc_family_preset_kv_bytes(p, nl[i], dt, false));
            lc_json_kv_num(w, "kv_bytes_all_global", lc_family_preset_kv_bytes(p, nl[i], dt, true));
            if (have_meas) {
                lc_json_kv_num(w, "scaled_measured", meas[i]);
                lc_json_kv_num(w, "scaled_analytic", ana[i]);
            }
            lc_json_end_object(w);
        }
        lc_json_end_array(w);
        lc_json_end_object(w);
        return CLI_OK;
    }
    const double per_tok = lc_family_preset_kv_bytes(p, 1 << 30, dt, false) - lc_family_preset_kv_bytes(p, (1 << 30) - 1, dt, false);
    lc_format_bytes(per_tok, a, sizeof a);
    lc_format_bytes(lc_family_preset_kv_bytes(p, 1, dt, true) - lc_family_preset_kv_bytes(p, 0, dt, true), b, sizeof b);
    printf("%s (%s, GGUF %s): %d layers = %s, %d KV heads x %d, claims %lld tokens\n  %s\n", p->name, p->hf_name,
           p->arch, p->n_layers, layers, p->n_kv_heads, p->head_dim, (long long)p->ctx, p->machinery);
    printf("  %s KV per token once past every window: %s (all layers global: %s)\n", lc_dtype_name(dt), a, b);
    printf("  %9s | %12s | %12s | %6s | %s\n", "tokens", "KV", "all global", "saved",
           have_meas ? "scaled model (head dim 16): runtime allocates / its layout predicts" : "scaled model");
    for (int i = 0; i < n_n; i++) {
        const double kv = lc_family_preset_kv_bytes(p, nl[i], dt, false), kg = lc_family_preset_kv_bytes(p, nl[i], dt, true);
        lc_format_bytes(kv, a, sizeof a);
        lc_format_bytes(kg, b, sizeof b);
        printf("  %9lld | %12s | %12s | %5.1f%% | ", (long long)nl[i], a, b, kg > 0 ? 100.0 * (1.0 - kv / kg) : 0.0);
        if (have_meas) {
            lc_format_bytes(meas[i], c, sizeof c);
            lc_format_bytes(ana[i], d, sizeof d);
            printf("%s / %s\n", c, d);
        } else {
            printf("n/a: %s\n", err.msg);
        }
    }
    printf("\n");
    return CLI_OK;
}

static bool opt_dtype(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_dtype *dt = o->dst;
    if (lc_dtype_parse(v, dt) && (*dt == LC_DTYPE_F16 || *dt == LC_DTYPE_F32)) return true;
    cli_error(cmd, "%s must be f16 or f32", name);
    return false;
}

static bool opt_family(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (strcmp(v, "all") != 0 && !lc_family_preset_find(v)) {
        cli_error(cmd, "%s: unknown family '%s' (see --help)", name, v);
        return false;
    }
    *(const char **)o->dst = v;
    return true;
}

#define SHAPE(names_, meta_, dst_, help_) CLI_INT(names_, meta_, dst_, 1, 1 << 24, help_)

static int parse_args(analyze_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->layers = 32, a->heads = 32, a->d = 128, a->window = 4096, a->chunk = 512;
    a->dt = LC_DTYPE_F16;
    a->max_seconds = 30;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        SHAPE("--layers", "L", &a->layers, "layers (default 32)"),
        SHAPE("--heads", "H", &a->heads, "query heads (default 32)"),
        SHAPE("--kv-heads", "K", &a->kv_heads, "K/V heads (default H)"),
        SHAPE("--head-dim", "D", &a->d, "head dimension (default 128)"),
        CLI_FN("--dtype", "T", opt_dtype, &a->dt, "element type of scores/cache: f16 or f32 (default f16)"),
        {.kind = CLI_OPT_I64_LIST, .names = "--n", .meta = "LIST", .dst = a->ns, .count = &a->n_n, .hi = MAX_N,
         .list_lo = 1, .given = &a->ns_given, .help = "context lengths (default 2K,8K,32K,100000,1M)"},
        CLI_I64("--window", "W", &a->window, 1, 1 << 24, "WINDOW size (default 4096, 4 sinks)"),
        CLI_I64("--chunk", "C", &a->chunk, 1, 1 << 24, "CHUNKED chunk (default 512, overlap 64)"),
        SHAPE("-t|--threads", "N", &a->threads, "threads assumed for workspaces (default: all CPUs)"),
        CLI_SET("--measure", &a->measure,
                "also run NAIVE and FLASH for one layer (H heads) at each length that fits\n"
                "in --max-seconds (default 30) and print measured time and RSS growth"),
        CLI_DOUBLE("--max-seconds", "S", &a->max_seconds, 1e-6, 1e7, "budget per measured cell"),
        CLI_SET("--json", &a->json, "JSON array on stdout (the table goes to stderr)"),
        CLI_FN("--family", "NAME", opt_family, &a->family,
               "the KV memory of a real family (published config.json shape) with its own\n"
               "machinery (GQA, window layers, linear-attention state) at each --n\n"
               "(default 8K,128K,1M), beside all-global layers, and measured on a scaled-down\n"
               "random model of the same layer layout; NAME: all, or one of\n"
               "llama-3.1-8b qwen2.5-7b phi-3.5-mini gemma-3-12b gpt-oss-20b qwen3-next-80b-a3b"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, NULL, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!a->kv_heads) a->kv_heads = a->heads;
    if (a->heads % a->kv_heads) {
        cli_error(CMD, "--heads must be a multiple of --kv-heads");
        return CLI_USAGE;
    }
    if (!a->threads) a->threads = lc_cpu_count();
    if (!a->ns_given) cli_parse_i64_list(a->family ? "8K,128K,1M" : "2K,8K,32K,100000,1M", a->ns, MAX_N, &a->n_n);
    return -1;
}
#undef SHAPE

static int run_families(const analyze_args *a) {
    lc_json_writer w;
    if (a->json) {
        lc_json_init(&w, stdout, true);
        lc_json_begin_array(&w);
    }
    for (int k = 0; k < lc_family_preset_count(); k++) {
        const lc_family_preset *p = lc_family_preset_at(k);
        if (strcmp(a->family, "all") == 0 || strcmp(a->family, p->name) == 0)
            family_table(p, a->ns, a->n_n, a->dt, a->json ? &w : NULL);
    }
    if (a->json) {
        lc_json_end_array(&w);
        lc_json_finish(&w);
    }
    return CLI_OK;
}

/* One method measured on one layer, unless its estimate is past the budget. */
static void measure_one(const analyze_args *a, const lc_attn_shape *s, lc_attn_method method, double est_flops_s,
                        double *secs, size_t *rss, char *why, size_t why_len) {
    lc_attn_params p;
    lc_attn_bench r;
    lc_error err;
    lc_attn_params_init(&p, method);
    p.n_threads = a->threads;
    const double est = lc_attn_flops(s, &p) / est_flops_s;
    if (est > a->max_seconds) {
        snprintf(why, why_len, "skipped (est. %.0f s)", est);
    } else if (lc_bench_attn_cell(s, &p, 1, a->max_seconds, 1, &r, &err) == LC_OK) {
        *secs = r.seconds;
        *rss = r.rss_growth_bytes;
    } else {
        snprintf(why, why_len, "%.120s",
                 err.status == LC_ERR_TOO_LARGE && method == LC_ATTN_NAIVE ? "refused (cap)" : err.msg);
    }
}

/* The memory and FLOPs of one length from the library's model
 * (lc_report_memory_row: the report's table uses the same), and the
 * measurements with --measure. false after a message. */
static bool compute_cell(const analyze_args *a, int64_t len, cell *c) {
    lc_model_config mc;
    memset(&mc, 0, sizeof mc);
    mc.n_layers = a->layers, mc.n_heads = a->heads, mc.n_kv_heads = a->kv_heads, mc.head_dim = a->d;
    lc_error err;
    if (lc_report_memory_row(&mc, a->dt, len, a->window, a->chunk, a->threads, &c->m, &err) != LC_OK) {
        cli_fail(CMD, &err);
        return false;
    }
    if (!a->measure) return true;
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_q = s.n_kv = len;
    s.n_head = a->heads;
    s.n_head_kv = a->kv_heads;
    s.head_dim = a->d;
    s.k_type = s.v_type = a->dt;
    s.causal = true;
    c->measured = true;
    /* the reference runs at ~2 GFLOP/s, flash at ~50 */
    measure_one(a, &s, LC_ATTN_NAIVE, 2e9, &c->naive_s, &c->naive_rss, c->naive_err, sizeof c->naive_err);
    measure_one(a, &s, LC_ATTN_FLASH, 50e9, &c->flash_s, &c->flash_rss, c->flash_err, sizeof c->flash_err);
    return true;
}

static void print_table(const analyze_args *a, const cell *cells, FILE *out) {
    fprintf(out, "# shape: %d layers, %d heads (%d KV), head dim %d, %s scores/cache, %d threads\n", a->layers,
            a->heads, a->kv_heads, a->d, lc_dtype_name(a->dt), a->threads);
    fprintf(out, "%9s %12s %13s %13s %11s %11s %11s %11s %11s %11s %11s %10s %10s\n", "context", "article",
            "naive/layer", "naive/train", "flash ws", "window ws", "linear ws", "chunked ws", "KV cache",
            "window KV", "linear st", "TFLOP full", "TFLOP lin");
    for (int i = 0; i < a->n_n; i++) {
        const lc_report_mem_row *m = &cells[i].m;
        const double v[10] = {m->article_bytes, m->naive_layer_bytes, m->naive_train_bytes, m->flash_ws, m->window_ws,
                              m->linear_ws,     m->chunked_ws,        m->kv_cache_bytes,    m->window_kv_bytes,
                              m->linear_state_bytes};
        char b[10][32];
        for (int k = 0; k < 10; k++) {
            if (isnan(v[k])) snprintf(b[k], 32, "n/a");
            else lc_format_bytes(v[k], b[k], 32);
        }
        fprintf(out, "%9lld %12s %13s %13s %11s %11s %11s %11s %11s %11s %11s %10.2f %10.3f\n", (long long)m->n, b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], m->flops_full / 1e12, m->flops_linear / 1e12);
    }
    if (!a->measure) return;
    fprintf(out, "\n# measured, one layer (%d heads): time and RSS growth while it ran\n", a->heads);
    fprintf(out, "%9s %12s %12s %12s %12s\n", "context", "naive s", "naive rss+", "flash s", "flash rss+");
    for (int i = 0; i < a->n_n; i++) {
        const cell *c = &cells[i];
        char t1[40], r1[40], t2[40], r2[40];
        if (c->naive_err[0]) snprintf(t1, sizeof t1, "%s", c->naive_err), snprintf(r1, sizeof r1, "-");
        else snprintf(t1, sizeof t1, "%.3f", c->naive_s), lc_format_bytes((double)c->naive_rss, r1, sizeof r1);
        if (c->flash_err[0]) snprintf(t2, sizeof t2, "%.38s", c->flash_err), snprintf(r2, sizeof r2, "-");
        else snprintf(t2, sizeof t2, "%.3f", c->flash_s), lc_format_bytes((double)c->flash_rss, r2, sizeof r2);
        fprintf(out, "%9lld %12s %12s %12s %12s\n", (long long)c->m.n, t1, r1, t2, r2);
    }
}

static void json_num_or_null(lc_json_writer *w, const char *key, bool ok, double v) {
    lc_json_key(w, key);
    if (ok) lc_json_num(w, v);
    else lc_json_null(w);
}

static void print_json(const analyze_args *a, const cell *cells) {
    lc_json_writer w;
    lc_json_init(&w, stdout, true);
    lc_json_begin_array(&w);
    for (int i = 0; i < a->n_n; i++) {
        const cell *c = &cells[i];
        lc_json_begin_object(&w);
        const lc_report_mem_row *m = &c->m;
        lc_json_kv_int(&w, "n", m->n);
        lc_json_kv_int(&w, "layers", a->layers);
        lc_json_kv_int(&w, "heads", a->heads);
        lc_json_kv_int(&w, "kv_heads", a->kv_heads);
        lc_json_kv_int(&w, "head_dim", a->d);
        lc_json_kv_str(&w, "dtype", lc_dtype_name(a->dt));
        lc_json_kv_num(&w, "article_matrix_bytes", m->article_bytes);
        lc_json_kv_num(&w, "naive_layer_bytes", m->naive_layer_bytes);
        lc_json_kv_num(&w, "naive_train_bytes", m->naive_train_bytes);
        const double ws[4] = {m->flash_ws, m->window_ws, m->linear_ws, m->chunked_ws};
        for (int k = 0; k < 4; k++) {
            char key[48];
            snprintf(key, sizeof key, "%s_workspace_bytes", ws_names[k]);
            lc_json_key(&w, key);
            if (!isnan(ws[k])) lc_json_int(&w, (int64_t)ws[k]);
            else lc_json_null(&w);
        }
        lc_json_kv_num(&w, "kv_cache_bytes", m->kv_cache_bytes);
        lc_json_kv_num(&w, "window_kv_cache_bytes", m->window_kv_bytes);
        lc_json_kv_num(&w, "linear_state_bytes", m->linear_state_bytes);
        lc_json_kv_num(&w, "flops_full", m->flops_full);
        lc_json_kv_num(&w, "flops_window", m->flops_window);
        lc_json_kv_num(&w, "flops_linear", m->flops_linear);
        if (c->measured) {
            json_num_or_null(&w, "naive_seconds", !c->naive_err[0], c->naive_s);
            json_num_or_null(&w, "flash_seconds", !c->flash_err[0], c->flash_s);
            lc_json_kv_int(&w, "naive_rss_bytes", (int64_t)c->naive_rss);
            lc_json_kv_int(&w, "flash_rss_bytes", (int64_t)c->flash_rss);
        }
        lc_json_end_object(&w);
    }
    lc_json_end_array(&w);
    lc_json_finish(&w);
}

int cmd_analyze(int argc, char **argv) {
    analyze_args a;
    const int rc = parse_args(&a, argc, argv);
    if (rc >= 0) return rc;
    if (a.family) return run_families(&a);
    cell cells[MAX_N];
    memset(cells, 0, sizeof cells);
    for (int i = 0; i < a.n_n; i++)
        if (!compute_cell(&a, a.ns[i], &cells[i])) return CLI_FAIL;
    print_table(&a, cells, a.json ? stderr : stdout);
    if (a.json) print_json(&a, cells);
    return CLI_OK;
}
