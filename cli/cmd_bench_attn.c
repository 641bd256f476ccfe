/*
 * longctx bench attn — attention methods x lengths x head dims x causal:
 * median time, GFLOP/s of the method's real FLOPs (and the fraction of this
 * machine's FMA peak), speed-up over NAIVE in the same run, workspace and
 * measured RSS growth. NAIVE past its cap prints the memory it would need:
 * the article's memory table, measured.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "longctx/bench.h"
#include "longctx/runtime.h"
#include "longctx/json.h"
#include "opt.h"

#define MAX_LIST 32
#define CMD "bench attn"

typedef struct {
    char spec[96];
    lc_attn_params p;
    lc_attn_params heads[8]; /* hybrid: specs assigned round-robin to heads */
    int n_hybrid;
} method_cfg;

typedef struct {
    const method_cfg *m;
    int64_t n_q, n_kv;
    int d, heads, kv_heads, threads;
    bool causal;
    lc_dtype kv_type;
    lc_attn_bench r;
    double frac_peak;   /* gflops / FMA peak, or bytes/s / bandwidth for decode */
    double kv_gbs;      /* decode: K+V bytes read per second                    */
    double speedup;     /* naive median / this median (same cell), or 0         */
    char error[LC_ERROR_MSG_MAX];
} row;

typedef struct {
    method_cfg methods[MAX_LIST];
    int n_methods;
    int64_t ns[MAX_LIST];
    int n_ns;
    int64_t ds[MAX_LIST];
    int n_ds;
    int heads, kv_heads, threads, reps;
    int causal_mode; /* 1 causal, 0 non-causal, 2 both */
    bool decode;
    lc_dtype kv_type;
    double max_seconds;
    int64_t naive_cap;
    bool peak;
    const char *json_path, *csv_path;
    uint64_t seed;
} options;

static const char synopsis[] =
    "usage: longctx bench attn [options]\n\n"
    "Times attention methods over lengths, head dims and masking on random inputs.\n\n";

static const char epilog[] =
    "Every cell reports: median seconds, GFLOP/s counting the method's real FLOPs, the fraction\n"
    "of FMA peak (decode: of read bandwidth, counting K+V bytes), the speed-up over NAIVE in the\n"
    "same run, the workspace the method asked for and the RSS growth measured while it ran.\n";

static bool parse_method(const char *spec, method_cfg *m, lc_error *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    if (strncmp(spec, "hybrid:", 7) == 0) {
        lc_attn_params_init(&m->p, LC_ATTN_HYBRID);
        char buf[96];
        snprintf(buf, sizeof buf, "%s", spec + 7);
        char *save = NULL;
        for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
            if (m->n_hybrid >= 8) {
                lc_fail(err, LC_ERR_INVALID_ARG, "hybrid: at most 8 specs");
                return false;
            }
            lc_attn_params_init(&m->heads[m->n_hybrid], LC_ATTN_FLASH);
            if (lc_attn_parse(tok, &m->heads[m->n_hybrid], err) != LC_OK) return false;
            m->n_hybrid++;
        }
        if (m->n_hybrid == 0) {
            lc_fail(err, LC_ERR_INVALID_ARG, "hybrid needs at least one spec, e.g. hybrid:flash+window:1024:4");
            return false;
        }
        return true;
    }
    lc_attn_params_init(&m->p, LC_ATTN_FLASH);
    return lc_attn_parse(spec, &m->p, err) == LC_OK;
}

static bool opt_causal(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    (void)v, (void)cmd;
    *(int *)o->dst = strcmp(name, "--causal") == 0 ? 1 : strcmp(name, "--no-causal") == 0 ? 0 : 2;
    return true;
}

static bool opt_kv_type(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    lc_dtype *t = o->dst;
    if (lc_dtype_parse(v, t) && *t != LC_DTYPE_BF16) return true;
    cli_error(cmd, "%s must be f32, f16 or q8_0", name);
    return false;
}

static bool opt_methods(const cli_opt *opt, const char *name, const char *v, const char *cmd) {
    options *o = opt->dst;
    char buf[1024];
    if (strlen(v) >= sizeof buf) return cli_error(cmd, "%s: the list is too long", name), false;
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    lc_error err;
    o->n_methods = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_methods >= MAX_LIST) return cli_error(cmd, "%s: too many methods", name), false;
        if (!parse_method(tok, &o->methods[o->n_methods], &err)) return cli_error(cmd, "%s", err.msg), false;
        o->n_methods++;
    }
    if (o->n_methods == 0) cli_error(cmd, "%s: no method given", name);
    return o->n_methods > 0;
}

#define SMALL(names_, meta_, dst_, help_) CLI_INT(names_, meta_, dst_, 1, 4096, help_)

/* -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->heads = 1;
    o->reps = 3;
    o->causal_mode = 1;
    o->kv_type = LC_DTYPE_F32;
    o->max_seconds = 60;
    o->naive_cap = (int64_t)1 << 30;
    o->peak = true;
    o->seed = 1;
    bool quick = false, reps_set = false, max_set = false, ns_set = false, ds_set = false, methods_set = false;
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        {.kind = CLI_OPT_FN, .names = "--method", .meta = "LIST", .fn = opt_methods, .dst = o, .given = &methods_set,
         .help = "comma-separated specs (default naive,flash,window:4096:4,linear:elu,chunked:512:64)\n"
                 "naive | flash | window:W[:S] | linear[:elu|relu|favor[:M]] | chunked:C[:O]\n"
                 "| hybrid:SPEC+SPEC[+...] (specs assigned to heads round-robin)"},
        {.kind = CLI_OPT_I64_LIST, .names = "--n", .meta = "LIST", .dst = o->ns, .count = &o->n_ns, .hi = MAX_LIST,
         .list_lo = 1, .given = &ns_set, .help = "sequence lengths (default 1K,4K,16K,64K,256K,1M; K/M suffixes)"},
        {.kind = CLI_OPT_I64_LIST, .names = "--d", .meta = "LIST", .dst = o->ds, .count = &o->n_ds, .hi = MAX_LIST,
         .list_lo = -CLI_INT_LIMIT, .given = &ds_set, .help = "head dims (default 64,128)"},
        SMALL("--heads", "H", &o->heads, "query heads (default 1)"),
        SMALL("--kv-heads", "K", &o->kv_heads, "KV heads (default H)"),
        CLI_FN("--causal|--no-causal|--both", NULL, opt_causal, &o->causal_mode, "masking (default causal)"),
        CLI_SET("--decode", &o->decode, "one query against n cached keys (instead of n queries)"),
        CLI_FN("--kv-type", "T", opt_kv_type, &o->kv_type, "f32 | f16 | q8_0 (default f32)"),
        SMALL("-t|--threads", "N", &o->threads, "threads (default: all CPUs)"),
        {.kind = CLI_OPT_INT, .names = "--reps", .meta = "N", .dst = &o->reps, .lo = 1, .hi = 4096, .given = &reps_set,
         .help = "timed runs per cell, median reported (default 3)"},
        {.kind = CLI_OPT_DOUBLE, .names = "--max-seconds", .meta = "S", .dst = &o->max_seconds, .dlo = 1e-9,
         .dhi = 1e7, .given = &max_set,
         .help = "skip a cell whose estimated time passes S (default 60; from the same\n"
                 "method's previous length); a single run past S stops the repeats"},
        CLI_I64("--naive-cap", "SZ", &o->naive_cap, 1, CLI_INT_LIMIT, "NAIVE's score-matrix cap (default 1G)"),
        CLI_CLEAR("--no-peak", &o->peak, "do not measure the machine's peak first (no %peak column)"),
        CLI_SET("--quick", &quick, "a run under one minute: --n 1K,4K,16K --d 64 --reps 2 --max-seconds 5"),
        CLI_STR_OPT("--json", "[FILE]", &o->json_path, "-",
                    "JSON array of cells (stdout when no FILE; the table then goes to stderr)"),
        CLI_STR_OPT("--csv", "[FILE]", &o->csv_path, "-", "CSV of cells (stdout when no FILE)"),
        CLI_U64("--seed", "N", &o->seed, 0, CLI_INT_LIMIT, "input data seed (default 1)"),
    };
    const cli_opt_spec spec = CLI_SPEC(CMD, synopsis, epilog, opts);
    const int rc = cli_opt_parse(&spec, argc, argv, 1);
    if (rc >= 0) return rc;
    if (!ns_set) cli_parse_i64_list(quick ? "1K,4K,16K" : "1K,4K,16K,64K,256K,1M", o->ns, MAX_LIST, &o->n_ns);
    if (!ds_set) cli_parse_i64_list(quick ? "64" : "64,128", o->ds, MAX_LIST, &o->n_ds);
    if (quick && !reps_set) o->reps = 2;
    if (quick && !max_set) o->max_seconds = 5;
    if (!o->kv_heads) o->kv_heads = o->heads;
    for (int i = 0; i < o->n_ns; i++)
        if (o->ns[i] > LC_CONTEXT_MAX_TOKENS) {
            cli_error(CMD, "--n: lengths must be in 1..%lld", (long long)LC_CONTEXT_MAX_TOKENS);
            return CLI_USAGE;
        }
    if (!methods_set) {
        const cli_opt m = {.dst = o};
        opt_methods(&m, "--method", "naive,flash,window:4096:4,linear:elu,chunked:512:64", CMD);
    }
    return -1;
}
#undef SMALL

static void fmt_bytes(double b, char *buf, size_t len) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int k = 0;
    while (b >= 1024 && k < 5) b /= 1024, k++;
    snprintf(buf, len, k ? "%.1f %s" : "%.0f %s", b, u[k]);
}

static void print_header(FILE *f, bool decode) {
    fprintf(f, "%-18s %8s %8s %4s %5s %6s %4s %10s %9s %6s %8s %10s %10s  %s\n", "method", "n_q", "n_kv", "d",
            "heads", "causal", "kv", "ms", decode ? "GB/s" : "GFLOP/s", decode ? "%bw" : "%peak", "xnaive",
            "workspace", "rss+", "note");
}

static void print_row(FILE *f, const row *r) {
    char ws[32], rss[32], ms[32], g[32], fp[32], sp[32];
    fmt_bytes((double)r->r.workspace_bytes, ws, sizeof ws);
    if (r->error[0]) {
        fprintf(f, "%-18s %8lld %8lld %4d %2d/%-2d %6s %4s %10s %9s %6s %8s %10s %10s  %s\n", r->m->spec,
                (long long)r->n_q, (long long)r->n_kv, r->d, r->heads, r->kv_heads, r->causal ? "yes" : "no",
                lc_dtype_name(r->kv_type), "-", "-", "-", "-", r->r.workspace_bytes ? ws : "-", "-", r->error);
        return;
    }
    fmt_bytes((double)r->r.rss_growth_bytes, rss, sizeof rss);
    snprintf(ms, sizeof ms, "%.3f", r->r.seconds * 1e3);
    bool decode = r->n_q == 1 && r->n_kv > 1;
    snprintf(g, sizeof g, "%.1f", decode ? r->kv_gbs : r->r.gflops);
    if (r->frac_peak > 0) snprintf(fp, sizeof fp, "%.0f%%", 100 * r->frac_peak);
    else snprintf(fp, sizeof fp, "-");
    if (r->speedup > 0) snprintf(sp, sizeof sp, "%.1fx", r->speedup);
    else snprintf(sp, sizeof sp, "-");
    fprintf(f, "%-18s %8lld %8lld %4d %2d/%-2d %6s %4s %10s %9s %6s %8s %10s %10s  reps=%d\n", r->m->spec,
            (long long)r->n_q, (long long)r->n_kv, r->d, r->heads, r->kv_heads, r->causal ? "yes" : "no",
            lc_dtype_name(r->kv_type), ms, g, fp, sp, ws, rss, r->r.reps);
}

static void write_json(FILE *f, const row *rows, int n, const lc_peak *pk, bool have_peak) {
    lc_json_writer w;
    lc_json_init(&w, f, true);
    lc_json_begin_array(&w);
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "method", r->m->spec);
        lc_json_kv_int(&w, "n_q", r->n_q);
        lc_json_kv_int(&w, "n_kv", r->n_kv);
        lc_json_kv_int(&w, "d", r->d);
        lc_json_kv_int(&w, "heads", r->heads);
        lc_json_kv_int(&w, "kv_heads", r->kv_heads);
        lc_json_kv_bool(&w, "causal", r->causal);
        lc_json_kv_str(&w, "kv_type", lc_dtype_name(r->kv_type));
        lc_json_kv_int(&w, "threads", r->threads);
        lc_json_key(&w, "seconds");
        if (r->error[0]) lc_json_null(&w);
        else lc_json_num(&w, r->r.seconds);
        lc_json_key(&w, "seconds_min");
        if (r->error[0]) lc_json_null(&w);
        else lc_json_num(&w, r->r.seconds_min);
        lc_json_kv_int(&w, "reps", r->r.reps);
        lc_json_kv_num(&w, "flops", r->r.flops);
        lc_json_key(&w, "gflops");
        if (r->error[0]) lc_json_null(&w);
        else lc_json_num(&w, r->r.gflops);
        lc_json_key(&w, "kv_read_gbs");
        if (r->error[0] || r->n_q != 1) lc_json_null(&w);
        else lc_json_num(&w, r->kv_gbs);
        lc_json_key(&w, "fraction_of_peak");
        if (r->error[0] || !have_peak) lc_json_null(&w);
        else lc_json_num(&w, r->frac_peak);
        lc_json_key(&w, "speedup_vs_naive");
        if (r->speedup > 0) lc_json_num(&w, r->speedup);
        else lc_json_null(&w);
        lc_json_kv_int(&w, "workspace_bytes", (int64_t)r->r.workspace_bytes);
        lc_json_kv_int(&w, "rss_bytes", (int64_t)r->r.rss_growth_bytes);
        lc_json_kv_int(&w, "peak_rss_bytes", (int64_t)r->r.peak_rss_bytes);
        lc_json_kv_int(&w, "io_bytes", (int64_t)r->r.io_bytes);
        lc_json_key(&w, "error");
        if (r->error[0]) lc_json_str(&w, r->error);
        else lc_json_null(&w);
        if (have_peak) {
            lc_json_kv_num(&w, "peak_fma_gflops", pk->fma_gflops);
            lc_json_kv_num(&w, "peak_read_gbs", pk->read_gbs);
        }
        lc_json_end_object(&w);
    }
    lc_json_end_array(&w);
    lc_json_finish(&w);
}

static void csv_field(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, const row *rows, int n) {
    fprintf(f, "method,n_q,n_kv,d,heads,kv_heads,causal,kv_type,threads,seconds,gflops,kv_read_gbs,"
               "fraction_of_peak,speedup_vs_naive,workspace_bytes,rss_bytes,peak_rss_bytes,io_bytes,error\n");
    for (int i = 0; i < n; i++) {
        const row *r = &rows[i];
        csv_field(f, r->m->spec);
        fprintf(f, ",%lld,%lld,%d,%d,%d,%d,%s,%d,", (long long)r->n_q, (long long)r->n_kv, r->d, r->heads,
                r->kv_heads, r->causal, lc_dtype_name(r->kv_type), r->threads);
        if (r->error[0]) fprintf(f, ",,,,");
        else
            fprintf(f, "%.9g,%.6g,%.6g,%.4g,%.4g", r->r.seconds, r->r.gflops, r->n_q == 1 ? r->kv_gbs : 0.0,
                    r->frac_peak, r->speedup);
        fprintf(f, ",%zu,%zu,%zu,%zu,", r->r.workspace_bytes, r->r.rss_growth_bytes, r->r.peak_rss_bytes,
                r->r.io_bytes);
        csv_field(f, r->error);
        fputc('\n', f);
    }
}

/* Previous measurement of a (method, d, causal) series, to estimate the next. */
typedef struct {
    double flops, seconds;
} series_last;

/* What every cell of a run shares. */
typedef struct {
    const options *o;
    int threads;
    const lc_peak *pk;
    lc_attn_params *hp; /* hybrid per-head params (o->heads) */
    cli_progress *prog;
    int n_cells;
} cell_ctx;

static void cell_shape(const row *r, lc_attn_shape *s) {
    memset(s, 0, sizeof *s);
    s->n_q = r->n_q;
    s->n_kv = r->n_kv;
    s->n_head = r->heads;
    s->n_head_kv = r->kv_heads;
    s->head_dim = r->d;
    s->k_type = s->v_type = r->kv_type;
    s->causal = r->causal;
    s->q_pos0 = r->n_kv - r->n_q;
}

static lc_attn_params cell_params(const cell_ctx *c, const method_cfg *m) {
    lc_attn_params p = m->p;
    p.n_threads = c->threads;
    p.naive_max_bytes = (size_t)c->o->naive_cap;
    if (p.method != LC_ATTN_HYBRID) return p;
    for (int h = 0; h < c->o->heads; h++) {
        c->hp[h] = m->heads[h % m->n_hybrid];
        c->hp[h].n_threads = c->threads;
        c->hp[h].naive_max_bytes = (size_t)c->o->naive_cap;
    }
    p.head_params = c->hp;
    return p;
}

/* The figures of a measured cell: speed-up over NAIVE in the same cell, K/V GB/s, fraction of peak. */
static void cell_figures(const cell_ctx *c, row *r, lc_attn_method method, double *naive_seconds) {
    if (method == LC_ATTN_NAIVE) *naive_seconds = r->r.seconds;
    if (*naive_seconds > 0 && method != LC_ATTN_NAIVE) r->speedup = *naive_seconds / r->r.seconds;
    const double kv_bytes = (double)r->r.io_bytes - 2.0 * (double)r->n_q * r->heads * r->d * sizeof(float);
    r->kv_gbs = kv_bytes / r->r.seconds / 1e9;
    if (!c->o->peak) return;
    const bool decode = r->n_q == 1 && r->n_kv > 1;
    r->frac_peak = decode ? r->kv_gbs / c->pk->read_gbs : r->r.gflops / c->pk->fma_gflops;
}

/* One cell: measured, or skipped when the same method's previous length says it would pass --max-seconds. */
static void measure_cell(const cell_ctx *c, row *r, series_last *sl, double *naive_seconds, int n_done) {
    lc_attn_shape s;
    cell_shape(r, &s);
    const lc_attn_params p = cell_params(c, r->m);
    const double flops = lc_attn_flops(&s, &p);
    const double est = sl->flops > 0 ? sl->seconds * flops / sl->flops : 0;
    char what[160];
    snprintf(what, sizeof what, "%s n=%lld d=%d", r->m->spec, (long long)r->n_kv, r->d);
    cli_progress_update(c->prog, n_done, c->n_cells, what);
    lc_error err;
    if (est > c->o->max_seconds) {
        size_t ws = 0;
        lc_attn_workspace(&s, &p, &ws, NULL);
        r->r.workspace_bytes = ws;
        r->r.flops = flops;
        snprintf(r->error, sizeof r->error, "skipped: estimated %.0f s > --max-seconds %.0f (from the previous length)",
                 est, c->o->max_seconds);
    } else if (lc_bench_attn_cell(&s, &p, c->o->reps, c->o->max_seconds, c->o->seed, &r->r, &err) != LC_OK) {
        snprintf(r->error, sizeof r->error, "%s", err.msg);
    }
    cli_progress_done(c->prog);
    if (!r->error[0]) {
        sl->flops = r->r.flops;
        sl->seconds = r->r.seconds;
        cell_figures(c, r, p.method, naive_seconds);
    } else if (p.method == LC_ATTN_NAIVE) {
        sl->flops = 0; /* the next length is refused too; don't extrapolate */
    }
}

/* --json and --csv files (or stdout). */
static int write_outputs(const options *o, const row *rows, int n_rows, const lc_peak *pk) {
    int status = CLI_OK;
    const char *paths[2] = {o->json_path, o->csv_path};
    for (int k = 0; k < 2; k++) {
        if (!paths[k]) continue;
        FILE *f = cli_open_out(paths[k], CMD);
        if (!f) {
            status = CLI_FAIL;
            continue;
        }
        if (k == 0) write_json(f, rows, n_rows, pk, o->peak);
        else write_csv(f, rows, n_rows);
        cli_close_out(f);
    }
    return status;
}

int bench_attn(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    bool json_stdout = o.json_path && strcmp(o.json_path, "-") == 0;
    bool csv_stdout = o.csv_path && strcmp(o.csv_path, "-") == 0;
    FILE *table = (json_stdout || csv_stdout) ? stderr : stdout;
    int threads = o.threads > 0 ? o.threads : lc_cpu_count();

    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    lc_error err;
    if (o.peak) {
        fprintf(stderr, "measuring this machine's peak (longctx bench peak)...\n");
        if (lc_bench_peak(threads, (size_t)256 << 20, &pk, &err) != LC_OK) return cli_fail(CMD, &err);
        fprintf(table, "# peak: FMA %.1f GFLOP/s (%d threads, %s), read %.1f GB/s\n", pk.fma_gflops, pk.threads,
                lc_isa_name(pk.isa), pk.read_gbs);
    }
    int causal_vals[2], n_causal = 0;
    if (o.causal_mode == 2) causal_vals[n_causal++] = 1, causal_vals[n_causal++] = 0;
    else causal_vals[n_causal++] = o.causal_mode;

    int max_rows = o.n_methods * o.n_ns * o.n_ds * n_causal;
    row *rows = calloc((size_t)max_rows, sizeof(row));
    series_last *last = calloc((size_t)o.n_methods * (size_t)o.n_ds * 2, sizeof(series_last));
    lc_attn_params *hp = calloc((size_t)o.heads, sizeof(lc_attn_params)); /* hybrid per-head params */
    if (!rows || !last || !hp) {
        free(rows);
        free(last);
        free(hp);
        cli_error(CMD, "out of memory");
        return CLI_FAIL;
    }
    int n_rows = 0;
    print_header(table, o.decode);
    cli_progress prog;
    cli_progress_init(&prog);
    cell_ctx bc = {&o, threads, &pk, hp, &prog, max_rows};
    for (int di = 0; di < o.n_ds; di++) {
        for (int ci = 0; ci < n_causal; ci++) {
            for (int ni = 0; ni < o.n_ns; ni++) {
                double naive_seconds = 0;
                for (int mi = 0; mi < o.n_methods; mi++) {
                    method_cfg *m = &o.methods[mi];
                    row *r = &rows[n_rows++];
                    memset(r, 0, sizeof *r);
                    r->m = m;
                    r->n_kv = o.ns[ni];
                    r->n_q = o.decode ? 1 : o.ns[ni];
                    r->d = (int)o.ds[di];
                    r->heads = o.heads;
                    r->kv_heads = o.kv_heads;
                    r->causal = causal_vals[ci];
                    r->kv_type = o.kv_type;
                    r->threads = threads;

                    series_last *sl = &last[((size_t)mi * o.n_ds + di) * 2 + ci];
                    measure_cell(&bc, r, sl, &naive_seconds, n_rows - 1);
                    print_row(table, r);
                    fflush(table);
                }
            }
        }
    }
    const int status = write_outputs(&o, rows, n_rows, &pk);
    free(rows);
    free(last);
    free(hp);
    return status;
}
