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
#include "longctx/model.h"

#define CMD "analyze"
#define MAX_N 32

static void usage(FILE *f) {
    fprintf(f,
            "usage: longctx analyze [options]\n\n"
            "The analytic model of attention cost for one model shape: per context length, the\n"
            "score matrix the article's table counts (one head, FP16), what NAIVE really materialises\n"
            "(all heads of a layer at inference, all layers when training keeps it for backward),\n"
            "the exact workspace of FLASH / WINDOW / LINEAR / CHUNKED (from each method's own\n"
            "workspace function), the KV cache, and the attention FLOPs of a full forward pass.\n\n"
            "  --layers L      (default 32)        --heads H     (default 32)\n"
            "  --kv-heads K    (default H)         --head-dim D  (default 128)\n"
            "  --dtype T       element type of scores/cache: f16 or f32 (default f16)\n"
            "  --n LIST        context lengths (default 2K,8K,32K,100000,1M)\n"
            "  --window W      WINDOW size (default 4096, 4 sinks)\n"
            "  --chunk C       CHUNKED chunk (default 512, overlap 64)\n"
            "  -t N            threads assumed for workspaces (default: all CPUs)\n"
            "  --measure       also run NAIVE and FLASH for one layer (H heads) at each length that fits\n"
            "                  in --max-seconds (default 30) and print measured time and RSS growth\n"
            "  --max-seconds S budget per measured cell\n"
            "  --json          JSON array on stdout (the table goes to stderr)\n"
            "  --family NAME   the KV memory of a real family (published config.json shape) with its own\n"
            "                  machinery (GQA, window layers, linear-attention state) at each --n\n"
            "                  (default 8K,128K,1M), beside all-global layers, and measured on a scaled-down\n"
            "                  random model of the same layer layout; NAME: all, or one of\n"
            "                  llama-3.1-8b qwen2.5-7b phi-3.5-mini gemma-3-12b gpt-oss-20b qwen3-next-80b-a3b\n");
}

typedef struct {
    int64_t n;
    double article_bytes;    /* n^2 * 2: one head, FP16, as the article counts */
    double naive_layer;      /* H * n^2 * elem: materialised by NAIVE, one layer */
    double naive_train;      /* L * H * n^2 * elem: all layers kept for backward */
    size_t ws[4];            /* FLASH, WINDOW, LINEAR, CHUNKED exact workspaces (one layer) */
    bool ws_ok[4];
    double kv_cache;         /* L * 2 * n * H_kv * d * elem */
    double window_cache;     /* L * 2 * min(n, W+S) * H_kv * d * elem */
    double linear_state;     /* L * H * F * d * 4 (+ normaliser) */
    double flops_full;       /* L * causal attention FLOPs (prefill of n tokens) */
    double flops_linear;
    double flops_window;
    bool measured;
    double naive_s, flash_s;
    size_t naive_rss, flash_rss;
    char naive_err[128], flash_err[128];
} cell;

static const char *const ws_names[4] = {"flash", "window", "linear", "chunked"};

static void fmt(double b, char *buf, size_t len) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int k = 0;
    while (b >= 1024 && k < 6) b /= 1024, k++;
    snprintf(buf, len, k ? "%.1f %s" : "%.0f %s", b, u[k]);
}

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
    fmt(per_tok, a, sizeof a);
    fmt(lc_family_preset_kv_bytes(p, 1, dt, true) - lc_family_preset_kv_bytes(p, 0, dt, true), b, sizeof b);
    printf("%s (%s, GGUF %s): %d layers = %s, %d KV heads x %d, claims %lld tokens\n  %s\n", p->name, p->hf_name,
           p->arch, p->n_layers, layers, p->n_kv_heads, p->head_dim, (long long)p->ctx, p->machinery);
    printf("  %s KV per token once past every window: %s (all layers global: %s)\n", lc_dtype_name(dt), a, b);
    printf("  %9s | %12s | %12s | %6s | %s\n", "tokens", "KV", "all global", "saved",
           have_meas ? "scaled model (head dim 16): runtime allocates / its layout predicts" : "scaled model");
    for (int i = 0; i < n_n; i++) {
        const double kv = lc_family_preset_kv_bytes(p, nl[i], dt, false), kg = lc_family_preset_kv_bytes(p, nl[i], dt, true);
        fmt(kv, a, sizeof a);
        fmt(kg, b, sizeof b);
        printf("  %9lld | %12s | %12s | %5.1f%% | ", (long long)nl[i], a, b, kg > 0 ? 100.0 * (1.0 - kv / kg) : 0.0);
        if (have_meas) {
            fmt(meas[i], c, sizeof c);
            fmt(ana[i], d, sizeof d);
            printf("%s / %s\n", c, d);
        } else {
            printf("n/a: %s\n", err.msg);
        }
    }
    printf("\n");
    return CLI_OK;
}

int cmd_analyze(int argc, char **argv) {
    const char *family = NULL;
    int layers = 32, heads = 32, kv_heads = 0, d = 128, threads = 0;
    int64_t window = 4096, chunk = 512;
    lc_dtype dt = LC_DTYPE_F16;
    static const char *const default_ns = "2K,8K,32K,100000,1M";
    const char *ns = default_ns;
    bool measure = false, json = false;
    double max_seconds = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int64_t x;
        if (cli_is(a, "-h", "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (cli_is(a, NULL, "--layers") || cli_is(a, NULL, "--heads") || cli_is(a, NULL, "--kv-heads") ||
                   cli_is(a, NULL, "--head-dim") || cli_is(a, "-t", "--threads") || cli_is(a, NULL, "--window") ||
                   cli_is(a, NULL, "--chunk")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_i64(v, &x) || x < 1 || x > (1 << 24)) {
                cli_error(CMD, "%s needs a positive integer", a);
                return CLI_USAGE;
            }
            if (cli_is(a, NULL, "--layers")) layers = (int)x;
            else if (cli_is(a, NULL, "--heads")) heads = (int)x;
            else if (cli_is(a, NULL, "--kv-heads")) kv_heads = (int)x;
            else if (cli_is(a, NULL, "--head-dim")) d = (int)x;
            else if (cli_is(a, NULL, "--window")) window = x;
            else if (cli_is(a, NULL, "--chunk")) chunk = x;
            else threads = (int)x;
        } else if (cli_is(a, NULL, "--dtype")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !lc_dtype_parse(v, &dt) ||
                (dt != LC_DTYPE_F16 && dt != LC_DTYPE_F32)) {
                cli_error(CMD, "--dtype must be f16 or f32");
                return CLI_USAGE;
            }
        } else if (cli_is(a, NULL, "--n")) {
            if (!(v = cli_value(argc, argv, &i, CMD))) return CLI_USAGE;
            ns = v;
        } else if (cli_is(a, NULL, "--measure")) {
            measure = true;
        } else if (cli_is(a, NULL, "--max-seconds")) {
            if (!(v = cli_value(argc, argv, &i, CMD)) || !cli_parse_double(v, &max_seconds) || max_seconds <= 0) {
                cli_error(CMD, "--max-seconds needs a positive number");
                return CLI_USAGE;
            }
        } else if (cli_is(a, NULL, "--json")) {
            json = true;
        } else if (cli_is(a, NULL, "--family")) {
            if (!(family = cli_value(argc, argv, &i, CMD))) return CLI_USAGE;
            if (strcmp(family, "all") != 0 && !lc_family_preset_find(family)) {
                cli_error(CMD, "unknown family '%s' (see --help)", family);
                return CLI_USAGE;
            }
            if (ns == default_ns) ns = "8K,128K,1M";
        } else {
            return cli_unknown_option(CMD, a, usage);
        }
    }
    if (!kv_heads) kv_heads = heads;
    if (heads % kv_heads) {
        cli_error(CMD, "--heads must be a multiple of --kv-heads");
        return CLI_USAGE;
    }
    if (!threads) threads = lc_cpu_count();
    int64_t nlist[MAX_N];
    int n_n = 0;
    if (!cli_parse_i64_list(ns, nlist, MAX_N, &n_n)) {
        cli_error(CMD, "bad --n list '%s'", ns);
        return CLI_USAGE;
    }
    if (family) {
        lc_json_writer w;
        if (json) {
            lc_json_init(&w, stdout, true);
            lc_json_begin_array(&w);
        }
        for (int k = 0; k < lc_family_preset_count(); k++) {
            const lc_family_preset *p = lc_family_preset_at(k);
            if (strcmp(family, "all") == 0 || strcmp(family, p->name) == 0) family_table(p, nlist, n_n, dt, json ? &w : NULL);
        }
        if (json) {
            lc_json_end_array(&w);
            lc_json_finish(&w);
        }
        return CLI_OK;
    }
    double elem = dt == LC_DTYPE_F16 ? 2.0 : 4.0;
    cell cells[MAX_N];
    memset(cells, 0, sizeof cells);
    lc_error err;
    for (int i = 0; i < n_n; i++) {
        cell *c = &cells[i];
        double n = (double)nlist[i];
        c->n = nlist[i];
        c->article_bytes = n * n * 2.0;
        c->naive_layer = heads * n * n * elem;
        c->naive_train = layers * c->naive_layer;
        c->kv_cache = layers * 2.0 * n * kv_heads * d * elem;
        c->window_cache = layers * 2.0 * fmin(n, (double)(window + 4)) * kv_heads * d * elem;
        c->linear_state = layers * (double)heads * ((double)d * d + d) * 4.0;
        lc_attn_shape s;
        memset(&s, 0, sizeof s);
        s.n_q = s.n_kv = c->n;
        s.n_head = heads;
        s.n_head_kv = kv_heads;
        s.head_dim = d;
        s.k_type = s.v_type = dt;
        s.causal = true;
        lc_attn_method ms[4] = {LC_ATTN_FLASH, LC_ATTN_WINDOW, LC_ATTN_LINEAR, LC_ATTN_CHUNKED};
        for (int k = 0; k < 4; k++) {
            lc_attn_params p;
            lc_attn_params_init(&p, ms[k]);
            p.n_threads = threads;
            p.window = window;
            p.chunk = chunk;
            c->ws_ok[k] = lc_attn_workspace(&s, &p, &c->ws[k], NULL) == LC_OK;
            double fl = layers * lc_attn_flops(&s, &p);
            if (ms[k] == LC_ATTN_FLASH) c->flops_full = fl;
            if (ms[k] == LC_ATTN_WINDOW) c->flops_window = fl;
            if (ms[k] == LC_ATTN_LINEAR) c->flops_linear = fl;
        }
        if (measure) {
            c->measured = true;
            lc_attn_params p;
            lc_attn_bench r;
            lc_attn_params_init(&p, LC_ATTN_NAIVE);
            p.n_threads = threads;
            double est_naive = lc_attn_flops(&s, &p) / 2e9; /* the reference runs at ~2 GFLOP/s */
            if (est_naive > max_seconds) {
                snprintf(c->naive_err, sizeof c->naive_err, "skipped (est. %.0f s)", est_naive);
            } else if (lc_bench_attn_cell(&s, &p, 1, max_seconds, 1, &r, &err) == LC_OK) {
                c->naive_s = r.seconds;
                c->naive_rss = r.rss_growth_bytes;
            } else {
                snprintf(c->naive_err, sizeof c->naive_err, "%.120s", err.status == LC_ERR_TOO_LARGE ? "refused (cap)" : err.msg);
            }
            lc_attn_params_init(&p, LC_ATTN_FLASH);
            p.n_threads = threads;
            double est_flash = lc_attn_flops(&s, &p) / 50e9;
            if (est_flash > max_seconds) {
                snprintf(c->flash_err, sizeof c->flash_err, "skipped (est. %.0f s)", est_flash);
            } else if (lc_bench_attn_cell(&s, &p, 1, max_seconds, 1, &r, &err) == LC_OK) {
                c->flash_s = r.seconds;
                c->flash_rss = r.rss_growth_bytes;
            } else {
                snprintf(c->flash_err, sizeof c->flash_err, "%.120s", err.msg);
            }
        }
    }

    FILE *out = json ? stderr : stdout;
    fprintf(out, "# shape: %d layers, %d heads (%d KV), head dim %d, %s scores/cache, %d threads\n", layers, heads,
            kv_heads, d, lc_dtype_name(dt), threads);
    fprintf(out, "%9s %12s %13s %13s %11s %11s %11s %11s %11s %11s %11s %10s %10s\n", "context", "article",
            "naive/layer", "naive/train", "flash ws", "window ws", "linear ws", "chunked ws", "KV cache",
            "window KV", "linear st", "TFLOP full", "TFLOP lin");
    for (int i = 0; i < n_n; i++) {
        cell *c = &cells[i];
        char b[11][32];
        fmt(c->article_bytes, b[0], 32);
        fmt(c->naive_layer, b[1], 32);
        fmt(c->naive_train, b[2], 32);
        for (int k = 0; k < 4; k++) {
            if (c->ws_ok[k]) fmt((double)c->ws[k], b[3 + k], 32);
            else snprintf(b[3 + k], 32, "n/a");
        }
        fmt(c->kv_cache, b[7], 32);
        fmt(c->window_cache, b[8], 32);
        fmt(c->linear_state, b[9], 32);
        fprintf(out, "%9lld %12s %13s %13s %11s %11s %11s %11s %11s %11s %11s %10.2f %10.3f\n", (long long)c->n, b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], c->flops_full / 1e12, c->flops_linear / 1e12);
    }
    if (measure) {
        fprintf(out, "\n# measured, one layer (%d heads): time and RSS growth while it ran\n", heads);
        fprintf(out, "%9s %12s %12s %12s %12s\n", "context", "naive s", "naive rss+", "flash s", "flash rss+");
        for (int i = 0; i < n_n; i++) {
            cell *c = &cells[i];
            char a[40], b2[40], e[40], f2[40];
            if (c->naive_err[0]) snprintf(a, sizeof a, "%s", c->naive_err), snprintf(b2, sizeof b2, "-");
            else snprintf(a, sizeof a, "%.3f", c->naive_s), fmt((double)c->naive_rss, b2, sizeof b2);
            if (c->flash_err[0]) snprintf(e, sizeof e, "%.38s", c->flash_err), snprintf(f2, sizeof f2, "-");
            else snprintf(e, sizeof e, "%.3f", c->flash_s), fmt((double)c->flash_rss, f2, sizeof f2);
            fprintf(out, "%9lld %12s %12s %12s %12s\n", (long long)c->n, a, b2, e, f2);
        }
    }
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, true);
        lc_json_begin_array(&w);
        for (int i = 0; i < n_n; i++) {
            cell *c = &cells[i];
            lc_json_begin_object(&w);
            lc_json_kv_int(&w, "n", c->n);
            lc_json_kv_int(&w, "layers", layers);
            lc_json_kv_int(&w, "heads", heads);
            lc_json_kv_int(&w, "kv_heads", kv_heads);
            lc_json_kv_int(&w, "head_dim", d);
            lc_json_kv_str(&w, "dtype", lc_dtype_name(dt));
            lc_json_kv_num(&w, "article_matrix_bytes", c->article_bytes);
            lc_json_kv_num(&w, "naive_layer_bytes", c->naive_layer);
            lc_json_kv_num(&w, "naive_train_bytes", c->naive_train);
            for (int k = 0; k < 4; k++) {
                char key[48];
                snprintf(key, sizeof key, "%s_workspace_bytes", ws_names[k]);
                lc_json_key(&w, key);
                if (c->ws_ok[k]) lc_json_int(&w, (int64_t)c->ws[k]);
                else lc_json_null(&w);
            }
            lc_json_kv_num(&w, "kv_cache_bytes", c->kv_cache);
            lc_json_kv_num(&w, "window_kv_cache_bytes", c->window_cache);
            lc_json_kv_num(&w, "linear_state_bytes", c->linear_state);
            lc_json_kv_num(&w, "flops_full", c->flops_full);
            lc_json_kv_num(&w, "flops_window", c->flops_window);
            lc_json_kv_num(&w, "flops_linear", c->flops_linear);
            if (c->measured) {
                lc_json_key(&w, "naive_seconds");
                if (c->naive_err[0]) lc_json_null(&w);
                else lc_json_num(&w, c->naive_s);
                lc_json_key(&w, "flash_seconds");
                if (c->flash_err[0]) lc_json_null(&w);
                else lc_json_num(&w, c->flash_s);
                lc_json_kv_int(&w, "naive_rss_bytes", (int64_t)c->naive_rss);
                lc_json_kv_int(&w, "flash_rss_bytes", (int64_t)c->flash_rss);
            }
            lc_json_end_object(&w);
        }
        lc_json_end_array(&w);
        lc_json_finish(&w);
    }
    return CLI_OK;
}
