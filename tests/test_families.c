/*
 * The model families against their fixtures (../shared/fixtures/<family>/,
 * README there): a small random model of each family converted by
 * llama.cpp's converter to an f16 GGUF, 160 token ids, and Hugging Face
 * transformers' float32 logits for every position (hf_logits.f32).
 *
 * Per family, on model.f16.gguf:
 *   - f32 KV cache, the whole sequence in one prefill: max |ours - HF| within
 *     the family's tolerance (beside llama.cpp's own figure on the same f16
 *     file, from info.json), and our argmax equal to HF's at every position
 *     where HF's top-1/top-2 margin exceeds 0.05;
 *   - the same sequence prefilled in chunks of 7 then decoded one token at a
 *     time (the cache paths) against the one-prefill logits;
 *   - f16 KV cache within the documented f16 tolerance of HF.
 * A family whose fixture is absent is skipped (saying so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/gguf.h"
#include "longctx/model.h"
#include "longctx/runtime.h"
#include "test_util.h"

#define N_TOK_MAX 4096
#define MARGIN 0.05

typedef struct {
    int32_t tokens[N_TOK_MAX];
    int64_t n;
    float *hf; /* [n, vocab] */
    int32_t vocab;
} fixture;

static bool read_file(const char *path, void **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz <= 0) {
        fclose(f);
        return false;
    }
    *buf = malloc((size_t)sz + 1);
    size_t got = fread(*buf, 1, (size_t)sz, f);
    fclose(f);
    ((char *)*buf)[sz] = '\0';
    *len = (size_t)sz;
    return got == (size_t)sz;
}

/* tokens.json: {"n_tokens": N, "tokens": [...]}. */
static bool read_tokens(const char *path, fixture *fx) {
    void *buf;
    size_t len;
    if (!read_file(path, &buf, &len)) return false;
    const char *p = strstr((const char *)buf, "\"tokens\"");
    p = p ? strchr(p, '[') : NULL;
    fx->n = 0;
    while (p && *p && *p != ']' && fx->n < N_TOK_MAX) {
        p++;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        fx->tokens[fx->n++] = (int32_t)v;
        p = end;
        while (*p == ' ') p++;
    }
    free(buf);
    return fx->n > 0;
}

/* Loads <dir>/model.f16.gguf, tokens, HF logits; skips the family if absent. */
static lc_model *load_fixture(const char *family, fixture *fx, char *dir, size_t dir_len) {
    char rel[128], path[1200];
    snprintf(rel, sizeof rel, "fixtures/%s", family);
    lc_test_shared(rel, dir, dir_len);
    snprintf(path, sizeof path, "%s/model.f16.gguf", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "SKIP %s: %s is absent\n", family, path);
        return NULL;
    }
    fclose(f);
    lc_error err = {0};
    lc_model *m = NULL;
    lc_status st = lc_model_load(path, NULL, &m, &err);
    CHECK(st == LC_OK, "%s: load: %s", family, err.msg);
    if (st != LC_OK) return NULL;
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    CHECK(read_tokens(path, fx), "%s: cannot read %s", family, path);
    fx->vocab = m->cfg.vocab_size;
    snprintf(path, sizeof path, "%s/hf_logits.f32", dir);
    size_t len = 0;
    void *buf = NULL;
    bool ok = read_file(path, &buf, &len);
    CHECK(ok && len == (size_t)fx->n * (size_t)fx->vocab * sizeof(float), "%s: %s has %zu bytes, want %lld x %d f32",
          family, path, len, (long long)fx->n, fx->vocab);
    if (!ok || len != (size_t)fx->n * (size_t)fx->vocab * sizeof(float)) {
        free(buf);
        lc_model_free(m);
        return NULL;
    }
    fx->hf = buf;
    return m;
}

typedef struct {
    double max_diff;       /* over every position and logit */
    double max_diff_range[3]; /* positions [0,32) [32,64) [64,n) */
    int64_t n_confident;   /* positions whose HF top-1/top-2 margin > MARGIN */
    int64_t n_agree;       /* of those, where our argmax equals HF's */
} compare_result;

static int32_t argmax(const float *x, int32_t n, double *margin) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    double second = -1e30;
    for (int32_t i = 0; i < n; i++)
        if (i != best && x[i] > second) second = x[i];
    if (margin) *margin = (double)x[best] - second;
    return best;
}

static compare_result compare(const float *ours, const float *ref, int64_t n, int32_t V) {
    compare_result r;
    memset(&r, 0, sizeof r);
    for (int64_t i = 0; i < n; i++) {
        double mx = 0.0;
        for (int32_t j = 0; j < V; j++) {
            double d = fabs((double)ours[i * V + j] - (double)ref[i * V + j]);
            if (!(d <= mx)) mx = d; /* NaN wins */
        }
        int range = i < 32 ? 0 : i < 64 ? 1 : 2;
        if (!(mx <= r.max_diff_range[range])) r.max_diff_range[range] = mx;
        if (!(mx <= r.max_diff)) r.max_diff = mx;
        double margin;
        int32_t a = argmax(ref + i * V, V, &margin);
        if (margin > MARGIN) {
            r.n_confident++;
            r.n_agree += argmax(ours + i * V, V, NULL) == a;
        }
    }
    return r;
}

/* Logits of every position: one prefill (n_batch >= n), or prefill in chunks
 * of `chunk` for the first half and decode one token at a time after. */
static lc_status run_logits(const lc_model *m, const lc_context_opts *base, const fixture *fx, int64_t chunk,
                            float *out, lc_error *err) {
    lc_context_opts o = *base;
    o.n_ctx = 256;
    o.n_batch = chunk > 0 ? chunk : 512;
    lc_context *ctx = NULL;
    lc_status st = lc_context_create(m, &o, &ctx, err);
    if (st != LC_OK) return st;
    const int32_t V = fx->vocab;
    if (chunk <= 0) {
        st = lc_context_eval(ctx, fx->tokens, fx->n, out, true, err);
    } else {
        const int64_t half = fx->n / 2;
        st = lc_context_eval(ctx, fx->tokens, half, out, true, err);
        for (int64_t i = half; i < fx->n && st == LC_OK; i++)
            st = lc_context_eval(ctx, fx->tokens + i, 1, out + i * V, false, err);
    }
    lc_context_free(ctx);
    return st;
}

typedef struct {
    const char *family;
    const char *attn;     /* context attention spec, NULL: the model's       */
    double tol_f32;       /* max |ours - HF|, f32 KV                          */
    double tol_f16;       /* max |ours - HF|, f16 KV                          */
    double lcpp_f16;      /* llama.cpp on the same f16 file vs HF (info.json) */
    const char *arch;     /* expected general.architecture                    */
    int64_t swa;          /* lc_context_opts.swa                              */
} family_case;

static void check_family(const family_case *fc) {
    fixture *fx = calloc(1, sizeof *fx);
    char dir[1024];
    lc_model *m = load_fixture(fc->family, fx, dir, sizeof dir);
    if (!m) {
        free(fx);
        return;
    }
    CHECK(strcmp(m->cfg.arch, fc->arch) == 0, "%s: arch '%s', want '%s'", fc->family, m->cfg.arch, fc->arch);
    const int32_t V = fx->vocab;
    const size_t nl = (size_t)fx->n * (size_t)V;
    float *a = calloc(nl, sizeof(float)), *b = calloc(nl, sizeof(float));
    lc_error err = {0};
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.attn = fc->attn;
    o.swa = fc->swa;
    o.k_type = o.v_type = LC_DTYPE_F32;

    CHECK_OK(run_logits(m, &o, fx, 0, a, &err), &err);
    compare_result r = compare(a, fx->hf, fx->n, V);
    fprintf(stderr,
            "%-8s f32 KV: max |ours-HF| %.3g (pos 0-31 %.3g, 32-63 %.3g, 64+ %.3g; tolerance %.3g; llama.cpp on this "
            "f16 file %.3g); argmax agrees at %lld of %lld confident positions\n",
            fc->family, r.max_diff, r.max_diff_range[0], r.max_diff_range[1], r.max_diff_range[2], fc->tol_f32,
            fc->lcpp_f16, (long long)r.n_agree, (long long)r.n_confident);
    CHECK(r.max_diff <= fc->tol_f32, "%s: max |ours - HF| %g > %g", fc->family, r.max_diff, fc->tol_f32);
    CHECK(r.n_confident > fx->n / 2, "%s: only %lld confident positions", fc->family, (long long)r.n_confident);
    CHECK(r.n_agree == r.n_confident, "%s: argmax differs at %lld confident positions", fc->family,
          (long long)(r.n_confident - r.n_agree));

    /* The frequency factors matter: without them the logits past the
     * original context (64) are far off. */
    if (m->cfg.rope.n_factors) {
        lc_rope_config bare = m->cfg.rope;
        bare.n_factors = 0;
        lc_context_opts ob = o;
        ob.rope = &bare;
        CHECK_OK(run_logits(m, &ob, fx, 0, b, &err), &err);
        compare_result rb = compare(b, fx->hf, fx->n, V);
        fprintf(stderr, "%-8s without its %d frequency factors: max |ours-HF| %.3g (pos 64+ %.3g)\n", fc->family,
                m->cfg.rope.n_factors, rb.max_diff, rb.max_diff_range[2]);
        CHECK(rb.max_diff_range[2] > 20 * fc->tol_f32, "%s: the factors change nothing (%g)", fc->family,
              rb.max_diff_range[2]);
    }

    /* The cache paths: chunks of 7, then decode; same numbers up to rounding. */
    CHECK_OK(run_logits(m, &o, fx, 7, b, &err), &err);
    compare_result rc = compare(b, a, fx->n, V);
    fprintf(stderr, "%-8s chunked prefill + decode vs one prefill: max diff %.3g\n", fc->family, rc.max_diff);
    CHECK(rc.max_diff <= 1e-4, "%s: chunked/decode logits differ from one prefill by %g", fc->family, rc.max_diff);

    o.k_type = o.v_type = LC_DTYPE_F16;
    CHECK_OK(run_logits(m, &o, fx, 0, b, &err), &err);
    compare_result rh = compare(b, fx->hf, fx->n, V);
    fprintf(stderr, "%-8s f16 KV: max |ours-HF| %.3g (tolerance %.3g); argmax agrees at %lld of %lld\n", fc->family,
            rh.max_diff, fc->tol_f16, (long long)rh.n_agree, (long long)rh.n_confident);
    CHECK(rh.max_diff <= fc->tol_f16, "%s: f16 KV max |ours - HF| %g > %g", fc->family, rh.max_diff, fc->tol_f16);
    CHECK(rh.n_agree == rh.n_confident, "%s: f16 KV argmax differs at %lld confident positions", fc->family,
          (long long)(rh.n_confident - rh.n_agree));

    free(a);
    free(b);
    free(fx->hf);
    free(fx);
    lc_model_free(m);
}

/* ---- Mistral: the file alone (no window) against HF without its window ---- */

static const int64_t sub8_rows[21] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80,
                                      88, 96, 104, 112, 120, 128, 136, 144, 152, 159};

static void check_mistral_file_default(void) {
    fixture *fx = calloc(1, sizeof *fx);
    char dir[1024], path[1200];
    lc_model *m = load_fixture("mistral", fx, dir, sizeof dir);
    if (!m) {
        free(fx);
        return;
    }
    const int32_t V = fx->vocab;
    snprintf(path, sizeof path, "%s/hf_logits_no_sliding_window.sub8.f32", dir);
    void *ref = NULL;
    size_t len = 0;
    if (!read_file(path, &ref, &len) || len != 21 * (size_t)V * sizeof(float)) {
        CHECK(0, "mistral: %s missing or wrong size", path);
    } else {
        float *a = calloc((size_t)fx->n * V, sizeof(float)), *sub = calloc(21 * (size_t)V, sizeof(float));
        lc_error err = {0};
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.k_type = o.v_type = LC_DTYPE_F32;
        CHECK_OK(run_logits(m, &o, fx, 0, a, &err), &err);
        for (int i = 0; i < 21; i++) memcpy(sub + (size_t)i * V, a + sub8_rows[i] * V, (size_t)V * sizeof(float));
        compare_result r = compare(sub, ref, 21, V);
        compare_result w = compare(a, fx->hf, fx->n, V);
        fprintf(stderr,
                "mistral  the file alone (no window): max |ours-HF(sliding_window null)| %.3g over the 21 stored rows; "
                "vs HF with its 32-token window: pos 0-31 %.3g, 64+ %.3g\n",
                r.max_diff, w.max_diff_range[0], w.max_diff_range[2]);
        CHECK(r.max_diff <= 5e-3, "mistral: file default vs HF without window %g", r.max_diff);
        CHECK(r.n_agree == r.n_confident, "mistral: file default argmax differs");
        CHECK(w.max_diff_range[0] <= 5e-3 && w.max_diff_range[2] > 0.5,
              "mistral: without --swa the window must matter past 32 (%g, %g)", w.max_diff_range[0],
              w.max_diff_range[2]);
        free(a);
        free(sub);
    }
    free(ref);
    free(fx->hf);
    free(fx);
    lc_model_free(m);
}

/* ---- Phi-3 LongRoPE: which factors, on both sides of original_context (64) ---- */

static bool read_factor_tensor(const char *gguf_path, const char *name, float *out, int32_t n) {
    lc_gguf *g = NULL;
    lc_error err = {0};
    if (lc_gguf_open(gguf_path, &g, &err) != LC_OK) return false;
    const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
    bool ok = t && t->dtype == LC_DTYPE_F32 && t->ne[0] == n;
    if (ok) memcpy(out, t->data, (size_t)n * sizeof(float));
    lc_gguf_close(g);
    return ok;
}

static void check_phi3_factor_choice(void) {
    fixture *fx = calloc(1, sizeof *fx);
    char dir[1024], path[1200];
    lc_model *m = load_fixture("phi3", fx, dir, sizeof dir);
    if (!m) {
        free(fx);
        return;
    }
    const int32_t V = fx->vocab, np = m->cfg.rope.n_dims / 2;
    const int64_t orig = m->cfg.rope.orig_ctx, n = 64;
    CHECK(orig == 64 && m->cfg.fam.longrope, "phi3: original context %lld, longrope %d", (long long)orig,
          (int)m->cfg.fam.longrope);
    float shortf[512], longf[512];
    snprintf(path, sizeof path, "%s/model.f16.gguf", dir);
    CHECK(read_factor_tensor(path, "rope_factors_short.weight", shortf, np) &&
              read_factor_tensor(path, "rope_factors_long.weight", longf, np),
          "phi3: cannot read the factor tensors");
    float *a = calloc((size_t)n * V, sizeof(float)), *b = calloc((size_t)n * V, sizeof(float));
    lc_error err = {0};
    /* n_ctx 65 > 64: long factors, as HF used for its 160-token run. */
    const int64_t ctxs[2] = {65, 64};
    for (int side = 0; side < 2; side++) {
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.k_type = o.v_type = LC_DTYPE_F32;
        o.n_ctx = ctxs[side];
        lc_context *ctx = NULL;
        CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
        if (!ctx) continue;
        const lc_rope_config *rc = lc_context_rope(ctx);
        const float *want = side == 0 ? longf : shortf;
        bool same = rc->n_factors == np;
        for (int32_t i = 0; same && i < np; i++) same = rc->factors[i] == want[i];
        CHECK(same, "phi3: n_ctx %lld should use the %s factors", (long long)ctxs[side], side == 0 ? "long" : "short");
        CHECK(rc->attn_factor > 1.15f && rc->attn_factor < 1.16f, "phi3: attention factor %g", (double)rc->attn_factor);
        CHECK_OK(lc_context_eval(ctx, fx->tokens, n, side == 0 ? a : b, true, &err), &err);
        lc_context_free(ctx);
    }
    compare_result rl = compare(a, fx->hf, n, V), rs = compare(b, fx->hf, n, V);
    fprintf(stderr,
            "phi3     LongRoPE: n_ctx 65 (long factors) max |ours-HF| %.3g on positions 0-63; n_ctx 64 (short) %.3g "
            "(HF's 160-token run used the long ones)\n",
            rl.max_diff, rs.max_diff);
    CHECK(rl.max_diff <= 6e-3, "phi3: long side %g", rl.max_diff);
    CHECK(rs.max_diff > 0.05, "phi3: the short factors change nothing (%g)", rs.max_diff);
    free(a);
    free(b);
    free(fx->hf);
    free(fx);
    lc_model_free(m);
}

/* ---- Metadata that contradicts the tensors: refused, naming the key ---- */

typedef struct {
    const char *family;
    const char *key;       /* set to u32 (or i32 when negative) */
    int64_t val;
    const char *drop_tensor;
    const char *needle;    /* the error names this */
} bad_case;

static lc_status rewrite(const char *src, const char *dst, const bad_case *bc, lc_error *err) {
    lc_gguf *g;
    lc_status st = lc_gguf_open(src, &g, err);
    if (st != LC_OK) return st;
    lc_gguf_writer *w;
    if ((st = lc_gguf_writer_create(&w, err)) != LC_OK) {
        lc_gguf_close(g);
        return st;
    }
    for (int64_t i = 0; i < lc_gguf_n_kv(g) && st == LC_OK; i++) {
        const char *k = lc_gguf_key_name(g, i);
        if (bc->key && strcmp(k, bc->key) == 0) continue;
        st = lc_gguf_copy_kv(w, g, k, err);
    }
    if (st == LC_OK && bc->key)
        st = bc->val < 0 ? lc_gguf_set_i32(w, bc->key, (int32_t)bc->val, err)
                         : lc_gguf_set_u32(w, bc->key, (uint32_t)bc->val, err);
    for (int64_t i = 0; i < lc_gguf_n_tensors(g) && st == LC_OK; i++) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
        if (bc->drop_tensor && strcmp(t->name, bc->drop_tensor) == 0) continue;
        st = lc_gguf_add_tensor(w, t->name, t->dtype, t->n_dims, t->ne, t->data, err);
    }
    if (st == LC_OK) st = lc_gguf_write(w, dst, 32, err);
    lc_gguf_writer_free(w);
    lc_gguf_close(g);
    return st;
}

static void check_bad_metadata(void) {
    static const bad_case cases[] = {
        {"qwen2", "qwen2.attention.head_count_kv", 4, NULL, "qwen2.attention.head_count_kv = 4"},
        {"qwen3", "qwen3.attention.key_length", 16, NULL, "qwen3.attention.key_length"},
        {"llama3", "llama.rope.dimension_count", 16, NULL, "llama.rope.dimension_count"},
        {"phi3", "phi3.rope.dimension_count", 16, NULL, "phi3.rope.dimension_count"},
        {"phi3", NULL, 0, "rope_factors_short.weight", "rope_factors_short"},
        {"phi3", "phi3.feed_forward_length", 500, NULL, "phi3.feed_forward_length = 500"},
        {"gemma2", "gemma2.attention.sliding_window", -5, NULL, "gemma2.attention.sliding_window"},
        {"gemma2", "gemma2.attention.head_count", 7, NULL, "gemma2.attention.head_count"},
        {"gemma3", "gemma3.block_count", 9, NULL, "gemma3.block_count"},
        {"gemma3", "gemma3.attention.head_count_kv", 3, NULL, "gemma3.attention.head_count_kv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *bc = &cases[i];
        char rel[128], dir[1024], src[1200], dst[256];
        snprintf(rel, sizeof rel, "fixtures/%s", bc->family);
        lc_test_shared(rel, dir, sizeof dir);
        snprintf(src, sizeof src, "%s/model.f16.gguf", dir);
        if (access(src, R_OK) != 0) {
            fprintf(stderr, "SKIP bad metadata %s: %s is absent\n", bc->family, src);
            continue;
        }
        snprintf(dst, sizeof dst, "/tmp/lc_test_families_%d_bad.gguf", (int)getpid());
        lc_error err = {0};
        CHECK_OK(rewrite(src, dst, bc, &err), &err);
        lc_model *m = NULL;
        lc_status st = lc_model_load(dst, NULL, &m, &err);
        CHECK(st != LC_OK && strstr(err.msg, bc->needle), "%s with %s: got %s '%s', want an error naming '%s'",
              bc->family, bc->key ? bc->key : bc->drop_tensor, lc_status_str(st), st == LC_OK ? "" : err.msg,
              bc->needle);
        if (st != LC_OK) fprintf(stderr, "refused as wanted: %s\n", err.msg);
        lc_model_free(m);
        unlink(dst);
    }
}

/* ---- Window layers keep rings of W + B - 1 slots (FULL policy) ---- */

static void check_window_rings(const char *family, int64_t swa) {
    fixture *fx = calloc(1, sizeof *fx);
    char dir[1024];
    lc_model *m = load_fixture(family, fx, dir, sizeof dir);
    if (!m) {
        free(fx);
        return;
    }
    const int32_t V = fx->vocab;
    lc_error err = {0};
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.swa = swa;
    o.k_type = o.v_type = LC_DTYPE_F32;
    o.n_ctx = 256;
    o.n_batch = 7;
    /* Memory: rings against the full cache, here and at a long context. */
    lc_context_memory ring, full;
    CHECK_OK(lc_context_memory_need(m, &o, &ring, &err), &err);
    o.swa_full = true;
    CHECK_OK(lc_context_memory_need(m, &o, &full, &err), &err);
    CHECK(ring.kv_bytes < full.kv_bytes, "%s: rings %zu bytes, full %zu", family, ring.kv_bytes, full.kv_bytes);
    lc_context_opts big = o;
    big.n_ctx = 32768;
    big.n_batch = 512;
    big.k_type = big.v_type = LC_DTYPE_F16;
    lc_context_memory bring, bfull;
    CHECK_OK(lc_context_memory_need(m, &big, &bfull, &err), &err);
    big.swa_full = false;
    CHECK_OK(lc_context_memory_need(m, &big, &bring, &err), &err);
    fprintf(stderr,
            "%-8s window rings: KV %zu bytes vs %zu full at n_ctx 256 (batch 7, f32); at 32K tokens (batch 512, f16) "
            "%.2f MiB vs %.2f MiB: %.1f %% saved\n",
            family, ring.kv_bytes, full.kv_bytes, bring.kv_bytes / 1048576.0, bfull.kv_bytes / 1048576.0,
            100.0 * (1.0 - (double)bring.kv_bytes / (double)bfull.kv_bytes));

    /* Logits: rings (prefill in chunks of 7, then decode) against the full
     * cache on the same path, and against HF. */
    float *a = calloc((size_t)fx->n * V, sizeof(float)), *b = calloc((size_t)fx->n * V, sizeof(float));
    lc_context_opts of = o; /* swa_full */
    CHECK_OK(run_logits(m, &of, fx, 7, a, &err), &err);
    o.swa_full = false;
    CHECK_OK(run_logits(m, &o, fx, 7, b, &err), &err);
    compare_result rr = compare(b, a, fx->n, V), rh = compare(b, fx->hf, fx->n, V);
    fprintf(stderr, "%-8s rings vs full cache: max diff %.3g; rings vs HF %.3g\n", family, rr.max_diff, rh.max_diff);
    CHECK(rr.max_diff <= 1e-4, "%s: rings differ from the full cache by %g", family, rr.max_diff);
    CHECK(rh.n_agree == rh.n_confident, "%s: rings argmax differs from HF", family);

    /* Truncation: the keys the next token needs must still be there. */
    lc_context *ctx = NULL;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (ctx) {
        float *lg = calloc((size_t)V, sizeof(float));
        CHECK_OK(lc_context_eval(ctx, fx->tokens, fx->n, NULL, false, &err), &err);
        /* deeper than the rings remember: the kept tokens are evaluated
         * again (lc_context_truncate), and the context goes on as before */
        CHECK_OK(lc_context_truncate(ctx, fx->n - 100, &err), &err);
        CHECK(lc_context_n_past(ctx) == fx->n - 100, "%s: %lld held after a deep truncation", family,
              (long long)lc_context_n_past(ctx));
        CHECK_OK(lc_context_eval(ctx, fx->tokens + fx->n - 100, 100, lg, false, &err), &err);
        compare_result rd = compare(lg, b + (fx->n - 1) * V, 1, V);
        CHECK(rd.max_diff <= 1e-4, "%s: after a deep truncation and the same tokens, the last logits differ by %g",
              family, rd.max_diff);
        CHECK_OK(lc_context_truncate(ctx, fx->n - 1, &err), &err);
        CHECK_OK(lc_context_eval(ctx, fx->tokens + fx->n - 1, 1, lg, false, &err), &err);
        compare_result rt = compare(lg, b + (fx->n - 1) * V, 1, V);
        CHECK(rt.max_diff <= 1e-5, "%s: after truncating one token, the last logits differ by %g", family,
              rt.max_diff);
        lc_context_reset(ctx);
        CHECK_OK(lc_context_eval(ctx, fx->tokens, 40, lg, false, &err), &err);
        compare_result rz = compare(lg, b + 39 * V, 1, V);
        CHECK(rz.max_diff <= 1e-4, "%s: after a reset, position 39 differs by %g", family, rz.max_diff);
        free(lg);
        lc_context_free(ctx);
    }
    free(a);
    free(b);
    free(fx->hf);
    free(fx);
    lc_model_free(m);
}

/* ---- The real families' memory table (analyze --family) ---- */

static void check_presets(void) {
    const lc_family_preset *l = lc_family_preset_find("llama-3.1-8b"), *g = lc_family_preset_find("gemma-3-12b");
    CHECK(l && g && lc_family_preset_count() == 6, "presets missing");
    if (!l || !g) return;
    /* By hand from config.json: 32 layers x 2 x 8 KV heads x 128 x 2 bytes. */
    CHECK(lc_family_preset_kv_bytes(l, 1000, LC_DTYPE_F16, false) == 1000.0 * 131072.0, "llama-3.1-8b per token");
    /* Gemma-3-12B at 128K: 8 global layers x 131072 x 8192 bytes + 40 window
     * layers x 1024 x 8192 bytes. */
    CHECK(lc_family_preset_kv_bytes(g, 131072, LC_DTYPE_F16, false) == 8.0 * 131072 * 8192 + 40.0 * 1024 * 8192,
          "gemma-3-12b at 128K: %g", lc_family_preset_kv_bytes(g, 131072, LC_DTYPE_F16, false));
    CHECK(lc_family_preset_kv_bytes(g, 131072, LC_DTYPE_F16, true) == 48.0 * 131072 * 8192, "gemma all global");
    /* The runtime allocates what the layout predicts, for every family it runs. */
    const int64_t ns[2] = {8192, 131072};
    for (int i = 0; i < lc_family_preset_count(); i++) {
        const lc_family_preset *p = lc_family_preset_at(i);
        double meas[2], pred[2];
        lc_error err = {0};
        lc_status st = lc_family_preset_measure(p, ns, 2, LC_DTYPE_F16, 512, meas, pred, &err);
        if (p->n_linear_layers) {
            CHECK(st == LC_ERR_UNSUPPORTED, "%s: linear layers measured?", p->name);
            continue;
        }
        CHECK(st == LC_OK, "%s: %s", p->name, err.msg);
        for (int k = 0; st == LC_OK && k < 2; k++)
            CHECK(meas[k] == pred[k], "%s at %lld: runtime %g bytes, layout %g", p->name, (long long)ns[k], meas[k],
                  pred[k]);
    }
}

/* ---- Writing a Llama-3 model keeps its frequency factors; a Qwen2 one its
 * biases (the logits of the written file equal the converter's file's) ---- */

static void check_write(const char *name, int32_t n_factors) {
    fixture *fx = calloc(1, sizeof *fx);
    char dir[1024], dst[256];
    lc_model *m = load_fixture(name, fx, dir, sizeof dir);
    if (!m) {
        free(fx);
        return;
    }
    snprintf(dst, sizeof dst, "/tmp/lc_test_families_%d_%s.gguf", (int)getpid(), name);
    lc_error err = {0};
    CHECK_OK(lc_model_write_gguf(dst, &m->cfg, &m->w, m->tokenizer, LC_DTYPE_F32, &err), &err);
    lc_model *m2 = NULL;
    CHECK_OK(lc_model_load(dst, NULL, &m2, &err), &err);
    if (m2) {
        bool same = m2->cfg.rope.n_factors == m->cfg.rope.n_factors && m->cfg.rope.n_factors == n_factors;
        for (int i = 0; same && i < m->cfg.rope.n_factors; i++) same = m2->cfg.rope.factors[i] == m->cfg.rope.factors[i];
        CHECK(same, "%s: the written file lost its frequency factors", name);
        CHECK(strcmp(m2->cfg.arch, m->cfg.arch) == 0 && m2->cfg.fam.flags == m->cfg.fam.flags &&
                  m2->cfg.rope.layout == m->cfg.rope.layout,
              "%s: written as %s (flags %u), family lost", name, m2->cfg.arch, m2->cfg.fam.flags);
        const int32_t V = fx->vocab;
        float *a = calloc((size_t)fx->n * V, sizeof(float)), *b = calloc((size_t)fx->n * V, sizeof(float));
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.k_type = o.v_type = LC_DTYPE_F32;
        CHECK_OK(run_logits(m, &o, fx, 0, a, &err), &err);
        CHECK_OK(run_logits(m2, &o, fx, 0, b, &err), &err);
        compare_result r = compare(b, a, fx->n, V);
        CHECK(r.max_diff <= 1e-4, "%s written as f32: logits differ by %g", name, r.max_diff);
        free(a);
        free(b);
        lc_model_free(m2);
    }
    unlink(dst);
    free(fx->hf);
    free(fx);
    lc_model_free(m);
}

int main(void) {
    /* Tolerances: llama.cpp's own max |llama.cpp - HF| on the same f16 file
     * (info.json hf_vs_llamacpp.f16.max_abs_diff) is the yardstick; ours runs
     * the f16 weights with f32 activations. */
    static const family_case cases[] = {
        {"llama3", NULL, 4e-3, 6e-3, 3.89e-3, "llama", 0},
        {"qwen2", NULL, 5e-3, 8e-3, 4.69e-3, "qwen2", 0},
        {"qwen3", NULL, 5e-3, 8e-3, 4.34e-3, "qwen3", 0},
        {"mistral", NULL, 5e-3, 8e-3, 3.98e-3, "llama", 32},
        {"mistral", "window:32", 5e-3, 8e-3, 3.98e-3, "llama", 0},
        {"phi3", NULL, 6e-3, 8e-3, 5.24e-3, "phi3", 0},
        {"gemma2", NULL, 4e-3, 6e-3, 3.23e-3, "gemma2", 0},
        {"gemma3", NULL, 6e-3, 8e-3, 5.24e-3, "gemma3", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_family(&cases[i]);
    check_mistral_file_default();
    check_window_rings("gemma2", 0);
    check_window_rings("gemma3", 0);
    check_window_rings("mistral", 32);
    check_phi3_factor_choice();
    check_bad_metadata();
    check_presets();
    check_write("llama3", 16);
    check_write("qwen2", 0);
    return lc_test_finish("test_families");
}
