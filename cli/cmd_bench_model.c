/* longctx bench model — prefill and decode throughput of a model at several
 * context lengths (synthetic tokens), with the time split matmul / attention /
 * other, decode bytes/s (weights + KV read per token) and prefill matmul
 * GFLOP/s, each stated against `bench peak` measured in the same run. */
#include <stdlib.h>
#include <string.h>

#include "bench_subjects.h"
#include "cli.h"
#include "llama_flags.h"
#include "common/util.h"
#include "longctx/bench.h"
#include "longctx/json.h"
#include "longctx/runtime.h"
#include "runtime_flags.h"

#define MAX_CTX 16
#define MAX_REPEAT 9

static const char synopsis[] =
    "usage: longctx bench model -m MODEL [options]\n\n"
    "For each context length L: prefill L synthetic tokens (chunks of -b), then decode -n more\n"
    "one at a time. Reports tokens/s, the time split matmul / attention / other, matmul GFLOP/s\n"
    "in prefill, and decode bytes/s: the weights plus the K/V cache read per token.\n\n";

static bool opt_fill_kv(const cli_opt *o, const char *name, const char *v, const char *cmd) {
    if (strcmp(v, "random") == 0) return *(bool *)o->dst = true;
    cli_error(cmd, "%s: '%s' is not random (the only filling there is)", name, v);
    return false;
}

typedef struct {
    int64_t ctx;
    double prefill_s, prefill_tok_s, pf_matmul_s, pf_attn_s, pf_other_s, pf_matmul_gflops, pf_attn_gflops;
    double kv_bytes; /* the context's KV cache (rings for window layers) */
    double decode_s, decode_tok_s, dc_matmul_s, dc_attn_s, dc_other_s, dc_bytes_per_tok, dc_gbs;
    int64_t n_decode;
    double fill_s;                           /* --fill-kv: seconds to fill (not prefill)     */
    double state_bytes, ring_bytes;          /* of kv_bytes                                  */
    double all_full_kv_bytes;                /* every layer a full-attention KV cache        */
    double dn_as_kv_bytes;                   /* the KV the DeltaNet layers would need        */
    double dc_layer_s[LC_LAYER_KIND_COUNT];  /* decode: seconds in layers of each kind       */
    double dc_mixer_s[LC_LAYER_KIND_COUNT];  /* of which the token mixer                     */
} bench_row;

static int32_t n_kind(const lc_model_config *c, lc_layer_kind k) {
    int32_t n = 0;
    for (int32_t l = 0; l < c->n_layers; l++) n += lc_model_layer_kind(c, l) == k;
    return n;
}

static void split(const lc_context_timings *t, double *mm, double *at, double *ot) {
    *mm = t->t_matmul;
    *at = t->t_attn;
    *ot = t->t_other;
}

/* A length being measured: its context after the prefill (or fill), and its tokens. */
typedef struct {
    lc_context *ctx;
    int32_t *tok;
} bench_slot;

/* Create the context of length L, prefill (or fill) it, record the prefill figures. */
static lc_status bench_open(const lc_model *m, lc_context_opts co, int64_t L, int64_t n_dec, uint64_t seed,
                            bool synthetic, bench_row *r, bench_slot *b, lc_error *err) {
    memset(r, 0, sizeof *r);
    memset(b, 0, sizeof *b);
    r->ctx = L;
    r->n_decode = n_dec;
    if (L < 1 || n_dec < 0 || !lc_add_ok(L, n_dec, 1, LC_CONTEXT_MAX_TOKENS, &co.n_ctx))
        return lc_fail(err, LC_ERR_INVALID_ARG, "context %lld + %lld decode tokens is outside 1..%lld", (long long)L,
                       (long long)n_dec, (long long)LC_CONTEXT_MAX_TOKENS);
    lc_context_memory mem;
    lc_status st = lc_context_memory_need(m, &co, &mem, err);
    if (st != LC_OK) return st;
    r->kv_bytes = (double)mem.kv_bytes;
    r->state_bytes = (double)mem.state_bytes;
    r->ring_bytes = (double)mem.ring_bytes;
    /* one layer's K and V of one token, in the cache types */
    size_t kb = 0, vb = 0;
    const int64_t kv_dim = (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim;
    if ((st = lc_dtype_row_bytes(co.k_type, kv_dim, &kb, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(co.v_type, kv_dim, &vb, err)) != LC_OK)
        return st;
    const double layer_tok = (double)(kb + vb) * (double)mem.n_ctx;
    r->all_full_kv_bytes = layer_tok * m->cfg.n_layers;
    r->dn_as_kv_bytes = layer_tok * n_kind(&m->cfg, LC_LAYER_DELTANET);
    st = lc_context_create(m, &co, &b->ctx, err);
    if (st != LC_OK) return st;
    b->tok = malloc((size_t)co.n_ctx * sizeof(int32_t));
    if (!b->tok) return lc_fail(err, LC_ERR_NOMEM, "out of memory");
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    for (int64_t i = 0; i < co.n_ctx; i++) b->tok[i] = (int32_t)lc_rng_below(&rng, (uint64_t)m->cfg.vocab_size);

    lc_context_reset_timings(b->ctx);
    const double t0 = lc_time_now();
    if (synthetic) {
        st = lc_context_fill_synthetic(b->ctx, L, seed, err);
        r->fill_s = lc_time_now() - t0;
    } else {
        st = lc_context_eval(b->ctx, b->tok, L, NULL, false, err);
        r->prefill_s = lc_time_now() - t0;
    }
    if (st == LC_OK && !synthetic) {
        lc_context_timings t;
        lc_context_get_timings(b->ctx, &t);
        r->prefill_tok_s = (double)L / r->prefill_s;
        split(&t, &r->pf_matmul_s, &r->pf_attn_s, &r->pf_other_s);
        r->pf_matmul_gflops = t.t_matmul > 0 ? t.flops_matmul / t.t_matmul * 1e-9 : 0.0;
        r->pf_attn_gflops = t.t_attn > 0 ? t.flops_attn / t.t_attn * 1e-9 : 0.0;
    }
    lc_context_reset_timings(b->ctx);
    return st;
}

/* Decode token i after the prefill, timed into r->decode_s. */
static lc_status bench_step(bench_slot *b, bench_row *r, int64_t i, lc_error *err) {
    const double t0 = lc_time_now();
    lc_status st = lc_context_eval(b->ctx, b->tok + r->ctx + i, 1, NULL, false, err);
    r->decode_s += lc_time_now() - t0;
    return st;
}

/* The decode figures from the context's timings; frees the slot. */
static void bench_close(bench_slot *b, bench_row *r, bool decoded) {
    if (b->ctx && decoded && r->n_decode > 0) {
        lc_context_timings t;
        lc_context_get_timings(b->ctx, &t);
        const double n_dec = (double)r->n_decode;
        r->decode_tok_s = n_dec / r->decode_s;
        split(&t, &r->dc_matmul_s, &r->dc_attn_s, &r->dc_other_s);
        r->dc_bytes_per_tok = (t.bytes_weights + t.bytes_kv) / n_dec;
        r->dc_gbs = (t.bytes_weights + t.bytes_kv) / r->decode_s * 1e-9;
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
            r->dc_layer_s[k] = t.t_layer[k];
            r->dc_mixer_s[k] = t.t_mixer[k];
        }
    }
    free(b->tok);
    lc_context_free(b->ctx);
    memset(b, 0, sizeof *b);
}

/* The lengths rows[0..n-1] (ctxs) measured together: every context is
 * prefilled (or filled) first, then decode steps go round the contexts one
 * token at a time (interleave), so that a busy machine slows every length
 * alike; or one length after the other (n = 1 per call). */
static lc_status bench_set(const lc_model *m, lc_context_opts co, const int64_t *ctxs, int n, int64_t n_dec,
                           uint64_t seed, bool synthetic, bench_row *rows, lc_error *err) {
    bench_slot slots[MAX_CTX];
    memset(slots, 0, sizeof slots);
    lc_status st = LC_OK;
    for (int i = 0; i < n && st == LC_OK; i++)
        st = bench_open(m, co, ctxs[i], n_dec, seed, synthetic, &rows[i], &slots[i], err);
    for (int64_t t = 0; t < n_dec && st == LC_OK; t++)
        for (int i = 0; i < n && st == LC_OK; i++) st = bench_step(&slots[i], &rows[i], t, err);
    for (int i = 0; i < n; i++) bench_close(&slots[i], &rows[i], st == LC_OK);
    return st;
}

static double pct(double a, double total) { return total > 0 ? 100.0 * a / total : 0.0; }

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* min, median, max of v[n] (n >= 1; sorted in place). */
static void min_med_max(double *v, int n, double out[3]) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    out[0] = v[0];
    out[1] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    out[2] = v[n - 1];
}

/* Over the repeats of length index i: ms per decoded token of field(kind). */
static void kind_stats(const bench_row *rows, int n_rep, int n_ctx, int i, int kind, bool mixer, double out[3]) {
    double v[MAX_REPEAT];
    for (int r = 0; r < n_rep; r++) {
        const bench_row *b = &rows[r * n_ctx + i];
        const double t = mixer ? b->dc_mixer_s[kind] : b->dc_layer_s[kind];
        v[r] = 1e3 * t / (double)(b->n_decode > 0 ? b->n_decode : 1);
    }
    min_med_max(v, n_rep, out);
}

int bench_model(int argc, char **argv) {
    const char *model_path = NULL;
    int64_t ctxs[MAX_CTX] = {128, 1024, 4096, 16384};
    int n_ctx = 4;
    int64_t n_dec = 32, seed = 1;
    bool json = false, peak = true, synthetic = false;
    int64_t n_repeat = 1;
    bool interleave = false;
    lc_context_opts co;
    lc_context_opts_init(&co);
    const cli_opt opts[] = {
        CLI_SECTION("options:"),
        CLI_STR("-m|--model", "PATH", &model_path,
                "GGUF or llama2.c .bin (make one: longctx convert --random --preset 15M\n--type f16 m15.gguf)"),
        CLI_I64_LIST("--ctx", "LIST", ctxs, &n_ctx, MAX_CTX, 1, "context lengths (default 128,1K,4K,16K)"),
        CLI_I64("-n|--decode", "N", &n_dec, 0, LC_CONTEXT_MAX_TOKENS, "decode tokens timed at each length (default 32)"),
        CLI_I64("-b|--batch-size", "N", &co.n_batch, 1, LC_CONTEXT_MAX_TOKENS, "prefill chunk (default 512)"),
        CLI_FN("-t|--threads", "N", cli_opt_threads, &co.n_threads, "threads (default: all CPUs)"),
        CLI_FN("--attn", "SPEC", cli_opt_attn, &co.attn, "attention method (default: the model's, else flash)"),
        CLI_FN("-ctk|--cache-type-k", "T", cli_opt_dtype, &co.k_type, "KV cache type for K (default f16)"),
        CLI_FN("-ctv|--cache-type-v", "T", cli_opt_dtype, &co.v_type, "KV cache type for V (default f16)"),
        CLI_I64("--swa", "N", &co.swa, -1, LC_CONTEXT_MAX_TOKENS, "window layers' window (run --help)"),
        CLI_INT("--swa-period", "P", &co.swa_period, 1, INT32_MAX, "window on every layer but each P-th"),
        CLI_SET("--swa-full", &co.swa_full, "window layers keep the whole KV cache"),
        CLI_I64("--seed", "S", &seed, -CLI_INT_LIMIT, CLI_INT_LIMIT, "synthetic token seed (default 1)"),
        CLI_I64("--repeat", "R", &n_repeat, 1, MAX_REPEAT,
                "measure the lengths R times, in turn (1..9, default 1); the per-kind\n"
                "summary gives median [min, max] over the repeats"),
        CLI_SET("--interleave", &interleave,
                "hold every length's context at once and decode them token by token in\n"
                "turn, so that a busy machine slows every length alike (ratios between\n"
                "lengths are then paired measurements)"),
        CLI_FN("--fill-kv", "random", opt_fill_kv, &synthetic,
               "reach each length without prefilling it: the KV cache takes random\n"
               "rows (window layers: their ring) and Gated DeltaNet states random\n"
               "values (lc_context_fill_synthetic), then -n tokens are decoded. Decode\n"
               "at depth L costs what it costs after a real prefill (attention reads\n"
               "the same number of rows; the recurrence is the same size), outputs are\n"
               "meaningless; the output says \"synthetic depth\" and has no prefill"),
        CLI_CLEAR("--no-peak", &peak, "skip measuring the machine's peak (no fractions)"),
        CLI_SET("--json", &json, "one JSON object on stdout"),
        CLI_LLAMA_OPTS(&co.attn), /* llama-bench's -ngl, -fa */
    };
    const cli_opt_spec spec = CLI_SPEC("bench model", synopsis, NULL, opts);
    const int prc = cli_opt_parse(&spec, argc, argv, 1);
    if (prc >= 0) return prc;
    if (!model_path) {
        cli_error("bench model", "no model (-m MODEL)");
        cli_opt_help(&spec, stderr);
        return CLI_USAGE;
    }
    lc_error err;
    lc_model *m = NULL;
    if (lc_model_load(model_path, NULL, &m, &err) != LC_OK) return cli_fail("bench model", &err);
    lc_peak pk;
    memset(&pk, 0, sizeof pk);
    if (peak && lc_bench_peak(co.n_threads, 0, &pk, &err) != LC_OK) {
        cli_error("bench model", "peak measurement failed (%s); continuing without fractions", err.msg);
        memset(&pk, 0, sizeof pk);
    }

    bench_row rows[MAX_CTX * MAX_REPEAT];
    int n_rows = 0, rc = CLI_OK;
    char cpu[128];
    lc_cpu_model(cpu, sizeof cpu);
    const int threads = co.n_threads > 0 ? co.n_threads : lc_cpu_count();
    lc_dtype wtype = m->w.output.type; /* the first attention layer's Wo (DeltaNet layers have none) */
    for (int32_t l = 0; l < m->cfg.n_layers; l++)
        if (m->w.layers[l].wo.data) {
            wtype = m->w.layers[l].wo.type;
            break;
        }
    if (!json) {
        printf("model %s: %lld params, %s weights, %d layers, dim %d, heads %d/%d\n", model_path,
               (long long)lc_model_n_params(&m->cfg), lc_dtype_name(wtype), m->cfg.n_layers,
               m->cfg.dim, m->cfg.n_heads, m->cfg.n_kv_heads);
        printf("cpu %s, %d threads, attn %s, kv %s/%s", cpu, threads, co.attn ? co.attn : "(model's, else flash)",
               lc_dtype_name(co.k_type), lc_dtype_name(co.v_type));
        if (pk.fma_gflops > 0)
            printf("; peak %.1f GFLOP/s FMA, %.1f GB/s read", pk.fma_gflops, pk.read_gbs);
        if (synthetic)
            printf("\nsynthetic depth (--fill-kv random): each context is random K/V rows and DeltaNet states, not "
                   "a prefill; decode timings only");
        printf("\n\n%8s | %10s %7s %7s %7s %9s | %9s %7s %7s %7s %9s %9s | %9s\n", "ctx", "prefill/s", "matmul",
               "attn", "other", "mm GF/s", "decode/s", "matmul", "attn", "other", "MB/token", "GB/s", "KV MiB");
    }
    for (int j = 0; j < n_ctx * (int)n_repeat && rc == CLI_OK;) {
        const int i = j % n_ctx, n_set = interleave ? n_ctx : 1;
        if (bench_set(m, co, ctxs + i, n_set, n_dec, (uint64_t)seed, synthetic, &rows[n_rows], &err) != LC_OK) {
            cli_fail("bench model", &err);
            rc = CLI_FAIL;
            break;
        }
        n_rows += n_set;
        j += n_set;
        for (int q = n_rows - n_set; q < n_rows && !json; q++) {
            const bench_row *r = &rows[q];
            if (synthetic) {
                const double dt = r->dc_matmul_s + r->dc_attn_s + r->dc_other_s;
                printf("%8lld | %10s %7s %7s %7s %9s | %9.1f %6.1f%% %6.1f%% %6.1f%% %9.2f %9.2f | %9.2f\n",
                       (long long)r->ctx, "synthetic", "-", "-", "-", "-", r->decode_tok_s, pct(r->dc_matmul_s, dt),
                       pct(r->dc_attn_s, dt), pct(r->dc_other_s, dt), r->dc_bytes_per_tok / 1e6, r->dc_gbs,
                       r->kv_bytes / 1048576.0);
                fflush(stdout);
                continue;
            }
            double pt = r->pf_matmul_s + r->pf_attn_s + r->pf_other_s;
            double dt = r->dc_matmul_s + r->dc_attn_s + r->dc_other_s;
            printf("%8lld | %10.1f %6.1f%% %6.1f%% %6.1f%% %9.1f | %9.1f %6.1f%% %6.1f%% %6.1f%% %9.2f %9.2f | %9.2f\n",
                   (long long)r->ctx, r->prefill_tok_s, pct(r->pf_matmul_s, pt), pct(r->pf_attn_s, pt),
                   pct(r->pf_other_s, pt), r->pf_matmul_gflops, r->decode_tok_s, pct(r->dc_matmul_s, dt),
                   pct(r->dc_attn_s, dt), pct(r->dc_other_s, dt), r->dc_bytes_per_tok / 1e6, r->dc_gbs,
                   r->kv_bytes / 1048576.0);
            fflush(stdout);
        }
    }
    int32_t kinds[LC_LAYER_KIND_COUNT];
    for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) kinds[k] = n_kind(&m->cfg, (lc_layer_kind)k);
    const bool mixed = kinds[LC_LAYER_WINDOW] > 0 || kinds[LC_LAYER_DELTANET] > 0;
    const int n_rep_done = n_rows / n_ctx; /* complete repeats */
    if (!json && n_rep_done > 0 && mixed) {
        printf("\ndecode per layer kind, ms per token: whole layers, then the token mixer alone (median [min, max] "
               "over %d run%s), share of the median decode time\n",
               n_rep_done, n_rep_done > 1 ? "s" : "");
        for (int i = 0; i < n_ctx; i++) {
            double dec[MAX_REPEAT], d3[3];
            for (int r = 0; r < n_rep_done; r++) dec[r] = 1e3 * rows[r * n_ctx + i].decode_s / (double)n_dec;
            min_med_max(dec, n_rep_done, d3);
            printf("%8lld  decode %9.2f [%9.2f, %9.2f] ms/token\n", (long long)ctxs[i], d3[1], d3[0], d3[2]);
            for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
                if (!kinds[k]) continue;
                double l3[3], m3[3];
                kind_stats(rows, n_rep_done, n_ctx, i, k, false, l3);
                kind_stats(rows, n_rep_done, n_ctx, i, k, true, m3);
                printf("%8s  %2d %-8s %9.2f [%9.2f, %9.2f]  mixer %9.2f [%9.2f, %9.2f]  %5.1f%%\n", "", kinds[k],
                       lc_layer_kind_name((lc_layer_kind)k), l3[1], l3[0], l3[2], m3[1], m3[0], m3[2],
                       pct(l3[1], d3[1]));
            }
            /* a control: embedding, output norm and classifier do the same work at every length */
            double out[MAX_REPEAT], o3[3];
            for (int r = 0; r < n_rep_done; r++) {
                const bench_row *b = &rows[r * n_ctx + i];
                double in = 0;
                for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) in += b->dc_layer_s[k];
                out[r] = 1e3 * (b->decode_s - in) / (double)n_dec;
            }
            min_med_max(out, n_rep_done, o3);
            printf("%8s  outside layers %9.2f [%9.2f, %9.2f]  (embedding, classifier: the same work at any length)\n",
                   "", o3[1], o3[0], o3[2]);
        }
        if (n_ctx > 1 && kinds[LC_LAYER_DELTANET]) {
            /* paired: the ratio within each repeat, then median [min, max] over the repeats */
            double rl[MAX_REPEAT], rm[MAX_REPEAT], l3[3], m3[3];
            int nr = 0;
            for (int r = 0; r < n_rep_done; r++) {
                const bench_row *a = &rows[r * n_ctx], *b = &rows[r * n_ctx + n_ctx - 1];
                if (!(a->dc_layer_s[LC_LAYER_DELTANET] > 0) || !(a->dc_mixer_s[LC_LAYER_DELTANET] > 0)) continue;
                rl[nr] = (b->dc_layer_s[LC_LAYER_DELTANET] / (double)b->n_decode) /
                         (a->dc_layer_s[LC_LAYER_DELTANET] / (double)a->n_decode);
                rm[nr] = (b->dc_mixer_s[LC_LAYER_DELTANET] / (double)b->n_decode) /
                         (a->dc_mixer_s[LC_LAYER_DELTANET] / (double)a->n_decode);
                nr++;
            }
            if (nr > 0) {
                min_med_max(rl, nr, l3);
                min_med_max(rm, nr, m3);
                printf("deltanet layers, time per token at %lld / at %lld: %.3f [%.3f, %.3f]; token mixer alone %.3f "
                       "[%.3f, %.3f] (the ratio within each run: median [min, max]%s)\n",
                       (long long)ctxs[n_ctx - 1], (long long)ctxs[0], l3[1], l3[0], l3[2], m3[1], m3[0], m3[2],
                       interleave ? ", lengths decoded token by token in turn" : "");
            }
        }
        printf("\nmemory per context (MiB): cache = attention KV + window rings + recurrent states; "
               "vs every layer full attention\n");
        printf("%8s | %10s %10s %10s %10s | %12s %12s\n", "ctx", "cache", "KV", "rings", "states", "all full KV",
               "KV for DN");
        for (int i = 0; i < n_ctx; i++) {
            const bench_row *r = &rows[i];
            const double mib = 1.0 / 1048576.0;
            printf("%8lld | %10.2f %10.2f %10.2f %10.2f | %12.2f %12.2f\n", (long long)r->ctx, r->kv_bytes * mib,
                   (r->kv_bytes - r->ring_bytes - r->state_bytes) * mib, r->ring_bytes * mib, r->state_bytes * mib,
                   r->all_full_kv_bytes * mib, r->dn_as_kv_bytes * mib);
        }
    }
    if (json) {
        lc_json_writer w;
        lc_json_init(&w, stdout, false);
        lc_json_begin_object(&w);
        lc_json_kv_str(&w, "model", model_path);
        lc_json_kv_int(&w, "params", lc_model_n_params(&m->cfg));
        lc_json_kv_str(&w, "weight_type", lc_dtype_name(wtype));
        lc_json_kv_str(&w, "cpu", cpu);
        lc_json_kv_int(&w, "threads", threads);
        lc_json_kv_str(&w, "attn", co.attn ? co.attn : "default");
        lc_json_kv_str(&w, "k_type", lc_dtype_name(co.k_type));
        lc_json_kv_str(&w, "v_type", lc_dtype_name(co.v_type));
        lc_json_kv_int(&w, "n_batch", co.n_batch);
        lc_json_kv_str(&w, "depth", synthetic ? "synthetic (--fill-kv random)" : "prefill");
        lc_json_key(&w, "layers_per_kind");
        lc_json_begin_object(&w);
        for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) lc_json_kv_int(&w, lc_layer_kind_name((lc_layer_kind)k), kinds[k]);
        lc_json_end_object(&w);
        if (pk.fma_gflops > 0) {
            lc_json_kv_num(&w, "peak_fma_gflops", pk.fma_gflops);
            lc_json_kv_num(&w, "peak_read_gbs", pk.read_gbs);
        }
        lc_json_key(&w, "rows");
        lc_json_begin_array(&w);
        for (int i = 0; i < n_rows; i++) {
            const bench_row *r = &rows[i];
            lc_json_begin_object(&w);
            lc_json_kv_int(&w, "ctx", r->ctx);
            lc_json_kv_int(&w, "repeat", i / n_ctx);
            lc_json_kv_num(&w, "kv_bytes", r->kv_bytes);
            lc_json_kv_num(&w, "state_bytes", r->state_bytes);
            lc_json_kv_num(&w, "ring_bytes", r->ring_bytes);
            lc_json_kv_num(&w, "all_full_kv_bytes", r->all_full_kv_bytes);
            lc_json_kv_num(&w, "deltanet_as_kv_bytes", r->dn_as_kv_bytes);
            if (synthetic) lc_json_kv_num(&w, "fill_s", r->fill_s);
            lc_json_kv_num(&w, "prefill_s", r->prefill_s);
            lc_json_kv_num(&w, "prefill_tok_s", r->prefill_tok_s);
            lc_json_kv_num(&w, "prefill_matmul_s", r->pf_matmul_s);
            lc_json_kv_num(&w, "prefill_attn_s", r->pf_attn_s);
            lc_json_kv_num(&w, "prefill_other_s", r->pf_other_s);
            lc_json_kv_num(&w, "prefill_matmul_gflops", r->pf_matmul_gflops);
            lc_json_kv_num(&w, "prefill_attn_gflops", r->pf_attn_gflops);
            if (pk.fma_gflops > 0) lc_json_kv_num(&w, "prefill_matmul_peak_frac", r->pf_matmul_gflops / pk.fma_gflops);
            lc_json_kv_int(&w, "decode_tokens", r->n_decode);
            lc_json_kv_num(&w, "decode_s", r->decode_s);
            lc_json_kv_num(&w, "decode_tok_s", r->decode_tok_s);
            lc_json_kv_num(&w, "decode_matmul_s", r->dc_matmul_s);
            lc_json_kv_num(&w, "decode_attn_s", r->dc_attn_s);
            lc_json_kv_num(&w, "decode_other_s", r->dc_other_s);
            lc_json_kv_num(&w, "decode_bytes_per_token", r->dc_bytes_per_tok);
            lc_json_kv_num(&w, "decode_gbs", r->dc_gbs);
            if (pk.read_gbs > 0) lc_json_kv_num(&w, "decode_bw_frac", r->dc_gbs / pk.read_gbs);
            for (int k = 0; k < LC_LAYER_KIND_COUNT; k++) {
                char key[48];
                snprintf(key, sizeof key, "decode_%s_layers_s", lc_layer_kind_name((lc_layer_kind)k));
                lc_json_kv_num(&w, key, r->dc_layer_s[k]);
                snprintf(key, sizeof key, "decode_%s_mixer_s", lc_layer_kind_name((lc_layer_kind)k));
                lc_json_kv_num(&w, key, r->dc_mixer_s[k]);
            }
            lc_json_end_object(&w);
        }
        lc_json_end_array(&w);
        lc_json_end_object(&w);
        lc_json_finish(&w);
    } else if (n_rows > 0 && pk.fma_gflops > 0) {
        printf("\nprefill matmul vs FMA peak: ");
        for (int i = 0; i < n_rows; i++)
            printf("%s%lld: %.0f%%", i ? ", " : "", (long long)rows[i].ctx, 100 * rows[i].pf_matmul_gflops / pk.fma_gflops);
        printf("\ndecode bytes/s vs read bandwidth: ");
        for (int i = 0; i < n_rows; i++)
            printf("%s%lld: %.0f%%", i ? ", " : "", (long long)rows[i].ctx, 100 * rows[i].dc_gbs / pk.read_gbs);
        printf("\n");
    }
    lc_model_free(m);
    return rc;
}
